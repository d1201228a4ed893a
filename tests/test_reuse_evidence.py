"""Reuse is decided with document-level evidence: regression guards for the families of false matches
seen on real news (boilerplate, stock reporting lines, widgets and post signatures, same-topic
statements), and for the reuse that must stay found."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import numpy as np
import polars as pl
import pytest

from pipeline.config import reload_settings
from pipeline.core.evidence import EvidenceConfig, _heaviest_chain, classify_matches
from pipeline.core.normalize import normalize_sentence
from pipeline.core.overlap import compute_overlap
from pipeline.core.stock import cue_of, load_model
from pipeline.evaluation.reuse_precision import DATA as JUDGED
from pipeline.evaluation.reuse_precision import load_judged, wilson
from tests.test_overlap import frames as overlap_frames

D = dt.datetime


def frames(docs: dict[str, tuple[str, dt.datetime | None, list[str]]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Overlap input frames from {doc_id: (source, published_at, [sentences])}, normalised as the pipeline does."""
    return overlap_frames(docs, norm=normalize_sentence)


def reuse_pairs(result) -> set[tuple[str, str]]:
    m = result.sentence_matches.filter(pl.col("relation") == "reuse")
    return set(zip(m["doc_id_a"].to_list(), m["doc_id_b"].to_list(), strict=True))


# two independently written articles on unrelated subjects, used as bodies around shared lines
BODY_A = [
    "The state legislature passed a measure on Thursday that would expand broadband access to rural counties.",
    "Supporters said the bill would bring high-speed internet to nearly 200,000 households within three years.",
    "Opponents argued that the cost estimates had not been reviewed by the budget office before the vote.",
    "The governor is expected to sign the measure next week at a ceremony in the capital.",
]
BODY_B = [
    "A federal judge in Ohio blocked a new rule on Monday that would have changed how overtime pay is calculated.",
    "The ruling came after a coalition of business groups sued the Labor Department in the spring.",
    "Lawyers for the administration said they were reviewing the decision and weighing an appeal.",
    "The rule would have affected roughly four million salaried workers across the country.",
]


def _two_docs(shared_a: list[str], shared_b: list[str], src_a="Outlet One", src_b="Outlet Two"):
    return frames(
        {
            "doc_a": (src_a, D(2019, 3, 1), BODY_A[:2] + shared_a + BODY_A[2:]),
            "doc_b": (src_b, D(2019, 3, 9), BODY_B[:2] + shared_b + BODY_B[2:]),
        }
    )


@pytest.mark.parametrize(
    "family, shared_a, shared_b",
    [
        (
            "site promos, bios and disclaimers shared by one organisation's labels",
            [
                "Members get all of our content, including exclusive podcasts and newsletters.",
                "John Carter is editor in chief emeritus of The Times.",
                "The opinions expressed in this commentary are his own.",
            ],
            [
                "Members get all of our content, including exclusive podcasts and newsletters.",
                "John Carter is editor in chief emeritus of The Times.",
                "The opinions expressed in this commentary are his own.",
            ],
        ),
        (
            "stock reporting lines written independently",
            [
                "A spokesman for the agency did not immediately respond to a request for comment on Thursday.",
                "The official spoke on condition of anonymity because he was not authorized to discuss the matter publicly.",
                "The poll has a margin of error of plus or minus three percentage points.",
            ],
            [
                "Lawyers for the company did not immediately respond to a request for comment.",
                "The aide spoke on condition of anonymity because she was not authorized to discuss the matter publicly.",
                "The survey has a margin of error of plus or minus three percentage points.",
            ],
        ),
        (
            "video widgets and post signature lines",
            [
                "JUST WATCHED Senate passes the budget bill Replay More Videos ...",
                "— Donald J. Trump (@realDonaldTrump) June 26, 2017",
                "This is a developing story.",
            ],
            [
                "JUST WATCHED Senate passes the budget bill Replay More Videos ...",
                "— Donald J. Trump (@realDonaldTrump) June 26, 2017",
                "This is a developing story.",
            ],
        ),
        (
            "same-topic statements that disagree",
            [
                "The Obama administration has made real diplomatic progress in its negotiations with Tehran.",
            ],
            [
                "The Obama administration has heightened tensions in the region with its embrace of Iran.",
            ],
        ),
        (
            "one identical sentence and nothing else",
            ["Senators voted 52 to 48 on Tuesday to confirm the nominee after a bruising month-long fight."],
            ["Senators voted 52 to 48 on Tuesday to confirm the nominee after a bruising month-long fight."],
        ),
    ],
)
def test_false_match_families_are_not_reuse(family, shared_a, shared_b):
    d, s = _two_docs(shared_a, shared_b, src_b="Outlet One Opinion" if "labels" in family else "Outlet Two")
    r = compute_overlap(d, s, encoder=None)
    assert reuse_pairs(r) == set(), family
    assert r.document_pairs.filter(pl.col("relation") == "reuse").height == 0, family
    assert r.stories["n_docs"].max() == 1, family
    # no document is said to derive from the other
    assert r.document_originality["inferred_source_doc_id"].is_null().all(), family
    # whatever was matched is labelled for what it is
    assert set(r.sentence_matches["relation"].to_list()) <= {"stock", "same_fact", "quote"}, family


