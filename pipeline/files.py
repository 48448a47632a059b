"""The raw folder as a set of files: fingerprints, partition keys, what changed.

A file is identified by its path relative to the raw folder. Its Dagster partition key
is that path, percent-encoded where a character could upset a key or a file system
(spaces, newlines, non-ASCII), so the mapping is reversible and never escapes the
folder. Whether a file changed is decided by content (SHA-256), not by clocks: a touched
but identical file is not reprocessed, and no wall-clock cursor can skip a file.
"""
from __future__ import annotations

import hashlib
import math
import os
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

import pandas as pd

from pipeline.ingest import raw_entries

_SAFE = "/._-~+=@,"


def partition_key(relpath: str) -> str:
    """ASCII, reversible; a name's bytes that are not UTF-8 (lone surrogates in Python) too."""
    return quote(os.fsencode(relpath), safe=_SAFE)


def relpath_of(key: str) -> str:
    rel = os.fsdecode(unquote_to_bytes(key))
    if rel.startswith("/") or any(part == ".." for part in rel.split("/")):
        raise ValueError(f"partition key {key!r} does not name a file inside the raw folder")
    return rel


@dataclass(frozen=True)
class Fingerprint:
    """What is known of a file without reading it (size, mtime, and the inode change time
    and inode number, which no `cp -p`, `rsync -t` or `touch -r` can set back), and the
    SHA-256 of its bytes once read."""

    size: int
    mtime_ns: int
    sha256: str | None = None
    ctime_ns: int | None = None
    inode: int | None = None

    def to_json(self) -> list:
        return [self.size, self.mtime_ns, self.sha256, self.ctime_ns, self.inode]

    @classmethod
    def from_json(cls, value: list) -> "Fingerprint":
        value = list(value) + [None] * (5 - len(value))
        return cls(int(value[0]), int(value[1]), value[2],
                   None if value[3] is None else int(value[3]), None if value[4] is None else int(value[4]))

    def same_file_state(self, other: "Fingerprint") -> bool:
        """Whether the file cannot have changed between the two looks: same size, mtime,
        inode and inode change time (any write or rename-over changes the last two). A
        fingerprint without them (older registries) never vouches: the bytes are hashed."""
        return (self.ctime_ns is not None and self.inode is not None
                and (self.size, self.mtime_ns, self.ctime_ns, self.inode)
                == (other.size, other.mtime_ns, other.ctime_ns, other.inode))


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def scan(raw_dir: Path) -> dict[str, Fingerprint]:
    """Size and mtime of every candidate file (no hashing); vanished files are skipped."""
    out = {}
    for rel, entry in raw_entries(Path(raw_dir)):
        try:
            st = entry.stat()
        except OSError:
            try:
                st = entry.stat(follow_symlinks=False)  # a dangling symlink or an unreadable entry: still a file to report
            except OSError:
                continue
        out[rel] = Fingerprint(st.st_size, st.st_mtime_ns, None, st.st_ctime_ns, st.st_ino)
    return out


@dataclass
class Plan:
    """What to do with the raw folder now."""

    new: list[str]
    changed: list[str]
    deleted: list[str]
    unstable: list[str]
    fingerprints: dict[str, Fingerprint]  # the fingerprints (with hashes) of new, changed and touched files
    touched: list[str] = field(default_factory=list)  # same bytes, new stat: remember it, nothing to process

    @property
    def to_process(self) -> list[str]:
        return sorted(self.new) + sorted(self.changed)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("fingerprints", "touched")}


def plan(
    raw_dir: Path,
    known: Mapping[str, Fingerprint],
    previous_scan: Mapping[str, Fingerprint] | None = None,
    settle_seconds: float = 2.0,
    now: float | None = None,
) -> tuple[Plan, dict[str, Fingerprint]]:
    """Compare the folder with the files already processed (`known`, with hashes).

    A file is ready when its size and mtime are the same as in `previous_scan` (seen
    unchanged on the previous look) or its mtime is older than `settle_seconds`; any
    other file is still being written and waits. Returns the plan and this scan (to
    pass as `previous_scan` next time).
    """
    raw_dir = Path(raw_dir)
    now = time.time() if now is None else now
    current = scan(raw_dir)
    previous_scan = previous_scan or {}
    new, changed, unstable, touched, fps = [], [], [], [], {}
    for rel, fp in current.items():
        prev = previous_scan.get(rel)
        settled = (prev is not None and (prev.size, prev.mtime_ns) == (fp.size, fp.mtime_ns)) or (
            now - fp.mtime_ns / 1e9 >= settle_seconds
        )
        old = known.get(rel)
        if old is not None and old.same_file_state(fp):
            continue  # unchanged, no need to hash
        if not settled:
            unstable.append(rel)
            continue
        path = raw_dir / rel
        try:
            # only regular files inside the folder are read (a pipe would block; a link
            # out of the folder is refused by ingest): the others get no hash
            regular = stat.S_ISREG(path.stat().st_mode) and is_inside(path, raw_dir)
            sha = file_sha256(path) if regular else None
        except OSError:
            sha = None  # unreadable: ingest records why
        full = Fingerprint(fp.size, fp.mtime_ns, sha, fp.ctime_ns, fp.inode)
        if old is None:
            new.append(rel)
            fps[rel] = full
        elif old.sha256 != sha or sha is None:
            changed.append(rel)
            fps[rel] = full
        else:
            touched.append(rel)  # same bytes: remember the new stat, do not reprocess
            fps[rel] = full
    deleted = sorted(set(known) - set(current))
    return Plan(sorted(new), sorted(changed), deleted, sorted(unstable), fps, sorted(touched)), current


def batches(keys: Iterable[str], order: list[str], batch_size: int) -> list[list[str]]:
    """Split keys into runs of at most `batch_size` keys that are contiguous in `order`
    (a Dagster partition range covers a contiguous stretch of the partition order)."""
    position = {k: i for i, k in enumerate(order)}
    ordered = sorted(set(keys), key=lambda k: position[k])
    out: list[list[str]] = []
    for key in ordered:
        if out and len(out[-1]) < batch_size and position[out[-1][-1]] + 1 == position[key]:
            out[-1].append(key)
        else:
            out.append([key])
    return out


def expected_runs(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size) if n else 0


NEVER_READ = [-1, -1, None]  # the fingerprint of a file accepted without a stat: matches no file


def fingerprint_of_row(row) -> Fingerprint | None:
    """The fingerprint a documents row was read with (None when its file had no stat)."""
    def value(name):
        v = row.get(name) if hasattr(row, "get") else None
        return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v

    size, mtime = value("file_size"), value("file_mtime_ns")
    if size is None or mtime is None:
        return None
    ctime, inode = value("file_ctime_ns"), value("file_inode")
    return Fingerprint(int(size), int(mtime), value("file_sha256"),
                       None if ctime is None else int(ctime), None if inode is None else int(inode))


def fingerprints_from_json(data: Mapping[str, list]) -> dict[str, Fingerprint]:
    return {k: Fingerprint.from_json(v) for k, v in data.items()}


def fingerprints_to_json(data: Mapping[str, Fingerprint]) -> dict[str, list]:
    return {k: v.to_json() for k, v in sorted(data.items())}


def is_inside(path: Path, root: Path) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(root) + os.sep)
