"""Editorial checks: the rules of ``content/editorial/rules.yaml`` applied sentence by sentence.

The standard (shared/editorial-standard.md, section 2) forbids families of advice,
not words: "go no contact so they miss you" is manipulation, "respect their
request for no contact" is sound.  So each page's Markdown source is split into
sentences that keep their line and column, each sentence is read as a list of
stemmed words, and each rule's patterns are matched against that list.  A match
counts unless the sentence rules it out the way a reader would:

- negation or prohibition before it in the same clause ("don't", "never",
  "avoid", "rather than", "no one can"), where a leading "if ..., " clause and
  "; : — , so , and" start a new clause;
- for advice rules, a sentence that reports research or names the harm
  ("linked to", "study", "backfires", "stalking") describes the tactic rather
  than recommending it;
- for statistics, a citation in the same sentence.

Quoting a myth to correct it is allowed only inside a ``!!! myth`` block on a
page whose front matter says ``allow_myths: true``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import yaml
from snowballstemmer import stemmer

from .diagnostics import Report, did_you_mean, shown_path
from .readability import measure, words_in
from .schema import YamlProblem, compose_yaml

RULES_FILE = Path("editorial") / "rules.yaml"
FAMILIES = ("steering", "persistence", "signals", "surveillance", "overclaiming", "commercial")
STANCES = ("advice", "claim")
LEDGER_ROW_RE = re.compile(r"^L(0[1-9]|[1-7][0-9]|8[0-6])$")   # research/content-audit.md rows L01-L86
GAP_WORDS = {"..": 3, "...": 8}
CLAUSE_BREAKS = (";", ":", "—", "–")


# ------------------------------------------------------------------ words

_STEMMER = stemmer("english")
_TOKEN_RE = re.compile(r"[$£€]?[\w]+(?:[’'\-.][\w]+)*%?|[;:,—–]")
_NOT_CONTRACTIONS = {"won't": "will", "can't": "can", "shan't": "shall", "ain't": "is"}
_SUFFIXES = {"'re": "are", "'ll": "will", "'ve": "have", "'m": "am", "'d": "would"}
_IS_AFTER = {"it", "that", "there", "what", "who", "he", "she", "this", "here", "nothing", "everything", "someone"}


@dataclass(frozen=True)
class Token:
    stem: str
    word: str           # the word as written, lower-cased ("messaging"; stem "messag")
    start: int          # where the word it came from starts and ends in the sentence
    end: int


@functools.lru_cache(maxsize=1 << 16)   # a pure function; pages repeat most of their words
def stem(word: str) -> str:
    """One lower-case word, stemmed part by part ("texting" -> "text", "no-contact" -> "no-contact")."""
    return "-".join(_STEMMER.stemWord(part) if not any(c.isdigit() for c in part) else part
                    for part in word.split("-"))


def tokenize(text: str) -> list[Token]:
    """Words of a sentence, lower-cased, contractions expanded ("don't" -> do not), stemmed."""
    return [Token(stemmed, word, match.start(), match.end())
            for match in _TOKEN_RE.finditer(text.replace("’", "'"))
            for stemmed, word in _words_written(match.group())]


@functools.lru_cache(maxsize=1 << 16)   # pure, and the hot spot of reading a sentence
def _words_written(written: str) -> tuple[tuple[str, str], ...]:
    """(stem, word) of each word one written token stands for ("Don't" -> do, not)."""
    return tuple((stem(word), word) for word in _expand(written.lower().rstrip(".")))


def _expand(word: str) -> list[str]:
    if word.endswith("n't"):
        return [_NOT_CONTRACTIONS.get(word, word[:-3]), "not"]
    for suffix, full in _SUFFIXES.items():
        if word.endswith(suffix):
            return [word[:-len(suffix)], full]
    if word.endswith("'s"):
        return [word[:-2], "is"] if word[:-2] in _IS_AFTER else [word[:-2]]
    return [word]


# ------------------------------------------------------------------ patterns

class PatternError(ValueError):
    pass


# What a match needs: one of these stems (or exact words) somewhere in the sentence.
# Checked before any regex runs, it rules most sentences out of most rules at the cost of a set lookup.
Need = frozenset


@dataclass
class Vocabulary:
    """The shared word lists of a rules file, compiled."""

    compounds: list[tuple[str, ...]]         # stems of multi-word expressions read as one word
    compound_re: re.Pattern | None           # finds them as written, to join them in patterns too
    concepts: dict[str, str]                 # name -> regex over the token string
    negators: set[str]
    hedges: set[str]                         # for claims: "hope", "might", "whether"
    clause_words: set[str]                   # words that start a new clause: but, however
    subordinators: set[str]                  # words that open a leading "if ..., " clause
    describing: re.Pattern | None            # research or harm named: a description, not advice
    nominal: re.Pattern | None               # right before a match, makes it a topic: "trying to"
    rebuttal: re.Pattern | None              # the claim is denied: "no evidence", "myth"
    concept_needs: dict[str, Need | None] = field(default_factory=dict)   # name -> what any phrase needs
    imperatives: set[str] = field(default_factory=set)     # words that open an instruction: "go", "post"
    lead_ins: set[str] = field(default_factory=set)        # skipped before one: "just", "then"
    instructions: re.Pattern | None = None                 # "you should", "try", "the trick is"
    question_openers: set[str] = field(default_factory=set)  # "should", "is": a sentence asking, not telling
    compound_firsts: dict[str, tuple] = field(default_factory=dict)     # first stem -> compounds it starts, longest first


def words_of(text: str, compounds) -> list[Token]:
    """Tokenize, then join the rules' compounds ("no contact" -> one word "no-contact")."""
    tokens = tokenize(text)
    return [tokens[a] if b - a == 1 else _joined(tokens[a:b])
            for a, b in _compound_runs([t.stem for t in tokens], by_first_stem(compounds))]


def _joined(tokens: list[Token]) -> Token:
    return Token("-".join(t.stem for t in tokens), "-".join(t.word for t in tokens), tokens[0].start, tokens[-1].end)


def by_first_stem(compounds) -> dict[str, tuple]:
    """The compounds (sorted longest first) by their first stem."""
    firsts: dict[str, list] = {}
    for compound in compounds:
        firsts.setdefault(compound[0], []).append(compound)
    return {first: tuple(found) for first, found in firsts.items()}


def _compound_runs(stems: list[str], firsts: dict[str, tuple]) -> list[tuple[int, int]]:
    """(start, end) of each word once compounds are joined: [(0, 1), (1, 3), ...]."""
    runs, i = [], 0
    while i < len(stems):
        starting = firsts.get(stems[i])
        n = _compound_length(stems, i, starting) if starting else 1
        runs.append((i, i + n))
        i += n
    return runs


def _compound_length(stems: list[str], i: int, compounds) -> int:
    """Words in the first compound (the longest: they are sorted so) that starts at ``i``; 1 if none."""
    return next((len(c) for c in compounds if tuple(stems[i:i + len(c)]) == c), 1)


def _stems_and_words(text: str, firsts: dict[str, tuple]) -> tuple[list[str], list[str]]:
    """``words_of`` without the Tokens, for reading sentences in bulk: most are never
    matched, and making a Token per word would cost more than the reading itself."""
    pairs = [pair for written in _TOKEN_RE.findall(text.replace("’", "'")) for pair in _words_written(written)]
    stems, words = [s for s, _ in pairs], [w for _, w in pairs]
    if firsts.keys().isdisjoint(stems):
        return stems, words
    runs = _compound_runs(stems, firsts)
    return ["-".join(stems[a:b]) for a, b in runs], ["-".join(words[a:b]) for a, b in runs]