def test_boilerplate_lines_are_stock_whatever_the_corpus_size():
    d, s = _two_docs(
        ["— Donald J. Trump (@realDonaldTrump) June 26, 2017", "Sign up for our morning newsletter here."],
        ["— Donald J. Trump (@realDonaldTrump) June 26, 2017", "Sign up for our morning newsletter here."],
    )
    f = compute_overlap(d, s, encoder=None).sentence_flags
    reasons = dict(zip(f["sentence_id"].to_list(), f["stock_reason"].to_list(), strict=True))
    assert reasons["doc_a:2"] == "post_signature" and reasons["doc_a:3"] == "promo"
    assert not f.filter(pl.col("stock_reason").is_not_null())["matchable"].any()


def test_cues():
    assert cue_of("JUST WATCHED Trump on the wall Replay More Videos ...") == "video_widget"
    assert cue_of("— Donald J. Trump (@realDonaldTrump) June 26, 2017") == "post_signature"
    assert cue_of("Jane Doe is a senior fellow at the Brookings Institution.") == "bio"
    # a bio only at a document's edges, and never a long reporting sentence about a person
    assert cue_of("Jane Doe is a senior fellow at the Brookings Institution.", edge=False) is None
    assert (
        cue_of("The president said the talks with Beijing were going well and would resume next week.")
        is None
    )


def test_stock_model_ships_and_covers_formulas():
    m = load_model()
    assert not m.meta.get("missing"), "pipeline/core/stock_model/ is missing"
    assert m.meta["n_stock_ngrams"] == len(m.ngrams) > 1000
    formula = normalize_sentence("He did not immediately respond to a request for comment.").split()
    story = normalize_sentence(
        "Massoud's forces crossed the Panjshir river with armoured humvees at dawn."
    ).split()
    assert m.cover(formula) >= 0.6
    assert m.cover(story) < 0.3


def test_copy_with_stock_lines_inside_is_reuse_and_lone_lines_are_not():
    wire = BODY_A + [
        "A spokesman for the governor did not immediately respond to a request for comment.",
        "The broadband office will publish a map of eligible counties in the fall, officials said.",
        "Rural advocates have pushed for the expansion for more than a decade.",
    ]
    copy = ["Local news desk."] + wire[:6] + ["Our reporters will follow the story."]
    d, s = frames({"wire": ("Wire", D(2019, 3, 1, 9), wire), "copy": ("Paper", D(2019, 3, 1, 15), copy)})
    r = compute_overlap(d, s, encoder=None)
    m = r.sentence_matches
    assert reuse_pairs(r) == {("copy", "wire")}
    # the formula inside the copied passage is copied along with it
    formula = m.filter(pl.col("index_b") == 4)
    assert formula["relation"].to_list() == ["reuse"]
    p = r.document_pairs.row(0, named=True)
    assert p["relation"] == "reuse" and p["n_aligned"] >= 5


