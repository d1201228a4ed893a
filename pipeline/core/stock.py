"""Stock lines: text that two documents can share without one taking it from the other.

News shares a great deal of text that is not reuse: stock reporting formulas that every writer
produces ("did not immediately respond to a request for comment", "spoke on condition of
anonymity", "a margin of error of plus or minus three percentage points"), a site's boilerplate
(promos, bios, disclaimers, newsletter, comment and video widgets), and signature lines of embedded
posts ("— Donald J. Trump (@realDonaldTrump) June 26, 2017"). Per-outlet frequencies reveal such
lines in a large corpus (``overlap``'s ``is_common`` rule) but not in a small one, so wiretrace also
ships a **model of stock text** and a few **structural cues**:

Model (``stock_model/``, built by ``python -m pipeline.evaluation.build_stock_model`` from public
data, the AllSides news corpus; see that script for the exact recipe and thresholds):

* ``ngrams.bin``: sorted 64-bit hashes of word 4-grams (of the normalised sentence, see
  :func:`pipeline.core.normalize.normalize_tokens`) that recur across many documents **published in
  many different months**. Wire copy of one story is republished within days; a phrase that
  recurs over years in unrelated stories is formula or boilerplate, not reuse.
* ``sentences.bin``: sorted 64-bit hashes of whole normalised sentences that recur in documents of
  several different months (a site's bio, promo or disclaimer line).

At run time a sentence gets ``stock_cover``: the share of its 4-gram positions covered by stock
4-grams (1.0 when the whole sentence is a stock sentence or matches a structural cue, 0.0 for a
sentence of fewer than 4 tokens), and a pair of matched sentences gets ``novel_shared``: the number
of 4-grams the two share that are not stock. The overlap stage uses them (see
``pipeline/core/overlap/``, "stock text").

Structural cues (:data:`CUES`, regular expressions on the sentence text): embedded-post signature
lines, video-widget lines, newsletter/subscription/comment/follow promos, copyright and
"contributed to this report" credits, "the opinions expressed ... are his own" disclaimers, and
short author bios ("X is a senior fellow at ...", "X is editor in chief of ...").

Token hashing is deterministic and independent of Python's hash seed: each token's 64-bit BLAKE2b
digest, combined per 4-gram by multiply-xor with fixed odd constants in numpy.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

__all__ = [
    "CUES",
    "N",
    "StockModel",
    "covered_share",
    "cue_of",
    "stock_reasons",
    "load_model",
    "ngram_hashes",
    "sentence_key",
    "token_hash",
]

N = 4  # n-gram length of the model
MODEL_DIR = Path(__file__).resolve().parent / "stock_model"
_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64
)

# structural cues: a sentence matching one of these is stock whatever the corpus says. Patterns are
# written in the common subset of Python's ``re`` and Rust's ``regex`` (polars evaluates them in bulk).
_CUE_PATTERNS: dict[str, str] = {
    "post_signature": r"(?i)[—–-]\s*[^()]{1,80}\(@\w{1,30}\)\s*(?:\w+\s+\d{1,2},\s*\d{4}|\d{1,2}\s+\w+\s+\d{4})",
    "post_link": r"(?i)pic\.twitter\.com/|twitter\.com/\w+/status|instagram\.com/p/",
    "video_widget": r"(?i)\bJUST WATCHED\b|\bReplay More Videos\b|\bMUST WATCH\b|\bvideo (?:player|is loading)\b"
    r"|\b(?:watch|click) (?:the )?(?:video|above|below)\b",
    "promo": r"(?i)\b(?:sign up|subscribe|subscription|newsletter|members get|become a member"
    r"|download (?:the|our) app|follow (?:us|\w+(?: \w+)?) on (?:twitter|facebook|instagram)|like us on facebook"
    r"|join (?:us|the conversation)|click here|read more:|related:|advertisement|sponsored|all rights reserved"
    r"|copyright \W?\s*\d{4}|\(c\) \d{4}|this material may not be published|comments? (?:are|is) (?:closed|moderated)"
    r"|share this (?:story|article)|read or share this story"
    # web forms around an article: newsletter sign-up, consent and contact lines
    r"|privacy policy|terms of (?:use|service)|cookie policy|confirmation email|valid email|email address"
    r"|contact us at|choose your country|unsubscribe|spam folder)\b",
    "credit": r"(?i)\bcontributed (?:to )?(?:this|the) (?:report|story|article)\b|\b(?:reporting|editing|writing) by\b"
    r"|\bthis (?:story|article) (?:has been|was) (?:updated|corrected)\b|\bthis is a developing story\b"
    r"|\bcheck back for updates\b",
    "disclaimer": r"(?i)\b(?:opinions|views) expressed (?:in|here)\b.*\b(?:own|necessarily)\b"
    r"|\bdo not necessarily (?:reflect|represent)\b",
    # short author bios, only in a document's first or last sentences (see overlap's stock flags)
    "bio": r"^(?:[A-Z][\w.'’-]*\s+){1,4}(?:is|was|has been)\s+(?:a|an|the)?\s*(?:[\w-]+\s+){0,4}"
    r"(?:editor|columnist|correspondent|contributor|contributing|fellow|professor|author|writer|reporter"
    r"|anchor|host|commentator|analyst|director|president|founder|strategist|chairman)\b[^.]{0,160}(?:\.|$)",
}
CUES: dict[str, re.Pattern[str]] = {k: re.compile(v) for k, v in _CUE_PATTERNS.items()}
POSITIONAL_CUES = ("bio",)
_BIO_MAX_TOKENS = 30  # a bio cue only on short sentences (a long one is reporting about a person)


def cue_of(text: str, edge: bool = True) -> str | None:
    """The name of the first structural cue the sentence matches, or None. ``edge``: the sentence is
    among the first or last sentences of its document (positional cues apply only there)."""
    for name, pat in CUES.items():
        if name in POSITIONAL_CUES:
            if edge and len(text.split()) <= _BIO_MAX_TOKENS and pat.search(text.strip()):
                return name
            continue
        if pat.search(text):
            return name
    return None


def stock_reasons(
    texts: pl.Series, norms: pl.Series, edge: pl.Series, model: StockModel | None = None
) -> pl.Series:
    """Per sentence: the structural cue it matches, ``stock_sentence`` when the whole normalised
    sentence is in the model, else null (bulk form of :func:`cue_of` plus the model lookup)."""
    model = model or load_model()
    frame = pl.DataFrame({"t": texts, "n": norms, "e": edge}).with_columns(
        pl.col("t").fill_null("").str.strip_chars(), pl.col("e").fill_null(False)
    )
    reason = pl.lit(None, dtype=pl.String)
    for name in reversed(list(_CUE_PATTERNS)):
        hit = pl.col("t").str.contains(_CUE_PATTERNS[name])
        if name in POSITIONAL_CUES:
            hit = hit & pl.col("e") & (pl.col("t").str.count_matches(r"\S+") <= _BIO_MAX_TOKENS)
        reason = pl.when(hit).then(pl.lit(name)).otherwise(reason)
    out = frame.select(reason.alias("r"))["r"]
    norms_list = frame["n"].fill_null("").to_list()
    keys = np.fromiter(
        (sentence_key(n.split()) if n.count(" ") >= N - 1 else 0 for n in norms_list),
        dtype=np.uint64,
        count=len(norms_list),
    )
    stock = model.is_stock_sentence(keys) & (keys != 0)
    return (
        pl.DataFrame({"r": out, "s": stock})
        .select(
            pl.when(pl.col("r").is_null() & pl.col("s")).then(pl.lit("stock_sentence")).otherwise(pl.col("r"))
        )
        .to_series()
        .alias("stock_reason")
    )


@cache
def _token_hash_cached(tok: str) -> int:
    return int.from_bytes(hashlib.blake2b(tok.encode("utf-8"), digest_size=8).digest(), "little")


def token_hash(tok: str) -> int:
    return _token_hash_cached(tok)


def ngram_hashes(tokens: list[str]) -> np.ndarray:
    """64-bit hashes of the word 4-grams of one token list (empty for fewer than 4 tokens)."""
    if len(tokens) < N:
        return np.zeros(0, dtype=np.uint64)
    th = np.fromiter((_token_hash_cached(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    k = len(tokens) - N + 1
    h = np.zeros(k, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(N):
            h ^= th[j : j + k] * _MIX[j]
    return h


def sentence_key(tokens: list[str]) -> int:
    """64-bit key of a whole normalised sentence (its tokens joined by one space)."""
    return _token_hash_cached("\x00" + " ".join(tokens))


def covered_share(n_tokens: int, hits: np.ndarray) -> float:
    """Share of a sentence's ``n_tokens`` tokens covered by the 4-grams whose positions ``hits`` marks."""
    if n_tokens < N or not hits.any():
        return 0.0
    covered = np.zeros(n_tokens, dtype=bool)
    for i in np.flatnonzero(hits):
        covered[i : i + N] = True
    return float(covered.mean())


