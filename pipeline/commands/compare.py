"""``wiretrace compare``: the sentences two documents share, as the pipeline finds them.

wiretrace compare original.txt copy.txt
wiretrace compare a.html b.html --json              # JSON lines
wiretrace compare a.txt b.txt --no-semantic         # lexical signals only
wiretrace compare a.txt b.txt --all                 # also A's sentences without a match

A and B become a corpus of their own: each file is copied into a temporary landing folder with the
metadata the pipeline would give it in its own folder (its sidecar ``<name>.meta.json``, or its row
of the ``manifest.csv`` beside it), and the pipeline's own stages run on that folder in a temporary
working database: ingest, clean, segment and overlap (``pipeline.core.stages``). The matches shown
are the rows of ``marts.sentence_matches``, the very rows ``wiretrace run`` publishes for a landing
folder holding just these two files (with the same ``--no-semantic``), and sentences are split and
cleaned exactly as there; nothing is written outside the temporary folder.

Each match: its kind (exact, near, paraphrase), score, relation (reuse, quote, stock, same_fact: see
``pipeline.core.evidence``), the sentence of A with its position ``A[i]`` and its partner ``B[j]``,
in the order of A's sentences. Between two documents each sentence keeps its best partner, so a
sentence appears in at most one match per side, unless it is the best partner of two sentences.

JSON lines: {"a_index", "b_index", "kind", "score", "relation", "tier", "a", "b", "signals"}
(``--all`` adds A's sentences without a match, kind "none"); a summary goes to standard error.
A file that is no single document (unreadable, empty after cleaning, a corpus file of several
records) is an error naming the file and the reason, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.commands import COMMANDS
from pipeline.core import warehouse
from pipeline.core.evidence import RELATIONS
from pipeline.core.ingest import CORPUS_FORMATS, META_SUFFIX, file_format, page_metadata
from pipeline.core.kinds import MATCH_KINDS as KINDS
from pipeline.core.stages import stage_clean, stage_ingest, stage_overlap, stage_segment

_KIND_SUFFIX = {"text": ".txt", "html": ".html"}
_NOT_SIGNALS = ("score", "stock_cover")  # the number columns of a match that are not grader signals


class CompareError(Exception):
    """A file that cannot be compared; the message names it and the reason."""


@dataclass
class Comparison:
    """What the pipeline found for documents A and B.

    ``matches``: the rows of ``marts.sentence_matches`` (every column, as published; ``doc_id_a`` is
    the smaller document id, which may be B's); ``rows()`` gives them oriented from A to B.
    ``sentences_a`` / ``sentences_b``: the documents' sentences (``staging.sentences.text``) by index.
    ``notes``: what the overlap stage said about its tiers (the semantic tier off, and why)."""

    doc_a: str
    doc_b: str
    matches: pl.DataFrame
    sentences_a: list[str]
    sentences_b: list[str]
    semantic_requested: bool = True
    semantic: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def rows(self, include_unmatched: bool = False) -> list[dict]:
        """Matches from A's side: one dict per match, in the order of A's sentences (then B's)."""
        signal_columns = [
            c for c, dtype in self.matches.schema.items() if dtype == pl.Float64 and c not in _NOT_SIGNALS
        ]
        out = []
        for m in self.matches.iter_rows(named=True):
            a_first = m["doc_id_a"] == self.doc_a
            i, j = (m["index_a"], m["index_b"]) if a_first else (m["index_b"], m["index_a"])
            out.append(
                {
                    "a_index": i,
                    "b_index": j,
                    "kind": m["kind"],
                    "score": round(m["score"], 4),
                    "relation": m["relation"],
                    "tier": m["tier"],
                    "a": self.sentences_a[i],
                    "b": self.sentences_b[j],
                    "signals": {c: round(m[c], 4) for c in signal_columns if m[c] is not None},
                }
            )
        if include_unmatched:
            matched = {r["a_index"] for r in out}
            for i, text in enumerate(self.sentences_a):
                if i not in matched:
                    out.append(
                        {
                            "a_index": i,
                            "b_index": None,
                            "kind": "none",
                            "score": 0.0,
                            "relation": None,
                            "tier": None,
                            "a": text,
                            "b": None,
                            "signals": {},
                        }
                    )
        return sorted(out, key=lambda r: (r["a_index"], -1 if r["b_index"] is None else r["b_index"]))


def _landing_name(path: Path, other: Path, label: str, kind: str | None) -> str:
    name = path.name
    if kind is not None:
        name = Path(name).stem + _KIND_SUFFIX[kind]
    other_name = other.name if kind is None else Path(other.name).stem + _KIND_SUFFIX[kind]
    if name == other_name:  # two files of one name (two versions of a page): both keep their type
        name = f"{label}-{name}"
    return name


def _stage_file(path: Path, other: Path, label: str, landing: Path, kind: str | None) -> str:
    """Copy ``path`` into the landing folder with its metadata as a sidecar; returns its name there."""
    if not path.is_file():
        raise CompareError(
            f"cannot read {path}: not a file" if path.exists() else f"cannot read {path}: no such file"
        )
    name = _landing_name(path, other, label, kind)
    fmt = file_format(name)
    if fmt is None:
        raise CompareError(
            f"{path}: unsupported file type {path.suffix or '(none)'}; name it .txt or .html, or pass --kind"
        )
    try:
        shutil.copyfile(path, landing / name)
    except OSError as exc:
        raise CompareError(f"cannot read {path}: {exc.strerror or exc}") from None
    if fmt not in CORPUS_FORMATS.values():  # a page: its metadata comes from beside it
        meta, errors = page_metadata(path)
        for e in errors:
            print(f"wiretrace compare: {path}: {e.message}", file=sys.stderr)
        if meta:
            (landing / (name + META_SUFFIX)).write_text(
                json.dumps(meta, ensure_ascii=False), encoding="utf-8"
            )
    return name


def _one_document(con, path: Path, name: str, duplicate_of: Path | None = None) -> str:
    docs = [
        r[0]
        for r in con.execute(
            "SELECT doc_id FROM raw.documents WHERE path = ? ORDER BY doc_id", [name]
        ).fetchall()
    ]
    if len(docs) == 1:
        return docs[0]
    if len(docs) > 1:
        raise CompareError(f"{path} holds {len(docs)} documents; compare takes one document per file")
    errors = con.execute(
        "SELECT reason, message FROM raw.ingest_errors WHERE path = ? ORDER BY error_id", [name]
    ).fetchall()
    if not errors and duplicate_of is not None:  # ingest keeps the first of two identical documents
        raise CompareError(
            f"{duplicate_of} and {path} are one document for the pipeline (the same bytes from the same source)"
        )
    why = "; ".join(f"{reason}: {message}" for reason, message in errors) or "no document"
    raise CompareError(f"{path}: {why}")


def _sentences(con, doc_id: str, path: Path) -> list[str]:
    status, reason, error = con.execute(
        "SELECT status, empty_reason, error FROM staging.clean_documents WHERE doc_id = ?", [doc_id]
    ).fetchall()[0]
    if status != "ok":
        raise CompareError(f"{path}: nothing left to compare after cleaning ({error or reason or status})")
    rows = con.execute(
        "SELECT sentence_index, text FROM staging.sentences WHERE doc_id = ? ORDER BY sentence_index",
        [doc_id],
    ).fetchall()
    return [text for _, text in rows]


def compare_files(
    a: Path | str, b: Path | str, *, semantic: bool = True, kind: str | None = None
) -> Comparison:
    """Run the pipeline's stages on the corpus {A, B} and return its sentence matches.

    ``semantic=False`` is ``wiretrace run --no-semantic``; with True the semantic tier runs when it
    is installed and not disabled (``WIRETRACE_SEMANTIC``). ``kind`` (``"text"`` or ``"html"``) reads
    both files as that type of page whatever their names say. Raises :class:`CompareError`."""
    a, b = Path(a), Path(b)
    with tempfile.TemporaryDirectory(prefix="wiretrace-compare-") as tmp:
        landing = Path(tmp) / "landing"
        landing.mkdir()
        name_a = _stage_file(a, b, "A", landing, kind)
        name_b = _stage_file(b, a, "B", landing, kind)
        con = warehouse.connect(Path(tmp) / warehouse.WORK_DB_NAME)
        try:
            warehouse.ensure_schema(con)
            stage_ingest(con, landing, batch_id="compare")
            doc_a, doc_b = _one_document(con, a, name_a), _one_document(con, b, name_b, duplicate_of=a)
            stage_clean(con)
            stage_segment(con)
            sentences_a, sentences_b = _sentences(con, doc_a, a), _sentences(con, doc_b, b)
            overlap = stage_overlap(con, encoder="auto" if semantic else None)
            matches = con.sql(
                "SELECT * FROM marts.sentence_matches ORDER BY sentence_id_a, sentence_id_b"
            ).pl()
        finally:
            con.close()
    return Comparison(
        doc_a,
        doc_b,
        matches,
        sentences_a,
        sentences_b,
        semantic_requested=semantic,
        semantic=dict(overlap.extra.get("semantic") or {}),
        notes=list(overlap.notes),
    )


def _summary(result: Comparison) -> str:
    kinds = Counter(result.matches["kind"].to_list())
    relations = Counter(result.matches["relation"].to_list())
    sem = result.semantic
    reason = sem.get("reason") or ""
    if not result.semantic_requested:
        tier = "semantic tier off (--no-semantic)"
    elif sem.get("embeddings"):
        tier = f"semantic tier on: {reason}"
    else:
        tier = reason if reason.startswith("semantic tier") else f"semantic tier off: {reason}"
    return (
        f"{len(result.sentences_a)} sentences in A, {len(result.sentences_b)} in B; "
        f"{result.matches.height} matches: "
        + ", ".join(f"{k} {kinds[k]}" for k in KINDS)
        + " ("
        + ", ".join(f"{r} {relations[r]}" for r in RELATIONS)
        + f"); {tier}"
    )


def _run(args: argparse.Namespace) -> int:
    try:
        result = compare_files(args.a, args.b, semantic=not args.no_semantic, kind=args.kind)
    except CompareError as exc:
        print(f"wiretrace compare: {exc}", file=sys.stderr)
        return 2
    print(_summary(result), file=sys.stderr)
    out = sys.stdout
    try:
        for r in result.rows(include_unmatched=args.all):
            if args.json:
                out.write(json.dumps(r, ensure_ascii=False) + "\n")
            else:
                b_idx = "-" if r["b_index"] is None else r["b_index"]
                out.write(
                    f"{r['kind']:<10} {r['score']:.3f}  {r['relation'] or '':<9}  A[{r['a_index']}] {r['a']}\n"
                )
                out.write(f"{'':<29}B[{b_idx}] {r['b'] or ''}\n\n")
        out.flush()
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help=COMMANDS["compare"],
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    p.add_argument("a", help="first document (file path)")
    p.add_argument("b", help="second document (file path)")
    p.add_argument(
        "--kind",
        choices=("text", "html"),
        default=None,
        help="read both files as plain text or as HTML pages (default: by their names, as the pipeline does)",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    p.add_argument("--no-semantic", action="store_true", help="lexical signals only (no embeddings)")
    p.add_argument("--all", action="store_true", help="also list sentences of A without a match (kind none)")
    p.set_defaults(func=_run)