def test_heaviest_chain_keeps_order_in_both_documents():
    ia = np.array([0, 1, 2, 3, 5])
    ib = np.array([0, 5, 1, 2, 3])
    assert _heaviest_chain(ia, ib, np.array([1, 1, 1, 0.5, 1.0])).tolist() == [0, 2, 3, 4]
    # two matches of one sentence never chain
    assert len(_heaviest_chain(np.array([0, 0]), np.array([1, 2]), np.array([1.0, 1.0]))) == 1


def test_rewordings_in_order_make_reuse_only_when_they_carry_a_text_over():
    base = {
        "sentence_id_a": [],
        "sentence_id_b": [],
        "doc_id_a": [],
        "doc_id_b": [],
        "index_a": [],
        "index_b": [],
        "kind": [],
        "score": [],
        "is_quote": [],
    }
    norms = {"sentence_id": [], "norm": []}
    for k in range(4):
        base["sentence_id_a"].append(f"a:{k}")
        base["sentence_id_b"].append(f"b:{k}")
        base["doc_id_a"].append("a")
        base["doc_id_b"].append("b")
        base["index_a"].append(k)
        base["index_b"].append(k)
        base["kind"].append("paraphrase")
        base["score"].append(0.7)
        base["is_quote"].append(False)
        norms["sentence_id"] += [f"a:{k}", f"b:{k}"]
        norms["norm"] += [
            f"zebra{k} quokka{k} wombat{k} lemur{k} tapir{k}",
            f"okapi{k} gecko{k} ibis{k} heron{k}",
        ]
    m = pl.DataFrame(base)
    n = pl.DataFrame(norms)
    cfg = EvidenceConfig()
    short = pl.DataFrame({"doc_id": ["a", "b"], "n_matchable": [5, 6]})
    long = pl.DataFrame({"doc_id": ["a", "b"], "n_matchable": [40, 40]})
    # a short text reworded sentence by sentence: a rewritten copy
    assert set(classify_matches(m, n, cfg, doc_sizes=short)["relation"]) == {"reuse"}
    assert set(classify_matches(m.head(3), n, cfg, doc_sizes=short)["relation"]) == {"same_fact"}
    # four rewordings in order in two long articles: the same facts reported twice, not a copy
    assert set(classify_matches(m, n, cfg, doc_sizes=long)["relation"]) == {"same_fact"}


def test_sample_corpus_reuse(sample_warehouse):
    """The bundled story: AFP's copies share text with it; the blog only quotes the same speakers."""
    con = duckdb.connect(str(sample_warehouse / "wiretrace.duckdb"), read_only=True)
    rows = con.sql(
        """SELECT source_a, source_b, count(*) FILTER (WHERE relation = 'reuse')
           FROM marts.sentence_matches GROUP BY ALL"""
    ).fetchall()
    reuse = {frozenset((a, b)): n for a, b, n in rows}
    assert reuse[frozenset(("AFP", "AceNewsDesk"))] >= 20
    assert reuse[frozenset(("AFP", "Press TV"))] >= 8
    # Washington Newsday rewords AFP sentence by sentence: found by the lexical tiers alone too
    assert reuse[frozenset(("AFP", "Washington Newsday"))] >= 12
    # the blog ("unknown") shares quotations and single lines with the others, never aligned text
    blog = [n for pair, n in reuse.items() if "unknown" in pair]
    assert blog and all(n == 0 for n in blog)
    pairs = con.sql("SELECT source_a, source_b, relation FROM marts.document_pairs").fetchall()
    blog_pairs = [rel for a, b, rel in pairs if "unknown" in (a, b)]
    assert blog_pairs and all(rel == "quote" for rel in blog_pairs)
    con.close()


def test_judged_samples_are_complete_and_scored():
    files = sorted(JUDGED.glob("*.jsonl"))
    if not files:
        pytest.skip("no judged samples in pipeline/evaluation/data/reuse")
    for f in files:
        head, items = load_judged(f)
        assert head.get("seed") and head.get("commit"), f.name
        # a sample may hold no cross-outlet reuse at all; what it reports is then counted, not judged
        assert sum(head["counts"].get(k, 0) for k in ("exact", "near", "paraphrase")) >= sum(
            it["item"] == "sentence_match" for it in items
        ), f.name
        for it in items:
            assert it["label"] in ("Y", "N"), f"{f.name}: unjudged item {json.dumps(it)[:120]}"
    lo, hi = wilson(36, 40)
    assert 0.76 < lo < 0.9 < hi < 0.98


