"""Reuse report: one self-contained HTML page per story (no external assets, works offline).

The page shows the story's articles side by side (oldest first where dated), every matched sentence
coloured by its strongest kind (exact, near, paraphrase; quotation reuse outlined), each linked to its
partners in the other articles (click a sentence: its partners light up and scroll into view), the
boilerplate the cleaner removed shown greyed with its reason, and a summary of who took what from whom.

``render_story(con, story_id)`` returns the HTML; ``write_reports(con, out_dir)`` writes one page per
story with at least two documents plus an ``index.html``. ``con`` is a connection to the analysts' (or
the working) database.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import duckdb

KIND_ORDER = {"exact": 0, "near": 1, "paraphrase": 2}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{padding:16px 24px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 6px}
.legend span{display:inline-block;margin-right:12px;padding:1px 6px;border-radius:3px;font-size:13px}
.summary{padding:8px 24px;background:#fff;border-bottom:1px solid #ddd;font-size:14px}
.summary table{border-collapse:collapse}.summary td,.summary th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.cols{display:flex;gap:16px;padding:16px 24px;overflow-x:auto;align-items:flex-start}
.doc{flex:0 0 440px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 14px}
.doc h2{font-size:16px;margin:0 0 4px}.meta{font-size:12px;color:#555;margin-bottom:8px}
.para{margin:0 0 10px;line-height:1.5;font-size:14px}
.s{border-radius:3px;padding:0 1px;cursor:default}
.s.exact{background:#ffb3b3}.s.near{background:#ffd9a0}.s.paraphrase{background:#c7e3ff}
.s.quote{outline:1px dashed #7a5}.s[data-partners]{cursor:pointer}
.s.focus{box-shadow:0 0 0 2px #222}.s.partner{box-shadow:0 0 0 2px #d00}
.removed{color:#aaa;font-size:12px;border-top:1px dashed #ddd;margin-top:10px;padding-top:6px}
.removed .r{display:block;white-space:pre-wrap}.removed .reason{font-style:italic;color:#bbb}
.heading{font-weight:600}
"""

