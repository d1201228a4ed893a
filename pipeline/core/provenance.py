"""Provenance: who took text from whom, with the evidence and a confidence, also without dates.

Every function here maps polars frames to polars frames; nothing is global. ``compute_overlap`` calls
them where it builds ``document_pairs`` (direction), ``document_originality`` (inferred source,
originality), ``passages`` and ``sentence_clusters`` (their direction and origin).

What counts as evidence
-----------------------
Only reuse counts: when ``sentence_matches`` has a ``relation`` column, only rows whose relation is
``reuse`` or ``quote`` (see :func:`reuse_only`; stock phrases and isolated same-fact similarities are
not reuse). Quotations
(``is_quote``) are never evidence of direction: two outlets quoting one speaker took the words from the
speaker, a source outside the corpus. A speaker's words are a quotation wherever they are printed: a
sentence cluster (over all reuse matches) one of whose matches is a quotation, or a transcript turn
(a line after a speaker label such as "AMY GOODMAN:", :func:`speaker_turns`) matched in a page that is
no transcript, is a quotation cluster, and its sentences are no evidence either, also where an outlet
prints them without quotation marks (a tweet embedded, a transcript, a speech text: unmarked speech;
:func:`_speech_sentences`). A pair shares
mostly the words of speakers (:meth:`_Pairs.spoken`) when at least ``SPEECH_MIN_UNMARKED`` (a third)
of its matches outside quotations are unmarked speech and quotations and unmarked speech make up at
least ``SPEECH_MIN_SHARE`` (0.5) of its matches (the other lines are then likely parts of the same
quotations, whose marks sit only at their ends): dates and union do not order such a pair (two texts
quoting one speech are not ordered by who printed it first).

Publication times are intervals, by precision (``published_at_precision``):

* ``time`` (a time with its zone, converted to UTC): the instant itself;
* ``local_time`` (a time without zone): ``[t - 12 h, t + 12 h]``, the zones it could be in;
* ``day`` (a date only): the whole local day in any of those zones, ``[d - 12 h, d + 1 day + 12 h]``.

Dates (``dates``) order two documents X before Y only when X's interval ends before or where Y's
begins (two items dated the same day, or on consecutive days, at day precision are not ordered), and
only when at least ``UNION_MIN_COVERAGE`` (0.8) of Y's reused sentences are in X: a later text holding
reused text the earlier one lacks took it elsewhere, so the earlier is not shown to be its source
(e.g. two copies of an original missing from the corpus). Nor do dates order X before Y when a credit
line names an outlet outside the story (``absent``, :meth:`_Pairs.absent_source`, below). Without a
precision column, a value at exactly midnight is taken as a date only (``day``) and any other value as
``time``. Implausible dates never reach this module: ingest flags them and leaves ``published_at``
null.

Textual evidence (works without dates), over the sentence clusters of non-quote reuse (outside
quotation clusters) between the documents of a story (document pairs with ``in_story``):

* union (``union``): X holds the union of what its relatives share. X is taken as the source of Y when
  at least ``UNION_MIN_WITNESSES`` (2) other relatives of X each carry sentences of X that Y lacks (at
  least ``UNION_MIN_CLUSTERS`` (2) such sentences in all: different copies took different parts of X),
  while at least ``UNION_MIN_COVERAGE`` (0.8) of Y's reused sentences are in X, and the same test does
  not also hold the other way. Witnesses count only when X holds their reused text (at least 0.8 of
  it): a relative fuller than X is not explained by X. A wire original copied in part by several
  sites passes it; a copy does not, since what its siblings took from the original and it dropped is
  not in it. The test does not apply to X when a relative holds nearly the same reused text (each
  covers 0.8 of the other: a full copy is the original's twin), unless the twin is shown to derive
  from X by dates, a credit line or X's own wire dateline, or X is the version that twin diverges from: two or more other
  relatives match X's wording more closely (exact > near > paraphrase) on the sentences all hold,
  and none the twin's. The test reads no quotation (above) and speaks only about a pair that shares
  enough text of its own (:meth:`_Pairs.own_text`): at least ``UNION_MIN_TEXT`` (3) reuse matches
  outside quotations, and those at least ``UNION_MIN_TEXT_SHARE`` (a third) of the pair's matches,
  where a sentence inside a quotation that runs over several sentences counts as a quotation too
  (:func:`quotation_middles`: the quotation flag reads each sentence alone and misses those between
  the opening and the closing mark). Two outlets printing the same statements (a compilation of
  reactions, a campaign statement, a call transcript) hold the union of what others quoted of them the
  way a source would, and the few lines they share besides are no evidence that one copied the other.
  Once a document is the source of two
  or more others by this test or by their credit lines and derives from none (a hub), it is also the
  source of a relative whose reused text it holds when a single witness carries text of it that the
  relative lacks (rule 7 below, for pairs the other evidence leaves undetermined).
* credit lines to an outlet outside the story (``absent``): a credit line is a sentence with a credit
  cue ("first published by", "contributed to this report", "reporting by", "based on wire service
  reports", ...) or a bracketed dateline ("(AP)"); the outlets it may name are those of the corpus
  and the wire agencies (``WIRE_AGENCIES``; a wire's short name, "AP", stands for its full one), and
  a credit to wire copy naming no agency names :data:`UNNAMED_WIRE`. A direction X -> Y by dates or
  by the union test is withheld when X's or Y's credit line names an outlet that no document of the
  pair or of their relatives is from (any wire agency's page, for an unnamed wire), unless Y's text
  names X's outlet: X's line says X is itself a copy of a source outside the corpus, which Y may have
  taken as well (two outlets carrying one wire story: the earlier, or the fuller, is not the other's
  source); Y's line says where Y took its text from. Text alone cannot tell such a copy from an
  original: it holds the union, or comes first, the way its source would. The same holds when a
  third relative Z of both credits such an outlet with a credit cue (not a bracketed dateline, which
  opens one passage only, perhaps Z's own addition) and holds at least ``SIBLING_MIN_EXPLAINED``
  (0.8) of the sentences X and Y share (:meth:`_Pairs.absent_common`): Z says that text is the absent
  outlet's, and X and Y carry it too (several sites run one wire story, one of them says so).
* credit (``credit``): Y's text names X's outlet (e.g. "AFP", "according to Reuters") while X's text
  does not name Y's: copies credit their source. Outlet names shorter than 2 characters, ``unknown``
  and names that are not words are ignored; names of up to 5 characters must match case-sensitively.
  Two outlets of one organisation (the words of one label all among the other's: "Fox News" and
  "Fox Online News", :func:`same_organisation`) are not ordered by credit: they print the
  organisation's name in their own text (newsletters, promotions, "told Fox News").
* a wire agency's own dateline (``wire``): X is the page of a wire agency (``WIRE_AGENCIES``) and its
  text opens a passage with the agency's own bracketed dateline ("BEIJING (AP) —", "SEOUL (Reuters)
  -": :meth:`_Pairs.own_dateline`; a credit cue such as "Reuters contributed" is no dateline), Y is
  no wire agency's page, at least ``UNION_MIN_COVERAGE`` (0.8) of Y's reused sentences are in X, and
  the pair shares enough text outside quotations (as for the union test): X -> Y. The agency signs
  the text as its own reporting, and outlets run wire copy, often dropping the dateline or turning it
  into a plain place name ("Beijing —"), so that no credit line names the agency. Withheld, as dates
  and union are, when a credit line names an outlet outside the story (``absent``), and not drawn
  between two agencies' pages or when the pair shares mostly the words of speakers. This is the
  agency's own statement about its text, the way a credit line is a copy's statement about its
  source; it says nothing about pages of other outlets that carry the agency's dateline (those are
  copies of the agency's text: ``credit`` and ``absent`` read them).
* the odd one out (triads): of three related versions X, Y, Z, X is the odd one out on a sentence
  when Y and Z hold it and X does not, or when the Y-Z match is strictly stronger (exact > near >
  paraphrase) than both matches with X: Y and Z agree against X (:meth:`_Story.odd`). Copies add,
  trim and change text, and a copy inherits what its source holds, so in a line of descent
  X - M - Y the two ends agree against M only by coincidence: what Y holds of X's, it holds through
  M. When X and Y are each the odd one out on at least ``TRIAD_MIN_ODD`` (2) sentences of a triad
  with some relative Z, neither is the other's source (if Y had copied X, Y could agree with Z
  against X only where Z copied Y, and then X and Z could agree against Y only by coincidence, or
  if Z drew on X as well). When Z is the odd one out too, none of the three lies between the other
  two: they are copies of a common source that is none of them (``common_source``, typically an original missing from the corpus); else Z
  lies between X and Y (``indirect``): the text passed through Z, or through a common source.
  The threshold of two sentences keeps one coincidence (two copiers making the same change) from
  deciding.
* siblings (``common_source``): two copies of one source share that source's text. A pair X, Y is a
  pair of siblings when a third document S related to both may be their common source (it is, by
  rules 1 to 8 below, the source of both, or at least derives from neither and is dated after neither;
  the evidence says which), at least
  ``SIBLING_MIN_EXPLAINED`` (0.8) of the sentence clusters X and Y share are also held by S, and
  neither is closer to the other than to S: fewer than 2 (and at most 20%) of their shared clusters
  are missing from S (shared changes would mean one copied the other), and on the clusters all three
  hold, X-Y matches are strictly stronger (exact > near > paraphrase) than both X-S and Y-S matches
  for at most 20% of them, and the two counts together stay under ``TRIAD_MIN_ODD`` (2): S is not the
  odd one out of the three (:meth:`_Story.odd`). A copy inherits its source's text, so two copies of
  S agree against S only by coincidence; when they do on two or more sentences (S reworded text the
  two keep alike), S is a version that diverged from their text, not its source (a full copy that
  reworded a wire story is not the common source of the wire and the wire's other copies).

Rules, in order (``PAIR_RULES``, applied in turn by ``pair_directions``)
-----------------------------------------------------------------------
Rules 1 to 5 decide the pairs no earlier rule has decided (the first that applies decides); every
pair is decided by rule 5 at the latest. Rules 6 to 8 need what the earlier rules decided for all
pairs and revise it where they say so.

1. ``same_page``: the two documents were taken from one page (the same ``url``, compared by
   :func:`page_key`: a page ingested under two outlet labels, e.g. an outlet's page listed again
   under its columnist's name): undetermined, ``same_page``; one version, not a copy of the other.
   No later rule changes it, and in the text evidence of other pairs the two count as one version
   (neither is the other's relative, twin or witness; as witnesses of a third they count once). Only
   the URL of the document's metadata is compared, not one found in the page (a syndicated copy
   names its original's URL as its canonical address). Two texts alike with one title are not
   taken for one page: a wire story runs verbatim, under the agency's title, on many sites.
2. ``quote``: the pair shares only quotations, or is not linked into a story and shares more
   quotation than text: undetermined (quote reuse from a source outside the corpus). No later rule
   changes it.
3. ``triads``: a relative Z shows that neither is the other's source (above): undetermined,
   ``common_source`` with a null ``common_source_doc_id`` (copies of a source that is none of the
   three, and that rule 9 finds in no document of the corpus: typically an original missing from
   it) or ``indirect`` (Z lies between them). Dates, credit and union are not consulted: an
   earlier copy is not the source of a later one that has readings it lacks.
4. ``no_story``: a pair that is not linked into a story (``in_story``: a line or two in common) is
   not ordered (``none``).
5. ``signals``: dates, credit, wire and union (``SIGNALS``, read in that order) each give a
   direction or nothing. When those that speak agree, that is the direction, with every agreeing signal in the
   evidence and the confidence ``1 - prod(1 - c)`` over them (per-signal confidence, set on
   principle and compared with the precision each basis measures on the derivation evaluation,
   ``pipeline/evaluation/derivation.py``, figures in ``pipeline/evaluation/results/derivation.md``:
   dates at ``time`` precision 0.75, other dates 0.7, credit 0.85, wire 0.8, union 0.6; dates and
   union are capped by what they measure on the judged real-news samples, see ``CONFIDENCE``). Dates,
   wire and union say nothing about a pair where a credit line names an outlet outside the story
   (``absent``, above; the evidence says so). When they disagree:
   undetermined (``conflict``), the evidence names both. When none speaks: undetermined, ``quote``
   when the pair shares mostly the words of speakers (above), else ``none``; the evidence says why.
6. ``indirect``: a direction X -> Y drawn by dates or union (not by a credit line) is withdrawn when
   a relative Z published before Y agrees with Y against X on at least ``TRIAD_MIN_ODD`` sentences
   (:meth:`_Story.reverted`): Z, older than Y, is not Y's copy, so Y took those sentences through Z
   or from a source of both, not from X directly; undetermined (``indirect``), the evidence gives
   both.
7. ``hub``: a pair of the story left undetermined for want of evidence (``none``) is directed from
   a hub (the source of two or more documents by the union test or by the credit lines of rule 5,
   derived from none: copies that say they took its text, or that took different parts of it, show
   it is an origin of the story) to its relative when the hub holds the relative's reused text and
   a single witness carries text of the hub that the relative lacks and the pair shares enough text
   outside quotations (``union``, see above).
8. ``line``: a relative Z lies between X and Y (rule 3 left X, Y ``indirect``: X and Y each the
   odd one out on at least ``TRIAD_MIN_ODD`` sentences of the three, and Z on none), X is shown to be
   Z's source (rules 5 to 7), and Z's pair with Y is undetermined for want of evidence (``none``):
   Z -> Y (``line``), when at least ``UNION_MIN_COVERAGE`` of Y's reused sentences are in Z and no
   credit line names an outlet outside the story (``absent``). What Y holds of X's text it holds
   through Z (the triad); Z took its text from X, not from Y, so the text went X -> Z -> Y. Z must be
   the odd one out on no sentence: a sibling of Y (both copies of X) that once made the same change
   as Y is not between them. The confidence is that of the X -> Z direction the rule extends; the evidence names it and
   the triad. Repeated until nothing changes, for longer lines. In a line whose root no evidence
   gives (no credit line or date orders any of its pairs) nothing is drawn.
9. ``siblings``: siblings with a common source S in the corpus (above; whether S is the source of
   both, or derives from either, is read from rules 1 to 8): undetermined, ``common_source``,
   ``common_source_doc_id`` names S. This replaces what rules 3 to 8 decided: no direction is drawn
   between two copies on the strength of the source's text they share, even when dated; but a
   credit line between the two (rule 5: one copy names the other's outlet, and dates do not
   contradict it) outweighs it, since the copy says where it took the text from, and so does a wire
   agency's own dateline (rule 5: the agency says the text is its own reporting). When a copy's text
   is as close to S as to its sibling, S is named: one source explains both copies (in a chain
   A -> B -> C whose last copy carries nothing of the middle one's changes, the text cannot tell C's
   source from A, and A is named).

Undetermined directions have a null confidence: no guess is presented as a finding.

Derived tables
--------------
* document pairs: ``direction`` (``a->b``, ``b->a``, ``undetermined``), ``direction_basis`` (``dates``,
  ``credit``, ``wire``, ``union`` joined by ``+`` when several agree; ``line`` (rule 8); ``same_page``,
  ``quote``, ``common_source``, ``indirect``, ``conflict``, ``none`` when undetermined), ``direction_evidence`` (text),
  ``direction_confidence`` (f64 or null), ``common_source_doc_id`` (siblings: their common source,
  null when it is not in the corpus);
* passages inherit their document pair's direction, basis and confidence;
* sentence clusters: the origin is the cluster's document that no other member derives from while
  every other member derives (directly or through members) from it along determined directions;
  ``origin_status`` is ``inferred`` then; else ``quotation`` when every match of the cluster is
  quotation (the words of a speaker, whose source is outside the corpus), else ``undetermined``;
  ``origin_basis``, ``origin_confidence`` (the lowest confidence on the paths from the origin);
* inferred source of a document: among the pairs whose direction points at it and that link it into
  a story, the strongest (3 per exact, 2 per near, 1 per paraphrase non-quote match: exact and near
  matches are stronger evidence of direct descent than rewordings, so a copy is linked to the version
  closest to it); withheld when an undetermined pair (other than siblings, an indirect relation,
  quote reuse or one page under two labels: those relations are explained) shares more strongly;
* originality: a sentence is reused when it is matched in a document that is its document's source
  (a determined direction pointing at its document); otherwise it is original, so an origin is not
  made less original by being copied.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

import polars as pl

from pipeline.core.kinds import KIND_RANK

__all__ = [
    "reuse_only",
    "kind_to_origin",
    "date_intervals",
    "pair_directions",
    "passage_directions",
    "cluster_origins",
    "inferred_sources",
    "reused_sentences",
    "PAIR_RULES",
    "SIGNALS",
    "PAIR_COLUMNS",
    "PASSAGE_COLUMNS",
    "CLUSTER_COLUMNS",
]

UNION_MIN_WITNESSES = 2
UNION_MIN_CLUSTERS = 2
UNION_MIN_COVERAGE = 0.8
SPEECH_MIN_SHARE = 0.5
SPEECH_MIN_UNMARKED = 1 / 3
SIBLING_MIN_EXPLAINED = 0.8
SIBLING_MAX_SHARED_CHANGES = 0.2
TRIAD_MIN_ODD = 2
QUOTE_MAX_SENTENCES = 12
UNION_MIN_TEXT = 3
UNION_MIN_TEXT_SHARE = 1 / 3
#: per-signal confidence: an estimate of the share of right directions among those the signal draws
#: alone. Dates are capped by what they measure on real news: on the judged development sample of
#: AllSides pairs (dates are days only), 10 of 15 date directions were right (0.67; 95% CI 0.42-0.85),
#: the wrong ones two outlets quoting one speaker, transcript or widget, none of whom took the text from
#: the other, a failure that the precision of the dates does not change; the derivation evaluation
#: measures 0.98 (day) and 0.95 (time), since its copies have no such common sources. A time orders
#: two versions of one day that a day cannot, hence a little more for ``time`` precision. The union
#: test is capped the same way: before it read no quotation, 1 of the 12 union directions judged on
#: real news was right (two outlets printing the same statements or transcript hold the union of what
#: others quoted of them the way a source would); with quotations and the middle of long quotations
#: left out and shared text outside them required, it directs 2 cross-outlet story pairs of the whole
#: AllSides corpus, both judged, 1 right (a compilation of statements printed without quotation marks
#: is still taken for the source of an outlet printing one of them). The derivation evaluation measures
#: 0.98 to 1.00; 0.6 lies between the two, below the dates, whose real-news record is better. A wire
#: agency's own dateline: of the 26 judged pairs with a page of a wire agency, the agency's page is
#: the source in all but a page filed under two labels and a pair sharing only tweets (rules 1 and 2
#: decide those first); the dateline speaks on 5 judged pairs (sub-corpus runs), all right: 2 the
#: other rules left undetermined (New York Post and CBS News pages running AP's story without naming
#: AP) and 3 where it agrees with dates or the union test. Below credit, since an agency also runs
#: text it took from a member outlet, which its dateline does not tell (the credit line usually does).
CONFIDENCE = {"dates_time": 0.75, "dates": 0.7, "credit": 0.85, "wire": 0.8, "union": 0.6}
# how far a local clock may be from UTC (zones of inhabited places lie within about +-12 h)
_ZONE_BEFORE = timedelta(hours=12)
_ZONE_AFTER = timedelta(hours=12)

PAIR_COLUMNS = {
    "direction": pl.String,
    "direction_basis": pl.String,
    "direction_evidence": pl.String,
    "direction_confidence": pl.Float64,
    "common_source_doc_id": pl.String,
}
PASSAGE_COLUMNS = {
    "direction": pl.String,
    "direction_basis": pl.String,
    "direction_confidence": pl.Float64,
}
CLUSTER_COLUMNS = {
    "is_origin": pl.Boolean,
    "origin_sentence_id": pl.String,
    "origin_status": pl.String,
    "origin_basis": pl.String,
    "origin_confidence": pl.Float64,
    "kind_to_origin": pl.String,
}


REUSE_RELATIONS = ("reuse", "quote")


def reuse_only(matches: pl.DataFrame) -> pl.DataFrame:
    """The matches that are reuse (the one place that knows how reuse is marked): with a ``relation``
    column, text reuse and quotations (which keep ``is_quote`` and are never evidence of direction);
    stock phrases and isolated same-fact similarities are left out."""
    if "relation" not in matches.columns:
        return matches
    return matches.filter(pl.col("relation").is_in(list(REUSE_RELATIONS)))


# ------------------------------------------------------------------------------------------ dates


def date_intervals(docs: pl.DataFrame) -> pl.DataFrame:
    """``doc_id``, ``precision``, ``t_lo``, ``t_hi``: the interval each publication time stands for."""
    t = pl.col("published_at")
    if "published_at_precision" in docs.columns:
        prec = pl.col("published_at_precision")
    else:
        prec = pl.lit(None, dtype=pl.String)
    midnight = (t.dt.hour() == 0) & (t.dt.minute() == 0) & (t.dt.second() == 0) & (t.dt.microsecond() == 0)
    prec = (
        pl.when(t.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(prec.is_in(["day", "local_time", "time"]))
        .then(prec)
        .when(midnight)
        .then(pl.lit("day"))
        .otherwise(pl.lit("time"))
        .alias("precision")
    )
    d = docs.select("doc_id", "published_at", prec)
    day = t.dt.truncate("1d")
    return d.select(
        "doc_id",
        "published_at",
        "precision",
        pl.when(pl.col("precision") == "time")
        .then(t)
        .when(pl.col("precision") == "local_time")
        .then(t - _ZONE_BEFORE)
        .otherwise(day - _ZONE_BEFORE)
        .alias("t_lo"),
        pl.when(pl.col("precision") == "time")
        .then(t)
        .when(pl.col("precision") == "local_time")
        .then(t + _ZONE_AFTER)
        .otherwise(day + timedelta(days=1) + _ZONE_AFTER)
        .alias("t_hi"),
    )


# ------------------------------------------------------------------------------------------ helpers


def _find_root(parent: dict[str, str], x: str) -> str:
    """The root of ``x`` in the union-find forest ``parent`` (paths compressed on the way)."""
    root = x
    while parent.get(root, root) != root:
        root = parent[root]
    while parent.get(x, x) != root:
        parent[x], x = root, parent[x]
    return root


_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def page_key(url: str | None) -> str | None:
    """The page a URL names, for comparing two documents' URLs: without scheme, ``www.``, fragment
    and trailing slash, the host in lower case; None for no URL or a URL without a path (a site's
    home page names no article)."""
    u = _URL_SCHEME.sub("", (url or "").strip().split("#", 1)[0])
    host, _, path = u.partition("/")
    host, path = host.lower().removeprefix("www."), path.rstrip("/")
    return f"{host}/{path}" if host and path else None


def same_pages(docs: pl.DataFrame) -> dict[str, str]:
    """doc_id -> the first doc_id (in order) of its page, for documents that share their page (by
    :func:`page_key` of ``url``) with another document; empty without a ``url`` column."""
    if "url" not in docs.columns:
        return {}
    groups: dict[str, list[str]] = defaultdict(list)
    for d, u in docs.select("doc_id", "url").rows():
        k = page_key(u)
        if k is not None:
            groups[k].append(d)
    return {d: min(g) for g in groups.values() if len(g) > 1 for d in g}


class _Story:
    """Sentence clusters of non-quote reuse between story-linked documents, as Python sets."""

    def __init__(self, m: pl.DataFrame, links: set[tuple[str, str]], page: dict[str, str] | None = None):
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            return _find_root(parent, x)

        rows = m.select("sentence_id_a", "sentence_id_b", "doc_id_a", "doc_id_b", "kind").rows()
        rows = [r for r in rows if (r[2], r[3]) in links]
        for sa, sb, *_ in rows:
            ra, rb = find(sa), find(sb)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        self.clusters: dict[str, set[str]] = defaultdict(set)  # cluster -> docs
        self.of_doc: dict[str, set[str]] = defaultdict(set)  # doc -> clusters
        self.link_rank: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)  # (x, y) -> cluster -> rank
        for sa, _sb, da, db, kind in rows:
            c = find(sa)
            self.clusters[c].update((da, db))
            self.of_doc[da].add(c)
            self.of_doc[db].add(c)
            r = KIND_RANK.get(kind, 0)
            for key in ((da, db), (db, da)):
                if self.link_rank[key].get(c, 0) < r:
                    self.link_rank[key][c] = r
        self._coverage: dict[tuple[str, str], float] = {}
        self._reused: dict[str, set[str]] = {}
        self._twins: dict[str, bool] = {}
        self._odd: dict[tuple[str, str, str], int] = {}
        self.known: set[tuple[str, str]] = set()  # (source, copy) shown by dates, credit or dateline
        # one page under two labels is one version: the two are not each other's relatives, and they
        # count once as witnesses (``page``: doc -> the first document of its page)
        self.page = page or {}
        self.neighbours: dict[str, set[str]] = defaultdict(set)
        for a, b in links:
            if self.same_page(a, b):
                continue
            self.neighbours[a].add(b)
            self.neighbours[b].add(a)

    def same_page(self, x: str, y: str) -> bool:
        return x in self.page and self.page[x] == self.page.get(y)

    def shared(self, x: str, y: str) -> set[str]:
        return self.of_doc[x] & self.of_doc[y]

    def reused(self, y: str) -> set[str]:
        return {c for c in self.of_doc[y] if len(self.clusters[c]) > 1}

    def coverage(self, y: str, x: str) -> float:
        """Share of y's reused sentence clusters that x holds."""
        key = (y, x)
        if key not in self._coverage:
            ry = self._reused.get(y)
            if ry is None:
                ry = self._reused[y] = self.reused(y)
            self._coverage[key] = len(ry & self.of_doc[x]) / len(ry) if ry else 0.0
        return self._coverage[key]

    def is_twin(self, x: str, z: str) -> bool:
        """x and z hold (nearly) the same reused text: each covers the other."""
        return self.coverage(z, x) >= UNION_MIN_COVERAGE and self.coverage(x, z) >= UNION_MIN_COVERAGE

    def diverges_less(self, x: str, z: str) -> tuple[bool, str]:
        """Of two twins, is x the version from which z diverges? Other relatives y each decide by the
        sentences all three hold: y's matches with x stronger (exact > near > paraphrase) than with z
        more often than the reverse. At least ``UNION_MIN_WITNESSES`` relatives must side with x and
        none with z (one relative alone could be z's own copy)."""
        both = self.of_doc[x] & self.of_doc[z]
        for_x = for_z = 0
        n_sent = 0
        relatives = {
            self.page.get(y, y): y for y in sorted((self.neighbours[x] & self.neighbours[z]) - {x, z})
        }
        for y in relatives.values():
            rx, rz = self.link_rank[(x, y)], self.link_rank[(z, y)]
            wx = wz = 0
            for c in both & self.of_doc[y]:
                a, b = rx.get(c, 0), rz.get(c, 0)
                wx += a > b
                wz += b > a
            if wx > wz:
                for_x += 1
                n_sent += wx - wz
            elif wz > wx:
                for_z += 1
        ok = for_x >= UNION_MIN_WITNESSES and for_z == 0
        return ok, (
            f"{{X}} and {{Y}} hold the same shared text; {for_x} other documents match {{X}}'s wording more "
            f"closely ({n_sent} sentences), none {{Y}}'s: {{Y}} diverges from {{X}}"
        )

    def twins(self, x: str) -> bool:
        """Does a relative hold (nearly) the same reused text as x, with nothing telling which diverges
        from which? Then the union test cannot tell which of the two came first."""
        if x not in self._twins:
            self._twins[x] = any(
                self.is_twin(x, z) and (x, z) not in self.known and not self.diverges_less(x, z)[0]
                for z in sorted(self.neighbours[x])
            )
        return self._twins[x]

    def union_over(self, x: str, y: str, min_witnesses: int = UNION_MIN_WITNESSES) -> tuple[bool, str]:
        """Does x hold the union of what its relatives share, y being one of them? (ok, evidence).

        A witness is another relative z of x whose reused text x holds (coverage of z in x >= the
        threshold: z is explained by x, not a fuller version x itself took from) and that carries
        sentences of x that y lacks.
        """
        coverage = self.coverage(y, x)
        if coverage < UNION_MIN_COVERAGE or self.twins(x):
            return False, ""
        lacking = self.of_doc[x] - self.of_doc[y]
        witnesses: dict[str, int] = defaultdict(int)
        n_clusters = 0
        covered: dict[str, bool] = {}
        for c in lacking:
            others = [
                z
                for z in (self.clusters[c] & self.neighbours[x]) - {x, y}
                if covered.setdefault(z, self.coverage(z, x) >= UNION_MIN_COVERAGE)
            ]
            if others:
                n_clusters += 1
                for z in {self.page.get(z, z) for z in others}:
                    witnesses[z] += 1
        ok = len(witnesses) >= min_witnesses and n_clusters >= min(UNION_MIN_CLUSTERS, min_witnesses)
        return ok, (
            f"{n_clusters} shared sentences of {{X}} taken by {len(witnesses)} other documents are missing "
            f"from {{Y}}; {coverage:.0%} of {{Y}}'s reused sentences are in {{X}}"
        )

    def odd(self, m: str, x: str, y: str) -> int:
        """Sentence clusters on which x and y agree against m: x and y hold the sentence and m does not,
        or the x-y match is strictly stronger (exact > near > paraphrase) than both matches with m.

        In a line of descent x - m - y (m copied x and y copied m, or m is the source of both, or ...)
        x and y agree against m only by coincidence, since whatever y holds of x's it holds through m:
        m lies between them. When each of three documents is, on some sentences, the odd one out
        against the other two, none lies between the others: they descend from a common source that
        is none of them.
        """
        key = (m, x, y) if x < y else (m, y, x)
        n = self._odd.get(key)
        if n is None:
            rxy = self.link_rank.get((x, y), {})
            rxm = self.link_rank.get((x, m), {})
            rym = self.link_rank.get((y, m), {})
            n = 0
            for c, r in rxy.items():
                if m not in self.clusters[c] or r > max(rxm.get(c, 0), rym.get(c, 0)):
                    n += 1
            self._odd[key] = n
        return n

    def apart(self, x: str, y: str) -> tuple[str, int, int, int] | None:
        """A third relative z showing that x and y are not one another's source: x and y are each the
        odd one out (:meth:`odd`) on at least ``TRIAD_MIN_ODD`` sentences of the three. If y had
        taken its text from x, y and z could agree against x only when z took y's text (or by
        coincidence), and then x and z could agree against y only by coincidence (or if z drew on x
        as well). (z, odd x, odd y, odd z); a z that
        is itself the odd one out too (a common source outside the three) is preferred."""
        best = None
        for z in sorted((self.neighbours[x] & self.neighbours[y]) - {x, y}):
            nx, ny = self.odd(x, y, z), self.odd(y, x, z)
            if nx >= TRIAD_MIN_ODD and ny >= TRIAD_MIN_ODD:
                nz = self.odd(z, x, y)
                if best is None or (nz >= TRIAD_MIN_ODD) > (best[3] >= TRIAD_MIN_ODD):
                    best = (z, nx, ny, nz)
        return best

    def reverted(self, x: str, y: str, dated_before: Callable[[str, str], bool]) -> tuple[str, int] | None:
        """A relative z published before y that agrees with y against x on at least ``TRIAD_MIN_ODD``
        sentences: (z, count), or None. Then y did not take its text from x directly: z, older than y,
        is not y's copy, so y took those sentences through z or from a source of both (had y copied
        x, it would have had to undo x's changes exactly)."""
        for z in sorted((self.neighbours[x] & self.neighbours[y]) - {x, y}):
            if dated_before(z, y):
                n = self.odd(x, y, z)
                if n >= TRIAD_MIN_ODD:
                    return z, n
        return None

    def siblings(self, x: str, y: str, s: str) -> tuple[bool, str]:
        sh = self.shared(x, y)
        if not sh:
            return False, ""
        in_s = sh & self.of_doc[s]
        explained = len(in_s) / len(sh)
        changes = len(sh) - len(in_s)
        closer = 0
        rxy, rxs, rys = self.link_rank[(x, y)], self.link_rank[(x, s)], self.link_rank[(y, s)]
        for c in in_s:
            if rxy.get(c, 0) > max(rxs.get(c, 0), rys.get(c, 0)):
                closer += 1
        ok = (
            explained >= SIBLING_MIN_EXPLAINED
            and changes < 2
            and changes <= SIBLING_MAX_SHARED_CHANGES * len(sh)
            and closer <= SIBLING_MAX_SHARED_CHANGES * max(len(in_s), 1)
            # and S is not the odd one out of the three (see :meth:`odd`): a copy inherits its
            # source's text, so two copies of S cannot agree against S on more than one coincidence
            and changes + closer < TRIAD_MIN_ODD
        )
        return ok, (
            f"{explained:.0%} of the {len(sh)} sentences they share are also in {{S}}{{ROLE}}; "
            f"{closer} of them closer between the two than to it"
        )


