"""Hostile input from an editor: each gives a diagnostic at its line, never a traceback,
a hang, or a page that can fake the site's own controls."""

from __future__ import annotations

import os

import pytest
from conftest import SITE_YAML, front_matter, page, run_build_py

BOMB = ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(10)))


def _only_diagnostics(outcome, expected: list[str]) -> None:
    assert outcome.code == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr
    for line in expected:
        assert line in outcome.diagnostics, outcome.stderr


def test_a_yaml_alias_bomb_in_front_matter_is_refused_at_its_line(make_project, run):
    bomb = "\n".join("x" + line for line in BOMB.splitlines())        # unknown keys xa, xb, ...
    text = "---\n" + front_matter("article").split("---\n")[1] + bomb + "\n---\n\nText.\n"
    project = make_project({"content/guide/bomb.md": text})
    outcome = run(project, "build")
    _only_diagnostics(outcome, [])
    assert any(d.startswith("content/guide/bomb.md:10:9: error[yaml-syntax]:") and "aliases" in d
               for d in outcome.diagnostics), outcome.stderr


@pytest.mark.parametrize("where", ["site", "sources"])
def test_a_yaml_alias_bomb_in_site_or_sources_is_refused(make_project, run, where):
    if where == "site":
        project, shown = make_project(site_yaml=SITE_YAML + BOMB), "content/site.yaml:12:8:"
    else:
        sources = "- id: x\n  type: book\n  note:\n" + "".join("    " + line + "\n" for line in BOMB.splitlines())
        project, shown = make_project({"content/sources.yaml": sources}), "content/sources.yaml:5:12:"
    outcome = run(project, "build")
    _only_diagnostics(outcome, [])
    assert any(d.startswith(shown) and "aliases ('*name') here expand to more than" in d
               for d in outcome.diagnostics), outcome.stderr


@pytest.mark.parametrize("field, value, line, message", [
    ("last_reviewed", "2026-02-30", 7, "'2026-02-30' is not a real date"),
    ("last_reviewed", "9999-12-01", 7, "'last_reviewed' must be a date written as YYYY-MM-DD, not the date "
                                       "9999-12-01 (only the years 1900 to 2999 are allowed)"),
])
def test_impossible_dates_in_front_matter_are_diagnostics(make_project, run, field, value, line, message):
    project = make_project({"content/guide/dates.md": page("article", "## A\n\nText.\n", **{field: value})})
    outcome = run(project, "build")
    _only_diagnostics(outcome, [])
    assert any(d.startswith(f"content/guide/dates.md:{line}:") and message in d for d in outcome.diagnostics), \
        outcome.stderr


def test_impossible_issued_date_in_sources_is_a_diagnostic(make_project, run):
    sources = "- id: x\n  type: book\n  title: A book\n  issued: 2020-02-30\n  verified: confirmed\n"
    outcome = run(make_project({"content/sources.yaml": sources}), "build")
    _only_diagnostics(outcome, [])
    assert any(d.startswith("content/sources.yaml:4:11:") and "'2020-02-30' is not a real date" in d
               for d in outcome.diagnostics), outcome.stderr


def test_a_number_as_a_front_matter_key_is_reported_at_its_line(make_project, run):
    text = front_matter("article").replace("kind: article\n", "kind: article\n12: twelve\n") + "\nText.\n"
    outcome = run(make_project({"content/guide/keys.md": text}), "build")
    _only_diagnostics(outcome, ["content/guide/keys.md:5:1: error[unknown-field]: unknown front matter field '12'"])


@pytest.mark.parametrize("key, value, message", [
    ("exit_url", "javascript:alert(1)", "'exit_url' must be an absolute https:// URL on another site"),
    ("exit_url", "'#'", "'exit_url' must be an absolute https:// URL on another site"),
    ("exit_url", "http://www.bbc.co.uk/weather", "'exit_url' must be an absolute https:// URL on another site"),
    ("exit_url", "https://example.org/elsewhere/", "'exit_url' must be an absolute https:// URL on another site"),
    ("language", "'en\" onload=alert(1)'", "'language' must be a BCP 47 tag"),
    ("language", "english", "'language' must be a BCP 47 tag"),
])
def test_unsafe_site_settings_are_refused_at_their_line(make_project, run, key, value, message):
    if key == "language":
        site_yaml, line = SITE_YAML.replace("language: en-GB", f"language: {value}"), 3
    else:
        site_yaml, line = SITE_YAML + f"{key}: {value}\n", 11
    outcome = run(make_project(site_yaml=site_yaml), "build")
    _only_diagnostics(outcome, [])
    assert any(d.startswith(f"content/site.yaml:{line}:1: error[config-value]:") and message in d
               for d in outcome.diagnostics), outcome.stderr


@pytest.mark.parametrize("language", ["en", "en-GB", "sr-Latn-RS", "es-419"])
def test_plain_bcp47_tags_are_accepted(make_project, run, language):
    site_yaml = SITE_YAML.replace("language: en-GB", f"language: {language}")
    outcome = run(make_project(site_yaml=site_yaml), "build")
    assert outcome.code == 0, outcome.stderr


