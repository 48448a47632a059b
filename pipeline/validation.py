"""Great Expectations 1.x suites, run on in-memory DataFrames.

One suite per stage lives as JSON in `expectations/<stage>.json` (GX's own suite
format: a name and a list of `{"type", "kwargs", "meta"}` expectations). Some rules
span tables (offsets must point into the document text); `validation_frame` adds the
derived columns those expectations read (`offsets_match`, `parent_known`, ...), so
the suite itself stays plain GX.

`import great_expectations` costs seconds, so it happens inside `run_suite` only, or
in a process of its own that imports GX on another core while the pipeline works
(`pipeline.gx_process`): the assets pass `run_in=gx_process.run`, and this module knows
nothing of processes.
The result is a plain `SuiteReport` that the Dagster check factory turns into asset
check metadata and `pipeline run` prints on stderr.

Data Docs: with `data_docs_dir=...`, `run_suite` also renders GX's HTML page for
this validation into a local site (`<dir>/validations/<suite>/<run>/<time>/<batch>.html`,
GX's own renderer and static assets) and returns its path in `SuiteReport.data_docs`.
Only the one page is rendered (no GX index, which would re-render every stored
result); `<dir>/index.html` is a small list of the newest pages, and only the newest
`DATA_DOCS_KEEP` pages per suite are kept. Cost: about 0.1-0.2 s per suite.
"""
from __future__ import annotations

import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from pipeline.schemas import member_of
from pipeline.settings import PROJECT_ROOT

SUITES_DIR = PROJECT_ROOT / "expectations"
SAMPLE_SIZE = 5
ID_COLUMNS = {
    "documents": "doc_id", "paragraphs": "paragraph_id", "sentences": "sentence_id", "claims": "claim_id",
    "claim_quantities": "claim_id", "claim_entities": "claim_id", "claim_clusters": "cluster_id",
    "quantity_conflicts": "claim_id_a", "corpus": "row_id",
}
DERIVED_FLAGS = {"offsets_match": True, "parent_known": True, "looks_like_year": False, "different_documents": True,
                 "status_valid": True, "reason_present": True, "reference_known": True, "canonical_present": True}
DATA_DOCS_KEEP = 20  # newest Data Docs pages kept per suite
# GX's BASIC results carry all a report shows (unexpected count and share, a sample of
# unexpected values, the observed value); SUMMARY adds per-value counts and row indexes
# the reports never use, and costs 1.6-3x more per validation (0.25 s against 0.16 s on
# the paragraphs of 200 BBC articles)
RESULT_FORMAT = "BASIC"


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
    severity: str = "error"  # "warning": a plausibility rule on values; its failure blocks nothing

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
    data_docs: str | None = None  # path of the GX Data Docs page of this validation, if built

    @property
    def data_docs_url(self) -> str | None:
        return Path(self.data_docs).as_uri() if self.data_docs else None

    @property
    def failures(self) -> list[Outcome]:
        """Failed expectations of error severity: what makes the suite fail."""
        return [o for o in self.outcomes if not o.success and o.severity != "warning"]

    @property
    def warnings(self) -> list[Outcome]:
        """Failed plausibility expectations (`meta.severity: warning`): reported, never blocking."""
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]

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


