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
import os
import sys
import time
from pathlib import Path


RUN_LOCK_TIMEOUT_S = float(os.environ.get("PIPELINE_RUN_LOCK_TIMEOUT", "1800"))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pipeline", description="News articles -> validated claim tables.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset over the raw folder and publish the tables")
    run.add_argument("--raw-dir", type=Path, help="raw folder (default: $PIPELINE_RAW_DIR or data/raw)")
    run.add_argument("--warehouse-dir", type=str,
                     help="warehouse folder, or s3://bucket/prefix (default: $PIPELINE_WAREHOUSE_DIR or data/warehouse)")
    run.add_argument("--rebuild-state", action="store_true",
                     help="set the warehouse's state (.state) aside and process every raw file again; the published "
                          "tables stay until the rebuilt ones replace them, ids and ingested_at are kept")
    return p


def run(raw_dir: Path | None, warehouse_dir: Path | str | None, out=sys.stdout, err=sys.stderr,
        rebuild_state: bool = False) -> int:
    from pipeline import gx_process

    # GX is imported on another core while this process imports Dagster and does the work
    gx_process.start()
    try:
        return _run(raw_dir, warehouse_dir, out, err, rebuild_state)
    finally:
        gx_process.stop(wait=False)  # idle by now, or still importing when the run ended early


def _set_state_aside(warehouse: Path, err) -> None:
    """`--rebuild-state`: the state folder moves to `.state.replaced-<time>` (kept for a
    look, delete it at will); the run that follows finds every raw file new."""
    state = warehouse / ".state"
    if state.exists():
        aside = warehouse / f".state.replaced-{time.strftime('%Y%m%dT%H%M%S')}"
        os.replace(state, aside)
        print(f"state set aside in {aside}; every raw file is processed again", file=err)


def _run(raw_dir: Path | None, warehouse_dir: Path | str | None, out, err, rebuild_state: bool = False) -> int:
    from pipeline.storage import is_object_uri

    if raw_dir is not None:
        os.environ["PIPELINE_RAW_DIR"] = str(raw_dir.expanduser().resolve())
    if warehouse_dir is not None:  # an s3:// address as given (a Path would fold its `//`)
        os.environ["PIPELINE_WAREHOUSE_DIR"] = (
            warehouse_dir if is_object_uri(warehouse_dir) else str(Path(warehouse_dir).expanduser().resolve()))
    # Data Docs pages cost seconds per run; the UI builds them, the CLI only when asked
    os.environ.setdefault("PIPELINE_DATA_DOCS", "0")
    from pipeline.settings import Settings, ensure_dagster_home

    ensure_dagster_home()
    settings = Settings()
    if not settings.raw_dir.is_dir():
        print(f"error: raw folder {settings.raw_dir} does not exist", file=err)
        return 2
    started = time.perf_counter()

    import warnings

    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    tty = out.isatty()
    # per-step lines (assets/hooks.py) on a terminal only; set before the jobs are defined,
    # which attach the hooks only then (each hook adds two events per step)
    os.environ["PIPELINE_PROGRESS"] = "1" if tty else "0"
    from assets.definitions import build_definitions
    from assets.runner import run_all

    defs = build_definitions(settings)
    progress = (lambda msg: print(f"{msg}", file=err, flush=True)) if tty else None
    from pipeline.publish import WarehouseBusy, exclusive

    try:
        with exclusive(settings.warehouse_dir / ".run.lock", timeout_s=RUN_LOCK_TIMEOUT_S,
                       on_wait=lambda: print("another pipeline run uses this warehouse: waiting for it", file=err)):
            if rebuild_state:
                _set_state_aside(settings.warehouse_dir, err)
            with _instance() as instance:
                outcome = run_all(defs, instance, progress)
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=err)
        return 3
    for relpath, reason in outcome.healed:
        from pipeline.ingest import display_path

        print(f"state: {display_path(relpath)} processed again ({reason}; the damaged file is kept in "
              f"{settings.warehouse_dir / '.state' / 'quarantine'})", file=err)
    for relpath, reason in outcome.quarantined:
        from pipeline.ingest import display_path

        print(f"rejected: {display_path(relpath)}: {reason} (published as a rejected document; "
              "it is processed again when it changes)", file=err)
    for warning in outcome.warnings:
        print(f"warning: check {warning.check} ({warning.where}): {'; '.join(warning.lines)}", file=err)
    for failure in outcome.failures:
        head = f"FAILED check {failure.check}" if failure.check else "FAILED"
        print(f"{head} ({failure.where})", file=err)
        for line in failure.lines:
            print(f"  - {line}", file=err)
    elapsed = time.perf_counter() - started
    plan = outcome.plan
    print(f"files: {len(plan.new)} new, {len(plan.changed)} changed, {len(plan.deleted)} deleted, "
          f"{len(plan.unstable)} still being written; {outcome.batches} batch run(s)", file=out)
    if not outcome.published:
        print(f"NOT published ({elapsed:.1f} s); the previously published tables are unchanged "
              f"in {settings.warehouse}", file=err)
        return 1
    from pipeline.publish import catalog_path, read_manifest, snapshot_files

    target = settings.warehouse
    manifest = read_manifest(target)
    files = snapshot_files(target, manifest) if settings.warehouse_uri else {}
    print(f"published {len(manifest['tables'])} tables in {elapsed:.1f} s", file=out)
    width = max(map(len, manifest["tables"]))
    for name, info in manifest["tables"].items():
        where = files[name][0].rsplit("/", 1)[0] if name in files else settings.warehouse_dir / name
        print(f"  {name:<{width}}  {info['rows']:>7} rows  {where}", file=out)
    if settings.warehouse_uri:
        print(f"  pointer: {target.url('_manifest.json')} (snapshot {manifest['snapshot']})", file=out)
    print(f"  DuckDB catalog: {catalog_path(target)}", file=out)
    print(_stage_table(outcome.stage_seconds), file=out)
    if outcome.failures:
        print(f"{len(outcome.failures)} failure(s): the files above were left out; everything else is published",
              file=err)
        return 1
    return 0


