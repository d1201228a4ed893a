"""Boilerplate removal: bag-of-words F1 on the Article Extraction Benchmark, and cleaning speed.

    python -m pipeline.evaluation.boilerplate [--limit N] [--speed-docs N] [--details]

Quality: for each of the 181 pages of ``eval/boilerplate/scrapinghub_aeb.jsonl.gz`` (shared data), the
text of ``clean_document(html, kind="html")`` is compared with the human-written ``gold_text``.

Tokenisation: the text is lowercased and split into word tokens with the regular expression ``\\w+``
(Unicode letters, digits and underscore; punctuation and whitespace separate tokens). Precision and
recall are computed on token multisets (a token counts as many times as it occurs in both texts);
F1 is their harmonic mean. Precision, recall and F1 are computed per page and averaged over pages.
trafilatura alone (``extract`` with default options, and with ``favor_precision=True``; comments
excluded in both) is scored the same way as a baseline.

Speed: pages per second for HTML (whole ``clean_document`` call, extraction included) and megabytes
(UTF-8) per second for text cleaning on article bodies of ``corpora/allsides_baly2020.parquet``.
The tables are printed and written to ``pipeline/evaluation/results/boilerplate.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pipeline import clean_document
from pipeline.evaluation.common import git_commit, shared_data_path

RESULTS = Path(__file__).resolve().parent / "results" / "boilerplate.md"
TOKEN = re.compile(r"\w+")


shared_data = shared_data_path


def tokens(text: str) -> Counter[str]:
    return Counter(TOKEN.findall(text.lower()))


def prf(pred: str, gold: str) -> tuple[float, float, float]:
    p, g = tokens(pred), tokens(gold)
    overlap = sum((p & g).values())
    precision = overlap / sum(p.values()) if p else 0.0
    recall = overlap / sum(g.values()) if g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def load_aeb(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


def score(system: Callable[[str], str], rows: list[dict]) -> dict:
    sums = [0.0, 0.0, 0.0]
    per_page = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    for row in rows:
        pred = system(row["html"])
        p, r, f = prf(pred, row["gold_text"])
        per_page.append((row["id"], p, r, f))
        sums[0] += p
        sums[1] += r
        sums[2] += f
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    n = len(rows)
    return {
        "precision": sums[0] / n,
        "recall": sums[1] / n,
        "f1": sums[2] / n,
        "pages_per_s": n / elapsed if elapsed else float("inf"),
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "per_page": per_page,
    }


def systems(keep: list | None = None) -> dict[str, Callable[[str], str]]:
    """The compared systems; ``keep`` collects wiretrace's CleanResult objects in page order."""
    import trafilatura

    def ours(html: str) -> str:
        res = clean_document(html, kind="html")
        if keep is not None:
            keep.append(res)
        return res.text

    return {
        "wiretrace clean_document (kind=html)": ours,
        "trafilatura 2.3 extract (default)": lambda html: (
            trafilatura.extract(html, include_comments=False) or ""
        ),
        "trafilatura 2.3 extract (favor_precision)": lambda html: (
            trafilatura.extract(html, include_comments=False, favor_precision=True) or ""
        ),
    }


def removal_audit(results: list, rows: list[dict]) -> list[tuple[str, tuple[int, int, int]]]:
    """Per reason: spans removed, their tokens, and how many of those tokens the gold text lacks."""
    stats: dict[str, list[int]] = {}
    for res, row in zip(results, rows, strict=True):
        gold = tokens(row["gold_text"])
        kept = tokens(res.text)
        spare = gold - kept  # gold tokens the kept text does not already account for
        for span in res.removed:
            t = tokens(span.text)
            in_gold = sum((t & spare).values())
            spare = spare - t
            st = stats.setdefault(span.reason, [0, 0, 0])
            st[0] += 1
            st[1] += sum(t.values())
            st[2] += sum(t.values()) - in_gold
    return sorted(((k, tuple(v)) for k, v in stats.items()), key=lambda kv: -kv[1][1])


def text_speed(n_docs: int) -> dict | None:
    path = shared_data() / "corpora" / "allsides_baly2020.parquet"
    if not path.exists():
        return None
    import polars as pl

    texts = [t for t in pl.read_parquet(path, columns=["text"])["text"].head(n_docs).to_list() if t]
    size = sum(len(t.encode("utf-8")) for t in texts)
    removed = Counter()
    start = time.perf_counter()
    cpu_start = time.process_time()
    for t in texts:
        for span in clean_document(t).removed:
            removed[span.reason] += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {"docs": len(texts), "mb": size / 1e6, "seconds": elapsed, "cpu_seconds": cpu, "removed": removed}


