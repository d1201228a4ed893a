"""Run the whole pipeline once, in-process, without Dagster (the tests and the catalogue generator use it).

``wiretrace run`` (and ``make run``) runs the same stages as a run of the Dagster job instead
(``pipeline.defs.local``), so that the run is recorded in the Dagster instance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pipeline.core import warehouse
from pipeline.core.ingest import IngestConfig
from pipeline.core.runlog import RunRecord, record_failed_run, record_run
from pipeline.core.stages import (
    Progress,
    StageResult,
    _noop,
    stage_clean,
    stage_ingest,
    stage_overlap,
    stage_publish,
    stage_segment,
)

log = logging.getLogger("wiretrace")


@dataclass(frozen=True)
class WarehousePaths:
    root: Path

    @property
    def work_db(self) -> Path:
        return self.root / warehouse.WORK_DB_NAME

    @property
    def analyst_db(self) -> Path:
        return self.root / warehouse.ANALYST_DB_NAME


def run_pipeline(
    landing: Path,
    warehouse_dir: Path,
    *,
    files: list[Path] | None = None,
    batch_id: str = "manual",
    ingest_config: IngestConfig | None = None,
    encoder="auto",
    progress: Progress = _noop,
) -> list[StageResult]:
    """ingest -> clean -> segment -> overlap -> publish; returns one result per stage.

    The run is logged in ``meta.runs`` (see ``pipeline.core.runlog``) before it publishes; a failed run
    is logged too (in the working database; the next publish carries it)."""
    paths = WarehousePaths(Path(warehouse_dir))
    con = warehouse.connect(paths.work_db)
    results: list[StageResult] = []
    run = RunRecord(batch_id=batch_id, config=_run_config(landing, ingest_config, encoder), stages=results)
    try:
        warehouse.ensure_schema(con)
        results.append(stage_ingest(con, Path(landing), files, batch_id, ingest_config, progress))
        results.append(stage_clean(con, progress))
        results.append(stage_segment(con, progress))
        results.append(stage_overlap(con, progress, encoder=encoder))
        record_run(con, run)
        results.append(stage_publish(con, paths.analyst_db))
    except Exception as exc:
        record_failed_run(con, run, exc, ["ingest", "clean", "segment", "overlap", "publish"])
        raise
    finally:
        con.close()
    return results


def _run_config(landing: Path, cfg: IngestConfig | None, encoder) -> dict:
    from dataclasses import asdict

    return {
        "landing": str(landing),
        "ingest": asdict(cfg or IngestConfig()),
        "encoder": "auto" if encoder == "auto" else ("none" if encoder is None else "given"),
    }
