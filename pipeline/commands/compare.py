"""``wiretrace compare``: find the sentences two documents share (exact, near copy, paraphrase).

wiretrace compare original.txt copy.txt
wiretrace compare a.html b.html --kind html          # extract the article body first
wiretrace compare a.txt b.txt --no-clean --json      # text as is, JSON lines
wiretrace compare a.txt b.txt --no-semantic          # lexical signals only

Both files are cleaned (``pipeline.core.clean.clean_document``, unless ``--no-clean``) and split
into sentences (``pipeline.core.segment.split_sentences``). For each sentence of A, the best match
in B above "none" is printed with its kind and score. Candidate pairs are found through an inverted
index of content words, so only sentences that share words are graded (no all-pairs comparison);
with the semantic tier on, each sentence of A also gets its nearest sentences of B by embedding
cosine as candidates (computed in blocks, skipped above ``--max-semantic-pairs``).

JSON lines: {"a_index", "b_index", "kind", "score", "a", "b", "signals"}; the run summary goes to
standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

from pipeline.commands import COMMANDS
from pipeline.core.clean import clean_document
from pipeline.core.compare import KINDS, _analyse, grade_pairs
from pipeline.core.embed import load_encoder
from pipeline.core.segment import split_sentences

MIN_SHARED = 2  # content words a candidate pair must share (1 when a sentence has fewer than 3)
SEMANTIC_TOP = 3  # nearest neighbours by cosine added as candidates per sentence of A


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help=COMMANDS["compare"],
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    p.add_argument("a", help="first document (file path)")
    p.add_argument("b", help="second document (file path)")
    p.add_argument("--kind", choices=("text", "html"), default="text", help="input kind (default text)")
    p.add_argument("--no-clean", action="store_true", help="use the text as is (no boilerplate removal)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    p.add_argument("--no-semantic", action="store_true", help="lexical signals only (no embeddings)")
    p.add_argument("--all", action="store_true", help="also list sentences of A without a match (kind none)")
    p.add_argument(
        "--max-semantic-pairs",
        type=int,
        default=25_000_000,
        help="skip embedding candidates when |A| x |B| exceeds this (default 25,000,000)",
    )
    p.set_defaults(func=_run)


def _read_document(path: str, kind: str, clean: bool) -> str:
    data = Path(path).read_bytes()
    if clean:
        res = clean_document(data, kind=kind)
        return res.text if res.status == "ok" else ""
    return data.decode("utf-8-sig", errors="replace")


def _sentences(text: str) -> list[str]:
    return [s.text for s in split_sentences(text) if s.text.strip()]


def candidate_pairs(sents_a: list[str], sents_b: list[str]) -> set[tuple[int, int]]:
    """Pairs (i, j) whose sentences share enough content words; built from an inverted index of B.

    Words present in more than ``max(50, 5%)`` of B's sentences are not used for blocking (they
    would make the candidate set quadratic without telling sentences apart).
    """
    index: dict[str, list[int]] = defaultdict(list)
    content_b = [_analyse(s).content for s in sents_b]
    for j, words in enumerate(content_b):
        for w in words:
            index[w].append(j)
    cap = max(50, len(sents_b) // 20)
    by_norm: dict[str, list[int]] = defaultdict(list)  # identical sentences, whatever their words
    for j, s in enumerate(sents_b):
        by_norm[_analyse(s).norm].append(j)
    out: set[tuple[int, int]] = set()
    for i, s in enumerate(sents_a):
        info = _analyse(s)
        out.update((i, j) for j in by_norm.get(info.norm, ()))
        words = info.content
        counts: dict[int, int] = defaultdict(int)
        for w in words:
            post = index.get(w)
            if post is None or len(post) > cap:
                continue
            for j in post:
                counts[j] += 1
        for j, c in counts.items():
            need = MIN_SHARED if min(len(words), len(content_b[j])) >= 3 else 1
            if c >= need:
                out.add((i, j))
    return out


def semantic_candidates(va, vb, top: int = SEMANTIC_TOP, block: int = 1024) -> set[tuple[int, int]]:
    import numpy as np

    out: set[tuple[int, int]] = set()
    k = min(top, vb.shape[0])
    if k == 0:
        return out
    for lo in range(0, va.shape[0], block):
        sims = va[lo : lo + block] @ vb.T
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for r, row in enumerate(idx):
            for j in row:
                out.add((lo + r, int(j)))
    return out


def match_documents(
    sents_a: list[str], sents_b: list[str], encoder=None, max_semantic_pairs: int = 25_000_000
) -> tuple[list[dict], dict]:
    """Best match in B for each sentence of A (``kind`` may be "none"), plus run statistics."""
    import numpy as np

    cand = candidate_pairs(sents_a, sents_b)
    va = vb = None
    if encoder is not None and sents_a and sents_b:
        va = encoder.encode(sents_a)
        vb = encoder.encode(sents_b)
        if len(sents_a) * len(sents_b) <= max_semantic_pairs:
            cand |= semantic_candidates(va, vb)
    cand_list = sorted(cand)
    emb = None
    if va is not None and cand_list:
        ia = np.array([i for i, _ in cand_list])
        ib = np.array([j for _, j in cand_list])
        emb = (va[ia], vb[ib])
    graded = grade_pairs([(sents_a[i], sents_b[j]) for i, j in cand_list], embeddings=emb, encoder=None)
    best: dict[int, tuple[float, int, object]] = {}
    for (i, j), m in zip(cand_list, graded, strict=True):
        if i not in best or m.score > best[i][0]:
            best[i] = (m.score, j, m)
    rows = []
    for i, s in enumerate(sents_a):
        if i in best:
            _, j, m = best[i]
            rows.append(
                {
                    "a_index": i,
                    "b_index": j,
                    "kind": m.kind,
                    "score": round(m.score, 4),
                    "a": s,
                    "b": sents_b[j],
                    "signals": {k: round(v, 4) for k, v in m.signals.items()},
                }
            )
        else:
            rows.append(
                {
                    "a_index": i,
                    "b_index": None,
                    "kind": "none",
                    "score": 0.0,
                    "a": s,
                    "b": None,
                    "signals": {},
                }
            )
    stats = {"sentences_a": len(sents_a), "sentences_b": len(sents_b), "candidates": len(cand_list)}
    return rows, stats


def _run(args: argparse.Namespace) -> int:
    if args.kind == "html" and args.no_clean:
        print("wiretrace compare: --kind html needs the cleaning step (drop --no-clean)", file=sys.stderr)
        return 2
    docs = []
    for path in (args.a, args.b):
        try:
            docs.append(_read_document(path, args.kind, not args.no_clean))
        except OSError as exc:
            print(f"wiretrace compare: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # a clean error naming the problem, never a traceback
            print(f"wiretrace compare: cannot process {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
    sents_a, sents_b = _sentences(docs[0]), _sentences(docs[1])

    encoder = None
    if args.no_semantic:
        reason = "semantic tier off (--no-semantic)"
    else:
        encoder, reason = load_encoder()
        reason = f"semantic tier on: {reason}" if encoder is not None else f"semantic tier off: {reason}"
    rows, stats = match_documents(sents_a, sents_b, encoder, args.max_semantic_pairs)
    shown = [r for r in rows if args.all or r["kind"] != "none"]
    counts = defaultdict(int)
    for r in rows:
        counts[r["kind"]] += 1
    summary = (
        f"{stats['sentences_a']} sentences in A, {stats['sentences_b']} in B, "
        f"{stats['candidates']} candidate pairs graded; "
        + ", ".join(f"{k} {counts[k]}" for k in KINDS)
        + f"; {reason}"
    )
    print(summary, file=sys.stderr)
    out = sys.stdout
    try:
        for r in shown:
            if args.json:
                out.write(json.dumps(r, ensure_ascii=False) + "\n")
            else:
                b_idx = "-" if r["b_index"] is None else r["b_index"]
                out.write(f"{r['kind']:<10} {r['score']:.3f}  A[{r['a_index']}] {r['a']}\n")
                out.write(f"{'':<17}B[{b_idx}] {r['b'] or ''}\n\n")
        out.flush()
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
