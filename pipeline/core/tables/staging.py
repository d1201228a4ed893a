"""Tables of the ``staging`` schema: clean text, the audit trail of removed spans, sentences."""

from __future__ import annotations

from pipeline.core.tables.model import I32, STR, Table
from pipeline.core.tables.model import Column as C

TABLES: tuple[Table, ...] = (
    Table(
        "staging.clean_documents",
        "The clean article text of each document, with metadata found while cleaning.",
        key=("doc_id",),
        columns=(
            C("doc_id", STR, "Document id (key, references raw.documents)."),
            C(
                "status",
                STR,
                "ok, empty (nothing article-like remained, see empty_reason) or error (see error).",
            ),
            C("empty_reason", STR, "Why the clean text is empty."),
            C("text", STR, "Clean article text; paragraphs separated by a blank line."),
            C("title", STR, "Title found in the page (HTML metadata or headline)."),
            C("author", STR, "Author found in the page."),
            C("url", STR, "URL found in the page."),
            C("sitename", STR, "Site name found in the page."),
            C("published_at_text", STR, "Publication date found in the page text (ISO string)."),
            C("headings", STR, "JSON list of the subheads kept in the text and marked as headings."),
            C(
                "n_removed",
                I32,
                "Number of removed content spans (see staging.removed_spans); whitespace between kept and removed text is layout and never counted.",
            ),
            C("removed_chars", I32, "Characters of removed content (whitespace not counted)."),
            C("clean_key", STR, "Cleaner version and template fingerprint the row was made with."),
            C("error", STR, "The exception, when cleaning this document failed."),
        ),
    ),
    Table(
        "staging.removed_spans",
        "Audit trail: every span of content removed from a document by the cleaner, with its reason (whitespace is layout, never a span: spans start and end with a character that is not whitespace).",
        key=("doc_id", "span_index"),
        columns=(
            C("doc_id", STR, "Document id (key, with span_index).", not_null=True),
            C("span_index", I32, "Order of the span in the document (key, with doc_id).", not_null=True),
            C(
                "start_offset",
                I32,
                "Start offset in the cleaner's input text (decoded, normalised; for HTML the extracted text).",
            ),
            C("end_offset", I32, "End offset (exclusive)."),
            C("text", STR, "The removed text."),
            C("reason", STR, "Reason code (breadcrumb, copyright, photo_credit, caption, template, ...)."),
            C("stage", STR, "Cleaning stage that removed it (line rules, inline rules, templates, ...)."),
        ),
        example="SELECT reason, count(*), sum(end_offset - start_offset) AS chars\nFROM staging.removed_spans GROUP BY reason ORDER BY 2 DESC;",
    ),
    Table(
        "staging.sentences",
        "Sentences of the clean texts, with character offsets and the normalised form used for matching.",
        key=("sentence_id",),
        columns=(
            C("sentence_id", STR, "Key: '<doc_id>:<sentence_index>'."),
            C("doc_id", STR, "Document id.", not_null=True),
            C("sentence_index", I32, "0-based position of the sentence in the document."),
            C("paragraph", I32, "0-based paragraph index."),
            C("start_offset", I32, "Start offset in staging.clean_documents.text."),
            C("end_offset", I32, "End offset (exclusive); text = clean text[start_offset:end_offset]."),
            C("text", STR, "The sentence as written."),
            C(
                "norm",
                STR,
                "Normalised form: quotes/dashes folded, case folded, punctuation dropped, spellings folded.",
            ),
            C("norm_hash", STR, "Hash of norm: equal hashes are exact matches."),
            C("n_tokens", I32, "Number of tokens in the normalised form."),
        ),
    ),
)
