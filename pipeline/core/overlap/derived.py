"""The tables built from the matches, recomputed for the affected components only.

Clusters, passages, document pairs (with the provenance model), originality and stories are each a
function of one connected component of the graph whose nodes are the documents and whose edges are the
document pairs sharing reuse or quote matches (``provenance.reuse_only``; the graph of every
``document_pairs`` row): a sentence cluster, a passage, a document pair and a story lie inside one
component, and what the provenance model reads of a pair (its story's pairs and matches, the texts,
dates, outlets and URLs of the documents) lies inside it too, with one exception that is corpus-wide:
the outlets a credit line may name are those of the whole corpus (``provenance._Pairs``), so the
outlet names are kept with the state, and when outlets join or leave the corpus the components whose
documents have a credit line naming one of them are recomputed too (:func:`naming_documents`). The document-level inputs read for a component (each document's row, its sentences and
their flags: ``is_common`` is a corpus-wide count, a sentence turning common changes its document's
matchable sentences) are covered by a digest per document (:func:`doc_digests`), and the matches by a
digest per document pair of every match row (:func:`pair_digests`, stock and same-fact matches too,
since a pair's aligned-text evidence reads them).

A batch compares the digests with those the last run stored: a document is *affected* when its digest
is new, changed or gone, or when one of its pairs' digests is. A component of the new graph holding no
affected document is a component of the last run's graph with the same inputs (an edge that appeared
or vanished makes both its documents affected), so its rows are those stored; every other component
is recomputed (:func:`affected_scope`). The result is the tables of a full computation; a changed key
(settings, code, library versions) or no stored state recomputes everything."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from pipeline.core import provenance
from pipeline.core.overlap.common import components, node_ids
from pipeline.core.overlap.config import OverlapConfig
from pipeline.core.overlap.store import _digest

#: each derived table, the column naming the document its rows belong to (a pair's rows: its first
#: document, in the same component as the second) and its sort keys
DERIVED_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sentence_clusters": ("doc_id", ("cluster_id", "sentence_id")),
    "passages": ("doc_id_a", ("doc_id_a", "doc_id_b", "first_index_a", "first_index_b")),
    "document_pairs": ("doc_id_a", ("doc_id_a", "doc_id_b")),
    "document_originality": ("doc_id", ("doc_id",)),
    "stories": ("doc_id", ("story_id", "doc_id")),
}

DOC_DIGEST_SCHEMA = {"doc_id": pl.String, "digest": pl.UInt64}
PAIR_DIGEST_SCHEMA = {"doc_id_a": pl.String, "doc_id_b": pl.String, "digest": pl.UInt64}

_SEED = 0x7A11_0001


def derived_key(cfg: OverlapConfig, code: str) -> str:
    """What the derived rows depend on besides the digests and the outlet names: the settings, the
    code and libraries (``code``, see ``store.code_fingerprint``)."""
    return _digest("derived", code, json.dumps(asdict(cfg), sort_keys=True, default=str))


def outlet_names(docs: pl.DataFrame) -> list[str]:
    """The corpus' outlet names (those a credit line may name, see ``provenance._Pairs``)."""
    return sorted({o for o in docs["source"].to_list() if o})


def naming_documents(names: list[str], sents: pl.DataFrame, doc_ids: pl.Series) -> pl.Series:
    """The documents of ``doc_ids`` with a possible credit line (``provenance._Pairs``: a credit cue or
    brackets) that names one of ``names`` as ``provenance._Credits.credited`` reads it: when these
    outlets join or leave the corpus, only such documents' pairs can change their reading."""
    credits = provenance._Credits({})
    credits.index(names)
    lines = sents.filter(pl.col("doc_id").is_in(doc_ids.implode())).select("doc_id", "text")
    # a line naming an outlet holds its longest word (names of up to five characters in their case, as
    # ``_Credits`` reads them): one cheap pass before the reading
    longest = {
        (max(ws, key=len), len(n.strip()) > 5)
        for n in names
        if provenance._nameable(n) and (ws := provenance._NAME_TOKEN.findall(n))
    }
    if all(w.isascii() for w, _ in longest):
        text = pl.col("text")
        holds = [
            text.str.contains_any(
                sorted(w for w, anycase in longest if anycase == case), ascii_case_insensitive=case
            )
            for case in (False, True)
            if any(anycase == case for _, anycase in longest)
        ]
        lines = lines.filter(pl.any_horizontal(holds)) if holds else lines.clear()
    hits = {
        d for d, t in lines.rows() if ("(" in t or provenance._CREDIT_CUE.search(t)) and credits.credited(t)
    }
    return pl.Series("doc_id", sorted(hits), dtype=pl.String)


