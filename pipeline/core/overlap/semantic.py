"""The semantic tier as one step: on the focus pairs only (see ``candidates_semantic``), the blocked
and the embedding candidates near the lexical matches are graded with the embedding cosine and the
cross-encoder verifier, and these grades replace the lexical paraphrase grades there. A lexical
paraphrase that the verifier rejects is kept with its verifier probability: it is never evidence of
reuse, but counts as reuse when it sits in order inside an aligned passage. The encoder and verifier
are loaded only when there is a focus pair."""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.core.overlap.candidates_paraphrase import dedupe_candidates, matched_into, paraphrase_candidates
from pipeline.core.overlap.candidates_semantic import focus_pairs, near_anchors, semantic_candidates
from pipeline.core.overlap.common import Clock
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.grading import grade
from pipeline.core.overlap.index import SentenceIndex
from pipeline.core.overlap.matches import doc_sizes, expand, finalise_matches, relations
from pipeline.core.overlap.models import CachedEncoder, load_encoder, load_verifier
from pipeline.core.overlap.store import OverlapStore


def _in_focus(frame: pl.DataFrame, elig: pl.DataFrame, focus: pl.DataFrame) -> pl.DataFrame:
    """Raw sentence pairs (sid_l, sid_r, ...) of ``frame`` that lie in a focus pair."""
    didx = elig.select("sentence_id", "didx")
    f = frame.join(didx.rename({"sentence_id": "sid_l", "didx": "_dl"}), on="sid_l").join(
        didx.rename({"sentence_id": "sid_r", "didx": "_dr"}), on="sid_r"
    )
    f = f.with_columns(
        pl.min_horizontal("_dl", "_dr").alias("da"), pl.max_horizontal("_dl", "_dr").alias("db")
    )
    return f.join(focus, on=["da", "db"], how="semi").drop("_dl", "_dr", "da", "db")


def _replace_lexical_grades(
    m2: pl.DataFrame, m3: pl.DataFrame, near: pl.DataFrame, elig: pl.DataFrame, focus: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, int]:
    """The lexical paraphrase matches ``m2`` outside the windows ``near`` of the focus pairs, the
    semantic grades ``m3`` accepted, and the lexical matches inside whose semantic grade the verifier
    rejected (kept with the verifier's probability); also how many lexical matches were replaced."""
    m2_focus = (
        _in_focus(m2, elig, focus)
        .join(near.rename({"sentence_id": "sid_l"}), on="sid_l", how="semi")
        .join(near.rename({"sentence_id": "sid_r"}), on="sid_r", how="semi")
    )
    accepted = m3.filter(pl.col("kind") != "none")
    if "verifier" in m3.columns:
        rejected = (
            m3.filter((pl.col("kind") == "none") & pl.col("verifier").is_not_null())
            .select("sid_l", "sid_r", "verifier")
            .join(m2_focus.drop("verifier", strict=False), on=["sid_l", "sid_r"])
        )
    else:  # no verifier: the grade with the cosine decides
        rejected = m2_focus.clear()
    keep_m2 = m2.join(m2_focus.select("sid_l", "sid_r"), on=["sid_l", "sid_r"], how="anti")
    return keep_m2, accepted, rejected, m2_focus.height


