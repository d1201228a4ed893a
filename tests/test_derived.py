"""The tables built from the matches are recomputed only for the components a batch touches: the rows of
the other components are read from the stored marts, and every step gives the tables of a computation
from scratch."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from pipeline.core import stages, warehouse
from pipeline.core.overlap import OverlapConfig, compute_overlap
from pipeline.core.overlap.derived import (
    STATE_SCHEMA,
    DerivedState,
    affected_scope,
    doc_digests,
    naming_documents,
    pair_digests,
)
from pipeline.core.tables import OVERLAP_TABLES
from tests.test_overlap_store import _CROSSING, _assert_same_tables, _with_current


@pytest.mark.parametrize("cfg", [OverlapConfig(), _CROSSING], ids=["defaults", "thresholds-crossed"])
def test_kept_components_give_the_tables_of_a_full_run_after_any_sequence(tmp_path, sample_warehouse, cfg):
    shutil.copytree(sample_warehouse, tmp_path / "wh")
    con = warehouse.connect(tmp_path / "wh" / warehouse.WORK_DB_NAME)
    try:
        ids = [r[0] for r in con.sql("SELECT doc_id FROM raw.documents ORDER BY doc_id").fetchall()]
        steps = [ids[:2], ids[:4], ids, ids[1:], ids[::2], ids[::-1][:3], ids, ids[:4], ids]
        kept = 0
        for i, current in enumerate(steps):
            _with_current(con, current)
            res = stages.stage_overlap(con, encoder=None, config=cfg)
            derived = res.extra["derived"]
            if i:  # each later step starts from the state the previous one stored
                assert derived["recomputed"] + derived["kept"] == len(current)
                kept += derived["kept"]
            marts = {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in OVERLAP_TABLES}
            docs, sents = con.sql(stages.DOCUMENTS_SQL).pl(), con.sql(stages.SENTENCES_SQL).pl()
            _assert_same_tables(marts, compute_overlap(docs, sents, config=cfg, encoder=None).tables())
        if cfg is _CROSSING:  # the sample's documents then fall into several components
            assert kept > 0  # some steps really read stored rows
    finally:
        con.close()


def test_a_run_without_a_store_drops_the_stored_state(tmp_path, sample_warehouse):
    """Marts written without the store (``reuse=False``) are not described by the stored digests: the
    next run recomputes every component."""
    shutil.copytree(sample_warehouse, tmp_path / "wh")
    con = warehouse.connect(tmp_path / "wh" / warehouse.WORK_DB_NAME)
    try:
        ids = [r[0] for r in con.sql("SELECT doc_id FROM raw.documents ORDER BY doc_id").fetchall()]
        _with_current(con, ids[:4])
        stages.stage_overlap(con, encoder=None)
        assert con.sql(f"SELECT count(*) FROM {STATE_SCHEMA}.doc_digests").fetchall()[0][0] == 4
        _with_current(con, ids)
        stages.stage_overlap(con, encoder=None, reuse=False)
        assert STATE_SCHEMA not in {
            r[0] for r in con.sql("SELECT schema_name FROM duckdb_schemas()").fetchall()
        }
        res = stages.stage_overlap(con, encoder=None, config=OverlapConfig(min_tokens=6))
        assert res.extra["derived"]["recomputed"] == "all"
    finally:
        con.close()


def test_credit_lines_naming_an_outlet_are_found():
    sents = pl.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d", "e"],
            "text": [
                "Reporting by Acme Wire; editing by someone.",
                "WASHINGTON (Acme Wire) - The senate voted.",
                "Acme Wire said the vote was close.",  # no credit cue, no brackets
                "Reporting by Other Daily.",
                "Reporting by Acme Wire.",  # not among the documents asked about
            ],
        }
    )
    got = naming_documents(["Acme Wire"], sents, pl.Series(["a", "b", "c", "d"]))
    assert got.to_list() == ["a", "b"]


def _frames():
    docs = pl.DataFrame({"doc_id": ["a", "b", "c", "d"], "source": ["S1", "S2", "S3", "S4"]})
    sents = pl.DataFrame(
        {
            "sentence_id": ["a:0", "b:0", "c:0", "d:0"],
            "doc_id": ["a", "b", "c", "d"],
            "text": ["x", "y", "z", "w"],
        }
    )
    flags = sents.select(
        "sentence_id", "doc_id", pl.lit(False).alias("is_quote"), pl.lit(True).alias("matchable")
    )
    matches = pl.DataFrame(
        {"doc_id_a": ["a", "c"], "doc_id_b": ["b", "d"], "sentence_id_a": ["a:0", "c:0"], "score": [1.0, 0.9]}
    )
    return docs, sents, flags, matches


def test_only_the_components_holding_a_changed_document_or_pair_are_recomputed():
    docs, sents, flags, matches = _frames()
    cfg = OverlapConfig()
    state = DerivedState(code="c", load=lambda *a: pl.DataFrame())
    affected_scope(state, cfg, docs, sents, flags, matches, matches)  # no stored state: everything
    assert state.stats["recomputed"] == "all"
    stored = DerivedState(
        key=state.new_key,
        docs=doc_digests(docs, sents, flags),
        pairs=pair_digests(matches),
        outlets=state.new_outlets,
        code="c",
        load=lambda *a: pl.DataFrame(),
    )
    # a changed match in the pair (c, d): its component only
    changed = matches.with_columns(
        pl.when(pl.col("doc_id_a") == "c").then(0.5).otherwise(pl.col("score")).alias("score")
    )
    assert sorted(affected_scope(stored, cfg, docs, sents, flags, changed, changed).to_list()) == ["c", "d"]
    # a changed sentence of b: the component of a and b
    sents_b = sents.with_columns(
        pl.when(pl.col("doc_id") == "b").then(pl.lit("v")).otherwise(pl.col("text")).alias("text")
    )
    assert sorted(affected_scope(stored, cfg, docs, sents_b, flags, matches, matches).to_list()) == ["a", "b"]
    # a document gone: its own rows and those of its former component
    docs_3 = docs.filter(pl.col("doc_id") != "d")
    m3 = matches.filter(pl.col("doc_id_b") != "d")
    scope = affected_scope(
        stored,
        cfg,
        docs_3,
        sents.filter(pl.col("doc_id") != "d"),
        flags.filter(pl.col("doc_id") != "d"),
        m3,
        m3,
    )
    assert sorted(scope.to_list()) == ["c", "d"]
    # nothing changed: nothing recomputed
    assert affected_scope(stored, cfg, docs, sents, flags, matches, matches).len() == 0
    # another setting: everything
    assert affected_scope(stored, OverlapConfig(min_tokens=6), docs, sents, flags, matches, matches) is None


def test_a_run_that_changes_nothing_keeps_every_row(tmp_path, sample_warehouse):
    """The stage run again on the same inputs (its skip defeated): nothing is recomputed, every row is
    read back, and the marts are those of a computation from scratch."""
    shutil.copytree(sample_warehouse, tmp_path / "wh")
    con = warehouse.connect(tmp_path / "wh" / warehouse.WORK_DB_NAME)
    try:
        stages.stage_overlap(con, encoder=None, config=_CROSSING)
        stages._save_state(con, "overlap", None)
        res = stages.stage_overlap(con, encoder=None, config=_CROSSING)
        n_docs = con.sql("SELECT count(*) FROM marts.document_originality").fetchall()[0][0]
        assert res.extra["derived"]["recomputed"] == 0 and res.extra["derived"]["kept"] == n_docs
        marts = {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in OVERLAP_TABLES}
        docs, sents = con.sql(stages.DOCUMENTS_SQL).pl(), con.sql(stages.SENTENCES_SQL).pl()
        _assert_same_tables(marts, compute_overlap(docs, sents, config=_CROSSING, encoder=None).tables())
    finally:
        con.close()
