"""The ``wiretrace`` command line.

Each sub-command lives in its own module under ``pipeline.commands`` and exposes
``register(subparsers)``; this file only assembles them, so adding a command touches one file.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module name under pipeline.commands, in the order shown by --help
COMMANDS = ["run", "clean", "sentences", "compare", "report", "forget"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wiretrace",
        description=(
            "Trace how news text travels between outlets: ingest raw pages, clean boilerplate, "
            "split sentences, match them across sources and publish a DuckDB warehouse."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"pipeline.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
