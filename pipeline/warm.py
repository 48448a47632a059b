"""Processes that outlive runs: warm servers for the daemon's path.

Every run the daemon launches is a new process. On its own it would import Great
Expectations again (~3 s of one CPU) and load spaCy in each NLP worker (~3 s each),
on the same cores as its real work. The sensor therefore keeps warm servers beside the
code server (`ensure`, on every tick, so they are warm before files arrive): one GX
process (`pipeline.gx_process`) and one process per NLP worker (`pipeline.distributed`),
each having run its warm-up (GX imported, the spaCy pipelines loaded). A run connects to them (`connect`) when they
run its own code (`code_version`) and otherwise starts its own processes, as
`pipeline run` does.

A server listens on a Unix socket with a random key, written with its pid and code
version to `<runtime_dir>/<name>.json` (readable by its owner only). It answers calls
(`fn(*args)`, pickled; `fn` a module-level function of `pipeline`) one at a time in the
order received, and exits when the process that started it is gone, when a server of
newer code replaces it, on SIGTERM, or after `idle_seconds` without calls and without an
`ensure` finding it (the sensor's ticks keep the servers up while it runs). A lost server
fails the calls under way with `BrokenProcessPool`, so callers fall back as for a dead
local worker. A server that answered RETIRE_AFTER_CALLS calls leaves once no client is
connected, and the sensor's next tick starts a fresh one.

This module imports nothing heavy (no pandas, GX or spaCy): a server is listening within
a fraction of a second, and warms up afterwards.
"""
from __future__ import annotations

import os
import threading

DEFAULT_IDLE_SECONDS = 900.0
LISTEN_TIMEOUT_S = 10.0
# a server that answered this many calls leaves at its next moment without a client (the
# next wave starts a fresh one): what a long-lived spaCy or GX process accumulates (new
# strings in the vocabulary, caches) is given back now and then
RETIRE_AFTER_CALLS = 2000


