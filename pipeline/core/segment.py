"""Sentence segmentation tuned for news text.

``split_sentences(text)`` returns :class:`Span` objects (start/end character offsets, the
sentence text and the 0-based paragraph index). Paragraphs are separated by one or more blank
lines. Inside a paragraph a line break ends a sentence (headlines, captions, list items without
final punctuation) unless the line is clearly wrapped: the next line starts in lower case and the
line does not end in terminal punctuation, or the line ends with a comma, a semicolon, a
hyphenated word part or an abbreviation such as ``Mr.``. A paragraph whose lines all have about the
same length, mostly end without punctuation and often continue in lower case is treated as
hard-wrapped: its line breaks are plain spaces.

Design (one compiled pattern, cheap decisions): the pattern finds candidate boundaries in one
pass over the text -- runs of terminal punctuation (``. ! ? …`` and spaced ``. . .``) together
with the closing quotes/brackets, footnote marks (``[21]``) and emoticons that follow them, line
breaks, and bullets. A period directly followed by a digit or a lower-case letter is never a
candidate (decimals such as 3.5, URLs, e-mail addresses, ``e.g.``). Each candidate is decided
from the token before it and the first character after it:

* after a title (Mr., Dr., Gen., Sen., Rep., St., Pfc.), a mid-sentence abbreviation (e.g.,
  i.e., vs., cf., approx.) or an initial (J. K. Rowling) a period never ends a sentence; after a
  number abbreviation (No. 5, p. 55, Art. 3, Prop. 8) or a month (Aug. 30) it does not before a
  digit; after a multi-period initialism (U.S., U.K., a.m., H.R.) or a company/name suffix (Inc.,
  Co., Corp., Jr.) it does only when the next word is a typical sentence opener (``The``, ``He``,
  ``How`` ...) or a quotation; after an abbreviation that may end a sentence (etc., state
  abbreviations such as Calif.) it does before a capital letter, but not in a dateline
  (``SANTA ROSA, Calif. (AP) — ...``) nor before a dash;
* a single upper-case letter after a lower-case word ends a sentence before a sentence opener
  (``you and I. Did``, ``got a C. I'm``), otherwise it is an initial;
* a period before a lower-case word ends a sentence only after a plain word that starts in lower
  case, a number or a long capitalised word (informal text without capitals: ``pepper. no
  place``); never after the lexicon or a short capitalised token (``Calif. officials``);
* ``!`` and ``?`` end a sentence unless a lower-case word follows a capitalised token (``Yahoo!
  in``), a dash follows, or a quotation is followed by its attribution (``"Why?" he asked``,
  ``"Stop!" Smith shouted``);
* an ellipsis ends a sentence only before a capital letter (not ``I``), never inside brackets
  (``[...]``) and never when glued to the next word;
* a closing quote after the punctuation stays with the sentence (``."``, ``.”``, ``.'``); a quote
  ending in a comma (``"... and not flee," Nazary said``) is no candidate at all, so a quoted
  sentence and its attribution stay together, while a multi-sentence quote is split inside;
* punctuation glued to the next sentence (``government.The``, ``he said.”We``) is split when it
  looks like a missing space rather than a domain name, an initialism or an abbreviation;
* a list marker (``1.``, ``2.1.``, ``a.``, ``IV.``) at the start of a sentence does not end it; an
  inline list ``1. The first item 2. The second item`` is split before each next marker; a
  bullet (``•``) after whitespace starts a new sentence;
* CJK full stops (``。！？``) always end a sentence.

Each kind of candidate (paragraph break, line break, bullet, and per terminal punctuation: the plain
"word. Next", punctuation before a lower-case word, glued punctuation, ellipsis, ``!`` / ``?``, a single
period) is decided by its own method of ``_Splitter``; the abbreviation and initial tests are named
functions of their own.

Spans never include leading or trailing whitespace, ``text[span.start:span.end] == span.text``,
and every non-whitespace character of the input belongs to exactly one span. The run time is
linear in the input length (every look-around is bounded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Span", "split_sentences", "split_paragraphs"]


@dataclass(frozen=True, slots=True)
class Span:
    """One sentence: ``text == source[start:end]``; ``paragraph`` is the 0-based paragraph index."""

    start: int
    end: int
    text: str
    paragraph: int


# --------------------------------------------------------------------------------------------
# character classes

_LB_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() treats as line breaks
_LB_SET = frozenset(_LB_CHARS)
_LB = "(?:\\r\\n|[\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x85\\u2028\\u2029])"
_HWS = "[^\\S\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x85\\u2028\\u2029]"  # whitespace except line breaks
_TERM_CHARS = ".!?…‽⁇⁈⁉。｡！？؟।॥"
_CJK_TERM = frozenset("。｡！？")
_CLOSERS = "\"'’”»›)]}」』"
_QUOTE_CLOSERS = frozenset("\"'’”»›」』")
_OPENERS = "\"'“‘«‹([{¿¡„‚「『"
_BULLETS = "•‣⁃▪●■◆►"
_BULLET_SET = frozenset(_BULLETS)
_DASHES = frozenset("-–—―")
_ASCII_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TERM = re.escape(_TERM_CHARS)
_CLOSE = re.escape(_CLOSERS)
_LBC = "\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x85\\u2028\\u2029"

# A paragraph break: a line break followed by one or more blank lines.
_PAR_BREAK = re.compile(f"{_LB}(?:{_HWS}*+{_LB})++")
_LB_RE = re.compile(_LB)

# Candidate boundaries. The pattern starts with one character class so that the regular
# expression engine can skip quickly to the next candidate. After the first character:
#   terminal punctuation: the rest of the cluster (spaced ". . ." included), closers, footnote
#     marks; not followed by a digit, nor by a lower-case ASCII word unless the token before is
#     a plain lower-case word (checked again in Python);
#   a line break (with the "\n" of "\r\n"), optionally followed by blank lines (paragraph break);
#   a bullet preceded by whitespace.
_CANDIDATE = re.compile(
    f"[{_LBC}{_TERM}{_BULLETS}]"
    "(?:"
    f"(?<=[{_TERM}])(?<![{_TERM}][{_TERM}])(?<!\\.[ \\u00a0]\\.)(?P<t>[{_TERM}]*+(?:(?:[ \\u00a0]\\.){{2,}}[{_TERM}]*+)*+)"
    f"(?P<c>[{_CLOSE}]*+"
    "(?:[ \\u00a0]?\\[(?:\\d{1,3}(?:\\s?[-–,]\\s?\\d{1,3})*|\\.\\.\\.|…)\\])*+"
    "(?:[ \\u00a0][:;]-?[()DPp](?![\\w()]))?)"
    "(?![0-9])(?!\\s*+[a-z])"
    f"|(?<=[a-zA-Z0-9)][a-zA-Z0-9)][.!?])(?P<lw>[!?]*+)(?=[ \\u00a0]++[a-z])"
    f"|(?<=[{_LBC}])(?:(?<=\\r)\\n)?(?P<par>(?:{_HWS}*+{_LB})++)?"
    f"|(?<=\\s[{_BULLETS}])"
    ")"
)

# what follows a candidate: whitespace, opening quotes/brackets, then the first significant char
_AFTER = re.compile(f"(\\s*+)([{re.escape(_OPENERS)}]*+)(.?)", re.S)
_SKIP_WS = re.compile("\\s*+")
_NEXT_WORD = re.compile("[\\w'’.-]{0,30}")
_FOOTNOTE = re.compile("[ \\u00a0](\\d{1,2})(?=[ \\u00a0][A-Z][a-z])")
_SPEECH_AFTER = re.compile(
    "\\s++(?!(?:He|She|They|We|It|You|This|That|There|These|Those)\\s)(?:[A-Z][\\w'’.-]{0,30}\\s++){1,3}"
    "(?:said|says|say|asked|asks|ask|replied|replies|reply|added|adds|wrote|writes|"
    "explained|continued|shouted|shouts|whispered|whispers|cried|cries|answered|answers|insisted|"
    "noted|stated|claimed|recalled|tweeted|declared|warned|exclaimed|muttered|mutters|murmured|"
    "laughed|agreed|admitted|argued|pleaded|suggested|yelled|yells|screamed|screams|sighed|sighs|"
    "called|calls|howled|started|began|begged|demanded|repeated|snapped|beams|beamed|wails|"
    "wailed|gasped|groaned|breathed)\\b"
)
_LIST_START = re.compile(f"[{_BULLETS}*-]?\\s*+(?:\\d{{1,3}}(?:\\.\\d{{1,3}})*|[A-Za-z]|[ivxlcIVXLC]{{1,5}})")
_GLUED_NEXT = re.compile("\\S{0,40}")
_LIST_SUCCESSOR = {str(i): str(i + 1) for i in range(1, 100)}
_LIST_SUCCESSOR.update({c: chr(ord(c) + 1) for c in "abcdefghijklmnopqrstuvwxy"})

# --------------------------------------------------------------------------------------------
# abbreviation lexicon (lower case, without the final period)

# titles and other abbreviations standing before a name or a noun: never end a sentence
_TITLES = frozenset(
    """
    mr mrs ms mx messrs mmes mme mlle dr drs prof profs gen gens sen sens rep reps gov govs lt
    col capt cpt sgt maj adm cmdr comdr cdr rev revd hon pres supt insp det st ste mt ft atty
    brig cpl pvt spc amb lieut fr msgr rt sra srta assoc asst dist pfc sfc ssg ssgt msgt cwo ens
    vadm radm lcpl spec supt
    e.g i.e eg ie cf viz vs v approx ca incl esp resp w.r.t c.f et
    """.split()
)
# number abbreviations and dates: never end a sentence before a digit
_NUMBER = frozenset(
    """
    no nos nr n° nº num p pp vol vols art arts sec secs ch chap fig figs eq eqs ref refs para
    paras pt pts op ed eds tel ext rm apt bldg ver s pl par ln div tab prop props
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    """.split()
)
# company and name suffixes: like initialisms, a boundary only before a sentence opener
# ("Apple Inc. said" / "Boeing Co. The weapon"; "Martin Luther King Jr. Day")
_SUFFIXES = frozenset("inc co corp ltd llc plc bros jr sr esq".split())
# abbreviations that may end a sentence: a boundary before a capital, not before a digit or a
# lower-case word
_ENDING = frozenset(
    """
    etc dept univ assn ave blvd rd hwy al mfg intl natl govt
    phd md ba ma bsc msc mba pct mln bln bn yr yrs mo mos min max avg est hrs hr wk wks
    sq ft ibid cit misc tbsp tsp oz lb lbs kg km cm mm approx dec
    ala ariz ark calif colo conn del fla ga ill ind kan kans ky la md mass mich minn miss mo mont
    neb nev okla ore pa penn tenn tex va vt wash wis wyo
    """.split()
)
# words that typically open a sentence: after "U.S." these mean a new sentence starts
_STARTERS = frozenset(
    """
    a an the he she it i we you they this that these those there here his her its their our my
    your what how why who when where which while but and or so yet if after before as at in on
    for from to with by of since although though because however meanwhile then now today
    yesterday tomorrow some many most all one two three several no not do does did is are was
    were has have had can could will would should may might must let please thank thanks
    over about according during under last earlier later both each every such instead also
    still even just only first its click read see follow sign subscribe watch get shares
    """.split()
)

# lexicon entries that look like plain lower-case words
_LOWER_ABBREVIATIONS = frozenset(k for k in _TITLES | _NUMBER | _ENDING | _SUFFIXES if k.isalpha())

_REGULAR, _TITLE, _NUMBER_ABBR, _ENDING_ABBR, _INITIAL, _INITIALISM = range(6)


def _ends_before_lower(tok: str) -> bool:
    """Whether a period after ``tok`` ends a sentence although a lower-case word follows.

    True for plain words that start in lower case (``pepper. no place``, ``eHow. eHow was``),
    numbers (``8160. they``) and long capitalised words (``LibriVox. we``); false for the
    lexicon, short capitalised or upper-case tokens (``Calif. officials``, ``Eng. project``) and
    anything with inner periods.
    """
    if "." in tok or len(tok) < 2 or not tok.isalnum():
        return False
    first = tok[0]
    if first.islower():
        return tok.lower() not in _LOWER_ABBREVIATIONS
    if first.isdigit():
        return True
    return len(tok) >= 6 and not tok.isupper()


def _is_initialism(tok: str) -> bool:
    """U.S, U.S.A, a.m, Ph.D, H.R: dot-separated pieces of one or two letters."""
    parts = tok.split(".")
    if len(parts) < 2:
        return False
    return all(part and len(part) <= 2 and part.isalpha() for part in parts)


def _classify(tok: str) -> int:
    key = tok.lower()
    if key in _TITLES:
        return _TITLE
    if len(tok) == 1 and tok.isalpha():
        return _INITIAL
    if key in _NUMBER:
        return _NUMBER_ABBR
    if key in _ENDING:
        return _ENDING_ABBR
    if key in _SUFFIXES or ("." in tok and _is_initialism(tok)):
        return _INITIALISM
    return _REGULAR


_CLASS_CACHE: dict[str, int] = {}


def _token_class(tok: str) -> int:
    c = _CLASS_CACHE.get(tok)
    if c is None:
        c = _classify(tok)
        if len(_CLASS_CACHE) < 200_000:
            _CLASS_CACHE[tok] = c
    return c


def _prev_token(text: str, p: int, lo: int) -> str:
    """The whitespace-delimited token ending at ``p`` (at most 40 chars), opening marks removed."""
    lo = max(lo, p - 40)
    i = text.rfind(" ", lo, p)
    tok = text[i + 1 if i >= 0 else lo : p]
    if not tok.isprintable() or "\u00a0" in tok:  # other whitespace inside the window
        parts = tok.split()
        if not parts or tok[-1].isspace():
            return ""
        tok = parts[-1]
    return tok.lstrip(_OPENERS)


def _next_word(text: str, pos: int) -> str:
    """The lower-cased word at ``pos`` up to an apostrophe (``We're`` -> ``we``); ``a.`` stays."""
    word = _NEXT_WORD.match(text, pos).group().lower()
    for apostrophe in "'’":
        word = word.split(apostrophe, 1)[0]
    return word


def _word_before(text: str, p: int, lo: int) -> str:
    """The token before the token ending at ``p``."""
    parts = text[max(lo, p - 60) : p].rsplit(None, 2)
    return parts[-2] if len(parts) >= 2 else ""


# --------------------------------------------------------------------------------------------
# paragraphs and line handling


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank paragraph, whitespace trimmed; blank lines separate them."""
    out = []
    pos = 0
    for m in _PAR_BREAK.finditer(text):
        _add_trimmed(text, pos, m.start(), out)
        pos = m.end()
    _add_trimmed(text, pos, len(text), out)
    return out


def _add_trimmed(text: str, s: int, e: int, out: list[tuple[int, int]]) -> None:
    chunk = text[s:e]
    stripped = chunk.strip()
    if stripped:
        s += len(chunk) - len(chunk.lstrip())
        out.append((s, s + len(stripped)))


def _hard_wrapped(text: str, ps: int, pe: int) -> bool:
    """Whether the paragraph ``text[ps:pe]`` looks hard-wrapped at a fixed width."""
    lines = [ln.strip() for ln in _LB_RE.split(text[ps:pe])]
    lines = [ln for ln in lines if ln]
    if len(lines) < 3:
        return False
    body = lines[:-1]
    lengths = [len(ln) for ln in body]
    longest = max(lengths)
    if longest < 40 or longest > 200 or min(lengths) < 0.6 * longest:
        return False
    open_ended = sum(1 for ln in body if ln[-1] not in _TERM_CHARS and ln[-1] not in _CLOSERS)
    # wrapped prose breaks lines mid-sentence, so many lines start in lower case; a list of
    # headlines or captions of similar length does not
    lower_starts = sum(1 for ln in lines[1:] if ln[0].islower() or ln[0].isdigit())
    return open_ended * 2 >= len(body) and lower_starts * 3 >= len(lines) - 1


_JOIN_WORDS = frozenset(
    "a an the and or but of to in on at for with by from as that which who whose than nor".split()
)


def _line_joins(text: str, q: int, qe: int, lo: int) -> bool:
    """Whether the line break ``text[q:qe]`` continues the sentence (a wrapped line)."""
    before = text[max(lo, q - 40) : q].rstrip()
    if not before:
        return True
    after = text[qe : qe + 8].lstrip()
    if not after:
        return True
    last = before[-1]
    first = after[0]
    if first in _BULLET_SET:
        return False
    if last in ",;":
        return True
    if last == "-" and len(before) > 1 and before[-2].isalpha():
        return True
    if last in _TERM_CHARS or last in _CLOSERS:
        return False
    if first.islower():
        return True
    words = before.rsplit(None, 1)
    return bool(words) and words[-1] in _JOIN_WORDS


# --------------------------------------------------------------------------------------------
# the splitter: one pass over the candidate boundaries; each kind of candidate is decided by its own
# small method of ``_Splitter``, which either closes the current sentence or leaves it open


def _initial_ends_sentence(text: str, tok: str, p: int, seg: int, a: re.Match, openers: str) -> bool:
    """A period after a single letter is an initial (J. K. Rowling) unless the letter is upper case, a
    lower-case word (or a comma) precedes and a sentence opener follows: "you and I. Did", "got a C. I'm so
    mad", "from A to B. I knew"."""
    if openers or not tok.isupper():
        return False
    prev = _word_before(text, p, seg)
    if not (prev[:1].islower() or prev[-1:] == ","):
        return False
    return tok == "I" or _next_word(text, a.end() - 1) in _STARTERS


def _initialism_ends_sentence(text: str, a: re.Match, openers: str) -> bool:
    """After U.S., a.m., Inc., Jr.: a boundary only before a quotation or a typical sentence opener."""
    quoted = openers and openers[-1] in "\"“‘'"
    return bool(quoted) or _next_word(text, a.end() - 1) in _STARTERS


def _abbreviation_continues(text: str, seg: int, p: int, first: str) -> bool:
    """After an abbreviation that may end a sentence: not before a dash ("MARIANNA, Fla. — It ...") nor in
    a dateline ("SANTA ROSA, Calif. (AP) — ...", "ST. PAUL, Minn. ...")."""
    if first in _DASHES:
        return True
    if p - seg <= 60:
        head = text[seg:p]
        if "," in head and head.rsplit(",", 1)[0].isupper():
            return True
    return False


class _Splitter:
    """The state of one pass: the current sentence start ``seg``, the current paragraph and what the
    decisions remember (the end of the last abbreviation, the next expected list marker)."""

    __slots__ = ("text", "n", "spans", "seg", "para", "used", "ps", "wrapped", "abbrev_end", "list_next")

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.spans: list[Span] = []
        self.seg = _SKIP_WS.match(text).end()  # start of the current sentence, never on whitespace
        self.para = 0  # index of the current paragraph
        self.used = False  # whether the current paragraph has produced a span
        self.ps = self.seg  # start of the current paragraph
        self.wrapped: bool | None = None  # whether the current paragraph is hard-wrapped, computed on demand
        self.abbrev_end = -1  # end of the last period that was not a boundary because of an abbreviation
        self.list_next: str | None = (
            None  # the marker expected next after a list item marker ("2" after "1.")
        )

    # closing sentences ----------------------------------------------------------------------------

    def close(self, end: int, next_start: int) -> None:
        """The current sentence ends at ``end`` (after its punctuation); the next starts at ``next_start``."""
        self.spans.append(Span(self.seg, end, self.text[self.seg : end], self.para))
        self.used = True
        self.seg = next_start

    def close_before(self, b: int) -> bool:
        """The current sentence ends before position ``b`` (trailing whitespace trimmed); False when it is
        all whitespace."""
        chunk = self.text[self.seg : b].rstrip()
        if not chunk:
            return False
        self.spans.append(Span(self.seg, self.seg + len(chunk), chunk, self.para))
        self.used = True
        return True

    def abbreviation(self, e: int) -> None:
        """The period ending at ``e`` is not a boundary because of an abbreviation (a line break right
        after it does not end the sentence either)."""
        self.abbrev_end = e

    # line breaks and bullets ------------------------------------------------------------------------

    def paragraph_break(self, p: int, m_end: int) -> None:
        if p > self.seg:
            self.close_before(p)
        if self.used:
            self.para += 1
            self.used = False
        self.seg = max(self.seg, _SKIP_WS.match(self.text, m_end).end())
        self.ps = self.seg
        self.wrapped = None
        self.abbrev_end = -1
        self.list_next = None

    def line_break(self, p: int, m_end: int) -> None:
        """A line break ends a sentence unless the paragraph is hard-wrapped, it follows an abbreviation
        or the line continues the sentence (``_line_joins``)."""
        text, seg = self.text, self.seg
        if p <= seg:
            return
        if self.wrapped is None:
            br = _PAR_BREAK.search(text, p)
            self.wrapped = _hard_wrapped(text, self.ps, br.start() if br else self.n)
        if self.wrapped:
            return
        if self.abbrev_end >= 0 and p - self.abbrev_end <= 64 and not text[self.abbrev_end : p].strip():
            return
        if _line_joins(text, p, m_end, seg):
            return
        self.close_before(p)
        self.seg = _SKIP_WS.match(text, m_end).end()

    def bullet(self, p: int) -> None:
        """A bullet after whitespace starts a new sentence."""
        if p > self.seg:
            self.close_before(p)
            self.seg = p

    # terminal punctuation ---------------------------------------------------------------------------

    def plain_word_period(self, p: int, e: int) -> bool:
        """The most common case, "word. Next" after a plain word: a boundary (checked first, for speed)."""
        text, seg = self.text, self.seg
        lo = p - 40 if p - 40 > seg else seg
        i = text.rfind(" ", lo, p)
        tok = text[i + 1 if i >= 0 else lo : p]
        if tok.isalpha() and len(tok) > 1 and p - seg > 20 and _token_class(tok) == _REGULAR:
            self.close(e, e + 1)
            return True
        return False

    def before_lower_word(self, p: int, e: int, ch: str) -> None:
        """Punctuation before a lower-case word (informal text without capitals, "pepper. no place"): a
        boundary after a period only when ``_ends_before_lower`` says so; after "!" or "?" unless a
        capitalised token precedes ("Yahoo! in", "Huh? is")."""
        tok = _prev_token(self.text, p, self.seg).rstrip(")")
        if not tok:
            return
        if ch != ".":
            if tok[0].isupper() and not tok.isupper():
                return
        elif not _ends_before_lower(tok):
            return
        self.close(e, _AFTER.match(self.text, e).end(1))

    def glued(self, m: re.Match, p: int, e: int, ch: str, punct: str, openers: str, first: str) -> None:
        """Punctuation glued to the next character ("government.The", "said.”We", "over.(AFP ...)"): split
        when it looks like a missing space rather than a domain name, an initialism or an abbreviation."""
        if not (first.isupper() or (openers and first.isalpha())):
            return
        text, seg = self.text, self.seg
        closers = m.group("c")
        if closers:
            if closers[-1] in _QUOTE_CLOSERS:
                self.close(e, e)
            return
        if p > seg and text[p - 1] in _QUOTE_CLOSERS:
            self.close(e, e)
            return
        if openers or len(punct) != 1:
            return
        tok = _prev_token(text, p, seg)
        if len(tok) >= 2 and tok.isalpha() and tok[-1].islower() and tok[-2].islower():
            if ch == "." and _token_class(tok) != _REGULAR:
                return
            nxt = _GLUED_NEXT.match(text, e).group()
            if len(nxt) > 1 and not any(c in nxt for c in ".@/:_") and nxt[1:2].islower():
                self.close(e, e)

    def before_lower_letter(
        self, p: int, e: int, a: re.Match, ch: str, openers: str, closers: str, ellipsis: bool
    ) -> None:
        """A lower-case word after an opening bracket, or a non-ASCII lower-case letter: a period ends the
        sentence only before a bracket after a plain word ("interactions. (credit: ...)"); "!" and "?" unless
        a capitalised token precedes."""
        if ellipsis or closers:
            return
        tok = _prev_token(self.text, p, self.seg)
        if ch == ".":
            if not openers or openers[-1] not in "([":
                return
            if not tok or _token_class(tok) != _REGULAR or len(tok) < 2:
                return
        elif tok[:1].isupper() and not tok.isupper():
            return  # "Yahoo! in", "Huh? is"
        self.close(e, a.end(1))

    def ellipsis(
        self, p: int, e: int, a: re.Match, punct: str, openers: str, closers: str, first: str
    ) -> None:
        """An ellipsis ends a sentence before a capital letter (not "I"), never inside brackets, before a
        digit or before the attribution of a quotation."""
        text, seg = self.text, self.seg
        if p > seg and text[p - 1] in "[(":
            return
        if closers and closers[0] in _QUOTE_CLOSERS and _SPEECH_AFTER.match(text, e):
            return
        if first.isdigit():
            return
        if first == "I" and not openers and text[a.end() : a.end() + 1] in (" ", "’", "'"):
            return
        if (
            punct.startswith(". .")
            and punct.count(".") >= 4
            and p > seg
            and not text[p - 1].isspace()
            and first.isupper()
        ):
            # "compounds. . . . The": the first period ends the sentence, the ellipsis opens the next one
            self.close(p + 1, _SKIP_WS.match(text, p + 1).end())
            return
        self.close(e, a.end(1))

    def exclamation_or_question(self, e: int, a: re.Match, openers: str, closers: str, first: str) -> None:
        """ "!" and "?" end a sentence, except a quotation followed by its attribution ("Why?" he asked) and a
        closing quote followed by a number in brackets."""
        if closers:
            if closers[0] in _QUOTE_CLOSERS and _SPEECH_AFTER.match(self.text, e):
                return
            if openers and first.isdigit():
                return
        self.close(e, a.end(1))

    def period(self, p: int, e: int, a: re.Match, openers: str, closers: str, first: str) -> None:
        """A single period: list markers, inline lists, abbreviations, initials and footnotes decide."""
        text, seg = self.text, self.seg
        tok = _prev_token(text, p, seg)
        if p - seg <= 20 and _LIST_START.fullmatch(text, seg, p):
            self.list_next = _LIST_SUCCESSOR.get(tok)  # a list marker at the start: "1.", "2.1.", "a.", "IV."
            return
        if tok == self.list_next and tok and p - len(tok) > seg:
            # inline list "1. The first item 2. The second item": the next marker starts an item
            b = p - len(tok)
            self.close_before(b)
            self.seg = b
            self.list_next = _LIST_SUCCESSOR.get(tok)
            return
        cls = _token_class(tok) if tok else _REGULAR
        if first.isdigit():
            if cls != _REGULAR:
                self.abbreviation(e)  # "No. 5", "Aug. 30", "p. 55"
                return
            if not closers:
                fn = _FOOTNOTE.match(text, e)
                if fn is not None:  # "... the end. 21 The next"
                    self.close(fn.end(), _SKIP_WS.match(text, fn.end()).end())
                    return
        elif cls == _TITLE:
            self.abbreviation(e)
            return
        elif cls == _INITIAL:
            if not _initial_ends_sentence(text, tok, p, seg, a, openers):
                self.abbreviation(e)
                return
        elif cls == _INITIALISM:
            if not _initialism_ends_sentence(text, a, openers):
                self.abbreviation(e)
                return
        if cls != _REGULAR and _abbreviation_continues(text, seg, p, first):
            self.abbreviation(e)
            return
        self.close(e, a.end(1))

    def punctuation(self, m: re.Match, p: int, ch: str) -> bool:
        """Terminal punctuation at ``p`` (the candidate ``m``); False at the end of the text."""
        text = self.text
        e = m.end()
        if e >= self.n:
            return False
        if e == p + 1 and ch == "." and text[e] == " " and text[e + 1 : e + 2] in _ASCII_UPPER:
            if self.plain_word_period(p, e):
                return True
        if m.group("lw") is not None:
            self.before_lower_word(p, e, ch)
            return True
        a = _AFTER.match(text, e)
        space, openers, first = a.group(1), a.group(2), a.group(3)
        if not first:
            return True
        punct = text[p : m.start("c")]
        if ch in _CJK_TERM or punct[-1] in _CJK_TERM:
            self.close(e, a.end(1))  # CJK full stops always end a sentence
            return True
        if not space:
            self.glued(m, p, e, ch, punct, openers, first)
            return True
        closers = m.group("c")
        ellipsis = "…" in punct or ".." in punct or " ." in punct
        if first.islower():
            self.before_lower_letter(p, e, a, ch, openers, closers, ellipsis)
        elif first in _DASHES and (ellipsis or ch != "." or "!" in punct or "?" in punct):
            pass  # "‘Huh?’ – used as ...", "are you paying attention? — you even ..."
        elif ellipsis:
            self.ellipsis(p, e, a, punct, openers, closers, first)
        elif ch != "." or "!" in punct or "?" in punct:
            self.exclamation_or_question(e, a, openers, closers, first)
        else:
            self.period(p, e, a, openers, closers, first)
        return True

    def run(self) -> list[Span]:
        text = self.text
        for m in _CANDIDATE.finditer(text):
            p = m.start()
            ch = text[p]
            if ch in _LB_SET:
                if m.group("par") is not None:
                    self.paragraph_break(p, m.end())
                else:
                    self.line_break(p, m.end())
            elif ch in _BULLET_SET:
                self.bullet(p)
            elif not self.punctuation(m, p, ch):
                break
        if self.seg < self.n:
            chunk = text[self.seg :].rstrip()
            if chunk:
                self.spans.append(Span(self.seg, self.seg + len(chunk), chunk, self.para))
        return self.spans


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences; see the module docstring for the rules."""
    if not isinstance(text, str):
        raise TypeError(f"split_sentences expects str, got {type(text).__name__}")
    return _Splitter(text).run()
