"""The state store: one file per run and stage, accepted versions per partition key."""
from __future__ import annotations

import json
import os
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import state as state_module
from pipeline.schemas import StoredSchemaError, state_schema
from pipeline.state import _key_dir_name

DEFAULTS = {pa.string(): "x", pa.int32(): 0, pa.int64(): 0, pa.float64(): 0.0, pa.bool_(): False}


def complete(stage: str, df: pd.DataFrame) -> pd.DataFrame:
    """The frame with every required column of the stage's schema (the tests care about doc_id)."""
    df = df.copy()
    for field in state_schema(stage):
        if field.name not in df.columns and not field.nullable:
            df[field.name] = pd.Series([DEFAULTS.get(field.type, pd.Timestamp("2024-01-01", tz="UTC"))] * len(df),
                                       dtype=object)
    return df


class StateStore(state_module.StateStore):
    """The real store; the made-up rows get the required columns they lack."""

    def write(self, stage, version, keys, df):
        return super().write(stage, version, keys, complete(stage, df))


def rows(*pairs: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"doc_id": [d for _k, d in pairs], "partition_key": [k for k, _d in pairs]})


def entry(version: str, *stages: str) -> dict:
    return {"versions": {s: version for s in stages}, "fingerprint": None, "relpath": "x"}


def age(path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_one_file_per_run_covers_every_key_even_without_rows(tmp_path):
    store = StateStore(tmp_path)
    store.write("documents", "run1", ["a", "b", "c"], rows(("a", "d1"), ("b", "d2"), ("b", "d3")))
    assert [p.name for p in (tmp_path / "batches" / "documents").iterdir()] == ["run1.parquet"]
    assert store.read("documents", ["b"], "run1")["doc_id"].tolist() == ["d2", "d3"]
    empty = store.read("documents", ["c"], "run1")
    assert empty is not None and len(empty) == 0  # covered, no rows
    assert store.read("documents", ["zzz"], "run1") is None  # never stored
    assert store.version_of("documents", "c", "run1") == "run1"
    assert store.version_of("documents", "c") == "run1"
    assert store.version_of("documents", "zzz") is None


def test_read_falls_back_to_the_newest_version_of_each_key(tmp_path):
    store = StateStore(tmp_path)
    age(store.write("paragraphs", "old", ["a", "b"], rows(("a", "old-a"), ("b", "old-b"))), 20)
    store.write("paragraphs", "new", ["b"], rows(("b", "new-b")))
    # run "other" stored nothing: each key's newest version
    df = store.read("paragraphs", ["a", "b"], "other")
    assert df["doc_id"].tolist() == ["old-a", "new-b"]
    assert store.read("paragraphs", ["a", "b"], "old")["doc_id"].tolist() == ["old-a", "old-b"]


def test_read_accepted_takes_each_keys_accepted_version_in_key_order(tmp_path):
    store = StateStore(tmp_path)
    age(store.write("claims", "r1", ["b", "a"], rows(("b", "b1"), ("a", "a1"))), 30)
    age(store.write("claims", "r2", ["b"], rows(("b", "b2"))), 20)  # newer, not accepted
    store.accept({"a": entry("r1", "claims"), "b": entry("r1", "claims")})
    assert store.read_accepted("claims")["doc_id"].tolist() == ["a1", "b1"]
    store.accept({"b": entry("r2", "claims")})
    assert store.read_accepted("claims")["doc_id"].tolist() == ["a1", "b2"]
    assert store.read_accepted("claims", ["b"])["doc_id"].tolist() == ["b2"]
    assert store.read_accepted("sentences") is None


def test_gc_deletes_superseded_runs_and_keeps_runs_in_progress(tmp_path):
    store = StateStore(tmp_path)
    folder = tmp_path / "batches" / "documents"
    age(store.write("documents", "r1", ["a", "b"], rows(("a", "a1"), ("b", "b1"))), 30)
    store.accept({"a": entry("r1", "documents"), "b": entry("r1", "documents")})
    age(store.write("documents", "failed", ["a", "b"], rows(("a", "a2"), ("b", "b2"))), 20)
    age(store.write("documents", "r3", ["a"], rows(("a", "a3"))), 10)
    store.write("documents", "running", ["a"], rows(("a", "a4")))  # newer than anything accepted
    store.accept({"a": entry("r3", "documents")})
    names = sorted(p.stem for p in folder.glob("*.parquet"))
    # r1 still holds b's accepted rows; "failed" holds b, whose accepted version (r1) is older
    assert names == ["failed", "r1", "r3", "running"]
    age(store.write("documents", "r4", ["b"], rows(("b", "b4"))), 5)
    store.accept({"b": entry("r4", "documents")})
    names = sorted(p.stem for p in folder.glob("*.parquet"))
    assert names == ["r3", "r4", "running"]  # r1 and failed are superseded for every key they hold
    assert store.read_accepted("documents")["doc_id"].tolist() == ["a3", "b4"]


def test_warehouses_in_the_per_file_layout_are_still_read(tmp_path):
    store = StateStore(tmp_path)
    legacy = tmp_path / "parts" / "documents" / _key_dir_name("a") / "old.parquet"
    legacy.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(complete("documents", rows(("a", "legacy-a"))).drop(columns="partition_key"),
                                        preserve_index=False), legacy)
    store.write("documents", "r2", ["b"], rows(("b", "b2")))
    store.accept({"a": entry("old", "documents"), "b": entry("r2", "documents")})
    assert store.read_accepted("documents")["doc_id"].tolist() == ["legacy-a", "b2"]
    assert store.version_of("documents", "a") == "old"
    assert store.read("documents", ["a"])["doc_id"].tolist() == ["legacy-a"]


