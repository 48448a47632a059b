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
from concurrent.futures.process import BrokenProcessPool

import dagster as dg

from assets.checks import _data_docs_dir, check_result, data_docs_dir
from assets.runtime import HANDOVER
from pipeline.validation import load_suite

CORPUS_SUITE = "corpus"
AHEAD = "corpus_suite"  # the HANDOVER name of the validation sent ahead by the corpus step


def validate_ahead(run_id: str, tables: dict, settings) -> bool:
    """Send the corpus suite to the GX process now, from the corpus step, before anything
    else is started beside it: its frame is built while no other thread of this process
    wants the GIL, and the GX process validates it first, before the conflicts it is given
    next. The check step then takes the verdict (`corpus_suite`); without a GX process it
    validates itself, as it does in any run that did not come through this step here.
    Returns whether the validation was sent."""
    from pipeline import gx_process
    from pipeline.validation import corpus_frame, suite_job

    HANDOVER.drop(name_prefix=AHEAD)  # one run at a time in a process
    if gx_process.current() is None:
        return False
    fn, args = suite_job(CORPUS_SUITE, corpus_frame(tables), data_docs_dir=data_docs_dir(settings),
                         run_name=run_id, batch_name="corpus")
    future = gx_process.submit(fn, *args)
    if future is None:
        return False
    HANDOVER.offer(run_id, AHEAD, future)
    return True


@dg.asset_check(asset="corpus", name="corpus_suite", blocking=True, required_resource_keys={"settings", "workers"},
                description=f"GX suite expectations/corpus.json: {load_suite(CORPUS_SUITE)['meta']['description']}",
                metadata={"suite_file": "expectations/corpus.json",
                          "expectations": len(load_suite(CORPUS_SUITE)["expectations"])})
def corpus_suite(context: dg.AssetCheckExecutionContext, corpus: dict) -> dg.AssetCheckResult:
    from pipeline import gx_process
    from pipeline.validation import corpus_frame, run_suite

    report = None
    ahead = HANDOVER.take(context.run.run_id, AHEAD)
    if ahead is not None:
        try:
            report = ahead.result()
        except BrokenProcessPool:  # the GX process died meanwhile: validated here, then
            report = None
    if report is None:
        report = run_suite(CORPUS_SUITE, corpus_frame(corpus), data_docs_dir=_data_docs_dir(context),
                           run_name=context.run.run_id, batch_name="corpus", run_in=gx_process.run)
    result = check_result(report)
    return dg.AssetCheckResult(passed=result.passed, severity=result.severity,
                               metadata={**result.metadata, "validated_ahead_by_the_corpus_step": ahead is not None})


def corpus_checks() -> list[dg.AssetChecksDefinition]:
    return [corpus_suite]
