"""IRaMuTeQ corpus: star lines, variable modalities, cleaned text, one file."""

from __future__ import annotations

import re

from click.testing import CliRunner

from ptce_nlp.cli import main
from ptce_nlp.export import iramuteq_token, write_iramuteq
from ptce_nlp.export.iramuteq import clean_for_iramuteq, iramuteq_corpus
from ptce_nlp.types import Document

from .export_helpers import CORPUS, coded_corpus

STAR_LINE = re.compile(r"^\*\*\*\* (\*[a-z]+_[a-z0-9_]+)( \*[a-z]+_[a-z0-9_]+)*$")


def test_iramuteq_tokens_are_ascii_letters_digits_underscores():
    assert iramuteq_token("Provence-Alpes-Côte d'Azur") == "provence_alpes_cote_d_azur"
    assert iramuteq_token("Pôle Sud / Archer") == "pole_sud_archer"
    assert iramuteq_token("Cœur  d'Économie") == "coeur_d_economie"
    assert iramuteq_token("pole_competitivite") == "pole_competitivite"
    assert iramuteq_token("") == iramuteq_token(None) == iramuteq_token("—") == "nr"
    assert iramuteq_token(2015) == "2015"


def test_iramuteq_text_cleaning():
    text = "Titre *important*\r\n**** faux début\r\n-*theme\u00a0et _rire_\x0cpage 2\n\n\n\nfin  "
    assert clean_for_iramuteq(text) == "Titre important\nfaux début\n-theme et rire\npage 2\n\nfin"


def test_iramuteq_corpus_star_lines_and_one_text_per_document(tmp_path):
    docs = [Document("ptce_a", "Texte *un*.", "txt", metadata={"pole": "Domb'Innov", "pole_type": "ptce",
                                                                 "region": "Auvergne-Rhône-Alpes", "year": "2014",
                                                                 "genre": "fiche"}),
            Document("b", "Deux\r\n\r\nlignes", "txt")]
    assert iramuteq_corpus(docs) == (
        "**** *doc_ptce_a *pole_domb_innov *type_ptce *region_auvergne_rhone_alpes *annee_2014 *genre_fiche\n"
        "Texte un.\n\n"
        "**** *doc_b *pole_nr *type_nr *region_nr *annee_nr *genre_nr\n"
        "Deux\n\nlignes\n")
    path = write_iramuteq(docs, tmp_path / "corpus.txt")
    assert path.read_bytes() == iramuteq_corpus(docs).encode("utf-8")


def test_iramuteq_export_of_the_bundled_corpus(tmp_path):
    documents, _, _ = coded_corpus()
    result = CliRunner().invoke(main, ["export", str(CORPUS), "--format", "iramuteq", "--out",
                                       str(tmp_path / "iramuteq.txt"), "-q"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "iramuteq.txt").read_text("utf-8")
    lines = text.split("\n")
    stars = [line for line in lines if line.startswith("****")]
    assert len(stars) == len(documents) == 33
    assert all(STAR_LINE.match(line) for line in stars), [s for s in stars if not STAR_LINE.match(s)]
    assert "**** *doc_ptce_re_sources *pole_re_sources *type_ptce *region_provence_alpes_cote_d_azur " \
           "*annee_2016 *genre_fiche" in stars
    body = [line for line in lines if not line.startswith("****")]
    assert not any("*" in line or "_" in line for line in body)
    assert "\r" not in text and "\x0c" not in text and "\u00a0" not in text
