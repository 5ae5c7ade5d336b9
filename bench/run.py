"""Benchmark Mend against MkDocs, Pelican and Hugo on the same synthetic corpus.

Builds each tool's copy of the corpus several times, alternating the tools run
by run (this machine's speed drifts over minutes, so tools are compared within
a round), and prints whole-process medians, peak memory, and the paired ratio
of Mend to each other tool.  Then it times Mend's no-change rebuild and a
one-page edit.  Tools that are not installed are skipped.  Not a test.

    python bench/run.py                    # 1,000 pages, 5 rounds, on /dev/shm
    python bench/run.py --pages 5000 --rounds 3 --tools mend,hugo
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.make_corpus import make  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def commands(corpus: Path, tool: str) -> tuple[list[str], Path] | None:
    """The build command for a tool, and its output folder; None when it is not installed."""
    here = corpus / tool
    if tool == "mend":
        return [sys.executable, str(ROOT / "build.py"), "--root", str(here)], here / "site"
    exe = shutil.which(tool)
    if exe is None:
        return None
    if tool == "mkdocs":
        return [exe, "build", "-q", "-f", str(here / "mkdocs.yml"), "-d", str(here / "site")], here / "site"
    if tool == "pelican":
        return [exe, str(here / "content"), "-o", str(here / "output"), "-s", str(here / "pelicanconf.py"),
                "-q"], here / "output"
    if tool == "hugo":
        return [exe, "--quiet", "-s", str(here), "-d", str(here / "public")], here / "public"
    raise ValueError(tool)


def timed(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """Run a command; return (seconds, peak MiB, exit code)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as messages:      # a file, not a pipe: a full pipe would stall the build
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=messages)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        messages.seek(0)
        err = messages.read().decode(errors="replace")
    if process.returncode != 0:
        print(f"  ! {command[0]} exited {process.returncode}: {err.strip()[-400:]}", file=sys.stderr)
    return seconds, usage.ru_maxrss / 1024, process.returncode


def clean(corpus: Path, tool: str, output: Path) -> None:
    shutil.rmtree(output, ignore_errors=True)
    if tool == "mend":
        shutil.rmtree(corpus / tool / ".mend-cache", ignore_errors=True)


def cold_builds(corpus: Path, tools: list[str], rounds: int) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {t: [] for t in tools}
    for round_index in range(rounds):
        order = tools[round_index % len(tools):] + tools[:round_index % len(tools)]
        for tool in order:
            command, output = commands(corpus, tool)
            clean(corpus, tool, output)
            seconds, peak, code = timed(command, corpus / tool)
            if code == 0:
                results[tool].append((seconds, peak))
    return results


def mend_rebuilds(corpus: Path, rounds: int) -> dict[str, list[float]]:
    """No-change rebuild (whole process), and one edited page as ``serve`` rebuilds it: in a
    warm process, timed from the change event until the page is published; then how long
    the search index takes to catch up in the background."""
    command, _ = commands(corpus, "mend")
    figures: dict[str, list[float]] = {"no-change rebuild": [], "one page edited (serve)": [],
                                       "  then search index": []}
    subprocess.run(command, cwd=corpus / "mend", capture_output=True, check=False)
    for _ in range(rounds):
        figures["no-change rebuild"].append(timed(command, corpus / "mend")[0])
    from mend.serve import DevSite
    from mend.pipeline import Project, refresh_search
    dev = DevSite(Project(corpus / "mend"), log=lambda _: None)
    dev.index_later = lambda: None            # indexed below, in the foreground, to time it
    dev.rebuild()
    target = corpus / "mend" / "content" / "guide" / "page-00000.md"
    original = target.read_text()
    for i in range(rounds):
        target.write_text(original.replace("## Section 1", f"## Section 1 (edit {i})", 1))
        started = time.perf_counter()
        result = dev.rebuild()
        figures["one page edited (serve)"].append(time.perf_counter() - started)
        assert result.written and result.rendered_pages == ["guide/page-00000/index.html"], result.rendered_pages
        started = time.perf_counter()
        assert refresh_search(dev.project)
        figures["  then search index"].append(time.perf_counter() - started)
    target.write_text(original)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tools", default="mend,mkdocs,pelican,hugo")
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/mend-bench") if Path("/dev/shm").is_dir()
                        else Path("/tmp/mend-bench"), help="where corpora and outputs go (use a tmpfs)")
    args = parser.parse_args()
    wanted = [t for t in args.tools.split(",") if t == "mend" or commands(args.dir, t) is not None]
    corpus = args.dir / str(args.pages)
    print(f"corpus: {args.pages} pages under {corpus}; tools: {', '.join(wanted)}; {args.rounds} rounds; "
          f"{os.cpu_count()} cores")
    make(args.pages, corpus, tuple(wanted))
    results = cold_builds(corpus, wanted, args.rounds)

    print(f"\n{'cold build':<12}{'median s':>10}{'min s':>9}{'peak MiB':>10}{'Mend / tool':>13}")
    mend_times = [s for s, _ in results.get("mend", [])]
    for tool in wanted:
        times = [s for s, _ in results[tool]]
        if not times:
            print(f"{tool:<12}{'failed':>10}")
            continue
        peak = max(p for _, p in results[tool])
        ratio = ""
        if tool != "mend" and len(mend_times) == len(times):
            ratio = f"{statistics.median(m / t for m, t in zip(mend_times, times)):.2f}"
        print(f"{tool:<12}{statistics.median(times):>10.2f}{min(times):>9.2f}{peak:>10.0f}{ratio:>13}")

    if "mend" in wanted:
        print(f"\n{'Mend rebuilds':<22}{'median s':>10}{'min s':>9}")
        for name, times in mend_rebuilds(corpus, args.rounds).items():
            print(f"{name:<22}{statistics.median(times):>10.3f}{min(times):>9.3f}")


if __name__ == "__main__":
    main()
