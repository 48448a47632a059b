"""Per-file stage outputs and the registry of accepted files.

Each per-document stage (documents, paragraphs, sentences, claims, ...) stores the rows
of one run (a batch of raw files, one Dagster partition each) as one immutable file:

    <state>/batches/<stage>/<run id>.parquet

with a `partition_key` column on every row and, in the file's metadata, the list of
partition keys the run covered (a file that yields no rows still counts as covered).
One file per run and stage, not one per raw file: a 50-file batch writes 6 files
instead of 300, and the corpus stage reads a few dozen files instead of thousands.

A version is *accepted* only after every blocking check of its run passed; the
registry `<state>/accepted.sqlite` (SQLite, one row per file) records, per partition key,
the file's fingerprint and which version (run id) of each stage was accepted. Corpus-level
stages read accepted rows only, so a failed run can write what it likes: nothing
downstream sees it, and the published tables stay whole. Batch files are written
atomically (temporary file + rename); the registry changes in SQLite transactions, each
writing only the entries that changed (a batch accepted into 22,250 files rewrote 14 MB
of JSON when the registry was one file), under a lock for the read-modify-write, so
concurrent runs and crashes leave it consistent. A registry of older code
(`accepted.json`) is imported once, then kept aside as `accepted.json.imported`.
A batch file is deleted once no accepted entry points to it and every key it covers
has a newer accepted version. Small batch files (a run for every few arriving files)
are merged into larger ones as they accumulate (`StateStore.compact`), so the corpus
stage reads a few dozen files however the files arrived.

Warehouses written before this layout (`<state>/parts/<stage>/<hash of key>/<run id>.parquet`,
one file per raw file) are still read.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.faults import checkpoint
from pipeline.schemas import StoredSchemaError, fit_stored, state_schema, to_arrow

REGISTRY = "accepted.sqlite"
LEGACY_REGISTRY = "accepted.json"  # the registry of older code: one JSON file, imported once
QUARANTINE = "quarantine"  # damaged state files are moved here (never deleted) with the time they were found
PER_DOCUMENT_STAGES = ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities")
KEYS_META = b"partition_keys"
COMPACTED_META = b"compacted_from"  # a compacted batch file: the versions whose rows it took
KEY_COLUMN = "partition_key"
MANIFESTS = "manifests"  # the files of each run batch (a Dagster partition)
COMPACT_TARGET_KEYS = 2000  # files per compacted batch file (`StateStore.compact`)
COMPACT_MIN_FILES = 16  # small batch files of a stage before they are merged
# registry -> ((incarnation, generation), contents, the JSON of each entry as stored)
_REGISTRY_CACHE: dict[Path, tuple[tuple[int, int], dict, dict]] = {}



def stamp(path: Path) -> tuple[int, int, int]:
    """What identifies one written batch file (a file replaced since has another)."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class UnknownBatch(LookupError):
    """A batch (Dagster partition) whose files this warehouse does not know."""


class BrokenStateFile(Exception):
    """A stored state file that cannot be read as its stage's rows (truncated, overwritten,
    or of another schema). `keys` are the partition keys whose accepted rows it held."""

    def __init__(self, path: Path, reason: str, keys: Iterable[str] = ()):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.keys = Path(path), reason, list(keys)


def _stage_of(path: Path) -> str:
    """`<state>/batches/<stage>/<run>.parquet`, or `<state>/parts/<stage>/<key hash>/<run>.parquet` (older layout)."""
    return path.parent.name if path.parent.parent.name == "batches" else path.parent.parent.name


def read_file(path: Path) -> pa.Table:
    """A batch file's table as stored. The file itself, not `pq.read_table`'s dataset over
    it, which costs twice the time on the small files of a batch (the 114 documents files
    of a 22,250-article state: 0.54 s against 0.24 s)."""
    with pq.ParquetFile(path) as fh:
        return fh.read()


def _read_batch(path: Path, read_ahead=None) -> pa.Table:
    """A batch file's table in its stage's schema: the one `read_ahead(path)` gives (a table
    read ahead by the execution layer, `pipeline.distributed.take_prefetched`) if any, else
    read now. Raises BrokenStateFile when it cannot be read."""
    try:
        table = read_ahead(path) if read_ahead is not None else None
        if table is None:
            table = read_file(path)
        return fit_stored(table, state_schema(_stage_of(path)), str(path))
    except (OSError, pa.ArrowException, StoredSchemaError) as exc:
        raise BrokenStateFile(path, f"{type(exc).__name__}: {exc}") from exc


def _manifest_name(batch: str) -> str:
    """The batch key itself when it is a plain name (the ones this project makes), else a hash."""
    ok = batch and len(batch) <= 120 and all(c.isascii() and (c.isalnum() or c in "._-") for c in batch)
    return batch if ok and not batch.startswith(".") else _key_dir_name(batch)


