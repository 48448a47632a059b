"""`pipeline.warm`: servers that outlive runs, without GX or spaCy (their own tests use them)."""
from __future__ import annotations

import os
import signal
import time

from pipeline import warm


def _gone(pid: int) -> bool:
    return not warm.pid_alive(pid)  # reaps a child of this process that exited


def _wait_gone(pid: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    return False


def test_a_server_answers_in_order_and_errors_come_back(tmp_path):
    pid = warm.ensure(tmp_path, "probe", "os:getcwd", version="v1")
    try:
        remote = warm.connect(tmp_path, "probe", "v1")
        assert remote is not None and remote.pid == pid != os.getpid()
        assert [f.result() for f in [remote.submit(os.getpid) for _ in range(3)]] == [pid] * 3
        bad = remote.submit(int, "not a number")
        try:
            bad.result()
            raise AssertionError("the error was not handed back")
        except ValueError as exc:
            assert "not a number" in str(exc)
        assert remote.submit(os.getpid).result() == pid  # the connection survives a failed call
        remote.shutdown()
        assert warm.connect(tmp_path, "probe", "v2") is None  # other code: not this server
        assert warm.ensure(tmp_path, "probe", "os:getcwd", version="v1") == pid  # reused
    finally:
        os.kill(pid, signal.SIGTERM)
    assert _wait_gone(pid)
    assert not warm.server_file(tmp_path, "probe").exists()


def test_a_server_left_idle_exits_unless_ensure_keeps_finding_it(tmp_path):
    pid = warm.ensure(tmp_path, "probe", "os:getcwd", version="v1", idle_seconds=2)
    try:
        for _ in range(10):  # 4 s of a sensor's ticks, twice the idle time, without a call
            time.sleep(0.4)
            assert warm.ensure(tmp_path, "probe", "os:getcwd", version="v1", idle_seconds=2) == pid
        assert not _gone(pid)
        assert _wait_gone(pid, 15)  # no more ticks: it leaves
        assert not warm.server_file(tmp_path, "probe").exists()
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_server_retires_after_its_calls_once_no_client_is_connected(tmp_path):
    pid = warm.ensure(tmp_path, "probe", "os:getcwd", version="v1", retire_after=3)
    try:
        remote = warm.connect(tmp_path, "probe", "v1")
        assert [remote.submit(os.getpid).result() for _ in range(5)] == [pid] * 5  # a client keeps it
        time.sleep(1.5)
        assert not _gone(pid)
        remote.shutdown()
        assert _wait_gone(pid, 10)  # retired once the client left
        assert warm.connect(tmp_path, "probe", "v1") is None
        fresh = warm.ensure(tmp_path, "probe", "os:getcwd", version="v1")
        assert fresh != pid
        os.kill(fresh, signal.SIGTERM)
        assert _wait_gone(fresh)
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_newer_code_replaces_a_server_and_a_killed_one_fails_its_calls(tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    old = warm.ensure(tmp_path, "probe", "os:getcwd", version="old")
    new = warm.ensure(tmp_path, "probe", "os:getcwd", version="new")
    try:
        assert new != old and _wait_gone(old)
        remote = warm.connect(tmp_path, "probe", "new")
        os.kill(new, signal.SIGKILL)
        _wait_gone(new)
        try:
            remote.submit(os.getpid).result()
            raise AssertionError("a call to a killed server did not fail")
        except BrokenProcessPool:
            pass
        assert warm.connect(tmp_path, "probe", "new") is None  # its file names a dead process
    finally:
        for pid in (old, new):
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
