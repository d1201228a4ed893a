"""Precision of reported reuse on real news, judged by reading samples.

The AllSides corpus (``corpora/allsides_baly2020.parquet`` in the shared data folder, 37,554 US political
articles from ~490 outlet labels) has no gold reuse labels, so precision is measured the way an analyst
would check it: draw a random sample of articles, run the default pipeline on it, draw random
cross-outlet matches of each kind and random document pairs said to share text, and read them.

Commands::

    python -m pipeline.evaluation.reuse_precision sample --seed 101 [--articles 2000] [--per-kind 40]
    python -m pipeline.evaluation.reuse_precision report

``sample`` writes the articles as one JSONL landing file, runs the pipeline with its defaults (semantic
tier and verifier on when installed) into a temporary warehouse, and writes the items to judge to
``pipeline/evaluation/data/reuse/seed<S>.jsonl`` with ``label`` empty. A person (or anyone reproducing the
figures) fills ``label`` with ``Y`` or ``N`` and a short ``note`` by the criterion below. ``report`` reads
every judged file and writes ``pipeline/evaluation/results/reuse_precision.md``: precision per kind with a
Wilson 95 % interval, and the reported counts per kind of each sample.

Criterion (sentence matches): **Y** = the same text reused: a copy, an edit, or a rewording of the same
statement, including the same quotation of a speaker. **N** = site boilerplate (promos, bios,
disclaimers, widgets, signature lines), a stock phrase two writers produce independently ("did not
immediately respond to a request for comment"), or two different statements (same topic is not enough).

Criterion (document pairs said to share text): **Y** = one document took text from the other, or both
took it from a common source (a wire story, a press release, a transcript); **N** = they share only
boilerplate, stock phrases or independently written facts.

The samples kept in the repo are evaluation data: tests read them (judged ``N`` lines must not be
reported as reuse again), so never tune on a fresh sample before judging it.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.kinds import MATCH_KINDS as KINDS
from pipeline.core.run import run_pipeline
from pipeline.evaluation.common import git_commit, shared_data, show_result, write_items_to_judge

CORPUS = Path("corpora") / "allsides_baly2020.parquet"
DATA = Path(__file__).resolve().parent / "data" / "reuse"


def write_landing(seed: int, n: int, landing: Path) -> pl.DataFrame:
    """``n`` random articles of the corpus (numpy-free: polars sample with ``seed``) as one JSONL file."""
    data = shared_data()
    df = pl.read_parquet(data / CORPUS).sample(n=n, seed=seed, shuffle=True)
    landing.mkdir(parents=True, exist_ok=True)
    with (landing / "allsides_sample.jsonl").open("w", encoding="utf-8") as fh:
        for r in df.iter_rows(named=True):
            rec = {
                "id": r["id"],
                "source": r["outlet"],
                "url": r["url"],
                "title": r["title"],
                "published_at": r["date_iso"],
                "text": r["text"],
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return df


def run_default(landing: Path, wh: Path) -> dict:
    t = time.perf_counter()
    results = run_pipeline(landing, wh)
    return {
        "seconds": round(time.perf_counter() - t, 1),
        "stages": {r.stage: {"seconds": round(r.seconds, 1), **r.counts} for r in results},
        "notes": [n for r in results for n in r.notes],
    }


def _sentence_context(con, sid: str, width: int = 1) -> dict:
    doc_id, idx = sid.rsplit(":", 1)
    idx = int(idx)
    rows = con.execute(
        "SELECT sentence_index, text FROM staging.sentences WHERE doc_id = ? AND sentence_index BETWEEN ? AND ? "
        "ORDER BY sentence_index",
        [doc_id, idx - width, idx + width],
    ).fetchall()
    before = " ".join(t for i, t in rows if i < idx)
    after = " ".join(t for i, t in rows if i > idx)
    return {"before": before, "after": after}


def _reuse_filter(con, table: str) -> str:
    cols = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    return "relation = 'reuse'" if "relation" in cols else "TRUE"


def draw_items(wh: Path, seed: int, per_kind: int) -> tuple[list[dict], dict]:
    """Random cross-outlet matches per kind and random cross-outlet document pairs said to share text."""
    con = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    rng = random.Random(seed)
    items: list[dict] = []
    counts: dict = {}
    mfilter = _reuse_filter(con, "marts.sentence_matches")
    for kind in KINDS:
        rows = con.execute(
            f"""SELECT m.sentence_id_a, m.sentence_id_b, m.source_a, m.source_b, m.score, m.is_quote,
                       sa.text, sb.text
                FROM marts.sentence_matches m
                JOIN staging.sentences sa ON sa.sentence_id = m.sentence_id_a
                JOIN staging.sentences sb ON sb.sentence_id = m.sentence_id_b
                WHERE m.kind = ? AND NOT m.same_source AND {mfilter}
                ORDER BY m.sentence_id_a, m.sentence_id_b""",
            [kind],
        ).fetchall()
        counts[kind] = len(rows)
        for r in rng.sample(rows, min(per_kind, len(rows))):
            items.append(
                {
                    "item": "sentence_match",
                    "kind": kind,
                    "sentence_id_a": r[0],
                    "sentence_id_b": r[1],
                    "source_a": r[2],
                    "source_b": r[3],
                    "score": round(r[4], 3),
                    "is_quote": r[5],
                    "text_a": r[6],
                    "text_b": r[7],
                    "context_a": _sentence_context(con, r[0]),
                    "context_b": _sentence_context(con, r[1]),
                    "label": None,
                    "note": None,
                }
            )
    pfilter = "NOT quote_only AND in_story"
    cols = {r[0] for r in con.execute("DESCRIBE marts.document_pairs").fetchall()}
    if "relation" in cols:
        pfilter = "relation = 'reuse'"
    pairs = con.execute(
        f"""SELECT doc_id_a, doc_id_b, source_a, source_b, n_exact, n_near, n_paraphrase
            FROM marts.document_pairs WHERE NOT same_source AND {pfilter}
            ORDER BY doc_id_a, doc_id_b"""
    ).fetchall()
    counts["document_pairs"] = len(pairs)
    for p in rng.sample(pairs, min(per_kind, len(pairs))):
        shared = con.execute(
            f"""SELECT m.kind, sa.text, sb.text FROM marts.sentence_matches m
                JOIN staging.sentences sa ON sa.sentence_id = m.sentence_id_a
                JOIN staging.sentences sb ON sb.sentence_id = m.sentence_id_b
                WHERE m.doc_id_a = ? AND m.doc_id_b = ? AND {mfilter}
                ORDER BY m.index_a LIMIT 8""",
            [p[0], p[1]],
        ).fetchall()
        titles = dict(
            con.execute(
                "SELECT doc_id, coalesce(title, '') FROM raw.documents WHERE doc_id IN (?, ?)", [p[0], p[1]]
            ).fetchall()
        )
        items.append(
            {
                "item": "document_pair",
                "kind": "document_pair",
                "doc_id_a": p[0],
                "doc_id_b": p[1],
                "source_a": p[2],
                "source_b": p[3],
                "title_a": titles.get(p[0], ""),
                "title_b": titles.get(p[1], ""),
                "n_exact": p[4],
                "n_near": p[5],
                "n_paraphrase": p[6],
                "shared": [{"kind": k, "text_a": a, "text_b": b} for k, a, b in shared],
                "label": None,
                "note": None,
            }
        )
    con.close()
    return items, counts


def cmd_sample(args: argparse.Namespace) -> int:
    if shared_data() is None:
        print("shared data not found: set WIRETRACE_SHARED_DATA or place it at ../shared/data; skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="wiretrace-reuse-") as tmp:
        root = Path(args.workdir) if args.workdir else Path(tmp)
        landing, wh = root / "landing", root / "warehouse"
        if (wh / "wiretrace.duckdb").is_file() and (root / "run.json").is_file():
            run = json.loads((root / "run.json").read_text())  # drawn again from a kept run
        else:
            write_landing(args.seed, args.articles, landing)
            run = run_default(landing, wh)
            (root / "run.json").write_text(json.dumps(run))
        items, counts = draw_items(wh, args.seed, args.per_kind)
    out = Path(args.out) if args.out else DATA / f"seed{args.seed}{args.suffix}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "item": "header",
        "seed": args.seed,
        "articles": args.articles,
        "per_kind": args.per_kind,
        "commit": git_commit(),
        "command": f"python -m pipeline.evaluation.reuse_precision sample --seed {args.seed} "
        f"--articles {args.articles} --per-kind {args.per_kind}",
        "run": run,
        "counts": counts,
    }
    write_items_to_judge(out, header, items)
    return 0


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def load_judged(path: Path) -> tuple[dict, list[dict]]:
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    head = lines[0] if lines and lines[0].get("item") == "header" else {}
    return head, [x for x in lines if x.get("item") != "header"]


# samples judged while the rules were still being refined (the development set); every other sample was
# drawn and judged after the last change to the rules (the test set)
DEV_SEEDS = {202, 303, 606, 707}


def _row(name: str, commit: str, articles, seconds, kind: str, reported, items: list[dict]) -> str:
    judged = [i for i in items if i.get("label") in ("Y", "N")]
    y = sum(i["label"] == "Y" for i in judged)
    lo, hi = wilson(y, len(judged))
    prec = f"{y / len(judged):.2f}" if judged else "–"
    ci = f"{lo:.2f}–{hi:.2f}" if judged else "–"
    return f"| {name} | {commit} | {articles} | {seconds} | {kind} | {reported} | {len(judged)} | {y} | {prec} | {ci} |"


def cmd_report(args: argparse.Namespace) -> int:
    files = sorted(DATA.glob("*.jsonl"))
    if not files:
        print("no judged samples found")
        return 0
    out = ["# Precision of reported reuse on real news (judged samples)", ""]
    out.append(
        "Produced by `python -m pipeline.evaluation.reuse_precision report` from the judged files in "
        "`pipeline/evaluation/data/reuse/` (criterion in the script's docstring; each file's header has the "
        "seed, commit and command that drew it). Each sample: 2,000 random articles of the AllSides corpus, "
        "the default pipeline (semantic tier and verifier on), all or 40 random cross-outlet items per kind "
        "reported as reuse (relation reuse), and the document pairs said to share text. Development samples "
        f"(seeds {', '.join(map(str, sorted(DEV_SEEDS)))}) were read while the rules were refined; the test "
        "samples were drawn and judged after the last change. `before` is the pipeline as it was before "
        "document-level evidence (every cross-outlet match counted)."
    )
    out.append("")
    head_row = "| sample | commit | articles | run s | kind | reported | judged | Y | precision | 95 % CI |"
    out += [head_row, "|---|---|---:|---:|---|---:|---:|---:|---:|---|"]
    pools: dict[str, dict[str, list]] = {"development": {}, "test": {}}
    for f in files:
        head, items = load_judged(f)
        role = (
            "before" if "before" in f.stem else ("development" if head.get("seed") in DEV_SEEDS else "test")
        )
        for kind in (*KINDS, "document_pair"):
            its = [i for i in items if i["kind"] == kind]
            reported = head.get("counts", {}).get("document_pairs" if kind == "document_pair" else kind, "")
            out.append(
                _row(
                    f"{f.stem} ({role})",
                    head.get("commit", ""),
                    head.get("articles", ""),
                    head.get("run", {}).get("seconds", ""),
                    kind,
                    reported,
                    its,
                )
            )
            if role in pools:
                pool = pools[role].setdefault(kind, [0, []])
                pool[0] += reported or 0
                pool[1].extend(its)
    out += ["", "Pooled:", "", head_row, "|---|---|---:|---:|---|---:|---:|---:|---:|---|"]
    for role, by_kind in pools.items():
        for kind, (reported, its) in by_kind.items():
            out.append(_row(role, "", "", "", kind, reported, its))
    show_result("reuse_precision", "\n".join(out) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.reuse_precision")
    sub = ap.add_subparsers(dest="cmd")
    s = sub.add_parser("sample", help="run the default pipeline on a random sample and draw items to judge")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--articles", type=int, default=2000)
    s.add_argument("--per-kind", type=int, default=40)
    s.add_argument("--suffix", default="", help="appended to the output file name (e.g. -before)")
    s.add_argument("--out", default=None)
    s.add_argument(
        "--workdir", default=None, help="keep the landing folder and warehouse here (reused if present)"
    )
    s.set_defaults(func=cmd_sample)
    r = sub.add_parser("report", help="precision per kind from the judged files")
    r.set_defaults(func=cmd_report)
    args = ap.parse_args(argv if argv is not None else None)
    if not getattr(args, "func", None):
        args = ap.parse_args(["report"])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
