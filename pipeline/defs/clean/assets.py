"""Clean assets: raw documents -> clean text and the audit trail of removed spans, with the per-outlet
templates the cleaner removes and the line keys they are learned from."""

import dagster as dg

from pipeline.core.runlog import record_stage
from pipeline.core.stages import stage_clean
from pipeline.defs.ingest.assets import RAW_DOCUMENTS
from pipeline.defs.resources import DUCKDB_POOL, RETRY, WiretraceResource
from pipeline.defs.util import count, md_preview, stage_progress, table_spec

CLEAN_DOCUMENTS = dg.AssetKey(["staging", "clean_documents"])
REMOVED_SPANS = dg.AssetKey(["staging", "removed_spans"])
#: per-outlet templates and the per-document line keys they are learned from (pipeline.core.stages)
TEMPLATE_KEYS = {
    name: dg.AssetKey(name.split("."))
    for name in ("staging.source_templates", "staging.template_lines", "cache.document_lines")
}


@dg.multi_asset(
    specs=[
        table_spec(CLEAN_DOCUMENTS, "staging.clean_documents", deps=[RAW_DOCUMENTS]),
        table_spec(REMOVED_SPANS, "staging.removed_spans", deps=[RAW_DOCUMENTS]),
    ]
    + [table_spec(key, name, deps=[RAW_DOCUMENTS]) for name, key in TEMPLATE_KEYS.items()],
    name="clean",
    group_name="clean",
    retry_policy=RETRY,
    pool=DUCKDB_POOL,
)
def clean(context: dg.AssetExecutionContext, wiretrace: WiretraceResource):
    with wiretrace.connect() as con, stage_progress(context) as progress:
        res = stage_clean(con, progress)
        record_stage(con, context.run_id, res)
        context.log.info(f"clean: {res.counts}")
        yield dg.MaterializeResult(
            asset_key=CLEAN_DOCUMENTS,
            metadata={
                **{k: v for k, v in res.counts.items()},
                "total_rows": count(con, "staging.clean_documents"),
                "preview": md_preview(
                    con,
                    "SELECT doc_id, status, n_removed, left(text, 120) AS text "
                    "FROM staging.clean_documents ORDER BY doc_id",
                ),
            },
        )
        yield dg.MaterializeResult(
            asset_key=REMOVED_SPANS,
            metadata={
                "total_rows": count(con, "staging.removed_spans"),
                "by_reason": md_preview(
                    con,
                    "SELECT reason, count(*) AS spans, sum(end_offset - start_offset) AS chars "
                    "FROM staging.removed_spans GROUP BY 1 ORDER BY 2 DESC, 1",
                    limit=30,
                ),
            },
        )
        for name, key in TEMPLATE_KEYS.items():
            metadata = {"total_rows": count(con, name)}
            if name == "staging.source_templates":
                metadata |= {k: v for k, v in res.extra.get("templates", {}).items()}
            if name == "staging.template_lines":
                metadata["preview"] = md_preview(
                    con,
                    "SELECT source, n_documents, example FROM staging.template_lines WHERE is_template "
                    "ORDER BY source, n_documents DESC, line_key",
                )
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
