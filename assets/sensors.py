"""Event-driven runs: a sensor on the raw folder and a daily safety-net schedule.

The sensor looks at the raw folder on every tick and compares it with what was
already accepted (by content hash) and with its previous look (to wait for files
that are still being written). The new and changed files of one look are a wave: cut
into batches of `sensor_batch_size` documents (1,000: one run over a wave is faster than
several, each of which imports the project and loads spaCy), each a new `file_batches`
partition with its manifest. A wave of one batch is one run that processes and publishes
(`process_and_publish_job`); a larger wave is one run per batch, and once they have
all finished, one publish run. The instance runs them one at a time from its queue.
A batch that fails is retried file by file, so one bad file fails only itself; a
file that fails alone while others pass is published as a rejected document. A publish
that fails (its corpus check, typically) gets one more publish run that first finds the
wave's files the corpus check fails with and quarantines them (`pipeline.isolation`). Deleted
files keep their rows unless `drop_deleted` is set.

The cursor is JSON: the last scan (sizes and mtimes), the files requested and not
yet finished, and the open waves. It holds no wall-clock position, so no file can be
skipped: whatever is in the folder and not accepted is found on the next tick.
"""


import json

import dagster as dg

from assets.jobs import INGEST_JOB, PROCESS_AND_PUBLISH_JOB, PUBLISH_JOB, ingest_job, process_and_publish_job, publish_job
from assets.partitions import BATCH_TAG, ISOLATE_TAG, ORIGIN_TAG, WAVE_TAG, file_batches, make_batches, new_wave
from assets.resources import PipelineSettings
from pipeline import files
from pipeline.ingest import format_of
from pipeline.settings import Settings

DONE_WAVES_KEPT = 200
# The daemon evaluates sensors on a fixed loop (5 s) and skips a sensor whose last tick is
# less than its minimum interval old. A tick is stamped a moment after its loop starts,
# so a sensor declared with exactly the loop's period is found a few milliseconds short
# on every other loop and looks at the folder every 10 s instead of 5 (seen in the tick
# history). The sensor is declared this much under the interval the user set.
DAEMON_LOOP_MARGIN_S = 1
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
PUBLISHING = {PUBLISH_JOB, PROCESS_AND_PUBLISH_JOB}


def batch_run_request(batch: str, n_files: int, wave: str, job: str = INGEST_JOB, origin: str = "sensor") -> dg.RunRequest:
    return dg.RunRequest(run_key=batch, job_name=job, partition_key=batch,
                         tags={BATCH_TAG: batch, WAVE_TAG: wave, ORIGIN_TAG: origin, "pipeline/files": str(n_files)})


def publish_run_request(wave: str, isolate: list[str] | None = None) -> dg.RunRequest:
    """The wave's publish run; with `isolate` (batches), the one after a failed publish: it
    looks for the files of those batches the corpus check fails with and quarantines them."""
    if isolate:
        return dg.RunRequest(run_key=f"{wave}-isolate", job_name=PUBLISH_JOB,
                             tags={WAVE_TAG: wave, ISOLATE_TAG: ",".join(isolate)})
    return dg.RunRequest(run_key=f"{wave}-publish", job_name=PUBLISH_JOB, tags={WAVE_TAG: wave})


def _isolation_request(wave: str, info: dict) -> list[dg.RunRequest]:
    """After the wave's publish failed (its corpus check, typically): one more publish run
    that first finds and quarantines the wave's files the corpus check fails with, as
    `pipeline run` does; once per wave."""
    if info.get("isolated") or not info.get("batches"):
        return []
    info["isolated"] = True
    return [publish_run_request(wave, isolate=info["batches"])]


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
    for entry in settings.state.accepted_view().values():
        # a file accepted without a stat (it vanished, or could not be listed) is still known:
        # gone, it counts as deleted; back, it is read again
        out[entry["relpath"]] = files.Fingerprint.from_json(entry.get("fingerprint") or files.NEVER_READ)
    return out


def dropped_keys(settings: PipelineSettings, deleted: list[str]) -> list[str]:
    """Partition keys of deleted files whose rows go at this publish: every deleted file with
    `drop_deleted`, else the files that were never read (their rows describe nothing) and
    the units of a feed whose file is still there (the feed was cut into other units)."""
    accepted = settings.state.accepted_view()
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


