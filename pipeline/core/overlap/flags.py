"""Sentence flags: quotation share, too short, common (boilerplate, stock text, recurring templates).

A sentence is matchable when it is neither too short (fewer than ``min_tokens`` tokens) nor common;
``sentence_flags`` documents each flag (see ``pipeline.core.overlap``). Common is decided twice: first
for identical normalised sentences (:func:`sentence_flags`), then for families of near-identical
sentences linked by graded MinHash matches (:func:`template_families`, :func:`mark_templates`), after
which template sentences leave every tier."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.core.overlap.common import components
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.inputs import sorted_unique
from pipeline.core.overlap.schemas import FLAGS_SCHEMA
from pipeline.core.overlap.store import OverlapStore
from pipeline.core.stock import stock_reasons

__all__ = ["quote_share", "quote_shares", "sentence_flags", "template_families", "mark_templates"]

# ------------------------------------------------------------------------------------------ quotes

_HAS_QUOTE = r"[\"“”„«»]"
_BALANCED = r'"[^"]*"|“[^“”]*”|„[^“”„]*[“”]|«[^«»]*»'
_ALNUM = r"[^\W_]"


def quote_shares(texts: pl.Series) -> pl.Series:
    """Vectorised :func:`quote_share` over a string Series (Float64, 0.0 for null or empty)."""
    t = texts.cast(pl.String).fill_null("")
    f = pl.DataFrame({"t": t}).select(
        pl.col("t").str.count_matches(_ALNUM).alias("total"),
        pl.col("t").str.extract_all(_BALANCED).list.join("").str.count_matches(_ALNUM).alias("q1"),
        pl.col("t").str.replace_all(_BALANCED, "\x00").alias("r"),
    )
    f = f.with_columns(
        # a closing mark with no opening one before it: the quotation began in an earlier sentence
        pl.col("r").str.extract(r"^([^“„«\"]*?)[”»]", 1).str.count_matches(_ALNUM).fill_null(0).alias("q2"),
        # a lone straight quote with only punctuation after it closes an earlier quotation
        pl.col("r")
        .str.extract(r'^([^“„«"”»]*)"[^\w]*$', 1)
        .str.count_matches(_ALNUM)
        .fill_null(0)
        .alias("q3"),
        # an opening mark never closed: the quotation runs to the end of the sentence
        pl.col("r").str.extract(r'[“„«"]([^”»"]*)$', 1).str.count_matches(_ALNUM).fill_null(0).alias("q4"),
    )
    share = (
        pl.when(pl.col("total") > 0)
        .then(((pl.col("q1") + pl.col("q2") + pl.col("q3") + pl.col("q4")) / pl.col("total")).clip(0.0, 1.0))
        .otherwise(0.0)
    )
    return f.select(share.alias("quote_share"))["quote_share"].cast(pl.Float64)


def quote_share(text: str) -> float:
    """Share of the letters and digits of ``text`` that sit inside quotation marks.

    Straight double quotes, curly double quotes, low quotes and guillemets are recognised (single
    quotes are not: they double as apostrophes). A quote opened and never closed runs to the end (a
    quotation continuing in the next sentence); a closing mark with no opening one, or a last
    straight quote followed only by punctuation, means the quotation started before the sentence.
    """
    return float(quote_shares(pl.Series([text], dtype=pl.String))[0])


def _quote_share_column(sents: pl.DataFrame) -> pl.Series:
    """``quote_share`` of every sentence (computed only for sentences holding a quotation mark)."""
    has_q = sents["text"].str.contains(_HAS_QUOTE).fill_null(False)
    shares = np.zeros(sents.height, dtype=np.float64)
    idx = np.flatnonzero(has_q.to_numpy())
    if len(idx):
        shares[idx] = quote_shares(sents["text"].gather(idx)).to_numpy()
    return pl.Series("quote_share", shares, dtype=pl.Float64)


# ------------------------------------------------------------------------------------------ common


def _source_sizes(docs: pl.DataFrame) -> pl.DataFrame:
    """(source, src_docs): documents per outlet."""
    return docs.group_by("source").agg(pl.len().alias("src_docs"))


def common_groups(gd: pl.DataFrame, src_size: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(grp, common) for rows (grp, doc_id, source): a group is common when it occurs in at least
    max(common_min_docs_per_source, ceil(common_min_share_of_source * D)) documents of one outlet
    with D documents, or in common_min_docs_any_share documents of one outlet, or in documents of
    at least common_min_sources outlets."""
    gd = gd.unique()
    per_src = (
        gd.group_by("grp", "source")
        .agg(pl.len().alias("n"))
        .join(src_size, on="source")
        .with_columns(
            (
                pl.col("n")
                >= pl.max_horizontal(
                    pl.lit(cfg.common_min_docs_per_source),
                    (pl.col("src_docs") * cfg.common_min_share_of_source).ceil().cast(pl.Int64),
                )
            ).alias("c")
        )
        .group_by("grp")
        .agg(pl.col("c").any().alias("c_src"), pl.len().alias("n_src"), pl.col("n").max().alias("n_max"))
    )
    return per_src.select(
        "grp",
        (
            pl.col("c_src")
            | (pl.col("n_max") >= cfg.common_min_docs_any_share)
            | (pl.col("n_src") >= cfg.common_min_sources)
        ).alias("common"),
    )


