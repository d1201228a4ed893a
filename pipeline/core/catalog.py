"""The published warehouse's catalogue: table and column descriptions and analyst views.

One source of truth: ``TABLES`` feeds both ``COMMENT ON`` in the published database (so
``duckdb_tables()`` / ``duckdb_columns()`` explain the warehouse from inside) and ``warehouse/README.md``
(checked by a test to stay in sync).
"""

from __future__ import annotations

import duckdb

from pipeline.core.ingest import REASONS

# table -> (description, {column: description})
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "raw.raw_files": (
        "Every file seen in a landing folder, by path and content hash: the raw bytes stay traceable.",
        {
            "path": "Path relative to the landing folder (key, with sha256).",
            "sha256": "SHA-256 of the file's bytes (key, with path).",
            "size_bytes": "File size in bytes.",
            "format": "File format: txt, html, htm, jsonl, jsonl.gz, jsonl.zst, parquet, warc, warc.gz, or "
            "another extension (then an error row).",
            "n_records": "Records found (1 for a page; lines, rows or archive records for a corpus file).",
            "n_documents": "Documents ingested from the file.",
            "n_errors": "Error rows written for the file (see raw.ingest_errors).",
            "batch_id": "Batch that first saw this file (a sensor batch key, 'manual' for wiretrace run).",
            "n_skipped": "Records that are not documents by design: web-archive requests, metadata, "
            "redirects and non-HTML responses.",
        },
    ),
    "raw.documents": (
        "One row per ingested document: decoded raw text and metadata. doc_id = sha256(source, content).",
        {
            "doc_id": "Document id (key): first 16 hex digits of sha256(source, NUL, content bytes).",
            "source": "Outlet: from metadata, else the landing sub-folder, else the URL's domain, else 'unknown'.",
            "source_origin": "Which rule gave the source: metadata, folder, url or unknown.",
            "kind": "text or html (a .txt file that holds an HTML page is html; a record's text wins over "
            "its html when both have content).",
            "raw_text": "The decoded, repaired (ftfy), NFC-normalised input text or HTML.",
            "path": "File path relative to the landing folder.",
            "record": "Record locator inside a corpus file ('line 3', 'row 17', 'record 5' in a web archive); "
            "null for a page file.",
            "external_id": "The record's own id field, when given (the WARC-Record-ID in a web archive).",
            "url": "URL from metadata (the WARC-Target-URI in a web archive).",
            "title": "Title from metadata.",
            "published_at": "Publication time from metadata (UTC, naive; a date-only value is stored as "
            "midnight, see published_at_precision); null when not given, unparseable or implausible.",
            "published_at_raw": "The date string as given in metadata (kept also when flagged).",
            "encoding": "Detected encoding of the bytes (utf-8, utf-8-sig, utf-16, cp1252, latin-1...).",
            "repairs": "Repairs applied while decoding (decoded:<enc>, line_endings, ftfy(...), nfc, "
            "lone_surrogate: an unpaired surrogate escape in a JSON record replaced by U+FFFD, detected:html: "
            "a .txt file read as HTML).",
            "content_sha256": "SHA-256 of the document's content bytes (the file, or the record's text/html).",
            "n_chars": "Length of raw_text in characters.",
            "published_at_precision": "day (a date only: the whole day, in an unknown time zone), local_time (a "
            "time without zone) or time (zone given, converted to UTC); null without published_at.",
            "published_at_flag": "Why the metadata date is not used: unparseable, future (after the run's "
            "time) or before_web (before 1990 for a web page); null when usable.",
            "batch_id": "Batch that ingested the document.",
            "captured_at": "Web archives only: when the page was captured (WARC-Date, UTC). A capture time, "
            "never used as the publication time.",
            "status": "current (in the marts), superseded (its file's bytes changed and the new version no "
            "longer holds it) or forgotten (wiretrace forget). Only current documents reach the marts.",
            "superseded_by": "The document that replaced it at the same place (file and record), when there is one.",
            "status_changed_at": "When the status or the metadata last changed (UTC).",
        },
    ),
    "raw.ingest_errors": (
        "Every file or record that could not be ingested, with the reason: nothing vanishes silently.",
        {
            "error_id": "Key: hash of path, record, file hash and reason (reruns add no duplicates).",
            "path": "File path relative to the landing folder.",
            "record": "Record locator ('line 3', 'row 17', 'metadata'), null for the whole file.",
            "file_sha256": "SHA-256 of the file's bytes, when it could be read.",
            "reason": ", ".join(REASONS) + ".",
            "message": "Human-readable explanation.",
            "raw_excerpt": "The first bytes of the file or record, for inspection.",
            "batch_id": "Batch that met the error.",
        },
    ),
    "raw.corrections": (
        "Every correction applied to documents: metadata updated in place, documents superseded by a changed "
        "file or restored, files forgotten.",
        {
            "correction_id": "Key: hash of document, path, change, detail and batch.",
            "doc_id": "The document corrected.",
            "path": "Its file, relative to the landing folder.",
            "change": "metadata (same content, new metadata: the document keeps its doc_id), superseded, "
            "restored (its file was changed back) or forgotten.",
            "detail": "JSON: the changed fields as [old, new], or the superseding document.",
            "batch_id": "Batch (or 'forget') that applied it.",
            "recorded_at": "When (UTC).",
        },
    ),
    "raw.forgotten_paths": (
        "Files and folders taken out of the marts with wiretrace forget: later runs skip them.",
        {
            "path": "Path relative to the landing folder (a folder covers everything under it).",
            "forgotten_at": "When (UTC).",
            "n_documents": "Documents it took out of the marts.",
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
            "n_removed": "Number of removed content spans (see staging.removed_spans); whitespace between "
            "kept and removed text is layout and never counted.",
            "removed_chars": "Characters of removed content (whitespace not counted).",
            "clean_key": "Cleaner version and template fingerprint the row was made with.",
            "error": "The exception, when cleaning this document failed.",
        },
    ),
    "staging.removed_spans": (
        "Audit trail: every span of content removed from a document by the cleaner, with its reason "
        "(whitespace is layout, never a span: spans start and end with a character that is not whitespace).",
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
    "meta.schema_version": (
        "Schema migrations applied to the working database (the published copy carries them).",
        {"version": "A migration step applied; the largest is the schema version in force."},
    ),
    "meta.runs": (
        "The run log: one row per pipeline run, with its configuration, the tiers that ran (and why not), "
        "counts per stage and errors.",
        {
            "run_id": "Run id (key): the Dagster run id, or a generated id for wiretrace run.",
            "started_at": "Start (UTC).",
            "ended_at": "End of the run's work, just before its results were published (UTC).",
            "status": "ok, or failed (then errors says why).",
            "version": "wiretrace version.",
            "batch_id": "Batch ingested ('manual' for wiretrace run).",
            "config": "JSON: landing folder, ingest limits and the other settings of the run.",
            "tiers": "JSON: each matching tier (exact, minhash, blocked, semantic, verifier) and whether it "
            "ran, or why not.",
            "counts": "JSON: counts per stage (files, documents, errors, sentences, matches ...).",
            "n_errors": "Ingest error rows met in this run.",
            "errors": "JSON list: stage failures and notes.",
        },
    ),
}