def derived_columns(stage: str, df: pd.DataFrame, context: dict[str, pd.DataFrame] | None = None) -> dict:
    """The cross-table facts a stage's suite validates beside the table's own columns
    (column name -> values, one per row of `df`), without copying the table."""
    context = context or {}
    out: dict = {}
    if stage == "paragraphs" and "documents" in context:
        docs = context["documents"]
        out["offsets_match"] = _offsets_match(df, docs)
        out["parent_known"] = member_of(df["doc_id"], docs.loc[docs["status"] == "ok", "doc_id"])
        out["is_kept"] = (df["status"] == "kept").astype("float64")
    elif stage == "sentences" and {"documents", "paragraphs"} <= context.keys():
        paras = context["paragraphs"]
        out["offsets_match"] = _offsets_match(df, context["documents"])
        bounds = {p: (a, b, s) for p, a, b, s in zip(paras["paragraph_id"], paras["char_start"], paras["char_end"], paras["status"])}
        out["parent_known"] = [
            p in bounds and bounds[p][2] == "kept" and bounds[p][0] <= a and b <= bounds[p][1]
            for p, a, b in zip(df["paragraph_id"], df["char_start"], df["char_end"])
        ]
    elif stage == "claims" and "sentences" in context:
        sents = context["sentences"]
        text_of = dict(zip(sents["sentence_id"], sents["text"]))
        out["parent_known"] = [text_of.get(s) == t for s, t in zip(df["sentence_id"], df["text"])]
    elif stage in {"claim_quantities", "claim_entities"} and "claims" in context:
        out["parent_known"] = member_of(df["claim_id"], context["claims"]["claim_id"])
        if stage == "claim_quantities":
            out["looks_like_year"] = [
                q == "exact" and (u is None or (isinstance(u, float) and math.isnan(u))) and t.strip().isdigit()
                and len(t.strip()) == 4 and 1800 <= v <= 2100
                for q, u, t, v in zip(df["qualifier"], df["unit"], df["text"], df["value"])
            ]
    elif stage == "quantity_conflicts":
        out["different_documents"] = df["doc_id_a"] != df["doc_id_b"]
    return out


