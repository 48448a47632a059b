"""pipeline.validation: the GX suites in expectations/ on good and corrupted frames."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline import gx_process, validation, warm

SUITES = validation.suite_names()
STAGES = ["documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities",
          "claim_clusters", "quantity_conflicts"]
SUITE_FILES = STAGES + ["corpus"]  # the corpus stage's suite checks the assembled tables together


@pytest.fixture(scope="module")
def frames(seed_frames):
    return {name: df.copy() for name, df in seed_frames.items()}


def _ctx(frames):
    return {k: frames[k] for k in ("documents", "paragraphs", "sentences", "claims")}


def _failure(report, expectation, column):
    hits = [o for o in report.failures if o.expectation == expectation and o.column == column]
    assert hits, f"expected {expectation}({column}) to fail; failures: {[o.describe() for o in report.failures]}"
    return hits[0]


def test_every_stage_has_a_suite():
    assert SUITES == sorted(SUITE_FILES)


@pytest.mark.parametrize("stage", SUITE_FILES)
def test_suite_json_is_well_formed(stage):
    spec = json.loads((validation.SUITES_DIR / f"{stage}.json").read_text(encoding="utf-8"))
    assert spec["name"] == stage
    assert spec["expectations"]
    for e in spec["expectations"]:
        assert e["type"].startswith("expect_")
        assert isinstance(e["kwargs"], dict)


@pytest.mark.parametrize("stage", STAGES)
def test_good_frame_passes(frames, stage):
    df = frames[stage]
    assert len(df) > 0, f"seed corpus gives no {stage} rows"
    report = validation.run_suite(stage, df, _ctx(frames))
    assert report.success, [o.describe() for o in report.failures]
    assert report.suite == stage
    assert report.n_rows == len(df)
    spec = validation.load_suite(stage)
    # every expectation of the JSON ran (GX accepted it; it may reorder them) and none raised
    assert sorted(o.expectation for o in report.outcomes) == sorted(e["type"] for e in spec["expectations"])
    assert all(o.error is None for o in report.outcomes)


def test_paragraph_offset_off_by_one(frames):
    paras = frames["paragraphs"].copy()
    bad_id = paras["paragraph_id"].iloc[3]
    paras.loc[paras.index[3], "char_end"] += 1
    report = validation.run_suite("paragraphs", paras, {"documents": frames["documents"]})
    assert not report.success
    failure = _failure(report, "expect_column_values_to_be_in_set", "offsets_match")
    assert failure.unexpected_count == 1
    assert failure.sample == [f"paragraph_id={bad_id}"]
    assert [o.column for o in report.failures] == ["offsets_match"]
    assert "offsets_match" in failure.describe() and bad_id in failure.describe()
    assert "**NO**" in report.to_markdown()


def test_sentence_outside_kept_paragraph(frames):
    sents = frames["sentences"].copy()
    paras = frames["paragraphs"]
    other = paras.loc[(paras["status"] == "kept") & (paras["paragraph_id"] != sents["paragraph_id"].iloc[0]),
                      "paragraph_id"].iloc[0]
    sents.loc[sents.index[0], "paragraph_id"] = other
    report = validation.run_suite("sentences", sents, {"documents": frames["documents"], "paragraphs": paras})
    failure = _failure(report, "expect_column_values_to_be_in_set", "parent_known")
    assert failure.unexpected_count == 1
    assert failure.sample == [f"sentence_id={sents['sentence_id'].iloc[0]}"]


def test_duplicate_doc_id(frames):
    docs = frames["documents"].copy()
    dup = docs["doc_id"].iloc[0]
    docs.loc[docs.index[1], "doc_id"] = dup
    report = validation.run_suite("documents", docs)
    assert not report.success
    failure = _failure(report, "expect_column_values_to_be_unique", "doc_id")
    assert failure.unexpected_count == 2
    assert failure.sample == [dup, dup]
    assert [o.column for o in report.failures] == ["doc_id"]


def test_status_outside_enum(frames):
    docs = frames["documents"].copy()
    docs.loc[docs.index[2], "status"] = "weird"
    docs.loc[docs.index[2], "reason"] = "because"  # keep the conditional reason rule satisfied
    report = validation.run_suite("documents", docs)
    failure = _failure(report, "expect_column_values_to_be_in_set", "status")
    assert failure.unexpected_count == 1
    assert failure.unexpected_percent == pytest.approx(100 / len(docs))
    assert failure.sample == ["weird"]
    assert [o.column for o in report.failures] == ["status"]


def test_conditional_expectation(frames):
    docs = frames["documents"].copy()
    docs.loc[docs.index[0], "status"] = "rejected"  # rejected without a reason
    report = validation.run_suite("documents", docs)
    failure = _failure(report, "expect_column_values_to_not_be_null", "reason")
    assert failure.unexpected_count == 1


def test_an_article_text_beside_a_text_file_fails(frames):
    """article_text rides only beside an HTML page's whole text (`pipeline.ingest`)."""
    docs = frames["documents"].copy()
    assert (docs["source_format"] == "txt").all() and docs["article_text"].isna().all()
    assert validation.run_suite("documents", docs).success
    docs.loc[docs.index[0], "article_text"] = "An article."
    report = validation.run_suite("documents", docs)
    failure = _failure(report, "expect_column_values_to_be_null", "article_text")
    assert failure.unexpected_count == 1
    assert [o.column for o in report.failures] == ["article_text"]


