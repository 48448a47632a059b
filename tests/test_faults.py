"""Faults (issue #17 item 4), end to end through the real `pipeline run`.

SIGKILL at named points, files edited / truncated / replaced / deleted / renamed between
runs (and an edit that keeps size and mtime), a file changing during a run, two runs at
once (one warehouse; and two warehouses on a new DAGSTER_HOME), corrupted `.state`
files, a warehouse path with `[1]`, a reader holding the catalog open, a full disk
under the warehouse, and orphan worker processes after `kill -9`.

Each case asserts the exit status and message, that no good document is lost, that the
warehouse meets the contract and that the next run exits 0 and publishes. Most start
from a copy of one module-level first run (two seed articles) to save a run each.

Run:  .venv/bin/python -m pytest tests/test_hostile.py tests/test_faults.py -m slow
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

from tests import hostile_support as hs
from tests.contract_rules import contract_problems

pytestmark = pytest.mark.slow
NEW = hs.good(2_718, "Brest") + "\n" + "The mayor said on Tuesday that 96 buses had been sent to the border.\n"


def _ok_docs(t, names) -> list[str]:
    return hs.good_docs_problems(t, tuple(names))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """raw (the two seeds), warehouse and DAGSTER_HOME after one successful run."""
    root = tmp_path_factory.mktemp("base")
    raw, wh, home = hs.seed_raw(root / "raw"), root / "wh", root / "home"
    first = hs.run(raw, wh, home)
    assert first.returncode == 0 and first.published, first.tail()
    return root


def _clone(base: Path, dest: Path) -> tuple[Path, Path, Path]:
    for name in ("raw", "wh", "home"):
        shutil.copytree(base / name, dest / name, symlinks=True)
    return dest / "raw", dest / "wh", dest / "home"


def _publishes(r: hs.Run) -> None:
    assert r.returncode == 0 and r.published, r.tail()


HOSTILE_FEW = {  # a few bad files beside the good ones in the crash tests
    "random.txt": os.urandom(4096),
    "date_9999.txt": ("9999-12-31T23:59:59-14:00\n\n" + hs.good(9_999, "Lida")).encode(),
    "empty.txt": b"",
}


def _add_hostile_few(raw: Path) -> None:
    for name, data in HOSTILE_FEW.items():
        (raw / name).write_bytes(data)
    os.symlink("self.txt", raw / "self.txt")


def _hostile_few_rows_ok(t) -> None:
    d = t["documents"].set_index("source_path")
    assert d.loc["random.txt", "status"] == "rejected" and "binary" in d.loc["random.txt", "reason"]
    assert d.loc["empty.txt", "status"] == "rejected" and "empty" in d.loc["empty.txt", "reason"]
    assert d.loc["date_9999.txt", "status"] == "ok"
    assert d.loc["self.txt", "status"] == "rejected"


# ---------------------------------------------------------------- SIGKILL


def _wait_marker(proc, marker: Path, point: str, limit: float = 400) -> None:
    deadline = time.time() + limit
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    if not marker.exists():
        hs.kill_group(proc.pid)
        out, err = proc.communicate()
        pytest.fail(f"never reached {point}: exit {proc.returncode}\n{out[-1500:]}\n{err[-2500:]}")


@pytest.mark.parametrize("point", ["stage:sentences", "state:before_accept", "corpus:after_indexes",
                                   "publish:between_swaps"])
def test_sigkill_with_hostile_files_then_next_run_publishes(base, tmp_path, point):
    raw, wh, home = _clone(base, tmp_path)
    before = hs.snapshot(wh)
    (raw / "new.txt").write_text(NEW)
    _add_hostile_few(raw)
    marker = tmp_path / "paused"
    proc = hs.start(raw, wh, home, PIPELINE_PAUSE_AT=point, PIPELINE_PAUSE_MARKER=marker)
    _wait_marker(proc, marker, point)
    hs.kill_group(proc.pid)
    proc.communicate()
    # a whole snapshot, old or new
    assert contract_problems(wh) == []
    now = hs.tables(wh)
    assert len(now["documents"]) in (len(before["tables"]["documents"]), len(before["tables"]["documents"]) + 5)
    again = hs.run(raw, wh, home)
    _publishes(again)
    snap = hs.snapshot(wh)
    assert snap["contract"] == []
    assert _ok_docs(snap["tables"], [s.name for s in hs.SEEDS] + ["new.txt"]) == []
    _hostile_few_rows_ok(snap["tables"])
    assert snap["tables"]["documents"]["doc_id"].is_unique
    _publishes(hs.run(raw, wh, home))


def test_kill_9_of_pipeline_run_leaves_no_orphan_workers(base, tmp_path):
    """kill -9 of the `pipeline run` process alone (not its group, as a user or the OOM
    killer would): its worker processes (NLP pool, GX process) must not live on."""
    raw, wh, home = _clone(base, tmp_path)
    (raw / "new.txt").write_text(NEW)
    marker = tmp_path / "paused"
    proc = hs.start(raw, wh, home, PIPELINE_PAUSE_AT="state:before_accept", PIPELINE_PAUSE_MARKER=marker)
    try:
        _wait_marker(proc, marker, "state:before_accept")
        children = [m for m in hs.group_members(proc.pid) if m[0] != proc.pid]
        proc.kill()  # SIGKILL to the one process
        proc.wait()  # (not communicate: orphans may hold its pipes open)
        deadline = time.time() + 10
        left = hs.group_members(proc.pid)
        while left and time.time() < deadline:
            time.sleep(0.5)
            left = hs.group_members(proc.pid)
        assert left == [], f"orphans 10 s after kill -9 (children before: {len(children)}): {left}"
    finally:
        hs.kill_group(proc.pid)  # whatever is left, so the suite does not leak them
        proc.communicate()
    assert contract_problems(wh) == []
    _publishes(hs.run(raw, wh, home))
    assert _ok_docs(hs.tables(wh), [s.name for s in hs.SEEDS] + ["new.txt"]) == []


# ---------------------------------------------------------------- files changed between runs


EDIT_FILES = {
    "edit.txt": hs.good(301, "Brest") + "\n" + "The mayor told reporters that the city budget would rise by 302 percent.\n",
    "truncate.txt": hs.good(311, "Brest") + "\n" + "The mayor said on Tuesday that 312 buses had been sent to Gomel.\n",
    "binary.txt": hs.good(321, "Pinsk"),
    "delete.txt": hs.good(331, "Lida"),
    "rename_from.txt": hs.good(341, "Orsha"),
    "same_size.txt": hs.good(351, "Vitebsk"),
}
EDIT_KINDS = ["edit", "truncate", "replace_with_binary", "delete", "rename", "same_size_and_mtime"]


@pytest.fixture(scope="module")
def edits(tmp_path_factory):
    """Run A over seeds + six files; change all six; run B; run C (unchanged)."""
    root = tmp_path_factory.mktemp("edits")
    raw, wh, home = hs.seed_raw(root / "raw"), root / "wh", root / "home"
    for name, text in EDIT_FILES.items():
        (raw / name).write_text(text)
    old = os.stat(raw / "same_size.txt")
    past = time.time() - 3600  # settled long ago
    for name in EDIT_FILES:
        os.utime(raw / name, (past, past))
    extra = {"PIPELINE_DROP_DELETED": 1}
    res = {"A": hs.run(raw, wh, home, **extra)}
    res["snapA"] = hs.snapshot(wh)
    with open(raw / "edit.txt", "a") as fh:  # unlike the others: like paragraphs would be near repeats
        fh.write("\nFarmers in the region harvested 303,000 tonnes of wheat in August, the agriculture office said.\n")
    (raw / "truncate.txt").write_text(hs.good(311, "Brest"))
    (raw / "binary.txt").write_bytes(os.urandom(2048))
    (raw / "delete.txt").unlink()
    (raw / "rename_from.txt").rename(raw / "rename_to.txt")
    old = os.stat(raw / "same_size.txt")
    new_text = EDIT_FILES["same_size.txt"].replace("351", "352")
    assert len(new_text.encode()) == old.st_size
    (raw / "same_size.txt").write_text(new_text)
    os.utime(raw / "same_size.txt", ns=(old.st_atime_ns, old.st_mtime_ns))
    assert os.stat(raw / "same_size.txt").st_mtime_ns == old.st_mtime_ns
    res["B"] = hs.run(raw, wh, home, **extra)
    res["snapB"] = hs.snapshot(wh)
    res["C"] = hs.run(raw, wh, home, **extra)
    res["snapC"] = hs.snapshot(wh)
    return res


def _claims_of(t, doc_id) -> int:
    return hs.claims_per_doc(t).get(doc_id, 0)


@pytest.mark.parametrize("kind", EDIT_KINDS)
def test_file_changed_between_runs(edits, kind):
    _publishes(edits["A"])
    a, b = edits["snapA"]["tables"], edits["snapB"]["tables"]
    assert _ok_docs(a, [s.name for s in hs.SEEDS] + list(EDIT_FILES)) == []
    assert b["documents"] is not None, edits["B"].tail()
    rows = b["documents"].set_index("source_path")
    if kind == "edit":
        assert rows.loc["edit.txt", "status"] == "ok" and "303,000 tonnes" in rows.loc["edit.txt", "text"]
        p = b["paragraphs"]
        mine = p[(p["doc_id"] == rows.loc["edit.txt", "doc_id"]) & (p["status"] == "kept")]
        assert mine["text"].str.contains("303,000 tonnes").any(), p[p["doc_id"] == rows.loc["edit.txt", "doc_id"]]
        assert _claims_of(b, rows.loc["edit.txt", "doc_id"]) >= 1
    elif kind == "truncate":
        assert rows.loc["truncate.txt", "status"] == "ok"
        assert "312 buses" not in rows.loc["truncate.txt", "text"]
    elif kind == "replace_with_binary":
        assert rows.loc["binary.txt", "status"] == "rejected" and "binary" in rows.loc["binary.txt", "reason"]
        old_id = hs.row(a, "binary.txt")["doc_id"]
        assert _claims_of(b, old_id) == 0 and old_id not in set(b["documents"]["doc_id"])
    elif kind == "delete":  # PIPELINE_DROP_DELETED=1
        assert "delete.txt" not in rows.index
        assert "1 deleted" in edits["B"].files_line() or "2 deleted" in edits["B"].files_line(), edits["B"].files_line()
    elif kind == "rename":
        assert "rename_from.txt" not in rows.index
        assert rows.loc["rename_to.txt", "status"] == "ok"
        assert _claims_of(b, rows.loc["rename_to.txt", "doc_id"]) > 0
    elif kind == "same_size_and_mtime":  # cp -p, rsync -t, tar: change detection must be by content
        assert "352 soldiers" in rows.loc["same_size.txt", "text"], rows.loc["same_size.txt", "text"]
    # whatever the kind: run B exit 0 and published, nothing good lost, contract, run C publishes
    _publishes(edits["B"])
    assert edits["snapB"]["contract"] == []
    assert _ok_docs(b, [s.name for s in hs.SEEDS] + ["edit.txt", "truncate.txt", "rename_to.txt", "same_size.txt"]) == []
    _publishes(edits["C"])
    assert edits["snapC"]["contract"] == []
    assert edits["C"].files_line().startswith("files: 0 new, 0 changed"), edits["C"].files_line()


# ---------------------------------------------------------------- a file changing during a run


def test_file_written_and_deleted_during_a_run(tmp_path):
    """A file still being written when the run starts is not published half-written, a
    file deleted mid-run leaves no row behind (PIPELINE_DROP_DELETED=1), and the next run
    publishes the complete file."""
    raw, wh, home = hs.seed_raw(tmp_path / "raw"), tmp_path / "wh", tmp_path / "home"
    full = hs.good(401, "Brest") + "\n" + "The mayor said on Tuesday that 402 buses had been sent to Gomel.\n"
    half = full[: len(hs.good(401, "Brest"))]
    (raw / "zz_vanish.txt").write_text(hs.good(411, "Lida"))
    past = time.time() - 3600
    for p in raw.iterdir():
        os.utime(p, (past, past))
    growing = raw / "0_growing.txt"  # sorts first: read in the first batch
    growing.write_text(half)  # being written right now
    marker = tmp_path / "paused"
    proc = hs.start(raw, wh, home, PIPELINE_PAUSE_AT="stage:sentences", PIPELINE_PAUSE_MARKER=marker,
                    PIPELINE_PAUSE_SECONDS=4, PIPELINE_BATCH_SIZE=1, PIPELINE_DROP_DELETED=1)
    _wait_marker(proc, marker, "stage:sentences")
    with open(growing, "a") as fh:
        fh.write(full[len(half):])
    (raw / "zz_vanish.txt").unlink()
    first = hs.finish(proc)
    assert first.returncode == 0 and first.published, first.tail()
    snap = hs.snapshot(wh)
    assert snap["contract"] == []
    assert _ok_docs(snap["tables"], [s.name for s in hs.SEEDS]) == []
    r = hs.row(snap["tables"], "0_growing.txt")
    assert r is None or "402 buses" in r["text"], ("published half-written", first.files_line(), r["status"], r["text"])
    time.sleep(3)  # past the settle time
    second = hs.run(raw, wh, home, PIPELINE_DROP_DELETED=1)
    _publishes(second)
    snap2 = hs.snapshot(wh)
    assert snap2["contract"] == []
    r = hs.row(snap2["tables"], "0_growing.txt")
    assert r is not None and r["status"] == "ok" and "402 buses" in r["text"]
    d = snap2["tables"]["documents"]
    assert "zz_vanish.txt" not in set(d["source_path"]), d[d["source_path"] == "zz_vanish.txt"][["status", "reason"]]
    assert _ok_docs(snap2["tables"], [s.name for s in hs.SEEDS] + ["0_growing.txt"]) == []


# ---------------------------------------------------------------- concurrency


def test_two_runs_at_once_on_one_warehouse(base, tmp_path):
    raw, wh, home = _clone(base, tmp_path)
    (raw / "new.txt").write_text(NEW)
    _add_hostile_few(raw)
    procs = [hs.start(raw, wh, home) for _ in range(2)]
    runs = [hs.finish(p) for p in procs]
    for r in runs:
        _publishes(r)
    assert any("waiting" in r.stderr for r in runs), [r.stderr[-500:] for r in runs]
    snap = hs.snapshot(wh)
    assert snap["contract"] == []
    assert _ok_docs(snap["tables"], [s.name for s in hs.SEEDS] + ["new.txt"]) == []
    _hostile_few_rows_ok(snap["tables"])
    _publishes(hs.run(raw, wh, home))


def test_two_runs_at_once_on_a_new_dagster_home(tmp_path):
    """A new DAGSTER_HOME, two warehouses, two runs started together: both create the
    instance's SQLite databases; neither may die of alembic errors."""
    raw = hs.seed_raw(tmp_path / "raw")
    home = tmp_path / "home"  # does not exist yet
    barrier = threading.Barrier(2)
    procs: list = [None, None]

    def go(i):
        barrier.wait()
        procs[i] = hs.start(raw, tmp_path / f"wh{i}", home)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [hs.finish(p) for p in procs]
    for r in runs:
        assert "alembic" not in r.stderr.lower() and "OperationalError" not in r.stderr, r.tail()
        _publishes(r)
    for i in range(2):
        assert contract_problems(tmp_path / f"wh{i}") == []
        assert _ok_docs(hs.tables(tmp_path / f"wh{i}"), [s.name for s in hs.SEEDS]) == []
    (raw / "new.txt").write_text(NEW)
    _publishes(hs.run(raw, tmp_path / "wh0", home))


