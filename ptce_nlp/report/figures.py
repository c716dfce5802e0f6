"""Figures of the report for papers: PNG (300 dpi) and SVG, drawn with matplotlib.

Figures are drawn with the object-oriented API on the Agg canvas (no pyplot,
no global backend switch, safe in notebooks and threads) and written
atomically. SVG output is made reproducible (fixed hash salt, no date), and
keeps text as text so that it can be edited for publication.

:func:`write_figures` draws every figure whose tables are present and
returns the paths written.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
from pathlib import Path
from typing import Callable, Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..analysis import cooccurrence, pole_counts
from ..codebook import Codebook
from ..io import atomic_write
from .html import METHOD_LABELS, METHODS, MODEL_LABELS, POLE_TYPE_COLORS, POLE_TYPE_LABELS, flag, flags

FORMATS = ("png", "svg")
MAX_PIXELS = 12_000
#: Most pixels of a PNG: saving one costs about 32 bytes a pixel (14 Mpx: 0.45 GB); every figure of the
#: bundled corpus is under it.
MAX_AREA = 14_000_000
MAX_INCHES = 60.0
_RC = {"svg.hashsalt": "ptce_nlp", "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False, "font.family": "DejaVu Sans"}


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(min(width, MAX_INCHES), min(height, MAX_INCHES)), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out_dir: Path, name: str, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``out_dir/name.<format>`` for each format (atomically)."""
    paths = []
    width, height = fig.get_size_inches()
    # 300 dpi for print, lowered for the very large figures of big corpora (at most ~12,000 pixels a side and
    # MAX_AREA pixels in all, for bounded memory).
    dpi = max(36, min(300, int(MAX_PIXELS / max(width, height)), int((MAX_AREA / (width * height)) ** 0.5)))
    for fmt in formats:
        buffer = io.BytesIO()
        meta = {"Date": None} if fmt == "svg" else {"Software": None} if fmt == "png" else {}
        # SVG: vector, but images (the heatmap's) are embedded at the figure's dpi, capped the same way
        fig.savefig(buffer, format=fmt, dpi=dpi if fmt == "png" or dpi < fig.dpi else "figure", metadata=meta)
        path = out_dir / f"{name}.{fmt}"
        with atomic_write(path, "wb") as fh:
            fh.write(buffer.getvalue())
        paths.append(path)
    return paths


