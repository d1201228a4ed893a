"""Tables of the ``raw`` schema: what came in, nothing lost (files, documents, errors, corrections)."""

from __future__ import annotations

from pipeline.core.ingest import REASONS
from pipeline.core.tables.model import I32, I64, STR, STRS, TS, Table
from pipeline.core.tables.model import Column as C

TABLES: tuple[Table, ...] = (
    Table(
        "raw.raw_files",
        "Every file seen in a landing folder, by path and content hash: the raw bytes stay traceable.",
        key=("path", "sha256"),
        columns=(
            C("path", STR, "Path relative to the landing folder (key, with sha256).", not_null=True),
            C("sha256", STR, "SHA-256 of the file's bytes (key, with path).", not_null=True),
            C("size_bytes", I64, "File size in bytes."),
            C(
                "format",
                STR,
                "File format: txt, html, htm, jsonl, jsonl.gz, jsonl.zst, parquet, warc, warc.gz, or another extension (then an error row).",
            ),
            C(
                "n_records",
                I32,
                "Records found (1 for a page; lines, rows or archive records for a corpus file).",
            ),
            C("n_documents", I32, "Documents ingested from the file."),
            C("n_errors", I32, "Error rows written for the file (see raw.ingest_errors)."),
            C(
                "batch_id",
                STR,
                "Batch that first saw this file (a sensor batch key, 'manual' for wiretrace run).",
            ),
            C(
                "n_skipped",
                I32,
                "Records that are not documents by design: web-archive requests, metadata, redirects and non-HTML responses.",
                default="0",
                since=2,
            ),
        ),
    ),
    Table(
        "raw.documents",
        "One row per ingested document: decoded raw text and metadata. doc_id = sha256(source, content).",
        key=("doc_id",),
        columns=(
            C("doc_id", STR, "Document id (key): first 16 hex digits of sha256(source, NUL, content bytes)."),
            C(
                "source",
                STR,
                "Outlet: from metadata, else the landing sub-folder, else the URL's domain, else 'unknown'.",
                not_null=True,
            ),
            C("source_origin", STR, "Which rule gave the source: metadata, folder, url or unknown."),
            C(
                "kind",
                STR,
                "text or html (a .txt file that holds an HTML page is html; a record's text wins over its html when both have content).",
            ),
            C("raw_text", STR, "The decoded, repaired (ftfy), NFC-normalised input text or HTML."),
            C("path", STR, "File path relative to the landing folder."),
            C(
                "record",
                STR,
                "Record locator inside a corpus file ('line 3', 'row 17', 'record 5' in a web archive); null for a page file.",
            ),
            C(
                "external_id",
                STR,
                "The record's own id field, when given (the WARC-Record-ID in a web archive).",
            ),
            C("url", STR, "URL from metadata (the WARC-Target-URI in a web archive)."),
            C("title", STR, "Title from metadata."),
            C(
                "published_at",
                TS,
                "Publication time from metadata (UTC, naive; a date-only value is stored as midnight, see published_at_precision); null when not given, unparseable or implausible.",
            ),
            C("published_at_raw", STR, "The date string as given in metadata (kept also when flagged)."),
            C(
                "encoding",
                STR,
                "Detected encoding of the bytes (utf-8, utf-8-sig, utf-16, cp1252, latin-1...).",
            ),
            C(
                "repairs",
                STRS,
                "Repairs applied while decoding (decoded:<enc>, line_endings, ftfy(...), nfc, lone_surrogate: an unpaired surrogate escape in a JSON record replaced by U+FFFD, detected:html: a .txt file read as HTML).",
            ),
            C(
                "content_sha256",
                STR,
                "SHA-256 of the document's content bytes (the file, or the record's text/html).",
            ),
            C("n_chars", I32, "Length of raw_text in characters."),
            C("batch_id", STR, "Batch that ingested the document."),
            C(
                "published_at_precision",
                STR,
                "day (a date only: the whole day, in an unknown time zone), local_time (a time without zone) or time (zone given, converted to UTC); null without published_at.",
                since=2,
            ),
            C(
                "published_at_flag",
                STR,
                "Why the metadata date is not used: unparseable, future (after the run's time) or before_web (before 1990 for a web page); null when usable.",
                since=2,
            ),
            C(
                "captured_at",
                TS,
                "Web archives only: when the page was captured (WARC-Date, UTC). A capture time, never used as the publication time.",
                since=2,
            ),
            C(
                "status",
                STR,
                "current (in the marts), superseded (its file's bytes changed and the new version no longer holds it) or forgotten (wiretrace forget). Only current documents reach the marts.",
                default="'current'",
                since=2,
            ),
            C(
                "superseded_by",
                STR,
                "The document that replaced it at the same place (file and record), when there is one.",
                since=2,
            ),
            C("status_changed_at", TS, "When the status or the metadata last changed (UTC).", since=2),
        ),
    ),
    Table(
        "raw.ingest_errors",
        "Every file or record that could not be ingested, with the reason: nothing vanishes silently.",
        key=("error_id",),
        columns=(
            C("error_id", STR, "Key: hash of path, record, file hash and reason (reruns add no duplicates)."),
            C("path", STR, "File path relative to the landing folder.", not_null=True),
            C("record", STR, "Record locator ('line 3', 'row 17', 'metadata'), null for the whole file."),
            C("file_sha256", STR, "SHA-256 of the file's bytes, when it could be read."),
            C("reason", STR, ", ".join(REASONS) + ".", not_null=True),
            C("message", STR, "Human-readable explanation."),
            C("raw_excerpt", STR, "The first bytes of the file or record, for inspection."),
            C("batch_id", STR, "Batch that met the error."),
        ),
        example="SELECT reason, count(*) FROM raw.ingest_errors GROUP BY reason ORDER BY 2 DESC;",
    ),
    Table(
        "raw.corrections",
        "Every correction applied to documents: metadata updated in place, documents superseded by a changed file or restored, files forgotten.",
        key=("correction_id",),
        since=2,
        columns=(
            C("correction_id", STR, "Key: hash of document, path, change, detail and batch."),
            C("doc_id", STR, "The document corrected."),
            C("path", STR, "Its file, relative to the landing folder.", not_null=True),
            C(
                "change",
                STR,
                "metadata (same content, new metadata: the document keeps its doc_id), superseded, restored (its file was changed back) or forgotten.",
                not_null=True,
            ),
            C("detail", STR, "JSON: the changed fields as [old, new], or the superseding document."),
            C("batch_id", STR, "Batch (or 'forget') that applied it."),
            C("recorded_at", TS, "When (UTC)."),
        ),
    ),
    Table(
        "raw.forgotten_paths",
        "Files and folders taken out of the marts with wiretrace forget: later runs skip them.",
        key=("path",),
        since=2,
        columns=(
            C("path", STR, "Path relative to the landing folder (a folder covers everything under it)."),
            C("forgotten_at", TS, "When (UTC)."),
            C("n_documents", I32, "Documents it took out of the marts."),
        ),
    ),
)
