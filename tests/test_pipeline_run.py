"""The whole pipeline in-process: the command line, determinism, bad input mixed with good."""

import json
import re
import shutil
import subprocess
import sys

import dagster as dg
import duckdb
import pytest

from pipeline.cli import main as cli_main
from pipeline.config import reload_settings
from pipeline.core import warehouse
from pipeline.core.run import run_pipeline
from pipeline.core.stages import stage_clean, stage_ingest, stage_segment
from tests.conftest import make_run


def snapshot(db) -> dict[str, list]:
    """Every table of a published database, except the run log (one new row per run, by design)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for schema, table in con.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT (schema_name = 'meta' AND "
            "table_name = 'runs') ORDER BY 1, 2"
        ).fetchall():
            out[f"{schema}.{table}"] = con.sql(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


def test_cli_run_and_help(tmp_path, sample_landing, capsys):
    assert (
        cli_main(
            [
                "run",
                "--input",
                str(sample_landing),
                "--warehouse",
                str(tmp_path / "wh"),
                "--no-semantic",
                "--progress",
                "off",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for stage in ("ingest", "clean", "segment", "overlap", "publish", "reports"):
        assert re.search(rf"^ *{stage} +[0-9.]+s +success$", out, flags=re.M), (stage, out)
    assert "checks  3/3 passed" in out and "raw/documents: new_documents=5" in out
    assert (tmp_path / "wh" / "wiretrace.duckdb").is_file()
    # without DAGSTER_HOME the run is kept in the warehouse's own Dagster instance
    instance = dg.DagsterInstance.from_config(str(tmp_path / "wh" / "dagster_home"))
    try:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "process_batch"
        assert run.tags["dagster/partition"] == "manual" and run_id_line(out) == run.run_id
    finally:
        instance.dispose()
    help_text = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("run", "clean", "sentences", "compare", "report"):
        assert command in help_text
    missing = cli_main(["run", "--input", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "wh2")])
    assert missing == 2


def test_cli_run_reports_a_failed_step(tmp_path, sample_landing, capsys, monkeypatch):
    import pipeline.defs.segment.assets as segment_assets

    def broken(con, progress):
        raise dg.Failure("the segmenter broke", allow_retries=False)

    monkeypatch.setattr(segment_assets, "stage_segment", broken)
    argv = ["run", "--input", str(sample_landing), "--warehouse", str(tmp_path / "wh"), "--progress", "off"]
    assert cli_main(argv) == 1
    out = capsys.readouterr().out
    assert re.search(r"^ +error  step staging__sentences failed: .*the segmenter broke$", out, flags=re.M), (
        out
    )
    assert re.search(r"^ *clean +[0-9.]+s +success$", out, flags=re.M)
    assert re.search(r"^ *segment +[0-9.]+s +failure$", out, flags=re.M)
    for stage in ("overlap", "publish", "reports"):
        assert re.search(rf"^ *{stage} +skipped$", out, flags=re.M), stage
    assert "note:" not in out and "analysts' database" not in out
    assert re.search(r"^run [0-9a-f-]{36} FAILED", out, flags=re.M)
    # the failed run is in the instance too, where the UI shows it
    instance = dg.DagsterInstance.from_config(str(tmp_path / "wh" / "dagster_home"))
    try:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.FAILURE]
    finally:
        instance.dispose()


def test_a_run_killed_mid_step_does_not_block_the_next(tmp_path, sample_landing, capsys):
    import socket

    from pipeline.definitions import defs
    from pipeline.defs.local import COMMAND_TAG, HOST_TAG, PID_TAG, open_instance

    # what `kill -9` leaves behind: a started run holding the DuckDB pool slot, its process gone
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    instance = open_instance(tmp_path / "wh")
    try:
        dead = instance.create_run_for_job(
            defs.resolve_job_def("process_batch"),
            status=dg.DagsterRunStatus.STARTED,
            tags={COMMAND_TAG: "wiretrace run", PID_TAG: str(gone.pid), HOST_TAG: socket.gethostname()},
        )
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("duckdb")
        assert storage.claim_concurrency_slot("duckdb", dead.run_id, "overlap").is_claimed
    finally:
        instance.dispose()
    argv = ["run", "--input", str(sample_landing), "--warehouse", str(tmp_path / "wh"), "--progress", "off"]
    assert cli_main(argv) == 0  # it would wait for the slot forever (the test's timeout) without the cleanup
    assert (
        f"run {dead.run_id} was left unfinished by a process that no longer exists" in capsys.readouterr().err
    )
    instance = dg.DagsterInstance.from_config(str(tmp_path / "wh" / "dagster_home"))
    try:
        statuses = {r.run_id: r.status for r in instance.get_runs()}
        assert statuses.pop(dead.run_id) == dg.DagsterRunStatus.FAILURE
        assert list(statuses.values()) == [dg.DagsterRunStatus.SUCCESS]
    finally:
        instance.dispose()


def test_cli_run_refuses_a_warehouse_that_is_a_file(tmp_path, sample_landing, capsys):
    (tmp_path / "file").write_text("not a folder")
    argv = ["run", "--input", str(sample_landing), "--warehouse", str(tmp_path / "file"), "--progress", "off"]
    assert cli_main(argv) == 2
    assert "is not a folder" in capsys.readouterr().err


def run_id_line(out: str) -> str:
    return re.search(r"^run ([0-9a-f-]{36}) succeeded", out, flags=re.M).group(1)


@pytest.mark.slow
def test_make_run_records_one_successful_run_of_every_asset(tmp_path):
    """`make run` is a run of the Dagster job in the project's instance: the UI shows it."""
    from pipeline.definitions import defs

    proc, home = make_run(tmp_path / "project")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # output piped: progress as log lines on stderr, and nothing else there (no warnings)
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("wiretrace: ") for line in lines), proc.stderr
    assert "wiretrace: segment: 5/5 documents in" in proc.stderr
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        [run] = instance.get_runs()
        assert run.run_id == run_id_line(proc.stdout)
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "process_batch"
        records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        materialised = {r.event_log_entry.dagster_event.asset_key for r in records.records}
        assert materialised == set(defs.resolve_asset_graph().get_all_asset_keys())
        checks = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        results = {
            r.event_log_entry.dagster_event.event_specific_data.check_name: r.event_log_entry.dagster_event.event_specific_data.passed
            for r in checks.records
        }
        assert results == {
            "documents_complete": True,
            "files_accounted_for": True,
            "errors_well_formed": True,
        }
        # progress in the run's log, as a person reads it
        messages = [e.user_message for e in instance.all_logs(run.run_id)]
        assert any(
            re.fullmatch(r"segment: 5/5 documents in [0-9.]+s(, [0-9,.]+ documents/s)?", m) for m in messages
        )
        assert any(re.match(r"grade_near: \d+/\d+ pairs in ", m) for m in messages), messages
        # the stage metadata the UI shows
        docs = instance.get_latest_materialization_event(dg.AssetKey(["raw", "documents"]))
        assert docs.run_id == run.run_id and docs.asset_materialization.metadata["new_documents"].value == 5
    finally:
        instance.dispose()
    # the analysts' database and the reports are where the README says
    assert (tmp_path / "project" / "warehouse" / "wiretrace.duckdb").is_file()
    assert list((tmp_path / "project" / "warehouse" / "reports").glob("*.html"))


