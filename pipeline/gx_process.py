"""A process of its own for Great Expectations, started before anything heavy is imported.

`import great_expectations` costs several seconds of one CPU. `pipeline run` calls
`start()` first thing: one worker process is spawned at once and imports GX (and makes
the ephemeral context) on another core while the run imports Dagster, reads and cleans
the files and loads spaCy; `run` then validates there (the assets' checks call
`pipeline.validation.run_suite(..., run_in=run)`), and `submit` hands it other work that can
run beside this process.

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


def configured() -> bool:
    """What `configure` last said (`enabled` also asks for more than one CPU)."""
    return _wanted["enabled"]


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


def run(fn, *args):
    """`fn(*args)` in the GX process this process started or attached to, else here; a GX
    process that died is let go (later calls run here) and this call is made here. What the
    assets pass as `run_in` to `pipeline.validation.run_suite`."""
    pool = current()
    if pool is not None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool as exc:
            import logging

            logging.getLogger(__name__).warning("the GX process died (%s): validating in this process", exc)
            stop()
    return fn(*args)


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


# --- A GX process that outlives runs (the daemon's path; see `pipeline.warm`) -----------------
#
# The sensor keeps one GX process warm beside the code server (`ensure_server`, when it
# launches a wave); a run attaches to it (`attach`) when its code is the run's own, and
# otherwise starts its own as before.

SERVER_NAME = "gx_server"
SERVER_FILE = f"{SERVER_NAME}.json"
DEFAULT_IDLE_SECONDS = 900.0


def code_version(root: "os.PathLike | str | None" = None) -> str:
    from pipeline.warm import code_version as version_of

    return version_of(root)


def attach(runtime_dir, version: str | None = None) -> bool:
    """Use the warm server of `runtime_dir` for this process's suites, when one runs this
    code (`version`, default `code_version()`); False (nothing changed) otherwise."""
    global _pool, _warming
    if not enabled():
        return False
    from pipeline import warm

    remote = warm.connect(runtime_dir, SERVER_NAME, version or code_version())
    if remote is None:
        return False
    with _lock:
        if _pool is not None:
            remote.shutdown()
            return True
        _pool, _warming = remote, None
        atexit.register(stop, wait=False)
    return True


def attached_pid() -> int | None:
    """The warm server's pid when this process's suites go there, else None."""
    from pipeline.warm import Remote

    pool = _pool
    return pool.pid if isinstance(pool, Remote) else None


def ensure_server(runtime_dir, version: str | None = None, idle_seconds: float = DEFAULT_IDLE_SECONDS) -> int | None:
    """Start the warm GX server for `runtime_dir` unless one with this code runs (a server
    of other code is stopped); returns its pid (None when GX processes are off)."""
    if not enabled():
        return None
    from pipeline import warm

    return warm.ensure(runtime_dir, SERVER_NAME, WARM_UP, version, idle_seconds)
