"""Train and evaluate the check-worthiness model of `pipeline.checkworthiness` on ClaimBuster.

    .venv/bin/python -m eval.checkworthiness --corpus /work/shared/corpus/claimbuster          # evaluate
    .venv/bin/python -m eval.checkworthiness --corpus /work/shared/corpus/claimbuster --save   # and ship

Reads `data/two_class/kfold_25ncs.json` (9,674 debate sentences, `label` 1 = check-worthy
factual claim). Each sentence goes through the same spaCy pipeline and the same
`pipeline.claims.analyze` the claims stage uses; the model reads the parsed tokens
(`pipeline.checkworthiness.Units`) and the eight sentence features. Prints:

* the baseline: ROC AUC of the 8-feature weights shipped until e885805 and of a logistic
  regression over those features (5-fold CV),
* the text model (word 1-3-grams, char 2-5-grams, POS 1-3-grams, function-word/POS
  patterns, the eight features; scikit-learn `HashingVectorizer`s in a `FeatureUnion`
  and a `LogisticRegression`): ROC AUC of each of the 5 folds, their mean, and the AUC of
  the pooled out-of-fold scores,
* calibration: Platt scaling fitted on the out-of-fold margins (as
  `CalibratedClassifierCV(method="sigmoid", ensemble=False)` does); Brier score, log
  loss and a reliability table, each fold calibrated by the other four folds' margins,
* the claim threshold: the operating point of the old score (probability >= 0.26, its
  best-F1 threshold) on these labels, and the best-F1 threshold of the new calibrated
  out-of-fold probabilities (the same rule: the value for
  `pipeline.claims.CLAIM_THRESHOLD`), with the thresholds keeping the old recall or the
  old precision beside,
* with `--save`: the model refitted on all sentences, written to
  `pipeline/models/checkworthiness.npz`, reloaded by the numpy runtime and compared with
  the scikit-learn pipeline on every sentence,
* model load time and scoring speed per 1,000 sentences (numpy runtime).

Needs scikit-learn (evaluation only, not a pipeline dependency: `pip install -e '.[eval]'`).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

from pipeline import checkworthiness as cw

FEATURES = list(cw.DENSE_FEATURES)
# the 8-feature logistic weights pipeline.claims shipped until e885805 (threshold 0.26)
BASELINE_WEIGHTS = {"bias": -2.466, "quantity": 2.866, "named_entity": 0.13, "entity_count": 1.598, "date": 0.918,
                    "attribution": 0.075, "long_enough": 0.608, "hedged": -0.555, "opinion": -1.428}
BASELINE_THRESHOLD = 0.26

# hyper-parameters of the text model: set by hand before the first run, not tuned on these folds
N_FEATURES = {"words": 2 ** 18, "chars": 2 ** 18, "pos": 2 ** 15, "mixed": 2 ** 16}
SCALES = {"words": 1.0, "chars": 1.0, "pos": 0.5, "mixed": 0.5}
DENSE_SCALE = 1.0
C = 4.0


def load(corpus: Path) -> list[dict]:
    path = corpus / "data" / "two_class" / "kfold_25ncs.json"
    if not path.exists():
        path = next(corpus.rglob("kfold_25ncs.json"))
    return json.loads(path.read_text(encoding="utf-8"))


def extract(rows: list[dict], cache: Path | None) -> list[dict]:
    """Per sentence: the model's units, the eight features, the label (cached as JSON)."""
    key = {"n": len(rows), "first": rows[0]["sentence_id"], "last": rows[-1]["sentence_id"],
           "units_version": cw.UNITS_VERSION}
    if cache and cache.exists():
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return data["records"]
    from pipeline import nlp as nlp_mod
    from pipeline.claims import SentenceInput, analyze

    nlp = nlp_mod.load()
    records = []
    t0 = time.perf_counter()
    # only the eight features are kept: no need for the shipped model's text margin or
    # score (and training must work without a model file)
    with (mock.patch.object(cw, "text_margin", lambda doc: 0.0),
          mock.patch.object(cw, "probability", lambda features: 0.0)):
        for r, doc in zip(rows, nlp.pipe((r["text"] for r in rows), batch_size=256)):
            a = analyze(doc, SentenceInput(str(r["sentence_id"]), "cb", "cb", r["text"], 0))
            records.append({"units": cw.Units.from_doc(doc).to_list(),
                            "features": {f: float(a.features.get(f, 0.0)) for f in FEATURES},
                            "label": int(r["label"])})
    print(f"parsed and analyzed {len(records)} sentences in {time.perf_counter() - t0:.1f} s")
    if cache:
        cache.write_text(json.dumps({"key": key, "records": records}), encoding="utf-8")
    return records


