"""Evaluation and benchmark scripts (read ../shared/data; skip when absent)."""
