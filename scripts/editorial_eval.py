#!/usr/bin/env python3
"""Precision and recall of the editorial checks on the labelled sentences.

    python scripts/editorial_eval.py            # tables per part and per family, then every miss
    python scripts/editorial_eval.py --check    # also exit 1 unless, on the held-out part, recall
                                                # is >= 0.9 for advice with citations, advice
                                                # without, and causal claims, with no false positives

Reads content/editorial/rules.yaml, content/sources.yaml (the design and sample of each
cited key) and tests/editorial_sentences.yaml.  Each text is read as a page is, so its
[@citations] are masked and their keys weighed by the claim checks.  A sentence counts as
flagged when any rule or claim check fires; "family" counts the flagged must-flag sentences
caught by a check of the family they were labelled with.  Labels: the rule families, and
causal / sample / source for claim/causal, claim/sample and claim/source.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mend.diagnostics import Report  # noqa: E402
from mend.editorial import CLAIM_FIELDS, check_claims, check_sentence, load_rules, page_sentences  # noqa: E402

SENTENCES = ROOT / "tests" / "editorial_sentences.yaml"
RECALL_TARGET = 0.9
ADVICE_FAMILIES = ("steering", "persistence", "surveillance", "commercial")
GROUPS = ("advice, cited", "advice, uncited", "causal claims")   # what the target is set on


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    right_family: int = 0
    misses: list = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_sources(content: Path) -> dict:
    path = content / "sources.yaml"
    entries = yaml.safe_load(path.read_text("utf-8")) if path.is_file() else []
    return {e["id"]: {f: e[f] for f in CLAIM_FIELDS if f in e} for e in entries or []}


def fired_families(text: str, rules, sources: dict) -> set[str]:
    """The families of every check the text fails (claim checks by their code)."""
    families = set()
    for sentence in page_sentences(text)[0]:
        families.update(v.rule.family for v in check_sentence(sentence, rules))
        families.update(p.code for p in check_claims(sentence, rules.claims, sources, rules.vocab))
    return families


def groups_of(item: dict) -> list[str]:
    expect, cited = item["expect"], "[@" in item["text"]
    if expect in ADVICE_FAMILIES:
        return ["advice, cited" if cited else "advice, uncited"]
    return ["causal claims"] if expect == "causal" else []


def evaluate(root: Path = ROOT, sentences_file: Path = SENTENCES) -> dict[tuple[str, str], Score]:
    """Scores keyed by (part, what): what is "all", a family, or one of GROUPS."""
    report = Report()
    rules = load_rules(root / "content", root, report)
    if rules is None:
        raise SystemExit(report.format() or "no content/editorial/rules.yaml")
    sources = load_sources(root / "content")
    scores: dict[tuple[str, str], Score] = {}
    started = time.perf_counter()
    items = yaml.safe_load(sentences_file.read_text("utf-8"))
    for item in items:
        part, expect = item["part"], item["expect"]
        fired = fired_families(item["text"], rules, sources)
        must_flag = expect != "sound"
        for what in ["all", expect, *groups_of(item)] + ([] if must_flag else sorted(fired)):
            score = scores.setdefault((part, what), Score())
            if must_flag and what in ("all", expect, *groups_of(item)):
                if fired:
                    score.tp += 1
                    score.right_family += expect in fired
                else:
                    score.fn += 1
                    if what == "all":
                        score.misses.append(("missed", expect, item["text"], ""))
            elif not must_flag and what == "all":
                if fired:
                    score.fp += 1
                    score.misses.append(("false alarm", "sound", item["text"], ", ".join(sorted(fired))))
                else:
                    score.tn += 1
            elif not must_flag:
                score.fp += 1          # a sound sentence this family wrongly flagged
    print(f"checked {len(items)} sentences against {len(rules)} rules and the claim checks in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    return scores


def table(scores: dict, parts: list[str]) -> list[str]:
    lines = [f"{'part':<9}{'what':<18}{'flag':>6}{'sound':>7}{'TP':>5}{'FP':>5}{'FN':>5}"
             f"{'precision':>11}{'recall':>8}{'family':>8}"]
    order = ["all", *GROUPS, "steering", "persistence", "signals", "surveillance", "overclaiming", "commercial",
             "causal", "sample", "source"]
    for part in parts:
        for what in order:
            s = scores.get((part, what))
            if s is None or what == "sound":
                continue
            sound = s.fp + s.tn if what == "all" else s.fp
            lines.append(f"{part:<9}{what:<18}{s.tp + s.fn:>6}{sound:>7}{s.tp:>5}{s.fp:>5}{s.fn:>5}"
                         f"{s.precision:>11.2f}{s.recall:>8.2f}{s.right_family:>5}/{s.tp:<2}")
    return lines


def target_met(scores: dict) -> bool:
    held = scores.get(("heldout", "all"), Score())
    return held.fp == 0 and all(scores.get(("heldout", g), Score()).recall >= RECALL_TARGET for g in GROUPS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 unless held-out recall >= {RECALL_TARGET} per group with no false positives")
    args = parser.parse_args(argv)
    scores = evaluate()
    parts = sorted({part for part, _ in scores}, key=lambda p: p != "tune")
    print("\n".join(table(scores, parts)))
    for part in parts:
        for kind, expect, text, fired in scores[(part, "all")].misses:
            print(f"  {part}: {kind} ({expect}{': ' + fired if fired else ''}): {text}")
    if args.check:
        ok = target_met(scores)
        print(f"held-out target (recall >= {RECALL_TARGET} for {', '.join(GROUPS)}; no false positives): "
              f"{'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
