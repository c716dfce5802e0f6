"""The learned sentence coder: features, calibrated estimator, saving as JSON/NPZ, learning from labels and
QDA projects, active-learning suggestions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from ptce_nlp.analysis import code_documents
from ptce_nlp.classify import (CoderModelError, HybridCoder, LearnError, coded_sentences, load_coder, save_coder,
                               sentence_columns, sentence_table, suggest)
from ptce_nlp.codebook import Codebook
from ptce_nlp.evaluation import CATEGORIES
from ptce_nlp.learn import MIN_POSITIVES, TrainingSet, fit_coder, read_labels, training_set_from_labels
from ptce_nlp.types import Document

CATS = list(CATEGORIES)


@pytest.fixture(scope="module")
def fitted(labelled):
    data, _ = labelled
    train = data[data["split"] == "train"].reset_index(drop=True)
    return HybridCoder().fit(train, train[CATS].to_numpy(), groups=train["group"]), train


def test_sentence_table_offsets_and_features(labelled):
    data, result = labelled
    texts = {p.document.doc_id: p.document.text for p in result.parsed}
    for row in data.sample(200, random_state=0).itertuples():
        assert texts[row.doc_id][row.start_char:row.end_char] == row.text
    assert data["lemmas"].str.len().gt(0).mean() > 0.95
    coded = data[data["lex_valeurs_ess"] == 1]
    assert coded["codes"].str.contains("k:valeurs_ess").all()
    assert np.abs(data.filter(like="vec_").to_numpy()).sum(axis=1).min() > 0   # every sentence has a vector


def test_hybrid_coder_is_a_real_estimator(fitted):
    coder, train = fitted
    params = coder.get_params()
    assert params["class_weight"] == "balanced" and clone(coder).get_params() == params
    proba = coder.predict_proba(train)
    assert proba.shape == (len(train), 4) and ((proba >= 0) & (proba <= 1)).all()
    assert set(np.unique(coder.predict(train))) <= {0, 1}
    assert ((coder.thresholds_ >= 0.2) & (coder.thresholds_ <= 0.8)).all()


def test_probabilities_are_scikit_learns_calibrated_ones(fitted, labelled):
    """The stored arrays, applied with numpy, give what scikit-learn's own vectorizers and
    CalibratedClassifierCV(ensemble=False) predict, to 1e-9, for every category."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    coder, train = fitted
    data, _ = labelled
    F = coder.vectorizer_.sklearn_transform(train)
    every = coder.vectorizer_.sklearn_transform(data)
    assert abs(coder.vectorizer_.transform(data) - every).max() < 1e-12      # numpy features == scikit-learn's
    proba = coder.predict_proba(data)
    for j, c in enumerate(CATS):
        y = train[c].to_numpy()
        folds = coder._folds(len(y), y, train["group"].to_numpy())
        reference = CalibratedClassifierCV(LogisticRegression(C=coder.C, class_weight="balanced", max_iter=2000),
                                           method="sigmoid", cv=folds, ensemble=False).fit(F, y)
        assert np.abs(reference.predict_proba(every)[:, 1] - proba[:, j]).max() < 1e-9, c


