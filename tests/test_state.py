"""The state store: one file per run and stage, accepted versions per partition key."""
from __future__ import annotations

import os
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.state import StateStore, _key_dir_name


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
    pq.write_table(pa.Table.from_pandas(rows(("a", "legacy-a")), preserve_index=False), legacy)
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
    from pipeline import state

    store = StateStore(tmp_path)
    store.write("documents", "run1", ["b", "a"], rows(("b", "d2"), ("a", "d1")))
    store.write("documents", "run2", ["c"], rows(("c", "d3")))
    store.accept({"a": entry("run1", "documents"), "b": entry("run1", "documents"), "c": entry("run2", "documents")})
    expected = store.read_accepted("documents")
    assert expected["doc_id"].tolist() == ["d1", "d2", "d3"]  # in key order, whatever the file order
    reads = []
    real = pq.read_table
    monkeypatch.setattr(state.pq, "read_table", lambda path, *a, **k: reads.append(path) or real(path, *a, **k))
    store.prefetch_accepted(["documents"])
    state._prefetch_thread.join()
    assert sorted(p.name for p in reads) == ["run1.parquet", "run2.parquet"]
    reads.clear()
    assert store.read_accepted("documents").equals(expected)
    assert reads == [] and state._PREFETCHED == {}  # from memory, then forgotten
    assert store.read_accepted("documents").equals(expected) and len(reads) == 2  # read again from disk
    # a batch file replaced after it was read ahead is read again; the rest is dropped on request
    store.prefetch_accepted(["documents"])
    state._prefetch_thread.join()
    store.write("documents", "run2", ["c"], rows(("c", "d3-new")))
    reads.clear()
    assert store.read_accepted("documents")["doc_id"].tolist() == ["d1", "d2", "d3-new"]
    assert [p.name for p in reads] == ["run2.parquet"]
    store.prefetch_accepted(["documents"])
    state.drop_prefetched()
    assert state._PREFETCHED == {}
