"""A process pool for the CPU-bound per-document stages (clean, segment).

``WIRETRACE_WORKERS`` sets the number of processes (default: the machine's cores). Small inputs run
in-process. Workers start with ``forkserver`` (not ``fork``), so they never inherit the parent's
DuckDB or polars threads; per-run state (e.g. learned templates) reaches them once, through the
pool's initializer. Results come back in input order, so outputs stay deterministic.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.config import settings

STATE: dict[str, Any] = {}


def workers() -> int:
    return settings().workers or max(1, os.cpu_count() or 1)


def _init(state: dict[str, Any]) -> None:
    STATE.clear()
    STATE.update(state)


class _Serial:
    def map(self, fn: Callable, items: Iterable, chunksize: int = 1) -> list:
        return [fn(x) for x in items]


@contextmanager
def pool(state: dict[str, Any] | None = None, n_items: int = 0, min_items: int = 400) -> Iterator[Any]:
    """A pool whose workers see ``state`` in ``STATE``; serial when small or one worker."""
    n = workers()
    if n <= 1 or n_items < min_items:
        _init(state or {})
        yield _Serial()
        return
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(n, initializer=_init, initargs=(state or {},)) as p:
        yield p
