"""Corpus-level overlap: which sentences, passages and documents are shared between outlets.

``compute_overlap(documents, sentences, config=None, encoder="auto", progress=None)`` takes the
segmented corpus as two polars frames and returns an :class:`OverlapResult` holding seven polars
frames (row order and content are deterministic for the same input: every frame is sorted by its
keys) and a ``stats`` dict (row counts, candidate-pair counts, seconds per step, whether the semantic
tier ran and, if not, why).

Input
-----
``documents``: ``doc_id`` (str), ``source`` (str, the outlet), ``published_at`` (Datetime or null),
optional ``published_at_precision`` (``day``, ``local_time`` or ``time``; without it a value at
midnight is a date only), ``title`` (str or null), ``n_chars`` (int).
``sentences``: ``sentence_id`` (str, ``f"{doc_id}:{index}"``), ``doc_id``, ``index`` (int, 0-based),
``paragraph`` (int), ``start``, ``end`` (char offsets in the document's clean text), ``text``,
``norm`` (normalised text), ``norm_hash`` (str), ``n_tokens`` (int).
Sentences whose ``doc_id`` is not in ``documents`` are ignored (counted in ``stats``); a repeated
``doc_id`` or ``sentence_id`` keeps its first row; ``published_at`` may also be a time-zone aware
datetime (converted to UTC) or an ISO string; a missing column raises ``ValueError`` naming it.

Output tables
-------------
``sentence_flags`` (one row per sentence, sorted by sentence_id)
    sentence_id str; doc_id str;
    quote_share f64: share of the sentence's letters and digits that sit inside quotation marks
    (straight ``"``, curly ``“ ”``, low ``„`` and guillemets ``« »``; a quote opened and not closed
    runs to the end of the sentence, a quote closed and not opened started before the sentence, i.e.
    a multi-sentence quotation; single quotes are ignored because they double as apostrophes);
    is_quote bool: ``quote_share >= config.quote_min_share`` ("X said: “...”" forms count, since the
    attribution is short);
    too_short bool: fewer than ``config.min_tokens`` tokens; kept, never matched;
    n_docs_same_hash i64: documents containing the same normalised sentence (itself included);
    n_sources_same_hash i64: outlets among those documents;
    is_common bool: boilerplate or stock phrase, never matched. A normalised sentence is common when
    it occurs in at least ``max(common_min_docs_per_source, ceil(common_min_share_of_source * D))``
    documents of one outlet that has D documents (e.g. "Sign up for our newsletter" under every
    article of that outlet), or in at least ``common_min_docs_any_share`` documents of one outlet
    whatever its size (a section's sign-off such as "Join us on Facebook.com/CNNOpinion." under a
    large outlet's opinion pieces only), or in documents of at least ``common_min_sources``
    outlets; the same
    rule is applied to families of near-identical sentences (connected by graded MinHash matches),
    so templates with a varying part ("Read or Share this story: <link>", "<name> contributed to
    this report") are common too;
    stock_reason str: a structural cue (``post_signature``, ``post_link``, ``video_widget``,
    ``promo``, ``credit``, ``disclaimer``, ``bio`` in a document's first two or last three sentences)
    or ``stock_sentence`` (in the shipped model of stock text), see ``pipeline.core.stock``; such
    sentences are common whatever the corpus size;
    matchable bool: neither too short nor common.

``sentence_matches`` (one row per matched sentence pair in different documents, sorted by
sentence_id_a, sentence_id_b)
    sentence_id_a, sentence_id_b str; doc_id_a, doc_id_b str with ``doc_id_a < doc_id_b`` (the pair
    appears once; for document ids of equal length, or none prefix of another, this is the same
    as ``sentence_id_a < sentence_id_b``); index_a, index_b i64; source_a, source_b str;
    kind str (exact / near / paraphrase, as graded by ``pipeline.core.compare.grade_pairs``);
    score f64; tier str (candidate generator that proposed the pair: exact / minhash / blocked /
    semantic); one f64 column per signal returned by the grader (``jaccard``, ``containment``,
    ``char_ratio``, ..., ``num_conflict``, ``name_conflict``, ``cosine`` null where the semantic tier
    did not grade the pair (it grades only the focus pairs, see below) or without the semantic
    tier, ``probability``, ``conflict``; exact pairs, which are not re-graded, carry 1.0 for the
    similarity signals and 0.0 for the conflict signals); is_quote bool (either side is mostly
    quotation); same_source bool; novel_ngrams i64, stock_cover f64 and relation str (reuse / quote /
    stock / same_fact), see ``pipeline.core.evidence``.
    Many-to-many rule: between two documents a sentence keeps only its best partner (highest kind,
    then score, then smallest sentence_id); a pair is kept when it is the best for either of its two
    sentences, so each sentence has at most one partner per other document from its own side.
    Identical sentences shared by more than ``exact_clique_max`` sentences, and pairs of graded
    sentence groups whose product exceeds ``expand_max_pairs``, are linked to a representative (the
    earliest published sentence, then the smallest sentence_id) instead of pairwise, so the table
    stays linear in the corpus size; document-level counts of such very widely shared sentences are
    therefore complete only for pairs involving the representative's document.

``sentence_clusters`` (one row per matched sentence, sorted by cluster_id, sentence_id)
    cluster_id str (``"c"`` + 16 hex digits of the SHA-1 of the smallest sentence_id in the
    connected component of the match graph); sentence_id, doc_id, source str; published_at datetime;
    is_origin bool; origin_sentence_id str; origin_status str: ``inferred`` when one member document
    is the source every other member derives from along the document pairs' determined directions
    (see ``pipeline.core.provenance``), else ``quotation`` when every match of the cluster is a
    quotation, else ``undetermined``: no origin is guessed; origin_basis str
    and origin_confidence f64 (the directions' bases and their lowest confidence);
    kind_to_origin str: ``origin`` for the origin itself, the kind of the direct match to the origin
    when there is one, ``indirect`` when connected only through other sentences, null when the
    origin is undetermined.

``passages`` (sorted by doc_id_a, doc_id_b, first_index_a)
    runs of matched sentences aligned between two documents, both sides moving forward, allowing
    gaps of up to ``passage_max_gap`` unmatched sentences on each side; at least
    ``passage_min_sentences`` matched pairs. doc_id_a, doc_id_b str; passage_id str;
    first_index_a, last_index_a, first_index_b, last_index_b i64; start_a, end_a, start_b, end_b
    i64 (char offsets in each document's clean text); n_sentences i64 (matched pairs);
    n_exact, n_near, n_paraphrase i64; dominant_kind str (most frequent, ties to the stronger kind);
    mean_score f64; n_quote i64; direction, direction_basis str and direction_confidence f64 (those
    of the passage's document pair).

``document_pairs`` (one row per document pair sharing at least one match, sorted by doc ids)
    doc_id_a, doc_id_b, source_a, source_b str; published_at_a, published_at_b datetime;
    n_matchable_a, n_matchable_b i64; n_shared_a, n_shared_b i64 (distinct sentences of each side
    matched in the other); n_exact, n_near, n_paraphrase i64 (matched pairs by kind; quotes
    included); n_quote i64 (pairs where a side is mostly quotation); n_nonquote i64;
    quote_only bool (every shared pair is a quotation: two outlets quoting the same speaker);
    containment_a_in_b f64 (share of A's matchable sentences matched in B) and containment_b_in_a;
    direction str (``a->b`` = A is the source of B, ``b->a``, ``undetermined``), direction_basis
    str, direction_evidence str, direction_confidence f64 (null when undetermined),
    common_source_doc_id str (siblings: the source of both): the provenance model of
    ``pipeline.core.provenance`` (publication-date intervals by precision, credit lines, the union
    a source holds, siblings of one source; its module docstring gives the rules and their order).
    Only reuse counts (``provenance.reuse_only``). same_source bool; in_story bool (the pair links its
    documents into one story, see below).
    relation str (``reuse`` when the pair shares aligned text, else ``quote``), n_aligned i64 and
    aligned_weight f64 (the aligned chain, see ``pipeline.core.evidence``). Counts and containment
    use the pair's reuse and quote matches only.

``document_originality`` (one row per document, sorted by doc_id)
    doc_id, source str; n_sentences, n_matchable i64; share_original, share_exact, share_near,
    share_paraphrase f64 over matchable sentences (null when there are none). Each matchable
    sentence counts once, by its best kind among matches to documents that are its document's
    source (a determined direction pointing at it); any other sentence is original, so an origin is
    not made less original by being copied. n_quote_reuse i64: mostly-quotation sentences reused
    that way (also counted in their kind). inferred_source_doc_id str: the document this one derives
    from: among the pairs whose direction points at it and that link it into a story (``in_story``:
    a single shared stock line does not make a source), the strongest (sum over non-quote matches of
    3 per exact, 2 per near, 1 per paraphrase; then most shared non-quote sentences, highest
    containment, smallest id); null when there is none, or when an undetermined pair (other than
    siblings of one source or quote reuse) shares more strongly with it;
    added i64: matchable sentences not found in the
    inferred source; dropped i64: matchable sentences of the inferred source not carried over (both
    null without an inferred source).

``stories`` (one row per document, sorted by story_id, doc_id)
    story_id str (``"s"`` + 16 hex of SHA-1 of the smallest doc_id of the story); doc_id str;
    n_docs i64; first_published_at datetime (earliest known date in the story, null when none).
    A story is a connected component of document pairs that share at least ``story_min_shared``
    non-quote sentences with a non-quote containment of at least ``story_min_containment`` on
    either side, or at least ``story_strong_shared`` non-quote sentences whatever the containment
    (a few shared stock lines in two long texts do not make one story); a document sharing nothing
    forms a story of one.

Stats
-----
``n_documents``, ``n_sentences``, ``n_sentences_unknown_doc``, ``n_matchable``,
``n_distinct_matchable``, ``n_quote``, ``n_too_short``, ``n_common``, ``n_template_sentences``
(common through a template family); candidate counts
``candidates_exact_sentence_pairs``, ``candidates_lsh`` (band collisions), ``candidates_minhash``
(after the estimated-Jaccard filter), ``candidate_doc_pairs``, ``candidates_paraphrase``,
``graded_pairs`` (candidates sent to the grader), ``graded_matches`` (graded exact/near/paraphrase);
``grader``; ``semantic`` = {``ran``, ``reason``, ``candidates``}; ``rows`` per
table; ``matches_by_kind``; ``timings`` (seconds per step); ``seconds_total``; ``config``.

Candidate generation (never all pairs)
--------------------------------------
* exact: sentences grouped by ``norm_hash`` (only matchable sentences);
* near: MinHash (rensa ``RMinHash`` digests, ``num_perm`` permutations) of word 3-gram shingles of
  the normalised sentence, first ``max_shingle_tokens`` tokens only, one digest per distinct
  ``norm_hash``; LSH banding (``lsh_bands`` bands of ``num_perm // lsh_bands`` rows: with 32 x 4 the
  collision probability is 0.5 at Jaccard ~0.42, 0.87 at 0.5 and 0.99 at 0.7); buckets larger than
  ``lsh_max_bucket`` are linked to their first member; pairs whose estimated Jaccard is below
  ``minhash_min_jaccard`` are dropped before grading, and so are pairs found only inside one
  document; the graded families of near-identical sentences feed the template rule of
  ``is_common``, after which template sentences leave every tier;
* paraphrase: candidate document pairs are (a) pairs with at least one match from the exact or
  MinHash tiers and (b) the
  top ``doc_top_k`` partners of each document by shared rare content words (stop words removed,
  document frequency between 2 and ``rare_token_max_docs``, i.e. posting lists are capped) with at
  least ``doc_min_shared_rare`` such words and an overlap coefficient of at least
  ``doc_min_rare_overlap``. Within those pairs, sentences not yet matched into the other document
  are paired by shared content words (IDF weighted, posting lists capped the same way), keeping the
  ``para_top_k`` best partners per sentence with at least ``para_min_shared`` shared words and a
  weighted overlap of at least ``para_min_overlap``, and graded with lexical signals. Large joins
  run in chunks of at most about ``max_join_rows`` rows.
* semantic tier (when installed and not disabled): only on the *focus pairs*, document pairs whose
  lexical matches already align (chain weight at least ``semantic_focus_min_weight``, see
  ``pipeline.core.evidence``): elsewhere a rewording could only be an isolated similarity, never
  reuse, so it is not worth a model's time. In the focus pairs, the sentences not yet matched exact
  or near into the other document and within ``semantic_window`` positions of a match of the pair
  are embedded, their ``para_top_k`` nearest neighbours by cosine
  (>= ``semantic_min_cosine``) join the blocked candidates, and all of them are graded with the
  cosine and the cross-encoder verifier, replacing the lexical paraphrase grades there (a lexical
  paraphrase the verifier rejects is kept with its verifier probability: never evidence, reuse only
  inside an aligned passage). The encoder and verifier are loaded only when there is a focus pair;
  skipped, with the reason in ``stats``, when the focus pairs hold more than
  ``semantic_max_sentences`` open sentences.

Document-level evidence (``pipeline.core.evidence``): every match gets a ``relation`` (reuse, quote,
stock, same_fact); only ``reuse`` and ``quote`` matches feed clusters, passages, document pairs,
originality and stories, and document pairs are kept only when they share aligned text
(``relation = 'reuse'``) or quotations (``relation = 'quote'``).
Every candidate (except identical sentences) is graded by ``grade_pairs``; ``none`` is dropped.
Candidates are graded once per pair of distinct normalised sentences; sentences longer than
``max_grade_chars`` are truncated for grading (two distinct sentences that agree on their first
``max_grade_chars`` characters are then graded ``near`` with score 0.99, never ``exact``).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from pipeline.core import provenance
from pipeline.core.compare import FULL_FEATURES
from pipeline.core.evidence import EvidenceConfig, classify_matches
from pipeline.core.normalize import STOPWORDS
from pipeline.core.stock import stock_reasons

__all__ = [
    "OverlapConfig",
    "OverlapResult",
    "compute_overlap",
    "quote_share",
    "quote_shares",
    "TABLES",
    "DOCUMENTS_SCHEMA",
    "SENTENCES_SCHEMA",
]

TABLES = (
    "sentence_flags",
    "sentence_matches",
    "sentence_clusters",
    "passages",
    "document_pairs",
    "document_originality",
    "stories",
)

KIND_RANK = {"exact": 3, "near": 2, "paraphrase": 1}
_RANK_KIND = {v: k for k, v in KIND_RANK.items()}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class OverlapConfig:
    """Thresholds of the overlap stage (see the module docstring for how each is used)."""

    min_tokens: int = 5
    quote_min_share: float = 0.5
    common_min_docs_per_source: int = 5
    common_min_share_of_source: float = 0.02
    common_min_sources: int = 25
    common_min_docs_any_share: int = 20
    exact_clique_max: int = 40
    expand_max_pairs: int = 400
    num_perm: int = 128
    lsh_bands: int = 32
    lsh_max_bucket: int = 64
    max_shingle_tokens: int = 256
    minhash_min_jaccard: float = 0.3
    minhash_seed: int = 1234
    minhash_chunk_rows: int = 50_000
    rare_token_max_docs: int = 50
    doc_min_shared_rare: int = 4
    doc_min_rare_overlap: float = 0.1
    doc_top_k: int = 10
    para_min_shared: int = 2
    para_min_overlap: float = 0.25
    para_top_k: int = 2
    semantic_min_cosine: float = 0.6
    semantic_max_sentences: int = 200_000
    semantic_focus_min_weight: float = 1.0
    semantic_window: int = 3
    verifier: bool = True
    verifier_max_pairs: int = 20_000
    max_grade_chars: int = 2_000
    grade_batch: int = 50_000
    max_join_rows: int = 4_000_000
    passage_max_gap: int = 1
    passage_min_sentences: int = 2
    story_min_shared: int = 2
    story_min_containment: float = 0.2
    story_strong_shared: int = 5
    # the document-level evidence rules (pipeline.core.evidence)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)

    def __post_init__(self) -> None:
        if self.num_perm <= 0 or self.lsh_bands <= 0 or self.num_perm % self.lsh_bands:
            raise ValueError(
                f"num_perm ({self.num_perm}) must be a positive multiple of lsh_bands ({self.lsh_bands})"
            )
        if self.exact_clique_max < 2 or self.lsh_max_bucket < 2:
            raise ValueError("exact_clique_max and lsh_max_bucket must be at least 2")


@dataclass
class OverlapResult:
    sentence_flags: pl.DataFrame
    sentence_matches: pl.DataFrame
    sentence_clusters: pl.DataFrame
    passages: pl.DataFrame
    document_pairs: pl.DataFrame
    document_originality: pl.DataFrame
    stories: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


# ------------------------------------------------------------------------------------------ schemas

_DT = pl.Datetime("us")

_FLAGS_SCHEMA = {
    "sentence_id": pl.String,
    "doc_id": pl.String,
    "quote_share": pl.Float64,
    "is_quote": pl.Boolean,
    "too_short": pl.Boolean,
    "n_docs_same_hash": pl.Int64,
    "n_sources_same_hash": pl.Int64,
    "is_common": pl.Boolean,
    "stock_reason": pl.String,
    "matchable": pl.Boolean,
}
# the grader's signals, as warehouse columns (one definition: pipeline.core.compare)
_SIGNALS = FULL_FEATURES + ("verifier", "probability", "conflict")
# value an identical pair takes for each signal (identical pairs are not re-graded)
_EXACT_SIGNAL = {
    "len_diff": 0.0,
    "content_unmatched": 0.0,
    "num_conflict": 0.0,
    "num_extra": 0.0,
    "name_conflict": 0.0,
    "name_extra": 0.0,
    "conflict": 0.0,
}
_MATCH_BASE = {
    "sentence_id_a": pl.String,
    "sentence_id_b": pl.String,
    "doc_id_a": pl.String,
    "doc_id_b": pl.String,
    "index_a": pl.Int64,
    "index_b": pl.Int64,
    "source_a": pl.String,
    "source_b": pl.String,
    "kind": pl.String,
    "score": pl.Float64,
    "tier": pl.String,
}
_MATCH_TAIL = {"is_quote": pl.Boolean, "same_source": pl.Boolean}
# added by pipeline.core.evidence (document-level evidence)
_MATCH_EVIDENCE = {"novel_ngrams": pl.Int64, "stock_cover": pl.Float64, "relation": pl.String}
_CLUSTER_SCHEMA = {
    "cluster_id": pl.String,
    "sentence_id": pl.String,
    "doc_id": pl.String,
    "source": pl.String,
    "published_at": _DT,
    "is_origin": pl.Boolean,
    "origin_sentence_id": pl.String,
    "origin_status": pl.String,
    "kind_to_origin": pl.String,
}
_CLUSTER_OUT_SCHEMA = {
    **{k: v for k, v in _CLUSTER_SCHEMA.items() if k not in provenance.CLUSTER_COLUMNS},
    **provenance.CLUSTER_COLUMNS,
}
_PASSAGE_SCHEMA = {
    "doc_id_a": pl.String,
    "doc_id_b": pl.String,
    "passage_id": pl.String,
    "first_index_a": pl.Int64,
    "last_index_a": pl.Int64,
    "first_index_b": pl.Int64,
    "last_index_b": pl.Int64,
    "start_a": pl.Int64,
    "end_a": pl.Int64,
    "start_b": pl.Int64,
    "end_b": pl.Int64,
    "n_sentences": pl.Int64,
    "n_exact": pl.Int64,
    "n_near": pl.Int64,
    "n_paraphrase": pl.Int64,
    "dominant_kind": pl.String,
    "mean_score": pl.Float64,
    "n_quote": pl.Int64,
}
_PASSAGE_OUT_SCHEMA = {**_PASSAGE_SCHEMA, **provenance.PASSAGE_COLUMNS}
_PAIR_SCHEMA = {
    "doc_id_a": pl.String,
    "doc_id_b": pl.String,
    "source_a": pl.String,
    "source_b": pl.String,
    "published_at_a": _DT,
    "published_at_b": _DT,
    "n_matchable_a": pl.Int64,
    "n_matchable_b": pl.Int64,
    "n_shared_a": pl.Int64,
    "n_shared_b": pl.Int64,
    "n_exact": pl.Int64,
    "n_near": pl.Int64,
    "n_paraphrase": pl.Int64,
    "n_quote": pl.Int64,
    "n_nonquote": pl.Int64,
    "quote_only": pl.Boolean,
    "containment_a_in_b": pl.Float64,
    "containment_b_in_a": pl.Float64,
    "direction": pl.String,
    "direction_basis": pl.String,
    "direction_evidence": pl.String,
    "direction_confidence": pl.Float64,
    "common_source_doc_id": pl.String,
    "same_source": pl.Boolean,
    "in_story": pl.Boolean,
    "relation": pl.String,
    "n_aligned": pl.Int64,
    "aligned_weight": pl.Float64,
}
_PAIR_EVIDENCE = ("relation", "n_aligned", "aligned_weight")
_ORIG_SCHEMA = {
    "doc_id": pl.String,
    "source": pl.String,
    "n_sentences": pl.Int64,
    "n_matchable": pl.Int64,
    "share_original": pl.Float64,
    "share_exact": pl.Float64,
    "share_near": pl.Float64,
    "share_paraphrase": pl.Float64,
    "n_quote_reuse": pl.Int64,
    "inferred_source_doc_id": pl.String,
    "added": pl.Int64,
    "dropped": pl.Int64,
}
_STORY_SCHEMA = {
    "story_id": pl.String,
    "doc_id": pl.String,
    "n_docs": pl.Int64,
    "first_published_at": _DT,
}

# the input frames, as documented above (title, n_chars and paragraph are optional)
DOCUMENTS_SCHEMA = {
    "doc_id": pl.String,
    "source": pl.String,
    "published_at": _DT,
    "title": pl.String,
    "n_chars": pl.Int64,
}
SENTENCES_SCHEMA = {
    "sentence_id": pl.String,
    "doc_id": pl.String,
    "index": pl.Int64,
    "paragraph": pl.Int64,
    "start": pl.Int64,
    "end": pl.Int64,
    "text": pl.String,
    "norm": pl.String,
    "norm_hash": pl.String,
    "n_tokens": pl.Int64,
}
_DOC_REQUIRED = ("doc_id", "source", "published_at")
_SENT_REQUIRED = ("sentence_id", "doc_id", "index", "start", "end", "text", "norm", "norm_hash", "n_tokens")

_STOPWORDS = STOPWORDS | {"it's", "new", "two", "year", "years"}  # too frequent in news to block documents on


# ------------------------------------------------------------------------------------------ quotes

_HAS_QUOTE = r"[\"“”„«»]"
_BALANCED = r'"[^"]*"|“[^“”]*”|„[^“”„]*[“”]|«[^«»]*»'
_ALNUM = r"[^\W_]"


def quote_shares(texts: pl.Series) -> pl.Series:
    """Vectorised :func:`quote_share` over a string Series (Float64, 0.0 for null or empty)."""
    t = texts.cast(pl.String).fill_null("")
    f = pl.DataFrame({"t": t}).select(
        pl.col("t").str.count_matches(_ALNUM).alias("total"),
        pl.col("t").str.extract_all(_BALANCED).list.join("").str.count_matches(_ALNUM).alias("q1"),
        pl.col("t").str.replace_all(_BALANCED, "\x00").alias("r"),
    )
    f = f.with_columns(
        # a closing mark with no opening one before it: the quotation began in an earlier sentence
        pl.col("r").str.extract(r"^([^“„«\"]*?)[”»]", 1).str.count_matches(_ALNUM).fill_null(0).alias("q2"),
        # a lone straight quote with only punctuation after it closes an earlier quotation
        pl.col("r")
        .str.extract(r'^([^“„«"”»]*)"[^\w]*$', 1)
        .str.count_matches(_ALNUM)
        .fill_null(0)
        .alias("q3"),
        # an opening mark never closed: the quotation runs to the end of the sentence
        pl.col("r").str.extract(r'[“„«"]([^”»"]*)$', 1).str.count_matches(_ALNUM).fill_null(0).alias("q4"),
    )
    share = (
        pl.when(pl.col("total") > 0)
        .then(((pl.col("q1") + pl.col("q2") + pl.col("q3") + pl.col("q4")) / pl.col("total")).clip(0.0, 1.0))
        .otherwise(0.0)
    )
    return f.select(share.alias("quote_share"))["quote_share"].cast(pl.Float64)


def quote_share(text: str) -> float:
    """Share of the letters and digits of ``text`` that sit inside quotation marks.

    Straight double quotes, curly double quotes, low quotes and guillemets are recognised (single
    quotes are not: they double as apostrophes). A quote opened and never closed runs to the end (a
    quotation continuing in the next sentence); a closing mark with no opening one, or a last
    straight quote followed only by punctuation, means the quotation started before the sentence.
    """
    return float(quote_shares(pl.Series([text], dtype=pl.String))[0])


# ------------------------------------------------------------------------------------------ helpers


class _Clock:
    def __init__(self, progress: Progress | None):
        self.timings: dict[str, float] = {}
        self._progress = progress
        self._t0 = time.perf_counter()

    def report(self, step: str, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(step, done, total)

    def step(self, name: str):
        clock = self

        class _Ctx:
            def __enter__(self_inner):
                self_inner.t = time.perf_counter()
                clock.report(name, 0, 1)
                return self_inner

            def __exit__(self_inner, *exc):
                clock.timings[name] = round(time.perf_counter() - self_inner.t, 3)
                if exc[0] is None:
                    clock.report(name, 1, 1)
                return False

        return _Ctx()


#: sentences embedded per call (a progress report after each), pairs verified per call, document pairs
#: searched between two reports
EMBED_CHUNK = 512
VERIFY_CHUNK = 128
SEARCH_REPORT_EVERY = 1000


def _encode(enc: Any, texts: list[str], clock: _Clock) -> np.ndarray:
    """Unit vectors of ``texts`` in chunks of ``EMBED_CHUNK``, reporting ``("embed", done, total)``."""
    if not texts:
        return np.asarray(enc.encode(texts), dtype=np.float32)
    parts = []
    for lo in range(0, len(texts), EMBED_CHUNK):
        parts.append(np.asarray(enc.encode(texts[lo : lo + EMBED_CHUNK]), dtype=np.float32))
        clock.report("embed", min(lo + EMBED_CHUNK, len(texts)), len(texts))
    return np.concatenate(parts)


def _stable_id(prefix: str, key: str) -> str:
    return prefix + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _empty(schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _check_columns(df: pl.DataFrame, required: Sequence[str], name: str) -> None:
    if not isinstance(df, pl.DataFrame):
        raise TypeError(f"{name} must be a polars DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}")


def _prepare_inputs(documents: pl.DataFrame, sentences: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    _check_columns(documents, _DOC_REQUIRED, "documents")
    _check_columns(sentences, _SENT_REQUIRED, "sentences")
    pub = pl.col("published_at")
    if documents.schema["published_at"] == pl.String:
        pub = pub.str.to_datetime(strict=False)
    elif (
        isinstance(documents.schema["published_at"], pl.Datetime)
        and documents.schema["published_at"].time_zone
    ):
        pub = pub.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    docs = (
        documents.select(
            pl.col("doc_id").cast(pl.String),
            pl.col("source").cast(pl.String).fill_null(""),
            pub.cast(_DT).alias("published_at"),
            (
                pl.col("published_at_precision").cast(pl.String)
                if "published_at_precision" in documents.columns
                else pl.lit(None, dtype=pl.String)
            ).alias("published_at_precision"),
        )
        .filter(pl.col("doc_id").is_not_null())
        .unique("doc_id", keep="first", maintain_order=True)
        .sort("doc_id")
    )
    sents = (
        sentences.select(
            pl.col("sentence_id").cast(pl.String),
            pl.col("doc_id").cast(pl.String),
            pl.col("index").cast(pl.Int64),
            pl.col("start").cast(pl.Int64),
            pl.col("end").cast(pl.Int64),
            pl.col("text").cast(pl.String).fill_null(""),
            pl.col("norm").cast(pl.String).fill_null(""),
            pl.col("norm_hash").cast(pl.String),
            pl.col("n_tokens").cast(pl.Int64).fill_null(0),
        )
        .filter(pl.col("sentence_id").is_not_null())
        .unique("sentence_id", keep="first", maintain_order=True)
        .join(docs.select("doc_id", "source", "published_at"), on="doc_id", how="inner")
        .with_columns(
            # an empty normalised sentence has no identity: give it its own hash so it never groups
            pl.when(pl.col("norm_hash").is_null() | (pl.col("norm").str.len_chars() == 0))
            .then(pl.lit("\x00") + pl.col("sentence_id"))
            .otherwise(pl.col("norm_hash"))
            .alias("norm_hash")
        )
        .sort("sentence_id")
    )
    return docs, sents


# ------------------------------------------------------------------------------------------ flags


def _common_groups(gd: pl.DataFrame, src_size: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(grp, common) for rows (grp, doc_id, source): a group is common when it occurs in at least
    max(common_min_docs_per_source, ceil(common_min_share_of_source * D)) documents of one outlet
    with D documents, or in common_min_docs_any_share documents of one outlet, or in documents of
    at least common_min_sources outlets."""
    gd = gd.unique()
    per_src = (
        gd.group_by("grp", "source")
        .agg(pl.len().alias("n"))
        .join(src_size, on="source")
        .with_columns(
            (
                pl.col("n")
                >= pl.max_horizontal(
                    pl.lit(cfg.common_min_docs_per_source),
                    (pl.col("src_docs") * cfg.common_min_share_of_source).ceil().cast(pl.Int64),
                )
            ).alias("c")
        )
        .group_by("grp")
        .agg(pl.col("c").any().alias("c_src"), pl.len().alias("n_src"), pl.col("n").max().alias("n_max"))
    )
    return per_src.select(
        "grp",
        (
            pl.col("c_src")
            | (pl.col("n_max") >= cfg.common_min_docs_any_share)
            | (pl.col("n_src") >= cfg.common_min_sources)
        ).alias("common"),
    )


