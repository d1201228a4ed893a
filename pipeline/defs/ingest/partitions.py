from __future__ import annotations

import dagster as dg

# one partition per batch of new landing files found by the sensor (not one per file)
batches = dg.DynamicPartitionsDefinition(name="batches")