_SPEAKER_LABEL = re.compile(r"^((?:[A-Z][A-Z.'’-]*\s+){1,4}[A-Z][A-Z.'’-]+):\s")


def speaker_turns(sents: pl.DataFrame) -> set[str]:
    """The sentences of transcript turns: in a document with at least two distinct speaker labels (a
    line opening with a name of two to five words in capitals and a colon, "AMY GOODMAN:", "PRESIDENT
    DONALD TRUMP:", not a one-word kicker such as "UPDATE:" or "POLL:": a transcript or an excerpt of
    one), each labelled sentence and those after it up to the next label; the last label's turn is its
    own sentence (what follows may be the page's own text again). Needs ``sentence_id``, ``doc_id``,
    ``index`` and ``text``."""
    if not {"sentence_id", "index"} <= set(sents.columns) or sents.height == 0:
        return set()
    lab = sents.filter(pl.col("text").str.contains(_SPEAKER_LABEL.pattern)).with_columns(
        pl.col("text").str.extract(_SPEAKER_LABEL.pattern, 1).alias("_label")
    )
    spans = (
        lab.group_by("doc_id")
        .agg(
            pl.col("_label").n_unique().alias("n"),
            pl.col("index").min().alias("lo"),
            pl.col("index").max().alias("hi"),
        )
        .filter(pl.col("n") >= 2)
    )
    if spans.height == 0:
        return set()
    # every sentence from the first label to the last one, inclusive, is inside some turn
    inside = sents.join(spans, on="doc_id").filter(pl.col("index").is_between(pl.col("lo"), pl.col("hi")))
    return set(inside["sentence_id"].to_list())


