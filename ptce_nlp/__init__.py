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

# Topics and closeness (issue 4): exported lazily, so that `import ptce_nlp` (and every CLI command)
# does not pay for importing scikit-learn and scipy.
_LAZY = {
    "closeness": ("ClosenessModel", "Wordscores", "closeness_tables", "method_agreement", "pole_type_agreement"),
    "features": ("LemmaVectorizer", "TermUnits", "extract_units", "seed_terms"),
    "models": ("ModelError", "ModelVersionError", "SavedModel", "load_model", "save_model"),
    "topics": ("SeededNMF", "TopicModel", "TopicsResult", "fit_topics", "npmi", "select_k"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}
__all__ += list(_LAZY_NAMES)


def __getattr__(name: str):
    if name in _LAZY_NAMES:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
