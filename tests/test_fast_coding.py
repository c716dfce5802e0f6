"""Issue 13 §2: the numpy coding path (packed word ids, clause analysis by arrays) finds exactly what the
token-by-token path finds, on random texts built to hit every rule (gaps, exclusions, contractions,
negation, contrast, reported speech, surface forms, accents)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ptce_nlp.codebook import GAP, Codebook
from ptce_nlp.coding import Coder, _Clauses, _FastClauses, _tokens_of
from ptce_nlp.tokens import TokenArrays

#: Words that open or close a clause, a negation, a contrast or a reported passage (coding.py's cues).
CUES = ("ne n' n’ pas plus jamais sans aucun ni absence manque défaut au lieu de à le la les l' l’ d' d’ du "
        "différence contrairement par opposition inverse contraire loin plutôt que bien non et un mais cependant "
        "selon après suivant rapport auteurs auteur étude préconiser souligner montrer modèle théorie qui dont "
        "Porter Pecqueur Blanc et al. 1998 2005 1700 , ; : . ! ? ( ) « » —").split()


#: Whole cues, inserted as they are: random words seldom make them.
PHRASES = ["à le différence de", "contrairement à", "par opposition à", "au contraire de", "loin de", "plutôt que",
           "non pas", "et non", "absence de", "manque de", "ne pas", "n' plus", "selon Porter", "d' après le rapport",
           "( Porter , 1998 )", "Pecqueur et al. ( 2005 )", "le rapport Blanc préconiser", "les auteurs souligner",
           "ne jamais", ", qui", "mais"]


def _vocabulary(book: Codebook) -> list[str]:
    words = set(CUES)
    for code in book.codes.values():
        for p in code.patterns + code.exclusions:
            words.update(w for w in p.tokens if w != GAP)
    return sorted(words)


def _phrases(book: Codebook) -> list[str]:
    """The codebook's patterns and exclusions as texts, a gap filled with 0 to 3 words."""
    out = []
    for code in book.codes.values():
        for p in code.patterns + code.exclusions:
            out.append(p.tokens)
    return out


def _random_arrays(rng: random.Random, vocabulary: list[str], n: int, patterns: list = ()) -> TokenArrays:
    """Token arrays of ``n`` random words: a token's lemma is itself, its lower case, an accentless or
    upper-case variant, or empty (the parse left none); sentence starts at random and after a full stop."""
    strings: list[str] = [""]
    index = {"": 0}

    def at(s: str) -> int:
        if s not in index:
            index[s] = len(strings)
            strings.append(s)
        return index[s]

    idx, text, lower, lemma, flags = [], [], [], [], []
    offset, previous = 0, rng.choice([".", ""])  # the first token starts a sentence, or none does
    words: list[str] = []
    while len(words) < n:
        draw = rng.random()
        if draw < 0.1:
            words.extend(rng.choice(PHRASES).split())
        elif draw < 0.2 and patterns:  # a whole pattern, its gaps filled with 0 to 3 words
            for word in rng.choice(patterns):
                words.extend(rng.sample(vocabulary, rng.choice([0, 1, 2, 3])) if word == GAP else [word])
        else:
            words.append(rng.choice(vocabulary))
    for word in words[:n]:
        form = rng.choice([word, word, word.capitalize(), word.upper(), word.replace("é", "e")])
        base = rng.choice([word, word, form.lower(), "", word.replace("'", "’")])
        punct = not any(c.isalnum() for c in form)
        start = previous in (".", "!", "?") or rng.random() < (0.03 if n > 9 else 0)
        idx.append(offset)
        text.append(at(form))
        lower.append(at(form.lower()))
        lemma.append(at(base))
        flags.append((1 if start else 0) | (2 if punct else 0) | (0 if punct else 8))
        offset += len(form) + 1
        previous = form
    none = np.zeros(len(idx), dtype=np.int32)
    return TokenArrays(strings, np.asarray(idx, dtype=np.int32), np.asarray(text, dtype=np.int32),
                       np.asarray(lower, dtype=np.int32), np.asarray(lemma, dtype=np.int32), none,
                       np.asarray(flags, dtype=np.uint8))


@pytest.mark.parametrize("book,accents,per", [("ptce", False, None), ("ptce", True, None), ("referentiel", False, None),
                                              ("ptce", False, 2)])
