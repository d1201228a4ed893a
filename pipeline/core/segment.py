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
# the splitter


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences; see the module docstring for the rules."""
    if not isinstance(text, str):
        raise TypeError(f"split_sentences expects str, got {type(text).__name__}")
    spans: list[Span] = []
    append = spans.append
    n = len(text)
    seg = _SKIP_WS.match(text).end()  # start of the current sentence, never on whitespace
    para = 0  # index of the current paragraph
    used = False  # whether the current paragraph has produced a span
    ps = seg  # start of the current paragraph
    wrapped = None  # whether the current paragraph is hard-wrapped, computed on demand
    abbrev_end = -1  # end of the last period that was not a boundary because of an abbreviation
    list_next = None  # the marker expected next after a list item marker ("2" after "1.")
    after_match = _AFTER.match

    for m in _CANDIDATE.finditer(text):
        p = m.start()
        ch = text[p]

        # line and paragraph breaks ----------------------------------------------------------
        if ch in _LB_SET:
            if m.group(4) is not None:
                if p > seg:
                    chunk = text[seg:p].rstrip()
                    if chunk:
                        append(Span(seg, seg + len(chunk), chunk, para))
                        used = True
                if used:
                    para += 1
                    used = False
                seg = max(seg, _SKIP_WS.match(text, m.end()).end())
                ps = seg
                wrapped = None
                abbrev_end = -1
                list_next = None
                continue
            if p <= seg:
                continue
            if wrapped is None:
                br = _PAR_BREAK.search(text, p)
                wrapped = _hard_wrapped(text, ps, br.start() if br else n)
            if wrapped:
                continue
            if abbrev_end >= 0 and p - abbrev_end <= 64 and not text[abbrev_end:p].strip():
                continue
            if _line_joins(text, p, m.end(), seg):
                continue
            chunk = text[seg:p].rstrip()
            if chunk:
                append(Span(seg, seg + len(chunk), chunk, para))
                used = True
            seg = _SKIP_WS.match(text, m.end()).end()
            continue

        # bullets ------------------------------------------------------------------------------
        if ch in _BULLET_SET:
            if p > seg:
                chunk = text[seg:p].rstrip()
                append(Span(seg, seg + len(chunk), chunk, para))
                used = True
                seg = p
            continue

        # terminal punctuation -----------------------------------------------------------------
        e = m.end()
        if e >= n:
            break
        if e == p + 1 and ch == "." and text[e] == " " and text[e + 1 : e + 2] in _ASCII_UPPER:
            # fast path for the most common case, "word. Next"
            lo = p - 40 if p - 40 > seg else seg
            i = text.rfind(" ", lo, p)
            tok = text[i + 1 if i >= 0 else lo : p]
            if tok.isalpha() and len(tok) > 1 and p - seg > 20 and _token_class(tok) == _REGULAR:
                append(Span(seg, e, text[seg:e], para))
                used = True
                seg = e + 1
                continue
        if m.group(3) is not None:
            # "word. word" (informal text without capitals)
            tok = _prev_token(text, p, seg).rstrip(")")
            if not tok:
                continue
            if ch != ".":
                if tok[0].isupper() and not tok.isupper():
                    continue  # "Yahoo! in", "Huh? is"
            elif not _ends_before_lower(tok):
                continue
            a = after_match(text, e)
            append(Span(seg, e, text[seg:e], para))
            used = True
            seg = a.end(1)
            continue
        a = after_match(text, e)
        space, openers, first = a.group(1), a.group(2), a.group(3)
        if not first:
            continue
        punct = text[p : m.start("c")]
        if ch in _CJK_TERM or punct[-1] in _CJK_TERM:
            append(Span(seg, e, text[seg:e], para))
            used = True
            seg = a.end(1)
            continue

        if not space:
            # glued to the next character: "government.The", "said.”We", "over.(AFP ...)"
            if not (first.isupper() or (openers and first.isalpha())):
                continue
            closers = m.group("c")
            if closers:
                if closers[-1] in _QUOTE_CLOSERS:
                    append(Span(seg, e, text[seg:e], para))
                    used = True
                    seg = e
                continue
            if p > seg and text[p - 1] in _QUOTE_CLOSERS:
                append(Span(seg, e, text[seg:e], para))
                used = True
                seg = e
                continue
            if openers or len(punct) != 1:
                continue
            tok = _prev_token(text, p, seg)
            if len(tok) >= 2 and tok.isalpha() and tok[-1].islower() and tok[-2].islower():
                if ch == "." and _token_class(tok) != _REGULAR:
                    continue
                nxt = _GLUED_NEXT.match(text, e).group()
                if len(nxt) > 1 and not any(c in nxt for c in ".@/:_") and nxt[1:2].islower():
                    append(Span(seg, e, text[seg:e], para))
                    used = True
                    seg = e
            continue

        closers = m.group("c")
        ellipsis = "…" in punct or ".." in punct or " ." in punct
        if first.islower():
            # a lower-case ASCII word after an opening bracket, or a non-ASCII lower-case letter
            if ellipsis or closers:
                continue
            if ch == ".":
                if not openers or openers[-1] not in "([":
                    continue
                # "interactions. (credit: ...)", "neutral. (http://...)"
                tok = _prev_token(text, p, seg)
                if not tok or _token_class(tok) != _REGULAR or len(tok) < 2:
                    continue
                append(Span(seg, e, text[seg:e], para))
                used = True
                seg = a.end(1)
                continue
            tok = _prev_token(text, p, seg)
            if tok[:1].isupper() and not tok.isupper():
                continue  # "Yahoo! in", "Huh? is"
            append(Span(seg, e, text[seg:e], para))
            used = True
            seg = a.end(1)
            continue
        if first in _DASHES and (ellipsis or ch != "." or "!" in punct or "?" in punct):
            continue  # "‘Huh?’ – used as ...", "are you paying attention? — you even ..."

        # ellipsis
        if ellipsis:
            if p > seg and text[p - 1] in "[(":
                continue
            if closers and closers[0] in _QUOTE_CLOSERS and _SPEECH_AFTER.match(text, e):
                continue
            if first.isdigit():
                continue
            if first == "I" and not openers and text[a.end() : a.end() + 1] in (" ", "’", "'"):
                continue
            if (
                punct.startswith(". .")
                and punct.count(".") >= 4
                and p > seg
                and not text[p - 1].isspace()
                and first.isupper()
            ):
                # "compounds. . . . The": the first period ends the sentence, the ellipsis
                # opens the next one
                append(Span(seg, p + 1, text[seg : p + 1], para))
                used = True
                seg = _SKIP_WS.match(text, p + 1).end()
                continue
            append(Span(seg, e, text[seg:e], para))
            used = True
            seg = a.end(1)
            continue

        # "!" and "?"
        if ch != "." or "!" in punct or "?" in punct:
            if closers:
                if closers[0] in _QUOTE_CLOSERS and _SPEECH_AFTER.match(text, e):
                    continue
                if openers and first.isdigit():
                    continue
            append(Span(seg, e, text[seg:e], para))
            used = True
            seg = a.end(1)
            continue

        # a single period
        tok = _prev_token(text, p, seg)
        if p - seg <= 20 and _LIST_START.fullmatch(text, seg, p):
            list_next = _LIST_SUCCESSOR.get(tok)
            continue
        if tok == list_next and tok and p - len(tok) > seg:
            # inline list "1. The first item 2. The second item": the next marker starts an item
            b = p - len(tok)
            chunk = text[seg:b].rstrip()
            append(Span(seg, seg + len(chunk), chunk, para))
            used = True
            seg = b
            list_next = _LIST_SUCCESSOR.get(tok)
            continue
        cls = _token_class(tok) if tok else _REGULAR
        if first.isdigit():
            if cls != _REGULAR:
                abbrev_end = e
                continue
            if not closers:
                fn = _FOOTNOTE.match(text, e)
                if fn is not None:
                    e = fn.end()
                    append(Span(seg, e, text[seg:e], para))
                    used = True
                    seg = _SKIP_WS.match(text, e).end()
                    continue
        elif cls == _TITLE:
            abbrev_end = e
            continue
        elif cls == _INITIAL:
            # an initial (J. K. Rowling) unless a lower-case word precedes and a sentence opener
            # follows: "you and I. Did", "got a C. I'm so mad", "from A to B. I knew"
            if openers or not tok.isupper():
                abbrev_end = e
                continue
            prev = _word_before(text, p, seg)
            if not (prev[:1].islower() or prev[-1:] == ","):
                abbrev_end = e
                continue
            if tok != "I" and _next_word(text, a.end() - 1) not in _STARTERS:
                abbrev_end = e
                continue
        elif cls == _INITIALISM:
            quoted = openers and openers[-1] in "\"“‘'"
            if not quoted and _next_word(text, a.end() - 1) not in _STARTERS:
                abbrev_end = e
                continue
        if cls != _REGULAR:
            if first in _DASHES:
                abbrev_end = e
                continue  # "MARIANNA, Fla. — It should have been ..."
            if p - seg <= 60:
                head = text[seg:p]
                if "," in head and head.rsplit(",", 1)[0].isupper():
                    abbrev_end = e
                    continue  # a dateline: "SANTA ROSA, Calif. (AP) — ...", "ST. PAUL, Minn. ..."
        append(Span(seg, e, text[seg:e], para))
        used = True
        seg = a.end(1)

    if seg < n:
        chunk = text[seg:].rstrip()
        if chunk:
            append(Span(seg, seg + len(chunk), chunk, para))
    return spans
