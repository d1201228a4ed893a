"""Shared Dagster resources: where the landing folder and the warehouse are, and DuckDB access."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipeline.config import default_landing, default_warehouse
from pipeline.core import warehouse

# every step that writes DuckDB runs in this pool; dagster.yaml limits it to one at a time
DUCKDB_POOL = "duckdb"
RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL)


class WiretraceResource(dg.ConfigurableResource):
    """Locations of the landing folder and the warehouse, and the working database connection."""

    landing_dir: str = str(default_landing())
    warehouse_dir: str = str(default_warehouse())
    semantic: bool = True
    lock_retries: int = 10

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def work_db(self) -> Path:
        return Path(self.warehouse_dir) / warehouse.WORK_DB_NAME

    @property
    def analyst_db(self) -> Path:
        return Path(self.warehouse_dir) / warehouse.ANALYST_DB_NAME

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the working database for writing, waiting while another process holds the lock."""
        delay = 0.5
        for attempt in range(self.lock_retries + 1):
            try:
                con = warehouse.connect(self.work_db)
                break
            except duckdb.IOException:
                if attempt == self.lock_retries:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 10)
        try:
            warehouse.ensure_schema(con)
            yield con
        finally:
            con.close()
