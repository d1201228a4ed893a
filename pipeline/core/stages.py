"""The pipeline's stages as plain functions over the working DuckDB database.

Each stage reads what the previous one wrote and writes its own tables. They are shared by the
command line (``wiretrace run``, in-process) and by the Dagster assets, so both produce identical
tables. Stages are incremental where that is safe:

* ingest adds only documents, files and errors it has not seen (primary keys make reruns no-ops), and
  applies corrections (see ``_Corrections``): changed metadata updates a document in place, a file whose
  bytes changed supersedes its earlier documents, forgotten paths are skipped;
* every stage that feeds the marts reads ``warehouse.CURRENT_DOCUMENTS`` (superseded and forgotten
  documents stay in raw and are left out, in that one place);
* clean keeps each outlet's templates (``staging.source_templates``, ``staging.template_lines``) with a
  fingerprint of the documents they were learned from, and learns again only outlets whose documents
  changed (``update_corpus_templates``); it (re)processes a document when it has no clean row or when
  its *clean key* changed (the cleaner version plus the fingerprint of its source's templates), so the
  clean text never depends on how documents were batched;
* segment splits documents whose clean row has no sentences yet;
* overlap is recomputed over the whole corpus (its answers depend on every document);
* publish copies everything to a new analysts' file and swaps it in.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import settings
from pipeline.core import tables, warehouse
from pipeline.core.clean import clean_document
from pipeline.core.ingest import IngestConfig, iter_ingest, scan_landing
from pipeline.core.normalize import normalize_sentence, sentence_hash
from pipeline.core.overlap import OverlapConfig, compute_overlap, derived
from pipeline.core.overlap.common import Clock, MemoryWatch
from pipeline.core.overlap.models import semantic_wanted
from pipeline.core.overlap.store import (
    OverlapStore,
    RowSink,
    attach_doc_words,
    attach_evidence,
    attach_static_vectors,
    code_fingerprint,
    encoder_fingerprint,
    inputs_fingerprint,
    write_doc_words,
)
from pipeline.core.parallel import STATE, pool
from pipeline.core.segment import split_sentences
from pipeline.core.templates import (
    LINE_KEY_VERSION,
    SourceProfile,
    SourceTemplates,
    document_lines,
    lines_fingerprint,
    text_digest,
)

log = logging.getLogger("wiretrace")

Progress = Callable[[str, int, int], None]

__all__ = [
    "StageResult",
    "stage_ingest",
    "stage_clean",
    "stage_segment",
    "stage_overlap",
    "stage_publish",
]


@dataclass
class StageResult:
    stage: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _noop(stage: str, done: int, total: int) -> None:
    return None


def _measured(fn: Callable[..., StageResult]) -> Callable[..., StageResult]:
    """The stage ``fn``, its result's ``extra["memory"]`` holding this process's memory in MiB during
    the stage: its resident size at the end (``rss_mib``), its peak during the stage (``peak_mib``)
    and the process's peak so far (``process_peak_mib``); worker processes are not included. DuckDB's
    memory limit is ``WIRETRACE_DUCKDB_MEMORY_MB`` while the stage runs (its first argument is the
    connection)."""

    @functools.wraps(fn)
    def run(*args, **kwargs) -> StageResult:
        watch = MemoryWatch()
        watch.start()
        try:
            with warehouse.memory_limit(args[0], f"{settings().duckdb_memory_mb}MiB"):
                res = fn(*args, **kwargs)
        finally:
            memory = watch.end()
        res.extra["memory"] = memory
        return res

    return run


def _error_id(path: str, record: str | None, sha: str | None, reason: str) -> str:
    key = "\x1f".join([path, record or "", sha or "", reason])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------------------------- ingest


#: metadata a corrected sidecar or manifest can change in place (the content stays the same)
_META_FIELDS = ("source", "source_origin", "url", "title", "published_at", "published_at_raw", "external_id")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _correction_id(doc_id: str | None, path: str, change: str, detail: str, batch_id: str) -> str:
    key = "\x1f".join([doc_id or "", path, change, detail, batch_id])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


class _Corrections:
    """Applies corrections while a file is ingested again, and records each one in raw.corrections.

    * same content at the same place (path, record locator, content hash) with changed metadata: the
      existing document is updated in place and keeps its doc_id;
    * a file whose bytes changed: its earlier documents that the new version no longer holds are
      marked ``superseded`` (kept in raw, left out of every mart), ``superseded_by`` naming the new
      document at the same record locator when there is one;
    * a superseded document that comes back (the file was changed back) is ``current`` again.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, batch_id: str):
        self.con, self.batch_id = con, batch_id
        self.rows: list[dict] = []
        self.path: str | None = None
        self.existing: dict[tuple[str | None, str], dict] = {}
        self.kept: set[tuple[str | None, str]] = set()
        self.new_by_record: dict[str | None, str] = {}
        self.paths_with_documents = {
            r[0]
            for r in con.sql("SELECT DISTINCT path FROM raw.documents WHERE status <> 'forgotten'").fetchall()
        }

    def _record(self, doc_id: str | None, path: str, change: str, detail: dict) -> None:
        text = json.dumps(detail, sort_keys=True, default=str, ensure_ascii=False)
        self.rows.append(
            {
                "correction_id": _correction_id(doc_id, path, change, text, self.batch_id),
                "doc_id": doc_id,
                "path": path,
                "change": change,
                "detail": text,
                "batch_id": self.batch_id,
                "recorded_at": _now(),
            }
        )

    def start_file(self, path: str) -> None:
        self.path = path
        self.kept = set()
        self.new_by_record = {}
        if path not in self.paths_with_documents:  # a new file (the usual case): nothing to compare
            self.existing = {}
            return
        cols = ", ".join(("doc_id", "record", "content_sha256", "status", *_META_FIELDS))
        rows = self.con.execute(
            f"SELECT {cols} FROM raw.documents WHERE path = ? AND status <> 'forgotten'", [path]
        ).fetchall()
        names = ["doc_id", "record", "content_sha256", "status", *_META_FIELDS]
        self.existing = {(r[1], r[2]): dict(zip(names, r, strict=True)) for r in rows}
        self.kept = set()
        self.new_by_record = {}

    def incoming(self, row: dict) -> bool:
        """Handle one ingested document of the current file; False when it must not be inserted."""
        if not self.existing:
            return True
        slot = (row["record"], row["content_sha256"])
        self.kept.add(slot)
        self.new_by_record[row["record"]] = row["doc_id"]
        old = self.existing.get(slot)
        if old is None:
            return True
        self.new_by_record[row["record"]] = old["doc_id"]
        changed = {f: [old[f], row[f]] for f in _META_FIELDS if old[f] != row[f]}
        if changed:
            sets = ", ".join(f'"{f}" = ?' for f in changed)
            self.con.execute(
                f"UPDATE raw.documents SET {sets}, status_changed_at = ? WHERE doc_id = ?",
                [row[f] for f in changed] + [_now(), old["doc_id"]],
            )
            self._record(old["doc_id"], self.path or "", "metadata", changed)
        if old["status"] == "superseded":
            self.con.execute(
                "UPDATE raw.documents SET status = 'current', superseded_by = NULL, status_changed_at = ? "
                "WHERE doc_id = ?",
                [_now(), old["doc_id"]],
            )
            self._record(old["doc_id"], self.path or "", "restored", {"content_sha256": slot[1]})
        return False

    def end_file(self, parsed: bool) -> None:
        """After the file's last part: supersede what the new version no longer holds."""
        if parsed:
            gone = []
            for slot, old in sorted(self.existing.items(), key=lambda kv: kv[1]["doc_id"]):
                if slot in self.kept or old["status"] != "current":
                    continue
                by = self.new_by_record.get(slot[0])
                gone.append({"doc_id": old["doc_id"], "superseded_by": by})
                self._record(old["doc_id"], self.path or "", "superseded", {"superseded_by": by})
            if gone:  # one statement for all of the file's superseded documents
                frame = pl.DataFrame(gone, schema={"doc_id": pl.String, "superseded_by": pl.String})
                self.con.register("_gone", frame.to_arrow())
                try:
                    self.con.execute(
                        "UPDATE raw.documents SET status = 'superseded', superseded_by = g.superseded_by, "
                        "status_changed_at = ? FROM _gone g WHERE raw.documents.doc_id = g.doc_id",
                        [_now()],
                    )
                finally:
                    self.con.unregister("_gone")
        self.existing = {}
        self.kept = set()
        self.new_by_record = {}

    def flush(self) -> int:
        n = (
            warehouse.insert_new(
                self.con, "raw.corrections", self.rows, tables.polars_schema("raw.corrections")
            )
            if self.rows
            else 0
        )
        self.rows = []
        return n


