"""Jobs: per-file batches, the corpus-level publish, and everything at once."""
import dagster as dg

from assets.hooks import PROGRESS_HOOKS
from assets.stages import CORPUS_ASSETS, PER_FILE_ASSETS, raw_files

INGEST_JOB = "ingest_job"
PUBLISH_JOB = "publish_job"
ALL_ASSETS_JOB = "all_assets_job"

ingest_job = dg.define_asset_job(
    INGEST_JOB, selection=dg.AssetSelection.assets(*PER_FILE_ASSETS), partitions_def=raw_files,
    description="Decode, clean, split and extract claims for a batch of raw files (a range of partitions).",
    hooks=PROGRESS_HOOKS,
)
publish_job = dg.define_asset_job(
    PUBLISH_JOB, selection=dg.AssetSelection.assets(*CORPUS_ASSETS),
    description="Assemble the corpus from accepted files, validate it, cluster, find conflicts, publish.",
    hooks=PROGRESS_HOOKS,
)
