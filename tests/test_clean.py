"""The clean stage: boilerplate removal, span accounting, metadata, bad input, command line."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import clean_document
from pipeline.cli import main as cli_main
from pipeline.core.clean import REASONS, CleanError, paragraph_texts, reconstruct
from pipeline.evaluation.boilerplate import prf, tokens

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "sample"


def sample(name: str):
    path = next(SAMPLES.glob(f"{name}_*.txt"))
    return clean_document(path.read_bytes())


def removed(result) -> list[tuple[str, str]]:
    return [(r.reason, r.text) for r in result.removed]


def assert_consistent(result) -> None:
    """Spans cover every character of the input but whitespace, each span's text is its slice and has
    content, and .text is built from kept spans."""
    assert reconstruct(result) == result.input_text
    covered = [False] * len(result.input_text)
    for span in [*result.kept, *result.removed]:
        assert result.input_text[span.start : span.end] == span.text
        assert span.text.strip() == span.text != ""  # never whitespace, never whitespace at an edge
        covered[span.start : span.end] = [True] * (span.end - span.start)
    assert all(c or ch.isspace() for c, ch in zip(covered, result.input_text, strict=True))
    for span in result.removed:
        assert span.reason in REASONS
    assert "\n\n".join(paragraph_texts(result)) == result.text
    for h in result.headings:
        assert result.text[h.start : h.end] == h.text
        assert result.text.split("\n\n")[h.paragraph] == h.text


# --------------------------------------------------------------------------------------------------
# the five sample articles


def test_sample_000_afp_wire_copy():
    r = sample("000")
    assert_consistent(r)
    assert removed(r) == [
        ("title", "Afghan Resistance Ready For Conflict But Prefers Negotiations"),
        ("copyright", "© Copyright AFP 2024. All rights reserved."),
    ]
    assert r.title == "Afghan Resistance Ready For Conflict But Prefers Negotiations"
    assert r.published_at is None  # the footer year is the page's, not the story's
    paragraphs = r.text.split("\n\n")
    assert len(paragraphs) == 24
    assert paragraphs[0].startswith("Former Afghan government forces forming a resistance movement")
    assert paragraphs[-1] == '"Panjshir has always been a beacon of hope."'
    assert r.headings == []


def test_sample_001_press_tv():
    r = sample("001")
    assert_consistent(r)
    got = removed(r)
    reasons = [reason for reason, _ in got]
    assert reasons == [
        "breadcrumb",
        "title",
        "caption",
        "photo_credit",
        "caption",
        "photo_credit",
        "alternate_addresses",
        "alternate_addresses",
    ]
    assert got[0][1].replace("\xa0", " ").split() == ["News", "/", "Afghanistan"]
    assert got[1][1] == "Afghan 'resistance' in Panjshir valley says ready for anti-Taliban fight"
    assert got[2][1].startswith("US Rep. Ilhan Omar (D-MN) (L) talks with Speaker")
    assert got[3][1].strip() == "(AFP photo)"
    assert got[4][1].startswith("Newly absorbed personnel in the Afghan security forces")
    assert got[5][1].strip() == "(Photo by AFP)"
    assert got[6][1] == "Press TV’s website can also be accessed at the following alternate addresses:"
    assert got[7][1] == "Press TV News Roku"
    text = r.text
    assert text.startswith("Former Afghan government forces forming a resistance movement in Panjshir")
    assert text.endswith("Many Afghans remain skeptical, however.")
    # a glued quote + sentence stays whole
    assert '"who feel threatened by the Taliban".\xa0 Nazary stressed that the aim right now' in text
    assert '"Panjshir has always been a beacon of hope."' in text


def test_sample_002_spun_copy_date_prefix_and_promo_tail():
    r = sample("002")
    assert_consistent(r)
    assert removed(r) == [
        ("metadata_line", "date 2021-08-22"),
        ("promo_glued", "Brief News from Washington Newsday."),
    ]
    assert r.published_at == "2021-08-22"
    paragraphs = r.text.split("\n\n")
    # the headline sentence ends with a full stop: it is kept as text, not taken as the title
    assert paragraphs[0] == "The Afghan resistance is prepared to fight, but prefers to negotiate."
    assert r.title is None
    assert paragraphs[-1] == (
        "“Mr. Saleh is anti-Pakistani and anti-Taliban. This does not imply that he is a member of the "
        "movement. He’s currently in Panjshir."
    )
    assert len(paragraphs) == 15


def test_sample_003_blog_widgets_and_subheads():
    r = sample("003")
    assert_consistent(r)
    assert removed(r) == [
        ("title", "Meet The Anti-Taliban Fighters Defending Afghanistan’s Last Safe Haven"),
        ("source_link", "Source link"),
        ("author_box", "About Author"),
        ("comment_widget", "Leave a Reply"),
        ("comment_widget", "Your email address will not be published. Required fields are marked *"),
    ]
    assert [h.text for h in r.headings] == [
        "Panjshir is not just a safe haven against the Taliban",
        "Will they fall to the Taliban?",
    ]
    text = r.text
    # short quoted speech and short sentences stay
    assert "One told Al Jazeera news agency: “We are going to rub their faces in the ground.”" in text
    assert "“America, Europe, China, Russia, all of them are quiet.”" in text
    assert "Nazary also made it clear that it might not even come to that." in text
    assert text.endswith("then we’re not going to accept any sort of aggression.”")


def test_sample_004_aggregator():
    r = sample("004")
    assert_consistent(r)
    got = removed(r)
    assert [reason for reason, _ in got] == [
        "title",
        "metadata_line",
        "caption",
        "caption",
        "photo_credit",
        "caption",
        "caption",
        "photo_credit",
        "caption",
        "caption",
        "photo_credit",
        "teaser",
        "caption",
        "caption",
        "photo_credit",
        "promo_glued",
        "video_player",
        "video_player",
        "metadata_line",
        "disclaimer",
        "hashtags",
    ]
    texts = [t for _, t in got]
    assert texts[1] == "#AceNewsReport – Aug.24:"
    assert texts[2:4] == [
        "Resistance fighters in Panjshir",
        "The NRF says it wants to pursue peaceful negotiations before fighting",
    ]
    assert texts[4] == "Reuters"  # only the credit glued to "Ahmad Massoud"
    assert texts[5:8] == [
        "Children of local Afghan residents carrying hunting rifles and a flag",
        "Pockets of resistance have begun to emerge since the Taliban took over.",
        "(AFP: Ahmad Sahel Arman)",
    ]
    # the related-story box of the page the text was taken from
    assert texts[11].startswith("With the Taliban saying their leaders will now show themselves to the world")
    assert texts[11].endswith("here are the key figures in the movement.")
    assert texts[14] == "(Reuters:\xa0Mohammad Ismail)"
    assert texts[15].startswith("Living under the Taliban as a womanShamsiya and her four sisters")
    assert texts[16:18] == [
        "Play Video. Duration: 8 minutes 3 seconds",
        "The Taliban are back. What happens now?",
    ]
    assert texts[18] == "#AceNewsDesk report ………Published: Aug.24: 2021:"
    assert texts[19].startswith("Editor says …Sterling Publishing & Media Service Agency is not responsible")
    assert texts[20] == "#afghanistan, #islamic-emirate"
    assert r.title.endswith("not yet controlled by the group")
    assert "#AceNewsDesk" not in r.title
    assert r.published_at == "2021-08-24"
    assert [h.text for h in r.headings] == ["‘Beacon of hope’"]
    text = r.text
    assert text.startswith("Since the #Taliban took control of Afghanistan, flickers of resistance")
    assert "\n\nAhmad Massoud, the son of resistance icon Ahmad Shah Massoud, founded the NRF\n\n" in text
    # the real sentence before the glued teaser is kept up to its closing quote and full stop
    assert "politicians “who feel threatened by the Taliban”.\n\n" in text
    # quotes glued without a space are real text, not promotions
    assert "in the country.”The NRF believes that for lasting peace" in text
    assert "“Panjshir has always been a beacon of hope.”" in text
    assert text.endswith("“Panjshir has always been a beacon of hope.”")
    assert "Shamsiya" not in text and "Play Video" not in text and "(AFP" not in text


# --------------------------------------------------------------------------------------------------
# rules on their own


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Home » World » Asia", "breadcrumb"),
        ("Share this article", "share_widget"),
        ("Facebook Twitter Email", "share_widget"),
        ("Advertisement", "advertisement"),
        ("Story continues below advertisement", "advertisement"),
        ("Read more: Floods hit the northern valley", "read_more"),
        ("Sign up for our daily newsletter", "subscribe_prompt"),
        ("Leave a comment", "comment_widget"),
        ("About the Author", "author_box"),
        ("Source link", "source_link"),
        ("Play Video. Duration: 2 minutes 10 seconds", "video_player"),
        ("#floods, #valley", "hashtags"),
        ("© 2021 Example Media Ltd. All rights reserved.", "copyright"),
        ("Getty Images", "photo_credit"),
        ("Photo: AFP", "photo_credit"),
        ("Published: 22 August 2021", "metadata_line"),
        ("By Jane Doe", "metadata_line"),
        ("Disclaimer: the views expressed are the author's own.", "disclaimer"),
        ("Joe Raedle/Getty Images", "photo_credit"),
        ("(Image Credit: Brendan Smialowski/AFP/Getty Images)", "photo_credit"),
        ("Enlarge this image toggle caption Tom Williams/AP Tom Williams/AP", "caption"),
        ("Slideshow (5 Images)", "caption"),
        ("* * *", "separator"),
        ("The Associated Press contributed to this report.", "metadata_line"),
        ("Story Continued Below", "advertisement"),
        ("China furious at Macron for Hong Kong protest jibe [INSIGHT]", "teaser"),
        ("Follow us on Twitter @example and on Facebook.", "share_widget"),
    ],
)
def test_boilerplate_lines_are_removed_with_their_reason(line, reason):
    text = f"The council met on Monday to discuss the new budget for the schools.\n{line}\nThe vote is due next week, officials said."
    r = clean_document(text)
    assert_consistent(r)
    assert removed(r) == [(reason, line)]
    assert r.text == (
        "The council met on Monday to discuss the new budget for the schools.\n\nThe vote is due next week, officials said."
    )


@pytest.mark.parametrize(
    "line",
    [
        "“We will not leave,” she said.",
        "He said he would follow the debate on Twitter.",
        "The company said it would subscribe to the plan.",
        "Yes.",
        "It rained.",
        "Reuters reported the news first, citing two sources.",
        "The photo was taken by a soldier in 2001.",
        "Share prices fell 3% on Monday.",
        "Advertisements for the event ran for weeks before the vote.",
        "By the Numbers",
        "WSJ/NBC poll shows a tie.",
        "So how about that? [APPLAUSE]",
        "Get started with the new plan here.",
        "James Smith contributed $500 to the campaign.",
        "Officials said the talks would resume on Friday (Reuters)",
        "He spoke on Fox.Jane Doe later wrote about the segment for HuffPost and explained it.",
        "Here’s what the senator said on those points, verbatim.",
        "(Credit bureaus are partly regulated by several agencies.)",
    ],
)
def test_real_sentences_are_kept(line):
    text = f"The council met on Monday to discuss the new budget for the schools.\n{line}\nThe vote is due next week."
    r = clean_document(text)
    assert removed(r) == []
    assert line in r.text.split("\n\n")


def test_glued_credit_only_the_credit_is_removed():
    r = clean_document(
        "First paragraph of the story, with enough words in it.\nAFPThe minister arrived on Monday.\nLast line here."
    )
    assert removed(r) == [("photo_credit", "AFP")]
    assert "The minister arrived on Monday." in r.text.split("\n\n")


def test_caption_pair_next_to_credit_line():
    text = (
        "The rescue began at dawn, officials said.\n\n"
        "Rescuers search the rubble\n"
        "Teams worked through the night.(Reuters: John Smith)\n\n"
        "More than 200 people were rescued, the ministry said."
    )
    r = clean_document(text)
    assert removed(r) == [
        ("caption", "Rescuers search the rubble"),
        ("caption", "Teams worked through the night."),
        ("photo_credit", "(Reuters: John Smith)"),
    ]
    assert (
        r.text
        == "The rescue began at dawn, officials said.\n\nMore than 200 people were rescued, the ministry said."
    )


def test_line_shared_by_real_sentence_and_inline_promo():
    text = "Officials said the road would reopen “within days”.Life in the valley after the floodFarmers say they have lost most of their crops this year.\nSecond line."
    r = clean_document("Intro sentence of the article goes here.\n" + text)
    assert removed(r)[0][0] == "promo_glued"
    assert removed(r)[0][1].startswith("Life in the valley after the flood")
    assert "Officials said the road would reopen “within days”." in r.text.split("\n\n")


def test_crlf_and_nfc_normalisation():
    raw = "Cafe\u0301 owners protested on Monday.\r\nAdvertisement\r\nThe protest ended peacefully.\r"
    r = clean_document(raw)
    assert r.input_text == "Café owners protested on Monday.\nAdvertisement\nThe protest ended peacefully.\n"
    assert_consistent(r)
    assert r.text == "Café owners protested on Monday.\n\nThe protest ended peacefully."


def test_bytes_input_is_decoded():
    raw = "Caf\xe9 owners protested on Monday in the old town square.".encode("cp1252")
    r = clean_document(raw)
    assert r.text == "Café owners protested on Monday in the old town square."
    assert r.encoding == "cp1252" and r.repairs == ["decoded:cp1252"]


# --------------------------------------------------------------------------------------------------
# the reconstruction invariant

BOILERPLATE_LINES = [
    "Advertisement",
    "Share this article",
    "Source link",
    "Leave a Reply",
    "© Copyright AFP 2024. All rights reserved.",
    "Play Video. Duration: 8 minutes 3 seconds",
    "#afghanistan, #islamic-emirate",
    "(AFP photo)",
    "ReutersAhmad Massoud, the son of the commander",
    " date 2021-08-22 The valley is calm.",
    "He said “yes”.Living under the Taliban as a womanShamsiya and her sisters were born there.",
    "News / Afghanistan",
    "Read more: the story",
    "Press TV’s website can also be accessed at the following alternate addresses:",
    "Will they fall?",
    "",
    "   ",
]
line_strategy = st.one_of(
    st.sampled_from(BOILERPLATE_LINES),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.text(alphabet=" \t\n\r\xa0.,:;!?()[]“”‘’'\"#@©/-–—…aAbBzZ09", max_size=60),
)


def test_whitespace_is_layout_not_a_removed_span():
    text = (
        "  Kabul residents queued for bread on Monday, witnesses said.   \r\n\r\n\r\n"
        "\tAdvertisement\t\n\n"
        "   The market reopened after three days, traders said.\n   \n"
    )
    r = clean_document(text)
    assert_consistent(r)
    assert removed(r) == [("advertisement", "Advertisement")]  # the only content that went
    assert [k.text for k in r.kept] == [
        "Kabul residents queued for bread on Monday, witnesses said.",
        "The market reopened after three days, traders said.",
    ]
    assert "whitespace" not in REASONS
    # nothing removed at all: no span, however much layout the page has
    assert clean_document("\n\n   A quiet story about the valley, told in full.  \n\n\n").removed == []


def test_reconstruct_rejects_content_outside_the_spans():
    from pipeline.core.clean import CleanResult, KeptSpan, RemovedSpan

    inp = "One kept line.\n\nAdvertisement\n"
    kept = [KeptSpan(0, 14, "One kept line.", 0)]
    ad = RemovedSpan(16, 29, "Advertisement", "advertisement", "line_rules")
    assert reconstruct(CleanResult("One kept line.", inp, "text", kept, [ad])) == inp
    with pytest.raises(ValueError, match="in no span"):  # "Advertisement" accounted for by nothing
        reconstruct(CleanResult("One kept line.", inp, "text", kept, []))
    with pytest.raises(ValueError, match="overlaps"):
        reconstruct(CleanResult("", inp, "text", kept, [ad, RemovedSpan(10, 20, inp[10:20], "teaser", "x")]))
    with pytest.raises(ValueError, match="trims badly"):  # whitespace is never part of a span
        reconstruct(
            CleanResult("", inp, "text", kept, [RemovedSpan(14, 29, inp[14:29], "advertisement", "x")])
        )


@settings(max_examples=300, deadline=None)
@given(st.lists(line_strategy, max_size=25), st.sampled_from(["\n", "\n\n", "\r\n", "\r"]))
def test_reconstruction_invariant_property(lines, sep):
    r = clean_document(sep.join(lines))
    assert_consistent(r)
    assert r.status in ("ok", "empty")
    assert (r.status == "empty") == (r.text == "")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data):
    try:
        r = clean_document(data)
    except CleanError as exc:
        assert exc.reason in ("binary", "undecodable")
        return
    assert_consistent(r)


# --------------------------------------------------------------------------------------------------
# HTML


PAGE = """<!DOCTYPE html><html><head><title>Valley residents rebuild after floods | Example News</title>
<meta property="og:title" content="Valley residents rebuild after floods">
<meta name="author" content="Jane Doe"><meta property="article:published_time" content="2021-08-22T10:00:00Z">
<meta property="og:site_name" content="Example News"></head><body>
<nav><a href="/">Home</a> / <a href="/world">World</a></nav>
<article><h1>Valley residents rebuild after floods</h1>
<p>Residents of the northern valley began rebuilding their homes on Sunday after the worst floods in a decade swept through the region, local officials said.</p>
<p>A man clears mud from his shop in the valley. (AFP photo)</p>
<p>"We have lost everything, but we will stay," said Karim Ahmadi, a shopkeeper whose store was destroyed by the water.</p>
<h2>Aid arrives slowly</h2>
<p>Aid groups said supplies were reaching the area only slowly because several bridges had been washed away by the floods.</p>
<p>Advertisement</p>
<p>The government has promised compensation to families who lost their homes, but many residents say they have not yet received any help.</p>
<p>Sign up for our daily newsletter</p>
<p>© 2021 Example News. All rights reserved.</p>
</article><footer>Contact us</footer></body></html>"""


def test_html_page_metadata_headings_and_rules():
    r = clean_document(PAGE, kind="html")
    assert_consistent(r)
    assert r.status == "ok"
    assert r.title == "Valley residents rebuild after floods"
    assert r.published_at == "2021-08-22"
    assert r.author == "Jane Doe"
    assert r.sitename == "Example News"
    paragraphs = r.text.split("\n\n")
    assert paragraphs == [
        "Residents of the northern valley began rebuilding their homes on Sunday after the worst floods in a "
        "decade swept through the region, local officials said.",
        '"We have lost everything, but we will stay," said Karim Ahmadi, a shopkeeper whose store was destroyed '
        "by the water.",
        "Aid arrives slowly",
        "Aid groups said supplies were reaching the area only slowly because several bridges had been washed "
        "away by the floods.",
        "The government has promised compensation to families who lost their homes, but many residents say they "
        "have not yet received any help.",
    ]
    assert [h.text for h in r.headings] == ["Aid arrives slowly"]
    reasons = {reason for reason, _ in removed(r)}
    assert {"caption", "photo_credit", "advertisement", "subscribe_prompt", "copyright"} <= reasons
    # the headline goes to metadata, not to the body
    assert "Valley residents rebuild" not in r.text


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("", "no_text"),
        ("<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>", None),
        ("<html><body><p>Advertisement</p><p>Share this article</p></body></html>", None),
        ("<html><<<<<>>>>><body <p <div>>>", None),
        ("\x00\x01binary\x02", None),
    ],
)
def test_html_without_article_is_empty(html, reason):
    r = clean_document(html, kind="html")
    assert r.status == "empty"
    assert r.text == ""
    assert r.empty_reason in ("no_text", "no_article", "all_boilerplate", "not_article")
    if reason:
        assert r.empty_reason == reason
    assert_consistent(r)


def test_malformed_html_keeps_the_text():
    html = "<html><body><p>Unclosed <b>tag <div><p>Another paragraph that is long enough to be real text here.</html></html><<<>>"
    r = clean_document(html, kind="html")
    assert r.status == "ok"
    assert "Another paragraph that is long enough to be real text here." in r.text


# --------------------------------------------------------------------------------------------------
# bad input


def test_bad_arguments_raise_clean_error():
    with pytest.raises(CleanError) as exc:
        clean_document(123)  # type: ignore[arg-type]
    assert exc.value.reason == "bad_type"
    with pytest.raises(CleanError) as exc:
        clean_document("text", kind="pdf")
    assert exc.value.reason == "bad_kind"
    with pytest.raises(CleanError):
        clean_document(b"%PDF-1.4\x00\x00\x01\x02\x03" * 50)


def test_all_boilerplate_text_is_empty():
    r = clean_document("Share\nAdvertisement\nLeave a Reply\n© 2024 Example. All rights reserved.")
    assert (r.status, r.empty_reason, r.text) == ("empty", "all_boilerplate", "")
    assert_consistent(r)
    r = clean_document("   \n\n  ")
    assert (r.status, r.empty_reason) == ("empty", "no_text")


def test_large_text_without_line_breaks():
    sentence = "The council said on Monday that it would review the plan again. "
    no_breaks = sentence * 320_000  # about 20 MB on one line
    t = time.perf_counter()
    r = clean_document(no_breaks)
    assert time.perf_counter() - t < 30
    assert r.status == "ok" and len(r.text) == len(no_breaks.strip())
    assert reconstruct(r) == r.input_text


def test_too_many_lines_is_a_clean_error():
    from pipeline.core.clean.text import MAX_LINES

    with pytest.raises(CleanError) as exc:
        clean_document("x\n" * (MAX_LINES + 1))
    assert exc.value.reason == "too_large"


def _page(n: int) -> str:
    sentence = "The council said on Monday that it would review the plan again. "
    return "<html><body>" + ("<p>" + sentence * 3 + "</p><div>Share</div>\n") * n + "</body></html>"


def test_large_html_page():
    page = _page(10_000)  # about 2 MB
    t = time.perf_counter()
    r = clean_document(page, kind="html")
    assert time.perf_counter() - t < 30
    assert r.status == "ok" and r.text.count("review the plan again") > 20_000


@pytest.mark.slow
def test_20mb_html_page():
    page = _page(95_000)
    assert len(page) > 20_000_000
    t = time.perf_counter()
    r = clean_document(page, kind="html")
    assert time.perf_counter() - t < 240
    assert r.status == "ok"
    assert reconstruct(r) == r.input_text


# --------------------------------------------------------------------------------------------------
# command line


def test_cli_prints_clean_text(tmp_path, capsys):
    path = tmp_path / "page.txt"
    path.write_text(
        "Title Of The Story\nThe first sentence of the story is here.\nAdvertisement\nThe end of it.\n"
    )
    assert cli_main(["clean", str(path)]) == 0
    assert capsys.readouterr().out == "The first sentence of the story is here.\n\nThe end of it.\n"
    assert cli_main(["clean", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["title"] == "Title Of The Story"
    assert {"reason": "advertisement", "stage": "line_rules"}.items() <= [
        r for r in d["removed"] if r["reason"] == "advertisement"
    ][0].items()
    html = tmp_path / "page.html"
    html.write_text(PAGE)
    assert cli_main(["clean", str(html)]) == 0
    assert capsys.readouterr().out.startswith("Residents of the northern valley")


def test_cli_jsonl_batch_with_bad_records(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "text": "A sentence of the story here.\nAdvertisement"}),
                "{not json",
                json.dumps({"id": "c", "body": "no text field"}),
                json.dumps({"id": "d", "html": PAGE}),
                json.dumps(["not", "an", "object"]),
            ]
        )
    )
    out = tmp_path / "out.jsonl"
    assert cli_main(["clean", "--jsonl", str(src), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert rows[0]["id"] == "a" and rows[0]["text"] == "A sentence of the story here."
    assert rows[0]["removed"] == [
        {"start": 30, "end": 43, "text": "Advertisement", "reason": "advertisement", "stage": "line_rules"}
    ]
    assert "error" in rows[1] and "error" in rows[2] and "error" in rows[4]
    assert rows[2]["id"] == "c"
    assert rows[3]["id"] == "d" and rows[3]["title"] == "Valley residents rebuild after floods"


def test_cli_missing_file(tmp_path, capsys):
    assert cli_main(["clean", str(tmp_path / "nope.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# evaluation metric


def test_bag_of_words_metric():
    assert tokens("The cat, the HAT!") == {"the": 2, "cat": 1, "hat": 1}
    assert prf("a b c", "a b c") == (1.0, 1.0, 1.0)
    p, r, f = prf("a a b", "a b c d")
    assert (p, r) == (pytest.approx(2 / 3), pytest.approx(0.5))
    assert f == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert prf("", "a") == (0.0, 0.0, 0.0)


def test_aeb_sample_beats_trafilatura_alone():
    from pipeline.evaluation.boilerplate import shared_data

    path = shared_data() / "eval" / "boilerplate" / "scrapinghub_aeb.jsonl.gz"
    if not path.exists():
        pytest.skip("shared evaluation data not found (set WIRETRACE_SHARED_DATA)")
    import trafilatura

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for _, line in zip(range(30), fh, strict=False)]
    ours = sum(prf(clean_document(r["html"], kind="html").text, r["gold_text"])[2] for r in rows) / len(rows)
    base = sum(prf(trafilatura.extract(r["html"]) or "", r["gold_text"])[2] for r in rows) / len(rows)
    assert ours >= base
    assert ours > 0.95


def test_hard_wrapped_paragraphs_are_joined():
    text = (
        "Headline Of The Day\n\n"
        "The council met on Monday to discuss the budget for the\n"
        "coming year and agreed, after a long debate, to review the\n"
        "plan again next week. Members said the schools would get\n"
        "more money.\n\n"
        "A broken line that was cut in the\n"
        "middle of a sentence.\n\n"
        "Short list:\nApples\nPears\n"
    )
    r = clean_document(text)
    assert_consistent(r)
    assert r.text.split("\n\n") == [
        "The council met on Monday to discuss the budget for the coming year and agreed, after a long debate, "
        "to review the plan again next week. Members said the schools would get more money.",
        "A broken line that was cut in the middle of a sentence.",
        "Short list:",
        "Apples",
        "Pears",
    ]


def test_related_links_and_tags_under_a_header():
    text = (
        "The council met on Monday to discuss the budget for the coming year.\n\n"
        "Related stories\n"
        "Floods hit the northern valley again\n"
        "Schools to reopen next week, officials say\n\n"
        "Tags:\nbudget, council, schools, valley\n\n"
        "The vote is due next week, officials said."
    )
    r = clean_document(text)
    assert_consistent(r)
    assert [(s.reason, s.text) for s in r.removed] == [
        ("read_more", "Related stories"),
        ("read_more", "Floods hit the northern valley again"),
        ("read_more", "Schools to reopen next week, officials say"),
        ("read_more", "Tags:"),
        ("read_more", "budget, council, schools, valley"),
    ]
    assert r.text == (
        "The council met on Monday to discuss the budget for the coming year.\n\nThe vote is due next week, officials said."
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "<p>",
                    "</p>",
                    "<div>",
                    "</div>",
                    "<h2>",
                    "</h2>",
                    "<script>",
                    "<!--",
                    "-->",
                    "<",
                    ">",
                    "&amp;",
                    "<br/>",
                    "<table><tr><td>",
                ]
            ),
            st.text(max_size=40),
            st.sampled_from(BOILERPLATE_LINES),
        ),
        max_size=40,
    )
)
def test_arbitrary_html_never_crashes(parts):
    try:
        r = clean_document("<html><body>" + "".join(parts), kind="html")
    except CleanError as exc:
        assert exc.reason == "extraction_failed"
        return
    assert_consistent(r)
    assert (r.status == "empty") == (r.text == "")


def test_unknown_html_option_is_a_clean_error():
    with pytest.raises(CleanError) as exc:
        clean_document(PAGE, kind="html", html_options={"favour_precision": True})
    assert exc.value.reason == "bad_option"