def forgotten_paths(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.sql("SELECT path FROM raw.forgotten_paths ORDER BY path").fetchall()]


def is_forgotten(rel: str, forgotten: Iterable[str]) -> bool:
    return any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in forgotten)


def forget(con: duckdb.DuckDBPyConnection, paths: Iterable[str], batch_id: str = "forget") -> dict[str, int]:
    """Take the documents of ``paths`` (relative to the landing folder; a folder covers everything under
    it) out of the marts: their status becomes ``forgotten``, each change is recorded in raw.corrections
    and the paths in raw.forgotten_paths, so later ingests skip them. The rows stay in raw.
    Returns the number of documents taken out per path (0 when it holds none, or were already out).
    The marts change when overlap is recomputed and published (``wiretrace forget`` does both)."""
    warehouse.ensure_schema(con)
    out: dict[str, int] = {}
    corrections = _Corrections(con, batch_id)
    for raw_path in paths:
        path = raw_path.strip().strip("/")
        if not path:
            continue
        rows = con.execute(
            "SELECT doc_id FROM raw.documents WHERE (path = ? OR starts_with(path, ? || '/')) "
            "AND status <> 'forgotten' ORDER BY doc_id",
            [path, path],
        ).fetchall()
        now = _now()
        for (doc_id,) in rows:
            con.execute(
                "UPDATE raw.documents SET status = 'forgotten', status_changed_at = ? WHERE doc_id = ?",
                [now, doc_id],
            )
            corrections._record(doc_id, path, "forgotten", {"path": path})
        con.execute("INSERT OR IGNORE INTO raw.forgotten_paths VALUES (?, ?, ?)", [path, now, len(rows)])
        out[path] = len(rows)
    corrections.flush()
    return out


@_measured
def stage_ingest(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    files: Iterable[Path] | None = None,
    batch_id: str = "manual",
    cfg: IngestConfig | None = None,
    progress: Progress = _noop,
    flush_every: int = 5000,
    flush_chars: int = 8_000_000,
) -> StageResult:
    """Ingest ``files`` (default: all) of the landing folder; new rows only, corrections applied.

    Files are streamed in parts and rows are written every ``flush_every`` documents or
    ``flush_chars`` characters of text, so memory stays bounded whatever the size of a corpus file.
    A corpus file whose bytes were ingested before is not parsed again; a forgotten path
    (``wiretrace forget``) is skipped.
    """
    t0 = time.perf_counter()
    warehouse.ensure_schema(con)
    with warehouse.memory_limit(con, INGEST_MEMORY_LIMIT) as lift:
        return _stage_ingest(con, landing, files, batch_id, cfg, progress, flush_every, flush_chars, t0, lift)


#: DuckDB's memory limit while ingesting: without it DuckDB keeps written blocks cached and a large
#: corpus grows the process by about its own size (2 GiB of JSONL: 2.1 GiB peak; with it: about 0.5 GiB)
INGEST_MEMORY_LIMIT = "256MB"
#: a document this long (characters) is stored by DuckDB in blocks of its own, which a checkpoint must
#: hold in memory all at once; the low limit is lifted before the first one is written
HUGE_DOCUMENT_CHARS = 64_000


def _stage_ingest(
    con, landing, files, batch_id, cfg, progress, flush_every, flush_chars, t0, lift_memory_limit
) -> StageResult:
    res = StageResult(
        "ingest",
        {
            "files": 0,
            "documents_seen": 0,
            "documents_new": 0,
            "errors": 0,
            "errors_new": 0,
            "files_new": 0,
            "files_unchanged": 0,
            "files_forgotten": 0,
            "corrections": 0,
        },
    )
    landing = Path(landing)
    docs: list[dict] = []
    raws: list[dict] = []
    errs: list[dict] = []
    pending_chars = 0

    def flush() -> None:
        nonlocal pending_chars
        if raws:
            res.counts["files_new"] += warehouse.insert_new(
                con, "raw.raw_files", raws, tables.polars_schema("raw.raw_files")
            )
        if docs:
            res.counts["documents_new"] += warehouse.insert_new(
                con, "raw.documents", docs, tables.polars_schema("raw.documents")
            )
        if errs:
            res.counts["errors_new"] += warehouse.insert_new(
                con, "raw.ingest_errors", errs, tables.polars_schema("raw.ingest_errors")
            )
        res.counts["corrections"] += corrections.flush()
        raws.clear()
        docs.clear()
        errs.clear()
        pending_chars = 0

    targets = [Path(f) for f in files] if files is not None else scan_landing(landing)
    forgotten = forgotten_paths(con)
    if forgotten:
        keep = []
        for f in targets:
            rel = f.relative_to(landing).as_posix() if landing in f.parents else f.name
            if is_forgotten(rel, forgotten):
                res.counts["files_forgotten"] += 1
            else:
                keep.append(f)
        targets = keep
    total = len(targets)
    known_versions = {(p, sha) for p, sha in con.sql("SELECT path, sha256 FROM raw.raw_files").fetchall()}

    def known(path: str, sha: str) -> bool:
        return (path, sha) in known_versions

    corrections = _Corrections(con, batch_id)
    seen_ids: set[str] = set()
    done = 0
    current_path: str | None = None
    for part in iter_ingest(landing, targets, cfg, known=known):
        paths = {d.path for d in part.documents}
        for path in sorted(paths):
            if path != current_path:
                current_path = path
                corrections.start_file(path)
        for d in part.documents:
            res.counts["documents_seen"] += 1
            if d.doc_id in seen_ids:
                continue
            row = asdict(d)
            row["batch_id"] = batch_id
            row["status"] = "current"
            if not corrections.incoming(row):
                continue
            seen_ids.add(d.doc_id)
            docs.append(row)
            pending_chars += d.n_chars
            if d.n_chars >= HUGE_DOCUMENT_CHARS:
                lift_memory_limit()
        for e in part.errors:
            row = asdict(e)
            row["error_id"] = _error_id(e.path, e.record, e.file_sha256, e.reason)
            row["batch_id"] = batch_id
            errs.append(row)
            res.counts["errors"] += 1
        for f in part.files:  # a file's last part: its documents are all known now
            row = asdict(f)
            row["batch_id"] = batch_id
            raws.append(row)
            res.counts["files"] += 1
            unchanged = f.path in part.unchanged
            res.counts["files_unchanged"] += unchanged
            if current_path != f.path:
                current_path = f.path
                corrections.start_file(f.path)
            if not unchanged:
                corrections.end_file(parsed=True)
            current_path = None
            done += 1
            progress("ingest", done, total)
        if len(docs) >= flush_every or pending_chars >= flush_chars:
            flush()
    flush()
    progress("ingest", total, total)
    res.seconds = time.perf_counter() - t0
    return res