def compile_pattern(text: str, vocab: Vocabulary, concepts_raw: dict, seen: tuple = ()) -> str:
    """A rule pattern as a regex over the sentence's words, each written "stem/word ".

    Pattern language: plain words (stemmed like the text), ``=word`` that exact
    form, ``a|b|{concept}`` alternatives, ``word?`` optional, ``!a|b`` not followed
    by these, ``{concept}`` any phrase of a concept, ``..`` / ``...`` a gap of up to
    3 / 8 words (never across ; : or a negation), ``_`` any one word, ``#`` a number.
    """
    return _compile(text, vocab, concepts_raw, seen)[0]


def _compile(text: str, vocab: Vocabulary, concepts_raw: dict, seen: tuple = ()) -> tuple[str, list[Need]]:
    """``compile_pattern``, and the Needs of a match: every one of them must be met.

    Each regex item matches whole words (the string is " stem/word stem/word ... "), so an
    item that is neither optional nor negative matches one of its words or it fails."""
    if vocab.compound_re is not None:
        text = vocab.compound_re.sub(lambda m: "-".join(m.group().split()), text)
    parts, needs = [], []
    for item in text.split():
        if item in GAP_WORDS:
            stop = ";:—–" if item == "..." else ",;:—–"
            parts.append(r"(?:%s[^ %s]+ ){0,%d}" % (_not_negator(vocab), stop, GAP_WORDS[item]))
            continue
        negative = item.startswith("!")
        optional = item.endswith("?") and len(item) > 1
        alternatives = [a for a in item.strip("!").rstrip("?").split("|") if a]
        if not alternatives:
            raise PatternError(f"'{item}' has no words in it")
        compiled = [_alternative(a, vocab, concepts_raw, seen) for a in alternatives]
        body = "(?:" + "|".join(regex for regex, _ in compiled) + ")"
        parts.append(f"(?!{body})" if negative else f"(?:{body})?" if optional else body)
        need = _any_of([need for _, need in compiled])
        if not (negative or optional) and need is not None:
            needs.append(need)
    if not parts:
        raise PatternError("empty pattern")
    return "".join(parts), needs


def _any_of(needs: list[Need | None]) -> Need | None:
    """What one of several alternatives needs; None (no need) if any of them matches anything."""
    return None if not needs or None in needs else Need().union(*needs)


# Words too common in this guide to be a good Need (they only decide speed, never results).
_COMMON = frozenset(stem(w) for w in """a an the and or but so then to of in on at for with as by from into over
    out up back again still i you your we our they them their he him his she her it its this that what who where
    when if is are was were be been have has had do did will would can could may might not no yes
    want get go come see know make keep feel tell give take say think look time ex contact someone one""".split())


def _rarest(needs: list[Need]) -> Need | None:
    """The one Need of several (all must be met) that fewest sentences meet ("miss you": "miss")."""
    return min(needs, key=_commonness, default=None)


def _commonness(need: Need) -> int:
    """How often a sentence meets ``need``, by a rule of thumb: a common word counts ten times any other."""
    return len(need) + 9 * len(need & _COMMON)


def _not_negator(vocab: Vocabulary) -> str:
    if not vocab.negators:
        return ""
    return "(?!(?:" + "|".join(re.escape(n) for n in sorted(vocab.negators)) + ")/)"


def _alternative(word: str, vocab: Vocabulary, concepts_raw: dict, seen: tuple) -> tuple[str, Need | None]:
    if word.startswith("{") and word.endswith("}"):
        return _concept(word[1:-1].strip(), vocab, concepts_raw, seen)
    if word == "_":
        return r"[^ ;:—–]+ ", None
    if word == "#":
        return r"[^ /]*\d[^ /]*/[^ ]* ", None
    exact = word.startswith("=")
    tokens = words_of(word.lstrip("="), vocab.compounds)
    if not tokens or "{" in word or "}" in word:
        raise PatternError(f"'{word}' is not a word, a {{concept}}, '_' or '#'")
    if exact:
        return ("".join(r"[^ /]*/" + re.escape(t.word) + " " for t in tokens),
                _rarest([Need({t.word}) for t in tokens]))
    return "".join(re.escape(t.stem) + "/[^ ]* " for t in tokens), _rarest([Need({t.stem}) for t in tokens])


def _concept(name: str, vocab: Vocabulary, concepts_raw: dict, seen: tuple) -> tuple[str, Need | None]:
    if name in vocab.concepts:
        return vocab.concepts[name], vocab.concept_needs[name]
    if name not in concepts_raw:
        raise PatternError(f"no concept named '{name}'" + _close(name, concepts_raw))
    if name in seen:
        raise PatternError(f"concept '{name}' refers to itself")
    phrases = [_compile(str(p), vocab, concepts_raw, seen + (name,)) for p in concepts_raw[name]]
    vocab.concepts[name] = "(?:" + "|".join(regex for regex, _ in phrases) + ")"
    vocab.concept_needs[name] = _any_of([_rarest(needs) for _, needs in phrases])
    return vocab.concepts[name], vocab.concept_needs[name]


def _close(word, options) -> str:
    hint = did_you_mean(word, options)
    return f" ({hint})" if hint else ""


# ------------------------------------------------------------------ rules

@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    stance: str                               # "advice": described or harmful uses pass; "claim": only denial passes
    patterns: tuple[tuple[LazySearcher, ...], ...]   # any pattern; each is parts that must all match
    message: str
    rewrite: str
    why: tuple[str, ...]
    unless_cited: bool = False
    line: int = 1
    needs: tuple[tuple[Need, ...], ...] = ()   # per pattern: all must be met before its regexes run (rarest first)


@dataclass
class Rules:
    rules: list[Rule]
    vocab: Vocabulary
    shown: str = ""
    claims: "Claims | None" = None

    def __len__(self) -> int:
        return len(self.rules)

    @functools.cached_property
    def by_word(self) -> tuple[dict[str, tuple[tuple[int, int], ...]], tuple[tuple[int, int], ...]]:
        """Which patterns (rule, pattern) a word can let through, by each pattern's rarest Need,
        and the patterns with no Need (always tried): a sentence's words pick the few patterns
        worth trying instead of every pattern asking every sentence."""
        index: dict[str, list[tuple[int, int]]] = {}
        always = []
        for i, rule in enumerate(self.rules):
            for j, needs in enumerate(rule.needs):
                if not needs:
                    always.append((i, j))
                for word in needs[0] if needs else ():
                    index.setdefault(word, []).append((i, j))
        return {word: tuple(found) for word, found in index.items()}, tuple(always)

    def candidates(self, keys: set[str]) -> list[tuple[Rule, list[int]]]:
        """The rules, in file order, with the patterns of each that ``keys`` may let match."""
        index, always = self.by_word
        picked = set(always)
        for key in index.keys() & keys:       # a set operation in C: most words pick nothing
            picked.update(index[key])
        chosen: dict[int, list[int]] = {}
        for i, j in sorted(picked):
            chosen.setdefault(i, []).append(j)
        return [(self.rules[i], patterns) for i, patterns in chosen.items()]


RULE_KEYS = {"id", "family", "stance", "match", "message", "rewrite", "why", "unless_cited"}
TOP_KEYS = {"compounds", "negators", "hedges", "clause_words", "subordinators", "describing", "rebuttal", "nominal",
            "imperatives", "lead_ins", "instructions", "question_openers", "claims", "concepts", "rules"}


