"""The pipeline's stages as plain functions over the working DuckDB database.

Each stage reads what the previous one wrote and writes its own tables. They are shared by the
command line (``wiretrace run``, in-process) and by the Dagster assets, so both produce identical
tables. Stages are incremental where that is safe:

* ingest adds only documents, files and errors it has not seen (primary keys make reruns no-ops);
* clean (re)processes a document when it has no clean row or when its *clean key* changed (the cleaner
  version plus the fingerprint of the templates learned for its source);
* segment splits documents whose clean row has no sentences yet;
* overlap is recomputed over the whole corpus (its answers depend on every document);
* publish copies everything to a new analysts' file and swaps it in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import warehouse
from pipeline.core.catalog import BEST_DATE_SQL, BEST_PRECISION_SQL
from pipeline.core.ingest import IngestConfig, iter_ingest

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


def _error_id(path: str, record: str | None, sha: str | None, reason: str) -> str:
    key = "\x1f".join([path, record or "", sha or "", reason])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------------------------- ingest

_DOC_SCHEMA = {
    "doc_id": pl.String,
    "source": pl.String,
    "source_origin": pl.String,
    "kind": pl.String,
    "raw_text": pl.String,
    "path": pl.String,
    "record": pl.String,
    "external_id": pl.String,
    "url": pl.String,
    "title": pl.String,
    "published_at": pl.Datetime("us"),
    "published_at_raw": pl.String,
    "encoding": pl.String,
    "repairs": pl.List(pl.String),
    "content_sha256": pl.String,
    "n_chars": pl.Int32,
    "published_at_precision": pl.String,
    "published_at_flag": pl.String,
    "batch_id": pl.String,
}
_FILE_SCHEMA = {
    "path": pl.String,
    "sha256": pl.String,
    "size_bytes": pl.Int64,
    "format": pl.String,
    "n_records": pl.Int32,
    "n_documents": pl.Int32,
    "n_errors": pl.Int32,
    "batch_id": pl.String,
}
_ERROR_SCHEMA = {
    "error_id": pl.String,
    "path": pl.String,
    "record": pl.String,
    "file_sha256": pl.String,
    "reason": pl.String,
    "message": pl.String,
    "raw_excerpt": pl.String,
    "batch_id": pl.String,
}


def stage_ingest(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    files: Iterable[Path] | None = None,
    batch_id: str = "manual",
    cfg: IngestConfig | None = None,
    progress: Progress = _noop,
    flush_every: int = 5000,
) -> StageResult:
    """Ingest ``files`` (default: all) of the landing folder; new rows only."""
    t0 = time.perf_counter()
    warehouse.ensure_schema(con)
    res = StageResult(
        "ingest",
        {"files": 0, "documents_seen": 0, "documents_new": 0, "errors": 0, "errors_new": 0, "files_new": 0},
    )
    landing = Path(landing)
    docs: list[dict] = []
    raws: list[dict] = []
    errs: list[dict] = []

    def flush() -> None:
        if raws:
            res.counts["files_new"] += warehouse.insert_new(con, "raw.raw_files", raws, _FILE_SCHEMA)
        if docs:
            res.counts["documents_new"] += warehouse.insert_new(con, "raw.documents", docs, _DOC_SCHEMA)
        if errs:
            res.counts["errors_new"] += warehouse.insert_new(con, "raw.ingest_errors", errs, _ERROR_SCHEMA)
        raws.clear()
        docs.clear()
        errs.clear()

    targets = list(files) if files is not None else None
    total = len(targets) if targets is not None else 0
    seen_ids: set[str] = set()
    for i, part in enumerate(iter_ingest(landing, targets, cfg), start=1):
        for f in part.files:
            row = asdict(f)
            row["batch_id"] = batch_id
            raws.append(row)
            res.counts["files"] += 1
        for d in part.documents:
            res.counts["documents_seen"] += 1
            if d.doc_id in seen_ids:
                continue
            seen_ids.add(d.doc_id)
            row = asdict(d)
            row["batch_id"] = batch_id
            docs.append(row)
        for e in part.errors:
            row = asdict(e)
            row["error_id"] = _error_id(e.path, e.record, e.file_sha256, e.reason)
            row["batch_id"] = batch_id
            errs.append(row)
            res.counts["errors"] += 1
        if len(docs) >= flush_every:
            flush()
        progress("ingest", i, total)
    flush()
    res.seconds = time.perf_counter() - t0
    return res


# ---------------------------------------------------------------------------------------------- clean

CLEAN_VERSION = "clean-2"  # clean-2: whitespace is no longer recorded as removed spans


def _template_keys(templates, sources: Iterable[str]) -> dict[str, str]:
    keys = {}
    for source in sources:
        fp = ""
        if templates is not None and hasattr(templates, "fingerprint"):
            fp = templates.fingerprint(source) or ""
        keys[source] = hashlib.sha256(f"{CLEAN_VERSION}\x1f{fp}".encode()).hexdigest()[:16]
    return keys


def learn_corpus_templates(con: duckdb.DuckDBPyConnection):
    """Learn per-source boilerplate templates from every text document in the working database."""
    try:
        from pipeline.core.templates import learn_templates
    except ImportError:  # pragma: no cover - templates module not installed
        return None
    rows = con.sql(
        "SELECT source, raw_text FROM raw.documents WHERE kind = 'text' ORDER BY doc_id"
    ).fetchall()
    return learn_templates(rows)


def _clean_one(args):
    from pipeline.core.clean import clean_document
    from pipeline.core.parallel import STATE

    doc_id, kind, raw_text, source = args
    try:
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


def stage_clean(
    con: duckdb.DuckDBPyConnection, progress: Progress = _noop, batch_size: int = 2000
) -> StageResult:
    from pipeline.core.parallel import pool

    t0 = time.perf_counter()
    warehouse.ensure_schema(con)
    res = StageResult("clean", {"documents": 0, "cleaned": 0, "empty": 0, "failed": 0, "removed_spans": 0})
    templates = learn_corpus_templates(con)
    sources = [r[0] for r in con.sql("SELECT DISTINCT source FROM raw.documents ORDER BY 1").fetchall()]
    keys = _template_keys(templates, sources)
    con.register(
        "_keys",
        pl.DataFrame(
            {"source": list(keys), "clean_key": list(keys.values())},
            schema={"source": pl.String, "clean_key": pl.String},
        ).to_arrow(),
    )
    todo = con.sql(
        """SELECT d.doc_id, d.kind, d.source, k.clean_key FROM raw.documents d JOIN _keys k USING (source)
           LEFT JOIN staging.clean_documents c USING (doc_id)
           WHERE c.doc_id IS NULL OR c.clean_key IS DISTINCT FROM k.clean_key ORDER BY d.doc_id"""
    ).fetchall()
    con.unregister("_keys")
    res.counts["documents"] = con.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0]
    total = len(todo)
    progress("clean", 0, total)
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
            args = [(doc_id, kind, raw[doc_id], source) for doc_id, kind, source, _key in chunk]
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
            warehouse.insert_new(con, "staging.clean_documents", clean_rows, _CLEAN_SCHEMA)
            res.counts["removed_spans"] += warehouse.insert_new(
                con, "staging.removed_spans", span_rows, _SPAN_SCHEMA
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


_CLEAN_SCHEMA = {
    "doc_id": pl.String,
    "status": pl.String,
    "empty_reason": pl.String,
    "text": pl.String,
    "title": pl.String,
    "author": pl.String,
    "url": pl.String,
    "sitename": pl.String,
    "published_at_text": pl.String,
    "headings": pl.String,
    "n_removed": pl.Int32,
    "removed_chars": pl.Int32,
    "clean_key": pl.String,
    "error": pl.String,
}
_SPAN_SCHEMA = {
    "doc_id": pl.String,
    "span_index": pl.Int32,
    "start_offset": pl.Int32,
    "end_offset": pl.Int32,
    "text": pl.String,
    "reason": pl.String,
    "stage": pl.String,
}
_SENT_SCHEMA = {
    "sentence_id": pl.String,
    "doc_id": pl.String,
    "sentence_index": pl.Int32,
    "paragraph": pl.Int32,
    "start_offset": pl.Int32,
    "end_offset": pl.Int32,
    "text": pl.String,
    "norm": pl.String,
    "norm_hash": pl.String,
    "n_tokens": pl.Int32,
}


# -------------------------------------------------------------------------------------------- segment


def _segment_one(args):
    from pipeline.core.normalize import normalize_sentence, sentence_hash
    from pipeline.core.segment import split_sentences

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


def stage_segment(
    con: duckdb.DuckDBPyConnection, progress: Progress = _noop, batch_size: int = 5000
) -> StageResult:
    from pipeline.core.parallel import pool

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
            frame = pl.DataFrame(rows, schema=_SENT_SCHEMA, orient="row")
            res.counts["documents"] += len(texts)
            res.counts["sentences"] += warehouse.insert_new(con, "staging.sentences", frame)
            progress("segment", min(lo + batch_size, total), total)
    res.seconds = time.perf_counter() - t0
    return res


# -------------------------------------------------------------------------------------------- overlap

DOCUMENTS_SQL = f"""
SELECT d.doc_id, d.source, {BEST_DATE_SQL} AS published_at, {BEST_PRECISION_SQL} AS published_at_precision,
       coalesce(d.title, c.title) AS title, length(c.text) AS n_chars