def test_numpy_coder_equals_the_token_by_token_coder_on_random_texts(book, accents, per):
    """``per``: at most that many words packed in one integer (longer patterns then checked word by word)."""
    from ptce_nlp.coding import _IdTable

    codebook = Codebook.shipped(book)
    fast, slow = Coder(codebook, accent_insensitive=accents), Coder(codebook, accent_insensitive=accents)
    if per is not None:
        by_norm, by_lower = fast._phrase_tables()
        fast._id_tables = (_IdTable(by_norm, fast._gaps, per=per), _IdTable(by_lower, per=per))
    rng = random.Random(13)
    vocabulary, patterns = _vocabulary(codebook), _phrases(codebook)
    total = flagged = long = 0
    for trial in range(150):
        arrays = _random_arrays(rng, vocabulary, rng.choice([0, 1, 2, 5, 40, 400]), patterns)
        expected = slow.match_strings(arrays)
        assert fast.match(arrays) == expected, trial
        total += len(expected)
        flagged += sum(m.negated or m.contrast or m.reported for m in expected)
        long += sum(m.end - m.start >= 3 for m in expected)
    # not vacuous: matches of several words and flags of every kind were compared
    assert total > 500 and flagged > 100 and long > 50, (total, flagged, long)


def test_clause_flags_by_arrays_equal_the_token_loops():
    codebook = Codebook.shipped("ptce")
    coder = Coder(codebook)
    rng = random.Random(7)
    vocabulary = _vocabulary(codebook)
    kinds = {"negated": 0, "contrast": 0, "reported": 0}
    for _ in range(60):
        arrays = _random_arrays(rng, vocabulary, rng.choice([1, 3, 50, 300]))
        slow = _Clauses(_tokens_of(arrays))
        fast = _FastClauses(coder._word_ids(arrays)[2])
        assert fast.clause_of == slow.clause_of and fast.sent_start == slow.sent_start
        assert fast.sent_end == slow.sent_end and fast.neg_cue_at == slow.neg_cue_at
        assert fast.contrast_mask == slow.contrast_mask and fast.reported_sentences == slow.reported_sentences
        for i in range(len(arrays)):
            for kind in kinds:
                value = getattr(fast, kind)(i)
                assert value == getattr(slow, kind)(i)
                kinds[kind] += value
    assert min(kinds.values()) > 20, kinds


def test_a_gapped_pattern_needs_its_parts_in_order_within_two_words():
    book = Codebook.from_yaml_text("""\
name: essai
codes:
  - id: a
    label: A
    color: "#000000"
  - id: a.b
    parent: a
    label: B
    color: "#000000"
    lemmas: [retour à * emploi, insertion * professionnel * durable]
""", check_lemmas=False)
    coder = Coder(book)
    words = ("le retour rapide à un emploi , retour à un très bon emploi ; retour à un emploi ; "
             "insertion vraiment professionnel durable").split()
    strings = [""] + sorted(set(words))
    at = np.asarray([strings.index(w) for w in words], dtype=np.int32)
    arrays = TokenArrays(strings, np.arange(len(words), dtype=np.int32) * 20, at, at, at,
                         np.zeros(len(words), dtype=np.int32),
                         np.asarray([2 if w in ",;" else 0 for w in words], dtype=np.uint8))
    assert [(m.start, m.end) for m in coder.match(arrays)] == [(14, 18), (19, 23)]
    assert coder.match(arrays) == coder.match_strings(arrays)


# --------------------------------------------------------------------------- the codebook read with libyaml

def _lines(data) -> list:
    """Every ``__line__`` and every sequence's item lines of loaded YAML, in order."""
    if isinstance(data, dict):
        return [data.get("__line__")] + [x for v in data.values() for x in _lines(v)]
    if isinstance(data, list):
        return [getattr(data, "lines", None)] + [x for v in data for x in _lines(v)]
    return []


def test_codebook_yaml_read_by_libyaml_equals_the_pure_python_loader(monkeypatch):
    from importlib import resources

    import ptce_nlp.codebook as codebook

    if codebook._CLineLoader is None:
        pytest.skip("PyYAML built without libyaml")
    used = []
    real = codebook._CLineLoader
    monkeypatch.setattr(codebook, "_CLineLoader", lambda text: used.append(1) or real(text))
    for name in ("codebook_ptce.yaml", "codebook_referentiel.yaml"):
        text = resources.files("ptce_nlp").joinpath(f"data/{name}").read_text("utf-8")
        text += "codes_bis: {a: 1, a: 2}\n"  # a duplicate key too
        fast = codebook._load_yaml(text)
        loader = codebook._LineLoader(text)
        slow = (loader.get_single_data(), [p for _, p in sorted(loader.duplicate_keys)])
        assert fast == slow and fast[1] and _lines(fast[0]) == _lines(slow[0])
    assert len(used) == 2


