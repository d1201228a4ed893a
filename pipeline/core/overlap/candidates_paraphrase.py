"""Paraphrase tier (lexical): blocked candidates within candidate document pairs.

Candidate document pairs are (a) pairs with at least one match from the exact or MinHash tiers and (b)
the top ``doc_top_k`` partners of each document by shared rare content words (stop words removed,
document frequency between 2 and ``rare_token_max_docs``, i.e. posting lists are capped) with at least
``doc_min_shared_rare`` such words and an overlap coefficient of at least ``doc_min_rare_overlap``.
Within those pairs, sentences not yet matched into the other document are paired by shared content
words (IDF weighted, posting lists capped the same way), keeping the ``para_top_k`` best partners per
sentence with at least ``para_min_shared`` shared words and a weighted overlap of at least
``para_min_overlap``, and graded with lexical signals. Large joins run in chunks of at most about
``max_join_rows`` rows."""

from __future__ import annotations

import math

import polars as pl

from pipeline.core.normalize import STOPWORDS
from pipeline.core.overlap.common import empty, split_tokens
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.index import both_ways
from pipeline.core.overlap.schemas import CANDIDATE_SCHEMA, RARE_SCHEMA
from pipeline.core.overlap.store import (
    DOC_WORD_SCHEMA,
    RARE_PAIR_SCHEMA,
    RARE_SET_SCHEMA,
    DocWordStore,
    OverlapStore,
)

#: words too frequent in news to block documents on
_STOPWORDS = STOPWORDS | {"it's", "new", "two", "year", "years"}


