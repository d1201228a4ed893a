"""Daily refresh of the corpus-wide stages."""

from __future__ import annotations

import dagster as dg

from pipeline.defs.jobs import refresh_job

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 03:00 UTC: re-learn per-source templates, re-clean, recompute overlap, republish.",
)