_QUOTE_MARK = re.compile(r'[“„«”»"]')
_OPENING_MARKS = "“„«"
_CLOSING_MARKS = "”»"


def quotation_middles(sents: pl.DataFrame, docs: set[str] | None = None) -> set[str]:
    """The sentences inside a quotation that runs over several sentences: each sentence that begins
    after a quotation mark opened in an earlier sentence of its document and before the mark that
    closes it, when the quotation closes within ``QUOTE_MAX_SENTENCES`` sentences (a mark left open
    longer, or to the end of the text, is taken for a stray one, and nothing is marked for it). The
    quotation flag reads each sentence alone, so it sees the opening and the closing sentence of a
    long quotation, not those between ("He authored ... the Violence Against Women Act." inside a
    campaign statement). A straight mark (") opens when no quotation is open and closes otherwise,
    except at the very start of a sentence inside an open quotation: there it continues it (a quotation
    running over paragraphs opens each of them again). Needs ``sentence_id``, ``doc_id``, ``index``
    and ``text``; ``docs`` limits the reading to those documents."""
    if not {"sentence_id", "index"} <= set(sents.columns) or sents.height == 0:
        return set()
    s = sents.select("sentence_id", "doc_id", "index", "text")
    if docs is not None:
        s = s.filter(pl.col("doc_id").is_in(list(docs)))
    # only documents with a quotation mark can hold a quotation
    marked = s.filter(pl.col("text").str.contains(_QUOTE_MARK.pattern))["doc_id"].unique()
    s = s.filter(pl.col("doc_id").is_in(marked)).sort("doc_id", "index")
    out: set[str] = set()
    doc = None
    is_open = False
    run: list[str] = []
    for sid, d, _i, text in s.rows():
        if d != doc:
            doc, is_open, run = d, False, []
        text = text or ""
        if is_open:
            run.append(sid)
        lead = text.lstrip()
        for pos, ch in ((m.start(), m.group()) for m in _QUOTE_MARK.finditer(lead)):
            if ch in _OPENING_MARKS or (ch == '"' and not is_open):
                is_open = True
            elif pos == 0 and is_open:
                continue  # a new paragraph of the same quotation
            else:
                if run and len(run) <= QUOTE_MAX_SENTENCES:
                    out.update(run)
                is_open, run = False, []
        if is_open and len(run) > QUOTE_MAX_SENTENCES:
            is_open, run = False, []  # a stray mark, not a quotation
    return out


