"""Dagster tests: the definitions load, every asset materializes on the seeds with all
checks passing, and a failing suite blocks publish and leaves the old tables alone."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.dataset as ds
import pytest
import yaml

from assets import stages
from assets.checks import SUITE_CONTEXT, check_metadata
from assets.definitions import all_asset_checks
from assets.jobs import ingest_job, process_and_publish_job, publish_job
from assets.partitions import file_batches
from assets.runtime import HANDOVER
from assets.resources import ParquetFrameIOManager, PipelineSettings, Workers
from assets.runner import run_incremental
from pipeline import build
from pipeline.schemas import CONTRACT_TABLES
from pipeline.settings import DEFAULT_SPACY_MODEL

warnings.filterwarnings("ignore", category=dg.PreviewWarning)
PROJECT = Path(__file__).resolve().parent.parent
EXPECTED_ASSETS = set(CONTRACT_TABLES) | {f"warehouse/{t}" for t in CONTRACT_TABLES} | {"accepted_files", "corpus"}


def _settings(raw: Path, wh: Path, **kw) -> PipelineSettings:
    return PipelineSettings(raw_dir=str(raw), warehouse_dir=str(wh), spacy_model=DEFAULT_SPACY_MODEL, **kw)


def _defs(raw: Path, wh: Path, assets=None, **kw) -> dg.Definitions:
    return dg.Definitions(
        assets=assets or stages.STAGE_ASSETS,
        asset_checks=all_asset_checks(),
        jobs=[ingest_job, publish_job, process_and_publish_job],
        resources={
            "settings": _settings(raw, wh, **kw),
            "workers": Workers.of(_settings(raw, wh, **kw)),
            "io_manager": ParquetFrameIOManager(base_dir=str(wh / ".staging"), warehouse_dir=str(wh)),
        },
        executor=dg.in_process_executor,
    )


def _table(wh: Path, name: str) -> pd.DataFrame:
    return ds.dataset(str(wh / name), format="parquet").to_table().to_pandas()


def test_workspace_yaml_loads_every_asset_and_check():
    spec = yaml.safe_load((PROJECT / "workspace.yaml").read_text())
    module = spec["load_from"][0]["python_module"]["module_name"]
    mod = __import__(module, fromlist=["defs"])
    graph = mod.defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == EXPECTED_ASSETS
    checks = {k.to_user_string() for k in graph.asset_check_keys}
    expected = {f"{s}:{s}_suite" for s in SUITE_CONTEXT} | {"corpus:corpus_suite"}
    expected |= {f"warehouse/{t}:column_schema_change" for t in CONTRACT_TABLES}  # Dagster's, on the published tables
    assert checks == expected
    policies = {k.to_user_string(): graph.get(k).freshness_policy for k in graph.get_all_asset_keys()}
    assert all(policies[f"warehouse/{t}"] is not None for t in CONTRACT_TABLES)  # a stopped daemon shows up
    assert policies["documents"] is None
    assert {s.name for s in mod.defs.sensors} == {"raw_folder_sensor"}
    assert {s.name for s in mod.defs.schedules} == {"daily_rescan"}
    # Dagster's own loader accepts the workspace file too
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Validation successful" in out.stderr + out.stdout


def test_every_check_is_blocking():
    for check in all_asset_checks():
        for spec in check.check_specs:
            assert spec.blocking, spec.key


@pytest.mark.slow
def test_materialize_all_assets_on_seeds(tmp_path, seed_raw_dir):
    wh = tmp_path / "wh"
    defs = _defs(seed_raw_dir, wh)
    with dg.instance_for_test() as instance:
        outcome = run_incremental(defs, instance, defs.resources["settings"])
        runs = instance.get_runs()
        evaluations = [
            e for r in runs for e in instance.get_records_for_run(r.run_id).records
            if e.event_log_entry.dagster_event and e.event_log_entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
        materializations = [
            e.event_log_entry.asset_materialization for r in runs for e in instance.get_records_for_run(r.run_id).records
            if e.event_log_entry.asset_materialization is not None
        ]
    assert outcome.success, outcome.failures
    assert outcome.batches == 1 and len(runs) == 2
    assert len(evaluations) == len(SUITE_CONTEXT) + 1
    manifest = json.loads((wh / "_manifest.json").read_text())
    assert set(manifest["tables"]) == set(CONTRACT_TABLES)
    docs = _table(wh, "documents")
    assert sorted(docs["source_path"]) == [f"article_00{i}.txt" for i in range(5)]
    assert (docs["status"] == "ok").all()
    paragraphs = _table(wh, "paragraphs")
    assert {"kept", "boilerplate", "duplicate"} <= set(paragraphs["status"])
    claims = _table(wh, "claims")
    assert len(claims) > 20 and claims["speaker"].notna().sum() > 10
    assert manifest["tables"]["claims"]["rows"] == len(claims)
    # the cross-document tables were computed while the corpus suite ran, then taken by their steps
    ahead = {m.asset_key.to_user_string(): m.metadata["computed_while_the_corpus_suite_ran"].value
             for m in materializations if m.asset_key.to_user_string() in stages.CROSS_DOCUMENT}
    assert ahead == {"claim_clusters": True, "quantity_conflicts": True}
    assert HANDOVER.holding("cross_document") == 0  # both taken: nothing held
    # run on their own (a new run, from the stored corpus): computed by the step, the same tables
    with dg.instance_for_test() as instance:
        alone = dg.materialize([stages.corpus, stages.claim_clusters, stages.quantity_conflicts],
                               selection=list(stages.CROSS_DOCUMENT), instance=instance, resources=defs.resources)
    assert alone.success
    for name in stages.CROSS_DOCUMENT:
        (event,) = [m for m in alone.get_asset_materialization_events() if m.asset_key.to_user_string() == name]
        assert event.materialization.metadata["computed_while_the_corpus_suite_ran"].value is False
        value = alone.output_for_node(name)
        published = _table(wh, name)[list(value.columns)]  # in the published order and types
        assert len(value) and len(value) == len(published), name
        as_text = [df.astype(str).sort_values(list(df.columns)).reset_index(drop=True) for df in (value, published)]
        assert as_text[0].equals(as_text[1]), name


def _corrupted_paragraphs():
    """The real paragraphs asset, with every kept paragraph's end offset pushed by one."""

    @dg.asset(name="paragraphs", group_name="clean", partitions_def=file_batches,
              backfill_policy=stages.BATCH_POLICY)
    def paragraphs(documents: pd.DataFrame) -> pd.DataFrame:
        df = stages._tag(build.paragraphs_table(documents), documents)
        df.loc[df["status"] == "kept", "char_end"] += 1
        return df

    return paragraphs