def test_same_input_same_tables(tmp_path, sample_landing):
    run_pipeline(sample_landing, tmp_path / "a", encoder=None)
    run_pipeline(sample_landing, tmp_path / "b", encoder=None)
    a, b = snapshot(tmp_path / "a" / "wiretrace.duckdb"), snapshot(tmp_path / "b" / "wiretrace.duckdb")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name
    # rerunning on the same input adds no rows anywhere, and publishes nothing: readers keep their file
    before = (tmp_path / "a" / "wiretrace.duckdb").stat()
    run_pipeline(sample_landing, tmp_path / "a", encoder=None)
    assert snapshot(tmp_path / "a" / "wiretrace.duckdb") == a
    after = (tmp_path / "a" / "wiretrace.duckdb").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    sql = "SELECT count(DISTINCT run_id), count(*) FILTER (WHERE status = 'ok') FROM meta.runs"
    for db, logged in (("work.duckdb", 2), ("wiretrace.duckdb", 1)):
        con = duckdb.connect(str(tmp_path / "a" / db), read_only=True)
        runs = con.sql(sql).fetchall()
        con.close()
        # each run is logged; the published copy carries the run that changed something
        assert runs == [(logged, logged)], db


def test_bad_files_do_not_stop_the_run(tmp_path, sample_landing):
    (sample_landing / "broken.jsonl").write_text(
        '{"id": 1, "text": "ok record about Kabul and Panjshir."}\n{oops\n'
    )
    (sample_landing / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (sample_landing / "empty.html").write_bytes(b"")
    (sample_landing / "boiler.txt").write_text(
        "Advertisement\n\nShare this article\n\nAll rights reserved.\n"
    )
    results = run_pipeline(sample_landing, tmp_path / "wh", encoder=None)
    assert [r.stage for r in results][-1] == "publish"
    con = duckdb.connect(str(tmp_path / "wh" / "wiretrace.duckdb"), read_only=True)
    errors = con.sql("SELECT path, record, reason FROM raw.ingest_errors ORDER BY ALL").fetchall()
    assert errors == [
        ("broken.jsonl", "line 2", "malformed_json"),
        ("empty.html", None, "empty"),
        ("photo.txt", None, "binary"),
    ]
    assert con.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0] == 7
    status = dict(
        con.sql(
            "SELECT d.path, c.status FROM raw.documents d JOIN staging.clean_documents c USING (doc_id)"
        ).fetchall()
    )
    assert status["boiler.txt"] == "empty"  # all boilerplate: an empty clean text with a reason, not a crash
    con.close()


