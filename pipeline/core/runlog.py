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

__all__ = ["RunRecord", "record_run", "tiers_from_overlap"]


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
    tiers = {"exact": "ran", "minhash": "ran", "blocked": "ran"}
    sem = extra.get("semantic") or {}
    tiers["semantic"] = "ran" if sem.get("ran") else f"not run: {sem.get('reason') or 'off'}"
    ver = extra.get("verifier") or {}
    reason = str(ver.get("reason") or "off")
    tiers["verifier"] = "ran" if reason.startswith("paraphrase verifier on") else f"not run: {reason}"
    return tiers


def record_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Write ``run``'s row into ``meta.runs`` (replacing an earlier row of the same run id)."""
    from pipeline import __version__

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
