"""Ingest: formats, metadata, identity, and every kind of bad input becoming an error row."""

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import reload_settings
from pipeline.core import warehouse
from pipeline.core.ingest import IngestConfig, ingest_files, parse_datetime
from pipeline.core.stages import stage_ingest

ARTICLE = "Kabul (AFP) - The Taliban said on Sunday that hundreds of fighters were heading to Panjshir.\n"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def by_reason(result):
    return {(e.path, e.record, e.reason) for e in result.errors}


def test_page_formats_and_source_rules(tmp_path):
    write(tmp_path / "apnews" / "a.txt", ARTICLE)
    write(tmp_path / "b.html", f"<html><body><p>{ARTICLE}</p></body></html>")
    write(
        tmp_path / "b.html.meta.json",
        json.dumps(
            {"url": "https://www.example.org/x", "title": "T", "published_at": "2021-08-22T10:00:00+02:00"}
        ),
    )
    write(tmp_path / "c.htm", "<p>Another page about Kabul and the valley.</p>")
    write(tmp_path / "manifest.csv", "file,source,published_at\nc.htm,Reuters,Aug 24 2021\n")
    write(tmp_path / "d.txt", "A page with no metadata at all, about Kabul.")
    out = ingest_files(tmp_path)
    assert not out.errors
    docs = {d.path: d for d in out.documents}
    assert (docs["apnews/a.txt"].source, docs["apnews/a.txt"].source_origin) == ("apnews", "folder")
    assert (docs["b.html"].source, docs["b.html"].source_origin) == ("example.org", "url")
    assert docs["b.html"].kind == "html" and docs["b.html"].title == "T"
    assert docs["b.html"].published_at.isoformat() == "2021-08-22T08:00:00"  # converted to UTC
    assert (docs["c.htm"].source, docs["c.htm"].source_origin) == ("Reuters", "metadata")
    assert docs["c.htm"].published_at.isoformat() == "2021-08-24T00:00:00"
    assert (docs["d.txt"].source, docs["d.txt"].source_origin) == ("unknown", "unknown")
    assert {f.path for f in out.files} == {"apnews/a.txt", "b.html", "c.htm", "d.txt"}


def test_jsonl_corpus_records_and_bad_lines(tmp_path):
    lines = [
        json.dumps(
            {"id": "r1", "text": ARTICLE, "outlet": "AP", "url": "https://apnews.com/1", "date": "2020-01-02"}
        ),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "r4", "title": "no body"}),
        "",
        json.dumps({"id": "r6", "html": "<p>HTML record body about Kabul.</p>", "source": "BBC"}),
        json.dumps({"id": "r7", "text": 42}),
    ]
    write(tmp_path / "corpus.jsonl", "\n".join(lines) + "\n")
    out = ingest_files(tmp_path)
    assert [(d.external_id, d.source, d.kind, d.record) for d in out.documents] == [
        ("r1", "AP", "text", "line 1"),
        ("r6", "BBC", "html", "line 6"),
    ]
    assert out.documents[0].published_at.isoformat() == "2020-01-02T00:00:00"
    assert by_reason(out) == {
        ("corpus.jsonl", "line 2", "malformed_json"),
        ("corpus.jsonl", "line 3", "not_an_object"),
        ("corpus.jsonl", "line 4", "missing_text"),
        ("corpus.jsonl", "line 7", "missing_text"),
    }
    assert out.files[0].n_records == 6 and out.files[0].n_documents == 2 and out.files[0].n_errors == 4
    # the raw line of a bad record is kept for inspection
    assert next(e for e in out.errors if e.reason == "malformed_json").raw_excerpt == "{not json"


