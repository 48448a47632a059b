"""Arrow schemas of the published tables: the contract columns first, then extras.

Each field carries its description in the Parquet field metadata, so BI tools and
`pyarrow` show what a column means. `conform` turns a pandas frame into a table of
exactly this schema, failing loudly on a missing contract column.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa

S, I32, I64, F64, B = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()
TS = pa.timestamp("us", tz="UTC")


def _f(name: str, typ: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable, metadata={"description": description})


TABLES: dict[str, pa.Schema] = {
    "documents": pa.schema([
        _f("doc_id", S, "hex SHA-256 of the document's raw bytes", False),
        _f("source_path", S, "path relative to the raw folder (file.jsonl#12 for line 12)", False),
        _f("text", S, "decoded, Unicode-normalized text; all offsets point into it", False),
        _f("title", S, "headline if found"),
        _f("published_at", TS, "publication time if found"),
        _f("language", S, "ISO 639-1 code"),
        _f("encoding", S, "encoding the bytes were decoded from", False),
        _f("n_bytes", I64, "size of the raw document in bytes", False),
        _f("status", S, "ok, rejected or duplicate", False),
        _f("reason", S, "why rejected, or which rule marked the duplicate"),
        _f("duplicate_of", S, "doc_id of the earlier identical document"),
        _f("ingested_at", TS, "when this document was first ingested", False),
        _f("source_format", S, "txt, html, jsonl (or unknown for rejected files)"),
        _f("url", S, "source URL when the input gave one"),
        _f("also_seen_at", S, "other raw paths with byte-identical content, newline-separated"),
        _f("article_text", S, "HTML pages: the article as trafilatura extracted it (text holds the whole page)"),
    ]),
    "paragraphs": pa.schema([
        _f("paragraph_id", S, "deterministic id from doc_id and offsets", False),
        _f("doc_id", S, "document of the paragraph", False),
        _f("ordinal", I32, "position in the document, from 0", False),
        _f("text", S, "documents.text[char_start:char_end]", False),
        _f("char_start", I64, "offset into documents.text", False),
        _f("char_end", I64, "end offset (exclusive) into documents.text", False),
        _f("status", S, "kept, boilerplate or duplicate", False),
        _f("reason", S, "the rule behind a non-kept status"),
        _f("duplicate_of", S, "paragraph_id of the earlier copy in the same document"),
        _f("near_duplicate_of", S, "paragraph_id of a near-identical paragraph in another document"),
        _f("is_heading", B, "a heading/title line rather than body text", False),
        _f("n_words", I32, "whitespace-separated words"),
    ]),
    "sentences": pa.schema([
        _f("sentence_id", S, "deterministic id from doc_id and offsets", False),
        _f("doc_id", S, "document of the sentence", False),
        _f("paragraph_id", S, "kept paragraph holding the sentence", False),
        _f("ordinal", I32, "position in the document, from 0", False),
        _f("text", S, "documents.text[char_start:char_end]", False),
        _f("char_start", I64, "offset into documents.text", False),
        _f("char_end", I64, "end offset (exclusive) into documents.text", False),
    ]),
    "claims": pa.schema([
        _f("claim_id", S, "deterministic id from the sentence id", False),
        _f("sentence_id", S, "sentence of the claim", False),
        _f("doc_id", S, "document of the claim", False),
        _f("text", S, "the sentence text", False),
        _f("checkworthiness", F64, "0..1 score of how checkable and consequential the claim is", False),
        _f("check_worthy", B, "checkworthiness reaches the project's threshold", False),
        _f("speaker", S, "who the claim is attributed to, fullest form in the document"),
        _f("speaker_as_written", S, "the speaker span as it stands in the sentence (he, Demchenko, the ministry)"),
        _f("speaker_type", S, "PERSON, ORG, GPE, NORP or OTHER"),
        _f("cue", S, "lemma of the attribution cue (say, reveal, according to, ...)"),
        _f("quote_type", S, "direct, indirect or none", False),
        _f("hedged", B, "modal or hedging language", False),
        _f("negated", B, "the main assertion is negated", False),
        _f("cluster_id", S, "group of claims stating the same thing across documents"),
        _f("paragraph_id", S, "paragraph of the claim"),
        _f("char_start", I64, "offset of the sentence in documents.text"),
        _f("char_end", I64, "end offset of the sentence in documents.text"),
        _f("content_lemmas", S, "sorted content-word lemmas used for clustering"),
    ]),
    "claim_quantities": pa.schema([
        _f("claim_id", S, "claim holding the quantity", False),
        _f("value", F64, "the number", False),
        _f("unit", S, "lemma of what is counted or measured"),
        _f("qualifier", S, "exact, approximate, at_most, at_least, more_than, less_than", False),
        _f("text", S, "the span as written", False),
        _f("ordinal", I32, "position of the quantity in the claim"),
        _f("doc_id", S, "document of the claim"),
        _f("char_start", I64, "offset of the span in documents.text"),
        _f("char_end", I64, "end offset of the span in documents.text"),
    ]),
    "claim_entities": pa.schema([
        _f("claim_id", S, "claim mentioning the entity", False),
        _f("text", S, "the entity as written", False),
        _f("label", S, "spaCy label (PERSON, ORG, GPE, ...)", False),
        _f("canonical", S, "one name per entity across the corpus", False),
        _f("ordinal", I32, "position of the entity in the claim"),
        _f("doc_id", S, "document of the claim"),
        _f("char_start", I64, "offset of the mention in documents.text"),
        _f("char_end", I64, "end offset of the mention in documents.text"),
    ]),
    "claim_clusters": pa.schema([
        _f("cluster_id", S, "deterministic id from the member claim ids", False),
        _f("n_claims", I32, "claims in the cluster", False),
        _f("n_documents", I32, "distinct documents in the cluster", False),
        _f("representative_claim_id", S, "the most check-worthy member", False),
        _f("representative_text", S, "text of the representative claim"),
        _f("claim_ids", S, "member claim ids, space-separated"),
    ]),
    "quantity_conflicts": pa.schema([
        _f("claim_id_a", S, "first claim", False),
        _f("claim_id_b", S, "second claim (another document)", False),
        _f("doc_id_a", S, "document of the first claim", False),
        _f("doc_id_b", S, "document of the second claim", False),
        _f("unit", S, "unit both quantities measure (synonyms folded)", False),
        _f("value_a", F64, "number in the first claim", False),
        _f("value_b", F64, "number in the second claim", False),
        _f("qualifier_a", S, "qualifier of the first number", False),
        _f("qualifier_b", S, "qualifier of the second number", False),
        _f("text_a", S, "first quantity as written"),
        _f("text_b", S, "second quantity as written"),
        _f("shared_entities", S, "canonical entities both claims mention"),
        _f("n_claim_pairs", I32, "pairs of claims in different documents making these same two statements "
                                 "(same unit, value, qualifier and entities); this row names the first pair"),
        _f("n_documents", I32, "documents making either of the two statements"),
        _f("reached_via", S, "the claim cluster (statement group) through which this pair of documents was "
                             "reached from a conflict of another member; null when found directly"),
        _f("different_time", B, "one figure is dated before the time of its report ('prior to the withdrawal', "
                                "'previously', 'had recorded') and the other is not: a change over time rather "
                                "than a contradiction"),
    ]),
}

CONTRACT_TABLES = tuple(TABLES)


def empty_frame(table: str) -> pd.DataFrame:
    return TABLES[table].empty_table().to_pandas()


def member_of(column: pd.Series, values) -> pd.Series:
    """`column.isin(values)` for a column of ids (strings): whether each value is among
    `values` (a set, list or column of strings; a missing value never matches). Arrow's `is_in` over
    the whole set at once: pandas' own `isin` on a string column makes one Arrow scalar per
    member of `values` (11,000 ids tested against 44,000 rows: 0.09 s, here 0.004 s; several
    times that while another thread of the process wants the GIL, as in the corpus suite)."""
    import pyarrow.compute as pc

    try:
        arr = pa.array(column.array, from_pandas=True)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) or pa.types.is_null(arr.type)):
            raise TypeError(arr.type)
        if isinstance(values, pd.Series):
            members = pa.array(values.array, from_pandas=True).drop_null().cast(pa.large_string())
        else:
            members = pa.array([v for v in values if v is not None], type=pa.large_string())
        found = pc.fill_null(pc.is_in(arr.cast(pa.large_string()), value_set=members), False)
    except (pa.ArrowException, TypeError):  # not strings: pandas' own
        return column.isin(values)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=column.index, dtype=bool)


# published columns added after warehouses existed: a frame made by code that predates one
# lacks it, and it is null there (stored batch files are migrated alike by `fit_stored`)
LATER_COLUMNS: dict[str, frozenset[str]] = {"documents": frozenset({"article_text"})}


def conform(df: pd.DataFrame, table: str) -> pa.Table:
    """The frame as an Arrow table of exactly the table's schema (extra columns dropped;
    a missing column is an error, except one of `LATER_COLUMNS`, which is null)."""
    schema = TABLES[table]
    later = LATER_COLUMNS.get(table, frozenset())
    missing = [f.name for f in schema if f.name not in df.columns and f.name not in later]
    if missing:
        raise ValueError(f"{table}: missing columns {missing}")
    return pa.Table.from_arrays([_array(df[field.name], field) if field.name in df.columns
                                 else pa.nulls(len(df), type=field.type) for field in schema], schema=schema)


# ------------------------------------------------------------------ internal (state) schemas
# The per-file stages store their rows under `<warehouse>/.state/batches/<stage>/` and the
# corpus stage stages its tables under `.staging/`; both are written and read with these
# schemas: the published columns plus the internal ones below. A frame is never typed by
# pandas' inference (a batch whose files lack a stat would store NaN sizes as doubles, a
# column of Nones as `null`), so every stored file of a stage has one schema.
KEY_FIELD = _f("partition_key", S, "the raw file (Dagster partition key) the row came from")
INTERNAL_FIELDS: dict[str, list[pa.Field]] = {
    "documents": [
        _f("file_sha256", S, "SHA-256 of the whole raw file the document was read from"),
        _f("file_size", I64, "size in bytes of the raw file when it was read"),
        _f("file_mtime_ns", I64, "modification time (ns) of the raw file when it was read"),
        _f("file_ctime_ns", I64, "inode change time (ns) of the raw file when it was read"),
        _f("file_inode", I64, "inode number of the raw file when it was read"),
    ],
}
MAX_EXACT_FLOAT_INT = 2 ** 53


class StoredSchemaError(ValueError):
    """A stored or staged frame that does not fit its schema; the message names the file."""


def state_schema(stage: str) -> pa.Schema:
    """The schema of a stage's stored rows: published columns, internal ones, the partition key."""
    fields = list(TABLES[stage]) + INTERNAL_FIELDS.get(stage, []) + [KEY_FIELD]
    return pa.schema(fields, metadata={b"pipeline_stage": stage.encode()})


