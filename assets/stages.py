"""One asset per stage; each calls a function of `pipeline.build` and reports metadata."""

import dagster as dg
import pandas as pd

from assets.resources import PipelineSettings
from pipeline import build, nlp, publish as publishing, schemas


def _preview(df: pd.DataFrame, columns: list[str], n: int = 5) -> dg.MetadataValue:
    cols = [c for c in columns if c in df.columns]
    sample = df[cols].head(n).copy()
    for c in cols:
        if sample[c].dtype == object:
            sample[c] = sample[c].map(lambda v: (str(v)[:120] + "…") if isinstance(v, str) and len(v) > 120 else v)
    return dg.MetadataValue.md(sample.to_markdown(index=False) if len(sample) else "_(empty)_")


def _schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(f.name, str(f.type), description=(f.metadata or {}).get(b"description", b"").decode())
        for f in schemas.TABLES[table]
    ])


def _meta(table: str) -> dict:
    return {"dagster/column_schema": _schema(table)}


@dg.asset(group_name="ingest", kinds={"python"}, metadata=_meta("documents"),
          description="Raw files decoded into documents: encoding, title, date, language, content-hash id; bad files rejected with a reason.")
def documents(context: dg.AssetExecutionContext, settings: PipelineSettings) -> pd.DataFrame:
    previous = publishing.read_published(settings.warehouse_path, "documents", ["doc_id", "ingested_at"])
    df = build.documents_table(settings.raw_path, previous.to_pandas() if previous is not None else None,
                               max_bytes=settings.max_file_bytes)
    counts = df["status"].value_counts().to_dict()
    context.add_output_metadata({
        "dagster/row_count": len(df), "raw_dir": settings.raw_dir,
        **{f"status_{k}": int(v) for k, v in counts.items()},
        "preview": _preview(df, ["source_path", "status", "reason", "title", "language", "encoding"]),
    })
    return df


@dg.asset(group_name="clean", kinds={"python"}, metadata=_meta("paragraphs"),
          description="Paragraphs of accepted documents with exact offsets; boilerplate and repeats marked with the rule that removed them.")
def paragraphs(context: dg.AssetExecutionContext, documents: pd.DataFrame) -> pd.DataFrame:
    df = build.paragraphs_table(documents)
    shares = df["status"].value_counts(normalize=True).round(3).to_dict() if len(df) else {}
    context.add_output_metadata({
        "dagster/row_count": len(df),
        **{f"share_{k}": float(v) for k, v in shares.items()},
        "removal_reasons": dg.MetadataValue.json(df["reason"].dropna().value_counts().to_dict()),
        "preview": _preview(df[df["status"] != "kept"], ["status", "reason", "text"]),
    })
    return df


@dg.asset(group_name="clean", kinds={"python", "spacy"}, metadata=_meta("sentences"),
          description="Sentences of kept paragraphs (spaCy senter, one paragraph at a time: never across paragraphs or lines).")
def sentences(context: dg.AssetExecutionContext, settings: PipelineSettings, paragraphs: pd.DataFrame) -> pd.DataFrame:
    df = build.sentences_table(paragraphs, nlp.load_sentencizer(settings.spacy_model))
    context.add_output_metadata({"dagster/row_count": len(df), "preview": _preview(df, ["ordinal", "text"])})
    return df


