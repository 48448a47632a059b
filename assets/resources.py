"""Resources: the pipeline settings, the run's workers (NLP and GX) and a Parquet IO manager (no pickles)."""
from __future__ import annotations

import os
from concurrent.futures import Future
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from assets.partitions import ORIGIN_TAG
from assets.runtime import HANDOVER, in_background
from pipeline import schemas
from pipeline.settings import DEFAULT_BATCH_SIZE, DEFAULT_SENSOR_BATCH_SIZE, DEFAULT_MAX_FILE_BYTES, DEFAULT_SPACY_MODEL, ENV_NAMES, Pause, Settings
from pipeline.state import StateStore

# fields the UI shows as environment variables when the environment set them
_SHOWN_AS_ENV = ("raw_dir", "warehouse_dir", "spacy_model")


class PipelineSettings(dg.ConfigurableResource):
    """The run-time settings (`pipeline.settings.Settings`) as a Dagster resource.

    Built from the one `Settings` value the code location reads at load
    (`from_settings`); the folders and the model show in the UI as the environment
    variables that set them. At the start of every run (and sensor tick) it configures
    this process's caches and crash-test pause with its values; where the run's NLP and
    validations run is the `Workers` resource's."""

    raw_dir: str
    warehouse_dir: str  # for an s3:// warehouse: the local folder of its state
    spacy_model: str = DEFAULT_SPACY_MODEL
    warehouse_uri: str = ""  # s3://bucket/prefix when the tables are published to object storage
    # an s3:// warehouse's endpoint, region and credentials; the keys are only ever the
    # environment variables' names here (dg.EnvVar), so the UI never shows them
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    batch_size: int = DEFAULT_BATCH_SIZE
    sensor_batch_size: int = DEFAULT_SENSOR_BATCH_SIZE
    drop_deleted: bool = False
    settle_seconds: float = 2.0
    data_docs: bool = True
    gx_process: bool = True
    warm_servers: bool = True
    dask_scheduler: str = ""
    nlp_processes: int = 0  # 0: the CPUs this process may use
    cache_dir: str = ""
    pause_at: str = ""
    pause_marker: str = ""
    pause_seconds: float = 120.0

    @classmethod
    def from_settings(cls, s: Settings) -> "PipelineSettings":
        shown = {name: dg.EnvVar(ENV_NAMES[name]) for name in _SHOWN_AS_ENV if name in s.from_environment}
        if s.warehouse_uri and "warehouse_uri" in s.from_environment:
            shown["warehouse_uri"] = dg.EnvVar("PIPELINE_WAREHOUSE_DIR")
        secrets = {"s3_access_key_id": dg.EnvVar("AWS_ACCESS_KEY_ID") if s.s3_access_key_id else "",
                   "s3_secret_access_key": dg.EnvVar("AWS_SECRET_ACCESS_KEY") if s.s3_secret_access_key else ""}
        values = dict(
            raw_dir=str(s.raw_dir), warehouse_dir=str(s.warehouse_dir), spacy_model=s.spacy_model,
            warehouse_uri=s.warehouse_uri or "", s3_endpoint_url=s.s3_endpoint_url or "", s3_region=s.s3_region or "",
            max_file_bytes=s.max_file_bytes, batch_size=s.batch_size, sensor_batch_size=s.sensor_batch_size, drop_deleted=s.drop_deleted,
            settle_seconds=s.settle_seconds, data_docs=s.data_docs, gx_process=s.gx_process, warm_servers=s.warm_servers,
            dask_scheduler=s.dask_scheduler or "", nlp_processes=s.nlp_processes if "nlp_processes" in
            s.from_environment else 0, cache_dir=str(s.cache_dir),
            pause_at=s.pause.at if s.pause else "", pause_marker=str(s.pause.marker or "") if s.pause else "",
            pause_seconds=s.pause.seconds if s.pause else 120.0,
        )
        return cls(**{**values, **shown, **secrets})

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """At a run's start (and a sensor tick): this process's caches and crash-test pause
        get the settings' values."""
        configure_process(self)

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir).expanduser().resolve()

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse_dir).expanduser().resolve()

    @property
    def warehouse_target(self):
        """Where the tables are published: `warehouse_path`, or the `S3Warehouse` at
        `warehouse_uri` (with this resource's endpoint, region and credentials)."""
        if not self.warehouse_uri:
            return self.warehouse_path
        from pipeline.storage import S3Warehouse

        return S3Warehouse.from_uri(self.warehouse_uri, self.warehouse_path, endpoint_url=self.s3_endpoint_url or None,
                                    region=self.s3_region or None, access_key=self.s3_access_key_id or None,
                                    secret_key=self.s3_secret_access_key or None)

    @property
    def runtime_dir(self) -> Path:
        return runtime_dir_of(self.warehouse_dir)

    @property
    def state(self) -> StateStore:
        from pipeline import distributed

        return StateStore(self.warehouse_path / ".state", read_ahead=distributed.take_prefetched)

    @property
    def pause(self) -> Pause | None:
        return Pause(self.pause_at, Path(self.pause_marker) if self.pause_marker else None,
                     self.pause_seconds) if self.pause_at else None


