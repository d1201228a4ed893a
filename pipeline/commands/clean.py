"""``wiretrace clean``: clean one file, or a JSON-lines batch of records.

wiretrace clean page.html                 # prints the clean text (kind from the extension)
wiretrace clean page.txt --json           # text, removed spans, headings and metadata as JSON
wiretrace clean --jsonl in.jsonl --out out.jsonl
    # records {"id", "text" | "html", optional "source"}; one JSON line per record; a bad record
    # becomes {"id", "error"} and the batch goes on
wiretrace clean --jsonl in.jsonl --learn-templates t.json   # learn per-source templates first
wiretrace clean page.txt --source example.com --templates t.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.commands import COMMANDS
from pipeline.core.clean import CleanError, clean_document
from pipeline.core.templates import SourceTemplates, learn_templates

HTML_EXTENSIONS = (".html", ".htm", ".xhtml")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "clean",
        help=COMMANDS["clean"],
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", nargs="?", help="input file ('-' for standard input)")
    p.add_argument("--kind", choices=["text", "html"], help="input kind (default: from the file extension)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--jsonl", metavar="IN", help="process a JSON-lines file of records")
    p.add_argument("--out", metavar="FILE", help="output file for --jsonl (default: standard output)")
    p.add_argument("--spans", action="store_true", help="with --jsonl: include input_text and the kept spans")
    p.add_argument("--source", help="source (site) of FILE, for --templates")
    p.add_argument("--templates", metavar="JSON", help="per-source templates learned earlier")
    p.add_argument(
        "--learn-templates",
        metavar="OUT",
        help="with --jsonl: learn per-source templates from IN, save them to OUT",
    )
    p.set_defaults(func=run)


def _kind_for(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    return "html" if path.lower().endswith(HTML_EXTENSIONS) else "text"


def _read_records(path: Path):
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                yield lineno, line


def run(args: argparse.Namespace) -> int:
    templates = None
    if args.templates:
        try:
            templates = SourceTemplates.load(args.templates)
        except (OSError, ValueError, KeyError) as exc:
            print(f"wiretrace clean: cannot read templates {args.templates}: {exc}", file=sys.stderr)
            return 2

    if args.jsonl:
        src = Path(args.jsonl)
        if not src.is_file():
            print(f"wiretrace clean: no such file: {src}", file=sys.stderr)
            return 2
        if args.learn_templates:

            def pairs():
                for _, line in _read_records(src):
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if (
                        isinstance(rec, dict)
                        and isinstance(rec.get("source"), str)
                        and isinstance(rec.get("text"), str)
                    ):
                        yield rec["source"], rec["text"]

            templates = learn_templates(pairs())
            templates.save(args.learn_templates)
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
        n_ok = n_err = 0
        try:
            for lineno, line in _read_records(src):
                rid = None
                try:
                    rec = json.loads(line)
                    if not isinstance(rec, dict):
                        raise ValueError("record is not a JSON object")
                    rid = rec.get("id")
                    if isinstance(rec.get("html"), str):
                        raw, kind = rec["html"], "html"
                    elif isinstance(rec.get("text"), str):
                        raw, kind = rec["text"], "text"
                    else:
                        raise ValueError("record has neither a 'text' nor an 'html' string")
                    source = rec.get("source") if isinstance(rec.get("source"), str) else None
                    res = clean_document(raw, kind=kind, source=source, templates=templates)
                    row = {"id": rid, **res.to_dict(include_spans=args.spans)}
                    n_ok += 1
                except (ValueError, CleanError, RecursionError, MemoryError) as exc:
                    row = {"id": rid, "line": lineno, "error": f"{type(exc).__name__}: {exc}"}
                    n_err += 1
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
        print(f"wiretrace clean: {n_ok} records cleaned, {n_err} errors", file=sys.stderr)
        return 0

    if not args.file:
        print("wiretrace clean: give a FILE or --jsonl IN", file=sys.stderr)
        return 2
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"wiretrace clean: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        res = clean_document(
            data, kind=_kind_for(args.file, args.kind), source=args.source, templates=templates
        )
    except CleanError as exc:
        print(f"wiretrace clean: {args.file}: {exc}", file=sys.stderr)
        return 1
    try:
        if args.json:
            print(json.dumps(res.to_dict(include_spans=True), ensure_ascii=False, indent=2))
        else:
            if res.status != "ok":
                print(f"wiretrace clean: {args.file}: no article text ({res.empty_reason})", file=sys.stderr)
            if res.text:
                print(res.text)
    except BrokenPipeError:  # output piped into a pager or head that closed early
        sys.stderr.close()
    return 0
