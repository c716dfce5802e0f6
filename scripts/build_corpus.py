#!/usr/bin/env python3
"""Regenerate the bundled corpus from its text sources.

Each document is written in ``corpus/src/<doc_id>.md`` (a light Markdown:
``# title``, ``## heading``, paragraphs on one line, ``- `` bullets,
``[^n]`` footnote calls with ``[^n]: text`` notes at the end). This script
renders every source into the format the catalogue below gives it, as
researchers receive such documents (Word, LibreOffice, PDF with running
headers, page numbers and hyphenation, web pages, Windows-1252 text...),
and writes ``corpus/manifest.csv``.

Usage: ``python scripts/build_corpus.py`` (needs the ``dev`` extras:
reportlab for the PDFs). The output is deterministic: same sources, same
files (document dates are fixed).
"""

from __future__ import annotations

import csv
import html
import io
import re
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SRC = CORPUS / "src"


@dataclass(frozen=True)
class Entry:
    doc_id: str
    path: str  # relative to corpus/, suffix gives the format
    pole: str
    pole_type: str
    genre: str
    region: str
    year: int
    encoding: str = "utf-8"  # text formats only
    newline: str = "\n"
    wrap: int = 0  # hard-wrap text formats at this width (0: one line per paragraph)
    header: str = ""  # running header of PDFs


