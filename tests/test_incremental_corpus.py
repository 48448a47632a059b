"""The corpus step extends the last corpus with the files accepted since, and the published
tables are those of assembling every file (`build.extend_corpus`, `state.CorpusSnapshot`)."""
from __future__ import annotations

import shutil

import dagster as dg
import pandas as pd
import pytest

from pipeline import build
from pipeline.state import (
    CorpusSnapshot, StateStore, file_tokens, indexes_generation, load_corpus_snapshot, load_indexes,
    promote_corpus_snapshot, save_corpus_snapshot, save_indexes,
)

EXTENDED = "the last corpus and the files added since"
WHOLE = "every accepted file"


def _run(raw, wh) -> dict:
    """`pipeline run`'s path (`run_incremental`); the corpus step's metadata."""
    from assets.runner import run_incremental
    from tests.test_dagster import _defs, _settings

    with dg.instance_for_test() as instance:
        outcome = run_incremental(_defs(raw, wh), instance, _settings(raw, wh))
        assert outcome.success, outcome.failures
        (meta,) = [e.asset_materialization.metadata for e in instance.all_logs(
            outcome.run_ids[-1], of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
            if e.asset_materialization.asset_key == dg.AssetKey("corpus")]
    return {k: v.value for k, v in meta.items()}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_corpus_extended_file_by_file_publishes_what_assembling_every_file_does(tmp_path, seed_raw_dir):
    from tests.test_distributed import _published

    names = sorted(p.name for p in seed_raw_dir.iterdir())
    raw, wh = tmp_path / "steps" / "raw", tmp_path / "steps" / "wh"
    raw.mkdir(parents=True)
    for name in names[:3]:
        shutil.copy(seed_raw_dir / name, raw / name)
    assert _run(raw, wh)["assembled"] == WHOLE  # no corpus before
    for name in names[3:]:
        shutil.copy(seed_raw_dir / name, raw / name)
    meta = _run(raw, wh)
    assert meta["assembled"] == EXTENDED and meta["files_added_to_the_last_corpus"] == 2
    stepwise = _published(wh)

    at_once = tmp_path / "at_once"
    assert _run(seed_raw_dir, at_once)["assembled"] == WHOLE
    expected = _published(at_once)
    for name, df in expected.items():
        pd.testing.assert_frame_equal(stepwise[name], df, obj=name)
    assert len(stepwise["claims"]) > 20 and len(stepwise["claim_entities"]) > 20

    # the bytes of a document already there, under a new name: its row changes (also_seen_at),
    # so every file is assembled; the next new file extends that corpus again
    shutil.copy(raw / names[0], raw / "zz_same_bytes.txt")
    assert _run(raw, wh)["assembled"] == WHOLE
    docs = _published(wh)["documents"]
    assert docs.loc[docs["source_path"].str.endswith(names[0]), "also_seen_at"].str.contains("zz_same_bytes").all()
    (raw / "zz_new.txt").write_text("Harbour reopens\n\nThe harbour reopened on Monday after the storm, "
                                    "the port authority said, and ferries will sail again from Tuesday.\n")
    meta = _run(raw, wh)
    assert meta["assembled"] == EXTENDED and meta["files_added_to_the_last_corpus"] == 1


def _corpus(tmp_path, seed_raw_dir):
    wh = tmp_path / "wh"
    _run(seed_raw_dir, wh)
    return seed_raw_dir, wh / ".state"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_last_corpus_is_used_only_with_its_indexes_and_unchanged_files(tmp_path, seed_raw_dir):
    _raw, root = _corpus(tmp_path, seed_raw_dir)
    store = StateStore(root)
    snapshot = load_corpus_snapshot(root)
    tokens = file_tokens(store.accepted_view())
    assert snapshot is not None and snapshot.generation == indexes_generation(root)
    assert snapshot.tokens == tokens and snapshot.added_files(tokens) == []
    # the first document of each text, kept with it, is what the documents say
    assert snapshot.texts == build._texts_before(build._nonnull(snapshot.tables["documents"], "documents"), {})
    assert len(snapshot.texts) == 5
    # extending by nothing gives the corpus as it was, and assembling every file gives it too
    indexes = load_indexes(root)
    same, unchanged = build.extend_corpus(snapshot.tables, store.read_accepted_tables, [], indexes)
    whole, _left_out = build.assemble_accepted(store.read_accepted_tables, indexes=load_indexes(root))
    for name, df in whole.items():
        pd.testing.assert_frame_equal(same[name], df, obj=name)
    assert unchanged == {name: len(df) for name, df in whole.items()}
    # a file of it accepted again (another run), or gone: it cannot be extended
    key = sorted(tokens)[0]
    assert snapshot.added_files({**tokens, key: tokens[key] + "x"}) is None
    assert snapshot.added_files({k: v for k, v in tokens.items() if k != key}) is None
    assert snapshot.added_files({**tokens, "zz": "t"}) == ["zz"]
    # indexes saved half way (a crash) have no generation: they match no snapshot
    save_indexes(root, indexes)
    assert indexes_generation(root) is None
    save_indexes(root, indexes, "g2")
    assert indexes_generation(root) == "g2" and load_corpus_snapshot(root).generation != "g2"
    # a damaged snapshot reads as none; a new one replaces the old generation's files
    meta = root / "corpus" / "meta.json"
    meta.write_text("{")
    assert load_corpus_snapshot(root) is None
    save_corpus_snapshot(root, whole, tokens, "g2")
    assert load_corpus_snapshot(root) is None  # pending until its checks pass
    assert not promote_corpus_snapshot(root, "g1")  # another run's corpus: not this one
    assert promote_corpus_snapshot(root, "g2")
    again = load_corpus_snapshot(root)
    assert isinstance(again, CorpusSnapshot) and again.generation == "g2" and again.tokens == tokens
    assert sorted(p.name.split(".")[0] for p in (root / "corpus").glob("*.arrow")) == ["g2"] * 7

    # a corpus that only grew keeps the files of the one before and adds one of its new rows
    # (linked, not written again); a table whose earlier rows changed is written again
    fewer = {name: df.iloc[: len(df) // 2] for name, df in whole.items()}
    half = {k: tokens[k] for k in sorted(tokens)[: len(tokens) // 2]}
    save_indexes(root, indexes, "g3")
    save_corpus_snapshot(root, fewer, half, "g3")
    assert promote_corpus_snapshot(root, "g3")
    g3 = load_corpus_snapshot(root)
    changed = whole["claim_entities"].copy()
    changed.loc[0, "canonical"] = "Someone Else"
    grown = {**whole, "claim_entities": changed}
    rows_kept = {name: len(df) for name, df in fewer.items()} | {"claim_entities": 0}
    inode = (root / "corpus" / g3.chunks["claims"][0]).stat().st_ino
    save_corpus_snapshot(root, grown, tokens, "g4", previous=g3, unchanged=rows_kept)
    assert not promote_corpus_snapshot(root, "g4")  # the indexes are not those of g4: never promoted
    save_indexes(root, indexes, "g4")
    assert promote_corpus_snapshot(root, "g4")
    g4 = load_corpus_snapshot(root)
    assert g4.tokens == tokens and list(g4.tokens)[: len(half)] == list(half)
    for name, df in grown.items():
        pd.testing.assert_frame_equal(g4.tables[name].reset_index(drop=True),
                                      df.reset_index(drop=True).astype(g4.tables[name].dtypes.to_dict()), obj=name)
    assert {name: len(files) for name, files in g4.chunks.items()} == {
        **{name: 2 for name in whole}, "claim_entities": 1, "files": 2}
    assert (root / "corpus" / g4.chunks["claims"][0]).stat().st_ino == inode  # the same file, linked
    assert sorted({p.name.split(".")[0] for p in (root / "corpus").glob("*.arrow")}) == ["g4"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_corpus_kept_by_other_code_or_with_fewer_columns_is_assembled_again(tmp_path, seed_raw_dir, monkeypatch):
    raw = tmp_path / "steps"
    shutil.copytree(seed_raw_dir, raw)
    wh, root = tmp_path / "wh", tmp_path / "wh" / ".state"
    _run(raw, wh)

    def arrives(name: str) -> None:
        (raw / name).write_text(f"Harbour news {name}\n\nThe harbour reopened on Monday after the storm, the "
                                f"port authority said, and {len(name)} ferries will sail again from Tuesday.\n")

    arrives("zz_one.txt")
    monkeypatch.setattr(build, "assembly_code", lambda: "other code")
    assert _run(raw, wh)["assembled"] == WHOLE  # kept by the code before
    assert load_corpus_snapshot(root).code == "other code"
    monkeypatch.undo()
    arrives("zz_two.txt")
    assert _run(raw, wh)["assembled"] == WHOLE  # kept by "other code"
    arrives("zz_three.txt")
    assert _run(raw, wh)["assembled"] == EXTENDED
    snapshot = load_corpus_snapshot(root)
    read = StateStore(root).read_accepted_tables
    fewer = {name: df.drop(columns=["n_words"]) if name == "paragraphs" else df for name, df in snapshot.tables.items()}
    assert build.extend_corpus(fewer, read, [], load_indexes(root)) is None  # kept without a column
    assert build.extend_corpus(snapshot.tables, read, [], load_indexes(root)) is not None
