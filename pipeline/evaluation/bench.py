"""The benchmark of ``make bench``: every figure the pipeline's performance targets name, in one run of the benchmark.

    python -m pipeline.evaluation.bench                      # everything, on the whole benchmark corpus
    python -m pipeline.evaluation.bench --limit 2000         # a quick run on the first 2,000 articles
    python -m pipeline.evaluation.bench --only lexical,sample

The benchmark corpus is ``../shared/data/corpora/allsides_baly2020.parquet`` (37,554 AllSides
articles, ordered by id; ``--limit N`` keeps the first N). Every measured run is one ``wiretrace run``
(``--runner wiretrace``, the default: the Dagster job, as a user runs it) or one process running the
stages in-process (``--runner stages``: ``pipeline.core.run.run_pipeline``, without Dagster), started as a
child process of this driver on a fresh landing folder (the corpus is copied, never linked: ingest
refuses links leading outside the landing folder) and, unless said otherwise, a fresh warehouse. The
settings are the defaults: ``WIRETRACE_SEMANTIC`` and ``WIRETRACE_VERIFIER`` are removed from the
children's environment, and ``DAGSTER_HOME`` too (each warehouse gets its own Dagster instance).

Per run: wall time of the process (what the user waits, interpreter start included), the seconds of
each stage as the run reports them, and peak memory, both the largest single process (``ru_maxrss``
of the run and the workers it waited for, from ``wait4``) and the whole process tree (the sum of the
proportional set sizes of the run and its workers, sampled every half second from ``/proc``); the
peak a target is judged on is the larger of the two.

Parts (``--only``, comma-separated; default all):

``lexical``
    a full run with the lexical tiers only (``--no-semantic``);
``default``
    a full run with the defaults (semantic tier on): at most 1.5 times the lexical run;
``curve``
    full runs with the defaults on 25 %, 50 %, 100 % (the ``default`` run) and 200 % of the corpus;
    200 % is the corpus plus a copy of it under other outlet names, ids and URLs (``duplicate``):
    peak memory at most 3 GiB at every size, and growing by at most 25 % from 100 % to 200 %
    (bounded by the chunk size, not by the corpus);
``incremental``
    on one warehouse, a full run on the corpus without its newest 1 % of articles (by publication
    date, then id), a run adding them as a new landing file, and a run with nothing new: at most 5 %
    and 2 % of the full run; with the ``default`` part, the published tables after these batches are
    compared with those of the one full run on the same articles (at least 99.5 % of
    ``marts.sentence_matches`` rows identical);
``sample``
    the five articles of ``data/sample`` (with their ``manifest.csv``) alone, and added to the corpus
    (one full run on both): the matches among the five documents inside the corpus keep at least 90 %
    of those they get alone, overall and between Washington Newsday and AFP; per document pair, with
    the matches gained inside the corpus and those between the five and the corpus.

Writes ``pipeline/evaluation/results/bench.md`` (``bench_limit<N>.md`` with ``--limit``) after every
part, with the commit, the command, the machine, a table per part and a PASS/FAIL line per target; the
logs of the runs are kept in the work folder (``--work``, else a temporary folder removed at the end
unless ``--keep``). The machine may be shared while it runs: times are upper bounds. Skips with a
message when the shared data is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.core.run import run_pipeline
from pipeline.evaluation.common import REPO, git_commit, shared_data, write_result

CORPUS = Path("corpora") / "allsides_baly2020.parquet"
SAMPLE = REPO / "data" / "sample"
PARTS = ("lexical", "default", "curve", "incremental", "sample")
CURVE = (0.25, 0.5, 1.0, 2.0)
NEW_SHARE = 0.01

# the targets
MAX_DEFAULT_OVER_LEXICAL = 1.5
MAX_PEAK_GIB = 3.0
MAX_CURVE_GROWTH = 1.25  # peak at 200 % over peak at 100 % of the corpus
MAX_NEW_SHARE = 0.05  # a run adding 1 % new articles, over the full run
MAX_NOTHING_SHARE = 0.02  # a run with nothing new, over the full run
MIN_SAMPLE_KEPT = 0.90
MIN_IDENTICAL_MATCHES = 0.995  # rows of sentence_matches identical after batches and after one run
#: the published tables compared between the batches and one full run
COMPARED = ("marts.sentence_matches", "marts.document_pairs", "marts.document_originality", "marts.stories")

# the environment a measured run must not inherit: the defaults are measured
_UNSET = ("WIRETRACE_SEMANTIC", "WIRETRACE_VERIFIER", "DAGSTER_HOME")
WN, AFP = "Washington Newsday", "AFP"


# ------------------------------------------------------------------------------- corpus preparation


def load_corpus(path: Path, limit: int = 0) -> pl.DataFrame:
    """The benchmark articles in id order; the first ``limit`` when ``limit`` is set."""
    df = pl.read_parquet(path).sort("id")
    return df.head(limit) if limit else df


def _copy_url(url: pl.Expr, tag: str) -> pl.Expr:
    """``scheme://host/...`` -> ``scheme://<tag>.host/...``; anything else gets a ``<tag>:`` prefix."""
    return (
        pl.when(url.str.contains("://"))
        .then(url.str.replace("://", f"://{tag}.", literal=True))
        .otherwise(pl.lit(f"{tag}:") + url)
    )


