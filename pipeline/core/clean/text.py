"""Text-level cleaning: classify lines and pieces of lines, then split the input into kept / removed spans.

The engine works on lines (split at ``\\n``). Each rule is a small named function with one job; it marks
the lines (or the pieces of a line) it removes with its reason and stage, and ``clean_text`` applies them
in this order:

1. whole-line rules, tried in order on each line until one decides it (``_LINE_RULES``):
   ``rules.classify_line`` (metadata lines also give the date and author), captions ending in a credit,
   per-source templates (lines the source repeats in many of its documents);
2. the headline (``_headline``; text input: the first remaining line when it reads like a headline;
   HTML input: a first line equal to the extracted title);
3. context rules, one sweep over the lines (``_CONTEXT_RULES``): the address lines after an "alternate
   addresses" line, the list under a "Related stories" header, the video title after a player line,
   captions next to credits; then two- and three-line caption blocks (``_caption_blocks``);
4. inline rules on the lines that stay, in order along the line (``_INLINE_RULES``): date prefixes and
   hashtag datelines, credits glued to the next word, related-story promotions glued to the end of a
   sentence and "Brief News from X." tails;
5. the kept and removed spans (``_spans``), paragraphs and subheadings (``_headings``).

Each kept line is one paragraph (hard-wrapped lines are joined into one). Wire datelines at the start
of the first sentence ("KABUL (AFP) -", "(Reuters) -") are part of the article text and are kept; only
stand-alone date / byline lines and tagged prefixes ("date 2021-08-22", "#Tag – Aug.24:") are removed.
Everything runs in time linear in the input size: whole-line rules only look at lines up to a few
thousand characters, inline rules at bounded windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.core.clean import rules
from pipeline.core.clean.result import CleanError, Heading, KeptSpan, RemovedSpan

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.core.templates import SourceTemplates

_WS = re.compile(r"\s+")

#: more non-blank lines than this is not one page (a 20 MB article page has about 200,000 lines)
MAX_LINES = 500_000


@dataclass(slots=True)
class _Line:
    start: int
    end: int
    cs: int  # content start (after leading whitespace)
    ce: int  # content end (before trailing whitespace)
    text: str
    block: int
    index: int  # position among the content lines
    reason: str | None = None
    stage: str | None = None
    cuts: list[tuple[int, int, str, str]] = field(default_factory=list)  # absolute (s, e, reason, stage)
    no_heading: bool = False

    @property
    def has_content(self) -> bool:
        return self.ce > self.cs

    @property
    def kept(self) -> bool:
        return self.has_content and self.reason is None


@dataclass
class TextOutcome:
    kept: list[KeptSpan]
    removed: list[RemovedSpan]
    text: str
    headings: list[Heading]
    title: str | None = None
    published_at: str | None = None
    author: str | None = None


def _split_lines(inp: str) -> tuple[list[_Line], int]:
    """Lines that have content (with their block number) and the number of blank lines."""
    lines: list[_Line] = []
    pos = 0
    n = len(inp)
    block = 0
    blank = 0
    prev_blank = False
    while pos <= n:
        nl = inp.find("\n", pos)
        end = n if nl < 0 else nl
        seg = inp[pos:end]
        rstripped = seg.rstrip()
        if not rstripped:
            blank += 1
            prev_blank = True
        else:
            if prev_blank and lines:
                block += 1
            prev_blank = False
            cs = pos + len(seg) - len(seg.lstrip())
            ce = pos + len(rstripped)
            lines.append(_Line(pos, end, cs, ce, inp[cs:ce], block, len(lines)))
            if len(lines) > MAX_LINES:
                raise CleanError(
                    "too_large",
                    f"more than {MAX_LINES:,} non-blank lines: not one page; split the input first",
                )
        if nl < 0:
            break
        pos = nl + 1
    return lines, blank


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip().casefold()


def _author_from_byline(text: str) -> str | None:
    m = re.match(r"^(?:by|written\s+by|words\s+by|author\s*:)\s+(.+?)(?:\s*[|•·]\s*.*)?$", text, re.I)
    if not m:
        return None
    name = m.group(1).strip().rstrip(",.")
    return name or None


def _continuation_lines(content: list[_Line]) -> set[int]:
    """ids of kept lines that continue the paragraph of the kept line directly above them.

    A block (lines between blank lines) is hard-wrapped when its lines have a similar length of at most
    100 characters and a third or more of them start in lower case: all its lines form one paragraph.
    Elsewhere a line continues the previous one only when it starts in lower case and the previous
    line does not end a sentence.
    """
    joins: set[int] = set()
    blocks: dict[int, list[_Line]] = {}
    for ln in content:
        blocks.setdefault(ln.block, []).append(ln)
    for blk in blocks.values():
        if len(blk) < 2:
            continue
        lens = [len(ln.text) for ln in blk]
        mx = max(lens)
        breaks = len(blk) - 1
        lower_starts = sum(1 for ln in blk[1:] if ln.text[:1].islower())
        wrapped = (
            len(blk) >= 3
            and 40 <= mx <= 100
            and sum(1 for n in lens[:-1] if n >= 0.6 * mx) >= 0.8 * breaks
            and lower_starts * 3 >= breaks
        )
        for a, b in zip(blk, blk[1:], strict=False):
            if (
                not (a.kept and b.kept)
                or any(c[1] >= a.ce for c in a.cuts)
                or any(c[0] <= b.cs for c in b.cuts)
            ):
                continue
            if wrapped or (b.text[:1].islower() and not rules.ends_with_terminal(a.text)):
                joins.add(id(b))
    return joins


# --------------------------------------------------------------------------------------------------
# the page every rule reads and marks


@dataclass(slots=True)
class _Page:
    """The input split into content lines, what the rules found so far, and what they need to know."""

    inp: str
    lines: list[_Line]
    html: bool
    blocky: bool  # paragraphs separated by blank lines, so single line breaks group lines
    heads_norm: set[str]  # normalised HTML headings (HTML input): never removed as short lines
    source: str | None = None
    templates: SourceTemplates | None = None
    html_title: str | None = None
    title: str | None = None
    published_at: str | None = None
    author: str | None = None

    def is_html_heading(self, text: str) -> bool:
        return self.html and _norm(text) in self.heads_norm

    def found_date(self, text: str) -> None:
        """Keep the first date found (a metadata line or a date prefix)."""
        self.published_at = self.published_at or rules.parse_date(text)

    def short_untermed(self, ln: _Line, max_words: int = 20) -> bool:
        """A kept, uncut line of at most ``max_words`` words that does not end a sentence (caption-like)."""
        return (
            ln.kept
            and not ln.cuts
            and rules.word_count(ln.text) <= max_words
            and not rules.ends_sentence(ln.text)
            and not self.is_html_heading(ln.text)
        )


def _adjacent(a: _Line, b: _Line) -> bool:
    """b directly follows a (next content line, no blank line between)."""
    return a.block == b.block and b.index == a.index + 1


# --------------------------------------------------------------------------------------------------
# 1-2. whole-line rules: tried in order on each line; the first that decides the line ends its turn


def _whole_line_rule(page: _Page, ln: _Line) -> bool:
    """``rules.classify_line`` (advertisement, subscribe prompt, share widget, metadata line ...); an HTML
    heading is kept unless it is a copyright or disclaimer line. Metadata lines yield the date and author."""
    reason = rules.classify_line(ln.text)
    if reason is None:
        return False
    if page.is_html_heading(ln.text) and reason not in ("copyright", "disclaimer"):
        return False
    if reason == "metadata_line":
        page.found_date(ln.text)
        page.author = page.author or _author_from_byline(ln.text)
    ln.reason, ln.stage = reason, "metadata" if reason == "metadata_line" else "line_rules"
    return True


def _caption_with_credit(page: _Page, ln: _Line) -> bool:
    """A line ending in a photo credit: a short one is a caption (caption and credit two spans), a long one
    keeps its text and loses the credit."""
    text = ln.text
    credit = rules.caption_with_credit(text) if len(text) <= 600 else None
    if credit is None:
        return False
    cs, ce = credit
    if rules.word_count(text[:cs]) <= 60 and not page.is_html_heading(text):
        ln.reason, ln.stage = "caption", "line_rules"
        if cs > 0:
            ln.cuts.append((ln.cs + cs, ln.ce, "photo_credit", "line_rules"))
    else:
        ln.cuts.append((ln.cs + cs, ln.cs + ce, "photo_credit", "inline_rules"))
    return True


def _source_template(page: _Page, ln: _Line) -> bool:
    """A line the source repeats in many of its documents (``pipeline.core.templates``)."""
    if page.templates is None or page.source is None or not page.templates.is_template(page.source, ln.text):
        return False
    ln.reason, ln.stage = "template", "template"
    return True


_LINE_RULES = (_whole_line_rule, _caption_with_credit, _source_template)


# --------------------------------------------------------------------------------------------------
# 3a. the headline


def _headline(page: _Page) -> None:
    """The first remaining line: for HTML input when it equals the extracted title; for text input when it
    reads like a headline (3 to 40 words, no sentence end, not a date prefix) and more text follows."""
    first = next((ln for ln in page.lines if ln.reason is None), None)
    if first is None:
        return
    if page.html:
        if page.html_title and _norm(first.text) == _norm(page.html_title):
            first.reason, first.stage = "title", "metadata"
        return
    cand = rules.HASHTAG_TAIL.sub("", first.text).strip()
    later = any(ln.kept and ln is not first for ln in page.lines)
    if (
        later
        and 3 <= rules.word_count(cand) <= 40
        and "|" not in cand
        and not rules.INNER_SENTENCE_END.search(cand)
        and not rules.ends_sentence(cand)
        and not cand.endswith((":", ";", ","))
        and not rules.DATE_PREFIX.match(first.text)
    ):
        first.reason, first.stage = "title", "metadata"
        page.title = cand


# --------------------------------------------------------------------------------------------------
# 3b. context rules: lines removed because of the line next to them. One sweep over the lines; at each
# line every rule looks whether that line triggers it (a line triggers at most one: each rule has its own
# reason) and marks the lines around it, so a rule sees what the rules before it marked up to that line.


def _address_lines_after_header(page: _Page, i: int) -> None:
    """The short address lines (up to 20) after an "alternate addresses" line."""
    ln = page.lines[i]
    if ln.reason != "alternate_addresses" or ln.stage != "line_rules":
        return
    for nxt in page.lines[i + 1 : i + 21]:  # bounded: no quadratic scan on repeated lines
        if nxt.reason is None and rules.word_count(nxt.text) <= 8 and not rules.ends_sentence(nxt.text):
            nxt.reason, nxt.stage = "alternate_addresses", "context_rules"
        elif nxt.reason is None:
            break


def _list_after_related_header(page: _Page, i: int) -> None:
    """The headline or keyword lines (up to 8) right below a "Related stories" / "Tags" header."""
    ln = page.lines[i]
    if ln.reason != "read_more" or ln.stage != "line_rules" or not rules.LIST_HEADER.match(ln.text):
        return
    prev = ln
    for nxt in page.lines[i + 1 : i + 9]:
        if not (_adjacent(prev, nxt) and nxt.kept and not nxt.cuts) or page.is_html_heading(nxt.text):
            break
        words = rules.word_count(nxt.text)
        is_list = nxt.text.count(",") + nxt.text.count("|") >= 2 and words <= 60
        if not (is_list or words <= 20) or rules.ends_with_terminal(nxt.text.rstrip("?")):
            break
        nxt.reason, nxt.stage = "read_more", "context_rules"
        prev = nxt


def _title_after_video_player(page: _Page, i: int) -> None:
    """In blank-line-separated text, the short line (a video title) right below a video player line."""
    ln = page.lines[i]
    if ln.reason != "video_player" or not page.blocky or i + 1 >= len(page.lines):
        return
    nxt = page.lines[i + 1]
    if _adjacent(ln, nxt) and nxt.kept and rules.word_count(nxt.text) <= 20:
        nxt.reason, nxt.stage = "video_player", "context_rules"


def _captions_next_to_credit(page: _Page, i: int) -> None:
    """The short unpunctuated line right above a credit (or, in blank-line-separated text, a caption) and
    the one right below a credit line."""
    ln = page.lines[i]
    if ln.reason not in ("caption", "photo_credit") or ln.stage != "line_rules":
        return
    if not page.blocky and ln.reason != "photo_credit":
        return
    lines = page.lines
    if i > 0 and _adjacent(lines[i - 1], ln) and page.short_untermed(lines[i - 1]):
        lines[i - 1].reason, lines[i - 1].stage = "caption", "context_rules"
    if ln.reason == "photo_credit" and i + 1 < len(lines):
        nxt = lines[i + 1]
        if _adjacent(ln, nxt) and page.short_untermed(nxt):
            nxt.reason, nxt.stage = "caption", "context_rules"


_CONTEXT_RULES = (
    _address_lines_after_header,
    _list_after_related_header,
    _title_after_video_player,
    _captions_next_to_credit,
)


def _caption_blocks(page: _Page) -> None:
    """In blank-line-separated text, a block of two or three short unpunctuated lines (one of at least four
    words) among the paragraphs: image alt text + caption."""
    if not page.blocky:
        return
    by_block: dict[int, list[_Line]] = {}
    for ln in page.lines:
        by_block.setdefault(ln.block, []).append(ln)
    for blk in by_block.values():
        if 2 <= len(blk) <= 3 and all(page.short_untermed(ln, 25) for ln in blk):
            if max(rules.word_count(ln.text) for ln in blk) >= 4:
                for ln in blk:
                    ln.reason, ln.stage = "caption", "context_rules"


# --------------------------------------------------------------------------------------------------
# 4. inline rules: pieces cut out of a kept line, in order along the line; each takes the position the
# previous one left off at and returns where the rest of the line starts


def _date_prefix(page: _Page, ln: _Line, lo: int) -> int:
    """A date prefix ("date 2021-08-22", "Aug 24, 2021 -") or a hashtag dateline ("#Tag – Aug.24:")."""
    m = rules.DATE_PREFIX.match(ln.text) or rules.TAG_DATELINE.match(ln.text)
    if m is None:
        return lo
    page.found_date(m.group("date"))
    ln.cuts.append((ln.cs, ln.cs + m.end(), "metadata_line", "inline_rules"))
    return m.end()


def _glued_credit(page: _Page, ln: _Line, lo: int) -> int:  # noqa: ARG001 - one signature for every inline rule
    """A photo credit glued to the first word of the text ("Photo: AFPKabul residents ..."); the line is
    then no subheading."""
    m = rules.GLUED_CREDIT.match(ln.text, lo)
    if m is None:
        return lo
    ln.cuts.append((ln.cs + lo, ln.cs + m.end(), "photo_credit", "inline_rules"))
    ln.no_heading = True
    return m.end()


def _promotion_glued(page: _Page, ln: _Line, lo: int) -> int:  # noqa: ARG001 - one signature for every inline rule
    """A related-story promotion glued into the text, or failing that a promotion or "Brief News from X."
    tail in the last 200 characters."""
    text, base, hi = ln.text, ln.cs, len(ln.text)
    span = rules.promo_glued_span(text[lo:]) if hi - lo > 0 else None
    if span is not None:
        ln.cuts.append((base + lo + span[0], base + lo + span[1], "promo_glued", "inline_rules"))
        return lo
    m = rules.PROMO_TAIL.search(text, max(lo, hi - 200), hi)
    if m and m.start() > lo:
        ln.cuts.append((base + m.start(), base + hi, "promo_glued", "inline_rules"))
    return lo


_INLINE_RULES = (_date_prefix, _glued_credit, _promotion_glued)


# --------------------------------------------------------------------------------------------------
# 5-6. spans, paragraphs and headings


@dataclass
class _Spans:
    kept: list[KeptSpan] = field(default_factory=list)
    removed: list[RemovedSpan] = field(default_factory=list)
    para_lines: list[_Line] = field(default_factory=list)  # first line of each paragraph
    merged: set[int] = field(default_factory=set)  # paragraphs made of several lines


def _trimmed(inp: str, s: int, e: int) -> tuple[int, int]:
    """[s, e) without the whitespace at its edges (empty when it is all whitespace)."""
    seg = inp[s:e]
    ls = len(seg) - len(seg.lstrip())
    rs = len(seg.rstrip())
    return (s + ls, s + rs) if rs > ls else (s, s)


def _spans(inp: str, lines: list[_Line], joins: set[int]) -> _Spans:
    """Split the input into kept and removed spans; the whitespace between them (line breaks, blank lines,
    indentation, trailing spaces) is layout, not a span. A kept line in ``joins`` that follows the line
    that produced the last kept piece continues that line's paragraph."""
    out = _Spans()

    def add_removed(s: int, e: int, reason: str, stage: str) -> None:
        s, e = _trimmed(inp, s, e)
        if e > s:
            out.removed.append(RemovedSpan(s, e, inp[s:e], reason, stage))

    def add_piece(s: int, e: int, para: int) -> bool:
        """Kept piece [s, e) without the whitespace around it; False when it is all whitespace."""
        s, e = _trimmed(inp, s, e)
        if e <= s:
            return False
        out.kept.append(KeptSpan(s, e, inp[s:e], para))
        return True

    last_kept = -2  # index of the last line that produced a kept piece
    for ci, ln in enumerate(lines):
        pos = ln.cs
        if ln.reason is not None:
            for s, e, reason, stage in sorted(ln.cuts):
                add_removed(pos, s, ln.reason, ln.stage or "line_rules")
                add_removed(s, e, reason, stage)
                pos = max(pos, e)
            add_removed(pos, ln.ce, ln.reason, ln.stage or "line_rules")
            continue
        joined = id(ln) in joins and last_kept == ci - 1
        para = len(out.para_lines) - 1 if joined else len(out.para_lines)
        any_kept = False
        for s, e, reason, stage in sorted(ln.cuts):
            if s > pos:
                any_kept |= add_piece(pos, s, para)
            add_removed(s, e, reason, stage)
            pos = max(pos, e)
        if ln.ce > pos:
            any_kept |= add_piece(pos, ln.ce, para)
        if any_kept:
            last_kept = ci
            if joined:
                out.merged.add(para)
            else:
                out.para_lines.append(ln)
    return out


