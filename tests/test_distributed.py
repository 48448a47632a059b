"""The heavy per-document NLP on a Dask cluster (pipeline.distributed): same tables as a
local run. The slow test starts a real local cluster of two worker processes."""
from __future__ import annotations

import shutil
import warnings

import dagster as dg
import pandas as pd
import pyarrow.dataset as ds
import pytest

from assets import runtime
from assets.runtime import HANDOVER
from pipeline import distributed, warm
from pipeline.schemas import CONTRACT_TABLES

warnings.filterwarnings("ignore", category=dg.PreviewWarning)



@pytest.fixture()
def nlp_backend():
    """Set this process's NLP backend through its API (`distributed.configure`), merged with
    what the test set before; the default (local workers, one per CPU) comes back after."""
    chosen: dict = {"scheduler": None, "processes": None}

    def use(**values):
        chosen.update(values)
        distributed.configure(**chosen)

    yield use
    distributed.configure(None, None)


def test_chunks_never_split_a_document():
    doc_ids = ["a"] * 5 + ["b"] * 1 + ["c"] * 7 + ["d"] * 2
    for n in (1, 2, 3, 4, 10, 100):
        ranges = distributed.chunk_by_document(doc_ids, n)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(doc_ids)
        assert all(a < b for a, b in ranges)
        assert all(prev[1] == nxt[0] for prev, nxt in zip(ranges, ranges[1:]))
        for a, _b in ranges[1:]:
            assert doc_ids[a] != doc_ids[a - 1]
        assert len(ranges) <= min(n, 4)
    assert distributed.chunk_by_document([], 4) == []


def test_small_batches_stay_in_process(monkeypatch, nlp_backend):
    nlp_backend(processes=4)
    assert distributed.plan(10, distributed.MIN_POOL_SENTENCES)[0] == "local"
    assert distributed.plan(0, distributed.MIN_POOL_SENTENCES)[0] == "local"
    nlp_backend(processes=1)
    assert distributed.plan(10**6, distributed.MIN_POOL_SENTENCES)[0] == "local"
    nlp_backend(scheduler="tcp://127.0.0.1:1")
    assert distributed.plan(1, distributed.MIN_POOL_SENTENCES)[0] == "dask"
    assert distributed.plan(0, distributed.MIN_POOL_SENTENCES)[0] == "local"


def _published(wh) -> dict[str, pd.DataFrame]:
    out = {}
    for name in CONTRACT_TABLES:
        df = ds.dataset(str(wh / name), format="parquet").to_table().to_pandas()
        if name == "documents":
            df = df.drop(columns=["ingested_at"])
        out[name] = df.reset_index(drop=True)
    return out


def _run(raw, wh, **settings):
    """`pipeline run`'s path; `settings` (e.g. dask_scheduler) reach the NLP backend through
    the settings resource, as in a real run."""
    from assets.runner import run_incremental
    from tests.test_dagster import _defs, _settings

    with dg.instance_for_test() as instance:
        outcome = run_incremental(_defs(raw, wh, **settings), instance, _settings(raw, wh, **settings))
    assert outcome.success, outcome.failures
    return _published(wh)


def _models_loaded() -> int:
    from pipeline import nlp

    return nlp.load.cache_info().currsize + nlp.load_sentencizer.cache_info().currsize


def _minhash_done() -> int:
    """MinHash permutations made in this worker: > 0 once it has signed texts."""
    import sys

    neardup = sys.modules.get("pipeline.neardup")
    return neardup._permutations.cache_info().currsize if neardup else 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dask_cluster_publishes_the_same_tables_as_a_local_run(tmp_path, seed_raw_dir, monkeypatch):
    from distributed import Client, LocalCluster

    local = _run(seed_raw_dir, tmp_path / "wh_local", nlp_processes=1)  # the reference: everything in this process

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        try:
            remote = _run(seed_raw_dir, tmp_path / "wh_dask", dask_scheduler=cluster.scheduler_address)
            with Client(cluster.scheduler_address, set_as_default=False) as client:
                loaded = client.run(_models_loaded)
                signed = client.run(_minhash_done)
        finally:
            distributed.shutdown()
    assert len(loaded) == 2
    assert sum(loaded.values()) > 0, "no worker loaded a spaCy pipeline: the work did not run on the cluster"
    assert sum(signed.values()) > 0, "no worker computed MinHash signatures"
    for name in CONTRACT_TABLES:
        assert len(local[name]) == len(remote[name]), name
        pd.testing.assert_frame_equal(local[name], remote[name], check_like=False, obj=name)
    assert len(local["claims"]) > 0


