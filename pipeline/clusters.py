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

import numpy as np

from pipeline import ids
from pipeline.conflicts import compatible, normalize_unit

JACCARD_LINK = 0.5
JACCARD_LINK_WITH_EVIDENCE = 0.25
MAX_POSTINGS = 200  # a lemma in more claims than this carries no signal for pairing
PAIR_CHUNK = 2_000_000  # candidate pair codes counted at a time (bounds memory)
INT32_CODES_BELOW = 2**31  # pair codes i * n + j are int32 while n * n stays under this


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
    lemma sets, keeping the pairs whose similarity reaches `min_sim`. Vectorized: pairs
    come from the posting lists as integer codes (`np.unique` counts the rare lemmas they
    share), the lemmas in more claims are counted as bitsets.

    Memory: codes are int32 while n^2 fits (21,559 claims: 4.8 million candidate pairs),
    and the similarities are computed, and filtered, a chunk of pairs at a time."""
    n = len(claims)
    code_type = np.int32 if n * n < INT32_CODES_BELOW else np.int64
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if n < 2:
        return empty
    postings: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(claims):
        for lemma in c.lemmas:
            postings[lemma].append(i)
    frequent = sorted(lemma for lemma, members in postings.items() if len(members) > MAX_POSTINGS)
    _, doc_index = np.unique(np.asarray([c.doc_id for c in claims], dtype=object), return_inverse=True)
    pair_codes, shared = None, None
    buffer: list[np.ndarray] = []
    buffered = 0

    def flush():
        # pairs of one document never link: drop them, then count, then merge the counts
        nonlocal pair_codes, shared, buffer, buffered
        codes = np.concatenate(buffer)
        buffer, buffered = [], 0
        codes = codes[doc_index[codes // n] != doc_index[codes % n]]
        u, c = np.unique(codes, return_counts=True)
        del codes
        c = c.astype(np.int32)
        if pair_codes is None:
            pair_codes, shared = u, c
        else:
            merged, inverse = np.unique(np.concatenate([pair_codes, u]), return_inverse=True)
            counts = np.zeros(len(merged), dtype=np.int32)
            counts[inverse[:len(pair_codes)]] += shared  # each part's codes are distinct
            counts[inverse[len(pair_codes):]] += c
            pair_codes, shared = merged, counts

    # posting lists of one length at a time, as the rows of a matrix: one triu_indices
    # per length instead of one per lemma (lists are ascending: claims were enumerated in order)
    by_length: dict[int, list[list[int]]] = defaultdict(list)
    for members in postings.values():
        if 1 < len(members) <= MAX_POSTINGS:
            by_length[len(members)].append(members)
    for k in sorted(by_length):
        a, b = np.triu_indices(k, 1)
        lists = by_length[k]
        rows = max(1, PAIR_CHUNK // len(a))  # bounded memory: count in chunks
        for start in range(0, len(lists), rows):
            m = np.asarray(lists[start:start + rows], dtype=code_type)
            codes = (m[:, a] * code_type(n) + m[:, b]).ravel()
            buffer.append(codes)
            buffered += len(codes)
            if buffered >= PAIR_CHUNK:
                flush()
    if buffer:
        flush()
    if pair_codes is None or not len(pair_codes):
        return empty
    bits = None
    if frequent:  # the frequent lemmas both claims have are counted from bitsets
        words = (len(frequent) + 63) // 64
        bits = np.zeros((n, words), dtype=np.uint64)
        for col, lemma in enumerate(frequent):
            bits[np.asarray(postings[lemma]), col // 64] |= np.uint64(1) << np.uint64(col % 64)
    sizes = np.asarray([len(c.lemmas) for c in claims], dtype=np.int64)
    lefts, rights, sims = [], [], []
    step = PAIR_CHUNK // 4  # bounded memory: (pairs x words) at a time
    for start in range(0, len(pair_codes), step):
        codes = pair_codes[start:start + step]
        left, right = (codes // n).astype(np.int64), (codes % n).astype(np.int64)
        common = shared[start:start + step].astype(np.int64)
        if bits is not None:
            common = common + np.bitwise_count(bits[left] & bits[right]).sum(axis=1)
        union = sizes[left] + sizes[right] - common
        sim = common / np.maximum(union, 1)
        keep = sim >= min_sim
        lefts.append(left[keep])
        rights.append(right[keep])
        sims.append(sim[keep])
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
