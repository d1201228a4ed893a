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
from pipeline.core.overlap.index import SentenceIndex
from pipeline.core.overlap.semantic import _graded_in_two_steps
from tests.test_compare import AFP_GOAL, AFP_PICTURES, WN_GOAL, WN_PICTURES
from tests.test_verifier import FixedVerifier

WEATHER = "Heavy rain is expected across the northern valleys on Thursday afternoon."


def test_needs_models_sends_only_uncertain_aligned_classifier_pairs():
    cfg = OverlapConfig(semantic_sure_none_cosine=0.6, semantic_sure_none_probability=0.1)
    kinds = ["exact", "near", "none", "none", "none", "paraphrase", "paraphrase", "paraphrase"]
    proba = np.array([1.0, 0.9, 0.05, 0.05, 0.3, 0.7, 0.05, 0.9])
    cos = np.array([1.0, 0.9, 0.2, 0.8, 0.2, 0.2, 0.1, 0.9])
    aligned = np.array([True, True, True, True, True, True, True, False])
    got = needs_models(kinds, proba, cos, aligned, cfg)
    # rules decide exact and near; low cosine with low probability is certain; off the diagonal a
    # paraphrase cannot become reuse evidence; any other doubt goes to the models
    assert got.tolist() == [False, False, False, True, True, True, False, False]
    # the answer for one pair does not depend on the others
    alone = [
        needs_models([k], proba[i : i + 1], cos[i : i + 1], aligned[i : i + 1], cfg)[0]
        for i, k in enumerate(kinds)
    ]
    assert alone == got.tolist()
    # NaN probability (not graded by the classifier) counts as low
    assert needs_models(["none"], np.array([np.nan]), np.array([0.1]), np.array([True]), cfg).tolist() == [
        False
    ]


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


def _index(texts: list[str], places: list[tuple[str, int]]) -> SentenceIndex:
    """Two documents A and B; text ``h`` sits at ``places[h]`` = (document, position)."""
    doc_rank = pl.DataFrame(
        {"doc_id": ["A", "B"], "didx": [0, 1]}, schema={"doc_id": pl.String, "didx": pl.Int64}
    )
    elig = pl.DataFrame(
        {
            "hid": list(range(len(texts))),
            "didx": [0 if d == "A" else 1 for d, _ in places],
            "index": [i for _, i in places],
        },
        schema={"hid": pl.Int64, "didx": pl.Int64, "index": pl.Int64},
    )
    return SentenceIndex(elig, _hashes(texts), doc_rank)


def _anchors(at: list[tuple[int, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lexical matches of A and B at these positions, and the focus pair (A, B)."""
    m = pl.DataFrame(
        {
            "doc_id_a": ["A"] * len(at),
            "doc_id_b": ["B"] * len(at),
            "index_a": [a for a, _ in at],
            "index_b": [b for _, b in at],
        },
        schema={"doc_id_a": pl.String, "doc_id_b": pl.String, "index_a": pl.Int64, "index_b": pl.Int64},
    )
    return m, pl.DataFrame({"da": [0], "db": [1]}, schema={"da": pl.Int64, "db": pl.Int64})


def _cand(pairs: list[tuple[int, int]], tier: str = "semantic") -> pl.DataFrame:
    return pl.DataFrame(
        {"hid_a": [a for a, _ in pairs], "hid_b": [b for _, b in pairs], "tier": [tier] * len(pairs)},
        schema={"hid_a": pl.Int64, "hid_b": pl.Int64, "tier": pl.String},
    )


def test_a_certain_pair_skips_the_verifier_and_an_uncertain_one_gets_it(monkeypatch):
    far = WN_PICTURES + " Officials confirmed it later."
    texts = [AFP_GOAL, WN_GOAL, AFP_PICTURES, WN_PICTURES, WEATHER, far]
    index = _index(texts, [("A", 0), ("B", 0), ("A", 1), ("B", 1), ("B", 2), ("B", 30)])
    # (0, 1) and (2, 3): rewordings in line with the lexical match at (2, 3); (0, 4): unrelated, low
    # cosine and low lexical probability; (2, 5): similar but far off the diagonal
    cand = _cand([(0, 1), (0, 4), (2, 3), (2, 5)])
    ver = FixedVerifier(0.9)
    monkeypatch.setattr(V, "load_verifier", lambda: (ver, "stand-in"))
    enc = _TopicEncoder()
    vecs = CandidateVectors(enc, texts, Clock(None))
    graded, cols, stats = _graded_in_two_steps(
        cand, index, _anchors([(2, 3)]), vecs, enc, [], OverlapConfig(), Clock(None), None
    )
    asked = {p for call in ver.calls for p in call}
    assert asked == {(AFP_GOAL, WN_GOAL), (AFP_PICTURES, WN_PICTURES)}
    st = stats["semantic_triage"]
    assert st["to_models"] == 2 and st["aligned"] == 3 and st["minilm_sentences"] == 4
    assert st["decided_by_rules"] == 0 and st["certain"] == 2
    assert stats["verifier"]["pairs"] == 2
    g = {(a, b): (k, v) for a, b, k, v in graded.select("hid_a", "hid_b", "kind", "verifier").iter_rows()}
    assert g[(0, 1)] == ("paraphrase", 0.9) and g[(2, 3)] == ("paraphrase", 0.9)
    assert g[(0, 4)] == ("none", None)  # graded on lexical signals only
    assert g[(2, 5)][1] is None  # off the diagonal: the lexical grade stands
    assert "cosine" in cols and graded["hid_a"].to_list() == [0, 0, 2, 2]


def test_every_uncertain_pair_is_verified_whatever_their_number(monkeypatch):
    """No cap: a hundred uncertain pairs are all verified (the old budget stopped at a fixed count)."""
    base = [AFP_GOAL, WN_GOAL]
    texts = [f"{t} Item {i}." for i in range(100) for t in base]
    index = _index(texts, [("A" if h % 2 == 0 else "B", h // 2) for h in range(200)])
    cand = _cand([(h, h + 1) for h in range(0, 200, 2)], "blocked")
    ver = FixedVerifier(0.2)
    monkeypatch.setattr(V, "load_verifier", lambda: (ver, "stand-in"))
    enc = _TopicEncoder()
    graded, _, stats = _graded_in_two_steps(
        cand,
        index,
        _anchors([(k, k) for k in range(100)]),
        CandidateVectors(enc, texts, Clock(None)),
        enc,
        [],
        OverlapConfig(),
        Clock(None),
        None,
    )
    assert stats["verifier"]["pairs"] == sum(len(c) for c in ver.calls) == 100
    assert (graded["kind"] == "none").all() and (graded["verifier"] == 0.2).all()


def test_no_model_loads_when_every_pair_is_certain(monkeypatch):
    texts = [AFP_GOAL, WEATHER]
    cand = _cand([(0, 1)])

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
        _index(texts, [("A", 0), ("B", 0)]),
        _anchors([(0, 0)]),
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
