"""Event-driven runs: a sensor on the raw folder and a daily safety-net schedule.

The sensor looks at the raw folder on every tick and compares it with what was
already accepted (by content hash) and with its previous look (to wait for files
that are still being written). New and changed files get a dynamic partition each
(one per file) and are processed in batches of `batch_size` files per run; once
every run of such a wave has finished, the sensor requests one corpus-level run
that assembles, validates and publishes. A batch that fails is retried file by
file, so one bad file fails only itself. Deleted files keep their rows unless
`drop_deleted` is set.

The cursor is JSON: the last scan (sizes and mtimes), the files requested and not
yet finished, and the open waves. It holds no wall-clock position, so no file can be
skipped: whatever is in the folder and not accepted is found on the next tick.
"""


import json
import os
import uuid

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from assets.jobs import INGEST_JOB, PUBLISH_JOB, ingest_job, publish_job
from assets.resources import PipelineSettings
from assets.stages import raw_files
from pipeline import files
from pipeline.ingest import format_of

WAVE_TAG = "pipeline/wave"
ORIGIN_TAG = "pipeline/origin"
DONE_WAVES_KEPT = 200
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def batch_run_request(keys: list[str], wave: str, index: int) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"{wave}-{index}",
        job_name=INGEST_JOB,
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1], WAVE_TAG: wave,
              "pipeline/files": str(len(keys))},
    )


def known_fingerprints(settings: PipelineSettings, healed: list | None = None) -> dict[str, files.Fingerprint]:
    """Files already accepted, by relative path, with the fingerprint they were read with.

    The state behind them is checked first (`StateStore.heal`): a file whose stored rows
    are damaged is not known any more, so it is planned again; (path, reason) of each such
    file is appended to `healed`."""
    out = {}
    settings.state.release_orphaned_holds()
    found = settings.state.heal()
    if healed is not None:
        healed.extend(found)
    for entry in settings.state.accepted().values():
        # a file accepted without a stat (it vanished, or could not be listed) is still known:
        # gone, it counts as deleted; back, it is read again
        out[entry["relpath"]] = files.Fingerprint.from_json(entry.get("fingerprint") or files.NEVER_READ)
    return out


def dropped_keys(settings: PipelineSettings, deleted: list[str]) -> list[str]:
    """Partition keys of deleted files whose rows go at this publish: every deleted file with
    `drop_deleted`, else the files that were never read (their rows describe nothing) and
    the units of a feed whose file is still there (the feed was cut into other units)."""
    accepted = settings.state.accepted()
    out = []
    for rel in deleted:
        key = files.partition_key(rel)
        entry = accepted.get(key)
        if entry is None:
            continue
        never_read = not (entry.get("fingerprint") or [None] * 3)[2]
        superseded = (settings.raw_path / files.file_of(rel)).exists()
        if settings.drop_deleted or never_read or superseded:
            out.append(key)
    return out


def _load_cursor(raw: str | None) -> dict:
    cursor = json.loads(raw) if raw else {}
    cursor.setdefault("scan", {})
    cursor.setdefault("in_flight", {})  # relpath -> fingerprint requested, run not finished
    cursor.setdefault("waves", {})  # wave -> {"keys": [...], "retried": bool}
    cursor.setdefault("failed", {})  # relpath -> fingerprint that failed alone: wait for a change
    cursor.setdefault("done_waves", [])
    return cursor


def _range_keys(run, order: list[str]) -> list[str]:
    start, end = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start in order and end in order:
        return order[order.index(start):order.index(end) + 1]
    return []


