"""A process of its own for Great Expectations, started before anything heavy is imported.

`import great_expectations` costs several seconds of one CPU. `pipeline run` calls
`start()` first thing: one worker process is spawned at once and imports GX (and makes
the ephemeral context) on another core while the run imports Dagster, reads and cleans
the files and loads spaCy; `pipeline.validation.run_suite` then validates there, and
`submit` hands it other work that can run beside this process.

This module imports nothing heavy itself (no pandas, no GX), so the process starts
within milliseconds of the command.

`configure(enabled=False)` (setting `gx_process`, PIPELINE_GX_PROCESS=0): validate in the
run's own process instead.
"""
from __future__ import annotations

import atexit
import os
import threading

_wanted = {"enabled": True}  # set by `configure`
_pool = None  # a one-worker ProcessPoolExecutor that imported GX
_warming = None  # the future of its import
_lock = threading.Lock()


def _exit_at_once() -> None:
    """In the worker, at exit: leave without tearing GX's thousands of modules down one by
    one (about a second of the run's end); nothing is left to write."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(0)


def _warm(target: str) -> int:
    """In the worker: call `target` ("module:function", e.g. the validation module's
    context maker, which imports GX); named, not imported here, so this module stays light."""
    import importlib

    module, _, function = target.partition(":")
    getattr(importlib.import_module(module), function)()
    atexit.register(_exit_at_once)  # after GX's own exit handlers: runs first
    return os.getpid()


def configure(enabled: bool) -> None:
    """Whether later `start()` calls start the process (the `gx_process` setting)."""
    _wanted["enabled"] = bool(enabled)


def enabled() -> bool:
    """False when configured off, or with a single CPU."""
    if not _wanted["enabled"]:
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # pragma: no cover - not Linux
        return (os.cpu_count() or 1) > 1


WARM_UP = "pipeline.validation:warm_up"  # what the process runs first: GX imported, its context made


def start(warm: str = WARM_UP) -> bool:
    """Start the GX process now (idempotent); False when disabled. The process runs `warm`
    ("module:function") first."""
    global _pool, _warming
    if not enabled():
        return False
    with _lock:
        if _pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            from pipeline.lifeline import watch_parent

            pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=watch_parent, initargs=(os.getpid(),))
            _warming = pool.submit(_warm, warm)  # spawns the process and starts the import
            _pool = pool
            atexit.register(stop, wait=False)
    return True


def current():
    """The running GX process's executor, or None."""
    return _pool


def submit(fn, *args):
    """Run `fn(*args)` in the GX process (a Future), or None when there is none.

    Besides the suites, the run hands it plain-Python work that can use the second core
    while this process is busy (the quantity conflicts, while the corpus suite's frame is
    built here): `fn` must be a module-level function of `pipeline` (the process imports
    no Dagster). Jobs run one at a time, in the order given."""
    pool = _pool
    if pool is None:
        return None
    try:
        return pool.submit(fn, *args)
    except RuntimeError:  # shut down or broken meanwhile
        return None


def stop(wait: bool = True) -> None:
    """Stop the GX process, if any (idempotent); later suites run in the caller's process.
    Attached to the warm server (`attach`), this only leaves it: the server goes on.

    `wait=False` (at exit) does not wait for a GX import still under way: the process
    holds nothing to keep (a validation is over when its caller has the report), so it
    is terminated; a run that ends early (a missing raw folder) exits at once. An idle
    process is always shut down cleanly.
    """
    global _pool, _warming
    with _lock:
        pool, _pool = _pool, None
        warming, _warming = _warming, None
    if pool is None:
        return
    if not wait and warming is not None and not warming.done():
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        return
    pool.shutdown(wait=True, cancel_futures=True)


# --- A GX process that outlives runs (the daemon's path) ------------------------------------
#
# Every run the daemon launches is a new process, and its own GX process would import GX
# again (~3 s of one CPU, measured on the daemon's path as the documents suite waiting
# for it). The sensor therefore keeps one GX process warm beside the code server
# (`ensure_server`, when it launches a wave); a run attaches to it (`attach`) when its
# code is the run's own (`code_version`), and otherwise starts its own as before. The
# server listens on a Unix socket with a random key (in `<runtime_dir>/gx_server.json`,
# readable by its owner only), serves one call at a time in the order received, and
# exits when the process that started it is gone or after `idle_seconds` without calls.

SERVER_FILE = "gx_server.json"
DEFAULT_IDLE_SECONDS = 900.0
SERVER_LISTEN_TIMEOUT_S = 10.0


def code_version(root: "os.PathLike | str | None" = None) -> str:
    """A digest of the code and suites a validation runs (pipeline/*.py, expectations/*.json):
    a run attaches only to a server that runs the same."""
    import hashlib
    from pathlib import Path

    root = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.joinpath("pipeline").glob("*.py"), *root.joinpath("expectations").glob("*.json")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
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


