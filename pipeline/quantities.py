"""Extract counted / measured quantities from one parsed sentence.

Approach (rule-based on top of the spaCy parse, no model of its own):

1. **Number groups.**  Walk the tokens and collect maximal runs that spell one
   number: a digit token ("10,200", "7.5", "9k", "3bn", "~200") optionally
   followed by scale words ("1.5 million"), or a run of number words
   ("nine thousand", "twenty-five", "one hundred and fifty"), or
   "a dozen" / "two dozen" / "half a million".  Values are computed by our own
   small parser (tables below), not by spaCy.
2. **Filters (precision first).**  A group is dropped when any of its tokens is
   in a DATE / TIME / ORDINAL entity or in a name-like entity (ORG, PRODUCT,
   ...), when it looks like a year (plain 4 digits 1800-2100 with no currency,
   percent or counted plural noun), when it is glued to letters or slashes
   ("G7", "Su-30", "Covid-19", "10/17/2022" never match the digit pattern, and
   neighbours attached without whitespace are checked), when it follows an
   id marker ("No.", "#", "Article"...) or a proper noun ("Leopard 2"), when it
   is a vague plural ("hundreds of", "thousands"), or when it is a bare "one"
   without a qualifier or a measurement unit ("One Belarusian mother").
3. **Qualifier.**  The longest phrase from ``_QUALIFIER_PHRASES`` ending right
   before the group (or before its currency sign) decides the qualifier; its
   words become part of ``text``.
4. **Ranges.**  "between X and Y", "from X to Y", "X to Y", "X-Y" (with Y > X)
   give two rows: X ``at_least`` (text includes "between"/"from") and Y
   ``at_most``; currency, percent, scale word ("5-10 million") and unit are
   shared between the two ends.
5. **Unit.**  Currency sign or word -> ISO-ish code ("usd", "gbp", "eur", ...),
   "%" / "percent" / "per cent" -> "percent"; otherwise the dependency parse:
   the group's outward token with dep ``nummod`` gives its noun head's lemma;
   failing that, the first noun within a few tokens to the right (skipping
   adjectives, "of" and determiners), extended to the last noun of a compound
   chain.  Lemmas are lower-cased, with a few normalisations ("people" ->
   "person", "attachés" -> "attaché").
6. ``text`` runs from the first qualifier / currency token to the end of the
   number, its percent / currency word and, when the counted noun follows
   closely with only modifiers in between, that noun ("up to 200 armored combat
   vehicles").  Offsets are relative to the start of the Doc/Span passed.

The function only reads token attributes, so the module imports nothing from
spaCy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

QUALIFIERS = ("exact", "approximate", "at_most", "at_least", "more_than", "less_than")


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str | None
    qualifier: str
    text: str
    start: int
    end: int


# --------------------------------------------------------------------------- tables

_UNITS_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "trillion": 1_000_000_000_000}
# abbreviations of scale words, as a separate token or glued to digits
_SCALE_ABBR = {"k": 1_000, "bn": 1_000_000_000, "b": 1_000_000_000, "mn": 1_000_000, "m": 1_000_000,
               "mln": 1_000_000, "tn": 1_000_000_000_000, "trn": 1_000_000_000_000}
# abbreviations ambiguous with measurement units: only a scale after a currency sign
_MONEY_ONLY_ABBR = {"m", "b"}
_VAGUE_PLURALS = {"hundreds", "thousands", "millions", "billions", "trillions", "dozens", "tens", "scores"}
_VAGUE_BEFORE_SCALE = {"several", "few", "many", "some", "tens", "hundreds", "thousands", "multiple"}

_DIGITS_RE = re.compile(r"^(~)?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)([a-zA-Z]{1,3})?$")

_CURRENCY_SIGNS = {"$": "usd", "us$": "usd", "£": "gbp", "€": "eur", "¥": "jpy", "₽": "rub", "₴": "uah",
                   "₹": "inr", "c$": "cad", "a$": "aud"}
_CURRENCY_WORDS = {
    "dollar": "usd", "dollars": "usd", "usd": "usd", "euro": "eur", "euros": "eur", "eur": "eur",
    "gbp": "gbp", "sterling": "gbp", "ruble": "rub", "rubles": "rub", "rouble": "rub", "roubles": "rub",
    "rub": "rub", "hryvnia": "uah", "hryvnias": "uah", "hryvnas": "uah", "uah": "uah", "yen": "jpy",
    "yuan": "cny", "renminbi": "cny",
}
_PERCENT_WORDS = {"%", "percent", "pct", "per cent"}

_MEASURE_UNITS = {
    "mm", "cm", "m", "km", "kilometer", "kilometre", "meter", "metre", "mile", "kg", "kilogram",
    "gram", "g", "ton", "tonne", "t", "lb", "pound", "liter", "litre", "l", "barrel", "hectare",
    "ha", "acre", "kw", "mw", "gw", "kwh", "mwh", "gwh", "knot", "foot", "feet", "inch", "caliber",
    "calibre", "degree", "sq",
}

_ID_MARKERS = {"#", "no", "no.", "nos", "nos.", "nr", "nr.", "number", "article", "section", "chapter",
               "page", "resolution", "flight", "route", "paragraph", "part", "version", "model", "type",
               "level", "phase", "room", "gate", "platform", "line"}

_NAME_ENTS = {"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
              "LANGUAGE", "NORP"}
_SKIP_ENTS = {"DATE", "TIME", "ORDINAL"}

_QUALIFIER_PHRASES: dict[tuple[str, ...], str] = {}


def _add(qualifier: str, *phrases: str) -> None:
    for p in phrases:
        _QUALIFIER_PHRASES[tuple(p.split())] = qualifier


_add("at_most", "up to", "as many as", "as much as", "no more than", "not more than", "a maximum of",
     "maximum of", "at most", "at the most", "up to about", "up to around")
_add("at_least", "priced from", "prices from", "starting from", "starting at", "at least", "no fewer than", "no less than", "not less than", "a minimum of",
     "minimum of", "at the least")
_add("more_than", "more than", "over", "in excess of", "upwards of", "above", "greater than",
     "just over", "a little more than", "slightly more than", "well over", "well above",
     "just above", "a little over", "exceeding")
_add("less_than", "less than", "fewer than", "under", "below", "just under", "almost",
     "a little less than", "slightly less than", "just below", "well under", "well below",
     "a little under", "just less than", "just fewer than", "not quite")
_add("approximate", "some", "about", "around", "approximately", "roughly", "nearly", "an estimated",
     "estimated", "close to", "~", "circa", "ca.", "approx.", "approx", "an approximate", "about some",
     "some estimated", "roughly about", "just about", "more or less", "or so")
_MAX_QUAL_LEN = max(len(k) for k in _QUALIFIER_PHRASES)

_TIME_UNITS = {"second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks",
               "month", "months", "year", "years", "decade", "decades", "century", "centuries"}
# a time span that only places an event in time ("the past three years", "five years ago")
_TIME_REFERENCE_BEFORE = {"last", "past", "next", "previous", "coming", "first", "this", "recent", "on", "at",
                          "following", "final", "those", "these", "the", "every", "each", "aged", "age"}
_TIME_REFERENCE_AFTER = {"ago", "later", "earlier", "after", "before", "old", "since", "from", "into"}
_SCORE_NOUNS = {"lead", "win", "victory", "defeat", "loss", "draw", "score", "scoreline", "triumph", "margin",
                "result", "thrashing", "home", "away", "aggregate"}
_EVENT_AFTER = {"hurdles", "champion", "championship", "final", "title", "record", "race", "relay", "freestyle",
                "butterfly", "breaststroke", "backstroke", "sprint", "event", "dash", "medal", "gold", "silver", "bronze"}
_UPPER_UNITS = {"MW", "GW", "KW", "kW", "kWh", "MWh", "GWh", "TWh"}
_COMPOUND_MEN = re.compile(
    r"(service|police|fire|gun|congress|business|spokes|chair|fisher|sports|work|country|horse|states|sales|crafts"
    r"|middle|noble|lay|bats|clergy|handy|militia|frontiers|kins|tribes|towns|committee|council|alder)men$"
)

_LEMMA_FIX = {"people": "person", "persons": "person", "%": "percent", "percentage": "percent",
              "cent": "percent"}


# --------------------------------------------------------------------------- helpers

@dataclass
class _Group:
    first: int            # local index of first number token
    last: int             # local index of last number token (inclusive)
    value: float
    has_scale: bool       # a scale word / suffix was applied
    base_value: float     # value before scale
    scale: float
    lead: int             # first token of the span (currency sign, "a", "half")
    tail: int             # last token of number + percent/currency word
    unit: str | None = None
    unit_tok: int | None = None   # local index of the counted noun, if to the right
    fixed_unit: bool = False      # unit came from currency / percent
    kind: str = "digit"           # digit | word


def _lower(tok) -> str:
    return tok.text.lower()


def _attached(a, b) -> bool:
    """True if token a is immediately followed by b with no whitespace."""
    return not a.whitespace_ and a.idx + len(a.text) == b.idx


def _word_value(words: list[str]) -> float | None:
    total = 0.0
    current = 0.0
    seen = False
    for w in words:
        if w in _UNITS_WORDS:
            current += _UNITS_WORDS[w]
            seen = True
        elif w == "hundred":
            current = (current or 1) * 100
            seen = True
        elif w in _SCALES:
            total += (current or 1) * _SCALES[w]
            current = 0.0
            seen = True
        elif w == "dozen":
            current = (current or 1) * 12
            seen = True
        else:
            return None
    return total + current if seen else None


def _is_numword(w: str) -> bool:
    return w in _UNITS_WORDS or w in _SCALES or w == "dozen"


def _build_groups(toks) -> list[_Group]:
    groups: list[_Group] = []
    n = len(toks)
    i = 0
    while i < n:
        t = toks[i]
        low = _lower(t)
        m = _DIGITS_RE.match(t.text)
        currency_before = i > 0 and _lower(toks[i - 1]) in _CURRENCY_SIGNS
        if m:
            suffix = (m.group(3) or "").lower()
            currency_after = i + 1 < n and _lower(toks[i + 1]) in _CURRENCY_WORDS
            if suffix and (suffix not in _SCALE_ABBR
                           or (suffix in _MONEY_ONLY_ABBR and not (currency_before or currency_after))):
                i += 1
                continue   # "19th", "10km" (split anyway), "3D", ...
            base = float(m.group(2).replace(",", ""))
            scale = float(_SCALE_ABBR[suffix]) if suffix else 1.0
            j = i
            # following scale words / abbreviations
            while j + 1 < n:
                nxt = _lower(toks[j + 1])
                factor = _SCALES.get(nxt) or (_SCALE_ABBR.get(nxt) if nxt in _SCALE_ABBR else None)
                if factor and factor >= 1_000_000 and scale >= 1_000_000:
                    break  # "$4.5bn trillion" (a typo): two big scales never multiply
                if nxt in _SCALES:
                    scale *= _SCALES[nxt]
                elif nxt == "dozen":
                    scale *= 12
                elif nxt in _SCALE_ABBR and (
                        currency_before or (j + 2 < n and _lower(toks[j + 2]) in _CURRENCY_WORDS)
                        or (nxt not in _MONEY_ONLY_ABBR
                            and (toks[j + 1].ent_type_ == "MONEY" or nxt in {"bn", "mn", "tn", "mln"}))):
                    scale *= _SCALE_ABBR[nxt]
                else:
                    break
                j += 1
            groups.append(_Group(i, j, base * scale, scale != 1.0, base, scale, i, j, kind="digit"))
            i = j + 1
            continue
        if _is_numword(low) and low not in _VAGUE_PLURALS:
            words = [low]
            j = i
            while j + 1 < n:
                nxt = _lower(toks[j + 1])
                if _is_numword(nxt):
                    words.append(nxt)
                    j += 1
                elif (nxt in {"-", "–"} and j + 2 < n and words[-1] in _TENS
                      and _lower(toks[j + 2]) in _UNITS_WORDS and _UNITS_WORDS[_lower(toks[j + 2])] < 10
                      and _attached(toks[j], toks[j + 1]) and _attached(toks[j + 1], toks[j + 2])):
                    words.append(_lower(toks[j + 2]))
                    j += 2
                elif (nxt == "and" and j + 2 < n and words[-1] == "hundred"
                      and _lower(toks[j + 2]) in _UNITS_WORDS):
                    words.append(_lower(toks[j + 2]))
                    j += 2
                else:
                    break
            lead = i
            mult = 1.0
            starts_with_scale = words[0] in _SCALES or words[0] == "dozen"
            if starts_with_scale:
                prev = _lower(toks[i - 1]) if i > 0 else ""
                prev2 = _lower(toks[i - 2]) if i > 1 else ""
                if prev in {"a", "an"} and prev2 == "half":
                    lead, mult = i - 2, 0.5
                elif prev in {"a", "an", "one"}:
                    lead = i - 1
                else:
                    i = j + 1      # "several thousand", bare "thousand": vague, skip
                    continue
            val = _word_value(words)
            if val is not None:
                scaled = any(w in _SCALES or w == "dozen" for w in words)
                groups.append(_Group(i, j, val * mult, scaled, val * mult, 1.0, lead, j, kind="word"))
            i = j + 1
            continue
        i += 1
    return groups


def _is_duration(toks, g: _Group) -> bool:
    """A counted span of time that is itself the measured thing ("a sentence of up to 85
    years", "100 hours community service", "after 90 minutes"), not a date or a span that
    places an event in time ("five years ago", "the past three years", "two-year")."""
    n = len(toks)
    k = g.last + 1
    if k >= n or _lower(toks[k]) not in _TIME_UNITS or _attached(toks[g.last], toks[k]):
        return False
    if k > 0 and toks[k - 1].text in {"-", "–"}:
        return False
    if k + 1 < n and (_lower(toks[k + 1]) in _TIME_REFERENCE_AFTER
                      or (toks[k + 1].text in {"-", "–"} and _attached(toks[k], toks[k + 1]))):
        return False
    q, q_first = _match_qualifier(toks, g.lead)
    # "the next two to three months": look past the other end of a range
    while q_first > 1 and _lower(toks[q_first - 1]) in {"to", "and", "or", "-", "–"} and toks[q_first - 2].like_num:
        q_first -= 2
        while q_first > 0 and toks[q_first - 1].like_num:
            q_first -= 1
    before = toks[q_first - 1] if q_first > 0 else None
    if before is not None and (_lower(before) in _TIME_REFERENCE_BEFORE or before.text in {"'s", "’s"}):
        return False
    return True


def _looks_like_id_or_date(toks, g: _Group) -> bool:
    n = len(toks)
    first, last = toks[g.first], toks[g.last]
    for k in range(g.lead, g.last + 1):
        et = toks[k].ent_type_
        if et in {"DATE", "TIME"} and _is_duration(toks, g):
            continue
        if et == "ORDINAL" and g.kind == "digit":
            continue  # NER mistake on "£4bn": a digit group without "th"/"st" is no ordinal
        if et in _SKIP_ENTS or et in _NAME_ENTS:
            return True
    # a capitalized number word inside a name: "the Six Nations", "Big Ten"
    if g.kind == "word" and g.first > 0 and first.text[:1].isupper() and g.last + 1 < n \
            and toks[g.last + 1].text[:1].isupper():
        return True
    # "the top three", "top 75": a rank, unless something countable follows
    if g.lead > 0 and _lower(toks[g.lead - 1]) in {"top", "bottom"} and (g.last + 1 >= n or toks[g.last + 1].pos_ != "NOUN"):
        return True
    # glued to letters / slashes / other digits on the left ("Covid-19", "10 / 17")
    if g.lead > 0:
        p = toks[g.lead - 1]
        if _attached(p, toks[g.lead]) and p.text not in _CURRENCY_SIGNS and _lower(p) not in _CURRENCY_SIGNS \
                and p.text not in {"(", "[", '"', "'", "“", "~"}:
            if p.text in {"-", "–", "/", ":", "."} and g.lead > 1 and _attached(toks[g.lead - 2], p) \
                    and not _DIGITS_RE.match(toks[g.lead - 2].text):
                return True
            if p.text in {"/", ":"} or p.text[-1:].isalnum():
                return True
        if _lower(p) in _ID_MARKERS:
            return True
        if p.pos_ == "PROPN" and p.ent_type_ not in {"GPE", "NORP", "LOC"} and p.text[:1].isupper() \
                and p.text not in _CURRENCY_SIGNS:
            return True
    if g.last + 1 < n:
        nx = toks[g.last + 1]
        if _attached(last, nx) and nx.text in {"/", ":"}:
            return True
        if _attached(last, nx) and nx.text[:1].isalpha() and _lower(nx) not in _MEASURE_UNITS \
                and _lower(nx) not in _SCALE_ABBR:
            return True
        if _attached(last, nx) and _lower(nx) in _MEASURE_UNITS and not nx.text.islower() and nx.text not in _UPPER_UNITS:
            return True
        # sports events named by a distance: "the men's 60m", "60m hurdles", "100m champion"
        if _attached(last, nx) and _lower(nx) in {"m", "km"}:
            after = _lower(toks[g.last + 2]) if g.last + 2 < n else ""
            before = toks[g.lead - 1].text if g.lead > 0 else ""
            if after in _EVENT_AFTER or before in {"'s", "’s"}:
                return True
    # years: plain 4 digits 1800..2100
    if g.kind == "digit" and not g.has_scale and re.fullmatch(r"~?\d{4}", first.text):
        v = int(first.text.lstrip("~"))
        if 1800 <= v <= 2100:
            prev = _lower(toks[g.first - 1]) if g.first > 0 else ""
            nxt = _lower(toks[g.last + 1]) if g.last + 1 < n else ""
            head = first.head
            counted = (first.dep_ == "nummod" and head.tag_ == "NNS" and head.i > first.i)
            if not (prev in _CURRENCY_SIGNS or nxt in _PERCENT_WORDS or nxt == "per" or counted):
                return True
    return False


def _match_qualifier(toks, end: int) -> tuple[str, int]:
    """Longest qualifier phrase ending at local index end-1. Returns (qualifier, first index).

    An opening quote between qualifier and number is skipped: approximately "170 tanks.
    """
    if end > 1 and toks[end - 1].text in {'"', "“", "‘", "'"}:
        q, first = _match_qualifier(toks, end - 1)
        if q != "exact":
            return q, first
    for size in range(min(_MAX_QUAL_LEN, end), 0, -1):
        words = tuple(_lower(t) for t in toks[end - size:end])
        q = _QUALIFIER_PHRASES.get(words)
        if q:
            if words == ("about",) and toks[end - 1].dep_ == "prep" and toks[end - 1].head.pos_ in {"NOUN", "PROPN"}:
                continue  # "a drama about two teenage boys": a preposition, not an approximation
            return q, end - size
    return "exact", end


def _noun_lemma(tok) -> str:
    lem = (tok.lemma_ or tok.text).lower()
    if lem.endswith("és"):
        lem = lem[:-1]
    if _COMPOUND_MEN.search(lem):
        lem = lem[:-3] + "man"  # "servicemen" is left unlemmatized by the small model
    return _LEMMA_FIX.get(lem, lem)


def _assign_unit(toks, g: _Group) -> None:
    n = len(toks)
    # currency sign before (possibly "US$" split as "US", "$")
    if g.lead > 0 and _lower(toks[g.lead - 1]) in _CURRENCY_SIGNS:
        g.lead -= 1
        g.unit, g.fixed_unit = _CURRENCY_SIGNS[_lower(toks[g.lead])], True
        if g.lead > 0 and toks[g.lead].text == "$" and toks[g.lead - 1].text in {"US", "U.S."} \
                and _attached(toks[g.lead - 1], toks[g.lead]):
            g.lead -= 1
    k = g.last + 1
    if k < n:
        w = _lower(toks[k])
        if w in _PERCENT_WORDS:
            g.unit, g.fixed_unit, g.tail = "percent", True, k
            return
        if w == "per" and k + 1 < n and _lower(toks[k + 1]) == "cent":
            g.unit, g.fixed_unit, g.tail = "percent", True, k + 1
            return
        if not g.fixed_unit:
            if w in _CURRENCY_WORDS:
                g.unit, g.fixed_unit, g.tail = _CURRENCY_WORDS[w], True, k
                return
            if w in {"pound", "pounds"} and (toks[k].ent_type_ == "MONEY" or
                                             (k + 1 < n and _lower(toks[k + 1]) == "sterling")):
                g.unit, g.fixed_unit, g.tail = "gbp", True, k
                return
    if g.fixed_unit:
        return
    # attached "-unit" adjective: "155-mm", "10-member"
    if k + 1 < n and toks[k].text in {"-", "–"} and _attached(toks[g.last], toks[k]) \
            and _attached(toks[k], toks[k + 1]) and toks[k + 1].text.isalpha():
        g.unit, g.unit_tok = _noun_lemma(toks[k + 1]), k + 1
        return
    # dependency parse: outward token of the group with dep nummod -> noun head
    group_ids = {toks[x].i for x in range(g.first, g.last + 1)}
    outward = [toks[x] for x in range(g.first, g.last + 1) if toks[x].head.i not in group_ids]
    for t in reversed(outward):
        h = t.head
        if t.dep_ == "nummod" and h.pos_ in {"NOUN", "PROPN"} and h.i != t.i \
                and _lower(h) not in _SCALES and h.ent_type_ not in {"GPE", "PERSON", "ORG", "LOC"}:
            g.unit = _noun_lemma(h)
            local = h.i - toks[0].i
            if 0 <= local < n and local > g.last:
                g.unit_tok = local
            return
    # fallback: first noun to the right within a few tokens
    j = g.last + 1
    limit = min(n, g.last + 6)
    seen_of = False
    while j < limit:
        t = toks[j]
        w = _lower(t)
        if w == "of" and not seen_of:
            seen_of = True
            j += 1
            continue
        if t.pos_ in {"ADJ", "DET", "ADV"} or (seen_of and t.tag_ == "PRP$") \
                or (t.tag_ in {"VBN", "VBG"} and j + 1 < limit and toks[j + 1].pos_ == "NOUN"):
            if t.pos_ == "DET" and not seen_of:
                break
            j += 1
            continue
        if t.pos_ in {"NOUN", "PROPN"}:
            end = j
            while end + 1 < n and toks[end + 1].pos_ in {"NOUN", "PROPN"} and toks[end].dep_ == "compound":
                end += 1
            head = toks[end]
            if head.pos_ == "PROPN" and head.ent_type_ in {"GPE", "PERSON", "ORG", "LOC"}:
                return
            g.unit, g.unit_tok = _noun_lemma(head), end
            return
        break


def _area_unit(toks, g: _Group) -> None:
    """"1.5 million square feet" -> "square foot"."""
    if g.unit and not g.fixed_unit and g.unit_tok is not None and g.unit_tok > 0:
        prev = _lower(toks[g.unit_tok - 1])
        if prev in {"square", "cubic"}:
            g.unit = f"{prev} {g.unit}"


def _extend_to_unit(toks, g: _Group) -> int:
    """Index of the last token to include in text (the unit noun if close)."""
    end = g.tail
    u = g.unit_tok
    if u is None or u <= end or u - end > 5:
        return end
    for k in range(end + 1, u):
        t = toks[k]
        if t.pos_ in {"VERB", "AUX", "CCONJ", "SCONJ", "PRON"} or (t.pos_ == "PUNCT" and t.text not in {"-", "–"}):
            return end
    return u


# --------------------------------------------------------------------------- context rules

_CHANGE_VERBS = {"rise", "fall", "increase", "decrease", "grow", "drop", "climb", "jump", "cut", "raise", "lift",
                 "reduce", "slip", "soar", "plunge", "decline", "slide", "surge", "gain", "lose", "shrink", "sink",
                 "boost", "lower", "tumble", "rose", "fell"}


def _after_change_verb(toks, g: _Group) -> bool:
    """"rose 20% to £4.6bn", "fell from 5% to 4%": a change, not a range."""
    if g.lead > 0 and _lower(toks[g.lead - 1]) == "from":
        return False  # "grew from 9,000 to 10,000": both ends are kept as a range
    start = g.lead
    for k in range(start - 1, max(-1, start - 3), -1):
        t = toks[k]
        if (t.lemma_ or "").lower() in _CHANGE_VERBS or _lower(t) in _CHANGE_VERBS:
            return True
        if _lower(t) == "by" or t.pos_ not in {"ADV", "PART"}:
            break
    return False


def _drop_scores(toks, groups: list[_Group]) -> list[_Group]:
    """Sports scores "2-1", "4-6 7-6": two small integers joined by a hyphen with no
    counted noun (or a "lead"/"win"/... after them) are a result, not two quantities."""
    drop: set[int] = set()
    for a in range(len(groups) - 1):
        g, h = groups[a], groups[a + 1]
        conn = toks[g.tail + 1:h.lead]
        if len(conn) == 1 and conn[0].text in {"-", "–"} and _attached(toks[g.tail], conn[0]) \
                and _attached(conn[0], toks[h.lead]) and g.kind == h.kind == "digit" \
                and not (g.has_scale or h.has_scale or g.fixed_unit or h.fixed_unit) \
                and g.value < 200 and h.value < 200 and float(g.value).is_integer() and float(h.value).is_integer() \
                and (h.unit is None or h.unit in _SCORE_NOUNS):
            drop.update({a, a + 1})
    return [g for i, g in enumerate(groups) if i not in drop]


def _share_units(toks, groups: list[_Group]) -> None:
    """Units stated once for several numbers:
    "Eight out of 10 voters" and "two of the four producers" (the part takes the whole's
    unit); "1.2 million members and the TGWU has 800,000" (a bare number takes the unit
    of the closest counted number before it)."""
    for a, g in enumerate(groups):
        nxt = groups[a + 1] if a + 1 < len(groups) else None
        if g.unit is not None and not (nxt is not None and not g.fixed_unit and g.unit_tok is not None
                                       and nxt.lead > g.unit_tok and g.tail + 1 < len(toks)
                                       and _lower(toks[g.tail + 1]) == "of"):
            continue
        between = [_lower(t) for t in toks[g.tail + 1:nxt.lead]] if nxt is not None else []
        if nxt is not None and nxt.unit and (between == ["out", "of"] or (
                between[:1] == ["of"] and len(between) <= 5
                and all(t.pos_ not in {"VERB", "AUX", "PUNCT", "CCONJ"} or t.text in {"'s", "’s"}
                        for t in toks[g.tail + 2:nxt.lead]))):
            g.unit = nxt.unit
            continue
        follows_noun = g.last + 1 < len(toks) and toks[g.last + 1].pos_ in {"NOUN", "PROPN"}
        if follows_noun or g.kind != "digit" or g.fixed_unit:
            continue
        # a change target ("to almost 3.3 million") names its own measure elsewhere
        window = [_lower(t) for t in toks[max(0, g.lead - 5):g.lead]]
        if "to" in window and "compared" not in window:
            continue
        for prev in reversed(groups[:a]):
            if prev.unit and not prev.fixed_unit and prev.kind == "digit" and g.first - prev.last <= 20:
                g.unit = prev.unit
            break


# --------------------------------------------------------------------------- main

def extract_quantities(doc) -> list[Quantity]:
    """doc: a spaCy Doc (one sentence, parsed by the full pipeline: tagger, parser, ner, lemmatizer)."""
    toks = list(doc)
    if not toks:
        return []
    base = toks[0].idx
    text = doc.text
    groups = [g for g in _build_groups(toks) if not _looks_like_id_or_date(toks, g)]
    for g in groups:
        _assign_unit(toks, g)
        _area_unit(toks, g)
        if g.unit is None and g.last + 1 < len(toks) and _lower(toks[g.last + 1]) == "won" \
                and (g.has_scale or toks[g.last + 1].ent_type_ == "MONEY"):
            g.unit, g.fixed_unit, g.tail = "krw", True, g.last + 1   # "100 trillion won"
    groups = _drop_scores(toks, groups)
    _share_units(toks, groups)

    out: list[Quantity] = []

    def emit(value: float, unit, qualifier: str, first: int, last: int) -> None:
        s = toks[first].idx - base
        e = toks[last].idx + len(toks[last].text) - base
        out.append(Quantity(float(value), unit, qualifier, text[s:e], s, e))

    used: set[int] = set()
    for gi, g in enumerate(groups):
        if gi in used:
            continue
        # ---- ranges
        if gi + 1 < len(groups):
            h = groups[gi + 1]
            conn = toks[g.tail + 1: h.lead]
            conn_words = [_lower(t) for t in conn]
            opener = _lower(toks[g.lead - 1]) if g.lead > 0 else ""
            is_range = False
            if conn_words in (["-"], ["–"], ["—"]) and _attached(toks[g.tail], conn[0]) \
                    and _attached(conn[0], toks[h.lead]):
                is_range = True
            elif conn_words == ["and"] and opener == "between":
                is_range = True
            elif conn_words == ["to"] and opener != "up" and not _after_change_verb(toks, g):
                is_range = True
            if is_range and g.fixed_unit and h.fixed_unit and g.unit != h.unit:
                is_range = False   # "rose 20% to £4.6bn"
            # "between $60,000 (£30,800) and $150,000": a converted amount in brackets
            if not is_range and opener == "between" and gi + 2 < len(groups) and conn_words[:1] == ["("]:
                k = groups[gi + 2]
                mid = [_lower(t) for t in toks[h.tail + 1:k.lead]]
                if mid == [")", "and"] and k.value > g.value:
                    emit(g.value, g.unit, "at_least", g.lead - 1, g.tail)
                    emit(h.value, h.unit, "at_least", h.lead, h.tail)
                    emit(k.value, k.unit if k.fixed_unit else (g.unit if g.fixed_unit else k.unit), "at_most",
                         k.lead, _extend_to_unit(toks, k))
                    used.update({gi, gi + 1, gi + 2})
                    continue
            if is_range:
                lo_val, hi_val = g.value, h.value
                if not g.has_scale and h.has_scale and g.base_value < h.base_value:
                    lo_val = g.base_value * h.scale
                if hi_val > lo_val:
                    unit = h.unit or g.unit
                    lo_unit = g.unit if g.fixed_unit else unit
                    if h.fixed_unit and not g.fixed_unit:
                        lo_unit = h.unit
                    hi_unit = h.unit if h.fixed_unit else (g.unit if g.fixed_unit else unit)
                    lo_first = g.lead - 1 if opener in {"between", "from"} else g.lead
                    emit(lo_val, lo_unit, "at_least", lo_first, g.tail)
                    emit(hi_val, hi_unit, "at_most", h.lead, _extend_to_unit(toks, h))
                    used.update({gi, gi + 1})
                    continue
        # ---- single quantity
        if g.kind == "word" and g.value == 1 and g.first == g.last and g.lead == g.first:
            qual, _ = _match_qualifier(toks, g.lead)
            if qual == "exact" and (g.unit is None or g.unit not in _MEASURE_UNITS):
                continue   # "One Belarusian mother", "one of them"
        if g.kind == "digit" and toks[g.first].text.startswith("~"):
            qual, q_first = "approximate", g.lead
        else:
            qual, q_first = _match_qualifier(toks, g.lead)
        emit(g.value, g.unit, qual, q_first, _extend_to_unit(toks, g))

    out.sort(key=lambda q: (q.start, q.end))
    return out
