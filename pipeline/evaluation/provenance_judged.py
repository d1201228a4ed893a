"""Precision of document-pair directions on real news, judged by reading a sample.

The AllSides corpus (``corpora/allsides_baly2020.parquet`` in the shared data folder, 37,554 US
political articles, dates given as days only) has no gold provenance, so the directions wiretrace draws
between documents are checked the way an analyst would check them: draw a seeded sample of document
pairs from a full-corpus warehouse, stratified by the basis of their direction, read each pair, and
write down what a careful reader concludes.

Commands::

    python -m pipeline.evaluation.provenance_judged sample --warehouse DIR [--seed 29]
        [--per-basis 30] [--undetermined 20]
    python -m pipeline.evaluation.provenance_judged [report] [--warehouse DIR]

``sample`` reads a published warehouse of the whole corpus (``DIR/wiretrace.duckdb``, for instance the
one ``python -m pipeline.evaluation.bench --keep DIR`` leaves; the sample's header records its size and
the tiers its run statistics name, :func:`warehouse_description`) and writes the items to
judge to ``pipeline/evaluation/data/provenance_judged.jsonl`` with ``truth`` empty. Strata: cross-outlet
reuse pairs whose direction rests on a credit line (``credit``: any basis naming it), on dates alone
(``dates``), on dates and the union test (``dates+union``), on the union test alone (``union``); and
pairs left undetermined (``undetermined``: ``common_source``, ``indirect``, ``conflict``, ``none``).
Each item keeps small excerpts only (titles, outlets, dates, URLs, sizes, up to six shared sentence
pairs, credit lines), the direction reported when it was drawn, and the corpus ids of both documents
and of their relatives (the documents the direction rules consult: their relatives in the story and
the other holders of the lines they share). Drawing again into an existing file keeps the judgments
already made for the same pairs.

``report`` re-scores the judged items against the current pipeline: it runs the pipeline (lexical
tiers, as the full-corpus benchmark) on the judged documents and their relatives taken from the corpus
(doc ids are content hashes, so they match the warehouse the sample was drawn from), reads the
direction of each judged pair and compares it with the judged truth; with ``--warehouse`` it reads the
directions from that full-corpus warehouse instead (the exact context; the sub-corpus run is an
approximation: a relative's own relatives and corpus-wide boilerplate statistics are not all there,
so the report also gives how often the two agree). Results go to
``pipeline/evaluation/results/provenance_judged.md`` (a rerun rewrites the figures and keeps the
file's dated notes, which follow ``pipeline.evaluation.common.NOTES_MARK``). Without the shared data
folder (and without ``--warehouse``) the script says so and exits.

Criterion
---------
For each pair (documents A and B) the judge reads everything a careful reader can see in the item and,
when needed, the two articles: the dates shown (days only in this corpus), credit lines and datelines
("(AP)", "Reuters contributed to this report", "This article originally appeared in ..."), which text
is fuller or more original (a copy trims, adds local context and attribution, rewords), the wording
(which version the other diverges from) and the nature of the outlets (a wire agency or the outlet that
wrote the story vs a republisher or aggregator), and writes ``truth``:

* ``a->b``: A is B's source (B took the text from A, directly or through copies of A);
* ``b->a``: the reverse;
* ``common``: neither took the text from the other: both took it from a common source (a wire story
  carried by both, a press release, a transcript, a third article), or they share only quotations of
  the same speaker;
* ``unknown``: the reader cannot tell (e.g. two identical texts on one day with no credit line).

and a short ``note`` saying why. The ``label`` of an item is its truth compared with the direction the
pipeline reports:

* a direction X -> Y: **Y** when the truth is X -> Y; **N** when it is Y -> X or ``common`` (a direction
  drawn between two copies of one source is wrong); **U** when the truth is ``unknown``;
* undetermined: **Y** when the truth is ``common`` (nothing wrong is said, and a common source is what
  siblings and indirect relations claim), **N** when the truth is a direction (a direction a reader can
  see was missed), **U** when the truth is ``unknown``.

Precision of directions = Y / (Y + N) over directed pairs; the undetermined share and the share of
undetermined pairs whose direction a reader can tell are reported too. The truth is judged once, by
reading; labels are recomputed from it whenever the pipeline's output changes. Never label by a
heuristic, a keyword rule or a score, and never tune the rules on a sample before it is judged.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.run import run_pipeline
from pipeline.evaluation.common import git_commit, shared_data, show_result, with_notes, write_items_to_judge

CORPUS = Path("corpora") / "allsides_baly2020.parquet"
DATA_DIR = Path(__file__).resolve().parent / "data"
DATA = DATA_DIR / "provenance_judged.jsonl"  # the development sample; others: provenance_judged_<name>.jsonl
STRATA = ("credit", "dates", "dates+union", "union", "undetermined")
TRUTHS = ("a->b", "b->a", "common", "unknown")
MAX_SHARED = 6
MAX_RELATIVES = 40

# lines shown to the judge as possible credit lines (display only: never used to label)
_CREDIT_LINE = re.compile(
    r"\((?:AP|Reuters|AFP|CNN|UPI|Bloomberg)\)|Associated Press|Reuters|Agence France|AFP\b|Bloomberg|"
    r"contributed to this report|originally (?:appeared|published)|first (?:appeared|published)|"
    r"republished|reprinted|wire services?|syndicat",
    re.IGNORECASE,
)


def stratum(direction: str, basis: str) -> str:
    """The sampling stratum of a pair's direction."""
    if direction == "undetermined":
        return "undetermined"
    parts = set((basis or "").split("+"))
    if "credit" in parts:
        return "credit"
    if parts == {"dates"}:
        return "dates"
    if parts == {"dates", "union"}:
        return "dates+union"
    if parts == {"union"}:
        return "union"
    return "+".join(sorted(parts))


