"""Polars schemas of the overlap stage's input and output frames and of the frames passed between its
steps, in one place (the warehouse's table definitions mirror the output ones)."""

from __future__ import annotations

import polars as pl

from pipeline.core import provenance
from pipeline.core.compare import FULL_FEATURES

DT = pl.Datetime("us")

# ------------------------------------------------------------------------------------------ inputs

#: the input frames, as documented in ``pipeline.core.overlap`` (title, n_chars and paragraph are optional)
DOCUMENTS_SCHEMA = {
    "doc_id": pl.String,
    "source": pl.String,
    "published_at": DT,
    "title": pl.String,
    "n_chars": pl.Int64,
}
SENTENCES_SCHEMA = {
    "sentence_id": pl.String,
    "doc_id": pl.String,
    "index": pl.Int64,
    "paragraph": pl.Int64,
    "start": pl.Int64,
    "end": pl.Int64,
    "text": pl.String,
    "norm": pl.String,
    "norm_hash": pl.String,
    "n_tokens": pl.Int64,
}
DOC_REQUIRED = ("doc_id", "source", "published_at")
SENT_REQUIRED = ("sentence_id", "doc_id", "index", "start", "end", "text", "norm", "norm_hash", "n_tokens")

# ------------------------------------------------------------------------------------------ between steps

#: candidate pairs of distinct normalised sentences (``hid`` numbers, ``hid_a < hid_b``) and the tier
#: that proposed them
CANDIDATE_SCHEMA = {"hid_a": pl.Int64, "hid_b": pl.Int64, "tier": pl.String}
#: graded candidate pairs (the grader's signals follow as Float64 columns)
GRADED_SCHEMA = {
    "hid_a": pl.Int64,
    "hid_b": pl.Int64,
    "tier": pl.String,
    "kind": pl.String,
    "score": pl.Float64,
}
#: rare content words of each matchable sentence (see ``candidates_paraphrase.rare_tokens``)
RARE_SCHEMA = {"sidx": pl.Int64, "didx": pl.Int64, "hid": pl.Int64, "tok": pl.UInt64, "w": pl.Int64}

# ------------------------------------------------------------------------------------------ outputs

FLAGS_SCHEMA = {
    "sentence_id": pl.String,
    "doc_id": pl.String,
    "quote_share": pl.Float64,
    "is_quote": pl.Boolean,
    "too_short": pl.Boolean,
    "n_docs_same_hash": pl.Int64,
    "n_sources_same_hash": pl.Int64,
    "is_common": pl.Boolean,
    "stock_reason": pl.String,
    "matchable": pl.Boolean,
}
#: the grader's signals, as warehouse columns (one definition: pipeline.core.compare), in column order
SIGNALS = FULL_FEATURES + ("verifier", "probability", "conflict")
MATCH_BASE = {
    "sentence_id_a": pl.String,
    "sentence_id_b": pl.String,
    "doc_id_a": pl.String,
    "doc_id_b": pl.String,
    "index_a": pl.Int64,
    "index_b": pl.Int64,
    "source_a": pl.String,
    "source_b": pl.String,
    "kind": pl.String,
    "score": pl.Float64,
    "tier": pl.String,
}
MATCH_TAIL = {"is_quote": pl.Boolean, "same_source": pl.Boolean}
#: added by pipeline.core.evidence (document-level evidence)
MATCH_EVIDENCE = {"novel_ngrams": pl.Int64, "stock_cover": pl.Float64, "relation": pl.String}
CLUSTER_SCHEMA = {
    "cluster_id": pl.String,
    "sentence_id": pl.String,
    "doc_id": pl.String,
    "source": pl.String,
    "published_at": DT,
    "is_origin": pl.Boolean,
    "origin_sentence_id": pl.String,
    "origin_status": pl.String,
    "kind_to_origin": pl.String,
}
CLUSTER_OUT_SCHEMA = {
    **{k: v for k, v in CLUSTER_SCHEMA.items() if k not in provenance.CLUSTER_COLUMNS},
    **provenance.CLUSTER_COLUMNS,
}
PASSAGE_SCHEMA = {
    "doc_id_a": pl.String,
    "doc_id_b": pl.String,
    "passage_id": pl.String,
    "first_index_a": pl.Int64,
    "last_index_a": pl.Int64,
    "first_index_b": pl.Int64,
    "last_index_b": pl.Int64,
    "start_a": pl.Int64,
    "end_a": pl.Int64,
    "start_b": pl.Int64,
    "end_b": pl.Int64,
    "n_sentences": pl.Int64,
    "n_exact": pl.Int64,
    "n_near": pl.Int64,
    "n_paraphrase": pl.Int64,
    "dominant_kind": pl.String,
    "mean_score": pl.Float64,
    "n_quote": pl.Int64,
}
PASSAGE_OUT_SCHEMA = {**PASSAGE_SCHEMA, **provenance.PASSAGE_COLUMNS}
PAIR_SCHEMA = {
    "doc_id_a": pl.String,
    "doc_id_b": pl.String,
    "source_a": pl.String,
    "source_b": pl.String,
    "published_at_a": DT,
    "published_at_b": DT,
    "n_matchable_a": pl.Int64,
    "n_matchable_b": pl.Int64,
    "n_shared_a": pl.Int64,
    "n_shared_b": pl.Int64,
    "n_exact": pl.Int64,
    "n_near": pl.Int64,
    "n_paraphrase": pl.Int64,
    "n_quote": pl.Int64,
    "n_nonquote": pl.Int64,
    "quote_only": pl.Boolean,
    "containment_a_in_b": pl.Float64,
    "containment_b_in_a": pl.Float64,
    "direction": pl.String,
    "direction_basis": pl.String,
    "direction_evidence": pl.String,
    "direction_confidence": pl.Float64,
    "common_source_doc_id": pl.String,
    "same_source": pl.Boolean,
    "in_story": pl.Boolean,
    "relation": pl.String,
    "n_aligned": pl.Int64,
    "aligned_weight": pl.Float64,
}
#: the document-pair columns added from the document-level evidence, after the pairs are built
PAIR_EVIDENCE = ("relation", "n_aligned", "aligned_weight")
PAIR_BASE_SCHEMA = {k: v for k, v in PAIR_SCHEMA.items() if k not in PAIR_EVIDENCE}
ORIG_SCHEMA = {
    "doc_id": pl.String,
    "source": pl.String,
    "n_sentences": pl.Int64,
    "n_matchable": pl.Int64,
    "share_original": pl.Float64,
    "share_exact": pl.Float64,
    "share_near": pl.Float64,
    "share_paraphrase": pl.Float64,
    "n_quote_reuse": pl.Int64,
    "inferred_source_doc_id": pl.String,
    "added": pl.Int64,
    "dropped": pl.Int64,
}
STORY_SCHEMA = {
    "story_id": pl.String,
    "doc_id": pl.String,
    "n_docs": pl.Int64,
    "first_published_at": DT,
}


def signal_order(name: str) -> tuple[int, str]:
    """Sort key of a signal column: the order of ``SIGNALS``, unknown signals after them by name."""
    return (SIGNALS.index(name) if name in SIGNALS else len(SIGNALS), name)
