"""Per-source template learning and its use by clean_document."""

from __future__ import annotations

import json

import pytest

from pipeline import clean_document
from pipeline.core.clean import reconstruct
from pipeline.core.templates import SourceTemplates, learn_templates, line_key, normalise_line

WIRE = (
    "The central bank raised its key interest rate by half a point on Thursday, citing persistent inflation."
)
FOOTER_A = "The Valley Courier has served readers in the north since 1998 and is owned by its staff."
PITCH_A = "Got a tip? Write to the Courier desk and tell us what is happening in your town."


def article(i: int, extra: list[str]) -> str:
    body = [
        f"Story number {i} begins with a sentence that no other story shares, about topic {i * 7}.",
        f"A second paragraph mentions {i} people who attended the meeting in the town hall.",
    ]
    return "\n\n".join(body + extra)


def corpus() -> list[tuple[str, str]]:
    docs = []
    for i in range(8):
        extra = [FOOTER_A, f"© {2010 + i} The Valley Courier"] + ([PITCH_A] if i < 2 else [])
        if i == 3:
            extra.insert(0, WIRE)
        docs.append(("courier.example", article(i, extra)))
    for i in range(8, 14):
        docs.append(("gazette.example", article(i, [WIRE] if i % 2 else [])))
    for i in range(14, 17):  # a source with too few documents
        docs.append(
            ("tiny.example", article(i, ["Tiny Times: the smallest paper in the county, every week."]))
        )
    return docs


def test_normalisation_makes_dates_and_case_match():
    assert normalise_line("  © 2019  The  Courier. ") == normalise_line("© 2020 the courier")
    assert line_key("© 2019 The Courier") == line_key("© 2020 THE COURIER")
    assert line_key("12 34") is None
    # other numbers are kept: formulaic sentences with different figures are different lines
    assert line_key("The index fell 120 points on Monday.") != line_key("The index fell 35 points on Monday.")
    assert line_key("") is None


def test_learns_recurring_lines_per_source():
    t = learn_templates(corpus(), min_docs=5, min_share=0.5)
    assert t.is_template("courier.example", FOOTER_A)
    assert t.is_template("courier.example", "© 2031 The Valley Courier")  # digits normalised
    # below min_share (2 of 8 documents)
    assert not t.is_template("courier.example", PITCH_A)
    # a wire paragraph shared with another source is never a template, in either source
    assert not t.is_template("courier.example", WIRE)
    assert not t.is_template("gazette.example", WIRE)
    # ordinary article lines are not templates
    assert not t.is_template("courier.example", article(0, []).split("\n\n")[0])
    # a source with fewer than min_docs documents learns nothing
    assert t.sources["tiny.example"].n_docs == 3
    assert not t.is_template("tiny.example", "Tiny Times: the smallest paper in the county, every week.")
    # templates are per source
    assert not t.is_template("gazette.example", FOOTER_A)
    assert not t.is_template("unknown.example", FOOTER_A)


def test_min_share_lower_threshold_picks_up_less_frequent_lines():
    t = learn_templates(corpus(), min_docs=2, min_share=0.2)
    assert t.is_template("courier.example", PITCH_A)


def test_json_round_trip(tmp_path):
    t = learn_templates(corpus(), min_docs=5, min_share=0.5)
    again = SourceTemplates.from_json(t.to_json())
    assert again == t
    assert again.to_json() == t.to_json()
    path = tmp_path / "templates.json"
    t.save(path)
    assert SourceTemplates.load(path) == t
    d = json.loads(path.read_text())
    assert d["sources"]["courier.example"]["n_docs"] == 8
    assert FOOTER_A[:40] in [v["example"][:40] for v in d["sources"]["courier.example"]["lines"].values()]
    with pytest.raises(ValueError):
        SourceTemplates.from_json('{"sources": {}}')


def test_bad_parameters():
    with pytest.raises(ValueError):
        learn_templates([], min_docs=1)
    with pytest.raises(ValueError):
        learn_templates([], min_share=0)


def test_clean_document_removes_template_lines_of_its_source_only():
    t = learn_templates(corpus(), min_docs=5, min_share=0.5)
    text = article(99, [WIRE, FOOTER_A])
    r = clean_document(text, source="courier.example", templates=t)
    assert reconstruct(r) == r.input_text
    assert [(s.reason, s.stage, s.text) for s in r.removed] == [("template", "template", FOOTER_A)]
    assert WIRE in r.text
    # other source, or no source given: nothing removed
    for kwargs in ({"source": "gazette.example", "templates": t}, {"templates": t}, {}):
        assert clean_document(text, **kwargs).removed == []


def test_duplicate_documents_are_counted_once():
    doc = article(
        1, ["A paragraph that only this one story has, repeated because the page was fetched twice."]
    )
    t = learn_templates([("dup.example", doc)] * 10, min_docs=5, min_share=0.3)
    assert t.sources["dup.example"].n_docs == 1
    assert t.sources["dup.example"].lines == {}


def test_documents_are_cleaned_again_when_their_source_learns_a_template(tmp_path):
    """A line becomes a template only once enough documents of the source carry it; the documents ingested
    before that are then cleaned again, so the line leaves every one of them, not only the new ones."""
    from pipeline.core import warehouse
    from pipeline.core.stages import stage_clean, stage_ingest, stage_segment

    landing = tmp_path / "landing"
    landing.mkdir()

    def write_batch(name: str, numbers: range) -> None:
        records = [{"id": f"c{i}", "source": "Courier", "text": article(i, [PITCH_A])} for i in numbers]
        (landing / name).write_text("\n".join(json.dumps(r) for r in records) + "\n")

    def texts_with_pitch(con) -> list[str]:
        return [
            r[0]
            for r in con.sql(
                "SELECT doc_id FROM staging.clean_documents WHERE text LIKE '%Write to the Courier desk%' ORDER BY 1"
            ).fetchall()
        ]

    con = warehouse.connect(tmp_path / "work.duckdb")
    try:
        write_batch("first.jsonl", range(3))  # three documents: too few for a template (min_docs=5)
        stage_ingest(con, landing)
        stage_clean(con)
        stage_segment(con)
        first = texts_with_pitch(con)
        assert len(first) == 3
        write_batch("second.jsonl", range(3, 6))  # six documents carry the pitch now: a template
        stage_ingest(con, landing)
        stage_clean(con)
        stage_segment(con)
        assert texts_with_pitch(con) == []
        removed = con.sql(
            "SELECT count(DISTINCT doc_id) FROM staging.removed_spans WHERE reason = 'template'"
        ).fetchall()[0][0]
        assert removed == 6
        # the sentences follow the text cleaned again
        pitch = con.sql("SELECT count(*) FROM staging.sentences WHERE text LIKE '%Courier desk%'").fetchall()
        assert pitch == [(0,)]
    finally:
        con.close()