def content_tokens(hashes: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(hid, tok): the distinct content words of each normalised text of ``hashes`` (hid, norm): words
    of at least 3 characters that are not stop words, among its first ``max_shingle_tokens`` tokens;
    ``tok`` is a 64-bit hash of the word (UInt64). Runs in chunks of ``minhash_chunk_rows`` texts (a
    text's words are all in its chunk) to bound the memory of the exploded words."""
    step = max(1, cfg.minhash_chunk_rows)
    if hashes.height > step:
        return pl.concat(
            [content_tokens(hashes.slice(lo, step), cfg) for lo in range(0, hashes.height, step)]
        )
    return (
        hashes.select(
            pl.col("hid").cast(pl.Int64), split_tokens(pl.col("norm"), cfg.max_shingle_tokens).alias("tok")
        )
        .explode("tok")
        .filter(pl.col("tok").str.len_chars() >= 3)
        .filter(~pl.col("tok").is_in(sorted(_STOPWORDS)))
        .with_columns(pl.col("tok").hash(seed=cfg.minhash_seed))
        .unique(["hid", "tok"])
    )


def _hash_tokens(
    elig: pl.DataFrame, hashes: pl.DataFrame, cfg: OverlapConfig, store: OverlapStore | None
) -> pl.DataFrame:
    """(hid UInt32, tok UInt64) of every distinct normalised text of ``elig`` (its text read from
    ``hashes``: hid, norm_hash, rep_norm): stored ones reused from ``store``, the others computed
    (:func:`content_tokens`) and added to it. The texts are read, split and their words handed to the
    store in slices of ``minhash_chunk_rows`` rows of ``hashes`` (no copy of every text, no words
    but those of one slice beside the result)."""
    wanted = hashes["hid"].is_in(elig["hid"].unique().implode())
    parts = []
    if store is None:
        todo = wanted
    else:
        found, missing = store.split_tokens(hashes.select("hid", "norm_hash").filter(wanted))
        parts.append(found.select(pl.col("hid").cast(pl.UInt32), pl.col("tok").cast(pl.UInt64)))
        todo = hashes["hid"].is_in(missing["hid"].implode())
    step = max(1, cfg.minhash_chunk_rows)
    for lo in range(0, hashes.height, step):
        texts = (
            hashes.slice(lo, step)
            .filter(todo.slice(lo, step))
            .select("hid", "norm_hash", pl.col("rep_norm").alias("norm"))
        )
        if texts.height == 0:
            continue
        new = content_tokens(texts.select("hid", "norm"), cfg)
        if store is not None:
            store.add_tokens(texts.select("hid", "norm_hash"), new)
        parts.append(new.select(pl.col("hid").cast(pl.UInt32), pl.col("tok").cast(pl.UInt64)))
    if not parts:
        return pl.DataFrame(schema={"hid": pl.UInt32, "tok": pl.UInt64})
    return pl.concat(parts)


def rare_tokens(
    elig: pl.DataFrame, hashes: pl.DataFrame, cfg: OverlapConfig, store: OverlapStore | None = None
) -> pl.DataFrame:
    """(sidx, didx, hid, tok, w): distinct content words (:func:`content_tokens`) of each matchable
    sentence of ``elig`` whose document frequency is between 2 and ``rare_token_max_docs`` (capped
    posting lists); ``tok`` is a 64-bit hash of the word and ``w`` its IDF weight. The words of each
    distinct normalised text (``hashes``: hid, norm_hash, rep_norm) come from ``store`` when it holds
    them. Document frequencies are counted in chunks of documents to bound memory."""
    if elig.height == 0:
        return pl.DataFrame(schema=RARE_SCHEMA)
    hid_tok = _hash_tokens(elig, hashes, cfg, store)
    # chunks of whole documents (didx ranges) of about 4 x minhash_chunk_rows sentences each
    n_didx = int(elig["didx"].max()) + 1
    doc_step = max(1, math.ceil(n_didx * cfg.minhash_chunk_rows * 4 / elig.height))

    def chunk_tokens(lo: int) -> pl.DataFrame:
        return (
            elig.filter((pl.col("didx") >= lo) & (pl.col("didx") < lo + doc_step))
            .select(
                pl.col("sidx").cast(pl.UInt32), pl.col("didx").cast(pl.UInt32), pl.col("hid").cast(pl.UInt32)
            )
            .join(hid_tok, on="hid")
        )

    # pass 1: document frequency of every word (chunks hold whole documents, so per-chunk counts of
    # distinct (document, word) pairs add up); with a store, counted over the changed documents only
    if store is not None:
        counts = document_frequencies(elig, hid_tok, cfg, store.doc_words, doc_step)
    else:
        counts = [
            chunk_tokens(lo).group_by("tok").agg(pl.col("didx").n_unique().cast(pl.Int64).alias("n"))
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
    # pass 2: the rare words of each sentence (a sentence's words are distinct already)
    hid_rare = hid_tok.join(df, on="tok")
    return (
        elig.select(
            pl.col("sidx").cast(pl.UInt32), pl.col("didx").cast(pl.UInt32), pl.col("hid").cast(pl.UInt32)
        )
        .join(hid_rare, on="hid")
        .with_columns(
            pl.col("sidx").cast(pl.Int64), pl.col("didx").cast(pl.Int64), pl.col("hid").cast(pl.Int64)
        )
    )


def _matched_doc_pairs(matches: pl.DataFrame, elig: pl.DataFrame) -> pl.DataFrame:
    """(da, db): document pairs holding at least one of ``matches``."""
    sd = elig.select("sentence_id", "didx")
    return (
        matches.select("sid_l", "sid_r")
        .join(sd.rename({"sentence_id": "sid_l", "didx": "d1"}), on="sid_l")
        .join(sd.rename({"sentence_id": "sid_r", "didx": "d2"}), on="sid_r")
        .select(
            pl.min_horizontal("d1", "d2").alias("da"),
            pl.max_horizontal("d1", "d2").alias("db"),
        )
        .unique()
    )


def _rare_word_doc_pairs(rare: pl.DataFrame, cfg: OverlapConfig) -> list[pl.DataFrame]:
    """(da, db): the top ``doc_top_k`` partners of each document by shared rare words; the self-join on
    words runs in chunks of left-hand documents to bound memory (one frame per chunk)."""
    dt = rare.select("didx", "tok").unique()
    n_rare = dt.group_by("didx").agg(pl.len().alias("n_rare"))
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
    return tops


def candidate_doc_pairs(
    matches: pl.DataFrame,
    elig: pl.DataFrame,
    rare: pl.DataFrame,
    cfg: OverlapConfig,
    doc_rank: pl.DataFrame | None = None,
    store: OverlapStore | None = None,
) -> pl.DataFrame:
    """Document pairs (da < db) in which paraphrases are looked for: those holding a match of
    ``matches`` and those sharing enough rare words (with ``store`` and ``doc_rank``, from the pairs it
    keeps: :func:`incremental_rare_doc_pairs`)."""
    ev = _matched_doc_pairs(matches, elig)
    by_words = (
        doc_pairs_by_rare_words(rare, doc_rank, cfg, store)
        if doc_rank is not None
        else _rare_word_doc_pairs(rare, cfg)
    )
    return pl.concat([ev, *by_words]).unique().sort("da", "db")


def matched_into(matches: pl.DataFrame, elig: pl.DataFrame) -> pl.DataFrame:
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


def paraphrase_candidates(
    doc_pairs: pl.DataFrame, elig: pl.DataFrame, rare: pl.DataFrame, matches: pl.DataFrame, cfg: OverlapConfig
) -> pl.DataFrame:
    """Candidate hash pairs (tier ``blocked``) within ``doc_pairs``: sentences sharing rare words,
    except sentences already matched (``matches``) into the other document."""
    if doc_pairs.height == 0 or rare.height == 0:
        return empty(CANDIDATE_SCHEMA)
    # sentences already matched into a document are not paired again with that document
    done = matched_into(matches, elig)
    wsum = rare.group_by("sidx").agg(pl.col("w").sum().alias("wsum"))
    # orient every document pair both ways so each sentence finds partners on the other side
    dp = both_ways(doc_pairs)
    right = rare.select(
        pl.col("sidx").alias("s2"), pl.col("hid").alias("h2"), pl.col("didx").alias("od"), "tok"
    )
    per_doc = rare.group_by("didx").agg(pl.len().cast(pl.Int64).alias("nt"))
    est = int(dp.join(per_doc, on="didx")["nt"].sum() or 0)
    n_chunks = max(1, math.ceil(est / max(1, cfg.max_join_rows)))
    parts = []
    for c in range(n_chunks):
        dpc = dp.filter(pl.col("didx") % n_chunks == c) if n_chunks > 1 else dp
        parts.append(_best_partners(dpc, rare, right, done, wsum, cfg))
    return (
        pl.concat(parts)
        .select(
            pl.min_horizontal("h1", "h2").alias("hid_a"),
            pl.max_horizontal("h1", "h2").alias("hid_b"),
            pl.lit("blocked").alias("tier"),
        )
        .unique()
        .sort("hid_a", "hid_b")
    )


def _best_partners(
    dp: pl.DataFrame,
    rare: pl.DataFrame,
    right: pl.DataFrame,
    done: pl.DataFrame,
    wsum: pl.DataFrame,
    cfg: OverlapConfig,
) -> pl.DataFrame:
    """(h1, h2): the ``para_top_k`` best partners of each open sentence of the oriented document pairs
    ``dp`` (didx, od) in the other document, by IDF-weighted overlap of their rare words."""
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
    return (
        sc.sort(["s1", "od", "ov", "s2"], descending=[False, False, True, False])
        .group_by("s1", "od", maintain_order=True)
        .head(cfg.para_top_k)
        .select("h1", "h2")
    )


def dedupe_candidates(cand: pl.DataFrame, graded_keys: pl.DataFrame) -> pl.DataFrame:
    """One row per hash pair (first tier in name order), without pairs graded already."""
    return (
        cand.sort("tier")
        .unique(["hid_a", "hid_b"], keep="first")
        .join(graded_keys, on=["hid_a", "hid_b"], how="anti")
        .sort("hid_a", "hid_b")
    )


# ------------------------------------------------------------------------------------------ index upkeep
# Rare-word document pairs kept between runs (``OverlapStore``): each document's set of rare words
# (a digest) and the pairs that qualify (at least ``doc_min_shared_rare`` shared rare words, overlap of
# at least ``doc_min_rare_overlap``). A pair of two documents whose rare-word sets are unchanged
# qualifies as before; a run recomputes only the pairs of documents whose set changed (new documents,
# words that became or stopped being rare, sentences that became or stopped being matchable), then
# takes the ``doc_top_k`` best partners of every document from all qualifying pairs.


def rare_sets(dt: pl.DataFrame, doc_rank: pl.DataFrame) -> pl.DataFrame:
    """``RARE_SET_SCHEMA`` of every document with rare words (``dt``: distinct (didx, tok))."""
    return (
        dt.sort("didx", "tok")
        .group_by("didx", maintain_order=True)
        .agg(pl.col("tok"))
        .select(
            "didx",
            pl.col("tok").hash(seed=1).reinterpret(signed=True).alias("rk1"),
            pl.col("tok").hash(seed=2).reinterpret(signed=True).alias("rk2"),
            pl.col("tok").list.len().cast(pl.Int64).alias("n_rare"),
        )
        .join(doc_rank, on="didx")
        .select(list(RARE_SET_SCHEMA))
    )


def _qualifying_pairs(dt: pl.DataFrame, left: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(didx, didx_r, n_shared, overlap): pairs of a document of ``left`` (didx, tok) with any other
    document of ``dt`` sharing at least ``doc_min_shared_rare`` rare words with an overlap coefficient
    of at least ``doc_min_rare_overlap``."""
    n_rare = dt.group_by("didx").agg(pl.len().alias("n_rare"))
    # the self-join on words runs in chunks of left-hand documents of about max_join_rows rows
    df_all = dt.group_by("tok").agg(pl.len().cast(pl.Int64).alias("df"))
    df_left = left.group_by("tok").agg(pl.len().cast(pl.Int64).alias("dl"))
    est = int(df_left.join(df_all, on="tok").select((pl.col("dl") * pl.col("df")).sum()).item() or 0)
    n_chunks = max(1, math.ceil(est / max(1, cfg.max_join_rows)))
    parts = []
    for c in range(n_chunks):
        chunk = left.filter(pl.col("didx") % n_chunks == c) if n_chunks > 1 else left
        parts.append(
            chunk.join(dt, on="tok", suffix="_r")
            .filter(pl.col("didx") != pl.col("didx_r"))
            .group_by("didx", "didx_r")
            .agg(pl.len().cast(pl.Int64).alias("n_shared"))
            .filter(pl.col("n_shared") >= cfg.doc_min_shared_rare)
            .join(n_rare, on="didx")
            .join(n_rare.rename({"didx": "didx_r", "n_rare": "n_rare_r"}), on="didx_r")
            .with_columns((pl.col("n_shared") / pl.min_horizontal("n_rare", "n_rare_r")).alias("overlap"))
            .filter(pl.col("overlap") >= cfg.doc_min_rare_overlap)
            .select("didx", "didx_r", "n_shared", "overlap")
        )
    return pl.concat(parts)


def _top_partners(pairs: pl.DataFrame, cfg: OverlapConfig) -> pl.DataFrame:
    """(da, db): the ``doc_top_k`` best partners of each document among the qualifying ``pairs``
    (da < db, n_shared, overlap), by overlap then smallest document number."""
    both = pl.concat(
        [
            pairs.select(pl.col("da").alias("didx"), pl.col("db").alias("didx_r"), "overlap"),
            pairs.select(pl.col("db").alias("didx"), pl.col("da").alias("didx_r"), "overlap"),
        ]
    )
    return (
        both.sort(["didx", "overlap", "didx_r"], descending=[False, True, False])
        .group_by("didx", maintain_order=True)
        .head(cfg.doc_top_k)
        .select(
            pl.min_horizontal("didx", "didx_r").alias("da"), pl.max_horizontal("didx", "didx_r").alias("db")
        )
    )


def incremental_rare_doc_pairs(
    rare: pl.DataFrame, doc_rank: pl.DataFrame, cfg: OverlapConfig, store: OverlapStore
) -> pl.DataFrame:
    """(da, db): the rare-word document pairs of :func:`_rare_word_doc_pairs`, from the qualifying
    pairs the store keeps for documents whose rare-word set is unchanged and recomputed for the
    others; the store receives the new sets and pairs."""
    dt = rare.select("didx", "tok").unique()
    sets = rare_sets(dt, doc_rank)
    changed = sets.join(store.rare_sets, on=list(RARE_SET_SCHEMA), how="anti")
    stale = set(store.rare_sets.join(sets, on=list(RARE_SET_SCHEMA), how="anti")["doc_id"].to_list())
    ids = doc_rank.select("doc_id", "didx")
    dirty = pl.concat(
        [changed.select("doc_id"), pl.DataFrame({"doc_id": sorted(stale)}, schema={"doc_id": pl.String})]
    ).unique()
    # pairs of two documents whose sets are unchanged: as stored
    kept = (
        store.rare_pairs.join(dirty.rename({"doc_id": "doc_id_a"}), on="doc_id_a", how="anti")
        .join(dirty.rename({"doc_id": "doc_id_b"}), on="doc_id_b", how="anti")
        .join(ids.rename({"doc_id": "doc_id_a", "didx": "da"}), on="doc_id_a")
        .join(ids.rename({"doc_id": "doc_id_b", "didx": "db"}), on="doc_id_b")
    )
    left = dt.join(changed.join(ids, on="doc_id").select("didx"), on="didx", how="semi")
    fresh = (
        _qualifying_pairs(dt, left, cfg)
        .select(
            pl.min_horizontal("didx", "didx_r").alias("da"),
            pl.max_horizontal("didx", "didx_r").alias("db"),
            "n_shared",
            "overlap",
        )
        .unique(["da", "db"])
        .join(ids.rename({"didx": "da", "doc_id": "doc_id_a"}), on="da")
        .join(ids.rename({"didx": "db", "doc_id": "doc_id_b"}), on="db")
    )
    pairs = pl.concat([kept.select(fresh.columns), fresh])
    store.set_rare_state(
        sets, dirty, fresh.select(list(RARE_PAIR_SCHEMA)).cast(RARE_PAIR_SCHEMA), kept.height
    )
    return _top_partners(pairs, cfg)


def doc_pairs_by_rare_words(
    rare: pl.DataFrame, doc_rank: pl.DataFrame, cfg: OverlapConfig, store: OverlapStore | None
) -> list[pl.DataFrame]:
    """The rare-word document pairs (da, db): with a store, from the kept qualifying pairs
    (:func:`incremental_rare_doc_pairs`); otherwise :func:`_rare_word_doc_pairs`."""
    if store is None:
        return _rare_word_doc_pairs(rare, cfg)
    return [incremental_rare_doc_pairs(rare, doc_rank, cfg, store)]


# ------------------------------------------------------------------------------------------ index upkeep
# Document frequencies of words kept between runs (``OverlapStore.doc_words``): the distinct content
# words of each document's matchable sentences, under a digest of those sentences (their normalised
# texts). A document whose digest is unchanged has the words stored for it; a run counts the words of
# the documents whose digest changed (new documents, sentences that became or stopped being matchable)
# and adds them to the counts over the kept documents, which the working database aggregates.


def doc_digests(elig: pl.DataFrame) -> pl.DataFrame:
    """(didx, doc_id, wk1, wk2): two 64-bit hashes of the sorted hashes of the distinct normalised texts
    of each document's matchable sentences (``elig``), everything its content words depend on."""
    return (
        elig.select("didx", "doc_id", pl.col("norm_hash").hash(seed=3).alias("h"))
        .unique(["didx", "h"])
        .sort("didx", "h")
        .group_by("didx", "doc_id", maintain_order=True)
        .agg("h")
        .select(
            "didx",
            "doc_id",
            pl.col("h").hash(seed=1).reinterpret(signed=True).alias("wk1"),
            pl.col("h").hash(seed=2).reinterpret(signed=True).alias("wk2"),
        )
    )


def document_frequencies(
    elig: pl.DataFrame, hid_tok: pl.DataFrame, cfg: OverlapConfig, dws: DocWordStore, doc_step: int
) -> list[pl.DataFrame]:
    """(tok, n) frames whose sums per word are the document frequency of every word in the documents of
    ``elig`` (the matchable sentences; ``hid_tok``: the words of each distinct text, hid UInt32, tok
    UInt64); a sum above ``rare_token_max_docs`` may be below the frequency (such a word is not rare
    either way). The words of the documents whose digest (:func:`doc_digests`) ``dws`` holds are
    counted by ``dws`` over its kept words, the others here, in chunks of ``doc_step`` documents;
    ``dws`` receives the changed documents' digests and words."""
    digests = doc_digests(elig)
    if dws.digests is None:
        changed, dirty = digests, digests.select("doc_id")
    else:
        cols = ["doc_id", "wk1", "wk2"]
        changed = digests.join(dws.digests, on=cols, how="anti")
        stale = dws.digests.join(digests, on=cols, how="anti").select("doc_id")
        dirty = pl.concat([changed.select("doc_id"), stale]).unique().sort("doc_id")
    parts = []
    if dws.digests is not None:
        kept = dws.kept_counts(dirty, cfg.rare_token_max_docs)
        parts.append(kept.select(pl.col("tok").cast(pl.UInt64), pl.col("n").cast(pl.Int64)))
    todo = changed["didx"].cast(pl.UInt32)
    sel = elig.select(pl.col("didx").cast(pl.UInt32), pl.col("hid").cast(pl.UInt32)).filter(
        pl.col("didx").is_in(todo.implode())
    )
    ids = changed.select(pl.col("didx").cast(pl.UInt32), "doc_id")

    def named(words: pl.DataFrame) -> pl.DataFrame:
        return words.join(ids, on="didx").select("doc_id", pl.col("tok").reinterpret(signed=True))

    # a first run's words go to the working database chunk by chunk as they are counted (the run
    # holds one chunk's words, not the corpus's); a batch's words are few and kept to the end
    stream = dws.digests is None and dws.write_reset is not None and dws.write_more is not None
    if stream:
        dws.write_reset(pl.DataFrame(schema=DOC_WORD_SCHEMA))  # the key's stored rows go first
    words = []
    if sel.height:
        lo_all, hi_all = int(sel["didx"].min()), int(sel["didx"].max()) + 1
        for lo in range(lo_all, hi_all, doc_step):
            chunk = (
                sel.filter((pl.col("didx") >= lo) & (pl.col("didx") < lo + doc_step))
                .join(hid_tok, on="hid")
                .select("didx", "tok")
                .unique()
            )
            if chunk.height:
                if stream:
                    dws.write_more(named(chunk).cast(DOC_WORD_SCHEMA))
                else:
                    words.append(chunk)
                parts.append(chunk.group_by("tok").agg(pl.len().cast(pl.Int64).alias("n")))
    new_words = pl.concat(words) if words else pl.DataFrame(schema={"didx": pl.UInt32, "tok": pl.UInt64})
    dws.set_state(dirty, changed, named(new_words), digests.height - changed.height, written=stream)
    if not parts:
        return [pl.DataFrame(schema={"tok": pl.UInt64, "n": pl.Int64})]
    return parts
