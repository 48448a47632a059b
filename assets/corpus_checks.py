"""Blocking GX checks on the assembled corpus tables, before anything is published.

The per-file checks validate each batch as it is processed; these validate the whole
corpus after cross-document assembly (ids unique across files, offsets, parents),
with the same suites from `expectations/`.
"""


from collections.abc import Sequence

import dagster as dg

from assets.checks import SUITE_CONTEXT, _data_docs_dir, check_metadata
from pipeline.state import PER_DOCUMENT_STAGES

# the per-document tables, with the same context tables as their per-file suites
CORPUS_SUITES: dict[str, Sequence[str]] = {t: SUITE_CONTEXT[t] for t in PER_DOCUMENT_STAGES}


def corpus_table_check(table: str, context_tables: Sequence[str]) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset="corpus", name=f"corpus_{table}_suite", blocking=True,
                    required_resource_keys={"settings"},
                    description=f"GX suite expectations/{table}.json on the assembled corpus table {table}")
    def _check(context: dg.AssetCheckExecutionContext, corpus: dict) -> dg.AssetCheckResult:
        from pipeline.validation import run_suite

        report = run_suite(table, corpus[table], {name: corpus[name] for name in context_tables},
                           data_docs_dir=_data_docs_dir(context), run_name=context.run.run_id,
                           batch_name=f"corpus-{table}")
        return dg.AssetCheckResult(passed=report.success, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=check_metadata(report))

    return _check


def corpus_checks() -> list[dg.AssetChecksDefinition]:
    return [corpus_table_check(t, ctx) for t, ctx in CORPUS_SUITES.items()]