def test_claim_quantity_year_and_orphan(frames):
    q = frames["claim_quantities"].copy()
    q.loc[q.index[0], ["value", "unit", "qualifier", "text"]] = [2022.0, None, "exact", "2022"]
    q.loc[q.index[1], "claim_id"] = "c_missing"
    report = validation.run_suite("claim_quantities", q, {"claims": frames["claims"]})
    year = _failure(report, "expect_column_values_to_be_in_set", "looks_like_year")
    assert year.unexpected_count == 1
    orphan = _failure(report, "expect_column_values_to_be_in_set", "parent_known")
    assert orphan.unexpected_count == 1
    assert orphan.sample == ["claim_id=c_missing"]


def test_claims_quote_type_and_score_range(frames):
    claims = frames["claims"].copy()
    claims.loc[claims.index[0], "quote_type"] = "paraphrase"
    claims.loc[claims.index[1], "checkworthiness"] = 1.5
    report = validation.run_suite("claims", claims, {"sentences": frames["sentences"]})
    qt = _failure(report, "expect_column_values_to_be_in_set", "quote_type")
    assert qt.unexpected_count == 1 and qt.sample == ["paraphrase"]
    cw = _failure(report, "expect_column_values_to_be_between", "checkworthiness")
    assert cw.unexpected_count == 1 and cw.sample == [1.5]


def test_conflicts_same_document(frames):
    cf = frames["quantity_conflicts"].copy()
    cf.loc[cf.index[0], "doc_id_b"] = cf["doc_id_a"].iloc[0]
    report = validation.run_suite("quantity_conflicts", cf)
    failure = _failure(report, "expect_column_values_to_be_in_set", "different_documents")
    assert failure.unexpected_count == 1
    assert failure.sample == [f"claim_id_a={cf['claim_id_a'].iloc[0]}"]


def test_missing_column_fails_table_columns(frames):
    report = validation.run_suite("sentences", frames["sentences"].drop(columns=["ordinal"]),
                                  {"documents": frames["documents"], "paragraphs": frames["paragraphs"]})
    assert not report.success
    assert any(o.expectation == "expect_table_columns_to_match_set" for o in report.failures)


# ---------------------------------------------------------------- the corpus suite
def _corpus(frames):
    from pipeline import build

    return build.assemble_corpus(*(frames[t].copy() for t in ("documents", "paragraphs", "sentences", "claims",
                                                              "claim_quantities", "claim_entities")))


def test_corpus_suite_passes_on_the_assembled_seeds(frames):
    corpus = _corpus(frames)
    frame = validation.corpus_frame(corpus)
    assert len(frame) == sum(len(corpus[t]) for t in corpus)
    report = validation.run_suite("corpus", frame)
    assert report.success, [o.describe() for o in report.failures]
    assert len(report.outcomes) == len(validation.load_suite("corpus")["expectations"])


