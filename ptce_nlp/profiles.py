"""The three-axis profile of a pole: ESS <-> cluster, territorialisation and governance.

Beside the ESS <-> cluster axis of :mod:`ptce_nlp.closeness` (taken as it is from ``closeness_poles``),
two axes the seed articles use, each read from the codebook's coded matches:

``territorialisation``
    -1 agglomération, spécialisation ... +1 spécification des ressources, ancrage territorial,
    développement endogène (after Colletis and Pecqueur's three modes of territorial coordination);
``governance``
    -1 descendante / technocratique, hiérarchique / centralisée ... +1 ascendante, démocratique et
    délibérative, multi-parties prenantes, horizontale en réseau.

Which code supports which end is declared in the codebook (``axis: {name: ..., side: -1 | 1}`` on a
code, see :meth:`ptce_nlp.codebook.Codebook.axes`), so researchers can move a code or add an axis by
editing the YAML. Only the matches that count (:func:`ptce_nlp.analysis.scored_mask`: negated,
contrast and reported matches left out) are evidence.

Score of a pole on an axis (``method="count"``, the one of ``pole_profiles.csv``)::

    score = (n+ - n-) / (n+ + n-)

with n+ and n- the pole's counted matches of the codes at each end. It is not smoothed: additive
smoothing pulls every sparse pole towards 0, which on these axes is a substantive position (« as
much agglomeration as specification »), not an absence of evidence. A pole with fewer than
:data:`MIN_MATCHES` matches on an axis gets an empty score and the reason « pas assez d'indices »
instead (never 0). The interval is the percentile interval of the same ratio over bootstrap draws of
the pole's sentences (all its documents' sentences pooled, ``n_boot`` draws, a seed fixed by
``seed`` and the pole's name, as in :mod:`ptce_nlp.closeness`). A ratio of non-negative counts,
the score and both bounds always lie in [-1, 1].

Two variants, for the agreement between methods (``scripts/eval_profiles.py``):

``sentences``
    the same balance over sentences: a sentence counts once for each end it holds a match of,
    whatever the number of matches (a sentence repeating a word weighs no more);
``density``
    the balance of the codes' densities, each relative to the code's density in the whole corpus:
    a match of code c weighs ``N / (k N_c)`` (N the corpus matches on the axis, k the axis codes
    found, N_c those of c), so each code carries the same weight over the corpus and a frequent
    code (``ancrage``) does not outweigh a rare one (``spécialisation``).

``pole_referentiel`` lists, per pole, the counted matches of the PTCE référentiel indicators
(a2 ... g2, ``codebook_referentiel.yaml``) in its texts, with their document and offsets.
"""

from __future__ import annotations

import zlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .analysis import OPPOSED_CATEGORIES, ParsedDocument, code_parsed, scored_mask
from .closeness import POLE_TYPE_ORDER as CLOSENESS_TYPE_ORDER, _percentiles, _spearman
from .codebook import Codebook
from .tables import flags

#: The axes of ``pole_profiles.csv``, in order (their codes are declared in the codebook).
AXES = ("territorialisation", "governance")
#: Fewer counted matches than this on an axis: the pole's score is empty, « pas assez d'indices ».
#: With one or two matches the score can only be -1, 0 or +1 (one word decides it); from 3 on it has
#: at least four values and the bootstrap interval shows how little it rests on. Most fiches of the
#: bundled corpus hold fewer than 5 (``scripts/eval_profiles.py`` measures 3 and 5).
MIN_MATCHES = 3
N_BOOT = 1000
CONFIDENCE = 0.95
METHODS = ("count", "sentences", "density")
NOT_ENOUGH = "pas assez d'indices"
PROFILE_COLUMNS = (["pole", "pole_type", "n_docs", "n_sentences"]
                   + [f"ess_cluster_{s}" for s in ("score", "low", "high", "n")]
                   + [f"{a}_{s}" for a in AXES for s in ("score", "low", "high", "n", "n_plus", "n_minus")]
                   + ["reason"])
REFERENTIEL_COLUMNS = ["pole", "pole_type", "code_id", "label", "doc_id", "segment_id", "start_char", "end_char",
                       "text"]


