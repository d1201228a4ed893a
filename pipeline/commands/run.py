"""``wiretrace run``: the whole pipeline once, in-process, on a folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.config import default_landing, default_warehouse


class _Bars:
    """One tqdm bar per stage, on stderr; silent when stderr is not a terminal unless forced."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(
                total=total or None,
                desc=f"{stage:>8}",
                unit="item",
                file=sys.stderr,
                leave=True,
                dynamic_ncols=True,
            )
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _run(args: argparse.Namespace) -> int:
    from pipeline.core.ingest import IngestConfig
    from pipeline.core.run import WarehousePaths, run_pipeline

    landing = Path(args.input)
    if not landing.is_dir():
        print(f"wiretrace run: input folder {landing} does not exist", file=sys.stderr)
        return 2
    bars = _Bars(args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty()))
    cfg = IngestConfig(max_page_bytes=args.max_page_mb * 1024 * 1024)
    try:
        results = run_pipeline(
            landing,
            Path(args.warehouse),
            batch_id=args.batch_id,
            ingest_config=cfg,
            encoder=None if args.no_semantic else "auto",
            progress=bars,
        )
    finally:
        bars.close()
    paths = WarehousePaths(Path(args.warehouse))
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    else:
        for r in results:
            counts = ", ".join(f"{k}={v}" for k, v in r.counts.items())
            print(f"{r.stage:>8}  {r.seconds:7.2f}s  {counts}")
            for note in r.notes:
                print(f"{'':>8}  note: {note}")
        print(f"analysts' database: {paths.analyst_db}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run the whole pipeline once on a folder (ingest, clean, segment, overlap, publish)",
        description="Run the whole pipeline once, in-process, on a folder of raw files (.txt, .html, .htm, "
        ".jsonl, .jsonl.gz, .jsonl.zst, .parquet, .warc, .warc.gz) and publish the analysts' DuckDB database into the warehouse folder.",
    )
    p.add_argument(
        "--input", default=str(default_landing()), help="folder of raw files (default: %(default)s)"
    )
    p.add_argument(
        "--warehouse",
        default=str(default_warehouse()),
        help="warehouse folder for work.duckdb and wiretrace.duckdb (default: %(default)s)",
    )
    p.add_argument("--batch-id", default="manual", help="label stored with the ingested rows")
    p.add_argument("--max-page-mb", type=int, default=25, help="pages or records larger than this are errors")
    p.add_argument("--no-semantic", action="store_true", help="skip the embedding tier even when installed")
    p.add_argument(
        "--progress", choices=["auto", "on", "off"], default="auto", help="progress bars on stderr"
    )
    p.add_argument("--json", action="store_true", help="print per-stage results as JSON")
    p.set_defaults(func=_run)
