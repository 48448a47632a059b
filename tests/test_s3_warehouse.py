"""The warehouse in object storage (`PIPELINE_WAREHOUSE_DIR=s3://bucket/prefix`), on a
real S3 server: SeaweedFS started by the `s3_server` fixture (tests/s3_support.py).

No mocks: every read and write goes over HTTP to the server through pyarrow.fs.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from pipeline import publish as P
from pipeline.parts import digest_of
from tests import hostile_support as hs
from tests.contract_rules import contract_problems

PROJECT = Path(__file__).resolve().parent.parent
CHECKER = PROJECT.parent / "shared" / "tools" / "check_contract.py"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _tables(version: int) -> dict[str, pa.Table]:
    """Two small tables whose every row says which publish wrote it."""
    n = version + 2
    return {
        "documents": pa.table({"doc_id": [f"v{version}-d{i}" for i in range(n)], "status": ["ok"] * n}),
        "claims": pa.table({"claim_id": [f"v{version}-c{i}" for i in range(2 * n)],
                            "doc_id": [f"v{version}-d{i // 2}" for i in range(2 * n)]}),
    }


def _snapshots(wh) -> set[str]:
    fs = wh.filesystem()
    return {i.base_name for i in fs.get_file_info(pafs.FileSelector(wh.key(P.SNAPSHOTS_DIR), allow_not_found=True))
            if i.type == pafs.FileType.Directory}


def _read_all(wh) -> tuple[str, dict[str, pd.DataFrame]]:
    """What a reader sees: the pointer's snapshot, and every table of it (pandas through pyarrow.fs)."""
    fs = wh.filesystem()
    pointer = P.read_pointer(wh, fs)
    out = {}
    for name, files in pointer["files"].items():
        paths = [wh.key(P.SNAPSHOTS_DIR, pointer["snapshot"], name, f) for f in files]
        out[name] = pd.read_parquet(paths[0] if len(paths) == 1 else paths, filesystem=fs)
    return pointer["snapshot"], out


def _versions_seen(frames: dict[str, pd.DataFrame]) -> set[str]:
    seen = set()
    for df in frames.values():
        for column in ("doc_id", "claim_id"):
            if column in df:
                seen |= {v.split("-", 1)[0] for v in df[column]}
    return seen


@pytest.fixture()
def s3wh(s3_server, tmp_path):
    return s3_server.warehouse(s3_server.new_uri("some/prefix"), tmp_path / "state")


def test_publish_writes_snapshot_then_pointer_and_readers_follow_it(s3wh):
    assert P.read_published(s3wh, "documents") is None
    out = P.publish(s3wh, _tables(1), now=T0)
    pointer = P.read_pointer(s3wh)
    assert pointer["snapshot"] == out[0].version
    assert {name: len(parts) for name, parts in pointer["files"].items()} == {"claims": 1, "documents": 1}
    part = pointer["files"]["documents"][0]
    assert pointer["tables"]["documents"]["rows"] == 3
    assert _snapshots(s3wh) == {pointer["snapshot"]}
    # pyarrow through the project's reader, pandas with the S3 filesystem, DuckDB through the catalog
    assert P.read_published(s3wh, "documents").column("doc_id").to_pylist() == ["v1-d0", "v1-d1", "v1-d2"]
    snapshot, frames = _read_all(s3wh)
    assert snapshot == pointer["snapshot"] and len(frames["claims"]) == 6
    assert _versions_seen(frames) == {"v1"}
    # the Parquet files carry the column descriptions, as on local disk
    fs = s3wh.filesystem()
    schema = ds.dataset(s3wh.key(P.SNAPSHOTS_DIR, snapshot, "documents", part), filesystem=fs).schema
    assert b"description" in (schema.metadata or {})
    con = P.connect_catalog(s3wh)
    try:
        assert con.execute("SELECT count(*) FROM claims").fetchone()[0] == 6
        assert con.execute("SELECT min(doc_id) FROM documents").fetchone()[0] == "v1-d0"
    finally:
        con.close()
    assert P.catalog_path(s3wh) == s3wh.local_dir / "catalog.duckdb"