def _template_families(
    graded: pl.DataFrame, elig: pl.DataFrame, docs: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    """Distinct sentences (hid) that belong to a recurring template: a family of near-identical
    sentences (connected by graded MinHash matches) that is common by the same rule as identical
    sentences, e.g. "Read or Share this story: <link>" under every article of one outlet."""
    if graded.height == 0:
        return pl.DataFrame(schema={"hid": pl.Int64})
    nodes = pl.concat(
        [graded.select(pl.col("hid_a").alias("hid")), graded.select(pl.col("hid_b").alias("hid"))]
    )
    nodes = nodes.unique().sort("hid").with_row_index("node")
    ea = graded.select(pl.col("hid_a").alias("hid")).join(nodes, on="hid", how="left", maintain_order="left")
    eb = graded.select(pl.col("hid_b").alias("hid")).join(nodes, on="hid", how="left", maintain_order="left")
    labels = _components(
        ea["node"].to_numpy().astype(np.int64), eb["node"].to_numpy().astype(np.int64), nodes.height
    )
    fam = nodes.with_columns(pl.Series("grp", labels, dtype=pl.Int64)).select("hid", "grp")
    src_size = docs.group_by("source").agg(pl.len().alias("src_docs"))
    gd = elig.select("hid", "doc_id", "source").join(fam, on="hid").select("grp", "doc_id", "source")
    common = _common_groups(gd, src_size, cfg).filter(pl.col("common"))
    return fam.join(common, on="grp", how="semi").select("hid").sort("hid")


def _sentence_flags(docs: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    has_q = sents["text"].str.contains(_HAS_QUOTE).fill_null(False)
    shares = np.zeros(sents.height, dtype=np.float64)
    idx = np.flatnonzero(has_q.to_numpy())
    if len(idx):
        shares[idx] = quote_shares(sents["text"].gather(idx)).to_numpy()
    src_size = docs.group_by("source").agg(pl.len().alias("src_docs"))
    # stock text (shipped model and structural cues, pipeline.core.stock); positional cues (bios) apply
    # to a document's first two and last three sentences
    edge = sents.select(
        (pl.col("index") < 2) | (pl.col("index") >= pl.col("index").max().over("doc_id") - 2)
    ).to_series()
    reasons = stock_reasons(sents["text"], sents["norm"], edge)
    hd = sents.select("norm_hash", "doc_id", "source").unique()
    per_hash = hd.group_by("norm_hash").agg(
        pl.len().cast(pl.Int64).alias("n_docs_same_hash"),
        pl.col("source").n_unique().cast(pl.Int64).alias("n_sources_same_hash"),
    )
    per_src = _common_groups(hd.rename({"norm_hash": "grp"}), src_size, cfg).rename({"grp": "norm_hash"})
    flags = (
        sents.select("sentence_id", "doc_id", "norm_hash", "n_tokens")
        .with_columns(pl.Series("quote_share", shares, dtype=pl.Float64), reasons)
        .join(per_hash, on="norm_hash", how="left")
        .join(per_src, on="norm_hash", how="left")
        .with_columns(
            (pl.col("quote_share") >= cfg.quote_min_share).alias("is_quote"),
            (pl.col("n_tokens") < cfg.min_tokens).alias("too_short"),
            (pl.col("common").fill_null(False) | pl.col("stock_reason").is_not_null()).alias("is_common"),
        )
        .with_columns((~pl.col("too_short") & ~pl.col("is_common")).alias("matchable"))
        .select(list(_FLAGS_SCHEMA))
        .sort("sentence_id")
    )
    return flags.cast(_FLAGS_SCHEMA)


# ------------------------------------------------------------------------------------------ minhash


def _split_tokens(expr: pl.Expr, cap: int) -> pl.Expr:
    """Tokens of a normalised sentence (space-separated words), at most ``cap`` of them."""
    return expr.str.strip_chars().str.split(" ").list.head(cap)


def _shingle_hashes(norms: pl.Series, cfg: OverlapConfig) -> tuple[np.ndarray, np.ndarray]:
    """Word 3-gram shingle hashes of each text (first ``max_shingle_tokens`` tokens) as one flat
    uint64 array and row offsets; a text of fewer than 3 tokens gets one shingle of all its tokens."""
    n = len(norms)
    toks = pl.select(_split_tokens(pl.lit(norms), cfg.max_shingle_tokens)).to_series()
    lengths = toks.list.len().fill_null(0).to_numpy().astype(np.int64)
    th = (
        toks.explode(empty_as_null=False)
        .drop_nulls()
        .hash(seed=cfg.minhash_seed)
        .to_numpy()
        .astype(np.uint64)
    )
    offs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offs[1:])
    c1 = np.uint64(0x9E3779B97F4A7C15)
    c2 = np.uint64(0xC2B2AE3D27D4EB4F)
    # gram g starts at token p of its row; valid while p + 2 < length (one fewer valid start per
    # token after the first two)
    n_grams = np.maximum(lengths - 2, 0)
    if len(th) >= 3:
        with np.errstate(over="ignore"):
            g = th[:-2] * c1 ^ th[1:-1] * c2 ^ th[2:]
        starts = np.repeat(offs[:-1], n_grams) + (
            np.arange(int(n_grams.sum())) - np.repeat(np.cumsum(n_grams) - n_grams, n_grams)
        )
        grams = g[starts]
    else:
        grams = np.zeros(0, dtype=np.uint64)
    counts = n_grams.copy()
    short = np.flatnonzero(lengths < 3)
    if len(short):
        # one shingle per short row: fold its (0-2) token hashes together
        extra = np.full(len(short), np.uint64(0x2545F4914F6CDD1D), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(2):
                has = lengths[short] > k
                idx = offs[short][has] + k
                extra[has] = extra[has] * c1 ^ th[idx]
        counts[short] = 1
        pos_full = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=pos_full[1:])
        out = np.empty(int(pos_full[-1]), dtype=np.uint64)
        # place the 3-gram rows and the short rows at their offsets
        long_rows = np.flatnonzero(lengths >= 3)
        dst = np.repeat(pos_full[long_rows], n_grams[long_rows]) + (
            np.arange(len(grams))
            - np.repeat(np.cumsum(n_grams[long_rows]) - n_grams[long_rows], n_grams[long_rows])
        )
        out[dst] = grams
        out[pos_full[short]] = extra
        return out, pos_full.astype(np.uint64)
    goffs = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(counts, out=goffs[1:])
    return grams, goffs


def _minhash_signatures(norms: pl.Series, cfg: OverlapConfig, clock: _Clock) -> np.ndarray:
    """(n, num_perm) uint32 MinHash signatures (rensa ``RMinHash``) of the word 3-gram shingles of
    each text, computed in chunks of ``minhash_chunk_rows`` rows to bound memory."""
    import rensa

    n = len(norms)
    sig = np.empty((n, cfg.num_perm), dtype=np.uint32)
    step = max(1, cfg.minhash_chunk_rows)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        grams, offsets = _shingle_hashes(norms.slice(lo, hi - lo), cfg)
        mat = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            np.ascontiguousarray(grams), np.ascontiguousarray(offsets), cfg.num_perm, cfg.minhash_seed
        )
        sig[lo:hi] = np.asarray(mat.to_rows(), dtype=np.uint32)
        clock.report("minhash", hi, n)
    return sig


