"""pipeline.conflicts: qualifier intervals, unit folding and cross-document conflicts."""
from __future__ import annotations

import pytest

from pipeline.conflicts import (
    Context, clause_bounds, comparable, compatible, find_conflicts, generic_entities, interval, normalize_unit,
    quantity_context, same_subject, written_tolerance,
)


# ------------------------------------------------------------------- compatible
def test_up_to_vs_a_little_less_than_agree():
    # "up to 9,000" -> at_most; "a little less than 9,000" -> less_than
    assert compatible(9000, "at_most", 9000, "less_than")
    assert compatible(9000, "less_than", 9000, "at_most")


def test_exact_vs_up_to_conflict():
    assert not compatible(10200, "exact", 9000, "at_most")
    assert not compatible(9000, "at_most", 10200, "exact")


def test_more_than_vs_around_agree():
    assert compatible(10000, "more_than", 10200, "approximate")
    assert compatible(10200, "approximate", 10000, "more_than")


def test_exact_rounding_tolerance():
    assert compatible(9000, "exact", 9030, "exact")  # within 0.5 %
    assert not compatible(9000, "exact", 9200, "exact")


def test_approximate_tolerance():
    assert compatible(9000, "approximate", 9800, "approximate")
    assert not compatible(9000, "approximate", 12000, "approximate")


def test_open_and_closed_bounds():
    assert compatible(9000, "at_most", 9000, "at_least")  # both include 9,000
    assert not compatible(9000, "less_than", 9000, "at_least")
    assert not compatible(9000, "at_most", 9000, "more_than")
    assert not compatible(9000, "less_than", 9000, "more_than")
    assert compatible(5000, "more_than", 9000, "at_most")
    assert not compatible(10000, "more_than", 9000, "at_most")


def test_interval_shapes():
    assert interval(9000, "at_most") == (float("-inf"), 9000, False, False)
    assert interval(9000, "less_than")[3] is True
    assert interval(10000, "more_than")[:3] == (10000, float("inf"), True)
    lo, hi, _, _ = interval(9000, "approximate")
    assert (lo, hi) == pytest.approx((8100, 9900))


@pytest.mark.parametrize("qualifier", ["exact", "approximate"])
def test_same_value_is_compatible_with_itself(qualifier):
    assert compatible(9000, qualifier, 9000, qualifier)
    assert compatible(0, qualifier, 0, qualifier)


@pytest.mark.parametrize("qualifier", ["exact", "approximate"])
def test_negative_value_is_compatible_with_itself(qualifier):
    assert compatible(-5, qualifier, -5, qualifier)


# ------------------------------------------------------------------ units
@pytest.mark.parametrize(
    "unit, expected",
    [("soldier", "troop"), ("soldiers", "troop"), ("serviceman", "troop"), ("servicemen", "troop"),
     ("troops", "troop"), ("personnel", "troop"), ("troop", "troop"), (" Soldier ", "troop"),
     ("people", "person"), ("%", "percent"), ("per cent", "percent"), ("dollar", "usd"),
     ("tank", "tank"), (None, ""), ("", "")],
)
def test_normalize_unit(unit, expected):
    assert normalize_unit(unit) == expected


# ------------------------------------------------------------------ find_conflicts
def _q(claim, doc, value, qualifier, unit, text=None):
    return {"claim_id": claim, "doc_id": doc, "value": value, "qualifier": qualifier, "unit": unit,
            "text": text or f"{qualifier} {value} {unit}"}


def _e(claim, canonical):
    return {"claim_id": claim, "canonical": canonical}


def test_conflict_found_across_documents_with_shared_entity():
    quantities = [
        _q("c1", "docA", 10200, "exact", "serviceman", "10,200 servicemen"),
        _q("c2", "docB", 9000, "at_most", "troop", "up to 9,000 troops"),
    ]
    entities = [_e("c1", "Belarus"), _e("c1", "Russia"), _e("c2", "Belarus"), _e("c2", "Ukraine")]
    (conflict,) = find_conflicts(quantities, entities)
    assert (conflict.claim_id_a, conflict.claim_id_b) == ("c1", "c2")
    assert (conflict.doc_id_a, conflict.doc_id_b) == ("docA", "docB")
    assert conflict.unit == "troop"
    assert (conflict.value_a, conflict.value_b) == (10200.0, 9000.0)
    assert (conflict.qualifier_a, conflict.qualifier_b) == ("exact", "at_most")
    assert (conflict.text_a, conflict.text_b) == ("10,200 servicemen", "up to 9,000 troops")
    assert conflict.shared_entities == "Belarus"


def test_compatible_quantities_are_not_conflicts():
    quantities = [
        _q("c1", "docA", 9000, "at_most", "troop"),
        _q("c2", "docB", 9000, "less_than", "soldier"),
        _q("c3", "docC", 10000, "more_than", "troop"),
        _q("c4", "docD", 10200, "approximate", "serviceman"),
    ]
    entities = [_e("c1", "Belarus"), _e("c2", "Belarus")] + [_e("c3", "Russia"), _e("c4", "Russia")]
    assert find_conflicts(quantities, entities) == []


