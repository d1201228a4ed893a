"""``clean_document``: the public entry point of the clean stage."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from pipeline.core.clean import rules
from pipeline.core.clean.extract import extract_html
from pipeline.core.clean.result import CleanError, CleanResult, RemovedSpan
from pipeline.core.clean.text import clean_text
from pipeline.core.decode import DecodeError, decode_bytes, fix_line_endings

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.core.templates import SourceTemplates

KINDS = ("text", "html")
_HAS_WORD = re.compile(r"\w")


def _decode(data: bytes) -> tuple[str, str | None, list[str]]:
    """Bytes to NFC text with ``\\n`` line ends (pipeline.core.decode)."""
    try:
        decoded = decode_bytes(data)
    except DecodeError as exc:
        reason = getattr(exc, "reason", "undecodable")
        if reason == "empty":
            return "", None, []
        raise CleanError(
            "binary" if reason == "binary" else "undecodable", f"cannot decode input: {exc}"
        ) from exc
    return normalise_text(decoded.text), decoded.encoding, list(decoded.repairs)


def normalise_text(text: str) -> str:
    """NFC and ``\\n`` line endings: what offsets of text input refer to."""
    return unicodedata.normalize("NFC", fix_line_endings(text))


def cleaner_input(raw: str, kind: str = "text") -> str | None:
    """The text that ``clean_document(raw, kind)``'s offsets refer to (``CleanResult.input_text``):
    for text the normalised input, for HTML the normalised text trafilatura extracts (None when it
    finds no article)."""
    text = normalise_text(raw)
    if kind != "html":
        return text
    if not _HAS_WORD.search(text):
        return None
    ex = extract_html(text)
    return None if ex is None else normalise_text(ex.text)


def clean_document(
    raw: str | bytes,
    kind: str = "text",
    source: str | None = None,
    templates: SourceTemplates | None = None,
    *,
    html_options: dict[str, Any] | None = None,
) -> CleanResult:
    """Clean one document.

    ``kind="text"``: ``raw`` is page text; offsets refer to it after decoding and normalisation.
    ``kind="html"``: ``raw`` is an HTML page; trafilatura extracts body and metadata first and the
    text rules run on its output (offsets refer to that extracted text).
    ``source`` + ``templates`` (from ``pipeline.core.templates.learn_templates``) remove lines the
    source repeats across its documents. Raises ``CleanError`` for unusable input (not str/bytes,
    unknown kind, bytes that are not text); returns ``status="empty"`` with ``empty_reason`` when
    no article text remains.
    """
    if kind not in KINDS:
        raise CleanError("bad_kind", f"kind must be one of {KINDS}, got {kind!r}")
    encoding: str | None = None
    repairs: list[str] = []
    if isinstance(raw, (bytes, bytearray, memoryview)):
        text, encoding, repairs = _decode(bytes(raw))
    elif isinstance(raw, str):
        text = normalise_text(raw)
    else:
        raise CleanError("bad_type", f"raw must be str or bytes, got {type(raw).__name__}")

    meta: dict[str, Any] = {}
    if kind == "html":
        if not _HAS_WORD.search(text[:10_000_000] if len(text) > 10_000_000 else text):
            return CleanResult(
                text="",
                input_text="",
                kind=kind,
                status="empty",
                empty_reason="no_text",
                encoding=encoding,
                repairs=repairs,
            )
        ex = extract_html(text, html_options)
        if ex is None:
            return CleanResult(
                text="",
                input_text="",
                kind=kind,
                status="empty",
                empty_reason="no_article",
                encoding=encoding,
                repairs=repairs,
            )
        input_text = normalise_text(ex.text)
        outcome = clean_text(
            input_text,
            html=True,
            source=source,
            templates=templates,
            html_title=ex.title,
            html_headings=ex.headings,
        )
        meta = {
            "title": ex.title,
            "published_at": ex.date,
            "author": ex.author,
            "url": ex.url,
            "sitename": ex.sitename,
        }
        if not meta["published_at"]:
            meta["published_at"] = outcome.published_at
        if not meta["author"]:
            meta["author"] = outcome.author
    else:
        input_text = text
        outcome = clean_text(input_text, html=False, source=source, templates=templates)
        meta = {
            "title": outcome.title,
            "published_at": outcome.published_at,
            "author": outcome.author,
            "url": None,
            "sitename": None,
        }

    result = CleanResult(
        text=outcome.text,
        input_text=input_text,
        kind=kind,
        kept=outcome.kept,
        removed=outcome.removed,
        headings=outcome.headings,
        encoding=encoding,
        repairs=repairs,
        **meta,
    )
    if not _HAS_WORD.search(result.text):
        _demote(result, "no_text" if not _HAS_WORD.search(input_text) else "all_boilerplate")
    elif not _article_like(result.paragraphs):
        _demote(result, "not_article")
    return result


#: fewer words than this, and no paragraph reading like a sentence: not article text
MIN_ARTICLE_WORDS = 12


def _article_like(paragraphs: list[str]) -> bool:
    """Some article text remains: a sentence of four words or more, or at least MIN_ARTICLE_WORDS words."""
    total = 0
    for p in paragraphs:
        words = rules.word_count(p)
        if words >= 4 and rules.ends_sentence(p):
            return True
        total += words
        if total >= MIN_ARTICLE_WORDS:
            return True
    return False


def _demote(result: CleanResult, empty_reason: str) -> None:
    """Nothing article-like remains: the kept pieces become removed spans and the status is empty."""
    extra = [RemovedSpan(k.start, k.end, k.text, "not_article", "document") for k in result.kept]
    result.removed = sorted(result.removed + extra, key=lambda r: r.start)
    result.kept = []
    result.text = ""
    result.headings = []
    result.status = "empty"
    result.empty_reason = empty_reason