def load_rules(content_dir: Path, display_root: Path, report: Report,
               source_keys: set[str] | None = None) -> Rules | None:
    """Read and validate the rules file.  None when the project has no rules file."""
    path = content_dir / RULES_FILE
    if not path.is_file():
        return None
    shown = shown_path(path, display_root)
    try:
        root, data = compose_yaml(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        report.error(shown, 1, 1, "rules-invalid", f"cannot read the editorial rules: {exc.reason}",
                     "save the rules file as UTF-8")
        return None
    except YamlProblem as exc:
        report.error(shown, exc.line, exc.col, "rules-invalid", f"cannot read the editorial rules: {exc}",
                     "the rules file is YAML; check quotes, colons and indentation")
        return None
    return parse_rules(data, root, shown, report, source_keys)


def parse_rules(data, root, shown: str, report: Report, source_keys: set[str] | None = None) -> Rules | None:
    def problem(node, message, hint=""):
        mark = node.start_mark if node is not None else None
        report.error(shown, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, "rules-invalid",
                     message, hint)

    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        problem(root, "the rules file must be a mapping with a 'rules' list", "see the comments at its top")
        return None
    nodes = _mapping_nodes(root)
    for key in data:
        if key not in TOP_KEYS:
            problem(nodes.get(key), f"unknown key '{key}'" + _close(key, TOP_KEYS))
    before = len(report.errors())
    vocab = _vocabulary(data, nodes, problem)
    rules, ids = [], set()
    rule_nodes = nodes["rules"].value if "rules" in nodes else []
    for raw, node in zip(data["rules"], rule_nodes):
        rule = _parse_rule(raw, node, vocab, data.get("concepts") or {}, problem, source_keys)
        if rule is None:
            continue
        if rule.id in ids:
            problem(node, f"two rules have the id '{rule.id}'", "give each rule its own id")
            continue
        ids.add(rule.id)
        rules.append(rule)
    claims = parse_claims(data.get("claims"), nodes.get("claims"), vocab, data.get("concepts") or {}, problem)
    if len(report.errors()) > before:
        return None
    return Rules(rules, vocab, shown, claims)


def _searcher(regex: str) -> re.Pattern:
    """Finds ``regex`` at word starts; the match is group 1.  (A leading space to scan
    for is about twice as fast as a look-behind on every character.)"""
    return re.compile(f" (?=({regex}))")


class LazySearcher:
    """``_searcher(regex)``, compiled the first time a sentence needs it.  Most patterns never
    run in a build (a sentence must first have every word a pattern needs: on this guide about a
    third of them run, on most sites fewer), and compiling all of them would be most of the
    rules' load time.  The regex is made only of escaped words and fixed pieces, so it compiles."""

    __slots__ = ("regex", "_compiled")

    def __init__(self, regex: str):
        self.regex, self._compiled = regex, None

    @property
    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = _searcher(self.regex)
        return self._compiled

    def search(self, string: str):
        return self.compiled.search(string)

    def finditer(self, string: str):
        return self.compiled.finditer(string)


def _mapping_nodes(node) -> dict:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value}


def _vocabulary(data: dict, nodes: dict, problem) -> Vocabulary:
    def words(key) -> list[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problem(nodes.get(key), f"'{key}' must be a list of words or phrases")
            return []
        return value

    phrases = sorted(words("compounds"), key=lambda c: len(c.split()), reverse=True)
    compounds = [tuple(t.stem for t in tokenize(c)) for c in phrases]
    compound_re = re.compile("|".join(r"(?<![\w-])" + r"\s+".join(map(re.escape, p.split())) + r"(?![\w-])"
                                      for p in phrases), re.I) if phrases else None
    vocab = Vocabulary(compounds, compound_re, {}, set(), set(), set(), set(), None, None, None,
                       compound_firsts=by_first_stem(compounds))
    vocab.negators = {t.stem for w in words("negators") for t in words_of(w, compounds)}
    vocab.hedges = {t.stem for w in words("hedges") for t in words_of(w, compounds)}
    vocab.clause_words = {t.stem for w in words("clause_words") for t in words_of(w, compounds)}
    vocab.subordinators = {t.stem for w in words("subordinators") for t in words_of(w, compounds)}
    vocab.imperatives = {w.lower() for w in words("imperatives")}
    vocab.lead_ins = {w.lower() for w in words("lead_ins")}
    vocab.question_openers = {w.lower() for w in words("question_openers")}
    concepts = data.get("concepts") or {}
    if not isinstance(concepts, dict) or not all(isinstance(v, list) for v in concepts.values()):
        problem(nodes.get("concepts"), "'concepts' must map names to lists of phrases")
        concepts = {}
    for key in ("describing", "rebuttal", "nominal", "instructions"):
        phrases = words(key)
        try:
            regex = "|".join(compile_pattern(p, vocab, concepts) for p in phrases)
        except PatternError as exc:
            problem(nodes.get(key), f"'{key}': {exc}")
            continue
        searcher = re.compile(f"(?<= )(?:{regex})$") if key == "nominal" else _searcher(regex)
        setattr(vocab, key, searcher if regex else None)
    return vocab


def _parse_rule(raw, node, vocab: Vocabulary, concepts_raw: dict, problem, source_keys) -> Rule | None:
    if not isinstance(raw, dict):
        problem(node, "each rule must be a mapping", "give id, family, stance, match, message, rewrite and why")
        return None
    fields = _mapping_nodes(node)
    ok = True
    for key in raw:
        if key not in RULE_KEYS:
            problem(fields.get(key), f"unknown rule key '{key}'" + _close(key, RULE_KEYS))
            ok = False
    for key in ("id", "family", "stance", "message", "rewrite"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            problem(fields.get(key, node), f"rule {raw.get('id', '?')}: '{key}' must be a non-empty string")
            ok = False
    if not ok:
        return None
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", raw["id"]):
        problem(fields["id"], f"rule id '{raw['id']}' must be lower-case words joined by hyphens")
        ok = False
    if raw["family"] not in FAMILIES:
        problem(fields["family"], f"unknown family '{raw['family']}'" + _close(raw["family"], FAMILIES),
                f"families (editorial standard, section 2): {', '.join(FAMILIES)}")
        ok = False
    if raw["stance"] not in STANCES:
        problem(fields["stance"], f"stance must be one of {', '.join(STANCES)}")
        ok = False
    why = raw.get("why")
    if not isinstance(why, list) or not why or not all(isinstance(w, str) for w in why):
        problem(fields.get("why", node), f"rule {raw['id']}: 'why' must list its sources",
                "a ledger row of research/content-audit.md such as L39, or a key of content/sources.yaml")
        ok = False
    else:
        for ref in why:
            if not LEDGER_ROW_RE.match(ref) and source_keys is not None and ref not in source_keys:
                problem(fields["why"], f"rule {raw['id']}: '{ref}' is neither a ledger row (L01-L86) "
                        "nor a key of content/sources.yaml", did_you_mean(ref, source_keys))
                ok = False
    patterns = raw.get("match")
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
        problem(fields.get("match", node), f"rule {raw['id']}: 'match' must be a list of patterns")
        return None
    compiled, needs = [], []
    for pattern in patterns:
        try:
            parts = [_compile(part.strip(), vocab, concepts_raw) for part in pattern.split("&&")]
            compiled.append(tuple(LazySearcher(regex) for regex, _ in parts))
        except PatternError as exc:
            problem(fields["match"], f"rule {raw['id']}: pattern '{pattern}': {exc}")
            ok = False
            continue
        needs.append(tuple(sorted((need for _, part_needs in parts for need in part_needs), key=_commonness)))
    if not ok:
        return None
    return Rule(raw["id"], raw["family"], raw["stance"], tuple(compiled), raw["message"].strip(),
                raw["rewrite"].strip(), tuple(why), bool(raw.get("unless_cited")), node.start_mark.line + 1,
                tuple(needs))


# ------------------------------------------------------------------ claim strength

CLAIM_KEYS = {"causal", "experimental", "trials", "non_experimental", "not_about_people", "about_people",
              "narrow_samples"}
NARROW_KEYS = {"group", "sample", "named_by"}


@dataclass(frozen=True)
class NarrowSample:
    group: str                  # "students": shown in the warning
    in_sample: re.Pattern       # finds it in a source's `sample`
    named: re.Pattern           # a sentence that matches names the group


@dataclass
class Claims:
    """The ``claims:`` section of the rules file: what a cited sentence may say, given its sources."""

    causal: list[re.Pattern]
    experimental: set[str]              # designs that support causal words
    trials: tuple[set[str], re.Pattern | None]   # reviews that do, when their sample is of trials
    non_experimental: set[str]          # designs that do not
    not_about_people: set[str]          # service, instrument: no finding about people at all
    about_people: re.Pattern | None     # a sentence that says something about people
    narrow: list[NarrowSample]


def _word_regex(phrases: list[str]) -> re.Pattern | None:
    """Phrases as whole words; case matters only for a phrase written in capitals ("US")."""
    if not phrases:
        return None
    def one(phrase: str) -> str:
        body = r"\s+".join(map(re.escape, phrase.split()))
        return ("(?-i:" + body + ")" if phrase.isupper() else body)
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(one, phrases)) + r")(?![\w-])", re.I)


