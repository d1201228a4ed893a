"""``passages``: runs of matched sentences aligned between two documents, both sides moving forward,
allowing gaps of up to ``passage_max_gap`` unmatched sentences on each side, with at least
``passage_min_sentences`` matched pairs (their direction is set by ``pipeline.core.provenance``)."""

from __future__ import annotations

import polars as pl

from pipeline.core.overlap.common import empty, stable_ids
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.schemas import PASSAGE_SCHEMA


def _runs(matches: pl.DataFrame, gap: int) -> pl.DataFrame:
    """The matches with ``_run``: the number of their run within their document pair."""
    m = matches.select(
        "doc_id_a",
        "doc_id_b",
        "sentence_id_a",
        "sentence_id_b",
        "index_a",
        "index_b",
        "kind",
        "score",
        "is_quote",
    ).sort("doc_id_a", "doc_id_b", "index_a", "index_b")
    prev_a = pl.col("index_a").shift(1).over("doc_id_a", "doc_id_b")
    prev_b = pl.col("index_b").shift(1).over("doc_id_a", "doc_id_b")
    da = pl.col("index_a") - prev_a
    db = pl.col("index_b") - prev_b
    # a sentence matched twice (da == 0) continues the run only if b still moves forward
    new = prev_a.is_null() | (da > gap) | (da < 0) | (db <= 0) | (db > gap)
    return m.with_columns(new.alias("_new")).with_columns(
        pl.col("_new").cast(pl.Int64).cum_sum().over("doc_id_a", "doc_id_b").alias("_run")
    )


def _run_rows(m: pl.DataFrame, sents: pl.DataFrame) -> pl.DataFrame:
    """One row per run: sentence index and character ranges on both sides, counts by kind, mean score."""
    pos = sents.select("sentence_id", "start", "end")
    m = m.join(
        pos.rename({"sentence_id": "sentence_id_a", "start": "s_a", "end": "e_a"}), on="sentence_id_a"
    ).join(pos.rename({"sentence_id": "sentence_id_b", "start": "s_b", "end": "e_b"}), on="sentence_id_b")
    return m.group_by("doc_id_a", "doc_id_b", "_run").agg(
        pl.col("index_a").min().alias("first_index_a"),
        pl.col("index_a").max().alias("last_index_a"),
        pl.col("index_b").min().alias("first_index_b"),
        pl.col("index_b").max().alias("last_index_b"),
        pl.col("s_a").min().alias("start_a"),
        pl.col("e_a").max().alias("end_a"),
        pl.col("s_b").min().alias("start_b"),
        pl.col("e_b").max().alias("end_b"),
        pl.len().alias("n_sentences"),
        (pl.col("kind") == "exact").sum().alias("n_exact"),
        (pl.col("kind") == "near").sum().alias("n_near"),
        (pl.col("kind") == "paraphrase").sum().alias("n_paraphrase"),
        pl.col("score").mean().alias("mean_score"),
        pl.col("is_quote").sum().alias("n_quote"),
    )


def _labelled(p: pl.DataFrame) -> pl.DataFrame:
    """Runs with ``dominant_kind`` (most frequent, ties to the stronger kind) and ``passage_id``."""
    top = pl.max_horizontal("n_exact", "n_near", "n_paraphrase")
    key = (
        pl.col("doc_id_a")
        + "|"
        + pl.col("doc_id_b")
        + "|"
        + pl.col("first_index_a").cast(pl.String)
        + "|"
        + pl.col("first_index_b").cast(pl.String)
    )
    return p.with_columns(
        pl.when(pl.col("n_exact") == top)
        .then(pl.lit("exact"))
        .when(pl.col("n_near") == top)
        .then(pl.lit("near"))
        .otherwise(pl.lit("paraphrase"))
        .alias("dominant_kind"),
        stable_ids(key, "p").alias("passage_id"),
    )


def passages(matches: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """The passages of the (reuse and quote) matches, before the provenance model sets directions."""
    if matches.height == 0:
        return empty(PASSAGE_SCHEMA)
    runs = _runs(matches, cfg.passage_max_gap + 1)
    p = _run_rows(runs, sents).filter(pl.col("n_sentences") >= cfg.passage_min_sentences)
    if p.height == 0:
        return empty(PASSAGE_SCHEMA)
    return (
        _labelled(p)
        .select(list(PASSAGE_SCHEMA))
        .cast(PASSAGE_SCHEMA)
        .sort("doc_id_a", "doc_id_b", "first_index_a", "first_index_b")
    )
