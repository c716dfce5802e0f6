"""Closeness, issue 12: explanations, choice intervals, bounds, left-out passages, code weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptce_nlp.closeness import (CHOICE_COLUMNS, METHODS, SCORE_COLUMNS, closeness_tables, code_weights,
                                term_concordance)
from ptce_nlp.features import TermUnits

from .scaling_data import closeness_model, coded_corpus, corpus_units, units_of

HEAD = ("Le cluster Optique Grand Est réunit des industriels de la photonique, des associations et des laboratoires "
        "du territoire. Les membres partagent des locaux et visent l'innovation technologique. ")
NEGATED = "Nous ne sommes pas une structure de l'ESS ni une coopérative d'insertion solidaire."
AFFIRMED = "Nous sommes une structure de l'ESS et une coopérative d'insertion solidaire."
REPORTED = "Selon Porter, les clusters visent la compétitivité internationale et l'innovation technologique."
ESS = ("Le pôle réunit des associations et des coopératives du territoire. Les structures mutualisent leurs "
       "moyens et développent l'insertion par l'activité économique.")


@pytest.fixture(scope="module")
def corpus_tables():
    return closeness_tables(closeness_model(), corpus_units("sentence"))


# --------------------------------------------------------------------------- 4. left-out passages

@pytest.fixture(scope="module")
def negation_scores():
    units = units_of({"negated": HEAD + NEGATED, "without": HEAD.strip(), "affirmed": HEAD + AFFIRMED,
                      "ess": ESS, "reported": ESS + " " + REPORTED})
    return closeness_model().transform(units).set_index("doc_id")


def test_negated_ess_passage_is_read_by_no_method(negation_scores):
    """« nous ne sommes pas une structure de l'ESS ... » no longer reads ESS on any method: the negated clause
    is left out of the words of Wordscores, topics and embedding as its matches are out of the lexicon."""
    s = negation_scores
    for column in ("score",) + tuple(f"{m}_score" for m in METHODS):
        assert s.loc["negated", column] == pytest.approx(s.loc["without", column], nan_ok=True), column
    assert s.loc["negated", "score"] < -0.25
    assert not s.loc[["negated", "without", "affirmed"], "beyond_reference"].any()  # not a tie at a bound
    # the same words affirmed do pull towards the ESS end, on every method
    for m in METHODS:
        assert s.loc["affirmed", f"{m}_score"] > s.loc["negated", f"{m}_score"] + 0.05, m


def test_reported_sentence_is_read_by_no_method(negation_scores):
    s = negation_scores
    for column in ("score",) + tuple(f"{m}_score" for m in METHODS):
        assert s.loc["reported", column] == pytest.approx(s.loc["ess", column]), column


def test_units_flag_negated_and_reported_terms():
    units = units_of({"a": HEAD + NEGATED, "b": REPORTED})
    terms = dict(zip(units.units["text"], zip(units.term_lists, units.excluded_lists)))
    negated_terms = dict(zip(*terms[NEGATED]))
    assert negated_terms["structure"] and negated_terms["coopérative"]
    assert not any(terms[HEAD.split(". ")[0] + "."][1])
    assert all(terms[REPORTED][1]) and terms[REPORTED][0]
    # the contrast flags alone are as before: these are not contrast clauses
    assert not any(f for flags in units.contrast_lists for f in flags)


# --------------------------------------------------------------------------- 3. bounds

def test_text_beyond_a_reference_is_put_at_the_bound_and_flagged(corpus_tables):
    model = closeness_model()
    scores = model.wordscores_.word_scores_
    vocab = model.vectorizer_.vocabulary_
    extreme = vocab[int(np.nanargmax(scores))]  # a word found in the ESS reference only: S_w = +1
    units = _units({"extreme": [[extreme]] * 3})
    table = model.transform(units).set_index("doc_id")
    raw_mv = model.wordscores_.rescale_mv(1.0)
    assert raw_mv > 1.0  # Martin-Vanberg puts that text beyond the ESS reference ...
    assert table.loc["extreme", "wordscores_score"] == 1.0  # ... it is put at the bound
    assert bool(table.loc["extreme", "beyond_reference"]) is True
    assert table.loc["extreme", "wordscores_high"] <= 1.0 and table.loc["extreme", "score_high"] <= 1.0
    poles = corpus_tables["closeness_poles"].set_index("pole")
    assert not poles.loc[["POLLENS", "Minalogic", "Référence ESS"], "beyond_reference"].any()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 3)), min_size=1, max_size=12),
                min_size=1, max_size=6),
       st.lists(st.integers(0, 10**6), max_size=8))
def test_every_score_and_bound_lies_in_the_interval(sentences, code_picks):
    """Random texts (any words of the vocabulary, the most extreme ones included, any codes): no score, interval
    bound or choice bound leaves [-1, 1]."""
    model = closeness_model()
    vocab = model.vectorizer_.vocabulary_
    order = np.argsort(np.nan_to_num(model.wordscores_.word_scores_))
    picks = [vocab[i] for i in order[:20]] + [vocab[i] for i in order[-20:]]  # the most extreme words first
    term_lists = [[(picks if k < 2 else vocab)[i % len(picks if k < 2 else vocab)] for i, k in sentence]
                  for sentence in sentences]
    codes = [model.lexicon_codes_[i % len(model.lexicon_codes_)] for i in code_picks]
    code_lists = [codes if j == 0 else [] for j in range(len(term_lists))]
    units = _units({"random": term_lists}, code_lists=code_lists)
    for table in (model.transform(units), model.score_poles(units)):
        values = table[SCORE_COLUMNS + CHOICE_COLUMNS].to_numpy(np.float64)
        values = values[~np.isnan(values)]
        assert ((values >= -1.0) & (values <= 1.0)).all()


# --------------------------------------------------------------------------- 2. choice intervals

def test_choice_interval_varies_references_seeds_and_codes_not_only_sentences():
    """One sentence: the sentence bootstrap has nothing to vary (a zero-width interval), the choice interval
    still moves with the left-out reference block, seed word and code."""
    model = closeness_model()
    assert len(model.choice_mv_) == 10  # 5 blocks of each of the two reference texts
    assert len(model.choice_polarity_) == len(model.choice_seeds_) > 100  # one per seed word with a vector
    units = units_of({"one": "Les coopératives d'insertion mutualisent leurs moyens pour la compétitivité "
                             "internationale des entreprises."})
    row = model.transform(units).iloc[0]
    for m in ("lexicon", "wordscores", "embedding"):
        assert row[f"{m}_low"] == pytest.approx(row[f"{m}_high"])
        assert row[f"{m}_choice_low"] < row[f"{m}_choice_high"], m
    assert row["choice_low"] < row["score"] < row["choice_high"]


def test_choice_columns_on_the_corpus(corpus_tables):
    poles = corpus_tables["closeness_poles"]
    for prefix in [""] + [f"{m}_" for m in METHODS]:
        low, high = poles[f"{prefix}choice_low"], poles[f"{prefix}choice_high"]
        assert (low <= high + 1e-12).all()
    # the choice interval holds the sentence-bootstrap interval's variation and the choices': not narrower
    # on the whole
    width = (poles["choice_high"] - poles["choice_low"]).mean()
    assert width >= (poles["score_high"] - poles["score_low"]).mean() * 0.95


# --------------------------------------------------------------------------- 1. explanations

def test_explanations_sum_to_the_method_scores(corpus_tables):
    model = closeness_model()
    units = corpus_units("sentence")
    explain = model.explain(units, top=10**6)
    docs = corpus_tables["closeness"].set_index("doc_id")
    poles = corpus_tables["closeness_poles"].set_index("pole")
    for doc_id in ("ptce_pollens", "pdc_minalogic", "spl_textile_roannais"):
        rows = explain[explain["doc_id"] == doc_id]
        for m in METHODS:
            assert rows[rows["method"] == m]["contribution"].sum() == pytest.approx(docs.loc[doc_id, f"{m}_score"])
        assert set(rows["direction"]) == {"ess", "cluster"}
        assert ((rows["direction"] == "ess") == (rows["contribution"] > 0)).all() or (
            rows["method"] == "lexicon").any()
    pole_rows = explain[(explain["doc_id"] == "") & (explain["pole"] == "Minalogic")]
    assert pole_rows[pole_rows["method"] == "wordscores"]["contribution"].sum() == pytest.approx(
        poles.loc["Minalogic", "wordscores_score"])
    words = pole_rows[(pole_rows["method"] == "wordscores") & (pole_rows["direction"] == "cluster")]
    assert words["n"].min() >= 1 and words["contribution"].max() < 0


def test_explain_table_is_limited_to_the_top_terms(corpus_tables):
    explain = corpus_tables["closeness_explain"]
    assert list(explain.columns) == ["pole", "doc_id", "method", "term", "direction", "contribution", "n"]
    sizes = explain.groupby(["pole", "doc_id", "method", "direction"]).size()
    assert sizes.max() == 25
    assert set(explain["method"]) == set(METHODS)


@pytest.fixture(scope="module")
def text_of() -> dict[str, str]:
    """The original text of each bundled document."""
    documents, _ = coded_corpus()
    return {d.doc_id: d.text for d in documents}


def test_pulling_sentences_hold_their_offsets(corpus_tables, text_of):
    sentences = corpus_tables["closeness_sentences"]
    assert len(sentences)
    for r in sentences.itertuples():
        assert text_of[r.doc_id][r.start_char:r.end_char] == r.text
        assert (r.contribution > 0) == (r.direction == "ess")
    per_pole = sentences.groupby(["pole", "direction"]).size()
    assert per_pole.max() == 3
    # the sentences of a pole sum, with the others, to its composite score
    model = closeness_model()
    units = corpus_units("sentence")
    contribution = model.unit_contributions(units)
    poles = corpus_tables["closeness_poles"].set_index("pole")
    rows = np.flatnonzero(units.units["pole"] == "Axelera")
    assert contribution[rows].sum() == pytest.approx(poles.loc["Axelera", "score"])


def test_concordance_lines_hold_their_offsets(corpus_tables, text_of):
    kwic = corpus_tables["closeness_kwic"]
    assert len(kwic)
    for r in kwic.itertuples():
        assert text_of[r.doc_id][r.start_char:r.end_char] == r.keyword
    explain = corpus_tables["closeness_explain"]
    top = explain[(explain["pole"] == "Minalogic") & (explain["doc_id"] == "") & (explain["method"] == "wordscores")]
    strongest = top.loc[top["contribution"].abs().idxmax(), "term"]
    assert (kwic[(kwic["pole"] == "Minalogic")]["term"] == strongest).sum() >= 1
    assert kwic.groupby(["pole", "term"]).size().max() <= 5
    # an empty explanation gives an empty table with the columns
    empty = term_concordance(corpus_units("sentence"), explain.iloc[0:0])
    assert list(empty.columns) == list(kwic.columns) and not len(empty)


# --------------------------------------------------------------------------- 5. code weights

def test_code_weights_favour_codes_that_separate_the_references():
    counts = np.array([[10, 10, 20, 0, 1, 0], [10, 10, 0, 20, 0, 5]], dtype=float)  # ESS ref, cluster ref
    tokens = np.array([1000.0, 1000.0])
    signs = np.array([1, -1, 1, -1, 1, 1], dtype=float)
    w = code_weights(counts, tokens, np.array([1.0, -1.0]), signs)
    assert w[0] == 0 and w[1] == 0  # as frequent at both ends: counts for nothing
    assert w[2] > 0.95 and w[3] > 0.95  # only at its own end
    assert 0 < w[4] < w[2]  # one match: shrunk by the prior
    assert w[5] == 0  # more frequent at the other end


def test_code_weights_are_stored_in_the_model_and_shown(corpus_tables):
    model = closeness_model()
    table = corpus_tables["closeness_code_weights"].set_index("code_id")
    assert list(table.index) == model.lexicon_codes_
    assert table["weight"].between(0, 1).all()
    absent = (table["n_ess_references"] == 0) & (table["n_cluster_references"] == 0)
    assert (table.loc[absent, "weight"] < 0.05).all()  # in neither reference: next to nothing
    one_end = table[(table["n_ess_references"] >= 5) & (table["n_cluster_references"] == 0)
                    & (table["category"] == "valeurs_ess")]
    assert len(one_end) and (one_end["weight"] > 0.5).all()  # found at its own end only
    assert table.loc["valeurs_ess.organisations_ess", "weight"] > 0.9
    assert table.loc["valeurs_ess.cooperation", "n_cluster_references"] >= 1
    assert table.loc["valeurs_ess.cooperation", "weight"] < table.loc["valeurs_ess.organisations_ess", "weight"]


# --------------------------------------------------------------------------- helpers

def _units(groups: dict[str, list[list[str]]], *, code_lists=None) -> TermUnits:
    """TermUnits built from term lists (no parse): one document per key, one unit per list."""
    rows, terms = [], []
    for doc_id, lists in groups.items():
        for i, t in enumerate(lists):
            rows.append((doc_id, "", "", f"s{i}", 0, 1, "x", len(t)))
            terms.append(list(t))
    frame = pd.DataFrame(rows, columns=["doc_id", "pole", "pole_type", "unit_id", "start_char", "end_char", "text",
                                        "n_tokens"])
    flags = [[False] * len(t) for t in terms]
    return TermUnits(frame, "sentence", terms, flags, [list(f) for f in flags], [[(0, 1)] * len(t) for t in terms],
                     code_lists if code_lists is not None else [[] for _ in terms])


# --------------------------------------------------------------------------- the report

def test_report_explains_each_pole(corpus_tables):
    import re

    from ptce_nlp.codebook import Codebook
    from ptce_nlp.report import render_report

    documents, _ = coded_corpus()
    page = render_report(dict(corpus_tables), codebook=Codebook.shipped(), documents=documents)
    blocks = re.findall(r'<details class="explain-pole"><summary><b>(.*?)</b></summary>(.*?)</details>', page, re.S)
    assert len(blocks) == len(corpus_tables["closeness_poles"])
    block = dict(blocks)["Minalogic"]
    terms = re.findall(r'<table class="explain-terms">(.*?)</table>', block, re.S)
    assert [t.count("<tr>") - 1 for t in terms] == [10, 10]  # ten words each way
    links = re.findall(r'<a href="#(ckw-[0-9]+-[0-9]+)">', block)
    assert len(links) == 20
    for anchor in links:  # each word links to its concordance lines
        assert re.search(rf'<div id="{anchor}"><b>[^<]+</b><table class="kwic wide"><tr>', block)
    assert block.count("<li>« ") == 6  # three sentences each way, quoted with document and offsets
    assert re.search(r"pdc_minalogic, caractères [0-9\u202f ]+–[0-9\u202f ]+", block)
    assert 'id="code-weights"' in page and "Poids des codes" in page
    assert 'id="closeness-uncertainty"' in page and "Intervalle (choix)" in page