def balance(plus: np.ndarray, minus: np.ndarray, *, key: str = "", seed: int = 0, n_boot: int = N_BOOT,
            confidence: float = CONFIDENCE, min_matches: int = MIN_MATCHES,
            n_matches: float | None = None) -> tuple[float, float, float]:
    """``(score, low, high)`` of ``(sum plus - sum minus) / (sum plus + sum minus)`` over units.

    ``plus`` and ``minus`` hold the non-negative weight of each unit (sentence) at each end, zeros
    included (the bootstrap draws every unit). Empty (NaN) below ``min_matches`` evidence
    (``n_matches``, default ``plus.sum() + minus.sum()``). Every value lies in [-1, 1].
    """
    plus = np.asarray(plus, dtype=np.float64)
    minus = np.asarray(minus, dtype=np.float64)
    total = float(plus.sum() + minus.sum())
    n = total if n_matches is None else n_matches
    if n < min_matches or total <= 0:
        return np.nan, np.nan, np.nan
    score = float((plus.sum() - minus.sum()) / total)
    units = len(plus)
    rng = np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])
    draws = rng.multinomial(units, np.full(units, 1.0 / units), size=n_boot).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = (draws @ (plus - minus)) / (draws @ (plus + minus))  # NaN for a draw without evidence
    low, high = _percentiles(ratios, (1.0 - confidence) / 2.0)
    return _clip(score), _clip(low), _clip(high)


def _clip(x: float) -> float:
    """Guard against rounding just past the bounds (a ratio of non-negative sums is in [-1, 1]); NaN stays NaN."""
    return x if np.isnan(x) else float(min(1.0, max(-1.0, x)))


def _pole_of(p: ParsedDocument) -> tuple[str, str]:
    meta = p.document.metadata
    return str(meta.get("pole", "") or p.document.doc_id), str(meta.get("pole_type", "") or "")


def sentence_units(parsed: Sequence[ParsedDocument]) -> pd.DataFrame:
    """One row per sentence: ``doc_id, segment_id, pole, pole_type`` (the bootstrap units)."""
    rows = []
    for p in parsed:
        pole, pole_type = _pole_of(p)
        sentences = [s.segment_id for s in p.segments if s.kind == "sentence"] or [""]
        rows += [(p.document.doc_id, sid, pole, pole_type) for sid in sentences]
    return pd.DataFrame(rows, columns=["doc_id", "segment_id", "pole", "pole_type"])