@pytest.mark.slow
def test_process_pool_gives_the_same_rows(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    records = [
        {
            "id": str(i),
            "source": f"outlet{i % 7}",
            "text": f"Story {i} begins here.\n\nThe council voted {i} times on the budget, officials said. "
            f'"We will not stop," the mayor said on day {i % 30}.\n\nAdvertisement\n\nRead more: other news',
        }
        for i in range(450)
    ]
    (landing / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    tables = {}
    for n in ("1", "2"):
        monkeypatch.setenv("WIRETRACE_WORKERS", n)
        reload_settings()
        con = warehouse.connect(tmp_path / f"w{n}.duckdb")
        stage_ingest(con, landing)
        stage_clean(con)
        stage_segment(con)
        tables[n] = {
            t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("staging.clean_documents", "staging.removed_spans", "staging.sentences")
        }
        con.close()
    assert tables["1"]["staging.sentences"] and tables["1"] == tables["2"]
    shutil.rmtree(landing)


def test_audit_trail_holds_removed_content_only(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse / "wiretrace.duckdb"), read_only=True)
    try:
        blank = con.sql(
            "SELECT count(*) FROM staging.removed_spans WHERE trim(text, ' \t\r\n') = '' OR text <> trim(text)"
        ).fetchall()[0][0]
        reasons = {r[0] for r in con.sql("SELECT DISTINCT reason FROM staging.removed_spans").fetchall()}
        # n_removed and removed_chars count exactly the audit trail's spans and characters
        mismatched = con.sql(
            """SELECT c.doc_id FROM staging.clean_documents c LEFT JOIN (
                   SELECT doc_id, count(*) AS n, sum(end_offset - start_offset) AS chars
                   FROM staging.removed_spans GROUP BY doc_id) r USING (doc_id)
               WHERE c.n_removed <> coalesce(r.n, 0) OR c.removed_chars <> coalesce(r.chars, 0)"""
        ).fetchall()
        spans = con.sql("SELECT count(*) FROM staging.removed_spans").fetchall()[0][0]
    finally:
        con.close()
    assert blank == 0 and "whitespace" not in reasons and mismatched == []
    # the five sample pages lose captions, credits, titles, widgets and footers: a few dozen spans, not
    # the line breaks between paragraphs
    assert 20 <= spans <= 60, spans
