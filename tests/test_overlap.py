"""Tests of the corpus-level overlap stage (pipeline.core.overlap)."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import re
import time
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import reload_settings
from pipeline.core.overlap import (
    DOCUMENTS_SCHEMA,
    SENTENCES_SCHEMA,
    TABLES,
    OverlapConfig,
    compute_overlap,
    quote_share,
)

REPO = Path(__file__).resolve().parents[1]
WORD = re.compile(r"[^\W_]+")


def _norm(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


def frames(
    docs: dict[str, tuple[str, dt.datetime | None, list[str]]], norm=_norm
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Input frames from {doc_id: (source, published_at, [sentences])}; sentences joined by spaces;
    ``norm`` makes the normalised form (a plain lower-case word join by default)."""
    d_rows, s_rows = [], []
    for doc_id, (source, pub, sentences) in docs.items():
        pos = 0
        text = " ".join(sentences)
        d_rows.append(
            {"doc_id": doc_id, "source": source, "published_at": pub, "title": None, "n_chars": len(text)}
        )
        for i, s in enumerate(sentences):
            n = norm(s)
            s_rows.append(
                {
                    "sentence_id": f"{doc_id}:{i}",
                    "doc_id": doc_id,
                    "index": i,
                    "paragraph": 0,
                    "start": pos,
                    "end": pos + len(s),
                    "text": s,
                    "norm": n,
                    "norm_hash": hashlib.sha1(n.encode()).hexdigest()[:16],
                    "n_tokens": len(n.split()),
                }
            )
            pos += len(s) + 1
    return pl.DataFrame(d_rows, schema=DOCUMENTS_SCHEMA), pl.DataFrame(s_rows, schema=SENTENCES_SCHEMA)


STORY = [
    "Former government forces forming a resistance movement in the fortified northern valley are preparing for a long conflict with the new rulers.",
    "Thousands of people have made their way to the valley since the capital fell last week, the movement's spokesman Ali Nazary said on Sunday.",
    "The son of the assassinated commander has assembled a fighting force of around 9,000 volunteers, many of them former soldiers of the national army.",
    "Pictures taken during training exercises show dozens of recruits performing fitness routines and a handful of armoured humvees crossing the river.",
    "The front's main goal is to avoid further bloodshed in the country and to press for a decentralised system of government with equal rights.",
    "Talks between local leaders in the north and officials from the neighbouring state were held until a few days ago, according to the spokesman.",
    "Local militias in several districts have already begun resisting the new authorities and have seized three administrative centres near the border.",
    "Diplomats in the region expect the negotiations to resume next month once the humanitarian corridor through the mountain pass is reopened.",
]
EDITED = [
    "Former government forces forming a resistance movement in the fortified northern valley are preparing for a lengthy conflict with the new rulers.",
    "Thousands of people have made their way to the valley since the capital fell last week, the movement's spokesman Ali Nazary said on Monday.",
    "The son of the assassinated commander has assembled a fighting force of around 9,000 volunteers, many of them former soldiers of the regular army.",
    "Pictures taken during training exercises show dozens of recruits performing fitness routines and a handful of armoured vehicles crossing the river.",
    "The front's main goal is to avoid further bloodshed in the country and to push for a decentralised system of government with equal rights.",
    "Talks between local leaders in the north and officials from the neighbouring state were held until a few days ago, according to their spokesman.",
]
UNRELATED = [
    "The city council approved a new budget for public libraries on Tuesday evening after a lengthy debate about opening hours.",
    "Librarians had asked for longer weekend hours and for funds to replace the ageing computers in the reading rooms.",
    "The mayor said the compromise would keep every branch open on Saturdays while the renovation of the central library continues.",
    "Residents can comment on the plan at a public hearing scheduled for the first week of next month in the town hall.",
]
QUOTE = "“We will never accept a government imposed by force, and we are ready to defend our valley for as long as it takes,” Massoud said."
Q_DOC1 = [
    "The opposition leader addressed supporters at a rally in the provincial capital on Friday afternoon amid heavy security.",
    QUOTE,
    "Several hundred people attended the rally, which was broadcast live by two regional television channels.",
]
Q_DOC2 = [
    "In a video message released by his office late on Thursday, the opposition leader repeated his earlier warnings to the government.",
    QUOTE,
    "Analysts said the message was aimed at foreign governments weighing whether to recognise the new administration.",
]
EXTRA = [
    "The local hospital said it had treated dozens of wounded civilians over the weekend and was running short of blood supplies.",
    "Aid agencies warned that food prices in the valley had doubled since the main road was closed by checkpoints.",
    "A spokesman for the regional governor declined to comment on the reports when reached by telephone on Sunday night.",
    "Schools in the valley remain closed, and teachers have been asked to report to the district office every morning.",
    "Residents said mobile phone coverage had been cut for most of the day, making it hard to reach relatives elsewhere.",
    "The weather service forecast heavy snow in the mountain passes by the end of the month, which could isolate the region.",
]

