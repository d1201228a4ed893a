"""Plain-Python core of wiretrace: no Dagster imports here."""