@pytest.mark.parametrize("folder", ["../../x", "/tmp/x", "guide/../..", ".hidden"])
def test_an_unsafe_section_folder_is_reported_at_its_line(make_project, run, folder):
    site_yaml = SITE_YAML.replace("{dir: questions,", f"{{dir: '{folder}',")
    outcome = run(make_project(site_yaml=site_yaml), "build")
    _only_diagnostics(outcome, [])
    assert any(d.startswith("content/site.yaml:9:") and "section 'dir' must be a folder name" in d
               for d in outcome.diagnostics), outcome.stderr


@pytest.mark.parametrize("body, expected", [
    ("Text.\n\n[Exit this page](https://evil.example/){: .exit-button }\n",
     "content/guide/fake.md:13:44: error[reserved-class]: class 'exit-button' is not one content may use"),
    ("Text.\n\n!!! exit \"Leave\"\n    Go.\n",
     "content/guide/fake.md:13:5: error[reserved-class]: class 'exit' is not one content may use"),
    ("## Part {: #main }\n\nText.\n",
     "content/guide/fake.md:11:13: error[reserved-id]: id 'main' belongs to the site's templates"),
    ("## One {: #same }\n\nText.\n\n## Two {: #same }\n\nMore.\n",
     "content/guide/fake.md:11:11: error[duplicate-id]: id 'same' is used twice on the page"),
    ("Hidden text.\n{: aria-hidden=true }\n",
     "content/guide/fake.md:12:4: error[unsafe-attribute]: attribute 'aria-hidden' is not allowed in content"),
    ("## Part {: href=javascript:alert(1) }\n\nText.\n",
     "content/guide/fake.md:11:12: error[unsafe-attribute]: attribute 'href' is not allowed on <h2> in content"),
    ("Read [this](&#106;avascript:alert(1)).\n",
     "content/guide/fake.md:11:13: error[unsafe-url]: 'javascript:' links are not allowed"),
    ("![A photo](https://evil.example/p.png)\n",
     "content/guide/fake.md:11:12: error[image-external]: images must be files of this site"),
    ("![A photo](//evil.example/p.png)\n",
     "content/guide/fake.md:11:12: error[image-external]: images must be files of this site"),
    ("![A photo](http://evil.example/p.png)\n",
     "content/guide/fake.md:11:12: error[image-external]: images must be files of this site"),
])
def test_content_cannot_imitate_site_controls_or_load_third_party_images(make_project, run, body, expected):
    outcome = run(make_project({"content/guide/fake.md": page("article", body)}), "build")
    _only_diagnostics(outcome, [expected])


def test_myth_blocks_footnotes_and_tables_keep_their_classes(make_project, run):
    body = ("Text[^1].\n\n| a | b |\n|:-:|--:|\n| 1 | 2 |\n\n[^1]: A note.\n")
    myths = "!!! myth \"Myth: a claim\"\n    Why it is wrong.\n"
    project = make_project({"content/guide/ok.md": page("article", "## Part\n\n" + body),
                            "content/myths.md": page("page", myths, allow_myths="true")})
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    html = (project.root / "site/myths/index.html").read_text()
    assert 'class="admonition myth"' in html


def test_a_repeated_bad_url_is_reported_at_each_place(make_project, run):
    body = "See [a](javascript:x).\n\nAgain [b](javascript:x).\n"
    outcome = run(make_project({"content/guide/twice.md": page("article", body)}), "build")
    unsafe = [d for d in outcome.diagnostics if "[unsafe-url]" in d]
    assert [d.split(": error")[0] for d in unsafe] == ["content/guide/twice.md:11:9", "content/guide/twice.md:13:11"]


@pytest.mark.parametrize("name", [b"forged\ncontent/x.md:1:1: error[fake]: boo.md", b"\x1b[2Jred.md", b"caf\xe9.md"])
def test_file_names_are_printed_escaped(make_project, name):
    project = make_project()
    path = project.root / "content" / "guide" / os.fsdecode(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"no front matter\n")
    result = run_build_py(project.root, "build")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr
    diagnostics = [line for line in result.stderr.splitlines() if ": error[" in line]
    assert len(diagnostics) == 1 and "error[fake]" not in diagnostics[0].split(": error[")[1], result.stderr
    escaped = name.decode("utf-8", "backslashreplace").encode("unicode_escape").decode("ascii").replace("\\\\", "\\")
    assert diagnostics[0].startswith(f"content/guide/{escaped}:"), result.stderr


@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo", "dangling-link"])
def test_a_device_or_pipe_in_content_is_refused_not_read(make_project, kind):
    """A .md that is not a regular file is reported, and never read: a link to /dev/zero (or a
    pipe nobody writes to) used to hang the build fingerprint forever, and a dangling link
    stopped it with an internal error."""
    project = make_project()
    target = project.content / "guide" / "endless.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero" if kind == "link-to-dev-zero" else project.root / "gone.md")
    done = run_build_py(project.root)        # a hang fails on the helper's timeout
    assert done.returncode == 1, done.stderr
    assert "content/guide/endless.md:1:1: error[" in done.stderr and "Traceback" not in done.stderr
