"""Reuse report: one self-contained HTML page per story (no external assets, works offline).

A page shows, for one story (a group of articles sharing text, ``marts.stories``):

* a summary: the articles (labelled A, B, C...: sources before the articles derived from them, then
  oldest first where dated) with their originality and inferred source, an arc diagram and a table of
  who took what from whom: sentence matches between every two articles by kind, **text reuse
  separated from quote reuse** (two outlets quoting the same speaker is not copying), the direction
  the tables state (``marts.document_pairs``) with its evidence and confidence. Text is said to be
  taken only along a stated direction; siblings (copies of one source) and undetermined pairs are
  shown as shared, never as taken;
* the articles side by side, each matched sentence coloured by its strongest kind (exact, near,
  paraphrase; quotation reuse outlined) and followed by plain links to its partners (works without
  JavaScript); with JavaScript, clicking a sentence highlights its partners and scrolls every column
  to them;
* the boilerplate the cleaner removed, greyed with its reason, at the place it was removed from.

Positions of removed text: ``staging.removed_spans`` holds offsets in the cleaner's input (the page
text, or for HTML the text extracted from it, rebuilt here from the raw document); the kept pieces
are the lines (trimmed) between removed spans, and the clean text is those pieces joined by a space
(same paragraph) or a blank line (next paragraph). Walking the spans in order therefore places every
removed span in the clean text, verified against the cleaner's input; when it cannot be rebuilt or
the placement does not fit, the removed spans are listed greyed at the end of the article.

``render_story(con, story_id)`` returns the HTML; ``write_reports(con, out_dir)`` writes one page per
story with at least two documents plus an ``index.html``. ``con`` is a connection to the analysts'
database (the working database works too). All text from the corpus is HTML-escaped.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline.core.clean.document import cleaner_input
from pipeline.core.clean.result import REASONS
from pipeline.core.kinds import KIND_ORDER
from pipeline.core.tables import BEST_DATE_SQL

__all__ = ["KIND_ORDER", "render_story", "write_reports", "place_removed"]

KIND_LABEL = {"exact": "exact", "near": "near-verbatim", "paraphrase": "paraphrase"}
_BATCH = 200  # stories loaded per query batch in write_reports

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d1d1f;
 background:#f4f4f6;font-size:14px}
a{color:#1a4fa0}
header.top{padding:14px 20px 10px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:19px;margin:0 0 4px}h2.sec{font-size:15px;margin:14px 0 6px}
.sub{color:#555;margin:0 0 8px}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;font-size:13px}
.legend .s{padding:1px 6px}
.summary{padding:4px 20px 12px;background:#fff;border-bottom:1px solid #ddd}
.summary table{border-collapse:collapse;font-size:13px;margin-bottom:6px}
.summary td,.summary th{border:1px solid #e1e1e6;padding:3px 7px;text-align:left;vertical-align:top}
.summary th{background:#f7f7f9;font-weight:600}
.summary td.n{text-align:right;font-variant-numeric:tabular-nums}
.summary td.zero{color:#bbb}
.summary th.grp{text-align:center}
.summary tr.undetermined td{color:#666}
.ev{color:#555;font-size:12px;max-width:330px}
.nowrap{white-space:nowrap}
.flex{display:flex;flex-wrap:wrap;gap:12px 28px;align-items:flex-start}
.lab{display:inline-block;min-width:20px;padding:0 5px;border-radius:10px;background:#333;color:#fff;
 font-weight:600;font-size:12px;text-align:center;text-decoration:none}
.bar{display:inline-flex;width:110px;height:11px;border-radius:2px;overflow:hidden;background:#eee;
 vertical-align:middle;margin-right:6px}
.bar i{display:block;height:100%}.bar .o{background:#b9dfb3}.bar .exact{background:#f08a8a}
.bar .near{background:#f6bf6b}.bar .paraphrase{background:#8fc2f2}
.cols{display:flex;gap:12px;padding:12px 16px;overflow-x:auto;align-items:stretch}
.doc{flex:1 0 300px;max-width:560px;background:#fff;border:1px solid #d6d6dc;border-radius:6px;display:flex;
 flex-direction:column;height:calc(100vh - 24px);min-height:420px}
.doc>.head{padding:10px 12px 8px;border-bottom:1px solid #e6e6ea;background:#fcfcfd;border-radius:6px 6px 0 0}
.doc>.head h3{font-size:15px;margin:0 0 3px}.doc .meta{font-size:12px;color:#555}
.doc .title{font-size:13px;font-weight:600;margin:2px 0 4px;color:#222}
.doc>.body{overflow-y:auto;padding:8px 12px 40px;flex:1;scroll-behavior:smooth}
.para{margin:0 0 10px;line-height:1.55}
.para.heading{font-weight:700}
.s{border-radius:3px;padding:1px 1px}
.s.exact{background:#ffc2c2}.s.near{background:#ffe0ad}.s.paraphrase{background:#d3e8ff}
.s.quote{outline:1.5px dashed #4a8a3a;outline-offset:-1px}
.s[data-partners]{cursor:pointer}
.s[data-partners]:hover{filter:brightness(0.93)}
.s.focus{box-shadow:0 0 0 2px #111}.s.partner{box-shadow:0 0 0 3px #d4145a}
.s:target{box-shadow:0 0 0 3px #d4145a}
sup.refs{font-size:10px;line-height:1;margin:0 2px 0 1px;white-space:nowrap}
a.ref{display:inline-block;text-decoration:none;color:#222;border-radius:7px;padding:0 3px;margin-left:1px;
 border:1px solid #999;font-weight:600}
a.ref.exact{background:#ffc2c2}a.ref.near{background:#ffe0ad}a.ref.paraphrase{background:#d3e8ff}
a.ref.quote{border-style:dashed;border-color:#4a8a3a}
.rm{color:#9a9aa0;background:#f1f1f3;border-radius:3px;padding:0 3px;font-size:12px;margin:0 2px}
.rm .why{font-style:italic;color:#b0b0b6;font-size:11px;margin-left:4px;white-space:nowrap}
.rm .why::before{content:"["}.rm .why::after{content:"]"}
.rm-block{margin:0 0 10px;line-height:1.4}
.rm-block .rm{display:block;margin:0 0 3px;white-space:pre-wrap;padding:2px 5px}
.rm-block.unplaced{border-top:1px dashed #ccc;padding-top:6px}
.rm-block.unplaced .hd{font-size:12px;color:#888;margin-bottom:4px}
body:has(#show-rm:not(:checked)) .rm{display:none}
.empty{color:#a33;font-style:italic}
#sel{position:fixed;left:0;right:0;bottom:0;background:#222;color:#eee;font-size:12px;padding:5px 14px;
 min-height:24px;z-index:5}
#sel:empty{display:none}
table.index{border-collapse:collapse;margin:16px 20px;background:#fff}
table.index td,table.index th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
ul.findings{margin:0 0 10px;padding-left:20px;line-height:1.5}
svg.arcs text{font-size:11px;font-family:inherit}
"""