def test_no_shared_entity_no_conflict():
    quantities = [_q("c1", "docA", 10200, "exact", "troop"), _q("c2", "docB", 9000, "at_most", "troop")]
    assert find_conflicts(quantities, [_e("c1", "Belarus"), _e("c2", "Ukraine")]) == []
    assert find_conflicts(quantities, []) == []


def test_same_document_no_conflict():
    quantities = [_q("c1", "docA", 10200, "exact", "troop"), _q("c2", "docA", 9000, "at_most", "troop")]
    assert find_conflicts(quantities, [_e("c1", "Belarus"), _e("c2", "Belarus")]) == []


def test_different_units_no_conflict():
    quantities = [_q("c1", "docA", 10200, "exact", "troop"), _q("c2", "docB", 9000, "at_most", "tank")]
    assert find_conflicts(quantities, [_e("c1", "Belarus"), _e("c2", "Belarus")]) == []


def test_unitless_quantities_are_ignored():
    quantities = [_q("c1", "docA", 10200, "exact", None), _q("c2", "docB", 9000, "at_most", None)]
    assert find_conflicts(quantities, [_e("c1", "Belarus"), _e("c2", "Belarus")]) == []


def test_conflicts_sorted_and_deterministic():
    quantities = [
        _q("c3", "docC", 9000, "at_most", "troop"),
        _q("c1", "docA", 10200, "exact", "troop"),
        _q("c2", "docB", 30, "exact", "tank"),
        _q("c4", "docD", 50, "exact", "tank"),
    ]
    entities = [_e(c, "Belarus") for c in ("c1", "c2", "c3", "c4")]
    found = find_conflicts(quantities, entities)
    assert [(c.unit, c.claim_id_a, c.claim_id_b) for c in found] == [("tank", "c2", "c4"), ("troop", "c1", "c3")]
    assert find_conflicts(list(reversed(quantities)), list(reversed(entities))) == found


def test_a_statement_repeated_across_documents_is_one_row_with_counts():
    # a wire story reprinted three times (docA, docA2, docA3) against one other report
    quantities = [
        _q("c1", "docA", 10200, "exact", "troop"), _q("c3", "docA2", 10200, "exact", "troop"),
        _q("c4", "docA3", 10200, "exact", "troop"), _q("c2", "docB", 9000, "at_most", "troop"),
        _q("c5", "docB", 9000, "at_most", "troop"),  # said twice in docB
    ]
    entities = [_e(c, "Belarus") for c in ("c1", "c2", "c3", "c4", "c5")]
    (conflict,) = find_conflicts(quantities, entities)
    assert (conflict.claim_id_a, conflict.claim_id_b) == ("c1", "c2")  # first pair by document, claim
    assert conflict.n_claim_pairs == 3 * 2
    assert conflict.n_documents == 4


def test_statements_only_within_one_document_are_no_conflict():
    quantities = [_q("c1", "docA", 10200, "exact", "troop"), _q("c2", "docA", 9000, "at_most", "troop")]
    assert find_conflicts(quantities, [_e("c1", "Belarus"), _e("c2", "Belarus")]) == []


def test_same_doc_pairs_are_not_counted():
    quantities = [_q("c1", "docA", 10200, "exact", "troop"), _q("c2", "docA", 9000, "at_most", "troop"),
                  _q("c3", "docB", 9000, "at_most", "troop")]
    (conflict,) = find_conflicts(quantities, [_e(c, "Belarus") for c in ("c1", "c2", "c3")])
    assert (conflict.claim_id_a, conflict.claim_id_b, conflict.n_claim_pairs) == ("c1", "c3", 1)


def test_the_number_of_rows_does_not_grow_with_copies():
    base = [("c1", "docA", 10200, "exact"), ("c2", "docB", 9000, "at_most"), ("c3", "docC", 6000, "approximate")]

    def copies(k):
        qs = [_q(f"{c}~{j}", f"{d}~{j}", v, qual, "troop") for j in range(k) for c, d, v, qual in base]
        return qs, [_e(q["claim_id"], "Belarus") for q in qs]

    one, ten = find_conflicts(*copies(1)), find_conflicts(*copies(10))
    assert len(one) == len(ten) == 2  # 10,200 vs up to 9,000 and vs about 6,000; 9,000 and 6,000 agree
    assert [c.n_claim_pairs for c in one] == [1, 1]
    assert [c.n_claim_pairs for c in ten] == [100, 100]
    assert [c.n_documents for c in ten] == [20, 20]


# ------------------------------------------------------------------ the same measured thing
def _claim_rows(doc: str, claim: str, text: str, quantity: str, value: float, qualifier: str, unit: str,
                entities: list[str]):
    """(quantity row, entity rows, claim row) of one claim, with offsets into `text`."""
    start = text.index(quantity)
    q = {"claim_id": claim, "doc_id": doc, "value": value, "qualifier": qualifier, "unit": unit, "text": quantity,
         "char_start": start, "char_end": start + len(quantity)}
    ents = [{"claim_id": claim, "doc_id": doc, "canonical": e, "char_start": text.index(e),
             "char_end": text.index(e) + len(e)} for e in entities]
    return q, ents, {"claim_id": claim, "text": text, "char_start": 0}


