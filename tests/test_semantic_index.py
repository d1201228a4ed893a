"""Semantic candidate search: exact definition, determinism, order independence, increments, recall."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.core import semantic_index as S

DIM = 64


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _corpus(seed: int = 0, n_groups: int = 60):
    """Groups of texts: a base vector and rewordings at cosine ~0.9 (true pairs), plus unrelated
    texts. Returns (emb frame, occurrences frame, set of true pairs)."""
    rng = np.random.default_rng(seed)
    vecs, hids, occ = [], [], []
    truth: set[tuple[int, int]] = set()
    hid = 1000
    for g in range(n_groups):
        base = _unit(rng.standard_normal(DIM))
        members = []
        for k in range(3):
            noise = _unit(rng.standard_normal(DIM))
            noise = _unit(noise - (noise @ base) * base)
            v = 0.95 * base + np.sqrt(1 - 0.95**2) * noise  # cosine to base 0.95, to each other ~0.9
            vecs.append(v)
            hids.append(hid)
            day = 18_000 + g * 30 + k  # same story within three days
            occ.append({"hid": hid, "doc": f"d{g}-{k}", "day": day})
            members.append(hid)
            hid += 7
        for a in members:
            for b in members:
                if a < b:
                    truth.add((a, b))
    for _ in range(200):  # unrelated texts
        vecs.append(_unit(rng.standard_normal(DIM)))
        hids.append(hid)
        occ.append({"hid": hid, "doc": f"u{hid}", "day": 18_000 + int(rng.integers(0, 2000))})
        hid += 7
    emb = pl.DataFrame(
        {"hid": hids, "emb": pl.Series("emb", S.quantise(np.array(vecs)), dtype=pl.Array(pl.Int8, DIM))}
    )
    return emb, pl.DataFrame(occ, schema={"hid": pl.Int64, "doc": pl.String, "day": pl.Int32}), truth


CFG = S.IndexConfig(bands=24, bits=8, min_cosine=0.8, window_days=7, undated="band_keys")
LSH = S.IndexConfig(bands=24, bits=8, min_cosine=0.8, window_days=7, exact_window=False)
MODES = pytest.mark.parametrize("cfg", [CFG, LSH], ids=["exact-window", "band-keys-only"])


def _run(emb, occ, cfg=CFG, touched=None):
    sigs = S.signatures(emb, cfg) if cfg.uses_band_keys else None
    return S.candidates(sigs, S.postings(occ), emb, cfg, touched=touched)


def test_undated_documents_are_skipped_by_default_and_band_keys_are_then_not_needed():
    emb, occ, truth = _corpus(n_groups=3)
    a, b = sorted(truth)[0]
    cfg = S.IndexConfig(bands=24, bits=8, min_cosine=0.8)
    assert cfg.undated == "skip" and not cfg.uses_band_keys
    ref = _run(emb, occ, cfg)
    assert (a, b) in set(zip(ref["hid_a"], ref["hid_b"], strict=True))
    undated = occ.with_columns(pl.when(pl.col("hid") == b).then(None).otherwise("day").alias("day"))
    got = S.candidates(None, S.postings(undated), emb, cfg)
    assert not ((got["hid_a"] == b) | (got["hid_b"] == b)).any()
    with pytest.raises(ValueError):
        S.candidates(None, S.postings(occ), emb, CFG)


def _brute(emb, occ, cfg):
    """The definition, pair by pair (without the band-key condition)."""
    q = emb["emb"].to_numpy().astype(np.int32)
    hid = emb["hid"].to_list()
    o = occ.to_dicts()
    by = {}
    for r in o:
        by.setdefault(r["hid"], []).append(r)
    out = set()
    for x in range(len(hid)):
        for y in range(x + 1, len(hid)):
            c = S.quantised_cosine(q[x : x + 1], q[y : y + 1])[0]
            if c < cfg.min_cosine:
                continue
            ok = any(
                ra["doc"] != rb["doc"]
                and (ra["day"] is None or rb["day"] is None or abs(ra["day"] - rb["day"]) <= cfg.window_days)
                for ra in by[hid[x]]
                for rb in by[hid[y]]
            )
            if ok:
                out.add((min(hid[x], hid[y]), max(hid[x], hid[y])))
    return out


@MODES
def test_recall_on_constructed_rewordings_and_no_unrelated_pairs(cfg):
    emb, occ, truth = _corpus()
    got = _run(emb, occ, cfg)
    pairs = set(zip(got["hid_a"].to_list(), got["hid_b"].to_list(), strict=True))
    assert len(truth & pairs) / len(truth) >= 0.97
    brute = _brute(emb, occ, cfg)
    if cfg.exact_window:  # every document dated: the exhaustive window search is the definition
        assert pairs == brute
    else:
        assert pairs <= brute  # never a pair outside the definition
    assert got["cosine"].min() >= cfg.min_cosine
    assert got.columns == ["hid_a", "hid_b", "cosine"] and (got["hid_a"] < got["hid_b"]).all()


@MODES
def test_time_window_and_same_document_rules(cfg):
    emb, occ, truth = _corpus(n_groups=3)
    a, b = sorted(truth)[0]
    # the same pair published 30 days apart: outside the window
    far = occ.with_columns(pl.when(pl.col("hid") == b).then(pl.col("day") + 30).otherwise("day").alias("day"))
    got = _run(emb, far, cfg)
    assert (a, b) not in set(zip(got["hid_a"], got["hid_b"], strict=True))
    # undated: compared with any date
    undated = far.with_columns(pl.when(pl.col("hid") == b).then(None).otherwise("day").alias("day"))
    got = _run(emb, undated, cfg)
    assert (a, b) in set(zip(got["hid_a"], got["hid_b"], strict=True))
    # both texts only in one and the same document: not a candidate
    same = occ.with_columns(pl.when(pl.col("hid") == b).then(pl.lit("d0-0")).otherwise("doc").alias("doc"))
    same = same.with_columns(pl.when(pl.col("hid") == a).then(pl.lit("d0-0")).otherwise("doc").alias("doc"))
    got = _run(emb, same, cfg)
    assert (a, b) not in set(zip(got["hid_a"], got["hid_b"], strict=True))


def test_deterministic_and_independent_of_row_order():
    emb, occ, _ = _corpus(seed=3)
    ref = _run(emb, occ)
    assert ref.height > 0
    shuffled = _run(
        emb.sample(fraction=1.0, shuffle=True, seed=5), occ.sample(fraction=1.0, shuffle=True, seed=9)
    )
    assert shuffled.equals(ref)
    assert _run(emb, occ).equals(ref)


@MODES
@pytest.mark.parametrize("split", [(0.9,), (0.5, 0.75)])
def test_increments_give_the_candidates_of_the_union(split, cfg):
    emb, occ, _ = _corpus(seed=4)
    # a few undated occurrences: their pairs come from the band keys in either mode
    occ = occ.with_columns(pl.when(pl.col("hid") % 5 == 0).then(None).otherwise("day").alias("day"))
    ref = _run(emb, occ, cfg)
    docs = occ["doc"].unique().sort().sample(fraction=1.0, shuffle=True, seed=1).to_list()
    cuts = [0, *[int(f * len(docs)) for f in split], len(docs)]
    got: list[pl.DataFrame] = []
    seen = pl.DataFrame(schema=occ.schema)
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        batch = occ.filter(pl.col("doc").is_in(docs[lo:hi]))
        seen = pl.concat([seen, batch])
        idx = emb.join(seen.select("hid").unique(), on="hid", how="semi")
        got.append(_run(idx, seen, cfg, touched=batch.select("hid").unique()))
    union = pl.concat(got).unique(["hid_a", "hid_b"]).sort("hid_a", "hid_b")
    assert union.equals(ref)


@MODES
def test_a_new_occurrence_of_an_old_text_is_a_touch(cfg):
    emb, occ, truth = _corpus(n_groups=2)
    a, b = sorted(truth)[0]
    moved = occ.with_columns(
        pl.when(pl.col("hid") == b).then(pl.col("day") + 100).otherwise("day").alias("day")
    )
    assert (a, b) not in set(zip(*_run(emb, moved, cfg)[["hid_a", "hid_b"]].get_columns(), strict=True))
    # b now also appears in a new document on a's day: the pair appears in the increment
    extra = pl.DataFrame({"hid": [b], "doc": ["new"], "day": [occ.filter(pl.col("hid") == a)["day"][0]]})
    extra = extra.cast({"day": pl.Int32})
    inc = _run(emb, pl.concat([moved, extra]), cfg, touched=extra.select("hid"))
    assert (a, b) in set(zip(inc["hid_a"], inc["hid_b"], strict=True))


def test_quantised_arithmetic_is_exact_whatever_the_batch():
    rng = np.random.default_rng(7)
    q = S.quantise(_unit(rng.standard_normal((500, 256))))
    planes = S.hyperplanes(256, S.IndexConfig())
    full = q.astype(np.float32) @ planes.T
    one = np.stack([q[i : i + 1].astype(np.float32) @ planes.T for i in (0, 17, 499)])[:, 0]
    assert np.array_equal(full[[0, 17, 499]], one)
    assert np.array_equal(full, np.rint(full))  # integer sums, no rounding


def test_empty_inputs():
    cfg = S.IndexConfig()
    empty_emb = pl.DataFrame(schema={"hid": pl.Int64, "emb": pl.Array(pl.Int8, DIM)})
    assert S.signatures(empty_emb, cfg).height == 0
    occ = pl.DataFrame(schema={"hid": pl.Int64, "doc": pl.String, "day": pl.Int32})
    assert S.candidates(S.signatures(empty_emb, cfg), S.postings(occ), empty_emb, cfg).height == 0
    with pytest.raises(ValueError):
        S.IndexConfig(bits=0)


class _VecEncoder:
    """A stand-in encoder for the index helpers: each text is a vector written as numbers."""

    dim = DIM

    def encode(self, texts, batch_size=0):
        return np.array([[float(x) for x in t.split()] for t in texts], dtype=np.float32).reshape(-1, DIM)


def _sentences(emb, occ):
    vec = {h: v for h, v in zip(emb["hid"].to_list(), emb["emb"].to_numpy() / 127.0, strict=True)}
    return occ.with_columns(
        pl.col("hid")
        .map_elements(lambda h: " ".join(f"{x:.4f}" for x in vec[h]), return_dtype=pl.String)
        .alias("text")
    ).select("hid", "text", "doc", "day")


@pytest.mark.parametrize("order_seed", [1, 2, 3])
def test_index_updated_batch_by_batch_equals_the_index_of_the_union(order_seed):
    emb, occ, _ = _corpus(seed=6, n_groups=20)
    occ = occ.with_columns(pl.when(pl.col("hid") % 9 == 0).then(None).otherwise("day").alias("day"))
    # the same text in a second document of another day: postings of an old text change
    occ = pl.concat([occ, occ.head(5).with_columns(pl.lit("again").alias("doc"), pl.col("day") + 1)])
    sent = _sentences(emb, occ)
    enc = _VecEncoder()
    full = S.build_index(sent, enc, CFG)
    ref = S.candidates(full["signatures"], full["postings"], full["emb"], CFG)
    assert ref.height > 0
    docs = sent["doc"].unique().sort().sample(fraction=1.0, shuffle=True, seed=order_seed).to_list()
    parts = [docs[: len(docs) // 3], docs[len(docs) // 3 : len(docs) // 2], docs[len(docs) // 2 :]]
    index = S.build_index(sent.filter(pl.col("doc").is_in(parts[0])), enc, CFG)
    found = [S.candidates(index["signatures"], index["postings"], index["emb"], CFG)]
    for part in parts[1:]:
        index, touched = S.update_index(index, sent.filter(pl.col("doc").is_in(part)), enc, CFG)
        found.append(S.candidates(index["signatures"], index["postings"], index["emb"], CFG, touched=touched))
    for name in ("emb", "signatures", "postings"):
        assert index[name].equals(full[name]), name
    assert pl.concat(found).unique(["hid_a", "hid_b"]).sort("hid_a", "hid_b").equals(ref)
