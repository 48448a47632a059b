"""Benchmark: a year-sized corpus through the real `pipeline run`, 1,000 articles at a time.

    .venv/bin/python -m bench.scale --corpus ../shared/corpus/bbc --copies 10          # 22,250 articles
    .venv/bin/python -m bench.scale --corpus ../shared/corpus/bbc --copies 2 --step 1000   # a quicker look

The corpus is the BBC articles replicated `--copies` times; copy j > 0 of an article gets
a small edit (a dateline sentence naming the edition and one word changed in its first
paragraph), so copies are near-duplicates of each other as reprints are, never byte-equal.
The articles are dropped into the raw folder `--step` at a time, each step followed by
one `pipeline run` into the same warehouse (fresh DAGSTER_HOME at the start), as a
newsroom's daily arrivals would be. Printed per step: articles in the corpus, seconds,
seconds per 1,000 new articles, peak RSS of the process tree (psutil, every 50 ms, and its
PSS, which counts a page shared by two processes once,
NLP workers included). At the end: one more article into the full corpus (+1) and that
article alone into an empty warehouse, and the ratios the issue asks for:

  peak RSS of any step < 2 GB; last step's s/1,000 <= 1.3 x the first's; +1 <= 1.5 x alone.

Nothing is written into the corpus folder.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from pathlib import Path

from bench.run import _read_text, corpus_files, pipeline_run

EDITIONS = ["Morning", "Evening", "Weekend", "Late", "City", "Country", "Online", "Wire", "Regional", "Digital"]


def _edited(text: str, j: int, rng: random.Random) -> str:
    """Copy j of an article: a dateline sentence first, one word of the first paragraph changed."""
    if j == 0:
        return text
    lines = text.split("\n")
    body = next((i for i, line in enumerate(lines[1:], 1) if len(line.split()) > 8), None)
    if body is not None:
        words = lines[body].split(" ")
        k = rng.randrange(len(words))
        words[k] = words[k].upper() if words[k].islower() else words[k].lower()
        lines[body] = " ".join(words)
    head = f"({EDITIONS[j % len(EDITIONS)]} edition {j})"
    return "\n".join(lines[:1] + [head] + lines[1:])


def corpus(source: Path, copies: int, seed: int = 7) -> list[tuple[str, str]]:
    """(file name, text) of every article of every copy, copies interleaved so that each
    step of the run gets articles of all topics and copies."""
    rng = random.Random(seed)
    files = corpus_files(source)
    texts = [_read_text(f) for f in files]
    names = ["__".join(f.relative_to(source).parts) for f in files]
    out = []
    for j in range(copies):
        for name, text in zip(names, texts):
            out.append((f"c{j:02d}__{name}", _edited(text, j, rng)))
    rng.shuffle(out)
    return out


def _detail(r: dict) -> str:
    """Which processes held the peak (MB per role at that moment) and each role's own peak."""
    at = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r.get("peak_detail", {}).items()))
    own = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r.get("role_peaks", {}).items()))
    return (f"at the peak ({r.get('peak_at', 0):.1f} s in): {at}; each role's own peak: {own}; "
            f"peak without forks not yet exec'd {r.get('peak_rss_no_fork_mb', 0):,.0f} MB; "
            f"peak PSS {r.get('peak_pss_mb', 0):,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="the BBC corpus folder")
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--step", type=int, default=1000, help="articles dropped before each pipeline run")
    ap.add_argument("--keep", type=Path, help="keep the raw folder and warehouse here")
    ap.add_argument("--trace", type=Path, help="write each run's RSS samples per process role here (JSON)")
    args = ap.parse_args(argv)
    articles = corpus(args.corpus.resolve(), args.copies)
    extra_name, extra_text = articles.pop()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    raw, wh, home = root / "raw", root / "wh", root / "home"
    raw.mkdir(parents=True, exist_ok=True)
    print(f"{len(articles)} articles in steps of {args.step} into {wh}", flush=True)
    rows = []
    try:
        for start in range(0, len(articles), args.step):
            chunk = articles[start:start + args.step]
            for name, text in chunk:
                (raw / name).write_text(text, encoding="utf-8")
            trace: list | None = [] if args.trace else None
            r = pipeline_run(raw, wh, home, trace=trace)
            if trace is not None:
                args.trace.mkdir(parents=True, exist_ok=True)
                (args.trace / f"step_{start + len(chunk)}.json").write_text(json.dumps(trace))
            per_k = r["seconds"] / len(chunk) * 1000
            rows.append((start + len(chunk), len(chunk), r["seconds"], per_k, r["peak_rss_mb"],
                         r["peak_rss_no_fork_mb"], r["peak_pss_mb"]))
            print(f"  {start + len(chunk):>6} articles: +{len(chunk)} in {r['seconds']:7.1f} s "
                  f"({per_k:6.1f} s / 1,000), peak RSS {r['peak_rss_mb']:,.0f} MB", flush=True)
            print(f"         {_detail(r)}", flush=True)
        (raw / extra_name).write_text(extra_text, encoding="utf-8")
        trace = [] if args.trace else None
        plus_one = pipeline_run(raw, wh, home, trace=trace)
        if trace is not None:
            (args.trace / "plus_one.json").write_text(json.dumps(trace))
        alone_raw = root / "alone" / "raw"
        alone_raw.mkdir(parents=True, exist_ok=True)
        (alone_raw / extra_name).write_text(extra_text, encoding="utf-8")
        alone = pipeline_run(alone_raw, root / "alone" / "wh", root / "alone" / "home")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    runs = rows + [(0, 0, 0, 0, plus_one["peak_rss_mb"], plus_one["peak_rss_no_fork_mb"], plus_one["peak_pss_mb"])]
    peak, peak_no_fork, peak_pss = (max(r[i] for r in runs) for i in (4, 5, 6))
    full = [r for r in rows if r[1] == args.step] or rows  # a last, partial step pays the fixed costs on fewer articles
    first, last = full[0][3], full[-1][3]
    print(f"  +1: {_detail(plus_one)}\n  alone: {_detail(alone)}")
    print(f"+1 article into {rows[-1][0]:,}: {plus_one['seconds']:.1f} s (peak RSS {plus_one['peak_rss_mb']:,.0f} MB); "
          f"that article alone: {alone['seconds']:.1f} s")
    print(f"peak RSS {peak:,.0f} MB (target < 2,048; without forks not yet exec'd {peak_no_fork:,.0f} MB, "
          f"peak PSS {peak_pss:,.0f} MB); last / first full step per 1,000: {last / first:.2f} "
          f"(target <= 1.3); +1 / alone: {plus_one['seconds'] / alone['seconds']:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