def parse_claims(raw, node, vocab: Vocabulary, concepts: dict, problem) -> Claims | None:
    if raw is None:
        return None
    fields = _mapping_nodes(node)
    if not isinstance(raw, dict):
        problem(node, "'claims' must be a mapping", "see the comments at the top of the rules file")
        return None
    for key in raw:
        if key not in CLAIM_KEYS:
            problem(fields.get(key), f"unknown key 'claims: {key}'" + _close(key, CLAIM_KEYS))

    def strings(key) -> list[str]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problem(fields.get(key, node), f"'claims: {key}' must be a list of words or patterns")
            return []
        return value

    def patterns(key) -> list[re.Pattern]:
        compiled = []
        for text in strings(key):
            try:
                compiled.append(_searcher(compile_pattern(text, vocab, concepts)))
            except (PatternError, re.error) as exc:
                problem(fields.get(key), f"'claims: {key}': pattern '{text}': {exc}")
        return compiled

    trials = raw.get("trials") or {}
    trial_fields = _mapping_nodes(fields.get("trials"))
    if not isinstance(trials, dict) or set(trials) - {"designs", "sample"}:
        problem(fields.get("trials", node), "'claims: trials' must have 'designs' and 'sample' lists")
        trials = {}
    trial_designs = trials.get("designs") or []
    trial_words = trials.get("sample") or []
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (trial_designs, trial_words)):
        problem(trial_fields.get("designs", node), "'claims: trials' must have 'designs' and 'sample' lists")
        trial_designs, trial_words = [], []
    about = patterns("about_people")
    return Claims(patterns("causal"), set(strings("experimental")), (set(trial_designs), _word_regex(trial_words)),
                  set(strings("non_experimental")), set(strings("not_about_people")),
                  re.compile("|".join(p.pattern for p in about)) if about else None,
                  _narrow_samples(raw.get("narrow_samples"), fields.get("narrow_samples"), problem))


def _narrow_samples(raw, node, problem) -> list[NarrowSample]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problem(node, "'claims: narrow_samples' must be a list of {group, sample, named_by}")
        return []
    found = []
    for item, item_node in zip(raw, node.value if isinstance(node, yaml.SequenceNode) else []):
        ok = (isinstance(item, dict) and set(item) == NARROW_KEYS and isinstance(item["group"], str)
              and all(isinstance(item[k], list) and item[k] and all(isinstance(x, str) for x in item[k])
                      for k in ("sample", "named_by")))
        if not ok:
            problem(item_node, "each narrow sample needs 'group' (a name), 'sample' and 'named_by' (lists of words)")
            continue
        found.append(NarrowSample(item["group"], _word_regex(item["sample"]), _word_regex(item["named_by"])))
    return found


@dataclass(frozen=True)
class ClaimProblem:
    code: str                   # "causal", "sample" or "source"
    severity: str               # "error" or "warning"
    col: int                    # where in the sentence it starts
    message: str
    hint: str


def check_claims(sentence: "Sentence", claims: Claims | None, sources: dict, vocab: Vocabulary,
                 reading: "_Reading | None" = None) -> list[ClaimProblem]:
    """What a cited sentence says, weighed against the design and sample of what it cites.
    ``sources`` maps keys to their entries (``design``, ``sample``, ``finding_note``);
    ``reading`` is the sentence as ``check_sentence`` read it, when it has."""
    cited = [sources[k] for k in sentence.keys if k in sources]
    if claims is None or not cited or sentence.kind == "heading":
        return []
    reading = reading or read_sentence(sentence, vocab)
    found = []
    designs = [str(entry.get("design", "")) for entry in cited]
    correlational = claims.non_experimental | claims.trials[0]     # a review of other designs is no better
    causal = None       # looked for only where the sources cannot show causes
    if all(d in correlational for d in designs) and not any(_supports_causes(entry, claims) for entry in cited):
        causal = _causal_word(reading, claims, vocab)
    if causal is not None:
        start, word = causal
        notes = [str(e["finding_note"]) for e in cited if e.get("finding_note")]
        found.append(ClaimProblem(
            "causal", "error", start,
            f"'{word}' states a cause, but {_cited_as(sentence.keys, designs)} can only show what went together",
            "say what was seen: 'was linked to', 'went with'" + (f" (the library's note: {notes[0]})" if notes else "")))
    if all(d in claims.not_about_people for d in designs) and claims.about_people is not None \
            and claims.about_people.search(reading.string) and not reading.clauses(vocab).instructs(0):
        found.append(ClaimProblem(
            "source", "warning", 0,
            f"{_cited_as(sentence.keys, designs)} cited for a claim about people",
            "a service or instrument supports only what it offers or measures; cite a study, or say what the "
            "service offers"))
    narrow = _unnamed_narrow_group(sentence.before + " " + sentence.text, cited, claims)
    hedged = not vocab.hedges.isdisjoint(reading.stems)     # "may", "might": a possibility, not a finding
    if narrow is not None and not hedged and not reading.clauses(vocab).instructs(0):
        found.append(ClaimProblem(
            "sample", "warning", 0,
            f"the finding comes from {narrow} only, but the sentence states it about everyone",
            f"name the group, e.g. 'in one study of {narrow}', or cite a broader source"))
    return found


def _causal_word(reading: "_Reading", claims: Claims, vocab: Vocabulary) -> tuple[int, str] | None:
    """(offset in the sentence, words) of the first causal wording that no negation or hedge
    earlier in its clause softens ("may help", "did not cause")."""
    for searcher in claims.causal:
        for match in searcher.finditer(reading.string):
            start = bisect.bisect_left(reading.offsets, match.start(1))
            end = max(bisect.bisect_left(reading.offsets, match.end(1) - 1), start + 1)
            clauses = reading.clauses(vocab)
            clause_start = _reason_start(reading.words, clauses.clause_of(start)[0], start)
            if clauses.any_before(vocab.negators | vocab.hedges, clause_start, start):
                continue
            a, b = reading.spans[start][0], reading.spans[end - 1][1]
            return a, reading.sentence.text[a:b]
    return None


def _reason_start(words: list[str], clause_start: int, position: int) -> int:
    """A claim in a ", because ..." reason has its own polarity: "Stop replaying it, because
    rumination ruins sleep" states that rumination ruins sleep."""
    for i in range(position - 1, clause_start, -1):
        if words[i] in ("because", "since") and words[i - 1] == ",":
            return i
    return clause_start


