"""Sentence-pair grading on the lexical path (no embeddings) and the batch API (``wiretrace compare`` is
tested in test_compare_command.py).

Semantic-path behaviour is tested in test_embed.py (skipped without the extra).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline import compare_sentences
from pipeline.config import reload_settings
from pipeline.core import compare as C
from pipeline.core.compare import FULL_FEATURES, KINDS, SentenceMatch, grade_pairs, semantic_available

REPO = Path(__file__).resolve().parents[1]

# real sentences of the bundled sample corpus (AFP original, Press TV copy, Washington Newsday rewrite)
AFP_CONDITIONS = (
    '"The conditions for a peace deal with the Taliban is decentralisation -- a system that ensures social '
    "justice, equality, rights, and freedom for all,\" said Nazary, the NRF's head of foreign relations, "
    'adding if the Taliban do not agree there will be "long-term conflict".'
)
PRESSTV_CONDITIONS = (
    '"The conditions for a peace deal with the Taliban is decentralization -- a system that ensures social '
    'justice, equality, rights, and freedom for all," said Nazary, adding if the Taliban do not agree there '
    'will be "long-term conflict."'
)
AFP_PICTURES = (
    "Pictures taken by AFP during training exercises show dozens of recruits performing fitness routines, "
    "and a handful of armoured humvees driving across the valley northeast of Kabul."
)
WN_PICTURES = (
    "AFP captured scores of recruits doing workout routines and a handful of armoured humvees driving over "
    "the valley northeast of Kabul during training drills."
)
AFP_GOAL = (
    "The National Resistance Front's main goal is to avoid further bloodshed in Afghanistan and press for a "
    "new system of government."
)
WN_GOAL = (
    "The major purpose of the National Resistance Front is to prevent more bloodshed in Afghanistan and to "
    "push for a new governing structure."
)
AFP_PREPARED = (
    "But Nazary said the group is also prepared for conflict, and if the Taliban do not negotiate they will "
    "face resistance across the country."
)
AFP_FORCE = (
    "There, Ahmad Massoud, the son of legendary Mujahideen commander Ahmad Shah Massoud who was assassinated "
    "by Al-Qaeda two days before the September 11, 2001 attacks, has assembled a fighting force of around "
    "9,000 people, Nazary added."
)


@pytest.fixture(autouse=True)
def _lexical_only(monkeypatch):
    monkeypatch.setenv("WIRETRACE_SEMANTIC", "0")
    reload_settings()


def grade(a: str, b: str) -> SentenceMatch:
    return compare_sentences(a, b, encoder=None)


def test_public_api_and_result_shape():
    m = compare_sentences(AFP_GOAL, AFP_GOAL)
    assert isinstance(m, SentenceMatch)
    assert m.kind == "exact" and m.score == 1.0
    assert set(m.signals) >= {"jaccard", "char_ratio", "content_dice", "num_conflict", "probability"}
    assert "cosine" not in m.signals  # lexical path: no embedding signal


def test_exact_ignores_case_punctuation_quotes_and_spelling_variants():
    m = grade(
        "\u201cThe Taliban are overstretched,\u201d he said.",
        '"the taliban are   overstretched" -- he said',
    )
    assert (m.kind, m.score) == ("exact", 1.0)
    assert grade("Our fight is only for defence.", "Our fight is only for defense.").kind == "exact"


def test_afp_vs_press_tv_trimmed_clause_is_near():
    m = grade(AFP_CONDITIONS, PRESSTV_CONDITIONS)
    assert m.kind == "near"
    assert 0.85 <= m.score < 1.0
    assert m.signals["conflict"] == 0.0
    assert m.signals["containment"] > 0.95  # the copy keeps everything but the trimmed clause


def test_content_farm_rewrites_are_paraphrases():
    for a, b in [(AFP_PICTURES, WN_PICTURES), (AFP_GOAL, WN_GOAL)]:
        m = grade(a, b)
        assert m.kind == "paraphrase", (m.kind, m.signals)
        assert 0.5 <= m.score < 0.8


def test_same_topic_different_statements_are_none():
    assert grade(AFP_GOAL, AFP_PREPARED).kind == "none"
    assert grade(AFP_PICTURES, AFP_GOAL).kind == "none"
    m = grade(
        "The Taliban took control of the country following a lightning charge into the capital Kabul.",
        "Thousands of people have made their way to Panjshir to join the fight.",
    )
    assert m.kind == "none" and m.score < 0.5


def test_changed_number_is_flagged_near_below_clean_copies():
    edited = AFP_FORCE.replace("9,000", "5,000")
    changed = grade(AFP_FORCE, edited)
    assert changed.kind == "near"  # the same sentence with one figure edited ...
    assert changed.signals["num_conflict"] == 1.0
    assert changed.signals["conflict"] == 1.0
    assert 0.80 <= changed.score < 0.85  # ... scored below every conflict-free near copy
    clean = grade(AFP_FORCE, AFP_FORCE.replace("legendary ", ""))
    assert clean.kind == "near" and clean.score >= 0.85
    assert changed.score < clean.score
    # the same figure written differently is no conflict
    assert grade(AFP_FORCE, AFP_FORCE.replace("9,000", "9000")).signals["num_conflict"] == 0.0


def test_changed_name_is_flagged():
    # two of five content words replaced, one of them a place name: not a near copy any more
    m = grade(
        "The Taliban took control of Kabul on August 15.",
        "The Taliban lost control of Kandahar on August 15.",
    )
    assert m.kind not in ("exact", "near")
    assert m.signals["name_conflict"] == 1.0 and m.signals["conflict"] == 1.0
    # one name changed in a long sentence: still the same sentence edited, flagged and scored lower
    m = grade(AFP_FORCE, AFP_FORCE.replace("Nazary added", "Omar added"))
    assert m.kind == "near" and m.signals["name_conflict"] == 1.0
    assert 0.80 <= m.score < 0.85
    # a possessive is the same name, not a conflict
    m = grade(
        "Nazary says Massoud's resistance, and others across Afghanistan, are vital in making this change happen.",
        "Nazary went onto say that Massoud's resistance, and others across Afghanistan, were vital in making "
        "this change happen.",
    )
    assert m.signals["name_conflict"] == 0.0
    assert m.kind == "near" and m.score >= 0.85


def test_short_sentence_with_a_replaced_content_word_is_not_near():
    m = grade("A man is playing a flute.", "A man is playing a guitar.")
    assert m.signals["char_ratio"] >= 0.8  # character-wise a near copy ...
    assert m.kind not in ("exact", "near")  # ... but one of its three content words changed
    assert grade("A man is playing a flute.", "A man is playing the flute.").kind == "near"


def test_reordered_roles_are_not_a_near_copy():
    m = grade(
        "The Taliban surrounded the resistance fighters in the valley.",
        "The resistance fighters surrounded the Taliban in the valley.",
    )
    assert m.signals["containment"] == 1.0  # the same words ...
    sig = C.pair_signals(
        "The Taliban surrounded the resistance fighters in the valley.",
        "The resistance fighters surrounded the Taliban in the valley.",
    )
    assert sig["seq_containment"] < 0.9  # ... in another order
    assert m.kind not in ("exact", "near")


def test_quote_and_attribution_variations():
    quote = '"We are ready for a long-term conflict," Nazary said.'
    assert grade(quote, '"We are ready for a long-term conflict," said Nazary.').kind == "near"
    dropped = grade(
        '"Massoud did not give the order for these things to happen but they are all associated with us," '
        "Nazary said.",
        '"Massoud did not give the order for these things to happen but they are all associated with us," '
        "he said.",
    )
    assert dropped.kind == "near"
    indirect = grade(
        "The aim right now is to defend Panjshir and its people, Nazary said.",
        "Nazary stressed that the aim right now was to defend Panjshir and its people.",
    )
    assert indirect.kind in ("near", "paraphrase")
    # a bare quote fragment inside a long sentence is not a near copy of it
    fragment = grade('"Long-term conflict."', AFP_CONDITIONS)
    assert fragment.kind not in ("exact", "near")


def test_score_is_monotone_with_kind():
    pairs = [
        (AFP_GOAL, AFP_GOAL),
        (AFP_CONDITIONS, PRESSTV_CONDITIONS),
        (AFP_FORCE, AFP_FORCE.replace("9,000", "5,000")),
        (AFP_GOAL, WN_GOAL),
        (AFP_PICTURES, WN_PICTURES),
        (AFP_GOAL, AFP_PREPARED),
        (AFP_PICTURES, "The weather in Paris was mild on Tuesday."),
    ]
    res = grade_pairs(pairs, encoder=None)
    rank = {k: i for i, k in enumerate(KINDS)}
    for x in res:
        for y in res:
            if rank[x.kind] < rank[y.kind]:
                assert x.score > y.score, (x, y)
    bands = {"exact": (1.0, 1.0), "near": (0.8, 1.0), "paraphrase": (0.5, 0.8), "none": (0.0, 0.5)}
    for x in res:
        lo, hi = bands[x.kind]
        assert lo <= x.score <= hi and (x.kind == "exact" or x.score < hi)


def test_batch_matches_single_and_symmetric_kinds():
    pairs = [(AFP_CONDITIONS, PRESSTV_CONDITIONS), (AFP_PICTURES, WN_PICTURES), (AFP_GOAL, AFP_PREPARED)]
    batch = grade_pairs(pairs, encoder=None)
    for (a, b), m in zip(pairs, batch, strict=True):
        single = grade(a, b)
        assert (single.kind, single.score) == (m.kind, m.score)
        swapped = grade(b, a)
        assert swapped.kind == m.kind and math.isclose(swapped.score, m.score, abs_tol=1e-9)
    assert grade_pairs([], encoder=None) == []


def test_embeddings_argument_adds_cosine_and_moves_probability():
    pairs = [(AFP_PICTURES, WN_PICTURES)]
    v = np.zeros((1, 8), dtype=np.float32)
    v[0, 0] = 1.0
    w = np.zeros((1, 8), dtype=np.float32)
    w[0, 1] = 1.0
    same = grade_pairs(pairs, embeddings=(v, v))[0]
    orth = grade_pairs(pairs, embeddings=(v, w))[0]
    assert same.signals["cosine"] == pytest.approx(1.0)
    assert orth.signals["cosine"] == pytest.approx(0.0)
    assert same.signals["probability"] > orth.signals["probability"]
    assert same.score > orth.score


def test_bad_input_gives_clear_errors():
    with pytest.raises(TypeError, match="str"):
        grade_pairs([("a sentence", None)], encoder=None)
    with pytest.raises(ValueError, match="shape"):
        grade_pairs([("a b", "a c")], embeddings=(np.ones((2, 4)), np.ones((1, 4))))
    # empty or punctuation-only sentences match nothing, without crashing
    for a, b in [("", ""), ("...", "..."), ("", AFP_GOAL), ("\u200b", "--")]:
        m = grade(a, b)
        assert (m.kind, m.score) == ("none", 0.0)


def test_semantic_can_be_disabled():
    ok, reason = semantic_available()
    assert ok is False and "WIRETRACE_SEMANTIC" in reason
    # "auto" then falls back to the lexical path
    assert "cosine" not in compare_sentences(AFP_GOAL, WN_GOAL).signals


def test_shipped_model_is_consistent():
    spec = json.loads((REPO / "pipeline" / "core" / "compare_model.json").read_text())
    for name in ("lexical", "full"):
        m = spec[name]
        assert m["features"] == list(FULL_FEATURES[: len(m["features"])])
        assert len(m["coef"]) == len(m["mean"]) == len(m["scale"]) == len(m["features"])
        assert all(math.isfinite(x) for x in m["coef"]) and 0.0 < m["threshold"] < 1.0
    assert "cosine" in spec["full"]["features"] and "cosine" not in spec["lexical"]["features"]
    assert spec["trained_on"].startswith("MRPC train")
    # more similar and no conflicting figures -> higher probability (sanity of the signs)
    coef = dict(zip(spec["full"]["features"], spec["full"]["coef"], strict=True))
    assert coef["cosine"] > 0 and coef["num_conflict"] < 0


def _random_words(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(rng.integers(5, 10)))) for _ in range(n)]


def test_lexical_grading_is_fast():
    words = _random_words(3000, seed=0)
    rng = np.random.default_rng(0)
    sents = [" ".join(rng.choice(words, size=25)) + "." for _ in range(4000)]
    pairs = [(sents[i % 4000], sents[(i * 7 + 3) % 4000]) for i in range(20_000)]
    C._analyse.cache_clear()
    t0 = time.perf_counter()
    res = grade_pairs(pairs, encoder=None)
    elapsed = time.perf_counter() - t0
    assert len(res) == 20_000
    assert elapsed < 10.0, f"20,000 pairs took {elapsed:.1f} s"


# ------------------------------------------------------------------------------ evaluation helpers


def test_fitting_helpers():
    from pipeline.evaluation import paraphrase as P

    x = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    t = P.best_threshold(x, y)
    assert 0.3 < t < 0.6 and np.all((x >= t) == (y == 1))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    yy = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=0.3, size=400) > 0).astype(int)
    spec = P.fit_logistic(X, yy, ("jaccard", "containment"))
    assert spec["coef"][0] > 0 > spec["coef"][1]
    folds = P.stratified_folds(yy, 5, 13)
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3, 4]
    assert all(abs(yy[folds == k].mean() - yy.mean()) < 0.05 for k in range(5))
    assert P.spearman(np.array([1, 2, 2, 3]), np.array([10, 20, 20, 30])) == pytest.approx(1.0)
    assert P.spearman(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1.0)


def test_shipped_lexical_model_on_mrpc_sample(shared_data):
    path = shared_data / "eval" / "paraphrase" / "mrpc_train.jsonl"
    if not path.is_file():
        pytest.skip("MRPC file not in the shared data")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:800]]
    res = grade_pairs([(r["s1"], r["s2"]) for r in rows], encoder=None)
    pred = np.array([m.kind != "none" for m in res])
    gold = np.array([r["label"] == 1 for r in rows])
    # the weights were fitted on these pairs (among others): a regression guard, not a measurement
    assert (pred == gold).mean() > 0.72
    assert gold[pred].mean() > gold.mean()
