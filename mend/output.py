"""Writing the site: build beside ``site/``, then swap it in at once.

A build writes every file into a fresh folder next to the output folder and
only when that is complete exchanges it with the published one (one
``renameat2(RENAME_EXCHANGE)`` call on Linux, two renames elsewhere).  A failed
or killed build therefore never touches the site that was there.  A lock file
makes concurrent builds of the same output wait their turn, and leftovers of
killed builds are removed by the next one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath

_RENAME_EXCHANGE = 2


class UnsafeOutputPath(ValueError):
    """A file would land outside the output folder."""


def safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise UnsafeOutputPath(name)
    return path


@contextlib.contextmanager
def build_lock(out_dir: Path, wait: bool = True):
    """Hold an exclusive lock for one output folder while building into it."""
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        fcntl.flock(handle, flags)   # released when the file closes, even if the process dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def staging_dir(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.building-{os.getpid()}"


def remove_leftovers(out_dir: Path) -> None:
    """Delete staging and old folders left by builds that were killed (call under the lock)."""
    for pattern in (f".{out_dir.name}.building-*", f".{out_dir.name}.old-*"):
        for leftover in out_dir.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def write_tree(root: Path, files: dict[str, bytes], reuse_from: Path | None = None,
               unchanged: frozenset[str] = frozenset()) -> None:
    """Write ``files`` under ``root``.  Paths in ``unchanged`` are hard-linked from ``reuse_from``."""
    root.mkdir(parents=True)
    made: set[Path] = {root}
    for name in sorted(files):
        target = root / safe_relative(name)
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        if reuse_from is not None and name in unchanged:
            with contextlib.suppress(OSError):
                os.link(reuse_from / name, target)
                continue
        target.write_bytes(files[name])


def swap_into_place(staged: Path, out_dir: Path) -> None:
    """Make ``staged`` the output folder; the previous one is deleted afterwards."""
    if out_dir.exists() and _exchange(staged, out_dir):
        shutil.rmtree(staged, ignore_errors=True)   # staged now holds the old site
        return
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        os.rename(out_dir, old)
        os.rename(staged, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staged, out_dir)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2).  False when unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EXDEV):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def publish(files: dict[str, bytes], out_dir: Path, before_swap: Callable[[Path], None] | None = None) -> None:
    """Write a complete site and swap it in; the old site stays if anything fails.

    ``before_swap(staged)`` may add files made from the written site (the search index)."""
    staged = staging_dir(out_dir)
    try:
        write_tree(staged, files)
        if before_swap is not None:
            before_swap(staged)
        swap_into_place(staged, out_dir)
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)