def _speech_sentences(m: pl.DataFrame, turns: set[str] = frozenset()) -> set[str]:
    """The sentences of quotation clusters: sentence clusters (over all reuse matches) one of whose
    matches is a quotation, or a transcript turn (:func:`speaker_turns`) matched outside a transcript. A speaker's words are a
    quotation wherever they are printed, also where an outlet prints them without quotation marks (a
    tweet embedded, a speech or a transcript)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        return _find_root(parent, x)

    rows = m.select("sentence_id_a", "sentence_id_b", "is_quote").rows()
    # the documents holding transcript turns: a copy of a transcript is one too
    turn_docs = {
        d
        for sa, sb, da, db in m.select("sentence_id_a", "sentence_id_b", "doc_id_a", "doc_id_b").rows()
        for s_, d in ((sa, da), (sb, db))
        if s_ in turns
    }
    docs_of = {
        s_: d
        for sa, sb, da, db in m.select("sentence_id_a", "sentence_id_b", "doc_id_a", "doc_id_b").rows()
        for s_, d in ((sa, da), (sb, db))
    }
    for sa, sb, _q in rows:
        ra, rb = find(sa), find(sb)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    # a transcript turn printed in a page that is no transcript (quoted, or as plain text) is the
    # speaker's words; a copy of the transcript itself is a transcript too
    quoted = {find(sa) for sa, _sb, q in rows if q} | {
        find(sa)
        for sa, sb, _q in rows
        if (sa in turns and docs_of[sb] not in turn_docs) or (sb in turns and docs_of[sa] not in turn_docs)
    }
    return {x for sa, sb, _q in rows for x in (sa, sb) if find(x) in quoted}


def _speech_share(m: pl.DataFrame, speech: set[str]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(doc_id_a, doc_id_b) -> (quotations, unmarked speech, all reuse matches): unmarked speech is a
    match that is not a quotation but whose sentences belong to a quotation cluster
    (:func:`_speech_sentences`)."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for a, b, sa, q in m.select("doc_id_a", "doc_id_b", "sentence_id_a", "is_quote").rows():
        c = out[(a, b)]
        c[0] += bool(q)
        c[1] += bool(not q and sa in speech)
        c[2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


_NAME_WORD = re.compile(r"\w+")


def same_organisation(sx: str, sy: str) -> bool:
    """Two outlet labels of one organisation: the words of one are all among the words of the other
    ("Fox News" and "Fox Online News", "ABC News" and "ABC News (Online)"). Such outlets print the
    organisation's name in their own text (its newsletters, promotions, "told Fox News"), so naming it
    is no credit line."""
    wx = set(_NAME_WORD.findall((sx or "").lower()))
    wy = set(_NAME_WORD.findall((sy or "").lower()))
    return bool(wx and wy) and (wx <= wy or wy <= wx)


_WORDY = re.compile(r"^[\w][\w .&'’-]*[\w.]$")

# a credit line: a sentence that says where a text was taken from (the outlet it names is its source)
_CREDIT_CUE = re.compile(
    r"\b(?:first|originally|previously) (?:published|appeared|posted|ran)\b|\bcontribut(?:ed|ing|ion)\b"
    r"|\breporting (?:by|from)\b|\breported (?:earlier |first |originally )?(?:[^.]{0,40} )?by\b"
    r"|\bdraws? on\b|\bsource:|\bcourtesy of\b|\brepublished\b|\breprinted\b|\bwire (?:service|report)s?\b"
    r"|\bwith (?:\w+ )?wires\b",
    re.IGNORECASE,
)
# wire agencies, credited by copies whether or not the corpus holds their own pages
UNNAMED_WIRE = "wire services"
WIRE_AGENCIES = ("Associated Press", "AP", "Reuters", "AFP", "Agence France-Presse", "Bloomberg", "UPI")
# a credit to wire copy that names no agency ("based in part on wire service reports", "with Post wires")
_UNNAMED_WIRE = re.compile(
    r"\bwire (?:service|report)s?\b|\bwith (?:\w+ )?wires\b|\bnews agencies\b", re.IGNORECASE
)
_NAME_TOKEN = re.compile(r"[^\W_]+|&")
_BRACKETED = re.compile(r"\(([^()]{2,60})\)")
# a wire dateline: the agency in brackets after a place name (or opening the line), then a dash
# ("BEIJING (AP) —", "SEOUL/WASHINGTON (Reuters) -", "(AP) -")
_DATELINE = re.compile(r"(?:^|\s)\(([^()]{2,30})\)\s*[-–—]")
# the short names wire agencies sign with: "(AP)" in the Associated Press's own page is its own dateline
_WIRE_ALIASES = {"ap": "associated press", "afp": "agence france-presse", "upi": "united press international"}


def _same_outlet(name: str, outlet: str) -> bool:
    """Does ``name`` (an outlet a text names) stand for ``outlet``: the same label, one organisation
    (:func:`same_organisation`) or a wire agency's short name ("AP", "Associated Press")?"""
    n, o = (name or "").strip().lower(), (outlet or "").strip().lower()
    return bool(n and o) and (
        n == o or same_organisation(name, outlet) or _WIRE_ALIASES.get(n, n) == _WIRE_ALIASES.get(o, o)
    )


def _nameable(name: str | None) -> bool:
    """Can a text be read as naming this outlet? Not names shorter than 2 characters, ``unknown``, or
    names that are not words."""
    n = (name or "").strip()
    return len(n) >= 2 and n.lower() != "unknown" and bool(_WORDY.match(n))