def _paragraphs_broken_for(marker: str):
    """The real paragraphs asset, with the kept paragraphs of documents whose text
    contains `marker` given a wrong end offset (so only those files fail their suite)."""

    @dg.asset(name="paragraphs", group_name="clean", partitions_def=file_batches,
              backfill_policy=stages.BATCH_POLICY)
    def paragraphs(documents: pd.DataFrame) -> pd.DataFrame:
        df = stages._tag(build.paragraphs_table(documents), documents)
        bad_docs = set(documents.loc[documents["text"].fillna("").str.contains(marker), "doc_id"])
        df.loc[(df["status"] == "kept") & df["doc_id"].isin(bad_docs), "char_end"] += 1
        return df

    return paragraphs


@pytest.mark.slow
def test_a_failing_batch_is_bisected_down_to_the_bad_file(tmp_path):
    raw, wh = tmp_path / "raw", tmp_path / "wh"
    raw.mkdir()
    for i, city in enumerate(["Minsk", "Kyiv", "Riga", "Vilnius"]):
        marker = " BROKEN" if city == "Riga" else ""
        (raw / f"f{i}.txt").write_text(f"Officials said on Monday that {500 + i} soldiers arrived in {city}.{marker}\n")
    assets = [a for a in stages.STAGE_ASSETS if dg.AssetKey("paragraphs") not in a.keys] + [_paragraphs_broken_for("BROKEN")]
    with dg.instance_for_test() as instance:
        settings = _settings(raw, wh, batch_size=4)
        out = run_incremental(_defs(raw, wh, assets=assets), instance, settings)
        batches = instance.get_dynamic_partitions("file_batches")
        files_of = {b: tuple(settings.state.files_of([b])) for b in batches}
        status = instance.get_status_by_partition(dg.AssetKey("accepted_files"), batches, file_batches)
    # [f0 f1 f2 f3] fails -> [f0 f1] ok, [f2 f3] fails -> [f2] fails, [f3] ok
    assert out.batches == 5
    # what the UI's partition view shows: the assets after the failed check are failed in the batches
    # with the bad file (the single-file batch names it), materialized in the others
    by_files = {files_of[b]: status[b].value for b in batches}
    assert by_files == {("f0.txt", "f1.txt", "f2.txt", "f3.txt"): "FAILED", ("f0.txt", "f1.txt"): "MATERIALIZED",
                        ("f2.txt", "f3.txt"): "FAILED", ("f2.txt",): "FAILED", ("f3.txt",): "MATERIALIZED"}
    # f2 failed alone while the others passed: bad input, quarantined as a rejected row
    assert out.failures == []
    assert [(rel, why.split(":")[0]) for rel, why in out.quarantined] == [("f2.txt", "failed check paragraphs")]
    assert "paragraphs:paragraphs_suite" in out.quarantined[0][1]
    assert out.published and out.success
    docs = _table(wh, "documents").set_index("source_path")
    assert sorted(docs.index) == ["f0.txt", "f1.txt", "f2.txt", "f3.txt"]
    assert docs.loc["f2.txt", "status"] == "rejected" and docs.loc["f2.txt", "reason"].startswith("quarantined")
    assert (docs.drop(index="f2.txt")["status"] == "ok").all()