_JS = """
(function () {
  var sel = document.getElementById('sel');
  function clear() {
    document.querySelectorAll('.focus,.partner').forEach(function (n) { n.classList.remove('focus', 'partner'); });
    if (sel) sel.textContent = '';
  }
  function scrollInColumn(el) {
    var col = el.closest('.body');
    if (!col) return;
    var r = el.getBoundingClientRect(), c = col.getBoundingClientRect();
    col.scrollTop += (r.top - c.top) - (col.clientHeight - r.height) / 2;
  }
  function select(s, onlyId) {
    clear();
    s.classList.add('focus');
    JSON.parse(s.getAttribute('data-partners')).forEach(function (id) {
      var p = document.getElementById(id);
      if (!p) return;
      p.classList.add('partner');
      if (!onlyId || onlyId === id) scrollInColumn(p);
    });
    if (sel) sel.textContent = s.getAttribute('title') || '';
  }
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest('a.ref');
    if (a) {
      var own = document.getElementById(a.getAttribute('data-from'));
      if (own) { ev.preventDefault(); select(own, a.getAttribute('href').slice(1)); }
      return;
    }
    var s = ev.target.closest('.s[data-partners]');
    if (s) { select(s, null); return; }
    if (!ev.target.closest('a,input,label')) clear();
  });
})();
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _label(i: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _dom_id(sentence_id: str) -> str:
    return "s-" + re.sub(r"[^0-9A-Za-z_-]", "-", sentence_id)


def _fmt_date(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d")
            if (value.hour, value.minute, value.second) == (0, 0, 0)
            else (value.strftime("%Y-%m-%d %H:%M"))
        )
    return str(value)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


# ---------------------------------------------------------------------------------------------------
# placing removed spans in the clean text


@dataclass
class Placement:
    """Where removed spans go in the clean text.

    ``inline``: (clean offset, span) for spans cut out of the middle of a paragraph;
    ``blocks``: paragraph index -> spans shown as a block before that paragraph (index = number of
    paragraphs: after the last one); ``placed`` is False when the positions could not be recovered,
    then every span is in ``blocks[n_paragraphs]`` and shown as a list at the end.
    """

    inline: list[tuple[int, dict]] = field(default_factory=list)
    blocks: dict[int, list[dict]] = field(default_factory=dict)
    placed: bool = True


def _with_layout(spans: list[dict], input_text: str) -> list[dict]:
    """``spans`` plus the whitespace between kept pieces (line breaks, blank lines, indentation) as
    spans of reason ``whitespace``, so that the gaps left are exactly the kept pieces."""
    out: list[dict] = []
    pos = 0
    ends = [(s["start_offset"], s) for s in spans] + [(len(input_text), None)]
    for start, span in ends:
        if start > pos:
            gap = input_text[pos:start]
            for m in re.finditer(r"\s+", gap):
                # layout: whitespace at the gap's edges or holding a line break (spaces inside a line
                # belong to the kept piece)
                if m.start() == 0 or m.end() == len(gap) or "\n" in m.group():
                    out.append(
                        {
                            "start_offset": pos + m.start(),
                            "end_offset": pos + m.end(),
                            "text": m.group(),
                            "reason": "whitespace",
                        }
                    )
        if span is not None:
            out.append(span)
            pos = max(pos, span["end_offset"])
    return out


def place_removed(clean_text: str, spans: list[dict], input_text: str | None = None) -> Placement:
    """Place removed spans (dicts with start_offset, end_offset, text, reason) in ``clean_text``.

    The kept pieces of the cleaner's input are the trimmed lines between removed spans; in the clean
    text they follow each other joined by ``" "`` (same paragraph) or ``"\\n\\n"`` (new paragraph).
    Without ``input_text`` the pieces cannot be told from the whitespace around them, and every span
    is listed at the end (``placed=False``).
    """
    spans = sorted(spans, key=lambda r: (r["start_offset"], r["end_offset"]))
    if spans and input_text is None:
        return Placement(blocks={clean_text.count("\n\n") + 1 if clean_text else 0: spans}, placed=False)
    if input_text is not None:
        spans = _with_layout(spans, input_text)
    visible = [s for s in spans if s["reason"] != "whitespace" and (s["text"] or "").strip()]
    n_paras = clean_text.count("\n\n") + 1 if clean_text else 0
    fallback = Placement(blocks={n_paras: visible} if visible else {}, placed=False)
    if not spans:
        return Placement()
    visible_ids = {id(s) for s in visible}
    glued_to = -1

    pos_in = 0  # offset in the cleaner's input
    c = 0  # offset in the clean text
    para = 0
    started = False  # a kept piece has been consumed
    pending_inline = False  # the last kept piece is followed by " " (same paragraph continues)
    out = Placement()

    def consume(length: int, start_in: int) -> bool:
        nonlocal c, para, started, pending_inline
        if started:
            if pending_inline:
                if clean_text[c : c + 1] != " ":
                    return False
                c += 1
            else:
                if clean_text[c : c + 2] != "\n\n":
                    return False
                c += 2
                para += 1
        piece = clean_text[c : c + length]
        if len(piece) != length or "\n\n" in piece:
            return False
        if input_text is not None and input_text[start_in : start_in + length] != piece:
            return False
        c += length
        started = True
        after = clean_text[c : c + 1]
        pending_inline = after == " "
        if after not in ("", " ", "\n"):
            return False
        return True

    for s in spans:
        start, end = s["start_offset"], s["end_offset"]
        if start < pos_in or end < start:
            return fallback
        if start > pos_in:
            if not consume(start - pos_in, pos_in):
                return fallback
            glued_to = start  # the input offset where the last kept piece ended
        pos_in = end
        if id(s) not in visible_ids:
            continue
        if not started:
            out.blocks.setdefault(0, []).append(s)
        elif pending_inline or start == glued_to:
            # cut out of a paragraph, or glued to the end of its last piece (no whitespace between)
            glued_to = end
            out.inline.append((c, s))
        else:
            out.blocks.setdefault(para + 1, []).append(s)
    if c < len(clean_text):
        # the tail after the last removed span is the last kept piece
        rest = len(clean_text) - c - ((1 if pending_inline else 2) if started else 0)
        if rest <= 0 or not consume(rest, pos_in):
            return fallback
        pos_in += rest
    if c != len(clean_text) or (input_text is not None and pos_in != len(input_text)):
        return fallback
    return out


# ---------------------------------------------------------------------------------------------------
# loading


@dataclass
class _Story:
    story_id: str
    docs: list[dict] = field(default_factory=list)
    sentences: dict[str, list[dict]] = field(default_factory=dict)
    removed: dict[str, list[dict]] = field(default_factory=dict)
    matches: list[dict] = field(default_factory=list)
    pairs: list[dict] = field(default_factory=list)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    rel = con.sql(sql, params=params)
    cols = rel.columns
    return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        con.sql(
            "SELECT count(*) FROM (SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views()) WHERE schema_name = ? AND table_name = ?",
            params=[schema, name],
        ).fetchall()[0][0]
    )


def _load(con: duckdb.DuckDBPyConnection, story_ids: list[str]) -> dict[str, _Story]:
    ids = list(story_ids)
    stories = {s: _Story(s) for s in ids}
    in_batch = "st.story_id IN (SELECT unnest(?::VARCHAR[]))"
    has_orig = _has_table(con, "marts", "document_originality")
    orig_cols = (
        "o.n_sentences, o.n_matchable, o.share_original, o.share_exact, o.share_near, o.share_paraphrase, "
        "o.n_quote_reuse, o.inferred_source_doc_id, o.added, o.dropped"
        if has_orig
        else "NULL AS n_sentences, NULL AS n_matchable, NULL AS share_original, NULL AS share_exact, "
        "NULL AS share_near, NULL AS share_paraphrase, NULL AS n_quote_reuse, "
        "NULL AS inferred_source_doc_id, NULL AS added, NULL AS dropped"
    )
    orig_join = "LEFT JOIN marts.document_originality o USING (doc_id)" if has_orig else ""
    for d in _rows(
        con,
        f"""SELECT st.story_id, st.doc_id, d.source, d.kind, d.raw_text, d.path, d.url AS raw_url,
                   {BEST_DATE_SQL} AS published_at,
                   coalesce(d.title, c.title) AS title, coalesce(d.url, c.url) AS url,
                   c.status, c.empty_reason, c.text, c.headings, {orig_cols}
            FROM marts.stories st JOIN raw.documents d USING (doc_id)
            LEFT JOIN staging.clean_documents c USING (doc_id) {orig_join}
            WHERE {in_batch}
            ORDER BY st.story_id, published_at NULLS LAST, d.source, st.doc_id""",
        [ids],
    ):
        stories[d["story_id"]].docs.append(d)
    for s in _rows(
        con,
        f"""SELECT st.story_id, s.doc_id, s.sentence_id, s.sentence_index, s.start_offset, s.end_offset
            FROM staging.sentences s JOIN marts.stories st USING (doc_id) WHERE {in_batch}
            ORDER BY s.doc_id, s.sentence_index""",
        [ids],
    ):
        stories[s["story_id"]].sentences.setdefault(s["doc_id"], []).append(s)
    for r in _rows(
        con,
        f"""SELECT st.story_id, r.doc_id, r.span_index, r.start_offset, r.end_offset, r.text, r.reason
            FROM staging.removed_spans r JOIN marts.stories st USING (doc_id) WHERE {in_batch}
            ORDER BY r.doc_id, r.span_index""",
        [ids],
    ):
        stories[r["story_id"]].removed.setdefault(r["doc_id"], []).append(r)
    for m in _rows(
        con,
        f"""SELECT st.story_id, m.sentence_id_a, m.sentence_id_b, m.doc_id_a, m.doc_id_b, m.kind, m.score,
                   m.is_quote
            FROM marts.sentence_matches m JOIN marts.stories st ON st.doc_id = m.doc_id_a
            JOIN marts.stories sb ON sb.doc_id = m.doc_id_b AND sb.story_id = st.story_id
            WHERE {in_batch} ORDER BY m.sentence_id_a, m.sentence_id_b""",
        [ids],
    ):
        stories[m["story_id"]].matches.append(m)
    for p in _rows(
        con,
        f"""SELECT st.story_id, p.doc_id_a, p.doc_id_b, p.containment_a_in_b, p.containment_b_in_a,
                   p.direction, p.direction_evidence, p.quote_only, p.direction_basis,
                   p.direction_confidence, p.common_source_doc_id
            FROM marts.document_pairs p JOIN marts.stories st ON st.doc_id = p.doc_id_a
            JOIN marts.stories sb ON sb.doc_id = p.doc_id_b AND sb.story_id = st.story_id
            WHERE {in_batch} ORDER BY p.doc_id_a, p.doc_id_b""",
        [ids],
    ):
        stories[p["story_id"]].pairs.append(p)
    return stories


# ---------------------------------------------------------------------------------------------------
# rendering


def _rm_span(r: dict) -> str:
    reason = r["reason"] or "unknown"
    tip = f"removed by the cleaner: {reason}"
    if reason in REASONS:
        tip += f" ({REASONS[reason]})"
    return (
        f"<span class='rm' data-reason='{_e(reason)}' title='{_e(tip)}'>{_e((r['text'] or '').strip())}"
        f"<span class='why'>{_e(reason)}</span></span>"
    )


def _bar(d: dict) -> str:
    if d.get("share_original") is None:
        return "<span class='meta'>no matchable sentence</span>"
    parts = []
    for cls, key in (
        ("o", "share_original"),
        ("exact", "share_exact"),
        ("near", "share_near"),
        ("paraphrase", "share_paraphrase"),
    ):
        v = float(d.get(key) or 0.0)
        if v > 0:
            parts.append(f"<i class='{cls}' style='width:{v * 100:.1f}%'></i>")
    tip = (
        f"original {_pct(d['share_original'])}, exact {_pct(d['share_exact'])}, near {_pct(d['share_near'])}, "
        f"paraphrase {_pct(d['share_paraphrase'])} of {d['n_matchable']} matchable sentences"
    )
    return (
        f"<span class='nowrap'><span class='bar' title='{_e(tip)}'>{''.join(parts)}</span>"
        f"{_pct(d['share_original'])} original</span>"
    )


def _headings(d: dict) -> set[int]:
    """Start offsets (in the clean text) of the paragraphs that are subheads."""
    try:
        items = json.loads(d.get("headings") or "[]")
    except (TypeError, ValueError):
        return set()
    out = set()
    for h in items if isinstance(items, list) else []:
        if isinstance(h, dict) and isinstance(h.get("start"), int):
            out.add(h["start"])
    return out


def _render_body(d: dict, sents: list[dict], removed: list[dict], sentence_html) -> list[str]:
    """The article's paragraphs with matched sentences and removed spans in place."""
    text = d.get("text") or ""
    input_text = cleaner_input(d["raw_text"], d.get("kind") or "text") if d.get("raw_text") else None
    placement = place_removed(text, removed, input_text)
    inserts = sorted(placement.inline, key=lambda t: t[0])
    heads = _headings(d)
    out: list[str] = []
    # paragraphs by offsets
    paras: list[tuple[int, int]] = []
    if text:
        start = 0
        for m in re.finditer(r"\n\n", text):
            paras.append((start, m.start()))
            start = m.end()
        paras.append((start, len(text)))
    k = 0  # next insert
    si = 0  # next sentence

    def emit(buf: list[str], a: int, b: int, inclusive: bool) -> None:
        nonlocal k
        pos = a
        while k < len(inserts) and (inserts[k][0] < b or (inclusive and inserts[k][0] == b)):
            p = max(inserts[k][0], pos)
            buf.append(_e(text[pos:p]))
            buf.append(_rm_span(inserts[k][1]))
            pos = p
            k += 1
        buf.append(_e(text[pos:b]))

    def block(index: int, cls: str = "rm-block") -> None:
        spans = placement.blocks.get(index)
        if spans:
            out.append(f"<div class='{cls}'>" + "".join(_rm_span(r) for r in spans) + "</div>")

    if d.get("status") not in (None, "ok"):
        out.append(f"<p class='empty'>No article text: {_e(d.get('empty_reason') or d.get('status'))}</p>")
    for pi, (ps, pe) in enumerate(paras):
        block(pi)
        buf: list[str] = []
        pos = ps
        while si < len(sents) and sents[si]["start_offset"] < pe:
            s = sents[si]
            a, b = max(s["start_offset"], pos), min(s["end_offset"], pe)
            if b < a:
                si += 1
                continue
            emit(buf, pos, a, True)
            inner: list[str] = []
            emit(inner, a, b, False)
            buf.append(sentence_html(s, "".join(inner)))
            pos = b
            si += 1
        emit(buf, pos, pe, True)
        cls = "para heading" if ps in heads else "para"
        out.append(f"<p class='{cls}'>" + "".join(buf) + "</p>")
    if placement.placed:
        block(len(paras))
    else:
        spans = placement.blocks.get(len(paras)) or []
        if spans:
            out.append(
                "<div class='rm-block unplaced'><div class='hd'>Removed boilerplate (position in the "
                "text unknown)</div>" + "".join(_rm_span(r) for r in spans) + "</div>"
            )
    return out


