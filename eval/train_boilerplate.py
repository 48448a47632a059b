"""Fit the paragraph model of `pipeline.boilerplate_model` on real labelled web pages.

    .venv/bin/python -m eval.train_boilerplate --corpus ../shared/corpus/webpages [--html] [--folds 3] [--jobs 1]
        [--trees 100] [--leaves 31] [--choose-share 0.5] [--out pipeline/models/boilerplate_model.json]

The shipped model was fitted (on a 2-core machine shared with other jobs, ~16 min) with
    nice -n 10 .venv/bin/python -m eval.train_boilerplate --corpus ../shared/corpus/webpages \
        --folds 3 --trees 100 --leaves 31 --choose-share 1.0 --jobs 1 --cache /tmp/bp6/c1.pkl
(the thresholds are chosen on the out-of-fold probabilities of all training pages; `--cache`
only keeps the rows and the out-of-fold probabilities in scratch files, it changes nothing
in the model; it printed: threshold 0.40, override 0.50: out-of-fold train F1 dragnet 0.912
(P 0.885 R 0.941), cleaneval 0.909 (P 0.901 R 0.918), readability 0.914 (P 0.899 R 0.929);
the model before the tail-marker features, same command: 0.9119, 0.9072, 0.9110).

The model of HTML pages (`pipeline/models/boilerplate_model_html.json`, `--html`) is fitted
the same way on the same training pages, but from their `.html.gz`: each page is read as
`pipeline run` reads an `.html` file (`pipeline.ingest.parse_bytes`: the page's whole visible
text, `pipeline.pagetext`, and trafilatura's article beside it), and the first pass also gets
the columns of `boilerplate_model.article_features` (how much of each paragraph, and of its
neighbours, the article holds). The shipped one was fitted with
    nice .venv/bin/python -m eval.train_boilerplate --corpus ../shared/corpus/webpages --html \
        --folds 3 --trees 100 --leaves 31 --choose-share 1.0 --jobs 2 --cache /tmp/h15/html.pkl
(~8 min on 2 cores): 273,687 paragraphs, 87,969 content by the labels; threshold 0.40,
override 0.40: out-of-fold train F1 dragnet 0.926 (P 0.898 R 0.956), cleaneval 0.913 (P 0.897
R 0.929), readability 0.931 (P 0.912 R 0.951).

The out-of-fold probabilities in the cache also let the stage's own decisions (which rules
the model may override, the site-template rule) be chosen on the training pages through
the real stage (`pipeline.build.paragraphs_table` and `mark_site_templates`, as
`eval.webpages` runs them) with each page's out-of-fold probabilities in place of the
model's: the figures quoted in `pipeline.boilerplate.BoilerplateConfig` and
`pipeline.build.mark_site_templates` as "real stage, out of fold" (`eval/stage_oof.py`).

Data: the three sets of `../shared/corpus/webpages` (dragnet, cleaneval, readability). Each
dump (`<id>.txt`) is decoded as `pipeline run` decodes a `.txt` file
(`pipeline.ingest.decode_bytes`) and split by `pipeline.paragraphs.split_paragraphs`.

Labels (:func:`paragraph_labels`): a paragraph is *content* when at least half of its
4-token shingles (tokens: runs of word characters, as the shared scorer counts them) occur
in the page's gold text; a paragraph of fewer than four tokens is content when its whole
token sequence occurs in the gold.

Split (fixed, documented): `eval.webpages.split_of` holds back every page whose hash of
"<set>/<id>" falls in one bucket of four (~25 % of each set). Those pages are never used
here: not for fitting, not for the threshold, not for choosing which rules stay hard.

Fitting, on the training pages only:
1. first pass: a histogram gradient-boosted tree ensemble (scikit-learn, fixed seed) on
   `base_features` (the paragraph, its neighbour windows, position, the rules' verdicts);
   sample weights give every page the same total weight, spread over its paragraphs in
   proportion to their tokens (the scorer averages pages, each by shingles);
2. its out-of-fold probabilities (`--folds` folds by page) feed the second pass
   (`second_pass_features`: neighbours' probabilities over windows, the page's mean), a
   second ensemble fitted on those;
3. the threshold on the second pass's out-of-fold probability is the one that gives the
   best mean F1 of the shared scorer over the three sets' training pages (each set weighs
   the same) on half of the training pages (fixed by hash; `--choose-share`), tried by 0.05
   from 0.25 to 0.75; then the override threshold (a paragraph a soft rule claimed is kept
   only from there on), tried by 0.1 above the threshold, the same way;
4. hard rules: a rule family stays a hard rule (its verdict wins over the model) when the
   paragraphs it claims in the training pages are boilerplate by the labels for at least
   `--hard-precision` (0.97) of their tokens and it claims at least 30 paragraphs; the other
   families are only features of the model (the model decides, the rule's name stays the
   reason when the model drops the paragraph).
The two ensembles are refitted on all training pages and written as JSON arrays (no pickle)
with the feature names, the threshold, the hard rules and what the fit saw.
"""
from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from eval.webpages import SETS, Page, load_pages, load_scorer