def _window_candidates(
    raw: pl.DataFrame,
    matches_1: pl.DataFrame,
    prelim: pl.DataFrame,
    focus: pl.DataFrame,
    graded_keys: pl.DataFrame,
    index: SentenceIndex,
    rare: pl.DataFrame,
    enc: CachedEncoder,
    cfg: OverlapConfig,
    clock: Clock,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None, str]:
    """The sentences within ``semantic_window`` of a lexical match (``prelim``) of a focus pair, the
    candidates among them (blocked and embedding ones, without pairs graded already), the embedding
    candidates alone (None when skipped) and what the embedding search did."""
    elig, _, doc_rank = index
    # only sentences near the lexical matches of a focus pair are worth a model's look: a rewording
    # that belongs to the shared text sits among, or next to, the sentences already found
    near = near_anchors(prelim, focus, doc_rank, elig, cfg.semantic_window)
    elig_w = elig.join(near, on="sentence_id", how="semi")
    rare_w = rare.join(elig_w.select("sidx"), on="sidx", how="semi")
    strong = raw.filter(pl.col("kind").is_in(["exact", "near"]))
    sem_cand, sem_reason = semantic_candidates(focus, elig_w, enc, cfg, clock, matched_into(strong, elig))
    lex_cand = paraphrase_candidates(focus, elig_w, rare_w, matches_1, cfg)
    cand = lex_cand if sem_cand is None else pl.concat([lex_cand, sem_cand])
    return near, dedupe_candidates(cand, graded_keys), sem_cand, sem_reason


def semantic_tier(
    raw: pl.DataFrame,
    m2: pl.DataFrame,
    matches_1: pl.DataFrame,
    graded_keys: pl.DataFrame,
    index: SentenceIndex,
    sents: pl.DataFrame,
    rare: pl.DataFrame,
    encoder: Any,
    signal_cols: list[str],
    cfg: OverlapConfig,
    clock: Clock,
    store: OverlapStore | None = None,
) -> tuple[pl.DataFrame, list[str], dict[str, Any]]:
    """The raw matches with the semantic tier's grades in the focus pairs, the signal columns and the
    statistics to record (``semantic_focus_pairs``, ``semantic``, ``verifier``, ...).

    ``raw``: every raw match so far; ``m2``: the lexical paraphrase matches among them; ``matches_1``:
    the exact and near ones; ``graded_keys``: hash pairs graded already (not graded again); ``store``:
    grades stored by earlier runs (see ``grading.grade``)."""
    elig, hashes, doc_rank = index
    stats: dict[str, Any] = {}
    with clock.step("semantic_focus"):
        prelim = finalise_matches(raw, elig, semantic_on=False)
        _, pair_evidence = relations(prelim, sents, cfg, doc_sizes(elig))
        focus = focus_pairs(pair_evidence, doc_rank, cfg)
    stats["semantic_focus_pairs"] = focus.height
    if focus.height == 0:
        stats["semantic"] = {
            "ran": True,
            "reason": "semantic tier on: no document pair aligns enough text to need it (models not loaded)",
            "candidates": 0,
            "embeddings": True,
        }
        return raw, signal_cols, stats
    with clock.step("semantic_load"):
        enc, reason = load_encoder(encoder)
        if enc is None:
            stats["semantic"] = {"ran": False, "reason": reason, "embeddings": False}
            return raw, signal_cols, stats
        verifier_run = load_verifier(cfg)
        stats["verifier"] = verifier_run.stats
        enc = CachedEncoder(enc)
    with clock.step("semantic_candidates"):
        near, cand, sem_cand, sem_reason = _window_candidates(
            raw, matches_1, prelim, focus, graded_keys, index, rare, enc, cfg, clock
        )
    stats["semantic"] = {
        "ran": sem_cand is not None,
        "reason": sem_reason,
        "candidates": 0 if sem_cand is None else sem_cand.height,
        "embeddings": True,
    }
    with clock.step("grade_semantic"):
        graded, signal_cols = grade(
            cand,
            hashes,
            enc,
            cfg,
            clock,
            "grade_semantic",
            signal_cols,
            verifier_run,
            keep_none=True,
            store=store,
        )
        m3 = expand(graded, elig, cfg, restrict=focus)
    keep_m2, accepted, rejected, n_replaced = _replace_lexical_grades(m2, m3, near, elig, focus)
    stats["semantic_replaced_lexical"] = n_replaced
    stats["semantic_verifier_rejected_kept"] = rejected.height
    return pl.concat([matches_1, keep_m2, accepted, rejected], how="diagonal_relaxed"), signal_cols, stats
