"""The analyst views of the published database, and the best-known-date rule they share with the stages.

The views are created in the analysts' database when it is published (``tables.finalize_published``),
in the order listed; each documents its own columns, and a column named like a documented table column
(doc_id, source, story_id ...) takes that column's description.
"""

from __future__ import annotations

from pipeline.core.ingest import LOCAL_TIME_AHEAD, WEB_EPOCH
from pipeline.core.kinds import kind_order_sql
from pipeline.core.tables.model import View

__all__ = ["VIEWS", "BEST_DATE_SQL", "BEST_PRECISION_SQL"]

# The best known publication time of a document (raw.documents d, staging.clean_documents c): metadata
# first (implausible metadata dates are already null there, see ingest.parse_published), else a date
# found in the page when it is plausible by the same rule (not before the web, not after the run's time
# allowing for a local time up to 12 hours ahead of UTC). Used by marts.documents, the overlap stage's
# inputs and the reports: every reader sees the same date.
_TEXT_DATE = "try_cast(c.published_at_text AS TIMESTAMP)"
_AHEAD_HOURS = int(LOCAL_TIME_AHEAD.total_seconds() // 3600)
_TEXT_DATE_OK = (
    f"({_TEXT_DATE} >= TIMESTAMP '{WEB_EPOCH:%Y-%m-%d}' AND "
    f"{_TEXT_DATE} <= current_timestamp::TIMESTAMP + INTERVAL {_AHEAD_HOURS} HOUR)"
)
BEST_DATE_SQL = f"coalesce(d.published_at, CASE WHEN {_TEXT_DATE_OK} THEN {_TEXT_DATE} END)"
BEST_PRECISION_SQL = (
    "CASE WHEN d.published_at IS NOT NULL THEN coalesce(d.published_at_precision, 'time') "
    f"WHEN {_TEXT_DATE_OK} THEN CASE WHEN length(trim(c.published_at_text)) <= 10 THEN 'day' "
    "ELSE 'local_time' END END"
)

_KIND_ORDER = kind_order_sql("kind")

#: in creation order (a view may read the views before it)
VIEWS: tuple[View, ...] = (
    View(
        "marts.documents",
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
        columns={
            "published_at": "Publication time: metadata first, else a plausible date found in the page.",
            "published_at_precision": "day, local_time or time (see raw.documents); day for a date found in the page.",
            "title": "Title: metadata first, else the page's headline.",
            "url": "URL: metadata first, else the page's.",
            "status": "Clean status: ok, empty or error.",
            "n_removed": "Removed boilerplate spans.",
            "clean_chars": "Length of the clean text.",
            "n_sentences": "Sentences in the clean text.",
        },
        key=("doc_id",),
    ),
    View(
        "marts.outlet_reuse_matrix",
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
        ORDER BY source_from, source_to, direction_status, {_KIND_ORDER}
        """,
        columns={
            "source_from": "Outlet the text was taken from (or the pair's first outlet when undetermined).",
            "source_to": "Outlet that took it.",
            "direction_status": "inferred (the document pair states a direction) or undetermined.",
            "kind": "exact, near or paraphrase.",
            "n_sentence_matches": "Sentence matches.",
            "n_text_matches": "Matches that are not mostly quotation (text reuse).",
            "n_quote_matches": "Matches that are mostly quotation (quote reuse).",
            "n_document_pairs": "Document pairs involved.",
        },
        example="-- who copied whom: text reuse by kind between outlets\nPIVOT (SELECT * FROM marts.outlet_reuse_matrix WHERE direction_status = 'inferred')\nON kind USING sum(n_text_matches) GROUP BY source_from, source_to;",
    ),
    View(
        "marts.outlet_originality_over_time",
        "Each outlet's originality by month of publication (month is null for undated documents).",
        """
        SELECT d.source, date_trunc('month', d.published_at) AS month, count(*) AS n_documents,
               avg(o.share_original) AS mean_share_original, avg(o.share_exact) AS mean_share_exact,
               avg(o.share_near) AS mean_share_near, avg(o.share_paraphrase) AS mean_share_paraphrase,
               count(*) FILTER (WHERE o.inferred_source_doc_id IS NOT NULL) AS n_derived_documents
        FROM marts.document_originality o JOIN marts.documents d USING (doc_id)
        GROUP BY ALL ORDER BY d.source, month NULLS FIRST
        """,
        columns={
            "month": "Month of publication (null: undated documents).",
            "n_documents": "Documents.",
            "mean_share_original": "Mean share of original sentences.",
            "mean_share_exact": "Mean share of verbatim sentences.",
            "mean_share_near": "Mean share of near-verbatim sentences.",
            "mean_share_paraphrase": "Mean share of paraphrased sentences.",
            "n_derived_documents": "Documents with an inferred source.",
        },
        example="SELECT * FROM marts.outlet_originality_over_time WHERE source = 'AFP';",
    ),
    View(
        "marts.top_republished_sentences",
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
        columns={
            "n_documents": "Documents carrying the sentence (in some form).",
            "n_sources": "Outlets carrying it.",
            "sources": "Those outlets.",
            "origin_source": "Outlet of the origin (clusters whose origin is inferred).",
            "origin_doc_id": "Document of the origin.",
            "origin_text": "The origin sentence.",
            "example_text": "One sentence of the cluster (the smallest sentence_id).",
        },
        example="SELECT n_documents, n_sources, sources, origin_status, example_text\nFROM marts.top_republished_sentences LIMIT 10;",
    ),
    View(
        "marts.story_changes",
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
            QUALIFY row_number() OVER (PARTITION BY doc_id, ref, sid ORDER BY {_KIND_ORDER}, score DESC, ref_sid) = 1
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
        columns={
            "reference_outlet": "Outlet of the inferred source.",
            "reference_doc_id": "The inferred source (marts.document_originality.inferred_source_doc_id).",
            "direction_basis": "Basis of the direction from the source to this document (see marts.document_pairs).",
            "direction_confidence": "Confidence of that direction.",
            "change": "kept (exact), altered (near or paraphrase), added or dropped, relative to the source; too_short or boilerplate for sentences that are never matched (neither added nor dropped).",
            "kind": "Kind of the match to the source sentence.",
            "score": "Score of that match.",
            "sentence_index": "Position in this document (null for dropped sentences).",
            "text": "This document's sentence (null for dropped sentences).",
            "reference_sentence_index": "Position in the source document.",
            "reference_text": "The source sentence.",
        },
        example="-- what Press TV did to the AFP text it took\nSELECT change, kind, text, reference_text FROM marts.story_changes\nWHERE source = 'Press TV' AND reference_outlet = 'AFP';",
    ),
    View(
        "marts.quote_vs_text_reuse",
        "Quote reuse versus text reuse between outlet pairs: two outlets quoting the same speaker are not copying.",
        """
        SELECT least(source_a, source_b) AS outlet_1, greatest(source_a, source_b) AS outlet_2,
               count(*) AS n_document_pairs, count(*) FILTER (WHERE quote_only) AS n_quote_only_pairs,
               sum(n_quote) AS quote_matches, sum(n_nonquote) AS text_matches,
               round(sum(n_quote) / greatest(sum(n_quote) + sum(n_nonquote), 1), 3) AS quote_share
        FROM marts.document_pairs WHERE NOT same_source
        GROUP BY ALL ORDER BY text_matches DESC, outlet_1, outlet_2
        """,
        columns={
            "outlet_1": "One outlet of the pair (alphabetically first).",
            "outlet_2": "The other outlet.",
            "n_document_pairs": "Document pairs sharing sentences.",
            "n_quote_only_pairs": "Pairs that share only quotations.",
            "quote_matches": "Matches that are mostly quotation.",
            "text_matches": "Matches of text.",
            "quote_share": "quote_matches / all matches.",
        },
        example="SELECT * FROM marts.quote_vs_text_reuse;",
    ),
)