@dg.multi_asset(
    group_name="claims",
    outs={
        "claims": dg.AssetOut(kinds={"python", "spacy"}, metadata=_meta("claims"),
                              description="Sentences judged to be checkable claims, with speaker, cue, quote type, hedging and negation."),
        "claim_quantities": dg.AssetOut(kinds={"python", "spacy"}, metadata=_meta("claim_quantities"),
                                        description="One row per quantity in a claim: value, unit lemma and qualifier (up to, more than, ...)."),
        "claim_entities": dg.AssetOut(kinds={"python", "spacy"}, metadata=_meta("claim_entities"),
                                      description="Named entities of claims with one canonical name across the corpus."),
    },
)
def claims_stage(context: dg.AssetExecutionContext, settings: PipelineSettings, sentences: pd.DataFrame,
                 paragraphs: pd.DataFrame):
    claims, quantities, entities = build.claims_tables(sentences, paragraphs, nlp.load(settings.spacy_model))
    n_docs = max(1, sentences["doc_id"].nunique()) if len(sentences) else 1
    yield dg.Output(claims, "claims", metadata={
        "dagster/row_count": len(claims), "claims_per_document": round(len(claims) / n_docs, 2),
        "attributed_share": round(float(claims["speaker"].notna().mean()) if len(claims) else 0.0, 3),
        "preview": _preview(claims, ["text", "speaker", "cue", "quote_type", "checkworthiness"]),
    })
    yield dg.Output(quantities, "claim_quantities", metadata={
        "dagster/row_count": len(quantities), "preview": _preview(quantities, ["text", "value", "unit", "qualifier"]),
    })
    yield dg.Output(entities, "claim_entities", metadata={
        "dagster/row_count": len(entities), "preview": _preview(entities, ["text", "label", "canonical"]),
    })


@dg.asset(group_name="claims", kinds={"python"}, metadata=_meta("claim_clusters"),
          description="Claims in different documents that state the same thing.")
def claim_clusters(context: dg.AssetExecutionContext, claims: pd.DataFrame, claim_quantities: pd.DataFrame,
                   claim_entities: pd.DataFrame) -> pd.DataFrame:
    df = build.clusters_table(claims, claim_quantities, claim_entities)
    context.add_output_metadata({"dagster/row_count": len(df),
                                 "preview": _preview(df, ["n_claims", "n_documents", "representative_text"])})
    return df


@dg.asset(group_name="claims", kinds={"python"}, metadata=_meta("quantity_conflicts"),
          description="Pairs of claims in different documents reporting the same measured thing with incompatible numbers.")
def quantity_conflicts(context: dg.AssetExecutionContext, claim_quantities: pd.DataFrame,
                       claim_entities: pd.DataFrame) -> pd.DataFrame:
    df = build.conflicts_table(claim_quantities, claim_entities)
    context.add_output_metadata({"dagster/row_count": len(df),
                                 "preview": _preview(df, ["unit", "text_a", "text_b", "shared_entities"])})
    return df


@dg.asset(group_name="publish", kinds={"parquet", "duckdb"},
          description="Publishes every table to the warehouse atomically and rebuilds catalog.duckdb. Runs only when every upstream suite passed.")
def warehouse(context: dg.AssetExecutionContext, settings: PipelineSettings, documents: pd.DataFrame,
              paragraphs: pd.DataFrame, sentences: pd.DataFrame, claims: pd.DataFrame,
              claim_quantities: pd.DataFrame, claim_entities: pd.DataFrame, claim_clusters: pd.DataFrame,
              quantity_conflicts: pd.DataFrame) -> dg.MaterializeResult:
    frames = {
        "documents": documents, "paragraphs": paragraphs, "sentences": sentences,
        "claims": build.with_cluster_ids(claims, claim_clusters), "claim_quantities": claim_quantities,
        "claim_entities": claim_entities, "claim_clusters": claim_clusters, "quantity_conflicts": quantity_conflicts,
    }
    tables = {name: schemas.conform(df, name) for name, df in frames.items()}
    published = publishing.publish(settings.warehouse_path, tables)
    rows = "\n".join(f"| {t.name} | {t.rows} | `{t.path}` |" for t in published)
    return dg.MaterializeResult(metadata={
        "warehouse": dg.MetadataValue.path(str(settings.warehouse_path)),
        "catalog": dg.MetadataValue.path(str(settings.warehouse_path / "catalog.duckdb")),
        "tables": dg.MetadataValue.md("| table | rows | path |\n|---|---|---|\n" + rows),
        **{f"rows_{t.name}": t.rows for t in published},
    })


STAGE_ASSETS = [documents, paragraphs, sentences, claims_stage, claim_clusters, quantity_conflicts, warehouse]
