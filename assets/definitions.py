"""The Dagster code location: `dagster dev -w workspace.yaml` loads `defs` from here."""
from __future__ import annotations

import dagster as dg

from pipeline.settings import Settings, ensure_dagster_home

ensure_dagster_home()

from assets.checks import all_checks  # noqa: E402
from assets.resources import ParquetFrameIOManager, PipelineSettings  # noqa: E402
from assets.stages import STAGE_ASSETS  # noqa: E402

ALL_ASSETS_JOB = "all_assets_job"


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings()
    resource = PipelineSettings.from_env()
    if settings != Settings():
        resource = resource.model_copy(update={"raw_dir": str(settings.raw_dir), "warehouse_dir": str(settings.warehouse_dir),
                                               "spacy_model": settings.spacy_model})
    return dg.Definitions(
        assets=STAGE_ASSETS,
        asset_checks=all_checks(),
        jobs=[dg.define_asset_job(ALL_ASSETS_JOB, selection=dg.AssetSelection.all(),
                                  description="Every stage, its checks, and publish.")],
        resources={
            "settings": resource,
            "io_manager": ParquetFrameIOManager(base_dir=str(settings.staging_dir)),
        },
        # One process: spaCy and Great Expectations are imported and loaded once per run.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
