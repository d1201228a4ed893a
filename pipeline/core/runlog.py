"""The run log ``meta.runs``: one row per pipeline run, published with the rest of the warehouse.

``record_run`` writes (or rewrites) a run's row in the working database; the publish step copies
``meta`` with the other schemas, so the analysts' database holds every run up to the one that
published it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from pipeline import __version__

__all__ = ["RunRecord", "record_failed_run", "record_run", "record_stage", "tiers_from_overlap"]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class RunRecord:
    """What a run did. ``stages`` holds ``StageResult``-like objects (``stage``, ``counts``, ``notes``,
    ``extra``); ``skipped`` names stages that did not run, with the reason."""

    batch_id: str = "manual"
    config: dict = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: "run-" + uuid.uuid4().hex[:16])
    started_at: datetime = field(default_factory=utcnow)
    stages: list = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    status: str = "ok"


def tiers_from_overlap(extra: dict | None) -> dict[str, str]:
    """Which matching tiers ran, and why not, from the overlap stage's statistics."""
    extra = extra or {}
    if extra.get("skipped"):
        return {
            t: f"not run: {extra.get('reason')}"
            for t in ("exact", "minhash", "blocked", "semantic", "verifier")
        }
    tiers = {"exact": "ran", "minhash": "ran", "blocked": "ran"}
    sem = extra.get("semantic") or {}
    tiers["semantic"] = "ran" if sem.get("ran") else f"not run: {sem.get('reason') or 'off'}"
    ver = extra.get("verifier") or {}
    reason = str(ver.get("reason") or "off")
    tiers["verifier"] = "ran" if reason.startswith("paraphrase verifier on") else f"not run: {reason}"
    return tiers


def record_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Write ``run``'s row into ``meta.runs`` (replacing an earlier row of the same run id)."""

    counts = {s.stage: dict(s.counts) for s in run.stages}
    overlap = next((s for s in run.stages if s.stage == "overlap"), None)
    tiers = tiers_from_overlap(overlap.extra) if overlap is not None else {}
    if overlap is None:
        why = run.skipped.get("overlap", "the overlap stage did not run")
        tiers = {t: f"not run: {why}" for t in ("exact", "minhash", "blocked", "semantic", "verifier")}
    errors = list(run.errors)
    for s in run.stages:
        errors.extend(f"{s.stage}: {note}" for note in s.notes)
    errors.extend(f"{stage} not run: {why}" for stage, why in run.skipped.items())
    ingest = counts.get("ingest", {})
    row = [
        run.run_id,
        run.started_at,
        utcnow(),
        run.status,
        __version__,
        run.batch_id,
        json.dumps(run.config, sort_keys=True, default=str),
        json.dumps(tiers, sort_keys=True),
        json.dumps(counts, sort_keys=True, default=str),
        int(ingest.get("errors", 0)),
        json.dumps(errors, ensure_ascii=False),
    ]
    con.execute("DELETE FROM meta.runs WHERE run_id = ?", [run.run_id])
    con.execute("INSERT INTO meta.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)


def record_failed_run(
    con: duckdb.DuckDBPyConnection, run: RunRecord, exc: BaseException, stages: list[str]
) -> None:
    """Log a run that stopped on ``exc``: status failed, the error, and the stages that did not run.
    Never raises (the original error is what the caller reports)."""
    done = {s.stage for s in run.stages}
    failed = next((s for s in stages if s not in done), None)
    run.status = "failed"
    run.errors.append(f"{failed or 'run'} failed: {type(exc).__name__}: {exc}"[:2000])
    for stage in stages:
        if stage not in done and stage != failed:
            run.skipped.setdefault(stage, f"the {failed} stage failed")
    try:
        record_run(con, run)
    except Exception:  # noqa: BLE001 - e.g. the schema itself could not be created
        pass


def record_stage(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    result,
    batch_id: str | None = None,
    config: dict | None = None,
) -> None:
    """Add one stage's result to the row of run ``run_id`` (a Dagster run writes its stages one step at a
    time); the row is created on the first stage. Earlier stages of the run are kept."""

    rows = con.execute(
        "SELECT started_at, batch_id, config, tiers, counts, n_errors, errors FROM meta.runs WHERE run_id = ?",
        [run_id],
    ).fetchall()
    if rows:
        started, batch, cfg, tiers, counts, n_errors, errors = rows[0]
        tiers, counts, errors = (
            json.loads(tiers or "{}"),
            json.loads(counts or "{}"),
            json.loads(errors or "[]"),
        )
        cfg = json.loads(cfg or "{}")
    else:
        started, batch, cfg, tiers, counts, n_errors, errors = utcnow(), None, {}, {}, {}, 0, []
    counts[result.stage] = dict(result.counts)
    errors = [e for e in errors if not e.startswith(f"{result.stage}: ")]
    errors += [f"{result.stage}: {note}" for note in result.notes]
    if result.stage == "overlap":
        tiers = tiers_from_overlap(result.extra)
    if result.stage == "ingest":
        n_errors = int(result.counts.get("errors", 0))
    cfg.update(config or {})
    row = [
        run_id,
        started,
        utcnow(),
        "ok",
        __version__,
        batch_id or batch,
        json.dumps(cfg, sort_keys=True, default=str),
        json.dumps(tiers, sort_keys=True),
        json.dumps(counts, sort_keys=True, default=str),
        n_errors,
        json.dumps(errors, ensure_ascii=False),
    ]
    con.execute("DELETE FROM meta.runs WHERE run_id = ?", [run_id])
    con.execute("INSERT INTO meta.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
