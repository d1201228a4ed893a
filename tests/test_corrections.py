"""Corrections: changed metadata updates a document in place, changed bytes supersede it, touching a
file changes nothing, and forgotten files leave every mart for good."""

import json
import os
import shutil

import duckdb
import pytest

from pipeline.cli import main as cli_main
from pipeline.core import warehouse
from pipeline.core.run import run_pipeline
from pipeline.core.stages import stage_ingest
from tests.conftest import SAMPLE

ARTICLE = (
    "Kabul (AFP) - The Taliban said on Sunday that hundreds of their fighters were heading to the Panjshir "
    "valley, the last holdout of armed opposition in Afghanistan.\n\nThe group said the fighters would take "
    "the valley after local officials refused to hand it over peacefully, a spokesman told reporters.\n"
)
EDITED = ARTICLE.replace("hundreds of their fighters", "thousands of fighters")


def docs(con):
    return con.sql(
        "SELECT doc_id, path, record, source, status, superseded_by FROM raw.documents ORDER BY path, record, doc_id"
    ).fetchall()


def changes(con):
    return [
        r[0] for r in con.sql("SELECT change FROM raw.corrections ORDER BY recorded_at, change").fetchall()
    ]


@pytest.fixture
def con(tmp_path):
    c = warehouse.connect(tmp_path / "work.duckdb")
    yield c
    c.close()


def test_sidecar_added_later_updates_the_document_in_place(tmp_path, con):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.txt").write_text(ARTICLE)
    stage_ingest(con, landing)
    [(doc_id, _, _, source, status, _)] = docs(con)
    assert (source, status) == ("unknown", "current")
    (landing / "a.txt.meta.json").write_text(json.dumps({"source": "AFP", "title": "Panjshir"}))
    res = stage_ingest(con, landing)
    assert res.counts["documents_new"] == 0 and res.counts["corrections"] == 1
    assert docs(con) == [(doc_id, "a.txt", None, "AFP", "current", None)]  # same document, new metadata
    detail = json.loads(con.sql("SELECT detail FROM raw.corrections").fetchall()[0][0])
    assert detail["source"] == ["unknown", "AFP"] and detail["title"] == [None, "Panjshir"]
    # the same correction seen again records nothing new
    assert stage_ingest(con, landing).counts["corrections"] == 0


def test_touching_a_file_adds_nothing(tmp_path, con):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.txt").write_text(ARTICLE)
    stage_ingest(con, landing)
    before = warehouse.table_counts(con)
    os.utime(landing / "a.txt", ns=(10**18, 10**18))
    res = stage_ingest(con, landing, [landing / "a.txt"], batch_id="touched")
    assert res.counts["documents_new"] == 0 and res.counts["corrections"] == 0
    assert warehouse.table_counts(con) == before


def test_changed_bytes_supersede_and_changing_back_restores(tmp_path, con):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.txt").write_text(ARTICLE)
    stage_ingest(con, landing)
    [(old, *_)] = docs(con)
    (landing / "a.txt").write_text(EDITED)
    stage_ingest(con, landing)
    rows = {r[0]: r for r in docs(con)}
    [new] = [d for d in rows if d != old]
    assert rows[old][4:] == ("superseded", new)  # kept in raw, marked, pointing at its successor
    assert rows[new][4] == "current"
    (landing / "a.txt").write_text(ARTICLE)
    stage_ingest(con, landing)
    rows = {r[0]: r for r in docs(con)}
    assert (rows[old][4], rows[new][4]) == ("current", "superseded")
    assert sorted(changes(con)) == ["restored", "superseded", "superseded"]


def test_a_changed_corpus_line_supersedes_only_that_record(tmp_path, con):
    landing = tmp_path / "landing"
    landing.mkdir()
    lines = [json.dumps({"id": f"r{i}", "source": "AP", "text": f"{ARTICLE} Item {i}."}) for i in range(3)]
    (landing / "c.jsonl").write_text("\n".join(lines) + "\n")
    stage_ingest(con, landing)
    lines[1] = json.dumps({"id": "r1", "source": "AP", "text": EDITED})
    (landing / "c.jsonl").write_text("\n".join(lines) + "\n")
    stage_ingest(con, landing)
    status = [(r[2], r[4]) for r in docs(con)]
    assert sorted(status) == sorted(
        [("line 1", "current"), ("line 2", "superseded"), ("line 2", "current"), ("line 3", "current")]
    )