_SIGNALS = {
    "jaccard": "Signal: token-set Jaccard of the normalised sentences.",
    "containment": "Signal: token overlap over the smaller side.",
    "char_ratio": "Signal: character-level (Indel) similarity of the normalised strings.",
    "sort_ratio": "Signal: order-insensitive character similarity (token_sort_ratio).",
    "content_dice": "Signal: Dice overlap of content words (stop words removed, words cut to 5 letters).",
    "content_containment": "Signal: content-word overlap over the smaller side.",
    "bigram_jaccard": "Signal: Jaccard of token bigrams (word order).",
    "len_ratio": "Signal: shorter / longer token count.",
    "len_diff": "Signal: log(1 + difference of token counts).",
    "content_unmatched": "Signal: log(1 + content words changed on both sides).",
    "num_conflict": "Signal: 1 when each side has a number the other lacks (a changed figure).",
    "num_extra": "Signal: numbers present on one side only (capped at 3).",
    "name_conflict": "Signal: 1 when each side has a capitalised name the other lacks.",
    "name_extra": "Signal: names present on one side only (capped at 3).",
    "cosine": "Signal: cosine of sentence embeddings (semantic tier); null when it did not run.",
    "verifier": "Cross-encoder verifier probability (semantic tier) for pairs the exact/near rules left to the classifier; null when it did not run.",
    "probability": "Probability that the pair states the same thing: the verifier's when it ran, else the logistic classifier's.",
    "conflict": "1 when a near pair has a number or name conflict (scored below 0.85).",
}