def code_version(root: "os.PathLike | str | None" = None) -> str:
    """A digest of the code, models and suites a server runs (pipeline/*.py,
    pipeline/models/*, expectations/*.json): a run connects only to a server of its own code."""
    import hashlib
    from pathlib import Path

    root = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    paths = [*root.joinpath("pipeline").glob("*.py"), *root.joinpath("pipeline", "models").glob("*"),
             *root.joinpath("expectations").glob("*.json")]
    digest = hashlib.sha256()
    for path in sorted(p for p in paths if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def pid_alive(pid: int) -> bool:
    try:  # a server this process started and that has exited: reap it (a zombie answers kill 0)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def server_file(runtime_dir, name: str):
    from pathlib import Path

    return Path(runtime_dir) / f"{name}.json"


def read_server(runtime_dir, name: str) -> dict | None:
    """The live server `name` of `runtime_dir` (pid, version, address, key), or None."""
    import json

    try:
        info = json.loads(server_file(runtime_dir, name).read_text())
        return info if pid_alive(int(info["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_warm_up(target: str) -> int:
    """Call `target`: "module:function", or "module:function:argument" to pass one string
    (named, not imported here, so this module stays light)."""
    import importlib

    module, function, *argument = target.split(":", 2)
    getattr(importlib.import_module(module), function)(*argument)
    return os.getpid()


class Remote:
    """`submit(fn, *args) -> Future` to one warm server over one connection; the calls run
    one at a time in the order given (as in a one-worker pool). A lost connection fails
    the call with `BrokenProcessPool`."""

    def __init__(self, conn, pid: int, name: str = "warm server"):
        from concurrent.futures import ThreadPoolExecutor

        self._conn = conn
        self.pid = pid
        self.name = name
        self._caller = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name} call")

    def _call(self, fn, args):
        from concurrent.futures.process import BrokenProcessPool

        try:
            self._conn.send((fn, args))
            ok, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise BrokenProcessPool(f"the {self.name} (pid {self.pid}) is gone: {exc}") from exc
        if ok:
            return value
        raise value

    def submit(self, fn, *args):
        return self._caller.submit(self._call, fn, args)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self._caller.shutdown(wait=wait, cancel_futures=cancel_futures)
        try:
            self._conn.close()
        except OSError:
            pass


def connect(runtime_dir, name: str, version: str) -> Remote | None:
    """A connection to the live server `name` when it runs `version`, else None."""
    info = read_server(runtime_dir, name)
    if info is None or info.get("version") != version:
        return None
    from multiprocessing.connection import Client

    try:
        conn = Client(info["address"], family="AF_UNIX", authkey=bytes.fromhex(info["authkey"]))
    except (OSError, ValueError, EOFError):  # gone meanwhile, or another key
        return None
    return Remote(conn, int(info["pid"]), name.replace("_", " "))


def ensure(runtime_dir, name: str, warm: str, version: str | None = None,
           idle_seconds: float = DEFAULT_IDLE_SECONDS, retire_after: int = RETIRE_AFTER_CALLS) -> int:
    """Start the server `name` of `runtime_dir` (warm-up `warm`) unless one of this code
    runs (a server of other code is stopped); returns its pid. The server exits with this
    process: call it from the long-lived one (the code server, which evaluates the sensor)."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    version = version or code_version()
    info = read_server(runtime_dir, name)
    if info is not None:
        if info.get("version") == version:
            try:  # still wanted: its idle clock starts again (the sensor's ticks keep it up)
                os.utime(server_file(runtime_dir, name))
            except OSError:
                pass
            return int(info["pid"])
        try:
            os.kill(int(info["pid"]), signal.SIGTERM)  # older code: its runs are over or fall back
        except OSError:
            pass
    runtime_dir = Path(runtime_dir)
    runtime_dir.mkdir(parents=True, exist_ok=True)
    project = Path(__file__).resolve().parent.parent
    with open(runtime_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.warm", str(runtime_dir), name, version, str(os.getpid()),
             str(idle_seconds), warm, str(retire_after)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=project, start_new_session=True,  # `-m`: the project on the path
        )
    # it listens within a fraction of a second (the warm-up comes after): wait for that, so
    # the runs about to be launched find it
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if (read_server(runtime_dir, name) or {}).get("pid") == proc.pid:
            break
        time.sleep(0.02)
    return proc.pid


def serve(runtime_dir, name: str, version: str, owner: int, idle_seconds: float, warm: str,
          retire_after: int = RETIRE_AFTER_CALLS) -> None:
    """A server's main: listen, write the server file, warm up, then answer calls (one at
    a time) until the owner is gone, a newer server replaced it, or neither a call nor an
    `ensure` came for `idle_seconds`."""
    import json
    import secrets
    import shutil
    import signal
    import tempfile
    import time
    from multiprocessing.connection import Listener

    key = secrets.token_bytes(32)
    sock_dir = tempfile.mkdtemp(prefix="warm-server-")  # a short path: Unix socket paths are limited to ~100 bytes
    listener = Listener(os.path.join(sock_dir, "socket"), family="AF_UNIX", authkey=key)
    target = server_file(runtime_dir, name)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "version": version, "address": listener.address, "authkey": key.hex(),
                   "owner": owner}, f)
    os.replace(tmp, target)  # clients may connect now; their calls wait for the warm-up below

    ready = threading.Event()
    busy = threading.Lock()
    last = {"t": time.monotonic(), "open": 0, "calls": 0}
    counting = threading.Lock()  # connections open and close on their own threads

    def leave() -> None:
        try:
            if json.loads(target.read_text()).get("pid") == os.getpid():
                target.unlink()
        except (OSError, ValueError):
            pass
        try:
            listener.close()
        except OSError:
            pass
        shutil.rmtree(sock_dir, ignore_errors=True)
        os._exit(0)  # without tearing down thousands of modules one by one: nothing is left to write

    def wanted_ago() -> float:  # seconds since `ensure` last found this server
        try:
            return time.time() - target.stat().st_mtime
        except OSError:
            return float("inf")

    def watch() -> None:
        while True:
            time.sleep(0.5)
            free = last["open"] == 0
            idle = free and time.monotonic() - last["t"] > idle_seconds and wanted_ago() > idle_seconds
            retired = free and last["calls"] >= retire_after
            named = (read_server(target.parent, name) or {}).get("pid") == os.getpid()  # not replaced
            if idle or retired or not pid_alive(owner) or not named:
                with busy:  # never in the middle of a call
                    leave()

    def answer(conn) -> None:
        with counting:
            last["open"] += 1
        try:
            ready.wait()
            while True:
                try:
                    fn, args = conn.recv()
                except (EOFError, OSError):
                    return
                with busy:
                    try:
                        reply = (True, fn(*args))
                    except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                        reply = (False, exc)
                    last["t"] = time.monotonic()
                    last["calls"] += 1
                try:
                    conn.send(reply)
                except (OSError, ValueError):
                    return
                except Exception as exc:  # noqa: BLE001 - an unpicklable result or error
                    conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        finally:
            conn.close()
            with counting:
                last["open"] -= 1
                last["t"] = time.monotonic()

    signal.signal(signal.SIGTERM, lambda *_: leave())  # replaced by a server of newer code
    threading.Thread(target=watch, name="exit when idle or orphaned", daemon=True).start()
    run_warm_up(warm)
    ready.set()
    while True:
        try:
            conn = listener.accept()
        except (OSError, EOFError):  # a client with the wrong key, or one that left at once
            continue
        threading.Thread(target=answer, args=(conn,), name=f"{name} connection", daemon=True).start()


if __name__ == "__main__":  # python -m pipeline.warm RUNTIME_DIR NAME VERSION OWNER_PID IDLE_SECONDS WARM_UP RETIRE_AFTER
    import sys

    serve(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], int(sys.argv[7]))
