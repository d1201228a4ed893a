"""The analysis notebook runs top to bottom against a warehouse built from the sample corpus and shows
the reuse heatmap, the provenance graph, the originality table and two articles side by side."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.core.run import run_pipeline
from tests.conftest import REPO, SAMPLE

NOTEBOOK = REPO / "notebooks" / "reuse_analysis.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def execute(db):
    """The notebook executed against the warehouse file ``db``."""
    jupytext = pytest.importorskip(
        "jupytext", reason="jupytext is a dev dependency (pip install -e '.[dev]')"
    )
    nbclient = pytest.importorskip(
        "nbclient", reason="nbclient is a dev dependency (pip install -e '.[dev]')"
    )
    nb = jupytext.read(NOTEBOOK)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIRETRACE_DB", str(db))  # the kernel inherits the environment
        client = nbclient.NotebookClient(
            nb,
            kernel_name="python3",
            timeout=120,
            resources={"metadata": {"path": str(NOTEBOOK.parent)}},
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport notice from the kernel
        )
        client.execute()  # raises CellExecutionError on the first failing cell
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook")
    landing = root / "landing"
    shutil.copytree(SAMPLE, landing)
    run_pipeline(landing, root / "wh", encoder=None)
    db = root / "wh" / "wiretrace.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    return {"nb": execute(db), "db": db, "sha_before": before}


def _cell(nb, marker: str):
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, f"expected one code cell containing {marker!r}"
    return cells[0]


def _outputs(cell, mime: str) -> list:
    return [o["data"][mime] for o in cell.get("outputs", []) if mime in o.get("data", {})]


def _png(cell) -> bytes:
    images = _outputs(cell, "image/png")
    assert len(images) == 1, "expected one image"
    data = base64.b64decode(images[0])
    assert data[:8] == PNG_MAGIC and len(data) > 20_000  # a drawn figure, not an empty canvas
    return data


def test_runs_without_error_and_leaves_the_warehouse_untouched(executed):
    nb = executed["nb"]
    assert all(o.get("output_type") != "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert hashlib.sha256(executed["db"].read_bytes()).hexdigest() == executed["sha_before"]


def test_heatmap(executed):
    cell = _cell(executed["nb"], "def reuse_grid")
    _png(cell)
    table = _outputs(cell, "text/html")[0]
    for col in ("source_from", "source_to", "direction_status", "text_matches", "quote_matches"):
        assert col in table


def test_provenance_graph(executed):
    _png(_cell(executed["nb"], "Provenance graph"))


def test_originality_table(executed):
    cell = _cell(executed["nb"], "marts.document_originality")
    _png(cell)
    table = _outputs(cell, "text/html")[-1]
    con = duckdb.connect(str(executed["db"]), read_only=True)
    try:
        sources = [r[0] for r in con.sql("SELECT source FROM marts.documents").fetchall()]
    finally:
        con.close()
    assert "share_original" in table and "inferred_source" in table
    body = table.split("<tbody>", 1)[1]
    assert body.count("<tr>") == len(sources) == 5
    for source in sources:
        assert html.escape(f'"{source}"') in body or html.escape(source) in body


def test_side_by_side_highlights_matches_by_kind(executed):
    cell = _cell(executed["nb"], "side-by-side")
    page = _outputs(cell, "text/html")[0]
    assert "class='side-by-side'" in page
    marks = re.findall(r"<mark class='match-(exact|near|paraphrase)'[^>]*>(.*?)</mark>", page, flags=re.S)
    con = duckdb.connect(str(executed["db"]), read_only=True)
    try:
        # the pair the notebook picks: the most text reuse among pairs with an inferred direction
        a, b = con.sql(
            """SELECT doc_id_a, doc_id_b FROM marts.document_pairs WHERE NOT same_source
               ORDER BY direction IN ('a->b', 'b->a') DESC, n_nonquote DESC, n_exact + n_near + n_paraphrase DESC,
                        doc_id_a, doc_id_b LIMIT 1"""
        ).fetchall()[0]
        matched = con.sql(
            """SELECT s.text FROM staging.sentences s WHERE s.sentence_id IN (
                   SELECT sentence_id_a FROM marts.sentence_matches WHERE doc_id_a = ? AND doc_id_b = ?
                   UNION SELECT sentence_id_b FROM marts.sentence_matches WHERE doc_id_a = ? AND doc_id_b = ?)""",
            params=[a, b, a, b],
        ).fetchall()
        sources = {
            r[0]
            for r in con.sql(
                "SELECT source FROM raw.documents WHERE doc_id IN (?, ?)", params=[a, b]
            ).fetchall()
        }
    finally:
        con.close()
    assert len(marks) == len(matched) > 10
    assert sorted(text for _kind, text in marks) == sorted(html.escape(t) for (t,) in matched)
    assert {kind for kind, _text in marks} >= {"near", "paraphrase"}
    for source in sources:
        assert html.escape(source) in page
    # unmatched sentences are shown too, not highlighted
    assert "class='match-none'" in page


@pytest.mark.slow
def test_charts_are_keyed_by_document_when_an_outlet_published_twice(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    # a second Press TV article: its own first half of the story with a new closing paragraph
    first = next(landing.glob("001_*.txt")).read_text(encoding="utf-8").split("\n\n")
    follow_up = "\n\n".join(first[: len(first) // 2]) + (
        "\n\nResistance commanders said on Tuesday that talks with the new rulers had stalled again."
    )
    (landing / "005_presstv_follow_up.txt").write_text(follow_up, encoding="utf-8")
    with (landing / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write("005_presstv_follow_up.txt,Press TV,,a second Press TV article\n")
    run_pipeline(landing, tmp_path / "wh", encoder=None)
    nb = execute(tmp_path / "wh" / "wiretrace.duckdb")

    orig = _cell(nb, "marts.document_originality")
    _png(orig)
    body = _outputs(orig, "text/html")[-1].split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    documents = [re.findall(r"<td>(.*?)</td>", r, flags=re.S)[0].strip() for r in rows]
    assert len(rows) == 6 and len(set(documents)) == 6, documents  # one bar and one row per article
    assert {d for d in documents if "Press TV" in d} == {
        html.escape('"Press TV (1)"'),
        html.escape('"Press TV (2)"'),
    }
    # the pairs table and the provenance graph use the same labels
    pairs = _outputs(_cell(nb, "marts.document_pairs p"), "text/html")[-1]
    assert "document_a" in pairs and "Press TV (2)" in pairs
    _png(_cell(nb, "Provenance graph"))


@pytest.mark.slow
def test_make_notebook_run_executes_it_headless(sample_warehouse, tmp_path):
    """The Makefile's notebook-run recipe, in a copy of the project: an executed notebook and an HTML copy,
    and nothing printed that looks like a warning."""
    pytest.importorskip("nbconvert", reason="nbconvert is in the notebook and dev extras")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    body = re.search(r"^notebook-run: .*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    script = "\n".join(line[1:] for line in body.splitlines()).replace("\\\n", " ")
    commands = [c for c in script.splitlines() if not c.startswith("@")]  # not the checks and the echo
    values = {
        "$(BIN)": str(Path(sys.executable).parent),
        "$(NOTEBOOK)": "notebooks/reuse_analysis",
        "$(NOTEBOOK_DB)": f"WIRETRACE_DB={sample_warehouse / 'wiretrace.duckdb'}",
    }
    script = re.sub(r"\$\((BIN|NOTEBOOK|NOTEBOOK_DB)\)", lambda m: values[m.group(0)], "\n".join(commands))
    (tmp_path / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, tmp_path / "notebooks" / NOTEBOOK.name)
    proc = subprocess.run(
        ["sh", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not re.search(r"warn", proc.stdout + proc.stderr, flags=re.I), proc.stderr[-3000:]
    executed = json.loads((tmp_path / "notebooks" / "reuse_analysis.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3
    assert not [o for o in outputs if o.get("output_type") == "error"]
    page = (tmp_path / "notebooks" / "reuse_analysis.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in page and "Provenance graph" in page
    # the paired script is left as it is in git
    assert (tmp_path / "notebooks" / NOTEBOOK.name).read_text() == NOTEBOOK.read_text()
