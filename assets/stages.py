"""The stages as Dagster assets.

Per-file stages (documents, paragraphs, sentences, claims + claim_quantities +
claim_entities) are partitioned by `file_batches`: one dynamic partition per batch of
raw files, whose manifest in the state lists them (`assets.partitions`). Rows keep the
file they come from in `partition_key`. `accepted_files` runs last in such a run, only
when every blocking check before it passed, and marks the batch's versions as accepted. The corpus-level assets (`corpus`, `claim_clusters`,
`quantity_conflicts`, `warehouse`) read accepted versions only, then publish.
"""
import importlib
import sys
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pandas as pd

from assets.corpus_checks import start_corpus_suite
from assets.partitions import ISOLATE_TAG, file_batches
from assets.resources import PipelineSettings, Workers
from assets.runtime import HANDOVER, LOOK_AHEAD, NEXT_BATCHES, in_background
from pipeline import build, distributed, files, gx_process, nlp, publish as publishing, schemas
from pipeline.faults import checkpoint
from pipeline.files import relpath_of
from pipeline.state import (
    PER_DOCUMENT_STAGES, corpus_lock, drop_corpus_snapshot, file_tokens, indexes_generation, load_corpus_snapshot,
    load_indexes, promote_corpus_snapshot, save_corpus_snapshot, save_indexes,
)

# a UI backfill over many batches runs two batches per run (up to 2 x 1,000 documents)
BATCH_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=2)


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
    return {"dagster/column_schema": _schema(table), "published_table": table}