def _instance():
    """The Dagster instance of DAGSTER_HOME, its storage created under a lock.

    A new instance creates its SQLite databases (runs, event log index, schedules) and
    stamps them with Alembic on first use; two `pipeline run`s starting together on a
    new DAGSTER_HOME (even for two warehouses) would both create them and one would die
    ("table alembic_version already exists"). The first one creates them while the
    other waits; afterwards they share the instance as Dagster intends."""
    import dagster as dg

    from pipeline.publish import exclusive

    home = Path(os.environ["DAGSTER_HOME"])
    with exclusive(home / ".instance-init.lock", timeout_s=RUN_LOCK_TIMEOUT_S):
        instance = dg.DagsterInstance.get()
        try:
            instance.get_runs(limit=1)  # run storage
            instance.get_dynamic_partitions("raw_files")  # event log index
            instance.all_instigator_state()  # schedule storage
        except BaseException:
            instance.dispose()
            raise
    return instance


STAGE_OF_ASSET = {"claims": "claims_stage", "claim_quantities": "claims_stage", "claim_entities": "claims_stage"}
ASSETS = ("documents", "paragraphs", "sentences", "claims_stage", "claims", "claim_quantities", "claim_entities",
          "accepted_files", "corpus", "claim_clusters", "quantity_conflicts", "warehouse")


def _stage_of(step_key: str) -> str:
    """The stage a step belongs to: an asset's own step, or a check step `<asset>_<check>`."""
    if step_key in ASSETS:
        return STAGE_OF_ASSET.get(step_key, step_key)
    owner = max((a for a in ASSETS if step_key.startswith(a + "_")), key=len, default=step_key)
    return STAGE_OF_ASSET.get(owner, owner)


def _stage_table(seconds: dict[str, float]) -> str:
    """Seconds per stage (checks folded into their stage), slowest first."""
    stages: dict[str, float] = {}
    for step, secs in seconds.items():
        if step != "total":
            stage = _stage_of(step)
            stages[stage] = stages.get(stage, 0.0) + secs
    rows = sorted(stages.items(), key=lambda kv: -kv[1])
    width = max((len(k) for k, _ in rows), default=5)
    lines = ["seconds per stage (with its checks):"]
    lines += [f"  {name:<{width}}  {secs:6.2f}" for name, secs in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `pipeline run | head`: the reader left, that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run(args.raw_dir, args.warehouse_dir, rebuild_state=args.rebuild_state)
    return 2


def entry() -> None:
    """The `pipeline` console script: `main`, then a quick exit.

    When `main` returns, everything is written and closed (tables, catalog, Dagster's
    storage) and the worker processes are stopped; what remains is Python's teardown of
    the objects of spaCy, Dagster, pandas and the corpus, one by one: 1.4 s on the seeds.
    So the exit runs what an exit must (worker pools' exit hooks and the other threads,
    `atexit` handlers such as logging's flush, the standard streams) and then ends the
    process with the status, as `os._exit` does, without that teardown."""
    code = main()
    import atexit
    import threading

    try:
        shutdown = threading._shutdown  # what the interpreter calls first at exit: pools' hooks, thread joins
    except AttributeError:  # pragma: no cover - another Python: the ordinary exit
        sys.exit(code)
    shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
