"""The rules' Needs (mend/editorial.py) only decide speed: a sentence that lacks every word a
pattern needs is not matched against it.  With them the rules must find exactly what they
find when every regex runs on every sentence."""

from __future__ import annotations

import dataclasses
import functools
import re

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from mend.diagnostics import Report
from mend.editorial import Rules, Sentence, check_sentence, load_rules

RULES_TEXT = (ROOT / "content" / "editorial" / "rules.yaml").read_text("utf-8")
LABELLED = [item["text"] for item in yaml.safe_load((ROOT / "tests" / "editorial_sentences.yaml").read_text("utf-8"))]
# Sentences made of the rules' own words (and the labelled sentences'), so patterns do match.
VOCABULARY = sorted(set(re.findall(r"[A-Za-z][A-Za-z'’-]*", RULES_TEXT.split("\nrules:")[0].split("compounds:")[1]))
                    | {w for text in LABELLED for w in re.findall(r"[A-Za-z][A-Za-z'’-]*|\d+%?", text)}) \
    + [",", ";", ":", "—", "100%", "30", "$30"]


@functools.cache
def real_rules() -> Rules:
    report = Report()
    rules = load_rules(ROOT / "content", ROOT, report)
    assert rules is not None and not report.items, report.format()
    return rules


@functools.cache
def rules_without_needs() -> Rules:
    rules = real_rules()
    bare = [dataclasses.replace(rule, needs=tuple(() for _ in rule.patterns)) for rule in rules.rules]
    return Rules(bare, rules.vocab, rules.shown)


def found(text: str, rules: Rules, cited: bool) -> list[tuple]:
    sentence = Sentence(text, 4, 3, cited=cited, paragraph_cited=cited)
    return [(v.rule.id, v.col, v.matched) for v in check_sentence(sentence, rules)]


def test_every_rule_of_the_real_file_has_needs():
    """Otherwise that rule runs its regexes on every sentence of the site."""
    for rule in real_rules().rules:
        assert len(rule.needs) == len(rule.patterns) and all(rule.needs), rule.id


def test_needs_change_nothing_on_the_labelled_sentences():
    flagged = 0
    for text in LABELLED:
        for cited in (False, True):
            with_needs = found(text, real_rules(), cited)
            assert with_needs == found(text, rules_without_needs(), cited), text
            flagged += bool(with_needs)
    assert flagged >= 40          # the comparison saw plenty of matches, not only misses


@settings(max_examples=300, deadline=None, derandomize=True)
@given(words=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=20), cited=st.booleans())
def test_needs_change_nothing_on_sentences_of_the_rules_own_words(words, cited):
    text = " ".join(words)
    assert found(text, real_rules(), cited) == found(text, rules_without_needs(), cited)
