"""The Dagster code location (workspace.yaml points here)."""

from __future__ import annotations

import dagster as dg

from pipeline.defs.clean.assets import clean
from pipeline.defs.ingest.assets import ingest
from pipeline.defs.ingest.checks import documents_complete, errors_well_formed, files_accounted_for
from pipeline.defs.ingest.forget import forget_job
from pipeline.defs.ingest.sensors import landing_sensor
from pipeline.defs.jobs import process_batch_job, refresh_job
from pipeline.defs.overlap.assets import overlap
from pipeline.defs.publish.assets import analyst_warehouse
from pipeline.defs.publish.reports import reuse_reports
from pipeline.defs.resources import WiretraceResource
from pipeline.defs.schedules import daily_refresh
from pipeline.defs.segment.assets import sentences

defs = dg.Definitions(
    assets=[ingest, clean, sentences, overlap, analyst_warehouse, reuse_reports],
    asset_checks=[documents_complete, files_accounted_for, errors_well_formed],
    jobs=[process_batch_job, refresh_job, forget_job],
    sensors=[landing_sensor],
    schedules=[daily_refresh],
    resources={"wiretrace": WiretraceResource()},
)
