"""Input checking and preparation: the documents and sentences frames, checked for their required
columns and brought to one typed, deduplicated, sorted form."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.core.overlap.schemas import DOC_REQUIRED, DT, SENT_REQUIRED


def check_columns(df: pl.DataFrame, required: Sequence[str], name: str) -> None:
    """Raise ``TypeError`` for anything but a polars frame, ``ValueError`` naming missing columns."""
    if not isinstance(df, pl.DataFrame):
        raise TypeError(f"{name} must be a polars DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}")


def _published_at(documents: pl.DataFrame) -> pl.Expr:
    """``published_at`` as a naive UTC datetime, from a string, a naive or a time-zone aware column."""
    pub = pl.col("published_at")
    dtype = documents.schema["published_at"]
    if dtype == pl.String:
        return pub.str.to_datetime(strict=False)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return pub.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return pub


def prepare_documents(documents: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, source, published_at, published_at_precision, url), first row per doc_id, sorted."""
    check_columns(documents, DOC_REQUIRED, "documents")
    return (
        documents.select(
            pl.col("doc_id").cast(pl.String),
            pl.col("source").cast(pl.String).fill_null(""),
            _published_at(documents).cast(DT).alias("published_at"),
            (
                pl.col("published_at_precision").cast(pl.String)
                if "published_at_precision" in documents.columns
                else pl.lit(None, dtype=pl.String)
            ).alias("published_at_precision"),
            (
                pl.col("url").cast(pl.String) if "url" in documents.columns else pl.lit(None, dtype=pl.String)
            ).alias("url"),
        )
        .filter(pl.col("doc_id").is_not_null())
        .unique("doc_id", keep="first", maintain_order=True)
        .sort("doc_id")
    )


def sorted_unique(ids: pl.Series) -> bool:
    """Whether ``ids`` (no nulls) is in strictly ascending order."""
    return ids.len() < 2 or bool((ids.slice(1) > ids.slice(0, ids.len() - 1)).all())


def prepare_sentences(sentences: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    """Sentences of known documents with their document's source and date, first row per
    sentence_id, sorted; an empty normalised sentence gets a hash of its own.

    Sentences already in that form (every sentence_id present, unique and ascending, every document
    known) are not copied: the result shares their columns (the overlap stage reads them so, to hold
    the corpus's texts once)."""
    check_columns(sentences, SENT_REQUIRED, "sentences")
    base = sentences.select(
        pl.col("sentence_id").cast(pl.String),
        pl.col("doc_id").cast(pl.String),
        pl.col("index").cast(pl.Int64),
        pl.col("start").cast(pl.Int64),
        pl.col("end").cast(pl.Int64),
        pl.col("text").cast(pl.String).fill_null(""),
        pl.col("norm").cast(pl.String).fill_null(""),
        pl.col("norm_hash").cast(pl.String),
        pl.col("n_tokens").cast(pl.Int64).fill_null(0),
    )
    info = docs.select("doc_id", "source", "published_at")
    clean = base["sentence_id"].null_count() == 0 and sorted_unique(base["sentence_id"])
    if clean:
        # source and date looked up per sentence; the text columns are left where they are
        looked = base.select("doc_id").join(info, on="doc_id", how="left", maintain_order="left")
        clean = looked["source"].null_count() == 0  # a known document's source is never null
    if clean:
        out = base.hstack([looked["source"], looked["published_at"]])
    else:
        out = (
            base.filter(pl.col("sentence_id").is_not_null())
            .unique("sentence_id", keep="first", maintain_order=True)
            .join(info, on="doc_id", how="inner")
            .sort("sentence_id")
        )
    return out.with_columns(
        # an empty normalised sentence has no identity: give it its own hash so it never groups
        pl.when(pl.col("norm_hash").is_null() | (pl.col("norm").str.len_chars() == 0))
        .then(pl.lit("\x00") + pl.col("sentence_id"))
        .otherwise(pl.col("norm_hash"))
        .alias("norm_hash")
    )


def prepare_inputs(documents: pl.DataFrame, sentences: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The prepared documents and sentences (see :func:`prepare_documents`, :func:`prepare_sentences`)."""
    docs = prepare_documents(documents)
    return docs, prepare_sentences(sentences, docs)