def _lsh_pairs(sig: np.ndarray, cfg: OverlapConfig, clock: _Clock | None = None) -> np.ndarray:
    """Candidate row pairs (i < j) sharing at least one LSH band, shape (k, 2); reports
    ``("lsh", bands done, bands)``."""
    n = sig.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    r = cfg.num_perm // cfg.lsh_bands
    c = np.uint64(0x9E3779B97F4A7C15)
    out = []
    for band in range(cfg.lsh_bands):
        if band and clock is not None:
            clock.report("lsh", band, cfg.lsh_bands)
        cols = sig[:, band * r : (band + 1) * r].astype(np.uint64)
        key = np.full(n, np.uint64(band + 1), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(r):
                key = (key * c) ^ cols[:, k]
                key ^= key >> np.uint64(29)
        order = np.argsort(key, kind="stable")
        sk = key[order]
        brk = np.flatnonzero(np.diff(sk) != 0) + 1
        starts = np.concatenate([[0], brk])
        ends = np.concatenate([brk, [n]])
        sizes = ends - starts
        multi = sizes >= 2
        if not multi.any():
            continue
        starts, sizes = starts[multi], sizes[multi]
        # buckets of two (nearly all): vectorised; other small buckets: all pairs; big buckets:
        # every member linked to the first one
        two = sizes == 2
        if two.any():
            st2 = starts[two]
            out.append(np.stack([order[st2], order[st2 + 1]], axis=1))
        small = (sizes > 2) & (sizes <= cfg.lsh_max_bucket)
        for s, z in zip(starts[small], sizes[small], strict=True):
            mem = order[s : s + z]
            iu = np.triu_indices(z, 1)
            out.append(np.stack([mem[iu[0]], mem[iu[1]]], axis=1))
        small = sizes <= cfg.lsh_max_bucket
        for s, z in zip(starts[~small], sizes[~small], strict=True):
            mem = order[s : s + z]
            out.append(np.stack([np.full(z - 1, mem[0]), mem[1:]], axis=1))
    if clock is not None:
        clock.report("lsh", cfg.lsh_bands, cfg.lsh_bands)
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    pairs.sort(axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0)


def _estimated_jaccard(sig: np.ndarray, pairs: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    est = np.empty(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), chunk):
        p = pairs[lo : lo + chunk]
        est[lo : lo + chunk] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return est


# ------------------------------------------------------------------------------------------ grading


def _load_grader() -> tuple[Callable[..., list], str]:
    from pipeline.core.compare import grade_pairs

    return grade_pairs, "pipeline.core.compare.grade_pairs"


def _verifier_state(enc: Any, cfg: OverlapConfig) -> dict[str, Any]:
    """The cross-encoder verifier for this run (only with the semantic tier) and its budget."""
    ver, reason = None, "paraphrase verifier off: it needs the semantic tier"
    if enc is not None and not cfg.verifier:
        reason = "paraphrase verifier not requested (OverlapConfig.verifier=False)"
    elif enc is not None:
        from pipeline.core.verifier import load_verifier

        ver, reason = load_verifier()
        if ver is not None:
            reason = f"paraphrase verifier on: {reason}"
    return {
        "verifier": ver,
        "budget": max(0, int(cfg.verifier_max_pairs)),
        "stats": {"ran": False, "reason": reason, "pairs": 0},
    }


def _semantic_wanted(encoder: Any) -> tuple[bool, str]:
    """Whether the semantic tier should run (without loading it) and why."""
    if encoder is None or encoder is False:
        return False, "semantic tier not requested (encoder=None)"
    if encoder == "auto":
        try:
            from pipeline.core.embed import semantic_status
        except ImportError as exc:
            return False, f"semantic tier unavailable: {exc}"
        ok, reason = semantic_status()
        return ok, reason if not ok else f"semantic tier on: {reason}"
    if not hasattr(encoder, "encode"):
        raise TypeError("encoder must be 'auto', None, or an object with encode(texts) -> unit vectors")
    return True, "semantic tier on: caller-supplied encoder"


def _load_encoder(encoder: Any) -> tuple[Any, str]:
    """The encoder to use (or None) and a sentence saying why, for an ``encoder`` that
    :func:`_semantic_wanted` accepted: ``"auto"`` loads the bundled model, anything else is the caller's."""
    if encoder != "auto":
        return encoder, "semantic tier on: caller-supplied encoder"
    from pipeline.core.embed import load_encoder

    enc, reason = load_encoder()
    return enc, reason if enc is None else f"semantic tier on: {reason}"


# ------------------------------------------------------------------------------------------ main


def compute_overlap(
    documents: pl.DataFrame,
    sentences: pl.DataFrame,
    *,
    config: OverlapConfig | None = None,
    encoder: Any = "auto",
    progress: Progress | None = None,
) -> OverlapResult:
    """Find the sentences, passages and documents shared across the corpus (see module docstring)."""
    cfg = config or OverlapConfig()
    clock = _Clock(progress)
    stats: dict[str, Any] = {"config": asdict(cfg)}
    t_all = time.perf_counter()

    with clock.step("prepare"):
        docs, sents = _prepare_inputs(documents, sentences)
        stats["n_documents"] = docs.height
        stats["n_sentences"] = sents.height
        stats["n_sentences_unknown_doc"] = sentences.height - sents.height

    with clock.step("flags"):
        flags = _sentence_flags(docs, sents, cfg)
    stats["n_quote"] = int(flags["is_quote"].sum() or 0)
    stats["n_too_short"] = int(flags["too_short"].sum() or 0)
    stats["n_common"] = int(flags["is_common"].sum() or 0)

    # the encoder and the verifier load only when a document pair needs them (see _semantic_focus)
    wanted, reason = _semantic_wanted(encoder)
    stats["semantic"] = {"ran": False, "reason": reason, "embeddings": wanted}

    # matchable sentences, with a dense integer id per distinct normalised sentence
    elig = (
        sents.join(flags.select("sentence_id", "is_quote", "matchable"), on="sentence_id")
        .filter(pl.col("matchable"))
        .drop("matchable")
    )
    stats["n_matchable"] = elig.height
    hashes = (
        elig.sort("sentence_id")
        .group_by("norm_hash", maintain_order=True)
        .agg(
            pl.col("sentence_id").first().alias("rep_sid"),
            pl.col("text").first().alias("rep_text"),
            pl.col("norm").first().alias("rep_norm"),
            pl.len().alias("g"),
        )
        .sort("norm_hash")
        .with_row_index("hid")
        .with_columns(pl.col("hid").cast(pl.Int64))
    )
    doc_rank = docs.select("doc_id").with_row_index("didx").with_columns(pl.col("didx").cast(pl.Int64))
    elig = (
        elig.join(hashes.select("norm_hash", "hid"), on="norm_hash")
        .join(doc_rank, on="doc_id")
        .sort("sentence_id")
        .with_row_index("sidx")
        .with_columns(pl.col("sidx").cast(pl.Int64))
    )
    stats["n_distinct_matchable"] = hashes.height

    # ---- exact tier
    with clock.step("exact"):
        exact_pairs = _exact_pairs(elig, cfg)
    stats["candidates_exact_sentence_pairs"] = exact_pairs.height

    # ---- near tier: MinHash LSH over distinct normalised sentences
    with clock.step("minhash"):
        sig = _minhash_signatures(hashes["rep_norm"], cfg, clock)
    with clock.step("lsh"):
        cand = _lsh_pairs(sig, cfg, clock)
        stats["candidates_lsh"] = int(len(cand))
        if len(cand):
            est = _estimated_jaccard(sig, cand)
            cand = cand[est >= cfg.minhash_min_jaccard]
        del sig
        near_cand = pl.DataFrame(
            {"hid_a": cand[:, 0].astype(np.int64), "hid_b": cand[:, 1].astype(np.int64)},
            schema={"hid_a": pl.Int64, "hid_b": pl.Int64},
        ).with_columns(pl.lit("minhash").alias("tier"))
        # only pairs that occur in two different documents are worth grading
        near_cand = _cross_doc_only(near_cand, elig)
    stats["candidates_minhash"] = near_cand.height

    grade_pairs, stats["grader"] = _load_grader()
    stats["verifier"] = {
        "ran": False,
        "reason": "paraphrase verifier off: it needs the semantic tier",
        "pairs": 0,
    }
    signal_cols: list[str] = []
    with clock.step("grade_near"):
        graded_near = _grade(near_cand, hashes, grade_pairs, None, cfg, clock, "grade_near", signal_cols)

    with clock.step("templates"):
        tmpl = _template_families(graded_near, elig, docs, cfg)
        if tmpl.height:
            t_sids = elig.join(tmpl, on="hid", how="semi").select("sentence_id")
            flags = flags.with_columns(
                (pl.col("is_common") | pl.col("sentence_id").is_in(t_sids["sentence_id"].implode())).alias(
                    "is_common"
                )
            ).with_columns((~pl.col("too_short") & ~pl.col("is_common")).alias("matchable"))
            elig = elig.join(tmpl, on="hid", how="anti")
            graded_near = graded_near.join(tmpl.rename({"hid": "hid_a"}), on="hid_a", how="anti").join(
                tmpl.rename({"hid": "hid_b"}), on="hid_b", how="anti"
            )
            exact_pairs = exact_pairs.join(
                t_sids.rename({"sentence_id": "sid_l"}), on="sid_l", how="anti"
            ).join(t_sids.rename({"sentence_id": "sid_r"}), on="sid_r", how="anti")
    stats["n_template_sentences"] = stats["n_matchable"] - elig.height
    stats["n_common"] = int(flags["is_common"].sum() or 0)
    stats["n_matchable"] = elig.height
    with clock.step("expand_near"):
        m1 = _expand(graded_near, elig, cfg)
        matches_1 = pl.concat([_exact_rows(exact_pairs), m1], how="diagonal_relaxed")

    # ---- paraphrase tier: blocked candidates within candidate document pairs (lexical grades)
    with clock.step("doc_candidates"):
        rare = _rare_tokens(elig, cfg)
        doc_pairs = _candidate_doc_pairs(matches_1, elig, rare, cfg)
    stats["candidate_doc_pairs"] = doc_pairs.height
    graded_keys = graded_near.select("hid_a", "hid_b")
    with clock.step("para_candidates"):
        para_cand = _dedupe_candidates(
            _paraphrase_candidates(doc_pairs, elig, rare, matches_1, cfg), graded_keys
        )
    stats["candidates_paraphrase"] = para_cand.height
    with clock.step("grade_paraphrase"):
        graded_para = _grade(
            para_cand, hashes, grade_pairs, None, cfg, clock, "grade_paraphrase", signal_cols
        )
    with clock.step("expand_paraphrase"):
        m2 = _expand(graded_para, elig, cfg, restrict=doc_pairs)
        raw = pl.concat([matches_1, m2], how="diagonal_relaxed")
    stats["graded_pairs"] = near_cand.height + para_cand.height
    stats["graded_matches"] = graded_near.height + graded_para.height

    # ---- semantic tier: only where the lexical evidence already aligns text between two documents
    if wanted:
        raw = _semantic_focus(
            raw,
            m2,
            matches_1,
            graded_keys,
            elig,
            sents,
            hashes,
            rare,
            doc_rank,
            encoder,
            grade_pairs,
            signal_cols,
            cfg,
            clock,
            stats,
        )
    del rare

    with clock.step("matches"):
        matches = _finalise_matches(raw, elig, signal_cols, semantic_on=wanted)
    with clock.step("evidence"):
        matches, pair_evidence = _relations(matches, sents, cfg, _doc_sizes(elig))
        # only aligned text reuse (and quotations, which keep their own flags) goes further
        linked = matches.filter(pl.col("relation").is_in(["reuse", "quote"]))
    with clock.step("clusters"):
        clusters = _clusters(linked, sents)
    with clock.step("passages"):
        passages = _passages(linked, sents, cfg)
    with clock.step("document_pairs"):
        reuse = provenance.reuse_only(matches)
        dpairs = _with_pair_evidence(_document_pairs(reuse, flags, docs, sents, cfg), pair_evidence)
    with clock.step("provenance"):
        passages = provenance.passage_directions(passages, dpairs).cast(_PASSAGE_OUT_SCHEMA)
        clusters = provenance.cluster_origins(clusters, reuse, dpairs).cast(_CLUSTER_OUT_SCHEMA)
    with clock.step("originality"):
        orig = _originality(reuse, flags, docs, dpairs)
    with clock.step("stories"):
        stories = _stories(dpairs, docs)

    stats["rows"] = {
        "sentence_flags": flags.height,
        "sentence_matches": matches.height,
        "sentence_clusters": clusters.height,
        "passages": passages.height,
        "document_pairs": dpairs.height,
        "document_originality": orig.height,
        "stories": stories.height,
    }
    stats["matches_by_kind"] = {k: int((linked["kind"] == k).sum()) for k in ("exact", "near", "paraphrase")}
    stats["matches_by_relation"] = {
        r: int((matches["relation"] == r).sum()) for r in ("reuse", "quote", "stock", "same_fact")
    }
    stats["timings"] = clock.timings
    stats["seconds_total"] = round(time.perf_counter() - t_all, 3)
    return OverlapResult(
        sentence_flags=flags,
        sentence_matches=matches,
        sentence_clusters=clusters,
        passages=passages,
        document_pairs=dpairs,
        document_originality=orig,
        stories=stories,
        stats=stats,
    )


# ------------------------------------------------------------------------------------------ tiers


def _dedupe_candidates(cand: pl.DataFrame, graded_keys: pl.DataFrame) -> pl.DataFrame:
    """One row per hash pair (first tier in name order), without pairs graded already."""
    return (
        cand.sort("tier")
        .unique(["hid_a", "hid_b"], keep="first")
        .join(graded_keys, on=["hid_a", "hid_b"], how="anti")
        .sort("hid_a", "hid_b")
    )


def _near_anchors(
    prelim: pl.DataFrame, focus: pl.DataFrame, doc_rank: pl.DataFrame, elig: pl.DataFrame, window: int
) -> pl.DataFrame:
    """Sentence ids (``sentence_id``) within ``window`` positions of a match of a focus pair, in the
    same document."""
    ids = doc_rank.select("doc_id", "didx")
    pairs = (
        prelim.join(ids.rename({"doc_id": "doc_id_a", "didx": "_da"}), on="doc_id_a")
        .join(ids.rename({"doc_id": "doc_id_b", "didx": "_db"}), on="doc_id_b")
        .with_columns(
            pl.min_horizontal("_da", "_db").alias("da"), pl.max_horizontal("_da", "_db").alias("db")
        )
        .join(focus, on=["da", "db"], how="semi")
    )
    anchors = pl.concat(
        [
            pairs.select(pl.col("doc_id_a").alias("doc_id"), pl.col("index_a").alias("at")),
            pairs.select(pl.col("doc_id_b").alias("doc_id"), pl.col("index_b").alias("at")),
        ]
    ).unique()
    return (
        elig.select("sentence_id", "doc_id", "index")
        .join(anchors, on="doc_id")
        .filter((pl.col("index") - pl.col("at")).abs() <= window)
        .select("sentence_id")
        .unique()
    )


class _CachedEncoder:
    """An encoder that embeds each distinct text once per run."""

    def __init__(self, enc: Any):
        self._enc = enc
        self._vecs: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in self._vecs))
        if todo:
            for t, v in zip(todo, np.asarray(self._enc.encode(todo), dtype=np.float32), strict=True):
                self._vecs[t] = v
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vecs[t] for t in texts])