CATALOG = [
    # PTCE fiches
    Entry("ptce_pole_sud_archer", "fiches/ptce/pole_sud_archer.docx", "Pôle Sud / Archer", "ptce", "fiche", "Auvergne-Rhône-Alpes", 2015),
    Entry("ptce_domb_innov", "fiches/ptce/domb_innov.odt", "Domb'Innov", "ptce", "fiche", "Auvergne-Rhône-Alpes", 2014),
    Entry("ptce_re_sources", "fiches/ptce/re_sources.txt", "Re-Sources", "ptce", "fiche", "Provence-Alpes-Côte d'Azur", 2016, encoding="cp1252", newline="\r\n"),
    Entry("ptce_ecotransfaire", "fiches/ptce/ecotransfaire.pdf", "EcoTransFaire", "ptce", "fiche", "Provence-Alpes-Côte d'Azur", 2015, header="Fiche PTCE · EcoTransFaire"),
    Entry("ptce_pollens", "fiches/ptce/pollens.txt", "POLLENS", "ptce", "fiche", "Auvergne-Rhône-Alpes", 2013, wrap=78),
    Entry("ptce_pole_sud_aquitaine", "fiches/ptce/pole_sud_aquitaine.html", "Pôle Sud Aquitaine", "ptce", "fiche", "Nouvelle-Aquitaine", 2015),
    Entry("ptce_ecomateriaux_bois", "fiches/ptce/ecomateriaux_bois.pdf", "Pôle éco-matériaux bois-chanvre", "ptce", "fiche", "Bourgogne-Franche-Comté", 2017, header="Présentation du pôle · Éco-matériaux"),
    Entry("ptce_patrimoines_roannais", "fiches/ptce/patrimoines_roannais.md", "Réseau des patrimoines du Roannais", "ptce", "fiche", "Auvergne-Rhône-Alpes", 2013),
    Entry("ptce_tetris_grasse", "fiches/ptce/tetris_grasse.docx", "TETRIS", "ptce", "fiche", "Provence-Alpes-Côte d'Azur", 2016),
    Entry("ptce_le_damier", "fiches/ptce/le_damier.html", "Le Damier", "ptce", "fiche", "Auvergne-Rhône-Alpes", 2016),
    Entry("ptce_clus_ter_jura", "fiches/ptce/clus_ter_jura.odt", "Clus'Ter Jura", "ptce", "fiche", "Bourgogne-Franche-Comté", 2015),
    Entry("ptce_coop_alpha", "fiches/ptce/coop_alpha.txt", "Coop'Alpha", "ptce", "fiche", "Nouvelle-Aquitaine", 2016, encoding="utf-8-sig"),
    Entry("ptce_ecopole_alimentaire", "fiches/ptce/ecopole_alimentaire.md", "Écopôle alimentaire d'Audruicq", "ptce", "fiche", "Hauts-de-France", 2014, wrap=80),
    Entry("ptce_mobilite_solidaire", "fiches/ptce/mobilite_solidaire.txt", "Pôle de mobilité solidaire", "ptce", "fiche", "Occitanie", 2017, encoding="cp1252"),
    # pôles de compétitivité and clusters
    Entry("pdc_minalogic", "fiches/poles_competitivite/minalogic.pdf", "Minalogic", "pole_competitivite", "fiche", "Auvergne-Rhône-Alpes", 2015, header="Minalogic · Fiche d'identité"),
    Entry("pdc_emc2", "fiches/poles_competitivite/emc2.html", "EMC2", "pole_competitivite", "fiche", "Pays de la Loire", 2016),
    Entry("pdc_pole_mer_bretagne", "fiches/poles_competitivite/pole_mer_bretagne.docx", "Pôle Mer Bretagne Atlantique", "pole_competitivite", "fiche", "Bretagne", 2015),
    Entry("pdc_pole_mer_mediterranee", "fiches/poles_competitivite/pole_mer_mediterranee.odt", "Pôle Mer Méditerranée", "pole_competitivite", "fiche", "Provence-Alpes-Côte d'Azur", 2015),
    Entry("pdc_lyonbiopole", "fiches/poles_competitivite/lyonbiopole.txt", "Lyonbiopole", "pole_competitivite", "fiche", "Auvergne-Rhône-Alpes", 2014),
    Entry("pdc_axelera", "fiches/poles_competitivite/axelera.md", "Axelera", "pole_competitivite", "fiche", "Auvergne-Rhône-Alpes", 2016),
    Entry("pdc_alsace_biovalley", "fiches/poles_competitivite/alsace_biovalley.pdf", "Alsace BioValley", "pole_competitivite", "fiche", "Grand Est", 2016, header="Alsace BioValley — présentation"),
    Entry("pdc_derbi", "fiches/poles_competitivite/derbi.docx", "DERBI", "pole_competitivite", "fiche", "Occitanie", 2014),
    Entry("pdc_pass", "fiches/poles_competitivite/pass.html", "PASS", "pole_competitivite", "fiche", "Provence-Alpes-Côte d'Azur", 2015),
    Entry("cluster_lumiere", "fiches/clusters/cluster_lumiere.txt", "Cluster Lumière", "cluster", "fiche", "Auvergne-Rhône-Alpes", 2014, encoding="cp1252", newline="\r\n"),
    # industrial districts / SPL
    Entry("spl_decolletage_arve", "fiches/districts/decolletage_arve.odt", "SPL du décolletage de la vallée de l'Arve", "district_spl", "fiche", "Auvergne-Rhône-Alpes", 2012),
    Entry("spl_lunetterie_jura", "fiches/districts/lunetterie_jura.pdf", "SPL de la lunetterie de Morez", "district_spl", "fiche", "Bourgogne-Franche-Comté", 2011, header="Systèmes productifs locaux · Jura"),
    Entry("spl_textile_roannais", "fiches/districts/textile_roannais.docx", "SPL textile du Roannais", "district_spl", "fiche", "Auvergne-Rhône-Alpes", 2012),
    # monographs
    Entry("mono_pole_sud_archer", "monographies/pole_sud_archer.pdf", "Pôle Sud / Archer", "ptce", "monographie", "Auvergne-Rhône-Alpes", 2016, header="Monographie · Le PTCE Pôle Sud à Romans-sur-Isère"),
    Entry("mono_patrimoines_roannais", "monographies/patrimoines_roannais.docx", "Réseau des patrimoines du Roannais", "ptce", "monographie", "Auvergne-Rhône-Alpes", 2014),
    Entry("mono_minalogic_grenoble", "monographies/minalogic_grenoble.pdf", "Minalogic", "pole_competitivite", "monographie", "Auvergne-Rhône-Alpes", 2014, header="Cahiers de recherche · Minalogic et l'écosystème grenoblois"),
    Entry("mono_tetris_transition", "monographies/tetris_transition.odt", "TETRIS", "ptce", "monographie", "Provence-Alpes-Côte d'Azur", 2018),
    # references (ends of the closeness scale)
    Entry("reference_ess", "references/reference_ess.md", "Référence ESS", "reference", "reference", "", 2020),
    Entry("reference_cluster", "references/reference_cluster.txt", "Référence clusters", "reference", "reference", "", 2020),
]


# --------------------------------------------------------------------------- source model

@dataclass
class Block:
    kind: str  # title, h2, h3, p, li
    text: str  # may hold [^n] calls


