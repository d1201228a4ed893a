"""Grade a pair of sentences: exact copy, near copy, paraphrase, or unrelated.

``compare_sentences(a, b)`` returns a :class:`SentenceMatch` with

* ``kind``: ``"exact"`` (identical after normalisation), ``"near"`` (the same sentence with small
  edits: spelling, a word or two changed, a clause trimmed or added), ``"paraphrase"`` (the same
  statement reworded) or ``"none"`` (a different statement, even on the same topic);
* ``score`` in [0, 1], monotone in closeness and consistent with ``kind``: ``none`` < 0.5 <=
  ``paraphrase`` < 0.8 <= ``near`` < 1.0 = ``exact`` (near pairs whose numbers or names conflict sit
  in [0.8, 0.85), below every conflict-free near pair);
* ``signals``: the signal values the decision used.

``grade_pairs(pairs, embeddings=None, encoder="auto")`` grades many pairs at once (the corpus
stage): per-sentence analysis is cached, the signals are computed with rapidfuzz and set operations,
and the classifier runs vectorised in numpy.

Signals (all in [0, 1] unless stated)
-------------------------------------
``jaccard`` / ``containment``  token-set Jaccard and overlap over the smaller side (normalised tokens)
``char_ratio``                 rapidfuzz Indel similarity of the normalised strings
``sort_ratio``                 Indel similarity of the sorted tokens (order-insensitive, like
                               rapidfuzz's ``token_sort_ratio``)
``content_dice`` / ``content_containment``  overlap of content words (stop words removed, words cut
                               to their first 5 letters, so "recruits"/"recruit" and
                               "decentralisation"/"decentralization" agree)
``bigram_jaccard``             Jaccard of token bigrams (word order)
``seq_containment``            longest common token subsequence / shorter side's token count
                               (containment in word order: a clause cut from a copy keeps it high,
                               a reordered sentence does not); used by the near rule only, so it is
                               in ``pair_signals`` but not in ``SentenceMatch.signals``
``len_ratio``                  shorter / longer token count
``len_diff``                   log(1 + difference of token counts)
``content_unmatched``          log(1 + content words of the side with fewer unmatched ones that the
                               other side lacks): words both sides changed, not merely added
``num_conflict``               1 when each side has a number the other lacks (a changed figure)
``num_extra``                  count of numbers present on one side only (capped at 3)
``name_conflict`` / ``name_extra``  the same for capitalised names (not sentence-initial, not stop words)
``cosine``                     cosine of sentence embeddings (semantic tier, when available)

Decision
--------
1. ``exact``: the normalised sentences are equal (``pipeline.core.normalize.normalize_sentence``:
   case, punctuation, typography and British/American spelling folded). A side without a single
   word (empty, punctuation only) matches nothing: ``none``, score 0.
2. ``near`` (rule-based, explainable): the pair looks like a copy --
   ``char_ratio >= 0.80`` and ``containment >= 0.75``, or a clause trimmed or added:
   ``seq_containment >= 0.90`` and ``len_ratio >= 0.50`` with at least 6 tokens on the shorter side --
   and few words were replaced: the content words changed on both sides (``min`` of the two sides'
   unmatched content words) are at most a fifth of the shorter side's content words
   (``floor(0.2 * n)``: none for a sentence of 4 content words, one for 5-9, two for 10-14 ...).
   "A man is playing a flute" / "... a guitar" is therefore not near (one of three content words
   replaced), while "said Nazary" / "he said" is (a word dropped, not replaced).
   A near pair with a number or name conflict (each side has a figure or a name the other lacks,
   e.g. "around 9,000 people" vs "around 5,000 people") stays ``near``, because it is still the same
   sentence edited, but is flagged (``signals["conflict"] = 1``) and scored in [0.80, 0.85), below
   every conflict-free near pair, so a consumer can drop it with ``score >= 0.85``.
3. otherwise a logistic regression over the signals gives the probability that the pair states the
   same thing (``signals["probability"]``); at or above its threshold the pair is a ``paraphrase``,
   else ``none``. Two fitted models ship in ``compare_model.json``: one over the lexical signals
   only and one that adds the embedding cosine; the second is used whenever embeddings are
   available. ``signals["conflict"]`` is reported for paraphrases too.
4. with the semantic tier, the pairs step 3 would decide are decided instead by the cross-encoder
   verifier (``pipeline.core.verifier``: all-MiniLM-L6-v2 reading both sentences together, with a
   LoRA adapter and a head that also takes the signals above), paraphrase when its probability is
   at least 0.5; ``signals["verifier"]`` holds it and ``signals["probability"]`` equals it.
   ``verifier=None`` (or ``WIRETRACE_VERIFIER=0``) keeps step 3.

How the thresholds were chosen
------------------------------
The near rule was set by hand on what "the same sentence, lightly edited" means, then checked on
the MRPC training pairs (news sentences from different outlets, about two thirds labelled
paraphrase) and on the bundled sample corpus (a state broadcaster's light copy of the wire story
grades near; the content farm's rewrites grade paraphrase). A lower character ratio lets in more
pairs at a lower share labelled paraphrase, a higher one leaves most lightly edited copies to the
classifier. MRPC often calls a sentence with an added clause a non-paraphrase (it carries more
information), which is exactly what the clause rule is meant to catch as a near copy; a lower clause
containment would accept sentences that merely share most of a short side in order. The limit on
replaced content words barely moves MRPC's agreement but keeps short sentences with a substituted
noun out of the near tier. The pairs each threshold selects and their share labelled paraphrase are
in ``pipeline/evaluation/results/paraphrase.md`` (table "Near-rule thresholds on MRPC"), regenerated by
``python -m pipeline.evaluation.paraphrase``.
The classifier weights and its probability thresholds (lexical, and with the cosine; stored with the
weights in ``compare_model.json``) are fitted on the MRPC training split (L2-regularised logistic
regression on standardised signals); the threshold maximises training accuracy. Generalisation is
measured by 5-fold cross-validation against the cosine alone and Jaccard alone
(``pipeline/evaluation/results/paraphrase.md``).
The verifier of step 4 is trained and cross-validated on the same folds by
``python -m pipeline.evaluation.verifier`` (after one intermediate pass over STS-B train without its
MRPC-derived part); its accuracy against the rules plus the logistic grader, and its training time
and speed, are in ``pipeline/evaluation/results/verifier.md``. Its threshold, 0.5, was fixed before
the folds were scored.

Known limits: the classifier sees bags of signals, not who does what to whom: "the Taliban
surrounded the fighters" / "the fighters surrounded the Taliban" is kept out of the near tier by
word order but still grades paraphrase. A short sentence with a name swapped ("took Kabul" / "lost
Kandahar") is a flagged paraphrase rather than ``none``: MRPC labels most name and figure
differences as paraphrases, so the fitted weights of the conflict signals are small. MRPC's notion
of paraphrase is loose (a low probability threshold), so on strict similarity (STS-B gold >= 4) the
paraphrase tier over-accepts (``paraphrase.md``, section "STS-B train"; a gradient-boosted tree set and
word-level embedding alignment were tried and added about one point each, not enough to justify the
extra machinery). The cross-encoder verifier reads word order, but it still sits close to its
threshold on some same-topic pairs ("The Taliban have overstretched themselves." / "Will they fall to
the Taliban?" is accepted as a paraphrase), and it is stricter than MRPC's annotators on some rewrites
that change a detail: two of the content farm's rewritten sentences in the sample corpus ("have begun
to challenge the Taliban's rigid authority" / "have already begun resisting their hardline rule")
score below its threshold and stay ``none``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import numpy as np
from rapidfuzz.distance import Indel

from pipeline.core.embed import load_encoder, semantic_status
from pipeline.core.kinds import MATCH_KINDS
from pipeline.core.normalize import STOPWORDS
from pipeline.core.normalize import normalize_tokens as _normalize_tokens
from pipeline.core.verifier import load_verifier

__all__ = [
    "KINDS",
    "SentenceMatch",
    "compare_sentences",
    "grade_pairs",
    "pair_signals",
    "signal_matrix",
    "semantic_available",
    "PairGrader",
    "LEXICAL_FEATURES",
    "FULL_FEATURES",
]

KINDS = (*MATCH_KINDS, "none")

# near-tier rule (see module docstring)
NEAR_CHAR_RATIO = 0.80
NEAR_CHAR_CONTAINMENT = 0.75
NEAR_CLAUSE_CONTAINMENT = 0.90
NEAR_CLAUSE_LEN_RATIO = 0.50
NEAR_MIN_TOKENS = 6
NEAR_MAX_CHANGED_SHARE = 0.2

# score bands: none [0, .5), paraphrase [.5, .8), near with conflict [.8, .85), near [.85, 1), exact 1
_BAND_PARA = 0.5
_BAND_NEAR = 0.8
_BAND_NEAR_CLEAN = 0.85

LEXICAL_FEATURES = (
    "jaccard",
    "containment",
    "char_ratio",
    "sort_ratio",
    "content_dice",
    "content_containment",
    "bigram_jaccard",
    "len_ratio",
    "len_diff",
    "content_unmatched",
    "num_conflict",
    "num_extra",
    "name_conflict",
    "name_extra",
)
FULL_FEATURES = LEXICAL_FEATURES + ("cosine",)
# computed for the rules only (not a classifier input, not reported in ``signals``)
RULE_SIGNALS = ("seq_containment",)
_COLUMNS = FULL_FEATURES + RULE_SIGNALS


# --------------------------------------------------------------------------- per-sentence analysis

_STOPWORDS = STOPWORDS | {
    "however",
    "may",
    "might",
    "must",
    "s",
    "say",
    "shall",
    "t",
}  # modals and clitics carry no content here
_NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
    "billion": "1000000000",
}
_NUM_RE = re.compile(r"\d+(?:[.,]\d+)*")
_WORD_RE = re.compile(r"[^\W\d_]+")
# a capitalised word: an upper-case letter starting a run of letters
_CAP_RE = re.compile(r"(?<![^\W\d_])[A-Z\u00c0-\u00de][^\W\d_]*")
_STEM_LEN = 5


def _canon_number(raw: str) -> str:
    s = raw.replace(",", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".") or "0"
    return s.lstrip("0") or "0"


class _Analysis(NamedTuple):
    norm: str
    tokens: frozenset[str]
    seq: tuple[str, ...]
    content: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    names: frozenset[str]
    words: frozenset[str]
    sorted_text: str
    n_tokens: int


#: texts whose analysis is kept (least recently used dropped first): a sentence's analysis, its token
#: sets and bigrams, takes several kilobytes (9.4 KiB on average over 32,768 sentences sampled from the
#: benchmark corpus), so this bounds the cache to about 0.3 GiB whatever the number of texts a step
#: grades (262,144 texts, the earlier bound, would be 2.4 GiB); the grading steps read their pairs in
#: order of the first text, which stays in the cache across its pairs
ANALYSIS_CACHE_TEXTS = 32_768


@lru_cache(maxsize=ANALYSIS_CACHE_TEXTS)
def _analyse(text: str) -> _Analysis:
    toks = _normalize_tokens(text)
    norm = " ".join(toks)  # == normalize_sentence(text), which is defined as this join
    tokset = frozenset(toks)
    content = frozenset(t[:_STEM_LEN] for t in toks if t not in _STOPWORDS and not t.isdigit())
    bigrams = frozenset(zip(toks, toks[1:], strict=False))
    raw = text if text.isascii() else unicodedata.normalize("NFKC", text)
    numbers = {_canon_number(m) for m in _NUM_RE.findall(raw)}
    numbers.update(_NUMBER_WORDS[t] for t in toks if t in _NUMBER_WORDS)
    first = _WORD_RE.search(raw)
    skip = first.start() if first else -1  # the sentence-initial word is capitalised anyway
    names = {
        low
        for m in _CAP_RE.finditer(raw)
        if m.start() != skip and (low := m.group().casefold()) not in _STOPWORDS and low not in _NUMBER_WORDS
    }
    return _Analysis(
        norm=norm,
        tokens=tokset,
        seq=tuple(toks),
        content=content,
        bigrams=bigrams,
        numbers=frozenset(numbers),
        names=frozenset(names),
        words=frozenset(_WORD_RE.findall(raw.casefold())),
        sorted_text=" ".join(sorted(toks)),
        n_tokens=len(toks),
    )


def _lexical_row(x: _Analysis, y: _Analysis) -> list[float]:
    """Signals of one pair, in ``LEXICAL_FEATURES`` + ``RULE_SIGNALS`` order."""
    tx, ty = x.tokens, y.tokens
    inter = len(tx & ty)
    union = len(tx) + len(ty) - inter
    jac = inter / union if union else 1.0
    small = min(len(tx), len(ty))
    cont = inter / small if small else (1.0 if not tx and not ty else 0.0)
    char = Indel.normalized_similarity(x.norm, y.norm)
    sort = Indel.normalized_similarity(x.sorted_text, y.sorted_text)
    cx, cy = x.content, y.content
    ci = len(cx & cy)
    cs = len(cx) + len(cy)
    cdice = 2 * ci / cs if cs else 1.0
    csmall = min(len(cx), len(cy))
    ccont = ci / csmall if csmall else (1.0 if not cx and not cy else 0.0)
    bx, by = x.bigrams, y.bigrams
    bi = len(bx & by)
    bu = len(bx) + len(by) - bi
    bjac = bi / bu if bu else jac
    # longest common token subsequence over the shorter side: containment that respects word order
    nmin = min(x.n_tokens, y.n_tokens)
    if nmin:
        lcs = (x.n_tokens + y.n_tokens - Indel.distance(x.seq, y.seq)) / 2
        seqc = lcs / nmin
    else:
        seqc = 1.0 if x.n_tokens == y.n_tokens else 0.0
    nmax = max(x.n_tokens, y.n_tokens)
    lr = min(x.n_tokens, y.n_tokens) / nmax if nmax else 1.0
    nxo = len(x.numbers - y.numbers)
    nyo = len(y.numbers - x.numbers)
    # a name counts as shared when the other side has it as a word in any case
    cxo = len(cx) - ci
    cyo = len(cy) - ci
    mxo = sum(1 for n in x.names if n not in y.words)
    myo = sum(1 for n in y.names if n not in x.words)
    return [
        jac,
        cont,
        char,
        sort,
        cdice,
        ccont,
        bjac,
        lr,
        math.log1p(abs(x.n_tokens - y.n_tokens)),
        math.log1p(min(cxo, cyo)),
        1.0 if (nxo and nyo) else 0.0,
        float(min(nxo + nyo, 3)),
        1.0 if (mxo and myo) else 0.0,
        float(min(mxo + myo, 3)),
        seqc,  # RULE_SIGNALS
    ]


# column indices used by the rules
_J = {name: i for i, name in enumerate(_COLUMNS)}


# --------------------------------------------------------------------------- model


def _default_model_path():
    return resources.files("pipeline.core").joinpath("compare_model.json")


@lru_cache(maxsize=1)
def _load_default_model() -> dict[str, Any]:
    path = _default_model_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:  # pragma: no cover - packaging error
        raise RuntimeError(
            "pipeline/core/compare_model.json is missing; rebuild it with "
            "`python -m pipeline.evaluation.paraphrase --write-model`"
        ) from exc


class _Logistic:
    """A fitted logistic regression over named features (standardised inputs)."""

    def __init__(self, spec: dict[str, Any]):
        self.features = tuple(spec["features"])
        self.mean = np.asarray(spec["mean"], dtype=np.float64)
        self.scale = np.asarray(spec["scale"], dtype=np.float64)
        self.coef = np.asarray(spec["coef"], dtype=np.float64)
        self.intercept = float(spec["intercept"])
        self.threshold = float(spec["threshold"])
        sizes = {len(self.features), len(self.mean), len(self.scale), len(self.coef)}
        unknown = [f for f in self.features if f not in _J]
        if len(sizes) != 1 or unknown:
            raise ValueError(
                f"inconsistent classifier spec: {len(self.features)} features, {len(self.coef)} weights"
                + (f", unknown signals {unknown}" if unknown else "")
            )
        idx = [_J[f] for f in self.features]
        self.columns = np.asarray(idx, dtype=np.intp)

    def proba(self, feats: np.ndarray) -> np.ndarray:
        # a column-by-column sum and a scalar exp, not a matrix product and a SIMD exp: the grade of a pair
        # must not depend, even in the last bit, on the batch it came in
        z = np.full(feats.shape[0], self.intercept, dtype=np.float64)
        for j, col in enumerate(self.columns):  # fixed summation order, column by column
            z += (feats[:, col] - self.mean[j]) / self.scale[j] * self.coef[j]
        return np.fromiter(
            (1.0 / (1.0 + math.exp(-min(40.0, max(-40.0, v)))) for v in z.tolist()), np.float64, len(z)
        )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SentenceMatch:
    """The grade of one sentence pair."""

    kind: str
    score: float
    signals: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "score": self.score, "signals": dict(self.signals)}


def semantic_available() -> tuple[bool, str]:
    """Whether the semantic tier (sentence embeddings) can be used, and why not if it cannot."""
    return semantic_status()


def signal_matrix(
    pairs: Sequence[tuple[str, str]], cosine: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal matrix (``FULL_FEATURES`` columns; cosine NaN when absent), the exact mask and, per
    pair, integer counts for the rules: tokens of the shorter side, content words of the side with
    fewer, and changed content words (those of the side with fewer unmatched ones)."""
    n = len(pairs)
    feats = np.full((n, len(_COLUMNS)), np.nan, dtype=np.float64)
    exact = np.zeros(n, dtype=bool)
    counts = np.zeros((n, 3), dtype=np.int64)
    rows = []
    for i, (a, b) in enumerate(pairs):
        if not isinstance(a, str) or not isinstance(b, str):
            raise TypeError(
                f"pair {i}: both sentences must be str, got {type(a).__name__} and {type(b).__name__}"
            )
        x, y = _analyse(a), _analyse(b)
        exact[i] = x.norm == y.norm and bool(x.norm)
        inter = len(x.content & y.content)
        counts[i] = (
            min(x.n_tokens, y.n_tokens),
            min(len(x.content), len(y.content)),
            min(len(x.content), len(y.content)) - inter,
        )
        rows.append(_lexical_row(x, y))
    if n:
        arr = np.asarray(rows, dtype=np.float64)
        feats[:, : len(LEXICAL_FEATURES)] = arr[:, : len(LEXICAL_FEATURES)]
        feats[:, len(FULL_FEATURES) :] = arr[:, len(LEXICAL_FEATURES) :]
    if cosine is not None:
        feats[:, _J["cosine"]] = np.clip(np.asarray(cosine, dtype=np.float64), -1.0, 1.0)
    return feats, exact, counts