def test_a_run_without_rows_reads_back_empty(tmp_path):
    store = StateStore(tmp_path)
    empty = pd.DataFrame({"claim_id": pd.Series(dtype=object), "partition_key": pd.Series(dtype=object)})
    store.write("claims", "r1", ["a", "b"], empty)
    store.accept({"a": entry("r1", "claims")})
    assert len(store.read("claims", ["a", "b"], "r1")) == 0
    assert len(store.read_accepted("claims")) == 0


def test_accepted_rows_read_ahead_are_the_rows_read_now_and_used_once(tmp_path, monkeypatch):
    from pipeline import distributed, state

    store = StateStore(tmp_path, read_ahead=distributed.take_prefetched)
    store.write("documents", "run1", ["b", "a"], rows(("b", "d2"), ("a", "d1")))
    store.write("documents", "run2", ["c"], rows(("c", "d3")))
    store.accept({"a": entry("run1", "documents"), "b": entry("run1", "documents"), "c": entry("run2", "documents")})
    expected = store.read_accepted("documents")
    assert expected["doc_id"].tolist() == ["d1", "d2", "d3"]  # in key order, whatever the file order
    reads = []
    real = state.read_file  # every read of a batch file, here and ahead (`distributed.prefetch`)
    monkeypatch.setattr(state, "read_file", lambda path: reads.append(path) or real(path))
    distributed.drop_prefetched()
    try:
        distributed.prefetch(store.accepted_batch_files(["documents"]))
        assert distributed.prefetched_waiting() == 2
        assert sorted(p.name for p in reads) == ["run1.parquet", "run2.parquet"]
        reads.clear()
        assert store.read_accepted("documents").equals(expected)
        assert reads == [] and distributed.prefetched_waiting() == 0  # from memory, then forgotten
        assert store.read_accepted("documents").equals(expected) and len(reads) == 2  # read again from disk
        # a batch file replaced after it was read ahead is read again; the rest is dropped on request
        distributed.prefetch(store.accepted_batch_files(["documents"]))
        distributed.prefetched_waiting()
        store.write("documents", "run2", ["c"], rows(("c", "d3-new")))
        reads.clear()
        assert store.read_accepted("documents")["doc_id"].tolist() == ["d1", "d2", "d3-new"]
        assert [p.name for p in reads] == ["run2.parquet"]
        assert StateStore(tmp_path).read_accepted("documents").equals(store.read_accepted("documents"))  # without: the same rows
        distributed.prefetch(store.accepted_batch_files(["documents"]))
        distributed.drop_prefetched()
        assert distributed.prefetched_waiting() == 0
    finally:
        distributed.drop_prefetched()


