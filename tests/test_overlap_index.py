"""The overlap stage's kept index, step by step: the rules a batch applies to the stored postings and
rare-word pairs give what a full computation gives."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.core.overlap import OverlapConfig
from pipeline.core.overlap.candidates_minhash import _bucket_pairs, bucket_pairs
from pipeline.core.overlap.candidates_paraphrase import _rare_word_doc_pairs, incremental_rare_doc_pairs
from pipeline.core.overlap.store import OverlapStore


def _pair_counts(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for p in pairs:
        out[p] = out.get(p, 0) + 1
    return out


def test_bucket_pairs_of_stored_members_are_those_of_the_full_banding():
    rng = np.random.default_rng(7)
    n, bands, max_bucket = 300, 4, 3
    names = sorted(f"{v:016x}" for v in rng.choice(2**40, size=n, replace=False))
    keys = rng.integers(0, 40, size=(n, bands)).astype(np.uint64)  # many buckets above max_bucket
    full = []
    for band in range(bands):
        for part in _bucket_pairs(keys[:, band], max_bucket):
            for i, j in part:
                a, b = sorted((int(i), int(j)))
                full.append((names[a], names[b]))
    members = pl.DataFrame(
        {
            "band": np.tile(np.arange(bands, dtype=np.int32), n),
            "bucket": keys.reshape(-1).view(np.int64),
            "norm_hash": np.repeat(np.array(names), bands),
        }
    )
    got = bucket_pairs(members, max_bucket)
    assert _pair_counts(list(got.iter_rows())) == _pair_counts(full)
    assert len(set(full)) < len(full)  # some pairs collide in several bands


def _rare(docs: dict[int, list[int]]) -> pl.DataFrame:
    rows = [(d * 100 + k, d, d * 100 + k, tok, 1) for d, toks in docs.items() for k, tok in enumerate(toks)]
    return pl.DataFrame(rows, schema=["sidx", "didx", "hid", "tok", "w"], orient="row").with_columns(
        pl.col("tok").cast(pl.UInt64)
    )


def _apply(store: OverlapStore) -> OverlapStore:
    """The next run's store: the sets and pairs the stage would have written."""
    w = store.rare_writes
    nxt = OverlapStore.for_run(OverlapConfig(), None)
    nxt.rare_sets = pl.concat([store.rare_sets.join(w["dirty"], on="doc_id", how="anti"), w["sets"]])
    kept = store.rare_pairs.join(w["dirty"].rename({"doc_id": "doc_id_a"}), on="doc_id_a", how="anti").join(
        w["dirty"].rename({"doc_id": "doc_id_b"}), on="doc_id_b", how="anti"
    )
    nxt.rare_pairs = pl.concat([kept, w["pairs"]])
    return nxt


def test_rare_word_pairs_from_the_kept_pairs_are_those_of_a_full_computation():
    cfg = OverlapConfig(doc_min_shared_rare=2, doc_min_rare_overlap=0.2, doc_top_k=2)
    rng = np.random.default_rng(3)
    vocab = 60
    docs = {d: sorted(set(rng.integers(0, vocab, size=int(rng.integers(3, 12))).tolist())) for d in range(40)}
    store = OverlapStore.for_run(cfg, None)
    steps = [
        {d: t for d, t in docs.items() if d < 25},  # a first batch
        docs,  # the rest arrives
        {
            d: (t[1:] if d % 3 == 0 else t) for d, t in docs.items() if d != 5
        },  # words leave, one document goes
        {d: t + [vocab + d % 4] for d, t in docs.items()},  # new words shared by many
        # one new word in two documents: only those two are re-derived
        {d: t + [vocab + d % 4] + ([vocab + 10] if d < 2 else []) for d, t in docs.items()},
    ]
    for current in steps:
        rare = _rare(current)
        doc_rank = pl.DataFrame(
            {"doc_id": [f"d{d:03d}" for d in sorted(current)], "didx": sorted(current)},
            schema={"doc_id": pl.String, "didx": pl.Int64},
        )
        want = pl.concat(_rare_word_doc_pairs(rare, cfg)).unique().sort("da", "db")
        got = incremental_rare_doc_pairs(rare, doc_rank, cfg, store).unique().sort("da", "db")
        assert got.equals(want)
        assert want.height > 0
        dirty = sorted(store.rare_writes["dirty"]["doc_id"])
        store = _apply(store)
    assert dirty == ["d000", "d001"]
    assert store.rare_sets.height == len(docs)