D = dt.datetime


def synthetic():
    return frames(
        {
            "a_wire": ("Wire", D(2021, 8, 20, 9), STORY),
            "b_copy": (
                "Copier",
                D(2021, 8, 20, 15),
                STORY[:5] + ["Subscribe to our channel for more updates from the region every day."],
            ),
            "c_edit": ("Editor", D(2021, 8, 21), EDITED),
            "d_other": ("Local", D(2021, 8, 21), UNRELATED),
            "e_q1": ("QuoteOne", D(2021, 8, 22), Q_DOC1),
            "f_q2": ("QuoteTwo", D(2021, 8, 23), Q_DOC2),
            "g_part": ("Undated", None, STORY[2:7]),
            "h_whole": ("Undated2", None, STORY[2:7] + EXTRA),
        }
    )


@pytest.fixture(scope="module")
def result():
    docs, sents = synthetic()
    return compute_overlap(docs, sents, encoder=None)


def _pair(res, a, b) -> dict:
    rows = res.document_pairs.filter((pl.col("doc_id_a") == a) & (pl.col("doc_id_b") == b)).to_dicts()
    assert len(rows) == 1, f"no document pair {a} / {b}"
    return rows[0]


def test_all_tables_present_and_sorted(result):
    for name in TABLES:
        assert isinstance(getattr(result, name), pl.DataFrame)
    m = result.sentence_matches
    assert (m["doc_id_a"] < m["doc_id_b"]).all()
    assert (m["sentence_id_a"] < m["sentence_id_b"]).all()
    assert m.equals(m.sort("sentence_id_a", "sentence_id_b"))
    assert set(m["kind"].unique()) <= {"exact", "near", "paraphrase"}
    assert result.stats["semantic"]["ran"] is False
    assert "timings" in result.stats and "candidates_minhash" in result.stats


def test_copied_document(result):
    p = _pair(result, "a_wire", "b_copy")
    assert p["n_exact"] == 5
    assert p["direction"] == "a->b" and "A was published first" in p["direction_evidence"]
    assert "dates" in p["direction_basis"].split("+") and p["direction_confidence"] >= 0.9
    # the closing "Subscribe to our channel" line is a promo (stock text): not matchable, not counted
    assert p["containment_b_in_a"] == pytest.approx(1.0)
    o = result.document_originality.filter(pl.col("doc_id") == "b_copy").row(0, named=True)
    assert o["inferred_source_doc_id"] == "a_wire"
    assert o["share_exact"] == pytest.approx(1.0)  # the promo line is not matchable
    assert o["added"] == 0 and o["dropped"] == 3  # the promo is boilerplate, not added content
    # the copied run is one passage with char offsets in both texts
    ps = result.passages.filter((pl.col("doc_id_a") == "a_wire") & (pl.col("doc_id_b") == "b_copy"))
    assert ps.height == 1
    r = ps.row(0, named=True)
    assert (r["first_index_a"], r["last_index_a"], r["first_index_b"], r["last_index_b"]) == (0, 4, 0, 4)
    assert r["start_a"] == 0 and r["end_a"] == len(" ".join(STORY[:5]))
    assert r["dominant_kind"] == "exact" and r["n_sentences"] == 5


