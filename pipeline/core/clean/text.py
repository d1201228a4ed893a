"""Text-level cleaning: classify lines and pieces of lines, then split the input into kept / removed spans.

The engine works on lines (split at ``\\n``). Per line, in order:

1. whole-line rules (``rules.classify_line``) and captions ending in a credit;
2. per-source templates (lines the source repeats in many of its documents);
3. the headline (text input: the first remaining line when it reads like a headline; HTML input: a first
   line equal to the extracted title) and context rules (captions next to credits, the video title
   after a player line, the address lines after an "alternate addresses" line, two-line caption
   blocks);
4. inline rules on the lines that stay (date prefixes, hashtag datelines, credits glued to the next
   word, related-story promotions glued to the end of a sentence, "Brief News from X." tails).

Each kept line is one paragraph (hard-wrapped lines are joined into one). Wire datelines at the start
of the first sentence ("KABUL (AFP) -", "(Reuters) -") are part of the article text and are kept; only
stand-alone date / byline lines and tagged prefixes ("date 2021-08-22", "#Tag – Aug.24:") are removed. Everything runs in time linear in the input size: whole-line rules
only look at lines up to a few thousand characters, inline rules at bounded windows.
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
            lines.append(_Line(pos, end, cs, ce, inp[cs:ce], block))
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


def clean_text(
    inp: str,
    *,
    html: bool = False,
    source: str | None = None,
    templates: SourceTemplates | None = None,
    html_title: str | None = None,
    html_headings: set[str] | None = None,
) -> TextOutcome:
    content, blank_lines = _split_lines(inp)
    # a "blocky" text separates paragraphs by blank lines, so single line breaks group lines
    blocky = (not html) and len(content) >= 2 and blank_lines >= 0.3 * len(content)
    heads_norm = {_norm(h) for h in (html_headings or ())}
    published_at: str | None = None
    author: str | None = None
    title: str | None = None

    # 1-2. whole-line rules and templates
    for ln in content:
        text = ln.text
        reason = rules.classify_line(text)
        if reason is not None:
            if html and _norm(text) in heads_norm and reason not in ("copyright", "disclaimer"):
                reason = None
            elif reason == "metadata_line":
                published_at = published_at or rules.parse_date(text)
                author = author or _author_from_byline(text)
        if reason is not None:
            ln.reason, ln.stage = reason, "metadata" if reason == "metadata_line" else "line_rules"
            continue
        credit = rules.caption_with_credit(text) if len(text) <= 600 else None
        if credit is not None:
            cs, ce = credit
            if rules.word_count(text[:cs]) <= 60 and not (html and _norm(text) in heads_norm):
                ln.reason, ln.stage = "caption", "line_rules"
                if cs > 0:
                    # the caption text and its credit as two spans
                    ln.cuts.append((ln.cs + cs, ln.ce, "photo_credit", "line_rules"))
            else:
                ln.cuts.append((ln.cs + cs, ln.cs + ce, "photo_credit", "inline_rules"))
            continue
        if templates is not None and source is not None and templates.is_template(source, text):
            ln.reason, ln.stage = "template", "template"

    # 3a. headline
    first = next((ln for ln in content if ln.reason is None), None)
    if first is not None:
        if html:
            if html_title and _norm(first.text) == _norm(html_title):
                first.reason, first.stage = "title", "metadata"
        else:
            cand = rules.HASHTAG_TAIL.sub("", first.text).strip()
            later = any(ln.kept and ln is not first for ln in content)
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
                title = cand

    # 3b. context rules
    idx = {id(ln): i for i, ln in enumerate(content)}

    def adjacent(a: _Line, b: _Line) -> bool:
        """b directly follows a (next content line, no blank line between)."""
        return a.block == b.block and idx[id(b)] == idx[id(a)] + 1

    def short_untermed(ln: _Line, max_words: int = 20) -> bool:
        return (
            ln.kept
            and not ln.cuts
            and rules.word_count(ln.text) <= max_words
            and not rules.ends_sentence(ln.text)
            and not (html and _norm(ln.text) in heads_norm)
        )

    for i, ln in enumerate(content):
        if ln.reason == "alternate_addresses" and ln.stage == "line_rules":
            for nxt in content[i + 1 : i + 21]:  # bounded: no quadratic scan on repeated lines
                if (
                    nxt.reason is None
                    and rules.word_count(nxt.text) <= 8
                    and not rules.ends_sentence(nxt.text)
                ):
                    nxt.reason, nxt.stage = "alternate_addresses", "context_rules"
                elif nxt.reason is None:
                    break
        elif ln.reason == "read_more" and ln.stage == "line_rules" and rules.LIST_HEADER.match(ln.text):
            # "Related stories" / "Tags" headers: the headline or keyword lines right below them
            prev = ln
            for nxt in content[i + 1 : i + 9]:
                if not (adjacent(prev, nxt) and nxt.kept and not nxt.cuts) or (
                    html and _norm(nxt.text) in heads_norm
                ):
                    break
                words = rules.word_count(nxt.text)
                is_list = nxt.text.count(",") + nxt.text.count("|") >= 2 and words <= 60
                if not (is_list or words <= 20) or rules.ends_with_terminal(nxt.text.rstrip("?")):
                    break
                nxt.reason, nxt.stage = "read_more", "context_rules"
                prev = nxt
        elif ln.reason == "video_player" and blocky and i + 1 < len(content):
            nxt = content[i + 1]
            if adjacent(ln, nxt) and nxt.kept and rules.word_count(nxt.text) <= 20:
                nxt.reason, nxt.stage = "video_player", "context_rules"
        elif ln.reason in ("caption", "photo_credit") and ln.stage == "line_rules":
            if not blocky and ln.reason != "photo_credit":
                continue
            if i > 0 and adjacent(content[i - 1], ln) and short_untermed(content[i - 1]):
                content[i - 1].reason, content[i - 1].stage = "caption", "context_rules"
            if ln.reason == "photo_credit" and i + 1 < len(content):
                nxt = content[i + 1]
                if adjacent(ln, nxt) and short_untermed(nxt):
                    nxt.reason, nxt.stage = "caption", "context_rules"
    if blocky:
        # a block of two or three short unpunctuated lines among blank-line-separated paragraphs:
        # image alt text + caption
        by_block: dict[int, list[_Line]] = {}
        for ln in content:
            by_block.setdefault(ln.block, []).append(ln)
        for blk in by_block.values():
            if 2 <= len(blk) <= 3 and all(short_untermed(ln, 25) for ln in blk):
                if max(rules.word_count(ln.text) for ln in blk) >= 4:
                    for ln in blk:
                        ln.reason, ln.stage = "caption", "context_rules"

    # 4. inline rules on kept lines
    for ln in content:
        if not ln.kept:
            continue
        text, base = ln.text, ln.cs
        lo = 0
        m = rules.DATE_PREFIX.match(text)
        if m:
            published_at = published_at or rules.parse_date(m.group("date"))
            ln.cuts.append((base, base + m.end(), "metadata_line", "inline_rules"))
            lo = m.end()
        else:
            m = rules.TAG_DATELINE.match(text)
            if m:
                published_at = published_at or rules.parse_date(m.group("date"))
                ln.cuts.append((base, base + m.end(), "metadata_line", "inline_rules"))
                lo = m.end()
        m = rules.GLUED_CREDIT.match(text, lo)
        if m:
            ln.cuts.append((base + lo, base + m.end(), "photo_credit", "inline_rules"))
            ln.no_heading = True
            lo = m.end()
        hi = len(text)
        span = rules.promo_glued_span(text[lo:]) if hi - lo > 0 else None
        if span is not None:
            ln.cuts.append((base + lo + span[0], base + lo + span[1], "promo_glued", "inline_rules"))
            if lo + span[1] == hi:
                hi = lo + span[0]
        else:
            tail_from = max(lo, hi - 200)
            m = rules.PROMO_TAIL.search(text, tail_from, hi)
            if m and m.start() > lo:
                ln.cuts.append((base + m.start(), base + hi, "promo_glued", "inline_rules"))
                hi = m.start()

    # 5a. lines that continue the previous line's paragraph (hard-wrapped text, broken lines)
    joins = set() if html else _continuation_lines(content)

    # 5b. split the input into kept and removed spans; the whitespace between them (line breaks, blank
    # lines, indentation, trailing spaces) is layout, not a span
    kept: list[KeptSpan] = []
    removed: list[RemovedSpan] = []
    para_lines: list[_Line] = []  # first line of each paragraph
    merged: set[int] = set()  # paragraphs made of several lines

    def trimmed(s: int, e: int) -> tuple[int, int]:
        """[s, e) without the whitespace at its edges (empty when it is all whitespace)."""
        seg = inp[s:e]
        ls = len(seg) - len(seg.lstrip())
        rs = len(seg.rstrip())
        return (s + ls, s + rs) if rs > ls else (s, s)

    def add_removed(s: int, e: int, reason: str, stage: str) -> None:
        """Removed span [s, e) without the whitespace at its edges."""
        s, e = trimmed(s, e)
        if e > s:
            removed.append(RemovedSpan(s, e, inp[s:e], reason, stage))

    def add_piece(s: int, e: int, para: int) -> bool:
        """Kept piece [s, e) without the whitespace around it; False when it is all whitespace."""
        s, e = trimmed(s, e)
        if e <= s:
            return False
        kept.append(KeptSpan(s, e, inp[s:e], para))
        return True

    last_kept = -2  # index in content of the last line that produced a kept piece
    for ci, ln in enumerate(content):
        if ln.reason is not None:
            pos = ln.cs
            for s, e, reason, stage in sorted(ln.cuts):
                add_removed(pos, s, ln.reason, ln.stage or "line_rules")
                add_removed(s, e, reason, stage)
                pos = max(pos, e)
            add_removed(pos, ln.ce, ln.reason, ln.stage or "line_rules")
        else:
            joined = id(ln) in joins and last_kept == ci - 1
            para = len(para_lines) - 1 if joined else len(para_lines)
            pos = ln.cs
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
                    merged.add(para)
                else:
                    para_lines.append(ln)

    # 6. paragraphs and headings
    pieces: dict[int, list[str]] = {}
    for k in kept:
        pieces.setdefault(k.paragraph, []).append(k.text)
    paragraphs = [" ".join(pieces[i]) for i in range(len(para_lines))]
    headings: list[Heading] = []
    offset = 0
    for i, ptext in enumerate(paragraphs):
        ln = para_lines[i]
        is_head = False
        if html:
            is_head = _norm(ptext) in heads_norm
        elif 0 < i < len(paragraphs) - 1 and not ln.no_heading and not ln.cuts and i not in merged:
            words = rules.word_count(ptext)
            stripped = ptext.rstrip(rules.CLOSERS)
            first_alpha = next((c for c in ptext if c.isalpha()), "")
            is_head = (
                1 <= words <= 12
                and (not rules.ends_with_terminal(ptext) or stripped.endswith("?"))
                and first_alpha.isupper()
                and rules.word_count(paragraphs[i + 1]) >= 8
            )
        if is_head:
            headings.append(Heading(i, offset, offset + len(ptext), ptext))
        offset += len(ptext) + 2
    removed.sort(key=lambda r: r.start)
    return TextOutcome(
        kept=kept,
        removed=removed,
        text="\n\n".join(paragraphs),
        headings=headings,
        title=title,
        published_at=published_at,
        author=author,
    )
