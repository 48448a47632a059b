"""Publishing the tables: atomic per table, consistent as a set, with a DuckDB catalog.

An `s3://bucket/prefix` warehouse (an `S3Warehouse`) has its own layout, a pointer
object instead of symlinks: see "object storage" below. Layout of a local warehouse:

    <warehouse>/<table>            -> symlink to current/<table> (fixed)
    <warehouse>/catalog.duckdb     -> symlink to current/catalog.duckdb (fixed)
    <warehouse>/current            -> symlink to .versions/<snapshot>
    <warehouse>/.versions/<snapshot>/<table>/part-<n>-<digest>.parquet   (parts: see PART_ROWS)
    <warehouse>/.versions/<snapshot>/catalog.duckdb
                                   one view per table over that snapshot's folders, plus analytical views
    <warehouse>/_manifest.json     snapshot, row counts and the publish time

A snapshot, its catalog included, is written completely (and fsynced) in its own
folder before anything points at it; the `current` symlink is then swapped with one
`rename`, which is atomic on POSIX, so every table and the catalog change at once: a
reader sees the old tables or the new ones, never a mix, and never a half-written file.

The catalog's views name the folders of their own snapshot, never the stable paths: a
query opens a file more than once (footer, then column chunks, from several threads),
and a path that a publish re-points in between would hand it the footer of one version
and the bytes of another. A connection to `<warehouse>/catalog.duckdb` opens the
catalog of the snapshot current at that moment and keeps reading that snapshot, whole
and consistent, until it reconnects. Superseded snapshots are kept while they are
among the last KEEP_VERSIONS or were superseded less than RETAIN_SECONDS ago, so such
a connection, and a reader that resolved `current` mid-query, can finish.

An exclusive lock on `<warehouse>/.lock` serializes publishers: a second run waits
for the first (up to a timeout), then fails cleanly.

The files are written for readers (BI tools, DuckDB, pandas): zstd, row groups sized
by bytes (~128 MiB uncompressed, at most 1M rows), dictionary encoding only for the
low-cardinality columns (status, language, speaker, unit, label, ...), statistics
and a page index, rows sorted by the columns people filter on (so row-group min/max
statistics prune), and descriptions both per column (Arrow field metadata, read by
pyarrow/pandas) and per file (key-value metadata `description` and
`column_descriptions`, JSON, read by anything that reads Parquet footers, e.g.
DuckDB's `parquet_kv_metadata`).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import parts as parts_
from pipeline.catalog_views import ANALYTICAL_VIEWS, TABLE_DESCRIPTIONS
from pipeline.faults import checkpoint
from pipeline.schemas import TABLES
from pipeline.storage import S3Warehouse, duckdb_filesystem

VERSIONS_DIR = ".versions"
CURRENT = "current"
CATALOG = "catalog.duckdb"
KEEP_VERSIONS = 3
RETAIN_SECONDS = 3600.0  # a superseded snapshot stays readable at least this long
LOCK_TIMEOUT_S = 600.0
ROW_GROUP_TARGET_BYTES = 128 * 1024 * 1024  # uncompressed, in Arrow memory
ROW_GROUP_MIN_ROWS, ROW_GROUP_MAX_ROWS = 10_000, 1_000_000
ZSTD_LEVEL = 3

# The order rows are written in: what readers filter or join on first (row-group
# statistics then skip whole groups), with a unique column last for a total order.
SORT_KEYS: dict[str, list[tuple[str, str]]] = {
    "documents": [("status", "ascending"), ("published_at", "ascending"), ("source_path", "ascending"),
                  ("doc_id", "ascending")],
    "paragraphs": [("doc_id", "ascending"), ("ordinal", "ascending"), ("paragraph_id", "ascending")],
    "sentences": [("doc_id", "ascending"), ("ordinal", "ascending"), ("sentence_id", "ascending")],
    "claims": [("doc_id", "ascending"), ("char_start", "ascending"), ("claim_id", "ascending")],
    "claim_quantities": [("unit", "ascending"), ("doc_id", "ascending"), ("char_start", "ascending"),
                         ("claim_id", "ascending"), ("ordinal", "ascending")],
    "claim_entities": [("label", "ascending"), ("canonical", "ascending"), ("doc_id", "ascending"),
                       ("char_start", "ascending"), ("claim_id", "ascending"), ("ordinal", "ascending")],
    "claim_clusters": [("n_documents", "descending"), ("n_claims", "descending"), ("cluster_id", "ascending")],
    "quantity_conflicts": [("unit", "ascending"), ("claim_id_a", "ascending"), ("claim_id_b", "ascending")],
}

# Few distinct values: dictionary-encoded. Ids and free text are not (a dictionary
# of unique values only costs), except ids of parents that repeat on many rows.
DICTIONARY_COLUMNS: dict[str, set[str]] = {
    "documents": {"status", "reason", "language", "encoding", "source_format"},
    "paragraphs": {"doc_id", "status", "reason"},
    "sentences": {"doc_id"},
    "claims": {"doc_id", "speaker", "speaker_type", "cue", "quote_type", "cluster_id"},
    "claim_quantities": {"doc_id", "unit", "qualifier"},
    "claim_entities": {"doc_id", "text", "label", "canonical"},
    "claim_clusters": set(),
    "quantity_conflicts": {"doc_id_a", "doc_id_b", "unit", "qualifier_a", "qualifier_b", "shared_entities"},
}


class WarehouseBusy(RuntimeError):
    pass


@dataclass(frozen=True)
class PublishedTable:
    name: str
    version: str
    path: Path | str  # the table's stable path (<warehouse>/<table>; on s3://, its snapshot's folder)
    version_path: Path | str
    rows: int
    parts: int = 1  # files of the table in this snapshot
    parts_reused: int = 0  # of those, parts equal to one of the snapshot before, linked instead of written


@contextmanager
def exclusive(lock_file: Path, timeout_s: float, on_wait=None) -> Iterator[None]:
    """An exclusive advisory lock on `lock_file`, waiting up to `timeout_s` seconds.

    The kernel releases it when the process dies, so a crash never leaves it stale.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(f"{lock_file} is held by another run; gave up after {timeout_s:g} s") from None
                if on_wait is not None and not waited:
                    on_wait()
                waited = True
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def warehouse_lock(warehouse: Path, timeout_s: float = LOCK_TIMEOUT_S):
    """Serializes publishers of one warehouse."""
    return exclusive(Path(warehouse) / ".lock", timeout_s)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sort_keys(name: str, table: pa.Table) -> list[tuple[str, str]]:
    return [(k, order) for k, order in SORT_KEYS.get(name, []) if k in table.column_names]


