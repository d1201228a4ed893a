"""Scale check of the overlap stage on the AllSides corpus (37,554 US political news articles).

Run ``python -m pipeline.evaluation.overlap_scale [--limit N]``. The corpus is read from the shared
data directory (``corpora/allsides_baly2020.parquet``), never shipped with the project; the script
exits cleanly with a message when it is absent.

Steps: split every article into sentences (``pipeline.core.segment.split_sentences``), normalise
them (``pipeline.core.normalize`` when it is installed, otherwise a plain lower-case word join,
reported as such), then run ``compute_overlap`` without the semantic tier. Reported: wall time per
step, peak resident memory of the process (``resource.getrusage``), sentence and candidate-pair
counts, and cross-outlet document pairs with a few examples. The markdown report is printed and
written to ``pipeline/evaluation/results/overlap_scale.md``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import polars as pl

from pipeline.core.normalize import normalize_sentence, sentence_hash
from pipeline.core.overlap import DOCUMENTS_SCHEMA, SENTENCES_SCHEMA, compute_overlap
from pipeline.core.segment import split_sentences
from pipeline.evaluation.common import git_commit, shared_data_path

RESULTS = Path(__file__).resolve().parent / "results" / "overlap_scale.md"
CORPUS = Path("corpora") / "allsides_baly2020.parquet"

_WORD = re.compile(r"[^\W_]+")


shared_data_dir = shared_data_path


def text_tools() -> tuple[Callable, Callable, Callable, list[str]]:
    """(split, normalise, hash, notes): the project's segmenter and normaliser, as the pipeline runs them."""

    def split(text: str):
        return [(s.start, s.end, s.text, s.paragraph) for s in split_sentences(text)]

    return split, normalize_sentence, sentence_hash, []


