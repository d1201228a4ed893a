"""The ``forget`` job: the same as ``wiretrace forget PATH``, from Dagster.

Launch it with run config ``{"ops": {"forget_files": {"config": {"paths": ["x.txt"]}}}}``: the files'
documents are marked forgotten (recorded in raw.corrections; later ingests skip the paths), then the
overlap marts are recomputed and the analysts' database is republished.
"""

import dagster as dg

from pipeline.core.runlog import RunRecord, record_run
from pipeline.core.stages import forget, stage_overlap, stage_publish
from pipeline.defs.overlap.assets import OVERLAP_KEYS
from pipeline.defs.publish.assets import ANALYST_DB
from pipeline.defs.resources import DUCKDB_POOL, WiretraceResource


class ForgetConfig(dg.Config):
    """Files or folders, relative to the landing folder."""

    paths: list[str]


@dg.op(pool=DUCKDB_POOL, description="Take files' documents out of the marts, recompute overlap, republish.")
def forget_files(context: dg.OpExecutionContext, config: ForgetConfig, wiretrace: WiretraceResource) -> dict:
    with wiretrace.connect() as con:
        done = forget(con, config.paths)
        context.log.info(f"forgotten: {done}")
        run = RunRecord(run_id=context.run_id, batch_id="forget", config={"forget": list(config.paths)})
        overlap = stage_overlap(con, encoder="auto" if wiretrace.semantic else None)
        run.stages.append(overlap)
        for name, key in OVERLAP_KEYS.items():
            context.log_event(
                dg.AssetMaterialization(asset_key=key, metadata={"rows": overlap.counts.get(name, 0)})
            )
        record_run(con, run)
        stage_publish(con, wiretrace.analyst_db)
        context.log_event(dg.AssetMaterialization(asset_key=ANALYST_DB, metadata={"forgotten": str(done)}))
    return done


@dg.job(
    name="forget",
    description="Forget files: their documents leave every mart; later runs do not bring them back.",
)
def forget_job():
    forget_files()
