"""From graded hash pairs to the ``sentence_matches`` table.

:func:`expand` turns graded pairs of distinct normalised sentences into sentence pairs in different
documents; :func:`finalise_matches` orients each pair (``doc_id_a < doc_id_b``), keeps the strongest
grade of a pair, applies the many-to-many rule and fills the signal columns of identical pairs;
:func:`relations` adds the document-level evidence (``pipeline.core.evidence``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import polars as pl

from pipeline.core.evidence import classify_matches
from pipeline.core.overlap.common import empty, representatives
from pipeline.core.overlap.config import KIND_RANK, OverlapConfig
from pipeline.core.overlap.schemas import MATCH_BASE, MATCH_EVIDENCE, MATCH_TAIL, SIGNALS
from pipeline.core.overlap.store import EvidenceStore

#: value an identical pair takes for each signal (identical pairs are not graded): 1.0 for the
#: similarity signals, 0.0 for these conflict signals; ``verifier`` stays null and ``cosine`` is 1.0
#: only with the semantic tier
EXACT_SIGNAL = {
    "len_diff": 0.0,
    "content_unmatched": 0.0,
    "num_conflict": 0.0,
    "num_extra": 0.0,
    "name_conflict": 0.0,
    "name_extra": 0.0,
    "conflict": 0.0,
}


# ------------------------------------------------------------------------------------------ expand


def _link_representatives(
    big: pl.DataFrame, base: pl.DataFrame, left: pl.DataFrame, right: pl.DataFrame
) -> list[pl.DataFrame]:
    """Sentence pairs of graded hash pairs whose groups are too big to pair out: each side's
    sentences linked to the other side's representative."""
    reps = representatives(base, "hid").join(
        base.select(pl.col("sentence_id").alias("rep_sid"), "didx"), on="rep_sid"
    )
    rl = reps.rename({"hid": "hid_a", "rep_sid": "sid_l", "rep_doc": "doc_l", "didx": "d_l"})
    rr = reps.rename({"hid": "hid_b", "rep_sid": "sid_r", "rep_doc": "doc_r", "didx": "d_r"})
    return [big.join(rl, on="hid_a").join(right, on="hid_b"), big.join(left, on="hid_a").join(rr, on="hid_b")]


