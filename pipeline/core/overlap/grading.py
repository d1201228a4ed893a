"""Grading: candidate pairs of distinct normalised sentences graded by ``pipeline.core.compare.grade_pairs``
(exact / near / paraphrase / none, a score and the signals), with embeddings when the semantic tier
gives an encoder, and re-graded by the cross-encoder verifier where the rules leave the decision to
the classifier. Which pairs of the semantic tier need the slow models at all is decided from cheap
signals by :func:`needs_models`.

Every candidate is graded once per pair of distinct normalised sentences; sentences longer than
``max_grade_chars`` are truncated for grading (two distinct sentences that agree on their first
``max_grade_chars`` characters are then graded ``near`` with score 0.99, never ``exact``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

from pipeline.core import compare
from pipeline.core.overlap.common import Clock, empty
from pipeline.core.overlap.config import KIND_RANK, OverlapConfig
from pipeline.core.overlap.models import VerifierRun, encode
from pipeline.core.overlap.schemas import GRADED_SCHEMA, signal_order
from pipeline.core.overlap.store import OverlapStore, pair_keys

#: the grader, as named in the statistics
GRADER = "pipeline.core.compare.grade_pairs"
#: pairs verified per call (a progress report after each)
VERIFY_CHUNK = 128

#: the embeddings of the sentences of a set of pairs: unit vectors and, per hid, its row (-1: none)
Embeddings = tuple[np.ndarray, np.ndarray]


def grading_texts(hashes: pl.DataFrame, cfg: OverlapConfig) -> tuple[list[str], np.ndarray]:
    """Per hid: its text cut to ``max_grade_chars``, and whether it was cut."""
    by_hid = hashes.sort("hid")["rep_text"]
    texts = hashes.select("hid", pl.col("rep_text").str.slice(0, cfg.max_grade_chars)).sort("hid")["rep_text"]
    return texts.to_list(), (by_hid.str.len_chars() > cfg.max_grade_chars).to_numpy()


class GradingTexts:
    """The grading text of each hid (:func:`grading_texts`: its text cut to ``max_grade_chars``), read
    from ``hashes`` on demand: ``texts[hid]`` as from the list, but only the texts of the hids asked for
    become Python strings (:meth:`fetch` reads many at once), so grading a few pairs costs nothing per
    distinct sentence of the corpus. ``cut``: per hid, whether its text was cut; ``norm_hash``: per
    hid, its normalised text's hash."""

    def __init__(self, hashes: pl.DataFrame, cfg: OverlapConfig):
        by_hid = hashes if hashes["hid"].is_sorted() else hashes.sort("hid")
        self._rep = by_hid["rep_text"]
        self._n = cfg.max_grade_chars
        self.norm_hash = by_hid["norm_hash"]
        self.cut = (self._rep.str.len_chars() > self._n).to_numpy()
        self._got: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._rep)

    def fetch(self, hids: np.ndarray | list[int]) -> None:
        """Read the texts of ``hids`` not read yet (one gather)."""
        todo = np.unique(np.asarray(hids, dtype=np.int64))
        todo = todo[[int(h) not in self._got for h in todo.tolist()]] if self._got else todo
        if len(todo):
            texts = self._rep.gather(todo).str.slice(0, self._n).to_list()
            self._got.update(zip(todo.tolist(), texts, strict=True))

    def __getitem__(self, hid: int) -> str:
        got = self._got.get(int(hid))
        if got is None:
            self.fetch([int(hid)])
            got = self._got[int(hid)]
        return got


def _pair_embeddings(
    enc: Any, ia: np.ndarray, ib: np.ndarray, text_list: Sequence[str], clock: Clock
) -> Embeddings:
    """Embeddings of the sentences of the pairs (ia, ib), each distinct sentence once."""
    used = np.unique(np.concatenate([ia, ib]))
    pos = np.full(len(text_list), -1, dtype=np.int64)
    pos[used] = np.arange(len(used))
    return encode(enc, [text_list[i] for i in used], clock), pos


