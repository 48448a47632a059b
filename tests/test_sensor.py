"""The raw-folder sensor against a real temporary Dagster instance: evaluate it,
execute the runs it requests, and check the published tables."""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.dataset as ds
import pytest

from assets import stages
from assets.definitions import all_asset_checks
from assets.jobs import ingest_job, process_and_publish_job, publish_job
from assets.partitions import BATCH_TAG
from assets.resources import ParquetFrameIOManager, PipelineSettings, Workers
from assets.runner import QUIET
from assets.sensors import raw_folder_sensor
from tests.contract_rules import contract_problems
from pipeline.settings import DEFAULT_SPACY_MODEL

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = sorted((PROJECT / "data" / "raw").glob("*.txt"))
pytestmark = pytest.mark.slow


class Harness:
    """A temporary instance, raw folder and warehouse, and a sensor to tick."""

    def __init__(self, tmp_path: Path, instance: dg.DagsterInstance, **settings):
        self.raw = tmp_path / "raw"
        self.raw.mkdir()
        self.wh = tmp_path / "wh"
        self.instance = instance
        settings.setdefault("warm_servers", False)  # one test below keeps processes warm; the others need none
        self.settings = PipelineSettings(raw_dir=str(self.raw), warehouse_dir=str(self.wh),
                                         spacy_model=DEFAULT_SPACY_MODEL, **settings)
        self.defs = dg.Definitions(
            assets=stages.STAGE_ASSETS, asset_checks=all_asset_checks(), jobs=[ingest_job, publish_job, process_and_publish_job],
            sensors=[raw_folder_sensor],
            resources={"settings": self.settings, "workers": Workers.of(self.settings),
                       "io_manager": ParquetFrameIOManager(base_dir=str(self.wh / ".staging"), warehouse_dir=str(self.wh))},
            executor=dg.in_process_executor,
        )
        self.cursor = None
        self.runs: list[dg.ExecuteInProcessResult] = []

    def tick(self) -> dg.SensorResult:
        with dg.build_sensor_context(instance=self.instance, cursor=self.cursor,
                                     resources={"settings": self.settings}, definitions=self.defs) as ctx:
            result = raw_folder_sensor(ctx)
        # the daemon refuses a request for a job the sensor did not declare
        assert {r.job_name for r in result.run_requests} <= {j.name for j in raw_folder_sensor.jobs}
        self.cursor = result.cursor
        for req in result.dynamic_partitions_requests or []:
            if isinstance(req, dg.AddDynamicPartitionsRequest):
                self.instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
            else:
                for key in req.partition_keys:
                    self.instance.delete_dynamic_partition(req.partitions_def_name, key)
        return result

    def execute(self, result: dg.SensorResult) -> list[dg.ExecuteInProcessResult]:
        out = []
        for rr in result.run_requests:
            job = self.defs.resolve_job_def(rr.job_name)
            out.append(job.execute_in_process(instance=self.instance, tags=rr.tags, run_config=QUIET,
                                              partition_key=rr.partition_key, asset_selection=rr.asset_selection,
                                              raise_on_error=False))
        self.runs += out
        return out

    def settle(self, max_ticks: int = 6) -> None:
        """Tick and execute until the sensor has nothing more to do."""
        for _ in range(max_ticks):
            result = self.tick()
            if not result.run_requests:
                return
            self.execute(result)
        raise AssertionError("sensor did not settle")

    def files_of(self, run_request_or_run) -> list[str]:
        return self.settings.state.files_of([run_request_or_run.tags[BATCH_TAG]])

    def table(self, name: str):
        return ds.dataset(str(self.wh / name), format="parquet").to_table().to_pandas()


@pytest.fixture()
def harness(tmp_path):
    with dg.instance_for_test() as instance:
        yield Harness(tmp_path, instance, sensor_batch_size=2, settle_seconds=0)


def _old(path: Path) -> None:
    past = time.time() - 60
    os.utime(path, (past, past))


