"""Two clean copies of the repository, built in different folders at different times, in
different time zones and with different hash seeds, give byte-identical sites, PDFs included.

Each copy holds what a fresh clone would (the files git lists, with new ones not yet
committed), so nothing cached by earlier builds (.mend-cache/, site/) can hide a difference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, tree_bytes

pytestmark = pytest.mark.slow    # left out of the fast lane: python -m pytest -m "not slow"


def repository_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return [name for name in listed if name and (ROOT / name).is_file()]


def clean_copy(files: list[str], into: Path) -> Path:
    for name in files:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, into / name)
    return into


def build_copy(root: Path, **env: str) -> subprocess.CompletedProcess:
    # Run the copy's own build.py, so it imports the copy's mend package.
    return subprocess.run([sys.executable, str(root / "build.py"), "build"], cwd=root, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(root), **env})


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_two_clean_copies_built_apart_give_byte_identical_sites(tmp_path):
    files = repository_files()
    first = clean_copy(files, tmp_path / "a")
    second = clean_copy(files, tmp_path / "elsewhere" / "with space" / "b")
    one = build_copy(first, TZ="UTC", PYTHONHASHSEED="1", SOURCE_DATE_EPOCH="1700000000", LC_ALL="C.UTF-8")
    assert one.returncode == 0, one.stderr
    time.sleep(1.1)          # a different second: any timestamp written into a file would differ
    two = build_copy(second, TZ="Pacific/Kiritimati", PYTHONHASHSEED="2", SOURCE_DATE_EPOCH="1800000000",
                     LC_ALL="C")
    assert two.returncode == 0, two.stderr
    site_one, site_two = tree_bytes(first / "site"), tree_bytes(second / "site")
    assert any(name.endswith(".pdf") for name in site_one)
    assert sorted(site_one) == sorted(site_two)
    differing = [name for name in site_one if site_one[name] != site_two[name]]
    assert differing == []
    for text in (b"/elsewhere/", str(tmp_path).encode()):
        assert not [name for name, data in site_one.items() if text in data]