def test_edited_document_is_near(result):
    p = _pair(result, "a_wire", "c_edit")
    assert p["n_near"] == 6 and p["n_exact"] == 0
    assert p["direction"] == "a->b"
    m = result.sentence_matches.filter((pl.col("doc_id_a") == "a_wire") & (pl.col("doc_id_b") == "c_edit"))
    assert m.filter(pl.col("index_a") != pl.col("index_b")).height == 0
    assert m["jaccard"].is_not_null().all() and m["cosine"].is_null().all()
    o = result.document_originality.filter(pl.col("doc_id") == "c_edit").row(0, named=True)
    assert o["share_near"] == pytest.approx(1.0) and o["share_original"] == pytest.approx(0.0)


def test_unrelated_document(result):
    m = result.sentence_matches
    assert m.filter((pl.col("doc_id_a") == "d_other") | (pl.col("doc_id_b") == "d_other")).height == 0
    o = result.document_originality.filter(pl.col("doc_id") == "d_other").row(0, named=True)
    assert o["share_original"] == 1.0 and o["inferred_source_doc_id"] is None
    s = result.stories.filter(pl.col("doc_id") == "d_other").row(0, named=True)
    assert s["n_docs"] == 1


def test_quote_only_overlap_is_not_copying(result):
    p = _pair(result, "e_q1", "f_q2")
    assert p["quote_only"] is True and p["n_quote"] == 1
    assert p["direction"] == "undetermined" and "quote" in p["direction_evidence"]
    assert p["in_story"] is False
    st = result.stories
    s1 = st.filter(pl.col("doc_id") == "e_q1")["story_id"][0]
    s2 = st.filter(pl.col("doc_id") == "f_q2")["story_id"][0]
    assert s1 != s2
    o = result.document_originality.filter(pl.col("doc_id") == "f_q2").row(0, named=True)
    # quoting the same speaker is not taking text from the other outlet: nothing is reused from it
    assert o["inferred_source_doc_id"] is None and o["n_quote_reuse"] == 0
    assert p["direction_basis"] == "quote" and p["direction_confidence"] is None


def test_undated_copies_are_ordered_by_text_and_are_siblings(result):
    # the wire holds what the undated copies each took (and more that other copies took): their source
    for doc in ("g_part", "h_whole"):
        p = _pair(result, "a_wire", doc)
        assert p["direction"] == "a->b" and p["direction_basis"] == "union"
        assert 0 < p["direction_confidence"] < 0.9
    # the part is contained in the whole, but both are copies of the wire: no direction between them
    p = _pair(result, "g_part", "h_whole")
    assert p["containment_a_in_b"] == 1.0 and p["containment_b_in_a"] == pytest.approx(5 / 11)
    assert p["direction"] == "undetermined" and p["direction_basis"] == "common_source"
    assert p["common_source_doc_id"] == "a_wire" and p["direction_confidence"] is None
    # so are two dated copies of the wire published on different days
    p = _pair(result, "b_copy", "c_edit")
    assert p["direction"] == "undetermined" and p["common_source_doc_id"] == "a_wire"
    orig = {x["doc_id"]: x for x in result.document_originality.to_dicts()}
    for doc in ("b_copy", "c_edit", "g_part", "h_whole"):
        assert orig[doc]["inferred_source_doc_id"] == "a_wire"
    # the wire is copied, not less original for it
    assert orig["a_wire"]["share_original"] == 1.0


def test_passages_state_their_direction(result):
    p = result.passages.filter((pl.col("doc_id_a") == "a_wire") & (pl.col("doc_id_b") == "b_copy"))
    assert p.height >= 1
    assert (p["direction"] == "a->b").all() and (p["direction_confidence"] >= 0.9).all()


