"""Sub-commands of the wiretrace command line (one module each, see pipeline.cli)."""
