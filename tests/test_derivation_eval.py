"""The derivation evaluation's scoring rules (the generator needs the shared corpus; the scorer does not)."""

from types import SimpleNamespace

import polars as pl

from pipeline.evaluation.derivation import ABSENT_NOTE, score


def _result(
    sources: dict,
    directed: list[tuple[str, str, str]],
    withheld: list[tuple[str, str]] = (),
    same_text: list[tuple[str, str]] = (),
):
    """A result with the given inferred sources and directed pairs; ``withheld``: undetermined pairs
    whose evidence names a credit line to an outlet outside the story; ``same_text``: undetermined
    pairs whose two texts hold (nearly) the same text both ways."""
    pairs = (
        [
            {
                "doc_id_a": min(x, y),
                "doc_id_b": max(x, y),
                "direction": "a->b" if x < y else "b->a",
                "direction_basis": basis,
                "direction_evidence": f"{basis}: ...",
                "in_story": True,
            }
            for x, y, basis in directed
        ]
        + [
            {
                "doc_id_a": min(x, y),
                "doc_id_b": max(x, y),
                "direction": "undetermined",
                "direction_basis": "none",
                "direction_evidence": f"dates put A first, but A's credit line names 'Reuters', {ABSENT_NOTE}: ...",
                "in_story": True,
            }
            for x, y in withheld
        ]
        + [
            {
                "doc_id_a": min(x, y),
                "doc_id_b": max(x, y),
                "direction": "undetermined",
                "direction_basis": "none",
                "direction_evidence": "dates do not order them; text does not decide",
                "in_story": True,
                "containment_a_in_b": 0.9,
                "containment_b_in_a": 0.85,
            }
            for x, y in same_text
        ]
    )
    for p in pairs:
        p.setdefault("containment_a_in_b", 0.5)
        p.setdefault("containment_b_in_a", 0.5)
    return SimpleNamespace(
        document_originality=pl.DataFrame(
            {"doc_id": list(sources), "inferred_source_doc_id": list(sources.values())},
            schema={"doc_id": pl.String, "inferred_source_doc_id": pl.String},
        ),
        document_pairs=pl.DataFrame(pairs),
    )


TRUTH = {
    # chain a -> b -> c; original o with siblings s1, s2; m1, m2 copies of an original missing from the corpus
    "parent": {"a": None, "b": "a", "c": "b", "o": None, "s1": "o", "s2": "o", "m1": None, "m2": None},
    "shape": {
        "a": "chain",
        "b": "chain",
        "c": "chain",
        "o": "siblings",
        "s1": "siblings",
        "s2": "siblings",
        "m1": "missing",
        "m2": "missing",
    },
    "missing_original": {"m1", "m2"},
    "story": {"a": "x", "b": "x", "c": "x", "o": "y", "s1": "y", "s2": "y", "m1": "z", "m2": "z"},
}


def test_only_the_direct_parent_is_the_right_source_but_any_ancestor_gives_a_right_direction():
    r = _result(
        {"a": None, "b": "a", "c": "a", "o": None, "s1": "o", "s2": None, "m1": None, "m2": None},
        [("a", "b", "dates"), ("a", "c", "dates"), ("o", "s1", "union")],
    )
    s = score(r, TRUTH)
    assert s["derived_present"] == 4
    assert (s["right"], s["wrong"], s["undetermined"]) == (0.5, 0.25, 0.25)
    assert s["wrong_directions"] == 0 and s["directed_pairs"] == 3


def test_directions_between_siblings_and_between_copies_of_a_missing_original_are_wrong():
    r = _result(
        {"a": None, "b": "a", "c": "b", "o": None, "s1": "o", "s2": "s1", "m1": None, "m2": "m1"},
        [("s1", "s2", "dates"), ("m1", "m2", "dates"), ("c", "b", "union")],
    )
    s = score(r, TRUTH)
    assert s["wrong_directions"] == 3 and s["wrong_direction_share"] == 1.0
    assert s["by_group"]["missing"] == (1, 1) and s["by_group"]["present"] == (2, 2)
    assert s["missing_given_a_source"] == 1
    assert s["per_basis"]["dates"] == (2, 0.0)


def test_directions_withheld_for_a_credit_to_an_outlet_outside_the_story_are_counted_by_descent():
    # b descends from a (a direction there could have been right); m1 and m2 are copies of a missing
    # original and s1, s2 siblings (a direction there would have been wrong)
    r = _result({d: None for d in TRUTH["parent"]}, [], withheld=[("a", "b"), ("m1", "m2"), ("s1", "s2")])
    s = score(r, TRUTH)
    assert s["withheld_absent"] == (3, 1)
    assert s["directed_pairs"] == 0


def test_undetermined_sources_of_copies_holding_their_parents_text_and_two_document_stories_are_counted():
    # b and its parent a hold the same text both ways; s1 and o do not; m1 -> m2 is a wrong direction in
    # a story of two documents, s1 -> s2 one in a story of three
    r = _result(
        {d: None for d in TRUTH["parent"]},
        [("m1", "m2", "dates"), ("s1", "s2", "dates")],
        same_text=[("a", "b")],
    )
    s = score(r, TRUTH)
    assert s["undetermined_same_text"] == 1
    assert s["wrong_in_two_document_stories"] == 1 and s["wrong_directions"] == 2


def test_a_rerun_rewrites_the_figures_and_keeps_the_dated_notes(tmp_path, monkeypatch):
    from pipeline.evaluation import common

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    assert common.with_notes("x", "# new figures\n") == "# new figures\n"
    (tmp_path / "x.md").write_text(f"# old figures\n\n{common.NOTES_MARK}\n\n## 2026-11-29: a change\n")
    assert common.with_notes("x", "# new figures\n") == (
        f"# new figures\n\n{common.NOTES_MARK}\n\n## 2026-11-29: a change\n"
    )
