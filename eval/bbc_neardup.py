"""MinHash-LSH near-duplicates against brute-force Jaccard on the BBC corpus.

    .venv/bin/python -m eval.bbc_neardup --corpus ../shared/corpus/bbc
    .venv/bin/python -m eval.bbc_neardup --corpus ../shared/corpus/bbc --unit paragraphs
    .venv/bin/python -m eval.bbc_neardup --corpus ../shared/corpus/bbc --grid   # the settings sweep

For each setting: the exact pairs (every pair of texts whose word-shingle sets, the very
same ones the index hashes, have Jaccard >= threshold, computed with a sparse matrix
product over all pairs), the pairs the `NearDupIndex` reports (each text queried
against the ones before it, then added), recall, precision, the misses and false alarms
with their exact Jaccard, and timings. `--list` prints the pairs found.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np
from scipy import sparse

from eval.corpus import bbc_articles, paragraphs_of
from pipeline.neardup import NearDupConfig, NearDupIndex, shingles
from pipeline.text import normalize_key


def units(corpus: str, unit: str, min_words: int) -> list[tuple[str, str]]:
    docs = bbc_articles(corpus)
    if unit == "documents":
        return docs
    out = []
    for doc_id, text in docs:
        for n, p in enumerate(paragraphs_of(text)):
            if len(normalize_key(p).split()) >= min_words:
                out.append((f"{doc_id}#{n}", p))
    return out


def exact_pairs(texts: list[str], size: int, threshold: float) -> tuple[dict[tuple[int, int], float], np.ndarray]:
    """{(i, j): jaccard} for i < j with jaccard >= threshold, and the histogram of all
    pairs sharing a shingle over [0, 0.1, ..., 1.0]."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, t in enumerate(texts):
        for s in shingles(t, size):
            rows.append(i)
            cols.append(vocab.setdefault(s, len(vocab)))
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(texts), len(vocab)))
    sizes = np.asarray(x.sum(axis=1)).ravel()
    inter = sparse.triu(x @ x.T, k=1).tocoo()
    jac = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    hist, _ = np.histogram(jac, bins=np.linspace(0, 1, 11))
    keep = jac >= threshold
    return {(int(i), int(j)): float(v) for i, j, v in zip(inter.row[keep], inter.col[keep], jac[keep])}, hist


def lsh_pairs(keys: list[str], texts: list[str], config: NearDupConfig) -> set[tuple[int, int]]:
    pos = {k: n for n, k in enumerate(keys)}
    index = NearDupIndex(config)
    found = set()
    for n, (k, t) in enumerate(zip(keys, texts)):
        for m in index.query_and_add(k, t):
            found.add((pos[m], n))
    return found


def run(items, config: NearDupConfig, list_pairs: bool, show_hist: bool) -> dict:
    keys = [k for k, _ in items]
    texts = [t for _, t in items]
    # the index ignores texts under min_words words; so does the reference
    eligible = [len(normalize_key(t).split()) >= config.min_words for t in texts]
    t0 = time.perf_counter()
    exact, hist = exact_pairs(texts, config.shingle_size, config.threshold)
    exact = {p: v for p, v in exact.items() if eligible[p[0]] and eligible[p[1]]}
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = lsh_pairs(keys, texts, config)
    t_lsh = time.perf_counter() - t0
    tp = len(found & exact.keys())
    recall = tp / len(exact) if exact else 1.0
    precision = tp / len(found) if found else 1.0
    print(f"\n{config}")
    print(f"  texts {len(texts)}   exact pairs (J >= {config.threshold}) {len(exact)}   LSH pairs {len(found)}   "
          f"true {tp}   recall {recall:.4f}   precision {precision:.4f}")
    print(f"  time: brute force {t_exact:.2f} s, LSH signatures+queries {t_lsh:.2f} s")
    if show_hist:
        labels = [f"{a / 10:.1f}-{(a + 1) / 10:.1f}" for a in range(10)]
        print("  pairs sharing >= 1 shingle, by exact Jaccard: " + ", ".join(f"{l}: {c}" for l, c in zip(labels, hist)))
    for i, j in sorted(exact.keys() - found):
        print(f"  MISSED {keys[i]} ~ {keys[j]}  J={exact[(i, j)]:.3f}")
    for i, j in sorted(found - exact.keys()):
        size = config.shingle_size
        a, b = shingles(texts[i], size), shingles(texts[j], size)
        print(f"  FALSE  {keys[i]} ~ {keys[j]}  J={len(a & b) / len(a | b):.3f}")
    if list_pairs:
        for i, j in sorted(found):
            j_ex = exact.get((i, j))
            print(f"  pair {keys[i]} ~ {keys[j]}  J={j_ex:.3f}" if j_ex is not None else f"  pair {keys[i]} ~ {keys[j]}")
    return {"recall": recall, "precision": precision, "exact": len(exact), "found": len(found),
            "t_exact": t_exact, "t_lsh": t_lsh}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="folder of the BBC corpus (topic/NNN.txt)")
    ap.add_argument("--unit", choices=["documents", "paragraphs"], default="documents")
    ap.add_argument("--shingle-size", type=int)
    ap.add_argument("--num-perm", type=int)
    ap.add_argument("--threshold", type=float)
    ap.add_argument("--grid", action="store_true", help="sweep shingle sizes x permutations x thresholds")
    ap.add_argument("--list", action="store_true", help="print every pair found")
    args = ap.parse_args(argv)
    base = NearDupConfig() if args.unit == "documents" else NearDupConfig.for_paragraphs()
    items = units(args.corpus, args.unit, base.min_words)
    if args.grid:
        grid = itertools.product([3, 5, 8], [64, 128, 256], [0.5, 0.7, 0.8, 0.9])
        configs = [NearDupConfig(**{**base.__dict__, "shingle_size": k, "num_perm": p, "threshold": t})
                   for k, p, t in grid]
    else:
        over = {k: v for k, v in (("shingle_size", args.shingle_size), ("num_perm", args.num_perm),
                                  ("threshold", args.threshold)) if v is not None}
        configs = [NearDupConfig(**{**base.__dict__, **over})]
    results = [(c, run(items, c, args.list, show_hist=not args.grid)) for c in configs]
    if len(results) > 1:
        print("\nshingle perm thresh  exact  found  recall  precision  lsh_s")
        for c, r in results:
            print(f"{c.shingle_size:7d} {c.num_perm:4d} {c.threshold:6.2f} {r['exact']:6d} {r['found']:6d} "
                  f"{r['recall']:7.4f} {r['precision']:10.4f} {r['t_lsh']:6.2f}")
    ok = all(r["recall"] >= 0.99 and r["precision"] >= 0.99 for _, r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