def _supports_causes(entry: dict, claims: Claims) -> bool:
    design = str(entry.get("design", ""))
    if design in claims.experimental:
        return True
    designs, trial_words = claims.trials
    return design in designs and trial_words is not None and bool(trial_words.search(str(entry.get("sample", ""))))


def _cited_as(keys: tuple[str, ...], designs: list[str]) -> str:
    shown = ", ".join(f"{k} ({d or 'no design'})" for k, d in zip(keys, designs))
    return ("its source " if len(keys) == 1 else "its sources ") + shown


def _unnamed_narrow_group(text: str, cited: list[dict], claims: Claims) -> str | None:
    """The narrow group the finding comes from, when every cited source studied only a
    narrow group and the sentence names none of them; None otherwise."""
    groups = []
    for entry in cited:
        sample = str(entry.get("sample", ""))
        narrow = [n for n in claims.narrow if n.in_sample.search(sample)]
        if not narrow:
            return None             # one broad source covers the claim
        groups.append(narrow)
    if any(n.named.search(text) for narrow in groups for n in narrow):
        return None
    return groups[0][0].group


# ------------------------------------------------------------------ sentences of a page

class Sentence(NamedTuple):
    """One sentence of a page.  (A named tuple: a page makes dozens, and a frozen dataclass
    takes four times as long to make.)"""

    text: str
    line: int
    col: int
    kind: str = "text"         # "text", "heading" or "table"
    in_myth: bool = False
    cited: bool = False            # a [@citation] or footnote in the sentence itself
    paragraph_cited: bool = False  # ... or anywhere in its paragraph
    keys: tuple[str, ...] = ()     # the bibliography keys the sentence cites, in order
    before: str = ""               # the paragraph's text before the sentence (it may name a study's group)


@dataclass(frozen=True)
class MythBlock:
    line: int
    col: int


_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_HEADING_RE = re.compile(r"^(\s{0,3}#{1,6}\s+)")
_ADMONITION_RE = re.compile(r'^(\s*)(?:!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+("[^"]*"))?')
_ITEM_RE = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+")
_QUOTE_RE = re.compile(r"^\s*(?:>\s?)+")
_FIELD_START_RE = re.compile(r"^\s*\[[a-z_]+:")
_FOOTNOTE_DEF_RE = re.compile(r"^\[\^[^\]]+\]:\s*")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_ATTR_LINE_RE = re.compile(r"^\s*\{[:#.][^}]*\}\s*$")

# Markup that is not prose, as (regex, group to keep or None).  No bracket class may
# cross the bracket it closes ("[^\[\]]", not "[^\]]"): a scan that starts at every "["
# then stops at the next one, so each mask is linear in the line however the brackets
# fall ("[@" x 200,000 once took minutes).  Comments are found by ``_mask_comments``.
_MASKS = [
    (re.compile(r"`[^`]*`"), None),
    (re.compile(r"!\[[^\[\]]*\]\((?:[^()]|\([^()]*\))*\)"), None),
    (re.compile(r"\[([^\[\]]*)\]"), "citation"),           # [@a], [see @a], [p. 3; @b]
    (re.compile(r"\[\^[^\[\]]+\]:?"), None),
    (re.compile(r"\[[a-z_]+:[^\[\]]*\]"), None),
    (re.compile(r"\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)"), 1),
    (re.compile(r"\[([^\[\]]*)\]\[[^\[\]]*\]"), 1),
    (re.compile(r"<(?:https?|mailto|tel|sms):[^<>]*>"), None),
    (re.compile(r"\{[:#.][^{}]*\}"), None),
    (re.compile(r"\*\*|__|\*|~~|(?<!\w)_|_(?!\w)"), None),
]
_CITATION_INNER_RE = re.compile(r"^(?:see )?@|;\s*@")
_MARKUP_CHAR_RE = re.compile(r"[<`\[{*_~]")     # every mask above starts with or needs one of these
_CITATION_RE = re.compile(r"\[([^\[\]]*)\](?!:)")             # [@key ...] or a footnote reference [^1]
_CITED_KEY_RE = re.compile(r"(?<![\w\\])@(\w(?:[\w.:-]*\w)?)")     # bibliography.KEY after an @
_WORD_CHAR_RE = re.compile(r"\w")
_SPLIT_RE = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9£$])")


def _mask(line: str) -> str:
    """The line with markup replaced by spaces, so columns stay where they were."""
    if not _MARKUP_CHAR_RE.search(line):
        return line       # most lines: none of the masks can match
    line = _mask_comments(line)
    for regex, keep in _MASKS:
        def blank(m, keep=keep):
            if keep == "citation":
                return " " * len(m.group()) if _CITATION_INNER_RE.search(m.group(1)) else m.group()
            if keep is None:
                return " " * len(m.group())
            inner = m.group(keep)
            start = m.start(keep) - m.start()
            return " " * start + inner + " " * (len(m.group()) - start - len(inner))
        line = regex.sub(blank, line)
    return line


def _mask_comments(line: str) -> str:
    """Blank each ``<!-- ... -->``; one left open runs to the end of the line.  A scan with
    str.find, because ``<!--.*?-->`` restarts at every "<!--" of a line that never closes."""
    pieces, pos = [], 0
    while (start := line.find("<!--", pos)) != -1:
        end = line.find("-->", start + 4)
        if end == -1:
            break         # never closed: left as text, as Markdown leaves it
        end += 3
        pieces += [line[pos:start], " " * (end - start)]
        pos = end
    return "".join(pieces) + line[pos:] if pieces else line


def _blank_prefix(line: str, regex: re.Pattern) -> str:
    match = regex.match(line)
    return " " * match.end() + line[match.end():] if match else line


@dataclass
class _Block:
    kind: str
    in_myth: bool
    pieces: list = field(default_factory=list)    # (line, masked text, raw text)


def page_sentences(body: str, first_line: int = 1) -> tuple[list[Sentence], list[MythBlock]]:
    """Sentences of a page body (Markdown), each with its line and column in the file."""
    blocks: list[_Block] = []
    myths: list[MythBlock] = []
    current: _Block | None = None
    in_code = False
    myth_indent: int | None = None
    for index, raw in enumerate(body.split("\n")):
        line_no = first_line + index
        if _FENCE_RE.match(raw):
            in_code, current = not in_code, None
            continue
        if in_code or not raw.strip() or _ATTR_LINE_RE.match(raw):
            current = None
            continue
        indent = len(raw) - len(raw.lstrip())
        if myth_indent is not None and indent <= myth_indent:
            myth_indent = None
        admonition = _ADMONITION_RE.match(raw)
        if admonition:
            current = None
            is_myth = admonition.group(2).lower() == "myth"
            if is_myth:
                myths.append(MythBlock(line_no, indent + 1))
            title = admonition.group(3)
            if title:
                offset = admonition.start(3) + 1
                blocks.append(_Block("text", is_myth or myth_indent is not None,
                                     [(line_no, " " * offset + _mask(title[1:-1]), raw)]))
            if is_myth:
                myth_indent = indent
            continue
        in_myth = myth_indent is not None
        if "|" in raw and raw.lstrip().startswith("|"):
            current = None
            if not _TABLE_SEP_RE.match(raw):
                for cell in re.finditer(r"[^|]+", raw):
                    if cell.group().strip():
                        text = " " * cell.start() + _mask(cell.group())
                        blocks.append(_Block("table", in_myth, [(line_no, text, raw)]))
            continue
        text = _blank_prefix(raw, _QUOTE_RE)
        if _HEADING_RE.match(text):
            blocks.append(_Block("heading", in_myth, [(line_no, _mask(_blank_prefix(text, _HEADING_RE)), raw)]))
            current = None
            continue
        starts_item = bool(_ITEM_RE.match(text) or _FIELD_START_RE.match(text) or _FOOTNOTE_DEF_RE.match(text))
        text = _blank_prefix(_blank_prefix(text, _ITEM_RE), _FOOTNOTE_DEF_RE)
        if current is None or starts_item or current.in_myth != in_myth:
            current = _Block("text", in_myth)
            blocks.append(current)
        current.pieces.append((line_no, _mask(text), raw))
    sentences = [s for block in blocks for s in _split_block(block)]
    return sentences, myths


