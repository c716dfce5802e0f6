"""The three-axis profile in the report: the territorialisation x governance plane and the référentiel evidence.

- :func:`profiles_figure`: the plane drawn with matplotlib (``figures/pole_profiles.png`` and ``.svg``);
- :func:`section_profiles`: the report's section (the same plane as inline SVG, the scores table, and per
  pole the PTCE référentiel indicators its texts give evidence for, each quoted with document and offsets).

Both read ``pole_profiles`` (and ``pole_referentiel``) as :mod:`ptce_nlp.profiles` writes them.
"""

from __future__ import annotations

import math
import textwrap
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .html import POLE_TYPE_LABELS, _absent, _diverging, _has, _pole_type_swatch, e, fmt, fmt_int, kwic_context
from .highlight import escape_text

#: Quotes shown per pole and indicator (all are in pole_referentiel.csv).
QUOTES_PER_INDICATOR = 3
_MARKERS = {"ptce": "o", "pole_competitivite": "s", "cluster": "^", "district_spl": "D", "reference": "P"}
_SVG_MARKERS = {"ptce": "circle", "pole_competitivite": "square", "cluster": "triangle", "district_spl": "diamond",
                "reference": "cross"}
_AXES = (("territorialisation", "Territorialisation",
          "← agglomération, spécialisation", "spécification, ancrage, développement endogène →"),
         ("governance", "Gouvernance",
          "← descendante, hiérarchique", "ascendante, démocratique, horizontale →"))


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(float)


def _placed(profiles: pd.DataFrame) -> pd.DataFrame:
    """The poles with a score on both axes (the others cannot be placed on the plane)."""
    ok = ~(np.isnan(_num(profiles, "territorialisation_score")) | np.isnan(_num(profiles, "governance_score")))
    return profiles[ok]


