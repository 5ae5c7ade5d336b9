"""What a reader's browser receives, checked on built files: the 14 KB budget, the
Content-Security-Policy, no third-party requests, Exit and help on every page, structured
data, the Atom feed and the search index.  (tests/test_browser.py runs the same site in
Chromium.)"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import posixpath
import re
import shutil
import zlib
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from conftest import ROOT, page, tree_bytes

from mend import search
from mend.pipeline import Project, build

# RFC 6928: 10 segments of 1460 bytes = 14,600 bytes in the first round trip; headers and
# TLS take some of that, so a page's gzipped HTML plus its CSS gets 14,000.
FIRST_ROUND_TRIP = 14_000
SCRIPT_BUDGET = 2_048           # all JavaScript a page loads, search excepted, gzipped
GZIP_LEVEL = 6                  # what common web servers use
RESOURCE_ATTRIBUTES = {"link": "href", "script": "src", "img": "src", "iframe": "src", "source": "src",
                       "video": "src", "audio": "src", "embed": "src", "object": "data", "form": "action"}
ATOM = "{http://www.w3.org/2005/Atom}"


class PageFacts(HTMLParser):
    """What one HTML page asks of the browser."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.csp: list[tuple[int, str]] = []        # (position among head elements, policy)
        self.head_position = 0
        self.resources: list[tuple[str, dict]] = []  # (tag, attributes) of everything fetched
        self.inline_scripts: list[tuple[dict, str]] = []
        self.inline_styles: list[str] = []
        self.handlers: list[str] = []               # style= and on*= attributes
        self.meta: dict[str, str] = {}
        self.ids: list[str] = []
        self._script: dict | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag in ("meta", "link", "script", "style"):
            self.head_position += 1
        if tag == "meta" and attributes.get("http-equiv", "").lower() == "content-security-policy":
            self.csp.append((self.head_position, attributes["content"]))
        if tag == "meta" and ("property" in attributes or "name" in attributes):
            self.meta[attributes.get("property") or attributes["name"]] = attributes.get("content", "")
        if "id" in attributes:
            self.ids.append(attributes["id"])
        self.handlers += [f"<{tag} {k}>" for k in attributes if k == "style" or k.startswith("on")]
        wanted = RESOURCE_ATTRIBUTES.get(tag)
        if wanted and attributes.get(wanted):
            self.resources.append((tag, attributes))
        if tag in ("script", "style") and not attributes.get("src"):
            self._script, self._text = {"tag": tag, **attributes}, []

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._script is not None and tag == self._script["tag"]:
            text = "".join(self._text)
            if tag == "style":
                self.inline_styles.append(text)
            else:
                self.inline_scripts.append((self._script, text))
            self._script = None

    def json_ld(self) -> list[dict]:
        return [json.loads(text) for attrs, text in self.inline_scripts if attrs.get("type") == "application/ld+json"]


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def html_pages(out: Path) -> dict[str, Path]:
    """Site path of each HTML page ("guide/x/", "404.html") -> file; the search bundle excluded."""
    pages = {}
    for path in sorted(out.rglob("*.html")):
        rel = path.relative_to(out).as_posix()
        if not rel.startswith(search.BUNDLE + "/"):
            pages[rel.removesuffix("index.html")] = path
    return pages


def fetched(out: Path, page_file: Path, href: str) -> Path:
    """The file a URL on ``page_file`` names: relative, or from the root (the 404 page's links)."""
    folder = page_file.parent.relative_to(out).as_posix()
    target = posixpath.normpath(posixpath.join(folder, href.split("#")[0].split("?")[0]))
    return out / target.lstrip("/")


def policy(text: str) -> dict[str, list[str]]:
    directives = {}
    for part in text.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture(scope="module")
def real_site(tmp_path_factory) -> Path:
    """The project's own content, built once for this module."""
    out = tmp_path_factory.mktemp("real") / "site"
    result = build(Project(ROOT, out))
    assert result.written, result.report.format(False)
    return out


# ---- budget ----------------------------------------------------------------------------------

def test_every_page_fits_in_the_first_round_trip(real_site):
    sizes = {}
    for path, html_file in html_pages(real_site).items():
        facts = PageFacts(html_file.read_text("utf-8"))
        css = [fetched(real_site, html_file, a["href"]) for tag, a in facts.resources
               if tag == "link" and a.get("rel") == "stylesheet"]
        assert css, f"{path} has no stylesheet"
        sizes[path] = gzipped(html_file.read_bytes()) + sum(gzipped(f.read_bytes()) for f in css)
    too_big = {path: size for path, size in sizes.items() if size > FIRST_ROUND_TRIP}
    assert not too_big, f"gzipped HTML + CSS over {FIRST_ROUND_TRIP} bytes: {too_big}"
    assert len(sizes) > 10