FROM raw.documents d JOIN staging.clean_documents c USING (doc_id)
WHERE c.status = 'ok'
ORDER BY d.doc_id
"""


def stage_overlap(
    con: duckdb.DuckDBPyConnection, progress: Progress = _noop, encoder="auto", config=None
) -> StageResult:
    from pipeline.core.overlap import compute_overlap

    t0 = time.perf_counter()
    documents = con.sql(DOCUMENTS_SQL).pl()
    sentences = con.sql(
        """SELECT s.sentence_id, s.doc_id, s.sentence_index AS "index", s.paragraph,
                  s.start_offset AS start, s.end_offset AS "end", s.text, s.norm, s.norm_hash, s.n_tokens
           FROM staging.sentences s JOIN staging.clean_documents c USING (doc_id)
           WHERE c.status = 'ok' ORDER BY s.doc_id, s.sentence_index"""
    ).pl()
    result = compute_overlap(documents, sentences, config=config, encoder=encoder, progress=progress)
    res = StageResult("overlap")
    for name, frame in result.tables().items():
        warehouse.replace_table(con, f"marts.{name}", frame)
        res.counts[name] = frame.height
    res.extra = dict(result.stats)
    for note in result.stats.get("notes", []):
        res.notes.append(note)
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


def stage_publish(con: duckdb.DuckDBPyConnection, analyst_path: Path) -> StageResult:
    from pipeline.core.catalog import finalize_published

    t0 = time.perf_counter()
    con.execute("CHECKPOINT")
    counts = warehouse.publish(con, analyst_path, finalize=finalize_published)
    res = StageResult("publish", counts)
    res.seconds = time.perf_counter() - t0
    return res
