"""Coding a corpus end to end: clean, parse (cached), match, map to original offsets, aggregate.

``code_documents(documents, codebook)`` returns a :class:`CodingResult`
whose tables are pandas DataFrames:

- ``coded``: one row per match: ``doc_id, segment_id, code_id, category,
  term, start_char, end_char, text, negated, contrast, export_start_char,
  export_end_char`` (offsets into the document's original text,
  ``segment_id`` the sentence of ``segments.csv`` holding the match; the
  ``export_`` offsets into the text with ``\\n`` line endings that the
  ``.qdpx`` sources hold, one less per ``\\r\\n`` before the offset),
  then ``reported`` (the sentence cites or attributes what it says) and
  ``opposed`` (the span is also coded with a code at the other end of the
  ESS <-> cluster axis);
- ``counts``: per document and code: matches counted (negated, contrast and
  reported excluded: :func:`scored_mask`), all matches, density per 1,000
  tokens, share of sentences coded;
- :func:`pole_counts`, :func:`cooccurrence` and :func:`kwic` derive the rest.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from .cache import CleanCache, default_cache_dir
from .clean import CleanText, clean_text
from .codebook import Codebook
from .coding import Coder, token_key
from .errors import PtceError
from .nlp import parse_texts
from .segment import segment_document
from .tables import flags
from .types import Document, Segment

CODED_COLUMNS = ["doc_id", "segment_id", "code_id", "category", "term", "start_char", "end_char", "text",
                 "negated", "contrast", "export_start_char", "export_end_char", "reported", "opposed"]
#: The flags that keep a match out of counts and scores (``reported`` only unless ``count_reported``).
FLAG_COLUMNS = ("negated", "contrast", "reported")
#: The two categories at the ends of the closeness axis: a span coded with both is ``opposed``.
OPPOSED_CATEGORIES = ("valeurs_ess", "discours_cluster")
COUNT_COLUMNS = ["doc_id", "pole", "pole_type", "level", "code_id", "n", "n_all", "n_tokens", "density",
                 "n_sentences_coded", "share_sentences"]


class UnknownCodeError(PtceError):
    """A code, category or lemma asked for does not exist; the message lists close matches."""


@dataclass
class ParsedDocument:
    """A document with its cleaned text, its segments and its spaCy parse."""

    document: Document
    clean: CleanText
    segments: list[Segment]
    doc: object  # spacy.tokens.Doc of clean.text

    @functools.cached_property
    def _sentence_index(self) -> tuple[list[int], list[str]]:
        sentences = [s for s in self.segments if s.kind == "sentence"]
        return [s.start_char for s in sentences], [s.segment_id for s in sentences]

    def sentence_at(self, start_char: int) -> str:
        """The id of the sentence holding ``start_char`` (an offset into the original text)."""
        starts, ids = self._sentence_index
        i = bisect.bisect_right(starts, start_char) - 1
        return ids[i] if i >= 0 else ""

    @property
    def n_tokens(self) -> int:
        """Words of the parse: tokens that are neither punctuation nor white space."""
        from spacy.attrs import IS_PUNCT, IS_SPACE

        if not len(self.doc):
            return 0
        flags = self.doc.to_array([IS_PUNCT, IS_SPACE])
        return int((flags.sum(axis=1) == 0).sum())


@dataclass
class CodingResult:
    parsed: list[ParsedDocument]
    coded: pd.DataFrame
    counts: pd.DataFrame
    stats: dict = field(default_factory=dict)


def clean_documents(documents: Sequence[Document], *, cache_dir: str | Path | None = None,
                    use_cache: bool = True) -> list[CleanText]:
    """Cleaned texts of documents, through the cleaning cache (:class:`ptce_nlp.cache.CleanCache`)."""
    if not use_cache:
        return [clean_text(d.text) for d in documents]
    cache = CleanCache(cache_dir or default_cache_dir())
    out = []
    for d in documents:
        clean = cache.get(d.text)
        if clean is None:
            clean = clean_text(d.text)
            cache.put(clean)
        out.append(clean)
    return out


def parse_documents(documents: Sequence[Document], *, cache_dir: str | Path | None = None, use_cache: bool = True,
                    jobs: int = 1, progress: Callable[[int], None] | None = None) -> tuple[list[ParsedDocument], dict]:
    """Clean, segment and parse documents (cleaned texts and parses come from the cache when they can)."""
    cleans = clean_documents(documents, cache_dir=cache_dir, use_cache=use_cache)
    docs, stats = parse_texts([c.text for c in cleans], cache_dir=cache_dir, use_cache=use_cache, jobs=jobs,
                              progress=progress)
    parsed = [ParsedDocument(d, c, segment_document(d, clean=c), doc) for d, c, doc in zip(documents, cleans, docs)]
    return parsed, stats


def scored_mask(coded: pd.DataFrame, *, count_reported: bool = False) -> pd.Series:
    """The matches that count in counts and scores: not negated, not in a contrast, not reported (unless
    ``count_reported``). Columns a table lacks (an imported project has no ``reported``) count as False."""
    keep = pd.Series(True, index=coded.index)
    for column in FLAG_COLUMNS:
        if column in coded.columns and (column != "reported" or not count_reported):
            keep &= ~flags(coded[column]).to_numpy()
    return keep


def _opposed(rows: list[tuple]) -> list[bool]:
    """For each match of one document, whether it overlaps a match at the other end of the axis.

    The rule for a span coded under both ``valeurs_ess`` and ``discours_cluster`` (« avantage
    différenciatif », « mutualisation ... pour gagner des marchés »): both codings stay in the table, the
    code counts keep them, and the closeness methods count neither (the span is evidence for neither end).
    """
    ess, cluster = OPPOSED_CATEGORIES
    sides = {ess: [], cluster: []}
    for i, row in enumerate(rows):
        if row[3] in sides:
            sides[row[3]].append((row[5], row[6], i))
    opposed = [False] * len(rows)
    for a, b, i in sides[ess]:
        for c, d, j in sides[cluster]:
            if a < d and c < b:
                opposed[i] = opposed[j] = True
    return opposed


def code_parsed(parsed: Sequence[ParsedDocument], codebook: Codebook, *,
                accent_insensitive: bool = False, count_reported: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coded matches and per-document counts of already parsed documents."""
    from .export.qdpx import newline_map

    coder = Coder(codebook, accent_insensitive=accent_insensitive)
    rows: list[tuple] = []
    for p in parsed:
        original = p.document.text
        exported = newline_map(original)[1] if "\r" in original else None
        doc_rows = []
        for m in coder.match(p.doc):
            a, b = p.clean.original_span(m.start_char, m.end_char)
            ea, eb = (exported.to_exported(a), exported.to_exported(b)) if exported else (a, b)
            doc_rows.append((p.document.doc_id, p.sentence_at(a), m.code_id, codebook[m.code_id].category, m.term,
                             a, b, original[a:b], m.negated, m.contrast, ea, eb, m.reported))
        rows.extend(row + (opposed,) for row, opposed in zip(doc_rows, _opposed(doc_rows)))
    coded = pd.DataFrame(rows, columns=CODED_COLUMNS)
    return coded, document_counts(parsed, coded, codebook, count_reported=count_reported)


