"""Named points where a test can stop the process, to prove crash safety.

`checkpoint("publish:after_versions")` does nothing unless the environment variable
PIPELINE_PAUSE_AT names that point; then it writes the file named by
PIPELINE_PAUSE_MARKER and sleeps, so a test can SIGKILL the process exactly there.
Production runs never set these variables.
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def checkpoint(name: str) -> None:
    if os.environ.get("PIPELINE_PAUSE_AT") != name:
        return
    marker = os.environ.get("PIPELINE_PAUSE_MARKER")
    if marker:
        Path(marker).write_text(name)
    time.sleep(float(os.environ.get("PIPELINE_PAUSE_SECONDS", "120")))
