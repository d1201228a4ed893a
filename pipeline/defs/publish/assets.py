"""Publish asset: copy the working database to a new analysts' file and swap it in atomically."""

import dagster as dg

from pipeline.core.stages import stage_publish
from pipeline.defs.overlap.assets import OVERLAP_KEYS
from pipeline.defs.resources import DUCKDB_POOL, RETRY, WiretraceResource

ANALYST_DB = dg.AssetKey(["publish", "analyst_warehouse"])


@dg.asset(
    key=ANALYST_DB,
    deps=list(OVERLAP_KEYS.values()),
    group_name="publish",
    description="The analysts' database (warehouse/wiretrace.duckdb): a snapshot swapped in atomically, "
    "so open readers keep a consistent copy and never block a run.",
    kinds={"duckdb"},
    retry_policy=RETRY,
    pool=DUCKDB_POOL,
)
def analyst_warehouse(
    context: dg.AssetExecutionContext, wiretrace: WiretraceResource
) -> dg.MaterializeResult:
    with wiretrace.connect() as con:
        res = stage_publish(con, wiretrace.analyst_db)
    for note in res.notes:  # shown by ``wiretrace run`` under the step
        context.log.warning(note)
    context.log.info(f"published {wiretrace.analyst_db}: {res.counts}")
    lines = ["| table | rows |", "|---|---|"] + [f"| {k} | {v} |" for k, v in res.counts.items()]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(wiretrace.analyst_db)),
            "tables": dg.MetadataValue.md("\n".join(lines)),
            "seconds": round(res.seconds, 2),
            "skipped": bool(res.extra.get("skipped")),
        }
    )