def _key_dir_name(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


_META_CACHE: dict[tuple[str, bytes], tuple[int, frozenset[str]]] = {}


def _listed_in_metadata(path: Path, name: bytes) -> frozenset[str]:
    """A JSON list a batch file keeps in its Parquet metadata under `name`; files are
    immutable, so the answer is cached by path and modification time. Empty when the file
    is gone; raises when it cannot be read."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return frozenset()
    hit = _META_CACHE.get((str(path), name))
    if hit is not None and hit[0] == mtime:
        return hit[1]
    meta = pq.read_schema(path).metadata or {}
    found = frozenset(json.loads(meta.get(name, b"[]")))
    if len(_META_CACHE) > 8192:
        _META_CACHE.clear()
    _META_CACHE[(str(path), name)] = (mtime, found)
    return found


def _compacted_from(path: Path) -> frozenset[str]:
    """The versions a compacted batch file replaced (empty when unreadable: `heal` deals with it)."""
    try:
        return _listed_in_metadata(path, COMPACTED_META)
    except (OSError, pa.ArrowException, ValueError):
        return frozenset()


def _covered_keys(path: Path) -> frozenset[str]:
    """The partition keys a batch file covers (a file with no rows still covers its keys)."""
    return _listed_in_metadata(path, KEYS_META)


class StateStore:
    def __init__(self, root: Path, read_ahead=None):
        """`read_ahead(path)`: a batch file's table read ahead, or None (see `_read_batch`)."""
        self.root = Path(root)
        self.read_ahead = read_ahead

    # ------------------------------------------------------------ batches
    # A run covers a batch of files: a Dagster partition whose key names a manifest here
    # (`manifests/<batch>.json`: the files' partition keys). The batch is fixed when it is
    # made; what became of each file is in the accepted registry and the documents table.
    def _manifest(self, batch: str) -> Path:
        return self.root / MANIFESTS / f"{_manifest_name(batch)}.json"

    def write_manifest(self, batch: str, keys: Iterable[str]) -> None:
        """Record the files (partition keys) of `batch`; a batch, once made, never changes."""
        keys = list(dict.fromkeys(keys))
        folder = self.root / MANIFESTS
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{_manifest_name(batch)}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps({"batch": batch, "files": keys}), encoding="utf-8")
            os.replace(tmp, self._manifest(batch))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def files_of(self, batches: Iterable[str]) -> list[str]:
        """The files' partition keys of `batches`, in order, each once.

        Raises `UnknownBatch` for a batch without a readable manifest (made by another
        warehouse, or its manifest was lost): its run cannot know its files."""
        out: dict[str, None] = {}
        for batch in batches:
            path = self._manifest(batch)
            try:
                keys = json.loads(path.read_text(encoding="utf-8"))["files"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise UnknownBatch(f"batch {batch!r} has no readable manifest ({path}: {exc}); the sensor or "
                                   "`pipeline run` makes new batches for the files that are not accepted") from exc
            out.update(dict.fromkeys(keys))
        return list(out)

    # ------------------------------------------------------------ versions
    def _batch_dir(self, stage: str) -> Path:
        return self.root / "batches" / stage

    def _batch(self, stage: str, version: str) -> Path:
        return self._batch_dir(stage) / f"{version}.parquet"

    def _legacy(self, stage: str, key: str, version: str) -> Path:
        return self.root / "parts" / stage / _key_dir_name(key) / f"{version}.parquet"

    def write(self, stage: str, version: str, keys: Iterable[str], df: pd.DataFrame) -> Path:
        """Store the rows of one run (`version`) covering `keys`; rows carry `partition_key`."""
        return self._write_table(stage, version, list(keys), to_arrow(df, state_schema(stage), f"{stage} rows of run {version}"))

    def _batches_newest_first(self, stage: str) -> list[Path]:
        folder = self._batch_dir(stage)
        if not folder.is_dir():
            return []
        return sorted(folder.glob("*.parquet"), key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)

    def version_of(self, stage: str, key: str, version: str | None = None) -> str | None:
        """`version` when that run stored `key`, else the newest version holding `key`."""
        if version is not None:
            batch = self._batch(stage, version)
            if batch.exists() and key in _covered_keys(batch):
                return version
            if self._legacy(stage, key, version).exists():
                return version
        for batch in self._batches_newest_first(stage):
            if key in _covered_keys(batch):
                return batch.stem
        legacy = self.root / "parts" / stage / _key_dir_name(key)
        if legacy.is_dir():
            found = sorted(legacy.glob("*.parquet"), key=lambda p: (p.stat().st_mtime_ns, p.name))
            if found:
                return found[-1].stem
        return None

    def _read_rows(self, stage: str, pairs: Iterable[tuple[str, str]]) -> list[pa.Table]:
        """Tables holding the rows of each (key, version), one read per file."""
        by_batch: dict[Path, list[str]] = {}
        batch_of: dict[str, Path | None] = {}  # a run's batch file, looked up once per run, not per key
        tables = []
        for key, version in pairs:
            if version not in batch_of:
                path = self._batch(stage, version)
                batch_of[version] = path if path.exists() else None
            batch = batch_of[version]
            if batch is not None:
                by_batch.setdefault(batch, []).append(key)
                continue
            legacy = self._legacy(stage, key, version)
            if not legacy.exists():
                # gone (deleted by hand, or by a collection that raced this read): never a
                # silent hole in the corpus; the caller reads the registry again or heals
                raise BrokenStateFile(self._batch(stage, version), "missing", [key])
            try:
                table = _read_batch(legacy, self.read_ahead)
            except BrokenStateFile as exc:
                exc.keys = [key]
                raise
            table = table.set_column(table.schema.get_field_index(KEY_COLUMN), KEY_COLUMN,
                                     pa.array([key] * table.num_rows, type=pa.string()))
            tables.append(table.replace_schema_metadata(None))
        for batch, keys in by_batch.items():
            try:
                table = _read_batch(batch, self.read_ahead)
            except BrokenStateFile as exc:
                exc.keys = keys
                raise
            column = table[KEY_COLUMN]
            table = table.filter(pc.is_in(column, value_set=pa.array(keys, type=column.type)))
            tables.append(table.replace_schema_metadata(None))
        return tables

    @staticmethod
    def _frame(tables: list[pa.Table], key_order: list[str]) -> pd.DataFrame | None:
        if not tables:
            return None
        non_empty = [t for t in tables if t.num_rows] or tables[:1]
        table = pa.concat_tables(non_empty)  # one schema per stage (`_read_batch`): nothing to promote
        if KEY_COLUMN in table.column_names and table.num_rows:
            # rows in key order, moved in Arrow before pandas sees them: a pandas `take` on
            # Arrow-backed string columns of many chunks is slow (4,450 files: 1.1 s of 1.4 s)
            column = table[KEY_COLUMN]
            order_of = pa.array(list(dict.fromkeys(key_order)), type=column.type)
            codes = pc.index_in(column, value_set=order_of).fill_null(len(key_order)).to_numpy()  # not asked for: last
            if (codes[1:] < codes[:-1]).any():  # batches were read in key order: usually nothing to move
                table = table.combine_chunks().take(pa.array(codes.argsort(kind="stable")))
        df = table.to_pandas()
        for field in table.schema:  # integers with gaps stay exact integers (pandas would make them doubles)
            if pa.types.is_integer(field.type) and table.column(field.name).null_count:
                df[field.name] = pd.array(table.column(field.name).to_pylist(), dtype="Int64")
        return df

    def read(self, stage: str, keys: Iterable[str], version: str | None = None) -> pd.DataFrame | None:
        """Rows of `keys`: from run `version` where it stored them, else each key's newest
        version. None when some key has no stored version at all."""
        keys = list(keys)
        pairs = []
        for key in keys:
            found = self.version_of(stage, key, version)
            if found is None:
                return None
            pairs.append((key, found))
        return self._frame(self._read_rows(stage, pairs), keys)

    # ------------------------------------------------------------ registry
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".registry.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def accepted(self) -> dict[str, dict]:
        """The registry, a copy the caller may change (read once per version of it: a run
        reads it several times)."""
        return _copy_registry(self._accepted_as_is())

    def registry_generation(self) -> tuple[int, int] | None:
        """What changes with every write of the registry (None: none yet); equal before and
        after some reads means they all saw the same registry."""
        path = self.root / REGISTRY
        if not path.exists():
            return None
        with closing(_connect(path, create=False)) as con:
            return _generation(con)

    def accepted_view(self) -> Mapping[str, dict]:
        """The registry for reading only (no copy: never change it or its entries)."""
        return self._accepted_as_is()

    def quarantine(self, path: Path, reason: str) -> Path | None:
        """Move a damaged state file (or folder) aside into `<state>/quarantine/`, with a
        note of why; the files whose state it held are processed again."""
        folder = self.root / QUARANTINE
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = folder / f"{stamp}-{os.getpid()}-{path.parent.name}-{path.name}"
        try:
            os.replace(path, target)
        except FileNotFoundError:
            return None  # another process moved it first
        for suffix in _SQLITE_SIDE_FILES:  # a database's journal goes with it (never replayed into a new one)
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        (folder / f"{target.name}.why.txt").write_text(reason + "\n", encoding="utf-8")
        _REGISTRY_CACHE.pop(path, None)
        return target

    def heal(self) -> list[tuple[str, str]]:
        """Check the state behind every accepted file before a run plans its work.

        A registry that does not parse is moved aside (every file is then new again);
        a stored batch file that is missing, truncated or not of its stage's schema is
        moved aside and the files whose accepted rows it held are forgotten, so this
        run processes them again. Returns (relative path, reason) of those files.
        """
        registry = self._accepted_as_is()
        problems: dict[Path, str | None] = {}  # each file checked once
        # batch files checked by an earlier run, by stamp (a file is never changed once
        # written; one replaced or truncated since has another stamp): 695 files of a
        # 22,250-article state: 0.3-0.6 s of every run in py-spy profiles of +1 runs, under load
        verified = _load_verified(self.root / REGISTRY)
        present = {stage: set(os.listdir(self._batch_dir(stage))) if self._batch_dir(stage).is_dir() else set()
                   for stage in PER_DOCUMENT_STAGES}
        forget, healed = [], []
        batch_of: dict[tuple[str, str], Path] = {}  # a run's batch file, made once per run, not per key and stage
        for key, entry in registry.items():
            for stage, version in entry["versions"].items():
                path = batch_of.get((stage, version))
                if path is None:
                    path = self._batch(stage, version)
                    if path.name in present.get(stage, ()):
                        batch_of[(stage, version)] = path
                    else:
                        legacy = self._legacy(stage, key, version)
                        path = legacy if legacy.exists() else path
                if path not in problems:
                    problems[path] = _batch_problem(path, stage, verified)
                if problems[path] is not None:
                    forget.append(key)
                    healed.append((entry.get("relpath") or key, f"its stored {stage} rows: {problems[path]}"))
                    break
        for path, reason in problems.items():
            if reason is not None and path.exists():
                self.quarantine(path, reason)
        now_verified = {str(p): _VERIFIED[p] for p, reason in problems.items() if reason is None and p in _VERIFIED}
        _save_verified(self.root / REGISTRY, {p: v for p, v in now_verified.items() if verified.get(p) != v},
                       [p for p in verified if p not in now_verified])
        if forget:
            self.forget(forget)
        return healed

    def _accepted_as_is(self) -> Mapping[str, dict]:
        """The registry for reading only: read once per version of it (the corpus stage
        reads it for each of six tables; a write bumps the registry's generation)."""
        path = self.root / REGISTRY
        if not path.exists():
            if not (self.root / LEGACY_REGISTRY).exists() or not self._import_legacy():
                return {}
        try:
            with closing(_connect(path, create=False)) as con:
                con.execute("BEGIN")  # one snapshot: the generation and the rows it names
                stamp = _generation(con)
                hit = _REGISTRY_CACHE.get(path)
                if hit is None or hit[0] != stamp:
                    rows = con.execute("SELECT key, entry FROM files").fetchall()
                    # the entries of another version of it: only the rows written since are parsed
                    # (22,250 files: 0.2 s to parse all, for one batch's rows accepted)
                    hit = (stamp, *_parse_rows(rows, path, *(hit[1:] if hit is not None else ({}, {}))))
                    _REGISTRY_CACHE[path] = hit
                con.execute("COMMIT")
        except _Gone:
            return {}
        except sqlite3.DatabaseError as exc:  # not a database, malformed, truncated
            self.quarantine(path, f"not a SQLite registry: {type(exc).__name__}: {exc}")  # every file is new again
            return {}
        except BrokenStateFile as exc:
            self.quarantine(path, exc.reason)
            return {}
        return hit[1]

    def _import_legacy(self) -> bool:
        """Make the SQLite registry from the JSON one of older code (once; a process that
        finds it made meanwhile uses that one). False when there is nothing to import:
        the JSON registry does not parse (moved to the quarantine: every file is new
        again) or another process moved it."""
        legacy = self.root / LEGACY_REGISTRY
        try:
            registry = _parse_registry(legacy.read_bytes(), legacy)
        except FileNotFoundError:
            return (self.root / REGISTRY).exists()
        except BrokenStateFile as exc:
            self.quarantine(legacy, exc.reason)
            return False
        tmp = self.root / f".{REGISTRY}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            with closing(_connect(tmp, create=True)) as con:
                _write_rows(con, {k: json.dumps(v, separators=(",", ":")) for k, v in registry.items()}, [])
            try:
                os.link(tmp, self.root / REGISTRY)  # never over a registry made meanwhile
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: move it, unless one appeared
                if (self.root / REGISTRY).exists():
                    return True
                os.replace(tmp, self.root / REGISTRY)
                os.replace(legacy, legacy.with_name(LEGACY_REGISTRY + ".imported"))
            else:
                os.replace(legacy, legacy.with_name(LEGACY_REGISTRY + ".imported"))
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _save(self, registry: Mapping[str, dict]) -> None:
        """Make the registry `registry` (entries that differ from the stored ones are
        written, the ones it lacks deleted). Callers hold `_locked`."""
        current = self._accepted_as_is()
        self._apply({k: v for k, v in registry.items() if current.get(k) != v},
                    [k for k in current if k not in registry])

    def _apply(self, upserts: Mapping[str, dict], deletes: Iterable[str] = ()) -> Mapping[str, dict]:
        """Write `upserts` (key -> whole entry) and delete `deletes` in one transaction;
        the registry afterwards (read-only). Callers hold `_locked`. A change costs its
        own entries, not the registry's size: 200 files accepted into 22,250 take 0.02 s
        (0.13-0.15 s when the whole registry was copied and compared, 0.2-0.35 s to write
        it as one JSON file, as older code did)."""
        path = self.root / REGISTRY
        current = self._accepted_as_is()
        deletes = [k for k in deletes if k in current]
        if not upserts and not deletes and path.exists():
            return current
        self.root.mkdir(parents=True, exist_ok=True)
        written = {k: json.dumps(v, separators=(",", ":")) for k, v in upserts.items()}
        with closing(_connect(path, create=True)) as con:
            stamp = _write_rows(con, written, deletes)
        # the registry of that generation, made from the one read (copy-on-write: a reader
        # holding the old mapping never sees it change)
        after = dict(current)
        hit = _REGISTRY_CACHE.get(path)
        raws = dict(hit[2]) if hit is not None and hit[1] is current else {}
        for key in deletes:
            after.pop(key, None)
            raws.pop(key, None)
        after.update(_copy_registry(upserts))
        raws.update(written)
        _REGISTRY_CACHE[path] = (stamp, after, raws)
        return after

    def accept(self, entries: Mapping[str, dict]) -> None:
        """Record accepted versions: {key: {"versions": {stage: version}, "fingerprint": [...], "relpath": ...}}."""
        checkpoint("state:before_accept")
        with self._locked():
            self._gc(self._apply(entries))

    def quarantine_files(self, failed: Mapping[str, dict]) -> None:
        """Record files that failed alone while other files passed: {key: {"relpath",
        "fingerprint", "reason", "source_format"}}. Each is published as a `rejected`
        documents row with the reason (nothing else of it) and is not processed again
        until its bytes change; a later good version is accepted as usual."""
        if not failed:
            return
        now = pd.Timestamp.now(tz="UTC").isoformat()
        with self._locked():
            registry = self._accepted_as_is()
            changes = {}
            for key, info in failed.items():
                versions = dict(registry.get(key, {}).get("versions", {})) if info.get("keep_versions") else {}
                changes[key] = {"relpath": info["relpath"], "fingerprint": info.get("fingerprint"),
                                "versions": versions,
                                "quarantined": {"reason": info["reason"], "at": now,
                                                "source_format": info.get("source_format") or "unknown"}}
            self._apply(changes)

    def hold_out(self, keys: Iterable[str], owner: int) -> None:
        """Leave accepted files out of the corpus for a while (`release`): a run looking for
        the file that makes the corpus check fail. `owner` (a process id) is recorded, so a
        hold whose process died is released by the next `release_orphaned_holds`."""
        keys = set(keys)
        if not keys:
            return
        with self._locked():
            registry = self._accepted_as_is()
            self._apply({k: {**registry[k], "held_out": owner} for k in keys if k in registry})

    def release(self, keys: Iterable[str] | None = None) -> None:
        """End holds (all of them when `keys` is None)."""
        with self._locked():
            registry = self._accepted_as_is()
            self._apply({k: {n: v for n, v in e.items() if n != "held_out"} for k, e in registry.items()
                         if "held_out" in e and (keys is None or k in keys)})

    def release_orphaned_holds(self) -> None:
        """End the holds of processes that no longer run (a run killed while it searched)."""
        registry = self._accepted_as_is()
        dead = []
        for key, entry in registry.items():
            owner = entry.get("held_out")
            if owner is None:
                continue
            try:
                os.kill(int(owner), 0)
            except (ProcessLookupError, ValueError, TypeError):
                dead.append(key)
            except PermissionError:
                pass
        if dead:
            self.release(dead)

    def refresh_fingerprints(self, fingerprints: Mapping[str, list]) -> None:
        """Record a new fingerprint for accepted files whose bytes did not change (a touch,
        a copy that keeps the bytes): the next plan need not hash them again."""
        if not fingerprints:
            return
        with self._locked():
            registry = self._accepted_as_is()
            self._apply({k: {**registry[k], "fingerprint": fp} for k, fp in fingerprints.items()
                         if k in registry and registry[k].get("fingerprint") != fp})

    def forget(self, keys: Iterable[str]) -> None:
        with self._locked():
            self._apply({}, set(keys))

    def _gc(self, registry: Mapping[str, dict]) -> None:
        """Delete stored versions nothing needs: not accepted for any key, and older than
        the accepted version of every key they hold (a run still in progress, or one that
        failed after a newer success, is newer or unaccepted-but-needed: kept)."""
        for stage in PER_DOCUMENT_STAGES:
            used = {entry["versions"].get(stage) for entry in registry.values()}
            batches = self._batches_newest_first(stage)
            mtime = {b.stem: b.stat().st_mtime_ns for b in batches}
            # files a compacted file in use replaced (left behind when a compaction stopped
            # between its registry change and its deletions): their rows live on there
            replaced = set().union(*(_compacted_from(b) for b in batches if b.stem in used and b.stem.startswith("compact-")))
            for batch in batches:
                if batch.stem in used:
                    continue
                if batch.stem in replaced:
                    batch.unlink(missing_ok=True)
                    continue
                keys = _covered_keys(batch)
                accepted = [registry.get(k, {}).get("versions", {}).get(stage) for k in keys]
                if keys and all(v is not None and mtime.get(v, -1) >= mtime[batch.stem] for v in accepted):
                    batch.unlink(missing_ok=True)
            if not (self.root / "parts" / stage).is_dir():
                continue
            for key, entry in registry.items():  # the per-file layout of older warehouses
                version = entry["versions"].get(stage)
                folder = self.root / "parts" / stage / _key_dir_name(key)
                if version is None or not folder.is_dir():
                    continue
                keep = folder / f"{version}.parquet"
                if not keep.exists():
                    continue
                for old in folder.glob("*.parquet"):
                    if old != keep and old.stat().st_mtime_ns <= keep.stat().st_mtime_ns:
                        old.unlink(missing_ok=True)

    def compact(self, stages: Iterable[str] = PER_DOCUMENT_STAGES, target_keys: int = COMPACT_TARGET_KEYS,
                min_files: int = COMPACT_MIN_FILES) -> dict[str, int]:
        """Merge the accepted rows of small batch files into files of up to `target_keys`
        files each, so the corpus stage reads a few files, not one per run.

        A file is small when it holds the accepted rows of fewer than `target_keys / 2`
        files. Once a stage has `min_files` small ones, their accepted rows are written,
        in the order the files were made, into new batch files (`compact-...`), and the
        registry points their keys there in one transaction; the small files nothing
        points at any more are then deleted. A deployment whose sensor starts a run per few
        arriving files makes a batch file per run and stage (a year at 100 runs a day:
        36,500 per stage); compacted, their count stays about (files / target_keys) +
        min_files, and each row is rewritten about once per doubling of its file's size.

        The registry swap and the deletion happen under the corpus lock too: no corpus
        stage reads the old files meanwhile. Returns the small files merged, by stage."""
        merged: dict[str, int] = {}
        for stage in stages:
            registry = self._accepted_as_is()
            by_version: dict[str, list[str]] = {}
            for key, entry in registry.items():
                version = entry["versions"].get(stage)
                if version and not entry.get("quarantined") and "held_out" not in entry:
                    by_version.setdefault(version, []).append(key)
            small = [v for v, keys in by_version.items()
                     if len(keys) < target_keys // 2 and self._batch(stage, v).exists()]
            if len(small) < min_files:
                continue
            small.sort(key=lambda v: (self._batch(stage, v).stat().st_mtime_ns, v))
            groups: list[list[str]] = [[]]
            for version in small:
                if groups[-1] and sum(len(by_version[v]) for v in groups[-1]) + len(by_version[version]) > target_keys:
                    groups.append([])
                groups[-1].append(version)
            if len(groups) == len(small):
                continue  # nothing fits together
            written: list[tuple[str, dict[str, str]]] = []  # (new version, key -> the version it replaces)
            for group in groups:
                if len(group) < 2:
                    continue
                pairs = [(k, v) for v in group for k in sorted(by_version[v])]
                try:
                    tables = self._read_rows(stage, pairs)
                except BrokenStateFile:
                    continue  # `heal` deals with it; nothing is merged from a damaged file
                if not tables:
                    continue
                version = f"compact-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
                oldest = min(self._batch(stage, v).stat().st_mtime_ns for v in group)
                path = self._write_table(stage, version, [k for k, _v in pairs],
                                         pa.concat_tables([t for t in tables if t.num_rows] or tables[:1]),
                                         {COMPACTED_META: json.dumps(sorted(group)).encode()})
                # as old as its oldest part: the collection compares a batch file's age with
                # the accepted versions of its keys, and a run still under way (its files not
                # yet accepted) must never look older than what it replaces
                os.utime(path, ns=(oldest, oldest))
                written.append((version, dict(pairs)))
            if not written:
                continue
            with corpus_lock(self.root), self._locked():
                registry = self._accepted_as_is()
                changes = {}
                for version, replaces in written:
                    for key, old in replaces.items():
                        entry = registry.get(key)
                        if entry is not None and entry["versions"].get(stage) == old:  # not changed meanwhile
                            changes[key] = {**entry, "versions": {**entry["versions"], stage: version}}
                moved = len(changes)
                registry = self._apply(changes)
                checkpoint("state:compact_swapped")
                # the merged files nothing points at any more go now (the collection keeps a
                # file whose keys' accepted versions are older than it, as the merged file is)
                still_used = {e["versions"].get(stage) for e in registry.values()}
                for _version, replaces in written:
                    for old in set(replaces.values()) - still_used:
                        self._batch(stage, old).unlink(missing_ok=True)
                self._gc(registry)
            merged[stage] = len({v for _version, replaces in written for v in replaces.values()}) if moved else 0
        return merged

    def _write_table(self, stage: str, version: str, keys: list[str], table: pa.Table,
                     metadata: Mapping[bytes, bytes] | None = None) -> Path:
        """Store rows in the stage's stored schema (Arrow) as the batch file of `version`,
        covering `keys` (its metadata lists them: a file with no rows still covers them)."""
        folder = self._batch_dir(stage)
        folder.mkdir(parents=True, exist_ok=True)
        final = self._batch(stage, version)
        tmp = folder / f".{version}.{os.getpid()}.tmp"
        keys = list(dict.fromkeys(keys))
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **(metadata or {}),
                                               KEYS_META: json.dumps(keys).encode()})
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
            raise
        return final

    def accepted_batch_files(self, stages: Iterable[str]) -> list[Path]:
        """The batch files holding the accepted rows of `stages`: what a corpus stage will
        read (the execution layer reads them ahead, `pipeline.distributed.prefetch`)."""
        registry = self._accepted_as_is()
        paths = []
        for stage in stages:
            for version in sorted({e["versions"][stage] for e in registry.values() if e["versions"].get(stage)}):
                paths.append(self._batch(stage, version))
        return paths

    def read_accepted_tables(self, stages: Iterable[str], keys: Iterable[str] | None = None,
                             ) -> tuple[dict[str, pd.DataFrame | None], list[tuple[str, str]]]:
        """The accepted rows of several stages (of the files `keys` only, when given), and
        the files left out because their stored rows could not be read: each such batch
        file is moved to the quarantine and its files are forgotten (the next run processes
        them again), the rest is read."""
        stages = list(stages)
        wanted = None if keys is None else list(keys)
        healed: list[tuple[str, str]] = []
        while True:
            try:
                return {stage: self.read_accepted(stage, wanted) for stage in stages}, healed
            except BrokenStateFile as exc:
                registry = self._accepted_as_is()
                stage = _stage_of(exc.path)
                if exc.keys and all(registry.get(k, {}).get("versions", {}).get(stage) not in (None, exc.path.stem)
                                    for k in exc.keys):
                    continue  # the registry moved these files to other rows meanwhile (`compact`): read again
                lost = [k for k in exc.keys if k in registry] or [
                    k for k, e in registry.items() if _stage_of(exc.path) in e["versions"]
                    and self._batch(_stage_of(exc.path), e["versions"][_stage_of(exc.path)]) == exc.path]
                healed += [(registry[k].get("relpath") or k, f"stored rows unreadable: {exc.reason}") for k in lost]
                self.quarantine(exc.path, exc.reason)
                if not lost:
                    raise
                self.forget(lost)

    def read_accepted(self, stage: str, keys: Iterable[str] | None = None) -> pd.DataFrame | None:
        """All accepted rows of a stage (None when nothing is accepted yet), in key order."""
        registry = self._accepted_as_is()
        wanted = sorted(k for k in (registry.keys() if keys is None else [k for k in keys if k in registry])
                        if "held_out" not in registry[k])
        pairs = [(k, registry[k]["versions"][stage]) for k in wanted
                 if registry[k]["versions"].get(stage) and not registry[k].get("quarantined")]
        tables = self._read_rows(stage, pairs)
        if stage == "documents":
            held = [k for k in wanted if registry[k].get("quarantined")]
            if held:
                tables.append(_quarantined_rows(held, registry))
        return self._frame(tables, wanted)


