"""The models of the semantic tier for one run: whether to use them, loading them (through
``pipeline.core.static_encoder``, ``pipeline.core.embed`` and ``pipeline.core.verifier``, the places
that import the heavy optional dependencies and keep the process-wide model caches), and embedding in
chunks.

Three models, from cheap to slow: the static encoder (distilled from MiniLM, thousands of sentences
per second) finds the candidates; MiniLM embeds, and the cross-encoder verifier reads, only the
candidate pairs whose cheap signals leave the decision open (``grading.needs_models``). With
``encoder="auto"`` the static encoder's table is built on first use when it is absent (about a
minute, offline, from the bundled MiniLM; a log line on stderr says so); when it cannot be built the
semantic tier does not run and its statistics say why. A caller-supplied encoder finds the
candidates too, unless it carries its own cheap one as ``encoder.candidate_encoder``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.core import embed, static_encoder, verifier
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
        if not ok:
            return ok, reason
        _, static = static_encoder.static_status()
        return ok, f"semantic tier on: {reason}; candidates: {static}"
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


def load_candidate_encoder(encoder: Any) -> tuple[Any, str]:
    """The cheap encoder that finds the semantic candidates (or None) and a sentence saying which, for
    an ``encoder`` that :func:`semantic_wanted` accepted: ``"auto"`` loads the static encoder, building
    its table first when it is absent (:func:`pipeline.core.static_encoder.ensure_static_model`); a
    caller's encoder gives its ``candidate_encoder`` attribute, else itself."""
    if encoder != "auto":
        return getattr(encoder, "candidate_encoder", encoder), "caller-supplied candidate encoder"
    enc, reason = static_encoder.ensure_static_model()
    return enc, reason


@dataclass
class VerifierRun:
    """The cross-encoder verifier of one run (None when off) and its statistics (``ran``, ``reason``,
    ``pairs``)."""

    verifier: Any
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
    return VerifierRun(ver, {"ran": False, "reason": reason, "pairs": 0})


def verifier_unused(cfg: OverlapConfig) -> dict[str, Any]:
    """The verifier's statistics for a run whose semantic tier left no pair uncertain (not loaded)."""
    if not cfg.verifier:
        reason = "paraphrase verifier not requested (OverlapConfig.verifier=False)"
    else:
        ok, reason = verifier.verifier_status()
        if ok:
            reason = (
                f"paraphrase verifier on: {reason}; no pair left uncertain by the cheap signals (not loaded)"
            )
    return {"ran": False, "reason": reason, "pairs": 0}


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


def encode(
    enc: Any, texts: list[str], clock: Clock, step: str = "embed", chunk: int = EMBED_CHUNK
) -> np.ndarray:
    """Unit vectors of ``texts`` in chunks of ``chunk``, reporting ``(step, done, total)``. An encoder
    with a ``centre`` (the static encoder) gives its centred vectors, which separate related from
    unrelated sentences better (see ``pipeline.core.static_encoder``)."""
    centred = getattr(enc, "centre", None) is not None

    def one(part: list[str]) -> np.ndarray:
        return np.asarray(enc.encode(part, centred=True) if centred else enc.encode(part), dtype=np.float32)

    if not texts:
        return one(texts)
    parts = []
    for lo in range(0, len(texts), chunk):
        parts.append(one(texts[lo : lo + chunk]))
        clock.report(step, min(lo + chunk, len(texts)), len(texts))
    return np.concatenate(parts)
