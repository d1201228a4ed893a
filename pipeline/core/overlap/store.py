"""Index upkeep: what the overlap stage keeps between runs so that nothing is computed twice.

The steps stay functions of frames to frames: the stage (``pipeline.core.stages.stage_overlap``) reads
the stored rows from the working database into an :class:`OverlapStore`, passes it to
``compute_overlap``, and writes the rows the run added (``OverlapStore.new_rows()``) back. No module
keeps state between calls.

Stored (tables ``cache.minhash_signatures`` and ``cache.graded_pairs`` of the working database; never
published):

* MinHash signatures, one per distinct normalised text (``norm_hash``) and ``signature_key``: the
  fingerprint of everything a signature depends on (the shingling and MinHash code, the polars and
  rensa versions whose hash functions it uses, ``num_perm``, ``minhash_seed``, ``max_shingle_tokens``).
* Grader results (kind, score, signals, before the cross-encoder verifier), one per pair of graded
  texts (``pair_key``: a digest of the two texts exactly as graded, i.e. cut to ``max_grade_chars``;
  the texts graded for a normalised text are those of its first sentence, which a new document can
  change, so the key is the texts and not their ``norm_hash``) and ``grade_key``: the fingerprint of
  the grader (its code and model), ``max_grade_chars`` and the encoder whose embeddings join the grade
  (``lexical`` without one).

A value read from the store is the value the step would compute (same inputs, same code), so the
outputs are byte-identical whether a value was stored or computed; a changed fingerprint makes the
stored rows invisible (they are left in place for a later run with the old settings) and the values
are computed again. The final grades of the pairs the semantic tier's triage sends to the slow models
(``grading.needs_models``: MiniLM's cosine, then the cross-encoder verifier) are stored too, under a
``grade_key`` that also names the verifier (``verifier_fingerprint``): a later run that finds every such
pair stored does not load the models at all.

Also stored (the lexical steps' own values, see the block at the end of this module), so that a batch
computes only its new rows:

* ``cache.sentence_traits``: each sentence's quotation share and stock-text reason, keyed by two
  64-bit hashes of its text, normalised text and position cue (``flags.trait_keys``) under
  ``trait_key`` (the flag and stock-text code, the stock model, the polars version);
* ``cache.word_tokens``: the content words of each distinct normalised text (``token_key``);
* ``cache.lsh_postings``: the bucket of each banded text in each band; ``cache.lsh_members`` and
  ``cache.lsh_pairs``: the texts the last run banded and its band collisions with the number of
  buckets producing each and their estimated Jaccard (``lsh_key``). A run bands the texts that joined
  the matchable set (their signatures read or computed), and re-derives every bucket a text joined or
  left from its stored members; the collisions are then those of a full banding
  (``candidates_minhash.incremental_banding``). Without a stored state the run bands every text and
  stores the state; the stage reads signatures and postings by key only, through
  ``fetch_signatures`` and ``fetch_postings``;
* ``cache.rare_doc_sets`` and ``cache.rare_doc_pairs``: each document's rare-word set (a digest) and the
  document pairs sharing enough rare words (``block_key``); a run recomputes the pairs of the
  documents whose set changed (``candidates_paraphrase.incremental_rare_doc_pairs``).
* ``cache.doc_words`` and ``cache.doc_word_digests``: the distinct content words of each document's
  matchable sentences, under a digest of those sentences (``words_key``); a run counts the words of
  the documents whose digest changed and adds the document frequencies over the kept documents, an
  aggregation in the working database (``candidates_paraphrase.document_frequencies``; see the block at
  the end of this module).

* ``cache.static_vectors``: the static encoder's quantised vector of each text the semantic tier
  embedded for its candidates, keyed by a digest of the text under ``static_key`` (the encoder's
  table, centre, tokenizer and code): a batch encodes only texts no earlier run encoded (see the block
  at the end of this module).
* ``cache.pair_evidence``: the document-level evidence of each document pair's matches (each match's
  relation, novel n-grams and stock cover, the pair's aligned chain), keyed by a digest of the pair's
  match rows, their sentences' normalised texts and the two documents' sizes
  (``matches.pair_digests``) under ``evidence_key`` (the evidence code, stock model and settings): a
  batch classifies only the pairs whose matches or documents changed (``matches.relations_stored``),
  both for the preliminary matches the semantic tier starts from and for the final ones.

The banding and blocking states describe the last run under their key and are replaced in one
transaction each; every other table only gains rows.

Recomputed on every run, over the whole corpus (frame operations on numbers, no text processing): the
counts behind ``is_common`` (documents and outlets per normalised text: one new document can change any
sentence's flag), the index, the exact tier, each sentence's rare words and the top partners of
each document, the MiniLM embeddings, the verifier on pairs whose final grade is not
stored, the preliminary and final matches themselves (the evidence of unchanged pairs is read).
The tables built from the matches (clusters, passages, document pairs, provenance, originality,
stories) are recomputed for the connected components a batch touched only (``derived``: digests per
document and per document pair kept in the working database, schema ``overlap_derived``).

Limits: stored rows are never pruned (texts of forgotten documents and rows under old fingerprints
stay until the working database is rebuilt); without a banding state the stage reads every stored
signature of the run's key into memory (``num_perm`` x 4 bytes per distinct sentence, as much again as
the signature matrix the run builds anyway); it reads every stored trait, word list, grade and the
states into memory and looks them up by key there; the postings take ``lsh_bands`` rows per banded
text.

Skipping: :func:`inputs_fingerprint` names the stage's inputs (documents and sentences, settings,
code and models); when it equals the one stored after the last successful run (``meta.overlap_state``)
the stage computes nothing and keeps the marts (see ``stage_overlap``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.core import embed, tables
from pipeline.core.overlap.config import OverlapConfig

#: the stored rows' columns, as the table registry (``pipeline.core.tables.cache``) declares them
SIGNATURE_SCHEMA = tables.polars_schema("cache.minhash_signatures")
GRADE_SCHEMA = tables.polars_schema("cache.graded_pairs")

_CORE = Path(__file__).resolve().parent.parent


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=8)
def _files_digest(*relative: str) -> str:
    """Digest of the files (and every file under the folders) ``relative`` to ``pipeline/core``."""
    h = hashlib.blake2b(digest_size=16)
    for rel in relative:
        path = _CORE / rel
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" in f.parts:
                continue
            h.update(str(f.relative_to(_CORE)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def code_fingerprint() -> str:
    """Every file of ``pipeline/core`` (code and bundled models) and the versions of the libraries
    whose functions shape the overlap stage's output."""
    libs = ",".join(f"{p}={_version(p)}" for p in ("polars", "numpy", "rensa", "scipy"))
    return _digest(_files_digest("."), libs)