# ------------------------------------------------------------------ typed state, damaged state
def _documents(n_bytes_missing: bool) -> pd.DataFrame:
    df = complete("documents", rows(("a", "d1")))
    df["file_size"] = [None if n_bytes_missing else 12]
    df["file_mtime_ns"] = [None if n_bytes_missing else 1796285315348737729]
    return df


def test_every_batch_file_of_a_stage_has_its_schema_and_large_integers_stay_exact(tmp_path):
    """The reproduction of issue #17: one batch whose files lack a stat (NaN sizes in pandas)
    beside one with nanosecond mtimes; concatenating them once promoted int64 to double."""
    store = StateStore(tmp_path)
    stat_less = _documents(True).assign(partition_key="a")
    with_stat = _documents(False).assign(partition_key="b", doc_id="d2")
    p1 = store.write("documents", "r1", ["a"], stat_less.astype({"file_size": "float64", "file_mtime_ns": "float64"}))
    p2 = store.write("documents", "r2", ["b"], with_stat)
    assert pq.read_schema(p1).equals(pq.read_schema(p2), check_metadata=False)
    assert pq.read_schema(p1).field("file_mtime_ns").type == pa.int64()
    store.accept({"a": entry("r1", "documents"), "b": entry("r2", "documents")})
    df = store.read_accepted("documents")
    assert df["file_mtime_ns"].tolist()[1] == 1796285315348737729
    assert pd.isna(df["file_size"].tolist()[0])


def test_a_frame_that_does_not_fit_is_refused_with_its_name(tmp_path):
    store = StateStore(tmp_path)
    bad = complete("documents", rows(("a", "d1"))).assign(file_mtime_ns=[1.5])
    try:
        store.write("documents", "r1", ["a"], bad)
    except StoredSchemaError as exc:
        assert "documents rows of run r1" in str(exc) and "file_mtime_ns" in str(exc)
    else:
        raise AssertionError("a fractional nanosecond time was stored")
    try:
        store.write("documents", "r1", ["a"], complete("documents", rows(("a", "d1"))).assign(surprise=[1]))
    except StoredSchemaError as exc:
        assert "surprise" in str(exc)
    else:
        raise AssertionError("an unknown column was stored")


def test_old_batch_files_of_inferred_types_are_migrated_on_read(tmp_path):
    """Warehouses written before the schemas were fixed: null-typed and double columns."""
    folder = tmp_path / "batches" / "documents"
    folder.mkdir(parents=True)
    old = complete("documents", rows(("a", "d1"))).assign(file_size=[12.0], file_mtime_ns=[1.7e18], title=[None],
                                                          reason=[None])
    table = pa.Table.from_pandas(old, preserve_index=False)
    assert table.schema.field("title").type == pa.null()
    table = table.replace_schema_metadata({b"partition_keys": b'["a"]'})
    pq.write_table(table, folder / "old.parquet")
    store = StateStore(tmp_path)
    store.write("documents", "new", ["b"], _documents(False).assign(partition_key="b", doc_id="d2"))
    store.accept({"a": entry("old", "documents"), "b": entry("new", "documents")})
    df = store.read_accepted("documents")
    assert df["doc_id"].tolist() == ["d1", "d2"]
    assert df["file_size"].tolist()[0] == 12


