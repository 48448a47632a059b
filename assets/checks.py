"""A small factory of blocking asset checks that run Great Expectations 1.x suites.

dagster-ge only supports GX < 1.0, so this is our own: the check loads the stage's
frame (and any context tables its suite needs), runs `expectations/<stage>.json`
through `pipeline.validation.run_suite` (ephemeral GX context, imported only here),
and maps the result to an `AssetCheckResult`: ERROR severity, so a failure blocks
everything downstream, publish included; metadata lists each failing expectation
with its unexpected-row count and sample values, and links the Great Expectations
Data Docs page rendered for that validation under `<warehouse>/data_docs/`
(PIPELINE_DATA_DOCS=0 turns the pages off; they cost ~0.05-0.1 s per suite).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

DATA_DOCS_DIR = "data_docs"  # under the warehouse


def check_metadata(report) -> dict:
    failures = report.failures
    meta = {
        "suite": report.suite,
        "rows_validated": dg.MetadataValue.int(report.n_rows),
        "expectations": dg.MetadataValue.int(len(report.outcomes)),
        "failed_expectations": dg.MetadataValue.int(len(failures)),
        "results": dg.MetadataValue.md(report.to_markdown()),
    }
    warnings = getattr(report, "warnings", [])
    if warnings:
        meta["warnings"] = dg.MetadataValue.json([
            {"expectation": o.expectation, "column": o.column, "unexpected_count": o.unexpected_count,
             "sample": o.sample, "observed": o.observed} for o in warnings
        ])
        meta["warning_summary"] = dg.MetadataValue.text("; ".join(o.describe() for o in warnings))
    if failures:
        meta["failures"] = dg.MetadataValue.json([
            {"expectation": o.expectation, "column": o.column, "unexpected_count": o.unexpected_count,
             "unexpected_percent": o.unexpected_percent, "sample": o.sample, "observed": o.observed, "error": o.error}
            for o in failures
        ])
        meta["summary"] = dg.MetadataValue.text("; ".join(o.describe() for o in failures))
    page = getattr(report, "data_docs", None)
    if page:
        meta["data_docs"] = dg.MetadataValue.path(page)
        meta["data_docs_url"] = dg.MetadataValue.url(Path(page).as_uri())
    return meta


def check_result(report) -> dg.AssetCheckResult:
    """Failed error-severity expectations fail the check with ERROR severity (blocking);
    when only plausibility expectations (`meta.severity: warning`) failed, the check fails
    with WARN severity, which Dagster shows and which blocks nothing downstream."""
    if report.failures or not report.warnings:
        return dg.AssetCheckResult(passed=report.success, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=check_metadata(report))
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=check_metadata(report))


def _data_docs_dir(context: dg.AssetCheckExecutionContext) -> Path | None:
    """`<warehouse>/data_docs` when the run has the `settings` resource and docs are on."""
    return data_docs_dir(getattr(context.resources, "settings", None))


def data_docs_dir(settings) -> Path | None:
    """`<warehouse>/data_docs` of these settings (None: no settings, or docs off)."""
    if settings is None or not settings.data_docs:
        return None
    return settings.warehouse_path / DATA_DOCS_DIR


def _batch_name(context: dg.AssetCheckExecutionContext) -> str:
    """The partition (or partition range) a check validates; `all` when unpartitioned."""
    try:
        if context.has_partition_key:
            return context.partition_key
        if context.has_partition_key_range:
            r = context.partition_key_range
            return r.start if r.start == r.end else f"{r.start}..{r.end}"
    except Exception:  # noqa: BLE001 - unpartitioned contexts may raise instead of answering False
        pass
    return "all"


def gx_suite_check(stage: str, context_assets: Sequence[str] = (), *,
                   partitions_def: dg.PartitionsDefinition | None = None) -> dg.AssetChecksDefinition:
    """A blocking check named `<stage>_suite` validating asset `stage` with its GX suite.

    `context_assets` are other assets the suite's derived columns need (for instance
    `documents`, to check that paragraph offsets point into the document text).
    `partitions_def` makes the check partitioned like its asset (each partition is
    validated, and gets its own Data Docs page, on its own).
    """
    from pipeline.validation import load_suite

    spec = load_suite(stage)
    description = spec.get("meta", {}).get("description", f"Great Expectations suite for {stage}")

    def evaluate(context: dg.AssetCheckExecutionContext, frame: pd.DataFrame,
                 *context_frames: pd.DataFrame) -> dg.AssetCheckResult:
        from pipeline import gx_process
        from pipeline.validation import run_suite

        report = run_suite(stage, frame, dict(zip(context_assets, context_frames)),
                           data_docs_dir=_data_docs_dir(context), run_name=context.run.run_id,
                           batch_name=_batch_name(context), run_in=gx_process.run)
        return check_result(report)

    # Dagster binds inputs by parameter name, so each arity gets a plain signature;
    # `frame` is the checked asset, `context_<i>` the extra tables.
    if len(context_assets) > 2:
        raise ValueError("a suite may use at most two context tables")
    runners = {
        0: lambda context, frame: evaluate(context, frame),
        1: lambda context, frame, context_1: evaluate(context, frame, context_1),
        2: lambda context, frame, context_1, context_2: evaluate(context, frame, context_1, context_2),
    }
    return dg.asset_check(
        asset=stage,
        name=f"{stage}_suite",
        description=f"GX suite expectations/{stage}.json: {description}",
        blocking=True,
        additional_ins={f"context_{i}": dg.AssetIn(key=name) for i, name in enumerate(context_assets, start=1)},
        metadata={"suite_file": f"expectations/{stage}.json", "expectations": len(spec["expectations"])},
        required_resource_keys={"settings", "workers"},  # validates in the GX process
        **({"partitions_def": partitions_def} if partitions_def is not None else {}),
    )(runners[len(context_assets)])


SUITE_CONTEXT = {
    "documents": (),
    "paragraphs": ("documents",),
    "sentences": ("documents", "paragraphs"),
    "claims": ("sentences",),
    "claim_quantities": ("claims",),
    "claim_entities": ("claims",),
    "claim_clusters": (),
    "quantity_conflicts": (),
}


def all_checks() -> list[dg.AssetChecksDefinition]:
    return [gx_suite_check(stage, ctx) for stage, ctx in SUITE_CONTEXT.items()]