def _corpus(docs: dict[str, list[str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(elig, hashes) of the overlap index for documents of matchable sentences (normalised texts)."""
    rows = [(d, i, t) for d in sorted(docs) for i, t in enumerate(docs[d])]
    sents = pl.DataFrame(rows, schema=["doc_id", "index", "norm"], orient="row").with_columns(
        (pl.col("doc_id") + ":" + pl.col("index").cast(pl.String)).alias("sentence_id"),
        pl.col("norm").hash(seed=5).cast(pl.String).alias("norm_hash"),
    )
    hashes = (
        sents.group_by("norm_hash")
        .agg(pl.col("norm").first().alias("rep_norm"))
        .sort("norm_hash")
        .with_row_index("hid")
        .with_columns(pl.col("hid").cast(pl.Int64))
    )
    doc_rank = (
        pl.DataFrame({"doc_id": sorted(docs)})
        .with_row_index("didx")
        .with_columns(pl.col("didx").cast(pl.Int64))
    )
    elig = (
        sents.join(hashes.select("norm_hash", "hid"), on="norm_hash")
        .join(doc_rank, on="doc_id")
        .sort("sentence_id")
        .with_row_index("sidx")
        .with_columns(pl.col("sidx").cast(pl.Int64))
    )
    return elig, hashes


def test_word_frequencies_from_the_kept_documents_are_those_of_a_full_count():
    import duckdb

    from pipeline.core import warehouse
    from pipeline.core.overlap.candidates_paraphrase import rare_tokens
    from pipeline.core.overlap.store import attach_doc_words, write_doc_words

    cfg = OverlapConfig(rare_token_max_docs=4)
    rng = np.random.default_rng(11)

    def text() -> str:
        return " ".join(f"word{int(k):03d}" for k in rng.integers(0, 300, size=int(rng.integers(3, 7))))

    docs = {f"d{d:03d}": [text() for _ in range(int(rng.integers(1, 5)))] for d in range(0, 60, 2)}
    later = {f"d{d:03d}": [text() for _ in range(int(rng.integers(1, 5)))] for d in range(1, 60, 2)}
    steps = [
        docs,  # a first run
        docs | later,  # new documents between the old ones (every document number moves)
        # a sentence leaves one document (it turned common), one document goes
        {d: (t[1:] if d == "d004" and len(t) > 1 else t) for d, t in (docs | later).items() if d != "d010"},
        # one new document with words that become rare (counted twice) or stop being rare
        {d: (t[1:] if d == "d004" and len(t) > 1 else t) for d, t in (docs | later).items() if d != "d010"}
        | {"d100": ["word001 word002 word003 word299 zzzunique", docs["d000"][0]]},
    ]
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    computed = []
    for current in steps:
        elig, hashes = _corpus(current)
        store = OverlapStore.for_run(cfg, None)
        attach_doc_words(con, store)
        got = rare_tokens(elig, hashes, cfg, store).sort("sidx", "tok")
        want = rare_tokens(elig, hashes, cfg).sort("sidx", "tok")
        assert got.equals(want)
        assert want.height > 0
        computed.append(store.doc_words.computed)
        write_doc_words(con, store)
    # the first run counts every document; then only the new and changed ones
    assert computed == [len(steps[0]), len(later), 1, 1]
    n_rows = con.sql("SELECT count(DISTINCT doc_id) FROM cache.doc_word_digests").fetchall()[0][0]
    assert n_rows == len(steps[-1])
