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

from assets.checks import _data_docs_dir, check_result
from pipeline.validation import load_suite

CORPUS_SUITE = "corpus"


@dg.asset_check(asset="corpus", name="corpus_suite", blocking=True, required_resource_keys={"settings", "workers"},
                description=f"GX suite expectations/corpus.json: {load_suite(CORPUS_SUITE)['meta']['description']}",
                metadata={"suite_file": "expectations/corpus.json",
                          "expectations": len(load_suite(CORPUS_SUITE)["expectations"])})
def corpus_suite(context: dg.AssetCheckExecutionContext, corpus: dict) -> dg.AssetCheckResult:
    from pipeline import gx_process
    from pipeline.validation import corpus_frame, run_suite

    report = run_suite(CORPUS_SUITE, corpus_frame(corpus), data_docs_dir=_data_docs_dir(context),
                       run_name=context.run.run_id, batch_name="corpus", run_in=gx_process.run)
    return check_result(report)


def corpus_checks() -> list[dg.AssetChecksDefinition]:
    return [corpus_suite]
