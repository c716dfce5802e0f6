"""``ptce_nlp.run`` and ``ptce-nlp run``: outputs, swap-in of the output folder, failures, exit codes, help."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import lxml.html
import pandas as pd
import pytest
from click.testing import CliRunner

import ptce_nlp
from ptce_nlp import pipeline
from ptce_nlp.cli import main
from ptce_nlp.codebook import Codebook
from ptce_nlp.errors import OutputError
from ptce_nlp.pipeline import NoUsableInputError, run

from .report_fixtures import CORPUS

FICHES = {"ptce_re_sources": ("fiches/ptce/re_sources.txt", "Re-Sources", "ptce"),
          "pdc_lyonbiopole": ("fiches/poles_competitivite/lyonbiopole.txt", "Lyonbiopole", "pole_competitivite"),
          "cluster_lumiere": ("fiches/clusters/cluster_lumiere.txt", "Cluster Lumière", "cluster")}
TOPIC_TABLES = ["topic_terms", "topic_shares", "topic_pole_shares", "topic_selection", "topic_segments", "topic_seeds"]
CLOSENESS_TABLES = ["closeness", "closeness_poles", "closeness_agreement", "closeness_validation", "closeness_explain",
                    "closeness_sentences", "closeness_kwic", "closeness_code_weights"]
PROFILE_TABLES = ["pole_profiles", "pole_referentiel"]
OUTPUTS = sorted(["code_counts.csv", "coded_segments.csv", "coded_sentences.csv", "documents.csv", "figures",
                  "report.html", "run.json", "segments.csv", *pipeline.EXPORT_FILES.values(),
                  *(f"{name}.csv" for name in TOPIC_TABLES + CLOSENESS_TABLES + PROFILE_TABLES)])


@pytest.fixture(scope="module")
def fiches(tmp_path_factory):
    """Three fiches of the bundled corpus with a manifest, plus a corrupt PDF and a fiche holding markup."""
    folder = tmp_path_factory.mktemp("in") / "fiches"
    folder.mkdir()
    rows = ["doc_id,path,pole,pole_type,genre"]
    for doc_id, (path, pole, pole_type) in FICHES.items():
        shutil.copy(CORPUS / path, folder / f"{doc_id}.txt")
        rows.append(f"{doc_id},{doc_id}.txt,{pole},{pole_type},fiche")
    (folder / "piege.txt").write_text("Le pôle <script>alert(1)</script> favorise la coopération.\n", "utf-8")
    rows.append("piege,piege.txt,Piège,ptce,fiche")
    (folder / "casse.pdf").write_bytes(b"%PDF-1.4\n garbage, not a PDF")
    rows.append("casse,casse.pdf,Cassé,ptce,fiche")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n", "utf-8")
    return folder


@pytest.fixture(scope="module")
def result(fiches, tmp_path_factory):
    events = []
    out = tmp_path_factory.mktemp("run") / "out"
    res = run([fiches], out, seed=3, progress=lambda *args: events.append(args))
    return res, events


def test_pipeline_run_writes_every_output(result):
    res, _ = result
    out = res.out_dir
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    docs = pd.read_csv(out / "documents.csv", keep_default_na=False)
    assert list(docs["doc_id"]) == [*FICHES, "piege"]
    coded = pd.read_csv(out / "coded_segments.csv", keep_default_na=False)
    assert list(coded.columns) == ["doc_id", "segment_id", "code_id", "category", "term", "start_char", "end_char",
                                   "text", "negated", "contrast", "export_start_char", "export_end_char",
                                   "reported", "opposed"]
    assert coded.equals(res.tables["coded_segments"].astype(coded.dtypes.to_dict()))
    texts = {d.doc_id: d.text for d in res.documents}
    assert all(texts[r.doc_id][r.start_char:r.end_char] == r.text for r in coded.itertuples())
    counts = pd.read_csv(out / "code_counts.csv", keep_default_na=False)
    sentences = pd.read_csv(out / "coded_sentences.csv", keep_default_na=False)
    book = Codebook.shipped()
    assert len(counts) == 4 * (len(book.leaves()) + len(book.categories()))  # documents x (codes + categories)
    assert res.stats == {"documents": 4, "failed": 1, "paragraphs": int(docs["n_paragraphs"].sum()),
                         "sentences": int(docs["n_sentences"].sum()), "matches": len(coded),
                         "counted": int((~coded["negated"] & ~coded["contrast"] & ~coded["reported"]).sum()),
                         "parsed": res.stats["parsed"], "cached": res.stats["cached"],
                         "sentences_coded": int(sentences[["territorialisation", "gouvernance", "valeurs_ess",
                                                           "discours_cluster"]].any(axis=1).sum())}
    # one row per sentence, with the four categories' decision, probability and source (lexicon and learned)
    assert len(sentences) == int(docs["n_sentences"].sum())
    assert list(sentences.columns[:5]) == ["doc_id", "segment_id", "start_char", "end_char", "text"]
    assert all(texts[r.doc_id][r.start_char:r.end_char] == r.text for r in sentences.itertuples())
    assert set(sentences["valeurs_ess_source"]) <= {"none", "lexicon", "learned", "both"}
    assert sentences["valeurs_ess_prob"].between(0, 1).all()
    figures = sorted(p.name for p in (out / "figures").iterdir())
    # four fiches: too few paragraphs to fit topics, so the reference model's are applied (no coherence curve)
    assert figures == sorted(f"{n}.{e}" for n in ("category_shares", "closeness_poles", "code_cooccurrence",
                                                  "code_density_heatmap", "corpus_overview", "topic_terms_lda",
                                                  "topic_terms_nmf", "topic_terms_seeded") for e in ("png", "svg"))
    assert res.report_path == out / "report.html"
    assert sorted(res.files) == sorted([*(out / n for n in OUTPUTS if n != "figures"),
                                        *((out / "figures" / f) for f in figures)])
    record = json.loads((out / "run.json").read_text("utf-8"))
    assert record["settings"]["graine (seed)"] == 3 and record["stats"] == res.stats
    assert record["failures"] == [{"path": str(res.failures[0].path), "reason": res.failures[0].reason}]


def test_pipeline_outputs_are_not_private(result):
    out = result[0].out_dir
    for path in [out, out / "report.html", out / "figures" / "corpus_overview.png"]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044, path  # readable by group and others


def test_pipeline_report_lists_failures_and_escapes_markup(result):
    res, _ = result
    page = res.report_path.read_text("utf-8")
    tree = lxml.html.fromstring(page)
    rows = [[td.text_content() for td in tr.findall("td")]
            for tr in tree.get_element_by_id("corpus").xpath("(.//table)[last()]//tr[td]")]
    assert len(res.failures) == 1 and res.failures[0].path.endswith("casse.pdf")
    assert rows == [[res.failures[0].path, res.failures[0].reason]]
    piege = [d for d in tree.find_class("doc") if d.get("data-doc-id") == "piege"][0]
    assert "<script>alert(1)</script>" in piege.text_content()
    assert page.count("<script>") == 1


def test_pipeline_progress_reports_each_stage_in_order(result):
    _, events = result
    stages = list(dict.fromkeys(e[0] for e in events))
    assert stages == [name for name, _ in pipeline.STAGES]
    reads = [e for e in events if e[0] == "read"]
    assert reads[-1][1:3] == (5, 5)
    assert [str(e[3]) for e in reads if e[3] is not None] == [str(result[0].failures[0])]
    assert [e[1:3] for e in events if e[0] == "coding"][-1] == (4, 4)


def test_pipeline_existing_output_is_replaced_without_mixing(fiches, tmp_path):
    out = tmp_path / "out"
    run([fiches], out)
    (out / "stale.csv").write_text("old", "utf-8")
    (out / "figures" / "old_figure.png").write_bytes(b"old")
    only_two = tmp_path / "two"
    only_two.mkdir()
    for name in ("ptce_re_sources.txt", "cluster_lumiere.txt"):
        shutil.copy(fiches / name, only_two / name)
    res = run([only_two], out)
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    assert "old_figure.png" not in {p.name for p in (out / "figures").iterdir()}
    docs = pd.read_csv(out / "documents.csv", keep_default_na=False)
    assert list(docs["doc_id"]) == ["cluster_lumiere", "ptce_re_sources"] == [d.doc_id for d in res.documents]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "two"]  # no temporary folder left


def test_pipeline_is_deterministic(fiches, tmp_path):
    out = tmp_path / "out"
    run([fiches], out, seed=5)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    run([fiches], out, seed=5)
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_pipeline_interrupted_run_leaves_previous_output_intact(fiches, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run([fiches], out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(state):
        (state.work_dir / "report.html").write_text("half", "utf-8")
        raise KeyboardInterrupt

    stages = [(n, interrupted if n == "report" else f) for n, f in pipeline.STAGES]
    monkeypatch.setattr(pipeline, "STAGES", stages)
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(out), "--quiet"])
    assert result.exit_code == 130
    assert "Error: interrupted; no partial output was left behind" in result.stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_pipeline_refuses_a_folder_that_is_not_a_run(fiches, tmp_path):
    out = tmp_path / "mes_notes"
    out.mkdir()
    (out / "notes.docx").write_bytes(b"precious")
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(out)])
    assert result.exit_code == 5
    assert result.stderr == (f"Error: {out}: the folder exists and does not hold a ptce-nlp run (no run.json); it "
                             "would be replaced: choose another --out or empty it\n")
    assert [p.name for p in out.iterdir()] == ["notes.docx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mes_notes"]


def test_pipeline_replaces_the_outputs_of_ingest(fiches, tmp_path):
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["ingest", str(fiches), "--out", str(out)]).exit_code == 3
    assert sorted(p.name for p in out.iterdir()) == ["documents.csv", "segments.csv"]
    run([fiches], out)
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS


def test_pipeline_refuses_to_write_over_its_inputs(fiches):
    with pytest.raises(OutputError, match=r"the output folder holds the input .*; choose another --out"):
        run([fiches / "ptce_re_sources.txt"], fiches)


def test_pipeline_no_usable_input_writes_nothing(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "vide.txt").write_text("", "utf-8")
    (bad / "x.pdf").write_bytes(b"not a pdf")
    out = tmp_path / "out"
    with pytest.raises(NoUsableInputError) as info:
        run([bad], out)
    assert [f.path for f in info.value.failures] == [str(bad / "vide.txt"), str(bad / "x.pdf")]
    result = CliRunner().invoke(main, ["run", str(bad), "--out", str(out)])
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert lines[-1] == ("Error: no document could be read from 2 inputs; nothing written (the previous output "
                         "folder, if any, is unchanged)")
    assert [line for line in lines if line.startswith("Error: ") and "vide.txt" in line] == [
        f"Error: {info.value.failures[0]}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_cli_run_summary_and_partial_exit_code(fiches, tmp_path):
    out = tmp_path / "res"
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(out), "--seed", "2", "--jobs", "1"])
    assert result.exit_code == 3, result.stderr
    docs = pd.read_csv(out / "documents.csv", keep_default_na=False)
    coded = pd.read_csv(out / "coded_segments.csv", keep_default_na=False)
    n_counted = int((~coded["negated"] & ~coded["contrast"] & ~coded["reported"]).sum())
    sentences = pd.read_csv(out / "coded_sentences.csv", keep_default_na=False)
    n_sentences = int(sentences[["territorialisation", "gouvernance", "valeurs_ess", "discours_cluster"]]
                      .any(axis=1).sum())
    lines = result.stderr.splitlines()
    failure = [line for line in lines if line.startswith("Error: ")]
    assert len(failure) == 1 and "casse.pdf" in failure[0]
    assert lines[-5:] == [
        f"Read 4 document(s), 1 failed: {docs['n_paragraphs'].sum()} paragraphs, {docs['n_sentences'].sum()} "
        "sentences.",
        f"Coded {len(coded)} match(es): {n_counted} counted, {len(coded) - n_counted} negated, contrast or "
        f"reported; {n_sentences} sentence(s) with a category.",
        f"Report: {out / 'report.html'} (open it in a browser); tables and figures in {out}/",
        "1 input(s) failed (listed in the report), the others were analysed:",
        failure[0].replace("Error: ", "  - "),
    ]
    assert json.loads((out / "run.json").read_text("utf-8"))["settings"]["graine (seed)"] == 2


def test_cli_run_quiet_prints_only_errors(fiches, tmp_path):
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ") and "casse.pdf" in lines[0]
    assert lines[1] == "1 input(s) failed (listed in the report), the others were analysed:"


def test_cli_run_bad_codebook_is_one_line_error(fiches, tmp_path):
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(tmp_path / "o"), "--codebook",
                                       str(tmp_path / "nope.yaml")])
    assert result.exit_code == 4
    assert result.stderr.startswith(f"Error: {tmp_path / 'nope.yaml'}: 1 problem in the codebook\n")
    assert not (tmp_path / "o").exists()


def test_cli_version_and_every_help_has_an_example():
    runner = CliRunner()
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"ptce-nlp, version {ptce_nlp.__version__}\n"
    assert "Example" in runner.invoke(main, ["--help"]).output
    for name in main.commands:
        output = runner.invoke(main, [name, "--help"]).output
        assert "Example" in output and "ptce-nlp " + name in output, name
        assert "Exit codes:" in output, name


def test_python_api_mirrors_the_cli():
    assert ptce_nlp.run is run
    assert [name for name, _ in pipeline.STAGES] == ["read", "coding", "topics", "closeness", "profiles", "tables",
                                                     "exports", "figures", "report"]


def test_pipeline_out_must_be_a_folder(fiches, tmp_path):
    out = tmp_path / "out.html"
    out.write_text("x", "utf-8")
    with pytest.raises(OutputError) as info:
        run([fiches], out)
    assert str(info.value) == f"{out}: exists and is not a folder; choose another --out"
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(out)])
    assert result.exit_code == 2 and "is a file" in result.stderr  # click checks it first: a usage error
    assert out.read_text("utf-8") == "x"


def test_importing_the_package_stays_light():
    """`ptce-nlp --help` must not wait for spaCy and matplotlib: the run API is imported on first use."""
    import subprocess
    import sys

    code = ("import sys, ptce_nlp, ptce_nlp.cli; heavy = [m for m in ('spacy', 'matplotlib') if m in sys.modules]; "
            "assert not heavy, heavy; from ptce_nlp import run, write_report; assert 'matplotlib' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- topics and closeness in a run

def test_pipeline_small_corpus_applies_the_reference_model(result):
    res, _ = result
    closeness = res.tables["closeness"].set_index("doc_id")
    scored = closeness.loc[[d for d in FICHES]]
    assert scored["score"].between(-1.1, 1.1).all()
    assert list(res.tables["closeness_poles"].columns[:6]) == ["pole", "pole_type", "n_docs", "score", "score_low",
                                                                "score_high"]
    assert res.tables["topic_selection"].empty  # k was chosen when the reference model was fitted
    assert set(res.tables["topic_terms"]["model"]) == {"lda", "nmf", "seeded"}
    page = lxml.html.fromstring((res.out_dir / "report.html").read_bytes())
    note = page.get_element_by_id("topics-source").text_content()
    assert "les thèmes du modèle de référence fourni avec ptce_nlp (models/reference)" in note
    assert "sans réajustement" in note
    closeness_note = page.get_element_by_id("closeness-source").text_content()
    assert "appliqué sans réajustement" in closeness_note
    assert str(Path(ptce_nlp.__file__).parents[1]) not in note + closeness_note  # no path of this machine
    assert str(Path(ptce_nlp.__file__).parents[1] / "models") not in (res.out_dir / "report.html").read_text("utf-8")


def test_pipeline_writes_pole_profiles_with_the_closeness_score(result):
    from ptce_nlp.profiles import PROFILE_COLUMNS

    res, _ = result
    profiles = pd.read_csv(res.out_dir / "pole_profiles.csv")
    assert list(profiles.columns) == PROFILE_COLUMNS
    closeness = res.tables["closeness_poles"].set_index("pole")
    for row in profiles.itertuples():
        assert row.ess_cluster_score == pytest.approx(closeness.loc[row.pole, "score"], nan_ok=True)
        for axis in ("territorialisation", "governance"):
            score = getattr(row, f"{axis}_score")
            assert (pd.isna(score) and "pas assez d'indices" in row.reason) or -1 <= score <= 1


def test_pipeline_fits_topics_when_the_corpus_is_large_enough(fiches, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MIN_TOPIC_UNITS", 10)
    res = run([fiches], tmp_path / "out", seed=3, stages=[s for s in pipeline.STAGES if s[0] in
                                                             ("read", "coding", "topics")])
    selection = res.tables["topic_selection"]
    assert set(selection["model"]) == {"lda", "nmf"} and selection["chosen"].sum() == 2
    terms = res.tables["topic_terms"]
    for row in selection[selection["chosen"]].itertuples():
        assert terms[terms["model"] == row.model]["topic"].nunique() == row.k


def test_pipeline_fit_without_reference_texts_is_a_clear_error(fiches, tmp_path):
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(tmp_path / "out"), "--fit", "-q"])
    assert result.exit_code == 4
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: reference document(s) ") and "not in the training" in line
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary folder left


def test_pipeline_missing_model_fails_before_reading(fiches, tmp_path):
    result = CliRunner().invoke(main, ["run", str(fiches), "--out", str(tmp_path / "out"), "--model",
                                       str(tmp_path / "nowhere"), "-q"])
    assert result.exit_code == 4
    assert result.output.startswith(f"Error: {tmp_path / 'nowhere'}")
    assert not (tmp_path / "out").exists()