CONTEXT_CHARS = 600    # how far back in its paragraph a sentence may have named a study's group


def _split_block(block: _Block) -> list[Sentence]:
    text = ""
    cited_at: list[tuple[int, tuple[str, ...]]] = []   # (offset in text, keys) of each citation, in order
    where = []            # (offset in text, line, column there): one per line, and 0 for each joining space
    for line_no, masked, raw in block.pieces:
        if text:
            where.append((len(text), line_no, 0))
            text += " "
        cited_at += [(len(text) + match.start(), keys) for match, keys in _citations(raw)]
        where.append((len(text), line_no, 1))
        text += masked
    starts = [offset for offset, _, _ in where]
    cite_starts = [offset for offset, _ in cited_at]
    sentences, start = [], 0
    for end in [m.start() for m in _SPLIT_RE.finditer(text)] + [len(text)]:
        chunk = text[start:end]
        stripped = " ".join(chunk.split())
        if _WORD_CHAR_RE.search(stripped):
            first = start + len(chunk) - len(chunk.lstrip())
            inside = cited_at[bisect.bisect_left(cite_starts, start):bisect.bisect_left(cite_starts, end + 1)]
            keys = tuple(dict.fromkeys(key for _, ks in inside for key in ks))
            offset, line, col = where[bisect.bisect_right(starts, first) - 1]
            col = col + first - offset if col else 0
            before = " ".join(text[max(0, first - CONTEXT_CHARS):first].split()) if keys else ""
            sentences.append(Sentence(stripped, line, col, block.kind, block.in_myth, bool(inside),
                                      bool(cited_at), keys, before))
        start = end
    return sentences


def _citations(raw: str):
    """(match, cited keys) of each [@citation] and footnote reference [^n] in a raw line."""
    for match in _CITATION_RE.finditer(raw):
        inner = match.group(1)
        if inner.startswith("^") and len(inner) > 1:
            yield match, ()
        elif "@" in inner:
            keys = tuple(_CITED_KEY_RE.findall(inner))
            if keys:
                yield match, keys


# ------------------------------------------------------------------ matching

@dataclass(frozen=True)
class Violation:
    rule: Rule
    sentence: Sentence
    line: int
    col: int
    matched: str


@dataclass
class _Reading:
    """A sentence as the matcher sees it."""

    sentence: Sentence
    compounds: list[tuple[str, ...]]
    stems: list[str]
    words: list[str]              # as written, lower-cased
    keys: set[str]                # stems and words: what the rules' Needs look for
    _clauses: _Clauses | None = None
    _spans: dict = field(default_factory=dict)     # searcher -> where it matches, for found_outside

    @functools.cached_property
    def spans(self) -> list[tuple[int, int]]:
        """Where each word starts and ends in the sentence, for the few sentences that break a rule."""
        return [(t.start, t.end) for t in words_of(self.sentence.text, self.compounds)]

    @functools.cached_property
    def string(self) -> str:
        """What the patterns match: " stem/word stem/word ... ", each followed by one space.
        Made only for a sentence some rule's Needs let through."""
        return " " + "".join(f"{s}/{w} " for s, w in zip(self.stems, self.words))

    def clauses(self, vocab: Vocabulary) -> _Clauses:
        if self._clauses is None:
            self._clauses = read_clauses(self.stems, self.words, vocab)
        return self._clauses

    def found_outside(self, searcher: re.Pattern | None, a: int, b: int) -> bool:
        """Whether ``searcher`` matches somewhere in ``string`` that does not overlap [a, b)."""
        if searcher is None:
            return False
        key = id(searcher)
        if key not in self._spans:      # the earliest end and the latest start of any match
            spans = [(m.start(1), m.end(1)) for m in searcher.finditer(self.string)]
            self._spans[key] = (min((e for _, e in spans), default=None), max((s for s, _ in spans), default=None))
        first_end, last_start = self._spans[key]
        return first_end is not None and (first_end <= a or last_start >= b)

    @functools.cached_property
    def offsets(self) -> list[int]:
        """Where each word starts in ``string``; one more for the end."""
        return list(itertools.accumulate((len(s) + len(w) + 2 for s, w in zip(self.stems, self.words)), initial=1))


def read_sentence(sentence: Sentence, vocab: Vocabulary) -> _Reading:
    stems, words = _stems_and_words(sentence.text, vocab.compound_firsts)
    keys = set(stems)
    keys.update(words)
    return _Reading(sentence, vocab.compounds, stems, words, keys)


def check_sentence(sentence: Sentence, rules: Rules, reading: _Reading | None = None) -> list[Violation]:
    """Every rule the sentence breaks (at most one violation per rule)."""
    reading = reading or read_sentence(sentence, rules.vocab)
    found = []
    for rule, patterns in rules.candidates(reading.keys):
        hit = _first_hit(rule, patterns, reading, rules.vocab)
        if hit is not None:
            start, end = reading.spans[hit[0]][0], reading.spans[hit[1] - 1][1]
            found.append(Violation(rule, sentence, sentence.line, sentence.col + start, sentence.text[start:end]))
    return found


def _first_hit(rule: Rule, patterns: list[int], reading: _Reading, vocab: Vocabulary) -> tuple[int, int] | None:
    """Token span of the first match of ``rule`` (trying ``patterns``, indices into its
    patterns) that the sentence does not rule out."""
    if rule.unless_cited and reading.sentence.paragraph_cited:
        return None
    for j in patterns:
        parts, needs = rule.patterns[j], rule.needs[j]
        if any(map(reading.keys.isdisjoint, needs[1:])):
            continue
        first, *others = parts
        if not all(p.search(reading.string) for p in others):
            continue
        for match in first.finditer(reading.string):
            if match.end(1) == match.start(1):
                continue
            start = bisect.bisect_left(reading.offsets, match.start(1))     # a match starts at a word
            end = max(bisect.bisect_left(reading.offsets, match.end(1) - 1), start + 1)
            if not _ruled_out(rule, reading, vocab, start, end):
                return start, end
    return None


def _ruled_out(rule: Rule, reading: _Reading, vocab: Vocabulary, start: int, end: int) -> bool:
    """Whether the sentence negates, conditions or describes what matched between tokens start and end."""
    if _asks(reading, vocab):
        return True           # "Should I keep checking his page?" asks; it neither advises nor claims
    clauses = reading.clauses(vocab)
    clause_start, in_condition = clauses.clause_of(start)
    if rule.stance == "advice" and in_condition:
        return True           # "if you keep texting, ..." states a condition, not advice
    if rule.stance == "advice" and _judged_act(reading, vocab, clauses, clause_start, start, end):
        return True           # "Watching their stories won't tell you ..." names the act to judge it
    if clauses.any_before(vocab.negators, clause_start, start):
        return True
    if rule.stance == "claim" and clauses.any_before(vocab.hedges, clause_start, start):
        return True
    a, b = reading.offsets[start], reading.offsets[end]
    if reading.found_outside(vocab.rebuttal, a, b):
        return True
    if rule.stance != "advice":
        return False
    if vocab.nominal is not None and vocab.nominal.search(reading.string, max(0, a - 80), a):
        return True           # "trying to make someone jealous ..." names the act as a topic
    if clauses.instructs(start):
        return False          # an instruction is advice, whatever it cites or names
    # A sentence that reports research ("in one study", "people who ...") or names the harm
    # describes the tactic; a citation alone does not make it a report.
    return reading.found_outside(vocab.describing, a, b)