class _Credits:
    """Whether a document's text names an outlet (patterns and answers cached)."""

    def __init__(self, texts: dict[str, str]):
        self.texts = texts
        self._patterns: dict[str, re.Pattern | None] = {}
        self._answers: dict[tuple[str, str], bool] = {}

    def _pattern(self, name: str) -> re.Pattern | None:
        if name not in self._patterns:
            n = (name or "").strip()
            if not _nameable(n):
                self._patterns[name] = None
            else:
                flags = 0 if len(n) <= 5 else re.IGNORECASE
                self._patterns[name] = re.compile(r"(?<![\w])" + re.escape(n) + r"(?![\w])", flags)
        return self._patterns[name]

    def names(self, doc: str, name: str) -> bool:
        key = (doc, name)
        if key not in self._answers:
            p = self._pattern(name)
            self._answers[key] = bool(p is not None and p.search(self.texts.get(doc, "")))
        return self._answers[key]

    def index(self, names: list[str]) -> None:
        """Prepare :meth:`credited` to find the outlets of ``names`` (those that can be named at all:
        the rules of :meth:`names`, short names matched case-sensitively)."""
        ok = {n.strip() for n in names if _nameable(n)}
        # names and lines are compared as runs of words (punctuation between words does not count)
        self._short = {" ".join(_NAME_TOKEN.findall(n)): n for n in ok if len(n) <= 5}
        self._long = {" ".join(_NAME_TOKEN.findall(n)).lower(): n for n in ok if len(n) > 5}
        self._max_words = max((len(_NAME_TOKEN.findall(n)) for n in ok), default=0)

    def _lookup(self, words: str) -> str | None:
        return self._short.get(words) or self._long.get(words.lower())

    def credited(self, line: str) -> list[str]:
        """The outlets (of those :meth:`index` was given) a credit line names: any named in a sentence
        with a credit cue ("first published by", "contributed to this report", "reporting by", ...),
        or one standing alone in brackets, as a wire dateline ("(AP) -")."""
        found: list[str] = []
        if _CREDIT_CUE.search(line):
            tokens = _NAME_TOKEN.findall(line)
            for i in range(len(tokens)):
                for j in range(i + 1, min(len(tokens), i + self._max_words) + 1):
                    name = self._lookup(" ".join(tokens[i:j]))
                    if name is not None:
                        found.append(name)
        else:
            for m in _BRACKETED.finditer(line):
                name = self._lookup(" ".join(_NAME_TOKEN.findall(m.group(1))))
                if name is not None:
                    found.append(name)
        return list(dict.fromkeys(found))


def _fmt_time(t, precision: str | None) -> str:
    if t is None:
        return "undated"
    if precision == "day":
        return t.strftime("%Y-%m-%d") + " (date only)"
    if precision == "local_time":
        return t.strftime("%Y-%m-%d %H:%M") + " (no time zone)"
    return t.strftime("%Y-%m-%d %H:%M") + " UTC"


# ------------------------------------------------------------------------------------------ pairs


class Verdict(NamedTuple):
    """What the rules decide about a document pair: its :data:`PAIR_COLUMNS`, in that order."""

    direction: str
    basis: str
    evidence: str
    confidence: float | None = None
    common_source: str | None = None


def _undetermined(basis: str, evidence: str, common_source: str | None = None) -> Verdict:
    return Verdict("undetermined", basis, evidence, None, common_source)


class Signal(NamedTuple):
    """What one kind of evidence says about a pair X, Y (``direction`` ``a->b``: X is the source)."""

    basis: str
    direction: str
    confidence: float
    evidence: str


class _Pairs:
    """The pairs, what the rules read about them (the story's sentence clusters, publication times,
    outlets, credit lines) and ``verdicts``: one per pair, set and revised by :data:`PAIR_RULES`."""

    def __init__(self, pairs: pl.DataFrame, matches: pl.DataFrame, docs: pl.DataFrame, sents: pl.DataFrame):
        self.rows = pairs.select(
            "doc_id_a", "doc_id_b", "quote_only", "in_story", "n_quote", "n_nonquote"
        ).rows()
        self.links = {
            (a, b)
            for a, b in pairs.filter(pl.col("in_story") & ~pl.col("quote_only"))
            .select("doc_id_a", "doc_id_b")
            .rows()
        }
        reuse = reuse_only(matches)
        turns = speaker_turns(sents)
        speech = _speech_sentences(reuse, turns)
        # the text evidence: reuse that is neither a quotation nor a sentence some outlet quotes
        self.page = same_pages(docs)
        self.urls = dict(docs.select("doc_id", "url").rows()) if self.page else {}
        self.story = _Story(
            reuse.filter(~pl.col("is_quote") & ~pl.col("sentence_id_a").is_in(list(speech))),
            self.links,
            self.page,
        )
        self.speech = _speech_share(reuse, speech)
        # what the union test reads besides: the text a pair shares outside quotations, a sentence inside
        # a quotation running over several sentences counted as a quotation too (:meth:`own_text`)
        middles = quotation_middles(sents, {d for pair in self.links for d in pair})
        if middles:
            inside = list(middles)
            reuse = reuse.with_columns(
                (
                    pl.col("is_quote")
                    | pl.col("sentence_id_a").is_in(inside)
                    | pl.col("sentence_id_b").is_in(inside)
                ).alias("is_quote")
            )
            self.speech_text = _speech_share(reuse, _speech_sentences(reuse, turns))
        else:
            self.speech_text = self.speech
        self.iv = {
            r[0]: r[1:]
            for r in date_intervals(docs).select("doc_id", "published_at", "precision", "t_lo", "t_hi").rows()
        }
        self.source = dict(docs.select("doc_id", "source").rows())
        involved = {d for pair in self.links for d in pair}  # credit lines are read only within stories
        story_sents = sents.filter(pl.col("doc_id").is_in(list(involved)))
        texts = dict(story_sents.group_by("doc_id").agg(pl.col("text").str.join(" ")).rows())
        self.credits = _Credits(texts)
        # the sentences that may be credit lines (a credit cue or brackets), and the outlets they may name
        self.lines: dict[str, list[str]] = defaultdict(list)
        for d, t in story_sents.select("doc_id", "text").rows():
            if "(" in t or _CREDIT_CUE.search(t):
                self.lines[d].append(t)
        self.credits.index(sorted({o for o in self.source.values() if o} | set(WIRE_AGENCIES)))
        self._credited: dict[str, list[str]] = {}
        self._dateline: dict[str, str | None] = {}
        self.verdicts: dict[tuple[str, str], Verdict] = {}
        # what dates, credit lines and an agency's own dateline alone tell: a twin shown to derive from x
        # does not block x's union test
        for a, b in sorted(self.links):
            pre = {s.direction for s in self.signals(a, b, [], ("dates", "credit", "wire"))}
            if len(pre) == 1:
                self.story.known.add((a, b) if pre == {"a->b"} else (b, a))

    def undecided(self) -> list[tuple]:
        """The pairs (rows) no rule has decided yet."""
        return [r for r in self.rows if (r[0], r[1]) not in self.verdicts]

    def dated(self, x: str) -> tuple | None:
        """(published_at, precision, t_lo, t_hi) of a dated document, else None."""
        p = self.iv.get(x)
        return p if p and p[0] is not None else None

    def spoken(self, x: str, y: str) -> tuple[bool, str]:
        """Is the text x and y share mostly the words of speakers, printed without quotation marks?
        At least ``SPEECH_MIN_UNMARKED`` of their matches outside quotations are unmarked speech
        (sentences another outlet quotes: a tweet embedded, a transcript, a speech text), and
        quotations and unmarked speech make up at least ``SPEECH_MIN_SHARE`` of their reuse matches
        (the other lines are then likely parts of the same quotations: a quotation running over
        several sentences carries its marks only at its ends). A text that quotes speakers and once
        or twice prints a quoted line without marks is still a text of its own. (answer, evidence)."""
        n_quote, n_unmarked, n_all = self.speech.get((x, y)) or self.speech.get((y, x)) or (0, 0, 0)
        ok = (
            n_unmarked > 0
            and n_unmarked >= SPEECH_MIN_UNMARKED * (n_all - n_quote)
            and n_quote + n_unmarked >= SPEECH_MIN_SHARE * n_all
        )
        return ok, (
            f"{n_quote + n_unmarked} of the {n_all} sentences they share are the words of speakers "
            f"({n_quote} quoted, {n_unmarked} printed unquoted but quoted by another outlet), from a source "
            "outside the corpus"
        )

    def own_text(self, x: str, y: str) -> tuple[bool, str]:
        """Do x and y share enough text that is no one's quotation for the union test to speak? At
        least ``UNION_MIN_TEXT`` sentence clusters outside quotations, and those matches at least
        ``UNION_MIN_TEXT_SHARE`` of their reuse matches: two outlets printing the same statements hold
        the union of what others quoted of them the way a source would, and the few lines they share
        besides are no evidence that one took its text from the other. (answer, evidence)."""
        n_quote, n_unmarked, n_all = self.speech_text.get((x, y)) or self.speech_text.get((y, x)) or (0, 0, 0)
        n_text = n_all - n_quote - n_unmarked
        ok = n_text >= UNION_MIN_TEXT and n_text >= UNION_MIN_TEXT_SHARE * n_all
        return ok, (
            f"the union test does not speak: {n_quote + n_unmarked} of the {n_all} sentences the pair shares "
            f"are the words of speakers (in quotation marks, inside a quotation running over several "
            f"sentences, or quoted by another outlet); {n_text} outside quotations are too few"
        )

    def _credit_lines(self, x: str) -> list[str]:
        """The outlets the credit lines of x name (:data:`UNNAMED_WIRE` for wire copy of an agency a
        line does not name)."""
        if x not in self._credited:
            out = []
            for t in self.lines.get(x, []):
                out += self.credits.credited(t)
                if _UNNAMED_WIRE.search(t):
                    out.append(UNNAMED_WIRE)
            self._credited[x] = list(dict.fromkeys(out))
        return self._credited[x]

    def absent_source(self, x: str, y: str) -> tuple[str, str] | None:
        """Is a direction x -> y contradicted by a credit line naming an outlet outside the story (no
        document of it is a relative of x or y)? Either x's credit line names one (x says it is itself
        a copy of a source outside the corpus, which y may have taken as well), or y's credit line
        names one (y says where it took its text from). Not when y's text names x's outlet (then y
        credits x). (document, outlet) of the credit line, else None."""
        if not (self._credit_lines(x) or self._credit_lines(y)) or self.credits.names(
            y, self.source.get(x, "")
        ):
            return None
        present = {
            self.source.get(z, "") for z in self.story.neighbours[x] | self.story.neighbours[y] | {x, y}
        }

        def outside(name: str) -> bool:
            if name == UNNAMED_WIRE:  # absent unless a relative is a wire agency's page
                return not any(_same_outlet(w, o) for w in WIRE_AGENCIES for o in present)
            return not any(_same_outlet(name, o) for o in present)

        for doc in (x, y):
            for name in self._credit_lines(doc):
                if outside(name):
                    return doc, name
        return None

    def outside_credit(self, x: str, y: str) -> tuple[str, str] | None:
        """A credit line to an outlet outside the story that withholds a direction x -> y drawn by dates
        or union: one of the pair's own (:meth:`absent_source`), else a relative's that holds the text
        they share (:meth:`absent_common`). (document, outlet), else None."""
        return self.absent_source(x, y) or self.absent_common(x, y)

    def absent_common(self, x: str, y: str) -> tuple[str, str] | None:
        """Does a relative z of both x and y credit an outlet outside the story while holding the text
        they share (at least ``SIBLING_MIN_EXPLAINED`` of their shared sentence clusters)? z says that
        text is a copy of a source outside the corpus, and x and y carry it too: two outlets carrying
        one wire story, of which one names the wire, are not one another's source because one came
        first or is fuller. Not when y's text names x's outlet (y credits x). (z, outlet), else None."""
        if self.credits.names(y, self.source.get(x, "")):
            return None
        shared = self.story.shared(x, y)
        if not shared:
            return None
        for z in sorted((self.story.neighbours[x] & self.story.neighbours[y]) - {x, y}):
            # a credit cue speaks for the page ("Reuters contributed to this report"); a bracketed
            # dateline ("(Reuters) -") opens one passage, which may be z's own addition
            names = [
                n
                for t in self.lines.get(z, [])
                if _CREDIT_CUE.search(t)
                for n in self.credits.credited(t) + ([UNNAMED_WIRE] if _UNNAMED_WIRE.search(t) else [])
            ]
            if not names:
                continue
            if len(shared & self.story.of_doc[z]) < SIBLING_MIN_EXPLAINED * len(shared):
                continue
            present = {
                self.source.get(w, "")
                for w in self.story.neighbours[x]
                | self.story.neighbours[y]
                | self.story.neighbours[z]
                | {x, y}
            }
            for name in dict.fromkeys(names):
                if name == UNNAMED_WIRE:
                    if not any(_same_outlet(w, o) for w in WIRE_AGENCIES for o in present):
                        return z, name
                elif not any(_same_outlet(name, o) for o in present):
                    return z, name
        return None

    def is_wire(self, x: str) -> bool:
        """Is x the page of a wire agency (:data:`WIRE_AGENCIES`)?"""
        return any(_same_outlet(w, self.source.get(x, "")) for w in WIRE_AGENCIES)

    def own_dateline(self, x: str) -> str | None:
        """The line of x, a wire agency's page, that opens with the agency's own bracketed dateline
        ("BEIJING (AP) —", "(Reuters) -"): the agency signs the text as its own reporting. A credit
        cue ("Reuters contributed to this report") is no dateline. The line, else None."""
        if x not in self._dateline:
            found = None
            if self.is_wire(x):
                own = self.source.get(x, "")
                for t in self.lines.get(x, []):
                    m = _DATELINE.search(t)
                    if m and not _CREDIT_CUE.search(t):
                        name = self.credits._lookup(" ".join(_NAME_TOKEN.findall(m.group(1))))
                        if name is not None and _same_outlet(name, own):
                            found = t
                            break
            self._dateline[x] = found
        return self._dateline[x]

    def dated_before(self, z: str, y: str) -> bool:
        """z's publication interval ends before or where y's begins (equal instants are not ordered)."""
        pz, py = self.dated(z), self.dated(y)
        return bool(pz and py) and pz[3] <= py[2] and pz[2] < py[3]

    def signals(self, x: str, y: str, notes: list[str], kinds: tuple[str, ...] | None = None) -> list[Signal]:
        """The :data:`SIGNALS` (or those named in ``kinds``) that speak about x vs y, in their order."""
        out = []
        for name, signal in SIGNALS.items():
            if kinds is None or name in kinds:
                s = signal(self, x, y, notes)
                if s is not None:
                    out.append(s)
        return out

    def sources(self) -> dict[str, set[str]]:
        """doc -> the documents the verdicts so far make its source."""
        source_of: dict[str, set[str]] = defaultdict(set)
        for (a, b), v in self.verdicts.items():
            if v.direction == "a->b":
                source_of[b].add(a)
            elif v.direction == "b->a":
                source_of[a].add(b)
        return source_of


