"""Coding: match a codebook against parsed documents, with negation and contrast.

The matcher is a spaCy component, ``ptce_coder``: it sets each token's
``norm_`` to its matching key (lower-cased lemma, straight apostrophe,
optionally without accents), runs a :class:`spacy.matcher.Matcher` built from
the codebook's patterns (``NORM`` for lemma patterns, ``LOWER`` for surface
forms, ``{"OP": "{0,2}"}`` for gaps), keeps the longest match within a code,
drops matches overlapped by the code's exclusions, and stores the result in
``doc.spans["ptce_codes"]`` (span label = code id) with the ``negated`` and
``contrast`` flags in ``span._.ptce_negated`` / ``span._.ptce_contrast``.

Negation: a cue of French negation in the same clause as the match, before
it (``ne``/``n'`` with ``pas``, ``plus``, ``jamais``, ``guère``, ``aucun``,
``rien``, ``point``, ``ni``; ``sans``; ``aucun``; ``absence de``,
``manque de``; ``ni``). ``non marchand``, ``non lucratif`` and the like are
terms of the codebook, not negations. Contrast: a match inside a clause
introduced by ``à la différence de``, ``contrairement à``, ``par opposition
à``, ``à l'inverse de``, ``au contraire de``, ``à l'opposé de``, ``par
contraste avec``, ``loin de``: the scope runs from the cue to the end of its
clause, through a relative clause that follows (``..., qui ...,``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from .codebook import GAP, MAX_GAP, Codebook

SPANS_KEY = "ptce_codes"
_CLAUSE_PUNCT = {",", ";", ":", ".", "!", "?", "(", ")", "—", "–", '"', "«", "»"}
_NEG_PARTICLES = {"ne", "n'", "n’"}
_NEG_WORDS = {"pas", "plus", "jamais", "guère", "aucun", "aucune", "rien", "point", "nullement", "ni"}
_NEG_PREFIX = {"sans", "aucun", "aucune", "ni", "nul", "nulle"}
_NEG_PHRASES = (("absence", "de"), ("manque", "de"), ("défaut", "de"), ("au", "lieu", "de"))
_CONTRAST_CUES = (
    ("à", "le", "différence", "de"), ("contrairement", "à"), ("par", "opposition", "à"),
    ("à", "le", "inverse", "de"), ("au", "contraire", "de"), ("à", "le", "opposé", "de"),
    ("par", "contraste", "avec"), ("loin", "de"), ("à", "le", "encontre", "de"),
)
_CONTRAST_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _cue in _CONTRAST_CUES:
    _CONTRAST_BY_FIRST.setdefault(_cue[0], []).append(_cue)
_RELATIVE = {"qui", "dont", "que", "où", "lequel", "laquelle", "lesquels", "lesquelles"}


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


_ELIDED = {"d'": "de", "l'": "le", "qu'": "que", "n'": "ne", "s'": "se", "j'": "je", "m'": "me", "t'": "te",
           "c'": "ce", "jusqu'": "jusque", "lorsqu'": "lorsque", "puisqu'": "puisque"}


def token_key(lemma: str, *, accents: bool = True) -> str:
    """The matching key of a lemma: lower-case, straight apostrophe, elisions expanded
    (``d’`` -> ``de``), optionally without accents."""
    key = lemma.lower().replace("’", "'")
    key = _ELIDED.get(key, key)
    return key if accents else strip_accents(key)


@dataclass(frozen=True)
class Match:
    """One coded match in a parsed (cleaned) document, in token and char offsets."""

    code_id: str
    term: str
    start: int  # token index
    end: int
    start_char: int  # into the parsed text
    end_char: int
    negated: bool
    contrast: bool


class Coder:
    """Compiles a codebook into a spaCy Matcher and codes docs.

    Parameters
    ----------
    codebook : Codebook
    accent_insensitive : bool
        Match ``developpement`` and ``développement`` alike.
    """

    def __init__(self, codebook: Codebook, *, accent_insensitive: bool = False) -> None:
        self.codebook = codebook
        self.accent_insensitive = accent_insensitive
        self._matchers: dict[int, object] = {}

    def _matcher(self, vocab):
        """The compiled matchers for ``vocab``: phrase matchers for fixed sequences, a Matcher for gaps.

        Fixed-length patterns (most of a codebook) go to two
        :class:`spacy.matcher.PhraseMatcher` (on ``NORM``, which holds the
        lemma key, and on ``LOWER`` for surface forms): they cost one hash
        look-up per token whatever their number. Only patterns with gaps need
        the :class:`spacy.matcher.Matcher` state machine.
        """
        key = id(vocab)
        if key not in self._matchers:
            from spacy.matcher import Matcher, PhraseMatcher
            from spacy.tokens import Doc

            gaps = Matcher(vocab)
            by_norm = PhraseMatcher(vocab, attr="NORM")
            by_lower = PhraseMatcher(vocab, attr="LOWER")
            accents = not self.accent_insensitive
            for code in self.codebook:
                labelled = [(f"{code.id}\t{i}", p) for i, p in enumerate(code.patterns)]
                labelled += [(f"{code.id}\tx{i}", p) for i, p in enumerate(code.exclusions)]
                for label, p in labelled:
                    if GAP in p.tokens:
                        gaps.add(label, [self._spacy_pattern(p.tokens, p.kind)])
                    elif p.kind == "surface":
                        by_lower.add(label, [Doc(vocab, words=list(p.tokens))])
                    else:
                        doc = Doc(vocab, words=list(p.tokens))
                        for token in doc:
                            token.norm_ = token_key(token.text, accents=accents)
                        by_norm.add(label, [doc])
            self._matchers = {key: tuple(m for m in (by_norm, by_lower, gaps) if len(m))}
        return self._matchers[key]

    def _spacy_pattern(self, tokens: Sequence[str], kind: str) -> list[dict]:
        out: list[dict] = []
        for t in tokens:
            if t == GAP:
                out.append({"IS_PUNCT": False, "OP": f"{{0,{MAX_GAP}}}"})
            elif kind == "surface":
                out.append({"LOWER": t})
            else:
                out.append({"NORM": token_key(t, accents=not self.accent_insensitive)})
        return out

    def set_keys(self, doc) -> _Tokens:
        """Set each token's ``norm_`` to its matching key; return the token strings coding needs."""
        return _tokens_of(doc, norms=True, accents=not self.accent_insensitive)

    def match(self, doc) -> list[Match]:
        """Code one parsed doc (sets token norms to lemma keys first)."""
        tokens = self.set_keys(doc)
        raw = [m for matcher in self._matcher(doc.vocab) for m in matcher(doc)]
        strings = doc.vocab.strings
        found: dict[str, list[tuple[int, int, str]]] = {}
        excluded: dict[str, list[tuple[int, int]]] = {}
        for match_id, start, end in raw:
            code_id, which = strings[match_id].split("\t")
            if which.startswith("x"):
                excluded.setdefault(code_id, []).append((start, end))
            else:
                found.setdefault(code_id, []).append((start, end, self.codebook[code_id].patterns[int(which)].text))
        clauses = _Clauses(tokens)
        out: list[Match] = []
        for code_id, spans in found.items():
            blocked = excluded.get(code_id, [])
            for start, end, term in _longest(spans):
                if any(s < end and start < e for s, e in blocked):
                    continue
                out.append(Match(code_id, term, start, end, doc[start].idx, doc[end - 1].idx + len(doc[end - 1]),
                                 clauses.negated(start), clauses.contrast(start)))
        out.sort(key=lambda m: (m.start, m.end, m.code_id))
        return out


