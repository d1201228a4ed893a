"""Small helpers for asset specs, asset metadata and progress."""

from __future__ import annotations

import gc
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from pipeline.core import heap, tables
from pipeline.core.progress import Progress, ProgressLog, reporter


def table_schema(name: str) -> dg.TableSchema:
    """The Dagster table schema of warehouse table ``schema.name``, from the table registry: each
    column with its DuckDB type, meaning and constraints (key columns unique when the key is one
    column, NOT NULL and key columns of tables created by DDL not nullable)."""
    t = tables.table(name)
    single_key = t.key if len(t.key) == 1 else ()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.sql_type,
                description=c.description,
                constraints=dg.TableColumnConstraints(
                    nullable=not (c.not_null or (t.ddl and c.name in t.key)), unique=c.name in single_key
                ),
            )
            for c in t.columns
        ]
    )


def table_spec(key: dg.AssetKey, name: str, **kwargs) -> dg.AssetSpec:
    """The asset spec of warehouse table ``schema.name``: the registry's description and table
    schema (shown in the Dagster UI's column view), kind duckdb."""
    return dg.AssetSpec(
        key,
        description=tables.table(name).description,
        metadata={"dagster/column_schema": table_schema(name)},
        kinds={"duckdb"},
        **kwargs,
    )


def md_preview(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None, limit: int = 10
) -> dg.MetadataValue:
    """A markdown table of the first rows of a query (cells shortened)."""
    rel = con.sql(sql, params=params) if params else con.sql(sql)
    cols = rel.columns
    rows = rel.limit(limit).fetchall()

    def cell(v: object) -> str:
        text = "" if v is None else str(v)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 80 else text[:77] + "..."

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]


@contextmanager
def stage_progress(context: dg.AssetExecutionContext, interval: float = 10.0) -> Iterator[Progress]:
    """The ``progress(step, done, total)`` callback of a stage run by an asset: log lines in the run's
    log at most every ``interval`` seconds per step and when a step finishes (counts, share, rate), and
    reports to the callbacks attached in this process (``wiretrace run`` draws its bars from them)."""
    lines = ProgressLog(context.log.info, interval=interval)
    try:
        yield reporter(lines)
    finally:
        lines.close()


@contextmanager
def released_on_failure() -> Iterator[None]:
    """Run a step's work so that, when it fails, the frames it held are let go before the error leaves
    the step. Dagster's retry policy runs a failed step again in the same process, and the error's
    traceback keeps every finished frame's local variables alive: a failed overlap attempt on twice the
    benchmark corpus held its frames (about 10 GiB) while the second attempt built its own, until the
    system killed the process. The traceback keeps its file names and line numbers; only the finished
    frames' variables are cleared (also in the errors it was raised from)."""
    try:
        yield
    except BaseException as exc:
        seen: set[int] = set()
        err: BaseException | None = exc
        while err is not None and id(err) not in seen:
            seen.add(id(err))
            traceback.clear_frames(err.__traceback__)
            err = err.__cause__ or err.__context__
        gc.collect()
        heap.trim()
        raise