def label(truth: str | None, direction: str | None) -> str | None:
    """Y, N or U for a reported direction (``a->b``, ``b->a``, ``undetermined``) given the judged truth
    (see the criterion in the module docstring); None when the item is not judged or not reported."""
    if truth not in TRUTHS or direction is None:
        return None
    if truth == "unknown":
        return "U"
    if direction == "undetermined":
        return "Y" if truth == "common" else "N"
    return "Y" if truth == direction else "N"


# ------------------------------------------------------------------------------------------ sample


def _sentences(con, doc_id: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT text FROM staging.sentences WHERE doc_id = ? ORDER BY sentence_index", [doc_id]
        ).fetchall()
    ]


def _credit_lines(sents: list[str]) -> list[str]:
    """Up to four lines naming an agency or a republication, and the first and last line (datelines,
    bylines and closing credits sit there)."""
    out: list[str] = []
    for s in [*sents[:1], *[s for s in sents if _CREDIT_LINE.search(s)][:4], *sents[-1:]]:
        s = s if len(s) <= 300 else s[:297] + "..."
        if s not in out:
            out.append(s)
    return out


def _neighbours(con, doc_id: str) -> list[str]:
    rows = con.execute(
        """SELECT CASE WHEN doc_id_a = ? THEN doc_id_b ELSE doc_id_a END AS other,
                  n_exact + n_near + n_paraphrase AS n
           FROM marts.document_pairs
           WHERE (doc_id_a = ? OR doc_id_b = ?) AND in_story AND NOT quote_only
           ORDER BY n DESC, other""",
        [doc_id, doc_id, doc_id],
    ).fetchall()
    return [r[0] for r in rows]


def _cluster_docs(con, a: str, b: str) -> set[str]:
    """The documents holding a sentence of the sentence clusters a and b share (other outlets quoting
    or copying the same lines: the rules read whether a line is quoted elsewhere)."""
    rows = con.execute(
        """SELECT DISTINCT c2.doc_id FROM marts.sentence_matches m
           JOIN marts.sentence_clusters c1 ON c1.sentence_id = m.sentence_id_a
           JOIN marts.sentence_clusters c2 ON c2.cluster_id = c1.cluster_id
           WHERE m.doc_id_a = ? AND m.doc_id_b = ? ORDER BY 1 LIMIT ?""",
        [a, b, MAX_RELATIVES],
    ).fetchall()
    return {r[0] for r in rows}