def _array(col: pd.Series, field: pa.Field) -> pa.Array | pa.ChunkedArray:
    typ = field.type
    if pa.types.is_integer(typ) and pd.api.types.is_float_dtype(col.dtype):
        values = col.dropna()
        if len(values) and (((values % 1) != 0).any() or (values.abs() > MAX_EXACT_FLOAT_INT).any()):
            raise ValueError(f"column {field.name!r}: float values that are not exact integers")
        col = col.astype("Int64")
    if pa.types.is_timestamp(typ):
        return pa.array(pd.to_datetime(col, utc=True), type=typ, from_pandas=True)
    # strings: an Arrow-backed column is taken as it is (no Python object per value); an
    # object column is converted by Arrow, which rejects a value that is not a string and
    # reads NaN/None/NA as null
    return pa.array(col, type=typ, from_pandas=True)


def to_arrow(df: pd.DataFrame, schema: pa.Schema, where: str) -> pa.Table:
    """`df` as a table of exactly `schema`: nullable columns it lacks are null, a column the
    schema does not know or a value that does not fit is an error naming `where`."""
    unknown = [c for c in df.columns if schema.get_field_index(c) < 0]
    if unknown:
        raise StoredSchemaError(f"{where}: columns not in the schema: {unknown}")
    arrays = []
    for field in schema:
        if field.name not in df.columns:
            if not field.nullable and len(df):
                raise StoredSchemaError(f"{where}: missing column {field.name!r}")
            arrays.append(pa.nulls(len(df), type=field.type))
            continue
        try:
            arrays.append(_array(df[field.name], field))
        except (ValueError, TypeError, pa.ArrowException) as exc:
            raise StoredSchemaError(f"{where}: column {field.name!r} does not fit {field.type}: {exc}") from exc
    return pa.Table.from_arrays(arrays, schema=schema)