def _type(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _same_place(placed: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> list[tuple[tuple[float, float], list[str]]]:
    """Each point of the plane with the names of its poles (several often share a corner: ±1, ±1), from the
    top left: the points are numbered in this order, and the key lists their poles."""
    out: dict[tuple[float, float], list[str]] = {}
    for name, a, b in zip(placed["pole"], x, y):
        out.setdefault((round(float(a), 3), round(float(b), 3)), []).append(str(name))
    return sorted(out.items(), key=lambda kv: (-kv[0][1], kv[0][0]))


# --------------------------------------------------------------------------- matplotlib figure

def profiles_figure(tables: Mapping[str, pd.DataFrame], codebook=None) -> Figure | None:
    """The poles on the territorialisation x governance plane, interval bars, coloured by ESS <-> cluster score."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.lines import Line2D

    profiles = tables["pole_profiles"]
    placed = _placed(profiles)
    if placed.empty:
        return None
    fig = Figure(figsize=(9.5, 7.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax, key = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1.25]})
    cmap = LinearSegmentedColormap.from_list("ess_cluster", ["#0072B2", "#F7F7F7", "#D55E00"])
    norm = Normalize(-1, 1)
    x, y = _num(placed, "territorialisation_score"), _num(placed, "governance_score")
    xlo, xhi = _num(placed, "territorialisation_low"), _num(placed, "territorialisation_high")
    ylo, yhi = _num(placed, "governance_low"), _num(placed, "governance_high")
    ess = _num(placed, "ess_cluster_score")
    ax.axhline(0, color="#8a99a8", lw=0.8)
    ax.axvline(0, color="#8a99a8", lw=0.8)
    for i, row in enumerate(placed.itertuples(index=False)):
        color = "#B0B0B0" if np.isnan(ess[i]) else cmap(norm(ess[i]))
        ax.plot([xlo[i], xhi[i]], [y[i], y[i]], color=color, lw=1.4, alpha=0.7, zorder=2)
        ax.plot([x[i], x[i]], [ylo[i], yhi[i]], color=color, lw=1.4, alpha=0.7, zorder=2)
        ax.scatter([x[i]], [y[i]], s=46, color=color, marker=_MARKERS.get(_type(row.pole_type), "o"),
                   edgecolors="#333333", linewidths=0.6, zorder=3)
    # Several poles often share a point (a corner: ±1, ±1): each point gets a number, the key names its poles.
    places = _same_place(placed, x, y)
    lines = []
    for k, ((px, py), names) in enumerate(places, start=1):
        ax.annotate(str(k), (px, py), xytext=(-5 if px > 0.8 else 5, 4), textcoords="offset points", fontsize=7,
                    fontweight="bold", color="#243b53", ha="right" if px > 0.8 else "left")
        lines.append(f"{k}. " + "\n    ".join(textwrap.fill(n, 34, subsequent_indent="    ") for n in names))
    key.axis("off")
    key.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=7, transform=key.transAxes, color="#243b53")
    ax.set_xlim(-1.08, 1.08)
    ax.set_ylim(-1.08, 1.08)
    ax.set_xlabel(f"Territorialisation\n{_AXES[0][2]} (−1)   ·   (+1) {_AXES[0][3]}", fontsize=8)
    ax.set_ylabel(f"Gouvernance\n{_AXES[1][2]} (−1)   ·   (+1) {_AXES[1][3]}", fontsize=8)
    ax.grid(color="#eef1f4", lw=0.6)
    types = [t for t in POLE_TYPE_LABELS if t in set(placed["pole_type"].map(_type))]
    handles = [Line2D([], [], ls="", marker=_MARKERS.get(t, "o"), color="#888888", markeredgecolor="#333333",
                      label=POLE_TYPE_LABELS[t]) for t in types]
    ax.legend(handles=handles, frameon=False, fontsize=7.5, loc="lower left")
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.6, location="bottom", aspect=40,
                 label="couleur : proximité cluster industriel (−1) … valeurs de l'ESS (+1) ; gris : non calculée")
    missing = len(profiles) - len(placed)
    title = "Profils des pôles : territorialisation × gouvernance"
    if missing:
        title += f"\n({missing} pôle{'s' if missing > 1 else ''} non placé{'s' if missing > 1 else ''} : " \
                 "pas assez d'indices sur un axe au moins)"
    ax.set_title(title, loc="left", fontsize=10)
    return fig


# --------------------------------------------------------------------------- HTML section

def section_profiles(ctx) -> str:
    """The report's section « Profils des pôles » (``ctx`` is the report's context)."""
    out = ["<h2>Profils des pôles : territorialisation, gouvernance, ESS</h2>"
           '<p class="lead">Chaque pôle est placé sur deux axes lus dans les passages codés de ses textes '
           "(passages niés, en contraste ou rapportés exclus) : la territorialisation, de l'agglomération et de la "
           "spécialisation (−1) à la spécification des ressources, l'ancrage et le développement endogène (+1), "
           "d'après Colletis et Pecqueur ; la gouvernance, de la démarche descendante, hiérarchique et "
           "technocratique (−1) à la démarche ascendante, démocratique, multi-parties prenantes et horizontale (+1). "
           "Score = (n₊ − n₋) / (n₊ + n₋) ; barres : intervalle bootstrap à 95 % sur les phrases ; couleur : "
           "proximité ESS ↔ cluster. Un pôle avec trop peu d'indices n'a pas de score (« pas assez d'indices »), "
           "jamais 0.</p>"]
    if not _has(ctx.tables, "pole_profiles"):
        out.append(_absent("Les profils des pôles n'ont pas été calculés pour cette analyse "
                           "(table pole_profiles.csv absente)."))
        return "".join(out)
    profiles = ctx.tables["pole_profiles"]
    placed = _placed(profiles)
    if placed.empty:
        out.append(_absent("Aucun pôle n'a assez d'indices sur les deux axes pour être placé sur le plan."))
    else:
        out.append(profiles_svg(profiles))
    out.append(_scores_table(profiles))
    out.append(_referentiel(ctx))
    return "".join(out)


def profiles_svg(profiles: pd.DataFrame) -> str:
    """Inline SVG of the plane: one mark per placed pole (shape: pole type; colour: ESS <-> cluster score)."""
    placed = _placed(profiles)
    size, left, top, right, bottom = 560, 70, 30, 190, 60
    width, height = left + size + right, top + size + bottom

    def px(v: float) -> float:
        return left + (max(-1.0, min(1.0, v)) + 1) / 2 * size

    def py(v: float) -> float:
        return top + (1 - (max(-1.0, min(1.0, v)) + 1) / 2) * size

    parts = [f'<svg class="chart" id="profiles-chart" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Pôles placés selon la territorialisation et la gouvernance" '
             f'xmlns="http://www.w3.org/2000/svg" style="max-width:{width}px">',
             f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="#fbfcfd" stroke="#d9dee4"/>']
    for tick in (-1, -0.5, 0, 0.5, 1):
        stroke = "#8a99a8" if tick == 0 else "#e5e9ee"
        parts.append(f'<line x1="{px(tick):.1f}" y1="{top}" x2="{px(tick):.1f}" y2="{top + size}" stroke="{stroke}"/>'
                     f'<line x1="{left}" y1="{py(tick):.1f}" x2="{left + size}" y2="{py(tick):.1f}" '
                     f'stroke="{stroke}"/>'
                     f'<text x="{px(tick):.1f}" y="{top + size + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#616e7c">{fmt(tick, 1 if tick % 1 else 0)}</text>'
                     f'<text x="{left - 8}" y="{py(tick) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#616e7c">{fmt(tick, 1 if tick % 1 else 0)}</text>')
    parts.append(f'<text x="{left}" y="{top + size + 36}" font-size="12" fill="#243b53">{e(_AXES[0][2])}</text>'
                 f'<text x="{left + size}" y="{top + size + 36}" text-anchor="end" font-size="12" fill="#243b53">'
                 f"{e(_AXES[0][3])}</text>"
                 f'<text x="{left + size / 2}" y="{top + size + 54}" text-anchor="middle" font-size="12.5" '
                 'font-weight="600" fill="#243b53">Territorialisation</text>'
                 f'<text x="18" y="{top + size / 2}" text-anchor="middle" font-size="12.5" font-weight="600" '
                 f'fill="#243b53" transform="rotate(-90 18 {top + size / 2})">Gouvernance : '
                 f"{e(_AXES[1][2])} … {e(_AXES[1][3])}</text>")
    x, y = _num(placed, "territorialisation_score"), _num(placed, "governance_score")
    xlo, xhi = _num(placed, "territorialisation_low"), _num(placed, "territorialisation_high")
    ylo, yhi = _num(placed, "governance_low"), _num(placed, "governance_high")
    ess = _num(placed, "ess_cluster_score")
    places = _same_place(placed, x, y)
    number = {where: k for k, (where, _) in enumerate(places, start=1)}
    labelled: set[tuple[float, float]] = set()
    for i, row in enumerate(placed.itertuples(index=False)):
        r = row._asdict()
        pole_type = _type(r.get("pole_type"))
        color = "#B0B0B0" if math.isnan(ess[i]) else _diverging(ess[i])
        tip = (f"{r['pole']} ({POLE_TYPE_LABELS.get(pole_type, pole_type)}) : territorialisation {fmt(x[i])} "
               f"[{fmt(xlo[i])} ; {fmt(xhi[i])}], {fmt_int(r.get('territorialisation_n'))} indices · gouvernance "
               f"{fmt(y[i])} [{fmt(ylo[i])} ; {fmt(yhi[i])}], {fmt_int(r.get('governance_n'))} indices · "
               f"ESS ↔ cluster {fmt(ess[i])}")
        cx, cy = px(x[i]), py(y[i])
        parts.append(f'<g class="profile-point" data-pole="{e(r["pole"])}"><title>{e(tip)}</title>')
        if not (math.isnan(xlo[i]) or math.isnan(xhi[i])):
            parts.append(f'<line x1="{px(xlo[i]):.1f}" y1="{cy:.1f}" x2="{px(xhi[i]):.1f}" y2="{cy:.1f}" '
                         f'stroke="#52606d" stroke-width="1.2" opacity="0.45"/>')
        if not (math.isnan(ylo[i]) or math.isnan(yhi[i])):
            parts.append(f'<line x1="{cx:.1f}" y1="{py(ylo[i]):.1f}" x2="{cx:.1f}" y2="{py(yhi[i]):.1f}" '
                         f'stroke="#52606d" stroke-width="1.2" opacity="0.45"/>')
        parts.append(_svg_marker(_SVG_MARKERS.get(pole_type, "circle"), cx, cy, color))
        where = (round(float(x[i]), 3), round(float(y[i]), 3))
        if where not in labelled:  # one number per point; the key below names its poles
            labelled.add(where)
            anchor = ' text-anchor="end"' if cx > left + size * 0.8 else ""
            parts.append(f'<text x="{cx - 8 if anchor else cx + 8:.1f}" y="{cy - 6:.1f}" font-size="11" '
                         f'font-weight="600" fill="#243b53"{anchor}>{number[where]}</text>')
        parts.append("</g>")
    # legend: shapes and colour scale
    lx, ly = left + size + 24, top + 10
    parts.append(f'<text x="{lx}" y="{ly}" font-size="12" font-weight="600" fill="#243b53">Type de pôle</text>')
    types = [t for t in POLE_TYPE_LABELS if t in set(placed["pole_type"].map(_type))]
    for j, t in enumerate(types):
        parts.append(_svg_marker(_SVG_MARKERS.get(t, "circle"), lx + 6, ly + 20 + 20 * j, "#ffffff")
                     + f'<text x="{lx + 18}" y="{ly + 24 + 20 * j}" font-size="11.5" fill="#334e68">'
                       f"{e(POLE_TYPE_LABELS[t])}</text>")
    sy = ly + 40 + 20 * len(types)
    parts.append(f'<text x="{lx}" y="{sy}" font-size="12" font-weight="600" fill="#243b53">ESS ↔ cluster</text>')
    for k, v in enumerate(np.linspace(1, -1, 9)):
        parts.append(f'<rect x="{lx}" y="{sy + 8 + 14 * k}" width="16" height="14" fill="{_diverging(v)}" '
                     'stroke="#d9dee4" stroke-width="0.5"/>')
    parts.append(f'<text x="{lx + 22}" y="{sy + 19}" font-size="11" fill="#616e7c">+1 valeurs de l\'ESS</text>'
                 f'<text x="{lx + 22}" y="{sy + 8 + 14 * 9 - 3}" font-size="11" fill="#616e7c">−1 cluster</text>'
                 f'<rect x="{lx}" y="{sy + 8 + 14 * 9 + 10}" width="16" height="14" fill="#B0B0B0"/>'
                 f'<text x="{lx + 22}" y="{sy + 8 + 14 * 9 + 21}" font-size="11" fill="#616e7c">non calculé</text>')
    parts.append("</svg>")
    parts.append('<ol class="note" id="profiles-key">' + "".join(
        f'<li value="{k}">{e(", ".join(names))}</li>' for k, (_, names) in enumerate(places, start=1)) + "</ol>")
    missing = profiles[~profiles.index.isin(placed.index)]
    if len(missing):
        names = ", ".join(str(p) for p in missing["pole"])
        parts.append(f'<p class="note" id="profiles-missing">Non placés (pas assez d\'indices sur un axe au moins) : '
                     f"{e(names)}.</p>")
    return "".join(parts)


def _svg_marker(shape: str, cx: float, cy: float, color: str) -> str:
    style = f'fill="{color}" stroke="#333" stroke-width="1"'
    if shape == "square":
        return f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" {style}/>'
    if shape == "triangle":
        return f'<polygon points="{cx:.1f},{cy - 6:.1f} {cx + 6:.1f},{cy + 5:.1f} {cx - 6:.1f},{cy + 5:.1f}" {style}/>'
    if shape == "diamond":
        return (f'<polygon points="{cx:.1f},{cy - 6.5:.1f} {cx + 6.5:.1f},{cy:.1f} {cx:.1f},{cy + 6.5:.1f} '
                f'{cx - 6.5:.1f},{cy:.1f}" {style}/>')
    if shape == "cross":
        return (f'<path d="M{cx - 2:.1f},{cy - 6:.1f}h4v4h4v4h-4v4h-4v-4h-4v-4h4z" {style}/>')
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5.5" {style}/>'


def _cell(row: Mapping, prefix: str) -> str:
    score = row.get(f"{prefix}_score")
    n = fmt_int(row.get(f"{prefix}_n"))
    if score is None or pd.isna(score):
        return f'<td class="num" title="{n} indices">—</td>'
    return (f'<td class="num" style="white-space:nowrap" title="{n} indices">{fmt(score)} <span class="note">[{fmt(row.get(prefix + "_low"))} ; '
            f"{fmt(row.get(prefix + '_high'))}] n = {n}</span></td>")


def _scores_table(profiles: pd.DataFrame) -> str:
    rows = []
    for _, row in profiles.iterrows():
        r = row.to_dict()
        reason = "" if pd.isna(r.get("reason")) else str(r.get("reason"))
        rows.append(f"<tr><td>{e(r['pole'])}</td><td>{_pole_type_swatch(_type(r.get('pole_type')))}</td>"
                    f"{_cell(r, 'ess_cluster')}{_cell(r, 'territorialisation')}{_cell(r, 'governance')}"
                    f'<td class="note">{e(reason)}</td></tr>')
    return ('<h3>Scores des trois axes</h3><table class="wide" id="profiles-table"><tr><th>Pôle</th><th>Type</th>'
            "<th class=num>ESS ↔ cluster</th><th class=num>Territorialisation</th><th class=num>Gouvernance</th>"
            "<th>Remarque</th></tr>" + "".join(rows) + "</table>")


def _referentiel(ctx) -> str:
    out = ["<h3>Indicateurs du référentiel PTCE attestés par pôle</h3>"
           '<p class="note">Pour chaque pôle, les indicateurs prioritaires du référentiel PTCE (a2 … g2) dont ses '
           f"textes portent la trace, avec au plus {QUOTES_PER_INDICATOR} passages cités (document et position "
           "dans le texte original ; tous figurent dans pole_referentiel.csv).</p>"]
    if not _has(ctx.tables, "pole_referentiel"):
        out.append(_absent("Aucun passage du référentiel PTCE n'a été repéré (pole_referentiel.csv vide ou absente)."))
        return "".join(out)
    evidence = ctx.tables["pole_referentiel"]
    texts = {d.doc_id: d.text for d in ctx.documents}
    for pole, group in evidence.groupby("pole", sort=False):
        pole_type = _type(group["pole_type"].iloc[0])
        items = []
        for code_id, hits in group.groupby("code_id", sort=False):
            quotes = []
            for r in hits.head(QUOTES_PER_INDICATOR).itertuples():
                a, b = int(r.start_char), int(r.end_char)
                text = texts.get(str(r.doc_id))
                if text is not None and text[a:b] == str(r.text):
                    left, right = kwic_context(text, a, b, 10)
                    body = f"… {escape_text(left)} <b>{escape_text(text[a:b])}</b> {escape_text(right)} …"
                else:
                    body = f"<b>{escape_text(str(r.text))}</b>"
                anchor = ctx.anchors.get(str(r.doc_id))
                where = (f'<a href="#{e(anchor)}">{e(r.doc_id)}</a>' if anchor else e(r.doc_id))
                quotes.append(f"<blockquote>{body}<cite>{where}, caractères {a}–{b}</cite></blockquote>")
            items.append(f"<li><b>{e(hits['label'].iloc[0])}</b> <span class=\"note\">({len(hits)} passage"
                         f"{'s' if len(hits) != 1 else ''})</span>{''.join(quotes)}</li>")
        n = group["code_id"].nunique()
        out.append(f'<details class="code referentiel" data-pole="{e(pole)}"><summary><b>{e(pole)}</b> '
                   f"{_pole_type_swatch(pole_type)} <span class=\"note\">({n} indicateur{'s' if n != 1 else ''} sur 10)"
                   f"</span></summary><ul>{''.join(items)}</ul></details>")
    if _has(ctx.tables, "pole_profiles"):
        without = [str(p) for p in ctx.tables["pole_profiles"]["pole"] if str(p) not in set(evidence["pole"])]
        if without:
            out.append(f'<p class="note" id="referentiel-none">Aucun indicateur attesté : {e(", ".join(without))}.</p>')
    return "".join(out)