def encoder_fingerprint(encoder: Any) -> str | None:
    """``lexical`` without an encoder; the bundled model's package, the library versions and the
    encoder's code (``embed.py``) for ``"auto"``; an encoder's own ``fingerprint`` attribute; None for an encoder without one (its
    grades are then never stored and a run with it never skipped)."""
    if encoder is None or encoder is False:
        return "lexical"
    if encoder == "auto":
        pkgs = (embed.MODEL_PACKAGE, "torch", "transformers", "tokenizers")
        return "auto:" + ",".join(f"{p}={_version(p)}" for p in pkgs) + ":" + _files_digest("embed.py")
    fp = getattr(encoder, "fingerprint", None)
    return f"given:{fp}" if isinstance(fp, str) and fp else None


def verifier_fingerprint(cfg: OverlapConfig) -> str:
    """``off`` when the verifier is not requested; else its code, bundled weights and libraries (a
    verifier that fails to load is never used for stored grades: see ``grading.grade_with_models``)."""
    if not cfg.verifier:
        return "off"
    pkgs = ("torch", "transformers", "peft", "safetensors")
    return _digest(
        "verifier",
        _files_digest("verifier.py", "verifier_model"),
        ",".join(f"{p}={_version(p)}" for p in pkgs),
    )


def signature_key(cfg: OverlapConfig) -> str:
    """Fingerprint of the MinHash signatures' inputs other than the text."""
    return _digest(
        "minhash",
        _files_digest("overlap/candidates_minhash.py", "overlap/common.py"),
        f"polars={_version('polars')},rensa={_version('rensa')},numpy={_version('numpy')}",
        f"{cfg.num_perm},{cfg.minhash_seed},{cfg.max_shingle_tokens}",
    )


def grade_key(cfg: OverlapConfig, encoder_fp: str) -> str:
    """Fingerprint of a grade's inputs other than the two texts."""
    return _digest(
        "grade",
        _files_digest("compare.py", "compare_model.json", "overlap/grading.py"),
        f"numpy={_version('numpy')}",
        str(cfg.max_grade_chars),
        encoder_fp,
    )


def inputs_fingerprint(inputs_digest: str, cfg: OverlapConfig, encoder_fp: str | None) -> str | None:
    """The fingerprint of one overlap run: its documents and sentences (``inputs_digest``, computed by
    the stage), every setting, the code and the encoder; None when the encoder cannot be named."""
    if encoder_fp is None:
        return None
    settings = json.dumps(asdict(cfg), sort_keys=True, default=str)
    return _digest("overlap", inputs_digest, settings, code_fingerprint(), encoder_fp)


def pair_keys(texts_a: list[str], texts_b: list[str]) -> list[str]:
    """One key per pair of graded texts (in the order graded: a then b)."""
    return [_digest(a, b) for a, b in zip(texts_a, texts_b, strict=True)]