# ------------------------------------------------------------------ the scikit-learn pipeline
class BlockAnalyzer:
    """A picklable analyzer for `HashingVectorizer`: one block of `pipeline.checkworthiness`."""

    def __init__(self, block: str):
        self.block = block

    def __call__(self, record) -> list[str]:
        return cw.ANALYZERS[self.block](record["units"])


def dense_block(records):
    import numpy as np

    return np.array([[r["features"].get(f, 0.0) for f in FEATURES] for r in records], dtype=np.float64)


def as_inputs(records: list[dict]) -> list[dict]:
    """Records with their units as `Units` (what the analyzers read)."""
    return [{"units": cw.Units.from_list(r["units"]), "features": r["features"]} for r in records]


def sklearn_pipeline(n_features=None, scales=None, dense_scale=DENSE_SCALE, c=C):
    """The text model as a scikit-learn pipeline (what `pipeline.checkworthiness` reimplements)."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer

    n_features = n_features or N_FEATURES
    scales = scales or SCALES
    parts = [(b, HashingVectorizer(analyzer=BlockAnalyzer(b), n_features=n_features[b], alternate_sign=True,
                                   norm="l2")) for b in cw.BLOCKS]
    parts.append(("dense", FunctionTransformer(dense_block, accept_sparse=True)))
    weights = dict(scales, dense=dense_scale)
    union = FeatureUnion(parts, transformer_weights=weights)
    lr = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=0)
    return Pipeline([("features", union), ("lr", lr)])


def to_model(pipe, calib_a: float, calib_b: float, meta: dict, dense_scale=DENSE_SCALE) -> cw.Model:
    """The fitted scikit-learn pipeline as the runtime's `Model` (weights per block)."""
    coef = pipe.named_steps["lr"].coef_[0]
    union = pipe.named_steps["features"]
    n_features = {b: union.get_params()[b].n_features for b in cw.BLOCKS}
    scales = {b: float(union.transformer_weights[b]) for b in cw.BLOCKS}
    weights, start = {}, 0
    for b in cw.BLOCKS:
        weights[b] = coef[start:start + n_features[b]].copy()
        start += n_features[b]
    dense = {f: float(coef[start + i]) * dense_scale for i, f in enumerate(FEATURES)}
    return cw.Model(n_features, scales, weights, dense, float(pipe.named_steps["lr"].intercept_[0]),
                    float(calib_a), float(calib_b), meta)


