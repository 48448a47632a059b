"""Tests for pipeline.quantities.extract_quantities on real parses (one shared nlp fixture)."""
from __future__ import annotations

import pytest

from pipeline.quantities import QUALIFIERS, Quantity, extract_quantities


def _rows(nlp, sentence: str) -> list[tuple[float, str | None, str]]:
    doc = nlp(sentence)
    qs = extract_quantities(doc)
    for q in qs:
        assert isinstance(q, Quantity)
        assert q.qualifier in QUALIFIERS
        assert doc.text[q.start:q.end] == q.text
    assert [q.start for q in qs] == sorted(q.start for q in qs)
    return [(q.value, q.unit, q.qualifier) for q in qs]


CASES = [
    ("Russia is sending as many as 9,000 servicemen and hundreds of armored vehicles to Belarus.",
     [(9000.0, "serviceman", "at_most")]),
    ("Russia will send some 170 tanks, up to 200 armored combat vehicles and up to 100 artillery pieces "
     "and mortars to the southern border.",
     [(170.0, "tank", "approximate"), (200.0, "vehicle", "at_most"), (100.0, "piece", "at_most")]),
    ("Russia has stationed more than 10,000 soldiers in Belarus.", [(10000.0, "soldier", "more_than")]),
    ("Around 10,200 servicemen from the Russian Armed Forces have been deployed.",
     [(10200.0, "serviceman", "approximate")]),
    ("Prior to the recent withdrawal, the border service had recorded the presence of up to 2,000 Russian "
     "troops in Belarus.", [(2000.0, "troop", "at_most")]),
    ("Belarus announced in October that around 9,000 Russian troops would be stationed in the country.",
     [(9000.0, "troop", "approximate")]),
    ("In 2020, the Kremlin assisted Minsk.", []),
    ("Officials said between 9,000 and 10,000 troops arrived.",
     [(9000.0, "troop", "at_least"), (10000.0, "troop", "at_most")]),
    ("Officials said 9,000-10,000 troops arrived.",
     [(9000.0, "troop", "at_least"), (10000.0, "troop", "at_most")]),
    ("Numbers grew from 9,000 to 10,000 troops.",
     [(9000.0, "troop", "at_least"), (10000.0, "troop", "at_most")]),
    ("Minsk hosts nine thousand soldiers.", [(9000.0, "soldier", "exact")]),
    ("Minsk hosts 9k troops.", [(9000.0, "troop", "exact")]),
    ("They moved a dozen tanks to the border.", [(12.0, "tank", "exact")]),
    ("Inflation rose 7.5% last year.", [(7.5, "percent", "exact")]),
    ("The deal is worth $5.2 billion.", [(5.2e9, "usd", "exact")]),
    ("The convoy had fewer than 300 vehicles.", [(300.0, "vehicle", "less_than")]),
    ("They use guns with a caliber of more than 100 mm.", [(100.0, "mm", "more_than")]),
    ("Russia sent 1.5 million shells and 3 billion rubles.",
     [(1.5e6, "shell", "exact"), (3e9, "rub", "exact")]),
    ("Turnout was 20 percent, up from 15 per cent.", [(20.0, "percent", "exact"), (15.0, "percent", "exact")]),
    ("Britain pledged £3bn and Germany €2 million, about 5 million dollars.",
     [(3e9, "gbp", "exact"), (2e6, "eur", "exact"), (5e6, "usd", "approximate")]),
    ("They fired twenty-five missiles and one hundred and fifty shells.",
     [(25.0, "missile", "exact"), (150.0, "shell", "exact")]),
    ("Almost 300 soldiers and nearly 50 tanks crossed the border.",
     [(300.0, "soldier", "less_than"), (50.0, "tank", "approximate")]),
    ("About 2000 soldiers remain, Lukashenko said in 2021.", [(2000.0, "soldier", "approximate")]),
    ("~200 troops were seen near the border.", [(200.0, "troop", "approximate")]),
    ("Between $5 and $10 million was pledged.", [(5e6, "usd", "at_least"), (1e7, "usd", "at_most")]),
    ("Prices rose 5-10% in the region.", [(5.0, "percent", "at_least"), (10.0, "percent", "at_most")]),
    ("Half a million people fled the region.", [(5e5, "person", "exact")]),
    ("The two countries signed 3 agreements in 2019.", [(2.0, "country", "exact"), (3.0, "agreement", "exact")]),
]