def test_new_files_are_batched_processed_and_published(harness):
    for seed in SEEDS:
        shutil.copy(seed, harness.raw / seed.name)
    first = harness.tick()
    assert len(first.run_requests) == math.ceil(len(SEEDS) / 2)
    assert all(r.job_name == "ingest_job" for r in first.run_requests)
    added = [k for req in first.dynamic_partitions_requests for k in req.partition_keys]
    assert added == [r.partition_key for r in first.run_requests]  # one partition per batch, not per file
    assert sorted(k for r in first.run_requests for k in harness.files_of(r)) == sorted(s.name for s in SEEDS)
    assert all(r.success for r in harness.execute(first))
    second = harness.tick()  # the wave is finished: one publish run
    assert [r.job_name for r in second.run_requests] == ["publish_job"]
    assert harness.execute(second)[0].success
    assert not harness.tick().run_requests  # nothing left to do
    docs = harness.table("documents")
    assert sorted(docs["source_path"]) == sorted(s.name for s in SEEDS)
    assert len(harness.table("claims")) > 20


def test_partial_downloads_and_changing_files_wait(tmp_path):
    with dg.instance_for_test() as instance:
        h = Harness(tmp_path, instance, sensor_batch_size=10, settle_seconds=30)
        (h.raw / "a.txt.part").write_text("half a file")
        (h.raw / "b.tmp").write_text("temporary")
        (h.raw / ".hidden.txt").write_text("hidden")
        (h.raw / "growing.txt").write_text("Officials said 10 soldiers arrived.")
        assert not h.tick().run_requests  # fresh mtime, never seen before: still being written
        with open(h.raw / "growing.txt", "a") as fh:
            fh.write(" More text arrives.")
        assert not h.tick().run_requests  # size changed since the last look
        result = h.tick()  # unchanged since the last look: ready
        assert len(result.run_requests) == 1
        assert h.files_of(result.run_requests[0]) == ["growing.txt"]
        assert result.run_requests[0].job_name == "process_and_publish_job"  # one batch: one run does it all


def test_changed_file_replaces_its_rows_and_unchanged_files_are_not_reprocessed(harness):
    a, b = harness.raw / "a.txt", harness.raw / "b.txt"
    a.write_text("Russia sent up to 9,000 soldiers to Belarus, the ministry said on Monday.\n")
    b.write_text("The army of Belarus has about 45,000 troops, officials said in Minsk.\n")
    harness.settle()
    before = harness.table("documents").set_index("source_path")
    n_runs = len(harness.runs)
    os.utime(b, None)  # touched, same bytes: not reprocessed
    a.write_text("Russia sent more than 10,000 soldiers to Belarus, the ministry said on Tuesday.\n")
    harness.settle()
    new_runs = harness.runs[n_runs:]
    assert len(new_runs) == 1  # one changed file: one run processes and publishes it
    assert harness.files_of(new_runs[0].dagster_run) == ["a.txt"]
    after = harness.table("documents").set_index("source_path")
    assert after.loc["a.txt", "doc_id"] != before.loc["a.txt", "doc_id"]
    assert after.loc["b.txt", "doc_id"] == before.loc["b.txt", "doc_id"]
    assert after.loc["b.txt", "ingested_at"] == before.loc["b.txt", "ingested_at"]
    texts = " ".join(harness.table("claims")["text"])
    assert "10,000" in texts and "9,000" not in texts  # the old version's rows are gone


def test_deleted_file_rows_are_kept_by_default(harness):
    (harness.raw / "a.txt").write_text("Russia sent up to 9,000 soldiers to Belarus, the ministry said on Monday.\n")
    (harness.raw / "b.txt").write_text("The army of Belarus has about 45,000 troops, officials said in Minsk.\n")
    harness.settle()
    (harness.raw / "a.txt").unlink()
    harness.settle()
    assert sorted(harness.table("documents")["source_path"]) == ["a.txt", "b.txt"]


def test_deleted_file_rows_are_dropped_when_configured(tmp_path):
    with dg.instance_for_test() as instance:
        h = Harness(tmp_path, instance, sensor_batch_size=5, settle_seconds=0, drop_deleted=True)
        (h.raw / "a.txt").write_text("Russia sent up to 9,000 soldiers to Belarus, the ministry said on Monday.\n")
        (h.raw / "b.txt").write_text("The army of Belarus has about 45,000 troops, officials said in Minsk.\n")
        h.settle()
        (h.raw / "a.txt").unlink()
        h.settle()
        assert sorted(h.table("documents")["source_path"]) == ["b.txt"]
        assert "a.txt" not in h.settings.state.accepted()