#: extraction variants compared in the options table (None: the shipped default, already scored)
OPTION_VARIANTS: dict[str, dict | None] = {
    "favor_precision, fallback to default when under 1,000 characters (shipped default)": None,
    "favor_precision, no fallback": {"fallback": False},
    "default (neither precision nor recall)": {"favor_precision": False},
    "favor_recall": {"favor_precision": False, "favor_recall": True},
    "favor_precision + include_tables=False": {"include_tables": False},
    "favor_precision + include_comments=True": {"include_comments": True},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages")
    ap.add_argument("--speed-docs", type=int, default=3000, help="AllSides articles for the text speed run")
    ap.add_argument("--details", action="store_true", help="print pages where wiretrace loses most F1")
    args = ap.parse_args(argv)

    aeb = shared_data() / "eval" / "boilerplate" / "scrapinghub_aeb.jsonl.gz"
    if not aeb.exists():
        print(f"skipped: evaluation data not found ({aeb.name}); set WIRETRACE_SHARED_DATA")
        return 0
    rows = load_aeb(aeb, args.limit)
    kept_results: list = []
    results = {name: score(fn, rows) for name, fn in systems(kept_results).items()}

    lines = [
        "# Boilerplate removal: Article Extraction Benchmark",
        "",
        f"{len(rows)} pages of `eval/boilerplate/scrapinghub_aeb.jsonl.gz`; bag-of-words precision / recall / F1",
        "(lowercased `\\w+` tokens, multiset overlap) against `gold_text`, averaged over pages.",
        "",
        "| system | precision | recall | F1 | pages/s (CPU time) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, res in results.items():
        lines.append(
            f"| {name} | {res['precision']:.4f} | {res['recall']:.4f} | {res['f1']:.4f} | {len(rows) / res['cpu_seconds']:.1f} |"
        )
    ours = results["wiretrace clean_document (kind=html)"]
    base = results["trafilatura 2.3 extract (favor_precision)"]
    wins = sum(1 for a, b in zip(ours["per_page"], base["per_page"], strict=True) if a[3] > b[3] + 1e-9)
    losses = sum(1 for a, b in zip(ours["per_page"], base["per_page"], strict=True) if a[3] < b[3] - 1e-9)
    lines += [
        "",
        f"Per page against trafilatura (favor_precision): better on {wins}, worse on {losses} pages.",
    ]

    lines += [
        "",
        "## What the text rules removed after extraction",
        "",
        "Spans removed from trafilatura's output, by reason; 'not in gold' is the share of their tokens that the",
        "gold text does not contain (token multisets per page), i.e. how often the removal was right.",
        "",
        "| reason | spans | tokens | not in gold |",
        "|---|---:|---:|---:|",
    ]
    for reason, (n_spans, n_tok, n_out) in removal_audit(kept_results, rows):
        lines.append(f"| `{reason}` | {n_spans} | {n_tok} | {n_out / n_tok if n_tok else 0:.2f} |")
    lines += [
        "",
        "## trafilatura options inside clean_document",
        "",
        "Same pages, same text rules after extraction; only the extraction options change "
        '(`clean_document(html, kind="html", html_options=...)`).',
        "",
        "| extraction options | precision | recall | F1 |",
        "|---|---:|---:|---:|",
    ]
    for label, opts in OPTION_VARIANTS.items():
        if opts is None:
            res = ours
        else:
            res = score(lambda html, o=opts: clean_document(html, kind="html", html_options=o).text, rows)
        lines.append(f"| {label} | {res['precision']:.4f} | {res['recall']:.4f} | {res['f1']:.4f} |")

    speed = text_speed(args.speed_docs)
    lines += [
        "",
        "# Speed",
        "",
        "One process, one thread. Throughput is computed from CPU time (the machine is shared, so wall-clock",
        "time is also shown but depends on the load).",
        "",
        "| input | documents | size | wall s | CPU s | throughput (CPU time) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    html_mb = sum(len(r["html"].encode()) for r in rows) / 1e6
    lines.append(
        f"| HTML pages (AEB, extraction + cleaning) | {len(rows)} | {html_mb:.1f} MB | {ours['seconds']:.1f} | "
        f"{ours['cpu_seconds']:.1f} | {len(rows) / ours['cpu_seconds']:.1f} pages/s "
        f"({html_mb / ours['cpu_seconds']:.2f} MB/s of HTML) |"
    )
    if speed:
        lines.append(
            f"| text (AllSides article bodies, `clean_document(text)`) | {speed['docs']} | {speed['mb']:.1f} MB | "
            f"{speed['seconds']:.1f} | {speed['cpu_seconds']:.1f} | {speed['mb'] / speed['cpu_seconds']:.2f} MB/s |"
        )
        common = ", ".join(f"`{k}` {v}" for k, v in speed["removed"].most_common(12))
        lines += ["", f"Removed spans in the AllSides run by reason (top 12): {common}."]
    else:
        lines.append("| text (AllSides) | skipped: corpus not found | | | |")
    lines += [
        "",
        "Notes: the gold texts sometimes keep lines that the clean stage removes on purpose (copyright lines,",
        "'originally published by' lines, editor's notes, 'Follow X on Twitter' lines); those pages score lower",
        "than trafilatura alone. Tuned on this development file only.",
        "",
        f"Command: `python -m pipeline.evaluation.boilerplate` at commit {git_commit()}.",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if args.details:
        pairs = sorted(
            zip(ours["per_page"], base["per_page"], strict=True), key=lambda ab: ab[0][3] - ab[1][3]
        )
        for a, b in pairs[:15]:
            print(f"{a[0]}  ours P={a[1]:.3f} R={a[2]:.3f} F={a[3]:.3f}   base F={b[3]:.3f}", file=sys.stderr)
    if args.limit is None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
