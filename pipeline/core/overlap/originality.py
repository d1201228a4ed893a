"""``document_originality``: per document, the share of its matchable sentences that are original or
reused (by kind) from a document that is its source, and its inferred source with the sentences added
and dropped (the provenance model: ``reused_sentences`` and ``inferred_sources`` of
``pipeline.core.provenance``)."""

from __future__ import annotations

import polars as pl

from pipeline.core import provenance
from pipeline.core.overlap.config import KIND_RANK
from pipeline.core.overlap.schemas import ORIG_SCHEMA


def _sentence_counts(flags: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, n_sentences, n_matchable, source) of every document."""
    return (
        flags.group_by("doc_id")
        .agg(
            pl.len().cast(pl.Int64).alias("n_sentences"),
            pl.col("matchable").sum().cast(pl.Int64).alias("n_matchable"),
        )
        .join(docs.select("doc_id", "source"), on="doc_id", how="right")
        .with_columns(pl.col("n_sentences").fill_null(0), pl.col("n_matchable").fill_null(0))
    )


def _reused_counts(matches: pl.DataFrame, flags: pl.DataFrame, dpairs: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, n_e, n_n, n_p, n_quote_reuse): sentences reused from the document's source, each counted
    once by its best kind, and how many of them are mostly quotation."""
    quote_of = flags.select(pl.col("sentence_id").alias("sid"), pl.col("is_quote").alias("own_quote"))
    s = (
        provenance.reused_sentences(matches, dpairs)
        .with_columns(pl.col("kind").replace_strict(KIND_RANK, return_dtype=pl.Int8).alias("r"))
        .group_by("sid", "doc_id")
        .agg(pl.col("r").max())
        .join(quote_of, on="sid")
    )
    return s.group_by("doc_id").agg(
        (pl.col("r") == KIND_RANK["exact"]).sum().cast(pl.Int64).alias("n_e"),
        (pl.col("r") == KIND_RANK["near"]).sum().cast(pl.Int64).alias("n_n"),
        (pl.col("r") == KIND_RANK["paraphrase"]).sum().cast(pl.Int64).alias("n_p"),
        pl.col("own_quote").sum().cast(pl.Int64).alias("n_quote_reuse"),
    )


def _inferred_source(o: pl.DataFrame, matches: pl.DataFrame, dpairs: pl.DataFrame) -> pl.DataFrame:
    """``inferred_source_doc_id`` with ``added`` and ``dropped`` (null without an inferred source)."""
    if dpairs.height == 0:
        return o.with_columns(
            pl.lit(None, dtype=pl.String).alias("inferred_source_doc_id"),
            pl.lit(None, dtype=pl.Int64).alias("added"),
            pl.lit(None, dtype=pl.Int64).alias("dropped"),
        )
    best = provenance.inferred_sources(matches, dpairs)
    return o.join(best, on="doc_id", how="left").with_columns(
        pl.col("src").alias("inferred_source_doc_id"),
        pl.when(pl.col("src").is_not_null())
        .then((pl.col("n_matchable") - pl.col("shared_self")).clip(0))
        .alias("added"),
        pl.when(pl.col("src").is_not_null())
        .then((pl.col("m_src") - pl.col("shared_src")).clip(0))
        .alias("dropped"),
    )


def originality(
    matches: pl.DataFrame, flags: pl.DataFrame, docs: pl.DataFrame, dpairs: pl.DataFrame
) -> pl.DataFrame:
    """One row per document from the reuse matches, the flags and the directed document pairs."""
    o = (
        _sentence_counts(flags, docs)
        .join(_reused_counts(matches, flags, dpairs), on="doc_id", how="left")
        .with_columns(
            pl.col("n_e").fill_null(0),
            pl.col("n_n").fill_null(0),
            pl.col("n_p").fill_null(0),
            pl.col("n_quote_reuse").fill_null(0),
        )
    )
    denom = pl.when(pl.col("n_matchable") > 0).then(pl.col("n_matchable")).otherwise(None)
    o = o.with_columns(
        ((pl.col("n_matchable") - pl.col("n_e") - pl.col("n_n") - pl.col("n_p")) / denom).alias(
            "share_original"
        ),
        (pl.col("n_e") / denom).alias("share_exact"),
        (pl.col("n_n") / denom).alias("share_near"),
        (pl.col("n_p") / denom).alias("share_paraphrase"),
    )
    return _inferred_source(o, matches, dpairs).select(list(ORIG_SCHEMA)).cast(ORIG_SCHEMA).sort("doc_id")
