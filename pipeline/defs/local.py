"""Run the project's Dagster job in this process, against the project's Dagster instance.

``wiretrace run`` (and so ``make run``) calls ``run_batch``: the ``process_batch`` job of the code
location (``pipeline/definitions.py``) executes in-process, with the ``wiretrace`` resource configured
from the command line, as one batch partition. The run, its materialisations with their metadata,
its asset-check results and its logs are stored in the instance, so the Dagster UI (``make ui``)
shows every run whichever way it was started.

The instance lives in ``$DAGSTER_HOME`` when that is set (the Makefile sets
``warehouse/dagster_home``), else in ``<warehouse>/dagster_home``; a missing folder is created with
the project's ``dagster.yaml`` (``DAGSTER_YAML``: telemetry off, one DuckDB writer at a time).

Every step that writes DuckDB holds the instance's ``duckdb`` pool slot while it runs. A ``wiretrace
run`` killed mid-step (``kill -9``, out of memory) cannot give its slot back, so each run records its
process id and host, and the next one marks such abandoned runs failed and frees their slot
(``release_abandoned_runs``) instead of waiting for it forever. Ctrl-C needs none of this: Dagster
stops the run and marks it failed itself.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipeline.definitions import defs

#: the instance configuration of the project (the same text as warehouse/dagster_home/dagster.yaml)
DAGSTER_YAML = """\
# Dagster instance for wiretrace (DAGSTER_HOME=warehouse/dagster_home): run history, schedules and sensor
# cursors persist here between sessions of the UI.
telemetry:
  enabled: false

concurrency:
  # every step that writes the working DuckDB database declares pool "duckdb": one at a time
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 4

run_retries:
  enabled: true
  max_retries: 1