def _item(con, row: dict) -> dict:
    a, b = row["doc_id_a"], row["doc_id_b"]
    meta = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT doc_id, external_id, title, url, published_at_raw FROM raw.documents WHERE doc_id IN (?, ?)",
            [a, b],
        ).fetchall()
    }
    shared = con.execute(
        """SELECT m.kind, m.is_quote, sa.text, sb.text FROM marts.sentence_matches m
           JOIN staging.sentences sa ON sa.sentence_id = m.sentence_id_a
           JOIN staging.sentences sb ON sb.sentence_id = m.sentence_id_b
           WHERE m.doc_id_a = ? AND m.doc_id_b = ? AND m.relation IN ('reuse', 'quote')
           ORDER BY m.index_a LIMIT ?""",
        [a, b, MAX_SHARED],
    ).fetchall()
    rel = sorted(
        (
            set(_neighbours(con, a)[:MAX_RELATIVES])
            | set(_neighbours(con, b)[:MAX_RELATIVES])
            | _cluster_docs(con, a, b)
        )
        - {a, b}
    )
    ext = dict(
        con.execute(
            "SELECT doc_id, external_id FROM raw.documents WHERE list_contains(?, doc_id)", [rel]
        ).fetchall()
    )
    return {
        "item": "document_pair",
        "stratum": stratum(row["direction"], row["direction_basis"]),
        "doc_id_a": a,
        "doc_id_b": b,
        "corpus_id_a": meta[a][0],
        "corpus_id_b": meta[b][0],
        "source_a": row["source_a"],
        "source_b": row["source_b"],
        "title_a": meta[a][1],
        "title_b": meta[b][1],
        "url_a": meta[a][2],
        "url_b": meta[b][2],
        "date_a": meta[a][3],
        "date_b": meta[b][3],
        "n_matchable_a": row["n_matchable_a"],
        "n_matchable_b": row["n_matchable_b"],
        "n_shared_a": row["n_shared_a"],
        "n_shared_b": row["n_shared_b"],
        "n_exact": row["n_exact"],
        "n_near": row["n_near"],
        "n_paraphrase": row["n_paraphrase"],
        "shared": [{"kind": k, "is_quote": q, "text_a": ta, "text_b": tb} for k, q, ta, tb in shared],
        "credit_lines_a": _credit_lines(_sentences(con, a)),
        "credit_lines_b": _credit_lines(_sentences(con, b)),
        "relatives": sorted(ext[d] for d in rel if ext.get(d)),
        "sampled": {
            "direction": row["direction"],
            "basis": row["direction_basis"],
            "confidence": row["direction_confidence"],
            "evidence": row["direction_evidence"],
        },
        "truth": None,
        "label": None,
        "note": None,
    }


def draw_items(
    db: Path, seed: int, per_basis: int, undetermined: int, exclude: frozenset = frozenset()
) -> tuple[list[dict], dict]:
    con = duckdb.connect(str(db), read_only=True)
    cur = con.execute(
        """SELECT doc_id_a, doc_id_b, source_a, source_b, n_matchable_a, n_matchable_b, n_shared_a,
                  n_shared_b, n_exact, n_near, n_paraphrase, direction, direction_basis,
                  direction_confidence, direction_evidence
           FROM marts.document_pairs
           WHERE NOT same_source AND relation = 'reuse' AND in_story
           ORDER BY doc_id_a, doc_id_b"""
    )
    names = [d[0] for d in cur.description]
    pairs = [dict(zip(names, r, strict=True)) for r in cur.fetchall() if (r[0], r[1]) not in exclude]
    rng = random.Random(seed)
    by: dict[str, list[dict]] = defaultdict(list)
    for r in pairs:
        by[stratum(r["direction"], r["direction_basis"])].append(r)
    counts = {k: len(v) for k, v in sorted(by.items())}
    chosen: list[dict] = []
    for s in STRATA[:-1]:
        chosen += rng.sample(by[s], min(per_basis, len(by[s])))
    # undetermined pairs: the same number from each basis, as far as there are
    und: dict[str, list[dict]] = defaultdict(list)
    for r in by["undetermined"]:
        und[r["direction_basis"]].append(r)
    order = sorted(und)
    take = {k: 0 for k in order}
    while sum(take.values()) < undetermined and any(take[k] < len(und[k]) for k in order):
        for k in order:
            if take[k] < len(und[k]) and sum(take.values()) < undetermined:
                take[k] += 1
    for k in order:
        chosen += rng.sample(und[k], take[k])
    counts["undetermined_by_basis"] = {k: len(v) for k, v in sorted(und.items())}
    items = [_item(con, r) for r in chosen]
    con.close()
    return items, counts


