"""Progress on a terminal: one line per finished step of a run.

`pipeline run` asks for them (`build_definitions(progress=True)`) when its output is a
terminal; otherwise (CI, pipes, the UI's runs) the jobs carry no hooks at all: each hook
adds two run events per step.
"""
import sys

import dagster as dg


@dg.success_hook(name="progress_done")
def progress_done(context: dg.HookContext) -> None:
    print(f"  ✓ {context.op.name}", file=sys.stderr, flush=True)


@dg.failure_hook(name="progress_failed")
def progress_failed(context: dg.HookContext) -> None:
    print(f"  ✗ {context.op.name}", file=sys.stderr, flush=True)


def progress_hooks(enabled: bool) -> set:
    return {progress_done, progress_failed} if enabled else set()
