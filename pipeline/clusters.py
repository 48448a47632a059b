"""Claims in different documents that state the same thing.

Two claims from different documents are linked when their content lemmas overlap
enough (Jaccard), with a lower bar when they also share a named entity and report a
compatible quantity of the same unit. Linked claims form clusters (connected components);
only clusters spanning two or more documents are kept. Candidate pairs are the claims sharing a lemma
that is not frequent (a sparse product over an inverted index), so the cost grows with
the number of overlapping pairs, not with the square of the corpus.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import ids
from pipeline.conflicts import compatible, normalize_unit

JACCARD_LINK = 0.5
JACCARD_LINK_WITH_EVIDENCE = 0.25
# one figure reported by two outlets: "around 9,000 Russian troops would be stationed" /
# "sending as many as 9,000 servicemen to Belarus" share almost no words; the same unit,
# the same number (within FIGURE_TOLERANCE, qualifiers compatible), a shared subject and
# the same event (after folding EVENT_SYNONYMS) make them one statement
FIGURE_TOLERANCE = 0.05
QUOTE_NGRAM = 6  # a quoted passage of this many words in common: the same quotation
EVENT_SYNONYMS = {
    **dict.fromkeys("deploy deployment station stationing send dispatch arrive arrival move transfer host "
                    "redeploy relocate".split(), "deploy"),
    **dict.fromkeys("withdraw withdrawal leave pull retreat".split(), "withdraw"),
    **dict.fromkeys("kill die dead death".split(), "kill"),
    **dict.fromkeys("injure wound injured wounded".split(), "injure"),
    **dict.fromkeys("cut slash reduce reduction lose loss".split(), "cut"),
    **dict.fromkeys("rise increase grow growth climb jump".split(), "rise"),
    **dict.fromkeys("fall drop decline decrease slump".split(), "fall"),
    **dict.fromkeys("arrest detain detention".split(), "arrest"),
    **dict.fromkeys("evacuate evacuation flee".split(), "evacuate"),
}
MAX_POSTINGS = 200  # a lemma in more claims than this carries no signal for pairing
PAIR_CHUNK = 1_000_000  # claim x partner products computed at a time (bounds memory: 2,361 documents,
# 26,371 claims, a full computation: +149 MB peak at 1M, +266 MB at 4M, the same clusters, no slower)


@dataclass(frozen=True)
class ClaimFeatures:
    claim_id: str
    doc_id: str
    lemmas: frozenset[str]
    entities: frozenset[str]
    quantities: tuple[tuple[float, str, str | None], ...]  # value, qualifier, unit
    checkworthiness: float
    quotes: frozenset[str] = frozenset()  # QUOTE_NGRAM-word passages inside quotation marks, casefolded


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


def events(lemmas: frozenset[str]) -> frozenset[str]:
    return frozenset(EVENT_SYNONYMS[w] for w in lemmas if w in EVENT_SYNONYMS)


def _entity_keys(a: ClaimFeatures) -> frozenset[str]:
    from pipeline.conflicts import entity_key

    return frozenset(entity_key(e) for e in a.entities)


def same_figure(a: ClaimFeatures, b: ClaimFeatures) -> bool:
    """One figure in both: same unit, numbers within FIGURE_TOLERANCE, compatible qualifiers."""
    for va, qa, ua in a.quantities:
        for vb, qb, ub in b.quantities:
            if ua and normalize_unit(ua) == normalize_unit(ub or "") and va > 0 and vb > 0 \
                    and abs(va - vb) <= FIGURE_TOLERANCE * max(va, vb) and compatible(va, qa, vb, qb):
                return True
    return False


def same_statement(a: ClaimFeatures, b: ClaimFeatures) -> bool:
    """Two reports of one statement with few words in common: a shared quotation, or one
    figure of one event about a shared subject (a country and its demonym meet)."""
    if a.quotes & b.quotes:
        return True
    return same_figure(a, b) and bool(events(a.lemmas) & events(b.lemmas)) \
        and bool(_entity_keys(a) & _entity_keys(b))


def _figure_key(value: float) -> int:
    return int(round(math.log(value) / math.log(1 + FIGURE_TOLERANCE))) if value > 0 else 0


def _statement_keys(c: ClaimFeatures) -> set[tuple]:
    """The blocks of `statement_pairs` a claim is in: (unit, number bucket) and quoted passages."""
    keys = set()
    for v, _q, u in c.quantities:
        if u:
            k = _figure_key(v)
            keys.update({("q", normalize_unit(u), k), ("q", normalize_unit(u), k + 1)})
    keys.update(("t", t) for t in c.quotes)
    return keys


def _statement_blocks(claims: Sequence[ClaimFeatures]) -> dict[tuple, list[int]]:
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(claims):
        for k in _statement_keys(c):
            blocks[k].append(i)
    return blocks


def statement_pairs(claims: Sequence[ClaimFeatures], only: np.ndarray | None = None,
                    blocks: Mapping[tuple, list[int]] | None = None) -> list[tuple[int, int]]:
    """Candidate pairs (i < j, different documents) for `same_statement`: claims blocked by
    (unit, number bucket) and by shared quoted passage, blocks of at most MAX_POSTINGS
    claims (a larger block, a round number every story uses, carries no signal), so the
    pairs grow with the corpus, not with its square. `only` (a boolean mask over the
    claims): just the pairs with at least one such claim."""
    blocks = _statement_blocks(claims) if blocks is None else blocks
    pairs = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_POSTINGS:
            continue
        if only is not None and not any(only[i] for i in members):
            continue
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                if claims[i].doc_id != claims[j].doc_id and (only is None or only[i] or only[j]):
                    pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def linked(a: ClaimFeatures, b: ClaimFeatures) -> bool:
    sim = jaccard(a.lemmas, b.lemmas)
    if sim >= JACCARD_LINK:
        return True
    return sim >= JACCARD_LINK_WITH_EVIDENCE and bool(a.entities & b.entities) and _quantity_evidence(a, b)


def candidate_pairs(claims: Sequence[ClaimFeatures], min_sim: float = 0.0,
                    only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, jaccard) for every pair of claims i < j from different documents that share a
    lemma found in at most MAX_POSTINGS claims, with the Jaccard similarity of their whole
    lemma sets, keeping the pairs whose similarity reaches `min_sim`.

    The lemmas in 2..MAX_POSTINGS claims form a sparse claim x lemma matrix A; one sparse
    product A[rows] @ A.T (scipy, compiled) gives, for a block of claims, every partner
    with the number of such lemmas they share. The lemmas in more claims are counted from
    bitsets, only for the pairs an upper bound (every frequent lemma of the side with
    fewer, shared) cannot rule out. Blocks hold about PAIR_CHUNK products, so memory is
    bounded (21,559 claims: 4.8 million candidate pairs).

    `only` (a boolean mask over the claims): just the pairs with at least one such claim
    (their rows of the product, against every claim)."""
    from scipy import sparse  # imported in the background by the claims step (pipeline.neardup needs it too)

    n = len(claims)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if n < 2:
        return empty
    # the claim x lemma incidence as two flat arrays (claim row, lemma code)
    vocabulary: dict[str, int] = {}
    codes = np.fromiter((vocabulary.setdefault(lemma, len(vocabulary)) for c in claims for lemma in c.lemmas),
                        dtype=np.int32)
    sizes = np.fromiter((len(c.lemmas) for c in claims), dtype=np.int32, count=n)
    rows = np.repeat(np.arange(n, dtype=np.int32), sizes)
    claims_with = np.bincount(codes, minlength=len(vocabulary))  # claims per lemma
    rare = (claims_with[codes] > 1) & (claims_with[codes] <= MAX_POSTINGS)
    if not rare.any():
        return empty
    a = sparse.csr_matrix((np.ones(int(rare.sum()), dtype=np.int32), (rows[rare], codes[rare])),
                          shape=(n, len(vocabulary)))
    a_t = a.T.tocsc()  # columns of A.T are claims: a block's partners j >= its first row come as one slice
    _, doc_index = np.unique(np.asarray([c.doc_id for c in claims], dtype=object), return_inverse=True)
    doc_index = doc_index.astype(np.int32)
    frequent = claims_with[codes] > MAX_POSTINGS
    n_frequent = np.bincount(rows[frequent], minlength=n).astype(np.int32)
    bits = None
    if frequent.any():  # the frequent lemmas as bitsets: bit k of a claim's row is the k-th frequent lemma
        rank = np.cumsum(claims_with > MAX_POSTINGS) - 1
        column = rank[codes[frequent]]
        bits = np.zeros((n, int(column.max()) // 64 + 1), dtype=np.uint64)
        np.bitwise_or.at(bits, (rows[frequent], column // 64), np.left_shift(np.uint64(1), (column % 64).astype(np.uint64)))
    lengths = claims_with.astype(np.int64)
    products = np.bincount(rows[rare], weights=lengths[codes[rare]], minlength=n)  # partners each claim meets
    lefts, rights, sims = [], [], []
    order = np.arange(n) if only is None else np.flatnonzero(only)
    start = 0
    while start < len(order):
        stop, budget = start + 1, products[order[start]]
        while stop < len(order) and budget + products[order[stop]] <= PAIR_CHUNK:
            budget += products[order[stop]]
            stop += 1
        if only is None:  # the upper triangle: partners j >= the block's first row
            first = order[start]
            block = (a[first:order[stop - 1] + 1] @ a_t[:, first:]).tocoo()
            left, right, common = block.row + first, block.col + first, block.data
            keep = right > left
        else:  # these rows against every claim; a pair of two such claims is taken from its lower row
            rows_ = order[start:stop]
            block = (a[rows_] @ a_t).tocoo()
            left, right, common = rows_[block.row], block.col, block.data
            keep = (right != left) & ((right > left) | ~only[right])
        left, right, common = left[keep], right[keep], common[keep]
        left, right = np.minimum(left, right), np.maximum(left, right)
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


def _links(claims: Sequence[ClaimFeatures], only: np.ndarray | None = None,
           blocks: Mapping[tuple, list[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of every pair of claims that `linked` or `same_statement` joins (among the
    candidate pairs); `only`: just the pairs with at least one claim of that mask."""
    left, right, sim = candidate_pairs(claims, min_sim=JACCARD_LINK_WITH_EVIDENCE, only=only)
    unlinked = sim < JACCARD_LINK  # the weaker overlaps: `linked` decides (shared entity, compatible quantity)
    for k in np.flatnonzero(unlinked).tolist():
        unlinked[k] = not linked(claims[left[k]], claims[right[k]])
    left, right = left[~unlinked], right[~unlinked]
    extra = [(i, j) for i, j in statement_pairs(claims, only, blocks) if same_statement(claims[i], claims[j])]
    if extra:
        left = np.concatenate([left, np.asarray([i for i, _j in extra], dtype=np.int64)])
        right = np.concatenate([right, np.asarray([j for _i, j in extra], dtype=np.int64)])
    return left, right


def cluster_claims(claims: Sequence[ClaimFeatures], memo: LinkMemo | None = None) -> list[Cluster]:
    """The clusters: connected components of the links between claims (every link joins
    two documents, so every component of two or more claims spans two documents).

    `memo` (the links of an earlier run, `LinkMemo`): only the pairs whose link can have
    changed are computed again (see `LinkMemo`); the result is the same as without it.
    The memo is updated in place to describe these claims."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(claims)
    if memo is None:
        left, right = _links(claims)
    else:
        left, right = memo.links_of(claims)
    if not len(left):
        return []
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    members_of: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(sizes[component] > 1).tolist():
        members_of[int(component[i])].append(i)
    clusters = []
    for members in members_of.values():
        members.sort(key=lambda i: claims[i].claim_id)
        ids_ = [claims[i].claim_id for i in members]
        # the most check-worthy claim; on a tie the first by claim id
        rep = max(range(len(members)), key=lambda k: (claims[members[k]].checkworthiness, -k))
        clusters.append(Cluster(ids.cluster_id(ids_), tuple(ids_), len({claims[i].doc_id for i in members}),
                                ids_[rep]))
    clusters.sort(key=lambda c: c.cluster_id)
    return clusters


def _rare(count: int) -> bool:
    """A lemma (or statement block) that pairs claims: in 2..MAX_POSTINGS claims."""
    return 1 < count <= MAX_POSTINGS


def _block_name(key: tuple) -> str:
    """A statement block's key as text: ("q", unit, bucket) or ("t", passage)."""
    return "\x1f".join(map(str, key))


def _block_key(name: str) -> tuple:
    kind, *rest = name.split("\x1f")
    return ("q", rest[0], int(rest[1])) if kind == "q" else ("t", rest[0])


@functools.lru_cache(maxsize=1)
def _source_digest() -> str:
    """A digest of the code links depend on (this module and the conflicts' units and
    intervals): a memo written by other rules is not used."""
    from pipeline import conflicts

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(conflicts.__file__).read_bytes())
    return h.hexdigest()[:16]


def _feature_digest(c: ClaimFeatures) -> str:
    """Everything a claim's links depend on besides the other claims: its document, lemmas,
    entities, quantities and quoted passages."""
    return hashlib.blake2b(repr((c.doc_id, sorted(c.lemmas), sorted(c.entities), c.quantities,
                                 sorted(c.quotes))).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class LinkMemo:
    """The links between claims of a previous clustering, kept between runs.

    Whether two claims are linked depends on the two claims' features (their digest is
    kept, by claim id) and, through the candidate pairs, on which lemmas and statement
    blocks are in 2..MAX_POSTINGS claims (those are kept). A pair of claims
    whose features are unchanged and that have no lemma or block whose status changed is
    linked now exactly when it was then; every pair with another claim (new, changed, or
    with such a lemma or block) is computed again, from the same functions as a full
    clustering. So the links, and the clusters, are the ones a full clustering gives.
    `reused` and `recomputed` count the claims of the last `links_of`. Written with the
    code's digest: a memo from other code is dropped on load."""

    def __init__(self, digests: Mapping[str, str] | None = None, links: Iterable[tuple[str, str]] = (),
                 rare_lemmas: Iterable[str] = (), rare_blocks: Iterable[str] = ()):
        self.digests = dict(digests or {})
        self.links = [tuple(p) for p in links]
        self.rare_lemmas = set(rare_lemmas)
        self.rare_blocks = set(rare_blocks)
        self.reused = self.recomputed = 0

    def links_of(self, claims: Sequence[ClaimFeatures]) -> tuple[np.ndarray, np.ndarray]:
        """(i, j) of the links between `claims` (as `_links`); the memo then describes them."""
        n = len(claims)
        claim_ids = [c.claim_id for c in claims]
        digests = [_feature_digest(c) for c in claims]
        rare_lemmas = {w for w, k in Counter(itertools.chain.from_iterable(c.lemmas for c in claims)).items()
                       if _rare(k)}
        blocks = _statement_blocks(claims)
        rare_blocks = {_block_name(k): v for k, v in blocks.items() if _rare(len(v))}
        index = {cid: i for i, cid in enumerate(claim_ids)}
        if len(index) != n or not self.digests:  # ids not unique, or nothing to reuse: every pair
            dirty = np.ones(n, dtype=bool)
        else:
            dirty = np.fromiter((self.digests.get(cid) != d for cid, d in zip(claim_ids, digests)), dtype=bool, count=n)
            # the lemmas that pair claims now and did not then, or then and not now (a new set: the
            # difference keeps the large hash table of its operands, slow to test a frozenset against)
            crossed = set(list(rare_lemmas ^ self.rare_lemmas))
            if crossed:
                for i, c in enumerate(claims):
                    if not dirty[i] and not c.lemmas.isdisjoint(crossed):
                        dirty[i] = True
            for name in rare_blocks.keys() ^ self.rare_blocks:
                members = rare_blocks.get(name)
                if members is None:  # rare then, not now: its claims (if any are left) in the block now
                    members = blocks.get(_block_key(name), ())
                dirty[list(members)] = True
        kept_left, kept_right = [], []
        if not dirty.all():
            for a, b in self.links:
                i, j = index.get(a), index.get(b)
                if i is not None and j is not None and not dirty[i] and not dirty[j]:
                    kept_left.append(min(i, j))
                    kept_right.append(max(i, j))
        if dirty.any():  # every pair with a dirty claim (all pairs, as a full clustering, when all are)
            left, right = _links(claims, only=None if dirty.all() else dirty, blocks=blocks)
        else:
            left = right = np.zeros(0, dtype=np.int64)
        left = np.concatenate([np.asarray(kept_left, dtype=np.int64), left.astype(np.int64)])
        right = np.concatenate([np.asarray(kept_right, dtype=np.int64), right.astype(np.int64)])
        self.recomputed = int(dirty.sum())
        self.reused = n - self.recomputed
        self.digests = dict(zip(claim_ids, digests))
        self.links = [(claim_ids[i], claim_ids[j]) for i, j in zip(left.tolist(), right.tolist())]
        self.rare_lemmas = rare_lemmas
        self.rare_blocks = set(rare_blocks)
        return left, right

    def to_json(self) -> str:
        return json.dumps({"code": _source_digest(), "max_postings": MAX_POSTINGS, "digests": self.digests,
                           "links": self.links, "rare_lemmas": sorted(self.rare_lemmas),
                           "rare_blocks": sorted(self.rare_blocks)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LinkMemo:
        data = json.loads(text)
        if data.get("code") != _source_digest() or data.get("max_postings") != MAX_POSTINGS:
            return cls()
        return cls(data["digests"], data["links"], data["rare_lemmas"], data["rare_blocks"])


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
            quotes=quoted_passages(c.get("text") or ""),
        )
        for c in claims
    ]


_QUOTED = re.compile(r"[“\"«]([^”\"»]{20,})[”\"»]?")
_QWORD = re.compile(r"\w+")


def quoted_passages(text: str) -> frozenset[str]:
    """The QUOTE_NGRAM-word runs of the text's quoted passages, casefolded."""
    out = set()
    for m in _QUOTED.finditer(text):
        words = _QWORD.findall(m.group(1).casefold())
        out.update(" ".join(words[k:k + QUOTE_NGRAM]) for k in range(len(words) - QUOTE_NGRAM + 1))
    return frozenset(out)