def test_the_stylesheet_is_published_without_its_comments_and_with_every_rule(real_site):
    (published,) = (real_site / "static").glob("style.*.css")
    text = published.read_text("utf-8")
    source = (ROOT / "templates/static/style.css").read_text("utf-8")
    assert "/*" in source and "/*" not in text
    assert re.sub(r"\s+", "", re.sub(r"/\*.*?\*/", "", source, flags=re.S)) == re.sub(r"\s+", "", text)


def test_javascript_beyond_search_stays_under_2_kb(real_site):
    for path, html_file in html_pages(real_site).items():
        scripts = [fetched(real_site, html_file, a["src"]) for tag, a in PageFacts(html_file.read_text()).resources
                   if tag == "script" and not Path(a["src"]).name.startswith("search.")]
        assert sum(gzipped(f.read_bytes()) for f in scripts) <= SCRIPT_BUDGET, path


# ---- privacy and CSP -------------------------------------------------------------------------

def test_every_page_has_a_strict_content_security_policy(real_site):
    for path, html_file in html_pages(real_site).items():
        facts = PageFacts(html_file.read_text("utf-8"))
        assert len(facts.csp) == 1, f"{path}: one CSP meta tag"
        position, text = facts.csp[0]
        assert position <= 3, f"{path}: the CSP must come before any stylesheet or script"
        csp = policy(text)
        assert csp["default-src"] == ["'none'"] and csp["style-src"] == ["'self'"], path
        assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'none'"], path
        allowed = {"'self'", "'wasm-unsafe-eval'"} if path == "search/" else {"'self'"}
        hashes = {v for v in csp["script-src"] if v.startswith("'sha256-")}
        assert set(csp["script-src"]) - hashes <= allowed, path
        # 'self' only: Lighthouse (and any page-level checker) fetches robots.txt from the page.
        assert csp.get("connect-src") == ["'self'"], path
        assert facts.handlers == [] and facts.inline_styles == [], path
        for attrs, text in facts.inline_scripts:
            if attrs.get("type") != "application/ld+json":      # data blocks are not run
                digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in hashes, f"{path}: inline script without a CSP hash"


def test_no_page_fetches_anything_from_another_site(real_site):
    for path, html_file in html_pages(real_site).items():
        for tag, attributes in PageFacts(html_file.read_text("utf-8")).resources:
            if tag == "link" and attributes.get("rel") in ("canonical", "alternate"):
                continue                                        # names a URL, fetches nothing
            url = attributes[RESOURCE_ATTRIBUTES[tag]]
            assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.I), f"{path}: <{tag}> loads {url}"
            assert fetched(real_site, html_file, url).is_file(), f"{path}: <{tag}> {url} is missing"
    for css in (real_site / "static").glob("*.css"):
        text = css.read_text("utf-8")
        assert "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:)?//", text), css.name


def test_exit_and_help_on_every_page(real_site):
    exit_url = yaml.safe_load((ROOT / "content" / "site.yaml").read_text("utf-8"))["exit_url"]
    for path, html_file in html_pages(real_site).items():
        html = html_file.read_text("utf-8")
        body = html[html.index("<body"):]
        skip, button = re.findall(r'<a class="(skip-link|exit-button)" href="([^"]*)"[^>]*data-exit', body)
        assert skip == ("skip-link", exit_url) and button == ("exit-button", exit_url), path
        assert body.index('class="skip-link" href="#main"') < body.index("data-exit"), path
        assert 'role="status" id="exit-status"' in body, path
        assert re.search(r'<script src="[^"]*static/exit\.[0-9a-f]+\.js" defer>', html), path
        assert body.index('id="help"') < body.index("<main"), f"{path}: help in the same place, before main"
        assert 'href="tel:116123"' in body and 'href="tel:08082000247"' in body, path


def test_exit_explanation_is_linked_once_the_page_exists(make_project, run):
    project = make_project()
    run(project, "build")
    assert "What does Exit do?" not in (project.out / "index.html").read_text()
    (project.content / "exit-this-page.md").write_text(page("page", "What it does.\n", title="Exit"))
    assert run(project, "build").code == 0
    home = (project.out / "index.html").read_text()
    assert '<a class="exit-about" href="exit-this-page/">What does Exit do?</a>' in home


# ---- structured data and sharing -------------------------------------------------------------

