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