def test_a_large_batch_starts_the_pool_early_and_the_splitter_uses_it(monkeypatch, nlp_backend):
    """`prestart` loads the model in local workers while the batch is read; a later
    sentence split of a mere 64 paragraphs then runs there, with the same spans."""
    import os

    from pipeline import nlp
    from pipeline.sentences import split_paragraphs_into_sentences

    nlp_backend(processes=2)
    distributed.shutdown()
    model = nlp.DEFAULT_SPACY_MODEL
    nlp.load(model)  # this process has the model: a small batch stays here
    try:
        assert not distributed.prestart(model, distributed.PRESTART_MIN_FILES - 1)  # too small: nothing
        assert not distributed.pool_status()["running"]
        assert distributed.plan(64, distributed.MIN_POOL_PARAGRAPHS, distributed.MIN_WARM_POOL_ITEMS)[0] == "local"
        assert distributed.prestart(model, distributed.PRESTART_MIN_FILES)
        assert distributed.pool_status()["running"] and model in distributed.pool_status()["warming"]
        assert distributed.plan(64, distributed.MIN_POOL_PARAGRAPHS, distributed.MIN_WARM_POOL_ITEMS)[0] == "pool"

        paragraphs = [f"Paragraph {i} says one thing. \"It is true,\" he said.\nA line of its own" for i in range(64)]
        doc_ids = [f"d{i // 4}" for i in range(64)]
        spans = distributed.split_sentences(model, nlp.Deferred(model, sentencizer=True), paragraphs, doc_ids)
        assert model in distributed.pool_status()["models"] and not distributed.pool_status()["warming"]  # loaded, then used
        pids = set(distributed.on_pool(_pid, range(4)))
        assert os.getpid() not in pids
        assert spans == split_paragraphs_into_sentences(nlp.load_sentencizer(model), paragraphs)
    finally:
        distributed.shutdown()
    assert distributed.pool_status() == {"running": False, "workers": 0, "models": set(), "warming": set()}


def test_a_small_batch_in_a_process_without_the_model_gets_one_worker(monkeypatch, nlp_backend):
    """A process that has not loaded spaCy (a fresh `pipeline run` of a few articles)
    starts one worker when the batch begins; the batch's sentences are split there,
    with the same spans, and nothing is loaded here. A large batch later replaces the
    one-worker pool by a full one."""
    import os

    from pipeline import nlp
    from pipeline.sentences import split_paragraphs_into_sentences

    nlp_backend(processes=2)
    monkeypatch.setattr(nlp, "_loaded", set())  # as in a fresh process
    distributed.shutdown()
    model = nlp.DEFAULT_SPACY_MODEL
    paragraphs = ["The minister said that 30 schools would close. \"We have no choice,\" he said.", "A headline",
                  "Sales rose 5% in May."]
    doc_ids = ["d1", "d1", "d2"]
    try:
        assert distributed.prestart(model, 3)
        assert distributed.pool_status()["workers"] == distributed.SMALL_BATCH_WORKERS == 1
        assert distributed.plan(3, distributed.MIN_POOL_PARAGRAPHS, distributed.MIN_WARM_POOL_ITEMS,
                                loaded_here=False) == ("pool", 1)
        assert distributed.plan(3, distributed.MIN_POOL_PARAGRAPHS, distributed.MIN_WARM_POOL_ITEMS,
                                loaded_here=True)[0] == "local"
        spans = distributed.split_sentences(model, nlp.Deferred(model, sentencizer=True), paragraphs, doc_ids)
        assert not nlp.is_loaded(model, sentencizer=True)  # split in the worker, not here
        pids = set(distributed.on_pool(_pid, range(4)))
        assert len(pids) == 1 and os.getpid() not in pids
        assert distributed.prestart(model, distributed.PRESTART_MIN_FILES)
        assert distributed.pool_status()["workers"] == 2
    finally:
        distributed.shutdown()
    assert not distributed.pool_status()["running"] and distributed.pool_status()["workers"] == 0
    assert spans == split_paragraphs_into_sentences(nlp.load_sentencizer(model), paragraphs)


def _pid(_):
    import os

    return os.getpid()


