"""The models of the semantic tier for one run: whether to use them, loading them (through
``pipeline.core.embed`` and ``pipeline.core.verifier``, the one place that imports the heavy optional
dependencies and keeps the process-wide model caches), the verifier's budget, and embedding in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.core import embed, verifier
from pipeline.core.overlap.common import Clock
from pipeline.core.overlap.config import OverlapConfig

#: sentences embedded per call (a progress report after each)
EMBED_CHUNK = 512


def semantic_wanted(encoder: Any) -> tuple[bool, str]:
    """Whether the semantic tier should run (without loading it) and why."""
    if encoder is None or encoder is False:
        return False, "semantic tier not requested (encoder=None)"
    if encoder == "auto":
        ok, reason = embed.semantic_status()
        return ok, reason if not ok else f"semantic tier on: {reason}"
    if not hasattr(encoder, "encode"):
        raise TypeError("encoder must be 'auto', None, or an object with encode(texts) -> unit vectors")
    return True, "semantic tier on: caller-supplied encoder"


def load_encoder(encoder: Any) -> tuple[Any, str]:
    """The encoder to use (or None) and a sentence saying why, for an ``encoder`` that
    :func:`semantic_wanted` accepted: ``"auto"`` loads the bundled model, anything else is the caller's."""
    if encoder != "auto":
        return encoder, "semantic tier on: caller-supplied encoder"
    enc, reason = embed.load_encoder()
    return enc, reason if enc is None else f"semantic tier on: {reason}"


@dataclass
class VerifierRun:
    """The cross-encoder verifier of one run (None when off), the pairs it may still verify
    (``OverlapConfig.verifier_max_pairs``) and its statistics (``ran``, ``reason``, ``pairs``)."""

    verifier: Any
    budget: int
    stats: dict[str, Any] = field(default_factory=dict)


def load_verifier(cfg: OverlapConfig) -> VerifierRun:
    """The verifier for a run whose semantic tier has its encoder."""
    ver = None
    if not cfg.verifier:
        reason = "paraphrase verifier not requested (OverlapConfig.verifier=False)"
    else:
        ver, reason = verifier.load_verifier()
        if ver is not None:
            reason = f"paraphrase verifier on: {reason}"
    return VerifierRun(ver, max(0, int(cfg.verifier_max_pairs)), {"ran": False, "reason": reason, "pairs": 0})


class CachedEncoder:
    """An encoder that embeds each distinct text once (one per run: the cache lives with the object)."""

    def __init__(self, enc: Any):
        self._enc = enc
        self._vecs: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in self._vecs))
        if todo:
            for t, v in zip(todo, np.asarray(self._enc.encode(todo), dtype=np.float32), strict=True):
                self._vecs[t] = v
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vecs[t] for t in texts])


def encode(enc: Any, texts: list[str], clock: Clock) -> np.ndarray:
    """Unit vectors of ``texts`` in chunks of ``EMBED_CHUNK``, reporting ``("embed", done, total)``."""
    if not texts:
        return np.asarray(enc.encode(texts), dtype=np.float32)
    parts = []
    for lo in range(0, len(texts), EMBED_CHUNK):
        parts.append(np.asarray(enc.encode(texts[lo : lo + EMBED_CHUNK]), dtype=np.float32))
        clock.report("embed", min(lo + EMBED_CHUNK, len(texts)), len(texts))
    return np.concatenate(parts)