_TOKEN = re.compile(r"\w+")


def paragraph_labels(paragraphs: list[str], gold: str) -> list[int]:
    """1 (content) when most of the paragraph's 4-token shingles are in the gold, else 0."""
    from pipeline.boilerplate_model import shingle_shares

    shares, _tokens = shingle_shares(paragraphs, gold)
    return [int(share >= 0.5) for share in shares]


def page_rows(page: Page):
    """(X, names, labels, token counts, texts, rule reasons) of one page's dump."""
    from pipeline.boilerplate import BoilerplateConfig, rule_document
    from pipeline.boilerplate_model import base_features
    from pipeline.ingest import RejectedInput, decode_bytes
    from pipeline.paragraphs import split_paragraphs

    try:
        text, _enc = decode_bytes(page.dump_bytes())
    except RejectedInput:
        text = ""
    spans = split_paragraphs(text)
    texts = [text[s.start:s.end] for s in spans]
    doc = rule_document(texts, BoilerplateConfig(use_model=False))
    x, names = base_features(doc)
    y = paragraph_labels(texts, page.gold())
    toks = [len(_TOKEN.findall(t)) for t in texts]
    return x, names, np.array(y, dtype=int), np.array(toks, dtype=float), texts, list(doc.reasons)


def page_rows_html(page: Page):
    """`page_rows` of the HTML path: the page's whole text and trafilatura's article as
    `pipeline.ingest` makes them from the `.html.gz` page, the columns of
    `boilerplate_model.article_features` after the first-pass columns."""
    from pipeline.boilerplate import BoilerplateConfig, rule_document
    from pipeline.boilerplate_model import article_features, base_features
    from pipeline.ingest import parse_bytes
    from pipeline.paragraphs import split_paragraphs

    rec = parse_bytes(page.html_bytes(), page.key, "html")
    text, article = (rec.text, rec.article_text or "") if rec.status == "ok" else ("", "")
    spans = split_paragraphs(text)
    texts = [text[s.start:s.end] for s in spans]
    doc = rule_document(texts, BoilerplateConfig(use_model=False))
    x, names = base_features(doc)
    extra, extra_names = article_features(texts, article)
    y = paragraph_labels(texts, page.gold())
    toks = [len(_TOKEN.findall(t)) for t in texts]
    return (np.hstack([x, extra]), names + extra_names, np.array(y, dtype=int), np.array(toks, dtype=float), texts,
            list(doc.reasons))


def _weights(pages_rows) -> np.ndarray:
    out = []
    for _x, _n, _y, toks, _t, _r in pages_rows:
        w = toks + 1.0
        out.append(w / w.sum() * len(w) if len(w) else w)
    return np.concatenate(out) if out else np.zeros(0)


MAX_ITER, MAX_LEAVES, LEARNING_RATE = 100, 31, 0.15


def _set_size(trees: int, leaves: int, learning_rate: float = LEARNING_RATE) -> None:
    global MAX_ITER, MAX_LEAVES, LEARNING_RATE
    MAX_ITER, MAX_LEAVES, LEARNING_RATE = trees, leaves, learning_rate


def _fit(x, y, w, seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=MAX_ITER, learning_rate=LEARNING_RATE, max_leaf_nodes=MAX_LEAVES, max_depth=7,
                                         min_samples_leaf=40, l2_regularization=1.0, random_state=seed,
                                         early_stopping=False)
    clf.fit(x, y, sample_weight=w)
    return clf


def export_ensemble(clf) -> dict:
    """The fitted HistGradientBoostingClassifier as flat arrays (see TreeEnsemble)."""
    feature, threshold, left, right, value, missing_left, roots = [], [], [], [], [], [], []
    depth = 0
    for (pred,) in clf._predictors:
        nodes = pred.nodes
        off = len(feature)
        roots.append(off)
        for nd in nodes:
            leaf = bool(nd["is_leaf"])
            feature.append(int(nd["feature_idx"]) if not leaf else 0)
            threshold.append(float(nd["num_threshold"]) if not leaf else 0.0)
            left.append(off + int(nd["left"]) if not leaf else -1)
            right.append(off + int(nd["right"]) if not leaf else -1)
            value.append(round(float(nd["value"]), 7) if leaf else 0.0)
            missing_left.append(int(bool(nd["missing_go_to_left"])))
            depth = max(depth, int(nd["depth"]))
    return {"feature": feature, "threshold": threshold, "left": left, "right": right, "value": value,
            "missing_left": missing_left, "roots": roots, "baseline": float(np.ravel(clf._baseline_prediction)[0]),
            "depth": depth + 1}


