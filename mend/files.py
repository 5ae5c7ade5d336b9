"""Reading input files once per build, and remembering their hashes between builds of one process.

The build fingerprint hashes every input file; loading then parses the same bytes,
so a page is read from disk once.  A long-running process (``serve``) keeps each
file's hash by size, mtime and ctime, so a rebuild reads only the files that changed.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

MAX_INPUT_BYTES = 64 * 1024 * 1024    # an input larger than this is fingerprinted by its stamp, not read
RACY_NS = 2_000_000_000               # a file changed this recently may change again within its stamp's tick


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


class FileReader:
    """``digest(path)`` and ``read(path)`` that touch the disk once per changed file."""

    def __init__(self):
        self.known: dict[str, tuple[tuple, str]] = {}    # path -> (stamp, digest)
        self.pending: dict[str, bytes] = {}              # bytes read for a digest, not yet taken
        self.this_build: dict[str, str] = {}             # path -> digest, stamped once per build

    def digest(self, path) -> str:
        """The file's hash, as this build first saw it (the fingerprint and the loader ask
        about the same files: one stat each, and both see the same version)."""
        path = str(path)
        seen = self.this_build.get(path)
        if seen is not None:
            return seen
        try:
            info = os.stat(path)
        except FileNotFoundError:
            if not os.path.islink(path):
                raise
            self.this_build[path] = f"link:{os.readlink(path)}"     # dangling: the loader reports it
            return self.this_build[path]
        known = self.known.get(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_INPUT_BYTES:
            # A device, a pipe or a huge file is never read (a link to /dev/zero would never end);
            # the loader refuses it, and its stamp still makes any change a change.
            self.this_build[path] = f"stamp:{info.st_mode}:{':'.join(map(str, _stamp(info)))}"
            return self.this_build[path]
        if known is None or known[0] != _stamp(info):
            self.pending[path] = self._read(path, info)
        self.this_build[path] = self.known[path][1]
        return self.this_build[path]

    def read(self, path) -> tuple[bytes, str]:
        """The file's bytes and their hash: the bytes the digest was made from when the
        file has not changed since, else a fresh read."""
        path = str(path)
        data = self.pending.pop(path, None)
        if data is not None and path in self.this_build:
            return data, self.this_build[path]
        info = os.stat(path)
        known = self.known.get(path)
        if data is None or known is None or known[0] != _stamp(info):
            data = self._read(path, info)
        return data, self.known[path][1]

    def _read(self, path: str, info: os.stat_result) -> bytes:
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "it is not a regular file")
        with open(path, "rb") as handle:
            data = handle.read()
        self.known[path] = (_stamp(info), digest_bytes(data))
        return data

    def stamps(self) -> dict[str, list]:
        """What a later process may trust: each file's stamp and hash, leaving out files
        changed in the last two seconds (a second write within the file system's clock tick
        could keep the same stamp; git's index has the same rule)."""
        recent = time.time_ns() - RACY_NS
        return {path: [list(stamp), digest] for path, (stamp, digest) in self.known.items()
                if stamp[1] < recent and stamp[2] < recent}

    def trust(self, stamps) -> None:
        """Take ``stamps`` (from ``stamps()`` of an earlier process) for files not seen yet."""
        if isinstance(stamps, dict):
            for path, entry in stamps.items():
                if path not in self.known and isinstance(entry, list) and len(entry) == 2 \
                        and isinstance(entry[0], list) and isinstance(entry[1], str):
                    self.known[path] = (tuple(entry[0]), entry[1])

    def release(self) -> None:
        """End of a build: drop bytes read but not taken (a build that stopped early), and
        stat every file afresh next time."""
        self.pending.clear()
        self.this_build.clear()


def decode_utf8(data: bytes, shown: str, report, what: str = "file") -> str | None:
    """Text of an input file: UTF-8, a byte-order mark dropped, Windows line endings made plain
    (Notepad saves both).  Not UTF-8: ``error[encoding]`` at the first bad byte, and None."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        line, col = byte_position(data, exc.start)
        report.error(shown, line, col, "encoding", f"the {what} is not valid UTF-8", "save it as UTF-8 in your editor")
        return None


def byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column of a byte offset."""
    return data[:offset].count(b"\n") + 1, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def input_names(folder: Path, root: Path) -> list[str]:
    """Relative POSIX paths of the files under ``folder`` as the build reads them: a symlinked
    folder is followed when it resolves inside ``root`` and was not walked yet (as the content
    loader does: the fingerprint must cover what is loaded); any other link is listed itself,
    so adding or changing it still changes the fingerprint.  Deterministic order; no recursion."""
    inside = os.path.realpath(root)
    seen, found = {os.path.realpath(folder)}, []
    todo = [(str(folder), "")]
    while todo:
        path, prefix = todo.pop()
        try:
            with os.scandir(path) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError:
            found.append(prefix.rstrip("/"))      # unreadable: its stamp stands for it
            continue
        folders = []
        for entry in listed:
            if entry.name == "__pycache__":
                continue
            if entry.is_dir():
                target = os.path.realpath(entry.path) if entry.is_symlink() else None
                if target is not None and (target in seen or os.path.commonpath([target, inside]) != inside):
                    found.append(prefix + entry.name)
                    continue
                if target is not None:
                    seen.add(target)
                folders.append((entry.path, prefix + entry.name + "/"))
            else:
                found.append(prefix + entry.name)
        todo.extend(reversed(folders))
    return found


def names_under(folder: Path) -> list[str]:
    """Relative POSIX paths of the files under a folder Mend owns (its code, an output
    folder), by the same walk as the inputs'; plain strings because a site has thousands of
    files and Path objects cost microseconds each."""
    return input_names(folder, folder)
