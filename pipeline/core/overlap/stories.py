"""``stories``: connected components of the document pairs that link their documents into one story
(``in_story``, see ``pairs``); a document sharing nothing forms a story of one."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.core.overlap.common import components, empty, node_ids, stable_ids
from pipeline.core.overlap.schemas import STORY_SCHEMA


def stories(dpairs: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    """One row per document: ``story_id`` (``"s"`` + 16 hex of the SHA-1 of the story's smallest
    doc_id), the story's size and earliest known date."""
    if docs.height == 0:
        return empty(STORY_SCHEMA)
    nodes = docs.select("doc_id", "published_at").sort("doc_id").with_row_index("node")
    links = dpairs.filter(pl.col("in_story"))
    ea = node_ids(links, "doc_id_a", "doc_id", nodes).astype(np.int64)
    eb = node_ids(links, "doc_id_b", "doc_id", nodes).astype(np.int64)
    labels = components(ea, eb, nodes.height)
    s = nodes.with_columns(pl.Series("comp", labels)).with_columns(
        pl.col("doc_id").min().over("comp").alias("_min"),
        pl.len().over("comp").cast(pl.Int64).alias("n_docs"),
        pl.col("published_at").min().over("comp").alias("first_published_at"),
    )
    s = s.with_columns(stable_ids(pl.col("_min"), "s").alias("story_id"))
    return s.select(list(STORY_SCHEMA)).cast(STORY_SCHEMA).sort("story_id", "doc_id")
