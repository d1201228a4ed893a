"""Semantic candidates without a cap: static embeddings, random-hyperplane band keys, time windows.

The semantic tier cannot embed every sentence of a large corpus with MiniLM, nor compare every pair of
sentences. This module finds the sentence pairs worth grading with a fast static encoder
(:mod:`pipeline.core.static_encoder`) and locality-sensitive hashing, as functions of frames to frames
with no hidden state, so the steps can be persisted as tables, updated batch by batch and run on another
engine unchanged.

**What a candidate is.** A pair of distinct texts ``(hid_a, hid_b)`` (``hid_a < hid_b``) is a candidate
exactly when all of these hold:

1. (only where band keys are used, see below) they share at least one band key;
2. their *quantised cosine* is at least ``IndexConfig.min_cosine``;
3. some occurrence of the one and some occurrence of the other lie in different documents whose
   publication days differ by at most ``window_days``.

How they are found: dated pairs by an exhaustive search within the window (``exact_window``, the
default: every pair of the definition, no approximation); band keys (below) are the alternative for
everything (``exact_window=False``). Undated documents (no usable publication day) need a rule, since no
window bounds their partners: ``undated="skip"`` (default) gives them no corpus-wide candidates (the
semantic step keeps searching them only within document pairs that other evidence already links);
``undated="band_keys"`` compares their occurrences with occurrences of any date that share a band key
(condition 1), an approximate search whose cost grows with the square of the corpus and whose recall
at useful thresholds is low (``pipeline/evaluation/results/semantic_lsh.md``, ``bench_semantic.md``).

Each condition depends on the two texts and their occurrences alone, never on the other documents or
on the order they arrive in. Hence the set of candidates of a corpus is the union of the candidates of
its batches as long as each batch is searched against everything indexed so far
(:func:`candidates` with ``touched``): an index updated as documents arrive gives the candidates of
one built on the union, and the result is the same, sorted, run after run.

**Exact arithmetic.** Each unit vector is quantised to int8 (``round(127 x)``) once. The hyperplanes
are small integers (a seeded normal sample times 16, rounded), so every projection and every dot
product is a sum of integers below 2^24: float32 sums them exactly whatever the BLAS kernel, thread
count or batch size, and a sign or a threshold never flips between runs or machines.

**Band keys.** ``bands`` groups of ``bits`` hyperplanes; a text's key in band ``b`` is ``b`` and the
``bits`` signs of its projections. Two texts at angle ``t`` agree on a bit with probability
``1 - t / pi``, so they share some band key with probability ``1 - (1 - (1 - t/pi)^bits)^bands``:
pairs above the threshold almost always collide, most unrelated pairs never do, and only colliding
pairs have their cosine computed.

Why band keys and not a graph index (usearch, hnswlib, faiss HNSW): a graph's neighbours depend on the
order of insertion and, when built with threads, on timing; a top-k answer depends on every other
vector in the index. A threshold test on colliding pairs is order-independent by construction, its
postings are plain rows ``(band, key, hid)`` that a database can store and join, and an update costs
the new rows only.

Frames (``hid``: Int64 id of a normalised sentence text; ``doc``: document id; ``day``: Int32 days since
1970-01-01, null when undated):

* :func:`embed` ``(hid, text)`` -> ``(hid, emb: Array[Int8, dim])``
* :func:`signatures` ``(hid, emb)`` -> ``(hid, band: Int16, key: Int32)``, one row per text and band
* :func:`postings` ``(hid, doc, day)`` -> ``(hid, day, doc_key: Int64)``: occurrences collapsed per
  text and day (``doc_key`` -1 when several documents hold the text that day)
* :func:`candidates` ``(signatures, postings, emb[, touched])`` -> ``(hid_a, hid_b, cosine)``
* :func:`build_index` / :func:`update_index`: the three frames of an index from sentences
  ``(hid, text, doc, day)``, and their update by a batch (which returns the touched texts)

``hid`` must be stable across runs and batches (for example the 64-bit ``norm_hash`` of the sentence
as a signed integer; a per-run row number is not), and ``text`` the normalised sentence, so that a
text's embedding is a function of its ``hid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "CANDIDATE_SCHEMA",
    "IndexConfig",
    "build_index",
    "candidates",
    "embed",
    "merge_postings",
    "hyperplanes",
    "postings",
    "quantise",
    "quantised_cosine",
    "signatures",
    "update_index",
]

QUANT = 127
PLANE_SCALE = 16
CANDIDATE_SCHEMA = {"hid_a": pl.Int64, "hid_b": pl.Int64, "cosine": pl.Float64}
SIGNATURE_SCHEMA = {"hid": pl.Int64, "band": pl.Int16, "key": pl.Int32}
POSTING_SCHEMA = {"hid": pl.Int64, "day": pl.Int32, "doc_key": pl.Int64}


@dataclass(frozen=True)
class IndexConfig:
    """Parameters of the candidate search (see the module docstring).

    ``min_cosine`` is on the static encoder's cosine (not MiniLM's); the default was chosen on the
    paraphrase development data (``pipeline/evaluation/results/semantic_candidates.md``)."""

    bands: int = 32
    bits: int = 16
    seed: int = 20_240_611
    min_cosine: float = 0.45
    window_days: int = 7
    exact_window: bool = True
    undated: str = "skip"
    chunk_pairs: int = 2_000_000
    chunk_rows: int = 2048

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 24:
            raise ValueError(f"bits must be in 1..24, got {self.bits}")
        if not 1 <= self.bands <= 4096:
            raise ValueError(f"bands must be in 1..4096, got {self.bands}")
        if self.undated not in ("skip", "band_keys"):
            raise ValueError(f"undated must be 'skip' or 'band_keys', got {self.undated!r}")
        if self.bands << self.bits >= 1 << 30:
            raise ValueError("bands x 2^bits must stay below 2^30 (keys are packed with the day)")
        if self.window_days < 0:
            raise ValueError(f"window_days must be >= 0, got {self.window_days}")

    @property
    def uses_band_keys(self) -> bool:
        """Whether :func:`candidates` needs the band keys (``signatures``)."""
        return not self.exact_window or self.undated == "band_keys"


def quantise(vectors: np.ndarray) -> np.ndarray:
    """int8 ``round(127 x)`` of unit vectors (clipped to [-127, 127])."""
    v = np.asarray(vectors, dtype=np.float32)
    return np.clip(np.rint(v * QUANT), -QUANT, QUANT).astype(np.int8)


def quantised_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two int8 matrices, computed exactly in integers."""
    a32 = a.astype(np.int32)
    b32 = b.astype(np.int32)
    dot = np.einsum("ij,ij->i", a32, b32).astype(np.float64)
    na = np.einsum("ij,ij->i", a32, a32).astype(np.float64)
    nb = np.einsum("ij,ij->i", b32, b32).astype(np.float64)
    den = np.sqrt(na * nb)
    return np.divide(dot, den, out=np.zeros_like(dot), where=den > 0)