_JS = """
document.addEventListener('click', function (ev) {
  var el = ev.target.closest('.s[data-partners]');
  document.querySelectorAll('.focus,.partner').forEach(function (n) { n.classList.remove('focus', 'partner'); });
  if (!el) return;
  el.classList.add('focus');
  JSON.parse(el.dataset.partners).forEach(function (id, i) {
    var p = document.getElementById(id);
    if (p) { p.classList.add('partner'); if (i === 0) p.scrollIntoView({block: 'center', inline: 'nearest'}); }
  });
});
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    rel = con.sql(sql, params=params)
    cols = rel.columns
    return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]


def _dom_id(sentence_id: str) -> str:
    return "s-" + sentence_id.replace(":", "-")


def render_story(con: duckdb.DuckDBPyConnection, story_id: str) -> str:
    docs = _rows(
        con,
        """SELECT st.doc_id, d.source, d.published_at, coalesce(d.title, c.title) AS title, c.text,
                  o.share_original, o.share_exact, o.share_near, o.share_paraphrase, o.inferred_source_doc_id
           FROM marts.stories st JOIN raw.documents d USING (doc_id)
           JOIN staging.clean_documents c USING (doc_id)
           LEFT JOIN marts.document_originality o USING (doc_id)
           WHERE st.story_id = ? ORDER BY d.published_at NULLS LAST, d.source, st.doc_id""",
        [story_id],
    )
    if not docs:
        raise KeyError(f"no story {story_id!r} in this warehouse")
    ids = [d["doc_id"] for d in docs]
    matches = _rows(
        con,
        """SELECT sentence_id_a, sentence_id_b, doc_id_a, doc_id_b, kind, score, is_quote
           FROM marts.sentence_matches
           WHERE list_contains(?, doc_id_a) AND list_contains(?, doc_id_b)
           ORDER BY sentence_id_a, sentence_id_b""",
        [ids, ids],
    )
    best: dict[str, str] = {}
    quote: set[str] = set()
    partners: dict[str, list[str]] = {}
    for m in matches:
        for me, other in ((m["sentence_id_a"], m["sentence_id_b"]), (m["sentence_id_b"], m["sentence_id_a"])):
            if me not in best or KIND_ORDER[m["kind"]] < KIND_ORDER[best[me]]:
                best[me] = m["kind"]
            partners.setdefault(me, []).append(_dom_id(other))
            if m["is_quote"]:
                quote.add(me)
    pairs = _rows(
        con,
        """SELECT p.*, da.source AS src_a, db.source AS src_b FROM marts.document_pairs p
           JOIN raw.documents da ON da.doc_id = p.doc_id_a JOIN raw.documents db ON db.doc_id = p.doc_id_b
           WHERE list_contains(?, p.doc_id_a) AND list_contains(?, p.doc_id_b)
           ORDER BY p.doc_id_a, p.doc_id_b""",
        [ids, ids],
    )
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>wiretrace story {_e(story_id)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>Story {_e(story_id)}: {len(docs)} articles, {len(matches)} sentence matches</h1>",
        "<div class='legend'><span class='s exact'>exact</span><span class='s near'>near-verbatim</span>"
        "<span class='s paraphrase'>paraphrase</span><span class='s quote'>mostly quotation</span>"
        "<span style='color:#aaa'>removed boilerplate (grey)</span> Click a coloured sentence to see its partners.</div>"
        "</header>",
        "<section class='summary'><h3>Who took what from whom</h3><table><tr><th>from</th><th>to</th>"
        "<th>exact</th><th>near</th><th>paraphrase</th><th>quotes</th><th>direction evidence</th></tr>",
    ]
    for p in pairs:
        if p["direction"] == "b->a":
            src, dst = p["src_b"], p["src_a"]
        else:
            src, dst = p["src_a"], p["src_b"]
        arrow = "" if p["direction"] in ("a->b", "b->a") else " (direction undetermined)"
        out.append(
            f"<tr class='pair'><td>{_e(src)}</td><td>{_e(dst)}{_e(arrow)}</td><td>{p['n_exact']}</td>"
            f"<td>{p['n_near']}</td><td>{p['n_paraphrase']}</td><td>{p['n_quote']}</td>"
            f"<td>{_e(p['direction_evidence'])}</td></tr>"
        )
    out.append("</table></section><main class='cols'>")
    for d in docs:
        sents = _rows(
            con,
            """SELECT sentence_id, paragraph, start_offset, end_offset FROM staging.sentences
               WHERE doc_id = ? ORDER BY sentence_index""",
            [d["doc_id"]],
        )
        removed = _rows(
            con,
            "SELECT text, reason FROM staging.removed_spans WHERE doc_id = ? ORDER BY span_index",
            [d["doc_id"]],
        )
        text = d["text"] or ""
        shares = ""
        if d["share_original"] is not None:
            shares = (f"original {d['share_original']:.0%} · exact {d['share_exact']:.0%} · "
                      f"near {d['share_near']:.0%} · paraphrase {d['share_paraphrase']:.0%}")
        out.append(f"<article class='doc' id='doc-{_e(d['doc_id'])}'><h2>{_e(d['source'])}</h2>")
        out.append(f"<div class='meta'>{_e(d['title'] or '')}<br>{_e(d['published_at'] or 'date unknown')} · "
                   f"{_e(d['doc_id'])}<br>{shares}</div>")
        para, pos = None, 0
        buf: list[str] = []
        for s in sents:
            if s["paragraph"] != para:
                if buf:
                    out.append("<p class='para'>" + "".join(buf) + "</p>")
                buf, para = [], s["paragraph"]
            else:
                buf.append(_e(text[pos:s["start_offset"]]))
            sid = s["sentence_id"]
            classes = ["s"]
            attrs = ""
            if sid in best:
                classes.append(best[sid])
                attrs = f" data-partners='{_e(json.dumps(sorted(set(partners[sid]))))}'"
                if sid in quote:
                    classes.append("quote")
            body = _e(text[s["start_offset"]:s["end_offset"]])
            buf.append(f"<span id='{_dom_id(sid)}' class='{' '.join(classes)}'{attrs}>{body}</span>")
            pos = s["end_offset"]
        if buf:
            out.append("<p class='para'>" + "".join(buf) + "</p>")
        if removed:
            out.append("<div class='removed'><b>Removed boilerplate</b>")
            for r in removed:
                if not (r["text"] or "").strip():
                    continue
                out.append(f"<span class='r'>{_e(r['text'].strip())} <span class='reason'>[{_e(r['reason'])}]</span></span>")
            out.append("</div>")
        out.append("</article>")
    out.append(f"</main><script>{_JS}</script></body></html>")
    return "\n".join(out)


def write_reports(con: duckdb.DuckDBPyConnection, out_dir: Path, min_docs: int = 2) -> list[Path]:
    """One page per story with at least ``min_docs`` documents, plus index.html; returns the pages."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stories = con.sql(
        "SELECT story_id, any_value(n_docs) AS n FROM marts.stories GROUP BY 1 HAVING n >= ? ORDER BY n DESC, story_id",
        params=[min_docs],
    ).fetchall()
    pages = []
    index = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>wiretrace stories</title>",
             f"<style>{_CSS}</style></head><body><header><h1>Stories</h1></header><ul>"]
    for story_id, n in stories:
        page = out_dir / f"{story_id}.html"
        page.write_text(render_story(con, story_id), encoding="utf-8")
        pages.append(page)
        index.append(f"<li><a href='{_e(page.name)}'>{_e(story_id)}</a>: {n} articles</li>")
    index.append("</ul></body></html>")
    (out_dir / "index.html").write_text("\n".join(index), encoding="utf-8")
    return pages