def test_clusters_and_origin(result):
    c = result.sentence_clusters
    # STORY[2] appears in the wire, the copy, the edit (near), the undated part and whole
    sid = "a_wire:2"
    cid = c.filter(pl.col("sentence_id") == sid)["cluster_id"][0]
    members = c.filter(pl.col("cluster_id") == cid)
    assert set(members["doc_id"]) >= {"a_wire", "b_copy", "c_edit", "g_part", "h_whole"}
    # two members are undated, but the text tells that the wire is the source of every other member
    assert (members["origin_status"] == "inferred").all()
    assert members.filter(pl.col("is_origin"))["doc_id"].to_list() == ["a_wire"]
    assert (members["origin_basis"].str.contains("union")).all()
    # STORY[0] is only in dated documents: the wire is the unique earliest
    cid0 = c.filter(pl.col("sentence_id") == "a_wire:0")["cluster_id"][0]
    m0 = c.filter(pl.col("cluster_id") == cid0)
    assert (m0["origin_status"] == "inferred").all()
    assert m0.filter(pl.col("is_origin"))["sentence_id"].to_list() == ["a_wire:0"]
    kinds = dict(zip(m0["sentence_id"], m0["kind_to_origin"], strict=True))
    assert kinds["a_wire:0"] == "origin" and kinds["b_copy:0"] == "exact" and kinds["c_edit:0"] == "near"


def test_stories(result):
    st = result.stories
    main = st.filter(pl.col("doc_id") == "a_wire").row(0, named=True)
    members = set(st.filter(pl.col("story_id") == main["story_id"])["doc_id"])
    assert members == {"a_wire", "b_copy", "c_edit", "g_part", "h_whole"}
    assert main["n_docs"] == 5 and main["first_published_at"] == D(2021, 8, 20, 9)


def test_deterministic_and_order_independent():
    docs, sents = synthetic()
    r1 = compute_overlap(docs, sents, encoder=None)
    r2 = compute_overlap(
        docs.sample(fraction=1.0, shuffle=True, seed=3),
        sents.sample(fraction=1.0, shuffle=True, seed=5),
        encoder=None,
    )
    for name in TABLES:
        assert getattr(r1, name).equals(getattr(r2, name)), name


def test_quote_share_forms():
    assert quote_share("Nazary said: “We are ready to fight for as long as it takes.”") > 0.6
    assert quote_share('"This is a long quoted statement about the war," he said.') > 0.6
    assert quote_share("No quotation marks in this plain sentence at all.") == 0.0
    assert quote_share("and we will keep fighting.” he said") > 0.5  # end of a multi-sentence quote
    assert quote_share("“We will fight until the end, and") == 1.0  # quote continues
    assert quote_share('He called it a "long-term conflict" in an interview on Sunday.') < 0.5
    assert quote_share("Afghan 'resistance' says it is ready") == 0.0
    assert quote_share("") == 0.0


def test_common_sentences_are_flagged_and_not_matched():
    boiler = "Sign up for our daily newsletter to get the latest headlines delivered to your inbox."
    docs = {
        f"n{i:02d}": (
            "Outlet",
            D(2021, 1, 1 + i),
            [UNRELATED[i % 4] + f" Item number {i} of the series.", boiler],
        )
        for i in range(10)
    }
    docs["x"] = ("Other", D(2021, 2, 1), [STORY[0], boiler])
    d, s = frames(docs)
    r = compute_overlap(d, s, encoder=None)
    f = r.sentence_flags
    assert f.filter(pl.col("sentence_id") == "n00:1")["is_common"][0] is True
    assert f.filter(pl.col("sentence_id") == "n00:1")["n_docs_same_hash"][0] == 11
    assert r.sentence_matches.filter(pl.col("sentence_id_a").str.ends_with(":1")).height == 0


def test_empty_inputs():
    d, s = frames({})
    r = compute_overlap(d, s, encoder=None)
    for name in TABLES:
        assert getattr(r, name).height == 0
    assert r.sentence_matches.columns[:4] == ["sentence_id_a", "sentence_id_b", "doc_id_a", "doc_id_b"]
    # documents without sentences and documents of one sentence
    d, s = frames({"a": ("S1", None, []), "b": ("S2", None, [STORY[0]]), "c": ("S3", None, [STORY[0]])})
    r = compute_overlap(d, s, encoder=None)
    assert r.sentence_matches.height == 1
    o = r.document_originality
    assert o.filter(pl.col("doc_id") == "a").row(0, named=True)["n_sentences"] == 0
    assert o.filter(pl.col("doc_id") == "a")["share_original"][0] is None
    assert r.stories.height == 3
    assert r.passages.height == 0  # one sentence is not a passage
    # one shared sentence and nothing else is an isolated similarity, not reuse: no document pair
    assert r.sentence_matches["relation"].to_list() == ["same_fact"]
    assert r.document_pairs.height == 0


