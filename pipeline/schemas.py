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
    ]),
}

CONTRACT_TABLES = tuple(TABLES)


def empty_frame(table: str) -> pd.DataFrame:
    return TABLES[table].empty_table().to_pandas()


def conform(df: pd.DataFrame, table: str) -> pa.Table:
    """The frame as an Arrow table of exactly the table's schema (extra columns dropped)."""
    schema = TABLES[table]
    missing = [f.name for f in schema if f.name not in df.columns]
    if missing:
        raise ValueError(f"{table}: missing columns {missing}")
    arrays = []
    for field in schema:
        col = df[field.name]
        if pa.types.is_timestamp(field.type):
            col = pd.to_datetime(col, utc=True)
        arr = pa.array(col.astype(object).where(col.notna(), None).tolist() if not pa.types.is_timestamp(field.type) else col, type=field.type, from_pandas=True)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)
