#!/usr/bin/env python3
"""Precision and recall of the editorial rules on the labelled sentences.

    python scripts/editorial_eval.py            # figures for each part, then every miss
    python scripts/editorial_eval.py --check    # also exit 1 unless the held-out part
                                                # has recall >= 0.9 and no false positives

Reads content/editorial/rules.yaml and tests/editorial_sentences.yaml.  A sentence
counts as flagged when any rule fires; the family column says how many flagged
must-flag sentences were caught by a rule of the family they were labelled with.
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
from mend.editorial import Sentence, check_sentence, load_rules  # noqa: E402

SENTENCES = ROOT / "tests" / "editorial_sentences.yaml"
RECALL_TARGET = 0.9


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


def evaluate(root: Path = ROOT, sentences_file: Path = SENTENCES) -> dict[str, Score]:
    report = Report()
    rules = load_rules(root / "content", root, report)
    if rules is None:
        raise SystemExit(report.format() or "no content/editorial/rules.yaml")
    scores: dict[str, Score] = {}
    started = time.perf_counter()
    items = yaml.safe_load(sentences_file.read_text("utf-8"))
    for item in items:
        score = scores.setdefault(item["part"], Score())
        fired = check_sentence(Sentence(item["text"], 1, 1), rules)
        must_flag = item["expect"] != "sound"
        if must_flag and fired:
            score.tp += 1
            score.right_family += any(v.rule.family == item["expect"] for v in fired)
        elif must_flag:
            score.fn += 1
            score.misses.append(("missed", item["expect"], item["text"], ""))
        elif fired:
            score.fp += 1
            score.misses.append(("false alarm", "sound", item["text"], ", ".join(v.rule.id for v in fired)))
        else:
            score.tn += 1
    print(f"checked {len(items)} sentences against {len(rules)} rules in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 unless held-out recall >= {RECALL_TARGET} with no false positives")
    args = parser.parse_args(argv)
    scores = evaluate()
    print(f"{'part':<9}{'sentences':>10}{'flag':>6}{'sound':>7}{'TP':>5}{'FP':>5}{'FN':>5}"
          f"{'precision':>11}{'recall':>8}{'family':>8}")
    for part in sorted(scores, key=lambda p: p != "tune"):
        s = scores[part]
        flag, sound = s.tp + s.fn, s.fp + s.tn
        print(f"{part:<9}{flag + sound:>10}{flag:>6}{sound:>7}{s.tp:>5}{s.fp:>5}{s.fn:>5}"
              f"{s.precision:>11.2f}{s.recall:>8.2f}{s.right_family:>5}/{s.tp:<2}")
    for part, s in scores.items():
        for kind, expect, text, rules in s.misses:
            print(f"  {part}: {kind} ({expect}{': ' + rules if rules else ''}): {text}")
    held = scores.get("heldout", Score())
    ok = held.recall >= RECALL_TARGET and held.fp == 0
    if args.check:
        print(f"held-out target (recall >= {RECALL_TARGET}, no false positives): {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
