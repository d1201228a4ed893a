"""wiretrace: trace how news text travels between outlets.

Public API (stable):

    from pipeline import clean_document, split_sentences, compare_sentences

Imports are lazy so that ``import pipeline`` stays cheap (the Dagster code location and the
command line import only what they use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["clean_document", "split_sentences", "compare_sentences", "__version__"]
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.core.clean import clean_document
    from pipeline.core.compare import compare_sentences
    from pipeline.core.segment import split_sentences


def __getattr__(name: str) -> Any:
    if name == "clean_document":
        from pipeline.core.clean import clean_document

        return clean_document
    if name == "split_sentences":
        from pipeline.core.segment import split_sentences

        return split_sentences
    if name == "compare_sentences":
        from pipeline.core.compare import compare_sentences

        return compare_sentences
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
