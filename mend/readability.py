"""Flesch-Kincaid grade of a page's body text.

    grade = 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59

Syllables are counted with a short rule of thumb (vowel groups, less a silent
final "e", "-ed" and "-es") rather than a pronouncing dictionary: textstat, the
usual library, pulls in NLTK and downloads the CMU dictionary at run time, which
a build must never do.  On the words of this guide the rule agrees with the
dictionary closely enough for a grade ceiling (see tests/test_editorial.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

WORD_RE = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


@functools.lru_cache(maxsize=1 << 16)   # pure; a page repeats most of its words
def syllables(word: str) -> int:
    """Syllables in one English word, by rule of thumb (at least 1)."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) <= 3:
        return 1 if w else 0
    count = len(_VOWEL_GROUPS.findall(w[1:] if w[0] == "y" else w)) + (w[0] == "y" and w[1] not in "aeiou")
    if w.endswith("e") and not re.search(r"[^aeiouy]le$|[eiy]e$", w) and count > 1:
        count -= 1                                   # make, time, house
    elif w.endswith("ed") and w[-3] not in "td" and count > 1:
        count -= 1                                   # asked, played (but wanted, needed)
    elif w.endswith("es") and count > 1 and w[-3] not in "aeiouysxz" and not w.endswith(("ches", "shes", "ces", "ges")):
        count -= 1                                   # makes, times (but boxes, places)
    if w.endswith("ely") and count > 2:
        count -= 1                                   # lonely, safely
    if re.search(r"[^aeiouy]ement$", w) and count > 2:
        count -= 1                                   # movement, statement
    if re.search(r"[aeiouy]ing$", w):
        count += 1                                   # doing, going, being, seeing
    if re.search(r"[^aeiouy]eful$", w):
        count -= 1                                   # useful, peaceful
    return max(1, count)


def words_in(text: str) -> list[str]:
    return WORD_RE.findall(text)


@dataclass(frozen=True)
class Readability:
    sentences: int
    words: int
    syllables: int

    @property
    def grade(self) -> float:
        if not self.words or not self.sentences:
            return 0.0
        return 0.39 * self.words / self.sentences + 11.8 * self.syllables / self.words - 15.59


def measure(sentences: list[str]) -> Readability:
    """Counts for Flesch-Kincaid over sentences of plain text."""
    counted = [words_in(s) for s in sentences]
    counted = [w for w in counted if w]
    words = [w for ws in counted for w in ws]
    return Readability(len(counted), len(words), sum(map(syllables, words)))