def _tokens_of(doc, *, norms: bool = False, accents: bool = True) -> _Tokens:
    """The per-token strings of a doc, in one pass (building spaCy Token objects is what costs).

    With ``norms``, also sets each token's ``norm_`` to its matching key (the Matcher reads ``NORM``).
    """
    tokens = _Tokens([], [], [], [])
    for token in doc:
        text = token.text
        key = token_key(token.lemma_ or text)
        if norms:
            token.norm_ = key if accents else strip_accents(key)
        tokens.texts.append(text)
        tokens.lowers.append(token.lower_.replace("’", "'"))
        tokens.keys.append(key)
        tokens.sent_starts.append(bool(token.is_sent_start))
    return tokens


def clause_scopes(doc) -> "_Clauses":
    """Clauses, negation cues and contrast scopes of a parsed doc, by token index.

    ``.negated(i)`` and ``.contrast(i)`` tell whether token ``i`` stands after a
    negation cue of its clause or inside a contrast clause, as for coded matches.
    """
    return _Clauses(_tokens_of(doc))


@dataclass
class _Tokens:
    """Per-token strings of a doc: text, lower case (straight apostrophe), lemma key, sentence start."""

    texts: list[str]
    lowers: list[str]
    keys: list[str]
    sent_starts: list[bool]


