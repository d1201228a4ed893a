"""Segment asset: clean text -> sentences with offsets and normalised forms."""

import dagster as dg

from pipeline.core import tables
from pipeline.core.runlog import record_stage
from pipeline.core.stages import stage_segment
from pipeline.defs.clean.assets import CLEAN_DOCUMENTS
from pipeline.defs.resources import DUCKDB_POOL, RETRY, WiretraceResource
from pipeline.defs.util import count, md_preview, stage_progress, table_schema

SENTENCES = dg.AssetKey(["staging", "sentences"])


@dg.asset(
    key=SENTENCES,
    deps=[CLEAN_DOCUMENTS],
    group_name="segment",
    description=tables.table("staging.sentences").description,
    metadata={"dagster/column_schema": table_schema("staging.sentences")},
    kinds={"duckdb"},
    retry_policy=RETRY,
    pool=DUCKDB_POOL,
)
def sentences(context: dg.AssetExecutionContext, wiretrace: WiretraceResource) -> dg.MaterializeResult:
    with wiretrace.connect() as con, stage_progress(context) as progress:
        res = stage_segment(con, progress)
        record_stage(con, context.run_id, res)
        context.log.info(f"segment: {res.counts}")
        return dg.MaterializeResult(
            metadata={
                "new_sentences": res.counts["sentences"],
                "documents_split": res.counts["documents"],
                "total_rows": count(con, "staging.sentences"),
                "preview": md_preview(
                    con,
                    "SELECT sentence_id, paragraph, text FROM staging.sentences "
                    "ORDER BY doc_id, sentence_index",
                ),
            }
        )
