"""Choose the cue model's C and threshold by the published claims rows, on PolNeAR *train*.

    .venv/bin/python -m eval.cue_model_claims_cv --corpus ../shared/corpus/polnear \
        --cache /tmp/train.spacy --eval-cache /tmp/train_eval.spacy

`eval/train_cue_model.py` picks its threshold by the sentence-level F1 of rules + model;
the claims rows (issue #16) add the document-level speaker resolution, inheritance over
quotations and the claim policy. Here every train article is analysed with the cue model
fitted on the other folds of `train_cue_model` (the same 5 folds over the same shuffled
articles, seed 13), so no article is scored by a model that saw it, and the claims-row
P / R / F1 of `eval.polnear_attribution` is printed for each (C, threshold) asked for.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
from pathlib import Path

from eval.polnear_attribution import load_split


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="the parse cache of eval/train_cue_model.py")
    ap.add_argument("--eval-cache", type=Path, default=None, help="the parse cache of eval.polnear_attribution")
    ap.add_argument("--cs", default="0.15,0.3", help="inverse regularization strengths (comma-separated)")
    ap.add_argument("--thresholds", default="0.385,0.425,0.45,0.5", help="thresholds (comma-separated)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--strict", action="store_true", help="train labels of train_cue_model --strict")
    args = ap.parse_args(argv)

    import eval.polnear_attribution as E
    import pipeline.attribution as A
    import pipeline.claims as C
    from eval.train_cue_model import collect, fit
    from pipeline import nlp as nlp_mod

    arts = load_split(args.corpus, "train")
    random.Random(args.seed).shuffle(arts)
    fold_of = {a.name: i % args.folds for i, a in enumerate(arts)}
    rows = collect(arts, nlp_mod.load(), nlp_mod.load_sentencizer(), args.cache, False, args.strict)
    current: dict = {}
    original_analyze = C.analyze

    def analyze(doc, sent):
        current["model"] = current["models"][fold_of[sent.doc_id]]
        return original_analyze(doc, sent)

    C.analyze = analyze
    captured: dict = {}
    original_print = E.ClaimRowsTable.print

    def print_table(self):
        captured["all"] = self.scores["all"]
        original_print(self)

    E.ClaimRowsTable.print = print_table
    A.load_cue_model = lambda path=None: current["model"]
    print("| C | threshold | claims P | R | F1 | engine P | R | F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for c in [float(x) for x in args.cs.split(",")]:
        models = [fit([r for r in rows if r[0] % args.folds != k], c, args.seed, args.min_count)
                  for k in range(args.folds)]
        for t in [float(x) for x in args.thresholds.split(",")]:
            for m in models:
                m["threshold"] = t
            current["models"] = models
            out = io.StringIO()
            argv_eval = ["--corpus", str(args.corpus), "--split", "train", "--no-baselines"]
            if args.eval_cache:
                argv_eval += ["--cache", str(args.eval_cache)]
            with contextlib.redirect_stdout(out):
                E.main(argv_eval)
            lines = out.getvalue().splitlines()
            engine = next(l for l in lines if l.startswith("| all ") and "project" in l).split("|")
            k = next(i for i, l in enumerate(lines) if l.startswith("Published claims rows"))
            sc = captured["all"]
            p, r = sc.tp / sc.pred, sc.tp / sc.gold
            print(f"| {c} | {t} | {p:.4f} | {r:.4f} | {2 * p * r / (p + r):.4f} | "
                  f"{engine[5].strip()} | {engine[6].strip()} | {engine[7].strip()} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