def _grade_batches(
    ia: np.ndarray,
    ib: np.ndarray,
    text_list: Sequence[str],
    vecs: Embeddings | None,
    cfg: OverlapConfig,
    clock: Clock,
    step: str,
) -> tuple[list[str], list[float], list[dict[str, float]]]:
    """Kind, score and signals of every pair, graded ``grade_batch`` pairs at a time (reports
    ``(step, done, total)``)."""
    kinds: list[str] = []
    scores: list[float] = []
    sigs: list[dict[str, float]] = []
    n = len(ia)
    step_n = max(1, cfg.grade_batch)
    for lo in range(0, n, step_n):
        hi = min(n, lo + step_n)
        pairs = [(text_list[a], text_list[b]) for a, b in zip(ia[lo:hi], ib[lo:hi], strict=True)]
        emb = None
        if vecs is not None:
            v, pos = vecs
            emb = (v[pos[ia[lo:hi]]], v[pos[ib[lo:hi]]])
        for r in compare.grade_pairs(pairs, embeddings=emb, encoder=None, verifier=None):
            kinds.append(r.kind)
            scores.append(float(r.score))
            sigs.append(r.signals)
        clock.report(step, hi, n)
    return kinds, scores, sigs


def _grade_with_store(
    ia: np.ndarray,
    ib: np.ndarray,
    hashes: pl.DataFrame,
    text_list: Sequence[str],
    vecs: Embeddings | None,
    enc: Any,
    cfg: OverlapConfig,
    clock: Clock,
    step: str,
    store: OverlapStore,
) -> tuple[list[str], list[float], list[dict[str, float]]]:
    """``_grade_batches`` for the pairs ``store`` has no grade of; the stored grades for the others."""
    enc_fp = "lexical" if enc is None else store.encoder_fp
    keys = pair_keys([text_list[a] for a in ia], [text_list[b] for b in ib])
    stored = store.stored_grades(enc_fp, keys) if enc_fp is not None else {}
    todo = np.asarray([i for i, k in enumerate(keys) if k not in stored], dtype=np.intp)
    new = _grade_batches(ia[todo], ib[todo], text_list, vecs, cfg, clock, step) if len(todo) else ([], [], [])
    norm_hash = text_list.norm_hash
    store.add_grades(
        enc_fp or "",
        [keys[i] for i in todo],
        norm_hash.gather(ia[todo]).to_list(),
        norm_hash.gather(ib[todo]).to_list(),
        *new,
    )
    kinds: list[str] = [""] * len(keys)
    scores: list[float] = [0.0] * len(keys)
    sigs: list[dict[str, float]] = [{}] * len(keys)
    for i, k in enumerate(keys):
        if k in stored:
            kinds[i], scores[i], sigs[i] = stored[k]
    for j, i in enumerate(todo.tolist()):
        kinds[i], scores[i], sigs[i] = new[0][j], new[1][j], new[2][j]
    return kinds, scores, sigs


def verify(
    ia: np.ndarray,
    ib: np.ndarray,
    text_list: Sequence[str],
    vecs: Embeddings,
    kinds: list[str],
    scores: list[float],
    sigs: list[dict[str, float]],
    run: VerifierRun,
    cfg: OverlapConfig,
    clock: Clock,
) -> None:
    """Re-grade, with the verifier, the pairs the rules left to the classifier (``kinds``, ``scores``
    and ``sigs`` updated in place); reports ``("verify", done, total)`` after every ``VERIFY_CHUNK``
    pairs. There is no budget: the semantic tier sends only the pairs that need the verifier
    (:func:`needs_models`)."""
    todo = [i for i, k in enumerate(kinds) if k in ("paraphrase", "none")]
    if not todo:
        return
    # in the order the verifier batches pairs within a call (by length): each chunk then holds pairs of
    # similar length and its batches need less padding; each pair's probability is its own
    todo.sort(key=lambda i: (len(text_list[ia[i]]) + len(text_list[ib[i]]), i))
    v, pos = vecs
    step_n = max(1, min(cfg.grade_batch, VERIFY_CHUNK))
    for lo in range(0, len(todo), step_n):
        part = np.asarray(todo[lo : lo + step_n], dtype=np.intp)
        pa, pb = ia[part], ib[part]
        pairs = [(text_list[a], text_list[b]) for a, b in zip(pa, pb, strict=True)]
        res = compare.grade_pairs(
            pairs, embeddings=(v[pos[pa]], v[pos[pb]]), encoder=None, verifier=run.verifier
        )
        for i, r in zip(part.tolist(), res, strict=True):
            kinds[i] = r.kind
            scores[i] = float(r.score)
            sigs[i] = r.signals
        clock.report("verify", min(lo + step_n, len(todo)), len(todo))
    run.stats["pairs"] += len(todo)
    run.stats["ran"] = True