def _stack(rows, idx):
    return (np.vstack([rows[i][0] for i in idx]), np.concatenate([rows[i][2] for i in idx]))


def _second_rows(rows, idx, p1_by_page):
    from pipeline.boilerplate_model import second_pass_features

    return np.vstack([second_pass_features(rows[i][0], p1_by_page[i])[0] for i in idx])


def kept_text(texts, reasons, proba, threshold, hard, override=None) -> str:
    """The page's kept text under the decision of `pipeline.boilerplate.classify`."""
    override = threshold if override is None else override
    keep = []
    for t, r, p in zip(texts, reasons, proba):
        if r is not None and r.split(":", 1)[0] in hard:
            continue
        if p >= (threshold if r is None else override):
            keep.append(t)
    return "\n\n".join(keep)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="processes for the features")
    ap.add_argument("--hard-precision", type=float, default=0.97)
    ap.add_argument("--choose-share", type=float, default=0.5,
                    help="share of the training pages (fixed by hash) scored to choose the thresholds")
    ap.add_argument("--scorer", type=Path)
    ap.add_argument("--cache", type=Path, help="keep the rows and out-of-fold probabilities here (pickle, scratch)")
    ap.add_argument("--html", action="store_true",
                    help="fit the model of HTML pages (the page's whole text and trafilatura's article, "
                         "from the .html.gz pages) instead of the text-dump model")
    ap.add_argument("--out", type=Path, help="default: pipeline/models/boilerplate_model.json "
                                              "(with --html: boilerplate_model_html.json)")
    ap.add_argument("--trees", type=int, default=MAX_ITER, help="boosting iterations per pass")
    ap.add_argument("--leaves", type=int, default=MAX_LEAVES, help="leaves per tree")
    ap.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    args = ap.parse_args(argv)
    _set_size(args.trees, args.leaves, args.learning_rate)
    models = Path(__file__).resolve().parent.parent / "pipeline" / "models"
    args.out = args.out or models / ("boilerplate_model_html.json" if args.html else "boilerplate_model.json")
    rows_of = page_rows_html if args.html else page_rows
    scorer = load_scorer(args.scorer or args.corpus.resolve().parent.parent / "tools" / "score_extraction.py")
    t0 = time.perf_counter()
    pages = [p for p in load_pages(args.corpus, SETS) if p.split == "train"]
    print(f"training pages: {len(pages)} ({', '.join(f'{s} {sum(p.set == s for p in pages)}' for s in SETS)})")
    rows_cache = args.cache.with_suffix(".rows.pkl") if args.cache else None
    if rows_cache and rows_cache.exists():
        with open(rows_cache, "rb") as fh:
            rows = pickle.load(fh)
    else:
        if args.jobs > 1:
            from multiprocessing import Pool

            with Pool(args.jobs) as pool:
                rows = pool.map(rows_of, pages, chunksize=16)
        else:
            rows = [rows_of(p) for p in pages]
        if rows_cache:
            with open(rows_cache, "wb") as fh:  # eval-only scratch file, never shipped
                pickle.dump(rows, fh)
    names = rows[0][1]
    golds = [p.gold() for p in pages]
    n_par = sum(len(r[2]) for r in rows)
    n_pos = int(sum(r[2].sum() for r in rows))
    print(f"paragraphs: {n_par}, content by the labels: {n_pos} ({time.perf_counter() - t0:.0f} s)")

    # hard rules: precision of each rule family against the labels, by tokens
    claimed, boiler, npar = Counter(), Counter(), Counter()
    for _x, _n, y, toks, _t, reasons in rows:
        for r, lab, tk in zip(reasons, y, toks):
            if r is None:
                continue
            fam = r.split(":", 1)[0]
            claimed[fam] += tk + 1
            boiler[fam] += (tk + 1) * (1 - lab)
            npar[fam] += 1
    hard = []
    print("rule family          paragraphs  boilerplate share (tokens)")
    for fam in sorted(claimed, key=lambda f: -npar[f]):
        share = boiler[fam] / claimed[fam]
        is_hard = share >= args.hard_precision and npar[fam] >= 30
        hard.append(fam) if is_hard else None
        print(f"{fam:22s} {npar[fam]:9d}  {share:.3f}{'  hard' if is_hard else ''}")

    # out-of-fold first and second pass
    order = np.arange(len(pages))
    fold_of = np.array([hash_fold(p.key, args.folds) for p in pages])
    p1 = [None] * len(pages)
    for f in range(args.folds):
        tr, te = order[fold_of != f], order[fold_of == f]
        x, y = _stack(rows, tr)
        clf = _fit(x, y, _weights([rows[i] for i in tr]))
        for i in te:
            p1[i] = clf.predict_proba(rows[i][0])[:, 1] if len(rows[i][2]) else np.zeros(0)
    p2 = [None] * len(pages)
    for f in range(args.folds):
        tr, te = order[fold_of != f], order[fold_of == f]
        x2 = _second_rows(rows, tr, p1)
        y = np.concatenate([rows[i][2] for i in tr])
        clf2 = _fit(x2, y, _weights([rows[i] for i in tr]))
        for i in te:
            p2[i] = clf2.predict_proba(_second_rows(rows, [i], p1))[:, 1] if len(rows[i][2]) else np.zeros(0)
    print(f"out-of-fold passes done ({time.perf_counter() - t0:.0f} s)")

    if args.cache:
        with open(args.cache, "wb") as fh:  # eval-only scratch file, never shipped
            pickle.dump({"keys": [p.key for p in pages], "rows": rows, "p1": p1, "p2": p2, "hard": hard}, fh)

    choose = [i for i, p in enumerate(pages) if hash_fold(p.key, 1000) < args.choose_share * 1000]

    def evaluate(thr, override):
        per_set = []
        for s in SETS:
            idx = [i for i in choose if pages[i].set == s]
            counts = [scorer.page_counts(golds[i], kept_text(rows[i][4], rows[i][5], p2[i], thr, hard, override))
                      for i in idx]
            per_set.append(scorer.summarize(counts))
        return float(np.mean([f for f, _p, _r in per_set])), per_set

    best = None
    for thr in np.arange(0.25, 0.76, 0.05):
        mean_f1, per_set = evaluate(thr, thr)
        print(f"  threshold {thr:.2f}: mean F1 {mean_f1:.4f}", flush=True)
        if best is None or mean_f1 > best[0]:
            best = (mean_f1, float(round(thr, 2)), per_set)
    mean_f1, threshold, per_set = best
    override, best_o = threshold, best
    for o in np.arange(threshold + 0.1, 0.96, 0.1):  # soft rules overridden only when more sure
        mean_f1_o, per_set_o = evaluate(threshold, o)
        print(f"  override {o:.2f}: mean F1 {mean_f1_o:.4f}")
        if mean_f1_o > best_o[0]:
            override, best_o = float(round(o, 2)), (mean_f1_o, threshold, per_set_o)
    per_set = best_o[2]
    print(f"threshold {threshold:.2f}, override {override:.2f}: out-of-fold train F1 "
          + ", ".join(f"{s} {f:.3f} (P {p:.3f} R {r:.3f})" for s, (f, p, r) in zip(SETS, per_set)))

    # final fit on all training pages
    x, y = _stack(rows, order)
    w = _weights(rows)
    first = _fit(x, y, w)
    x2 = _second_rows(rows, order, p1)  # the second pass learns from out-of-fold probabilities
    second = _fit(x2, y, w)
    from pipeline.boilerplate_model import second_pass_features

    obj = {
        "format": 1,
        "feature_names": names,
        "second_feature_names": names + second_pass_features(rows[0][0], p1[0])[1],
        "first": export_ensemble(first),
        "second": export_ensemble(second),
        "threshold": threshold,
        "override_threshold": override,
        "hard_rules": sorted(hard),
        "meta": {
            "trained_on": "webpages train split (eval.webpages.split_of): "
                          + ", ".join(f"{s} {sum(p.set == s for p in pages)}" for s in SETS),
            "paragraphs": n_par, "content_paragraphs": n_pos,
            "out_of_fold_train_f1": {s: round(f, 4) for s, (f, _p, _r) in zip(SETS, per_set)},
            "script": "python -m eval.train_boilerplate --corpus ../shared/corpus/webpages "
                      + ("--html " if args.html else "") + f"--folds {args.folds} --trees {args.trees} --leaves {args.leaves} "
                      f"--learning-rate {args.learning_rate} --choose-share {args.choose_share}",
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(obj, separators=(",", ":")), "utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {time.perf_counter() - t0:.0f} s)")
    return 0


def hash_fold(key: str, folds: int) -> int:
    import hashlib

    return int.from_bytes(hashlib.blake2b(f"fold/{key}".encode(), digest_size=8).digest(), "big") % folds


if __name__ == "__main__":
    sys.exit(main())
