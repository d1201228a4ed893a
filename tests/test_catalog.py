"""The published warehouse documents itself: comments on every table, view and column; README in sync."""

from pathlib import Path

import duckdb
import pytest

from pipeline.core import tables
from pipeline.core.catalog import render_readme

README = Path(__file__).resolve().parents[1] / "warehouse" / "README.md"


@pytest.fixture(scope="module")
def pub(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse / "wiretrace.duckdb"), read_only=True)
    yield con
    con.close()


def test_every_table_view_and_column_has_a_comment(pub):
    objects = pub.sql(
        """SELECT schema_name, table_name, comment FROM duckdb_tables()
           UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal
           AND schema_name IN ('raw', 'staging', 'marts')"""
    ).fetchall()
    assert len(objects) >= 13 + len(tables.VIEWS)
    assert [f"{s}.{t}" for s, t, c in objects if not c] == []
    missing = pub.sql(
        """SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns()
           WHERE schema_name IN ('raw', 'staging', 'marts') AND (comment IS NULL OR comment = '')"""
    ).fetchall()
    assert missing == []


def test_readme_is_in_sync_with_the_catalogue(pub):
    expected = render_readme(pub)
    assert README.read_text() == expected, (
        "run `python -m pipeline.core.catalog` to regenerate warehouse/README.md"
    )


def _examples() -> dict[str, str]:
    return {e.name: e.example for e in (*tables.TABLES.values(), *tables.VIEWS.values()) if e.example}


def test_example_queries_answer_on_the_sample(pub):
    answers = {name: pub.sql(sql).fetchall() for name, sql in _examples().items()}
    # the sample corpus has no bad input: the one example about ingest errors has nothing to list
    assert answers.pop("raw.ingest_errors") == []
    # every other example the README shows answers with rows on the sample corpus
    assert [name for name, rows in answers.items() if not rows] == []


def test_views_answer_the_first_questions(pub):
    matrix = pub.sql("SELECT DISTINCT source_from, source_to FROM marts.outlet_reuse_matrix").fetchall()
    assert ("AFP", "AceNewsDesk") in matrix or ("AceNewsDesk", "AFP") in matrix
    changes = {r[0] for r in pub.sql("SELECT DISTINCT change FROM marts.story_changes").fetchall()}
    assert {"added", "dropped"} <= changes and changes & {"kept", "altered"}
    top = pub.sql("SELECT n_documents, example_text FROM marts.top_republished_sentences LIMIT 1").fetchall()
    assert top and top[0][0] >= 3
    quotes = pub.sql(
        "SELECT sum(quote_matches), sum(text_matches) FROM marts.quote_vs_text_reuse"
    ).fetchall()[0]
    assert quotes[0] > 0 and quotes[1] > 0
    docs = pub.sql("SELECT count(*), count(published_at) FROM marts.documents").fetchall()[0]
    assert docs == (5, 2)
