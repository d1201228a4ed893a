# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How one wire story travelled: the sample corpus
#
# This notebook opens the published warehouse **read-only** (`warehouse/wiretrace.duckdb`, or the file
# named by the environment variable `WIRETRACE_DB`) and tells the story of the sample articles: who took
# text from whom, how (verbatim, lightly edited, reworded), how much of each article is its own, and what
# a copy looks like next to its source. Pipeline runs never block it: a run swaps in a new file, and this
# notebook keeps its snapshot until reopened.
#
# Build the warehouse first: `make run` (or `wiretrace run --input data/sample --warehouse warehouse`).

# %%
import html
import io
from pathlib import Path

import duckdb
import matplotlib
import polars as pl

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
from IPython.display import HTML, Image, Markdown, display

from pipeline.config import settings

candidates = (
    [settings().db]
    if settings().db
    else [Path("../warehouse/wiretrace.duckdb"), Path("warehouse/wiretrace.duckdb")]
)
DB = next((p for p in candidates if p.is_file()), None)
if DB is None:
    raise FileNotFoundError(
        f"no published warehouse at {', '.join(map(str, candidates))}: run `make run` first"
    )
con = duckdb.connect(str(DB), read_only=True)


def show(fig) -> None:
    """Display a figure as a PNG (whatever the matplotlib backend) and free it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buf.getvalue(), format="png"))


KINDS = ["exact", "near", "paraphrase"]
COLORS = {"exact": "#f08a8a", "near": "#f6bf6b", "paraphrase": "#8fc2f2", "original": "#b9dfb3"}
docs = con.sql(
    """SELECT doc_id, source, published_at, title, n_sentences FROM marts.documents
       ORDER BY published_at NULLS LAST, source, doc_id"""
).pl()
# charts are keyed by document: each has its own label, the outlet numbered in date order when it
# published more than one, so two articles of one outlet never share a bar, a node or a label
by_source: dict[str, list[str]] = {}
for r in docs.iter_rows(named=True):
    by_source.setdefault(r["source"], []).append(r["doc_id"])
doc_label = {
    d: s if len(ids) == 1 else f"{s} ({i})"
    for s, ids in by_source.items()
    for i, d in enumerate(ids, start=1)
}
docs = docs.with_columns(pl.col("doc_id").replace_strict(doc_label).alias("document"))
docs

# %% [markdown]
# ## Who took from whom: source-by-source reuse
# Left: text **taken**, only along the directions `marts.document_pairs` states (dates, credit lines, the
# text that holds what its relatives share; see `direction_basis`). A row is the outlet the text was taken
# **from**, a column the outlet that took it. Right: sentences **shared** without a stated direction
# (siblings copying one source, quote reuse, or no decisive evidence), symmetric: nothing is said to be
# taken there. Quote reuse (two outlets quoting the same speaker) is never evidence of copying.

# %%
matrix = con.sql(
    """SELECT source_from, source_to, direction_status,
              sum(n_text_matches)::BIGINT AS text_matches, sum(n_quote_matches)::BIGINT AS quote_matches
       FROM marts.outlet_reuse_matrix GROUP BY ALL ORDER BY ALL"""
).pl()
sources = list(dict.fromkeys(docs["source"]))  # oldest dated outlet first
index = {s: i for i, s in enumerate(sources)}


def reuse_grid(stated: bool) -> list[list[int]]:
    """Text taken along stated directions (stated=True), or sentences shared without one (symmetric)."""
    grid = [[0] * len(sources) for _ in sources]
    for row in matrix.iter_rows(named=True):
        if (row["direction_status"] == "inferred") != stated:
            continue
        i, j = index[row["source_from"]], index[row["source_to"]]
        if stated:
            grid[i][j] += int(row["text_matches"] or 0)
        else:
            n = int(row["text_matches"] or 0) + int(row["quote_matches"] or 0)
            grid[i][j] += n
            grid[j][i] += n
    return grid


fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
for ax, (stated, title, cmap) in zip(
    axes,
    [(True, "Text taken (direction stated)", "Reds"), (False, "Shared, no direction stated", "Greys")],
    strict=True,
):
    grid = reuse_grid(stated)
    im = ax.imshow(grid, cmap=cmap, vmin=0)
    ax.set_xticks(range(len(sources)), sources, rotation=35, ha="right")
    ax.set_yticks(range(len(sources)), sources)
    ax.set_xlabel("taken by" if stated else "outlet")
    ax.set_ylabel("taken from" if stated else "outlet")
    top = max(max(r) for r in grid) or 1
    for i in range(len(sources)):
        for j in range(len(sources)):
            if i == j:
                continue
            label = f"{grid[i][j]}" if grid[i][j] else ""
            ax.text(
                j,
                i,
                label,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if grid[i][j] > 0.6 * top else "black",
            )
    fig.colorbar(im, ax=ax, label="matched sentences", shrink=0.8)
    ax.set_title(title)
fig.tight_layout()
show(fig)
matrix

# %% [markdown]
# ## Every pair of articles: matches by kind and the direction evidence

# %%
pairs = con.sql(
    """SELECT p.doc_id_a, p.doc_id_b, p.n_exact, p.n_near, p.n_paraphrase, p.n_quote, p.n_nonquote,
              round(p.containment_a_in_b, 2) AS a_in_b, round(p.containment_b_in_a, 2) AS b_in_a,
              p.direction, p.direction_basis, p.direction_confidence, p.direction_evidence
       FROM marts.document_pairs p WHERE NOT p.same_source
       ORDER BY p.n_nonquote DESC, p.source_a, p.source_b, p.doc_id_a, p.doc_id_b"""
).pl()
pairs = pairs.select(
    pl.col("doc_id_a").replace_strict(doc_label).alias("document_a"),
    pl.col("doc_id_b").replace_strict(doc_label).alias("document_b"),
    pl.exclude("doc_id_a", "doc_id_b"),
)
pairs

# %% [markdown]
# ## Provenance graph: who copied whom
# Articles on a time line (undated ones on the bottom row). A red arrow A → B means B took text from A,
# along a direction `marts.document_pairs` states (dates, credit lines, or the text that holds what its
# relatives share); a dashed grey line is a pair that shares sentences with no direction stated (copies of
# one source, quote reuse, or no decisive evidence). Line width grows with the number of shared non-quote sentences; the label gives text
# reuse / quote reuse.

# %%
graph_pairs = con.sql(
    """SELECT doc_id_a, doc_id_b, direction, n_nonquote, n_quote FROM marts.document_pairs
       WHERE NOT same_source ORDER BY doc_id_a, doc_id_b"""
).pl()
dated = [r for r in docs.iter_rows(named=True) if r["published_at"] is not None]
undated = [r for r in docs.iter_rows(named=True) if r["published_at"] is None]
# dated articles in date order on the top row, undated ones on the bottom row, staggered
pos = {r["doc_id"]: (i * 2.0, 1.0) for i, r in enumerate(dated)}
pos |= {r["doc_id"]: (i * 2.0 - 1.0 + (1.0 if dated else 0.0), -1.0) for i, r in enumerate(undated)}
date = {
    r["doc_id"]: (r["published_at"].strftime("%Y-%m-%d") if r["published_at"] else "undated")
    for r in docs.iter_rows(named=True)
}
BEND = 0.18  # every edge is a gentle arc, so edges between nodes on one row do not run through the others

fig, ax = plt.subplots(figsize=(11, 5.5))
for row in graph_pairs.iter_rows(named=True):
    a, b = row["doc_id_a"], row["doc_id_b"]
    if row["direction"] == "b->a":
        a, b = b, a
    (x1, y1), (x2, y2) = pos[a], pos[b]
    directed = row["direction"] in ("a->b", "b->a")
    ax.annotate(
        "",
        xy=(x2, y2),
        xytext=(x1, y1),
        zorder=2 if directed else 1,
        arrowprops=dict(
            arrowstyle="-|>" if directed else "-",
            lw=0.8 + 0.35 * row["n_nonquote"],
            color="#c0392b" if directed else "#a0a0ac",
            ls="-" if directed else "--",
            alpha=0.9 if directed else 0.7,
            shrinkA=26,
            shrinkB=26,
            mutation_scale=22,
            connectionstyle=f"arc3,rad={-BEND}",
        ),
    )
    # the middle of the arc: the chord's midpoint moved sideways by BEND / 2 of the chord's length
    mx, my = (x1 + x2) / 2 - BEND / 2 * (y2 - y1), (y1 + y2) / 2 + BEND / 2 * (x2 - x1)
    ax.text(
        mx,
        my,
        f"{row['n_nonquote']}/{row['n_quote']}",
        fontsize=8,
        color="#333",
        ha="center",
        va="center",
        zorder=5,
        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85),
    )
for doc_id, (x, y) in pos.items():
    ax.scatter([x], [y], s=2600, color="#eef", edgecolors="#336", zorder=3)
    ax.text(x, y, f"{doc_label[doc_id]}\n{date[doc_id]}", ha="center", va="center", fontsize=8, zorder=4)
ax.set_axis_off()
xs = [x for x, _ in pos.values()]
ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
ax.set_ylim(-1.9, 1.9)
ax.set_title("Provenance graph (red arrow: source → copier; labels: text reuse / quote reuse)")
fig.tight_layout()
show(fig)

# %% [markdown]
# ## Originality per document
# Each article's matchable sentences by origin: its own (found in no article it derives from: being
# copied does not make an article less original), or taken exactly, near-verbatim or as a paraphrase from
# an article that is its source. `inferred_source` is the article it derives from, where
# the direction is known; `added` / `dropped` count the sentences it added to, or left out of, that source.
# One bar per article, labelled as in the table above.

# %%
orig = con.sql(
    """SELECT o.doc_id, d.source, d.published_at::DATE AS published, o.n_matchable,
              round(o.share_original, 3) AS share_original, round(o.share_exact, 3) AS share_exact,
              round(o.share_near, 3) AS share_near, round(o.share_paraphrase, 3) AS share_paraphrase,
              o.n_quote_reuse, o.inferred_source_doc_id, o.added, o.dropped
       FROM marts.document_originality o JOIN marts.documents d USING (doc_id)
       ORDER BY d.published_at NULLS LAST, d.source, o.doc_id"""
).pl()
orig = orig.select(
    pl.col("doc_id").replace_strict(doc_label).alias("document"),
    pl.exclude("doc_id", "inferred_source_doc_id", "added", "dropped"),
    pl.col("inferred_source_doc_id").replace_strict(doc_label, default=None).alias("inferred_source"),
    "added",
    "dropped",
)
fig, ax = plt.subplots(figsize=(9, 0.6 * orig.height + 1.5))
left = [0.0] * orig.height
rows = list(range(orig.height))  # one bar per article
for kind in ["original", *KINDS]:
    values = [v or 0.0 for v in orig[f"share_{kind}"]]
    ax.barh(rows, values, left=left, color=COLORS[kind], label=kind)
    for y, (lft, v) in enumerate(zip(left, values, strict=True)):
        if v >= 0.08:
            ax.text(lft + v / 2, y, f"{v:.0%}", ha="center", va="center", fontsize=8)
    left = [a + b for a, b in zip(left, values, strict=True)]
ax.set_yticks(rows, list(orig["document"]))
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=4, fontsize=9, frameon=False)
ax.set_title("Share of each article's sentences by origin")
fig.tight_layout()
show(fig)
orig

# %% [markdown]
# ## Two articles side by side
# The pair with the most text reuse whose direction is known (else the pair with the most text reuse):
# the source on the left, the article that took from it on the right. Matched sentences are coloured by
# kind (red exact, orange near-verbatim, blue paraphrase; dashed outline: quotation reuse) and numbered:
# the same number marks the two sides of one match.

# %%
best = con.sql(
    """SELECT doc_id_a, doc_id_b, direction FROM marts.document_pairs WHERE NOT same_source
       ORDER BY direction IN ('a->b', 'b->a') DESC, n_nonquote DESC, n_exact + n_near + n_paraphrase DESC,
                doc_id_a, doc_id_b LIMIT 1"""
).fetchall()
if not best:
    raise ValueError("no two articles share a sentence in this warehouse")
left_doc, right_doc, direction = best[0]
if direction == "b->a":
    left_doc, right_doc = right_doc, left_doc
links = con.sql(
    """SELECT CASE WHEN doc_id_a = ? THEN sentence_id_a ELSE sentence_id_b END AS left_sid,
              CASE WHEN doc_id_a = ? THEN sentence_id_b ELSE sentence_id_a END AS right_sid,
              kind, score, is_quote
       FROM marts.sentence_matches
       WHERE (doc_id_a = ? AND doc_id_b = ?) OR (doc_id_a = ? AND doc_id_b = ?)
       ORDER BY left_sid, right_sid""",
    params=[left_doc, left_doc, left_doc, right_doc, right_doc, left_doc],
).fetchall()
RANK = {k: i for i, k in enumerate(KINDS)}
marks: dict[str, dict] = {}  # sentence_id -> kind, quote, match numbers
for number, (lsid, rsid, kind, _score, quote) in enumerate(
    sorted(links, key=lambda m: int(m[0].rsplit(":", 1)[1])), start=1
):
    for sid in (lsid, rsid):
        m = marks.setdefault(sid, {"kind": kind, "quote": True, "numbers": []})
        if RANK[kind] < RANK[m["kind"]]:
            m["kind"] = kind
        m["quote"] &= bool(quote)
        m["numbers"].append(number)


def column(doc_id: str, role: str) -> str:
    meta = con.sql(
        "SELECT source, published_at, title FROM marts.documents WHERE doc_id = ?", params=[doc_id]
    ).fetchall()[0]
    when = meta[1].strftime("%Y-%m-%d") if meta[1] else "date unknown"
    parts = [
        f"<h3 style='margin:0'>{html.escape(role)}: {html.escape(meta[0])}</h3>",
        f"<div style='color:#555;font-size:12px;margin-bottom:8px'>"
        f"{html.escape(' · '.join(x for x in (meta[2], when) if x))}</div><p>",
    ]
    paragraph = None
    for sid, para, text in con.sql(
        "SELECT sentence_id, paragraph, text FROM staging.sentences WHERE doc_id = ? ORDER BY sentence_index",
        params=[doc_id],
    ).fetchall():
        if paragraph is not None and para != paragraph:
            parts.append("</p><p>")
        paragraph = para
        m = marks.get(sid)
        if m is None:
            parts.append(f"<span class='match-none'>{html.escape(text)}</span> ")
            continue
        outline = "outline:1.5px dashed #4a8a3a;" if m["quote"] else ""
        numbers = ",".join(str(n) for n in m["numbers"])
        parts.append(
            f"<mark class='match-{m['kind']}' title='{html.escape(m['kind'])}' "
            f"style='background:{COLORS[m['kind']]};{outline}border-radius:3px;padding:0 2px'>"
            f"{html.escape(text)}</mark><sup style='font-size:9px;color:#555'>[{numbers}]</sup> "
        )
    parts.append("</p>")
    return "<div style='flex:1;font-size:13px;line-height:1.5;min-width:0'>" + "".join(parts) + "</div>"


counts = {k: sum(1 for m in links if m[2] == k) for k in KINDS}
display(
    Markdown(
        f"**{len(links)} matched sentence pairs**: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + f"; {sum(1 for m in links if m[4])} of them quotation reuse. Direction: `{direction}`."
    )
)
display(
    HTML(
        "<div class='side-by-side' style='display:flex;gap:28px'>"
        + column(left_doc, "source" if direction in ("a->b", "b->a") else "left")
        + column(right_doc, "took from it" if direction in ("a->b", "b->a") else "right")
        + "</div>"
    )
)

# %% [markdown]
# ## What each outlet changed
# Sentence by sentence, each article against its inferred source: kept verbatim, altered (near or
# paraphrase), added, or dropped. Sentences too short to match, and boilerplate, are counted apart: they
# are never called added or dropped.

# %%
con.sql(
    """PIVOT (SELECT source, reference_outlet, change FROM marts.story_changes)
       ON change IN ('kept', 'altered', 'added', 'dropped', 'too_short', 'boilerplate') USING count(*)
       GROUP BY source, reference_outlet ORDER BY source, reference_outlet"""
).pl()

# %%
con.close()
