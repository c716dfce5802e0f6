"""Builders of small real files for the reader and bad-input tests."""

from __future__ import annotations

import io
from pathlib import Path

TEXT = ("Le pôle territorial de coopération économique réunit des associations, des coopératives "
        "et la communauté de communes. Sa gouvernance est collégiale et démocratique.")


def make_pdf(path: Path, paragraphs: list[str] | None = None, *, text_layer: bool = True) -> Path:
    """A one-page PDF with a text layer (or only drawings, like a scan)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    if text_layer:
        y = 780
        for paragraph in paragraphs or [TEXT]:
            pdf.drawString(72, y, paragraph[:90])
            y -= 20
    else:
        pdf.rect(72, 400, 300, 300, fill=1)  # an image-like page: no characters at all
    pdf.showPage()
    pdf.save()
    path.write_bytes(buffer.getvalue())
    return path


def make_docx(path: Path, paragraphs: list[str]) -> Path:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    document.save(str(path))
    return path


def make_odt(path: Path, paragraphs: list[str]) -> Path:
    from odf import text
    from odf.opendocument import OpenDocumentText

    document = OpenDocumentText()
    for p in paragraphs:
        document.text.addElement(text.P(text=p))
    document.save(str(path))
    return path