def test_a_garbage_registry_is_moved_aside_and_every_file_is_new_again(tmp_path):
    store = StateStore(tmp_path)
    store.write("documents", "r1", ["a"], rows(("a", "d1")))
    store.accept({"a": entry("r1", "documents")})
    (tmp_path / "accepted.sqlite").write_bytes(b"SQLite format 3\x00 but then garbage" * 40)
    assert store.heal() == []
    assert store.accepted() == {}
    moved = list((tmp_path / "quarantine").glob("*accepted.sqlite"))
    assert len(moved) == 1 and "SQLite" in (tmp_path / "quarantine" / f"{moved[0].name}.why.txt").read_text()
    store.accept({"a": entry("r1", "documents")})  # the next acceptance starts a new registry
    assert store.read_accepted("documents")["doc_id"].tolist() == ["d1"]


def test_a_truncated_batch_file_is_quarantined_and_its_files_planned_again(tmp_path):
    store = StateStore(tmp_path)
    p1 = store.write("documents", "r1", ["a", "b"], rows(("a", "d1"), ("b", "d2")))
    store.write("documents", "r2", ["c"], rows(("c", "d3")))
    store.accept({"a": {**entry("r1", "documents"), "relpath": "a.txt"}, "b": entry("r1", "documents"),
                  "c": entry("r2", "documents")})
    p1.write_bytes(p1.read_bytes()[:40])
    healed = store.heal()
    assert sorted(r for r, _why in healed) == ["a.txt", "x"]
    assert all("documents" in why for _r, why in healed)
    assert sorted(store.accepted()) == ["c"]  # a and b are new again for the plan
    assert not p1.exists() and list((tmp_path / "quarantine").glob("*r1.parquet"))
    assert store.read_accepted("documents")["doc_id"].tolist() == ["d3"]


@pytest.mark.parametrize("keys", [None, ["a", "b"]])
def test_the_corpus_read_leaves_out_a_batch_damaged_after_the_plan(tmp_path, keys):
    store = StateStore(tmp_path)
    p1 = store.write("claims", "r1", ["a"], rows(("a", "d1")))
    store.write("claims", "r2", ["b"], rows(("b", "d2")))
    store.accept({"a": {**entry("r1", "claims"), "relpath": "a.txt"}, "b": entry("r2", "claims")})
    raw = p1.read_bytes()
    p1.write_bytes(raw[:20] + b"\0" * (len(raw) - 40) + raw[-20:])  # footer intact, pages garbage
    tables, left_out = store.read_accepted_tables(["claims"], keys)
    assert tables["claims"]["doc_id"].tolist() == ["d2"]
    assert [r for r, _why in left_out] == ["a.txt"]
    assert "a" not in store.accepted()


def test_a_json_registry_of_older_code_is_imported_once_and_kept_aside(tmp_path):
    store = StateStore(tmp_path)
    store.write("documents", "r1", ["a", "b"], rows(("a", "d1"), ("b", "d2")))
    old = {"a": entry("r1", "documents"), "b": {**entry("r1", "documents"), "held_out": 1}}
    (tmp_path / "accepted.json").write_text(json.dumps(old))
    assert store.accepted() == old
    assert (tmp_path / "accepted.sqlite").exists() and not (tmp_path / "accepted.json").exists()
    assert json.loads((tmp_path / "accepted.json.imported").read_text()) == old
    store.forget(["b"])
    assert StateStore(tmp_path).accepted() == {"a": old["a"]}
    assert store.read_accepted("documents")["doc_id"].tolist() == ["d1"]


def test_a_json_registry_of_older_code_that_does_not_parse_is_moved_aside(tmp_path):
    (tmp_path / "accepted.json").write_text('{"a": {"versions": {"documents": "r1"')  # truncated
    store = StateStore(tmp_path)
    assert store.accepted() == {}
    moved = list((tmp_path / "quarantine").glob("*accepted.json"))
    assert len(moved) == 1 and "JSON" in (tmp_path / "quarantine" / f"{moved[0].name}.why.txt").read_text()
    assert not (tmp_path / "accepted.sqlite").exists()


