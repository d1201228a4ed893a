"""Exact tier: matchable sentences with the same normalised text (``norm_hash``) in different documents.

Groups of at most ``exact_clique_max`` sentences are linked pairwise; larger groups are linked to a
representative (the earliest published sentence, then the smallest sentence_id), so the number of
pairs stays linear in the corpus size. Identical sentences are matches without grading."""

from __future__ import annotations

import polars as pl

from pipeline.core.overlap.common import representatives
from pipeline.core.overlap.config import OverlapConfig


def exact_pairs(elig: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """Sentence pairs (sid_l, sid_r) with the same normalised text in different documents."""
    base = elig.select("sentence_id", "doc_id", "hid", "published_at")
    sizes = base.group_by("hid").agg(pl.len().alias("g"), pl.col("doc_id").n_unique().alias("nd"))
    multi = sizes.filter(pl.col("nd") >= 2)
    grp = base.join(multi, on="hid")
    small = grp.filter(pl.col("g") <= cfg.exact_clique_max)
    big = grp.filter(pl.col("g") > cfg.exact_clique_max)
    clique = (
        small.join(small, on="hid", suffix="_r")
        .filter(pl.col("doc_id") < pl.col("doc_id_r"))
        .select(pl.col("sentence_id").alias("sid_l"), pl.col("sentence_id_r").alias("sid_r"))
    )
    reps = representatives(big, "hid")
    star = (
        big.join(reps, on="hid")
        .filter(pl.col("doc_id") != pl.col("rep_doc"))
        .select(pl.col("rep_sid").alias("sid_l"), pl.col("sentence_id").alias("sid_r"))
    )
    return pl.concat([clique, star]).unique().sort("sid_l", "sid_r")


def exact_rows(pairs: pl.DataFrame) -> pl.DataFrame:
    """Identical sentences as raw matches: not graded; their signal values are filled in when the
    matches are finalised (``matches.finalise_matches``)."""
    return pairs.select(
        pl.col("sid_l"),
        pl.col("sid_r"),
        pl.lit("exact").alias("kind"),
        pl.lit(1.0).alias("score"),
        pl.lit("exact").alias("tier"),
    )