@pytest.mark.parametrize("text", [
    "codes:\n  - id: a\n   label: [\n",                                  # a syntax error, line 3
    "codes:\n  - id: a\n    label: &x A\n  - id: b\n    label: *x\n",      # an alias, line 5
    "codes: " + "[" * 150 + "]" * 150,                                     # too deep
    "codes: " + "[" * 99 + "x" + "]" * 99,                                 # a scalar one level too deep
    "codes: []\n---\ncodes: []\n",                                         # two documents
    "codes:\n  - id: a\n    label: A\n    label: B\n",                     # a duplicate key, line 4
])
def test_codebook_yaml_errors_are_those_of_the_pure_python_loader(monkeypatch, text):
    import ptce_nlp.codebook as codebook
    from ptce_nlp.codebook import CodebookError

    def problems() -> list[str]:
        with pytest.raises(CodebookError) as info:
            Codebook.from_yaml_text(text, source="c.yaml", check_lemmas=False)
        return info.value.problems

    fast = problems()
    monkeypatch.setattr(codebook, "_CLineLoader", None)
    assert fast == problems() and fast[0].startswith("line ")


# --------------------------------------------------------------------------- counts and tables written by the csv module

def test_counts_of_rows_equal_document_counts(tmp_path):
    """The counts write_coding writes (counted in Python from the row tuples) are document_counts' table:
    every flag alone and together, count_reported both ways, a category that is its own leaf, a document
    with no sentence."""
    import pandas as pd

    from ptce_nlp.analysis import CODED_COLUMNS, _count_rows, code_documents, document_counts
    from ptce_nlp.types import Document

    book = Codebook.from_yaml_text("""\
name: essai
codes:
  - id: valeurs_ess
    label: Valeurs
    color: "#EF6C00"
  - id: valeurs_ess.cooperation
    parent: valeurs_ess
    label: Coopération
    color: "#FFA726"
    lemmas: [coopération, coopérer]
  - id: discours_cluster
    label: Cluster
    color: "#C62828"
    lemmas: [compétitivité, cluster]
""", check_lemmas=False)
    texts = ["La coopération locale. Sans coopération, pas de cluster. Selon Porter, le cluster gagne.",
             "Contrairement à la compétitivité, la coopération. Le cluster coopère. Coopération et cluster.",
             "...", "Rien ici."]
    documents = [Document(f"d{i}", t, "txt", metadata={"pole": "P" if i % 2 else ""}) for i, t in enumerate(texts)]
    result = code_documents(documents, book, cache_dir=tmp_path / "c")
    rows = list(result.coded.itertuples(index=False, name=None))
    flags = {column: result.coded[column].any() for column in ("negated", "contrast", "reported")}
    assert all(flags.values()), flags  # every flag is exercised
    for count_reported in (False, True):
        counts, counted = _count_rows(result.parsed, rows, book, count_reported=count_reported)
        expected = document_counts(result.parsed, result.coded, book, count_reported=count_reported)
        pd.testing.assert_frame_equal(pd.DataFrame(counts, columns=expected.columns), expected)
        assert counted == sum(not (r[8] or r[9] or (r[12] and not count_reported)) for r in rows)
    assert list(result.coded.columns) == CODED_COLUMNS


