"""Features from lemmas: units of text and their terms, then a document-term matrix.

Two steps, one input type each:

1. :func:`extract_units` turns parsed documents (``analysis.parse_documents``)
   and their coded matches (``analysis.code_parsed``) into :class:`TermUnits`:
   one row per *unit* (sentence, paragraph or document) with its offsets into
   the original text, and the unit's *terms*: lower-cased lemmas of content
   words (``NOUN, ADJ, VERB, PROPN`` by default) minus French and domain stop
   words, where every multiword term of the codebook that matched (``chantier
   d'insertion``, ``pôle de compétitivité``) replaces its tokens by a single
   feature named after the codebook pattern. Each term carries a *contrast*
   flag: the token lies in a clause introduced by ``contrairement à``, ``à la
   différence de``... (the coder's contrast scope), so that scaling can leave
   out what a document says about the other model "by contrast"; and an
   *excluded* flag (contrast, after a negation cue of its clause, or in a
   reported sentence), which the closeness methods leave out.
2. :class:`LemmaVectorizer` (scikit-learn estimator API) learns a vocabulary
   with ``min_df``/``max_df`` and returns sparse count matrices, units in rows.

Examples
--------
>>> parsed, _ = parse_documents(corpus.documents)                     # doctest: +SKIP
>>> coded, _ = code_parsed(parsed, codebook)
>>> units = extract_units(parsed, coded, codebook, unit="paragraph")
>>> vec = LemmaVectorizer(min_df=2, max_df=0.5).fit(units.terms())
>>> X = vec.transform(units.terms())         # (n_units, n_terms) counts
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .codebook import GAP, Codebook
from .coding import clause_scopes, token_key
from .tokens import IS_PUNCT, IS_SPACE, LIKE_NUM
from .errors import PtceError

UNITS = ("sentence", "paragraph", "document")
DEFAULT_POS = ("NOUN", "ADJ", "VERB", "PROPN")
#: Words of the corpus's genre (fiche headers, auxiliaries spaCy tags VERB) that carry no position.
DOMAIN_STOP_WORDS = frozenset({
    "fiche", "dénomination", "carte", "identité", "date", "création", "année", "an", "site", "contact",
    "source", "exemple", "ensemble", "cadre", "partie", "nombre", "type", "forme", "manière", "façon",
    "être", "avoir", "faire", "pouvoir", "devoir", "permettre", "aller", "venir", "dire", "voir", "mettre",
    "prendre", "donner", "rester", "sembler", "falloir",
})
UNIT_COLUMNS = ["doc_id", "pole", "pole_type", "unit_id", "start_char", "end_char", "text", "n_tokens"]


class FeatureError(PtceError):
    """Features cannot be built from the input (bad unit, empty vocabulary...)."""


def french_stop_words() -> frozenset[str]:
    """spaCy's French stop words plus :data:`DOMAIN_STOP_WORDS` (lower-cased lemma keys)."""
    from spacy.lang.fr.stop_words import STOP_WORDS

    return frozenset(token_key(w) for w in STOP_WORDS) | DOMAIN_STOP_WORDS


def pattern_feature(tokens: Sequence[str]) -> str:
    """The feature name of a codebook pattern: its words joined by spaces (``chantier de insertion``)."""
    return " ".join(token_key(t) for t in tokens)


