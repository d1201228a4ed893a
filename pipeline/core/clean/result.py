"""Result types of the clean stage and the reconstruction invariant.

Every character of ``CleanResult.input_text`` other than whitespace belongs to exactly one span:
either a *kept* span (``KeptSpan``, article text) or a *removed* span (``RemovedSpan``, with a reason
code and the stage that removed it). Spans never start or end with whitespace and never overlap; what
lies between them is whitespace only (line breaks, blank lines, indentation, trailing spaces): layout,
not content, so it is never a removed span and never counted as removed. ``reconstruct(result)``
checks this and rebuilds ``result.input_text`` from the spans and the whitespace between them.

``CleanResult.text`` is built from the kept spans only: the kept spans of one paragraph are joined by a
single space (a paragraph has several kept spans when something was cut out of its middle, or when
hard-wrapped lines were merged into one paragraph), and paragraphs are joined by a blank line
(``"\\n\\n"``). ``paragraph_texts(result)`` rebuilds that list.

What ``input_text`` is:

* text input (``kind="text"``): the decoded input, NFC-normalised, with ``\\r\\n`` and ``\\r`` turned
  into ``\\n``;
* HTML input (``kind="html"``): the plain text that trafilatura extracted from the page (one block per
  line). HTML markup is not text, so offsets into the markup would be meaningless; what trafilatura
  dropped before that point (menus, scripts, the headline, which goes to ``title``) is not listed
  in ``removed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "CleanError",
    "CleanResult",
    "Heading",
    "KeptSpan",
    "REASONS",
    "RemovedSpan",
    "STAGES",
    "paragraph_texts",
    "reconstruct",
]

#: Stable reason codes of removed spans, with what they mean.
REASONS: dict[str, str] = {
    "title": "the headline (moved to CleanResult.title)",
    "metadata_line": "date / byline / publication stamp (moved to published_at / author when parsable)",
    "breadcrumb": "site navigation path such as 'News / Afghanistan'",
    "share_widget": "share / social buttons ('Share on Facebook', 'Tweet', 'Copy link')",
    "comment_widget": "comment form furniture ('Leave a Reply', 'Your email address will not be published')",
    "author_box": "author box heading or bio furniture ('About Author', 'View all posts by')",
    "source_link": "link back to the original source ('Source link', 'Originally published at')",
    "subscribe_prompt": "newsletter / subscription / sign-up prompts",
    "read_more": "'Read more', 'Related', 'See also' lines and their link text",
    "advertisement": "advertisement markers ('Advertisement', 'Story continues below')",
    "video_player": "video player furniture ('Play Video. Duration: ...') and the video title after it",
    "hashtags": "a line made only of hashtags",
    "disclaimer": "editor / publisher disclaimers ('not responsible for the content of external sites')",
    "alternate_addresses": "'can also be accessed at the following alternate addresses' block",
    "copyright": "copyright and licence footers ('(c) Copyright AFP 2024. All rights reserved.')",
    "photo_credit": "photo credits: '(AFP photo)', '(Reuters: Name)', 'Getty Images', a credit glued to a word",
    "caption": "photo captions (text next to a credit, or a caption sentence ending in a credit)",
    "promo_glued": "promotional or teaser text glued to a content line ('Brief News from X.', related headline)",
    "teaser": "a related-story teaser line",
    "separator": "a line without any letter or digit ('***', '___', '• • •')",
    "template": "a line this source repeats across many of its documents (learned per source)",
    "not_article": "what remained is not article text (no sentence of four words, under 12 words)",
}

#: Stages that remove spans.
STAGES: dict[str, str] = {
    "metadata": "headline and metadata lines moved to metadata fields",
    "line_rules": "whole lines removed by a rule",
    "context_rules": "lines removed because of their neighbours (caption next to a credit, video title)",
    "inline_rules": "pieces cut out of a line that is otherwise kept",
    "template": "lines learned as boilerplate of the document's source",
    "document": "the whole remainder, when it is not article text",
}


class CleanError(ValueError):
    """The input cannot be cleaned (wrong type, unknown kind, bytes that are not text).

    ``reason`` is a short code: ``bad_type``, ``bad_kind``, ``bad_option``, ``undecodable``, ``binary``,
    ``extraction_failed`` (the HTML parser raised an error), ``too_large`` (more than
    ``MAX_LINES`` non-blank lines: not a page but a dump; split it first).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RemovedSpan:
    start: int
    end: int
    text: str
    reason: str
    stage: str


