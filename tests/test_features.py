"""Features from lemmas: units, terms, multiword codebook terms, contrast flags, vocabulary limits."""

from __future__ import annotations

import pytest
from sklearn.exceptions import NotFittedError

from ptce_nlp.features import (FeatureError, LemmaVectorizer, extract_units, french_stop_words, pattern_feature,
                               seed_terms)

from .scaling_data import codebook, code_texts, corpus_units, units_of

TEXT = ("Le chantier d'insertion emploie des salariés. Les coopératives mutualisent leurs moyens.\n\n"
        "Contrairement aux pôles de compétitivité, qui visent la compétitivité internationale, "
        "le pôle défend l'utilité sociale.")


@pytest.fixture(scope="module")
def sentences():
    return units_of({"a": TEXT}, "sentence")


def test_features_sentence_terms_are_content_lemmas(sentences):
    # "chantier d'insertion" is a codebook pattern: one feature (see the multiword test below)
    assert sentences.term_lists[0] == ["chantier de insertion", "employer", "salarié"]
    assert sentences.term_lists[1] == ["coopérative", "mutualiser", "moyen"]


def test_features_multiword_codebook_term_is_one_feature(sentences):
    # "utilité sociale" matches the codebook pattern "utilité social": one feature, not two words
    assert sentences.term_lists[2][-1] == "utilité social"
    assert "utilité" not in sentences.term_lists[2] and "social" not in sentences.term_lists[2]


def test_features_contrast_clause_flags_its_terms(sentences):
    assert sentences.contrast_lists[2] == [True, True, True, True, True, False, False, False]
    assert sentences.terms(drop_contrast=True)[2] == ["pôle", "défendre", "utilité social"]


def test_features_units_offsets_and_lexicon_counts(sentences):
    units = sentences.units
    assert units[["unit_id", "start_char", "end_char"]].values.tolist() == [
        ["p0001.s001", 0, 45], ["p0001.s002", 46, 88], ["p0002.s001", 90, 209]]
    for row in units.itertuples():
        assert TEXT[row.start_char:row.end_char] == row.text
    # the contrast match "compétitivité" is not counted for the cluster category
    assert units["n_valeurs_ess"].tolist() == [1, 2, 1]  # "coopératives" and "mutualisent"
    assert units["n_discours_cluster"].tolist() == [0, 0, 0]


@pytest.mark.parametrize("unit, n_units", [("sentence", 3), ("paragraph", 2), ("document", 1)])
def test_features_unit_kinds(unit, n_units):
    units = units_of({"a": TEXT}, unit)
    assert len(units) == n_units
    assert sum(len(t) for t in units.term_lists) == 14
    assert units.units["n_tokens"].sum() == 28


def test_features_unknown_unit_is_refused():
    _, result = code_texts({"a": TEXT})
    with pytest.raises(FeatureError, match=r"^unknown unit 'page'; use one of sentence, paragraph, document$"):
        extract_units(result.parsed, result.coded, codebook(), unit="page")


def test_features_stop_words_and_pos_filter():
    stops = french_stop_words()
    assert {"le", "de", "être", "avoir", "fiche"} <= stops
    units = units_of({"a": TEXT}, "document")
    assert not set(units.term_lists[0]) & stops


def test_features_custom_pos_keeps_only_nouns():
    _, result = code_texts({"a": TEXT})
    units = extract_units(result.parsed, result.coded, codebook(), unit="sentence", pos=("NOUN",), multiword=False)
    assert units.term_lists[0] == ["chantier", "insertion", "salarié"]
    assert "utilité" in units.term_lists[2] and "social" not in units.term_lists[2]


def test_features_vectorizer_min_df_max_df():
    terms = [["a", "b", "c"], ["a", "b"], ["a", "d"], ["a", "b", "e"]]
    vec = LemmaVectorizer(min_df=2, max_df=0.8).fit(terms)
    assert vec.vocabulary_ == ["b"]  # a is in 4/4 units (> 0.8), c, d, e in one
    vec = LemmaVectorizer(min_df=1, max_df=1.0).fit(terms)
    assert vec.vocabulary_ == ["a", "b", "c", "d", "e"]
    assert vec.transform([["b", "b", "z"]]).toarray().tolist() == [[0, 2, 0, 0, 0]]
    assert vec.document_frequency_.tolist() == [4, 3, 1, 1, 1]


def test_features_vectorizer_errors():
    with pytest.raises(FeatureError, match="no term is left after min_df=5 and max_df=0.5 over 2 unit"):
        LemmaVectorizer(min_df=5).fit([["a"], ["b"]])
    with pytest.raises(NotFittedError):
        LemmaVectorizer().transform([["a"]])


def test_features_seed_terms_of_a_category():
    seeds = seed_terms(codebook(), "valeurs_ess")
    assert "mutualisation" in seeds and "utilité social" in seeds
    assert not any("*" in s for s in seeds)
    assert pattern_feature(("chantier", "de", "insertion")) == "chantier de insertion"
    with pytest.raises(FeatureError, match="unknown code 'nope'"):
        seed_terms(codebook(), "nope")


def test_features_corpus_units_cover_every_document():
    units = corpus_units("paragraph")
    assert units.units["doc_id"].nunique() == 33
    assert len(units) == len(units.term_lists) == len(units.contrast_lists)