def test_nlp_started_ahead_gives_the_same_tables_and_only_for_its_own_input(monkeypatch, seed_frames, nlp_backend):
    """The sentence split and the claims handed to the workers before their step (while
    the previous suite runs) give the tables computed in the step; a result started on
    other input is not used."""
    from pipeline import build, nlp

    nlp_backend(processes=2)
    monkeypatch.setattr(nlp, "_loaded", set())  # as in a fresh `pipeline run`: the NLP goes to the worker
    distributed.shutdown()
    model = nlp.DEFAULT_SPACY_MODEL
    paragraphs = seed_frames["paragraphs"]
    try:
        assert distributed.prestart(model, 5)
        started = build.start_sentences(paragraphs, nlp.Deferred(model, sentencizer=True))
        assert started is not None  # handed over, not run here
        sentences = build.sentences_table(paragraphs, nlp.Deferred(model, sentencizer=True), started=started)
        started_claims = build.start_claims(sentences, paragraphs, nlp.Deferred(model))
        assert started_claims is not None
        ahead = build.claims_tables(sentences, paragraphs, nlp.Deferred(model), started=started_claims)
        # started on other input (one paragraph less): recomputed, not taken
        other = build.start_sentences(paragraphs.iloc[1:], nlp.Deferred(model, sentencizer=True))
        again = build.sentences_table(paragraphs, nlp.Deferred(model, sentencizer=True), started=other)
    finally:
        distributed.shutdown()
    assert not nlp.is_loaded(model)  # every NLP step ran in the worker
    reference = seed_frames["sentences"]
    assert sentences.equals(reference) and again.equals(reference)
    claims, quantities, entities = ahead
    expected = seed_frames["claims"].drop(columns=["cluster_id"])
    pd.testing.assert_frame_equal(claims.drop(columns=["cluster_id"]), expected)
    pd.testing.assert_frame_equal(quantities, seed_frames["claim_quantities"])
    pd.testing.assert_frame_equal(entities, seed_frames["claim_entities"])


_AHEAD_FLAGS = {"documents": "read_while_the_previous_batch_ran", "paragraphs": "made_while_the_previous_batch_ran",
                "sentences": "made_while_the_previous_batch_ran"}


