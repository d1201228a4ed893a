"""Whole-pipeline benchmark on the AllSides corpus (37,554 articles): ``make bench``.

Runs ingest -> clean -> segment -> overlap -> publish in-process on
``../shared/data/corpora/allsides_baly2020.parquet`` and reports wall time per stage, peak memory
(max RSS), sentence and candidate-pair counts and the cross-outlet document pairs found, with examples.
The semantic tier's added cost is measured separately (``--semantic``) by rerunning the overlap stage
with the embedding encoder on the same working database.

Options: ``--limit N`` for a quick run on the first N articles; ``--keep DIR`` to keep the warehouse.
Skips with a message when the shared data is absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pipeline.core import warehouse
from pipeline.core.embed import semantic_status
from pipeline.core.overlap import OverlapConfig
from pipeline.core.stages import stage_clean, stage_ingest, stage_overlap, stage_publish, stage_segment
from pipeline.evaluation.common import git_commit, shared_data, write_result


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (0 = all)")
    parser.add_argument("--semantic", action="store_true", help="also measure the semantic tier's added cost")
    parser.add_argument(
        "--semantic-max",
        type=int,
        default=0,
        help="raise the semantic tier's cap on candidate sentences (default: the stage's own)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the warehouse in this folder")
    parser.add_argument("--name", default=None, help="result file name (default bench or bench_limit<N>)")
    args = parser.parse_args(argv)

    data = shared_data()
    corpus = data / "corpora" / "allsides_baly2020.parquet" if data else None
    if corpus is None or not corpus.is_file():
        print(
            "bench skipped: ../shared/data/corpora/allsides_baly2020.parquet not found (set WIRETRACE_SHARED_DATA)"
        )
        return 0

    import duckdb
    import polars as pl

    work = args.keep or Path(tempfile.mkdtemp(prefix="wiretrace-bench-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    landing = work / "landing"
    landing.mkdir(parents=True)
    if args.limit:
        pl.read_parquet(corpus).head(args.limit).write_parquet(landing / "allsides.parquet")
    else:
        shutil.copyfile(corpus, landing / "allsides.parquet")  # ingest refuses links leading outside its folder

    stages: list[tuple[str, float, dict, float]] = []

    def progress(stage: str, done: int, total: int) -> None:
        if total and (done == total or done % 20000 == 0):
            print(f"  {stage}: {done}/{total}", flush=True)

    con = warehouse.connect(work / "wh" / "work.duckdb")
    t_all = time.perf_counter()
    for name, fn in [
        ("ingest", lambda: stage_ingest(con, landing, progress=progress)),
        ("clean", lambda: stage_clean(con, progress)),
        ("segment", lambda: stage_segment(con, progress)),
        ("overlap", lambda: stage_overlap(con, progress, encoder=None)),
        ("publish", lambda: stage_publish(con, work / "wh" / "wiretrace.duckdb")),
    ]:
        t0 = time.perf_counter()
        res = fn()
        stages.append((name, time.perf_counter() - t0, res.counts, peak_rss_gib()))
        print(f"{name:>8}: {stages[-1][1]:8.1f}s  peak RSS {stages[-1][3]:.2f} GiB  {res.counts}", flush=True)
        if name == "overlap":
            overlap_stats = res.extra
    total = time.perf_counter() - t_all

    semantic_line = "not measured (run with --semantic)"
    if args.semantic:
        ok, why = semantic_status()
        if ok:
            config = OverlapConfig(semantic_max_sentences=args.semantic_max) if args.semantic_max else None
            t0 = time.perf_counter()
            res = stage_overlap(con, progress, encoder="auto", config=config)
            dt = time.perf_counter() - t0
            sem = res.extra.get("semantic", {})
            semantic_line = (
                f"overlap with the semantic tier: {dt:.1f}s (lexical only: {stages[3][1]:.1f}s, "
                f"added {dt - stages[3][1]:.1f}s); peak RSS {peak_rss_gib():.2f} GiB; "
                f"matches {res.counts.get('sentence_matches')} (lexical only: "
                f"{stages[3][2].get('sentence_matches')}); semantic tier: {json.dumps(sem)}"
            )
        else:
            semantic_line = f"semantic tier unavailable: {why}"
        print(semantic_line)

    pub = duckdb.connect(str(work / "wh" / "wiretrace.duckdb"), read_only=True)
    n_docs = pub.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0]
    n_sent = pub.sql("SELECT count(*) FROM staging.sentences").fetchall()[0][0]
    kinds = pub.sql("SELECT kind, count(*) FROM marts.sentence_matches GROUP BY 1 ORDER BY 1").fetchall()
    pairs = pub.sql(
        """SELECT count(*) FILTER (WHERE NOT same_source), count(*) FROM marts.document_pairs"""
    ).fetchall()[0]
    examples = pub.sql(
        """SELECT p.*, da.source AS outlet_a, db.source AS outlet_b, da.title AS title_a, db.title AS title_b
           FROM marts.document_pairs p
           JOIN raw.documents da ON da.doc_id = p.doc_id_a JOIN raw.documents db ON db.doc_id = p.doc_id_b
           WHERE NOT p.same_source
           ORDER BY (p.n_exact + p.n_near) DESC, p.doc_id_a, p.doc_id_b LIMIT 8"""
    ).pl()
    pub.close()
    con.close()

    scope = f"first {args.limit} articles" if args.limit else "full corpus"
    limit_flag = f" --limit {args.limit}" if args.limit else ""
    lines = [
        f"# Whole-pipeline benchmark ({scope})",
        "",
        f"Command: `python -m pipeline.evaluation.bench{limit_flag}"
        f"{' --semantic' if args.semantic else ''}` at commit {git_commit()} (`make bench` runs the full corpus).",
        f"Machine: {platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}.",
        "",
        f"Documents: {n_docs}; sentences: {n_sent}; total wall time {total:.1f}s; peak RSS {peak_rss_gib():.2f} GiB.",
        "",
        "| stage | wall time (s) | peak RSS after stage (GiB) | counts |",
        "|---|---:|---:|---|",
    ]
    for name, secs, counts, rss in stages:
        lines.append(f"| {name} | {secs:.1f} | {rss:.2f} | {json.dumps(counts)[:300]} |")
    lines += [
        "",
        "Overlap statistics: `" + json.dumps(overlap_stats, default=str)[:1500] + "`",
        "",
        "Matches by kind: " + ", ".join(f"{k}={v}" for k, v in kinds),
        "",
        f"Document pairs sharing at least one match: {pairs[1]} (cross-outlet: {pairs[0]}).",
        "",
        f"Semantic tier: {semantic_line}",
        "",
        "Cross-outlet examples (most exact+near shared sentences):",
        "",
        "| outlet a | outlet b | title a | title b | exact | near | paraphrase | direction |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for row in examples.iter_rows(named=True):
        lines.append(
            f"| {row['outlet_a']} | {row['outlet_b']} | {(row['title_a'] or '')[:60]} | {(row['title_b'] or '')[:60]} "
            f"| {row.get('n_exact')} | {row.get('n_near')} | {row.get('n_paraphrase')} | {row.get('direction')} |"
        )
    text = "\n".join(lines) + "\n"
    name = args.name or ("bench" if not args.limit else f"bench_limit{args.limit}")
    path = write_result(name, text)
    print(text)
    print(f"written to {path}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
