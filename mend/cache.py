"""The build cache under ``.mend-cache/``: skip work whose inputs have not changed.

Keyed by content hashes, never by timestamps of inputs:

- the whole build: a fingerprint of every input file (content/, templates/),
  the engine's own source and the versions of the libraries that shape the
  output, the output folder and the date.  When it equals the fingerprint of
  the last build that was published, and the published folder still holds
  exactly the files that build wrote (same names, sizes and mtimes), nothing is
  rendered: the diagnostics of that build are replayed so warnings still show.
  The manifest of that build also records each output's render key
  (``mend.reuse``), which lets the next build reuse unchanged pages.
- per page (``PageMemo``): what rendering a page produced besides its HTML,
  and the editorial checks, whose result depends only on a page's source and a
  few site-wide inputs.

A damaged or missing cache file only means the work is done again.  (Within one
long-running process, ``FileDigests`` remembers file hashes by size and mtime.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from . import __version__
from .diagnostics import Diagnostic

CACHE_DIR = ".mend-cache"
ENGINE_DIR = Path(__file__).resolve().parent
# Libraries whose version can change a byte of the output.
LIBRARIES = ("markdown", "jinja2", "nh3", "pyyaml", "weasyprint", "pydyf", "pagefind", "pypandoc")


def cache_dir(root: Path) -> Path:
    return root / CACHE_DIR


def names_under(folder: Path) -> list[str]:
    """Relative POSIX paths of the files under ``folder``, sorted; plain strings because
    a site has thousands of files and Path objects cost microseconds each."""
    found = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        prefix = os.path.relpath(here, folder).replace(os.sep, "/") + "/"
        prefix = "" if prefix == "./" else prefix
        found.extend(prefix + name for name in sorted(files))
    return found


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FileDigests:
    """Hashes of files, remembered by size and mtime: a long-running process (``serve``)
    then reads only the files that changed.  Builds started afresh hash every file."""

    def __init__(self):
        self.known: dict[Path, tuple[tuple[int, int], str]] = {}

    def __call__(self, path: Path) -> str:
        info = os.stat(path)
        stamp = (info.st_size, info.st_mtime_ns)
        known = self.known.get(path)
        if known is None or known[0] != stamp:
            known = self.known[path] = (stamp, file_digest(path))
        return known[1]


def _hash_folder(digest, folder: Path, digest_of=file_digest) -> None:
    for name in names_under(folder):
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")   # issue 14: non-UTF-8 names
        digest.update(digest_of(folder / name).encode())


def engine_digest() -> str:
    """Mend's own source and the versions of the libraries it renders with."""
    digest = hashlib.sha256(f"mend {__version__} python {sys.version}\n{_library_versions()}".encode())
    _hash_folder(digest, ENGINE_DIR)
    return digest.hexdigest()


@functools.cache
def _library_versions() -> str:
    """Looked up once per process: reading package metadata takes milliseconds, and a
    running process keeps the libraries it imported whatever is installed meanwhile."""
    lines = []
    for name in LIBRARIES:
        try:
            lines.append(f"{name} {metadata.version(name)}\n")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} -\n")
    return "".join(lines)


def build_fingerprint(root: Path, inputs: Iterable[Path], out: Path, today: dt.date, engine: str,
                      digest_of=file_digest) -> str:
    """Hash of everything a build reads: the input folders, the engine, the output path and the date."""
    digest = hashlib.sha256(f"{engine}\n{out.resolve()}\n{today.isoformat()}\n".encode())
    for folder in inputs:
        digest.update(f"[{folder.relative_to(root).as_posix()}]\n".encode())
        if folder.is_dir():
            _hash_folder(digest, folder, digest_of)
    return digest.hexdigest()


# --- the whole-build manifest -------------------------------------------------------------------

@dataclass
class Manifest:
    """What the last published build was made from, what it reported, and what it wrote."""

    fingerprint: str
    kinds: dict[str, int]
    diagnostics: list[Diagnostic]
    tree: dict[str, list[int]] = field(default_factory=dict)    # output path -> [size, mtime_ns]
    page_keys: dict[str, str] = field(default_factory=dict)     # page output path -> its render key
    search_current: bool = True     # False while ``serve`` is still indexing the published pages


def _manifest_path(root: Path, out: Path) -> Path:
    name = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return cache_dir(root) / f"build-{name}.json"


