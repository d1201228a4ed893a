"""Static encoder and semantic candidate search: quality against MiniLM, and cost on the whole corpus.

    python -m pipeline.evaluation.bench_semantic quality          # results/semantic_candidates.md
    python -m pipeline.evaluation.bench_semantic scale [--fractions 0.25 0.5 1.0] [--parallel]
                                                                  # results/bench_semantic.md
    python -m pipeline.evaluation.bench_semantic lsh              # results/semantic_lsh.md

``quality`` scores the static encoder (``pipeline.core.static_encoder``) as a *candidate scorer* next to
all-MiniLM-L6-v2, on the cosine of sentence pairs:

* MRPC train (``../shared/data/eval/paraphrase``): recall of the pairs labelled paraphrase, share of
  the pairs labelled not paraphrase that pass (MRPC's negatives are same-story look-alikes), share of
  random non-pairs (each first sentence with another pair's second) that pass, and recall of the
  paraphrases that MiniLM itself passes at the semantic tier's MiniLM threshold (0.6): what the
  static candidates must keep for MiniLM and the verifier to grade;
* the judged reworded pairs of real news (``pipeline/evaluation/data/reuse/seed*.jsonl``: paraphrase
  and near items judged ``Y``): recall;
* a week of the benchmark corpus (``--week``, 2020-06-01..07): the pairs of distinct sentences from
  different articles, how many pass each static threshold (the candidates per sentence a threshold
  implies on real news) and the recall of the pairs MiniLM scores at least 0.75 and 0.85;
* encoding speed of both encoders (sentences/s) on this machine.

The static side embeds the normalised sentence (``normalize_sentence``: the text its ``hid`` stands
for, so an embedding is a function of the ``hid`` and never of the variant seen first), centred on the
committed mean direction of news sentences (``pipeline/core/static_centre.json``), as the index does;
its cosines are therefore lower than MiniLM's for the same pairs and the thresholds are not comparable
one to one: compare recall at equal numbers of passing non-pairs.

``scale`` runs, for each fraction of the 37,554 articles (a seeded sample of documents, each in a
fresh process so that the peak memory is its own): sentence splitting and normalisation, static
encoding of the distinct sentences, band keys, postings and the candidate search within time windows;
it reports seconds per step, peak resident memory, sentences, distinct texts, postings, candidate
pairs and the candidates per text. The machine is shared while it runs: times are upper bounds.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pipeline.core import semantic_index as SI
from pipeline.core.embed import load_encoder
from pipeline.core.normalize import normalize_sentence, sentence_hash
from pipeline.core.segment import split_sentences
from pipeline.core.static_encoder import load_static_encoder
from pipeline.evaluation.common import REPO, git_commit, shared_data, write_result

CORPUS = Path("corpora") / "allsides_baly2020.parquet"
MINILM_THRESHOLD = 0.6  # the semantic tier's MiniLM candidate threshold (OverlapConfig.semantic_min_cosine)
THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
MIN_WORDS = 5  # sentences shorter than this are not indexed (the tier grades no such pair)


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024)


def _load_static():
    enc, reason = load_static_encoder()
    if enc is None:
        raise SystemExit(f"bench_semantic: {reason}")
    return enc


def _norm(texts: list[str]) -> list[str]:
    return [normalize_sentence(t) for t in texts]


def _cos(vecs: np.ndarray, index: dict[str, int], pairs: list[tuple[str, str]]) -> np.ndarray:
    a = np.array([index[p[0]] for p in pairs], dtype=np.int64)
    b = np.array([index[p[1]] for p in pairs], dtype=np.int64)
    return np.einsum("ij,ij->i", vecs[a], vecs[b]).astype(np.float64)


def _rate(encoder, texts: list[str]) -> tuple[np.ndarray, float]:
    """Vectors (centred for the static encoder, as the index uses them) and sentences/s."""
    t0 = time.perf_counter()
    v = encoder.encode(texts, centred=True) if hasattr(encoder, "centre") else encoder.encode(texts)
    return v, len(texts) / max(1e-9, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------ quality


def _seed_pairs() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {"paraphrase": [], "near": []}
    for f in sorted(glob.glob(str(REPO / "pipeline" / "evaluation" / "data" / "reuse" / "seed*.jsonl"))):
        for line in Path(f).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("item") == "sentence_match" and r.get("kind") in out and r.get("label") == "Y":
                out[r["kind"]].append((r["text_a"], r["text_b"]))
    return out


def _week(data: Path) -> tuple[list[str], list[int]]:
    df = pl.read_parquet(data / CORPUS, columns=["id", "date_iso", "text"])
    df = df.with_columns(pl.col("date_iso").str.to_date(strict=False).alias("d"))
    df = df.filter(pl.col("d").is_between(pl.date(2020, 6, 1), pl.date(2020, 6, 7))).sort("id")
    texts: list[str] = []
    docs: list[int] = []
    for i, t in enumerate(df["text"].to_list()):
        for s in split_sentences(t or ""):
            if len(s.text.split()) >= MIN_WORDS:
                texts.append(s.text)
                docs.append(i)
    return texts, docs


def quality(args: argparse.Namespace) -> int:
    data = shared_data()
    mrpc_path = data / "eval" / "paraphrase" / "mrpc_train.jsonl" if data else None
    if mrpc_path is None or not mrpc_path.is_file():
        print("bench_semantic quality skipped: shared evaluation data not found", file=sys.stderr)
        return 2
    static = _load_static()
    minilm, reason = load_encoder()
    if minilm is None:
        print(f"bench_semantic quality skipped: {reason}", file=sys.stderr)
        return 2
    rows = [json.loads(x) for x in mrpc_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    pairs = [(r["s1"], r["s2"]) for r in rows]
    y = np.array([int(r["label"]) for r in rows])
    perm = np.random.default_rng(13).permutation(len(pairs))
    rnd = [(pairs[i][0], pairs[j][1]) for i, j in enumerate(perm) if i != j]
    seeds = _seed_pairs()
    texts = sorted({t for p in pairs for t in p} | {t for v in seeds.values() for p in v for t in p})
    index = {t: i for i, t in enumerate(texts)}
    sv, s_rate = _rate(static, _norm(texts))
    mv, m_rate = _rate(minilm, texts)
    lines = [
        "# Static encoder as a candidate scorer, against all-MiniLM-L6-v2",
        "",
        f"Command: `python -m pipeline.evaluation.bench_semantic quality{' --week' if args.week else ''}` "
        f"at commit {git_commit()}; static table {static.path.name if static.path else '?'}.",
        "",
        f"Encoding speed on this machine ({os.cpu_count()} CPUs, shared with other jobs: lower bounds), "
        f"{len(texts)} distinct sentences: static {s_rate:,.0f} sentences/s (tokenizer included), "
        f"MiniLM {m_rate:,.0f} sentences/s (2 torch threads).",
        "",
    ]
    lines += _mrpc_table(sv, mv, index, pairs, rnd, y)
    lines += _seed_table(sv, mv, index, seeds)
    if args.week:
        lines += _week_table(data, static, minilm)
    text = "\n".join(lines) + "\n"
    print(text)
    write_result("semantic_candidates", text)
    return 0


def _mrpc_table(sv, mv, index, pairs, rnd, y) -> list[str]:
    cs, cm = _cos(sv, index, pairs), _cos(mv, index, pairs)
    rs, rm = _cos(sv, index, rnd), _cos(mv, index, rnd)
    pos, neg = y == 1, y == 0
    m_found = pos & (cm >= MINILM_THRESHOLD)
    out = [
        f"## MRPC train: {len(y)} pairs ({int(pos.sum())} paraphrase), {len(rnd)} random non-pairs",
        "",
        f"MiniLM at its candidate threshold {MINILM_THRESHOLD}: recall {np.mean(cm[pos] >= MINILM_THRESHOLD):.3f}, "
        f"negatives passing {np.mean(cm[neg] >= MINILM_THRESHOLD):.3f}, random non-pairs passing "
        f"{np.mean(rm >= MINILM_THRESHOLD):.4f}.",
        "",
        "| cosine >= t | static: recall | static: recall of MiniLM's (>= 0.6) | static: negatives pass | "
        "static: random pass | MiniLM: recall | MiniLM: negatives pass | MiniLM: random pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in THRESHOLDS:
        out.append(
            f"| {t:.2f} | {np.mean(cs[pos] >= t):.3f} | {np.mean(cs[m_found] >= t):.3f} | "
            f"{np.mean(cs[neg] >= t):.3f} | {np.mean(rs >= t):.4f} | {np.mean(cm[pos] >= t):.3f} | "
            f"{np.mean(cm[neg] >= t):.3f} | {np.mean(rm >= t):.4f} |"
        )
    out.append("")
    return out


def _seed_table(sv, mv, index, seeds) -> list[str]:
    out = [
        "## Judged reworded pairs of real news (reuse samples, label Y)",
        "",
        "| kind | pairs | static min cosine | static recall at 0.4 / 0.45 / 0.5 / 0.55 | "
        "MiniLM min cosine | MiniLM recall at 0.6 |",
        "|---|---|---|---|---|---|",
    ]
    for kind, pairs in seeds.items():
        if not pairs:
            continue
        cs, cm = _cos(sv, index, pairs), _cos(mv, index, pairs)
        rec = " / ".join(f"{np.mean(cs >= t):.2f}" for t in (0.4, 0.45, 0.5, 0.55))
        out.append(
            f"| {kind} | {len(pairs)} | {cs.min():.3f} | {rec} | {cm.min():.3f} | {np.mean(cm >= 0.6):.2f} |"
        )
    out.append("")
    return out


def _week_table(data: Path, static, minilm) -> list[str]:
    texts, docs = _week(data)
    uniq = sorted(set(texts))
    index = {t: i for i, t in enumerate(uniq)}
    doc_sets: dict[int, set[int]] = {}
    for t, d in zip(texts, docs, strict=True):
        doc_sets.setdefault(index[t], set()).add(d)
    sv, _ = _rate(static, _norm(uniq))
    mv, m_rate = _rate(minilm, uniq)
    n = len(uniq)
    ss = sv @ sv.T
    ms = mv @ mv.T
    iu = np.triu_indices(n, 1)
    s_pairs, m_pairs = ss[iu], ms[iu]
    # pairs of texts that occur only in one and the same document are not candidates
    single = np.array([next(iter(doc_sets[i])) if len(doc_sets[i]) == 1 else -1 for i in range(n)])
    other = ~((single[iu[0]] >= 0) & (single[iu[0]] == single[iu[1]]))
    s_pairs, m_pairs = s_pairs[other], m_pairs[other]
    out = [
        f"## A week of the benchmark corpus (2020-06-01..07): {n} distinct sentences of >= {MIN_WORDS} words, "
        f"{len(s_pairs):,} pairs from different articles",
        "",
        f"MiniLM embedded them at {m_rate:,.0f} sentences/s. Pairs MiniLM scores >= 0.75: "
        f"{int(np.sum(m_pairs >= 0.75)):,}; >= 0.85: {int(np.sum(m_pairs >= 0.85)):,}.",
        "",
        "| static cosine >= t | pairs passing | per sentence | recall of MiniLM >= 0.75 | recall of MiniLM >= 0.85 |",
        "|---|---|---|---|---|",
    ]
    hi75, hi85 = m_pairs >= 0.75, m_pairs >= 0.85
    for t in THRESHOLDS:
        p = s_pairs >= t
        out.append(
            f"| {t:.2f} | {int(p.sum()):,} | {2 * p.sum() / n:.1f} | "
            f"{np.mean(p[hi75]) if hi75.any() else float('nan'):.3f} | "
            f"{np.mean(p[hi85]) if hi85.any() else float('nan'):.3f} |"
        )
    out.append("")
    return out


def lsh(args: argparse.Namespace) -> int:
    """Band keys against the exhaustive search on a week of the corpus (no MiniLM needed)."""
    data = shared_data()
    if data is None or not (data / CORPUS).is_file():
        print("bench_semantic lsh skipped: the benchmark corpus is not in the shared data folder")
        return 2
    static = _load_static()
    texts, docs = _week(data)
    uniq = sorted(set(_norm(texts)))
    n = len(uniq)
    emb = SI.embed(pl.DataFrame({"hid": np.arange(n, dtype=np.int64), "text": uniq}), static)
    q = emb["emb"].to_numpy().astype(np.float32)
    sq = np.einsum("ij,ij->i", q, q)
    cos = (q @ q.T) / np.sqrt(np.outer(sq, sq))
    iu = np.triu_indices(n, 1)
    lines = [
        "# Band keys (random-hyperplane LSH) against the exhaustive window search",
        "",
        f"Command: `python -m pipeline.evaluation.bench_semantic lsh` at commit {git_commit()}. A week of the "
        f"benchmark corpus (2020-06-01..07): {n} distinct normalised sentences of >= {MIN_WORDS} words, all "
        "inside one window, so the exhaustive search finds every pair above the threshold; band keys find "
        "the pairs that also share a key. Checked = pairs sharing a key (their cosine is computed).",
        "",
        "| static cosine >= t | pairs (exhaustive) | bits x bands | recall of the band keys | checked per text |",
        "|---|---|---|---|---|",
    ]
    for t in (0.45, 0.55, 0.65):
        truth = cos[iu] >= t
        for bits, bands in ((8, 32), (10, 32), (12, 64), (16, 32)):
            cfg = SI.IndexConfig(bits=bits, bands=bands)
            sig = SI.signatures(emb, cfg)
            keys = sig.sort("hid", "band")["key"].to_numpy().reshape(n, bands)
            shared = np.zeros(len(iu[0]), dtype=bool)
            for b in range(bands):
                shared |= keys[iu[0], b] == keys[iu[1], b]
            lines.append(
                f"| {t:.2f} | {int(truth.sum()):,} | {bits} x {bands} | {np.mean(shared[truth]):.3f} | "
                f"{2 * shared.sum() / n:.0f} |"
            )
    lines.append("")
    text = "\n".join(lines) + "\n"
    print(text)
    write_result("semantic_lsh", text)
    return 0


# ------------------------------------------------------------------------------------------ scale


def _stable_int64(hexes: pl.Series) -> pl.Series:
    return pl.Series(
        "hid", [int.from_bytes(bytes.fromhex(h), "big", signed=True) for h in hexes.to_list()], pl.Int64
    )


def run_fraction(fraction: float, cfg: SI.IndexConfig, seed: int = 7) -> dict[str, Any]:
    """One measurement (meant to run in its own process): see the module docstring."""
    data = shared_data()
    assert data is not None
    res: dict[str, Any] = {"fraction": fraction}
    t0 = time.perf_counter()
    df = pl.read_parquet(data / CORPUS, columns=["id", "date_iso", "text"]).sort("id")
    if fraction < 1.0:
        df = df.sample(fraction=fraction, seed=seed).sort("id")
    ids, dates, bodies = df["id"].to_list(), df["date_iso"].to_list(), df["text"].to_list()
    del df
    hid_hex: list[str] = []
    norms: list[str] = []
    occ_doc: list[str] = []
    occ_day: list[str | None] = []
    for doc, day, body in zip(ids, dates, bodies, strict=True):
        for s in split_sentences(body or ""):
            norm = normalize_sentence(s.text)
            if norm.count(" ") + 1 < MIN_WORDS:
                continue
            hid_hex.append(sentence_hash(norm))
            norms.append(norm)
            occ_doc.append(doc)
            occ_day.append(day)
    del bodies
    res["documents"] = len(ids)
    res["sentences"] = len(hid_hex)
    hid = _stable_int64(pl.Series(hid_hex))
    del hid_hex
    occ = pl.DataFrame(
        {"hid": hid, "doc": occ_doc, "day": pl.Series(occ_day, dtype=pl.String).str.to_date(strict=False)}
    ).with_columns(pl.col("day").cast(pl.Int32))
    texts = pl.DataFrame({"hid": hid, "text": norms}).unique("hid", keep="first").sort("hid")
    del norms, occ_doc, occ_day
    res["texts"] = texts.height
    res["undated_share"] = round(float(occ["day"].null_count()) / max(1, occ.height), 4)
    res["seconds_split_normalise"] = round(time.perf_counter() - t0, 1)
    res["peak_after_split_gib"] = round(_peak_gib(), 2)

    encoder = _load_static()
    t0, c0 = time.perf_counter(), time.process_time()
    emb = SI.embed(texts, encoder)
    res["seconds_encode"] = round(time.perf_counter() - t0, 1)
    res["cpu_encode"] = round(time.process_time() - c0, 1)
    res["peak_after_encode_gib"] = round(_peak_gib(), 2)
    res["encode_rate"] = round(texts.height / max(1e-9, res["seconds_encode"]))
    del texts
    t0, c0 = time.perf_counter(), time.process_time()
    sigs = SI.signatures(emb, cfg) if cfg.uses_band_keys else None
    posts = SI.postings(occ)
    res["seconds_keys_postings"] = round(time.perf_counter() - t0, 1)
    res["cpu_keys_postings"] = round(time.process_time() - c0, 1)
    res["peak_after_keys_gib"] = round(_peak_gib(), 2)
    res["postings"] = posts.height
    res["signature_rows"] = 0 if sigs is None else sigs.height
    t0, c0 = time.perf_counter(), time.process_time()
    cand = SI.candidates(sigs, posts, emb, cfg)
    res["seconds_search"] = round(time.perf_counter() - t0, 1)
    res["cpu_search"] = round(time.process_time() - c0, 1)
    res["peak_after_search_gib"] = round(_peak_gib(), 2)
    undated = posts.filter(pl.col("day").is_null()).select("hid").unique()
    res["candidates_with_undated_text"] = cand.filter(
        pl.col("hid_a").is_in(undated["hid"].implode()) | pl.col("hid_b").is_in(undated["hid"].implode())
    ).height
    res["candidates"] = cand.height
    res["candidates_per_text"] = round(2 * cand.height / max(1, res["texts"]), 2)
    res["peak_rss_gib"] = round(_peak_gib(), 2)
    res["load_average_1min"] = round(os.getloadavg()[0], 1)
    return res


def scale(args: argparse.Namespace) -> int:
    data = shared_data()
    if data is None or not (data / CORPUS).is_file():
        print("bench_semantic scale skipped: ../shared/data/corpora/allsides_baly2020.parquet not found")
        return 2
    _load_static()
    cfg = SI.IndexConfig(undated=args.undated)
    results = []
    # one process per fraction (its own peak memory); --parallel starts them together (shorter, but
    # they then share the CPUs: wall times grow, CPU seconds and memory do not)
    procs = []
    for f in args.fractions:
        cmd = [
            sys.executable,
            "-m",
            "pipeline.evaluation.bench_semantic",
            "_one",
            str(f),
            "--undated",
            args.undated,
        ]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        procs.append((p, time.perf_counter()))
        if not args.parallel:
            procs[-1] = (p, procs[-1][1], *p.communicate(), time.perf_counter())
    for item in procs:
        if args.parallel:
            p, t0 = item
            out, err = p.communicate()
            t1 = time.perf_counter()
        else:
            p, t0, out, err, t1 = item
        if p.returncode != 0:
            print(err, file=sys.stderr)
            return 1
        r = json.loads(out.strip().splitlines()[-1])
        r["seconds_total"] = round(t1 - t0, 1)
        print(json.dumps(r), flush=True)
        results.append(r)
    cols = [
        ("fraction", "fraction"),
        ("documents", "documents"),
        ("sentences", "sentences (>= 5 words)"),
        ("texts", "distinct texts"),
        ("seconds_split_normalise", "split + normalise s"),
        ("seconds_encode", "static encode s"),
        ("cpu_encode", "(CPU s)"),
        ("encode_rate", "texts/s"),
        ("seconds_keys_postings", "band keys + postings s"),
        ("cpu_keys_postings", "(CPU s)"),
        ("seconds_search", "candidate search s"),
        ("cpu_search", "(CPU s)"),
        ("candidates", "candidate pairs"),
        ("candidates_per_text", "per text"),
        ("candidates_with_undated_text", "with an undated text"),
        ("peak_after_split_gib", "peak after split GiB"),
        ("peak_after_encode_gib", "after encode"),
        ("peak_after_keys_gib", "after keys"),
        ("peak_rss_gib", "peak RSS GiB"),
        ("seconds_total", "process s"),
        ("load_average_1min", "load avg at end"),
    ]
    lines = [
        "# Semantic candidates on the benchmark corpus: static encoding, band keys, search",
        "",
        f"Command: `python -m pipeline.evaluation.bench_semantic scale --fractions {' '.join(map(str, args.fractions))}"
        f"{' --parallel' if args.parallel else ''} --undated {args.undated}` "
        f"at commit {git_commit()}; each fraction is a seeded sample of the 37,554 AllSides articles, run in "
        f"its own process. {os.cpu_count()} CPUs shared with other jobs while it ran: times are upper bounds.",
        "",
        f"Index: static cosine >= {cfg.min_cosine}, exhaustive search within {cfg.window_days} publication days "
        f"for dated documents; undated documents: {cfg.undated}"
        f"{f' ({cfg.bands} bands x {cfg.bits} bits)' if cfg.uses_band_keys else ''}; sentences of at least "
        f"{MIN_WORDS} normalised words.",
        "",
        "| " + " | ".join(c[1] for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for r in results:
        lines.append("| " + " | ".join(f"{r.get(k, '')}" for k, _ in cols) + " |")
    lines.append("")
    text = "\n".join(lines) + "\n"
    print(text)
    write_result("bench_semantic", text)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.bench_semantic", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quality", help="static encoder vs MiniLM as a candidate scorer")
    q.add_argument(
        "--week", action="store_true", help="also score a week of the benchmark corpus (slow: MiniLM)"
    )
    s = sub.add_parser("scale", help="encoding, band keys and search on fractions of the corpus")
    s.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    s.add_argument("--parallel", action="store_true", help="run the fractions at the same time")
    s.add_argument(
        "--undated", choices=["skip", "band_keys"], default="skip", help="rule for undated documents"
    )
    sub.add_parser("lsh", help="band keys against the exhaustive search on a week of the corpus")
    one = sub.add_parser("_one", help=argparse.SUPPRESS)
    one.add_argument("fraction", type=float)
    one.add_argument("--undated", choices=["skip", "band_keys"], default="skip")
    args = ap.parse_args(argv)
    if args.cmd == "quality":
        return quality(args)
    if args.cmd == "scale":
        return scale(args)
    if args.cmd == "lsh":
        return lsh(args)
    print(json.dumps(run_fraction(args.fraction, SI.IndexConfig(undated=args.undated))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