@dataclass
class OverlapStore:
    """Stored values for one run, and the values the run adds.

    ``signatures``: rows of ``SIGNATURE_SCHEMA`` whose ``signature_key`` is this run's;
    ``grades``: rows of ``GRADE_SCHEMA`` whose ``grade_key`` is one of ``grade_keys`` (by encoder
    fingerprint: ``lexical`` and, with the semantic tier, the encoder's). The steps read them through
    the methods below and append what they computed to ``added_*``; ``new_rows()`` gives the rows to
    insert. ``hits`` and ``computed`` count, per kind of value, what was reused and what computed."""

    signature_key: str
    grade_keys: dict[str, str]
    encoder_fp: str | None = None
    # the final grades of the semantic tier's slow models (MiniLM's cosine, then the verifier)
    verified_fp: str | None = None
    signatures: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SIGNATURE_SCHEMA))
    grades: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=GRADE_SCHEMA))
    added_signatures: list[pl.DataFrame] = field(default_factory=list)
    # when set, computed signatures go there at once instead of ``added_signatures`` (the stage writes
    # them to the working database; see ``new_rows``)
    write_signatures: Callable[[pl.DataFrame], None] | None = None
    added_grades: list[pl.DataFrame] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=lambda: {"signatures": 0, "grades": 0})
    computed: dict[str, int] = field(default_factory=lambda: {"signatures": 0, "grades": 0})
    # the lexical steps' own values (see the block at the end of this module)
    traits: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=TRAIT_SCHEMA))
    added_traits: list[pl.DataFrame] = field(default_factory=list)
    index_hits: dict[str, int] = field(
        default_factory=lambda: {"traits": 0, "tokens": 0, "lsh_pairs": 0, "rare_doc_pairs": 0}
    )
    index_computed: dict[str, int] = field(
        default_factory=lambda: {"traits": 0, "tokens": 0, "lsh_pairs": 0, "rare_doc_pairs": 0}
    )
    trait_key: str = field(default_factory=lambda: trait_key())
    tokens: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=TOKEN_SCHEMA))
    added_tokens: list[pl.DataFrame] = field(default_factory=list)
    token_key: str = ""
    # LSH banding kept between runs: None without a stored state (every hash is banded)
    lsh_key: str = ""
    lsh_members: pl.DataFrame | None = None
    lsh_pairs: pl.DataFrame | None = None
    fetch_signatures: Callable[[pl.Series], pl.DataFrame] | None = None
    fetch_postings: Callable[[pl.DataFrame], pl.DataFrame] | None = None
    lsh_writes: dict[str, Any] = field(default_factory=dict)
    # when set, postings go there at once instead of ``lsh_writes`` (a sentence's postings are written
    # once whatever state they belong to, so they need not wait for the state's transaction)
    write_postings: Callable[[pl.DataFrame, bool], None] | None = None
    # rare-word document pairs kept between runs (empty: every pair is computed)
    block_key: str = ""
    rare_sets: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RARE_SET_SCHEMA))
    rare_pairs: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RARE_PAIR_SCHEMA))
    rare_writes: dict[str, Any] = field(default_factory=dict)
    # the static encoder's vectors of the semantic tier (see the block at the end of this module)
    static: StaticVectorStore = field(default_factory=lambda: StaticVectorStore())
    # the document-level evidence of matches (see the block at the end of this module)
    evidence: EvidenceStore = field(default_factory=lambda: EvidenceStore())
    # the last run's derived tables, read for the components a batch leaves alone (``derived``)
    derived: Any = None
    # each document's content words, for the words' document frequencies (see the block at the end)
    doc_words: DocWordStore = field(default_factory=lambda: DocWordStore())

    @classmethod
    def for_run(cls, cfg: OverlapConfig, encoder: Any) -> OverlapStore:
        """An empty store with this run's keys (the stage fills ``signatures`` and ``grades``)."""
        keys = {"lexical": grade_key(cfg, "lexical")}
        enc_fp = encoder_fingerprint(encoder)
        verified_fp = None
        if enc_fp is not None and enc_fp != "lexical":
            keys[enc_fp] = grade_key(cfg, enc_fp)
            verified_fp = f"verified:{enc_fp}:{verifier_fingerprint(cfg)}"
            keys[verified_fp] = grade_key(cfg, verified_fp)
        return cls(
            signature_key(cfg),
            keys,
            enc_fp,
            verified_fp,
            token_key=token_key(cfg),
            lsh_key=lsh_key(cfg),
            block_key=block_key(cfg),
            evidence=EvidenceStore(evidence_key(cfg)),
            doc_words=DocWordStore(words_key(cfg)),
        )

    # ---- signatures
    def split_signatures(
        self, norm_hashes: pl.Series, num_perm: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each position of ``norm_hashes``: whether a signature is stored, the stored
        signatures' rows (n_hits, num_perm) for those positions, and the positions to compute."""
        found = (
            pl.DataFrame({"norm_hash": norm_hashes})
            .with_row_index("pos")
            .join(
                self.signatures.filter(pl.col("signature_key") == self.signature_key).select(
                    "norm_hash", "signature"
                ),
                on="norm_hash",
                how="left",
            )
            .sort("pos")
        )
        have = found["signature"].is_not_null().to_numpy()
        hit_bytes = found.filter(pl.col("signature").is_not_null())["signature"].to_list()
        sig = (
            np.frombuffer(b"".join(hit_bytes), dtype="<u4").reshape(len(hit_bytes), num_perm)
            if hit_bytes
            else np.zeros((0, num_perm), dtype=np.uint32)
        )
        self.hits["signatures"] += len(hit_bytes)
        return have, sig, np.flatnonzero(~have)

    def add_signatures(self, norm_hashes: pl.Series, sig: np.ndarray) -> None:
        self.computed["signatures"] += len(norm_hashes)
        if not len(norm_hashes):
            return
        # written at once, in slices, when the stage takes them: the run does not hold them
        step = SIGNATURE_WRITE_ROWS if self.write_signatures is not None else len(norm_hashes)
        for lo in range(0, len(norm_hashes), step):
            frame = pl.DataFrame(
                {
                    "signature_key": self.signature_key,
                    "norm_hash": norm_hashes.slice(lo, step),
                    "signature": signature_blobs(sig[lo : lo + step]),
                },
                schema=SIGNATURE_SCHEMA,
            )
            if self.write_signatures is not None:
                self.write_signatures(frame)
            else:
                self.added_signatures.append(frame)

    # ---- grades
    def stored_grades(self, enc_fp: str, keys: list[str]) -> dict[str, tuple[str, float, dict[str, float]]]:
        """The stored grades of these pair keys for the encoder ``enc_fp``: key -> (kind, score, signals)."""
        gk = self.grade_keys.get(enc_fp)
        if gk is None or self.grades.height == 0 or not keys:
            return {}
        found = self.grades.filter(pl.col("grade_key") == gk).join(
            pl.DataFrame({"pair_key": keys}, schema={"pair_key": pl.String}).unique(), on="pair_key"
        )
        out = {
            k: (kind, score, json.loads(sig))
            for k, kind, score, sig in found.select("pair_key", "kind", "score", "signals").iter_rows()
        }
        self.hits["grades"] += sum(1 for k in keys if k in out)
        return out

    def add_grades(
        self,
        enc_fp: str,
        keys: list[str],
        hash_a: list[str],
        hash_b: list[str],
        kinds: list[str],
        scores: list[float],
        sigs: list[dict[str, float]],
    ) -> None:
        self.computed["grades"] += len(keys)
        gk = self.grade_keys.get(enc_fp)
        if gk is None or not keys:
            return
        self.added_grades.append(
            pl.DataFrame(
                {
                    "grade_key": gk,
                    "pair_key": keys,
                    "norm_hash_a": hash_a,
                    "norm_hash_b": hash_b,
                    "kind": kinds,
                    "score": scores,
                    "signals": [json.dumps(s) for s in sigs],
                },
                schema=GRADE_SCHEMA,
            )
        )

    def new_rows(self) -> dict[str, pl.DataFrame]:
        """The rows this run computed, by table: ``minhash_signatures`` and ``graded_pairs``."""
        sigs = (
            pl.concat(self.added_signatures).unique("norm_hash", keep="first", maintain_order=True)
            if self.added_signatures
            else pl.DataFrame(schema=SIGNATURE_SCHEMA)
        )
        grades = (
            pl.concat(self.added_grades).unique(["grade_key", "pair_key"], keep="first", maintain_order=True)
            if self.added_grades
            else pl.DataFrame(schema=GRADE_SCHEMA)
        )
        rows = {"minhash_signatures": sigs, "graded_pairs": grades} | self.new_index_rows()
        return rows | {"static_vectors": self.static.new_rows(), "pair_evidence": self.evidence.new_rows()}

    def stats(self) -> dict[str, Any]:
        return {
            "reused": dict(self.hits),
            "computed": dict(self.computed),
            "index": {"reused": dict(self.index_hits), "computed": dict(self.index_computed)},
            "semantic": {
                "reused": {"static_vectors": self.static.hits},
                "computed": {"static_vectors": self.static.computed},
            },
            "evidence": {
                "reused": {"pairs": self.evidence.hits},
                "computed": {"pairs": self.evidence.computed},
            },
            "doc_words": {"reused": self.doc_words.hits, "computed": self.doc_words.computed},
        }

    # ---- sentence traits (flags that depend on the sentence alone)
    def stored_traits(self, keys: pl.DataFrame) -> pl.DataFrame:
        """(quote_share, stock_reason) stored for each row of ``keys`` (tk1, tk2), in its order; null
        ``quote_share`` where nothing is stored."""
        stored = self.traits.filter(pl.col("trait_key") == self.trait_key).select(
            "tk1", "tk2", "quote_share", "stock_reason"
        )
        found = keys.join(stored, on=["tk1", "tk2"], how="left", maintain_order="left").select(
            "quote_share", "stock_reason"
        )
        self.index_hits["traits"] += int(found["quote_share"].is_not_null().sum())
        return found

    def add_traits(self, keys: pl.DataFrame, traits: pl.DataFrame) -> None:
        self.index_computed["traits"] += keys.height
        if keys.height:
            self.added_traits.append(
                pl.concat([keys, traits], how="horizontal")
                .with_columns(pl.lit(self.trait_key).alias("trait_key"))
                .select(list(TRAIT_SCHEMA))
                .cast(TRAIT_SCHEMA)
            )

    def new_index_rows(self) -> dict[str, pl.DataFrame]:
        """The lexical steps' rows this run computed, by table: ``sentence_traits``."""
        traits = (
            pl.concat(self.added_traits).unique(["tk1", "tk2"], keep="first", maintain_order=True)
            if self.added_traits
            else pl.DataFrame(schema=TRAIT_SCHEMA)
        )
        tokens = (
            pl.concat(self.added_tokens).unique("norm_hash", keep="first", maintain_order=True)
            if self.added_tokens
            else pl.DataFrame(schema=TOKEN_SCHEMA)
        )
        return {"sentence_traits": traits, "word_tokens": tokens}

    # ---- LSH banding (see candidates_minhash.incremental_banding)
    def use_frames(self, members: pl.DataFrame, pairs: pl.DataFrame, postings: pl.DataFrame) -> None:
        """Take the banding state from frames: the hashes banded by the last run (norm_hash), its
        collisions (``LSH_PAIR_SCHEMA``) and the postings (band, bucket, norm_hash); signatures are
        read from ``self.signatures``. (The stage reads them from the working database instead.)"""
        self.lsh_members, self.lsh_pairs = members.select("norm_hash"), pairs
        sigs = self.signatures.filter(pl.col("signature_key") == self.signature_key)
        self.fetch_signatures = lambda nh: sigs.join(nh.to_frame("norm_hash"), on="norm_hash", how="semi")
        self.fetch_postings = lambda keys: postings.join(keys, on=["band", "bucket"], how="semi")

    def add_postings(self, postings: pl.DataFrame, unstored: bool = False) -> None:
        """Postings of newly banded texts; ``unstored``: the caller checked that none is stored yet
        (a text banded by an earlier run, which then left the banded set, keeps its postings)."""
        if self.write_postings is not None:
            self.write_postings(postings, unstored)
        else:
            self.lsh_writes.setdefault("postings", []).append(postings)

    def reset_lsh_state(
        self, members: pl.DataFrame, pairs: pl.DataFrame, postings: Iterable[pl.DataFrame]
    ) -> None:
        """The banding of every hash (``postings``: frames, built as they are written): replaces the
        stored state."""
        self.index_computed["lsh_pairs"] += pairs.height
        if self.write_postings is not None:
            for frame in postings:  # written band by band at once: the run does not hold them
                self.write_postings(frame, False)
            postings = []
        self.lsh_writes.update(reset=True, members_added=members, pairs_changed=pairs, postings=postings)

    def set_lsh_state(self, added: pl.DataFrame, removed: pl.DataFrame, changed: pl.DataFrame) -> None:
        """Hashes that joined and left the banded set, and the collisions whose bucket count changed
        (0: gone)."""
        if self.lsh_pairs is not None:
            self.index_hits["lsh_pairs"] += self.lsh_pairs.height - changed.height
        self.index_computed["lsh_pairs"] += changed.height
        self.lsh_writes.update(
            reset=False, members_added=added, members_removed=removed, pairs_changed=changed
        )

    # ---- rare-word document pairs (see candidates_paraphrase.incremental_rare_doc_pairs)
    def set_rare_state(
        self, sets: pl.DataFrame, dirty: pl.DataFrame, fresh: pl.DataFrame, n_kept: int
    ) -> None:
        """Every document's rare-word set, the documents whose set changed or went (their stored sets
        and pairs are replaced), and their qualifying pairs."""
        self.index_hits["rare_doc_pairs"] += n_kept
        self.index_computed["rare_doc_pairs"] += fresh.height
        self.rare_writes = {
            "dirty": dirty.select("doc_id"),
            "sets": sets.join(dirty, on="doc_id", how="semi").select(list(RARE_SET_SCHEMA)),
            "pairs": fresh,
        }

    # ---- content words of each normalised text (paraphrase blocking)
    def split_tokens(self, hashes: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """For ``hashes`` (hid, norm_hash): the stored words (hid, tok UInt64) and the hids without
        stored words (hid)."""
        stored = self.tokens.filter(pl.col("token_key") == self.token_key).select("norm_hash", "tokens")
        found = hashes.join(stored, on="norm_hash", how="left")
        have = found.filter(pl.col("tokens").is_not_null())
        self.index_hits["tokens"] += have.height
        blobs = have["tokens"]
        n_tok = (blobs.bin.size() // 8).to_numpy() if have.height else np.zeros(0, dtype=np.int64)
        toks = np.frombuffer(b"".join(blobs.to_list()), dtype="<u8") if have.height else np.zeros(0, "<u8")
        words = pl.DataFrame(
            {"hid": np.repeat(have["hid"].to_numpy(), n_tok), "tok": toks},
            schema={"hid": pl.Int64, "tok": pl.UInt64},
        )
        return words, found.filter(pl.col("tokens").is_null()).select("hid")

    def add_tokens(self, hashes: pl.DataFrame, words: pl.DataFrame) -> None:
        """Store the words (hid, tok) of ``hashes`` (hid, norm_hash) (a text without words too)."""
        self.index_computed["tokens"] += hashes.height
        if not hashes.height:
            return
        w = words.join(hashes.select("hid"), on="hid", how="semi").sort("hid", "tok")
        h = hashes.sort("hid")
        counts = h.join(w.group_by("hid").len(), on="hid", how="left", maintain_order="left")["len"]
        ends = np.cumsum(counts.fill_null(0).to_numpy().astype(np.int64)) * 8
        starts = ends - counts.fill_null(0).to_numpy().astype(np.int64) * 8
        buf = w["tok"].to_numpy().astype("<u8").tobytes()
        blobs = [buf[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
        self.added_tokens.append(
            pl.DataFrame(
                {"token_key": self.token_key, "norm_hash": h["norm_hash"], "tokens": blobs},
                schema=TOKEN_SCHEMA,
            )
        )


# ------------------------------------------------------------------------ the lexical steps' own values

TRAIT_SCHEMA = tables.polars_schema("cache.sentence_traits")


def trait_key() -> str:
    """Fingerprint of a sentence's traits (``flags.sentence_traits``) other than its text: the flag and
    stock-text code, the shipped stock model, and the polars version (whose hash function keys them)."""
    return _digest(
        "traits",
        _files_digest("overlap/flags.py", "stock.py", "stock_model"),
        f"polars={_version('polars')},numpy={_version('numpy')}",
    )


TOKEN_SCHEMA = tables.polars_schema("cache.word_tokens")


def token_key(cfg: OverlapConfig) -> str:
    """Fingerprint of a text's content words (``candidates_paraphrase.content_tokens``) other than the
    text: the code, the stop words, the polars version (whose hash function this is), the token limit
    and the hash seed."""
    return _digest(
        "tokens",
        _files_digest("overlap/candidates_paraphrase.py", "overlap/common.py", "normalize.py"),
        f"polars={_version('polars')}",
        f"{cfg.max_shingle_tokens},{cfg.minhash_seed}",
    )


def lsh_key(cfg: OverlapConfig) -> str:
    """Fingerprint of the banding kept between runs: the signatures' key, the banding code, the bands
    and the bucket limit."""
    return _digest(
        "lsh",
        signature_key(cfg),
        _files_digest("overlap/candidates_minhash.py"),
        f"{cfg.lsh_bands},{cfg.lsh_max_bucket}",
    )


#: the rare-word state's frames (see ``candidates_paraphrase``): each document's rare-word set, the
#: qualifying document pairs
RARE_SET_SCHEMA = {k: v for k, v in tables.polars_schema("cache.rare_doc_sets").items() if k != "block_key"}
RARE_PAIR_SCHEMA = {k: v for k, v in tables.polars_schema("cache.rare_doc_pairs").items() if k != "block_key"}


def block_key(cfg: OverlapConfig) -> str:
    """Fingerprint of the rare-word document pairs kept between runs: the words' key, the blocking
    code and its thresholds."""
    return _digest(
        "blocking",
        token_key(cfg),
        _files_digest("overlap/candidates_paraphrase.py"),
        f"{cfg.rare_token_max_docs},{cfg.doc_min_shared_rare},{cfg.doc_min_rare_overlap}",
    )


# ------------------------------------------------------------ the semantic tier's static encoder vectors

STATIC_SCHEMA = tables.polars_schema("cache.static_vectors")


def static_key(enc: Any) -> str | None:
    """Fingerprint of a candidate encoder's vectors other than the text: the encoder's own
    ``fingerprint`` (the static encoder's table, centre, tokenizer and code, see
    ``pipeline.core.static_encoder.StaticEncoder.fingerprint``; a caller's encoder may carry one), the
    code that encodes and quantises them and the numpy version; None for an encoder without a
    fingerprint (its vectors are neither stored nor reused)."""
    fp = getattr(enc, "fingerprint", None)
    if not isinstance(fp, str) or not fp:
        return None
    return _digest(
        "static", fp, _files_digest("overlap/models.py", "semantic_index.py"), f"numpy={_version('numpy')}"
    )


def text_keys(texts: Iterable[str]) -> list[str]:
    """One key per text (``cache.static_vectors.text_key``)."""
    return [_digest(t) for t in texts]


@dataclass
class StaticVectorStore:
    """The static encoder's quantised vectors stored by earlier runs (``cache.static_vectors``), and the
    ones this run adds. ``fetch(static_key, text_keys)`` reads stored rows by key (the stage sets it to
    a look-up in the working database, :func:`attach_static_vectors`); without it ``vectors`` (a frame
    of ``STATIC_SCHEMA``) is searched."""

    vectors: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=STATIC_SCHEMA))
    fetch: Callable[[str, list[str]], pl.DataFrame] | None = None
    added: list[pl.DataFrame] = field(default_factory=list)
    hits: int = 0
    computed: int = 0

    def lookup(self, key: str, keys: list[str]) -> dict[str, bytes]:
        """The stored vectors (int8 bytes) of these text keys under ``key``."""
        if not keys:
            return {}
        if self.fetch is not None:
            found = self.fetch(key, keys)
        else:
            want = pl.DataFrame({"text_key": keys}, schema={"text_key": pl.String})
            found = self.vectors.filter(pl.col("static_key") == key).join(want, on="text_key", how="semi")
        out = dict(zip(found["text_key"].to_list(), found["vector"].to_list(), strict=True))
        self.hits += len(out)
        return out

    def add(self, key: str, keys: list[str], q: np.ndarray) -> None:
        """Store the int8 vectors ``q`` (one row per text key) computed by this run."""
        self.computed += len(keys)
        if keys:
            blobs = [row.astype(np.int8).tobytes() for row in q]
            self.added.append(
                pl.DataFrame({"static_key": key, "text_key": keys, "vector": blobs}, schema=STATIC_SCHEMA)
            )

    def new_rows(self) -> pl.DataFrame:
        if not self.added:
            return pl.DataFrame(schema=STATIC_SCHEMA)
        return pl.concat(self.added).unique(["static_key", "text_key"], keep="first", maintain_order=True)


def _stored_rows(con: Any, table: str, key_col: str, id_col: str, key: str, ids: pl.Series) -> pl.DataFrame:
    """The rows of ``cache.<table>`` stored under ``key`` (in ``key_col``) for these ``ids`` (of
    ``id_col``), looked up in the working database ``con`` by a join with the wanted ids."""
    wanted = f"_want_{id_col}"
    con.register(wanted, pl.DataFrame({id_col: ids.unique()}).to_arrow())
    try:
        return con.sql(
            f"SELECT t.* FROM cache.{table} t JOIN {wanted} w USING ({id_col}) WHERE t.{key_col} = ?",
            params=[key],
        ).pl()
    finally:
        con.unregister(wanted)


def attach_static_vectors(con: Any, store: OverlapStore) -> None:
    """Let ``store`` read stored static vectors from the working database ``con`` by key."""

    def fetch(key: str, keys: list[str]) -> pl.DataFrame:
        found = _stored_rows(
            con, "static_vectors", "static_key", "text_key", key, pl.Series("text_key", keys, dtype=pl.String)
        )
        return found.select("text_key", "vector")

    store.static.fetch = fetch


#: signatures per frame handed to ``OverlapStore.write_signatures``
SIGNATURE_WRITE_ROWS = 100_000


def signature_blobs(sig: np.ndarray) -> pl.Series:
    """The rows of the (n, num_perm) signature matrix ``sig`` as little-endian uint32 blobs, built from
    the matrix's buffer (no Python object per row)."""
    rows = np.ascontiguousarray(sig, dtype="<u4")
    n = rows.shape[0]
    width = rows.shape[1] * 4 if rows.ndim == 2 else 0
    offsets = np.arange(n + 1, dtype=np.int64) * width
    arr = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rows.reshape(-1).view(np.uint8))]
    )
    return pl.Series("signature", arr, dtype=pl.Binary)