@dataclass(frozen=True, slots=True)
class KeptSpan:
    start: int
    end: int
    text: str
    paragraph: int


@dataclass(frozen=True)
class Heading:
    """A subhead kept in the text. ``paragraph`` indexes the paragraphs of ``text`` (split on blank
    lines); ``start``/``end`` are offsets in ``CleanResult.text``."""

    paragraph: int
    start: int
    end: int
    text: str


@dataclass
class CleanResult:
    """The outcome of ``clean_document``.

    ``text``: article paragraphs joined by ``"\n\n"``. ``input_text``: what offsets refer to (see the
    module docstring). ``kept`` / ``removed``: spans that tile ``input_text``. ``headings``: subheads
    kept in ``text``. Metadata: ``title``, ``published_at`` (ISO date or None), ``author``, ``url``,
    ``sitename`` (HTML metadata from trafilatura; for text, title / date / byline lines found in the
    text). ``status`` is ``"ok"`` or ``"empty"``; ``empty_reason`` is then one of ``no_text`` (nothing
    but whitespace), ``no_article`` (HTML: the extractor found no article), ``all_boilerplate`` (every
    line was removed by a rule) or ``not_article`` (what remained has no sentence and under 12 words).
    ``encoding`` / ``repairs``: how bytes input was decoded.
    """

    text: str
    input_text: str
    kind: str
    kept: list[KeptSpan] = field(default_factory=list)
    removed: list[RemovedSpan] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    title: str | None = None
    published_at: str | None = None
    author: str | None = None
    url: str | None = None
    sitename: str | None = None
    status: str = "ok"
    empty_reason: str | None = None
    encoding: str | None = None
    repairs: list[str] = field(default_factory=list)

    @property
    def paragraphs(self) -> list[str]:
        return paragraph_texts(self)

    def to_dict(self, *, include_spans: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "status": self.status,
            "empty_reason": self.empty_reason,
            "kind": self.kind,
            "title": self.title,
            "published_at": self.published_at,
            "author": self.author,
            "url": self.url,
            "sitename": self.sitename,
            "encoding": self.encoding,
            "repairs": list(self.repairs),
            "text": self.text,
            "headings": [asdict(h) for h in self.headings],
        }
        d["removed"] = [asdict(r) for r in self.removed]
        if include_spans:
            d["input_text"] = self.input_text
            d["kept"] = [asdict(k) for k in self.kept]
        return d


def reconstruct(result: CleanResult) -> str:
    """Rebuild the input from the kept and removed spans and the whitespace between them.

    Raises ValueError when the spans do not account for the input: a span whose text is not its slice
    of ``input_text``, an empty span or one with whitespace at an edge, two overlapping spans, or a
    character other than whitespace that no span covers.
    """
    inp = result.input_text
    spans: list[tuple[int, int, str]] = [(k.start, k.end, k.text) for k in result.kept]
    spans += [(r.start, r.end, r.text) for r in result.removed]
    spans.sort(key=lambda s: (s[0], s[1]))
    pos = 0
    out: list[str] = []
    for start, end, text in spans:
        if start < pos or end <= start or inp[start:end] != text or text != text.strip():
            raise ValueError(f"span {start}-{end} overlaps, is empty, trims badly or is not the input's text")
        gap = inp[pos:start]
        if gap and not gap.isspace():
            raise ValueError(f"characters {pos}-{start} are in no span and are not whitespace")
        out += [gap, text]
        pos = end
    rest = inp[pos:]
    if rest and not rest.isspace():
        raise ValueError(f"characters {pos}-{len(inp)} are in no span and are not whitespace")
    out.append(rest)
    return "".join(out)


def paragraph_texts(result: CleanResult) -> list[str]:
    """The paragraphs of ``result.text`` rebuilt from the kept spans alone."""
    paras: dict[int, list[str]] = {}
    for k in result.kept:
        paras.setdefault(k.paragraph, []).append(k.text)
    return [" ".join(paras[i]) for i in sorted(paras)]
