"""Provenance: direction, evidence and confidence of reuse, with and without dates."""

import json
import re
from datetime import datetime as D

import duckdb
import polars as pl
import pytest

from pipeline.core import provenance
from pipeline.core.overlap import compute_overlap
from pipeline.core.provenance import CONFIDENCE, date_intervals, reuse_only
from pipeline.evaluation.derivation import ABSENT_NOTE
from tests.test_overlap import EDITED, STORY, UNRELATED, _pair, frames

# ------------------------------------------------------------------------------------------ rules


def test_the_documented_direction_rules_are_the_rules_applied_in_that_order():
    section = provenance.__doc__.split("Rules, in order")[1].split("Undetermined directions")[0]
    documented = re.findall(r"^(\d+)\. ``(\w+)``", section, flags=re.MULTILINE)
    assert [int(n) for n, _ in documented] == list(range(1, len(provenance.PAIR_RULES) + 1))
    assert [name for _, name in documented] == [rule.name for rule in provenance.PAIR_RULES]
    # each rule's own docstring gives its place in the list
    for i, rule in enumerate(provenance.PAIR_RULES, start=1):
        assert rule.apply.__doc__.startswith(f"Rule {i}: "), rule.name
    # the signals of the ``signals`` rule, in the order they are read
    listed = re.search(r"``signals``: (.+?) \(``SIGNALS``", section).group(1)
    assert re.split(r", | and ", listed) == list(provenance.SIGNALS)


# ------------------------------------------------------------------------------------------ dates


def test_date_only_values_are_days_and_close_days_are_not_ordered():
    docs = pl.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d", "e"],
            "published_at": [
                D(2021, 8, 22),
                D(2021, 8, 22),
                D(2021, 8, 23),
                D(2021, 8, 24),
                D(2021, 8, 22, 9),
            ],
            "published_at_precision": ["day", "day", "day", "day", "time"],
        }
    )
    iv = {r["doc_id"]: r for r in date_intervals(docs).to_dicts()}
    assert iv["a"]["t_lo"] < D(2021, 8, 22) < D(2021, 8, 23) < iv["a"]["t_hi"]
    assert iv["e"]["t_lo"] == iv["e"]["t_hi"] == D(2021, 8, 22, 9)
    # without a precision column, midnight means a date only
    nd = date_intervals(docs.drop("published_at_precision"))
    assert nd["precision"].to_list() == ["day", "day", "day", "day", "time"]


def _two(pub_a, prec_a, pub_b, prec_b):
    """A wire text and a copy that took part of it, with the given dates."""
    d, s = frames(
        {
            "wire": ("Wire", pub_a, STORY[:6]),
            "copy": ("Copier", pub_b, STORY[:4] + UNRELATED[:1]),
        }
    )
    d = d.with_columns(pl.Series("published_at_precision", [prec_a, prec_b], dtype=pl.String))
    return _pair(compute_overlap(d, s, encoder=None), "copy", "wire")


def test_same_day_at_day_precision_is_not_ordered_but_times_with_zones_are():
    p = _two(D(2021, 8, 22), "day", D(2021, 8, 22), "day")
    assert p["direction"] == "undetermined" and p["direction_basis"] == "none"
    p = _two(D(2021, 8, 22, 9), "time", D(2021, 8, 22, 15), "time")
    assert p["direction"] == "b->a" and p["direction_basis"] == "dates"
    assert p["direction_confidence"] == CONFIDENCE["dates_time"]
    # a time without zone could be 12 hours either way
    p = _two(D(2021, 8, 22, 9), "local_time", D(2021, 8, 22, 15), "local_time")
    assert p["direction"] == "undetermined"
    p = _two(D(2021, 8, 20), "day", D(2021, 8, 23), "day")
    assert p["direction"] == "b->a" and p["direction_confidence"] == CONFIDENCE["dates"]
    # a time orders more surely than a day
    assert CONFIDENCE["dates"] < CONFIDENCE["dates_time"] < 1
    assert "date only" in p["direction_evidence"]


def test_two_undated_versions_alone_are_undetermined():
    p = _two(None, None, None, None)
    assert p["direction"] == "undetermined" and p["direction_confidence"] is None
    assert p["in_story"] is True


# ------------------------------------------------------------------------------------------ text


LOCAL = [
    "The regional airport will close its second runway for repairs during the whole of next spring.",
    "Farmers in the northern valleys expect a late harvest after weeks of unusually cold and wet weather.",
    "A new cycling path along the river opened on Saturday with a small ceremony attended by the mayor.",
    "The local football club signed a young goalkeeper from a rival team on a three-year contract.",
    "Volunteers collected more than two tonnes of litter from the beaches over the long holiday weekend.",
]


def _wire_and_copies(dates=None, extra=None):
    """An undated wire story (8 sentences) copied in different parts by three sites."""
    dates = dates or {}
    spec = {
        "w": ("Wire", dates.get("w"), STORY),
        "c1": ("One", dates.get("c1"), STORY[:4] + LOCAL[:2]),
        "c2": ("Two", dates.get("c2"), STORY[2:6] + LOCAL[2:3]),
        "c3": ("Three", dates.get("c3"), STORY[5:8] + LOCAL[3:4]),
    }
    spec.update(extra or {})
    d, s = frames(spec)
    return compute_overlap(d, s, encoder=None)


def test_the_document_holding_the_union_is_the_source_without_dates():
    r = _wire_and_copies()
    for c in ("c1", "c2", "c3"):
        p = _pair(r, c, "w")
        assert p["direction"] == "b->a" and p["direction_basis"] == "union", c
        assert p["direction_confidence"] == pytest.approx(0.6)
        assert "taken by" in p["direction_evidence"]
    # copies sharing the wire's text are siblings, not one another's source
    p = _pair(r, "c1", "c2")
    assert p["direction"] == "undetermined" and p["common_source_doc_id"] == "w"
    orig = {x["doc_id"]: x for x in r.document_originality.to_dicts()}
    assert orig["w"]["share_original"] == 1.0 and orig["w"]["inferred_source_doc_id"] is None
    assert {orig[c]["inferred_source_doc_id"] for c in ("c1", "c2", "c3")} == {"w"}


def test_dates_between_siblings_do_not_make_one_the_source_of_the_other():
    r = _wire_and_copies(dates={"c1": D(2021, 8, 20), "c2": D(2021, 8, 25)})
    p = _pair(r, "c1", "c2")
    assert p["direction"] == "undetermined" and p["direction_basis"] == "common_source"