class PairGrader:
    """Grades sentence pairs with a given pair of fitted models (lexical-only and full).

    ``model`` is the content of ``compare_model.json`` (``None``: the shipped file).
    """

    def __init__(self, model: dict[str, Any] | None = None):
        spec = model if model is not None else _load_default_model()
        self.lexical = _Logistic(spec["lexical"])
        self.full = _Logistic(spec["full"]) if spec.get("full") else None

    def decide(
        self,
        feats: np.ndarray,
        exact: np.ndarray,
        counts: np.ndarray,
        verifier: np.ndarray | None = None,
        verifier_threshold: float = 0.5,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kinds (as indices into ``KINDS``), scores and paraphrase probabilities for a signal matrix.

        ``verifier``: optional cross-encoder probabilities (NaN where not computed); where given they
        replace the logistic probability and ``verifier_threshold`` its threshold.
        """
        n = feats.shape[0]
        has_cos = ~np.isnan(feats[:, _J["cosine"]])
        proba = np.zeros(n, dtype=np.float64)
        thr = np.full(n, self.lexical.threshold, dtype=np.float64)
        if n:
            lex_rows = ~has_cos if self.full is not None else np.ones(n, dtype=bool)
            if lex_rows.any():
                proba[lex_rows] = self.lexical.proba(feats[lex_rows])
            if self.full is not None and has_cos.any():
                proba[has_cos] = self.full.proba(feats[has_cos])
                thr[has_cos] = self.full.threshold
            if verifier is not None:
                ver = np.asarray(verifier, dtype=np.float64)
                use = ~np.isnan(ver)
                proba[use] = ver[use]
                thr[use] = verifier_threshold
        char = feats[:, _J["char_ratio"]]
        cont = feats[:, _J["containment"]]
        lenr = feats[:, _J["len_ratio"]]
        jac = feats[:, _J["jaccard"]]
        near_char = (char >= NEAR_CHAR_RATIO) & (cont >= NEAR_CHAR_CONTAINMENT)
        seqc = feats[:, _J["seq_containment"]]
        near_clause = (seqc >= NEAR_CLAUSE_CONTAINMENT) & (lenr >= NEAR_CLAUSE_LEN_RATIO)
        min_tokens, min_content, changed = counts[:, 0], counts[:, 1], counts[:, 2]
        near_clause &= min_tokens >= NEAR_MIN_TOKENS
        # "a word or two": content words replaced on both sides, at most a fifth of the shorter side
        few_changes = changed <= np.floor(NEAR_MAX_CHANGED_SHARE * min_content + 1e-9)
        empty = min_tokens == 0  # a side without a single word matches nothing
        near = (near_char | near_clause) & few_changes & ~exact & ~empty
        conflict = (feats[:, _J["num_conflict"]] > 0) | (feats[:, _J["name_conflict"]] > 0)
        para = ~exact & ~near & ~empty & (proba >= thr)

        kind = np.full(n, 3, dtype=np.int8)
        kind[para] = 2
        kind[near] = 1
        kind[exact] = 0

        score = np.empty(n, dtype=np.float64)
        # none: [0, 0.5) by probability relative to the threshold
        score[:] = _BAND_PARA * np.clip(proba / np.maximum(thr, 1e-9), 0.0, 1.0 - 1e-6)
        # paraphrase: [0.5, 0.8)
        rel = np.clip((proba - thr) / np.maximum(1.0 - thr, 1e-9), 0.0, 1.0 - 1e-6)
        score[para] = (_BAND_PARA + (_BAND_NEAR - _BAND_PARA) * rel)[para]
        # near: closeness of the copy = mean of char ratio and token Jaccard
        closeness = np.clip((char + jac) / 2.0, 0.0, 1.0 - 1e-6)
        near_clean = near & ~conflict
        near_conf = near & conflict
        score[near_clean] = (_BAND_NEAR_CLEAN + (1.0 - _BAND_NEAR_CLEAN) * closeness)[near_clean]
        score[near_conf] = (_BAND_NEAR + (_BAND_NEAR_CLEAN - _BAND_NEAR) * closeness)[near_conf]
        score[exact] = 1.0
        score[empty] = 0.0
        return kind, score, proba

    def grade(
        self, pairs: Sequence[tuple[str, str]], cosine: np.ndarray | None = None, verifier: Any = None
    ) -> list[SentenceMatch]:
        """Grade pairs; ``verifier`` (a loaded :class:`pipeline.core.verifier.Verifier`, used only with
        the cosine) re-decides every pair the exact and near rules leave to the classifier."""
        feats, exact, counts = signal_matrix(pairs, cosine)
        kind, score, proba = self.decide(feats, exact, counts)
        ver = None
        if verifier is not None and cosine is not None and len(pairs):
            todo = np.flatnonzero((kind >= 2) & (counts[:, 0] > 0))
            if len(todo):
                ver = np.full(len(pairs), np.nan, dtype=np.float64)
                ver[todo] = verifier.proba(
                    [pairs[i] for i in todo.tolist()], feats[todo][:, : len(FULL_FEATURES)]
                )
                kind, score, proba = self.decide(feats, exact, counts, ver, verifier.threshold)
        conflict = (feats[:, _J["num_conflict"]] > 0) | (feats[:, _J["name_conflict"]] > 0)
        names = FULL_FEATURES if cosine is not None else LEXICAL_FEATURES
        width = len(names)
        rows = feats[:, :width].tolist()
        out = []
        for row, k, sc, p, c in zip(
            rows, kind.tolist(), score.tolist(), proba.tolist(), conflict.tolist(), strict=True
        ):
            sig = dict(zip(names, row, strict=True))
            sig["probability"] = p
            sig["conflict"] = 1.0 if c else 0.0
            out.append(SentenceMatch(KINDS[k], sc, sig))
        if ver is not None:
            for i in np.flatnonzero(~np.isnan(ver)).tolist():
                out[i].signals["verifier"] = float(ver[i])
        return out


@lru_cache(maxsize=1)
def _default_grader() -> PairGrader:
    return PairGrader()


def _resolve_encoder(encoder: Any):
    if encoder == "auto":
        enc, _reason = load_encoder()
        return enc
    return encoder


def pair_cosines(
    pairs: Sequence[tuple[str, str]], embeddings: tuple[np.ndarray, np.ndarray] | None, encoder: Any
) -> np.ndarray | None:
    """Cosine per pair from precomputed unit vectors, or from the encoder, or ``None``."""
    if embeddings is not None:
        ea, eb = (np.asarray(e, dtype=np.float32) for e in embeddings)
        if ea.shape != eb.shape or ea.ndim != 2 or ea.shape[0] != len(pairs):
            raise ValueError(
                f"embeddings must be two arrays of shape (n_pairs={len(pairs)}, dim); "
                f"got {ea.shape} and {eb.shape}"
            )
        return np.einsum("ij,ij->i", ea, eb).astype(np.float64)
    enc = _resolve_encoder(encoder)
    if enc is None or not pairs:
        return None
    texts = sorted({s for p in pairs for s in p})
    index = {t: i for i, t in enumerate(texts)}
    vecs = enc.encode(texts)
    ia = np.fromiter((index[a] for a, _ in pairs), dtype=np.intp, count=len(pairs))
    ib = np.fromiter((index[b] for _, b in pairs), dtype=np.intp, count=len(pairs))
    return np.einsum("ij,ij->i", vecs[ia], vecs[ib]).astype(np.float64)


def grade_pairs(
    pairs: Sequence[tuple[str, str]],
    embeddings: tuple[np.ndarray, np.ndarray] | None = None,
    encoder: Any = "auto",
    verifier: Any = "auto",
) -> list[SentenceMatch]:
    """Grade many sentence pairs.

    ``embeddings``: optional precomputed unit vectors ``(a_side, b_side)``, one row per pair.
    ``encoder``: ``"auto"`` loads the semantic tier when it is installed and not disabled
    (``WIRETRACE_SEMANTIC=0``), ``None`` forces the lexical path, or any object with
    ``encode(texts) -> unit vectors``. Ignored when ``embeddings`` is given.
    ``verifier``: ``"auto"`` uses the cross-encoder verifier whenever cosines are available and it
    is installed (``WIRETRACE_VERIFIER=0`` disables it), ``None`` never, or a loaded ``Verifier``.
    """
    pairs = list(pairs)
    cos = pair_cosines(pairs, embeddings, encoder)
    if verifier == "auto":
        verifier = None
        if cos is not None:
            verifier, _reason = load_verifier()
    return _default_grader().grade(pairs, cos, verifier)


def compare_sentences(a: str, b: str, encoder: Any = "auto", verifier: Any = "auto") -> SentenceMatch:
    """Grade one sentence pair (see the module docstring for kinds, score and signals)."""
    return grade_pairs([(a, b)], encoder=encoder, verifier=verifier)[0]


def pair_signals(a: str, b: str) -> dict[str, float]:
    """The lexical signals of one pair, by name, including those only the rules use."""
    return dict(zip(LEXICAL_FEATURES + RULE_SIGNALS, _lexical_row(_analyse(a), _analyse(b)), strict=True))
