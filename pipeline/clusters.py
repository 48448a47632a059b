"""Claims in different documents that state the same thing.

Two claims from different documents are linked when their content lemmas overlap
enough (Jaccard), with a lower bar when they also share a named entity and report a
compatible quantity of the same unit. Linked claims form clusters (union-find);
only clusters spanning two or more documents are kept. Candidate pairs are the claims sharing a lemma
that is not frequent (a sparse product over an inverted index), so the cost grows with
the number of overlapping pairs, not with the square of the corpus.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline import ids
from pipeline.conflicts import compatible, normalize_unit

JACCARD_LINK = 0.5
JACCARD_LINK_WITH_EVIDENCE = 0.25
MAX_POSTINGS = 200  # a lemma in more claims than this carries no signal for pairing
PAIR_CHUNK = 4_000_000  # claim x partner products computed at a time (bounds memory)


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


def candidate_pairs(claims: Sequence[ClaimFeatures], min_sim: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, jaccard) for every pair of claims i < j from different documents that share a
    lemma found in at most MAX_POSTINGS claims, with the Jaccard similarity of their whole
    lemma sets, keeping the pairs whose similarity reaches `min_sim`.

    The lemmas in 2..MAX_POSTINGS claims form a sparse claim x lemma matrix A; one sparse
    product A[rows] @ A.T (scipy, compiled) gives, for a block of claims, every partner
    with the number of such lemmas they share. The lemmas in more claims are counted from
    bitsets, only for the pairs an upper bound (every frequent lemma of the side with
    fewer, shared) cannot rule out. Blocks hold about PAIR_CHUNK products, so memory is
    bounded (21,559 claims: 4.8 million candidate pairs)."""
    from scipy import sparse  # imported in the background by the claims step (pipeline.neardup needs it too)

    n = len(claims)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if n < 2:
        return empty
    postings: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(claims):
        for lemma in c.lemmas:
            postings[lemma].append(i)
    rare = [members for members in postings.values() if 1 < len(members) <= MAX_POSTINGS]
    if not rare:
        return empty
    lengths = np.fromiter((len(m) for m in rare), dtype=np.int64, count=len(rare))
    columns = np.repeat(np.arange(len(rare), dtype=np.int32), lengths)
    rows = np.concatenate([np.asarray(m, dtype=np.int32) for m in rare])
    a = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, columns)), shape=(n, len(rare)))
    a_t = a.T.tocsc()  # columns of A.T are claims: a block's partners j >= its first row come as one slice
    _, doc_index = np.unique(np.asarray([c.doc_id for c in claims], dtype=object), return_inverse=True)
    doc_index = doc_index.astype(np.int32)
    sizes = np.asarray([len(c.lemmas) for c in claims], dtype=np.int32)
    frequent = sorted(lemma for lemma, members in postings.items() if len(members) > MAX_POSTINGS)
    n_frequent = np.zeros(n, dtype=np.int32)
    bits = None
    if frequent:
        bits = np.zeros((n, (len(frequent) + 63) // 64), dtype=np.uint64)
        for col, lemma in enumerate(frequent):
            members = np.asarray(postings[lemma])
            bits[members, col // 64] |= np.uint64(1) << np.uint64(col % 64)
            n_frequent[members] += 1
    products = np.bincount(rows, weights=lengths[columns], minlength=n)  # partners each claim meets, with repeats
    lefts, rights, sims = [], [], []
    start = 0
    while start < n:
        stop, budget = start + 1, products[start]
        while stop < n and budget + products[stop] <= PAIR_CHUNK:
            budget += products[stop]
            stop += 1
        block = (a[start:stop] @ a_t[:, start:]).tocoo()
        left, right, common = block.row + start, block.col + start, block.data
        keep = right > left
        left, right, common = left[keep], right[keep], common[keep]
        bound = common + np.minimum(n_frequent[left], n_frequent[right])
        keep = (doc_index[left] != doc_index[right]) & (bound >= min_sim * (sizes[left] + sizes[right] - bound))
        left, right, common = left[keep].astype(np.int64), right[keep].astype(np.int64), common[keep].astype(np.int64)
        if bits is not None:
            common = common + np.bitwise_count(bits[left] & bits[right]).sum(axis=1)
        sim = common / np.maximum(sizes[left] + sizes[right] - common, 1)
        keep = sim >= min_sim
        lefts.append(left[keep])
        rights.append(right[keep])
        sims.append(sim[keep])
        start = stop
    return np.concatenate(lefts), np.concatenate(rights), np.concatenate(sims)


def cluster_claims(claims: Sequence[ClaimFeatures]) -> list[Cluster]:
    by_id = {c.claim_id: c for c in claims}
    parent = {c.claim_id: c.claim_id for c in claims}
    left, right, sim = candidate_pairs(claims, min_sim=JACCARD_LINK_WITH_EVIDENCE)
    strong = sim >= JACCARD_LINK
    maybe = ~strong & (sim >= JACCARD_LINK_WITH_EVIDENCE)
    for i, j in zip(left[strong].tolist(), right[strong].tolist()):
        parent[_find(parent, claims[i].claim_id)] = _find(parent, claims[j].claim_id)
    for i, j in zip(left[maybe].tolist(), right[maybe].tolist()):
        a, b = claims[i], claims[j]
        if a.entities & b.entities and _quantity_evidence(a, b):
            parent[_find(parent, a.claim_id)] = _find(parent, b.claim_id)
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
