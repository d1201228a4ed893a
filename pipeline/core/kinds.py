"""The kinds of sentence match and their order, defined once.

A matched sentence pair is ``exact`` (identical after normalisation), ``near`` (the same sentence with
small edits) or ``paraphrase`` (the same statement reworded), strongest first. Everything that ranks,
counts or sorts matches by kind (the grader, the overlap stage, provenance, the analyst views, the
reports) takes the order from here.
"""

from __future__ import annotations

__all__ = ["MATCH_KINDS", "KIND_RANK", "KIND_ORDER", "kind_order_sql"]

#: the kinds of match, strongest first
MATCH_KINDS: tuple[str, ...] = ("exact", "near", "paraphrase")

#: strength of a kind: higher is stronger (exact 3, near 2, paraphrase 1)
KIND_RANK: dict[str, int] = {kind: len(MATCH_KINDS) - i for i, kind in enumerate(MATCH_KINDS)}

#: position of a kind, strongest first (exact 0, near 1, paraphrase 2): a sort key
KIND_ORDER: dict[str, int] = {kind: i for i, kind in enumerate(MATCH_KINDS)}


def kind_order_sql(column: str = "kind") -> str:
    """SQL sort key of ``column`` (a column name of the project's own SQL, never user data): the
    position in ``MATCH_KINDS``, strongest first; any other value sorts last."""
    whens = " ".join(f"WHEN '{kind}' THEN {i}" for kind, i in KIND_ORDER.items())
    return f"CASE {column} {whens} ELSE {len(MATCH_KINDS)} END"