def test_bad_input_raises_clearly():
    d, s = frames({"a": ("S", None, [STORY[0]])})
    with pytest.raises(ValueError, match="norm_hash"):
        compute_overlap(d, s.drop("norm_hash"), encoder=None)
    with pytest.raises(TypeError):
        compute_overlap(d.to_dicts(), s, encoder=None)


def test_identical_corpus_does_not_explode():
    n = 300
    docs = {f"d{i:03d}": (f"src{i:03d}", D(2021, 1, 1) + dt.timedelta(hours=i), STORY[:5]) for i in range(n)}
    d, s = frames(docs)
    t0 = time.perf_counter()
    r = compute_overlap(d, s, encoder=None)
    assert time.perf_counter() - t0 < 30
    # shared by 300 outlets: stock text, flagged common, never matched
    assert r.sentence_flags["is_common"].all()
    assert r.sentence_matches.height == 0
    # with the common rule relaxed, identical groups link to a representative (linear, not n^2)
    cfg = OverlapConfig(common_min_sources=10_000, common_min_docs_per_source=10_000)
    r = compute_overlap(d, s, encoder=None, config=cfg)
    assert r.sentence_matches.height == (n - 1) * 5
    assert (r.sentence_matches["doc_id_a"] == "d000").all()  # the earliest is the representative
    assert r.sentence_matches["kind"].unique().to_list() == ["exact"]
    assert r.stories["story_id"].n_unique() == 1
    orig = r.document_originality.filter(pl.col("doc_id") == "d150").row(0, named=True)
    assert orig["inferred_source_doc_id"] == "d000" and orig["share_exact"] == 1.0


def test_huge_sentence():
    big = " ".join(f"word{i % 997} token{i % 13}" for i in range(6000))  # ~ 60,000 characters
    big_edit = big.replace("word5 ", "changed ", 1) + " extra"
    d, s = frames(
        {
            "a": ("S1", D(2021, 1, 1), [big + ".", STORY[0]]),
            "b": ("S2", D(2021, 1, 2), [big + ".", STORY[0]]),
            "c": ("S3", D(2021, 1, 3), [big_edit + ".", UNRELATED[0]]),
        }
    )
    assert s["text"].str.len_chars().max() > 50_000
    t0 = time.perf_counter()
    r = compute_overlap(d, s, encoder=None)
    assert time.perf_counter() - t0 < 30
    m = r.sentence_matches
    assert m.filter((pl.col("sentence_id_a") == "a:0") & (pl.col("sentence_id_b") == "b:0"))[
        "kind"
    ].to_list() == ["exact"]
    ac = m.filter((pl.col("sentence_id_a") == "a:0") & (pl.col("sentence_id_b") == "c:0"))
    assert ac["kind"].to_list() == ["near"]


def test_progress_callback():
    d, s = synthetic()
    seen = []
    compute_overlap(d, s, encoder=None, progress=lambda step, done, total: seen.append((step, done, total)))
    steps = [x[0] for x in seen]
    assert "minhash" in steps and "stories" in steps
    assert all(0 <= done <= total for _, done, total in seen)


SAMPLE = REPO / "data" / "sample"
SAMPLE_META = {
    "000": ("AFP", None),
    "001": ("Press TV", None),
    "002": ("Washington Newsday", D(2021, 8, 22)),
    "003": ("blog", None),
    "004": ("AceNewsDesk", D(2021, 8, 24)),
}