_QUESTION_LABELS = {"q", "question", "faq", "reader", "asks"}


def _asks(reading: _Reading, vocab: Vocabulary) -> bool:
    """A yes-or-no question ("Should I ...?", "Q: Is it a sign ...?"): it opens with one of the
    rules' ``question_openers`` (after a "Q:" label) and ends with a question mark."""
    if not reading.sentence.text.rstrip(" \"'”’)]").endswith("?"):
        return False
    words = reading.words
    first = 2 if len(words) > 2 and words[0] in _QUESTION_LABELS and words[1] == ":" else 0
    return first < len(words) and words[first] in vocab.question_openers


def _judged_act(reading: _Reading, vocab: Vocabulary, clauses: "_Clauses", clause_start: int, start: int,
                end: int) -> bool:
    """The match opens its clause as a gerund subject that the clause then negates:
    "Checking their location won't tell you ...", "Watching their stories doesn't help"."""
    if start != clause_start or not reading.words[start].endswith("ing"):
        return False
    stop = next((i for i in range(end, len(reading.stems)) if clauses.starts[i] != clause_start), len(reading.stems))
    return any(stem in vocab.negators for stem in reading.stems[end:stop])


@dataclass
class _Clauses:
    """Where the clauses of one sentence start, worked out once (every rule's matches ask)."""

    stems: list[str]
    starts: list[int]             # per word (and one past the end): where its clause starts
    leading_end: dict             # clause start -> comma closing its leading "if ..." condition, or None
    inner_close: list             # per word: the comma closing the ", even if ...," it sits in, or None
    inner_open: list              # per word: where that inner condition opens
    hard_starts: list[int]        # per word: start of its stretch between ; : and dashes
    instruction: list[bool]       # per hard stretch start: is that stretch an instruction?
    counts: dict = field(default_factory=dict)   # id(word set) -> prefix counts outside inner conditions

    def clause_of(self, position: int) -> tuple[int, bool]:
        """Where the clause holding ``position`` starts, and whether it is a leading condition."""
        start = self.starts[position]
        if start < len(self.stems) and start in self.leading_end:
            comma = self.leading_end[start]
            if comma is None:
                return start, False
            return (comma + 1, False) if comma < position else (start, True)
        return start, False

    def any_before(self, words: set[str], start: int, position: int) -> bool:
        """Whether one of ``words`` stands in [start, position), outside any ", even if ...,"
        that closes before ``position`` (its negation belongs to it alone)."""
        if start >= position:
            return False
        outer, full = self._prefix(words)
        found = outer[position] - outer[start]
        last = position - 1        # an inner condition still open at position counts in full
        close = self.inner_close[last]
        if close is not None and close >= position:
            opened = max(self.inner_open[last], start)
            found += full[position] - full[opened]
        return found > 0

    def _prefix(self, words: set[str]) -> tuple[list[int], list[int]]:
        key = id(words)
        if key not in self.counts:
            outer, full = [0], [0]
            for i, stem_ in enumerate(self.stems):
                hit = stem_ in words
                full.append(full[-1] + hit)
                outer.append(outer[-1] + (hit and self.inner_close[i] is None))
            self.counts[key] = (outer, full)
        return self.counts[key]

    def instructs(self, position: int) -> bool:
        return self.instruction[self.hard_starts[position]]


def read_clauses(stems: list[str], words: list[str], vocab: Vocabulary) -> _Clauses:
    """Clause starts: after ; : and dashes, after "but"/"however" (the rules' clause_words),
    and at ", so" and ", and".  A leading "if/when/once ..." clause ends at its comma; a
    list inside it ("every time you talk, see them or check their profile, ...") runs on
    to the next comma.  Linear in the sentence."""
    n = len(stems)
    starts, hard, current, hard_current = [], [], 0, 0
    for i in range(n + 1):
        if i < n and stems[i] in ("so", "and") and i > 0 and stems[i - 1] == ",":
            current = i           # ", so they ..." opens a clause of its own, purpose word included
        starts.append(current)
        hard.append(hard_current)
        if i == n:
            break
        word = stems[i]
        if word in CLAUSE_BREAKS or word in vocab.clause_words:
            current = i + 1
        if word in CLAUSE_BREAKS:
            hard_current = i + 1
    commas = [i for i, w in enumerate(stems) if w == ","]
    joined = [0]                       # prefix counts of "or"/"and": a list inside a condition
    for w in stems:
        joined.append(joined[-1] + (w in ("or", "and")))
    clean_from: list[int | None] = [None] * len(commas)
    following = None
    for k in range(len(commas) - 2, -1, -1):
        if joined[commas[k + 1]] - joined[commas[k] + 1] == 0:
            following = k
        clean_from[k] = following
    leading_end = {}
    for start in set(starts):
        if start < n and stems[start] in vocab.subordinators:
            k = bisect.bisect_left(commas, start)
            if k >= len(commas):
                leading_end[start] = None
            else:
                clean = clean_from[k]
                end = commas[clean] if clean is not None else commas[-1]
                after = stems[end + 1] if end + 1 < n else ""
                if end != commas[k] and (after in vocab.subordinators or after in ("so", "and", "but")):
                    end = commas[k]     # "..., since ..." cannot be the main clause: no list ran on
                if end != commas[k] and _orders_after(stems, words, start, commas[k], vocab):
                    end = commas[k]     # "If she's blocked you, borrow a phone and call, ...": no list
                leading_end[start] = end
    inner_close: list[int | None] = [None] * (n + 1)
    inner_open = [0] * (n + 1)
    for i in range(1, n):
        if stems[i - 1] == "," and stems[i] in vocab.subordinators:
            k = bisect.bisect_left(commas, i)
            if k < len(commas):
                for j in range(i, commas[k]):
                    inner_close[j], inner_open[j] = commas[k], i
    clauses = _Clauses(stems, starts, leading_end, inner_close, inner_open, hard, [False] * (n + 1))
    for start in set(hard):
        clauses.instruction[start] = _is_instruction(stems, words, start, vocab, clauses)
    return clauses


def _orders_after(stems: list[str], words: list[str], start: int, comma: int, vocab: Vocabulary) -> bool:
    """Whether a condition about someone else ("if she has blocked you") is followed by an order
    ("borrow ..."): a list inside the condition would go on with her verbs, not the reader's."""
    subject = words[start + 1] if start + 1 < len(words) else ""
    after = words[comma + 1] if comma + 1 < len(words) else ""
    return subject not in ("you", "i", "we") and after in vocab.imperatives


def _is_instruction(stems: list[str], words: list[str], start: int, vocab: Vocabulary, clauses: _Clauses) -> bool:
    """Whether the stretch of a sentence from ``start`` to the next ; : or dash tells the
    reader to do something: it opens (after any leading "if ..., ") with an imperative, or
    says "you should", "try", "the trick is" (the rules' ``instructions``)."""
    end = next((i for i in range(start, len(stems)) if stems[i] in CLAUSE_BREAKS), len(stems))
    first = start
    comma = clauses.leading_end.get(start)
    if comma is not None and comma < end:
        first = comma + 1
    while first < end and words[first] in vocab.lead_ins:
        first += 1
    if first < end and words[first].split("-", 1)[0] in vocab.imperatives:     # "hang-on-to" too
        return True
    if vocab.instructions is None:
        return False
    stretch = " " + "".join(f"{s}/{w} " for s, w in zip(stems[start:end], words[start:end]))
    return bool(vocab.instructions.search(stretch))