def hyperplanes(dim: int, cfg: IndexConfig) -> np.ndarray:
    """``(bands * bits, dim)`` integer-valued float32 hyperplanes from ``cfg.seed`` (|value| <= 127)."""
    rng = np.random.default_rng(cfg.seed)
    p = np.rint(rng.standard_normal((cfg.bands * cfg.bits, dim)) * PLANE_SCALE)
    return np.clip(p, -QUANT, QUANT).astype(np.float32)


def _emb_matrix(emb: pl.DataFrame) -> np.ndarray:
    if emb.height == 0:
        return np.zeros((0, 0), dtype=np.int8)
    return np.ascontiguousarray(emb["emb"].to_numpy(), dtype=np.int8)


def embed(texts: pl.DataFrame, encoder: Any, batch_size: int = 8192) -> pl.DataFrame:
    """``(hid, text)`` -> ``(hid, emb)`` sorted by ``hid``: the quantised embedding of each distinct
    ``hid`` (centred when the encoder has a centre, as the static encoder has). Pass the *normalised*
    text of the ``hid`` so that the embedding is a function of the ``hid`` alone; when several texts
    share a ``hid`` the smallest stands for it."""
    uniq = texts.select(pl.col("hid").cast(pl.Int64), pl.col("text").cast(pl.String))
    uniq = uniq.sort("hid", "text").unique("hid", keep="first", maintain_order=True)
    dim = int(encoder.dim)
    centred = getattr(encoder, "centre", None) is not None  # the static encoder: centred vectors
    q = np.zeros((uniq.height, dim), dtype=np.int8)
    step = max(1, int(batch_size))
    # chunk by chunk (an encoding depends on its text alone): memory stays that of the int8 result
    for lo in range(0, uniq.height, step):
        chunk = uniq["text"].slice(lo, step).to_list()
        vecs = encoder.encode(chunk, batch_size=step, centred=True) if centred else encoder.encode(chunk)
        q[lo : lo + len(chunk)] = quantise(vecs).reshape(-1, dim)
    return pl.DataFrame({"hid": uniq["hid"], "emb": pl.Series("emb", q, dtype=pl.Array(pl.Int8, dim))})


