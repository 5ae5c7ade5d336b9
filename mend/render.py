"""Templates: Jinja2 with autoescaping and StrictUndefined, errors as diagnostics.

Every template is compiled up front so a syntax error in one that no page uses
yet is still reported (and so is a template that is not UTF-8).  A template that
fails while rendering (an undefined variable, say) is reported at its own file and
line, never as a traceback.

The helpers templates call are pure functions of the template's own variables
(``mend.contexts``): ``url(path)`` links relative to ``page_url`` (or from the base
path when ``absolute_links``), ``asset(name)`` looks in ``assets``, ``has_page(url)``
in ``site_pages``; ``site.absolute(path)`` is a method of the configuration.  An output's HTML therefore
depends only on its template closure (``closures``) and its context.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import contextlib

import jinja2
from jinja2 import meta as jinja_meta

from . import minify, structured_data
from .diagnostics import Report, shown_path
from .files import byte_position
from .urls import relative_url

if TYPE_CHECKING:
    from .store import Store

STATIC_DIR = "static"


@dataclass(frozen=True)
class Asset:
    source: Path
    url: str          # hashed site path: "/static/style.3f2a9c1b.css"
    data: bytes


class TemplateFailure(Exception):
    """A template could not render; already reported."""


def make_environment(templates_dir: Path, report: Report, display_root: Path,
                     bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment | None:
    """``bytecode_cache`` keeps compiled templates between builds (Jinja checks each
    template's source is unchanged before it uses its bytecode)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        bytecode_cache=bytecode_cache,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    env.filters["json_ld"] = json_ld
    env.globals.update(url=_url, asset=_asset, has_page=_has_page, listing_json_ld=_listing_json_ld)
    ok = True
    for name in env.list_templates(filter_func=is_template):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            ok = False
            shown = _shown(templates_dir / name, display_root)
            report.error(shown, exc.lineno or 1, 1, "template-syntax", exc.message or "template syntax error")
        except UnicodeDecodeError as exc:
            ok = False
            data = (templates_dir / name).read_bytes()
            line, col = byte_position(data, exc.start)
            report.error(_shown(templates_dir / name, display_root), line, col, "encoding",
                         "the template is not valid UTF-8", "save it as UTF-8 in your editor")
    return env if ok else None


# --- helpers for templates: pure functions of the template's variables ---------------------

@jinja2.pass_context
def _url(context, target: str) -> str:
    if context["absolute_links"]:
        return context["site"].base_path + target.lstrip("/")
    return relative_url(context["page_url"], target)


@jinja2.pass_context
def _asset(context, name: str) -> str:
    assets = context["assets"]
    if name not in assets:
        raise jinja2.UndefinedError(f"no static asset '{name}' in templates/static/")
    return _url(context, assets[name])


@jinja2.pass_context
def _has_page(context, url: str) -> bool:
    """Whether the site has a stand-alone page or section list at ``url``."""
    return url in context["site_pages"]


@jinja2.pass_context
def _listing_json_ld(context, name: str, description: str, pages, kind: str = "CollectionPage") -> dict:
    return structured_data.listing_json_ld(name, description, context["page_url"], list(pages),
                                           context["site"], kind)


# --- template closures: what an output's HTML can depend on besides its context --------------

def closures(env: jinja2.Environment) -> dict[str, str]:
    """For each template, a hash of its source and of every template it reaches through
    extends, include or import (a name chosen at run time could be any template)."""
    names = env.list_templates(filter_func=is_template)
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
    try:
        return frozenset(jinja_meta.find_referenced_templates(jinja2.Environment().parse(source)))
    except jinja2.TemplateSyntaxError:
        return frozenset({None})


class JinjaBytecode(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in the store (Jinja checks the source is unchanged)."""

    def __init__(self, store: Store):
        self.store = store

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.store.get_bytes("jinja", bucket.key)
        if data is not None:
            with contextlib.suppress(Exception):     # a stale or damaged entry is just recompiled
                bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(RuntimeError):      # compiled in a worker: the parent compiles it too
            self.store.put_bytes("jinja", bucket.key, bucket.bytecode_to_string())


def is_template(name: str) -> bool:
    return not name.startswith(STATIC_DIR + "/") and name.endswith((".html", ".xml", ".txt"))


def render_template(env: jinja2.Environment, name: str, context: dict, report: Report,
                    templates_dir: Path, display_root: Path) -> str:
    """Render one template; on failure report where in the template it broke."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        report.error(_shown(templates_dir, display_root), 1, 1, "template-missing",
                     f"template '{exc.name}' does not exist", f"add {exc.name} to templates/")
    except jinja2.TemplateSyntaxError as exc:
        report.error(_shown(templates_dir / (exc.name or name), display_root), exc.lineno or 1, 1,
                     "template-syntax", exc.message or "template syntax error")
    except Exception as exc:  # noqa: BLE001 - any template failure becomes a diagnostic
        path, line = _template_frame(exc, templates_dir)
        code = "template-undefined" if isinstance(exc, jinja2.UndefinedError) else "template-error"
        report.error(_shown(path or templates_dir / name, display_root), line, 1, code,
                     f"{exc} (while rendering {context.get('page_source', name)})")
    raise TemplateFailure(name)


def _template_frame(exc: BaseException, templates_dir: Path) -> tuple[Path | None, int]:
    """The innermost traceback frame that is a line of one of our templates."""
    root = str(templates_dir.resolve())
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(root):
            return Path(frame.filename), frame.lineno or 1
    return None, 1


def _shown(path: Path, display_root: Path) -> str:
    return shown_path(path.resolve(), display_root.resolve())


def load_assets(templates_dir: Path) -> dict[str, Asset]:
    """Static files under templates/static/, each given a content-hashed URL."""
    assets = {}
    static = templates_dir / STATIC_DIR
    if not static.is_dir():
        return assets
    for path in sorted(p for p in static.rglob("*") if p.is_file()):
        name = path.relative_to(static).as_posix()
        data = minify.published_bytes(name, path.read_bytes())        # hook: issue 16 (budget)
        digest = hashlib.sha256(data).hexdigest()[:10]
        stem, dot, suffix = name.rpartition(".")
        hashed = f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"
        assets[name] = Asset(path, f"/{STATIC_DIR}/{hashed}", data)
    return assets


def long_date(value: dt.date) -> str:
    """22 November 2026: unambiguous in every English-speaking country."""
    return f"{value.day} {value:%B %Y}"


def json_ld(data) -> str:
    """JSON for a <script type="application/ld+json"> block, safe against '</script>'."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return jinja2.utils.markupsafe.Markup(text)
