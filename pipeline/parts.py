"""Tables as parts cut at content-defined boundaries, each named by the digest of its content.

A table (in a given row order) is cut after each row whose key columns hash to 0 modulo
`avg_rows`, with at least a quarter and at most four times `avg_rows` rows per part. A row
added or removed therefore moves only the boundaries of its own part (the idea of rsync's
and restic's content-defined chunking, applied to rows), and a writer that finds a part's
digest among the files it wrote before can link that file instead of writing it again.
Used by the publish (`pipeline.publish`) and by the staged corpus (`assets.resources`).

The digest covers the rows, the schema (with its metadata) and the caller's `salt` (a
format tag: a change to how parts are written must change it). Equal bytes of the Arrow IPC
serialization mean equal content; equal content serialized differently (other chunking)
only means a part is written again, never that a wrong one is linked.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyarrow as pa

__all__ = ["Part", "bounds", "cut", "digest_of", "write_folder"]


@dataclass(frozen=True)
class Part:
    name: str  # file name: part-<n>-<digest>.parquet
    digest: str
    table: pa.Table


def digest_of(name: str) -> str | None:
    """The content digest in a part's file name (None for any other file)."""
    stem = name[:-len(".parquet")] if name.endswith(".parquet") else name
    bits = stem.split("-")
    return bits[2] if len(bits) == 3 and bits[0] == "part" else None


def bounds(table: pa.Table, keys: Sequence[str], avg_rows: int) -> list[tuple[int, int]]:
    """(start, stop) of each part of `table` in its row order; one part without `keys`."""
    import pandas as pd

    n = table.num_rows
    keys = [k for k in keys if k in table.column_names]
    if not n or not keys:
        return [(0, n)]
    least, most = max(1, avg_rows // 4), avg_rows * 4
    hashes = pd.util.hash_pandas_object(table.select(keys).to_pandas(), index=False).to_numpy()
    out: list[tuple[int, int]] = []
    start = 0
    for stop in (np.flatnonzero(hashes % np.uint64(avg_rows) == 0) + 1).tolist() + [n]:
        while stop - start > most:
            out.append((start, start + most))
            start += most
        if stop - start >= least:
            out.append((start, stop))
            start = stop
    if start < n:  # a last run shorter than `least`: joined to the part before
        out[-1:] = [(out[-1][0] if out else start, n)]
    return out


def cut(table: pa.Table, keys: Sequence[str], avg_rows: int, salt: str) -> list[Part]:
    """The table's parts, in its row order, each with the digest of its content."""
    head = hashlib.blake2b(salt.encode() + table.schema.serialize().to_pybytes(), digest_size=16).digest()
    parts = []
    for k, (start, stop) in enumerate(bounds(table, keys, avg_rows)):
        part = table.slice(start, stop - start)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, part.schema) as writer:
            writer.write_table(part)
        digest = hashlib.blake2b(head + sink.getvalue().to_pybytes(), digest_size=12).hexdigest()
        parts.append(Part(f"part-{k:05d}-{digest}.parquet", digest, part))
    return parts


def write_folder(folder, parts: Sequence[Part], previous, write) -> int:
    """Put `parts` into the new `folder`: a part whose digest names a file of the folder
    `previous` (the version before, or None) is hard-linked from there, any other is
    written by `write(part, path)`. Returns how many were linked. Where hard links fail
    (another file system, the old file gone), the part is written instead."""
    import os
    from pathlib import Path

    folder = Path(folder)
    old = {}
    if previous is not None and Path(previous).is_dir():
        old = {d: f for f in Path(previous).iterdir() if (d := digest_of(f.name)) is not None}
    linked = 0
    for part in parts:
        target = folder / part.name
        if part.digest in old:
            try:
                os.link(old[part.digest], target)
                linked += 1
                continue
            except OSError:
                pass
        write(part, target)
    return linked
