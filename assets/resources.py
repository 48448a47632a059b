"""Resources: the pipeline settings and a Parquet IO manager (no pickles)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.ingest import DEFAULT_MAX_FILE_BYTES
from pipeline.settings import Settings
from pipeline.state import StateStore


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


class PipelineSettings(dg.ConfigurableResource):
    """Folders, model and incremental-run settings, from the environment `pipeline run` reads."""

    raw_dir: str
    warehouse_dir: str  # for an s3:// warehouse: the local folder of its state
    spacy_model: str
    warehouse_uri: str = ""  # s3://bucket/prefix when the tables are published to object storage
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    batch_size: int = 200
    drop_deleted: bool = False
    settle_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> "PipelineSettings":
        s = Settings()
        return cls(
            raw_dir=str(s.raw_dir), warehouse_dir=str(s.warehouse_dir), spacy_model=s.spacy_model,
            warehouse_uri=s.warehouse_uri or "",
            max_file_bytes=_env_int("PIPELINE_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES),
            batch_size=max(1, _env_int("PIPELINE_BATCH_SIZE", 200)),
            drop_deleted=_env_flag("PIPELINE_DROP_DELETED", False),
            settle_seconds=float(os.environ.get("PIPELINE_SETTLE_SECONDS", "2")),
        )

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir)

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse_dir)

    @property
    def warehouse_target(self):
        """Where the tables are published: `warehouse_path`, or the `S3Warehouse` at
        `warehouse_uri` (endpoint, region and credentials from `Settings`, not from this
        resource's config, so the UI never shows them)."""
        if not self.warehouse_uri:
            return self.warehouse_path
        from pipeline.settings import object_warehouse

        return object_warehouse(Settings(), self.warehouse_uri, self.warehouse_path)

    @property
    def state(self) -> StateStore:
        return StateStore(self.warehouse_path / ".state")


def _run_id(context) -> str | None:
    try:
        return context.step_context.run_id
    except Exception:  # noqa: BLE001 - outside a run (direct loads in tests)
        return None


# The last value each output of a run wrote, kept in this process: a later step of the
# same run (the in-process executor) gets it without reading the Parquet back. Several
# steps read the corpus tables and each batch's documents; on disk they stay the record.
_MEMO: dict = {}


def _remember(key, run_id: str | None, obj) -> None:
    if run_id:
        for stale in [k for k, (rid, _obj) in _MEMO.items() if rid != run_id]:
            del _MEMO[stale]  # only the current run's values: earlier batches are not held in memory
        _MEMO[key] = (run_id, obj)


def _recall(key, run_id: str | None):
    hit = _MEMO.get(key)
    if not run_id or hit is None or hit[0] != run_id:
        return None
    obj = hit[1]  # copies (cheap: pandas copy-on-write), so a step that edits its input edits its own
    if isinstance(obj, dict):
        return {name: df.copy(deep=False) for name, df in obj.items()}
    return obj.copy(deep=False) if isinstance(obj, pd.DataFrame) else obj


# Unpartitioned values (the corpus tables, ~12 MB of Parquet at 2,225 files) are written
# to disk by a thread while the run goes on: the next steps get them from memory, and the
# writer (Arrow, which leaves the GIL) overlaps with the corpus suite, which mostly waits
# for the GX process. Every pending write is joined before the next output is stored and
# before a stored value is read back, so an error surfaces at most one step later, and
# the threads are not daemons: the process never ends with a write half done.
_WRITES: dict[str, tuple[threading.Thread, list]] = {}


def _write_behind(key: str, write) -> None:
    errors: list[BaseException] = []

    def run():
        try:
            write()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for this write
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"store {Path(key).name}")
    thread.start()
    _WRITES[key] = (thread, errors)


def _join_writes(key: str | None = None) -> None:
    """Wait for the pending write of `key` (all of them when None); raise its error, if any."""
    for k in [key] if key is not None else list(_WRITES):
        pending = _WRITES.pop(k, None)
        if pending is None:
            continue
        thread, errors = pending
        thread.join()
        if errors:
            raise RuntimeError(f"storing {k} failed: {errors[0]!r}") from errors[0]


class ParquetFrameIOManager(dg.ConfigurableIOManager):
    """Stores asset values as Parquet, never pickle.

    - Partitioned (per-file) assets: one immutable file per run in the warehouse's state
      store (`pipeline.state`), rows tagged with their `partition_key`; the file lists
      the partitions it covers, so a partition with no rows is still stored. Inputs
      read this run's version of each partition when there is one, else the newest.
    - Unpartitioned assets: `<base_dir>/<asset>.parquet`, or a folder of Parquet files
      for a dict of frames (the corpus tables).
    Writes go to a temporary file first and are renamed into place. Within one run and
    process, a value written by one step is handed to later steps from memory; a dict of
    frames is written by a thread meanwhile (see `_write_behind`).
    """

    base_dir: str
    warehouse_dir: str

    @property
    def _store(self) -> StateStore:
        return StateStore(Path(self.warehouse_dir) / ".state")

    def _path(self, context) -> Path:
        return Path(self.base_dir) / "__".join(context.asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        _join_writes()
        if obj is None:
            return
        stage = context.asset_key.path[-1]
        if context.has_asset_partitions:
            self._store.write(stage, context.run_id, context.asset_partition_keys, obj)
            _remember((stage, tuple(context.asset_partition_keys)), context.run_id, obj)
            return
        path = self._path(context)
        _remember(str(path), context.run_id, obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, dict):
            path.mkdir(exist_ok=True)
            frames = dict(obj)
            _write_behind(str(path), lambda: [self._write(df, path / f"{name}.parquet") for name, df in frames.items()])
        else:
            self._write(obj, path.with_suffix(".parquet"))

    @staticmethod
    def _write(df: pd.DataFrame, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            pq.write_table(schemas.staged_table(path.stem, df), tmp, compression="zstd")
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def load_input(self, context: dg.InputContext):
        stage = context.asset_key.path[-1]
        if context.has_asset_partitions:
            kept = _recall((stage, tuple(context.asset_partition_keys)), _run_id(context))
            if kept is not None:
                return kept
            df = self._store.read(stage, context.asset_partition_keys, _run_id(context))
            if df is None:
                raise FileNotFoundError(f"no stored {stage} for some of the partitions "
                                        f"{list(context.asset_partition_keys)[:5]}; materialize them first")
            return df
        path = self._path(context)
        kept = _recall(str(path), _run_id(context))
        if kept is not None:
            return kept
        _join_writes(str(path))
        if path.is_dir():
            return {p.stem: pd.read_parquet(p) for p in sorted(path.glob("*.parquet"))}
        if not path.with_suffix(".parquet").exists():
            raise FileNotFoundError(f"no stored result for {context.asset_key.to_user_string()}; materialize it first")
        return pd.read_parquet(path.with_suffix(".parquet"))