def _edge(sents: pl.DataFrame) -> pl.Series:
    """Whether each sentence is among its document's first two or last three (positional cues)."""
    return sents.select(
        ((pl.col("index") < 2) | (pl.col("index") >= pl.col("index").max().over("doc_id") - 2)).alias("edge")
    ).to_series()


def trait_keys(sents: pl.DataFrame, edge: pl.Series) -> pl.DataFrame:
    """(tk1, tk2): two 64-bit hashes (Int64) of each sentence's text, normalised text and position cue
    (``edge``, see :func:`_edge`), everything its traits (:func:`sentence_traits`) depend on; the key
    under which ``OverlapStore`` keeps them (with the polars version, whose hash function this is)."""
    parts = pl.struct(pl.col("text").fill_null(""), pl.col("norm").fill_null(""), pl.col("edge"))
    return (
        sents.select("text", "norm")
        .with_columns(edge.alias("edge"))
        .select(
            parts.hash(seed=1).reinterpret(signed=True).alias("tk1"),
            parts.hash(seed=2).reinterpret(signed=True).alias("tk2"),
        )
    )


#: sentences per chunk of :func:`sentence_traits`
TRAIT_CHUNK_ROWS = 100_000


def sentence_traits(sents: pl.DataFrame, edge: pl.Series) -> pl.DataFrame:
    """(quote_share, stock_reason) of every sentence: the flags that depend on the sentence alone (its
    text, normalised text and position cue ``edge``), not on the rest of the corpus. ``stock_reason``:
    ``pipeline.core.stock`` (the shipped model of stock text and structural cues); positional cues
    (bios) apply to a document's first two and last three sentences. Computed in chunks of
    ``TRAIT_CHUNK_ROWS`` sentences (the traits of a sentence depend on its own row alone), which bounds
    the memory of the text operations."""
    if sents.height > TRAIT_CHUNK_ROWS:
        return pl.concat(
            [
                sentence_traits(sents.slice(lo, TRAIT_CHUNK_ROWS), edge.slice(lo, TRAIT_CHUNK_ROWS))
                for lo in range(0, sents.height, TRAIT_CHUNK_ROWS)
            ]
        )
    return pl.DataFrame(
        [_quote_share_column(sents), stock_reasons(sents["text"], sents["norm"], edge).alias("stock_reason")]
    )


def _traits(sents: pl.DataFrame, store: OverlapStore | None) -> pl.DataFrame:
    """:func:`sentence_traits` of every sentence, the stored ones reused from ``store`` and the others
    computed (and added to it)."""
    edge = _edge(sents)
    if store is None:
        return sentence_traits(sents, edge)
    keys = trait_keys(sents, edge)
    found = store.stored_traits(keys)
    todo = np.flatnonzero(found["quote_share"].is_null().to_numpy())
    if len(todo) == 0:
        return found.select("quote_share", "stock_reason")
    new = sentence_traits(sents[todo], edge.gather(todo))
    store.add_traits(keys[todo], new)
    return found.select(
        found["quote_share"].scatter(todo, new["quote_share"]),
        found["stock_reason"].scatter(todo, new["stock_reason"]),
    )


