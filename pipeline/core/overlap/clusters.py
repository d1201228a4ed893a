"""``sentence_clusters``: connected components of the match graph (reuse and quote matches), each
sentence with its cluster's dated origin when one document is the unique earliest; the provenance
model (``pipeline.core.provenance.cluster_origins``) then decides the published origin."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.core.overlap.common import components, empty, node_ids, stable_ids
from pipeline.core.overlap.schemas import CLUSTER_SCHEMA
from pipeline.core.provenance import kind_to_origin


def _components_of(matches: pl.DataFrame, sents: pl.DataFrame) -> pl.DataFrame:
    """Every matched sentence with its document, source, date and ``cluster_id`` (``"c"`` + 16 hex of
    the SHA-1 of the smallest sentence_id of its component)."""
    nodes = (
        pl.concat(
            [
                matches.select(pl.col("sentence_id_a").alias("sentence_id")),
                matches.select(pl.col("sentence_id_b").alias("sentence_id")),
            ]
        )
        .unique()
        .sort("sentence_id")
        .with_row_index("node")
    )
    ea = node_ids(matches, "sentence_id_a", "sentence_id", nodes)
    eb = node_ids(matches, "sentence_id_b", "sentence_id", nodes)
    labels = components(ea.astype(np.int64), eb.astype(np.int64), nodes.height)
    c = (
        nodes.with_columns(pl.Series("comp", labels))
        .join(sents.select("sentence_id", "doc_id", "source", "published_at"), on="sentence_id")
        .with_columns(pl.col("sentence_id").min().over("comp").alias("_min"))
    )
    return c.with_columns(stable_ids(pl.col("_min"), "c").alias("cluster_id"))


def _dated_origins(c: pl.DataFrame) -> pl.DataFrame:
    """(cluster_id, origin_sentence_id): the unique earliest document's sentence, when every document
    of the cluster is dated."""
    per = c.group_by("cluster_id").agg(
        pl.col("published_at").null_count().alias("n_null"),
        pl.col("published_at").min().alias("t0"),
    )
    return (
        c.join(per, on="cluster_id")
        .filter((pl.col("n_null") == 0) & (pl.col("published_at") == pl.col("t0")))
        .group_by("cluster_id")
        .agg(
            pl.col("doc_id").n_unique().alias("n_first_docs"),
            pl.col("sentence_id").min().alias("origin_sentence_id"),
        )
        .filter(pl.col("n_first_docs") == 1)
        .select("cluster_id", "origin_sentence_id")
    )


def _kind_to_origin(c: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    """``is_origin``, ``origin_status`` (dated or undetermined) and ``kind_to_origin``: the kind of the
    direct match to the origin, ``indirect`` without one, ``origin`` for the origin itself."""
    direct = pl.concat(
        [
            matches.select(
                pl.col("sentence_id_a").alias("o"), pl.col("sentence_id_b").alias("sentence_id"), "kind"
            ),
            matches.select(
                pl.col("sentence_id_b").alias("o"), pl.col("sentence_id_a").alias("sentence_id"), "kind"
            ),
        ]
    )
    c = c.join(
        direct, left_on=["origin_sentence_id", "sentence_id"], right_on=["o", "sentence_id"], how="left"
    )
    return c.with_columns(
        (pl.col("sentence_id") == pl.col("origin_sentence_id")).fill_null(False).alias("is_origin"),
        pl.when(pl.col("origin_sentence_id").is_null())
        .then(pl.lit("undetermined"))
        .otherwise(pl.lit("dated"))
        .alias("origin_status"),
    ).with_columns(kind_to_origin("kind"))


def clusters(matches: pl.DataFrame, sents: pl.DataFrame) -> pl.DataFrame:
    """One row per matched sentence (before the provenance model sets the origins)."""
    if matches.height == 0:
        return empty(CLUSTER_SCHEMA)
    c = _components_of(matches, sents)
    c = c.join(_dated_origins(c), on="cluster_id", how="left")
    c = _kind_to_origin(c, matches)
    return c.select(list(CLUSTER_SCHEMA)).cast(CLUSTER_SCHEMA).sort("cluster_id", "sentence_id")
