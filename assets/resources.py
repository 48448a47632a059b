"""Resources: the pipeline settings and a Parquet IO manager (no pickles)."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pandas as pd

from pipeline.ingest import DEFAULT_MAX_FILE_BYTES
from pipeline.settings import Settings


class PipelineSettings(dg.ConfigurableResource):
    """Folders and model, from the same environment variables `pipeline run` reads."""

    raw_dir: str
    warehouse_dir: str
    spacy_model: str
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def from_env(cls) -> "PipelineSettings":
        s = Settings()
        return cls(
            raw_dir=str(s.raw_dir), warehouse_dir=str(s.warehouse_dir), spacy_model=s.spacy_model,
            max_file_bytes=int(os.environ.get("PIPELINE_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)),
        )

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir)

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse_dir)


class ParquetFrameIOManager(dg.ConfigurableIOManager):
    """Stores each asset's DataFrame as `<base_dir>/<asset>.parquet`.

    Intermediate results are Parquet, never pickle: nothing untrusted is unpickled and
    every intermediate table can be opened by hand when debugging. A write goes to a
    temporary file first and is renamed into place.
    """

    base_dir: str

    def _path(self, context) -> Path:
        return Path(self.base_dir) / ("__".join(context.asset_key.path) + ".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | None) -> None:
        if obj is None:
            return
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        obj.to_parquet(tmp, index=False, compression="zstd")
        os.replace(tmp, path)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        path = self._path(context)
        if not path.exists():
            raise FileNotFoundError(f"no stored result for {context.asset_key.to_user_string()} at {path}; materialize it first")
        return pd.read_parquet(path)