def _semantic_focus(
    raw: pl.DataFrame,
    m2: pl.DataFrame,
    matches_1: pl.DataFrame,
    graded_keys: pl.DataFrame,
    elig: pl.DataFrame,
    sents: pl.DataFrame,
    hashes: pl.DataFrame,
    rare: pl.DataFrame,
    doc_rank: pl.DataFrame,
    encoder: Any,
    grade_pairs,
    signal_cols: list[str],
    cfg: OverlapConfig,
    clock: _Clock,
    stats: dict[str, Any],
) -> pl.DataFrame:
    """The semantic tier, run on the *focus pairs*: document pairs whose lexical matches already align
    (chain weight >= ``semantic_focus_min_weight``, see pipeline.core.evidence). Only there can a
    rewording change whether, and how much, text was reused; elsewhere a paraphrase would be an
    isolated similarity whatever its grade. Within the focus pairs, sentences are embedded, nearest
    neighbours added as candidates, and every paraphrase candidate (blocked or semantic) is graded with
    the embedding cosine and the cross-encoder verifier, replacing the lexical paraphrase grades of those
    pairs; all of this only for sentences within ``semantic_window`` positions of a lexical match of the
    pair (elsewhere the lexical grades stay). A lexical paraphrase that the verifier rejects is kept with its verifier probability: it is
    never evidence of reuse, but counts as reuse when it sits in order inside an aligned passage."""
    with clock.step("semantic_focus"):
        prelim = _finalise_matches(raw, elig, signal_cols, semantic_on=False)
        _, pe = _relations(prelim, sents, cfg, _doc_sizes(elig))
        focus = (
            pe.filter(pl.col("aligned_weight") >= cfg.semantic_focus_min_weight)
            .join(doc_rank.rename({"doc_id": "doc_id_a", "didx": "da"}), on="doc_id_a")
            .join(doc_rank.rename({"doc_id": "doc_id_b", "didx": "db"}), on="doc_id_b")
            .select(pl.min_horizontal("da", "db").alias("da"), pl.max_horizontal("da", "db").alias("db"))
            .unique()
            .sort("da", "db")
        )
    stats["semantic_focus_pairs"] = focus.height
    if focus.height == 0:
        stats["semantic"] = {
            "ran": True,
            "reason": "semantic tier on: no document pair aligns enough text to need it (models not loaded)",
            "candidates": 0,
            "embeddings": True,
        }
        return raw
    with clock.step("semantic_load"):
        enc, reason = _load_encoder(encoder)
        if enc is None:
            stats["semantic"] = {"ran": False, "reason": reason, "embeddings": False}
            return raw
        vstate = _verifier_state(enc, cfg)
        stats["verifier"] = vstate["stats"]
        enc = _CachedEncoder(enc)
    with clock.step("semantic_candidates"):
        # only sentences near the lexical matches of a focus pair are worth a model's look: a rewording
        # that belongs to the shared text sits among, or next to, the sentences already found
        near = _near_anchors(prelim, focus, doc_rank, elig, cfg.semantic_window)
        elig_w = elig.join(near, on="sentence_id", how="semi")
        rare_w = rare.join(elig_w.select("sidx"), on="sidx", how="semi")
        strong = raw.filter(pl.col("kind").is_in(["exact", "near"]))
        sem_cand, sem_reason = _semantic_candidates(
            focus, elig_w, enc, cfg, clock, _matched_into(strong, elig)
        )
        lex_cand = _paraphrase_candidates(focus, elig_w, rare_w, matches_1, cfg)
        cand = lex_cand if sem_cand is None else pl.concat([lex_cand, sem_cand])
        cand = _dedupe_candidates(cand, graded_keys)
    stats["semantic"] = {
        "ran": sem_cand is not None,
        "reason": sem_reason,
        "candidates": 0 if sem_cand is None else sem_cand.height,
        "embeddings": True,
    }
    with clock.step("grade_semantic"):
        graded = _grade(
            cand, hashes, grade_pairs, enc, cfg, clock, "grade_semantic", signal_cols, vstate, True
        )
        m3 = _expand(graded, elig, cfg, restrict=focus)
    # lexical paraphrase grades inside the focus pairs are replaced by the semantic ones
    didx = elig.select("sentence_id", "didx")

    def in_focus(frame: pl.DataFrame) -> pl.DataFrame:
        f = frame.join(didx.rename({"sentence_id": "sid_l", "didx": "_dl"}), on="sid_l").join(
            didx.rename({"sentence_id": "sid_r", "didx": "_dr"}), on="sid_r"
        )
        f = f.with_columns(
            pl.min_horizontal("_dl", "_dr").alias("da"), pl.max_horizontal("_dl", "_dr").alias("db")
        )
        return f.join(focus, on=["da", "db"], how="semi").drop("_dl", "_dr", "da", "db")

    # (lexical grades outside the windows stay as they are)
    m2_focus = (
        in_focus(m2)
        .join(near.rename({"sentence_id": "sid_l"}), on="sid_l", how="semi")
        .join(near.rename({"sentence_id": "sid_r"}), on="sid_r", how="semi")
    )
    accepted = m3.filter(pl.col("kind") != "none")
    # verifier-rejected pairs that the lexical grader accepted: kept, with the verifier's probability
    if "verifier" in m3.columns:
        rejected = (
            m3.filter((pl.col("kind") == "none") & pl.col("verifier").is_not_null())
            .select("sid_l", "sid_r", "verifier")
            .join(m2_focus.drop("verifier", strict=False), on=["sid_l", "sid_r"])
        )
    else:  # no verifier: the grade with the cosine decides
        rejected = m2_focus.clear()
    keep_m2 = m2.join(m2_focus.select("sid_l", "sid_r"), on=["sid_l", "sid_r"], how="anti")
    stats["semantic_replaced_lexical"] = m2_focus.height
    stats["semantic_verifier_rejected_kept"] = rejected.height
    return pl.concat([matches_1, keep_m2, accepted, rejected], how="diagonal_relaxed")


