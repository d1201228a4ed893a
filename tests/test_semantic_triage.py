"""The semantic tier's triage: which candidate pairs go to MiniLM and the verifier (the slow models),
decided per pair from the cheap signals (lexical grade, static-encoder cosine), with no cap."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.core import verifier as V
from pipeline.core.overlap.candidates_semantic import CandidateVectors
from pipeline.core.overlap.common import Clock
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.grading import needs_models
from pipeline.core.overlap.semantic import _graded_in_two_steps
from tests.test_compare import AFP_GOAL, AFP_PICTURES, WN_GOAL, WN_PICTURES
from tests.test_verifier import FixedVerifier

WEATHER = "Heavy rain is expected across the northern valleys on Thursday afternoon."


def test_needs_models_sends_only_uncertain_classifier_pairs():
    cfg = OverlapConfig(semantic_sure_none_cosine=0.6, semantic_sure_none_probability=0.1)
    kinds = ["exact", "near", "none", "none", "none", "paraphrase", "paraphrase"]
    proba = np.array([1.0, 0.9, 0.05, 0.05, 0.3, 0.7, 0.05])
    cos = np.array([1.0, 0.9, 0.2, 0.8, 0.2, 0.2, 0.1])
    got = needs_models(kinds, proba, cos, cfg)
    # rules decide exact and near; low cosine and low probability is certain; any doubt goes on
    assert got.tolist() == [False, False, False, True, True, True, False]
    # the answer for one pair does not depend on the others
    assert [
        needs_models([k], proba[i : i + 1], cos[i : i + 1], cfg)[0] for i, k in enumerate(kinds)
    ] == got.tolist()
    # NaN probability (not graded by the classifier) counts as low
    assert needs_models(["none"], np.array([np.nan]), np.array([0.1]), cfg).tolist() == [False]


class _TopicEncoder:
    """Stand-in encoder: the weather sentence points one way, every other sentence another."""

    def encode(self, texts, batch_size=64):
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, 0 if "rain" in t.lower() else 1] = 1.0
        return out


def _hashes(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "hid": list(range(len(texts))),
            "norm_hash": [f"{i:016x}" for i in range(len(texts))],
            "rep_text": texts,
            "rep_norm": [t.lower() for t in texts],
            "rep_sid": [f"d{i}:0" for i in range(len(texts))],
            "g": [1] * len(texts),
        },
        schema_overrides={"hid": pl.Int64},
    )


def test_a_certain_pair_skips_the_verifier_and_an_uncertain_one_gets_it(monkeypatch):
    texts = [AFP_GOAL, WN_GOAL, AFP_PICTURES, WN_PICTURES, WEATHER]
    hashes = _hashes(texts)
    # (0, 1) and (2, 3): rewordings; (0, 4): unrelated, low cosine and low lexical probability
    cand = pl.DataFrame(
        {"hid_a": [0, 0, 2], "hid_b": [1, 4, 3], "tier": ["semantic"] * 3},
        schema={"hid_a": pl.Int64, "hid_b": pl.Int64, "tier": pl.String},
    )
    ver = FixedVerifier(0.9)
    monkeypatch.setattr(V, "load_verifier", lambda: (ver, "stand-in"))
    cfg = OverlapConfig()
    enc = _TopicEncoder()
    vecs = CandidateVectors(enc, texts, Clock(None))
    graded, cols, stats = _graded_in_two_steps(cand, hashes, vecs, enc, [], cfg, Clock(None), None)
    asked = {p for call in ver.calls for p in call}
    assert (AFP_GOAL, WEATHER) not in asked and (WEATHER, AFP_GOAL) not in asked
    assert (AFP_GOAL, WN_GOAL) in asked and (AFP_PICTURES, WN_PICTURES) in asked
    assert stats["semantic_triage"] == {
        "candidates": 3,
        "decided_by_rules": 0,
        "sure_none": 1,
        "to_models": 2,
        "minilm_sentences": 4,
    }
    assert stats["verifier"]["pairs"] == 2
    g = {(a, b): (k, v) for a, b, k, v in graded.select("hid_a", "hid_b", "kind", "verifier").iter_rows()}
    assert g[(0, 1)] == ("paraphrase", 0.9) and g[(2, 3)] == ("paraphrase", 0.9)
    assert g[(0, 4)] == ("none", None)  # graded on lexical signals only
    assert "cosine" in cols and graded.sort("hid_a", "hid_b")["hid_a"].to_list() == [0, 0, 2]


def test_every_uncertain_pair_is_verified_whatever_their_number(monkeypatch):
    """No cap: a hundred uncertain pairs are all verified (the old budget stopped at a fixed count)."""
    base = [AFP_GOAL, WN_GOAL]
    texts = [f"{t} Item {i}." for i in range(100) for t in base]
    hashes = _hashes(texts)
    cand = pl.DataFrame(
        {"hid_a": list(range(0, 200, 2)), "hid_b": list(range(1, 200, 2)), "tier": ["blocked"] * 100},
        schema={"hid_a": pl.Int64, "hid_b": pl.Int64, "tier": pl.String},
    )
    ver = FixedVerifier(0.2)
    monkeypatch.setattr(V, "load_verifier", lambda: (ver, "stand-in"))
    enc = _TopicEncoder()
    graded, _, stats = _graded_in_two_steps(
        cand, hashes, CandidateVectors(enc, texts, Clock(None)), enc, [], OverlapConfig(), Clock(None), None
    )
    assert stats["verifier"]["pairs"] == sum(len(c) for c in ver.calls) == 100
    assert (graded["kind"] == "none").all() and (graded["verifier"] == 0.2).all()


def test_no_model_loads_when_every_pair_is_certain(monkeypatch):
    texts = [AFP_GOAL, WEATHER]
    cand = pl.DataFrame(
        {"hid_a": [0], "hid_b": [1], "tier": ["semantic"]},
        schema={"hid_a": pl.Int64, "hid_b": pl.Int64, "tier": pl.String},
    )

    def no_load():
        raise AssertionError("the verifier must not load")

    monkeypatch.setattr(V, "load_verifier", no_load)

    class NoMiniLM(_TopicEncoder):
        candidate_encoder = _TopicEncoder()

        def encode(self, texts, batch_size=64):
            raise AssertionError("MiniLM must not embed")

    enc = NoMiniLM()
    graded, _, stats = _graded_in_two_steps(
        cand,
        _hashes(texts),
        CandidateVectors(enc.candidate_encoder, texts, Clock(None)),
        enc,
        [],
        OverlapConfig(),
        Clock(None),
        None,
    )
    assert stats["semantic_triage"]["to_models"] == 0 and stats["verifier"]["pairs"] == 0
    assert graded["kind"].to_list() == ["none"]


@pytest.mark.parametrize("name", ["semantic_max_sentences", "verifier_max_pairs"])
def test_the_size_caps_are_gone(name):
    with pytest.raises(TypeError):
        OverlapConfig(**{name: 1})


def test_the_run_goes_on_without_the_semantic_tier_when_the_static_table_cannot_be_built(
    tmp_path, monkeypatch
):
    from pipeline.config import reload_settings
    from pipeline.core import embed
    from pipeline.core import static_encoder as SE
    from pipeline.core.overlap import compute_overlap
    from tests.test_overlap import frames

    if not embed.semantic_status()[0] and "WIRETRACE_SEMANTIC=0" not in embed.semantic_status()[1]:
        pytest.skip(embed.semantic_status()[1])
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")
    monkeypatch.setenv("WIRETRACE_STATIC_MODEL", str(tmp_path / "absent.bin"))
    reload_settings()

    def fail(*a, **kw):
        raise OSError("read-only file system")

    monkeypatch.setattr(SE, "build_static_model", fail)
    docs, sents = frames(
        {
            "a": ("AFP", None, [AFP_GOAL, AFP_PICTURES, WEATHER]),
            "b": ("Newsday", None, [AFP_GOAL, AFP_PICTURES, WN_GOAL]),
        }
    )
    res = compute_overlap(docs, sents, encoder="auto")
    sem = res.stats["semantic"]
    assert res.stats["semantic_focus_pairs"] == 1
    assert sem["ran"] is False and "could not be built" in sem["reason"] and "read-only" in sem["reason"]
    assert res.sentence_matches.filter(pl.col("kind") == "exact").height == 2  # the lexical tiers ran