def test_second_publish_switches_every_table_and_carries_over_the_others(s3wh):
    first = P.publish(s3wh, _tables(1), now=T0)[0].version
    second = P.publish(s3wh, {"documents": _tables(2)["documents"]}, now=T0 + timedelta(hours=1))[0].version
    snapshot, frames = _read_all(s3wh)
    assert snapshot == second != first
    assert frames["documents"]["doc_id"].str.startswith("v2").all()
    assert frames["claims"]["claim_id"].str.startswith("v1").all()  # not republished: copied into the new snapshot
    assert _snapshots(s3wh) == {first, second}  # the previous one is kept


def test_superseded_snapshots_are_deleted_after_the_pointer_moved(s3wh):
    versions = []
    for i in range(5):
        versions.append(P.publish(s3wh, _tables(i), now=T0 + timedelta(hours=2 * i))[0].version)
        kept = versions[-P.KEEP_VERSIONS:]
        assert _snapshots(s3wh) == set(kept), i
        assert [h["snapshot"] for h in P.read_pointer(s3wh)["superseded"]] == kept[:-1][::-1]
    # what a killed publish left (files no pointer ever named) goes at the next publish
    fs = s3wh.filesystem()
    with fs.open_output_stream(s3wh.key(P.SNAPSHOTS_DIR, "orphan", "documents", P.PART)) as fh:
        fh.write(b"half")
    last = P.publish(s3wh, _tables(9), now=T0 + timedelta(hours=20))[0].version
    assert "orphan" not in _snapshots(s3wh) and last in _snapshots(s3wh)


def test_a_recent_superseded_snapshot_is_kept_longer(s3wh):
    """Beyond the last KEEP_VERSIONS, a snapshot superseded less than RETAIN_SECONDS ago stays."""
    versions = [P.publish(s3wh, _tables(i), now=T0 + timedelta(seconds=i))[0].version for i in range(5)]
    assert _snapshots(s3wh) == set(versions)


_PUBLISHER = """
import sys
from pathlib import Path
from pipeline import faults, publish as P
from pipeline.settings import Settings
from pipeline.storage import S3Warehouse
faults.arm(Settings.from_env().pause)  # PIPELINE_PAUSE_AT, as a run's settings resource arms it
from tests.test_s3_warehouse import _tables
bucket, prefix, local, endpoint, key, secret = sys.argv[1:7]
wh = S3Warehouse(bucket, prefix, Path(local), endpoint_url=endpoint, region="us-east-1", access_key=key,
                 secret_key=secret)
P.publish(wh, _tables(2))
print("published")
"""