def _exact_pairs(elig: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """Sentence pairs (sid_a, sid_b) with the same normalised text in different documents."""
    base = elig.select("sentence_id", "doc_id", "hid", "published_at")
    sizes = base.group_by("hid").agg(pl.len().alias("g"), pl.col("doc_id").n_unique().alias("nd"))
    multi = sizes.filter(pl.col("nd") >= 2)
    grp = base.join(multi, on="hid")
    small = grp.filter(pl.col("g") <= cfg.exact_clique_max)
    big = grp.filter(pl.col("g") > cfg.exact_clique_max)
    clique = (
        small.join(small, on="hid", suffix="_r")
        .filter(pl.col("doc_id") < pl.col("doc_id_r"))
        .select(pl.col("sentence_id").alias("sid_l"), pl.col("sentence_id_r").alias("sid_r"))
    )
    reps = _representatives(big, "hid")
    star = (
        big.join(reps, on="hid")
        .filter(pl.col("doc_id") != pl.col("rep_doc"))
        .select(pl.col("rep_sid").alias("sid_l"), pl.col("sentence_id").alias("sid_r"))
    )
    return pl.concat([clique, star]).unique().sort("sid_l", "sid_r")


def _representatives(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """First sentence of each group: earliest published, then smallest sentence_id."""
    return (
        frame.sort(["published_at", "sentence_id"], nulls_last=True)
        .group_by(key, maintain_order=True)
        .agg(pl.col("sentence_id").first().alias("rep_sid"), pl.col("doc_id").first().alias("rep_doc"))
    )


def _cross_doc_only(cand: pl.DataFrame, elig: pl.DataFrame) -> pl.DataFrame:
    """Drop hash pairs whose sentences all sit in one document."""
    if cand.height == 0:
        return cand
    hd = elig.select("hid", "doc_id").unique()
    nd = hd.group_by("hid").agg(pl.col("doc_id").n_unique().alias("nd"), pl.col("doc_id").min().alias("d0"))
    c = (
        cand.join(nd.rename({"hid": "hid_a", "nd": "nd_a", "d0": "d0_a"}), on="hid_a")
        .join(nd.rename({"hid": "hid_b", "nd": "nd_b", "d0": "d0_b"}), on="hid_b")
        .filter((pl.col("nd_a") > 1) | (pl.col("nd_b") > 1) | (pl.col("d0_a") != pl.col("d0_b")))
        .select(cand.columns)
        .sort("hid_a", "hid_b")
    )
    return c


def _grade(
    cand: pl.DataFrame,
    hashes: pl.DataFrame,
    grade_pairs,
    enc: Any,
    cfg: OverlapConfig,
    clock: _Clock,
    step: str,
    signal_cols: list[str],
    vstate: dict[str, Any] | None = None,
    keep_none: bool = False,
) -> pl.DataFrame:
    """Grade candidate hash pairs; keep exact/near/paraphrase results (and ``none`` with
    ``keep_none``) with their signals.

    ``vstate`` (``{"verifier", "stats", "budget"}``): the cross-encoder verifier re-grades the pairs
    the rules leave to the classifier while the run's ``verifier_max_pairs`` budget allows."""
    out_schema = {
        "hid_a": pl.Int64,
        "hid_b": pl.Int64,
        "tier": pl.String,
        "kind": pl.String,
        "score": pl.Float64,
    }
    if cand.height == 0:
        return _empty(out_schema)
    texts = hashes.select("hid", pl.col("rep_text").str.slice(0, cfg.max_grade_chars)).sort("hid")["rep_text"]
    text_list = texts.to_list()
    cut = (hashes.sort("hid")["rep_text"].str.len_chars() > cfg.max_grade_chars).to_numpy()
    ia = cand["hid_a"].to_numpy()
    ib = cand["hid_b"].to_numpy()
    vecs = None
    if enc is not None:
        used = np.unique(np.concatenate([ia, ib]))
        pos = np.full(len(text_list), -1, dtype=np.int64)
        pos[used] = np.arange(len(used))
        vecs = (_encode(enc, [text_list[i] for i in used], clock), pos)
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
        res = grade_pairs(pairs, embeddings=emb, encoder=None, verifier=None)
        for r in res:
            kinds.append(r.kind)
            scores.append(float(r.score))
            sigs.append(r.signals)
        clock.report(step, hi, n)
    if vstate is not None and vstate.get("verifier") is not None and vecs is not None:
        _verify(ia, ib, text_list, vecs, kinds, scores, sigs, grade_pairs, vstate, cfg, clock)
    keys: list[str] = []
    seen = set(signal_cols)
    for s in sigs:
        for k in s:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    for k in sorted(keys, key=lambda k: (_SIGNALS.index(k) if k in _SIGNALS else len(_SIGNALS), k)):
        signal_cols.append(k)
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
    cut_pair = pl.Series(cut[ia] | cut[ib])
    graded = graded.with_columns(
        pl.when((pl.col("kind") == "exact") & cut_pair)
        .then(pl.lit("near"))
        .otherwise(pl.col("kind"))
        .alias("kind"),
        pl.when((pl.col("kind") == "exact") & cut_pair)
        .then(pl.lit(0.99))
        .otherwise(pl.col("score"))
        .alias("score"),
    )
    if keep_none:
        return graded
    return graded.filter(pl.col("kind").is_in(list(KIND_RANK)))


def _verify(
    ia, ib, text_list, vecs, kinds, scores, sigs, grade_pairs, vstate, cfg: OverlapConfig, clock: _Clock
) -> None:
    """Re-grade, with the verifier, the pairs the rules left to the classifier (in place); reports
    ``("verify", done, total)`` after every ``VERIFY_CHUNK`` pairs."""
    todo = [i for i, k in enumerate(kinds) if k in ("paraphrase", "none")]
    st = vstate["stats"]
    if not todo:
        return
    if len(todo) > vstate["budget"]:
        # this step and the rest of the run fall back to the logistic grader; pairs already verified
        # keep their grades (``ran`` stays as it was)
        vstate["verifier"] = None
        st["reason"] = (
            f"paraphrase verifier skipped: {len(todo)} pairs to verify exceed the remaining "
            f"{vstate['budget']} of verifier_max_pairs={cfg.verifier_max_pairs}; the logistic grader decided them"
        )
        return
    v, pos = vecs
    step_n = max(1, min(cfg.grade_batch, VERIFY_CHUNK))
    for lo in range(0, len(todo), step_n):
        part = np.asarray(todo[lo : lo + step_n], dtype=np.intp)
        pa, pb = ia[part], ib[part]
        pairs = [(text_list[a], text_list[b]) for a, b in zip(pa, pb, strict=True)]
        res = grade_pairs(
            pairs, embeddings=(v[pos[pa]], v[pos[pb]]), encoder=None, verifier=vstate["verifier"]
        )
        for i, r in zip(part.tolist(), res, strict=True):
            kinds[i] = r.kind
            scores[i] = float(r.score)
            sigs[i] = r.signals
        clock.report("verify", min(lo + step_n, len(todo)), len(todo))
    vstate["budget"] -= len(todo)
    st["pairs"] += len(todo)
    st["ran"] = True


def _exact_rows(exact_pairs: pl.DataFrame) -> pl.DataFrame:
    """Identical sentences: not re-graded; their signal values are filled in by _finalise_matches."""
    return exact_pairs.select(
        pl.col("sid_l"),
        pl.col("sid_r"),
        pl.lit("exact").alias("kind"),
        pl.lit(1.0).alias("score"),
        pl.lit("exact").alias("tier"),
    )


def _expand(
    graded: pl.DataFrame, elig: pl.DataFrame, cfg: OverlapConfig, restrict: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Sentence pairs for graded hash pairs (cross-document; big groups linked to a representative).

    ``restrict``: optional (da, db) document index pairs; when given, only sentence pairs in those document
    pairs are produced (used for the blocked paraphrase tier).
    """
    if graded.height == 0:
        return graded.select(
            pl.lit(None, dtype=pl.String).alias("sid_l"),
            pl.lit(None, dtype=pl.String).alias("sid_r"),
            pl.all(),
        ).clear()
    base = elig.select("sentence_id", "doc_id", "hid", "published_at", "didx")
    g = base.group_by("hid").agg(pl.len().alias("g"))
    gr = graded.join(g.rename({"hid": "hid_a", "g": "g_a"}), on="hid_a").join(
        g.rename({"hid": "hid_b", "g": "g_b"}), on="hid_b"
    )
    small = gr.filter(pl.col("g_a") * pl.col("g_b") <= cfg.expand_max_pairs)
    big = gr.filter(pl.col("g_a") * pl.col("g_b") > cfg.expand_max_pairs)
    left = base.rename(
        {"sentence_id": "sid_l", "doc_id": "doc_l", "hid": "hid_a", "published_at": "p_l", "didx": "d_l"}
    )
    right = base.rename(
        {"sentence_id": "sid_r", "doc_id": "doc_r", "hid": "hid_b", "published_at": "p_r", "didx": "d_r"}
    )
    full = small.join(left, on="hid_a").join(right, on="hid_b")
    parts = [full]
    if big.height:
        reps = _representatives(base, "hid").join(
            base.select(pl.col("sentence_id").alias("rep_sid"), "didx"), on="rep_sid"
        )
        rl = reps.rename({"hid": "hid_a", "rep_sid": "sid_l", "rep_doc": "doc_l", "didx": "d_l"})
        rr = reps.rename({"hid": "hid_b", "rep_sid": "sid_r", "rep_doc": "doc_r", "didx": "d_r"})
        parts.append(big.join(rl, on="hid_a").join(right, on="hid_b"))
        parts.append(big.join(left, on="hid_a").join(rr, on="hid_b"))
    out = pl.concat(parts, how="diagonal_relaxed").filter(pl.col("doc_l") != pl.col("doc_r"))
    if restrict is not None:
        ra = restrict.select(pl.col("da").alias("d_l"), pl.col("db").alias("d_r"))
        rb = restrict.select(pl.col("db").alias("d_l"), pl.col("da").alias("d_r"))
        out = out.join(pl.concat([ra, rb]).unique(), on=["d_l", "d_r"], how="semi")
    keep = ["sid_l", "sid_r"] + [c for c in graded.columns if c not in ("hid_a", "hid_b")]
    return out.select(keep).unique(["sid_l", "sid_r"], keep="first")


def _rare_tokens(elig: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(sidx, didx, hid, tok, w): distinct content words of each matchable sentence whose document
    frequency is between 2 and ``rare_token_max_docs`` (capped posting lists); ``tok`` is a 64-bit
    hash of the word and ``w`` its IDF weight. Built in chunks of sentences to bound memory."""
    stop_list = sorted(_STOPWORDS)
    schema = {"sidx": pl.Int64, "didx": pl.Int64, "hid": pl.Int64, "tok": pl.UInt64, "w": pl.Int64}
    if elig.height == 0:
        return pl.DataFrame(schema=schema)
    # chunks of whole documents (didx ranges) of about 4 x minhash_chunk_rows sentences each
    n_didx = int(elig["didx"].max()) + 1
    doc_step = max(1, math.ceil(n_didx * cfg.minhash_chunk_rows * 4 / elig.height))

    def chunk_tokens(lo: int) -> pl.DataFrame:
        return (
            elig.filter((pl.col("didx") >= lo) & (pl.col("didx") < lo + doc_step))
            .select(
                pl.col("sidx").cast(pl.UInt32),
                pl.col("didx").cast(pl.UInt32),
                pl.col("hid").cast(pl.UInt32),
                _split_tokens(pl.col("norm"), cfg.max_shingle_tokens).alias("tok"),
            )
            .explode("tok")
            .filter(pl.col("tok").str.len_chars() >= 3)
            .filter(~pl.col("tok").is_in(stop_list))
            .with_columns(pl.col("tok").hash(seed=cfg.minhash_seed))
        )

    # pass 1: document frequency of every word (chunks hold whole documents, so per-chunk counts of
    # distinct (document, word) pairs add up)
    counts = [
        chunk_tokens(lo)
        .select("didx", "tok")
        .unique()
        .group_by("tok")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        for lo in range(0, n_didx, doc_step)
    ]
    n_docs = max(1, elig["didx"].n_unique())
    df = (
        pl.concat(counts)
        .group_by("tok")
        .agg(pl.col("n").sum().alias("df"))
        .filter((pl.col("df") >= 2) & (pl.col("df") <= cfg.rare_token_max_docs))
        .with_columns(
            # integer weights (IDF x 10^4) so that sums do not depend on summation order
            ((pl.lit(float(n_docs) + 1.0) / pl.col("df")).log() * 1e4).round().cast(pl.Int64).alias("w")
        )
        .select("tok", "w")
    )
    del counts
    # pass 2: the rare words of each sentence
    parts = [chunk_tokens(lo).join(df, on="tok").unique(["sidx", "tok"]) for lo in range(0, n_didx, doc_step)]
    return pl.concat(parts).with_columns(
        pl.col("sidx").cast(pl.Int64), pl.col("didx").cast(pl.Int64), pl.col("hid").cast(pl.Int64)
    )


def _candidate_doc_pairs(
    matches: pl.DataFrame, elig: pl.DataFrame, rare: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    """Document pairs (didx_a < didx_b) in which paraphrases are looked for."""
    sd = elig.select("sentence_id", "didx")
    ev = (
        matches.select("sid_l", "sid_r")
        .join(sd.rename({"sentence_id": "sid_l", "didx": "d1"}), on="sid_l")
        .join(sd.rename({"sentence_id": "sid_r", "didx": "d2"}), on="sid_r")
        .select(
            pl.min_horizontal("d1", "d2").alias("da"),
            pl.max_horizontal("d1", "d2").alias("db"),
        )
        .unique()
    )
    dt = rare.select("didx", "tok").unique()
    n_rare = dt.group_by("didx").agg(pl.len().alias("n_rare"))
    # the self-join on words runs in chunks of left-hand documents to bound memory
    est = int((dt.group_by("tok").agg(pl.len().cast(pl.Int64).alias("df"))["df"] ** 2).sum() or 0)
    n_chunks = max(1, math.ceil(est / max(1, cfg.max_join_rows)))
    tops = []
    for c in range(n_chunks):
        left = dt.filter(pl.col("didx") % n_chunks == c) if n_chunks > 1 else dt
        shared = (
            left.join(dt, on="tok", suffix="_r")
            .filter(pl.col("didx") != pl.col("didx_r"))
            .group_by("didx", "didx_r")
            .agg(pl.len().alias("n_shared"))
            .filter(pl.col("n_shared") >= cfg.doc_min_shared_rare)
            .join(n_rare, on="didx")
            .join(n_rare.rename({"didx": "didx_r", "n_rare": "n_rare_r"}), on="didx_r")
            .with_columns((pl.col("n_shared") / pl.min_horizontal("n_rare", "n_rare_r")).alias("overlap"))
            .filter(pl.col("overlap") >= cfg.doc_min_rare_overlap)
        )
        tops.append(
            shared.sort(["didx", "overlap", "didx_r"], descending=[False, True, False])
            .group_by("didx", maintain_order=True)
            .head(cfg.doc_top_k)
            .select(
                pl.min_horizontal("didx", "didx_r").alias("da"),
                pl.max_horizontal("didx", "didx_r").alias("db"),
            )
        )
    top = pl.concat(tops) if tops else ev.clear()
    return pl.concat([ev, top]).unique().sort("da", "db")


def _matched_into(matches: pl.DataFrame, elig: pl.DataFrame) -> pl.DataFrame:
    """(sidx, od): sentence ``sidx`` already has a match in document ``od``."""
    sd = elig.select("sentence_id", "sidx", "didx")
    ml = matches.select("sid_l", "sid_r")
    return pl.concat(
        [
            ml.join(sd.rename({"sentence_id": "sid_l"}), on="sid_l")
            .join(sd.rename({"sentence_id": "sid_r", "sidx": "_s", "didx": "od"}), on="sid_r")
            .select("sidx", "od"),
            ml.join(sd.rename({"sentence_id": "sid_r"}), on="sid_r")
            .join(sd.rename({"sentence_id": "sid_l", "sidx": "_s", "didx": "od"}), on="sid_l")
            .select("sidx", "od"),
        ]
    ).unique()


def _paraphrase_candidates(
    doc_pairs: pl.DataFrame, elig: pl.DataFrame, rare: pl.DataFrame, matches: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    schema = {"hid_a": pl.Int64, "hid_b": pl.Int64, "tier": pl.String}
    if doc_pairs.height == 0 or rare.height == 0:
        return _empty(schema)
    # sentences already matched into a document are not paired again with that document
    done = _matched_into(matches, elig)
    wsum = rare.group_by("sidx").agg(pl.col("w").sum().alias("wsum"))
    # orient every document pair both ways so each sentence finds partners on the other side
    dp = pl.concat(
        [
            doc_pairs.select(pl.col("da").alias("didx"), pl.col("db").alias("od")),
            doc_pairs.select(pl.col("db").alias("didx"), pl.col("da").alias("od")),
        ]
    )
    right = rare.select(
        pl.col("sidx").alias("s2"), pl.col("hid").alias("h2"), pl.col("didx").alias("od"), "tok"
    )
    per_doc = rare.group_by("didx").agg(pl.len().cast(pl.Int64).alias("nt"))
    est = int(dp.join(per_doc, on="didx")["nt"].sum() or 0)
    n_chunks = max(1, math.ceil(est / max(1, cfg.max_join_rows)))
    parts = []
    for c in range(n_chunks):
        dpc = dp.filter(pl.col("didx") % n_chunks == c) if n_chunks > 1 else dp
        parts.append(_paraphrase_chunk(dpc, rare, right, done, wsum, cfg))
    top = pl.concat(parts)
    return (
        top.select(
            pl.min_horizontal("h1", "h2").alias("hid_a"),
            pl.max_horizontal("h1", "h2").alias("hid_b"),
            pl.lit("blocked").alias("tier"),
        )
        .unique()
        .sort("hid_a", "hid_b")
    )


def _paraphrase_chunk(
    dp: pl.DataFrame,
    rare: pl.DataFrame,
    right: pl.DataFrame,
    done: pl.DataFrame,
    wsum: pl.DataFrame,
    cfg: OverlapConfig,
) -> pl.DataFrame:
    left = (
        rare.join(dp, on="didx")
        .join(done, on=["sidx", "od"], how="anti")
        .select(pl.col("sidx").alias("s1"), pl.col("hid").alias("h1"), "od", "tok", "w")
    )
    sc = (
        left.join(right, on=["od", "tok"])
        .filter(pl.col("h1") != pl.col("h2"))
        .group_by("s1", "s2", "od")
        .agg(pl.len().alias("n"), pl.col("w").sum().alias("ws"), pl.col("h1").first(), pl.col("h2").first())
        .filter(pl.col("n") >= cfg.para_min_shared)
        .join(wsum.rename({"sidx": "s1", "wsum": "w1"}), on="s1")
        .join(wsum.rename({"sidx": "s2", "wsum": "w2"}), on="s2")
        .with_columns((pl.col("ws") / pl.min_horizontal("w1", "w2")).alias("ov"))
        .filter(pl.col("ov") >= cfg.para_min_overlap)
    )
    # the best partners of each sentence in each other document
    return (
        sc.sort(["s1", "od", "ov", "s2"], descending=[False, False, True, False])
        .group_by("s1", "od", maintain_order=True)
        .head(cfg.para_top_k)
        .select("h1", "h2")
    )


def _semantic_candidates(
    doc_pairs: pl.DataFrame,
    elig: pl.DataFrame,
    enc: Any,
    cfg: OverlapConfig,
    clock: _Clock,
    done: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame | None, str]:
    """Embedding nearest neighbours within the candidate document pairs; ``done`` (sidx, od): sentences
    already matched exact or near into document ``od`` seek no partner there and are not embedded for it.
    Reports ``embed`` over sentences, then ``semantic_search`` over document pairs."""
    schema = {"hid_a": pl.Int64, "hid_b": pl.Int64, "tier": pl.String}
    if doc_pairs.height == 0:
        return _empty(schema), "semantic tier on: no candidate document pairs"
    both = pl.concat(
        [
            doc_pairs.select(pl.col("da").alias("didx"), pl.col("db").alias("od")),
            doc_pairs.select(pl.col("db").alias("didx"), pl.col("da").alias("od")),
        ]
    )
    # (sentence, other document) rows still open
    open_rows = elig.select("sidx", "didx", "hid", "text", "sentence_id").join(both, on="didx")
    if done is not None and done.height:
        open_rows = open_rows.join(done, on=["sidx", "od"], how="anti")
    e = open_rows.unique("sentence_id").sort("sentence_id")
    if e.height > cfg.semantic_max_sentences:
        return None, (
            f"semantic tier skipped: {e.height} sentences in candidate document pairs exceed "
            f"semantic_max_sentences={cfg.semantic_max_sentences}"
        )
    uh = e.select("hid", "text").unique("hid", keep="first").sort("hid")
    vec = _encode(enc, [t[: cfg.max_grade_chars] for t in uh["text"].to_list()], clock)
    row_of = {h: i for i, h in enumerate(uh["hid"].to_list())}
    # open sentences of each document towards each other document
    by_pair: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
    for d, od, h in open_rows.sort("sentence_id").select("didx", "od", "hid").iter_rows():
        got = by_pair.setdefault((d, od), ([], []))
        got[0].append(h)
        got[1].append(row_of[h])
    out_a: list[int] = []
    out_b: list[int] = []
    k = max(1, cfg.para_top_k)
    n_pairs = doc_pairs.height
    for n, (da, db) in enumerate(doc_pairs.select("da", "db").iter_rows(), start=1):
        if n % SEARCH_REPORT_EVERY == 0 or n == n_pairs:
            clock.report("semantic_search", n, n_pairs)
        if (da, db) not in by_pair or (db, da) not in by_pair:
            continue
        ha, ra = by_pair[(da, db)]
        hb, rb = by_pair[(db, da)]
        sim = vec[ra] @ vec[rb].T
        for side in (0, 1):
            s = sim if side == 0 else sim.T
            hs, ho = (ha, hb) if side == 0 else (hb, ha)
            kk = min(k, s.shape[1])
            idx = np.argsort(-s, axis=1, kind="stable")[:, :kk]
            for i in range(s.shape[0]):
                for j in idx[i]:
                    if s[i, j] >= cfg.semantic_min_cosine and hs[i] != ho[j]:
                        out_a.append(min(hs[i], ho[j]))
                        out_b.append(max(hs[i], ho[j]))
    cand = pl.DataFrame({"hid_a": out_a, "hid_b": out_b}, schema={"hid_a": pl.Int64, "hid_b": pl.Int64})
    cand = cand.unique().with_columns(pl.lit("semantic").alias("tier")).sort("hid_a", "hid_b")
    return cand, f"semantic tier on: {len(uh)} distinct sentences embedded"


# ------------------------------------------------------------------------------------------ tables


def _finalise_matches(
    raw: pl.DataFrame, elig: pl.DataFrame, signal_cols: Sequence[str], semantic_on: bool = False
) -> pl.DataFrame:
    schema = dict(_MATCH_BASE)
    signal_cols = list(signal_cols)
    for always in ("cosine", "verifier"):  # always present: null when their tier did not run
        if always not in signal_cols:
            signal_cols.append(always)
    signal_cols.sort(key=lambda k: (_SIGNALS.index(k) if k in _SIGNALS else len(_SIGNALS), k))
    for k in signal_cols:
        schema[k] = pl.Float64
    schema.update(_MATCH_TAIL)
    if raw.height == 0:
        return _empty(schema)
    info = elig.select("sentence_id", "doc_id", "index", "source", "is_quote")
    m = raw.join(
        info.rename({c: c + "_l" for c in info.columns if c != "sentence_id"}).rename(
            {"sentence_id": "sid_l"}
        ),
        on="sid_l",
    ).join(
        info.rename({c: c + "_r" for c in info.columns if c != "sentence_id"}).rename(
            {"sentence_id": "sid_r"}
        ),
        on="sid_r",
    )
    swap = pl.col("doc_id_l") > pl.col("doc_id_r")

    def pick(a: str, b: str) -> pl.Expr:
        return pl.when(swap).then(pl.col(b)).otherwise(pl.col(a))

    m = m.with_columns(
        pick("sid_l", "sid_r").alias("sentence_id_a"),
        pick("sid_r", "sid_l").alias("sentence_id_b"),
        pick("doc_id_l", "doc_id_r").alias("doc_id_a"),
        pick("doc_id_r", "doc_id_l").alias("doc_id_b"),
        pick("index_l", "index_r").alias("index_a"),
        pick("index_r", "index_l").alias("index_b"),
        pick("source_l", "source_r").alias("source_a"),
        pick("source_r", "source_l").alias("source_b"),
        (pl.col("is_quote_l") | pl.col("is_quote_r")).alias("is_quote"),
        pl.col("kind").replace_strict(KIND_RANK, return_dtype=pl.Int8).alias("_rank"),
    ).with_columns((pl.col("source_a") == pl.col("source_b")).alias("same_source"))
    # exact evidence wins over a graded duplicate of the same pair
    m = m.sort(
        ["sentence_id_a", "sentence_id_b", "_rank", "score"], descending=[False, False, True, True]
    ).unique(["sentence_id_a", "sentence_id_b"], keep="first", maintain_order=True)
    # many-to-many: keep a pair when it is the best partner of either sentence in the other document
    order_a = m.sort(
        ["sentence_id_a", "doc_id_b", "_rank", "score", "sentence_id_b"],
        descending=[False, False, True, True, False],
    )
    best_a = (
        order_a.group_by("sentence_id_a", "doc_id_b", maintain_order=True)
        .first()
        .select("sentence_id_a", "sentence_id_b")
    )
    order_b = m.sort(
        ["sentence_id_b", "doc_id_a", "_rank", "score", "sentence_id_a"],
        descending=[False, False, True, True, False],
    )
    best_b = (
        order_b.group_by("sentence_id_b", "doc_id_a", maintain_order=True)
        .first()
        .select("sentence_id_a", "sentence_id_b")
    )
    keep = pl.concat([best_a, best_b]).unique()
    m = m.join(keep, on=["sentence_id_a", "sentence_id_b"], how="semi")
    is_exact_tier = pl.col("tier") == "exact"
    fills = []
    for k in signal_cols:
        if k not in m.columns:
            m = m.with_columns(pl.lit(None, dtype=pl.Float64).alias(k))
        if k == "cosine":
            v = 1.0 if semantic_on else None
        else:
            v = None if k == "verifier" else _EXACT_SIGNAL.get(k, 1.0)
        fills.append(pl.when(is_exact_tier).then(pl.lit(v, dtype=pl.Float64)).otherwise(pl.col(k)).alias(k))
    m = m.with_columns(fills)
    return m.select(list(schema)).cast(schema).sort("sentence_id_a", "sentence_id_b")


def _doc_sizes(elig: pl.DataFrame) -> pl.DataFrame:
    """Matchable sentences per document (doc_id, n_matchable)."""
    return elig.group_by("doc_id").agg(pl.len().cast(pl.Int64).alias("n_matchable"))


def _relations(
    matches: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig, doc_sizes: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Matches with ``novel_ngrams``, ``stock_cover`` and ``relation`` (see pipeline.core.evidence), and
    per document pair the aligned chain (``n_aligned``, ``aligned_weight``, ``shares_text``)."""
    m = classify_matches(matches, sents.select("sentence_id", "norm"), cfg.evidence, doc_sizes=doc_sizes)
    pairs = m.select("doc_id_a", "doc_id_b", "n_aligned", "aligned_weight", "shares_text").unique(
        ["doc_id_a", "doc_id_b"]
    )
    schema = {k: v for k, v in matches.schema.items()} | _MATCH_EVIDENCE
    return m.select(list(schema)).cast(schema).sort("sentence_id_a", "sentence_id_b"), pairs


def _with_pair_evidence(dpairs: pl.DataFrame, pair_evidence: pl.DataFrame) -> pl.DataFrame:
    """Document pairs with their relation (``reuse`` when they share aligned text, else ``quote``) and
    the aligned chain's size and weight."""
    d = dpairs.join(pair_evidence, on=["doc_id_a", "doc_id_b"], how="left").with_columns(
        pl.when(pl.col("shares_text").fill_null(False))
        .then(pl.lit("reuse"))
        .otherwise(pl.lit("quote"))
        .alias("relation"),
        pl.col("n_aligned").fill_null(0),
        pl.col("aligned_weight").fill_null(0.0),
    )
    return d.select(list(_PAIR_SCHEMA)).cast(_PAIR_SCHEMA).sort("doc_id_a", "doc_id_b")


def _node_ids(edges: pl.DataFrame, column: str, key: str, nodes: pl.DataFrame) -> np.ndarray:
    """The ``node`` numbers (from ``nodes``, keyed by ``key``) of ``edges[column]``, in edge order."""
    return (
        edges.select(pl.col(column).alias(key))
        .join(nodes, on=key, how="left", maintain_order="left")["node"]
        .to_numpy()
    )


def _components(edges_a: np.ndarray, edges_b: np.ndarray, n: int) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(len(edges_a), dtype=np.int8), (edges_a, edges_b)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    return labels


def _clusters(matches: pl.DataFrame, sents: pl.DataFrame) -> pl.DataFrame:
    if matches.height == 0:
        return _empty(_CLUSTER_SCHEMA)
    nodes = (
        pl.concat(
            [
                matches.select(pl.col("sentence_id_a").alias("sentence_id")),
                matches.select(pl.col("sentence_id_b").alias("sentence_id")),
            ]
        )
        .unique()
        .sort("sentence_id")
        .with_row_index("node")
    )
    ea = _node_ids(matches, "sentence_id_a", "sentence_id", nodes)
    eb = _node_ids(matches, "sentence_id_b", "sentence_id", nodes)
    labels = _components(ea.astype(np.int64), eb.astype(np.int64), nodes.height)
    c = (
        nodes.with_columns(pl.Series("comp", labels))
        .join(sents.select("sentence_id", "doc_id", "source", "published_at"), on="sentence_id")
        .with_columns(pl.col("sentence_id").min().over("comp").alias("_min"))
    )
    c = c.with_columns(
        pl.col("_min").map_elements(lambda s: _stable_id("c", s), return_dtype=pl.String).alias("cluster_id")
    )
    # origin: the unique earliest document, when every document of the cluster is dated
    per = c.group_by("cluster_id").agg(
        pl.col("published_at").null_count().alias("n_null"),
        pl.col("published_at").min().alias("t0"),
    )
    earliest = (
        c.join(per, on="cluster_id")
        .filter((pl.col("n_null") == 0) & (pl.col("published_at") == pl.col("t0")))
        .group_by("cluster_id")
        .agg(
            pl.col("doc_id").n_unique().alias("n_first_docs"),
            pl.col("sentence_id").min().alias("origin_sentence_id"),
        )
        .filter(pl.col("n_first_docs") == 1)
        .select("cluster_id", "origin_sentence_id")
    )
    c = c.join(earliest, on="cluster_id", how="left")
    direct = pl.concat(
        [
            matches.select(
                pl.col("sentence_id_a").alias("o"), pl.col("sentence_id_b").alias("sentence_id"), "kind"
            ),
            matches.select(
                pl.col("sentence_id_b").alias("o"), pl.col("sentence_id_a").alias("sentence_id"), "kind"
            ),
        ]
    )
    c = c.join(
        direct, left_on=["origin_sentence_id", "sentence_id"], right_on=["o", "sentence_id"], how="left"
    )
    c = c.with_columns(
        (pl.col("sentence_id") == pl.col("origin_sentence_id")).fill_null(False).alias("is_origin"),
        pl.when(pl.col("origin_sentence_id").is_null())
        .then(pl.lit("undetermined"))
        .otherwise(pl.lit("dated"))
        .alias("origin_status"),
    ).with_columns(
        pl.when(pl.col("origin_sentence_id").is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("is_origin"))
        .then(pl.lit("origin"))
        .when(pl.col("kind").is_not_null())
        .then(pl.col("kind"))
        .otherwise(pl.lit("indirect"))
        .alias("kind_to_origin")
    )
    return c.select(list(_CLUSTER_SCHEMA)).cast(_CLUSTER_SCHEMA).sort("cluster_id", "sentence_id")


def _passages(matches: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    if matches.height == 0:
        return _empty(_PASSAGE_SCHEMA)
    gap = cfg.passage_max_gap + 1
    m = matches.select(
        "doc_id_a",
        "doc_id_b",
        "sentence_id_a",
        "sentence_id_b",
        "index_a",
        "index_b",
        "kind",
        "score",
        "is_quote",
    ).sort("doc_id_a", "doc_id_b", "index_a", "index_b")
    prev_a = pl.col("index_a").shift(1).over("doc_id_a", "doc_id_b")
    prev_b = pl.col("index_b").shift(1).over("doc_id_a", "doc_id_b")
    da = pl.col("index_a") - prev_a
    db = pl.col("index_b") - prev_b
    new = prev_a.is_null() | (da > gap) | (da < 0) | (db <= 0) | (db > gap)
    # a sentence matched twice (da == 0) continues the run only if b still moves forward
    m = m.with_columns(new.alias("_new")).with_columns(
        pl.col("_new").cast(pl.Int64).cum_sum().over("doc_id_a", "doc_id_b").alias("_run")
    )
    pos = sents.select("sentence_id", "start", "end")
    m = m.join(
        pos.rename({"sentence_id": "sentence_id_a", "start": "s_a", "end": "e_a"}), on="sentence_id_a"
    ).join(pos.rename({"sentence_id": "sentence_id_b", "start": "s_b", "end": "e_b"}), on="sentence_id_b")
    p = (
        m.group_by("doc_id_a", "doc_id_b", "_run")
        .agg(
            pl.col("index_a").min().alias("first_index_a"),
            pl.col("index_a").max().alias("last_index_a"),
            pl.col("index_b").min().alias("first_index_b"),
            pl.col("index_b").max().alias("last_index_b"),
            pl.col("s_a").min().alias("start_a"),
            pl.col("e_a").max().alias("end_a"),
            pl.col("s_b").min().alias("start_b"),
            pl.col("e_b").max().alias("end_b"),
            pl.len().alias("n_sentences"),
            (pl.col("kind") == "exact").sum().alias("n_exact"),
            (pl.col("kind") == "near").sum().alias("n_near"),
            (pl.col("kind") == "paraphrase").sum().alias("n_paraphrase"),
            pl.col("score").mean().alias("mean_score"),
            pl.col("is_quote").sum().alias("n_quote"),
        )
        .filter(pl.col("n_sentences") >= cfg.passage_min_sentences)
    )
    if p.height == 0:
        return _empty(_PASSAGE_SCHEMA)
    top = pl.max_horizontal("n_exact", "n_near", "n_paraphrase")
    p = p.with_columns(
        pl.when(pl.col("n_exact") == top)
        .then(pl.lit("exact"))
        .when(pl.col("n_near") == top)
        .then(pl.lit("near"))
        .otherwise(pl.lit("paraphrase"))
        .alias("dominant_kind"),
        (
            pl.col("doc_id_a")
            + "|"
            + pl.col("doc_id_b")
            + "|"
            + pl.col("first_index_a").cast(pl.String)
            + "|"
            + pl.col("first_index_b").cast(pl.String)
        )
        .map_elements(lambda s: _stable_id("p", s), return_dtype=pl.String)
        .alias("passage_id"),
    )
    return (
        p.select(list(_PASSAGE_SCHEMA))
        .cast(_PASSAGE_SCHEMA)
        .sort("doc_id_a", "doc_id_b", "first_index_a", "first_index_b")
    )


def _document_pairs(
    matches: pl.DataFrame, flags: pl.DataFrame, docs: pl.DataFrame, sents: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    if matches.height == 0:
        return _empty({k: v for k, v in _PAIR_SCHEMA.items() if k not in _PAIR_EVIDENCE})
    nm = flags.group_by("doc_id").agg(pl.col("matchable").sum().cast(pl.Int64).alias("n_matchable"))
    agg = matches.group_by("doc_id_a", "doc_id_b").agg(
        pl.col("sentence_id_a").n_unique().alias("n_shared_a"),
        pl.col("sentence_id_b").n_unique().alias("n_shared_b"),
        pl.col("sentence_id_a").filter(~pl.col("is_quote")).n_unique().alias("nq_a"),
        pl.col("sentence_id_b").filter(~pl.col("is_quote")).n_unique().alias("nq_b"),
        (pl.col("kind") == "exact").sum().alias("n_exact"),
        (pl.col("kind") == "near").sum().alias("n_near"),
        (pl.col("kind") == "paraphrase").sum().alias("n_paraphrase"),
        pl.col("is_quote").sum().alias("n_quote"),
        (~pl.col("is_quote")).sum().alias("n_nonquote"),
        pl.col("source_a").first(),
        pl.col("source_b").first(),
    )
    d = docs.select("doc_id", "published_at")
    p = (
        agg.join(nm.rename({"doc_id": "doc_id_a", "n_matchable": "n_matchable_a"}), on="doc_id_a", how="left")
        .join(nm.rename({"doc_id": "doc_id_b", "n_matchable": "n_matchable_b"}), on="doc_id_b", how="left")
        .join(d.rename({"doc_id": "doc_id_a", "published_at": "published_at_a"}), on="doc_id_a", how="left")
        .join(d.rename({"doc_id": "doc_id_b", "published_at": "published_at_b"}), on="doc_id_b", how="left")
        .with_columns(
            (pl.col("n_shared_a") / pl.max_horizontal("n_matchable_a", pl.lit(1)))
            .clip(0, 1)
            .alias("containment_a_in_b"),
            (pl.col("n_shared_b") / pl.max_horizontal("n_matchable_b", pl.lit(1)))
            .clip(0, 1)
            .alias("containment_b_in_a"),
            (pl.col("nq_a") / pl.max_horizontal("n_matchable_a", pl.lit(1))).clip(0, 1).alias("_cq_a"),
            (pl.col("nq_b") / pl.max_horizontal("n_matchable_b", pl.lit(1))).clip(0, 1).alias("_cq_b"),
            (pl.col("n_nonquote") == 0).alias("quote_only"),
            (pl.col("source_a") == pl.col("source_b")).alias("same_source"),
        )
    )
    p = p.with_columns(
        (
            ~pl.col("quote_only")
            & (
                (
                    (pl.col("n_nonquote") >= cfg.story_min_shared)
                    & (pl.max_horizontal("_cq_a", "_cq_b") >= cfg.story_min_containment)
                )
                | (pl.col("n_nonquote") >= cfg.story_strong_shared)
            )
        ).alias("in_story"),
    )
    # direction, its basis, evidence and confidence: the provenance model
    p = provenance.pair_directions(p, matches, docs, sents)
    base = {k: v for k, v in _PAIR_SCHEMA.items() if k not in _PAIR_EVIDENCE}
    return p.select(list(base)).cast(base).sort("doc_id_a", "doc_id_b")


def _originality(
    matches: pl.DataFrame, flags: pl.DataFrame, docs: pl.DataFrame, dpairs: pl.DataFrame
) -> pl.DataFrame:
    base = (
        flags.group_by("doc_id")
        .agg(
            pl.len().cast(pl.Int64).alias("n_sentences"),
            pl.col("matchable").sum().cast(pl.Int64).alias("n_matchable"),
        )
        .join(docs.select("doc_id", "source"), on="doc_id", how="right")
        .with_columns(pl.col("n_sentences").fill_null(0), pl.col("n_matchable").fill_null(0))
    )
    # a sentence is reused when a document that is its document's source holds it (provenance model)
    quote_of = flags.select(pl.col("sentence_id").alias("sid"), pl.col("is_quote").alias("own_quote"))
    s = (
        provenance.reused_sentences(matches, dpairs)
        .with_columns(pl.col("kind").replace_strict(KIND_RANK, return_dtype=pl.Int8).alias("r"))
        .group_by("sid", "doc_id")
        .agg(pl.col("r").max())
        .join(quote_of, on="sid")
    )
    per = s.group_by("doc_id").agg(
        (pl.col("r") == 3).sum().cast(pl.Int64).alias("n_e"),
        (pl.col("r") == 2).sum().cast(pl.Int64).alias("n_n"),
        (pl.col("r") == 1).sum().cast(pl.Int64).alias("n_p"),
        pl.col("own_quote").sum().cast(pl.Int64).alias("n_quote_reuse"),
    )
    o = base.join(per, on="doc_id", how="left").with_columns(
        pl.col("n_e").fill_null(0),
        pl.col("n_n").fill_null(0),
        pl.col("n_p").fill_null(0),
        pl.col("n_quote_reuse").fill_null(0),
    )
    denom = pl.when(pl.col("n_matchable") > 0).then(pl.col("n_matchable")).otherwise(None)
    o = o.with_columns(
        ((pl.col("n_matchable") - pl.col("n_e") - pl.col("n_n") - pl.col("n_p")) / denom).alias(
            "share_original"
        ),
        (pl.col("n_e") / denom).alias("share_exact"),
        (pl.col("n_n") / denom).alias("share_near"),
        (pl.col("n_p") / denom).alias("share_paraphrase"),
    )
    # inferred source: the provenance model's (the strongest pair whose direction points at it)
    if dpairs.height:
        best = provenance.inferred_sources(matches, dpairs)
        o = o.join(best, on="doc_id", how="left").with_columns(
            pl.col("src").alias("inferred_source_doc_id"),
            pl.when(pl.col("src").is_not_null())
            .then((pl.col("n_matchable") - pl.col("shared_self")).clip(0))
            .alias("added"),
            pl.when(pl.col("src").is_not_null())
            .then((pl.col("m_src") - pl.col("shared_src")).clip(0))
            .alias("dropped"),
        )
    else:
        o = o.with_columns(
            pl.lit(None, dtype=pl.String).alias("inferred_source_doc_id"),
            pl.lit(None, dtype=pl.Int64).alias("added"),
            pl.lit(None, dtype=pl.Int64).alias("dropped"),
        )
    return o.select(list(_ORIG_SCHEMA)).cast(_ORIG_SCHEMA).sort("doc_id")


def _stories(dpairs: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    if docs.height == 0:
        return _empty(_STORY_SCHEMA)
    nodes = docs.select("doc_id", "published_at").sort("doc_id").with_row_index("node")
    links = dpairs.filter(pl.col("in_story")) if dpairs.height else dpairs
    if links.height:
        ea = _node_ids(links, "doc_id_a", "doc_id", nodes)
        eb = _node_ids(links, "doc_id_b", "doc_id", nodes)
    else:
        ea = eb = np.zeros(0, dtype=np.int64)
    labels = _components(ea.astype(np.int64), eb.astype(np.int64), nodes.height)
    s = nodes.with_columns(pl.Series("comp", labels)).with_columns(
        pl.col("doc_id").min().over("comp").alias("_min"),
        pl.len().over("comp").cast(pl.Int64).alias("n_docs"),
        pl.col("published_at").min().over("comp").alias("first_published_at"),
    )
    s = s.with_columns(
        pl.col("_min").map_elements(lambda x: _stable_id("s", x), return_dtype=pl.String).alias("story_id")
    )
    return s.select(list(_STORY_SCHEMA)).cast(_STORY_SCHEMA).sort("story_id", "doc_id")
