"""The whole pipeline in-process: the command line, determinism, bad input mixed with good."""

import json
import shutil
import subprocess
import sys

import duckdb
import pytest

from pipeline.cli import main as cli_main
from pipeline.core import warehouse
from pipeline.core.run import run_pipeline
from pipeline.core.stages import stage_clean, stage_ingest, stage_segment


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
    for stage in ("ingest", "clean", "segment", "overlap", "publish"):
        assert stage in out
    assert (tmp_path / "wh" / "wiretrace.duckdb").is_file()
    help_text = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("run", "clean", "sentences", "compare", "report"):
        assert command in help_text
    missing = cli_main(["run", "--input", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "wh2")])
    assert missing == 2


def test_same_input_same_tables(tmp_path, sample_landing):
    run_pipeline(sample_landing, tmp_path / "a", encoder=None)
    run_pipeline(sample_landing, tmp_path / "b", encoder=None)
    a, b = snapshot(tmp_path / "a" / "wiretrace.duckdb"), snapshot(tmp_path / "b" / "wiretrace.duckdb")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name
    # rerunning on the same input adds no rows anywhere
    run_pipeline(sample_landing, tmp_path / "a", encoder=None)
    assert snapshot(tmp_path / "a" / "wiretrace.duckdb") == a
    con = duckdb.connect(str(tmp_path / "a" / "wiretrace.duckdb"), read_only=True)
    runs = con.sql(
        "SELECT count(DISTINCT run_id), count(*) FILTER (WHERE status = 'ok') FROM meta.runs"
    ).fetchall()
    con.close()
    assert runs == [(2, 2)]  # each run is logged


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
