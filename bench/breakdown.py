"""Where one cold Mend build's time and memory go, step by step.  Not a test.

    python bench/breakdown.py                 # 1,000 pages on /dev/shm
    python bench/breakdown.py --pages 10000

Builds a fresh copy of the corpus in this process and prints the seconds of each
step (``BuildResult.timings``) and the peak resident memory of this process, of
the render workers, and of the two external programs: pandoc (formats the
bibliography once per change of sources.yaml) and Pagefind (indexes the site).
Peaks of child processes come from RUSAGE_CHILDREN, the largest child so far,
read around each step; a step whose children stayed smaller than an earlier
one's shows as "-".
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.make_corpus import make  # noqa: E402
from mend import bibliography, parallel, search  # noqa: E402
from mend.pipeline import Project, build  # noqa: E402


def children_peak_mib() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def watch(module, name: str, label: str, peaks: dict[str, str]) -> None:
    """Wrap ``module.name`` (a function or method) to note the largest child process it waited for."""
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        before = children_peak_mib()
        try:
            return real(*args, **kwargs)
        finally:
            after = children_peak_mib()
            if after > before:
                peaks[label] = f"{after} MiB"
            peaks.setdefault(label, "-")

    setattr(module, name, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/mend-bench"))
    args = parser.parse_args()
    corpus = args.dir / str(args.pages)
    make(args.pages, corpus, ("mend",))
    root = corpus / "mend-breakdown"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(corpus / "mend", root, ignore=shutil.ignore_patterns("site", ".mend-cache"))
    peaks: dict[str, str] = {}
    watch(bibliography, "_formatted", "pandoc", peaks)
    watch(parallel, "map_forked", "workers (pages, editorial checks)", peaks)
    watch(search.Indexing, "wait", "Pagefind", peaks)
    result = build(Project(root))
    print(result.summary())
    print(f"\n{'step':<22}{'seconds':>9}")
    for step, seconds in result.timings.items():
        print(f"{step:<22}{seconds:>9.2f}")
    print(f"{'total':<22}{result.seconds:>9.2f}")
    print(f"\n{'process':<36}{'peak':>10}")
    print(f"{'build (this process)':<36}{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024:>6} MiB")
    for label, peak in peaks.items():
        print(f"{label:<36}{peak:>10}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
