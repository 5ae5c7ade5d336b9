"""Everything a build remembers between runs, in one SQLite file: ``.mend-cache/store.sqlite``.

One table of ``(kind, key) -> value`` rows.  Every value is keyed by a hash of what it
was made from, so a row is either right or unused; nothing is ever invalidated by hand.
Kinds in use: ``manifest`` (the last published build of an output folder), ``body``
(a page's Markdown rendered to HTML), ``output`` (what an output's last render reported:
anchors, diagnostics, the phone numbers it shows), ``editorial`` (a page's editorial
findings), ``sources`` and ``references`` (the checked and the Pandoc-formatted
bibliography), ``pdf`` (worksheet PDFs), ``jinja`` (compiled templates) and
``libraries`` (the versions of the distributions Mend requires).

SQLite in WAL mode gives atomic writes and lets a ``serve`` session, a command-line
build and forked workers read it at once.  Forked workers never write: they send their
results back and the parent stores them.  A store that cannot be opened (no permission,
a file where the folder should be, a damaged database) is reported once as a warning
and replaced by an in-memory one: the build still runs, only without what it remembered.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path

STORE_DIR = ".mend-cache"
STORE_FILE = "store.sqlite"
KEEP_BUILDS = 5      # a row unused by this many builds in a row is deleted
BUSY_MS = 10_000     # how long to wait for another process's write


class Store:
    """A key-value store of JSON values (or bytes) by kind and key."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None, problem: str = ""):
        self.db = connection
        self.path = path
        self.problem = problem      # why the on-disk store could not be used ("" when it is)
        self._generation: int | None = None
        self.touched: dict[str, set[str]] = {}
        self.marked: dict[str, set[str]] = {}     # rows already marked used by this generation
        self.pruned = False                       # rows already pruned for this generation
        self.pid = os.getpid()

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path) -> Store:
        path = root / STORE_DIR / STORE_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            _create(connection)
            return cls(connection, path)
        except (OSError, sqlite3.Error) as exc:
            return cls.in_memory(f"{path}: {getattr(exc, 'strerror', None) or exc}")

    @classmethod
    def in_memory(cls, problem: str = "") -> Store:
        connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        _create(connection)
        return cls(connection, None, problem)

    @property
    def generation(self) -> int:
        """This build's number, taken when it first writes: a build that only replays the last
        one's report is not counted, or a few no-change builds in a row would age every row out."""
        if self._generation is None:
            self._generation = self._next_generation()
        return self._generation

    def _next_generation(self) -> int:
        try:
            row = self.db.execute("SELECT value FROM entries WHERE kind='meta' AND key='generation'").fetchone()
            generation = (json.loads(row[0]) if row else 0) + 1
            self.db.execute("INSERT OR REPLACE INTO entries VALUES ('meta', 'generation', ?, ?)",
                            (json.dumps(generation).encode(), generation))
            return generation
        except sqlite3.Error:
            return 1

    # -- reading and writing -------------------------------------------------------------------

    def get(self, kind: str, key: str):
        """The JSON value stored, or None."""
        data = self.get_bytes(kind, key)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None

    def get_bytes(self, kind: str, key: str) -> bytes | None:
        self._check_process()
        try:
            row = self.db.execute("SELECT value FROM entries WHERE kind=? AND key=?", (kind, key)).fetchone()
        except sqlite3.Error:
            return None
        if row is not None:
            self.touched.setdefault(kind, set()).add(key)
        return row[0] if row else None

    def put(self, kind: str, key: str, value) -> None:
        self.put_bytes(kind, key, encode(value))

    def put_bytes(self, kind: str, key: str, data: bytes) -> None:
        self._check_process()
        self.touched.setdefault(kind, set()).add(key)
        self._write(kind, key, data)

    def put_many(self, kind: str, items) -> None:
        """Several values in one transaction (a commit per row costs a disk sync)."""
        self.put_many_bytes(kind, [(key, encode(value)) for key, value in items])

    def put_many_bytes(self, kind: str, items) -> None:
        """``put_many`` of values already encoded (by ``encode``, in a worker, say)."""
        self._check_process()
        rows = [(kind, key, data, self.generation) for key, data in items]
        self.touched.setdefault(kind, set()).update(row[1] for row in rows)
        with contextlib.suppress(sqlite3.Error), self._transaction():
            self.db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", rows)

    def mark_used(self, kind: str, keys) -> None:
        """Rows this build used without reading them (a long-running process had them in memory)."""
        self.touched.setdefault(kind, set()).update(keys)

    def delete(self, kind: str, key: str) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("DELETE FROM entries WHERE kind=? AND key=?", (kind, key))

    def _write(self, kind: str, key: str, data: bytes) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", (kind, key, data, self.generation))

    @contextlib.contextmanager
    def _transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def finish(self, kinds: tuple[str, ...] = ("body", "output", "editorial", "pdf", "jinja",
                                               "references", "sources"), *, replayed: bool = False) -> None:
        """Mark the rows this build read as used, and drop rows of ``kinds`` that no build
        used for a while (so the store does not grow with every edit).  A build that replayed
        the last one used nothing new and counts for nothing."""
        if replayed and self._generation is None:
            self.touched = {}
            return
        with contextlib.suppress(sqlite3.Error), self._transaction():
            for kind, keys in self.touched.items():      # serve's rebuilds share a generation
                marked = self.marked.setdefault(kind, set())
                self.db.executemany("UPDATE entries SET used=? WHERE kind=? AND key=?",
                                    [(self.generation, kind, key) for key in keys - marked])
                marked |= keys
            if not self.pruned:     # once per generation: none of its rows can age within it
                self.db.executemany("DELETE FROM entries WHERE kind=? AND used<?",
                                    [(kind, self.generation - KEEP_BUILDS) for kind in kinds])
                self.pruned = True
        self.touched = {}

    def _check_process(self) -> None:
        """A SQLite connection must not be used across fork(): workers send results back instead."""
        if os.getpid() != self.pid:
            raise RuntimeError("the store was used in a forked worker; send results to the parent instead")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


def encode(value) -> bytes:
    """A JSON value as the store keeps it."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()


def _create(connection: sqlite3.Connection) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT NOT NULL, key TEXT NOT NULL, "
                       "value BLOB NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (kind, key))")
    connection.execute("SELECT count(*) FROM entries WHERE kind='meta'").fetchone()   # a damaged file fails here
