"""Benchmark: one .jsonl of N short articles against the same N articles as N .txt files.

    .venv/bin/python -m bench.jsonl_vs_files --n 2000
    .venv/bin/python -m bench.jsonl_vs_files --n 2000 --rounds 2 --keep /tmp/jvf

The articles are short wire stories (a headline and two to four sentences made from the
templates of `bench.near_identical`, every article distinct). Each layout gets a real
`pipeline run` (`bench.run.pipeline_run`: fresh DAGSTER_HOME and warehouse, wall clock
from outside, peak RSS of the process tree) in this one invocation, the layouts
alternating between rounds (this shared VM's speed drifts). Prints the seconds per
article of each, their ratio (issue #17's target: the .jsonl within 1.5x of plain
files), the batch runs each made, and the Dagster step seconds per stage side by side,
so a stage where the .jsonl costs more per article shows.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.near_identical import TEMPLATES
from bench.run import _stage_rows, pipeline_run


def short_articles(n: int, seed: int = 17) -> list[str]:
    """`n` distinct short articles: a headline line, a blank line, 2-4 template sentences."""
    r = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        body = " ".join(r.choice(TEMPLATES)(r) for _ in range(r.randint(2, 4)))
        if body in seen:
            continue
        seen.add(body)
        head = body.split(" on ")[0].rstrip(".")[:70]
        out.append(f"{head}\n\n{body}\n")
    return out


def write_layouts(articles: list[str], root: Path) -> tuple[Path, Path]:
    jsonl, files = root / "raw_jsonl", root / "raw_files"
    jsonl.mkdir(parents=True)
    files.mkdir(parents=True)
    with open(jsonl / "feed.jsonl", "w", encoding="utf-8") as fh:
        for text in articles:
            fh.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    for i, text in enumerate(articles):
        (files / f"article_{i:06d}.txt").write_text(text, encoding="utf-8")
    return jsonl, files


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.jsonl_vs_files", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000, help="articles (lines of the .jsonl, .txt files)")
    p.add_argument("--rounds", type=int, default=1, help="runs of each layout, alternating")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--keep", type=Path, help="keep the raw folders and warehouses here")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="jsonl_vs_files_")) if args.keep is None else args.keep
    root.mkdir(parents=True, exist_ok=True)
    try:
        raws = dict(zip(("jsonl", "files"), write_layouts(short_articles(args.n, args.seed), root / "raw")))
        seconds: dict[str, list[float]] = {"jsonl": [], "files": []}
        stages: dict[str, dict[str, float]] = {}
        for k in range(args.rounds):
            for layout in (("jsonl", "files") if k % 2 == 0 else ("files", "jsonl")):
                run = root / f"{layout}{k}"
                shutil.rmtree(run, ignore_errors=True)
                r = pipeline_run(raws[layout], run / "wh", run / "home")
                seconds[layout].append(r["seconds"])
                stages[layout] = r["stage_seconds"]
                batches = next((line for line in r["stdout"].splitlines() if line.startswith("files:")), "")
                print(f"{layout:>5}: {r['seconds']:7.1f} s for {args.n:,} articles = "
                      f"{1000 * r['seconds'] / args.n:6.1f} ms/article; peak RSS {r['peak_rss_mb']:.0f} MB; {batches}",
                      flush=True)
        sj, sf = statistics.median(seconds["jsonl"]), statistics.median(seconds["files"])
        print(f"per article: .jsonl {1000 * sj / args.n:.1f} ms, .txt files {1000 * sf / args.n:.1f} ms; "
              f"ratio jsonl/files {sj / sf:.2f} (target <= 1.5)")
        rows_j, rows_f = dict(_stage_rows(stages["jsonl"])), dict(_stage_rows(stages["files"]))
        print(f"{'step seconds (last run)':<32} {'jsonl':>8} {'files':>8}")
        for name in dict.fromkeys([*rows_j, *rows_f]):
            print(f"  {name:<30} {rows_j.get(name, 0.0):8.2f} {rows_f.get(name, 0.0):8.2f}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