def _read_ahead(instance, run_ids, asset: str) -> list[bool]:
    """Per run: whether its `asset` step took what the run before made ahead."""
    out = []
    for run_id in run_ids:
        flags = {
            e.asset_materialization.metadata[_AHEAD_FLAGS[asset]].value
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
            if e.asset_materialization.asset_key == dg.AssetKey(asset)
        }
        if flags:
            out.append(flags == {True})
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_next_batch_read_ahead_publishes_the_same_tables(tmp_path, seed_raw_dir, monkeypatch, nlp_backend):
    """`pipeline run` over several batches: each run reads, cleans and splits the next
    batch and starts its claims while its own NLP runs, and MinHashes its own texts for
    the corpus stage; the later runs and the corpus stage take that work, and the
    published tables are those of runs that make everything in its own step."""
    from assets import stages
    from assets.runner import run_incremental
    from pipeline import nlp
    from tests.test_dagster import _defs, _settings

    nlp_backend(processes=2)
    monkeypatch.setattr(nlp, "_loaded", set())  # as in a fresh `pipeline run`: the NLP goes to the worker

    def run(name):
        raw, wh = tmp_path / name / "raw", tmp_path / name / "wh"
        raw.parent.mkdir()
        shutil.copytree(seed_raw_dir, raw)
        distributed.shutdown()
        try:
            with dg.instance_for_test() as instance:
                outcome = run_incremental(_defs(raw, wh, batch_size=2, nlp_processes=2), instance,
                                          _settings(raw, wh, batch_size=2, nlp_processes=2))
                taken = {a: _read_ahead(instance, outcome.run_ids, a) for a in _AHEAD_FLAGS}
                (corpus,) = [e.asset_materialization.metadata["minhash_signatures_made_ahead"].value
                             for e in instance.all_logs(outcome.run_ids[-1],
                                                        of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
                             if e.asset_materialization.asset_key == dg.AssetKey("corpus")]
                taken["signed"] = corpus
        finally:
            distributed.shutdown()
        assert outcome.success, outcome.failures
        return _published(wh), taken

    ahead, taken = run("ahead")
    # 5 files in batches of 2, 2 and 1; the sentences (split on the worker) and the started claims too
    signed = taken.pop("signed")
    assert taken == {a: [False, True, True] for a in _AHEAD_FLAGS}
    assert signed > 20  # the documents and kept paragraphs MinHashed while the claims NLP ran
    assert runtime.NEXT_BATCHES.holding() == 0  # nothing held after the run
    assert HANDOVER.holding("read_ahead") == 0
    with runtime.look_ahead(False):
        each, taken_each = run("each")
    assert taken_each.pop("signed") == 0
    assert taken_each == {a: [False, False, False] for a in _AHEAD_FLAGS}
    for name in CONTRACT_TABLES:
        pd.testing.assert_frame_equal(ahead[name], each[name], check_like=True, obj=name)
    assert len(ahead["claims"]) > 0


def test_a_file_changed_after_it_was_read_ahead_is_read_again(tmp_path):
    """The read-ahead documents are used only if every file still has the size and
    modification time it was read with."""
    import os

    from pipeline import build
    from pipeline.files import partition_key

    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("a.txt", "b.txt"):
        (raw / name).write_text(f"Headline {name}\n\nThe council said 40 homes were built in {name}.\n")
    keys = [partition_key("a.txt"), partition_key("b.txt")]
    docs = build.documents_for_files(raw, ["a.txt", "b.txt"])
    assert build.files_unchanged(raw, docs, keys)
    assert not build.files_unchanged(raw, docs, keys + [partition_key("c.txt")])  # not read ahead
    st = (raw / "b.txt").stat()
    os.utime(raw / "b.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert not build.files_unchanged(raw, docs, keys)
    os.utime(raw / "b.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not build.files_unchanged(raw, docs, keys)  # its inode changed since: it may have been edited
    docs = build.documents_for_files(raw, ["a.txt", "b.txt"])
    assert build.files_unchanged(raw, docs, keys)
    # an edit that keeps the size and the modification time (`cp -p`, `rsync -t`)
    st = (raw / "a.txt").stat()
    (raw / "a.txt").write_text((raw / "a.txt").read_text().replace("council", "Council"))
    os.utime(raw / "a.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (raw / "a.txt").stat().st_size == st.st_size
    assert not build.files_unchanged(raw, docs, keys)
    (raw / "a.txt").write_text("Something else entirely, and longer than it was before.\n")
    assert not build.files_unchanged(raw, docs, keys)
    (raw / "a.txt").unlink()
    assert not build.files_unchanged(raw, docs, keys)


def _gone(pid: int) -> bool:
    return not warm.pid_alive(pid)  # reaps a child of this process that exited


def test_warm_nlp_servers_give_the_same_tables_and_a_lost_one_falls_back(monkeypatch, seed_frames, nlp_backend, tmp_path):
    """The sensor's warm NLP servers (one per worker, spaCy loaded) serve a run's sentence
    split and claims: the same tables as computed here, nothing loaded in the run's
    process; leaving does not stop them, and the next run finds the same ones. A server
    killed in the middle of a run: the run's work is done again on workers of its own."""
    import os
    import signal
    import time

    from pipeline import build, nlp

    nlp_backend(processes=2)
    monkeypatch.setattr(nlp, "_loaded", set())  # a fresh run process
    distributed.shutdown()
    model = nlp.DEFAULT_SPACY_MODEL
    paragraphs = seed_frames["paragraphs"]
    pids = distributed.ensure_warm(tmp_path, model)
    try:
        assert len(pids) == 2 and os.getpid() not in pids
        assert distributed.ensure_warm(tmp_path, model) == pids  # the next wave: the same servers
        assert distributed.attach_warm(tmp_path, "another_model") == []  # other model: not theirs
        assert distributed.attach_warm(tmp_path, model) == pids
        assert distributed.plan(3, distributed.MIN_POOL_SENTENCES, distributed.MIN_WARM_POOL_ITEMS,
                                loaded_here=False) == ("pool", 2)
        assert set(distributed.on_pool(_pid, range(4))) == set(pids)
        sentences = build.sentences_table(paragraphs, nlp.Deferred(model, sentencizer=True))
        claims, quantities, entities = build.claims_tables(sentences, paragraphs, nlp.Deferred(model))
        distributed.shutdown()  # the run ends: it leaves, the servers go on
        assert distributed.attached_warm() == [] and not any(_gone(p) for p in pids)

        assert distributed.attach_warm(tmp_path, model) == pids  # the next run
        started = build.start_claims(sentences, paragraphs, nlp.Deferred(model))
        assert started is not None
        os.kill(pids[0], signal.SIGKILL)  # lost in the middle of the run
        again, _q, _e = build.claims_tables(sentences, paragraphs, nlp.Deferred(model), started=started)
        assert distributed.attached_warm() == []  # detached: the rest ran on workers of the run's own
    finally:
        distributed.shutdown()
        for pid in pids:
            if not _gone(pid):
                os.kill(pid, signal.SIGTERM)
    assert not nlp.is_loaded(model) and not nlp.is_loaded(model, sentencizer=True)  # nothing loaded here
    assert sentences.equals(seed_frames["sentences"])
    expected = seed_frames["claims"].drop(columns=["cluster_id"])
    pd.testing.assert_frame_equal(claims.drop(columns=["cluster_id"]), expected)
    pd.testing.assert_frame_equal(again.drop(columns=["cluster_id"]), expected)
    pd.testing.assert_frame_equal(quantities, seed_frames["claim_quantities"])
    pd.testing.assert_frame_equal(entities, seed_frames["claim_entities"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(_gone(p) for p in pids):
        time.sleep(0.2)
    assert all(_gone(p) for p in pids)
    assert not (tmp_path / "nlp_server_1.json").exists()  # it cleaned up after itself (the killed one could not)
    assert distributed.attach_warm(tmp_path, model) == []  # a file naming a dead server is not followed
