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
    compound_firsts: set[str] = field(default_factory=set)               # first stems of the compounds


def words_of(text: str, compounds) -> list[Token]:
    """Tokenize, then join the rules' compounds ("no contact" -> one word "no-contact")."""
    tokens = tokenize(text)
    return [tokens[a] if b - a == 1 else _joined(tokens[a:b])
            for a, b in _compound_runs([t.stem for t in tokens], compounds, {c[0] for c in compounds})]


def _joined(tokens: list[Token]) -> Token:
    return Token("-".join(t.stem for t in tokens), "-".join(t.word for t in tokens), tokens[0].start, tokens[-1].end)


def _compound_runs(stems: list[str], compounds, firsts: set[str]) -> list[tuple[int, int]]:
    """(start, end) of each word once compounds are joined: [(0, 1), (1, 3), ...]."""
    runs, i = [], 0
    while i < len(stems):
        n = _compound_length(stems, i, compounds) if stems[i] in firsts else 1
        runs.append((i, i + n))
        i += n
    return runs


def _compound_length(stems: list[str], i: int, compounds) -> int:
    """Words in the first compound (the longest: they are sorted so) that starts at ``i``; 1 if none."""
    return next((len(c) for c in compounds if tuple(stems[i:i + len(c)]) == c), 1)


def _stems_and_words(text: str, compounds, firsts: set[str]) -> tuple[list[str], list[str]]:
    """``words_of`` without the Tokens, for reading sentences in bulk: most are never
    matched, and making a Token per word would cost more than the reading itself."""
    pairs = [pair for written in _TOKEN_RE.findall(text.replace("’", "'")) for pair in _words_written(written)]
    stems, words = [s for s, _ in pairs], [w for _, w in pairs]
    if firsts.isdisjoint(stems):
        return stems, words
    runs = _compound_runs(stems, compounds, firsts)
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
    patterns: tuple[tuple[re.Pattern, ...], ...]   # any pattern; each is parts that must all match
    message: str
    rewrite: str
    why: tuple[str, ...]
    unless_cited: bool = False
    line: int = 1
    needs: tuple[tuple[Need, ...], ...] = ()   # per pattern: all must be met before its regexes run
    trigger: Need | None = None                # one of these in a sentence, or no pattern can match


@dataclass
class Rules:
    rules: list[Rule]
    vocab: Vocabulary
    shown: str = ""

    def __len__(self) -> int:
        return len(self.rules)


RULE_KEYS = {"id", "family", "stance", "match", "message", "rewrite", "why", "unless_cited"}
TOP_KEYS = {"compounds", "negators", "hedges", "clause_words", "subordinators", "describing", "rebuttal", "nominal",
            "concepts", "rules"}


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
    if len(report.errors()) > before:
        return None
    return Rules(rules, vocab, shown)


def _searcher(regex: str) -> re.Pattern:
    """Finds ``regex`` at word starts; the match is group 1.  (A leading space to scan
    for is about twice as fast as a look-behind on every character.)"""
    return re.compile(f" (?=({regex}))")


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
                       compound_firsts={c[0] for c in compounds})
    vocab.negators = {t.stem for w in words("negators") for t in words_of(w, compounds)}
    vocab.hedges = {t.stem for w in words("hedges") for t in words_of(w, compounds)}
    vocab.clause_words = {t.stem for w in words("clause_words") for t in words_of(w, compounds)}
    vocab.subordinators = {t.stem for w in words("subordinators") for t in words_of(w, compounds)}
    concepts = data.get("concepts") or {}
    if not isinstance(concepts, dict) or not all(isinstance(v, list) for v in concepts.values()):
        problem(nodes.get("concepts"), "'concepts' must map names to lists of phrases")
        concepts = {}
    for key in ("describing", "rebuttal", "nominal"):
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
            compiled.append(tuple(_searcher(regex) for regex, _ in parts))
        except (PatternError, re.error) as exc:
            problem(fields["match"], f"rule {raw['id']}: pattern '{pattern}': {exc}")
            ok = False
            continue
        needs.append(tuple(sorted((need for _, part_needs in parts for need in part_needs), key=_commonness)))
    if not ok:
        return None
    return Rule(raw["id"], raw["family"], raw["stance"], tuple(compiled), raw["message"].strip(),
                raw["rewrite"].strip(), tuple(why), bool(raw.get("unless_cited")), node.start_mark.line + 1,
                tuple(needs), _any_of([_rarest(list(n)) for n in needs]))


# ------------------------------------------------------------------ sentences of a page

@dataclass(frozen=True)
class Sentence:
    text: str
    line: int
    col: int
    kind: str = "text"         # "text", "heading" or "table"
    in_myth: bool = False
    cited: bool = False            # a [@citation] or footnote in the sentence itself
    paragraph_cited: bool = False  # ... or anywhere in its paragraph


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