def evaluate_folder(context, settings: PipelineSettings) -> dg.SensorResult:
    cursor = _load_cursor(context.cursor)
    instance = context.instance
    run_requests: list[dg.RunRequest] = []
    partition_requests = []

    # 0. waves started by the schedule: the sensor finishes (publishes) them too
    for run in instance.get_runs(filters=dg.RunsFilter(tags={ORIGIN_TAG: "schedule"}), limit=100):
        wave = run.tags.get(WAVE_TAG)
        if wave and wave not in cursor["waves"] and wave not in cursor["done_waves"]:
            cursor["waves"][wave] = {"keys": [], "retried": False}

    # 1. waves whose runs have all finished: retry failed batches file by file, then publish
    order = list(instance.get_dynamic_partitions(raw_files.name))
    for wave, info in list(cursor["waves"].items()):
        runs = instance.get_runs(filters=dg.RunsFilter(tags={WAVE_TAG: wave}))
        if not runs or any(r.status not in FINISHED for r in runs):
            continue
        if any(r.job_name == PUBLISH_JOB for r in runs):
            del cursor["waves"][wave]
            cursor["done_waves"] = (cursor["done_waves"] + [wave])[-DONE_WAVES_KEPT:]
            continue
        retry, failed_alone = [], []
        for r in runs:
            if r.job_name != INGEST_JOB or r.status == dg.DagsterRunStatus.SUCCESS:
                continue
            keys = _range_keys(r, order)
            (retry if len(keys) > 1 else failed_alone).extend(keys)
        if retry and not info.get("retried"):
            info["retried"] = True  # one bad file must not fail its batch: rerun the batch file by file
            run_requests += [batch_run_request([k], wave, 1000 + i) for i, k in enumerate(retry)]
            continue
        passed_any = any(r.job_name == INGEST_JOB and r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        held = {}
        for key in failed_alone:
            rel = files.relpath_of(key)
            if rel in cursor["in_flight"]:
                cursor["failed"][rel] = cursor["in_flight"][rel]
                if passed_any:  # failed alone while others passed: bad input, published as a rejected row
                    failed_run = next((r for r in runs if _range_keys(r, order) == [key]), None)
                    held[key] = {"relpath": rel, "fingerprint": cursor["in_flight"][rel],
                                 "reason": f"its run {failed_run.run_id if failed_run else ''} failed "
                                           "(see that run's failed check in the UI)",
                                 "source_format": format_of(files.file_of(rel))}
        settings.state.quarantine_files(held)
        for key in info["keys"]:
            cursor["in_flight"].pop(files.relpath_of(key), None)
        run_requests.append(dg.RunRequest(run_key=f"{wave}-publish", job_name=PUBLISH_JOB, tags={WAVE_TAG: wave}))

    # 2. the folder now
    healed: list = []
    known = known_fingerprints(settings, healed)
    for relpath, reason in healed:
        context.log.warning(f"{relpath}: processed again: {reason}")
    known.update(files.fingerprints_from_json(cursor["in_flight"]))
    known.update(files.fingerprints_from_json(cursor["failed"]))
    plan, scan = files.plan(settings.raw_path, known, files.fingerprints_from_json(cursor["scan"]),
                            settle_seconds=settings.settle_seconds)
    cursor["scan"] = files.fingerprints_to_json(scan)
    settings.state.refresh_fingerprints({files.partition_key(rel): plan.fingerprints[rel].to_json()
                                         for rel in plan.touched})
    for rel in plan.changed:
        cursor["failed"].pop(rel, None)
    todo = plan.to_process
    dropped = dropped_keys(settings, plan.deleted) if plan.deleted else []
    if todo or dropped:
        wave = uuid.uuid4().hex[:12]
        new_keys = [files.partition_key(rel) for rel in plan.new if files.partition_key(rel) not in order]
        if new_keys:
            partition_requests.append(raw_files.build_add_request(new_keys))
        full_order = order + new_keys
        keys = [files.partition_key(rel) for rel in todo]
        chunks = files.batches(keys, full_order, settings.batch_size)
        for i, chunk in enumerate(chunks):
            run_requests.append(batch_run_request(chunk, wave, i))
        for rel in todo:
            cursor["in_flight"][rel] = plan.fingerprints[rel].to_json()
        if dropped:
            settings.state.forget(dropped)
            partition_requests.append(raw_files.build_delete_request(dropped))
            if not chunks:
                run_requests.append(dg.RunRequest(run_key=f"{wave}-publish", job_name=PUBLISH_JOB, tags={WAVE_TAG: wave}))
        cursor["waves"][wave] = {"keys": keys, "retried": False}
        context.log.info(f"wave {wave}: {len(plan.new)} new, {len(plan.changed)} changed, "
                         f"{len(dropped)} dropped, {len(chunks)} batch runs")
    return dg.SensorResult(run_requests=run_requests, dynamic_partitions_requests=partition_requests,
                           cursor=json.dumps(cursor, sort_keys=True))


@dg.sensor(
    name="raw_folder_sensor",
    jobs=[ingest_job, publish_job],
    minimum_interval_seconds=int(os.environ.get("PIPELINE_SENSOR_INTERVAL", "15")),
    default_status=(dg.DefaultSensorStatus.STOPPED if os.environ.get("PIPELINE_SENSOR", "on").lower() == "off"
                    else dg.DefaultSensorStatus.RUNNING),
    description="Watches the raw folder: new and changed files are processed in batches, then published.",
)
def raw_folder_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings) -> dg.SensorResult:
    return evaluate_folder(context, settings)


@dg.schedule(
    name="daily_rescan",
    cron_schedule="0 3 * * *",
    job=ingest_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Safety net: once a day, processes any file of the raw folder that is not accepted yet "
                "(the sensor then publishes the wave).",
)
def daily_rescan(context: dg.ScheduleEvaluationContext, settings: PipelineSettings):
    plan, _scan = files.plan(settings.raw_path, known_fingerprints(settings), settle_seconds=settings.settle_seconds)
    todo = [files.partition_key(rel) for rel in plan.to_process]
    if not todo:
        return dg.SkipReason("every file of the raw folder is accepted")
    existing = set(context.instance.get_dynamic_partitions(raw_files.name))
    new = [k for k in todo if k not in existing]
    if new:
        context.instance.add_dynamic_partitions(raw_files.name, new)
    order = list(context.instance.get_dynamic_partitions(raw_files.name))
    wave = "rescan-" + uuid.uuid4().hex[:8]
    requests = []
    for i, chunk in enumerate(files.batches(todo, order, settings.batch_size)):
        rr = batch_run_request(chunk, wave, i)
        requests.append(rr.with_replaced_attrs(tags={**rr.tags, ORIGIN_TAG: "schedule"}))
    return requests
