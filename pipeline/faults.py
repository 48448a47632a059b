"""Named points where a test can stop the process, to prove crash safety.

`checkpoint("publish:after_versions")` does nothing unless `arm` was given a pause at that
point (the settings' `pause`, from PIPELINE_PAUSE_AT / _MARKER / _SECONDS, armed where a
run starts); then it writes the marker file and sleeps, so a test can SIGKILL the
process exactly there. Production runs never set these variables.
"""
from __future__ import annotations

import time
from pathlib import Path

_armed: dict = {"at": None, "marker": None, "seconds": 120.0}


def arm(pause) -> None:
    """Pause at `pause.at` from now on (None: never); `pause` is a `pipeline.settings.Pause`."""
    _armed.update(at=getattr(pause, "at", None), marker=getattr(pause, "marker", None),
                  seconds=float(getattr(pause, "seconds", 120.0)))


def checkpoint(name: str) -> None:
    if _armed["at"] != name:
        return
    if _armed["marker"]:
        Path(_armed["marker"]).write_text(name)
    time.sleep(_armed["seconds"])
