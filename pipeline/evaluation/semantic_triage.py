"""Which semantic-tier pairs need MiniLM and the verifier: the cheap signals against the verifier's answer.

    python -m pipeline.evaluation.semantic_triage WORK_DB [--sample N] [--seed S] [--add-sample WORK_DB2]

The overlap step runs on the documents and sentences of ``WORK_DB`` (read-only) with the defaults,
and every candidate pair of the semantic tier is recorded with its lexical grade (kind, logistic
probability) and its static-encoder cosine. The pairs that ``grading.needs_models`` sends to the slow
models are graded by them in the run; of the pairs it declares certainly unrelated, ``--sample`` (all
when fewer) are graded by MiniLM and the verifier here, so that the table shows, per region of the
two cheap signals, how many pairs there are and how many the verifier accepts: the pairs a rule
would lose. Instrumentation only: the run's functions are wrapped to record their inputs, the
results are those of the normal run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from typing import Any

import numpy as np
import polars as pl

from pipeline.core.overlap import compute_overlap
from pipeline.core.overlap import semantic as S
from pipeline.core.overlap.candidates_semantic import CandidateVectors
from pipeline.core.overlap.common import Clock
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.grading import grade, grading_texts
from pipeline.core.overlap.models import CachedEncoder, load_candidate_encoder, load_encoder, load_verifier
from pipeline.evaluation.common import git_commit
from pipeline.evaluation.semantic_scale import _load

COS_BINS = (-1.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01)
PROBA_BINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.01)


warnings.filterwarnings("ignore", category=DeprecationWarning)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.semantic_triage")
    ap.add_argument("work_db")
    ap.add_argument("--per-bin", type=int, default=40, help="pairs probed per region of the two signals")
    ap.add_argument("--dry", action="store_true", help="send no pair to the models in the run; probe only")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--add-sample", default=None)
    ap.add_argument("--dump", default=None, help="write the probed and verified pairs (parquet)")
    args = ap.parse_args(argv)
    docs, sents = _load(args.work_db)
    if args.add_sample:
        d2, s2 = _load(args.add_sample)
        docs = pl.concat([docs, d2.cast(docs.schema)]).unique("doc_id", keep="first").sort("doc_id")
        sents = pl.concat([sents, s2.cast(sents.schema)])
    seen: dict[str, Any] = {}
    real_grade = S.grade

    def recording_grade(cand, hashes, enc, cfg, clock, step, *a, **k):
        out = real_grade(cand, hashes, enc, cfg, clock, step, *a, **k)
        if step in ("grade_semantic_lexical", "grade_semantic"):
            seen[step] = out[0]
            seen["hashes"] = hashes
        return out

    S.grade = recording_grade
    real_needs = S.needs_models

    def recording_needs(kinds, proba, cos, aligned, cfg):
        seen["aligned"] = np.asarray(aligned, dtype=bool)
        return np.zeros(len(kinds), dtype=bool) if args.dry else real_needs(kinds, proba, cos, aligned, cfg)

    S.needs_models = recording_needs
    t0 = time.perf_counter()
    res = compute_overlap(docs, sents, encoder="auto")
    seconds = time.perf_counter() - t0
    S.grade = real_grade
    S.needs_models = real_needs
    cfg = OverlapConfig()
    lex = seen["grade_semantic_lexical"]
    hashes = seen["hashes"]
    texts = grading_texts(hashes, cfg)[0]
    cenc, _ = load_candidate_encoder("auto")
    vecs = CandidateVectors(cenc, texts, Clock(None))
    ia, ib = lex["hid_a"].to_numpy(), lex["hid_b"].to_numpy()
    vecs.add(np.concatenate([ia, ib]))
    lex = lex.with_columns(
        pl.Series("static_cosine", vecs.cosine(ia, ib)), pl.Series("aligned", seen["aligned"])
    )
    classifier = lex.filter(pl.col("kind").is_in(["paraphrase", "none"]))
    models = seen.get("grade_semantic")
    verified = (
        models.select("hid_a", "hid_b", pl.col("verifier").alias("ver"))
        if models is not None and "verifier" in models.columns
        else pl.DataFrame(schema={"hid_a": pl.Int64, "hid_b": pl.Int64, "ver": pl.Float64})
    )
    classifier = classifier.with_columns(
        pl.col("static_cosine").cut(list(COS_BINS[1:-1]), left_closed=True).alias("cos_bin"),
        pl.col("probability").cut(list(PROBA_BINS[1:-1]), left_closed=True).alias("p_bin"),
    )
    sure = classifier.join(verified, on=["hid_a", "hid_b"], how="anti")
    rng = random.Random(args.seed)
    parts = []
    for _, grp in sorted(sure.group_by("cos_bin", "p_bin"), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        grp = grp.sort("hid_a", "hid_b")
        pick = sorted(rng.sample(range(grp.height), min(args.per_bin, grp.height)))
        parts.append(grp[pick].with_columns(pl.lit(grp.height / max(1, len(pick))).alias("w")))
    probe = pl.concat(parts) if parts else sure.head(0).with_columns(pl.lit(1.0).alias("w"))
    t1 = time.perf_counter()
    enc, _ = load_encoder("auto")
    run = load_verifier(cfg)
    probed, _ = grade(
        probe.select("hid_a", "hid_b", "tier"),
        hashes,
        CachedEncoder(enc),
        cfg,
        Clock(None),
        "probe",
        [],
        run,
        keep_none=True,
    )
    t_probe = time.perf_counter() - t1
    probe = probe.join(
        probed.select("hid_a", "hid_b", pl.col("verifier").alias("ver")), on=["hid_a", "hid_b"]
    )
    both = pl.concat(
        [classifier.join(verified, on=["hid_a", "hid_b"]).with_columns(pl.lit(1.0).alias("w")), probe],
        how="diagonal_relaxed",
    ).with_columns((pl.col("ver") >= 0.5).alias("accepted"))
    table = (
        both.group_by("cos_bin", "p_bin")
        .agg(
            pl.len().alias("graded"),
            pl.col("w").sum().alias("pairs"),
            pl.col("accepted").sum().alias("accepted_graded"),
            (pl.col("accepted").cast(pl.Float64) * pl.col("w")).sum().alias("accepted_est"),
        )
        .sort("cos_bin", "p_bin")
    )
    st = res.stats
    print(
        f"# semantic triage on {args.work_db} ({docs.height} documents) at commit {git_commit()}\n"
        f"run {seconds:.0f} s; triage {st.get('semantic_triage')}; verifier {st.get('verifier')}\n"
        f"classifier pairs {classifier.height}: sent to the models {verified.height}, sure none {sure.height} "
        f"(probed {probe.height} in {t_probe:.0f} s, at most {args.per_bin} per region)"
    )
    with pl.Config(tbl_rows=100, tbl_cols=10, tbl_width_chars=200):
        print(table)
    out = both.select("hid_a", "hid_b", "kind", "probability", "static_cosine", "aligned", "ver", "w")
    print(
        "aligned classifier pairs:",
        int(classifier["aligned"].sum()),
        "of",
        classifier.height,
        "; verifier-accepted (estimated) among aligned:",
        float((both.filter(pl.col("aligned"))["w"] * both.filter(pl.col("aligned"))["accepted"]).sum()),
        "of",
        float((both["w"] * both["accepted"].cast(pl.Float64)).sum()),
    )
    if args.dump:
        out.write_parquet(args.dump)
        classifier.select("hid_a", "hid_b", "kind", "probability", "static_cosine", "aligned").write_parquet(
            args.dump + ".all.parquet"
        )
    accepted_sure = probe.filter(pl.col("ver") >= 0.5).sort("static_cosine")
    text = hashes.sort("hid")["rep_text"]
    for r in accepted_sure.head(20).iter_rows(named=True):
        print(
            f"- {r['static_cosine']:.2f} p={r['probability']:.2f} v={r['ver']:.2f}: "
            f"{text[r['hid_a']][:120]!r} / {text[r['hid_b']][:120]!r}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