def test_parquet_corpus(tmp_path):
    frame = pl.DataFrame(
        {
            "id": ["p1", "p2", "p3"],
            "outlet": ["Fox News", None, "CNN"],
            "url": [None, "https://www.cnn.com/a", None],
            "date_iso": ["2019-05-01", None, "not a date"],
            "text": [ARTICLE, "Second article text, about Washington.", None],
        }
    )
    frame.write_parquet(tmp_path / "corpus.parquet")
    out = ingest_files(tmp_path)
    assert [(d.external_id, d.source, d.source_origin) for d in out.documents] == [
        ("p1", "Fox News", "metadata"),
        ("p2", "cnn.com", "url"),
    ]
    assert out.documents[0].published_at.isoformat() == "2019-05-01T00:00:00"
    assert by_reason(out) == {("corpus.parquet", "row 2", "missing_text")}


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "binary"),
        ("empty.txt", b"", "empty"),
        ("blank.html", b"   \n\n  ", "empty"),
        ("bad16.txt", b"\xff\xfe\x00\xd8", "undecodable"),
        ("broken.parquet", b"PAR1 this is not really parquet", "unreadable"),
        ("notes.docx", b"PK\x03\x04 zip", "unsupported_format"),
        ("empty.jsonl", b"\n\n", "empty"),
    ],
)
def test_bad_files_become_error_rows(tmp_path, name, data, reason):
    write(tmp_path / name, data)
    write(tmp_path / "good.txt", ARTICLE)
    out = ingest_files(tmp_path)
    assert [d.path for d in out.documents] == ["good.txt"]
    assert by_reason(out) == {(name, None, reason)}
    err = out.errors[0]
    assert name in err.path and err.message
    assert {f.path for f in out.files} == {name, "good.txt"}  # the bad file is still traceable


def test_size_limit_is_configurable(tmp_path):
    write(tmp_path / "big.txt", "word " * 3000)
    write(tmp_path / "small.txt", ARTICLE)
    out = ingest_files(tmp_path, cfg=IngestConfig(max_page_bytes=10_000))
    assert [d.path for d in out.documents] == ["small.txt"]
    assert by_reason(out) == {("big.txt", None, "too_large")}
    assert out.files[0].sha256  # hashed even though not ingested
    big_record = json.dumps({"text": "x" * 20_000})
    write(tmp_path / "c.jsonl", big_record + "\n")
    out = ingest_files(tmp_path, [tmp_path / "c.jsonl"], cfg=IngestConfig(max_page_bytes=10_000))
    assert by_reason(out) == {("c.jsonl", "line 1", "too_large")}


def test_bad_sidecar_is_reported_and_document_still_ingested(tmp_path):
    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / "a.txt.meta.json", "{broken")
    out = ingest_files(tmp_path)
    assert len(out.documents) == 1
    assert by_reason(out) == {("a.txt", "metadata", "bad_metadata")}


def test_identity_same_bytes_one_document_per_source(tmp_path):
    write(tmp_path / "AFP" / "a.txt", ARTICLE)
    write(tmp_path / "AFP" / "copy-of-a.txt", ARTICLE)
    write(tmp_path / "Reuters" / "a.txt", ARTICLE)  # same text, another outlet: reuse to be measured
    out = ingest_files(tmp_path)
    assert sorted(d.source for d in out.documents) == ["AFP", "Reuters"]
    assert len(out.files) == 3


def test_rerun_adds_no_rows_and_new_files_are_added(tmp_path):
    landing = tmp_path / "landing"
    write(landing / "a.txt", ARTICLE)
    write(landing / "bad.jsonl", "{oops\n")
    con = warehouse.connect(tmp_path / "work.duckdb")
    first = stage_ingest(con, landing)
    assert first.counts["documents_new"] == 1 and first.counts["errors_new"] == 1
    counts = warehouse.table_counts(con)
    again = stage_ingest(con, landing)
    assert again.counts["documents_new"] == 0 and again.counts["errors_new"] == 0
    assert warehouse.table_counts(con) == counts
    write(landing / "b.txt", "Another story entirely, from Washington.")
    third = stage_ingest(con, landing, [landing / "b.txt"], batch_id="b2")
    assert third.counts["documents_new"] == 1
    assert con.sql("SELECT batch_id FROM raw.documents ORDER BY path").fetchall() == [("manual",), ("b2",)]
    row = con.sql("SELECT path, record, reason FROM raw.ingest_errors").fetchall()
    assert row == [("bad.jsonl", "line 1", "malformed_json")]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2021-08-22", "2021-08-22T00:00:00"),
        ("2021-08-22T10:00:00Z", "2021-08-22T10:00:00"),
        ("Tue, 24 Aug 2021 10:00:00 +0100", "2021-08-24T09:00:00"),
        ("", None),
        ("nan", None),
        ("yesterday-ish", None),
        (None, None),
    ],
)
def test_parse_datetime(value, expected):
    got = parse_datetime(value)
    assert (got.isoformat() if got else None) == expected


