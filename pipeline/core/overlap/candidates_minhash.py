"""Near tier: MinHash and LSH banding over distinct normalised sentences.

MinHash (rensa ``RMinHash`` digests, ``num_perm`` permutations) of word 3-gram shingles of the
normalised sentence, first ``max_shingle_tokens`` tokens only, one digest per distinct ``norm_hash``;
LSH banding (``lsh_bands`` bands of ``num_perm // lsh_bands`` rows: with 32 x 4 the collision
probability is 0.5 at Jaccard ~0.42, 0.87 at 0.5 and 0.99 at 0.7); buckets larger than
``lsh_max_bucket`` are linked to their first member; pairs whose estimated Jaccard is below
``minhash_min_jaccard`` are dropped before grading, and so are pairs found only inside one document.
The graded families of near-identical sentences feed the template rule of ``is_common``
(``flags.template_families``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import rensa

from pipeline.core.overlap.common import Clock, split_tokens
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.store import OverlapStore, signature_blobs

_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)
_SHORT_SEED = np.uint64(0x2545F4914F6CDD1D)


def _gram_positions(offsets: np.ndarray, n_grams: np.ndarray) -> np.ndarray:
    """Flat positions ``offsets[row] + k`` for ``k < n_grams[row]`` of every row, in row order."""
    return np.repeat(offsets, n_grams) + (
        np.arange(int(n_grams.sum())) - np.repeat(np.cumsum(n_grams) - n_grams, n_grams)
    )


def shingle_hashes(norms: pl.Series, cfg: OverlapConfig) -> tuple[np.ndarray, np.ndarray]:
    """Word 3-gram shingle hashes of each text (first ``max_shingle_tokens`` tokens) as one flat
    uint64 array and row offsets; a text of fewer than 3 tokens gets one shingle of all its tokens."""
    n = len(norms)
    toks = pl.select(split_tokens(pl.lit(norms), cfg.max_shingle_tokens)).to_series()
    lengths = toks.list.len().fill_null(0).to_numpy().astype(np.int64)
    th = (
        toks.explode(empty_as_null=False)
        .drop_nulls()
        .hash(seed=cfg.minhash_seed)
        .to_numpy()
        .astype(np.uint64)
    )
    offs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offs[1:])
    # gram g starts at token p of its row; valid while p + 2 < length (one fewer valid start per
    # token after the first two)
    n_grams = np.maximum(lengths - 2, 0)
    if len(th) >= 3:
        with np.errstate(over="ignore"):
            g = th[:-2] * _C1 ^ th[1:-1] * _C2 ^ th[2:]
        grams = g[_gram_positions(offs[:-1], n_grams)]
    else:
        grams = np.zeros(0, dtype=np.uint64)
    counts = n_grams.copy()
    short = np.flatnonzero(lengths < 3)
    if not len(short):
        goffs = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(counts, out=goffs[1:])
        return grams, goffs
    # one shingle per short row: fold its (0-2) token hashes together
    extra = np.full(len(short), _SHORT_SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(2):
            has = lengths[short] > k
            idx = offs[short][has] + k
            extra[has] = extra[has] * _C1 ^ th[idx]
    counts[short] = 1
    pos_full = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=pos_full[1:])
    out = np.empty(int(pos_full[-1]), dtype=np.uint64)
    # place the 3-gram rows and the short rows at their offsets
    long_rows = np.flatnonzero(lengths >= 3)
    out[_gram_positions(pos_full[long_rows], n_grams[long_rows])] = grams
    out[pos_full[short]] = extra
    return out, pos_full.astype(np.uint64)


def _signature_chunk(norms: pl.Series, cfg: OverlapConfig) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures of ``norms`` (one chunk of :func:`minhash_signatures`)."""
    grams, offsets = shingle_hashes(norms, cfg)
    mat = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        np.ascontiguousarray(grams), np.ascontiguousarray(offsets), cfg.num_perm, cfg.minhash_seed
    )
    return np.asarray(mat.to_rows(), dtype=np.uint32)


