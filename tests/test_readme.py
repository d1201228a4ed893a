"""The README is a user's first hour: it lists every command and make target, its query examples run
against a warehouse built from the sample corpus with the pinned DuckDB, the DuckDB API differences it
warns about are real, and it suggests no tool the project does not install."""

from __future__ import annotations

import contextlib
import io
import re
import shutil

import duckdb
import polars as pl
import pytest

from pipeline.cli import COMMANDS
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    body = README.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def fenced(text: str, lang: str = "") -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def test_every_command_and_make_target_is_listed():
    for command in COMMANDS:
        assert f"wiretrace {command}" in section("Command line"), command
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*?)(?<!\\)$", makefile, flags=re.M | re.S).group(1)
    targets = phony.replace("\\\n", " ").split()
    assert {"run", "test", "ui", "notebook", "notebook-run", "clean-warehouse"} <= set(targets)
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), f"{target} has no rule"
        assert f"`make {target}`" in README, target


def test_commands_shown_are_installed_ones():
    for title in ("Quick start (fresh machine)", "Notebooks", "Command line"):
        for block in fenced(section(title)):
            for line in block.splitlines():
                assert line.split()[0] in ("make", "wiretrace"), line
    for text in (README, (REPO / "warehouse" / "README.md").read_text(encoding="utf-8")):
        assert not re.search(r"\bduckdb -|`duckdb `", text)  # DuckDB's shell is not installed


def test_query_examples_run_on_the_sample_warehouse(sample_warehouse, tmp_path, monkeypatch):
    (tmp_path / "warehouse").mkdir()
    shutil.copy(sample_warehouse / "wiretrace.duckdb", tmp_path / "warehouse" / "wiretrace.duckdb")
    monkeypatch.chdir(tmp_path)
    [code] = fenced(section("Querying the warehouse"), "python")
    scope: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert "Washington Newsday" in out.getvalue()  # .show() printed the per-source counts
    assert scope["n_matches"] > 10
    assert isinstance(scope["by_kind"], pl.DataFrame) and set(scope["by_kind"]["kind"]) <= {
        "exact",
        "near",
        "paraphrase",
    }
    assert len(scope["top"]) == 5


def test_the_api_differences_the_readme_warns_about(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse / "wiretrace.duckdb"), read_only=True)
    try:
        assert "no `.fetchone()`" in README and "ResourceInUseException" in README
        with pytest.raises(AttributeError):
            con.sql("SELECT 1").fetchone()
        assert con.sql("SELECT 1").fetchall()[0] == (1,)
        con.execute("SELECT 1").fetchone()  # not fetched to the end
        with pytest.raises(duckdb.Error, match="unfinished result"):
            con.sql("SELECT 2").fetchall()
        con.execute("SELECT 1").fetchall()  # fetched to the end: the connection is free again
        assert con.sql("SELECT 2").fetchall() == [(2,)]
    finally:
        con.close()