def warehouse_tiers(con: duckdb.DuckDBPyConnection) -> str:
    """The matching tiers behind a warehouse's marts, as its run statistics (``meta.runs``) record
    them: those of the latest successful run whose overlap stage computed the matches (a run that found
    nothing changed keeps the marts of an earlier one)."""
    try:
        rows = con.execute(
            "SELECT tiers FROM meta.runs WHERE status = 'ok' ORDER BY started_at DESC"
        ).fetchall()
    except duckdb.Error:
        rows = []
    for (raw,) in rows:
        tiers = json.loads(raw or "{}")
        if tiers.get("exact") != "ran":
            continue
        semantic = tiers.get("semantic", "not run")
        if semantic == "ran":
            return "the default tiers (lexical and semantic)"
        return f"lexical tiers (semantic tier: {semantic})"
    return "tiers not recorded (no run of the overlap stage in meta.runs)"


def warehouse_description(db: Path) -> str:
    """How many articles a warehouse holds and with which tiers its matches were found."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM marts.documents").fetchall()[0][0]
        return f"a warehouse of {n:,} articles, {warehouse_tiers(con)}"
    finally:
        con.close()


def cmd_sample(args: argparse.Namespace) -> int:
    db = Path(args.warehouse) / "wiretrace.duckdb"
    if not db.is_file():
        print(f"no published warehouse at {db}")
        return 1
    out = Path(args.out) if args.out else DATA
    # pairs of the other judged samples are not drawn again
    exclude = frozenset(
        (i["doc_id_a"], i["doc_id_b"])
        for f in sample_files()
        if f.resolve() != out.resolve()
        for i in load_judged(f)[1]
    )
    items, counts = draw_items(db, args.seed, args.per_basis, args.undetermined, exclude)
    counts["excluded_already_judged"] = len(exclude)
    if out.is_file():  # drawn again (e.g. with more context): the judgments already made are kept
        _, old = load_judged(out)
        judged = {(i["doc_id_a"], i["doc_id_b"]): i for i in old if i.get("truth")}
        for i in items:
            j = judged.get((i["doc_id_a"], i["doc_id_b"]))
            if j is not None:
                i.update(truth=j["truth"], note=j["note"], label=label(j["truth"], i["sampled"]["direction"]))
    fidelity = None
    if shared_data() is not None:  # how well the report's sub-corpus run stands for the full corpus
        with tempfile.TemporaryDirectory(prefix="wiretrace-provenance-") as tmp:
            found, run = rerun(items, Path(tmp))
        same = sum(
            found.get((i["doc_id_a"], i["doc_id_b"]), (None,))[0] == i["sampled"]["direction"] for i in items
        )
        fidelity = {**run, "same_direction": same, "pairs": len(items)}
    out.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "item": "header",
        "seed": args.seed,
        "role": args.role,
        "per_basis": args.per_basis,
        "undetermined": args.undetermined,
        "commit": git_commit(),
        "command": f"python -m pipeline.evaluation.provenance_judged sample --warehouse DIR --seed {args.seed} "
        f"--per-basis {args.per_basis} --undetermined {args.undetermined} --role {args.role}"
        + (f" --out {out.resolve().relative_to(DATA_DIR.parents[2])}" if args.out else ""),
        "warehouse": warehouse_description(db),
        "counts": counts,
        "sub_corpus_run": fidelity,
    }
    write_items_to_judge(out, header, items)
    return 0


# ------------------------------------------------------------------------------------------ report


def sample_files() -> list[Path]:
    """The judged samples kept in the repo: the development sample first, then the others by name."""
    return sorted(DATA_DIR.glob("provenance_judged*.jsonl"), key=lambda f: (f != DATA, f.name))


def load_judged(path: Path = DATA) -> tuple[dict, list[dict]]:
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    head = lines[0] if lines and lines[0].get("item") == "header" else {}
    return head, [x for x in lines if x.get("item") != "header"]


def _directions_from(db: Path, items: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """(doc_id_a, doc_id_b) -> (direction, basis) of the judged pairs in a published warehouse."""
    con = duckdb.connect(str(db), read_only=True)
    keys = [[i["doc_id_a"], i["doc_id_b"]] for i in items]
    rows = con.execute(
        """SELECT p.doc_id_a, p.doc_id_b, p.direction, p.direction_basis FROM marts.document_pairs p
           JOIN (SELECT unnest(?) AS k) ON p.doc_id_a = k[1] AND p.doc_id_b = k[2]""",
        [keys],
    ).fetchall()
    con.close()
    return {(a, b): (d, basis) for a, b, d, basis in rows}


def rerun(items: list[dict], workdir: Path) -> tuple[dict[tuple[str, str], tuple[str, str]], dict]:
    """Run the pipeline (lexical tiers) on the judged documents and their relatives; their directions."""
    ids = {i[f"corpus_id_{s}"] for i in items for s in "ab"} | {r for i in items for r in i["relatives"]}
    corpus = pl.read_parquet(shared_data() / CORPUS).filter(pl.col("id").is_in(sorted(ids))).sort("id")
    landing, wh = workdir / "landing", workdir / "warehouse"
    landing.mkdir(parents=True, exist_ok=True)
    corpus.write_parquet(landing / "allsides.parquet")
    t = time.perf_counter()
    run_pipeline(landing, wh, encoder=None)
    run = {"documents": corpus.height, "seconds": round(time.perf_counter() - t, 1)}
    return _directions_from(wh / "wiretrace.duckdb", items), run


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def _weights(head: dict, items: list[dict]) -> dict[tuple[str, str], float]:
    """Each item's weight for population estimates: the number of pairs of its drawing stratum (for
    undetermined pairs, of its basis) over the number of items drawn from it."""
    counts = head.get("counts", {})

    def key(i: dict) -> str:
        return i["stratum"] + ("/" + i["sampled"]["basis"] if i["stratum"] == "undetermined" else "")

    drawn: dict[str, int] = defaultdict(int)
    for i in items:
        drawn[key(i)] += 1
    out = {}
    for i in items:
        k = key(i)
        if i["stratum"] == "undetermined":
            pop = counts.get("undetermined_by_basis", {}).get(i["sampled"]["basis"], 0)
        else:
            pop = counts.get(i["stratum"], 0)
        out[(i["doc_id_a"], i["doc_id_b"])] = pop / drawn[k]
    return out


def score(items: list[dict], found: dict[tuple[str, str], tuple[str, str]]) -> dict:
    """Counts per stratum (the stratum of the direction reported now) and overall."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i in items:
        d, basis = found.get((i["doc_id_a"], i["doc_id_b"]), (None, None))
        if d is None:
            rows["not reported"]["n"] += 1
            continue
        s = stratum(d, basis)
        lab = label(i.get("truth"), d)
        for key in (s, "directed" if d != "undetermined" else "undetermined (all)", "all"):
            rows[key]["n"] += 1
            rows[key][lab or "unjudged"] += 1
    return rows