def _quarantined_rows(keys: list[str], registry: Mapping[str, dict]) -> pa.Table:
    """The `rejected` documents row of each quarantined file (`StateStore.quarantine_files`)."""
    from pipeline import ids
    from pipeline.ingest import display_path

    rows = []
    for key in keys:
        entry = registry[key]
        held, fp = entry["quarantined"], entry.get("fingerprint") or [0, 0, None]
        relpath = display_path(entry["relpath"])
        rows.append({
            "doc_id": fp[2] or ids.doc_id(f"quarantined:{relpath}".encode()), "source_path": relpath, "text": "",
            "encoding": "unknown", "n_bytes": max(int(fp[0]), 0), "status": "rejected",
            "reason": f"quarantined: {held['reason']}"[:2000], "ingested_at": pd.Timestamp(held["at"]),
            "source_format": held.get("source_format") or "unknown", "partition_key": key,
        })
    schema = state_schema("documents")
    return to_arrow(pd.DataFrame(rows), schema, "quarantined files").replace_schema_metadata(None)


def _copy_registry(registry: Mapping[str, dict]) -> dict[str, dict]:
    """A copy whose entries (and their `versions`) can be changed without touching `registry`
    (callers replace the other values, never change them in place)."""
    return {k: {**v, "versions": dict(v["versions"])} for k, v in registry.items()}