def test_corpus_suite_names_each_broken_row(frames):
    corpus = _corpus(frames)
    paras, sents, ents, docs = corpus["paragraphs"], corpus["sentences"], corpus["claim_entities"], corpus["documents"]
    kept = paras.index[paras["status"] == "kept"]
    # a paragraph whose document vanished, and so a parent missing for its sentences
    orphan_para = paras.loc[kept[0], "paragraph_id"]
    corpus["paragraphs"] = paras.drop(index=kept[0]).reset_index(drop=True)
    # the same sentence twice (ids unique across files)
    corpus["sentences"] = pd.concat([sents, sents.iloc[[-1]]], ignore_index=True)
    # a removal without its reason, a reference to nothing, a blank canonical name
    corpus["paragraphs"].loc[1, ["status", "reason"]] = ["boilerplate", None]
    corpus["paragraphs"].loc[2, "near_duplicate_of"] = "no-such-paragraph"
    ents = ents.copy()
    ents.loc[0, "canonical"] = ""
    corpus["claim_entities"] = ents
    docs = docs.copy()
    docs.loc[0, "status"] = "lost"
    corpus["documents"] = docs
    frame = validation.corpus_frame(corpus)
    report = validation.run_suite("corpus", frame)
    assert not report.success
    failed = {o.expectation if o.column is None else o.column for o in report.failures}
    assert {"parent_known", "reason_present", "reference_known", "canonical_present", "status_valid",
            "expect_compound_columns_to_be_unique"} <= failed, failed
    orphans = set(frame.loc[~frame["parent_known"], "row_id"])
    sentences_of_orphan = {f"sentences:{s}" for s in sents.loc[sents["paragraph_id"] == orphan_para, "sentence_id"]}
    assert sentences_of_orphan and sentences_of_orphan <= orphans
    assert _failure(report, "expect_column_values_to_be_in_set", "parent_known").unexpected_count == len(orphans)
    missing_reason = _failure(report, "expect_column_values_to_be_in_set", "reason_present")
    assert f"row_id=paragraphs:{corpus['paragraphs'].loc[1, 'paragraph_id']}" in missing_reason.sample
    assert f"row_id=documents:{docs.loc[0, 'doc_id']}" in missing_reason.sample  # status "lost", no reason
    assert _failure(report, "expect_column_values_to_be_in_set", "reference_known").sample == [
        f"row_id=paragraphs:{corpus['paragraphs'].loc[2, 'paragraph_id']}"]


def test_quantity_value_bound_admits_real_budgets_and_warns_of_huge_values(frames):
    q = frames["claim_quantities"].copy()
    q.loc[q.index[0], "value"] = 1.546e15  # 1,546 trillion rials (BBC business/412)
    report = validation.run_suite("claim_quantities", q, _ctx(frames))
    assert report.success and not report.warnings
    q.loc[q.index[0], "value"] = 4.5e21  # "$4.5bn trillion" read as stacked scales, or litres of ocean water
    report = validation.run_suite("claim_quantities", q, _ctx(frames))
    # a plausibility range on one value warns (meta.severity) and does not fail the suite
    assert report.success and not report.failures
    (warning,) = report.warnings
    assert (warning.expectation, warning.column, warning.unexpected_count) == (
        "expect_column_values_to_be_between", "value", 1)
    q.loc[q.index[0], "qualifier"] = "roughly"  # an error-severity rule still fails it
    report = validation.run_suite("claim_quantities", q, _ctx(frames))
    assert not report.success and _failure(report, "expect_column_values_to_be_in_set", "qualifier")


# ------------------------------------------------------- the GX process (`pipeline run`)
def _comparable(report):
    return (report.suite, report.success, report.n_rows,
            sorted((o.expectation, o.column or "", o.success, o.unexpected_count or 0, tuple(map(str, o.sample)))
                   for o in report.outcomes))


@pytest.fixture
def gx_wanted():
    """Set whether the GX process is wanted (`gx_process.configure`) for one test."""
    before = gx_process.configured()
    yield gx_process.configure
    gx_process.configure(before)


