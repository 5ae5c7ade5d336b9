#!/usr/bin/env python3
"""What the editorial checks cost per page, in one process (the build forks one per core).

Loads a project's pages once, then runs ``editorial.check_page`` over all of them
several rounds and prints milliseconds per page: the first round with cold caches
(every word stemmed for the first time, as in a fresh worker), then the median and
best of the rest.  CPU time, so other work on the machine disturbs it less.

    python scripts/bench_editorial.py [PROJECT] [--rounds 5]
    python scripts/bench_editorial.py /dev/shm/mend-bench/1000/mend      # the issue 8 corpus

Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mend import editorial  # noqa: E402
from mend.config import load_config  # noqa: E402
from mend.content import load_pages  # noqa: E402
from mend.diagnostics import Report  # noqa: E402
from mend.files import FileReader  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", nargs="?", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    content, report = args.project / "content", Report()
    config = load_config(content, report, args.project)
    pages = load_pages(content, args.project, report, FileReader())
    rules = editorial.load_rules(content, args.project, report)
    if config is None or rules is None:
        print(report.format() or "no content/editorial/rules.yaml", file=sys.stderr)
        return 1
    today = dt.date.today()
    sentences = sum(len(editorial.page_sentences(p.body, p.body_line)[0]) for p in pages)
    per_page, found = [], 0
    for _ in range(max(args.rounds, 2)):
        own = Report()
        started = time.process_time()
        for page in pages:
            editorial.check_page(page, rules, config, own, today)
        per_page.append((time.process_time() - started) * 1000 / len(pages))
        found = len(own.items)
    warm = per_page[1:]
    print(f"{len(pages)} pages, {sentences} sentences, {len(rules)} rules, {found} diagnostics")
    print(f"editorial checks: cold {per_page[0]:.2f} ms/page; warm median {statistics.median(warm):.2f}, "
          f"best {min(warm):.2f} ms/page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
