"""The run log meta.runs: a row per run, successful or not."""

import json

import duckdb
import pytest

from pipeline.core import run as run_module
from pipeline.core.run import run_pipeline


def test_successful_run_is_logged_in_the_published_database(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse / "wiretrace.duckdb"), read_only=True)
    [row] = con.sql("SELECT * FROM meta.runs").pl().to_dicts()
    con.close()
    assert row["status"] == "ok" and row["batch_id"] == "manual" and row["started_at"] <= row["ended_at"]
    counts = json.loads(row["counts"])
    assert counts["ingest"]["documents_new"] == 5 and counts["segment"]["sentences"] > 50
    assert set(counts) == {"ingest", "clean", "segment", "overlap"}
    tiers = json.loads(row["tiers"])
    assert tiers["exact"] == "ran" and tiers["semantic"].startswith("not run:")
    assert json.loads(row["config"])["ingest"]["symlinks"] == "inside"


def test_failed_run_is_logged_with_what_did_not_run(tmp_path, sample_landing, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run_module, "stage_segment", broken)
    with pytest.raises(RuntimeError):
        run_pipeline(sample_landing, tmp_path / "wh", encoder=None)
    con = duckdb.connect(str(tmp_path / "wh" / "work.duckdb"), read_only=True)
    [row] = con.sql("SELECT status, errors, tiers, counts FROM meta.runs").fetchall()
    con.close()
    status, errors, tiers, counts = row[0], json.loads(row[1]), json.loads(row[2]), json.loads(row[3])
    assert status == "failed"
    assert "segment failed: RuntimeError: disk on fire" in errors
    assert "overlap not run: the segment stage failed" in errors
    assert tiers["exact"] == "not run: the segment stage failed"
    assert set(counts) == {"ingest", "clean"}
