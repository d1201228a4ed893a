"""The Dagster code location: graph shape, sensor, schedule and asset materialisation."""

import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.definitions import defs
from pipeline.defs.ingest.sensors import batch_key, find_new_files, landing_sensor
from pipeline.defs.resources import WiretraceResource
from pipeline.defs.schedules import daily_refresh


def test_asset_graph_groups_and_keys():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "raw/raw_files": "ingest",
        "raw/documents": "ingest",
        "raw/ingest_errors": "ingest",
        "staging/clean_documents": "clean",
        "staging/removed_spans": "clean",
        "staging/source_templates": "clean",
        "staging/template_lines": "clean",
        "cache/document_lines": "clean",
        "staging/sentences": "segment",
        "marts/sentence_flags": "overlap",
        "marts/sentence_matches": "overlap",
        "marts/sentence_clusters": "overlap",
        "marts/passages": "overlap",
        "marts/document_pairs": "overlap",
        "marts/document_originality": "overlap",
        "marts/stories": "overlap",
        "cache/minhash_signatures": "overlap",
        "cache/graded_pairs": "overlap",
        "cache/sentence_traits": "overlap_index",
        "cache/word_tokens": "overlap_index",
        "cache/lsh_postings": "overlap_index",
        "cache/lsh_members": "overlap_index",
        "cache/lsh_pairs": "overlap_index",
        "cache/rare_doc_sets": "overlap_index",
        "cache/rare_doc_pairs": "overlap_index",
        "cache/static_vectors": "overlap_index",
        "cache/pair_evidence": "overlap_index",
        "cache/doc_word_digests": "overlap_index",
        "cache/doc_words": "overlap_index",
        "publish/analyst_warehouse": "publish",
        "publish/reuse_reports": "publish",
    }
    # the asset key prefix is the DuckDB schema; the publish step depends on every mart
    publish = graph.get(dg.AssetKey(["publish", "analyst_warehouse"]))
    assert {k.path[0] for k in publish.parent_keys} == {"marts"}
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
    assert {"documents_complete", "files_accounted_for", "errors_well_formed"} <= checks


def test_writers_share_one_pool_and_retry():
    graph = defs.resolve_asset_graph()
    # every asset but the reports writes DuckDB (the reports only read the published file)
    for key in graph.get_all_asset_keys() - {dg.AssetKey(["publish", "reuse_reports"])}:
        node = graph.get(key)
        assets_def = node.assets_def
        assert assets_def.op.pool == "duckdb", key
        assert assets_def.op.retry_policy is not None and assets_def.op.retry_policy.max_retries >= 1, key
    dagster_yaml = (Path(__file__).parents[1] / "warehouse" / "dagster_home" / "dagster.yaml").read_text()
    assert "default_limit: 1" in dagster_yaml and "enabled: false" in dagster_yaml


def test_sensor_is_on_and_schedule_is_daily():
    assert landing_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert daily_refresh.cron_schedule == "0 3 * * *"
    assert daily_refresh.default_status == dg.DefaultScheduleStatus.RUNNING
    assert defs.resolve_job_def("refresh") is not None


def test_find_new_files_cursor(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "a.txt.meta.json").write_text("{}")  # sidecars are not documents
    new, state = find_new_files(tmp_path, None)
    assert new == ["a.txt"]
    assert find_new_files(tmp_path, json.dumps(state))[0] == []
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_text("{}")
    (tmp_path / "a.txt").write_text("one, edited")
    new2, state2 = find_new_files(tmp_path, json.dumps(state))
    assert new2 == ["a.txt", "sub/b.jsonl"]
    assert batch_key(new2, state2) == batch_key(list(reversed(new2)), state2)
    assert batch_key(new2, state2) != batch_key(new, state)