# ------------------------------------------------------------------- rows written as a run computes them


class RowSink(list):
    """A stand-in for one of the store's ``added_*`` lists that hands each frame appended to it to
    ``write`` (one row per key, the first one kept, as ``OverlapStore.new_rows`` keeps them) instead
    of holding it to the end of the run. For the tables that only ever gain rows, whose every value is
    the value its key names: a row written by a run that fails later is still valid."""

    def __init__(self, write: Callable[[pl.DataFrame], None], key: Sequence[str]):
        super().__init__()
        self._write = write
        self._key = list(key)

    def append(self, frame: pl.DataFrame) -> None:  # type: ignore[override]
        if frame.height:
            self._write(frame.unique(self._key, keep="first", maintain_order=True))


# ------------------------------------------------------------ the document-level evidence of matches

EVIDENCE_SCHEMA = tables.polars_schema("cache.pair_evidence")


def evidence_key(cfg: OverlapConfig) -> str:
    """Fingerprint of a document pair's evidence other than its matches, their sentences' normalised
    texts and the two documents' sizes (which ``matches.pair_digests`` covers): the evidence code and the
    stock model it reads, the code that calls it, every setting, and the versions of the libraries
    whose hashes the digests and n-grams use."""
    return _digest(
        "evidence",
        _files_digest(
            "evidence.py",
            "stock.py",
            "stock_model",
            "overlap/matches.py",
            "overlap/schemas.py",
            "overlap/config.py",
        ),
        json.dumps(asdict(cfg), sort_keys=True, default=str),
        f"polars={_version('polars')},numpy={_version('numpy')}",
    )