@dataclass
class TermUnits:
    """Units of text with their terms.

    Attributes
    ----------
    units : DataFrame
        ``doc_id, pole, pole_type, unit_id, start_char, end_char, text, n_tokens``
        plus one ``n_<category>`` column per codebook category: matches in the
        unit, negated and contrast matches excluded. Offsets are half-open,
        into the document's original text.
    unit : str
        ``sentence``, ``paragraph`` or ``document``.
    term_lists : list of list of str
        The terms of each unit, in text order.
    contrast_lists : list of list of bool
        Parallel to ``term_lists``: the term lies in a contrast clause.
    """

    units: pd.DataFrame
    unit: str
    term_lists: list[list[str]] = field(repr=False)
    contrast_lists: list[list[bool]] = field(repr=False)
    #: Parallel to ``term_lists``: the term lies in a contrast clause, after a negation cue of its clause, or in
    #: a reported sentence (``None``: as ``contrast_lists``).
    excluded_lists: list[list[bool]] | None = field(default=None, repr=False)
    #: Parallel to ``term_lists``: ``(start_char, end_char)`` of each term in the original text.
    span_lists: list[list[tuple[int, int]]] | None = field(default=None, repr=False)
    #: Per unit, the code ids of its counted matches (one entry per match, as ``n_<category>`` counts them).
    code_lists: list[list[str]] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.term_lists)

    def terms(self, *, drop_contrast: bool = False, drop_excluded: bool = False) -> list[list[str]]:
        """Terms per unit; ``drop_contrast`` leaves out terms in contrast clauses, ``drop_excluded`` also those
        of negated clauses and reported sentences (what the closeness methods leave out)."""
        flags = (self.excluded_lists if drop_excluded and self.excluded_lists is not None
                 else self.contrast_lists if drop_contrast or drop_excluded else None)
        if flags is None:
            return self.term_lists
        return [[t for t, c in zip(terms, f) if not c] for terms, f in zip(self.term_lists, flags)]

    def subset(self, rows: Sequence[int] | np.ndarray) -> "TermUnits":
        rows = list(rows)

        def pick(lists):
            return None if lists is None else [lists[i] for i in rows]

        return TermUnits(self.units.iloc[rows].reset_index(drop=True), self.unit,
                         [self.term_lists[i] for i in rows], [self.contrast_lists[i] for i in rows],
                         pick(self.excluded_lists), pick(self.span_lists), pick(self.code_lists))


