"""The semantic tier computes nothing twice either: the candidate encoder's vectors stored by earlier
runs (``cache.static_vectors``) give the tables of a fresh computation, after any sequence of batches
that add and remove documents."""

from __future__ import annotations

import shutil

import polars as pl

from pipeline.core import stages, tables, warehouse
from pipeline.core.overlap import OverlapConfig, compute_overlap
from pipeline.core.overlap.store import OverlapStore, static_key, text_keys
from pipeline.core.semantic_index import quantise
from pipeline.core.tables import OVERLAP_TABLES
from tests.fakes import AnonymousEncoder, HashEncoder


def _same_tables(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    assert got.keys() == want.keys()
    for name in want:
        key = list(tables.TABLES[f"marts.{name}"].key)
        assert got[name].schema == want[name].schema, name
        assert got[name].sort(key).equals(want[name].sort(key), null_equal=True), name


def _inputs(con) -> tuple[pl.DataFrame, pl.DataFrame]:
    return con.sql(stages.DOCUMENTS_SQL).pl(), con.sql(stages.SENTENCES_SQL).pl()


def _warehouse_inputs(wh) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The overlap stage's inputs read from the working database of the warehouse ``wh``."""
    con = warehouse.connect(wh / warehouse.WORK_DB_NAME, read_only=True)
    try:
        return _inputs(con)
    finally:
        con.close()


def test_stored_static_vectors_give_the_tables_of_a_fresh_computation(sample_warehouse):
    docs, sents = _warehouse_inputs(sample_warehouse)
    cfg = OverlapConfig(verifier=False)
    fresh = compute_overlap(docs, sents, config=cfg, encoder=HashEncoder())
    assert fresh.stats["semantic"]["ran"] is True
    held = fresh.stats["semantic"]["static_held"]
    assert held > 0 and fresh.stats["semantic"]["static_encoded"] == held

    enc = HashEncoder()
    first = OverlapStore.for_run(cfg, enc)
    _same_tables(compute_overlap(docs, sents, config=cfg, encoder=enc, store=first).tables(), fresh.tables())
    rows = first.new_rows()["static_vectors"]
    assert rows.height == held
    assert set(rows["static_key"]) == {static_key(enc)}
    # a stored vector is the quantised vector of its text (the sentence, cut for grading)
    texts = sorted(set(sents["text"].str.slice(0, cfg.max_grade_chars).to_list()))
    by_key = dict(zip(text_keys(texts), texts, strict=True))
    checked = 0
    for key, blob in rows.select("text_key", "vector").iter_rows():
        if key in by_key:
            assert blob == quantise(HashEncoder().encode([by_key[key]]))[0].tobytes()
            checked += 1
    assert checked > held // 2

    # everything stored: no text encoded for candidates, same tables
    again = OverlapStore.for_run(cfg, enc)
    again.static.vectors = rows
    enc2 = HashEncoder()
    reused = compute_overlap(docs, sents, config=cfg, encoder=enc2, store=again)
    _same_tables(reused.tables(), fresh.tables())
    assert reused.stats["semantic"]["static_encoded"] == 0
    assert again.stats()["semantic"] == {
        "reused": {"static_vectors": held},
        "computed": {"static_vectors": 0},
    }
    assert again.new_rows()["static_vectors"].height == 0

    # half stored: the other half encoded, same tables
    half = OverlapStore.for_run(cfg, enc)
    half.static.vectors = rows.gather_every(2)
    mixed = compute_overlap(docs, sents, config=cfg, encoder=HashEncoder(), store=half)
    _same_tables(mixed.tables(), fresh.tables())
    assert mixed.stats["semantic"]["static_encoded"] == held - half.static.vectors.height

    # vectors stored for another encoder are not used
    other = type("Other", (HashEncoder,), {"fingerprint": "hash-encoder-v2"})()
    assert static_key(other) != static_key(enc)
    foreign = OverlapStore.for_run(cfg, other)
    foreign.static.vectors = rows
    compute_overlap(docs, sents, config=cfg, encoder=other, store=foreign)
    assert foreign.stats()["semantic"]["reused"]["static_vectors"] == 0
    # an encoder without a fingerprint: its vectors are neither stored nor reused
    anonymous = AnonymousEncoder()
    assert static_key(anonymous) is None


def _with_current(con, doc_ids: list[str]) -> None:
    con.execute(
        "UPDATE raw.documents SET status = CASE WHEN list_contains(?, doc_id) THEN 'current' ELSE 'forgotten' END",
        [doc_ids],
    )


def test_stored_static_vectors_give_the_tables_of_a_full_run_after_any_sequence(tmp_path, sample_warehouse):
    """Documents arriving and leaving: after each step the overlap stage, reading the vectors stored by
    the previous steps, writes the tables a computation from scratch gives on the current documents,
    and encodes only texts it has not encoded before."""
    shutil.copytree(sample_warehouse, tmp_path / "wh")
    cfg = OverlapConfig(verifier=False)
    con = warehouse.connect(tmp_path / "wh" / warehouse.WORK_DB_NAME)
    try:
        ids = [r[0] for r in con.sql("SELECT doc_id FROM raw.documents ORDER BY doc_id").fetchall()]
        assert len(ids) >= 5
        steps = [ids[:2], ids[:4], ids, ids[1:], ids[::2], ids[::-1][:3], ids]
        seen: set[str] = set()
        reused = 0
        evidence_reused = evidence_computed = 0
        for current in steps:
            _with_current(con, current)
            enc = HashEncoder()
            res = stages.stage_overlap(con, encoder=enc, config=cfg)
            assert res.extra["skipped"] is False
            marts = {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in OVERLAP_TABLES}
            docs, sents = _inputs(con)
            fresh = compute_overlap(docs, sents, config=cfg, encoder=HashEncoder())
            _same_tables(marts, fresh.tables())
            sem = res.extra["store"]["semantic"]
            reused += sem["reused"]["static_vectors"]
            evidence_reused += res.extra["store"]["evidence"]["reused"]["pairs"]
            evidence_computed += res.extra["store"]["evidence"]["computed"]["pairs"]
            stored = {r[0] for r in con.sql("SELECT text_key FROM cache.static_vectors").fetchall()}
            # a text is encoded once over all the steps
            assert sem["computed"]["static_vectors"] == len(stored - seen)
            seen = stored
        assert reused > 0
        # the document pairs' evidence too: pairs unchanged since an earlier step are read, not computed
        assert evidence_reused > 0 and evidence_computed > 0
        assert (
            con.sql(
                "SELECT count(*) - count(DISTINCT (evidence_key, pair_digest, sentence_id_a, sentence_id_b)) "
                "FROM cache.pair_evidence"
            ).fetchall()[0][0]
            == 0
        )
        dup = con.sql(
            "SELECT count(*) - count(DISTINCT (static_key, text_key)) FROM cache.static_vectors"
        ).fetchall()[0][0]
        assert dup == 0
    finally:
        con.close()


def test_evidence_reused_from_the_preliminary_matches_is_that_of_all_matches(sample_warehouse, monkeypatch):
    """The tables reuse the evidence the semantic tier computed for the document pairs whose matches it
    did not change; every match's relation and every pair's chain equal those computed on all the
    matches."""
    from pipeline.core.overlap import matches as M
    from pipeline.core.overlap import run as R

    docs, sents = _warehouse_inputs(sample_warehouse)
    seen = []

    def checked(matches, sents_, cfg_, sizes, known, stored=None):
        got, got_pairs = M.relations_reusing(matches, sents_, cfg_, sizes, known, stored)
        want, want_pairs = M.relations(matches, sents_, cfg_, sizes)
        assert got.equals(want, null_equal=True)
        key = ["doc_id_a", "doc_id_b"]
        assert got_pairs.sort(key).equals(want_pairs.sort(key), null_equal=True)
        n_pairs = matches.select("doc_id_a", "doc_id_b").unique().height
        seen.append((known is not None, 0 if known is None else known.changed.height, n_pairs))
        return got, got_pairs

    monkeypatch.setattr(R, "relations_reusing", checked)
    for cfg in (OverlapConfig(verifier=False), OverlapConfig(verifier=False, semantic_focus_min_weight=8.0)):
        compute_overlap(docs, sents, config=cfg, encoder=HashEncoder())
    compute_overlap(docs, sents, config=OverlapConfig(), encoder=None)
    assert [s[0] for s in seen] == [True, True, False]
    # evidence was both reused (pairs outside the focus) and computed (the focus pairs)
    assert all(0 < n_changed < n_pairs for _, n_changed, n_pairs in seen[:2])


def test_stored_evidence_gives_the_relations_of_a_fresh_computation(sample_warehouse):
    """The evidence of the document pairs stored by a run (``cache.pair_evidence``) is read, not
    computed, by a run whose pairs have the same digest, and the tables are those of a fresh
    computation; stored, partly stored or stored under another key."""
    docs, sents = _warehouse_inputs(sample_warehouse)
    cfg = OverlapConfig(verifier=False)
    fresh = compute_overlap(docs, sents, config=cfg, encoder=HashEncoder())
    first = OverlapStore.for_run(cfg, HashEncoder())
    _same_tables(
        compute_overlap(docs, sents, config=cfg, encoder=HashEncoder(), store=first).tables(), fresh.tables()
    )
    rows = first.new_rows()["pair_evidence"]
    computed = first.stats()["evidence"]["computed"]["pairs"]
    assert rows.height > 0 and computed > 0 and first.stats()["evidence"]["reused"]["pairs"] == 0
    # the stored rows hold the evidence the tables carry
    m = fresh.sentence_matches.join(rows, on=["sentence_id_a", "sentence_id_b"], suffix="_stored")
    assert m.height > 0
    for col in ("relation", "novel_ngrams", "stock_cover"):
        assert m.filter(pl.col(col).ne_missing(pl.col(f"{col}_stored"))).height == 0, col

    # everything stored: nothing computed, same tables
    again = OverlapStore.for_run(cfg, HashEncoder())
    again.evidence.rows = rows
    _same_tables(
        compute_overlap(docs, sents, config=cfg, encoder=HashEncoder(), store=again).tables(), fresh.tables()
    )
    assert again.stats()["evidence"] == {"reused": {"pairs": computed}, "computed": {"pairs": 0}}
    assert again.new_rows()["pair_evidence"].height == 0

    # half the pairs stored: the others computed, same tables
    half_digests = rows["pair_digest"].unique().sort().gather_every(2)
    half = OverlapStore.for_run(cfg, HashEncoder())
    half.evidence.rows = rows.join(pl.DataFrame({"pair_digest": half_digests}), on="pair_digest", how="semi")
    _same_tables(
        compute_overlap(docs, sents, config=cfg, encoder=HashEncoder(), store=half).tables(), fresh.tables()
    )
    assert half.stats()["evidence"]["reused"]["pairs"] == half_digests.len()
    assert half.stats()["evidence"]["computed"]["pairs"] == computed - half_digests.len()

    # rows stored under another key (other settings) are ignored
    cfg2 = OverlapConfig(verifier=False, semantic_window=cfg.semantic_window + 1)
    other = OverlapStore.for_run(cfg2, HashEncoder())
    assert other.evidence.key != first.evidence.key
    other.evidence.rows = rows
    compute_overlap(docs, sents, config=cfg2, encoder=HashEncoder(), store=other)
    assert other.stats()["evidence"]["reused"]["pairs"] == 0


def test_pair_digest_covers_the_rows_the_texts_and_the_document_sizes(tmp_path, sample_warehouse):
    """A document pair's digest changes with any of its match rows, a sentence's normalised text or a
    document's size, not with another pair's rows, and is the same in another process."""
    import subprocess
    import sys

    from pipeline.core.overlap.matches import pair_digests

    docs, sents = _warehouse_inputs(sample_warehouse)
    res = compute_overlap(docs, sents, config=OverlapConfig(verifier=False), encoder=None)
    matches = res.sentence_matches.drop("novel_ngrams", "stock_cover", "relation")
    pairs = matches.select("doc_id_a", "doc_id_b").unique().sort("doc_id_a", "doc_id_b")
    assert pairs.height >= 2
    sizes = sents.group_by("doc_id").agg(pl.len().cast(pl.Int64).alias("n_matchable"))
    key = ["doc_id_a", "doc_id_b"]
    base = pair_digests(matches, sents, sizes).sort(key)
    assert base.height == pairs.height and base["pair_digest"].n_unique() == pairs.height

    def changed(new: pl.DataFrame) -> set[tuple[str, str]]:
        j = base.join(new, on=key, suffix="_new")
        return {(a, b) for a, b, x, y in j.iter_rows() if x != y}

    # the pair with the most matches (a row of it can be left out)
    first = (
        matches.group_by("doc_id_a", "doc_id_b")
        .len()
        .sort("len", "doc_id_a", "doc_id_b", descending=[True, False, False])
        .row(0)[:2]
    )
    assert matches.filter((pl.col("doc_id_a") == first[0]) & (pl.col("doc_id_b") == first[1])).height >= 2
    in_first = (pl.col("doc_id_a") == first[0]) & (pl.col("doc_id_b") == first[1])
    # one row's score
    row = matches.filter(in_first).row(0, named=True)
    bumped = matches.with_columns(
        pl.when(pl.col("sentence_id_a") == row["sentence_id_a"])
        .then(pl.col("score") + 0.001)
        .otherwise(pl.col("score"))
        .alias("score")
    )
    assert changed(pair_digests(bumped, sents, sizes)) == {first}
    # one sentence's normalised text
    renormed = sents.with_columns(
        pl.when(pl.col("sentence_id") == row["sentence_id_b"])
        .then(pl.col("norm") + " x")
        .otherwise(pl.col("norm"))
        .alias("norm")
    )
    assert first in changed(pair_digests(matches, renormed, sizes))
    # one document's size: every pair of that document
    grown = sizes.with_columns(
        pl.when(pl.col("doc_id") == first[0]).then(pl.col("n_matchable") + 1).otherwise(pl.col("n_matchable"))
    )
    with_doc = {p for p in pairs.iter_rows() if first[0] in p}
    assert changed(pair_digests(matches, sents, grown)) == with_doc
    # a row left out
    assert first in changed(
        pair_digests(
            matches.filter(~in_first | (pl.col("sentence_id_a") != row["sentence_id_a"])), sents, sizes
        )
    )
    # the same digests in a fresh process (the store is read by later runs)
    code = (
        "import sys, polars as pl\n"
        "from pipeline.core.overlap.matches import pair_digests\n"
        "m, s, z = (pl.read_ipc(p) for p in sys.argv[1:4])\n"
        "print(pair_digests(m, s, z).sort('doc_id_a', 'doc_id_b')['pair_digest'].str.join('|').item())\n"
    )
    paths = [tmp_path / f"{n}.arrow" for n in ("m", "s", "z")]
    for frame, path in zip((matches, sents.select("sentence_id", "norm"), sizes), paths, strict=True):
        frame.write_ipc(path)
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "|".join(base["pair_digest"].to_list())
