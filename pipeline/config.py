"""Locations, from environment variables with defaults relative to the working directory.

``WIRETRACE_LANDING``   landing folder watched for new raw files (default ``data/raw``)
``WIRETRACE_WAREHOUSE`` warehouse folder holding ``work.duckdb`` and ``wiretrace.duckdb`` (default ``warehouse``)
``WIRETRACE_SEMANTIC``  ``0`` disables the embedding tier even when it is installed
"""

from __future__ import annotations

import os
from pathlib import Path


def default_landing() -> Path:
    return Path(os.environ.get("WIRETRACE_LANDING", "data/raw"))


def default_warehouse() -> Path:
    return Path(os.environ.get("WIRETRACE_WAREHOUSE", "warehouse"))