def test_suites_run_in_the_gx_process_with_the_same_reports(frames, monkeypatch, gx_wanted):
    """After `gx_process.start`, `run_suite(run_in=gx_process.run)` validates in another process (started with
    GX imported) and gives the same reports, passing and failing, as in this one."""
    import os

    gx_wanted(True)
    if not gx_process.enabled():
        pytest.skip("one CPU: the GX process is never started")
    paras = frames["paragraphs"].copy()
    paras.loc[paras.index[0], "char_start"] += 1  # breaks offsets_match
    cases = [("sentences", frames["sentences"], _ctx(frames)), ("paragraphs", paras, _ctx(frames))]
    here = [validation.run_suite(stage, df, ctx) for stage, df, ctx in cases]
    assert [r.success for r in here] == [True, False]
    try:
        assert gx_process.start()
        pid = gx_process.current().submit(os.getpid).result()
        assert pid != os.getpid()
        there = [validation.run_suite(stage, df, ctx, run_in=gx_process.run) for stage, df, ctx in cases]
        assert gx_process.current() is not None  # still running: nothing fell back
    finally:
        gx_process.stop()
    assert gx_process.current() is None
    assert [_comparable(r) for r in there] == [_comparable(r) for r in here]
    assert _failure(there[1], "expect_column_values_to_be_in_set", "offsets_match").unexpected_count == 1


def test_a_dead_gx_process_falls_back_to_this_one(frames, monkeypatch, gx_wanted):
    import os
    import signal

    gx_wanted(True)
    if not gx_process.enabled():
        pytest.skip("one CPU: the GX process is never started")
    try:
        assert gx_process.start()
        pid = gx_process.current().submit(os.getpid).result()
        os.kill(pid, signal.SIGKILL)
        report = validation.run_suite("documents", frames["documents"], run_in=gx_process.run)
        assert report.success and report.n_rows == len(frames["documents"])
        assert gx_process.current() is None  # stopped: later suites run here
    finally:
        gx_process.stop()


def test_the_gx_process_can_be_turned_off(monkeypatch, gx_wanted):
    gx_wanted(False)
    assert not gx_process.start()
    assert gx_process.current() is None


def test_conflicts_in_the_gx_process_equal_the_ones_found_here(seed_frames, tmp_path, monkeypatch, gx_wanted):
    """`pipeline run` hands the quantity conflicts to the GX process while the corpus suite's
    frame is built: the same table as here, with the clause readings kept in the state folder."""
    from pipeline import build

    gx_wanted(True)
    if not gx_process.enabled():
        pytest.skip("one CPU: the GX process is never started")
    inputs = (seed_frames["claim_quantities"], seed_frames["claim_entities"], seed_frames["claims"])
    here, hits_here = build.conflicts_with_memo(*inputs, tmp_path / "here")
    assert len(here) > 0 and hits_here == 0
    # the published table is these conflicts lifted over the statement groups (claim clusters)
    lifted = build.conflicts_over_clusters(here, seed_frames["claim_clusters"], seed_frames["claim_quantities"])
    assert lifted.equals(seed_frames["quantity_conflicts"])
    try:
        assert gx_process.start()
        there, hits_there = gx_process.submit(build.conflicts_with_memo, *inputs, tmp_path / "there").result()
        again, hits_again = gx_process.submit(build.conflicts_with_memo, *inputs, tmp_path / "there").result()
    finally:
        gx_process.stop()
    assert there.equals(here) and again.equals(here)
    assert hits_there == 0 and hits_again > 0  # the second run read its clauses from the memo
    assert (tmp_path / "there" / "conflict_readings.json").exists()
    assert gx_process.submit(build.conflicts_with_memo, *inputs, tmp_path) is None  # stopped: nothing to hand over


