"""Great Expectations 1.x suites, run on in-memory DataFrames.

One suite per stage lives as JSON in `expectations/<stage>.json` (GX's own suite
format: a name and a list of `{"type", "kwargs", "meta"}` expectations). Some rules
span tables (offsets must point into the document text); `validation_frame` adds the
derived columns those expectations read (`offsets_match`, `parent_known`, ...), so
the suite itself stays plain GX.

`import great_expectations` costs seconds, so it happens inside `run_suite` only.
The result is a plain `SuiteReport` that the Dagster check factory turns into asset
check metadata and `pipeline run` prints on stderr.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.settings import PROJECT_ROOT

SUITES_DIR = PROJECT_ROOT / "expectations"
SAMPLE_SIZE = 5
ID_COLUMNS = {
    "documents": "doc_id", "paragraphs": "paragraph_id", "sentences": "sentence_id", "claims": "claim_id",
    "claim_quantities": "claim_id", "claim_entities": "claim_id", "claim_clusters": "cluster_id",
    "quantity_conflicts": "claim_id_a",
}
DERIVED_FLAGS = {"offsets_match": True, "parent_known": True, "looks_like_year": False, "different_documents": True}


@dataclass(frozen=True)
class Outcome:
    expectation: str
    column: str | None
    success: bool
    kwargs: dict
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: list = field(default_factory=list)
    observed: Any = None
    error: str | None = None

    def describe(self) -> str:
        what = f"{self.expectation}({self.column})" if self.column else self.expectation
        if self.error:
            return f"{what}: error: {self.error}"
        parts = []
        if self.unexpected_count is not None:
            parts.append(f"{self.unexpected_count} rows ({self.unexpected_percent or 0:.1f}%)")
        if self.observed is not None:
            parts.append(f"observed {self.observed}")
        if self.sample:
            parts.append(f"e.g. {self.sample}")
        return f"{what}: " + ", ".join(parts)


@dataclass(frozen=True)
class SuiteReport:
    suite: str
    success: bool
    n_rows: int
    outcomes: list[Outcome]

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success]

    def to_markdown(self) -> str:
        lines = ["| expectation | column | ok | unexpected rows | sample / observed |", "|---|---|---|---|---|"]
        for o in self.outcomes:
            sample = o.error or (", ".join(map(str, o.sample)) if o.sample else ("" if o.observed is None else str(o.observed)))
            sample = sample.replace("|", "\\|").replace("\n", " ")[:200]
            count = "" if o.unexpected_count is None else str(o.unexpected_count)
            lines.append(f"| {o.expectation} | {o.column or ''} | {'yes' if o.success else '**NO**'} | {count} | {sample} |")
        return "\n".join(lines)


@lru_cache(maxsize=None)
def load_suite(stage: str, suites_dir: str = str(SUITES_DIR)) -> dict:
    path = Path(suites_dir) / f"{stage}.json"
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def suite_names(suites_dir: Path = SUITES_DIR) -> list[str]:
    return sorted(p.stem for p in Path(suites_dir).glob("*.json"))


# ------------------------------------------------------------- derived columns
def _offsets_match(df: pd.DataFrame, documents: pd.DataFrame) -> list[bool]:
    text_of = dict(zip(documents["doc_id"], documents["text"]))
    return [
        isinstance(text_of.get(d), str) and text_of[d][a:b] == t
        for d, a, b, t in zip(df["doc_id"], df["char_start"], df["char_end"], df["text"])
    ]


def validation_frame(stage: str, df: pd.DataFrame, context: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The frame a stage's suite validates: the table plus cross-table facts."""
    context = context or {}
    out = df.copy()
    if stage == "paragraphs" and "documents" in context:
        docs = context["documents"]
        out["offsets_match"] = _offsets_match(out, docs)
        out["parent_known"] = out["doc_id"].isin(set(docs.loc[docs["status"] == "ok", "doc_id"]))
        out["is_kept"] = (out["status"] == "kept").astype("float64")
    elif stage == "sentences" and {"documents", "paragraphs"} <= context.keys():
        paras = context["paragraphs"]
        out["offsets_match"] = _offsets_match(out, context["documents"])
        bounds = {p: (a, b, s) for p, a, b, s in zip(paras["paragraph_id"], paras["char_start"], paras["char_end"], paras["status"])}
        out["parent_known"] = [
            p in bounds and bounds[p][2] == "kept" and bounds[p][0] <= a and b <= bounds[p][1]
            for p, a, b in zip(out["paragraph_id"], out["char_start"], out["char_end"])
        ]
    elif stage == "claims" and "sentences" in context:
        sents = context["sentences"]
        text_of = dict(zip(sents["sentence_id"], sents["text"]))
        out["parent_known"] = [text_of.get(s) == t for s, t in zip(out["sentence_id"], out["text"])]
    elif stage in {"claim_quantities", "claim_entities"} and "claims" in context:
        out["parent_known"] = out["claim_id"].isin(set(context["claims"]["claim_id"]))
        if stage == "claim_quantities":
            out["looks_like_year"] = [
                q == "exact" and (u is None or (isinstance(u, float) and math.isnan(u))) and t.strip().isdigit()
                and len(t.strip()) == 4 and 1800 <= v <= 2100
                for q, u, t, v in zip(out["qualifier"], out["unit"], out["text"], out["value"])
            ]
    elif stage == "quantity_conflicts":
        out["different_documents"] = out["doc_id_a"] != out["doc_id_b"]
    return out


