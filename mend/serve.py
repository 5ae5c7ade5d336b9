"""``python build.py serve``: build, serve ``site/`` with live reload, rebuild on change.

The server is livereload's (a small tornado app) around our own WSGI app, so we
decide what is served: files under the output folder only, and while the last
rebuild failed an error page listing its diagnostics instead of HTML pages
(as ``hugo server`` does).  The last good site stays on disk; the next good
build brings the pages back and the browser reloads by itself.
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
import posixpath
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote

from livereload import Server
from livereload.handlers import LiveReloadHandler
from tornado import ioloop

from .pipeline import BuildResult, Project, SearchRefresh, Session, build

POLL_MS = 150     # how often the watcher looks for changes
INDEX_POLL_S = 0.05   # how often a running search index is checked
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class DevSite:
    """The last build's outcome, and a WSGI app that serves it."""

    def __init__(self, project: Project, strict: bool = False, log=print):
        self.project = project
        self.strict = strict
        self.log = log
        self.failure: str | None = None
        self.lock = threading.Lock()
        self.session = Session(long_running=True)      # parsed pages, kept between rebuilds
        self.indexing: SearchRefresh | None = None     # the search index being brought up to date

    def rebuild(self, *_changed) -> BuildResult:
        """Build (only what changed), publish the pages at once, and bring the search
        index up to date afterwards in the background: indexing every page takes seconds."""
        with self.lock:
            result = build(self.project, strict=self.strict, session=self.session, defer_search=True)
        if result.search_pending:
            self.index_later()
        failed = result.report.failed(self.strict)
        self.failure = result.report.format(self.strict) if failed else None
        if result.report.items:
            self.log(result.report.format(self.strict))
        self.log(result.summary(self.strict))
        return result

    def index_later(self) -> None:
        """Start Pagefind on the published site and poll it from the event loop: a thread
        would be alive when the next rebuild forks its workers."""
        if self.indexing is not None:
            self.indexing.cancel()
        self.indexing = SearchRefresh(self.project)
        if ioloop.IOLoop.current(instance=False) is not None:
            ioloop.IOLoop.current().call_later(INDEX_POLL_S, self._poll_index, self.indexing)

    def _poll_index(self, refresh: SearchRefresh) -> None:
        if refresh is not self.indexing:        # superseded by a newer rebuild's
            return
        if not refresh.poll():
            ioloop.IOLoop.current().call_later(INDEX_POLL_S, self._poll_index, refresh)
            return
        self.indexing = None
        if refresh.finish():
            self.log("search index updated")

    def __call__(self, environ, start_response):
        path = self.resolve(environ.get("PATH_INFO", "/"))
        is_page = path is None or path.suffix == ".html"
        if self.failure is not None and is_page:
            return self._respond(start_response, "500 Build Failed", "text/html; charset=utf-8",
                                 error_page(self.failure).encode("utf-8"))
        if path is None:
            not_found = self.project.out / "404.html"
            body = not_found.read_bytes() if not_found.is_file() else b"Not found"
            return self._respond(start_response, "404 Not Found", "text/html; charset=utf-8", body)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/xml"):
            kind += "; charset=utf-8"
        return self._respond(start_response, "200 OK", kind, path.read_bytes())

    def resolve(self, url_path: str) -> Path | None:
        """The file a URL path names, or None.  Never anything outside the output folder."""
        decoded = unquote(url_path)
        if "\x00" in decoded or "\\" in decoded:
            return None
        normal = posixpath.normpath("/" + decoded.lstrip("/"))
        root = self.project.out.resolve()
        candidate = (root / normal.lstrip("/")).resolve()
        if not candidate.is_relative_to(root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    @staticmethod
    def _respond(start_response, status, kind, body: bytes):
        start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-store")])
        return [body]


def error_page(diagnostics: str) -> str:
    """Shown in the browser instead of pages while the build fails."""
    items = "".join(f"<li><pre>{html.escape(block)}</pre></li>" for block in _blocks(diagnostics))
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Build failed</title>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            "<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem;max-width:60rem}"
            "h1{color:#a00}pre{white-space:pre-wrap;margin:0}li{margin:.75rem 0}</style></head>"
            "<body><h1>The build failed</h1><p>Fix these problems and save: this page reloads by itself."
            f"</p><ol>{items}</ol></body></html>")


def _blocks(diagnostics: str) -> list[str]:
    blocks: list[str] = []
    for line in diagnostics.splitlines():
        if line.startswith("    ") and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


def start_server(dev: DevSite, host: str, port: int) -> Server:
    """Set up livereload's server on the current IOLoop (not started)."""
    server = Server(dev)
    for folder in (dev.project.content, dev.project.templates):
        server.watch(str(folder), dev.rebuild)
    # livereload ignores changes for 3 s after each reload, so quick successive
    # saves would not show; we want every save to reload.
    LiveReloadHandler.DEFAULT_RELOAD_TIME = 0
    LiveReloadHandler.watcher = server.watcher
    LiveReloadHandler._last_reload_time = time.time()
    server.application(port, host, debug=False)
    ioloop.PeriodicCallback(LiveReloadHandler.poll_tasks, POLL_MS).start()
    return server


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, strict: bool = False) -> int:
    dev = DevSite(project, strict, log=lambda text: print(text, file=sys.stderr))
    dev.rebuild()
    if host not in LOCAL_HOSTS:
        print(f"warning: binding to {host}: other machines on the network can see this preview",
              file=sys.stderr)
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        start_server(dev, host, port)
    except OSError as exc:
        print(f"build.py serve: error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"Serving {project.out} at http://{host}:{port}/ (Ctrl+C to stop)", file=sys.stderr)
    try:
        ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0