class StockModel:
    """Sorted hash arrays of stock 4-grams and stock sentences, with lookups."""

    def __init__(self, ngrams: np.ndarray, sentences: np.ndarray, meta: dict | None = None):
        self.ngrams = np.sort(np.asarray(ngrams, dtype=np.uint64))
        self.sentences = np.sort(np.asarray(sentences, dtype=np.uint64))
        self.meta = meta or {}

    @staticmethod
    def _member(sorted_arr: np.ndarray, values: np.ndarray) -> np.ndarray:
        if len(sorted_arr) == 0 or len(values) == 0:
            return np.zeros(len(values), dtype=bool)
        pos = np.searchsorted(sorted_arr, values)
        pos[pos >= len(sorted_arr)] = len(sorted_arr) - 1
        return sorted_arr[pos] == values

    def is_stock_ngram(self, hashes: np.ndarray) -> np.ndarray:
        return self._member(self.ngrams, hashes)

    def is_stock_sentence(self, keys: np.ndarray) -> np.ndarray:
        return self._member(self.sentences, np.asarray(keys, dtype=np.uint64))

    def cover(self, tokens: list[str]) -> float:
        """Share of the sentence's 4-gram positions that are stock (tokens covered by a stock 4-gram
        over all tokens); 1.0 for a stock sentence, 0.0 below 4 tokens."""
        if len(tokens) < N:
            return 0.0
        if self.is_stock_sentence(np.array([sentence_key(tokens)], dtype=np.uint64))[0]:
            return 1.0
        return covered_share(len(tokens), self.is_stock_ngram(ngram_hashes(tokens)))

    def save(self, folder: Path) -> None:
        import json

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ngrams.bin").write_bytes(self.ngrams.astype("<u8").tobytes())
        (folder / "sentences.bin").write_bytes(self.sentences.astype("<u8").tobytes())
        (folder / "model.json").write_text(json.dumps(self.meta, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: Path) -> StockModel:
        import json

        ng = np.frombuffer((folder / "ngrams.bin").read_bytes(), dtype="<u8").astype(np.uint64)
        se = np.frombuffer((folder / "sentences.bin").read_bytes(), dtype="<u8").astype(np.uint64)
        meta = json.loads((folder / "model.json").read_text())
        return cls(ng, se, meta)


@cache
def load_model() -> StockModel:
    """The shipped model (empty when its files are missing, which the overlap stats report)."""
    if (MODEL_DIR / "ngrams.bin").is_file():
        return StockModel.load(MODEL_DIR)
    return StockModel(np.zeros(0, np.uint64), np.zeros(0, np.uint64), {"missing": True})
