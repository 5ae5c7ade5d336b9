"""What a build may take from the last published one instead of rendering it again.

Each page's HTML is a pure function of a few inputs, so each page gets a
*render key*: a hash of its source, the templates its own template reaches
(through extends/include/import), and the site-wide inputs every page reads
(configuration, static assets, the navigation, the URL map links resolve
against, the bibliography, Mend's own code).  The manifest of the last
published build records the key each page was rendered from.  A page whose key
is unchanged, and whose published file is still exactly the file that build
wrote (same size and mtime), is hard-linked into the new site rather than
rendered; what rendering it produced besides the HTML (links, anchors, cited
sources, diagnostics) comes from ``.mend-cache/``.

Listings (home and section pages, Sources, sitemap, feed) read every page, so
they are rendered on every build: a few templates, whatever the site's size.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import cache, output


@dataclass(frozen=True)
class Published:
    """The site the last build published, as far as this build may trust it."""

    out: Path
    page_keys: dict[str, str]            # output path -> render key it was made from
    tree: dict[str, list[int]]           # output path -> [size, mtime_ns] when it was written
    search_current: bool                 # its search index describes its pages
    in_place: bool = False               # the new build updates this folder file by file (serve)

    def intact(self, name: str) -> bool:
        """The published file is still the one the last build wrote."""
        try:
            info = os.stat(f"{self.out}/{name}")
        except OSError:
            return False
        return self.tree.get(name) == [info.st_size, info.st_mtime_ns]

    def has(self, name: str, key: str) -> bool:
        return self.page_keys.get(name) == key and self.intact(name)

    def same_bytes(self, name: str, data: bytes) -> bool:
        if not self.intact(name):
            return False
        try:
            return (self.out / name).read_bytes() == data
        except OSError:
            return False

    def keep(self, staged: Path, name: str) -> None:
        """Keep a published file in the new site: leave it where it is when the build updates
        the published folder in place, else put it into the staging folder."""
        if not self.in_place:
            self.link_into(staged, name)

    def link_into(self, staged: Path, name: str) -> None:
        """Put the published file into the new site: a hard link (both are on one file system),
        or a copy keeping its mtime where links are not allowed."""
        source, target = f"{self.out}/{name}", f"{staged}/{name}"
        if not os.path.isdir(os.path.dirname(target)):
            os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.link(source, target)
        except FileNotFoundError as exc:        # removed from the published site meanwhile
            raise output.WriteFailed(f"{name} went missing from the published site; build again") from exc
        except OSError:                         # a file system without hard links
            shutil.copy2(source, target)


def published(root: Path, out: Path) -> Published | None:
    manifest = cache.load_manifest(root, out)
    if manifest is None or not out.is_dir():
        return None
    return Published(out, manifest.page_keys, manifest.tree, manifest.search_current)


def template_digests(env, names: list[str]) -> dict[str, str]:
    """For each template (in Jinja environment ``env``), a hash of its source and of every
    template it reaches."""
    sources = {name: env.loader.get_source(env, name)[0] for name in names}
    reaches = {name: _referenced(source) for name, source in sources.items()}
    digests = {}
    for name in names:
        seen, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            # A template named at run time (None) could be any of them.
            todo.extend(sources if None in reaches.get(current, ()) else reaches.get(current, ()))
        digest = hashlib.sha256()
        for reached in sorted(seen):
            digest.update(f"{reached}\0{sources.get(reached, '')}\0".encode())
        digests[name] = digest.hexdigest()
    return digests


@functools.lru_cache(maxsize=256)
def _referenced(source: str) -> frozenset[str | None]:
    """Templates a template's source names (None: one chosen at run time).  Memoised by
    source: ``serve`` asks on every rebuild, and parsing costs milliseconds."""
    import jinja2     # here, not at the top: a build with nothing to do never needs Jinja
    from jinja2 import meta
    try:
        return frozenset(meta.find_referenced_templates(jinja2.Environment().parse(source)))
    except jinja2.TemplateSyntaxError:
        return frozenset({None})


def site_digest(*parts) -> str:
    """One hash of the site-wide inputs every page reads (JSON-able values)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def render_key(site_wide: str, template: str, page_shown: str, page_digest: str) -> str:
    return hashlib.sha256(f"{site_wide}\0{template}\0{page_shown}\0{page_digest}".encode()).hexdigest()
