"""``wiretrace forget PATH``: take a file's documents out of the marts, for good."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands import COMMANDS
from pipeline.config import default_landing, default_warehouse
from pipeline.core import warehouse
from pipeline.core.run import WarehousePaths
from pipeline.core.runlog import RunRecord, record_run
from pipeline.core.stages import forget, stage_overlap, stage_publish


def landing_relative(path: str, landing: Path) -> str:
    """PATH as stored in the warehouse: relative to the landing folder (an existing path inside the
    landing folder is made relative to it; anything else is taken as already relative)."""
    candidate = Path(path)
    try:
        absolute = candidate.resolve() if (candidate.is_absolute() or candidate.exists()) else None
        root = landing.resolve()
    except OSError:
        absolute = None
    if absolute is not None and (absolute == root or root in absolute.parents):
        return absolute.relative_to(root).as_posix()
    return candidate.as_posix().strip("/")


def _forget(args: argparse.Namespace) -> int:
    paths = WarehousePaths(Path(args.warehouse))
    if not paths.work_db.is_file():
        print(f"wiretrace forget: no working database in {args.warehouse}", file=sys.stderr)
        return 2
    landing = Path(args.input)
    rels = [landing_relative(p, landing) for p in args.paths]
    con = warehouse.connect(paths.work_db)
    try:
        warehouse.ensure_schema(con)
        known = [
            rel
            for rel in rels
            if con.execute(
                "SELECT count(*) FROM raw.raw_files WHERE path = ? OR starts_with(path, ? || '/')", [rel, rel]
            ).fetchall()[0][0]
            or con.execute("SELECT count(*) FROM raw.ingest_errors WHERE path = ?", [rel]).fetchall()[0][0]
        ]
        unknown = [r for r in rels if r not in known]
        for rel in unknown:
            print(
                f"wiretrace forget: {rel}: no ingested file at this path (nothing forgotten)", file=sys.stderr
            )
        if not known:
            return 2
        run = RunRecord(batch_id="forget", config={"forget": known})
        done = forget(con, known)
        for rel, n in done.items():
            print(f"forgot {rel}: {n} document(s) taken out of the marts; later runs skip this path")
        if not args.no_publish:
            run.stages.append(stage_overlap(con, encoder=None if args.no_semantic else "auto"))
            record_run(con, run)
            run.stages.append(stage_publish(con, paths.analyst_db))
            print(f"analysts' database republished: {paths.analyst_db}")
    finally:
        con.close()
    return 0 if not unknown else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forget",
        help=COMMANDS["forget"],
        description="Take the documents of one or more landing files (or folders) out of every mart: "
        "they are marked forgotten in raw.documents (the rows stay, for the record), the change is recorded "
        "in raw.corrections, later runs skip the path (raw.forgotten_paths), and the overlap marts are "
        "recomputed and republished.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file or folder, relative to the landing folder")
    p.add_argument("--input", default=str(default_landing()), help="landing folder (default: %(default)s)")
    p.add_argument(
        "--warehouse", default=str(default_warehouse()), help="warehouse folder (default: %(default)s)"
    )
    p.add_argument("--no-semantic", action="store_true", help="skip the embedding tier when recomputing")
    p.add_argument(
        "--no-publish", action="store_true", help="only mark; the next run recomputes and publishes"
    )
    p.set_defaults(func=_forget)
