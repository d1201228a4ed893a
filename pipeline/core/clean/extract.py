"""HTML to text with trafilatura: the article body (one block per line) plus metadata and subheads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.core.clean.result import CleanError

#: HTML inputs above this size are cut at this many characters before extraction (trafilatura's
#: own default limit is 20 MB, above which it returns nothing).
MAX_HTML_CHARS = 30_000_000

#: options measured on the development set (see pipeline/evaluation/results/boilerplate.md)
DEFAULT_OPTIONS: dict[str, Any] = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
}


@dataclass
class Extracted:
    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None
    sitename: str | None = None
    headings: set[str] = field(default_factory=set)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _config():
    from trafilatura.settings import use_config

    cfg = use_config()
    cfg.set("DEFAULT", "MAX_FILE_SIZE", str(MAX_HTML_CHARS + 1))
    cfg.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return cfg


_CFG = None

#: precision-mode output shorter than this many characters triggers a second, default extraction
FALLBACK_BELOW = 1000
FALLBACK_RATIO = 2.0


def _run(trafilatura, html: str, opts: dict[str, Any]):
    try:
        return trafilatura.bare_extraction(html, with_metadata=True, config=_CFG, **opts)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):  # a misspelt option is the caller's error
            raise CleanError("bad_option", f"unknown HTML extraction option: {exc}") from exc
        raise CleanError("extraction_failed", f"HTML extraction failed: {exc}") from exc
    except (RecursionError, MemoryError) as exc:
        raise CleanError("extraction_failed", f"HTML extraction failed: {type(exc).__name__}") from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes one clear error type
        raise CleanError("extraction_failed", f"HTML extraction failed: {type(exc).__name__}: {exc}") from exc


def extract_html(html: str, options: dict[str, Any] | None = None) -> Extracted | None:
    """Run trafilatura; None when it finds no article.

    ``options`` override ``DEFAULT_OPTIONS`` (trafilatura keyword arguments) plus ``fallback``
    (default True): with ``favor_precision``, re-extract with default settings when precision mode
    kept under ``FALLBACK_BELOW`` characters and the default extraction finds at least twice as much.
    """
    global _CFG
    import trafilatura

    if _CFG is None:
        _CFG = _config()
    opts = dict(DEFAULT_OPTIONS)
    if options:
        opts.update(options)
    fallback = bool(opts.pop("fallback", True))
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
    doc = _run(trafilatura, html, opts)
    if (
        fallback
        and opts.get("favor_precision")
        and len((doc.text or "") if doc is not None else "") < FALLBACK_BELOW
    ):
        # precision mode sometimes keeps only a fragment of the article; when it kept little, the
        # default extraction is used if it finds at least twice as much text
        alt_opts = dict(opts, favor_precision=False)
        alt = _run(trafilatura, html, alt_opts)
        if alt is not None and len(alt.text or "") > FALLBACK_RATIO * len((doc.text or "") if doc else ""):
            doc = alt
    if doc is None or not (doc.text or "").strip():
        return None
    headings: set[str] = set()
    body = getattr(doc, "body", None)
    if body is not None:
        for head in body.iter("head"):
            t = " ".join("".join(head.itertext()).split())
            if t:
                headings.add(t)
    date = doc.date if doc.date and _ISO_DATE.match(doc.date) else None
    return Extracted(
        text=doc.text,
        title=doc.title or None,
        author=doc.author or None,
        date=date,
        url=doc.url or None,
        sitename=doc.sitename or None,
        headings=headings,
    )