def minhash_signatures(norms: pl.Series, cfg: OverlapConfig, clock: Clock | None) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures (rensa ``RMinHash``) of the word 3-gram shingles of
    each text, computed in chunks of ``minhash_chunk_rows`` rows to bound memory; reports
    ``("minhash", done, total)`` (with a clock). A text's signature depends on that text alone."""
    n = len(norms)
    sig = np.empty((n, cfg.num_perm), dtype=np.uint32)
    step = max(1, cfg.minhash_chunk_rows)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        sig[lo:hi] = _signature_chunk(norms.slice(lo, hi - lo), cfg)
        if clock is not None:
            clock.report("minhash", hi, n)
    return sig


def minhash_band_keys(
    norms: pl.Series,
    cfg: OverlapConfig,
    clock: Clock,
    on_signatures: Callable[[int, np.ndarray], None] | None = None,
) -> np.ndarray:
    """(lsh_bands, n) uint64: the bucket of each text's MinHash signature (:func:`minhash_signatures`)
    in each band, one band per row; the signatures themselves are computed in chunks of
    ``minhash_chunk_rows`` texts, handed to ``on_signatures(first row, chunk)`` and not kept (the keys
    take a quarter of their memory); reports ``("minhash", done, total)``."""
    n = len(norms)
    keys = np.empty((cfg.lsh_bands, n), dtype=np.uint64)
    rows = cfg.num_perm // cfg.lsh_bands
    step = max(1, cfg.minhash_chunk_rows)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        sig = _signature_chunk(norms.slice(lo, hi - lo), cfg)
        if on_signatures is not None:
            on_signatures(lo, sig)
        for band in range(cfg.lsh_bands):
            keys[band, lo:hi] = _band_keys(sig, band, rows)
        clock.report("minhash", hi, n)
    return keys


def signatures(
    hashes: pl.DataFrame, cfg: OverlapConfig, clock: Clock, store: OverlapStore | None = None
) -> np.ndarray:
    """The MinHash signatures of the distinct normalised texts ``hashes`` (row = hid): those ``store``
    holds are reused, the others computed (and added to ``store``)."""
    if store is None:
        return minhash_signatures(hashes["rep_norm"], cfg, clock)
    have, stored, todo = store.split_signatures(hashes["norm_hash"], cfg.num_perm)
    if len(todo) == hashes.height:  # nothing stored: one matrix, not a second one to copy it into
        sig = minhash_signatures(hashes["rep_norm"], cfg, clock)
        store.add_signatures(hashes["norm_hash"], sig)
        return sig
    sig = np.empty((hashes.height, cfg.num_perm), dtype=np.uint32)
    sig[have] = stored
    if len(todo):
        new = minhash_signatures(hashes["rep_norm"].gather(todo), cfg, clock)
        sig[todo] = new
        store.add_signatures(hashes["norm_hash"].gather(todo), new)
    return sig