# ---------------------------------------------------------------------------------------------- clean

CLEAN_VERSION = "clean-2"  # clean-2: whitespace is no longer recorded as removed spans

#: template learning's settings (``pipeline.core.templates.learn_templates``) and the version of the way
#: the stage learns them; both are part of each outlet's documents fingerprint
TEMPLATE_MIN_DOCS = 5
TEMPLATE_MIN_SHARE = 0.3
TEMPLATE_STATE_VERSION = 1

#: the current text documents template learning reads, with their stored line keys
_TEXT_DOCUMENTS_SQL = f"""
SELECT d.doc_id, d.source, l.text_hash, l.line_keys
FROM {warehouse.CURRENT_DOCUMENTS} d JOIN cache.document_lines l USING (doc_id)
WHERE d.kind = 'text' AND l.text_hash IS NOT NULL
"""


def _clean_key(templates_fingerprint: str | None) -> str:
    return hashlib.sha256(f"{CLEAN_VERSION}\x1f{templates_fingerprint or ''}".encode()).hexdigest()[:16]


def _document_lines_one(args):
    doc_id, text = args
    if not isinstance(text, str):
        return doc_id, None, []
    return doc_id, text_digest(text), [key for key, _ in document_lines(text)]


def _store_document_lines(con: duckdb.DuckDBPyConnection, batch_size: int = 2000) -> int:
    """Compute and store the line keys (``cache.document_lines``) of the current text documents that
    have none of this version; return how many documents were read."""
    todo = [
        r[0]
        for r in con.execute(
            f"""SELECT d.doc_id FROM {warehouse.CURRENT_DOCUMENTS} d
            LEFT JOIN cache.document_lines l ON l.doc_id = d.doc_id AND l.lines_version = ?
            WHERE d.kind = 'text' AND l.doc_id IS NULL ORDER BY d.doc_id""",
            [LINE_KEY_VERSION],
        ).fetchall()
    ]
    schema = tables.polars_schema("cache.document_lines")
    with pool(n_items=len(todo)) as workers:
        for lo in range(0, len(todo), batch_size):
            ids = todo[lo : lo + batch_size]
            con.register("_ids", pl.DataFrame({"doc_id": ids}, schema={"doc_id": pl.String}).to_arrow())
            texts = con.sql(
                "SELECT doc_id, raw_text FROM raw.documents JOIN _ids USING (doc_id) ORDER BY doc_id"
            ).fetchall()
            con.execute("DELETE FROM cache.document_lines WHERE doc_id IN (SELECT doc_id FROM _ids)")
            con.unregister("_ids")
            rows = [
                {"doc_id": doc_id, "lines_version": LINE_KEY_VERSION, "text_hash": digest, "line_keys": keys}
                for doc_id, digest, keys in workers.map(_document_lines_one, texts, chunksize=32)
            ]
            warehouse.insert_new(con, "cache.document_lines", rows, schema)
    return len(todo)


def _documents_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int]]:
    """Per outlet: the fingerprint of its current text documents (with the learning settings and code)
    and how many distinct texts they hold."""
    settings_text = f"{TEMPLATE_STATE_VERSION}|{LINE_KEY_VERSION}|{TEMPLATE_MIN_DOCS}|{TEMPLATE_MIN_SHARE!r}"
    rows = con.sql(
        f"""SELECT source, string_agg(doc_id || ':' || text_hash, ',' ORDER BY doc_id),
                   count(DISTINCT text_hash)
            FROM ({_TEXT_DOCUMENTS_SQL}) GROUP BY source"""
    ).fetchall()
    return {
        source: (hashlib.sha256(f"{settings_text}\n{docs}".encode()).hexdigest()[:16], n)
        for source, docs, n in rows
    }


@dataclass
class TemplateUpdate:
    """What ``update_corpus_templates`` did."""

    documents_read: int = 0  # documents whose lines were read (new ones)
    outlets_learned: list[str] = field(default_factory=list)  # outlets whose documents changed
    outlets_changed: list[str] = field(default_factory=list)  # outlets whose templates changed
    seconds: float = 0.0


