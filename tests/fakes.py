"""Stand-ins and readers shared by the overlap tests."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipeline.core import stages, warehouse


class HashEncoder:
    """A deterministic stand-in encoder (unit vectors of hashed word counts) that counts the texts it
    encodes; its ``fingerprint`` lets the overlap store keep what it computes."""

    fingerprint = "hash-encoder-v1"

    def __init__(self) -> None:
        self.n_encoded = 0

    def encode(self, texts):
        self.n_encoded += len(texts)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, sum(w.encode()) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


class AnonymousEncoder(HashEncoder):
    """The same vectors without a fingerprint: nothing it computes is stored or reused."""

    fingerprint = None


def work_inputs(wh: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The documents and sentences the overlap stage reads from a warehouse's working database."""
    con = duckdb.connect(str(wh / warehouse.WORK_DB_NAME), read_only=True)
    try:
        return con.sql(stages.DOCUMENTS_SQL).pl(), con.sql(stages.SENTENCES_SQL).pl()
    finally:
        con.close()