def test_sample_manifest_holds_only_what_the_texts_show():
    from tests.conftest import SAMPLE

    out = ingest_files(SAMPLE)
    assert not out.errors
    got = {
        d.path: (d.source, d.published_at.date().isoformat() if d.published_at else None)
        for d in out.documents
    }
    assert got == {
        "000_a020b76b82dd7d40.txt": ("AFP", None),
        "001_b1f71a80685ff8a8.txt": ("Press TV", None),
        "002_891b653182602a72.txt": ("Washington Newsday", "2021-08-22"),
        "003_cfd7c385d743e645.txt": ("unknown", None),
        "004_42767e2b16507f7e.txt": ("AceNewsDesk", "2021-08-24"),
    }


@pytest.mark.parametrize(
    "value, at, precision, flag",
    [
        ("2021-08-22", "2021-08-22T00:00:00", "day", None),
        ("Aug 24 2021", "2021-08-24T00:00:00", "day", None),
        ("2021-08-22T10:00:00", "2021-08-22T10:00:00", "local_time", None),
        ("Tue, 24 Aug 2021 10:00:00", "2021-08-24T10:00:00", "local_time", None),
        ("2021-08-22T10:00:00+02:00", "2021-08-22T08:00:00", "time", None),
        ("Tue, 24 Aug 2021 10:00:00 +0100", "2021-08-24T09:00:00", "time", None),
        ("2031-01-01", None, None, "future"),  # after the run's time
        ("2026-06-02T08:00:00Z", None, None, "future"),
        ("2026-06-01", "2026-06-01T00:00:00", "day", None),  # the run's day, in some time zone
        ("1970-01-01T00:00:00Z", None, None, "before_web"),  # a zero timestamp, not a web page's date
        ("1989-12-31", None, None, "before_web"),
        ("yesterday-ish", None, None, "unparseable"),
        ("", None, None, None),
    ],
)
def test_parse_published_keeps_precision_and_flags_implausible_dates(value, at, precision, flag):
    from pipeline.core.ingest import parse_published

    got = parse_published(value, now=datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    assert (got.at.isoformat() if got.at else None, got.precision, got.flag) == (at, precision, flag)


def test_old_dates_are_kept_for_archives_but_not_for_web_pages():
    from pipeline.core.ingest import parse_published

    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert parse_published("1975-03-04", now=now, web=False).at == datetime(1975, 3, 4)
    assert parse_published("1975-03-04", now=now, web=True).flag == "before_web"


def test_implausible_dates_are_flagged_kept_raw_and_not_used(tmp_path: Path):
    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / "b.txt", ARTICLE + " Second page.")
    write(tmp_path / "c.txt", ARTICLE + " Third page.")
    write(
        tmp_path / "manifest.csv",
        "file,source,published_at\na.txt,X,2999-01-01\nb.txt,Y,1970-01-01T00:00:00Z\nc.txt,Z,2021-08-24\n",
    )
    docs = {d.path: d for d in ingest_files(tmp_path).documents}
    a, b, c = docs["a.txt"], docs["b.txt"], docs["c.txt"]
    assert (a.published_at, a.published_at_raw, a.published_at_flag) == (None, "2999-01-01", "future")
    assert (b.published_at, b.published_at_flag) == (None, "before_web")
    assert b.published_at_raw == "1970-01-01T00:00:00Z"
    assert (c.published_at_precision, c.published_at_flag) == ("day", None)


