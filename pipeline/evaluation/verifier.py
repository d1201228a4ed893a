"""Train and cross-validate the paraphrase verifier (``pipeline.core.verifier``) on MRPC.

    python -m pipeline.evaluation.verifier --cv     # 5-fold CV (slow: a fresh adapter is trained per fold)
    python -m pipeline.evaluation.verifier --fit    # fit on all of MRPC train, write verifier_model/
    python -m pipeline.evaluation.verifier          # rewrite the report from the saved fold predictions

Same folds as ``pipeline.evaluation.paraphrase`` (5 stratified folds, seed 13) and the same decision:
"paraphrase or closer" (exact and near rules first, then the verifier for the rest) against the MRPC
label. Each fold trains a fresh adapter and head on the other four folds; the held-out predictions
are kept in ``results/verifier_cv.json`` so the report can be rewritten without retraining.

Recipe (recorded in ``head.json``): LoRA rank 16 (alpha 32, dropout 0.1) on every linear layer of
all-MiniLM-L6-v2, a linear head over the mean-pooled output and the 15 standardised grader signals,
AdamW (learning rate 1e-3, weight decay 0.01), batches of 16, 10 % linear warm-up then linear decay,
binary cross-entropy; every other batch is fed in the reverse sentence order. A prediction is
``Verifier.proba``'s: the mean of both orders where the first reading is near the threshold (the saved
fold predictions in ``results/verifier_cv.json`` were made when every pair was read both ways;
``results/verifier_orders.md`` compares the two rules). Threshold 0.5. Two steps:

1. intermediate training, 2 epochs on STS-B train with the similarity / 5 as a soft target, without
   its MSRpar part (4,749 pairs): MSRpar comes from the same corpus as MRPC, and 592 of its 1,000
   pairs share a sentence with MRPC train. This step reads no MRPC pair, so one run serves all folds
   (cached in the temporary directory). It lifted the 5-fold accuracy (current figures in
   ``results/verifier.md``);
2. 4 epochs on the MRPC pairs, starting from the adapter and head of step 1.

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
from pipeline.core import verifier as V
from pipeline.core.embed import load_encoder
from pipeline.core.verifier import Verifier
from pipeline.evaluation.common import git_commit, git_last_change
from pipeline.evaluation.paraphrase import (
    FOLDS,
    SEED,
    fit_models,
    load_jsonl,
    load_mrpc,
    metrics,
    shared_data_dir,
    stratified_folds,
)

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
    "stsb_epochs": 2,
}
THRESHOLD = 0.5


def _data() -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mrpc = load_mrpc()
    if mrpc is None:
        raise SystemExit(2)
    pairs, y = mrpc

    enc, reason = load_encoder()
    if enc is None:
        print(f"the verifier needs the semantic tier: {reason}", file=sys.stderr)
        raise SystemExit(2)
    feats, exact, counts = C.signal_matrix(pairs, C.pair_cosines(pairs, None, enc))
    return pairs, y, feats, exact, counts


def _standardise(feats: np.ndarray, rows: np.ndarray):
    X = np.nan_to_num(feats[:, : len(C.FULL_FEATURES)])
    mean = X[rows].mean(axis=0)
    scale = X[rows].std(axis=0) + 1e-9
    return (X - mean) / scale, mean, scale


def _fit_loop(model, tok, pairs, target, Z, rows, epochs: int, log=print) -> None:
    """AdamW with linear warm-up and decay; binary cross-entropy (``target`` may be soft)."""
    import torch

    r = RECIPE
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=r["lr"], weight_decay=r["weight_decay"]
    )
    bs = r["batch"]
    steps = epochs * ((len(rows) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (r["warmup"] * steps)) * max(0.0, (steps - s) / steps)
    )
    Z = torch.tensor(Z, dtype=torch.float32)
    step = 0
    t0 = time.perf_counter()
    for ep in range(epochs):
        model.train()
        order = np.random.RandomState(ep).permutation(rows)
        for lo in range(0, len(order), bs):
            ids = order[lo : lo + bs]
            a = [pairs[i][0] for i in ids]
            b = [pairs[i][1] for i in ids]
            if step % 2 == 1:
                a, b = b, a
            logit = model(Z[ids], **V.tokenize_pairs(tok, a, b))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logit, torch.tensor(target[ids], dtype=torch.float32)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
        log(f"  epoch {ep + 1}/{epochs}: {time.perf_counter() - t0:.0f} s")
    model.eval()


def load_stsb() -> list[tuple[str, str, float]] | None:
    """STS-B train pairs with similarity / 5 as a soft target, without its MSRpar part.

    MSRpar pairs are drawn from the same Microsoft paraphrase corpus as MRPC (592 of its 1,000 pairs
    share a sentence with MRPC train), so they are left out: training on them would leak MRPC
    sentences into the cross-validation folds and, possibly, into any MRPC test split.
    """

    path = shared_data_dir() / "eval" / "paraphrase" / "stsb_train.jsonl"
    if not path.exists():
        return None
    rows = load_jsonl(path)
    return [(r["s1"], r["s2"], float(r["score"]) / 5.0) for r in rows if r.get("source_file") != "MSRpar"]


def pretrain(log=print) -> dict[str, Any] | None:
    """Intermediate training on STS-B (soft targets); returns the adapter and head weights to start from.

    It reads no MRPC pair, so one run serves every cross-validation fold; it is cached in the
    temporary directory under a name derived from the recipe.
    """
    import hashlib
    import tempfile

    import torch

    r = RECIPE
    if not r["stsb_epochs"]:
        return None
    stsb = load_stsb()
    if stsb is None:
        print("STS-B train not found under the shared data folder", file=sys.stderr)
        raise SystemExit(2)
    key = hashlib.sha256(json.dumps([r, len(stsb)], sort_keys=True).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"wiretrace-verifier-stsb-{key}.pt"
    if cache.exists():
        return torch.load(cache)

    enc, _ = load_encoder()
    pairs = [(a, b) for a, b, _ in stsb]
    target = np.array([t for _, _, t in stsb])
    feats, _, _ = C.signal_matrix(pairs, C.pair_cosines(pairs, None, enc))
    rows = np.arange(len(pairs))
    Z, _, _ = _standardise(feats, rows)
    model, tok = V.build_model(Z.shape[1], rank=r["rank"], dropout=r["dropout"], seed=r["seed"])
    log(f"intermediate training on {len(pairs)} STS-B pairs")
    _fit_loop(model, tok, pairs, target, Z, rows, r["stsb_epochs"], log)
    state = {
        k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k or k.startswith("head.")
    }
    torch.save(state, cache)
    return state


def train(pairs, y, feats, rows: np.ndarray, init: dict[str, Any] | None = None, log=print):
    """Fit a cross-encoder on ``rows`` (from ``init`` if given); returns the model and its feature spec."""

    r = RECIPE
    Z, mean, scale = _standardise(feats, rows)
    model, tok = V.build_model(Z.shape[1], rank=r["rank"], dropout=r["dropout"], seed=r["seed"])
    if init is not None:
        missing = set(init) - set(model.state_dict())
        if missing:
            raise RuntimeError(f"intermediate weights do not fit the model: {sorted(missing)[:3]}")
        model.load_state_dict(init, strict=False)
    _fit_loop(model, tok, pairs, y.astype(np.float64), Z, rows, r["epochs"], log)
    spec = {
        "features": list(C.FULL_FEATURES),
        "mean": [float(v) for v in mean],
        "scale": [float(v) for v in scale],
        "threshold": THRESHOLD,
        "recipe": dict(r),
        "trained_on": f"MRPC train, {len(rows)} pairs"
        + (" (after STS-B train without MSRpar)" if init is not None else ""),
    }
    return model, tok, spec


def cross_validate(folds_to_run: list[int]) -> None:
    pairs, y, feats, exact, counts = _data()
    fold = stratified_folds(y, FOLDS, SEED)
    cache = json.loads(CV_CACHE.read_text()) if CV_CACHE.exists() else {"folds": {}}
    init = pretrain()
    for k in folds_to_run:
        tr = np.flatnonzero(fold != k)
        te = np.flatnonzero(fold == k)
        print(f"fold {k}: training on {len(tr)} pairs", flush=True)
        model, tok, spec = train(pairs, y, feats, tr, init)
        t0 = time.perf_counter()
        p = Verifier(model, tok, spec).proba([pairs[i] for i in te], feats[te][:, : len(C.FULL_FEATURES)])
        rate = len(te) / (time.perf_counter() - t0)
        cache["folds"][str(k)] = {
            "rows": te.tolist(),
            "proba": p.tolist(),
            "pairs_per_s": rate,
            "recipe": dict(RECIPE),
            "commit": git_commit(),
        }
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
        "Recipe (see the module docstring): "
        + "; ".join(sorted({json.dumps(f.get("recipe"), sort_keys=True) for f in cache["folds"].values()})),
        # folds trained before the commit was recorded with them: the commit that saved their predictions
        "Fold predictions trained at commit "
        + ", ".join(sorted({f.get("commit") or git_last_change(CV_CACHE) for f in cache["folds"].values()}))
        + f"; report written at commit {git_commit()}.",
        "",
        "| fold | pairs | grader (rules + logistic) acc | verifier alone acc | rules + verifier acc | F1 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    accs_g, accs_v, accs_d, f1s = [], [], [], []

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
    pairs, y, feats, _, _ = _data()
    rows = np.arange(len(y))
    print(f"fitting on all {len(rows)} MRPC training pairs", flush=True)
    model, _, spec = train(pairs, y, feats, rows, pretrain())
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
