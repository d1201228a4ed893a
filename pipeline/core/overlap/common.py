"""Small helpers shared by the overlap steps: the progress clock, stable ids, empty frames, graph
components, group representatives and token splitting."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.core.progress import Progress


class Clock:
    """Times the steps of one run and forwards progress reports to an optional callback
    ``progress(step, done, total)``: ``(step, 0, 1)`` when a step starts, ``(step, 1, 1)`` when it ends
    without an error, and whatever counts the step itself reports in between."""

    def __init__(self, progress: Progress | None):
        self.timings: dict[str, float] = {}
        self._progress = progress

    def report(self, step: str, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(step, done, total)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        self.report(name, 0, 1)
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t, 3)
        self.report(name, 1, 1)


def stable_id(prefix: str, key: str) -> str:
    """``prefix`` + 16 hex digits of the SHA-1 of ``key``."""
    return prefix + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def stable_ids(keys: pl.Expr, prefix: str) -> pl.Expr:
    """:func:`stable_id` of every value of a string expression."""
    return keys.map_elements(lambda s: stable_id(prefix, s), return_dtype=pl.String)


def empty(schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def components(edges_a: np.ndarray, edges_b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes of the undirected graph with the given edges."""
    g = coo_matrix((np.ones(len(edges_a), dtype=np.int8), (edges_a, edges_b)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    return labels


def node_ids(edges: pl.DataFrame, column: str, key: str, nodes: pl.DataFrame) -> np.ndarray:
    """The ``node`` numbers (from ``nodes``, keyed by ``key``) of ``edges[column]``, in edge order."""
    return (
        edges.select(pl.col(column).alias(key))
        .join(nodes, on=key, how="left", maintain_order="left")["node"]
        .to_numpy()
    )


def representatives(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """First sentence of each group: earliest published, then smallest sentence_id."""
    return (
        frame.sort(["published_at", "sentence_id"], nulls_last=True)
        .group_by(key, maintain_order=True)
        .agg(pl.col("sentence_id").first().alias("rep_sid"), pl.col("doc_id").first().alias("rep_doc"))
    )


def split_tokens(expr: pl.Expr, cap: int) -> pl.Expr:
    """Tokens of a normalised sentence (space-separated words), at most ``cap`` of them."""
    return expr.str.strip_chars().str.split(" ").list.head(cap)