FAQ = page("faq", """\
    Short answers.

    ## Can I make my ex come back?

    No. It is their choice.

    ## Should I wait?

    Only if waiting helps *you*.
    """, title="Questions")


@pytest.fixture
def small_site(make_project, run):
    project = make_project({
        "content/guide/space.md": page("article", "## Why\n\nText.\n", title="Space", last_reviewed="2026-10-01",
                                       next_review="2027-10-01", updated="2026-11-15", experience_based="[Why]"),
        "content/guide/decide.md": page("article", "Text.\n", title="Decide", last_reviewed="2026-09-01",
                                        next_review="2027-09-01"),
        "content/questions/faq.md": FAQ,
    })
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    return project.out


def _facts(out: Path, path: str) -> PageFacts:
    return PageFacts((out / path).read_text("utf-8"))


def test_article_json_ld_carries_review_and_article(small_site):
    facts = _facts(small_site, "guide/space/index.html")
    (data,) = facts.json_ld()
    assert data["@type"] == "WebPage" and data["url"] == "https://example.org/guide/space/"
    assert data["lastReviewed"] == "2026-10-01"
    assert data["reviewedBy"] == [{"@type": "Organization", "name": "Mend editorial team"}]
    assert data["mainEntity"]["@type"] == "Article" and data["mainEntity"]["headline"] == "Space"
    assert data["mainEntity"]["dateModified"] == "2026-11-15"
    assert facts.meta["og:type"] == "article" and facts.meta["og:url"] == data["url"]


def test_faq_json_ld_matches_the_questions_shown(small_site):
    html = (small_site / "questions/faq/index.html").read_text()
    (data,) = PageFacts(html).json_ld()
    assert data["@type"] == "FAQPage" and data["lastReviewed"] == "2026-11-01"
    shown = re.findall(r'<h2 id="[^"]+">([^<]+)</h2>', html.split('class="question"', 1)[1])
    assert [q["name"] for q in data["mainEntity"]] == shown == ["Can I make my ex come back?", "Should I wait?"]
    assert data["mainEntity"][1]["acceptedAnswer"]["text"] == "Only if waiting helps you."


def test_faq_answers_in_json_ld_carry_no_citation_numbers(real_site):
    """The answer text is read out by search engines and assistants: "steadily1." is noise."""
    answers = [q["acceptedAnswer"]["text"]
               for path, html_file in html_pages(real_site).items() if path.startswith("questions/")
               for data in PageFacts(html_file.read_text("utf-8")).json_ld() if data["@type"] == "FAQPage"
               for q in data["mainEntity"]]
    assert len(answers) > 10
    glued = [text for text in answers if re.search(r"[a-z)][0-9]+(?:[.,;:]|\s|$)", text)]
    assert glued == []


def test_every_back_link_is_named_by_the_words_it_shows(real_site):
    """WCAG 2.5.3 Label in Name: a link's accessible name contains its visible text."""
    checked = 0
    for path, html_file in html_pages(real_site).items():
        html = html_file.read_text("utf-8")
        for attrs, text in re.findall(r'<a ([^>]*)>([^<]*)</a>', html.split('<ol class="references">', 1)[-1]
                                      if '<ol class="references">' in html else ""):
            label = re.search(r'aria-label="([^"]*)"', attrs)
            if "#cite-" in attrs:
                checked += 1
                assert label is None or text.strip().lower() in label[1].lower(), (path, attrs, text)
    assert checked > 100


def test_every_page_has_json_ld_canonical_and_open_graph(small_site):
    for path, html_file in html_pages(small_site).items():
        facts = PageFacts(html_file.read_text("utf-8"))
        (data,) = facts.json_ld()
        assert data["@context"] == "https://schema.org" and data["isPartOf"]["@type"] == "WebSite", path
        if path == "404.html":
            assert facts.meta["robots"] == "noindex"
            continue
        assert facts.meta["og:url"] == data["url"] == "https://example.org/" + path, path
        assert facts.meta["og:title"] and facts.meta["og:description"] and facts.meta["og:locale"] == "en_GB"
    (section,) = _facts(small_site, "guide/index.html").json_ld()
    assert section["@type"] == "CollectionPage"
    assert [p["url"] for p in section["hasPart"]] == ["https://example.org/guide/decide/",
                                                      "https://example.org/guide/space/"]


