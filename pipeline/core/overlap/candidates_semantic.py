"""Semantic tier candidates: the focus pairs, the sentences near their lexical matches, and nearest
neighbours by the static encoder between the documents of each focus pair.

The focus pairs are the document pairs whose lexical matches already align (chain weight at least
``semantic_focus_min_weight``, see ``pipeline.core.evidence``): elsewhere a rewording could only be an
isolated similarity, never reuse, so it is not worth a model's time. In the focus pairs, the sentences
not yet matched exact or near into the other document and within ``semantic_window`` positions of a
match of the pair are embedded by the cheap candidate encoder (the static encoder distilled from
MiniLM, centred vectors; see ``models``), and their ``para_top_k`` nearest neighbours in the other
document by cosine (at least ``semantic_min_cosine``, a static-encoder cosine) become candidates.
There is no cap: the cost is that of the window sentences (each distinct text encoded once) and of
one small similarity matrix per focus pair.

Cosines are computed on vectors quantised to int8 (``pipeline.core.semantic_index.quantise``): the dot
products are sums of integers that float32 adds exactly, so a candidate never depends on the BLAS
kernel, the thread count or which other sentences were encoded with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from pipeline.core.overlap.common import Clock, empty
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.index import both_ways, doc_pair_numbers
from pipeline.core.overlap.models import encode
from pipeline.core.overlap.schemas import CANDIDATE_SCHEMA
from pipeline.core.overlap.store import OverlapStore, static_key, text_keys
from pipeline.core.semantic_index import quantise

#: sentences encoded by the candidate encoder per call (a progress report after each)
STATIC_CHUNK = 8192

#: document pairs searched between two progress reports
SEARCH_REPORT_EVERY = 1000


def focus_pairs(pair_evidence: pl.DataFrame, doc_rank: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(da, db): document pairs whose aligned chain weighs at least ``semantic_focus_min_weight``."""
    return (
        doc_pair_numbers(
            pair_evidence.filter(pl.col("aligned_weight") >= cfg.semantic_focus_min_weight),
            doc_rank,
            "doc_id_a",
            "doc_id_b",
        )
        .select("da", "db")
        .unique()
        .sort("da", "db")
    )


def near_anchors(
    matches: pl.DataFrame, focus: pl.DataFrame, doc_rank: pl.DataFrame, elig: pl.DataFrame, window: int
) -> pl.DataFrame:
    """Sentence ids (``sentence_id``) within ``window`` positions of a match of a focus pair, in the
    same document."""
    pairs = doc_pair_numbers(matches, doc_rank, "doc_id_a", "doc_id_b").join(
        focus, on=["da", "db"], how="semi"
    )
    anchors = pl.concat(
        [
            pairs.select(pl.col("doc_id_a").alias("doc_id"), pl.col("index_a").alias("at")),
            pairs.select(pl.col("doc_id_b").alias("doc_id"), pl.col("index_b").alias("at")),
        ]
    ).unique()
    return (
        elig.select("sentence_id", "doc_id", "index")
        .join(anchors, on="doc_id")
        .filter((pl.col("index") - pl.col("at")).abs() <= window)
        .select("sentence_id")
        .unique()
    )


