"""Time the paragraph stage (`pipeline.build.paragraphs_table`) on BBC articles.

    .venv/bin/python -m bench.paragraph_stage --corpus ../shared/corpus/bbc --limit 600 [--repeat 5]

Builds the documents frame of the first N articles (decoded as `pipeline run` decodes a
`.txt` file), then times `paragraphs_table` with the learned model on and off, alternating
(`--repeat` rounds, each a pair), in this process, and prints the medians and their
difference. The same script run with `PYTHONPATH` on an export of an earlier commit (where
`BoilerplateConfig` has no `use_model`) times that commit's stage: there both rows are the
same code.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import pandas as pd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--limit", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    from eval.corpus import bbc_articles
    from pipeline import boilerplate, build
    from pipeline.ingest import decode_bytes

    arts = bbc_articles(args.corpus)[: args.limit]
    texts = [decode_bytes(t.encode("utf-8"))[0] for _id, t in arts]
    docs = pd.DataFrame({"doc_id": [a for a, _t in arts], "status": "ok", "text": texts})
    has_model = "use_model" in boilerplate.BoilerplateConfig.__dataclass_fields__
    configs = {"rules only": {"use_model": False}, "rules + model": {"use_model": True}} if has_model \
        else {"this commit": {}}
    build.paragraphs_table(docs.head(5), boilerplate.BoilerplateConfig(**list(configs.values())[-1]))  # warm up
    times: dict[str, list[float]] = {k: [] for k in configs}
    for r in range(args.repeat):
        names = list(configs) if r % 2 == 0 else list(reversed(configs))
        for name in names:
            t0 = time.perf_counter()
            out = build.paragraphs_table(docs, boilerplate.BoilerplateConfig(**configs[name]))
            times[name].append(time.perf_counter() - t0)
            kept = int((out["status"] == "kept").sum())
    print(f"{len(docs)} articles, {len(out)} paragraphs ({kept} kept with the last config), module {build.__file__}")
    for name, ts in times.items():
        print(f"{name:14s} median {statistics.median(ts):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in ts)})")
    if len(times) == 2:
        a, b = (statistics.median(ts) for ts in times.values())
        print(f"difference {b - a:+.3f} s ({(b - a) / a * 100:+.0f} % of the stage)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
