"""Agreement between two codings of the same texts (automatic vs human, or two humans).

Units are the *sentences* of the source texts (``segment_document``): a code
is present in a sentence when a coded span of that code overlaps it, so two
selections that differ by a few characters still agree. With
``unit="segment"`` the units are instead the stretches of text coded by
either side (overlapping spans of both codings merged, whatever their code).

For each code (or category, ``level="category"``) the two codings give two
binary vectors over the units; :func:`compare_codings` reports, per code and
pooled over all codes (``(ensemble)``: every unit x code decision):

- percent agreement;
- Cohen's kappa, ``(p_o - p_e) / (1 - p_e)`` (Cohen 1960);
- Krippendorff's alpha for nominal data, ``1 - D_o / D_e`` computed from the
  coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
  Alpha-Reliability"); it corrects for small samples and accepts missing
  values and more than two coders.

Both are NaN when undefined (a code neither side ever used: no variation).
A confusion table crosses, over the units, the codes of the first coding
(rows) with those of the second (columns), ``(aucun)`` standing for a unit
without any code, so that a code of one side systematically met by another
code of the other side shows.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import InputFileError, PtceError, TableRowError
from .segment import segment_document
from .types import Document

OVERALL = "(ensemble)"
NONE_LABEL = "(aucun)"
UNIT_COLUMNS = ["doc_id", "unit_id", "start_char", "end_char"]
AGREEMENT_COLUMNS = ["code", "n_units", "n_both", "n_only_a", "n_only_b", "n_neither", "percent_agreement",
                     "kappa", "alpha"]


class AgreementError(PtceError):
    """The two codings cannot be compared (no common unit, bad arguments)."""


# --------------------------------------------------------------------------- coefficients

def percent_agreement(a: Sequence, b: Sequence) -> float:
    """Share of units on which two coders give the same value.

    Examples
    --------
    >>> percent_agreement([1, 1, 0, 0], [1, 0, 0, 0])
    0.75
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise AgreementError(f"the two codings have {len(a)} and {len(b)} units")
    if not a:
        return math.nan
    return sum(x == y for x, y in zip(a, b)) / len(a)


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two coders over the same units (nominal values).

    NaN when the chance agreement is 1 (both coders always give one same value).

    Examples
    --------
    Wikipedia's worked example (50 proposals; yes/yes 20, yes/no 5, no/yes
    10, no/no 15): ``p_o = 0.7``, ``p_e = 0.5``, kappa 0.4.

    >>> a = ["y"] * 25 + ["n"] * 25
    >>> b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    >>> round(cohen_kappa(a, b), 6)
    0.4
    """
    a, b = list(a), list(b)
    po = percent_agreement(a, b)
    if not a:
        return math.nan
    n = len(a)
    labels = set(a) | set(b)
    pe = sum((a.count(v) / n) * (b.count(v) / n) for v in labels)
    if math.isclose(pe, 1.0):
        return math.nan
    return (po - pe) / (1 - pe)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def krippendorff_alpha(reliability_data: Sequence[Sequence]) -> float:
    """Krippendorff's alpha for nominal data.

    Parameters
    ----------
    reliability_data : sequence of sequences, shape (n_coders, n_units)
        One row per coder, one column per unit; ``None`` or NaN for a
        missing value. Units with fewer than two values are not pairable
        and are left out.

    Returns
    -------
    float
        NaN when no disagreement is possible (a single value in all).

    Examples
    --------
    Krippendorff's (2011) reliability data: 4 observers, 12 units, nominal
    alpha = 0.743.

    >>> m = None
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, m, m, m],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, m, 3],
    ...         [m, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, m],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, m]]
    >>> round(krippendorff_alpha(data), 3)
    0.743
    """
    rows = [list(r) for r in reliability_data]
    if not rows:
        return math.nan
    n_units = len(rows[0])
    if any(len(r) != n_units for r in rows):
        raise AgreementError("every coder needs a value (or None) for every unit")
    labels: dict = {}
    pairable: list[list] = []
    for u in range(n_units):
        values = [r[u] for r in rows if not _missing(r[u])]
        if len(values) >= 2:
            pairable.append(values)
            for v in values:
                labels.setdefault(v, len(labels))
    if not pairable:
        return math.nan
    k = len(labels)
    coincidence = np.zeros((k, k))
    for values in pairable:
        m = len(values)
        idx = [labels[v] for v in values]
        counts = np.bincount(idx, minlength=k).astype(float)
        # ordered pairs of values from different coders, weighted 1/(m-1)
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    observed = coincidence.sum() - np.trace(coincidence)
    expected_pairs = n_c.sum() ** 2 - (n_c ** 2).sum()
    if expected_pairs == 0:
        return math.nan
    return float(1.0 - (n - 1) * observed / expected_pairs)


# --------------------------------------------------------------------------- units

def sentence_units(documents: Iterable[Document]) -> pd.DataFrame:
    """The sentences of the documents as units (``doc_id, unit_id, start_char, end_char``)."""
    rows = []
    for d in documents:
        for s in segment_document(d):
            if s.kind == "sentence":
                rows.append((d.doc_id, s.segment_id, s.start_char, s.end_char))
    return pd.DataFrame(rows, columns=UNIT_COLUMNS)


def units_from_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Sentence units from a ``segments.csv`` table (``ptce-nlp ingest``)."""
    missing = [c for c in ("doc_id", "segment_id", "kind", "start_char", "end_char") if c not in segments.columns]
    if missing:
        raise AgreementError(f"the segments table lacks the column(s) {', '.join(missing)}")
    sentences = segments[segments["kind"] == "sentence"]
    return pd.DataFrame({"doc_id": sentences["doc_id"].astype(str), "unit_id": sentences["segment_id"].astype(str),
                         "start_char": sentences["start_char"].astype(int),
                         "end_char": sentences["end_char"].astype(int)}).reset_index(drop=True)


