"""Sentence segmentation: news typography, the sample articles, invariants, bad input."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import split_sentences
from pipeline.core.normalize import sentence_hash
from pipeline.core.segment import Span, split_paragraphs

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "sample"


def sents(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def check_invariants(text: str, spans: list[Span]) -> None:
    covered = bytearray(len(text))
    prev_end = 0
    prev_para = 0
    for i, span in enumerate(spans):
        assert 0 <= span.start < span.end <= len(text)
        assert span.start >= prev_end, "spans overlap or are out of order"
        assert text[span.start : span.end] == span.text
        assert not span.text[0].isspace() and not span.text[-1].isspace()
        if i == 0:
            assert span.paragraph == 0
        else:
            assert span.paragraph - prev_para in (0, 1)
        prev_end, prev_para = span.end, span.paragraph
        covered[span.start : span.end] = b"\x01" * (span.end - span.start)
    for i, ch in enumerate(text):
        if not ch.isspace():
            assert covered[i], f"non-whitespace character {ch!r} at {i} is in no span"


# --------------------------------------------------------------------------------------------
# the contract


def test_span_is_a_frozen_slotted_dataclass_with_offsets():
    text = "  First one here.  Second one.\n\nThird paragraph.  "
    spans = split_sentences(text)
    assert [s.text for s in spans] == ["First one here.", "Second one.", "Third paragraph."]
    assert [s.paragraph for s in spans] == [0, 0, 1]
    assert (spans[0].start, spans[0].end) == (2, 17)
    assert dataclasses.is_dataclass(Span) and not hasattr(spans[0], "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spans[0].start = 3  # type: ignore[misc]


def test_split_paragraphs_on_blank_lines():
    text = "A line\nanother line\n \n\t\nNext paragraph.\r\n\r\nLast."
    paras = split_paragraphs(text)
    assert [text[s:e] for s, e in paras] == ["A line\nanother line", "Next paragraph.", "Last."]
    assert [s.paragraph for s in split_sentences(text)] == [0, 1, 2]


def test_empty_and_whitespace_only():
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t \r\n ") == []


def test_rejects_non_str():
    with pytest.raises(TypeError, match="expects str"):
        split_sentences(b"bytes are not text")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# news typography


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Smith met Mrs. Jones and Dr. Brown at St. Mary's church.",
        "Gen. Mark Milley, Sen. Mitch McConnell and Rep. Ilhan Omar (D-MN) spoke on Monday.",
        "The U.S. Senate and the U.K. government agreed on Aug. 30 to meet in Sept. again.",
        "Lawmakers voted on H.R. 1 and on bill No. 5 before the recess.",
        "Some tools, e.g. hammers, i.e. the simple ones, etc. are allowed.",
        "Inflation hit 3.5 percent in March, up from 2.75 percent.",
        "He said he would think about it ... and then he left the room.",
        "“If this fails… then we’re not going to accept any sort of aggression.”",
        "The Panjshir region – in particular the Panjshir Valley – is famous for its defences.",
        "He teaches science (He previously worked for 5 years as an engineer.) at the local school.",
        "KABUL (AFP) - The Taliban said on Monday that hundreds of fighters were heading north.",
        "WASHINGTON, Aug. 30 (Reuters) - President Joe Biden spoke at 5 p.m. on Monday.",
        "Bush nominated Jennifer M. Anderson and J. K. Rowling was not there.",
        "She works at Yahoo! in the accounting department.",
        'She turned to him, "This is great." she said.',
        "Her email is jane.doe@example.com and the site is www.example.com/news.html today.",
        "Shares of Acme Inc. rose 5% while Apple Inc. fell.",
        "SANTA ROSA, Calif. (AP) — Frustration and anger mounted on Monday.",
        "MARIANNA, Fla. — It should have been an easy year for Republicans.",
        "National security adviser H.R. McMaster spoke at the Martin Luther King Jr. Day vigil.",
        "Voters rejected Prop. 8 and Pfc. John Smith was honoured.",
    ],
)
def test_one_sentence(text):
    assert sents(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bring food, water, etc. The trip is long.", ["Bring food, water, etc.", "The trip is long."]),
        ("I live in the U.S. How about you?", ["I live in the U.S.", "How about you?"]),
        (
            "It was made by Boeing Co. The rest came later.",
            ["It was made by Boeing Co.", "The rest came later."],
        ),
        (
            "He lives in Newtown, Conn. The school is near.",
            ["He lives in Newtown, Conn.", "The school is near."],
        ),
        ('He said "yes." Then he left.', ['He said "yes."', "Then he left."]),
        ("He said “yes.” Then he left.", ["He said “yes.”", "Then he left."]),
        ("He said 'yes.' Then he left.", ["He said 'yes.'", "Then he left."]),
        ("It was over... The next day came.", ["It was over...", "The next day came."]),
        ("It was over… The next day came.", ["It was over…", "The next day came."]),
        ("What now?! Nobody knows!! Really?", ["What now?!", "Nobody knows!!", "Really?"]),
        ("She has $100.00. It is in her bag.", ["She has $100.00.", "It is in her bag."]),
        ('"He is here. He left." Then silence.', ['"He is here.', 'He left."', "Then silence."]),
        ("A caption line without a period\nThe article begins here.", None),
        ("Prices rose 4% in 2021. 5 analysts expected less.", None),
    ],
)
def test_several_sentences(text, expected):
    if expected is None:
        expected = [x.strip() for x in text.replace("2021. ", "2021.\n").splitlines()]
    assert sents(text) == expected


def test_quote_ending_in_comma_stays_with_its_attribution():
    text = '"Mr Saleh is in Panjshir. He opted to stay in the country and not flee," Nazary said, noting his stance.'
    assert sents(text) == [
        '"Mr Saleh is in Panjshir.',
        'He opted to stay in the country and not flee," Nazary said, noting his stance.',
    ]
    assert sents('"We will not flee," Nazary said. He left.') == [
        '"We will not flee," Nazary said.',
        "He left.",
    ]


def test_question_in_quote_followed_by_attribution():
    assert sents("“Can they come over?” I asked. She agreed.") == [
        "“Can they come over?” I asked.",
        "She agreed.",
    ]
    assert sents('"Why?" Smith asked. Nobody knew.') == ['"Why?" Smith asked.', "Nobody knew."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Having one group will lead to conflict,” he said.”We prefer peace,” Mr Nazary added.",
            ["Having one group will lead to conflict,” he said.”", "We prefer peace,” Mr Nazary added."],
        ),
        (
            "Press for a new system of government.The NRF says more.",
            ["Press for a new system of government.", "The NRF says more."],
        ),
        (
            "They feel threatened by the Taliban”.Living under the Taliban is hard.",
            ["They feel threatened by the Taliban”.", "Living under the Taliban is hard."],
        ),
    ],
)
def test_glued_sentences_are_split(text, expected):
    assert sents(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Visit AcePCHelp.WordPress.Com for tips.",
        "Her email is Jane.Doe@example.com today.",
        "The U.S.Army unit left.",
        "Version 2.0.1 was released.",
    ],
)
def test_glued_periods_that_are_not_boundaries(text):
    assert sents(text) == [text]


def test_line_breaks_end_captions_and_headlines_but_not_wrapped_lines():
    text = (
        "Afghan Resistance Ready For Conflict\n"
        "Former forces are preparing for conflict, their spokesman said.\n"
        "Resistance fighters in Panjshir\n"
        "The NRF says it wants to pursue peaceful negotiations before fighting\n"
        "\n"
        "The resistance said it\n"
        "would fight on, and the\n"
        "Taliban said the same."
    )
    assert sents(text) == [
        "Afghan Resistance Ready For Conflict",
        "Former forces are preparing for conflict, their spokesman said.",
        "Resistance fighters in Panjshir",
        "The NRF says it wants to pursue peaceful negotiations before fighting",
        "The resistance said it\nwould fight on, and the\nTaliban said the same.",
    ]


def test_hard_wrapped_paragraph_is_read_as_one_block():
    text = (
        "The resistance movement in the valley is led by Ahmad\n"
        "Massoud, son of the late commander, who was killed in\n"
        "2001. Mr. Nazary said the group had thousands of\n"
        "fighters. They are ready."
    )
    assert sents(text) == [
        "The resistance movement in the valley is led by Ahmad\nMassoud, son of the late commander, who was killed in\n2001.",
        "Mr. Nazary said the group had thousands of\nfighters.",
        "They are ready.",
    ]


def test_headline_list_of_similar_lengths_is_not_read_as_wrapped():
    lines = [
        "Taliban says hundreds of fighters heading to Panjshir valley",
        "Biden defends withdrawal as evacuation continues in Kabul",
        "UK military says seven Afghans killed in crowds near airport",
        "Resistance leader Massoud calls for weapons and support now",
    ]
    assert sents("\n".join(lines)) == lines


def test_abbreviation_at_line_end_joins_the_next_line():
    assert sents("A statement by Sen.\nJohn Smith was read.") == ["A statement by Sen.\nJohn Smith was read."]


def test_bullets_and_list_markers():
    assert sents("• 9. The first item • 10. The second item") == [
        "• 9. The first item",
        "• 10. The second item",
    ]
    assert sents("1. Introduction\n2. Methods") == ["1. Introduction", "2. Methods"]
    assert sents("1.) The first item. 2.) The second item.") == [
        "1.) The first item.",
        "2.) The second item.",
    ]


def test_footnote_marks_stay_with_their_sentence():
    assert sents("He was born in Exeter. [3] He studied there.") == [
        "He was born in Exeter. [3]",
        "He studied there.",
    ]


def test_cjk_full_stops():
    assert sents("今天天气很好。我们去公园吧！好吗？") == ["今天天气很好。", "我们去公园吧！", "好吗？"]


# --------------------------------------------------------------------------------------------
# the sample articles


def _sample(prefix: str) -> str:
    (path,) = SAMPLES.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.txt")), ids=lambda p: p.name[:3])
def test_samples_invariants(path):
    text = path.read_text(encoding="utf-8")
    spans = split_sentences(text)
    assert len(spans) > 10
    check_invariants(text, spans)


def test_sample_caption_with_rep_and_hr_is_one_sentence():
    out = sents(_sample("001"))
    caption = [s for s in out if s.startswith("US Rep. Ilhan Omar")]
    assert caption == [
        "US Rep. Ilhan Omar (D-MN) (L) talks with Speaker of the House Nancy Pelosi (D-CA) during a rally "
        "with fellow Democrats before voting on H.R. 1, or the People Act, on the East Steps of the US "
        "Capitol on March 08, 2019 in Washington, DC."
    ]
    assert "(AFP photo)" in out
    assert "Afghan 'resistance' in Panjshir valley says ready for anti-Taliban fight" in out


def test_sample_multi_sentence_quote_with_attribution():
    out = sents(_sample("000"))
    i = out.index('"Mr Saleh is in Panjshir.')
    assert out[i + 1].startswith('He opted to stay in the country and not flee," Nazary said, noting Saleh')
    assert out[i + 1].endswith("Taliban-supporting neighbour.")
    assert '"The Taliban are overstretched.' in out
    assert 'They do not have support amongst the majority."' in out
    # the headline line is its own sentence, as is the copyright line's first part
    assert out[0] == "Afghan Resistance Ready For Conflict But Prefers Negotiations"


def test_sample_glued_quote_and_attribution():
    out = sents(_sample("004"))
    i = next(k for k, s in enumerate(out) if s.startswith("We prefer peace, we prioritise peace"))
    assert out[i - 1].endswith("current conflict,” he said.”")
    assert out[i] == "We prefer peace, we prioritise peace and negotiations,” Mr Nazary added."
    assert "Resistance fighters in Panjshir" in out
    assert "The NRF says it wants to pursue peaceful negotiations before fighting" in out


def test_sample_mr_with_period_and_curly_quotes():
    out = sents(_sample("002"))
    assert "“Mr. Saleh has arrived in Panjshir." in out
    assert any(s.startswith("He chose to stay in Afghanistan rather than flee,” Nazary said") for s in out)


# --------------------------------------------------------------------------------------------
# properties and bad input

_PIECES = st.sampled_from(
    [
        ".",
        "!",
        "?",
        "...",
        "…",
        ". . .",
        '."',
        ".”",
        "’",
        "'",
        '"',
        "“",
        "(",
        ")",
        "[1]",
        "[...]",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        "\u2028",
        "\u2029",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x85",
        "\u00a0",
        "•",
        "—",
        "–",
        "-",
        "Mr",
        "U.S",
        "e.g",
        "No",
        "I",
        "a",
        "The",
        "word",
        "3.5",
        "1",
        "2.",
        "Aug",
        "said",
        "\x00",
        "\x01",
        "\ud800",
        "\udfff",
        "字",
        "。",
        "！",
        "ф",
        "ß",
        "é",
        "\u0301",
        "www.x.com",
        "@",
        ":",
    ]
)
_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300),
    st.lists(_PIECES, max_size=80).map("".join),
    st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=60).map("".join),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_property_spans_partition_the_text(text):
    check_invariants(text, split_sentences(text))


@settings(max_examples=30, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=20).map("".join), st.integers(min_value=500, max_value=3000))
def test_property_long_lines(piece, repeat):
    text = piece * repeat
    check_invariants(text, split_sentences(text))


@pytest.mark.timeout(60)
def test_bad_input_is_linear_and_never_crashes():
    big = "word " * 2_000_000  # 10 MB, no punctuation, no line break
    spans = split_sentences(big)
    assert len(spans) == 1 and spans[0].end == len(big) - 1
    controls = "".join(chr(c) for c in range(32) if not chr(c).isspace()) * 60_000  # ~1.6 MB
    spans = split_sentences(controls + ". Next one.")
    assert spans[-1].text == "Next one."
    for bad in ("." * 1_000_000 + " " * 1_000_000 + "a", "Mr. " * 200_000, "\n \n" * 300_000, "a." * 500_000):
        check_invariants(bad, split_sentences(bad))


def test_sentences_command_prints_json_lines(capsys, tmp_path):
    from pipeline.cli import main

    path = tmp_path / "a.txt"
    path.write_text(
        "Mr. Smith’s defence programme costs 9,000 dollars. He left.\n\nNext paragraph", encoding="utf-8"
    )
    assert main(["sentences", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["index"] for r in lines] == [0, 1, 2]
    assert [r["paragraph"] for r in lines] == [0, 0, 1]
    first = lines[0]
    assert first["text"] == "Mr. Smith’s defence programme costs 9,000 dollars."
    assert first["normalized"] == "mr smiths defense program costs 9000 dollars"
    assert first["hash"] == sentence_hash(first["normalized"]) and re.fullmatch(
        r"[0-9a-f]{16}", first["hash"]
    )
    text = path.read_text(encoding="utf-8")
    assert all(text[r["start"] : r["end"]] == r["text"] for r in lines)


def test_sentences_command_missing_file(capsys, tmp_path):
    from pipeline.cli import main

    assert main(["sentences", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# evaluation


def test_boundary_scores_count_trimmed_end_offsets():
    from pipeline.evaluation.sentseg import boundary_scores

    doc = {
        "text": "One two. Three four.  Five",
        "sentences": [
            {"start": 0, "end": 9},  # trailing space is not part of the end
            {"start": 9, "end": 22},
            {"start": 22, "end": 26},
        ],
    }
    perfect = boundary_scores([doc], [[(0, 8), (9, 20), (22, 26)]])
    assert (perfect["tp"], perfect["fp"], perfect["fn"], perfect["f1"]) == (3, 0, 0, 1.0)
    merged = boundary_scores([doc], [[(0, 20), (22, 26), (5, 7)]])
    assert (merged["tp"], merged["fp"], merged["fn"]) == (2, 1, 1)


def test_gum_dev_f1_does_not_regress():
    from pipeline.evaluation.sentseg import boundary_scores, load_jsonl, shared_data_dir

    path = shared_data_dir() / "eval" / "sentseg" / "ud_gum_nonnews.jsonl"
    if not path.is_file():
        pytest.skip(f"GUM development set not found ({path.name}); set WIRETRACE_SHARED_DATA")
    docs = load_jsonl(path)
    pred = [[(s.start, s.end) for s in split_sentences(d["text"])] for d in docs]
    scores = boundary_scores(docs, pred)
    assert scores["f1"] >= 0.985, scores  # BlingFire, the best of the other systems: 0.983


def test_sentences_command_reads_stdin_and_replaces_bad_bytes(capsys, monkeypatch):
    import io
    import sys

    from pipeline.cli import main

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Caf\xe9 closed. It reopened.")))
    assert main(["sentences", "-"]) == 0
    captured = capsys.readouterr()
    assert "not valid UTF-8" in captured.err
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["text"] for r in lines] == ["Caf\ufffd closed.", "It reopened."]
