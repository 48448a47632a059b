"""pipeline.conflicts: qualifier intervals, unit folding and cross-document conflicts."""
from __future__ import annotations

import pytest

from pipeline.conflicts import compatible, find_conflicts, interval, normalize_unit


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
        _q("c3", "docC", 2000, "at_most", "troop"),
        _q("c1", "docA", 10200, "exact", "troop"),
        _q("c2", "docB", 30, "exact", "tank"),
        _q("c4", "docD", 90, "exact", "tank"),
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
    base = [("c1", "docA", 10200, "exact"), ("c2", "docB", 9000, "at_most"), ("c3", "docC", 5000, "approximate")]

    def copies(k):
        qs = [_q(f"{c}~{j}", f"{d}~{j}", v, qual, "troop") for j in range(k) for c, d, v, qual in base]
        return qs, [_e(q["claim_id"], "Belarus") for q in qs]

    one, ten = find_conflicts(*copies(1)), find_conflicts(*copies(10))
    assert len(one) == len(ten) == 2  # 10,200 vs up to 9,000 and vs about 5,000; 9,000 and 5,000 agree
    assert [c.n_claim_pairs for c in one] == [1, 1]
    assert [c.n_claim_pairs for c in ten] == [100, 100]
    assert [c.n_documents for c in ten] == [20, 20]