def test_a_copy_of_a_copy_is_not_a_sibling():
    # c4 took c1's version, including the lines c1 added: it shares c1's changes, so no common source
    extra = {"c4": ("Four", None, STORY[:3] + LOCAL[:2] + LOCAL[4:5])}
    r = _wire_and_copies(extra=extra)
    p = _pair(r, "c1", "c4")
    assert p["direction_basis"] != "common_source"


def test_credit_line_names_the_source():
    d, s = frames(
        {
            "wire": ("Reuters", None, STORY[:6]),
            "copy": (
                "Blog",
                None,
                ["The report was first published by Reuters news agency today."] + STORY[:4],
            ),
        }
    )
    r = compute_overlap(d, s, encoder=None)
    p = _pair(r, "copy", "wire")
    assert p["direction"] == "b->a" and p["direction_basis"] == "credit"
    assert "'Reuters'" in p["direction_evidence"]


def test_conflicting_evidence_is_undetermined():
    # the copy credits the wire, but claims to be published two days before it
    d, s = frames(
        {
            "wire": ("Reuters", D(2021, 8, 24), STORY[:6]),
            "copy": (
                "Blog",
                D(2021, 8, 20),
                ["The report was first published by Reuters news agency today."] + STORY[:4],
            ),
        }
    )
    p = _pair(compute_overlap(d, s, encoder=None), "copy", "wire")
    assert p["direction"] == "undetermined" and p["direction_basis"] == "conflict"
    assert "dates" in p["direction_evidence"] and "credit" in p["direction_evidence"]


def test_reuse_only_keeps_reuse_rows_when_matches_are_classified():
    m = pl.DataFrame(
        {
            "relation": ["reuse", "same_fact", "quote", "stock"],
            "kind": ["near", "paraphrase", "exact", "exact"],
            "is_quote": [False, False, True, False],
        }
    )
    assert reuse_only(m)["relation"].to_list() == ["reuse", "quote"]
    assert reuse_only(m.drop("relation")).height == 4


# ------------------------------------------------------------------------------------------ sample corpus


@pytest.fixture(scope="module")
def pub(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse / "wiretrace.duckdb"), read_only=True)
    yield con
    con.close()


def _ids(pub):
    return {s: d for d, s in pub.sql("SELECT doc_id, source FROM raw.documents").fetchall()}


def test_sample_afp_is_the_origin_and_the_source_of_every_copy(pub):
    ids = _ids(pub)
    src = dict(
        pub.sql(
            """SELECT d.source, s.source FROM marts.document_originality o JOIN raw.documents d USING (doc_id)
               LEFT JOIN raw.documents s ON s.doc_id = o.inferred_source_doc_id"""
        ).fetchall()
    )
    assert src == {
        "AFP": None,
        "Press TV": "AFP",
        "Washington Newsday": "AFP",
        "AceNewsDesk": "AFP",
        "unknown": None,
    }
    afp = pub.execute(
        "SELECT share_original FROM marts.document_originality WHERE doc_id = ?", [ids["AFP"]]
    ).fetchall()
    assert afp[0][0] >= 0.9
    # every inferred sentence-cluster origin in the story is AFP's
    origins = pub.sql(
        "SELECT DISTINCT origin_source FROM marts.top_republished_sentences WHERE origin_status = 'inferred'"
    ).fetchall()
    assert origins == [("AFP",)]


def test_sample_no_direction_between_two_copies_of_afp(pub):
    ids = _ids(pub)
    rows = pub.sql(
        """SELECT da.source, db.source, p.direction, p.direction_basis, p.common_source_doc_id, p.direction_evidence
           FROM marts.document_pairs p JOIN raw.documents da ON da.doc_id = p.doc_id_a
           JOIN raw.documents db ON db.doc_id = p.doc_id_b"""
    ).fetchall()
    pairs = {frozenset((a, b)): (d, basis, cs, ev) for a, b, d, basis, cs, ev in rows}
    for copy in ("Press TV", "Washington Newsday", "AceNewsDesk"):
        d, basis, _cs, ev = pairs[frozenset(("AFP", copy))]
        assert d != "undetermined" and basis and ev, copy
    for x, y in (("Washington Newsday", "AceNewsDesk"), ("Press TV", "AceNewsDesk")):
        d, basis, cs, _ev = pairs[frozenset((x, y))]
        assert d == "undetermined" and basis == "common_source" and cs == ids["AFP"]
    # directed pairs point away from AFP only
    directed = pub.sql(
        """SELECT CASE direction WHEN 'a->b' THEN doc_id_a ELSE doc_id_b END FROM marts.document_pairs
           WHERE direction IN ('a->b', 'b->a')"""
    ).fetchall()
    assert {r[0] for r in directed} == {ids["AFP"]}


def test_sample_blog_and_acenewsdesk_share_quotations_not_text(pub):
    ids = _ids(pub)
    a, b = sorted((ids["unknown"], ids["AceNewsDesk"]))
    row = pub.execute(
        "SELECT direction, direction_basis, direction_evidence FROM marts.document_pairs WHERE doc_id_a = ? AND doc_id_b = ?",
        [a, b],
    ).fetchall()[0]
    assert row[0] == "undetermined" and row[1] == "quote" and "outside the corpus" in row[2]
    # the sentence clusters of those quotations say so too
    quoted = pub.execute(
        """SELECT DISTINCT c.origin_status FROM marts.sentence_clusters c
           JOIN marts.sentence_matches m ON m.sentence_id_a = c.sentence_id OR m.sentence_id_b = c.sentence_id
           WHERE m.doc_id_a = ? AND m.doc_id_b = ? AND m.is_quote""",
        [a, b],
    ).fetchall()
    assert ("quotation",) in quoted and ("inferred",) not in quoted
    matrix = pub.sql(
        """SELECT DISTINCT source_from, source_to FROM marts.outlet_reuse_matrix
           WHERE direction_status = 'inferred'"""
    ).fetchall()
    assert set(matrix) == {("AFP", "Press TV"), ("AFP", "Washington Newsday"), ("AFP", "AceNewsDesk")}