REWORDING = (
    "Since the Taliban seized power after their rapid advance on Kabul, thousands of Afghans have travelled "
    "to Panjshir to join the fight and to find a safe haven, Ali Maisam Nazary said."
)


@pytest.mark.slow
def test_rewording_inside_a_reworded_copy_is_found(monkeypatch, tmp_path):
    """The content farm's rewording of AFP, with one sentence reworded differently again: every
    rewording is matched as reuse with the shipped default (semantic tier and verifier)."""
    import shutil

    from pipeline.core.run import run_pipeline
    from tests.conftest import SAMPLE

    monkeypatch.setenv("WIRETRACE_SEMANTIC", "1")
    reload_settings()
    from pipeline.core.embed import semantic_status

    ok, why = semantic_status()
    if not ok:
        pytest.skip(why)
    landing = tmp_path / "landing"
    landing.mkdir()
    for name in ("000_a020b76b82dd7d40.txt", "002_891b653182602a72.txt"):
        shutil.copy(SAMPLE / name, landing / name)
    shutil.copy(SAMPLE / "manifest.csv", landing / "manifest.csv")
    wn = landing / "002_891b653182602a72.txt"
    lines = wn.read_text(encoding="utf-8").split("\n\n")
    assert lines[2].startswith("Thousands of people have traveled to Panjshir")
    lines[2] = REWORDING
    wn.write_text("\n\n".join(lines), encoding="utf-8")
    run_pipeline(landing, tmp_path / "wh")
    con = duckdb.connect(str(tmp_path / "wh" / "wiretrace.duckdb"), read_only=True)
    rows = con.sql(
        """SELECT m.relation, m.kind, sa.text, sb.text FROM marts.sentence_matches m
           JOIN staging.sentences sa ON sa.sentence_id = m.sentence_id_a
           JOIN staging.sentences sb ON sb.sentence_id = m.sentence_id_b"""
    ).fetchall()
    con.close()
    reuse = [r for r in rows if r[0] == "reuse"]
    # Washington Newsday rewords AFP sentence by sentence (14 pairs at least)
    assert len(reuse) >= 14
    assert any(REWORDING in (a, b) for _rel, _k, a, b in reuse)


def test_stock_model_builder_keeps_what_recurs_across_months(tmp_path):
    """The builder's principle on a tiny corpus: a line recurring over many months is stock; a
    story's sentence copied by many outlets within days is not."""
    from pipeline.core.stock import StockModel, sentence_key
    from pipeline.evaluation import build_stock_model as B

    rows = []
    formula = "The agency did not immediately respond to a request for comment on the matter."
    wire = "The senate approved the broadband measure by a vote of sixty one to thirty nine on Thursday."
    for i in range(30):
        month = f"20{12 + i // 12}-{1 + i % 12:02d}-15"
        rows.append(
            {
                "id": f"f{i}",
                "outlet": f"outlet{i % 6}",
                "date_iso": month,
                "text": f"Filler number {i} here. {formula}",
            }
        )
    for i in range(30):
        rows.append({"id": f"w{i}", "outlet": f"outlet{i % 6}", "date_iso": "2019-03-01", "text": wire})
    corpus = tmp_path / "c.parquet"
    pl.DataFrame(rows).write_parquet(corpus)
    out = tmp_path / "model"
    assert B.main(["--corpus", str(corpus), "--out", str(out)]) == 0
    m = StockModel.load(out)
    toks = normalize_sentence(formula).split()
    assert m.is_stock_sentence(np.array([sentence_key(toks)], dtype=np.uint64))[0]
    assert m.cover(toks) == 1.0
    wire_toks = normalize_sentence(wire).split()
    assert m.cover(wire_toks) == 0.0
    # deterministic: the same corpus gives the same files
    out2 = tmp_path / "model2"
    B.main(["--corpus", str(corpus), "--out", str(out2)])
    assert (out / "ngrams.bin").read_bytes() == (out2 / "ngrams.bin").read_bytes()
