"""Writing the site: build beside ``site/``, then swap it in at once.

A build writes every file into a fresh staging folder next to the output folder
(files it did not need to render again are hard-linked from the published one)
and only when that is complete exchanges it with the published one (one
``renameat2(RENAME_EXCHANGE)`` call on Linux, two renames elsewhere).  A failed
or killed build therefore never touches the site that was there.  A lock file
makes concurrent builds of the same output wait their turn, and leftovers of
killed builds are removed by the next one.

``serve`` publishes in place instead: only the files whose bytes changed are moved
into the published folder and outputs that went away are deleted, so a rebuild after
one edit costs what the edit changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import functools
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .files import digest_bytes, names_under
from .incremental import Published, file_stamp

_RENAME_EXCHANGE = 2
# Written into every site Mend builds: a folder holding it (or nothing) is one Mend may replace.
MARKER = ".mend-site"
MARKER_TEXT = b"This folder is built by Mend (python build.py) and is replaced on every build.\n"
# A site built before the marker existed has all of these.
_LEGACY_SITE = ("index.html", "404.html", "sitemap.xml", "pagefind/pagefind.js")


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
    for pattern in (f".{out_dir.name}.building-*", f".{out_dir.name}.old-*", f".{out_dir.name}.search-*"):
        for leftover in out_dir.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def refusal(out: Path, root: Path) -> str:
    """Why ``out`` may not be the output folder ("" when it may).  A build replaces the output
    folder whole, so it must never be the project, its content or templates, a folder holding
    them, or a folder of someone else's files."""
    out, root = out.resolve(), root.resolve()
    for name, folder in (("the project folder", root), ("content/", root / "content"),
                         ("templates/", root / "templates")):
        if out == folder or folder.is_relative_to(out):
            return f"{out} is or holds {name}; building there would replace it"
        if out.is_relative_to(folder) and folder != root:
            return f"{out} is inside {name}; the site cannot be built among its own sources"
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file() \
            and not all((out / name).is_file() for name in _LEGACY_SITE):
        return f"{out} holds files Mend did not write ({MARKER} is missing); building there would delete them"
    return ""


class WriteFailed(Exception):
    """A file of the new site could not be written (disk full, read-only folder...)."""


def write_file(root: Path, name: str, data: bytes) -> None:
    """Write one file of the new site; workers call this for the pages they render."""
    target = root / safe_relative(name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        raise WriteFailed(exc.strerror or str(exc)) from exc


@dataclass
class Staging:
    """Where one build puts its files: a fresh folder, with unchanged files kept from the
    published site.  Workers write through it too (it holds paths only)."""

    folder: Path
    published: Published | None
    in_place: bool = False                 # serve: the published folder is updated file by file
    outputs: set[str] = field(default_factory=set)
    digests: dict[str, str] = field(default_factory=dict)   # output -> hash of its bytes (this process's)

    def write(self, name: str, data: bytes) -> bool:
        """Write one output, or keep the published file when it holds the same bytes (so an
        unchanged file keeps its stamp and ``serve`` moves nothing).  True when it changed."""
        self.digests[name] = digest_bytes(data)
        if self.published is not None and self.published.digest(name) == self.digests[name] \
                and self.published.intact(name):
            self.keep(name)
            return False
        write_file(self.folder, name, data)
        return True

    def keep(self, name: str) -> None:
        """Keep a published file in the new site: leave it where it is when updating in place,
        else hard-link it into the staging folder (a copy where links are not allowed)."""
        if not self.in_place:
            link_into(self.published.out, self.folder, name)


def link_into(out: Path, folder: Path, name: str) -> None:
    source, target = f"{out}/{name}", f"{folder}/{safe_relative(name)}"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(source, target)
    except FileNotFoundError as exc:        # removed from the published site meanwhile
        raise WriteFailed(f"{name} went missing from the published site; build again") from exc
    except OSError:                         # a file system without hard links
        shutil.copy2(source, target)


def swap_into_place(staged: Path, out_dir: Path) -> None:
    """Make ``staged`` the output folder; the previous one is deleted afterwards."""
    exchange_or_replace(staged, out_dir)


def publish_in_place(staging: Staging, out: Path, keep: set[str]) -> dict[str, list[int]]:
    """Move the files this build wrote over the published ones and delete published files
    that are neither outputs of this build nor in ``keep`` (the search index).  The preview
    may show old and new files side by side for milliseconds; a failed build changes
    nothing.  Returns the published folder's new tree."""
    tree = dict(staging.published.tree)
    for name in names_under(staging.folder):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging.folder / name, target)
        tree[name] = file_stamp(str(target))
    for name in set(tree) - staging.outputs - keep:
        (out / name).unlink(missing_ok=True)
        _remove_empty_folders((out / name).parent, out)
        del tree[name]
    return tree


def _remove_empty_folders(folder: Path, top: Path) -> None:
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


@functools.cache
def _renameat2():
    """libc's renameat2, looked up once: find_library runs ldconfig, which takes milliseconds."""
    libc_name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None) if libc_name else None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2).  False when unsupported."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EXDEV):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def exchange_or_replace(new: Path, current: Path) -> None:
    """Put folder ``new`` where ``current`` is, at once where the system allows; the old one is deleted."""
    if current.exists() and _exchange(new, current):
        shutil.rmtree(new, ignore_errors=True)       # new now holds the old folder
    elif current.exists():
        old = current.parent / f".{current.name}.old-{os.getpid()}"
        os.rename(current, old)
        os.rename(new, current)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new, current)
