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
import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import _gc
from .cache import CleanCache, background_writes, default_cache_dir
from .clean import CleanText, clean_text
from .codebook import Codebook
from .coding import Coder, token_key
from .corpus import Picked
from .errors import PtceError
from .segment import segment_document
from .tables import flags
from .types import Document, Segment
from ._lazy import LazyModule

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)

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


#: Parsed documents whose cleaned text, segments and token arrays stay in memory when a cache backs them.
RECENT_DOCUMENTS = 8


class ParsedDocument:
    """A document with its cleaned text, its segments and its parse (:class:`~ptce_nlp.tokens.TokenArrays`).

    When a cache backs the run, a ParsedDocument holds only its document and its word count: ``clean``,
    ``segments`` and ``tokens`` are read back from the cache when asked (the last
    :data:`RECENT_DOCUMENTS` asked for are kept), so a list of every parsed document of a corpus costs
    little more than the documents themselves and consumers that go through it one document at a time
    run in bounded memory. Without a cache (``use_cache=False``) everything is held.
    """

    def __init__(self, document: Document, clean: CleanText | None = None, segments: list[Segment] | None = None,
                 tokens=None, *, source: "_Source | None" = None, n_tokens: int | None = None) -> None:
        self.document = document
        self._clean, self._segments, self._tokens = clean, segments, tokens
        self._source = source
        self._n_tokens = n_tokens
        self._n_sentences: int | None = None

    def _recent(self) -> dict:
        return self._source.recent(self) if self._source is not None else self.__dict__.setdefault("_held", {})

    @property
    def clean(self) -> CleanText:
        if self._clean is not None:
            return self._clean
        entry = self._recent()
        if "clean" not in entry:
            entry["clean"] = self._source.clean(self.document)
        return entry["clean"]

    @property
    def tokens(self):
        """The parse's :class:`~ptce_nlp.tokens.TokenArrays` (offsets into ``clean.text``)."""
        if self._tokens is not None:
            return self._tokens
        entry = self._recent()
        if "tokens" not in entry:
            entry["tokens"] = self._source.tokens(self.clean.text)
        return entry["tokens"]

    @property
    def segments(self) -> list[Segment]:
        if self._segments is not None:
            return self._segments
        entry = self._recent()
        if "segments" not in entry:
            entry["segments"] = segment_document(self.document, clean=self.clean)
        return entry["segments"]

    @segments.setter
    def segments(self, value: list[Segment]) -> None:
        self._segments = value
        self._recent().pop("sentence_index", None)
        self._n_sentences = None

    def release(self) -> None:
        """Drop what the cache can give back (called once a document has been coded)."""
        if self._source is not None:
            self._clean = self._tokens = None

    def sentence_at(self, start_char: int) -> str:
        """The id of the sentence holding ``start_char`` (an offset into the original text)."""
        entry = self._recent()
        if "sentence_index" not in entry:
            sentences = [s for s in self.segments if s.kind == "sentence"]
            entry["sentence_index"] = ([s.start_char for s in sentences], [s.segment_id for s in sentences])
        starts, ids = entry["sentence_index"]
        i = bisect.bisect_right(starts, start_char) - 1
        return ids[i] if i >= 0 else ""

    @property
    def n_sentences(self) -> int:
        """Sentence segments of the document."""
        if self._n_sentences is None:
            self._n_sentences = sum(1 for s in self.segments if s.kind == "sentence")
        return self._n_sentences

    @property
    def n_tokens(self) -> int:
        """Words of the parse: tokens that are neither punctuation nor white space."""
        if self._n_tokens is None:
            self._n_tokens = self.tokens.n_words()
        return self._n_tokens