def axis_matrix(units: pd.DataFrame, coded: pd.DataFrame, codebook: Codebook, axis: str, *,
                count_reported: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Counted matches per unit of each code on ``axis``: ``(counts (units x codes), sides, code ids)``."""
    ends = codebook.axes().get(axis, {-1: [], 1: []})
    codes = ends[-1] + ends[1]
    sides = np.array([-1] * len(ends[-1]) + [1] * len(ends[1]), dtype=np.int64)
    counts = np.zeros((len(units), len(codes)), dtype=np.float64)
    if not codes or coded is None or coded.empty:
        return counts, sides, codes
    frame = coded[scored_mask(coded, count_reported=count_reported)]
    frame = frame[frame["code_id"].isin(codes)]
    index = {(d, s): i for i, (d, s) in enumerate(zip(units["doc_id"], units["segment_id"]))}
    first = {}
    for i, d in enumerate(units["doc_id"]):
        first.setdefault(d, i)
    column = {c: j for j, c in enumerate(codes)}
    for d, s, c in zip(frame["doc_id"], frame["segment_id"].fillna(""), frame["code_id"]):
        i = index.get((d, s), first.get(d))
        if i is not None:
            counts[i, column[c]] += 1
    return counts, sides, codes


def _weights(counts: np.ndarray, sides: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the weight of evidence at the + end and at the - end under ``method``."""
    if method == "count":
        weighted = counts
    elif method == "sentences":
        weighted = (counts > 0).astype(np.float64)
        plus = (weighted[:, sides > 0].sum(axis=1) > 0).astype(np.float64)
        minus = (weighted[:, sides < 0].sum(axis=1) > 0).astype(np.float64)
        return plus, minus
    elif method == "density":
        totals = counts.sum(axis=0)
        found = totals > 0
        w = np.zeros(len(totals))
        if found.any():
            w[found] = totals.sum() / (found.sum() * totals[found])
        weighted = counts * w[None, :]
    else:
        raise ValueError(f"unknown method {method!r} (use one of {', '.join(METHODS)})")
    return weighted[:, sides > 0].sum(axis=1), weighted[:, sides < 0].sum(axis=1)


def axis_scores(parsed: Sequence[ParsedDocument], coded: pd.DataFrame, codebook: Codebook, axis: str, *,
                method: str = "count", seed: int = 0, n_boot: int = N_BOOT, min_matches: int = MIN_MATCHES,
                count_reported: bool = False) -> pd.DataFrame:
    """Per pole, its score on ``axis``: ``pole, pole_type, score, low, high, n, n_plus, n_minus, reason``.

    ``n``, ``n_plus`` and ``n_minus`` count the pole's counted matches (whatever the ``method``);
    the weights of ``method`` are computed over all the poles given (see the module docstring).
    """
    units = sentence_units(parsed)
    counts, sides, codes = axis_matrix(units, coded, codebook, axis, count_reported=count_reported)
    plus_w, minus_w = _weights(counts, sides, method)
    rows = []
    for pole, idx in units.groupby("pole", sort=False).indices.items():
        n_plus = int(counts[idx][:, sides > 0].sum())
        n_minus = int(counts[idx][:, sides < 0].sum())
        n = n_plus + n_minus
        score, low, high = balance(plus_w[idx], minus_w[idx], key=f"{axis}:{pole}", seed=seed, n_boot=n_boot,
                                   min_matches=min_matches, n_matches=n)
        if not codes:
            reason = f"{axis} : aucun code de la grille n'est rattaché à cet axe"
        elif np.isnan(score):
            reason = f"{axis} : {NOT_ENOUGH} ({n} < {min_matches})"
        else:
            reason = ""
        rows.append((pole, units["pole_type"].iloc[idx[0]], score, low, high, n, n_plus, n_minus, reason))
    return pd.DataFrame(rows, columns=["pole", "pole_type", "score", "low", "high", "n", "n_plus", "n_minus",
                                       "reason"])


def pole_profiles(parsed: Sequence[ParsedDocument], coded: pd.DataFrame, codebook: Codebook,
                  closeness_poles: pd.DataFrame | None = None, *, seed: int = 0, n_boot: int = N_BOOT,
                  min_matches: int = MIN_MATCHES, count_reported: bool = False,
                  axes: Sequence[str] = AXES) -> pd.DataFrame:
    """``pole_profiles.csv``: one row per pole, its three axes with intervals and evidence counts.

    ``ess_cluster_score/_low/_high`` are the composite closeness score of ``closeness_poles`` as it
    is; ``ess_cluster_n`` the pole's counted, non-opposed matches of ``valeurs_ess`` and
    ``discours_cluster`` (the lexicon's evidence). ``reason`` says why a score is empty.
    """
    units = sentence_units(parsed)
    base = units.groupby("pole", sort=False).agg(pole_type=("pole_type", "first"), n_docs=("doc_id", "nunique"),
                                                 n_sentences=("segment_id", "size")).reset_index()
    out = base.copy()
    reasons: dict[str, list[str]] = {p: [] for p in out["pole"]}
    # ESS <-> cluster: the closeness output as it is
    ess = {}
    if isinstance(closeness_poles, pd.DataFrame) and not closeness_poles.empty:
        ess = {str(r["pole"]): r for _, r in closeness_poles.iterrows()}
    for column, source in (("score", "score"), ("low", "score_low"), ("high", "score_high")):
        out[f"ess_cluster_{column}"] = [float(ess[p][source]) if p in ess else np.nan for p in out["pole"]]
    out["ess_cluster_n"] = _ess_evidence(units, coded, count_reported).reindex(out["pole"]).fillna(0).astype(int) \
        .to_numpy()
    for pole in out["pole"]:
        if pole not in ess:
            reasons[pole].append("ess_cluster : proximité ESS ↔ cluster non calculée")
        elif pd.isna(ess[pole]["score"]):
            reasons[pole].append(f"ess_cluster : {ess[pole].get('reason', '')}".rstrip(" :"))
    for axis in axes:
        scores = axis_scores(parsed, coded, codebook, axis, seed=seed, n_boot=n_boot, min_matches=min_matches,
                             count_reported=count_reported).set_index("pole")
        for column in ("score", "low", "high", "n", "n_plus", "n_minus"):
            out[f"{axis}_{column}"] = scores[column].reindex(out["pole"]).to_numpy()
        for pole, reason in scores["reason"].items():
            if reason:
                reasons[pole].append(reason)
    out["reason"] = ["; ".join(reasons[p]) for p in out["pole"]]
    columns = [c for c in PROFILE_COLUMNS if c in out.columns] + [c for c in out.columns if c not in PROFILE_COLUMNS]
    return out[columns]


def _ess_evidence(units: pd.DataFrame, coded: pd.DataFrame, count_reported: bool) -> pd.Series:
    """Per pole, its counted, non-opposed matches of the two categories of the closeness axis."""
    if coded is None or coded.empty:
        return pd.Series(dtype=int)
    frame = coded[scored_mask(coded, count_reported=count_reported) & coded["category"].isin(OPPOSED_CATEGORIES)]
    if "opposed" in frame.columns:
        frame = frame[~flags(frame["opposed"]).to_numpy()]
    pole = units.drop_duplicates("doc_id").set_index("doc_id")["pole"]
    return frame["doc_id"].map(pole).value_counts()


def referentiel_evidence(parsed: Sequence[ParsedDocument], referentiel: Codebook | None = None, *,
                         accent_insensitive: bool = False, count_reported: bool = False) -> pd.DataFrame:
    """``pole_referentiel.csv``: the counted matches of the PTCE référentiel indicators, per pole.

    Columns :data:`REFERENTIEL_COLUMNS`; offsets into the documents' original text.
    """
    book = referentiel or Codebook.shipped("referentiel")
    coded, _ = code_parsed(parsed, book, accent_insensitive=accent_insensitive, count_reported=count_reported)
    if coded.empty:
        return pd.DataFrame(columns=REFERENTIEL_COLUMNS)
    coded = coded[scored_mask(coded, count_reported=count_reported)]
    poles = {p.document.doc_id: _pole_of(p) for p in parsed}
    pole_rank = {pole: i for i, pole in enumerate(dict.fromkeys(pole for pole, _ in poles.values()))}
    order = {c.id: i for i, c in enumerate(book)}
    frame = coded.assign(pole=coded["doc_id"].map(lambda d: poles[d][0]),
                         pole_type=coded["doc_id"].map(lambda d: poles[d][1]),
                         label=coded["code_id"].map(lambda c: book[c].label), _order=coded["code_id"].map(order))
    frame = frame.assign(_pole=frame["pole"].map(pole_rank))
    # poles in the order of the documents (as in pole_profiles), indicators in the codebook's order
    frame = frame.sort_values(["_pole", "_order", "doc_id", "start_char"], kind="stable")
    return frame[REFERENTIEL_COLUMNS].reset_index(drop=True)


def profile_tables(parsed: Sequence[ParsedDocument], coded: pd.DataFrame, codebook: Codebook,
                   closeness_poles: pd.DataFrame | None = None, *, seed: int = 0,
                   accent_insensitive: bool = False, count_reported: bool = False) -> dict[str, pd.DataFrame]:
    """The tables of the ``profiles`` stage of a run: ``pole_profiles`` and ``pole_referentiel``."""
    return {"pole_profiles": pole_profiles(parsed, coded, codebook, closeness_poles, seed=seed,
                                           count_reported=count_reported),
            "pole_referentiel": referentiel_evidence(parsed, accent_insensitive=accent_insensitive,
                                                     count_reported=count_reported)}


# --------------------------------------------------------------------------- measured

#: Ordinal encoding of pole types for the axes (higher = more ESS, more spécification, more ascendante):
#: the seed articles put PTCE at one end, pôles de compétitivité and clusters at the other, districts / SPL
#: between: the order of the closeness validation (ptce 3 > district_spl 2 > cluster = pole_competitivite 1).
#: Reference texts are left out.
POLE_TYPE_ORDER = CLOSENESS_TYPE_ORDER


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, int]:
    """Spearman's rho, its p-value and n over the pairs where both values exist (NaN when n < 3 or constant)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = ~(np.isnan(x) | np.isnan(y))
    return (*_spearman(x[ok], y[ok]), int(ok.sum()))


def type_agreement(scores: Mapping[str, pd.Series], pole_types: pd.Series,
                   order: Mapping[str, int] = POLE_TYPE_ORDER) -> pd.DataFrame:
    """Spearman's rho of each score (indexed by pole) with the ordinal pole type: ``name, rho, p_value, n``."""
    kept = pole_types[pole_types.isin(list(order))]
    rank = kept.map(order)
    rows = [(name, *spearman(s.reindex(kept.index).to_numpy(float), rank.to_numpy(float)))
            for name, s in scores.items()]
    return pd.DataFrame(rows, columns=["name", "spearman_rho", "p_value", "n"])