# ----------------------------------------------------------------------- the signals of rule 5


def _dates_signal(ctx: _Pairs, x: str, y: str, notes: list[str]) -> Signal | None:
    """X was published first, and at least ``UNION_MIN_COVERAGE`` of Y's reused sentences are in X."""
    px, py = ctx.dated(x), ctx.dated(y)
    if not (px and py):
        return None
    first = "a->b" if ctx.dated_before(x, y) else "b->a" if ctx.dated_before(y, x) else None
    if first is None:
        return None
    spoken, ev = ctx.spoken(x, y)
    if spoken:
        notes.append(
            f"dates put {'A' if first == 'a->b' else 'B'} first, but {ev}: who printed them first does not say who copied whom"
        )
        return None
    earlier, later = (x, y) if first == "a->b" else (y, x)
    cov = ctx.story.coverage(later, earlier)
    if cov < UNION_MIN_COVERAGE:
        # the later text holds reused text the earlier one lacks: it took it elsewhere, so the
        # earlier is not shown to be its source (e.g. two copies of a source missing from the corpus)
        notes.append(
            f"dates put {'A' if first == 'a->b' else 'B'} first, but only {cov:.0%} of the later "
            "text's reused sentences are in it"
        )
        return None
    absent = ctx.outside_credit(earlier, later)
    if absent is not None:
        # a wire story carried by two outlets: the later one may have taken it from the wire as well
        notes.append(
            f"dates put {'A' if first == 'a->b' else 'B'} first, but "
            + _absent_evidence(absent, x, earlier, y)
        )
        return None
    precise = px[1] == "time" and py[1] == "time"
    return Signal(
        "dates",
        first,
        CONFIDENCE["dates_time" if precise else "dates"],
        f"dates: A {_fmt_time(px[0], px[1])}, B {_fmt_time(py[0], py[1])}: "
        f"{'A' if first == 'a->b' else 'B'} was published first",
    )


def _absent_evidence(absent: tuple[str, str], x: str, src: str, y: str = "") -> str:
    """Why a credit line to an outlet outside the story withholds a direction (see
    :meth:`_Pairs.absent_source` and :meth:`_Pairs.absent_common`); ``x`` is the pair's A, ``y`` its B."""
    doc, name = absent
    if doc not in (x, y, src):
        return (
            f"{doc}'s credit line names '{name}', an outlet none of their relatives is from, and {doc} "
            "holds the text the two share: that text is a copy of a source outside the corpus, which "
            "both may have taken"
        )
    who = "A" if doc == x else "B"
    if doc == src:
        return (
            f"{who}'s credit line names '{name}', an outlet none of their relatives is from: {who} is itself "
            "a copy of a source outside the corpus, which the other may have taken as well"
        )
    return (
        f"{who}'s credit line names '{name}', an outlet none of their relatives is from: {who} says it "
        "took its text from a source outside the corpus"
    )


def _credit_signal(ctx: _Pairs, x: str, y: str, notes: list[str]) -> Signal | None:
    """Y's text names X's outlet while X's text does not name Y's."""
    sx, sy = ctx.source.get(x, ""), ctx.source.get(y, "")
    if sx == sy or same_organisation(sx, sy):
        return None
    x_names_y = ctx.credits.names(x, sy)
    y_names_x = ctx.credits.names(y, sx)
    if y_names_x == x_names_y:
        return None
    who, whom, name = ("B", "A", sx) if y_names_x else ("A", "B", sy)
    return Signal(
        "credit",
        "a->b" if y_names_x else "b->a",
        CONFIDENCE["credit"],
        f"credit: {who}'s text names {whom}'s outlet '{name}', not the reverse",
    )


def _union_signal(ctx: _Pairs, x: str, y: str, notes: list[str]) -> Signal | None:
    """X holds the union of what its relatives share and Y does not (:meth:`_Story.union_over`)."""
    ux, ev_x = ctx.story.union_over(x, y)
    uy, ev_y = ctx.story.union_over(y, x)
    if ux == uy or ctx.spoken(x, y)[0]:
        return None
    enough, why = ctx.own_text(x, y)
    if not enough:
        notes.append(why)
        return None
    src, dst = (x, y) if ux else (y, x)
    absent = ctx.outside_credit(src, dst)
    if absent is not None:
        notes.append(
            f"{'A' if ux else 'B'} holds the union of what its relatives share, but "
            + _absent_evidence(absent, x, src, y)
        )
        return None
    ev = ev_x.format(X="A", Y="B") if ux else ev_y.format(X="B", Y="A")
    return Signal("union", "a->b" if ux else "b->a", CONFIDENCE["union"], "union: " + ev)


def _wire_signal(ctx: _Pairs, x: str, y: str, notes: list[str]) -> Signal | None:
    """X is a wire agency's page that signs the shared text with its own dateline ("BEIJING (AP) —"),
    Y is no wire agency's page, and Y's reused text is in X (:meth:`_Pairs.own_dateline`)."""
    wx, wy = ctx.own_dateline(x), ctx.own_dateline(y)
    # a page of each of two agencies, or of neither: the dateline does not order them
    fx, fy = bool(wx) and not ctx.is_wire(y), bool(wy) and not ctx.is_wire(x)
    if fx == fy:
        return None
    src, dst, line = (x, y, wx) if fx else (y, x, wy)
    who = "A" if src == x else "B"
    if ctx.spoken(x, y)[0]:
        return None
    enough, _why = ctx.own_text(x, y)
    cov = ctx.story.coverage(dst, src)
    if not enough or cov < UNION_MIN_COVERAGE:
        notes.append(
            f"{who} is a wire agency's page with its own dateline, but "
            + (
                f"only {cov:.0%} of the other's reused sentences are in it"
                if enough
                else "the two share too little text outside quotations"
            )
        )
        return None
    absent = ctx.outside_credit(src, dst)
    if absent is not None:
        notes.append(
            f"{who} is a wire agency's page with its own dateline, but " + _absent_evidence(absent, x, src, y)
        )
        return None
    return Signal(
        "wire",
        "a->b" if src == x else "b->a",
        CONFIDENCE["wire"],
        f"wire: {who} is {ctx.source.get(src, '')}'s page and signs its text with its own dateline "
        f"('{line[:60]}'); {cov:.0%} of {'B' if who == 'A' else 'A'}'s reused sentences are in {who}",
    )


# the signals of rule 5, in the order they are read (and named in a pair's basis and evidence)
SIGNALS: dict[str, Callable[[_Pairs, str, str, list[str]], Signal | None]] = {
    "dates": _dates_signal,
    "credit": _credit_signal,
    "wire": _wire_signal,
    "union": _union_signal,
}


# ----------------------------------------------------------------------- the rules, in order


def _rule_same_page(ctx: _Pairs) -> None:
    """Rule 1: one page under two outlet labels (the same URL) is one document: no direction."""
    for a, b, *_ in ctx.undecided():
        if ctx.story.same_page(a, b):
            ctx.verdicts[(a, b)] = _undetermined(
                "same_page",
                f"one page under two outlet labels ({ctx.source.get(a, '')}, {ctx.source.get(b, '')}): both "
                f"documents were taken from {ctx.urls.get(a)}; neither copied the other",
            )


