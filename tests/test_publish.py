"""Analysts never block runs: the published file is swapped in atomically under open readers."""

import os
import shutil
import subprocess
import sys
import textwrap

import duckdb
import pytest

from pipeline.core import tables, warehouse
from pipeline.core.run import run_pipeline
from pipeline.core.stages import forget, stage_ingest, stage_overlap, stage_publish

READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def snap():
        return (con.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0],
                con.sql("SELECT count(*) FROM staging.sentences").fetchall()[0][0],
                con.sql("SELECT string_agg(doc_id, ',' ORDER BY doc_id) FROM raw.documents").fetchall()[0][0])
    print("before", *snap(), flush=True)
    sys.stdin.readline()          # hold the connection open until the run is over
    print("after", *snap(), flush=True)
    """
)


def test_publish_replaces_file_and_documents_tables(tmp_path, sample_landing):
    con = warehouse.connect(tmp_path / "work.duckdb")
    stage_ingest(con, sample_landing)
    res = stage_publish(con, tmp_path / "wiretrace.duckdb")
    assert res.counts["raw.documents"] == 5
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    pub = duckdb.connect(str(tmp_path / "wiretrace.duckdb"), read_only=True)
    comments = dict(
        pub.sql("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name='raw'").fetchall()
    )
    assert "traceable" in comments["raw_files"]
    col = pub.sql(
        "SELECT comment FROM duckdb_columns() WHERE table_name='documents' AND column_name='doc_id'"
    )
    assert "sha256" in col.fetchall()[0][0]


@pytest.mark.slow
def test_open_reader_never_blocks_a_run_and_keeps_its_snapshot(tmp_path, sample_landing):
    wh = tmp_path / "wh"
    first = sorted(sample_landing.glob("00[0-2]*.txt"))
    run_pipeline(sample_landing, wh, files=first, encoder=None)
    analyst = wh / "wiretrace.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(analyst)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        before = reader.stdout.readline().split()
        assert before[0] == "before" and before[1] == "3"
        # a full run while the reader holds the analysts' file open
        results = run_pipeline(sample_landing, wh, encoder=None)
        assert [r.stage for r in results] == ["ingest", "clean", "segment", "overlap", "publish"]
        reader.stdin.write("\n")
        reader.stdin.flush()
        after = reader.stdout.readline().split()
        assert after == ["after", *before[1:]]  # the open reader still sees its consistent snapshot
    finally:
        reader.kill()
        reader.wait()
    fresh = duckdb.connect(str(analyst), read_only=True)
    assert fresh.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0] == 5
    fresh.close()


def _published_state(path) -> dict:
    """Every published table's columns and rows (sorted), the tables' and columns' comments and the views."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for schema, table in con.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2"
        ).fetchall():
            cols = con.execute(
                "SELECT column_name, data_type, comment FROM duckdb_columns() "
                "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
                [schema, table],
            ).fetchall()
            rows = con.sql(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            out[f"{schema}.{table}"] = (cols, sorted(map(repr, rows)))
        out["comments"] = con.sql(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() ORDER BY 1, 2"
        ).fetchall()
        out["views"] = con.sql(
            "SELECT schema_name, view_name, sql, comment FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2"
        ).fetchall()
        return out
    finally:
        con.close()


def test_an_update_writes_only_changes_and_equals_a_whole_publish(tmp_path, sample_landing):
    """After the first publish, each publish copies the published file and writes only the changed rows of
    the changed tables; the result equals a file written whole from the same working database, through
    added documents and forgotten ones."""
    wh = tmp_path / "wh"
    files = sorted(sample_landing.glob("*.txt"))
    first = run_pipeline(sample_landing, wh, files=files[:3], encoder=None)
    assert first[-1].extra["whole_file"] is True

    def check_against_whole(res):
        assert res.extra["skipped"] is False and res.extra["whole_file"] is False
        assert res.extra["rows_written"] > 0
        # a whole file from a copy of the working database (its publish state stays as it is)
        for suffix in ("", ".wal"):
            src = wh / f"work.duckdb{suffix}"
            dst = tmp_path / f"copy.duckdb{suffix}"
            dst.unlink(missing_ok=True)
            if src.exists():
                shutil.copyfile(src, dst)
        con = warehouse.connect(tmp_path / "copy.duckdb")
        try:
            whole = stage_publish(con, tmp_path / "whole.duckdb", whole=True)
        finally:
            con.close()
        assert whole.extra["whole_file"] is True
        # the run log and the stage state are rewritten on every publish: compare the analysts' tables
        a, b = _published_state(wh / "wiretrace.duckdb"), _published_state(tmp_path / "whole.duckdb")
        for name in ("meta.stage_state",):
            a.pop(name), b.pop(name)
        assert a.keys() == b.keys()
        for name in a:
            assert a[name] == b[name], name
        _rows_state_describes_the_published_file(wh)

    second = run_pipeline(sample_landing, wh, encoder=None)
    publish = second[-1]
    # the raw files of the first batch are untouched: a table of them is not rewritten whole
    assert "raw.documents" in publish.extra["tables_written"]
    check_against_whole(publish)

    con = warehouse.connect(wh / "work.duckdb")
    try:
        assert forget(con, [files[0].name])[files[0].name] == 1
        stage_overlap(con, encoder=None)
        check_against_whole(stage_publish(con, wh / "wiretrace.duckdb"))
        # nothing changed since: nothing is written
        assert stage_publish(con, wh / "wiretrace.duckdb").extra["skipped"] is True
    finally:
        con.close()


def _rows_state_describes_the_published_file(wh) -> None:
    """The row hashes the publish keeps in the working database (read by the next publish instead of
    hashing the published file again) are those of the published file's rows, key by key."""
    con = warehouse.connect(wh / "work.duckdb")
    try:
        con.execute(f"ATTACH '{wh / 'wiretrace.duckdb'}' AS pub (READ_ONLY)")
        states = con.sql(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
            "AND table_name <> '_file'",  # the published file they describe
            params=[warehouse.PUBLISHED_ROWS_SCHEMA],
        ).fetchall()
        assert {t for (t,) in states} >= {"raw__documents", "staging__sentences"}
        for (name,) in states:
            schema, table = name.split("__", 1)
            key = ", ".join(f'"{c}"' for c in tables.TABLES[f"{schema}.{table}"].key)
            stored = con.sql(
                f'SELECT {key}, _h FROM {warehouse.PUBLISHED_ROWS_SCHEMA}."{name}" ORDER BY ALL'
            ).fetchall()
            published = con.sql(
                f'SELECT {key}, hash(t) FROM pub."{schema}"."{table}" t ORDER BY ALL'
            ).fetchall()
            assert stored == published, name
        con.execute("DETACH pub")
    finally:
        con.close()


def test_a_published_file_changed_by_hand_is_written_whole(tmp_path, sample_landing):
    wh = tmp_path / "wh"
    files = sorted(sample_landing.glob("*.txt"))
    run_pipeline(sample_landing, wh, files=files[:2], encoder=None)
    pub = duckdb.connect(str(wh / "wiretrace.duckdb"))
    pub.execute("DELETE FROM raw.documents")  # an analyst writing to the published file
    pub.close()
    res = run_pipeline(sample_landing, wh, encoder=None)[-1]
    assert res.extra["whole_file"] is True
    # a file written whole: no row hashes of an earlier file are kept
    con = warehouse.connect(wh / "work.duckdb", read_only=True)
    assert not con.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name <> '_file'",
        params=[warehouse.PUBLISHED_ROWS_SCHEMA],
    ).fetchall()[0][0]
    con.close()
    check = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    assert check.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0] == 5
    check.close()