def test_sample_story_changes_compare_each_copy_with_its_source(pub):
    rows = pub.sql(
        "SELECT DISTINCT source, reference_outlet FROM marts.story_changes ORDER BY ALL"
    ).fetchall()
    assert rows == [("AceNewsDesk", "AFP"), ("Press TV", "AFP"), ("Washington Newsday", "AFP")]
    # a sentence is never both added (in the copy) and dropped (from the source)
    both = pub.sql(
        """SELECT count(*) FROM marts.story_changes a JOIN marts.story_changes d
           ON a.doc_id = d.doc_id AND a.change = 'added' AND d.change = 'dropped'
           AND lower(a.text) = lower(d.reference_text)"""
    ).fetchall()[0][0]
    assert both == 0
    short = pub.sql(
        """SELECT count(*) FROM marts.story_changes c JOIN marts.sentence_flags f
           ON f.doc_id = c.doc_id AND f.sentence_id = c.doc_id || ':' || c.sentence_index
           WHERE f.too_short AND c.change <> 'too_short' AND c.kind IS NULL"""
    ).fetchall()[0][0]
    assert short == 0
    assert pub.sql("SELECT count(*) FROM marts.story_changes WHERE change = 'too_short'").fetchall()[0][0] > 0


def test_sample_report_says_what_the_tables_say(pub):
    import lxml.html

    from pipeline.core.report import render_story

    ids = _ids(pub)
    story = pub.execute("SELECT story_id FROM marts.stories WHERE doc_id = ?", [ids["AFP"]]).fetchall()[0][0]
    doc = lxml.html.fromstring(render_story(pub, story))
    findings = [li.text_content() for li in doc.xpath("//ul[@class='findings']/li")]
    took = [f for f in findings if " took " in f]
    # text is taken only along the directions the tables state: from AFP, by each of its copies
    assert len(took) == 3 and all(f.split(" took ")[1].split(" from ")[1].startswith("A (AFP)") for f in took)
    assert {f.split(" took ")[0] for f in took} == {
        "B (Washington Newsday)",
        "C (AceNewsDesk)",
        "D (Press TV)",
    }
    siblings = [f for f in findings if "copies of one source" in f]
    assert len(siblings) == 2 and all("A (AFP)" in f for f in siblings)
    rows = doc.xpath("//table[@class='pairs']//tr[@class='pair directed']")
    assert {(r.get("data-from"), r.get("data-to")) for r in rows} == {("A", "B"), ("A", "C"), ("A", "D")}
    # the articles table names AFP as the source of every copy
    derived = [tr.xpath("td")[6].text_content() for tr in doc.xpath("//table[@class='articles']//tr")[1:]]
    assert derived.count("A AFP") == 3


def test_dates_do_not_make_a_copy_the_source_of_text_it_lacks():
    # three copies of a story missing from the corpus, each with a different window of it: the earlier
    # ones lack reused text the later ones hold, so no date makes one the source of another
    d, s = frames(
        {
            "c1": ("One", D(2021, 8, 1, 8), STORY[0:5] + LOCAL[:1]),
            "c2": ("Two", D(2021, 8, 2, 8), STORY[3:8] + LOCAL[1:2]),
            "c3": ("Three", D(2021, 8, 3, 8), STORY[1:7] + LOCAL[2:3]),
        }
    )
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    r = compute_overlap(d, s, encoder=None)
    for a, b in (("c1", "c3"), ("c2", "c3")):
        p = _pair(r, a, b)
        assert p["in_story"] and p["direction"] == "undetermined", (a, b)
        assert "reused sentences are in it" in p["direction_evidence"]
    # c1 and c2 each hold sentences of c3 the other lacks: c3 lies between them, neither is the other's source
    p = _pair(r, "c1", "c2")
    assert p["direction"] == "undetermined" and p["direction_basis"] == "indirect"
    assert "c3 lies between them" in p["direction_evidence"]
    assert r.document_originality["inferred_source_doc_id"].is_null().all()


@pytest.mark.slow
def test_sample_with_the_default_semantic_tier(tmp_path, encoder):
    """Requirement on the sample with default settings (semantic tier and verifier on)."""
    import shutil

    from pipeline.core.run import run_pipeline
    from tests.conftest import SAMPLE

    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    run_pipeline(landing, tmp_path / "wh", encoder=encoder)
    con = duckdb.connect(str(tmp_path / "wh" / "wiretrace.duckdb"), read_only=True)
    try:
        assert (
            con.sql("SELECT count(*) FROM marts.sentence_matches WHERE cosine IS NOT NULL").fetchall()[0][0]
            > 0
        )
        test_sample_afp_is_the_origin_and_the_source_of_every_copy(con)
        test_sample_no_direction_between_two_copies_of_afp(con)
        test_sample_report_says_what_the_tables_say(con)
    finally:
        con.close()


# ------------------------------------------------------------------------------------------ triads


def test_copies_of_a_source_outside_the_corpus_are_not_ordered_by_dates():
    # three dated copies of a story missing from the corpus, each with its own edits: on some sentences
    # each is the odd one out against the other two, so none lies between the others and none is the
    # source of another, whatever the dates say
    s, e = STORY, EDITED
    d, f = frames(
        {
            "c1": ("One", D(2021, 8, 1, 8), [s[0], e[1], e[2], s[3], s[4], s[5], LOCAL[0]]),
            "c2": ("Two", D(2021, 8, 2, 8), [s[0], s[1], s[2], e[3], e[4], s[5], LOCAL[1]]),
            "c3": ("Three", D(2021, 8, 3, 8), [e[0], s[1], s[2], s[3], s[4], e[5], LOCAL[2]]),
        }
    )
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    r = compute_overlap(d, f, encoder=None)
    for a, b in (("c1", "c2"), ("c1", "c3"), ("c2", "c3")):
        p = _pair(r, a, b)
        assert p["in_story"] and p["direction"] == "undetermined", (a, b)
        assert p["direction_basis"] == "common_source" and p["common_source_doc_id"] is None
        assert "none of the three lies between the other two" in p["direction_evidence"]
        assert p["direction_confidence"] is None
    assert r.document_originality["inferred_source_doc_id"].is_null().all()


def test_a_copy_of_the_original_is_its_source_when_the_same_edits_pass_on():
    # the same three versions with the original present: it is the odd one out nowhere, so it lies
    # between its copies and is their source; the copies are siblings
    s, e = STORY, EDITED
    d, f = frames(
        {
            "w": ("Wire", D(2021, 7, 31, 8), s[:6] + s[6:8]),
            "c1": ("One", D(2021, 8, 1, 8), [s[0], e[1], e[2], s[3], s[4], s[5], LOCAL[0]]),
            "c2": ("Two", D(2021, 8, 2, 8), [s[0], s[1], s[2], e[3], e[4], s[5], LOCAL[1]]),
        }
    )
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    r = compute_overlap(d, f, encoder=None)
    assert _pair(r, "c1", "w")["direction"] == "b->a" and _pair(r, "c2", "w")["direction"] == "b->a"
    p = _pair(r, "c1", "c2")
    assert p["direction"] == "undetermined" and p["common_source_doc_id"] == "w"
    src = dict(r.document_originality.select("doc_id", "inferred_source_doc_id").rows())
    assert src == {"w": None, "c1": "w", "c2": "w"}


