"""DuckDB storage: the working database the pipeline writes, and the analysts' database it publishes.

Two files live in the warehouse folder:

* ``work.duckdb``: written only by the pipeline (one writer at a time);
* ``wiretrace.duckdb``: the analysts' copy. ``publish`` writes a new file next to it and swaps it in with
  ``os.replace``, so a notebook holding the old file open keeps reading a consistent snapshot and never
  blocks a run. After the first publish, the new file is a copy of the published one in which only the
  changed rows of the changed tables are written (``publish(changed=...)``); the key and row hash of
  each published row are kept in the working database (schema ``publish_rows``), so that the next
  publish compares the working rows with them instead of hashing the published file's rows again (only
  while the published file is the one they were written with: same size and modification time; a
  publish that fails before its swap drops them).

Schemas: ``raw`` (what came in), ``staging`` (clean text, removed spans, sentences), ``marts``
(overlap results and analyst views), ``meta`` (schema version, run log ``meta.runs``). All four are
published; ``cache`` (the values the overlap stage keeps between runs, see
``pipeline.core.overlap.store``) stays in the working database.

The tables, their columns and keys are declared once, in the registry ``pipeline.core.tables``; the
migration steps (``MIGRATIONS``) are generated from it, and ``ensure_schema`` applies the steps newer than
the version stored in ``meta.schema_version``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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
        for attempt in range(INDEX_MEMORY_RETRIES + 1):
            try:
                con.execute(f"INSERT OR IGNORE INTO {table} ({cols}) SELECT {cols} FROM _incoming")
                break
            except duckdb.OutOfMemoryException:
                # the primary-key indexes DuckDB has loaded stay in memory and count against its limit,
                # which a stage may have lowered (``stages.OVERLAP_DUCKDB_MEMORY_MB``): the statement
                # failed whole (autocommit), so raise the limit and insert again
                if attempt == INDEX_MEMORY_RETRIES or not _raise_memory_limit(con):
                    raise
    finally:
        con.unregister("_incoming")
    return con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0] - before


#: how many times :func:`insert_new` doubles DuckDB's memory limit for an insert that ran out of it
INDEX_MEMORY_RETRIES = 4


def _raise_memory_limit(con: duckdb.DuckDBPyConnection) -> bool:
    """Double DuckDB's memory limit (at least its non-evictable use, mostly loaded indexes, plus 256
    MiB); False when no limit can be read."""
    limit = con.sql("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchall()
    used = con.sql(
        "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ART_INDEX'"
    ).fetchall()[0][0]
    size = _bytes(limit[0][0]) if limit else None
    if size is None:
        return False
    con.execute("SET memory_limit = ?", [f"{max(2 * size, int(used) + 256 * 2**20) // 2**20}MiB"])
    return True


def _bytes(text: str) -> int | None:
    """Bytes of a DuckDB size setting such as ``256.0 MiB`` or ``1.5 GiB`` (None when unreadable)."""
    units = {
        "bytes": 1,
        "kib": 2**10,
        "mib": 2**20,
        "gib": 2**30,
        "tib": 2**40,
        "kb": 10**3,
        "mb": 10**6,
        "gb": 10**9,
        "tb": 10**12,
    }
    parts = str(text).strip().split()
    try:
        return int(float(parts[0]) * units[parts[1].lower()]) if len(parts) == 2 else int(parts[0])
    except (ValueError, KeyError, IndexError):
        return None


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


def _published_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = ? AND schema_name IN ('raw','staging','marts','meta') ORDER BY 1, 2",
        [database],
    ).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, table],
    ).fetchall()


#: schema of the working database holding, per published table with a key, the key and row hash of
#: each row as the last publish wrote it (``_update_table``): the next publish reads the published
#: rows' hashes there instead of hashing the published file's rows again
PUBLISHED_ROWS_SCHEMA = "publish_rows"


def _rows_state(schema: str, table: str) -> str:
    return f'{PUBLISHED_ROWS_SCHEMA}."{schema}__{table}"'


def _drop_rows_state(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {_rows_state(schema, table)}")


def _has_rows_state(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [PUBLISHED_ROWS_SCHEMA, f"{schema}__{table}"],
        ).fetchall()[0][0]
    )


def _update_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, key: list[str]) -> int | None:
    """Bring ``publish_target.schema.table`` (same columns as the working table) to the working table's rows
    by ``key``, comparing a hash of each row: published rows whose key is gone or whose row changed are
    deleted, working rows whose key is new or whose row changed are inserted. The published rows' keys
    and hashes are those the last publish stored (``PUBLISHED_ROWS_SCHEMA``) when there are any (kept up
    to date with the same deletions and insertions), else they are read from the published file and the
    working rows' ones are stored for the next publish.
    Returns the rows deleted plus inserted, or None when the key turns out not to identify rows (the
    caller writes the table whole)."""
    src, dst = f'"{schema}"."{table}"', f'publish_target."{schema}"."{table}"'
    cols = ", ".join(f'"{c}"' for c in key)
    on = " AND ".join(f'd."{c}" = g."{c}"' for c in key)
    state = _rows_state(schema, table)
    stored = _has_rows_state(con, schema, table)
    published = state
    if not stored:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pub_dst AS SELECT {cols}, hash(t) AS _h FROM {dst} t")
        published = "_pub_dst"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pub_src AS SELECT {cols}, hash(t) AS _h FROM {src} t")
    try:
        # published rows whose key is gone or whose row changed; working rows new or changed
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _pub_gone AS SELECT * FROM {published} ANTI JOIN _pub_src USING ({cols}, _h)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _pub_new AS SELECT * FROM _pub_src ANTI JOIN {published} USING ({cols}, _h)"
        )
        gone = con.execute(f"DELETE FROM {dst} AS d USING _pub_gone g WHERE {on}").fetchall()[0][0]
        added = con.execute(
            f"INSERT INTO {dst} SELECT t.* FROM {src} t SEMI JOIN _pub_new g USING ({cols}) ORDER BY {cols}"
        ).fetchall()[0][0]
        n_src = con.sql(f"SELECT count(*) FROM {src}").fetchall()[0][0]
        n_dst = con.sql(f"SELECT count(*) FROM {dst}").fetchall()[0][0]
        if n_src != n_dst:
            _drop_rows_state(con, schema, table)
        elif stored:  # the stored hashes follow the published rows: the same deletions and insertions
            con.execute(f"DELETE FROM {state} AS d USING _pub_gone g WHERE {on}")
            con.execute(f"INSERT INTO {state} SELECT * FROM _pub_new")
        else:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {PUBLISHED_ROWS_SCHEMA}")
            con.execute(f"CREATE OR REPLACE TABLE {state} AS SELECT * FROM _pub_src")
    finally:
        for temp in ("_pub_dst", "_pub_src", "_pub_gone", "_pub_new"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    if n_src != n_dst:
        return None
    return int(gone) + int(added)


def publish(
    con: duckdb.DuckDBPyConnection,
    analyst_path: str | Path,
    finalize=None,
    changed: Iterable[str] | None = None,
) -> dict[str, int]:
    """Write the analysts' file from every raw/staging/marts/meta table of the working database, into a
    new file that is swapped in with ``os.replace`` (open readers keep their snapshot).

    Without ``changed`` (or when the analysts' file does not exist) the new file is written whole, each
    table sorted by its key. With ``changed`` (names ``schema.table``), the new file starts as a copy of the
    published one and only those tables are written: a table with a key and the same columns gets only
    its changed rows (rows no longer in the working table deleted, new or changed rows appended); any
    other changed table is written whole. The caller vouches that the tables not in ``changed`` are
    unchanged since the published file was written (``pipeline.core.stages.stage_publish`` keeps their
    fingerprints). ``finalize(new_con)`` runs on the new file before the swap (views, comments). Returns
    row counts of every table, and under ``"publish_changed_rows"`` the rows written or deleted (-1 for a
    whole file)."""
    try:
        counts = _publish(con, Path(analyst_path), finalize, changed)
    except BaseException:
        # the stored row hashes may describe a file that was not swapped in: the next publish hashes the
        # published file's rows again
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP SCHEMA IF EXISTS {PUBLISHED_ROWS_SCHEMA} CASCADE")
        raise
    _save_file_identity(con, Path(analyst_path))
    return counts


def _file_identity(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _save_file_identity(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Record which published file the stored row hashes describe (its size and modification time)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {PUBLISHED_ROWS_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {PUBLISHED_ROWS_SCHEMA}._file (size BIGINT, mtime_ns BIGINT)")
    con.execute(f"INSERT INTO {PUBLISHED_ROWS_SCHEMA}._file VALUES (?, ?)", _file_identity(path))


def _stored_hashes_valid(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether the stored row hashes were written with the published file as it is now (not a file
    replaced, restored or edited since)."""
    try:
        row = con.execute(f"SELECT size, mtime_ns FROM {PUBLISHED_ROWS_SCHEMA}._file").fetchall()
    except duckdb.Error:
        return False
    return len(row) == 1 and list(row[0]) == _file_identity(path)


def _publish(
    con: duckdb.DuckDBPyConnection,
    analyst_path: Path,
    finalize,
    changed: Iterable[str] | None,
) -> dict[str, int]:
    """:func:`publish` (which records the file the stored row hashes describe, or drops them on failure)."""
    analyst_path = Path(analyst_path)
    analyst_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = analyst_path.with_name(f".{analyst_path.name}.{os.getpid()}.tmp")
    for leftover in (tmp, Path(str(tmp) + ".wal")):
        if leftover.exists():
            leftover.unlink()
    work_db = con.sql("SELECT current_database()").fetchall()[0][0]
    tables_ = _published_tables(con, work_db)
    # the registry's keys (the overlap marts are written whole by their stage, without constraints)
    keys = {tuple(name.split(".", 1)): ",".join(t.key) for name, t in tables.TABLES.items() if t.key}
    incremental = changed is not None and analyst_path.is_file()
    todo = set(changed or ())
    if incremental:
        shutil.copyfile(analyst_path, tmp)
    if not incremental or not _stored_hashes_valid(con, analyst_path):
        # a new file, or a published file the stored row hashes do not describe
        con.execute(f"DROP SCHEMA IF EXISTS {PUBLISHED_ROWS_SCHEMA} CASCADE")
    # the path is ours (not user data); ATTACH takes no parameters, so it is quoted as a SQL string
    con.execute(f"ATTACH {_sql_string(str(tmp))} AS publish_target")
    counts: dict[str, int] = {}
    changed_rows = 0
    try:
        present = set(_published_tables(con, "publish_target"))
        for schema, table in sorted(present - set(tables_)):
            con.execute(f'DROP TABLE publish_target."{schema}"."{table}"')
            _drop_rows_state(con, schema, table)
        for schema, table in tables_:
            name = f"{schema}.{table}"
            key = keys.get((schema, table))
            same_columns = (schema, table) in present and _columns(con, work_db, schema, table) == _columns(
                con, "publish_target", schema, table
            )
            if incremental and same_columns and name not in todo:
                pass  # unchanged since the published file was written
            elif (
                incremental
                and same_columns
                and key
                and (n := _update_table(con, schema, table, key.split(","))) is not None
            ):
                changed_rows += n
            else:
                _drop_rows_state(con, schema, table)
                con.execute(f'CREATE SCHEMA IF NOT EXISTS publish_target."{schema}"')
                con.execute(f'DROP TABLE IF EXISTS publish_target."{schema}"."{table}"')
                order_sql = " ORDER BY " + ", ".join(f'"{c}"' for c in key.split(",")) if key else ""
                con.execute(
                    f'CREATE TABLE publish_target."{schema}"."{table}" AS SELECT * FROM "{schema}"."{table}"{order_sql}'
                )
                if incremental:
                    changed_rows += con.sql(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
            counts[name] = con.sql(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
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
    counts["publish_changed_rows"] = changed_rows if incremental else -1
    return counts
