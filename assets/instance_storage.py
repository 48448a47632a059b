"""A SQLite event log that writes a batch of asset events in one transaction.

A batch run of N raw files materializes every per-file asset once per file (its
partition), so Dagster stores N materialization events per asset. The stock
`SqliteEventLogStorage` writes each of them on its own: a new engine, connection and
commit in the run's database, and again in the index database, about 20 ms per
event on this project's machine (`bench/events.py`), which at 600 files and seven
per-file assets is most of the run.

Dagster already hands those events over as one batch when `DAGSTER_EVENT_BATCH_SIZE`
is set (`pipeline.settings.ensure_dagster_home` sets it), and its PostgreSQL storage
writes such a batch at once; the SQLite storage falls back to one write per event.
This subclass writes the batch with one transaction per database instead. Every
event is still stored, with the same rows, tags and asset records as one by one;
anything other than a batch of asset events (materialized, observed, planned, failed)
of one run goes through the stock path.

It also keeps one SQLAlchemy engine per database file instead of creating and
disposing one for every write, and each engine keeps one connection open between
writes (the stock storage opens and closes one per write: in WAL mode the close of a
database's last connection checkpoints the log and deletes it, so the next write
creates it again; a seeds run stores ~160 events through ~1,100 connections).
Statements compiled once are reused too: a step's start, output and success events no
longer pay SQLAlchemy's compiler each time. The connections set `synchronous=NORMAL`
on the WAL databases, so a commit is not an fsync of its own (see `_wal_normal_sync`).
An idle connection holds no lock in WAL mode, so the UI, the daemon and other runs
read and write the same files as before; `dispose()` (the instance's end) closes them.

The project-local instance (`.dagster_home/dagster.yaml`) names this class:

    event_log_storage:
      module: assets.instance_storage
      class: BatchingSqliteEventLogStorage

`base_dir` defaults to the stock location, `$DAGSTER_HOME/history/runs`, so an
existing instance keeps its history.
"""
from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dagster import DagsterEventType, Field, StringSource
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from alembic.runtime.migration import MigrationContext
from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata
from dagster._core.storage.sql import create_engine, safe_commit
from dagster._core.storage.sqlalchemy_compat import db_result
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import text as sa_text
from sqlalchemy.pool import QueuePool

MAX_ENGINES = 64
POOL_OVERFLOW = 8  # connections beyond the one kept open, for threads writing at once (closed after use)


def _wal_normal_sync(dbapi_connection, _record) -> None:
    """Commits without an fsync each (the database is in WAL mode, set by Dagster).

    With `synchronous=NORMAL` a WAL commit is written but not synced; the checkpoints
    SQLite runs (every 1,000 pages of log, and when the last connection closes) sync it. A crash of the process loses nothing and the file is never corrupted;
    only a power cut in that millisecond can lose the last commit (SQLite's
    documented WAL + NORMAL guarantee).
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
@functools.lru_cache(maxsize=1)
def _alembic_scripts():
    """Dagster's alembic script directory (its revision map is read on first use, then kept)."""
    from alembic.script import ScriptDirectory
    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from dagster._core.storage.sql import get_alembic_config

    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))


# the asset events the stock SQLite `store_event` handles alike: a row in the run's
# database, its mirror in the index with the asset's tags, the asset's latest-event row
BATCHED_TYPES = frozenset({
    DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED, DagsterEventType.ASSET_FAILED_TO_MATERIALIZE,
})


def default_base_dir() -> str:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError("BatchingSqliteEventLogStorage needs DAGSTER_HOME or an explicit base_dir")
    return os.path.join(home, "history", "runs", "")


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with `store_event_batch` in one transaction per database."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: dict = {}  # database file (shard) -> engine, oldest first (the parent connects)
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # noqa: D102
        return cls(base_dir=(config_value or {}).get("base_dir") or default_base_dir(), inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator:
        # the stock `_connect`, with the engine kept for the next write to the same file
        with self._db_lock:
            engines = self._engines
            engine = engines.pop(shard, None)
            if engine is not None and shard not in self._initialized_dbs:  # wiped or upgraded since
                engine.dispose()
                engine = None
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1,
                                       max_overflow=POOL_OVERFLOW, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                event.listen(engine, "connect", _wal_normal_sync)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
            if len(engines) >= MAX_ENGINES:  # a long-lived process sees many runs: drop the oldest
                engines.pop(next(iter(engines))).dispose()
            engines[shard] = engine
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def _initdb(self, engine, for_index_shard: bool = False) -> None:
        """A new run's database: the stock schema and alembic stamp, with the migration
        scripts read once per process (the stock code parses Dagster's ~100 alembic
        scripts twice for every run's new database: ~0.25 s a run). The index database,
        and anything unexpected, go through the stock path."""
        if for_index_shard:
            return super()._initdb(engine, for_index_shard=True)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection)
                if context.get_current_revision() is None:
                    SqlEventLogStorageMetadata.create_all(engine)
                    connection.execute(sa_text("PRAGMA journal_mode=WAL;"))
                    context.stamp(_alembic_scripts(), "head")
                    safe_commit(connection)
        except (sa_exc.DatabaseError, sqlite3.DatabaseError, sqlite3.OperationalError):
            super()._initdb(engine)  # e.g. another process initializing it at the same time: its retries

    def dispose(self) -> None:
        engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.dispose()
        super().dispose()

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        events = list(events)
        if not _batchable(events):
            for event in events:
                self.store_event(event)
            return
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            for statement in statements:
                conn.execute(statement)
        # mirrored into the cross-run index, as `store_event` does for asset events
        with self.index_transaction() as conn:
            event_ids = []
            for statement in statements:
                with db_result(conn, statement) as result:
                    event_ids.append(result.inserted_primary_key[0])
            if any(event_id is None for event_id in event_ids):
                raise RuntimeError("SQLite returned no id for a stored asset event")
            self._store_asset_event_tags(conn, events, event_ids)
            # An asset's row holds its latest event: each write overwrites the one before,
            # so only the last event of each asset and type changes the outcome.
            last = {}
            for n, event in enumerate(events):
                last[(event.dagster_event.asset_key, event.dagster_event_type)] = n
            for n in sorted(last.values()):
                self._store_asset_event(conn, events[n], event_ids[n])


def _batchable(events: list[EventLogEntry]) -> bool:
    if len(events) < 2:
        return False
    run_ids = {event.run_id for event in events}
    return len(run_ids) == 1 and all(
        event.is_dagster_event and event.dagster_event_type in BATCHED_TYPES for event in events
    )