def test_a_registry_write_stores_only_the_entries_that_changed(tmp_path, monkeypatch):
    from pipeline import state

    store = StateStore(tmp_path)
    store.accept({f"k{i}": entry("r1", "documents") for i in range(500)})
    written = []
    real = state._write_rows
    monkeypatch.setattr(state, "_write_rows", lambda con, up, de: written.append((sorted(up), sorted(de))) or real(con, up, de))
    store.accept({"new": entry("r2", "documents")})
    store.refresh_fingerprints({"k7": [1, 2, "ab", 3, 4], "absent": [1, 2, "cd", 3, 4]})
    store.forget(["k8"])
    store.refresh_fingerprints({"k7": [1, 2, "ab", 3, 4]})  # the same again: nothing to write
    assert written == [(["new"], []), (["k7"], []), ([], ["k8"])]
    other = StateStore(tmp_path).accepted()  # as another process reads it
    assert len(other) == 500 and other["k7"]["fingerprint"] == [1, 2, "ab", 3, 4] and "k8" not in other


def test_a_registry_changed_by_another_writer_is_read_again(tmp_path):
    import sqlite3

    store = StateStore(tmp_path)
    store.accept({"a": entry("r1", "documents")})
    assert set(store.accepted()) == {"a"}
    con = sqlite3.connect(tmp_path / "accepted.sqlite", isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO files VALUES ('b', ?)", (json.dumps(entry("r1", "documents")),))
    con.execute("UPDATE meta SET value = value + 1 WHERE name = 'generation'")
    con.execute("COMMIT")
    con.close()
    assert set(store.accepted()) == {"a", "b"}


def test_heal_checks_a_batch_file_once_across_runs_and_again_when_it_changed(tmp_path, monkeypatch):
    from pipeline import state

    store = StateStore(tmp_path)
    path = store.write("documents", "r1", ["a", "b"], rows(("a", "d1"), ("b", "d2")))
    store.accept({"a": entry("r1", "documents"), "b": entry("r1", "documents")})
    checked = []
    real = state.pq.read_schema
    monkeypatch.setattr(state.pq, "read_schema", lambda p, *a, **k: checked.append(p) or real(p, *a, **k))
    assert store.heal() == [] and checked == [path]
    state._VERIFIED.clear()  # as a new process
    assert store.heal() == [] and checked == [path]  # the check of the earlier run stands
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated since: another stamp, checked again
    state._VERIFIED.clear()
    healed = store.heal()
    assert len(checked) == 2 and len(healed) == 2  # both files of the batch are planned again
    assert store.accepted() == {}


def _small_runs(store, n_runs: int, per_run: int, stage: str = "documents") -> list[str]:
    keys = []
    for r in range(n_runs):
        run_keys = [f"k{r:03d}_{i}" for i in range(per_run)]
        path = store.write(stage, f"run{r:03d}", run_keys, rows(*[(k, f"doc-{k}") for k in run_keys]))
        age(path, 1000 - r)  # made one after the other
        store.accept({k: entry(f"run{r:03d}", stage) for k in run_keys})
        keys += run_keys
    return keys


def test_compaction_merges_small_batch_files_and_the_rows_stay_the_same(tmp_path):
    store = StateStore(tmp_path)
    keys = _small_runs(store, 20, 3)
    store.write("documents", "big", ["z1", "z2"], rows(("z1", "big-1"), ("z2", "big-2")))
    store.accept({"z1": entry("big", "documents"), "z2": entry("big", "documents")})
    before = store.read_accepted("documents")
    merged = store.compact(target_keys=25, min_files=16)
    assert merged == {"documents": 21}
    files = sorted(p.name for p in (tmp_path / "batches" / "documents").glob("*.parquet"))
    assert len(files) == 3 and all(f.startswith("compact-") for f in files)  # 63 keys in files of <= 25
    after = store.read_accepted("documents")
    assert after.equals(before)
    versions = {e["versions"]["documents"] for e in store.accepted().values()}
    assert len(versions) == 3 and sorted(store.accepted()) == sorted(keys + ["z1", "z2"])
    assert store.heal() == []
    assert store.compact(target_keys=25, min_files=16) == {}  # nothing small enough left to merge


def test_compaction_waits_for_enough_small_files_and_leaves_changed_files_alone(tmp_path, monkeypatch):
    store = StateStore(tmp_path)
    _small_runs(store, 5, 2)
    assert store.compact(min_files=16) == {}
    assert len(list((tmp_path / "batches" / "documents").glob("*.parquet"))) == 5
    # a file changed while the compaction read its rows keeps its new version
    real = store._read_rows

    def read_then_change(stage, pairs):
        out = real(stage, pairs)
        store.write("documents", "newer", ["k000_0"], rows(("k000_0", "changed")))
        store.accept({"k000_0": entry("newer", "documents")})
        return out

    monkeypatch.setattr(store, "_read_rows", read_then_change)
    store.compact(target_keys=100, min_files=5)
    assert store.accepted()["k000_0"]["versions"]["documents"] == "newer"
    docs = store.read_accepted("documents").set_index("partition_key")["doc_id"]
    assert docs["k000_0"] == "changed" and docs["k004_1"] == "doc-k004_1"


def test_a_reader_whose_files_were_compacted_meanwhile_reads_them_again(tmp_path, monkeypatch):
    """A corpus stage that read the registry before a compaction (another process) finds its
    files gone: it reads the registry again, it does not forget the files."""
    store = StateStore(tmp_path)
    _small_runs(store, 4, 2)
    expected = store.read_accepted("documents")
    stale = store._accepted_as_is()
    calls = []
    real = StateStore._accepted_as_is

    def first_stale(self):
        calls.append(1)
        return stale if len(calls) == 1 else real(self)

    other = StateStore(tmp_path)
    assert other.compact(target_keys=100, min_files=4) == {"documents": 4}
    monkeypatch.setattr(StateStore, "_accepted_as_is", first_stale)
    tables, healed = store.read_accepted_tables(["documents"])
    assert healed == [] and tables["documents"].equals(expected)
    assert len(store.accepted()) == 8


def test_a_batch_file_gone_by_hand_is_healed_not_a_silent_hole(tmp_path):
    store = StateStore(tmp_path)
    _small_runs(store, 2, 2)
    (tmp_path / "batches" / "documents" / "run000.parquet").unlink()
    tables, healed = store.read_accepted_tables(["documents"])
    assert sorted(why for _f, why in healed) == ["stored rows unreadable: missing"] * 2
    assert tables["documents"]["partition_key"].tolist() == ["k001_0", "k001_1"]
    assert sorted(store.accepted()) == ["k001_0", "k001_1"]  # the two are planned again


def test_compaction_never_makes_a_run_under_way_look_superseded(tmp_path):
    """A run still processing a changed file (its batch file written, not yet accepted) keeps
    its file through a compaction of the file's older accepted rows."""
    store = StateStore(tmp_path)
    _small_runs(store, 16, 2)
    under_way = store.write("documents", "run_under_way", ["k000_0"], rows(("k000_0", "new text")))
    age(under_way, 500)  # written before some of the merged files
    assert store.compact(target_keys=100, min_files=16) == {"documents": 16}
    assert under_way.exists()
    store.accept({"k000_0": entry("run_under_way", "documents")})
    docs = store.read_accepted("documents").set_index("partition_key")["doc_id"]
    assert docs["k000_0"] == "new text" and len(docs) == 32
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "batches" / "documents").glob("*.parquet")) == \
        ["compact", "run_under_way.parquet"]


