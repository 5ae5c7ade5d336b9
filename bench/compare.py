#!/usr/bin/env python3
"""Compare this checkout's engine with another checkout of Mend (an earlier commit, say).

    git worktree add --detach /tmp/mend-old d015ac4
    python bench/compare.py /tmp/mend-old --pages 1000 --rounds 5

Each checkout builds the same 1,000 generated pages from its own ``bench/make_corpus.py`` (so
each gets the templates, rules and bibliography it was written for), in turn, round by round:
cold builds (output and ``.mend-cache/`` deleted first), no-change rebuilds, then one page
edited as ``serve`` does it.  Prints medians and
the median of the paired ratios this / other.  A script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

_MAKE = "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; " \
        "from bench.make_corpus import make; make(int(sys.argv[2]), Path(sys.argv[3]), ('mend',))"
# One page edited as ``serve`` rebuilds it (the DevSite API both designs share), timed from the
# change until the page is published.
_SERVE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from mend.serve import DevSite
from mend.pipeline import Project
root = Path(sys.argv[2]) / "mend"
dev = DevSite(Project(root), log=lambda _: None)
dev.index_later = lambda: None
dev.rebuild()
target = root / "content" / "guide" / "page-00000.md"
original, times = target.read_text(), []
for i in range(int(sys.argv[3])):
    target.write_text(original.replace("## Section 1", f"## Section 1 (edit {i})", 1))
    started = time.perf_counter()
    dev.rebuild()
    times.append(time.perf_counter() - started)
target.write_text(original)
print(json.dumps({"one page edited (serve)": times}))
"""


def _python(checkout: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return subprocess.run([sys.executable, "-c", code, str(checkout), *args], capture_output=True, text=True,
                          env=env, check=False)


def _build(checkout: Path, corpus: Path, cold: bool) -> float:
    root = corpus / "mend"
    if cold:
        shutil.rmtree(root / "site", ignore_errors=True)
        shutil.rmtree(root / ".mend-cache", ignore_errors=True)
    with tempfile.TemporaryFile() as messages:      # a file, not a pipe: a full pipe would stall it
        started = time.perf_counter()
        subprocess.run([sys.executable, str(checkout / "build.py"), "--root", str(root)], cwd=root,
                       stdout=subprocess.DEVNULL, stderr=messages, env={**os.environ, "PYTHONPATH": str(checkout)},
                       check=False)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="another checkout of Mend")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/mend-compare") if Path("/dev/shm").is_dir()
                        else Path(tempfile.gettempdir()) / "mend-compare")
    args = parser.parse_args()
    checkouts = {"this": HERE, "other": args.other.resolve()}
    corpora = {name: args.dir / name for name in checkouts}
    for name, checkout in checkouts.items():
        made = _python(checkout, _MAKE, str(args.pages), str(corpora[name]))
        if made.returncode:
            sys.exit(f"{checkout}: could not make the corpus: {made.stderr.strip()[-300:]}")
    figures = {name: {"cold": [], "no change": []} for name in checkouts}
    for round_ in range(args.rounds):
        for name in list(checkouts)[round_ % 2:] + list(checkouts)[:round_ % 2]:
            figures[name]["cold"].append(_build(checkouts[name], corpora[name], cold=True))
    for round_ in range(args.rounds):
        for name in checkouts:
            figures[name]["no change"].append(_build(checkouts[name], corpora[name], cold=False))
    for name, checkout in checkouts.items():
        timed = _python(checkout, _SERVE, str(corpora[name]), str(args.rounds))
        if timed.returncode == 0:
            figures[name].update(json.loads(timed.stdout.strip().splitlines()[-1]))
    print(f"{args.pages} pages, {args.rounds} rounds; this = {HERE}, other = {checkouts['other']}")
    print(f"{'':<26}{'this s':>9}{'other s':>9}{'this/other':>12}")
    for what in figures["this"]:
        mine, theirs = figures["this"][what], figures["other"].get(what)
        if not theirs:
            continue
        ratio = statistics.median(a / b for a, b in zip(mine, theirs))
        print(f"{what:<26}{statistics.median(mine):>9.3f}{statistics.median(theirs):>9.3f}{ratio:>12.2f}")


if __name__ == "__main__":
    main()
