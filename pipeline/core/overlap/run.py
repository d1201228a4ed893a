"""``compute_overlap``: the overlap stage as the list of its steps (see ``pipeline.core.overlap``), in
three phases: the lexical tiers (exact, MinHash, blocked paraphrases), the semantic tier on the focus
pairs, and the tables built from the matches. Each phase returns its frames and the statistics it
adds."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, NamedTuple

import polars as pl

from pipeline.core import compare, heap, provenance
from pipeline.core.kinds import MATCH_KINDS
from pipeline.core.overlap.candidates_exact import exact_pairs, exact_rows
from pipeline.core.overlap.candidates_minhash import near_candidates
from pipeline.core.overlap.candidates_paraphrase import (
    candidate_doc_pairs,
    dedupe_candidates,
    paraphrase_candidates,
    rare_tokens,
)
from pipeline.core.overlap.clusters import clusters as build_clusters
from pipeline.core.overlap.common import Clock
from pipeline.core.overlap.config import OverlapConfig, OverlapResult
from pipeline.core.overlap.derived import affected_scope, merged
from pipeline.core.overlap.flags import mark_templates, sentence_flags, template_families
from pipeline.core.overlap.grading import GRADER, grade
from pipeline.core.overlap.index import SentenceIndex, build_index
from pipeline.core.overlap.inputs import prepare_inputs
from pipeline.core.overlap.matches import (
    KnownEvidence,
    doc_sizes,
    expand,
    finalise_matches,
    relations_reusing,
)
from pipeline.core.overlap.models import semantic_wanted
from pipeline.core.overlap.originality import originality
from pipeline.core.overlap.pairs import document_pairs, with_pair_evidence
from pipeline.core.overlap.passages import passages as build_passages
from pipeline.core.overlap.schemas import CLUSTER_OUT_SCHEMA, PASSAGE_OUT_SCHEMA
from pipeline.core.overlap.semantic import semantic_tier
from pipeline.core.overlap.store import OverlapStore
from pipeline.core.overlap.stories import stories as build_stories
from pipeline.core.progress import Progress

#: the relations that link sentences into clusters, passages, document pairs and stories: aligned
#: text reuse, and quotations (which keep their own flags)
LINKED = ("reuse", "quote")


class LexicalMatches(NamedTuple):
    """What the lexical tiers leave to the semantic tier and the tables."""

    flags: pl.DataFrame  # with template sentences marked common
    index: SentenceIndex  # without template sentences
    matches_1: pl.DataFrame  # raw exact and near matches
    m2: pl.DataFrame  # raw lexical paraphrase matches
    graded_keys: pl.DataFrame  # hash pairs graded (not graded again)
    rare: pl.DataFrame  # rare words of each matchable sentence
    signal_cols: list[str]  # the grader's signals so far


def release_text_analyses() -> None:
    """Let go of the grader's analyses of the texts a grading step read (``compare._analyse`` keeps up
    to ``compare.ANALYSIS_CACHE_TEXTS`` of them, about 0.3 GiB, which would otherwise stay to the end
    of the process, through the steps after grading and the stages after this one) and hand the freed
    heap back to the system (``malloc_trim``: the analyses are many small Python objects, whose freed
    pages the C heap otherwise keeps). The grades do not change: the cache only saves analysing a
    text twice."""
    compare._analyse.cache_clear()
    heap.trim()


def _flag_counts(flags: pl.DataFrame) -> dict[str, int]:
    return {
        "n_quote": int(flags["is_quote"].sum() or 0),
        "n_too_short": int(flags["too_short"].sum() or 0),
        "n_common": int(flags["is_common"].sum() or 0),
    }


def _lexical_tiers(
    docs: pl.DataFrame,
    flags: pl.DataFrame,
    index: SentenceIndex,
    cfg: OverlapConfig,
    clock: Clock,
    store: OverlapStore | None = None,
) -> tuple[LexicalMatches, dict[str, Any]]:
    """Exact and MinHash candidates, templates, then blocked paraphrase candidates, all graded.

    The caller keeps no reference to ``index``: the index without template sentences replaces it, and
    the normalised texts of ``hashes`` are let go once the last step reading them ends."""
    elig, hashes, doc_rank = index
    del index
    stats: dict[str, Any] = {"n_matchable": elig.height, "n_distinct_matchable": hashes.height}
    n_index = elig.height
    # ---- exact and near tiers
    with clock.step("exact"):
        exact = exact_pairs(elig, cfg)
    stats["candidates_exact_sentence_pairs"] = exact.height
    near_cand, stats["candidates_lsh"] = near_candidates(hashes, elig, cfg, clock, store)
    stats["candidates_minhash"] = near_cand.height
    stats["grader"] = GRADER
    stats["verifier"] = {
        "ran": False,
        "reason": "paraphrase verifier off: it needs the semantic tier",
        "pairs": 0,
    }
    with clock.step("grade_near"):
        graded_near, signal_cols = grade(near_cand, hashes, None, cfg, clock, "grade_near", [], store=store)
        release_text_analyses()

    # ---- templates: common families of near-identical sentences leave every tier
    with clock.step("templates"):
        tmpl = template_families(graded_near, elig, docs, cfg)
        flags, elig, graded_near, exact = mark_templates(tmpl, flags, elig, graded_near, exact)
    stats["n_template_sentences"] = n_index - elig.height
    stats["n_common"] = int(flags["is_common"].sum() or 0)
    stats["n_matchable"] = elig.height
    with clock.step("expand_near"):
        matches_1 = pl.concat([exact_rows(exact), expand(graded_near, elig, cfg)], how="diagonal_relaxed")

    # ---- paraphrase tier: blocked candidates within candidate document pairs (lexical grades)
    with clock.step("doc_candidates"):
        rare = rare_tokens(elig, hashes, cfg, store)
        hashes = hashes.drop("rep_norm")  # the MinHash and content-word steps were its last readers
        doc_pairs = candidate_doc_pairs(matches_1, elig, rare, cfg, doc_rank, store)
    stats["candidate_doc_pairs"] = doc_pairs.height
    graded_keys = graded_near.select("hid_a", "hid_b")
    with clock.step("para_candidates"):
        para_cand = dedupe_candidates(
            paraphrase_candidates(doc_pairs, elig, rare, matches_1, cfg), graded_keys
        )
    stats["candidates_paraphrase"] = para_cand.height
    with clock.step("grade_paraphrase"):
        graded_para, signal_cols = grade(
            para_cand, hashes, None, cfg, clock, "grade_paraphrase", signal_cols, store=store
        )
        release_text_analyses()
    with clock.step("expand_paraphrase"):
        m2 = expand(graded_para, elig, cfg, restrict=doc_pairs)
    stats["graded_pairs"] = near_cand.height + para_cand.height
    stats["graded_matches"] = graded_near.height + graded_para.height
    index = SentenceIndex(elig, hashes, doc_rank)
    return LexicalMatches(flags, index, matches_1, m2, graded_keys, rare, signal_cols), stats


def _tables(
    raw: pl.DataFrame,
    semantic_on: bool,
    docs: pl.DataFrame,
    sents: pl.DataFrame,
    flags: pl.DataFrame,
    elig: pl.DataFrame,
    cfg: OverlapConfig,
    clock: Clock,
    known: KnownEvidence | None = None,
    store: OverlapStore | None = None,
) -> OverlapResult:
    """The seven tables from the raw matches (statistics not filled in); ``known``: evidence computed
    already for the document pairs whose matches did not change since (``relations_reusing``);
    ``store``: the evidence of document pairs stored by earlier runs (``matches.relations_stored``)."""
    with clock.step("matches"):
        matches = finalise_matches(raw, elig, semantic_on=semantic_on)
    with clock.step("evidence"):
        evidence = store.evidence if store is not None else None
        matches, pair_evidence = relations_reusing(matches, sents, cfg, doc_sizes(elig), known, evidence)
        linked = matches.filter(pl.col("relation").is_in(LINKED))
    all_flags, all_matches = flags, matches
    # the derived tables of the components a batch did not touch are those stored (see ``derived``)
    state = store.derived if store is not None else None
    scope = None
    if state is not None:
        with clock.step("affected"):
            scope = affected_scope(state, cfg, docs, sents, flags, matches, linked)
        if scope is not None:
            ids = scope.implode()
            linked = linked.filter(pl.col("doc_id_a").is_in(ids))
            matches = linked  # the derived tables read the reuse and quote matches only
            sents = sents.filter(pl.col("doc_id").is_in(ids))
            flags = flags.filter(pl.col("doc_id").is_in(ids))
    docs_in = docs if scope is None else docs.filter(pl.col("doc_id").is_in(scope.implode()))
    with clock.step("clusters"):
        clusters = build_clusters(linked, sents)
    with clock.step("passages"):
        passages = build_passages(linked, sents, cfg)
    with clock.step("document_pairs"):
        reuse = provenance.reuse_only(matches)
        # every document (the corpus' outlets are those credit lines may name), the scope's texts
        dpairs = with_pair_evidence(document_pairs(reuse, flags, docs, sents, cfg), pair_evidence)
    with clock.step("provenance"):
        passages = provenance.passage_directions(passages, dpairs).cast(PASSAGE_OUT_SCHEMA)
        clusters = provenance.cluster_origins(clusters, reuse, dpairs).cast(CLUSTER_OUT_SCHEMA)
    with clock.step("originality"):
        orig = originality(reuse, flags, docs_in, dpairs)
    with clock.step("stories"):
        stories = build_stories(dpairs, docs_in)
    derived_tables = {
        "sentence_clusters": clusters,
        "passages": passages,
        "document_pairs": dpairs,
        "document_originality": orig,
        "stories": stories,
    }
    if scope is not None and state is not None:
        with clock.step("kept_rows"):
            derived_tables = {n: merged(state, n, f, scope) for n, f in derived_tables.items()}
    return OverlapResult(sentence_flags=all_flags, sentence_matches=all_matches, **derived_tables)


def _table_stats(result: OverlapResult) -> dict[str, Any]:
    """Rows per table, and matches by kind (reuse and quote matches) and by relation."""
    matches = result.sentence_matches
    linked = matches.filter(pl.col("relation").is_in(LINKED))
    return {
        "rows": {name: frame.height for name, frame in result.tables().items()},
        "matches_by_kind": {k: int((linked["kind"] == k).sum()) for k in MATCH_KINDS},
        "matches_by_relation": {
            r: int((matches["relation"] == r).sum()) for r in ("reuse", "quote", "stock", "same_fact")
        },
    }


def compute_overlap(
    documents: pl.DataFrame,
    sentences: pl.DataFrame,
    *,
    config: OverlapConfig | None = None,
    encoder: Any = "auto",
    progress: Progress | None = None,
    store: OverlapStore | None = None,
) -> OverlapResult:
    """Find the sentences, passages and documents shared across the corpus (see ``pipeline.core.overlap``).

    ``encoder``: ``"auto"`` (the bundled model when installed and not disabled), None (lexical tiers
    only) or an object with ``encode(texts) -> unit vectors``; ``progress(step, done, total)``: optional
    progress callback; ``store``: values stored by earlier runs, reused, and receiving the values this
    run computes (see ``store.OverlapStore``; the outputs are the same with or without it)."""
    cfg = config or OverlapConfig()
    clock = Clock(progress)
    stats: dict[str, Any] = {"config": asdict(cfg)}
    t_all = time.perf_counter()

    with clock.step("prepare"):
        docs, sents = prepare_inputs(documents, sentences)
    stats.update(n_documents=docs.height, n_sentences=sents.height)
    stats["n_sentences_unknown_doc"] = sentences.height - sents.height
    with clock.step("flags"):
        flags = sentence_flags(docs, sents, cfg, store)
    stats.update(_flag_counts(flags))
    # the encoder and the verifier load only when a document pair needs them (see semantic.semantic_tier)
    wanted, reason = semantic_wanted(encoder)
    stats["semantic"] = {"ran": False, "reason": reason, "embeddings": wanted}
    # the index is handed over, not kept here: the lexical tiers replace it as they go
    lexical, lexical_stats = _lexical_tiers(docs, flags, build_index(docs, sents, flags), cfg, clock, store)
    stats.update(lexical_stats)
    raw = pl.concat([lexical.matches_1, lexical.m2], how="diagonal_relaxed")
    signal_cols = lexical.signal_cols
    # the semantic tier: only where the lexical evidence already aligns text between two documents
    known = None  # evidence the semantic tier computed for the matches it did not change
    if wanted:
        raw, signal_cols, semantic_stats, known = semantic_tier(
            raw,
            lexical.m2,
            lexical.matches_1,
            lexical.graded_keys,
            lexical.index,
            sents,
            lexical.rare,
            encoder,
            signal_cols,
            cfg,
            clock,
            store,
        )
        stats.update(semantic_stats)
        release_text_analyses()
    flags, elig = lexical.flags, lexical.index.elig
    del lexical  # the rare words and candidates are no longer needed

    result = _tables(raw, wanted, docs, sents, flags, elig, cfg, clock, known, store)
    result.stats = stats | _table_stats(result)
    if store is not None:
        result.stats["store"] = store.stats()
        if store.derived is not None:
            result.stats["derived"] = store.derived.stats
    result.stats["timings"] = clock.timings
    result.stats["cpu_timings"] = clock.cpu
    result.stats["step_memory"] = clock.memory
    result.stats["seconds_total"] = round(time.perf_counter() - t_all, 3)
    return result