TABLES.update(
    {
        "marts.sentence_flags": (
            "Per sentence: quotation share and the flags that keep boilerplate and stock phrases out of matching.",
            {
                "sentence_id": "Sentence id (key, references staging.sentences).",
                "doc_id": "Document id.",
                "quote_share": "Share of the sentence's letters and digits inside quotation marks.",
                "is_quote": "The sentence is mostly quotation: reuse of it is quote reuse, not text reuse.",
                "too_short": "Too few tokens to match; kept in the text, never matched.",
                "n_docs_same_hash": "Documents containing the same normalised sentence (itself included).",
                "n_sources_same_hash": "Outlets among those documents.",
                "is_common": "Boilerplate or stock phrase (recurs in many documents of one outlet or across many "
                "outlets): never matched, so it cannot make documents look related.",
                "stock_reason": "Why the sentence is stock text whatever the corpus size: a structural cue "
                "(post_signature, post_link, video_widget, promo, credit, disclaimer, bio) or stock_sentence "
                "(in the shipped model of stock text, pipeline/core/stock.py); null otherwise. Such sentences are "
                "common.",
                "matchable": "Neither too short nor common.",
            },
        ),
        "marts.sentence_matches": (
            "Graded sentence matches across documents: exact, near (small edits) or paraphrase, with the signals.",
            {
                "sentence_id_a": "Sentence of document a (key, with sentence_id_b).",
                "sentence_id_b": "Sentence of document b.",
                "doc_id_a": "Document a (doc_id_a < doc_id_b: each pair appears once).",
                "doc_id_b": "Document b.",
                "index_a": "Position of the sentence in document a.",
                "index_b": "Position of the sentence in document b.",
                "source_a": "Outlet of document a.",
                "source_b": "Outlet of document b.",
                "kind": "exact (identical after normalisation), near (same sentence, small edits) or paraphrase.",
                "score": "Closeness in [0, 1]: paraphrase [0.5, 0.8), near [0.8, 1), exact 1.",
                "tier": "Candidate generator that proposed the pair: exact, minhash, blocked or semantic.",
                **_SIGNALS,
                "is_quote": "Either side is mostly quotation.",
                "same_source": "Both documents come from the same outlet.",
                "novel_ngrams": "Word 4-grams the two sentences share that are not stock 4-grams of the shipped "
                "model (an exact or near match is evidence of reuse only from 3).",
                "stock_cover": "Share of the less formulaic side's words covered by stock 4-grams.",
                "relation": "What the match is (pipeline/core/evidence.py): reuse (part of text aligned between "
                "the two documents: several matched sentences in order), quote (both quote the same words), "
                "stock (formula or boilerplate) or same_fact (an isolated similarity: not reuse). Only reuse "
                "counts in passages, document pairs, clusters, stories, directions and originality.",
            },
        ),
        "marts.sentence_clusters": (
            "Sentences matched across documents, grouped, with the origin: the document the others derive from, "
            "by the provenance model (dates, credit lines, the union a source holds); undetermined when the "
            "evidence does not tell, never guessed.",
            {
                "cluster_id": "Cluster id (key, with sentence_id).",
                "sentence_id": "A sentence of the cluster.",
                "doc_id": "Its document.",
                "source": "Its outlet.",
                "published_at": "Its document's publication time.",
                "is_origin": "This sentence is the cluster's origin.",
                "origin_sentence_id": "The origin sentence (null when undetermined).",
                "origin_status": "inferred (one member is the source every other member derives from, "
                "along determined document-pair directions), quotation (no origin inferred and every match "
                "is quotation: a speaker's words, from a source outside the corpus) or undetermined.",
                "origin_basis": "Evidence of the directions leading from the origin: dates, credit, union "
                "(joined by +).",
                "origin_confidence": "Lowest direction confidence on the paths from the origin to the members.",
                "kind_to_origin": "origin, the kind of the direct match to the origin, indirect, or null.",
            },
        ),
        "marts.passages": (
            "Runs of consecutive matched sentences aligned between two documents, with character offsets in both.",
            {
                "doc_id_a": "Document a.",
                "doc_id_b": "Document b.",
                "passage_id": "Passage id (key).",
                "first_index_a": "First sentence index of the passage in a.",
                "last_index_a": "Last sentence index in a.",
                "first_index_b": "First sentence index in b.",
                "last_index_b": "Last sentence index in b.",
                "start_a": "Start offset in a's clean text.",
                "end_a": "End offset in a's clean text.",
                "start_b": "Start offset in b's clean text.",
                "end_b": "End offset in b's clean text.",
                "n_sentences": "Matched sentence pairs in the passage.",
                "n_exact": "Exact pairs.",
                "n_near": "Near pairs.",
                "n_paraphrase": "Paraphrase pairs.",
                "dominant_kind": "Most frequent kind (ties go to the stronger kind).",
                "mean_score": "Mean match score.",
                "n_quote": "Pairs where a side is mostly quotation.",
                "direction": "Its document pair's direction: a->b, b->a or undetermined.",
                "direction_basis": "Its document pair's direction basis.",
                "direction_confidence": "Its document pair's direction confidence.",
            },
        ),
        "marts.document_pairs": (
            "Document pairs sharing reused sentences: counts by kind, containment both ways, and the direction "
            "of the reuse with its basis, evidence and confidence (rules in pipeline/core/provenance.py).",
            {
                "doc_id_a": "Document a (key, with doc_id_b; doc_id_a < doc_id_b).",
                "doc_id_b": "Document b.",
                "source_a": "Outlet of a.",
                "source_b": "Outlet of b.",
                "published_at_a": "Publication time of a.",
                "published_at_b": "Publication time of b.",
                "n_matchable_a": "Matchable sentences of a.",
                "n_matchable_b": "Matchable sentences of b.",
                "n_shared_a": "Distinct sentences of a matched in b.",
                "n_shared_b": "Distinct sentences of b matched in a.",
                "n_exact": "Exact sentence pairs.",
                "n_near": "Near sentence pairs.",
                "n_paraphrase": "Paraphrase sentence pairs.",
                "n_quote": "Pairs where a side is mostly quotation.",
                "n_nonquote": "Pairs of text (not quotation).",
                "quote_only": "Every shared pair is a quotation: both outlets quote the same speaker.",
                "containment_a_in_b": "Share of a's matchable sentences matched in b.",
                "containment_b_in_a": "Share of b's matchable sentences matched in a.",
                "direction": "a->b (a is the source of b), b->a, or undetermined.",
                "direction_basis": "dates, credit, union (joined by + when several agree); when undetermined: "
                "quote (quotations only), common_source (siblings: copies of one source), indirect (a third "
                "document explains what they share: the text did not pass directly between them), conflict or none.",
                "direction_evidence": "The evidence in words: the dates with their precision, the credit line, "
                "the union test's counts, or why nothing is decided.",
                "direction_confidence": "Confidence of the direction, from the agreeing signals; null when undetermined.",
                "common_source_doc_id": "For siblings: the document that is the source of both (null when it is not "
                "in the corpus).",
                "same_source": "Both documents come from the same outlet.",
                "in_story": "The pair links its documents into one story.",
                "relation": "reuse (the documents share aligned text) or quote (they only quote the same words).",
                "n_aligned": "Matched sentences on the heaviest chain in order in both documents (the aligned "
                "content).",
                "aligned_weight": "Weight of that chain: 1 per exact or near match, 0.5 per paraphrase; a pair "
                "shares text from 2.0 (and 2 matches).",
            },
        ),
        "marts.document_originality": (
            "Per document: shares of original, exact, near and paraphrased sentences; what it added and dropped.",
            {
                "doc_id": "Document id (key).",
                "source": "Outlet.",
                "n_sentences": "Sentences.",
                "n_matchable": "Matchable sentences (the denominator of the shares).",
                "share_original": "Share not found in any document that is its source (earlier, or more "
                "original by the text): being copied does not make a document less original.",
                "share_exact": "Share copied verbatim.",
                "share_near": "Share copied with small edits.",
                "share_paraphrase": "Share reworded from another document.",
                "n_quote_reuse": "Reused sentences that are mostly quotation.",
                "inferred_source_doc_id": "The document this one derives from: the strongest pair whose direction "
                "points at it (exact and near count more than paraphrase); null when none or undetermined.",
                "added": "Matchable sentences not found in the inferred source.",
                "dropped": "Matchable sentences of the inferred source not carried over.",
            },
        ),
        "marts.stories": (
            "Documents grouped by shared content (a story of one for documents that share nothing).",
            {
                "story_id": "Story id.",
                "doc_id": "Document id (key).",
                "n_docs": "Documents in the story.",
                "first_published_at": "Earliest known publication time in the story.",
            },
        ),
    }
)

