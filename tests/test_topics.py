"""Topic models: NPMI against a hand computation, stability, choice of k, seeded topics, tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ptce_nlp.topics import (SEGMENT_COLUMNS, SELECTION_COLUMNS, SHARE_COLUMNS, TERM_COLUMNS, SeededNMF, TopicError,
                             TopicModel, best_match_jaccard, choose_k, npmi, select_k, suggest_label)

from .scaling_data import codebook, coded_corpus, corpus_units, small_topics


def test_topics_npmi_matches_hand_computation():
    # units: {a,b}, {a,c}, {a,b}, {c}: P(a)=3/4, P(b)=P(c)=1/2, P(ab)=1/2, P(ac)=1/4, P(bc)=0
    X = sp.csr_matrix([[1, 1, 0], [1, 0, 1], [2, 1, 0], [0, 0, 3]])
    index = {"a": 0, "b": 1, "c": 2}
    ab = math.log(0.5 / (0.75 * 0.5)) / -math.log(0.5)
    ac = math.log(0.25 / (0.75 * 0.5)) / -math.log(0.25)
    bc = -1.0
    assert ab == pytest.approx(0.4150375, abs=1e-7)
    assert ac == pytest.approx(-0.2924813, abs=1e-7)
    got = npmi([["a", "b"], ["a", "b", "c"], ["b", "c"], ["a", "zzz"]], X, index)
    assert got[0] == pytest.approx(ab)
    assert got[1] == pytest.approx((ab + ac + bc) / 3)
    assert got[2] == -1.0
    assert np.isnan(got[3])  # fewer than two known terms


def test_topics_best_match_jaccard_pairs_one_to_one():
    a = [["x", "y"], ["z", "w"]]
    b = [["z", "w"], ["x", "q"]]
    assert best_match_jaccard(a, b) == pytest.approx((1 + 1 / 3) / 2)
    assert best_match_jaccard(a, a) == 1.0


def test_topics_choose_k_rule():
    table = pd.DataFrame({"k": [4, 5, 6, 7], "coherence_npmi": [0.30, 0.10, 0.20, 0.20],
                          "stability": [0.40, 0.60, 0.70, 0.90]})
    # k=4 is the most coherent but unstable; among the stable ones, k=6 and k=7 tie: the smaller wins
    assert table.loc[choose_k(table), "k"] == 6
    assert table.loc[choose_k(table, stability_threshold=0.95), "k"] == 4


def test_topics_k_larger_than_units_is_refused():
    X = sp.csr_matrix(np.ones((3, 5)))
    with pytest.raises(TopicError, match=r"^k=4 topics is larger than the number of units \(3\); "):
        TopicModel(kind="nmf", n_topics=4).fit(X)
    with pytest.raises(TopicError, match="k=5 topics is larger"):
        select_k(X, list("abcde"), kind="lda", ks=[2, 5])


def test_topics_unknown_kind():
    with pytest.raises(TopicError, match="unknown topic model 'plsa'"):
        TopicModel(kind="plsa").fit(sp.csr_matrix(np.ones((3, 3))))


def test_topics_selection_table():
    table = small_topics().tables["topic_selection"]
    assert list(table.columns) == SELECTION_COLUMNS
    assert table.groupby("model")["chosen"].sum().to_dict() == {"lda": 1, "nmf": 1}
    assert table[table.model == "nmf"]["perplexity"].isna().all()
    assert (table[table.model == "lda"]["perplexity"] > 0).all()
    assert table["stability"].between(0, 1).all()


def test_topics_tables_follow_the_contract():
    tables = small_topics().tables
    assert list(tables["topic_terms"].columns) == TERM_COLUMNS
    assert list(tables["topic_shares"].columns) == SHARE_COLUMNS
    assert list(tables["topic_segments"].columns) == SEGMENT_COLUMNS
    assert list(tables["topic_seeds"].columns) == ["topic", "seed", "n_top", "n_from_seed", "share_from_seed",
                                                   "learned_terms"]
    shares = tables["topic_shares"]
    sums = shares.groupby(["doc_id", "model"])["share"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    assert set(shares["model"]) == {"lda", "nmf", "seeded"}


def test_topics_representative_segments_point_into_original_text():
    documents, _ = coded_corpus()
    texts = {d.doc_id: d.text for d in documents}
    segments = small_topics().tables["topic_segments"]
    assert len(segments) > 0
    for row in segments.itertuples():
        assert texts[row.doc_id][row.start_char:row.end_char] == row.text


def test_topics_seeded_topics_report_seed_and_learned_terms():
    result = small_topics()
    terms = result.tables["topic_terms"]
    seeded = terms[terms.model == "seeded"]
    assert seeded[seeded.topic == 0]["seed"].unique().tolist() == ["valeurs_ess"]
    assert seeded[seeded.topic == 1]["seed"].unique().tolist() == ["discours_cluster"]
    assert (seeded[seeded.topic >= 2]["seed"] == "").all()
    report = result.tables["topic_seeds"].set_index("seed")
    for seed in ("valeurs_ess", "discours_cluster"):
        rows = seeded[seeded.seed == seed]
        assert report.loc[seed, "n_from_seed"] == rows["from_seed"].sum()
        learned = [t for t in rows["term"] if not rows.set_index("term").loc[t, "from_seed"]]
        assert report.loc[seed, "learned_terms"] == ", ".join(learned)
        assert report.loc[seed, "n_from_seed"] >= 3  # the seeds keep the topic on its theme
    # the ESS topic weighs ESS seeds above cluster seeds, and conversely
    model = result.models["seeded"]
    H = model.components_
    ess, cluster = model.seed_index_
    assert H[0, ess].mean() > H[0, cluster].mean()
    assert H[1, cluster].mean() > H[1, ess].mean()


def test_topics_fit_is_deterministic():
    units = corpus_units("paragraph")
    X = small_topics().vectorizer.transform(units.terms())
    a = TopicModel(kind="nmf", n_topics=4, random_state=3).fit(X).components_
    b = TopicModel(kind="nmf", n_topics=4, random_state=3).fit(X).components_
    assert np.array_equal(a, b)


def test_topics_lda_rebuilt_from_arrays_transforms_alike():
    result = small_topics()
    lda = result.models["lda"]
    X = result.vectorizer.transform(corpus_units("paragraph").terms()[:50])
    rebuilt = TopicModel(kind="lda", n_topics=lda.n_topics, random_state=lda.random_state)
    rebuilt.components_, rebuilt.raw_components_ = lda.components_, lda.raw_components_
    rebuilt.doc_topic_prior_, rebuilt.idf_ = lda.doc_topic_prior_, None
    assert np.allclose(rebuilt.transform(X), lda.transform(X))


def test_topics_seeded_needs_seeds_in_vocabulary():
    X = sp.csr_matrix(np.eye(4))
    with pytest.raises(TopicError, match="no seed term of 'valeurs_ess' is in the vocabulary"):
        SeededNMF(seeds={"valeurs_ess": ["zzz"]}, n_topics=2).fit(X, feature_names=list("abcd"))


def test_topics_suggested_label_from_codebook():
    assert suggest_label(["mutualisation", "mutualiser", "local"], [3.0, 2.0, 1.0], codebook()) == \
        "Mutualisation (Valeurs de l'ESS)"
    assert suggest_label(["chat", "chien", "oiseau", "loup"], [1, 1, 1, 1], codebook()) == \
        "Thème libre : chat, chien, oiseau"


def test_topics_held_out_perplexity_by_hand():
    from ptce_nlp.topics import held_out_perplexity

    model = TopicModel(kind="lda", n_topics=2)
    model.components_ = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])

    class Fixed:  # proportions inferred for the two held-out units
        components_ = model.components_

        @staticmethod
        def transform(X):
            return np.array([[1.0, 0.0], [0.5, 0.5]])

    X = sp.csr_matrix([[2, 0, 0], [0, 1, 1]])
    # unit 1: p(a) = 0.5 twice; unit 2: p(b) = 0.5*0.5 + 0.5*0.2 = 0.35, p(c) = 0.4
    expected = math.exp(-(2 * math.log(0.5) + math.log(0.35) + math.log(0.4)) / 4)
    assert held_out_perplexity(Fixed, X) == pytest.approx(expected)