def _tag(out: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    """Carry each row's raw-file partition key over from the input, by document."""
    key_of = dict(zip(source["doc_id"], source["partition_key"])) if len(source) else {}
    out = out.copy()
    out["partition_key"] = out["doc_id"].map(key_of) if len(out) else pd.Series(dtype=object)
    return out


def _import_in_background(module: str) -> None:
    """Import `module` in a daemon thread, unless it is imported already (a later import
    in this thread waits for that one to finish: Python's per-module import lock)."""
    if module not in sys.modules:
        in_background(f"import {module}", importlib.import_module, module)


def _per_file(**kwargs) -> dict:
    return dict(partitions_def=file_batches, backfill_policy=BATCH_POLICY, **kwargs)


@dg.asset(group_name="ingest", kinds={"python"}, metadata=_meta("documents"), **_per_file(),
          description="Raw files decoded into documents: encoding, title, date, language, content-hash id; "
                      "bad files rejected with a reason. One partition per raw file.")
def documents(context: dg.AssetExecutionContext, settings: PipelineSettings, workers: Workers) -> pd.DataFrame:
    keys = settings.state.files_of(context.partition_keys)
    # a large batch starts the NLP worker pool now: spaCy loads there while this step reads files
    workers.prestart(sum(files.weight(relpath_of(k)) for k in keys))  # documents, not files
    df = _take_read_ahead(context.run_id, keys, settings)
    read_ahead = df is not None
    if df is None:
        df = _read_documents(settings, keys, _first_seen(settings, keys), datetime.now(timezone.utc))
    counts = df["status"].value_counts().to_dict()
    context.add_output_metadata({
        "dagster/row_count": len(df), "files": len(keys), "read_while_the_previous_batch_ran": read_ahead,
        **{f"status_{k}": int(v) for k, v in counts.items()},
        "preview": _preview(df, ["source_path", "status", "reason", "title", "language", "encoding"]),
    })
    return df


def _first_seen(settings: PipelineSettings, keys: list[str]) -> dict:
    """doc_id -> the `ingested_at` it had before (published, or an earlier version of these files)."""
    first_seen: dict = {}
    previous = settings.state.read_accepted("documents", keys)
    published = publishing.read_published(settings.warehouse_target, "documents", ["doc_id", "ingested_at"])
    for frame in (published.to_pandas() if published is not None else None, previous):
        if frame is not None and len(frame):
            first_seen.update(zip(frame["doc_id"], frame["ingested_at"]))
    return first_seen


def _read_documents(settings: PipelineSettings, keys: list[str], first_seen: dict, now: datetime) -> pd.DataFrame:
    df = build.documents_for_files(settings.raw_path, [relpath_of(k) for k in keys], first_seen, now=now,
                                   max_bytes=settings.max_file_bytes)
    return build.mark_repeated_bytes(df)


# A batch's NLP starts as soon as its input exists: the sentence splitting when the
# paragraphs are made, the claims when the sentences are. The workers compute while this
# process runs the blocking suite of that input; the next step, which runs only once
# that check passed, takes the result (`build.sentences_table(started=...)`, checked
# against a digest of its actual input). If the check fails, the result is never used.
def _start(run_id: str, stage: str, started: build.StartedNLP | None) -> None:
    HANDOVER.drop(keep=run_id, name_prefix="nlp:")  # an earlier run's (its check failed): never to be used
    HANDOVER.offer(run_id, f"nlp:{stage}", started)


def _started(run_id: str, stage: str) -> build.StartedNLP | None:
    return HANDOVER.take(run_id, f"nlp:{stage}")


# `pipeline run` goes through the files in batches, one run each (`assets.runner`), and
# tags each run with the next batch's partition range. Once a batch's claims NLP is handed
# to the worker processes, a thread here reads the next batch's files, cleans them, and
# hands that batch's sentence splitting and then its claims NLP to the same workers,
# queued behind this batch's: the workers go from one batch to the next without waiting,
# and this process does its share of the next batch while it would otherwise only wait.
# The next run's steps, which run only once their input's blocking check passed, take a
# result only if their actual input is the same: the files by size and modification
# time, the frames by a digest of the columns the stage reads.
NEXT_BATCH_TAG = "pipeline/next_batch"  # the batch partition `pipeline run` runs after this one
_DOCUMENT_COLUMNS = ("partition_key", "doc_id", "status", "text")
_PARAGRAPH_COLUMNS = ("partition_key", "paragraph_id", "doc_id", "ordinal", "status", "text", "char_start",
                      "is_heading")


class _ReadAhead:
    """The next batch, made stage by stage in a thread; each stage's result is a Future."""

    def __init__(self, keys: tuple[str, ...]):
        self.keys = keys
        self.documents: Future = Future()   # the documents frame
        self.paragraphs: Future = Future()  # (digest of its documents, the paragraphs frame)
        self.sentences: Future = Future()   # (digest of its paragraphs, (sentences frame, StartedNLP | None))
        # or None, when the sentences would have been split in this process

    def run(self, settings: PipelineSettings, first_seen: dict, now: datetime) -> None:
        try:
            docs = _read_documents(settings, list(self.keys), first_seen, now)
            self.documents.set_result(docs)
            paras = _tag(build.paragraphs_table(docs), docs)
            self.paragraphs.set_result((build.frame_digest(docs, _DOCUMENT_COLUMNS), paras))
            sentencizer = nlp.Deferred(settings.spacy_model, sentencizer=True)
            split = build.start_sentences(paras, sentencizer)
            if split is None:  # the split would run here: leave it to the step (no model loaded for it)
                self.sentences.set_result(None)
                return
            sents = _tag(build.sentences_table(paras, sentencizer, started=split), paras)
            claims = build.start_claims(sents, paras, nlp.Deferred(settings.spacy_model))
            self.sentences.set_result((build.frame_digest(paras, _PARAGRAPH_COLUMNS), (sents, claims)))
        except BaseException as exc:  # noqa: BLE001 - the step computes its stage itself then
            for future in (self.documents, self.paragraphs, self.sentences):
                if not future.done():
                    future.set_exception(exc)


def _next_batch(context: dg.AssetExecutionContext, settings: PipelineSettings) -> tuple[str, ...]:
    batch = context.run.tags.get(NEXT_BATCH_TAG)
    if not batch:
        return ()
    try:
        return tuple(settings.state.files_of([batch]))
    except LookupError:
        return ()


def _start_read_ahead(context: dg.AssetExecutionContext, settings: PipelineSettings) -> None:
    keys = _next_batch(context, settings)
    ahead = _ReadAhead(keys)
    if not keys or not LOOK_AHEAD.enabled or not NEXT_BATCHES.offer(keys, ahead):  # held until its run takes it
        return
    # read here, not in the thread: the state store's reader is this thread's
    first_seen = _first_seen(settings, list(keys))
    in_background("next batch", ahead.run, settings, first_seen, datetime.now(timezone.utc))


# `pipeline run` assembles the corpus in this process after the batches: each batch's texts
# are MinHashed for it by a thread while the batch's claims NLP runs on the workers and
# this process would only wait (`pipeline.distributed.sign_ahead`).
CORPUS_FOLLOWS_TAG = "pipeline/corpus_follows_in_this_process"  # set by `pipeline run` on its batch runs
_SIGNING: list[Future] = []  # batches' texts being MinHashed for the corpus stage


def _sign_ahead(run_id: str) -> None:
    batch = HANDOVER.take(run_id, "to_sign")  # (documents, paragraphs)
    if batch is None or not LOOK_AHEAD.enabled:
        return
    _SIGNING.append(in_background("MinHash ahead", build.sign_ahead_for_corpus, *batch))


def _signed_ahead() -> int:
    """How many signatures made ahead are waiting to be taken."""
    return distributed.signed_ahead_waiting()


def _join_signing() -> None:
    """Wait until the batches' texts are signed (the corpus stage takes them)."""
    while _SIGNING:
        try:
            _SIGNING.pop().result()
        except Exception:  # noqa: BLE001 - the corpus stage signs what is missing itself
            pass


def drop_signed_ahead() -> None:
    """Forget signatures made ahead that the corpus stage did not take."""
    HANDOVER.drop(name_prefix="to_sign")
    _join_signing()
    distributed.drop_signed_ahead()


def drop_read_ahead() -> None:
    """Forget read-ahead batches no run took (called when `pipeline run` has run every batch)."""
    NEXT_BATCHES.drop()
    HANDOVER.drop(name_prefix="read_ahead")


def _take_read_ahead(run_id: str, keys: list[str], settings: PipelineSettings) -> pd.DataFrame | None:
    """This batch's documents read ahead, if they were and the files have not changed since."""
    ahead = NEXT_BATCHES.take(tuple(keys))
    HANDOVER.drop(name_prefix="read_ahead")
    if ahead is None:
        return None
    try:
        docs = ahead.documents.result()
    except Exception:  # noqa: BLE001 - read here instead, where the error is raised again
        return None
    if not build.files_unchanged(settings.raw_path, docs, keys):
        return None
    HANDOVER.offer(run_id, "read_ahead", ahead)  # the paragraphs and sentences steps take theirs
    return docs


def _taken(run_id: str, stage: str, source: pd.DataFrame, columns: Sequence[str]):
    """The read-ahead result of `stage` when it was made from this very `source`."""
    ahead = HANDOVER.peek(run_id, "read_ahead")
    if ahead is None:
        return None
    try:
        made = getattr(ahead, stage).result()
    except Exception:  # noqa: BLE001 - the step makes it itself
        made = None
    if made is None or made[0] != build.frame_digest(source, columns):
        HANDOVER.take(run_id, "read_ahead")  # the later stages were made from something else too
        return None
    if stage == "sentences":
        HANDOVER.take(run_id, "read_ahead")
    return made[1]


@dg.asset(group_name="clean", kinds={"python"}, metadata=_meta("paragraphs"), **_per_file(),
          description="Paragraphs of accepted documents with exact offsets; boilerplate and repeats marked "
                      "with the rule that removed them.")
def paragraphs(context: dg.AssetExecutionContext, settings: PipelineSettings, documents: pd.DataFrame) -> pd.DataFrame:
    df = _taken(context.run_id, "paragraphs", documents, _DOCUMENT_COLUMNS)
    read_ahead = df is not None
    if df is None:
        df = _tag(build.paragraphs_table(documents), documents)
        _start(context.run_id, "sentences",
               build.start_sentences(df, nlp.Deferred(settings.spacy_model, sentencizer=True)))
    if context.run.tags.get(CORPUS_FOLLOWS_TAG) and not distributed.scheduler_address():
        # (with a Dask cluster the corpus stage has the cluster sign them)
        HANDOVER.drop(name_prefix="to_sign")
        HANDOVER.offer(context.run_id, "to_sign", (documents, df))  # signed once the claims NLP is handed over
    shares = df["status"].value_counts(normalize=True).round(3).to_dict() if len(df) else {}
    context.add_output_metadata({
        "dagster/row_count": len(df), "made_while_the_previous_batch_ran": read_ahead,
        **{f"share_{k}": float(v) for k, v in shares.items()},
        "removal_reasons": dg.MetadataValue.json(df["reason"].dropna().value_counts().to_dict() if len(df) else {}),
        "preview": _preview(df[df["status"] != "kept"] if len(df) else df, ["status", "reason", "text"]),
    })
    return df


# The NLP steps run in worker processes: a worker killed by the machine (out of memory, a
# stray signal) fails the step with BrokenProcessPool; one retry, after a pause, starts a
# new pool. A bad input fails a check, which is not retried.
NLP_RETRY = dg.RetryPolicy(max_retries=1, delay=5)


@dg.asset(group_name="clean", kinds={"python", "spacy"}, metadata=_meta("sentences"), **_per_file(),
          retry_policy=NLP_RETRY,
          description="Sentences of kept paragraphs (spaCy senter, one paragraph at a time: never across "
                      "paragraphs or lines).")
def sentences(context: dg.AssetExecutionContext, settings: PipelineSettings, paragraphs: pd.DataFrame) -> pd.DataFrame:
    checkpoint("stage:sentences")
    ahead = _taken(context.run_id, "sentences", paragraphs, _PARAGRAPH_COLUMNS)
    if ahead is not None:
        df, claims_started = ahead
    else:
        df = _tag(build.sentences_table(paragraphs, nlp.Deferred(settings.spacy_model, sentencizer=True),
                                        started=_started(context.run_id, "sentences")), paragraphs)
        claims_started = build.start_claims(df, paragraphs, nlp.Deferred(settings.spacy_model))
    _start(context.run_id, "claims", claims_started)
    _start_read_ahead(context, settings)
    _sign_ahead(context.run_id)
    context.add_output_metadata({"dagster/row_count": len(df), "made_while_the_previous_batch_ran": ahead is not None,
                                 "preview": _preview(df, ["ordinal", "text"])})
    return df


@dg.multi_asset(
    group_name="claims", **_per_file(), retry_policy=NLP_RETRY,
    outs={
        "claims": dg.AssetOut(kinds={"python", "spacy"}, metadata=_meta("claims"),
                              description="Sentences judged to be checkable claims, with speaker, cue, quote type, "
                                          "hedging and negation."),
        "claim_quantities": dg.AssetOut(kinds={"python", "spacy"}, metadata=_meta("claim_quantities"),
                                        description="One row per quantity in a claim: value, unit lemma and "
                                                    "qualifier (up to, more than, ...)."),
        "claim_entities": dg.AssetOut(kinds={"python", "spacy"}, metadata=_meta("claim_entities"),
                                      description="Named entities of claims with one canonical name across the corpus."),
    },
)
def claims_stage(context: dg.AssetExecutionContext, settings: PipelineSettings, sentences: pd.DataFrame,
                 paragraphs: pd.DataFrame):
    # this process mostly waits for the NLP workers here: meanwhile a thread imports the
    # MinHash library the corpus assembly needs (datasketch pulls in scipy, ~0.5 s)
    _import_in_background("pipeline.neardup")
    claims, quantities, entities = build.claims_tables(sentences, paragraphs, nlp.Deferred(settings.spacy_model),
                                                       started=_started(context.run_id, "claims"))
    claims, quantities, entities = (_tag(t, sentences) for t in (claims, quantities, entities))
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


@dg.asset(group_name="ingest", kinds={"python"}, **_per_file(),
          deps=["paragraphs", "sentences", "claims", "claim_quantities", "claim_entities"],
          description="Marks this batch's per-file results as accepted. Runs only when every blocking check "
                      "of the batch passed; the corpus-level stages read accepted results only.")
def accepted_files(context: dg.AssetExecutionContext, settings: PipelineSettings,
                   documents: pd.DataFrame) -> dg.MaterializeResult:
    store = settings.state
    entries = {}
    for key in store.files_of(context.partition_keys):
        versions = {}
        for stage in PER_DOCUMENT_STAGES:
            version = store.version_of(stage, key, context.run_id)
            if version is not None:
                versions[stage] = version
        rows = documents[documents["partition_key"] == key] if len(documents) else documents
        found = files.fingerprint_of_row(rows.iloc[0]) if len(rows) else None
        fp = found.to_json() if found is not None else None
        entries[key] = {"relpath": relpath_of(key), "fingerprint": fp, "versions": versions, "run_id": context.run_id}
    store.accept(entries)
    # one batch file per run and stage adds up (a sensor run every few arrivals); merged
    # once there are enough small ones, so the corpus stage reads a few files
    merged = store.compact()
    return dg.MaterializeResult(metadata={"accepted_files": len(entries),
                                          "batch_files_merged": dg.MetadataValue.json(merged)})


# ------------------------------------------------------------------ corpus level


# The cross-document stages start as soon as the corpus is assembled, while the corpus
# suite runs: the quantity conflicts in the GX process (plain Python on the second core;
# it validates the suite after them), the clusters in a thread here (this process mostly
# waits for the GX process then). The claim_clusters and quantity_conflicts steps, which
# run only once that blocking check passed, take the results; if it fails they are never
# used. A step run on its own (another run, a re-execution) computes its table itself.
CROSS_DOCUMENT = ("claim_clusters", "quantity_conflicts")


def _cross_document(tables: dict, state_root, which=CROSS_DOCUMENT, conflicts_future=None) -> dict:
    out = {}
    if "claim_clusters" in which:
        out["claim_clusters"], out["cluster_links_reused"] = build.clusters_with_memo(
            tables["claims"], tables["claim_quantities"], tables["claim_entities"], state_root)
    if "quantity_conflicts" in which:
        found = None
        if conflicts_future is not None:
            try:
                found = conflicts_future.result()
            except BrokenProcessPool:  # the GX process died: here, then
                found = None
        if found is None:
            found = build.conflicts_with_memo(*build.conflict_inputs(tables), state_root)
        out["quantity_conflicts"], out["clause_readings_reused"] = found
        groups = out.get("claim_clusters")
        if groups is None:
            groups, _reused = build.clusters_with_memo(tables["claims"], tables["claim_quantities"],
                                                       tables["claim_entities"], state_root)
        out["quantity_conflicts"] = build.conflicts_over_clusters(out["quantity_conflicts"], groups,
                                                                  tables["claim_quantities"])
    return out


def _start_ahead(run_id: str, tables: dict, state_root) -> None:
    HANDOVER.drop(name_prefix="cross_document")  # one run at a time in a process: nothing of an earlier run is kept
    conflicts_future = gx_process.submit(build.conflicts_with_memo, *build.conflict_inputs(tables), state_root)
    future = in_background("cross-document stages", lambda: _cross_document(tables, state_root,
                                                                            conflicts_future=conflicts_future))
    HANDOVER.offer(run_id, "cross_document", (future, set()))  # (its result, the tables taken so far)


def _take_ahead(run_id: str, table: str, corpus: dict, state_root) -> tuple[pd.DataFrame, dict]:
    """The table computed ahead for this run (else computed now) and its extra metadata."""
    ahead = HANDOVER.peek(run_id, "cross_document")
    if ahead is None:
        result = _cross_document(corpus, state_root, which=(table,))
    else:
        future, taken = ahead
        result = future.result()
        taken.add(table)
        if taken >= set(CROSS_DOCUMENT):
            HANDOVER.take(run_id, "cross_document")
    extra = {"computed_while_the_corpus_suite_ran": ahead is not None}
    if table == "quantity_conflicts":
        extra["clause_readings_reused"] = result["clause_readings_reused"]
    if table == "claim_clusters":
        extra["claims_whose_links_were_reused"] = result["cluster_links_reused"]
    return result[table], extra


def _quarantine_corpus_breakers(context: dg.AssetExecutionContext, store, batches: list[str]) -> list[str]:
    """A publish run after one whose corpus check failed (`ISOLATE_TAG`): find the files of
    `batches` without which the corpus check passes (`pipeline.isolation`, each probe a
    corpus assembled and validated here with some of them held out, nothing published),
    and quarantine them: published as rejected rows with the reason, not processed again
    until their bytes change. Returns their relative paths."""
    import os

    from pipeline.ingest import format_of
    from pipeline.isolation import culprits
    from pipeline.validation import corpus_frame, run_suite

    registry = store.accepted_view()
    try:
        in_batches = store.files_of(batches)
    except LookupError as exc:  # a manifest gone (forgotten state): nothing to look among
        context.log.warning(f"not looking for the files the corpus check fails with: {exc}")
        return []
    suspects = [k for k in in_batches if k in registry and not registry[k].get("quarantined")]
    found: dict = {}

    def passes(included: list[str]) -> bool:
        held = [k for k in suspects if k not in included]
        store.hold_out(held, os.getpid())
        try:
            with corpus_lock(store.root):
                tables, _left_out = build.assemble_accepted(store.read_accepted_tables, indexes=load_indexes(store.root))
            report = run_suite("corpus", corpus_frame(tables), run_name=context.run.run_id, batch_name="isolation probe",
                               run_in=gx_process.run)
        finally:
            store.release(held)
        if not report.success and len(included) == len(suspects):
            found["reason"] = "; ".join(o.describe() for o in report.failures)[:400]
        return report.success

    if not suspects or passes(list(suspects)):
        return []  # it passes with all of them now: nothing to look for
    context.log.warning(f"the last corpus check failed: looking for the file(s) among the {len(suspects)} of its wave")
    bad = culprits(suspects, passes)
    reason = f"the corpus check fails with it ({found.get('reason', 'failed')})"
    store.quarantine_files({k: {"relpath": registry[k]["relpath"], "fingerprint": registry[k].get("fingerprint"),
                                "reason": reason, "keep_versions": True,
                                "source_format": format_of(files.file_of(registry[k]["relpath"])) or "unknown"}
                            for k in bad})
    for k in bad:
        context.log.warning(f"rejected: {registry[k]['relpath']}: {reason}")
    return [registry[k]["relpath"] for k in bad]


def _extended(store, snapshot, tokens: dict, indexes):
    """(the last corpus extended by the files accepted since, those files, the rows of each
    table that were there), or None when it cannot be (a file of it changed or gone, or
    the new files change its rows: `build.extend_corpus`)."""
    added = snapshot.added_files(tokens)
    if added is None:
        return None
    found = build.extend_corpus(snapshot.tables, store.read_accepted_tables, added, indexes, snapshot.texts)
    snapshot.tables = None  # the corpus holds them now (or they go)
    return None if found is None else (found[0], added, found[1])


@dg.asset(group_name="clean", kinds={"python"}, deps=[accepted_files],
          description="The per-file tables of every accepted file, made one corpus: repeated documents "
                      "collapsed, cross-document repeated paragraphs linked, corpus-wide entity names.")
def corpus(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dict:
    store = settings.state
    isolated = _quarantine_corpus_breakers(context, store, context.run.tags[ISOLATE_TAG].split(",")) \
        if context.run.tags.get(ISOLATE_TAG) else None
    _join_signing()  # the batches' texts MinHashed ahead, taken by the assembly below
    signed_ahead = _signed_ahead()
    with corpus_lock(store.root):
        indexes = distributed.take_indexes(store.root)  # loaded while the batch ran (`pipeline run`)
        indexes_ahead = indexes is not None
        if indexes is None:
            indexes = load_indexes(store.root)
        # the last corpus plus the files accepted since, when nothing it holds changed
        # (`build.extend_corpus`); else the documents first, then only the rows of the files
        # whose documents stay: a reprint's rows are never loaded; each table is dropped once
        # filtered, so the accepted rows and the corpus are not held twice, and the corpus
        # suite, the cross-document stages and the publish hold one copy of the corpus
        registry = store.registry_generation()  # first: a write after it shows at the end
        tokens = file_tokens(store.accepted_view())
        snapshot = load_corpus_snapshot(store.root)
        code = build.assembly_code()
        if snapshot is not None and (snapshot.generation != indexes_generation(store.root) or snapshot.code != code):
            snapshot = None  # not the corpus these indexes describe, or assembled by other code
        extended = _extended(store, snapshot, tokens, indexes) if snapshot is not None else None
        left_out, added, unchanged = [], None, None
        if extended is not None:
            tables, added, unchanged = extended
        else:
            snapshot = None
            tables, left_out = build.assemble_accepted(store.read_accepted_tables, indexes=indexes)
        generation = uuid.uuid4().hex
        save_indexes(store.root, indexes, generation)
        checkpoint("corpus:after_indexes")  # a crash here: indexes of a generation no snapshot has
        HANDOVER.drop(name_prefix="corpus_generation")
        if store.registry_generation() == registry:  # no file accepted or forgotten meanwhile
            save_corpus_snapshot(store.root, tables, tokens, generation, previous=snapshot, unchanged=unchanged,
                                 texts=indexes.first_with_text, code=code)
            HANDOVER.offer(context.run_id, "corpus_generation", generation)  # promoted by this run's publish
        else:
            drop_corpus_snapshot(store.root)
        snapshot = extended = None
    for relpath, reason in left_out:
        context.log.warning(f"left out of this corpus, processed again by the next run: {relpath}: {reason}")
    signed_ahead -= _signed_ahead()
    distributed.drop_prefetched()  # rows read ahead that this corpus did not take (files replaced since)
    start_corpus_suite(context.run_id, tables, settings)  # first in the GX process, then the conflicts
    _start_ahead(context.run_id, tables, store.root)
    context.add_output_metadata({
        **{f"rows_{k}": len(v) for k, v in tables.items()},
        "files": len(store.accepted_view()), "minhash_signatures_made_ahead": signed_ahead,
        "indexes_loaded_ahead": indexes_ahead,
        "assembled": "the last corpus and the files added since" if added is not None else "every accepted file",
        "files_added_to_the_last_corpus": len(added) if added is not None else None,
        **({} if isolated is None else {"quarantined_for_the_corpus_check": dg.MetadataValue.json(isolated)}),
        "files_left_out": dg.MetadataValue.json([{"file": r, "reason": why} for r, why in left_out]),
        "documents_by_status": dg.MetadataValue.json(
            tables["documents"]["status"].value_counts().to_dict() if len(tables["documents"]) else {}),
    })
    return tables


@dg.asset(group_name="claims", kinds={"python"}, metadata=_meta("claim_clusters"),
          description="Claims in different documents that state the same thing.")
def claim_clusters(context: dg.AssetExecutionContext, settings: PipelineSettings, corpus: dict) -> pd.DataFrame:
    df, extra = _take_ahead(context.run_id, "claim_clusters", corpus, settings.state.root)
    context.add_output_metadata({"dagster/row_count": len(df), **extra,
                                 "preview": _preview(df, ["n_claims", "n_documents", "representative_text"])})
    return df


@dg.asset(group_name="claims", kinds={"python"}, metadata=_meta("quantity_conflicts"),
          description="Pairs of claims in different documents reporting the same measured thing with "
                      "incompatible numbers.")
def quantity_conflicts(context: dg.AssetExecutionContext, settings: PipelineSettings, corpus: dict) -> pd.DataFrame:
    df, extra = _take_ahead(context.run_id, "quantity_conflicts", corpus, settings.state.root)
    context.add_output_metadata({"dagster/row_count": len(df), **extra,
                                 "preview": _preview(df, ["unit", "text_a", "text_b", "shared_entities"])})
    return df


PUBLISHED = tuple(schemas.CONTRACT_TABLES)  # the eight tables of DATA_CONTRACT.md, in its order


def published_key(table: str) -> dg.AssetKey:
    """The asset of a published table: `warehouse/<table>`."""
    return dg.AssetKey(["warehouse", table])


def _published_schema(table) -> dg.TableSchema:
    """The column schema of a published Parquet snapshot (what BI tools see)."""
    import pyarrow.parquet as pq

    local = isinstance(table.version_path, Path)  # on s3:// the schema written is the stage's own
    files = sorted(table.version_path.glob("*.parquet")) if local and table.version_path.is_dir() else []
    arrow = pq.read_schema(files[0]) if files else schemas.TABLES[table.name]
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in arrow])