def runtime_dir_of(warehouse_dir) -> Path:
    """Where the warm servers of this warehouse's daemon say how to reach them."""
    return Path(warehouse_dir).expanduser().resolve() / ".state" / "runtime"


def configure_process(settings: PipelineSettings) -> None:
    """Hand this process's run-time modules the settings' values (idempotent)."""
    from pipeline import faults, ingest

    faults.arm(settings.pause)
    if settings.cache_dir:
        ingest.set_cache_dir(Path(settings.cache_dir))


class Workers(dg.ConfigurableResource):
    """Where a run's NLP and validations run: started once per run process, at the run's
    start, and stopped at its end (`pipeline.distributed` for the NLP workers or a Dask
    cluster, `pipeline.gx_process` for Great Expectations).

    A run the daemon launched attaches to the warm servers the sensor keeps
    (`warm_servers`, `pipeline.warm`): its suites validate in the warm GX process and its
    NLP runs on the warm workers. Otherwise (or when they do not run this code) the run's
    suites get a GX process of its own that starts importing Great Expectations on another
    core at once, and its NLP starts workers of its own when a batch needs them. A step
    re-executed without this resource is still correct: validations then run in its
    process and the NLP starts its workers on demand."""

    spacy_model: str = DEFAULT_SPACY_MODEL
    runtime_dir: str = ""  # where the warm servers say how to reach them ("" : no warm servers)
    warm_servers: bool = True
    gx_process: bool = True
    dask_scheduler: str = ""
    nlp_processes: int = 0  # 0: the CPUs this process may use

    @classmethod
    def from_settings(cls, s: Settings) -> "Workers":
        """From the one `Settings` value (the model shows as its variable when the environment set it)."""
        model = dg.EnvVar(ENV_NAMES["spacy_model"]) if "spacy_model" in s.from_environment else s.spacy_model
        return cls(spacy_model=model, runtime_dir=str(runtime_dir_of(s.warehouse_dir)), warm_servers=s.warm_servers,
                   gx_process=s.gx_process, dask_scheduler=s.dask_scheduler or "",
                   nlp_processes=s.nlp_processes if "nlp_processes" in s.from_environment else 0)

    @classmethod
    def of(cls, settings: PipelineSettings) -> "Workers":
        """For a `PipelineSettings` built from plain values (tests and tools)."""
        return cls(spacy_model=settings.spacy_model, runtime_dir=str(settings.runtime_dir),
                   warm_servers=settings.warm_servers, gx_process=settings.gx_process,
                   dask_scheduler=settings.dask_scheduler, nlp_processes=settings.nlp_processes)

    def configure(self) -> None:
        """Hand this process's NLP backend and GX process their settings (idempotent)."""
        from pipeline import distributed, gx_process
        from pipeline.lifeline import lean_arrow_memory

        lean_arrow_memory()
        distributed.configure(self.dask_scheduler or None, self.nlp_processes or None)
        gx_process.configure(self.gx_process)

    def prestart(self, n_documents: int) -> bool:
        """A batch of `n_documents` begins: start the NLP workers it will need now, so the
        model loads there while the batch is read (`distributed.prestart`)."""
        from pipeline import distributed

        return distributed.prestart(self.spacy_model, n_documents)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.configure()
        run = getattr(context, "dagster_run", None)
        if run is None:
            return
        from pipeline import distributed, gx_process

        attach = self.warm_servers and bool(self.runtime_dir) and run.tags.get(ORIGIN_TAG) != "cli"
        warm_gx = attach and gx_process.attach(self.runtime_dir)
        if not warm_gx:
            gx_process.start()
        warm_nlp = distributed.attach_warm(self.runtime_dir, self.spacy_model) if attach else []
        if context.log is not None:
            context.log.info(("suites validate in the warm GX process (pid {})".format(gx_process.attached_pid())
                              if warm_gx else "suites validate in this run's own GX process") + "; " +
                             (f"NLP runs on the warm workers (pids {', '.join(map(str, warm_nlp))})"
                              if warm_nlp else "NLP runs here or on workers of this run's own"))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """At a run's end: the NLP workers and the GX process stop (warm servers are only
        left), unless `pipeline run` launched the run (it runs its batches one after another
        in its process, the next batch's NLP already queued on the workers, and stops them
        itself)."""
        run = getattr(context, "dagster_run", None)
        if run is None or run.tags.get(ORIGIN_TAG) == "cli":
            return
        from pipeline import distributed, gx_process

        distributed.shutdown()
        gx_process.stop(wait=False)


