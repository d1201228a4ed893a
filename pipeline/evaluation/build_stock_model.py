"""Build the shipped model of stock text (``pipeline/core/stock_model/``) from public data.

``python -m pipeline.evaluation.build_stock_model [--corpus PATH] [--out DIR] [--examples N]``

Data: the AllSides corpus (ramybaly/Article-Bias-Prediction, 37,554 US political news articles of
2012-2020 from about 490 outlet labels; ``corpora/allsides_baly2020.parquet`` in the shared data
folder). Every article is split into sentences with the project's segmenter and normalised with the
project's normaliser, exactly as the pipeline does.

Principle: wire copy of one story is republished within days; text that recurs in documents
published across many different months is formula or boilerplate, whoever wrote it. The thresholds
below were set from that principle (a phrase seen in at least a year's worth of different months
across many documents; a whole line seen in three or more different months), before any judged
sample was read, and are recorded in ``model.json``:

* stock 4-gram: occurs in at least ``NGRAM_MIN_DOCS`` documents, of at least ``NGRAM_MIN_OUTLETS``
  outlet labels, published in at least ``NGRAM_MIN_MONTHS`` distinct calendar months;
* stock sentence: a whole normalised sentence of at least 4 tokens that occurs in at least
  ``SENT_MIN_DOCS`` documents published in at least ``SENT_MIN_MONTHS`` distinct months (any outlet:
  this catches a single site's bios, promos and disclaimers), or in at least
  ``SITE_MIN_DOCS`` documents of one outlet label whatever their dates (a site's template lines,
  such as a newsletter sign-up form scraped with every article in one month: an outlet does not
  publish one sentence in that many of its own articles except as furniture).

The result is deterministic for the same corpus and the same normaliser (sorted hash arrays).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.core.normalize import normalize_tokens
from pipeline.core.segment import split_sentences
from pipeline.core.stock import MODEL_DIR, StockModel, ngram_hashes, sentence_key
from pipeline.evaluation.common import shared_data

CORPUS = Path("corpora") / "allsides_baly2020.parquet"
NGRAM_MIN_DOCS = 25
NGRAM_MIN_OUTLETS = 5
NGRAM_MIN_MONTHS = 12
SENT_MIN_DOCS = 3
SENT_MIN_MONTHS = 3
SITE_MIN_DOCS = 8


def collect(df: pl.DataFrame, examples: dict | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(ngram rows, sentence rows): one row per (hash, doc) with the doc's outlet and month."""
    ng_h, ng_d, se_h, se_d = [], [], [], []
    for d, text in enumerate(df["text"].to_list()):
        hs, ss = [], []
        for s in split_sentences(text or ""):
            toks = normalize_tokens(s.text)
            if len(toks) < 4:
                continue
            h = ngram_hashes(toks)
            hs.append(h)
            k = sentence_key(toks)
            ss.append(k)
            if examples is not None:
                examples.setdefault(k, s.text)
        if hs:
            u = np.unique(np.concatenate(hs))
            ng_h.append(u)
            ng_d.append(np.full(len(u), d, dtype=np.int32))
        if ss:
            u = np.unique(np.array(ss, dtype=np.uint64))
            se_h.append(u)
            se_d.append(np.full(len(u), d, dtype=np.int32))
    docs = df.select(
        pl.int_range(pl.len(), dtype=pl.Int32).alias("d"),
        pl.col("outlet"),
        pl.col("date_iso").str.slice(0, 7).alias("month"),
    )
    ng = pl.DataFrame({"h": np.concatenate(ng_h), "d": np.concatenate(ng_d)}).join(docs, on="d")
    se = pl.DataFrame({"h": np.concatenate(se_h), "d": np.concatenate(se_d)}).join(docs, on="d")
    return ng, se


def select(ng: pl.DataFrame, se: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    ng_stock = (
        ng.group_by("h")
        .agg(
            pl.len().alias("docs"),
            pl.col("outlet").n_unique().alias("outlets"),
            pl.col("month").drop_nulls().n_unique().alias("months"),
        )
        .filter(
            (pl.col("docs") >= NGRAM_MIN_DOCS)
            & (pl.col("outlets") >= NGRAM_MIN_OUTLETS)
            & (pl.col("months") >= NGRAM_MIN_MONTHS)
        )
    )
    se_stock = (
        se.group_by("h")
        .agg(pl.len().alias("docs"), pl.col("month").drop_nulls().n_unique().alias("months"))
        .filter((pl.col("docs") >= SENT_MIN_DOCS) & (pl.col("months") >= SENT_MIN_MONTHS))
    )
    site = (
        se.group_by("h", "outlet")
        .agg(pl.len().alias("docs"))
        .filter(pl.col("docs") >= SITE_MIN_DOCS)
        .select("h")
    )
    keys = pl.concat([se_stock.select("h"), site]).unique()
    return np.sort(ng_stock["h"].to_numpy()), np.sort(keys["h"].to_numpy())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.build_stock_model")
    ap.add_argument("--corpus", default=None, help="parquet with columns outlet, date_iso, text")
    ap.add_argument("--out", default=str(MODEL_DIR))
    ap.add_argument("--examples", type=int, default=0, help="print this many random stock sentences")
    args = ap.parse_args(argv)
    if args.corpus:
        path = Path(args.corpus)
    else:
        data = shared_data()
        if data is None:
            print("shared data not found (set WIRETRACE_SHARED_DATA); model not built")
            return 0
        path = data / CORPUS
    t = time.perf_counter()
    df = pl.read_parquet(path, columns=["id", "outlet", "date_iso", "text"]).sort("id")
    examples: dict | None = {} if args.examples else None
    ng, se = collect(df, examples)
    ngrams, sentences = select(ng, se)
    meta = {
        "corpus": "AllSides (ramybaly/Article-Bias-Prediction), " + f"{df.height} articles",
        "n": 4,
        "ngram_min_docs": NGRAM_MIN_DOCS,
        "ngram_min_outlets": NGRAM_MIN_OUTLETS,
        "ngram_min_months": NGRAM_MIN_MONTHS,
        "sentence_min_docs": SENT_MIN_DOCS,
        "sentence_min_months": SENT_MIN_MONTHS,
        "site_min_docs": SITE_MIN_DOCS,
        "n_stock_ngrams": int(len(ngrams)),
        "n_stock_sentences": int(len(sentences)),
        "n_distinct_ngrams": int(ng["h"].n_unique()),
        "n_distinct_sentences": int(se["h"].n_unique()),
        "builder": "python -m pipeline.evaluation.build_stock_model",
    }
    StockModel(ngrams, sentences, meta).save(Path(args.out))
    print(meta)
    print(f"built in {time.perf_counter() - t:.0f} s -> {args.out}")
    if examples:
        rng = np.random.default_rng(0)
        keys = np.array(list(examples), dtype=np.uint64)
        stock = keys[np.isin(keys, sentences)]
        for k in rng.choice(stock, size=min(args.examples, len(stock)), replace=False):
            print("  S:", examples[int(k)][:160])
    return 0


if __name__ == "__main__":
    sys.exit(main())