def write_figures(tables: Mapping[str, pd.DataFrame], out_dir: str | Path, *, codebook: Codebook,
                  formats: Sequence[str] = FORMATS,
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Draw the report's figures from the run's tables into ``out_dir``.

    Figures (each as ``.png`` and ``.svg``), drawn when their tables exist:
    ``corpus_overview`` (documents), ``closeness_poles`` (closeness_poles), ``pole_profiles`` (pole_profiles),
    ``code_density_heatmap`` and ``category_shares`` (code_counts),
    ``code_cooccurrence`` (coded_segments), ``topic_terms_<model>``
    (topic_terms) and ``topic_coherence`` (topic_selection).

    Parameters
    ----------
    progress : callable, optional
        Called with ``(figures done, figures to draw)`` after each figure.

    Returns
    -------
    list of Path
        The files written, in order.
    """
    out = Path(out_dir)
    drawers = [("documents", "corpus_overview", _corpus_overview),
               ("closeness_poles", "closeness_poles", _closeness),
               ("pole_profiles", "pole_profiles", _profiles),
               ("code_counts", "code_density_heatmap", _density),
               ("code_counts", "category_shares", _category_shares),
               ("coded_segments", "code_cooccurrence", _cooccurrence),
               ("topic_selection", "topic_coherence", _coherence)]
    jobs = [(name, functools.partial(draw, tables, codebook)) for table, name, draw in drawers
            if isinstance(tables.get(table), pd.DataFrame) and not tables[table].empty]
    terms = tables.get("topic_terms")
    if isinstance(terms, pd.DataFrame) and not terms.empty:
        jobs += [(f"topic_terms_{model}", functools.partial(_topic_terms, terms[terms["model"] == model], model,
                                                             codebook))
                 for model in sorted(set(terms["model"]))]
    written: list[Path] = []
    with matplotlib.rc_context(_RC):
        for i, (name, draw) in enumerate(jobs, start=1):
            fig = draw()
            if fig is not None:
                written += save_figure(fig, out, name, formats)
            if progress is not None:
                progress(i, len(jobs))
    return written


def _pole_types(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    docs = tables.get("documents")
    if not isinstance(docs, pd.DataFrame):
        return {}
    docs = docs.fillna("")
    return {str(r.pole) or str(r.doc_id): str(r.pole_type) for r in docs.itertuples()}


def _pole_order(tables: Mapping[str, pd.DataFrame], poles: Sequence[str]) -> list[str]:
    close = tables.get("closeness_poles")
    if isinstance(close, pd.DataFrame) and not close.empty:
        order = [str(p) for p in close.sort_values("score", ascending=False, na_position="last")["pole"]]
        return [p for p in order if p in poles] + sorted(p for p in poles if p not in order)
    types = _pole_types(tables)
    rank = {t: i for i, t in enumerate(POLE_TYPE_LABELS)}
    return sorted(poles, key=lambda p: (rank.get(types.get(p, ""), 99), p.lower()))


def _legend_types(ax, types: Sequence[str], **kwargs) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=POLE_TYPE_COLORS.get(t, "#B0B0B0"), label=POLE_TYPE_LABELS.get(t, t)) for t in types]
    ax.legend(handles=handles, frameon=False, fontsize=8, **kwargs)


def _corpus_overview(tables, codebook) -> Figure:
    docs = tables["documents"].fillna("")
    fig = _new_figure(9, 3.2)
    ax1, ax2 = fig.subplots(1, 2)
    counts = docs.groupby("pole_type").size()
    types = [t for t in POLE_TYPE_LABELS if t in counts.index]
    ax1.barh([POLE_TYPE_LABELS[t] for t in types][::-1], [counts[t] for t in types][::-1],
             color=[POLE_TYPE_COLORS[t] for t in types][::-1])
    ax1.set_xlabel("documents")
    ax1.set_title("Documents par type de pôle", loc="left", fontsize=10)
    words = pd.to_numeric(docs["n_words"], errors="coerce").fillna(0)
    bins = np.linspace(0, max(1.0, float(words.max())), 16)
    data = [words[docs["pole_type"] == t] for t in types]
    ax2.hist(data, bins=bins, stacked=True, color=[POLE_TYPE_COLORS[t] for t in types],
             label=[POLE_TYPE_LABELS[t] for t in types])
    ax2.set_xlabel("longueur (mots)")
    ax2.set_ylabel("documents")
    ax2.set_title("Longueur des documents", loc="left", fontsize=10)
    ax2.legend(frameon=False, fontsize=7)
    return fig


def _closeness(tables, codebook) -> Figure:
    poles = tables["closeness_poles"].sort_values("score", ascending=True, na_position="first")
    methods = [m for m in METHODS if f"{m}_score" in poles.columns]
    n = len(poles)
    fig = _new_figure(3.6 + 1.7 * len(methods), max(2.5, 0.26 * n + 1.2))
    axes = fig.subplots(1, 1 + len(methods), sharey=True,
                        gridspec_kw={"width_ratios": [2.2] + [1] * len(methods)})
    axes = np.atleast_1d(axes)
    y = np.arange(n)
    colors = [POLE_TYPE_COLORS.get("" if pd.isna(t) else str(t), "#B0B0B0") for t in poles["pole_type"]]
    for ax, (score, low, high, title) in zip(axes, [("score", "score_low", "score_high", "Composite")]
                                             + [(f"{m}_score", f"{m}_low", f"{m}_high", METHOD_LABELS[m])
                                                for m in methods]):
        values = pd.to_numeric(poles[score], errors="coerce").to_numpy(float)
        lo = pd.to_numeric(poles.get(low), errors="coerce").to_numpy(float) if low in poles else values
        hi = pd.to_numeric(poles.get(high), errors="coerce").to_numpy(float) if high in poles else values
        ax.axvline(0, color="#8a99a8", lw=0.8)
        ax.hlines(y, lo, hi, colors=colors, lw=2.2 if score == "score" else 1.6, alpha=0.6)
        ax.scatter(values, y, c=colors, s=28 if score == "score" else 16, zorder=3, edgecolors="white",
                   linewidths=0.6)
        if np.isnan(values).all():
            ax.text(0, (n - 1) / 2, "non calculé", ha="center", va="center", color="#9aa5b1", fontsize=8)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xticks([-1, 0, 1])
        ax.set_title(title, fontsize=9.5)
        ax.grid(axis="x", color="#e5e9ee", lw=0.6)
    axes[0].set_yticks(y, [str(p) for p in poles["pole"]], fontsize=7.5)
    axes[0].set_xlabel("← cluster industriel   ·   valeurs de l'ESS →", fontsize=8)
    types = [t for t in POLE_TYPE_LABELS if t in set(poles["pole_type"].fillna(""))]
    _legend_types(fig, types, loc="outside lower center", ncols=len(types))
    return fig


def _profiles(tables, codebook) -> Figure | None:
    from .profiles import profiles_figure

    return profiles_figure(tables, codebook)


def _density(tables, codebook) -> Figure | None:
    per_pole = pole_counts(tables["code_counts"])
    per_pole = per_pole[per_pole["level"] == "code"]
    matrix = per_pole.pivot_table(index="code_id", columns="pole", values="density", aggfunc="sum")
    leaves = [c for c in codebook.leaves() if c.id in matrix.index]
    if not leaves:
        return None
    poles = _pole_order(tables, [str(p) for p in matrix.columns])
    matrix = matrix.reindex(index=[c.id for c in leaves], columns=poles)
    fig = _new_figure(max(6.0, 0.3 * len(poles) + 3.2), max(4.0, 0.24 * len(leaves) + 2.2))
    ax = fig.subplots()
    values = matrix.to_numpy(float)
    vmax = float(np.nanpercentile(values, 97)) if values.size else 1.0
    image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0, vmax=vmax or 1.0, interpolation="nearest")
    ax.set_yticks(range(len(leaves)), [c.label for c in leaves], fontsize=7)
    ax.set_xticks(range(len(poles)), poles, rotation=60, ha="right", fontsize=7)
    types = _pole_types(tables)
    for tick, pole in zip(ax.get_xticklabels(), poles):
        tick.set_color(POLE_TYPE_COLORS.get(types.get(pole, ""), "#333333"))
    for tick, code in zip(ax.get_yticklabels(), leaves):
        tick.set_color(codebook[code.category].color)
    fig.colorbar(image, ax=ax, shrink=0.6, label="occurrences pour 1 000 mots")
    ax.set_title("Densité des codes par pôle", loc="left", fontsize=10)
    return fig


def _category_shares(tables, codebook) -> Figure | None:
    per_pole = pole_counts(tables["code_counts"])
    per_pole = per_pole[per_pole["level"] == "category"]
    cats = [c for c in codebook.categories()]
    matrix = per_pole.pivot_table(index="pole", columns="code_id", values="n", aggfunc="sum")
    matrix = matrix.reindex(columns=[c.id for c in cats]).fillna(0)
    poles = _pole_order(tables, [str(p) for p in matrix.index])[::-1]
    matrix = matrix.reindex(poles)
    totals = matrix.sum(axis=1).replace(0, np.nan)
    shares = matrix.div(totals, axis=0).fillna(0)
    fig = _new_figure(8, max(3.0, 0.25 * len(poles) + 1.4))
    ax = fig.subplots()
    left = np.zeros(len(poles))
    for cat in cats:
        ax.barh(range(len(poles)), shares[cat.id], left=left, color=cat.color, label=cat.label, height=0.75)
        left += shares[cat.id].to_numpy()
    ax.set_yticks(range(len(poles)), poles, fontsize=7.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(frameon=False, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=len(cats))
    ax.set_title("Part des catégories de codes par pôle", loc="left", fontsize=10)
    return fig


def _cooccurrence(tables, codebook) -> Figure | None:
    coded = tables["coded_segments"]
    matrix = cooccurrence(coded.assign(negated=flags(coded["negated"]), contrast=flags(coded["contrast"])))
    order = [c.id for c in codebook.leaves() if c.id in matrix.index]
    if len(order) < 2:
        return None
    matrix = matrix.reindex(index=order, columns=order)
    values = matrix.to_numpy(float, copy=True)
    np.fill_diagonal(values, np.nan)
    fig = _new_figure(max(5.0, 0.24 * len(order) + 3), max(4.5, 0.24 * len(order) + 2.4))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0, interpolation="nearest")
    labels = [codebook[c].label for c in order]
    ax.set_xticks(range(len(order)), labels, rotation=70, ha="right", fontsize=6.5)
    ax.set_yticks(range(len(order)), labels, fontsize=6.5)
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        for tick, code in zip(ticks, order):
            tick.set_color(codebook[codebook[code].category].color)
    fig.colorbar(image, ax=ax, shrink=0.6, label="phrases où les deux codes apparaissent")
    ax.set_title("Cooccurrences des codes (diagonale masquée)", loc="left", fontsize=10)
    return fig


def _coherence(tables, codebook) -> Figure | None:
    selection = tables["topic_selection"].dropna(subset=["coherence_npmi"])
    if selection.empty:
        return None
    fig = _new_figure(5.5, 3.2)
    ax = fig.subplots()
    colors = {"lda": "#0072B2", "nmf": "#009E73"}
    for model, group in selection.groupby("model", sort=True):
        group = group.sort_values("k")
        color = colors.get(str(model), "#7F7F7F")
        ax.plot(group["k"], group["coherence_npmi"], marker="o", ms=3.5, color=color,
                label=MODEL_LABELS.get(str(model), str(model)))
        chosen = group[flags(group["chosen"])]
        ax.scatter(chosen["k"], chosen["coherence_npmi"], s=90, facecolors="none", edgecolors=color, linewidths=1.8,
                   zorder=3)
    ax.set_xlabel("nombre de thèmes (k)")
    ax.set_ylabel("cohérence NPMI")
    ax.legend(frameon=False, fontsize=8, title="cercle : k retenu", title_fontsize=7.5)
    ax.grid(color="#eef1f4", lw=0.6)
    return fig


def _topic_terms(terms: pd.DataFrame, model: str, codebook: Codebook) -> Figure:
    topics = sorted(set(terms["topic"]))
    ncols = min(4, len(topics))
    nrows = math.ceil(len(topics) / ncols)
    fig = _new_figure(2.9 * ncols + 0.4, 3.0 * nrows + 0.5)  # titles of up to three lines (labels wrapped)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, topic in zip(axes, topics):
        group = terms[terms["topic"] == topic].sort_values("rank").head(10)[::-1]
        colors = ["#e58a3f" if flag(f) else "#7aa6c9" for f in group["from_seed"]]
        ax.barh(range(len(group)), group["weight"], color=colors)
        ax.set_yticks(range(len(group)), [str(t) for t in group["term"]], fontsize=7)
        ax.tick_params(axis="x", labelsize=6.5)
        first = group.iloc[-1]
        seed = "" if pd.isna(first.get("seed")) else str(first.get("seed"))
        label = "" if pd.isna(first.get("label")) else str(first.get("label"))
        title = textwrap.fill(f"{topic}. {label}", 30) + (
            "\n" + textwrap.fill(f"(amorcé : {codebook[seed].label if seed in codebook else seed})", 30)
            if seed else "")
        ax.set_title(title, fontsize=8, loc="left")
    for ax in axes[len(topics):]:
        ax.set_visible(False)
    fig.suptitle(f"Mots des thèmes : {MODEL_LABELS.get(model, model)} (orange : mot des amorces)", fontsize=10)
    return fig
