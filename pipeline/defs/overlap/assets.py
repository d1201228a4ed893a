"""Overlap assets: sentences -> graded matches, clusters, passages, document pairs, originality, stories."""

import dagster as dg

from pipeline.core import tables
from pipeline.core.runlog import record_stage
from pipeline.core.stages import stage_overlap
from pipeline.defs.resources import DUCKDB_POOL, RETRY, WiretraceResource
from pipeline.defs.segment.assets import SENTENCES
from pipeline.defs.util import md_preview, released_on_failure, stage_progress, table_spec

OVERLAP_KEYS = {name: dg.AssetKey(["marts", name]) for name in tables.OVERLAP_TABLES}
#: the values the stage keeps between runs (working database only; see pipeline.core.overlap.store)
STORE_KEYS = {name: dg.AssetKey(name.split(".")) for name in tables.OVERLAP_CACHE_TABLES}
#: the store's reuse counts reported with each table: (part of the store's stats, value)
_STORE_COUNTS = {
    "cache.minhash_signatures": ((), "signatures"),
    "cache.graded_pairs": ((), "grades"),
    "cache.sentence_traits": (("index",), "traits"),
    "cache.word_tokens": (("index",), "tokens"),
    "cache.lsh_pairs": (("index",), "lsh_pairs"),
    "cache.rare_doc_pairs": (("index",), "rare_doc_pairs"),
    "cache.static_vectors": (("semantic",), "static_vectors"),
}


#: the index the overlap steps keep (sentence traits, words, LSH banding, rare-word blocking, the semantic
#: tier's static vectors): a group of its own
INDEX_GROUP = "overlap_index"
_GROUPS = {
    name: "overlap" if name in ("cache.minhash_signatures", "cache.graded_pairs") else INDEX_GROUP
    for name in STORE_KEYS
}


@dg.multi_asset(
    specs=[
        table_spec(key, f"marts.{name}", deps=[SENTENCES], group_name="overlap")
        for name, key in OVERLAP_KEYS.items()
    ]
    + [table_spec(key, name, deps=[SENTENCES], group_name=_GROUPS[name]) for name, key in STORE_KEYS.items()],
    name="overlap",
    retry_policy=RETRY,
    pool=DUCKDB_POOL,
)
def overlap(context: dg.AssetExecutionContext, wiretrace: WiretraceResource):
    with wiretrace.connect() as con, stage_progress(context) as progress:
        with released_on_failure():  # a retry must not find the failed attempt's frames still held
            res = stage_overlap(con, progress, encoder="auto" if wiretrace.semantic else None)
        record_stage(con, context.run_id, res)
        for note in res.notes:
            context.log.warning(note)
        context.log.info(f"overlap: {res.counts}")
        for name, key in OVERLAP_KEYS.items():
            metadata = {"rows": res.counts.get(name, 0)}
            if name == "sentence_matches":
                metadata["by_kind"] = md_preview(
                    con, "SELECT kind, count(*) AS matches FROM marts.sentence_matches GROUP BY 1 ORDER BY 1"
                )
            if name == "sentence_clusters":
                metadata["most_republished"] = md_preview(
                    con,
                    # the ten largest clusters first, then the text of their origin sentence only
                    """WITH top AS (
                           SELECT cluster_id, count(DISTINCT doc_id) AS documents,
                                  any_value(sentence_id) FILTER (WHERE is_origin) AS origin_id,
                                  any_value(origin_status) AS origin_status
                           FROM marts.sentence_clusters GROUP BY cluster_id
                           ORDER BY documents DESC, cluster_id LIMIT 10)
                       SELECT t.documents, s.text AS origin_text, t.origin_status
                       FROM top t LEFT JOIN staging.sentences s ON s.sentence_id = t.origin_id
                       ORDER BY t.documents DESC, t.cluster_id""",
                    limit=10,
                )
            if name == "document_pairs":
                metadata["preview"] = md_preview(con, "SELECT * FROM marts.document_pairs")
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
        store = res.extra.get("store") or {}
        for name, key in STORE_KEYS.items():
            metadata = {"rows": con.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]}
            if name in _STORE_COUNTS:
                part, value = _STORE_COUNTS[name]
                stats = (store.get(part[0]) or {}) if part else store
                metadata["reused"] = (stats.get("reused") or {}).get(value, 0)
                metadata["computed"] = (stats.get("computed") or {}).get(value, 0)
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
