"""Incremental-run benchmark: what a batch costs once the warehouse holds a corpus.

For each size N (``--sizes``, default 2,000 and 10,000 of the AllSides benchmark articles in
``../shared/data/corpora/allsides_baly2020.parquet``), on a fresh warehouse:

1. a full run on the first 99% of the N articles (empty warehouse);
2. a run adding the last 1% as a new file of the landing folder;
3. a run with nothing new;

each through the stages of ``wiretrace run`` (ingest -> clean -> segment -> overlap -> publish, run
in-process as ``pipeline.core.run.run_pipeline`` does), lexical tiers only unless ``--semantic``. The
three runs are repeated on another warehouse with ``reuse=False`` (every value recomputed and nothing
stored, every step done: the stages without the store), for comparison. The machine may be shared:
the timings are upper bounds. Writes ``results/bench_incremental.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from pipeline.core import warehouse
from pipeline.core.stages import stage_clean, stage_ingest, stage_overlap, stage_publish, stage_segment
from pipeline.evaluation.common import git_commit, shared_data, write_result


def run_stages(wh: Path, landing: Path, encoder, reuse: bool) -> dict:
    """One run of the five stages; seconds per stage and the overlap/publish notes."""
    con = warehouse.connect(wh / warehouse.WORK_DB_NAME)
    out: dict = {"seconds": {}, "notes": []}
    t_all = time.perf_counter()
    try:
        warehouse.ensure_schema(con)
        for name, fn in [
            ("ingest", lambda: stage_ingest(con, landing)),
            ("clean", lambda: stage_clean(con)),
            ("segment", lambda: stage_segment(con)),
            ("overlap", lambda: stage_overlap(con, encoder=encoder, reuse=reuse)),
            ("publish", lambda: stage_publish(con, wh / warehouse.ANALYST_DB_NAME, reuse=reuse)),
        ]:
            t0 = time.perf_counter()
            res = fn()
            out["seconds"][name] = round(time.perf_counter() - t0, 2)
            if name in ("overlap", "publish"):
                out["notes"] += [n for n in res.notes if "skipped" in n]
            if name == "overlap":
                out["store"] = res.extra.get("store")
                timings = res.extra.get("timings") or {}
                out["slowest"] = sorted(timings.items(), key=lambda kv: -kv[1])[:4]
                out["sentence_matches"] = res.counts.get("sentence_matches")
    finally:
        con.close()
    out["total"] = round(time.perf_counter() - t_all, 2)
    return out


def bench_size(corpus: Path, n: int, work: Path, encoder) -> list[tuple[str, dict]]:
    articles = pl.read_parquet(corpus).head(n)
    n_new = max(1, n // 100)
    rows = []
    # the same three runs with the store, then without it (every value recomputed, every step done)
    for reuse, wh_name in ((True, "wh"), (False, "wh_no_store")):
        tag = "" if reuse else ", reuse=False"
        landing = work / f"landing_{wh_name}"
        landing.mkdir(parents=True)
        articles.head(n - n_new).write_parquet(landing / "part1.parquet")
        wh = work / wh_name
        rows.append(
            (f"full run, {n - n_new} articles, empty warehouse{tag}", run_stages(wh, landing, encoder, reuse))
        )
        articles.tail(n_new).write_parquet(landing / "part2.parquet")
        rows.append((f"+{n_new} new articles (1%){tag}", run_stages(wh, landing, encoder, reuse)))
        rows.append((f"nothing new{tag}", run_stages(wh, landing, encoder, reuse)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.bench_incremental", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="2000,10000", help="comma-separated numbers of articles")
    parser.add_argument(
        "--semantic", action="store_true", help="with the semantic tier (default: lexical tiers only)"
    )
    parser.add_argument("--name", default="bench_incremental", help="result file name")
    args = parser.parse_args(argv)
    data = shared_data()
    corpus = data / "corpora" / "allsides_baly2020.parquet" if data else None
    if corpus is None or not corpus.is_file():
        print("bench_incremental skipped: ../shared/data/corpora/allsides_baly2020.parquet not found")
        return 0
    encoder = "auto" if args.semantic else None
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    cmd = "python -m pipeline.evaluation.bench_incremental " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    lines = [
        "# Incremental runs: a full run, a run adding 1% new articles, a run with nothing new",
        "",
        f"Command: `{cmd.strip()}` at commit {git_commit()}; tiers: {'semantic on' if args.semantic else 'lexical only'}.",
        f"Machine: {platform.machine()}, 2 cores shared with other jobs (timings are upper bounds), "
        f"Python {platform.python_version()}.",
        "",
        "Stages of `wiretrace run` in-process; seconds per stage; `reuse=False`: the overlap and publish "
        "stages without the store and without skipping (the behaviour before the store), on a second warehouse.",
        "",
    ]
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix="wiretrace-bench-inc-"))
        try:
            rows = bench_size(corpus, n, work, encoder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        lines += [
            f"## {n} articles",
            "",
            "| run | total (s) | % of full run | ingest | clean | segment | overlap | publish | matches | store (reused / computed) | slowest overlap steps (s) | skipped |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
        ]
        for i, (label, r) in enumerate(rows):
            full = rows[i - i % 3][1]["total"]  # the full run of the same warehouse
            s = r["seconds"]
            store = r.get("store")
            store_txt = json.dumps(store) if store else ""
            lines.append(
                f"| {label} | {r['total']} | {100 * r['total'] / full:.1f}% | {s['ingest']} | {s['clean']} | "
                f"{s['segment']} | {s['overlap']} | {s['publish']} | {r['sentence_matches']} | {store_txt} | "
                f"{', '.join(f'{k} {v}' for k, v in r.get('slowest') or [])} | {'; '.join(r['notes'])} |"
            )
            print(label, r, flush=True)
        lines.append("")
    path = write_result(args.name, "\n".join(lines) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
