"""Dagster tests: the definitions load, every asset materializes on the seeds with all
checks passing, and a failing suite blocks publish and leaves the old tables alone."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.dataset as ds
import pytest
import yaml

from assets import stages
from assets.checks import SUITE_CONTEXT, all_checks, check_metadata
from assets.resources import ParquetFrameIOManager, PipelineSettings
from pipeline import build
from pipeline.schemas import CONTRACT_TABLES
from pipeline.settings import DEFAULT_SPACY_MODEL

PROJECT = Path(__file__).resolve().parent.parent
EXPECTED_ASSETS = set(CONTRACT_TABLES) | {"warehouse"}


def _resources(raw: Path, wh: Path) -> dict:
    return {
        "settings": PipelineSettings(raw_dir=str(raw), warehouse_dir=str(wh), spacy_model=DEFAULT_SPACY_MODEL),
        "io_manager": ParquetFrameIOManager(base_dir=str(wh / ".staging")),
    }


def _table(wh: Path, name: str) -> pd.DataFrame:
    return ds.dataset(str(wh / name), format="parquet").to_table().to_pandas()


def test_workspace_yaml_loads_every_asset_and_check():
    spec = yaml.safe_load((PROJECT / "workspace.yaml").read_text())
    module = spec["load_from"][0]["python_module"]["module_name"]
    mod = __import__(module, fromlist=["defs"])
    graph = mod.defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == EXPECTED_ASSETS
    checks = {k.to_user_string() for k in graph.asset_check_keys}
    assert checks == {f"{s}:{s}_suite" for s in SUITE_CONTEXT}
    # Dagster's own loader accepts the workspace file too
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Validation successful" in out.stderr + out.stdout


def test_every_check_is_blocking():
    for check in all_checks():
        for spec in check.check_specs:
            assert spec.blocking, spec.key


@pytest.mark.slow
def test_materialize_all_assets_on_seeds(tmp_path, seed_raw_dir):
    wh = tmp_path / "wh"
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*stages.STAGE_ASSETS, *all_checks()], resources=_resources(seed_raw_dir, wh), instance=instance
        )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(SUITE_CONTEXT)
    assert all(e.passed for e in evaluations), [e.asset_check_key for e in evaluations if not e.passed]
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


def _corrupted_paragraphs():
    """The real paragraphs asset, with every kept paragraph's end offset pushed by one."""

    @dg.asset(name="paragraphs", group_name="clean")
    def paragraphs(documents: pd.DataFrame) -> pd.DataFrame:
        df = build.paragraphs_table(documents)
        df.loc[df["status"] == "kept", "char_end"] += 1
        return df

    return paragraphs


@pytest.mark.slow
def test_failing_suite_blocks_publish_and_keeps_old_tables(tmp_path, seed_raw_dir):
    wh = tmp_path / "wh"
    resources = _resources(seed_raw_dir, wh)
    with dg.instance_for_test() as instance:
        good = dg.materialize([*stages.STAGE_ASSETS, *all_checks()], resources=resources, instance=instance)
        assert good.success
        manifest_before = (wh / "_manifest.json").read_text()
        docs_before = _table(wh, "documents")
        paragraphs_before = _table(wh, "paragraphs")
        # a new file arrives, but the paragraphs stage is broken
        (seed_raw_dir / "new.txt").write_text("Officials said on Monday that 500 soldiers arrived in the city.\n")
        broken = [a for a in stages.STAGE_ASSETS if dg.AssetKey("paragraphs") not in a.keys] + [_corrupted_paragraphs()]
        bad = dg.materialize([*broken, *all_checks()], resources=resources, instance=instance, raise_on_error=False)
    assert not bad.success
    failed = [e for e in bad.get_asset_check_evaluations() if not e.passed]
    assert [e.asset_check_key.name for e in failed] == ["paragraphs_suite"]
    failures = failed[0].metadata["failures"].value
    offsets = [f for f in failures if f["column"] == "offsets_match"]
    assert offsets and offsets[0]["unexpected_count"] > 0
    assert all(s.startswith("paragraph_id=p_") for s in offsets[0]["sample"])
    materialized = {e.asset_key.to_user_string() for e in bad.get_asset_materialization_events()}
    assert "warehouse" not in materialized and "sentences" not in materialized
    # the published tables are exactly the previous ones
    assert (wh / "_manifest.json").read_text() == manifest_before
    pd.testing.assert_frame_equal(_table(wh, "documents"), docs_before)
    pd.testing.assert_frame_equal(_table(wh, "paragraphs"), paragraphs_before)


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