# ------------------------------------------------------------------- running
def _gx_context():
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    return context


@lru_cache(maxsize=1)
def _context():
    return _gx_context()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def run_suite(
    stage: str, df: pd.DataFrame, context: dict[str, pd.DataFrame] | None = None, suites_dir: Path = SUITES_DIR
) -> SuiteReport:
    """Validate `df` (plus its derived columns) against `expectations/<stage>.json`."""
    import great_expectations as gx

    spec = load_suite(stage, str(suites_dir))
    frame = validation_frame(stage, df, context)
    ctx = _context()
    name = f"{stage}-{id(frame)}"
    source = ctx.data_sources.add_pandas(name)
    batch_def = source.add_dataframe_asset(stage).add_batch_definition_whole_dataframe("all")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    # an expectation may carry meta.min_rows: ratios over a handful of rows say nothing
    expectations = [e for e in spec["expectations"] if len(frame) >= e.get("meta", {}).get("min_rows", 0)]
    skipped = [e for e in spec["expectations"] if e not in expectations]
    suite = gx.ExpectationSuite(name=spec.get("name", stage), expectations=expectations)
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE})
    ctx.data_sources.delete(name)
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        kwargs = {k: _plain(v) for k, v in cfg.kwargs.items() if k != "batch_id"}
        res = r.result or {}
        exc = (r.exception_info or {}) if isinstance(r.exception_info, dict) else {}
        error = exc.get("exception_message") if exc.get("raised_exception") else None
        sample = [_plain(v) for v in (res.get("partial_unexpected_list") or [])][:SAMPLE_SIZE]
        flag = kwargs.get("column")
        if not r.success and flag in DERIVED_FLAGS and ID_COLUMNS.get(stage) in frame.columns:
            # a bare True/False says nothing: show which rows break the rule
            bad = frame[frame[flag] != DERIVED_FLAGS[flag]]
            sample = [f"{ID_COLUMNS[stage]}={_plain(v)}" for v in bad[ID_COLUMNS[stage]].head(SAMPLE_SIZE)]
        outcomes.append(Outcome(
            expectation=cfg.type, column=kwargs.get("column") or kwargs.get("column_A"), success=bool(r.success),
            kwargs=kwargs, unexpected_count=res.get("unexpected_count"),
            unexpected_percent=_plain(res.get("unexpected_percent")), sample=sample,
            observed=_plain(res.get("observed_value")), error=error,
        ))
    for e in skipped:
        outcomes.append(Outcome(expectation=e["type"], column=e["kwargs"].get("column"), success=True,
                                kwargs=e["kwargs"], observed=f"skipped: fewer than {e['meta']['min_rows']} rows"))
    return SuiteReport(stage, bool(result.success), len(df), outcomes)
