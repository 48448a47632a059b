"""Bad input, crashes, concurrent runs and readers, through the real `pipeline` command.

Every case ends with a warehouse that meets the contract; no good document is lost.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from tests.contract_rules import contract_problems

PROJECT = Path(__file__).resolve().parent.parent
PIPELINE = Path(sys.executable).parent / "pipeline"
SEEDS = sorted((PROJECT / "data" / "raw").glob("*.txt"))
pytestmark = pytest.mark.slow
GOOD = "Officials said on Monday that about 500 soldiers arrived in Minsk, according to the ministry.\n"


def _env(home: Path, **extra) -> dict:
    env = dict(os.environ, DAGSTER_HOME=str(home), **{k: str(v) for k, v in extra.items()})
    for var in ("PIPELINE_RAW_DIR", "PIPELINE_WAREHOUSE_DIR", "PIPELINE_PAUSE_AT", "PIPELINE_PAUSE_MARKER"):
        if var not in extra:
            env.pop(var, None)
    return env


def _cmd(raw: Path, wh: Path) -> list[str]:
    return [str(PIPELINE), "run", "--raw-dir", str(raw), "--warehouse-dir", str(wh)]


def _run(raw: Path, wh: Path, home: Path, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(raw, wh), capture_output=True, text=True, timeout=900, env=_env(home, **extra),
                          cwd=PROJECT)


def _docs(wh: Path) -> pd.DataFrame:
    return ds.dataset(str(wh / "documents")).to_table().to_pandas()


def _tables(wh: Path) -> dict[str, pd.DataFrame]:
    names = ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities",
             "claim_clusters", "quantity_conflicts")
    return {n: ds.dataset(str(wh / n)).to_table().to_pandas() for n in names}


def test_bad_inputs_each_get_a_reason_and_good_documents_are_published(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEEDS[0], raw / "good one.txt")  # a name with a space
    (raw / "empty.txt").write_bytes(b"")
    (raw / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (raw / "invalid-utf8.txt").write_bytes("Officials said the café had 20 tables.".encode() + b"\xff\xfe\xfa broken")
    (raw / "latin1.txt").write_bytes("El ministro dijo que 9.000 soldados llegaron a Minsk según el diario.".encode("latin-1"))
    (raw / "utf16.txt").write_bytes("\ufeffOfficials said 300 tanks arrived in Brest on Monday.".encode("utf-16-le"))
    (raw / "cp1252.txt").write_bytes("Officials said “up to 9,000 troops” arrived — it’s official.".encode("cp1252"))
    (raw / "mojibake.txt").write_text("The ministry didnâ€™t say how many troops arrived.", encoding="utf-8")
    with open(raw / "big.txt", "wb") as fh:  # a 50 MB text file: over the 16 MiB default limit
        for _ in range(50):
            fh.write(b"word " * (1024 * 1024 // 5))
    (raw / "one-line.txt").write_text("x" * (1024 * 1024))  # a 1 MB line with no newline
    (raw / "german.txt").write_text("Die Regierung sagte am Montag, dass 500 Soldaten in Minsk angekommen sind.")
    (raw / "boilerplate.txt").write_text("Skip to main content\nAccept cookies\nSubscribe to our newsletter\n"
                                         "© 2024 Example News. All rights reserved.\n")
    shutil.copy(SEEDS[1], raw / "copy-a.txt")
    shutil.copy(SEEDS[1], raw / "copy-b.txt")  # the same article under two names
    (raw / "feed.jsonl").write_text(json.dumps({"id": "1", "text": GOOD}) + "\n{not json\n"
                                    + json.dumps({"html": "<html><body><p>" + GOOD.replace("500", "700") + "</p></body></html>"}) + "\n")
    (raw / "nobody.html").write_text("<html><head><title>x</title></head></html>")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the raw folder")
    (raw / "escape.txt").symlink_to(outside)
    os.mkfifo(raw / "pipe.txt")  # cannot be read like a file (root reads any permission bits)
    (raw / "ünï cödé.txt").write_text(GOOD.replace("500", "800"))
    (raw / "new\nline.txt").write_text(GOOD.replace("500", "900"))
    (raw / "same-text.txt").write_text(GOOD.replace("500", "900").replace(" ", "  "))  # same words, other bytes
    (raw / "partial.txt.crdownload").write_text("not yet")
    out = _run(raw, tmp_path / "wh", tmp_path / "home")
    assert out.returncode == 0, out.stderr[-3000:]
    wh = tmp_path / "wh"
    assert contract_problems(wh) == []
    docs = _docs(wh).set_index("source_path")
    expect_rejected = {"empty.txt": "empty", "image.txt": "binary", "big.txt": "larger than",
                       "feed.jsonl#2": "malformed JSON", "nobody.html": "HTML without",
                       "escape.txt": "outside the raw folder", "pipe.txt": "not a regular file"}
    for path, reason in expect_rejected.items():
        assert docs.loc[path, "status"] == "rejected", path
        assert reason in docs.loc[path, "reason"], (path, docs.loc[path, "reason"])
    for path in ("good one.txt", "invalid-utf8.txt", "latin1.txt", "utf16.txt", "cp1252.txt", "mojibake.txt",
                 "german.txt", "boilerplate.txt", "feed.jsonl#1", "feed.jsonl#3", "ünï cödé.txt", "new\nline.txt",
                 "one-line.txt"):
        assert docs.loc[path, "status"] == "ok", (path, docs.loc[path, "reason"])
    assert docs.loc["latin1.txt", "text"].startswith("El ministro dijo que 9.000 soldados")
    assert docs.loc["utf16.txt", "encoding"].startswith("utf-16")
    assert "“up to 9,000 troops”" in docs.loc["cp1252.txt", "text"]
    assert "didn’t" in docs.loc["mojibake.txt", "text"]
    assert docs.loc["german.txt", "language"] == "de"
    assert docs.loc["same-text.txt", "status"] == "duplicate"
    assert docs.loc["same-text.txt", "duplicate_of"] == docs.loc["new\nline.txt", "doc_id"]
    # the same bytes under two names: one document, the other name recorded
    assert "copy-b.txt" not in docs.index and docs.loc["copy-a.txt", "also_seen_at"] == "copy-b.txt"
    paragraphs = ds.dataset(str(wh / "paragraphs")).to_table().to_pandas()
    by_doc = paragraphs.groupby("doc_id")["status"].agg(set)
    assert by_doc[docs.loc["boilerplate.txt", "doc_id"]] == {"boilerplate"}
    assert by_doc[docs.loc["one-line.txt", "doc_id"]] == {"boilerplate"}  # a blob, not prose
    assert "partial.txt.crdownload" not in docs.index
    claims = ds.dataset(str(wh / "claims")).to_table().to_pandas()
    assert docs.loc["good one.txt", "doc_id"] in set(claims["doc_id"])


def test_file_deleted_between_listing_and_reading(tmp_path):
    from pipeline.ingest import read_file

    raw = tmp_path / "raw"
    raw.mkdir()
    gone = raw / "gone.txt"
    gone.write_text(GOOD)
    gone.unlink()
    (rec,) = read_file(gone, raw)
    assert rec.status == "rejected" and "vanished" in rec.reason


@pytest.mark.parametrize("point", ["stage:sentences", "state:before_accept", "publish:after_versions",
                                   "publish:between_swaps", "publish:before_catalog"])
def test_sigkill_leaves_whole_tables_and_the_next_run_completes(tmp_path, point):
    raw, wh, home = tmp_path / "raw", tmp_path / "wh", tmp_path / "home"
    raw.mkdir()
    for seed in SEEDS[:3]:
        shutil.copy(seed, raw / seed.name)
    assert _run(raw, wh, home).returncode == 0
    before = _tables(wh)
    for seed in SEEDS[3:]:
        shutil.copy(seed, raw / seed.name)
    marker = tmp_path / "paused"
    proc = subprocess.Popen(_cmd(raw, wh), env=_env(home, PIPELINE_PAUSE_AT=point, PIPELINE_PAUSE_MARKER=marker),
                            cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert marker.exists(), f"never reached {point}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # whatever the point, every published table is a complete version: old or new
    assert contract_problems(wh) == []
    now = _tables(wh)
    assert len(now["documents"]) in (3, 5)
    if len(now["documents"]) == 3:  # the previous snapshot, every table of it
        for name, table in now.items():
            pd.testing.assert_frame_equal(table, before[name], obj=name)
    # the next run completes the work, without duplicates
    again = _run(raw, wh, home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert contract_problems(wh) == []
    docs = _docs(wh)
    assert sorted(docs["source_path"]) == sorted(s.name for s in SEEDS)
    assert docs["doc_id"].is_unique


def test_two_runs_at_once_do_not_corrupt_the_warehouse(tmp_path):
    raw, wh, home = tmp_path / "raw", tmp_path / "wh", tmp_path / "home"
    raw.mkdir()
    for seed in SEEDS:
        shutil.copy(seed, raw / seed.name)
    procs = [subprocess.Popen(_cmd(raw, wh), env=_env(home), cwd=PROJECT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=900) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], results
    assert any("waiting" in err for _out, err in results)  # the second one waited for the first
    assert contract_problems(wh) == []
    assert sorted(_docs(wh)["source_path"]) == sorted(s.name for s in SEEDS)


def test_readers_never_see_a_partial_table(tmp_path):
    raw, wh, home = tmp_path / "raw", tmp_path / "wh", tmp_path / "home"
    raw.mkdir()
    for seed in SEEDS[:2]:
        shutil.copy(seed, raw / seed.name)
    assert _run(raw, wh, home).returncode == 0
    errors: list[str] = []
    counts: set[tuple[int, int]] = set()
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            try:
                # through the catalog: every table read is a whole version
                con = duckdb.connect(str(wh / "catalog.duckdb"), read_only=True)
                n_docs = con.execute("select count(*) from documents").fetchone()[0]
                n_para_docs = con.execute("select count(distinct doc_id) from paragraphs").fetchone()[0]
                con.close()
                if n_docs not in range(2, 6) or n_para_docs not in range(2, 6):
                    errors.append(f"partial table: {n_docs} documents, paragraphs of {n_para_docs}")
                # pinned to one snapshot (resolve `current` once): the tables agree with each other
                snap = (wh / "current").resolve()
                mem = duckdb.connect()
                pinned = mem.execute(
                    f"select (select count(*) from read_parquet('{snap.as_posix()}/documents/*.parquet')), "
                    f"(select count(distinct doc_id) from read_parquet('{snap.as_posix()}/paragraphs/*.parquet'))"
                ).fetchone()
                mem.close()
                counts.add(tuple(pinned))
            except Exception as exc:  # noqa: BLE001 - any error is a failure of the guarantee
                errors.append(repr(exc))
            time.sleep(0.01)

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        for seed in SEEDS[2:]:
            shutil.copy(seed, raw / seed.name)
            assert _run(raw, wh, home).returncode == 0
    finally:
        stop.set()
        reader.join()
    assert not errors, errors[:5]
    assert counts <= {(2, 2), (3, 3), (4, 4), (5, 5)}, counts  # a snapshot is always consistent
    assert (5, 5) in counts or len(_docs(wh)) == 5