def extract_units(parsed: Sequence, coded: pd.DataFrame, codebook: Codebook, *, unit: str = "sentence",
                  pos: Sequence[str] = DEFAULT_POS, stop_words: Iterable[str] | None = None,
                  multiword: bool = True, count_reported: bool = False) -> TermUnits:
    """Units and their lemma terms from parsed, coded documents.

    Parameters
    ----------
    parsed : sequence of analysis.ParsedDocument
        From :func:`ptce_nlp.analysis.parse_documents`.
    coded : DataFrame
        Coded matches of the same documents (``analysis.CODED_COLUMNS``).
    codebook : Codebook
        The codebook that coded them (its categories give the ``n_<category>`` columns).
    unit : {"sentence", "paragraph", "document"}
    pos : sequence of str, default ("NOUN", "ADJ", "VERB", "PROPN")
        Universal POS tags of the words kept.
    stop_words : iterable of str, optional
        Lemma keys left out; default :func:`french_stop_words`.
    multiword : bool, default True
        Merge the tokens of a matched multiword codebook term (without gap) into one feature.
    count_reported : bool, default False
        Count reported (cited, attributed) matches in ``n_<category>``. Negated, contrast and ``opposed``
        matches (a span coded at both ends of the ESS <-> cluster axis) are never counted there.

    Returns
    -------
    TermUnits
    """
    if unit not in UNITS:
        raise FeatureError(f"unknown unit {unit!r}; use one of {', '.join(UNITS)}")
    stops = french_stop_words() if stop_words is None else frozenset(token_key(w) for w in stop_words)
    pos_set = set(pos)
    categories = [c.id for c in codebook.categories()]
    term_of = _multiword_terms(codebook)
    rows: list[tuple] = []
    term_lists: list[list[str]] = []
    contrast_lists: list[list[bool]] = []
    excluded_lists: list[list[bool]] = []
    span_lists: list[list[tuple[int, int]]] = []
    code_lists: list[list[str]] = []
    counts: list[dict[str, int]] = []
    from .analysis import scored_mask

    if len(coded):
        counted = scored_mask(coded, count_reported=count_reported)
        if "opposed" in coded.columns:
            counted &= ~coded["opposed"].astype(bool)
        coded = coded.assign(counted_here=counted.to_numpy())
    by_doc = {d: g for d, g in coded.groupby("doc_id")} if len(coded) else {}
    for p in parsed:
        document = p.document
        spans = _unit_spans(p, unit)
        starts = [s[1] for s in spans]
        n = len(spans)
        unit_terms: list[list[tuple[int, str, bool, bool, tuple[int, int]]]] = [[] for _ in range(n)]
        unit_tokens = [0] * n
        unit_codes: list[dict[str, int]] = [dict.fromkeys(categories, 0) for _ in range(n)]
        unit_code_ids: list[list[str]] = [[] for _ in range(n)]
        tokens = p.tokens
        clauses = clause_scopes(tokens)
        clean = p.clean
        offsets = [clean.original_span(a, b) for a, b in zip(tokens.idx.tolist(), tokens.ends().tolist())]

        def left_out(i: int) -> bool:
            """Token ``i`` is in a contrast clause, after a negation cue of its clause or in a reported sentence:
            no closeness method reads it (as the lexicon does not count the matches there)."""
            return (clauses.contrast_mask[i] or clauses.negated(i)
                    or (not count_reported and clauses.reported(i)))

        def locate(a: int) -> int:
            i = bisect.bisect_right(starts, a) - 1
            return i if i >= 0 and a < spans[i][2] else -1

        merged: set[int] = set()
        doc_coded = by_doc.get(document.doc_id)
        if doc_coded is not None:
            token_starts = [o[0] for o in offsets]
            for row in doc_coded.itertuples():
                k = locate(row.start_char)
                if k >= 0 and row.counted_here:
                    unit_codes[k][row.category] = unit_codes[k].get(row.category, 0) + 1
                    unit_code_ids[k].append(row.code_id)
                feature = term_of.get(row.term) if multiword else None
                if feature is None or k < 0:
                    continue
                first = bisect.bisect_left(token_starts, row.start_char)
                last = bisect.bisect_left(token_starts, row.end_char)
                covered = range(first, last)
                if len(covered) < 2 or any(i in merged for i in covered):
                    continue
                merged.update(covered)
                contrast = bool(row.contrast) or clauses.contrast_mask[first]
                excluded = (contrast or bool(row.negated) or (not count_reported and bool(row.reported))
                            or left_out(first))
                unit_terms[k].append((first, feature, contrast, excluded, (row.start_char, row.end_char)))
        texts, lemmas, pos_names = tokens.column("text"), tokens.column("lemma"), tokens.column("pos")
        skip = ((tokens.flags & (IS_PUNCT | IS_SPACE)) != 0).tolist()
        numbers = tokens.flag(LIKE_NUM).tolist()
        for i in range(len(tokens)):
            if skip[i]:
                continue
            k = locate(offsets[i][0])
            if k < 0:
                continue
            unit_tokens[k] += 1
            if i in merged or pos_names[i] not in pos_set or numbers[i]:
                continue
            key = token_key(lemmas[i] or texts[i])
            if len(key) < 2 or key in stops or not any(ch.isalpha() for ch in key):
                continue
            unit_terms[k].append((i, key, clauses.contrast_mask[i], left_out(i), offsets[i]))
        meta = document.metadata
        for k, (unit_id, a, b) in enumerate(spans):
            items = sorted(unit_terms[k])
            rows.append((document.doc_id, meta.get("pole", ""), meta.get("pole_type", ""), unit_id, a, b,
                         document.text[a:b], unit_tokens[k]))
            term_lists.append([item[1] for item in items])
            contrast_lists.append([item[2] for item in items])
            excluded_lists.append([item[3] for item in items])
            span_lists.append([item[4] for item in items])
            code_lists.append(unit_code_ids[k])
            counts.append(unit_codes[k])
    units = pd.DataFrame(rows, columns=UNIT_COLUMNS)
    for category in categories:
        units[f"n_{category}"] = [c.get(category, 0) for c in counts]
    return TermUnits(units, unit, term_lists, contrast_lists, excluded_lists, span_lists, code_lists)


def _unit_spans(p, unit: str) -> list[tuple[str, int, int]]:
    if unit == "document":
        return [("", 0, len(p.document.text))]
    kind = unit
    spans = [(s.segment_id, s.start_char, s.end_char) for s in p.segments if s.kind == kind]
    return sorted(spans, key=lambda s: s[1])


def _multiword_terms(codebook: Codebook) -> dict[str, str]:
    """Pattern text -> feature name, for multiword patterns without gap."""
    out = {}
    for code in codebook:
        for pattern in code.patterns:
            if len(pattern.tokens) > 1 and GAP not in pattern.tokens:
                out[pattern.text] = pattern_feature(pattern.tokens)
    return out