@dataclass
class EvidenceStore:
    """The evidence of document pairs stored by earlier runs (``cache.pair_evidence``) under ``key``,
    and the rows this run adds. ``fetch(key, digests)`` reads the stored rows of these pair digests
    (the stage sets it to a look-up in the working database, :func:`attach_evidence`); without it
    ``rows`` (a frame of ``EVIDENCE_SCHEMA``) is searched."""

    key: str = ""
    rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=EVIDENCE_SCHEMA))
    fetch: Callable[[str, pl.Series], pl.DataFrame] | None = None
    added: list[pl.DataFrame] = field(default_factory=list)
    hits: int = 0
    computed: int = 0

    def lookup(self, digests: pl.Series) -> pl.DataFrame:
        """The stored rows (``EVIDENCE_SCHEMA`` without the key) of these pair digests."""
        if self.fetch is not None:
            found = self.fetch(self.key, digests)
        else:
            found = self.rows.filter(pl.col("evidence_key") == self.key).join(
                pl.DataFrame({"pair_digest": digests.unique()}), on="pair_digest", how="semi"
            )
        found = found.drop("evidence_key", strict=False)
        self.hits += found["pair_digest"].n_unique()
        return found

    def add(self, rows: pl.DataFrame) -> None:
        """Store rows (``EVIDENCE_SCHEMA`` without the key) computed by this run."""
        if rows.height:
            self.computed += rows["pair_digest"].n_unique()
            self.added.append(
                rows.with_columns(pl.lit(self.key).alias("evidence_key")).select(list(EVIDENCE_SCHEMA))
            )

    def new_rows(self) -> pl.DataFrame:
        if not self.added:
            return pl.DataFrame(schema=EVIDENCE_SCHEMA)
        return (
            pl.concat(self.added)
            .cast(EVIDENCE_SCHEMA)
            .unique(
                ["evidence_key", "pair_digest", "sentence_id_a", "sentence_id_b"],
                keep="first",
                maintain_order=True,
            )
        )


