#!/usr/bin/env python3
"""What citations cost: 50 article pages built with and without citations.

Builds (without writing) the same 50 articles three ways, in one process,
alternating the variants round by round so drift in the machine's speed hits
them alike, and prints medians:

  plain   - no citations, no sources.yaml
  cited   - 12 citations a page from the real content/sources.yaml, cache warm
  cold    - the same, cache emptied first: the one pandoc formatting pass

    python scripts/bench_citations.py [--pages 50] [--rounds 7]

Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mend.bibliography import format_references, load_bibliography  # noqa: E402
from mend.diagnostics import Report  # noqa: E402
from mend.store import Store  # noqa: E402
from mend.pipeline import Project, build  # noqa: E402

SITE = """\
title: Bench
tagline: bench
language: en-GB
base_url: https://example.org/
description: Bench site.
publisher: Bench
sections:
  - {dir: guide, kind: article, title: Guide, summary: Articles.}
"""
FRONT = """\
---
title: Page {n}
summary: A page.
kind: article
authors: [Bench]
reviewers: [Bench]
last_reviewed: 2026-11-01
next_review: 2027-11-01
---
"""
SENTENCE = "You may feel low for a while, and that is normal"


def article(n: int, keys: list[str], cite: bool) -> str:
    rng = random.Random(n)
    parts = [FRONT.format(n=n), "An introduction.\n"]
    for section in range(6):
        parts.append(f"\n## Section {section + 1}\n\n")
        for _ in range(2):
            citation = f" [@{rng.choice(keys)}]" if cite else ""
            parts.append(f"{SENTENCE}{citation}. {SENTENCE}.\n\n")
    return "".join(parts)


def make(folder: Path, pages: int, cite: bool, keys: list[str]) -> Project:
    shutil.copytree(ROOT / "templates", folder / "templates")
    content = folder / "content"
    (content / "guide").mkdir(parents=True)
    (content / "site.yaml").write_text(SITE, "utf-8")
    for name in ("index", "help", "about"):
        (content / f"{name}.md").write_text(FRONT.format(n=name).replace("article", "page") + "Text.\n", "utf-8")
    if cite:
        shutil.copy(ROOT / "content" / "sources.yaml", content / "sources.yaml")
    for n in range(pages):
        (content / "guide" / f"page-{n}.md").write_text(article(n, keys, cite), "utf-8")
    return Project(folder)


def timed(project: Project, cold: bool = False, clock=time.process_time) -> float:
    """One build's time: CPU time of this process by default, which other load on the machine
    disturbs far less than wall time (pandoc runs in a child, so the cold build uses wall time)."""
    if cold:
        shutil.rmtree(project.root / ".mend-cache", ignore_errors=True)
    started = clock()
    result = build(project, write=False)
    elapsed = clock() - started
    errors = [d.format() for d in result.report.errors()]
    assert not errors, "\n".join(errors[:5])
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    text = (ROOT / "content" / "sources.yaml").read_text("utf-8")
    keys = re.findall(r"^- id: (\S+)", text, re.M)
    with tempfile.TemporaryDirectory() as tmp:
        plain = make(Path(tmp) / "plain", args.pages, False, keys)
        cited = make(Path(tmp) / "cited", args.pages, True, keys)
        timed(plain), timed(cited)                       # warm imports and the cache
        times = {"plain": [], "cited": [], "cold": []}
        for _ in range(args.rounds):
            times["plain"].append(timed(plain))
            times["cited"].append(timed(cited))
            times["cold"].append(timed(cited, cold=True, clock=time.perf_counter))
        formatting = []
        for _ in range(3):
            shutil.rmtree(Path(tmp) / "cache", ignore_errors=True)
            started = time.perf_counter()
            format_references(load_bibliography(cited.content, cited.root, Store.open(Path(tmp)), Report()), Report())
            formatting.append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.pages} articles, {len(keys)} sources, 12 citations a page, median of {args.rounds} rounds")
    for name, clock in (("plain", "CPU"), ("cited", "CPU"), ("cold", "wall")):
        print(f"  {name:6} {median[name] * 1000:8.1f} ms {clock:4}  ({median[name] / args.pages * 1000:.2f} ms a page)")
    extra = median["cited"] - median["plain"]
    print(f"  citing costs {extra * 1000:+.1f} ms a build ({extra / args.pages * 1000:+.2f} ms a page) with the cache warm")
    print(f"  one formatting pass (pandoc, whole bibliography): {statistics.median(formatting) * 1000:.0f} ms; "
          f"(wall time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
