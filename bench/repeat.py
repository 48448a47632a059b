"""Repeated incremental and single-article runs on a processed corpus, for a stable ratio.

    python -m bench.repeat --state DIR [--runs 4] [--work DIR]

DIR is the `--keep` folder of a `bench.run` full build (its `raw/`, `wh/` and `home/`).
First a copy of it gets one `pipeline run` with no new file (timed and printed): the
state a deployment's previous run leaves, with what this code keeps between runs (the
conflicts' clause readings, for instance), even when DIR was built by older code. (The
copied raw files have new inodes, so that run hashes every file once, as after a move.)
Each run then copies that warehouse and instance into a work folder and adds one new article
to that raw folder. With `--article copy` (the default) it is an article of the corpus with
some words changed, which the corpus stage marks `near_duplicate` (a reprint: only the
documents table changes); with `--article fresh` it is one of the project's sample articles
(`data/raw/`, news the corpus does not hold) with a line of its own first, which adds
paragraphs, sentences and claims. The article is removed again afterwards (the raw folder
stays put, as a deployment's does). Each run times `pipeline run` on it (the incremental
run), then the same article alone
into an empty warehouse with a fresh `DAGSTER_HOME` (the single run). The two alternate, so a drift
of the machine's speed hits both. Prints each pair, the medians, their ratio (target
<= 1.5), the peak RSS of the process trees, and the megabytes each +1 run wrote, by area
(files new or replaced under the work folder; links to unchanged files not counted).

Nothing in DIR is changed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bench.run import _read_text, corpus_assembly, pipeline_run, step_seconds
from pipeline.state import StateStore


def new_article(source: Path, k: int) -> str:
    """A new document made from `source`: a few common words changed."""
    return _read_text(source).replace(" the ", f" the{k} ").replace(" a ", " one ")


SAMPLES = Path(__file__).resolve().parent.parent / "data" / "raw"


def file_stamps(root: Path) -> dict[str, tuple[int, int, int]]:
    """path -> (inode, mtime_ns, size) of every file under `root`."""
    out = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            out[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def _area(rel: str) -> str:
    parts = Path(rel).parts
    if parts[0] != "wh" or len(parts) < 3:
        return parts[0] if len(parts) < 2 else f"{parts[0]}/{parts[1]}"
    if parts[1] == ".versions":
        return "published snapshot"
    if parts[1] == ".state":
        return f".state/{parts[2]}" if len(parts) > 3 else ".state (registry, memos, digests)"
    return parts[1]


def bytes_written(root: Path, before: Mapping[str, tuple[int, int, int]]) -> dict[str, int]:
    """Bytes of the files under `root` written since `before` (new, or replaced), by area. A
    hard link to a file that was there before, unchanged (a part linked from the snapshot
    before, a corpus file kept under its new generation's name), is not counted; a whole
    file rewritten is counted whole (SQLite's page writes are over-counted so)."""
    after = file_stamps(root)
    earlier = {v for v in before.values()}  # (inode, mtime, size) of every file there before
    out: dict[str, int] = {}
    for path, stamp in after.items():
        if before.get(path) != stamp and stamp not in earlier:
            area = _area(os.path.relpath(path, root))
            out[area] = out.get(area, 0) + stamp[2]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def fresh_article(k: int) -> str:
    """A sample article (news the benchmark corpora do not hold), with a first line of its own."""
    samples = sorted(SAMPLES.glob("*.txt"))
    return f"Bench edition {k}\n\n" + _read_text(samples[k % len(samples)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.repeat", description=__doc__.split("\n\n")[0])
    p.add_argument("--state", type=Path, required=True, help="a bench.run --keep folder (raw/, wh/, home/)")
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--article", choices=("copy", "fresh"), default="copy",
                   help="the new article: an edited copy of a corpus article (a reprint), or a sample article")
    p.add_argument("--trace", type=Path, default=None,
                   help="write each run's RSS samples per process role here (JSON, for /tmp tooling)")
    args = p.parse_args(argv)
    state = args.state
    for part in ("raw", "wh", "home"):
        if not (state / part).is_dir():
            raise SystemExit(f"{state / part} is missing: pass the --keep folder of a full bench.run build")
    sources = sorted(f for f in (state / "raw").iterdir() if f.is_file())
    scratch = args.work or Path(tempfile.mkdtemp(prefix="bench-repeat-"))
    base = scratch / "base"
    shutil.rmtree(base, ignore_errors=True)
    for part in ("raw", "wh", "home"):
        shutil.copytree(state / part, base / part, symlinks=True)
    os.sync()
    again = pipeline_run(base / "raw", base / "wh", base / "home")
    if again["rc"] != 0:
        raise SystemExit(f"the run without changes failed ({again['rc']}):\n{again['stderr'][-2000:]}")
    print(f"run without changes: {again['seconds']:.1f} s ({again['peak_rss_mb']:.0f} MB); its corpus step "
          f"assembled {corpus_assembly(base / 'home')}", flush=True)
    # a state built by older code has a batch file per run and stage; this code's runs merge
    # them as they go (`accepted_files` -> `StateStore.compact`), so the base gets the same
    merged = StateStore(base / "wh" / ".state").compact()
    if merged:
        print(f"batch files of older code merged, as this code's runs would have: {json.dumps(merged)}", flush=True)
    incremental, single = [], []
    for k in range(args.runs):
        work = scratch / f"run{k}"
        shutil.rmtree(work, ignore_errors=True)
        for part in ("wh", "home"):
            shutil.copytree(base / part, work / part, symlinks=True)
        text = new_article(sources[(k * 7 + 3) % len(sources)], k) if args.article == "copy" else fresh_article(k)
        name = f"zz_bench_new_{k}.txt"
        # the raw folder is the base's own, as a deployment's stays put between runs: a copy
        # would give every file a new inode, and the run would hash all of them again
        # (their bytes unchanged: `pipeline.files.plan`'s "touched" files)
        arrived = base / "raw" / name
        arrived.write_text(text, encoding="utf-8")
        (work / "raw_one").mkdir()
        (work / "raw_one" / name).write_text(text, encoding="utf-8")
        os.sync()  # the copy's ~270 MB of dirty pages are written now, not during the timed runs' fsyncs
        before = step_seconds(work / "home")
        stamps = file_stamps(work)
        trace: list | None = [] if args.trace else None
        try:
            inc = pipeline_run(base / "raw", work / "wh", work / "home", trace=trace)
        finally:
            arrived.unlink()
        written = bytes_written(work, stamps)
        assembled = corpus_assembly(work / "home")
        if trace is not None:
            args.trace.mkdir(parents=True, exist_ok=True)
            (args.trace / f"plus_one_{k}.json").write_text(json.dumps(trace))
        inc["stage_seconds"] = {k: v - before.get(k, 0.0) for k, v in inc["stage_seconds"].items()}
        one = pipeline_run(work / "raw_one", work / "wh_one", work / "home_one")
        incremental.append(inc)
        single.append(one)
        print(f"run {k}: +1 article {inc['seconds']:.1f} s ({inc['peak_rss_mb']:.0f} MB, "
              f"{inc['peak_rss_no_fork_mb']:.0f} MB without forks not yet exec'd), "
              f"alone {one['seconds']:.1f} s ({one['peak_rss_mb']:.0f} MB)", flush=True)
        print(f"       its corpus step assembled {assembled}", flush=True)
        print(f"       the +1 run wrote {sum(written.values()) / 1e6:.1f} MB: "
              + ", ".join(f"{area} {n / 1e6:.1f}" for area, n in written.items() if n >= 50_000), flush=True)
        shutil.rmtree(work, ignore_errors=True)
    mi = statistics.median(r["seconds"] for r in incremental)
    ms = statistics.median(r["seconds"] for r in single)
    print("\nmedian seconds per step (the steps where the two differ most; 'outside' is the process minus its steps):")
    steps = sorted(set().union(*(r["stage_seconds"] for r in incremental + single)))

    def per_step(runs: list[dict], step: str) -> float:
        if step == "outside":
            return statistics.median(r["seconds"] - sum(r["stage_seconds"].values()) for r in runs)
        return statistics.median(r["stage_seconds"].get(step, 0.0) for r in runs)

    rows = [(step, per_step(incremental, step), per_step(single, step)) for step in steps + ["outside"]]
    rows.sort(key=lambda r: -(r[1] - r[2]))
    for step, a, b in rows[:10]:
        print(f"  {step:<45} +1 article {a:6.2f}   alone {b:6.2f}   difference {a - b:+6.2f}")
    files = len(sources)
    print(f"\n{files} files + 1: median incremental {mi:.1f} s, median single {ms:.1f} s, "
          f"ratio {mi / ms:.2f} (target <= 1.5: {'met' if mi / ms <= 1.5 else 'NOT met'}); "
          f"peak RSS {max(r['peak_rss_mb'] for r in incremental):.0f} MB incremental, "
          f"{max(r['peak_rss_mb'] for r in single):.0f} MB single")
    shutil.rmtree(base, ignore_errors=True)
    if args.work is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