@pytest.mark.skipif(
    importlib.util.find_spec("pipeline.core.normalize") is None
    or importlib.util.find_spec("pipeline.core.segment") is None,
    reason="segmenter and normaliser not available yet",
)
def test_sample_corpus():
    from pipeline.evaluation.overlap_scale import build_frames, text_tools

    recs = []
    for path in sorted(SAMPLE.glob("*.txt")):
        key = path.name[:3]
        src, pub = SAMPLE_META[key]
        recs.append(
            {"doc_id": key, "source": src, "published_at": pub, "title": None, "text": path.read_text()}
        )
    d, s = build_frames(recs, text_tools())
    r = compute_overlap(d, s, encoder=None)
    dp = {(x["doc_id_a"], x["doc_id_b"]): x for x in r.document_pairs.to_dicts()}
    # the content farm rewrote the wire story sentence by sentence
    wn = dp[("000", "002")]
    assert wn["n_paraphrase"] >= 8 and wn["n_paraphrase"] > wn["n_exact"] + wn["n_near"]
    assert (
        r.passages.filter((pl.col("doc_id_a") == "000") & (pl.col("doc_id_b") == "002"))["n_sentences"].max()
        >= 4
    )
    # the state broadcaster copied paragraphs
    ptv = dp[("000", "001")]
    assert ptv["n_exact"] + ptv["n_near"] >= 6
    # the aggregator holds wire passages, and BBC passages shared with the blog
    ace = dp[("000", "004")]
    assert ace["n_exact"] + ace["n_near"] >= 6
    blog = dp[("003", "004")]
    assert blog["n_exact"] + blog["n_near"] >= 3
    # the aggregator is dated after the content farm, but both are copies of the undated wire story:
    # no direction between them, and the wire is the source of every copy
    assert dp[("002", "004")]["direction"] == "undetermined"
    assert dp[("002", "004")]["common_source_doc_id"] == "000"
    orig = {x["doc_id"]: x for x in r.document_originality.to_dicts()}
    for doc in ("001", "002", "004"):
        assert orig[doc]["inferred_source_doc_id"] == "000", doc
    assert orig["000"]["share_original"] >= 0.9


@pytest.mark.slow
def test_semantic_tier(monkeypatch):
    from pipeline.core.embed import load_encoder

    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")  # the test session disables the tier by default
    reload_settings()
    enc, why = load_encoder()
    if enc is None:
        pytest.skip(why)
    d, s = synthetic()
    r = compute_overlap(d, s, encoder=enc)
    assert r.stats["semantic"]["ran"] is True
    # only document pairs whose lexical matches align are graded with embeddings (the focus pairs)
    assert r.stats["semantic_focus_pairs"] >= 2
    m = r.sentence_matches
    assert m.filter(pl.col("tier") == "semantic")["cosine"].is_not_null().all()
    edits = m.filter((pl.col("doc_id_a") == "a_wire") & (pl.col("doc_id_b") == "c_edit"))
    assert edits.height == 6 and (edits["kind"] == "near").all() and (edits["relation"] == "reuse").all()
    assert _pair(r, "e_q1", "f_q2")["quote_only"] is True


def test_template_families_are_common():
    docs = {}
    for i in range(12):
        link = hashlib.sha1(str(i).encode()).hexdigest()[:8]
        docs[f"t{i:02d}"] = (
            "Daily",
            D(2021, 3, 1 + i),
            [
                UNRELATED[i % 4] + f" This is item {i} of the city series.",
                f"Filed by the city desk under archive reference {link} for the records.",
            ],
        )
    docs["w1"] = ("Wire", D(2021, 3, 1), STORY[:4])
    docs["w2"] = ("Paper", D(2021, 3, 2), STORY[:4])
    d, s = frames(docs)
    r = compute_overlap(d, s, encoder=None)
    f = r.sentence_flags
    assert f.filter(pl.col("sentence_id").str.ends_with(":1") & pl.col("sentence_id").str.starts_with("t"))[
        "is_common"
    ].all()
    m = r.sentence_matches
    assert (
        m.filter(pl.col("sentence_id_a").str.ends_with(":1") & pl.col("doc_id_a").str.starts_with("t")).height
        == 0
    )
    assert _pair(r, "w1", "w2")["n_exact"] == 4
    assert r.stats["n_template_sentences"] >= 12


