"""What `catalog.duckdb` offers BI tools besides one view per table.

`TABLE_DESCRIPTIONS` become the comments of the table views (and the `description`
key of each Parquet file's metadata). `ANALYTICAL_VIEWS` are ready-made joins over
those views, created only when every table they read was published in the same
batch, with a comment on the view and on each column.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TABLE_DESCRIPTIONS: dict[str, str] = {
    "documents": "One row per raw document (a file, or a line of a .jsonl file): decoded text, title, date, "
                 "language, status ok/rejected/duplicate with the reason.",
    "paragraphs": "Every paragraph of every accepted document, none dropped: status kept/boilerplate/duplicate "
                  "with the rule behind it, offsets into documents.text.",
    "sentences": "Every sentence of every kept paragraph, with offsets into documents.text.",
    "claims": "Sentences judged to be factual claims: check-worthiness, speaker, attribution cue, quote type, "
              "hedging, negation, cluster.",
    "claim_quantities": "One row per quantity in a claim: value, unit lemma, qualifier (exact, at_most, ...).",
    "claim_entities": "Named entities mentioned in claims, with one canonical name per entity across the corpus.",
    "claim_clusters": "Groups of claims in different documents that state the same thing.",
    "quantity_conflicts": "Pairs of claims in different documents reporting the same measured thing with "
                          "incompatible numbers.",
}


@dataclass(frozen=True)
class View:
    name: str
    description: str
    requires: tuple[str, ...]
    sql: str
    columns: dict[str, str] = field(default_factory=dict)  # descriptions of new or renamed columns


ANALYTICAL_VIEWS: tuple[View, ...] = (
    View(
        name="claims_with_speakers_and_quantities",
        description="One row per claim and quantity (a claim without numbers appears once, with empty quantity "
                    "columns): who said it, in which document, and the numbers it states.",
        requires=("claims", "claim_quantities", "documents"),
        sql="""
            SELECT c.claim_id, c.doc_id, d.title AS document_title, d.source_path, d.published_at,
                   c.speaker, c.speaker_type, c.cue, c.quote_type, c.hedged, c.negated, c.checkworthiness,
                   c.text AS claim_text, c.cluster_id,
                   q.ordinal AS quantity_ordinal, q.text AS quantity_text, q.value, q.unit, q.qualifier
            FROM claims c
            JOIN documents d USING (doc_id)
            LEFT JOIN claim_quantities q ON q.claim_id = c.claim_id
            ORDER BY c.doc_id, c.char_start, q.ordinal
        """,
        columns={
            "document_title": "headline of the claim's document, if found",
            "source_path": "raw file of the claim's document",
            "published_at": "publication time of the claim's document, if found",
            "claim_text": "the sentence text of the claim",
            "quantity_ordinal": "position of the quantity in the claim (null: the claim states no number)",
            "quantity_text": "the quantity as written",
            "value": "the number",
            "unit": "lemma of what is counted or measured",
            "qualifier": "exact, approximate, at_most, at_least, more_than, less_than",
        },
    ),
    View(
        name="top_claim_clusters",
        description="Claim clusters ranked by corroboration (distinct documents, then claims): the "
                    "representative text, who said it, and which documents carry it.",
        requires=("claim_clusters", "claims", "documents"),
        sql="""
            WITH members AS (
                SELECT k.cluster_id, m.claim_id
                FROM claim_clusters k, unnest(string_split(coalesce(k.claim_ids, k.representative_claim_id), ' ')) AS m(claim_id)
                WHERE m.claim_id <> ''
            ), detail AS (
                SELECT m.cluster_id,
                       string_agg(DISTINCT c.speaker, '; ' ORDER BY c.speaker) AS speakers,
                       string_agg(DISTINCT coalesce(d.title, d.source_path), '; '
                                  ORDER BY coalesce(d.title, d.source_path)) AS documents,
                       min(d.published_at) AS first_published_at,
                       max(c.checkworthiness) AS max_checkworthiness
                FROM members m
                JOIN claims c ON c.claim_id = m.claim_id
                JOIN documents d ON d.doc_id = c.doc_id
                GROUP BY m.cluster_id
            )
            SELECT row_number() OVER (ORDER BY k.n_documents DESC, k.n_claims DESC, k.cluster_id) AS rank,
                   k.cluster_id, k.n_documents, k.n_claims, k.representative_text,
                   r.speaker AS representative_speaker, x.speakers, x.documents, x.first_published_at,
                   x.max_checkworthiness, k.representative_claim_id, k.claim_ids
            FROM claim_clusters k
            LEFT JOIN claims r ON r.claim_id = k.representative_claim_id
            LEFT JOIN detail x ON x.cluster_id = k.cluster_id
            ORDER BY rank
        """,
        columns={
            "rank": "1 = the most corroborated cluster (most documents, then most claims)",
            "representative_speaker": "speaker of the representative claim",
            "speakers": "distinct speakers of the member claims, '; '-separated",
            "documents": "titles (or raw paths) of the documents carrying the claim, '; '-separated",
            "first_published_at": "earliest known publication time among those documents",
            "max_checkworthiness": "highest check-worthiness among the member claims",
        },
    ),
    View(
        name="conflicts_side_by_side",
        description="Numeric conflicts with both sides next to each other: the two sentences, their speakers, "
                    "values, qualifiers and document titles.",
        requires=("quantity_conflicts", "claims", "documents"),
        sql="""
            SELECT f.unit, f.shared_entities, f.n_claim_pairs, f.n_documents,
                   f.value_a, f.qualifier_a, f.text_a AS quantity_text_a,
                   f.value_b, f.qualifier_b, f.text_b AS quantity_text_b,
                   ca.text AS sentence_a, ca.speaker AS speaker_a, da.title AS title_a, da.source_path AS source_path_a,
                   da.published_at AS published_at_a,
                   cb.text AS sentence_b, cb.speaker AS speaker_b, db.title AS title_b, db.source_path AS source_path_b,
                   db.published_at AS published_at_b,
                   f.claim_id_a, f.claim_id_b, f.doc_id_a, f.doc_id_b
            FROM quantity_conflicts f
            LEFT JOIN claims ca ON ca.claim_id = f.claim_id_a
            LEFT JOIN claims cb ON cb.claim_id = f.claim_id_b
            LEFT JOIN documents da ON da.doc_id = f.doc_id_a
            LEFT JOIN documents db ON db.doc_id = f.doc_id_b
            ORDER BY f.unit, f.claim_id_a, f.claim_id_b
        """,
        columns={
            "quantity_text_a": "first quantity as written",
            "quantity_text_b": "second quantity as written",
            "sentence_a": "sentence of the first claim",
            "sentence_b": "sentence of the second claim",
            "speaker_a": "speaker of the first claim",
            "speaker_b": "speaker of the second claim",
            "title_a": "headline of the first claim's document",
            "title_b": "headline of the second claim's document",
            "source_path_a": "raw file of the first claim's document",
            "source_path_b": "raw file of the second claim's document",
            "published_at_a": "publication time of the first claim's document",
            "published_at_b": "publication time of the second claim's document",
        },
    ),
    View(
        name="document_overview",
        description="One row per document: status, how much of it was kept, and how many sentences, claims, "
                    "attributed claims and quantities it yielded.",
        requires=("documents", "paragraphs", "sentences", "claims", "claim_quantities"),
        sql="""
            WITH p AS (
                SELECT doc_id, count(*) AS n_paragraphs,
                       count(*) FILTER (WHERE status = 'kept') AS n_kept_paragraphs,
                       count(*) FILTER (WHERE status = 'boilerplate') AS n_boilerplate_paragraphs,
                       count(*) FILTER (WHERE status = 'duplicate') AS n_duplicate_paragraphs
                FROM paragraphs GROUP BY doc_id
            ), s AS (SELECT doc_id, count(*) AS n_sentences FROM sentences GROUP BY doc_id),
            c AS (
                SELECT doc_id, count(*) AS n_claims, count(speaker) AS n_attributed_claims,
                       avg(checkworthiness) AS mean_checkworthiness
                FROM claims GROUP BY doc_id
            ), q AS (
                SELECT c.doc_id, count(*) AS n_quantities
                FROM claim_quantities q JOIN claims c USING (claim_id) GROUP BY c.doc_id
            )
            SELECT d.doc_id, d.source_path, d.title, d.published_at, d.language, d.status, d.reason,
                   coalesce(p.n_paragraphs, 0) AS n_paragraphs, coalesce(p.n_kept_paragraphs, 0) AS n_kept_paragraphs,
                   coalesce(p.n_boilerplate_paragraphs, 0) AS n_boilerplate_paragraphs,
                   coalesce(p.n_duplicate_paragraphs, 0) AS n_duplicate_paragraphs,
                   coalesce(s.n_sentences, 0) AS n_sentences, coalesce(c.n_claims, 0) AS n_claims,
                   coalesce(c.n_attributed_claims, 0) AS n_attributed_claims, c.mean_checkworthiness,
                   coalesce(q.n_quantities, 0) AS n_quantities
            FROM documents d
            LEFT JOIN p USING (doc_id) LEFT JOIN s USING (doc_id) LEFT JOIN c USING (doc_id) LEFT JOIN q USING (doc_id)
            ORDER BY d.source_path
        """,
        columns={
            "n_paragraphs": "paragraphs of the document (all statuses)",
            "n_kept_paragraphs": "paragraphs kept as body text",
            "n_boilerplate_paragraphs": "paragraphs marked boilerplate",
            "n_duplicate_paragraphs": "paragraphs repeating an earlier one in the same document",
            "n_sentences": "sentences of the kept paragraphs",
            "n_claims": "claims found in the document",
            "n_attributed_claims": "claims with a speaker",
            "mean_checkworthiness": "average check-worthiness of the document's claims",
            "n_quantities": "quantities stated in the document's claims",
        },
    ),
)