def attach_evidence(con: Any, store: OverlapStore) -> None:
    """Let ``store`` read stored pair evidence from the working database ``con`` by digest."""

    def fetch(key: str, digests: pl.Series) -> pl.DataFrame:
        return _stored_rows(con, "pair_evidence", "evidence_key", "pair_digest", key, digests)

    store.evidence.fetch = fetch


# ------------------------------------------------------------ each document's content words (blocking)

DOC_DIGEST_SCHEMA = {
    k: v for k, v in tables.polars_schema("cache.doc_word_digests").items() if k != "words_key"
}
DOC_WORD_SCHEMA = {k: v for k, v in tables.polars_schema("cache.doc_words").items() if k != "words_key"}


def words_key(cfg: OverlapConfig) -> str:
    """Fingerprint of each document's kept words (``cache.doc_words``) other than its matchable
    sentences: the content words' key (their code, stop words, token limit, seed) and the counting code."""
    return _digest("doc_words", token_key(cfg), _files_digest("overlap/candidates_paraphrase.py"))


@dataclass
class DocWordStore:
    """The content words of each document kept by the last run, for the words' document frequencies
    (``candidates_paraphrase.document_frequencies``).

    ``digests``: (doc_id, wk1, wk2) of every document the last run counted, None when nothing is stored
    (every document is counted); ``count_kept(dirty, max_df)``: (tok, n) the document frequency of
    each word over the stored documents not in ``dirty`` (doc_id), capped at ``max_df + 1`` (the
    stage sets it to an aggregation in the working database,
    :func:`attach_doc_words`); without it ``words`` (doc_id, tok Int64) is counted. ``writes``: the
    documents whose words changed or went, and the new digests and words."""

    key: str = ""
    digests: pl.DataFrame | None = None
    words: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DOC_WORD_SCHEMA))
    count_kept: Callable[[pl.DataFrame, int], pl.DataFrame] | None = None
    # when set, a first run's words go there at once (every stored row of the key replaced) ...
    write_reset: Callable[[pl.DataFrame], None] | None = None
    # ... and, when this is set too, chunk by chunk as they are counted (rows added to those written)
    write_more: Callable[[pl.DataFrame], None] | None = None
    writes: dict[str, Any] = field(default_factory=dict)
    hits: int = 0
    computed: int = 0

    def kept_counts(self, dirty: pl.DataFrame, max_df: int) -> pl.DataFrame:
        """(tok UInt64, n Int64): document frequencies over the stored documents outside ``dirty``,
        capped at ``max_df + 1`` (any count above ``max_df`` is as good: such a word is not rare)."""
        if self.count_kept is not None:
            found = self.count_kept(dirty, max_df)
        else:
            found = (
                self.words.join(dirty.select("doc_id"), on="doc_id", how="anti")
                .group_by("tok")
                .agg(pl.len().cast(pl.Int64).clip(upper_bound=max_df + 1).alias("n"))
            )
        return found.select(
            pl.col("tok").cast(pl.Int64).reinterpret(signed=False), pl.col("n").cast(pl.Int64)
        )

    def set_state(
        self,
        dirty: pl.DataFrame,
        digests: pl.DataFrame,
        words: pl.DataFrame,
        n_kept: int,
        written: bool = False,
    ) -> None:
        """Documents whose words changed or went (``dirty``: their stored rows are replaced), the
        digests and words (doc_id, tok Int64) of the changed ones; ``n_kept``: documents reused;
        ``written``: a first run's words were written already (``write_reset``, ``write_more``) and
        ``words`` is empty."""
        self.hits += n_kept
        self.computed += digests.height
        words = words.select(list(DOC_WORD_SCHEMA)).cast(DOC_WORD_SCHEMA)
        reset = self.digests is None
        if written:
            if not reset or words.height:
                raise ValueError("only a first run's words are written as they are counted")
        elif reset and self.write_reset is not None:
            # a first run's words (every document's) are written at once rather than held to the end of
            # the run; the digests that make them visible are written at the end, so a run that fails
            # in between leaves no digest and the next run starts again from nothing
            self.write_reset(words)
            words = words.clear()
        self.writes = {
            "reset": reset,
            "words_written": written or (reset and self.write_reset is not None),
            "dirty": dirty.select("doc_id"),
            "digests": digests.select(list(DOC_DIGEST_SCHEMA)).cast(DOC_DIGEST_SCHEMA),
            "words": words,
        }


