"""The memory each stage and overlap step reports: resident size at its end, its own peak, the process peak."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import duckdb
import numpy as np
import polars as pl

from pipeline.config import reload_settings
from pipeline.core import stages, tables, warehouse
from pipeline.core.overlap import OverlapConfig, compute_overlap, flags
from pipeline.core.overlap import store as store_module
from pipeline.core.overlap.candidates_paraphrase import content_tokens
from pipeline.core.overlap.index import build_index
from pipeline.core.overlap.inputs import prepare_documents, prepare_inputs, prepare_sentences
from pipeline.core.overlap.store import OverlapStore, RowSink
from tests.fakes import HashEncoder, work_inputs

_CLOCK_SCENARIO = """
import json, time
import numpy as np
from pipeline.core.overlap.common import Clock, peak_rss_mib, rss_mib
clock = Clock(None)
with clock.step("outer"):
    with clock.step("alloc"):
        block = np.ones(80 * 2**20 // 8)  # 80 MiB, touched
        held = rss_mib()
        deadline = time.monotonic() + 10  # the sampling thread runs late on a loaded machine
        while clock._watch._hi < held - 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        del block
    with clock.step("small"):
        pass
print(json.dumps({"memory": clock.memory, "rss": rss_mib(), "peak": peak_rss_mib()}))
"""


def test_clock_records_each_steps_peak_and_nested_steps_fold_into_the_outer_one():
    # in a fresh process: one that has run other tests may hold freed memory that the block reuses
    out = subprocess.run(
        [sys.executable, "-c", _CLOCK_SCENARIO], capture_output=True, text=True, check=True, timeout=120
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    mem = got["memory"]
    assert set(mem) == {"outer", "alloc", "small"}
    for m in mem.values():
        assert set(m) == {"rss_mib", "peak_mib", "process_peak_mib"}
        assert 0 < m["rss_mib"] <= m["peak_mib"] <= m["process_peak_mib"] + 1
    # the 80 MiB block was freed before the step ended, but its peak was seen
    assert mem["alloc"]["peak_mib"] >= mem["alloc"]["rss_mib"] + 60
    assert mem["small"]["peak_mib"] < mem["alloc"]["peak_mib"] - 60
    assert mem["outer"]["peak_mib"] >= mem["alloc"]["peak_mib"]
    assert got["rss"] <= got["peak"] + 1


# ---- the means that bound the overlap stage's memory leave its outputs unchanged


def test_sentences_already_in_order_are_prepared_as_any_others(sample_warehouse):
    docs, sents = work_inputs(sample_warehouse)
    d = prepare_documents(docs)
    ordered = sents.sort("sentence_id")
    shuffled = sents.sample(fraction=1.0, shuffle=True, seed=3)
    # a duplicate sentence id, a sentence of an unknown document and an empty normalised text take the
    # general path; an ordered frame without them takes the one that keeps its columns
    dup = pl.concat([shuffled, shuffled.head(3)])
    stranger = pl.concat([ordered, ordered.head(1).with_columns(pl.lit("nobody").alias("doc_id"))])
    want = prepare_sentences(shuffled, d)
    assert want.height == sents["sentence_id"].n_unique()
    for frame in (ordered, dup, stranger.sort("sentence_id")):
        assert prepare_sentences(frame, d).equals(want)
    empty_norm = ordered.with_columns(
        pl.when(pl.col("index") == 0).then(pl.lit("")).otherwise(pl.col("norm")).alias("norm")
    )
    got = prepare_sentences(empty_norm, d)
    assert got.equals(prepare_sentences(empty_norm.reverse(), d))
    assert got.filter(pl.col("index") == 0)["norm_hash"].str.starts_with("\x00").all()


def test_content_words_in_chunks_equal_the_words_of_one_pass(sample_warehouse):
    _, sents = work_inputs(sample_warehouse)
    hashes = sents.select(pl.col("sentence_id").rank("ordinal").cast(pl.Int64).alias("hid"), "norm")
    whole = content_tokens(hashes, OverlapConfig(minhash_chunk_rows=10**9))
    chunked = content_tokens(hashes, OverlapConfig(minhash_chunk_rows=7))
    assert whole.height > 100
    assert chunked.sort("hid", "tok").equals(whole.sort("hid", "tok"))


def test_signatures_written_as_computed_are_the_rows_a_store_keeps(monkeypatch):
    monkeypatch.setattr(store_module, "SIGNATURE_WRITE_ROWS", 4)
    sig = np.arange(11 * 8, dtype=np.uint32).reshape(11, 8) * np.uint32(2654435761)
    names = pl.Series("norm_hash", [f"h{i:02d}" for i in range(11)])
    kept = OverlapStore.for_run(OverlapConfig(), None)
    kept.add_signatures(names, sig)
    written: list[pl.DataFrame] = []
    direct = OverlapStore.for_run(OverlapConfig(), None)
    direct.write_signatures = written.append
    direct.add_signatures(names, sig)
    assert [f.height for f in written] == [4, 4, 3]
    assert direct.new_rows()["minhash_signatures"].height == 0
    rows = kept.new_rows()["minhash_signatures"]
    assert pl.concat(written).equals(rows)
    assert rows["signature"].to_list() == [r.astype("<u4").tobytes() for r in sig]


OVERLAP_CACHE = tables.OVERLAP_CACHE_TABLES
#: what the lexical tiers write (the semantic tier's static vectors stay empty without an encoder)
LEXICAL_CACHE = tuple(t for t in OVERLAP_CACHE if t != "cache.static_vectors")
MARTS = tuple(f"marts.{t}" for t in tables.OVERLAP_TABLES)


def test_a_low_duckdb_memory_limit_gives_the_same_tables(tmp_path, sample_warehouse, monkeypatch):
    """The overlap stage under the smallest DuckDB limit (and its store writing as it computes) writes
    the marts and cache rows of the default run."""
    db = tmp_path / "work.duckdb"
    shutil.copy(sample_warehouse / warehouse.WORK_DB_NAME, db)
    monkeypatch.setenv("WIRETRACE_DUCKDB_MEMORY_MB", "64")
    reload_settings()
    con = warehouse.connect(db)
    try:
        for name in OVERLAP_CACHE:
            con.execute(f"DELETE FROM {name}")
        con.execute("DELETE FROM meta.stage_state")
        res = stages.stage_overlap(con, encoder=None)
        assert con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0] != "64.0 MiB"
        got = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").pl() for t in (*LEXICAL_CACHE, *MARTS)}
    finally:
        con.close()
    assert res.extra["skipped"] is False
    assert {"read", "prepare", "minhash", "write_marts", "write_cache"} <= set(res.extra["step_memory"])
    assert res.extra["memory"]["peak_mib"] >= res.extra["memory"]["rss_mib"] > 0
    ref = duckdb.connect(str(sample_warehouse / warehouse.WORK_DB_NAME), read_only=True)
    try:
        for t, frame in got.items():
            want = ref.sql(f"SELECT * FROM {t} ORDER BY ALL").pl()
            assert frame.height == want.height > 0, t
            if "_key" not in " ".join(frame.columns):  # the cache's fingerprints name the code
                assert frame.equals(want), t
    finally:
        ref.close()


def test_sentence_traits_in_chunks_equal_the_traits_of_one_pass(sample_warehouse, monkeypatch):
    _, sents = work_inputs(sample_warehouse)
    sents = sents.sort("sentence_id")
    edge = flags._edge(sents)
    whole = flags.sentence_traits(sents, edge)
    monkeypatch.setattr(flags, "TRAIT_CHUNK_ROWS", 7)
    chunked = flags.sentence_traits(sents, edge)
    assert whole.height == sents.height > 7
    assert chunked.equals(whole)
    assert (whole["quote_share"] > 0).any()


def test_rows_written_as_computed_are_the_rows_a_store_keeps(sample_warehouse):
    """A store whose grades, traits, words and static vectors go to a writer as they are computed
    (``RowSink``, what the overlap stage sets) hands over the rows a store holding them gives at the
    end, and the tables are the same."""
    docs, sents = work_inputs(sample_warehouse)
    cfg = OverlapConfig(verifier=False)
    kept = OverlapStore.for_run(cfg, HashEncoder())
    want = compute_overlap(docs, sents, config=cfg, encoder=HashEncoder(), store=kept)
    keys = {
        "graded_pairs": ("added_grades", ["grade_key", "pair_key"]),
        "sentence_traits": ("added_traits", ["tk1", "tk2"]),
        "word_tokens": ("added_tokens", ["norm_hash"]),
    }
    written: dict[str, list[pl.DataFrame]] = {name: [] for name in [*keys, "static_vectors"]}
    direct = OverlapStore.for_run(cfg, HashEncoder())
    for name, (attr, key) in keys.items():
        setattr(direct, attr, RowSink(written[name].append, key))
    direct.static.added = RowSink(written["static_vectors"].append, ["static_key", "text_key"])
    got = compute_overlap(docs, sents, config=cfg, encoder=HashEncoder(), store=direct)
    for name, frame in want.tables().items():
        assert got.tables()[name].equals(frame, null_equal=True), name
    rows, left = kept.new_rows(), direct.new_rows()
    for name, parts in written.items():
        assert left[name].height == 0, name
        assert rows[name].height > 0, name
        key = keys[name][1] if name in keys else ["static_key", "text_key"]
        assert pl.concat(parts).unique(key, keep="first", maintain_order=True).equals(rows[name]), name


def test_the_overlap_stage_computes_under_its_own_lower_duckdb_limit(tmp_path, sample_warehouse, monkeypatch):
    """Once its inputs are read, the overlap stage runs with DuckDB's limit at most
    ``OVERLAP_DUCKDB_MEMORY_MB`` (the blocks cached by the reads are dropped), and the stage's limit
    is back afterwards."""
    db = tmp_path / "work.duckdb"
    shutil.copy(sample_warehouse / warehouse.WORK_DB_NAME, db)
    con = warehouse.connect(db)
    seen: list[str] = []
    real = stages.compute_overlap

    def spy(*args, **kwargs):
        seen.append(con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0])
        return real(*args, **kwargs)

    monkeypatch.setattr(stages, "compute_overlap", spy)
    try:
        con.execute("DELETE FROM meta.stage_state")
        before = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        stages.stage_overlap(con, encoder=None)
        after = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    finally:
        con.close()
    assert seen == [f"{stages.OVERLAP_DUCKDB_MEMORY_MB}.0 MiB"]
    # restored from DuckDB's rounded display of the earlier limit (18.8 GiB may come back as 18.7)
    assert after[-3:] == before[-3:] and abs(float(after[:-4]) - float(before[:-4])) < 0.15


def test_the_index_holds_each_text_once_and_the_same_representatives(sample_warehouse):
    """``build_index``: the matchable sentences carry no text; each distinct text's representative is
    its first matchable sentence in sentence_id order, with that sentence's text and normalised text."""
    docs, sents = work_inputs(sample_warehouse)
    d, s = prepare_inputs(docs, sents)
    fl = flags.sentence_flags(d, s, OverlapConfig())
    elig, hashes, _ = build_index(d, s, fl)
    assert "text" not in elig.columns and "norm" not in elig.columns
    matchable = s.join(fl.filter(pl.col("matchable")).select("sentence_id"), on="sentence_id")
    want = (
        matchable.sort("sentence_id")
        .group_by("norm_hash", maintain_order=True)
        .agg(
            pl.col("sentence_id").first().alias("rep_sid"),
            pl.col("text").first().alias("rep_text"),
            pl.col("norm").first().alias("rep_norm"),
            pl.len().alias("g"),
        )
        .sort("norm_hash")
    )
    assert hashes.height == want.height > 50
    assert hashes.drop("hid").equals(want)
    assert hashes["hid"].to_list() == list(range(hashes.height))
    assert elig.height == matchable.height
    assert elig.select("norm_hash", "hid").join(hashes, on=["norm_hash", "hid"], how="anti").height == 0


def test_an_insert_the_lowered_limit_cannot_hold_raises_the_limit_and_keeps_every_row(tmp_path):
    """The primary-key indexes DuckDB loads stay in memory and count against its limit, which the
    overlap stage lowers: a batch's cache insert that runs out of memory raises the limit and inserts
    again (it failed with an out-of-memory error on the whole corpus when earlier stages of the same
    connection had loaded their indexes), and keeps the rows the table had."""
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (k VARCHAR PRIMARY KEY, v BIGINT)")
    con.execute("INSERT INTO t SELECT md5(i::VARCHAR), i FROM range(300000) r(i)")
    con.close()
    con = duckdb.connect(str(path))
    con.execute("SET memory_limit = '1MiB'")
    rows = pl.DataFrame(
        {"k": [f"new{i}" for i in range(50_000)] + [con.sql("SELECT md5('7')").fetchall()[0][0]]}
    )
    rows = rows.with_columns(v=pl.int_range(pl.len(), dtype=pl.Int64))
    assert warehouse.insert_new(con, "t", rows) == 50_000  # the existing key is ignored
    assert con.sql("SELECT count(*), sum(v) FILTER (WHERE k = md5('7')) FROM t").fetchall() == [(350_000, 7)]
    con.close()


def test_a_first_runs_document_words_written_chunk_by_chunk_are_those_written_at_once():
    """A first run writes each document's content words (``cache.doc_words``) chunk by chunk as it
    counts them (``DocWordStore.write_more``): the rows, the digests and the rare words are those of
    one write at the end, and a second run reads the same counts from them."""
    from pipeline.core.overlap.candidates_paraphrase import rare_tokens
    from pipeline.core.overlap.store import attach_doc_words, write_doc_words
    from tests.test_overlap_index import _corpus

    cfg = OverlapConfig(rare_token_max_docs=4, minhash_chunk_rows=2)  # chunks of a few documents
    rng = np.random.default_rng(5)

    def text() -> str:
        return " ".join(f"word{int(k):03d}" for k in rng.integers(0, 200, size=int(rng.integers(3, 7))))

    docs = {f"d{d:03d}": [text() for _ in range(int(rng.integers(1, 5)))] for d in range(40)}
    elig, hashes = _corpus(docs)
    got: dict[str, dict[str, pl.DataFrame]] = {}
    for how in ("chunks", "at_once"):
        con = duckdb.connect()
        warehouse.ensure_schema(con)
        store = OverlapStore.for_run(cfg, None)
        attach_doc_words(con, store)
        writes: list[int] = []
        if how == "at_once":
            store.doc_words.write_more = None
        else:
            more = store.doc_words.write_more
            store.doc_words.write_more = lambda w, more=more, writes=writes: (
                writes.append(w.height),
                more(w),
            )
        rare = rare_tokens(elig, hashes, cfg, store).sort("sidx", "tok")
        assert store.doc_words.writes["words"].height == 0  # nothing held to the end of the run
        write_doc_words(con, store)
        if how == "chunks":
            assert len(writes) > 3  # the words went in several chunks
        again = OverlapStore.for_run(cfg, None)
        attach_doc_words(con, again)
        assert again.doc_words.digests is not None
        assert rare_tokens(elig, hashes, cfg, again).sort("sidx", "tok").equals(rare)
        assert again.doc_words.computed == 0  # every document's words read from the database
        got[how] = {
            "rare": rare,
            **{
                t: con.sql(f"SELECT * EXCLUDE (words_key) FROM cache.{t} ORDER BY ALL").pl()
                for t in ("doc_words", "doc_word_digests")
            },
        }
        con.close()
    for name, frame in got["at_once"].items():
        assert frame.height > 0, name
        assert got["chunks"][name].equals(frame), name


def _reference_banding(hashes: pl.DataFrame, cfg: OverlapConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The band collisions and postings of every hash from the whole signature matrix (the banding
    as computed before the keys were built chunk by chunk)."""
    from pipeline.core.overlap import candidates_minhash as cm

    sig = cm.minhash_signatures(hashes["rep_norm"], cfg, None)
    keys = cm.band_key_matrix(sig, cfg)
    parts = [p for band in range(cfg.lsh_bands) for p in cm._bucket_pairs(keys[:, band], cfg.lsh_max_bucket)]
    pairs = np.sort(np.concatenate(parts).astype(np.int64), axis=1)
    pairs, counts = np.unique(pairs, axis=0, return_counts=True)
    nh = hashes["norm_hash"]
    frame = pl.DataFrame(
        {
            "norm_hash_a": nh.gather(pairs[:, 0]),
            "norm_hash_b": nh.gather(pairs[:, 1]),
            "n_buckets": counts,
            "jaccard": cm.estimated_jaccard(sig, pairs),
        },
        schema=cm.LSH_PAIR_SCHEMA,
    )
    return frame, cm.postings(nh, keys)


def test_banding_from_band_keys_built_chunk_by_chunk_equals_the_banding_of_the_signature_matrix(
    sample_warehouse,
):
    """A first run keeps the band keys of the MinHash signatures, not the signatures (computed chunk by
    chunk, handed to the store, recomputed for the rows of the band collisions to estimate their
    Jaccard): the collisions, their estimates, the postings, the stored signatures and the candidates
    are those of the whole signature matrix; a store holding some signatures already gives them too."""
    from pipeline.core.overlap import candidates_minhash as cm
    from pipeline.core.overlap.common import Clock

    docs, sents = work_inputs(sample_warehouse)
    d, s = prepare_inputs(docs, sents)
    cfg = OverlapConfig(minhash_chunk_rows=16)  # several chunks
    elig, hashes, _ = build_index(d, s, flags.sentence_flags(d, s, cfg))
    want_pairs, want_posts = _reference_banding(hashes, cfg)
    assert want_pairs.height > 10 and hashes.height > 3 * cfg.minhash_chunk_rows
    sig = cm.minhash_signatures(hashes["rep_norm"], cfg, None)
    want_cand, _ = cm.minhash_candidates(sig, elig, cfg, Clock(None))

    first = OverlapStore.for_run(cfg, None)
    cand, n_lsh = cm.near_candidates(hashes, elig, cfg, Clock(None), first)
    w = first.lsh_writes
    assert w["reset"] and n_lsh == want_pairs.height
    assert w["pairs_changed"].equals(want_pairs)
    assert pl.concat(w["postings"]).sort("band", "norm_hash").equals(want_posts.sort("band", "norm_hash"))
    assert cand.equals(want_cand)
    rows = first.new_rows()["minhash_signatures"]
    assert rows["norm_hash"].equals(hashes["norm_hash"])
    assert rows["signature"].to_list() == [r.astype("<u4").tobytes() for r in sig]

    # a store with half the signatures (a banding state lost, signatures kept): the matrix path
    some = OverlapStore.for_run(cfg, None)
    some.signatures = rows.slice(0, rows.height // 2)
    cand2, _ = cm.near_candidates(hashes, elig, cfg, Clock(None), some)
    assert some.lsh_writes["pairs_changed"].equals(want_pairs)
    assert cand2.equals(want_cand)
    assert some.hits["signatures"] == rows.height // 2
