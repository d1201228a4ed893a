"""Shared helpers for evaluation and benchmark scripts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pipeline.config import settings
from pipeline.core import tables, warehouse

REPO = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"


def shared_data_path() -> Path:
    """Where the shared data folder is expected (``WIRETRACE_SHARED_DATA`` or ``../shared/data``)."""
    return settings().shared_data or REPO.parent / "shared" / "data"


def shared_data() -> Path | None:
    """The shared data folder, or None when it is absent."""
    path = shared_data_path()
    return path if path.is_dir() else None


def write_result(name: str, markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown)
    return path


# a results file's hand-written part (dated notes: what changed, before and after): everything from this
# line on is kept when a script writes the file again
NOTES_MARK = "<!-- notes: kept when the script rewrites this file -->"


def with_notes(name: str, markdown: str) -> str:
    """``markdown`` followed by the hand-written notes of the results file ``name`` (from
    :data:`NOTES_MARK` on), if it has any."""
    path = RESULTS / f"{name}.md"
    old = path.read_text() if path.is_file() else ""
    i = old.find(NOTES_MARK)
    return markdown if i < 0 else markdown.rstrip("\n") + "\n\n" + old[i:]


def show_result(name: str, markdown: str) -> Path:
    """``write_result``, then the result and where it was written on standard output."""
    path = write_result(name, markdown)
    print(markdown.rstrip("\n"))
    print(f"written to {path}")
    return path


def _git(*args: str) -> str:
    try:
        return (
            subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def git_commit() -> str:
    """The repository's short commit id (recorded with every result), or ``unknown``."""
    return _git("rev-parse", "--short", "HEAD")


def git_last_change(path: Path) -> str:
    """The short id of the last commit that changed ``path``, or ``unknown`` (not committed, no git)."""
    return _git("log", "-1", "--format=%h", "--", str(path))


def write_items_to_judge(out: Path, header: dict, items: list[dict]) -> None:
    """A judging file: the header line, then one JSON object per item (UTF-8, unescaped); says where."""
    with out.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        for it in items:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(json.dumps(header, indent=1))
    print(f"{len(items)} items to judge in {out}")


def as_first_overlap_run(con) -> None:
    """Bring a working database to the current schema and empty its overlap cache and stage state, so
    that the next overlap stage on it computes everything, as a first run does."""
    warehouse.ensure_schema(con)  # a database made by an earlier version may lack a cache table
    for name in tables.OVERLAP_CACHE_TABLES:
        con.execute(f"DELETE FROM {name}")
    con.execute("DELETE FROM meta.stage_state")
    con.execute("CHECKPOINT")
