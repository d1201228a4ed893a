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

_KIND_RANK = "CASE kind WHEN 'exact' THEN 0 WHEN 'near' THEN 1 WHEN 'paraphrase' THEN 2 ELSE 3 END"

# view -> (description, SQL); created in the published database, in this order
VIEWS: dict[str, tuple[str, str]] = {
    "marts.documents": (
        "One row per document with its outlet, best known date, title and clean-text status: the entry point.",
        """
        SELECT d.doc_id, d.source, coalesce(d.published_at, try_cast(c.published_at_text AS TIMESTAMP)) AS published_at,
               coalesce(d.title, c.title) AS title, coalesce(d.url, c.url) AS url, d.path, d.record, d.kind,
               c.status, c.n_removed, length(c.text) AS clean_chars,
               (SELECT count(*) FROM staging.sentences s WHERE s.doc_id = d.doc_id) AS n_sentences
        FROM raw.documents d LEFT JOIN staging.clean_documents c USING (doc_id)
        """,
    ),
    "marts.outlet_reuse_matrix": (
        "Which outlets take text from which: sentence matches by kind between outlet pairs, oriented by the "
        "inferred direction of each document pair (direction_status = 'undetermined' keeps the pair's order).",
        f"""
        SELECT CASE WHEN p.direction = 'b->a' THEN m.source_b ELSE m.source_a END AS source_from,
               CASE WHEN p.direction = 'b->a' THEN m.source_a ELSE m.source_b END AS source_to,
               CASE WHEN p.direction IN ('a->b', 'b->a') THEN 'inferred' ELSE 'undetermined' END AS direction_status,
               m.kind,
               count(*) AS n_sentence_matches,
               count(*) FILTER (WHERE NOT m.is_quote) AS n_text_matches,
               count(*) FILTER (WHERE m.is_quote) AS n_quote_matches,
               count(DISTINCT m.doc_id_a || '|' || m.doc_id_b) AS n_document_pairs
        FROM marts.sentence_matches m JOIN marts.document_pairs p USING (doc_id_a, doc_id_b)
        WHERE NOT m.same_source
        GROUP BY 1, 2, 3, 4
        ORDER BY source_from, source_to, direction_status, {_KIND_RANK}
        """,
    ),
    "marts.outlet_originality_over_time": (
        "Each outlet's originality by month of publication (month is null for undated documents).",
        """
        SELECT d.source, date_trunc('month', d.published_at) AS month, count(*) AS n_documents,
               avg(o.share_original) AS mean_share_original, avg(o.share_exact) AS mean_share_exact,
               avg(o.share_near) AS mean_share_near, avg(o.share_paraphrase) AS mean_share_paraphrase,
               count(*) FILTER (WHERE o.inferred_source_doc_id IS NOT NULL) AS n_derived_documents
        FROM marts.document_originality o JOIN marts.documents d USING (doc_id)
        GROUP BY ALL ORDER BY d.source, month NULLS FIRST
        """,
    ),
    "marts.top_republished_sentences": (
        "The most re-published sentences (clusters of matched sentences), with their origin where dates tell it.",
        """
        WITH agg AS (
            SELECT cluster_id, count(DISTINCT doc_id) AS n_documents, count(DISTINCT source) AS n_sources,
                   string_agg(DISTINCT source, ', ' ORDER BY source) AS sources,
                   any_value(origin_status) AS origin_status, any_value(origin_sentence_id) AS origin_sentence_id,
                   min(sentence_id) AS example_sentence_id
            FROM marts.sentence_clusters GROUP BY cluster_id
        )
        SELECT a.cluster_id, a.n_documents, a.n_sources, a.sources, a.origin_status,
               od.source AS origin_source, o.doc_id AS origin_doc_id, o.text AS origin_text, e.text AS example_text
        FROM agg a
        LEFT JOIN staging.sentences o ON o.sentence_id = a.origin_sentence_id AND a.origin_status = 'dated'
        LEFT JOIN raw.documents od ON od.doc_id = o.doc_id
        JOIN staging.sentences e ON e.sentence_id = a.example_sentence_id
        ORDER BY a.n_documents DESC, a.n_sources DESC, a.cluster_id
        """,
    ),
    "marts.story_changes": (
        "What each derived document changed from its inferred source, sentence by sentence: kept (exact), "
        "altered (near or paraphrase), added (not in the source) and dropped (in the source, not carried over).",
        f"""
        WITH pairs AS (
            SELECT doc_id, inferred_source_doc_id AS src FROM marts.document_originality
            WHERE inferred_source_doc_id IS NOT NULL
        ), m AS (
            SELECT p.doc_id, p.src,
                   CASE WHEN m.doc_id_a = p.doc_id THEN m.sentence_id_a ELSE m.sentence_id_b END AS sid,
                   CASE WHEN m.doc_id_a = p.doc_id THEN m.sentence_id_b ELSE m.sentence_id_a END AS src_sid,
                   m.kind, m.score
            FROM pairs p JOIN marts.sentence_matches m
              ON (m.doc_id_a = p.doc_id AND m.doc_id_b = p.src) OR (m.doc_id_b = p.doc_id AND m.doc_id_a = p.src)
        ), best AS (
            SELECT * FROM m
            QUALIFY row_number() OVER (PARTITION BY doc_id, sid ORDER BY {_KIND_RANK}, score DESC, src_sid) = 1
        ), doc_side AS (
            SELECT p.doc_id, p.src AS source_doc_id,
                   CASE WHEN b.kind IS NULL THEN 'added' WHEN b.kind = 'exact' THEN 'kept' ELSE 'altered' END AS change,
                   b.kind, b.score, s.sentence_index, s.text, t.sentence_index AS source_sentence_index,
                   t.text AS source_text
            FROM pairs p JOIN staging.sentences s ON s.doc_id = p.doc_id
            LEFT JOIN best b ON b.doc_id = p.doc_id AND b.sid = s.sentence_id
            LEFT JOIN staging.sentences t ON t.sentence_id = b.src_sid
        ), dropped AS (
            SELECT p.doc_id, p.src AS source_doc_id, 'dropped' AS change, NULL AS kind, NULL::DOUBLE AS score,
                   NULL::INTEGER AS sentence_index, NULL AS text, t.sentence_index AS source_sentence_index,
                   t.text AS source_text
            FROM pairs p JOIN staging.sentences t ON t.doc_id = p.src
            WHERE NOT EXISTS (SELECT 1 FROM m WHERE m.doc_id = p.doc_id AND m.src_sid = t.sentence_id)
        )
        SELECT st.story_id, d.source, x.doc_id, sd.source AS source_outlet, x.source_doc_id, x.change, x.kind,
               x.score, x.sentence_index, x.text, x.source_sentence_index, x.source_text
        FROM (SELECT * FROM doc_side UNION ALL SELECT * FROM dropped) x
        JOIN raw.documents d ON d.doc_id = x.doc_id
        JOIN raw.documents sd ON sd.doc_id = x.source_doc_id
        LEFT JOIN marts.stories st ON st.doc_id = x.doc_id
        ORDER BY x.doc_id, coalesce(x.sentence_index, 1000000), x.source_sentence_index
        """,
    ),
    "marts.quote_vs_text_reuse": (
        "Quote reuse versus text reuse between outlet pairs: two outlets quoting the same speaker are not copying.",
        """
        SELECT least(source_a, source_b) AS outlet_1, greatest(source_a, source_b) AS outlet_2,
               count(*) AS n_document_pairs, count(*) FILTER (WHERE quote_only) AS n_quote_only_pairs,
               sum(n_quote) AS quote_matches, sum(n_nonquote) AS text_matches,
               round(sum(n_quote) / greatest(sum(n_quote) + sum(n_nonquote), 1), 3) AS quote_share
        FROM marts.document_pairs WHERE NOT same_source
        GROUP BY ALL ORDER BY text_matches DESC, outlet_1, outlet_2
        """,
    ),
}


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
        try:
            con.execute(f"CREATE OR REPLACE VIEW {_quote_ident(name)} AS {sql}")
        except duckdb.CatalogException:
            continue  # a table it reads is not there (a partial warehouse, e.g. before the first overlap run)
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