def test_a_credit_line_between_two_copies_outweighs_their_common_source():
    # c2 took c1's text, which is also the wire's, and says where it took it from
    d, f = frames(
        {
            "w": ("Wire", None, STORY),
            "c1": ("Daily Planet", None, STORY[:5] + LOCAL[:1]),
            "c2": (
                "Blog",
                None,
                STORY[:4] + ["This story was first published by the Daily Planet on its website."],
            ),
        }
    )
    r = compute_overlap(d, f, encoder=None)
    p = _pair(r, "c1", "c2")
    assert p["direction"] == "a->b" and p["direction_basis"] == "credit"
    assert "'Daily Planet'" in p["direction_evidence"]


def test_a_copy_agreeing_with_an_older_version_against_an_earlier_one_did_not_take_from_it():
    # c1 (first) edited sentences 1 and 2; c2 (second) and c3 (third) hold them as the missing original
    # wrote them: c3 did not take its text from c1, whatever the dates and containment say; c2, older
    # than c3, is no copy of it
    s, e = STORY, EDITED
    d, f = frames(
        {
            "c1": ("One", D(2021, 8, 1, 8), [s[0], e[1], e[2], s[3], s[4], s[5], s[6], LOCAL[0]]),
            "c2": ("Two", D(2021, 8, 2, 8), [s[0], s[1], s[2], s[3], s[4], s[5], s[6], LOCAL[1]]),
            "c3": ("Three", D(2021, 8, 3, 8), [s[0], s[1], s[2], s[3], s[4], s[5], LOCAL[2]]),
        }
    )
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    r = compute_overlap(d, f, encoder=None)
    p = _pair(r, "c1", "c3")
    assert p["direction"] == "undetermined" and p["direction_basis"] == "indirect"
    assert "c2 (Two)" in p["direction_evidence"] and "A was published first" in p["direction_evidence"]
    # c2 holds everything c3 holds, in the same words, and is older: nothing speaks against it
    q = _pair(r, "c2", "c3")
    assert q["direction"] == "a->b" and q["direction_basis"] == "dates"
    assert dict(r.document_originality.select("doc_id", "inferred_source_doc_id").rows())["c3"] == "c2"


# ------------------------------------------------------------------------------------------ speakers' words

SPEECH = [
    "We are going to rebuild every bridge and every road in this state before the end of the decade.",
    "Nobody who works two jobs to feed a family should be left behind by the people they elected.",
    "The money is there, the plans are drawn, and the only thing missing is the will of this legislature.",
    "I have talked to farmers, to nurses and to truck drivers, and they all tell me the same thing.",
    "So tonight I am asking you to send me that bill, and I will sign it the very same day.",
]


def _speech_corpus(with_quoting_outlet: bool):
    """A transcript of a speech (dated first), a later blog post that prints four of its lines without
    quotation marks, and optionally a report that quotes three of those lines."""
    spec = {
        "transcript": (
            "Transcripts",
            D(2021, 8, 1),
            ["Full text of the governor's address:"] + SPEECH + LOCAL[:1],
        ),
        "blog": ("Blog", D(2021, 8, 5), LOCAL[1:2] + SPEECH[:4] + LOCAL[2:3]),
    }
    if with_quoting_outlet:
        spec["report"] = (
            "Gazette",
            D(2021, 8, 2),
            [f"“{SPEECH[0][:-1]},” the governor said.", f"“{SPEECH[1][:-1]},” she added."]
            + [f"“{SPEECH[2][:-1]},” she said."]
            + LOCAL[3:5],
        )
    d, s = frames(spec)
    d = d.with_columns(pl.lit("day").alias("published_at_precision"))
    return compute_overlap(d, s, encoder=None)


def test_lines_a_speaker_said_are_no_evidence_of_order_even_printed_without_quotation_marks():
    # without an outlet quoting them, the lines look like the transcript's own text: dates order the pair
    p = _pair(_speech_corpus(False), "blog", "transcript")
    assert p["direction"] == "b->a" and p["direction_basis"] == "dates"
    # once another outlet prints three of them in quotation marks they are the governor's words, a
    # source outside the corpus: the transcript's earlier date does not make it the blog's source
    r = _speech_corpus(True)
    p = _pair(r, "blog", "transcript")
    assert p["direction"] == "undetermined" and p["direction_basis"] == "quote"
    assert (
        "words of speakers" in p["direction_evidence"]
        and "quoted by another outlet" in p["direction_evidence"]
    )
    assert p["direction_confidence"] is None
    assert dict(r.document_originality.select("doc_id", "inferred_source_doc_id").rows())["blog"] is None


# ------------------------------------------------------------------------------------------ organisations

NEWSLETTER = [
    "Good morning and welcome to Fox News First, the newsletter that starts your day with the headlines.",
    "Not signed up yet for Fox News First and its daily digest of the top stories of the morning?",
    "Fox News First is compiled by the morning desk of our newsroom in New York every weekday.",
    "Thank you for making us your first choice in the morning, and see you in your inbox tomorrow.",
]


def test_two_outlets_of_one_organisation_naming_it_is_no_credit_line():
    assert provenance.same_organisation("Fox News", "Fox Online News")
    assert provenance.same_organisation("ABC News (Online)", "ABC News")
    assert not provenance.same_organisation("Fox News", "CNN")
    assert not provenance.same_organisation("The Hill", "The Atlantic")
    # two editions of one organisation's newsletter share its template, which names the organisation:
    # one outlet label is "Fox News", so the other's text "names" it, but that says nothing of copying
    d, s = frames(
        {
            "monday": ("Fox Online News", None, NEWSLETTER[:2] + STORY[:2] + NEWSLETTER[2:]),
            "tuesday": ("Fox News", None, NEWSLETTER[:2] + UNRELATED[:2] + NEWSLETTER[2:]),
        }
    )
    p = _pair(compute_overlap(d, s, encoder=None), "monday", "tuesday")
    assert p["in_story"] and p["direction"] == "undetermined"
    assert "credit" not in p["direction_evidence"]
    # the same texts under two outlets of different organisations: the naming is a credit line again
    d = d.with_columns(pl.Series("source", ["Daily Planet", "Fox News"]))
    p = _pair(compute_overlap(d, s, encoder=None), "monday", "tuesday")
    assert p["direction"] == "b->a" and p["direction_basis"] == "credit"