def warm_processes(settings: PipelineSettings, log=None) -> None:
    """On every tick: make sure the warm servers the daemon's runs attach to are up (started
    beside the code server that evaluates this sensor, the first time, after the code changed,
    or after they left idle): the GX process and one NLP worker per CPU with the spaCy model
    loaded. So they are warm before files arrive, not warming on the same cores as the
    wave's first run (a check of live servers costs a few milliseconds). A server that
    cannot start costs nothing but speed: the runs start their own processes."""
    if not settings.warm_servers:
        return
    from pipeline import distributed, gx_process

    try:
        if settings.gx_process:
            gx_process.ensure_server(settings.runtime_dir)
        distributed.configure(settings.dask_scheduler or None, settings.nlp_processes or None)
        distributed.ensure_warm(settings.runtime_dir, settings.spacy_model)
    except OSError as exc:
        if log is not None:
            log.warning(f"warm servers not started ({exc}); the runs start their own GX process and NLP workers")


def _load_cursor(raw: str | None) -> dict:
    cursor = json.loads(raw) if raw else {}
    cursor.setdefault("scan", {})
    cursor.setdefault("in_flight", {})  # relpath -> fingerprint requested, run not finished
    cursor.setdefault("waves", {})  # wave -> {"keys": [...], "retried": bool}
    cursor.setdefault("failed", {})  # relpath -> fingerprint that failed alone: wait for a change
    cursor.setdefault("done_waves", [])
    return cursor


def _batch_files(run, settings: PipelineSettings) -> list[str]:
    batch = run.tags.get(BATCH_TAG)
    try:
        return settings.state.files_of([batch]) if batch else []
    except LookupError:
        return []


def _not_accepted_by(run, keys: list[str], accepted: dict) -> list[str]:
    """The keys of `run`'s batch that it did not accept (all of them when it failed before
    `accepted_files`; none when it got that far and failed while publishing)."""
    return [k for k in keys if (accepted.get(k) or {}).get("run_id") != run.run_id]


def _finish_wave(wave: str, info: dict, runs: list, cursor: dict, settings: PipelineSettings) -> list[dg.RunRequest]:
    """The next runs of a wave whose runs have all finished: retries of its failed batches
    file by file, else its publish (none when a run of its own published already)."""
    accepted = settings.state.accepted_view()
    retry, failed_alone = [], []
    accepted_by_ingest = publish_attempted = publish_failed = passed_any = False
    for r in runs:
        if r.job_name not in (INGEST_JOB, PROCESS_AND_PUBLISH_JOB):
            continue
        keys = _batch_files(r, settings)
        missed = _not_accepted_by(r, keys, accepted)
        if len(missed) < len(keys):
            passed_any = True
            accepted_by_ingest |= r.job_name == INGEST_JOB
        if r.job_name == PROCESS_AND_PUBLISH_JOB and not missed:
            publish_attempted = True  # it got to the corpus stages (published, or its corpus check failed)
            publish_failed |= r.status != dg.DagsterRunStatus.SUCCESS
        if r.status != dg.DagsterRunStatus.SUCCESS:
            (retry if len(missed) > 1 else failed_alone).extend(missed)
    if retry and not info.get("retried"):
        info["retried"] = True  # one bad file must not fail its batch: rerun the batch file by file
        singles = make_batches(settings.state, f"{wave}-r", [[k] for k in retry])
        return [batch_run_request(b, 1, wave) for b in singles]
    held = {}
    for key in failed_alone:
        rel = files.relpath_of(key)
        if rel in cursor["in_flight"]:
            cursor["failed"][rel] = cursor["in_flight"][rel]
            if passed_any:  # failed alone while others passed: bad input, published as a rejected row
                failed_run = next((r for r in runs if _batch_files(r, settings) == [key]), None)
                held[key] = {"relpath": rel, "fingerprint": cursor["in_flight"][rel],
                             "reason": f"its run {failed_run.run_id if failed_run else ''} failed "
                                       "(see that run's failed check in the UI)",
                             "source_format": format_of(files.file_of(rel))}
    settings.state.quarantine_files(held)
    if held or accepted_by_ingest or not publish_attempted:
        return [publish_run_request(wave)]
    return _isolation_request(wave, info) if publish_failed else []


