"""The blocking GX check on the assembled corpus, before anything is published.

The per-file checks validate every row of a batch, with its stage's suite, as the batch
is processed. Assembling the corpus then drops rows, changes statuses (near-identical
documents, site templates), links repeats across documents and renames entities;
`expectations/corpus.json` checks exactly that, on one frame with a row per row of the
six tables (`pipeline.validation.corpus_frame`): ids unique across files, parents
present, offsets exact, statuses and reasons, references resolvable, canonical names.
One suite over the whole corpus instead of six re-runs of the per-stage suites: its
cost grows with plain pandas work only, not with GX's per-expectation overhead.
"""
import dagster as dg

from assets.checks import _data_docs_dir, check_result, data_docs_dir
from pipeline.validation import load_suite

CORPUS_SUITE = "corpus"


@dg.asset_check(asset="corpus", name="corpus_suite", blocking=True, required_resource_keys={"settings", "workers"},
                description=f"GX suite expectations/corpus.json: {load_suite(CORPUS_SUITE)['meta']['description']}",
                metadata={"suite_file": "expectations/corpus.json",
                          "expectations": len(load_suite(CORPUS_SUITE)["expectations"])})
def corpus_suite(context: dg.AssetCheckExecutionContext, corpus: dict) -> dg.AssetCheckResult:
    from pipeline import gx_process
    from pipeline.validation import corpus_frame, run_suite

    report = _report_started(context.run.run_id)
    if report is None:  # not started by this run's corpus step (a check run alone), or the GX process died
        report = run_suite(CORPUS_SUITE, corpus_frame(corpus), data_docs_dir=_data_docs_dir(context),
                           run_name=context.run.run_id, batch_name="corpus", run_in=gx_process.run)
    return check_result(report)


def start_corpus_suite(run_id: str, corpus: dict, settings) -> bool:
    """Start this run's corpus suite in the GX process now, from the corpus step, for the
    check to take (`HANDOVER`); False when there is no GX process (the check runs it then).

    The GX process runs it before the quantity conflicts (sent next, `assets.stages`), so the
    blocking check waits for the suite only, and the frame is built before the cluster
    thread starts (beside that thread, 22,250 articles: 1.6 s instead of 0.2 s)."""
    from assets.runtime import HANDOVER
    from pipeline import gx_process
    from pipeline.validation import corpus_frame, run_suite

    HANDOVER.drop(name_prefix="corpus_suite")  # one run at a time in a process: nothing of an earlier run is kept
    if gx_process.current() is None:
        return False
    future = run_suite(CORPUS_SUITE, corpus_frame(corpus), data_docs_dir=data_docs_dir(settings),
                       run_name=run_id, batch_name="corpus", run_in=gx_process.submit)
    if future is None:
        return False
    HANDOVER.offer(run_id, "corpus_suite", future)
    return True


def _report_started(run_id: str):
    """The report of the suite `start_corpus_suite` started for this run, else None."""
    from concurrent.futures.process import BrokenProcessPool

    from assets.runtime import HANDOVER

    future = HANDOVER.take(run_id, "corpus_suite")
    if future is None:
        return None
    try:
        return future.result()
    except BrokenProcessPool:  # the GX process died: validated here then
        return None


def corpus_checks() -> list[dg.AssetChecksDefinition]:
    return [corpus_suite]