def test_sensor_notices_new_and_changed_sidecars_and_manifests(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("two")
    _, state = find_new_files(tmp_path, None)
    (tmp_path / "a.txt.meta.json").write_text('{"source": "AFP"}')  # a sidecar added later
    new, state2 = find_new_files(tmp_path, json.dumps(state))
    assert new == ["a.txt"]
    assert batch_key(new, state2) != batch_key(new, state)  # a new run key, so the run is not skipped
    (tmp_path / "a.txt.meta.json").write_text('{"source": "Reuters"}')
    os.utime(tmp_path / "a.txt.meta.json", ns=(1, 1))  # a changed sidecar
    new, state3 = find_new_files(tmp_path, json.dumps(state2))
    assert new == ["a.txt"]
    (tmp_path / "manifest.csv").write_text("file,source\nsub/b.txt,AP\n")  # a manifest describes both
    new, state4 = find_new_files(tmp_path, json.dumps(state3))
    assert new == ["a.txt", "sub/b.txt"]
    (tmp_path / "sub" / "manifest.csv").write_text("file,source\nb.txt,BBC\n")  # only under sub/
    new, _ = find_new_files(tmp_path, json.dumps(state4))
    assert new == ["sub/b.txt"]


def test_sensor_requests_one_run_per_batch_with_run_key(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    resource = WiretraceResource(landing_dir=str(landing), warehouse_dir=str(tmp_path / "wh"))
    instance = dg.DagsterInstance.ephemeral()
    ctx = dg.build_sensor_context(instance=instance, resources={"wiretrace": resource})
    assert landing_sensor(ctx).skip_reason is not None
    (landing / "a.txt").write_text("Story one.")
    (landing / "b.html").write_text("<p>Story two.</p>")
    result = landing_sensor(dg.build_sensor_context(instance=instance, resources={"wiretrace": resource}))
    assert len(result.run_requests) == 1
    req = result.run_requests[0]
    assert req.run_key == req.partition_key and req.partition_key.startswith("batch-")
    assert req.run_config["ops"]["ingest"]["config"]["files"] == ["a.txt", "b.html"]
    assert result.dynamic_partitions_requests[0].partition_keys == [req.partition_key]
    # same cursor, nothing new: no run
    again = landing_sensor(
        dg.build_sensor_context(instance=instance, cursor=result.cursor, resources={"wiretrace": resource})
    )
    assert not again.run_requests
    (landing / "c.txt").write_text("Story three.")
    third = landing_sensor(
        dg.build_sensor_context(instance=instance, cursor=result.cursor, resources={"wiretrace": resource})
    )
    assert [r.run_config["ops"]["ingest"]["config"]["files"] for r in third.run_requests] == [["c.txt"]]


def test_schedule_targets_the_refresh_job():
    ctx = dg.build_schedule_context(scheduled_execution_time=None)
    data = daily_refresh.evaluate_tick(ctx)
    assert data.run_requests and data.run_requests[0].job_name in (None, "refresh")


@pytest.mark.slow
def test_materialize_batch_then_refresh(tmp_path, sample_landing):
    from pipeline.defs.clean.assets import clean
    from pipeline.defs.ingest.assets import ingest
    from pipeline.defs.ingest.checks import documents_complete, errors_well_formed, files_accounted_for
    from pipeline.defs.overlap.assets import overlap
    from pipeline.defs.publish.assets import analyst_warehouse
    from pipeline.defs.segment.assets import sentences

    wh = tmp_path / "wh"
    resource = WiretraceResource(landing_dir=str(sample_landing), warehouse_dir=str(wh), semantic=False)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("batches", ["batch-test"])
    from pipeline.defs.publish.reports import reuse_reports

    assets = [ingest, clean, sentences, overlap, analyst_warehouse, reuse_reports]
    checks = [documents_complete, files_accounted_for, errors_well_formed]
    files = sorted(p.name for p in sample_landing.glob("*.txt"))
    result = dg.materialize(
        [*assets, *checks],
        partition_key="batch-test",
        instance=instance,
        resources={"wiretrace": resource},
        run_config={"ops": {"ingest": {"config": {"files": files}}}},
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations), [
        (e.check_name, e.metadata) for e in evaluations
    ]
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    assert "publish/analyst_warehouse" in mats and "publish/reuse_reports" in mats
    assert list((wh / "reports").glob("*.html"))
    docs_meta = result.asset_materializations_for_node("ingest")
    assert any(m.metadata.get("new_documents") and m.metadata["new_documents"].value == 5 for m in docs_meta)
    con = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    assert con.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0] == 5
    assert con.sql("SELECT count(*) FROM staging.sentences").fetchall()[0][0] > 50
    assert con.sql("SELECT count(*) FROM marts.sentence_matches").fetchall()[0][0] > 10
    assert con.sql("SELECT DISTINCT batch_id FROM raw.documents").fetchall() == [("batch-test",)]
    # the run is logged, stage by stage, with the tiers that ran and why the others did not
    [(batch, counts, tiers)] = con.execute(
        "SELECT batch_id, counts, tiers FROM meta.runs WHERE run_id = ?", [result.run_id]
    ).fetchall()
    assert batch == "batch-test"
    assert set(json.loads(counts)) == {"ingest", "clean", "segment", "overlap"}
    assert json.loads(counts)["ingest"]["documents_new"] == 5
    assert json.loads(tiers)["exact"] == "ran" and json.loads(tiers)["semantic"].startswith("not run")
    con.close()
    # the daily refresh job runs the unpartitioned stages on their own
    refresh = dg.materialize(
        [clean, sentences, overlap, analyst_warehouse],
        instance=instance,
        resources={"wiretrace": resource},
    )
    assert refresh.success
    assert {m.asset_key.to_user_string() for m in refresh.get_asset_materialization_events()} >= {
        "staging/clean_documents",
        "marts/sentence_matches",
        "publish/analyst_warehouse",
    }


def test_sensor_lists_special_entries_without_opening_them(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    (tmp_path / "a.txt").write_text("one")
    new, _ = find_new_files(tmp_path, None)  # ingest turns the first two into error rows
    assert new == ["a.txt", "dangling.txt", "pipe.txt"]


def test_a_failed_step_lets_go_of_its_frames():
    """A step retried in the same process must not find its failed attempt's data still held by the
    error's traceback (the overlap step's frames are corpus-sized); the traceback keeps its lines."""
    import traceback
    import weakref

    from pipeline.defs.util import released_on_failure

    class Frame:  # stands for a large polars frame
        pass

    refs = []

    def inner():
        data = Frame()
        refs.append(weakref.ref(data))
        raise KeyError("inner")

    def work():
        held = Frame()
        refs.append(weakref.ref(held))
        try:
            inner()
        except KeyError as exc:
            raise RuntimeError("the step failed") from exc

    try:
        work()
    except RuntimeError as exc:
        kept = exc  # without the guard, the error holds the frames' data
    assert all(r() is not None for r in refs)
    del kept
    refs.clear()

    try:
        with released_on_failure():
            work()
    except RuntimeError as exc:
        kept = exc  # as a retry policy keeps the error
    assert len(refs) == 2 and all(r() is None for r in refs)
    lines = "".join(traceback.format_exception(kept))
    assert "in work" in lines and "in inner" in lines and "the step failed" in lines