class _Source:
    """Where the parsed documents of a run read their cleaned texts and token arrays back from."""

    def __init__(self, clean_cache: CleanCache, token_cache, *, ner: bool = False) -> None:
        from collections import OrderedDict

        self.clean_cache, self.token_cache, self.ner = clean_cache, token_cache, ner
        self._recent: OrderedDict[int, tuple[ParsedDocument, dict]] = OrderedDict()

    def recent(self, p: ParsedDocument) -> dict:
        key = id(p)
        if key in self._recent:
            self._recent.move_to_end(key)
            return self._recent[key][1]
        entry: dict = {}
        self._recent[key] = (p, entry)
        while len(self._recent) > RECENT_DOCUMENTS:
            self._recent.popitem(last=False)
        return entry

    def clean(self, document: Document) -> CleanText:
        clean = self.clean_cache.get(document.text)
        return clean if clean is not None else clean_text(document.text)

    def tokens(self, text: str):
        tokens = self.token_cache.load(text)
        if tokens is None:  # removed or damaged since it was written: parse it again
            from .nlp import parse_iter
            from .tokens import TokenArrays

            tokens = TokenArrays.from_doc(next(parse_iter([text], ner=self.ner)))
            self.token_cache.save(text, tokens)
        return tokens


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
    return [_cleaned(cache, d) for d in documents]


def _cleaned(cache: CleanCache | None, document: Document) -> CleanText:
    if cache is None:
        return clean_text(document.text)
    clean = cache.get(document.text)
    if clean is None:
        clean = clean_text(document.text)
        cache.put(clean)
    return clean


def iter_parsed(documents: Sequence[Document], *, cache_dir: str | Path | None = None, use_cache: bool = True,
                jobs: int = 1, progress: Callable[[int], None] | None = None, stats: dict | None = None,
                batch_size: int = 4, coder: "_DocumentCoder | None" = None):
    """Clean, segment and parse documents, one at a time: yields ``(i, ParsedDocument)``.

    Documents whose parse is in the cache come first, in order, then the others as they are parsed, in
    order (the model is loaded only if one is missing). Each yielded document holds its cleaned text and
    token arrays until the next one is asked for; then, when a cache backs the run, it keeps only what
    it needs to read them back (:class:`ParsedDocument`): memory does not grow with the corpus.
    ``stats`` (a dict, filled in place): ``parsed``, ``cached``, ``model_loaded`` and ``damaged`` (cache
    entries found damaged, each parsed or cleaned again).

    With a Dask engine active (:mod:`ptce_nlp.engine`) and a ``coder``, the documents missing from the
    cache are cleaned, parsed and coded on the workers (:meth:`ptce_nlp.engine.DaskEngine.code`): the
    client does not clean them, and takes their rows with :func:`coded_rows` (the same rows as
    ``coder.rows``); their cleaned text and parse come back from the cache when asked. Without a coder
    the workers only parse.
    """
    from .nlp import TokenCache, parse_iter, pipeline_settings
    from .tokens import TokenArrays

    stats = stats if stats is not None else {}
    stats.update(parsed=0, cached=0, model_loaded=False, damaged=0)
    directory = cache_dir or default_cache_dir()
    clean_cache = CleanCache(directory) if use_cache else None
    token_cache = TokenCache(directory, pipeline_settings()) if use_cache else None
    source = _Source(clean_cache, token_cache) if use_cache else None
    missing: list[tuple[int, CleanText | str]] = []
    done = 0

    def damaged() -> int:
        return (clean_cache.store.damaged + token_cache.store.damaged) if use_cache else 0

    def made(i: int, clean: CleanText, tokens) -> ParsedDocument:
        return ParsedDocument(documents[i], clean, None, tokens, source=source, n_tokens=tokens.n_words())

    from .engine import active_engine

    engine = active_engine()
    remote_coding = engine is not None and coder is not None
    for i, document in enumerate(documents):
        if remote_coding:  # the workers clean what the cache does not hold
            clean = clean_cache.get(document.text) if use_cache else None
            tokens = token_cache.load(clean.text) if clean is not None else None
            if tokens is None:
                missing.append((i, document.text))
                continue
        else:
            clean = _cleaned(clean_cache, document)
            tokens = token_cache.load(clean.text) if use_cache else None
        if tokens is None:
            # with a cache, the cleaned text is read back when parsed: the list holds no text (issue 13)
            missing.append((i, None if use_cache else clean))
            continue
        stats["cached"] += 1
        done += 1
        p = made(i, clean, tokens)
        yield i, p
        p.release()
        if progress is not None:
            progress(done)
    stats["parsed"] = len(missing)
    stats["damaged"] = damaged()
    if not missing:
        return
    if remote_coding:
        yield from _coded_on_workers(engine, documents, missing, coder, source, clean_cache, token_cache,
                                     directory if use_cache else None, progress, done)
        stats["damaged"] = damaged()
        return
    from collections import deque

    given: deque[CleanText] = deque()  # the texts handed to the parser and not parsed yet (a batch or so)

    def text_of(i: int, item) -> str:
        if item is not None:
            return item.text
        clean = source.clean(documents[i])  # from the cleaning cache (or cleaned again)
        given.append(clean)
        return clean.text

    texts = (text_of(i, item) for i, item in missing)
    if engine is not None:  # parsed on a Dask cluster (ptce_nlp.engine); the workers write a shared cache
        remote = engine.parse(list(texts), cache_dir=os.path.abspath(directory) if use_cache else None)
    else:
        stats["model_loaded"] = True
        remote = (TokenArrays.from_doc(doc) for doc in parse_iter(texts, jobs=jobs, batch_size=batch_size))
    for (i, item), tokens in zip(missing, remote):
        if use_cache:
            clean = given.popleft()
            if engine is None or not token_cache.store.path(clean.text.encode("utf-8", "surrogatepass")).exists():
                token_cache.save(clean.text, tokens)  # (with Dask: unless the workers wrote it, in a shared folder)
        else:
            clean = item
        p = made(i, clean, tokens)
        yield i, p
        p.release()
        done += 1
        if progress is not None:
            progress(done)
    stats["damaged"] = damaged()


