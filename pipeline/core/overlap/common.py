"""Small helpers shared by the overlap steps: the progress clock, stable ids, empty frames, graph
components, group representatives and token splitting."""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.core.progress import Progress

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MIB = 2**20


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """The peak resident set size so far (``ru_maxrss``) of this process, or with
    ``resource.RUSAGE_CHILDREN`` of the largest child process it waited for, in MiB."""
    peak = resource.getrusage(who).ru_maxrss
    return round(peak / (_MIB if sys.platform == "darwin" else 1024), 1)


def rss_mib() -> float:
    """The resident set size of this process now, in MiB (its peak so far where ``/proc`` is absent)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return round(int(f.read().split()[1]) * _PAGE / _MIB, 1)
    except (OSError, IndexError, ValueError):
        return peak_rss_mib()


class MemoryWatch:
    """The peak resident set size of each of a series of (possibly nested) spans of one process: a
    thread samples the resident size every ``interval`` seconds while a span is open, and every span
    gets the largest sample taken while it was open, its resident size at its start and end included
    (a peak shorter than the interval can be missed; the process-wide ``ru_maxrss`` never misses
    one)."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self._open: list[float] = []  # the peak of each open span so far, outermost first
        self._hi = 0.0  # the largest sample since the innermost span's peak was last updated
        self._stop: threading.Event | None = None

    def _sample(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            r = rss_mib()
            if r > self._hi:
                self._hi = r

    def _fold(self, value: float) -> None:
        self._open = [max(p, value) for p in self._open]

    def start(self) -> None:
        now = rss_mib()
        self._fold(max(self._hi, now))
        self._open.append(now)
        self._hi = now
        if self._stop is None:
            self._stop = threading.Event()
            threading.Thread(target=self._sample, args=(self._stop,), daemon=True).start()

    def end(self) -> dict[str, float]:
        """Close the innermost span: its resident size now (``rss_mib``), its peak (``peak_mib``) and
        the process's peak so far (``process_peak_mib``)."""
        now = rss_mib()
        own = max(self._open.pop(), self._hi, now)
        self._fold(own)
        self._hi = now
        if not self._open and self._stop is not None:
            self._stop.set()
            self._stop = None
        return {"rss_mib": now, "peak_mib": own, "process_peak_mib": peak_rss_mib()}


class Clock:
    """Times the steps of one run and forwards progress reports to an optional callback
    ``progress(step, done, total)``: ``(step, 0, 1)`` when a step starts, ``(step, 1, 1)`` when it ends
    without an error, and whatever counts the step itself reports in between.

    ``timings``: seconds per step; ``cpu``: the process's CPU seconds (user and system, every thread)
    per step; ``memory``: per step, the process's resident set size when the step
    ended, the step's own peak and the process's peak so far, in MiB (see :class:`MemoryWatch`)."""

    def __init__(self, progress: Progress | None):
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.memory: dict[str, dict[str, float]] = {}
        self._progress = progress
        self._watch = MemoryWatch()

    def report(self, step: str, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(step, done, total)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t, c = time.perf_counter(), time.process_time()
        self._watch.start()
        self.report(name, 0, 1)
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t, 3)
            self.cpu[name] = round(time.process_time() - c, 3)
            self.memory[name] = self._watch.end()
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
