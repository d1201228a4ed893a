"""Handing freed C-heap memory back to the system after each batch of a model.

glibc's ``malloc`` keeps the pages of freed blocks for later use. Running a model batch after batch
(MiniLM, the verifier), each batch of another length (they are sorted by length) allocates buffers
of other sizes, the freed ones are left scattered, and the process's resident size grows with every
batch although nothing is kept. Measured on the 5,092 sentences and 3,134 pairs a first full run of
the benchmark corpus sends to MiniLM and the verifier: from the models' load to the last pair, the
resident size grew by 0.71 GiB without a trim and peaked 0.27 GiB above its start with one after each
batch (0.13 GiB above it at the end), with the same probabilities.
``trim()`` calls ``malloc_trim(0)`` (nothing elsewhere than glibc); the grader's analyses, many small
Python objects, are let go the same way (``overlap.run.release_text_analyses``)."""

from __future__ import annotations

import ctypes
import ctypes.util


def _libc_trim():
    """glibc's ``malloc_trim`` (None elsewhere)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_trim()


def trim() -> None:
    """Return the C heap's free pages to the system (a no-op without glibc)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