def duplicate(df: pl.DataFrame, tag: str = "copy") -> pl.DataFrame:
    """The same articles under other outlets, ids and URLs: outlet ``X`` -> ``X (copy)``, id ``i`` ->
    ``copy-i``, ``https://www.x.com/a`` -> ``https://copy.www.x.com/a``, domain ``d`` -> ``copy.d``.
    Texts, titles and dates are unchanged; document ids (a hash of outlet and content) all differ."""
    out = df.with_columns(
        (pl.col("outlet") + f" ({tag})").alias("outlet"),
        (pl.lit(f"{tag}-") + pl.col("id")).alias("id"),
        _copy_url(pl.col("url"), tag).alias("url"),
    )
    if "outlet_domain" in df.columns:
        out = out.with_columns((pl.lit(f"{tag}.") + pl.col("outlet_domain")).alias("outlet_domain"))
    if "source_path" in df.columns:
        out = out.with_columns((pl.lit(f"{tag}/") + pl.col("source_path")).alias("source_path"))
    return out


def scaled(df: pl.DataFrame, fraction: float) -> pl.DataFrame:
    """``fraction`` of the corpus: the first articles in id order up to 1, the corpus plus a copy of its
    first ``fraction - 1`` (``duplicate``) above 1 (2.0: the corpus twice, under two names)."""
    if fraction <= 0 or fraction > 2:
        raise ValueError(f"fraction must be in (0, 2], not {fraction}")
    if fraction <= 1:
        return df.head(round(fraction * df.height))
    return pl.concat([df, duplicate(df.head(round((fraction - 1) * df.height)))])


def split_new(df: pl.DataFrame, share: float = NEW_SHARE) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(old, new): the newest ``share`` of the articles (at least one) by publication date then id, as
    a daily feed would bring them; undated articles count as oldest."""
    n_new = max(1, round(share * df.height))
    order = df.with_row_index("_row").sort(["date_iso", "id"], nulls_last=False)
    new_rows = set(order["_row"].tail(n_new).to_list())
    mask = pl.Series([i in new_rows for i in range(df.height)])
    return df.filter(~mask), df.filter(mask)


# ------------------------------------------------------------------------------------- measurement


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def _memory_kib(pid: int) -> int:
    """Proportional set size of a process (resident size when ``smaps_rollup`` is unavailable)."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path) as fh:
                for line in fh:
                    if line.startswith(key):
                        return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return 0


def tree_memory_kib(pid: int) -> int:
    """The memory of a process and all its descendants now (sum of proportional set sizes)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _memory_kib(p)
        todo += _children(p)
    return total


@dataclass
class Measured:
    """One measured process: wall seconds, peak memory, exit code and its standard output."""

    seconds: float
    largest_gib: float  # ru_maxrss of the process and the children it waited for
    tree_gib: float  # sampled peak of the summed proportional set sizes of the process tree
    returncode: int
    stdout: str

    @property
    def peak_gib(self) -> float:
        return max(self.largest_gib, self.tree_gib)


def shown_arguments(argv: list[str]) -> list[str]:
    """The command-line arguments as a report shows them: the folders and files of this machine named
    ``DIR`` and ``FILE``."""
    out: list[str] = []
    placeholder = {"--work": "DIR", "--output": "FILE"}
    hide = None
    for arg in argv:
        if hide:
            out.append(hide)
            hide = None
        elif arg in placeholder:
            out.append(arg)
            hide = placeholder[arg]
        elif arg.split("=", 1)[0] in placeholder and "=" in arg:
            out.append(f"{arg.split('=', 1)[0]}={placeholder[arg.split('=', 1)[0]]}")
        else:
            out.append(arg)
    return out


def measure(cmd: list[str], env: dict[str, str], log: Path, interval: float = 0.5) -> Measured:
    """Run ``cmd`` to its end; its standard error is appended to ``log``. ``largest_gib`` is the kernel's
    peak resident size of the largest process waited for, which Linux keeps across ``exec``: a child
    starts from the size of the process that forked it, so the driver calling this stays small."""
    peak = [0]
    done = threading.Event()
    with open(log, "ab") as err, tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_memory_kib(proc.pid))
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            done.set()
            sampler.join()
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
    return Measured(
        seconds=seconds,
        largest_gib=usage.ru_maxrss / 2**20,
        tree_gib=peak[0] / 2**20,
        returncode=proc.returncode,
        stdout=stdout,
    )


@dataclass
class Run:
    """One measured pipeline run and what it reported."""

    label: str
    n_articles: int
    measured: Measured
    stages: dict[str, float] = field(default_factory=dict)
    tiers: dict[str, str] = field(default_factory=dict)
    matches: int | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def seconds(self) -> float:
        return self.measured.seconds

    @property
    def peak_gib(self) -> float:
        return self.measured.peak_gib


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return env


def run_command(runner: str, landing: Path, wh: Path, semantic: bool) -> list[str]:
    if runner == "wiretrace":
        cmd = [sys.executable, "-m", "pipeline.cli", "run", "--input", str(landing)]
        cmd += ["--warehouse", str(wh), "--json", "--progress", "log"]
    else:
        cmd = [sys.executable, "-m", "pipeline.evaluation.bench", "_stages", str(landing), str(wh)]
    return cmd + ([] if semantic else ["--no-semantic"])


def _read_outputs(wh: Path, run_id: str | None) -> tuple[dict, int | None]:
    """The run's tiers (``meta.runs``) and the published matches."""
    import duckdb

    tiers: dict = {}
    matches = None
    work, pub = wh / "work.duckdb", wh / "wiretrace.duckdb"
    try:  # a failed run may have left neither
        if work.is_file():
            with duckdb.connect(str(work), read_only=True) as con:
                sql = "SELECT tiers FROM meta.runs " + ("WHERE run_id = ? " if run_id else "")
                rows = con.sql(sql + "ORDER BY started_at DESC LIMIT 1", params=[run_id] if run_id else None)
                rows = rows.fetchall()
                tiers = json.loads(rows[0][0] or "{}") if rows else {}
        if pub.is_file():
            with duckdb.connect(str(pub), read_only=True) as con:
                matches = con.sql("SELECT count(*) FROM marts.sentence_matches").fetchall()[0][0]
    except duckdb.Error as exc:
        print(f"[bench] cannot read the run's outputs in {wh}: {exc}", flush=True)
    return tiers, matches