def _coded_on_workers(engine, documents: Sequence[Document], missing: list, coder: "_DocumentCoder", source,
                      clean_cache, token_cache, directory, progress, done: int):
    """The part of :func:`iter_parsed` that hands the documents missing from the cache to the Dask workers."""
    from array import array

    from .clean import CleanText
    from .tokens import TokenArrays

    results = engine.code(Picked(documents, [i for i, _ in missing]), coder.codebook,
                          accent_insensitive=coder.coder.accent_insensitive,
                          cache_dir=os.path.abspath(directory) if directory is not None else None)
    for (i, _), res in zip(missing, results):
        clean = tokens = None
        if res.tokens is not None:  # not written by the worker: the client caches it (or keeps it, no cache)
            text, starts, ends = res.clean
            clean = CleanText(text, documents[i].text, array("i", starts), array("i", ends))
            tokens = TokenArrays.from_bytes(res.tokens)
            if source is not None:
                clean_cache.put(clean)
                token_cache.save(clean.text, tokens)
        p = ParsedDocument(documents[i], clean, None, tokens, source=source, n_tokens=res.n_tokens)
        p._n_sentences = res.n_sentences
        p._coded = (coder, res.rows, res.spans)
        yield i, p
        p.release()
        done += 1
        if progress is not None:
            progress(done)


def coded_rows(coder: "_DocumentCoder", p: ParsedDocument) -> tuple[list[tuple], list[tuple[int, int]]]:
    """``coder.rows(p)`` and the token span of each row (:meth:`_DocumentCoder.spanned`), or those a Dask worker
    computed for ``p`` with that coder (:func:`iter_parsed` with ``coder``), handed over once."""
    done = p.__dict__.pop("_coded", None)
    if done is not None and done[0] is coder:
        return done[1], done[2]
    spanned = coder.spanned(p)
    return with_opposed([row for row, _ in spanned]), [span for _, span in spanned]


def parse_documents(documents: Sequence[Document], *, cache_dir: str | Path | None = None, use_cache: bool = True,
                    jobs: int = 1, progress: Callable[[int], None] | None = None) -> tuple[list[ParsedDocument], dict]:
    """Clean, segment and parse documents (cleaned texts and parses come from the cache when they can)."""
    stats: dict = {}
    parsed: list = [None] * len(documents)
    for i, p in iter_parsed(documents, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs, progress=progress,
                            stats=stats):
        parsed[i] = p
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