def validation_frame(stage: str, df: pd.DataFrame, context: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The frame a stage's suite validates: the table plus cross-table facts."""
    out = df.copy()
    for col, values in derived_columns(stage, df, context).items():
        out[col] = values
    return out


# ------------------------------------------------------- the corpus as one frame
CORPUS_STATUS = {"documents": ({"ok", "rejected", "duplicate"}, "ok"), "paragraphs": ({"kept", "boilerplate", "duplicate"}, "kept")}


def _true(n: int) -> pd.Series:
    return pd.Series([True] * n, dtype=bool)


def corpus_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What the corpus stage can break, as one row per row of the six assembled tables.

    Every row was validated by its stage's suite when its file was processed; assembling
    the corpus only drops rows, changes statuses and reasons (near-identical documents,
    site templates), links repeats across documents and renames entities. So the corpus
    suite checks, for every row: its id is unique across the corpus (`table`, `row_id`),
    its parent row is still there (`parent_known`), its offsets still point into the
    document text (`offsets_match`), its status is a known one with a reason when not
    kept (`status_valid`, `reason_present`), the rows it refers to exist
    (`reference_known`: duplicate_of, near_duplicate_of) and entities keep a canonical
    name (`canonical_present`). Columns that do not apply to a table are True.
    """
    docs = tables["documents"]
    context = {"documents": docs, "paragraphs": tables["paragraphs"], "sentences": tables["sentences"],
               "claims": tables["claims"]}
    parts = []
    for table in ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities"):
        df = tables[table]
        n = len(df)
        # the derived columns only, not a copy of the table with them (the texts of every row)
        frame = derived_columns(table, df, context) if table != "documents" else {}
        if table in {"claim_quantities", "claim_entities"}:
            row_id = df["claim_id"].astype(str) + "#" + df["ordinal"].astype(str) if n else pd.Series(dtype=object)
        else:
            row_id = df[ID_COLUMNS[table]].astype(str) if n else pd.Series(dtype=object)
        part = pd.DataFrame({"table": [table] * n, "row_id": (f"{table}:" + row_id).to_numpy()})
        for col in ("parent_known", "offsets_match"):
            part[col] = np.asarray(frame[col], dtype=bool) if col in frame and n else _true(n).to_numpy()
        status_valid, reason_present, reference_known = _true(n), _true(n), _true(n)
        if table in CORPUS_STATUS and n:
            allowed, normal = CORPUS_STATUS[table]
            status_valid = member_of(df["status"], allowed).reset_index(drop=True)
            reason_present = ((df["status"] == normal) | df["reason"].notna()).reset_index(drop=True)
            own_ids = df[ID_COLUMNS[table]]
            refs = [c for c in ("duplicate_of", "near_duplicate_of") if c in df.columns]
            for col in refs:
                reference_known = reference_known & (df[col].isna() | member_of(df[col], own_ids)).reset_index(drop=True)
            if "duplicate_of" in df.columns:  # a duplicate names the row it repeats
                reference_known = reference_known & ((df["status"] != "duplicate") | df["duplicate_of"].notna()).reset_index(drop=True)
        part["status_valid"] = status_valid.to_numpy()
        part["reason_present"] = reason_present.to_numpy()
        part["reference_known"] = reference_known.to_numpy()
        part["canonical_present"] = (df["canonical"].fillna("").astype(str).str.len() > 0).to_numpy() \
            if table == "claim_entities" and n else _true(n).to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


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


@lru_cache(maxsize=None)
def _batch_definition(stage: str):
    """One pandas data source per stage, made once per process: adding and deleting a
    source per validation rewrites the context's configuration each time (~0.1 s)."""
    source = _context().data_sources.add_pandas(f"pipeline-{stage}")
    return source.add_dataframe_asset(stage).add_batch_definition_whole_dataframe("all")


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


# ----------------------------------------------------------------- data docs
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "x"


@lru_cache(maxsize=8)
def _site_builder(ctx, base_directory: str):
    from great_expectations.render.renderer.site_builder import SiteBuilder

    return SiteBuilder(
        data_context=ctx,
        store_backend={"class_name": "TupleFilesystemStoreBackend", "base_directory": base_directory},
        site_name="pipeline",
        site_section_builders={"expectations": "None", "profiling": "None"},
        show_how_to_buttons=False,
    )


def _write_data_docs_index(root: Path) -> None:
    pages = _newest_first(root.glob("validations/*/*/*/*.html"))
    rows = []
    for page in pages:
        suite, run, when = page.parts[-4], page.parts[-3], page.parts[-2]
        rel = html.escape(page.relative_to(root).as_posix())
        rows.append(f"<tr><td>{html.escape(suite)}</td><td>{html.escape(run)}</td><td>{html.escape(when)}</td>"
                    f"<td><a href=\"{rel}\">{html.escape(page.stem)}</a></td></tr>")
    doc = ("<!doctype html><meta charset=\"utf-8\"><title>Data Docs: validations</title>"
           "<link rel=\"stylesheet\" href=\"static/styles/data_docs_default_styles.css\">"
           "<h1>Great Expectations validations (newest first)</h1>"
           "<table class=\"table\"><tr><th>suite</th><th>run</th><th>validated at</th><th>page</th></tr>"
           + "".join(rows) + "</table>")
    tmp = root / f".index.{os.getpid()}.html"
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, root / "index.html")


def _newest_first(pages) -> list[Path]:
    # the folder above a page is GX's run time (20240301T090000.123456Z): sortable
    return sorted(pages, key=lambda p: (p.parent.name, p.stat().st_mtime_ns), reverse=True)


def _prune_data_docs(root: Path, suite: str, keep: int | None = None) -> None:
    keep = DATA_DOCS_KEEP if keep is None else keep
    pages = _newest_first((root / "validations" / suite).glob("*/*/*.html"))
    for page in pages[keep:]:
        page.unlink(missing_ok=True)
        for folder in (page.parent, page.parent.parent):
            try:
                folder.rmdir()  # only when empty
            except OSError:
                pass


