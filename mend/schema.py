"""Typed schemas for YAML mappings (front matter and site configuration).

A schema is a dict of ``Field``s.  ``validate`` checks a parsed mapping against
it and reports every missing, mistyped or unknown key at the line where it is,
with a "did you mean" hint for typos.  YAML is only ever parsed with the safe
loader (the C one when PyYAML has it: about ten times faster).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from .diagnostics import Report, did_you_mean

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(Exception):
    """A YAML syntax error, with the 1-based position of the problem."""

    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.line, self.col = line, col


def _refuse_aliases(text: str) -> None:
    """YAML aliases (``*name``) are refused: each one copies what its anchor names, so ten
    levels of them ("a billion laughs") expand to gigabytes.  Content never needs one.  The
    tokens are scanned without building anything; text without a '*' cannot hold an alias."""
    if "*" not in text:
        return
    for token in yaml.scan(text, Loader=SafeLoader):
        if isinstance(token, yaml.AliasToken):
            mark = token.start_mark
            raise YamlProblem(f"YAML aliases ('*{token.value}') are not allowed; write the value out",
                              mark.line + 1, mark.column + 1)


def compose_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse YAML safely into its node tree (which knows every value's line) and its data."""
    loader = SafeLoader(text)
    try:
        _refuse_aliases(text)
        node = loader.get_single_node()
        if node is None:
            return None, None
        try:
            return node, loader.construct_document(node)
        except ValueError as exc:       # a date that does not exist, such as 2026-02-30
            raise _impossible_date(node, exc) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlProblem(exc.problem or str(exc), line, col) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        raise YamlProblem(str(exc).splitlines()[0], 1, 1) from None
    finally:
        loader.dispose()


def _impossible_date(root: yaml.Node, exc: ValueError) -> YamlProblem:
    """The problem for the first timestamp in the tree that is not a real date."""
    pending, seen = [root], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag.endswith(":timestamp") and not _real_date(node.value):
                mark = node.start_mark
                return YamlProblem(f"'{node.value}' is not a real date ({exc})", mark.line + 1, mark.column + 1)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(part for pair in reversed(node.value) for part in reversed(pair))
        else:
            pending.extend(reversed(node.value))
    return YamlProblem(str(exc), 1, 1)


def _real_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text[:10])
        return True
    except ValueError:
        return False


def load_yaml(text: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Parse YAML safely; return the data and the 1-based position of each top-level key,
    under the key as the data has it (``1:`` is the number 1).  The items of a top-level list
    are at ``(key, index)``, and the keys of such an item that is a mapping at
    ``(key, index, item_key)``."""
    node, data = compose_yaml(text)
    positions: dict = {}
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        keys = list(data) if len(data) == len(node.value) else [k.value for k, _ in node.value]
        for key, (key_node, value_node) in zip(keys, node.value):
            positions[key] = _mark(key_node)
            if isinstance(value_node, yaml.SequenceNode):
                _item_positions(key, value_node, positions)
    return data, positions


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _item_positions(key, sequence: yaml.SequenceNode, positions: dict) -> None:
    for index, item in enumerate(sequence.value):
        positions[(key, index)] = _mark(item)
        if isinstance(item, yaml.MappingNode):
            for item_key, _ in item.value:
                positions[(key, index, str(item_key.value))] = _mark(item_key)


# Review dates are computed from these years ahead (9999-12-01 plus a year is no date at all).
YEARS = range(1900, 3000)


def _is_date(value) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime) and value.year in YEARS


def _is_str_list(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v.strip() for v in value)


# Each type: a check and how to name it in a message.
TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty string"),
    "text": (lambda v: isinstance(v, str), "a string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "date": (_is_date, f"a date written as YYYY-MM-DD, in the years {YEARS.start} to {YEARS.stop - 1}"),
    "str_list": (_is_str_list, "a non-empty list of strings"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "mapping": (lambda v: isinstance(v, dict), "a mapping"),
    "any": (lambda v: True, "anything"),
}


@dataclass(frozen=True)
class Field:
    type: str
    required: bool = False
    doc: str = ""
    choices: tuple = ()


def validate(data: dict, schema: dict[str, Field], positions, path, report: Report, *,
             line_offset: int = 0, what: str = "front matter") -> bool:
    """Check ``data`` against ``schema``; report every problem.  True when clean."""
    before = len(report.errors())

    def at(key):
        line, col = positions.get(key, (1 - line_offset, 1))
        return line + line_offset, col

    for key in data:
        if key not in schema:
            line, col = at(key)
            report.error(path, line, col, "unknown-field", f"unknown {what} field '{key}'",
                         did_you_mean(key, schema) or f"allowed fields: {', '.join(sorted(schema))}")
    for key, spec in schema.items():
        if key not in data or data[key] is None:
            if spec.required:
                report.error(path, 1, 1, "missing-field",
                             f"missing required {what} field '{key}'",
                             f"add '{key}:' ({TYPES[spec.type][1]}){': ' + spec.doc if spec.doc else ''}")
            continue
        check, described = TYPES[spec.type]
        value = data[key]
        line, col = at(key)
        if not check(value):
            report.error(path, line, col, "field-type",
                         f"'{key}' must be {described}, not {_describe(value)}",
                         spec.doc)
        elif spec.choices and value not in spec.choices:
            report.error(path, line, col, "field-value",
                         f"'{key}' must be one of {', '.join(map(str, spec.choices))}, not '{value}'",
                         did_you_mean(value, spec.choices))
    return len(report.errors()) == before


def _describe(value) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dt.datetime):
        return "a date and time"
    if isinstance(value, dt.date):
        return f"the date {value}"
    if isinstance(value, str):
        return f"the string '{value[:40]}'"
    return f"a {type(value).__name__.replace('dict', 'mapping')}"