def attach_doc_words(con: Any, store: OverlapStore) -> None:
    """Read the kept document digests of ``store``'s key from the working database ``con`` and let it
    count the kept words there (a DuckDB aggregation: the words are never read into memory)."""
    dws = store.doc_words
    digests = con.sql(
        "SELECT doc_id, wk1, wk2 FROM cache.doc_word_digests WHERE words_key = ?", params=[dws.key]
    ).pl()
    dws.digests = digests.cast(DOC_DIGEST_SCHEMA) if digests.height else None

    def count_kept(dirty: pl.DataFrame, max_df: int) -> pl.DataFrame:
        con.register("_dirty_docs", dirty.select("doc_id").to_arrow())
        try:
            return con.sql(
                "SELECT tok, least(count(*), ?) AS n FROM cache.doc_words w WHERE w.words_key = ? "
                "AND w.doc_id NOT IN (SELECT doc_id FROM _dirty_docs) GROUP BY tok",
                params=[max_df + 1, dws.key],
            ).pl()
        finally:
            con.unregister("_dirty_docs")

    def write_more(words: pl.DataFrame) -> None:
        if not words.height:
            return
        con.register("_in", words.to_arrow())
        try:
            con.execute("INSERT INTO cache.doc_words SELECT ?, doc_id, tok FROM _in", [dws.key])
        finally:
            con.unregister("_in")

    def write_reset(words: pl.DataFrame) -> None:
        con.execute("DELETE FROM cache.doc_word_digests WHERE words_key = ?", [dws.key])
        con.execute("DELETE FROM cache.doc_words WHERE words_key = ?", [dws.key])
        write_more(words)

    dws.count_kept, dws.write_reset, dws.write_more = count_kept, write_reset, write_more