def _rows(claims):
    """Quantity, entity and claim rows of several claims."""
    qs, es, cs = [], [], []
    for c in claims:
        q, e, row = _claim_rows(*c)
        qs.append(q)
        es.extend(e)
        cs.append(row)
    return qs, es, cs


def _run(*claims):
    return find_conflicts(*_rows(claims))


def test_seed_like_troop_reports_conflict_with_text():
    found = _run(
        ("docA", "c1", "Russia has stationed more than 10,000 soldiers in Belarus, the border service said.",
         "more than 10,000 soldiers", 10000, "more_than", "soldier", ["Russia", "Belarus"]),
        ("docB", "c2", "Russia is sending as many as 9,000 servicemen to Belarus, the ministry said Monday.",
         "as many as 9,000 servicemen", 9000, "at_most", "serviceman", ["Russia", "Belarus"]),
    )
    assert [(c.value_a, c.value_b, c.shared_entities) for c in found] == [(10000.0, 9000.0, "Belarus; Russia")]


def test_same_entity_but_different_measured_thing_is_no_conflict():
    # Yukos: a damages claim and a tax bill are both "usd" and both name Yukos
    assert _run(
        ("docA", "c1", "Yukos has said it will seek $20bn in damages from the buyer.", "$20bn", 20e9, "exact", "usd",
         ["Yukos"]),
        ("docB", "c2", "Yukos faces a $27.5bn tax bill from the Russian authorities.", "$27.5bn", 27.5e9, "exact",
         "usd", ["Yukos"]),
    ) == []


def test_entity_outside_the_numbers_clause_does_not_make_the_subject():
    # "UK" is in both sentences, but not in the clause of either number
    assert _run(
        ("docA", "c1", "Sales of flat screens grew, and 1.3% of sets sold were HD-ready, a UK survey said.",
         "1.3%", 1.3, "exact", "percent", ["UK"]),
        ("docB", "c2", "In the UK, flat screens are popular; just 5% of sets sold were HD-ready.",
         "5%", 5.0, "exact", "percent", ["UK"]),
    ) == []


def test_different_years_are_no_conflict():
    base = "Tesco said its UK sales grew by {} in {}."
    assert _run(
        ("docA", "c1", base.format("4%", "2004"), "4%", 4.0, "exact", "percent", ["Tesco"]),
        ("docB", "c2", base.format("7%", "2005"), "7%", 7.0, "exact", "percent", ["Tesco"]),
    ) == []
    assert len(_run(
        ("docA", "c1", base.format("4%", "2004"), "4%", 4.0, "exact", "percent", ["Tesco"]),
        ("docB", "c2", base.format("7%", "2004"), "7%", 7.0, "exact", "percent", ["Tesco"]),
    )) == 1


def test_change_and_level_are_different_things():
    # "rose $1.64 to $47.10": 1.64 is a change, 47.10 a level (and oil prices are market quotes anyway)
    ctx = quantity_context("Brent crude rose $1.64 to $47.10 a barrel.", 17, 22, "usd", [(0, 5, "Brent")], "$1.64",
                           [(26, 32)])
    assert ctx.role == "change"
    assert ctx.market
    level = quantity_context("Brent crude rose $1.64 to $47.10 a barrel.", 26, 32, "usd", [(0, 5, "Brent")],
                             "$47.10", [(17, 22)])
    assert level.role == "level"
    a = Context(frozenset({"acme"}), frozenset({"profit"}), frozenset({"profit"}), frozenset(), "change", False)
    b = Context(frozenset({"acme"}), frozenset({"profit"}), frozenset({"profit"}), frozenset(), "level", False)
    assert not same_subject(a, b, frozenset(), "percent")
    assert same_subject(a, a, frozenset(), "percent")


def test_generic_entity_needs_shared_words():
    a = Context(frozenset({"uk"}), frozenset({"retail", "division"}), frozenset({"retail", "division"}), frozenset(),
                "level", False)
    b = Context(frozenset({"uk"}), frozenset({"box", "office"}), frozenset({"box", "office"}), frozenset(), "level",
                False)
    c = Context(frozenset({"uk"}), frozenset({"retail", "division", "profit"}), frozenset({"retail", "division"}),
                frozenset(), "level", False)
    assert not same_subject(a, b, frozenset({"uk"}), "gbp")
    assert same_subject(a, c, frozenset({"uk"}), "gbp")
    assert same_subject(a, c, frozenset(), "gbp")


def test_generic_entities_by_document_share():
    rows = [{"claim_id": f"c{i}", "doc_id": f"d{i}", "canonical": "UK"} for i in range(100)]
    rows += [{"claim_id": "c0", "doc_id": "d0", "canonical": "Yukos"}]
    assert generic_entities(rows) == frozenset({"uk"})
    assert generic_entities(rows[:10]) == frozenset()  # a small corpus has no generic entity


