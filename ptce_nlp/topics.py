"""Topic models over lemma features: LDA, NMF, seeded NMF, and the choice of k.

Models (scikit-learn):

- ``lda``: :class:`~sklearn.decomposition.LatentDirichletAllocation` (batch
  variational Bayes) on term counts;
- ``nmf``: :class:`~sklearn.decomposition.NMF` (coordinate descent, Frobenius
  loss, random initialisation) on tf-idf rows (``log`` idf, l2-normalised);
- ``seeded``: :class:`SeededNMF`, NMF whose first topics are tied to seed
  terms (the codebook patterns of ``valeurs_ess`` and ``discours_cluster``),
  the others free, in the spirit of keyATM (Eshima, Imai & Sasaki 2024).

Model selection over ``k`` (:func:`select_k`), per model kind:

- *coherence*: mean NPMI of the top ``n_top`` terms of each topic over the
  corpus units (Bouma 2009; Röder, Both & Hinneburg 2015), see :func:`npmi`,
  for the fit with the base seed (the one kept);
- *perplexity* (LDA only): per-word perplexity of a held-out tenth of the units
  (every tenth unit) under an LDA fitted on the other nine tenths, see
  :func:`held_out_perplexity`;
- *stability*: the models fitted with ``n_seeds`` random seeds are compared two
  by two; topics are paired one to one to maximise the Jaccard index of their
  top-term sets (Hungarian algorithm) and the mean Jaccard of the pairs is
  averaged over seed pairs (Greene, O'Callaghan & Cunningham 2014).

**Rule to choose k**: among the k whose stability is at least
``stability_threshold`` (0.5), take the one with the highest coherence; when
no k is that stable, take the highest coherence overall. Ties go to the
smaller k. Perplexity is reported, not used: it keeps falling as k grows and
agrees poorly with human judgement of topics (Chang et al. 2009).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator
from sklearn.decomposition import NMF, LatentDirichletAllocation, non_negative_factorization
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .codebook import Codebook
from .errors import PtceError
from .features import LemmaVectorizer, TermUnits, seed_terms

KINDS = ("lda", "nmf")
SEED_CODES = ("valeurs_ess", "discours_cluster")
TERM_COLUMNS = ["model", "topic", "label", "seed", "rank", "term", "weight", "from_seed"]
SHARE_COLUMNS = ["doc_id", "pole", "pole_type", "model", "topic", "share"]
SELECTION_COLUMNS = ["model", "k", "coherence_npmi", "perplexity", "stability", "chosen"]
SEGMENT_COLUMNS = ["model", "topic", "rank", "doc_id", "segment_id", "start_char", "end_char", "text", "weight"]
SEEDS_COLUMNS = ["topic", "seed", "n_top", "n_from_seed", "share_from_seed", "learned_terms"]


class TopicError(PtceError):
    """A topic model cannot be fitted as asked (k too large, no seed term in the vocabulary...)."""


# --------------------------------------------------------------------------- measures

def npmi(top_terms: Sequence[Sequence[str]], X: sp.spmatrix, index: Mapping[str, int]) -> np.ndarray:
    """NPMI coherence of each topic over the units of ``X``.

    For terms i, j with document (unit) frequencies D(i), D(j), D(i, j) over
    N units, P(i) = D(i)/N and P(i, j) = D(i, j)/N::

        NPMI(i, j) = log(P(i, j) / (P(i) P(j))) / -log P(i, j)

    with NPMI = -1 when i and j never co-occur and 1 when P(i, j) = 1. A
    topic's coherence is the mean over the pairs of its top terms.

    Parameters
    ----------
    top_terms : sequence of sequence of str
        The top terms of each topic (terms missing from ``index`` are skipped).
    X : sparse matrix of shape (n_units, n_terms)
        Counts (only presence matters).
    index : mapping of str to int
        Column of each term.

    Returns
    -------
    ndarray of shape (n_topics,)

    Examples
    --------
    >>> X = sp.csr_matrix([[1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 0, 1]])
    >>> npmi([["a", "b"]], X, {"a": 0, "b": 1, "c": 2}).round(4).tolist()
    [0.415]
    """
    B = (sp.csr_matrix(X) > 0).astype(np.float64).tocsc()
    n = B.shape[0]
    out = []
    for terms in top_terms:
        cols = [index[t] for t in terms if t in index]
        if len(cols) < 2:
            out.append(np.nan)
            continue
        sub = B[:, cols]
        joint = (sub.T @ sub).toarray() / n
        single = np.diag(joint).copy()
        scores = []
        for a, b in itertools.combinations(range(len(cols)), 2):
            pab = joint[a, b]
            if pab <= 0:
                scores.append(-1.0)
            elif pab >= 1:
                scores.append(1.0)
            else:
                scores.append(np.log(pab / (single[a] * single[b])) / -np.log(pab))
        out.append(float(np.mean(scores)))
    return np.array(out)


def best_match_jaccard(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> float:
    """Mean Jaccard index of the top-term sets of two models' topics, paired one to one.

    The pairing maximises the total Jaccard (Hungarian algorithm,
    :func:`scipy.optimize.linear_sum_assignment`).

    Examples
    --------
    >>> best_match_jaccard([["x", "y"], ["z", "w"]], [["z", "w"], ["x", "q"]])
    0.6666666666666666
    """
    sim = np.array([[len(set(s) & set(t)) / len(set(s) | set(t)) if set(s) | set(t) else 0.0 for t in b]
                    for s in a])
    rows, cols = linear_sum_assignment(-sim)
    return float(sim[rows, cols].mean())


def held_out_perplexity(model: "TopicModel", X: sp.spmatrix) -> float:
    """Per-word perplexity of held-out units under a fitted LDA.

    ``exp(-sum_dw c_dw log(sum_t theta_dt phi_tw) / sum_dw c_dw)`` with
    theta the units' inferred topic proportions and phi the topic-term
    probabilities. scikit-learn's ``perplexity`` is not used: its bound
    scales the topic-word prior by the size of the evaluated data, which
    makes it explode on small held-out sets as k grows (scikit-learn issue
    #20032).
    """
    X = sp.coo_matrix(X, dtype=np.float64)
    if X.nnz == 0:
        return float("nan")
    theta = model.transform(X.tocsr())
    theta = theta / np.where(theta.sum(axis=1, keepdims=True) > 0, theta.sum(axis=1, keepdims=True), 1)
    phi = model.components_
    p = np.einsum("ik,ik->i", theta[X.row], phi[:, X.col].T)
    return float(np.exp(-(X.data * np.log(np.maximum(p, 1e-300))).sum() / X.data.sum()))


def top_terms(components: np.ndarray, vocabulary: Sequence[str], n_top: int) -> list[list[str]]:
    """The ``n_top`` heaviest terms of each topic (ties broken by vocabulary order)."""
    order = np.argsort(-components, axis=1, kind="stable")[:, :n_top]
    return [[vocabulary[j] for j in row] for row in order]


def tfidf(X: sp.spmatrix, idf: np.ndarray) -> sp.csr_matrix:
    """Rows of counts times idf, l2-normalised (empty rows stay empty)."""
    T = sp.csr_matrix(X, dtype=np.float64) @ sp.diags(idf)
    norms = np.sqrt(np.asarray(T.multiply(T).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ T)


def idf_weights(X: sp.spmatrix) -> np.ndarray:
    """Smoothed idf: ``log((1 + n) / (1 + df)) + 1`` (scikit-learn's TfidfTransformer)."""
    n = X.shape[0]
    df = np.asarray((sp.csr_matrix(X) > 0).sum(axis=0)).ravel()
    return np.log((1.0 + n) / (1.0 + df)) + 1.0


# --------------------------------------------------------------------------- estimators

class TopicModel(BaseEstimator):
    """LDA on counts or NMF on tf-idf, with a common interface.

    Parameters
    ----------
    kind : {"lda", "nmf"}
    n_topics : int, default 8
    random_state : int, default 0
    max_iter : int, default 200
        NMF iterations; LDA uses ``max(20, max_iter // 10)`` batch EM passes.

    Attributes
    ----------
    components_ : ndarray of shape (n_topics, n_terms)
        Topic-term weights (LDA: rows are topic-term probabilities).
    idf_ : ndarray of shape (n_terms,)
        NMF only: the idf of the training units.
    model_ : LatentDirichletAllocation or None
        LDA only (for perplexity); not saved.
    """

    def __init__(self, kind: str = "nmf", n_topics: int = 8, random_state: int = 0, max_iter: int = 200):
        self.kind = kind
        self.n_topics = n_topics
        self.random_state = random_state
        self.max_iter = max_iter

    def fit(self, X: sp.spmatrix, y=None) -> "TopicModel":
        if self.kind not in KINDS:
            raise TopicError(f"unknown topic model {self.kind!r}; use one of {', '.join(KINDS)}")
        _check_k(self.n_topics, X)
        X = sp.csr_matrix(X, dtype=np.float64)
        if self.kind == "lda":
            lda = LatentDirichletAllocation(n_components=self.n_topics, learning_method="batch",
                                            max_iter=max(20, self.max_iter // 10), random_state=self.random_state)
            lda.fit(X)
            self.model_ = lda
            self.components_ = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
            self.idf_ = None
            self.doc_topic_prior_ = float(lda.doc_topic_prior_)
            self.raw_components_ = lda.components_
        else:
            self.idf_ = idf_weights(X)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                nmf = NMF(n_components=self.n_topics, init="random", solver="cd", max_iter=self.max_iter,
                          random_state=self.random_state)
                nmf.fit(tfidf(X, self.idf_))
            self.model_ = None
            self.components_ = nmf.components_
        return self

    def transform(self, X: sp.spmatrix) -> np.ndarray:
        """Unit-topic weights, shape ``(n_units, n_topics)`` (LDA: proportions; NMF: loadings)."""
        check_is_fitted(self, "components_")
        X = sp.csr_matrix(X, dtype=np.float64)
        if self.kind == "lda":
            return _lda_from_arrays(self).transform(X)
        return _nmf_transform(tfidf(X, self.idf_), self.components_)


def _lda_from_arrays(model: TopicModel) -> LatentDirichletAllocation:
    """A scikit-learn LDA rebuilt from saved arrays (for transform; no training state)."""
    if getattr(model, "model_", None) is not None:
        return model.model_
    from scipy.special import psi

    lda = LatentDirichletAllocation(n_components=model.n_topics, learning_method="batch",
                                    random_state=model.random_state)
    lda.components_ = model.raw_components_
    lda.exp_dirichlet_component_ = np.exp(psi(lda.components_) - psi(lda.components_.sum(axis=1))[:, None])
    lda.doc_topic_prior_ = model.doc_topic_prior_
    lda.topic_word_prior_ = 1.0 / model.n_topics
    lda.n_features_in_ = lda.components_.shape[1]
    lda.n_batch_iter_ = 1
    lda.n_iter_ = 1
    lda.bound_ = 0.0
    lda.random_state_ = np.random.RandomState(model.random_state)
    model.model_ = lda
    return lda


def _nmf_transform(T: sp.csr_matrix, H: np.ndarray) -> np.ndarray:
    if T.shape[0] == 0:
        return np.zeros((0, H.shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W, _, _ = non_negative_factorization(T, H=H, n_components=H.shape[0], init="custom", update_H=False,
                                             solver="cd", max_iter=500)
    return W


def _check_k(k: int, X) -> None:
    n_units = X[0] if isinstance(X, tuple) else X.shape[0]
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise TopicError(f"the number of topics must be an integer >= 2, got {k!r}")
    if k > n_units:
        raise TopicError(f"k={k} topics is larger than the number of units ({n_units}); "
                         "use a smaller k or smaller units (--unit sentence)")


class SeededNMF(BaseEstimator):
    """NMF with seeded topics (keyword-assisted), the remaining topics free.

    Each seeded topic s has a set of seed terms S_s. The tf-idf matrix of the
    units (l2-normalised rows) is augmented with one pseudo-unit per seeded
    topic, ``lambda * 1[S_s] / sqrt(|S_s|)``, whose loading is fixed at the
    start on its own topic; ``lambda = sqrt(seed_weight * n_units /
    n_seeded)`` gives the seeds the weight of ``seed_weight`` of the corpus
    (a prior on the topic's terms, in the spirit of keyATM's seed-word
    prior). Initialisation (``init="custom"``): a seeded topic starts as the
    centroid of the units that hold one of its seeds, plus its seeds; free
    topics start random (``random_state``); unit loadings start from the
    seeds present in the unit. Then ordinary NMF (coordinate descent) runs on
    the augmented matrix: a seeded topic keeps its seeds and *learns* the terms
    that co-occur with them.

    Parameters
    ----------
    seeds : mapping of str to sequence of str
        Seeded topic name (a code id) -> seed terms (absent terms are ignored).
    n_topics : int, default 8
        All topics, seeded ones first.
    seed_weight : float, default 0.2
    random_state : int, default 0
    max_iter : int, default 400

    Attributes
    ----------
    components_ : ndarray of shape (n_topics, n_terms)
    idf_ : ndarray of shape (n_terms,)
    seed_names_ : list of str
    seed_index_ : list of ndarray
        Columns of each seeded topic's seed terms found in the vocabulary.
    """

    def __init__(self, seeds: Mapping[str, Sequence[str]] | None = None, n_topics: int = 8, seed_weight: float = 0.02,
                 random_state: int = 0, max_iter: int = 400):
        self.seeds = seeds
        self.n_topics = n_topics
        self.seed_weight = seed_weight
        self.random_state = random_state
        self.max_iter = max_iter

    def fit(self, X: sp.spmatrix, y=None, *, feature_names: Sequence[str]) -> "SeededNMF":
        seeds = dict(self.seeds or {})
        if not seeds:
            raise TopicError("a seeded model needs at least one seeded topic")
        _check_k(self.n_topics, X)
        if self.n_topics < len(seeds):
            raise TopicError(f"k={self.n_topics} is smaller than the number of seeded topics ({len(seeds)})")
        index = {t: i for i, t in enumerate(feature_names)}
        self.seed_names_ = list(seeds)
        self.seed_index_ = []
        for name, terms in seeds.items():
            cols = np.array(sorted({index[t] for t in terms if t in index}), dtype=np.int64)
            if len(cols) == 0:
                raise TopicError(f"no seed term of {name!r} is in the vocabulary; lower min_df or check the codebook")
            self.seed_index_.append(cols)
        X = sp.csr_matrix(X, dtype=np.float64)
        self.idf_ = idf_weights(X)
        T = tfidf(X, self.idf_)
        n, m = T.shape
        k, n_seeded = self.n_topics, len(seeds)
        n_rows = max(1, int((T.getnnz(axis=1) > 0).sum()))
        lam = np.sqrt(self.seed_weight * n_rows / n_seeded)
        pseudo = np.zeros((n_seeded, m))
        for s, cols in enumerate(self.seed_index_):
            pseudo[s, cols] = lam / np.sqrt(len(cols))
        A = sp.vstack([T, sp.csr_matrix(pseudo)]).tocsr()
        rng = np.random.RandomState(self.random_state)
        scale = np.sqrt(A.mean() / k)
        H0 = np.abs(scale * rng.standard_normal((k, m)))
        W0 = np.abs(scale * rng.standard_normal((n + n_seeded, k)))
        Tc = T.tocsc()
        for s, cols in enumerate(self.seed_index_):
            has = np.asarray(Tc[:, cols].sum(axis=1)).ravel() > 0
            centroid = np.asarray(T[has].mean(axis=0)).ravel() if has.any() else np.zeros(m)
            H0[s] = 1e-3 * scale + centroid
            H0[s, cols] += 1.0 / np.sqrt(len(cols))
            W0[:n][has, s] += 1.0
            W0[n + s] = 0.0
            W0[n + s, s] = lam
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            W, H, _ = non_negative_factorization(A, W=W0, H=H0, n_components=k, init="custom", solver="cd",
                                                 max_iter=self.max_iter, random_state=self.random_state)
        self.components_ = H
        return self

    def transform(self, X: sp.spmatrix) -> np.ndarray:
        """Unit-topic loadings, shape ``(n_units, n_topics)``, seeded topics first."""
        check_is_fitted(self, "components_")
        return _nmf_transform(tfidf(X, self.idf_), self.components_)


# --------------------------------------------------------------------------- model selection

def select_k(X: sp.spmatrix, vocabulary: Sequence[str], *, kind: str, ks: Sequence[int] = range(4, 13),
             n_seeds: int = 3, n_top: int = 10, random_state: int = 0,
             stability_threshold: float = 0.5) -> pd.DataFrame:
    """Coherence, perplexity and stability of one model kind over ``ks``; the chosen k flagged.

    Returns
    -------
    DataFrame
        ``model, k, coherence_npmi, perplexity, stability, chosen`` (one row per k).
    """
    X = sp.csr_matrix(X, dtype=np.float64)
    ks = [int(k) for k in ks]
    for k in ks:
        _check_k(k, X)
    index = {t: i for i, t in enumerate(vocabulary)}
    held = np.arange(X.shape[0]) % 10 == 9
    rows = []
    for k in ks:
        tops, coherences = [], []
        for s in range(n_seeds):
            model = TopicModel(kind=kind, n_topics=k, random_state=random_state + s).fit(X)
            terms = top_terms(model.components_, vocabulary, n_top)
            tops.append(terms)
            coherences.append(float(np.nanmean(npmi(terms, X, index))))
        perplexity = np.nan
        if kind == "lda" and held.any() and (~held).sum() >= k:
            lda = TopicModel(kind="lda", n_topics=k, random_state=random_state).fit(X[~held])
            perplexity = held_out_perplexity(lda, X[held])
        pairs = list(itertools.combinations(range(n_seeds), 2))
        stability = float(np.mean([best_match_jaccard(tops[a], tops[b]) for a, b in pairs])) if pairs else np.nan
        rows.append((kind, k, coherences[0], perplexity, stability))
    table = pd.DataFrame(rows, columns=SELECTION_COLUMNS[:-1])
    table["chosen"] = False
    table.loc[choose_k(table, stability_threshold=stability_threshold), "chosen"] = True
    return table


def choose_k(table: pd.DataFrame, *, stability_threshold: float = 0.5):
    """Index of the chosen row: highest coherence among the stable k, else overall; ties to the smaller k."""
    stable = table[table["stability"].fillna(1.0) >= stability_threshold]
    pool = stable if len(stable) else table
    best = pool["coherence_npmi"].max()
    return pool[pool["coherence_npmi"] >= best - 1e-12].sort_values("k").index[0]


# --------------------------------------------------------------------------- the topics stage

@dataclass
class TopicsResult:
    """Fitted models and their tables (``.tables``, see the table contract)."""

    vectorizer: LemmaVectorizer
    models: dict[str, BaseEstimator]
    units: TermUnits
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def fit_topics(units: TermUnits, codebook: Codebook, *, ks: Sequence[int] = range(4, 13),
               kinds: Sequence[str] = KINDS, n_topics: Mapping[str, int] | None = None,
               seed_codes: Sequence[str] = SEED_CODES, n_top: int = 10, n_seeds: int = 3, min_df: int | float = 2,
               max_df: int | float = 0.25, seed_weight: float = 0.02, n_segments: int = 3,
               random_state: int = 0) -> TopicsResult:
    """Fit LDA, NMF (k chosen by :func:`select_k` unless given in ``n_topics``) and the seeded NMF.

    The seeded model has as many topics as the chosen NMF (at least one more
    than the seeded ones); its seeds are :func:`features.seed_terms` of each
    code of ``seed_codes``.

    Returns
    -------
    TopicsResult
        ``tables``: ``topic_terms, topic_shares, topic_pole_shares,
        topic_selection, topic_segments, topic_seeds``.
    """
    n_topics = dict(n_topics or {})
    shape = (len(units), 0)
    for kind in kinds:
        for k in ([n_topics[kind]] if kind in n_topics else list(ks)):
            _check_k(int(k), shape)
    vectorizer = LemmaVectorizer(min_df=min_df, max_df=max_df).fit(units.terms())
    vocab = vectorizer.vocabulary_
    X = vectorizer.transform(units.terms())
    selections, models = [], {}
    for kind in kinds:
        if kind in n_topics:
            k = int(n_topics[kind])
            _check_k(k, X)
        else:
            table = select_k(X, vocab, kind=kind, ks=ks, n_seeds=n_seeds, n_top=n_top, random_state=random_state)
            selections.append(table)
            k = int(table.loc[table["chosen"], "k"].iloc[0])
        models[kind] = TopicModel(kind=kind, n_topics=k, random_state=random_state).fit(X)
    seeds = {code: seed_terms(codebook, code) for code in seed_codes}
    if seeds:
        k_seeded = int(n_topics.get("seeded", max(models["nmf"].n_topics if "nmf" in models else 8, len(seeds) + 1)))
        models["seeded"] = SeededNMF(seeds=seeds, n_topics=k_seeded, seed_weight=seed_weight,
                                     random_state=random_state).fit(X, feature_names=vocab)
    result = TopicsResult(vectorizer, models, units, params={
        "ks": list(ks), "n_top": n_top, "n_seeds": n_seeds, "min_df": min_df, "max_df": max_df,
        "seed_weight": seed_weight, "random_state": random_state, "unit": units.unit})
    result.tables = topic_tables(result, codebook, X=X, n_top=n_top, n_segments=n_segments,
                                 selection=pd.concat(selections, ignore_index=True) if selections
                                 else pd.DataFrame(columns=SELECTION_COLUMNS))
    return result


def apply_topics(models: Mapping[str, BaseEstimator], vocabulary: Sequence[str], units: TermUnits,
                 codebook: Codebook, *, n_top: int = 10, n_segments: int = 3) -> TopicsResult:
    """Topic tables of new units under topic models fitted elsewhere (a saved model): nothing is refitted.

    ``models`` and ``vocabulary`` are :attr:`ptce_nlp.models.SavedModel.topics` and
    ``.topics_vocabulary``; ``units`` must be of the unit the models were fitted on.
    The ``topic_selection`` table is empty: k was chosen when the models were fitted.
    """
    if not models:
        raise TopicError("the model holds no topic model to apply")
    vectorizer = LemmaVectorizer.from_vocabulary(vocabulary, np.zeros(len(vocabulary), dtype=np.int64))
    result = TopicsResult(vectorizer, dict(models), units, params={"applied": True, "unit": units.unit})
    result.tables = topic_tables(result, codebook, n_top=n_top, n_segments=n_segments)
    return result


def topic_tables(result: TopicsResult, codebook: Codebook, *, X=None, n_top: int = 10, n_segments: int = 3,
                 selection: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The contract tables of fitted topic models over ``result.units``."""
    units = result.units
    vocab = result.vectorizer.vocabulary_
    if X is None:
        X = result.vectorizer.transform(units.terms())
    code_terms = _code_terms(codebook)
    term_rows, share_rows, pole_rows, segment_rows, seed_rows = [], [], [], [], []
    meta = units.units
    for name, model in result.models.items():
        H = model.components_
        W = model.transform(X)
        seed_names = getattr(model, "seed_names_", [])
        seed_sets = [set(vocab[j] for j in cols) for cols in getattr(model, "seed_index_", [])]
        for t in range(H.shape[0]):
            order = np.argsort(-H[t], kind="stable")[:n_top]
            terms = [vocab[j] for j in order]
            seed = seed_names[t] if t < len(seed_names) else ""
            seed_set = seed_sets[t] if t < len(seed_sets) else set()
            label = suggest_label(terms, H[t, order], codebook, code_terms)
            for r, j in enumerate(order, 1):
                term_rows.append((name, t, label, seed, r, vocab[j], float(H[t, j]), vocab[j] in seed_set))
            if seed:
                n_seed = sum(term in seed_set for term in terms)
                seed_rows.append((t, seed, len(terms), n_seed, n_seed / len(terms) if terms else np.nan,
                                  ", ".join(term for term in terms if term not in seed_set)))
        shares = _unit_shares(W, X)
        for doc_id, rows in meta.groupby("doc_id", sort=False).indices.items():
            doc_share = _pooled(W, X, rows)
            for t, value in enumerate(doc_share):
                share_rows.append((doc_id, meta["pole"].iat[rows[0]], meta["pole_type"].iat[rows[0]], name, t,
                                   value))
        poles = meta["pole"].where(meta["pole"] != "", meta["doc_id"])
        for pole, rows in poles.groupby(poles, sort=False).indices.items():
            for t, value in enumerate(_pooled(W, X, rows)):
                pole_rows.append((pole, meta["pole_type"].iat[rows[0]], name, t, value))
        n_terms = np.asarray(X.sum(axis=1)).ravel()
        for t in range(H.shape[0]):
            eligible = np.flatnonzero(n_terms >= 3)
            if len(eligible) == 0:
                eligible = np.arange(len(n_terms))
            order = eligible[np.lexsort((-n_terms[eligible], -shares[eligible, t]))][:n_segments]
            for r, i in enumerate(order, 1):
                if shares[i, t] <= 0:
                    break
                u = meta.iloc[i]
                segment_rows.append((name, t, r, u["doc_id"], u["unit_id"], int(u["start_char"]),
                                     int(u["end_char"]), u["text"], float(shares[i, t])))
    return {
        "topic_terms": pd.DataFrame(term_rows, columns=TERM_COLUMNS),
        "topic_shares": pd.DataFrame(share_rows, columns=SHARE_COLUMNS),
        "topic_pole_shares": pd.DataFrame(pole_rows, columns=["pole", "pole_type", "model", "topic", "share"]),
        "topic_selection": selection if selection is not None else pd.DataFrame(columns=SELECTION_COLUMNS),
        "topic_segments": pd.DataFrame(segment_rows, columns=SEGMENT_COLUMNS),
        "topic_seeds": pd.DataFrame(seed_rows, columns=SEEDS_COLUMNS),
    }


def _unit_shares(W: np.ndarray, X) -> np.ndarray:
    totals = W.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, W / np.where(totals > 0, totals, 1), 0.0)


def _pooled(W: np.ndarray, X, rows) -> np.ndarray:
    """Topic shares of a group of units: each unit's shares weighted by its number of terms, normalised."""
    weights = np.asarray(X[rows].sum(axis=1)).ravel()
    sub = _unit_shares(W[rows], X) * weights[:, None]
    total = sub.sum()
    return sub.sum(axis=0) / total if total > 0 else np.full(W.shape[1], np.nan)


def _code_terms(codebook: Codebook) -> dict[str, set[str]]:
    return {c.id: set(seed_terms(codebook, c.id)) for c in codebook.leaves()}


def suggest_label(terms: Sequence[str], weights: Sequence[float], codebook: Codebook,
                  code_terms: Mapping[str, set[str]] | None = None) -> str:
    """A French label: the codebook code whose patterns cover most weight of the top terms.

    ``"<code label> (<category label>)"``, or ``"Thème libre : t1, t2, t3"`` when no top term is a
    codebook term.

    Examples
    --------
    >>> suggest_label(["mutualisation", "local"], [2.0, 1.0], Codebook.shipped())   # doctest: +SKIP
    'Mutualisation (Valeurs de l'ESS)'
    """
    code_terms = code_terms if code_terms is not None else _code_terms(codebook)
    best, best_weight = "", 0.0
    for code_id, known in code_terms.items():
        weight = sum(float(w) for t, w in zip(terms, weights) if t in known)
        if weight > best_weight + 1e-12:
            best, best_weight = code_id, weight
    if not best:
        return "Thème libre : " + ", ".join(terms[:3])
    code = codebook[best]
    return f"{code.label} ({codebook[code.category].label})"