class CandidateVectors:
    """Quantised candidate-encoder vectors of distinct texts, by ``hid``: ``texts[hid]`` is the text
    encoded for it (the grading text, see ``grading.grading_texts``); :meth:`add` encodes the ones not
    held yet, so each text is encoded once per run whichever step asks first. With a ``store`` and an
    encoder that has a fingerprint (``store.static_key``), vectors stored by earlier runs are read
    instead of encoded (a text's quantised vector depends on the text alone) and the new ones are
    added to the store; ``encoded`` counts the texts actually encoded."""

    def __init__(self, enc: Any, texts: Sequence[str], clock: Clock, store: OverlapStore | None = None):
        self.enc, self.texts, self.clock = enc, texts, clock
        self.row: dict[int, int] = {}
        self.q = np.zeros((0, 0), dtype=np.int8)
        self.sq = np.zeros(0, dtype=np.int64)
        self.key = static_key(enc) if store is not None else None
        self.stored = store.static if store is not None and self.key is not None else None
        self.encoded = 0

    def _quantised(self, texts: list[str]) -> np.ndarray:
        """int8 vectors of ``texts``: stored ones read, the others encoded (and stored)."""
        if self.stored is None or self.key is None:
            self.encoded += len(texts)
            return quantise(encode(self.enc, texts, self.clock, "static_embed", STATIC_CHUNK))
        keys = text_keys(texts)
        got = self.stored.lookup(self.key, keys)
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in got:
                first.setdefault(k, i)
        miss = sorted(first.values())  # each missing text encoded once
        if miss:
            self.encoded += len(miss)
            fresh = quantise(
                encode(self.enc, [texts[i] for i in miss], self.clock, "static_embed", STATIC_CHUNK)
            )
            self.stored.add(self.key, [keys[i] for i in miss], fresh)
            got.update((keys[i], row.tobytes()) for i, row in zip(miss, fresh, strict=True))
        return np.frombuffer(b"".join(got[k] for k in keys), dtype=np.int8).reshape(len(keys), -1).copy()

    def add(self, hids: list[int] | np.ndarray) -> int:
        """Encode (or read) the texts of the ``hids`` not held yet (in ``hid`` order); returns how many."""
        todo = sorted({int(h) for h in hids} - self.row.keys())
        if not todo:
            return 0
        fetch = getattr(self.texts, "fetch", None)
        if fetch is not None:  # grading.GradingTexts: read the texts in one go
            fetch(todo)
        q = self._quantised([self.texts[h] for h in todo])
        base = len(self.row)
        for i, h in enumerate(todo):
            self.row[h] = base + i
        self.q = q if self.q.size == 0 else np.concatenate([self.q, q])
        self.sq = np.concatenate([self.sq, np.einsum("ij,ij->i", q, q, dtype=np.int64)])
        return len(todo)

    def rows(self, hids: np.ndarray | list[int]) -> np.ndarray:
        return np.fromiter((self.row[int(h)] for h in hids), dtype=np.int64, count=len(hids))

    def cosine(self, hid_a: np.ndarray, hid_b: np.ndarray) -> np.ndarray:
        """Cosine of each pair of held texts (exact integer dot products, float64)."""
        ra, rb = self.rows(hid_a), self.rows(hid_b)
        dots = np.einsum("ij,ij->i", self.q[ra].astype(np.int32), self.q[rb].astype(np.int32), dtype=np.int64)
        return _cosine(dots, self.sq[ra], self.sq[rb])


def _cosine(dots: np.ndarray, sq_a: np.ndarray, sq_b: np.ndarray) -> np.ndarray:
    den = np.sqrt(sq_a.astype(np.float64) * sq_b.astype(np.float64))
    d = dots.astype(np.float64)
    return np.divide(d, den, out=np.zeros_like(d), where=den > 0)


def _open_by_pair(
    open_rows: pl.DataFrame, row_of: dict[int, int]
) -> dict[tuple[int, int], tuple[list[int], list[int]]]:
    """Per oriented document pair (didx, od): the hids of its open sentences and their embedding rows."""
    by_pair: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
    for d, od, h in open_rows.sort("sentence_id").select("didx", "od", "hid").iter_rows():
        got = by_pair.setdefault((d, od), ([], []))
        got[0].append(h)
        got[1].append(row_of[h])
    return by_pair


def _nearest(
    sim: np.ndarray, hs: list[int], ho: list[int], k: int, min_cosine: float
) -> list[tuple[int, int]]:
    """(hid_a, hid_b) of the ``k`` nearest neighbours (cosine ``sim``, rows ``hs``, columns ``ho``) of
    every row with a cosine of at least ``min_cosine``, other than the row's own text."""
    out = []
    kk = min(k, sim.shape[1])
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :kk]
    for i in range(sim.shape[0]):
        for j in idx[i]:
            if sim[i, j] >= min_cosine and hs[i] != ho[j]:
                out.append((min(hs[i], ho[j]), max(hs[i], ho[j])))
    return out


