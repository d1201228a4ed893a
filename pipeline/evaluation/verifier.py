"""Train and cross-validate the paraphrase verifier (``pipeline.core.verifier``) on MRPC.

    python -m pipeline.evaluation.verifier --cv     # 5-fold CV (about 12 minutes a fold on 2 cores)
    python -m pipeline.evaluation.verifier --fit    # fit on all of MRPC train, write verifier_model/
    python -m pipeline.evaluation.verifier          # rewrite the report from the saved fold predictions

Same folds as ``pipeline.evaluation.paraphrase`` (5 stratified folds, seed 13) and the same decision:
"paraphrase or closer" (exact and near rules first, then the verifier for the rest) against the MRPC
label. Each fold trains a fresh adapter and head on the other four folds; the held-out predictions
are kept in ``results/verifier_cv.json`` so the report can be rewritten without retraining.

Recipe (recorded in ``head.json``): LoRA rank 16 (alpha 32, dropout 0.1) on every linear layer of
all-MiniLM-L6-v2, a linear head over the mean-pooled output and the 15 standardised grader signals,
AdamW (learning rate 1e-3, weight decay 0.01), batches of 16, 4 epochs, 10 % linear warm-up then
linear decay, binary cross-entropy; every other batch is fed in the reverse sentence order, and a
prediction is the mean of both orders. Threshold 0.5.

Needs the semantic extra and the shared data folder (``WIRETRACE_SHARED_DATA`` or ``../shared/data``);
without them it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core import compare as C
from pipeline.evaluation.paraphrase import FOLDS, SEED, load_mrpc, metrics, stratified_folds

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPORT = RESULTS_DIR / "verifier.md"
CV_CACHE = RESULTS_DIR / "verifier_cv.json"
RECIPE: dict[str, Any] = {
    "rank": 16,
    "dropout": 0.1,
    "lr": 1e-3,
    "weight_decay": 0.01,
    "batch": 16,
    "epochs": 4,
    "warmup": 0.1,
    "seed": 0,
}
THRESHOLD = 0.5


def _data() -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mrpc = load_mrpc()
    if mrpc is None:
        raise SystemExit(2)
    pairs, y = mrpc
    from pipeline.core.embed import load_encoder

    enc, reason = load_encoder()
    if enc is None:
        print(f"the verifier needs the semantic tier: {reason}", file=sys.stderr)
        raise SystemExit(2)
    feats, exact, counts = C.signal_matrix(pairs, C.pair_cosines(pairs, None, enc))
    return pairs, y, feats, exact, counts


def train(pairs, y, feats, rows: np.ndarray, log=print):
    """Fit a fresh cross-encoder on ``rows``; returns the model and its feature spec."""
    import torch

    from pipeline.core import verifier as V

    r = RECIPE
    X = np.nan_to_num(feats[:, : len(C.FULL_FEATURES)])
    mean = X[rows].mean(axis=0)
    scale = X[rows].std(axis=0) + 1e-9
    Z = torch.tensor((X - mean) / scale, dtype=torch.float32)
    model, tok = V.build_model(Z.shape[1], rank=r["rank"], dropout=r["dropout"], seed=r["seed"])
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=r["lr"], weight_decay=r["weight_decay"]
    )
    bs = r["batch"]
    steps = r["epochs"] * ((len(rows) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (r["warmup"] * steps)) * max(0.0, (steps - s) / steps)
    )
    step = 0
    t0 = time.perf_counter()
    for ep in range(r["epochs"]):
        model.train()
        order = np.random.RandomState(ep).permutation(rows)
        for lo in range(0, len(order), bs):
            ids = order[lo : lo + bs]
            a = [pairs[i][0] for i in ids]
            b = [pairs[i][1] for i in ids]
            if step % 2 == 1:
                a, b = b, a
            target = torch.tensor(y[ids], dtype=torch.float32)
            logit = model(Z[ids], **V.tokenize_pairs(tok, a, b))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
        log(f"  epoch {ep + 1}/{r['epochs']}: {time.perf_counter() - t0:.0f} s")
    model.eval()
    spec = {
        "features": list(C.FULL_FEATURES),
        "mean": [float(v) for v in mean],
        "scale": [float(v) for v in scale],
        "threshold": THRESHOLD,
        "recipe": dict(r),
        "trained_on": f"MRPC train, {len(rows)} pairs",
    }
    return model, tok, spec


def cross_validate(folds_to_run: list[int]) -> None:
    from pipeline.core.verifier import Verifier

    pairs, y, feats, exact, counts = _data()
    fold = stratified_folds(y, FOLDS, SEED)
    cache = json.loads(CV_CACHE.read_text()) if CV_CACHE.exists() else {"folds": {}}
    for k in folds_to_run:
        tr = np.flatnonzero(fold != k)
        te = np.flatnonzero(fold == k)
        print(f"fold {k}: training on {len(tr)} pairs", flush=True)
        model, tok, spec = train(pairs, y, feats, tr)
        t0 = time.perf_counter()
        p = Verifier(model, tok, spec).proba([pairs[i] for i in te], feats[te][:, : len(C.FULL_FEATURES)])
        rate = len(te) / (time.perf_counter() - t0)
        cache["folds"][str(k)] = {"rows": te.tolist(), "proba": p.tolist(), "pairs_per_s": rate}
        acc = float(np.mean((p >= THRESHOLD) == (y[te] == 1)))
        print(f"fold {k}: verifier accuracy {acc:.3f}, {rate:.0f} pairs/s", flush=True)
        CV_CACHE.write_text(json.dumps(cache) + "\n")
    report(pairs, y, feats, exact, counts, cache)


def report(pairs, y, feats, exact, counts, cache) -> None:
    fold = stratified_folds(y, FOLDS, SEED)
    lines = [
        "# Paraphrase verifier: MRPC train, 5-fold cross-validation",
        "",
        "Regenerate: `python -m pipeline.evaluation.verifier --cv` (training) or without arguments",
        "(report from the saved fold predictions in `verifier_cv.json`). Same folds as `paraphrase.md`.",
        "",
        "| fold | pairs | grader (rules + logistic) acc | verifier alone acc | rules + verifier acc | F1 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    accs_g, accs_v, accs_d, f1s = [], [], [], []
    from pipeline.evaluation.paraphrase import fit_models

    for k in range(FOLDS):
        got = cache["folds"].get(str(k))
        if got is None:
            lines.append(f"| {k} | n/a | n/a | n/a | n/a | n/a |")
            continue
        te = np.asarray(got["rows"], dtype=np.int64)
        tr = np.flatnonzero(fold != k)
        p = np.asarray(got["proba"], dtype=np.float64)
        grader = C.PairGrader(fit_models(feats[tr], y[tr], with_cosine=True))
        kind, _, _ = grader.decide(feats[te], exact[te], counts[te])
        m_g = metrics(kind != 3, y[te])
        m_v = metrics(p >= THRESHOLD, y[te])
        kind, _, _ = grader.decide(feats[te], exact[te], counts[te], verifier=p)
        m_d = metrics(kind != 3, y[te])
        accs_g.append(m_g["accuracy"])
        accs_v.append(m_v["accuracy"])
        accs_d.append(m_d["accuracy"])
        f1s.append(m_d["f1"])
        lines.append(
            f"| {k} | {len(te)} | {m_g['accuracy']:.3f} | {m_v['accuracy']:.3f} | "
            f"{m_d['accuracy']:.3f} | {m_d['f1']:.3f} |"
        )
    if accs_d:
        lines.append(
            f"| mean ({len(accs_d)} folds) | | {np.mean(accs_g):.3f} | {np.mean(accs_v):.3f} | "
            f"**{np.mean(accs_d):.3f}** | {np.mean(f1s):.3f} |"
        )
    rates = [got["pairs_per_s"] for got in cache["folds"].values()]
    if rates:
        lines += ["", f"Verifier speed: {np.mean(rates):.0f} pairs/s (both reading orders, 2 CPU threads)."]
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def fit() -> None:
    from pipeline.core import verifier as V

    pairs, y, feats, _, _ = _data()
    rows = np.arange(len(y))
    print(f"fitting on all {len(rows)} MRPC training pairs", flush=True)
    model, _, spec = train(pairs, y, feats, rows)
    V.save(model, spec, V.model_dir())
    print(f"wrote {V.model_dir()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cv", action="store_true", help="train and score the cross-validation folds")
    ap.add_argument("--folds", default="0,1,2,3,4", help="which folds --cv trains (default all)")
    ap.add_argument("--fit", action="store_true", help="fit on all of MRPC train and write the model")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    if args.cv:
        cross_validate([int(k) for k in args.folds.split(",") if k.strip()])
    if args.fit:
        fit()
    if not args.cv and not args.fit:
        if not CV_CACHE.exists():
            print("no saved fold predictions; run with --cv", file=sys.stderr)
            return 2
        pairs, y, feats, exact, counts = _data()
        report(pairs, y, feats, exact, counts, json.loads(CV_CACHE.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
