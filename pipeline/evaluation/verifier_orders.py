"""How the verifier's reading-order rule compares with the mean of both orders.

    python -m pipeline.evaluation.verifier_orders                    # MRPC train
    python -m pipeline.evaluation.verifier_orders --work-db WORK_DB  # also the pairs a run sends it

A cross-encoder reads "a [SEP] b" and "b [SEP] a" a little differently. The verifier was trained on
both orders and cross-validated on their mean; at run time it reads each pair once, with its texts in
code-point order, and a second time only when the first reading is within ``SECOND_READING`` of the
threshold (``pipeline.core.verifier``). This script reads every pair in both orders and reports how
often the rule's decision (probability >= the threshold) differs from the mean's, how many pairs it
reads twice, and, on MRPC, the accuracy of each against the labels (MRPC train is the verifier's own
training data, so those accuracies are not estimates of its accuracy; ``verifier.md`` has the
cross-validated ones).

``--work-db``: a working database after clean and segment (for example the benchmark's, kept by
``python -m pipeline.evaluation.bench --keep``); the overlap stage of a first run is computed on a
copy of it (its overlap cache emptied) and every pair it sends to the verifier is recorded.
Writes ``results/verifier_orders.md``. Needs the semantic extra and the shared data folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.core import verifier as V
from pipeline.core import warehouse
from pipeline.core.stages import stage_overlap
from pipeline.evaluation.common import as_first_overlap_run, git_commit
from pipeline.evaluation.paraphrase import load_mrpc
from pipeline.evaluation.verifier import _data

REPORT = Path(__file__).resolve().parent / "results" / "verifier_orders.md"


def both_orders(
    ver: V.Verifier, pairs: list[tuple[str, str]], feats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The probability of each pair read as given and read the other way round (unrounded)."""
    z = np.nan_to_num((np.asarray(feats, dtype=np.float32) - ver.mean) / ver.scale)
    rows = list(range(len(pairs)))
    return ver._read(pairs, z, rows), ver._read([(b, a) for a, b in pairs], z, rows)


def rule(
    pairs: list[tuple[str, str]], p: np.ndarray, q: np.ndarray, threshold: float, margin: float
) -> np.ndarray:
    """``Verifier.proba``'s result from the two readings: the code-point order first, the other one
    too where the first is within ``margin`` of the threshold."""
    first_is_p = np.array([a <= b for a, b in pairs], dtype=bool)
    one = np.round(np.where(first_is_p, p, q), 5)
    other = np.where(first_is_p, q, p)
    unsure = np.abs(one - threshold) < margin
    return np.where(unsure, np.round((one + other) / 2, 5), one), unsure


def summary(name: str, pairs, p, q, threshold: float, labels: np.ndarray | None = None) -> list[str]:
    mean = (p + q) / 2
    lines = [f"### {name}: {len(pairs)} pairs", ""]
    lines += [
        f"Reading orders disagree by {np.abs(p - q).mean():.3f} on average (90th percentile "
        f"{np.quantile(np.abs(p - q), 0.9):.3f}, largest {np.abs(p - q).max():.3f}).",
        "",
        "| rule | pairs read twice | decisions unlike the mean of both orders | accepted |"
        + (" accuracy (training data) |" if labels is not None else ""),
        "|---|---:|---:|---:|" + ("---:|" if labels is not None else ""),
    ]
    dm = mean >= threshold

    def row(label: str, prob: np.ndarray, twice: int) -> str:
        d = prob >= threshold
        acc = f" {float((d == (labels == 1)).mean()):.4f} |" if labels is not None else ""
        return f"| {label} | {twice} | {int((d != dm).sum())} | {int(d.sum())} |{acc}"

    lines.append(row("mean of both orders", mean, len(pairs)))
    single, _ = rule(pairs, p, q, threshold, 0.0)
    lines.append(row("code-point order only", single, 0))
    for m in sorted({0.1, 0.2, V.SECOND_READING, 0.4}):
        prob, unsure = rule(pairs, p, q, threshold, m)
        mark = " (shipped)" if m == V.SECOND_READING else ""
        lines.append(row(f"second reading within {m} of the threshold{mark}", prob, int(unsure.sum())))
    return lines + [""]


def recorded_pairs(work_db: Path, width: int) -> tuple[list[tuple[str, str]], np.ndarray, float]:
    """The pairs (and signals) the overlap stage of a first run on a copy of ``work_db`` sends to the
    verifier, and the stage's seconds."""
    seen: list[tuple[str, str]] = []
    feats: list[np.ndarray] = []
    original = V.Verifier.proba

    def recording(self, pairs, f):
        seen.extend(pairs)
        feats.append(np.asarray(f, dtype=np.float32))
        return original(self, pairs, f)

    with tempfile.TemporaryDirectory(prefix="wiretrace-orders-") as tmp:
        db = Path(tmp) / "work.duckdb"
        shutil.copyfile(work_db, db)
        con = warehouse.connect(db)
        V.Verifier.proba = recording
        try:
            as_first_overlap_run(con)
            t = time.perf_counter()
            stage_overlap(con, encoder="auto")
            seconds = time.perf_counter() - t
        finally:
            V.Verifier.proba = original
            con.close()
    return seen, (np.concatenate(feats) if feats else np.zeros((0, width), np.float32)), seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-db", type=Path, help="also the pairs the overlap stage sends to the verifier")
    ap.add_argument(
        "--label", default="the working database given", help="what --work-db holds, for the report"
    )
    args = ap.parse_args(argv)
    ver, reason = V.load_verifier()
    if ver is None:
        print(f"[verifier_orders] {reason}", file=sys.stderr)
        return 2
    if load_mrpc() is None:
        return 2
    t0 = time.perf_counter()
    lines = [
        "# The verifier's reading orders",
        "",
        f"Command: `python -m pipeline.evaluation.verifier_orders{' --work-db WORK_DB' if args.work_db else ''}` "
        f"at commit {git_commit()}; threshold {ver.threshold}; `SECOND_READING` = {V.SECOND_READING}.",
        "",
    ]
    pairs, y, feats, _, _ = _data()
    p, q = both_orders(ver, pairs, feats[:, : len(ver.features)])
    lines += summary("MRPC train (the verifier's training data)", pairs, p, q, ver.threshold, y)
    if args.work_db:
        got, f, seconds = recorded_pairs(args.work_db, len(ver.features))
        p, q = both_orders(ver, got, f)
        name = f"the pairs the semantic tier sent to the verifier in a first overlap run on {args.label}"
        lines += summary(name, got, p, q, ver.threshold)
        lines.append(f"(That overlap stage, with the shipped rule, took {seconds:.0f} s.)\n")
    lines.append(f"Run time: {time.perf_counter() - t0:.0f} s.")
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