class _DocumentCoder:
    """Codes parsed documents one at a time: the rows of ``coded`` of each, in the order given."""

    def __init__(self, codebook: Codebook, *, accent_insensitive: bool = False) -> None:
        self.codebook = codebook
        self.coder = Coder(codebook, accent_insensitive=accent_insensitive)

    def rows(self, p: ParsedDocument) -> list[tuple]:
        return with_opposed([row for row, _ in self.spanned(p)])

    def spanned(self, p: ParsedDocument) -> list[tuple[tuple, tuple[int, int]]]:
        """The rows of ``p`` but their ``opposed`` cell, each with its match's token span ``(start, end)``: the
        rows are in the order of the spans, then of the code ids (what :mod:`ptce_nlp.recode` merges by)."""
        original = p.document.text
        exported = None
        if "\r" in original:
            from .export.qdpx import newline_map

            exported = newline_map(original)[1]
        p.n_sentences  # noqa: B018 - counted while the document is at hand
        out = []
        for m in self.coder.match(p.tokens):
            a, b = p.clean.original_span(m.start_char, m.end_char)
            ea, eb = (exported.to_exported(a), exported.to_exported(b)) if exported else (a, b)
            out.append(((p.document.doc_id, p.sentence_at(a), m.code_id, self.codebook[m.code_id].category,
                         m.term, a, b, original[a:b], m.negated, m.contrast, ea, eb, m.reported), (m.start, m.end)))
        return out


def with_opposed(rows: list[tuple]) -> list[tuple]:
    """A document's rows with their last cell, ``opposed`` (:func:`_opposed`)."""
    return [row + (opposed,) for row, opposed in zip(rows, _opposed(rows))]