def _parse_registry(raw: bytes, path: Path) -> dict[str, dict]:
    try:
        registry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BrokenStateFile(path, f"not a JSON registry: {exc}") from exc
    if not isinstance(registry, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("versions"), dict) for v in registry.values()):
        raise BrokenStateFile(path, "not a registry of accepted files")
    return registry


_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
_REGISTRY_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (key TEXT PRIMARY KEY, entry TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verified (path TEXT PRIMARY KEY, ino INTEGER, mtime_ns INTEGER, size INTEGER) WITHOUT ROWID;
"""


class _Gone(Exception):
    """The registry database vanished between the existence check and the open."""


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    """A connection to the registry at `path` (autocommit: transactions are explicit).
    `create`: make the database and its tables when missing; else `_Gone` when missing."""
    if not create and not path.exists():
        raise _Gone(path)
    con = sqlite3.connect(path if create else f"file:{path}?mode=rw", uri=not create, timeout=120,
                          isolation_level=None)
    try:
        con.execute("PRAGMA synchronous=FULL")  # a commit is on disk when accept() returns
        if create:
            con.executescript(_REGISTRY_SCHEMA)
            # an incarnation: a new database (after a quarantine) never matches a cached read
            con.execute("INSERT OR IGNORE INTO meta VALUES ('incarnation', ?)", (int.from_bytes(os.urandom(6), "big"),))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('generation', 0)")
    except sqlite3.OperationalError as exc:
        con.close()
        if not create and "unable to open" in str(exc):
            raise _Gone(path) from exc
        raise
    except BaseException:
        con.close()
        raise
    return con


def _generation(con: sqlite3.Connection) -> tuple[int, int]:
    """(incarnation, generation) of the registry: it changes with every write."""
    found = dict(con.execute("SELECT name, value FROM meta").fetchall())
    if "incarnation" not in found or "generation" not in found:
        raise sqlite3.DatabaseError("not a registry of accepted files (no generation)")
    return int(found["incarnation"]), int(found["generation"])


def _write_rows(con: sqlite3.Connection, upserts: Mapping[str, str], deletes: Iterable[str]) -> tuple[int, int]:
    """Write entries (key -> JSON) and delete keys in one transaction; the new stamp."""
    con.execute("BEGIN IMMEDIATE")
    try:
        con.executemany("INSERT INTO files(key, entry) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET entry = excluded.entry",
                        list(upserts.items()))
        con.executemany("DELETE FROM files WHERE key = ?", [(k,) for k in deletes])
        con.execute("UPDATE meta SET value = value + 1 WHERE name = 'generation'")
        stamp = _generation(con)
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    return stamp


def _load_verified(registry: Path) -> dict[str, tuple[int, int, int]]:
    """Batch files whose footer and schema a run checked (`StateStore.heal`): path -> stamp.
    Kept beside the registry; empty when it cannot be read (every file is checked again)."""
    try:
        with closing(_connect(registry, create=False)) as con:
            return {p: (ino, mtime, size) for p, ino, mtime, size in con.execute("SELECT * FROM verified")}
    except (_Gone, sqlite3.Error):
        return {}


def _save_verified(registry: Path, add: Mapping[str, tuple[int, int, int]], drop: Iterable[str]) -> None:
    """Record checked batch files and forget gone ones; a failure only means checking again."""
    drop = list(drop)
    if not add and not drop:
        return
    try:
        with closing(_connect(registry, create=True)) as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?)", [(p, *v) for p, v in add.items()])
            con.executemany("DELETE FROM verified WHERE path = ?", [(p,) for p in drop])
            con.execute("COMMIT")
    except sqlite3.Error:
        pass


def _parse_rows(rows: list[tuple[str, str]], path: Path, known: Mapping[str, dict] | None = None,
                known_raw: Mapping[str, str] | None = None) -> tuple[dict[str, dict], dict[str, str]]:
    """(key -> entry, key -> its JSON) of the registry rows; an entry whose JSON is that of
    `known_raw` (an earlier read) is taken from `known` as it is."""
    known, known_raw = known or {}, known_raw or {}
    try:
        registry = {key: known[key] if known_raw.get(key) == entry else json.loads(entry) for key, entry in rows}
    except ValueError as exc:
        raise BrokenStateFile(path, f"an entry is not JSON: {exc}") from exc
    if not all(isinstance(v, dict) and isinstance(v.get("versions"), dict) for v in registry.values()):
        raise BrokenStateFile(path, "not a registry of accepted files")
    return registry, dict(rows)


_VERIFIED: dict[Path, tuple[int, int, int]] = {}  # batch files whose footer and schema were checked, by stamp


def _batch_problem(path: Path, stage: str, verified: Mapping[str, tuple] | None = None) -> str | None:
    """Why a stored batch file cannot be read as `stage` rows, or None when it can.
    `verified`: stamps of files checked before (`_load_verified`)."""
    try:
        seen = stamp(path)
    except FileNotFoundError:
        return "missing"
    if _VERIFIED.get(path) == seen:
        return None
    if verified is not None and verified.get(str(path)) == seen:
        _VERIFIED[path] = seen
        return None
    try:
        stored = pq.read_schema(path)
        fit_stored(stored.empty_table(), state_schema(stage), str(path))
    except (OSError, pa.ArrowException, StoredSchemaError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if len(_VERIFIED) > 65536:
        _VERIFIED.clear()
    _VERIFIED[path] = seen
    return None


# ------------------------------------------------------------ cross-document indexes
TEXT_DIGESTS = "document_keys.json"  # the documents' comparison keys, by exact text (`build.corpus_documents`)


INDEX_FILES = ("neardup_documents", "neardup_paragraphs", "templates.json")  # and TEXT_DIGESTS


def indexes_stamp(root: Path) -> tuple:
    """What identifies the saved indexes of a state folder (`stamp` of each of their files,
    None for a missing one): every save replaces their files, so a save in between changes it."""
    root = Path(root)
    out = []
    for name in (*INDEX_FILES, TEXT_DIGESTS):
        path = root / name
        try:
            if path.is_dir():
                out.append((name, tuple((p.name, stamp(p)) for p in sorted(path.iterdir()))))
            else:
                out.append((name, stamp(path)))
        except FileNotFoundError:
            out.append((name, None))
    return tuple(out)


def load_indexes(root: Path, heal: bool = True):
    """The near-duplicate indexes and the template counter of a state folder.

    Each is a cache of what the accepted rows already say: one that cannot be read
    (truncated, garbage, made with other settings) is moved to the quarantine and
    starts empty, and the corpus stage signs and counts every text again. With
    `heal=False` (a read ahead, outside the corpus lock) such a file raises
    `BrokenStateFile` instead, and nothing is moved.
    """
    from pipeline.corpus_indexes import CorpusIndexes
    from pipeline.neardup import NearDupConfig, NearDupIndex
    from pipeline.templates import TemplateCounter

    root = Path(root)
    store = StateStore(root)
    docs_path, paras_path, tmpl_path = root / "neardup_documents", root / "neardup_paragraphs", root / "templates.json"
    digests_path = root / TEXT_DIGESTS

    def load(path: Path, read, empty):
        if not path.exists():
            return empty()
        try:
            return read(path)
        except (OSError, ValueError, KeyError, TypeError, EOFError, AttributeError, IndexError) as exc:
            if not heal:
                raise BrokenStateFile(path, f"unreadable index: {type(exc).__name__}: {exc}") from exc
            store.quarantine(path, f"unreadable index, rebuilt from the accepted rows: {type(exc).__name__}: {exc}")
            return empty()

    def digests(path: Path) -> dict:
        value = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(value, dict):
            raise ValueError("not a mapping of digests")
        return value

    return CorpusIndexes(
        documents=load(docs_path, lambda p: NearDupIndex.load(p, NearDupConfig()), lambda: NearDupIndex(NearDupConfig())),
        paragraphs=load(paras_path, lambda p: NearDupIndex.load(p, NearDupConfig.for_paragraphs()),
                        lambda: NearDupIndex(NearDupConfig.for_paragraphs())),
        templates=load(tmpl_path, lambda p: TemplateCounter.from_json(p.read_text(encoding="utf-8")), TemplateCounter),
        text_digests=load(digests_path, digests, dict),
    )


def _replace_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, unless the file holds it already."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, ValueError):
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_indexes(root: Path, indexes, generation: str | None = None) -> None:
    """Write the indexes; `generation` names the corpus they describe (`save_corpus_snapshot`).
    The old generation's mark goes first: indexes half written never match a snapshot."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / INDEXES_GENERATION).unlink(missing_ok=True)
    indexes.documents.save(root / "neardup_documents")
    indexes.paragraphs.save(root / "neardup_paragraphs")
    _replace_text(root / "templates.json", indexes.templates.to_json())
    _replace_text(root / TEXT_DIGESTS, json.dumps(dict(sorted(indexes.text_digests.items())), separators=(",", ":")))
    if generation is not None:
        tmp = root / f".{INDEXES_GENERATION}.{os.getpid()}.tmp"
        tmp.write_text(generation)
        os.replace(tmp, root / INDEXES_GENERATION)


# ------------------------------------------------------------ the last corpus
# The corpus the last corpus step assembled, kept so that the next one can add the files
# accepted since (`pipeline.build.extend_corpus`) instead of assembling every file again.
# A cache like the indexes: it is used only together with the indexes that assembly left
# (the same `generation`), and only when every file it holds is still accepted as it was
# (`file_tokens`); anything else, or a snapshot that cannot be read, means a whole assembly.
CORPUS_SNAPSHOT = "corpus"
INDEXES_GENERATION = "indexes.generation"
_SNAPSHOT_FORMAT = 2
SNAPSHOT_MAX_CHUNKS = 24  # a table kept as more Arrow files than this is written again as one


def file_tokens(registry: Mapping[str, dict]) -> dict[str, str]:
    """What identifies each accepted file's rows (files held out are left out): the run that
    accepted them (a compaction moves rows, it keeps the run), the SHA-256 of the bytes they
    were read from (a file moved or touched keeps it), and the quarantine, if any."""
    out = {}
    for key, entry in registry.items():
        if "held_out" in entry:
            continue
        made = entry.get("run_id") or json.dumps(entry.get("versions"), sort_keys=True)
        fingerprint = entry.get("fingerprint") or ()
        read = fingerprint[2] if len(fingerprint) > 2 and fingerprint[2] else fingerprint  # the bytes' SHA-256
        quarantined = entry.get("quarantined")
        out[key] = f"{made}|{read}|{quarantined.get('at') if quarantined else ''}"
    return out


def indexes_generation(root: Path) -> str | None:
    try:
        return (Path(root) / INDEXES_GENERATION).read_text().strip() or None
    except OSError:
        return None


class CorpusSnapshot:
    """The six tables of the last assembled corpus (pandas, as Arrow gives them back), the
    tokens of the files they hold, their generation, and the Arrow files each table is kept
    in (`chunks`: a table that only grew is its earlier files plus one of the new rows)."""

    def __init__(self, tables: dict[str, pd.DataFrame], tokens: dict[str, str], generation: str,
                 chunks: Mapping[str, list[str]] | None = None, texts: dict[str, str] | None = None,
                 code: str | None = None):
        self.tables, self.tokens, self.generation = tables, tokens, generation
        self.chunks = dict(chunks or {})
        self.code = code  # `pipeline.build.assembly_code()` of the code that assembled it
        self.texts = texts  # `CorpusIndexes.first_with_text` of that corpus (None: not kept)

    def added_files(self, tokens: Mapping[str, str]) -> list[str] | None:
        """The files of `tokens` (the registry now) that the snapshot lacks, in key order; None
        when a file it holds is gone or was accepted again since (then it cannot be extended)."""
        for key, token in self.tokens.items():
            if tokens.get(key) != token:
                return None
        return sorted(k for k in tokens if k not in self.tokens)


def _write_chunk(folder: Path, name: str, df: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, folder / name)


def save_corpus_snapshot(root: Path, tables: Mapping[str, pd.DataFrame], tokens: Mapping[str, str],
                         generation: str, previous: CorpusSnapshot | None = None,
                         unchanged: Mapping[str, int] | None = None, texts: Mapping[str, str] | None = None,
                         code: str | None = None) -> None:
    """Write the corpus of `generation` as the pending one (`promote_corpus_snapshot` makes
    it the snapshot once its checks passed; a crash before leaves the snapshot before), then
    delete the files nothing points at.

    `unchanged` (table -> n): the first n rows of that table are the rows of `previous`'s,
    as they were; such a table keeps `previous`'s files (linked under the new generation's
    names) and only its new rows are written, up to SNAPSHOT_MAX_CHUNKS files per table."""
    folder = Path(root) / CORPUS_SNAPSHOT
    folder.mkdir(parents=True, exist_ok=True)
    grown = dict(unchanged or {})
    keys = list(tokens)
    if previous is not None and all(tokens.get(k) == t for k, t in previous.tokens.items()):
        keys = list(previous.tokens) + [k for k in tokens if k not in previous.tokens]  # the files it held first
        grown["files"] = len(previous.tokens)
    frames = {**tables, "files": pd.DataFrame({"key": keys, "token": [tokens[k] for k in keys]})}
    if texts is not None:  # comparison key -> first document with that text (only grows with the corpus)
        frames["texts"] = pd.DataFrame({"key": list(texts), "doc_id": list(texts.values())})
        if previous is not None and previous.texts is not None and "texts" not in grown \
                and list(texts)[: len(previous.texts)] == list(previous.texts):
            grown["texts"] = len(previous.texts)
    chunks: dict[str, list[str]] = {}
    for name, df in frames.items():
        before = previous.chunks.get(name, []) if previous is not None else []
        kept = grown.get(name)
        names: list[str] = []
        if before and kept is not None and 0 < kept <= len(df) and len(before) < SNAPSHOT_MAX_CHUNKS:
            for n, old in enumerate(before):
                names.append(f"{generation}.{name}.{n}.arrow")
                try:
                    os.link(folder / old, folder / names[-1])
                except OSError:
                    names = []
                    break
        if names:
            if kept < len(df):
                names.append(f"{generation}.{name}.{len(names)}.arrow")
                _write_chunk(folder, names[-1], df.iloc[kept:])
        else:
            names = [f"{generation}.{name}.0.arrow"]
            _write_chunk(folder, names[0], df)
        chunks[name] = names
    tmp = folder / f".pending.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"format": _SNAPSHOT_FORMAT, "generation": generation, "chunks": chunks, "code": code}))
    os.replace(tmp, folder / PENDING)
    _collect(folder)


PENDING = "pending.json"  # the corpus written, not yet validated


def _referenced(path: Path) -> set[str]:
    try:
        return {n for names in json.loads(path.read_text(encoding="utf-8"))["chunks"].values() for n in names}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def _collect(folder: Path) -> None:
    """Delete the Arrow files neither the snapshot nor the pending one names."""
    live = _referenced(folder / "meta.json") | _referenced(folder / PENDING)
    for path in folder.iterdir():
        if path.suffix == ".arrow" and path.name not in live:
            path.unlink(missing_ok=True)


def promote_corpus_snapshot(root: Path, generation: str) -> bool:
    """Make the corpus of `generation`, written last (`save_corpus_snapshot`), the one the
    next corpus step extends, once it passed its checks (the publish step of the run that
    assembled it calls this): a corpus that failed them is never extended. Only if it is
    still the one written last and the indexes are still those of its generation. Call it
    holding the corpus lock. Returns whether it was promoted."""
    folder = Path(root) / CORPUS_SNAPSHOT
    try:
        pending = json.loads((folder / PENDING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(pending, dict) or pending.get("generation") != generation \
            or generation != indexes_generation(root):
        return False
    os.replace(folder / PENDING, folder / "meta.json")
    _collect(folder)
    return True


def drop_corpus_snapshot(root: Path) -> None:
    """Forget the last corpus (the next corpus step assembles every file)."""
    for name in ("meta.json", PENDING):
        (Path(root) / CORPUS_SNAPSHOT / name).unlink(missing_ok=True)


def load_corpus_snapshot(root: Path) -> CorpusSnapshot | None:
    """The last corpus, or None (none kept, or it cannot be read: a whole assembly then)."""
    folder = Path(root) / CORPUS_SNAPSHOT
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != _SNAPSHOT_FORMAT:
            return None
        chunks = {name: list(files) for name, files in meta["chunks"].items()}

        def read(name: str) -> pd.DataFrame:
            parts = []
            for file in chunks[name]:
                with pa.memory_map(str(folder / file)) as source:
                    parts.append(pa.ipc.open_file(source).read_all())
            if len(parts) > 1:  # a column all null in one file is of type null there
                schema = pa.unify_schemas([p.schema for p in parts], promote_options="default")
                parts = [p.cast(schema) for p in parts]
            return pa.concat_tables(parts).to_pandas()

        tables = {name: read(name) for name in chunks if name not in ("files", "texts")}
        files = read("files")
        texts = read("texts") if "texts" in chunks else None
        return CorpusSnapshot(tables, dict(zip(files["key"].tolist(), files["token"].tolist())), meta["generation"],
                              chunks, dict(zip(texts["key"].tolist(), texts["doc_id"].tolist())) if texts is not None else None,
                              meta.get("code"))
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
CONFLICT_MEMO = "conflict_readings.json"  # clause readings of the quantities (`conflicts.ContextMemo`)


def load_conflict_memo(root: Path):
    from pipeline.conflicts import ContextMemo

    path = Path(root) / CONFLICT_MEMO
    try:
        return ContextMemo.from_json(path.read_text()) if path.exists() else ContextMemo()
    except (ValueError, KeyError, TypeError):  # unreadable: start afresh (the memo only saves work)
        return ContextMemo()


def save_conflict_memo(root: Path, memo) -> None:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{CONFLICT_MEMO}.{os.getpid()}.tmp"
    tmp.write_text(memo.to_json())
    os.replace(tmp, root / CONFLICT_MEMO)


CLUSTER_MEMO = "cluster_links.json"  # the links between claims of the last clustering (`clusters.LinkMemo`)


def load_cluster_memo(root: Path):
    from pipeline.clusters import LinkMemo

    path = Path(root) / CLUSTER_MEMO
    try:
        return LinkMemo.from_json(path.read_text()) if path.exists() else LinkMemo()
    except (ValueError, KeyError, TypeError, IndexError):  # unreadable: start afresh (the memo only saves work)
        return LinkMemo()


def save_cluster_memo(root: Path, memo) -> None:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{CLUSTER_MEMO}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(memo.to_json())
        os.replace(tmp, root / CLUSTER_MEMO)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def corpus_lock(root: Path) -> Iterator[None]:
    """One corpus assembly at a time (it updates the shared indexes)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".corpus.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