def _row_hashes(frame: pl.DataFrame) -> pl.Expr:
    """A hash of each row of ``frame`` (every column; string columns hashed first, which is faster
    than hashing them inside the row)."""
    cols = [
        pl.col(c).hash(_SEED + i) if t == pl.String else pl.col(c)
        for i, (c, t) in enumerate(frame.schema.items())
    ]
    return pl.struct(cols).hash(_SEED)


def _per_key(frame: pl.DataFrame, key: list[str], name: str) -> pl.DataFrame:
    """(key, name): a digest per ``key`` of its rows, whatever their order (the wrapping sum of the
    rows' hashes)."""
    return frame.select(*key, _row_hashes(frame).alias(name)).group_by(key).agg(pl.col(name).sum())


def doc_digests(docs: pl.DataFrame, sents: pl.DataFrame, flags: pl.DataFrame) -> pl.DataFrame:
    """(doc_id, digest): a digest of each document's row, its sentences and their flags (quotation,
    matchable)."""
    d = docs.select("doc_id", _row_hashes(docs).alias("_d"))
    # the sentences' own columns (their normalised text, its hash and tokens are functions of the text
    # under the code the key names; their outlet and date are the document's)
    own = [
        c
        for c in ("sentence_id", "doc_id", "index", "paragraph", "start", "end", "text")
        if c in sents.columns
    ]
    s = _per_key(sents.select(own), ["doc_id"], "_s")
    # the flags the tables read (the counts behind ``is_common`` change with the corpus; what they
    # decide, ``matchable``, is read)
    f = _per_key(flags.select("doc_id", "sentence_id", "is_quote", "matchable"), ["doc_id"], "_f")
    out = d.join(s, on="doc_id", how="left").join(f, on="doc_id", how="left")
    return out.select("doc_id", pl.struct("_d", "_s", "_f").hash(_SEED).alias("digest")).cast(
        DOC_DIGEST_SCHEMA
    )


def pair_digests(matches: pl.DataFrame) -> pl.DataFrame:
    """(doc_id_a, doc_id_b, digest): a digest of each document pair's match rows (every column)."""
    return _per_key(matches, ["doc_id_a", "doc_id_b"], "digest").cast(PAIR_DIGEST_SCHEMA)


@dataclass
class DerivedState:
    """The last run's digests and key, a reader of its stored rows, and this run's digests.

    ``load(table, column, doc_ids)``: the stored rows of ``table`` whose ``column`` is not among
    ``doc_ids`` (the stage reads them from the working database's marts)."""

    key: str | None = None
    docs: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DOC_DIGEST_SCHEMA))
    pairs: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PAIR_DIGEST_SCHEMA))
    load: Callable[[str, str, pl.Series], pl.DataFrame] | None = None
    code: str = ""
    outlets: list[str] | None = None
    new_outlets: list[str] | None = None
    # this run's, to be stored once its marts are written
    new_key: str | None = None
    new_docs: pl.DataFrame | None = None
    new_pairs: pl.DataFrame | None = None
    stats: dict[str, Any] = field(default_factory=dict)


