"""The issue's acceptance checks on the five seed articles, through pipeline.build."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.conflicts import compatible

PROJECT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # spaCy over five articles plus the table builds: ~8 s


@pytest.fixture(scope="module")
def tables(seed_frames) -> dict[str, pd.DataFrame]:
    f = {name: df.copy() for name, df in seed_frames.items()}
    names = {d: Path(p).name for d, p in zip(f["documents"]["doc_id"], f["documents"]["source_path"])}
    for name in ("claims", "claim_quantities"):
        f[name]["file"] = f[name]["doc_id"].map(names)
    return {"paragraphs": f["paragraphs"], "claims": f["claims"], "quantities": f["claim_quantities"],
            "entities": f["claim_entities"], "clusters": f["claim_clusters"], "conflicts": f["quantity_conflicts"]}


def _claim(tables, *fragments: str, file: str | None = None) -> pd.Series:
    c = tables["claims"]
    mask = pd.Series(True, index=c.index)
    for f in fragments:
        mask &= c["text"].str.contains(f, regex=False)
    if file:
        mask &= c["file"] == file
    rows = c[mask]
    assert len(rows) >= 1, f"no claim with {fragments} in {file}"
    return rows.iloc[0]


def test_deyneko_claim_speaker_and_cue(tables):
    claim = _claim(tables, "Around 10,200 servicemen", "Deyneko said")
    assert claim["speaker"] == "Serhiy Deyneko"
    assert claim["speaker_type"] == "PERSON"
    assert claim["cue"] == "say"
    assert claim["quote_type"] == "indirect"


def test_surname_normalized_to_fullest_form_in_document(tables):
    claim = _claim(tables, "Demchenko assured the public", file="article_000.txt")
    assert claim["speaker"] == "Andrii Demchenko"


def test_armored_vehicles_quantity(tables):
    q = tables["quantities"]
    rows = q[q["text"].str.contains("up to 200 armored combat vehicles", regex=False)]
    assert set(rows["file"]) == {"article_002.txt", "article_003.txt"}
    for _, row in rows.iterrows():
        assert row["value"] == 200.0
        assert row["qualifier"] == "at_most"
        assert row["unit"] == "vehicle"


def test_170_tanks_claims_share_a_cluster(tables):
    a = _claim(tables, "170 tanks", file="article_002.txt")["claim_id"]
    b = _claim(tables, "170 tanks", file="article_003.txt")["claim_id"]
    members = [set(ids.split()) for ids in tables["clusters"]["claim_ids"]]
    assert any({a, b} <= m for m in members)


def _troop_rows(tables, value: float, qualifier: str) -> pd.DataFrame:
    q = tables["quantities"]
    return q[(q["value"] == value) & (q["qualifier"] == qualifier)]


def test_belarus_troop_numbers_conflict_where_they_disagree(tables):
    conflicts = tables["conflicts"]
    pairs = {
        frozenset({(va, qa), (vb, qb)})
        for va, qa, vb, qb in conflicts[["value_a", "qualifier_a", "value_b", "qualifier_b"]].itertuples(index=False)
    }
    assert frozenset({(10200.0, "exact"), (9000.0, "at_most")}) in pairs  # 10,200 vs up to 9,000
    assert frozenset({(10200.0, "approximate"), (9000.0, "at_most")}) in pairs  # around 10,200 vs up to 9,000
    assert frozenset({(10000.0, "more_than"), (9000.0, "at_most")}) in pairs  # more than 10,000 vs up to 9,000
    assert (conflicts["unit"] == "troop").all()
    assert (conflicts["doc_id_a"] != conflicts["doc_id_b"]).all()


def test_belarus_troop_numbers_agree_without_conflict(tables):
    # "up to 9,000" (article_002/003) and "a little less than 9,000" (article_004) can both hold
    assert len(_troop_rows(tables, 9000.0, "at_most")) >= 2
    assert len(_troop_rows(tables, 9000.0, "less_than")) >= 1
    assert compatible(9000.0, "at_most", 9000.0, "less_than")
    conflicts = tables["conflicts"]
    for va, qa, vb, qb in conflicts[["value_a", "qualifier_a", "value_b", "qualifier_b"]].itertuples(index=False):
        assert {(va, qa), (vb, qb)} != {(9000.0, "at_most"), (9000.0, "less_than")}
        assert not (va == vb == 9000.0)  # no two readings of "9,000" conflict


def test_no_claim_comes_from_boilerplate(tables):
    paragraphs = tables["paragraphs"]
    status = dict(zip(paragraphs["paragraph_id"], paragraphs["status"]))
    assert {status[p] for p in tables["claims"]["paragraph_id"]} == {"kept"}
    texts = " ".join(tables["claims"]["text"])
    for marker in ("Popular posts", "Copyright", "cookies", "King Charles", "Meghan"):
        assert marker not in texts
