"""Progress on a terminal: one line per finished step of a run.

`pipeline run` sets PIPELINE_PROGRESS=1 when its output is a terminal, before the jobs
are defined; otherwise (CI, pipes, the UI's runs) the jobs carry no hooks at all.
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


# attached only when progress is on when the jobs are defined: in the UI, the daemon and
# pipes they would print nothing and still cost two run events per step
PROGRESS_HOOKS = {progress_done, progress_failed} if _enabled() else set()