def test_numbers_far_apart_measure_different_things():
    assert comparable(10200, 9000) and comparable(9000, 10200)
    assert not comparable(10200, 2000)
    assert not comparable(5, -5)


def test_written_precision_of_rounded_figures():
    assert written_tolerance("£1.3bn", 1.3e9) == pytest.approx(0.05 / 1.3)
    assert written_tolerance("30%", 30.0) == pytest.approx(0.5 / 30)
    assert written_tolerance("3%", 3.0) == pytest.approx(0.10)  # never wider than MAX_WRITTEN_TOLERANCE
    assert written_tolerance("9,000 troops", 9000) is None  # plain integers keep EXACT_TOLERANCE
    assert compatible(1.3e9, "exact", 1.35e9, "exact", written_tolerance("£1.3bn", 1.3e9),
                      written_tolerance("£1.35bn", 1.35e9))
    assert not compatible(9000, "exact", 9200, "exact")


def test_one_sentence_reprinted_is_not_in_conflict_with_itself():
    text = "Unison's 800,000 workers, the TGWU's 70,000 and Amicus' 20,000 are being balloted."
    assert _run(
        ("docA", "c1", text, "70,000", 70000, "exact", "worker", ["TGWU", "Amicus"]),
        ("docB", "c2", text, "20,000", 20000, "exact", "worker", ["TGWU", "Amicus"]),
    ) == []


def test_clause_bounds():
    text = "US light crude rose $1.64 to $47.10, while Brent crude in London gained $1.32 to $44.45."
    lo, hi = clause_bounds(text, text.index("$44.45"), text.index("$44.45") + 6)
    assert text[lo:hi].startswith("while Brent crude")
    lo, hi = clause_bounds(text, text.index("$1.64"), text.index("$1.64") + 5)
    assert text[lo:hi] == "US light crude rose $1.64 to $47.10"


# ------------------------------------------------------------------ what else makes two figures different things
def _pair(a: tuple, b: tuple, unit: str) -> list:
    """Conflicts between two claims: each (text, quantity text, value, entities), exact qualifiers."""
    (ta, qa, va, ea), (tb, qb, vb, eb) = a, b
    return _run(("docA", "c1", ta, qa, va, "exact", unit, ea), ("docB", "c2", tb, qb, vb, "exact", unit, eb))


def test_a_forecast_or_an_offer_is_not_a_reported_fact():
    fact = ("Tesco said its UK sales grew by 4% in 2004.", "4%", 4.0, ["Tesco"])
    other = ("Tesco said its UK sales grew by 7% in 2004.", "7%", 7.0, ["Tesco"])
    assert len(_pair(fact, other, "percent")) == 1  # control: two facts disagree
    for text in ("Tesco said its UK sales could grow by 7% in 2004.",
                 "Analysts expected Tesco's UK sales to grow by 7% in 2004.",
                 "If prices hold, Tesco said its UK sales grew by 7% in 2004."):
        assert _pair(fact, (text, "7%", 7.0, ["Tesco"]), "percent") == [], text
    assert quantity_context("GM offered to buy a 20% stake.", 20, 23, "percent", []).irrealis
    assert not quantity_context("Sales grew 4% in May.", 11, 13, "percent", []).irrealis  # the month
    assert quantity_context("Sales may grow 4% this year.", 15, 17, "percent", []).irrealis
    assert not quantity_context("May sales grew 4%.", 15, 17, "percent", []).irrealis


def test_an_earlier_level_and_a_part_are_not_the_level():
    now = ("The average UK house price now stands at £152,879.", "£152,879", 152879.0, ["UK"])
    level = ("The average UK house price fell to £180,126 in the survey.", "£180,126", 180126.0, ["UK"])
    start = ("The average UK house price fell from £180,126 to £178,906.", "£180,126", 180126.0, ["UK"])
    assert len(_pair(now, level, "gbp")) == 1  # control
    assert _pair(now, start, "gbp") == []
    five = ("Five British detainees freed from Guantanamo were released by police.", "Five", 5.0, ["Guantanamo"])
    three = ("The three other British detainees freed from Guantanamo were released by police.", "three", 3.0,
             ["Guantanamo"])
    assert quantity_context(three[0], 4, 9, "detainee", []).role == "part"
    assert _pair(five, three, "detainee") == []


