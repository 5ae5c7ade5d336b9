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


# Values a YAML document may expand to once its aliases are followed.  An alias (``*name``)
# copies what its anchor names, so ten levels of them ("a billion laughs") would expand to
# gigabytes; a bibliography of thousands of entries stays far below this.
MAX_EXPANDED_VALUES = 200_000


def _expanded_size(root: yaml.Node) -> int | None:
    """How many values the tree holds with every alias followed, counting each shared node
    once per use but computing it once; None for an alias that contains itself."""
    sizes: dict[int, int] = {}
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        children = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) \
            else node.value if isinstance(node, yaml.SequenceNode) else []
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in children), MAX_EXPANDED_VALUES + 1)
            continue
        if id(node) in open_nodes:
            return None
        open_nodes.add(id(node))
        pending.append((node, True))
        pending.extend((child, False) for child in children if id(child) not in sizes)
        if any(id(child) in open_nodes for child in children):
            return None
    return sizes[id(root)]


def _bound_aliases(text: str, root: yaml.Node) -> None:
    """Refuse a document whose aliases expand past ``MAX_EXPANDED_VALUES`` (or into
    themselves), at the first alias.  Text without a '*' cannot hold an alias."""
    if "*" not in text:
        return
    size = _expanded_size(root)
    if size is not None and size <= MAX_EXPANDED_VALUES:
        return
    alias = next((t for t in yaml.scan(text, Loader=SafeLoader) if isinstance(t, yaml.AliasToken)), None)
    line, col = (alias.start_mark.line + 1, alias.start_mark.column + 1) if alias else (1, 1)
    what = "refer to themselves" if size is None else f"expand to more than {MAX_EXPANDED_VALUES:,} values"
    raise YamlProblem(f"YAML aliases ('*name') here {what}; write the values out", line, col)


def compose_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse YAML safely into its node tree (which knows every value's line) and its data."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _bound_aliases(text, node)
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
    "date": (_is_date, "a date written as YYYY-MM-DD"),
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
        return f"the date {value} (only the years {YEARS.start} to {YEARS.stop - 1} are allowed)"
    if isinstance(value, str):
        return f"the string '{value[:40]}'"
    return f"a {type(value).__name__.replace('dict', 'mapping')}"
