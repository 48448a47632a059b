"""`dagster dev` (webserver + daemon) on 127.0.0.1 for tests, in its own process group."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.settings import INSTANCE_YAML

PROJECT = Path(__file__).resolve().parent.parent
SERVER_START_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        out = json.loads(resp.read())
    assert "errors" not in out, out["errors"]
    return out["data"]


class Server:
    """`dagster dev` in its own process group, started from an empty folder so the
    project's .env (which names the project's DAGSTER_HOME) is not read."""

    def __init__(self, base: Path, raw: Path, warehouse: Path, **extra_env: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = base / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(INSTANCE_YAML)  # the project instance: SQLite, runs queued one at a time
        cwd = base / "cwd"
        cwd.mkdir()
        self.log_path = base / "dagster_dev.log"
        env = dict(os.environ, DAGSTER_HOME=str(home), PIPELINE_RAW_DIR=str(raw), PIPELINE_WAREHOUSE_DIR=str(warehouse),
                   DAGSTER_DISABLE_TELEMETRY="1", PYTHONUNBUFFERED="1", **extra_env)
        dagster = Path(sys.executable).parent / "dagster"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(dagster), "dev", "-w", str(PROJECT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"dagster dev exited ({self.proc.returncode}):\n{self.log_tail()}"
            try:
                data = _graphql(self.url, """{ workspaceOrError { ... on Workspace { locationEntries {
                    name locationOrLoadError { __typename ... on PythonError { message } } } } } }""")
                entries = data["workspaceOrError"]["locationEntries"]
                kinds = [e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] for e in entries]
                if entries and all(k == "RepositoryLocation" for k in kinds):
                    return
                assert "PythonError" not in kinds, f"code location failed to load: {entries}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, TypeError):
                pass
            time.sleep(1)
        raise AssertionError(f"dagster dev not ready after {SERVER_START_S} s:\n{self.log_tail()}")

    def sensor_tick_times(self, sensor: str, limit: int = 50) -> list[float]:
        """Start times of the sensor's recent ticks, oldest first (from the webserver)."""
        data = _graphql(self.url, """{ workspaceOrError { ... on Workspace { locationEntries { name } } } }""")
        location = data["workspaceOrError"]["locationEntries"][0]["name"]
        data = _graphql(self.url, """query($s: SensorSelector!, $n: Int) { sensorOrError(sensorSelector: $s) {
            ... on Sensor { sensorState { ticks(limit: $n) { timestamp } } } } }""",
                        {"s": {"repositoryName": "__repository__", "repositoryLocationName": location,
                               "sensorName": sensor}, "n": limit})
        return sorted(t["timestamp"] for t in data["sensorOrError"]["sensorState"]["ticks"])

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except ProcessLookupError:
            return False

    def stop(self) -> None:
        """Ctrl-C (what `dagster dev` expects), then TERM, then KILL, to the whole group:
        the webserver, daemon and code servers are children that may outlive the parent."""
        for sig, grace in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if not self._group_alive():
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self._group_alive():
                if self.proc.poll() is None:
                    try:
                        self.proc.wait(0.5)
                    except subprocess.TimeoutExpired:
                        pass
                else:
                    time.sleep(0.5)
        if self.proc.poll() is None:
            self.proc.wait(5)
        self._log.close()