def test_the_noun_the_number_counts_must_agree():
    tally = ("Ray had a combined US tally of $80m from DVD sales.", "$80m", 80e6, ["Ray"])
    takings = ("Ray's US box office takings of $56m from DVD sales.", "$56m", 56e6, ["Ray"])
    same = ("Ray had a combined US tally of $56m from DVD sales.", "$56m", 56e6, ["Ray"])
    assert len(_pair(tally, same, "usd")) == 1  # control
    assert _pair(tally, takings, "usd") == []
    homes = ("Ofcom said 53% of UK households have access to the net.", "53%", 53.0, ["Ofcom", "UK"])
    phones = ("Ofcom said 75% of UK mobiles have access to the net.", "75%", 75.0, ["Ofcom", "UK"])
    also_homes = ("Ofcom said 75% of all UK households have access to the net.", "75%", 75.0, ["Ofcom", "UK"])
    assert len(_pair(homes, also_homes, "percent")) == 1  # control
    assert quantity_context(homes[0], 11, 14, "percent", [(18, 20, "UK")]).heads[0] == "household"
    assert _pair(homes, phones, "percent") == []
    stake = quantity_context("It sold a 20% stake in Fiat.", 10, 13, "percent", [(23, 27, "Fiat")])
    assert stake.heads == ("", "", "stake")


def test_different_agents_and_different_publishers_measure_different_things():
    tribunal = ("Christos Tzekos was banned for four years by the tribunal.", "four years", 4.0, ["Christos Tzekos"])
    iaaf = ("Christos Tzekos was banned for two years by the IAAF.", "two years", 2.0, ["Christos Tzekos"])
    again = ("Christos Tzekos was banned for two years by the tribunal.", "two years", 2.0, ["Christos Tzekos"])
    assert len(_pair(tribunal, again, "year")) == 1  # control
    assert _pair(tribunal, iaaf, "year") == []
    halifax = ("UK house prices rose by 1.1% in December, Halifax said.", "1.1%", 1.1, ["UK", "Halifax"])
    odpm = ("UK house prices rose by 0.7% in December, according to figures from the ODPM.", "0.7%", 0.7,
            ["UK", "ODPM"])
    unsourced = ("UK house prices rose by 0.7% in December.", "0.7%", 0.7, ["UK"])
    assert len(_pair(halifax, unsourced, "percent")) == 1  # control: one side names no publisher
    assert _pair(halifax, odpm, "percent") == []
    both = "Halifax said house prices rose by 0.8% in January and Nationwide reported a rise of 0.4%."
    ctx = quantity_context(both, both.index("0.8%"), both.index("0.8%") + 4, "percent",
                           [(0, 7, "Halifax"), (both.index("Nationwide"), both.index("Nationwide") + 10, "Nationwide")])
    assert ctx.sources == frozenset({"halif"})  # the nearest publisher before the number


def test_a_sum_a_part_of_the_reach_and_unreadable_sentences():
    one = ("Barkley missed three penalties against France.", "three penalties", 3.0, ["Barkley", "France"])
    two = ("Hodgson and Barkley missed six penalties against France.", "six penalties", 6.0,
           ["Hodgson", "Barkley", "France"])
    them = ("Barkley missed six penalties between them against France.", "six penalties", 6.0, ["Barkley", "France"])
    alone = ("Barkley missed six penalties against France.", "six penalties", 6.0, ["Barkley", "France"])
    assert len(_pair(one, alone, "penalty")) == 1  # control
    assert _pair(one, two, "penalty") == []
    assert _pair(one, them, "penalty") == []
    world = ("The Incredibles took $259m at the box office.", "$259m", 259e6, ["Incredibles"])
    abroad = ("The Incredibles took $300m (£160m) outside the US at the box office.", "$300m", 300e6,
              ["Incredibles"])
    assert _pair(world, abroad, "usd") == []
    cml = ("The CML said lending and gross lending were 29% and 18% lower respectively.", "18%", 18.0, ["CML"])
    fell = ("The CML said lending and gross lending fell 25% lower.", "25%", 25.0, ["CML"])
    assert _pair(cml, fell, "percent") == []


def test_clauses_naming_different_subjects_are_different_things():
    france = ("France coach Bernard Laporte has made four changes for the clash with Wales.", "four changes", 4.0,
              ["France", "Bernard Laporte", "Wales"])
    wales = ("Wales coach Mike Ruddock has made two changes for the trip to France.", "two changes", 2.0,
             ["Wales", "Mike Ruddock", "France"])
    assert _pair(france, wales, "change") == []
    # a name that shares a word with the other side's is no subject of its own
    forces = ("Around 10,200 servicemen from the Russian Armed Forces have been deployed in Belarus.",
              "10,200 servicemen", 10200.0, ["Russian Armed Forces", "Belarus"])
    putin = ("Russia is sending as many as 9,000 servicemen to Belarus.", "9,000 servicemen", 9000.0,
             ["Russia", "Belarus"])
    assert len(_run(("docA", "c1", *forces[:3], "approximate", "serviceman", forces[3]),
                    ("docB", "c2", *putin[:3], "at_most", "serviceman", putin[3]))) == 1


