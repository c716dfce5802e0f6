"""The three-axis profile (issue 12 §3): territorialisation and governance from the codebook's axes.

The fiches below were written for these tests (one clear case each way, one mixed, one negated, one by
contrast, per axis); none comes from the seed articles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptce_nlp.codebook import Codebook, CodebookError
from ptce_nlp.profiles import (AXES, MIN_MATCHES, NOT_ENOUGH, PROFILE_COLUMNS, REFERENTIEL_COLUMNS, _weights,
                               axis_scores, balance, pole_profiles, referentiel_evidence, type_agreement)
from ptce_nlp.types import Document

FICHES = {
    # territorialisation
    "terr_plus": "Le pôle valorise les ressources spécifiques de la vallée et son patrimoine local. Son ancrage "
                 "territorial repose sur des emplois non délocalisables. Il soutient un développement endogène.",
    "terr_minus": "Le cluster recherche les économies d'agglomération. La concentration géographique des "
                  "entreprises procure des économies externes. La spécialisation de la région est ancienne.",
    "terr_mixed": "Le pôle profite des économies d'agglomération et de la spécialisation du bassin. Il valorise "
                  "aussi les ressources spécifiques du lieu et revendique un développement endogène.",
    "terr_negated": "Le pôle ne recherche pas les économies d'agglomération. Il ne vise jamais la concentration "
                    "géographique des entreprises. Il ne mise pas sur la spécialisation.",
    "terr_contrast": "Contrairement aux clusters, qui recherchent les économies d'agglomération et la concentration "
                     "géographique des entreprises, notre pôle valorise les ressources spécifiques, le patrimoine "
                     "local et son ancrage territorial.",
    # governance
    "gov_plus": "Le projet est né d'une démarche ascendante, portée par des initiatives citoyennes. Les décisions "
                "sont prises en assemblée générale. La gouvernance associe les parties prenantes réunies en collèges.",
    "gov_minus": "Le pôle relève d'une démarche descendante et d'une gouvernance technocratique. Une firme pivot "
                 "organise le réseau selon une logique hiérarchique.",
    "gov_mixed": "La démarche ascendante du projet associe les parties prenantes. Pourtant une firme pivot garde "
                 "le pilotage et la gouvernance reste technocratique.",
    "gov_negated": "Le réseau n'a pas de structure hiérarchique. Il ne suit pas une démarche descendante. Il ne "
                   "dépend d'aucune firme pivot.",
    "gov_contrast": "À la différence des pôles de compétitivité, qui suivent une démarche descendante et "
                    "technocratique, notre projet est né d'initiatives citoyennes et d'une démarche ascendante, "
                    "et ses décisions sont prises en assemblée générale.",
    # no evidence for any axis
    "empty": "Le pôle publie chaque année un rapport d'activité et tient un stand au salon du livre.",
    # référentiel evidence (f2, c1)
    "referentiel": "Le pôle pratique une gouvernance démocratique. Il construit un partenariat avec la "
                   "collectivité locale.",
}


@pytest.fixture(scope="module")
def coded(parse_cache_dir):
    from ptce_nlp.analysis import code_documents

    docs = [Document(k, v, "txt", metadata={"pole": k, "pole_type": "ptce"}) for k, v in FICHES.items()]
    return code_documents(docs, Codebook.shipped(), cache_dir=parse_cache_dir)


@pytest.fixture(scope="module")
def profiles(coded):
    return pole_profiles(coded.parsed, coded.coded, Codebook.shipped(), seed=0).set_index("pole")


# --------------------------------------------------------------------------- the codebook declares the axes

def test_profiles_axes_come_from_the_codebook():
    axes = Codebook.shipped().axes()
    assert set(axes) == set(AXES)
    assert axes["territorialisation"][-1] == ["territorialisation.agglomeration", "territorialisation.specialisation"]
    assert set(axes["territorialisation"][1]) == {"territorialisation.specification_ressources",
                                                  "territorialisation.ancrage_territorial",
                                                  "territorialisation.developpement_endogene"}
    assert set(axes["governance"][-1]) == {"gouvernance.descendante_technocratique",
                                           "gouvernance.hierarchique_centralisee"}
    assert set(axes["governance"][1]) == {"gouvernance.ascendante", "gouvernance.democratique_deliberative",
                                          "gouvernance.multi_parties_prenantes", "gouvernance.horizontale_reseau"}


BOOK = """\
name: essai
codes:
  - id: gouvernance
    label: Gouvernance
  - id: gouvernance.ascendante
    parent: gouvernance
    label: Ascendante
    lemmas: [démarche ascendant]
    axis: {name: governance, side: 1}
  - id: gouvernance.descendante
    parent: gouvernance
    label: Descendante
    lemmas: [démarche descendant]
    axis: {name: governance, side: -1}