def pipeline_run(
    label: str, landing: Path, wh: Path, *, semantic: bool, runner: str, log: Path, n_articles: int
) -> Run:
    """One measured run of the pipeline on ``landing`` into ``wh``."""
    with open(log, "a") as fh:
        fh.write(f"\n==== {label} ({time.strftime('%H:%M:%S')})\n")
    print(f"[bench] {label} ...", flush=True)
    m = measure(run_command(runner, landing, wh, semantic), child_env(), log)
    run = Run(label, n_articles, m)
    try:
        report = json.loads(m.stdout[m.stdout.index("{") :]) if "{" in m.stdout else {}
    except ValueError:
        report = {}
    for step in report.get("steps", []):
        if step.get("seconds") is not None:
            run.stages[step["stage"]] = run.stages.get(step["stage"], 0.0) + float(step["seconds"])
        run.notes += [n for n in step.get("notes", []) if "skipped" in n]
    if m.returncode != 0 or not report.get("success", False):
        errors = report.get("errors") or [f"exit code {m.returncode}; see the log"]
        run.error = "; ".join(str(e) for e in errors)[:500]
    run.tiers, run.matches = _read_outputs(wh, report.get("run_id"))
    print(
        f"[bench] {label}: {m.seconds:.1f}s, peak {m.peak_gib:.2f} GiB, matches {run.matches}"
        + (f", ERROR {run.error}" if run.error else ""),
        flush=True,
    )
    return run


def _stages_main(argv: list[str]) -> int:
    """The ``--runner stages`` child: the five stages in this process; a JSON report on stdout."""
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluation.bench _stages")
    ap.add_argument("landing", type=Path)
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--no-semantic", action="store_true")
    args = ap.parse_args(argv)
    report: dict = {"steps": [], "success": False, "run_id": None, "errors": []}
    try:
        results = run_pipeline(args.landing, args.warehouse, encoder=None if args.no_semantic else "auto")
        report["steps"] = [
            {"stage": r.stage, "seconds": round(r.seconds, 2), "notes": list(r.notes)} for r in results
        ]
        report["success"] = True
    except Exception as exc:  # the driver reports the failure with the run
        report["errors"] = [f"{type(exc).__name__}: {exc}"]
    print(json.dumps(report))
    return 0 if report["success"] else 1


# ------------------------------------------------------------------------------------- the session


@dataclass
class Session:
    """Where the runs of one benchmark happen and what they measured."""

    corpus: pl.DataFrame
    work: Path
    runner: str
    log: Path
    runs: dict[str, Run] = field(default_factory=dict)
    curve: dict[float, Run] = field(default_factory=dict)
    incremental: list[Run] = field(default_factory=list)
    #: the compared tables (``COMPARED``) as Parquet files: after the default run, after the batches
    tables_one_run: dict[str, Path] = field(default_factory=dict)
    tables_batches: dict[str, Path] = field(default_factory=dict)
    sample: dict | None = None
    startup: float | None = None
    failures: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)
    keep: bool = False
    _n: int = 0

    def fresh(self, name: str) -> tuple[Path, Path]:
        """A new landing folder and a new warehouse folder (in one folder ``done_with`` removes)."""
        self._n += 1
        base = self.work / f"{self._n:02d}_{name}"
        (base / "landing").mkdir(parents=True)
        return base / "landing", base / "wh"

    def run(self, label: str, landing: Path, wh: Path, n_articles: int, semantic: bool = True) -> Run:
        return pipeline_run(
            label, landing, wh, semantic=semantic, runner=self.runner, log=self.log, n_articles=n_articles
        )

    def full_run(
        self, label: str, name: str, df: pl.DataFrame, semantic: bool, extra=None
    ) -> tuple[Run, Path]:
        """A run on a fresh warehouse of the articles ``df`` (and what ``extra`` adds to the landing
        folder); returns the run and its warehouse."""
        landing, wh = self.fresh(name)
        df.write_parquet(landing / "allsides.parquet")
        n = df.height + (len(extra(landing)) if extra is not None else 0)
        return self.run(label, landing, wh, n, semantic), wh

    def done_with(self, wh: Path) -> None:
        """Remove a run's landing folder and warehouse unless they are to be kept."""
        if not self.keep:
            shutil.rmtree(wh.parent, ignore_errors=True)