def _transcript(labelled: bool) -> list[str]:
    host = "AMY GOODMAN: " if labelled else ""
    guest = "GOVERNOR JANE ROE: " if labelled else ""
    return [
        f"{host}We turn now to the governor, who spoke to us from the state capital this morning.",
        f"{guest}{SPEECH[0]}",
        *SPEECH[1:4],
        f"{host}Governor, thank you so much for joining us on the program today.",
    ]


def test_a_transcript_printed_elsewhere_without_its_speaker_labels_is_the_speakers_words():
    def run(labelled: bool, copy_keeps_labels: bool = False):
        copy = _transcript(True)[:5] if copy_keeps_labels else SPEECH[:4]
        d, s = frames(
            {
                "transcript": ("Radio Hour", D(2021, 8, 1), _transcript(labelled) + LOCAL[:1]),
                "article": ("Blog", D(2021, 8, 5), LOCAL[1:2] + copy + LOCAL[2:3]),
            }
        )
        d = d.with_columns(pl.lit("day").alias("published_at_precision"))
        return _pair(compute_overlap(d, s, encoder=None), "article", "transcript")

    # the governor's lines in a transcript (speaker labels) and unlabelled in a later article: her words
    p = run(labelled=True)
    assert p["direction"] == "undetermined" and p["direction_basis"] == "quote"
    assert "printed unquoted" in p["direction_evidence"]
    # the same text without speaker labels is the first page's own text: the dates order the pair
    assert run(labelled=False)["direction"] == "b->a"
    # a copy of the transcript itself, labels and all, took it from the transcript
    p = run(labelled=True, copy_keeps_labels=True)
    assert p["direction"] == "b->a" and p["direction_basis"] == "dates"
    assert (
        provenance.speaker_turns(
            pl.DataFrame(
                {"sentence_id": ["x:0"], "doc_id": ["x"], "index": [0], "text": ["UPDATE: more soon."]}
            )
        )
        == set()
    )


# ------------------------------------------------------------------------------------------ judged samples


def test_judged_direction_samples_are_complete_small_and_consistent():
    from pipeline.evaluation import provenance_judged as pj

    files = pj.sample_files()
    assert files and files[0] == pj.DATA
    roles = set()
    for f in files:
        head, items = pj.load_judged(f)
        roles.add(head["role"])
        assert items and head["counts"] and head["commit"]
        for i in items:
            # every item judged by the criterion, its label the truth compared with the direction drawn
            assert i["truth"] in pj.TRUTHS and i["note"], (f.name, i["doc_id_a"], i["doc_id_b"])
            assert i["label"] == pj.label(i["truth"], i["sampled"]["direction"])
            assert i["stratum"] == pj.stratum(i["sampled"]["direction"], i["sampled"]["basis"])
            # small excerpts only, never whole articles
            assert len(i["shared"]) <= pj.MAX_SHARED
            assert all(len(c) <= 300 for side in "ab" for c in i[f"credit_lines_{side}"])
            assert "text" not in i
        # a pair is judged in one sample only
        assert len({(i["doc_id_a"], i["doc_id_b"]) for i in items}) == len(items)
    assert roles == {"development", "test"}
    pairs = [(i["doc_id_a"], i["doc_id_b"]) for f in files for i in pj.load_judged(f)[1]]
    assert len(set(pairs)) == len(pairs)


def test_a_sample_header_names_the_tiers_the_warehouse_ran_with(tmp_path):
    from pipeline.evaluation.provenance_judged import warehouse_description

    db = tmp_path / "wiretrace.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA meta; CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.documents (doc_id VARCHAR)")
    con.execute("INSERT INTO marts.documents VALUES ('a'), ('b'), ('c')")
    con.execute("CREATE TABLE meta.runs (started_at TIMESTAMP, status VARCHAR, tiers VARCHAR)")
    ran = {t: "ran" for t in ("exact", "minhash", "blocked", "semantic", "verifier")}
    skipped = {t: "not run: inputs, settings, code and models unchanged since the last run" for t in ran}
    lexical = {**ran, "semantic": "not run: --no-semantic", "verifier": "not run: off"}
    rows = [(D(2021, 1, 1), "ok", lexical), (D(2021, 1, 2), "ok", ran), (D(2021, 1, 3), "ok", skipped)]
    con.executemany("INSERT INTO meta.runs VALUES (?, ?, ?)", [(t, st, json.dumps(x)) for t, st, x in rows])
    con.close()
    # the latest run found nothing new: the marts are those of the run before it, with the semantic tier
    assert warehouse_description(db) == "a warehouse of 3 articles, the default tiers (lexical and semantic)"
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM meta.runs WHERE started_at > ?", [D(2021, 1, 1)])
    con.close()
    assert warehouse_description(db) == (
        "a warehouse of 3 articles, lexical tiers (semantic tier: not run: --no-semantic)"
    )


def test_labels_compare_the_judged_truth_with_the_direction_reported():
    from pipeline.evaluation.provenance_judged import label, weighted_precision

    assert label("a->b", "a->b") == "Y" and label("b->a", "a->b") == "N"
    # a direction between two copies of one source is wrong; leaving it undetermined is right
    assert label("common", "b->a") == "N" and label("common", "undetermined") == "Y"
    # a direction a reader sees and the rules leave undetermined is a miss; unknown truth is no evidence
    assert label("a->b", "undetermined") == "N" and label("unknown", "a->b") == "U"
    assert label(None, "a->b") is None
    items = [
        {"doc_id_a": "x", "doc_id_b": "y", "truth": "a->b"},
        {"doc_id_a": "x", "doc_id_b": "z", "truth": "common"},
    ]
    found = {("x", "y"): ("a->b", "dates"), ("x", "z"): ("b->a", "credit")}
    # the wrong item stands for three times as many pairs as the right one
    p, share = weighted_precision(items, found, {("x", "y"): 1.0, ("x", "z"): 3.0})
    assert p == pytest.approx(0.25) and share == 1.0