def needs_models(
    kinds: list[str],
    probability: np.ndarray,
    static_cosine: np.ndarray,
    aligned: np.ndarray,
    cfg: OverlapConfig,
) -> np.ndarray:
    """Which pairs, graded on lexical signals (``kinds``, the logistic ``probability``), scored by the
    static encoder (``static_cosine``) and placed against the lexical matches (``aligned``: in line
    with a match of a focus document pair, ``candidates_semantic.on_the_diagonal``), need MiniLM's
    cosine and the cross-encoder verifier.

    Exact and near pairs are decided by the rules, which read no embedding: never. A pair the rules
    leave to the classifier does when it is aligned (only there can a paraphrase become evidence of
    reuse; off the diagonal it is an isolated similarity, relation ``same_fact``, whatever a model
    says) and not certainly unrelated: certainly unrelated is a static cosine below
    ``semantic_sure_none_cosine`` together with a lexical probability below
    ``semantic_sure_none_probability``. Set on the benchmark corpus (37,554 articles, 17,602 such
    pairs; ``pipeline/evaluation/results/bench_semantic.md``): of a stratified sample read by the
    verifier, it accepted 2 of 63 aligned pairs declared certainly unrelated, 144 of 462 aligned pairs
    sent to it, and 72 of 724 pairs off the diagonal; 3,134 pairs reach the models. A lower cosine or
    probability threshold sends more pairs for few more acceptances; a higher one loses rewordings of
    the sample corpus (a cosine of 0.65 with a probability of 0.02 for a verified paraphrase there).
    Each pair's answer depends on that pair alone."""
    classifier = np.isin(np.asarray(kinds, dtype=object), ["paraphrase", "none"])
    sure_none = (np.asarray(static_cosine) < cfg.semantic_sure_none_cosine) & (
        np.nan_to_num(np.asarray(probability, dtype=np.float64), nan=0.0) < cfg.semantic_sure_none_probability
    )
    return classifier & np.asarray(aligned, dtype=bool) & ~sure_none


def extend_signal_cols(signal_cols: list[str], sigs: list[dict[str, float]]) -> list[str]:
    """``signal_cols`` followed by the signals of ``sigs`` not among them yet (in signal order)."""
    keys: list[str] = []
    seen = set(signal_cols)
    for s in sigs:
        for k in s:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    return signal_cols + sorted(keys, key=signal_order)