def build_data_docs(ctx, result, suite: str, docs_dir: Path, run_name: str | None = None, batch: str = "all") -> Path:
    """Render one validation result into the local Data Docs site; the page's path."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    docs_dir = Path(docs_dir).resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    run_id = RunIdentifier(run_name=_slug(run_name or "adhoc"))
    key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite), run_id, _slug(batch))
    result.meta["run_id"] = run_id  # shown on the page (run name = the Dagster run id)
    site = _site_builder(ctx, str(docs_dir))
    store = ctx.validation_results_store
    store.set(key, result)
    try:
        site.site_section_builders["validations"].build(resource_identifiers=[key])
    finally:
        store.remove_key(key)
    if not (docs_dir / "static" / "styles").is_dir():
        site.target_store.copy_static_assets()
    url = site.get_resource_url(resource_identifier=key, only_if_exists=False)
    page = Path(unquote(urlparse(url).path)) if url else None
    if page is None or not page.exists():
        raise RuntimeError(f"GX did not write the Data Docs page for {suite} ({url})")
    _prune_data_docs(docs_dir, suite)
    _write_data_docs_index(docs_dir)
    return page


def run_suite(
    stage: str, df: pd.DataFrame, context: dict[str, pd.DataFrame] | None = None, suites_dir: Path = SUITES_DIR,
    *, data_docs_dir: Path | None = None, run_name: str | None = None, batch_name: str = "all", run_in=None,
) -> SuiteReport:
    """Validate `df` (plus its derived columns) against `expectations/<stage>.json`.

    With `data_docs_dir`, also render GX Data Docs for this validation there (page
    under `validations/<suite>/<run_name>/<time>/<batch>.html`); a failure to render
    never fails the validation, it only leaves `SuiteReport.data_docs` empty.

    The derived columns are computed here; the suite itself runs through `run_in(fn, *args)`
    when given (the execution layer's choice: `pipeline.gx_process.run` sends it to the GX
    process, so only the one frame travels), else here. The report is the same.
    """
    frame = validation_frame(stage, df, context)
    args = (stage, frame, len(df), Path(suites_dir), data_docs_dir, run_name, batch_name)
    return run_in(_run_frame, *args) if run_in is not None else _run_frame(*args)


def _run_frame(stage: str, frame: pd.DataFrame, n_rows: int, suites_dir: Path, data_docs_dir: Path | None,
               run_name: str | None, batch_name: str) -> SuiteReport:
    """`run_suite` on a frame that already has its derived columns, in this process."""
    import great_expectations as gx

    spec = load_suite(stage, str(suites_dir))
    ctx = _context()
    batch = _batch_definition(stage).get_batch(batch_parameters={"dataframe": frame})
    # an expectation may carry meta.min_rows: ratios over a handful of rows say nothing
    expectations = [e for e in spec["expectations"] if len(frame) >= e.get("meta", {}).get("min_rows", 0)]
    skipped = [e for e in spec["expectations"] if e not in expectations]
    suite = gx.ExpectationSuite(name=spec.get("name", stage), expectations=expectations)
    result = batch.validate(suite, result_format={"result_format": RESULT_FORMAT, "partial_unexpected_count": SAMPLE_SIZE})
    outcomes = []
    severities = [(e["type"], e["kwargs"], e.get("meta", {}).get("severity", "error")) for e in expectations]
    severity_of = {}
    for r in result.results:
        cfg = r.expectation_config
        plain = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
        severity_of[id(cfg)] = next((sev for t, kw, sev in severities if t == cfg.type and kw == plain), "error")
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
            severity=severity_of.get(id(cfg), "error"),
        ))
    for e in skipped:
        outcomes.append(Outcome(expectation=e["type"], column=e["kwargs"].get("column"), success=True,
                                kwargs=e["kwargs"], observed=f"skipped: fewer than {e['meta']['min_rows']} rows"))
    page = None
    if data_docs_dir is not None:
        try:
            page = str(build_data_docs(ctx, result, spec.get("name", stage), Path(data_docs_dir), run_name, batch_name))
        except Exception as exc:  # noqa: BLE001 - docs are a convenience, the verdict stands without them
            import logging

            logging.getLogger(__name__).warning("Data Docs for %s not built: %s", stage, exc)
    success = all(o.success or o.severity == "warning" for o in outcomes)
    return SuiteReport(stage, success, n_rows, outcomes, data_docs=page)


# ------------------------------------------------------- GX in a process of its own
# (`pipeline.gx_process`, which imports nothing heavy, so `pipeline run` starts it first thing)
def warm_up() -> None:
    """Import GX and make the ephemeral context (the GX process's first job)."""
    _context()
