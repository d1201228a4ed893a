"""``wiretrace report``: self-contained HTML reuse reports, one page per story."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands import COMMANDS
from pipeline.config import default_warehouse
from pipeline.core.report import render_story, write_reports
from pipeline.core.warehouse import ANALYST_DB_NAME


def _report(args: argparse.Namespace) -> int:
    import duckdb

    if args.max_docs < 1:
        print("wiretrace report: --max-docs must be at least 1", file=sys.stderr)
        return 2
    db = Path(args.database) if args.database else Path(args.warehouse) / ANALYST_DB_NAME
    if not db.is_file():
        print(f"wiretrace report: database {db} not found (run `wiretrace run` first)", file=sys.stderr)
        return 2
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = Path(args.out) if args.out else Path(args.warehouse) / "reports"
        if args.story:
            out.mkdir(parents=True, exist_ok=True)
            page = out / f"{args.story}.html"
            try:
                page.write_text(render_story(con, args.story, max_docs=args.max_docs), encoding="utf-8")
            except KeyError as exc:
                print(f"wiretrace report: {exc.args[0]}", file=sys.stderr)
                return 2
            pages = [page]
        else:
            # pages of stories unchanged since an earlier call into the same folder are kept
            pages = write_reports(con, out, min_docs=args.min_docs, max_docs=args.max_docs, reuse_from=out)
    finally:
        con.close()
    for page in pages:
        print(page)
    if not pages:
        print(f"no story with at least {args.min_docs} articles", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help=COMMANDS["report"],
        description="Render the articles of each story side by side with matched sentences coloured by kind, "
        "linked to their partners, removed boilerplate greyed and a who-took-what summary. Works offline.",
    )
    p.add_argument(
        "--warehouse", default=str(default_warehouse()), help="warehouse folder (default: %(default)s)"
    )
    p.add_argument(
        "--database", default=None, help="a DuckDB file to read instead of <warehouse>/wiretrace.duckdb"
    )
    p.add_argument("--out", default=None, help="output folder (default: <warehouse>/reports)")
    p.add_argument("--story", default=None, help="only this story_id")
    p.add_argument(
        "--min-docs", type=int, default=2, help="skip stories with fewer articles (default: %(default)s)"
    )
    p.add_argument(
        "--max-docs",
        type=int,
        default=40,
        help="show at most this many articles per story, oldest first (default: %(default)s)",
    )
    p.set_defaults(func=_report)
