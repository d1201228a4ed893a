"""Normalised sentence form used for matching sentences across outlets.

``normalize_sentence(text)`` applies, in order:

1. Unicode NFKC (full-width forms, ligatures, compatibility characters), case folding
   (``str.casefold``), then NFKC again so that the result is stable;
2. typography folding: curly quotes, primes, backticks and other apostrophe-like characters
   become ``'``; double quotes (straight, curly, angle), hyphens, en/em dashes and the minus sign
   are punctuation and end up as a plain space, so ``“yes” — no`` and ``"yes" -- no`` give the
   same result;
3. apostrophes inside a word are dropped (``Massoud's`` and ``Massoud’s`` -> ``massouds``,
   ``don't`` -> ``dont``); thousands separators between digits are dropped (``9,000`` ->
   ``9000``); a period between digits is kept (``3.5``);
4. invisible format characters (zero-width space and joiners, bidi controls, soft hyphen, BOM)
   are dropped (``news\u200bpaper`` -> ``newspaper``); every other punctuation, symbol or control
   character (and ``_``) becomes a space (``anti-Taliban`` -> ``anti taliban``); letters, digits
   and combining marks of every script are kept; Han and kana characters, written without spaces,
   are one token each (``经济增长`` -> ``经 济 增 长``);
5. whitespace is collapsed to single spaces, leading/trailing whitespace removed;
6. British spellings are folded to American ones, per token:

   * ``-our`` -> ``-or`` for a curated list of stems (colour, favour, honour, labour, neighbour,
     behaviour, harbour, humour, rumour, armour, endeavour, flavour, odour, vigour, valour,
     savour, saviour, splendour, tumour, parlour, clamour, rigour, ardour, candour, fervour,
     vapour, demeanour) with their inflections and derivations (``neighbourhood``,
     ``favourite``, ``armoured``, ``honourable``); never ``four``, ``hour``, ``tour``, ``pour``,
     ``your``, ``flour``, ``devour``, ``contour``;
   * ``-ise``/``-isation``/``-ising``/``-iser`` -> ``-ize``... for words whose stem ends in a
     productive ending (``-al``, ``-il``, ``-an``, ``-ar``, ``-er``, ``-or``, ``-ic``, ``-at``,
     ``-ot``, ``-on``, ``-og``, ``-gn``, ``-ur``, ``-ul``, ``-em``, ``-om``, ``-im``, ``-it``,
     ``-id``, ``-ol``, ``-un``, ``-yn``, ``-ath``, ``-iv``) and at least two letters before it
     (``decentralisation``, ``organise``, ``recognised``, ``prioritise``, ``apologising``),
     except a list of words where ``-ise`` is the only spelling (``compromise``, ``treatise``,
     ``expertise``, ``premise``, ``otherwise`` ...); ``analyse``/``paralyse``/``catalyse`` ->
     ``-yze``;
   * ``-tre`` -> ``-ter`` for centre, theatre, metre (kilometre ...), litre, fibre, calibre,
     sabre, sombre, spectre, lustre, meagre, mitre, reconnoitre, manoeuvre -> maneuver;
   * ``-ence`` -> ``-ense`` for defence, offence, licence, pretence (and ``defenceless``);
   * doubled ``l`` before an inflection (travelled, travelling, traveller, cancelled, labelled,
     modelling, fuelled, signalled, channelled, counselling, levelled, marvellous, jewellery ...);
   * single words: programme -> program, grey -> gray, tyre -> tire, plough -> plow, mould ->
     mold, sceptic -> skeptic, aluminium -> aluminum, cheque -> check, ageing -> aging,
     judgement -> judgment, acknowledgement, enrol/enrolment, fulfil/fulfilment, skilful,
     wilful, catalogue -> catalog, analogue -> analog, moustache, pyjamas, storey -> story,
     kerb -> curb, draught -> draft, paediatric, haemorrhage, anaemia, leukaemia, oestrogen,
     foetus, diarrhoea, orthopaedic, encyclopaedia, manoeuvre.

Numbers keep their digits. ``sentence_hash`` is a 16-hex-digit BLAKE2b digest of the normalised
form. ``normalize_tokens`` returns the tokens of the normalised form. Everything is built from
precompiled patterns, translation tables and a cached per-word spelling map, so one call costs a
few microseconds.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["normalize_sentence", "normalize_tokens", "sentence_hash", "fold_spelling"]

# --------------------------------------------------------------------------------------------
# character tables

# apostrophe-like characters folded to "'" (then dropped inside words); double quotes and dashes
# are punctuation and become spaces like every other punctuation character
_APOSTROPHES = "‘’‚‛′‵ʹʻʼʽʾʿˈ`´ꞌ＇"
_KEEP_FOR_CONTEXT = "',."  # decided from their neighbours: 9,000 / 3.5 / don't


class _UnicodeTable(dict):
    """Translation table for non-ASCII text, filled lazily one code point at a time.

    Letters, digits and combining marks of every script map to themselves, apostrophe-like
    characters to "'", ``' , .`` stay for the context rules, invisible format characters (category
    Cf: zero-width space and joiners, bidi controls, soft hyphen, BOM) are dropped, everything else
    (punctuation, symbols, controls, lone surrogates, "_") becomes a space.
    """

    def __missing__(self, cp: int) -> int:
        ch = chr(cp)
        if ch in _KEEP_FOR_CONTEXT:
            value = cp
        elif ch in _APOSTROPHES:
            value = 39  # '
        elif ch != "_" and unicodedata.category(ch)[0] in "LNM":
            value = cp
        elif unicodedata.category(ch) == "Cf":
            value = None  # invisible format characters (zero-width, bidi controls, soft hyphen): dropped
        else:
            value = 32  # space
        if len(self) < 1_000_000:
            self[cp] = value
        return value


_UNICODE_TABLE = _UnicodeTable()
# Han and kana are written without spaces: each character is a token of its own
_UNSPACED = re.compile("([\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
# ASCII text: every punctuation and control character becomes a space, except the placeholder
# for a decimal point, which becomes "."
_DOT_PLACEHOLDER = "\x01"
_ASCII_TABLE = {c: 32 for c in range(128) if not chr(c).isalnum() and not chr(c).isspace() and c != 1}
_ASCII_TABLE[1] = ord(".")

_JOINERS = re.compile(r"[',](?:(?<=\w')(?=\w)|(?<=\d,)(?=\d))")  # don't -> dont, 9,000 -> 9000
_DIGIT_DOT = re.compile(r"\.(?<=\d\.)(?=\d)")

# --------------------------------------------------------------------------------------------
# British -> American spelling

_OUR_STEMS = (
    "colo favo hono labo neighbo behavio harbo humo rumo armo endeavo flavo odo vigo valo savo "
    "savio splendo tumo parlo clamo rigo ardo cando fervo vapo demeano"
).split()
_OUR_SUFFIXES = (
    "",
    "s",
    "ed",
    "ing",
    "ings",
    "er",
    "ers",
    "ite",
    "ites",
    "itism",
    "able",
    "ably",
    "ful",
    "fully",
    "less",
    "hood",
    "hoods",
    "ly",
    "y",
    "ist",
    "ists",
    "ism",
    "some",
)
_TRE_WORDS = (
    "centre theatre metre kilometre centimetre millimetre nanometre micrometre litre millilitre "
    "fibre calibre sabre sombre spectre lustre meagre mitre reconnoitre"
).split()
_ENCE_WORDS = {"defence": "defense", "offence": "offense", "licence": "license", "pretence": "pretense"}
_LL_STEMS = (
    "travel cancel label model fuel signal channel counsel level marvel jewel dial total equal "
    "quarrel tunnel rival shovel snorkel grovel duel pedal panel libel enamel"
).split()
_SINGLE = {
    "programme": "program",
    "programmes": "programs",
    "programmed": "programmed",
    "grey": "gray",
    "greys": "grays",
    "greyish": "grayish",
    "tyre": "tire",
    "tyres": "tires",
    "plough": "plow",
    "ploughs": "plows",
    "ploughed": "plowed",
    "mould": "mold",
    "moulds": "molds",
    "mouldy": "moldy",
    "sceptic": "skeptic",
    "sceptics": "skeptics",
    "sceptical": "skeptical",
    "scepticism": "skepticism",
    "aluminium": "aluminum",
    "cheque": "check",
    "cheques": "checks",
    "ageing": "aging",
    "judgement": "judgment",
    "judgements": "judgments",
    "acknowledgement": "acknowledgment",
    "acknowledgements": "acknowledgments",
    "enrol": "enroll",
    "enrols": "enrolls",
    "enrolment": "enrollment",
    "enrolments": "enrollments",
    "fulfil": "fulfill",
    "fulfils": "fulfills",
    "fulfilment": "fulfillment",
    "instil": "instill",
    "distil": "distill",
    "skilful": "skillful",
    "skilfully": "skillfully",
    "wilful": "willful",
    "wilfully": "willfully",
    "catalogue": "catalog",
    "catalogues": "catalogs",
    "catalogued": "cataloged",
    "analogue": "analog",
    "moustache": "mustache",
    "pyjamas": "pajamas",
    "storey": "story",
    "storeys": "stories",
    "kerb": "curb",
    "draught": "draft",
    "draughts": "drafts",
    "paediatric": "pediatric",
    "paediatrician": "pediatrician",
    "haemorrhage": "hemorrhage",
    "anaemia": "anemia",
    "anaemic": "anemic",
    "leukaemia": "leukemia",
    "oestrogen": "estrogen",
    "foetus": "fetus",
    "foetal": "fetal",
    "diarrhoea": "diarrhea",
    "orthopaedic": "orthopedic",
    "encyclopaedia": "encyclopedia",
    "manoeuvre": "maneuver",
    "manoeuvres": "maneuvers",
    "manoeuvred": "maneuvered",
    "manoeuvring": "maneuvering",
    "practise": "practice",
    "practised": "practiced",
    "practises": "practices",
    "practising": "practicing",
    "defenceless": "defenseless",
    "offences": "offenses",
    "defences": "defenses",
    "licences": "licenses",
    "licenced": "licensed",
    "pretences": "pretenses",
    "jewellery": "jewelry",
    "marvellous": "marvelous",
    "woollen": "woolen",
    "gaol": "jail",
    "artefact": "artifact",
    "artefacts": "artifacts",
}
_YSE_STEMS = "analy paraly cataly dialy electroly hydroly breathaly".split()
_YSE_SUFFIXES = ("e", "es", "ed", "ing", "er", "ers")
# -ise words that must not become -ize
_ISE_KEEP = frozenset(
    """
    compromise compromises compromised compromising treatise treatises expertise premise premises
    otherwise likewise advertise advertised advertiser advertisers advertises advertising
    enterprise enterprises franchise franchises franchised exercise exercised exercises
    exercising merchandise merchandising supervise supervised supervises supervising
    supervisor improvise improvised televise televised revise revised devise devised
    surprise surprised surprises surprising chastise chastised despise despised disguise
    disguised comprise comprised comprises comprising apprise apprised circumcise circumcised
    excise incise demise paradise promise promised promises promising precise concise chemise
    chemises premised reprise reprised metropolises
    scalise annalise cherise shalise philonise denise louise elise marise clarise
    """.split()
)
# -ise words containing these never become -ize (uncompromising, overpromised)
_ISE_KEEP_PARTS = ("compromis", "promis", "premis")
_ISE = re.compile(
    r"^([a-z]{2,}(?:al|il|an|ar|er|or|ic|at|ot|on|og|gn|ur|ul|em|om|im|it|id|ol|un|yn|ath|iv))"
    r"is(e|es|ed|ing|ation|ations|er|ers|able)$"
)


def _build_map() -> dict[str, str]:
    out: dict[str, str] = {}
    for stem in _OUR_STEMS:
        for suf in _OUR_SUFFIXES:
            out[stem + "ur" + suf] = stem + "r" + suf
    for word in _TRE_WORDS:
        am = word[:-2] + "er"  # centre -> center
        out[word] = am
        out[word + "s"] = am + "s"
        out[word[:-1] + "ed"] = am + "ed"  # centred -> centered
        out[word[:-1] + "ing"] = am + "ing"  # centring -> centering
    for brit, am in _ENCE_WORDS.items():
        out[brit] = am
    for stem in _LL_STEMS:
        for suf in ("ed", "ing", "er", "ers", "ings"):
            out[stem + "l" + suf] = stem + suf
    for stem in _YSE_STEMS:
        for suf in _YSE_SUFFIXES:
            out[stem + "s" + suf] = stem + "z" + suf
    out.update(_SINGLE)
    # never map a word onto itself or change a word that is itself a target
    return {k: v for k, v in out.items() if k != v}


_SPELLING = _build_map()


def fold_spelling(word: str) -> str:
    """American spelling of a lower-case word for the curated British patterns (see module doc)."""
    mapped = _SPELLING.get(word)
    if mapped is not None:
        return mapped
    if "is" in word and word not in _ISE_KEEP and not any(p in word for p in _ISE_KEEP_PARTS):
        m = _ISE.match(word)
        if m is not None:
            return f"{m.group(1)}iz{m.group(2)}"
    return word


_FOLD_CACHE: dict[str, str] = {}


def _fold_cached(word: str) -> str:
    folded = fold_spelling(word)
    if len(_FOLD_CACHE) >= 500_000:
        _FOLD_CACHE.clear()
    _FOLD_CACHE[word] = folded
    return folded


# --------------------------------------------------------------------------------------------


def normalize_tokens(text: str) -> list[str]:
    """Tokens of the normalised form of ``text`` (see the module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"normalize_tokens expects str, got {type(text).__name__}")
    if text.isascii():
        s = text.lower()
        if _DOT_PLACEHOLDER in s:
            s = s.replace(_DOT_PLACEHOLDER, " ")
        ascii_only = True
    else:
        s = unicodedata.normalize("NFKC", text).casefold()
        s = unicodedata.normalize("NFKC", s).translate(_UNICODE_TABLE)
        ascii_only = False
    if "'" in s or "," in s:
        s = _JOINERS.sub("", s)
    dots = "." in s
    if dots:
        s = _DIGIT_DOT.sub(_DOT_PLACEHOLDER, s)
    if ascii_only:
        s = s.translate(_ASCII_TABLE)
    else:
        s = s.replace("'", " ").replace(",", " ")
        if dots:
            s = s.replace(".", " ").replace(_DOT_PLACEHOLDER, ".")
        if _UNSPACED.search(s):
            s = _UNSPACED.sub(r" \1 ", s)
    get = _FOLD_CACHE.get
    return [get(w) or _fold_cached(w) for w in s.split()]


def normalize_sentence(text: str) -> str:
    """The normalised form of a sentence: folded typography and case, no punctuation, US spelling."""
    return " ".join(normalize_tokens(text))


def sentence_hash(norm: str) -> str:
    """Stable 16-hex-digit hash (BLAKE2b, 8 bytes) of a normalised sentence."""
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


# English function words and reporting verbs: not content. Matching code adds its own few words.
STOPWORDS = frozenset(
    """a about above according after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most mr mrs ms my myself no nor not now of off on once one only or other our ours ourselves
    out over own said same says she should so some such than that the their theirs them themselves then
    there these they this those through to told too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves""".split()
)
