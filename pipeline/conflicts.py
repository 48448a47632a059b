"""Numeric conflicts: two documents report the same measured thing with numbers
that cannot both be true given their qualifiers.

Each (value, qualifier) is read as an interval: exact 10,200 is [10200, 10200]
(within a rounding tolerance), "up to 9,000" is [0, 9000], "more than 10,000" is
(10000, inf), "around 9,000" is 9,000 +- 10 %. Two quantities conflict when their
intervals do not overlap. "Up to 9,000" and "a little less than 9,000" agree;
"10,200" and "up to 9,000" conflict.

"The same measured thing" means the same unit (after folding synonyms such as
soldier/serviceman/troop) and the same subject: the two claims share a named entity.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

EXACT_TOLERANCE = 0.005  # rounding in reported figures
APPROXIMATE_TOLERANCE = 0.10
UNIT_SYNONYMS = {
    # military personnel
    "soldier": "troop", "serviceman": "troop", "servicemen": "troop", "servicewoman": "troop",
    "servicemember": "troop", "personnel": "troop", "troops": "troop", "soldiers": "troop",
    # people
    "people": "person", "individual": "person",
    # money and percentages
    "dollar": "usd", "per cent": "percent", "%": "percent",
}


def normalize_unit(unit: str | None) -> str:
    unit = unit.strip().lower() if isinstance(unit, str) else ""
    return UNIT_SYNONYMS.get(unit, unit)


def interval(value: float, qualifier: str) -> tuple[float, float, bool, bool]:
    """(low, high, low_open, high_open)."""
    if qualifier == "at_most":
        return (-math.inf, value, False, False)
    if qualifier == "less_than":
        return (-math.inf, value, False, True)
    if qualifier == "at_least":
        return (value, math.inf, False, False)
    if qualifier == "more_than":
        return (value, math.inf, True, False)
    tol = APPROXIMATE_TOLERANCE if qualifier == "approximate" else EXACT_TOLERANCE
    return (value - abs(value) * tol, value + abs(value) * tol, False, False)


def compatible(va: float, qa: str, vb: float, qb: str) -> bool:
    la, ha, lao, hao = interval(va, qa)
    lb, hb, lbo, hbo = interval(vb, qb)
    if ha < lb or hb < la:
        return False
    if ha == lb and (hao or lbo):
        return False
    if hb == la and (hbo or lao):
        return False
    return True


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


def find_conflicts(quantities: Iterable[Mapping], entities: Iterable[Mapping]) -> list[Conflict]:
    """Pairs of quantities in claims of different documents that cannot both hold.

    `quantities` rows need claim_id, doc_id, value, qualifier, unit, text;
    `entities` rows claim_id and canonical.
    """
    ents: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        ents[e["claim_id"]].add(e["canonical"])
    by_unit: dict[str, list[Mapping]] = defaultdict(list)
    for q in quantities:
        if normalize_unit(q.get("unit")):
            by_unit[normalize_unit(q["unit"])].append(q)
    out: dict[tuple, Conflict] = {}
    for unit, rows in by_unit.items():
        rows = sorted(rows, key=lambda r: (r["doc_id"], r["claim_id"], r["value"]))
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if a["doc_id"] == b["doc_id"]:
                    continue
                shared = ents[a["claim_id"]] & ents[b["claim_id"]]
                if not shared or compatible(a["value"], a["qualifier"], b["value"], b["qualifier"]):
                    continue
                key = (a["claim_id"], b["claim_id"], a["value"], b["value"], a["qualifier"], b["qualifier"])
                out[key] = Conflict(
                    a["claim_id"], b["claim_id"], a["doc_id"], b["doc_id"], unit, float(a["value"]),
                    float(b["value"]), a["qualifier"], b["qualifier"], a["text"], b["text"],
                    "; ".join(sorted(shared)),
                )
    return sorted(out.values(), key=lambda c: (c.unit, c.claim_id_a, c.claim_id_b, c.value_a, c.value_b))
