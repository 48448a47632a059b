"""What the optional claims pre-filter (`pipeline.candidates`) saves and changes.

    .venv/bin/python -m bench.prefilter --corpus ../shared/corpus/bbc --limit 100

Builds documents, paragraphs and sentences in this process, then the claims tables
twice (every sentence parsed; only candidate sentences parsed), in this process
(PIPELINE_NLP_PROCESSES=1), and prints the seconds, the sentences skipped and how
many claim rows differ.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.run import _copy, corpus_files


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.prefilter")
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--limit", type=int, default=100)
    args = p.parse_args(argv)
    from pipeline import build, distributed, nlp

    distributed.configure(processes=1)
    from pipeline.candidates import is_candidate

    work = Path(tempfile.mkdtemp(prefix="bench-prefilter-"))
    try:
        _copy(corpus_files(args.corpus.resolve())[:args.limit], args.corpus.resolve(), work)
        docs = build.documents_table(work)
        paras = build.paragraphs_table(docs)
        sents = build.sentences_table(paras, nlp.load_sentencizer())
        model = nlp.load()
        t0 = time.perf_counter()
        full, _q, _e = build.claims_tables(sents, paras, model)
        t1 = time.perf_counter()
        fast, _q2, _e2 = build.claims_tables(sents, paras, model, prefilter=is_candidate)
        t2 = time.perf_counter()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    skipped = int((~sents["text"].map(is_candidate)).sum())
    cols = ["claim_id", "speaker", "speaker_type", "cue", "quote_type", "checkworthiness"]
    a = full[cols].set_index("claim_id")
    b = fast[cols].set_index("claim_id")
    missing = len(a.index.difference(b.index))
    extra = len(b.index.difference(a.index))
    common = a.index.intersection(b.index)
    changed = int((a.loc[common].fillna("") != b.loc[common].fillna("")).any(axis=1).sum())
    print(f"{args.limit} articles, {len(sents)} sentences, {skipped} skipped by the pre-filter "
          f"({skipped / max(1, len(sents)):.1%})")
    print(f"claims, every sentence parsed:   {t1 - t0:6.1f} s, {len(full)} claims")
    print(f"claims, candidates only:         {t2 - t1:6.1f} s, {len(fast)} claims")
    print(f"claim rows missing {missing}, extra {extra}, changed (speaker/cue/score) {changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
