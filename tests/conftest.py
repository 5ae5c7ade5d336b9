"""Shared fixtures: build throwaway sites from dicts of files (as MkDocs' tests do)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from mend.cli import main as cli_main
from mend.pipeline import Project

ROOT = Path(__file__).resolve().parents[1]

SITE_YAML = """\
title: Test site
tagline: a test
language: en-GB
base_url: https://example.org/
description: A site for tests.
publisher: The test team
sections:
  - {dir: guide, kind: article, title: Guide, summary: Articles.}
  - {dir: questions, kind: faq, title: Questions, summary: Answers.}
  - {dir: worksheets, kind: worksheet, title: Worksheets, summary: Sheets.}
"""


def front_matter(kind: str = "article", title: str = "A page", **extra) -> str:
    """Valid front matter for a page of ``kind``; ``extra`` adds or overrides fields."""
    fields = {
        "title": title,
        "summary": "A short summary.",
        "kind": kind,
        "authors": "[Mend editorial team]",
        "reviewers": "[Mend editorial team]",
        "last_reviewed": "2026-11-01",
        "next_review": "2027-11-01",
        **extra,
    }
    lines = [f"{k}: {v}" for k, v in fields.items() if v is not None]
    return "---\n" + "\n".join(lines) + "\n---\n"


def page(kind: str = "article", body: str = "Some text.\n", **extra) -> str:
    return front_matter(kind, **extra) + "\n" + textwrap.dedent(body)


BASIC_FILES = {
    "content/index.md": page("page", "Welcome.\n", title="Home"),
    "content/help.md": page("page", "Call for help.\n", title="Get help"),
    "content/about.md": page("page", "About us.\n", title="About"),
}


@dataclass
class Outcome:
    code: int
    stderr: str

    @property
    def diagnostics(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if ": error[" in line or ": warning[" in line]


def project_at(root: Path, files: dict[str, str | bytes] | None = None, *, basic: bool = True,
               site_yaml: str = SITE_YAML) -> Project:
    """A project in ``root`` with the real templates, the basic pages and ``files``."""
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / "content").mkdir(parents=True)
    (root / "content" / "site.yaml").write_text(site_yaml, "utf-8")
    for name, text in {**(BASIC_FILES if basic else {}), **(files or {})}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, "utf-8")
    return Project(root)


@pytest.fixture
def make_project(tmp_path):
    """make_project({"content/guide/x.md": text, ...}) -> Project with the real templates."""

    def make(files: dict[str, str | bytes] | None = None, *, basic: bool = True,
             site_yaml: str = SITE_YAML) -> Project:
        return project_at(tmp_path / "project", files, basic=basic, site_yaml=site_yaml)

    return make


@pytest.fixture
def run(capsys):
    """run(project, "build", "--strict") -> Outcome(exit code, stderr), in-process."""

    def invoke(project: Project, *args: str) -> Outcome:
        argv = list(args) + ["--root", str(project.root)]
        try:
            code = cli_main(argv)
        except SystemExit as exc:   # argparse usage errors
            code = exc.code
        captured = capsys.readouterr()
        return Outcome(code, captured.err + captured.out)

    return invoke


def run_build_py(project_root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the real ``build.py`` in a child process (for end-to-end checks)."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args, "--root", str(project_root)],
                          capture_output=True, text=True, timeout=300)


def free_port() -> int:
    """A loopback port nothing listens on now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, for before/after comparisons."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
