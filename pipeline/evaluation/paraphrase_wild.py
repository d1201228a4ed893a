"""The paraphrase tier on in-the-wild negatives: independently written articles on the same story.

MRPC's negatives were pre-selected to look alike, so a grader tuned on MRPC says little about what
happens when two reporters cover the same event: their sentences state the same facts in different
words, and a sentence-level matcher links them. This evaluation measures how often wiretrace calls
such independent coverage *reuse*.

``python -m pipeline.evaluation.paraphrase_wild [--pairs 200] [--seed 404] [--lexical]``

Negatives (from the AllSides corpus in the shared data folder; no labels needed): two articles from
different outlet labels, published on the same day, about the same story (cosine of their
IDF-weighted content-word sets at least ``SAME_STORY_COSINE``), that share no run of
``SHARED_RUN_WORDS`` identical words outside quotation marks (so no copied sentence or wire paragraph:
the two were written independently, quoting the same speakers at most; a heavy rewording of common text could slip in, which makes the measured
rate an upper bound). ``--pairs`` such pairs are drawn at random (``--seed``; not a judged seed), their
articles are run through ``compute_overlap`` together with the defaults (semantic tier and verifier on
when installed), and for the drawn pairs the script counts:

* pairs with at least one paraphrase match (what a sentence-level matcher would report as a link);
* paraphrase matches by relation (reuse / same_fact / stock / quote);
* pairs said to share text (``relation = 'reuse'``): false reuse on independent coverage.

The report is written to ``pipeline/evaluation/results/paraphrase_wild.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl

from pipeline.core.normalize import STOPWORDS, normalize_sentence, sentence_hash
from pipeline.core.overlap import DOCUMENTS_SCHEMA, SENTENCES_SCHEMA, compute_overlap
from pipeline.core.segment import split_sentences
from pipeline.evaluation.common import git_commit, shared_data, show_result

CORPUS = Path("corpora") / "allsides_baly2020.parquet"
SAME_STORY_COSINE = 0.3
SHARED_RUN_WORDS = 10
_QUOTED = re.compile(r"[\"“][^\"“”]*[\"”]")
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall((text or "").lower())


def _runs(words: list[str], n: int) -> set[int]:
    return {hash(tuple(words[i : i + n])) for i in range(max(0, len(words) - n + 1))}


def same_story_independent_pairs(
    df: pl.DataFrame, rng: random.Random, limit: int
) -> list[tuple[int, int, float]]:
    """Random same-day, same-story, cross-outlet pairs with no shared run of words."""
    words = [_words(t) for t in df["text"].to_list()]
    # runs of shared words are looked for outside quotations: two reporters quote the same speaker
    unquoted = [_words(_QUOTED.sub(" ", t or "")) for t in df["text"].to_list()]
    content = [{w for w in ws if w not in STOPWORDS and len(w) > 2 and not w.isdigit()} for ws in words]
    dfreq = Counter(w for c in content for w in c)
    n = len(content)
    idf = {w: math.log(n / c) for w, c in dfreq.items()}
    norm = [math.sqrt(sum(idf[w] ** 2 for w in c)) or 1.0 for c in content]
    by_day: dict[str, list[int]] = {}
    for i, d in enumerate(df["date_iso"].to_list()):
        if d:
            by_day.setdefault(d, []).append(i)
    outlets = df["outlet"].to_list()
    cands = []
    for _day, idx in sorted(by_day.items()):
        for x in range(len(idx)):
            for y in range(x + 1, len(idx)):
                i, j = idx[x], idx[y]
                if outlets[i] == outlets[j]:
                    continue
                shared = content[i] & content[j]
                if len(shared) < 10:
                    continue
                cos = sum(idf[w] ** 2 for w in shared) / (norm[i] * norm[j])
                if cos >= SAME_STORY_COSINE:
                    cands.append((i, j, cos))
    rng.shuffle(cands)
    out = []
    used: set[int] = set()
    for i, j, cos in cands:
        if i in used or j in used:
            continue
        if _runs(unquoted[i], SHARED_RUN_WORDS) & _runs(unquoted[j], SHARED_RUN_WORDS):
            continue
        out.append((i, j, cos))
        used.update((i, j))
        if len(out) >= limit:
            break
    return out


def frames(df: pl.DataFrame, rows: list[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    d_rows, s_rows = [], []
    for r in sorted(set(rows)):
        rec = df.row(r, named=True)
        doc_id = rec["id"]
        d_rows.append(
            {
                "doc_id": doc_id,
                "source": rec["outlet"],
                "published_at": None,
                "title": rec["title"],
                "n_chars": len(rec["text"] or ""),
            }
        )
        for k, s in enumerate(split_sentences(rec["text"] or "")):
            nn = normalize_sentence(s.text)
            s_rows.append(
                {
                    "sentence_id": f"{doc_id}:{k}",
                    "doc_id": doc_id,
                    "index": k,
                    "paragraph": s.paragraph,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "norm": nn,
                    "norm_hash": sentence_hash(nn),
                    "n_tokens": len(nn.split()),
                }
            )
    return pl.DataFrame(d_rows, schema=DOCUMENTS_SCHEMA), pl.DataFrame(s_rows, schema=SENTENCES_SCHEMA)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.paraphrase_wild")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=404)
    ap.add_argument("--lexical", action="store_true", help="without the semantic tier")
    ap.add_argument(
        "--dump", default=None, help="write the pairs said to share text, with their matches, as JSONL"
    )
    args = ap.parse_args(argv)
    data = shared_data()
    if data is None:
        print("shared data not found (set WIRETRACE_SHARED_DATA); skipped")
        return 0
    t0 = time.perf_counter()
    df = pl.read_parquet(data / CORPUS, columns=["id", "outlet", "date_iso", "title", "text"]).sort("id")
    pairs = same_story_independent_pairs(df, random.Random(args.seed), args.pairs)
    docs, sents = frames(df, [x for i, j, _ in pairs for x in (i, j)])
    res = compute_overlap(docs, sents, encoder=None if args.lexical else "auto")
    ids = df["id"].to_list()
    wanted = {tuple(sorted((ids[i], ids[j]))) for i, j, _ in pairs}
    m = res.sentence_matches.with_columns(
        pl.concat_list("doc_id_a", "doc_id_b").list.sort().list.join("|").alias("_k")
    ).filter(pl.col("_k").is_in(["|".join(k) for k in wanted]))
    para = m.filter(pl.col("kind") == "paraphrase")
    pairs_with_para = para["_k"].n_unique()
    dp = res.document_pairs.with_columns(
        pl.concat_list("doc_id_a", "doc_id_b").list.sort().list.join("|").alias("_k")
    ).filter(pl.col("_k").is_in(["|".join(k) for k in wanted]))
    reuse_pairs = dp.filter(pl.col("relation") == "reuse").height
    by_rel = dict(para.group_by("relation").len().iter_rows())
    all_by_rel = dict(m.group_by("relation").len().iter_rows())
    sem = res.stats.get("semantic", {})
    lines = [
        "# Paraphrase tier on in-the-wild negatives (independent same-story coverage)",
        "",
        f"Command: `python -m pipeline.evaluation.paraphrase_wild --pairs {args.pairs} --seed {args.seed}"
        + (" --lexical" if args.lexical else "")
        + f"` at commit {git_commit()}; {time.perf_counter() - t0:.0f} s.",
        "",
        f"Negatives: {len(pairs)} pairs of AllSides articles from different outlet labels, same day, same story "
        f"(IDF content-word cosine >= {SAME_STORY_COSINE}), no shared run of {SHARED_RUN_WORDS} words outside "
        f"quotation marks; "
        f"{docs.height} articles, {sents.height} sentences.",
        f"Semantic tier: {sem.get('reason')}; focus pairs: {res.stats.get('semantic_focus_pairs', 0)}; "
        f"verifier: {res.stats.get('verifier', {}).get('reason')}.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| pairs with at least one paraphrase match (a sentence-level link) | {pairs_with_para} of {len(pairs)} |",
        f"| paraphrase matches in these pairs | {para.height} |",
        f"| ... of which relation reuse | {by_rel.get('reuse', 0)} |",
        f"| ... same_fact | {by_rel.get('same_fact', 0)} |",
        f"| ... stock | {by_rel.get('stock', 0)} |",
        f"| ... quote | {by_rel.get('quote', 0)} |",
        f"| all matches in these pairs by relation | {all_by_rel} |",
        f"| **pairs said to share text (false reuse)** | **{reuse_pairs} of {len(pairs)}** |",
        "",
    ]
    if reuse_pairs:
        lines.append(
            "Pairs said to share text (read them: a false positive or common text the filter missed):"
        )
        for k in dp.filter(pl.col("relation") == "reuse")["_k"].to_list():
            lines.append(f"- {k}")
    if args.dump:
        texts = dict(zip(sents["sentence_id"].to_list(), sents["text"].to_list(), strict=True))
        titles = dict(zip(docs["doc_id"].to_list(), docs["title"].to_list(), strict=True))
        with open(args.dump, "w", encoding="utf-8") as fh:
            for k in dp.filter(pl.col("relation") == "reuse")["_k"].to_list():
                a, b = k.split("|")
                rows = m.filter((pl.col("_k") == k) & (pl.col("relation") == "reuse")).sort("index_a")
                fh.write(
                    json.dumps(
                        {
                            "pair": k,
                            "title_a": titles.get(a),
                            "title_b": titles.get(b),
                            "matches": [
                                {
                                    "kind": r["kind"],
                                    "a": texts[r["sentence_id_a"]],
                                    "b": texts[r["sentence_id_b"]],
                                }
                                for r in rows.iter_rows(named=True)
                            ],
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    out = "\n".join(lines) + "\n"
    show_result("paraphrase_wild" + ("_lexical" if args.lexical else ""), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