def _is_text_subheading(spans: _Spans, paragraphs: list[str], i: int) -> bool:
    """Text input: a short capitalised paragraph between two others, not ending a sentence (a question may),
    followed by a paragraph of at least 8 words, made of one uncut line."""
    ln = spans.para_lines[i]
    if not 0 < i < len(paragraphs) - 1 or ln.no_heading or ln.cuts or i in spans.merged:
        return False
    ptext = paragraphs[i]
    words = rules.word_count(ptext)
    stripped = ptext.rstrip(rules.CLOSERS)
    first_alpha = next((c for c in ptext if c.isalpha()), "")
    return (
        1 <= words <= 12
        and (not rules.ends_with_terminal(ptext) or stripped.endswith("?"))
        and first_alpha.isupper()
        and rules.word_count(paragraphs[i + 1]) >= 8
    )


def _headings(page: _Page, spans: _Spans, paragraphs: list[str]) -> list[Heading]:
    """Subheadings with their offsets in the clean text (paragraphs joined by a blank line): for HTML input
    the paragraphs equal to an HTML heading, for text input the ones that read like a subheading."""
    headings: list[Heading] = []
    offset = 0
    for i, ptext in enumerate(paragraphs):
        is_head = _norm(ptext) in page.heads_norm if page.html else _is_text_subheading(spans, paragraphs, i)
        if is_head:
            headings.append(Heading(i, offset, offset + len(ptext), ptext))
        offset += len(ptext) + 2
    return headings


