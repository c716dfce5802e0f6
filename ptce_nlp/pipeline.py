"""The main job: read, code, (topics, closeness, exports), figures and report, in one go.

:func:`run` is the library behind ``ptce-nlp run``. It runs the stages of
:data:`STAGES` in order on a :class:`RunState`, writing every output into a
temporary folder next to ``out_dir``; only when all stages succeeded is that
folder swapped in place of ``out_dir``. An existing output folder is thus
replaced as a whole (old and new results never mix) and an interrupted or
failed run leaves the previous one intact. Because the folder is replaced,
it may not hold any input (files, manifest, codebook, model, cache folder)
nor lie inside an input folder: :func:`ptce_nlp.io.check_outputs` refuses
it before anything is read.

Each stage is a function ``stage(state) -> None`` that reads what earlier
stages put in the state and adds tables (``state.tables[name] = frame``, a
CSV name without ``.csv``) or files (``state.written``). Every table in
``state.tables`` is written as ``<name>.csv`` by the ``tables`` stage and
handed to the report.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ._lazy import LazyModule
from .codebook import SHIPPED, Codebook
from .errors import OutputError, PtceError
from .io import _umask, atomic_write, check_outputs, write_csv
from .readers import MAX_FILE_MB
from .types import Document, ReadFailure

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)

#: ``progress(stage, done, total, failure)``: ``total`` is None when unknown; ``failure`` is set when an
#: input file could not be read (stage ``read``).
Progress = Callable[[str, int, "int | None", "ReadFailure | None"], None]

#: The marker of an output folder written by :func:`run` (settings, versions and counts of the run).
RUN_RECORD = "run.json"
#: Files that earlier ``ingest`` / ``code`` commands write: a folder holding only these may be replaced.
_EARLIER_OUTPUTS = {"documents.csv", "segments.csv", "coded_segments.csv", "code_counts.csv"}


class NoUsableInputError(PtceError):
    """Not one document could be read: nothing is written, the previous output is kept."""

    def __init__(self, failures: Sequence[ReadFailure]) -> None:
        self.failures = list(failures)
        n = len(self.failures)
        super().__init__(f"no document could be read from {n} input{'s' if n != 1 else ''}; nothing written "
                         "(the previous output folder, if any, is unchanged)")


@dataclass
class RunState:
    """What the stages share: inputs, options, and the results built so far."""

    paths: list[Path]
    work_dir: Path
    codebook: Codebook
    jobs: int = 1
    seed: int = 0
    cache_dir: Path | None = None
    use_cache: bool = True
    accent_insensitive: bool = False
    max_file_mb: float = MAX_FILE_MB
    allow_outside: bool = False
    count_reported: bool = False
    coder: object | None = None  # classify.HybridCoder, or None for lexicon-only coding
    progress: Progress | None = None
    documents: list[Document] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)
    coding: object | None = None  # analysis.CodingResult
    model_dir: Path | None = None  # a saved model (default: REFERENCE_MODEL)
    fit: bool = False  # fit the closeness model on the corpus instead of applying the saved one
    saved_model: object | None = None  # models.SavedModel, loaded on first use
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    settings: dict[str, object] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def report(self, stage: str, done: int, total: int | None = None, failure: ReadFailure | None = None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total, failure)


@dataclass
class RunResult:
    """The outcome of :func:`run`: where things are, and the tables as DataFrames."""

    out_dir: Path
    report_path: Path
    documents: list[Document]
    failures: list[ReadFailure]
    tables: dict[str, pd.DataFrame]
    files: list[Path]
    stats: dict[str, int]
    coding: object | None = None  # analysis.CodingResult (parsed documents, coded, counts)


# --------------------------------------------------------------------------- stages

def stage_read(state: RunState) -> None:
    """Read, clean and segment the inputs: ``documents`` and ``segments`` tables."""
    from .corpus import find_sources
    from .ingest import ingest

    sources, _ = find_sources(state.paths, allow_outside=state.allow_outside)
    total = len(sources)
    to_read = {str(s.path) for s in sources}
    done = 0

    def progress(path: str, failure: ReadFailure | None) -> None:
        nonlocal done
        if failure is None or path in to_read:  # not the manifest rows pointing nowhere
            done += 1
        state.report("read", done, total, failure)

    from .cache import default_cache_dir

    cache_dir = (state.cache_dir or default_cache_dir()) if state.use_cache else None
    result = ingest(state.paths, max_file_mb=state.max_file_mb, progress=progress, cache_dir=cache_dir,
                    allow_outside=state.allow_outside)
    state.documents, state.failures = result.documents, result.failures
    if not state.documents:
        raise NoUsableInputError(state.failures)
    state.tables["documents"] = result.documents_table
    state.tables["segments"] = result.segments_table
    state.stats.update(documents=len(result.documents), failed=len(result.failures),
                       paragraphs=int((result.segments_table["kind"] == "paragraph").sum()),
                       sentences=int((result.segments_table["kind"] == "sentence").sum()))


def stage_coding(state: RunState) -> None:
    """Parse (through the cache) and code: ``coded_segments`` and ``code_counts`` tables."""
    from .analysis import code_documents

    total = len(state.documents)
    state.report("coding", 0, total)
    from .analysis import scored_mask
    from .cache import default_cache_dir
    from .classify import hybrid_sentences

    result = code_documents(state.documents, state.codebook, cache_dir=state.cache_dir, use_cache=state.use_cache,
                            jobs=state.jobs, accent_insensitive=state.accent_insensitive,
                            count_reported=state.count_reported,
                            progress=lambda done: state.report("coding", done, total))
    state.coding = result
    state.tables["coded_segments"] = result.coded
    state.tables["code_counts"] = result.counts
    sentences = hybrid_sentences(result.parsed, result.coded, state.coder, stats=result.stats,
                                 cache_dir=(state.cache_dir or default_cache_dir()) if state.use_cache else None)
    state.tables["coded_sentences"] = sentences
    coded = result.coded
    counted = int(scored_mask(coded, count_reported=state.count_reported).sum()) if len(coded) else 0
    state.stats.update(matches=len(coded), counted=counted, parsed=int(result.stats.get("parsed", 0)),
                       cached=int(result.stats.get("cached", 0)),
                       sentences_coded=int(sentences[[c for c in CATEGORY_IDS]].any(axis=1).sum()))
    if result.stats.get("damaged"):  # damaged cache entries, read or parsed again: said only when there are some
        state.stats["damaged"] = int(result.stats["damaged"])


#: The reference model shipped with the toolkit (fitted on the bundled corpus by ``make model``).
REFERENCE_MODEL = Path(__file__).resolve().parents[1] / "models" / "reference"
#: The learned sentence coder shipped with the toolkit (trained on the labelled set by ``make model``).
CODER_MODEL = Path(__file__).resolve().parents[1] / "models" / "coder"
#: The four categories of ``coded_sentences``.
CATEGORY_IDS = ("territorialisation", "gouvernance", "valeurs_ess", "discours_cluster")
CODERS = ("hybrid", "lexicon")


def load_sentence_coder(coder: str = "hybrid", coder_model: str | Path | None = None):
    """The learned coder of a run: ``None`` for ``coder="lexicon"``, else the folder given or the shipped one."""
    from .classify import CoderModelError, load_coder

    if coder not in CODERS:
        raise CoderModelError(f"unknown coder {coder!r}; use one of {', '.join(CODERS)}")
    if coder == "lexicon":
        return None
    return load_coder(coder_model or CODER_MODEL)
#: Fewer paragraphs than this: the topics of the saved model are applied instead of fitting new ones.
MIN_TOPIC_UNITS = 120
TOPIC_UNIT = "paragraph"


def _saved_model(state: RunState):
    """The saved model of the run (``--model``, else the reference model), loaded once."""
    from .models import load_model

    if state.saved_model is None:
        state.saved_model = load_model(state.model_dir or REFERENCE_MODEL)
    return state.saved_model


def _model_name(state: RunState) -> str:
    """How the report names the saved model: the folder as the user gave it, or the shipped reference model
    (never an absolute path of the machine that ran it)."""
    if state.model_dir is None:
        return "de référence fourni avec ptce_nlp (models/reference)"
    return f"« {state.model_dir} »"


def _coding_for(state: RunState, codebook: Codebook):
    """The run's coding under ``codebook``: the same one when the codebooks agree, else a recoding of the parses."""
    from .analysis import CodingResult, code_parsed

    if codebook.matching_dict() == state.codebook.matching_dict():
        return state.coding
    coded, counts = code_parsed(state.coding.parsed, codebook, accent_insensitive=state.accent_insensitive)
    return CodingResult(state.coding.parsed, coded, counts, dict(state.coding.stats))