def signatures(emb: pl.DataFrame, cfg: IndexConfig, chunk: int = 65_536) -> pl.DataFrame:
    """``(hid, emb)`` -> ``(hid, band, key)``: one band key per text and band, sorted."""
    if emb.height == 0:
        return pl.DataFrame(schema=SIGNATURE_SCHEMA)
    q = _emb_matrix(emb)
    planes = hyperplanes(q.shape[1], cfg)
    weights = (1 << np.arange(cfg.bits, dtype=np.int64))[None, None, :]
    keys = np.empty((len(q), cfg.bands), dtype=np.int64)
    for lo in range(0, len(q), chunk):
        proj = q[lo : lo + chunk].astype(np.float32) @ planes.T  # integer sums < 2^24: exact
        bits = (proj > 0).reshape(-1, cfg.bands, cfg.bits)
        keys[lo : lo + chunk] = (bits * weights).sum(axis=2)
    band = np.arange(cfg.bands, dtype=np.int64)
    keys = keys + (band << cfg.bits)[None, :]  # the band is part of the key
    hid = emb["hid"].to_numpy().astype(np.int64)
    return pl.DataFrame(
        {
            "hid": np.repeat(hid, cfg.bands),
            "band": np.tile(band.astype(np.int16), len(hid)),
            "key": keys.reshape(-1).astype(np.int32),
        },
        schema=SIGNATURE_SCHEMA,
    ).sort("band", "key", "hid")


def postings(occurrences: pl.DataFrame) -> pl.DataFrame:
    """``(hid, doc, day)`` -> ``(hid, day, doc_key)``: one row per text and publication day (null day:
    undated); ``doc_key`` identifies the one document holding the text that day, -1 when several do.
    ``doc_key`` is a stable hash of the document id (56 bits), used only to tell documents apart."""
    occ = occurrences.select(
        pl.col("hid").cast(pl.Int64), pl.col("doc").cast(pl.String), pl.col("day").cast(pl.Int32)
    ).unique()
    keyed = occ.with_columns(
        pl.col("doc").map_batches(_stable_doc_key, return_dtype=pl.Int64).alias("doc_key")
    )
    return _collapse(keyed.select("hid", "day", "doc_key"))


