"""Teaching the learned coder: a researcher's labels (a table, or codings made in a QDA tool) -> a model folder.

``ptce-nlp learn --labels FILE [PATH...]`` reads a CSV or XLSX table with one row per sentence (or short
text) and one 0/1 column per category; ``ptce-nlp learn --from-qdpx PROJECT.qdpx`` reads the codings a
researcher made in NVivo, ATLAS.ti, MAXQDA or QualCoder. Both give a :class:`TrainingSet`, which
:func:`fit_coder` turns into a fitted :class:`HybridCoder` and the training facts of its model card.

The estimators (:class:`SentenceVectorizer`, :class:`HybridCoder`) are fitted with scikit-learn; what they
learn is plain arrays, which :mod:`ptce_nlp.classify` applies with numpy (coding never imports scikit-learn).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .classify import LearnError, _FeatureTransform, _LinearPredictor, _split, sentence_table, training_hash
from .codebook import Codebook
from .evaluation import CATEGORIES
from .types import Document, Segment

MIN_POSITIVES = 20
#: The code of the sentences to label in the project that ``suggest`` writes.
TO_CODE = "a_coder"
_VALUES = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


@dataclass
class TrainingSet:
    """Sentences with their features (:func:`~ptce_nlp.classify.sentence_table`) and their 0/1 labels."""

    table: pd.DataFrame
    labels: np.ndarray
    source: str
    warnings: list[str] = field(default_factory=list)
    group_ids: Sequence[str] | None = None  # the folds' groups (default: the documents)

    @property
    def groups(self) -> np.ndarray:
        return np.asarray(self.group_ids) if self.group_ids is not None else self.table["doc_id"].to_numpy()


# --------------------------------------------------------------------------- the estimators

class SentenceVectorizer(_FeatureTransform, TransformerMixin, BaseEstimator):
    """Sparse features of :func:`~ptce_nlp.classify.sentence_table` rows: lemma n-grams, codebook matches,
    context, sentence shape, mean vector. Fitted with scikit-learn's vectorizers; ``transform`` is numpy's
    (:class:`~ptce_nlp.classify._FeatureTransform`, equal to scikit-learn's).

    Parameters
    ----------
    ngram_range : tuple
        Lemma n-grams (tf-idf, sublinear, l2-normalised).
    min_df : int
        Minimum number of sentences holding a lemma n-gram.
    max_features : int
        Most frequent lemma n-grams kept.
    code_weight, vector_weight, shape_weight : float
        Scale of the (binary) match and context features, of the (l2-normalised) mean vector and of the
        (binary) sentence-shape words.
    """

    def __init__(self, ngram_range=(1, 2), min_df=2, max_features=30000, code_weight=1.0, vector_weight=1.0,
                 shape_weight=0.0):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.code_weight = code_weight
        self.vector_weight = vector_weight
        self.shape_weight = shape_weight

    def _vectorizers(self):
        lemmas = TfidfVectorizer(analyzer="word", tokenizer=_split, token_pattern=None, lowercase=False,
                                 ngram_range=tuple(self.ngram_range), min_df=self.min_df,
                                 max_features=self.max_features, sublinear_tf=True, dtype=np.float64)
        binary = [CountVectorizer(tokenizer=_split, token_pattern=None, lowercase=False, binary=True)
                  for _ in range(3)]
        return (lemmas, *binary)

    def fit(self, X: pd.DataFrame, y=None):
        from .classify import sentence_shape

        lemmas, codes, context, shape = self._vectorizers()
        lemmas.fit(X["lemmas"])
        codes.fit(X["codes"].where(X["codes"] != "", "k:none"))
        context.fit(X["context"].where(X["context"] != "", "ctx:none"))
        shape.fit(X["shape"] if "shape" in X.columns else X["text"].map(sentence_shape))
        self.lemma_vocabulary_ = sorted(lemmas.vocabulary_, key=lemmas.vocabulary_.get)
        self.idf_ = lemmas.idf_.copy()
        self.code_vocabulary_ = sorted(codes.vocabulary_, key=codes.vocabulary_.get)
        self.context_vocabulary_ = sorted(context.vocabulary_, key=context.vocabulary_.get)
        self.shape_vocabulary_ = sorted(shape.vocabulary_, key=shape.vocabulary_.get)
        return self

    def sklearn_transform(self, X: pd.DataFrame):
        """The same features computed by scikit-learn's own vectorizers (the reference the tests compare
        :meth:`transform` with)."""
        from .classify import VECTOR_COLUMNS

        lemmas, codes, context, shape = self._vectorizers()
        for v, words in ((lemmas, self.lemma_vocabulary_), (codes, self.code_vocabulary_),
                         (context, self.context_vocabulary_), (shape, self.shape_vocabulary_)):
            v.vocabulary_ = {t: i for i, t in enumerate(words)}
        lemmas.idf_ = self.idf_
        parts = [lemmas.transform(X["lemmas"]),
                 self.code_weight * codes.transform(X["codes"]).astype(np.float64),
                 self.code_weight * context.transform(X["context"]).astype(np.float64)]
        if self.shape_weight:
            parts.append(self.shape_weight * shape.transform(X["shape"]).astype(np.float64))
        if self.vector_weight:
            from sklearn.preprocessing import normalize

            parts.append(sp.csr_matrix(self.vector_weight * normalize(X[VECTOR_COLUMNS].to_numpy(np.float64))))
        return sp.hstack(parts, format="csr")


class HybridCoder(_LinearPredictor, ClassifierMixin, BaseEstimator):
    """Multi-label sentence coder: one calibrated logistic regression per category.

    ``fit(X, Y, groups=None)`` with ``X`` a :func:`~ptce_nlp.classify.sentence_table` frame and ``Y`` an
    ``(n, 4)`` 0/1 array in the order of :data:`CATEGORIES`; ``predict_proba(X)`` gives the ``(n, 4)``
    calibrated probabilities, ``predict(X)`` the 0/1 decisions at the per-category thresholds
    (``thresholds_``). Prediction uses the fitted arrays with numpy (as a loaded
    :class:`~ptce_nlp.classify.SentenceCoder` does).

    Parameters
    ----------
    C : float
        Inverse regularisation of the logistic regressions.
    class_weight : str or None
        ``"balanced"`` weighs the rarer class up.
    cv : int
        Folds (grouped by document when ``groups`` is given) for calibration and thresholds.
    ngram_range, min_df, code_weight, vector_weight, shape_weight
        Passed to :class:`SentenceVectorizer`. The defaults were chosen by cross-validation on the labelled
        set's ``train`` split, grouped by document (out-of-fold macro F1 at each category's best threshold:
        0.822, 0.819 without the shape words). Nothing else tried moved it by 0.01: C 0.5-8, codebook weight
        0.1-1, vector weight 0-2, unigrams only, character 2-5-grams, the neighbours' lemmas and codes, the
        document's rate of matches per category, a stacked decision (a logistic regression on the lexicon's
        matches and the out-of-fold probability of a text-only model).
    random_state : int
        Seed of the folds when no groups are given.

    Examples
    --------
    >>> table = sentence_table(result.parsed, result.coded)       # doctest: +SKIP
    >>> coder = HybridCoder().fit(table, labels, groups=table["doc_id"])
    >>> coder.predict_proba(table)[:, 2]                          # valeurs_ess
    """

    def __init__(self, C=2.0, class_weight="balanced", cv=5, ngram_range=(1, 2), min_df=2, code_weight=0.25,
                 vector_weight=1.0, shape_weight=0.25, random_state=0):
        self.C = C
        self.class_weight = class_weight
        self.cv = cv
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.code_weight = code_weight
        self.vector_weight = vector_weight
        self.shape_weight = shape_weight
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
                                              vector_weight=self.vector_weight,
                                              shape_weight=self.shape_weight).fit(X)
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


# --------------------------------------------------------------------------- labels tables

def read_labels(path: str | Path) -> pd.DataFrame:
    """A labels table (CSV or XLSX), validated: ``text`` or ``doc_id`` + ``segment_id`` (or ``start_char`` and
    ``end_char``), and one 0/1 column per category. Returns the rows with a ``line`` column (the file's line)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=None,
                                engine="python")
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            raise LearnError(f"{path}: a labels table must be .csv or .xlsx, not {suffix or '(no suffix)'}")
    except LearnError:
        raise
    except FileNotFoundError:
        raise LearnError(f"{path}: file not found") from None
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        raise LearnError(f"{path}: cannot read the table ({exc.__class__.__name__})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in CATEGORIES if c not in frame.columns]
    if missing:
        raise LearnError(f"{path}: no column {', '.join(map(repr, missing))}; a labels table needs one 0/1 column "
                         f"per category ({', '.join(CATEGORIES)}) and a 'text' column or 'doc_id' + 'segment_id'")
    has_text = "text" in frame.columns
    has_ids = "doc_id" in frame.columns and ("segment_id" in frame.columns
                                             or {"start_char", "end_char"} <= set(frame.columns))
    if not has_text and not has_ids:
        raise LearnError(f"{path}: no 'text' column and no 'doc_id' + 'segment_id' columns: say which sentence "
                         "each row labels")
    frame = frame.copy()
    frame["line"] = np.arange(2, len(frame) + 2)
    for c in CATEGORIES:
        values = frame[c].astype(str).str.strip()
        bad = ~values.isin(list(_VALUES))
        if bad.any():
            row = frame[bad].iloc[0]
            raise LearnError(f"{path}: line {row['line']}: column {c!r} holds {row[c]!r}; use 0 or 1 "
                             f"({int(bad.sum())} such cell{'s' if bad.sum() > 1 else ''})")
        frame[c] = values.map(_VALUES).astype(int)
    for c in ("text", "doc_id", "segment_id"):
        if c in frame.columns:
            frame[c] = frame[c].astype(str)
    if has_text:
        empty = frame["text"].str.strip() == ""
        if has_ids:
            empty &= frame["doc_id"].str.strip() == ""
        if empty.any():
            raise LearnError(f"{path}: line {frame[empty].iloc[0]['line']}: no text and no sentence id")
    return frame


def _check_positives(labels: np.ndarray, source: str) -> None:
    for j, c in enumerate(CATEGORIES):
        pos = int(labels[:, j].sum()) if len(labels) else 0
        neg = len(labels) - pos
        if pos < MIN_POSITIVES or neg < MIN_POSITIVES:
            which, k = ("labelled 1", pos) if pos < MIN_POSITIVES else ("labelled 0", neg)
            raise LearnError(f"{source}: only {k} sentence{'s' if k != 1 else ''} {which} for {c!r} (at least "
                             f"{MIN_POSITIVES} are needed to learn it); label more sentences, for instance those "
                             "that `ptce-nlp suggest` picks")


def _code(documents: Sequence[Document], codebook: Codebook, *, cache_dir, use_cache: bool, jobs: int = 1):
    from .analysis import code_documents

    return code_documents(documents, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)


def _whole_text_units(result) -> None:
    """Make each document one unit (a labels row given as text labels the whole text)."""
    for p in result.parsed:
        text = p.document.text
        p.segments = [Segment(p.document.doc_id, "t", "sentence", 0, len(text), text)]
    if len(result.coded):
        result.coded["segment_id"] = "t"


def training_set_from_labels(path: str | Path, documents: Sequence[Document] = (), *, codebook: Codebook,
                             cache_dir=None, use_cache: bool = True, jobs: int = 1) -> TrainingSet:
    """The training set of a labels table; rows given by id are looked up among ``documents``' sentences."""
    path = Path(path)
    labels = read_labels(path)
    tables, ys = [], []
    by_text = labels[labels["text"].str.strip() != ""] if "text" in labels.columns else labels.iloc[:0]
    by_id = labels.drop(by_text.index)
    if len(by_text):
        docs = [Document(f"ligne_{line}", text, "table") for line, text in zip(by_text["line"], by_text["text"])]
        result = _code(docs, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)
        _whole_text_units(result)
        tables.append(sentence_table(result.parsed, result.coded))
        ys.append(by_text[list(CATEGORIES)].to_numpy())
    if len(by_id):
        if not documents:
            raise LearnError(f"{path}: rows name sentences by doc_id (line {by_id['line'].iloc[0]}); give the "
                             "documents they come from as PATH arguments")
        result = _code(documents, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)
        table = sentence_table(result.parsed, result.coded)
        key = ["doc_id", "segment_id"] if "segment_id" in by_id.columns else ["doc_id", "start_char", "end_char"]
        wanted = by_id[key + ["line", *CATEGORIES]].copy()
        if "start_char" in key:
            for c in ("start_char", "end_char"):
                wanted[c] = pd.to_numeric(wanted[c], errors="coerce")
        merged = wanted.merge(table, on=key, how="left", indicator=True)
        lost = merged[merged["_merge"] == "left_only"]
        if len(lost):
            row = lost.iloc[0]
            raise LearnError(f"{path}: line {row['line']}: no sentence {' '.join(str(row[k]) for k in key)} in the "
                             f"documents given ({len(lost)} such row{'s' if len(lost) > 1 else ''}); ids are those "
                             "of segments.csv")
        tables.append(merged[table.columns])
        ys.append(merged[list(CATEGORIES)].to_numpy())
    table = pd.concat(tables, ignore_index=True)
    y = np.vstack(ys).astype(int)
    _check_positives(y, str(path))
    return TrainingSet(table, y, str(path))


# --------------------------------------------------------------------------- QDA projects

def training_set_from_qdpx(path: str | Path, *, codebook: Codebook, cache_dir=None, use_cache: bool = True,
                           jobs: int = 1) -> TrainingSet:
    """The training set of a QDA project's codings (REFI-QDA ``.qdpx``).

    The sentences labelled are those the project marks « À coder » (a project written by ``ptce-nlp
    suggest``), else every sentence of a document holding at least one coding of the four categories. A
    sentence is positive for a category when a coding of one of the category's codes overlaps it. Codes are
    recognised through ``codebook`` (by GUID, then by name) or by the toolkit's ids they carry; codings of
    codes outside the four categories are left out.
    """
    from .export.qdpx import read_qdpx

    path = Path(path)
    project = read_qdpx(path, codebook=codebook)
    coded = project.coded
    scope = coded[coded["code_id"] == TO_CODE] if len(coded) else coded
    coded = coded[coded["category"].isin(CATEGORIES)] if len(coded) else coded
    if not len(coded) and not len(scope):
        raise LearnError(f"{path}: the project holds no coding of a code of the four categories "
                         f"({', '.join(CATEGORIES)}); code sentences in the QDA tool with the codebook's codes "
                         "(export it with `ptce-nlp export --format qdc`) and export the project again")
    kept = set(scope["doc_id"]) if len(scope) else set(coded["doc_id"])
    documents = [d for d in project.documents if d.doc_id in kept]
    result = _code(documents, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)
    table = sentence_table(result.parsed, result.coded)
    y = np.zeros((len(table), len(CATEGORIES)), dtype=int)
    in_scope = np.ones(len(table), dtype=bool) if not len(scope) else np.zeros(len(table), dtype=bool)
    for i, row in enumerate(table[["doc_id", "start_char", "end_char"]].itertuples(index=False)):
        doc_id, a, b = row
        mine = coded[coded["doc_id"] == doc_id]
        hits = mine[(mine["start_char"] < b) & (mine["end_char"] > a)]
        for category in set(hits["category"]):
            y[i, CATEGORIES.index(category)] = 1
        if len(scope):
            marks = scope[scope["doc_id"] == doc_id]
            in_scope[i] = bool(((marks["start_char"] < b) & (marks["end_char"] > a)).any())
    table, y = table[in_scope].reset_index(drop=True), y[in_scope]
    _check_positives(y, str(path))
    return TrainingSet(table, y, str(path), list(project.warnings))


# --------------------------------------------------------------------------- fitting

def cross_validated_f1(training: TrainingSet, coder: HybridCoder) -> dict:
    """F1 per category of the out-of-fold decisions of a fitted coder (folds grouped by document),
    beside the lexicon's F1 on the same sentences."""
    from sklearn.metrics import f1_score

    out = {}
    for j, c in enumerate(CATEGORIES):
        y = training.labels[:, j]
        learned = (coder.oof_proba_[:, j] >= coder.thresholds_[j]).astype(int)
        lexicon = training.table[f"lex_{c}"].to_numpy()
        out[c] = {"hybrid_f1": round(float(f1_score(y, learned)), 4),
                  "lexicon_f1": round(float(f1_score(y, lexicon)), 4), "positives": int(y.sum())}
    return out


def fit_coder(training: TrainingSet, **params) -> tuple[HybridCoder, dict]:
    """Fit a :class:`HybridCoder` on a training set; returns it with the facts for its model card."""
    coder = HybridCoder(**params).fit(training.table, training.labels, groups=training.groups)
    facts = {"source": Path(training.source).name, "sentences": int(len(training.table)),
             "documents": int(training.table["doc_id"].nunique()), "groups": int(len(set(training.groups))),
             "data_sha256": training_hash(training.table, training.labels),
             "cross_validation": {"folds": coder.cv, "grouped_by": "document",
                                  "scores": cross_validated_f1(training, coder)}}
    return coder, facts


# --------------------------------------------------------------------------- writing a model folder

def save_learned(path: str | Path, coder: HybridCoder, facts: dict, *, codebook_name: str = "") -> Path:
    """Write a learned-coder folder: its three files replace the old ones together, or none does.

    ``path`` must be new, empty, or an earlier learned-coder folder (nothing else is ever overwritten).
    """
    from .classify import CARD, save_coder
    from .errors import OutputError
    from .io import all_or_nothing

    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{path}: exists and is not a folder; choose another --out")
        names = {p.name for p in path.iterdir()}
        card = path / CARD
        is_coder = card.is_file() and "learned sentence coder" in card.read_text("utf-8", errors="replace")[:500]
        if names and not is_coder:
            raise OutputError(f"{path}: the folder holds other files (not a learned-coder folder); choose a new "
                              "or empty --out")
    with all_or_nothing():
        save_coder(path, coder, codebook_name=codebook_name, training=facts)
    return path


# --------------------------------------------------------------------------- active learning: the files to code

SUGGEST_COLUMNS = ["doc_id", "segment_id", "start_char", "end_char", "text", *CATEGORIES]


def suggestions_table(table: pd.DataFrame, picks: np.ndarray) -> pd.DataFrame:
    """The sentences picked, as a labels table to fill in (one empty 0/1 column per category)."""
    frame = table.iloc[picks][["doc_id", "segment_id", "start_char", "end_char", "text"]].reset_index(drop=True)
    for c in CATEGORIES:
        frame[c] = ""
    return frame[SUGGEST_COLUMNS]


def suggestion_codebook(codebook: Codebook) -> Codebook:
    """The codebook plus a top-level code « À coder » marking the sentences to label in the QDA tool."""
    data = codebook.to_dict()
    data["codes"] = [c for c in data["codes"] if c.get("id") != TO_CODE] + [{
        "id": TO_CODE, "label": "À coder", "color": "#FDD835",
        "description": "Phrase choisie par ptce-nlp suggest : codez-la avec les codes des quatre catégories (ou "
                       "aucun), puis exportez le projet et lancez ptce-nlp learn --from-qdpx.",
        "surface": ["à coder"]}]
    return Codebook.from_dict(data, source=codebook.source, check_lemmas=False)


def write_suggestions(documents: Sequence[Document], suggestions: pd.DataFrame, codebook: Codebook,
                      xlsx_path: str | Path) -> tuple[Path, Path]:
    """Write the suggested sentences as an XLSX labels table and as a ``.qdpx`` project (same name) whose
    sentences to label carry the code « À coder ». Both files are written together, or neither."""
    from .export import write_qdpx, write_xlsx
    from .io import all_or_nothing

    xlsx_path = Path(xlsx_path)
    qdpx_path = xlsx_path.with_suffix(".qdpx")
    wanted = set(suggestions["doc_id"])
    docs = [d for d in documents if d.doc_id in wanted]
    coded = pd.DataFrame({"doc_id": suggestions["doc_id"], "segment_id": suggestions["segment_id"],
                          "code_id": TO_CODE, "category": TO_CODE, "term": "à coder",
                          "start_char": suggestions["start_char"], "end_char": suggestions["end_char"],
                          "text": suggestions["text"], "negated": False, "contrast": False})
    with all_or_nothing():
        write_xlsx({"a_coder": suggestions}, xlsx_path)
        write_qdpx(docs, coded, suggestion_codebook(codebook), qdpx_path, name="ptce_nlp : phrases à coder")
    return xlsx_path, qdpx_path