def build_frames(
    records: Iterable[dict],
    tools: tuple[Callable, Callable, Callable, list[str]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``documents`` and ``sentences`` frames (the overlap stage's input) from records with
    ``doc_id``, ``source``, ``published_at`` (datetime or None), ``title`` and ``text``."""
    split, norm, nhash, _ = tools or text_tools()
    docs: dict[str, list] = {"doc_id": [], "source": [], "published_at": [], "title": [], "n_chars": []}
    cols: dict[str, list] = {
        k: []
        for k in (
            "sentence_id",
            "doc_id",
            "index",
            "paragraph",
            "start",
            "end",
            "text",
            "norm",
            "norm_hash",
            "n_tokens",
        )
    }
    for rec in records:
        text = rec.get("text") or ""
        did = rec["doc_id"]
        docs["doc_id"].append(did)
        docs["source"].append(rec.get("source"))
        docs["published_at"].append(rec.get("published_at"))
        docs["title"].append(rec.get("title"))
        docs["n_chars"].append(len(text))
        for i, (s, e, t, para) in enumerate(split(text)):
            n = norm(t)
            cols["sentence_id"].append(f"{did}:{i}")
            cols["doc_id"].append(did)
            cols["index"].append(i)
            cols["paragraph"].append(para)
            cols["start"].append(s)
            cols["end"].append(e)
            cols["text"].append(t)
            cols["norm"].append(n)
            cols["norm_hash"].append(nhash(n))
            cols["n_tokens"].append(len(_WORD.findall(n)))
    documents = pl.DataFrame(docs, schema=DOCUMENTS_SCHEMA)
    sentences = pl.DataFrame(cols, schema=SENTENCES_SCHEMA)
    return documents, sentences


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _md_table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join(str(x).replace("|", "/").replace("\n", " ") for x in r) + " |")
    return "\n".join(lines)


def _progress(step: str, done: int, total: int) -> None:
    if total > 1 and done not in (0, total):
        return
    print(
        f"  [{time.strftime('%H:%M:%S')}] {step} {done}/{total} peak {_peak_mib():.0f} MiB",
        file=sys.stderr,
        flush=True,
    )


def run(limit: int | None) -> str:
    path = shared_data_dir() / CORPUS
    if not path.is_file():
        msg = f"AllSides corpus not found ({CORPUS} under the shared data directory); skipped."
        print(msg)
        return msg
    t0 = time.perf_counter()
    raw = pl.read_parquet(path, columns=["id", "outlet", "date_iso", "title", "text"]).sort("id")
    if limit:
        raw = raw.head(limit)
    raw = raw.with_columns(pl.col("date_iso").str.to_datetime(strict=False).cast(pl.Datetime("us")))
    t_load = time.perf_counter() - t0

    tools = text_tools()
    t1 = time.perf_counter()
    records = (
        {"doc_id": r[0], "source": r[1], "published_at": r[2], "title": r[3], "text": r[4]}
        for r in raw.iter_rows()
    )
    documents, sentences = build_frames(records, tools)
    t_seg = time.perf_counter() - t1
    mem_after_seg = _peak_mib()

    t2 = time.perf_counter()
    res = compute_overlap(documents, sentences, encoder=None, progress=_progress)
    t_overlap = time.perf_counter() - t2
    total = time.perf_counter() - t0
    st = res.stats

    dp = res.document_pairs
    cross = dp.filter(~pl.col("same_source"))
    cross_nq = cross.filter(~pl.col("quote_only"))
    out = ["# Overlap stage at scale: AllSides corpus", ""]
    out.append(
        f"Command: `python -m pipeline.evaluation.overlap_scale{' --limit ' + str(limit) if limit else ''}` "
        f"at commit {git_commit()} (semantic tier off; grader: {st.get('grader')})."
    )
    out.append("")
    out.append(
        f"Machine: {os.cpu_count()} CPU cores; wall-clock seconds, one process, other work may share the machine."
    )
    if tools[3]:
        out.append("")
        out.append("Stand-ins used: " + "; ".join(tools[3]) + ".")
    out += ["", "## Wall time", ""]
    rows = [("load parquet", f"{t_load:.1f}"), ("segment + normalise", f"{t_seg:.1f}")]
    rows += [(f"overlap: {k}", f"{v:.1f}") for k, v in st["timings"].items()]
    rows += [("overlap total", f"{t_overlap:.1f}"), ("whole run", f"{total:.1f}")]
    out.append(_md_table(["step", "seconds"], rows))
    out += [
        "",
        f"Peak resident memory: {_peak_mib():.0f} MiB (after segmentation: {mem_after_seg:.0f} MiB).",
        "",
        "## Counts",
        "",
    ]
    counts = [
        ("documents", st["n_documents"]),
        ("sentences", st["n_sentences"]),
        ("matchable sentences", st["n_matchable"]),
        ("distinct matchable sentences", st["n_distinct_matchable"]),
        ("too short", st["n_too_short"]),
        ("common (boilerplate / stock)", st["n_common"]),
        ("  of which through near-identical template families", st.get("n_template_sentences", 0)),
        ("mostly quotation", st["n_quote"]),
        ("exact candidate sentence pairs", st["candidates_exact_sentence_pairs"]),
        ("LSH candidate pairs (distinct sentences)", st["candidates_lsh"]),
        ("MinHash candidates after estimated-Jaccard filter", st["candidates_minhash"]),
        ("candidate document pairs (paraphrase tier)", st["candidate_doc_pairs"]),
        ("blocked paraphrase candidates", st["candidates_paraphrase"]),
        ("pairs graded", st["graded_pairs"]),
        ("graded as exact/near/paraphrase", st["graded_matches"]),
    ]
    counts += [(f"rows: {k}", v) for k, v in st["rows"].items()]
    counts += [(f"matches: {k}", v) for k, v in st["matches_by_kind"].items()]
    counts += [
        ("cross-outlet document pairs", cross.height),
        ("cross-outlet pairs, not quote-only", cross_nq.height),
        (
            "cross-outlet pairs with direction decided",
            cross_nq.filter(pl.col("direction") != "undetermined").height,
        ),
        ("stories with 2+ documents", res.stories.filter(pl.col("n_docs") > 1)["story_id"].n_unique()),
        (
            "documents with an inferred source",
            res.document_originality["inferred_source_doc_id"].is_not_null().sum(),
        ),
        (
            "documents with under half original sentences",
            res.document_originality.filter(pl.col("share_original") < 0.5).height,
        ),
    ]
    out.append(_md_table(["what", "count"], counts))
    out += ["", "## Cross-outlet document pairs (largest shared non-quote content)", ""]
    ex = cross_nq.sort(["n_nonquote", "doc_id_a", "doc_id_b"], descending=[True, False, False]).head(8)
    titles = documents.select("doc_id", "title")
    ex = ex.join(titles.rename({"doc_id": "doc_id_a", "title": "title_a"}), on="doc_id_a", how="left").join(
        titles.rename({"doc_id": "doc_id_b", "title": "title_b"}), on="doc_id_b", how="left"
    )
    out.append(
        _md_table(
            [
                "outlet A",
                "outlet B",
                "exact/near/para",
                "cont. A in B",
                "cont. B in A",
                "direction",
                "title A",
            ],
            [
                (
                    r["source_a"],
                    r["source_b"],
                    f"{r['n_exact']}/{r['n_near']}/{r['n_paraphrase']}",
                    f"{r['containment_a_in_b']:.2f}",
                    f"{r['containment_b_in_a']:.2f}",
                    r["direction"],
                    (r["title_a"] or "")[:70],
                )
                for r in ex.iter_rows(named=True)
            ],
        )
    )
    sm = res.sentence_matches
    para = sm.filter((pl.col("kind") == "paraphrase") & (pl.col("source_a") != pl.col("source_b")))
    if para.height:
        txt = sentences.select("sentence_id", "text")
        # a deterministic spread of examples among sentences of at least 15 words
        sample = (
            para.join(txt.rename({"sentence_id": "sentence_id_a", "text": "text_a"}), on="sentence_id_a")
            .join(txt.rename({"sentence_id": "sentence_id_b", "text": "text_b"}), on="sentence_id_b")
            .filter(pl.col("text_a").str.count_matches(r"\w+") >= 15)
            .unique(["text_a", "text_b"], keep="first")
            .sort("sentence_id_a", "sentence_id_b")
        )
        sample = sample.gather_every(max(1, sample.height // 5)).head(5)
        out += ["", "## Cross-outlet paraphrase examples", ""]
        out.append(
            _md_table(
                ["score", "A", "B"],
                [
                    (f"{r['score']:.2f}", r["text_a"][:160], r["text_b"][:160])
                    for r in sample.iter_rows(named=True)
                ],
            )
        )
    out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="use only the first N articles (by id)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write the results file")
    args = ap.parse_args(argv)
    report = run(args.limit)
    print(report)
    if not args.no_write and not report.endswith("skipped."):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