_MASKS = [   # (regex, group to keep or None): markup that is not prose
    (re.compile(r"<!--.*?-->"), None),
    (re.compile(r"`[^`]*`"), None),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), None),
    (re.compile(r"\[(@[^\]]*|[^\]]*;\s*@[^\]]*|see @[^\]]*)\]"), None),
    (re.compile(r"\[\^[^\]]+\]:?"), None),
    (re.compile(r"\[[a-z_]+:[^\]]*\]"), None),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), 1),
    (re.compile(r"\[([^\]]*)\]\[[^\]]*\]"), 1),
    (re.compile(r"<(?:https?|mailto|tel|sms):[^>]*>"), None),
    (re.compile(r"\{[:#.][^}]*\}"), None),
    (re.compile(r"\*\*|__|\*|~~|(?<!\w)_|_(?!\w)"), None),
]
_MARKUP_CHAR_RE = re.compile(r"[<`\[{*_~]")     # every mask above starts with or needs one of these
_CITATION_RE = re.compile(r"\[(?:[^\]]*@[\w:.#$%&\-+?<>~/]+[^\]]*)\]|\[\^[^\]]+\](?!:)")
_WORD_CHAR_RE = re.compile(r"\w")
_SPLIT_RE = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9£$])")


def _mask(line: str) -> str:
    """The line with markup replaced by spaces, so columns stay where they were."""
    if not _MARKUP_CHAR_RE.search(line):
        return line       # most lines: none of the masks can match
    for regex, keep in _MASKS:
        def blank(m, keep=keep):
            if keep is None:
                return " " * len(m.group())
            inner = m.group(keep)
            start = m.start(keep) - m.start()
            return " " * start + inner + " " * (len(m.group()) - start - len(inner))
        line = regex.sub(blank, line)
    return line


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


def _split_block(block: _Block) -> list[Sentence]:
    text, cited_at = "", set()
    where = []            # (offset in text, line, column there): one per line, and 0 for each joining space
    for line_no, masked, raw in block.pieces:
        if text:
            where.append((len(text), line_no, 0))
            text += " "
        for match in _CITATION_RE.finditer(raw):
            cited_at.add(len(text) + match.start())
        where.append((len(text), line_no, 1))
        text += masked
    starts = [offset for offset, _, _ in where]
    sentences, start = [], 0
    for end in [m.start() for m in _SPLIT_RE.finditer(text)] + [len(text)]:
        chunk = text[start:end]
        stripped = " ".join(chunk.split())
        if _WORD_CHAR_RE.search(stripped):
            first = start + len(chunk) - len(chunk.lstrip())
            cited = any(start <= pos < end + 1 for pos in cited_at)
            offset, line, col = where[bisect.bisect_right(starts, first) - 1]
            col = col + first - offset if col else 0
            sentences.append(Sentence(stripped, line, col, block.kind, block.in_myth, cited, bool(cited_at)))
        start = end
    return sentences


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

    @functools.cached_property
    def spans(self) -> list[tuple[int, int]]:
        """Where each word starts and ends in the sentence, for the few sentences that break a rule."""
        return [(t.start, t.end) for t in words_of(self.sentence.text, self.compounds)]

    @functools.cached_property
    def string(self) -> str:
        """What the patterns match: " stem/word stem/word ... ", each followed by one space.
        Made only for a sentence some rule's Needs let through."""
        return " " + "".join(f"{s}/{w} " for s, w in zip(self.stems, self.words))

    @functools.cached_property
    def offsets(self) -> list[int]:
        """Where each word starts in ``string``; one more for the end."""
        return list(itertools.accumulate((len(s) + len(w) + 2 for s, w in zip(self.stems, self.words)), initial=1))


def read_sentence(sentence: Sentence, vocab: Vocabulary) -> _Reading:
    stems, words = _stems_and_words(sentence.text, vocab.compounds, vocab.compound_firsts)
    keys = set(stems)
    keys.update(words)
    return _Reading(sentence, vocab.compounds, stems, words, keys)


def check_sentence(sentence: Sentence, rules: Rules) -> list[Violation]:
    """Every rule the sentence breaks (at most one violation per rule)."""
    reading = read_sentence(sentence, rules.vocab)
    found = []
    for rule in rules.rules:
        if rule.trigger is not None and rule.trigger.isdisjoint(reading.keys):
            continue
        hit = _first_hit(rule, reading, rules.vocab)
        if hit is not None:
            start, end = reading.spans[hit[0]][0], reading.spans[hit[1] - 1][1]
            found.append(Violation(rule, sentence, sentence.line, sentence.col + start, sentence.text[start:end]))
    return found


