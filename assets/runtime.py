"""What one step of a run hands to a later step of the same run, in this process.

Runs execute in one process (`dg.in_process_executor`), so a step can leave a value for
a later step instead of the later step recomputing it or reading it back from disk: the
NLP a step started on the worker processes, the next batch read ahead, the cross-document
tables computed while the corpus suite ran, an output the IO manager just wrote. This is
the one place such values live, behind a small API:

    HANDOVER.offer(run_id, name, value)   leave `value` for a later step of run `run_id`
    HANDOVER.take(run_id, name)           the value (removed), or None: compute it then
    HANDOVER.peek(run_id, name)           the value (kept), or None
    HANDOVER.drop(keep=run_id)            forget every other run's values (a run starts)
    HANDOVER.drop()                       forget everything (`pipeline run` has finished)
    HANDOVER.holding(prefix)              how many values are held (tests: nothing left behind)

and the threads this process runs beside a run's steps (the next batch read ahead, texts
MinHashed ahead, the cross-document stages, values written behind), started and awaited
only here:

    in_background(name, fn, *args)       run fn(*args) in a thread now; a Future of its result
    NEXT_BATCHES.offer / take / holding / drop    the next batches read ahead, by their files
    LOOK_AHEAD.enabled, look_ahead(False)  `pipeline run`'s look-ahead on or off (off: every
                                           step computes its own input; the same tables)

A value is only ever an optimisation: a step that finds nothing computes the same thing
itself, so a step re-executed alone, in another process or after a failure is correct,
only slower. Values of one run are never seen by another (a run id is unique), and a
new run drops what earlier runs left behind, so memory holds one run's values at most.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any


class Handover:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, dict[str, Any]] = {}

    def offer(self, run_id: str | None, name: str, value: Any) -> None:
        if not run_id or value is None:
            return
        with self._lock:
            self._runs.setdefault(run_id, {})[name] = value

    def take(self, run_id: str | None, name: str) -> Any:
        with self._lock:
            return self._runs.get(run_id or "", {}).pop(name, None)

    def peek(self, run_id: str | None, name: str) -> Any:
        with self._lock:
            return self._runs.get(run_id or "", {}).get(name)

    def drop(self, keep: str | None = None, name_prefix: str = "") -> None:
        """Forget the values of every run but `keep` (all runs when None) whose name starts
        with `name_prefix`."""
        with self._lock:
            for run_id in list(self._runs):
                if run_id == keep:
                    continue
                values = self._runs[run_id]
                for name in [n for n in values if n.startswith(name_prefix)]:
                    del values[name]
                if not values:
                    del self._runs[run_id]

    def names(self, run_id: str) -> list[str]:
        with self._lock:
            return sorted(self._runs.get(run_id, {}))

    def holding(self, name_prefix: str = "") -> int:
        """How many values (whose name starts with `name_prefix`) are held, over all runs."""
        with self._lock:
            return sum(n.startswith(name_prefix) for values in self._runs.values() for n in values)


HANDOVER = Handover()  # this process's; runs in other processes have their own


def in_background(name: str, fn: Callable, *args, daemon: bool = True) -> Future:
    """Run `fn(*args)` in a thread of this process, now; the Future holds its result or its
    error. `daemon=False` for work the process must finish before it exits (a write)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the future
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=daemon).start()
    return future


class Ahead:
    """Values made ahead for a step that has no run id yet (the next batch), by a key."""

    def __init__(self, keep: int = 2) -> None:
        self._lock = threading.Lock()
        self._values: dict[Any, Any] = {}
        self._keep = keep

    def offer(self, key: Any, value: Any) -> bool:
        """Hold `value` for `key` unless one is held already (then False); the oldest go
        beyond `keep` (a batch split after a failure leaves its read-ahead behind)."""
        with self._lock:
            if key in self._values:
                return False
            while len(self._values) >= self._keep:
                self._values.pop(next(iter(self._values)))
            self._values[key] = value
            return True

    def take(self, key: Any) -> Any:
        with self._lock:
            return self._values.pop(key, None)

    def holding(self) -> int:
        with self._lock:
            return len(self._values)

    def drop(self) -> None:
        with self._lock:
            self._values.clear()


NEXT_BATCHES = Ahead()


class _Switch:
    enabled = True


LOOK_AHEAD = _Switch()


@contextmanager
def look_ahead(enabled: bool) -> Iterator[None]:
    """Turn `pipeline run`'s look-ahead (the next batch read ahead, texts MinHashed ahead)
    on or off for the duration (tests compare the tables with and without it)."""
    before, LOOK_AHEAD.enabled = LOOK_AHEAD.enabled, enabled
    try:
        yield
    finally:
        LOOK_AHEAD.enabled = before