def merge_postings(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Postings of the union of two sets of occurrences, from the postings of each."""
    return _collapse(pl.concat([old.select(POSTING_SCHEMA.keys()), new.select(POSTING_SCHEMA.keys())]))


def _collapse(keyed: pl.DataFrame) -> pl.DataFrame:
    out = keyed.group_by("hid", "day").agg(
        pl.col("doc_key").n_unique().alias("n"),
        pl.col("doc_key").min().alias("first"),
    )
    out = out.with_columns(
        pl.when((pl.col("n") == 1) & (pl.col("first") >= 0))
        .then(pl.col("first"))
        .otherwise(pl.lit(-1, pl.Int64))
        .alias("doc_key")
    )
    return out.select("hid", "day", "doc_key").cast(POSTING_SCHEMA).sort("hid", "day", nulls_last=True)


def build_index(sentences: pl.DataFrame, encoder: Any, cfg: IndexConfig) -> dict[str, pl.DataFrame]:
    """The index of a set of sentences ``(hid, text, doc, day)``: ``{"emb", "signatures", "postings"}``
    (the three frames to persist; ``text`` should be the normalised sentence of ``hid``; the
    signatures are empty when the configuration uses no band keys)."""
    emb = embed(sentences.select("hid", "text"), encoder)
    return {
        "emb": emb,
        "signatures": signatures(emb, cfg) if cfg.uses_band_keys else pl.DataFrame(schema=SIGNATURE_SCHEMA),
        "postings": postings(sentences.select("hid", "doc", "day")),
    }


def update_index(
    index: dict[str, pl.DataFrame], sentences: pl.DataFrame, encoder: Any, cfg: IndexConfig
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Add a batch of sentences ``(hid, text, doc, day)`` to an index: only texts not yet indexed are
    embedded and keyed. Returns the new index (equal to :func:`build_index` of the union) and the
    touched texts ``(hid)`` (new texts and texts with a new occurrence), to pass to :func:`candidates`."""
    new_posts = postings(sentences.select("hid", "doc", "day"))
    merged = merge_postings(index["postings"], new_posts)
    # touched: a (hid, day, doc_key) row that was not there before
    touched = merged.join(index["postings"], on=["hid", "day", "doc_key"], how="anti", nulls_equal=True)
    touched = touched.select("hid").unique().sort("hid")
    fresh = sentences.select("hid", "text").join(index["emb"].select("hid"), on="hid", how="anti")
    emb_new = embed(fresh, encoder)
    emb = pl.concat([index["emb"], emb_new]).sort("hid")
    new_sigs = signatures(emb_new, cfg) if cfg.uses_band_keys else pl.DataFrame(schema=SIGNATURE_SCHEMA)
    sigs = pl.concat([index["signatures"], new_sigs]).sort("band", "key", "hid")
    return {"emb": emb, "signatures": sigs, "postings": merged}, touched


def _stable_doc_key(s: pl.Series) -> pl.Series:
    import hashlib

    vals = [
        int.from_bytes(hashlib.blake2b(x.encode("utf-8"), digest_size=7).digest(), "big") if x else 0
        for x in s.to_list()
    ]
    return pl.Series(s.name, vals, dtype=pl.Int64)


def _pairs_in_band(
    key: np.ndarray, day: np.ndarray, dated: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), i < j in the (key, day)-sorted postings of one band, sharing the key and
    within the window (an undated posting pairs with every posting of its key)."""
    n = len(key)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # dated postings: sorted by (key, day); partners j in (i, end_i) with day_j <= day_i + window
    comp = (key << 32) + np.where(dated, day.astype(np.int64) + (1 << 31), 0)
    end = np.searchsorted(comp, comp + window, side="right")
    same_key_end = np.searchsorted(key, key, side="right")
    end = np.minimum(end, same_key_end)
    # undated postings come first within their key (comp has 0 as day part) and pair with all of it
    end = np.where(dated, end, same_key_end)
    start = np.arange(n, dtype=np.int64) + 1
    cnt = np.maximum(end - start, 0)
    total = int(cnt.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i = np.repeat(np.arange(n, dtype=np.int64), cnt)
    offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    j = np.repeat(start, cnt) + offs
    return i, j


def candidates(
    sigs: pl.DataFrame | None,
    posts: pl.DataFrame,
    emb: pl.DataFrame,
    cfg: IndexConfig,
    touched: pl.DataFrame | pl.Series | None = None,
) -> pl.DataFrame:
    """Candidate text pairs ``(hid_a, hid_b, cosine)``, sorted, as defined in the module docstring.

    ``touched`` (a frame or series of ``hid``): when given, only pairs with at least one touched text
    (new, or with a new occurrence) are returned: the increment of a batch against the whole index.
    ``sigs``, ``posts`` and ``emb`` must cover every text of the index, touched or not; ``sigs`` may be
    ``None`` when the configuration uses no band keys (``cfg.uses_band_keys`` false)."""
    if cfg.uses_band_keys and sigs is None:
        raise ValueError("this configuration needs the band keys (signatures)")
    if not cfg.uses_band_keys:
        sigs = pl.DataFrame(schema=SIGNATURE_SCHEMA)
    if emb.height == 0 or posts.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    touched_set = None
    if touched is not None:
        t = touched["hid"] if isinstance(touched, pl.DataFrame) else touched
        touched_set = pl.DataFrame({"hid": t.cast(pl.Int64)}).unique()
        if touched_set.height == 0:
            return pl.DataFrame(schema=CANDIDATE_SCHEMA)
        # only band keys holding a touched text can give a new pair
        hot = sigs.join(touched_set, on="hid", how="semi").select("key").unique()
        sigs = sigs.join(hot, on="key", how="semi")
    emb_sorted = emb.sort("hid")
    mat = _emb_matrix(emb_sorted)
    hid_sorted = emb_sorted["hid"].to_numpy()
    touched_arr = None if touched_set is None else np.sort(touched_set["hid"].to_numpy())
    sq = np.einsum("ij,ij->i", mat, mat, dtype=np.int64)  # squared norms, exact
    found: list[np.ndarray] = []
    if cfg.exact_window:
        found.extend(_window_candidates(posts, cfg, mat, sq, hid_sorted, touched_arr))
    band_pairs: list[np.ndarray] = []
    if sigs.height and not sigs["band"].is_sorted():
        sigs = sigs.sort("band", "key", "hid")
    band_col = sigs["band"].to_numpy()
    edges = np.flatnonzero(np.diff(band_col)) + 1
    for lo, hi in zip(np.r_[0, edges], np.r_[edges, len(band_col)], strict=True) if sigs.height else ():
        part = sigs.slice(int(lo), int(hi - lo))  # one band, zero-copy
        rows = (
            part.select("hid", "key")
            .join(posts, on="hid", how="inner")
            .with_columns(pl.col("day").is_not_null().alias("dated"))
            .sort("key", "dated", "day", "hid", "doc_key", nulls_last=False)
        )
        if cfg.exact_window:  # band keys serve only the pairs with an undated side
            undated_keys = rows.filter(~pl.col("dated")).select("key").unique()
            rows = rows.join(undated_keys, on="key", how="semi")
        band_pairs.append(_band_pairs(rows, cfg, hid_sorted, touched_arr))
    if band_pairs:
        packed = np.unique(np.concatenate(band_pairs))
        for lo in range(0, len(packed), cfg.chunk_pairs):
            chunk = packed[lo : lo + cfg.chunk_pairs]
            ra, rb = chunk >> 32, chunk & 0xFFFFFFFF
            dots = np.einsum("ij,ij->i", mat[ra], mat[rb], dtype=np.int64)
            cos = _cosine(dots, sq[ra], sq[rb])
            keep = cos >= cfg.min_cosine
            found.append((chunk[keep], cos[keep]))
    packed = np.concatenate([f[0] for f in found]) if found else np.zeros(0, np.int64)
    cos = np.concatenate([f[1] for f in found]) if found else np.zeros(0)
    packed, first = np.unique(packed, return_index=True)
    return pl.DataFrame(
        {"hid_a": hid_sorted[packed >> 32], "hid_b": hid_sorted[packed & 0xFFFFFFFF], "cosine": cos[first]},
        schema=CANDIDATE_SCHEMA,
    ).sort("hid_a", "hid_b")


def _cosine(dots: np.ndarray, sq_a: np.ndarray, sq_b: np.ndarray) -> np.ndarray:
    """Cosine from exact integer dot products and squared norms (float64, deterministic)."""
    den = np.sqrt(sq_a.astype(np.float64) * sq_b.astype(np.float64))
    d = dots.astype(np.float64)
    return np.divide(d, den, out=np.zeros_like(d), where=den > 0)


def _pack(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Row pairs as one int64, smaller row first (rows of the hid-sorted embedding matrix)."""
    lo, hi = np.minimum(ra, rb).astype(np.int64), np.maximum(ra, rb).astype(np.int64)
    return (lo << 32) | hi


def _window_candidates(
    posts: pl.DataFrame,
    cfg: IndexConfig,
    mat: np.ndarray,
    sq: np.ndarray,
    hid_sorted: np.ndarray,
    touched: np.ndarray | None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Dated pairs by exhaustive search within the window: for each publication day, the texts of that
    day against those of the next ``window_days`` days (with ``touched``: the touched texts of the day
    against every text within ``window_days`` either side). Integer dot products, exact."""
    dated = posts.filter(pl.col("day").is_not_null()).sort("day", "hid", "doc_key")
    if dated.height < 2:
        return []
    day = dated["day"].to_numpy().astype(np.int64)
    row = np.searchsorted(hid_sorted, dated["hid"].to_numpy())
    doc = dated["doc_key"].to_numpy()
    is_touched = np.ones(len(row), bool) if touched is None else _isin_sorted(hid_sorted[row], touched)
    norm = np.sqrt(sq[row].astype(np.float64))
    days, first = np.unique(day, return_index=True)
    bounds = np.append(first, len(day))
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for k, d in enumerate(days):
        q_idx = np.arange(bounds[k], bounds[k + 1])
        q_idx = q_idx[is_touched[q_idx]]
        if len(q_idx) == 0:
            continue
        lo_day = d if touched is None else d - cfg.window_days
        b_lo = int(np.searchsorted(day, lo_day, side="left"))
        b_hi = int(np.searchsorted(day, d + cfg.window_days, side="right"))
        vb = mat[row[b_lo:b_hi]].astype(np.float32)
        nb = norm[b_lo:b_hi]
        for lo in range(0, len(q_idx), cfg.chunk_rows):
            qi = q_idx[lo : lo + cfg.chunk_rows]
            dots = mat[row[qi]].astype(np.float32) @ vb.T  # sums of integers below 2^24: exact
            rhs = (cfg.min_cosine * norm[qi])[:, None] * nb[None, :] - 1.0  # margin; exact test below
            ii, jj = np.nonzero(dots >= rhs)
            a, b = qi[ii], b_lo + jj
            ok = (row[a] != row[b]) & ((doc[a] == -1) | (doc[b] == -1) | (doc[a] != doc[b]))
            if touched is None:
                ok &= b > a  # each pair once: later postings only
            if not ok.any():
                continue
            a, b, dt = a[ok], b[ok], dots[ii[ok], jj[ok]].astype(np.int64)
            cos = _cosine(dt, sq[row[a]], sq[row[b]])
            keep = cos >= cfg.min_cosine
            out.append((_pack(row[a][keep], row[b][keep]), cos[keep]))
    return out


def _band_pairs(
    rows: pl.DataFrame, cfg: IndexConfig, hid_sorted: np.ndarray, touched: np.ndarray | None
) -> np.ndarray:
    """Packed row pairs of one band's postings that share a key (see :func:`_pairs_in_band`)."""
    key = rows["key"].to_numpy().astype(np.int64)
    dated = rows["dated"].to_numpy()
    day = rows["day"].fill_null(0).to_numpy()
    row = np.searchsorted(hid_sorted, rows["hid"].to_numpy())
    doc = rows["doc_key"].to_numpy()
    i, j = _pairs_in_band(key, day, dated, cfg.window_days)
    out: list[np.ndarray] = []
    for lo in range(0, len(i), cfg.chunk_pairs):
        a, b = i[lo : lo + cfg.chunk_pairs], j[lo : lo + cfg.chunk_pairs]
        ok = (row[a] != row[b]) & ((doc[a] == -1) | (doc[b] == -1) | (doc[a] != doc[b]))
        if cfg.exact_window:
            ok &= ~dated[a] | ~dated[b]
        if touched is not None:
            ok &= _isin_sorted(hid_sorted[row[a]], touched) | _isin_sorted(hid_sorted[row[b]], touched)
        if ok.any():
            out.append(np.unique(_pack(row[a[ok]], row[b[ok]])))
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


def _isin_sorted(x: np.ndarray, sorted_ref: np.ndarray) -> np.ndarray:
    if len(sorted_ref) == 0:
        return np.zeros(len(x), dtype=bool)
    pos = np.clip(np.searchsorted(sorted_ref, x), 0, len(sorted_ref) - 1)
    return sorted_ref[pos] == x