def grade(
    cand: pl.DataFrame,
    hashes: pl.DataFrame,
    enc: Any,
    cfg: OverlapConfig,
    clock: Clock,
    step: str,
    signal_cols: list[str],
    verifier_run: VerifierRun | None = None,
    keep_none: bool = False,
    store: OverlapStore | None = None,
    texts: GradingTexts | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Grade candidate hash pairs; keep exact/near/paraphrase results (and ``none`` with
    ``keep_none``) with their signals, one Float64 column per signal graded so far (``signal_cols``,
    returned extended by this step's new signals).

    ``enc``: the encoder whose embeddings join the grade (None: lexical signals only);
    ``verifier_run``: the cross-encoder verifier re-grades the pairs the rules leave to the classifier
    (only with ``enc``); ``store``: grades stored by earlier runs are reused
    (the verifier still runs on them) and the grades computed here added to it; ``texts``: the
    run's :class:`GradingTexts` of ``hashes`` (made here when not given)."""
    if cand.height == 0:
        return empty(GRADED_SCHEMA), signal_cols
    ia = cand["hid_a"].to_numpy()
    ib = cand["hid_b"].to_numpy()
    text_list = GradingTexts(hashes, cfg) if texts is None else texts
    text_list.fetch(np.concatenate([ia, ib]))
    cut = text_list.cut
    vecs = _pair_embeddings(enc, ia, ib, text_list, clock) if enc is not None else None
    if store is None:
        kinds, scores, sigs = _grade_batches(ia, ib, text_list, vecs, cfg, clock, step)
    else:
        kinds, scores, sigs = _grade_with_store(ia, ib, hashes, text_list, vecs, enc, cfg, clock, step, store)
    if verifier_run is not None and verifier_run.verifier is not None and vecs is not None:
        verify(ia, ib, text_list, vecs, kinds, scores, sigs, verifier_run, cfg, clock)
    return _graded_frame(cand, ia, ib, cut, kinds, scores, sigs, signal_cols, keep_none)


def _graded_frame(
    cand: pl.DataFrame,
    ia: np.ndarray,
    ib: np.ndarray,
    cut: np.ndarray,
    kinds: list[str],
    scores: list[float],
    sigs: list[dict[str, float]],
    signal_cols: list[str],
    keep_none: bool,
) -> tuple[pl.DataFrame, list[str]]:
    """The graded pairs as a frame (see :func:`grade`) and the signal columns extended."""
    signal_cols = extend_signal_cols(signal_cols, sigs)
    cols: dict[str, Any] = {
        "hid_a": ia.astype(np.int64),
        "hid_b": ib.astype(np.int64),
        "tier": cand["tier"].to_list(),
        "kind": kinds,
        "score": scores,
    }
    for k in signal_cols:
        cols[k] = pl.Series(k, [s.get(k) for s in sigs], dtype=pl.Float64)
    graded = pl.DataFrame(cols)
    # distinct sentences that only look identical because they were cut for grading are near copies
    cut_exact = (pl.col("kind") == "exact") & pl.Series(cut[ia] | cut[ib])
    graded = graded.with_columns(
        pl.when(cut_exact).then(pl.lit("near")).otherwise(pl.col("kind")).alias("kind"),
        pl.when(cut_exact).then(pl.lit(0.99)).otherwise(pl.col("score")).alias("score"),
    )
    if keep_none:
        return graded, signal_cols
    return graded.filter(pl.col("kind").is_in(list(KIND_RANK))), signal_cols


def grade_with_models(
    cand: pl.DataFrame,
    hashes: pl.DataFrame,
    load_models: Callable[[], tuple[Any, VerifierRun | None]],
    cfg: OverlapConfig,
    clock: Clock,
    step: str,
    signal_cols: list[str],
    store: OverlapStore | None = None,
    texts: GradingTexts | None = None,
) -> tuple[pl.DataFrame | None, list[str], dict[str, int]]:
    """:func:`grade` with MiniLM's embeddings and the verifier, ``none`` kept, for the pairs the semantic
    tier's triage sends to the slow models; the final grades of pairs graded by an earlier run are read
    from ``store`` (``OverlapStore.verified_fp``), and ``load_models()`` (the encoder, or None when it
    cannot load, and the verifier's run) is called only when some pair is not stored. Returns the graded
    pairs (None when the encoder cannot load), the signal columns and counts (``stored``, ``graded``).
    Final grades are stored only when the verifier the key names did run (or was not requested)."""
    ia = cand["hid_a"].to_numpy()
    ib = cand["hid_b"].to_numpy()
    text_list = GradingTexts(hashes, cfg) if texts is None else texts
    text_list.fetch(np.concatenate([ia, ib]))
    cut = text_list.cut
    n = len(ia)
    vfp = store.verified_fp if store is not None else None
    keys = pair_keys([text_list[a] for a in ia], [text_list[b] for b in ib]) if vfp else []
    stored = store.stored_grades(vfp, keys) if vfp else {}
    kinds: list[str] = [""] * n
    scores: list[float] = [0.0] * n
    sigs: list[dict[str, float]] = [{}] * n
    for i, k in enumerate(keys):
        if k in stored:
            kinds[i], scores[i], sigs[i] = stored[k]
    todo = np.asarray([i for i in range(n) if not keys or keys[i] not in stored], dtype=np.intp)
    counts = {"stored": n - len(todo), "graded": len(todo)}
    if len(todo):
        enc, verifier_run = load_models()
        if enc is None:
            return None, signal_cols, counts
        ta, tb = ia[todo], ib[todo]
        vecs = _pair_embeddings(enc, ta, tb, text_list, clock)
        if store is None:
            k2, s2, g2 = _grade_batches(ta, tb, text_list, vecs, cfg, clock, step)
        else:
            k2, s2, g2 = _grade_with_store(ta, tb, hashes, text_list, vecs, enc, cfg, clock, step, store)
        verified = verifier_run is not None and verifier_run.verifier is not None
        if verified:
            verify(ta, tb, text_list, vecs, k2, s2, g2, verifier_run, cfg, clock)
        if vfp and (verified or not cfg.verifier):
            norm_hash = text_list.norm_hash
            store.add_grades(
                vfp,
                [keys[i] for i in todo],
                norm_hash.gather(ta).to_list(),
                norm_hash.gather(tb).to_list(),
                k2,
                s2,
                g2,
            )
        for j, i in enumerate(todo.tolist()):
            kinds[i], scores[i], sigs[i] = k2[j], s2[j], g2[j]
    graded, signal_cols = _graded_frame(cand, ia, ib, cut, kinds, scores, sigs, signal_cols, keep_none=True)
    return graded, signal_cols, counts
