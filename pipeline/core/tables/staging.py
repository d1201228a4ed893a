"""Tables of the ``staging`` schema: clean text, the audit trail of removed spans, sentences, and the
per-outlet boilerplate templates the clean stage learned."""

from __future__ import annotations

from pipeline.core.tables.model import BOOL, I32, STR, Table
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
    Table(
        "staging.source_templates",
        "Per outlet: the documents its boilerplate templates were learned from (lines the outlet repeats in many of its text documents and no other outlet prints, see staging.template_lines). Learned again only when the outlet's documents change, or when another outlet's change a recurring line of it (pipeline.core.stages.update_corpus_templates).",
        key=("source",),
        since=4,
        columns=(
            C(
                "source",
                STR,
                "Outlet (key): an outlet with at least one current text document.",
                not_null=True,
            ),
            C(
                "n_documents",
                I32,
                "Its current text documents, documents with the same text counted once (templates need at least 5).",
            ),
            C(
                "documents_fingerprint",
                STR,
                "Digest of those documents (doc_id and text digest) and of the learning settings and code: the outlet is learned again when it changes.",
            ),
            C("n_templates", I32, "Lines learned as templates of the outlet."),
            C(
                "templates_fingerprint",
                STR,
                "Digest of the outlet's template lines (NULL when it has none): part of the clean_key of its documents (staging.clean_documents), which are cleaned again when it changes.",
            ),
        ),
        example="SELECT s.source, s.n_documents, s.n_templates, t.n_documents AS in_documents, t.example\nFROM staging.source_templates s\nLEFT JOIN staging.template_lines t ON t.source = s.source AND t.is_template\nORDER BY s.n_templates DESC, s.source, t.n_documents DESC;",
    ),
    Table(
        "staging.template_lines",
        "Lines an outlet repeats in at least 5 of its text documents and in at least 30% of them (normalised: case, whitespace, years); those no other outlet prints are its templates, removed by the cleaner (staging.removed_spans reason 'template'); a line another outlet prints too (wire copy) is kept.",
        key=("source", "line_key"),
        since=4,
        columns=(
            C("source", STR, "Outlet (key, with line_key).", not_null=True),
            C("line_key", STR, "Hash of the normalised line (key, with source).", not_null=True),
            C(
                "n_documents",
                I32,
                "Text documents of the outlet that print the line (same text counted once).",
            ),
            C(
                "is_template",
                BOOL,
                "True: a template of the outlet, removed from its documents; false: another outlet's text documents print it too, so it is kept.",
            ),
            C(
                "example",
                STR,
                "The line as printed in the outlet's first document (by doc_id) that has it, at most 120 characters.",
            ),
        ),
    ),
)
