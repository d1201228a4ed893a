"""Boilerplate rules: which lines, and which pieces inside lines, are not article text.

Each rule returns a stable reason code (see ``result.REASONS``). Rules only look at bounded windows of
a line (whole-line rules skip lines longer than a few hundred characters; end-anchored rules look at
the last few hundred characters), so cleaning stays linear in the size of the input.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

# ---------------------------------------------------------------------------------------------------
# shared vocabulary

#: agencies and picture desks seen in photo credits
AGENCY = (
    r"(?:AFP|Reuters|AP|Associated\s+Press|Getty(?:\s+Images)?|EPA(?:-EFE)?|EFE|Shutterstock|Xinhua|"
    r"Anadolu(?:\s+Agency)?|Bloomberg|Sputnik|TASS|dpa|ANP|PA(?:\s+(?:Wire|Images))?|Alamy|NurPhoto|"
    r"SOPA\s+Images|Pool|UPI|Twitter|Facebook|Instagram|YouTube|Handout|Supplied|File|IRNA|"
    r"Press\s+TV|BBC|ABC|CNN|NASA|Wikimedia(?:\s+Commons)?)"
)
_PHOTO_WORD = r"(?:photo(?:graph)?|image|picture|pic|file\s+photo|screenshot|screengrab|illustration|credit)"

#: a parenthesised credit: "(AFP photo)", "(Photo by AFP)", "(AFP: Ahmad Sahel Arman)", "(Reuters: X)"
CREDIT_PAREN = (
    r"\(\s*(?:"
    rf"(?-i:{AGENCY})(?:\s+{_PHOTO_WORD}s?(?:\s*[:/]\s*[^()\n]{{1,80}})?|\s*[:/]\s*[^()\n]{{1,80}})"
    rf"|{_PHOTO_WORD}s?\s*(?:by|:|/|courtesy(?:\s+of)?)\s*[^()\n]{{1,80}}"
    rf"|(?:{_PHOTO_WORD}s?\s+)?(?:courtesy(?:\s+of)?\s*:?|credits?\s*(?::|by))\s*[^()\n]{{1,80}}"
    r")\s*\)"
)
_CREDIT_PAREN_END = re.compile(rf"\s*{CREDIT_PAREN}\s*$", re.I)

#: a line that is only a credit: "Photo: AFP", "Getty Images", "AP Photo/Evan Vucci", "Image copyright"
_CREDIT_LINE = re.compile(
    rf"^(?:{CREDIT_PAREN}"
    rf"|{_PHOTO_WORD}s?\s*(?:by|:|/|-|–|courtesy(?:\s+of)?)\s*[^\n]{{1,80}}"
    rf"|(?:{AGENCY}\s*(?:/\s*)?)+(?:{_PHOTO_WORD}s?)?(?:\s*[/:]\s*[A-Z][^\n]{{0,60}})?"
    r"|image\s+(?:copyright|caption|source)(?:\s+[^\n]{0,80})?"
    r"|(?:photo|image)\s+credit[^\n]{0,80}"
    r")\s*$",
    re.I,
)
#: "Joe Raedle/Getty Images", "(Dado Ruvic/Reuters)", "toggle caption Cliff Owen/AP"
_NAME_AGENCY_LINE = re.compile(
    r"^(?:(?:enlarge\s+this\s+image|toggle\s+caption|hide\s+caption)\s+)*\(?\s*"
    r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}"
    rf"(?:\s*/\s*(?:{AGENCY}|Staff|Pool|File|[A-Z]{{2,8}}|Sipa\s+USA)(?:\s+(?:Images|Photos?|Pool))?){{1,3}}"
    r"(?:\s*[,/]\s*(?:File|Pool))?"
    r"(?:\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}\s*/\s*[\w ]{1,30})?\s*\)?$"
)
#: photo-gallery and caption furniture: "Enlarge this image", "Slideshow (5 Images)", "Image 2 of 5"
_CAPTION_FURNITURE = re.compile(
    r"^(?:enlarge\s+this\s+image|toggle\s+caption|hide\s+caption|(?:prev|previous|next)\s+image|"
    r"image\s+\d+\s+(?:of|/)\s+\d+|slideshow\s*\(\d+\s+images?\)|view\s+(?:gallery|slideshow|photos)|"
    r"media\s+caption|image\s+caption|photo\s+caption|image\s+copyright|caption\s*:)(?!\w)[^\n]{0,200}$"
    r"|^(?:photos?|gallery|images?|slideshow|close)$",
    re.I,
)
#: lines with no letter or digit at all: separators such as "***", "___", "• • •"
_NO_WORD = re.compile(r"^[^\w]*$")
# case-sensitive variant for credit lines beginning with an agency (avoid "Pool of..." sentences)
_AGENCY_LINE = re.compile(
    rf"^(?:{AGENCY}\s*(?:/|\s)?\s*)+(?:{_PHOTO_WORD}s?)?(?:\s*[/:]\s*[A-Z][^\n]{{0,60}})?$"
)

#: a credit glued to the next word at the start of a line: "ReutersAhmad Massoud, the son of ..."
GLUED_CREDIT = re.compile(
    r"^(?:Reuters|AFP|Getty\s+Images|Getty|Shutterstock|Xinhua|EPA-EFE|EPA|Anadolu\s+Agency|AP\s+Photo|"
    r"Associated\s+Press|Bloomberg|Alamy|Handout)(?=[A-Z][a-z])"
)

#: sentence-final punctuation: Latin, CJK full stops (。！？ and half-width ｡), Arabic question mark,
#: Devanagari danda (। ॥)
TERMINAL = ".!?…。！？｡؟।॥"
CLOSERS = "\"'”’»)]*」』）】"

#: scripts written without spaces between words (Han, kana): each character counts as a word, so
#: that CJK text is measured like text in any other script
_UNSPACED = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")


def word_count(text: str) -> int:
    """Words of ``text``: runs of letters and digits, and each Han or kana character."""
    return len(WORD.findall(text))


def ends_sentence(text: str) -> bool:
    """True when the text ends like a sentence (terminal punctuation, possibly before quotes)."""
    t = text.rstrip().rstrip(CLOSERS)
    return bool(t) and t[-1] in TERMINAL


def ends_with_terminal(text: str) -> bool:
    t = text.rstrip().rstrip(CLOSERS)
    return bool(t) and t[-1] in TERMINAL + ":;,"


# ---------------------------------------------------------------------------------------------------
# dates

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DATE_PATTERNS = [
    re.compile(r"(?P<y>(?:19|20)\d\d)-(?P<m>\d\d)-(?P<d>\d\d)"),
    re.compile(
        rf"(?P<mon>{MONTH})\.?[\s.]*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s,.:]+(?P<y>(?:19|20)\d\d)", re.I
    ),
    re.compile(
        rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{MONTH})\.?[\s,.:]+(?P<y>(?:19|20)\d\d)", re.I
    ),
]
# a date without a year, as in datelines "Aug.24:"
DATE_NOYEAR = rf"(?:{MONTH}\.?\s*\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}\s+{MONTH})"
DATE_ANY = (
    r"(?:(?:19|20)\d\d-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?(?:Z|[+-]\d\d:?\d\d)?)?"
    rf"|{MONTH}\.?[\s.]*\d{{1,2}}(?:st|nd|rd|th)?[\s,.:]+(?:19|20)\d\d"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}\.?[\s,.]+(?:19|20)\d\d)"
)


def parse_date(text: str) -> str | None:
    """First full date in ``text`` as ISO ``YYYY-MM-DD`` (None when none or invalid)."""
    for pat in _DATE_PATTERNS:
        m = pat.search(text)
        if not m:
            continue
        try:
            if "mon" in m.groupdict() and m.group("mon"):
                month = _MONTHS[m.group("mon")[:3].lower()]
            else:
                month = int(m.group("m"))
            return date(int(m.group("y")), month, int(m.group("d"))).isoformat()
        except (ValueError, KeyError):
            continue
    return None


# ---------------------------------------------------------------------------------------------------
# whole-line rules: (reason, compiled pattern), tried in order on the stripped line

_I = re.I
_SHARE_WORDS = (
    r"(?:share(?:\s+(?:this|on|via|article|story|post|page))*|tweet|e-?mail|print|facebook|twitter|x|linkedin|"
    r"whatsapp|pinterest|reddit|telegram|messenger|flipboard|pocket|tumblr|vk|copy(?:\s+link)?|"
    r"copied|link|save|gift\s+(?:this\s+)?article|sms|comments?|order\s+reprints|reprints|"
    r"print\s+(?:this\s+)?(?:article|page|story)|\d+)"
)

LINE_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "copyright",
        re.compile(
            r"^(?:©|\(c\)|copyright\b|all\s+rights\s+reserved|all\s+content\s+©)"
            r"|all\s+rights\s+reserved\.?\s*$"
            r"|^this\s+material\s+may\s+not\s+be\s+published,\s+broadcast,\s+rewritten,?\s+or\s+redistributed"
            r"|^(?:reporting|writing|editing|additional\s+reporting)\s+by\s+[^.]{2,120}(?:;\s*[^.]{2,120})*\.?$"
            r"|^copyright\s+\d{4}"
            r"|for\s+(?:your\s+)?personal,?\s+non-?commercial\s+use\s+only",
            _I,
        ),
    ),
    (
        "alternate_addresses",
        re.compile(r"can\s+also\s+be\s+accessed\s+at\s+the\s+following\s+alternate\s+addresses", _I),
    ),
    (
        "advertisement",
        re.compile(
            r"^(?:advertisements?|advert|ad|ads|sponsored(?:\s+content)?|paid\s+content|promoted(?:\s+stories)?|"
            r"(?:story|article)\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|ad))?|"
            r"(?:advertisement\s+)?continue\s+reading\s+(?:the\s+)?main\s+story|scroll\s+(?:down\s+)?to\s+continue(?:\s+with\s+content)?|"
            r"story\s+continued\s+below|"
            r"skip\s+advert(?:isement)?|ad\s+feedback|report\s+(?:this\s+)?ad|"
            r"this\s+(?:is\s+an\s+)?advertisement|advertisement\s*[-–—:]\s*scroll\s+to\s+continue)[\s.:]*$",
            _I,
        ),
    ),
    (
        "video_player",
        re.compile(
            r"^(?:play(?:\s+video)?|watch(?:\s+(?:video|now|live|the\s+video|full\s+video))?|replay|now\s+playing|up\s+next|"
            r"video|pause|mute|unmute|fullscreen|loading(?:\s+video)?|autoplay)(?:[\s.:]+duration[\s:]+[^\n]{1,60})?[\s.:]*$"
            r"|^play\s+video\b"
            r"|^(?:video\s+)?duration[\s:]+\d"
            r"|^media\s+playback\s+is\s+(?:unsupported|not\s+supported)"
            r"|^can'?[’]?t\s+see\s+the\s+video\?"
            r"|^(?:this\s+video|the\s+video)\s+(?:can\s*not|cannot|could\s+not)\s+be\s+played"
            r"|^(?:sorry,\s+)?(?:your\s+browser|this\s+browser)\s+does\s+not\s+support\s+(?:the\s+)?video"
            r"|^\d{1,2}:\d{2}(?::\d{2})?$"
            r"|^(?:watch|video)\s*[:|]\s*\S[^\n]{0,140}$",
            _I,
        ),
    ),
    ("hashtags", re.compile(r"^#[\w-]+(?:[\s,;|·]+#[\w-]+)*[\s,.]*$")),
    (
        "breadcrumb",
        re.compile(
            r"^(?:home|news)(?:\s*(?:/|>|»|›|\|)\s*[^/>»›|\n]{1,40}){1,6}$"
            r"|^[A-Z][\w'&.-]*(?:\s+[\w'&.-]+){0,2}(?:\s+(?:/|»|›)\s+[A-Z][\w'&.-]*(?:\s+[\w'&.-]+){0,2}){1,5}$"
            r"|^[A-Z][\w'&.-]*(?:\s+[\w'&.-]+){0,2}(?:\s*(?:/|>|»|›)\s*[A-Z][\w'&.-]*(?:\s+[\w'&.-]+){0,2}){2,5}$",
            _I,
        ),
    ),
    (
        "comment_widget",
        re.compile(
            r"^(?:leave\s+a\s+(?:reply|comment)|post\s+a\s+comment|add\s+a\s+comment|cancel\s+reply|"
            r"(?:\d+\s+)?comments?|comments?\s+\(\d+\)|show\s+comments|view\s+comments|load\s+comments|"
            r"join\s+the\s+(?:conversation|discussion)|comment\s+(?:policy|guidelines)|"
            r"(?:you\s+must\s+be\s+)?logged\s+in\s+to\s+post\s+a\s+comment|"
            r"your\s+email\s+address\s+will\s+not\s+be\s+published|required\s+fields\s+are\s+marked|"
            r"save\s+my\s+name,\s+email|notify\s+me\s+of\s+(?:follow-up\s+comments|new\s+posts)|"
            r"this\s+site\s+uses\s+akismet|conversation\s+guidelines|we\s+welcome\s+(?:your\s+)?comments|"
            r"comments\s+are\s+closed|be\s+the\s+first\s+to\s+comment)\b",
            _I,
        ),
    ),
    (
        "author_box",
        re.compile(
            r"^(?:write\s+to\s+[A-Z][^\n]{0,60}\s+at\s+\S+@\S+|about\s+(?:the\s+)?author|about\s+the\s+writer|author\s+bio|view\s+all\s+posts\s+by|"
            r"more\s+(?:articles|stories|posts)\s+(?:by|from)\s+(?:this\s+)?author|(?:see\s+)?(?:all\s+)?(?:articles|posts)\s+by\s+[A-Z])"
            r"[^\n]{0,80}$",
            _I,
        ),
    ),
    (
        "source_link",
        re.compile(
            r"^(?:source\s+link|original\s+(?:source|article|post)|read\s+(?:the\s+)?(?:original|full)\s+(?:article|story|post)(?:\s+(?:here|at|on)\b[^\n]{0,80})?|"
            r"(?:this\s+(?:article|story|post)\s+)?(?:was\s+)?(?:originally|first)\s+(?:published|appeared)\s+(?:on|at|in|by)\s+[^\n]{1,120}|"
            r"source\s*:\s*[^\n]{1,80}|via\s*:?\s*[^\n]{1,60}|"
            r"this\s+(?:article|story)\s+(?:is\s+)?(?:republished|reprinted)\s+from\s+[^\n]{1,160}|"
            r"[\w'’ ]{1,25}:\s*(?:https?://|www\.)\S+)$",
            _I,
        ),
    ),
    (
        "subscribe_prompt",
        re.compile(
            r"^(?:sign\s+up|subscribe|register)\b[^\n]{0,160}\b(?:newsletter|inbox|subscription|subscribers?|"
            r"updates|alerts|briefing|digest|free|email|account|membership|now|today|here)\b[^\n]{0,120}$"
            r"|^(?:join|get)\b[^\n]{0,160}\b(?:newsletters?|inbox|subscription|alerts|briefing|digest|email\s+updates|delivered)\b[^\n]{0,120}$"
            r"|^(?:sign\s+up|subscribe(?:\s+now)?|newsletter|subscribe\s+to\s+our\s+newsletter|log\s*in|sign\s+in|"
            r"already\s+a\s+subscriber\??|become\s+a\s+member|support\s+(?:our|independent)\s+journalism)[\s.!:]*$"
            r"|^(?:enter\s+your\s+email|by\s+(?:signing\s+up|subscribing|clicking)|thank\s+you\s+for\s+(?:signing\s+up|subscribing)|"
            r"you\s+(?:can|may)\s+unsubscribe|we\s+respect\s+your\s+privacy|(?:invalid\s+)?email\s+address\b|"
            r"get\s+(?:the\s+latest|our|breaking)\b[^\n]{0,100}\b(?:delivered|sent|straight|direct(?:ly)?)\b|"
            r"(?:want|like)\s+more\s+[^\n]{0,60}\?\s*(?:sign|subscribe)|"
            r"to\s+continue\s+reading,?\s+(?:please\s+)?(?:subscribe|log\s*in|sign\s+in))"
            r"|(?:^|[.!?]\s+|:\s*)(?:sign\s+up|subscribe)\s+(?:for|to)\s+(?:our|the|my|his|her|their)?\s*[^\n]{0,60}\b(?:newsletters?|e-?mails?|alerts|bulletin)\b"
            r"|\bdelivered\s+(?:straight\s+|directly\s+)?to\s+your\s+inbox\b"
            r"|^[A-Z][\w'’&-]*(?:\s+[A-Z0-9][\w'’&-]*){0,4}\s+newsletter$"
            r"|^if\s+you\s+(?:enjoyed|liked|value|appreciate|like)\s+(?:this|our|reading)\b[^\n]{0,80}(?:join|subscribe|support|member|donat|sign\s+up)"
            r"|^newsletter\s+sign[\s-]?up$|^support\s+[\w'’ ]{0,40}\bjournalism\b",
            _I,
        ),
    ),
    (
        "read_more",
        re.compile(
            r"^(?:read\s+more|read\s+also|also\s+read|more\s+reading|related(?:\s+(?:articles?|stories|coverage|content|posts|news|topics|reading))?|"
            r"see\s+also|you\s+(?:may|might)\s+also\s+(?:like|be\s+interested\s+in)|recommended(?:\s+(?:for\s+you|stories|reading))?|"
            r"more\s+(?:from|on|in|news|stories|like\s+this)\b|most\s+(?:read|popular|viewed|shared)|trending(?:\s+now)?|"
            r"don'?t\s+miss|click\s+here|continue\s+reading|top\s+stories|latest\s+(?:news|stories|videos)|editor'?s\s+picks?|"
            r"(?:find|like)\s+us\s+on\s+facebook|keep\s+reading|next\s+(?:article|story|post)|previous\s+(?:article|story|post)|"
            r"more\s+about|tags?\s*:|topics?\s*:|filed\s+under\s*:?|categories\s*:|posted\s+in\s*:|"
            r"also\s+on\s+\w[\w-]*\.(?:com|org|net|co\.uk|tv|news)\b|tags|topics|related\s+topics|listen\s*:|download\s*:|"
            r"more\s+[^\n:]{1,40}:\s*(?:https?://|www\.)[^\n]*)"
            r"(?:[\s:|»>.-]+[^\n]{0,200})?$",
            _I,
        ),
    ),
    (
        "teaser",
        re.compile(
            r"^[^\n.!?]{3,200}\[(?-i:[A-Z]{2,}(?:\s+[A-Z]{2,}){0,2})\]\s*[|,]?$"
            # a link-box teaser: "With X — here are the key figures in the movement."
            r"|\S\s*[—–]\s*here(?:'s|’s|\s+is|\s+are)\s+(?:the|what|how|who|why|everything|all)\s[^.!?:\n]{3,80}\.$",
            _I,
        ),
    ),
    (
        "disclaimer",
        re.compile(
            r"^(?:disclaimer|editor'?s?\s+note|note\s+to\s+(?:editors|readers))\s*[:\-–—]"
            r"|\bnot\s+(?:be\s+held\s+)?responsible\s+for\s+the\s+content\s+of\s+(?:any\s+)?external"
            r"|^editor\s+says\b"
            r"|^the\s+views\s+(?:and\s+opinions\s+)?expressed\s+(?:in\s+this\s+(?:article|piece|post|column)|here(?:in)?|by\s+the\s+(?:author|writer))"
            r"|^(?:this\s+(?:article|story|content)\s+(?:is|was)\s+(?:auto-?generated|generated\s+from\s+a\s+syndicated\s+feed|"
            r"published\s+from\s+a\s+(?:wire\s+agency\s+)?feed|not\s+edited\s+by))"
            r"|^\(?\s*(?:except\s+for\s+the\s+headline,\s+)?this\s+story\s+has\s+not\s+been\s+edited\s+by",
            _I,
        ),
    ),
    (
        "share_widget",
        re.compile(
            rf"^(?=[^\n]*[a-z])[-–•*\s]*(?:{_SHARE_WORDS}[\s,|·•:/()-]*)+$"
            r"|^(?:https?://)?(?:www\.)?(?:twitter|x|facebook|instagram|linkedin|youtube|tiktok)\.com/\S+$"
            r"|^(?:https?://)?t\.me/\S+$",
            _I,
        ),
    ),
    (
        "share_widget",
        re.compile(
            r"(?:^[-–—•*\s]*|[.!?]\s+|\bor\s+|\band\s+|:\s*)(?:please\s+)?follow\s+(?:us|him|her|them|me|[A-Z][\w.]*(?:\s+[A-Z][\w.]*){0,3})\s+on\s+"
            r"(?:twitter|facebook|instagram|linkedin|tiktok|youtube|x|threads|bluesky)\b"
            r"|(?:^[-–—•*\s]*|[.!?]\s+|\bor\s+|\band\s+|:\s*)follow\s+(?:(?:us|him|her|them|me)\s+)?@\w+"
            r"|^(?:connect\s+with\s+us|stay\s+connected|like\s+us\s+on\s+facebook)\b",
            _I,
        ),
    ),
    (
        "metadata_line",
        re.compile(
            r"^(?:date|published|posted|updated|last\s+updated|first\s+published|modified)(?:\s+(?:on|at))?\s*[:\-–—]?\s*"
            rf"(?:{DATE_ANY}|{DATE_NOYEAR}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|\d+\s+(?:minutes?|hours?|days?)\s+ago)[^\n]{{0,40}}$"
            rf"|^(?:{DATE_ANY})(?:\s*(?:at\s+)?\d{{1,2}}[:.]\d\d(?:\s*[ap]\.?m\.?)?(?:\s+[A-Z]{{2,4}})?)?[\s|,.]*$"
            r"|^#\w+\s+report\b[^\n]{0,10}(?:published|posted)\s*:[^\n]{0,40}$"
            r"|^(?:updated|posted|published|last\s+updated)(?:\s+(?:at|on))?\s*:?\s*\d{1,2}[:.]\d\d\s*(?:[ap]\.?m\.?)?(?:\s+[A-Z]{2,4})?[\s.]*$"
            r"|^\d+\s+min(?:ute)?s?\s+read$|^reading\s+time\s*:?[^\n]{0,20}$"
            r"|^this\s+(?:article|story)\s+is\s+(?:more\s+than|over)\s+\d+\s+\w+\s+old$"
            r"|^(?:the\s+)?[A-Z][\w.&'’ -]{1,60}\s+contributed\s+(?:to\s+)?(?:this\s+)?(?:report|story|article)(?:ing)?\.?$"
            r"|^(?:by|written\s+by|words\s+by|author\s*:)\s+(?-i:[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3})"
            r"(?:\s*(?:,|and|&)\s*(?-i:[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3})){0,3}"
            rf"(?:\s*[|,•·-]\s*(?:{DATE_ANY}|[A-Z][\w ]{{0,40}}))?\s*$",
            re.I,
        ),
    ),
]

#: cheap pre-checks: a rule (by position in LINE_RULES) is only tried when the lowercased line
#: contains one of these strings
_PREFILTER: dict[int, tuple[str, ...]] = {}
for _i, (_reason, _pat) in enumerate(LINE_RULES):
    if _reason == "share_widget" and "follow" in _pat.pattern[:80]:
        _PREFILTER[_i] = ("follow", "connect", "stay connected", "like us")
    elif _reason == "disclaimer":
        _PREFILTER[_i] = (
            "disclaimer",
            "editor",
            "note",
            "responsible",
            "views",
            "this article",
            "this story",
            "this content",
        )
    elif _reason == "subscribe_prompt":
        _PREFILTER[_i] = (
            "sign",
            "subscri",
            "register",
            "join",
            "get",
            "newsletter",
            "log",
            "member",
            "support",
            "enter",
            "by ",
            "thank",
            "unsubscribe",
            "privacy",
            "email",
            "want",
            "like",
            "to continue",
            "inbox",
        )
    elif _reason == "copyright":
        _PREFILTER[_i] = ("©", "(c)", "copyright", "rights", "material", "by ", "personal")
    elif _reason == "alternate_addresses":
        _PREFILTER[_i] = ("alternate",)


# agency line check is case-sensitive; credit lines beginning with a photo word are not
#: most words a line may have for each whole-line rule (longer lines are article text, whatever
#: they contain); rules not listed apply to lines of any length up to 3,000 characters
MAX_WORDS: dict[str, int] = {
    "copyright": 80,
    "advertisement": 10,
    "video_player": 25,
    "hashtags": 40,
    "breadcrumb": 12,
    "comment_widget": 25,
    "author_box": 25,
    "source_link": 25,
    "subscribe_prompt": 40,
    "read_more": 30,
    "teaser": 40,
    "share_widget": 40,
    "metadata_line": 16,
}
_LONG_LINE_RULES = ("disclaimer", "alternate_addresses")
_CONTRIBUTOR = re.compile(r"^(?:reporting|writing|editing|additional\s+reporting)\s+by\b", re.I)


@lru_cache(maxsize=8192)
def classify_line(text: str) -> str | None:
    """Reason code for a whole (stripped) line that is boilerplate, else None.

    Cached: site furniture repeats across documents, and so do the lines of pathological inputs."""
    n = len(text)
    if n == 0 or n > 3000:
        return None
    words = word_count(text) if n <= 1200 else 10**6
    if words == 0 and _NO_WORD.match(text):
        return "separator"
    if words <= 80:
        if _CREDIT_LINE.match(text) and (_AGENCY_LINE.match(text) or not re.match(AGENCY, text, re.I)):
            return "photo_credit"
        if words <= 16 and _NAME_AGENCY_LINE.match(text):
            return "photo_credit"
        if _CAPTION_FURNITURE.match(text):
            return "caption"
        low = text.lower()
        for i, (reason, pat) in enumerate(LINE_RULES):
            if reason in _LONG_LINE_RULES or words > MAX_WORDS[reason]:
                continue
            kws = _PREFILTER.get(i)
            if kws is not None and not any(k in low for k in kws):
                continue
            if reason == "breadcrumb" and ends_with_terminal(text):
                continue
            if pat.search(text):
                if reason == "copyright" and _CONTRIBUTOR.match(text):
                    return "metadata_line"
                return reason
    low = text.lower()
    for i, (reason, pat) in enumerate(LINE_RULES):
        if reason in _LONG_LINE_RULES and any(k in low for k in _PREFILTER[i]) and pat.search(text):
            return reason
    return None


def caption_with_credit(text: str) -> tuple[int, int] | None:
    """If the line ends in a parenthesised credit, the (start, end) of the credit within it."""
    tail_start = max(0, len(text) - 200)
    m = _CREDIT_PAREN_END.search(text, tail_start)
    if not m:
        return None
    return m.start(), m.end()


# ---------------------------------------------------------------------------------------------------
# inline rules: pieces at the start or end of a kept line

#: "date 2021-08-22 The Afghan ..." / "Published: 22 Aug 2021 - The ..." prefixes
DATE_PREFIX = re.compile(
    rf"^(?:date|published|posted|updated)(?:\s+on)?\s*[:\-–—]?\s*(?P<date>{DATE_ANY})\s*[|:\-–—]?\s+(?=\S)",
    re.I,
)
#: "#AceNewsReport – Aug.24: Since the ..." hashtag datelines
TAG_DATELINE = re.compile(
    rf"^#\w+\s*[–—-]\s*(?P<date>{DATE_ANY}|{DATE_NOYEAR})\s*[:\-–—]\s*(?=\S)",
    re.I,
)
#: "... Brief News from Washington Newsday." at the end of a line
PROMO_TAIL = re.compile(
    r"(?<=[.!?”\"’'])\s*(?:Brief\s+News|More\s+News|Latest\s+News|Read\s+more\s+news|Read\s+More|More\s+stories)"
    r"\s+(?:from|at|on)\s+[A-Z][\w.&'’ -]{1,60}[.!]?\s*$"
)
#: a hashtag tail on a headline: "... #AceNewsDesk report"
HASHTAG_TAIL = re.compile(r"(?:\s+#\w+)+(?:\s+(?:report|news|update))?\s*$", re.I)

#: a sentence end glued to a capitalised word: "Taliban”.Living" (no space after the full stop)
GLUED_BOUNDARY = re.compile(r"[.!?][”\"’']?(?=[A-Z])|[”\"’][.!?](?=[A-Z])")
#: a word glued to a capitalised word: "womanShamsiya"
GLUED_WORDS = re.compile(r"\b[a-z]{3,}(?=[A-Z][a-z])")


def promo_glued_span(text: str) -> tuple[int, int] | None:
    """Start of a related-story headline glued after the last sentence of a content line.

    Pattern: ``<sentence>.<Headline without punctuation><Teaser sentence...>`` where the headline is
    run into the teaser without a space (``...Taliban”.Living under the Taliban as a womanShamsiya and
    her sisters...``). The glued word must begin in lower case (``womanShamsiya``, not a brand such
    as ``HuffPost``) and the teaser after it must be short (at most 60 words); a long paragraph after
    the glue is article text with a missing space. Returns (start, end of line) or None.
    """
    # the teaser must end the line and be short, so only the line's tail can hold its start
    for m in GLUED_BOUNDARY.finditer(text, max(0, len(text) - 900)):
        start = m.end()
        window = text[start : start + 120]
        g = GLUED_WORDS.search(window)
        if not g:
            continue
        headline = window[: g.end()]
        if any(c in headline for c in '.!?;:”"') or not (3 <= len(headline.split()) <= 14):
            continue
        rest = text[start + g.end() :]
        if len(rest) > 600 or word_count(rest) > 60:
            # a long paragraph follows: more likely a missing space inside article text than a teaser
            continue
        return start, len(text)
    return None


#: a sentence end inside a line: ". The" (used to tell a headline from a lead paragraph)
INNER_SENTENCE_END = re.compile(r"[a-z0-9][.!?][”\"’']?\s+[A-Z]")


#: a read-more header with nothing after it, whose following lines are the links or keywords it heads
LIST_HEADER = re.compile(
    r"^(?:read\s+more|related(?:\s+(?:articles?|stories|coverage|content|posts|news|topics|reading|links))?|"
    r"see\s+also|more\s+(?:from|on|in)\s+[^\n]{1,40}|more\s+(?:news|stories|like\s+this)|most\s+(?:read|popular|viewed|shared)|"
    r"you\s+(?:may|might)\s+also\s+(?:like|be\s+interested\s+in)|recommended(?:\s+(?:for\s+you|stories|reading))?|"
    r"tags?|topics?|keywords?|filed\s+under|categories|trending(?:\s+now)?|top\s+stories|latest\s+(?:news|stories))"
    r"\s*[:.»>|-]*$",
    re.I,
)