def test_write_coding_writes_the_bytes_of_write_csv(tmp_path):
    """coded_segments and code_counts written row by row (csv module) are byte for byte what write_csv writes
    of code_documents' tables: quotes, commas and new lines in cells, True/False, floats, NaN (a document of
    punctuation only has no words: its densities are NaN)."""
    from ptce_nlp.analysis import code_documents, write_coding
    from ptce_nlp.io import write_csv
    from ptce_nlp.types import Document

    book = Codebook.shipped("ptce")
    texts = ["La coopération « locale », \"dite\" solidaire.\r\nLe pôle de compétitivité, sans mutualisation.",
             "...", "Selon Porter (1998), le cluster ; la mutualisation des moyens, loin de la coopération."]
    documents = [Document(f"d,{i}", t, "txt", metadata={"pole": 'P "x", y' if i else ""})
                 for i, t in enumerate(texts)]
    paths = {k: tmp_path / f"{k}.csv" for k in ("coded", "counts", "sentences")}
    write_coding(documents, book, paths, cache_dir=tmp_path / "c", batch=2)
    result = code_documents(documents, book, cache_dir=tmp_path / "c")
    assert result.counts["density"].isna().any() and len(result.coded) > 3
    write_csv(result.coded, tmp_path / "coded_ref.csv")
    write_csv(result.counts, tmp_path / "counts_ref.csv")
    assert paths["coded"].read_bytes() == (tmp_path / "coded_ref.csv").read_bytes()
    assert paths["counts"].read_bytes() == (tmp_path / "counts_ref.csv").read_bytes()


