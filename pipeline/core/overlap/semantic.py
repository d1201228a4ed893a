"""The semantic tier as one step: on the focus pairs only (see ``candidates_semantic``), the blocked
candidates and the static encoder's nearest neighbours near the lexical matches are graded on their
lexical signals; those whose cheap signals leave the decision open (``grading.needs_models``) are
graded again with MiniLM's cosine and the cross-encoder verifier. These grades replace the lexical
paraphrase grades there. A lexical paraphrase that the verifier rejects is kept with its verifier
probability: it is never evidence of reuse, but counts as reuse when it sits in order inside an
aligned passage. The static encoder loads only when there is a focus pair (built on first use when
absent, see ``models``), MiniLM and the verifier only when a pair needs them. No step has a cap: the
cost grows with the sentences near the focus pairs' matches and with the uncertain pairs, which
``pipeline/evaluation/results/bench_semantic.md`` measures on the benchmark corpus."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pipeline.core.overlap.candidates_paraphrase import dedupe_candidates, matched_into, paraphrase_candidates
from pipeline.core.overlap.candidates_semantic import (
    CandidateVectors,
    focus_pairs,
    near_anchors,
    on_the_diagonal,
    semantic_candidates,
)
from pipeline.core.overlap.common import Clock
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.grading import GradingTexts, grade, grade_with_models, needs_models
from pipeline.core.overlap.index import SentenceIndex
from pipeline.core.overlap.matches import KnownEvidence, doc_sizes, expand, finalise_matches, relations_stored
from pipeline.core.overlap.models import (
    CachedEncoder,
    VerifierRun,
    load_candidate_encoder,
    load_encoder,
    load_verifier,
    verifier_unused,
)
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
    vecs: CandidateVectors,
    cfg: OverlapConfig,
    clock: Clock,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """The sentences within ``semantic_window`` of a lexical match (``prelim``) of a focus pair, the
    candidates among them (blocked and embedding ones, without pairs graded already), the embedding
    candidates alone and the counts of the embedding search."""
    elig, _, doc_rank = index
    # only sentences near the lexical matches of a focus pair are worth a model's look: a rewording
    # that belongs to the shared text sits among, or next to, the sentences already found
    near = near_anchors(prelim, focus, doc_rank, elig, cfg.semantic_window)
    elig_w = elig.join(near, on="sentence_id", how="semi")
    rare_w = rare.join(elig_w.select("sidx"), on="sidx", how="semi")
    strong = raw.filter(pl.col("kind").is_in(["exact", "near"]))
    sem_cand, counts = semantic_candidates(focus, elig_w, vecs, cfg, clock, matched_into(strong, elig))
    lex_cand = paraphrase_candidates(focus, elig_w, rare_w, matches_1, cfg)
    return near, dedupe_candidates(pl.concat([lex_cand, sem_cand]), graded_keys), sem_cand, counts


def _graded_in_two_steps(
    cand: pl.DataFrame,
    index: SentenceIndex,
    aligned_to: tuple[pl.DataFrame, pl.DataFrame],
    vecs: CandidateVectors,
    encoder: Any,
    signal_cols: list[str],
    cfg: OverlapConfig,
    clock: Clock,
    store: OverlapStore | None,
    texts: GradingTexts | None = None,
) -> tuple[pl.DataFrame | None, list[str], dict[str, Any]]:
    """Every candidate graded on lexical signals; those :func:`grading.needs_models` selects graded
    again with MiniLM's cosine and the verifier (the models load only when a pair needs them). Returns
    the graded pairs (``none`` kept; None when MiniLM cannot be loaded), the signal columns and
    statistics (``semantic_triage``, ``verifier``, the encoder's reason). ``aligned_to``: the lexical
    matches and the focus pairs (see ``candidates_semantic.on_the_diagonal``)."""
    elig, hashes, doc_rank = index
    stats: dict[str, Any] = {}
    with clock.step("grade_semantic_lexical"):
        lex, signal_cols = grade(
            cand,
            hashes,
            None,
            cfg,
            clock,
            "grade_semantic_lexical",
            signal_cols,
            keep_none=True,
            store=store,
            texts=texts,
        )
        ia, ib = lex["hid_a"].to_numpy(), lex["hid_b"].to_numpy()
        vecs.add(np.concatenate([ia, ib]))
        static_cos = vecs.cosine(ia, ib)
        kinds = lex["kind"].to_list()
        proba = lex["probability"].to_numpy() if "probability" in lex.columns else np.zeros(lex.height)
        aligned = on_the_diagonal(lex, aligned_to[0], aligned_to[1], elig, doc_rank, cfg)
        todo = needs_models(kinds, proba, static_cos, aligned, cfg)
    n_rules = int(np.isin(np.asarray(kinds, dtype=object), ["exact", "near"]).sum())
    stats["semantic_triage"] = {
        "candidates": lex.height,
        "decided_by_rules": n_rules,
        "aligned": int(aligned.sum()),
        "certain": lex.height - n_rules - int(todo.sum()),
        "to_models": int(todo.sum()),
    }
    if not todo.any():
        stats["verifier"] = verifier_unused(cfg)
        return lex, signal_cols, stats

    def load_models() -> tuple[Any, VerifierRun | None]:
        with clock.step("semantic_load"):
            enc, reason = load_encoder(encoder)
            stats["encoder_reason"] = reason
            if enc is None:
                return None, None
            verifier_run = load_verifier(cfg)
            stats["verifier"] = verifier_run.stats
            return CachedEncoder(enc), verifier_run

    with clock.step("grade_semantic"):
        todo_s = pl.Series(todo)
        models, signal_cols, counts = grade_with_models(
            cand.join(lex.filter(todo_s).select("hid_a", "hid_b"), on=["hid_a", "hid_b"], how="semi"),
            hashes,
            load_models,
            cfg,
            clock,
            "grade_semantic",
            signal_cols,
            store=store,
            texts=texts,
        )
    stats["semantic_triage"]["models_stored"] = counts["stored"]
    if models is None:
        return None, signal_cols, stats
    if "verifier" not in stats:  # every pair's final grade came from the store: no model loaded
        stats["verifier"] = verifier_unused(cfg) | {
            "reason": f"paraphrase verifier: the {counts['stored']} pairs that need it were graded by an "
            "earlier run (stored; models not loaded)"
        }
    stats["semantic_triage"]["minilm_sentences"] = int(
        np.unique(np.concatenate([models["hid_a"].to_numpy(), models["hid_b"].to_numpy()])).size
    )
    graded = pl.concat([lex.filter(~todo_s), models], how="diagonal_relaxed").sort("hid_a", "hid_b")
    return graded, signal_cols, stats


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
) -> tuple[pl.DataFrame, list[str], dict[str, Any], KnownEvidence]:
    """The raw matches with the semantic tier's grades in the focus pairs, the signal columns, the
    statistics to record (``semantic_focus_pairs``, ``semantic``, ``semantic_triage``, ``verifier``,
    ...) and the evidence of the preliminary matches, which holds for every document pair but the focus
    pairs (``matches.KnownEvidence``, for ``matches.relations_reusing``).

    ``raw``: every raw match so far; ``m2``: the lexical paraphrase matches among them; ``matches_1``:
    the exact and near ones; ``graded_keys``: hash pairs graded already (not graded again); ``store``:
    grades stored by earlier runs (see ``grading.grade``)."""
    elig, hashes, doc_rank = index
    stats: dict[str, Any] = {}
    with clock.step("semantic_focus"):
        prelim = finalise_matches(raw, elig, semantic_on=False)
        evidence = store.evidence if store is not None else None
        prelim_ev, pair_evidence = relations_stored(prelim, sents, cfg, doc_sizes(elig), evidence)
        focus = focus_pairs(pair_evidence, doc_rank, cfg)
    # the evidence of the preliminary matches holds for every document pair but the focus pairs, the
    # only ones whose matches the tier changes (see matches.relations_reusing)
    ids = doc_rank.select("doc_id", "didx")
    known = KnownEvidence(
        prelim_ev,
        pair_evidence,
        focus.join(ids.rename({"didx": "da", "doc_id": "doc_id_a"}), on="da")
        .join(ids.rename({"didx": "db", "doc_id": "doc_id_b"}), on="db")
        .select("doc_id_a", "doc_id_b"),
    )
    del prelim_ev
    stats["semantic_focus_pairs"] = focus.height
    if focus.height == 0:
        stats["semantic"] = {
            "ran": True,
            "reason": "semantic tier on: no document pair aligns enough text to need it (models not loaded)",
            "candidates": 0,
            "embeddings": True,
        }
        return raw, signal_cols, stats, known
    with clock.step("semantic_load_static"):
        cenc, creason = load_candidate_encoder(encoder)
    if cenc is None:
        stats["semantic"] = {"ran": False, "reason": f"semantic tier not run: {creason}", "embeddings": False}
        return raw, signal_cols, stats, known
    texts = GradingTexts(hashes, cfg)  # read once for the steps below
    vecs = CandidateVectors(cenc, texts, clock, store)
    with clock.step("semantic_candidates"):
        near, cand, sem_cand, counts = _window_candidates(
            raw, matches_1, prelim, focus, graded_keys, index, rare, vecs, cfg, clock
        )
    graded, signal_cols, gstats = _graded_in_two_steps(
        cand, index, (prelim, focus), vecs, encoder, signal_cols, cfg, clock, store, texts
    )
    if graded is None:  # MiniLM failed to load: the lexical grades stay
        stats["semantic"] = {"ran": False, "reason": gstats["encoder_reason"], "embeddings": False}
        return raw, signal_cols, stats, known
    stats["semantic"] = {
        "ran": True,
        "reason": f"semantic tier on: {creason}; {vecs.q.shape[0]} distinct sentences embedded for candidates "
        f"({vecs.encoded} encoded, the others stored by earlier runs)",
        "candidates": sem_cand.height,
        "embeddings": True,
        "window_sentences": counts["window_sentences"],
        "static_encoded": vecs.encoded,
        "static_held": vecs.q.shape[0],
    }
    stats.update({k: v for k, v in gstats.items() if k != "encoder_reason"})
    with clock.step("expand_semantic"):
        m3 = expand(graded, elig, cfg, restrict=focus)
    keep_m2, accepted, rejected, n_replaced = _replace_lexical_grades(m2, m3, near, elig, focus)
    stats["semantic_replaced_lexical"] = n_replaced
    stats["semantic_verifier_rejected_kept"] = rejected.height
    raw = pl.concat([matches_1, keep_m2, accepted, rejected], how="diagonal_relaxed")
    return raw, signal_cols, stats, known
