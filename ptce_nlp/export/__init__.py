"""Exports of the coding for other tools, and import of QDA tools' projects.

- :mod:`.qdpx`: REFI-QDA project (``.qdpx``) and codebook (``.qdc``) export
  and import, for NVivo, ATLAS.ti, MAXQDA, QualCoder...;
- :mod:`.tables`: CSV (optionally for French Excel), one XLSX workbook, JSONL;
- :mod:`.iramuteq`: a corpus for IRaMuTeQ (Reinert classification).
"""

from .iramuteq import iramuteq_corpus, iramuteq_token, write_iramuteq
from .qdpx import (ImportedProject, QdaImportError, QdaExportError, newline_map, read_qdc, read_qdpx, write_qdc,
                   write_qdpx)
from .tables import write_jsonl, write_tables, write_xlsx

__all__ = [
    "iramuteq_corpus", "iramuteq_token", "write_iramuteq",
    "ImportedProject", "QdaImportError", "QdaExportError", "newline_map", "read_qdc", "read_qdpx", "write_qdc",
    "write_qdpx",
    "write_jsonl", "write_tables", "write_xlsx",
]