def parse_source(path: Path) -> tuple[list[Block], dict[str, str]]:
    blocks: list[Block] = []
    notes: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.rstrip()
        if not line.strip():
            continue
        if m := re.match(r"^\[\^(\d+)\]:\s*(.*)$", line):
            notes[m.group(1)] = m.group(2)
        elif line.startswith("### "):
            blocks.append(Block("h3", line[4:].strip()))
        elif line.startswith("## "):
            blocks.append(Block("h2", line[3:].strip()))
        elif line.startswith("# "):
            blocks.append(Block("title", line[2:].strip()))
        elif line.startswith("- "):
            blocks.append(Block("li", line[2:].strip()))
        else:
            blocks.append(Block("p", line.strip()))
    return blocks, notes


_CALL_RE = re.compile(r"\[\^(\d+)\]")


def pieces(text: str) -> list[tuple[str, bool]]:
    """Split text into (chunk, is_footnote_call) pieces."""
    out, pos = [], 0
    for m in _CALL_RE.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(1), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def plain(text: str) -> str:
    """Footnote calls glued to the word, as copy-paste from a word processor gives them."""
    return _CALL_RE.sub(lambda m: m.group(1), text)


def with_notes(blocks: list[Block], notes: dict[str, str]) -> list[Block]:
    if not notes:
        return blocks
    return blocks + [Block("h2", "Notes")] + [Block("note", f"{k}. {v}") for k, v in sorted(notes.items(), key=lambda kv: int(kv[0]))]


# --------------------------------------------------------------------------- renderers

def render_txt(entry: Entry, blocks: list[Block], notes: dict[str, str], out: Path) -> None:
    lines: list[str] = []
    for b in with_notes(blocks, notes):
        text = plain(b.text)
        prefix = "- " if b.kind == "li" else ""
        if b.kind == "title":
            text = text.upper()
        if entry.wrap and b.kind in ("p", "li", "note"):
            wrapped = textwrap.wrap(prefix + text, entry.wrap, subsequent_indent="  " if prefix else "",
                                    break_on_hyphens=False)
            lines.append("\n".join(wrapped))
        else:
            lines.append(prefix + text)
    body = "\n\n".join(lines) + "\n"
    out.write_bytes(body.replace("\n", entry.newline).encode(entry.encoding))


def render_md(entry: Entry, blocks: list[Block], notes: dict[str, str], out: Path) -> None:
    lines: list[str] = []
    marks = {"title": "# ", "h2": "## ", "h3": "### ", "li": "- ", "p": ""}
    for b in blocks:
        if entry.wrap and b.kind in ("p", "li"):
            lines.append("\n".join(textwrap.wrap(marks[b.kind] + b.text, entry.wrap,
                                                 subsequent_indent="  " if b.kind == "li" else "",
                                                 break_on_hyphens=False)))
        else:
            lines.append(marks[b.kind] + b.text)
    lines += [f"[^{k}]: {v}" for k, v in sorted(notes.items(), key=lambda kv: int(kv[0]))]
    out.write_bytes(("\n\n".join(lines) + "\n").encode(entry.encoding))


def render_html(entry: Entry, blocks: list[Block], notes: dict[str, str], out: Path) -> None:
    def inline(text: str) -> str:
        return "".join(f'<sup><a href="#note{c}">{c}</a></sup>' if call else html.escape(c, quote=False)
                       for c, call in pieces(text))

    title = next((b.text for b in blocks if b.kind == "title"), entry.pole)
    body: list[str] = []
    in_list = False
    for b in blocks:
        if b.kind != "li" and in_list:
            body.append("    </ul>")
            in_list = False
        if b.kind == "title":
            body.append(f"    <h1>{inline(b.text)}</h1>")
        elif b.kind == "h2":
            body.append(f"    <h2>{inline(b.text)}</h2>")
        elif b.kind == "h3":
            body.append(f"    <h3>{inline(b.text)}</h3>")
        elif b.kind == "li":
            if not in_list:
                body.append("    <ul>")
                in_list = True
            body.append(f"      <li>{inline(b.text)}</li>")
        else:
            body.append(f"    <p>{inline(b.text)}</p>")
    if in_list:
        body.append("    </ul>")
    if notes:
        body.append('    <section class="notes"><h2>Notes</h2><ol>')
        body += [f'      <li id="note{k}">{html.escape(v)}</li>' for k, v in sorted(notes.items(), key=lambda kv: int(kv[0]))]
        body.append("    </ol></section>")
    page = f"""<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>{html.escape(plain(title))} | {html.escape(entry.pole)}</title>
  <style>body {{ font-family: sans-serif; max-width: 50em; margin: auto; }} nav a {{ margin-right: 1em; }}</style>
  <script>window.dataLayer = window.dataLayer || []; var menu = "<p>Menu principal</p>";</script>
</head>
<body>
  <header>
    <nav><a href="/">Accueil</a><a href="/actualites">Actualités</a><a href="/adherer">Adhérer</a><a href="/contact">Contact</a></nav>
  </header>
  <main>
  <article>
{chr(10).join(body)}
  </article>
  </main>
  <footer><p>© {entry.year} {html.escape(entry.pole)} · Mentions légales · Plan du site</p></footer>
  <script>document.querySelectorAll("nav a").forEach(function (a) {{ a.title = a.textContent; }});</script>
</body>
</html>
"""
    out.write_bytes(page.encode("utf-8"))