def test_a_conversion_in_brackets_and_an_attempt_are_no_reports_of_their_own():
    a = ("The court rejected the Justice Department's $280bn (£155bn) claim against tobacco firms.", "£155bn", 155e9,
         ["Justice Department"])
    b = ("The court rejected the Justice Department's $280bn (£149bn) claim in its ruling.", "£149bn", 149e9,
         ["Justice Department"])
    text = a[0]
    assert quantity_context(text, text.index("£155bn"), text.index("£155bn") + 6, "gbp", []).restated
    assert not quantity_context(text, text.index("$280bn"), text.index("$280bn") + 6, "usd", []).restated
    assert _pair(a, b, "gbp") == []
    tried = ("The Olympic champion attempted a height of 5.05m at the meeting.", "5.05m", 5.05, ["Olympic"])
    cleared = ("The Olympic champion cleared a height of 4.88m at the meeting.", "4.88m", 4.88, ["Olympic"])
    same = ("The Olympic champion cleared a height of 5.05m at the meeting.", "5.05m", 5.05, ["Olympic"])
    assert len(_pair(cleared, same, "m")) == 1  # control
    assert _pair(tried, cleared, "m") == []
    # "other" inside the quantity's own span makes it a part, too
    assert quantity_context("Five other episodes were dropped.", 0, 19, "episode", []).role == "part"


def test_undated_figures_in_reports_on_different_months_are_no_conflict():
    def report(doc, lead, figure_text, quantity, value):
        q, ents, row = _claim_rows(doc, doc + "-fig", figure_text, quantity, value, "exact", "gbp", ["UK"])
        for r in ents:
            r["label"] = "GPE"
        lead_row = {"claim_id": doc + "-lead", "text": lead, "char_start": 0, "doc_id": doc}
        row = {**row, "char_start": 500, "doc_id": doc}
        q["char_start"] += 500
        q["char_end"] += 500
        for r in ents:
            r["char_start"] += 500
            r["char_end"] += 500
        return q, ents, [lead_row, row]

    def run(lead_a, lead_b):
        qa, ea, ca = report("docA", lead_a, "The average UK house price now stands at £162,086.", "£162,086", 162086.0)
        qb, eb, cb = report("docB", lead_b, "The average UK house price now stands at £152,879.", "£152,879", 152879.0)
        return find_conflicts([qa, qb], ea + eb, ca + cb)

    assert run("UK house prices rose by 1.1% in December.", "UK house prices rose 0.5% in February.") == []
    assert len(run("UK house prices rose by 1.1% in December.", "UK house prices rose 0.5% in December.")) == 1
    assert len(run("UK house prices rose by 1.1%.", "UK house prices rose 0.5% in February.")) == 1  # one undated


def test_a_subject_only_one_side_names_before_its_number_is_no_difference():
    # seed-like: "10,200 servicemen of Russia's Armed Forces" (no subject before the number) vs "Putin is sending"
    found = _run(
        ("docA", "c1", "10,200 servicemen of Russia's Armed Forces have been deployed in Belarus",
         "10,200 servicemen", 10200, "exact", "serviceman", ["Armed Forces", "Belarus"]),
        ("docB", "c2", "Russian President Vladimir Putin is sending as many as 9,000 servicemen to Belarus.",
         "as many as 9,000 servicemen", 9000, "at_most", "serviceman", ["Vladimir Putin", "Belarus"]),
    )
    assert len(found) == 1


def test_a_figure_restricted_to_a_place_the_other_never_names():
    national = ("UKIP won 16.1% of the vote at the European elections.", "16.1%", 16.1, ["UKIP"])
    local = ("UKIP won 31% of the vote in Erewash at the European elections.", "31%", 31.0, ["UKIP", "Erewash"])
    other = ("UKIP won 31% of the vote at the European elections.", "31%", 31.0, ["UKIP"])
    assert len(_pair(national, other, "percent")) == 1  # control
    at = local[0].index("Erewash")
    assert quantity_context(local[0], 9, 12, "percent", [(0, 4, "UKIP"), (at, at + 7, "Erewash")]).place == "erewa"
    assert _pair(national, local, "percent") == []
    # the place named elsewhere in the other sentence: the same reach
    seed = ("Russia has stationed more than 10,000 soldiers in Belarus.", "more than 10,000 soldiers", 10000.0,
            ["Russia", "Belarus"])
    joined = ("The team Russia will send to Belarus will include up to 9,000 Russian soldiers.",
              "up to 9,000 Russian soldiers", 9000.0, ["Russia", "Belarus"])
    assert len(_run(("docA", "c1", *seed[:3], "more_than", "soldier", seed[3]),
                    ("docB", "c2", *joined[:3], "at_most", "soldier", joined[3]))) == 1
    elsewhere = ("The team Russia will send will include up to 9,000 Russian soldiers.", "up to 9,000 Russian soldiers",
                 9000.0, ["Russia"])
    assert _run(("docA", "c1", *seed[:3], "more_than", "soldier", seed[3]),
                ("docB", "c2", *elsewhere[:3], "at_most", "soldier", elsewhere[3])) == []


