"""Reports asset: one self-contained HTML reuse report per story, rendered from the analysts' database."""

import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb

from pipeline.core import report
from pipeline.core.report import write_reports
from pipeline.defs.resources import RETRY, WiretraceResource

ANALYST_DB = dg.AssetKey(["publish", "analyst_warehouse"])
REUSE_REPORTS = dg.AssetKey(["publish", "reuse_reports"])
MAX_LISTED = 50  # stories listed in the asset's metadata
#: what the pages were rendered from (kept in the reports folder)
SOURCE_FILE = ".rendered_from"


def rendered_from(db: Path) -> str:
    """The analysts' file the pages are rendered from (path, size, modification time: the publish step
    leaves it untouched when nothing changed) and the report code."""
    st = db.stat()
    return f"{db.resolve()}:{st.st_size}:{st.st_mtime_ns}:{report.code_digest()}"


def reports_current(out: Path, db: Path) -> bool:
    """Whether the pages in ``out`` were rendered from ``db`` as it is now, by this code."""
    marker = out / SOURCE_FILE
    return marker.is_file() and marker.read_text(encoding="utf-8") == rendered_from(db)


def _md_text(text: str) -> str:
    """Corpus text as literal markdown (no links, emphasis or HTML from an article title)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~-])", r"\\\1", " ".join(text.split()))


@dg.asset(
    key=REUSE_REPORTS,
    deps=[ANALYST_DB],
    group_name="publish",
    description="HTML reuse reports (warehouse/reports/): per story, the articles side by side with matched "
    "sentences coloured by kind and linked, removed boilerplate greyed with its reason, and who took what "
    "from whom. Self-contained pages that work offline; index.html lists the stories.",
    kinds={"html"},
    retry_policy=RETRY,
)
def reuse_reports(context: dg.AssetExecutionContext, wiretrace: WiretraceResource) -> dg.MaterializeResult:
    db = wiretrace.analyst_db
    if not db.is_file():
        raise dg.Failure(
            f"the analysts' database {db} does not exist: materialise publish/analyst_warehouse first",
            allow_retries=False,
        )
    out = Path(wiretrace.warehouse_dir) / "reports"
    if reports_current(out, db):
        pages = sorted(p for p in out.glob("*.html") if p.name != "index.html")
        context.log.info(
            f"reports unchanged: the analysts' database is the one they were rendered from ({out})"
        )
        return dg.MaterializeResult(
            metadata={"pages": len(pages), "skipped": True, "path": dg.MetadataValue.path(str(out))}
        )
    # render into a fresh folder and swap it in, so stories that disappeared leave no stale page behind
    staging = out.with_name("reports.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    # read-only: the published file is a snapshot that a pipeline run replaces atomically
    con = duckdb.connect(str(db), read_only=True)
    try:
        # stories whose rows are unchanged keep their page from the folder rendered last time
        counts: dict[str, int] = {}
        pages = write_reports(con, staging, reuse_from=out if out.is_dir() else None, stats=counts)
        titles = dict(
            con.sql(
                # a story's title: its earliest article's, by the best known date (marts.documents)
                """SELECT st.story_id, any_value(d.title ORDER BY d.published_at NULLS LAST, d.doc_id)
                   FROM marts.stories st JOIN marts.documents d USING (doc_id) GROUP BY 1"""
            ).fetchall()
        )
    finally:
        con.close()
    old = out.with_name("reports.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.mkdir(parents=True, exist_ok=True)
    (staging / SOURCE_FILE).write_text(rendered_from(db), encoding="utf-8")
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    context.log.info(
        f"wrote {len(pages)} report pages to {out} ({counts['rendered']} rendered, "
        f"{counts['reused']} unchanged since the last rendering)"
    )
    lines = [
        f"- [{p.stem}]({(out / p.name).resolve().as_uri()}): {_md_text(titles.get(p.stem) or 'untitled')}"
        for p in pages[:MAX_LISTED]
    ]
    if len(pages) > MAX_LISTED:
        lines.append(f"- ... and {len(pages) - MAX_LISTED} more (see index.html)")
    return dg.MaterializeResult(
        metadata={
            "pages": len(pages),
            "pages_rendered": counts["rendered"],
            "stories": dg.MetadataValue.md(
                "\n".join(lines) if lines else "no story with two or more articles"
            ),
            "path": dg.MetadataValue.path(str(out)),
            "index": dg.MetadataValue.path(str(out / "index.html")),
        }
    )