def write_doc_words(con: Any, store: OverlapStore) -> None:
    """Replace the digests and words of the documents whose words changed or went (one transaction)."""
    w = store.doc_words.writes
    if not w:
        return
    key = store.doc_words.key
    con.execute("BEGIN TRANSACTION")
    try:
        if w["reset"]:
            con.execute("DELETE FROM cache.doc_word_digests WHERE words_key = ?", [key])
            if not w["words_written"]:
                con.execute("DELETE FROM cache.doc_words WHERE words_key = ?", [key])
        elif w["dirty"].height:
            con.register("_dirty_docs", w["dirty"].to_arrow())
            con.execute(
                "DELETE FROM cache.doc_word_digests WHERE words_key = ? AND doc_id IN (SELECT doc_id FROM _dirty_docs)",
                [key],
            )
            con.execute(
                "DELETE FROM cache.doc_words WHERE words_key = ? AND doc_id IN (SELECT doc_id FROM _dirty_docs)",
                [key],
            )
            con.unregister("_dirty_docs")
        for table, frame, cols in (
            ("doc_word_digests", w["digests"], "doc_id, wk1, wk2"),
            ("doc_words", w["words"], "doc_id, tok"),
        ):
            con.register("_in", frame.to_arrow())
            con.execute(f"INSERT INTO cache.{table} SELECT ?, {cols} FROM _in", [key])
            con.unregister("_in")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    store.doc_words.writes = {}
