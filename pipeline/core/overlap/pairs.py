"""``document_pairs``: one row per document pair sharing reuse or quote matches, with counts by kind,
containment on each side, whether the pair links its documents into one story, the provenance model's
direction (``pipeline.core.provenance.pair_directions``) and the aligned-text evidence."""

from __future__ import annotations

import polars as pl

from pipeline.core import provenance
from pipeline.core.overlap.common import empty
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.schemas import PAIR_BASE_SCHEMA, PAIR_SCHEMA


def _pair_counts(matches: pl.DataFrame) -> pl.DataFrame:
    """Per document pair: sentences shared on each side (all and non-quote), pairs by kind and by
    quotation, and the two sources."""
    return matches.group_by("doc_id_a", "doc_id_b").agg(
        pl.col("sentence_id_a").n_unique().alias("n_shared_a"),
        pl.col("sentence_id_b").n_unique().alias("n_shared_b"),
        pl.col("sentence_id_a").filter(~pl.col("is_quote")).n_unique().alias("nq_a"),
        pl.col("sentence_id_b").filter(~pl.col("is_quote")).n_unique().alias("nq_b"),
        (pl.col("kind") == "exact").sum().alias("n_exact"),
        (pl.col("kind") == "near").sum().alias("n_near"),
        (pl.col("kind") == "paraphrase").sum().alias("n_paraphrase"),
        pl.col("is_quote").sum().alias("n_quote"),
        (~pl.col("is_quote")).sum().alias("n_nonquote"),
        pl.col("source_a").first(),
        pl.col("source_b").first(),
    )


def _with_sizes_and_dates(agg: pl.DataFrame, flags: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    """Pair counts with matchable sentences and dates of both documents, containments (all and
    non-quote, ``_cq_a``/``_cq_b``), ``quote_only`` and ``same_source``."""
    nm = flags.group_by("doc_id").agg(pl.col("matchable").sum().cast(pl.Int64).alias("n_matchable"))
    d = docs.select("doc_id", "published_at")

    def share(col: str, side: str) -> pl.Expr:
        return (pl.col(col) / pl.max_horizontal(f"n_matchable_{side}", pl.lit(1))).clip(0, 1)

    return (
        agg.join(nm.rename({"doc_id": "doc_id_a", "n_matchable": "n_matchable_a"}), on="doc_id_a", how="left")
        .join(nm.rename({"doc_id": "doc_id_b", "n_matchable": "n_matchable_b"}), on="doc_id_b", how="left")
        .join(d.rename({"doc_id": "doc_id_a", "published_at": "published_at_a"}), on="doc_id_a", how="left")
        .join(d.rename({"doc_id": "doc_id_b", "published_at": "published_at_b"}), on="doc_id_b", how="left")
        .with_columns(
            share("n_shared_a", "a").alias("containment_a_in_b"),
            share("n_shared_b", "b").alias("containment_b_in_a"),
            share("nq_a", "a").alias("_cq_a"),
            share("nq_b", "b").alias("_cq_b"),
            (pl.col("n_nonquote") == 0).alias("quote_only"),
            (pl.col("source_a") == pl.col("source_b")).alias("same_source"),
        )
    )


def _in_story(cfg: OverlapConfig) -> pl.Expr:
    """A pair links its documents into one story when it shares at least ``story_min_shared``
    non-quote sentences with a non-quote containment of at least ``story_min_containment`` on either
    side, or at least ``story_strong_shared`` non-quote sentences."""
    return ~pl.col("quote_only") & (
        (
            (pl.col("n_nonquote") >= cfg.story_min_shared)
            & (pl.max_horizontal("_cq_a", "_cq_b") >= cfg.story_min_containment)
        )
        | (pl.col("n_nonquote") >= cfg.story_strong_shared)
    )


def document_pairs(
    matches: pl.DataFrame, flags: pl.DataFrame, docs: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    """The document pairs of ``matches`` (reuse and quote only) without the evidence columns."""
    if matches.height == 0:
        return empty(PAIR_BASE_SCHEMA)
    p = _with_sizes_and_dates(_pair_counts(matches), flags, docs).with_columns(
        _in_story(cfg).alias("in_story")
    )
    # direction, its basis, evidence and confidence: the provenance model
    p = provenance.pair_directions(p, matches, docs, sents)
    return p.select(list(PAIR_BASE_SCHEMA)).cast(PAIR_BASE_SCHEMA).sort("doc_id_a", "doc_id_b")


def with_pair_evidence(dpairs: pl.DataFrame, pair_evidence: pl.DataFrame) -> pl.DataFrame:
    """Document pairs with their relation (``reuse`` when they share aligned text, else ``quote``) and
    the aligned chain's size and weight."""
    d = dpairs.join(pair_evidence, on=["doc_id_a", "doc_id_b"], how="left").with_columns(
        pl.when(pl.col("shares_text").fill_null(False))
        .then(pl.lit("reuse"))
        .otherwise(pl.lit("quote"))
        .alias("relation"),
        pl.col("n_aligned").fill_null(0),
        pl.col("aligned_weight").fill_null(0.0),
    )
    return d.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA).sort("doc_id_a", "doc_id_b")
