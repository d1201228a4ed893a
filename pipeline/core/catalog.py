"""The published warehouse's catalogue: table and column descriptions and analyst views.

One source of truth: ``TABLES`` feeds both ``COMMENT ON`` in the published database (so
``duckdb_tables()`` / ``duckdb_columns()`` explain the warehouse from inside) and ``warehouse/README.md``
(checked by a test to stay in sync).
"""

from __future__ import annotations

import duckdb

# table -> (description, {column: description})
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "raw.raw_files": (
        "Every file seen in a landing folder, by path and content hash: the raw bytes stay traceable.",
        {
            "path": "Path relative to the landing folder (key, with sha256).",
            "sha256": "SHA-256 of the file's bytes (key, with path).",
            "size_bytes": "File size in bytes.",
            "format": "File extension: txt, html, htm, jsonl, parquet, or another (then an error row).",
            "n_records": "Records found (1 for a page; lines or rows for a corpus file).",
            "n_documents": "Documents ingested from the file.",
            "n_errors": "Error rows written for the file (see raw.ingest_errors).",
            "batch_id": "Batch that first saw this file (a sensor batch key, 'manual' for wiretrace run).",
        },
    ),
    "raw.documents": (
        "One row per ingested document: decoded raw text and metadata. doc_id = sha256(source, content).",
        {
            "doc_id": "Document id (key): first 16 hex digits of sha256(source, NUL, content bytes).",
            "source": "Outlet: from metadata, else the landing sub-folder, else the URL's domain, else 'unknown'.",
            "source_origin": "Which rule gave the source: metadata, folder, url or unknown.",
            "kind": "text or html.",
            "raw_text": "The decoded, repaired (ftfy), NFC-normalised input text or HTML.",
            "path": "File path relative to the landing folder.",
            "record": "Record locator inside a corpus file ('line 3', 'row 17'); null for a page file.",
            "external_id": "The record's own id field, when given.",
            "url": "URL from metadata.",
            "title": "Title from metadata.",
            "published_at": "Publication time from metadata (UTC, naive), null when not given or unparseable.",
            "published_at_raw": "The date string as given in metadata.",
            "encoding": "Detected encoding of the bytes (utf-8, utf-8-sig, utf-16, cp1252, latin-1...).",
            "repairs": "Repairs applied while decoding (decoded:<enc>, line_endings, ftfy(...), nfc).",
            "content_sha256": "SHA-256 of the document's content bytes (the file, or the record's text/html).",
            "n_chars": "Length of raw_text in characters.",
            "batch_id": "Batch that ingested the document.",
        },
    ),
    "raw.ingest_errors": (
        "Every file or record that could not be ingested, with the reason: nothing vanishes silently.",
        {
            "error_id": "Key: hash of path, record, file hash and reason (reruns add no duplicates).",
            "path": "File path relative to the landing folder.",
            "record": "Record locator ('line 3', 'row 17', 'metadata'), null for the whole file.",
            "file_sha256": "SHA-256 of the file's bytes, when it could be read.",
            "reason": "binary, empty, undecodable, too_large, malformed_json, not_an_object, missing_text, "
            "unreadable, unsupported_format or bad_metadata.",
            "message": "Human-readable explanation.",
            "raw_excerpt": "The first bytes of the file or record, for inspection.",
            "batch_id": "Batch that met the error.",
        },
    ),
    "staging.clean_documents": (
        "The clean article text of each document, with metadata found while cleaning.",
        {
            "doc_id": "Document id (key, references raw.documents).",
            "status": "ok, empty (nothing article-like remained, see empty_reason) or error (see error).",
            "empty_reason": "Why the clean text is empty.",
            "text": "Clean article text; paragraphs separated by a blank line.",
            "title": "Title found in the page (HTML metadata or headline).",
            "author": "Author found in the page.",
            "url": "URL found in the page.",
            "sitename": "Site name found in the page.",
            "published_at_text": "Publication date found in the page text (ISO string).",
            "headings": "JSON list of the subheads kept in the text and marked as headings.",
            "n_removed": "Number of removed spans (see staging.removed_spans).",
            "removed_chars": "Characters removed as boilerplate.",
            "clean_key": "Cleaner version and template fingerprint the row was made with.",
            "error": "The exception, when cleaning this document failed.",
        },
    ),
    "staging.removed_spans": (
        "Audit trail: every span removed from a document by the cleaner, with its reason.",
        {
            "doc_id": "Document id (key, with span_index).",
            "span_index": "Order of the span in the document (key, with doc_id).",
            "start_offset": "Start offset in the cleaner's input text (decoded, normalised; for HTML the "
            "extracted text).",
            "end_offset": "End offset (exclusive).",
            "text": "The removed text.",
            "reason": "Reason code (breadcrumb, copyright, photo_credit, caption, template, ...).",
            "stage": "Cleaning stage that removed it (line rules, inline rules, templates, ...).",
        },
    ),
    "staging.sentences": (
        "Sentences of the clean texts, with character offsets and the normalised form used for matching.",
        {
            "sentence_id": "Key: '<doc_id>:<sentence_index>'.",
            "doc_id": "Document id.",
            "sentence_index": "0-based position of the sentence in the document.",
            "paragraph": "0-based paragraph index.",
            "start_offset": "Start offset in staging.clean_documents.text.",
            "end_offset": "End offset (exclusive); text = clean text[start_offset:end_offset].",
            "text": "The sentence as written.",
            "norm": "Normalised form: quotes/dashes folded, case folded, punctuation dropped, spellings folded.",
            "norm_hash": "Hash of norm: equal hashes are exact matches.",
            "n_tokens": "Number of tokens in the normalised form.",
        },
    ),
}

VIEWS: dict[str, tuple[str, str]] = {}


def _quote_ident(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def finalize_published(con: duckdb.DuckDBPyConnection) -> None:
    """Create the analyst views and write COMMENT ON for every documented table, view and column."""
    existing = {
        f"{s}.{t}" for s, t in con.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    for name, (_description, sql) in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {_quote_ident(name)} AS {sql}")
        existing.add(name)
    columns = {
        (f"{s}.{t}", c) for s, t, c in con.sql(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns()"
        ).fetchall()
    }
    for name, (description, cols) in {**TABLES, **{k: (v[0], {}) for k, v in VIEWS.items()}}.items():
        if name not in existing:
            continue
        kind = "VIEW" if name in VIEWS else "TABLE"
        con.execute(f"COMMENT ON {kind} {_quote_ident(name)} IS " + _sql_literal(description))
        for col, text in cols.items():
            if (name, col) in columns:
                con.execute(f"COMMENT ON COLUMN {_quote_ident(name)}.\"{col}\" IS " + _sql_literal(text))


def _sql_literal(text: str) -> str:
    # COMMENT ON takes a constant, not a parameter; the text is the project's own documentation
    return "'" + text.replace("'", "''") + "'"
