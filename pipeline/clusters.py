"""Claims in different documents that state the same thing.

Two claims from different documents are linked when their content lemmas overlap
enough (Jaccard), with a lower bar when they also share a named entity and report a
compatible quantity of the same unit. Linked claims form clusters (union-find);
only clusters spanning two or more documents are kept. Candidate pairs come from an
inverted index over lemmas, so the cost grows with the number of overlapping pairs,
not with the square of the corpus.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline import ids
from pipeline.conflicts import compatible, normalize_unit

JACCARD_LINK = 0.5
JACCARD_LINK_WITH_EVIDENCE = 0.25
MAX_POSTINGS = 200  # a lemma in more claims than this carries no signal for pairing


@dataclass(frozen=True)
class ClaimFeatures:
    claim_id: str
    doc_id: str
    lemmas: frozenset[str]
    entities: frozenset[str]
    quantities: tuple[tuple[float, str, str | None], ...]  # value, qualifier, unit
    checkworthiness: float


@dataclass(frozen=True)
class Cluster:
    cluster_id: str
    claim_ids: tuple[str, ...]
    n_documents: int
    representative_claim_id: str


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _quantity_evidence(a: ClaimFeatures, b: ClaimFeatures) -> bool:
    for va, qa, ua in a.quantities:
        for vb, qb, ub in b.quantities:
            if ua and normalize_unit(ua) == normalize_unit(ub or "") and compatible(va, qa, vb, qb):
                return True
    return False


def linked(a: ClaimFeatures, b: ClaimFeatures) -> bool:
    sim = jaccard(a.lemmas, b.lemmas)
    if sim >= JACCARD_LINK:
        return True
    return sim >= JACCARD_LINK_WITH_EVIDENCE and bool(a.entities & b.entities) and _quantity_evidence(a, b)


def _find(parent: dict[str, str], x: str) -> str:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def cluster_claims(claims: Sequence[ClaimFeatures]) -> list[Cluster]:
    by_id = {c.claim_id: c for c in claims}
    postings: dict[str, list[str]] = defaultdict(list)
    for c in claims:
        for lemma in c.lemmas:
            postings[lemma].append(c.claim_id)
    parent = {c.claim_id: c.claim_id for c in claims}
    seen: set[tuple[str, str]] = set()
    for members in postings.values():
        if len(members) > MAX_POSTINGS:
            continue
        for i, x in enumerate(members):
            for y in members[i + 1:]:
                a, b = by_id[x], by_id[y]
                if a.doc_id == b.doc_id:
                    continue
                pair = (x, y) if x < y else (y, x)
                if pair in seen:
                    continue
                seen.add(pair)
                if linked(a, b):
                    parent[_find(parent, x)] = _find(parent, y)
    groups: dict[str, list[str]] = defaultdict(list)
    for cid in parent:
        groups[_find(parent, cid)].append(cid)
    clusters = []
    for members in groups.values():
        docs = {by_id[m].doc_id for m in members}
        if len(docs) < 2:
            continue
        members.sort()
        rep = max(members, key=lambda m: (by_id[m].checkworthiness, -members.index(m)))
        clusters.append(Cluster(ids.cluster_id(members), tuple(members), len(docs), rep))
    clusters.sort(key=lambda c: c.cluster_id)
    return clusters


def build_features(
    claims: Iterable[Mapping], quantities: Iterable[Mapping], entities: Iterable[Mapping]
) -> list[ClaimFeatures]:
    """ClaimFeatures from rows of the claims, claim_quantities and claim_entities tables."""
    q_by: dict[str, list] = defaultdict(list)
    for q in quantities:
        q_by[q["claim_id"]].append((float(q["value"]), q["qualifier"], q.get("unit")))
    e_by: dict[str, set] = defaultdict(set)
    for e in entities:
        e_by[e["claim_id"]].add(e.get("canonical") or e["text"])
    return [
        ClaimFeatures(
            claim_id=c["claim_id"], doc_id=c["doc_id"],
            lemmas=frozenset((c.get("content_lemmas") or "").split()),
            entities=frozenset(e_by.get(c["claim_id"], ())),
            quantities=tuple(q_by.get(c["claim_id"], ())),
            checkworthiness=float(c["checkworthiness"]),
        )
        for c in claims
    ]