@dg.multi_asset(
    name="warehouse", group_name="publish", can_subset=False,
    specs=[dg.AssetSpec(published_key(t), kinds={"parquet", "duckdb"}, group_name="publish",
                        deps=[corpus, claim_clusters, quantity_conflicts],
                        metadata={"dagster/column_schema": _schema(t), "published_table": t},
                        description=f"The published `{t}` table (DATA_CONTRACT.md): a Parquet snapshot in the "
                                    "warehouse, a view in catalog.duckdb. Replaced atomically with the seven others.")
           for t in PUBLISHED],
)
def warehouse(context: dg.AssetExecutionContext, settings: PipelineSettings, corpus: dict,
              claim_clusters: pd.DataFrame, quantity_conflicts: pd.DataFrame):
    """Publishes every table to the warehouse atomically and rebuilds catalog.duckdb; runs only
    when every upstream suite passed. Each table is an asset of its own (rows, schema, path)."""
    frames = dict(corpus)
    frames["claims"] = build.with_cluster_ids(corpus["claims"], claim_clusters)
    frames["claim_clusters"] = claim_clusters
    frames["quantity_conflicts"] = quantity_conflicts
    tables = {name: schemas.conform(frames[name], name) for name in schemas.CONTRACT_TABLES}
    target = settings.warehouse_target  # the local folder, or the S3Warehouse
    published = publishing.publish(target, tables, run_all=distributed.run_all_in_threads)
    generation = HANDOVER.take(context.run_id, "corpus_generation")
    if generation is not None:  # every check of this run's corpus passed: the next run may extend it
        with corpus_lock(settings.state.root):
            promote_corpus_snapshot(settings.state.root, generation)
    for t in published:
        yield dg.MaterializeResult(asset_key=published_key(t.name), metadata={
            "dagster/row_count": t.rows,
            "dagster/column_schema": _published_schema(t),
            "location": dg.MetadataValue.path(str(t.path)),
            "snapshot": t.version,
            "parts": t.parts, "parts_reused_from_the_snapshot_before": t.parts_reused,
            "catalog": dg.MetadataValue.path(str(publishing.catalog_path(target))),
        })


def with_freshness(assets: list, stale_after: timedelta) -> list:
    """`assets` with a freshness policy on the eight published tables: a warning when one was
    not published for `stale_after`, a failure after twice that (a stopped daemon shows up;
    the daily rescan publishes at least once a day)."""
    policy = dg.FreshnessPolicy.time_window(fail_window=2 * stale_after, warn_window=stale_after)
    return dg.map_asset_specs(
        lambda spec: spec.replace_attributes(freshness_policy=policy) if spec.key.path[0] == "warehouse" else spec,
        assets)


def published_table_checks() -> list:
    """Column-schema-change checks on the eight published tables (they warn, never block)."""
    return list(dg.build_column_schema_change_checks(assets=[published_key(t) for t in PUBLISHED]))


PER_FILE_ASSETS = [documents, paragraphs, sentences, claims_stage, accepted_files]
CORPUS_ASSETS = [corpus, claim_clusters, quantity_conflicts, warehouse]
PUBLISH_KEYS = [dg.AssetKey("corpus"), dg.AssetKey("claim_clusters"), dg.AssetKey("quantity_conflicts"),
                *(published_key(t) for t in PUBLISHED)]
STAGE_ASSETS = PER_FILE_ASSETS + CORPUS_ASSETS
