"""The ``wiretrace`` command line.

Each sub-command lives in its own module under ``pipeline.commands`` (listed with its one-line help in
``pipeline.commands.COMMANDS``) and exposes ``register(subparsers)``; this file only assembles them, so
adding a command touches one module and one line. A command's module imports what the command runs at
its top, so only the chosen command's module is loaded (``wiretrace clean`` does not load Dagster, and
``wiretrace --help`` lists the commands without loading any).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pipeline.commands import COMMANDS
from pipeline.config import SettingsError, settings


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``argv`` (default: the process's arguments): the chosen command's arguments when
    ``argv`` starts with a command, else the list of commands."""
    parser = argparse.ArgumentParser(
        prog="wiretrace",
        description=(
            "Trace how news text travels between outlets: ingest raw pages, clean boilerplate, "
            "split sentences, match them across sources and publish a DuckDB warehouse."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        importlib.import_module(f"pipeline.commands.{argv[0]}").register(sub)
    else:  # no command chosen: the list for --help and for the error message
        for name, help_line in COMMANDS.items():
            sub.add_parser(name, help=help_line)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        settings()  # a bad WIRETRACE_* value stops here, before any work, with a clear message
    except SettingsError as exc:
        print(f"wiretrace: {exc}", file=sys.stderr)
        return 2
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