# ------------------------------------------------------------------ clause readings kept between runs
_TROOPS = (
    ("docA", "c1", "Russia has stationed more than 10,000 soldiers in Belarus, the border service said.",
     "more than 10,000 soldiers", 10000, "more_than", "soldier", ["Russia", "Belarus"]),
    ("docB", "c2", "Russia is sending as many as 9,000 servicemen to Belarus, the ministry said Monday.",
     "as many as 9,000 servicemen", 9000, "at_most", "serviceman", ["Russia", "Belarus"]),
    ("docC", "c3", "Yukos faces a $27.5bn tax bill from the Russian authorities.", "$27.5bn", 27.5e9, "exact",
     "usd", ["Yukos"]),
)


def test_memo_gives_the_same_conflicts_and_reads_only_new_clauses():
    from pipeline.conflicts import ContextMemo

    qs, es, cs = _rows(_TROOPS)
    plain = find_conflicts(qs, es, cs)
    assert len(plain) == 1
    memo = ContextMemo()
    assert find_conflicts(qs, es, cs, memo=memo) == plain
    assert memo.hits == 0 and len(memo.entries) == 3  # one reading per statement
    again = ContextMemo.from_json(memo.to_json())  # as the next run loads it
    assert again._previous == memo.entries
    assert find_conflicts(qs, es, cs, memo=again) == plain
    assert again.hits == 3
    # a corpus-wide rename changes the reading's inputs: read afresh, same answer as without a memo
    renamed = [dict(e, canonical="Russian Federation") if e["canonical"] == "Russia" else e for e in es]
    later = ContextMemo.from_json(again.to_json())
    assert find_conflicts(qs, renamed, cs, memo=later) == find_conflicts(qs, renamed, cs)
    assert later.hits == 1  # only Yukos's clause is unchanged
    # the memo keeps what the last run used, no more: a removed claim's reading is dropped
    last = ContextMemo.from_json(later.to_json())
    find_conflicts(qs[:2], renamed[:4], cs[:2], memo=last)
    assert last.hits == 2 and len(last.entries) == 2


def test_memo_from_other_code_or_unreadable_is_dropped(tmp_path):
    import json

    from pipeline.conflicts import ContextMemo
    from pipeline.state import load_conflict_memo, save_conflict_memo

    qs, es, cs = _rows(_TROOPS)
    memo = ContextMemo()
    find_conflicts(qs, es, cs, memo=memo)
    save_conflict_memo(tmp_path, memo)
    assert len(load_conflict_memo(tmp_path)._previous) == 3
    data = json.loads(memo.to_json())
    data["code"] = "0" * 16  # written by other rules
    (tmp_path / "conflict_readings.json").write_text(json.dumps(data))
    assert load_conflict_memo(tmp_path)._previous == {}
    (tmp_path / "conflict_readings.json").write_text("{not json")
    assert load_conflict_memo(tmp_path)._previous == {}
    assert load_conflict_memo(tmp_path / "missing")._previous == {}


# ---------------------------------------------------------------- issue #16: conflicts over statement groups
def test_conflicts_are_lifted_to_the_statement_group_one_row_per_document_pair():
    import pandas as pd

    from pipeline import build

    q = pd.DataFrame([
        {"claim_id": "a1", "doc_id": "A", "value": 7200.0, "qualifier": "exact", "unit": "troop", "text": "7,200"},
        {"claim_id": "b1", "doc_id": "B", "value": 5000.0, "qualifier": "at_most", "unit": "troop", "text": "up to 5,000"},
        {"claim_id": "c1", "doc_id": "C", "value": 5000.0, "qualifier": "exact", "unit": "soldier", "text": "5,000"},
        {"claim_id": "c2", "doc_id": "C", "value": 5000.0, "qualifier": "less_than", "unit": "troop",
         "text": "a little less than 5,000"},
        {"claim_id": "d1", "doc_id": "D", "value": 5000.0, "qualifier": "at_most", "unit": "troop", "text": "up to 5,000"},
        {"claim_id": "d2", "doc_id": "D", "value": 5000.0, "qualifier": "at_most", "unit": "troop", "text": "up to 5,000"},
    ])
    found = pd.DataFrame([{
        "claim_id_a": "a1", "claim_id_b": "b1", "doc_id_a": "A", "doc_id_b": "B", "unit": "troop",
        "value_a": 7200.0, "value_b": 5000.0, "qualifier_a": "exact", "qualifier_b": "at_most",
        "text_a": "7,200", "text_b": "up to 5,000", "shared_entities": "x", "n_claim_pairs": 1, "n_documents": 2}])
    found = found.astype({"n_claim_pairs": "int32", "n_documents": "int32"})
    clusters_df = pd.DataFrame([{"cluster_id": "k1", "claim_ids": "b1 c1 c2 d1 d2"}])
    out = build.conflicts_over_clusters(found, clusters_df, q)
    docs = {frozenset(p) for p in zip(out["doc_id_a"], out["doc_id_b"])}
    assert docs == {frozenset("AB"), frozenset("AC"), frozenset("AD")}
    # D's two reprints of "up to 5,000" are one row; within the group nothing conflicts
    assert len(out[out["doc_id_b"] == "D"]) == 1 and int(out.loc[out["doc_id_b"] == "D", "n_claim_pairs"].iloc[0]) == 2
    assert out.loc[out["doc_id_b"] != "B", "reached_via"].eq("k1").all()
    assert out.loc[out["doc_id_b"] == "B", "reached_via"].isna().all()


