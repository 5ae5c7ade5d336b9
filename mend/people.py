"""The people registry: ``content/people.yaml``, who writes and reviews the guide.

Front matter ``authors`` and ``reviewers`` may name an entry by its key (``mend-editorial-team``)
so that a page shows its name, role, credentials and conflicts of interest, and its JSON-LD
says Person or Organization correctly.  Any other string (``Mend editorial team``) is shown as
written, as before.  The registry holds only real people and groups with their real details:
a named, credentialed reviewer signs a page only once one exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .diagnostics import Report, did_you_mean, shown_path
from .schema import YamlProblem, compose_yaml

PEOPLE_FILE = "people.yaml"
FIELDS = {"name": True, "kind": True, "role": True, "credentials": True, "conflicts": True}
KINDS = ("person", "organisation")
KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    kind: str            # "person" or "organisation"
    role: str
    credentials: str
    conflicts: str

    def json_ld(self) -> dict:
        if self.kind == "organisation":
            return {"@type": "Organization", "name": self.name}
        return {"@type": "Person", "name": self.name, "jobTitle": self.role, "hasCredential": self.credentials}


@dataclass(frozen=True)
class People:
    entries: dict[str, Person]

    def get(self, name: str) -> Person | None:
        return self.entries.get(name)

    def shown(self, name: str) -> str:
        """How a front-matter name reads on the page."""
        person = self.entries.get(name)
        return person.name if person else name


NOBODY = People({})


def load(content_dir: Path, display_root: Path, report: Report) -> People:
    path = content_dir / PEOPLE_FILE
    if not path.is_file():
        return NOBODY
    shown = shown_path(path, display_root)
    try:
        root, data = compose_yaml(path.read_text("utf-8"))
    except YamlProblem as exc:
        report.error(shown, exc.line, exc.col, "people-yaml", f"invalid YAML: {exc}")
        return NOBODY
    if root is None:
        return NOBODY
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        report.error(shown, 1, 1, "people-yaml", "people.yaml must map keys to people",
                     "e.g. 'mend-editorial-team:' then name, kind, role, credentials and conflicts")
        return NOBODY
    entries = {}
    for key_node, value_node in root.value:
        person = _person(str(key_node.value), value_node, data[key_node.value], shown, report)
        if person is not None:
            entries[person.key] = person
    return People(entries)


def _person(key: str, node, value, shown: str, report: Report) -> Person | None:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    problems = []
    if not KEY_RE.match(key):
        problems.append(f"'{key}' must be lower-case words joined by '-', e.g. 'mend-editorial-team'")
    if not isinstance(value, dict):
        problems.append(f"'{key}' must be a mapping of {', '.join(FIELDS)}")
    else:
        problems += [f"'{key}' has no '{f}'" for f in FIELDS if not str(value.get(f) or "").strip()]
        problems += [f"'{key}': unknown field '{f}'" + (f" ({did_you_mean(f, FIELDS)})" if did_you_mean(f, FIELDS) else "")
                     for f in value if f not in FIELDS]
        if value.get("kind") not in KINDS:
            problems.append(f"'{key}': 'kind' must be person or organisation")
    for message in problems:
        report.error(shown, line, col, "people-invalid", message,
                     "list only real people and groups, with the role, credentials and conflicts they state")
    if problems:
        return None
    return Person(key, str(value["name"]), value["kind"], str(value["role"]), str(value["credentials"]),
                  str(value["conflicts"]))


def check_pages(pages, people: People, report: Report) -> None:
    """A front-matter name written like a key must be one (a typo would silently show the key)."""
    for page in pages:
        for field in ("authors", "reviewers"):
            for name in page.meta.get(field) or ():
                if KEY_RE.match(name) and "-" in name and people.get(name) is None:
                    line, col = page.positions.get(field, (1, 1))
                    report.error(page.shown, line, col, "person-unknown",
                                 f"'{name}' in {field} is not an entry of content/{PEOPLE_FILE}",
                                 did_you_mean(name, people.entries) or
                                 f"add them to content/{PEOPLE_FILE}, or write the name in plain words")
