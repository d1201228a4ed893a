"""Semantic tier candidates: the focus pairs, the sentences near their lexical matches, and embedding
nearest neighbours between the documents of each focus pair.

The focus pairs are the document pairs whose lexical matches already align (chain weight at least
``semantic_focus_min_weight``, see ``pipeline.core.evidence``): elsewhere a rewording could only be an
isolated similarity, never reuse, so it is not worth a model's time. In the focus pairs, the sentences
not yet matched exact or near into the other document and within ``semantic_window`` positions of a
match of the pair are embedded, and their ``para_top_k`` nearest neighbours by cosine (at least
``semantic_min_cosine``) become candidates; skipped, with the reason, when they are more than
``semantic_max_sentences``."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pipeline.core.overlap.common import Clock, empty
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.index import both_ways, doc_pair_numbers
from pipeline.core.overlap.models import encode
from pipeline.core.overlap.schemas import CANDIDATE_SCHEMA

#: document pairs searched between two progress reports
SEARCH_REPORT_EVERY = 1000


def focus_pairs(pair_evidence: pl.DataFrame, doc_rank: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(da, db): document pairs whose aligned chain weighs at least ``semantic_focus_min_weight``."""
    return (
        doc_pair_numbers(
            pair_evidence.filter(pl.col("aligned_weight") >= cfg.semantic_focus_min_weight),
            doc_rank,
            "doc_id_a",
            "doc_id_b",
        )
        .select("da", "db")
        .unique()
        .sort("da", "db")
    )


def near_anchors(
    matches: pl.DataFrame, focus: pl.DataFrame, doc_rank: pl.DataFrame, elig: pl.DataFrame, window: int
) -> pl.DataFrame:
    """Sentence ids (``sentence_id``) within ``window`` positions of a match of a focus pair, in the
    same document."""
    pairs = doc_pair_numbers(matches, doc_rank, "doc_id_a", "doc_id_b").join(
        focus, on=["da", "db"], how="semi"
    )
    anchors = pl.concat(
        [
            pairs.select(pl.col("doc_id_a").alias("doc_id"), pl.col("index_a").alias("at")),
            pairs.select(pl.col("doc_id_b").alias("doc_id"), pl.col("index_b").alias("at")),
        ]
    ).unique()
    return (
        elig.select("sentence_id", "doc_id", "index")
        .join(anchors, on="doc_id")
        .filter((pl.col("index") - pl.col("at")).abs() <= window)
        .select("sentence_id")
        .unique()
    )


def _open_by_pair(
    open_rows: pl.DataFrame, row_of: dict[int, int]
) -> dict[tuple[int, int], tuple[list[int], list[int]]]:
    """Per oriented document pair (didx, od): the hids of its open sentences and their embedding rows."""
    by_pair: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
    for d, od, h in open_rows.sort("sentence_id").select("didx", "od", "hid").iter_rows():
        got = by_pair.setdefault((d, od), ([], []))
        got[0].append(h)
        got[1].append(row_of[h])
    return by_pair


def _nearest(
    sim: np.ndarray, hs: list[int], ho: list[int], k: int, min_cosine: float
) -> list[tuple[int, int]]:
    """(hid_a, hid_b) of the ``k`` nearest neighbours (cosine ``sim``, rows ``hs``, columns ``ho``) of
    every row with a cosine of at least ``min_cosine``, other than the row's own text."""
    out = []
    kk = min(k, sim.shape[1])
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :kk]
    for i in range(sim.shape[0]):
        for j in idx[i]:
            if sim[i, j] >= min_cosine and hs[i] != ho[j]:
                out.append((min(hs[i], ho[j]), max(hs[i], ho[j])))
    return out


def semantic_candidates(
    doc_pairs: pl.DataFrame,
    elig: pl.DataFrame,
    enc: Any,
    cfg: OverlapConfig,
    clock: Clock,
    done: pl.DataFrame,
) -> tuple[pl.DataFrame | None, str]:
    """Embedding nearest neighbours within the document pairs (tier ``semantic``) and a sentence saying
    what ran; ``done`` (sidx, od): sentences already matched exact or near into document ``od`` seek no
    partner there and are not embedded for it. None (and why) when there are too many sentences.
    Reports ``embed`` over sentences, then ``semantic_search`` over document pairs."""
    if doc_pairs.height == 0:
        return empty(CANDIDATE_SCHEMA), "semantic tier on: no candidate document pairs"
    # (sentence, other document) rows still open
    open_rows = elig.select("sidx", "didx", "hid", "text", "sentence_id").join(
        both_ways(doc_pairs), on="didx"
    )
    if done.height:
        open_rows = open_rows.join(done, on=["sidx", "od"], how="anti")
    e = open_rows.unique("sentence_id").sort("sentence_id")
    if e.height > cfg.semantic_max_sentences:
        return None, (
            f"semantic tier skipped: {e.height} sentences in candidate document pairs exceed "
            f"semantic_max_sentences={cfg.semantic_max_sentences}"
        )
    uh = e.select("hid", "text").unique("hid", keep="first").sort("hid")
    vec = encode(enc, [t[: cfg.max_grade_chars] for t in uh["text"].to_list()], clock)
    by_pair = _open_by_pair(open_rows, {h: i for i, h in enumerate(uh["hid"].to_list())})
    found: list[tuple[int, int]] = []
    k = max(1, cfg.para_top_k)
    n_pairs = doc_pairs.height
    for n, (da, db) in enumerate(doc_pairs.select("da", "db").iter_rows(), start=1):
        if n % SEARCH_REPORT_EVERY == 0 or n == n_pairs:
            clock.report("semantic_search", n, n_pairs)
        if (da, db) not in by_pair or (db, da) not in by_pair:
            continue
        ha, ra = by_pair[(da, db)]
        hb, rb = by_pair[(db, da)]
        sim = vec[ra] @ vec[rb].T
        found += _nearest(sim, ha, hb, k, cfg.semantic_min_cosine)
        found += _nearest(sim.T, hb, ha, k, cfg.semantic_min_cosine)
    cand = pl.DataFrame(
        {"hid_a": [a for a, _ in found], "hid_b": [b for _, b in found]},
        schema={"hid_a": pl.Int64, "hid_b": pl.Int64},
    )
    cand = cand.unique().with_columns(pl.lit("semantic").alias("tier")).sort("hid_a", "hid_b")
    return cand, f"semantic tier on: {len(uh)} distinct sentences embedded"
