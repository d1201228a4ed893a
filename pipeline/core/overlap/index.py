"""The index of matchable sentences that every candidate tier works on.

``elig``: one row per matchable sentence (neither too short nor common), with ``sidx`` (its number, in
sentence_id order), ``didx`` (its document's number, in doc_id order), ``hid`` (the number of its
distinct normalised text, in norm_hash order) and ``is_quote``; ``hashes``: one row per distinct
normalised text (``hid``, ``norm_hash``, the text, normalised text and sentence_id of its first
sentence, ``g`` sentences); ``doc_rank``: (doc_id, didx) of every document. Candidate pairs are pairs
of ``hid`` numbers; document pairs are pairs of ``didx`` numbers (``da < db``)."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl


class SentenceIndex(NamedTuple):
    elig: pl.DataFrame
    hashes: pl.DataFrame
    doc_rank: pl.DataFrame


def build_index(docs: pl.DataFrame, sents: pl.DataFrame, flags: pl.DataFrame) -> SentenceIndex:
    """The index of the sentences ``flags`` marks matchable. ``elig`` holds no text: each distinct
    text is held once, in ``hashes`` (the representative texts are gathered from ``sents``, not
    copied per sentence)."""
    keep = [c for c in sents.columns if c not in ("text", "norm")]
    matchable = flags.filter(pl.col("matchable")).select("sentence_id", "is_quote")
    # the first matchable sentence (in sentence_id order) of each distinct normalised text, by row
    firsts = (
        sents.select("sentence_id", "norm_hash")
        .with_row_index("_row")
        .join(matchable.select("sentence_id"), on="sentence_id")
        .group_by("norm_hash")
        .agg(
            pl.col("_row").get(pl.col("sentence_id").arg_min()).alias("_row"),
            pl.col("sentence_id").min().alias("rep_sid"),
            pl.len().alias("g"),
        )
        .sort("norm_hash")
    )
    rows = firsts["_row"]
    hashes = (
        firsts.select(
            "norm_hash",
            "rep_sid",
            sents["text"].gather(rows).alias("rep_text"),
            sents["norm"].gather(rows).alias("rep_norm"),
            "g",
        )
        .with_row_index("hid")
        .with_columns(pl.col("hid").cast(pl.Int64))
    )
    doc_rank = docs.select("doc_id").with_row_index("didx").with_columns(pl.col("didx").cast(pl.Int64))
    elig = (
        sents.select(keep)
        .join(matchable, on="sentence_id")
        .join(hashes.select("norm_hash", "hid"), on="norm_hash")
        .join(doc_rank, on="doc_id")
        .sort("sentence_id")
        .with_row_index("sidx")
        .with_columns(pl.col("sidx").cast(pl.Int64))
    )
    return SentenceIndex(elig, hashes, doc_rank)


def doc_pair_numbers(frame: pl.DataFrame, doc_rank: pl.DataFrame, col_a: str, col_b: str) -> pl.DataFrame:
    """``frame`` with ``da`` and ``db``: the smaller and larger document numbers of its ``col_a`` and
    ``col_b`` document ids."""
    ids = doc_rank.select("doc_id", "didx")
    return (
        frame.join(ids.rename({"doc_id": col_a, "didx": "_da"}), on=col_a)
        .join(ids.rename({"doc_id": col_b, "didx": "_db"}), on=col_b)
        .with_columns(
            pl.min_horizontal("_da", "_db").alias("da"), pl.max_horizontal("_da", "_db").alias("db")
        )
        .drop("_da", "_db")
    )


def both_ways(doc_pairs: pl.DataFrame) -> pl.DataFrame:
    """(didx, od): every document pair (da, db) oriented both ways."""
    return pl.concat(
        [
            doc_pairs.select(pl.col("da").alias("didx"), pl.col("db").alias("od")),
            doc_pairs.select(pl.col("db").alias("didx"), pl.col("da").alias("od")),
        ]
    )