def test_special_files_are_never_opened(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.jsonl")
    write(tmp_path / "good.txt", ARTICLE)
    out = ingest_files(tmp_path)  # would block forever in open() if the pipe were opened
    assert [d.path for d in out.documents] == ["good.txt"]
    assert by_reason(out) == {("pipe.jsonl", None, "not_regular_file")}
    assert "pipe" in out.errors[0].message


@pytest.mark.parametrize(
    "policy, inside, outside",
    [
        ("inside", True, "symlink_refused"),
        ("never", "symlink_refused", "symlink_refused"),
        ("any", True, True),
    ],
)
def test_symlink_policy(tmp_path, policy, inside, outside):
    import os

    landing = tmp_path / "landing"
    write(landing / "Local" / "real.txt", ARTICLE)
    write(tmp_path / "elsewhere.txt", "Something from outside the landing folder, about Kabul.")
    os.symlink(landing / "Local" / "real.txt", landing / "in.txt")
    os.symlink(tmp_path / "elsewhere.txt", landing / "out.txt")
    out = ingest_files(landing, cfg=IngestConfig(symlinks=policy))
    docs = {d.path for d in out.documents}
    errors = {e.path: e.reason for e in out.errors}
    for name, expected in (("in.txt", inside), ("out.txt", outside)):
        assert (name in docs) if expected is True else errors.get(name) == expected


def test_symlink_policy_from_the_environment(monkeypatch):
    monkeypatch.setenv("WIRETRACE_SYMLINKS", "never")
    reload_settings()
    assert IngestConfig().symlinks == "never"
    with pytest.raises(ValueError):
        IngestConfig(symlinks="sometimes")


@pytest.mark.parametrize("depth, reason", [(10, None), (64, None), (65, "too_deep"), (100_000, "too_deep")])
def test_json_depth_is_bounded(tmp_path, depth, reason):
    nested = "[" * (depth - 1) + "]" * (depth - 1)
    write(tmp_path / "c.jsonl", '{"text": "' + ARTICLE.strip() + '", "extra": ' + nested + "}\n")
    out = ingest_files(tmp_path)
    assert [e.reason for e in out.errors] == ([reason] if reason else [])
    assert len(out.documents) == (0 if reason else 1)


def test_html_in_txt_is_recognised_but_plain_text_mentioning_a_tag_is_not(tmp_path):
    write(tmp_path / "page.txt", f"<html><body><p>{ARTICLE}</p></body></html>")
    write(tmp_path / "story.txt", "Engineers said the <p> tag marks a paragraph. " + ARTICLE)
    out = ingest_files(tmp_path)
    kinds = {d.path: (d.kind, "detected:html" in d.repairs) for d in out.documents}
    assert kinds == {"page.txt": ("html", True), "story.txt": ("text", False)}


@pytest.mark.parametrize(
    "fields, kind",
    [
        ({"text": ARTICLE, "html": "<div>menu</div>"}, "text"),
        ({"text": "   ", "html": f"<p>{ARTICLE}</p>"}, "html"),
        ({"text": None, "html": f"<p>{ARTICLE}</p>"}, "html"),
        ({"body": ARTICLE}, "text"),
    ],
)
def test_text_wins_over_html_and_blank_fields_fall_back(tmp_path, fields, kind):
    write(tmp_path / "c.jsonl", json.dumps(fields) + "\n")
    out = ingest_files(tmp_path)
    assert [d.kind for d in out.documents] == [kind]


def test_lone_surrogate_is_repaired_in_the_record_only(tmp_path):
    lines = [
        '{"text": "' + ARTICLE.strip() + ' \\ud800 end.", "title": "bad \\udfff title"}',
        json.dumps({"text": "café " + ARTICLE}),
    ]
    write(tmp_path / "c.jsonl", "\n".join(lines) + "\n")
    out = ingest_files(tmp_path)
    first, second = out.documents
    assert first.encoding == "utf-8" and "lone_surrogate" in first.repairs and "\ufffd" in first.raw_text
    assert first.title == "bad \ufffd title"
    assert second.encoding == "utf-8" and "café" in second.raw_text