def weighted_precision(items: list[dict], found: dict, weights: dict) -> tuple[float, float]:
    """(precision of the directed pairs, share of pairs directed), each item weighted by its drawing
    stratum (:func:`_weights`): estimates for all the cross-outlet story pairs the sample was drawn
    from."""
    y = n = directed = total = 0.0
    for i in items:
        k = (i["doc_id_a"], i["doc_id_b"])
        d = found.get(k, (None,))[0]
        if d is None:
            continue
        w = weights[k]
        total += w
        if d != "undetermined":
            directed += w
            lab = label(i.get("truth"), d)
            y += w * (lab == "Y")
            n += w * (lab == "N")
    return (y / (y + n) if y + n else math.nan, directed / total if total else math.nan)


def _fmt_rows(rows: dict) -> list[str]:
    out = [
        "| reported now | pairs | Y | N | U | precision Y / (Y + N) | 95 % CI |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    order = [*STRATA[:-1], *sorted(k for k in rows if k not in (*STRATA, "directed", "all")), "directed"]
    order += ["undetermined", "all"]
    for k in dict.fromkeys(order):
        if k not in rows or k == "undetermined (all)":
            continue
        r = rows[k]
        y, n, u = r.get("Y", 0), r.get("N", 0), r.get("U", 0)
        if k in ("undetermined",):
            prec, ci = "–", "–"
        elif y + n:
            lo, hi = wilson(y, y + n)
            prec, ci = f"{y / (y + n):.2f}", f"{lo:.2f}–{hi:.2f}"
        else:
            prec, ci = "–", "–"
        name = "all (directed: right; undetermined: a common source)" if k == "all" else k
        out.append(f"| {name} | {r['n']} | {y} | {n} | {u} | {prec} | {ci} |")
    return out


def _wrong(items: list[dict], found: dict) -> list[str]:
    """The judged pairs the directions get wrong (N), with the judge's note."""
    out = []
    for n, i in enumerate(items):
        d, basis = found.get((i["doc_id_a"], i["doc_id_b"]), (None, None))
        if label(i.get("truth"), d) == "N":
            out.append(
                f"| {n} | {i['source_a']} / {i['source_b']} | {d} ({basis}) | {i['truth']} | {i['note']} |"
            )
    if not out:
        return []
    return ["", "| item | outlets a / b | reported | judged | note |", "|---:|---|---|---|---|", *out]


def _report_sample(path: Path, args: argparse.Namespace) -> list[str]:
    """The report section of one judged sample file."""
    head, items = load_judged(path)
    judged = [i for i in items if i.get("truth") in TRUTHS]
    if len(judged) < len(items):
        print(f"{path.name}: {len(items) - len(judged)} of {len(items)} items are not judged yet")
    sampled = {
        (i["doc_id_a"], i["doc_id_b"]): (i["sampled"]["direction"], i["sampled"]["basis"]) for i in items
    }
    sources: list[tuple[str, dict, str]] = [
        (
            f"as drawn from the full-corpus warehouse (rules as at commit {head.get('commit', '?')})",
            sampled,
            "",
        )
    ]
    if args.warehouse:
        found = _directions_from(Path(args.warehouse) / "wiretrace.duckdb", items)
        sources.append((f"in the warehouse given (`--warehouse`), read at commit {git_commit()}", found, ""))
    if shared_data() is not None:
        with tempfile.TemporaryDirectory(prefix="wiretrace-provenance-") as tmp:
            found, run = rerun(items, Path(tmp))
        fid = head.get("sub_corpus_run") or {}
        sources.append(
            (
                f"now: sub-corpus run (commit {git_commit()}; {run['documents']} documents: the judged pairs and "
                f"their relatives, {run['seconds']} s)",
                found,
                f"How well the sub-corpus stands for the full corpus: at the commit that drew the sample, the "
                f"sub-corpus run gave the full corpus's direction for {fid.get('same_direction', '?')} of "
                f"{fid.get('pairs', '?')} pairs.",
            )
        )
    truths = defaultdict(int)
    for i in judged:
        truths[(i["stratum"], i["truth"])] += 1
    weights = _weights(head, items)
    role = head.get("role", "development")
    out = [
        "",
        f"## Sample `{path.name}` ({role})",
        "",
        f"Drawn by `{head.get('command', '?')}` at commit {head.get('commit', '?')} from "
        f"{head.get('warehouse', '?')}; {len(items)} cross-outlet document pairs that link a story "
        f"({len(judged)} judged), stratified by the basis of their direction when drawn. Pairs in the "
        f"corpus when drawn, by stratum: {json.dumps(head.get('counts', {}))}.",
        "",
        "Judged truth by stratum at drawing: "
        + "; ".join(
            f"{s}: " + ", ".join(f"{t} {truths[(s, t)]}" for t in TRUTHS if truths[(s, t)])
            for s in dict.fromkeys(i["stratum"] for i in judged)
        )
        + ".",
        "",
        "A development sample was read before the rules were last changed, and the changes answer what "
        "it showed: figures after the change are optimistic for pairs not in it. A test sample was drawn "
        "and judged after the last change."
        if role == "development"
        else "Drawn and judged after the last change to the rules, from the pairs no other sample holds.",
    ]
    for name, found, note in sources:
        rows = score(items, found)
        und = rows.get("undetermined", {})
        n_all = rows.get("all", {}).get("n", 0)
        wp, wd = weighted_precision(items, found, weights)
        out += ["", f"### Directions {name}", ""]
        if note:
            out += [note, ""]
        out += _fmt_rows(rows)
        out += [
            "",
            f"Undetermined: {und.get('n', 0)} of {n_all} pairs; of them a reader sees a direction in "
            f"{und.get('N', 0)} (missed), a common source in {und.get('Y', 0)}, nothing decisive in {und.get('U', 0)}.",
            "",
            f"Weighted by stratum size (an estimate for the {sum(weights.values()):.0f} cross-outlet story pairs "
            f"the sample was drawn from): precision of directions {wp:.2f}, share of pairs directed {wd:.2f}.",
            "",
            "Wrong (N):",
            *_wrong(items, found),
        ]
    return out


def cmd_report(args: argparse.Namespace) -> int:
    files = sample_files()
    if not files:
        print(f"no judged sample in {DATA_DIR}")
        return 0
    if shared_data() is None and not args.warehouse:
        print("shared data not found: set WIRETRACE_SHARED_DATA or place it at ../shared/data; skipped")
        return 0
    cmd = "python -m pipeline.evaluation.provenance_judged report" + (
        " --warehouse DIR" if args.warehouse else ""
    )
    out = [
        "# Directions on real news (judged samples)",
        "",
        f"Command: `{cmd}` (commit {git_commit()}). Samples: `pipeline/evaluation/data/provenance_judged*.jsonl`, "
        "pairs of the AllSides corpus (dates are days only) read by the criterion in the script's docstring. "
        "For each sample: the directions as drawn, and the directions the current rules give (a sub-corpus "
        "run of the judged pairs and their relatives; with `--warehouse`, also those of a full-corpus "
        "warehouse).",
    ]
    for f in files:
        out += _report_sample(f, args)
    # the file's dated notes (before / after a change of the rules) are kept
    show_result("provenance_judged", with_notes("provenance_judged", "\n".join(out) + "\n"))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.provenance_judged")
    sub = ap.add_subparsers(dest="cmd")
    s = sub.add_parser("sample", help="draw pairs to judge from a full-corpus warehouse")
    s.add_argument("--warehouse", required=True, help="folder holding the published wiretrace.duckdb")
    s.add_argument("--seed", type=int, default=29)
    s.add_argument("--per-basis", type=int, default=30)
    s.add_argument("--undetermined", type=int, default=20)
    s.add_argument("--out", default=None)
    s.add_argument(
        "--role",
        choices=("development", "test"),
        default="test",
        help="development: read while the rules were changed; test: drawn and judged after the last change",
    )
    s.set_defaults(func=cmd_sample)
    r = sub.add_parser("report", help="re-score the judged sample against the current pipeline")
    r.add_argument("--warehouse", default=None, help="read directions from this warehouse instead")
    r.set_defaults(func=cmd_report)
    args = ap.parse_args(argv if argv is not None else None)
    if not getattr(args, "func", None):
        args = ap.parse_args(["report"])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