def _run_id(context) -> str | None:
    try:
        return context.step_context.run_id
    except Exception:  # noqa: BLE001 - outside a run (direct loads in tests)
        return None


# The last value each output of a run wrote, kept in this process (`assets.runtime`): a
# later step of the same run (the in-process executor) gets it without reading the Parquet
# back. Several steps read the corpus tables and each batch's documents; on disk they stay
# the record.
def _remember(key, run_id: str | None, obj) -> None:
    if not run_id:
        return
    HANDOVER.drop(keep=run_id, name_prefix="output:")  # only the current run's values: earlier batches are not held
    HANDOVER.offer(run_id, f"output:{key}", obj)


def _recall(key, run_id: str | None):
    obj = HANDOVER.peek(run_id, f"output:{key}")
    if obj is None:
        return None
    # copies (cheap: pandas copy-on-write), so a step that edits its input edits its own
    if isinstance(obj, dict):
        return {name: df.copy(deep=False) for name, df in obj.items()}
    return obj.copy(deep=False) if isinstance(obj, pd.DataFrame) else obj


# Unpartitioned values (the corpus tables, ~12 MB of Parquet at 2,225 files) are written
# to disk by a thread while the run goes on: the next steps get them from memory, and the
# writer (Arrow, which leaves the GIL) overlaps with the corpus suite, which mostly waits
# for the GX process. Every pending write is joined before the next output is stored and
# before a stored value is read back, so an error surfaces at most one step later, and
# the threads are not daemons: the process never ends with a write half done.
_WRITES: dict[str, Future] = {}  # by asset key: the write under way (`runtime.in_background`)


def _write_behind(key: str, write) -> None:
    _WRITES[key] = in_background(f"store {Path(key).name}", write, daemon=False)


def join_pending_writes() -> None:
    """Wait for every write still under way (the end of `pipeline run`)."""
    _join_writes()


def pending_writes() -> int:
    """How many writes are under way or not yet awaited."""
    return len(_WRITES)


def _join_writes(key: str | None = None) -> None:
    """Wait for the pending write of `key` (all of them when None); raise its error, if any."""
    for k in [key] if key is not None else list(_WRITES):
        pending = _WRITES.pop(k, None)
        if pending is None:
            continue
        try:
            pending.result()
        except BaseException as exc:  # noqa: BLE001 - surfaced at the next store or load
            raise RuntimeError(f"storing {k} failed: {exc!r}") from exc


