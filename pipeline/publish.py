"""Publishing the tables: atomic per table, consistent as a set, with a DuckDB catalog.

Layout of a warehouse:

    <warehouse>/<table>            -> symlink to .versions/<table>/<version>/
    <warehouse>/.versions/<table>/<version>/part-00000.parquet
    <warehouse>/catalog.duckdb     one view per table, pointing at the versions just published
    <warehouse>/_manifest.json     versions, row counts and the publish time

A new version is written completely (and fsynced) in its own folder before anything
points at it; the table's symlink is then swapped with one `rename`, which is atomic
on POSIX. A reader therefore sees the old or the new table, never a mix. The catalog
is built in a temporary file and renamed over the old one; its views name concrete
version folders, so a catalog reader sees one consistent set of tables. The last few
versions are kept so that readers holding an older catalog keep working.

An exclusive lock on `<warehouse>/.lock` serializes publishers: a second run waits
for the first (up to a timeout), then fails cleanly.
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

from pipeline.schemas import TABLES

VERSIONS_DIR = ".versions"
KEEP_VERSIONS = 3
LOCK_TIMEOUT_S = 600.0


class WarehouseBusy(RuntimeError):
    pass


@dataclass(frozen=True)
class PublishedTable:
    name: str
    version: str
    path: Path  # the table's stable path (<warehouse>/<table>)
    version_path: Path
    rows: int


@contextmanager
def warehouse_lock(warehouse: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    warehouse.mkdir(parents=True, exist_ok=True)
    with open(warehouse / ".lock", "a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(f"another run is publishing to {warehouse}; gave up after {timeout_s:g} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sort_keys(name: str, table: pa.Table) -> list[tuple[str, str]]:
    keys = {"documents": ["doc_id"], "paragraphs": ["doc_id", "ordinal"], "sentences": ["doc_id", "ordinal"],
            "claims": ["doc_id", "char_start"], "claim_quantities": ["claim_id", "ordinal"],
            "claim_entities": ["claim_id", "ordinal"], "claim_clusters": ["cluster_id"],
            "quantity_conflicts": ["unit", "claim_id_a", "claim_id_b"]}.get(name, [])
    return [(k, "ascending") for k in keys if k in table.column_names]


def write_version(warehouse: Path, name: str, table: pa.Table, stamp: str) -> tuple[str, Path]:
    """Write a complete new version of one table; nothing points at it yet."""
    keys = _sort_keys(name, table)
    if keys and table.num_rows:
        table = table.sort_by(keys)
    version = f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    final = warehouse / VERSIONS_DIR / name / version
    tmp = final.with_name(f".{version}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    part = tmp / "part-00000.parquet"
    pq.write_table(table, part, compression="zstd", row_group_size=64_000, use_dictionary=True)
    with open(part, "rb") as fh:
        os.fsync(fh.fileno())
    os.rename(tmp, final)
    _fsync_dir(final.parent)
    return version, final


def _swap_symlink(link: Path, target: Path) -> None:
    rel = os.path.relpath(target, link.parent)
    tmp = link.with_name(f".{link.name}.link-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(rel, tmp, target_is_directory=True)
    if link.exists() and not link.is_symlink():
        # a plain folder from an older layout: move it aside (one-time, not atomic)
        link.rename(link.with_name(f".{link.name}.legacy-{int(time.time())}"))
    os.replace(tmp, link)


def build_catalog(warehouse: Path, tables: Mapping[str, Path]) -> Path:
    """(Re)create catalog.duckdb with one view per table, swapped in atomically."""
    import duckdb

    final = warehouse / "catalog.duckdb"
    tmp = warehouse / f".catalog.{os.getpid()}.duckdb"
    for p in (tmp, Path(str(tmp) + ".wal")):
        if p.exists():
            p.unlink()
    con = duckdb.connect(str(tmp))
    try:
        for name, folder in tables.items():
            glob = (folder.resolve() / "**" / "*.parquet").as_posix().replace("'", "''")
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
            schema = TABLES.get(name)
            if schema is not None:
                for field in schema:
                    desc = (field.metadata or {}).get(b"description", b"").decode().replace("'", "''")
                    if desc:
                        con.execute(f"COMMENT ON COLUMN {name}.{field.name} IS '{desc}'")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, final)
    return final


def _gc(warehouse: Path, name: str, keep: int = KEEP_VERSIONS) -> None:
    root = warehouse / VERSIONS_DIR / name
    if not root.is_dir():
        return
    current = (warehouse / name).resolve() if (warehouse / name).is_symlink() else None
    versions = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in versions[:-keep]:
        if old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def publish(warehouse: Path, tables: Mapping[str, pa.Table], now: datetime | None = None) -> list[PublishedTable]:
    """Write every table as a new version, then swap them in and rebuild the catalog."""
    warehouse = Path(warehouse)
    now = now or datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    with warehouse_lock(warehouse):
        written = {name: write_version(warehouse, name, table, stamp) for name, table in tables.items()}
        out = []
        for name, (version, path) in written.items():
            _swap_symlink(warehouse / name, path)
            out.append(PublishedTable(name, version, warehouse / name, path, tables[name].num_rows))
        build_catalog(warehouse, {name: path for name, (_v, path) in written.items()})
        manifest = {
            "published_at": now.isoformat(),
            "tables": {t.name: {"version": t.version, "rows": t.rows} for t in out},
        }
        tmp = warehouse / f"._manifest.{os.getpid()}.json"
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, warehouse / "_manifest.json")
        for name in tables:
            _gc(warehouse, name)
    return out


def read_published(warehouse: Path, name: str, columns: list[str] | None = None) -> pa.Table | None:
    """The currently published version of a table, or None if there is none yet."""
    folder = Path(warehouse) / name
    if not folder.exists():
        return None
    import pyarrow.dataset as ds

    return ds.dataset(str(folder), format="parquet", partitioning="hive").to_table(columns=columns)
