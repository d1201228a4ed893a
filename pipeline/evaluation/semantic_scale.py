"""The semantic tier at full size: the overlap step with and without it on one working database.

    python -m pipeline.evaluation.semantic_scale WORK_DB [--mode lexical|semantic|both] [--out FILE]
        [--add-sample data/sample-work.duckdb] [--json FILE]

``WORK_DB`` is a working database (``work.duckdb`` of a warehouse) whose clean and segment stages are
done, for example that of ``python -m pipeline.evaluation.bench --keep DIR`` on the benchmark corpus; it
is opened read-only. The documents and sentences the overlap stage reads (``stages.DOCUMENTS_SQL``,
``stages.SENTENCES_SQL``) go through ``compute_overlap`` with ``encoder=None`` (lexical tiers only)
and with ``encoder="auto"`` (the defaults: static encoder for the candidates, MiniLM and the verifier
for the uncertain pairs), each in its own process so that peak memory is that run's. Reported per
mode: total seconds, the semantic step's timings and counts (focus pairs, window sentences, sentences
encoded by the static encoder, candidates, pairs decided by the rules / certainly unrelated / sent to
MiniLM and the verifier, MiniLM-encoded sentences, verifier pairs), peak RSS and matches by kind.

``--add-sample WORK_DB2``: the documents and sentences of a second working database (the bundled
sample corpus) are added, and the Washington Newsday to AFP matches are counted (the sample alone
against the sample inside the benchmark corpus).

``--out`` appends a markdown section to FILE (``pipeline/evaluation/results/bench_semantic.md``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.core.overlap import compute_overlap
from pipeline.core.stages import DOCUMENTS_SQL, SENTENCES_SQL
from pipeline.evaluation.common import git_commit

WN_AFP_SQL_SOURCES = ("Washington Newsday", "AFP")


def _load(db: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = duckdb.connect(db, read_only=True)
    try:
        return con.sql(DOCUMENTS_SQL).pl(), con.sql(SENTENCES_SQL).pl()
    finally:
        con.close()


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def run_one(db: str, mode: str, add: str | None) -> dict[str, Any]:
    """One overlap run in this process; its figures."""
    t0 = time.perf_counter()
    docs, sents = _load(db)
    if add:
        d2, s2 = _load(add)
        docs = pl.concat([docs, d2.cast(docs.schema)]).unique("doc_id", keep="first").sort("doc_id")
        sents = pl.concat([sents, s2.cast(sents.schema)])
    t_load = time.perf_counter() - t0
    res = compute_overlap(docs, sents, encoder=None if mode == "lexical" else "auto")
    st = res.stats
    m = res.sentence_matches
    wn = m.filter(
        ((pl.col("source_a") == "Washington Newsday") & (pl.col("source_b") == "AFP"))
        | ((pl.col("source_a") == "AFP") & (pl.col("source_b") == "Washington Newsday"))
    )
    return {
        "mode": mode,
        "documents": docs.height,
        "sentences": sents.height,
        "seconds_load": round(t_load, 1),
        "seconds_overlap": st["seconds_total"],
        "peak_rss_gib": round(_peak_gib(), 2),
        "timings": st["timings"],
        "semantic": st.get("semantic"),
        "semantic_focus_pairs": st.get("semantic_focus_pairs"),
        "semantic_triage": st.get("semantic_triage"),
        "verifier": st.get("verifier"),
        "matches_by_kind": st["matches_by_kind"],
        "matches_by_relation": st["matches_by_relation"],
        "rows": st["rows"],
        "wn_afp": {
            "matches": wn.height,
            "by_kind": dict(wn.group_by("kind").len().sort("kind").iter_rows()),
            "reuse": int((wn["relation"] == "reuse").sum()),
        },
    }


SEMANTIC_STEPS = (
    "semantic_focus",
    "semantic_load_static",
    "semantic_candidates",
    "grade_semantic_lexical",
    "semantic_load",
    "grade_semantic",
    "expand_semantic",
)


def _markdown(results: list[dict[str, Any]], argv: list[str]) -> str:
    lines = [
        f"## {time.strftime('%Y-%m-%d', time.gmtime())}: `python -m pipeline.evaluation.semantic_scale "
        f"{' '.join(argv)}` at commit {git_commit()}",
        "",
        "2 CPUs shared with other jobs while it ran: the times are upper bounds.",
        "",
        "| mode | documents | sentences | overlap s | semantic steps s | peak RSS GiB | exact | near | paraphrase |"
        " WN->AFP matches |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sem_s = sum(r["timings"].get(k, 0.0) for k in SEMANTIC_STEPS)
        k = r["matches_by_kind"]
        lines.append(
            f"| {r['mode']} | {r['documents']} | {r['sentences']} | {r['seconds_overlap']:.1f} | {sem_s:.1f} | "
            f"{r['peak_rss_gib']} | {k.get('exact')} | {k.get('near')} | {k.get('paraphrase')} | "
            f"{r['wn_afp']['matches']} {r['wn_afp']['by_kind']} |"
        )
    for r in results:
        if r["mode"] == "lexical":
            continue
        lines += ["", f"Semantic step ({r['mode']}):", ""]
        lines.append(
            "- timings (s): " + ", ".join(f"{k} {r['timings'].get(k, 0.0):.1f}" for k in SEMANTIC_STEPS)
        )
        lines.append(f"- focus pairs: {r['semantic_focus_pairs']}")
        lines.append(f"- semantic: `{json.dumps(r['semantic'], sort_keys=True)}`")
        lines.append(f"- triage: `{json.dumps(r['semantic_triage'], sort_keys=True)}`")
        lines.append(f"- verifier: `{json.dumps(r['verifier'], sort_keys=True)}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.semantic_scale")
    ap.add_argument("work_db")
    ap.add_argument("--mode", choices=("lexical", "semantic", "both"), default="both")
    ap.add_argument("--add-sample", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--json", default=None, help="write the figures of a single mode here (internal)")
    args = ap.parse_args(argv)
    if not Path(args.work_db).is_file():
        print(f"{args.work_db}: no such working database", file=sys.stderr)
        return 2
    if args.mode != "both":
        r = run_one(args.work_db, args.mode, args.add_sample)
        text = json.dumps(r, sort_keys=True, default=str)
        if args.json:
            Path(args.json).write_text(text)
        print(text)
        results = [r]
    else:
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            for mode in ("lexical", "semantic"):
                out = Path(tmp) / f"{mode}.json"
                cmd = [
                    sys.executable,
                    "-m",
                    "pipeline.evaluation.semantic_scale",
                    args.work_db,
                    "--mode",
                    mode,
                ]
                if args.add_sample:
                    cmd += ["--add-sample", args.add_sample]
                proc = subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True)
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return proc.returncode
                results.append(json.loads(out.read_text()))
    md = _markdown(results, argv)
    print(md)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write("\n" + md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
