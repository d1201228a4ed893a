"""The registry of the warehouse: every table and view, declared once.

Each table is declared with its name, description, key and columns (name, polars type, meaning; for
tables created by DDL also NOT NULL, a default and the schema version that added it), in the modules
of this package by schema (``raw``, ``staging``, ``meta``, ``marts``; ``cache``: the overlap stage's
stored values and ``meta.stage_state``, working database only); the analyst views with their SQL
in ``views``. Everything else is generated from these declarations:

* the DuckDB DDL and its migrations (``migrations()``, applied by ``warehouse.ensure_schema``);
* the polars schemas the stages build their frames with (``polars_schema(name)``);
* ``COMMENT ON`` for every table, view and column of the published database, and the views
  themselves (``finalize_published``);
* ``warehouse/README.md`` (``python -m pipeline.core.catalog``);
* the Dagster assets' table schemas (``pipeline.defs.util.table_schema``).

Changing the schema: a column or table that has shipped is never edited in place (databases built
with it exist). Add a column with ``since=`` the next version (or a table with ``since=``) and the
next migration step (``ALTER TABLE ... ADD COLUMN``, ``CREATE TABLE``) follows. The overlap marts
(``ddl=False``) are replaced whole by every run, so their columns change with the code.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.core.tables import cache, marts, meta, raw, staging, views
from pipeline.core.tables.model import Column, Table, View, sql_type
from pipeline.core.tables.views import BEST_DATE_SQL, BEST_PRECISION_SQL

__all__ = [
    "Column",
    "Table",
    "View",
    "TABLES",
    "VIEWS",
    "OVERLAP_TABLES",
    "BEST_DATE_SQL",
    "BEST_PRECISION_SQL",
    "table",
    "polars_schema",
    "sql_type",
    "migrations",
    "create_table_sql",
    "descriptions",
    "finalize_published",
]

#: every table, by name, in the order the docs list them
TABLES: dict[str, Table] = {
    t.name: t for t in (*raw.TABLES, *staging.TABLES, *meta.TABLES, *marts.TABLES, *cache.TABLES)
}
#: every analyst view, by name, in creation order
VIEWS: dict[str, View] = {v.name: v for v in views.VIEWS}
#: the tables the overlap stage writes (marts, replaced whole), by short name, in their order
OVERLAP_TABLES: tuple[str, ...] = tuple(t.name.split(".", 1)[1] for t in marts.TABLES)
#: the values the overlap stage keeps between runs in the working database (``cache.*``; the clean
#: stage keeps its own, ``cache.document_lines``)
OVERLAP_CACHE_TABLES: tuple[str, ...] = tuple(
    name for name in TABLES if name.startswith("cache.") and name != "cache.document_lines"
)

#: schemas the first migration creates (``meta`` exists before any migration: it holds the version)
_SCHEMAS = ("raw", "staging", "marts")


def table(name: str) -> Table:
    """The table ``schema.name``."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in the registry") from None


def polars_schema(name: str) -> dict[str, pl.DataType]:
    """Column name -> polars type of table ``schema.name``, in column order."""
    return table(name).polars_schema()


def _column_sql(c: Column, inline_key: bool) -> str:
    sql = f"{c.name} {c.sql_type}"
    if inline_key:
        sql += " PRIMARY KEY"
    if c.not_null:
        sql += " NOT NULL"
    if c.default is not None:
        sql += f" DEFAULT {c.default}"
    return sql


def create_table_sql(t: Table, version: int | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``t`` with its columns as of schema ``version`` (default: all)."""
    cols = [c for c in t.columns if version is None or c.since <= version]
    inline = len(t.key) == 1
    parts = [_column_sql(c, inline and c.name == t.key[0]) for c in cols]
    if len(t.key) > 1:
        parts.append("PRIMARY KEY (" + ", ".join(t.key) + ")")
    return f"CREATE TABLE IF NOT EXISTS {t.name} ({', '.join(parts)})"


def migrations() -> list[tuple[int, list[str]]]:
    """The schema's migration steps, oldest first: (version, statements). Version 0 is the version
    table itself, created before any step runs (``warehouse.ensure_schema``)."""
    ddl = [t for t in TABLES.values() if t.ddl and t.since >= 1]
    versions = sorted({t.since for t in ddl} | {c.since for t in ddl for c in t.columns})
    steps = []
    for version in versions:
        statements = [f"CREATE SCHEMA IF NOT EXISTS {s}" for s in _SCHEMAS] if version == 1 else []
        # a schema first used by this step's new tables (``meta`` always exists)
        statements += [
            f"CREATE SCHEMA IF NOT EXISTS {s}"
            for s in sorted({t.schema for t in ddl if t.since == version} - {"meta", *_SCHEMAS})
        ]
        for t in ddl:  # new columns of existing tables first, then new tables
            if t.since < version:
                statements += [
                    f"ALTER TABLE {t.name} ADD COLUMN IF NOT EXISTS {_column_sql(c, False)}"
                    for c in t.columns
                    if c.since == version
                ]
        statements += [create_table_sql(t, version) for t in ddl if t.since == version]
        steps.append((version, statements))
    return steps


def descriptions(con: duckdb.DuckDBPyConnection | None = None) -> dict[str, tuple[str, dict[str, str]]]:
    """Every table and view with its column descriptions. A view column named like a documented table
    column (doc_id, source, story_id ...) takes that description unless the view documents its own;
    with ``con``, the view columns are read from that database."""
    shared: dict[str, str] = {}
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for t in TABLES.values():
        for c in t.columns:
            shared.setdefault(c.name, c.description)
        out[t.name] = (t.description, {c.name: c.description for c in t.columns})
    for v in VIEWS.values():
        cols = dict(v.columns)
        if con is not None:
            schema, name = v.name.split(".")
            for (col,) in con.sql(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index",
                params=[schema, name],
            ).fetchall():
                if col not in cols and col in shared:
                    cols[col] = shared[col]
        out[v.name] = (v.description, cols)
    return out


def _quote_ident(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _sql_literal(text: str) -> str:
    # COMMENT ON takes a constant, not a parameter; the text is the project's own documentation
    return "'" + text.replace("'", "''") + "'"


def finalize_published(con: duckdb.DuckDBPyConnection) -> None:
    """Create the analyst views and write COMMENT ON for every documented table, view and column."""
    existing = {
        f"{s}.{t}"
        for s, t in con.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    for v in VIEWS.values():
        try:
            con.execute(f"CREATE OR REPLACE VIEW {_quote_ident(v.name)} AS {v.sql}")
        except duckdb.CatalogException:
            continue  # a table it reads is not there (a partial warehouse, e.g. before the first overlap run)
        existing.add(v.name)
    columns = {
        (f"{s}.{t}", c)
        for s, t, c in con.sql("SELECT schema_name, table_name, column_name FROM duckdb_columns()").fetchall()
    }
    for name, (description, cols) in descriptions(con).items():
        if name not in existing:
            continue
        kind = "VIEW" if name in VIEWS else "TABLE"
        con.execute(f"COMMENT ON {kind} {_quote_ident(name)} IS " + _sql_literal(description))
        for col, text in cols.items():
            if (name, col) in columns:
                con.execute(f'COMMENT ON COLUMN {_quote_ident(name)}."{col}" IS ' + _sql_literal(text))