def segment_units(*codings: pd.DataFrame) -> pd.DataFrame:
    """Units made of the coded stretches of text: overlapping spans of all codings merged."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for coded in codings:
        for doc_id, a, b in zip(coded["doc_id"], coded["start_char"], coded["end_char"]):
            spans.setdefault(str(doc_id), []).append((int(a), max(int(b), int(a) + 1)))
    rows = []
    for doc_id in sorted(spans):
        merged: list[list[int]] = []
        for a, b in sorted(spans[doc_id]):
            if merged and a < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        rows.extend((doc_id, f"u{i:04d}", a, b) for i, (a, b) in enumerate(merged, start=1))
    return pd.DataFrame(rows, columns=UNIT_COLUMNS)


def assign_units(coded: pd.DataFrame, units: pd.DataFrame, *, level: str = "code") -> tuple[list[set], int]:
    """The set of codes present in each unit (in the order of ``units``), and the spans that hit no unit."""
    column = {"code": "code_id", "category": "category"}.get(level)
    if column is None:
        raise AgreementError(f"level must be 'code' or 'category', not {level!r}")
    present: list[set] = [set() for _ in range(len(units))]
    by_doc: dict[str, tuple[list[int], list[int], list[int]]] = {}
    for i, (doc_id, a, b) in enumerate(zip(units["doc_id"], units["start_char"], units["end_char"])):
        starts, ends, index = by_doc.setdefault(str(doc_id), ([], [], []))
        starts.append(int(a))
        ends.append(int(b))
        index.append(i)
    for doc_id, lists in by_doc.items():
        order = sorted(range(len(lists[0])), key=lambda j: lists[0][j])
        by_doc[doc_id] = tuple([lists[k][j] for j in order] for k in range(3))
    missed = 0
    for doc_id, a, b, code in zip(coded["doc_id"], coded["start_char"], coded["end_char"], coded[column]):
        found = by_doc.get(str(doc_id))
        if found is None:
            missed += 1
            continue
        starts, ends, index = found
        a, b = int(a), int(b)
        b = max(b, a + 1)  # an empty selection marks the unit it stands in
        hit = False
        j = bisect.bisect_right(starts, a) - 1
        j = max(j, 0)
        while j < len(starts) and starts[j] < b:
            if ends[j] > a:
                present[index[j]].add(str(code))
                hit = True
            j += 1
        missed += not hit
    return present, missed


# --------------------------------------------------------------------------- coded-segment tables

CODING_TABLE_COLUMNS = ("doc_id", "code_id", "start_char", "end_char")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+(?:[.,]0*)?")


def read_coding_table(path: str | Path) -> pd.DataFrame:
    """Read a ``coded_segments.csv`` (from ``code``, ``run``, ``import-qdpx`` or made by hand) and check every row.

    The separator is the header's (``,``, ``;`` as French Excel writes, or
    a tab); every row needs a ``doc_id``, a ``code_id`` and whole-number
    offsets with ``0 <= start_char <= end_char``.

    Returns
    -------
    DataFrame
        The table as text, ``start_char`` and ``end_char`` as integers,
        ``category`` derived from ``code_id`` when missing; indexed by the
        line number of each row in the file (named ``line``), so that later
        checks (:func:`check_spans_in_texts`) can name it.

    Raises
    ------
    InputFileError
        The file cannot be read or lacks a column.
    TableRowError
        The first row that cannot be used (line number and problem; the
        number of other such rows follows in brackets).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not a UTF-8 table (byte {exc.start})") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    records: list[list[str]] = []
    lines: list[int] = []
    end = 0
    try:
        for record in reader:
            line, end = end + 1, reader.line_num  # a quoted field may span several lines
            if header is None:
                header = [h.strip() for h in record]
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise TableRowError(path, line, f"{len(record)} fields where the header has {len(header)}")
            records.append(record)
            lines.append(line)
    except csv.Error as exc:
        raise TableRowError(path, end + 1, f"not readable as CSV ({exc})") from None
    missing = [c for c in CODING_TABLE_COLUMNS if c not in (header or [])]
    if missing:
        raise InputFileError(path, f"not a coded-segment table: no column {', '.join(missing)}")
    table = pd.DataFrame(records, columns=header, index=pd.Index(lines, name="line"), dtype=object)
    problems: list[tuple[int, str]] = []
    offsets: dict[str, list[int]] = {"start_char": [], "end_char": []}
    for line, doc_id, code_id, start, stop in zip(lines, table["doc_id"], table["code_id"], table["start_char"],
                                                  table["end_char"]):
        found = [f"{name} is empty" for name, value in (("doc_id", doc_id), ("code_id", code_id))
                 if not value.strip()]
        numbers = []
        for name, value in (("start_char", start), ("end_char", stop)):
            value = value.strip()
            if not value:
                found.append(f"{name} is empty")
            elif not _WHOLE_NUMBER.fullmatch(value):
                found.append(f"{name} {value!r} is not a whole number")
            else:
                numbers.append(int(re.split("[.,]", value)[0]))
        if len(numbers) == 2:
            a, b = numbers
            if a < 0:
                found.append(f"start_char {a} is negative")
            elif b < a:
                found.append(f"end_char {b} is before start_char {a} (a reversed span)")
        else:
            numbers = [0, 0]
        offsets["start_char"].append(numbers[0])
        offsets["end_char"].append(numbers[1])
        problems.extend((line, p) for p in found[:1])
    _raise_first(path, problems)
    for name, values in offsets.items():
        table[name] = np.array(values, dtype=np.int64)
    table["doc_id"] = table["doc_id"].str.strip()
    table["code_id"] = table["code_id"].str.strip()
    if "category" not in table.columns:
        table["category"] = table["code_id"].str.split(".").str[0]
    return table