def test_atom_feed_lists_pages_newest_first(small_site):
    feed = ElementTree.fromstring((small_site / "feed.xml").read_bytes())
    entries = [(e.findtext(f"{ATOM}id"), e.findtext(f"{ATOM}updated")) for e in feed.iter(f"{ATOM}entry")]
    assert entries[0] == ("https://example.org/guide/space/", "2026-11-15T00:00:00Z")    # 'updated' wins
    assert entries[-1] == ("https://example.org/guide/decide/", "2026-09-01T00:00:00Z")
    assert [u for _, u in entries] == sorted((u for _, u in entries), reverse=True)
    assert len({i for i, _ in entries}) == len(entries) == 6
    assert feed.findtext(f"{ATOM}updated") == "2026-11-15T00:00:00Z"    # newest page, not build time
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == "https://example.org/feed.xml"
    assert 'type="application/atom+xml" href="../../feed.xml"' in (small_site / "guide/space/index.html").read_text()


# ---- search ----------------------------------------------------------------------------------

def _fragments(out: Path, bundle: str = search.BUNDLE) -> list[dict]:
    """Pagefind's per-page records (gzip with a 'pagefind_dcd' signature in front)."""
    records = []
    for path in sorted((out / bundle / "fragment").glob("*.pf_fragment")):
        data = zlib.decompress(path.read_bytes(), 16 + zlib.MAX_WBITS)
        records.append(json.loads(data.removeprefix(b"pagefind_dcd")))
    return records


def test_search_indexes_page_text_only(make_project, run):
    project = make_project({
        "content/space.md": page("page", "## Why space helps [¶](#why-space-helps){: .headerlink}\n\n"
                                 "Space gives you room to grieve.\n", title="Space"),
    })
    assert run(project, "build").code == 0
    records = {r["url"]: r for r in _fragments(project.out)}
    assert {"/about/", "/help/", "/space/"} <= set(records)
    assert not {"/", "/guide/", "/search/", "/404.html"} & set(records)     # maps and lists are not text
    text = records["/space/"]["content"]
    assert "Space gives you room to grieve." in text
    assert "¶" not in text and "In danger now" not in text and "Page last reviewed" not in text
    assert (project.out / "search/index.html").is_file()
    assert not (project.out / search.BUNDLE / "pagefind-ui.js").exists()


def test_search_index_keeps_the_build_byte_identical(make_project, run, tmp_path):
    project = make_project({"content/guide/space.md": page("article", "Room to grieve.\n", title="Space")})
    assert run(project, "build").code == 0
    first = tree_bytes(project.out)
    assert any(name.startswith(search.BUNDLE + "/fragment/") for name in first)
    assert run(project, "build").code == 0
    assert tree_bytes(project.out) == first


def test_a_failed_index_is_reported_and_keeps_the_old_site(make_project, run, monkeypatch):
    project = make_project()
    assert run(project, "build").code == 0
    before = tree_bytes(project.out)
    (project.content / "about.md").write_text(page("page", "Changed.\n", title="About"))
    monkeypatch.setattr(search, "PAGEFIND", ("false",))
    outcome = run(project, "build")
    assert outcome.code == 1
    assert [d for d in outcome.diagnostics if ": error[" in d] == [
        "templates/search.html:1:1: error[search-index]: Pagefind could not index the site: "
        "pagefind exited with code 1"]
    assert tree_bytes(project.out) == before


def test_a_page_cannot_take_the_search_pages_url(make_project, run):
    outcome = run(make_project({"content/search.md": page("page", "Mine.\n", title="Search")}), "build")
    assert outcome.code == 1
    assert "content/search.md:1:1: error[url-reserved]: /search/ is where the build writes the search page" in outcome.diagnostics


def test_a_big_site_is_indexed_in_parts_that_together_hold_every_page(make_project, run, monkeypatch):
    """Pagefind's memory grows with the pages of one run, so big sites are indexed in parts."""
    files = {f"content/guide/p{i}.md": page("article", f"Words of page {i}.\n", title=f"Page {i}") for i in range(6)}
    whole = make_project(files)
    assert run(whole, "build").code == 0
    one_bundle = {r["url"] for r in _fragments(whole.out)}
    assert json.loads((whole.out / "pagefind/parts.json").read_text()) == []
    monkeypatch.setattr(search, "PAGES_PER_BUNDLE", 4)
    shutil.rmtree(whole.out)
    assert run(whole, "build").code == 0
    parts = json.loads((whole.out / "pagefind/parts.json").read_text())
    assert len(parts) >= 2 and all((whole.out / part / "pagefind-entry.json").is_file() for part in parts)
    urls = [r["url"] for bundle in ["pagefind/", *parts] for r in _fragments(whole.out, bundle)]
    assert sorted(urls) == sorted(one_bundle) and len(urls) == len(set(urls))     # each page in one part
    assert not list(whole.out.rglob(".pagefind-part-*"))