def semantic_candidates(
    doc_pairs: pl.DataFrame,
    elig: pl.DataFrame,
    vecs: CandidateVectors,
    cfg: OverlapConfig,
    clock: Clock,
    done: pl.DataFrame,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Nearest neighbours by the candidate encoder within the document pairs (tier ``semantic``) and
    counts (``window_sentences``: open sentences, ``static_encoded``: distinct texts encoded); ``done``
    (sidx, od): sentences already matched exact or near into document ``od`` seek no partner there and
    are not encoded for it. The vectors stay in ``vecs`` (the grading step reads their cosines).
    Reports ``static_embed`` over texts, then ``semantic_search`` over document pairs."""
    counts = {"window_sentences": 0, "static_encoded": 0}
    if doc_pairs.height == 0:
        return empty(CANDIDATE_SCHEMA), counts
    # (sentence, other document) rows still open
    open_rows = elig.select("sidx", "didx", "hid", "sentence_id").join(both_ways(doc_pairs), on="didx")
    if done.height:
        open_rows = open_rows.join(done, on=["sidx", "od"], how="anti")
    e = open_rows.unique("sentence_id").sort("sentence_id")
    counts["window_sentences"] = e.height
    counts["static_encoded"] = vecs.add(e["hid"].unique().to_list())
    by_pair = _open_by_pair(open_rows, vecs.row)
    found: list[tuple[int, int]] = []
    k = max(1, cfg.para_top_k)
    n_pairs = doc_pairs.height
    q32 = vecs.q.astype(np.float32)  # integer entries: float32 sums them exactly (|dot| < 2^24)
    norm = np.sqrt(vecs.sq.astype(np.float64))
    for n, (da, db) in enumerate(doc_pairs.select("da", "db").iter_rows(), start=1):
        if n % SEARCH_REPORT_EVERY == 0 or n == n_pairs:
            clock.report("semantic_search", n, n_pairs)
        if (da, db) not in by_pair or (db, da) not in by_pair:
            continue
        ha, ra = by_pair[(da, db)]
        hb, rb = by_pair[(db, da)]
        dots = (q32[ra] @ q32[rb].T).astype(np.float64)
        den = norm[ra][:, None] * norm[rb][None, :]
        sim = np.divide(dots, den, out=np.zeros_like(dots), where=den > 0)
        found += _nearest(sim, ha, hb, k, cfg.semantic_min_cosine)
        found += _nearest(sim.T, hb, ha, k, cfg.semantic_min_cosine)
    cand = pl.DataFrame(
        {"hid_a": [a for a, _ in found], "hid_b": [b for _, b in found]},
        schema={"hid_a": pl.Int64, "hid_b": pl.Int64},
    )
    cand = cand.unique().with_columns(pl.lit("semantic").alias("tier")).sort("hid_a", "hid_b")
    return cand, counts


def on_the_diagonal(
    pairs: pl.DataFrame,
    matches: pl.DataFrame,
    focus: pl.DataFrame,
    elig: pl.DataFrame,
    doc_rank: pl.DataFrame,
    cfg: OverlapConfig,
) -> np.ndarray:
    """Per row of ``pairs`` (hid_a, hid_b): whether the two texts occur, in some focus document pair,
    in line with a lexical match of that pair (``matches``: doc_id_a, doc_id_b, index_a, index_b): the
    sentence at ``i`` in one document and ``j`` in the other, for a match at ``(ia, ib)``, with
    ``|i - ia| <= semantic_window`` and ``|(i - ia) - (j - ib)| <= semantic_align_slack``. A rewording
    that belongs to the shared text sits there; a pair off the diagonal can only be an isolated
    similarity (``relation`` same_fact), whatever a model says of it. Each row's answer depends on
    its pair, its occurrences and the lexical matches of their documents alone."""
    if pairs.height == 0 or matches.height == 0 or focus.height == 0:
        return np.zeros(pairs.height, dtype=bool)
    ids = doc_rank.select("doc_id", "didx")
    anchors = (
        matches.select("doc_id_a", "doc_id_b", "index_a", "index_b")
        .join(ids.rename({"doc_id": "doc_id_a", "didx": "_a"}), on="doc_id_a")
        .join(ids.rename({"doc_id": "doc_id_b", "didx": "_b"}), on="doc_id_b")
        .select(
            pl.min_horizontal("_a", "_b").alias("da"),
            pl.max_horizontal("_a", "_b").alias("db"),
            pl.when(pl.col("_a") < pl.col("_b")).then("index_a").otherwise("index_b").alias("ia"),
            pl.when(pl.col("_a") < pl.col("_b")).then("index_b").otherwise("index_a").alias("ib"),
        )
        .join(focus, on=["da", "db"], how="semi")
        .unique()
    )
    occ = elig.select("hid", "didx", "index")
    sp = (
        pairs.select("hid_a", "hid_b")
        .with_row_index("_r")
        .join(occ.rename({"hid": "hid_a", "didx": "d1", "index": "i1"}), on="hid_a")
        .join(occ.rename({"hid": "hid_b", "didx": "d2", "index": "i2"}), on="hid_b")
        .filter(pl.col("d1") != pl.col("d2"))
        .select(
            "_r",
            pl.min_horizontal("d1", "d2").alias("da"),
            pl.max_horizontal("d1", "d2").alias("db"),
            pl.when(pl.col("d1") < pl.col("d2")).then("i1").otherwise("i2").alias("i"),
            pl.when(pl.col("d1") < pl.col("d2")).then("i2").otherwise("i1").alias("j"),
        )
        .join(focus, on=["da", "db"], how="semi")
    )
    hit = (
        sp.join(anchors, on=["da", "db"])
        .filter(
            ((pl.col("i") - pl.col("ia")).abs() <= cfg.semantic_window)
            & (
                ((pl.col("i") - pl.col("ia")) - (pl.col("j") - pl.col("ib"))).abs()
                <= cfg.semantic_align_slack
            )
        )
        .select("_r")
        .unique()
    )
    out = np.zeros(pairs.height, dtype=bool)
    out[hit["_r"].to_numpy()] = True
    return out
