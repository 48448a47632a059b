"""Benchmark: reading a corpus's accepted rows from many small batch files, then compacted.

    .venv/bin/python -m bench.compaction --state WAREHOUSE/.state [--split 5] [--work DIR]

STATE is the `.state` folder of a real warehouse (for instance the `wh/.state` of a
`bench.scale --keep` build). A copy of it is made in the work folder (nothing in STATE
changes). With `--split N`, every batch file of the copy is first cut into files of N
files' rows each, with the registry pointing at them: the state a deployment leaves whose
sensor starts a run for every few arriving files (one batch file per run and stage). Then
it times, in this one process, `StateStore.read_accepted_tables` of the six per-document
stages (what the corpus stage reads, all of it) before and after `StateStore.compact()`,
and the compaction itself, and prints the batch files per stage before and after.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.state import PER_DOCUMENT_STAGES, StateStore, read_file


def split_batches(store: StateStore, per_file: int) -> int:
    """Cut every accepted batch file into files of `per_file` keys' rows; returns the count."""
    registry = store.accepted()
    made = 0
    for stage in PER_DOCUMENT_STAGES:
        by_version: dict[str, list[str]] = {}
        for key, e in registry.items():
            if e["versions"].get(stage):
                by_version.setdefault(e["versions"][stage], []).append(key)
        for version, keys in sorted(by_version.items()):
            path = store._batch(stage, version)
            if not path.exists():
                continue
            table = read_file(path)
            keys.sort()
            for i in range(0, len(keys), per_file):
                part = keys[i:i + per_file]
                rows = table.filter(pc.is_in(table["partition_key"], value_set=pa.array(part)))
                new = f"{version}-s{i // per_file:04d}"
                store._write_table(stage, new, part, rows.replace_schema_metadata(None))
                for k in part:
                    registry[k]["versions"][stage] = new
                made += 1
            path.unlink()
    with store._locked():
        store._save(registry)
    return made


def files_per_stage(store: StateStore) -> dict[str, int]:
    return {stage: len(list(store._batch_dir(stage).glob("*.parquet"))) for stage in PER_DOCUMENT_STAGES}


def timed_read(store: StateStore) -> float:
    t = time.perf_counter()
    tables, healed = store.read_accepted_tables(PER_DOCUMENT_STAGES)
    seconds = time.perf_counter() - t
    if healed:
        raise SystemExit(f"files left out while reading: {healed[:3]}")
    print("  rows: " + ", ".join(f"{k} {len(v) if v is not None else 0}" for k, v in tables.items()), flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.compaction", description=__doc__.split("\n\n")[0])
    p.add_argument("--state", type=Path, required=True, help="a warehouse's .state folder (copied, never changed)")
    p.add_argument("--split", type=int, default=0, help="cut the batch files into files of N files' rows first")
    p.add_argument("--work", type=Path, default=None)
    args = p.parse_args(argv)
    if not (args.state / "batches").is_dir():
        raise SystemExit(f"{args.state} has no batches/: pass a warehouse's .state folder")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-compaction-"))
    copy = work / "state"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(args.state, copy, ignore=shutil.ignore_patterns("quarantine"))
    store = StateStore(copy)
    print(f"files accepted: {len(store.accepted_view())}", flush=True)
    if args.split:
        print(f"split into files of {args.split} files' rows: {split_batches(store, args.split)} batch files", flush=True)
    before_files = files_per_stage(store)
    print(f"batch files per stage before: {json.dumps(before_files)}", flush=True)
    before = timed_read(store)
    print(f"read every accepted row: {before:.2f} s", flush=True)
    t = time.perf_counter()
    merged = store.compact()
    compact_s = time.perf_counter() - t
    after_files = files_per_stage(store)
    print(f"compact(): {compact_s:.2f} s, small files merged {json.dumps(merged)}", flush=True)
    print(f"batch files per stage after: {json.dumps(after_files)}", flush=True)
    after = timed_read(store)
    print(f"read every accepted row: {after:.2f} s (before {before:.2f} s, {before / after:.1f}x)", flush=True)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