"""


def test_profiles_axis_round_trips_and_does_not_change_matching():
    book = Codebook.from_yaml_text(BOOK, check_lemmas=False)
    assert book.axes() == {"governance": {-1: ["gouvernance.descendante"], 1: ["gouvernance.ascendante"]}}
    again = Codebook.from_yaml_text(book.to_yaml(), check_lemmas=False)
    assert again.axes() == book.axes()
    plain = Codebook.from_yaml_text(BOOK.replace("    axis: {name: governance, side: 1}\n", ""), check_lemmas=False)
    assert plain.to_dict() != book.to_dict() and plain.matching_dict() == book.matching_dict()


@pytest.mark.parametrize("axis, message", [
    ("{name: governance, side: 0}", "axis side 0 must be -1 or 1"),
    ("{name: governance, side: '+1'}", "axis side '+1' must be -1 or 1"),
    ("{name: governance, side: true}", "axis side True must be -1 or 1"),
    ("{name: Gouvernance Axe, side: 1}", "axis name 'Gouvernance Axe' must be an id"),
    ("{name: governance}", "axis side None must be -1 or 1"),
    ("{name: governance, side: 1, poids: 2}", "axis: unknown key poids"),
    ("governance", "axis must be a mapping"),
])
def test_profiles_bad_axis_is_named_with_its_line(axis, message):
    text = BOOK.replace("{name: governance, side: 1}", axis)
    with pytest.raises(CodebookError) as info:
        Codebook.from_yaml_text(text, check_lemmas=False)
    assert f"line 5: code 'gouvernance.ascendante': {message}" in str(info.value)


def test_profiles_axis_on_a_code_without_patterns_is_refused():
    text = BOOK.replace("    label: Gouvernance\n", "    label: Gouvernance\n    axis: {name: governance, side: 1}\n")
    with pytest.raises(CodebookError) as info:
        Codebook.from_yaml_text(text, check_lemmas=False)
    assert "code 'gouvernance': axis: only a code with patterns" in str(info.value)


# --------------------------------------------------------------------------- the fiches, per axis

@pytest.mark.parametrize("axis, prefix", [("territorialisation", "terr"), ("governance", "gov")])
def test_profiles_fiches_give_the_expected_signs(profiles, axis, prefix):
    score = profiles[f"{axis}_score"]
    assert score[f"{prefix}_plus"] == 1.0
    assert score[f"{prefix}_minus"] == -1.0
    mixed = profiles.loc[f"{prefix}_mixed"]
    assert mixed[f"{axis}_score"] == 0.0 and mixed[f"{axis}_low"] < 0 < mixed[f"{axis}_high"]
    assert (mixed[f"{axis}_n_plus"], mixed[f"{axis}_n_minus"]) == (2, 2)


@pytest.mark.parametrize("axis, prefix", [("territorialisation", "terr"), ("governance", "gov")])
def test_profiles_negated_matches_are_no_evidence(profiles, coded, axis, prefix):
    doc = coded.coded[coded.coded["doc_id"] == f"{prefix}_negated"]
    assert doc["negated"].sum() == 3  # three matches of the -1 end, all negated
    row = profiles.loc[f"{prefix}_negated"]
    assert np.isnan(row[f"{axis}_score"]) and row[f"{axis}_n"] == 0  # not -1, and not 0 either
    assert f"{axis} : {NOT_ENOUGH} (0 < {MIN_MATCHES})" in row["reason"]


@pytest.mark.parametrize("axis, prefix", [("territorialisation", "terr"), ("governance", "gov")])
def test_profiles_contrast_matches_are_no_evidence(profiles, coded, axis, prefix):
    doc = coded.coded[coded.coded["doc_id"] == f"{prefix}_contrast"]
    assert doc["contrast"].sum() >= 2  # the -1 end, described by contrast
    row = profiles.loc[f"{prefix}_contrast"]
    assert row[f"{axis}_score"] == 1.0 and row[f"{axis}_n_minus"] == 0


def test_profiles_pole_without_evidence_is_empty_with_a_reason(profiles):
    row = profiles.loc["empty"]
    for axis in AXES:
        assert np.isnan(row[f"{axis}_score"]) and np.isnan(row[f"{axis}_low"]) and np.isnan(row[f"{axis}_high"])
        assert row[f"{axis}_n"] == 0
        assert f"{axis} : pas assez d'indices" in row["reason"]
    assert np.isnan(row["ess_cluster_score"]) and "ess_cluster : proximité ESS ↔ cluster non calculée" in row["reason"]


def test_profiles_below_the_minimum_is_empty_not_zero(coded):
    book = Codebook.shipped()
    at = axis_scores(coded.parsed, coded.coded, book, "governance", min_matches=5).set_index("pole")
    assert at.loc["gov_plus", "score"] == 1.0  # five matches
    assert np.isnan(at.loc["gov_minus", "score"]) and at.loc["gov_minus", "n"] == 4
    assert at.loc["gov_minus", "reason"] == f"governance : {NOT_ENOUGH} (4 < 5)"


def test_profiles_columns_and_closeness_taken_as_it_is(coded):
    closeness = pd.DataFrame({"pole": ["gov_plus"], "pole_type": ["ptce"], "score": [0.4], "score_low": [0.1],
                              "score_high": [0.7], "reason": [""]})
    frame = pole_profiles(coded.parsed, coded.coded, Codebook.shipped(), closeness)
    assert list(frame.columns) == PROFILE_COLUMNS
    row = frame.set_index("pole").loc["gov_plus"]
    assert (row["ess_cluster_score"], row["ess_cluster_low"], row["ess_cluster_high"]) == (0.4, 0.1, 0.7)
    assert "ess_cluster" not in row["reason"]


def test_profiles_intervals_are_reproducible(coded):
    book = Codebook.shipped()
    a = axis_scores(coded.parsed, coded.coded, book, "territorialisation", seed=4)
    b = axis_scores(coded.parsed, coded.coded, book, "territorialisation", seed=4)
    pd.testing.assert_frame_equal(a, b)


def test_profiles_codebook_without_axes_gives_empty_scores_and_says_why(coded):
    book = Codebook.from_dict({"name": "x", "codes": [
        {"id": "a", "label": "A"}, {"id": "a.b", "parent": "a", "label": "B", "lemmas": ["pôle"]}]},
        check_lemmas=False)
    frame = pole_profiles(coded.parsed, coded.coded, book).set_index("pole")
    assert frame["territorialisation_score"].isna().all()
    assert "territorialisation : aucun code de la grille n'est rattaché à cet axe" in frame.loc["terr_plus", "reason"]


def test_profiles_referentiel_evidence_quotes_matches_with_offsets(coded):
    frame = referentiel_evidence(coded.parsed)
    assert list(frame.columns) == REFERENTIEL_COLUMNS
    mine = frame[frame["pole"] == "referentiel"]
    assert {"referentiel.f2", "referentiel.c1"} <= set(mine["code_id"])
    text = FICHES["referentiel"]
    for r in mine.itertuples():
        assert text[r.start_char:r.end_char] == r.text
    assert mine["label"].str.match(r"^[a-g][0-9] – ").all()


# --------------------------------------------------------------------------- bounds

_UNITS = st.integers(min_value=1, max_value=40)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_profiles_no_score_or_bound_outside_minus_one_one(data):
    n = data.draw(_UNITS)
    k = data.draw(st.integers(min_value=1, max_value=6))
    counts = np.array(data.draw(st.lists(st.lists(st.integers(0, 50), min_size=k, max_size=k), min_size=n,
                                         max_size=n)), dtype=float)
    sides = np.array(data.draw(st.lists(st.sampled_from([-1, 1]), min_size=k, max_size=k)))
    for method in ("count", "sentences", "density"):
        plus, minus = _weights(counts, sides, method)
        values = balance(plus, minus, key="p", seed=data.draw(st.integers(0, 2 ** 32 - 1)), n_boot=50,
                         min_matches=0, n_matches=float(counts.sum()))
        for v in values:
            assert np.isnan(v) or -1.0 <= v <= 1.0, (method, values)
        if counts.sum() == 0:
            assert all(np.isnan(v) for v in values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e300), min_size=1, max_size=20), st.lists(st.floats(0, 1e-300), min_size=1,
                                                                         max_size=20))
def test_profiles_bounds_hold_for_extreme_weights(plus, minus):
    n = min(len(plus), len(minus))
    values = balance(np.array(plus[:n]), np.array(minus[:n]), n_boot=30, min_matches=0)
    for v in values:
        assert np.isnan(v) or -1.0 <= v <= 1.0


def test_profiles_type_agreement_reads_the_ordinal_types():
    types = pd.Series({"a": "ptce", "b": "ptce", "c": "district_spl", "d": "pole_competitivite", "e": "reference"})
    scores = {"up": pd.Series({"a": 0.9, "b": 0.8, "c": 0.1, "d": -0.5, "e": 1.0}),
              "down": pd.Series({"a": -0.9, "b": -0.8, "c": 0.1, "d": 0.5, "e": np.nan})}
    frame = type_agreement(scores, types).set_index("name")
    assert frame.loc["up", "spearman_rho"] > 0.9 and frame.loc["up", "n"] == 4  # the reference text left out
    assert frame.loc["down", "spearman_rho"] < -0.9