"""

JOB = "process_batch"
COMMAND_TAG = "wiretrace/command"
PID_TAG = "wiretrace/pid"
HOST_TAG = "wiretrace/host"
UNFINISHED = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
# the name each step (op) of the job has in the pipeline's own vocabulary
STAGE_OF_STEP = {
    "ingest": "ingest",
    "clean": "clean",
    "staging__sentences": "segment",
    "overlap": "overlap",
    "publish__analyst_warehouse": "publish",
    "publish__reuse_reports": "reports",
}


def instance_home(warehouse_dir: Path) -> Path:
    """``$DAGSTER_HOME`` when set, else ``<warehouse>/dagster_home`` (absolute)."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home).resolve() if home else (Path(warehouse_dir) / "dagster_home").resolve()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs of ``wiretrace run`` on this machine whose process no longer exists (killed
    mid-run), freeing the DuckDB pool slot they held: otherwise every later run would wait for it forever.
    Returns their run ids."""
    host = socket.gethostname()
    released = []
    for run in instance.get_runs(
        dg.RunsFilter(statuses=list(UNFINISHED), tags={COMMAND_TAG: "wiretrace run"})
    ):
        pid = run.tags.get(PID_TAG, "")
        if run.tags.get(HOST_TAG) != host or not pid.isdigit() or _alive(int(pid)):
            continue
        instance.report_run_failed(
            run, message=f"the wiretrace run process (pid {pid}) ended before the run finished"
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def open_instance(warehouse_dir: Path) -> dg.DagsterInstance:
    """The project's Dagster instance, created with the project's ``dagster.yaml`` when missing."""
    home = instance_home(warehouse_dir)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return dg.DagsterInstance.from_config(str(home))


@dataclass
class StepSummary:
    """One step of a run as ``wiretrace run`` prints it: its numeric metadata per asset, its warnings."""

    stage: str
    step: str
    seconds: float | None
    status: str
    assets: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "step": self.step,
            "status": self.status,
            "seconds": self.seconds,
            "assets": self.assets,
            "notes": self.notes,
        }


@dataclass
class RunSummary:
    run_id: str
    success: bool
    instance_home: Path
    steps: list[StepSummary]
    checks: dict[str, bool]
    errors: list[str]

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "dagster_home": str(self.instance_home),
            "steps": [s.to_dict() for s in self.steps],
            "checks": self.checks,
            "errors": self.errors,
        }


def run_batch(
    landing: Path,
    warehouse_dir: Path,
    *,
    batch_id: str = "manual",
    semantic: bool = True,
    max_page_mb: int = 25,
    instance: dg.DagsterInstance | None = None,
    console_level: str = "ERROR",
) -> RunSummary:
    """Execute the ``process_batch`` job in-process on every file of ``landing`` as the batch
    partition ``batch_id``; returns what the run recorded. Never raises for a failed step: the
    summary says which step failed and why."""

    own = instance is None
    instance = instance or open_instance(warehouse_dir)
    try:
        for run_id in release_abandoned_runs(instance):
            print(
                f"wiretrace run: run {run_id} was left unfinished by a process that no longer exists; "
                "marked failed",
                file=sys.stderr,
            )
        if not instance.has_dynamic_partition("batches", batch_id):
            instance.add_dynamic_partitions("batches", [batch_id])
        job = defs.resolve_job_def(JOB)
        run_config = {
            "ops": {"ingest": {"config": {"files": [], "max_page_mb": max_page_mb}}},
            "resources": {
                "wiretrace": {
                    "config": {
                        "landing_dir": str(Path(landing).resolve()),
                        "warehouse_dir": str(Path(warehouse_dir).resolve()),
                        "semantic": semantic,
                    }
                }
            },
            # the run's log is kept in the instance; the terminal shows progress and the summary
            "loggers": {"console": {"config": {"log_level": console_level}}},
        }
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=batch_id,
            tags={COMMAND_TAG: "wiretrace run", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()},
            raise_on_error=False,
        )
        return summarize(instance, result.run_id)
    finally:
        if own:
            instance.dispose()


def summarize(instance: dg.DagsterInstance, run_id: str) -> RunSummary:
    """Steps, materialisation metadata, check results, warnings and errors of a stored run."""
    run = instance.get_run_by_id(run_id)
    records = instance.get_records_for_run(run_id).records
    stats = {s.step_key: s for s in instance.get_run_step_stats(run_id)}
    steps: dict[str, StepSummary] = {}

    def step(key: str | None) -> StepSummary | None:
        if key is None or key not in STAGE_OF_STEP:
            return None
        if key not in steps:
            st = stats.get(key)
            seconds = round(st.end_time - st.start_time, 2) if st and st.end_time and st.start_time else None
            status = st.status.value.lower() if st and st.status else "not run"
            steps[key] = StepSummary(STAGE_OF_STEP[key], key, seconds, status)
        return steps[key]

    checks: dict[str, bool] = {}
    errors: list[str] = []
    for rec in records:
        entry = rec.event_log_entry
        event = entry.dagster_event
        if event is None:
            if entry.level >= logging.WARNING and (s := step(entry.step_key)) is not None:
                s.notes.append(entry.user_message)
            continue
        if event.is_step_materialization:
            mat = event.step_materialization_data.materialization
            numbers = {
                k: v.value
                for k, v in mat.metadata.items()
                if isinstance(v, (dg.IntMetadataValue, dg.FloatMetadataValue)) and v.value is not None
            }
            if (s := step(event.step_key)) is not None:
                s.assets[mat.asset_key.to_user_string()] = numbers
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            checks[evaluation.check_name] = bool(evaluation.passed)
        elif event.is_step_failure:
            error = event.step_failure_data.error
            errors.append(
                f"step {event.step_key} failed: {error.message.strip() if error else 'unknown error'}"
            )
        elif event.event_type == dg.DagsterEventType.RUN_FAILURE and not errors:
            errors.append(event.message or "the run failed")
    for key in stats:
        step(key)
    for s in steps.values():
        if s.step not in stats:  # not executed: Dagster's own "dependencies failed" notice says nothing more
            s.status, s.notes = "skipped", []
    order = list(STAGE_OF_STEP)
    return RunSummary(
        run_id=run_id,
        success=run is not None and run.status == dg.DagsterRunStatus.SUCCESS,
        instance_home=Path(instance.root_directory),
        steps=sorted(steps.values(), key=lambda s: order.index(s.step)),
        checks=checks,
        errors=errors,
    )
