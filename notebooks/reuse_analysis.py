# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How one wire story travelled: the sample corpus
#
# This notebook opens the published warehouse **read-only** (`warehouse/wiretrace.duckdb`, or the file
# named by `WIRETRACE_DB`) and tells the story of the five sample articles: who took text from whom, how
# (verbatim, edited, reworded), and what each outlet added. Pipeline runs never block it: a run swaps in a
# new file, and this notebook keeps its snapshot until reopened.

# %%
import os
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import html as _html

import matplotlib.pyplot as plt
from IPython.display import HTML, display

DB = Path(os.environ.get("WIRETRACE_DB", "../warehouse/wiretrace.duckdb"))
if not DB.exists():
    DB = Path("warehouse/wiretrace.duckdb")
con = duckdb.connect(str(DB), read_only=True)
docs = con.sql("SELECT doc_id, source, published_at, title, n_sentences FROM marts.documents ORDER BY source").pl()
docs

# %% [markdown]
# ## Source-by-source reuse
# Sentence matches between outlets, by kind. Rows are the outlet a sentence was taken **from** where the
# direction could be inferred (dates, containment); otherwise the pair's order is kept and marked.

# %%
matrix = con.sql(
    """SELECT source_from, source_to, sum(n_text_matches) AS text_matches, sum(n_quote_matches) AS quote_matches
       FROM marts.outlet_reuse_matrix GROUP BY ALL ORDER BY ALL"""
).pl()
sources = sorted(set(docs["source"]))
index = {s: i for i, s in enumerate(sources)}
grid = [[0] * len(sources) for _ in sources]
for row in matrix.iter_rows(named=True):
    grid[index[row["source_from"]]][index[row["source_to"]]] += row["text_matches"] + row["quote_matches"]
fig, ax = plt.subplots(figsize=(6, 5))
im = ax.imshow(grid, cmap="Reds")
ax.set_xticks(range(len(sources)), sources, rotation=45, ha="right")
ax.set_yticks(range(len(sources)), sources)
ax.set_xlabel("taken by")
ax.set_ylabel("taken from")
for i in range(len(sources)):
    for j in range(len(sources)):
        ax.text(j, i, grid[i][j], ha="center", va="center", fontsize=9)
fig.colorbar(im, ax=ax, label="matched sentences")
ax.set_title("Sentence reuse between outlets")
fig.tight_layout()
display(fig)
matrix

# %% [markdown]
# ## Matches by kind for every pair of articles

# %%
con.sql(
    """SELECT p.source_a, p.source_b, p.n_exact, p.n_near, p.n_paraphrase, p.n_quote,
              round(p.containment_a_in_b, 2) AS a_in_b, round(p.containment_b_in_a, 2) AS b_in_a,
              p.direction, p.direction_evidence
       FROM marts.document_pairs p ORDER BY p.source_a, p.source_b"""
).pl()

# %% [markdown]
# ## Provenance graph: who copied whom
# An arrow A → B means B took text from A (direction inferred from dates or containment); a dashed line is a
# pair whose direction is undetermined. Line width grows with the number of shared sentences.

# %%
import math

pairs = con.sql(
    """SELECT source_a, source_b, direction, n_exact + n_near + n_paraphrase AS shared FROM marts.document_pairs
       WHERE NOT same_source"""
).pl()
pos = {s: (math.cos(2 * math.pi * i / len(sources)), math.sin(2 * math.pi * i / len(sources)))
       for i, s in enumerate(sources)}
fig, ax = plt.subplots(figsize=(7, 6))
for row in pairs.iter_rows(named=True):
    a, b = row["source_a"], row["source_b"]
    if row["direction"] == "b->a":
        a, b = b, a
    (x1, y1), (x2, y2) = pos[a], pos[b]
    width = 0.5 + 0.25 * row["shared"]
    if row["direction"] in ("a->b", "b->a"):
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1),
                    arrowprops=dict(arrowstyle="-|>", lw=width, color="#c33", shrinkA=18, shrinkB=18))
    else:
        ax.plot([x1, x2], [y1, y2], ls="--", lw=width, color="#999")
    ax.text((x1 + x2) / 2, (y1 + y2) / 2, str(row["shared"]), fontsize=8, color="#333")