def test_sibling_is_not_named_source_of_a_copy():
    d, s = frames(
        {
            "x_orig": ("Wire", None, STORY[:6]),
            "y_sibling": ("Early", D(2021, 1, 1), EDITED[:2] + UNRELATED[:2]),
            "z_copy": ("Late", D(2021, 1, 5), STORY[:6]),
        }
    )
    r = compute_overlap(d, s, encoder=None)
    # the earlier sibling is not the copy's source: both are copies of the undated original
    p = _pair(r, "y_sibling", "z_copy")
    assert p["direction"] == "undetermined" and p["common_source_doc_id"] == "x_orig"
    assert "both may be copies of it" in p["direction_evidence"]
    assert _pair(r, "x_orig", "z_copy")["direction"] == "undetermined"
    o = r.document_originality.filter(pl.col("doc_id") == "z_copy").row(0, named=True)
    assert o["inferred_source_doc_id"] is None and o["added"] is None
    # once the original is dated, it is the inferred source
    d2 = d.with_columns(
        pl.when(pl.col("doc_id") == "x_orig")
        .then(pl.lit(D(2020, 12, 31)))
        .otherwise(pl.col("published_at"))
        .alias("published_at")
    )
    r2 = compute_overlap(d2, s, encoder=None)
    o2 = r2.document_originality.filter(pl.col("doc_id") == "z_copy").row(0, named=True)
    assert o2["inferred_source_doc_id"] == "x_orig" and o2["added"] == 0 and o2["dropped"] == 0


def test_scale_script_small_run(tmp_path):
    from pipeline.evaluation import overlap_scale

    if not (overlap_scale.shared_data_dir() / overlap_scale.CORPUS).is_file():
        pytest.skip("AllSides corpus not in the shared data directory")
    report = overlap_scale.run(limit=60)
    assert "## Wall time" in report and "| documents | 60 |" in report
    assert "Peak resident memory" in report


def _filler(tag: str, n: int) -> list[str]:
    """``n`` sentences of words found nowhere else (made from ``tag``)."""
    return [" ".join(f"{tag}{i}w{j}" for j in range(12)).capitalize() + "." for i in range(n)]


def test_sign_off_of_a_large_outlet_is_common():
    signoff = "Join us on Facebook for the latest opinion pieces from our columnists every day."
    docs = {
        f"b{i:04d}": (
            "Big",
            D(2020, 1, 1),
            [f"Unique opening line number {i} about topic {i * 3} today."] + ([signoff] if i < 25 else []),
        )
        for i in range(1500)
    }
    d, s = frames(docs)
    r = compute_overlap(d, s, encoder=None)
    # 25 documents are under 2 % of the outlet's 1,500, but 20 or more documents make it stock text
    assert r.sentence_flags.filter(pl.col("sentence_id") == "b0000:1")["is_common"][0] is True
    assert r.sentence_matches.height == 0


def test_a_few_shared_lines_do_not_make_a_story():
    shared = [STORY[0], STORY[1]]
    d, s = frames(
        {
            "long1": ("One", D(2021, 1, 1), _filler("x", 20) + shared + _filler("y", 20)),
            "long2": ("Two", D(2021, 1, 2), _filler("z", 20) + shared + _filler("w", 20)),
            "short": ("Three", D(2021, 1, 3), shared + UNRELATED[:3]),
        }
    )
    r = compute_overlap(d, s, encoder=None)
    p = _pair(r, "long1", "long2")
    assert p["n_exact"] == 2 and p["in_story"] is False
    # the short text is 40 % made of them: it belongs with its source
    assert _pair(r, "long1", "short")["in_story"] is True
    st = dict(zip(r.stories["doc_id"], r.stories["story_id"], strict=True))
    assert st["long1"] == st["short"] == st["long2"]  # linked through the short text
    # two shared lines do not make the earlier long text the source of the later one
    orig = {x["doc_id"]: x for x in r.document_originality.to_dicts()}
    assert orig["long2"]["inferred_source_doc_id"] is None
    assert orig["short"]["inferred_source_doc_id"] == "long1"
