"""Closeness: Wordscores against LBG 2003, the four methods, intervals, contrast, empty scores, agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ptce_nlp.closeness import (AGREEMENT_COLUMNS, DOC_COLUMNS, METHODS, POLE_COLUMNS, ClosenessError, ClosenessModel,
                                Wordscores, closeness_tables, load_word_vectors, method_agreement,
                                pole_type_agreement, word_polarity)

from .scaling_data import LBG_EXAMPLE, closeness_model, codebook, coded_corpus, corpus_units, units_of

ESS = ("Le pôle réunit des associations et des coopératives du territoire. Les structures mutualisent leurs "
       "moyens et développent l'insertion par l'activité économique. La gouvernance est démocratique et "
       "l'utilité sociale guide les projets.")
CONTRAST = (" Contrairement aux pôles de compétitivité, qui visent la compétitivité internationale et "
            "l'innovation technologique avec les grands groupes, le pôle reste local.")
SAME_WITHOUT_CLAUSE = " Le pôle reste local."
PLAIN = (" Les pôles de compétitivité visent la compétitivité internationale et l'innovation technologique "
         "avec les grands groupes, le pôle reste local.")


# --------------------------------------------------------------------------- Wordscores, LBG 2003

@pytest.fixture(scope="module")
def lbg():
    frame = pd.read_csv(LBG_EXAMPLE)
    X = frame.iloc[:, 2:].to_numpy(float)
    y = frame["reference_score"].to_numpy()
    ref = ~np.isnan(y)
    ws = Wordscores().fit(X[ref], y[ref]).fit_rescaling(X[~ref])
    return ws, ws.score(X).set_axis(frame["document"])


def test_closeness_wordscores_reproduce_lbg2003_raw_and_se(lbg):
    _, scores = lbg
    assert round(scores.loc["V1", "raw"], 4) == -0.4481
    assert round(scores.loc["V1", "se"], 4) == 0.0119
    assert round(scores.loc["R1", "raw"], 4) == -1.3179


def test_closeness_wordscores_reproduce_lbg2003_rescaled(lbg):
    ws, scores = lbg
    assert round(scores.loc["V1", "lbg"], 4) == -0.5297
    assert round(scores.loc["V1", "mv"], 2) == -0.51
    # Martin-Vanberg puts the extreme references back on their scores
    assert scores.loc["R1", "mv"] == pytest.approx(-1.5)
    assert scores.loc["R5", "mv"] == pytest.approx(1.5)


def test_closeness_wordscores_se_rescaled_by_slope_only(lbg):
    ws, scores = lbg
    mean, sd_raw, sd_ref = ws.lbg_
    slope = sd_ref / sd_raw
    assert scores.loc["V1", "lbg_se"] == pytest.approx(scores.loc["V1", "se"] * slope)
    r_lo, r_hi, a_lo, a_hi = ws.mv_
    assert scores.loc["V1", "mv_se"] == pytest.approx(scores.loc["V1", "se"] * (a_hi - a_lo) / (r_hi - r_lo))
    assert scores.loc["V1", "lbg_se"] == pytest.approx(0.0145, abs=5e-5)


def test_closeness_wordscores_needs_two_distinct_references():
    with pytest.raises(ClosenessError, match="must not all be equal"):
        Wordscores().fit(np.ones((2, 3)), [1.0, 1.0])


# --------------------------------------------------------------------------- the corpus model

@pytest.fixture(scope="module")
def tables():
    return closeness_tables(closeness_model(), corpus_units("sentence"))


def test_closeness_tables_follow_the_contract(tables):
    assert list(tables["closeness"].columns) == DOC_COLUMNS
    assert DOC_COLUMNS[:6] == ["doc_id", "pole", "pole_type", "score", "score_low", "score_high"]
    assert DOC_COLUMNS[6:18] == [f"{m}_{s}" for m in METHODS for s in ("score", "low", "high")]
    assert DOC_COLUMNS[18:20] == ["n_tokens", "reason"]
    assert list(tables["closeness_poles"].columns) == POLE_COLUMNS
    assert list(tables["closeness_agreement"].columns) == AGREEMENT_COLUMNS
    assert len(tables["closeness"]) == 33
    assert tables["closeness_poles"]["n_docs"].sum() == 33


def test_closeness_lexicon_is_weighted_balance_of_counted_matches(tables):
    """(sum of w_c s_c n_c) / (sum of w_c n_c) over the counted matches, w_c the code's learned weight: not the
    plain balance (E - C) / (E + C), which weighs a code common to both references like any other."""
    from ptce_nlp.analysis import scored_mask

    _, result = coded_corpus()
    coded = result.coded
    counted = coded[scored_mask(coded).to_numpy() & ~coded["opposed"].astype(bool).to_numpy()]
    model = closeness_model()
    weight = dict(zip(model.lexicon_codes_, model.lexicon_weights_))
    docs = tables["closeness"].set_index("doc_id")
    for doc_id in ("ptce_pollens", "pdc_minalogic", "spl_textile_roannais"):
        mine = counted[(counted["doc_id"] == doc_id) & counted["code_id"].isin(list(weight))]
        w = mine["code_id"].map(weight).to_numpy()
        s = np.where(mine["category"] == "valeurs_ess", 1.0, -1.0)
        assert docs.loc[doc_id, "lexicon_score"] == pytest.approx((w * s).sum() / w.sum())
        e, c = (s > 0).sum(), (s < 0).sum()
        if e and c:  # both ends: the weights move the score
            assert docs.loc[doc_id, "lexicon_score"] != pytest.approx((e - c) / (e + c), abs=1e-6)


def test_closeness_references_anchor_the_axis(tables):
    docs = tables["closeness"].set_index("doc_id")
    assert docs.loc["reference_ess", "wordscores_score"] == pytest.approx(1.0)
    assert docs.loc["reference_cluster", "wordscores_score"] == pytest.approx(-1.0)
    assert docs.loc["reference_ess", "embedding_score"] == pytest.approx(1.0)
    assert docs.loc["reference_cluster", "embedding_score"] == pytest.approx(-1.0)


def test_closeness_intervals_hold_the_scores_and_composite_is_the_mean(tables):
    docs = tables["closeness"]
    triples = [("score", "score_low", "score_high")] + [(f"{m}_score", f"{m}_low", f"{m}_high") for m in METHODS]
    for score, low, high in triples:
        assert (docs[low] <= docs[score] + 1e-9).all() and (docs[score] <= docs[high] + 1e-9).all()
        assert (docs[high] - docs[low]).between(0, 2.5).all()
    methods = docs[[f"{m}_score" for m in METHODS]].mean(axis=1)
    assert np.allclose(docs["score"], methods)


def test_closeness_ptce_closer_to_ess_than_poles_de_competitivite(tables):
    poles = tables["closeness_poles"]
    by_type = poles.groupby("pole_type")["score"].mean()
    assert by_type["ptce"] > by_type["district_spl"] > by_type["pole_competitivite"]
    validation = tables["closeness_validation"].set_index("method")
    assert validation.loc["composite", "spearman_rho"] > 0.7
    assert validation.loc["composite", "n"] == 27  # the two reference poles are left out


def test_closeness_agreement_over_poles(tables):
    agreement = tables["closeness_agreement"]
    assert len(agreement) == 10  # 4 methods and the composite, two by two
    assert (agreement["n"] == 27).all()
    assert agreement["spearman_rho"].between(-1, 1).all()


def test_closeness_same_scores_alone_or_in_a_batch(tables):
    alone = closeness_model().transform(corpus_units("sentence").subset(
        np.flatnonzero(corpus_units("sentence").units["doc_id"] == "ptce_pollens")))
    batch = tables["closeness"].set_index("doc_id").loc["ptce_pollens"]
    row = alone.set_index("doc_id").loc["ptce_pollens"]
    for column in DOC_COLUMNS[3:18]:
        assert row[column] == pytest.approx(batch[column], nan_ok=True)


# --------------------------------------------------------------------------- contrast and empty scores

@pytest.fixture(scope="module")
def contrast_scores():
    units = units_of({"ess": ESS, "contrast": ESS + CONTRAST, "same": ESS + SAME_WITHOUT_CLAUSE,
                      "plain": ESS + PLAIN, "empty": "Bonjour à tous. 12, 34."})
    return closeness_model().transform(units).set_index("doc_id")


def test_closeness_contrast_description_does_not_pull_to_cluster_end(contrast_scores):
    s = contrast_scores
    for m in ("score",) + tuple(f"{m}_score" for m in METHODS):
        # the clause "contrairement aux pôles de compétitivité, qui ..." is left out entirely
        assert s.loc["contrast", m] == pytest.approx(s.loc["same", m])
    assert s.loc["contrast", "score"] > 0.5
    # the same words stated plainly do pull the document towards the cluster end
    assert s.loc["plain", "score"] < s.loc["contrast", "score"] - 0.5
    for m in METHODS:
        assert s.loc["plain", f"{m}_score"] < s.loc["contrast", f"{m}_score"]


def test_closeness_no_scorable_word_gives_empty_score_with_reason(contrast_scores):
    row = contrast_scores.loc["empty"]
    assert np.isnan(row["score"]) and np.isnan(row["score_low"])
    assert all(np.isnan(row[f"{m}_score"]) for m in METHODS)
    assert row["reason"] == ("no scorable word: lexicon: no ESS or cluster match; wordscores: no word with a word "
                             "score; topics: no word of the seeded topics; embedding: no word with a polarity")
    assert contrast_scores.loc["ess", "reason"] == ""


# --------------------------------------------------------------------------- embedding and errors

def test_closeness_word_polarity_cosines():
    vectors = {"bon": np.array([1.0, 0.0]), "mal": np.array([0.0, 1.0]), "mi": np.array([1.0, 1.0]),
               "x": np.array([2.0, 0.0])}
    polarity = word_polarity(["x", "mi", "inconnu"], ["bon"], ["mal"], vectors.get)
    assert polarity[0] == pytest.approx(1.0)
    assert polarity[1] == pytest.approx(0.0)
    assert np.isnan(polarity[2])


def test_closeness_french_vectors_give_sensible_polarities():
    lookup = load_word_vectors()
    assert lookup("solidarité").shape == (300,)
    assert lookup("mot_qui_n_existe_pas") is None
    model = closeness_model()
    polarity = dict(zip(model.vectorizer_.vocabulary_, model.polarity_))
    for ess_word in ("solidarité", "entraide", "associatif"):
        for cluster_word in ("brevet", "firme", "aéronautique"):
            assert polarity[ess_word] > 0 > polarity[cluster_word]


def test_closeness_missing_reference_document():
    with pytest.raises(ClosenessError, match=r"reference document\(s\) 'ref_x' not in the training corpus"):
        ClosenessModel(references={"ref_x": 1.0, "reference_cluster": -1.0}).fit(corpus_units("sentence"),
                                                                                 codebook=codebook())


def test_closeness_refuses_other_inputs():
    with pytest.raises(ClosenessError, match="takes TermUnits"):
        ClosenessModel().fit(pd.DataFrame(), codebook=codebook())


def test_closeness_method_agreement_on_a_small_table():
    poles = pd.DataFrame({"pole_type": ["ptce", "ptce", "cluster", "reference"],
                          "score": [0.5, 0.2, -0.3, 1.0],
                          **{f"{m}_score": [0.4, 0.3, -0.2, 1.0] for m in METHODS}})
    poles["topics_score"] = [-0.1, 0.3, 0.2, 1.0]
    table = method_agreement(poles).set_index(["method_a", "method_b"])
    assert table.loc[("lexicon", "wordscores"), "spearman_rho"] == pytest.approx(1.0)
    assert table.loc[("lexicon", "topics"), "spearman_rho"] == pytest.approx(-0.5)
    assert table.loc[("lexicon", "topics"), "n"] == 3
    validation = pole_type_agreement(poles).set_index("method")
    assert validation.loc["composite", "n"] == 3
