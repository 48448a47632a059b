"""The Dagster code location: `dagster dev -w workspace.yaml` loads `defs` from here.

Loading it reads the settings from the environment once (`Settings.from_env`) and
builds the definitions from that value; it writes nothing and starts nothing.
"""
from __future__ import annotations

from datetime import timedelta

import dagster as dg

from assets.checks import SUITE_CONTEXT, gx_suite_check
from assets.corpus_checks import corpus_checks
from assets.hooks import progress_hooks
from assets.jobs import build_jobs
from assets.partitions import file_batches
from assets.resources import ParquetFrameIOManager, PipelineSettings, Workers
from assets.sensors import build_sensor, daily_rescan
from assets.stages import STAGE_ASSETS, published_table_checks, with_freshness
from pipeline.settings import Settings
from pipeline.state import PER_DOCUMENT_STAGES

__all__ = ["all_asset_checks", "build_definitions", "defs"]


def all_asset_checks() -> list[dg.AssetChecksDefinition]:
    """Per-file suites (partitioned like their assets), corpus-level suites, and the rest."""
    per_stage = [
        gx_suite_check(stage, ctx, partitions_def=file_batches if stage in PER_DOCUMENT_STAGES else None)
        for stage, ctx in SUITE_CONTEXT.items()
    ]
    return per_stage + corpus_checks()


def build_definitions(settings: Settings | None = None, progress: bool = False) -> dg.Definitions:
    """The definitions for `settings` (read from the environment when None); `progress`
    attaches the terminal progress hooks (`pipeline run` on a terminal)."""
    settings = settings or Settings.from_env()
    jobs = build_jobs(progress_hooks(progress))
    pipeline_settings = PipelineSettings.from_settings(settings)
    return dg.Definitions(
        assets=with_freshness(STAGE_ASSETS, timedelta(hours=settings.stale_after_hours)),
        asset_checks=all_asset_checks() + published_table_checks(),
        jobs=jobs,
        sensors=[build_sensor(settings, jobs)],
        schedules=[daily_rescan],
        resources={
            "settings": pipeline_settings,
            "workers": Workers.from_settings(settings),
            "io_manager": ParquetFrameIOManager(base_dir=str(settings.staging_dir), warehouse_dir=str(settings.warehouse_dir)),
        },
        # One process per run: spaCy and Great Expectations are imported and loaded once.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