# The staged corpus tables as parts (`ParquetFrameIOManager._write_parts`), cut by their ids.
STAGED_KEYS = {"documents": ["doc_id"], "paragraphs": ["paragraph_id"], "sentences": ["sentence_id"],
               "claims": ["claim_id"], "claim_quantities": ["claim_id", "ordinal"],
               "claim_entities": ["claim_id", "ordinal"]}
STAGED_PART_ROWS = {"documents": 1024}  # rows per part on average (the texts make a document row large)
DEFAULT_STAGED_PART_ROWS = 4096


class ParquetFrameIOManager(dg.ConfigurableIOManager):
    """Stores asset values as Parquet, never pickle.

    - Partitioned (per-file) assets: one immutable file per run in the warehouse's state
      store (`pipeline.state`), rows tagged with their `partition_key`; the file lists
      the partitions it covers, so a partition with no rows is still stored. Inputs
      read this run's version of each partition when there is one, else the newest.
    - Unpartitioned assets: `<base_dir>/<asset>.parquet`, or a folder for a dict of frames
      (the corpus tables) with one folder of parts per frame (`_write_parts`).
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
            self._store.write(stage, context.run_id, self._store.files_of(context.asset_partition_keys), obj)
            _remember((stage, tuple(context.asset_partition_keys)), context.run_id, obj)
            return
        path = self._path(context)
        _remember(str(path), context.run_id, obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, dict):
            path.mkdir(exist_ok=True)
            frames = dict(obj)
            _write_behind(str(path), lambda: [self._write_parts(df, path / name) for name, df in frames.items()])
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

    @staticmethod
    def _write_parts(df: pd.DataFrame, link: Path) -> None:
        """One table of a dict of frames (the corpus) as a folder of parts (`pipeline.parts`):
        `link` is a symlink to a version folder beside it, swapped with one rename; a part
        equal to one of the version before is hard-linked from there, not written. The
        corpus is written again on every run and changes by a few files' rows: a +1 run of a
        fresh article into the 22,249-article state wrote 35.3 MB of staged tables whole
        (zstd, 5440acf), 4.4 MB as parts (docs/BENCHMARKS.md)."""
        import shutil
        import uuid

        from pipeline import parts
        from pipeline.publish import _swap_symlink

        table = schemas.staged_table(link.name, df)
        previous = link.resolve() if link.is_symlink() else None
        version = link.with_name(f".{link.name}.{uuid.uuid4().hex[:12]}")
        version.mkdir()
        try:
            cut = parts.cut(table, STAGED_KEYS.get(link.name, ()),
                            STAGED_PART_ROWS.get(link.name, DEFAULT_STAGED_PART_ROWS), f"staged-1/{link.name}")
            parts.write_folder(version, cut, previous,
                               lambda part, target: pq.write_table(part.table, target, compression="zstd"))
            _swap_symlink(link, version.name)
        except BaseException:
            shutil.rmtree(version, ignore_errors=True)
            raise
        link.with_name(f"{link.name}.parquet").unlink(missing_ok=True)  # the one file of older code
        # versions before the previous one: a reader in another process may still be on the previous
        for stale in link.parent.glob(f".{link.name}.*"):
            if stale not in (version, previous) and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)

    def load_input(self, context: dg.InputContext):
        stage = context.asset_key.path[-1]
        if context.has_asset_partitions:
            kept = _recall((stage, tuple(context.asset_partition_keys)), _run_id(context))
            if kept is not None:
                return kept
            df = self._store.read(stage, self._store.files_of(context.asset_partition_keys), _run_id(context))
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
            tables = {p.stem: p for p in sorted(path.glob("*.parquet"))}  # written by older code
            tables.update({p.name: p.resolve() for p in sorted(path.iterdir())  # folders of parts
                           if p.is_symlink() and not p.name.startswith(".") and p.resolve().is_dir()})
            return {name: pd.read_parquet(where) for name, where in tables.items()}
        if not path.with_suffix(".parquet").exists():
            raise FileNotFoundError(f"no stored result for {context.asset_key.to_user_string()}; materialize it first")
        return pd.read_parquet(path.with_suffix(".parquet"))
