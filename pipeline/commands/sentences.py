"""``wiretrace sentences``: split a text file into sentences, one JSON line per sentence.

wiretrace sentences article.txt
wiretrace sentences - < article.txt
wiretrace sentences page.txt --clean     # remove boilerplate first (offsets refer to the clean text)

Each line: {"index", "paragraph", "start", "end", "text", "normalized", "hash"}; ``start``/``end``
are character offsets into the (decoded) input text, ``normalized`` is the matching form
(``pipeline.core.normalize``) and ``hash`` its 16-hex-digit BLAKE2b digest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pipeline.commands import COMMANDS
from pipeline.core.clean import clean_document
from pipeline.core.normalize import normalize_sentence, sentence_hash
from pipeline.core.segment import split_sentences


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sentences",
        help=COMMANDS["sentences"],
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    p.add_argument("file", help="input text file (UTF-8; '-' for standard input)")
    p.add_argument(
        "--clean",
        action="store_true",
        help="remove page boilerplate first (pipeline.core.clean); offsets then refer to the clean text",
    )
    p.set_defaults(func=_run)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def decode_utf8(data: bytes) -> tuple[str, bool]:
    """Decode UTF-8 (a BOM is dropped); invalid bytes become U+FFFD. Returns (text, had_errors)."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", errors="replace"), True


def sentence_records(text: str) -> list[dict]:
    """The JSON records printed by the command, for ``text``."""

    records = []
    for i, span in enumerate(split_sentences(text)):
        norm = normalize_sentence(span.text)
        records.append(
            {
                "index": i,
                "paragraph": span.paragraph,
                "start": span.start,
                "end": span.end,
                "text": span.text,
                "normalized": norm,
                "hash": sentence_hash(norm),
            }
        )
    return records


def _run(args: argparse.Namespace) -> int:
    try:
        data = _read(args.file)
    except OSError as exc:
        print(f"wiretrace sentences: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    text, had_errors = decode_utf8(data)
    if had_errors:
        print(
            f"wiretrace sentences: {args.file} is not valid UTF-8; invalid bytes replaced by U+FFFD",
            file=sys.stderr,
        )
    if args.clean:
        text = clean_document(text, kind="text").text
    out = sys.stdout
    try:
        for record in sentence_records(text):
            # ensure_ascii keeps lone surrogates and control characters printable on any terminal
            out.write(json.dumps(record, ensure_ascii=True) + "\n")
        out.flush()
    except BrokenPipeError:  # the reader went away (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
