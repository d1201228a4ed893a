"""Ingest assets: landing files -> raw.raw_files, raw.documents, raw.ingest_errors."""

import os

import dagster as dg

from pipeline.core.ingest import IngestConfig
from pipeline.core.runlog import record_stage
from pipeline.core.stages import stage_ingest
from pipeline.defs.ingest.partitions import batches
from pipeline.defs.resources import DUCKDB_POOL, RETRY, WiretraceResource
from pipeline.defs.util import count, md_preview, stage_progress, table_spec

RAW_FILES = dg.AssetKey(["raw", "raw_files"])
RAW_DOCUMENTS = dg.AssetKey(["raw", "documents"])
INGEST_ERRORS = dg.AssetKey(["raw", "ingest_errors"])


class BatchConfig(dg.Config):
    """Files of the batch, relative to the landing folder; empty means every file in the folder.
    Pages or records larger than ``max_page_mb`` become error rows."""

    files: list[str] = []
    max_page_mb: int = 25


@dg.multi_asset(
    specs=[
        table_spec(RAW_FILES, "raw.raw_files"),
        table_spec(RAW_DOCUMENTS, "raw.documents"),
        table_spec(INGEST_ERRORS, "raw.ingest_errors"),
    ],
    name="ingest",
    group_name="ingest",
    partitions_def=batches,
    retry_policy=RETRY,
    pool=DUCKDB_POOL,
)
def ingest(context: dg.AssetExecutionContext, config: BatchConfig, wiretrace: WiretraceResource):
    landing = wiretrace.landing
    files = [landing / f for f in config.files] if config.files else None
    missing = [str(f) for f in files or [] if not os.path.lexists(f)]
    if missing:
        context.log.warning(f"{len(missing)} batch files no longer exist: {missing[:5]}")
        files = [f for f in files if os.path.lexists(f)]
    batch = context.partition_key if context.has_partition_key else "manual"

    with wiretrace.connect() as con, stage_progress(context) as progress:
        cfg = IngestConfig(max_page_bytes=config.max_page_mb * 1024 * 1024)
        res = stage_ingest(con, landing, files, batch_id=batch, cfg=cfg, progress=progress)
        record_stage(con, context.run_id, res, batch_id=batch, config={"landing": str(landing)})
        context.log.info(f"ingest batch {batch}: {res.counts}")
        yield dg.MaterializeResult(
            asset_key=RAW_FILES,
            metadata={
                "batch_files": res.counts["files"],
                "new_files": res.counts["files_new"],
                "total_rows": count(con, "raw.raw_files"),
                "preview": md_preview(
                    con,
                    "SELECT path, format, size_bytes, n_documents, n_errors FROM raw.raw_files "
                    "WHERE batch_id = ? ORDER BY path",
                    [batch],
                ),
            },
        )
        yield dg.MaterializeResult(
            asset_key=RAW_DOCUMENTS,
            metadata={
                "new_documents": res.counts["documents_new"],
                "total_rows": count(con, "raw.documents"),
                "sources": con.sql("SELECT count(DISTINCT source) FROM raw.documents").fetchall()[0][0],
                "preview": md_preview(
                    con,
                    "SELECT doc_id, source, kind, path, n_chars FROM raw.documents "
                    "WHERE batch_id = ? ORDER BY doc_id",
                    [batch],
                ),
            },
        )
        yield dg.MaterializeResult(
            asset_key=INGEST_ERRORS,
            metadata={
                "batch_errors": res.counts["errors"],
                "total_rows": count(con, "raw.ingest_errors"),
                "preview": md_preview(
                    con,
                    "SELECT path, record, reason, message FROM raw.ingest_errors "
                    "WHERE batch_id = ? ORDER BY path, record",
                    [batch],
                ),
            },
        )