def render_docx(entry: Entry, blocks: list[Block], notes: dict[str, str], out: Path) -> None:
    import datetime

    import docx

    document = docx.Document()
    props = document.core_properties
    props.author = "ptce_nlp corpus"
    props.created = props.modified = datetime.datetime(entry.year, 6, 1, 12, 0, 0)
    props.title = next((plain(b.text) for b in blocks if b.kind == "title"), entry.pole)
    for b in with_notes(blocks, notes):
        if b.kind == "title":
            paragraph = document.add_heading(level=0)
        elif b.kind in ("h2", "h3"):
            paragraph = document.add_heading(level=1 if b.kind == "h2" else 2)
        elif b.kind == "li":
            paragraph = document.add_paragraph(style="List Bullet")
        else:
            paragraph = document.add_paragraph()
        for chunk, call in pieces(b.text):
            run = paragraph.add_run(chunk)
            run.font.superscript = call or None
    buffer = io.BytesIO()
    document.save(buffer)
    out.write_bytes(_fixed_zip(buffer.getvalue()))


def render_odt(entry: Entry, blocks: list[Block], notes: dict[str, str], out: Path) -> None:
    from odf import style, text
    from odf.opendocument import OpenDocumentText

    document = OpenDocumentText()
    sup = style.Style(name="Exposant", family="text")
    sup.addElement(style.TextProperties(textposition="super 58%"))
    document.automaticstyles.addElement(sup)
    bold = style.Style(name="Titre", family="paragraph")
    bold.addElement(style.TextProperties(fontweight="bold", fontsize="16pt"))
    document.automaticstyles.addElement(bold)

    def fill(element, content: str) -> None:
        for chunk, call in pieces(content):
            if call:
                element.addElement(text.Span(stylename=sup, text=chunk))
            else:
                element.addText(chunk)

    current_list = None
    for b in with_notes(blocks, notes):
        if b.kind != "li":
            current_list = None
        if b.kind == "title":
            element = text.P(stylename=bold)
        elif b.kind in ("h2", "h3"):
            element = text.H(outlinelevel=1 if b.kind == "h2" else 2)
        elif b.kind == "li":
            if current_list is None:
                current_list = text.List()
                document.text.addElement(current_list)
            item = text.ListItem()
            element = text.P()
            item.addElement(element)
            current_list.addElement(item)
            fill(element, b.text)
            continue
        else:
            element = text.P()
        fill(element, b.text)
        document.text.addElement(element)
    buffer = io.BytesIO()
    document.write(buffer)
    out.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so regenerated files are identical."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            payload = re.sub(rb"<meta:creation-date>[^<]*</meta:creation-date>", b"", payload) \
                if info.filename == "meta.xml" else payload
            fixed = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, payload)
    return buffer.getvalue()


# --------------------------------------------------------------------------- PDF

_VOWELS = set("aeiouyàâäéèêëîïôöùûüœæ")


def hyphen_split(word: str, fits) -> tuple[str, str] | None:
    """Split a long word between syllables so that ``left + '-'`` fits the line."""
    letters = re.match(r"^([^\W\d_]+)(.*)$", word)
    if not letters or len(letters.group(1)) < 7:
        return None
    core = letters.group(1)
    for i in range(len(core) - 3, 2, -1):
        a, b = core[i - 1].lower(), core[i].lower()
        between = (a in _VOWELS and b not in _VOWELS and i + 1 < len(core) and core[i + 1].lower() in _VOWELS) or \
                  (a not in _VOWELS and b not in _VOWELS and (a + b) not in ("ch", "ph", "th", "gn", "qu", "gu")
                   and b not in "lr")
        if between and fits(word[:i] + "-"):
            return word[:i] + "-", word[i:]
    return None