def _raise_first(path: object, problems: list[tuple[int, str]]) -> None:
    if problems:
        line, problem = problems[0]
        more = len(problems) - 1
        if more:
            problem += f" (and {more} more row{'s' if more > 1 else ''} with a problem)"
        raise TableRowError(path, line, problem)


def check_spans_in_texts(coded: pd.DataFrame, texts: dict[str, str], path: object, *,
                         any_line_endings: bool = False) -> None:
    """Refuse a table (from :func:`read_coding_table`) with a span beyond the end of its document's text.

    ``any_line_endings`` measures each text as if all its line breaks were
    ``\\r\\n`` (before :func:`align_line_endings`: the table's offsets may
    be into such a version of the text). Documents not in ``texts`` are not
    checked.
    """
    bounds = {}
    for doc_id, text in texts.items():
        crlf = text.count("\r\n")
        single = text.count("\n") + text.count("\r") - 2 * crlf  # line breaks of one character
        bounds[doc_id] = len(text) + (single if any_line_endings else 0)
    problems = []
    for line, doc_id, a, b in zip(coded.index, coded["doc_id"].astype(str), coded["start_char"], coded["end_char"]):
        if doc_id in bounds and b > bounds[doc_id]:
            problems.append((line, f"span {a}-{b} goes beyond the end of document {doc_id!r} "
                                   f"({len(texts[doc_id]):,} characters)"))
    _raise_first(path, problems)