def test_dates_do_not_make_a_credited_copy_of_an_absent_wire_the_source_of_a_later_copy():
    # two outlets carry one Reuters story; the corpus holds no Reuters page. The earlier one says where
    # it took the text from: it is a copy itself, and the later one may have taken it from Reuters too
    s = STORY
    credit = "Reuters contributed to this report."
    d, f = frames(
        {
            "early": ("Daily Planet", D(2021, 8, 1, 8), s[:6] + [credit]),
            "late": ("Evening Star", D(2021, 8, 2, 8), s[:5] + LOCAL[:1]),
        }
    )
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    p = _pair(compute_overlap(d, f, encoder=None), "early", "late")
    assert p["in_story"] and p["direction"] == "undetermined" and p["direction_basis"] == "none"
    assert "credit line names 'Reuters'" in p["direction_evidence"]
    assert ABSENT_NOTE in p["direction_evidence"]  # the words the derivation evaluation counts
    # the same texts with the Reuters page in the corpus: the credit names a relative, dates order the
    # two copies no more (they are its siblings), and Reuters is the source of both
    d2, f2 = frames(
        {
            "wire": ("Reuters", D(2021, 7, 31, 8), s),
            "early": ("Daily Planet", D(2021, 8, 1, 8), s[:6] + [credit]),
            "late": ("Evening Star", D(2021, 8, 2, 8), s[:5] + LOCAL[:1]),
        }
    )
    d2 = d2.with_columns(pl.lit("time").alias("published_at_precision"))
    r2 = compute_overlap(d2, f2, encoder=None)
    src = dict(r2.document_originality.select("doc_id", "inferred_source_doc_id").rows())
    assert src["early"] == "wire" and src["late"] == "wire"
    # without the credit line the dates order them, as before
    d3, f3 = frames(
        {
            "early": ("Daily Planet", D(2021, 8, 1, 8), s[:6] + LOCAL[1:2]),
            "late": ("Evening Star", D(2021, 8, 2, 8), s[:5] + LOCAL[:1]),
        }
    )
    d3 = d3.with_columns(pl.lit("time").alias("published_at_precision"))
    assert _pair(compute_overlap(d3, f3, encoder=None), "early", "late")["direction"] == "a->b"


def test_a_wire_agency_signing_its_own_dateline_is_not_a_copy_of_another_outlet():
    # "(AP)" on the Associated Press's own page is its dateline, not a credit to someone else
    s = STORY
    d, f = frames(
        {
            "ap": ("Associated Press", D(2021, 8, 1, 8), ["WASHINGTON (AP) - " + s[0]] + s[1:6]),
            "late": ("Evening Star", D(2021, 8, 2, 8), s[1:5] + LOCAL[:1]),
        }
    )
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    p = _pair(compute_overlap(d, f, encoder=None), "ap", "late")
    assert p["direction"] == "a->b" and "dates" in p["direction_basis"]


def test_the_union_test_does_not_make_a_credited_copy_of_an_absent_wire_the_source():
    # the fullest of four texts holds the union of what the three others took, but its credit line
    # says it is itself Reuters' story, and the corpus holds no Reuters page: the others may have
    # taken their parts from Reuters as well, so the union test draws no direction from it
    credit = "Reuters contributed to this report."
    spec = {
        "w": ("Daily Planet", None, STORY + [credit]),
        "c1": ("One", None, STORY[:4] + LOCAL[:2]),
        "c2": ("Two", None, STORY[2:6] + LOCAL[2:3]),
        "c3": ("Three", None, STORY[5:8] + LOCAL[3:4]),
    }
    r = compute_overlap(*frames(spec), encoder=None)
    for c in ("c1", "c2", "c3"):
        p = _pair(r, c, "w")
        assert p["direction"] == "undetermined", c
        assert "credit line names 'Reuters'" in p["direction_evidence"]
    assert r.document_originality["inferred_source_doc_id"].is_null().all()


def test_a_copy_crediting_wire_reports_of_its_own_did_not_take_them_from_an_earlier_outlet():
    # the later text's line says it is based on wire reports (no agency named, none in the corpus): it
    # took the shared paragraphs from the wire, not from the earlier outlet
    s = STORY
    own = "This article is based in part on wire service reports."
    d, f = frames(
        {
            "early": ("Daily Planet", D(2021, 8, 1, 8), s[:6]),
            "late": ("Evening Star", D(2021, 8, 2, 8), s[:5] + [own]),
        }
    )
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    p = _pair(compute_overlap(d, f, encoder=None), "early", "late")
    assert p["direction"] == "undetermined"
    assert "B's credit line names 'wire services'" in p["direction_evidence"]
    assert "took its text from a source outside the corpus" in p["direction_evidence"]
    d2, f2 = frames(
        {
            "early": ("Daily Planet", D(2021, 8, 1, 8), s[:6] + [own]),
            "late": ("Evening Star", D(2021, 8, 2, 8), s[:5] + [own]),
        }
    )
    d2 = d2.with_columns(pl.lit("time").alias("published_at_precision"))
    p2 = _pair(compute_overlap(d2, f2, encoder=None), "early", "late")
    # the line is the earlier text's too: the earlier one says it is itself a copy of the wire
    assert p2["direction"] == "undetermined"
    assert "A's credit line names 'wire services'" in p2["direction_evidence"]


# the wire story of STORY, eight sentences longer
LONG = STORY + [
    "Aid agencies say food and fuel are running short in the valley as the only road in remains closed.",
    "The resistance has appealed to foreign governments for weapons, ammunition and diplomatic recognition.",
    "Satellite images published by a research institute show new trenches dug along the ridge above the river.",
    "The new rulers have given the valley's elders until the end of the month to hand over their weapons.",
    "Schools in the valley reopened this week, although many teachers have not returned from the capital.",
    "A convoy of trucks carrying flour and medicine was turned back at a checkpoint on Thursday night.",
    "The spokesman said the movement would hold elections for a regional council before the winter.",
    "Former ministers who fled abroad have pledged money to pay the volunteers' wages for six months.",
]


def test_a_version_the_copies_do_not_follow_is_not_their_common_source():
    # the wire (holding what two copies each took in part) and a full copy that reworded two sentences:
    # the copies keep the wire's wording there, against the full copy's, so the full copy is not the
    # common source of the wire and a copy, and the copy's source is the wire
    rewrite = {1: EDITED[1], 4: EDITED[4]}
    d, s = frames(
        {
            "w": ("Wire", None, LONG),
            "f": ("Full", None, [rewrite.get(i, x) for i, x in enumerate(LONG)] + LOCAL[3:4]),
            "c1": ("One", None, LONG[:10] + LOCAL[:2]),
            "c2": ("Two", None, LONG[4:16] + LOCAL[2:3]),
        }
    )
    r = compute_overlap(d, s, encoder=None)
    p = _pair(r, "c1", "w")
    assert p["direction"] == "b->a" and p["direction_basis"] == "union", p["direction_evidence"]
    orig = {x["doc_id"]: x["inferred_source_doc_id"] for x in r.document_originality.to_dicts()}
    assert orig["c1"] == "w" and orig["w"] is None


