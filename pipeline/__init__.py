"""Domain core of the claims pipeline: plain Python, no Dagster import.

Each stage is a small module of pure functions (ingest, paragraphs, boilerplate,
dedup, sentences, claims, quantities, entities, clusters, conflicts), plus table
schemas, validation helpers and publishing. The Dagster layer in ``assets/`` calls
into this package; nothing here imports Dagster.

The execution layer is apart: ``distributed`` (the NLP worker pool or a Dask cluster,
the signatures made ahead), ``gx_process`` (Great Expectations in a process of its own),
``warm`` (servers that outlive runs) and ``lifeline``. Only these start threads or
processes; the domain modules take what they need from them as arguments (a signer, a
``run_in``), and ``tests/test_layout.py`` checks it.
"""

__version__ = "0.1.0"