# --------------------------------------------------------------------------- texts that differ by line endings

def align_line_endings(coded: pd.DataFrame, target_texts: dict[str, str], *,
                       source_texts: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Move a coding's offsets onto other versions of its texts that differ only by line endings.

    A QDA tool holds the ``\\n``-only text of a document whose original has
    ``\\r\\n`` (see :mod:`ptce_nlp.export.qdpx`); when it drops the record of
    the original line endings, its offsets are into the ``\\n`` text. This
    maps ``coded`` (offsets into ``source_texts``, or, without them, into an
    original whose line breaks were all ``\\r\\n``, checked against the
    ``text`` column) onto ``target_texts``.

    Returns
    -------
    (DataFrame, list of str)
        The coding with offsets (and ``text``) into the target texts, and a
        warning per document that differs by more than its line endings.
    """
    from .export.qdpx import newline_map

    coded = coded.copy()
    warnings: list[str] = []
    starts = coded["start_char"].astype(int).to_numpy().copy()
    ends = coded["end_char"].astype(int).to_numpy().copy()
    has_text = "text" in coded.columns
    for doc_id, target in target_texts.items():
        rows = np.flatnonzero((coded["doc_id"].astype(str) == doc_id).to_numpy())
        if not len(rows):
            continue
        if source_texts is not None and doc_id in source_texts:
            source = source_texts[doc_id]
        elif has_text:
            texts = coded["text"].iloc[rows].astype(str).tolist()
            if all(target[a:b] == t for a, b, t in zip(starts[rows], ends[rows], texts)):
                continue
            source = newline_map(target)[0].replace("\n", "\r\n")
            if not all(source[a:b] == t for a, b, t in zip(starts[rows], ends[rows], texts)):
                warnings.append(f"document {doc_id!r}: the coded texts do not match its text at their offsets "
                                "(another version of the document?); offsets are compared as they are")
                continue
        else:
            continue
        if source == target:
            continue
        source_plain, source_map = newline_map(source)
        target_plain, target_map = newline_map(target)
        if source_plain != target_plain:
            warnings.append(f"document {doc_id!r} differs between the two codings by more than its line endings; "
                            "offsets are compared as they are")
            continue
        for i in rows:
            starts[i] = target_map.to_original(source_map.to_exported(int(starts[i])))
            ends[i] = target_map.to_original(source_map.to_exported(int(ends[i])))
            if has_text:
                coded.iat[i, coded.columns.get_loc("text")] = target[starts[i]:ends[i]]
    coded["start_char"] = starts
    coded["end_char"] = ends
    return coded, warnings


# --------------------------------------------------------------------------- comparison

@dataclass
class AgreementResult:
    """Agreement figures of two codings.

    Attributes
    ----------
    table : DataFrame
        :data:`AGREEMENT_COLUMNS`, one row per code then the pooled row
        ``(ensemble)``; ``n_only_a`` counts units coded by the first coding
        only.
    confusion : DataFrame
        Units counted by (code of the first coding, code of the second),
        ``(aucun)`` for a unit without code.
    n_units : int
    warnings : list of str
    """

    table: pd.DataFrame
    confusion: pd.DataFrame
    n_units: int
    warnings: list[str] = field(default_factory=list)


def _scored(coded: pd.DataFrame, include_flagged: bool) -> pd.DataFrame:
    if include_flagged or not len(coded):
        return coded
    from .analysis import scored_mask

    return coded[scored_mask(coded)]


def compare_codings(coded_a: pd.DataFrame, coded_b: pd.DataFrame, units: pd.DataFrame, *, level: str = "code",
                    include_flagged: bool = False, codes: Sequence[str] | None = None) -> AgreementResult:
    """Agreement of two coded-segment tables over units.

    Parameters
    ----------
    coded_a, coded_b : DataFrame
        Coded-segment tables (``doc_id, code_id, category, start_char,
        end_char``, optionally ``negated``, ``contrast``), offsets into the
        same texts.
    units : DataFrame
        ``doc_id, unit_id, start_char, end_char``: :func:`sentence_units`,
        :func:`units_from_segments` or :func:`segment_units`.
    level : {"code", "category"}
    include_flagged : bool, default False
        Count negated and contrast matches as codings (they are left out by
        default, as in the code counts).
    codes : sequence of str, optional
        Codes (or categories) to report; default: every code either side used.

    Returns
    -------
    AgreementResult
    """
    if not len(units):
        raise AgreementError("no unit to compare on (no sentence in the documents)")
    warnings: list[str] = []
    a = _scored(coded_a, include_flagged)
    b = _scored(coded_b, include_flagged)
    known_docs = set(units["doc_id"].astype(str))
    for name, frame in (("first", a), ("second", b)):
        outside = sorted(set(frame["doc_id"].astype(str)) - known_docs)
        if outside:
            warnings.append(f"{len(outside)} document(s) of the {name} coding are not among the units' documents "
                            f"and are left out: {', '.join(outside[:5])}{', ...' if len(outside) > 5 else ''}")
    present_a, missed_a = assign_units(a, units, level=level)
    present_b, missed_b = assign_units(b, units, level=level)
    for name, frame, missed in (("first", a, missed_a), ("second", b, missed_b)):
        inside = frame["doc_id"].astype(str).isin(known_docs).sum()
        missed -= len(frame) - inside
        if missed > 0:
            warnings.append(f"{missed} span(s) of the {name} coding fall outside every unit (between sentences)")
    if codes is None:
        codes = sorted(set().union(*present_a, *present_b))
    rows = []
    pooled_a: list[int] = []
    pooled_b: list[int] = []
    n = len(units)
    for code in codes:
        va = [int(code in s) for s in present_a]
        vb = [int(code in s) for s in present_b]
        pooled_a += va
        pooled_b += vb
        rows.append(_row(code, va, vb))
    if codes:
        rows.append(_row(OVERALL, pooled_a, pooled_b, n_units=n))
    table = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    return AgreementResult(table, confusion_table(present_a, present_b, codes), n, warnings)


def _row(code: str, va: list[int], vb: list[int], *, n_units: int | None = None) -> tuple:
    both = sum(x and y for x, y in zip(va, vb))
    only_a = sum(x and not y for x, y in zip(va, vb))
    only_b = sum(y and not x for x, y in zip(va, vb))
    neither = len(va) - both - only_a - only_b
    return (code, n_units if n_units is not None else len(va), both, only_a, only_b, neither,
            percent_agreement(va, vb), cohen_kappa(va, vb), krippendorff_alpha([va, vb]))


def confusion_table(present_a: list[set], present_b: list[set], codes: Sequence[str]) -> pd.DataFrame:
    """Units counted by (code of the first coding, code of the second); ``(aucun)`` for none."""
    labels = list(codes) + [NONE_LABEL]
    matrix = pd.DataFrame(0, index=pd.Index(labels, name="a \\ b"), columns=labels, dtype=int)
    wanted = set(codes)
    for sa, sb in zip(present_a, present_b):
        ra = sorted(sa & wanted) or [NONE_LABEL]
        rb = sorted(sb & wanted) or [NONE_LABEL]
        for x in ra:
            for y in rb:
                matrix.loc[x, y] += 1
    return matrix