def test_a_compaction_stopped_after_its_registry_change_leaves_no_file_behind(tmp_path, monkeypatch):
    """Killed between the registry change and the deletions (as at a crash): the files it
    merged are deleted by the next collection, the rows are read from the merged file."""
    from pipeline import state

    store = StateStore(tmp_path)
    _small_runs(store, 16, 2)
    expected = store.read_accepted("documents")

    def stop(name):
        if name == "state:compact_swapped":
            raise KeyboardInterrupt("killed here")

    monkeypatch.setattr(state, "checkpoint", stop)
    with pytest.raises(KeyboardInterrupt):
        store.compact(target_keys=100, min_files=16)
    monkeypatch.undo()
    folder = tmp_path / "batches" / "documents"
    assert len(list(folder.glob("*.parquet"))) == 17  # the 16 merged ones are still there
    assert store.read_accepted("documents").equals(expected)
    store.write("documents", "run_late", ["late"], rows(("late", "doc-late")))
    store.accept({"late": entry("run_late", "documents")})  # any later change collects
    files = sorted(p.name for p in folder.glob("*.parquet"))
    assert len(files) == 2 and files[0].startswith("compact-") and files[1] == "run_late.parquet"
    assert store.read_accepted("documents")["partition_key"].tolist() == sorted(expected["partition_key"].tolist() + ["late"])


