"""Jobs: per-file batches, the corpus-level publish, and both in one run."""
import dagster as dg

from assets.partitions import file_batches
from assets.stages import CORPUS_ASSETS, PER_FILE_ASSETS

INGEST_JOB = "ingest_job"
PUBLISH_JOB = "publish_job"
PROCESS_AND_PUBLISH_JOB = "process_and_publish_job"


def build_jobs(hooks: set) -> list:
    """The three jobs; `hooks` (progress lines on a terminal) are attached to each."""
    select = dg.AssetSelection.assets

    ingest = dg.define_asset_job(
        INGEST_JOB, selection=select(*PER_FILE_ASSETS), partitions_def=file_batches,
        description="Decode, clean, split and extract claims for one batch of raw files (a partition).",
        hooks=hooks,
    )
    publish = dg.define_asset_job(
        PUBLISH_JOB, selection=select(*CORPUS_ASSETS),
        description="Assemble the corpus from accepted files, validate it, cluster, find conflicts, publish.",
        hooks=hooks,
    )
    both = dg.define_asset_job(
        PROCESS_AND_PUBLISH_JOB, selection=select(*PER_FILE_ASSETS, *CORPUS_ASSETS),
        partitions_def=file_batches,
        description="One batch of raw files, then the corpus published, in one run: what the sensor launches "
                    "for a wave of new files that fits in one batch.",
        hooks=hooks,
    )
    return [ingest, publish, both]


# the jobs without progress hooks (the code location's, and the tests')
ingest_job, publish_job, process_and_publish_job = build_jobs(set())
