"""The Dagster instance on PostgreSQL (deploy/dagster-postgres.yaml), against a real
server this test starts: initdb in a temporary folder, postgres on a free loopback
port, the real `pipeline run` twice with DAGSTER_HOME holding that dagster.yaml.

`./dev test` installs the server binaries when missing (Debian: apt-get install
postgresql); the test skips only when initdb/pg_ctl cannot be found at all.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PIPELINE = Path(sys.executable).parent / "pipeline"
SEEDS = sorted((PROJECT / "data" / "raw").glob("*.txt"))
DB, USER, PASSWORD = "dagster", "dagster", "s3cret-for-tests"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _version_key(path: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def _pg_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's versioned folders."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl") + glob.glob("/usr/pgsql-*/bin/pg_ctl") \
        + glob.glob("/usr/local/pgsql/bin/pg_ctl") + glob.glob("/opt/homebrew/opt/postgresql*/bin/pg_ctl")
    for pg_ctl in sorted(candidates, key=_version_key, reverse=True):
        bindir = Path(pg_ctl).parent
        if (bindir / "initdb").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One throwaway cluster. As root, PostgreSQL refuses to run, so the cluster belongs to
    the `postgres` system user (created by Debian's package) and its commands run through
    runuser; otherwise they run as the current user."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="pgtest-"))  # short: unix socket paths are <= 107 bytes
        self.data, self.sock, self.log = self.base / "data", self.base / "sock", self.base / "server.log"
        self.sock.mkdir()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no `postgres` system user to run the server as")
            assert shutil.which("runuser") or shutil.which("su"), "neither runuser nor su: cannot drop root"
            for p in (self.base, self.sock):
                os.chown(p, owner.pw_uid, owner.pw_gid)
        self.port = 0
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        if not self.as_postgres:
            return list(args)
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--", *args]
        return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(args)]

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        out = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=self.base)
        assert out.returncode == 0, f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n{self.log_tail()}"
        return out

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no server log)"

    def start(self) -> None:
        pwfile = self.base / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_postgres:
            st = self.base.stat()
            os.chown(pwfile, st.st_uid, st.st_gid)
        # Password (SCRAM) over TCP, as a deployment would; trust on the private socket dir.
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                  "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        for attempt in range(5):
            self.port = _free_port()
            opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} -c fsync=off"
            out = subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                                           "-o", opts, "-w", "-t", "60", "start"),
                                 capture_output=True, text=True, timeout=90, cwd=self.base)
            if out.returncode == 0:
                self.started = True
                break
            if "could not bind" not in self.log_tail() or attempt == 4:
                raise AssertionError(f"postgres did not start:\n{out.stdout}\n{out.stderr}\n{self.log_tail()}")
        self._run(str(self.bindir / "createdb"), "-h", str(self.sock), "-p", str(self.port), "-U", USER, DB)

    def stop(self) -> None:
        try:
            if self.started:
                subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                                         "-t", "60", "stop"), capture_output=True, text=True, timeout=90)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def query(self, sql: str) -> list[tuple]:
        import psycopg2  # a dependency of dagster-postgres

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname=DB)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()


@pytest.fixture()
def postgres():
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; "
                    "`./dev test` installs them as root (apt-get install postgresql)")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _instance_env(home: Path, server: PostgresServer) -> dict[str, str]:
    return dict(os.environ, DAGSTER_HOME=str(home), DAGSTER_DISABLE_TELEMETRY="1",
               DAGSTER_PG_HOST="127.0.0.1", DAGSTER_PG_PORT=str(server.port), DAGSTER_PG_USER=USER,
               DAGSTER_PG_PASSWORD=PASSWORD, DAGSTER_PG_DB=DB)


def _pipeline_run(raw: Path, wh: Path, home: Path, server: PostgresServer, cwd: Path) -> subprocess.CompletedProcess:
    env = _instance_env(home, server)
    for var in ("PIPELINE_RAW_DIR", "PIPELINE_WAREHOUSE_DIR"):
        env.pop(var, None)
    return subprocess.run([str(PIPELINE), "run", "--raw-dir", str(raw), "--warehouse-dir", str(wh)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def test_pipeline_run_records_its_runs_and_partitions_in_postgres(postgres, tmp_path):
    raw, wh, home, cwd = tmp_path / "raw", tmp_path / "wh", tmp_path / "dagster_home", tmp_path / "cwd"
    shutil.copytree(PROJECT / "data" / "raw", raw)
    home.mkdir()
    cwd.mkdir()
    shutil.copy(PROJECT / "deploy" / "dagster-postgres.yaml", home / "dagster.yaml")

    first = _pipeline_run(raw, wh, home, postgres, cwd)
    assert first.returncode == 0, f"stdout:\n{first.stdout}\nstderr:\n{first.stderr[-4000:]}"
    assert f"files: {len(SEEDS)} new" in first.stdout, first.stdout

    # Nothing of the instance went to the local file system's SQLite files
    assert not list(home.rglob("*.db")), sorted(p.name for p in home.rglob("*.db"))

    runs = postgres.query("select pipeline_name, status from runs order by id")
    jobs = [job for job, _ in runs]
    assert len(runs) >= 2, runs
    assert "ingest_job" in jobs and "publish_job" in jobs, runs
    assert all(status == "SUCCESS" for _, status in runs), runs

    partitions = {p for (p,) in postgres.query(
        "select partition from dynamic_partitions where partitions_def_name = 'file_batches'")}
    assert len(partitions) == 1, partitions  # the five seeds are one batch: one partition, not one per file
    assert postgres.query("select count(*) from event_logs")[0][0] > 0

    # The rest of the production instance loads from the same file: queued runs, monitoring
    probe = subprocess.run([sys.executable, "-c", (
        "import dagster as dg; i = dg.DagsterInstance.get(); "
        "print(i.get_ref().storage_data.class_name, type(i.run_coordinator).__name__, "
        "i.run_coordinator.get_run_queue_config().max_concurrent_runs, type(i.run_launcher).__name__, "
        "i.run_monitoring_enabled, i.run_retries_enabled, i.run_retries_max_retries)")],
        capture_output=True, text=True, timeout=120, env=_instance_env(home, postgres), cwd=cwd)
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.split() == ["DagsterPostgresStorage", "QueuedRunCoordinator", "4", "DefaultRunLauncher", "True",
                                    "True", "2"], \
        probe.stdout

    second = _pipeline_run(raw, wh, home, postgres, cwd)
    assert second.returncode == 0, f"stdout:\n{second.stdout}\nstderr:\n{second.stderr[-4000:]}"
    assert "files: 0 new, 0 changed, 0 deleted" in second.stdout and "; 0 batch run(s)" in second.stdout, second.stdout
    runs_after = postgres.query("select pipeline_name from runs order by id")
    assert [job for (job,) in runs_after[len(runs):]] == ["publish_job"], runs_after
