"""Numeric conflicts: two documents report the same measured thing with numbers
that cannot both be true given their qualifiers.

Each (value, qualifier) is read as an interval: exact 10,200 is [10200, 10200]
(within a rounding tolerance), "up to 9,000" is [0, 9000], "more than 10,000" is
(10000, inf), "around 9,000" is 9,000 +- 10 %. Two quantities conflict when their
intervals do not overlap. "Up to 9,000" and "a little less than 9,000" agree;
"10,200" and "up to 9,000" conflict. A figure written with a scale word or as a
percentage is read to its last written digit ("£1.3bn" is 1.25-1.35bn, "30%" is
29.5-30.5 %; never wider than +-10 %), so a rounded and a precise report of one
figure agree.

"The same measured thing" is the same unit (after folding synonyms such as
soldier/serviceman/troop) and the same *subject*, read from the quantity's own
clause (the part of the sentence between commas, semicolons, brackets, dashes and
words such as "while", "but", "compared" that holds the number), not from the
whole sentence:

* the two clauses name a common entity (canonical name; a one-word name and its
  demonym fold together, "Russia"/"Russian"). An entity named in more than
  GENERIC_DOC_SHARE of the documents (in the BBC sample: US, UK, London, Britain,
  Europe, BBC, Labour, ...) is weak evidence: alone it needs GENERIC_SHARED_TERMS
  shared content words in the clauses;
* what is measured is the same: the NEAR_WORDS content words either side of the
  number (stopping at the clause's other numbers) share one, after folding a few
  verbs news use interchangeably (sent/deployed/stationed): "$20bn in damages" and
  "a $27.5bn tax bill" of Yukos are different things;
* the numbers are within MAX_RATIO of each other: two reports of one figure differ
  by degree (10,200 vs up to 9,000), a 20 % stake and a 56 % stake are different
  things;
* nothing says they are different: when both sentences name years or months, they
  share one ("in 2004" vs "in 2005" is no conflict); both numbers are levels or both
  are changes ("rose 1.64 to 47.10": 1.64 is a change, 47.10 a level); the two
  claims are not one sentence reprinted (its different numbers are different things);
* neither is a market quote (share, index, currency and commodity prices and their
  moves): such figures change by the day, and two reports of them on different days
  are no conflict;
* both are facts, or both are not: a forecast, estimate, offer, bid or condition
  ("could", "expected", "predicts", "estimated", "offer to buy", "opening bid",
  sentence-initial "If") is no report of what happened ("will" is not such a word:
  "will be joined by up to 9,000 soldiers" reports a deployment under way);
* both are the level, not one an earlier level ("fell from £180,126 to ...") or a
  part ("the three other detainees", "2,000 more troops");
* what the number counts agrees where both sentences say it: the head of an "of"
  phrase after it ("53% of UK households" / "75% of all mobiles"), the noun before
  "of"/"worth"/"valued at" ("tally of $80m" / "takings of $56m"), the noun right
  after it ("a 20% stake");
* a place the number is restricted to ("£192,713 in England", "31% of the vote in
  Erewash") is named somewhere in the other sentence too;
* both or neither are sums over several subjects ("Hodgson and Barkley missed six
  penalties", "between them", "combined") or restricted to part of the reach
  ("outside the US", "excluding", "overseas");
* the passive agents after the numbers agree ("banned ... by the tribunal" / "by the
  IAAF"); for units of measure, the publishers the sentences attribute the figures to
  agree ("Halifax said" / "according to figures from the ODPM": different indices);
* the clauses do not each name, before the number, a subject the other's clause
  lacks (France's coach and Wales's coach; Qwest's offer and Verizon's deal for MCI),
  a name sharing a word with one of the other's ("Russian Armed Forces", "Russia")
  counting as the same;
* when neither sentence names a year, month or quarter, the leads of their documents
  (the first LEAD_CLAIMS claims: title and first sentence) do not name different
  months or quarters ("now stands at £162,086" in a report on December and "now
  stands at £152,879" in one on February are two dates; the BBC sample has no
  publication dates);
* the sentence does not pair numbers with nouns "respectively", and neither number
  restates another in brackets ("$280bn (£155bn)": a conversion at some day's rate).

A row whose two figures are dated to different times, one before the time of its
report and the other not ("Prior to the withdrawal, the service had recorded up to
2,000 troops" / "10,200 troops are deployed"), is kept with `different_time` set: a
change over time rather than a contradiction, for readers to filter (`dated_earlier`:
"prior to", "before the", "previously", "... ago", "at its peak", or the clause's own
past perfect outside reported speech). Figures that name different years or months
are no conflict at all (above).

The readings after the market quote are made only for the pairs the others leave
(a few hundred statements), so they cost little.

Without the claims' text (``claims=None``; the published table always passes it,
see build.conflicts_table) the clause is approximated by the entities within
CONTEXT_WINDOW characters of the number and the words of the quantity's own span
(a count noun with its modifiers, "Russian troops"); years, roles and market quotes
are then not read, and only units of measure (currencies, percent, time, length...)
need a shared word. Measured on 2,224 BBC documents (eval/conflicts_eval.py): the
any-shared-entity rule gave 24,247 rows, 0 of 60 sampled true; the clause rule gave
31 rows with the text (3 true) and 47 without it (0 true); with the readings from
the forecast rule on, 3 rows with the text (the same 3 true; on a wider candidate set,
eval --relaxed, 61 rows 3 true -> 15 rows 3 true): true conflicts are rare in that
corpus.

Between runs the clause readings of the statements are kept (ContextMemo, keyed by
everything a reading depends on): adding one article to a processed corpus reads the
clauses of its own statements only.

Cost: statements are paired only inside blocks (unit, clause entity or content
word) of at most MAX_BLOCK statements (like pipeline.clusters' MAX_POSTINGS), so the
candidate pairs grow linearly with the corpus; every step is linear in the rows.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXACT_TOLERANCE = 0.005  # rounding in reported figures
APPROXIMATE_TOLERANCE = 0.10
MAX_WRITTEN_TOLERANCE = 0.10  # "£1bn" is read as 0.95-1.05bn, never wider than +-10 %
UNIT_SYNONYMS = {
    # military personnel
    "soldier": "troop", "serviceman": "troop", "servicemen": "troop", "servicewoman": "troop",
    "servicemember": "troop", "personnel": "troop", "troops": "troop", "soldiers": "troop",
    # people
    "people": "person", "individual": "person",
    # money and percentages
    "dollar": "usd", "per cent": "percent", "%": "percent",
}

GENERIC_DOC_SHARE = 0.03  # an entity in more than this share of the documents is generic ...
GENERIC_MIN_DOCS = 50  # ... and in more than this many (a small corpus has no generic entity)
GENERIC_SHARED_TERMS = 2  # shared clause content words a pair needs when only generic entities are shared
MAX_BLOCK = 200  # a (unit, key) block with more statements carries no signal for pairing
MAX_RATIO = 2.0  # two reports of one figure differ by degree: numbers further apart measure different things
NEAR_WORDS = 3  # content words on either side of the number that say what it measures
# units that say how something is measured, not what: their quantities need a shared content word
MEASURE_UNITS = frozenset("""
usd gbp eur jpy rub uah inr cad aud cny chf penny pence cent percent point time year month week day hour minute second
mm cm m km kilometer kilometre meter metre mile yard kg kilogram gram g ton tonne t lb pound liter litre l barrel hectare
ha acre kw mw gw kwh mwh gwh knot foot feet inch degree sq
""".split())
LEAD_CLAIMS = 2  # a document's title and lead sentence: the months they name date its report
CONTEXT_WINDOW = 60  # characters around the number searched for entities when the claim text is unknown


def normalize_unit(unit: str | None) -> str:
    unit = unit.strip().lower() if isinstance(unit, str) else ""
    return UNIT_SYNONYMS.get(unit, unit)


def interval(value: float, qualifier: str, tolerance: float | None = None) -> tuple[float, float, bool, bool]:
    """(low, high, low_open, high_open). `tolerance` (relative) widens an exact figure
    to its written precision; approximate figures get at least APPROXIMATE_TOLERANCE."""
    if qualifier == "at_most":
        return (-math.inf, value, False, False)
    if qualifier == "less_than":
        return (-math.inf, value, False, True)
    if qualifier == "at_least":
        return (value, math.inf, False, False)
    if qualifier == "more_than":
        return (value, math.inf, True, False)
    tol = APPROXIMATE_TOLERANCE if qualifier == "approximate" else EXACT_TOLERANCE
    if tolerance is not None:
        tol = max(tol, tolerance)
    return (value - abs(value) * tol, value + abs(value) * tol, False, False)


def compatible(va: float, qa: str, vb: float, qb: str,
               tol_a: float | None = None, tol_b: float | None = None) -> bool:
    la, ha, lao, hao = interval(va, qa, tol_a)
    lb, hb, lbo, hbo = interval(vb, qb, tol_b)
    if ha < lb or hb < la:
        return False
    if ha == lb and (hao or lbo):
        return False
    if hb == la and (hbo or lao):
        return False
    return True


_NUMBER = re.compile(r"(\d[\d,]*)(?:\.(\d+))?\s*(bn|billion|m|mn|million|trillion|tn|k|%|per\s?cent|percent)?",
                     re.IGNORECASE)


def written_tolerance(text: str | None, value: float) -> float | None:
    """Half a unit of the last written digit, relative to the value, for a figure with
    a scale word or a percent sign ("£1.3bn" -> 0.05/1.3, "30%" -> 0.5/30), at most
    MAX_WRITTEN_TOLERANCE; None for
    other figures (a plain "9,000" keeps EXACT_TOLERANCE: its zeros may be exact)."""
    if not isinstance(text, str) or not value:
        return None
    m = _NUMBER.search(text)
    if not m or not m.group(3):
        return None
    try:
        written = float(m.group(1).replace(",", "") + ("." + m.group(2) if m.group(2) else ""))
    except ValueError:
        return None
    if not written:
        return None
    half_unit = 0.5 * 10.0 ** (-len(m.group(2) or ""))
    return min(half_unit / abs(written), MAX_WRITTEN_TOLERANCE)


# ------------------------------------------------------------------ the subject of a quantity
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_BOUNDARY = re.compile(
    r"[;:()\[\]\"“”]|,(?=\s)|\s[-–—]+\s|\.(?=\s)|"
    r"\b(?:while|whereas|but|although|though|compared|against|versus|which|who|whose|where|when|after|before|"
    r"despite|unlike)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_MONTHS = ("january february march april june july august september october november december").split()
_MONTH = re.compile(r"\b(?:" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)
_QUARTER = re.compile(r"\b(first|second|third|fourth|final|last)\s+quarter\b", re.IGNORECASE)
_STOP = frozenset("""
a an the and or of to in on at by for from with as is are was were be been being has have had do does did it its
this that these those there their they them he she his her him we our you your i me my not no nor so than then too
very can could will would shall should may might must also just only about around over under up down more most less
least some any each every all both either neither such own same other another into onto out off again further once
here when where why how what which who whom whose if because until while during before after above below between
through said says say saying told tell tells according added adds reported report reports announced announce claimed
claims revealed reveal expected expects expect mr mrs ms dr one two three four five six seven eight nine ten eleven
twelve twenty thirty forty fifty hundred hundreds thousand thousands million millions billion billions trillion bn
mn m k per cent percent nearly almost approximately roughly estimated estimate many much few several year years month
months week weeks day days today yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday last next
first second third fourth new now still already yet well even like just total totalled totaled some figure figures
number numbers around roughly just little under over least most upto lot lots part parts time times way help
""".split()) | frozenset(_MONTHS)
_CHANGE = frozenset("""
rise rises rose risen rising fall falls fell fallen falling grow grows grew grown growing growth increase increased
increases increasing decrease decreased decreases decreasing drop drops dropped dropping jump jumped jumps gain gained
gains lose lost loses losing cut cuts climb climbed climbs slip slipped slips slump slumped surge surged soar soared
plunge plunged tumble tumbled shed sheds decline declined declines boost boosted up down higher lower by advanced
rallied eased raise raised rising rebound rebounded
""".split())
_LEVEL_BEFORE = frozenset("to at of was is were are stood stands totalled totaled reached reach be".split())
_MARKET = frozenset("""
share shares stock stocks index indices indexes ftse dow nasdaq nikkei dax cac hang seng crude oil barrel barrels brent
dollar dollars euro euros yen sterling greenback currency currencies trading traded trade pence cents bond bonds yield
yields futures
""".split())

_PART_AFTER = frozenset("other others more additional further extra remaining".split())
# words that make a figure a forecast, estimate, offer or condition rather than a reported fact ("will" is
# not one: "will be joined by up to 9,000 soldiers" reports a deployment under way)
_IRREALIS = frozenset("""
could might may expect expects expected expecting forecast forecasts forecasting predict predicts predicted
predicting projected projection estimate estimates estimated estimating if unless hope hopes hoped aim aims
target targets offer offers offered offering bid bids bidding seek seeks seeking sought intend intends intended
propose proposes proposed proposal want wants wanted potential potentially possible possibly likely attempt attempts
attempted attempting tried accuse accuses accused allege alleges alleged allegedly
""".split())
# a figure restricted to part of its subject's reach
_SCOPE = frozenset("outside excluding except overseas abroad domestic domestically worldwide globally".split())
_TOTAL = re.compile(r"\b(?:between them|combined|together|altogether|jointly)\b", re.IGNORECASE)
_RESPECTIVELY = re.compile(r"\brespectively\b", re.IGNORECASE)
_SAID_AFTER = re.compile(r"\s+(?:has\s+|have\s+|had\s+)?(?:said|says|say|reported|reports|showed|shows|found|"
                         r"estimated|estimates|predicts|told|announced|added)\b", re.IGNORECASE)
_SOURCE_BEFORE = re.compile(r"\b(?:according\s+to|figures\s+from|data\s+from|research\s+by|survey\s+by|report\s+by|"
                            r"study\s+by|statistics\s+from)(?:\s+(?:figures|data|the|a|an)\b)*\s*$", re.IGNORECASE)
_OF_DETERMINERS = frozenset("the a an all its their his her our this that these those some every each".split())


# a few verbs news reports use interchangeably for one event, folded to one word
_SYNONYMS = {
    **dict.fromkeys("send sent sending deploy deployed deploying station stationed dispatch dispatched".split(), "deploy"),
    **dict.fromkeys("kill killed killing die died dead death deaths".split(), "die"),
    **dict.fromkeys("buy bought buying acquire acquired purchase purchased".split(), "buy"),
    **dict.fromkeys("sell sold selling".split(), "sell"),
    **dict.fromkeys("pay paid paying".split(), "pay"),
    **dict.fromkeys("win won winning".split(), "win"),
    **dict.fromkeys("injure injured injuring wound wounded".split(), "injure"),
}


def _stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w in _SYNONYMS:
        return _SYNONYMS[w]
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'-")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def entity_key(name: str) -> str:
    """One key per subject: the casefolded name; a one-word name by its first five
    letters, so a country and its demonym meet ("Russia", "Russian")."""
    key = name.casefold().strip()
    return key[:5] if " " not in key and len(key) >= 5 else key


@dataclass(frozen=True)
class Context:
    entities: frozenset[str]  # entity keys of the quantity's clause
    terms: frozenset[str]  # content-word stems of the clause (outside entities, not the unit)
    near: frozenset[str]  # the NEAR_WORDS content words either side of the number in its clause
    times: frozenset[str]  # years, months and quarters the sentence names
    role: str  # "level", "change" or "" (unknown)
    market: bool  # a share / index / currency / commodity quote
    read: bool = True  # read from the claim's text (else from the entities near the number)
    irrealis: bool = False  # a forecast, estimate, offer, bid or condition, not a reported fact
    heads: tuple[str, str, str] = ("", "", "")  # what the number counts: "of" head, noun before, noun after
    sources: frozenset[str] = frozenset()  # entity keys the sentence attributes its figures to
    agent: str = ""  # the passive agent after the number ("banned for two years by the IAAF")
    total: bool = False  # a sum over several subjects ("X and Y took $436m", "between them", "combined")
    scope: bool = False  # restricted to a part ("outside the US", "excluding", "overseas")
    unreadable: bool = False  # the sentence maps numbers to nouns "respectively": which is which is unknown
    restated: bool = False  # a figure restated in brackets after another ("$280bn (£155bn)"): a conversion
    subjects: frozenset[str] = frozenset()  # entity keys of the clause before the number (its subject side)
    place: str = ""  # entity key of an "in" phrase right after the number ("31% of the vote in Erewash")
    named: frozenset[str] = frozenset()  # entity keys of the whole sentence
    earlier: bool = False  # dated before the time of the report ("prior to the withdrawal", "had recorded")


def _months(text: str) -> frozenset[str]:
    """Months and quarters a text names (not years: a lead's "first since 1948" dates no report)."""
    return frozenset(m.group(0).lower() for m in _MONTH.finditer(text)) | frozenset(
        m.group(1).lower().replace("final", "fourth") + "q" for m in _QUARTER.finditer(text))


# a figure dated before the time of its report: "Prior to the withdrawal, ...", "previously", "two years ago",
# "at its peak"; read in the sentence up to the end of the number's clause
_EARLIER = re.compile(
    r"\b(?:prior\s+to|before\s+(?:the|its|their|his|her|this|that|a|an|last)\b|previously|formerly|originally|initially|"
    r"at\s+first|earlier\s+(?:this|that|last|in|on)\b|at\s+the\s+time\b|used\s+to\b|[\w-]+\s+ago\b|"
    r"last\s+(?:year|month|week|spring|summer|autumn|fall|winter)\b|until\s+(?:recently|the|last)\b|"
    r"at\s+(?:its|their|the)\s+(?:peak|height)\b|in\s+the\s+past\b)",
    re.IGNORECASE)
# the past perfect of the figure's own clause ("had recorded up to 2,000"), unless a reporting verb makes it a
# backshifted report ("said Russia had deployed ...")
_PAST_PERFECT = re.compile(r"\bhad\s+(?:not\s+|already\s+|\w+ly\s+)?(?:been\s+)?\w+(?:ed|en|wn|nt|ne|ld|ght)\b",
                           re.IGNORECASE)
_REPORTED = re.compile(r"\b(?:said|says|say|told|tells|reported|reports|announced|according\s+to|stated|added|"
                       r"claimed|confirmed|disclosed|revealed)\b", re.IGNORECASE)


def dated_earlier(text: str, lo: int, hi: int) -> bool:
    """Whether the figure of the clause [lo, hi) of `text` is dated before the time of the report:
    a marker of an earlier time in the sentence before the clause's end ("Prior to the withdrawal,
    ... up to 2,000 troops", "previously", "a year ago", "at its peak"), or the clause's own past
    perfect ("had recorded") where no reporting verb makes it a backshifted report."""
    if _EARLIER.search(text, 0, hi):
        return True
    return bool(_PAST_PERFECT.search(text, lo, hi)) and not _REPORTED.search(text)


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """[lo, hi) of the clause of `text` holding the span [start, end)."""
    lo, hi = 0, len(text)
    for m in _BOUNDARY.finditer(text):
        if m.end() <= start:
            lo = m.start() if m.group(0)[:1].isalpha() else m.end()
        elif m.start() >= end:
            hi = m.start()
            break
    return lo, hi


def _role(text: str, lo: int, start: int, end: int, hi: int) -> str:
    before = [w.lower() for w in _WORD.findall(text[lo:start])][-3:]
    after = [w.lower() for w in _WORD.findall(text[end:hi])][:2]
    if text[end:end + 1].isalpha():  # the span ends inside a word: its words are not "after"
        after = []
    if before and before[-1] == "from":
        return "start"  # "fell from £180,126 to £178,906": an earlier level
    inside = [w.lower() for w in _WORD.findall(text[start:end])]
    if (after and after[0] in _PART_AFTER) or any(w in _PART_AFTER for w in inside[1:]):
        return "part"  # "the three other detainees", "2,000 more troops": not the whole
    if before and before[-1] in _LEVEL_BEFORE:
        return "level"
    if any(w in _CHANGE for w in before) or any(w in _CHANGE for w in after):
        return "change"
    return "level"


def quantity_context(claim_text: str, q_start: int, q_end: int, unit: str,
                     entity_spans: Iterable[tuple[int, int, str]], q_text: str = "",
                     other_numbers: Iterable[tuple[int, int]] = (), detail: bool = True) -> Context:
    """The subject of the quantity at [q_start, q_end) of `claim_text` (offsets in the
    claim); `entity_spans` are (start, end, canonical) in the same coordinates,
    `other_numbers` the spans of the claim's other quantities. A clause with neither
    an entity nor a content word of its own ("compared with £21.8bn a year earlier",
    "($14.6m)") takes the clause before it. Content words stop at the neighbouring
    numbers ("sold for $9.3bn to pay a $27bn bill": "sold" is not the bill's)."""
    lo, hi = clause_bounds(claim_text, q_start, q_end)
    spans = list(entity_spans)
    for _ in range(2):
        ents, terms, near = _clause_words(claim_text, lo, hi, q_start, q_end, unit, spans, other_numbers)
        if ents or terms or lo == 0:
            break
        lo, _prev_hi = clause_bounds(claim_text, max(lo - 2, 0), max(lo - 1, 0))
    times = frozenset(m.group(0).lower() for m in _YEAR.finditer(claim_text)) | frozenset(
        m.group(0).lower() for m in _MONTH.finditer(claim_text)) | frozenset(
        m.group(1).lower().replace("final", "fourth") + "q" for m in _QUARTER.finditer(claim_text))
    words = {w.lower() for w in _WORD.findall(claim_text[lo:hi])} | {w.lower() for w in _WORD.findall(q_text)}
    market = bool(words & _MARKET)
    role = _role(claim_text, lo, q_start, q_end, hi)
    if not detail:  # the cheap part, enough to rule most pairs out; see find_conflicts
        return Context(ents, terms, near, times, role, market)
    # "May" capitalized is the month ("May sales rose 4%"), not the modal
    modal = {w.lower() for w in _WORD.findall(claim_text[lo:hi]) + _WORD.findall(q_text) if w != "May"}
    irrealis = bool(modal & _IRREALIS) or bool(re.match(r"\s*(?:if|unless)\b", claim_text, re.IGNORECASE))
    clause_spans = [(s, e) for s, e, _ in spans if s < hi and e > lo]
    total = bool(_TOTAL.search(claim_text[lo:hi])) or _joined_subjects(claim_text, lo, q_start, clause_spans)
    # what follows the number up to the next comma, brackets left out ("$300m (£160m) outside the US")
    after_text = re.split(r"[,;:]|\.(?=\s|$)", re.sub(r"\([^)]*\)", " ", claim_text[q_end:]), maxsplit=1)[0]
    after_words = [w.lower() for w in _WORD.findall(after_text)]
    return Context(ents, terms, near, times, role, market,
                   irrealis=irrealis, heads=_heads(claim_text, lo, q_start, q_end, hi, unit, clause_spans),
                   sources=_source(claim_text, q_start, spans), agent=_agent(after_words), total=total,
                   scope=bool(set(after_words[:4]) & _SCOPE),
                   unreadable=bool(_RESPECTIVELY.search(claim_text)), restated=_restated(claim_text, q_start),
                   subjects=frozenset(entity_key(name) for s, e, name in spans if lo <= s and e <= q_start),
                   place=_place(claim_text, q_end, spans), named=frozenset(entity_key(name) for _, _, name in spans),
                   earlier=dated_earlier(claim_text, lo, hi))


_PLACE_AFTER = re.compile(r"(?:\s+of\s+(?:the\s+)?[\w'’-]+(?:\s+[\w'’-]+)?)?\s+in\s+(?:the\s+)?")


def _place(text: str, q_end: int, spans: list[tuple[int, int, str]]) -> str:
    """The entity of an "in" phrase right after the number or its "of" phrase ("£192,713 in England",
    "31% of the vote in Erewash"): the figure is restricted to it."""
    for m in _PLACE_AFTER.finditer(text, q_end):
        if m.start() != q_end:
            break
        for s, _e, name in spans:
            if s == m.end():
                return entity_key(name)
        break
    return ""


def _restated(text: str, q_start: int) -> bool:
    """Whether the number is inside brackets opened right after another figure ("$280bn (£155bn)",
    "$9.4bn (261bn roubles, £4.8bn)"): a conversion at some day's rate, not a report of its own."""
    opening = text.rfind("(", 0, q_start)
    if opening < 0 or ")" in text[opening:q_start]:
        return False
    return bool(re.search(r"\d[\w.,%]*\s*$", text[:opening]))


def _source(text: str, q_start: int, spans: list[tuple[int, int, str]]) -> frozenset[str]:
    """The entity the sentence attributes the number to ("Halifax said", "according to figures from the
    ODPM"): the nearest such entity before the number, else the first after it."""
    found = sorted((s, name) for s, e, name in spans
                   if _SAID_AFTER.match(text, e) or _SOURCE_BEFORE.search(text[max(0, s - 60):s]))
    before = [name for s, name in found if s < q_start]
    after = [name for s, name in found if s >= q_start]
    pick = before[-1:] or after[:1]
    return frozenset(entity_key(n) for n in pick)


_JOINED_BEFORE = re.compile(r"(?:^|\s)[A-Z0-9][\w'’]*\s+(?:and|&)\s+(?:[Tt]he\s+)?$")
_JOINED_AFTER = re.compile(r"\s+(?:and|&)\s+(?:[Tt]he\s+)?[A-Z]")


def _joined_subjects(text: str, lo: int, q_start: int, spans: list[tuple[int, int]]) -> bool:
    """An entity joined by "and" to another name before the number ("Shrek 2 and The Incredibles took
    $436m", "Charlie Hodgson and Barkley missed six penalties")."""
    return any(_JOINED_BEFORE.search(text[lo:s]) or _JOINED_AFTER.match(text, e)
               for s, e in spans if lo <= s and e <= q_start)


def _agent(after_words: list[str]) -> str:
    """The content word after "by" following the number ("banned for four years by the tribunal")."""
    for i, w in enumerate(after_words[:6]):
        if w == "by":
            for x in after_words[i + 1:i + 4]:
                if x not in _STOP and x not in _OF_DETERMINERS:
                    return _stem(x)
            return ""
    return ""


def _content(word: str) -> bool:
    w = word.lower()
    return w not in _STOP and w not in _CHANGE and len(w) >= 3


def _heads(text: str, lo: int, q_start: int, q_end: int, hi: int, unit: str,
           spans: list[tuple[int, int]]) -> tuple[str, str, str]:
    """What the number counts, three ways: the head of an "of" phrase after it ("53% of UK households" ->
    household, "three years of economic stagnation" -> stagnation), the noun before "of"/"worth"/"valued at"
    ("takings of $56m" -> taking), the noun right after it ("a $27.5bn tax claim" -> claim)."""
    unit_words = {unit, *(k for k, v in UNIT_SYNONYMS.items() if v == unit)}
    tail = [(m.group(0), m.start()) for m in _WORD.finditer(text, q_end, hi)]
    gaps = [text[q_end:tail[0][1]]] + [text[tail[k - 1][1] + len(tail[k - 1][0]):tail[k][1]]
                                       for k in range(1, len(tail))] if tail else []
    of_head = next_head = ""
    if tail and tail[0][0].lower() == "of" and not gaps[0].strip():
        words = []
        for k in range(1, len(tail)):
            w, pos = tail[k]
            if gaps[k].strip() and words:
                break
            if any(s <= pos < e for s, e in spans):
                continue
            if not words and w.lower() in _OF_DETERMINERS:
                continue
            if not _content(w):
                break
            words.append(_stem(w))
        of_head = words[-1] if words else ""
    elif tail and not gaps[0].strip():
        words = []
        for k, (w, pos) in enumerate(tail[:3]):
            if (k and gaps[k].strip()) or any(s <= pos < e for s, e in spans) or not _content(w):
                break
            if _stem(w) not in unit_words and w.lower() not in unit_words:
                words.append(_stem(w))
        next_head = words[-1] if words else ""
    m = re.search(r"([A-Za-z][A-Za-z'’\-]*)\s+(?:valued\s+at|worth|of)\s*$", text[lo:q_start])
    before_head = _stem(m.group(1)) if m and _content(m.group(1)) else ""
    return of_head, before_head, next_head


def _clause_words(text, lo, hi, q_start, q_end, unit, spans, other_numbers=()):
    ents = frozenset(entity_key(name) for s, e, name in spans if s < hi and e > lo)
    wlo, whi = lo, hi  # content words only up to the neighbouring numbers
    for s, e in other_numbers:
        if e <= q_start:
            wlo = max(wlo, e)
        elif s >= q_end:
            whi = min(whi, s)
    covered = [(s, e) for s, e, _ in spans if s < hi and e > lo]
    unit_words = {unit, *(k for k, v in UNIT_SYNONYMS.items() if v == unit)}
    before, after = [], []
    for m in _WORD.finditer(text, wlo, whi):
        inside = q_start <= m.start() < q_end
        if not inside and any(s <= m.start() < e for s, e in covered):
            continue
        w = m.group(0).lower()
        if w in _STOP or w in _CHANGE or len(w) < 3:
            continue
        t = _stem(w)
        if t in unit_words or w in unit_words or t in _STOP:
            continue
        (before if m.start() < q_start else after).append(t)
    near = frozenset(before[-NEAR_WORDS:] + after[:NEAR_WORDS])
    return ents, frozenset(before + after), near


def window_context(q_start: int, q_end: int, unit: str, entity_spans: Iterable[tuple[int, int, str]],
                   q_text: str) -> Context:
    """The subject without the claim's text: entities within CONTEXT_WINDOW characters
    of the number and the content words of the quantity's own span."""
    ents = frozenset(entity_key(name) for s, e, name in entity_spans
                     if s < q_end + CONTEXT_WINDOW and e > q_start - CONTEXT_WINDOW)
    unit_words = {unit, *(k for k, v in UNIT_SYNONYMS.items() if v == unit)}
    terms = frozenset(
        t for t in (_stem(w) for w in _WORD.findall(q_text or "") if w.lower() not in _STOP and len(w) >= 3)
        if t not in unit_words and t not in _STOP
    )
    return Context(ents, terms, terms, frozenset(), "", False, read=False)


def same_subject(a: Context, b: Context, generic: frozenset[str] | set[str], unit: str = "") -> bool:
    """Whether two quantities (of `unit`) measure the same thing; see the module doc."""
    if a.market or b.market:
        return False
    shared = a.entities & b.entities
    if not shared:
        return False
    if not (shared - generic) and len(a.terms & b.terms) < GENERIC_SHARED_TERMS:
        return False
    if (a.read and b.read or unit in MEASURE_UNITS) and not (a.near & b.near):
        return False  # what the number measures: a shared word next to it (only the span's own without text)
    if a.times and b.times and not (a.times & b.times):
        return False
    if a.role and b.role and a.role != b.role:
        return False  # a level, a change, an earlier level ("from"), a part ("three other")
    if a.unreadable or b.unreadable or a.restated or b.restated:
        return False
    if a.irrealis != b.irrealis or a.total != b.total or a.scope != b.scope:
        return False  # a forecast and a fact, a sum and one part, a part of the reach and all of it
    if any(x and y and x != y for x, y in zip(a.heads, b.heads)):
        return False  # the number counts different things: "tally of $80m" vs "takings of $56m"
    if a.agent and b.agent and a.agent != b.agent:
        return False  # "banned ... by the tribunal" vs "... by the IAAF"
    if unit in MEASURE_UNITS and a.sources and b.sources and not (a.sources & b.sources):
        return False  # statistics of different publishers (Halifax, Nationwide) measure differently
    if (a.place and a.place not in b.named) or (b.place and b.place not in a.named):
        return False  # "31% of the vote in Erewash" vs the national share: the other never names the place
    if a.read and b.read and _own_entities(a.subjects, b.entities, generic) and \
            _own_entities(b.subjects, a.entities, generic):
        return False  # each names a subject before its number that the other's clause lacks: different teams, firms
    return True


def _own_entities(keys: frozenset[str], other: frozenset[str], generic: frozenset[str] | set[str]) -> set[str]:
    """Non-generic entity keys of one side that share no word with the other clause's entities ("Russian
    Armed Forces" shares "Russia" with "Russia")."""
    other_words = {w[:5] for k in other for w in k.split()}
    return {k for k in keys - other - generic if not {w[:5] for w in k.split()} & other_words}


# ------------------------------------------------------------------ conflicts
@dataclass(frozen=True)
class Conflict:
    claim_id_a: str
    claim_id_b: str
    doc_id_a: str
    doc_id_b: str
    unit: str
    value_a: float
    value_b: float
    qualifier_a: str
    qualifier_b: str
    text_a: str
    text_b: str
    shared_entities: str
    n_claim_pairs: int = 1  # pairs of claims (in different documents) making this same statement pair
    n_documents: int = 2  # documents making either statement
    # one figure is dated before the time of the report and the other is not ("Prior to the withdrawal ...
    # had recorded up to 2,000" / "10,200 are deployed"): a change over time rather than a contradiction
    different_time: bool = False


_CONTEXT_FIELDS = tuple(f.name for f in dataclasses.fields(Context))


@functools.lru_cache(maxsize=1)
def _source_digest() -> str:
    """A digest of this module's code: a memo written by other rules is not used."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


class ContextMemo:
    """The cheap clause readings (`quantity_context(..., detail=False)`) of a previous run,
    keyed by a digest of everything a reading depends on: the claim's text, the number's
    span and text, the unit, the entities' spans and canonical names, the other numbers'
    spans. A key that matches gives the reading that was computed for the same inputs, so
    the result is the same as without the memo; a canonical name that changed across the
    corpus changes the key. `entries` after a run holds the readings that run used (the
    memo never grows past the corpus). Written with the code's digest: a memo from other
    code is dropped on load."""

    def __init__(self, entries: Mapping[str, Context] | None = None):
        self._previous = dict(entries or {})
        self.entries: dict[str, Context] = {}
        self.hits = 0

    def reading(self, inputs: tuple, compute: Callable[[], Context]) -> Context:
        key = hashlib.blake2b(repr(inputs).encode(), digest_size=16).hexdigest()
        found = self.entries.get(key) or self._previous.get(key)
        if found is None:
            found = compute()
        else:
            self.hits += 1
        self.entries[key] = found
        return found

    def to_json(self) -> str:
        """One list of field values per reading, in the order of Context's fields (sets sorted)."""
        def plain(ctx: Context) -> list:
            return [sorted(v) if isinstance(v := getattr(ctx, name), frozenset) else v for name in _CONTEXT_FIELDS]
        return json.dumps({"code": _source_digest(), "fields": list(_CONTEXT_FIELDS),
                           "entries": {k: plain(v) for k, v in self.entries.items()}}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ContextMemo:
        data = json.loads(text)
        if data.get("code") != _source_digest() or data.get("fields") != list(_CONTEXT_FIELDS):
            return cls()
        sets = [i for i, f in enumerate(dataclasses.fields(Context)) if str(f.type).startswith("frozenset")]
        tuples = [i for i, f in enumerate(dataclasses.fields(Context)) if str(f.type).startswith("tuple")]
        entries = {}
        for key, values in data["entries"].items():
            for i in sets:
                values[i] = frozenset(values[i])
            for i in tuples:
                values[i] = tuple(values[i])
            entries[key] = Context(*values)
        return cls(entries)


def comparable(va: float, vb: float) -> bool:
    """Whether two numbers are within MAX_RATIO of each other (and of one sign)."""
    lo, hi = sorted((abs(va), abs(vb)))
    if (va < 0) != (vb < 0) and lo > 0:
        return False
    return hi <= MAX_RATIO * lo


def generic_entities(entities: Iterable[Mapping], n_documents: int | None = None) -> frozenset[str]:
    """Entity keys named in more than GENERIC_DOC_SHARE of the documents (and more than
    GENERIC_MIN_DOCS of them)."""
    docs: dict[str, set[str]] = defaultdict(set)
    all_docs: set[str] = set()
    for e in entities:
        doc = e.get("doc_id") or e["claim_id"]
        docs[entity_key(e["canonical"])].add(doc)
        all_docs.add(doc)
    n = n_documents if n_documents is not None else len(all_docs)
    limit = max(GENERIC_MIN_DOCS, GENERIC_DOC_SHARE * n)
    return frozenset(k for k, d in docs.items() if len(d) > limit)


def find_conflicts(quantities: Iterable[Mapping], entities: Iterable[Mapping],
                   claims: Iterable[Mapping] | None = None, memo: ContextMemo | None = None) -> list[Conflict]:
    """Conflicting statements: quantities in claims of different documents that cannot both hold.

    `quantities` rows need claim_id, doc_id, value, qualifier, unit, text (and
    char_start, char_end to locate the number); `entities` rows claim_id, doc_id and
    canonical (and char_start, char_end); `claims` rows claim_id, text and char_start:
    with them the subject is read from the quantity's clause, without them from the
    entities near the number (see the module doc).

    Claims that say the same thing (same unit, value, qualifier and named entities; a
    wire story reprinted by twenty outlets) form one *statement*, whose subject is
    read from its first claim (by document, claim). One row per pair of conflicting
    statements with the same subject, named by its first pair of claims from
    different documents, with `n_claim_pairs` (every such pair of claims) and
    `n_documents`. So the table lists each disagreement once, and its size and the
    time to find it grow with the number of distinct statements, not with the square
    of the number of copies.

    `memo` (optional) keeps the clause readings between runs: same result, less work.
    """
    entities = list(entities)
    quantities = list(quantities)
    spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    names: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        names[e["claim_id"]].add(e["canonical"])
        s, t = e.get("char_start"), e.get("char_end")
        spans[e["claim_id"]].append((_int(s), _int(t), e["canonical"]))
    claim_text: dict[str, tuple[str, int]] = {}
    if claims is not None:
        for c in claims:
            claim_text[c["claim_id"]] = (c["text"], _int(c.get("char_start")) or 0)
    generic = generic_entities(entities)
    # the claims of each document, for the months its lead names (read only for the few pairs that need them)
    doc_claims: dict[str, list[str]] = defaultdict(list)
    if claims is not None:
        claim_doc = {r["claim_id"]: r.get("doc_id") for r in entities}
        claim_doc.update({r["claim_id"]: r.get("doc_id") for r in quantities})
        for c in claims:
            doc = c.get("doc_id") or claim_doc.get(c["claim_id"])
            if doc is not None:
                doc_claims[doc].append(c["claim_id"])
    lead_cache: dict[str, frozenset[str]] = {}

    def lead_months(doc: str) -> frozenset[str]:
        if doc not in lead_cache:
            first = sorted(doc_claims.get(doc, ()), key=lambda cid: claim_text[cid][1])[:LEAD_CLAIMS]
            lead_cache[doc] = frozenset(m for cid in first for m in _months(claim_text[cid][0]))
        return lead_cache[doc]

    numbers: dict[str, list[tuple[int, int]]] = defaultdict(list)  # every quantity's span, by claim
    by_claim: dict[str, list[tuple[float, str]]] = defaultdict(list)  # every quantity's value and unit, by claim
    for q in quantities:
        by_claim[q["claim_id"]].append((float(q["value"]), normalize_unit(q.get("unit"))))
        s, t = _int(q.get("char_start")), _int(q.get("char_end"))
        if s is not None and t is not None:
            numbers[q["claim_id"]].append((s, t))
    statements: dict[tuple, list[Mapping]] = defaultdict(list)
    for q in quantities:
        unit = normalize_unit(q.get("unit"))
        claim_names = names.get(q["claim_id"])
        if unit and claim_names:
            statements[(unit, float(q["value"]), q["qualifier"], frozenset(claim_names))].append(q)
    keys = sorted(statements, key=lambda k: (k[0], k[1], k[2], sorted(k[3])))
    contexts: list[Context] = []
    tolerances: list[float | None] = []
    sentence: list[object] = []  # what identifies the sentence of the statement's first claim
    for key in keys:
        members = statements[key]
        members.sort(key=lambda r: (r["doc_id"], r["claim_id"]))
        first = members[0]
        contexts.append(_context(first, key[0], spans.get(first["claim_id"], []), numbers.get(first["claim_id"], []),
                                 claim_text, claims is not None, detail=False, memo=memo))
        tolerances.append(written_tolerance(first.get("text"), key[1]))
        if first["claim_id"] in claim_text:
            sentence.append(claim_text[first["claim_id"]][0])
        else:  # without the text: the claim's numbers and names
            sentence.append((tuple(sorted(by_claim.get(first["claim_id"], ()))), key[3]) if claims is None else None)

    out: list[Conflict] = []
    detailed: dict[int, Context] = {}
    for i, j in _candidate_pairs(keys, contexts):
        ka, kb = keys[i], keys[j]
        if compatible(ka[1], ka[2], kb[1], kb[2], tolerances[i], tolerances[j]) or not comparable(ka[1], kb[1]):
            continue
        if sentence[i] is not None and sentence[i] == sentence[j]:
            continue  # one sentence reprinted: its different numbers are different things
        if not same_subject(contexts[i], contexts[j], generic, ka[0]):
            continue
        if claims is not None:  # the whole reading, only for the few pairs the cheap one leaves
            for k in (i, j):
                if k not in detailed:
                    first = statements[keys[k]][0]
                    detailed[k] = _context(first, keys[k][0], spans.get(first["claim_id"], []),
                                           numbers.get(first["claim_id"], []), claim_text, True)
            if not same_subject(detailed[i], detailed[j], generic, ka[0]):
                continue
            if not (detailed[i].times or detailed[j].times):  # neither sentence says when: the documents' leads
                mi, mj = (lead_months(statements[keys[k]][0]["doc_id"]) for k in (i, j))
                if mi and mj and not (mi & mj):
                    continue
        shared = {n for n in ka[3] | kb[3] if entity_key(n) in (contexts[i].entities & contexts[j].entities)}
        different_time = claims is not None and detailed[i].earlier != detailed[j].earlier
        conflict = _statement_conflict(ka[0], statements[ka], statements[kb], shared, different_time)
        if conflict is not None:
            out.append(conflict)
    return sorted(out, key=lambda c: (c.unit, c.claim_id_a, c.claim_id_b, c.value_a, c.value_b))


def _int(v) -> int | None:
    try:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
    except (TypeError, ValueError):
        return None


def _context(q: Mapping, unit: str, ent_spans: list[tuple[int | None, int | None, str]],
             number_spans: list[tuple[int, int]], claim_text: Mapping[str, tuple[str, int]],
             with_text: bool, detail: bool = True, memo: ContextMemo | None = None) -> Context:
    qs, qe = _int(q.get("char_start")), _int(q.get("char_end"))
    located = [(s, e, n) for s, e, n in ent_spans if s is not None and e is not None]
    if with_text and q["claim_id"] in claim_text and qs is not None and qe is not None:
        text, base = claim_text[q["claim_id"]]
        if 0 <= qs - base <= len(text):
            others = [(s - base, e - base) for s, e in number_spans if (s, e) != (qs, qe)]
            inputs = (text, qs - base, qe - base, unit, [(s - base, e - base, n) for s, e, n in located],
                      q.get("text") or "", others, detail)
            if memo is None:
                return quantity_context(*inputs[:-1], detail=detail)
            return memo.reading(inputs, lambda: quantity_context(*inputs[:-1], detail=detail))
    if qs is None or qe is None:  # nothing to locate the number by: every entity of the claim
        return Context(frozenset(entity_key(n) for _, _, n in ent_spans), frozenset(), frozenset(), frozenset(), "",
                       False, read=False)
    return window_context(qs, qe, unit, located, q.get("text") or "")


def _candidate_pairs(keys: list[tuple], contexts: list[Context]) -> list[tuple[int, int]]:
    """(i, j), i < j, for statements of one unit sharing a clause entity or content word
    whose (unit, key) block holds at most MAX_BLOCK statements. Vectorized like
    pipeline.clusters.candidate_pairs: pair codes from the blocks, deduplicated by np.unique."""
    n = len(keys)
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (key, ctx) in enumerate(zip(keys, contexts)):
        for k in ctx.entities:
            blocks[(key[0], "e:" + k)].append(i)
        for t in ctx.terms:
            blocks[(key[0], "t:" + t)].append(i)
    codes = []
    for members in blocks.values():
        if 1 < len(members) <= MAX_BLOCK:
            m = np.asarray(members, dtype=np.int64)
            a, b = np.triu_indices(len(m), 1)
            codes.append(m[a] * n + m[b])
    if not codes:
        return []
    u = np.unique(np.concatenate(codes))
    return list(zip((u // n).tolist(), (u % n).tolist()))


def _statement_conflict(unit: str, a_rows: list[Mapping], b_rows: list[Mapping], shared: set[str],
                        different_time: bool = False) -> Conflict | None:
    """The row for two conflicting statements (members sorted by document, claim), or
    None when every pair of their claims is in one document."""
    per_doc_a: dict[str, int] = defaultdict(int)
    per_doc_b: dict[str, int] = defaultdict(int)
    for r in a_rows:
        per_doc_a[r["doc_id"]] += 1
    for r in b_rows:
        per_doc_b[r["doc_id"]] += 1
    n_pairs = len(a_rows) * len(b_rows) - sum(n * per_doc_b.get(d, 0) for d, n in per_doc_a.items())
    if n_pairs <= 0:
        return None
    def first_pair(xs: list[Mapping], ys: list[Mapping]):
        for x in xs:  # members are sorted: the first x with a partner in another document
            y = next((r for r in ys if r["doc_id"] != x["doc_id"]), None)
            if y is not None:
                return x, y
        return None

    def order(p):
        x, y = p
        return (x, y) if (x["doc_id"], x["claim_id"]) <= (y["doc_id"], y["claim_id"]) else (y, x)

    def rank(p):
        return (p[0]["doc_id"], p[0]["claim_id"], p[1]["doc_id"], p[1]["claim_id"])

    best = min((order(p) for p in (first_pair(a_rows, b_rows), first_pair(b_rows, a_rows)) if p), key=rank)
    a, b = best
    return Conflict(
        a["claim_id"], b["claim_id"], a["doc_id"], b["doc_id"], unit, float(a["value"]), float(b["value"]),
        a["qualifier"], b["qualifier"], a["text"], b["text"], "; ".join(sorted(shared)),
        n_claim_pairs=int(n_pairs), n_documents=len(set(per_doc_a) | set(per_doc_b)), different_time=different_time,
    )
