"""Calibrate the check-worthiness weights of `pipeline.claims` on ClaimBuster.

    .venv/bin/python -m eval.checkworthiness --corpus /work/shared/corpus/claimbuster

Reads `data/two_class/kfold_25ncs.json` (9,674 debate sentences, `label` 1 = check-worthy
factual claim). Each sentence goes through the same spaCy pipeline and the same
`pipeline.claims.analyze` features the claims stage uses (quantity, named_entity,
entity_count, date, attribution, long_enough, hedged, opinion). Prints:

* ROC AUC of the weights currently in `pipeline.claims.WEIGHTS`,
* 5-fold cross-validated ROC AUC of a logistic regression over the same features,
* the probability threshold with the best F1 (a candidate CLAIM_THRESHOLD),
* the logistic regression refitted on all sentences, as a WEIGHTS dict to paste into
  claims.py (plain numbers: no pickled model is shipped).

Needs scikit-learn (evaluation only, not a pipeline dependency).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FEATURES = ["quantity", "named_entity", "entity_count", "date", "attribution", "long_enough", "hedged", "opinion"]


def load(corpus: Path) -> list[dict]:
    path = corpus / "data" / "two_class" / "kfold_25ncs.json"
    if not path.exists():
        path = next(corpus.rglob("kfold_25ncs.json"))
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="the ClaimBuster folder (holding data/)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    args = ap.parse_args(argv)

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from pipeline import nlp as nlp_mod
    from pipeline.claims import WEIGHTS, SentenceInput, analyze, checkworthiness

    rows = load(args.corpus)
    if args.limit:
        rows = rows[: args.limit]
    nlp = nlp_mod.load()
    X, y, current = [], [], []
    texts = [r["text"] for r in rows]
    for r, doc in zip(rows, nlp.pipe(texts, batch_size=256)):
        a = analyze(doc, SentenceInput(str(r["sentence_id"]), "cb", "cb", r["text"], 0))
        X.append([a.features.get(f, 0.0) for f in FEATURES])
        y.append(int(r["label"]))
        current.append(checkworthiness(a.features))
    X, y = np.array(X), np.array(y)
    print(f"ClaimBuster 2.5xNCS: {len(y)} sentences, {y.mean():.1%} check-worthy")
    print(f"ROC AUC, current WEIGHTS:                 {roc_auc_score(y, current):.3f}")
    model = LogisticRegression(C=args.C, max_iter=1000)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    prob = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    print(f"ROC AUC, logistic regression (5-fold CV): {roc_auc_score(y, prob):.3f}")
    model.fit(X, y)
    fitted = {"bias": round(float(model.intercept_[0]), 3)}
    fitted.update({f: round(float(w), 3) for f, w in zip(FEATURES, model.coef_[0])})
    z = fitted["bias"] + X @ np.array([fitted[f] for f in FEATURES])
    print(f"ROC AUC, fitted weights (in-sample):      {roc_auc_score(y, z):.3f}")
    best = (0.0, 0.5)
    for t in np.arange(0.05, 0.95, 0.01):
        pred = prob >= t
        tp = float((pred & (y == 1)).sum())
        f1 = 2 * tp / (pred.sum() + (y == 1).sum()) if tp else 0.0
        best = max(best, (f1, round(float(t), 2)))
    print(f"threshold with the best F1 (5-fold CV probabilities): {best[1]} (F1 {best[0]:.3f})")
    print("\nfitted WEIGHTS (paste into pipeline/claims.py):")
    print(json.dumps(fitted, indent=4))
    print("\nfeature means (label 1 / label 0):")
    for i, f in enumerate(FEATURES):
        print(f"  {f:<13} {X[y == 1, i].mean():.3f} / {X[y == 0, i].mean():.3f}   current {WEIGHTS.get(f)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
