"""wiretrace: trace how news text travels between outlets.

Public API (stable):

    from pipeline import clean_document, split_sentences, compare_sentences
"""

from __future__ import annotations

import os

# polars allocates through its own jemalloc, which by default keeps freed pages for about ten seconds:
# in a run of large frame operations the memory each one frees piles up on top of the next one's. Set
# before polars is first imported (its allocator reads it then); the variable, when set, wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

from pipeline.core.clean import clean_document
from pipeline.core.compare import compare_sentences
from pipeline.core.segment import split_sentences

__all__ = ["clean_document", "split_sentences", "compare_sentences", "__version__"]
__version__ = "0.1.0"