def update_corpus_templates(con: duckdb.DuckDBPyConnection) -> TemplateUpdate:
    """Bring the per-outlet templates (``staging.source_templates``, ``staging.template_lines``) up to date
    with the current documents, learning again only what changed; the result equals
    ``learn_templates`` over every current text document (``corpus_templates``).

    * the line keys of each text document are computed once (``cache.document_lines``);
    * an outlet whose documents changed (new, superseded, moved to another outlet) has its recurring lines
      (at least ``TEMPLATE_MIN_DOCS`` documents and ``TEMPLATE_MIN_SHARE`` of them) counted again from the
      stored keys; the others keep theirs;
    * when any outlet changed, each recurring line is checked again against every outlet's documents: it
      is a template only when no other outlet prints it (wire copy is never boilerplate).

    With nothing new, nothing is read and nothing learned."""
    t0 = time.perf_counter()
    out = TemplateUpdate(documents_read=_store_document_lines(con))
    current = _documents_fingerprints(con)
    stored = dict(con.sql("SELECT source, documents_fingerprint FROM staging.source_templates").fetchall())
    learn = sorted(s for s, (fp, _) in current.items() if stored.get(s) != fp)
    gone = sorted(set(stored) - set(current))
    if not learn and not gone:
        out.seconds = time.perf_counter() - t0
        return out
    before = dict(con.sql("SELECT source, templates_fingerprint FROM staging.source_templates").fetchall())
    con.execute("BEGIN TRANSACTION")
    try:
        changed = pl.DataFrame(
            {"source": learn + gone, "n_documents": [current[s][1] for s in learn] + [0] * len(gone)},
            schema={"source": pl.String, "n_documents": pl.Int64},
        )
        con.register("_changed", changed.to_arrow())
        for table in ("staging.source_templates", "staging.template_lines"):
            con.execute(f"DELETE FROM {table} WHERE source IN (SELECT source FROM _changed)")
        # the recurring lines of the outlets learned again, from their distinct texts; each with the first
        # document (by doc_id) that has it, for the example
        recurring = con.execute(
            f"""WITH docs AS (
                    SELECT t.source, t.text_hash, min(t.doc_id) AS doc_id, any_value(t.line_keys) AS line_keys
                    FROM ({_TEXT_DOCUMENTS_SQL}) t JOIN _changed c USING (source)
                    WHERE c.n_documents >= ?
                    GROUP BY t.source, t.text_hash),
                lines AS (SELECT source, doc_id, unnest(line_keys) AS line_key FROM docs)
                SELECT l.source, l.line_key, count(*) AS n_documents, min(l.doc_id) AS first_doc
                FROM lines l JOIN _changed c USING (source)
                GROUP BY l.source, l.line_key, c.n_documents
                HAVING count(*) >= greatest(?, ? * c.n_documents)
                ORDER BY l.source, l.line_key""",
            [TEMPLATE_MIN_DOCS, TEMPLATE_MIN_DOCS, TEMPLATE_MIN_SHARE],
        ).fetchall()
        con.unregister("_changed")
        examples = _template_examples(con, {(s, k): first for s, k, _, first in recurring})
        warehouse.insert_new(
            con,
            "staging.template_lines",
            [
                {
                    "source": s,
                    "line_key": k,
                    "n_documents": n,
                    "is_template": None,
                    "example": examples.get((s, k)),
                }
                for s, k, n, _ in recurring
            ],
            tables.polars_schema("staging.template_lines"),
        )
        # every recurring line, checked against every outlet's documents
        con.execute(
            f"""UPDATE staging.template_lines t SET is_template = (h.n_sources = 1)
                FROM (SELECT l.line_key, count(DISTINCT l.source) AS n_sources
                      FROM (SELECT source, unnest(line_keys) AS line_key FROM ({_TEXT_DOCUMENTS_SQL})) l
                      SEMI JOIN (SELECT DISTINCT line_key FROM staging.template_lines) k USING (line_key)
                      GROUP BY l.line_key) h
                WHERE t.line_key = h.line_key"""
        )
        keys: dict[str, list[str]] = {}
        for source, key in con.sql(
            "SELECT source, line_key FROM staging.template_lines WHERE is_template"
        ).fetchall():
            keys.setdefault(source, []).append(key)
        rows = []
        for source in sorted((set(learn) | set(before)) - set(gone)):
            fp, n_docs = current[source]
            rows.append(
                {
                    "source": source,
                    "n_documents": n_docs,
                    "documents_fingerprint": fp,
                    "n_templates": len(keys.get(source, ())),
                    "templates_fingerprint": lines_fingerprint(keys.get(source, ())),
                }
            )
        con.execute("DELETE FROM staging.source_templates")
        warehouse.insert_new(
            con, "staging.source_templates", rows, tables.polars_schema("staging.source_templates")
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    after = {r["source"]: r["templates_fingerprint"] for r in rows}
    out.outlets_learned = learn
    out.outlets_changed = sorted(s for s in set(before) | set(after) if before.get(s) != after.get(s))
    out.seconds = time.perf_counter() - t0
    return out


def _template_examples(
    con: duckdb.DuckDBPyConnection, first_doc: dict[tuple[str, str], str]
) -> dict[tuple[str, str], str]:
    """The example of each (source, line key): the line as printed in the given document, 120 characters."""
    wanted: dict[str, set[str]] = {}
    for (_, key), doc_id in first_doc.items():
        wanted.setdefault(doc_id, set()).add(key)
    if not wanted:
        return {}
    con.register("_ids", pl.DataFrame({"doc_id": sorted(wanted)}, schema={"doc_id": pl.String}).to_arrow())
    try:
        texts = dict(
            con.sql("SELECT doc_id, raw_text FROM raw.documents JOIN _ids USING (doc_id)").fetchall()
        )
    finally:
        con.unregister("_ids")
    lines = {doc_id: dict(document_lines(texts[doc_id])) for doc_id in wanted}
    return {(s, k): lines[doc_id][k][:120] for (s, k), doc_id in first_doc.items()}


def corpus_templates(con: duckdb.DuckDBPyConnection, sources: Iterable[str] | None = None) -> SourceTemplates:
    """The stored per-outlet templates (``update_corpus_templates``), of ``sources`` or of every outlet."""
    result = SourceTemplates(min_docs=TEMPLATE_MIN_DOCS, min_share=TEMPLATE_MIN_SHARE)
    wanted = None if sources is None else sorted(set(sources))
    where = "" if wanted is None else "WHERE list_contains(?, source)"
    params = [] if wanted is None else [wanted]
    for source, n_docs in con.execute(
        f"SELECT source, n_documents FROM staging.source_templates {where} ORDER BY source", params
    ).fetchall():
        result.sources[source] = SourceProfile(n_docs=n_docs)
    for source, key, n, example in con.execute(
        f"SELECT source, line_key, n_documents, example FROM staging.template_lines {where} "
        + ("AND" if where else "WHERE")
        + " is_template ORDER BY source, line_key",
        params,
    ).fetchall():
        result.sources[source].lines[key] = {"docs": n, "example": example}
    return result


def learn_corpus_templates(con: duckdb.DuckDBPyConnection) -> SourceTemplates:
    """Per-outlet boilerplate templates of every current text document in the working database (brought up
    to date and stored first, see ``update_corpus_templates``)."""
    update_corpus_templates(con)
    return corpus_templates(con)


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise ``TimeoutError`` in the block after ``seconds`` (a real-time alarm). Only in a process's main
    thread, where signals are delivered (the pool's workers and ``wiretrace run``); elsewhere no limit."""
    if (
        seconds <= 0
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def _alarm(signum, frame):
        raise TimeoutError(f"{what} took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _clean_one(args):
    doc_id, kind, raw_text, source = args
    try:
        with time_limit(settings().clean_timeout, "cleaning this document"):
            result = clean_document(raw_text, kind=kind, source=source, templates=STATE.get("templates"))
    except Exception as exc:  # one bad document must not stop the run; it becomes a row
        return doc_id, None, f"{type(exc).__name__}: {exc}"
    removed = [(s.start, s.end, s.text, s.reason, getattr(s, "stage", None)) for s in result.removed]
    row = {
        "status": getattr(result, "status", "ok"),
        "empty_reason": getattr(result, "empty_reason", None),
        "text": result.text,
        "title": getattr(result, "title", None),
        "author": getattr(result, "author", None),
        "url": getattr(result, "url", None),
        "sitename": getattr(result, "sitename", None),
        "published_at_text": getattr(result, "published_at", None),
        "headings": json.dumps(_jsonable(getattr(result, "headings", [])), ensure_ascii=False),
    }
    return doc_id, (row, removed), None


@_measured
def stage_clean(
    con: duckdb.DuckDBPyConnection, progress: Progress = _noop, batch_size: int = 2000
) -> StageResult:
    t0 = time.perf_counter()
    warehouse.ensure_schema(con)
    res = StageResult("clean", {"documents": 0, "cleaned": 0, "empty": 0, "failed": 0, "removed_spans": 0})
    update = update_corpus_templates(con)
    res.extra["templates"] = {
        "documents_read": update.documents_read,
        "outlets_learned": len(update.outlets_learned),
        "outlets_changed": len(update.outlets_changed),
        "seconds": round(update.seconds, 3),
    }
    fingerprints = dict(
        con.sql("SELECT source, templates_fingerprint FROM staging.source_templates").fetchall()
    )
    sources = [
        r[0]
        for r in con.sql(f"SELECT DISTINCT source FROM {warehouse.CURRENT_DOCUMENTS} d ORDER BY 1").fetchall()
    ]
    con.register(
        "_keys",
        pl.DataFrame(
            {"source": sources, "clean_key": [_clean_key(fingerprints.get(s)) for s in sources]},
            schema={"source": pl.String, "clean_key": pl.String},
        ).to_arrow(),
    )
    todo = con.sql(
        f"""SELECT d.doc_id, d.kind, d.source, k.clean_key, c.doc_id IS NOT NULL
           FROM {warehouse.CURRENT_DOCUMENTS} d
           JOIN _keys k USING (source)
           LEFT JOIN staging.clean_documents c USING (doc_id)
           WHERE c.doc_id IS NULL OR c.clean_key IS DISTINCT FROM k.clean_key ORDER BY d.doc_id"""
    ).fetchall()
    con.unregister("_keys")
    again = sum(r[4] for r in todo)
    res.extra["templates"]["documents_cleaned_again"] = again
    if again:
        res.notes.append(
            f"{again} document(s) cleaned again: the templates of {len(update.outlets_changed)} outlet(s) "
            "changed (or the cleaner did)"
        )
    res.counts["documents"] = con.sql(f"SELECT count(*) FROM {warehouse.CURRENT_DOCUMENTS} d").fetchall()[0][
        0
    ]
    total = len(todo)
    progress("clean", 0, total)
    templates = corpus_templates(con, {r[2] for r in todo}) if todo else None
    with pool({"templates": templates}, n_items=total) as workers:
        for lo in range(0, total, batch_size):
            chunk = todo[lo : lo + batch_size]
            ids = [r[0] for r in chunk]
            key_of = {r[0]: r[3] for r in chunk}
            con.register("_ids", pl.DataFrame({"doc_id": ids}, schema={"doc_id": pl.String}).to_arrow())
            raw = dict(
                con.sql("SELECT doc_id, raw_text FROM raw.documents JOIN _ids USING (doc_id)").fetchall()
            )
            for table in ("staging.clean_documents", "staging.removed_spans", "staging.sentences"):
                con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT doc_id FROM _ids)")
            con.unregister("_ids")
            clean_rows: list[dict] = []
            span_rows: list[dict] = []
            args = [(doc_id, kind, raw[doc_id], source) for doc_id, kind, source, *_ in chunk]
            for doc_id, out, error in workers.map(_clean_one, args, chunksize=16):
                if out is None:
                    res.counts["failed"] += 1
                    clean_rows.append(
                        {
                            "doc_id": doc_id,
                            "status": "error",
                            "empty_reason": None,
                            "text": "",
                            "clean_key": key_of[doc_id],
                            "error": error,
                            "n_removed": 0,
                            "removed_chars": 0,
                        }
                    )
                    continue
                row, removed = out
                if row["status"] != "ok":
                    res.counts["empty"] += 1
                row.update(
                    {
                        "doc_id": doc_id,
                        "n_removed": len(removed),
                        "removed_chars": sum(e - s for s, e, *_ in removed),
                        "clean_key": key_of[doc_id],
                        "error": None,
                    }
                )
                clean_rows.append(row)
                for i, (start, end, text, reason, stage) in enumerate(removed):
                    span_rows.append(
                        {
                            "doc_id": doc_id,
                            "span_index": i,
                            "start_offset": start,
                            "end_offset": end,
                            "text": text,
                            "reason": reason,
                            "stage": stage,
                        }
                    )
                res.counts["cleaned"] += 1
            warehouse.insert_new(
                con, "staging.clean_documents", clean_rows, tables.polars_schema("staging.clean_documents")
            )
            res.counts["removed_spans"] += warehouse.insert_new(
                con, "staging.removed_spans", span_rows, tables.polars_schema("staging.removed_spans")
            )
            progress("clean", min(lo + batch_size, total), total)
    res.seconds = time.perf_counter() - t0
    return res


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value


# -------------------------------------------------------------------------------------------- segment


def _segment_one(args):
    doc_id, text = args
    rows = []
    for i, span in enumerate(split_sentences(text or "")):
        norm = normalize_sentence(span.text)
        rows.append(
            (
                f"{doc_id}:{i}",
                doc_id,
                i,
                span.paragraph,
                span.start,
                span.end,
                span.text,
                norm,
                sentence_hash(norm),
                norm.count(" ") + 1 if norm else 0,
            )
        )
    return rows


@_measured
def stage_segment(
    con: duckdb.DuckDBPyConnection, progress: Progress = _noop, batch_size: int = 5000
) -> StageResult:
    t0 = time.perf_counter()
    warehouse.ensure_schema(con)
    res = StageResult("segment", {"documents": 0, "sentences": 0})
    todo = [
        r[0]
        for r in con.sql(
            """SELECT c.doc_id FROM staging.clean_documents c
           WHERE c.status = 'ok' AND NOT EXISTS (SELECT 1 FROM staging.sentences s WHERE s.doc_id = c.doc_id)
           ORDER BY c.doc_id"""
        ).fetchall()
    ]
    total = len(todo)
    progress("segment", 0, total)
    with pool(n_items=total, min_items=2000) as workers:
        for lo in range(0, total, batch_size):
            ids = todo[lo : lo + batch_size]
            con.register("_ids", pl.DataFrame({"doc_id": ids}, schema={"doc_id": pl.String}).to_arrow())
            texts = con.sql(
                "SELECT doc_id, text FROM staging.clean_documents JOIN _ids USING (doc_id) ORDER BY doc_id"
            ).fetchall()
            con.unregister("_ids")
            rows = [row for doc_rows in workers.map(_segment_one, texts, chunksize=32) for row in doc_rows]
            frame = pl.DataFrame(rows, schema=tables.polars_schema("staging.sentences"), orient="row")
            res.counts["documents"] += len(texts)
            res.counts["sentences"] += warehouse.insert_new(con, "staging.sentences", frame)
            progress("segment", min(lo + batch_size, total), total)
    res.seconds = time.perf_counter() - t0
    return res


# -------------------------------------------------------------------------------------------- overlap

# the overlap stage's inputs: current documents only (superseded and forgotten ones stay out of
# every mart; see warehouse.CURRENT_DOCUMENTS); the sentences in no particular order (the stage sorts
# them by sentence_id itself: a sort in DuckDB holds a second copy of every text)
DOCUMENTS_SQL = f"""
SELECT d.doc_id, d.source, {tables.BEST_DATE_SQL} AS published_at, {tables.BEST_PRECISION_SQL} AS published_at_precision,
       coalesce(d.title, c.title) AS title, d.url, length(c.text) AS n_chars
FROM {warehouse.CURRENT_DOCUMENTS} d JOIN staging.clean_documents c USING (doc_id)
WHERE c.status = 'ok'
ORDER BY d.doc_id
"""
SENTENCES_SQL = f"""
SELECT s.sentence_id, s.doc_id, s.sentence_index AS "index", s.paragraph,
       s.start_offset AS start, s.end_offset AS "end", s.text, s.norm, s.norm_hash, s.n_tokens
FROM staging.sentences s JOIN staging.clean_documents c USING (doc_id)
JOIN {warehouse.CURRENT_DOCUMENTS} d USING (doc_id)
WHERE c.status = 'ok'
"""


def _inputs_digest(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the overlap stage's input rows (documents and sentences, any order)."""
    parts = []
    for sql in (DOCUMENTS_SQL, SENTENCES_SQL):
        n, h = con.sql(f"SELECT count(*), bit_xor(hash(q)) FROM ({sql}) q").fetchall()[0]
        parts.append(f"{n}:{h}")
    return ";".join(parts)


def _stored_state(con: duckdb.DuckDBPyConnection, stage: str) -> str | None:
    row = con.execute("SELECT fingerprint FROM meta.stage_state WHERE stage = ?", [stage]).fetchall()
    return row[0][0] if row else None


def _save_state(con: duckdb.DuckDBPyConnection, stage: str, fingerprint: str | None) -> None:
    if fingerprint is None:
        con.execute("DELETE FROM meta.stage_state WHERE stage = ?", [stage])
        return
    con.execute(
        "INSERT OR REPLACE INTO meta.stage_state (stage, fingerprint) VALUES (?, ?)", [stage, fingerprint]
    )


def _existing_tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND database_name = current_database()",
        [schema],
    ).fetchall()
    return {r[0] for r in rows}


def _load_store(con: duckdb.DuckDBPyConnection, store: OverlapStore) -> None:
    """Fill ``store`` with the rows stored under its keys (with a stored banding state, signatures and
    postings are read on demand instead: ``_load_banding``)."""
    _load_blocking(con, store)
    attach_static_vectors(con, store)
    attach_evidence(con, store)
    attach_doc_words(con, store)
    if not _load_banding(con, store):
        store.signatures = con.sql(
            "SELECT signature_key, norm_hash, signature FROM cache.minhash_signatures WHERE signature_key = ?",
            params=[store.signature_key],
        ).pl()
    keys = sorted(store.grade_keys.values())
    store.grades = con.sql(
        "SELECT grade_key, pair_key, norm_hash_a, norm_hash_b, kind, score, signals FROM cache.graded_pairs "
        "WHERE list_contains(?, grade_key)",
        params=[keys],
    ).pl()
    store.traits = con.sql(
        "SELECT trait_key, tk1, tk2, quote_share, stock_reason FROM cache.sentence_traits WHERE trait_key = ?",
        params=[store.trait_key],
    ).pl()
    store.tokens = con.sql(
        "SELECT token_key, norm_hash, tokens FROM cache.word_tokens WHERE token_key = ?",
        params=[store.token_key],
    ).pl()


def _load_banding(con: duckdb.DuckDBPyConnection, store: OverlapStore) -> bool:
    """The banding state of the last run (``cache.lsh_members``, ``cache.lsh_pairs``) into ``store``,
    with look-ups of stored signatures and postings by key; False when there is none."""
    members = con.sql(
        "SELECT norm_hash FROM cache.lsh_members WHERE lsh_key = ?", params=[store.lsh_key]
    ).pl()
    if members.height == 0:
        return False
    store.lsh_members = members
    store.lsh_pairs = con.sql(
        "SELECT norm_hash_a, norm_hash_b, n_buckets, jaccard FROM cache.lsh_pairs WHERE lsh_key = ?",
        params=[store.lsh_key],
    ).pl()

    def fetch_signatures(norm_hashes: pl.Series) -> pl.DataFrame:
        con.register("_want", pl.DataFrame({"norm_hash": norm_hashes.unique()}).to_arrow())
        try:
            return con.sql(
                "SELECT s.norm_hash, s.signature FROM cache.minhash_signatures s JOIN _want USING (norm_hash) "
                "WHERE s.signature_key = ?",
                params=[store.signature_key],
            ).pl()
        finally:
            con.unregister("_want")

    def fetch_postings(keys: pl.DataFrame) -> pl.DataFrame:
        con.register("_keys", keys.select("band", "bucket").to_arrow())
        try:
            return con.sql(
                "SELECT p.band, p.bucket, p.norm_hash FROM cache.lsh_postings p JOIN _keys USING (band, bucket) "
                "WHERE p.lsh_key = ?",
                params=[store.lsh_key],
            ).pl()
        finally:
            con.unregister("_keys")

    store.fetch_signatures, store.fetch_postings = fetch_signatures, fetch_postings
    return True


def _load_blocking(con: duckdb.DuckDBPyConnection, store: OverlapStore) -> None:
    """The rare-word sets and qualifying document pairs of the last run into ``store``."""
    store.rare_sets = con.sql(
        "SELECT doc_id, rk1, rk2, n_rare FROM cache.rare_doc_sets WHERE block_key = ?",
        params=[store.block_key],
    ).pl()
    store.rare_pairs = con.sql(
        "SELECT doc_id_a, doc_id_b, n_shared, overlap FROM cache.rare_doc_pairs WHERE block_key = ?",
        params=[store.block_key],
    ).pl()


def _write_blocking(con: duckdb.DuckDBPyConnection, store: OverlapStore) -> None:
    """Replace the sets and pairs of the documents whose rare words changed (one transaction)."""
    w = store.rare_writes
    if not w:
        return
    key = store.block_key
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_dirty", w["dirty"].to_arrow())
        con.execute(
            "DELETE FROM cache.rare_doc_sets s USING _dirty d WHERE s.block_key = ? AND s.doc_id = d.doc_id",
            [key],
        )
        con.execute(
            "DELETE FROM cache.rare_doc_pairs p WHERE p.block_key = ? AND (p.doc_id_a IN (SELECT doc_id FROM _dirty) "
            "OR p.doc_id_b IN (SELECT doc_id FROM _dirty))",
            [key],
        )
        con.unregister("_dirty")
        con.register("_in", w["sets"].to_arrow())
        con.execute("INSERT INTO cache.rare_doc_sets SELECT ?, doc_id, rk1, rk2, n_rare FROM _in", [key])
        con.unregister("_in")
        con.register("_in", w["pairs"].to_arrow())
        con.execute(
            "INSERT INTO cache.rare_doc_pairs SELECT ?, doc_id_a, doc_id_b, n_shared, overlap FROM _in", [key]
        )
        con.unregister("_in")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


#: DuckDB's memory limit (MiB; ``WIRETRACE_DUCKDB_MEMORY_MB`` when lower) once the overlap stage has read
#: its inputs: from then on it appends rows and makes small look-ups in DuckDB, which need no cache of
#: table blocks, while the blocks it reads and writes would otherwise stay cached beside the stage's
#: frames up to the stage's limit (on 10,000 articles: 0.6 GiB of cached blocks under a limit of 1024)
#: (loaded primary-key indexes count against it and cannot be evicted: ``warehouse.insert_new`` raises the
#: limit for an insert that runs out of it)
OVERLAP_DUCKDB_MEMORY_MB = 256

#: rows per insert of the signatures the overlap stage writes as it computes them (each batch is
#: handed to DuckDB as one Arrow table)
WRITE_BATCH_ROWS = 200_000


def _insert_postings(
    con: duckdb.DuckDBPyConnection, key: str, frame: pl.DataFrame, look_up: bool = True
) -> None:
    """Add the postings (band, bucket, norm_hash) ``frame`` under ``key``; a sentence's postings are
    written once (it may have been banded under a removed state). ``look_up=False``: the caller knows
    that none of them is stored."""
    con.register("_in", frame.to_arrow())
    try:
        if not look_up:
            con.execute("INSERT INTO cache.lsh_postings SELECT ?, band, bucket, norm_hash FROM _in", [key])
            return
        con.execute(
            "INSERT INTO cache.lsh_postings SELECT ?, band, bucket, norm_hash FROM _in i WHERE NOT EXISTS "
            "(SELECT 1 FROM cache.lsh_postings p WHERE p.lsh_key = ? AND p.band = i.band AND p.norm_hash = i.norm_hash)",
            [key, key],
        )
    finally:
        con.unregister("_in")


def _write_early(con: duckdb.DuckDBPyConnection, store: OverlapStore) -> None:
    """Let ``store`` write the rows that only ever gain rows (signatures, postings) as the run computes
    them, in batches, rather than hold them to the end of the stage: a value written by a run that
    fails later is still the value its key names."""

    def signatures(frame: pl.DataFrame) -> None:
        for lo in range(0, frame.height, WRITE_BATCH_ROWS):
            warehouse.insert_new(con, "cache.minhash_signatures", frame.slice(lo, WRITE_BATCH_ROWS))

    # under a key with no postings yet (a first run), a run's postings are all new: (band, norm_hash)
    # is distinct within a run, so the look-up of earlier rows is left out
    none_yet = not con.sql(
        "SELECT 1 FROM cache.lsh_postings WHERE lsh_key = ? LIMIT 1", params=[store.lsh_key]
    ).fetchall()

    def postings(frame: pl.DataFrame, unstored: bool = False) -> None:  # (each look-up scans the band)
        _insert_postings(con, store.lsh_key, frame, look_up=not (none_yet or unstored))

    store.write_signatures, store.write_postings = signatures, postings
    # the other values that only ever gain rows are written as they are computed too
    sinks = {
        "graded_pairs": ("added_grades", ("grade_key", "pair_key")),
        "sentence_traits": ("added_traits", ("tk1", "tk2")),
        "word_tokens": ("added_tokens", ("norm_hash",)),
    }
    for table, (attr, key) in sinks.items():
        setattr(store, attr, RowSink(functools.partial(warehouse.insert_new, con, f"cache.{table}"), key))
    store.static.added = RowSink(
        functools.partial(warehouse.insert_new, con, "cache.static_vectors"), ("static_key", "text_key")
    )


def _write_banding(con: duckdb.DuckDBPyConnection, store: OverlapStore) -> None:
    """Write the banding state the run left in ``store.lsh_writes`` (one transaction)."""
    w = store.lsh_writes
    if not w:
        return
    key = store.lsh_key
    con.execute("BEGIN TRANSACTION")
    try:
        if w.get("reset"):
            con.execute("DELETE FROM cache.lsh_members WHERE lsh_key = ?", [key])
            con.execute("DELETE FROM cache.lsh_pairs WHERE lsh_key = ?", [key])
        else:
            con.register("_gone", w["members_removed"].select("norm_hash").to_arrow())
            con.execute(
                "DELETE FROM cache.lsh_members m USING _gone g WHERE m.lsh_key = ? AND m.norm_hash = g.norm_hash",
                [key],
            )
            con.unregister("_gone")
            con.register("_changed", w["pairs_changed"].select("norm_hash_a", "norm_hash_b").to_arrow())
            con.execute(
                "DELETE FROM cache.lsh_pairs p USING _changed c WHERE p.lsh_key = ? "
                "AND p.norm_hash_a = c.norm_hash_a AND p.norm_hash_b = c.norm_hash_b",
                [key],
            )
            con.unregister("_changed")
        con.register("_in", w["members_added"].select("norm_hash").to_arrow())
        con.execute("INSERT INTO cache.lsh_members SELECT ?, norm_hash FROM _in", [key])
        con.unregister("_in")
        con.register("_in", w["pairs_changed"].filter(pl.col("n_buckets") > 0).to_arrow())
        con.execute(
            "INSERT INTO cache.lsh_pairs SELECT ?, norm_hash_a, norm_hash_b, n_buckets, jaccard FROM _in",
            [key],
        )
        con.unregister("_in")
        for frame in w.get("postings", []):
            _insert_postings(con, key, frame)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@_measured
def stage_overlap(
    con: duckdb.DuckDBPyConnection,
    progress: Progress = _noop,
    encoder="auto",
    config=None,
    reuse: bool = True,
) -> StageResult:
    """Compute the overlap marts (``compute_overlap``) from the current documents and sentences.

    With ``reuse`` (the default) the stage skips its work when its inputs, settings, code and models
    are those of its last successful run (``meta.stage_state``; the marts are kept), and otherwise
    reuses the MinHash signatures and grades stored by earlier runs (``cache.*``) and stores the new
    ones (see ``pipeline.core.overlap.store``). ``reuse=False`` computes everything and stores nothing."""
    t0 = time.perf_counter()
    warehouse.ensure_schema(con)
    cfg = config or OverlapConfig()
    res = StageResult("overlap")
    fingerprint = None
    if reuse:
        enc_fp = encoder_fingerprint(encoder)
        if encoder == "auto" and enc_fp is not None:
            enc_fp += "|" + semantic_wanted(encoder)[1]
        fingerprint = inputs_fingerprint(_inputs_digest(con), cfg, enc_fp)
        marts = _existing_tables(con, "marts")
        if (
            fingerprint is not None
            and fingerprint == _stored_state(con, "overlap")
            and all(name in marts for name in tables.OVERLAP_TABLES)
        ):
            for name in tables.OVERLAP_TABLES:
                res.counts[name] = con.sql(f"SELECT count(*) FROM marts.{name}").fetchall()[0][0]
            res.extra = {
                "skipped": True,
                "reason": "inputs, settings, code and models unchanged since the last run",
            }
            res.notes.append("overlap skipped: nothing changed since its last run (the marts are kept)")
            res.seconds = time.perf_counter() - t0
            return res
    return _compute_and_write(con, res, progress, encoder, cfg, reuse, fingerprint, t0)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Move every object alive now out of the garbage collector's reach for a block (``gc.freeze``),
    then give them back (``gc.unfreeze``). The collector's full passes scan every tracked object; what
    a process holds before the overlap stage is long-lived (in a ``wiretrace run`` the Dagster job's
    definitions and instance: about 250,000 objects, against 70,000 without Dagster), and scanning
    it in each full pass the stage triggers doubled the stage's collection time (4.4 s against 2.2 s
    of CPU on the whole-corpus +1% batch). Nothing is collected differently: garbage frozen here is
    collected after the block. A caller that froze objects itself keeps them frozen: the block then
    does nothing (``gc.unfreeze`` would release the caller's too). (Here rather than in
    ``overlap.common``, whose source is part of the keys of stored signatures and words.)"""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _compute_and_write(
    con: duckdb.DuckDBPyConnection,
    res: StageResult,
    progress: Progress,
    encoder,
    cfg: OverlapConfig,
    reuse: bool,
    fingerprint: str | None,
    t0: float,
) -> StageResult:
    """The overlap stage's work once it is known not to be skipped (see :func:`stage_overlap`)."""
    clock = Clock(None)  # the stage's own steps (reading and writing), beside compute_overlap's
    with clock.step("read"):
        documents = con.sql(DOCUMENTS_SQL).pl()
        # in sentence_id order, the form compute_overlap takes without copying the texts
        sentences = con.sql(SENTENCES_SQL).pl().sort("sentence_id")
        store = None
        if reuse:
            store = OverlapStore.for_run(cfg, encoder)
            t_read = time.perf_counter()
            _load_store(con, store)
            _write_early(con, store)
            derived.attach_derived(con, store, code_fingerprint())
            t_read = time.perf_counter() - t_read
    # lowering DuckDB's limit also drops the blocks it cached while the inputs were read
    with warehouse.memory_limit(con, f"{min(settings().duckdb_memory_mb, OVERLAP_DUCKDB_MEMORY_MB)}MiB"):
        with frozen_heap():  # the objects alive before the stage are not scanned by its collections
            result = compute_overlap(
                documents, sentences, config=cfg, encoder=encoder, progress=progress, store=store
            )
        del documents, sentences
        _save_state(con, "overlap", None)  # the marts change now: no skip until they are all written
        with clock.step("write_marts"):
            derived.drop_derived(con)  # the stored digests describe the marts being replaced
            for name, frame in result.tables().items():
                warehouse.replace_table(con, f"marts.{name}", frame)
                res.counts[name] = frame.height
        t_store = time.perf_counter()
        if store is not None:
            with clock.step("write_cache"):
                new = store.new_rows()
                store.signatures = store.grades = store.traits = store.tokens = store.lsh_pairs = (
                    store.rare_pairs
                ) = None  # type: ignore[assignment]
                for name, frame in new.items():
                    warehouse.insert_new(con, f"cache.{name}", frame)
                del new
            with clock.step("write_index"):
                _write_banding(con, store)
                _write_blocking(con, store)
                derived.write_derived(con, store)
                write_doc_words(con, store)
            _save_state(con, "overlap", fingerprint)
    result.stats["timings"] = (
        {"read": clock.timings["read"]}
        | result.stats["timings"]
        | {k: v for k, v in clock.timings.items() if k != "read"}
    )
    result.stats["step_memory"] = (
        {"read": clock.memory["read"]}
        | result.stats["step_memory"]
        | {k: v for k, v in clock.memory.items() if k != "read"}
    )
    res.extra = dict(result.stats) | {"skipped": False}
    if store is not None:
        res.extra["store"]["seconds_read"] = round(t_read, 3)
        res.extra["store"]["seconds_written"] = round(time.perf_counter() - t_store, 3)
    sem = result.stats.get("semantic") or {}
    if not sem.get("embeddings"):
        res.notes.append(
            f"{sem.get('reason', 'semantic tier off')}: paraphrase detection uses lexical signals only "
            "(fewer paraphrases found, less accurate grades)"
        )
    elif not sem.get("ran"):
        res.notes.append(f"{sem.get('reason')} (embeddings still grade the lexical candidates)")
    ver = result.stats.get("verifier") or {}
    if sem.get("embeddings") and not ver.get("reason", "").startswith("paraphrase verifier on"):
        res.notes.append(ver["reason"])
    res.seconds = time.perf_counter() - t0
    return res


# -------------------------------------------------------------------------------------------- publish


#: tables left out of the publish fingerprint: the run log (a run that changes nothing is published
#: with the next run that does) and the fingerprints themselves
_UNFINGERPRINTED = ("meta.runs", "meta.stage_state")


def table_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A digest per table ``warehouse.publish`` copies (its columns and rows, in any order), except
    ``_UNFINGERPRINTED``."""
    rows = con.sql(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name IN ('raw','staging','marts','meta') "
        "ORDER BY 1, 2"
    ).fetchall()
    out = {}
    for schema, table in rows:
        if f"{schema}.{table}" in _UNFINGERPRINTED:
            continue
        n, h = con.sql(f'SELECT count(*), bit_xor(hash(t)) FROM "{schema}"."{table}" t').fetchall()[0]
        cols = con.execute(
            "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY column_index) FROM duckdb_columns() "
            "WHERE schema_name = ? AND table_name = ? AND database_name = current_database()",
            [schema, table],
        ).fetchall()[0][0]
        out[f"{schema}.{table}"] = f"{schema}.{table}({cols}):{n}:{h}"
    return out


def publish_fingerprint(con: duckdb.DuckDBPyConnection, per_table: dict[str, str] | None = None) -> str:
    """A digest of every table ``warehouse.publish`` copies (rows in any order), except ``_UNFINGERPRINTED``."""
    parts = per_table if per_table is not None else table_fingerprints(con)
    return hashlib.sha256("\n".join(parts[k] for k in sorted(parts)).encode()).hexdigest()


def _file_identity(path: Path) -> str:
    """The analysts' file's path, size and modification time: a file changed by anyone but the publish
    step, or another file, is written whole again."""
    st = Path(path).stat()
    return f"{Path(path).resolve()}:{st.st_size}:{st.st_mtime_ns}"


@_measured
def stage_publish(
    con: duckdb.DuckDBPyConnection, analyst_path: Path, reuse: bool = True, whole: bool = False
) -> StageResult:
    """Publish the working database (``warehouse.publish``). With ``reuse``, nothing is written when the
    analysts' file exists and the tables it copies are unchanged since the last publish
    (``publish_fingerprint``): readers keep their file untouched. Otherwise, when the analysts' file is
    the one the last publish wrote, only the tables whose fingerprint changed are written, and of those
    only their changed rows; ``whole`` (or ``reuse=False``) writes the whole file."""
    t0 = time.perf_counter()
    warehouse.ensure_schema(con)
    per_table = table_fingerprints(con)
    fingerprint = publish_fingerprint(con, per_table)
    exists = Path(analyst_path).is_file()
    last = _stored_state(con, "publish_tables")
    last = json.loads(last) if last else {}
    # the file the last publish wrote, untouched since
    ours = exists and last.get("file") == _file_identity(analyst_path)
    if reuse and not whole and ours and fingerprint == _stored_state(con, "publish"):
        res = StageResult("publish", extra={"skipped": True})
        res.notes.append("publish skipped: the published tables are unchanged since the last publish")
        res.seconds = time.perf_counter() - t0
        return res
    changed = None
    if reuse and not whole and ours:
        before = last.get("tables", {})
        # the run log and the stage state are not fingerprinted: always written
        changed = sorted({k for k, v in per_table.items() if before.get(k) != v} | set(_UNFINGERPRINTED))
    _save_state(con, "publish", None)
    _save_state(con, "publish_tables", None)
    con.execute("CHECKPOINT")
    counts = warehouse.publish(con, analyst_path, finalize=tables.finalize_published, changed=changed)
    changed_rows = counts.pop("publish_changed_rows")
    _save_state(con, "publish", fingerprint)
    _save_state(
        con,
        "publish_tables",
        json.dumps({"file": _file_identity(analyst_path), "tables": per_table}, sort_keys=True),
    )
    extra = {"skipped": False, "whole_file": changed is None}
    if changed is not None:
        extra.update(tables_written=[t for t in changed if t in counts], rows_written=changed_rows)
    res = StageResult("publish", counts, extra=extra)
    if changed is not None:
        res.notes.append(
            f"publish: {len(changed)} changed table(s) updated in place of a copy, {changed_rows} row(s) written or deleted"
        )
    res.seconds = time.perf_counter() - t0
    return res