def _rows_state_tables(con) -> set[str]:
    return {
        t
        for (t,) in con.sql(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ?",
            params=[warehouse.PUBLISHED_ROWS_SCHEMA],
        ).fetchall()
    }


def test_stored_row_hashes_are_dropped_when_a_publish_fails_or_the_file_is_not_theirs(
    tmp_path, sample_landing
):
    """The row hashes kept for the next publish describe the file that was swapped in: a publish that
    fails before the swap drops them, and a published file replaced since (a backup restored) is not
    compared with them."""
    wh = tmp_path / "wh"
    run_pipeline(sample_landing, wh, encoder=None)
    pub = wh / "wiretrace.duckdb"
    con = warehouse.connect(wh / "work.duckdb")
    try:
        warehouse.publish(con, pub, changed=["raw.documents"])
        assert "raw__documents" in _rows_state_tables(con)
        assert warehouse._stored_hashes_valid(con, pub)

        def boom(new_con):
            raise RuntimeError("finalize failed")

        with pytest.raises(RuntimeError, match="finalize failed"):
            warehouse.publish(con, pub, finalize=boom, changed=["raw.documents"])
        assert not _rows_state_tables(con)
        # the next publish hashes the published file again and stores what it wrote
        warehouse.publish(con, pub, changed=["raw.documents"])
        assert "raw__documents" in _rows_state_tables(con)
        # a file put in place by other means (same content, another modification time) is not theirs
        os.utime(pub, ns=(1_000_000_000, 1_000_000_000))
        assert not warehouse._stored_hashes_valid(con, pub)
    finally:
        con.close()
