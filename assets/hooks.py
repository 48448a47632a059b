"""Progress on a terminal: one line per finished step of a run.

`pipeline run` sets PIPELINE_PROGRESS=1 when its output is a terminal; otherwise (CI,
pipes, the UI's runs) these hooks print nothing.
"""
import os
import sys

import dagster as dg


def _enabled() -> bool:
    return os.environ.get("PIPELINE_PROGRESS") == "1"


@dg.success_hook(name="progress_done")
def progress_done(context: dg.HookContext) -> None:
    if _enabled():
        print(f"  ✓ {context.op.name}", file=sys.stderr, flush=True)


@dg.failure_hook(name="progress_failed")
def progress_failed(context: dg.HookContext) -> None:
    if _enabled():
        print(f"  ✗ {context.op.name}", file=sys.stderr, flush=True)


PROGRESS_HOOKS = {progress_done, progress_failed}
