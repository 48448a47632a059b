"""How the per-file assets are partitioned: one dynamic partition per batch of files.

A batch is made when files are planned (by the sensor, the daily rescan or `pipeline
run`): a new partition key that sorts by time (`2026-12-03T1645-3fa9c1-00`, UTC) and a
manifest in the warehouse's state listing its files (`StateStore.write_manifest`). The
partition count grows with the number of runs, not of files: a thousand articles a day
in batches of 200 make five partitions a day, a year about two thousand.

Whether each file was accepted, rejected or left for later is the project's own record
(the accepted registry and the `documents` table), not the partition's status: a batch
run that fails shows as a failed partition in the UI, and its failed check names the
files.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timezone

import dagster as dg

from pipeline.state import StateStore

file_batches = dg.DynamicPartitionsDefinition(name="file_batches")

# Tags on every run this project launches (plain strings of ours: no Dagster internals).
BATCH_TAG = "pipeline/batch"  # the run's batch partition key(s), comma-separated
WAVE_TAG = "pipeline/wave"  # the files planned together by one look at the raw folder
ORIGIN_TAG = "pipeline/origin"  # sensor, schedule or cli
# on a publish run: the batches (comma-separated) whose files the corpus check failed with
# last time; the run looks for the culprits among them before it assembles the corpus
ISOLATE_TAG = "pipeline/isolate_batches"


def new_wave(now: datetime | None = None) -> str:
    """A wave id that sorts by time: `2026-12-03T1645-3fa9c1`."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y-%m-%dT%H%M}-{uuid.uuid4().hex[:6]}"


def make_batches(store: StateStore, wave: str, chunks: Iterable[list[str]], start: int = 0) -> list[str]:
    """One batch per chunk of file keys (`<wave>-<start + i>`): its manifest is written, its
    key returned (the caller adds the keys to `file_batches`, directly or through a
    sensor's request)."""
    out = []
    for i, keys in enumerate(chunks, start):
        batch = f"{wave}-{i:02d}"
        store.write_manifest(batch, keys)
        out.append(batch)
    return out
