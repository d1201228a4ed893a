"""``wiretrace run``: the whole pipeline once, on a folder, as a run of the project's Dagster job.

The ``process_batch`` job executes in this process against the project's Dagster instance
(``$DAGSTER_HOME``, else ``<warehouse>/dagster_home``), so the run shows in the Dagster UI with its
materialisations, metadata, check results and logs, like a run started there.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path

from pipeline.commands import COMMANDS
from pipeline.config import default_landing, default_warehouse
from pipeline.core import progress as progress_mod
from pipeline.core.progress import ProgressBars, ProgressLog
from pipeline.core.warehouse import ANALYST_DB_NAME
from pipeline.defs.local import run_batch


def _sink(mode: str):
    """The progress renderer for ``--progress``: bars on a terminal, log lines otherwise."""
    if mode == "off":
        return None
    if mode == "bars" or (mode == "auto" and sys.stderr.isatty()):
        return ProgressBars(sys.stderr)
    return ProgressLog(lambda line: print(f"wiretrace: {line}", file=sys.stderr, flush=True))


def _counts(numbers: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in numbers.items())


def _run(args: argparse.Namespace) -> int:
    landing = Path(args.input)
    if not landing.is_dir():
        print(f"wiretrace run: input folder {landing} does not exist", file=sys.stderr)
        return 2
    warehouse = Path(args.warehouse)
    if warehouse.exists() and not warehouse.is_dir():
        print(f"wiretrace run: warehouse {warehouse} is not a folder", file=sys.stderr)
        return 2
    sink = _sink(args.progress)
    try:
        with progress_mod.attach(sink) if sink is not None else nullcontext():
            summary = run_batch(
                landing,
                warehouse,
                batch_id=args.batch_id,
                semantic=not args.no_semantic,
                max_page_mb=args.max_page_mb,
            )
    finally:
        if sink is not None:
            sink.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        for s in summary.steps:
            seconds = f"{s.seconds:7.2f}s" if s.seconds is not None else f"{'':>8}"
            print(f"{s.stage:>8}  {seconds}  {s.status}")
            for key, numbers in s.assets.items():
                print(f"{'':>20}{key}: {_counts(numbers)}")
            for note in s.notes:
                print(f"{'':>20}note: {note}")
        if summary.checks:
            passed = sum(summary.checks.values())
            failed = sorted(k for k, ok in summary.checks.items() if not ok)
            print(
                f"  checks  {passed}/{len(summary.checks)} passed"
                + (f"; failed: {', '.join(failed)}" if failed else "")
            )
        for error in summary.errors:
            print(f"   error  {error}")
        state = "succeeded" if summary.success else "FAILED"
        print(f"run {summary.run_id} {state}; Dagster instance: {summary.instance_home} (`make ui` shows it)")
        if summary.success:
            print(f"analysts' database: {warehouse / ANALYST_DB_NAME}")
    return 0 if summary.success else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help=COMMANDS["run"],
        description="Run the whole pipeline once on a folder of raw files (.txt, .html, .htm, .jsonl, "
        ".jsonl.gz, .jsonl.zst, .parquet, .warc, .warc.gz): the Dagster job process_batch executes in this process against the project's Dagster "
        "instance ($DAGSTER_HOME, else WAREHOUSE/dagster_home), so the run, its materialisations and check "
        "results show in the Dagster UI; the analysts' DuckDB database is published into the warehouse "
        "folder.",
    )
    p.add_argument(
        "--input", default=str(default_landing()), help="folder of raw files (default: %(default)s)"
    )
    p.add_argument(
        "--warehouse",
        default=str(default_warehouse()),
        help="warehouse folder for work.duckdb and wiretrace.duckdb (default: %(default)s)",
    )
    p.add_argument(
        "--batch-id", default="manual", help="batch partition of the run, stored with the ingested rows"
    )
    p.add_argument("--max-page-mb", type=int, default=25, help="pages or records larger than this are errors")
    p.add_argument("--no-semantic", action="store_true", help="skip the embedding tier even when installed")
    p.add_argument(
        "--progress",
        choices=["auto", "bars", "log", "off"],
        default="auto",
        help="progress on stderr: bars (default on a terminal), log lines every 10 s per step "
        "(default otherwise) or nothing",
    )
    p.add_argument("--json", action="store_true", help="print the run's steps, metadata and checks as JSON")
    p.set_defaults(func=_run)