def test_corpus_indexes_loaded_ahead_are_used_once_and_only_while_their_files_stay(tmp_path):
    from pipeline import distributed
    from pipeline.state import indexes_stamp, load_indexes, save_indexes

    root = tmp_path / "state"
    indexes = load_indexes(root)  # nothing saved yet: empty ones
    indexes.documents.query_and_add("d1", "the council voted to close the old library on the main street")
    indexes.templates.update("d1", ["Subscribe to our newsletter for the latest news"])
    save_indexes(root, indexes)
    distributed.drop_prefetched()
    try:
        distributed.prefetch_indexes(root)
        ahead = distributed.take_indexes(root)
        assert ahead is not None and "d1" in ahead.documents and ahead.templates.docs == {"d1"}
        assert distributed.take_indexes(root) is None  # taken: used once
        # saved again after the read ahead (another run's corpus): not used, loaded again by the caller
        distributed.prefetch_indexes(root)
        assert distributed.indexes_waiting() == 1  # loaded, before the save below
        before = indexes_stamp(root)
        indexes.documents.query_and_add("d2", "a storm closed the harbour and ferries stayed in port all day")
        save_indexes(root, indexes)
        assert indexes_stamp(root) != before
        assert distributed.take_indexes(root) is None
        # a damaged index is neither used nor moved aside by the read ahead; the corpus stage's own
        # load (under the lock) moves it to the quarantine and starts that index empty
        (root / "templates.json").write_text("{not json")
        distributed.prefetch_indexes(root)
        assert distributed.indexes_waiting() == 0
        assert distributed.take_indexes(root) is None
        assert (root / "templates.json").exists()
        healed = load_indexes(root)
        assert not (root / "templates.json").exists() and healed.templates.n_docs == 0
        assert "d2" in healed.documents
    finally:
        distributed.drop_prefetched()


def test_a_registry_written_by_another_process_is_read_again_row_by_row(tmp_path):
    """After another process's write only the rows it changed are parsed again; the others
    are the entries read before (and a reader holding the old mapping sees no change)."""
    import json
    import sqlite3

    from pipeline.state import REGISTRY

    store = StateStore(tmp_path)
    store.accept({"a": entry("r1", "documents"), "b": entry("r1", "documents"), "c": entry("r1", "documents")})
    before = store.accepted_view()
    con = sqlite3.connect(tmp_path / REGISTRY)  # another process: a write this one's cache did not see
    with con:
        con.execute("UPDATE files SET entry = ? WHERE key = 'b'", (json.dumps(entry("r2", "documents")),))
        con.execute("DELETE FROM files WHERE key = 'c'")
        con.execute("UPDATE meta SET value = value + 1 WHERE name = 'generation'")
    con.close()
    after = store.accepted_view()
    assert sorted(after) == ["a", "b"] and after["b"]["versions"] == {"documents": "r2"}
    assert after["a"] is before["a"]  # not parsed again
    assert before["b"]["versions"] == {"documents": "r1"} and "c" in before  # the old mapping as it was