def _longest(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Within one code, keep the longest of overlapping matches (earliest on ties)."""
    kept: list[tuple[int, int, str]] = []
    for start, end, term in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0], s[2])):
        if all(end <= s or e <= start for s, e, _ in kept):
            kept.append((start, end, term))
    return sorted(kept)


class _Clauses:
    """Clause boundaries and negation/contrast scopes of a doc, computed once."""

    def __init__(self, tokens: _Tokens) -> None:
        n = len(tokens.texts)
        self.texts = tokens.texts
        self.lowers = lowers = tokens.lowers
        self.keys = tokens.keys
        self.clause_of = [0] * n
        self.sent_end = [n] * n
        clause = 0
        for i in range(n):
            if tokens.sent_starts[i] and i:
                clause += 1
            self.clause_of[i] = clause
            if self.texts[i] in _CLAUSE_PUNCT or lowers[i] in ("mais", "cependant", "pourtant", "alors", "tandis"):
                clause += 1
        end = n
        for i in range(n - 1, -1, -1):
            self.sent_end[i] = end
            if tokens.sent_starts[i]:
                end = i
        self.neg_cue_at: dict[int, list[int]] = {}
        for i in range(n):
            if self._is_negation_cue(i):
                self.neg_cue_at.setdefault(self.clause_of[i], []).append(i)
        self.contrast_mask = [False] * n
        for i in range(n):
            if self._contrast_cue(i):
                self._mark_contrast(i)

    def _is_negation_cue(self, i: int) -> bool:
        lw = self.lowers
        if lw[i] in _NEG_PARTICLES:
            clause = self.clause_of[i]
            j = i + 1
            while j < len(lw) and self.clause_of[j] == clause and j <= i + 6:
                if lw[j] in _NEG_WORDS:
                    return True
                j += 1
            return False
        if lw[i] in _NEG_PREFIX:
            return True
        for phrase in _NEG_PHRASES:
            if self.keys[i] == phrase[0] and self._keys(i, len(phrase)) == phrase:
                return True
        return False

    def _keys(self, i: int, k: int) -> tuple[str, ...]:
        return tuple(self.keys[i:i + k])

    def _contrast_cue(self, i: int) -> int:
        for cue in _CONTRAST_BY_FIRST.get(self.keys[i], ()):
            if self._keys(i, len(cue)) == cue:
                return len(cue)
        return 0

    def _mark_contrast(self, i: int) -> None:
        texts, n = self.texts, len(self.texts)
        j = i
        while j < self.sent_end[i]:
            if texts[j] in (";", ".", "!", "?", ":"):
                break
            if texts[j] == "," and j > i:
                nxt = self.lowers[j + 1] if j + 1 < n else ""
                if nxt not in _RELATIVE:
                    break
            self.contrast_mask[j] = True
            j += 1

    def negated(self, start: int) -> bool:
        return any(cue < start for cue in self.neg_cue_at.get(self.clause_of[start], ()))

    def contrast(self, start: int) -> bool:
        return self.contrast_mask[start]


# --------------------------------------------------------------------------- spaCy component

def _register_component() -> None:
    from spacy.language import Language
    from spacy.tokens import Span

    for name in ("ptce_negated", "ptce_contrast", "ptce_term"):
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)

    if "ptce_coder" in Language.factories:
        return

    @Language.factory("ptce_coder", default_config={"codebook": "ptce", "accent_insensitive": False,
                                                     "spans_key": SPANS_KEY})
    def make_coder(nlp, name: str, codebook: str, accent_insensitive: bool, spans_key: str):
        """Code docs against a codebook (a shipped name or a YAML path); results in ``doc.spans``."""
        return CoderComponent(_load_codebook(codebook), accent_insensitive=accent_insensitive, spans_key=spans_key)


def _load_codebook(spec: str) -> Codebook:
    from pathlib import Path

    from .codebook import SHIPPED

    return Codebook.shipped(spec) if spec in SHIPPED else Codebook.from_yaml(Path(spec), check_lemmas=False)


class CoderComponent:
    """``nlp.add_pipe("ptce_coder", config={"codebook": "ptce"})``: spans in ``doc.spans[spans_key]``.

    Examples
    --------
    >>> nlp = load_nlp()                                         # doctest: +SKIP
    >>> nlp.add_pipe("ptce_coder", config={"codebook": "ptce"})
    >>> doc = nlp("Les PTCE mutualisent des moyens.")
    >>> [(s.text, s.label_) for s in doc.spans["ptce_codes"]]
    [('mutualisent', 'valeurs_ess.mutualisation')]
    """

    def __init__(self, codebook: Codebook, *, accent_insensitive: bool = False, spans_key: str = SPANS_KEY) -> None:
        self.coder = Coder(codebook, accent_insensitive=accent_insensitive)
        self.spans_key = spans_key

    def __call__(self, doc):
        matches = self.coder.match(doc)
        spans = []
        for m in matches:
            span = doc[m.start:m.end]
            span.label_ = m.code_id
            span._.ptce_negated = m.negated
            span._.ptce_contrast = m.contrast
            span._.ptce_term = m.term
            spans.append(span)
        doc.spans[self.spans_key] = spans
        return doc


_register_component()