def evaluate_folder(context, settings: PipelineSettings) -> dg.SensorResult:
    cursor = _load_cursor(context.cursor)
    instance = context.instance
    warm_processes(settings, context.log)
    run_requests: list[dg.RunRequest] = []
    partition_requests = []

    # 0. waves started by the schedule: the sensor finishes (publishes) them too
    for run in instance.get_runs(filters=dg.RunsFilter(tags={ORIGIN_TAG: "schedule"}), limit=100):
        wave, batch = run.tags.get(WAVE_TAG), run.tags.get(BATCH_TAG)
        if wave and wave not in cursor["done_waves"]:
            info = cursor["waves"].setdefault(wave, {"keys": [], "retried": False, "batches": []})
            if batch and batch not in info.setdefault("batches", []):
                info["batches"].append(batch)
                info["keys"] += _batch_files(run, settings)

    # 1. waves whose runs have all finished: retry failed batches file by file, then publish
    for wave, info in list(cursor["waves"].items()):
        runs = instance.get_runs(filters=dg.RunsFilter(tags={WAVE_TAG: wave}))
        if not runs or any(r.status not in FINISHED for r in runs):
            continue
        publishes = [r for r in runs if r.job_name == PUBLISH_JOB]  # newest first
        if publishes:  # the wave published, or failed to: then one more try that isolates the cause
            more = _isolation_request(wave, info) if publishes[0].status != dg.DagsterRunStatus.SUCCESS else []
        else:
            more = _finish_wave(wave, info, runs, cursor, settings)
        if not more:  # published (or its publish failed: the next wave publishes again)
            del cursor["waves"][wave]
            cursor["done_waves"] = (cursor["done_waves"] + [wave])[-DONE_WAVES_KEPT:]
            for key in info.get("keys", []):
                cursor["in_flight"].pop(files.relpath_of(key), None)
            continue
        new_batches = [r.partition_key for r in more if r.partition_key]
        if new_batches:
            partition_requests.append(file_batches.build_add_request(new_batches))
        run_requests += more

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
        wave = new_wave()
        keys = [files.partition_key(rel) for rel in todo]
        chunks = files.batches(keys, settings.sensor_batch_size)
        batches = make_batches(settings.state, wave, chunks)
        if batches:
            partition_requests.append(file_batches.build_add_request(batches))
        one_run = len(batches) == 1  # processed and published by one run
        for batch, chunk in zip(batches, chunks):
            run_requests.append(batch_run_request(batch, len(chunk), wave,
                                                  PROCESS_AND_PUBLISH_JOB if one_run else INGEST_JOB))
        for rel in todo:
            cursor["in_flight"][rel] = plan.fingerprints[rel].to_json()
        if dropped:
            settings.state.forget(dropped)
            if not batches:
                run_requests.append(publish_run_request(wave))
        cursor["waves"][wave] = {"keys": keys, "retried": False, "batches": batches}
        context.log.info(f"wave {wave}: {len(plan.new)} new, {len(plan.changed)} changed, "
                         f"{len(dropped)} dropped, {len(batches)} batch run(s)")
    return dg.SensorResult(run_requests=run_requests, dynamic_partitions_requests=partition_requests,
                           cursor=json.dumps(cursor, sort_keys=True))


def declared_interval(interval_s: int) -> int:
    """The minimum interval to declare so that the daemon looks every `interval_s` seconds
    (rounded up to its loop), not every `interval_s` plus one loop."""
    return max(1, int(interval_s) - DAEMON_LOOP_MARGIN_S)


def build_sensor(settings: Settings, jobs: list) -> dg.SensorDefinition:
    """The raw-folder sensor; `jobs` are the three jobs it launches (`assets.jobs.build_jobs`)."""
    @dg.sensor(
        name="raw_folder_sensor",
        jobs=jobs,
        minimum_interval_seconds=declared_interval(settings.sensor_interval_s),
        default_status=dg.DefaultSensorStatus.RUNNING if settings.sensor_running else dg.DefaultSensorStatus.STOPPED,
        description="Watches the raw folder: new and changed files are processed in batches, then published.",
    )
    def raw_folder_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings) -> dg.SensorResult:
        return evaluate_folder(context, settings)

    return raw_folder_sensor


raw_folder_sensor = build_sensor(Settings(), [ingest_job, publish_job, process_and_publish_job])


@dg.schedule(
    name="daily_rescan",
    cron_schedule="0 3 * * *",
    job_name=PROCESS_AND_PUBLISH_JOB,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Safety net: once a day, processes and publishes any file of the raw folder that is not "
                "accepted yet; with none, publishes again (the published tables' freshness check sees a "
                "stopped daemon).",
)
def daily_rescan(context: dg.ScheduleEvaluationContext, settings: PipelineSettings):
    from assets.stages import PUBLISH_KEYS

    plan, _scan = files.plan(settings.raw_path, known_fingerprints(settings), settle_seconds=settings.settle_seconds)
    todo = [files.partition_key(rel) for rel in plan.to_process]
    wave = "rescan-" + new_wave()
    if not todo:
        return dg.RunRequest(run_key=f"{wave}-publish", job_name=PROCESS_AND_PUBLISH_JOB, asset_selection=PUBLISH_KEYS,
                             tags={WAVE_TAG: wave, ORIGIN_TAG: "schedule"})
    chunks = files.batches(todo, settings.sensor_batch_size)
    batches = make_batches(settings.state, wave, chunks)
    context.instance.add_dynamic_partitions(file_batches.name, batches)
    warm_processes(settings, context.log)
    return [batch_run_request(b, len(c), wave, PROCESS_AND_PUBLISH_JOB, origin="schedule") for b, c in zip(batches, chunks)]
