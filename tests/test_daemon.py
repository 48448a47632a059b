"""The whole event-driven path: webserver and daemon on loopback (`dagster dev`), a
temporary DAGSTER_HOME, files dropped into the raw folder, and the sensor's runs
publishing them without anybody clicking anything."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.contract_rules import contract_problems
from tests.dagster_server import Server

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = sorted((PROJECT / "data" / "raw").glob("*.txt"))
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _wait_published(wh: Path, n_docs: int, server: Server, timeout_s: float = 420) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        manifest = wh / "_manifest.json"
        if manifest.exists() and json.loads(manifest.read_text())["tables"]["documents"]["rows"] == n_docs:
            return
        assert server.proc.poll() is None, server.log_tail()
        time.sleep(2)
    raise AssertionError(f"{n_docs} documents not published in {timeout_s} s:\n{server.log_tail()}")


def test_files_dropped_into_the_raw_folder_get_published(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh"
    raw.mkdir()
    server = Server(tmp_path, raw, wh, PIPELINE_SENSOR_INTERVAL="5", PIPELINE_SETTLE_SECONDS="1",
                    PIPELINE_SENSOR_BATCH_SIZE="2")  # 3 files: two ingest runs, then a publish run
    try:
        server.wait_ready()
        for seed in SEEDS[:3]:
            shutil.copy(seed, raw / seed.name)
        (raw / "still-downloading.txt.part").write_text("not yet")
        _wait_published(wh, 3, server)
        assert contract_problems(wh) == []
        shutil.copy(SEEDS[3], raw / SEEDS[3].name)
        _wait_published(wh, 4, server)
        docs = ds.dataset(str(wh / "documents")).to_table().to_pandas()
        assert sorted(docs["source_path"]) == sorted(s.name for s in SEEDS[:4])
        assert contract_problems(wh) == []
        # the folder is looked at every 5 s as set, not every other daemon loop (10 s)
        ticks = server.sensor_tick_times("raw_folder_sensor")
        gaps = sorted(b - a for a, b in zip(ticks, ticks[1:]))
        assert len(gaps) >= 4 and gaps[len(gaps) // 2] < 7.5, gaps
    finally:
        server.stop()
