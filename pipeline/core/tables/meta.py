"""Tables of the ``meta`` schema: the schema version and the run log."""

from __future__ import annotations

from pipeline.core.tables.model import I32, STR, TS, Table
from pipeline.core.tables.model import Column as C

TABLES: tuple[Table, ...] = (
    Table(
        "meta.schema_version",
        "Schema migrations applied to the working database (the published copy carries them).",
        since=0,
        columns=(C("version", I32, "A migration step applied; the largest is the schema version in force."),),
    ),
    Table(
        "meta.runs",
        "The run log: one row per pipeline run, with its configuration, the tiers that ran (and why not), counts per stage and errors.",
        key=("run_id",),
        since=2,
        columns=(
            C("run_id", STR, "Run id (key): the Dagster run id, or a generated id for wiretrace run."),
            C("started_at", TS, "Start (UTC)."),
            C("ended_at", TS, "End of the run's work, just before its results were published (UTC)."),
            C("status", STR, "ok, or failed (then errors says why)."),
            C("version", STR, "wiretrace version."),
            C("batch_id", STR, "Batch ingested ('manual' for wiretrace run)."),
            C("config", STR, "JSON: landing folder, ingest limits and the other settings of the run."),
            C(
                "tiers",
                STR,
                "JSON: each matching tier (exact, minhash, blocked, semantic, verifier) and whether it ran, or why not.",
            ),
            C("counts", STR, "JSON: counts per stage (files, documents, errors, sentences, matches ...)."),
            C("n_errors", I32, "Ingest error rows met in this run."),
            C("errors", STR, "JSON list: stage failures and notes."),
        ),
    ),
)
