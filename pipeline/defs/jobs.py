"""Jobs: a batch run (ingest one batch, then everything downstream) and the corpus refresh."""

from __future__ import annotations

import dagster as dg

from pipeline.defs.ingest.partitions import batches

# ingest is partitioned by batch; everything downstream is corpus-wide and unpartitioned
process_batch_job = dg.define_asset_job(
    "process_batch",
    selection=dg.AssetSelection.all(),
    partitions_def=batches,
    description="Ingest one batch of landing files, then clean, segment, overlap and publish.",
)

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.groups("clean", "segment", "overlap", "overlap_index", "publish"),
    description="Re-learn templates, re-clean what they changed, recompute overlap and republish.",
)
