"""wiretrace: trace how news text travels between outlets.

Public API (stable):

    from pipeline import clean_document, split_sentences, compare_sentences
"""

from __future__ import annotations

from pipeline.core.clean import clean_document
from pipeline.core.compare import compare_sentences
from pipeline.core.segment import split_sentences

__all__ = ["clean_document", "split_sentences", "compare_sentences", "__version__"]
__version__ = "0.1.0"