# ------------------------------------------------------------------ pages

MIN_WORDS_FOR_GRADE = 100     # Flesch-Kincaid means little on a handful of sentences


@dataclass
class PageFindings:
    """What the editorial checks found on one page, for the report table."""

    shown: str
    words: int = 0
    grade: float = 0.0
    violations: int = 0
    next_review: dt.date | None = None
    grade_max: int = 8          # the ceiling that applied (reading_grade_max in content/site.yaml)
    cites: list = field(default_factory=list)   # the bibliography keys the page cites, in order of first use


def check_site(site, report: Report, today: dt.date, check_pages=None,
               loaded_rules: dict | None = None) -> dict[str, PageFindings]:
    """Every editorial check of a loaded site.  Returns findings by page path.  (That every
    rendered page carries the help block is checked as it is rendered: ``check_help_block``.)

    ``check_pages(pages, check)`` may run ``check(page) -> (findings, diagnostics)`` in
    worker processes or answer it from a cache (the checks of one page are pure).
    ``loaded_rules`` keeps compiled rules between builds of one process (``serve``)."""
    rules = rules_for(site, report, loaded_rules)
    sources = claim_sources(site)

    def check(page) -> tuple[PageFindings, list]:
        own = Report()
        return check_page(page, rules, site.config, own, today, sources), own.items

    findings = {}
    checked = check_pages(site.pages, check) if check_pages else [check(page) for page in site.pages]
    for page, (found, diagnostics) in zip(site.pages, checked):
        findings[page.shown] = found
        report.extend(diagnostics)
    return findings


def rules_for(site, report: Report, loaded: dict | None) -> Rules | None:
    """The site's rules, compiled once per version of the rules file and bibliography (kept
    in ``loaded``, so a call ahead of ``check_site`` compiles them for it)."""
    path = site.project.content / RULES_FILE
    keys = source_keys(site)
    memo_key = (path.read_bytes() if path.is_file() else None, frozenset(keys) if keys is not None else None)
    if loaded is not None and memo_key in loaded:
        rules, diagnostics = loaded[memo_key]
    else:
        own = Report()
        rules, diagnostics = load_rules(site.project.content, site.project.root, own, keys), own.items
        if loaded is not None:
            loaded.clear()
            loaded[memo_key] = (rules, diagnostics)
    report.extend(diagnostics)
    return rules


def claim_sources(site) -> dict[str, dict]:
    """What the claim checks read of each bibliography entry.  (A cache of editorial results
    must be keyed by this too: ``claim_inputs``.)"""
    if not (site.project.content / "sources.yaml").is_file():
        return {}
    return {key: {f: source.data[f] for f in CLAIM_FIELDS if f in source.data}
            for key, source in site.bibliography.sources.items()}


CLAIM_FIELDS = ("design", "sample", "finding_note")


def claim_inputs(site) -> str:
    """The bibliography fields the editorial results depend on, as one string for a cache key."""
    return repr(sorted((k, sorted(v.items())) for k, v in claim_sources(site).items()))


def source_keys(site) -> set[str] | None:
    """Keys of the loaded bibliography, to check the rules' 'why'; None when there is none."""
    if not (site.project.content / "sources.yaml").is_file():
        return None
    return set(site.bibliography.sources)


def check_page(page, rules: Rules | None, config, report: Report, today: dt.date,
               sources: dict | None = None) -> PageFindings:
    sentences, violations = check_page_text(page, rules, report, sources)
    found = PageFindings(page.shown, violations=len(violations), next_review=page.meta["next_review"],
                         grade_max=config.reading_grade_max,
                         cites=list(dict.fromkeys(k for s in sentences for k in s.keys)))
    prose = [s for s in sentences if s.kind == "text"]
    measured = measure([s.text for s in prose])
    found.words, found.grade = measured.words, measured.grade
    if measured.words >= MIN_WORDS_FOR_GRADE and measured.grade > config.reading_grade_max:
        hardest = sorted(prose, key=lambda s: -measure([s.text]).grade * len(words_in(s.text)))[:3]
        report.error(page.shown, hardest[0].line, hardest[0].col, "reading-grade",
                     f"body text reads at Flesch-Kincaid grade {measured.grade:.1f}; the ceiling is "
                     f"{config.reading_grade_max}",
                     "use shorter sentences and everyday words; the hardest sentences start at line "
                     + ", ".join(str(s.line) for s in hardest))
    check_review_dates(page, today, config.review_interval_months, report)
    return found


def check_page_text(page, rules: Rules | None, report: Report,
                    sources: dict | None = None) -> tuple[list[Sentence], list[Violation]]:
    """Rules, claim strength and myth blocks of one page; problems are added to ``report``.
    ``sources`` (key -> design, sample, finding_note) turns on the claim checks."""
    sentences, myths = page_sentences(page.body, page.body_line)
    myths_allowed = page.meta.get("allow_myths") is True
    for myth in myths if not myths_allowed else ():
        report.error(page.shown, myth.line, myth.col, "myth-not-allowed",
                     "a myth block is only allowed on a page that explains what we left out",
                     "rewrite it as plain advice, or move it to a page with 'allow_myths: true' (kind: page)")
    violations = []
    for sentence in sentences if rules is not None else ():
        if sentence.in_myth and myths_allowed:
            continue
        reading = read_sentence(sentence, rules.vocab)        # read once for both checks
        for violation in check_sentence(sentence, rules, reading):
            rule = violation.rule
            report.error(page.shown, violation.line, violation.col, f"editorial/{rule.id}",
                         f"{rule.message} (\"{_excerpt(sentence.text)}\")",
                         f"{rule.rewrite} [why: {', '.join(rule.why)}]")
            violations.append(violation)
        for problem in check_claims(sentence, rules.claims, sources or {}, rules.vocab, reading):
            add = report.error if problem.severity == "error" else report.warning
            add(page.shown, sentence.line, sentence.col + problem.col, f"claim/{problem.code}",
                f"{problem.message} (\"{_excerpt(sentence.text)}\")", problem.hint)
    return sentences, violations


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check_review_dates(page, today: dt.date, interval_months: int, report: Report) -> None:
    """next_review must be after last_reviewed, at most ``interval_months`` later, and not past."""
    last, due = page.meta["last_reviewed"], page.meta["next_review"]
    line, col = page.positions.get("next_review", (1, 1))
    if due <= last:
        report.error(page.shown, line, col, "review-dates", f"next_review {due} is not after last_reviewed {last}",
                     "set next_review to the date the next review is due")
    elif due > add_months(last, interval_months):
        report.error(page.shown, line, col, "review-interval",
                     f"next_review {due} is more than {interval_months} months after last_reviewed {last}",
                     f"set it to {add_months(last, interval_months)} or earlier "
                     "('review_interval_months' in content/site.yaml; the standard allows at most 36)")
    if due < today:
        report.warning(page.shown, line, col, "review-overdue", f"the review was due on {due}",
                       "review the whole page, then update last_reviewed and next_review")


_HELP_RE = re.compile(r'\sid="help"')


def check_help_block(shown: str, html: str, report: Report) -> None:
    """Every rendered page carries the help block (templates/partials/help.html)."""
    if not _HELP_RE.search(html):
        report.error(shown, 1, 1, "help-missing", "the page has no help block (an element with id=\"help\")",
                     "its template must {% include \"partials/help.html\" %}, as base.html does")