def sentence_flags(
    docs: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig, store: OverlapStore | None = None
) -> pl.DataFrame:
    """The ``sentence_flags`` table before templates are known (see :func:`mark_templates`); the
    sentences' own traits (:func:`sentence_traits`) come from ``store`` when it holds them."""
    hd = sents.select("norm_hash", "doc_id", "source").unique()
    per_hash = hd.group_by("norm_hash").agg(
        pl.len().cast(pl.Int64).alias("n_docs_same_hash"),
        pl.col("source").n_unique().cast(pl.Int64).alias("n_sources_same_hash"),
    )
    per_src = common_groups(hd.rename({"norm_hash": "grp"}), _source_sizes(docs), cfg).rename(
        {"grp": "norm_hash"}
    )
    base = sents.select("sentence_id", "doc_id", "norm_hash", "n_tokens").with_columns(_traits(sents, store))
    # the per-text counts looked up row by row and set beside the sentences' own columns: the flags of
    # sentences already in sentence_id order (as prepared) share their id columns instead of copying them
    looked = (
        base.select("norm_hash")
        .join(per_hash, on="norm_hash", how="left", maintain_order="left")
        .join(per_src, on="norm_hash", how="left", maintain_order="left")
        .drop("norm_hash")
    )
    flags = (
        base.hstack(looked)
        .with_columns(
            (pl.col("quote_share") >= cfg.quote_min_share).alias("is_quote"),
            (pl.col("n_tokens") < cfg.min_tokens).alias("too_short"),
            (pl.col("common").fill_null(False) | pl.col("stock_reason").is_not_null()).alias("is_common"),
        )
        .with_columns((~pl.col("too_short") & ~pl.col("is_common")).alias("matchable"))
        .select(list(FLAGS_SCHEMA))
    )
    if not sorted_unique(flags["sentence_id"]):
        flags = flags.sort("sentence_id")
    return flags.cast(FLAGS_SCHEMA)


# ------------------------------------------------------------------------------------------ templates


def template_families(
    graded: pl.DataFrame, elig: pl.DataFrame, docs: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    """Distinct sentences (hid) that belong to a recurring template: a family of near-identical
    sentences (connected by graded MinHash matches) that is common by the same rule as identical
    sentences, e.g. "Read or Share this story: <link>" under every article of one outlet."""
    if graded.height == 0:
        return pl.DataFrame(schema={"hid": pl.Int64})
    nodes = pl.concat(
        [graded.select(pl.col("hid_a").alias("hid")), graded.select(pl.col("hid_b").alias("hid"))]
    )
    nodes = nodes.unique().sort("hid").with_row_index("node")
    ea = graded.select(pl.col("hid_a").alias("hid")).join(nodes, on="hid", how="left", maintain_order="left")
    eb = graded.select(pl.col("hid_b").alias("hid")).join(nodes, on="hid", how="left", maintain_order="left")
    labels = components(
        ea["node"].to_numpy().astype(np.int64), eb["node"].to_numpy().astype(np.int64), nodes.height
    )
    fam = nodes.with_columns(pl.Series("grp", labels, dtype=pl.Int64)).select("hid", "grp")
    gd = elig.select("hid", "doc_id", "source").join(fam, on="hid").select("grp", "doc_id", "source")
    common = common_groups(gd, _source_sizes(docs), cfg).filter(pl.col("common"))
    return fam.join(common, on="grp", how="semi").select("hid").sort("hid")


def mark_templates(
    tmpl: pl.DataFrame,
    flags: pl.DataFrame,
    elig: pl.DataFrame,
    graded_near: pl.DataFrame,
    exact_pairs: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Template sentences ``tmpl`` (hid) become common: ``flags`` updated, and they leave the index
    ``elig``, the graded MinHash pairs and the exact pairs (returned in that order)."""
    if tmpl.height == 0:
        return flags, elig, graded_near, exact_pairs
    t_sids = elig.join(tmpl, on="hid", how="semi").select("sentence_id")
    flags = flags.with_columns(
        (pl.col("is_common") | pl.col("sentence_id").is_in(t_sids["sentence_id"].implode())).alias(
            "is_common"
        )
    ).with_columns((~pl.col("too_short") & ~pl.col("is_common")).alias("matchable"))
    elig = elig.join(tmpl, on="hid", how="anti")
    graded_near = graded_near.join(tmpl.rename({"hid": "hid_a"}), on="hid_a", how="anti").join(
        tmpl.rename({"hid": "hid_b"}), on="hid_b", how="anti"
    )
    exact_pairs = exact_pairs.join(t_sids.rename({"sentence_id": "sid_l"}), on="sid_l", how="anti").join(
        t_sids.rename({"sentence_id": "sid_r"}), on="sid_r", how="anti"
    )
    return flags, elig, graded_near, exact_pairs