def band_keys(
    hashes: pl.DataFrame, cfg: OverlapConfig, clock: Clock, store: OverlapStore
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """The band keys (lsh_bands, n) of the distinct normalised texts ``hashes`` (row = hid), and a
    function giving the estimated Jaccard of row pairs (k, 2). When ``store`` holds no signature of
    them (a first run), the signatures are computed chunk by chunk, written to ``store`` and let go:
    the estimate recomputes the signatures of the rows it is asked about (a text's signature depends
    on that text alone). Otherwise the matrix of stored and computed signatures is kept for it."""
    stored = store.signatures.filter(pl.col("signature_key") == store.signature_key)["norm_hash"]
    if stored.len() and hashes["norm_hash"].is_in(stored.implode()).any():
        sig = signatures(hashes, cfg, clock, store)
        keys = np.empty((cfg.lsh_bands, sig.shape[0]), dtype=np.uint64)
        rows = cfg.num_perm // cfg.lsh_bands
        for band in range(cfg.lsh_bands):
            keys[band] = _band_keys(sig, band, rows)
        return keys, lambda pairs: estimated_jaccard(sig, pairs)
    nh, norms = hashes["norm_hash"], hashes["rep_norm"]
    keys = minhash_band_keys(
        norms, cfg, clock, lambda lo, sig: store.add_signatures(nh.slice(lo, sig.shape[0]), sig)
    )

    def jaccard(pairs: np.ndarray) -> np.ndarray:
        rows = np.unique(pairs)
        sig = minhash_signatures(norms.gather(rows), cfg, None)
        return estimated_jaccard(sig, np.searchsorted(rows, pairs))

    return keys, jaccard


def _band_keys(sig: np.ndarray, band: int, rows: int) -> np.ndarray:
    """One uint64 key per signature for band ``band`` (``rows`` signature values folded together)."""
    cols = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
    key = np.full(sig.shape[0], np.uint64(band + 1), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(rows):
            key = (key * _C1) ^ cols[:, k]
            key ^= key >> np.uint64(29)
    return key


def _bucket_pairs(key: np.ndarray, max_bucket: int) -> list[np.ndarray]:
    """Row pairs sharing a key: buckets of two (nearly all) vectorised, other buckets of at most
    ``max_bucket`` rows all pairs, bigger buckets every member linked to the first one."""
    n = len(key)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    brk = np.flatnonzero(np.diff(sk) != 0) + 1
    starts = np.concatenate([[0], brk])
    ends = np.concatenate([brk, [n]])
    sizes = ends - starts
    multi = sizes >= 2
    if not multi.any():
        return []
    starts, sizes = starts[multi], sizes[multi]
    out = []
    two = sizes == 2
    if two.any():
        st2 = starts[two]
        out.append(np.stack([order[st2], order[st2 + 1]], axis=1))
    small = (sizes > 2) & (sizes <= max_bucket)
    for s, z in zip(starts[small], sizes[small], strict=True):
        mem = order[s : s + z]
        iu = np.triu_indices(z, 1)
        out.append(np.stack([mem[iu[0]], mem[iu[1]]], axis=1))
    small = sizes <= max_bucket
    for s, z in zip(starts[~small], sizes[~small], strict=True):
        mem = order[s : s + z]
        out.append(np.stack([np.full(z - 1, mem[0]), mem[1:]], axis=1))
    return out


def lsh_pairs(sig: np.ndarray, cfg: OverlapConfig, clock: Clock) -> np.ndarray:
    """Candidate row pairs (i < j) sharing at least one LSH band, shape (k, 2); reports
    ``("lsh", bands done, bands)``."""
    if sig.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    rows = cfg.num_perm // cfg.lsh_bands
    out = []
    for band in range(cfg.lsh_bands):
        if band:
            clock.report("lsh", band, cfg.lsh_bands)
        out.extend(_bucket_pairs(_band_keys(sig, band, rows), cfg.lsh_max_bucket))
    clock.report("lsh", cfg.lsh_bands, cfg.lsh_bands)
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    pairs.sort(axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0)


def estimated_jaccard(sig: np.ndarray, pairs: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Share of equal signature values of each row pair (the MinHash estimate of their Jaccard)."""
    est = np.empty(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), chunk):
        p = pairs[lo : lo + chunk]
        est[lo : lo + chunk] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return est


def cross_doc_only(cand: pl.DataFrame, elig: pl.DataFrame) -> pl.DataFrame:
    """Drop hash pairs whose sentences all sit in one document."""
    if cand.height == 0:
        return cand
    hd = elig.select("hid", "doc_id").unique()
    nd = hd.group_by("hid").agg(pl.col("doc_id").n_unique().alias("nd"), pl.col("doc_id").min().alias("d0"))
    return (
        cand.join(nd.rename({"hid": "hid_a", "nd": "nd_a", "d0": "d0_a"}), on="hid_a")
        .join(nd.rename({"hid": "hid_b", "nd": "nd_b", "d0": "d0_b"}), on="hid_b")
        .filter((pl.col("nd_a") > 1) | (pl.col("nd_b") > 1) | (pl.col("d0_a") != pl.col("d0_b")))
        .select(cand.columns)
        .sort("hid_a", "hid_b")
    )


def minhash_candidates(
    sig: np.ndarray, elig: pl.DataFrame, cfg: OverlapConfig, clock: Clock
) -> tuple[pl.DataFrame, int]:
    """Candidate hash pairs (tier ``minhash``) from the signatures of ``hashes`` (row = hid): LSH band
    collisions, kept when their estimated Jaccard reaches ``minhash_min_jaccard`` and they occur in two
    different documents; also the number of band collisions."""
    cand = lsh_pairs(sig, cfg, clock)
    n_lsh = int(len(cand))
    if len(cand):
        cand = cand[estimated_jaccard(sig, cand) >= cfg.minhash_min_jaccard]
    near = pl.DataFrame(
        {"hid_a": cand[:, 0].astype(np.int64), "hid_b": cand[:, 1].astype(np.int64)},
        schema={"hid_a": pl.Int64, "hid_b": pl.Int64},
    ).with_columns(pl.lit("minhash").alias("tier"))
    # only pairs that occur in two different documents are worth grading
    return cross_doc_only(near, elig), n_lsh


# ------------------------------------------------------------------------------------------ index upkeep
# Banding kept between runs (``OverlapStore``: the LSH postings, the hashes banded by the last run and
# its band collisions with how many buckets produce each): a run bands only the hashes that joined the
# matchable set (new against the stored postings, new against new), and re-derives only the buckets
# whose members joined or left it. The candidate pairs are those of a full banding of the matchable
# set (a bucket's pairs depend on its members alone: all pairs up to ``lsh_max_bucket`` members, the
# smallest norm_hash linked to every other member above).

#: band collisions kept between runs: pairs of norm_hashes (a < b), buckets producing the pair, and the
#: MinHash estimate of their Jaccard
LSH_PAIR_SCHEMA = {
    "norm_hash_a": pl.String,
    "norm_hash_b": pl.String,
    "n_buckets": pl.Int64,
    "jaccard": pl.Float64,
}
POSTING_SCHEMA = {"band": pl.Int32, "bucket": pl.Int64, "norm_hash": pl.String}


def band_key_matrix(sig: np.ndarray, cfg: OverlapConfig) -> np.ndarray:
    """(n, lsh_bands) uint64: the bucket of each signature in each band."""
    rows = cfg.num_perm // cfg.lsh_bands
    out = np.empty((sig.shape[0], cfg.lsh_bands), dtype=np.uint64)
    for band in range(cfg.lsh_bands):
        out[:, band] = _band_keys(sig, band, rows)
    return out


def postings(norm_hashes: pl.Series, keys: np.ndarray) -> pl.DataFrame:
    """(band, bucket, norm_hash) of the band keys ``keys`` (n, bands) of ``norm_hashes``."""
    n, bands = keys.shape
    return pl.DataFrame(
        {
            "band": np.tile(np.arange(bands, dtype=np.int32), n),
            "bucket": keys.reshape(-1).view(np.int64),
            "norm_hash": norm_hashes.gather(np.repeat(np.arange(n), bands)),
        },
        schema=POSTING_SCHEMA,
    )


def bucket_pairs(members: pl.DataFrame, max_bucket: int) -> pl.DataFrame:
    """(norm_hash_a, norm_hash_b): the pairs (a < b) of every bucket of ``members`` (band, bucket,
    norm_hash), one row per bucket producing the pair: all pairs of a bucket of at most
    ``max_bucket`` members, its smallest member with each other one above."""
    m = members.unique()
    size = m.group_by("band", "bucket").agg(pl.len().alias("size"), pl.col("norm_hash").min().alias("first"))
    m = m.join(size.filter(pl.col("size") >= 2), on=["band", "bucket"])
    small = m.filter(pl.col("size") <= max_bucket).select("band", "bucket", "norm_hash")
    clique = (
        small.join(small, on=["band", "bucket"], suffix="_b")
        .filter(pl.col("norm_hash") < pl.col("norm_hash_b"))
        .select(pl.col("norm_hash").alias("norm_hash_a"), "norm_hash_b")
    )
    star = m.filter((pl.col("size") > max_bucket) & (pl.col("norm_hash") != pl.col("first"))).select(
        pl.col("first").alias("norm_hash_a"), pl.col("norm_hash").alias("norm_hash_b")
    )
    return pl.concat([clique, star])


def _signature_matrix(sigs: pl.DataFrame, num_perm: int) -> np.ndarray:
    """The (n, num_perm) uint32 matrix of the ``signature`` blobs of ``sigs``, in its row order."""
    blobs = sigs["signature"].to_list()
    if not blobs:
        return np.zeros((0, num_perm), dtype=np.uint32)
    return np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), num_perm)


def full_banding(
    hashes: pl.DataFrame,
    keys: np.ndarray,
    jaccard: Callable[[np.ndarray], np.ndarray],
    cfg: OverlapConfig,
    clock: Clock,
    emit_postings: Callable[[pl.DataFrame], None],
) -> pl.DataFrame:
    """The band collisions of all of ``hashes`` (row = hid) with their bucket counts and estimated
    Jaccard (``LSH_PAIR_SCHEMA``; ``keys``: (lsh_bands, n) the bucket of each row in each band,
    ``jaccard(pairs)``: the estimate of row pairs); the postings of every hash go to
    ``emit_postings``, one frame per band as the band is banded."""
    nh = hashes["norm_hash"]
    parts = []
    for band in range(cfg.lsh_bands):
        clock.report("lsh", band, cfg.lsh_bands)
        parts.extend(_bucket_pairs(keys[band], cfg.lsh_max_bucket))
        emit_postings(
            pl.DataFrame(
                {
                    "band": np.full(len(nh), band, dtype=np.int32),
                    "bucket": keys[band].view(np.int64),
                    "norm_hash": nh,
                },
                schema=POSTING_SCHEMA,
            )
        )
    clock.report("lsh", cfg.lsh_bands, cfg.lsh_bands)
    if parts:
        pairs = np.concatenate(parts).astype(np.int64)
        del parts
        pairs.sort(axis=1)
        pairs, counts = np.unique(pairs, axis=0, return_counts=True)
    else:
        pairs, counts = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    return pl.DataFrame(
        {
            "norm_hash_a": nh.gather(pairs[:, 0]),
            "norm_hash_b": nh.gather(pairs[:, 1]),
            "n_buckets": counts.astype(np.int64),
            "jaccard": jaccard(pairs) if len(pairs) else np.zeros(0),
        },
        schema=LSH_PAIR_SCHEMA,
    )


def near_pairs_to_candidates(
    pairs: pl.DataFrame, hashes: pl.DataFrame, elig: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    """Candidate hash pairs (tier ``minhash``) from the band collisions ``pairs`` (LSH_PAIR_SCHEMA):
    estimated Jaccard of at least ``minhash_min_jaccard``, in two different documents."""
    ids = hashes.select("norm_hash", "hid")
    near = (
        pairs.filter(pl.col("jaccard") >= cfg.minhash_min_jaccard)
        .join(ids.rename({"norm_hash": "norm_hash_a", "hid": "hid_a"}), on="norm_hash_a")
        .join(ids.rename({"norm_hash": "norm_hash_b", "hid": "hid_b"}), on="norm_hash_b")
        .select("hid_a", "hid_b", pl.lit("minhash").alias("tier"))
        .sort("hid_a", "hid_b")
    )
    return cross_doc_only(near, elig)


def _jaccard_of(pairs: pl.DataFrame, sigs: pl.DataFrame, num_perm: int) -> np.ndarray:
    """The MinHash estimate of each pair (norm_hash_a, norm_hash_b) from ``sigs`` (norm_hash,
    signature), which holds both sides of every pair."""
    ids = sigs.select("norm_hash").with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    rows = pairs.join(
        ids.rename({"norm_hash": "norm_hash_a", "row": "ra"}),
        on="norm_hash_a",
        how="left",
        maintain_order="left",
    ).join(
        ids.rename({"norm_hash": "norm_hash_b", "row": "rb"}),
        on="norm_hash_b",
        how="left",
        maintain_order="left",
    )
    if rows["ra"].null_count() or rows["rb"].null_count():
        raise ValueError("a signature of a banded pair is missing from the store")
    idx = np.stack([rows["ra"].to_numpy(), rows["rb"].to_numpy()], axis=1)
    return estimated_jaccard(_signature_matrix(sigs, num_perm), idx)


def incremental_banding(
    hashes: pl.DataFrame, cfg: OverlapConfig, clock: Clock, store: OverlapStore
) -> pl.DataFrame:
    """The band collisions of the matchable set ``hashes`` (``LSH_PAIR_SCHEMA``) from the state the
    store keeps of the last run (its banded hashes, its collisions) and the stored postings: hashes
    that joined the set are banded (their signatures read or computed, their postings added), every
    bucket one of them joined or left is re-derived from its stored members, and the collisions'
    bucket counts are updated; the store receives the new state."""
    m_new = hashes.select("norm_hash")
    m_old = store.lsh_members
    added = m_new.join(m_old, on="norm_hash", how="anti")
    removed = m_old.join(m_new, on="norm_hash", how="anti")
    # signatures of the hashes that joined or left: stored ones read, the others computed
    delta = pl.concat([added, removed])
    sigs = store.fetch_signatures(delta["norm_hash"]).unique("norm_hash")
    store.hits["signatures"] += sigs.join(added, on="norm_hash", how="semi").height
    todo = added.join(sigs, on="norm_hash", how="anti").join(
        hashes.select("norm_hash", "rep_norm"), on="norm_hash"
    )
    if todo.height:
        new_sig = minhash_signatures(todo["rep_norm"], cfg, clock)
        store.add_signatures(todo["norm_hash"], new_sig)
        sigs = pl.concat(
            [
                sigs.select("norm_hash", "signature"),
                pl.DataFrame(
                    {
                        "norm_hash": todo["norm_hash"],
                        "signature": signature_blobs(new_sig),
                    },
                    schema={"norm_hash": pl.String, "signature": pl.Binary},
                ),
            ]
        )
    sigs = sigs.join(delta, on="norm_hash", how="semi").sort("norm_hash")
    delta_posts = postings(sigs["norm_hash"], band_key_matrix(_signature_matrix(sigs, cfg.num_perm), cfg))
    new_posts = delta_posts.join(added, on="norm_hash", how="semi")
    # the buckets a hash joined or left, with all their stored members (and the new postings)
    touched = delta_posts.select("band", "bucket").unique()
    stored = store.fetch_postings(touched).select(list(POSTING_SCHEMA))
    # a hash's stored postings sit in the buckets it joins, so the ones not fetched are not stored
    store.add_postings(new_posts.join(stored, on=["band", "bucket", "norm_hash"], how="anti"), unstored=True)
    clock.report("lsh", 1, 3)
    members = pl.concat([stored, new_posts]).unique()
    change = (
        pl.concat(
            [
                bucket_pairs(
                    members.join(m_old, on="norm_hash", how="semi"), cfg.lsh_max_bucket
                ).with_columns(pl.lit(-1, dtype=pl.Int64).alias("d")),
                bucket_pairs(
                    members.join(m_new, on="norm_hash", how="semi"), cfg.lsh_max_bucket
                ).with_columns(pl.lit(1, dtype=pl.Int64).alias("d")),
            ]
        )
        .group_by("norm_hash_a", "norm_hash_b")
        .agg(pl.col("d").sum())
    )
    change = change.filter(pl.col("d") != 0)
    clock.report("lsh", 2, 3)
    old_pairs = store.lsh_pairs
    changed = (
        change.join(old_pairs, on=["norm_hash_a", "norm_hash_b"], how="left")
        .with_columns((pl.col("n_buckets").fill_null(0) + pl.col("d")).alias("n_buckets"))
        .drop("d")
    )
    if changed["n_buckets"].min() is not None and changed["n_buckets"].min() < 0:
        raise ValueError("the stored band collisions do not match the stored postings")
    fresh = changed.filter(pl.col("jaccard").is_null() & (pl.col("n_buckets") > 0))
    if fresh.height:
        ends = pl.concat([fresh["norm_hash_a"], fresh["norm_hash_b"]]).unique()
        have = sigs.join(ends.to_frame("norm_hash"), on="norm_hash", how="semi")
        more = store.fetch_signatures(ends.filter(~ends.is_in(have["norm_hash"].implode())))
        pair_sigs = pl.concat([have.select("norm_hash", "signature"), more.select("norm_hash", "signature")])
        fresh = fresh.with_columns(
            pl.Series("jaccard", _jaccard_of(fresh, pair_sigs.unique("norm_hash"), cfg.num_perm))
        )
        changed = changed.update(fresh, on=["norm_hash_a", "norm_hash_b"])
    changed = changed.select(list(LSH_PAIR_SCHEMA)).cast(LSH_PAIR_SCHEMA)
    store.set_lsh_state(added, removed, changed)
    pairs = pl.concat(
        [
            old_pairs.join(changed, on=["norm_hash_a", "norm_hash_b"], how="anti"),
            changed.filter(pl.col("n_buckets") > 0),
        ]
    )
    clock.report("lsh", 3, 3)
    return pairs.select(list(LSH_PAIR_SCHEMA)).cast(LSH_PAIR_SCHEMA)


def near_candidates(
    hashes: pl.DataFrame, elig: pl.DataFrame, cfg: OverlapConfig, clock: Clock, store: OverlapStore | None
) -> tuple[pl.DataFrame, int]:
    """Candidate hash pairs (tier ``minhash``) and the number of band collisions: with a store that
    keeps the banding of an earlier run, by :func:`incremental_banding`; otherwise from the
    signatures of every hash (stored or computed), and the store (if any) receives the banding."""
    if store is not None and store.lsh_members is not None and store.fetch_postings is not None:
        with clock.step("lsh"):
            pairs = incremental_banding(hashes, cfg, clock, store)
    else:
        if store is None:
            with clock.step("minhash"):
                sig = signatures(hashes, cfg, clock)
            with clock.step("lsh"):
                return minhash_candidates(sig, elig, cfg, clock)
        with clock.step("minhash"):
            keys, jaccard = band_keys(hashes, cfg, clock, store)
        with clock.step("lsh"):
            posts: list[pl.DataFrame] = []  # held only by a store that writes nothing as it goes
            write = store.write_postings
            pairs = full_banding(
                hashes,
                keys,
                jaccard,
                cfg,
                clock,
                posts.append if write is None else lambda f: write(f, False),
            )
            del keys, jaccard
            store.reset_lsh_state(hashes.select("norm_hash"), pairs, posts)
    with clock.step("lsh_candidates"):
        return near_pairs_to_candidates(pairs, hashes, elig, cfg), pairs.height
