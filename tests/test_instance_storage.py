"""The project instance's event log (assets/instance_storage.py) on real SQLite files:
a batch run's per-partition materializations are written in one transaction and
read back exactly as the stock storage stores them one by one."""
from __future__ import annotations

import dagster as dg
import pytest

from assets.instance_storage import BatchingSqliteEventLogStorage
from pipeline.settings import EVENT_BATCH_ENV, INSTANCE_YAML, ensure_dagster_home

KEYS = [f"file_{i:03d}.txt" for i in range(40)]
parts = dg.DynamicPartitionsDefinition(name="files")
policy = dg.BackfillPolicy.single_run()


@dg.asset(partitions_def=parts, backfill_policy=policy)
def upstream(context) -> int:
    context.add_output_metadata({"files": len(context.partition_keys)})
    return 1


@dg.asset(partitions_def=parts, backfill_policy=policy)
def downstream(upstream) -> int:
    return 2


class _Discard(dg.IOManager):
    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return 1


def _run(instance: dg.DagsterInstance, keys: list[str]) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions("files", [k for k in keys if not instance.has_dynamic_partition("files", k)])
    job = dg.Definitions(assets=[upstream, downstream], resources={"io_manager": _Discard()}) \
        .resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=instance, tags={
        "dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})


def _summary(instance: dg.DagsterInstance, run_id: str) -> dict:
    out = {}
    for name in ("upstream", "downstream"):
        key = dg.AssetKey(name)
        records = instance.fetch_materializations(key, limit=1000).records
        record = instance.get_asset_records([key])[0].asset_entry.last_materialization_record
        out[name] = {
            "events": sorted(r.partition_key for r in records),
            "partitions": sorted(instance.get_materialized_partitions(key)),
            "run_ids": {r.run_id for r in records},
            "last_run": record.run_id,
            # the asset's row names its latest stored materialization
            "last_is_latest": record.storage_id == max(r.storage_id for r in records),
            "planned": len(instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)),
            "metadata": {r.asset_materialization.metadata["files"].value for r in records} if name == "upstream" else None,
            "in_run_log": sorted(
                e.dagster_event.partition for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
                if e.dagster_event.asset_key == key),
        }
    return out


def _instance(home, monkeypatch, yaml_text: str) -> dg.DagsterInstance:
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml_text)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return dg.DagsterInstance.from_config(str(home))


def test_batched_events_are_stored_as_the_stock_storage_stores_them(tmp_path, monkeypatch):
    monkeypatch.setenv(EVENT_BATCH_ENV, "1000")
    batching = _instance(tmp_path / "batching", monkeypatch, INSTANCE_YAML)
    assert isinstance(batching.event_log_storage, BatchingSqliteEventLogStorage)

    single_writes = []
    original = BatchingSqliteEventLogStorage.store_event

    def counting_store_event(self, event):
        if event.is_dagster_event and event.dagster_event_type in (
                dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED):
            single_writes.append(event)
        return original(self, event)

    monkeypatch.setattr(BatchingSqliteEventLogStorage, "store_event", counting_store_event)
    result = _run(batching, KEYS)
    assert result.success
    got = _summary(batching, result.run_id)
    assert single_writes == []  # every materialization and plan went through the batch path

    stock = _instance(tmp_path / "stock", monkeypatch, "telemetry:\n  enabled: false\n")
    assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
    ref = _run(stock, KEYS)
    want = _summary(stock, ref.run_id)

    for name in ("upstream", "downstream"):
        assert got[name]["events"] == want[name]["events"] == KEYS
        assert got[name]["partitions"] == want[name]["partitions"] == KEYS
        assert got[name]["in_run_log"] == want[name]["in_run_log"] == KEYS
        assert got[name]["run_ids"] == {result.run_id} and got[name]["last_run"] == result.run_id
        assert got[name]["last_is_latest"] and want[name]["last_is_latest"]
        assert got[name]["planned"] == want[name]["planned"] > 0
    assert got["upstream"]["metadata"] == {len(KEYS)}
    # WAL databases (Dagster's choice) committed without an fsync each: synchronous=NORMAL (1),
    # where the stock storage keeps SQLite's FULL (2)
    storage = batching.event_log_storage
    with storage.run_connection(result.run_id) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    with storage.index_connection() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    with stock.event_log_storage.run_connection(ref.run_id) as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_a_second_run_of_some_partitions_is_the_latest_for_those_only(tmp_path, monkeypatch):
    monkeypatch.setenv(EVENT_BATCH_ENV, "7")  # batches smaller than the run: several flushes
    instance = _instance(tmp_path / "home", monkeypatch, INSTANCE_YAML)
    first = _run(instance, KEYS)
    second = _run(instance, KEYS[:10])
    assert first.success and second.success
    records = instance.fetch_materializations(dg.AssetKey("downstream"), limit=1000).records
    assert len(records) == len(KEYS) + 10
    latest = {}
    for r in sorted(records, key=lambda r: r.storage_id):
        latest[r.partition_key] = r.run_id
    assert {k for k, run in latest.items() if run == second.run_id} == set(KEYS[:10])
    assert {k for k, run in latest.items() if run == first.run_id} == set(KEYS[10:])


def test_dagster_home_gets_the_project_instance_and_keeps_a_users_own(tmp_path, monkeypatch):
    monkeypatch.delenv(EVENT_BATCH_ENV, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "fresh"))
    home = ensure_dagster_home()
    assert (home / "dagster.yaml").read_text() == INSTANCE_YAML
    import os

    assert os.environ[EVENT_BATCH_ENV] == "1000"

    old = tmp_path / "old"  # what earlier versions wrote: upgraded, same SQLite files
    old.mkdir()
    (old / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(old))
    assert (ensure_dagster_home() / "dagster.yaml").read_text() == INSTANCE_YAML

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    monkeypatch.setenv("DAGSTER_HOME", str(mine))
    assert (ensure_dagster_home() / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_storage_needs_a_home_or_a_base_dir(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(RuntimeError, match="DAGSTER_HOME"):
        BatchingSqliteEventLogStorage.from_config_value(None, {})


def test_a_new_run_database_is_the_stock_one(tmp_path):
    """A run's new database gets the same tables, indexes, alembic revision and WAL mode as
    the stock storage gives it (the scripts are only read once per process)."""
    import sqlite3

    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    def dump(path):
        con = sqlite3.connect(path)
        try:
            return (sorted(con.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str),
                    con.execute("SELECT version_num FROM alembic_version").fetchall(),
                    con.execute("PRAGMA journal_mode").fetchall())
        finally:
            con.close()

    stock, ours = SqliteEventLogStorage(str(tmp_path / "stock")), BatchingSqliteEventLogStorage(str(tmp_path / "ours"))
    for storage in (stock, ours):
        for run_id in ("run-a", "run-b"):
            with storage.run_connection(run_id):
                pass
    ours.dispose()
    stock.dispose()
    expected = dump(tmp_path / "stock" / "run-a.db")
    assert expected[1] and expected[2] == [("wal",)]
    assert dump(tmp_path / "ours" / "run-a.db") == expected
    assert dump(tmp_path / "ours" / "run-b.db") == expected