def _row_group_rows(table: pa.Table) -> int:
    if not table.num_rows:
        return ROW_GROUP_MIN_ROWS
    per_row = max(1, table.nbytes // table.num_rows)
    return max(ROW_GROUP_MIN_ROWS, min(ROW_GROUP_MAX_ROWS, ROW_GROUP_TARGET_BYTES // per_row))


def _dictionary_columns(name: str, table: pa.Table) -> list[str] | bool:
    if name not in DICTIONARY_COLUMNS:
        return True  # an unknown table: let Parquet decide (it falls back to plain per page)
    return [c for c in table.column_names if c in DICTIONARY_COLUMNS[name]]


def _with_descriptions(name: str, table: pa.Table) -> pa.Table:
    """Field descriptions from the schema (kept if the table already has them) plus file-level ones."""
    contract = TABLES.get(name)
    fields = []
    for f in table.schema:
        meta = dict(f.metadata or {})
        if b"description" not in meta and contract is not None and f.name in contract.names:
            meta.update(contract.field(f.name).metadata or {})
        fields.append(f.with_metadata(meta) if meta else f)
    descriptions = {f.name: (f.metadata or {}).get(b"description", b"").decode() for f in fields}
    schema_meta = dict(table.schema.metadata or {})
    schema_meta.update({
        b"table": name.encode(),
        b"description": TABLE_DESCRIPTIONS.get(name, "").encode(),
        b"column_descriptions": json.dumps({k: v for k, v in descriptions.items() if v}).encode(),
    })
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, metadata=schema_meta))


PART = "part-00000.parquet"  # the one file of a table, as written before parts

# A table is written as parts (`pipeline.parts`: content-defined boundaries on the sort
# key, PART_ROWS rows on average), each sorted like the whole table; a part equal to one of
# the snapshot being replaced is linked (a hard link on local disk, a copy inside the store
# on s3://), not written: a run that adds one article rewrites the parts it touched.
PART_ROWS: dict[str, int] = {"documents": 1024, "claim_entities": 16384}
DEFAULT_PART_ROWS = 8192
PARTS_FORMAT = "parts-1"  # changes when the way a part is written changes: no part is then reused


def table_parts(name: str, table: pa.Table) -> list[parts_.Part]:
    """The table as readers get it (sorted, described; see the module docstring), cut into
    parts (`pipeline.parts`), each with the digest of its content."""
    keys = _sort_keys(name, table)
    if keys and table.num_rows:
        table = table.sort_by(keys)
    table = _with_descriptions(name, table)
    return parts_.cut(table, [k for k, _order in keys], PART_ROWS.get(name, DEFAULT_PART_ROWS),
                      salt=f"{PARTS_FORMAT}/{name}")


def _write_parquet(name: str, table: pa.Table, where: str | Path, filesystem=None) -> None:
    """One part (already sorted and described, `table_parts`) as one Parquet file for readers."""
    pq.write_table(
        table, where, compression="zstd", compression_level=ZSTD_LEVEL, row_group_size=_row_group_rows(table),
        use_dictionary=_dictionary_columns(name, table), write_statistics=True, write_page_index=True,
        filesystem=filesystem,
    )


@dataclass(frozen=True)
class Written:
    folder: Path
    parts: int
    reused: int


def write_version(snapshot: Path, name: str, table: pa.Table, previous: Path | None = None) -> Written:
    """Write one table into a snapshot folder that nothing points at yet; a part equal to
    one in `previous` (the same table's folder in the snapshot being replaced) is
    hard-linked from there instead of written."""
    folder = snapshot / name
    folder.mkdir(parents=True)

    def write(part: parts_.Part, target: Path) -> None:
        _write_parquet(name, part.table, target)
        with open(target, "rb") as fh:
            os.fsync(fh.fileno())

    parts = table_parts(name, table)
    reused = parts_.write_folder(folder, parts, previous, write)
    _fsync_dir(folder)
    return Written(folder, len(parts), reused)


def _swap_symlink(link: Path, target: str) -> None:
    """Point `link` at `target` (relative) with one atomic rename."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    tmp = link.with_name(f".{link.name}.link-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp, target_is_directory=True)
    if link.exists() and not link.is_symlink():
        # a plain folder from an older layout: move it aside (one-time, not atomic)
        link.rename(link.with_name(f".{link.name}.legacy-{int(time.time())}"))
    os.replace(tmp, link)
    _fsync_dir(link.parent)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment_columns(con, view: str, descriptions: Mapping[str, str]) -> None:
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [view]).fetchall()]
    for column in columns:
        desc = descriptions.get(column)
        if desc:
            con.execute(f'COMMENT ON COLUMN "{view}"."{column}" IS {_sql_str(desc)}')


def _parquet_files(folder: Path) -> str:
    """A DuckDB list literal naming each Parquet file of a (never modified) snapshot folder.
    Not a glob: a warehouse path may hold glob characters (`wh[1]`, `?`, `*`) that DuckDB
    would read as a pattern and find nothing."""
    files = sorted(p.absolute().as_posix() for p in Path(folder).rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files in {folder}")
    return "[" + ", ".join(_sql_str(f) for f in files) + "]"


def build_catalog(final: Path, tables: Mapping[str, Path | list[str]], filesystem=None) -> Path:
    """Create the DuckDB catalog file `final` (written aside, then renamed into place).

    One view per table over its folder in `tables`, or over the list of files (`s3://`
    addresses) given for it (comment: the table's description; column comments from the
    schema), then the analytical views of `pipeline.catalog_views` whose tables are all
    present, with their own view and column comments. `filesystem`: an fsspec filesystem
    that DuckDB reads those addresses through while it creates the views.
    """
    import duckdb

    tmp = final.with_name(f".{final.stem}.{os.getpid()}.duckdb")
    for p in (tmp, Path(str(tmp) + ".wal")):
        if p.exists():
            p.unlink()
    con = duckdb.connect(str(tmp))
    done = False
    try:
        if filesystem is not None:
            con.register_filesystem(filesystem)
        column_descriptions: dict[str, str] = {}
        for name, folder in tables.items():
            files = ("[" + ", ".join(map(_sql_str, folder)) + "]") if isinstance(folder, list) else _parquet_files(folder)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({files}, "
                        "hive_partitioning = true)")
            if name in TABLE_DESCRIPTIONS:
                con.execute(f"COMMENT ON VIEW {name} IS {_sql_str(TABLE_DESCRIPTIONS[name])}")
            schema = TABLES.get(name)
            if schema is not None:
                described = {f.name: (f.metadata or {}).get(b"description", b"").decode() for f in schema}
                _comment_columns(con, name, described)
                for column, desc in described.items():
                    column_descriptions.setdefault(column, desc)
        for view in ANALYTICAL_VIEWS:
            if not set(view.requires) <= set(tables):
                continue
            con.execute(f"CREATE OR REPLACE VIEW {view.name} AS {view.sql.strip()}")
            con.execute(f"COMMENT ON VIEW {view.name} IS {_sql_str(view.description)}")
            _comment_columns(con, view.name, {**column_descriptions, **view.columns})
        con.execute("CHECKPOINT")
        done = True
    finally:
        con.close()
        if not done:
            for p in (tmp, Path(str(tmp) + ".wal")):
                p.unlink(missing_ok=True)
    os.replace(tmp, final)
    return final


def _snapshot_time(folder: Path) -> datetime:
    """When a snapshot was published: the time its name starts with (else its folder's mtime)."""
    try:
        return datetime.strptime(folder.name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.fromtimestamp(folder.stat().st_mtime, tz=timezone.utc)


def _gc(warehouse: Path, now: datetime, keep: int = KEEP_VERSIONS, retain_seconds: float = RETAIN_SECONDS) -> None:
    """Delete the snapshots that are beyond the newest `keep` and were superseded more
    than `retain_seconds` before `now` (never the current one), and stale temporaries."""
    root = warehouse / VERSIONS_DIR
    current = (warehouse / CURRENT).resolve() if (warehouse / CURRENT).is_symlink() else None
    snapshots = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old, successor in zip(snapshots[:-keep], snapshots[1:]):
        if old.resolve() == current:
            continue
        if (now - _snapshot_time(successor)).total_seconds() < retain_seconds:
            continue  # a catalog connection opened before `successor` was published may still read it
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def _write_all(snapshot: Path, tables: Mapping[str, pa.Table], run_all=None,
               previous: Path | None = None) -> dict[str, Written]:
    """Every table into the snapshot folder, the largest first: one after another, or
    through `run_all(jobs)` (the execution layer's `distributed.run_all_in_threads`: Arrow
    sorts, encodes and compresses without holding the GIL, so threads use every core).
    `previous`: the snapshot being replaced, whose equal parts are linked (`write_version`)."""
    from functools import partial

    names = sorted(tables, key=lambda name: -tables[name].nbytes)
    jobs = [partial(write_version, snapshot, name, tables[name], previous / name if previous else None)
            for name in names]
    if run_all is None or len(jobs) < 2:
        results = [job() for job in jobs]
    else:
        results = run_all(jobs)
    return dict(zip(names, results))


def publish(warehouse: Path | S3Warehouse, tables: Mapping[str, pa.Table], now: datetime | None = None,
            run_all=None) -> list[PublishedTable]:
    """Publish a new snapshot of the tables.

    All tables of a snapshot are written (and fsynced) into `.versions/<snapshot>/`
    first; then one rename of the `current` symlink switches every table at once
    (`<warehouse>/<table>` is a fixed link to `current/<table>`). Tables not given keep
    their previous files (hard-linked into the new snapshot). The new catalog's views
    name this snapshot's folders (see the module docstring). `run_all(jobs)` runs the
    table writes (the execution layer's threads); without it they run one by one.
    """
    now = now or datetime.now(timezone.utc)
    snapshot_name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    if isinstance(warehouse, S3Warehouse):
        return _publish_object(warehouse, tables, now, snapshot_name)
    warehouse = Path(warehouse)
    with warehouse_lock(warehouse):
        root = warehouse / VERSIONS_DIR
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{snapshot_name}.tmp"
        snapshot = root / snapshot_name
        previous = warehouse / CURRENT
        try:
            written = _write_all(tmp, tables, run_all, previous.resolve() if previous.is_dir() else None)
            if previous.is_dir():  # carry over the tables this publish does not replace
                for folder in previous.resolve().iterdir():
                    if folder.is_dir() and folder.name not in tables:
                        (tmp / folder.name).mkdir()
                        for f in folder.iterdir():
                            os.link(f, tmp / folder.name / f.name)
            os.rename(tmp, snapshot)
            checkpoint("publish:after_versions")
            names = sorted(p.name for p in snapshot.iterdir() if p.is_dir())
            checkpoint("publish:before_catalog")
            # the catalog is part of the snapshot (its views name the snapshot's folders), so the
            # one `current` swap below switches the tables and the catalog together
            build_catalog(snapshot / CATALOG, {name: snapshot / name for name in names})
            _fsync_dir(snapshot)
            _fsync_dir(root)
        except BaseException:
            # nothing is switched yet: the published snapshot stays, and this one's files go
            # (a full disk must not stay full of a half-written snapshot)
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(snapshot, ignore_errors=True)
            raise
        for name in [*names, CATALOG]:  # stable links, created once
            _swap_symlink(warehouse / name, f"{CURRENT}/{name}")
        checkpoint("publish:between_swaps")
        _swap_symlink(warehouse / CURRENT, f"{VERSIONS_DIR}/{snapshot_name}")
        out = [PublishedTable(name, snapshot_name, warehouse / name, snapshot / name, tables[name].num_rows,
                              written[name].parts, written[name].reused) for name in tables]
        manifest = {
            "published_at": now.isoformat(),
            "snapshot": snapshot_name,
            "tables": {t.name: {"version": t.version, "rows": t.rows, "parts": t.parts,
                                "parts_reused": t.parts_reused} for t in out},
        }
        tmp_manifest = warehouse / f"._manifest.{os.getpid()}.json"
        try:
            tmp_manifest.write_text(json.dumps(manifest, indent=2))
            os.replace(tmp_manifest, warehouse / "_manifest.json")
        except OSError:
            tmp_manifest.unlink(missing_ok=True)
            raise
        _gc(warehouse, now)
    return out


def read_published(warehouse: Path | S3Warehouse, name: str, columns: list[str] | None = None) -> pa.Table | None:
    """The currently published version of a table, or None if there is none yet."""
    if isinstance(warehouse, S3Warehouse):
        return _read_object(warehouse, name, columns)
    folder = Path(warehouse) / name
    if not folder.exists():
        return None
    import pyarrow.dataset as ds

    return ds.dataset(str(folder), format="parquet", partitioning="hive").to_table(columns=columns)


# ---------------------------------------------------------------- object storage (s3://)
#
# Layout under s3://bucket/prefix (see pipeline/storage.py):
#
#     snapshots/<snapshot>/<table>/part-<n>-<digest>.parquet   written (or copied) first, never modified
#     _manifest.json                                     the pointer: written last, in one PUT
#     _lock                                              while a publish runs (`object_lock`)
#
# and on local disk, in the warehouse's local folder (`S3Warehouse.local_dir`): `.lock`
# and `catalog.duckdb` (views over the s3:// files of the current snapshot).
#
# An object store has no rename and no symlink, but one PUT replaces an object whole: a
# reader that GETs `_manifest.json` gets the previous pointer or the new one, never a
# mix. Every file of a snapshot is written before the pointer names it, and readers
# read only the files of the snapshot the pointer names. After the pointer moved, the
# snapshots it no longer names are deleted, except the superseded ones it still lists
# (`superseded`: the last KEEP_VERSIONS - 1, and any superseded less than
# RETAIN_SECONDS ago), so a reader that resolved the previous pointer can finish; what
# a killed publish left (files no pointer ever named) goes at the next publish.
# Publishers are serialized by the lock file in the local folder (flock), and across
# hosts by the lock object `_lock` (`object_lock`: a conditional PUT, S3 has no flock).
# Every publisher of one s3:// warehouse must still share the local folder: it holds the
# pipeline's state (docs/DEPLOY.md).

POINTER = "_manifest.json"
LOCK_OBJECT = "_lock"
LOCK_LEASE_S = 3600.0  # a holder that died elsewhere blocks publishers this long at most
# not `.versions`, which SeaweedFS keeps for S3 object versioning (it leaves such prefixes out of listings)
SNAPSHOTS_DIR = "snapshots"


def read_pointer(wh: S3Warehouse, fs=None) -> dict | None:
    """The pointer (and manifest) of an s3:// warehouse, or None before its first publish."""
    fs = fs or wh.filesystem()
    try:
        with fs.open_input_stream(wh.key(POINTER)) as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        return None


def snapshot_files(wh: S3Warehouse, pointer: Mapping) -> dict[str, list[str]]:
    """table -> the s3:// address of each of its files in the snapshot `pointer` names."""
    return {name: [wh.url(SNAPSHOTS_DIR, pointer["snapshot"], name, f) for f in files]
            for name, files in pointer["files"].items()}


def read_manifest(warehouse: Path | S3Warehouse) -> dict:
    """The manifest of the current snapshot (snapshot, publish time, rows per table)."""
    if isinstance(warehouse, S3Warehouse):
        pointer = read_pointer(warehouse)
        if pointer is None:
            raise FileNotFoundError(f"{warehouse.url(POINTER)}: nothing published yet")
        return pointer
    return json.loads((Path(warehouse) / "_manifest.json").read_text())


def catalog_path(warehouse: Path | S3Warehouse) -> Path:
    return (warehouse.local_dir if isinstance(warehouse, S3Warehouse) else Path(warehouse)) / CATALOG


def connect_catalog(warehouse: Path | S3Warehouse):
    """A read-only DuckDB connection to the warehouse's catalog. For an s3:// warehouse,
    with the warehouse's S3 filesystem registered, so its views read without httpfs."""
    import duckdb

    con = duckdb.connect(str(catalog_path(warehouse)), read_only=True)
    if isinstance(warehouse, S3Warehouse):
        con.register_filesystem(duckdb_filesystem(warehouse.filesystem()))
    return con


@contextmanager
def object_lock(wh: S3Warehouse, timeout_s: float | None = None, lease_s: float = LOCK_LEASE_S) -> Iterator[None]:
    """Exclusive use of an s3:// warehouse across hosts: the object `_lock`, created with a
    conditional PUT (`If-None-Match: *`; the store refuses it with 412 while the object
    exists), deleted at the end with `If-Match` on its ETag (never someone else's).

    A lock left by a killed holder is taken over (deleted with `If-Match` on the ETag just
    read, so two waiters cannot both take it) when its lease has expired, or at once when
    it names this host and this warehouse's local folder: the caller holds that folder's
    flock, so that holder is dead. Waits up to `timeout_s` (LOCK_TIMEOUT_S), then
    raises WarehouseBusy. No renewal (no threads): a publish must end within `lease_s`.
    """
    import socket

    me = {"owner": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid(),
          "state": str(wh.local_dir.resolve())}
    deadline = time.monotonic() + (LOCK_TIMEOUT_S if timeout_s is None else timeout_s)
    while True:
        now = time.time()
        body = json.dumps({**me, "acquired": now, "expires": now + lease_s}).encode()
        status, headers, answer = wh.request("PUT", LOCK_OBJECT, body=body, headers={"if-none-match": "*"})
        if status == 200:
            etag = headers.get("etag")
            break
        if status not in (409, 412):  # 409: AWS's answer to a concurrent conditional PUT
            raise OSError(f"{wh.url(LOCK_OBJECT)}: conditional PUT answered {status}: {answer[:300]!r}")
        status, headers, held = wh.request("GET", LOCK_OBJECT)
        if status == 404:
            continue  # released meanwhile
        try:
            holder = json.loads(held)
        except ValueError:
            holder = {}
        if holder.get("expires", 0) < now or (holder.get("host"), holder.get("state")) == (me["host"], me["state"]):
            wh.request("DELETE", LOCK_OBJECT, headers={"if-match": headers.get("etag", "")})
            continue
        if time.monotonic() > deadline:
            raise WarehouseBusy(f"{wh.url(LOCK_OBJECT)} is held by pid {holder.get('pid')} on {holder.get('host')} "
                                f"(state {holder.get('state')}); gave up after {timeout_s or LOCK_TIMEOUT_S:g} s")
        time.sleep(0.5)
    try:
        yield
    finally:
        try:
            wh.request("DELETE", LOCK_OBJECT, headers={"if-match": etag} if etag else {})
        except OSError:
            pass  # unreachable store: the lease expires


def _delete_quietly(fs, path: str) -> None:
    try:
        fs.delete_dir(path)
    except (FileNotFoundError, OSError):
        pass


def _publish_object(wh: S3Warehouse, tables: Mapping[str, pa.Table], now: datetime,
                    snapshot_name: str) -> list[PublishedTable]:
    """`publish` to an s3:// warehouse (see the comment above). One table at a time, no threads."""
    fs = wh.filesystem()
    wh.local_dir.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(wh.local_dir), object_lock(wh):
        for pattern in (f".{CATALOG}.*", f"..{CATALOG}.*"):  # a killed publish's catalog (and its temporary)
            for stale in wh.local_dir.glob(pattern):
                stale.unlink(missing_ok=True)
        previous = read_pointer(wh, fs)
        snap = wh.key(SNAPSHOTS_DIR, snapshot_name)
        files: dict[str, list[str]] = {}
        catalog_tmp = wh.local_dir / f".{CATALOG}.{snapshot_name}"
        try:
            reused: dict[str, int] = {}
            for i, name in enumerate(sorted(tables)):
                old = {d: f for f in ((previous or {}).get("files") or {}).get(name, ())
                       if (d := parts_.digest_of(f)) is not None}
                files[name], reused[name] = [], 0
                for part in table_parts(name, tables[name]):
                    if part.digest in old:  # the same part in the snapshot before: copied inside the store
                        fs.copy_file(wh.key(SNAPSHOTS_DIR, previous["snapshot"], name, old[part.digest]),
                                     f"{snap}/{name}/{part.name}")
                        reused[name] += 1
                    else:
                        _write_parquet(name, part.table, f"{snap}/{name}/{part.name}", filesystem=fs)
                    files[name].append(part.name)
                if i == 0:
                    checkpoint("publish:between_tables")
            for name, old in ((previous or {}).get("files") or {}).items():
                if name not in tables:  # carried over: copied inside the store
                    for f in old:
                        fs.copy_file(wh.key(SNAPSHOTS_DIR, previous["snapshot"], name, f), f"{snap}/{name}/{f}")
                    files[name] = list(old)
            checkpoint("publish:after_versions")
            pointer = {
                "published_at": now.isoformat(),
                "snapshot": snapshot_name,
                "tables": {name: {"version": snapshot_name, "rows": tables[name].num_rows, "parts": len(files[name]),
                                  "parts_reused": reused[name]} for name in tables},
                "files": dict(sorted(files.items())),
                "superseded": _still_kept(previous, now),
            }
            checkpoint("publish:before_catalog")
            build_catalog(catalog_tmp, snapshot_files(wh, pointer), filesystem=duckdb_filesystem(fs))
            checkpoint("publish:before_pointer")
            with fs.open_output_stream(wh.key(POINTER)) as fh:  # the switch: one PUT
                fh.write(json.dumps(pointer, indent=2).encode())
        except BaseException:
            _delete_quietly(fs, snap)
            catalog_tmp.unlink(missing_ok=True)
            raise
        os.replace(catalog_tmp, wh.local_dir / CATALOG)
        _gc_object(wh, fs, pointer)
    return [PublishedTable(name, snapshot_name, wh.url(SNAPSHOTS_DIR, snapshot_name, name),
                           wh.url(SNAPSHOTS_DIR, snapshot_name, name), tables[name].num_rows, len(files[name]),
                           reused[name]) for name in tables]


def _still_kept(previous: Mapping | None, now: datetime, keep: int = KEEP_VERSIONS,
                retain_seconds: float = RETAIN_SECONDS) -> list[dict]:
    """The superseded snapshots the next pointer keeps listing (newest first)."""
    if not previous:
        return []
    history = [{"snapshot": previous["snapshot"], "superseded_at": now.isoformat()}, *previous.get("superseded", [])]
    return [h for i, h in enumerate(history) if i < keep - 1
            or (now - datetime.fromisoformat(h["superseded_at"])).total_seconds() < retain_seconds]


def _gc_object(wh: S3Warehouse, fs, pointer: Mapping) -> None:
    """Delete every snapshot folder the pointer neither names nor lists as kept."""
    import pyarrow.fs as pafs

    live = {pointer["snapshot"], *(h["snapshot"] for h in pointer.get("superseded", []))}
    for info in fs.get_file_info(pafs.FileSelector(wh.key(SNAPSHOTS_DIR), allow_not_found=True)):
        if info.type == pafs.FileType.Directory and info.base_name not in live:
            _delete_quietly(fs, info.path)


def _read_object(wh: S3Warehouse, name: str, columns: list[str] | None) -> pa.Table | None:
    import pyarrow.dataset as ds

    fs = wh.filesystem()
    pointer = read_pointer(wh, fs)
    if pointer is None or name not in pointer.get("files", {}):
        return None
    paths = [wh.key(SNAPSHOTS_DIR, pointer["snapshot"], name, f) for f in pointer["files"][name]]
    return ds.dataset(paths, format="parquet", filesystem=fs).to_table(columns=columns)