def expand(
    graded: pl.DataFrame, elig: pl.DataFrame, cfg: OverlapConfig, restrict: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Sentence pairs (sid_l, sid_r, then the graded columns) for graded hash pairs, in different
    documents; a pair of groups whose product exceeds ``expand_max_pairs`` is linked through each
    group's representative instead of pairwise.

    ``restrict``: optional (da, db) document pairs; when given, only sentence pairs in those document
    pairs are produced (used for the blocked paraphrase and the semantic tiers).
    """
    if graded.height == 0:
        return graded.select(
            pl.lit(None, dtype=pl.String).alias("sid_l"),
            pl.lit(None, dtype=pl.String).alias("sid_r"),
            pl.all(),
        ).clear()
    base = elig.select("sentence_id", "doc_id", "hid", "published_at", "didx")
    g = base.group_by("hid").agg(pl.len().alias("g"))
    gr = graded.join(g.rename({"hid": "hid_a", "g": "g_a"}), on="hid_a").join(
        g.rename({"hid": "hid_b", "g": "g_b"}), on="hid_b"
    )
    small = gr.filter(pl.col("g_a") * pl.col("g_b") <= cfg.expand_max_pairs)
    big = gr.filter(pl.col("g_a") * pl.col("g_b") > cfg.expand_max_pairs)
    left = base.rename(
        {"sentence_id": "sid_l", "doc_id": "doc_l", "hid": "hid_a", "published_at": "p_l", "didx": "d_l"}
    )
    right = base.rename(
        {"sentence_id": "sid_r", "doc_id": "doc_r", "hid": "hid_b", "published_at": "p_r", "didx": "d_r"}
    )
    parts = [small.join(left, on="hid_a").join(right, on="hid_b")]
    if big.height:
        parts.extend(_link_representatives(big, base, left, right))
    out = pl.concat(parts, how="diagonal_relaxed").filter(pl.col("doc_l") != pl.col("doc_r"))
    if restrict is not None:
        ra = restrict.select(pl.col("da").alias("d_l"), pl.col("db").alias("d_r"))
        rb = restrict.select(pl.col("db").alias("d_l"), pl.col("da").alias("d_r"))
        out = out.join(pl.concat([ra, rb]).unique(), on=["d_l", "d_r"], how="semi")
    keep = ["sid_l", "sid_r"] + [c for c in graded.columns if c not in ("hid_a", "hid_b")]
    return out.select(keep).unique(["sid_l", "sid_r"], keep="first")


# ------------------------------------------------------------------------------------------ finalise


def match_schema() -> dict[str, pl.DataType]:
    """Columns of ``sentence_matches`` before the evidence columns, as the table registry declares
    them: the base columns, one column per grader signal (null where the signal was not computed, e.g.
    ``cosine`` and ``verifier`` when their tier did not run), then the tail."""
    return {**MATCH_BASE, **{k: pl.Float64 for k in SIGNALS}, **MATCH_TAIL}


def _oriented(raw: pl.DataFrame, elig: pl.DataFrame) -> pl.DataFrame:
    """Raw sentence pairs with both sentences' document, index, source and quotation flag, oriented so
    that ``doc_id_a <= doc_id_b``, with ``_rank`` (the kind's rank) and ``same_source``."""
    info = elig.select("sentence_id", "doc_id", "index", "source", "is_quote")

    def side(suffix: str, sid: str) -> pl.DataFrame:
        return info.rename({c: c + suffix for c in info.columns if c != "sentence_id"}).rename(
            {"sentence_id": sid}
        )

    m = raw.join(side("_l", "sid_l"), on="sid_l").join(side("_r", "sid_r"), on="sid_r")
    swap = pl.col("doc_id_l") > pl.col("doc_id_r")

    def pick(a: str, b: str) -> pl.Expr:
        return pl.when(swap).then(pl.col(b)).otherwise(pl.col(a))

    return m.with_columns(
        pick("sid_l", "sid_r").alias("sentence_id_a"),
        pick("sid_r", "sid_l").alias("sentence_id_b"),
        pick("doc_id_l", "doc_id_r").alias("doc_id_a"),
        pick("doc_id_r", "doc_id_l").alias("doc_id_b"),
        pick("index_l", "index_r").alias("index_a"),
        pick("index_r", "index_l").alias("index_b"),
        pick("source_l", "source_r").alias("source_a"),
        pick("source_r", "source_l").alias("source_b"),
        (pl.col("is_quote_l") | pl.col("is_quote_r")).alias("is_quote"),
        pl.col("kind").replace_strict(KIND_RANK, return_dtype=pl.Int8).alias("_rank"),
    ).with_columns((pl.col("source_a") == pl.col("source_b")).alias("same_source"))


def _best_partner(m: pl.DataFrame, side: str, other: str) -> pl.DataFrame:
    """(sentence_id_a, sentence_id_b) of the best partner of each ``side`` sentence in each document of
    the ``other`` side: highest kind, then score, then smallest sentence id."""
    ordered = m.sort(
        [f"sentence_id_{side}", f"doc_id_{other}", "_rank", "score", f"sentence_id_{other}"],
        descending=[False, False, True, True, False],
    )
    return (
        ordered.group_by(f"sentence_id_{side}", f"doc_id_{other}", maintain_order=True)
        .first()
        .select("sentence_id_a", "sentence_id_b")
    )


def _fill_exact_signals(m: pl.DataFrame, signal_cols: Sequence[str], semantic_on: bool) -> pl.DataFrame:
    """Signal columns (added when missing) with the values of identical pairs (tier ``exact``)."""
    is_exact_tier = pl.col("tier") == "exact"
    fills = []
    for k in signal_cols:
        if k not in m.columns:
            m = m.with_columns(pl.lit(None, dtype=pl.Float64).alias(k))
        if k == "cosine":
            v = 1.0 if semantic_on else None
        else:
            v = None if k == "verifier" else EXACT_SIGNAL.get(k, 1.0)
        fills.append(pl.when(is_exact_tier).then(pl.lit(v, dtype=pl.Float64)).otherwise(pl.col(k)).alias(k))
    return m.with_columns(fills)


def finalise_matches(raw: pl.DataFrame, elig: pl.DataFrame, semantic_on: bool) -> pl.DataFrame:
    """The ``sentence_matches`` rows (without the evidence columns) from raw sentence pairs.

    Many-to-many rule: between two documents a sentence keeps only its best partner (highest kind,
    then score, then smallest sentence_id); a pair is kept when it is the best for either of its two
    sentences. ``semantic_on``: identical pairs get cosine 1.0 (else null)."""
    schema = match_schema()
    if raw.height == 0:
        return empty(schema)
    m = _oriented(raw, elig)
    # exact evidence wins over a graded duplicate of the same pair
    m = m.sort(
        ["sentence_id_a", "sentence_id_b", "_rank", "score"], descending=[False, False, True, True]
    ).unique(["sentence_id_a", "sentence_id_b"], keep="first", maintain_order=True)
    # many-to-many: keep a pair when it is the best partner of either sentence in the other document
    keep = pl.concat([_best_partner(m, "a", "b"), _best_partner(m, "b", "a")]).unique()
    m = m.join(keep, on=["sentence_id_a", "sentence_id_b"], how="semi")
    signals = [k for k in schema if k not in MATCH_BASE and k not in MATCH_TAIL]
    m = _fill_exact_signals(m, signals, semantic_on)
    return m.select(list(schema)).cast(schema).sort("sentence_id_a", "sentence_id_b")


# ------------------------------------------------------------------------------------------ evidence


def doc_sizes(elig: pl.DataFrame) -> pl.DataFrame:
    """Matchable sentences per document (doc_id, n_matchable)."""
    return elig.group_by("doc_id").agg(pl.len().cast(pl.Int64).alias("n_matchable"))


def relations(
    matches: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig, sizes: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Matches with ``novel_ngrams``, ``stock_cover`` and ``relation`` (see pipeline.core.evidence), and
    per document pair the aligned chain (``n_aligned``, ``aligned_weight``, ``shares_text``);
    ``sizes``: matchable sentences per document (:func:`doc_sizes`)."""
    m = classify_matches(matches, sents.select("sentence_id", "norm"), cfg.evidence, doc_sizes=sizes)
    pairs = m.select("doc_id_a", "doc_id_b", "n_aligned", "aligned_weight", "shares_text").unique(
        ["doc_id_a", "doc_id_b"]
    )
    schema = dict(matches.schema) | MATCH_EVIDENCE
    return m.select(list(schema)).cast(schema).sort("sentence_id_a", "sentence_id_b"), pairs


class KnownEvidence(NamedTuple):
    """The evidence columns of matches computed earlier in the run (:func:`relations` of the
    preliminary matches the semantic tier starts from) and the document pairs whose matches changed
    since (``changed``: doc_id_a, doc_id_b; the semantic tier's focus pairs)."""

    matches: pl.DataFrame
    pair_evidence: pl.DataFrame
    changed: pl.DataFrame


def relations_reusing(
    matches: pl.DataFrame,
    sents: pl.DataFrame,
    cfg: OverlapConfig,
    sizes: pl.DataFrame,
    known: KnownEvidence | None,
    stored: EvidenceStore | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`relations`, computed only for the document pairs whose matches changed since ``known``
    and taken from ``known`` for the others. Every evidence value is a function of its document
    pair's matches (the relation of a match, its novel n-grams and stock cover, the pair's aligned
    chain), so the result is that of :func:`relations` on all the matches; a pair ``known`` lacks a
    row of is computed too (or read from ``stored``, see :func:`relations_stored`)."""
    if known is None or matches.height == 0:
        return relations_stored(matches, sents, cfg, sizes, stored)
    keys = ["sentence_id_a", "sentence_id_b"]
    pair = ["doc_id_a", "doc_id_b"]
    ev_cols = list(MATCH_EVIDENCE)
    out = matches.join(known.changed, on=pair, how="anti").join(
        known.matches.select(*keys, *ev_cols), on=keys, how="left"
    )
    missing = out.filter(pl.col("relation").is_null()).select(pair).unique()
    redo = pl.concat([known.changed.select(pair), missing]).unique()
    inside = matches.join(redo, on=pair, how="semi")
    m_in, pe_in = relations_stored(inside, sents, cfg, sizes, stored)
    schema = dict(matches.schema) | MATCH_EVIDENCE
    m_out = out.join(redo, on=pair, how="anti").select(list(schema)).cast(schema)
    pe_out = known.pair_evidence.join(redo, on=pair, how="anti").join(
        m_out.select(pair).unique(), on=pair, how="semi"
    )
    merged = pl.concat([m_in, m_out]).sort(keys)
    return merged, pl.concat([pe_in, pe_out.select(pe_in.columns).cast(pe_in.schema)])


# ------------------------------------------------------------------ evidence kept between runs

#: the pair-level evidence columns (``relations``' second frame, without the pair's ids)
PAIR_EVIDENCE = ("n_aligned", "aligned_weight", "shares_text")
#: two seeds: a pair's digest is two 64-bit hashes
_DIGEST_SEEDS = (0x5EED_0001, 0x5EED_0002)


def pair_digests(matches: pl.DataFrame, sents: pl.DataFrame, sizes: pl.DataFrame) -> pl.DataFrame:
    """(doc_id_a, doc_id_b, pair_digest): per document pair of ``matches``, a digest of everything
    :func:`relations` reads of it: its match rows (every column, in sentence-id order), the normalised
    text of their sentences and the matchable sentences of both documents (``sizes``). Two pairs with
    the same digest have the same evidence (under one ``store.evidence_key``)."""
    norm = sents.select("sentence_id", pl.col("norm").hash(_DIGEST_SEEDS[0]).alias("_n"))
    size = sizes.select("doc_id", pl.col("n_matchable").cast(pl.Int64))
    # in sentence-id order after the joins (a join does not promise an order): each pair's list of row
    # hashes, hence its digest, depends on its rows alone
    m = (
        matches.join(
            norm.rename({"sentence_id": "sentence_id_a", "_n": "_na"}), on="sentence_id_a", how="left"
        )
        .join(norm.rename({"sentence_id": "sentence_id_b", "_n": "_nb"}), on="sentence_id_b", how="left")
        .sort("sentence_id_a", "sentence_id_b")
    )
    row = pl.struct([*matches.columns, "_na", "_nb"])
    m = m.select(
        "doc_id_a",
        "doc_id_b",
        *(row.hash(seed).alias(f"_h{i}") for i, seed in enumerate(_DIGEST_SEEDS)),
    )
    per = (
        m.group_by("doc_id_a", "doc_id_b", maintain_order=True)
        .agg(pl.len().alias("_len"), pl.col("_h0"), pl.col("_h1"))
        .join(size.rename({"doc_id": "doc_id_a", "n_matchable": "_sa"}), on="doc_id_a", how="left")
        .join(size.rename({"doc_id": "doc_id_b", "n_matchable": "_sb"}), on="doc_id_b", how="left")
    )
    whole = pl.struct("doc_id_a", "doc_id_b", "_len", "_h0", "_h1", "_sa", "_sb")
    return per.select(
        "doc_id_a",
        "doc_id_b",
        pl.concat_str([whole.hash(seed).cast(pl.String) for seed in _DIGEST_SEEDS], separator="-").alias(
            "pair_digest"
        ),
    )


def relations_stored(
    matches: pl.DataFrame,
    sents: pl.DataFrame,
    cfg: OverlapConfig,
    sizes: pl.DataFrame,
    stored: EvidenceStore | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`relations`, with the evidence of each document pair whose digest (:func:`pair_digests`)
    an earlier run stored read from ``stored`` and the others computed (and added to ``stored``). The
    evidence of a pair is a function of what its digest covers, so the result is that of
    :func:`relations` on all the matches."""
    if stored is None or matches.height == 0:
        return relations(matches, sents, cfg, sizes)
    keys = ["sentence_id_a", "sentence_id_b"]
    pair = ["doc_id_a", "doc_id_b"]
    digests = pair_digests(matches, sents, sizes)
    found = stored.lookup(digests["pair_digest"]).join(digests, on=[*pair, "pair_digest"], how="semi")
    # a stored pair holds exactly the pair's matches (its digest covers them): every row is found
    hit = found.select(*pair).unique()
    todo = matches.join(hit, on=pair, how="anti")
    m_in, pe_in = relations(todo, sents, cfg, sizes)
    if m_in.height:
        stored.add(
            m_in.select(*keys, *pair, *MATCH_EVIDENCE)
            .join(pe_in, on=pair, how="left")
            .join(digests, on=pair, how="left")
        )
    schema = dict(matches.schema) | MATCH_EVIDENCE
    m_hit = (
        matches.join(hit, on=pair, how="semi")
        .join(found.select(*keys, *MATCH_EVIDENCE), on=keys, how="left")
        .select(list(schema))
        .cast(schema)
    )
    pe_hit = found.select(*pair, *PAIR_EVIDENCE).unique(pair).cast(dict(pe_in.schema))
    merged = pl.concat([m_in.select(list(schema)), m_hit]).sort(keys)
    return merged, pl.concat([pe_in, pe_hit.select(pe_in.columns)])