# ---------------------------------------------------------------- corrupted state


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


CORRUPTIONS = {
    "registry_truncated": lambda st: _truncate(st / "accepted.sqlite"),
    "registry_garbage": lambda st: (st / "accepted.sqlite").write_bytes(b"\x00\xffgarbage{{{ not a database"),
    "batch_parquet_truncated": lambda st: [_truncate(p) for p in sorted((st / "batches" / "documents").glob("*.parquet"))[:1]],
    "minhash_index_truncated": lambda st: [_truncate(p) for p in sorted((st / "neardup_documents").iterdir())
                                           if p.is_file() and p.suffix == ".npy"],
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupted_state_file_heals(base, tmp_path, kind):
    raw, wh, home = _clone(base, tmp_path)
    state = wh / ".state"
    CORRUPTIONS[kind](state)
    (raw / "new.txt").write_text(NEW)
    r = hs.run(raw, wh, home)
    _publishes(r)
    snap = hs.snapshot(wh)
    assert snap["contract"] == []
    # not one document lost: the seeds (whose state was damaged) and the new file
    assert _ok_docs(snap["tables"], [s.name for s in hs.SEEDS] + ["new.txt"]) == []
    assert len(snap["tables"]["documents"]) == 3


# ---------------------------------------------------------------- paths, readers, disk


def test_warehouse_path_with_brackets(tmp_path):
    raw = hs.seed_raw(tmp_path / "raw")
    wh, home = tmp_path / "ware house [1]" / "wh[1]", tmp_path / "home"
    first = hs.run(raw, wh, home)
    _publishes(first)
    assert contract_problems(wh) == []
    (raw / "new.txt").write_text(NEW)
    second = hs.run(raw, wh, home)
    _publishes(second)
    assert contract_problems(wh) == []
    assert _ok_docs(hs.tables(wh), [s.name for s in hs.SEEDS] + ["new.txt"]) == []
    con = duckdb.connect(str(wh / "catalog.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from documents").fetchone()[0] == 3
    finally:
        con.close()


def test_reader_holding_the_catalog_open_during_publishes(base, tmp_path):
    raw, wh, home = _clone(base, tmp_path)
    con = duckdb.connect(str(wh / "catalog.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from documents").fetchone()[0] == 2
        for i, name in enumerate(("new1.txt", "new2.txt"), 1):
            (raw / name).write_text(hs.good(500 + i, "Pinsk") + "\n" + NEW)
            r = hs.run(raw, wh, home)
            _publishes(r)
            # the open connection still answers (its own snapshot) ...
            assert con.execute("select count(*) from documents").fetchone()[0] >= 2
            assert con.execute("select count(*) from claims").fetchone()[0] > 0
            # ... and a new one sees the new snapshot
            fresh = duckdb.connect(str(wh / "catalog.duckdb"), read_only=True)
            try:
                assert fresh.execute("select count(*) from documents").fetchone()[0] == 2 + i
            finally:
                fresh.close()
            assert contract_problems(wh) == []
    finally:
        con.close()


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {res.stderr.strip()}")


def test_full_disk_under_the_warehouse(tmp_path):
    """The run that hits ENOSPC fails, the published snapshot stays readable, and the first
    run after space is freed publishes."""
    raw = hs.seed_raw(tmp_path / "raw")
    disk, home = tmp_path / "disk", tmp_path / "home"
    _mount_tmpfs(disk, "40m")
    try:
        wh = disk / "wh"
        _publishes(hs.run(raw, wh, home))
        before = hs.tables(wh)
        ballast = disk / "ballast"
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT)  # fill the disk to the last block
        try:
            for size in (1 << 20, 4096, 1):
                try:
                    while os.write(fd, b"\0" * size):
                        pass
                except OSError:
                    pass
        finally:
            os.close(fd)
        (raw / "new.txt").write_text(NEW)
        full = hs.run(raw, wh, home)
        assert full.returncode != 0 and not full.published, full.tail()
        assert any(w in full.stderr for w in ("No space left", "ENOSPC", "disk", "space")), full.tail()
        # the published snapshot is whole and readable, through the folders and the catalog
        assert contract_problems(wh) == []
        now = hs.tables(wh)
        assert len(now["documents"]) == len(before["documents"]) == 2
        con = duckdb.connect(str(wh / "catalog.duckdb"), read_only=True)
        try:
            assert con.execute("select count(*) from documents").fetchone()[0] == 2
        finally:
            con.close()
        ballast.unlink()
        after = hs.run(raw, wh, home)
        _publishes(after)
        assert contract_problems(wh) == []
        assert _ok_docs(hs.tables(wh), [s.name for s in hs.SEEDS] + ["new.txt"]) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# ---------------------------------------------------------------- the issue's reproduction, verbatim


def test_issue_17_reproduction(tmp_path):
    """Five seeds + the issue's bad files; run, run unchanged, append to article_002 and run:
    the edit is published on the first run after it."""
    raw, wh, home = tmp_path / "raw", tmp_path / "wh", tmp_path / "home"
    shutil.copytree(hs.PROJECT / "data" / "raw", raw)
    (raw / "empty.txt").write_bytes(b"")
    (raw / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (raw / "latin1.txt").write_bytes("Le ministère a déclaré lundi que 500 soldats sont arrivés.".encode("latin-1"))
    (raw / "utf16.txt").write_bytes(("\ufeff" + hs.GOOD).encode("utf-16-le"))
    (raw / "only_boilerplate.txt").write_text("Skip to main content\nAccept cookies\nSubscribe to our newsletter\n")
    (raw / "partial.txt.part").write_text("not yet")
    (raw / "feed.jsonl").write_text('{"id": "1", "text": "' + hs.good(77).strip() + '"}\n{not json\n')
    outside = tmp_path / "outside.txt"
    outside.write_text(hs.good(78))
    (raw / "link_outside.txt").symlink_to(outside)
    first = hs.run(raw, wh, home)
    _publishes(first)
    _publishes(hs.run(raw, wh, home))
    with open(raw / "article_002.txt", "a") as fh:
        fh.write("\nThe ministry said on Friday that another 1,250 soldiers would arrive in Brest next week.\n")
    third = hs.run(raw, wh, home)
    _publishes(third)
    snap = hs.snapshot(wh)
    assert snap["contract"] == []
    assert "another 1,250 soldiers" in hs.row(snap["tables"], "article_002.txt")["text"]
    assert _ok_docs(snap["tables"], [f"article_00{i}.txt" for i in range(5)]) == []
