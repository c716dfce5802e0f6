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

# Exported lazily, so that `import ptce_nlp` (and `ptce-nlp --help`) does not pay for importing spaCy,
# scikit-learn, scipy and matplotlib: topics and closeness (issue 4), the main job and its report (issue 6);
# exports, QDA import and agreement (issue 5) too, which a warm re-code does not need (issue 13).
_LAZY = {
    "agreement": ("AgreementResult", "cohen_kappa", "compare_codings", "krippendorff_alpha", "percent_agreement",
                  "segment_units", "sentence_units"),
    "export": ("ImportedProject", "QdaExportError", "QdaImportError", "read_qdc", "read_qdpx", "write_iramuteq",
               "write_jsonl", "write_qdc", "write_qdpx", "write_tables", "write_xlsx"),
    "closeness": ("ClosenessModel", "Wordscores", "closeness_tables", "method_agreement", "pole_type_agreement"),
    "features": ("LemmaVectorizer", "TermUnits", "extract_units", "seed_terms"),
    "models": ("ModelError", "ModelVersionError", "SavedModel", "load_model", "save_model"),
    "topics": ("SeededNMF", "TopicModel", "TopicsResult", "fit_topics", "npmi", "select_k"),
    "pipeline": ("NoUsableInputError", "RunResult", "run"),
    "report": ("render_report", "write_figures", "write_report"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}
__all__ += list(_LAZY_NAMES)


def __getattr__(name: str):
    if name in _LAZY_NAMES:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))
