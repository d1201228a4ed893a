"""Normalised sentence form used for matching."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.normalize import fold_spelling, normalize_sentence, normalize_tokens, sentence_hash


def test_quotes_dashes_and_apostrophes_fold():
    curly = "“The conditions for a peace deal is decentralisation — a system,” Mr Nazary’s aide said."
    straight = '"The conditions for a peace deal is decentralization -- a system," Mr Nazary\'s aide said.'
    assert normalize_sentence(curly) == normalize_sentence(straight)
    assert normalize_sentence(curly) == (
        "the conditions for a peace deal is decentralization a system mr nazarys aide said"
    )
    assert normalize_sentence("rock–solid rock‑solid rock-solid") == "rock solid rock solid rock solid"
    assert normalize_sentence("don’t don't don`t") == "dont dont dont"


def test_case_folding_and_nfkc():
    assert normalize_sentence("STRASSE Straße ﬁnance ＡＢＣ") == "strasse strasse finance abc"
    assert normalize_sentence("ÉCOLE") == normalize_sentence("école") == "école"
    assert normalize_sentence("e\u0301cole") == "école"  # composed by NFKC


def test_punctuation_removed_and_whitespace_collapsed():
    assert normalize_sentence("  Hello,\tworld!!  (really?)\n[yes]; ok…  ") == "hello world really yes ok"
    assert normalize_sentence("#AceNewsReport – Aug.24: ") == "acenewsreport aug 24"
    assert normalize_sentence("snake_case e-mail") == "snake case e mail"
    assert normalize_sentence("") == ""
    assert normalize_sentence("¿¡…!?") == ""


def test_numbers_keep_their_digits():
    assert normalize_sentence("around 9,000 people") == "around 9000 people"
    assert normalize_sentence("1,000,000 and 3.5% and $100.00.") == "1000000 and 3.5 and 100.00"
    assert normalize_sentence("September 11, 2001 attacks") == "september 11 2001 attacks"
    assert normalize_sentence("version 1.2.3, 4") == "version 1.2.3 4"
    assert normalize_sentence("२०२१ ٢٠٢١") == "२०२१ ٢٠٢١"


def test_other_scripts_keep_letters_and_marks():
    assert normalize_sentence("हिन्दी में।") == "हिन्दी में"
    assert normalize_sentence("Привет, МИР!") == "привет мир"
    # Han and kana are written without spaces: one token per character, so CJK sentences are matchable
    assert normalize_sentence("中文，测试。") == "中 文 测 试"
    assert normalize_sentence("東京で会見") == "東 京 で 会 見"


def test_invisible_format_characters_are_dropped():
    assert normalize_sentence("news\u200bpaper re\u200dport") == "newspaper report"
    assert normalize_sentence("\ufeff\u202aTaliban\u202c fighters\u00ad") == "taliban fighters"
    assert sentence_hash(normalize_sentence("Kab\u200bul")) == sentence_hash(normalize_sentence("Kabul"))


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("decentralisation", "decentralization"),
        ("defence", "defense"),
        ("defences", "defenses"),
        ("armoured", "armored"),
        ("neighbour", "neighbor"),
        ("neighbourhood", "neighborhood"),
        ("neighbouring", "neighboring"),
        ("programme", "program"),
        ("organise", "organize"),
        ("organisations", "organizations"),
        ("realised", "realized"),
        ("prioritise", "prioritize"),
        ("recognising", "recognizing"),
        ("criticised", "criticized"),
        ("apologise", "apologize"),
        ("colour", "color"),
        ("favourite", "favorite"),
        ("honourable", "honorable"),
        ("labour", "labor"),
        ("behaviour", "behavior"),
        ("centre", "center"),
        ("centred", "centered"),
        ("theatres", "theaters"),
        ("kilometres", "kilometers"),
        ("offence", "offense"),
        ("licence", "license"),
        ("travelled", "traveled"),
        ("cancelling", "canceling"),
        ("analyse", "analyze"),
        ("paralysed", "paralyzed"),
        ("grey", "gray"),
        ("sceptical", "skeptical"),
        ("judgement", "judgment"),
        ("manoeuvre", "maneuver"),
        ("jewellery", "jewelry"),
    ],
)
def test_spelling_pairs_fold_to_one_form(british, american):
    assert normalize_sentence(british) == american
    assert normalize_sentence(american) == american


@pytest.mark.parametrize(
    "word",
    [
        "four",
        "hour",
        "your",
        "tour",
        "pour",
        "flour",
        "devour",
        "contour",
        "detour",
        "our",
        "promise",
        "premise",
        "compromise",
        "uncompromising",
        "expertise",
        "treatise",
        "otherwise",
        "advertise",
        "enterprise",
        "franchise",
        "exercise",
        "surprise",
        "supervise",
        "televise",
        "revise",
        "raise",
        "praise",
        "noise",
        "wise",
        "rise",
        "arise",
        "cruise",
        "precise",
        "concise",
        "paradise",
        "demise",
        "disguise",
        "comprise",
        "despise",
        "chastise",
        "crisis",
        "analysis",
        "decision",
        "precision",
        "massacre",
        "acre",
        "genre",
        "mediocre",
        "ogre",
        "fence",
        "hence",
        "silence",
        "sentence",
        "evidence",
        "science",
        "pence",
        "tell",
        "well",
        "scalise",
        "louise",
        "all",
        "fell",
        "hell",
        "wellness",
    ],
)
def test_spelling_fold_leaves_other_words_alone(word):
    assert fold_spelling(word) == word
    assert normalize_sentence(word) == word


def test_tokens_match_sentence():
    text = "The Taliban’s neighbour, Pakistan, said 9,000 fighters were there."
    assert normalize_tokens(text) == normalize_sentence(text).split()
    assert normalize_tokens(text) == [
        "the",
        "talibans",
        "neighbor",
        "pakistan",
        "said",
        "9000",
        "fighters",
        "were",
        "there",
    ]


def test_hash_is_stable_hex():
    norm = normalize_sentence("Panjshir has always been a beacon of hope.")
    h = sentence_hash(norm)
    assert h == sentence_hash(norm)
    assert re.fullmatch(r"[0-9a-f]{16}", h)
    assert h != sentence_hash(norm + " x")
    # pinned values: hashes are stored in the warehouse, so they must never change between releases
    assert norm == "panjshir has always been a beacon of hope"
    assert h == "61af28ad770f60f7"
    assert sentence_hash("") == "e4a6a0577479b2b4"
    assert len(sentence_hash("\ud800 lone surrogate")) == 16


def test_rejects_non_str():
    with pytest.raises(TypeError, match="expects str"):
        normalize_sentence(None)  # type: ignore[arg-type]


_ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200)
_WORDY = st.lists(
    st.sampled_from(
        [
            "Colour",
            "defence",
            "9,000",
            "3.5",
            "1.2.3",
            "don’t",
            "'",
            ",",
            ".",
            "“",
            "—",
            "-",
            " ",
            "organisation",
            "\u0301",
            "ﬁ",
            "ß",
            "İ",
            "ǅ",
            "Σ",
            "ς",
            "\x00",
            "\x01",
            "_",
            "¹",
            "½",
            "Ⅻ",
            "ﬃ",
            "ǈ",
            "ΐ",
            "\u0345",
            "ﬀ",
            "㎏",
            "\ud800",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_ANY_TEXT, _WORDY))
def test_property_idempotent(text):
    once = normalize_sentence(text)
    assert normalize_sentence(once) == once
    assert once == once.strip() and "  " not in once
    assert normalize_tokens(text) == (once.split() if once else [])
