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
    sub.add_parser("prepare-home", help="create DAGSTER_HOME and its dagster.yaml (what `./dev` does first)")
    return p


def run(raw_dir: Path | None, warehouse_dir: Path | str | None, out=sys.stdout, err=sys.stderr,
        rebuild_state: bool = False, settings=None) -> int:
    """`pipeline run`; `settings` (a `pipeline.settings.Settings`) defaults to the environment's."""
    from dataclasses import replace

    from pipeline import gx_process
    from pipeline.settings import Settings, SettingsError

    try:
        settings = (settings or Settings.from_env()).with_folders(raw_dir, warehouse_dir)
    except SettingsError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if "data_docs" not in settings.from_environment:
        # Data Docs pages cost seconds per run; the UI builds them, the CLI only when asked
        settings = replace(settings, data_docs=False)
    # GX is imported on another core while this process imports Dagster and does the work
    gx_process.configure(settings.gx_process)
    gx_process.start()
    try:
        return _run(settings, out, err, rebuild_state)
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


def _run(settings, out, err, rebuild_state: bool = False) -> int:
    if not settings.raw_dir.is_dir():
        print(f"error: raw folder {settings.raw_dir} does not exist", file=err)
        return 2
    started = time.perf_counter()

    import warnings

    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    tty = out.isatty()
    from assets.definitions import build_definitions
    from assets.runner import run_all

    # per-step lines (assets/hooks.py) on a terminal only
    defs = build_definitions(settings, progress=tty)
    progress = (lambda msg: print(f"{msg}", file=err, flush=True)) if tty else None
    from pipeline.publish import WarehouseBusy, exclusive

    try:
        with exclusive(settings.warehouse_dir / ".run.lock", timeout_s=settings.run_lock_timeout_s,
                       on_wait=lambda: print("another pipeline run uses this warehouse: waiting for it", file=err)):
            if rebuild_state:
                _set_state_aside(settings.warehouse_dir, err)
            with _instance(settings) as instance:
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


def _instance(settings):
    """The Dagster instance of DAGSTER_HOME (`settings.dagster_home`), its storage created
    under a lock, its dagster.yaml written when there is none (`prepare_dagster_home`).

    A new instance creates its SQLite databases (runs, event log index, schedules) and
    stamps them with Alembic on first use; two `pipeline run`s starting together on a
    new DAGSTER_HOME (even for two warehouses) would both create them and one would die
    ("table alembic_version already exists"). The first one creates them while the
    other waits; afterwards they share the instance as Dagster intends."""
    import dagster as dg

    from pipeline.publish import exclusive

    home = prepare_dagster_home(settings.dagster_home)
    with exclusive(home / ".instance-init.lock", timeout_s=settings.run_lock_timeout_s):
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            instance.get_runs(limit=1)  # run storage
            instance.get_dynamic_partitions("file_batches")  # event log index
            instance.all_instigator_state()  # schedule storage
        except BaseException:
            instance.dispose()
            raise
    return instance


def prepare_dagster_home(home: Path) -> Path:
    """Create DAGSTER_HOME and its dagster.yaml (the project's, see `pipeline.settings`)
    unless the user wrote one; `./dev` calls this too (`python -m assets.cli prepare-home`)."""
    from pipeline.settings import instance_yaml_to_write

    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    wanted = instance_yaml_to_write(path.read_text() if path.exists() else None)
    if wanted is not None:
        tmp = home / f".dagster.yaml.{os.getpid()}.tmp"  # a process starting beside this one reads it whole
        tmp.write_text(wanted)
        os.replace(tmp, path)
    return home


STAGE_OF_ASSET = {"claims": "claims_stage", "claim_quantities": "claims_stage", "claim_entities": "claims_stage"}
ASSETS = ("documents", "paragraphs", "sentences", "claims_stage", "claims", "claim_quantities", "claim_entities",
          "accepted_files", "corpus", "claim_clusters", "quantity_conflicts", "warehouse")


def _stage_of(step_key: str) -> str:
    """The stage a step belongs to: an asset's own step, or a check step `<asset>_<check>`."""
    if step_key in ASSETS:
        return STAGE_OF_ASSET.get(step_key, step_key)
    if step_key.startswith("asset_check_"):  # Dagster's column-schema-change checks of the published tables
        return "warehouse"
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
        from pipeline.lifeline import lean_arrow_memory

        lean_arrow_memory()
        return run(args.raw_dir, args.warehouse_dir, rebuild_state=args.rebuild_state)
    if args.command == "prepare-home":
        from pipeline.settings import Settings

        print(prepare_dagster_home(Settings.from_env().dagster_home))
        return 0
    return 2


def entry() -> None:
    """The `pipeline` console script: `main`, then a quick exit.

    When `main` returns, everything is written and closed (tables, catalog, Dagster's
    storage) and the worker processes are stopped; what remains is Python's teardown of
    the objects of spaCy, Dagster, pandas and the corpus, one by one: 1.4 s on the seeds.
    So the exit does what an exit must (pending writes joined, worker pools and the GX
    process stopped, logging and the standard streams flushed) and then ends the process
    with the status through `os._exit`, without that teardown."""
    code = main()
    import logging

    from assets.resources import join_pending_writes
    from pipeline import distributed, gx_process

    join_pending_writes()  # nothing half written
    distributed.shutdown()  # the worker processes end with this process's exit anyway (lifeline)
    gx_process.stop(wait=False)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