def _rule_quote(ctx: _Pairs) -> None:
    """Rule 2: quotations only, or no story and more quotation than text: quote reuse."""
    for a, b, quote_only, in_story, n_quote, n_nonquote in ctx.undecided():
        if quote_only or (not in_story and (n_quote or 0) > (n_nonquote or 0)):
            shares = (
                "only quotations" if quote_only else f"more quotation ({n_quote}) than text ({n_nonquote})"
            )
            ctx.verdicts[(a, b)] = _undetermined(
                "quote",
                f"quote reuse: the pair shares {shares}, words of a speaker from a source outside the corpus; "
                "no evidence of copying",
            )


def _rule_triads(ctx: _Pairs) -> None:
    """Rule 3: a third relative shows that neither is the other's source (:meth:`_Story.apart`)."""
    for a, b, *_ in ctx.undecided():
        tri = ctx.story.apart(a, b) if (a, b) in ctx.links else None
        if tri is None:
            continue
        z, na, nb, nz = tri
        label = f"{z} ({ctx.source.get(z, '')})"
        counts = f"A is the odd one out on {na} shared sentences, B on {nb}"
        if nz >= TRIAD_MIN_ODD:
            ctx.verdicts[(a, b)] = _undetermined(
                "common_source",
                f"siblings, copies of one source that is none of them: with {label}, {counts} and "
                f"{z} on {nz} (held, or worded alike, by the other two), so none of the three lies "
                "between the other two",
            )
        else:
            ctx.verdicts[(a, b)] = _undetermined(
                "indirect",
                f"neither is the other's source: with {label}, {counts} (held, or worded alike, by "
                f"the other two), {z} on {nz}: {z} lies between them, so the text passed through it "
                "(or through a common source)",
            )


def _rule_no_story(ctx: _Pairs) -> None:
    """Rule 4: a pair not linked into a story is not ordered."""
    for a, b, _quote_only, in_story, *_ in ctx.undecided():
        if not in_story:  # a line or two in common is no story: nothing to order
            ctx.verdicts[(a, b)] = _undetermined(
                "none", "the pair shares too little to be one story: not ordered"
            )


def _rule_signals(ctx: _Pairs) -> None:
    """Rule 5: dates, credit and union; the direction those that speak agree on, else undetermined."""
    for a, b, *_ in ctx.undecided():
        notes: list[str] = []
        sig = ctx.signals(a, b, notes)
        spoken, ev = ctx.spoken(a, b)
        if not sig and spoken:
            ctx.verdicts[(a, b)] = _undetermined("quote", f"quote reuse: {ev}; no evidence of copying")
        elif not sig:
            why = "; ".join(notes or ["dates do not order them"]) + "; text does not decide"
            ctx.verdicts[(a, b)] = _undetermined("none", why)
        elif len({s.direction for s in sig}) > 1:
            ctx.verdicts[(a, b)] = _undetermined(
                "conflict", "conflicting evidence: " + "; ".join(f"{s.evidence} ({s.direction})" for s in sig)
            )
        else:
            conf = 1.0
            for s in sig:
                conf *= 1 - s.confidence
            ctx.verdicts[(a, b)] = Verdict(
                sig[0].direction,
                "+".join(s.basis for s in sig),
                "; ".join(s.evidence for s in sig),
                round(1 - conf, 3),
            )


def _rule_indirect(ctx: _Pairs) -> None:
    """Rule 6: a direction not drawn by a credit line is withdrawn when an older relative agrees with
    the copy against the source (:meth:`_Story.reverted`)."""
    for (a, b), v in list(ctx.verdicts.items()):
        if v.direction == "undetermined" or "credit" in v.basis.split("+"):
            continue
        src, dst = (a, b) if v.direction == "a->b" else (b, a)
        veto = ctx.story.reverted(src, dst, ctx.dated_before)
        if veto is None:
            continue
        z, n = veto
        S, T = ("A", "B") if src == a else ("B", "A")
        ctx.verdicts[(a, b)] = _undetermined(
            "indirect",
            f"{v.evidence}; but {T} did not take its text from {S} directly: on {n} "
            f"shared sentences {T} agrees with {z} ({ctx.source.get(z, '')}) against {S}, and {z}, "
            f"published before {T}, is not its copy: {T} took them through {z} or from a source of "
            "both",
        )


def _rule_hub(ctx: _Pairs) -> None:
    """Rule 7: a hub (the source of two or more documents by the union test or by their credit lines,
    derived from none) is also the source of a relative whose reused text it holds, when one covered
    relative carries text of the hub that this relative lacks."""
    source_of = ctx.sources()
    children: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (a, b), v in ctx.verdicts.items():
        if v.direction not in ("a->b", "b->a"):
            continue
        basis = set(v.basis.split("+"))
        # a direction by a credit line and the union test counts once, as a credit line
        kind = "credit" if "credit" in basis else "union" if "union" in basis else None
        if kind is not None:
            children[a if v.direction == "a->b" else b][kind] += 1
    hubs = {h for h, n in children.items() if sum(n.values()) >= 2 and not source_of[h]}
    for (a, b), v in list(ctx.verdicts.items()):
        if v.basis != "none" or (a, b) not in ctx.links:
            continue
        for hub, other in ((a, b), (b, a)):
            if hub not in hubs:
                continue
            ok, ev = ctx.story.union_over(hub, other, min_witnesses=1)
            if ok and ctx.own_text(a, b)[0]:
                x, y = ("A", "B") if hub == a else ("B", "A")
                by = " and ".join(
                    f"{n} by {'their credit lines' if k == 'credit' else 'the union test'}"
                    for k, n in sorted(children[hub].items())
                )
                ctx.verdicts[(a, b)] = Verdict(
                    "a->b" if hub == a else "b->a",
                    "union",
                    f"union: {x} is the source of {sum(children[hub].values())} other documents ({by}) and "
                    f"derives from none; " + ev.format(X=x, Y=y),
                    CONFIDENCE["union"],
                )
                break


def _rule_line(ctx: _Pairs) -> None:
    """Rule 8: a relative z lying between x and y (rule 3: x and y each the odd one out on at least
    ``TRIAD_MIN_ODD`` sentences of the three, z on none) passed the text from one end of the line to
    the other: when x is shown to be z's source and z's pair with y is undetermined for want of
    evidence (``none``), z is y's source (``line``). Repeated until nothing changes (longer lines)."""
    changed = True
    while changed:
        changed = False
        source_of = ctx.sources()
        for (a, b), v in sorted(ctx.verdicts.items()):
            if v.basis != "indirect" or (a, b) not in ctx.links:
                continue
            tri = ctx.story.apart(a, b)
            if tri is None or tri[3] > 0:
                continue  # z is the odd one out on some sentence: it may be a sibling, not the middle
            z = tri[0]
            for x, y in ((a, b), (b, a)):
                if x not in source_of[z] or z in source_of[x]:
                    continue
                key = (z, y) if (z, y) in ctx.verdicts else (y, z)
                w = ctx.verdicts.get(key)
                if w is None or w.basis != "none" or key not in ctx.links:
                    continue
                if ctx.story.coverage(y, z) < UNION_MIN_COVERAGE or ctx.outside_credit(z, y) is not None:
                    continue
                known = ctx.verdicts.get((x, z)) or ctx.verdicts.get((z, x))
                S, T = ("A", "B") if key[0] == z else ("B", "A")
                na, nb = (tri[1], tri[2]) if x == a else (tri[2], tri[1])
                ctx.verdicts[key] = Verdict(
                    "a->b" if key[0] == z else "b->a",
                    "line",
                    f"line: {x} ({ctx.source.get(x, '')}) is {S}'s source (by {known.basis}, confidence "
                    f"{known.confidence}); with {x}, {T} is the odd one out on {nb} shared sentences and {x} on {na}, {S} on "
                    f"{tri[3]}: {S} lies between them, so {T}'s text of {x} passed through {S}; "
                    f"{ctx.story.coverage(y, z):.0%} of {T}'s reused sentences are in {S}",
                    known.confidence,
                )
                changed = True
                source_of = ctx.sources()


def _rule_siblings(ctx: _Pairs) -> None:
    """Rule 9: two copies of one source are not ordered by the source's text they share. A possible
    common source is a relative of both that is their source, or at least not derived from either
    and not published after either (by date intervals). A credit line between the two, or a wire
    agency's own dateline, outweighs it."""
    source_of = ctx.sources()
    story = ctx.story

    def could_be_source(s: str, x: str) -> bool:
        if s in source_of[x]:
            return True
        if x in source_of[s]:
            return False
        ps, px = ctx.dated(s), ctx.dated(x)
        if ps and px:
            return not (px[3] <= ps[2] and px[2] < ps[3])  # s is not dated after x
        return True

    for (a, b), v in list(ctx.verdicts.items()):
        credited = v.direction != "undetermined" and bool({"credit", "wire"} & set(v.basis.split("+")))
        # a copy whose text credits the other's outlet took it from that one: no common source overrides it
        if v.basis in ("quote", "same_page") or (a, b) not in ctx.links or credited:
            continue
        for s in sorted((story.neighbours[a] & story.neighbours[b]) - {a, b}):
            if not (could_be_source(s, a) and could_be_source(s, b)):
                continue
            ok, ev = story.siblings(a, b, s)
            if not ok:
                continue
            known = s in source_of[a] and s in source_of[b]
            role = (
                ", the source of both"
                if known
                else ", which is not shown to derive from either: both may be copies of it"
            )
            label = f"{s} ({ctx.source.get(s, '')})"
            ctx.verdicts[(a, b)] = _undetermined(
                "common_source",
                "siblings, copies of one source: " + ev.replace("{S}", label).replace("{ROLE}", role),
                s,
            )
            break


class PairRule(NamedTuple):
    """A direction rule: its name (as listed in the module docstring) and what it does to the verdicts."""

    name: str
    apply: Callable[[_Pairs], None]


# the direction rules in the order they are applied; the module docstring lists them in this order
PAIR_RULES: tuple[PairRule, ...] = (
    PairRule("same_page", _rule_same_page),
    PairRule("quote", _rule_quote),
    PairRule("triads", _rule_triads),
    PairRule("no_story", _rule_no_story),
    PairRule("signals", _rule_signals),
    PairRule("indirect", _rule_indirect),
    PairRule("hub", _rule_hub),
    PairRule("line", _rule_line),
    PairRule("siblings", _rule_siblings),
)


