"""`pipeline run`: materialize every asset of the Dagster definitions and publish.

    pipeline run [--raw-dir DIR] [--warehouse-dir DIR]

Runs the same job as "Materialize all" in the UI, in this process, against the
project's Dagster instance (DAGSTER_HOME, project-local by default), so the run shows
up in the UI's run history. Exit status 0 when every blocking check passed and the
tables were published; 1 otherwise, with the failing checks and their expectations
on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pipeline", description="News articles -> validated claim tables.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset over the raw folder and publish the tables")
    run.add_argument("--raw-dir", type=Path, help="raw folder (default: $PIPELINE_RAW_DIR or data/raw)")
    run.add_argument("--warehouse-dir", type=Path, help="warehouse folder (default: $PIPELINE_WAREHOUSE_DIR or data/warehouse)")
    return p


def run(raw_dir: Path | None, warehouse_dir: Path | None, out=sys.stdout, err=sys.stderr) -> int:
    if raw_dir is not None:
        os.environ["PIPELINE_RAW_DIR"] = str(raw_dir.expanduser().resolve())
    if warehouse_dir is not None:
        os.environ["PIPELINE_WAREHOUSE_DIR"] = str(warehouse_dir.expanduser().resolve())
    from pipeline.settings import Settings, ensure_dagster_home

    ensure_dagster_home()
    settings = Settings()
    if not settings.raw_dir.is_dir():
        print(f"error: raw folder {settings.raw_dir} does not exist", file=err)
        return 2
    started = time.perf_counter()

    import dagster as dg

    from assets.definitions import ALL_ASSETS_JOB, build_definitions

    defs = build_definitions(settings)
    job = defs.resolve_job_def(ALL_ASSETS_JOB)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for evaluation in failed_checks:
        meta = evaluation.metadata
        print(f"FAILED check {evaluation.asset_check_key.to_user_string()}", file=err)
        for failure in (meta.get("failures").value if "failures" in meta else []):
            what = f"{failure['expectation']}({failure['column']})" if failure.get("column") else failure["expectation"]
            count = failure.get("unexpected_count")
            detail = f"{count} unexpected rows" if count is not None else f"observed {failure.get('observed')}"
            print(f"  - {what}: {detail}; sample: {failure.get('sample')}", file=err)
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            if error.cls_name == "DagsterAssetCheckFailedError":
                continue  # reported above, expectation by expectation
            print(f"FAILED step {event.step_key}:\n{error.to_string().rstrip()}", file=err)
    published = any(e.asset_key is not None and e.asset_key.to_user_string() == "warehouse"
                    for e in result.get_asset_materialization_events())
    elapsed = time.perf_counter() - started
    if failed_checks or not result.success or not published:
        print(f"run {result.run_id}: NOT published ({elapsed:.1f} s); the previously published tables are unchanged "
              f"in {settings.warehouse_dir}", file=err)
        return 1
    manifest = json.loads((settings.warehouse_dir / "_manifest.json").read_text())
    print(f"run {result.run_id}: published {len(manifest['tables'])} tables in {elapsed:.1f} s", file=out)
    width = max(map(len, manifest["tables"]))
    for name, info in manifest["tables"].items():
        print(f"  {name:<{width}}  {info['rows']:>7} rows  {settings.warehouse_dir / name}", file=out)
    print(f"  DuckDB catalog: {settings.warehouse_dir / 'catalog.duckdb'}", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run(args.raw_dir, args.warehouse_dir)
    return 2


if __name__ == "__main__":
    sys.exit(main())
