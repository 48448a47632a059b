"""Domain core of the claims pipeline: plain Python, no Dagster import.

Each stage is a small module of pure functions (ingest, paragraphs, boilerplate,
dedup, sentences, claims, quantities, entities, clusters, conflicts), plus table
schemas, validation helpers and publishing. The Dagster layer in ``assets/`` calls
into this package; nothing here imports Dagster.
"""

__version__ = "0.1.0"
