"""Great Expectations Data Docs: one page per validation under the warehouse, linked
from the Dagster check's metadata, optional (PIPELINE_DATA_DOCS=0) and pruned."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from assets import checks
from pipeline import validation


def _clusters(duplicate: bool) -> pd.DataFrame:
    return pd.DataFrame({
        "cluster_id": ["k_1", "k_1" if duplicate else "k_2"], "n_claims": [2, 3], "n_documents": [2, 2],
        "representative_claim_id": ["c_1", "c_2"], "representative_text": ["a", "b"], "claim_ids": ["c_1 c_9", "c_2 c_8"],
    })


def test_failing_validation_gets_a_data_docs_page(tmp_path):
    docs = tmp_path / "wh" / "data_docs"
    report = validation.run_suite("claim_clusters", _clusters(duplicate=True), data_docs_dir=docs,
                                  run_name="run-1", batch_name="raw_files=a.txt")
    assert not report.success
    page = Path(report.data_docs)
    assert page.is_file() and page.is_relative_to(docs.resolve())
    assert page.relative_to(docs.resolve()).parts[:3] == ("validations", "claim_clusters", "run-1")
    assert page.name == "raw_files=a.txt.html"
    html = page.read_text()
    assert "claim_clusters" in html and "k_1" in html  # the unexpected value is on the page
    assert (docs / "static" / "styles").is_dir()  # GX's CSS, so the page renders offline
    assert page.relative_to(docs.resolve()).as_posix() in (docs / "index.html").read_text()
    assert report.data_docs_url == page.as_uri()
    meta = checks.check_metadata(report)
    assert meta["data_docs"].value == str(page)
    assert meta["data_docs_url"].value == page.as_uri()


def test_no_data_docs_by_default_and_old_pages_pruned(tmp_path, monkeypatch):
    report = validation.run_suite("claim_clusters", _clusters(duplicate=False))
    assert report.success and report.data_docs is None
    assert "data_docs" not in checks.check_metadata(report)

    monkeypatch.setattr(validation, "DATA_DOCS_KEEP", 2)
    docs = tmp_path / "docs"
    pages = [validation.run_suite("claim_clusters", _clusters(duplicate=False), data_docs_dir=docs,
                                  run_name=f"run-{i}").data_docs for i in range(4)]
    assert [Path(p).exists() for p in pages] == [False, False, True, True]
    assert not (docs / "validations" / "claim_clusters" / "run-0").exists()


@pytest.mark.parametrize(("value", "on"), [(None, True), ("1", True), ("0", False), ("off", False)])
def test_pipeline_data_docs_switch(tmp_path, value, on):
    from assets.resources import PipelineSettings
    from pipeline.settings import Settings

    env = {"PIPELINE_WAREHOUSE_DIR": str(tmp_path)} | ({} if value is None else {"PIPELINE_DATA_DOCS": value})
    resource = PipelineSettings.from_settings(Settings.from_env(env)).model_copy(update={"warehouse_dir": str(tmp_path)})
    context = SimpleNamespace(resources=SimpleNamespace(settings=resource))
    expected = tmp_path / checks.DATA_DOCS_DIR if on else None
    assert checks._data_docs_dir(context) == expected