def pair_directions(
    pairs: pl.DataFrame, matches: pl.DataFrame, docs: pl.DataFrame, sents: pl.DataFrame
) -> pl.DataFrame:
    """Add :data:`PAIR_COLUMNS` to ``pairs``: :data:`PAIR_RULES` applied in turn (see the module
    docstring for the rules and their order).

    ``pairs``: ``doc_id_a``, ``doc_id_b``, ``quote_only``, ``in_story``, ``n_quote``, ``n_nonquote``;
    ``matches``: sentence matches (``sentence_id_a/b``, ``doc_id_a/b``, ``kind``, ``is_quote``);
    ``docs``: ``doc_id``, ``source``, ``published_at`` and optionally ``published_at_precision``;
    ``sents``: ``doc_id``, ``text`` (for outlet names credited in the text).
    """
    if pairs.height == 0:
        return pairs.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in PAIR_COLUMNS.items()])
    ctx = _Pairs(pairs, matches, docs, sents)
    for rule in PAIR_RULES:
        rule.apply(ctx)
    out = pl.DataFrame(
        [(a, b, *v) for (a, b), v in ctx.verdicts.items()],
        schema={"doc_id_a": pl.String, "doc_id_b": pl.String, **PAIR_COLUMNS},
        orient="row",
    )
    keep = [c for c in pairs.columns if c not in PAIR_COLUMNS]
    return pairs.select(keep).join(out, on=["doc_id_a", "doc_id_b"], how="left", maintain_order="left")


# ------------------------------------------------------------------------------------------ passages


def passage_directions(passages: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Each passage with its document pair's direction, basis and confidence."""
    keep = [c for c in passages.columns if c not in PASSAGE_COLUMNS]
    if pairs.height == 0 or passages.height == 0:
        return passages.select(keep).with_columns(
            [pl.lit(None, dtype=t).alias(c) for c, t in PASSAGE_COLUMNS.items()]
        )
    d = pairs.select("doc_id_a", "doc_id_b", *PASSAGE_COLUMNS)
    return passages.select(keep).join(d, on=["doc_id_a", "doc_id_b"], how="left", maintain_order="left")


# ------------------------------------------------------------------------------------------ clusters


def _directed(pairs: pl.DataFrame) -> dict[str, dict[str, tuple[float, str]]]:
    """source doc -> {derived doc: (confidence, basis)} over the determined directions."""
    out: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
    if pairs.height == 0:
        return out
    for a, b, d, basis, conf in pairs.select(
        "doc_id_a", "doc_id_b", "direction", "direction_basis", "direction_confidence"
    ).rows():
        if d == "a->b":
            out[a][b] = (conf, basis)
        elif d == "b->a":
            out[b][a] = (conf, basis)
    return out


def _reach(cand: str, docs: set[str], edges: dict[str, dict[str, tuple[float, str]]]):
    """The members of ``docs`` reached from ``cand`` along determined directions inside the cluster:
    (member -> the lowest confidence on its path, the bases met on the way)."""
    conf = {cand: 1.0}
    bases: set[str] = set()
    frontier = [cand]
    while frontier:
        nxt = []
        for u in frontier:
            for v, (c, basis) in edges[u].items():
                if v in docs and v not in conf:
                    conf[v] = min(conf[u], c if c is not None else 0.0)
                    bases.update((basis or "").split("+"))
                    nxt.append(v)
        frontier = nxt
    return conf, bases


def _origin_document(
    docs: set[str], edges: dict[str, dict[str, tuple[float, str]]]
) -> tuple[str, str, float] | None:
    """(origin doc, basis, confidence) of a cluster's documents: the first (by doc id) that no other
    member derives from and from which every other member is reached; None when there is none."""
    for cand in sorted(docs):
        if any(cand in edges[o] for o in docs if o != cand):
            continue
        conf, bases = _reach(cand, docs, edges)
        if set(conf) == docs:
            return cand, "+".join(sorted(b for b in bases if b)), min(conf[d] for d in docs if d != cand)
    return None


def _cluster_origin_sentences(clusters: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id``, ``origin_sentence_id`` (the origin document's first sentence in the cluster),
    ``origin_basis``, ``origin_confidence`` of each cluster with an origin document."""
    edges = _directed(pairs)
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for cid, sid, doc in clusters.select("cluster_id", "sentence_id", "doc_id").rows():
        members[cid].append((sid, doc))
    origin: dict[str, tuple[str, str, float]] = {}
    for cid, mem in members.items():
        best = _origin_document({d for _, d in mem}, edges)
        if best is not None:
            sid = min(s for s, d in mem if d == best[0])
            origin[cid] = (sid, best[1], best[2])
    return pl.DataFrame(
        [(c, *v) for c, v in origin.items()],
        schema={
            "cluster_id": pl.String,
            "origin_sentence_id": pl.String,
            "origin_basis": pl.String,
            "origin_confidence": pl.Float64,
        },
        orient="row",
    )


def _direct_kinds(m: pl.DataFrame) -> pl.DataFrame:
    """``_o``, ``sentence_id``, ``_kind``: the kind of the match between two sentences, both ways."""
    return (
        pl.concat(
            [
                m.select(
                    pl.col("sentence_id_a").alias("_o"), pl.col("sentence_id_b").alias("sentence_id"), "kind"
                ),
                m.select(
                    pl.col("sentence_id_b").alias("_o"), pl.col("sentence_id_a").alias("sentence_id"), "kind"
                ),
            ]
        )
        .unique(["_o", "sentence_id"], keep="first")
        .rename({"kind": "_kind"})
    )


def _all_quote(m: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id``, ``_all_quote``: every match of the cluster is a quotation."""
    return (
        m.select(pl.col("sentence_id_a").alias("sentence_id"), "is_quote")
        .join(clusters.select("sentence_id", "cluster_id"), on="sentence_id")
        .group_by("cluster_id")
        .agg(pl.col("is_quote").all().alias("_all_quote"))
    )


# the origin status of a cluster's sentence: inferred (the cluster has an origin), else quotation when
# every match of the cluster is quotation, else undetermined
_ORIGIN_STATUS = (
    pl.when(pl.col("origin_sentence_id").is_not_null())
    .then(pl.lit("inferred"))
    .when(pl.col("_all_quote").fill_null(False))
    .then(pl.lit("quotation"))
    .otherwise(pl.lit("undetermined"))
    .alias("origin_status")
)


def kind_to_origin(kind_column: str) -> pl.Expr:
    """How a sentence relates to its cluster's origin: the origin itself, the kind of its match with the
    origin sentence (``kind_column``), else indirect (through other members); null without an origin."""
    return (
        pl.when(pl.col("origin_sentence_id").is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("is_origin"))
        .then(pl.lit("origin"))
        .when(pl.col(kind_column).is_not_null())
        .then(pl.col(kind_column))
        .otherwise(pl.lit("indirect"))
        .alias("kind_to_origin")
    )


def cluster_origins(clusters: pl.DataFrame, matches: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Replace the origin columns of ``clusters`` by the provenance model's (see module docstring):
    the origin sentence of each cluster, then each sentence's origin status and kind of match to it."""
    keep = [c for c in clusters.columns if c not in CLUSTER_COLUMNS]
    if clusters.height == 0:
        return clusters.select(keep).with_columns(
            [pl.lit(None, dtype=t).alias(c) for c, t in CLUSTER_COLUMNS.items()]
        )
    m = reuse_only(matches)
    return (
        clusters.select(keep)
        .join(_cluster_origin_sentences(clusters, pairs), on="cluster_id", how="left", maintain_order="left")
        .join(_all_quote(m, clusters), on="cluster_id", how="left", maintain_order="left")
        .join(
            _direct_kinds(m),
            left_on=["origin_sentence_id", "sentence_id"],
            right_on=["_o", "sentence_id"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            (pl.col("sentence_id") == pl.col("origin_sentence_id")).fill_null(False).alias("is_origin"),
            _ORIGIN_STATUS,
        )
        .with_columns(kind_to_origin("_kind"))
        .select(*keep, *CLUSTER_COLUMNS)
    )


# ------------------------------------------------------------------------------------------ documents


def reused_sentences(matches: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """``sid``, ``doc_id``, ``kind``, ``is_quote`` of each match side whose other document is its source."""
    m = reuse_only(matches)
    d = pairs.select("doc_id_a", "doc_id_b", "direction")
    m = m.join(d, on=["doc_id_a", "doc_id_b"], how="inner")
    return pl.concat(
        [
            m.filter(pl.col("direction") == "b->a").select(
                pl.col("sentence_id_a").alias("sid"), pl.col("doc_id_a").alias("doc_id"), "kind", "is_quote"
            ),
            m.filter(pl.col("direction") == "a->b").select(
                pl.col("sentence_id_b").alias("sid"), pl.col("doc_id_b").alias("doc_id"), "kind", "is_quote"
            ),
        ]
    )


def inferred_sources(matches: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per derived document: ``doc_id``, ``src``, ``shared_self``, ``shared_src``, ``m_src``."""
    schema = {
        "doc_id": pl.String,
        "src": pl.String,
        "shared_self": pl.Int64,
        "shared_src": pl.Int64,
        "m_src": pl.Int64,
    }
    if pairs.height == 0:
        return pl.DataFrame(schema=schema)
    strength = (
        reuse_only(matches)
        .filter(~pl.col("is_quote"))
        .with_columns(pl.col("kind").replace_strict(KIND_RANK, default=0, return_dtype=pl.Int64).alias("r"))
        .group_by("doc_id_a", "doc_id_b")
        .agg(pl.col("r").sum().alias("strength"))
    )
    dp = pairs.join(strength, on=["doc_id_a", "doc_id_b"], how="left").with_columns(
        pl.col("strength").fill_null(0)
    )
    # each pair whose direction points at a document, seen from that document (src = its source)
    cand = pl.concat(
        [
            dp.filter((pl.col("direction") == f"{src}->{own}") & pl.col("in_story")).select(
                pl.col(f"doc_id_{own}").alias("doc_id"),
                pl.col(f"doc_id_{src}").alias("src"),
                "strength",
                "n_nonquote",
                pl.col(f"containment_{own}_in_{src}").alias("cont"),
                pl.col(f"n_shared_{own}").alias("shared_self"),
                pl.col(f"n_shared_{src}").alias("shared_src"),
                pl.col(f"n_matchable_{src}").alias("m_src"),
            )
            for src, own in (("a", "b"), ("b", "a"))
        ]
    )
    # an undetermined relation that explains the document more strongly withholds the source; siblings
    # (explained by their common source) and quote reuse do not
    und = dp.filter(
        (pl.col("direction") == "undetermined")
        & pl.col("in_story")
        & ~pl.col("direction_basis").is_in(["common_source", "indirect", "quote", "same_page"])
    )
    block = (
        pl.concat(
            [
                und.select(pl.col("doc_id_a").alias("doc_id"), "strength"),
                und.select(pl.col("doc_id_b").alias("doc_id"), "strength"),
            ]
        )
        .group_by("doc_id")
        .agg(pl.col("strength").max().alias("block"))
    )
    best = (
        cand.sort(
            ["doc_id", "strength", "n_nonquote", "cont", "src"],
            descending=[False, True, True, True, False],
        )
        .group_by("doc_id", maintain_order=True)
        .first()
        .join(block, on="doc_id", how="left")
        .filter(pl.col("block").is_null() | (pl.col("block") <= pl.col("strength")))
    )
    return best.select(list(schema)).cast(schema)