@pytest.mark.parametrize("point", ["publish:between_tables", "publish:after_versions", "publish:before_pointer"])
def test_sigkill_during_publish_leaves_the_old_snapshot_then_a_rerun_publishes(s3_server, s3wh, tmp_path, point):
    from tests import s3_support

    old = P.publish(s3wh, _tables(1), now=T0)[0].version
    marker = tmp_path / "paused"
    args = [sys.executable, "-c", _PUBLISHER, s3wh.bucket, s3wh.prefix, str(s3wh.local_dir), s3_server.endpoint_url,
            s3_support.ACCESS_KEY, s3_support.SECRET_KEY]
    env = dict(os.environ, PIPELINE_PAUSE_AT=point, PIPELINE_PAUSE_MARKER=str(marker))
    proc = subprocess.Popen(args, env=env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert s3wh.request("GET", P.LOCK_OBJECT)[0] == 200  # the killed publisher's lock object stays
    # a reader sees the old snapshot, whole
    snapshot, frames = _read_all(s3wh)
    assert snapshot == old and _versions_seen(frames) == {"v1"}
    assert len(frames["documents"]) == 3 and len(frames["claims"]) == 6
    con = P.connect_catalog(s3wh)
    try:
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 3
    finally:
        con.close()
    # the rerun is not blocked (flock died with the process) and switches everything at once
    out = subprocess.run(args, cwd=PROJECT, capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_PAUSE")})
    assert out.returncode == 0, out.stderr[-2000:]
    snapshot, frames = _read_all(s3wh)
    assert snapshot != old and _versions_seen(frames) == {"v2"}
    assert len(frames["documents"]) == 4 and len(frames["claims"]) == 8
    assert _snapshots(s3wh) == {old, snapshot}  # the killed publish's files are gone, the previous one stays
    assert s3wh.request("GET", P.LOCK_OBJECT)[0] == 404  # taken over (same host and state folder), then released
    assert sorted(p.name for p in s3wh.local_dir.iterdir()) == [".lock", "catalog.duckdb"]  # no temporary left


def test_lock_object_excludes_a_publisher_with_another_state_folder(s3_server, s3wh, tmp_path, monkeypatch):
    """Two state folders on one s3:// warehouse (unsupported, but it must not interleave
    publishes): the conditional PUT of `_lock` lets one publish at a time."""
    P.publish(s3wh, _tables(1), now=T0)
    other = s3_server.warehouse(s3wh.uri, tmp_path / "other-state")
    monkeypatch.setattr(P, "LOCK_TIMEOUT_S", 1.0)
    with P.object_lock(s3wh):
        status, _, body = s3wh.request("GET", P.LOCK_OBJECT)
        assert status == 200 and json.loads(body)["state"] == str(s3wh.local_dir.resolve())
        with pytest.raises(P.WarehouseBusy, match="is held by pid"):
            P.publish(other, _tables(2), now=T0 + timedelta(hours=1))
        assert _versions_seen(_read_all(s3wh)[1]) == {"v1"}
    assert s3wh.request("GET", P.LOCK_OBJECT)[0] == 404
    P.publish(other, _tables(2), now=T0 + timedelta(hours=1))
    assert _versions_seen(_read_all(s3wh)[1]) == {"v2"}


def test_lock_object_of_a_dead_host_is_taken_over_after_its_lease(s3wh, monkeypatch):
    monkeypatch.setattr(P, "LOCK_TIMEOUT_S", 1.0)
    held = {"owner": "x", "host": "elsewhere", "pid": 1, "state": "/elsewhere"}
    s3wh.request("PUT", P.LOCK_OBJECT, body=json.dumps({**held, "expires": time.time() + 600}).encode())
    with pytest.raises(P.WarehouseBusy, match="on elsewhere"):
        P.publish(s3wh, _tables(1), now=T0)
    assert P.read_pointer(s3wh) is None
    s3wh.request("PUT", P.LOCK_OBJECT, body=json.dumps({**held, "expires": time.time() - 1}).encode())
    P.publish(s3wh, _tables(1), now=T0)
    assert _versions_seen(_read_all(s3wh)[1]) == {"v1"}
    assert s3wh.request("GET", P.LOCK_OBJECT)[0] == 404


# ---------------------------------------------------------------- `pipeline run` into s3://


def _run_env(s3_server, state: Path, **extra) -> dict:
    return {**s3_server.env(), "PIPELINE_STATE_DIR": str(state), **{k: str(v) for k, v in extra.items()}}


def _download(wh, dest: Path, s3_catalog: bool = True) -> Path:
    """The current snapshot as a local folder the contract checkers read. With the warehouse's
    own catalog (views over the s3:// files; ../shared/tools/check_contract.py lists its views,
    reading them needs the S3 filesystem), or with a catalog over the downloaded folders
    (tests/contract_rules.py counts the rows of every view with a plain DuckDB connection)."""
    pointer = P.read_pointer(wh)
    dest.mkdir(parents=True)
    pafs.copy_files(wh.key(P.SNAPSHOTS_DIR, pointer["snapshot"]), str(dest), source_filesystem=wh.filesystem(),
                    destination_filesystem=pafs.LocalFileSystem())
    if s3_catalog:
        shutil.copy(P.catalog_path(wh), dest / P.CATALOG)
    else:
        P.build_catalog(dest / P.CATALOG, {name: dest / name for name in pointer["files"]})
    return dest


@pytest.fixture(scope="module")
def s3_run(s3_server, tmp_path_factory):
    """`pipeline run` of the seed articles into s3://<bucket>/wh (the CLI, in its own process)."""
    base = tmp_path_factory.mktemp("s3run")
    raw = base / "raw"
    shutil.copytree(PROJECT / "data" / "raw", raw)
    uri = s3_server.new_uri("wh")
    state, home = base / "state", base / "home"
    out = hs.run(raw, uri, home, **_run_env(s3_server, state))
    assert out.returncode == 0 and out.published, out.tail()
    return {"base": base, "raw": raw, "uri": uri, "state": state, "home": home, "first": out,
            "wh": s3_server.warehouse(uri, state)}


@pytest.mark.slow
def test_pipeline_run_into_s3_meets_the_contract(s3_run, tmp_path):
    wh, out = s3_run["wh"], s3_run["first"]
    assert "published 8 tables" in out.stdout
    assert f"pointer: {wh.url('_manifest.json')}" in out.stdout
    assert not (s3_run["state"] / "documents").exists()  # no table is published on local disk
    # the project's own contract rules (tests/contract_rules.py, as every end-to-end test), and
    # the shared checker too where the clone sits beside ../shared (the team's machines)
    assert contract_problems(_download(wh, tmp_path / "copy", s3_catalog=False)) == []
    if CHECKER.exists():
        local = _download(wh, tmp_path / "download")
        checked = subprocess.run([sys.executable, str(CHECKER), str(local)], capture_output=True, text=True, timeout=300)
        print(checked.stdout)
        assert checked.returncode == 0 and checked.stdout.strip().endswith("contract: 0 problems"), checked.stdout
    # pandas and DuckDB (the warehouse's catalog) read the same rows from S3 through the pointer
    pointer = P.read_pointer(wh)
    _, frames = _read_all(wh)
    con = P.connect_catalog(wh)
    try:
        for name, info in pointer["tables"].items():
            assert len(frames[name]) == info["rows"], name
            assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == info["rows"], name
        assert con.execute("SELECT count(*) FROM claims_with_speakers_and_quantities").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM document_overview").fetchone()[0] == len(frames["documents"])
    finally:
        con.close()


@pytest.mark.slow
def test_sigkill_of_pipeline_run_before_the_pointer_then_rerun(s3_server, s3_run, tmp_path):
    wh = s3_run["wh"]
    before, old_frames = _read_all(wh)
    (s3_run["raw"] / "new.txt").write_text(hs.good(2_718, "Brest") + "\n" + hs.good(3_141, "Gomel"))
    marker = tmp_path / "paused"
    proc = hs.start(s3_run["raw"], s3_run["uri"], s3_run["home"],
                    **_run_env(s3_server, s3_run["state"], PIPELINE_PAUSE_AT="publish:before_pointer",
                               PIPELINE_PAUSE_MARKER=marker))
    deadline = time.time() + 400
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    if not marker.exists():
        hs.kill_group(proc.pid)
        pytest.fail("never reached publish:before_pointer\n" + "\n".join(proc.communicate())[-3000:])
    hs.kill_group(proc.pid)
    proc.communicate()
    # every object of the new snapshot is written, but the pointer still names the old one: readers see it whole
    assert len(_snapshots(wh)) == 2
    snapshot, frames = _read_all(wh)
    assert snapshot == before
    for name, df in frames.items():
        pd.testing.assert_frame_equal(df, old_frames[name], obj=name)
    assert contract_problems(_download(wh, tmp_path / "after_kill", s3_catalog=False)) == []
    again = hs.run(s3_run["raw"], s3_run["uri"], s3_run["home"], **_run_env(s3_server, s3_run["state"]))
    assert again.returncode == 0 and again.published, again.tail()
    snapshot, frames = _read_all(wh)
    assert snapshot != before
    assert set(frames["documents"]["source_path"]) == set(old_frames["documents"]["source_path"]) | {"new.txt"}
    assert _snapshots(wh) == {before, snapshot}  # the killed run's snapshot went, the previous one stays
    assert contract_problems(_download(wh, tmp_path / "after_rerun", s3_catalog=False)) == []
    con = P.connect_catalog(wh)  # the catalog was switched with the pointer
    try:
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == len(frames["documents"])
    finally:
        con.close()


def test_settings_read_the_s3_address_and_aws_variables(monkeypatch, tmp_path):
    from assets.cli import _parser
    from pipeline.settings import PROJECT_ROOT, Settings
    from pipeline.storage import S3Warehouse

    for var in ("PIPELINE_STATE_DIR", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIPELINE_WAREHOUSE_DIR", "s3://bucket/some/prefix/")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    s = Settings.from_env()
    assert s.warehouse_uri == "s3://bucket/some/prefix"
    assert s.warehouse_dir == PROJECT_ROOT / "data" / "warehouse-state" / "bucket" / "some/prefix"
    wh = s.warehouse
    assert isinstance(wh, S3Warehouse) and (wh.bucket, wh.prefix) == ("bucket", "some/prefix")
    assert (wh.endpoint_url, wh.region, wh.access_key) == ("http://127.0.0.1:9", "eu-west-3", "AKIDEXAMPLE")
    assert wh.url("_manifest.json") == "s3://bucket/some/prefix/_manifest.json"
    assert "very-secret" not in repr(s) and "very-secret" not in repr(wh)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:10")  # the S3-specific one wins
    monkeypatch.setenv("PIPELINE_STATE_DIR", str(tmp_path / "state"))
    s = Settings.from_env()
    assert s.s3_endpoint_url == "http://127.0.0.1:10" and s.warehouse_dir == tmp_path / "state"
    # a local warehouse is as before: no address, the folder itself
    monkeypatch.setenv("PIPELINE_WAREHOUSE_DIR", str(tmp_path / "wh"))
    assert Settings.from_env().warehouse_uri is None and Settings.from_env().warehouse == tmp_path / "wh"
    # the CLI keeps the address whole (a Path would fold `s3://` into `s3:/`)
    assert _parser().parse_args(["run", "--warehouse-dir", "s3://b/p"]).warehouse_dir == "s3://b/p"


def test_parts_equal_to_the_snapshot_before_are_copied_inside_the_store(s3wh):
    def docs(ids_):
        return {"documents": pa.table({"doc_id": ids_, "status": ["ok"] * len(ids_),
                                       "text": [f"text of {i}" for i in ids_]})}

    ids_ = [f"d{i:05d}" for i in range(5000)]
    (first,) = P.publish(s3wh, docs(ids_), now=T0)
    (second,) = P.publish(s3wh, docs(ids_ + ["d02500x"]), now=T0 + timedelta(minutes=1))
    pointer = P.read_pointer(s3wh)
    assert first.parts >= 3 and second.parts_reused >= second.parts - 2
    assert pointer["tables"]["documents"]["parts_reused"] == second.parts_reused
    fs = s3wh.filesystem()
    listed = fs.get_file_info(pafs.FileSelector(s3wh.key(P.SNAPSHOTS_DIR, first.version, "documents")))
    before = {digest_of(i.base_name) for i in listed}
    now = [digest_of(f) for f in pointer["files"]["documents"]]
    assert sum(d in before for d in now) == second.parts_reused  # copies of the snapshot before's parts
    assert P.read_published(s3wh, "documents").column("doc_id").to_pylist() == sorted(ids_ + ["d02500x"])