def _read_server(runtime_dir) -> dict | None:
    import json
    from pathlib import Path

    try:
        info = json.loads((Path(runtime_dir) / SERVER_FILE).read_text())
        return info if _pid_alive(int(info["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _Remote:
    """`submit(fn, *args) -> Future` to the warm server over one connection; the calls run
    one at a time in the order given (as in a one-worker pool). A lost connection fails
    the call with `BrokenProcessPool`, so callers fall back as for a dead local process."""

    def __init__(self, conn, pid: int):
        from concurrent.futures import ThreadPoolExecutor

        self._conn = conn
        self.pid = pid
        self._caller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx server call")

    def _call(self, fn, args):
        from concurrent.futures.process import BrokenProcessPool

        try:
            self._conn.send((fn, args))
            ok, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise BrokenProcessPool(f"the warm GX process (pid {self.pid}) is gone: {exc}") from exc
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


def attach(runtime_dir, version: str | None = None) -> bool:
    """Use the warm server of `runtime_dir` for this process's suites, when one runs this
    code (`version`, default `code_version()`); False (nothing changed) otherwise."""
    global _pool, _warming
    if not enabled():
        return False
    info = _read_server(runtime_dir)
    if info is None or info.get("version") != (version or code_version()):
        return False
    from multiprocessing.connection import Client

    try:
        conn = Client(info["address"], family="AF_UNIX", authkey=bytes.fromhex(info["authkey"]))
    except (OSError, ValueError, EOFError):  # gone meanwhile, or another key
        return False
    with _lock:
        if _pool is not None:
            conn.close()
            return True
        _pool, _warming = _Remote(conn, int(info["pid"])), None
        atexit.register(stop, wait=False)
    return True


def attached_pid() -> int | None:
    """The warm server's pid when this process's suites go there, else None."""
    pool = _pool
    return pool.pid if isinstance(pool, _Remote) else None


def ensure_server(runtime_dir, version: str | None = None, idle_seconds: float = DEFAULT_IDLE_SECONDS) -> int | None:
    """Start the warm GX server for `runtime_dir` unless one with this code runs (a server
    of other code is stopped); returns its pid (None when GX processes are off). The
    server exits with this process: call it from the long-lived one (the code server,
    which evaluates the sensor)."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    if not enabled():
        return None
    version = version or code_version()
    info = _read_server(runtime_dir)
    if info is not None:
        if info.get("version") == version:
            return int(info["pid"])
        try:
            os.kill(int(info["pid"]), signal.SIGTERM)  # older code: its runs are over or fall back
        except OSError:
            pass
    runtime_dir = Path(runtime_dir)
    runtime_dir.mkdir(parents=True, exist_ok=True)
    project = Path(__file__).resolve().parent.parent
    with open(runtime_dir / "gx_server.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.gx_process", str(runtime_dir), version, str(os.getpid()), str(idle_seconds)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=project, start_new_session=True,  # `-m`: the project on the path
        )
    # it listens within a fraction of a second (the warm-up comes after): wait for that, so
    # the runs about to be launched find it
    import time

    deadline = time.monotonic() + SERVER_LISTEN_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if (_read_server(runtime_dir) or {}).get("pid") == proc.pid:
            break
        time.sleep(0.02)
    return proc.pid


def serve(runtime_dir, version: str, owner: int, idle_seconds: float = DEFAULT_IDLE_SECONDS, warm: str = WARM_UP) -> None:
    """The warm server's main: listen, write the server file, warm up, then answer calls
    (one at a time) until the owner is gone or nothing came for `idle_seconds`."""
    import json
    import secrets
    import time
    from multiprocessing.connection import Listener
    from pathlib import Path

    import shutil
    import tempfile

    key = secrets.token_bytes(32)
    sock_dir = tempfile.mkdtemp(prefix="gx-server-")  # a short path: Unix socket paths are limited to ~100 bytes
    listener = Listener(os.path.join(sock_dir, "socket"), family="AF_UNIX", authkey=key)
    target = Path(runtime_dir) / SERVER_FILE
    tmp = target.with_name(f".{SERVER_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "version": version, "address": listener.address, "authkey": key.hex(),
                   "owner": owner}, f)
    os.replace(tmp, target)  # clients may connect now; their calls wait for the warm-up below

    import signal

    ready = threading.Event()
    busy = threading.Lock()
    last = {"t": time.monotonic(), "open": 0}
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
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            idle = last["open"] == 0 and time.monotonic() - last["t"] > idle_seconds
            named = (_read_server(target.parent) or {}).get("pid") == os.getpid()  # not replaced by a newer server
            if idle or not _pid_alive(owner) or not named:
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
    _warm(warm)
    ready.set()
    while True:
        try:
            conn = listener.accept()
        except (OSError, EOFError):  # a client with the wrong key, or one that left at once
            continue
        threading.Thread(target=answer, args=(conn,), name="gx server connection", daemon=True).start()


if __name__ == "__main__":  # python -m pipeline.gx_process RUNTIME_DIR VERSION OWNER_PID IDLE_SECONDS
    import sys

    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