@pytest.mark.slow
def test_failing_suite_blocks_publish_and_keeps_old_tables(tmp_path, seed_raw_dir):
    wh = tmp_path / "wh"
    with dg.instance_for_test() as instance:
        good = run_incremental(_defs(seed_raw_dir, wh), instance, _settings(seed_raw_dir, wh))
        assert good.success
        manifest_before = (wh / "_manifest.json").read_text()
        docs_before = _table(wh, "documents")
        paragraphs_before = _table(wh, "paragraphs")
        # a new file arrives, but the paragraphs stage is broken
        (seed_raw_dir / "new.txt").write_text("Officials said on Monday that 500 soldiers arrived in the city.\n")
        broken = [a for a in stages.STAGE_ASSETS if dg.AssetKey("paragraphs") not in a.keys] + [_corrupted_paragraphs()]
        bad = run_incremental(_defs(seed_raw_dir, wh, assets=broken), instance, _settings(seed_raw_dir, wh))
    assert not bad.success
    checks = {f.check for f in bad.failures}
    assert checks == {"paragraphs:paragraphs_suite"}
    offsets = [line for f in bad.failures for line in f.lines if "offsets_match" in line]
    assert offsets and "paragraph_id=p_" in offsets[0]
    # the broken batch was never accepted, and with nothing accepted there was nothing to publish
    assert not bad.published
    assert (wh / "_manifest.json").read_text() == manifest_before
    pd.testing.assert_frame_equal(_table(wh, "documents"), docs_before)
    pd.testing.assert_frame_equal(_table(wh, "paragraphs"), paragraphs_before)


@pytest.mark.slow
def test_failing_corpus_suite_blocks_publish(tmp_path, seed_raw_dir, monkeypatch):
    """A bad assembled corpus (here: sentences pointing outside their text) stops publish."""
    wh = tmp_path / "wh"
    with dg.instance_for_test() as instance:
        assert run_incremental(_defs(seed_raw_dir, wh), instance, _settings(seed_raw_dir, wh)).success
        manifest_before = (wh / "_manifest.json").read_text()
        real, real_extend = build.assemble_corpus, build.extend_corpus

        def tampered(*frames, **kwargs):
            out = real(*frames, **kwargs)
            out["sentences"].loc[0, "char_start"] += 1
            return out

        def tampered_extension(*args, **kwargs):  # the corpus extended from the last one
            found = real_extend(*args, **kwargs)
            if found is not None:
                found[0]["sentences"].loc[0, "char_start"] += 1
            return found

        monkeypatch.setattr(build, "assemble_corpus", tampered)
        monkeypatch.setattr(build, "extend_corpus", tampered_extension)
        (seed_raw_dir / "new.txt").write_text("Officials said on Monday that 500 soldiers arrived in the city.\n")
        bad = run_incremental(_defs(seed_raw_dir, wh), instance, _settings(seed_raw_dir, wh))
    assert not bad.published
    # the corpus that failed is never the one the next run extends (it was not promoted)
    from pipeline.state import indexes_generation, load_corpus_snapshot
    state = wh / ".state"
    assert load_corpus_snapshot(state) is None or load_corpus_snapshot(state).generation != indexes_generation(state)
    assert {f.check for f in bad.failures} == {"corpus:corpus_suite"}, "\n".join(l for f in bad.failures for l in f.lines)[-3000:]
    (failure,) = bad.failures
    assert any(line.startswith("expect_column_values_to_be_in_set(offsets_match): 1 unexpected rows")
               and "sentences:" in line for line in failure.lines), failure.lines
    assert (wh / "_manifest.json").read_text() == manifest_before


def test_check_metadata_lists_failures():
    from pipeline.validation import Outcome, SuiteReport

    report = SuiteReport("paragraphs", False, 10, [
        Outcome("expect_column_values_to_be_in_set", "status", False, {}, 2, 20.0, ["bogus", "junk"]),
        Outcome("expect_column_values_to_be_unique", "paragraph_id", True, {}, 0, 0.0, []),
    ])
    meta = check_metadata(report)
    assert meta["failed_expectations"].value == 1
    assert meta["failures"].value[0]["sample"] == ["bogus", "junk"]
    assert "bogus" in meta["summary"].value


