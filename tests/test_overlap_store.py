"""The overlap stage computes nothing twice: stored signatures and grades give the same tables as a
fresh computation, batches give the tables of one run on their union, and a run with nothing new skips
the overlap and publish steps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.core import stages, tables, warehouse
from pipeline.core.overlap import OverlapConfig, compute_overlap
from pipeline.core.overlap.store import OverlapStore
from pipeline.core.run import run_pipeline
from pipeline.core.tables import OVERLAP_TABLES
from tests.fakes import AnonymousEncoder, HashEncoder, work_inputs

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _marts(db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in OVERLAP_TABLES}
    finally:
        con.close()


def _assert_same_tables(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    """Same tables: columns, types and rows (in key order: an updated published file stores the rows it
    added after the others)."""
    assert got.keys() == want.keys()
    for name in want:
        key = list(tables.TABLES[f"marts.{name}"].key)
        assert got[name].schema == want[name].schema, name
        assert got[name].sort(key).equals(want[name].sort(key), null_equal=True), name


def test_stored_values_give_the_tables_of_a_fresh_computation(sample_warehouse):
    docs, sents = work_inputs(sample_warehouse)
    cfg = OverlapConfig()
    fresh = compute_overlap(docs, sents, config=cfg, encoder=None)

    first = OverlapStore.for_run(cfg, None)
    filled = compute_overlap(docs, sents, config=cfg, encoder=None, store=first)
    _assert_same_tables(filled.tables(), fresh.tables())
    rows = first.new_rows()
    assert rows["minhash_signatures"].height == fresh.stats["n_distinct_matchable"]
    assert rows["graded_pairs"].height == fresh.stats["graded_pairs"] > 0
    assert first.stats()["reused"] == {"signatures": 0, "grades": 0}

    # everything stored: nothing computed, same tables
    full = OverlapStore.for_run(cfg, None)
    full.signatures, full.grades = rows["minhash_signatures"], rows["graded_pairs"]
    reused = compute_overlap(docs, sents, config=cfg, encoder=None, store=full)
    _assert_same_tables(reused.tables(), fresh.tables())
    assert full.stats()["computed"] == {"signatures": 0, "grades": 0}
    assert full.stats()["reused"]["grades"] == fresh.stats["graded_pairs"]
    assert full.new_rows()["graded_pairs"].height == 0

    # half of each stored: the other half computed, same tables
    half = OverlapStore.for_run(cfg, None)
    half.signatures = rows["minhash_signatures"].gather_every(2)
    half.grades = rows["graded_pairs"].gather_every(2)
    mixed = compute_overlap(docs, sents, config=cfg, encoder=None, store=half)
    _assert_same_tables(mixed.tables(), fresh.tables())
    assert half.stats()["computed"]["grades"] == rows["graded_pairs"].height - half.grades.height


def test_values_stored_under_other_settings_are_not_reused(sample_warehouse):
    docs, sents = work_inputs(sample_warehouse)
    first = OverlapStore.for_run(OverlapConfig(), None)
    compute_overlap(docs, sents, config=OverlapConfig(), encoder=None, store=first)
    rows = first.new_rows()
    cfg = OverlapConfig(num_perm=64, lsh_bands=16, max_grade_chars=100)
    other = OverlapStore.for_run(cfg, None)
    assert other.signature_key != first.signature_key
    assert other.grade_keys["lexical"] != first.grade_keys["lexical"]
    other.signatures, other.grades = rows["minhash_signatures"], rows["graded_pairs"]
    got = compute_overlap(docs, sents, config=cfg, encoder=None, store=other)
    assert other.stats()["reused"] == {"signatures": 0, "grades": 0}
    _assert_same_tables(got.tables(), compute_overlap(docs, sents, config=cfg, encoder=None).tables())


def _landing(root: Path, files: list[str]) -> Path:
    landing = root / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE / "manifest.csv", landing / "manifest.csv")
    for name in files:
        shutil.copy(SAMPLE / name, landing / name)
    return landing


@pytest.mark.parametrize("first", [["000", "001", "002"], ["003", "004"], ["001"]])
def test_batches_publish_the_tables_of_one_run_on_their_union(tmp_path, first):
    names = sorted(p.name for p in SAMPLE.glob("*.txt"))
    batch_1 = [n for n in names if n[:3] in first]
    once = tmp_path / "once"
    run_pipeline(_landing(once, names), once / "wh", encoder=None)

    inc = tmp_path / "inc"
    run_pipeline(_landing(inc, batch_1), inc / "wh", encoder=None)
    results = run_pipeline(_landing(inc, names), inc / "wh", encoder=None)
    overlap = next(r for r in results if r.stage == "overlap")
    assert overlap.extra["skipped"] is False
    store = overlap.extra["store"]
    # the first batch's sentences are neither flagged nor signed nor banded again
    assert store["index"]["reused"]["traits"] > 0
    assert 0 < store["computed"]["signatures"] < overlap.extra["n_distinct_matchable"]

    _assert_same_tables(
        _marts(inc / "wh" / warehouse.ANALYST_DB_NAME), _marts(once / "wh" / warehouse.ANALYST_DB_NAME)
    )


def test_a_run_with_nothing_new_skips_overlap_and_publish(tmp_path):
    landing = _landing(tmp_path, sorted(p.name for p in SAMPLE.glob("*.txt")))
    wh = tmp_path / "wh"
    first = {r.stage: r for r in run_pipeline(landing, wh, encoder=None)}
    assert first["overlap"].extra["skipped"] is False and first["publish"].extra["skipped"] is False
    published = wh / warehouse.ANALYST_DB_NAME
    before = published.stat()

    again = {r.stage: r for r in run_pipeline(landing, wh, encoder=None)}
    assert again["overlap"].extra["skipped"] is True
    assert any("overlap skipped" in n for n in again["overlap"].notes)
    assert again["overlap"].counts == first["overlap"].counts
    assert again["publish"].extra["skipped"] is True
    assert any("publish skipped" in n for n in again["publish"].notes)
    con = duckdb.connect(str(wh / warehouse.WORK_DB_NAME), read_only=True)
    try:
        tiers = con.sql("SELECT tiers FROM meta.runs ORDER BY started_at DESC LIMIT 1").fetchall()[0][0]
    finally:
        con.close()
    assert json.loads(tiers)["minhash"].startswith("not run: inputs, settings, code and models unchanged")
    after = published.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )

    # other settings: the overlap stage works again; the same marts, so publish still has nothing to do
    con = warehouse.connect(wh / warehouse.WORK_DB_NAME)
    try:
        res = stages.stage_overlap(con, encoder=None, config=OverlapConfig(min_tokens=6))
        assert res.extra["skipped"] is False
        assert stages.stage_publish(con, published).extra["skipped"] is False  # min_tokens changes the flags
        assert (
            stages.stage_overlap(con, encoder=None, config=OverlapConfig(min_tokens=6)).extra["skipped"]
            is True
        )
    finally:
        con.close()


def test_a_new_document_or_a_missing_published_file_is_not_skipped(tmp_path):
    names = sorted(p.name for p in SAMPLE.glob("*.txt"))
    landing = _landing(tmp_path, names[:4])
    wh = tmp_path / "wh"
    run_pipeline(landing, wh, encoder=None)
    _landing(tmp_path, names)
    res = {r.stage: r for r in run_pipeline(landing, wh, encoder=None)}
    assert res["overlap"].extra["skipped"] is False and res["publish"].extra["skipped"] is False
    (wh / warehouse.ANALYST_DB_NAME).unlink()
    res = {r.stage: r for r in run_pipeline(landing, wh, encoder=None)}
    assert res["overlap"].extra["skipped"] is True
    assert res["publish"].extra["skipped"] is False
    assert (wh / warehouse.ANALYST_DB_NAME).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("splits", [(0.9, 0.1), (0.5, 0.25, 0.25)])
def test_benchmark_batches_publish_the_tables_of_one_run(tmp_path, shared_data, splits):
    """2,000 benchmark articles landed in batches: the published marts are those a fresh computation
    (no store) gives on the same working database, and, for a 90/10 split, those of one run on all
    the articles. (The clean stage's output, templates included, equals that of one run on the union
    for any batching: tests/test_clean_batches.py.)"""
    corpus = shared_data / "corpora" / "allsides_baly2020.parquet"
    if not corpus.is_file():
        pytest.skip(f"{corpus.name} not found")
    articles = pl.read_parquet(corpus).head(2000)
    inc_landing = tmp_path / "inc"
    inc_landing.mkdir()
    lo = 0
    for i, share in enumerate(splits):
        hi = articles.height if i == len(splits) - 1 else lo + round(share * articles.height)
        articles.slice(lo, hi - lo).write_parquet(inc_landing / f"part{i}.parquet")
        results = {r.stage: r for r in run_pipeline(inc_landing, tmp_path / "wh_inc", encoder=None)}
        lo = hi
    assert results["overlap"].extra["store"]["reused"]["grades"] > 0
    published = _marts(tmp_path / "wh_inc" / warehouse.ANALYST_DB_NAME)
    docs, sents = work_inputs(tmp_path / "wh_inc")
    fresh = compute_overlap(docs, sents, config=OverlapConfig(), encoder=None).tables()
    _assert_same_tables(published, fresh)
    if len(splits) == 2:
        once_landing = tmp_path / "once"
        once_landing.mkdir()
        articles.write_parquet(once_landing / "all.parquet")
        run_pipeline(once_landing, tmp_path / "wh_once", encoder=None)
        _assert_same_tables(published, _marts(tmp_path / "wh_once" / warehouse.ANALYST_DB_NAME))


def test_grades_with_an_encoder_are_stored_under_its_fingerprint(sample_warehouse):
    docs, sents = work_inputs(sample_warehouse)
    cfg = OverlapConfig(verifier=False)
    enc = HashEncoder()
    fresh = compute_overlap(docs, sents, config=cfg, encoder=enc)
    first = OverlapStore.for_run(cfg, enc)
    assert set(first.grade_keys) == {"lexical", "given:hash-encoder-v1", "verified:given:hash-encoder-v1:off"}
    _assert_same_tables(
        compute_overlap(docs, sents, config=cfg, encoder=enc, store=first).tables(), fresh.tables()
    )
    rows = first.new_rows()["graded_pairs"]
    assert fresh.stats["semantic"]["ran"] is True
    assert set(rows["grade_key"]) == set(first.grade_keys.values())  # lexical and semantic grades stored
    again = OverlapStore.for_run(cfg, enc)
    again.signatures, again.grades = first.new_rows()["minhash_signatures"], rows
    reused = compute_overlap(docs, sents, config=cfg, encoder=enc, store=again)
    _assert_same_tables(reused.tables(), fresh.tables())
    assert again.stats()["computed"] == {"signatures": 0, "grades": 0}
    # the final grades of the pairs the triage sends to the slow models come from the store: the
    # models are not even loaded
    triage = reused.stats["semantic_triage"]
    assert triage["models_stored"] == triage["to_models"] > 0
    assert fresh.stats["semantic_triage"]["models_stored"] == 0
    assert "stored; models not loaded" in reused.stats["verifier"]["reason"]
    assert "semantic_load" not in reused.stats["timings"]
    # an encoder without a fingerprint: its grades are neither stored nor reused
    anonymous = AnonymousEncoder()
    assert set(OverlapStore.for_run(cfg, anonymous).grade_keys) == {"lexical"}


def _with_current(con, doc_ids: list[str]) -> None:
    """Make exactly ``doc_ids`` the current documents (the others forgotten), as batches and
    ``wiretrace forget`` do."""
    con.execute(
        "UPDATE raw.documents SET status = CASE WHEN list_contains(?, doc_id) THEN 'current' ELSE 'forgotten' END",
        [doc_ids],
    )


#: settings under which batches cross the corpus-wide thresholds: a sentence in two outlets is common
#: (a new document makes matchable sentences common, a forgotten one makes them matchable again), and
#: buckets of more than two members are linked to their first member (a bucket crosses the limit)
_CROSSING = OverlapConfig(common_min_sources=2, lsh_max_bucket=2, lsh_bands=64, num_perm=128)


@pytest.mark.parametrize("cfg", [OverlapConfig(), _CROSSING], ids=["defaults", "thresholds-crossed"])
def test_the_kept_index_gives_the_tables_of_a_full_run_after_any_sequence(tmp_path, sample_warehouse, cfg):
    """Documents arriving and leaving in several orders: after each step the overlap stage, working from
    the index kept by the previous steps (sentence traits, words, LSH postings and collisions), writes
    the tables a computation from scratch gives on the current documents."""
    shutil.copytree(sample_warehouse, tmp_path / "wh")
    con = warehouse.connect(tmp_path / "wh" / warehouse.WORK_DB_NAME)
    try:
        ids = [r[0] for r in con.sql("SELECT doc_id FROM raw.documents ORDER BY doc_id").fetchall()]
        assert len(ids) >= 5
        steps = [ids[:2], ids[:4], ids, ids[1:], ids[::2], ids[::-1][:3], ids]
        for i, current in enumerate(steps):
            _with_current(con, current)
            res = stages.stage_overlap(con, encoder=None, config=cfg)
            assert res.extra["skipped"] is False
            index = res.extra["store"]["index"]
            if i:
                assert index["reused"]["traits"] > 0
            marts = {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in OVERLAP_TABLES}
            docs, sents = con.sql(stages.DOCUMENTS_SQL).pl(), con.sql(stages.SENTENCES_SQL).pl()
            fresh = compute_overlap(docs, sents, config=cfg, encoder=None)
            _assert_same_tables(marts, fresh.tables())
            assert res.extra["candidates_lsh"] == fresh.stats["candidates_lsh"]
            assert res.extra["candidate_doc_pairs"] == fresh.stats["candidate_doc_pairs"]
            # the kept collisions are those of a full banding of the matchable sentences
            key = OverlapStore.for_run(cfg, None).lsh_key
            kept = con.execute(
                "SELECT count(*), sum(n_buckets) FROM cache.lsh_pairs WHERE lsh_key = ?", [key]
            ).fetchall()[0]
            assert kept[0] == fresh.stats["candidates_lsh"]
        n_members = con.execute("SELECT count(*) FROM cache.lsh_members WHERE lsh_key = ?", [key]).fetchall()[
            0
        ][0]
        assert n_members == fresh.stats["n_distinct_matchable"]
        # every sentence's traits and every text's words and postings stored once
        for table, col in (
            ("lsh_postings", "lsh_key, norm_hash, band"),
            ("word_tokens", "token_key, norm_hash"),
        ):
            dup = con.sql(f"SELECT count(*) - count(DISTINCT ({col})) FROM cache.{table}").fetchall()[0][0]
            assert dup == 0, table
    finally:
        con.close()
