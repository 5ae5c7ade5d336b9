"""What a build may skip, decided from the data itself.

- **The whole build.**  ``fingerprint`` hashes every input file (content/, templates/),
  the engine (Mend's own source and the version of every installed distribution it
  requires, found from its own requirements) and the output folder and date.  When it
  equals the last published build's and the published folder is exactly what that build
  wrote, nothing is rendered and that build's diagnostics are replayed.
- **One output.**  Its render key is a hash of the engine, its template closure and its context
  (``mend.contexts``): the exact data the template is given.  The manifest records each
  output's key; an output whose key is unchanged and whose published file is still the
  one Mend wrote is kept (hard-linked, or left in place by ``serve``) instead of rendered.

"The file Mend wrote" is checked by size, mtime, ctime and inode: editing a file in any
way changes its ctime, which no program can set back.  Hard-linking a file (which is how
a build keeps it) changes its ctime too, so when only the ctime differs the file's
hash is compared with the one recorded when it was written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from . import __version__
from .diagnostics import Diagnostic
from .files import FileReader, digest_bytes, input_names, names_under
from .store import Store

ENGINE_DIR = Path(__file__).resolve().parent
ENGINE_DISTRIBUTION = "mend"
_REQUIREMENT_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?[^;]*(?:;(.*))?$")
_EXTRA_RE = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


# --- the engine ----------------------------------------------------------------------------

def trusted_stamps(reader: FileReader, store: Store) -> dict | None:
    """Give a fresh process the file hashes an earlier one worked out (by size, mtime, ctime and
    inode, as git's index does), so a no-change build reads no file.  Returns what was given,
    for ``keep_stamps``; None when the reader already knew its files (``serve`` after its first
    build: the next fresh process re-reads only what changed meanwhile)."""
    if reader.known:
        return None
    known = store.get("stamps", "inputs")
    reader.trust(known)
    return known if isinstance(known, dict) else {}


def keep_stamps(reader: FileReader, store: Store, before: dict | None) -> None:
    if before is None:
        return
    stamps = reader.stamps()
    if stamps != before:
        store.put("stamps", "inputs", stamps)


def engine_digest(reader: FileReader, store: Store) -> str:
    """Mend's own source, the Python version, and the versions of the distributions Mend
    requires, directly or not."""
    digest = hashlib.sha256(f"mend {__version__} python {sys.version}\n{library_versions(store)}".encode())
    for name in names_under(ENGINE_DIR):
        digest.update(name.encode() + b"\0" + reader.digest(ENGINE_DIR / name).encode())
    return digest.hexdigest()


def library_versions(store: Store) -> str:
    """"name version" lines for every distribution Mend's requirements reach (extras asked
    for included, test extras not).  Walking package metadata costs tens of milliseconds, so
    the answer is kept in the store, keyed by the package folders on the import path and their
    mtimes (installing, upgrading or removing a package changes its folder's)."""
    folders = [entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages"))]
    key = hashlib.sha256(repr([(entry, _mtime(entry)) for entry in folders]).encode()).hexdigest()
    known = store.get("libraries", key)
    if isinstance(known, str):
        return known
    versions = _requirement_closure(ENGINE_DISTRIBUTION)
    text = "".join(f"{name} {version}\n" for name, version in sorted(versions.items()))
    store.put("libraries", key, text)
    return text


def _mtime(entry: str) -> int:
    try:
        return os.stat(entry or ".").st_mtime_ns
    except OSError:
        return 0


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_closure(root: str) -> dict[str, str]:
    """Distribution name -> installed version ("-" when missing) for ``root`` and all it requires."""
    versions: dict[str, str] = {}
    todo = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        if _normal(name) in versions:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            versions[_normal(name)] = "-"
            continue
        versions[_normal(name)] = distribution.version
        for requirement in distribution.requires or ():
            match = _REQUIREMENT_RE.match(requirement)
            if match is None:
                continue
            extra = _EXTRA_RE.search(match.group(3) or "")
            if extra and (name == root or _normal(extra.group(1)) not in extras):
                continue        # an optional extra nobody asked for (for Mend itself: the test tools)
            wanted = frozenset(_normal(e) for e in (match.group(2) or "").split(",") if e.strip())
            todo.append((match.group(1), wanted))
    return versions


# --- the whole build -------------------------------------------------------------------------

def fingerprint(inputs: list[Path], root: Path, out: Path, today: dt.date, engine: str,
                reader: FileReader) -> str:
    """Hash of everything a build reads: the input folders, the engine, the output path and the date."""
    digest = hashlib.sha256(f"{engine}\n{out.resolve()}\n{today.isoformat()}\n".encode())
    for folder in inputs:
        digest.update(f"[{folder.relative_to(root).as_posix()}]\n".encode())
        if folder.is_dir():
            for name in input_names(folder, root):
                digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
                digest.update(reader.digest(folder / name).encode())
    return digest.hexdigest()


@dataclass
class Manifest:
    """What the last published build of one output folder was made from, reported and wrote."""

    fingerprint: str
    kinds: dict[str, int]
    diagnostics: list[Diagnostic]
    tree: dict[str, list[int]] = field(default_factory=dict)    # output path -> file stamp
    keys: dict[str, str] = field(default_factory=dict)          # output path -> render key
    digests: dict[str, str] = field(default_factory=dict)       # output path -> hash of its bytes
    search_current: bool = True     # False while ``serve`` is still indexing the published pages
    search_parts: dict[str, str] = field(default_factory=dict)  # search bundle -> digest of the pages it indexed

    def to_json(self) -> dict:
        return {"fingerprint": self.fingerprint, "kinds": self.kinds, "tree": self.tree, "keys": self.keys,
                "digests": self.digests, "diagnostics": [list(vars(d).values()) for d in self.diagnostics],
                "search_current": self.search_current, "search_parts": self.search_parts}

    @classmethod
    def from_json(cls, data) -> Manifest | None:
        try:
            return cls(data["fingerprint"], data["kinds"], [Diagnostic(*d) for d in data["diagnostics"]],
                       data["tree"], data["keys"], data["digests"], data["search_current"], data["search_parts"])
        except (KeyError, TypeError):
            return None


def _manifest_key(out: Path) -> str:
    return str(out.resolve())


def load_manifest(store: Store, out: Path) -> Manifest | None:
    data = store.get("manifest", _manifest_key(out))
    return Manifest.from_json(data) if data is not None else None


def save_manifest(store: Store, out: Path, manifest: Manifest) -> None:
    store.put("manifest", _manifest_key(out), manifest.to_json())


def forget_manifest(store: Store, out: Path) -> None:
    store.delete("manifest", _manifest_key(out))


def file_stamp(path: str) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def output_tree(out: Path) -> dict[str, list[int]]:
    """Every file of a published site with its stamp: cheap proof it was not touched."""
    base = str(out) + os.sep
    return {name: file_stamp(base + name) for name in names_under(out)}


def unchanged_build(store: Store, out: Path, fingerprint_now: str) -> Manifest | None:
    """The last build's manifest when its inputs are the same and its output is intact; else None."""
    manifest = load_manifest(store, out)
    if manifest is None or manifest.fingerprint != fingerprint_now or not manifest.search_current:
        return None
    if not out.is_dir():
        return None
    tree = output_tree(out)
    if tree == manifest.tree:
        return manifest
    if tree.keys() != manifest.tree.keys():
        return None
    if not all(_same_file(out, name, manifest, tree[name]) for name in tree if tree[name] != manifest.tree[name]):
        return None
    manifest.tree = tree            # only ctimes moved (a failed build linked the files): note them
    save_manifest(store, out, manifest)
    return manifest


def _same_file(out: Path, name: str, manifest: Manifest, stamp: list[int] | None) -> bool:
    """A file whose stamp differs from the recorded one only in its ctime, and whose bytes
    hash as recorded, is the file Mend wrote."""
    recorded, digest = manifest.tree.get(name), manifest.digests.get(name)
    if stamp is None or recorded is None or digest is None or stamp[:2] + stamp[3:] != recorded[:2] + recorded[3:]:
        return False
    try:
        with open(f"{out}/{name}", "rb") as handle:
            return digest_bytes(handle.read()) == digest
    except OSError:
        return False


# --- one output --------------------------------------------------------------------------------

def render_key(engine: str, closure: str, context_digest: str) -> str:
    """An output's key: the engine that renders it (its filters and helpers are Mend's code),
    its template closure and its context."""
    return hashlib.sha256(f"{engine}\0{closure}\0{context_digest}".encode()).hexdigest()


@dataclass(frozen=True)
class Published:
    """The site the last build published, as far as this build may trust it."""

    out: Path
    manifest: Manifest                   # what the last build recorded of it

    @property
    def keys(self) -> dict[str, str]:
        return self.manifest.keys

    @property
    def tree(self) -> dict[str, list[int]]:
        return self.manifest.tree

    @property
    def search_current(self) -> bool:
        return self.manifest.search_current

    def digest(self, name: str) -> str | None:
        return self.manifest.digests.get(name)

    def intact(self, name: str) -> bool:
        """The published file is still the one the last build wrote."""
        stamp = file_stamp(f"{self.out}/{name}")
        return stamp is not None and (stamp == self.tree.get(name) or _same_file(self.out, name, self.manifest, stamp))

    def has(self, name: str, key: str) -> bool:
        return self.keys.get(name) == key and self.intact(name)



def published(store: Store, out: Path) -> Published | None:
    manifest = load_manifest(store, out)
    if manifest is None or not out.is_dir():
        return None
    return Published(out, manifest)