def test_stored_dict_is_written_behind_and_read_back_after_the_write(tmp_path):
    """A dict of frames (the corpus) is stored by a thread: a read from another run waits
    for it, and a failed write is raised by the next store, never lost."""
    import threading

    from assets import resources

    manager = ParquetFrameIOManager(base_dir=str(tmp_path / ".staging"), warehouse_dir=str(tmp_path))
    release = threading.Event()
    slow = manager._write_parts

    def gated(df, path):
        release.wait(5)
        slow(df, path)

    from tests.test_state import complete

    frames = {"documents": complete("documents", pd.DataFrame({"doc_id": ["a", "b"], "partition_key": ["a", "b"]})),
              "claims": complete("claims", pd.DataFrame({"claim_id": ["c"], "partition_key": ["c"]}))}
    manager._write_parts = gated  # pydantic model: instance attribute on purpose, for this test only
    try:
        manager.handle_output(dg.build_output_context(asset_key=dg.AssetKey("corpus"), run_id="r1"), frames)
        assert not (tmp_path / ".staging" / "corpus" / "documents").exists()  # still being written
        threading.Timer(0.2, release.set).start()
        back = manager.load_input(dg.build_input_context(asset_key=dg.AssetKey("corpus")))
        # read back in the stage's stored schema (every column, typed), the same values
        assert {k: v[frames[k].columns].astype(object).to_dict("list") for k, v in back.items()} == {
            k: v.astype(object).to_dict("list") for k, v in frames.items()}

        def broken(df, path):
            raise OSError("disk full")

        manager._write_parts = broken
        manager.handle_output(dg.build_output_context(asset_key=dg.AssetKey("corpus"), run_id="r2"), frames)
        with pytest.raises(RuntimeError, match="storing .*corpus failed: OSError\\('disk full'\\)"):
            manager.handle_output(dg.build_output_context(asset_key=dg.AssetKey("corpus"), run_id="r3"), None)
        assert resources.pending_writes() == 0
    finally:
        release.set()
        try:
            resources.join_pending_writes()
        except RuntimeError:
            pass


def test_stored_corpus_is_written_as_parts_and_links_the_unchanged_ones(tmp_path):
    """The corpus is stored again on every run: each table is a folder of parts, and a part
    equal to one of the version before is linked, not written. Older code's one file per
    table is still read, and replaced."""
    from assets import resources
    from tests.test_state import complete

    manager = ParquetFrameIOManager(base_dir=str(tmp_path / ".staging"), warehouse_dir=str(tmp_path))
    folder = tmp_path / ".staging" / "corpus"
    folder.mkdir(parents=True)
    old_file = complete("claims", pd.DataFrame({"claim_id": ["old"], "partition_key": ["k"]}))
    manager._write(old_file, folder / "claims.parquet")  # the layout of older code
    back = manager.load_input(dg.build_input_context(asset_key=dg.AssetKey("corpus")))
    assert back["claims"]["claim_id"].tolist() == ["old"]

    def docs(n: int, extra: list[str] = ()) -> pd.DataFrame:
        ids_ = [f"d{i:05d}" for i in range(n)] + list(extra)
        return complete("documents", pd.DataFrame({"doc_id": ids_, "partition_key": ids_,
                                                   "text": [f"text of {i} " * 10 for i in ids_]}))

    def store(run_id: str, frames: dict) -> None:
        manager.handle_output(dg.build_output_context(asset_key=dg.AssetKey("corpus"), run_id=run_id), frames)
        resources.join_pending_writes()

    claims = complete("claims", pd.DataFrame({"claim_id": ["c1"], "partition_key": ["k"]}))
    store("r1", {"documents": docs(20000), "claims": claims})
    first = (folder / "documents").resolve()
    assert not (folder / "claims.parquet").exists() and (folder / "claims").is_symlink()
    store("r2", {"documents": docs(20000, ["zz_new"]), "claims": claims})
    second = (folder / "documents").resolve()
    assert second != first
    before = {p.stat().st_ino for p in first.iterdir()}
    linked = [p for p in second.iterdir() if p.stat().st_ino in before]
    assert len(list(second.iterdir())) >= 3 and len(linked) >= len(list(second.iterdir())) - 2
    back = manager.load_input(dg.build_input_context(asset_key=dg.AssetKey("corpus")))
    assert back["documents"]["doc_id"].tolist() == [f"d{i:05d}" for i in range(20000)] + ["zz_new"]
    assert back["claims"]["claim_id"].tolist() == ["c1"]
    store("r3", {"documents": docs(3), "claims": claims})
    assert not first.exists()  # versions before the previous one go
