"""The report's three-axis profile: the plane (inline SVG and matplotlib figure) and the référentiel evidence."""

from __future__ import annotations

import lxml.etree
import lxml.html
import numpy as np
import pandas as pd
import pytest

from ptce_nlp.codebook import Codebook
from ptce_nlp.profiles import PROFILE_COLUMNS, referentiel_evidence
from ptce_nlp.report import render_report, write_figures

from .report_fixtures import XSS, coded_sample, full_tables


def _profiles() -> pd.DataFrame:
    rows = [("Re-Sources", "ptce", 0.6, 0.5, 0.2, 0.9, 0.7, 0.3, 1.0, ""),
            ("Lyonbiopole", "pole_competitivite", -0.7, -0.2, -0.6, 0.3, -0.5, -1.0, 0.0, ""),
            ("SPL du décolletage de la vallée de l'Arve", "district_spl", -0.4, -0.2, -1.0, 1.0, np.nan, np.nan,
             np.nan, "governance : pas assez d'indices (1 < 3)"),
            (XSS, "ptce", np.nan, 1.0, 1.0, 1.0, -0.2, -0.5, 0.1, "ess_cluster : proximité ESS ↔ cluster non calculée")]
    frame = pd.DataFrame(rows, columns=["pole", "pole_type", "ess_cluster_score", "territorialisation_score",
                                        "territorialisation_low", "territorialisation_high", "governance_score",
                                        "governance_low", "governance_high", "reason"])
    for column in PROFILE_COLUMNS:
        if column not in frame.columns:
            frame[column] = 4 if column.endswith(("_n", "n_docs", "n_sentences", "_plus", "_minus")) else np.nan
    return frame[PROFILE_COLUMNS]


@pytest.fixture(scope="module")
def tables():
    documents, _, _, coding = coded_sample()
    tables = dict(full_tables())
    tables["pole_profiles"] = _profiles()
    tables["pole_referentiel"] = referentiel_evidence(coding.parsed)
    return tables


@pytest.fixture(scope="module")
def tree(tables):
    documents = coded_sample()[0]
    return lxml.html.fromstring(render_report(tables, codebook=Codebook.shipped(), documents=documents))


def test_report_profiles_plane_places_the_poles_with_both_axes(tree):
    svg = tree.get_element_by_id("profiles-chart")
    points = {p.get("data-pole"): p for p in svg.find_class("profile-point")}
    assert set(points) == {"Re-Sources", "Lyonbiopole", XSS}  # the SPL has no governance score
    tip = points["Re-Sources"].find("title").text
    assert "territorialisation 0,50 [0,20 ; 0,90]" in tip and "gouvernance 0,70 [0,30 ; 1,00]" in tip
    assert "ESS ↔ cluster 0,60" in tip
    assert "ESS ↔ cluster —" in points[XSS].find("title").text
    missing = tree.get_element_by_id("profiles-missing").text_content()
    assert "SPL du décolletage de la vallée de l'Arve" in missing


def test_report_profiles_table_says_why_a_score_is_empty(tree):
    table = tree.get_element_by_id("profiles-table")
    text = table.text_content()
    assert "governance : pas assez d'indices (1 < 3)" in text
    assert "<script>" in text and not tree.xpath("//section[@id='profils']//script")  # the pole name escaped


def test_report_profiles_referentiel_evidence_is_quoted_with_offsets(tree, tables):
    evidence = tables["pole_referentiel"]
    assert not evidence.empty
    texts = {d.doc_id: d.text for d in coded_sample()[0]}
    for r in evidence.itertuples():
        assert texts[r.doc_id][r.start_char:r.end_char] == r.text
    blocks = tree.find_class("referentiel")
    assert {b.get("data-pole") for b in blocks} == set(evidence["pole"])
    first = evidence.iloc[0]
    block = next(b for b in blocks if b.get("data-pole") == first["pole"])
    cites = [c.text_content() for c in block.iter("cite")]
    assert f"{first['doc_id']}, caractères {first['start_char']}–{first['end_char']}" in cites
    link = block.find(".//cite/a")
    assert link is not None and link.get("href").startswith("#doc-")
    without = tree.get_element_by_id("referentiel-none").text_content()  # the synthetic poles have no evidence
    assert "Lyonbiopole" in without and "Re-Sources" not in without


def test_report_profiles_absent_when_no_pole_can_be_placed(tables):
    flat = dict(tables)
    flat["pole_profiles"] = _profiles().assign(governance_score=np.nan)
    tree = lxml.html.fromstring(render_report(flat, codebook=Codebook.shipped()))
    section = tree.get_element_by_id("profils")
    assert "Aucun pôle n'a assez d'indices sur les deux axes" in section.text_content()
    assert not section.xpath(".//svg")


def test_report_profiles_figure_written_and_reproducible(tables, tmp_path):
    only = {"pole_profiles": tables["pole_profiles"]}
    written = write_figures(only, tmp_path / "a", codebook=Codebook.shipped())
    assert sorted(p.name for p in written) == ["pole_profiles.png", "pole_profiles.svg"]
    svg = (tmp_path / "a" / "pole_profiles.svg").read_bytes()
    root = lxml.etree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Re-Sources" in svg.decode("utf-8") and "Territorialisation" in svg.decode("utf-8")
    write_figures(only, tmp_path / "b", codebook=Codebook.shipped())
    assert (tmp_path / "b" / "pole_profiles.svg").read_bytes() == svg
    none = {"pole_profiles": tables["pole_profiles"].assign(governance_score=np.nan)}
    assert write_figures(none, tmp_path / "c", codebook=Codebook.shipped()) == []
