"""The overlap stage's settings and result: :class:`OverlapConfig`, :class:`OverlapResult`, the names of
its tables (``TABLES``, from the table registry) and the order of match kinds (``KIND_RANK``, from
``pipeline.core.kinds``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.core.evidence import EvidenceConfig
from pipeline.core.kinds import KIND_RANK
from pipeline.core.tables import OVERLAP_TABLES

__all__ = ["KIND_RANK", "TABLES", "OverlapConfig", "OverlapResult"]

#: the tables of the stage, in the order the registry lists them
TABLES = OVERLAP_TABLES


@dataclass(frozen=True)
class OverlapConfig:
    """Thresholds of the overlap stage (the docstring of ``pipeline.core.overlap`` and of each step's
    module say how each is used)."""

    min_tokens: int = 5
    quote_min_share: float = 0.5
    common_min_docs_per_source: int = 5
    common_min_share_of_source: float = 0.02
    common_min_sources: int = 25
    common_min_docs_any_share: int = 20
    exact_clique_max: int = 40
    expand_max_pairs: int = 400
    num_perm: int = 128
    lsh_bands: int = 32
    lsh_max_bucket: int = 64
    max_shingle_tokens: int = 256
    minhash_min_jaccard: float = 0.3
    minhash_seed: int = 1234
    minhash_chunk_rows: int = 50_000
    rare_token_max_docs: int = 50
    doc_min_shared_rare: int = 4
    doc_min_rare_overlap: float = 0.1
    doc_top_k: int = 10
    para_min_shared: int = 2
    para_min_overlap: float = 0.25
    para_top_k: int = 2
    semantic_min_cosine: float = 0.45
    semantic_focus_min_weight: float = 1.0
    semantic_window: int = 3
    semantic_align_slack: int = 2
    semantic_sure_none_cosine: float = 0.6
    semantic_sure_none_probability: float = 0.1
    verifier: bool = True
    max_grade_chars: int = 2_000
    grade_batch: int = 50_000
    max_join_rows: int = 4_000_000
    passage_max_gap: int = 1
    passage_min_sentences: int = 2
    story_min_shared: int = 2
    story_min_containment: float = 0.2
    story_strong_shared: int = 5
    # the document-level evidence rules (pipeline.core.evidence)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)

    def __post_init__(self) -> None:
        if self.num_perm <= 0 or self.lsh_bands <= 0 or self.num_perm % self.lsh_bands:
            raise ValueError(
                f"num_perm ({self.num_perm}) must be a positive multiple of lsh_bands ({self.lsh_bands})"
            )
        if self.exact_clique_max < 2 or self.lsh_max_bucket < 2:
            raise ValueError("exact_clique_max and lsh_max_bucket must be at least 2")


@dataclass
class OverlapResult:
    """The seven tables of the overlap stage and its statistics."""

    sentence_flags: pl.DataFrame
    sentence_matches: pl.DataFrame
    sentence_clusters: pl.DataFrame
    passages: pl.DataFrame
    document_pairs: pl.DataFrame
    document_originality: pl.DataFrame
    stories: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}
