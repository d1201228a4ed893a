"""The shapes of the registry: a column, a table, a view.

A column is declared once, with its polars type; its DuckDB type follows from that (``SQL_TYPES``),
so a frame built with ``Table.polars_schema()`` is stored with exactly the declared SQL types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

__all__ = ["Column", "Table", "View", "sql_type", "STR", "I32", "I64", "F64", "BOOL", "TS", "STRS", "BYTES"]

# the polars types the warehouse uses, by short name (the registry's declarations read as a table)
STR = pl.String
I32 = pl.Int32
I64 = pl.Int64
F64 = pl.Float64
BOOL = pl.Boolean
TS = pl.Datetime("us")  # naive UTC
STRS = pl.List(pl.String)
BYTES = pl.Binary

#: polars type -> DuckDB type (what DuckDB creates from an Arrow frame of that type)
SQL_TYPES: list[tuple[pl.DataType, str]] = [
    (STR, "VARCHAR"),
    (I32, "INTEGER"),
    (I64, "BIGINT"),
    (F64, "DOUBLE"),
    (BOOL, "BOOLEAN"),
    (TS, "TIMESTAMP"),
    (STRS, "VARCHAR[]"),
    (BYTES, "BLOB"),
]


def sql_type(dtype: pl.DataType) -> str:
    """The DuckDB type of a polars type of the registry."""
    for known, sql in SQL_TYPES:
        if dtype == known:
            return sql
    raise ValueError(f"no DuckDB type declared for polars type {dtype}")


@dataclass(frozen=True)
class Column:
    """One column: name, polars type, meaning; for tables created by DDL also a NOT NULL constraint,
    a SQL default (a literal) and the schema version that added it (``since``)."""

    name: str
    dtype: pl.DataType
    description: str
    not_null: bool = False
    default: str | None = None
    since: int = 1

    @property
    def sql_type(self) -> str:
        return sql_type(self.dtype)


@dataclass(frozen=True)
class Table:
    """A warehouse table.

    ``key``: the columns that identify a row. ``ddl``: True when the table is created by the schema
    migrations (with its key as PRIMARY KEY, for incremental inserts); False when a stage replaces it
    whole from a frame (the overlap marts), its key then documented and used for row order only.
    ``since``: the schema version that created it (DDL tables; 0 for the version table itself, created
    before any migration). ``example``: a query for the docs. ``published``: False for the working
    database's own tables (schema ``cache``), which the publish step does not copy.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    ddl: bool = True
    since: int = 1
    example: str | None = None
    published: bool = True

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column is declared twice")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: key columns {missing} are not declared")

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def polars_schema(self) -> dict[str, pl.DataType]:
        """Column name -> polars type, in the table's column order."""
        return {c.name: c.dtype for c in self.columns}

    def key_text(self) -> str | None:
        """The key as the docs show it: ``doc_id`` or ``(doc_id, span_index)``."""
        if not self.key:
            return None
        return self.key[0] if len(self.key) == 1 else "(" + ", ".join(self.key) + ")"


@dataclass(frozen=True)
class View:
    """An analyst view of the published database: its SQL and the descriptions of its own columns
    (a column named like a documented table column takes that description, see ``descriptions``)."""

    name: str
    description: str
    sql: str
    columns: dict[str, str] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    example: str | None = None

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    def key_text(self) -> str | None:
        if not self.key:
            return None
        return self.key[0] if len(self.key) == 1 else "(" + ", ".join(self.key) + ")"