def _arc_svg(docs: list[dict], label: dict[str, str], rows: list[dict]) -> str:
    """Articles on a line in page order (oldest first where dated) with an arc per pair sharing text:
    solid red with an arrow to the article that took the text where the direction is inferred, dashed
    grey where it is undetermined. Width grows with text reuse; hover an arc for its counts."""
    n = len(docs)
    if n < 2 or not rows:
        return ""
    step = 100
    w, base, h = 60 + step * (n - 1) + 60, 118, 152
    xs = {d["doc_id"]: 60 + i * step for i, d in enumerate(docs)}
    out = [
        f"<svg class='arcs' width='{w}' height='{h}' viewBox='0 0 {w} {h}' role='img' "
        "aria-label='arc diagram of reuse between the articles'>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='5' markerHeight='5' "
        "orient='auto-start-reverse'><path d='M0,0L10,5L0,10z' fill='#c0392b'/></marker></defs>",
    ]
    for r in sorted(rows, key=lambda r: r["directed"]):  # directed arcs drawn last, on top
        x1, x2 = xs[r["from"]], xs[r["to"]]
        lift = min(105, 20 + abs(x2 - x1) * 0.2)
        directed = r["directed"]
        width = 1 + min(6, math.sqrt(r["text_total"] or 0.0))
        color = "#c0392b" if directed else "#a0a0ac"
        extra = " marker-end='url(#arrow)'" if directed else " stroke-dasharray='5 4'"
        arrow = "→" if directed else "↔"
        tip = (
            f"{label[r['from']]} {arrow} {label[r['to']]}: {r['text_total']} text reuse, "
            f"{r['quote_total']} quote reuse" + ("" if directed else " (direction undetermined)")
        )
        # the arrow ends on the target circle's rim
        end = x2 - 13 if x2 > x1 else x2 + 13
        out.append(
            f"<path d='M{x1},{base - 13} Q{(x1 + x2) / 2},{base - 13 - 2 * lift} {end},{base - 6}' fill='none' "
            f"stroke='{color}' stroke-width='{width:.1f}' stroke-opacity='0.8'{extra}><title>{_e(tip)}</title></path>"
        )
    for d in docs:
        x = xs[d["doc_id"]]
        out.append(
            f"<circle cx='{x}' cy='{base}' r='13' fill='#333'/><text x='{x}' y='{base + 4}' fill='#fff' "
            f"text-anchor='middle' font-weight='600'>{_e(label[d['doc_id']])}</text>"
            f"<text x='{x}' y='{h - 3}' text-anchor='middle' fill='#444'>{_e(_short(d['source'] or '', 15))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _kinds_text(r: dict, prefix: str) -> str:
    parts = [f"{r[f'{prefix}_{k}']} {KIND_LABEL[k]}" for k in KIND_ORDER if r[f"{prefix}_{k}"]]
    return ", ".join(parts)


def _findings(docs: list[dict], label: dict[str, str], rows: list[dict]) -> str:
    """A few plain sentences: the earliest article, each inferred flow, what stays undetermined."""
    name = {d["doc_id"]: f"{label[d['doc_id']]} ({d['source']})" for d in docs}
    items: list[str] = []
    dated = [d for d in docs if d["published_at"] is not None]
    if dated:
        items.append(
            f"Earliest dated article: {name[dated[0]['doc_id']]}, {_fmt_date(dated[0]['published_at'])}"
            f"; {len(docs) - len(dated)} of {len(docs)} articles carry no date."
        )
    for r in rows:
        if not r["directed"]:
            continue
        text = f"{name[r['to']]} took {r['text_total']} sentences from {name[r['from']]}"
        if r["text_total"]:
            text += f" ({_kinds_text(r, 'text')})"
        if r["quote_total"]:
            text += f" and shares {r['quote_total']} quotations with it"
        conf = f" (confidence {r['confidence']:.2f})" if r.get("confidence") is not None else ""
        items.append(text + (f"; evidence: {r['evidence']}" if r["evidence"] else "") + conf + ".")
    for r in rows:
        if not r["directed"] and r.get("basis") == "common_source" and r.get("common_source") in name:
            items.append(
                f"{name[r['from']]} and {name[r['to']]} are copies of one source, "
                f"{name[r['common_source']]}: what they share came from it, not from each other."
            )
        elif not r["directed"] and r.get("basis") == "common_source":
            items.append(
                f"{name[r['from']]} and {name[r['to']]} are copies of one source that is not among these "
                "articles: what they share came from it, not from each other."
            )
    undetermined = [r for r in rows if not r["directed"] and r.get("basis") != "common_source"]
    if undetermined:
        quote = sum(1 for r in undetermined if r["quote_only"] or r.get("basis") == "quote")
        items.append(
            f"{len(undetermined)} more pairs share sentences ({sum(r['text_total'] for r in undetermined)} text "
            f"reuse, {sum(r['quote_total'] for r in undetermined)} quote reuse) but no direction is stated for "
            "them: the evidence (dates, credit lines, which text holds what the others share) does not decide"
            + (
                f"; {quote} of them share mainly quotations, from a source outside these articles"
                if quote
                else ""
            )
            + "."
        )
    orig = [d for d in docs if d.get("share_original") is not None]
    if orig:
        most = max(orig, key=lambda d: (d["share_original"], -docs.index(d)))
        least = min(orig, key=lambda d: (d["share_original"], docs.index(d)))
        items.append(
            f"Most original: {name[most['doc_id']]} ({_pct(most['share_original'])} of its sentences "
            f"found in no article it derives from); least original: {name[least['doc_id']]} "
            f"({_pct(least['share_original'])})."
        )
    if not items:
        return ""
    return "<ul class='findings'>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _evidence(text: str | None, la: str, lb: str) -> str:
    """The pair's evidence sentence, with its A / B (doc_id_a / doc_id_b) replaced by the page's labels."""
    if not text:
        return ""
    return re.sub(r"(?<![\w'])([AB])(?=[\s',;:.)]|$)", lambda m: la if m.group(1) == "A" else lb, text)


def _limit(story: _Story, max_docs: int) -> tuple[_Story, int]:
    """The story cut to its first ``max_docs`` articles (page order: sources first, then oldest first), and how
    many were left out."""
    if max_docs < 1:
        raise ValueError(f"max_docs must be at least 1, got {max_docs}")
    if len(story.docs) <= max_docs:
        return story, 0
    docs = story.docs[:max_docs]
    keep = {d["doc_id"] for d in docs}
    cut = _Story(
        story.story_id,
        docs=docs,
        sentences={k: v for k, v in story.sentences.items() if k in keep},
        removed={k: v for k, v in story.removed.items() if k in keep},
        matches=[m for m in story.matches if m["doc_id_a"] in keep and m["doc_id_b"] in keep],
        pairs=[p for p in story.pairs if p["doc_id_a"] in keep and p["doc_id_b"] in keep],
    )
    return cut, len(story.docs) - max_docs


def _provenance_order(story: _Story) -> _Story:
    """Documents in page order: a document after the source it derives from (depth along inferred
    sources), then oldest first as loaded."""
    src = {d["doc_id"]: d.get("inferred_source_doc_id") for d in story.docs}

    def depth(doc_id: str) -> int:
        n, seen = 0, {doc_id}
        while src.get(doc_id) in src and src[doc_id] not in seen:
            doc_id = src[doc_id]
            seen.add(doc_id)
            n += 1
        return n

    order = {d["doc_id"]: i for i, d in enumerate(story.docs)}
    story.docs = sorted(story.docs, key=lambda d: (depth(d["doc_id"]), order[d["doc_id"]]))
    return story


@dataclass
class _View:
    """One story as its page shows it: the articles in page order with their labels (A, B, ...), and for
    each matched sentence its partners (page order, then strongest kind first)."""

    story: _Story
    label: dict[str, str]
    by_id: dict[str, dict]
    order: dict[str, int]
    partners: dict[str, list[dict]]


def _view(story: _Story) -> _View:
    docs = story.docs
    order = {d["doc_id"]: i for i, d in enumerate(docs)}
    partners: dict[str, list[dict]] = defaultdict(list)
    for m in story.matches:
        for me, other, other_doc in (
            (m["sentence_id_a"], m["sentence_id_b"], m["doc_id_b"]),
            (m["sentence_id_b"], m["sentence_id_a"], m["doc_id_a"]),
        ):
            partners[me].append(
                {
                    "sid": other,
                    "doc": other_doc,
                    "kind": m["kind"],
                    "score": m["score"],
                    "quote": bool(m["is_quote"]),
                }
            )
    for lst in partners.values():
        lst.sort(key=lambda p: (order.get(p["doc"], 1 << 30), KIND_ORDER.get(p["kind"], 9), p["sid"]))
    return _View(
        story=story,
        label={d["doc_id"]: _label(i) for i, d in enumerate(docs)},
        by_id={d["doc_id"]: d for d in docs},
        order=order,
        partners=partners,
    )


def _sentence_html(view: _View, s: dict, inner: str) -> str:
    """A sentence of an article column: coloured by its strongest match kind, with a tooltip naming its
    partners and the small letters linking to them."""
    label, by_id = view.label, view.by_id
    sid = s["sentence_id"]
    ps = view.partners.get(sid)
    dom = _dom_id(sid)
    if not ps:
        return f"<span id='{dom}' class='s'>{inner}</span>"
    kind = min((p["kind"] for p in ps), key=lambda k: KIND_ORDER.get(k, 9))
    quote = all(p["quote"] for p in ps)
    classes = "s " + kind + (" quote" if quote else "")
    tip = (
        f"{label[s['doc_id']]} ({by_id[s['doc_id']]['source']}), sentence {s['sentence_index'] + 1}: "
        + "; ".join(
            f"{KIND_LABEL.get(p['kind'], p['kind'])}{' quote' if p['quote'] else ''} in {label.get(p['doc'], '?')} "
            f"({by_id[p['doc']]['source'] if p['doc'] in by_id else '?'}) score {p['score']:.2f}"
            for p in ps
        )
    )
    ids = json.dumps([_dom_id(p["sid"]) for p in ps])
    refs = "".join(
        f"<a class='ref {p['kind']}{' quote' if p['quote'] else ''}' href='#{_dom_id(p['sid'])}' "
        f"data-from='{dom}' title='{_e(KIND_LABEL.get(p['kind'], p['kind']))} match in "
        f"{_e(label.get(p['doc'], '?'))}'>{_e(label.get(p['doc'], '?'))}</a>"
        for p in ps
    )
    return (
        f"<span id='{dom}' class='{classes}' data-kind='{kind}' data-partners='{_e(ids)}' "
        f"title='{_e(tip)}'>{inner}</span><sup class='refs'>{refs}</sup>"
    )


def _pair_rows(view: _View) -> list[dict]:
    """One row per two articles sharing text: text reuse and quote reuse by kind counted from the matches
    themselves, the stated direction (source first) with its evidence; directed pairs first, then by
    amount of text reuse."""
    story, by_id, order, label = view.story, view.by_id, view.order, view.label
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for m in story.matches:
        key = (m["doc_id_a"], m["doc_id_b"])
        counts[key][("quote_" if m["is_quote"] else "text_") + m["kind"]] += 1
    pair_info = {(p["doc_id_a"], p["doc_id_b"]): p for p in story.pairs}
    rows = []
    for key in sorted(set(counts) | set(pair_info), key=lambda k: (order.get(k[0], 0), order.get(k[1], 0))):
        a, b = key
        if a not in by_id or b not in by_id:
            continue
        p = pair_info.get(key, {})
        c = counts.get(key, {})
        direction = p.get("direction") or "undetermined"
        src, dst = (b, a) if direction == "b->a" else (a, b)
        if direction not in ("a->b", "b->a") and order[a] > order[b]:
            src, dst = b, a
        row = {
            "from": src,
            "to": dst,
            "directed": direction in ("a->b", "b->a"),
            "quote_only": bool(p.get("quote_only")),
            **{f"{t}_{k}": int(c.get(f"{t}_{k}", 0)) for t in ("text", "quote") for k in KIND_ORDER},
            "evidence": _evidence(p.get("direction_evidence"), label[a], label[b]),
            "basis": p.get("direction_basis"),
            "confidence": p.get("direction_confidence"),
            "common_source": p.get("common_source_doc_id"),
        }
        row["text_total"] = sum(row[f"text_{k}"] for k in KIND_ORDER)
        row["quote_total"] = sum(row[f"quote_{k}"] for k in KIND_ORDER)
        rows.append(row)
    rows.sort(
        key=lambda r: (
            not r["directed"],
            -r["text_total"],
            -r["quote_total"],
            order[r["from"]],
            order[r["to"]],
        )
    )
    return rows


def _page_head(info: dict, n_shown: int, n_hidden: int) -> list[str]:
    """The document head, the title line with the story's counts and the colour legend."""
    title = _e(info["headline"] or "Story " + info["story_id"])
    n_total, outlets, first = info["n_docs"], info["outlets"], info["first"]
    return [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{title} · wiretrace</title><style>{_CSS}</style></head><body>",
        "<header class='top'>",
        f"<h1>{title}</h1>",
        f"<p class='sub'>Story <code>{_e(info['story_id'])}</code>: {n_total} articles"
        + (
            f" (showing the first {n_shown}; {n_hidden} more left out: copies and later articles come last)"
            if n_hidden
            else ""
        )
        + f" from {len(outlets)} outlet{'s' if len(outlets) != 1 else ''}"
        + (f", first published {_e(first)}" if first else ", no publication date known")
        + f" · {info['n_text'] + info['n_quote']} matched sentence pairs: <b>{info['n_text']}</b> text reuse, "
        f"<b>{info['n_quote']}</b> quote reuse"
        "</p>",
        "<div class='legend'><span class='s exact'>exact</span><span class='s near'>near-verbatim</span>"
        "<span class='s paraphrase'>paraphrase</span><span class='s near quote'>quotation reuse (dashed)</span>"
        "<span class='rm'>removed boilerplate<span class='why'>reason</span></span>"
        "<label><input type='checkbox' id='show-rm' checked> show removed boilerplate</label>"
        "<span>Click a coloured sentence to highlight its partners; the small letters link to them.</span></div>",
        "</header><section class='summary'>",
    ]


def _articles_table(view: _View) -> list[str]:
    """The articles: outlet, date, title, sentences, originality bar, inferred source, added / dropped
    sentences and quote reuse."""
    label, by_id = view.label, view.by_id
    out = [
        "<h2 class='sec'>Articles</h2><table class='articles'><tr><th></th><th>outlet</th><th>published</th>"
        "<th>title</th><th>sentences</th><th>originality (share of matchable sentences)</th>"
        "<th>derived from</th><th>added / dropped</th><th>quote reuse</th></tr>"
    ]
    for d in view.story.docs:
        inferred = d.get("inferred_source_doc_id")
        if inferred and inferred in by_id:
            derived = (
                f"<a class='lab' href='#doc-{_e(inferred)}'>{_e(label[inferred])}</a> "
                f"{_e(by_id[inferred]['source'])}"
            )
        elif inferred:
            derived = f"{_e(inferred)} (not on this page)"
        else:
            derived = "<span class='meta'>none inferred</span>"
        ad = f"{d['added']} / {d['dropped']}" if d.get("added") is not None else "–"
        n_sentences = (
            d.get("n_sentences")
            if d.get("n_sentences") is not None
            else len(view.story.sentences.get(d["doc_id"], []))
        )
        out.append(
            f"<tr><td><a class='lab' href='#doc-{_e(d['doc_id'])}'>{_e(label[d['doc_id']])}</a></td>"
            f"<td>{_e(d['source'])}</td><td>{_e(_fmt_date(d['published_at']) or 'unknown')}</td>"
            f"<td>{_e(d['title'] or '')}</td><td class='n'>{_e(n_sentences)}</td>"
            f"<td>{_bar(d)}</td><td>{derived}</td><td class='n'>{_e(ad)}</td>"
            f"<td class='n'>{_e(d.get('n_quote_reuse') if d.get('n_quote_reuse') is not None else '–')}</td></tr>"
        )
    out.append("</table>")
    return out


def _doc_link(view: _View, doc_id: str) -> str:
    return f"<a class='lab' href='#doc-{_e(doc_id)}'>{_e(view.label[doc_id])}</a> {_e(view.by_id[doc_id]['source'])}"


def _count_cell(v: int) -> str:
    return f"<td class='n{' zero' if not v else ''}'>{v}</td>"


def _pair_row_html(view: _View, r: dict) -> str:
    """One row of the who-took-what table: source, taker (or both, direction undetermined), counts by kind,
    the direction evidence with its basis and confidence."""
    cls = "pair directed" if r["directed"] else "pair undetermined"
    to = (
        ("→ " + _doc_link(view, r["to"]))
        if r["directed"]
        else ("↔ " + _doc_link(view, r["to"]) + "<br><small>(direction undetermined)</small>")
    )
    evidence = _e(r["evidence"])
    if r["quote_only"]:
        evidence = "<b>quotes only</b>: " + evidence
    elif r.get("basis") == "quote":
        evidence = "<b>quote reuse</b>: " + evidence
    elif r.get("basis") == "common_source":
        evidence = "<b>siblings</b>: " + evidence
    if r.get("confidence") is not None:
        evidence += f" <small>(confidence {r['confidence']:.2f})</small>"
    return (
        f"<tr class='{cls}' data-from='{_e(view.label[r['from']])}' data-to='{_e(view.label[r['to']])}'>"
        f"<td>{_doc_link(view, r['from'])}</td><td>{to}</td>"
        + "".join(_count_cell(r[f"text_{k}"]) for k in KIND_ORDER)
        + "".join(_count_cell(r[f"quote_{k}"]) for k in KIND_ORDER)
        + f"<td class='ev'>{evidence}</td></tr>"
    )


def _who_took_what(view: _View, rows: list[dict]) -> list[str]:
    """The findings in words, the table of pairs and the arc diagram."""
    docs, label = view.story.docs, view.label
    out = [
        "<h2 class='sec'>Who took what from whom</h2>",
        _findings(docs, label, rows),
        "<div class='flex'><div>",
        "<table class='pairs'><tr><th rowspan='2'>from (source)</th><th rowspan='2'>to (taker)</th>"
        "<th colspan='3' class='grp'>text reuse</th><th colspan='3' class='grp'>quote reuse</th>"
        "<th rowspan='2'>direction evidence</th></tr><tr><th>exact</th><th>near</th><th>para.</th>"
        "<th>exact</th><th>near</th><th>para.</th></tr>",
    ]
    out.extend(_pair_row_html(view, r) for r in rows)
    if not rows:
        out.append("<tr><td colspan='9'>No sentence is shared between these articles.</td></tr>")
    out.append(
        "</table></div><div>"
        + _arc_svg(docs, label, rows)
        + "<div class='meta'>Red arrows: inferred direction, pointing to the article that took the text.<br>"
        "Dashed grey: direction undetermined. Line width: text reuse.</div></div></div>"
    )
    return out


def _article_columns(view: _View) -> list[str]:
    """The articles side by side: head (label, outlet, title, date, originality) and body."""
    story = view.story
    out: list[str] = []
    for d in story.docs:
        doc_id = d["doc_id"]
        meta = [_e(_fmt_date(d["published_at"]) or "date unknown"), _e(doc_id)]
        if d.get("url"):
            meta.append(_e(d["url"]))
        out.append(
            f"<article class='doc' id='doc-{_e(doc_id)}'><div class='head'>"
            f"<h3><span class='lab'>{_e(view.label[doc_id])}</span> {_e(d['source'])}</h3>"
        )
        if d["title"]:
            out.append(f"<div class='title'>{_e(d['title'])}</div>")
        out.append(f"<div class='meta'>{' · '.join(meta)}<br>{_bar(d)}</div></div><div class='body'>")
        out.extend(
            _render_body(
                d,
                story.sentences.get(doc_id, []),
                story.removed.get(doc_id, []),
                lambda s, inner: _sentence_html(view, s, inner),
            )
        )
        out.append("</div></article>")
    return out


def _render(story: _Story, max_docs: int = 40) -> tuple[str, dict]:
    """The page of one story and its line of the index (``info``)."""
    n_total = len(story.docs)
    story, n_hidden = _limit(_provenance_order(story), max_docs)
    view = _view(story)
    docs = story.docs
    n_text = sum(1 for m in story.matches if not m["is_quote"])
    dated = [d for d in docs if d["published_at"] is not None]
    info = {
        "story_id": story.story_id,
        "n_docs": n_total,
        "outlets": sorted({d["source"] or "unknown" for d in docs}),
        "first": _fmt_date(dated[0]["published_at"]) if dated else None,
        "headline": next((d["title"] for d in docs if d["title"]), None),
        "n_text": n_text,
        "n_quote": len(story.matches) - n_text,
    }
    o = _page_head(info, len(docs), n_hidden)
    o.extend(_articles_table(view))
    o.extend(_who_took_what(view, _pair_rows(view)))
    o.append("</section><main class='cols'>")
    o.extend(_article_columns(view))
    o.append(f"</main><div id='sel' aria-live='polite'></div><script>{_JS}</script></body></html>")
    return "\n".join(o), info


def render_story(con: duckdb.DuckDBPyConnection, story_id: str, max_docs: int = 40) -> str:
    """The HTML page of one story (its first ``max_docs`` articles, oldest first); raises KeyError when the
    story is not in the database."""
    story = _load(con, [story_id])[story_id]
    if not story.docs:
        raise KeyError(f"no story {story_id!r} in this warehouse")
    return _render(story, max_docs)[0]


#: the files whose code shapes a page: pages rendered by other code are rendered again
_CODE_FILES = (Path(__file__), Path(cleaner_input.__code__.co_filename))
#: what ``write_reports`` keeps beside the pages: per story, a digest of the rows its page was
#: rendered from and its line of the index, so a later call renders only the stories that changed
MANIFEST = ".pages.json"


def code_digest() -> str:
    """A digest of the code that renders the pages."""
    h = hashlib.sha256()
    for f in _CODE_FILES:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def story_digests(con: duckdb.DuckDBPyConnection, story_ids: list[str]) -> dict[str, str]:
    """Per story, a digest of every row its page is rendered from (the rows ``_load`` reads: its
    documents, their clean text, sentences, removed spans and originality, the matches and document
    pairs inside the story, and its membership). Two equal digests give the same page."""
    in_batch = "st.story_id IN (SELECT unnest(?::VARCHAR[]))"
    parts = [
        "SELECT st.story_id, hash('story', st) AS h FROM marts.stories st",
        "SELECT st.story_id, hash('doc', d) FROM marts.stories st JOIN raw.documents d USING (doc_id)",
        "SELECT st.story_id, hash('clean', c) FROM marts.stories st JOIN staging.clean_documents c USING (doc_id)",
        "SELECT st.story_id, hash('sent', s) FROM marts.stories st JOIN staging.sentences s USING (doc_id)",
        "SELECT st.story_id, hash('removed', r) FROM marts.stories st JOIN staging.removed_spans r USING (doc_id)",
        """SELECT st.story_id, hash('match', m) FROM marts.sentence_matches m
           JOIN marts.stories st ON st.doc_id = m.doc_id_a
           JOIN marts.stories sb ON sb.doc_id = m.doc_id_b AND sb.story_id = st.story_id""",
        """SELECT st.story_id, hash('pair', p) FROM marts.document_pairs p
           JOIN marts.stories st ON st.doc_id = p.doc_id_a
           JOIN marts.stories sb ON sb.doc_id = p.doc_id_b AND sb.story_id = st.story_id""",
    ]
    if _has_table(con, "marts", "document_originality"):
        parts.append(
            "SELECT st.story_id, hash('orig', o) FROM marts.stories st "
            "JOIN marts.document_originality o USING (doc_id)"
        )
    union = " UNION ALL ".join(f"({q} WHERE {in_batch})" for q in parts)
    rows = con.execute(
        f"SELECT story_id, count(*), bit_xor(h), sum(h::HUGEINT) FROM ({union}) GROUP BY story_id",
        [list(story_ids)] * len(parts),
    ).fetchall()
    return {sid: f"{n}:{x}:{s}" for sid, n, x, s in rows}


def _read_manifest(folder: Path | None, code: str, max_docs: int) -> dict[str, dict]:
    """The stories of an earlier ``write_reports`` into ``folder`` whose page is still there, when it was
    rendered by the same code and settings; otherwise nothing."""
    if folder is None or not (folder / MANIFEST).is_file():
        return {}
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(manifest, dict) or manifest.get("code") != code or manifest.get("max_docs") != max_docs:
        return {}
    stories = manifest.get("stories")
    if not isinstance(stories, dict):
        return {}
    return {
        sid: entry
        for sid, entry in stories.items()
        if isinstance(entry, dict) and (folder / f"{sid}.html").is_file()
    }


def write_reports(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    min_docs: int = 2,
    max_docs: int = 40,
    reuse_from: Path | None = None,
    stats: dict[str, int] | None = None,
) -> list[Path]:
    """One page per story with at least ``min_docs`` documents (showing at most ``max_docs`` articles each),
    plus index.html; returns the pages.

    ``reuse_from``: a folder an earlier call wrote (it may be ``out_dir`` itself); a story whose rows
    are unchanged since (``story_digests``), rendered by the same code and settings, keeps its page from
    there instead of being rendered again. ``stats``, when given, receives ``rendered`` and ``reused``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stories = [
        r[0]
        for r in con.sql(
            "SELECT story_id, any_value(n_docs) AS n FROM marts.stories GROUP BY 1 HAVING n >= ? ORDER BY n DESC, story_id",
            params=[min_docs],
        ).fetchall()
    ]
    code = code_digest()
    before = _read_manifest(Path(reuse_from) if reuse_from is not None else None, code, max_docs)
    digests = story_digests(con, stories)
    pages: list[Path] = []
    infos: list[dict] = []
    manifest: dict[str, dict] = {}
    n_rendered = 0
    for lo in range(0, len(stories), _BATCH):
        chunk = stories[lo : lo + _BATCH]
        todo = [s for s in chunk if before.get(s, {}).get("digest") != digests.get(s)]
        loaded = _load(con, todo) if todo else {}
        for story_id in chunk:
            page = out_dir / f"{story_id}.html"
            if story_id in loaded:
                page_html, info = _render(loaded[story_id], max_docs)
                page.write_text(page_html, encoding="utf-8")
                n_rendered += 1
            else:
                info = before[story_id]["info"]
                old = Path(reuse_from) / page.name  # type: ignore[arg-type]
                if old.resolve() != page.resolve():
                    shutil.copyfile(old, page)
            pages.append(page)
            infos.append(info | {"page": page.name})
            manifest[story_id] = {"digest": digests.get(story_id), "info": info}
    index = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>wiretrace stories</title>",
        f"<style>{_CSS}</style></head><body><header class='top'><h1>Stories</h1>"
        f"<p class='sub'>{len(infos)} stories with at least {min_docs} articles</p></header>",
        "<table class='index'><tr><th>story</th><th>headline</th><th>articles</th><th>outlets</th>"
        "<th>first published</th><th>text reuse</th><th>quote reuse</th></tr>",
    ]
    for i in infos:
        index.append(
            f"<tr><td><a href='{_e(i['page'])}'>{_e(i['story_id'])}</a></td><td>{_e(i['headline'] or '')}</td>"
            f"<td>{i['n_docs']}</td><td>{_e(', '.join(i['outlets']))}</td><td>{_e(i['first'] or 'unknown')}</td>"
            f"<td>{i['n_text']}</td><td>{i['n_quote']}</td></tr>"
        )
    index.append("</table></body></html>")
    (out_dir / "index.html").write_text("\n".join(index), encoding="utf-8")
    (out_dir / MANIFEST).write_text(
        json.dumps({"code": code, "max_docs": max_docs, "stories": manifest}, sort_keys=True),
        encoding="utf-8",
    )
    if stats is not None:
        stats.update(rendered=n_rendered, reused=len(pages) - n_rendered)
    return pages
