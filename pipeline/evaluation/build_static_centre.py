"""The mean direction of news sentences for the static encoder (``pipeline/core/static_centre.json``).

    python -m pipeline.evaluation.build_static_centre [--articles 3000] [--seed 11]

Static sentence vectors share a large common component (the mean of AllSides sentences has length
about 0.55 among unit vectors), so raw cosines of unrelated news sentences are high and random
hyperplanes split them badly. Subtracting a fixed mean direction before scaling to unit length
(``StaticEncoder.encode(..., centred=True)``) removes it. The centre must be a constant, not a statistic
of the corpus being analysed, or the embeddings of a batch would depend on the other batches: it is
computed once here, from a seeded sample of AllSides articles (outside the week 2020-06-01..07 that
``bench_semantic quality --week`` scores), and committed (256 numbers). Deterministic for a given static
table; rebuild it whenever the static encoder's recipe changes (the file records the recipe version and
the encoder ignores a centre of another version).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.core.normalize import normalize_sentence
from pipeline.core.segment import split_sentences
from pipeline.core.static_encoder import CENTRE_PATH, load_static_encoder
from pipeline.evaluation.common import git_commit, shared_data

CORPUS = Path("corpora") / "allsides_baly2020.parquet"
MIN_WORDS = 5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.build_static_centre", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    data = shared_data()
    if data is None or not (data / CORPUS).is_file():
        print("build_static_centre: the AllSides corpus is not in the shared data folder", file=sys.stderr)
        return 2
    enc, reason = load_static_encoder()
    if enc is None:
        print(f"build_static_centre: {reason}", file=sys.stderr)
        return 2
    df = pl.read_parquet(data / CORPUS, columns=["id", "date_iso", "text"]).sort("id")
    df = df.filter(~pl.col("date_iso").fill_null("").is_between(pl.lit("2020-06-01"), pl.lit("2020-06-07")))
    df = df.sample(n=min(args.articles, df.height), seed=args.seed).sort("id")
    texts = sorted(
        {
            n
            for body in df["text"].to_list()
            for s in split_sentences(body or "")
            if len((n := normalize_sentence(s.text)).split()) >= MIN_WORDS
        }
    )
    vecs = enc.encode(texts)
    centre = vecs.astype(np.float64).mean(axis=0)
    out = {
        "recipe_version": enc.meta["recipe_version"],
        "dims": enc.dim,
        "articles": df.height,
        "sentences": len(texts),
        "seed": args.seed,
        "command": f"python -m pipeline.evaluation.build_static_centre --articles {args.articles} --seed {args.seed}",
        "commit": git_commit(),
        "norm": round(float(np.linalg.norm(centre)), 4),
        "centre": [round(float(x), 6) for x in centre],
    }
    CENTRE_PATH.write_text(json.dumps(out, indent=0) + "\n", encoding="utf-8")
    print(
        f"centre of {len(texts)} distinct sentences of {df.height} articles (norm {out['norm']}) -> {CENTRE_PATH.name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
