"""The real paragraph stage on the TRAINING pages, with out-of-fold model probabilities.

    .venv/bin/python -m eval.stage_oof --corpus ../shared/corpus/webpages --cache /tmp/bp6/c1.pkl \
        [--model pipeline/models/boilerplate_model.json] [--set readability]
        [--threshold 0.4,0.45] [--override 0.5,0.7] [--tail-proba none,0.7] [--families dateline,dateline+byline]

`eval/train_boilerplate.py --cache FILE` keeps, for every training page, its rows and the
out-of-fold probabilities of the second pass (the model fitted without the page's fold).
This script runs the stage as `eval.webpages` runs it (`pipeline.build.paragraphs_table`,
then `mark_site_templates` over the scored pages as one corpus) on those training pages,
with each page's out-of-fold probabilities in place of the shipped model's (which saw the
page), and prints the shared scorer's P/R/F1 per set and the mean F1 of the three sets for
each combination of the stage's settings given. That is how the stage's own decisions
(which rules the model may override and from which probability, the site-template guard)
are chosen without the held-back pages. The hard rules are the training run's.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import pickle
import sys
from pathlib import Path

import numpy as np

from eval.webpages import SETS, Page, decoded_documents, load_pages, load_scorer, score


def _key(paragraphs) -> str:
    return hashlib.blake2b("\x00".join(paragraphs).encode("utf-8"), digest_size=16).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--cache", required=True, type=Path, help="the --cache file of eval/train_boilerplate.py")
    ap.add_argument("--model", type=Path, help="model JSON (its thresholds are the defaults; default: the shipped one)")
    ap.add_argument("--set", action="append", choices=SETS)
    ap.add_argument("--threshold", help="comma-separated (default: the model's)")
    ap.add_argument("--override", help="comma-separated override thresholds (default: the model's)")
    ap.add_argument("--tail-proba", default=None, help="comma-separated tail_override_min_proba values, 'none' for None")
    ap.add_argument("--families", default=None, help="comma-separated model_overrides_families, '+' inside one")
    ap.add_argument("--scorer", type=Path)
    args = ap.parse_args(argv)

    from pipeline import boilerplate, boilerplate_model
    from pipeline.build import mark_site_templates, paragraphs_table
    from pipeline.templates import TemplateCounter

    with open(args.cache, "rb") as fh:  # eval-only scratch file written by train_boilerplate
        cache = pickle.load(fh)
    proba_of = {_key(row[4]): p for row, p in zip(cache["rows"], cache["p2"])}
    model = boilerplate_model.load_model(str(args.model) if args.model else None)
    model.hard_rules = frozenset(cache["hard"])
    looked_up = [0, 0]  # pages found in the cache, other calls (ingest's title guess)

    def content_proba(self, doc):
        p = proba_of.get(_key(doc.paragraphs))
        looked_up[p is None] += 1
        return p if p is not None else np.zeros(len(doc))

    boilerplate_model.Model.content_proba = content_proba
    boilerplate_model.load_model = lambda path=None: model
    # the rules do not depend on the settings tried here: run them once per page
    rule_document, documents = boilerplate.rule_document, {}

    def memo_rule_document(paragraphs, config=boilerplate.BoilerplateConfig(), templates=None):
        if config.only_rules is not None or templates is not None:
            return rule_document(paragraphs, config, templates)
        k = _key(paragraphs)
        if k not in documents:
            documents[k] = rule_document(paragraphs, config, templates)
        documents[k].config = config
        return documents[k]

    boilerplate.rule_document = memo_rule_document

    scorer = load_scorer(args.scorer or args.corpus.resolve().parent.parent / "tools" / "score_extraction.py")
    sets = tuple(args.set or SETS)
    keys = set(cache["keys"])
    pages = [p for p in load_pages(args.corpus, sets) if p.key in keys]
    docs = decoded_documents(pages, "txt", Page.dump_bytes)
    floats = lambda text, default: [None if v == "none" else float(v) for v in text.split(",")] if text else [default]
    default = boilerplate.BoilerplateConfig()
    grid = itertools.product(
        floats(args.threshold, model.threshold), floats(args.override, model.override_threshold),
        floats(args.tail_proba, default.tail_override_min_proba),
        [tuple(f for f in v.split("+") if f) for v in args.families.split(",")] if args.families
        else [default.model_overrides_families])
    print(f"training pages: {len(pages)} ({', '.join(f'{s} {sum(p.set == s for p in pages)}' for s in sets)}); "
          f"hard rules {sorted(model.hard_rules)}")
    for thr, override, tail, families in grid:
        model.threshold, model.override_threshold = thr, override
        config = boilerplate.BoilerplateConfig(model_overrides_families=families, tail_override_min_proba=tail)
        paras = paragraphs_table(docs, config)
        mark_site_templates(paras, TemplateCounter(), set())
        kept = {p.key: "" for p in pages}
        for key, texts in paras[paras["status"] == "kept"].sort_values(["doc_id", "ordinal"]).groupby("doc_id")["text"]:
            kept[key] = "\n\n".join(texts)
        res = [score(scorer, [p for p in pages if p.set == s], kept) for s in sets]
        print(f"threshold {thr:.2f} override {override:.2f} tail-proba {tail} families {'+'.join(families) or '-'}: "
              + "  ".join(f"{s} P {p:.3f} R {r:.3f} F1 {f:.3f}" for s, (f, p, r) in zip(sets, res))
              + f"  mean F1 {np.mean([r[0] for r in res]):.4f}", flush=True)
    if looked_up[0] == 0:
        print("no page was found in the cache: its rows come from another version of the rules?", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