def test_one_page_under_two_labels_is_one_document_without_direction():
    # an outlet's page listed again under its columnist's name: the text names the outlet, which
    # would read as a credit line of one copy to the other
    text = STORY[:6] + ["Read more of the valley columns on Townhall every day of the week."]
    d, s = frames({"gw": ("Guest Writer - Right", None, text), "th": ("Townhall", None, text)})
    url = "https://townhall.com/columnists/someone/2019/01/05/the-valley-n2538"
    d = d.with_columns(
        pl.Series("url", [url, "http://www.townhall.com/columnists/someone/2019/01/05/the-valley-n2538/"])
    )
    p = _pair(compute_overlap(d, s, encoder=None), "gw", "th")
    assert p["direction"] == "undetermined" and p["direction_basis"] == "same_page"
    assert "one page under two outlet labels" in p["direction_evidence"]
    # without the URLs the text alone reads as a credit line
    assert _pair(compute_overlap(d.drop("url"), s, encoder=None), "gw", "th")["direction"] == "b->a"
    # a site's home page names no article
    assert provenance.page_key("https://www.townhall.com/") is None
    assert provenance.page_key("HTTPS://Townhall.com/a/b#comments") == "townhall.com/a/b"


def test_one_page_under_two_labels_counts_once_as_a_witness_of_the_union():
    # the wire, copied in full by one page ingested under two labels, and in part by a copy: the two
    # labels are one version, so the union test has one witness and the copy's source is not decided
    # by it; a second, different copy is a second witness
    url = "https://example.com/news/2021/08/valley-resistance"
    spec = {
        "w": ("Wire", None, STORY),
        "p1": ("Site", None, STORY[:6] + LOCAL[:1]),
        "p2": ("Site Columnist", None, STORY[:6] + LOCAL[:1]),
        "c": ("Copier", None, STORY[4:8] + LOCAL[2:3]),
    }
    d, s = frames(spec)
    d = d.with_columns(pl.Series("url", [None, url, url, None], dtype=pl.String))
    r = compute_overlap(d, s, encoder=None)
    assert _pair(r, "p1", "p2")["direction_basis"] == "same_page"
    assert _pair(r, "c", "w")["direction_basis"] != "union"
    d2, s2 = frames({**spec, "c2": ("Other", None, STORY[1:4] + LOCAL[3:4])})
    d2 = d2.with_columns(pl.Series("url", [None, url, url, None, None], dtype=pl.String))
    p = _pair(compute_overlap(d2, s2, encoder=None), "c", "w")
    assert p["direction"] == "b->a" and "union" in p["direction_basis"]


def test_dates_do_not_order_two_carriers_of_a_text_a_third_credits_to_an_absent_wire():
    # three sites carry one wire story; only the third says so ("Reuters contributed"), and Reuters'
    # own page is not in the corpus: the earlier and fuller of the other two is not the later one's source
    spec = {
        "c1": ("One", D(2021, 8, 20, 9), STORY[:7] + LOCAL[:1]),
        "c2": ("Two", D(2021, 8, 21, 9), STORY[1:6] + LOCAL[1:2]),
        "z": (
            "Three",
            D(2021, 8, 22, 9),
            STORY[:6] + ["Reuters contributed to this report from the valley."],
        ),
    }
    d, s = frames(spec)
    d = d.with_columns(pl.lit("time").alias("published_at_precision"))
    p = _pair(compute_overlap(d, s, encoder=None), "c1", "c2")
    assert p["direction"] == "undetermined", p["direction_evidence"]
    assert "z's credit line names 'Reuters'" in p["direction_evidence"]
    assert ABSENT_NOTE in p["direction_evidence"]
    # without the third site's credit line the dates order the two
    d2, s2 = frames({**spec, "z": ("Three", D(2021, 8, 22, 9), STORY[:6] + LOCAL[2:3])})
    d2 = d2.with_columns(pl.lit("time").alias("published_at_precision"))
    assert _pair(compute_overlap(d2, s2, encoder=None), "c1", "c2")["direction"] == "a->b"


# ------------------------------------------------------------------------------------------ quotations and the union

STATEMENT = STORY + SPEECH  # a statement of thirteen sentences, printed whole by one outlet


def _quoting(lo: int, hi: int) -> list[str]:
    """STATEMENT[lo:hi] as one quotation: marks only at its first and last sentence."""
    part = STATEMENT[lo:hi]
    return [f"“{part[0]}"] + part[1:-1] + [f"{part[-1]}”"]


def test_sentences_inside_a_quotation_of_several_sentences_are_quotation_middles():
    spec = {
        "x": (
            "X",
            None,
            [
                "The statement was read out on Sunday.",
                '"It was a long night.',  # opens
                "Nobody slept at all.",  # inside
                '"We waited for news until dawn.',  # a new paragraph of the same quotation
                'Then the call came," she said.',  # closes
                "The rescue ended at noon.",
                '"This never closes.',  # a stray mark: nothing after it is marked
                "A plain line of the article.",
            ],
        ),
        "y": (
            "Y",
            None,
            ["“Curly marks open.", "And this is inside.", "They close here,” he said.", "Not inside."],
        ),
    }
    _d, s = frames(spec)
    assert provenance.quotation_middles(s) == {"x:2", "x:3", "x:4", "y:1", "y:2"}
    assert provenance.quotation_middles(s, {"y"}) == {"y:1", "y:2"}


def test_the_union_test_does_not_read_the_middle_of_quotations():
    # one outlet prints a statement whole, without quotation marks; three others quote parts of it, each
    # as one quotation of seven sentences whose marks sit at its ends: the statement's speaker is their
    # common source, and the first outlet holding the union of what the others quote is not their source
    spec = {
        "w": ("Compilation", None, LOCAL[:1] + STATEMENT),
        "c1": ("One", None, LOCAL[1:2] + _quoting(0, 7)),
        "c2": ("Two", None, LOCAL[2:3] + _quoting(6, 13)),
        "c3": ("Three", None, LOCAL[3:4] + _quoting(3, 10)),
    }
    d, s = frames(spec)
    r = compute_overlap(d, s, encoder=None)
    for c in ("c1", "c2", "c3"):
        p = _pair(r, c, "w")
        assert p["direction"] == "undetermined", (c, p["direction_evidence"])
        assert p["direction_basis"] != "union"
    assert "union test does not speak" in _pair(r, "c1", "w")["direction_evidence"]
    # the same lines taken as text (no quotation marks anywhere) make the full version their source
    spec2 = {k: (o, t, [x.strip("“”") for x in lines]) for k, (o, t, lines) in spec.items()}
    d2, s2 = frames(spec2)
    p = _pair(compute_overlap(d2, s2, encoder=None), "c1", "w")
    assert p["direction"] == "b->a" and p["direction_basis"] == "union", p["direction_evidence"]


