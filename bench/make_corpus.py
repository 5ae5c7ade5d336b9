"""Generate a deterministic synthetic corpus of guidance-style pages for benchmarking.

The same N pages (about 900 words each, with headings, lists, tables, links,
footnotes and citations) are written as a Mend project and, for comparison, as
MkDocs, Pelican and Hugo projects.  Usage:

    python bench/make_corpus.py 1000 /dev/shm/mend-bench
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "breakup space recover contact message friend feeling time week sleep support plan talk "
    "listen respect choice honest calm trust boundary help safe grief sad angry hope future "
    "routine walk family counselling write notice pattern change gentle kind slowly answer "
    "decide value need want reason evidence study people often usually sometimes may might"
).split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int = 5) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def body(rng: random.Random, index: int, count: int, keys: list[str], cite: bool) -> str:
    """About 900 words of Markdown.  ``cite`` uses Mend's [@key]; otherwise plain brackets."""
    parts = [paragraph(rng, 4)]
    for section in range(5):
        parts.append(f"## Section {section + 1} of page {index}")
        key = rng.choice(keys) if keys else "source"
        reference = f" [@{key}]" if cite else f" ({key})"
        parts.append(paragraph(rng, 5) + reference)
        parts.append("\n".join(f"- {sentence(rng)}" for _ in range(4)))
        if section == 1:
            parts.append("| Option | Notes |\n|---|---|\n" +
                         "\n".join(f"| {rng.choice(WORDS)} | {sentence(rng)} |" for _ in range(4)))
        if section == 2:
            other = rng.randrange(count)
            parts.append(f"See [page {other}](LINK{other}) for more.[^{section}]")
            parts.append(f"[^{section}]: {sentence(rng)}")
        parts.append(paragraph(rng, 4))
    return "\n\n".join(parts) + "\n"


# Word-salad sentences say anything ("help", "people"), so they cite only sources the claim
# checks accept for any wording: trials and experiments (or reviews of them) on broad samples.
CAUSAL_DESIGNS = ("rct", "experiment", "meta-analysis", "systematic-review")
NARROW = ("student", "undergraduate", "young adult", "adolescent", "teen")


def cited_keys(limit: int = 20) -> list[str]:
    sources = ROOT / "content" / "sources.yaml"
    if not sources.exists():
        return []
    entries = yaml.safe_load(sources.read_text("utf-8")) or []
    return [e["id"] for e in entries if e.get("verified") in ("confirmed", "likely")
            and (e.get("design") in ("rct", "experiment")
                 or e.get("design") in CAUSAL_DESIGNS and "trial" in str(e.get("sample", "")).lower())
            and not any(word in str(e.get("sample", "")).lower() for word in NARROW)][:limit]