def code_documents(documents: Sequence[Document], codebook: Codebook, *, cache_dir: str | Path | None = None,
                   use_cache: bool = True, jobs: int = 1, accent_insensitive: bool = False,
                   count_reported: bool = False, progress: Callable[[int], None] | None = None) -> CodingResult:
    """Code documents against a codebook.

    Examples
    --------
    >>> corpus = read_corpus("corpus")                                   # doctest: +SKIP
    >>> result = code_documents(corpus.documents, Codebook.shipped())
    >>> result.coded.head()
    """
    parsed, stats = parse_documents(documents, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs,
                                    progress=progress)
    coded, counts = code_parsed(parsed, codebook, accent_insensitive=accent_insensitive,
                                count_reported=count_reported)
    return CodingResult(parsed, coded, counts, stats)


def document_counts(parsed: Sequence[ParsedDocument], coded: pd.DataFrame, codebook: Codebook, *,
                    count_reported: bool = False) -> pd.DataFrame:
    """Counts per document for every code and category (zeros included); ``n`` counts the :func:`scored_mask`
    matches, ``n_all`` every match."""
    scored = coded[scored_mask(coded, count_reported=count_reported)]
    tallies: dict[tuple[str, str], tuple[int, int, int]] = {}
    for column in ("code_id", "category"):
        n_all = coded.groupby(["doc_id", column]).size()
        n = scored.groupby(["doc_id", column]).size().to_dict()
        sentences = scored.groupby(["doc_id", column])["segment_id"].nunique().to_dict()
        for key, value in n_all.to_dict().items():
            tallies[key] = (int(n.get(key, 0)), int(value), int(sentences.get(key, 0)))
    rows = []
    for p in parsed:
        doc_id = p.document.doc_id
        n_tokens = p.n_tokens
        n_sentences = sum(1 for s in p.segments if s.kind == "sentence")
        for level, ids in (("code", [c.id for c in codebook.leaves()]),
                           ("category", [c.id for c in codebook.categories()])):
            for code_id in ids:
                n, n_all, coded_sentences = tallies.get((doc_id, code_id), (0, 0, 0))
                rows.append((doc_id, p.document.metadata.get("pole", ""), p.document.metadata.get("pole_type", ""),
                             level, code_id, n, n_all, n_tokens,
                             1000.0 * n / n_tokens if n_tokens else float("nan"), coded_sentences,
                             coded_sentences / n_sentences if n_sentences else float("nan")))
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def pole_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Aggregate per-document counts per pole (density over the pole's tokens)."""
    keys = ["pole", "pole_type", "level", "code_id"]
    frame = counts.copy()
    frame["pole"] = frame["pole"].where(frame["pole"] != "", frame["doc_id"])
    tokens = frame.drop_duplicates(["doc_id"])[["doc_id", "pole", "n_tokens"]].groupby("pole")["n_tokens"].sum()
    out = frame.groupby(keys, as_index=False)[["n", "n_all"]].sum()
    out["n_tokens"] = out["pole"].map(tokens)
    out["density"] = 1000.0 * out["n"] / out["n_tokens"]
    return out


def cooccurrence(coded: pd.DataFrame, *, level: str = "code_id", scored_only: bool = True) -> pd.DataFrame:
    """Number of sentences in which two codes (or categories) occur together (symmetric matrix)."""
    frame = coded[scored_mask(coded)] if scored_only and len(coded) else coded
    units = frame.groupby(["doc_id", "segment_id"])[level].apply(lambda s: sorted(set(s)))
    labels = sorted(set(frame[level]))
    matrix = pd.DataFrame(0, index=labels, columns=labels, dtype=int)
    for codes in units:
        for a in codes:
            for b in codes:
                matrix.loc[a, b] += 1
    return matrix


# --------------------------------------------------------------------------- KWIC

def kwic(parsed: Sequence[ParsedDocument], coded: pd.DataFrame, codebook: Codebook, *, code: str | None = None,
         category: str | None = None, lemma: str | None = None, window: int = 5) -> pd.DataFrame:
    """Keyword-in-context table for a code, a category or a lemma.

    Columns: ``doc_id, segment_id, start_char, end_char, left, keyword, right,
    code_id, negated, contrast``; ``left``/``right`` hold ``window`` words.
    """
    if sum(x is not None for x in (code, category, lemma)) != 1:
        raise PtceError("give exactly one of code, category or lemma")
    if code is not None and code not in codebook:
        raise UnknownCodeError(_unknown("code", code, [c.id for c in codebook]))
    if category is not None and category not in {c.id for c in codebook.categories()}:
        raise UnknownCodeError(_unknown("category", category, [c.id for c in codebook.categories()]))
    by_id = {p.document.doc_id: p for p in parsed}
    rows = []
    if lemma is not None:
        key = token_key(lemma)
        for p in parsed:
            for t in p.doc:
                if token_key(t.lemma_ or t.text) == key:
                    rows.append(_kwic_row(p, t.i, t.i + 1, "", False, False, window))
    else:
        if code is not None:
            hits = coded[(coded["code_id"] == code) | coded["code_id"].str.startswith(code + ".")]
        else:
            hits = coded[coded["category"] == category]
        for row in hits.itertuples():
            p = by_id[row.doc_id]
            span = _token_span(p, row.start_char, row.end_char)
            rows.append(_kwic_row(p, span[0], span[1], row.code_id, row.negated, row.contrast, window))
    return pd.DataFrame(rows, columns=["doc_id", "segment_id", "start_char", "end_char", "left", "keyword", "right",
                                       "code_id", "negated", "contrast"])


def _token_span(p: ParsedDocument, start_char: int, end_char: int) -> tuple[int, int]:
    """Tokens of the parsed doc covering an original span."""
    tokens = [t.i for t in p.doc if p.clean.original_span(t.idx, t.idx + len(t))[0] < end_char
              and p.clean.original_span(t.idx, t.idx + len(t))[1] > start_char]
    return (tokens[0], tokens[-1] + 1) if tokens else (0, 0)


def _kwic_row(p: ParsedDocument, start: int, end: int, code_id: str, negated: bool, contrast: bool,
              window: int) -> tuple:
    doc, original = p.doc, p.document.text
    a, _ = p.clean.original_span(doc[start].idx, doc[start].idx + 1)
    _, b = p.clean.original_span(doc[end - 1].idx, doc[end - 1].idx + len(doc[end - 1]))
    left_tokens = [t for t in doc[max(0, start - window * 2):start] if not t.is_space][-window:]
    right_tokens = [t for t in doc[end:end + window * 2] if not t.is_space][:window]
    left = _original_text(p, left_tokens)
    right = _original_text(p, right_tokens)
    return (p.document.doc_id, p.sentence_at(a), a, b, left, original[a:b], right, code_id, negated, contrast)


def _original_text(p: ParsedDocument, tokens) -> str:
    if not tokens:
        return ""
    a, _ = p.clean.original_span(tokens[0].idx, tokens[0].idx + 1)
    _, b = p.clean.original_span(tokens[-1].idx, tokens[-1].idx + len(tokens[-1]))
    return re.sub(r"\s+", " ", p.document.text[a:b])


def _unknown(what: str, value: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(value, known, n=3, cutoff=0.5)
    close += [k for k in known if value.lower() in k.lower() and k not in close][:3]
    hint = f"; did you mean {', '.join(close[:3])}?" if close else f"; known: {', '.join(known[:8])}..."
    return f"unknown {what} {value!r}{hint}"