def test_a_figure_far_from_the_statement_is_not_lifted():
    import pandas as pd

    from pipeline import build

    q = pd.DataFrame([
        {"claim_id": "a1", "doc_id": "A", "value": 7200.0, "qualifier": "exact", "unit": "troop", "text": "7,200"},
        {"claim_id": "b1", "doc_id": "B", "value": 5000.0, "qualifier": "at_most", "unit": "troop", "text": "up to 5,000"},
        {"claim_id": "c1", "doc_id": "C", "value": 1500.0, "qualifier": "at_most", "unit": "troop", "text": "up to 1,500"},
    ])
    found = pd.DataFrame([{
        "claim_id_a": "a1", "claim_id_b": "b1", "doc_id_a": "A", "doc_id_b": "B", "unit": "troop",
        "value_a": 7200.0, "value_b": 5000.0, "qualifier_a": "exact", "qualifier_b": "at_most",
        "text_a": "7,200", "text_b": "up to 5,000", "shared_entities": "x", "n_claim_pairs": 1, "n_documents": 2}])
    out = build.conflicts_over_clusters(found, pd.DataFrame([{"cluster_id": "k1", "claim_ids": "b1 c1"}]), q)
    assert set(out["doc_id_b"]) == {"B"}  # 1,500 at another time is another figure, not B's statement


# ------------------------------------------------------------------ figures of another time (issue #16)
def test_dated_earlier_markers():
    from pipeline.conflicts import dated_earlier

    def earlier(text: str, number: str) -> bool:
        start = text.index(number)
        lo, hi = clause_bounds(text, start, start + len(number))
        return dated_earlier(text, lo, hi)

    assert earlier("Before the ceasefire, the monitors had counted up to 6,000 fighters in Norland.", "6,000")
    assert earlier("Prior to the merger, Quillco employed 4,500 staff in Vesta.", "4,500")
    assert earlier("Two years ago the park held 300 bison, rangers say.", "300")
    assert earlier("At its peak the camp housed 12,000 refugees.", "12,000")
    assert earlier("The agency had registered 7,500 volunteers in Norland.", "7,500")
    # a past perfect under a reporting verb is a backshifted report of the present
    assert not earlier("The minister said Norland had deployed 7,500 volunteers.", "7,500")
    assert not earlier("Norland now hosts 7,500 volunteers, the agency said.", "7,500")


def test_a_figure_of_an_earlier_time_is_flagged_different_time():
    now = ("docA", "c1", "Norland has stationed 10,000 soldiers in Zemland, the border service said.",
           "10,000 soldiers", 10000, "exact", "soldier", ["Norland", "Zemland"])
    before = ("docB", "c2", "Before the pull-out, Norland had stationed up to 5,500 soldiers in Zemland.",
              "up to 5,500 soldiers", 5500, "at_most", "soldier", ["Norland", "Zemland"])
    same_time = ("docC", "c3", "Norland has stationed up to 6,000 soldiers in Zemland, the ministry said.",
                 "up to 6,000 soldiers", 6000, "at_most", "soldier", ["Norland", "Zemland"])
    found = _run(now, before, same_time)
    flags = {frozenset({c.doc_id_a, c.doc_id_b}): c.different_time for c in found}
    assert flags == {frozenset({"docA", "docB"}): True, frozenset({"docA", "docC"}): False}


def test_different_time_is_kept_when_lifted_over_a_cluster():
    import pandas as pd

    from pipeline import build

    q = pd.DataFrame([
        {"claim_id": "a1", "doc_id": "A", "value": 7200.0, "qualifier": "exact", "unit": "troop", "text": "7,200"},
        {"claim_id": "b1", "doc_id": "B", "value": 5000.0, "qualifier": "at_most", "unit": "troop", "text": "up to 5,000"},
        {"claim_id": "c1", "doc_id": "C", "value": 5000.0, "qualifier": "at_most", "unit": "troop", "text": "up to 5,000"},
    ])
    found = pd.DataFrame([{
        "claim_id_a": "a1", "claim_id_b": "b1", "doc_id_a": "A", "doc_id_b": "B", "unit": "troop",
        "value_a": 7200.0, "value_b": 5000.0, "qualifier_a": "exact", "qualifier_b": "at_most",
        "text_a": "7,200", "text_b": "up to 5,000", "shared_entities": "x", "n_claim_pairs": 1, "n_documents": 2,
        "different_time": True}])
    out = build.conflicts_over_clusters(found, pd.DataFrame([{"cluster_id": "k1", "claim_ids": "b1 c1"}]), q)
    assert set(out["doc_id_b"]) == {"B", "C"} and out["different_time"].all()
    found = found.drop(columns=["different_time"])
    assert not build.conflicts_over_clusters(found, pd.DataFrame([{"cluster_id": "k1", "claim_ids": "b1 c1"}]),
                                             q)["different_time"].any()