def code_parsed(parsed: Sequence[ParsedDocument], codebook: Codebook, *,
                accent_insensitive: bool = False, count_reported: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coded matches and per-document counts of already parsed documents (read one at a time)."""
    coder = _DocumentCoder(codebook, accent_insensitive=accent_insensitive)
    rows: list[tuple] = []
    for p in parsed:
        rows.extend(coder.rows(p))
    coded = pd.DataFrame(rows, columns=CODED_COLUMNS)
    return coded, document_counts(parsed, coded, codebook, count_reported=count_reported)


def code_documents(documents: Sequence[Document], codebook: Codebook, *, cache_dir: str | Path | None = None,
                   use_cache: bool = True, jobs: int = 1, accent_insensitive: bool = False,
                   count_reported: bool = False, progress: Callable[[int], None] | None = None) -> CodingResult:
    """Code documents against a codebook, one document at a time (each coded as soon as it is parsed).

    Examples
    --------
    >>> corpus = read_corpus("corpus")                                   # doctest: +SKIP
    >>> result = code_documents(corpus.documents, Codebook.shipped())
    >>> result.coded.head()
    """
    coder = _DocumentCoder(codebook, accent_insensitive=accent_insensitive)
    stats: dict = {}
    parsed: list = [None] * len(documents)
    rows_of: list = [()] * len(documents)
    with background_writes():  # cache entries written on another thread (all of them when the block ends)
        for i, p in iter_parsed(documents, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs, progress=progress,
                                stats=stats, coder=coder):
            parsed[i] = p
            rows_of[i] = coded_rows(coder, p)[0]
    coded = pd.DataFrame([row for rows in rows_of for row in rows], columns=CODED_COLUMNS)
    del rows_of
    counts = document_counts(parsed, coded, codebook, count_reported=count_reported)
    return CodingResult(parsed, coded, counts, stats)


#: Documents per batch of :func:`write_coding`: their tables are written, then dropped.
WRITE_BATCH = 200
#: ... or fewer, once a batch's texts reach this many characters (what a batch holds grows with its texts:
#: about 20 bytes a character; a count of documents alone would let a run of long documents grow it).
WRITE_BATCH_CHARS = 600_000


def has_lone_cr(documents: Sequence[Document]) -> bool:
    """Whether a document's text, id or metadata holds a ``\\r`` not followed by ``\\n``: a table with such a cell
    is written with every text cell quoted (:func:`ptce_nlp.io.write_csv`), which only a whole table can decide."""
    def lone(value: object) -> bool:
        return isinstance(value, str) and "\r" in value and "\r" in value.replace("\r\n", "")

    return any(lone(d.text) or lone(d.doc_id) or any(lone(v) for v in d.metadata.values()) for d in documents)


@_gc.frozen
def write_coding(documents: Sequence[Document], codebook: Codebook, paths: dict[str, Path], *, sentence_coder=None,
                 cache_dir: str | Path | None = None, jobs: int = 1, accent_insensitive: bool = False,
                 count_reported: bool = False, progress: Callable[[int], None] | None = None,
                 batch: int | None = None) -> dict:
    """Code documents and write ``coded_segments``, ``code_counts`` and ``coded_sentences`` as they go.

    The same bytes as :func:`code_documents` then :func:`ptce_nlp.io.write_csv` of each table, in bounded
    memory: documents are coded as they are parsed and their rows written by batches of ``batch``
    (default :data:`WRITE_BATCH`) documents, fewer when their texts reach :data:`WRITE_BATCH_CHARS`, in
    document order; nothing of the whole corpus is held but one small object per document (and the documents:
    give a :class:`ptce_nlp.corpus.DocumentSpool` so that their texts are not held either). Needs the cache
    (documents are read back from it) and no lone ``\\r`` in the tables (:func:`has_lone_cr`). ``paths``:
    ``{"coded": ..., "counts": ..., "sentences": ...}``, written with :func:`ptce_nlp.io.atomic_write` (inside
    the caller's ``all_or_nothing`` block, they replace their targets together). Returns the run's stats plus
    ``matches``, ``counted`` and ``sentences``.
    """
    import contextlib

    from .classify import hybrid_sentences, sentence_columns
    from .io import atomic_write

    batch = batch or WRITE_BATCH
    coder = _DocumentCoder(codebook, accent_insensitive=accent_insensitive)
    stats: dict = {}
    totals = {"matches": 0, "counted": 0, "sentences": 0}
    features = {"damaged": 0}  # damaged entries of the learned coder's feature cache
    parsed: list = [None] * len(documents)
    columns = {"coded": CODED_COLUMNS, "counts": COUNT_COLUMNS, "sentences": sentence_columns()}
    with contextlib.ExitStack() as stack:
        files = {k: stack.enter_context(atomic_write(paths[k])) for k in ("coded", "counts", "sentences")}
        # cache entries written on another thread, all of them before the tables are (closed first)
        stack.enter_context(background_writes())

        writers = {k: csv.writer(files[k], lineterminator="\n") for k in ("coded", "counts", "sentences")}

        for kind, names in columns.items():  # the header, as DataFrame.to_csv writes it
            writers[kind].writerow(names)
        pending: list[ParsedDocument] = []
        rows: list[tuple] = []
        next_i = 0
        # documents whose coding cache entry serves this codebook are read back, the others parsed and coded
        from .recode import CodedCache

        coded_cache = CodedCache(cache_dir or default_cache_dir(), coder)
        served = [coded_cache.serves(d) for d in documents]
        todo = [i for i, s in enumerate(served) if not s]
        read_back = len(documents) - len(todo)

        held = 0  # characters of the documents in ``pending``

        def flush() -> None:
            nonlocal held
            # the rows of coded_segments and code_counts written by the csv module, as DataFrame.to_csv would
            # (it uses that module): True/False, integers, shortest float repr, NaN as an empty cell
            writers["coded"].writerows(rows)
            counts, counted = _count_rows(pending, rows, codebook, count_reported=count_reported)
            writers["counts"].writerows(row if row[8] == row[8] and row[10] == row[10] else
                                        row[:8] + (_nan(row[8]), row[9], _nan(row[10])) for row in counts)
            # the row tuples: with the lexicon alone, plain columns back and no pandas (issue 13)
            sentences = hybrid_sentences(pending, rows, sentence_coder, cache_dir=cache_dir or default_cache_dir(),
                                         stats=features)
            writers["sentences"].writerows(_sentence_rows(sentences, columns["sentences"]))
            totals["matches"] += len(rows)
            totals["counted"] += counted
            totals["sentences"] += len(sentences[columns["sentences"][0]])
            pending.clear()
            rows.clear()
            held = 0

        from .nlp import TokenCache, pipeline_settings

        directory = cache_dir or default_cache_dir()
        source = _Source(CleanCache(directory), TokenCache(directory, pipeline_settings()))
        done = 0
        extra = {"parsed": 0, "cached": 0, "damaged": 0}  # of documents coded again after all (see advance)

        def advance() -> None:
            nonlocal next_i, done, read_back, held
            while next_i < len(documents) and (served[next_i] or parsed[next_i] is not None):
                if served[next_i]:
                    hit = coded_cache.load(documents[next_i], source)
                    if hit is None:  # removed or damaged since it was looked at: coded from its parse
                        again: dict = {}
                        for _, q in iter_parsed([documents[next_i]], cache_dir=cache_dir, stats=again, coder=coder):
                            q = ParsedDocument(q.document, q.clean, q.segments, q.tokens, n_tokens=q.n_tokens)
                            doc_rows, spans = coded_rows(coder, q)
                            coded_cache.save(q, doc_rows, spans)
                            hit = doc_rows, q
                        for key in ("parsed", "cached", "damaged"):
                            extra[key] += again.get(key, 0)
                        read_back -= 1
                    doc_rows, q = hit
                    done += 1
                    if progress is not None:
                        progress(done)
                else:
                    q = parsed[next_i]
                    remote = q.__dict__.get("_coded")  # coded by a Dask worker (iter_parsed)
                    # the batch's documents hold their data until the batch is written (read and segmented once)
                    q = ParsedDocument(q.document, q.clean, q.segments, q.tokens, n_tokens=q.n_tokens)
                    if remote is not None:
                        q._coded = remote
                    doc_rows, spans = coded_rows(coder, q)
                    coded_cache.save(q, doc_rows, spans)
                parsed[next_i] = True  # done: nothing kept
                rows.extend(doc_rows)
                pending.append(q)
                next_i += 1
                held += len(q.document.text)
                if len(pending) >= batch or held >= WRITE_BATCH_CHARS:
                    flush()

        def counted(k: int) -> None:
            if progress is not None:
                progress(done + k)

        advance()
        for j, p in iter_parsed(Picked(documents, todo), cache_dir=cache_dir, jobs=jobs, progress=counted,
                                stats=stats, coder=coder):
            parsed[todo[j]] = p
            advance()
        advance()
        if pending:
            flush()
        for key, value in extra.items():
            stats[key] = stats.get(key, 0) + value
        stats["cached"] += read_back
    return {**stats, **totals, "damaged": stats.get("damaged", 0) + features["damaged"] + coded_cache.damaged}


def _nan(value: float) -> float | str:
    """A float as DataFrame.to_csv writes it: NaN as an empty cell."""
    return "" if value != value else value


def _sentence_rows(table, names: Sequence[str]):
    """The rows of ``coded_sentences`` for the csv module, the bytes DataFrame.to_csv writes (NaN as an empty
    cell, floats as their shortest repr, integers as integers).

    ``table``: the DataFrame of :func:`ptce_nlp.classify.hybrid_sentences`, or its columns as a mapping of
    name to list or 1-D numpy array, so that a hybrid coder returning plain columns needs no pandas here.
    """
    columns = []
    for name in names:
        values = table[name]
        values = values.tolist() if hasattr(values, "tolist") else list(values)
        if any(v != v for v in values if isinstance(v, float)):
            values = [_nan(v) if isinstance(v, float) else v for v in values]
        columns.append(values)
    return zip(*columns)


def _count_rows(parsed: Sequence[ParsedDocument], rows: Sequence[tuple], codebook: Codebook, *,
                count_reported: bool = False) -> tuple[list[tuple], int]:
    """:func:`document_counts` of the rows of ``coded`` as :class:`_DocumentCoder` makes them (tuples in
    :data:`CODED_COLUMNS` order, real booleans), counted in Python: ``(rows of the table, matches counted)``."""
    doc_at, segment_at, code_at, category_at = (CODED_COLUMNS.index(c) for c in ("doc_id", "segment_id", "code_id",
                                                                                    "category"))
    flags_at = [CODED_COLUMNS.index(c) for c in FLAG_COLUMNS if c != "reported" or not count_reported]
    n_all: dict[tuple[str, str], int] = {}
    n: dict[tuple[str, str], int] = {}
    sentences: dict[tuple[str, str], set] = {}
    counted = 0
    for row in rows:
        scored = not (row[flags_at[0]] or row[flags_at[1]] or (len(flags_at) > 2 and row[flags_at[2]]))
        counted += scored
        code, category = (row[doc_at], row[code_at]), (row[doc_at], row[category_at])
        for key in (code, category) if code != category else (code,):  # a category that is its own leaf: once
            n_all[key] = n_all.get(key, 0) + 1
            if scored:
                n[key] = n.get(key, 0) + 1
                sentences.setdefault(key, set()).add(row[segment_at])
    out = []
    leaves, categories = [c.id for c in codebook.leaves()], [c.id for c in codebook.categories()]
    for p in parsed:
        doc_id = p.document.doc_id
        n_tokens = p.n_tokens
        n_sentences = p.n_sentences
        pole, pole_type = p.document.metadata.get("pole", ""), p.document.metadata.get("pole_type", "")
        for level, ids in (("code", leaves), ("category", categories)):
            for code_id in ids:
                key = (doc_id, code_id)
                k, coded_sentences = n.get(key, 0), len(sentences.get(key, ()))
                out.append((doc_id, pole, pole_type, level, code_id, k, n_all.get(key, 0), n_tokens,
                            1000.0 * k / n_tokens if n_tokens else float("nan"), coded_sentences,
                            coded_sentences / n_sentences if n_sentences else float("nan")))
    return out, counted


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
        n_sentences = p.n_sentences
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
            tokens = p.tokens
            keys = _keys_of(tokens)
            for i in np.flatnonzero(keys == key).tolist():
                rows.append(_kwic_row(p, i, i + 1, "", False, False, window))
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


def _keys_of(tokens) -> np.ndarray:
    """The lemma key of each token (``token_key(lemma or text)``), as an array of str objects."""
    table = np.empty(len(tokens.strings), dtype=object)
    table[:] = [token_key(s) for s in tokens.strings]
    empty = np.asarray([s == "" for s in tokens.strings], dtype=bool)
    return table[np.where(empty[tokens.lemma], tokens.text, tokens.lemma)]


def _original_spans(p: ParsedDocument) -> tuple[list[int], list[int]]:
    """Each token's span in the original text."""
    tokens, clean = p.tokens, p.clean
    spans = [clean.original_span(a, b) for a, b in zip(tokens.idx.tolist(), tokens.ends().tolist())]
    return [a for a, _ in spans], [b for _, b in spans]


def _token_span(p: ParsedDocument, start_char: int, end_char: int) -> tuple[int, int]:
    """Tokens of the parse covering an original span."""
    starts, ends = _original_spans(p)
    tokens = [i for i, (a, b) in enumerate(zip(starts, ends)) if a < end_char and b > start_char]
    return (tokens[0], tokens[-1] + 1) if tokens else (0, 0)


def _kwic_row(p: ParsedDocument, start: int, end: int, code_id: str, negated: bool, contrast: bool,
              window: int) -> tuple:
    from .tokens import IS_SPACE

    tokens, original = p.tokens, p.document.text
    idx, ends = tokens.idx.tolist(), tokens.ends().tolist()
    a, _ = p.clean.original_span(idx[start], idx[start] + 1)
    _, b = p.clean.original_span(idx[end - 1], ends[end - 1])
    space = tokens.flag(IS_SPACE)
    left_tokens = [i for i in range(max(0, start - window * 2), start) if not space[i]][-window:] if window else []
    right_tokens = [i for i in range(end, min(len(tokens), end + window * 2)) if not space[i]][:window]
    left = _original_text(p, left_tokens, idx, ends)
    right = _original_text(p, right_tokens, idx, ends)
    return (p.document.doc_id, p.sentence_at(a), a, b, left, original[a:b], right, code_id, negated, contrast)


def _original_text(p: ParsedDocument, tokens: list[int], idx: list[int], ends: list[int]) -> str:
    if not tokens:
        return ""
    a, _ = p.clean.original_span(idx[tokens[0]], idx[tokens[0]] + 1)
    _, b = p.clean.original_span(idx[tokens[-1]], ends[tokens[-1]])
    return re.sub(r"\s+", " ", p.document.text[a:b])


def _unknown(what: str, value: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(value, known, n=3, cutoff=0.5)
    close += [k for k in known if value.lower() in k.lower() and k not in close][:3]
    hint = f"; did you mean {', '.join(close[:3])}?" if close else f"; known: {', '.join(known[:8])}..."
    return f"unknown {what} {value!r}{hint}"
