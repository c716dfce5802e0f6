"""Teaching the learned coder: a researcher's labels (a table, or codings made in a QDA tool) -> a model folder.

``ptce-nlp learn --labels FILE [PATH...]`` reads a CSV or XLSX table with one row per sentence (or short
text) and one 0/1 column per category; ``ptce-nlp learn --from-qdpx PROJECT.qdpx`` reads the codings a
researcher made in NVivo, ATLAS.ti, MAXQDA or QualCoder. Both give a :class:`TrainingSet`, which
:func:`fit_coder` turns into a fitted :class:`~ptce_nlp.classify.HybridCoder` and the training facts of its
model card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .classify import HybridCoder, LearnError, sentence_table, training_hash
from .codebook import Codebook
from .evaluation import CATEGORIES
from .types import Document, Segment

MIN_POSITIVES = 20
#: The code of the sentences to label in the project that ``suggest`` writes.
TO_CODE = "a_coder"
_VALUES = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


@dataclass
class TrainingSet:
    """Sentences with their features (:func:`~ptce_nlp.classify.sentence_table`) and their 0/1 labels."""

    table: pd.DataFrame
    labels: np.ndarray
    source: str
    warnings: list[str] = field(default_factory=list)
    group_ids: Sequence[str] | None = None  # the folds' groups (default: the documents)

    @property
    def groups(self) -> np.ndarray:
        return np.asarray(self.group_ids) if self.group_ids is not None else self.table["doc_id"].to_numpy()


# --------------------------------------------------------------------------- labels tables

def read_labels(path: str | Path) -> pd.DataFrame:
    """A labels table (CSV or XLSX), validated: ``text`` or ``doc_id`` + ``segment_id`` (or ``start_char`` and
    ``end_char``), and one 0/1 column per category. Returns the rows with a ``line`` column (the file's line)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=None,
                                engine="python")
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            raise LearnError(f"{path}: a labels table must be .csv or .xlsx, not {suffix or '(no suffix)'}")
    except LearnError:
        raise
    except FileNotFoundError:
        raise LearnError(f"{path}: file not found") from None
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        raise LearnError(f"{path}: cannot read the table ({exc.__class__.__name__})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in CATEGORIES if c not in frame.columns]
    if missing:
        raise LearnError(f"{path}: no column {', '.join(map(repr, missing))}; a labels table needs one 0/1 column "
                         f"per category ({', '.join(CATEGORIES)}) and a 'text' column or 'doc_id' + 'segment_id'")
    has_text = "text" in frame.columns
    has_ids = "doc_id" in frame.columns and ("segment_id" in frame.columns
                                             or {"start_char", "end_char"} <= set(frame.columns))
    if not has_text and not has_ids:
        raise LearnError(f"{path}: no 'text' column and no 'doc_id' + 'segment_id' columns: say which sentence "
                         "each row labels")
    frame = frame.copy()
    frame["line"] = np.arange(2, len(frame) + 2)
    for c in CATEGORIES:
        values = frame[c].astype(str).str.strip()
        bad = ~values.isin(list(_VALUES))
        if bad.any():
            row = frame[bad].iloc[0]
            raise LearnError(f"{path}: line {row['line']}: column {c!r} holds {row[c]!r}; use 0 or 1 "
                             f"({int(bad.sum())} such cell{'s' if bad.sum() > 1 else ''})")
        frame[c] = values.map(_VALUES).astype(int)
    for c in ("text", "doc_id", "segment_id"):
        if c in frame.columns:
            frame[c] = frame[c].astype(str)
    if has_text:
        empty = frame["text"].str.strip() == ""
        if has_ids:
            empty &= frame["doc_id"].str.strip() == ""
        if empty.any():
            raise LearnError(f"{path}: line {frame[empty].iloc[0]['line']}: no text and no sentence id")
    return frame


def _check_positives(labels: np.ndarray, source: str) -> None:
    for j, c in enumerate(CATEGORIES):
        pos = int(labels[:, j].sum()) if len(labels) else 0
        neg = len(labels) - pos
        if pos < MIN_POSITIVES or neg < MIN_POSITIVES:
            which, k = ("labelled 1", pos) if pos < MIN_POSITIVES else ("labelled 0", neg)
            raise LearnError(f"{source}: only {k} sentence{'s' if k != 1 else ''} {which} for {c!r} (at least "
                             f"{MIN_POSITIVES} are needed to learn it); label more sentences, for instance those "
                             "that `ptce-nlp suggest` picks")


def _code(documents: Sequence[Document], codebook: Codebook, *, cache_dir, use_cache: bool, jobs: int = 1):
    from .analysis import code_documents

    return code_documents(documents, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)


def _whole_text_units(result) -> None:
    """Make each document one unit (a labels row given as text labels the whole text)."""
    for p in result.parsed:
        text = p.document.text
        p.segments = [Segment(p.document.doc_id, "t", "sentence", 0, len(text), text)]
    if len(result.coded):
        result.coded["segment_id"] = "t"


def training_set_from_labels(path: str | Path, documents: Sequence[Document] = (), *, codebook: Codebook,
                             cache_dir=None, use_cache: bool = True, jobs: int = 1) -> TrainingSet:
    """The training set of a labels table; rows given by id are looked up among ``documents``' sentences."""
    path = Path(path)
    labels = read_labels(path)
    tables, ys = [], []
    by_text = labels[labels["text"].str.strip() != ""] if "text" in labels.columns else labels.iloc[:0]
    by_id = labels.drop(by_text.index)
    if len(by_text):
        docs = [Document(f"ligne_{line}", text, "table") for line, text in zip(by_text["line"], by_text["text"])]
        result = _code(docs, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)
        _whole_text_units(result)
        tables.append(sentence_table(result.parsed, result.coded))
        ys.append(by_text[list(CATEGORIES)].to_numpy())
    if len(by_id):
        if not documents:
            raise LearnError(f"{path}: rows name sentences by doc_id (line {by_id['line'].iloc[0]}); give the "
                             "documents they come from as PATH arguments")
        result = _code(documents, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)
        table = sentence_table(result.parsed, result.coded)
        key = ["doc_id", "segment_id"] if "segment_id" in by_id.columns else ["doc_id", "start_char", "end_char"]
        wanted = by_id[key + ["line", *CATEGORIES]].copy()
        if "start_char" in key:
            for c in ("start_char", "end_char"):
                wanted[c] = pd.to_numeric(wanted[c], errors="coerce")
        merged = wanted.merge(table, on=key, how="left", indicator=True)
        lost = merged[merged["_merge"] == "left_only"]
        if len(lost):
            row = lost.iloc[0]
            raise LearnError(f"{path}: line {row['line']}: no sentence {' '.join(str(row[k]) for k in key)} in the "
                             f"documents given ({len(lost)} such row{'s' if len(lost) > 1 else ''}); ids are those "
                             "of segments.csv")
        tables.append(merged[table.columns])
        ys.append(merged[list(CATEGORIES)].to_numpy())
    table = pd.concat(tables, ignore_index=True)
    y = np.vstack(ys).astype(int)
    _check_positives(y, str(path))
    return TrainingSet(table, y, str(path))


# --------------------------------------------------------------------------- QDA projects

def training_set_from_qdpx(path: str | Path, *, codebook: Codebook, cache_dir=None, use_cache: bool = True,
                           jobs: int = 1) -> TrainingSet:
    """The training set of a QDA project's codings (REFI-QDA ``.qdpx``).

    The sentences labelled are those the project marks « À coder » (a project written by ``ptce-nlp
    suggest``), else every sentence of a document holding at least one coding of the four categories. A
    sentence is positive for a category when a coding of one of the category's codes overlaps it. Codes are
    recognised through ``codebook`` (by GUID, then by name) or by the toolkit's ids they carry; codings of
    codes outside the four categories are left out.
    """
    from .export.qdpx import read_qdpx

    path = Path(path)
    project = read_qdpx(path, codebook=codebook)
    coded = project.coded
    scope = coded[coded["code_id"] == TO_CODE] if len(coded) else coded
    coded = coded[coded["category"].isin(CATEGORIES)] if len(coded) else coded
    if not len(coded) and not len(scope):
        raise LearnError(f"{path}: the project holds no coding of a code of the four categories "
                         f"({', '.join(CATEGORIES)}); code sentences in the QDA tool with the codebook's codes "
                         "(export it with `ptce-nlp export --format qdc`) and export the project again")
    kept = set(scope["doc_id"]) if len(scope) else set(coded["doc_id"])
    documents = [d for d in project.documents if d.doc_id in kept]
    result = _code(documents, codebook, cache_dir=cache_dir, use_cache=use_cache, jobs=jobs)
    table = sentence_table(result.parsed, result.coded)
    y = np.zeros((len(table), len(CATEGORIES)), dtype=int)
    in_scope = np.ones(len(table), dtype=bool) if not len(scope) else np.zeros(len(table), dtype=bool)
    for i, row in enumerate(table[["doc_id", "start_char", "end_char"]].itertuples(index=False)):
        doc_id, a, b = row
        mine = coded[coded["doc_id"] == doc_id]
        hits = mine[(mine["start_char"] < b) & (mine["end_char"] > a)]
        for category in set(hits["category"]):
            y[i, CATEGORIES.index(category)] = 1
        if len(scope):
            marks = scope[scope["doc_id"] == doc_id]
            in_scope[i] = bool(((marks["start_char"] < b) & (marks["end_char"] > a)).any())
    table, y = table[in_scope].reset_index(drop=True), y[in_scope]
    _check_positives(y, str(path))
    return TrainingSet(table, y, str(path), list(project.warnings))


# --------------------------------------------------------------------------- fitting

def cross_validated_f1(training: TrainingSet, coder: HybridCoder) -> dict:
    """F1 per category of the out-of-fold decisions of a fitted coder (folds grouped by document),
    beside the lexicon's F1 on the same sentences."""
    from sklearn.metrics import f1_score

    out = {}
    for j, c in enumerate(CATEGORIES):
        y = training.labels[:, j]
        learned = (coder.oof_proba_[:, j] >= coder.thresholds_[j]).astype(int)
        lexicon = training.table[f"lex_{c}"].to_numpy()
        out[c] = {"hybrid_f1": round(float(f1_score(y, learned)), 4),
                  "lexicon_f1": round(float(f1_score(y, lexicon)), 4), "positives": int(y.sum())}
    return out


def fit_coder(training: TrainingSet, **params) -> tuple[HybridCoder, dict]:
    """Fit a :class:`HybridCoder` on a training set; returns it with the facts for its model card."""
    coder = HybridCoder(**params).fit(training.table, training.labels, groups=training.groups)
    facts = {"source": Path(training.source).name, "sentences": int(len(training.table)),
             "documents": int(training.table["doc_id"].nunique()), "groups": int(len(set(training.groups))),
             "data_sha256": training_hash(training.table, training.labels),
             "cross_validation": {"folds": coder.cv, "grouped_by": "document",
                                  "scores": cross_validated_f1(training, coder)}}
    return coder, facts


# --------------------------------------------------------------------------- writing a model folder

def save_learned(path: str | Path, coder: HybridCoder, facts: dict, *, codebook_name: str = "") -> Path:
    """Write a learned-coder folder: its three files replace the old ones together, or none does.

    ``path`` must be new, empty, or an earlier learned-coder folder (nothing else is ever overwritten).
    """
    from .classify import CARD, save_coder
    from .errors import OutputError
    from .io import all_or_nothing

    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{path}: exists and is not a folder; choose another --out")
        names = {p.name for p in path.iterdir()}
        card = path / CARD
        is_coder = card.is_file() and "learned sentence coder" in card.read_text("utf-8", errors="replace")[:500]
        if names and not is_coder:
            raise OutputError(f"{path}: the folder holds other files (not a learned-coder folder); choose a new "
                              "or empty --out")
    with all_or_nothing():
        save_coder(path, coder, codebook_name=codebook_name, training=facts)
    return path


# --------------------------------------------------------------------------- active learning: the files to code

SUGGEST_COLUMNS = ["doc_id", "segment_id", "start_char", "end_char", "text", *CATEGORIES]


def suggestions_table(table: pd.DataFrame, picks: np.ndarray) -> pd.DataFrame:
    """The sentences picked, as a labels table to fill in (one empty 0/1 column per category)."""
    frame = table.iloc[picks][["doc_id", "segment_id", "start_char", "end_char", "text"]].reset_index(drop=True)
    for c in CATEGORIES:
        frame[c] = ""
    return frame[SUGGEST_COLUMNS]


def suggestion_codebook(codebook: Codebook) -> Codebook:
    """The codebook plus a top-level code « À coder » marking the sentences to label in the QDA tool."""
    data = codebook.to_dict()
    data["codes"] = [c for c in data["codes"] if c.get("id") != TO_CODE] + [{
        "id": TO_CODE, "label": "À coder", "color": "#FDD835",
        "description": "Phrase choisie par ptce-nlp suggest : codez-la avec les codes des quatre catégories (ou "
                       "aucun), puis exportez le projet et lancez ptce-nlp learn --from-qdpx.",
        "surface": ["à coder"]}]
    return Codebook.from_dict(data, source=codebook.source, check_lemmas=False)


def write_suggestions(documents: Sequence[Document], suggestions: pd.DataFrame, codebook: Codebook,
                      xlsx_path: str | Path) -> tuple[Path, Path]:
    """Write the suggested sentences as an XLSX labels table and as a ``.qdpx`` project (same name) whose
    sentences to label carry the code « À coder ». Both files are written together, or neither."""
    from .export import write_qdpx, write_xlsx
    from .io import all_or_nothing

    xlsx_path = Path(xlsx_path)
    qdpx_path = xlsx_path.with_suffix(".qdpx")
    wanted = set(suggestions["doc_id"])
    docs = [d for d in documents if d.doc_id in wanted]
    coded = pd.DataFrame({"doc_id": suggestions["doc_id"], "segment_id": suggestions["segment_id"],
                          "code_id": TO_CODE, "category": TO_CODE, "term": "à coder",
                          "start_char": suggestions["start_char"], "end_char": suggestions["end_char"],
                          "text": suggestions["text"], "negated": False, "contrast": False})
    with all_or_nothing():
        write_xlsx({"a_coder": suggestions}, xlsx_path)
        write_qdpx(docs, coded, suggestion_codebook(codebook), qdpx_path, name="ptce_nlp : phrases à coder")
    return xlsx_path, qdpx_path
