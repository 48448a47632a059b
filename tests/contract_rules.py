"""The data contract (../shared/DATA_CONTRACT.md) as executable rules, owned by the project.

Kept independent of the shared checker on purpose: the tests must pass from a
clean clone, and the project must notice a contract break by itself.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

STRING, I32, I64, F64, BOOL, TS = "string", "int32", "int64", "double", "bool", "timestamp"
CONTRACT = {
    "documents": {"doc_id": STRING, "source_path": STRING, "text": STRING, "title": STRING, "published_at": TS,
                  "language": STRING, "encoding": STRING, "n_bytes": I64, "status": STRING, "reason": STRING,
                  "duplicate_of": STRING, "ingested_at": TS},
    "paragraphs": {"paragraph_id": STRING, "doc_id": STRING, "ordinal": I32, "text": STRING, "char_start": I64,
                   "char_end": I64, "status": STRING, "reason": STRING, "duplicate_of": STRING,
                   "near_duplicate_of": STRING, "is_heading": BOOL},
    "sentences": {"sentence_id": STRING, "doc_id": STRING, "paragraph_id": STRING, "ordinal": I32, "text": STRING,
                  "char_start": I64, "char_end": I64},
    "claims": {"claim_id": STRING, "sentence_id": STRING, "doc_id": STRING, "text": STRING, "checkworthiness": F64,
               "check_worthy": BOOL, "speaker": STRING, "speaker_as_written": STRING, "speaker_type": STRING, "cue": STRING, "quote_type": STRING, "hedged": BOOL,
               "negated": BOOL, "cluster_id": STRING},
    "claim_quantities": {"claim_id": STRING, "value": F64, "unit": STRING, "qualifier": STRING, "text": STRING},
    "claim_entities": {"claim_id": STRING, "text": STRING, "label": STRING, "canonical": STRING},
    "claim_clusters": {"cluster_id": STRING, "n_claims": I32, "n_documents": I32, "representative_claim_id": STRING},
    "quantity_conflicts": {"claim_id_a": STRING, "claim_id_b": STRING, "doc_id_a": STRING, "doc_id_b": STRING,
                           "unit": STRING, "value_a": F64, "value_b": F64, "qualifier_a": STRING,
                           "qualifier_b": STRING},
}
PRIMARY_KEYS = {"documents": "doc_id", "paragraphs": "paragraph_id", "sentences": "sentence_id",
                "claims": "claim_id", "claim_clusters": "cluster_id"}
ENUMS = {
    ("documents", "status"): {"ok", "rejected", "duplicate"},
    ("paragraphs", "status"): {"kept", "boilerplate", "duplicate"},
    ("claims", "quote_type"): {"direct", "indirect", "none"},
    ("claim_quantities", "qualifier"): {"exact", "approximate", "at_most", "at_least", "more_than", "less_than"},
}
_TYPE_TESTS = {
    STRING: lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t),
    I32: pa.types.is_int32, I64: pa.types.is_int64, F64: pa.types.is_float64, BOOL: pa.types.is_boolean,
    TS: lambda t: pa.types.is_timestamp(t) and t.tz is not None and t.tz.upper() in {"UTC", "+00:00"},
}


def contract_problems(warehouse: Path) -> list[str]:
    """Every way the warehouse breaks the contract; empty when it conforms."""
    problems: list[str] = []
    tables: dict[str, pa.Table] = {}
    for name, columns in CONTRACT.items():
        folder = warehouse / name
        if not folder.is_dir():
            problems.append(f"{name}: missing folder")
            continue
        table = ds.dataset(str(folder), format="parquet", partitioning="hive").to_table()
        tables[name] = table
        for col, want in columns.items():
            if col not in table.column_names:
                problems.append(f"{name}.{col}: missing")
            elif not _TYPE_TESTS[want](table.schema.field(col).type):
                problems.append(f"{name}.{col}: type {table.schema.field(col).type}, want {want}")
        key = PRIMARY_KEYS.get(name)
        if key in table.column_names:
            values = table.column(key).to_pylist()
            if len(values) != len(set(values)) or None in values:
                problems.append(f"{name}.{key}: not a unique non-null key")
    for (name, col), allowed in ENUMS.items():
        if name in tables and col in tables[name].column_names:
            bad = set(tables[name].column(col).to_pylist()) - allowed
            if bad:
                problems.append(f"{name}.{col}: values outside the enumeration: {sorted(map(str, bad))}")
    if "documents" in tables:
        text = dict(zip(tables["documents"].column("doc_id").to_pylist(), tables["documents"].column("text").to_pylist()))
        for name in ("paragraphs", "sentences"):
            if name not in tables:
                continue
            t = tables[name]
            rows = zip(*(t.column(c).to_pylist() for c in ("doc_id", "char_start", "char_end", "text")))
            bad = sum(1 for d, a, b, s in rows if (text.get(d) or "")[a:b] != s)
            if bad:
                problems.append(f"{name}: {bad} rows whose text is not documents.text[char_start:char_end]")
    catalog = warehouse / "catalog.duckdb"
    if not catalog.exists():
        problems.append("catalog.duckdb missing")
    else:
        import duckdb

        con = duckdb.connect(str(catalog), read_only=True)
        try:
            views = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            for name in sorted(set(CONTRACT) - views):
                problems.append(f"catalog.duckdb: no view {name}")
            for name in sorted(set(CONTRACT) & views):
                n_view = con.execute(f"select count(*) from {name}").fetchone()[0]
                if name in tables and n_view != tables[name].num_rows:
                    problems.append(f"catalog.duckdb: view {name} has {n_view} rows, folder {tables[name].num_rows}")
        finally:
            con.close()
    return problems
