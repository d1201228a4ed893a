"""The table registry is the one declaration of the warehouse: the database, the frames the stages build,
the Dagster assets and the docs all agree with it."""

import duckdb
import polars as pl
import pytest

from pipeline.core import tables, warehouse
from pipeline.core.compare import FULL_FEATURES
from pipeline.core.overlap import DOCUMENTS_SCHEMA, SENTENCES_SCHEMA, compute_overlap
from pipeline.core.overlap import TABLES as OVERLAP_RESULT_TABLES
from pipeline.core.stages import DOCUMENTS_SQL, SENTENCES_SQL
from pipeline.definitions import defs


def _columns(con, name):
    schema, table = name.split(".")
    return con.sql(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? AND database_name = current_database() ORDER BY column_index",
        params=[schema, table],
    ).fetchall()


def _primary_keys(con) -> dict[str, tuple[str, ...]]:
    return {
        f"{s}.{t}": tuple(cols)
        for s, t, cols in con.sql(
            "SELECT schema_name, table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database()"
        ).fetchall()
    }


def test_a_new_working_database_has_exactly_the_registry_tables():
    con = duckdb.connect()
    assert warehouse.ensure_schema(con) == warehouse.SCHEMA_VERSION
    created = {
        f"{s}.{t}"
        for s, t in con.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal"
        ).fetchall()
    }
    assert created == {name for name, t in tables.TABLES.items() if t.ddl}
    keys = _primary_keys(con)
    for name in created:
        t = tables.table(name)
        key_cols = set(t.key) if t.ddl else set()
        assert _columns(con, name) == [
            (c.name, c.sql_type, not (c.not_null or c.name in key_cols)) for c in t.columns
        ], name
        assert keys.get(name, ()) == t.key, name


def test_an_older_database_is_migrated_to_the_registry_schema():
    fresh, old = duckdb.connect(), duckdb.connect()
    warehouse.ensure_schema(fresh)
    # a database written by the first schema version: its step only, then the code's migrations
    old.execute("CREATE SCHEMA meta")
    old.execute(tables.create_table_sql(tables.table("meta.schema_version")))
    version, statements = tables.migrations()[0]
    for statement in statements:
        old.execute(statement)
    old.execute("INSERT INTO meta.schema_version VALUES (?)", [version])
    old.execute("INSERT INTO raw.raw_files (path, sha256) VALUES ('a.txt', 'x')")
    assert "n_skipped" not in [c[0] for c in _columns(old, "raw.raw_files")]
    warehouse.ensure_schema(old)
    for name in (n for n, t in tables.TABLES.items() if t.ddl):
        assert _columns(old, name) == _columns(fresh, name), name
    assert _primary_keys(old) == _primary_keys(fresh)
    # the added columns take their declared defaults on the rows that were there
    assert old.sql("SELECT n_skipped FROM raw.raw_files").fetchall() == [(0,)]


def test_the_published_warehouse_matches_the_registry(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse / "wiretrace.duckdb"), read_only=True)
    try:
        for name, t in tables.TABLES.items():
            if not t.published:
                assert _columns(con, name) == [], name  # the working database's own tables stay there
                continue
            assert [(c, typ) for c, typ, _ in _columns(con, name)] == [
                (c.name, c.sql_type) for c in t.columns
            ], name
            comments = dict(
                con.sql(
                    "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
                    params=name.split("."),
                ).fetchall()
            )
            assert comments == {c.name: c.description for c in t.columns}, name
        views = {
            f"{s}.{v}": comment
            for s, v, comment in con.sql(
                "SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        assert views == {name: v.description for name, v in tables.VIEWS.items()}
        for name, v in tables.VIEWS.items():
            view_columns = [c for c, _, _ in _columns(con, name)]
            assert set(v.columns) <= set(view_columns), name  # a documented column the view lacks
    finally:
        con.close()


def _overlap_frames(con: duckdb.DuckDBPyConnection | None) -> dict[str, pl.DataFrame]:
    if con is None:  # an empty corpus
        documents = pl.DataFrame(schema=DOCUMENTS_SCHEMA)
        sentences = pl.DataFrame(schema=SENTENCES_SCHEMA)
    else:
        documents, sentences = con.sql(DOCUMENTS_SQL).pl(), con.sql(SENTENCES_SQL).pl()
    return compute_overlap(documents, sentences, encoder=None).tables()


@pytest.mark.parametrize("corpus", ["sample", "empty"])
def test_the_overlap_stage_produces_the_registry_schemas(sample_warehouse, corpus):
    assert tables.OVERLAP_TABLES == OVERLAP_RESULT_TABLES
    con = (
        duckdb.connect(str(sample_warehouse / "work.duckdb"), read_only=True) if corpus == "sample" else None
    )
    try:
        frames = _overlap_frames(con)
    finally:
        if con is not None:
            con.close()
    assert list(frames) == list(tables.OVERLAP_TABLES)
    for name, frame in frames.items():
        assert dict(frame.schema) == tables.polars_schema(f"marts.{name}"), name
        if corpus == "sample":
            assert frame.height > 0, name


def test_the_match_signals_are_the_graders():
    matches = tables.table("marts.sentence_matches").column_names
    signals = matches[matches.index("tier") + 1 : matches.index("is_quote")]
    assert tuple(signals) == FULL_FEATURES + ("verifier", "probability", "conflict")


# raw tables the ingest asset writes as side records, not assets of their own
_UNTRACKED = {"corrections", "forgotten_paths"}


def test_the_dagster_assets_carry_the_registry_schema():
    graph = defs.resolve_asset_graph()
    seen = set()
    for key in graph.get_all_asset_keys():
        name = ".".join(key.path)
        if name not in tables.TABLES:
            continue
        seen.add(name)
        node = graph.get(key)
        assert node.description == tables.table(name).description, name
        schema = node.metadata["dagster/column_schema"]
        assert [(c.name, c.type, c.description) for c in schema.columns] == [
            (c.name, c.sql_type, c.description) for c in tables.table(name).columns
        ], name
    # every table a stage writes is an asset
    assert seen == {
        n for n in tables.TABLES if not n.startswith("meta.") and n.split(".")[1] not in _UNTRACKED
    }


def test_polars_schema_names_the_table():
    assert tables.polars_schema("staging.sentences")["n_tokens"] == pl.Int32
    with pytest.raises(KeyError, match="no table 'marts.nope'"):
        tables.polars_schema("marts.nope")