def test_the_union_test_needs_shared_text_outside_quotations():
    # each copy shares two lines of text with the fullest version and quotes three of its sentences: the
    # union of what the copies share is in the fullest version, but the text outside the quotations is
    # too little to say the copies took it from there
    def copy(lo: int) -> list[str]:
        return STATEMENT[lo : lo + 2] + [f"“{x}”" for x in STATEMENT[lo + 2 : lo + 5]]

    spec = {
        "w": ("Compilation", None, LOCAL[:1] + STATEMENT[:12]),
        "c1": ("One", None, LOCAL[1:2] + copy(0)),
        "c2": ("Two", None, LOCAL[2:3] + copy(5)),
        "c3": (
            "Three",
            None,
            LOCAL[3:4] + STATEMENT[10:12] + ["A line of the third outlet's own, about the weather."],
        ),
    }
    d, s = frames(spec)
    p = _pair(compute_overlap(d, s, encoder=None), "c1", "w")
    assert p["direction"] == "undetermined", p["direction_evidence"]
    assert "union test does not speak" in p["direction_evidence"]
    assert "2 outside quotations are too few" in p["direction_evidence"]


# ------------------------------------------------------------------------------------------ lines, hubs, wire datelines


def test_a_version_between_an_original_and_a_later_copy_is_the_later_copys_source():
    # the Evening Star credits the Daily Planet and edits sentences 1 and 2; the blog carries those
    # edits and edits 3 and 4 of its own: the blog's text of the Daily Planet passed through the
    # Evening Star, which took its text from the Daily Planet, so the Evening Star is the blog's source
    s, e = STORY, EDITED
    credit = "This story was first published by the Daily Planet on its website."
    spec = {
        "o": ("Daily Planet", None, s[:8]),
        "b": ("Evening Star", None, [credit, s[0], e[1], e[2], s[3], s[4], s[5], LOCAL[0]]),
        "c": ("Blog", None, [s[0], e[1], e[2], e[3], e[4], s[5], LOCAL[1]]),
    }
    r = compute_overlap(*frames(spec), encoder=None)
    assert _pair(r, "b", "o")["direction_basis"] == "credit"
    assert _pair(r, "c", "o")["direction_basis"] == "indirect"
    p = _pair(r, "b", "c")
    assert p["direction"] == "a->b" and p["direction_basis"] == "line"
    assert p["direction_confidence"] == pytest.approx(CONFIDENCE["credit"])
    assert "o (Daily Planet) is A's source" in p["direction_evidence"]
    src = dict(r.document_originality.select("doc_id", "inferred_source_doc_id").rows())
    assert src == {"o": None, "b": "o", "c": "b"}
    # nothing orders the line without the credit line: which end is the root, the text does not say
    spec["b"] = ("Evening Star", None, spec["b"][2][1:])
    r = compute_overlap(*frames(spec), encoder=None)
    p = _pair(r, "b", "c")
    assert p["direction"] == "undetermined" and p["direction_confidence"] is None


def test_a_document_two_copies_credit_is_a_hub_for_a_relative_it_holds():
    # two short excerpts credit the Daily Planet (too little text for the union test); a third site
    # took its first five sentences, and one excerpt carries the end it dropped: the Daily Planet,
    # an origin its copies name, is the source of the text it holds
    s = STORY
    credit = "This story was first published by the Daily Planet on its website."
    spec = {
        "o": ("Daily Planet", None, s[:8]),
        "c1": ("One Site", None, [credit, s[0], s[1]]),
        "c2": ("Two Site", None, [credit, s[6], s[7]]),
        "d": ("Blog", None, s[:5] + LOCAL[:1]),
    }
    r = compute_overlap(*frames(spec), encoder=None)
    assert {_pair(r, c, "o")["direction_basis"] for c in ("c1", "c2")} == {"credit"}
    p = _pair(r, "d", "o")
    assert p["direction"] == "b->a" and p["direction_basis"] == "union"
    assert "2 by their credit lines" in p["direction_evidence"]
    assert p["direction_confidence"] == pytest.approx(CONFIDENCE["union"])
    # without the credit lines no document is shown to be an origin: one witness alone does not speak
    spec["c1"] = ("One Site", None, [s[0], s[1]])
    spec["c2"] = ("Two Site", None, [s[6], s[7]])
    r = compute_overlap(*frames(spec), encoder=None)
    assert _pair(r, "d", "o")["direction"] == "undetermined"


def test_a_wire_agency_page_with_its_own_dateline_is_the_source_of_a_copy_that_dropped_it():
    # undated: the copy turned "WASHINGTON (AP) -" into a plain text and names no agency
    s = STORY
    spec = {
        "ap": ("Associated Press", None, ["WASHINGTON (AP) — " + s[0]] + s[1:7]),
        "copy": ("Evening Star", None, [s[0]] + s[1:5] + LOCAL[:1]),
    }
    r = compute_overlap(*frames(spec), encoder=None)
    p = _pair(r, "ap", "copy")
    assert p["direction"] == "a->b" and p["direction_basis"] == "wire"
    assert p["direction_confidence"] == pytest.approx(CONFIDENCE["wire"])
    assert "(AP)" in p["direction_evidence"]
    # another outlet's page carrying the AP dateline is no agency's page: no wire direction
    spec["ap"] = ("Daily Planet", None, spec["ap"][2])
    p = _pair(compute_overlap(*frames(spec), encoder=None), "ap", "copy")
    assert "wire" not in (p["direction_basis"] or "").split("+")
    # nor is a credit cue on the agency's page a dateline, nor are two agencies ordered by one
    spec["ap"] = ("Associated Press", None, s[:7] + ["The Associated Press contributed to this report."])
    assert _pair(compute_overlap(*frames(spec), encoder=None), "ap", "copy")["direction"] == "undetermined"
    spec["ap"] = ("Associated Press", None, ["WASHINGTON (AP) — " + s[0]] + s[1:7])
    spec["copy"] = ("Reuters", None, spec["copy"][2])
    assert _pair(compute_overlap(*frames(spec), encoder=None), "ap", "copy")["direction"] == "undetermined"
