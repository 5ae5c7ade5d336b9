"""Run one pure function over many items on every core.

Workers are forked, so the function and the items (pages, compiled rules, a
closure) are inherited rather than pickled; only each result travels back.
Small jobs, and platforms without fork, run in this process: starting a
worker costs more than checking a few pages.  So does any job started while
another thread runs: a forked child gets a copy of every lock that thread held,
and can deadlock on it.  The build starts no threads (Pagefind runs as a child
process), so this only guards against a caller that does.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

MIN_ITEMS_PER_WORKER = 40
CHUNKS_PER_WORKER = 4         # several chunks each, so one slow chunk does not leave a core idle

_job: tuple[Callable, Sequence] | None = None   # set in each forked worker only, by _start_worker


_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """A function for a child process (Linux) that has the kernel kill it when the build dies.

    A killed build's children would otherwise live on: forked workers block on their pipe
    forever, and Pagefind keeps writing into a staging folder the next build has removed.
    Returns None elsewhere.  The signal survives an exec, so it also works as a preexec_fn."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl      # looked up before the fork, not in the child
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:      # the build died before prctl took effect
            os._exit(1)

    return in_child


def _start_worker(function: Callable, items: Sequence, on_start: Callable | None) -> None:
    global _job   # noqa: PLW0603 - the worker's own copy of its job, inherited at fork
    _job = (function, items)
    if on_start is not None:
        on_start()


def _run_chunk(chunk: range) -> list:
    function, items = _job
    return [function(items[i]) for i in chunk]


def workers_for(count: int) -> int:
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return max(1, min(os.cpu_count() or 1, count // MIN_ITEMS_PER_WORKER))


def map_forked(function: Callable, items: Sequence, meanwhile: Callable | None = None) -> list:
    """``[function(item) for item in items]``, spread over forked workers; results in order.
    ``meanwhile()`` runs in this process while the workers work (else it would sit idle)."""
    workers = workers_for(len(items))
    if workers == 1:
        done = [function(item) for item in items]
        if meanwhile is not None:
            meanwhile()
        return done
    size = max(1, -(-len(items) // (workers * CHUNKS_PER_WORKER)))
    chunks = [range(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(function, items, die_with_parent())) as pool:
            results = pool.map(_run_chunk, chunks)      # submits every chunk at once
            if meanwhile is not None:
                meanwhile()
            return [result for chunk in results for result in chunk]
    except BrokenProcessPool:      # a worker was killed (out of memory, say): do the work here
        return [function(item) for item in items]
