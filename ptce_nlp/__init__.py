"""ptce_nlp: qualitative text mining of French documents on territorial economic poles.

The pipeline runs one way: ``Document -> Segment -> coded spans -> tables ->
exports and report``. This package exposes the library API; the ``ptce-nlp``
command is a thin layer over it.
"""

from .clean import CleanText, clean_text
from .corpus import Corpus, find_sources, load_manifest, read_corpus
from .errors import (CorruptFileError, EmptyFileError, FileTooLargeError, InputFileError, ManifestError,
                     NoTextLayerError, NotTextError, OutputError, PtceError, UnreadableFileError,
                     UnsupportedFormatError)
from .ingest import IngestResult, ingest, write_ingest
from .readers import read_file
from .segment import segment_document
from .types import Document, ReadFailure, Segment

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CleanText", "clean_text",
    "Corpus", "find_sources", "load_manifest", "read_corpus",
    "CorruptFileError", "EmptyFileError", "FileTooLargeError", "InputFileError", "ManifestError",
    "NoTextLayerError", "NotTextError", "OutputError", "PtceError", "UnreadableFileError",
    "UnsupportedFormatError",
    "IngestResult", "ingest", "write_ingest",
    "read_file", "segment_document",
    "Document", "ReadFailure", "Segment",
]

# --- exports, QDA import and agreement (issue 5)
from .agreement import (AgreementResult, cohen_kappa, compare_codings, krippendorff_alpha,  # noqa: E402
                        percent_agreement, segment_units, sentence_units)
from .export import (ImportedProject, QdaExportError, QdaImportError, read_qdc, read_qdpx,  # noqa: E402
                     write_iramuteq, write_jsonl, write_qdc, write_qdpx, write_tables, write_xlsx)

__all__ += [
    "AgreementResult", "cohen_kappa", "compare_codings", "krippendorff_alpha", "percent_agreement",
    "segment_units", "sentence_units",
    "ImportedProject", "QdaExportError", "QdaImportError", "read_qdc", "read_qdpx", "write_iramuteq",
    "write_jsonl", "write_qdc", "write_qdpx", "write_tables", "write_xlsx",
]
# The main job and its report (issue 6). Imported on first use: they pull in spaCy and matplotlib, which
# `ptce-nlp --help` and the light commands do not need.
_LAZY = {"NoUsableInputError": "pipeline", "RunResult": "pipeline", "run": "pipeline",
         "render_report": "report", "write_figures": "report", "write_report": "report"}
__all__ += list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