def test_import_leaves_exports_and_agreement_for_when_they_are_asked_for():
    import subprocess
    import sys

    code = ("import sys, ptce_nlp, ptce_nlp.cli, ptce_nlp.analysis; "
            "loaded = [m for m in ('ptce_nlp.export', 'ptce_nlp.agreement') if m in sys.modules]; "
            "assert not loaded, loaded; from ptce_nlp import write_qdpx, cohen_kappa; "
            "assert 'ptce_nlp.export.qdpx' in sys.modules and 'write_qdpx' in dir(ptce_nlp)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-800:]


def test_write_coding_leaves_the_garbage_collector_as_it_found_it(tmp_path, monkeypatch):
    """write_coding freezes what is alive when it starts (gc.freeze) and unfreezes it at the end, after an
    error too; a caller's own freeze is left alone."""
    import gc

    import ptce_nlp.analysis as analysis
    from ptce_nlp.types import Document

    seen = []
    real = analysis.iter_parsed

    def spy(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        yield from real(*args, **kwargs)

    monkeypatch.setattr(analysis, "iter_parsed", spy)
    paths = {k: tmp_path / f"{k}.csv" for k in ("coded", "counts", "sentences")}
    documents = [Document("a", "La coopération locale.", "txt")]
    assert gc.get_freeze_count() == 0
    analysis.write_coding(documents, Codebook.shipped(), paths, cache_dir=tmp_path / "c")
    assert seen[-1] > 0 and gc.get_freeze_count() == 0
    with pytest.raises(KeyError):
        analysis.write_coding(documents, Codebook.shipped(), {}, cache_dir=tmp_path / "c")
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        analysis.write_coding(documents, Codebook.shipped(), paths, cache_dir=tmp_path / "c")
        assert gc.get_freeze_count() > 0  # not unfrozen by write_coding
    finally:
        gc.unfreeze()


def test_sentence_rows_are_the_bytes_of_to_csv_for_a_frame_and_for_plain_columns():
    """coded_sentences written by the csv module from plain columns (what classify.hybrid_sentences can return
    without pandas) or from its DataFrame: byte for byte DataFrame.to_csv (ints, rounded floats, NaN as an
    empty cell, quotes, commas and new lines in cells, an empty table)."""
    import csv
    import io

    import pandas as pd

    from ptce_nlp.analysis import _sentence_rows
    from ptce_nlp.classify import sentence_columns

    names = sentence_columns()
    n = 5
    columns = {"doc_id": ['d,"1"', "d2", "d\n3", "4", "é"], "segment_id": [0, 1, 2, 3, 4],
               "start_char": [0, 10, 200, 3000, 40000], "end_char": [9, 199, 2999, 39999, 40001],
               "text": ["Un « pôle », dit-on.", 'Des "quotes"', "a\nb", "", " espace "]}
    for j, c in enumerate(names[5::3]):
        columns[c] = np.array([0, 1, 1, 0, j % 2], dtype=np.int64)
        columns[f"{c}_prob"] = np.round(np.array([0.0001, 0.5, 1.0, float("nan"), 0.12345 + j]), 4)
        columns[f"{c}_source"] = np.asarray(["none", "lexicon", "learned", "both", "none"], dtype=object)
    frame = pd.DataFrame({c: columns[c] for c in names})
    assert len(frame) == n and frame.isna().any().any()
    for table in (frame, frame.iloc[:0]):
        expected = table.to_csv(index=False, header=False, lineterminator="\n")
        for given in (table, {c: table[c].to_numpy() for c in names}, {c: table[c].tolist() for c in names}):
            out = io.StringIO(newline="")
            csv.writer(out, lineterminator="\n").writerows(_sentence_rows(given, names))
            assert out.getvalue() == expected


def test_importing_the_coding_modules_leaves_pandas_for_when_a_table_is_made():
    """ptce_nlp, its I/O, ingest, tables and analysis modules import pandas when a table is first made, not when
    they are imported: a warm re-code that writes its tables with the csv module can run without it (issue 13)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "import ptce_nlp, ptce_nlp.io, ptce_nlp.ingest, ptce_nlp.tables, ptce_nlp.analysis\n"
            "assert 'pandas' not in sys.modules, 'imported'\n"
            "from ptce_nlp.analysis import scored_mask, cooccurrence\n"
            "from ptce_nlp.tables import flags\n"
            "import pandas as pd\n"
            "assert flags(pd.Series(['vrai', '0'])).tolist() == [True, False]\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("coder", ["lexicon", "hybrid"])
def test_warm_recode_imports_no_table_or_matrix_library(tmp_path, coder):
    """A warm re-code, lexicon alone or with the learned coder, imports neither pandas nor scipy (the learned
    coder's matches' part is summed with numpy, its rows read without pandas), nor spaCy, scikit-learn or the
    agreement module (the exports' .qdpx module comes in for the bundled corpus's text with \\r\\n line ends);
    the tables are those of the cold run, byte for byte."""
    from click.testing import CliRunner

    from ptce_nlp.cli import main

    from .conftest import CORPUS

    cache = tmp_path / "c"
    cold = ["code", str(CORPUS), "--out", str(tmp_path / "cold"), "--cache-dir", str(cache), "--coder", coder, "-q"]
    assert CliRunner().invoke(main, cold).exit_code == 0
    warm = [*cold[:3], str(tmp_path / "warm"), *cold[4:]]
    assert _imported_by(warm, {"pandas", "scipy", "spacy", "sklearn", "ptce_nlp.agreement"}) == []
    for name in ("coded_segments.csv", "code_counts.csv", "coded_sentences.csv"):
        assert (tmp_path / "warm" / name).read_bytes() == (tmp_path / "cold" / name).read_bytes()


def test_first_coding_of_parsed_documents_imports_no_pandas(tmp_path):
    """What a first run does after the parse (coding, the learned coder's features and decisions, the tables)
    imports no pandas (its import is a tenth of the first run's overhead over the bare spaCy pass, issue 13):
    with the parses cached and every coding and feature entry removed, the tables are those of the cold run."""
    import shutil

    from click.testing import CliRunner

    from ptce_nlp.cli import main

    from .conftest import CORPUS

    cache = tmp_path / "c"
    cold = ["code", str(CORPUS), "--out", str(tmp_path / "cold"), "--cache-dir", str(cache), "-q"]
    assert CliRunner().invoke(main, cold).exit_code == 0
    kept = {"tokens", "cleaned"}
    removed = [p.name for p in cache.iterdir() if p.is_dir() and p.name not in kept]
    assert {"coded", "features", "scores"} <= set(removed)
    for name in removed:
        shutil.rmtree(cache / name)
    again = [*cold[:3], str(tmp_path / "again"), *cold[4:]]
    assert _imported_by(again, {"pandas", "spacy", "sklearn"}) == []
    assert (cache / "features").is_dir()  # the features were computed again
    for name in ("coded_segments.csv", "code_counts.csv", "coded_sentences.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "cold" / name).read_bytes()


def _imported_by(argv: list[str], names: set[str]) -> list[str]:
    """Which of ``names`` (packages, or modules by their full name) a ``ptce-nlp`` run of ``argv`` imports, in a
    process of its own."""
    import ast
    import os
    import subprocess
    import sys

    from .conftest import CORPUS

    probe = ("import sys; from ptce_nlp.cli import main\n"
             "names = set(sys.argv[1].split(','))\n"
             "try:\n    main.main(sys.argv[2:], standalone_mode=False)\nfinally:\n"
             "    print(sorted(names & ({m.split('.')[0] for m in sys.modules} | set(sys.modules))))\n")
    proc = subprocess.run([sys.executable, "-c", probe, ",".join(sorted(names)), *argv], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(CORPUS.parent)})
    assert proc.returncode == 0, proc.stderr[-800:]
    return ast.literal_eval(proc.stdout.strip().splitlines()[-1])
