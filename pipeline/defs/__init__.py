"""Dagster layer: one folder per stage; every asset calls a plain function of ``pipeline.core.stages``."""
