"""What the semantic tier costs on real news: the default run against the lexical-only run.

``python -m pipeline.evaluation.bench_reuse [--seed 505] [--articles 2000] [--small 200]``

Draws ``--articles`` random AllSides articles (and a second sample of ``--small`` articles), writes
them as a JSONL landing file, and runs the whole pipeline (``pipeline.core.run.run_pipeline``) into
fresh warehouses, once lexical-only (``encoder=None``) and once with the defaults (semantic tier and
verifier on when installed), in that order, in separate processes so that each pays its own model
loading. Reported: wall seconds, CPU seconds of the process (children included), overlap seconds,
and the reuse found. Results go to ``pipeline/evaluation/results/reuse_speed.md`` with the commit and
command. Run it on a quiet machine: other work on the two cores changes wall times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.evaluation.common import REPO, git_commit, shared_data, show_result
from pipeline.evaluation.reuse_precision import write_landing

_CHILD = """
import json, sys, time, resource
from pathlib import Path
from pipeline.core.run import run_pipeline
if __name__ == "__main__":
    landing, wh, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    t = time.perf_counter()
    res = run_pipeline(landing, wh, encoder=None if mode == "lexical" else "auto")
    wall = time.perf_counter() - t
    ru_s = resource.getrusage(resource.RUSAGE_SELF)
    ru_c = resource.getrusage(resource.RUSAGE_CHILDREN)
    ov = [r for r in res if r.stage == "overlap"][0]
    print(json.dumps({
        "wall": round(wall, 1),
        "cpu": round(ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime, 1),
        "overlap": round(ov.seconds, 1),
        "reuse": ov.extra.get("matches_by_relation", {}).get("reuse"),
        "semantic": (ov.extra.get("semantic") or {}).get("reason"),
        "focus_pairs": ov.extra.get("semantic_focus_pairs", 0),
        "verified": (ov.extra.get("verifier") or {}).get("pairs", 0),
    }))
"""


def _run(landing: Path, wh: Path, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(landing), str(wh), mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.bench_reuse")
    ap.add_argument("--seed", type=int, default=505)
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--small", type=int, default=200)
    args = ap.parse_args(argv)
    if shared_data() is None:
        print("shared data not found (set WIRETRACE_SHARED_DATA); skipped")
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="wiretrace-bench-reuse-") as tmp:
        for n in (args.articles, args.small):
            landing = Path(tmp) / f"landing{n}"
            write_landing(args.seed, n, landing)
            for mode in ("lexical", "default"):
                r = _run(landing, Path(tmp) / f"wh{n}{mode}", mode)
                rows.append({"articles": n, "mode": mode, **r})
                print(rows[-1], flush=True)
    lines = [
        "# Cost of the semantic tier on real news",
        "",
        f"Command: `python -m pipeline.evaluation.bench_reuse --seed {args.seed} --articles {args.articles} "
        f"--small {args.small}` at commit {git_commit()}, {time.strftime('%Y-%m-%d')}, this 2-core machine.",
        "",
        "| articles | run | wall s | CPU s | overlap s | reuse matches | focus pairs | verified pairs |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['articles']} | {r['mode']} | {r['wall']} | {r['cpu']} | {r['overlap']} | {r['reuse']} | "
            f"{r['focus_pairs']} | {r['verified']} |"
        )
    by = {(r["articles"], r["mode"]): r for r in rows}
    big = by[(args.articles, "default")]["wall"] / max(by[(args.articles, "lexical")]["wall"], 0.1)
    lines += [
        "",
        f"Default / lexical-only wall time on {args.articles} articles: **{big:.2f}x** (target at most 2x); "
        f"default run on {args.small} articles: **{by[(args.small, 'default')]['wall']} s** (target at most 30 s).",
        "",
        f"Semantic tier note (default, {args.articles} articles): {by[(args.articles, 'default')]['semantic']}",
    ]
    out = "\n".join(lines) + "\n"
    show_result("reuse_speed", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