def seed_terms(codebook: Codebook, code_id: str) -> list[str]:
    """Feature names of the patterns of a code and its sub-codes (gapped patterns left out).

    Examples
    --------
    >>> seed_terms(Codebook.shipped(), "valeurs_ess")[:3]     # doctest: +SKIP
    ['coopération', 'coopérer', 'coopératif']
    """
    if code_id not in codebook:
        raise FeatureError(f"unknown code {code_id!r} in codebook {codebook.name!r}")
    out: list[str] = []
    for code in codebook:
        if code.id == code_id or code.id.startswith(code_id + "."):
            for pattern in code.patterns:
                if GAP not in pattern.tokens:
                    name = pattern_feature(pattern.tokens)
                    if name not in out:
                        out.append(name)
    return out


class LemmaVectorizer(BaseEstimator):
    """Document-term counts over a vocabulary learned with document-frequency limits.

    Parameters
    ----------
    min_df : int or float, default 2
        Keep terms found in at least ``min_df`` units (a float in (0, 1]: a share of units).
    max_df : int or float, default 0.5
        Drop terms found in more than ``max_df`` units (a float: a share of units).
    max_features : int or None, default None
        Keep the most frequent terms only (ties broken alphabetically).

    Attributes
    ----------
    vocabulary_ : list of str
        Terms, sorted alphabetically (column order of the matrices).
    index_ : dict of str to int
    document_frequency_ : ndarray of shape (n_terms,)

    Examples
    --------
    >>> vec = LemmaVectorizer(min_df=1, max_df=1.0).fit([["a", "b"], ["b"]])
    >>> vec.vocabulary_, vec.transform([["b", "b", "c"]]).toarray().tolist()
    (['a', 'b'], [[0, 2]])
    """

    def __init__(self, min_df: int | float = 2, max_df: int | float = 0.5, max_features: int | None = None):
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features

    def fit(self, term_lists: Sequence[Sequence[str]], y=None) -> "LemmaVectorizer":
        n = len(term_lists)
        if n == 0:
            raise FeatureError("no unit of text to learn a vocabulary from")
        df: dict[str, int] = {}
        tf: dict[str, int] = {}
        for terms in term_lists:
            for t in set(terms):
                df[t] = df.get(t, 0) + 1
            for t in terms:
                tf[t] = tf.get(t, 0) + 1
        low = self.min_df if isinstance(self.min_df, (int, np.integer)) else self.min_df * n
        high = self.max_df if isinstance(self.max_df, (int, np.integer)) else self.max_df * n
        kept = [t for t, d in df.items() if low <= d <= high]
        if self.max_features is not None:
            kept = sorted(kept, key=lambda t: (-tf[t], t))[: self.max_features]
        if not kept:
            raise FeatureError(f"no term is left after min_df={self.min_df} and max_df={self.max_df} "
                               f"over {n} unit(s); lower min_df or raise max_df")
        self.vocabulary_ = sorted(kept)
        self.index_ = {t: i for i, t in enumerate(self.vocabulary_)}
        self.document_frequency_ = np.array([df[t] for t in self.vocabulary_], dtype=np.int64)
        return self

    def transform(self, term_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Counts, shape ``(n_units, n_terms)``; terms outside the vocabulary are ignored."""
        check_is_fitted(self, "vocabulary_")
        return counts_matrix(term_lists, self.index_)

    def fit_transform(self, term_lists, y=None) -> sp.csr_matrix:
        return self.fit(term_lists).transform(term_lists)

    @classmethod
    def from_vocabulary(cls, vocabulary: Sequence[str], document_frequency: Sequence[int], **params):
        """A fitted vectorizer from a saved vocabulary (model loading)."""
        vec = cls(**params)
        vec.vocabulary_ = list(vocabulary)
        vec.index_ = {t: i for i, t in enumerate(vec.vocabulary_)}
        vec.document_frequency_ = np.asarray(document_frequency, dtype=np.int64)
        return vec


def counts_matrix(term_lists: Sequence[Sequence[str]], index: dict[str, int]) -> sp.csr_matrix:
    """Sparse counts of the terms of ``index`` per unit."""
    indptr = [0]
    indices: list[int] = []
    for terms in term_lists:
        indices.extend(index[t] for t in terms if t in index)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    X = sp.csr_matrix((data, np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)),
                      shape=(len(term_lists), len(index)))
    X.sum_duplicates()
    return X