def _published(wh, sql, params=None):
    pub = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    try:
        return pub.execute(sql, params or []).fetchall()
    finally:
        pub.close()


MART_DOC_IDS = """
SELECT doc_id FROM marts.documents UNION SELECT doc_id FROM marts.document_originality
UNION SELECT doc_id FROM marts.stories UNION SELECT doc_id_a FROM marts.document_pairs
UNION SELECT doc_id_b FROM marts.document_pairs UNION SELECT doc_id FROM marts.sentence_clusters
"""


def test_corrected_file_is_not_a_copy_of_itself_in_the_marts(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    wh = tmp_path / "wh"
    run_pipeline(landing, wh, encoder=None)
    target = sorted(SAMPLE.glob("*.txt"))[0].name
    text = (landing / target).read_text()
    (landing / target).write_text(text.replace("Taliban", "Taleban", 1))  # a corrected copy
    run_pipeline(landing, wh, encoder=None)
    superseded = _published(wh, "SELECT doc_id FROM raw.documents WHERE status = 'superseded'")
    assert len(superseded) == 1
    in_marts = {r[0] for r in _published(wh, MART_DOC_IDS)}
    assert superseded[0][0] not in in_marts and len(in_marts) == 5
    assert _published(wh, "SELECT count(*) FROM marts.documents") == [(5,)]


def test_forget_takes_documents_out_for_good(tmp_path, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    wh = tmp_path / "wh"
    run_pipeline(landing, wh, encoder=None)
    target = sorted(SAMPLE.glob("*.txt"))[1].name
    [(doc_id,)] = _published(wh, "SELECT doc_id FROM raw.documents WHERE path = ?", [target])
    code = cli_main(["forget", str(landing / target), "--input", str(landing), "--warehouse", str(wh)])
    assert code == 0 and "1 document" in capsys.readouterr().out
    assert doc_id not in {r[0] for r in _published(wh, MART_DOC_IDS)}
    assert _published(wh, "SELECT change, path FROM raw.corrections") == [("forgotten", target)]
    run_pipeline(landing, wh, encoder=None)  # a later run does not bring it back
    assert doc_id not in {r[0] for r in _published(wh, MART_DOC_IDS)}
    assert _published(wh, "SELECT status FROM raw.documents WHERE doc_id = ?", [doc_id]) == [("forgotten",)]
    assert cli_main(["forget", "nope.txt", "--input", str(landing), "--warehouse", str(wh)]) == 2


def test_forget_from_dagster(tmp_path):
    from pipeline.defs.ingest.forget import forget_job
    from pipeline.defs.resources import WiretraceResource

    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    wh = tmp_path / "wh"
    run_pipeline(landing, wh, encoder=None)
    target = sorted(SAMPLE.glob("*.txt"))[2].name
    [(doc_id,)] = _published(wh, "SELECT doc_id FROM raw.documents WHERE path = ?", [target])
    resource = WiretraceResource(landing_dir=str(landing), warehouse_dir=str(wh), semantic=False)
    result = forget_job.execute_in_process(
        run_config={"ops": {"forget_files": {"config": {"paths": [target]}}}},
        resources={"wiretrace": resource},
    )
    assert result.success and result.output_for_node("forget_files") == {target: 1}
    assert doc_id not in {r[0] for r in _published(wh, MART_DOC_IDS)}
    assert _published(wh, "SELECT batch_id FROM meta.runs WHERE run_id = ?", [result.run_id]) == [("forget",)]


def test_a_warehouse_of_the_first_schema_is_migrated(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.txt").write_text(ARTICLE)
    c = warehouse.connect(tmp_path / "old.duckdb")
    monkeypatch.setattr(warehouse, "MIGRATIONS", warehouse.MIGRATIONS[:1])
    monkeypatch.setattr(warehouse, "SCHEMA_VERSION", 1)
    warehouse.ensure_schema(c)
    c.execute(
        "INSERT INTO raw.documents (doc_id, source, kind, raw_text, path, content_sha256) "
        "VALUES ('d1', 'AFP', 'text', 'old text', 'old.txt', 'x')"
    )
    monkeypatch.undo()
    assert warehouse.ensure_schema(c) == warehouse.SCHEMA_VERSION
    assert c.sql("SELECT status FROM raw.documents").fetchall() == [("current",)]
    stage_ingest(c, landing)  # the new columns and tables are in use at once
    assert c.sql("SELECT count(*) FROM raw.documents WHERE status = 'current'").fetchall() == [(2,)]
    c.close()