def platt(margins, y) -> tuple[float, float]:
    """Platt scaling: p = sigmoid(a * margin + b), a 1-D logistic regression (no penalty)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(margins).reshape(-1, 1), y)
    return float(lr.coef_[0][0]), float(lr.intercept_[0])


def sigmoid(x):
    import numpy as np

    return 1.0 / (1.0 + np.exp(-x))


def precision_recall(prob, y, t):
    pred = prob >= t
    tp = float((pred & (y == 1)).sum())
    return (tp / pred.sum() if pred.sum() else 0.0), tp / (y == 1).sum()


def reliability(prob, y, bins=10):
    import numpy as np

    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (prob >= lo) & ((prob < hi) if hi < 1 else (prob <= hi))
        if sel.sum():
            rows.append((lo, hi, int(sel.sum()), float(prob[sel].mean()), float(y[sel].mean())))
            ece += sel.sum() / len(y) * abs(prob[sel].mean() - y[sel].mean())
    return rows, float(ece)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="the ClaimBuster folder (holding data/)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None, help="JSON file keeping the parsed units between runs")
    ap.add_argument("--C", type=float, default=C, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--save", action="store_true", help=f"refit on all sentences and write {cw.MODEL_PATH.name}")
    ap.add_argument("--out", type=Path, default=cw.MODEL_PATH)
    ap.add_argument("--ablation", action="store_true", help="also the 5-fold CV AUC of the model without each block")
    ap.add_argument("--bench-only", action="store_true", help="only the load time and scoring speed of --out")
    args = ap.parse_args(argv)

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = load(args.corpus)
    if args.limit:
        rows = rows[: args.limit]
    if args.bench_only:
        bench(args.out, rows)
        return 0
    records = extract(rows, args.cache)
    inputs = as_inputs(records)
    y = np.array([r["label"] for r in records])
    X8 = dense_block(records)
    print(f"ClaimBuster 2.5xNCS: {len(y)} sentences, {y.mean():.1%} check-worthy")

    # ---- baseline: the 8-feature score
    z0 = BASELINE_WEIGHTS["bias"] + X8 @ np.array([BASELINE_WEIGHTS[f] for f in FEATURES])
    p0 = sigmoid(z0)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    p8 = cross_val_predict(LogisticRegression(max_iter=1000), X8, y, cv=cv, method="predict_proba")[:, 1]
    print(f"baseline ROC AUC, 8-feature weights shipped until e885805: {roc_auc_score(y, p0):.3f}; "
          f"8-feature logistic regression, 5-fold CV: {roc_auc_score(y, p8):.3f}")

    # ---- the text model, 5-fold CV
    margins = np.zeros(len(y))
    fold_of = np.zeros(len(y), dtype=int)
    fold_aucs = []
    t0 = time.perf_counter()
    for k, (tr, te) in enumerate(cv.split(X8, y)):
        pipe = sklearn_pipeline(c=args.C).fit([inputs[i] for i in tr], y[tr])
        margins[te] = pipe.decision_function([inputs[i] for i in te])
        fold_of[te] = k
        fold_aucs.append(roc_auc_score(y[te], margins[te]))
    print(f"text model ROC AUC, 5-fold CV (C={args.C}): folds "
          + " ".join(f"{a:.3f}" for a in fold_aucs)
          + f"; mean {np.mean(fold_aucs):.3f} (sd {np.std(fold_aucs):.3f}); pooled out-of-fold {roc_auc_score(y, margins):.3f}"
          f"  [{time.perf_counter() - t0:.0f} s]")

    if args.ablation:
        for drop in [*cw.BLOCKS, "dense"]:
            scales = {b: (0.0 if b == drop else SCALES[b]) for b in cw.BLOCKS}
            z = np.zeros(len(y))
            for tr, te in cv.split(X8, y):
                pipe = sklearn_pipeline(scales=scales, dense_scale=0.0 if drop == "dense" else DENSE_SCALE,
                                        c=args.C).fit([inputs[i] for i in tr], y[tr])
                z[te] = pipe.decision_function([inputs[i] for i in te])
            name = "the 8 sentence features" if drop == "dense" else f"the {drop} block"
            print(f"  ablation: without {name}: pooled out-of-fold ROC AUC {roc_auc_score(y, z):.3f}")

    # ---- calibration (Platt on out-of-fold margins; checked fold by fold on held-out margins)
    a, b = platt(margins, y)
    p_cv = np.zeros(len(y))
    for k in range(5):
        ak, bk = platt(margins[fold_of != k], y[fold_of != k])
        p_cv[fold_of == k] = sigmoid(ak * margins[fold_of == k] + bk)
    p_raw = sigmoid(margins)
    rows_rel, ece = reliability(p_cv, y)
    _, ece_raw = reliability(p_raw, y)
    print(f"calibration: Platt p = sigmoid({a:.4f} * margin + {b:.4f}) on the out-of-fold margins; held-out "
          f"(each fold calibrated by the other four): Brier {brier_score_loss(y, p_cv):.4f}, log loss "
          f"{log_loss(y, p_cv):.4f}, ECE {ece:.4f} (uncalibrated sigmoid(margin): Brier "
          f"{brier_score_loss(y, p_raw):.4f}, log loss {log_loss(y, p_raw):.4f}, ECE {ece_raw:.4f})")
    print("  reliability (held-out calibrated): bin      n   mean p   observed")
    for lo, hi, n, mp, obs in rows_rel:
        print(f"                                    {lo:.1f}-{hi:.1f} {n:5d}   {mp:.3f}    {obs:.3f}")

    # ---- the claim threshold: the same rule as the old one (best F1), next to the old operating point
    prob = sigmoid(a * margins + b)
    prec0, rec0 = precision_recall(p0, y, BASELINE_THRESHOLD)
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    pr = {float(t): precision_recall(prob, y, t) for t in grid}
    f1 = {t: (2 * p * r / (p + r) if p + r else 0.0) for t, (p, r) in pr.items()}
    best_t = max(f1, key=lambda t: (f1[t], -t))
    same_recall = max(t for t, (_p, r) in pr.items() if r >= rec0)
    same_precision = min(t for t, (p, _r) in pr.items() if p >= prec0)
    print(f"old operating point (8-feature score >= {BASELINE_THRESHOLD}, the best-F1 threshold of that score): "
          f"precision {prec0:.3f}, recall {rec0:.3f}, F1 {2 * prec0 * rec0 / (prec0 + rec0):.3f}, "
          f"{(p0 >= BASELINE_THRESHOLD).mean():.1%} of sentences pass")
    for name, t in [("CLAIM_THRESHOLD (best F1, the rule of the old threshold)", best_t),
                    (f"  same recall as the old point (highest t with recall >= {rec0:.3f})", same_recall),
                    (f"  same precision as the old point (lowest t with precision >= {prec0:.3f})", same_precision)]:
        p_, r_ = pr[t]
        print(f"{name}: {t:.2f} on the calibrated out-of-fold probabilities: precision {p_:.3f}, recall {r_:.3f}, "
              f"F1 {f1[t]:.3f}, {(prob >= t).mean():.1%} of sentences pass")

    if args.save:
        pipe = sklearn_pipeline(c=args.C).fit(inputs, y)
        meta = {
            "trained_on": "ClaimBuster 2.5xNCS (data/two_class/kfold_25ncs.json)", "n_sentences": int(len(y)),
            "C": args.C, "cv_auc_folds": [round(float(x), 4) for x in fold_aucs],
            "cv_auc_mean": round(float(np.mean(fold_aucs)), 4), "oof_auc": round(float(roc_auc_score(y, margins)), 4),
            "claim_threshold": float(best_t), "threshold_rule":
                "best F1 of the calibrated out-of-fold probabilities (thresholds 0.01 .. 0.99)",
            "sklearn_version": __import__("sklearn").__version__, "script": "eval/checkworthiness.py",
        }
        model = to_model(pipe, a, b, meta)
        cw.save(args.out, model)
        shipped = cw.load(args.out)
        p_sk = sigmoid(a * pipe.decision_function(inputs) + b)
        p_np = np.array([shipped.probability(r["features"], shipped.text_margin(r["units"])) for r in inputs])
        print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB); numpy runtime vs scikit-learn on all "
              f"{len(y)} sentences: max |dp| {np.abs(p_np - p_sk).max():.2e} (float16 weights), in-sample AUC "
              f"{roc_auc_score(y, p_np):.3f}")

    bench(args.out, rows)
    return 0


def bench(path: Path, rows: list[dict], n: int = 1000) -> None:
    """Model load time (in this process and in a fresh one) and scoring speed on parsed sentences."""
    import numpy as np

    if not path.exists():
        return
    loads = []
    for _ in range(5):
        t0 = time.perf_counter()
        m = cw.load(path)
        loads.append(time.perf_counter() - t0)
    code = ("import time; t0 = time.perf_counter(); from pipeline import checkworthiness as cw; "
            f"t1 = time.perf_counter(); cw.load({str(path)!r}); print(t1 - t0, time.perf_counter() - t1)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()
    fresh_import, fresh_load = float(out[0]), float(out[1])
    print(f"model load ({path.stat().st_size / 1e6:.2f} MB file): {np.median(loads) * 1000:.0f} ms (median of 5 "
          f"in this process); in a fresh process {fresh_load * 1000:.0f} ms, after {fresh_import * 1000:.0f} ms "
          "importing numpy and the module")

    from pipeline import nlp as nlp_mod
    from pipeline.claims import SentenceInput, analyze

    nlp = nlp_mod.load()
    texts = [r["text"] for r in rows[:n]]
    t0 = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=256))
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    feats = [analyze(doc, SentenceInput("s", "d", "p", doc.text, 0)).features for doc in docs]
    t_analyze = time.perf_counter() - t0
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for doc, f in zip(docs, feats):
            m.probability(f, m.text_margin(cw.Units.from_doc(doc)))
        runs.append(time.perf_counter() - t0)
    print(f"scoring {len(docs)} parsed sentences (tokens -> n-grams -> hashed rows -> calibrated probability): "
          f"{min(runs):.3f} s (best of 3), {min(runs) / len(docs) * 1000:.2f} ms per sentence; for scale, spaCy's "
          f"parse of them took {t_parse:.1f} s and pipeline.claims.analyze (scoring included) {t_analyze:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