# the best known publication time of a document (raw.documents d, staging.clean_documents c): metadata
# first (implausible metadata dates are already null there), else a plausible date found in the page
_TEXT_DATE = "try_cast(c.published_at_text AS TIMESTAMP)"
_TEXT_DATE_OK = f"({_TEXT_DATE} >= TIMESTAMP '1990-01-01' AND {_TEXT_DATE} <= current_timestamp::TIMESTAMP + INTERVAL 12 HOUR)"
BEST_DATE_SQL = f"coalesce(d.published_at, CASE WHEN {_TEXT_DATE_OK} THEN {_TEXT_DATE} END)"
BEST_PRECISION_SQL = (
    "CASE WHEN d.published_at IS NOT NULL THEN coalesce(d.published_at_precision, 'time') "
    f"WHEN {_TEXT_DATE_OK} THEN CASE WHEN length(trim(c.published_at_text)) <= 10 THEN 'day' "
    "ELSE 'local_time' END END"
)

_KIND_RANK = "CASE kind WHEN 'exact' THEN 0 WHEN 'near' THEN 1 WHEN 'paraphrase' THEN 2 ELSE 3 END"

# view -> (description, SQL); created in the published database, in this order
VIEWS: dict[str, tuple[str, str]] = {
    "marts.documents": (
        "One row per current document (neither superseded by a corrected file nor forgotten) with its outlet, "
        "best known date, title and clean-text status: the entry point.",
        f"""
        SELECT d.doc_id, d.source, {BEST_DATE_SQL} AS published_at,
               {BEST_PRECISION_SQL} AS published_at_precision, d.published_at_raw, d.published_at_flag,
               coalesce(d.title, c.title) AS title, coalesce(d.url, c.url) AS url, d.path, d.record, d.kind,
               c.status, c.n_removed, length(c.text) AS clean_chars,
               (SELECT count(*) FROM staging.sentences s WHERE s.doc_id = d.doc_id) AS n_sentences
        FROM raw.documents d LEFT JOIN staging.clean_documents c USING (doc_id)
        WHERE d.status = 'current'
        """,
    ),
    "marts.outlet_reuse_matrix": (
        "Which outlets take text from which: text-reuse sentence matches (relation reuse) by kind between outlet pairs, oriented by the "
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
        WHERE NOT m.same_source AND m.relation = 'reuse'
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
        "The most re-published sentences (clusters of matched sentences), with their origin where the evidence tells it.",
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
        LEFT JOIN staging.sentences o ON o.sentence_id = a.origin_sentence_id AND a.origin_status = 'inferred'
        LEFT JOIN raw.documents od ON od.doc_id = o.doc_id
        JOIN staging.sentences e ON e.sentence_id = a.example_sentence_id
        ORDER BY a.n_documents DESC, a.n_sources DESC, a.cluster_id
        """,
    ),
    "marts.story_changes": (
        "What each copy did to its inferred source, sentence by sentence: kept (exact), altered (near or "
        "paraphrase), added (not in the source), dropped (in the source, not carried over); sentences too short "
        "to match (too_short) or boilerplate are labelled as such, never counted as added or dropped. Only "
        "documents with an inferred source appear.",
        f"""
        WITH pairs AS (
            SELECT o.doc_id, o.inferred_source_doc_id AS ref, p.direction_basis, p.direction_confidence
            FROM marts.document_originality o
            JOIN marts.document_pairs p
              ON (p.doc_id_a = o.doc_id AND p.doc_id_b = o.inferred_source_doc_id)
              OR (p.doc_id_b = o.doc_id AND p.doc_id_a = o.inferred_source_doc_id)
            WHERE o.inferred_source_doc_id IS NOT NULL
        ), m AS (
            SELECT p.doc_id, p.ref,
                   CASE WHEN m.doc_id_a = p.doc_id THEN m.sentence_id_a ELSE m.sentence_id_b END AS sid,
                   CASE WHEN m.doc_id_a = p.doc_id THEN m.sentence_id_b ELSE m.sentence_id_a END AS ref_sid,
                   m.kind, m.score
            FROM pairs p JOIN marts.sentence_matches m
              ON ((m.doc_id_a = p.doc_id AND m.doc_id_b = p.ref) OR (m.doc_id_b = p.doc_id AND m.doc_id_a = p.ref))
             AND m.relation = 'reuse'
        ), best AS (
            SELECT * FROM m
            QUALIFY row_number() OVER (PARTITION BY doc_id, ref, sid ORDER BY {_KIND_RANK}, score DESC, ref_sid) = 1
        ), doc_side AS (
            SELECT p.doc_id, p.ref AS reference_doc_id, p.direction_basis, p.direction_confidence,
                   CASE WHEN b.kind IS NOT NULL THEN CASE WHEN b.kind = 'exact' THEN 'kept' ELSE 'altered' END
                        WHEN f.too_short THEN 'too_short' WHEN f.is_common THEN 'boilerplate'
                        ELSE 'added' END AS change,
                   b.kind, b.score, s.sentence_index, s.text, t.sentence_index AS reference_sentence_index,
                   t.text AS reference_text
            FROM pairs p JOIN staging.sentences s ON s.doc_id = p.doc_id
            LEFT JOIN marts.sentence_flags f ON f.sentence_id = s.sentence_id
            LEFT JOIN best b ON b.doc_id = p.doc_id AND b.ref = p.ref AND b.sid = s.sentence_id
            LEFT JOIN staging.sentences t ON t.sentence_id = b.ref_sid
        ), dropped AS (
            SELECT p.doc_id, p.ref AS reference_doc_id, p.direction_basis, p.direction_confidence,
                   'dropped' AS change, NULL AS kind, NULL::DOUBLE AS score, NULL::INTEGER AS sentence_index,
                   NULL AS text, t.sentence_index AS reference_sentence_index, t.text AS reference_text
            FROM pairs p JOIN staging.sentences t ON t.doc_id = p.ref
            JOIN marts.sentence_flags f ON f.sentence_id = t.sentence_id AND f.matchable
            WHERE NOT EXISTS (SELECT 1 FROM m WHERE m.doc_id = p.doc_id AND m.ref = p.ref AND m.ref_sid = t.sentence_id)
        )
        SELECT st.story_id, d.source, x.doc_id, rd.source AS reference_outlet, x.reference_doc_id,
               x.direction_basis, x.direction_confidence, x.change, x.kind, x.score, x.sentence_index, x.text,
               x.reference_sentence_index, x.reference_text
        FROM (SELECT * FROM doc_side UNION ALL SELECT * FROM dropped) x
        JOIN raw.documents d ON d.doc_id = x.doc_id
        JOIN raw.documents rd ON rd.doc_id = x.reference_doc_id
        LEFT JOIN marts.stories st ON st.doc_id = x.doc_id
        ORDER BY x.doc_id, x.reference_doc_id, coalesce(x.sentence_index, 1000000), x.reference_sentence_index
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


# column descriptions of the views (columns that repeat a table column reuse its description)
VIEW_COLUMNS: dict[str, dict[str, str]] = {
    "marts.documents": {
        "published_at": "Publication time: metadata first, else a plausible date found in the page.",
        "published_at_precision": "day, local_time or time (see raw.documents); day for a date found in the page.",
        "title": "Title: metadata first, else the page's headline.",
        "url": "URL: metadata first, else the page's.",
        "status": "Clean status: ok, empty or error.",
        "n_removed": "Removed boilerplate spans.",
        "clean_chars": "Length of the clean text.",
        "n_sentences": "Sentences in the clean text.",
    },
    "marts.outlet_reuse_matrix": {
        "source_from": "Outlet the text was taken from (or the pair's first outlet when undetermined).",
        "source_to": "Outlet that took it.",
        "direction_status": "inferred (the document pair states a direction) or undetermined.",
        "kind": "exact, near or paraphrase.",
        "n_sentence_matches": "Sentence matches.",
        "n_text_matches": "Matches that are not mostly quotation (text reuse).",
        "n_quote_matches": "Matches that are mostly quotation (quote reuse).",
        "n_document_pairs": "Document pairs involved.",
    },
    "marts.outlet_originality_over_time": {
        "month": "Month of publication (null: undated documents).",
        "n_documents": "Documents.",
        "mean_share_original": "Mean share of original sentences.",
        "mean_share_exact": "Mean share of verbatim sentences.",
        "mean_share_near": "Mean share of near-verbatim sentences.",
        "mean_share_paraphrase": "Mean share of paraphrased sentences.",
        "n_derived_documents": "Documents with an inferred source.",
    },
    "marts.top_republished_sentences": {
        "n_documents": "Documents carrying the sentence (in some form).",
        "n_sources": "Outlets carrying it.",
        "sources": "Those outlets.",
        "origin_source": "Outlet of the origin (clusters whose origin is inferred).",
        "origin_doc_id": "Document of the origin.",
        "origin_text": "The origin sentence.",
        "example_text": "One sentence of the cluster (the smallest sentence_id).",
    },
    "marts.story_changes": {
        "reference_outlet": "Outlet of the inferred source.",
        "reference_doc_id": "The inferred source (marts.document_originality.inferred_source_doc_id).",
        "direction_basis": "Basis of the direction from the source to this document (see marts.document_pairs).",
        "direction_confidence": "Confidence of that direction.",
        "change": "kept (exact), altered (near or paraphrase), added or dropped, relative to the source; "
        "too_short or boilerplate for sentences that are never matched (neither added nor dropped).",
        "kind": "Kind of the match to the source sentence.",
        "score": "Score of that match.",
        "sentence_index": "Position in this document (null for dropped sentences).",
        "text": "This document's sentence (null for dropped sentences).",
        "reference_sentence_index": "Position in the source document.",
        "reference_text": "The source sentence.",
    },
    "marts.quote_vs_text_reuse": {
        "outlet_1": "One outlet of the pair (alphabetically first).",
        "outlet_2": "The other outlet.",
        "n_document_pairs": "Document pairs sharing sentences.",
        "n_quote_only_pairs": "Pairs that share only quotations.",
        "quote_matches": "Matches that are mostly quotation.",
        "text_matches": "Matches of text.",
        "quote_share": "quote_matches / all matches.",
    },
}

EXAMPLES: dict[str, str] = {
    "raw.ingest_errors": "SELECT reason, count(*) FROM raw.ingest_errors GROUP BY reason ORDER BY 2 DESC;",
    "staging.removed_spans": "SELECT reason, count(*), sum(end_offset - start_offset) AS chars\n"
    "FROM staging.removed_spans GROUP BY reason ORDER BY 2 DESC;",
    "marts.sentence_matches": "SELECT source_a, source_b, relation, kind, count(*) FROM marts.sentence_matches\n"
    "WHERE NOT same_source GROUP BY ALL ORDER BY 5 DESC;",
    "marts.document_pairs": "SELECT source_a, source_b, n_exact, n_near, n_paraphrase, direction, direction_evidence\n"
    "FROM marts.document_pairs ORDER BY n_exact + n_near + n_paraphrase DESC LIMIT 20;",
    "marts.document_originality": "SELECT source, avg(share_original) FROM marts.document_originality GROUP BY 1 ORDER BY 2;",
    "marts.outlet_reuse_matrix": "-- who copied whom: text reuse by kind between outlets\n"
    "PIVOT (SELECT * FROM marts.outlet_reuse_matrix WHERE direction_status = 'inferred')\n"
    "ON kind USING sum(n_text_matches) GROUP BY source_from, source_to;",
    "marts.outlet_originality_over_time": "SELECT * FROM marts.outlet_originality_over_time WHERE source = 'AFP';",
    "marts.top_republished_sentences": "SELECT n_documents, n_sources, sources, origin_status, example_text\n"
    "FROM marts.top_republished_sentences LIMIT 10;",
    "marts.story_changes": "-- what Press TV did to the AFP text it took\n"
    "SELECT change, kind, text, reference_text FROM marts.story_changes\n"
    "WHERE source = 'Press TV' AND reference_outlet = 'AFP';",
    "marts.quote_vs_text_reuse": "SELECT * FROM marts.quote_vs_text_reuse;",
}


def _quote_ident(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def finalize_published(con: duckdb.DuckDBPyConnection) -> None:
    """Create the analyst views and write COMMENT ON for every documented table, view and column."""
    existing = {
        f"{s}.{t}"
        for s, t in con.sql(
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
        (f"{s}.{t}", c)
        for s, t, c in con.sql("SELECT schema_name, table_name, column_name FROM duckdb_columns()").fetchall()
    }
    for name, (description, cols) in all_descriptions(con).items():
        if name not in existing:
            continue
        kind = "VIEW" if name in VIEWS else "TABLE"
        con.execute(f"COMMENT ON {kind} {_quote_ident(name)} IS " + _sql_literal(description))
        for col, text in cols.items():
            if (name, col) in columns:
                con.execute(f'COMMENT ON COLUMN {_quote_ident(name)}."{col}" IS ' + _sql_literal(text))


def all_descriptions(con: duckdb.DuckDBPyConnection | None = None) -> dict[str, tuple[str, dict[str, str]]]:
    """Tables and views with their column descriptions; a view column named like a documented table
    column (doc_id, source, story_id ...) takes that description unless the view documents its own."""
    shared: dict[str, str] = {}
    for _name, (_d, cols) in TABLES.items():
        for col, text in cols.items():
            shared.setdefault(col, text)
    out = dict(TABLES)
    for name, (description, _sql) in VIEWS.items():
        cols = dict(VIEW_COLUMNS.get(name, {}))
        if con is not None:
            schema, table = name.split(".")
            for (col,) in con.sql(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
                params=[schema, table],
            ).fetchall():
                if col not in cols and col in shared:
                    cols[col] = shared[col]
        out[name] = (description, cols)
    return out


def render_readme(con: duckdb.DuckDBPyConnection) -> str:
    """warehouse/README.md, from the catalogue and the column types of a published database."""
    lines = [
        "# The wiretrace warehouse",
        "",
        "Generated by `python -m pipeline.core.catalog` from the catalogue in `pipeline/core/catalog.py`; the same",
        "descriptions are stored in the database with `COMMENT ON`, so the warehouse explains itself:",
        "",
        "```sql",
        "SELECT schema_name, table_name, comment FROM duckdb_tables() UNION ALL",
        "SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal;",
        "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() WHERE schema_name = 'marts';",
        "```",
        "",
        "## Files",
        "",
        "- `wiretrace.duckdb`: the analysts' database. Open it read-only from Python",
        "  (`duckdb.connect('warehouse/wiretrace.duckdb', read_only=True)`; the main README shows queries and the",
        "  differences of the DuckDB 2.0 Python API).",
        "  Each run publishes a complete new file and swaps it in atomically: an open connection keeps",
        "  reading its snapshot and never blocks a run; reconnect to see the new data.",
        "- `work.duckdb`: the pipeline's working database. Only the pipeline opens it.",
        "- `dagster_home/`: the Dagster instance (run history, schedules, sensor cursors); `make run` and",
        "  `wiretrace run` record their runs there too.",
        "- `reports/`: HTML reuse reports, one page per story (`wiretrace report`).",
        "",
        "Schemas: `raw` (what came in, nothing lost), `staging` (clean text, audit trail, sentences),",
        "`marts` (overlap results and the analyst views).",
        "",
        "## Questions and the view that answers them",
        "",
        "| question | view |",
        "|---|---|",
        "| Which outlets take text from which, by kind? | `marts.outlet_reuse_matrix` |",
        "| How original is each outlet, over time? | `marts.outlet_originality_over_time` |",
        "| Which sentences were re-published most, and where did they start? | `marts.top_republished_sentences` |",
        "| What did an outlet change in a story (added, dropped, altered)? | `marts.story_changes` |",
        "| Is it quote reuse or text reuse? | `marts.quote_vs_text_reuse` |",
        "",
    ]
    for name, (description, cols) in all_descriptions(con).items():
        schema, table = name.split(".")
        types = dict(
            con.sql(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index",
                params=[schema, table],
            ).fetchall()
        )
        if not types:
            continue
        kind = "view" if name in VIEWS else "table"
        lines += [f"## `{name}` ({kind})", "", description, ""]
        key = KEYS.get(name)
        if key:
            lines += [f"Key: `{key}`.", ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        for col, typ in types.items():
            meaning = cols.get(col, "").replace("|", "\\|")
            lines.append(f"| `{col}` | {typ} | {meaning} |")
        if name in EXAMPLES:
            lines += ["", "```sql", EXAMPLES[name], "```"]
        lines.append("")
    return "\n".join(lines)


KEYS = {
    "raw.raw_files": "(path, sha256)",
    "raw.documents": "doc_id",
    "raw.ingest_errors": "error_id",
    "raw.corrections": "correction_id",
    "raw.forgotten_paths": "path",
    "meta.runs": "run_id",
    "staging.clean_documents": "doc_id",
    "staging.removed_spans": "(doc_id, span_index)",
    "staging.sentences": "sentence_id",
    "marts.sentence_flags": "sentence_id",
    "marts.sentence_matches": "(sentence_id_a, sentence_id_b)",
    "marts.sentence_clusters": "(cluster_id, sentence_id)",
    "marts.passages": "passage_id",
    "marts.document_pairs": "(doc_id_a, doc_id_b)",
    "marts.document_originality": "doc_id",
    "marts.stories": "doc_id",
    "marts.documents": "doc_id",
}


def main(argv: list[str] | None = None) -> int:
    """Regenerate warehouse/README.md from a published database (default: a fresh run on the sample corpus)."""
    import argparse
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m pipeline.core.catalog")
    parser.add_argument("--database", help="published database to read the column types from")
    parser.add_argument("--out", default="warehouse/README.md")
    args = parser.parse_args(argv)
    if args.database:
        con = duckdb.connect(args.database, read_only=True)
    else:
        from pipeline.core.run import run_pipeline

        tmp = Path(tempfile.mkdtemp(prefix="wiretrace-catalog-"))
        run_pipeline(Path(__file__).resolve().parents[2] / "data" / "sample", tmp, encoder=None)
        con = duckdb.connect(str(tmp / "wiretrace.duckdb"), read_only=True)
    Path(args.out).write_text(render_readme(con))
    print(f"wrote {args.out}")
    return 0


def _sql_literal(text: str) -> str:
    # COMMENT ON takes a constant, not a parameter; the text is the project's own documentation
    return "'" + text.replace("'", "''") + "'"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
