"""What BI tools see: a stable published schema, described columns, reader-friendly
Parquet, and a DuckDB catalog with commented views and ready analytical views.

The warehouse here is small and hand-made (frames through `schemas.conform`, then
`publish.publish`), so these tests need neither Dagster nor spaCy.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import publish as pub
from pipeline.catalog_views import ANALYTICAL_VIEWS, TABLE_DESCRIPTIONS
from pipeline.schemas import CONTRACT_TABLES, TABLES, conform

EXPECTED = json.loads((Path(__file__).parent / "data" / "expected_schema.json").read_text())["tables"]
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
DUCKDB_TYPES = {
    "string": "VARCHAR", "int32": "INTEGER", "int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN",
    "timestamp[us, tz=UTC]": "TIMESTAMP WITH TIME ZONE",
}


def _frames() -> dict[str, pd.DataFrame]:
    """Two documents reporting troop numbers that contradict each other, and a corroborated claim."""
    text_a = "Troops arrive.\nUp to 9,000 troops are in Belarus, the minister said.\nMenu | Home\n"
    text_b = "Border report.\nSome 10,200 troops are in Belarus, Deyneko said.\nTanks moved too.\n"
    docs = pd.DataFrame({
        "doc_id": ["da", "db"], "source_path": ["a.txt", "b.txt"], "text": [text_a, text_b],
        "title": ["Troops arrive", "Border report"], "published_at": [T0, None], "language": ["en", "en"],
        "encoding": ["utf-8", "utf-8"], "n_bytes": [len(text_a), len(text_b)], "status": ["ok", "ok"],
        "reason": [None, None], "duplicate_of": [None, None], "ingested_at": [T0, T0],
        "source_format": ["txt", "txt"], "url": [None, None], "also_seen_at": [None, None],
    })

    def spans(doc_id, text):
        out, pos = [], 0
        for i, line in enumerate(text.splitlines()):
            out.append((doc_id, i, line, pos, pos + len(line)))
            pos += len(line) + 1
        return out

    rows = spans("da", text_a) + spans("db", text_b)
    paragraphs = pd.DataFrame({
        "paragraph_id": [f"p_{d}{i}" for d, i, *_ in rows], "doc_id": [r[0] for r in rows],
        "ordinal": [r[1] for r in rows], "text": [r[2] for r in rows], "char_start": [r[3] for r in rows],
        "char_end": [r[4] for r in rows],
        "status": ["kept", "kept", "boilerplate", "kept", "kept", "kept"],
        "reason": [None, None, "navigation", None, None, None], "duplicate_of": [None] * 6,
        "near_duplicate_of": [None] * 6, "is_heading": [True, False, False, True, False, False],
        "n_words": [len(r[2].split()) for r in rows],
    })
    kept = paragraphs[paragraphs["status"] == "kept"].reset_index(drop=True)
    sentences = pd.DataFrame({
        "sentence_id": [f"s_{p}" for p in kept["paragraph_id"]], "doc_id": kept["doc_id"],
        "paragraph_id": kept["paragraph_id"], "ordinal": kept["ordinal"], "text": kept["text"],
        "char_start": kept["char_start"], "char_end": kept["char_end"],
    })
    claim_rows = sentences[sentences["text"].str.contains("troops|Tanks")].reset_index(drop=True)
    claims = pd.DataFrame({
        "claim_id": ["c_a1", "c_b1", "c_b2"], "sentence_id": claim_rows["sentence_id"], "doc_id": claim_rows["doc_id"],
        "text": claim_rows["text"], "checkworthiness": [0.9, 0.8, 0.3],
        "speaker": ["the minister", "Serhiy Deyneko", None], "speaker_type": ["OTHER", "PERSON", None],
        "cue": ["say", "say", None], "quote_type": ["indirect", "indirect", "none"],
        "hedged": [False, False, False], "negated": [False, False, False], "cluster_id": ["k_1", "k_1", None],
        "paragraph_id": claim_rows["paragraph_id"], "char_start": claim_rows["char_start"],
        "char_end": claim_rows["char_end"], "content_lemmas": ["belarus troop", "belarus troop", "tank move"],
        "check_worthy": [True, True, False], "speaker_as_written": ["the minister", "Deyneko", None],
    })
    quantities = pd.DataFrame({
        "claim_id": ["c_a1", "c_b1"], "value": [9000.0, 10200.0], "unit": ["troop", "troop"],
        "qualifier": ["at_most", "approximate"], "text": ["Up to 9,000 troops", "Some 10,200 troops"],
        "ordinal": [0, 0], "doc_id": ["da", "db"], "char_start": [15, 15], "char_end": [33, 33],
    })
    entities = pd.DataFrame({
        "claim_id": ["c_a1", "c_b1", "c_b1"], "text": ["Belarus", "Belarus", "Deyneko"],
        "label": ["GPE", "GPE", "PERSON"], "canonical": ["Belarus", "Belarus", "Serhiy Deyneko"],
        "ordinal": [0, 0, 1], "doc_id": ["da", "db", "db"], "char_start": [40, 43, 52], "char_end": [47, 50, 59],
    })
    clusters = pd.DataFrame({
        "cluster_id": ["k_1", "k_solo"], "n_claims": [2, 1], "n_documents": [2, 1],
        "representative_claim_id": ["c_a1", "c_b2"],
        "representative_text": [claims.loc[0, "text"], claims.loc[2, "text"]], "claim_ids": ["c_a1 c_b1", "c_b2"],
    })
    conflicts = pd.DataFrame({
        "claim_id_a": ["c_a1"], "claim_id_b": ["c_b1"], "doc_id_a": ["da"], "doc_id_b": ["db"], "unit": ["troop"],
        "value_a": [9000.0], "value_b": [10200.0], "qualifier_a": ["at_most"], "qualifier_b": ["approximate"],
        "text_a": ["Up to 9,000 troops"], "text_b": ["Some 10,200 troops"], "shared_entities": ["Belarus"],
        "n_claim_pairs": [1], "n_documents": [2], "reached_via": [None],
        "different_time": [False],
    })
    return {"documents": docs, "paragraphs": paragraphs, "sentences": sentences, "claims": claims,
            "claim_quantities": quantities, "claim_entities": entities, "claim_clusters": clusters,
            "quantity_conflicts": conflicts}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    wh = tmp_path_factory.mktemp("bi") / "wh"
    pub.publish(wh, {name: conform(df, name) for name, df in _frames().items()}, now=T0)
    return wh


@pytest.fixture()
def catalog(warehouse):
    con = duckdb.connect(str(warehouse / "catalog.duckdb"), read_only=True)
    yield con
    con.close()


def _part(warehouse: Path, table: str) -> Path:
    (part,) = sorted((warehouse / table).glob("*.parquet"))
    return part


# ------------------------------------------------------------ stable schema
def test_expected_schema_file_covers_the_contract():
    assert set(EXPECTED) == set(CONTRACT_TABLES)
    for table, columns in EXPECTED.items():
        assert any(c["contract"] for c in columns), table
        assert set(DUCKDB_TYPES) >= {c["type"] for c in columns}, table


@pytest.mark.parametrize("table", CONTRACT_TABLES)
def test_schemas_py_keeps_every_expected_column_type(table):
    """Editing pipeline/schemas.py so that a published column changes type (or disappears) fails here.

    New columns are welcome (the contract allows them); add them to the expected file on purpose.
    """
    schema = TABLES[table]
    for col in EXPECTED[table]:
        assert col["name"] in schema.names, f"{table}.{col['name']} was removed"
        field = schema.field(col["name"])
        assert str(field.type) == col["type"], f"{table}.{col['name']}: {field.type} != expected {col['type']}"
        assert field.nullable == col["nullable"], f"{table}.{col['name']}: nullability changed"


@pytest.mark.parametrize("table", CONTRACT_TABLES)
def test_published_parquet_schema_matches_expected(warehouse, table):
    published = pq.read_schema(_part(warehouse, table))
    for col in EXPECTED[table]:
        assert col["name"] in published.names, f"{table}.{col['name']} missing from the Parquet file"
        field = published.field(col["name"])
        assert str(field.type) == col["type"], f"{table}.{col['name']}: {field.type} != expected {col['type']}"
        assert field.nullable == col["nullable"], f"{table}.{col['name']}: nullability changed"
    # the contract columns come first, in their documented order
    names = [c["name"] for c in EXPECTED[table]]
    assert published.names[:len(names)] == names


@pytest.mark.parametrize("table", CONTRACT_TABLES)
def test_catalog_view_types_match_expected(catalog, table):
    types = dict(catalog.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall())
    for col in EXPECTED[table]:
        assert types.get(col["name"]) == DUCKDB_TYPES[col["type"]], (table, col["name"], types.get(col["name"]))


# ------------------------------------------------------------- descriptions
@pytest.mark.parametrize("table", CONTRACT_TABLES)
def test_column_descriptions_in_parquet_field_metadata(warehouse, table):
    schema = pq.read_schema(_part(warehouse, table))
    for field in schema:
        desc = (field.metadata or {}).get(b"description", b"").decode()
        assert desc, f"{table}.{field.name} has no description"
        assert desc == TABLES[table].field(field.name).metadata[b"description"].decode()
    # and at file level, for readers that ignore Arrow's field metadata (JSON in the footer)
    meta = pq.read_metadata(_part(warehouse, table)).metadata
    assert meta[b"table"] == table.encode()
    assert meta[b"description"].decode() == TABLE_DESCRIPTIONS[table]
    assert set(json.loads(meta[b"column_descriptions"])) == set(schema.names)


def test_descriptions_readable_through_duckdb_and_pandas(warehouse):
    part = _part(warehouse, "claims").as_posix()
    con = duckdb.connect()
    try:
        kv = dict(con.execute(f"SELECT decode(key), decode(value) FROM parquet_kv_metadata('{part}')").fetchall())
    finally:
        con.close()
    assert json.loads(kv["column_descriptions"])["speaker"].startswith("who the claim is attributed to")
    table = pq.read_table(part)
    assert table.schema.field("checkworthiness").metadata[b"description"].startswith(b"0..1")


# ------------------------------------------------------------ Parquet layout
def test_parquet_written_for_readers(warehouse):
    for table in CONTRACT_TABLES:
        meta = pq.read_metadata(_part(warehouse, table))
        rg = meta.row_group(0)
        columns = {rg.column(i).path_in_schema: rg.column(i) for i in range(rg.num_columns)}
        assert {c.compression for c in columns.values()} == {"ZSTD"}, table
        assert all(c.statistics is not None and c.statistics.has_min_max for c in columns.values()
                   if c.statistics is not None and c.statistics.null_count < rg.num_rows), table
        dictionary = {n for n, c in columns.items() if "RLE_DICTIONARY" in c.encodings or "PLAIN_DICTIONARY" in c.encodings}
        assert dictionary == pub.DICTIONARY_COLUMNS[table] & set(columns), table
    # low-cardinality yes, unique ids and free text no
    assert {"status", "language"} <= pub.DICTIONARY_COLUMNS["documents"]
    assert "doc_id" not in pub.DICTIONARY_COLUMNS["documents"] and "text" not in pub.DICTIONARY_COLUMNS["claims"]


def test_tables_sorted_for_common_filters(warehouse):
    clusters = pq.read_table(_part(warehouse, "claim_clusters")).to_pandas()
    assert list(clusters["cluster_id"]) == ["k_1", "k_solo"]  # most corroborated first
    claims = pq.read_table(_part(warehouse, "claims")).to_pandas()
    assert list(zip(claims["doc_id"], claims["char_start"])) == sorted(zip(claims["doc_id"], claims["char_start"]))
    entities = pq.read_table(_part(warehouse, "claim_entities")).to_pandas()
    assert list(entities["label"]) == sorted(entities["label"])


def test_row_groups_are_sized_by_bytes():
    narrow = pa.table({"x": pa.array(range(100), pa.int32())})
    wide = pa.table({"x": pa.array(["y" * 100_000] * 10)})
    assert pub._row_group_rows(narrow) == pub.ROW_GROUP_MAX_ROWS
    assert pub._row_group_rows(wide) == pub.ROW_GROUP_MIN_ROWS
    assert pub._row_group_rows(narrow.slice(0, 0)) == pub.ROW_GROUP_MIN_ROWS


# ------------------------------------------------------------------ catalog
def test_catalog_comments_every_view_and_column(catalog):
    views = dict(catalog.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    expected = set(CONTRACT_TABLES) | {v.name for v in ANALYTICAL_VIEWS}
    assert set(views) == expected
    assert all(views[v] for v in expected), {v: views[v] for v in expected if not views[v]}
    uncommented = catalog.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND comment IS NULL").fetchall()
    assert uncommented == []
    (comment,) = catalog.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'claims' AND column_name = 'speaker'").fetchone()
    assert comment == TABLES["claims"].field("speaker").metadata[b"description"].decode()


def test_claims_with_speakers_and_quantities(catalog):
    rows = catalog.execute("""
        SELECT claim_id, speaker, document_title, quantity_text, value, unit, qualifier
        FROM claims_with_speakers_and_quantities ORDER BY claim_id""").fetchall()
    assert rows == [
        ("c_a1", "the minister", "Troops arrive", "Up to 9,000 troops", 9000.0, "troop", "at_most"),
        ("c_b1", "Serhiy Deyneko", "Border report", "Some 10,200 troops", 10200.0, "troop", "approximate"),
        ("c_b2", None, "Border report", None, None, None, None),  # no number: still listed once
    ]


def test_top_claim_clusters(catalog):
    rows = catalog.execute("""
        SELECT rank, cluster_id, n_documents, n_claims, representative_text, representative_speaker, speakers, documents
        FROM top_claim_clusters""").fetchall()
    assert [r[:4] for r in rows] == [(1, "k_1", 2, 2), (2, "k_solo", 1, 1)]
    top = rows[0]
    assert top[4].startswith("Up to 9,000 troops")
    assert top[5] == "the minister"
    assert top[6] == "Serhiy Deyneko; the minister"
    assert top[7] == "Border report; Troops arrive"


def test_conflicts_side_by_side(catalog):
    df = catalog.execute("SELECT * FROM conflicts_side_by_side").df()
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["value_a"], row["qualifier_a"], row["value_b"], row["qualifier_b"]) == (9000.0, "at_most", 10200.0, "approximate")
    assert row["sentence_a"] == "Up to 9,000 troops are in Belarus, the minister said."
    assert row["sentence_b"] == "Some 10,200 troops are in Belarus, Deyneko said."
    assert (row["speaker_a"], row["speaker_b"]) == ("the minister", "Serhiy Deyneko")
    assert (row["title_a"], row["title_b"]) == ("Troops arrive", "Border report")
    assert row["shared_entities"] == "Belarus"


def test_document_overview(catalog):
    rows = catalog.execute("""
        SELECT source_path, n_paragraphs, n_kept_paragraphs, n_boilerplate_paragraphs, n_sentences, n_claims,
               n_attributed_claims, n_quantities FROM document_overview""").fetchall()
    assert rows == [("a.txt", 3, 2, 1, 2, 1, 1, 1), ("b.txt", 3, 3, 0, 3, 2, 1, 1)]


def test_analytical_views_need_all_their_tables(tmp_path):
    frames = _frames()
    pub.publish(tmp_path / "wh", {"documents": conform(frames["documents"], "documents")}, now=T0)
    con = duckdb.connect(str(tmp_path / "wh" / "catalog.duckdb"), read_only=True)
    try:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    finally:
        con.close()
    assert views == {"documents"}


def test_empty_tables_publish_and_views_work(tmp_path):
    empty = {name: TABLES[name].empty_table() for name in CONTRACT_TABLES}
    pub.publish(tmp_path / "wh", empty, now=T0)
    con = duckdb.connect(str(tmp_path / "wh" / "catalog.duckdb"), read_only=True)
    try:
        for view in ANALYTICAL_VIEWS:
            assert con.execute(f"SELECT count(*) FROM {view.name}").fetchone() == (0,)
    finally:
        con.close()
