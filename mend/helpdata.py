"""Help as data: ``content/help.yaml`` names vetted service entries by country and purpose.

Every number, hour and scope the site publishes comes from one place: the ``note`` of a
service entry in ``content/sources.yaml`` (copied from the vetted library).  help.yaml only
chooses entries and quotes parts of their notes (``call``, ``text``, ``hours``, ``for``,
``area``); each quote must appear in the note exactly, so nothing can drift from it.  An entry
must be ``confirmed`` or ``likely``, and one whose ``evidence`` reports conflicting numbers is
refused: we publish neither number until the conflict is resolved.

The result feeds the help block on every page (templates/partials/help.html), the help page
(a ``[help: directory]`` line in its Markdown) and the worksheet PDFs.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .bibliography import Bibliography
from .diagnostics import Report, did_you_mean, shown_path
from .schema import YamlProblem, compose_yaml

HELP_FILE = "help.yaml"
DIRECTORY_MARKER = re.compile(r"^\[help: directory\][ \t]*$", re.M)
PURPOSES = {
    "crisis": "If you feel you cannot cope",
    "abuse": "If you are afraid of a partner or ex",
    "stalking": "If you are being stalked",
    "images": "If intimate images are shared or threatened",
    "young": "If you are young",
    "own-behaviour": "If you are worried about your own behaviour",
    "support": "Support that is not for a crisis",
    "separation": "Separating: advice on the practical side",
    "mediation": "Mediation and child arrangements",
    "directory": "Finding other services",
}
SERVICE_FIELDS = {"source", "name", "purpose", "call", "text", "hours", "for", "area", "block", "link"}
COUNTRY_FIELDS = {"code", "name", "short", "emergency", "services"}
ELIGIBLE = ("confirmed", "likely")
# What a conflict between pages looks like in the library's ``evidence``: two numbers for one service.
CONFLICT_RE = re.compile(r"\bconflict|\bdifferent (?:phone )?number|\bnumbers? (?:differ|disagree)", re.I)
KEYPAD = {letter: digit for digit, letters in zip("23456789", ("ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ"))
          for letter in letters}


@dataclass(frozen=True)
class Contact:
    kind: str       # "call" or "text"
    shown: str      # exactly as the note has it, e.g. "116 123" or "SHOUT to 85258"
    href: str       # tel:116123 or sms:85258


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    purpose: str
    contacts: tuple[Contact, ...]
    hours: str
    whom: str
    area: str
    url: str
    checked: str     # ISO date the details were last seen, or ""
    block: bool      # also shown in the help block on every page


@dataclass(frozen=True)
class Country:
    code: str        # ISO 3166 region, as in navigator.languages ("GB", "IE", ...)
    name: str
    short: str
    emergency: Service
    services: tuple[Service, ...]

    def by_purpose(self) -> list[tuple[str, list[Service]]]:
        return _grouped(self.services)

    @property
    def block_services(self) -> list[Service]:
        return [s for s in self.services if s.block]


@dataclass
class HelpData:
    countries: list[Country] = field(default_factory=list)
    international: list[Service] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """What every page shows of the help data: part of every render key."""
        data = json.dumps([[asdict(c) for c in self.countries], [asdict(s) for s in self.international]],
                          sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()

    def international_by_purpose(self) -> list[tuple[str, list[Service]]]:
        return _grouped(self.international)


def _grouped(services) -> list[tuple[str, list[Service]]]:
    groups: dict[str, list[Service]] = {}
    for service in services:
        groups.setdefault(service.purpose, []).append(service)
    return [(PURPOSES[p], groups[p]) for p in PURPOSES if p in groups]


def load(content_dir: Path, display_root: Path, bibliography: Bibliography, report: Report) -> HelpData:
    """Read and check help.yaml.  Without one the site shows a generic line of help."""
    path = content_dir / HELP_FILE
    if not path.is_file():
        return HelpData()
    checker = _Checker(shown_path(path, display_root), bibliography, report)
    try:
        root, data = compose_yaml(path.read_text("utf-8"))
    except YamlProblem as exc:
        report.error(checker.shown, exc.line, exc.col, "help-yaml", f"invalid YAML: {exc}")
        return HelpData()
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        report.error(checker.shown, 1, 1, "help-yaml", "help.yaml must be a mapping with 'countries' and 'international'")
        return HelpData()
    nodes = _children(root)
    countries = [c for c in (checker.country(node, value) for node, value in _items(nodes.get("countries"), data.get("countries"))) if c]
    international = [s for s in (checker.service(node, value) for node, value in _items(nodes.get("international"), data.get("international"))) if s]
    return HelpData(countries, international)


def _children(node) -> dict:
    if isinstance(node, yaml.MappingNode):
        return {str(k.value): v for k, v in node.value}
    return {}


def _items(node, value) -> list[tuple]:
    if isinstance(node, yaml.SequenceNode) and isinstance(value, list):
        return list(zip(node.value, value))
    return []


def _at(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Checker:
    def __init__(self, shown: str, bibliography: Bibliography, report: Report):
        self.shown, self.bibliography, self.report = shown, bibliography, report

    def problem(self, node, message: str, hint: str = "") -> None:
        self.report.error(self.shown, *_at(node), "help-invalid", message, hint)

    def country(self, node, value) -> Country | None:
        if not isinstance(value, dict):
            self.problem(node, "each country is a mapping with code, name, short, emergency and services")
            return None
        nodes = _children(node)
        if not self._fields_known(nodes, COUNTRY_FIELDS):
            return None
        missing = [k for k in ("code", "name", "short", "emergency") if not value.get(k)]
        if missing:
            self.problem(node, f"the country lacks {', '.join(missing)}")
            return None
        emergency = self.service(nodes["emergency"], {"purpose": "emergency", "name": value["short"], **value["emergency"]}
                                 if isinstance(value["emergency"], dict) else value["emergency"], emergency=True)
        services = [s for s in (self.service(n, v) for n, v in _items(nodes.get("services"), value.get("services"))) if s]
        if emergency is None:
            return None
        return Country(str(value["code"]), str(value["name"]), str(value["short"]), emergency, tuple(services))

    def service(self, node, value, emergency: bool = False) -> Service | None:
        if not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
            self.problem(node, "each service is a mapping with at least 'source', 'name' and 'purpose'")
            return None
        nodes = _children(node)
        if not self._fields_known(nodes, SERVICE_FIELDS):
            return None
        source = self._source(node, nodes, value)
        if source is None:
            return None
        purpose = value.get("purpose")
        if not emergency and purpose not in PURPOSES:
            self.problem(nodes.get("purpose", node), f"'purpose' must be one of {', '.join(PURPOSES)}, not '{purpose}'",
                         did_you_mean(str(purpose), PURPOSES))
            return None
        note, title = str(source.data.get("note", "")), str(source.data.get("title", ""))
        if not self._quoted(node, nodes, value, note, title, emergency):
            return None
        contacts = tuple(_contact(kind, shown) for kind in ("call", "text") for shown in _as_list(value.get(kind)))
        return Service(source.key, str(value["name"]), str(purpose), contacts, str(value.get("hours", "")),
                       str(value.get("for", "")), str(value.get("area", "")),
                       str(source.data.get("URL", "")) if value.get("link") else "",
                       str(source.data.get("checked", "")), bool(value.get("block")))

    def _fields_known(self, nodes: dict, known: set[str]) -> bool:
        unknown = [k for k in nodes if k not in known]
        for key in unknown:
            self.problem(nodes[key], f"unknown field '{key}'", did_you_mean(key, known) or f"fields: {', '.join(sorted(known))}")
        return not unknown

    def _source(self, node, nodes: dict, value: dict):
        key = value.get("source")
        where = nodes.get("source", node)
        source = self.bibliography.sources.get(str(key))
        if source is None:
            self.problem(where, f"'{key}' is not an entry in {self.bibliography.shown}",
                         did_you_mean(str(key), self.bibliography.sources) or
                         "copy the service from the vetted library with scripts/sync_sources.py")
            return None
        if source.data.get("verified") not in ELIGIBLE:
            self.problem(where, f"'{key}' is marked {source.data.get('verified')}: only confirmed or likely services are published")
            return None
        if not source.data.get("note"):
            self.problem(where, f"'{key}' has no 'note': a service's numbers and hours come only from its note")
            return None
        if CONFLICT_RE.search(str(source.data.get("evidence", ""))):
            self.problem(where, f"'{key}': its evidence reports conflicting numbers, so none of them is published",
                         "leave it out of help.yaml until the library resolves the conflict")
            return None
        return source

    def _quoted(self, node, nodes: dict, value: dict, note: str, title: str, emergency: bool) -> bool:
        """Each quoted part must be in the note exactly (the name may come from the title; an
        emergency entry is named by its country)."""
        ok = True
        if not isinstance(value.get("name"), str) or not value["name"]:
            self.problem(node, "'name' is missing")
            return False
        for key in ("call", "text", "hours", "for", "area") + (() if emergency else ("name",)):
            for quote in _as_list(value.get(key)):
                if quote not in note and not (key == "name" and quote in title):
                    self.problem(nodes.get(key, node), f"'{quote}' is not in the service's note, word for word",
                                 "numbers, hours and scope come only from the library's note: copy them exactly")
                    ok = False
        return ok


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def dial_digits(text: str) -> str:
    """The digits a phone dials for ``text``: letters by the keypad, a "(7233)" aside dropped."""
    if "(" in text:
        text = re.sub(r"\s*\(.*?\)", "", text)
    return "".join(ch if ch.isdigit() else KEYPAD.get(ch.upper(), "") for ch in text if ch.isalnum())


def _contact(kind: str, shown: str) -> Contact:
    if kind == "text":
        number = shown.rsplit(" to ", 1)[-1]      # "SHOUT to 85258": the number is after "to"
        return Contact(kind, shown, "sms:" + dial_digits(number))
    return Contact(kind, shown, "tel:" + dial_digits(shown))


# --- the help page ------------------------------------------------------------

def expand_directory(body: str, help_data: HelpData) -> str:
    """Replace a ``[help: directory]`` line with every country's services, as Markdown (so each
    is cited like any other source)."""
    if not DIRECTORY_MARKER.search(body):
        return body
    return DIRECTORY_MARKER.sub(lambda m: _directory_markdown(help_data).replace("\\", "\\\\"), body, count=1)


def _directory_markdown(help_data: HelpData) -> str:
    parts = []
    for country in help_data.countries:
        parts.append(f"## {country.name}\n")
        parts.append(f"**In danger now:** {_contacts_md(country.emergency)} [@{country.emergency.key}].{_checked(country.emergency)}\n")
        for heading, services in country.by_purpose():
            parts.append(f"### {heading}\n")
            parts.extend(_service_md(s) for s in services)
            parts.append("")
    if help_data.international:
        parts.append("## Anywhere else\n")
        for heading, services in help_data.international_by_purpose():
            parts.append(f"### {heading}\n")
            parts.extend(_service_md(s) for s in services)
            parts.append("")
    return "\n".join(parts)


def _contacts_md(service: Service) -> str:
    calls = [f"[{c.shown}]({c.href})" for c in service.contacts if c.kind == "call"]
    texts = [f"[{c.shown}]({c.href})" for c in service.contacts if c.kind == "text"]
    said = []
    if calls:
        said.append("call " + " or ".join(calls))
    if texts:
        said.append("text " + " or ".join(texts))
    return ", ".join(said)


def _service_md(service: Service) -> str:
    bits = [f"- **{service.name}**" + (f" ({service.area})" if service.area else "") + ":"]
    contacts = _contacts_md(service)
    if contacts:
        bits.append(contacts + ".")
    if service.url:
        bits.append(f"<{service.url}>.")
    if service.hours:
        bits.append(f"Open: {service.hours}.")
    if service.whom:
        bits.append(f"For: {service.whom}.")
    return " ".join(bits) + f" [@{service.key}]{_checked(service)}"


def _checked(service: Service) -> str:
    if not service.checked:
        return " *Date last checked: not recorded in our library.*"
    return f" *Checked {_long(service.checked)}.*"


def _long(iso: str) -> str:
    year, month, day = iso.split("-")
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]
    return f"{int(day)} {months[int(month) - 1]} {year}"
