"""Incremental runs in this process: what `pipeline run` does.

The same plan as the sensor (content hashes against the accepted registry), then the
batches of the ingest job, each a new `file_batches` partition, then one publish
run. A batch that fails is split in halves and each half retried, down to single
files, so one bad file fails only itself (and costs about 2 log2(batch) extra runs);
the run as a whole then reports failure, but every good file is published.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg

from assets.jobs import INGEST_JOB, PUBLISH_JOB
from assets.partitions import BATCH_TAG, ORIGIN_TAG, WAVE_TAG, file_batches, make_batches, new_wave
from assets.resources import PipelineSettings
from assets.sensors import dropped_keys, known_fingerprints
from assets.stages import CORPUS_FOLLOWS_TAG, NEXT_BATCH_TAG, drop_read_ahead, drop_signed_ahead
from pipeline import distributed, files
from pipeline.ingest import display_path
from pipeline.isolation import MAX_PROBES, culprits

MAX_CHANGED_ROUNDS = 2  # times a run reads again the files that changed while it read them
SETTLE_WAIT_MAX_S = 60.0  # a file still changing after this is left for the next run (reported)
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class Failure:
    where: str
    check: str | None
    lines: list[str]


@dataclass
class Outcome:
    plan: files.Plan
    batches: int = 0
    failures: list[Failure] = field(default_factory=list)
    published: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    healed: list[tuple[str, str]] = field(default_factory=list)  # files planned again: their stored state was damaged
    warnings: list[Failure] = field(default_factory=list)  # failed plausibility checks (nothing blocked)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # files that failed alone: rejected rows

    @property
    def success(self) -> bool:
        return self.published and not self.failures


def _failures(result: dg.ExecuteInProcessResult, where: str, warnings: list | None = None) -> list[Failure]:
    """The failed checks and steps of a run; failed checks of WARN severity (plausibility
    rules: they block nothing) go to `warnings` instead."""
    out = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        if evaluation.severity == dg.AssetCheckSeverity.WARN:
            if warnings is not None:
                meta = evaluation.metadata
                text = meta["warning_summary"].value if "warning_summary" in meta else "failed"
                warnings.append(Failure(where, evaluation.asset_check_key.to_user_string(), [text]))
            continue
        lines = []
        meta = evaluation.metadata
        for f in (meta["failures"].value if "failures" in meta else []):
            what = f"{f['expectation']}({f['column']})" if f.get("column") else f["expectation"]
            count = f.get("unexpected_count")
            detail = f"{count} unexpected rows" if count is not None else f"observed {f.get('observed')}"
            lines.append(f"{what}: {detail}; sample: {f.get('sample')}")
        out.append(Failure(where, evaluation.asset_check_key.to_user_string(), lines))
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            if error is not None and error.cls_name != "DagsterAssetCheckFailedError":
                out.append(Failure(where, None, [f"step {event.step_key} failed:", error.to_string().rstrip()]))
    return out


def _reason(found: list[Failure]) -> str:
    """One line on why a file failed alone: the failed check (or step) and its first detail."""
    if not found:
        return "its run failed"
    first = found[0]
    detail = next((line for line in first.lines if line.strip() and not line.startswith("step ")), "")
    head = f"failed check {first.check}" if first.check else "a step failed"
    return f"{head}: {detail.strip().splitlines()[-1] if detail.strip() else ''}".rstrip(": ")[:500]


def _quarantine_entry(key: str, found: list[Failure], plan: files.Plan) -> dict:
    from pipeline.ingest import format_of

    rel = files.relpath_of(key)
    fp = plan.fingerprints.get(rel)
    return {"relpath": rel, "fingerprint": fp.to_json() if fp is not None else None, "reason": _reason(found),
            "source_format": format_of(files.file_of(rel)) or "unknown"}


CORPUS_CHECK = "corpus:corpus_suite"
MAX_CORPUS_PROBES = MAX_PROBES  # corpus runs spent looking for the files a failing corpus check comes from


def _corpus_check_failed(found: list[Failure]) -> bool:
    return any(f.check == CORPUS_CHECK for f in found)


def _isolate_corpus_failure(defs: dg.Definitions, instance: dg.DagsterInstance, settings: PipelineSettings,
                            suspects: list[str], say) -> list[str]:
    """The files of this run without which the corpus check passes (`pipeline.isolation`).

    The files accepted before this run made a corpus that passed, so the failure comes with
    the new ones. Each probe assembles and validates the corpus (asset `corpus` and its
    check, nothing published) with some suspects held out. Returns [] when the corpus fails
    without any of them too (not their doing: the run fails as before), or when the probes
    run out."""
    import os

    corpus_only = [dg.AssetKey("corpus")]
    job = defs.resolve_job_def(PUBLISH_JOB)

    def passes(included: list[str]) -> bool:
        held = [k for k in suspects if k not in included]
        settings.state.hold_out(held, os.getpid())
        try:
            result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET,
                                            asset_selection=corpus_only)
        finally:
            settings.state.release(held)
        return not _corpus_check_failed(_failures(result, "corpus")) and result.success

    say(f"the corpus check failed: looking for the file(s) among the {len(suspects)} of this run")
    return culprits(suspects, passes, MAX_CORPUS_PROBES)


def _step_seconds(instance: dg.DagsterInstance, run_id: str, into: dict[str, float]) -> None:
    for stat in instance.get_run_step_stats(run_id):
        if stat.start_time and stat.end_time:
            into[stat.step_key] = into.get(stat.step_key, 0.0) + stat.end_time - stat.start_time


def run_incremental(defs: dg.Definitions, instance: dg.DagsterInstance, settings: PipelineSettings,
                    progress=None) -> Outcome:
    say = progress or (lambda _msg: None)
    healed: list[tuple[str, str]] = []
    known = known_fingerprints(settings, healed)
    plan, scan = files.plan(settings.raw_path, known, settle_seconds=settings.settle_seconds)
    waited = 0.0
    while plan.unstable and waited < SETTLE_WAIT_MAX_S:
        # a file written just now, or still being written: look again once it had time to settle
        say(f"{len(plan.unstable)} file(s) still being written: waiting {settings.settle_seconds:g} s")
        time.sleep(max(settings.settle_seconds, 0.1))
        waited += max(settings.settle_seconds, 0.1)
        plan, scan = files.plan(settings.raw_path, known, scan, settle_seconds=settings.settle_seconds)
    outcome = Outcome(plan, healed=healed)
    settings.state.refresh_fingerprints({files.partition_key(rel): plan.fingerprints[rel].to_json() for rel in plan.touched})
    keys = [files.partition_key(rel) for rel in plan.to_process]
    ingest = defs.resolve_job_def(INGEST_JOB)
    queue = files.batches(keys, settings.batch_size)
    wave = new_wave()
    made: dict[tuple[str, ...], str] = {}

    def batch_of(chunk: list[str]) -> str:
        """The batch partition of `chunk` (made, with its manifest, the first time)."""
        if tuple(chunk) not in made:
            (batch,) = make_batches(settings.state, wave, [chunk], start=len(made))
            instance.add_dynamic_partitions(file_batches.name, [batch])
            made[tuple(chunk)] = batch
        return made[tuple(chunk)]

    if queue:
        # the NLP workers start loading spaCy now, before Dagster creates the first run
        # (the documents asset asks again; a second call does nothing)
        documents = [sum(files.weight(files.relpath_of(k)) for k in chunk) for chunk in queue]  # feed units count their lines
        distributed.prestart(settings.spacy_model, documents[0])
        if sum(documents) < distributed.PRESTART_MIN_FILES:
            # a few files into a corpus: the corpus stage's first input, the documents, is read
            # while their run waits (a large batch's NLP pool needs the memory more; its run is
            # long anyway). Only the documents: the other stages' rows are read afterwards for
            # the files whose documents stay (`build.assemble_accepted`); reading all of them
            # ahead held every row of the corpus (the +1 run into 22,249 BBC copies: main
            # process 1,602 MB, against 1,103 MB in the publish run of the step before)
            distributed.prefetch(settings.state.accepted_batch_files(["documents"]))
            distributed.prefetch_indexes(settings.state.root)  # and the corpus indexes
    accepted_any = False
    failed_alone: dict[str, list[Failure]] = {}

    def process(queue: list[list[str]]) -> None:
        nonlocal accepted_any
        while queue:
            chunk = queue.pop(0)
            outcome.batches += 1
            say(f"batch {outcome.batches}: {len(chunk)} file(s)")
            batch = batch_of(chunk)
            tags = {BATCH_TAG: batch, WAVE_TAG: wave, ORIGIN_TAG: "cli", CORPUS_FOLLOWS_TAG: "true"}
            if queue:  # the run reads the next batch ahead while its NLP runs (`assets.stages`)
                tags[NEXT_BATCH_TAG] = batch_of(queue[0])
            result = ingest.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET, tags=tags,
                                               partition_key=batch)
            outcome.run_ids.append(result.run_id)
            _step_seconds(instance, result.run_id, outcome.stage_seconds)
            if result.success:
                accepted_any = True
                _failures(result, f"batch {outcome.batches}", outcome.warnings)
                continue
            if len(chunk) > 1:
                # bisect: a bad file costs about 2 log2(batch size) extra runs, not one run per file
                half = (len(chunk) + 1) // 2
                say(f"batch {outcome.batches} failed: retrying its {len(chunk)} files in two halves")
                queue[:0] = [chunk[:half], chunk[half:]]
                continue
            found = _failures(result, f"file {display_path(files.relpath_of(chunk[0]))}")
            failed_alone[chunk[0]] = found
            outcome.failures += found

    process(queue)
    deleted = set(plan.deleted)
    for _ in range(MAX_CHANGED_ROUNDS if keys else 0):
        # a file that changed while this run read it (a writer that paused longer than the
        # settle time): read it again now, so the publish below has its whole text. Only the
        # files this run read are looked at (a file that arrived or went meanwhile is the
        # next run's): their cost, not the folder's (22,250 files: 0.3-0.5 s a look)
        again = _look_again(settings, keys)
        deleted |= set(again.deleted)
        redo = [k for k in (files.partition_key(rel) for rel in again.to_process) if k not in failed_alone]
        if not redo:
            break
        say(f"{len(redo)} file(s) changed while this run read them: reading them again")
        plan.fingerprints.update(again.fingerprints)
        keys += [k for k in redo if k not in keys]
        process(files.batches(redo, settings.batch_size))
    plan.deleted = sorted(deleted)
    drop_read_ahead()
    if failed_alone and accepted_any:
        # files that fail on their own while others pass are bad input, not a broken pipeline:
        # each becomes a rejected documents row with the reason and is not retried until it
        # changes; the run succeeds. (When every file fails, nothing is quarantined: that is
        # the pipeline's failure, reported with exit status 1, and the next run tries again.)
        settings.state.quarantine_files({key: _quarantine_entry(key, found, plan) for key, found in failed_alone.items()})
        outcome.quarantined = [(files.relpath_of(k), _reason(f)) for k, f in failed_alone.items()]
        outcome.failures = [f for f in outcome.failures if not f.where.startswith("file ")]
    dropped = dropped_keys(settings, plan.deleted) if plan.deleted else []
    if dropped:
        settings.state.forget(dropped)
    if keys and not accepted_any and not dropped:
        distributed.drop_prefetched()
        drop_signed_ahead()
        return outcome  # every file failed: nothing new to publish, the published tables stay as they are
    # the corpus-level stages need no NLP: stop the local worker pool (a spaCy model in each
    # worker) before the corpus is assembled, so the two never occupy memory together
    distributed.shutdown()
    say("publishing")
    result = defs.resolve_job_def(PUBLISH_JOB).execute_in_process(
        instance=instance, raise_on_error=False, tags={WAVE_TAG: wave, ORIGIN_TAG: "cli"}, run_config=QUIET)
    distributed.drop_prefetched()  # what the corpus stage did not take (rows of files this batch replaced)
    drop_signed_ahead()
    outcome.run_ids.append(result.run_id)
    _step_seconds(instance, result.run_id, outcome.stage_seconds)
    corpus_failures = _failures(result, "corpus", outcome.warnings)
    if _corpus_check_failed(corpus_failures):
        accepted = settings.state.accepted_view()
        suspects = [k for k in keys if k not in failed_alone and k in accepted]
        bad = _isolate_corpus_failure(defs, instance, settings, suspects, say) if suspects else []
        if bad:
            reason = _reason(corpus_failures)
            settings.state.quarantine_files({k: {**_quarantine_entry(k, corpus_failures, plan), "keep_versions": True,
                                                 "reason": f"the corpus check fails with it ({reason})"}
                                             for k in bad})
            outcome.quarantined += [(files.relpath_of(k), f"the corpus check fails with it ({reason})") for k in bad]
            say(f"publishing without {len(bad)} file(s) the corpus check fails with")
            result = defs.resolve_job_def(PUBLISH_JOB).execute_in_process(instance=instance, raise_on_error=False, tags={WAVE_TAG: wave, ORIGIN_TAG: "cli"},
                                                                         run_config=QUIET)
            outcome.run_ids.append(result.run_id)
            corpus_failures = _failures(result, "corpus", outcome.warnings)
    outcome.failures += corpus_failures
    outcome.published = any(
        e.asset_key is not None and e.asset_key.path[0] == "warehouse" for e in result.get_asset_materialization_events()
    )
    return outcome


def _look_again(settings: PipelineSettings, keys: list[str]) -> files.Plan:
    """The plan of the files of `keys` alone, against the fingerprints their units were
    accepted with (every unit of a feed, not only the ones of `keys`): which of them changed
    or went since they were read."""
    read = {files.file_of(files.relpath_of(k)) for k in keys}
    known = {entry["relpath"]: files.Fingerprint.from_json(entry.get("fingerprint") or files.NEVER_READ)
             for entry in settings.state.accepted_view().values() if files.file_of(entry["relpath"]) in read}
    again, _scan = files.plan(settings.raw_path, known, settle_seconds=settings.settle_seconds, only=read)
    return again


def run_all(defs: dg.Definitions, instance: dg.DagsterInstance, progress=None) -> Outcome:
    settings = defs.resources["settings"]
    t0 = time.perf_counter()
    outcome = run_incremental(defs, instance, settings, progress)
    outcome.stage_seconds["total"] = time.perf_counter() - t0
    return outcome