def fit_stored(table: pa.Table, schema: pa.Schema, where: str) -> pa.Table:
    """A stored table read back as `schema`.

    Files written before the schemas were fixed are migrated here: a column typed `null`
    (all values missing) or `large_string` takes its schema type, whole-number doubles
    become integers, missing nullable columns are null, unknown columns are dropped.
    Anything else is a `StoredSchemaError` naming the file.
    """
    if table.schema.equals(schema, check_metadata=False):
        return table
    arrays = []
    for field in schema:
        index = table.schema.get_field_index(field.name)
        if index < 0:
            if not field.nullable and table.num_rows:
                raise StoredSchemaError(f"{where}: stored rows lack column {field.name!r}")
            arrays.append(pa.nulls(table.num_rows, type=field.type))
            continue
        column = table.column(index)
        if column.type != field.type:
            try:
                if pa.types.is_floating(column.type) and pa.types.is_integer(field.type):
                    column = column.cast(field.type, safe=False)  # doubles of old batch files: whole numbers
                else:
                    column = column.cast(field.type)
            except (pa.ArrowException, ValueError) as exc:
                raise StoredSchemaError(f"{where}: column {field.name!r} is {column.type}, "
                                        f"not {field.type}: {exc}") from exc
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=schema)


def staged_table(name: str, df: pd.DataFrame) -> pa.Table:
    """A corpus-level intermediate table (`<warehouse>/.staging/`) in its schema: the
    stored-rows schema of a per-document stage, the published one of the others."""
    if name in INTERNAL_FIELDS or name in ("paragraphs", "sentences", "claims", "claim_quantities", "claim_entities"):
        return to_arrow(df, state_schema(name), f"staged {name}")
    if name in TABLES:
        return to_arrow(df, TABLES[name], f"staged {name}")
    raise StoredSchemaError(f"staged {name}: no schema for this table (pipeline/schemas.py)")