def save_tables(wh: Path, dest: Path) -> dict[str, Path]:
    """The ``COMPARED`` tables of a warehouse's published file as Parquet files in ``dest``."""
    import duckdb

    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    con = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    try:
        for table in COMPARED:
            out[table] = dest / f"{table}.parquet"
            con.execute(f"COPY (SELECT * FROM {table}) TO '{out[table]}' (FORMAT parquet)")
    finally:
        con.close()
    return out


def identical_rows(a: Path, b: Path) -> tuple[int, int, int]:
    """Rows of the two tables (Parquet files), and how many rows they have in common (as multisets)."""
    import duckdb

    con = duckdb.connect()
    try:
        na = con.execute("SELECT count(*) FROM read_parquet(?)", [str(a)]).fetchall()[0][0]
        nb = con.execute("SELECT count(*) FROM read_parquet(?)", [str(b)]).fetchall()[0][0]
        both = con.execute(
            "SELECT count(*) FROM (SELECT * FROM read_parquet(?) INTERSECT ALL SELECT * FROM read_parquet(?))",
            [str(a), str(b)],
        ).fetchall()[0][0]
    finally:
        con.close()
    return int(na), int(nb), int(both)


def part_lexical(s: Session) -> None:
    run, wh = s.full_run("full run, lexical tiers only", "lexical", s.corpus, semantic=False)
    s.runs["lexical"] = run
    s.done_with(wh)


def part_default(s: Session) -> None:
    run, wh = s.full_run("full run, defaults (semantic tier on)", "default", s.corpus, semantic=True)
    s.runs["default"] = s.curve[1.0] = run
    if run.ok:
        s.tables_one_run = save_tables(wh, s.work / "tables_one_run")
    s.done_with(wh)


def part_curve(s: Session) -> None:
    for fraction in CURVE:
        if fraction in s.curve:
            continue
        df = scaled(s.corpus, fraction)
        label = f"full run, defaults, {fraction:.0%} of the corpus"
        s.curve[fraction], wh = s.full_run(label, f"curve{int(fraction * 100)}", df, semantic=True)
        s.done_with(wh)


def part_incremental(s: Session) -> None:
    old, new = split_new(s.corpus)
    landing, wh = s.fresh("incremental")
    # the floor of any run: the same command's start-up (imports, Dagster definitions), ``--help``
    s.startup = measure([*run_command(s.runner, landing, wh, True), "--help"], child_env(), s.log).seconds
    old.write_parquet(landing / "allsides.parquet")
    label = f"full run, {old.height} articles (all but the newest 1%), empty warehouse"
    s.incremental.append(s.run(label, landing, wh, old.height))
    new.write_parquet(landing / "allsides_new.parquet")
    label = f"+{new.height} new articles (the newest 1%) in a new landing file"
    s.incremental.append(s.run(label, landing, wh, s.corpus.height))
    s.incremental.append(s.run("nothing new", landing, wh, s.corpus.height))
    if all(r.ok for r in s.incremental):
        s.tables_batches = save_tables(wh, s.work / "tables_batches")
    s.done_with(wh)


def copy_sample(landing: Path) -> list[str]:
    """The sample articles and their ``manifest.csv`` into ``landing``, as ``wiretrace run --input
    data/sample`` reads them; returns the articles' file names."""
    names = []
    for f in sorted(SAMPLE.iterdir()):
        if f.is_file():
            shutil.copyfile(f, landing / f.name)
            if f.name != "manifest.csv" and not f.name.endswith(".meta.json"):
                names.append(f.name)
    return names


MATCH_KEY = ["file_a", "file_b", "text_a", "text_b"]


def sample_matches(pub: Path, names: list[str]) -> tuple[pl.DataFrame, int]:
    """The published matches between two of the documents of the files ``names`` (at the top of the
    landing folder), one row per match as ``MATCH_KEY`` (the files in name order, the two sentences'
    texts) with the outlets, kind and relation; and the number of matches between one of those
    documents and any other document."""
    import duckdb

    con = duckdb.connect(str(pub), read_only=True)
    try:
        docs = con.sql(
            "SELECT doc_id, path, source FROM raw.documents WHERE list_contains(?, path)", params=[names]
        ).pl()
        ids = docs["doc_id"].to_list()
        m = con.sql(
            """SELECT m.doc_id_a, m.doc_id_b, m.kind, m.relation, sa.text AS text_a, sb.text AS text_b
               FROM marts.sentence_matches m
               JOIN staging.sentences sa ON sa.sentence_id = m.sentence_id_a
               JOIN staging.sentences sb ON sb.sentence_id = m.sentence_id_b
               WHERE list_contains(?, m.doc_id_a) AND list_contains(?, m.doc_id_b)""",
            params=[ids, ids],
        ).pl()
        with_others = con.sql(
            """SELECT count(*) FROM marts.sentence_matches
               WHERE list_contains(?, doc_id_a) <> list_contains(?, doc_id_b)""",
            params=[ids, ids],
        ).fetchall()[0][0]
    finally:
        con.close()
    return orient(m, docs), int(with_others)


