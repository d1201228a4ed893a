"""Compressed corpora and web archives, built by the tests: streamed, one document per record."""

import gzip
import io
import json
from datetime import datetime

import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.core.ingest import IngestConfig, ingest_files

ARTICLE = "Kabul (AFP) - The Taliban said on Sunday that hundreds of fighters were heading to Panjshir."
PAGE = f"<html><head><title>Panjshir</title></head><body><article><p>{ARTICLE}</p></article></body></html>"


def jsonl(n: int) -> bytes:
    rows = [{"id": f"r{i}", "source": "AP", "text": f"{ARTICLE} Item {i}."} for i in range(n)]
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


@pytest.mark.parametrize(
    "name, pack",
    [
        ("c.jsonl.gz", gzip.compress),
        ("c.jsonl.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_compressed_jsonl(tmp_path, name, pack):
    (tmp_path / name).write_bytes(pack(jsonl(3)))
    out = ingest_files(tmp_path)
    assert not out.errors
    assert [(d.external_id, d.record, d.source) for d in out.documents] == [
        ("r0", "line 1", "AP"),
        ("r1", "line 2", "AP"),
        ("r2", "line 3", "AP"),
    ]
    assert out.files[0].format == name.split(".", 1)[1] and out.files[0].n_records == 3


def test_truncated_compression_keeps_what_was_read_and_says_so(tmp_path):
    data = gzip.compress(jsonl(200))
    (tmp_path / "c.jsonl.gz").write_bytes(data[: len(data) // 2])
    out = ingest_files(tmp_path)
    assert 0 < len(out.documents) < 200
    [err] = out.errors
    assert err.reason == "unreadable" and err.path == "c.jsonl.gz" and err.record.startswith("line ")


def warc_bytes(records, gz: bool) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    for kind, url, ctype, body, date in records:
        if kind == "response":
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=http,
                warc_headers_dict={"WARC-Date": date},
            )
        else:
            rec = writer.create_warc_record(url, kind, payload=io.BytesIO(body), warc_content_type=ctype)
        writer.write_record(rec)
    return buf.getvalue()


@pytest.mark.parametrize("name, gz", [("crawl.warc", False), ("crawl.warc.gz", True)])
def test_web_archive_html_responses_become_documents(tmp_path, name, gz):
    records = [
        ("warcinfo", "", "application/warc-fields", b"software: test\r\n", None),
        (
            "request",
            "https://www.example.org/a",
            "application/http; msgtype=request",
            b"GET /a HTTP/1.1\r\n\r\n",
            None,
        ),
        (
            "response",
            "https://www.example.org/a",
            "text/html; charset=utf-8",
            PAGE.encode(),
            "2023-05-01T12:00:00Z",
        ),
        ("response", "https://cdn.example.org/x.png", "image/png", b"\x89PNG\r\n", "2023-05-01T12:00:01Z"),
        (
            "response",
            "https://news.example.jp/b",
            "text/html; charset=shift_jis",
            "<html><body><p>東京で会見が開かれた。首相は対策を発表した。</p></body></html>".encode(
                "shift_jis"
            ),
            "2023-05-02T08:30:00Z",
        ),
    ]
    (tmp_path / name).write_bytes(warc_bytes(records, gz))
    out = ingest_files(tmp_path)
    assert not out.errors
    docs = {d.url: d for d in out.documents}
    assert set(docs) == {"https://www.example.org/a", "https://news.example.jp/b"}
    a = docs["https://www.example.org/a"]
    assert a.kind == "html" and a.source == "example.org" and ARTICLE in a.raw_text
    # the capture time is kept apart: it is not a publication time
    assert a.captured_at == datetime(2023, 5, 1, 12, 0) and a.published_at is None
    assert "東京で会見" in docs["https://news.example.jp/b"].raw_text  # the declared charset is used
    [f] = out.files
    assert (f.n_records, f.n_documents, f.n_skipped) == (5, 2, 3)


def test_not_a_web_archive_is_an_error_row(tmp_path):
    (tmp_path / "fake.warc.gz").write_bytes(gzip.compress(b"this is not a web archive at all\n" * 10))
    out = ingest_files(tmp_path)
    assert [(e.path, e.reason) for e in out.errors] == [("fake.warc.gz", "unreadable")]


def test_big_jsonl_record_limit_applies_while_streaming(tmp_path):
    lines = [json.dumps({"text": "x" * 50_000}), json.dumps({"text": ARTICLE, "source": "AP"})]
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    out = ingest_files(tmp_path, cfg=IngestConfig(max_page_bytes=10_000, part_records=1))
    assert [d.record for d in out.documents] == ["line 2"]
    assert [(e.record, e.reason) for e in out.errors] == [("line 1", "too_large")]


def test_parts_are_bounded_by_text_size_as_well_as_record_count(tmp_path):
    from pipeline.core.ingest import iter_ingest

    lines = [json.dumps({"text": f"{ARTICLE} {i} " + "word " * 2000, "source": "AP"}) for i in range(6)]
    (tmp_path / "c.jsonl").write_text("\n".join(lines) + "\n")
    parts = list(iter_ingest(tmp_path, cfg=IngestConfig(part_records=1000, part_chars=20_000)))
    assert [len(p.documents) for p in parts] == [2, 2, 2, 0]  # the file's row comes with the last part
    assert [len(p.files) for p in parts] == [0, 0, 0, 1]