# --------------------------------------------------------------------------------------------------
# the engine


def clean_text(
    inp: str,
    *,
    html: bool = False,
    source: str | None = None,
    templates: SourceTemplates | None = None,
    html_title: str | None = None,
    html_headings: set[str] | None = None,
) -> TextOutcome:
    """Clean ``inp`` (page text, or the text trafilatura extracted from an HTML page when ``html``): the rule
    steps of the module docstring in order, then the kept and removed spans, paragraphs and headings."""
    lines, blank_lines = _split_lines(inp)
    page = _Page(
        inp=inp,
        lines=lines,
        html=html,
        blocky=(not html) and len(lines) >= 2 and blank_lines >= 0.3 * len(lines),
        heads_norm={_norm(h) for h in (html_headings or ())},
        source=source,
        templates=templates,
        html_title=html_title,
    )
    for ln in lines:
        for line_rule in _LINE_RULES:
            if line_rule(page, ln):
                break
    _headline(page)
    for i in range(len(lines)):
        for context_rule in _CONTEXT_RULES:
            context_rule(page, i)
    _caption_blocks(page)
    for ln in lines:
        if ln.kept:
            lo = 0
            for inline_rule in _INLINE_RULES:
                lo = inline_rule(page, ln, lo)

    joins = set() if html else _continuation_lines(lines)
    spans = _spans(inp, lines, joins)
    pieces: dict[int, list[str]] = {}
    for k in spans.kept:
        pieces.setdefault(k.paragraph, []).append(k.text)
    paragraphs = [" ".join(pieces[i]) for i in range(len(spans.para_lines))]
    spans.removed.sort(key=lambda r: r.start)
    return TextOutcome(
        kept=spans.kept,
        removed=spans.removed,
        text="\n\n".join(paragraphs),
        headings=_headings(page, spans, paragraphs),
        title=page.title,
        published_at=page.published_at,
        author=page.author,
    )
