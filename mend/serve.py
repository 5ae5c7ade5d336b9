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
from urllib.parse import unquote, urlsplit

from livereload import Server
from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from tornado import ioloop, web

from .pipeline import BuildResult, Project, SearchRefresh, Session, build

POLL_MS = 150     # how often the watcher looks for changes
INDEX_POLL_S = 0.05   # how often a running search index is checked
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
READ_METHODS = ("GET", "HEAD")
MAX_PATH = 1024   # longer URL paths name no file of the site: 404, never an OSError
HEAD_END = b"</head>"
# livereload's client, from this server (script-src 'self'); it connects back to /livereload.
RELOAD_SCRIPT = '<script src="/livereload.js?port={port}" defer></script>'


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
        self.hosts: set[str] = set()                       # Host headers answered (set by start_server)

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
        refused = self._refusal(environ)
        if refused is not None:
            return self._respond(start_response, *refused, head=False)
        head = environ.get("REQUEST_METHOD") == "HEAD"
        url_path = environ.get("PATH_INFO", "/")
        path = self.resolve(url_path)
        if path is not None and path.name == "index.html" and not url_path.endswith("/") \
                and not url_path.endswith("index.html"):
            return self._redirect(start_response, environ, url_path + "/")
        is_page = path is None or path.suffix == ".html"
        if self.failure is not None and is_page:
            return self._respond(start_response, "500 Build Failed", "text/html; charset=utf-8",
                                 error_page(self.failure).encode("utf-8"), head)
        if path is None:
            not_found = self.project.out / "404.html"
            body = not_found.read_bytes() if not_found.is_file() else b"Not found"
            return self._respond(start_response, "404 Not Found", "text/html; charset=utf-8", body, head)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/xml"):
            kind += "; charset=utf-8"
        return self._respond(start_response, "200 OK", kind, path.read_bytes(), head)

    def _refusal(self, environ) -> tuple[str, str, bytes] | None:
        """Why a request is not answered: a Host that is not this server's (a page the editor
        visits could otherwise read drafts by DNS rebinding), or a method other than GET and HEAD."""
        if self.hosts and environ.get("HTTP_HOST", "").lower() not in self.hosts:
            return "421 Misdirected Request", "text/plain; charset=utf-8", b"This preview answers only its own host."
        if environ.get("REQUEST_METHOD") not in READ_METHODS:
            return "405 Method Not Allowed", "text/plain; charset=utf-8", b"Only GET and HEAD."
        return None

    def resolve(self, url_path: str) -> Path | None:
        """The file a URL path names, or None.  Never anything outside the output folder."""
        decoded = unquote(url_path)
        if "\x00" in decoded or "\\" in decoded or len(decoded) > MAX_PATH:
            return None
        normal = posixpath.normpath("/" + decoded.lstrip("/"))
        root = self.project.out.resolve()
        try:
            candidate = (root / normal.lstrip("/")).resolve()
            if not candidate.is_relative_to(root):
                return None
            if candidate.is_dir():
                candidate = candidate / "index.html"
            return candidate if candidate.is_file() else None
        except (OSError, ValueError):        # a name too long for the file system, say
            return None

    @staticmethod
    def _redirect(start_response, environ, location: str):
        """A folder's URL without its slash: relative links on the page need the slash."""
        query = environ.get("QUERY_STRING")
        start_response("301 Moved Permanently", [("Location", location + ("?" + query if query else "")),
                                                 ("Content-Length", "0"), ("Cache-Control", "no-store")])
        return [b""]

    @staticmethod
    def _respond(start_response, status, kind, body: bytes, head: bool = False):
        """The response; to HEAD, the same headers and no body."""
        start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-store"), ("Allow", ", ".join(READ_METHODS))])
        return [b""] if head else [body]


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
    """Set up the preview on the current IOLoop (not started): livereload's watcher and its
    WebSocket, its client script served as a file of this origin, and every other request
    answered by ``DevSite``.  Not livereload's own application: that injects an inline script,
    which each page's Content-Security-Policy (script-src 'self') refuses, so pages never
    reloaded.  Pages here get ``<script src="/livereload.js">`` instead, allowed by 'self'
    (and its WebSocket by connect-src 'self'); the built site never contains it."""
    server = Server(dev)
    dev.hosts = allowed_hosts(host, port)
    # livereload takes WebSocket connections from any origin: a page the editor visits could
    # then drive the preview; only this server's own pages may connect.
    LiveReloadHandler.check_origin = lambda _self, origin: urlsplit(origin).netloc.lower() in dev.hosts
    for folder in (dev.project.content, dev.project.templates):
        server.watch(str(folder), dev.rebuild)
    # livereload ignores changes for 3 s after each reload, so quick successive
    # saves would not show; we want every save to reload.
    LiveReloadHandler.DEFAULT_RELOAD_TIME = 0
    LiveReloadHandler.watcher = server.watcher
    LiveReloadHandler._last_reload_time = time.time()
    script = RELOAD_SCRIPT.format(port=port).encode()
    app = web.Application([(r"/livereload", LiveReloadHandler), (r"/livereload\.js", LiveReloadJSHandler),
                           (r".*", _DevHandler, {"dev": dev, "script": script})])
    app.listen(port, address=host)
    ioloop.PeriodicCallback(LiveReloadHandler.poll_tasks, POLL_MS).start()
    return server


class _DevHandler(web.RequestHandler):
    """Every request that is not livereload's, answered by ``DevSite``, with the reload script
    added to pages.  HEAD gets GET's headers and no body."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")

    def initialize(self, dev: DevSite, script: bytes):
        self.dev, self.script = dev, script

    def _answer(self):
        request = self.request
        method = "GET" if request.method == "HEAD" else request.method    # the same answer, then no body
        environ = {"REQUEST_METHOD": method, "PATH_INFO": request.path, "QUERY_STRING": request.query,
                   "HTTP_HOST": request.headers.get("Host", "")}
        answer: dict = {}
        body = b"".join(self.dev(environ, lambda status, headers: answer.update(status=status, headers=headers)))
        code, reason = answer["status"].split(" ", 1)
        self.set_status(int(code), reason)
        for name, value in answer["headers"]:
            if name != "Content-Length":
                self.set_header(name, value)
        if "html" in self._headers.get("Content-Type", "") and HEAD_END in body:
            body = body.replace(HEAD_END, self.script + HEAD_END, 1)
        self.set_header("Content-Length", str(len(body)))
        if request.method != "HEAD":
            self.write(body)

    get = head = post = put = delete = options = patch = _answer


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host headers this preview answers: the loopback names and the bound host, with the port."""
    names = {"localhost", "127.0.0.1", "[::1]", f"[{host}]" if ":" in host else host}
    return {f"{name}:{port}" for name in names} | ({name for name in names} if port == 80 else set())


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