def test_bad_file_fails_only_itself(harness):
    (harness.raw / "good.txt").write_text("Officials said on Monday that 500 soldiers arrived in Minsk.\n")
    (harness.raw / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    (harness.raw / "empty.txt").write_bytes(b"")
    harness.settle()
    docs = harness.table("documents").set_index("source_path")
    assert docs.loc["good.txt", "status"] == "ok"
    assert docs.loc["image.txt", "status"] == "rejected" and docs.loc["empty.txt", "status"] == "rejected"
    assert all(r.success for r in harness.runs)


def test_sensor_cursor_is_json_without_clock(harness):
    (harness.raw / "a.txt").write_text("Officials said on Monday that 500 soldiers arrived in Minsk.\n")
    harness.tick()
    cursor = json.loads(harness.cursor)
    assert set(cursor) >= {"scan", "in_flight", "waves"}
    assert "a.txt" in cursor["in_flight"]
    assert not harness.instance.get_runs()  # ticking launches nothing: the daemon (or this test) runs requests
    again = harness.tick()  # the file is in flight: not requested twice
    assert not again.run_requests


def test_daily_rescan_schedules_files_that_were_never_accepted(harness):
    from assets.sensors import ORIGIN_TAG, daily_rescan

    (harness.raw / "a.txt").write_text("Russia sent up to 9,000 soldiers to Belarus, the ministry said on Monday.\n")
    (harness.raw / "b.txt").write_text("The army of Belarus has about 45,000 troops, officials said in Minsk.\n")
    (harness.raw / "c.txt").write_text("Officials said on Monday that 500 soldiers arrived in Minsk.\n")
    with dg.build_schedule_context(instance=harness.instance, resources={"settings": harness.settings}) as ctx:
        requests = list(daily_rescan(ctx))
    assert len(requests) == 2  # 3 files, batch size 2
    assert all(r.tags[ORIGIN_TAG] == "schedule" for r in requests)
    batches = harness.instance.get_dynamic_partitions("file_batches")
    assert sorted(batches) == sorted(r.partition_key for r in requests)
    assert sorted(harness.settings.state.files_of(batches)) == ["a.txt", "b.txt", "c.txt"]
    harness.execute(dg.SensorResult(run_requests=requests))
    harness.settle()  # the sensor finishes the schedule's wave: it publishes
    assert sorted(harness.table("documents")["source_path"]) == ["a.txt", "b.txt", "c.txt"]
    # nothing left to process: the schedule publishes again, so the tables' freshness shows the daemon is alive
    before = json.loads((harness.wh / "_manifest.json").read_text())
    with dg.build_schedule_context(instance=harness.instance, resources={"settings": harness.settings}) as ctx:
        again = daily_rescan(ctx)
    assert isinstance(again, dg.RunRequest) and again.partition_key is None
    assert {k.path[0] for k in again.asset_selection} >= {"corpus", "warehouse"}
    (run,) = harness.execute(dg.SensorResult(run_requests=[again]))
    assert run.success
    after = json.loads((harness.wh / "_manifest.json").read_text())
    rows = {name: t["rows"] for name, t in after["tables"].items()}
    assert after["snapshot"] != before["snapshot"] and rows == {name: t["rows"] for name, t in before["tables"].items()}


def test_the_sensor_keeps_gx_and_the_nlp_workers_warm_for_its_runs(tmp_path):
    """A wave's runs validate in the GX process the sensor started and run their NLP on the
    warm NLP servers it started (not processes of their own), and the next wave's run finds
    the same processes; the tables are those of runs without them."""
    import signal

    from pipeline import distributed, gx_process, warm

    if not gx_process.enabled() or distributed.local_processes() < 2:
        pytest.skip("one CPU: no GX process, no NLP workers")
    with dg.instance_for_test() as instance:
        h = Harness(tmp_path, instance, settle_seconds=0, warm_servers=True)
        pids = []
        try:
            runtime = h.settings.runtime_dir
            servers = [gx_process.SERVER_FILE] + [distributed.WARM_SERVER_NAME.format(i) + ".json"
                                                  for i in range(distributed.local_processes())]
            idle = h.tick()  # nothing to do yet, and the servers start: warm before the first files arrive
            assert not idle.run_requests
            pids = [json.loads((runtime / name).read_text())["pid"] for name in servers]
            assert all(warm.pid_alive(pid) for pid in pids)
            shutil.copy(SEEDS[0], h.raw / SEEDS[0].name)
            first = h.tick()
            assert [json.loads((runtime / name).read_text())["pid"] for name in servers] == pids
            assert [r.success for r in h.execute(first)] == [True]
            shutil.copy(SEEDS[1], h.raw / SEEDS[1].name)
            second = h.tick()
            assert [json.loads((runtime / name).read_text())["pid"] for name in servers] == pids
            assert [r.success for r in h.execute(second)] == [True]
            nlp = ", ".join(map(str, pids[1:]))
            for run in h.runs:
                said = [e.user_message for e in instance.all_logs(run.run_id) if "GX process" in (e.user_message or "")]
                assert said == [f"suites validate in the warm GX process (pid {pids[0]}); "
                                f"NLP runs on the warm workers (pids {nlp})"], said
            assert sorted(h.table("documents")["source_path"]) == sorted(s.name for s in SEEDS[:2])
            warm_claims = h.table("claims")
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGTERM)
    (tmp_path / "cold").mkdir()
    with dg.instance_for_test() as instance:  # the same two waves without warm servers
        cold = Harness(tmp_path / "cold", instance, settle_seconds=0)
        for seed in SEEDS[:2]:
            shutil.copy(seed, cold.raw / seed.name)
            assert [r.success for r in cold.execute(cold.tick())] == [True]
        cold_claims = cold.table("claims")
    assert len(warm_claims) > 0
    key = ["claim_id"]
    pd.testing.assert_frame_equal(warm_claims.sort_values(key).reset_index(drop=True),
                                  cold_claims.sort_values(key).reset_index(drop=True))

