"""Diagnostics: every problem the build finds, reported as ``path:line:col``.

The build never stops at the first problem.  Each stage adds what it finds to a
``Report`` and the command line prints them all at the end, sorted by file and
position, the way compilers (and Hugo) do, so an editor can jump to each one.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: str
    code: str
    message: str
    hint: str = ""

    def format(self) -> str:
        """One line per problem (plus an indented hint), whatever characters the content had."""
        text = (f"{_printable(self.path)}:{self.line}:{self.col}: {self.severity}[{self.code}]: "
                f"{_printable(self.message)}")
        if self.hint:
            hint = "\n".join(_printable(line) for line in self.hint.split("\n"))
            text += f"\n    hint: {hint}"
        return text


@dataclass
class Report:
    """Collects diagnostics from every stage of one build, each once: the summary then
    counts exactly the lines printed."""

    items: list[Diagnostic] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)    # of internal errors, for --debug
    _seen: set = field(default_factory=set, repr=False)

    def error(self, path, line, col, code, message, hint=""):
        self.add(Diagnostic(str(path), max(line, 1), max(col, 1), ERROR, code, message, hint))

    def warning(self, path, line, col, code, message, hint=""):
        self.add(Diagnostic(str(path), max(line, 1), max(col, 1), WARNING, code, message, hint))

    def add(self, diagnostic: Diagnostic) -> None:
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            self.items.append(diagnostic)

    def extend(self, diagnostics) -> None:
        for diagnostic in diagnostics:
            self.add(diagnostic)

    def internal(self, path, exc: BaseException, trace: str = "") -> None:
        """A failure of Mend itself, not of the input: said plainly, with the way to report it."""
        self.tracebacks.append(trace or "".join(traceback.format_exception(exc)))
        self.error(path, 1, 1, "internal", f"Mend failed while processing this file: {type(exc).__name__}: {exc}",
                   "this is a bug in Mend, not in your file: please report it, with the output of "
                   "'python build.py --debug'; the previous site is unchanged")

    @contextlib.contextmanager
    def guard(self, path):
        """Turn any unexpected exception inside the block into an internal error at ``path``."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the last resort: a diagnostic, never a traceback
            self.internal(path, exc)

    def errors(self, strict: bool = False) -> list[Diagnostic]:
        """What fails the build: errors, and warnings too under ``--strict``."""
        return [d for d in self.items if d.severity == ERROR or strict]

    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == WARNING]

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors(strict))

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items)

    def format(self, strict: bool = False) -> str:
        lines = []
        for d in self.sorted():
            if strict and d.severity == WARNING:
                d = Diagnostic(d.path, d.line, d.col, ERROR, d.code, d.message, d.hint)
            lines.append(d.format())
        return "\n".join(lines)


# C1 controls too: NEL (\x85) ends a line for str.splitlines and some editors (found by fuzzing).
# Lone surrogates are the bytes of a file name that is not UTF-8 (Python's surrogateescape).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(char: str) -> str:
    if "\udc80" <= char <= "\udcff":          # a byte of a non-UTF-8 file name, shown as \xNN
        return f"\\x{ord(char) - 0xdc00:02x}"
    return repr(char)[1:-1]


def _printable(text: str) -> str:
    """Escape control characters (newlines, terminal escape sequences) and undecodable bytes,
    in file names too, so a diagnostic can never break or forge the one-line format or
    reach the terminal as a command."""
    return _CONTROL_RE.sub(lambda m: _escape(m.group()), text)


def shown_path(path, root) -> str:
    """A path as diagnostics print it: relative to the project when it is inside it."""
    path, root = Path(path), Path(root)
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def did_you_mean(word: str, options) -> str:
    """A hint naming the closest valid option, or "" when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def position_of(text: str, needle: str, first_line: int = 1) -> tuple[int, int]:
    """Line and column of ``needle`` in ``text`` (which starts at ``first_line``).

    Python-Markdown does not track source positions, so diagnostics about links
    and the like are placed by finding the offending text in the source.
    Falls back to the first non-blank line when the needle cannot be found
    (Python-Markdown expands tabs, for one, so its text can differ from the source).
    """
    index = text.find(needle) if needle else -1
    if index < 0:
        blank_lines = len(text) - len(text.lstrip("\n"))
        return first_line + blank_lines, 1
    before = text[:index]
    line = first_line + before.count("\n")
    col = index - (before.rfind("\n") + 1) + 1
    return line, col


class Locator:
    """Positions of problems in one text, each occurrence in turn: asked for the same needle
    again, it answers the next place that needle appears (a repeated problem is reported at
    each of its places, not every time at the first).  Each needle's search moves forward
    only, so placing many problems costs about one pass per distinct needle."""

    def __init__(self, text: str, first_line: int = 1):
        self.text, self.first_line = text, first_line
        self.line_starts: list[int] | None = None
        self.next_from: dict[str, int] = {}

    def __call__(self, needle: str) -> tuple[int, int]:
        start = self.next_from.get(needle, 0)
        index = self.text.find(needle, start) if needle else -1
        if index < 0 and start:           # more problems than places: stay at the last one
            index = self.text.rfind(needle)
        if index < 0:
            return position_of(self.text, "", self.first_line)
        self.next_from[needle] = index + 1
        if self.line_starts is None:
            self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self.line_starts, index) - 1
        return self.first_line + line, index - self.line_starts[line] + 1


class ChangedDuringBuild(Exception):
    """A content file changed between loading it and reading it again (its shown path)."""
