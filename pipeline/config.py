"""Locations, from environment variables with defaults relative to the working directory.

``WIRETRACE_LANDING``   landing folder watched for new raw files (default ``data/raw``)
``WIRETRACE_WAREHOUSE`` warehouse folder holding ``work.duckdb`` and ``wiretrace.duckdb`` (default ``warehouse``)
``WIRETRACE_SEMANTIC``  ``0`` disables the embedding tier even when it is installed
``WIRETRACE_SYMLINKS``  symbolic links in the landing folder: ``inside`` (default; followed when the target
                        is inside the landing folder), ``never`` or ``any`` (read by ``IngestConfig``)
``WIRETRACE_CLEAN_TIMEOUT``  seconds one document may take to clean (default 120; read by the clean stage)
"""

from __future__ import annotations

import os
from pathlib import Path


def default_landing() -> Path:
    return Path(os.environ.get("WIRETRACE_LANDING", "data/raw"))


def default_warehouse() -> Path:
    return Path(os.environ.get("WIRETRACE_WAREHOUSE", "warehouse"))
