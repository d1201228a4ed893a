"""Data-quality checks on the ingest outputs."""

import dagster as dg

from pipeline.core.ingest import REASONS
from pipeline.defs.ingest.assets import INGEST_ERRORS, RAW_DOCUMENTS, RAW_FILES
from pipeline.defs.resources import DUCKDB_POOL, WiretraceResource


def _scalar(con, sql: str) -> int:
    return con.sql(sql).fetchall()[0][0]


@dg.asset_check(
    asset=RAW_DOCUMENTS, description="Every document has text, a source and a file row.", pool=DUCKDB_POOL
)
def documents_complete(wiretrace: WiretraceResource) -> dg.AssetCheckResult:
    with wiretrace.connect() as con:
        empty = _scalar(
            con, "SELECT count(*) FROM raw.documents WHERE raw_text IS NULL OR trim(raw_text) = ''"
        )
        nosource = _scalar(con, "SELECT count(*) FROM raw.documents WHERE source IS NULL OR source = ''")
        orphan = _scalar(
            con,
            "SELECT count(*) FROM raw.documents d WHERE NOT EXISTS "
            "(SELECT 1 FROM raw.raw_files f WHERE f.path = d.path)",
        )
    return dg.AssetCheckResult(
        passed=empty == 0 and nosource == 0 and orphan == 0,
        metadata={"empty_text": empty, "missing_source": nosource, "without_file_row": orphan},
    )


@dg.asset_check(
    asset=RAW_FILES,
    description="Every landing file is accounted for: documents or error rows.",
    pool=DUCKDB_POOL,
)
def files_accounted_for(wiretrace: WiretraceResource) -> dg.AssetCheckResult:
    with wiretrace.connect() as con:
        lost = _scalar(
            con,
            "SELECT count(*) FROM raw.raw_files f WHERE NOT EXISTS (SELECT 1 FROM raw.documents d WHERE d.path = f.path) "
            "AND NOT EXISTS (SELECT 1 FROM raw.ingest_errors e WHERE e.path = f.path)",
        )
    return dg.AssetCheckResult(passed=lost == 0, metadata={"files_without_documents_or_errors": lost})


@dg.asset_check(
    asset=INGEST_ERRORS, description="Error rows name a file and a known reason.", pool=DUCKDB_POOL
)
def errors_well_formed(wiretrace: WiretraceResource) -> dg.AssetCheckResult:
    known = tuple(REASONS)
    with wiretrace.connect() as con:
        bad = con.sql(
            "SELECT count(*) FROM raw.ingest_errors WHERE path IS NULL OR reason NOT IN "
            "(SELECT unnest(?::VARCHAR[]))",
            params=[list(known)],
        ).fetchall()[0][0]
        by_reason = dict(
            con.sql("SELECT reason, count(*) FROM raw.ingest_errors GROUP BY 1 ORDER BY 1").fetchall()
        )
    return dg.AssetCheckResult(
        passed=bad == 0, metadata={"malformed_rows": bad, **{f"reason_{k}": v for k, v in by_reason.items()}}
    )
