"""What the semantic tier's cost measurements rely on: the verifier reads the uncertain pairs in order of
length (less padding) while every pair keeps its own probability, and the overlap steps' CPU seconds."""

from __future__ import annotations

import time

import numpy as np

from pipeline.core.overlap.common import Clock
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.grading import VERIFY_CHUNK, verify
from pipeline.core.overlap.models import VerifierRun


class _LengthVerifier:
    """A verifier whose probability of a pair depends on that pair alone; it records what it read."""

    threshold = 0.5

    def __init__(self):
        self.calls: list[list[tuple[str, str]]] = []

    def proba(self, pairs, feats):
        self.calls.append(list(pairs))
        return np.asarray([0.9 if a.split()[0] == b.split()[0] else 0.1 for a, b in pairs], dtype=np.float64)


def _pairs(n: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        words = " ".join(f"w{int(x)}" for x in rng.integers(0, 50, int(rng.integers(5, 30))))
        lead = f"lead{i % 3}"
        other = f"lead{(i // 3) % 3}"
        # the second side shares no other word: never a near copy, always left to the verifier
        out.append((f"{lead} {words}", f"{other} {words.replace('w', 'v')} tail{i}"))
    return out


def test_the_verifier_reads_pairs_by_length_and_each_keeps_its_own_probability():
    pairs = _pairs(2 * VERIFY_CHUNK + 37)
    texts = [t for p in pairs for t in p]
    ia = np.arange(0, len(texts), 2)
    ib = np.arange(1, len(texts), 2)
    vecs = (np.eye(len(texts), 4, dtype=np.float32) + 0.5, np.arange(len(texts)))
    vecs = (vecs[0] / np.linalg.norm(vecs[0], axis=1, keepdims=True), vecs[1])
    kinds = ["none"] * len(pairs)
    scores = [0.0] * len(pairs)
    sigs: list[dict[str, float]] = [{} for _ in pairs]
    ver = _LengthVerifier()
    run = VerifierRun(ver, {"ran": False, "reason": "", "pairs": 0})
    verify(ia, ib, texts, vecs, kinds, scores, sigs, run, OverlapConfig(), Clock(None))

    read = [p for call in ver.calls for p in call]
    assert sorted(read) == sorted(pairs)  # every uncertain pair read once
    lengths = [len(a) + len(b) for a, b in read]
    assert lengths == sorted(lengths)  # in order of length across the calls
    assert run.stats["pairs"] == len(pairs) and run.stats["ran"]
    # each row got the probability of its own pair, whatever order the verifier read them in
    for (a, b), sig, kind in zip(pairs, sigs, kinds, strict=True):
        want = 0.9 if a.split()[0] == b.split()[0] else 0.1
        assert sig["verifier"] == want
        assert kind == ("paraphrase" if want >= 0.5 else "none")


def test_clock_records_each_steps_cpu_seconds():
    clock = Clock(None)
    with clock.step("busy"):
        t = time.process_time()
        x = 0
        while time.process_time() - t < 0.2:
            x += 1
    with clock.step("idle"):
        time.sleep(0.2)
    assert clock.cpu["busy"] >= 0.15
    assert clock.cpu["idle"] < 0.1
    assert clock.timings["idle"] >= 0.19
