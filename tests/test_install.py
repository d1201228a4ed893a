"""``pip install .`` without extras gives a working project: a fresh virtual environment built from a
copy of the project runs the sample corpus lexical-only, publishes matches and says why the semantic
tier is off (``wiretrace run`` and ``wiretrace compare``). Needs the package registries (pip's cache
is reused, so a second run is quicker)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, SAMPLE


def _env() -> dict[str, str]:
    """The test's environment without anything that would reach the project's own checkout or
    Dagster instance, and with every WIRETRACE_* setting at its default."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DAGSTER_HOME", "PIP_REQUIRE_VIRTUALENV")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("WIRETRACE_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(argv: list, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{argv[:3]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_fresh_install_without_extras_runs_the_sample(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):  # what `pip install .` reads, and the package
        shutil.copy(REPO / name, project / name)
    shutil.copytree(REPO / "pipeline", project / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    bin_dir = venv / "bin"

    # --no-compile: the run compiles only the modules it imports, not all of dagster, scipy, pyarrow ...
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "venv", venv], tmp_path, 300)
    _run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile", "."], project, 1500)
    t_install = time.perf_counter() - t0

    # the installed copy is the one that runs, and no extra came with it
    probe = _run(
        [
            bin_dir / "python",
            "-c",
            "import importlib.util, pipeline; print(pipeline.__file__); "
            "print(importlib.util.find_spec('torch') is None)",
        ],
        tmp_path,
        120,
    ).stdout.split()
    assert Path(probe[0]).is_relative_to(venv) and probe[1] == "True", probe
    _run([bin_dir / "python", "-m", "pip", "check"], tmp_path, 300)

    t1 = time.perf_counter()
    wh = tmp_path / "wh"
    run = _run(
        [bin_dir / "wiretrace", "run", "--input", SAMPLE, "--warehouse", wh, "--progress", "off"],
        tmp_path,
        900,
    )
    t_run = time.perf_counter() - t1
    print(f"fresh install: venv + pip install . {t_install:.0f} s; wiretrace run on the sample {t_run:.0f} s")

    assert "run " in run.stdout and " succeeded" in run.stdout, run.stdout
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    # the run says that the semantic tier is off, and why
    assert "note: semantic extra not installed (missing torch" in run.stdout, run.stdout
    assert "paraphrase detection uses lexical signals only" in run.stdout
    con = duckdb.connect(str(wh / "wiretrace.duckdb"), read_only=True)
    try:
        kinds = dict(con.sql("SELECT kind, count(*) FROM marts.sentence_matches GROUP BY 1").fetchall())
        reuse = con.sql("SELECT count(*) FROM marts.sentence_matches WHERE relation = 'reuse'").fetchall()[0][
            0
        ]
        n_docs = con.sql("SELECT count(*) FROM marts.documents").fetchall()[0][0]
        cosines = con.sql("SELECT count(cosine) FROM marts.sentence_matches").fetchall()[0][0]
    finally:
        con.close()
    assert n_docs == 5
    assert kinds.get("exact", 0) >= 10 and kinds.get("near", 0) >= 3, kinds
    assert reuse >= 10 and cosines == 0  # lexical-only: no embedding graded any pair

    # wiretrace compare works there too, and says why the semantic tier is off
    a, b = sorted(SAMPLE.glob("00[01]_*.txt"))
    compare = _run([bin_dir / "wiretrace", "compare", a, b], tmp_path, 300)
    assert compare.stdout.split()[0] in ("exact", "near", "paraphrase"), compare.stdout[:500]
    assert "semantic tier off: semantic extra not installed (missing torch" in compare.stderr, compare.stderr
