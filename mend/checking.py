"""The editorial checks of every page, each page's answered from the store when nothing it
reads has changed, the rest run on every core.

A page's findings depend on its file and on a few site-wide inputs (the rules, the
bibliography's keys and each entry's design and sample, the reading-grade and review
settings, today's date, Mend's code):
those make the ``salt`` of every page's key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from . import editorial, parallel
from .diagnostics import Diagnostic, Report
from .store import Store


def check_editorial(site, report: Report, today: dt.date, store: Store, loaded_rules: dict,
                    remembered: dict | None = None, meanwhile=None) -> dict:
    """``remembered`` keeps findings by key between builds of one process (``serve``);
    ``meanwhile()`` runs in this process while the workers check (it would sit idle)."""
    salt = _salt(site, today)
    remembered = remembered if remembered is not None else {}

    def check_pages(pages, check) -> list:
        keys = [hashlib.sha256(f"{salt}\0{page.shown}\0{page.digest}".encode()).hexdigest() for page in pages]
        store.mark_used("editorial", [key for key in keys if key in remembered])
        # ``remembered`` holds decoded findings (serve's next rebuild decodes nothing); the store, JSON.
        known = [remembered.get(key) or _decoded(store.get("editorial", key)) for key in keys]
        missing = [i for i, found in enumerate(known) if found is None]
        made = parallel.map_forked(lambda page: _guarded(check, page), [pages[i] for i in missing], meanwhile)
        store.put_many("editorial", [(keys[i], found) for i, found in zip(missing, made)
                                     if found["findings"] is not None])
        for i, found in zip(missing, made):
            known[i] = _from_json(found)
        remembered.clear()
        remembered.update((key, found) for key, found in zip(keys, known) if found[0] is not None)
        return known

    findings = editorial.check_site(site, report, today, check_pages, loaded_rules)
    return {path: found for path, found in findings.items() if found is not None}   # None: checks failed


def prepare(site, loaded_rules: dict) -> None:
    """Compile the editorial rules ahead of ``check_editorial`` (``render_site`` does it while
    its workers render)."""
    editorial.rules_for(site, Report(), loaded_rules)     # its problems are reported by check_editorial


def _guarded(check, page) -> dict:
    """One page's checks; a failure of the checks themselves is an internal error at the page."""
    own = Report()
    try:
        return _to_json(*check(page))
    except Exception as exc:  # noqa: BLE001 - a diagnostic at the page, never a traceback
        own.internal(page.shown, exc)
        return {"findings": None, "diagnostics": [list(vars(d).values()) for d in own.items]}


def _salt(site, today: dt.date) -> str:
    rules_file = site.project.content / editorial.RULES_FILE
    rules = rules_file.read_bytes().decode("utf-8", "replace") if rules_file.is_file() else None
    return hashlib.sha256(json.dumps([site.engine, rules, sorted(editorial.source_keys(site) or ()),
                                      editorial.claim_inputs(site), site.config.reading_grade_max,
                                      site.config.review_interval_months, today.isoformat()]).encode()).hexdigest()


def _to_json(found: editorial.PageFindings, diagnostics: list) -> dict:
    fields = {**vars(found), "next_review": found.next_review.isoformat() if found.next_review else None}
    return {"findings": fields, "diagnostics": [list(vars(d).values()) for d in diagnostics]}


def _decoded(data) -> tuple | None:
    return _from_json(data) if isinstance(data, dict) else None


def _from_json(data: dict) -> tuple[editorial.PageFindings | None, list]:
    if data["findings"] is None:
        return None, [Diagnostic(*d) for d in data["diagnostics"]]
    fields = dict(data["findings"])
    if fields["next_review"]:
        fields["next_review"] = dt.date.fromisoformat(fields["next_review"])
    return editorial.PageFindings(**fields), [Diagnostic(*d) for d in data["diagnostics"]]
