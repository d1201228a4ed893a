"""Polars schemas of the overlap stage's input and output frames and of the frames passed between its
steps, in one place. The output tables' schemas come from the table registry (``pipeline.core.tables``),
where every published column is declared once; the frames between steps are named subsets of them."""

from __future__ import annotations

import polars as pl

from pipeline.core import provenance, tables
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


def _marts(name: str) -> dict[str, pl.DataType]:
    """The polars schema of ``marts.<name>`` as the table registry declares it."""
    return tables.polars_schema(f"marts.{name}")


def _without(schema: dict[str, pl.DataType], names) -> dict[str, pl.DataType]:
    return {k: v for k, v in schema.items() if k not in names}


#: the output tables, as the table registry (pipeline.core.tables) declares them
FLAGS_SCHEMA = _marts("sentence_flags")
MATCHES_SCHEMA = _marts("sentence_matches")
CLUSTER_OUT_SCHEMA = _marts("sentence_clusters")
PASSAGE_OUT_SCHEMA = _marts("passages")
PAIR_SCHEMA = _marts("document_pairs")
ORIG_SCHEMA = _marts("document_originality")
STORY_SCHEMA = _marts("stories")

#: the grader's signals, as warehouse columns (one definition: pipeline.core.compare), in column order
SIGNALS = FULL_FEATURES + ("verifier", "probability", "conflict")
#: added by pipeline.core.evidence (document-level evidence)
MATCH_EVIDENCE = {k: MATCHES_SCHEMA[k] for k in ("novel_ngrams", "stock_cover", "relation")}
#: the match columns before the signals (ids, positions, outlets, kind, score, tier) and after them
MATCH_BASE = dict(list(MATCHES_SCHEMA.items())[: list(MATCHES_SCHEMA).index("tier") + 1])
MATCH_TAIL = {k: MATCHES_SCHEMA[k] for k in ("is_quote", "same_source")}
#: sentence clusters before provenance names each cluster's origin basis and confidence
CLUSTER_SCHEMA = _without(CLUSTER_OUT_SCHEMA, ("origin_basis", "origin_confidence"))
#: passages before provenance adds their direction
PASSAGE_SCHEMA = _without(PASSAGE_OUT_SCHEMA, provenance.PASSAGE_COLUMNS)
#: the document-pair columns added from the document-level evidence, after the pairs are built
PAIR_EVIDENCE = ("relation", "n_aligned", "aligned_weight")
PAIR_BASE_SCHEMA = _without(PAIR_SCHEMA, PAIR_EVIDENCE)


def signal_order(name: str) -> tuple[int, str]:
    """Sort key of a signal column: the order of ``SIGNALS``, unknown signals after them by name."""
    return (SIGNALS.index(name) if name in SIGNALS else len(SIGNALS), name)