def write_mend(out: Path, pages: list[str], titles: list[str]) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ROOT / "templates", out / "templates")
    content = out / "content"
    (content / "guide").mkdir(parents=True)
    # The real configuration, but word-salad pages are not held to the reading-grade ceiling.
    config = yaml.safe_load((ROOT / "content" / "site.yaml").read_text("utf-8"))
    config["reading_grade_max"] = 99
    (content / "site.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for name in ("sources.yaml",):
        if (ROOT / "content" / name).exists():
            shutil.copy(ROOT / "content" / name, content / name)
    if (ROOT / "content" / "editorial").is_dir():
        shutil.copytree(ROOT / "content" / "editorial", content / "editorial")
    for name in ("index", "help", "about"):
        (content / f"{name}.md").write_text(_front(name.capitalize(), "page") + "A stand-alone page.\n")
    for i, (text, title) in enumerate(zip(pages, titles)):
        linked = _links(text, lambda n: f"/guide/page-{n:05d}/")
        (content / "guide" / f"page-{i:05d}.md").write_text(_front(title, "article") + linked)


def _front(title: str, kind: str) -> str:
    return (f"---\ntitle: \"{title}\"\nsummary: A synthetic page for benchmarking.\nkind: {kind}\n"
            "authors: [Bench]\nreviewers: [Bench]\nlast_reviewed: 2026-11-01\nnext_review: 2027-11-01\n---\n\n")


def _links(text: str, target) -> str:
    import re
    return re.sub(r"LINK(\d+)", lambda m: target(int(m.group(1))), text)


def write_mkdocs(out: Path, pages: list[str], titles: list[str]) -> None:
    shutil.rmtree(out, ignore_errors=True)
    (out / "docs").mkdir(parents=True)
    (out / "mkdocs.yml").write_text("site_name: Bench\nmarkdown_extensions: [footnotes, tables, toc]\n")
    (out / "docs" / "index.md").write_text("# Bench\n")
    for i, (text, title) in enumerate(zip(pages, titles)):
        (out / "docs" / f"page-{i:05d}.md").write_text(f"# {title}\n\n" + _links(text, lambda n: f"page-{n:05d}.md"))


def write_pelican(out: Path, pages: list[str], titles: list[str]) -> None:
    shutil.rmtree(out, ignore_errors=True)
    (out / "content").mkdir(parents=True)
    (out / "pelicanconf.py").write_text(
        "SITENAME = 'Bench'\nTIMEZONE = 'UTC'\nDEFAULT_LANG = 'en'\nFEED_ALL_ATOM = None\n"
        "MARKDOWN = {'extensions': ['markdown.extensions.footnotes', 'markdown.extensions.tables',"
        " 'markdown.extensions.toc']}\n")
    for i, (text, title) in enumerate(zip(pages, titles)):
        (out / "content" / f"page-{i:05d}.md").write_text(
            f"Title: {title}\nDate: 2026-11-01\nSlug: page-{i:05d}\n\n"
            + _links(text, lambda n: f"{{filename}}page-{n:05d}.md"))


def write_hugo(out: Path, pages: list[str], titles: list[str]) -> None:
    shutil.rmtree(out, ignore_errors=True)
    (out / "content" / "guide").mkdir(parents=True)
    layouts = out / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (out / "hugo.toml").write_text("baseURL = 'https://example.org/'\ntitle = 'Bench'\n"
                                   "disableKinds = ['taxonomy', 'term']\n")
    (layouts / "baseof.html").write_text("<!doctype html><html><head><title>{{ .Title }}</title></head>"
                                         "<body>{{ block \"main\" . }}{{ end }}</body></html>\n")
    (layouts / "single.html").write_text("{{ define \"main\" }}<h1>{{ .Title }}</h1>{{ .TableOfContents }}"
                                         "{{ .Content }}{{ end }}\n")
    (layouts / "list.html").write_text("{{ define \"main\" }}<ul>{{ range .Pages }}<li><a href=\"{{ .RelPermalink }}\">"
                                       "{{ .Title }}</a></li>{{ end }}</ul>{{ end }}\n")
    for i, (text, title) in enumerate(zip(pages, titles)):
        (out / "content" / "guide" / f"page-{i:05d}.md").write_text(
            f"---\ntitle: \"{title}\"\ndate: 2026-11-01\n---\n\n" + _links(text, lambda n: f"/guide/page-{n:05d}/"))


WRITERS = {"mend": write_mend, "mkdocs": write_mkdocs, "pelican": write_pelican, "hugo": write_hugo}


def make(count: int, out: Path, tools=tuple(WRITERS), seed: int = 2026) -> None:
    rng = random.Random(seed)
    keys = cited_keys()
    titles = [f"Guidance page {i}: {rng.choice(WORDS)} and {rng.choice(WORDS)}" for i in range(count)]
    mend_pages = [body(random.Random(seed + i), i, count, keys, cite=True) for i in range(count)]
    plain_pages = [body(random.Random(seed + i), i, count, keys, cite=False) for i in range(count)]
    for tool in tools:
        WRITERS[tool](out / tool, mend_pages if tool == "mend" else plain_pages, titles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tools", default=",".join(WRITERS))
    args = parser.parse_args()
    make(args.count, args.out, tuple(args.tools.split(",")))
    print(f"wrote {args.count} pages for {args.tools} under {args.out}")


if __name__ == "__main__":
    main()
