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
import re
import stat
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

import pandas as pd

from pipeline.ingest import feed_lines, raw_entries

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


def scan_files(raw_dir: Path, rels: Iterable[str]) -> dict[str, Fingerprint]:
    """`scan` of the entries `rels` alone (relative paths), with the same candidates: every
    entry but a folder (a link to a folder, a dangling link, a pipe are reported); an
    entry gone is left out."""
    out = {}
    for rel in sorted(set(rels)):
        path = os.path.join(raw_dir, rel)
        try:
            own = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(own.st_mode):
            continue  # a folder now: `scan` would descend into it, not report it
        try:
            st = os.stat(path)
        except OSError:
            st = own  # a dangling or looping link: still an entry to report
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
        return _natural(self.new) + _natural(self.changed)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("fingerprints", "touched")}


# A .jsonl feed of many documents is several units of work, each a run of its lines,
# like that many files: batches stay the size they are for files, a killed run redoes one
# batch, not the whole feed, and an appended feed reprocesses only its new lines.
JSONL_UNIT_LINES = 100  # a feed with more lines than this is cut into units of this many lines
_UNIT = re.compile(r"^(?P<file>.+\.jsonl)#lines=(?P<start>\d+)-(?P<end>\d+)$", re.IGNORECASE)


def unit_of(rel: str) -> tuple[str, tuple[int, int] | None]:
    """(file, (first line, last line)) of a unit of work; (rel, None) for a whole file."""
    m = _UNIT.match(rel)
    if m is None:
        return rel, None
    return m.group("file"), (int(m.group("start")), int(m.group("end")))


def file_of(rel: str) -> str:
    """The raw file a unit of work (or a file) is read from."""
    return unit_of(rel)[0]


def weight(rel: str) -> int:
    """Documents in a unit of work at most: its lines for part of a feed, 1 for a file."""
    _file, lines = unit_of(rel)
    return 1 if lines is None else lines[1] - lines[0] + 1


def jsonl_units(rel: str, data: bytes, lines_per_unit: int = JSONL_UNIT_LINES) -> dict[str, str] | None:
    """{unit: SHA-256 of its bytes} of a feed longer than `lines_per_unit` lines (None for a
    shorter one: one unit, the file). Units are fixed runs of line numbers, so appending
    lines changes only the last unit and adds new ones."""
    lines = feed_lines(data)
    if len(lines) <= lines_per_unit:
        return None
    out = {}
    for first in range(0, len(lines), lines_per_unit):
        chunk = lines[first:first + lines_per_unit]
        out[f"{rel}#lines={first + 1}-{first + len(chunk)}"] = hashlib.sha256(b"\n".join(chunk)).hexdigest()
    return out


def plan(
    raw_dir: Path,
    known: Mapping[str, Fingerprint],
    previous_scan: Mapping[str, Fingerprint] | None = None,
    settle_seconds: float = 2.0,
    now: float | None = None,
    only: Collection[str] | None = None,
) -> tuple[Plan, dict[str, Fingerprint]]:
    """Compare the folder with the units of work already processed (`known`, with hashes).

    A unit is a file, or a run of lines of a long .jsonl feed (`jsonl_units`). A file is
    ready when its size and mtime are the same as in `previous_scan` (seen unchanged on the
    previous look) or its mtime is older than `settle_seconds`; any other file is still
    being written and waits. Returns the plan and this scan (to pass as `previous_scan`
    next time).

    `only` (raw files, relative paths): look at these files alone, and at the units of
    `known` read from them; the rest of the folder is neither new nor deleted. A look at
    what a run has just read costs those files, not the folder (`assets.runner`).
    """
    raw_dir = Path(raw_dir)
    now = time.time() if now is None else now
    if only is None:
        current = scan(raw_dir)
    else:
        current = scan_files(raw_dir, only)
        known = {unit: fp for unit, fp in known.items() if file_of(unit) in only}
    previous_scan = previous_scan or {}
    units_of: dict[str, list[str]] = {}
    for rel in known:
        units_of.setdefault(file_of(rel), []).append(rel)
    new, changed, unstable, touched, fps = [], [], [], [], {}
    present: set[str] = set()  # units (and files) the folder holds now

    def compare(unit: str, full: Fingerprint) -> None:
        present.add(unit)
        old = known.get(unit)
        if old is None:
            new.append(unit)
        elif old.sha256 != full.sha256 or full.sha256 is None:
            changed.append(unit)
        elif not old.same_file_state(full):
            touched.append(unit)  # same bytes: remember the new stat, do not reprocess
        else:
            return
        fps[unit] = full

    for rel, fp in current.items():
        prev = previous_scan.get(rel)
        settled = (prev is not None and (prev.size, prev.mtime_ns) == (fp.size, fp.mtime_ns)) or (
            now - fp.mtime_ns / 1e9 >= settle_seconds
        )
        mine = units_of.get(rel, [])
        if mine and all(known[u].same_file_state(fp) for u in mine):
            present.update(mine)
            continue  # unchanged, no need to hash
        if not settled:
            unstable.append(rel)
            present.update(mine)  # still being written: neither new nor deleted yet
            continue
        path = raw_dir / rel
        data = None
        try:
            # only regular files inside the folder are read (a pipe would block; a link
            # out of the folder is refused by ingest): the others get no hash
            regular = stat.S_ISREG(path.stat().st_mode) and is_inside(path, raw_dir)
            if regular and rel.lower().endswith(".jsonl"):
                data = path.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
            else:
                sha = file_sha256(path) if regular else None
        except OSError:
            sha = None  # unreadable: ingest records why
        units = jsonl_units(rel, data) if data is not None else None
        if units is None:
            compare(rel, Fingerprint(fp.size, fp.mtime_ns, sha, fp.ctime_ns, fp.inode))
        else:
            for unit, unit_sha in units.items():
                compare(unit, Fingerprint(fp.size, fp.mtime_ns, unit_sha, fp.ctime_ns, fp.inode))
    deleted = sorted(set(known) - present)
    order = {u: i for i, u in enumerate(_natural(new + changed))}
    return Plan(sorted(new, key=order.get), sorted(changed, key=order.get), deleted, sorted(unstable), fps,
                sorted(touched)), current


def _natural(units: list[str]) -> list[str]:
    """Units in path order, the units of a feed in line order (not `#lines=1001` before `#lines=201`)."""
    def key(rel: str):
        file, lines = unit_of(rel)
        return (file, lines[0] if lines else 0)
    return sorted(units, key=key)


def batches(keys: Iterable[str], batch_size: int) -> list[list[str]]:
    """Split keys, in their order, into batches of at most `batch_size` documents (a file
    counts one, part of a feed its lines, see `weight`); each batch becomes one run."""
    out: list[list[str]] = []
    load = 0
    for key in dict.fromkeys(keys):
        w = weight(relpath_of(key))
        if out and load + w <= batch_size:
            out[-1].append(key)
            load += w
        else:
            out.append([key])
            load = w
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
