"""The Dagster code location: `dagster dev -w workspace.yaml` loads `defs` from here."""
from __future__ import annotations

import dagster as dg

from pipeline.settings import Settings, ensure_dagster_home

ensure_dagster_home()

from assets.checks import SUITE_CONTEXT, gx_suite_check  # noqa: E402
from assets.corpus_checks import corpus_checks  # noqa: E402
from assets.jobs import ALL_ASSETS_JOB, ingest_job, publish_job  # noqa: E402
from assets.resources import ParquetFrameIOManager, PipelineSettings  # noqa: E402
from assets.sensors import daily_rescan, raw_folder_sensor  # noqa: E402
from assets.stages import STAGE_ASSETS, raw_files  # noqa: E402
from pipeline.state import PER_DOCUMENT_STAGES  # noqa: E402

__all__ = ["ALL_ASSETS_JOB", "all_asset_checks", "build_definitions", "defs"]


def all_asset_checks() -> list[dg.AssetChecksDefinition]:
    """Per-file suites (partitioned like their assets), corpus-level suites, and the rest."""
    per_stage = [
        gx_suite_check(stage, ctx, partitions_def=raw_files if stage in PER_DOCUMENT_STAGES else None)
        for stage, ctx in SUITE_CONTEXT.items()
    ]
    return per_stage + corpus_checks()


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings()
    resource = PipelineSettings.from_env()
    if settings != Settings():
        resource = resource.model_copy(update={"raw_dir": str(settings.raw_dir), "warehouse_dir": str(settings.warehouse_dir),
                                               "spacy_model": settings.spacy_model,
                                               "warehouse_uri": settings.warehouse_uri or ""})
    return dg.Definitions(
        assets=STAGE_ASSETS,
        asset_checks=all_asset_checks(),
        jobs=[ingest_job, publish_job],
        sensors=[raw_folder_sensor],
        schedules=[daily_rescan],
        resources={
            "settings": resource,
            "io_manager": ParquetFrameIOManager(base_dir=str(settings.staging_dir), warehouse_dir=str(settings.warehouse_dir)),
        },
        # One process per run: spaCy and Great Expectations are imported and loaded once.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