for s, (x, y) in pos.items():
    ax.scatter([x], [y], s=900, color="#eef", edgecolors="#336", zorder=3)
    ax.text(x, y, s, ha="center", va="center", fontsize=8, zorder=4)
ax.set_axis_off()
ax.set_title("Provenance graph (arrows: source → copier)")
fig.tight_layout()
display(fig)

# %% [markdown]
# ## Originality per document

# %%
orig = con.sql(
    """SELECT d.source, o.n_matchable, o.share_original, o.share_exact, o.share_near, o.share_paraphrase,
              o.added, o.dropped, src.source AS inferred_source
       FROM marts.document_originality o JOIN marts.documents d USING (doc_id)
       LEFT JOIN marts.documents src ON src.doc_id = o.inferred_source_doc_id
       ORDER BY d.source"""
).pl()
fig, ax = plt.subplots(figsize=(7, 4))
left = [0.0] * orig.height
for col, color in [("share_original", "#8c8"), ("share_exact", "#f88"), ("share_near", "#fb6"),
                   ("share_paraphrase", "#8bf")]:
    values = [v or 0.0 for v in orig[col]]
    ax.barh(orig["source"], values, left=left, color=color, label=col.replace("share_", ""))
    left = [a + b for a, b in zip(left, values, strict=True)]
ax.set_xlim(0, 1)
ax.legend(loc="lower right", fontsize=8)
ax.set_title("Share of each article's sentences by origin")
fig.tight_layout()
display(fig)
orig

# %% [markdown]
# ## Two articles side by side
# The wire original (AFP) next to the outlet with the most sentence matches to it, each matched sentence
# coloured by kind: red exact, orange near-verbatim, blue paraphrase.

# %%
afp = con.sql("SELECT doc_id FROM marts.documents WHERE source = 'AFP' ORDER BY doc_id LIMIT 1").fetchall()
left_doc = afp[0][0] if afp else docs["doc_id"][0]
other = con.sql(
    """SELECT CASE WHEN doc_id_a = ? THEN doc_id_b ELSE doc_id_a END AS other, count(*) AS n
       FROM marts.sentence_matches WHERE ? IN (doc_id_a, doc_id_b) GROUP BY 1 ORDER BY n DESC, other LIMIT 1""",
    params=[left_doc, left_doc],
).fetchall()
right_doc = other[0][0] if other else left_doc
COLORS = {"exact": "#ffb3b3", "near": "#ffd9a0", "paraphrase": "#c7e3ff"}


def column(doc_id: str, partner: str) -> str:
    kinds = dict(con.sql(
        """SELECT CASE WHEN doc_id_a = ? THEN sentence_id_a ELSE sentence_id_b END AS sid,
                  min_by(kind, CASE kind WHEN 'exact' THEN 0 WHEN 'near' THEN 1 ELSE 2 END) AS kind
           FROM marts.sentence_matches
           WHERE (doc_id_a = ? AND doc_id_b = ?) OR (doc_id_a = ? AND doc_id_b = ?) GROUP BY 1""",
        params=[doc_id, doc_id, partner, partner, doc_id],
    ).fetchall())
    source = con.sql("SELECT source FROM marts.documents WHERE doc_id = ?", params=[doc_id]).fetchall()[0][0]
    parts = [f"<h3>{_html.escape(source)}</h3>"]
    for sid, text in con.sql(
        "SELECT sentence_id, text FROM staging.sentences WHERE doc_id = ? ORDER BY sentence_index", params=[doc_id]
    ).fetchall():
        kind = kinds.get(sid)
        style = f" style='background:{COLORS[kind]}' title='{kind}'" if kind else ""
        parts.append(f"<span class='match-{kind or 'none'}'{style}>{_html.escape(text)}</span> ")
    return "<div style='flex:1;font-size:13px;line-height:1.5'>" + "".join(parts) + "</div>"


display(HTML("<div style='display:flex;gap:24px'>" + column(left_doc, right_doc) + column(right_doc, left_doc)
             + "</div>"))

# %%
con.close()
