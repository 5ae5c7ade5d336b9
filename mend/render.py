"""Templates: Jinja2 with autoescaping and StrictUndefined, errors as diagnostics.

Every template is compiled up front so a syntax error in one that no page uses
yet is still reported.  A template that fails while rendering (an undefined
variable, say) is reported at its own file and line, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import traceback
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import minify
from .diagnostics import Report, shown_path

STATIC_DIR = "static"


@dataclass(frozen=True)
class Asset:
    source: Path
    url: str          # hashed site path: "/static/style.3f2a9c1b.css"
    data: bytes


class TemplateFailure(Exception):
    """A template could not render; already reported."""


def make_environment(templates_dir: Path, report: Report, display_root: Path,
                     bytecode_dir: Path | None = None) -> jinja2.Environment | None:
    """``bytecode_dir`` keeps compiled templates between builds (Jinja checks each
    template's source is unchanged before it uses its bytecode)."""
    bytecode_cache = None
    if bytecode_dir is not None:
        bytecode_dir.mkdir(parents=True, exist_ok=True)
        bytecode_cache = jinja2.FileSystemBytecodeCache(str(bytecode_dir))
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
    ok = True
    for name in env.list_templates(filter_func=is_template):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            ok = False
            shown = _shown(templates_dir / name, display_root)
            report.error(shown, exc.lineno or 1, 1, "template-syntax", exc.message or "template syntax error")
    return env if ok else None


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
