"""The clean stage does not depend on how documents were batched, and costs nothing when no outlet
gained documents: per-outlet templates are stored with a fingerprint of the documents they were learned
from, learned again only for outlets whose documents changed, and equal to learning on the union."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.core import stages, templates, warehouse
from pipeline.core.templates import learn_templates

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"

#: the tables the clean and segment stages write, each in key order
STAGING = {
    "staging.clean_documents": "doc_id",
    "staging.removed_spans": "doc_id, span_index",
    "staging.sentences": "sentence_id",
    "staging.source_templates": "source",
    "staging.template_lines": "source, line_key",
}

FOOTER = "The Valley Courier has served readers in the north since 1998 and is owned by its staff."
PITCH = "Got a tip? Write to the Gazette desk and tell us what is happening in your town."
WIRE = "The central bank raised its key interest rate by half a point on Thursday, citing inflation."


def story(i: int, extra: list[str]) -> str:
    body = [
        f"Story number {i} begins with a sentence that no other story shares, about topic {i * 7}.",
        f"A second paragraph mentions {i} people who attended the meeting in the town hall.",
    ]
    return "\n\n".join(body + extra)


def records() -> list[dict]:
    """Three outlets: the Courier's footer is its template until the Herald prints it too (a late record),
    the Gazette's pitch becomes a template once enough of its stories carry it, the Herald is too small to
    have templates, and the Courier has a story twice (two documents, one text, counted once)."""
    out = []
    for i in range(7):
        out.append(
            {"id": f"c{i}", "source": "Courier", "text": story(i, [FOOTER, f"© {2015 + i} The Courier"])}
        )
    # the same story again, with other line ends: another document, the same text once decoded
    out.append({"id": "c-dup", "source": "Courier", "text": out[0]["text"].replace("\n", "\r\n")})
    for i in range(10, 18):
        out.append(
            {"id": f"g{i}", "source": "Gazette", "text": story(i, [PITCH] + ([WIRE] if i % 3 else []))}
        )
    out.append({"id": "h1", "source": "Herald", "text": story(30, [WIRE])})
    out.append({"id": "h2", "source": "Herald", "text": story(31, ["Follow the Herald on the radio."])})
    out.append({"id": "h3", "source": "Herald", "text": story(32, [FOOTER])})  # the footer is shared now
    return out


def _write(landing: Path, name: str, rows: list[dict]) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    (landing / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _run(con: duckdb.DuckDBPyConnection, landing: Path) -> stages.StageResult:
    stages.stage_ingest(con, landing)
    res = stages.stage_clean(con)
    stages.stage_segment(con)
    return res


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    return {name: con.sql(f"SELECT * FROM {name} ORDER BY {key}").pl() for name, key in STAGING.items()}


def _assert_same(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    for name in STAGING:
        assert got[name].height > 0 or name == "staging.template_lines", name
        assert got[name].equals(want[name], null_equal=True), name


def _union_templates(con: duckdb.DuckDBPyConnection) -> dict:
    rows = con.sql(
        f"SELECT source, raw_text FROM {warehouse.CURRENT_DOCUMENTS} d WHERE kind = 'text' ORDER BY doc_id"
    ).fetchall()
    return learn_templates(rows, stages.TEMPLATE_MIN_DOCS, stages.TEMPLATE_MIN_SHARE).to_dict()


def _once(tmp_path: Path, rows: list[dict]) -> dict[str, pl.DataFrame]:
    _write(tmp_path / "once", "all.jsonl", rows)
    con = warehouse.connect(tmp_path / "once.duckdb")
    try:
        _run(con, tmp_path / "once")
        assert stages.corpus_templates(con).to_dict() == _union_templates(con)
        return _tables(con)
    finally:
        con.close()


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_batches_clean_like_one_run_on_their_union(tmp_path, order):
    rows = records()
    parts = [rows[:5] + rows[16:17], rows[5:12], rows[12:16] + rows[17:]]
    want = _once(tmp_path, rows)
    assert want["staging.source_templates"]["n_templates"].to_list() == [1, 1, 0]  # Courier, Gazette, Herald
    con = warehouse.connect(tmp_path / "inc.duckdb")
    try:
        for i in order:
            _write(tmp_path / "inc", f"part{i}.jsonl", parts[i])
            _run(con, tmp_path / "inc")
            # after every batch: the stored templates are those learned from every document so far
            assert stages.corpus_templates(con).to_dict() == _union_templates(con)
        _assert_same(_tables(con), want)
    finally:
        con.close()


def test_a_line_another_outlet_prints_stops_being_a_template_and_its_documents_are_cleaned_again(tmp_path):
    rows = records()
    landing = tmp_path / "landing"
    con = warehouse.connect(tmp_path / "work.duckdb")
    try:
        _write(landing, "a.jsonl", rows[:-1])
        _run(con, landing)
        footer_removed = "SELECT count(*) FROM staging.removed_spans WHERE text = ?"
        assert con.execute(footer_removed, [FOOTER]).fetchall() == [(8,)]
        _write(landing, "b.jsonl", rows[-1:])  # the Herald prints the Courier's footer
        res = _run(con, landing)
        t = res.extra["templates"]
        assert (t["documents_read"], t["outlets_learned"], t["outlets_changed"]) == (1, 1, 1)
        assert res.counts["cleaned"] == 9  # the new Herald story and the Courier's eight, cleaned again
        assert t["documents_cleaned_again"] == 8
        assert "8 document(s) cleaned again: the templates of 1 outlet(s) changed" in res.notes[0]
        assert con.execute(footer_removed, [FOOTER]).fetchall() == [(0,)]
        n = con.sql(
            "SELECT count(*) FROM staging.sentences WHERE text LIKE 'The Valley Courier has%'"
        ).fetchall()
        assert n == [(9,)]
        _assert_same(_tables(con), _once(tmp_path, rows))
    finally:
        con.close()


def test_only_outlets_that_gained_documents_are_learned_again(tmp_path, monkeypatch):
    rows = records()
    landing = tmp_path / "landing"
    con = warehouse.connect(tmp_path / "work.duckdb")
    try:
        _write(landing, "a.jsonl", [r for r in rows if r["id"] != "g17"])
        _run(con, landing)
        _write(landing, "b.jsonl", [r for r in rows if r["id"] == "g17"])  # one more Gazette story
        res = _run(con, landing)
        t = res.extra["templates"]
        assert (t["documents_read"], t["outlets_learned"], t["outlets_changed"]) == (1, 1, 0)
        assert res.counts["cleaned"] == 1
        stored = con.sql("SELECT source, n_documents FROM staging.source_templates ORDER BY 1").fetchall()
        assert stored == [("Courier", 7), ("Gazette", 8), ("Herald", 3)]

        # nothing new: no document read, no line hashed, nothing learned, nothing cleaned
        calls = []
        real = templates.line_key
        monkeypatch.setattr(templates, "line_key", lambda line: calls.append(line) or real(line))
        before = _tables(con)
        res = _run(con, landing)
        t = res.extra["templates"]
        assert (t["documents_read"], t["outlets_learned"], t["outlets_changed"]) == (0, 0, 0)
        assert res.counts["cleaned"] == 0
        assert calls == []
        _assert_same(_tables(con), before)
    finally:
        con.close()


def test_a_run_with_nothing_new_hashes_no_line_and_cleans_nothing(tmp_path, monkeypatch):
    """Template learning used to read every document of the corpus on every run."""
    landing = tmp_path / "landing"
    _write(landing, "a.jsonl", records())
    con = warehouse.connect(tmp_path / "work.duckdb")
    try:
        _run(con, landing)
        before = _tables(con)
        calls = []
        real = templates.line_key
        monkeypatch.setattr(templates, "line_key", lambda line: calls.append(line) or real(line))
        stages.stage_ingest(con, landing)
        res = stages.stage_clean(con)
        assert (res.counts["cleaned"], len(calls)) == (0, 0)
        stages.stage_segment(con)
        _assert_same(_tables(con), before)
    finally:
        con.close()


def test_a_superseded_document_is_unlearned(tmp_path):
    """A file whose new version drops stories: the outlet is learned again from what is current."""
    rows = records()
    gazette = [r for r in rows if r["source"] == "Gazette"]
    landing = tmp_path / "landing"
    con = warehouse.connect(tmp_path / "work.duckdb")
    try:
        _write(landing, "gazette.jsonl", gazette)
        _run(con, landing)
        # the pitch and, with no other outlet printing it, the wire paragraph
        assert con.sql("SELECT n_templates FROM staging.source_templates").fetchall() == [(2,)]
        _write(landing, "gazette.jsonl", gazette[:4])  # four stories: too few for templates
        res = _run(con, landing)
        assert res.extra["templates"]["outlets_changed"] == 1
        assert con.sql("SELECT n_documents, n_templates FROM staging.source_templates").fetchall() == [(4, 0)]
        assert stages.corpus_templates(con).to_dict() == _union_templates(con)
        removed = con.execute(
            f"SELECT count(*) FROM staging.removed_spans JOIN {warehouse.CURRENT_DOCUMENTS} d USING (doc_id) "
            "WHERE text = ?",
            [PITCH],
        ).fetchall()
        assert removed == [(0,)]
    finally:
        con.close()


def _sample_landing(root: Path, names: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE / "manifest.csv", root / "manifest.csv")
    for name in names:
        shutil.copy(SAMPLE / name, root / name)
    return root


def test_sample_articles_in_any_batch_order_clean_like_one_run(tmp_path):
    names = sorted(p.name for p in SAMPLE.glob("*.txt"))
    con = warehouse.connect(tmp_path / "once.duckdb")
    try:
        _run(con, _sample_landing(tmp_path / "once", names))
        want = _tables(con)
    finally:
        con.close()
    orders = [[[n] for n in perm] for perm in itertools.islice(itertools.permutations(names), 0, None, 40)]
    orders.append([names[3:], names[:3]])
    for k, batches in enumerate(orders):
        con = warehouse.connect(tmp_path / f"inc{k}.duckdb")
        try:
            landing = tmp_path / f"inc{k}"
            landed: list[str] = []
            for batch in batches:
                landed += batch
                _run(con, _sample_landing(landing, landed))
            _assert_same(_tables(con), want)
        finally:
            con.close()


@pytest.mark.slow
@pytest.mark.parametrize("splits", [(0.5, 0.25, 0.25), (0.9, 0.1)])
def test_benchmark_batches_clean_like_one_run(tmp_path, shared_data, splits):
    """2,000 benchmark articles landed in batches: the staging tables (clean text, removed spans,
    sentences, templates) equal those of one run on all of them, and a run with nothing new reads,
    learns and cleans nothing."""
    corpus = shared_data / "corpora" / "allsides_baly2020.parquet"
    if not corpus.is_file():
        pytest.skip(f"{corpus.name} not found")
    articles = pl.read_parquet(corpus).head(2000)
    (tmp_path / "once").mkdir()
    articles.write_parquet(tmp_path / "once" / "all.parquet")
    con = warehouse.connect(tmp_path / "once.duckdb")
    try:
        _run(con, tmp_path / "once")
        want = _tables(con)
        assert stages.corpus_templates(con).to_dict() == _union_templates(con)
    finally:
        con.close()
    assert want["staging.template_lines"]["is_template"].sum() > 0
    landing = tmp_path / "inc"
    landing.mkdir()
    con = warehouse.connect(tmp_path / "inc.duckdb")
    try:
        lo = 0
        for i, share in enumerate(splits):
            hi = articles.height if i == len(splits) - 1 else lo + round(share * articles.height)
            articles.slice(lo, hi - lo).write_parquet(landing / f"part{i}.parquet")
            res = _run(con, landing)
            assert res.extra["templates"]["documents_read"] == hi - lo
            lo = hi
        _assert_same(_tables(con), want)
        res = _run(con, landing)
        t = res.extra["templates"]
        assert (t["documents_read"], t["outlets_learned"], res.counts["cleaned"]) == (0, 0, 0)
    finally:
        con.close()
