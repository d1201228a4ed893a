"""A hostile landing folder: many kinds of bad and odd input next to the five sample articles.

The tests build the corpus themselves, run the whole pipeline once on it, and check one thing per kind:
the run completes, every data file is accounted for (a document or an error row), the odd-but-valid
inputs become proper documents, and the five good documents come out exactly as they do alone.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.core.ingest import IngestConfig, scan_landing
from pipeline.core.run import run_pipeline
from tests.conftest import SAMPLE

LIMIT = 200_000  # per-record limit for this run (small, so that an oversized line stays cheap to build)

# unrelated to the sample story, so that none of it matches the five good documents
WEATHER = (
    "Heavy rain flooded several districts of the coastal city on Tuesday, forcing schools to close early. "
    "Emergency services said they had rescued dozens of residents from their homes overnight. "
    "Forecasters expect the storm to move north by Thursday, bringing strong winds to the mountains."
)
SCRIPTS = {
    "zh.txt": "北京——国家统计局周一公布的数据显示，今年第三季度经济增长百分之四点九。分析人士认为，消费需求仍然疲软！"
    "政府会推出更多刺激措施吗？官员表示，将继续支持民营企业发展。",
    "ja.txt": "東京（共同）政府は月曜日、新しい経済対策を発表した。首相は記者会見で、物価高への対応を急ぐと述べた。"
    "野党は対策が不十分だと批判している。",
    "ar.txt": "قالت وزارة الصحة يوم الاثنين إن عدد الإصابات ارتفع بشكل كبير خلال الأسبوع الماضي. "
    "وأضافت الوزارة أن المستشفيات تعمل بكامل طاقتها؟ ودعت المواطنين إلى الالتزام بالإجراءات الوقائية.",
    "ru.txt": "Министерство финансов в понедельник сообщило, что дефицит бюджета сократился. "
    "По словам министра, доходы выросли на десять процентов. Эксперты ожидают дальнейшего роста.",
    "hi.txt": "सरकार ने सोमवार को नई आर्थिक नीति की घोषणा की। मंत्री ने कहा कि इससे किसानों को लाभ होगा। "
    "विपक्ष ने इस नीति की आलोचना की है।",
}


def record(**fields) -> str:
    return json.dumps(fields)


@dataclass
class Kind:
    name: str
    build: Callable[[Path, Path], None]  # (landing, outside) -> None
    check: Callable[[dict], bool]  # the run's tables -> the one thing that must hold


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def error(path: str, reason: str, record_: str | None = "*") -> Callable[[dict], bool]:
    def check(t: dict) -> bool:
        rows = t["errors"].filter((pl.col("path") == path) & (pl.col("reason") == reason))
        if record_ != "*":
            rows = rows.filter(pl.col("record").is_null() if record_ is None else pl.col("record") == record_)
        return rows.height >= 1

    return check


def doc(path: str, *, kind: str | None = None, clean: str | None = None, min_sentences: int = 0):
    def check(t: dict) -> bool:
        rows = t["docs"].filter(pl.col("path") == path)
        if rows.height == 0:
            return False
        row = rows.row(0, named=True)
        if kind is not None and row["kind"] != kind:
            return False
        if clean is not None and row["status"] != clean:
            return False
        return row["n_sentences"] >= min_sentences

    return check


def _deep_json(landing: Path, _o: Path) -> None:
    write(
        landing / "deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n" + record(text=WEATHER, source="X") + "\n"
    )


def _fifo(landing: Path, _o: Path) -> None:
    os.mkfifo(landing / "pipe.txt")


def _symlink_outside(landing: Path, outside: Path) -> None:
    write(outside / "secret.txt", "A private note that must never reach the analysts' database.")
    os.symlink(outside / "secret.txt", landing / "link-out.txt")


def _symlink_inside(landing: Path, _o: Path) -> None:
    write(landing / "Local" / "real.txt", WEATHER + " Linked from the root folder.")
    os.symlink(landing / "Local" / "real.txt", landing / "link-in.txt")


def _symlink_dir(landing: Path, _o: Path) -> None:
    (landing / "dir-target").mkdir()
    write(landing / "dir-target" / "inner.txt", WEATHER + " Inner copy.")
    os.symlink(landing / "dir-target", landing / "dir-link")


def _dangling(landing: Path, _o: Path) -> None:
    os.symlink(landing / "does-not-exist.txt", landing / "dangling.txt")


def _huge_line(landing: Path, _o: Path) -> None:
    write(
        landing / "huge.jsonl",
        record(text="word " * (LIMIT // 4)) + "\n" + record(text=WEATHER, source="Y") + "\n",
    )


def _surrogate(landing: Path, _o: Path) -> None:
    write(landing / "surrogate.jsonl", '{"text": "' + WEATHER + ' Broken \\ud800 escape.", "source": "Z"}\n')


def _html_txt(landing: Path, _o: Path) -> None:
    write(
        landing / "saved-page.txt",
        "<!DOCTYPE html><html><head><title>Storm</title><script>var x = 1;</script></head><body>"
        f"<nav>Home | News | Sport</nav><article><h1>Storm floods city</h1><p>{WEATHER}</p></article></body></html>",
    )


def _zero_width(landing: Path, _o: Path) -> None:
    write(landing / "zw.txt", WEATHER.replace("flooded", "flo\u200boded").replace("rescued", "res\u200dcued"))


def _text_and_html(landing: Path, _o: Path) -> None:
    write(
        landing / "both.jsonl",
        record(text=WEATHER, html="<div class='nav'><a href='/'>Home</a></div>") + "\n",
    )


def _html_only_record(landing: Path, _o: Path) -> None:
    write(
        landing / "html-record.jsonl",
        record(html=f"<html><body><article><p>{WEATHER}</p></article></body></html>") + "\n",
    )


def _script(name: str):
    return lambda landing, _o: write(landing / name, SCRIPTS[name])


def _truncated_gz(landing: Path, _o: Path) -> None:
    lines = "".join(record(text=f"{WEATHER} Record {i}.", source="GZ") + "\n" for i in range(300))
    data = gzip.compress(lines.encode())
    write(landing / "cut.jsonl.gz", data[: len(data) // 2])


def _deep_html(landing: Path, _o: Path) -> None:
    write(
        landing / "deep.html",
        "<html><body>" + "<div>" * 15_000 + f"<p>{WEATHER}</p>" + "</div>" * 15_000 + "</body></html>",
    )


def _zw_ok(t: dict) -> bool:
    [doc_id] = t["docs"].filter(pl.col("path") == "zw.txt")["doc_id"]
    norms = " ".join(t["sentences"].filter(pl.col("doc_id") == doc_id)["norm"])
    return "flooded" in norms and "rescued" in norms and "\u200b" not in norms and "\u200d" not in norms


KINDS: list[Kind] = [
    Kind("json nested 100,000 deep", _deep_json, error("deep.jsonl", "too_deep", "line 1")),
    Kind("record after a deep one still ingested", _deep_json, doc("deep.jsonl")),
    Kind("named pipe (never opened)", _fifo, error("pipe.txt", "not_regular_file", None)),
    Kind(
        "symlink to a file outside the landing folder",
        _symlink_outside,
        error("link-out.txt", "symlink_refused", None),
    ),
    Kind("symlink inside the landing folder is followed", _symlink_inside, doc("link-in.txt")),
    Kind("symlink to a folder is not walked", _symlink_dir, error("dir-link", "not_regular_file", None)),
    Kind("dangling symlink", _dangling, error("dangling.txt", "unreadable", None)),
    Kind("line over the per-record limit", _huge_line, error("huge.jsonl", "too_large", "line 1")),
    Kind("record after a huge line still ingested", _huge_line, doc("huge.jsonl", clean="ok")),
    Kind(
        "lone surrogate escape: one record repaired, not the file through cp1252",
        _surrogate,
        lambda t: (
            t["raw"].filter((pl.col("path") == "surrogate.jsonl") & (pl.col("encoding") == "utf-8")).height
            == 1
        ),
    ),
    Kind(
        "HTML saved as .txt is extracted as HTML",
        _html_txt,
        doc("saved-page.txt", kind="html", clean="ok", min_sentences=3),
    ),
    Kind(
        "HTML saved as .txt keeps no markup",
        _html_txt,
        lambda t: "<" not in t["docs"].filter(pl.col("path") == "saved-page.txt")["text"][0],
    ),
    Kind("zero-width characters leave the normalised form", _zero_width, lambda t: _zw_ok(t)),
    Kind(
        "record with both text and html uses the text",
        _text_and_html,
        doc("both.jsonl", kind="text", clean="ok", min_sentences=3),
    ),
    Kind(
        "record with only html",
        _html_only_record,
        doc("html-record.jsonl", kind="html", clean="ok", min_sentences=3),
    ),
    *[
        Kind(
            f"{name[:2]} text is cleaned and segmented", _script(name), doc(name, clean="ok", min_sentences=3)
        )
        for name in SCRIPTS
    ],
    Kind(
        "binary file named .txt",
        lambda d, o: write(d / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)),
        error("image.txt", "binary", None),
    ),
    Kind("empty file", lambda d, o: write(d / "empty.txt", b""), error("empty.txt", "empty", None)),
    Kind(
        "whitespace-only HTML",
        lambda d, o: write(d / "blank.html", "  \n\n "),
        error("blank.html", "empty", None),
    ),
    Kind(
        "bad UTF-16",
        lambda d, o: write(d / "bad16.txt", b"\xff\xfe\x00\xd8"),
        error("bad16.txt", "undecodable", None),
    ),
    Kind(
        "UTF-16 with BOM",
        lambda d, o: write(d / "utf16.txt", WEATHER.encode("utf-16")),
        lambda t: (
            t["raw"].filter((pl.col("path") == "utf16.txt") & (pl.col("encoding") == "utf-16")).height == 1
        ),
    ),
    Kind(
        "cp1252 text",
        lambda d, o: write(
            d / "cp1252.txt", (WEATHER + " Caf\u00e9 owners \u201cworried\u201d.").encode("cp1252")
        ),
        lambda t: (
            t["raw"].filter((pl.col("path") == "cp1252.txt") & (pl.col("encoding") == "cp1252")).height == 1
        ),
    ),
    Kind(
        "mojibake is repaired",
        lambda d, o: write(d / "mojibake.txt", WEATHER + " The caf\u00c3\u00a9 stayed open."),
        lambda t: "café" in t["raw"].filter(pl.col("path") == "mojibake.txt")["raw_text"][0],
    ),
    Kind(
        "malformed JSON line",
        lambda d, o: write(d / "malformed.jsonl", "{oops\n"),
        error("malformed.jsonl", "malformed_json", "line 1"),
    ),
    Kind(
        "JSON line that is a list",
        lambda d, o: write(d / "list.jsonl", "[1, 2]\n"),
        error("list.jsonl", "not_an_object", "line 1"),
    ),
    Kind(
        "record without text",
        lambda d, o: write(d / "notext.jsonl", record(title="t") + "\n"),
        error("notext.jsonl", "missing_text", "line 1"),
    ),
    Kind(
        "text that is a number",
        lambda d, o: write(d / "number.jsonl", record(text=42) + "\n"),
        error("number.jsonl", "missing_text", "line 1"),
    ),
    Kind(
        "NUL inside a record's text",
        lambda d, o: write(d / "nul.jsonl", record(text="abc\u0000def") + "\n"),
        error("nul.jsonl", "binary", "line 1"),
    ),
    Kind(
        "unsupported file type",
        lambda d, o: write(d / "notes.docx", b"PK\x03\x04 zip"),
        error("notes.docx", "unsupported_format", None),
    ),
    Kind(
        "unreadable sidecar: document still ingested",
        lambda d, o: (
            write(d / "side.txt", WEATHER + " Sidecar."),
            write(d / "side.txt.meta.json", "{broken"),
        ),
        error("side.txt", "bad_metadata", "metadata"),
    ),
    Kind(
        "broken parquet",
        lambda d, o: write(d / "broken.parquet", b"PAR1 not really"),
        error("broken.parquet", "unreadable", None),
    ),
    Kind("truncated gzip corpus", _truncated_gz, error("cut.jsonl.gz", "unreadable")),
    Kind("records before the truncation are kept", _truncated_gz, doc("cut.jsonl.gz", clean="ok")),
    Kind(
        "not a web archive",
        lambda d, o: write(d / "fake.warc", b"hello, not a WARC\n" * 5),
        error("fake.warc", "unreadable"),
    ),
    Kind(
        "corpus without records",
        lambda d, o: write(d / "blank.jsonl", "\n\n"),
        error("blank.jsonl", "empty", None),
    ),
    Kind(
        "CRLF line endings in a corpus",
        lambda d, o: write(d / "crlf.jsonl", record(text=WEATHER + " CRLF.", source="C") + "\r\n"),
        doc("crlf.jsonl", clean="ok"),
    ),
    Kind(
        "upper-case extension",
        lambda d, o: write(d / "UPPER.TXT", WEATHER + " Upper."),
        doc("UPPER.TXT", clean="ok"),
    ),
    Kind("HTML nested 15,000 deep", _deep_html, doc("deep.html")),
    Kind(
        "script-only HTML page is kept as a document",
        lambda d, o: write(d / "script.html", "<html><script>var a=1;</script></html>"),
        doc("script.html"),
    ),
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    landing, outside = root / "landing", root / "outside"
    shutil.copytree(SAMPLE, landing)
    outside.mkdir()
    built: set[str] = set()
    for kind in KINDS:
        key = getattr(kind.build, "__name__", kind.name)
        if key != "<lambda>" and key in built:
            continue
        built.add(key)
        kind.build(landing, outside)
    run_pipeline(landing, root / "wh", ingest_config=IngestConfig(max_page_bytes=LIMIT), encoder=None)
    alone = root / "alone"
    shutil.copytree(SAMPLE, alone / "landing")
    run_pipeline(alone / "landing", alone / "wh", encoder=None)
    return landing, root / "wh", alone / "wh"


def tables(wh: Path) -> dict:
    con = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    try:
        return {
            "raw": con.sql("SELECT * FROM raw.documents ORDER BY doc_id").pl(),
            "files": con.sql("SELECT * FROM raw.raw_files ORDER BY path").pl(),
            "errors": con.sql("SELECT * FROM raw.ingest_errors ORDER BY path, record").pl(),
            "docs": con.sql(
                """SELECT d.doc_id, d.path, d.kind, c.status, coalesce(c.text, '') AS text,
                          (SELECT count(*) FROM staging.sentences s WHERE s.doc_id = d.doc_id) AS n_sentences
                   FROM raw.documents d LEFT JOIN staging.clean_documents c USING (doc_id) ORDER BY d.path"""
            ).pl(),
            "sentences": con.sql(
                "SELECT doc_id, text, norm FROM staging.sentences ORDER BY sentence_id"
            ).pl(),
            "pairs": con.sql(
                "SELECT doc_id_a, doc_id_b, n_exact, n_near, n_paraphrase, direction FROM marts.document_pairs "
                "ORDER BY ALL"
            ).pl(),
            "runs": con.sql("SELECT * FROM meta.runs").pl(),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def result(hostile):
    landing, wh, alone = hostile
    return landing, tables(wh), tables(alone)


def test_the_corpus_has_at_least_30_kinds():
    assert len(KINDS) >= 30


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_each_kind(result, kind):
    _landing, t, _alone = result
    assert kind.check(t), kind.name


def test_every_data_file_is_accounted_for(result):
    landing, t, _alone = result
    entries = {p.relative_to(landing).as_posix() for p in scan_landing(landing)}
    accounted = (
        set(t["docs"]["path"])
        | set(t["errors"]["path"])
        | set(t["files"].filter(pl.col("n_documents") > 0)["path"])
    )
    assert sorted(entries - accounted) == []


def test_nothing_from_outside_the_landing_folder(result):
    _landing, t, _alone = result
    assert not t["raw"]["raw_text"].str.contains("private note").any()


def test_good_documents_are_unaffected(result):
    _landing, t, alone = result
    sample = sorted(p.name for p in SAMPLE.glob("*.txt"))
    good = alone["docs"].filter(pl.col("path").is_in(sample))
    assert good.height == 5
    mine = t["docs"].filter(pl.col("path").is_in(sample))
    assert mine.equals(good)
    ids = set(good["doc_id"])
    assert t["sentences"].filter(pl.col("doc_id").is_in(ids)).equals(alone["sentences"])
    pairs = t["pairs"].filter(pl.col("doc_id_a").is_in(ids) & pl.col("doc_id_b").is_in(ids))
    assert pairs.equals(alone["pairs"])


def test_the_run_is_logged(result):
    _landing, t, _alone = result
    [run] = t["runs"].to_dicts()
    counts = json.loads(run["counts"])
    assert run["status"] == "ok" and run["n_errors"] == t["errors"].height
    assert counts["ingest"]["files"] == t["files"].height
    assert json.loads(run["config"])["ingest"]["max_page_bytes"] == LIMIT