def test_a_file_the_corpus_check_fails_with_is_found_and_quarantined_on_the_sensor_path(tmp_path, monkeypatch):
    """As with `pipeline run`: a wave whose publish fails its corpus check because of one
    file's rows (rows that only go wrong beside the rest of a corpus) gets one more publish
    run, which finds that file by bisection, quarantines it and publishes the others; the
    file stays a rejected row until it changes, and the next wave publishes as usual."""
    from tests.hostile_support import break_corpus_rows_mentioning

    break_corpus_rows_mentioning(monkeypatch, "Lukashenko")
    with dg.instance_for_test() as instance:
        h = Harness(tmp_path, instance, settle_seconds=0, nlp_processes=1)
        for n, town in enumerate(["Brest", "Gomel", "Vitebsk", "Grodno"]):
            (h.raw / f"good{n}.txt").write_text(f"The mayor said on Tuesday that {40 + n} new buses were bought for {town}.\n")
        (h.raw / "bad.txt").write_text("Lukashenko said on Monday that 500 soldiers had arrived in Minsk.\n")
        h.settle()
        jobs = [(r.dagster_run.job_name, r.success, r.dagster_run.tags.get("pipeline/isolate_batches")) for r in h.runs]
        assert [j[:2] for j in jobs] == [("process_and_publish_job", False), ("publish_job", True)], jobs
        assert jobs[1][2]  # the second run looked for the file among the wave's batch
        docs = h.table("documents").set_index("source_path")
        assert docs.loc["bad.txt", "status"] == "rejected"
        assert docs.loc["bad.txt", "reason"].startswith("quarantined: the corpus check fails with it (")
        assert (docs.drop(index="bad.txt")["status"] == "ok").all()
        assert contract_problems(h.wh) == []
        assert not any("held_out" in e for e in h.settings.state.accepted().values())  # every probe's hold released
        (h.raw / "good9.txt").write_text("The mayor said on Friday that 12 new trams were bought for Pinsk.\n")
        h.settle()
        assert h.runs[-1].success and len(h.runs) == 3
        assert h.table("documents").set_index("source_path").loc["bad.txt", "status"] == "rejected"