@pytest.mark.parametrize("sentence,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_extract(nlp, sentence, expected):
    assert _rows(nlp, sentence) == expected


def test_people_lemma(nlp):
    rows = _rows(nlp, "The total number will be a little less than 9,000 people.")
    assert len(rows) == 1
    value, unit, qual = rows[0]
    assert (value, qual) == (9000.0, "less_than")
    assert unit in {"person", "people"}
    rows = _rows(nlp, "At least 40 people died in the attack.")
    assert [(v, q) for v, _, q in rows] == [(40.0, "at_least")]
    assert rows[0][1] in {"person", "people"}


def test_date_in_parentheses_ignored(nlp):
    rows = _rows(nlp, "The Belarusian Defense Ministry reported Monday (10/17/2022) that 19 foreign military "
                      "attachés were informed.")
    assert len(rows) == 1
    value, unit, qual = rows[0]
    assert (value, qual) == (19.0, "exact")
    assert unit in {"attaché", "attache"}


@pytest.mark.parametrize("sentence", [
    "One Belarusian mother said her son was drafted.",
    "The G7 leaders met; a photo by GettyImages-849960792 shows Su-30 jets.",
    "He was the first to arrive on the 19th.",
    "The Leopard 2 tanks and F-16 jets arrived with Covid-19 cases.",
    "One of them said the talks would resume.",
    "Several thousand protesters gathered while hundreds of troops watched.",
])
def test_no_quantities(nlp, sentence):
    assert _rows(nlp, sentence) == []


def test_text_spans_include_qualifier_and_unit(nlp):
    doc = nlp("Russia will send some 170 tanks, up to 200 armored combat vehicles and up to 100 artillery pieces.")
    texts = [q.text for q in extract_quantities(doc)]
    assert texts == ["some 170 tanks", "up to 200 armored combat vehicles", "up to 100 artillery pieces"]
    doc = nlp("Officials said between 9,000 and 10,000 troops arrived.")
    texts = [q.text for q in extract_quantities(doc)]
    assert texts == ["between 9,000", "10,000 troops"]
    doc = nlp("The deal is worth $5.2 billion.")
    assert [q.text for q in extract_quantities(doc)] == ["$5.2 billion"]


def test_offsets_relative_to_span(nlp):
    doc = nlp("Minsk is calm. Russia has stationed more than 10,000 soldiers in Belarus.")
    span = doc[4:]  # second sentence
    qs = extract_quantities(span)
    assert len(qs) == 1
    assert span.text[qs[0].start:qs[0].end] == qs[0].text == "more than 10,000 soldiers"


def test_one_with_qualifier_kept(nlp):
    assert _rows(nlp, "At least one soldier died.") == [(1.0, "soldier", "at_least")]


def test_empty_doc(nlp):
    assert extract_quantities(nlp("")) == []


def test_quantity_is_frozen():
    q = Quantity(1.0, None, "exact", "1", 0, 1)
    with pytest.raises(Exception):
        q.value = 2.0  # type: ignore[misc]


def test_qualifier_across_opening_quote(nlp):
    rows = _rows(nlp, 'Russia will send Belarus approximately "170 tanks", officials said.')
    assert rows == [(170.0, "tank", "approximate")]


# ------------------------------------------------- context rules (issue 4, eval/quantities_eval.py)
MORE_CASES = [
    ("Chelsea face Barcelona having lost 2-1 in the first leg.", []),  # a score
    ("Ireland led 18-12 as the game entered the final quarter.", []),
    ("Profits for the year rose 20% to £4.6bn ($8.6bn).",
     [(20.0, "percent", "exact"), (4.6e9, "gbp", "exact"), (8.6e9, "usd", "exact")]),  # a change, not a range
    ("Mr Ebbers could face a jail sentence of up to 85 years if convicted.", [(85.0, "year", "at_most")]),
    ("Talks have ended without agreement after 90 minutes.", [(90.0, "minute", "exact")]),
    ("Idowu made his breakthrough five years ago.", []),  # a time reference, not a measure
    ("The deal should go through in the next two to three months.", []),
    ("It made a loss of 27.2m euros in the first half.", [(27.2e6, "eur", "exact")]),
    ("Eight out of 10 voters do not trust politicians.", [(8.0, "voter", "exact"), (10.0, "voter", "exact")]),
    ("Amicus has 1.2 million members and the TGWU has 800,000.",
     [(1.2e6, "member", "exact"), (8e5, "member", "exact")]),
    ("The show runs over more than 1.5 million square feet.", [(1.5e6, "square foot", "more_than")]),
    ("England have won nine of the last 10 Six Nations titles.", [(9.0, "title", "exact"), (10.0, "title", "exact")]),
    ("A used Cooper S is likely to be priced from £12,556.", [(12556.0, "gbp", "at_least")]),
    ("Their children were paid between $60,000 (£30,800) and $150,000 a year.",
     [(6e4, "usd", "at_least"), (30800.0, "gbp", "at_least"), (1.5e5, "usd", "at_most")]),
    ("It is a drama about two teenage boys.", [(2.0, "boy", "exact")]),  # "about" as a preposition
    ("The firm employs 10,200 servicemen.", [(10200.0, "serviceman", "exact")]),
    ("Maurice Greene could only finish second in the men's 60m.", []),  # an event name
]


@pytest.mark.parametrize("sentence,expected", MORE_CASES, ids=[c[0][:40] for c in MORE_CASES])
def test_extract_context_rules(nlp, sentence, expected):
    assert _rows(nlp, sentence) == expected


def test_two_big_scales_never_multiply(nlp):
    """A real BBC typo ("up to $4.5bn trillion") gave 4.5e21, which the claim_quantities suite
    rejected and with it the whole article."""
    from pipeline.quantities import extract_quantities

    (q, *_rest) = extract_quantities(nlp("It could require borrowing of up to $4.5bn trillion over twenty years."))
    assert (q.text, q.value, q.qualifier, q.unit) == ("up to $4.5bn", 4.5e9, "at_most", "usd")
    (h,) = extract_quantities(nlp("Two hundred thousand people came."))
    assert h.value == 200_000