# ------------------------------------------------- the warm GX process (the daemon's runs)
def _wait_for(predicate, seconds: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _gone(pid: int) -> bool:
    return not warm.pid_alive(pid)  # reaps a child of this process that exited


def test_runs_attach_to_the_warm_gx_process_and_get_the_same_reports(frames, tmp_path, monkeypatch, gx_wanted):
    """The sensor's `ensure_server` starts one GX process that outlives runs; a run's
    `attach` sends its suites there (same reports as here), leaving detaches without
    stopping it, and a second `ensure_server` with the same code reuses it."""
    import os
    import signal

    gx_wanted(True)
    if not gx_process.enabled():
        pytest.skip("one CPU: the GX process is never started")
    runtime = tmp_path / "runtime"
    paras = frames["paragraphs"].copy()
    paras.loc[paras.index[0], "char_start"] += 1  # breaks offsets_match
    cases = [("sentences", frames["sentences"], _ctx(frames)), ("paragraphs", paras, _ctx(frames))]
    here = [validation.run_suite(stage, df, ctx) for stage, df, ctx in cases]
    pid = gx_process.ensure_server(runtime)
    try:
        assert pid and pid != os.getpid()
        assert oct((runtime / gx_process.SERVER_FILE).stat().st_mode & 0o777) == "0o600"  # it holds the key
        assert gx_process.attach(runtime)
        assert gx_process.attached_pid() == pid
        assert gx_process.current().submit(os.getpid).result() == pid
        there = [validation.run_suite(stage, df, ctx, run_in=gx_process.run) for stage, df, ctx in cases]
        assert gx_process.attached_pid() == pid  # nothing fell back
        gx_process.stop()  # the run ends: it leaves, the server goes on
        assert gx_process.current() is None and not _gone(pid)
        assert gx_process.ensure_server(runtime) == pid  # the next wave: the same process
        assert gx_process.attach(runtime) and gx_process.current().submit(os.getpid).result() == pid
        gx_process.stop()
        assert not gx_process.attach(runtime, version="other code")  # a run of other code starts its own
    finally:
        gx_process.stop()
        os.kill(pid, signal.SIGTERM)
    assert [_comparable(r) for r in there] == [_comparable(r) for r in here]
    _wait_for(lambda: _gone(pid))
    assert not (runtime / gx_process.SERVER_FILE).exists()  # it cleaned up after itself
    assert not gx_process.attach(runtime)


def test_a_lost_warm_gx_process_falls_back_is_replaced_and_newer_code_replaces_it(frames, tmp_path, monkeypatch, gx_wanted):
    import os
    import signal

    gx_wanted(True)
    if not gx_process.enabled():
        pytest.skip("one CPU: the GX process is never started")
    runtime = tmp_path / "runtime"
    old = gx_process.ensure_server(runtime, version="old")
    new = again = None
    try:
        _wait_for(lambda: (runtime / gx_process.SERVER_FILE).exists())
        new = gx_process.ensure_server(runtime, version="new")  # the code changed: the old one is stopped
        assert new != old
        _wait_for(lambda: _gone(old))
        assert gx_process.attach(runtime, version="new")
        os.kill(new, signal.SIGKILL)  # lost in the middle of a run
        report = validation.run_suite("documents", frames["documents"], run_in=gx_process.run)
        assert report.success and report.n_rows == len(frames["documents"])
        assert gx_process.current() is None  # detached: later suites run here
        again = gx_process.ensure_server(runtime, version="new")  # the next wave starts another
        assert again not in (old, new) and gx_process.attach(runtime, version="new")
    finally:
        gx_process.stop()
        for pid in (old, new, again):
            if pid and not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_warm_gx_process_leaves_when_idle(tmp_path, monkeypatch, gx_wanted):
    gx_wanted(True)
    if not gx_process.enabled():
        pytest.skip("one CPU: the GX process is never started")
    pid = gx_process.ensure_server(tmp_path, idle_seconds=0.5)
    try:
        _wait_for(lambda: _gone(pid), seconds=90)  # warm-up, then half a second with no caller
    finally:
        if not _gone(pid):
            import os
            import signal

            os.kill(pid, signal.SIGKILL)
    assert not (tmp_path / gx_process.SERVER_FILE).exists()


def test_derived_columns_are_those_of_the_validation_frame(frames):
    """The corpus frame takes the derived columns without copying the tables: the same
    values as `validation_frame`, on tables with a shuffled, gapped index, some rows broken."""
    import numpy as np

    corpus = _corpus(frames)
    rng = np.random.default_rng(3)
    broken = {}
    for table, df in corpus.items():
        df = df.sample(frac=1.0, random_state=4)
        df.index = rng.permutation(len(df)) * 3 + 7  # neither in order nor 0..n-1
        broken[table] = df
    sents = broken["sentences"].copy()
    sents.iloc[0, sents.columns.get_loc("char_start")] += 1  # offsets no longer match
    broken["sentences"] = sents
    claims = broken["claims"].copy()
    claims.iloc[0, claims.columns.get_loc("text")] = "not the sentence"  # parent text differs
    broken["claims"] = claims
    ctx = _ctx(broken)
    for stage in ("paragraphs", "sentences", "claims", "claim_quantities", "claim_entities"):
        df = broken[stage]
        before = df.copy()
        full = validation.validation_frame(stage, df, ctx)
        derived = validation.derived_columns(stage, df, ctx)
        assert derived, stage
        for col, values in derived.items():
            assert np.asarray(values).tolist() == full[col].tolist(), (stage, col)
        pd.testing.assert_frame_equal(df, before)  # the table itself is left as it was
    frame = validation.corpus_frame(broken)
    assert len(frame) == sum(len(broken[t]) for t in broken)
    assert not frame["offsets_match"].all() and not frame["parent_known"].all()
    bad = set(frame.loc[~frame["offsets_match"] | ~frame["parent_known"], "row_id"])
    assert f"sentences:{sents.iloc[0]['sentence_id']}" in bad
    assert f"claims:{claims.iloc[0]['claim_id']}" in bad


def test_assembly_of_handed_over_tables_is_that_of_the_frames(frames):
    """`assemble_corpus` given the six tables in a dict (popped as it goes, the `corpus`
    stage's way) gives what it gives on the frames as arguments, and leaves argument frames
    as they were."""
    from pipeline import build

    names = ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities")
    given = {t: frames[t].copy() for t in names}
    before = {t: df.copy() for t, df in given.items()}
    from_frames = build.assemble_corpus(*(given[t] for t in names))
    for t in names:
        pd.testing.assert_frame_equal(given[t], before[t])
    handed = {t: df.copy() for t, df in before.items()}
    from_dict = build.assemble_corpus(handed)
    assert handed == {}  # every table taken
    assert from_dict.keys() == from_frames.keys()
    for t in names:
        pd.testing.assert_frame_equal(from_dict[t], from_frames[t])


def test_the_corpus_reads_only_the_rows_of_files_whose_documents_stay(frames, tmp_path):
    """`build.assemble_accepted` on a real state store: the corpus is the one assembled from
    every accepted row, but the rows after `documents` are read only for the files whose
    documents stay `ok` (a reprint's paragraphs, sentences and claims are never loaded)."""
    from pipeline import build, state

    names = build.CORPUS_TABLE_NAMES
    given = {t: frames[t].copy() for t in names}
    docs = given["documents"]
    key_of = {d: f"file{i}.txt" for i, d in enumerate(docs["doc_id"])}
    reprint = docs["doc_id"].iloc[-1]  # a document found a near-duplicate of another one, say
    docs.loc[docs["doc_id"] == reprint, ["status", "reason", "duplicate_of"]] = \
        ["duplicate", "near_duplicate", docs["doc_id"].iloc[0]]
    store = state.StateStore(tmp_path / "state")
    for t in names:
        df = given[t].copy()
        df["partition_key"] = df["doc_id"].map(key_of)
        if t == "documents":
            for col, value in (("file_sha256", "0" * 64), ("file_size", 1), ("file_mtime_ns", 1),
                               ("file_ctime_ns", 1), ("file_inode", 1)):
                df[col] = value
        store.write(t, "run1", list(key_of.values()), df)
    store.accept({k: {"versions": {t: "run1" for t in names}, "fingerprint": None, "relpath": k}
                  for k in key_of.values()})

    asked: list[tuple[str, set | None]] = []

    def read_tables(stages, keys=None):
        asked.extend((s, None if keys is None else set(keys)) for s in stages)
        return store.read_accepted_tables(stages, keys)

    tables, left_out = build.assemble_accepted(read_tables)
    assert left_out == []
    everything, _ = store.read_accepted_tables(names)
    expected = build.assemble_corpus(everything)
    for t in names:
        pd.testing.assert_frame_equal(tables[t], expected[t], check_dtype=False)
    assert asked[0] == ("documents", None)
    later = dict(asked[1:])
    assert set(later) == set(names[1:])
    assert all(keys == set(key_of.values()) - {key_of[reprint]} for keys in later.values())
    assert len(given["paragraphs"][given["paragraphs"]["doc_id"] == reprint])  # it had rows to leave unread
