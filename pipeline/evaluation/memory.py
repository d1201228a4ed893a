"""Where a full run's memory goes: the resident size after each stage and each overlap step, and their peaks.

    python -m pipeline.evaluation.memory --limit 10000 --no-semantic   # 10,000 articles, lexical tiers
    python -m pipeline.evaluation.memory                                # the whole corpus, the defaults
    python -m pipeline.evaluation.memory --overlap-of DB --no-semantic  # the overlap stage alone

One run of the five stages (``pipeline.core.run.run_pipeline``, without Dagster) in a child process on
a fresh landing folder and warehouse holding the first ``--limit`` articles of the benchmark corpus (as
``pipeline.evaluation.bench`` prepares them; ``--fraction 2`` adds a copy of the corpus under other
outlet names). The child reports what the stages and the overlap steps measure themselves
(``StageResult.extra["memory"]``, ``stats["memory"]`` of ``compute_overlap``: resident size at the end,
the step's own peak sampled every 0.1 s, the process's ``ru_maxrss`` so far); the driver adds the
child's ``ru_maxrss`` from ``wait4``. Writes ``results/memory_<N>.md`` (``--out`` to name it).
Skips with a message when the shared data is absent.

``--overlap-of DB``: the overlap stage alone, as a first run computes it, on a copy of the working
database ``DB`` (never written) in the work folder, its overlap cache emptied: the resident size after
the stage's reading, each step and its writing."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from pipeline.core import warehouse
from pipeline.core.run import run_pipeline
from pipeline.core.stages import DOCUMENTS_SQL, stage_overlap
from pipeline.evaluation.bench import CORPUS, child_env, load_corpus, scaled
from pipeline.evaluation.common import as_first_overlap_run, git_commit, shared_data, write_result

OVERLAP_CACHE = (
    "minhash_signatures",
    "graded_pairs",
    "sentence_traits",
    "word_tokens",
    "lsh_postings",
    "lsh_members",
    "lsh_pairs",
    "rare_doc_sets",
    "rare_doc_pairs",
)


def _overlap_child(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.memory _overlap")
    ap.add_argument("db", type=Path)
    ap.add_argument("--no-semantic", action="store_true")
    args = ap.parse_args(argv)
    con = warehouse.connect(args.db)
    try:
        as_first_overlap_run(con)
        r = stage_overlap(con, encoder=None if args.no_semantic else "auto")
    finally:
        con.close()
    print(json.dumps([_row(r)]))
    return 0


def _row(r) -> dict:
    row = {"stage": r.stage, "seconds": round(r.seconds, 2), "memory": r.extra.get("memory")}
    if r.stage == "overlap":
        row["steps"] = {
            name: {"seconds": r.extra.get("timings", {}).get(name)} | mem
            for name, mem in (r.extra.get("step_memory") or {}).items()
        }
    return row


def _child(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.memory _run")
    ap.add_argument("landing", type=Path)
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--no-semantic", action="store_true")
    args = ap.parse_args(argv)
    results = run_pipeline(args.landing, args.warehouse, encoder=None if args.no_semantic else "auto")
    print(json.dumps([_row(r) for r in results]))
    return 0


def _shown(argv: list[str]) -> list[str]:
    """The arguments as the report shows them: paths replaced by what they stand for."""
    out, hide = [], {"--work": "DIR", "--overlap-of": "DB"}
    for i, a in enumerate(argv):
        out.append(hide[argv[i - 1]] if i and argv[i - 1] in hide else a)
    return out


def _gib(mib: float | None) -> str:
    return "" if mib is None else f"{mib / 1024:.2f}"


def render(
    report: list[dict],
    cmd: str,
    n: int,
    semantic: bool,
    wall: float,
    maxrss_gib: float,
    what: str = "a full run",
) -> str:
    lines = [
        f"# Memory of {what}: {n} articles, {'the defaults' if semantic else 'lexical tiers only'}",
        "",
        f"Command: `{cmd}` at commit {git_commit()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, shared with other jobs. "
        f"Wall time {wall:.0f} s; peak of the run's process (`ru_maxrss` from `wait4`): {maxrss_gib:.2f} GiB.",
        "",
        "Per stage and per overlap step (GiB): the process's resident size when it ended, its own peak "
        "(sampled every 0.1 s, the resident sizes at its start and end included) and the process's peak "
        "so far (`ru_maxrss`); the clean and segment stages' worker processes are not included.",
        "",
        "| stage / step | seconds | RSS after | peak | process peak so far |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report:
        m = r.get("memory") or {}
        lines.append(
            f"| **{r['stage']}** | {r['seconds']:.1f} | {_gib(m.get('rss_mib'))} | {_gib(m.get('peak_mib'))} "
            f"| {_gib(m.get('process_peak_mib'))} |"
        )
        for name, s in (r.get("steps") or {}).items():
            sec = s.get("seconds")
            lines.append(
                f"| overlap: {name} | {'' if sec is None else f'{sec:.1f}'} | {_gib(s.get('rss_mib'))} "
                f"| {_gib(s.get('peak_mib'))} | {_gib(s.get('process_peak_mib'))} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_run"]:
        return _child(argv[1:])
    if argv[:1] == ["_overlap"]:
        return _overlap_child(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.memory", description=__doc__)
    ap.add_argument("--limit", type=int, default=0, help="the first N articles (default: all)")
    ap.add_argument("--fraction", type=float, default=1.0, help="share of the corpus (2: twice)")
    ap.add_argument("--no-semantic", action="store_true", help="lexical tiers only")
    ap.add_argument(
        "--overlap-of", type=Path, help="the overlap stage alone, on a copy of this working database"
    )
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary folder)")
    ap.add_argument("--out", help="result name under results/ (default memory_<N>)")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="wiretrace-memory-"))
    if args.overlap_of:
        work.mkdir(parents=True, exist_ok=True)
        db = work / "work.duckdb"
        shutil.copyfile(args.overlap_of, db)
        with duckdb.connect(str(db), read_only=True) as con:
            n = con.sql(f"SELECT count(*) FROM ({DOCUMENTS_SQL})").fetchall()[0][0]
        cmd = [sys.executable, "-m", "pipeline.evaluation.memory", "_overlap", str(db)]
    else:
        data = shared_data()
        if data is None or not (data / CORPUS).exists():
            print("[memory] the benchmark corpus is absent: nothing measured")
            return 0
        df = scaled(load_corpus(data / CORPUS, args.limit), args.fraction)
        landing, wh = work / "landing", work / "wh"
        landing.mkdir(parents=True, exist_ok=False)
        df.write_parquet(landing / "allsides.parquet")
        n = df.height
        del df
        cmd = [sys.executable, "-m", "pipeline.evaluation.memory", "_run", str(landing), str(wh)]
    if args.no_semantic:
        cmd.append("--no-semantic")
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=child_env(), stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"[memory] the run failed (exit {os.waitstatus_to_exitcode(status)})")
        return 1
    report = json.loads(out.strip().splitlines()[-1])
    shown = ["python -m pipeline.evaluation.memory", *_shown(argv)]
    what = "the overlap stage of a first run" if args.overlap_of else "a full run"
    md = render(report, " ".join(shown), n, not args.no_semantic, wall, usage.ru_maxrss / 2**20, what)
    path = write_result(args.out or f"memory_{n}", md)
    print(md)
    print(f"[memory] written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