def output_tree(out: Path) -> dict[str, list[int]]:
    """Every file of a published site with its size and mtime: cheap proof it was not touched."""
    tree = {}
    base = str(out) + os.sep
    for name in names_under(out):
        info = os.stat(base + name)
        tree[name] = [info.st_size, info.st_mtime_ns]
    return tree


def load_manifest(root: Path, out: Path) -> Manifest | None:
    try:
        data = json.loads(_manifest_path(root, out).read_text("utf-8"))
        return Manifest(data["fingerprint"], data["kinds"], [diagnostic_from_json(d) for d in data["diagnostics"]],
                        data["tree"], data["page_keys"], data["search_current"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_manifest(root: Path, out: Path, manifest: Manifest) -> None:
    """Written whole (write, then rename), so a killed build leaves the old manifest or none.
    When it cannot be written, the old one is removed: the next build then does all the work."""
    path = _manifest_path(root, out)
    try:
        _write_manifest(path, manifest)
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _write_manifest(path: Path, manifest: Manifest) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"fingerprint": manifest.fingerprint, "kinds": manifest.kinds,
            "diagnostics": [diagnostic_to_json(d) for d in manifest.diagnostics], "tree": manifest.tree,
            "page_keys": manifest.page_keys, "search_current": manifest.search_current}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    os.replace(temporary, path)


def forget_manifest(root: Path, out: Path) -> None:
    with contextlib.suppress(OSError):
        _manifest_path(root, out).unlink(missing_ok=True)


def unchanged_build(root: Path, out: Path, fingerprint: str) -> Manifest | None:
    """The last build's manifest when its inputs are the same and its output is intact; else None."""
    manifest = load_manifest(root, out)
    if manifest is None or manifest.fingerprint != fingerprint or not manifest.search_current or not out.is_dir():
        return None
    return manifest if output_tree(out) == manifest.tree else None


# --- per-page results ---------------------------------------------------------------------------

class PageMemo:
    """Results of a pure per-page step, by a hash of what the step reads.

    Stored as JSON lines, one ``[key, value]`` per line, appended as results are made: a
    rebuild that changed one page writes one line, not the whole file.  When most lines
    are no longer used, the file is rewritten with only the entries the last build used.
    A long-running process keeps the memo between builds (``open_memo``)."""

    def __init__(self, path: Path):
        self.path = path
        self.salt = b""
        self.used: set[str] = set()
        self.new: dict[str, object] = {}
        self.entries: dict = {}
        with contextlib.suppress(OSError):
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    with contextlib.suppress(ValueError, TypeError):
                        key, value = json.loads(line)
                        self.entries[key] = value

    def start(self, salt: str) -> PageMemo:
        """Begin a build whose step also reads ``salt`` (hashed once, not per page)."""
        self.salt = hashlib.sha256(salt.encode()).digest()
        self.used = set()
        return self

    def key(self, *parts: str | bytes) -> str:
        digest = hashlib.sha256(self.salt)
        for part in parts:
            digest.update(b"\0" + (part if isinstance(part, bytes) else part.encode()))
        self.used.add(key := digest.hexdigest())
        return key

    def get(self, key: str):
        return self.entries.get(key)

    def put(self, key: str, value) -> None:
        self.entries[key] = value
        self.new[key] = value

    def save(self) -> None:
        """Append this build's new results, or compact the file when it is mostly stale.
        A cache that cannot be written only costs time next build."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if len(self.entries) > 2 * len(self.used) + 64:
                self._compact()
            elif self.new:
                with open(self.path, "a", encoding="utf-8") as log:
                    log.write("".join(_line(k, v) for k, v in self.new.items()))
            self.new = {}
        except OSError:
            pass

    def _compact(self) -> None:
        self.entries = {k: v for k, v in self.entries.items() if k in self.used}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            temporary.write_text("".join(_line(k, v) for k, v in sorted(self.entries.items())), "utf-8")
            os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)


def _line(key: str, value) -> str:
    return json.dumps([key, value], ensure_ascii=False) + "\n"


def open_memo(root: Path, name: str, salt: str, kept: dict | None = None) -> PageMemo:
    """The memo ``.mend-cache/<name>``, taken from ``kept`` when this process has it open."""
    path = cache_dir(root) / name
    memo = kept.get(path) if kept is not None else None
    if memo is None:
        memo = PageMemo(path)
        if kept is not None:
            kept[path] = memo
    return memo.start(salt)


def diagnostic_to_json(diagnostic: Diagnostic) -> list:
    return list(vars(diagnostic).values())


def diagnostic_from_json(data: list) -> Diagnostic:
    return Diagnostic(*data)