def _first_hit(rule: Rule, reading: _Reading, vocab: Vocabulary) -> tuple[int, int] | None:
    """Token span of the first match of ``rule`` that the sentence does not rule out."""
    if rule.unless_cited and reading.sentence.paragraph_cited:
        return None
    for parts, needs in zip(rule.patterns, rule.needs):
        if any(map(reading.keys.isdisjoint, needs)):
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
    stems = reading.stems
    clause_start, in_condition = _clause_of(stems, start, vocab)
    if rule.stance == "advice" and in_condition:
        return True           # "if you keep texting, ..." states a condition, not advice
    before = [s for i, s in enumerate(stems[clause_start:start], clause_start)
              if i not in _inner_conditions(stems, start, vocab)]
    if any(s in vocab.negators for s in before):
        return True
    if rule.stance == "claim" and any(s in vocab.hedges for s in before):
        return True
    a, b = reading.offsets[start], reading.offsets[end]
    outside = reading.string[:a] + " " * (b - a) + reading.string[b:]
    if vocab.rebuttal is not None and vocab.rebuttal.search(outside):
        return True
    if rule.stance != "advice":
        return False
    if reading.sentence.cited:
        return True           # a cited sentence reports what a study found
    if vocab.nominal is not None and vocab.nominal.search(reading.string[:a]):
        return True           # "trying to make someone jealous ..." names the act as a topic
    return vocab.describing is not None and bool(vocab.describing.search(outside))


def _clause_of(stems: list[str], position: int, vocab: Vocabulary) -> tuple[int, bool]:
    """Where the clause holding ``position`` starts, and whether it is a leading condition ("if ..., ").

    A clause starts after ; : and dashes, after "but"/"however" (the rules' clause_words),
    and at ", so" and ", and".  A leading "if/when/once ..." clause ends at its comma.
    """
    start = 0
    for i in range(position):
        word = stems[i]
        if word in CLAUSE_BREAKS or word in vocab.clause_words:
            start = i + 1
        elif word in ("so", "and") and i > 0 and stems[i - 1] == ",":
            start = i + 1
    if start < len(stems) and stems[start] in vocab.subordinators:
        comma = _condition_end(stems, start)
        if comma is None:
            return start, False
        if comma < position:
            return comma + 1, False
        return start, True
    return start, False


def _inner_conditions(stems: list[str], position: int, vocab: Vocabulary) -> set[int]:
    """Word positions of ", even if you aren't," and the like before ``position``: their
    negations belong to them, not to the rest of the sentence."""
    inside: set[int] = set()
    for i in range(1, position):
        if stems[i - 1] == "," and stems[i] in vocab.subordinators and "," in stems[i:position]:
            inside.update(range(i, stems.index(",", i)))
    return inside


def _condition_end(stems: list[str], start: int) -> int | None:
    """The comma that closes a leading condition.  A list inside it ("every time you
    talk, see them or check their profile, ...") runs on to the next comma."""
    commas = [i for i in range(start, len(stems)) if stems[i] == ","]
    for this, after in zip(commas, commas[1:]):
        if not {"or", "and"} & set(stems[this + 1:after]):
            return this
    return commas[-1] if commas else None


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


def check_site(site, report: Report, today: dt.date, check_pages=None,
               loaded_rules: dict | None = None) -> dict[str, PageFindings]:
    """Every editorial check of a loaded site.  Returns findings by page path.  (That every
    rendered page carries the help block is checked as it is rendered: ``check_help_block``.)

    ``check_pages(pages, check)`` may run ``check(page) -> (findings, diagnostics)`` in
    worker processes or answer it from a cache (the checks of one page are pure).
    ``loaded_rules`` keeps compiled rules between builds of one process (``serve``)."""
    rules = _rules_for(site, report, loaded_rules)

    def check(page) -> tuple[PageFindings, list]:
        own = Report()
        return check_page(page, rules, site.config, own, today), own.items

    findings = {}
    checked = check_pages(site.pages, check) if check_pages else [check(page) for page in site.pages]
    for page, (found, diagnostics) in zip(site.pages, checked):
        findings[page.shown] = found
        report.extend(diagnostics)
    return findings


def _rules_for(site, report: Report, loaded: dict | None) -> Rules | None:
    """The site's rules, compiled once per version of the rules file and bibliography."""
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


def source_keys(site) -> set[str] | None:
    """Keys of the loaded bibliography, to check the rules' 'why'; None when there is none."""
    if not (site.project.content / "sources.yaml").is_file():
        return None
    return set(site.bibliography.sources)


def check_page(page, rules: Rules | None, config, report: Report, today: dt.date) -> PageFindings:
    sentences, violations = check_page_text(page, rules, report)
    found = PageFindings(page.shown, violations=len(violations), next_review=page.meta["next_review"],
                         grade_max=config.reading_grade_max)
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


def check_page_text(page, rules: Rules | None, report: Report) -> tuple[list[Sentence], list[Violation]]:
    """Rules and myth blocks of one page; violations are added to ``report``."""
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
        for violation in check_sentence(sentence, rules):
            rule = violation.rule
            report.error(page.shown, violation.line, violation.col, f"editorial/{rule.id}",
                         f"{rule.message} (\"{_excerpt(sentence.text)}\")",
                         f"{rule.rewrite} [why: {', '.join(rule.why)}]")
            violations.append(violation)
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
