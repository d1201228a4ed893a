"""Streaming ingest benchmark: peak memory while a large JSONL corpus is ingested into DuckDB.

Writes a JSONL file of the requested size (default 2 GiB; synthetic news-like records of about 2.5 KB, each
different) into a temporary folder, then ingests it with ``stage_ingest`` into a fresh working database in a
child process and reports that process's peak resident memory (``ru_maxrss``), the wall time and the
row counts. Nothing is read from the network or the shared data folder.

    python -m pipeline.evaluation.ingest_stream [--gib 2.0] [--write-result]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.core import warehouse
from pipeline.core.stages import stage_ingest
from pipeline.evaluation.common import git_commit, write_result

WORDS = (
    "government minister said officials on Monday Tuesday police city country people report year percent "
    "market economy election president talks security forces capital agency crisis budget court vote party "
    "health water region border trade prices week support plan council national military spokesman statement"
).split()


def _paragraph(rng: random.Random, n_sentences: int) -> str:
    out = []
    for _ in range(n_sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(12, 28))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def write_corpus(path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write records until the file holds ``target_bytes``; return the number of records."""
    rng = random.Random(seed)
    n = 0
    size = 0
    with open(path, "w", encoding="utf-8") as fh:
        while size < target_bytes:
            text = "\n\n".join(_paragraph(rng, rng.randint(2, 5)) for _ in range(rng.randint(3, 6)))
            line = json.dumps(
                {
                    "id": f"r{n}",
                    "source": f"outlet-{n % 50}",
                    "url": f"https://outlet-{n % 50}.example/{n}",
                    "published_at": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
                    "text": f"Story {n}. {text}",
                }
            )
            fh.write(line + "\n")
            size += len(line) + 1
            n += 1
    return n


def measure(landing: Path, db: Path) -> dict:
    """Ingest ``landing`` into ``db`` (run in a child process); returns counts, seconds and peak RSS."""

    con = warehouse.connect(db)
    t0 = time.perf_counter()
    res = stage_ingest(con, landing)
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - t0
    con.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"counts": res.counts, "seconds": round(seconds, 1), "peak_rss_mib": round(peak_kib / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.evaluation.ingest_stream")
    parser.add_argument("--gib", type=float, default=2.0, help="size of the generated JSONL file in GiB")
    parser.add_argument("--write-result", action="store_true", help="write results/ingest.md")
    parser.add_argument("--measure", nargs=2, metavar=("LANDING", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]))))
        return 0
    with tempfile.TemporaryDirectory(prefix="wiretrace-ingest-bench-") as tmp:
        landing = Path(tmp) / "landing"
        landing.mkdir()
        corpus = landing / "corpus.jsonl"
        t0 = time.perf_counter()
        n_records = write_corpus(corpus, int(args.gib * 1024**3))
        size = corpus.stat().st_size
        print(f"wrote {size / 1024**3:.2f} GiB, {n_records} records in {time.perf_counter() - t0:.0f} s")
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline.evaluation.ingest_stream",
                "--measure",
                str(landing),
                str(Path(tmp) / "work.duckdb"),
            ],
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        result = json.loads(child.stdout.strip().splitlines()[-1])
        db_size = (Path(tmp) / "work.duckdb").stat().st_size
    print(json.dumps(result, indent=2))
    if args.write_result:
        c = result["counts"]
        md = f"""# Streaming ingest: peak memory on a large JSONL corpus

Command: `python -m pipeline.evaluation.ingest_stream --gib {args.gib} --write-result` (commit `{git_commit()}`).

A synthetic JSONL corpus file is generated in a temporary folder (one file, {size / 1024**3:.2f} GiB,
{n_records:,} records of about 2.5 KB, each different) and ingested by `stage_ingest` into a fresh working
database in a child process; the peak is that process's maximum resident set size (`ru_maxrss`).
Machine: 2 CPU cores shared with other work.

| measure | value |
|---|---|
| file size | {size / 1024**3:.2f} GiB |
| records | {n_records:,} |
| documents written | {c["documents_new"]:,} |
| error rows | {c["errors"]:,} |
| peak resident memory | {result["peak_rss_mib"]:,} MiB |
| wall time (ingest + checkpoint) | {result["seconds"]:,} s |
| working database size | {db_size / 1024**3:.2f} GiB |

The file is read twice: once to hash it (the file's identity in `raw.raw_files`), then line by line; each
line is bounded by the per-record limit (`IngestConfig.max_page_bytes`, 25 MiB) and rows are written every
5,000 documents or 8 million characters of text, so the Python side stays flat whatever the size of the
file. What remains is DuckDB's own working memory: when it checkpoints, it rewrites the row group being
filled (up to 122,880 rows) and its strings pass through memory, so the peak depends on the size of a row
group's text (larger articles, a higher peak), not on the size of the file.
"""
        print(f"wrote {write_result('ingest', md)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
