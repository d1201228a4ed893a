"""Analysts never block runs: the published file is swapped in atomically under open readers."""

import subprocess
import sys
import textwrap

import duckdb
import pytest

from pipeline.core import warehouse
from pipeline.core.run import run_pipeline
from pipeline.core.stages import stage_ingest, stage_publish

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