def stage_topics(state: RunState) -> None:
    """Topic models on paragraphs: fitted on the corpus when it is large enough, else the saved model's applied."""
    from .features import extract_units
    from .topics import apply_topics, fit_topics

    state.report("topics", 0, 1)
    units = extract_units(state.coding.parsed, state.coding.coded, state.codebook, unit=TOPIC_UNIT,
                          count_reported=state.count_reported)
    n = len(units)
    if n >= MIN_TOPIC_UNITS:
        k_max = max(4, min(12, n // 15))
        result = fit_topics(units, state.codebook, ks=range(4, k_max + 1), random_state=state.seed)
        ks = ", ".join(f"{name} k={model.n_topics}" for name, model in result.models.items())
        state.settings["topics"] = (f"Thèmes ajustés sur ce corpus : {n} paragraphes, k choisi entre 4 et {k_max} "
                                    f"({ks}).")
    else:
        saved = _saved_model(state)
        coding = _coding_for(state, saved.codebook)
        unit = (saved.card.get("topics") or {}).get("params", {}).get("unit", TOPIC_UNIT)
        units = extract_units(coding.parsed, coding.coded, saved.codebook, unit=unit,
                              count_reported=state.count_reported)
        result = apply_topics(saved.topics, saved.topics_vocabulary, units, saved.codebook)
        state.settings["topics"] = (f"Ce corpus n'a que {n} paragraphes (moins de {MIN_TOPIC_UNITS}) : les thèmes "
                                    f"du modèle {_model_name(state)} sont appliqués, sans réajustement.")
    state.tables.update(result.tables)
    state.report("topics", 1, 1)


def stage_closeness(state: RunState) -> None:
    """Closeness scores: the saved model applied (default), or a model fitted on the corpus (``fit``)."""
    from .closeness import ClosenessModel, closeness_tables
    from .features import extract_units

    state.report("closeness", 0, 1)
    if state.fit:
        units = extract_units(state.coding.parsed, state.coding.coded, state.codebook, unit="sentence",
                              count_reported=state.count_reported)
        model = ClosenessModel(random_state=state.seed).fit(units, codebook=state.codebook)
        state.settings["closeness"] = ("Scores de proximité d'un modèle ajusté sur ce corpus (--fit), ancré sur "
                                       "ses textes de référence.")
    else:
        saved = _saved_model(state)
        coding = _coding_for(state, saved.codebook)
        model = saved.closeness
        units = extract_units(coding.parsed, coding.coded, saved.codebook, unit=model.unit_,
                              count_reported=state.count_reported)
        state.settings["closeness"] = (f"Scores de proximité du modèle {_model_name(state)} (ajusté le "
                                       f"{saved.card.get('created', '?')}), appliqué sans réajustement.")
    state.tables.update(closeness_tables(model, units))
    state.report("closeness", 1, 1)


def stage_profiles(state: RunState) -> None:
    """The three-axis profile of each pole (``pole_profiles``) and its référentiel evidence (``pole_referentiel``)."""
    from .profiles import profile_tables

    state.report("profiles", 0, 1)
    state.tables.update(profile_tables(state.coding.parsed, state.coding.coded, state.codebook,
                                       state.tables.get("closeness_poles"), seed=state.seed,
                                       accent_insensitive=state.accent_insensitive,
                                       count_reported=state.count_reported))
    state.report("profiles", 1, 1)


def stage_tables(state: RunState) -> None:
    """Write every table of the state as ``<name>.csv``."""
    names = list(state.tables)
    for i, name in enumerate(names, start=1):
        state.written.append(write_csv(state.tables[name], state.work_dir / f"{name}.csv"))
        state.report("tables", i, len(names))


#: Files of the exports stage, in ``DIR``.
EXPORT_FILES = {"qdpx": "ptce.qdpx", "qdc": "codebook.qdc", "xlsx": "ptce.xlsx", "iramuteq": "corpus_iramuteq.txt",
                "jsonl": "coded_segments.jsonl"}


def stage_exports(state: RunState) -> None:
    """QDA tools and other software: REFI-QDA project and codebook, XLSX workbook, IRaMuTeQ corpus, JSONL."""
    from .export import write_iramuteq, write_jsonl, write_qdc, write_qdpx, write_xlsx

    work, coded = state.work_dir, state.tables["coded_segments"]
    steps = [
        lambda: write_qdpx(state.documents, coded, state.codebook, work / EXPORT_FILES["qdpx"]),
        lambda: write_qdc(state.codebook, work / EXPORT_FILES["qdc"]),
        lambda: write_xlsx({k: v for k, v in state.tables.items() if k != "segments"}, work / EXPORT_FILES["xlsx"]),
        lambda: write_iramuteq(state.documents, work / EXPORT_FILES["iramuteq"]),
        lambda: write_jsonl(coded, work / EXPORT_FILES["jsonl"]),
    ]
    for i, step in enumerate(steps, start=1):
        state.written.append(Path(step()))
        state.report("exports", i, len(steps))


def stage_figures(state: RunState) -> None:
    """Figures for papers (PNG and SVG) in ``figures/``."""
    from .report import write_figures

    state.report("figures", 0, None)
    state.figures = write_figures(state.tables, state.work_dir / "figures", codebook=state.codebook,
                                  progress=lambda done, total: state.report("figures", done, total))
    state.written.extend(state.figures)


def stage_report(state: RunState) -> None:
    """The self-contained HTML report, and ``run.json`` (settings, versions, counts)."""
    from .report import write_report
    from .report.html import report_versions

    state.report("report", 0, 1)
    path = write_report(state.tables, state.work_dir / "report.html", codebook=state.codebook,
                        documents=state.documents, settings=state.settings, failures=state.failures)
    record = {"settings": {k: v for k, v in state.settings.items()}, "versions": report_versions(),
              "stats": state.stats, "failures": [{"path": f.path, "reason": f.reason} for f in state.failures]}
    with atomic_write(state.work_dir / RUN_RECORD, newline="\n") as fh:
        json.dump(record, fh, ensure_ascii=False, indent=2, default=str)
        fh.write("\n")
    state.written += [path, state.work_dir / RUN_RECORD]
    state.report("report", 1, 1)


#: The stages of :func:`run`, in order: ``(name, function)``.
#:
#: Merge points (the lead plugs the other stages here; no placeholder output is written for them):
#:
#: - after ``coding``: ``("topics", stage_topics)`` (issue 4) adding the ``topic_terms``, ``topic_shares``,
#:   ``topic_selection``, ``topic_segments`` and ``topic_seeds`` tables, then ``("closeness", stage_closeness)``
#:   adding ``closeness``, ``closeness_poles`` and ``closeness_agreement``. The ``tables`` stage writes them
#:   and the report shows them (its sections already read those contract columns).
#: - after ``tables``: ``("exports", stage_exports)`` (issue 5) writing ptce.qdpx, codebook.qdc, the XLSX
#:   workbook and the IRaMuTeQ corpus into ``state.work_dir`` and appending the paths to ``state.written``.
STAGES: list[tuple[str, Callable[[RunState], None]]] = [
    ("read", stage_read),
    ("coding", stage_coding),
    ("topics", stage_topics),
    ("closeness", stage_closeness),
    ("profiles", stage_profiles),
    ("tables", stage_tables),
    ("exports", stage_exports),
    ("figures", stage_figures),
    ("report", stage_report),
]
#: French labels of the stages, for progress displays.
STAGE_LABELS = {"read": "Lecture des documents", "coding": "Analyse et codage", "topics": "Thèmes",
                "closeness": "Proximité ESS-cluster", "profiles": "Profils des pôles", "tables": "Tables",
                "exports": "Exports",
                "figures": "Figures", "report": "Rapport"}


# --------------------------------------------------------------------------- run

def load_codebook(spec: Codebook | str | Path) -> Codebook:
    """A codebook object, the name of a shipped one (``ptce``, ``referentiel``) or a YAML path."""
    if isinstance(spec, Codebook):
        return spec
    if isinstance(spec, str) and spec in SHIPPED:
        return Codebook.shipped(spec)
    return Codebook.from_yaml(Path(spec))


def run(paths: str | Path | Iterable[str | Path], out_dir: str | Path, *, codebook: Codebook | str | Path = "ptce",
        jobs: int = 1, seed: int = 0, cache_dir: str | Path | None = None, use_cache: bool = True,
        accent_insensitive: bool = False, max_file_mb: float = MAX_FILE_MB, progress: Progress | None = None,
        model: str | Path | None = None, fit: bool = False, allow_outside: bool = False,
        coder: str = "hybrid", coder_model: str | Path | None = None, count_reported: bool = False,
        stages: Sequence[tuple[str, Callable[[RunState], None]]] | None = None) -> RunResult:
    """Run the whole analysis on files, folders or manifests and write it into ``out_dir``.

    Parameters
    ----------
    paths : path or iterable of paths
        Inputs, as for :func:`ptce_nlp.ingest`.
    out_dir : path
        Output folder. It is replaced as a whole at the end of a successful
        run; an existing folder must be empty, hold an earlier run (its
        ``run.json``) or only the CSV files of ``ingest``/``code``. It may
        not hold an input (file, folder, manifest, codebook file, ``model``,
        ``cache_dir``) nor lie inside an input folder.
    codebook : Codebook, str or path
        The codebook, or a shipped codebook's name, or a YAML file.
    jobs : int
        Processes for spaCy parsing.
    seed : int
        Seed of every random step (topics, bootstrap), for reproducible runs.
    cache_dir, use_cache : optional
        Parse cache (default: the per-user cache).
    accent_insensitive : bool
        Match codebook lemmas without regard to accents.
    max_file_mb : float
        Size limit of one input file.
    progress : callable, optional
        ``progress(stage, done, total, failure)``, see :data:`Progress`.
    model : path, optional
        A saved model folder for closeness (and for topics when the corpus is
        too small to fit them); default :data:`REFERENCE_MODEL`.
    fit : bool
        Fit the closeness model on the given corpus (it must hold the two
        reference texts) instead of applying the saved one.
    allow_outside : bool
        Read manifest rows and folder links that point outside their corpus
        folder (by default each is a failure, see :func:`ptce_nlp.corpus.find_sources`).
    coder : {"hybrid", "lexicon"}
        ``coded_sentences``: the lexicon and the learned coder (default), or the lexicon alone.
    coder_model : path, optional
        A learned-coder folder (``ptce-nlp learn``); default :data:`CODER_MODEL`.
    count_reported : bool
        Count reported (cited, attributed) matches in counts, topics and scores (left out by default).
    stages : sequence, optional
        The stages to run (default :data:`STAGES`).

    Returns
    -------
    RunResult
        Tables as DataFrames, documents, failures, files written (at their
        final place) and counts.

    Raises
    ------
    NoUsableInputError
        When no input could be read (nothing written).
    PathConflictError
        When ``out_dir`` is, holds or lies inside an input (nothing read nor written).
    OutputError
        When ``out_dir`` cannot be written (full disk...) or holds files of something else.
    ManifestError, CodebookError, ModelError
        Invalid manifest, codebook or saved model (checked before anything is read).

    Examples
    --------
    >>> result = run("corpus", "out", seed=0)             # doctest: +SKIP
    >>> result.tables["code_counts"].head()
    >>> result.report_path
    PosixPath('out/report.html')
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    out = Path(out_dir)
    book = load_codebook(codebook)
    _check_out_dir(out, paths, allow_outside=allow_outside,
                   others=[("codebook", _codebook_file(codebook, book)), ("model", model), ("cache folder", cache_dir),
                           ("coder model", coder_model)])
    sentence_coder = load_sentence_coder(coder, coder_model)  # a missing or damaged model fails before any work
    settings = {"entrées": [str(p) for p in paths], "sortie": str(out), "graine (seed)": seed,
                "processus (jobs)": jobs, "lemmes sans accents": accent_insensitive,
                "taille maximale d'un fichier (Mo)": max_file_mb,
                "cache d'analyse": "désactivé" if not use_cache else str(cache_dir or "par défaut"),
                "modèle": ("ajusté sur ce corpus (--fit)" if fit
                           else str(model) if model else "models/reference (fourni avec ptce_nlp)"),
                "codeur des phrases": ("lexique seul" if sentence_coder is None else
                                       f"hybride : lexique et modèle appris {coder_model}" if coder_model else
                                       "hybride : lexique et modèle appris models/coder (fourni avec ptce_nlp)"),
                "discours rapporté compté": count_reported}
    work = _make_work_dir(out)
    state = RunState(paths, work, book, jobs=jobs, seed=seed, cache_dir=Path(cache_dir) if cache_dir else None,
                     use_cache=use_cache, accent_insensitive=accent_insensitive, max_file_mb=max_file_mb,
                     allow_outside=allow_outside, count_reported=count_reported, coder=sentence_coder,
                     progress=progress, settings=settings,
                     model_dir=Path(model) if model else None, fit=fit)
    try:
        if not fit and (stages is None or any(name in ("topics", "closeness") for name, _ in stages)):
            _saved_model(state)  # a missing or damaged model fails now, before any work
        for _, stage in (STAGES if stages is None else stages):
            stage(state)
        _swap_in(work, out)
    except OutputError as exc:  # a full disk...: named at the place the user knows, not the temporary folder
        shutil.rmtree(work, ignore_errors=True)
        if str(work) not in str(exc):
            raise
        raise OutputError(str(exc).replace(str(work), str(out))) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = [out / p.relative_to(work) for p in state.written]
    return RunResult(out, out / "report.html", state.documents, state.failures, state.tables, files, state.stats,
                     state.coding)


def _codebook_file(spec: Codebook | str | Path, book: Codebook) -> Path | None:
    """The file the codebook was read from, if any (not a shipped codebook)."""
    if isinstance(spec, (str, Path)):
        return None if isinstance(spec, str) and spec in SHIPPED else Path(spec)
    source = Path(book.source) if book.source else None
    return source if source is not None and source.is_file() and book.source not in SHIPPED.values() else None


def _check_out_dir(out: Path, inputs: Sequence[Path], *, allow_outside: bool = False,
                   others: Sequence[tuple[str, str | Path | None]] = ()) -> None:
    from .corpus import find_sources, input_paths

    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; choose another --out")
    sources, _ = find_sources(inputs, allow_outside=allow_outside)
    check_outputs([("--out", out, "folder")], [*input_paths(inputs, sources), *others])
    if out.is_dir():
        try:
            entries = {p.name for p in out.iterdir()}
        except OSError as exc:
            raise OutputError(f"{out}: cannot read the output folder ({exc.strerror or exc})") from None
        if entries and RUN_RECORD not in entries and not entries <= _EARLIER_OUTPUTS:
            raise OutputError(f"{out}: the folder exists and does not hold a ptce-nlp run (no {RUN_RECORD}); "
                              "it would be replaced: choose another --out or empty it")


def _make_work_dir(out: Path) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes it private; the output folder should not be
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror or exc})") from None
    return work


def _swap_in(work: Path, out: Path) -> None:
    """Put ``work`` in place of ``out``; on any failure or interruption ``out`` is as before."""
    old = None
    try:
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            os.rename(out, old)
        try:
            os.rename(work, out)
        except BaseException:
            if old is not None:
                os.rename(old, out)
                old = None
            raise
    except OSError as exc:
        raise OutputError(f"{out}: cannot replace the output folder ({exc.strerror or exc})") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
