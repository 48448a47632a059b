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

A value is only ever an optimisation: a step that finds nothing computes the same thing
itself, so a step re-executed alone, in another process or after a failure is correct,
only slower. Values of one run are never seen by another (a run id is unique), and a
new run drops what earlier runs left behind, so memory holds one run's values at most.
"""
from __future__ import annotations

import threading
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