def test_coding_with_a_saved_coder_imports_no_scikit_learn(tmp_path):
    """The prediction path (load a model folder, code sentences) needs numpy, not scikit-learn."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from ptce_nlp.analysis import code_documents\n"
        "from ptce_nlp.classify import hybrid_sentences, load_coder\n"
        "from ptce_nlp.codebook import Codebook\n"
        "from ptce_nlp.pipeline import CODER_MODEL\n"
        "from ptce_nlp.types import Document\n"
        "text = 'Le pôle mutualise ses moyens sur le territoire. Les membres décident ensemble.'\n"
        "docs = [Document('d', text, 't')]\n"
        "r = code_documents(docs, Codebook.shipped(), use_cache=False)\n"
        "out = hybrid_sentences(r.parsed, r.coded, load_coder(CODER_MODEL))\n"
        "assert len(out) == 2, out\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn')[:3])\n")
    env = {**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_vector_rows_are_spacys_and_their_key_file_is_rebuilt_when_damaged(tmp_path, monkeypatch):
    from spacy.strings import StringStore
    from spacy.vectors import Vectors

    from ptce_nlp import classify
    from ptce_nlp.lexicon import _model_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    reference = Vectors(strings=StringStore()).from_disk(_model_dir() / "vocab")
    rng = np.random.default_rng(0)
    known = np.asarray(list(reference.key2row), dtype=np.uint64)[rng.integers(0, len(reference.key2row), 2000)]
    keys = np.concatenate([known, np.asarray([0, 1, 2**64 - 1], dtype=np.uint64)])
    table = classify._VectorTable()
    assert np.array_equal(table.find(keys), reference.find(keys=keys))
    rows = table.find(known)
    assert np.array_equal(np.asarray(table.data[rows]), reference.data[rows])
    (cached,) = (tmp_path / "ptce_nlp" / "lexicon").glob("vector-keys-*.npz")
    cached.write_bytes(cached.read_bytes()[:1000])                                  # damaged: rebuilt
    assert np.array_equal(classify._VectorTable().find(keys), reference.find(keys=keys))
    assert cached.stat().st_size > 1000


def test_sentence_shape_words():
    from ptce_nlp.classify import sentence_shape

    assert sentence_shape("1.2 La politique des pôles de compétitivité") == "len1 nopunct numbered"
    assert sentence_shape("Le pôle réunit des structures de l'ESS du territoire.") == "len1"
    assert sentence_shape("Pourquoi un pôle ? Selon Dupont (2005), oui.").split() == ["len1", "question",
                                                                                      "citation"]
    assert "upper" in sentence_shape("STRUCTURE PIVOT : GROUPE ARCHER").split()


def test_hybrid_is_calibrated_and_reads_the_lexicon(fitted, labelled):
    data, _ = labelled
    coder, train = fitted
    test = data[data["split"] == "test"]
    proba = coder.predict_proba(test)
    y = test[CATS].to_numpy()
    # calibration: mean predicted probability close to the observed rate, per category
    assert np.abs(proba.mean(axis=0) - y.mean(axis=0)).max() < 0.12
    # a lexicon match is evidence: sentences with a match of a category are more often predicted positive
    for j, c in enumerate(CATS):
        lex = test[f"lex_{c}"].to_numpy() == 1
        assert proba[lex, j].mean() > proba[~lex, j].mean() + 0.2


def test_coded_sentences_columns_and_sources(fitted, labelled):
    coder, _ = fitted
    data, _ = labelled
    out = coded_sentences(data, coder)
    assert list(out.columns) == sentence_columns()
    for c in CATS:
        src = out[f"{c}_source"]
        assert set(src) <= {"none", "lexicon", "learned", "both"}
        assert ((src.isin(["learned", "both"])) == (out[c] == 1)).all()
        assert ((src.isin(["lexicon", "both"])) == (data[f"lex_{c}"] == 1)).all()
    lexicon_only = coded_sentences(data, None)
    assert (lexicon_only["valeurs_ess"] == data["lex_valeurs_ess"]).all() and lexicon_only["valeurs_ess_prob"].isna().all()


def test_save_and_load_give_the_same_coder(fitted, tmp_path):
    coder, train = fitted
    folder = save_coder(tmp_path / "m", coder, codebook_name="ptce", training={"sentences": len(train)})
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "model_card.json", "vocabulary.json"]
    loaded = load_coder(folder)
    assert np.array_equal(loaded.predict_proba(train), coder.predict_proba(train))
    assert np.array_equal(loaded.thresholds_, coder.thresholds_)
    card = json.loads((folder / "model_card.json").read_text("utf-8"))
    assert card["training"] == {"sentences": len(train)} and card["categories"] == CATS


def test_load_refuses_damaged_or_foreign_folders(fitted, tmp_path):
    coder, _ = fitted
    folder = save_coder(tmp_path / "m", coder)
    with pytest.raises(CoderModelError, match="not a learned-coder folder"):
        load_coder(tmp_path)
    data = bytearray((folder / "arrays.npz").read_bytes())
    data[-40] ^= 0xFF
    (folder / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(CoderModelError, match="altered"):
        load_coder(folder)
    folder = save_coder(tmp_path / "n", coder)
    card = json.loads((folder / "model_card.json").read_text("utf-8"))
    card["ptce_nlp_version"] = "0.0.1"
    (folder / "model_card.json").write_text(json.dumps(card), "utf-8")
    with pytest.raises(CoderModelError, match=r"saved by ptce_nlp 0\.0\.1.*this is ptce_nlp"):
        load_coder(folder)
    card["ptce_nlp_version"], card["format_version"] = __import__("ptce_nlp").__version__, 1
    (folder / "model_card.json").write_text(json.dumps(card), "utf-8")
    with pytest.raises(CoderModelError, match=r"\(format 1\); this is ptce_nlp .* \(format 2\)"):
        load_coder(folder)


def test_suggest_picks_uncertain_and_varied_sentences(fitted, labelled):
    coder, train = fitted
    data, _ = labelled
    pool = data[data["split"] == "test"].reset_index(drop=True)
    picks = suggest(coder, pool, labelled=train, n=30)
    assert len(picks) == 30 and len(set(picks)) == 30
    proba = coder.predict_proba(pool)
    closeness = (np.abs(proba - coder.thresholds_)).min(axis=1)
    assert closeness[picks].mean() < closeness.mean()          # nearer a decision threshold than the pool
    doubled = pd.concat([pool.iloc[picks[:1]]] * 5 + [pool], ignore_index=True)
    again = suggest(coder, doubled, labelled=train, n=5)
    assert len({doubled.iloc[i]["text"] for i in again}) == 5   # never the same sentence twice
    assert len(suggest(coder, pool.iloc[:3], n=50)) == 3 and len(suggest(coder, pool.iloc[:0], n=5)) == 0


# --------------------------------------------------------------------------- learning from a researcher's labels

def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_learn_from_a_labels_table_of_texts(labelled, tmp_path, parse_cache_dir):
    data, _ = labelled
    rows = data[(data["split"] == "train") & (data["origin"] == "written")].head(400)
    labels = _write(tmp_path / "etiquettes.csv", rows[["text", *CATS]])
    training = training_set_from_labels(labels, codebook=Codebook.shipped(), cache_dir=parse_cache_dir)
    assert len(training.table) == len(rows) and training.labels.shape == (len(rows), 4)
    coder, facts = fit_coder(training)
    assert facts["sentences"] == len(rows) and len(facts["data_sha256"]) == 64
    assert set(facts["cross_validation"]["scores"]) == set(CATS)


def test_learn_from_sentence_ids(labelled, tmp_path, parse_cache_dir):
    data, result = labelled
    rows = data[(data["split"] == "train") & (data["origin"] == "corpus")]
    labels = _write(tmp_path / "ids.csv", rows[["doc_id", "segment_id", *CATS]])
    documents = [p.document for p in result.parsed]
    training = training_set_from_labels(labels, documents, codebook=Codebook.shipped(), cache_dir=parse_cache_dir)
    assert (training.table["text"].to_numpy() == rows["text"].to_numpy()).all()
    bad = _write(tmp_path / "bad.csv", rows[["doc_id", "segment_id", *CATS]].assign(segment_id="p9999.s009"))
    with pytest.raises(LearnError, match=r"bad\.csv: line 2: no sentence"):
        training_set_from_labels(bad, documents, codebook=Codebook.shipped(), cache_dir=parse_cache_dir)


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"text": ["a"], "territorialisation": [1], "gouvernance": [0], "valeurs_ess": [1]}),
     r"no column 'discours_cluster'"),
    (pd.DataFrame({"text": ["a", "b"], **{c: ["0", "1"] for c in CATS[:3]}, "discours_cluster": ["1", "oui"]}),
     r"line 3: column 'discours_cluster' holds 'oui'; use 0 or 1"),
    (pd.DataFrame({"phrase": ["a"], **{c: [1] for c in CATS}}), r"no 'text' column"),
])
def test_labels_table_problems_are_one_line(tmp_path, frame, message):
    path = _write(tmp_path / "etiquettes.csv", frame)
    with pytest.raises(LearnError, match=message) as info:
        read_labels(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_too_few_positives_names_the_category_and_the_fix(tmp_path):
    n = 60
    frame = pd.DataFrame({"text": [f"Le pôle réunit {i} structures de l'ESS du territoire." for i in range(n)],
                          "territorialisation": [1] * 30 + [0] * 30, "gouvernance": [1] * 30 + [0] * 30,
                          "valeurs_ess": [1] * (MIN_POSITIVES - 1) + [0] * (n - MIN_POSITIVES + 1),
                          "discours_cluster": [1] * 30 + [0] * 30})
    path = _write(tmp_path / "peu.csv", frame)
    with pytest.raises(LearnError, match=r"peu\.csv: only 19 sentences labelled 1 for 'valeurs_ess'.*suggest"):
        training_set_from_labels(path, codebook=Codebook.shipped(), use_cache=False)


def test_learn_from_a_qda_project(labelled, tmp_path, parse_cache_dir):
    """Codings made in a QDA tool (here: the toolkit's own export) become sentence labels."""
    from ptce_nlp.export.qdpx import write_qdpx
    from ptce_nlp.learn import training_set_from_qdpx

    _, result = labelled
    docs = [p.document for p in result.parsed if p.document.doc_id.startswith(("ptce_", "pdc_", "mono_"))]
    coded = result.coded[result.coded["doc_id"].isin({d.doc_id for d in docs})]
    project = write_qdpx(docs, coded, Codebook.shipped(), tmp_path / "projet.qdpx")
    training = training_set_from_qdpx(project, codebook=Codebook.shipped(), cache_dir=parse_cache_dir)
    lex = training.table[[f"lex_{c}" for c in CATS]].to_numpy()
    assert (training.labels == lex).mean() > 0.97            # a coding overlaps the sentence where a match starts
    empty = write_qdpx(docs[:2], coded.iloc[:0], Codebook.shipped(), tmp_path / "vide.qdpx")
    with pytest.raises(LearnError, match=r"vide\.qdpx: the project holds no coding"):
        training_set_from_qdpx(empty, codebook=Codebook.shipped(), cache_dir=parse_cache_dir)


def test_training_set_groups_are_documents():
    table = pd.DataFrame({"doc_id": ["a", "a", "b"]})
    assert list(TrainingSet(table, np.zeros((3, 4)), "x").groups) == ["a", "a", "b"]


def test_short_texts_get_a_row_each(tmp_path):
    docs = [Document("r1", "Le pôle mutualise ses moyens.", "table"), Document("r2", "Notre territoire", "table")]
    result = code_documents(docs, Codebook.shipped(), use_cache=False)
    table = sentence_table(result.parsed, result.coded)
    assert list(table["doc_id"]) == ["r1", "r2"] and table.loc[0, "lex_valeurs_ess"] == 1


def test_string_hashes_are_spacys_ids_without_spacy():
    """The vector lookup's keys: spaCy's get_string_id (symbols, the empty string, long and accented strings)."""
    from spacy.strings import get_string_id

    from ptce_nlp import classify

    words = ["", "a", "aux", "det", "coopération", "économie sociale et solidaire", "pôle", "ESS", "x" * 8,
             "y" * 9, "z" * 16, "cœur", "🙂", "l'", "aujourd'hui", "R&D", "nsubj", "AUX"]
    table = classify._vectors()
    got = classify._string_hashes(words, {}, table.symbols)
    assert got.tolist() == [get_string_id(w) for w in words]
    assert table.symbols["aux"] != classify.murmurhash64a(b"aux")  # a symbol: its own id, not the hash


# --------------------------------------------------------------------------- the fast coding path (issue 11 §4)

def _reference(parsed, coded, coder):
    """``coded_sentences`` as it was computed before the fast path: the sentence table, then its features."""
    return coded_sentences(sentence_table(parsed, coded, with_vectors=coder is not None), coder)


@pytest.fixture(scope="module")
def shipped_coder():
    from ptce_nlp.pipeline import CODER_MODEL

    return load_coder(CODER_MODEL)


@pytest.mark.parametrize("which", ["shipped", "fitted"])
def test_cached_arrays_predict_what_the_sentence_table_predicts(labelled, fitted, shipped_coder, which, tmp_path):
    """The prediction from cached per-document arrays (lemma words, shape, mean vector) plus the codebook's
    matches equals the prediction from the sentence table to 1e-12, cold (entries written) and warm (read)."""
    from ptce_nlp import classify

    _, result = labelled
    coder = shipped_coder if which == "shipped" else fitted[0]
    table = sentence_table(result.parsed, result.coded)
    expected = coder.predict_proba(table)
    for run in ("cold", "warm"):
        cache = classify.FeatureCache(tmp_path)
        spans, lex, proba = classify._hybrid_batch(result.parsed, result.coded, coder, cache)
        assert (spans[["doc_id", "start_char", "end_char"]].to_numpy() ==
                table[["doc_id", "start_char", "end_char"]].to_numpy()).all(), run
        assert np.array_equal(lex, table[[f"lex_{c}" for c in CATS]].to_numpy(dtype=bool)), run
        assert np.abs(proba - expected).max() < 1e-12, run
        assert cache.damaged == 0
    out = classify.hybrid_sentences(result.parsed, result.coded, coder, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(out, _reference(result.parsed, result.coded, coder))


def test_match_decision_is_the_sparse_product_without_scipy(labelled, shipped_coder, monkeypatch):
    """The codebook matches' part of the decision values, by numpy alone, equals scipy's sparse product of
    :meth:`match_features` exactly (same products, same order), for the shipped coder on the bundled corpus."""
    from ptce_nlp import classify

    _, result = labelled
    seen = []
    proba_of = classify._LinearPredictor.proba_of
    monkeypatch.setattr(classify._LinearPredictor, "proba_of",
                        lambda self, static, matches: seen.append(matches) or proba_of(self, static, matches))
    classify._hybrid_batch(result.parsed, result.coded, shipped_coder, None)
    matches, vectorizer = seen[0], shipped_coder.vectorizer_
    weights = shipped_coder.coef_[:, shipped_coder._columns()[1]].T
    expected = np.asarray(vectorizer.match_features(matches) @ weights)
    got = vectorizer.match_decision(matches, weights)
    assert matches.n > 1000 and np.abs(expected).sum() > 0
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("batch", [None, 3])
def test_learned_coder_from_row_tuples_gives_plain_columns_with_the_same_cells(labelled, shipped_coder, tmp_path,
                                                                               monkeypatch, batch):
    """With a learned coder, the row tuples write_coding holds give the DataFrame path's cells as plain columns
    (no pandas on a warm re-code), cold and warm, in one batch and in batches of 3 documents."""
    from ptce_nlp import classify
    from ptce_nlp.analysis import CODED_COLUMNS

    _, result = labelled
    if batch:
        monkeypatch.setattr(classify, "HYBRID_BATCH", batch)
    expected = classify.hybrid_sentences(result.parsed, result.coded, shipped_coder)
    rows = list(result.coded[CODED_COLUMNS].itertuples(index=False, name=None))
    assert any(r[CODED_COLUMNS.index("negated")] for r in rows)
    for run in ("cold", "warm"):
        got = classify.hybrid_sentences(result.parsed, rows, shipped_coder, cache_dir=tmp_path)
        assert isinstance(got, dict) and list(got) == classify.sentence_columns()
        pd.testing.assert_frame_equal(pd.DataFrame(got), expected, check_dtype=False, obj=run)


def test_lexicon_mode_reads_spans_and_matches_only(labelled, monkeypatch):
    """--coder lexicon: coded_sentences from the sentence spans and the matches, no learned feature computed."""
    from ptce_nlp import classify

    _, result = labelled
    expected = _reference(result.parsed, result.coded, None)

    def forbidden(*args, **kwargs):
        raise AssertionError("a learned feature was computed in lexicon mode")

    monkeypatch.setattr(classify, "sentence_table", forbidden)
    monkeypatch.setattr(classify, "document_features", forbidden)
    out = classify.hybrid_sentences(result.parsed, result.coded, None)
    pd.testing.assert_frame_equal(out, expected)
    assert out["valeurs_ess_prob"].isna().all() and set(out["valeurs_ess"]) == {0, 1}


def test_feature_cache_entries_stale_and_damaged(tmp_path, monkeypatch, shipped_coder):
    """Per document, one checksummed entry of features and one of the coder's codebook-independent scores: read
    back warm (nothing recomputed); another coder reuses the features; another feature version or other vectors
    never read them (recomputed, not counted); a damaged entry is recomputed and counted."""
    from ptce_nlp import classify

    docs = [Document(f"d{i}", f"Le pôle {i} mutualise ses moyens sur le territoire. Les membres décident "
                              "ensemble, en coopérative.", "txt") for i in range(3)]
    result = code_documents(docs, Codebook.shipped(), cache_dir=tmp_path / "c")
    other = load_coder(__import__("ptce_nlp.pipeline").pipeline.CODER_MODEL)
    other.coef_ = other.coef_ * 1.5
    expected = {id(c): _reference(result.parsed, result.coded, c) for c in (shipped_coder, other)}
    made, scored = [], []
    compute, static = classify.document_features, classify._LinearPredictor.static_decision

    def spy():
        monkeypatch.setattr(classify, "document_features", lambda *a, **k: made.append(1) or compute(*a, **k))
        monkeypatch.setattr(classify._LinearPredictor, "static_decision",
                            lambda self, f: scored.extend(f) or static(self, f))

    def run(coder=shipped_coder):
        made.clear()
        scored.clear()
        stats = {"damaged": 0}
        out = classify.hybrid_sentences(result.parsed, result.coded, coder, cache_dir=tmp_path / "c", stats=stats)
        pd.testing.assert_frame_equal(out, expected[id(coder)])
        return len(made), len(scored), stats["damaged"]

    spy()
    assert run() == (3, 3, 0)                                                # cold: computed and stored
    features = sorted((tmp_path / "c" / "features").rglob("*.arr"))
    scores = sorted((tmp_path / "c" / "scores").rglob("*.arr"))
    assert len(features) == 3 and len(scores) == 3
    assert run() == (0, 0, 0)                                                # warm: the scores read back
    assert run(other) == (0, 3, 0)                                           # another coder: features read
    assert run(other) == (0, 0, 0)
    monkeypatch.setattr(classify, "FEATURE_VERSION", classify.FEATURE_VERSION + 1)
    assert run() == (3, 3, 0)                                                # another feature definition
    monkeypatch.undo()
    spy()
    identity = classify._vectors_identity()
    monkeypatch.setattr(classify, "_vectors_identity", lambda: {**identity, "vectors_bytes": 1})
    assert run() == (3, 3, 0)                                                # other vectors
    monkeypatch.undo()
    spy()
    assert run() == (0, 0, 0)
    data = bytearray(scores[1].read_bytes())
    data[-3] ^= 0xFF                                                         # a flipped bit in a score
    scores[1].write_bytes(bytes(data))
    assert run() == (0, 1, 1)                                                # recomputed from the features
    assert run() == (0, 0, 0)                                                # and stored again
    for entry in scores:
        entry.unlink()
    data = bytearray(features[2].read_bytes())
    data[-7] ^= 0xFF                                                         # a flipped bit in a vector
    features[2].write_bytes(bytes(data))
    assert run() == (1, 3, 1)                                                # damaged: recomputed, counted
    for entry in scores:
        entry.unlink()
    features[0].write_bytes(features[0].read_bytes()[:100])                  # truncated
    assert run() == (1, 3, 1)
    assert run() == (0, 0, 0)


def test_feature_entry_of_other_sentences_is_not_used(tmp_path):
    """An entry whose sentence spans are not the document's (a foreign file under its name) is a damaged miss."""
    from ptce_nlp import classify

    docs = [Document("a", "Le pôle mutualise ses moyens. Les membres décident ensemble.", "txt")]
    result = code_documents(docs, Codebook.shipped(), cache_dir=tmp_path)
    p = result.parsed[0]
    sentences = [s for s in p.segments if s.kind == "sentence"]
    cache = classify.FeatureCache(tmp_path)
    features = classify.document_features(p, sentences)
    cache.save(p.document.text, features)
    starts = np.asarray([s.start_char for s in sentences])
    ends = np.asarray([s.end_char for s in sentences])
    assert cache.load(p.document.text, starts, ends) is not None
    assert cache.load(p.document.text, starts, ends + 1) is None and cache.store.damaged == 1


def test_code_counts_a_damaged_feature_entry_on_its_summary_line(tmp_path):
    """`code` (streamed, hybrid): a damaged entry of the learned coder's cache is made again, counted on the
    summary line, and the outputs are those of the first run."""
    from click.testing import CliRunner

    from ptce_nlp.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        (folder / f"d{i}.txt").write_text(f"Le pôle {i} mutualise ses moyens. Les membres décident ensemble.",
                                          "utf-8")
    runs = []
    for k in range(2):
        if k:
            entry = sorted((tmp_path / "c" / "scores").rglob("*.arr"))[0]       # what a warm re-code reads
            entry.write_bytes(entry.read_bytes()[:-5] + b"xxxxx")
        out = tmp_path / f"o{k}"
        result = CliRunner().invoke(main, ["code", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "c")])
        assert result.exit_code == 0, result.output
        runs.append((out / "coded_sentences.csv").read_bytes())
        if k:
            assert "1 damaged cache entry found (checksum) and made again" in result.output
    assert runs[0] == runs[1]


def test_run_coding_stage_keeps_the_learned_coders_cache(tmp_path, shipped_coder):
    """`run` (stage_coding) keeps the learned coder's entries in the run's cache folder, none with --no-cache."""
    from ptce_nlp.pipeline import RunState, stage_coding

    docs = [Document("a", "Le pôle mutualise ses moyens. Les membres décident ensemble.", "txt")]
    for use_cache, expected in ((False, 0), (True, 1)):
        cache = tmp_path / f"c{int(use_cache)}"
        state = RunState(paths=[], work_dir=tmp_path, codebook=Codebook.shipped(), cache_dir=cache,
                         use_cache=use_cache, coder=shipped_coder, documents=docs)
        stage_coding(state)
        assert len(state.tables["coded_sentences"]) == 2
        assert len(list((cache / "scores").rglob("*.arr"))) == expected


@pytest.mark.parametrize("ngram_range", [None, (1, 1), (1, 2), (2, 2), (1, 3), (2, 3)])
def test_bag_counts_what_scikit_learn_counts(ngram_range):
    """The numpy n-gram counts (integer keys) equal scikit-learn's CountVectorizer on the same vocabulary:
    repeated words and n-grams, unknown words between known ones, n-grams never across two texts, empty texts,
    runs of white space."""
    from sklearn.feature_extraction.text import CountVectorizer

    from ptce_nlp.classify import _bag, _split

    texts = ["pôle territoire pôle territoire pôle", "", "  pôle   inconnu territoire\tacteur ", "acteur",
             "territoire acteur pôle", "pôle", "x y z pôle territoire acteur", "   "]
    fit_on = ["pôle territoire pôle", "territoire acteur pôle territoire", "acteur acteur", "y z", "z pôle"]
    vectorizer = CountVectorizer(tokenizer=_split, token_pattern=None, lowercase=False,
                                 ngram_range=ngram_range or (1, 1)).fit(fit_on)
    index = vectorizer.vocabulary_
    got = _bag(texts, index, ngram_range)
    expected = vectorizer.transform(texts)
    assert got.shape == expected.shape and (got != expected).nnz == 0 and got.nnz > 0
    assert all((np.diff(got.indices[a:b]) > 0).all() for a, b in zip(got.indptr, got.indptr[1:]))


def test_lexicon_mode_from_row_tuples_gives_plain_columns_with_the_same_cells(labelled, monkeypatch):
    """hybrid_sentences given the rows of coded_segments as tuples (CODED_COLUMNS order, what write_coding holds)
    and no learned coder: plain columns (a dict of lists, no pandas) with the cells of the DataFrame path, also
    split into several batches of documents, and with no match at all."""
    from ptce_nlp import classify
    from ptce_nlp.analysis import CODED_COLUMNS, _sentence_rows

    _, result = labelled
    names = classify.sentence_columns()
    for batch in (classify.HYBRID_BATCH, 2):
        monkeypatch.setattr(classify, "HYBRID_BATCH", batch)
        for coded in (result.coded, result.coded.iloc[:0], result.coded.iloc[::3]):
            expected = classify.hybrid_sentences(result.parsed, coded, None)
            rows = list(coded[CODED_COLUMNS].itertuples(index=False, name=None))
            out = classify.hybrid_sentences(result.parsed, rows, None)
            assert isinstance(out, dict) and list(out) == names
            assert all(isinstance(v, list) for v in out.values())
            got = [tuple(r) for r in _sentence_rows(out, names)]
            assert got == [tuple(r) for r in _sentence_rows(expected, names)]
            assert len(got) == len(expected) and got
