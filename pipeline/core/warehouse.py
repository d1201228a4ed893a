"""DuckDB storage: the working database the pipeline writes, and the analysts' database it publishes.

Two files live in the warehouse folder:

* ``work.duckdb``: written only by the pipeline (one writer at a time);
* ``wiretrace.duckdb``: the analysts' copy. ``publish`` writes a complete new file next to it and swaps it
  in with ``os.replace``, so a notebook holding the old file open keeps reading a consistent snapshot and
  never blocks a run.

Schemas: ``raw`` (what came in), ``staging`` (clean text, removed spans, sentences), ``marts``
(overlap results and analyst views), ``meta`` (schema version, run log ``meta.runs``). All four are
published; ``cache`` (the values the overlap stage keeps between runs, see
``pipeline.core.overlap.store``) stays in the working database.

The tables, their columns and keys are declared once, in the registry ``pipeline.core.tables``; the
migration steps (``MIGRATIONS``) are generated from it, and ``ensure_schema`` applies the steps newer than
the version stored in ``meta.schema_version``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import tables

__all__ = [
    "WORK_DB_NAME",
    "ANALYST_DB_NAME",
    "connect",
    "ensure_schema",
    "insert_new",
    "replace_table",
    "publish",
    "table_counts",
    "CURRENT_DOCUMENTS",
]

WORK_DB_NAME = "work.duckdb"
ANALYST_DB_NAME = "wiretrace.duckdb"

#: the migration steps, generated from the table registry (pipeline.core.tables)
MIGRATIONS: list[tuple[int, list[str]]] = tables.migrations()

#: The documents every mart is computed from, in one place: documents neither superseded by a
#: corrected file nor forgotten (``wiretrace forget``). Superseded and forgotten rows stay in
#: ``raw.documents`` for the record.
CURRENT_DOCUMENTS = "(SELECT * FROM raw.documents WHERE status = 'current')"
SCHEMA_VERSION = MIGRATIONS[-1][0]


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> int:
    """Create or migrate the working schema; return the version now in force."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(tables.create_table_sql(tables.table("meta.schema_version")))
    row = con.sql("SELECT max(version) FROM meta.schema_version").fetchall()[0]
    current = row[0] if row and row[0] is not None else 0
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"warehouse schema version {current} is newer than this code's {SCHEMA_VERSION}; upgrade wiretrace"
        )
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in statements:
                con.execute(statement)
            con.execute("INSERT INTO meta.schema_version VALUES (?)", [version])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        current = version
    return current


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[Callable[[], None]]:
    """Lower DuckDB's memory limit to ``limit`` for a block, then restore it. The block receives a
    function that restores the earlier limit at once (for work the low limit cannot hold)."""
    before = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    lifted = False

    def lift() -> None:
        nonlocal lifted
        if not lifted:
            con.execute("SET memory_limit = ?", [before])
            lifted = True

    con.execute("SET memory_limit = ?", [limit])
    try:
        yield lift
    finally:
        lift()


def _frame(rows: list[dict] | pl.DataFrame, schema: dict | None = None) -> pl.DataFrame:
    if isinstance(rows, pl.DataFrame):
        return rows
    return pl.DataFrame(rows, schema=schema, infer_schema_length=None)


def insert_new(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[dict] | pl.DataFrame, schema: dict | None = None
) -> int:
    """Insert rows whose primary key is not present yet; return how many were new."""
    frame = _frame(rows, schema)
    if frame.height == 0:
        return 0
    before = con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    con.register("_incoming", frame.to_arrow())
    try:
        con.execute(f"INSERT OR IGNORE INTO {table} ({cols}) SELECT {cols} FROM _incoming")
    finally:
        con.unregister("_incoming")
    return con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0] - before


def replace_table(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, order_by: Iterable[str] | None = None
) -> int:
    """Replace ``table`` with ``frame`` (a full recompute), rows in a deterministic order."""
    con.register("_frame", frame.to_arrow())
    try:
        order = ""
        cols = list(order_by or [])
        if cols:
            order = " ORDER BY " + ", ".join(f'"{c}"' for c in cols)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame{order}")
    finally:
        con.unregister("_frame")
    return frame.height


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.sql(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('raw','staging','marts') "
        "ORDER BY 1, 2"
    ).fetchall()
    return {f"{s}.{t}": con.sql(f'SELECT count(*) FROM "{s}"."{t}"').fetchall()[0][0] for s, t in rows}


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def publish(con: duckdb.DuckDBPyConnection, analyst_path: str | Path, finalize=None) -> dict[str, int]:
    """Copy every raw/staging/marts/meta table of the working database into a new file and swap it in.

    ``finalize(new_con)`` runs on the new file before the swap (views, comments). Returns row counts.
    """
    analyst_path = Path(analyst_path)
    analyst_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = analyst_path.with_name(f".{analyst_path.name}.{os.getpid()}.tmp")
    for leftover in (tmp, Path(str(tmp) + ".wal")):
        if leftover.exists():
            leftover.unlink()
    tables = con.sql(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name IN ('raw','staging','marts','meta') "
        "ORDER BY 1, 2"
    ).fetchall()
    keys = {
        (r[0], r[1]): r[2]
        for r in con.sql(
            "SELECT schema_name, table_name, array_to_string(constraint_column_names, ',') "
            "FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database()"
        ).fetchall()
    }
    # the path is ours (not user data); ATTACH takes no parameters, so it is quoted as a SQL string
    con.execute(f"ATTACH {_sql_string(str(tmp))} AS publish_target")
    counts: dict[str, int] = {}
    try:
        for schema, table in tables:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS publish_target."{schema}"')
            order = keys.get((schema, table))
            order_sql = " ORDER BY " + ", ".join(f'"{c}"' for c in order.split(",")) if order else ""
            con.execute(
                f'CREATE TABLE publish_target."{schema}"."{table}" AS SELECT * FROM "{schema}"."{table}"{order_sql}'
            )
            counts[f"{schema}.{table}"] = con.sql(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][
                0
            ]
    finally:
        con.execute("DETACH publish_target")
    if finalize is not None:
        new = duckdb.connect(str(tmp))
        try:
            finalize(new)
            new.execute("CHECKPOINT")
        finally:
            new.close()
    os.replace(tmp, analyst_path)
    return counts
