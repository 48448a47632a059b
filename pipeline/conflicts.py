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
    n_claim_pairs: int = 1  # pairs of claims (in different documents) making this same statement pair
    n_documents: int = 2  # documents making either statement


def find_conflicts(quantities: Iterable[Mapping], entities: Iterable[Mapping]) -> list[Conflict]:
    """Conflicting statements: quantities in claims of different documents that cannot both hold.

    `quantities` rows need claim_id, doc_id, value, qualifier, unit, text;
    `entities` rows claim_id and canonical.

    Claims that say the same thing (same unit, value, qualifier and named entities; a
    wire story reprinted by twenty outlets) form one *statement*. One row per pair of
    conflicting statements that share an entity, named by its first pair of claims
    from different documents, with `n_claim_pairs` (every such pair of claims) and
    `n_documents`. So the table lists each disagreement once, and its size and the
    time to find it grow with the number of distinct statements, not with the square
    of the number of copies. Candidate pairs come from statements sharing an entity.
    """
    ents: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        ents[e["claim_id"]].add(e["canonical"])
    statements: dict[tuple, list[Mapping]] = defaultdict(list)
    for q in quantities:
        unit = normalize_unit(q.get("unit"))
        names = ents.get(q["claim_id"])
        if unit and names:
            statements[(unit, float(q["value"]), q["qualifier"], frozenset(names))].append(q)
    by_entity: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for key in statements:
        for name in key[3]:
            by_entity[(key[0], name)].append(key)
    for members in statements.values():
        members.sort(key=lambda r: (r["doc_id"], r["claim_id"]))
    seen: set[tuple] = set()
    out: list[Conflict] = []
    for (unit, _name), keys in by_entity.items():
        for i, ka in enumerate(keys):
            for kb in keys[i + 1:]:
                pair = (ka, kb) if ka < kb else (kb, ka)
                if pair in seen or compatible(ka[1], ka[2], kb[1], kb[2]):
                    continue
                seen.add(pair)
                conflict = _statement_conflict(unit, statements[pair[0]], statements[pair[1]], pair[0][3] & pair[1][3])
                if conflict is not None:
                    out.append(conflict)
    return sorted(out, key=lambda c: (c.unit, c.claim_id_a, c.claim_id_b, c.value_a, c.value_b))


def _statement_conflict(unit: str, a_rows: list[Mapping], b_rows: list[Mapping], shared: set[str]) -> Conflict | None:
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
        n_claim_pairs=int(n_pairs), n_documents=len(set(per_doc_a) | set(per_doc_b)),
    )
