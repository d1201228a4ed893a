"""The clean stage: raw page text or HTML in, article text out, with every removal accounted for.

    from pipeline import clean_document
    r = clean_document(raw, kind="text" | "html", source=None, templates=None)
    r.text        # paragraphs separated by a blank line
    r.removed     # RemovedSpan(start, end, text, reason, stage), offsets in r.input_text
    r.kept        # KeptSpan(start, end, text, paragraph), offsets in r.input_text
    r.headings    # Heading(paragraph, start, end, text), offsets in r.text
    reconstruct(r) == r.input_text

See ``result`` for the data model and the reason vocabulary (``REASONS``), ``rules`` for the rules and
``text`` for the order in which they run.
"""

from __future__ import annotations

from pipeline.core.clean.document import clean_document
from pipeline.core.clean.result import (
    REASONS,
    STAGES,
    CleanError,
    CleanResult,
    Heading,
    KeptSpan,
    RemovedSpan,
    paragraph_texts,
    reconstruct,
)

__all__ = [
    "REASONS",
    "STAGES",
    "CleanError",
    "CleanResult",
    "Heading",
    "KeptSpan",
    "RemovedSpan",
    "clean_document",
    "paragraph_texts",
    "reconstruct",
]
