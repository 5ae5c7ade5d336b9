#!/usr/bin/env python3
"""Rewrite content/sources.yaml from the vetted library.

    python scripts/sync_sources.py          # exactly the entries the content cites
    python scripts/sync_sources.py --all    # every entry marked confirmed or likely

Entries are copied whole (verified, evidence, finding, note, and the design,
sample, finding_note and design_note that the claim checks read) from every file
of ../shared/sources/*.yaml that holds studies or services (a list of entries
with an id), sorted by key so the file changes only when the set of cited sources
does.  Services that content/help.yaml names count as cited: the help block and
help page are rendered from their notes.  A key two library files both hold is
printed, and the first file's entry (in file-name order) kept.  A cited key the
library lacks or marks doubtful is printed and left out; the build will then report it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mend.citations import cited_keys  # noqa: E402

ELIGIBLE = ("confirmed", "likely")
HEADER = """\
# Bibliography of the Mend guide, in CSL-YAML (what Zotero, Pandoc and Better BibTeX export).
# Cite an entry in Markdown with [@id]. Entries are copied whole from the vetted library
# (every file of shared/sources/*.yaml) by scripts/sync_sources.py: edit the library and
# re-run the script rather than editing here. Keep DOIs bare (10.xxxx/...).
# verified: confirmed or likely (never doubtful); evidence: where the details were seen;
# finding: what the study found, in plain words (shown on the Sources page);
# design, sample: how the study was done and on whom (the build's claim checks read them);
# finding_note, design_note: where the finding's wording, or the design, needs care.
"""


def load_library(folder: Path) -> dict[str, dict]:
    """Every entry of every library file that holds studies or services, by key."""
    entries: dict[str, dict] = {}
    where: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text("utf-8"))
        if not isinstance(data, list) or not all(isinstance(e, dict) and "id" in e for e in data):
            continue            # not a list of sources
        for entry in data:
            key = entry["id"]
            if key in entries:
                print(f"sync_sources: '{key}' is in both {where[key]} and {path.name}; kept {where[key]}",
                      file=sys.stderr)
                continue
            entries[key], where[key] = entry, path.name
    return entries


def help_sources(content: Path) -> set[str]:
    """Every `source:` that content/help.yaml names, however deep."""
    path = content / "help.yaml"
    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("source"), str):
                found.add(value["source"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(yaml.safe_load(path.read_text("utf-8")) if path.is_file() else None)
    return found


def dump(entries: list[dict]) -> str:
    return HEADER + yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=110,
                                   default_flow_style=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="every confirmed or likely entry, cited or not")
    parser.add_argument("--library", type=Path, default=ROOT.parent / "shared" / "sources",
                        help="folder of the vetted library's *.yaml files")
    parser.add_argument("--root", type=Path, default=ROOT, help="project folder")
    args = parser.parse_args(argv)
    library = load_library(args.library)
    eligible = {k for k, e in library.items() if e.get("verified") in ELIGIBLE}
    wanted = eligible if args.all else cited_keys(args.root / "content") | help_sources(args.root / "content")
    missing = sorted(wanted - eligible)
    for key in missing:
        why = "is marked doubtful" if key in library else "is not in the library"
        print(f"sync_sources: '{key}' {why}; left out", file=sys.stderr)
    chosen = [library[k] for k in sorted(wanted & eligible)]
    (args.root / "content" / "sources.yaml").write_text(dump(chosen), "utf-8")
    print(f"sync_sources: wrote {len(chosen)} entries to content/sources.yaml", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