def orient(m: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    """Matches keyed by file instead of document id, the file first in name order first (a document
    id is a content hash: the order of the two documents of a match may differ between warehouses)."""
    path_of = dict(zip(docs["doc_id"], docs["path"], strict=True))
    source_of = dict(zip(docs["path"], docs["source"], strict=True))
    m = m.with_columns(
        pl.col("doc_id_a").replace_strict(path_of, return_dtype=pl.String).alias("file_a"),
        pl.col("doc_id_b").replace_strict(path_of, return_dtype=pl.String).alias("file_b"),
    )
    swap = pl.col("file_a") > pl.col("file_b")
    return m.select(
        pl.when(swap).then(pl.col("file_b")).otherwise(pl.col("file_a")).alias("file_a"),
        pl.when(swap).then(pl.col("file_a")).otherwise(pl.col("file_b")).alias("file_b"),
        pl.when(swap).then(pl.col("text_b")).otherwise(pl.col("text_a")).alias("text_a"),
        pl.when(swap).then(pl.col("text_a")).otherwise(pl.col("text_b")).alias("text_b"),
        "kind",
        "relation",
    ).with_columns(
        pl.col("file_a").replace_strict(source_of, return_dtype=pl.String).alias("source_a"),
        pl.col("file_b").replace_strict(source_of, return_dtype=pl.String).alias("source_b"),
    )


def compare_sample(alone: pl.DataFrame, inside: pl.DataFrame) -> pl.DataFrame:
    """Per pair of sample files: the matches alone, inside the corpus, kept (found in both: the same
    files and sentence texts), gained (inside only) and the share of those alone that are kept."""
    pairs = ["file_a", "file_b"]
    a, b = alone.unique(MATCH_KEY), inside.unique(MATCH_KEY)
    kept = a.join(b.select(MATCH_KEY), on=MATCH_KEY, how="semi")
    gained = b.join(a.select(MATCH_KEY), on=MATCH_KEY, how="anti")

    def count(df: pl.DataFrame, name: str) -> pl.DataFrame:
        return df.group_by(pairs).agg(pl.len().alias(name))

    outlets = pl.concat([a, b]).select(*pairs, "source_a", "source_b").unique(pairs)
    return (
        outlets.join(count(a, "alone"), on=pairs, how="left")
        .join(count(b, "inside"), on=pairs, how="left")
        .join(count(kept, "kept"), on=pairs, how="left")
        .join(count(gained, "gained"), on=pairs, how="left")
        .with_columns(pl.col("alone", "inside", "kept", "gained").fill_null(0).cast(pl.Int64))
        .with_columns(pl.when(pl.col("alone") > 0).then(pl.col("kept") / pl.col("alone")).alias("kept_share"))
        .sort(pairs)
    )


def part_sample(s: Session) -> None:
    landing, wh = s.fresh("sample_alone")
    names = copy_sample(landing)
    alone = s.run("the five sample articles alone", landing, wh, len(names))
    m_alone = sample_matches(wh / "wiretrace.duckdb", names)[0] if alone.ok else None
    s.done_with(wh)
    inside, wh = s.full_run(
        "the corpus and the five sample articles", "sample_inside", s.corpus, True, copy_sample
    )
    m_inside, with_others = sample_matches(wh / "wiretrace.duckdb", names) if inside.ok else (None, None)
    s.done_with(wh)
    s.sample = {"alone": alone, "inside": inside, "with_corpus": with_others}
    if m_alone is not None and m_inside is not None:
        s.sample["pairs"] = compare_sample(m_alone, m_inside)
        reuse = pl.col("relation") == "reuse"
        s.sample["reuse_pairs"] = compare_sample(m_alone.filter(reuse), m_inside.filter(reuse))
        s.sample["kinds"] = {
            name: df.group_by("kind", "relation").len().sort("kind", "relation").rows()
            for name, df in (("alone", m_alone), ("inside", m_inside))
        }
        s.sample["wn_afp_changes"] = wn_afp_changes(m_alone, m_inside)


def wn_afp_changes(alone: pl.DataFrame, inside: pl.DataFrame) -> pl.DataFrame:
    """The Washington Newsday-AFP matches found only alone (``lost``) or only inside the corpus
    (``gained``), with their kind and relation in the run that found them."""
    pair = pl.col("source_a").is_in([WN, AFP]) & pl.col("source_b").is_in([WN, AFP])
    pair = pair & (pl.col("source_a") != pl.col("source_b"))
    a, b = alone.filter(pair).unique(MATCH_KEY), inside.filter(pair).unique(MATCH_KEY)
    return pl.concat(
        [
            a.join(b.select(MATCH_KEY), on=MATCH_KEY, how="anti").with_columns(
                pl.lit("lost").alias("change")
            ),
            b.join(a.select(MATCH_KEY), on=MATCH_KEY, how="anti").with_columns(
                pl.lit("gained").alias("change")
            ),
        ]
    ).sort("change", "text_a", "text_b")


# ------------------------------------------------------------------------------------------ targets


@dataclass
class Target:
    name: str
    requirement: str
    measured: str
    passed: bool | None  # None: not measured

    @property
    def verdict(self) -> str:
        return "not measured" if self.passed is None else ("PASS" if self.passed else "FAIL")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def sample_shares(pairs: pl.DataFrame) -> tuple[tuple[int, int], tuple[int, int]]:
    """(kept, alone) over all pairs of sample documents, and over the Washington Newsday-AFP pairs."""
    wn_afp = pairs.filter(
        ((pl.col("source_a") == WN) & (pl.col("source_b") == AFP))
        | ((pl.col("source_a") == AFP) & (pl.col("source_b") == WN))
    )
    return (
        (int(pairs["kept"].sum()), int(pairs["alone"].sum())),
        (int(wn_afp["kept"].sum()), int(wn_afp["alone"].sum())),
    )


def evaluate(
    runs: dict[str, Run],
    curve: dict[float, Run],
    incremental: list[Run],
    sample_pairs: pl.DataFrame | None,
    equivalence: dict[str, tuple[int, int, int]] | None = None,
) -> list[Target]:
    """A verdict per target; ``not measured`` when its part did not run, FAIL when a run failed."""
    out: list[Target] = []
    lex, dflt = runs.get("lexical"), runs.get("default")
    req = f"defaults <= {MAX_DEFAULT_OVER_LEXICAL}x lexical only"
    if lex is None or dflt is None:
        out.append(Target("semantic tier's cost", req, "needs the lexical and default parts", None))
    elif not (lex.ok and dflt.ok):
        out.append(Target("semantic tier's cost", req, "a run failed", False))
    else:
        ratio = dflt.seconds / lex.seconds
        sem = dflt.tiers.get("semantic", "unknown")
        ran = sem == "ran"
        text = f"{dflt.seconds:.0f}s / {lex.seconds:.0f}s = {ratio:.2f}x; semantic tier: {sem}"
        out.append(Target("semantic tier's cost", req, text, ran and ratio <= MAX_DEFAULT_OVER_LEXICAL))

    measured = [r for r in [*runs.values(), *curve.values(), *incremental] if r is not None]
    req = f"peak memory <= {MAX_PEAK_GIB:g} GiB in every run"
    if not measured:
        out.append(Target("peak memory", req, "no run", None))
    else:
        worst = max(measured, key=lambda r: r.peak_gib)
        text = f"highest {worst.peak_gib:.2f} GiB ({worst.label})"
        out.append(Target("peak memory", req, text, worst.peak_gib <= MAX_PEAK_GIB))

    req = f"peak at 200% <= {MAX_CURVE_GROWTH}x peak at 100% of the corpus"
    if 1.0 not in curve or 2.0 not in curve:
        out.append(Target("memory bounded by chunks", req, "needs the curve part", None))
    elif not (curve[1.0].ok and curve[2.0].ok):
        out.append(Target("memory bounded by chunks", req, "a run failed", False))
    else:
        g = curve[2.0].peak_gib / curve[1.0].peak_gib
        text = f"{curve[2.0].peak_gib:.2f} / {curve[1.0].peak_gib:.2f} GiB = {g:.2f}x"
        out.append(Target("memory bounded by chunks", req, text, g <= MAX_CURVE_GROWTH))

    for i, (name, limit) in enumerate(
        (("adding 1% new articles", MAX_NEW_SHARE), ("a run with nothing new", MAX_NOTHING_SHARE)), start=1
    ):
        req = f"<= {_pct(limit)} of the full run"
        if len(incremental) < i + 1:
            out.append(Target(name, req, "needs the incremental part", None))
        elif not (incremental[0].ok and incremental[i].ok):
            out.append(Target(name, req, "a run failed", False))
        else:
            share = incremental[i].seconds / incremental[0].seconds
            text = f"{incremental[i].seconds:.1f}s / {incremental[0].seconds:.1f}s = {_pct(share)}"
            steps = (sum(incremental[i].stages.values()), sum(incremental[0].stages.values()))
            if steps[1] > 0:
                text += f" (the steps alone: {steps[0]:.1f}s / {steps[1]:.1f}s = {_pct(steps[0] / steps[1])})"
            out.append(Target(name, req, text, share <= limit))

    req = f">= {_pct(MIN_IDENTICAL_MATCHES)} of sentence_matches rows identical to one full run"
    if not equivalence:
        out.append(Target("batches equal one run", req, "needs the default and incremental parts", None))
    else:
        na, nb, both = equivalence["marts.sentence_matches"]
        share = both / max(na, nb, 1)
        text = f"{both} of {max(na, nb)} rows = {100 * share:.2f}% (one run {na}, batches {nb})"
        out.append(Target("batches equal one run", req, text, share >= MIN_IDENTICAL_MATCHES))

    for name, which in (("sample matches kept", 0), ("Washington Newsday-AFP matches kept", 1)):
        req = f">= {_pct(MIN_SAMPLE_KEPT)} of the matches among the five alone"
        if sample_pairs is None:
            out.append(Target(name, req, "needs the sample part (both runs)", None))
            continue
        kept, alone = sample_shares(sample_pairs)[which]
        if alone == 0:
            out.append(Target(name, req, "no match alone", False))
        else:
            text = f"{kept} of {alone} = {_pct(kept / alone)}"
            out.append(Target(name, req, text, kept / alone >= MIN_SAMPLE_KEPT))
    return out


def targets_table(targets: list[Target]) -> list[str]:
    lines = ["| target | requirement | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {t.name} | {t.requirement} | {t.measured} | **{t.verdict}** |" for t in targets]
    lines.append("")
    lines += [f"- {t.verdict}: {t.name} ({t.requirement}): {t.measured}" for t in targets]
    return lines


# ------------------------------------------------------------------------------------------- report


def _stage_cols(r: Run) -> str:
    st = r.stages
    keys = ("ingest", "clean", "segment", "overlap", "publish", "reports")
    own = sum(st.values())
    cells = [f"{st[k]:.1f}" if k in st else "" for k in keys]
    return " | ".join(cells) + f" | {r.seconds - own:.1f}"


RUN_HEADER = [
    "| run | articles | wall (s) | peak GiB (tree / largest process) | ingest | clean | segment | overlap "
    "| publish | reports | outside the steps (s) | matches | semantic tier / verifier | notes |",
    "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
]


def run_row(r: Run, label: str | None = None) -> str:
    m = r.measured
    notes = "; ".join([*(r.notes or []), *([f"FAILED: {r.error}"] if r.error else [])])
    return (
        f"| {label or r.label} | {r.n_articles} | {r.seconds:.1f} | {m.peak_gib:.2f} "
        f"({m.tree_gib:.2f} / {m.largest_gib:.2f}) | {_stage_cols(r)} | {r.matches} | "
        f"{r.tiers.get('semantic', '')} / {r.tiers.get('verifier', '')} | {notes} |"
    )


def render(s: Session, args: argparse.Namespace, cmd: str, started: str, parts: list[str]) -> str:
    scope = f"the first {args.limit} articles" if args.limit else "the whole benchmark corpus"
    lines = [
        f"# Benchmark: {scope}",
        "",
        f"Command: `{cmd}` at commit {git_commit()}, started {started} UTC; parts: {', '.join(parts)}; "
        f"runner: {'`wiretrace run` (the Dagster job)' if s.runner == 'wiretrace' else 'the stages in-process'}, "
        "one child process per run, the default settings.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}, load average at the end {os.getloadavg()[0]:.1f} (shared: times are "
        "upper bounds).",
        f"Corpus: {s.corpus.height} AllSides articles (`../shared/data/{CORPUS}`, in id order).",
        "",
    ]
    if args.limit:
        lines += [
            f"A quick run (`--limit {args.limit}`): the targets are set for the whole corpus; the verdicts "
            "below judge these figures by the same rules, for orientation only.",
            "",
        ]
    lines += [f"**{f}** (see the traceback in the driver's output)" for f in s.failures]
    lines += ["", "## Targets", ""] if s.failures else ["## Targets", ""]
    equivalence = (
        {t: identical_rows(s.tables_one_run[t], s.tables_batches[t]) for t in COMPARED}
        if s.tables_one_run and s.tables_batches
        else None
    )
    lines += targets_table(
        evaluate(s.runs, s.curve, s.incremental, s.sample.get("pairs") if s.sample else None, equivalence)
    )
    lines += [
        "",
        "Wall time: the child process from start to end (interpreter start and Dagster included); the "
        "stage columns are the seconds the run reports per step; peak: the larger of the process tree's "
        "sampled summed proportional set size and the largest single process's `ru_maxrss`.",
        "",
    ]
    if s.runs:
        lines += ["## Full runs: lexical tiers only and the defaults", "", *RUN_HEADER]
        lines += [run_row(r) for r in s.runs.values()]
        lines.append("")
    if s.curve:
        lines += ["## Memory curve (defaults)", "", *RUN_HEADER]
        lines += [run_row(s.curve[f]) for f in sorted(s.curve)]
        lines += [
            "",
            "200%: the corpus plus a copy of it under other outlets (`X (copy)`), ids (`copy-<id>`) and "
            "URLs (`https://copy.<host>/...`); every copied article repeats its original word for word.",
            "",
        ]
    if s.incremental:
        lines += ["## Incremental runs (defaults, one warehouse)", "", *RUN_HEADER]
        full = s.incremental[0].seconds
        for r in s.incremental:
            lines.append(run_row(r, f"{r.label} ({_pct(r.seconds / full)} of the full run)"))
        lines.append("")
        if equivalence:
            lines += [
                "The published tables after these batches, against those of the one full run with the "
                "defaults on the same articles (rows identical in every column, as multisets):",
                "",
                "| table | one full run | after the batches | identical | share |",
                "|---|---:|---:|---:|---:|",
            ]
            for t, (na, nb, both) in equivalence.items():
                lines.append(f"| {t} | {na} | {nb} | {both} | {100 * both / max(na, nb, 1):.2f}% |")
            lines.append("")
        if s.startup is not None:
            lines += [
                f"Start-up alone (the same command with `--help`: the interpreter, the imports and the job's "
                f"definitions, no work): {s.startup:.1f}s, {_pct(s.startup / full)} of the full run.",
                "",
            ]
    if s.sample:
        lines += _sample_lines(s.sample)
    lines += [
        "## How to run",
        "",
        "`make bench` runs `python -m pipeline.evaluation.bench` (every part, the whole corpus: ten full "
        "runs, the largest on twice the corpus; one to two hours on a 2-core machine). Quick check: "
        "`python -m pipeline.evaluation.bench --limit 2000`; one part: `--only lexical`. "
        f"The runs of this report took {(time.perf_counter() - s.t0) / 60:.0f} min in all.",
    ]
    return "\n".join(lines) + "\n"


def _sample_lines(sample: dict) -> list[str]:
    lines = ["## The five sample articles, alone and inside the corpus (defaults)", "", *RUN_HEADER]
    lines += [run_row(sample[k]) for k in ("alone", "inside") if k in sample]
    lines.append("")
    pairs = sample.get("pairs")
    if pairs is None:
        return lines + ["A run failed: no comparison.", ""]
    lines += [
        "Matches between two of the five documents (a match: the two files and the two sentences' texts; "
        "kept: found alone and inside the corpus; gained: found inside the corpus only):",
        "",
        "| document a | document b | alone | inside the corpus | kept | kept share | gained |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in pairs.iter_rows(named=True):
        share = "" if row["kept_share"] is None else _pct(row["kept_share"])
        lines.append(
            f"| {row['source_a']} ({row['file_a'][:3]}) | {row['source_b']} ({row['file_b'][:3]}) | "
            f"{row['alone']} | {row['inside']} | {row['kept']} | {share} | {row['gained']} |"
        )
    (k_all, n_all), (k_wn, n_wn) = sample_shares(pairs)
    reuse = sample.get("reuse_pairs")
    if reuse is not None:
        (k_r, n_r), (k_rwn, n_rwn) = sample_shares(reuse)
        reuse_line = f" Matches of relation `reuse` only: {k_r} of {n_r} kept, Washington Newsday-AFP {k_rwn} of {n_rwn}."
    else:
        reuse_line = ""
    lines += [
        "",
        f"All pairs: {k_all} of {n_all} kept; Washington Newsday-AFP: {k_wn} of {n_wn} kept; gained "
        f"inside the corpus: {int(pairs['gained'].sum())}; matches between the five and the corpus's "
        f"articles: {sample.get('with_corpus')}." + reuse_line,
        "",
        "By kind and relation (alone / inside): "
        + json.dumps({k: [list(r) for r in v] for k, v in sample.get("kinds", {}).items()}),
        "",
    ]
    changes = sample.get("wn_afp_changes")
    if changes is not None and changes.height:
        lines += [
            "Washington Newsday-AFP matches found in one run only:",
            "",
            "| change | kind | relation | sentence a | sentence b |",
            "|---|---|---|---|---|",
        ]
        for r in changes.iter_rows(named=True):
            a, b = (f"{r[f'source_{x}']}: {_cell(r[f'text_{x}'])}" for x in "ab")
            lines.append(f"| {r['change']} | {r['kind']} | {r['relation']} | {a} | {b} |")
        lines.append("")
    return lines


def _cell(text: str, n: int = 140) -> str:
    text = " ".join((text or "").split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------------------------- main


RUNNERS = {"lexical": part_lexical, "default": part_default, "curve": part_curve}
RUNNERS |= {"incremental": part_incremental, "sample": part_sample}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_stages"]:
        return _stages_main(argv[1:])
    ap = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.bench", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N articles in id order (0 = all)")
    ap.add_argument(
        "--only", default=",".join(PARTS), help=f"parts to run, comma-separated: {','.join(PARTS)}"
    )
    ap.add_argument(
        "--runner",
        choices=["wiretrace", "stages"],
        default="wiretrace",
        help="each run as `wiretrace run` (the Dagster job; default) or the stages in-process",
    )
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the warehouses and the work folder")
    ap.add_argument("--name", default=None, help="result file name (default bench, or bench_limit<N>)")
    ap.add_argument(
        "--output", type=Path, default=None, help="write the result here instead of results/<name>.md"
    )
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    parts = [p for p in PARTS if p in parts]  # the order that lets the curve reuse the default run
    if not parts:
        ap.error("no part to run")

    data = shared_data()
    corpus_path = data / CORPUS if data else None
    if corpus_path is None or not corpus_path.is_file():
        print(f"bench skipped: ../shared/data/{CORPUS} not found (set WIRETRACE_SHARED_DATA)")
        return 0
    if not Path("/proc/self/smaps_rollup").exists() and not Path("/proc/self/status").exists():
        print("bench needs Linux's /proc to measure memory", file=sys.stderr)
        return 2

    own_work = args.work is None
    work = Path(tempfile.mkdtemp(prefix="wiretrace-bench-")) if own_work else args.work
    work.mkdir(parents=True, exist_ok=True)
    s = Session(load_corpus(corpus_path, args.limit), work, args.runner, work / "runs.log")
    name = args.name or ("bench" if not args.limit else f"bench_limit{args.limit}")
    cmd = "python -m pipeline.evaluation.bench" + (" " + " ".join(shown_arguments(argv)) if argv else "")
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    print(f"[bench] {s.corpus.height} articles; parts {', '.join(parts)}; logs in {s.log}", flush=True)
    s.keep = args.keep
    try:
        for part in parts:
            try:
                RUNNERS[part](s)
            except Exception as exc:  # the other parts still run; the report says what broke
                import traceback

                traceback.print_exc()
                s.failures.append(f"part {part} broke off: {type(exc).__name__}: {exc}")
            text = render(s, args, cmd, started, parts)
            if args.output:
                args.output.parent.mkdir(parents=True, exist_ok=True)
                args.output.write_text(text)
                path = args.output
            else:
                path = write_result(name, text)
    finally:
        if own_work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(text)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