def render_pdf(entry: Entry, blocks: list[Block], notes: dict[str, str], out: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    width, height = A4
    margin_x, top, bottom = 72, height - 80, 80
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle(entry.pole)
    pdf.setAuthor("ptce_nlp corpus")
    page_no = 1
    y = top

    def furniture() -> None:
        pdf.setFont("Helvetica-Oblique", 8)
        if entry.header:
            pdf.drawString(margin_x, height - 50, entry.header)
        pdf.drawCentredString(width / 2, 45, f"{page_no}")

    def new_page() -> None:
        nonlocal y, page_no
        pdf.showPage()
        page_no += 1
        furniture()
        y = top

    furniture()
    styles = {"title": ("Helvetica-Bold", 15, 20), "h2": ("Helvetica-Bold", 12.5, 17), "h3": ("Helvetica-Bold", 11, 15),
              "p": ("Helvetica", 10.5, 13.5), "li": ("Helvetica", 10.5, 13.5), "note": ("Helvetica", 8.5, 11)}
    for b in with_notes(blocks, notes):
        font, size, leading = styles[b.kind]
        indent = 14 if b.kind == "li" else 0
        max_w = width - 2 * margin_x - indent
        # words carry their footnote calls: (word, call)
        tokens: list[tuple[str, str]] = []
        for chunk, call in pieces(b.text):
            if call and tokens:
                tokens[-1] = (tokens[-1][0], chunk)
            else:
                tokens.extend((w, "") for w in chunk.split())
        lines: list[list[tuple[str, str]]] = [[]]
        line_w = 0.0
        space = stringWidth(" ", font, size)

        def tok_w(tok: tuple[str, str]) -> float:
            return stringWidth(tok[0], font, size) + (stringWidth(tok[1], font, size * 0.6) if tok[1] else 0)

        queue = list(tokens)
        while queue:
            tok = queue.pop(0)
            w = tok_w(tok)
            extra = w + (space if lines[-1] else 0)
            if line_w + extra <= max_w:
                lines[-1].append(tok)
                line_w += extra
                continue
            rest = max_w - line_w - (space if lines[-1] else 0)
            split = None if b.kind in ("title", "h2", "h3") else \
                hyphen_split(tok[0], lambda s: stringWidth(s, font, size) <= rest)
            if split:
                lines[-1].append((split[0], ""))
                queue.insert(0, (split[1], tok[1]))
            else:
                queue.insert(0, tok)
            lines.append([])
            line_w = 0.0
        if b.kind in ("title", "h2", "h3"):
            y -= leading * 0.6
            if y - 3 * leading < bottom:
                new_page()
        for n, line in enumerate(lines):
            if y < bottom:
                new_page()
            x = margin_x + indent
            if b.kind == "li" and n == 0:
                pdf.setFont(font, size)
                pdf.drawString(margin_x, y, "•")
            for word, call in line:
                pdf.setFont(font, size)
                pdf.drawString(x, y, word)
                x += stringWidth(word, font, size)
                if call:
                    pdf.setFont(font, size * 0.6)
                    pdf.drawString(x, y + size * 0.35, call)
                    x += stringWidth(call, font, size * 0.6)
                x += space
            y -= leading
        y -= leading * 0.5
    pdf.showPage()
    pdf.save()
    out.write_bytes(buffer.getvalue())


RENDERERS = {".txt": render_txt, ".md": render_md, ".html": render_html, ".docx": render_docx,
             ".odt": render_odt, ".pdf": render_pdf}


def main() -> int:
    missing = [e.doc_id for e in CATALOG if not (SRC / f"{e.doc_id}.md").is_file()]
    if missing:
        print(f"error: missing sources in {SRC}: {', '.join(missing)}", file=sys.stderr)
        return 1
    rows = []
    for entry in CATALOG:
        blocks, notes = parse_source(SRC / f"{entry.doc_id}.md")
        out = CORPUS / entry.path
        out.parent.mkdir(parents=True, exist_ok=True)
        RENDERERS[out.suffix](entry, blocks, notes, out)
        rows.append({"doc_id": entry.doc_id, "path": entry.path, "pole": entry.pole, "pole_type": entry.pole_type,
                     "genre": entry.genre, "region": entry.region, "year": entry.year,
                     "source": f"src/{entry.doc_id}.md (synthèse illustrative)"})
    with (CORPUS / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} documents and {CORPUS / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