def _changed(new: pl.DataFrame, old: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Rows of ``new`` and ``old`` (same columns) whose key is in one only or whose digest differs."""
    return pl.concat(
        [new.join(old, on=[*key, "digest"], how="anti"), old.join(new, on=[*key, "digest"], how="anti")]
    ).select(key)


def affected_scope(
    state: DerivedState,
    cfg: OverlapConfig,
    docs: pl.DataFrame,
    sents: pl.DataFrame,
    flags: pl.DataFrame,
    matches: pl.DataFrame,
    linked: pl.DataFrame,
) -> pl.Series | None:
    """The documents whose rows are recomputed (the components of ``linked``'s document graph holding
    an affected document, and the documents gone since the last run), or None to recompute everything
    (no stored state, or another key). Sets ``state``'s new digests and key."""
    state.new_key = derived_key(cfg, state.code)
    state.new_outlets = outlet_names(docs)
    state.new_docs = doc_digests(docs, sents, flags)
    state.new_pairs = pair_digests(matches)
    if state.key is None or state.key != state.new_key or state.load is None:
        state.stats = {
            "recomputed": "all",
            "reason": "no stored state" if state.key is None else "key changed",
        }
        return None
    changed_pairs = _changed(state.new_pairs, state.pairs, ["doc_id_a", "doc_id_b"])
    touched = pl.concat(
        [
            _changed(state.new_docs, state.docs, ["doc_id"])["doc_id"],
            changed_pairs["doc_id_a"],
            changed_pairs["doc_id_b"],
        ]
    ).unique()
    nodes = docs.select("doc_id").sort("doc_id").with_row_index("node")
    edges = linked.select("doc_id_a", "doc_id_b").unique()
    ea = node_ids(edges, "doc_id_a", "doc_id", nodes).astype(np.int64)
    eb = node_ids(edges, "doc_id_b", "doc_id", nodes).astype(np.int64)
    comp = nodes.with_columns(pl.Series("comp", components(ea, eb, nodes.height)))
    hit = comp.filter(pl.col("doc_id").is_in(touched.implode()))["comp"].unique()
    # outlets that joined or left: the documents whose credit lines name them (only credit lines of
    # linked documents are read, and those of components recomputed anyway need no reading)
    diff = sorted(set(state.new_outlets) ^ set(state.outlets or []))
    if diff:
        linked_docs = pl.concat([linked["doc_id_a"], linked["doc_id_b"]]).unique()
        rest = comp.filter(
            pl.col("doc_id").is_in(linked_docs.implode()) & ~pl.col("comp").is_in(hit.implode())
        )
        naming = naming_documents(diff, sents, rest["doc_id"])
        touched = pl.concat([touched, naming]).unique()
        hit = pl.concat([hit, rest.filter(pl.col("doc_id").is_in(naming.implode()))["comp"]]).unique()
    scope = comp.filter(pl.col("comp").is_in(hit.implode()))["doc_id"]
    gone = state.docs.join(docs.select("doc_id"), on="doc_id", how="anti")["doc_id"]
    state.stats = {
        "recomputed": int(scope.len()),
        "kept": int(docs.height - scope.len()),
        "touched": int(touched.len()),
        "gone": int(gone.len()),
        "outlets_changed": len(diff),
    }
    return pl.concat([scope, gone]).unique()


def merged(state: DerivedState, name: str, computed: pl.DataFrame, scope: pl.Series) -> pl.DataFrame:
    """``computed`` (the rows of the documents in ``scope``) with the stored rows of the others."""
    column, order = DERIVED_TABLES[name]
    assert state.load is not None
    kept = state.load(name, column, scope)
    kept = kept.select(computed.columns).cast(computed.schema)
    return pl.concat([computed, kept]).sort(list(order))


# ------------------------------------------------------------------ kept in the working database

#: schema of the working database holding the last run's digests and key (never published): written
#: by the overlap stage after its marts, dropped before they are rewritten
STATE_SCHEMA = "overlap_derived"


def attach_derived(con: Any, store: Any, code: str) -> None:
    """Give ``store`` a :class:`DerivedState` read from the working database ``con``: the digests and
    key the last run stored with its marts (none when absent), and a reader of the marts' rows."""
    state = DerivedState(code=code)
    try:
        rows = con.execute(f"SELECT key FROM {STATE_SCHEMA}.key").fetchall()
        if len(rows) == 1:
            state.docs = con.sql(f"SELECT doc_id, digest FROM {STATE_SCHEMA}.doc_digests").pl()
            state.pairs = con.sql(f"SELECT doc_id_a, doc_id_b, digest FROM {STATE_SCHEMA}.pair_digests").pl()
            state.outlets = [r[0] for r in con.sql(f"SELECT name FROM {STATE_SCHEMA}.outlets").fetchall()]
            state.key = rows[0][0]
    except Exception:  # noqa: BLE001 - no stored state (a first run, or one written by older code)
        state.key = None

    def load(table: str, column: str, doc_ids: pl.Series) -> pl.DataFrame:
        con.register("_derived_scope", pl.DataFrame({"doc_id": doc_ids}).to_arrow())
        try:
            return con.sql(
                f'SELECT t.* FROM marts."{table}" t ANTI JOIN _derived_scope s ON t."{column}" = s.doc_id'
            ).pl()
        finally:
            con.unregister("_derived_scope")

    state.load = load
    store.derived = state


def drop_derived(con: Any) -> None:
    """Forget the stored state (before the marts it describes are replaced)."""
    con.execute(f"DROP SCHEMA IF EXISTS {STATE_SCHEMA} CASCADE")


def write_derived(con: Any, store: Any) -> None:
    """Store this run's digests and key (after its marts are written)."""
    state = getattr(store, "derived", None) if store is not None else None
    if state is None or state.new_key is None or state.new_docs is None or state.new_pairs is None:
        return
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    for name, frame in (("doc_digests", state.new_docs), ("pair_digests", state.new_pairs)):
        con.register("_derived_rows", frame.to_arrow())
        try:
            con.execute(f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.{name} AS SELECT * FROM _derived_rows")
        finally:
            con.unregister("_derived_rows")
    con.execute(f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.outlets (name VARCHAR)")
    con.executemany(f"INSERT INTO {STATE_SCHEMA}.outlets VALUES (?)", [[o] for o in state.new_outlets or []])
    con.execute(f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.key (key VARCHAR)")
    con.execute(f"INSERT INTO {STATE_SCHEMA}.key VALUES (?)", [state.new_key])
