"""Small helpers for asset metadata."""

from __future__ import annotations

import dagster as dg
import duckdb


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


def log_progress(context: dg.AssetExecutionContext, unit: str = "", prefix: str = "", every: int = 1):
    """A ``progress(stage, done, total)`` callback writing per-stage counts to the run's log.

    With ``every`` > 1 only every ``every``-th item and the last one are logged.
    """
    suffix = f" {unit}" if unit else ""

    def progress(stage: str, done: int, total: int) -> None:
        if every > 1 and not (total and (done == total or done % every == 0)):
            return
        context.log.info(f"{prefix}{stage}: {done}/{total}{suffix}")

    return progress
