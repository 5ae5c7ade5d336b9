"""Property-based tests: any input either builds or gives diagnostics with exit 1.

Never an uncaught exception, a traceback or a hang.  The CI budget is small;
run a larger one with ``HYPOTHESIS_PROFILE=deep python -m pytest tests/test_fuzz.py``.
Examples that once failed are pinned with ``@example`` so they stay fixed.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout

import pytest
import yaml
from conftest import ROOT, SITE_YAML, front_matter, page
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mend.cli import main as cli_main

settings.register_profile("ci", max_examples=40, deadline=5000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=1500, deadline=10000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DIAGNOSTIC_RE = re.compile(r"^\S[^\n]*:\d+:\d+: (error|warning)\[[\w/.-]+\]: \S")
FIELDS = ["title", "summary", "kind", "authors", "reviewers", "last_reviewed", "next_review", "slug",
          "order", "updated", "pages", "file_title", "template", "allow_myths", "experience_based"]


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / "content/guide").mkdir(parents=True)
    (root / "content/site.yaml").write_text(SITE_YAML)
    if (ROOT / "content/sources.yaml").exists():
        shutil.copy(ROOT / "content/sources.yaml", root / "content/sources.yaml")
    for name in ("index", "help", "about"):
        (root / f"content/{name}.md").write_text(page("page", "Text.\n", title=name))
    return root


def build_with(root, name: str, data: bytes) -> tuple[int, str]:
    target = root / "content" / name
    target.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli_main(["build", "--root", str(root)])
    finally:
        target.unlink()
    return code, err.getvalue()


def assert_well_behaved(code: int, stderr: str, root) -> None:
    assert code in (0, 1), stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line and not line.startswith("    ")]
    diagnostics, summary = lines[:-1], lines[-1]
    assert summary.startswith(("built:", "failed:")), stderr
    for line in diagnostics:
        assert DIAGNOSTIC_RE.match(line), line
    if code == 1:
        assert any(": error[" in line for line in diagnostics)
    else:
        html = (root / "site/guide/fuzzed/index.html").read_text()
        main = re.search(r"<main\b[^>]*>(.*?)</main>", html, re.S).group(1)
        assert not re.search(r"<script(?![^>]*application/ld\+json)", main)
        assert not re.search(r"<[^>]*\son\w+\s*=", main)
        assert "javascript:" not in main.lower()


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=30),
                         st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1)), st.floats(allow_nan=True))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.lists(inner, max_size=3) |
                           st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


@given(fields=st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), yaml_values, max_size=12),
       body=st.text(max_size=200))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_front_matter_builds_or_gives_diagnostics(fuzz_project, fields, body):
    text = "---\n" + yaml.safe_dump(fields, allow_unicode=True) + "---\n" + body
    code, stderr = build_with(fuzz_project, "guide/fuzzed.md", text.encode("utf-8", "surrogatepass"))
    assert_well_behaved(code, stderr, fuzz_project)


@given(raw=st.binary(max_size=300))
@example(raw=b"---\n---\n")
@example(raw=b"---\n\x00\n---\n")
@example(raw=b"\xef\xbb\xbf---\ntitle: x\n---\n")
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_bytes_build_or_give_diagnostics(fuzz_project, raw):
    code, stderr = build_with(fuzz_project, "guide/fuzzed.md", raw)
    assert_well_behaved(code, stderr, fuzz_project)


MARKDOWN_PIECES = st.sampled_from([
    "# ", "## ", "### ", "> ", "- ", "1. ", "    ", "\n", "\n\n", "*", "**", "_", "`", "```", "[", "]", "(", ")",
    "![", "](", "{: ", " }", "#", ".", "<", ">", "</", "div", "script", "onclick=", "javascript:", "data:",
    "http://x.org", "/guide/", "#anchor", "x.md", "&amp;", "&#0;", "[^1]", "[^1]: ", "!!! note", "| a | b |",
    "|---|---|", ":::", "\\", "\t", "é", "\u202e", "<!--", "-->", "[@", "@key", ";", "p. 12", "word ", "\r",
])


@given(pieces=st.lists(MARKDOWN_PIECES | st.text(max_size=6), max_size=80))
@example(pieces=["> "] * 400 + ["x"])
@example(pieces=["[", "x", "](", "java\tscript:alert(1)", ")"])
@example(pieces=["*"] * 3000)
@example(pieces=["[" * 2000])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_markdown_body_builds_or_gives_diagnostics(fuzz_project, pieces):
    text = front_matter("article", title="Fuzzed") + "".join(pieces)
    code, stderr = build_with(fuzz_project, "guide/fuzzed.md", text.encode("utf-8", "surrogatepass"))
    assert_well_behaved(code, stderr, fuzz_project)
