"""The stages as functions from tables to tables (pandas DataFrames).

These are what the Dagster assets call. Each one takes the upstream tables and the
settings it needs and returns new frames; none writes files or keeps state.
"""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import boilerplate, clusters, conflicts, dedup, distributed, ids
from pipeline.claims import SentenceInput
from pipeline.corpus_indexes import CorpusIndexes
from pipeline.entities import canonical_names
from pipeline.ingest import DEFAULT_MAX_FILE_BYTES, ingest
from pipeline.paragraphs import split_paragraphs
from pipeline.nlp import package_of as nlp_package_of
from pipeline.schemas import TABLES, empty_frame, member_of

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.neardup import NearDupIndex
    from pipeline.templates import TemplateCounter


MAX_PARAGRAPH_CHARS = 20_000  # the longest real news paragraphs are a few thousand characters


def _frame(rows: list[dict], table: str) -> pd.DataFrame:
    if not rows:
        return empty_frame(table)
    df = pd.DataFrame(rows)
    cols = [f.name for f in TABLES[table] if f.name in df.columns]
    return df[cols + [c for c in df.columns if c not in cols]]


def _record_row(rec, first_seen: dict, now: datetime) -> dict:
    return {
        "doc_id": rec.doc_id, "source_path": rec.source_path, "text": rec.text, "title": rec.title,
        "published_at": rec.published_at, "language": rec.language, "encoding": rec.encoding,
        "n_bytes": rec.n_bytes, "status": rec.status, "reason": rec.reason,
        "duplicate_of": rec.duplicate_of, "ingested_at": first_seen.get(rec.doc_id, now),
        "source_format": rec.source_format, "url": rec.url, "article_text": rec.article_text,
        "also_seen_at": "\n".join(rec.extra_paths) or None,
        "file_sha256": rec.file_sha256, "file_size": rec.file_size, "file_mtime_ns": rec.file_mtime_ns,
        "file_ctime_ns": rec.file_ctime_ns, "file_inode": rec.file_inode,
    }


def _documents_frame(rows: list[dict]) -> pd.DataFrame:
    df = _frame(rows, "documents")
    for col in ("published_at", "ingested_at"):
        df[col] = pd.to_datetime(df[col], utc=True).astype("datetime64[us, UTC]")
    for col in ("n_bytes", "file_size", "file_mtime_ns", "file_ctime_ns", "file_inode"):  # nullable integers: a missing stat is no float NaN
        if col in df.columns:
            df[col] = df[col].astype("Int64")
    return df


def documents_for_files(
    raw_dir: Path, relpaths: list[str], first_seen: dict | None = None, now: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> pd.DataFrame:
    """Document rows of some raw files (a Dagster batch), before corpus-level dedup.

    `first_seen` maps doc_id -> the `ingested_at` it had before, so a reprocessed
    document keeps the time it was first ingested. Column `partition_key` names the
    file each row came from.
    """
    from pipeline.files import partition_key, unit_of
    from pipeline.ingest import read_file

    raw_dir = Path(raw_dir)
    now = now or datetime.now(timezone.utc)
    rows = []
    for rel in relpaths:
        file, lines = unit_of(rel)  # a file, or some lines of a long .jsonl feed
        for rec in read_file(raw_dir / file, raw_dir, max_bytes, lines=lines):
            row = _record_row(rec, first_seen or {}, now)
            row["partition_key"] = partition_key(rel)
            rows.append(row)
    df = _documents_frame(rows)
    if "partition_key" not in df.columns:
        df["partition_key"] = pd.Series(dtype=object)
    return df


def files_unchanged(raw_dir: Path, documents: pd.DataFrame, partition_keys: list[str]) -> bool:
    """Whether every file of `partition_keys` still has the size and modification time
    recorded in `documents` (rows read earlier, tagged with `partition_key`). False when a
    file has no such record (rejected before it was read, or no rows at all)."""
    from pipeline.files import file_of, relpath_of

    columns = ["partition_key", "file_size", "file_mtime_ns", "file_ctime_ns", "file_inode"]
    if any(c not in documents.columns for c in columns):
        return False
    recorded: dict[str, tuple] = {}
    for key, *stat_values in documents[columns].itertuples(index=False):
        if any(pd.isna(v) for v in stat_values):
            return False
        recorded.setdefault(key, tuple(int(v) for v in stat_values))
    for key in partition_keys:
        if key not in recorded:
            return False
        try:
            st = (Path(raw_dir) / file_of(relpath_of(key))).stat()
        except OSError:
            return False
        # the inode change time too: an edit that keeps size and mtime (`cp -p`) is an edit
        if (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) != recorded[key]:
            return False
    return True


def frame_digest(df: pd.DataFrame, columns: Sequence[str]) -> str:
    """A digest of some columns of a frame, row order included: "is this the same input?"."""
    return _digest(*(df[c].tolist() for c in columns), list(columns))


def mark_repeated_bytes(documents: pd.DataFrame) -> pd.DataFrame:
    """Within one batch, a second file with the same bytes (same doc_id) is a duplicate
    of the first: it is not split into paragraphs twice."""
    if not len(documents):
        return documents
    df = documents.copy()
    repeated = df.duplicated("doc_id", keep="first") & (df["status"] == "ok")
    df.loc[repeated, "status"] = "duplicate"
    df.loc[repeated, "reason"] = "same_bytes"
    df.loc[repeated, "duplicate_of"] = df.loc[repeated, "doc_id"]
    return df


def documents_table(
    raw_dir: Path, previous: pd.DataFrame | None = None, now: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> pd.DataFrame:
    """One row per distinct document of a whole raw folder, in one go (no Dagster).

    `ingested_at` is carried over from `previous` (the last published documents) so a
    document keeps the time it was first seen.
    """
    now = now or datetime.now(timezone.utc)
    first_seen = {}
    if previous is not None and len(previous):
        first_seen = dict(zip(previous["doc_id"], previous["ingested_at"]))
    rows = [_record_row(rec, first_seen, now) for rec in ingest(Path(raw_dir), max_bytes=max_bytes)]
    return _documents_frame(rows)


def paragraphs_table(documents: pd.DataFrame, config: boilerplate.BoilerplateConfig | None = None) -> pd.DataFrame:
    """Every paragraph of every `ok` document with its status, reason and repeats."""
    config = config or boilerplate.BoilerplateConfig()
    # An HTML page's text is the whole page (`pipeline.pagetext`) and its `article_text` what
    # trafilatura extracted: the HTML paragraph model reads both, and may override any soft
    # rule (`config.for_html_pages()`). A document of an older
    # warehouse whose text *is* trafilatura's extraction (no article_text) gets only the few
    # rules of `config.for_extracted()`: the model and most rules, made for whole pages,
    # remove article text from an extraction, and so do the within-document repeats
    # (eval.webpages, training part: mean F1 0.847 with every rule and the repeats, 0.894 so)
    extracted, whole_page = config.for_extracted(), config.for_html_pages()
    rows: list[dict] = []
    ok = documents[documents["status"] == "ok"].drop_duplicates("doc_id")
    formats = ok["source_format"] if "source_format" in ok.columns else pd.Series("txt", index=ok.index)
    articles = ok["article_text"] if "article_text" in ok.columns else pd.Series(None, index=ok.index, dtype=object)
    for doc_id, text, fmt, article in zip(ok["doc_id"], ok["text"], formats, articles):
        spans = split_paragraphs(text)
        texts = [text[s.start:s.end] for s in spans]
        article = article if isinstance(article, str) else None
        cut_out = fmt == "html" and article is None
        page_config = whole_page if article is not None else extracted if cut_out else config
        verdicts = boilerplate.classify(texts, page_config, article_text=article)
        pids = [ids.paragraph_id(doc_id, s.start, s.end) for s in spans]
        repeats = dedup.within_document(texts, [v.reason is None for v in verdicts]) if not cut_out \
            else [None] * len(texts)
        for n, (span, ptext, verdict, pid, rep) in enumerate(zip(spans, texts, verdicts, pids, repeats)):
            status, reason, dup_of = "kept", None, None
            if len(ptext) > MAX_PARAGRAPH_CHARS:
                status, reason = "boilerplate", "oversized_paragraph"  # a blob, not prose (and beyond spaCy's limit)
            elif verdict.reason is not None:
                status, reason = "boilerplate", verdict.reason
            elif rep is not None:
                status, reason, dup_of = "duplicate", rep.reason, pids[rep.index]
            rows.append({
                "paragraph_id": pid, "doc_id": doc_id, "ordinal": n, "text": ptext,
                "char_start": span.start, "char_end": span.end, "status": status, "reason": reason,
                "duplicate_of": dup_of, "near_duplicate_of": None, "is_heading": bool(verdict.is_heading),
                "n_words": len(ptext.split()),
            })
    df = _frame(rows, "paragraphs")
    if len(df):
        df["near_duplicate_of"] = dedup.across_documents(
            df["paragraph_id"].tolist(), df["doc_id"].tolist(), df["text"].tolist(), (df["status"] == "kept").tolist()
        )
    return df.astype({"ordinal": "int32", "char_start": "int64", "char_end": "int64", "n_words": "int32"})


@dataclass
class StartedNLP:
    """A stage's NLP handed to the workers ahead of the stage (`start_sentences`,
    `start_claims`), with a digest of the input it was given: the stage uses it only for
    the very same input."""
    digest: str
    pending: distributed.Pending


def _digest(*columns: list) -> str:
    h = hashlib.blake2b(digest_size=16)
    for column in columns:
        for value in column:
            h.update(str(value).encode("utf-8", "surrogatepass"))
            h.update(b"\x1f")
        h.update(b"\x1e")
    return h.hexdigest()


def _kept_paragraphs(paragraphs: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    kept = paragraphs[paragraphs["status"] == "kept"].sort_values(["doc_id", "ordinal"])
    return kept, kept["text"].tolist(), kept["doc_id"].tolist()


def start_sentences(paragraphs: pd.DataFrame, sentencizer) -> StartedNLP | None:
    """The sentence splitting of `sentences_table` handed to the NLP workers now (None when
    it would run in this process): the paragraphs' suite runs meanwhile."""
    _kept, texts, doc_ids = _kept_paragraphs(paragraphs)
    pending = distributed.start_split_sentences(nlp_package_of(sentencizer), sentencizer, texts, doc_ids)
    return StartedNLP(_digest(texts, doc_ids), pending) if pending is not None else None


def sentences_table(paragraphs: pd.DataFrame, sentencizer, started: StartedNLP | None = None) -> pd.DataFrame:
    """Sentences of kept paragraphs, numbered in document order. `started` (from
    `start_sentences` on the same paragraphs) gives the spans computed ahead."""
    kept, texts, doc_ids = _kept_paragraphs(paragraphs)
    if started is not None and started.digest == _digest(texts, doc_ids):
        spans = started.pending.result()
    else:  # in this process, local worker processes or a Dask cluster (pipeline.distributed)
        spans = distributed.split_sentences(nlp_package_of(sentencizer), sentencizer, texts, doc_ids)
    rows = []
    ordinal: dict[str, int] = {}
    for (doc_id, pid, ptext, pstart), sent_spans in zip(
        kept[["doc_id", "paragraph_id", "text", "char_start"]].itertuples(index=False), spans
    ):
        for a, b in sent_spans:
            n = ordinal.get(doc_id, 0)
            ordinal[doc_id] = n + 1
            start, end = int(pstart) + a, int(pstart) + b
            rows.append({
                "sentence_id": ids.sentence_id(doc_id, start, end), "doc_id": doc_id, "paragraph_id": pid,
                "ordinal": n, "text": ptext[a:b], "char_start": start, "char_end": end,
            })
    return _frame(rows, "sentences").astype({"ordinal": "int32", "char_start": "int64", "char_end": "int64"})


def _claim_inputs(sentences: pd.DataFrame, paragraphs: pd.DataFrame,
                  prefilter: Callable[[str], bool] | None = None) -> list[SentenceInput]:
    headings = set(paragraphs.loc[paragraphs["is_heading"], "paragraph_id"])
    ordered = sentences.sort_values(["doc_id", "ordinal"])
    return [
        SentenceInput(sid, did, pid, text, int(start), pid in headings)
        for sid, did, pid, text, start in ordered[
            ["sentence_id", "doc_id", "paragraph_id", "text", "char_start"]
        ].itertuples(index=False)
        if prefilter is None or prefilter(text)
    ]


def _inputs_digest(inputs: list[SentenceInput]) -> str:
    return _digest([(s.sentence_id, s.doc_id, s.paragraph_id, s.text, s.char_start, s.is_heading) for s in inputs])


def start_claims(sentences: pd.DataFrame, paragraphs: pd.DataFrame, nlp) -> StartedNLP | None:
    """The NLP of `claims_tables` handed to the workers now (None when it would run in this
    process): the sentences' suite runs meanwhile."""
    inputs = _claim_inputs(sentences, paragraphs)
    pending = distributed.start_extract_claims(nlp_package_of(nlp), nlp, inputs)
    return StartedNLP(_inputs_digest(inputs), pending) if pending is not None else None


def claims_tables(
    sentences: pd.DataFrame, paragraphs: pd.DataFrame, nlp,
    prefilter: Callable[[str], bool] | None = None, started: StartedNLP | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(claims, claim_quantities, claim_entities) with corpus-wide canonical entity names.

    `prefilter(sentence_text) -> bool`, when given, chooses the sentences that get the
    full parse; the others are treated as absent (never claims, and no context for
    the document-level speaker resolution of the rest). `pipeline.candidates.is_candidate`
    is such a filter. Off by default: with it the tables can differ (see that module).
    `started` (from `start_claims` on the same sentences) gives the NLP computed ahead.
    """
    inputs = _claim_inputs(sentences, paragraphs, prefilter)
    if started is not None and started.digest == _inputs_digest(inputs):
        out = started.pending.result()
    else:  # in this process, local worker processes or a Dask cluster (pipeline.distributed)
        out = distributed.extract_claims(nlp_package_of(nlp), nlp, inputs)
    claims = _frame([vars(c) for c in out.claims], "claims")
    claims["cluster_id"] = None
    quantities = _frame(out.quantities, "claim_quantities")
    entities = _frame(out.entities, "claim_entities")
    if len(entities):
        mapping = canonical_names(zip(entities["text"], entities["label"]))
        entities["canonical"] = [mapping[(t, lab)] for t, lab in zip(entities["text"], entities["label"])]
    else:
        entities["canonical"] = pd.Series(dtype=object)
    claims = claims.astype({"checkworthiness": "float64", "char_start": "int64", "char_end": "int64"})
    quantities = quantities.astype({"value": "float64", "ordinal": "int32", "char_start": "int64", "char_end": "int64"})
    entities = entities.astype({"ordinal": "int32", "char_start": "int64", "char_end": "int64"})
    return claims, quantities, entities


def records(df: pd.DataFrame) -> list[dict]:
    """`df.to_dict("records")` without pandas' cell-by-cell boxing: a column at a time
    (`tolist`), which is several times faster on Arrow-backed string columns
    (21,559 claims with their quantities and entities: 2.7 s -> 0.3 s)."""
    cols = list(df.columns)
    return [dict(zip(cols, row)) for row in zip(*(df[c].tolist() for c in cols))]


def _columns(df: pd.DataFrame, columns: list[str]) -> list[dict]:
    """The rows of the columns a stage reads (fewer columns: fewer Python objects to make)."""
    return records(df[[c for c in columns if c in df.columns]])


def clusters_table(claims: pd.DataFrame, quantities: pd.DataFrame, entities: pd.DataFrame,
                   memo: clusters.LinkMemo | None = None) -> pd.DataFrame:
    """The claim clusters; `memo` (the links of an earlier run, updated in place) spares
    the pairs whose link cannot have changed (`clusters.LinkMemo`): the same table."""
    feats = clusters.build_features(_columns(claims, ["claim_id", "doc_id", "content_lemmas", "checkworthiness", "text"]),
                                    _columns(quantities, ["claim_id", "value", "qualifier", "unit"]),
                                    _columns(entities, ["claim_id", "canonical", "text"]))
    text = dict(zip(claims["claim_id"], claims["text"]))
    rows = [
        {"cluster_id": c.cluster_id, "n_claims": len(c.claim_ids), "n_documents": c.n_documents,
         "representative_claim_id": c.representative_claim_id,
         "representative_text": text[c.representative_claim_id], "claim_ids": " ".join(c.claim_ids)}
        for c in clusters.cluster_claims(feats, memo)
    ]
    return _frame(rows, "claim_clusters").astype({"n_claims": "int32", "n_documents": "int32"})


def conflicts_table(quantities: pd.DataFrame, entities: pd.DataFrame, claims: pd.DataFrame,
                    memo: conflicts.ContextMemo | None = None) -> pd.DataFrame:
    """Conflicting statements; `claims` (claim_id, doc_id, text, char_start) let the subject of
    each number be read from its own clause (`pipeline.conflicts`); `memo` keeps those
    readings between runs."""
    found = conflicts.find_conflicts(_columns(quantities, CONFLICT_COLUMNS["quantities"]),
                                     _columns(entities, CONFLICT_COLUMNS["entities"]),
                                     records(claims[CONFLICT_COLUMNS["claims"]]), memo=memo)
    return _frame([vars(c) for c in found], "quantity_conflicts")


def conflicts_over_clusters(conflicts_df: pd.DataFrame, claim_clusters: pd.DataFrame,
                            quantities: pd.DataFrame) -> pd.DataFrame:
    """The conflicts lifted to statement groups (the claim clusters): when claim A conflicts
    with claim B, every claim C of B's cluster in another document than A's that reports
    B's figure (same unit, the number within clusters.FIGURE_TOLERANCE, compatible
    qualifiers) and is incompatible with A's figure conflicts with A too, and likewise
    for A's cluster. Then one row per pair of documents and pair of statements (unit,
    values, qualifiers): reprints of a statement add to `n_claim_pairs`, not rows.
    `reached_via` names the cluster a lifted row was reached through; a lifted row keeps the
    `different_time` of the row it was lifted from."""
    out = conflicts_df.copy()
    if "reached_via" not in out.columns:
        out["reached_via"] = None
    if "different_time" not in out.columns:
        out["different_time"] = False
    if not len(out):
        return out
    member_of, members = {}, {}
    if len(claim_clusters):
        for cid, ids_ in zip(claim_clusters["cluster_id"], claim_clusters["claim_ids"]):
            members[cid] = ids_.split()
            for m in members[cid]:
                member_of[m] = cid
    q_by: dict[str, list] = {}
    for cid, doc, v, qual, unit, text in zip(quantities["claim_id"], quantities["doc_id"], quantities["value"],
                                             quantities["qualifier"], quantities["unit"], quantities["text"]):
        q_by.setdefault(cid, []).append((doc, float(v), qual, conflicts.normalize_unit(unit), text))
    rows = records(out)
    seen = {(r["claim_id_a"], r["claim_id_b"]) for r in rows}
    lifted = []
    for r in rows:
        unit = conflicts.normalize_unit(r["unit"])
        for side, other in (("b", "a"), ("a", "b")):
            cluster = member_of.get(r[f"claim_id_{side}"])
            if cluster is None:
                continue
            v0, q0 = r[f"value_{side}"], r[f"qualifier_{side}"]
            vo, qo = r[f"value_{other}"], r[f"qualifier_{other}"]
            for c in members[cluster]:
                for doc, v, qual, u, text in q_by.get(c, ()):
                    if u != unit or doc == r[f"doc_id_{other}"] or v <= 0 or v0 <= 0:
                        continue
                    if abs(v - v0) > clusters.FIGURE_TOLERANCE * max(v, v0) or not conflicts.compatible(v, qual, v0, q0):
                        continue  # not the figure of the statement
                    if conflicts.compatible(v, qual, vo, qo):
                        continue  # agrees with the other side
                    pair = (r[f"claim_id_{other}"], c) if other == "a" else (c, r[f"claim_id_{other}"])
                    if pair in seen or (pair[1], pair[0]) in seen:
                        continue
                    seen.add(pair)
                    new = dict(r)
                    new.update({f"claim_id_{side}": c, f"doc_id_{side}": doc, f"value_{side}": v,
                                f"qualifier_{side}": qual, f"text_{side}": text, "shared_entities": "",
                                "n_claim_pairs": 1, "n_documents": 2, "reached_via": cluster})
                    lifted.append(new)
    merged: dict[tuple, dict] = {}
    for r in rows + lifted:
        docs = (r["doc_id_a"], r["doc_id_b"])
        a_side = (r["value_a"], r["qualifier_a"])
        b_side = (r["value_b"], r["qualifier_b"])
        if docs[0] > docs[1]:
            docs, a_side, b_side = docs[::-1], b_side, a_side
        key = (docs, conflicts.normalize_unit(r["unit"]), a_side, b_side)
        if key in merged:
            merged[key]["n_claim_pairs"] = int(merged[key]["n_claim_pairs"]) + int(r["n_claim_pairs"] or 1)
        else:
            merged[key] = dict(r)
    df = pd.DataFrame(list(merged.values()), columns=out.columns)
    return df.astype({c: out[c].dtype for c in ("n_claim_pairs", "n_documents") if c in out.columns})


CONFLICT_COLUMNS = {
    "quantities": ["claim_id", "doc_id", "value", "qualifier", "unit", "text", "char_start", "char_end"],
    "entities": ["claim_id", "doc_id", "canonical", "char_start", "char_end"],
    "claims": ["claim_id", "doc_id", "text", "char_start"],
}


def conflict_inputs(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(quantities, entities, claims) of the corpus tables, with only the columns the
    conflicts read: what another process is sent."""
    return tuple(tables[name][[c for c in CONFLICT_COLUMNS[kind] if c in tables[name].columns]]
                 for kind, name in (("quantities", "claim_quantities"), ("entities", "claim_entities"),
                                    ("claims", "claims")))


def conflicts_with_memo(quantities: pd.DataFrame, entities: pd.DataFrame, claims: pd.DataFrame,
                        state_root: Path) -> tuple[pd.DataFrame, int]:
    """`conflicts_table` with the clause readings of the last run (kept in the state folder,
    `pipeline.state.CONFLICT_MEMO`), and how many it reused. Runs in any process."""
    from pipeline.state import corpus_lock, load_conflict_memo, save_conflict_memo

    with corpus_lock(state_root):
        memo = load_conflict_memo(state_root)
        df = conflicts_table(quantities, entities, claims, memo=memo)
        save_conflict_memo(state_root, memo)
    return df, memo.hits


def clusters_with_memo(claims: pd.DataFrame, quantities: pd.DataFrame, entities: pd.DataFrame,
                       state_root: Path) -> tuple[pd.DataFrame, int]:
    """`clusters_table` with the links of the last run (kept in the state folder,
    `pipeline.state.CLUSTER_MEMO`), and how many claims' links it reused. Not under the
    corpus lock (the conflicts hold it meanwhile, in the GX process): any memo that was
    written whole describes some corpus exactly, and that is all `LinkMemo` needs."""
    from pipeline.state import load_cluster_memo, save_cluster_memo

    memo = load_cluster_memo(state_root)
    df = clusters_table(claims, quantities, entities, memo=memo)
    save_cluster_memo(state_root, memo)
    return df, memo.reused


def with_cluster_ids(claims: pd.DataFrame, claim_clusters: pd.DataFrame) -> pd.DataFrame:
    """The claims table with `cluster_id` filled from the clusters' member lists."""
    member_of = {
        cid: k for k, members in zip(claim_clusters["cluster_id"], claim_clusters["claim_ids"]) for cid in members.split()
    }
    out = claims.copy()
    out["cluster_id"] = [member_of.get(c) for c in out["claim_id"]]
    return out


# ------------------------------------------------------------------ corpus level
def _nonnull(df: pd.DataFrame | None, table: str) -> pd.DataFrame:
    """The frame (an empty one of the table's schema if None), with its optional text
    columns as objects: a column that was all-null in every stored part reads back as
    floats, which could not take a string later."""
    if df is None:
        return empty_frame(table)
    df = df.copy(deep=False)  # copy-on-write (pandas >= 3): the caller's frame is never changed
    for field in TABLES[table]:
        if field.name in df.columns and pa.types.is_string(field.type) and df[field.name].dtype != object:
            df[field.name] = df[field.name].astype(object).where(df[field.name].notna(), None)
    return df


def text_digest(text: str) -> str:
    """128-bit digest of the text's comparison key (`pipeline.text.normalize_key`)."""
    from pipeline.text import normalize_key

    return hashlib.blake2b(normalize_key(text).encode("utf-8"), digest_size=16).hexdigest()


def corpus_documents(documents: pd.DataFrame, digests: dict[str, str] | None = None,
                     first_with_text: dict[str, str] | None = None, extending: bool = False) -> pd.DataFrame:
    """Final document rows of the whole corpus.

    One row per doc_id (identical bytes under several names keep the earliest path,
    the others go to `also_seen_at`); a document whose text equals an earlier one's
    becomes `duplicate`. "Earlier" means first ingested, then by path.

    `digests` (`text.exact_digest` of a text -> its `text_digest`, updated in place)
    remembers the comparison key of every document text between runs.

    `first_with_text` (comparison key -> doc_id): filled in place with the first document of
    each text; `extending`: it holds those of documents that come before all of `documents`
    (`extend_corpus`), and `digests` keeps what it had.
    """
    from pipeline.text import exact_digest

    digests = {} if digests is None else digests
    if not len(documents):
        return documents
    docs = documents.sort_values(["ingested_at", "source_path"], kind="stable").copy()
    # the other paths of a doc_id met more than once (one pass, not one Python call per
    # document: a 20,000-line .jsonl is 20,000 documents)
    extra: dict[str, list[str]] = {}
    seen_ids: set[str] = set()
    for doc_id, path in zip(docs["doc_id"].tolist(), docs["source_path"].tolist()):
        if doc_id in seen_ids:
            extra.setdefault(doc_id, []).append(path)
        else:
            seen_ids.add(doc_id)
    docs = docs.drop_duplicates("doc_id", keep="first").copy()
    merged = []
    for doc_id, own in zip(docs["doc_id"].tolist(), docs["also_seen_at"].tolist()):
        paths = (own.split("\n") if isinstance(own, str) else []) + extra.get(doc_id, [])
        merged.append("\n".join(dict.fromkeys(p for p in paths if p)) or None)
    docs["also_seen_at"] = merged
    # the same text as an earlier document (another encoding, another name): a duplicate.
    # The verdicts are collected and written in one assignment per column: a cell-by-cell
    # `iloc` write copies the column each time (quadratic: 18,000 duplicates among 20,000
    # one-line documents took 17 s of the corpus step)
    first_with_text = {} if first_with_text is None else first_with_text
    live: set[str] = set()
    dup_rows: list[int] = []
    dup_of: list[str] = []
    for i, (doc_id, text, status) in enumerate(zip(docs["doc_id"].tolist(), docs["text"].tolist(),
                                                   docs["status"].tolist())):
        if status != "ok":
            continue
        exact = exact_digest(text)
        key = digests.get(exact)
        if key is None:
            key = digests[exact] = text_digest(text)
        live.add(exact)
        if key in first_with_text:
            dup_rows.append(i)
            dup_of.append(first_with_text[key])
        else:
            first_with_text[key] = doc_id
    if dup_rows:
        docs = docs.reset_index(drop=True)
        rows = np.asarray(dup_rows, dtype=np.int64)
        for col, values in (("status", "duplicate"), ("reason", "same_text"), ("duplicate_of", dup_of)):
            column = docs[col].to_numpy(dtype=object, copy=True)
            column[rows] = values
            docs[col] = column
    for stale in [d for d in digests if d not in live] if not extending else ():  # texts no longer in the corpus
        del digests[stale]
    return docs.reset_index(drop=True)


def _owned(df: pd.DataFrame, owner: dict) -> pd.DataFrame:
    """Rows that come from the file a document was kept from (identical bytes can sit
    under two names, in two partitions, with the same ids)."""
    if not owner or "partition_key" not in df.columns or not len(df):
        return df
    return df[df["partition_key"] == df["doc_id"].map(owner)]


def _prune(index, live: set[str]) -> None:
    """Forget keys that are no longer in the corpus (changed or dropped files)."""
    for key in [k for k in index.keys() if k not in live]:
        index.remove(key)


def _documents_with_prose(doc_ids: Sequence[str], texts: Sequence[str]) -> set[str]:
    """The documents among `doc_ids` with at least one paragraph (of `texts`, row by row)
    that is body-like by line quality alone (`boilerplate.Document.is_prose`). A document's
    paragraphs are judged one by one up to the first prose one: an article's first
    paragraphs are prose, so most documents cost one or two paragraphs, not all of them
    (22,250 articles: judging all 10,074 paragraphs took 1-2 s of every run's corpus step)."""
    config = boilerplate.BoilerplateConfig()
    found: set[str] = set()
    for doc_id, text in zip(doc_ids, texts):
        if doc_id not in found and boilerplate.Document([text], config).is_prose(0):
            found.add(doc_id)
    return found


def extracted_documents(docs: pd.DataFrame) -> set[str]:
    """HTML documents whose text is an extractor's output (an older warehouse's): no
    `article_text` beside it. A page ingested now keeps its whole text."""
    if "source_format" not in docs.columns:
        return set()
    html = docs["source_format"] == "html"
    if "article_text" in docs.columns:
        html &= docs["article_text"].isna()
    return set(docs.loc[html, "doc_id"])


def mark_site_templates(paras: pd.DataFrame, counter: "TemplateCounter", exempt: "set[str] | None" = None,
                        whole_corpus: bool = True) -> None:
    """Count the kept paragraphs of documents `counter` has not seen yet, then mark the kept
    paragraphs that are corpus templates as boilerplate (reason `site_template`), in place.

    Paragraphs of the `exempt` documents (`extracted_documents`: HTML pages an older
    warehouse cut to their article with the extractor) are counted but never marked: what survives the extractor and recurs across
    pages is mostly repeated article text (eval.webpages, training part, HTML path: the rule
    removed no boilerplate on dragnet and cleaneval and cost readability 0.09 F1)."""
    kept_mask = paras["status"] == "kept"
    counted = member_of(paras["doc_id"], counter.docs)  # counted in an earlier run
    for doc_id, texts in paras[kept_mask & ~counted].groupby("doc_id", sort=False)["text"]:
        counter.update(doc_id, texts.tolist())
    if exempt:
        kept_mask = kept_mask & ~member_of(paras["doc_id"], exempt)
    template = pd.Series(False, index=paras.index)
    if kept_mask.any():
        template[kept_mask] = counter.templates_among(paras.loc[kept_mask, "text"].tolist(), forget=whole_corpus)
    if template.any():
        # a document with no prose paragraph of its own besides its recurring paragraphs
        # (only headings, labels, short lines) keeps them: that is its text shared with other
        # documents (a story reprinted on many pages, a family of pages sharing one body),
        # not furniture around an article of its own; the rule removes recurring paragraphs
        # *next to* an article (as the model never empties a page the rules kept something of).
        # (eval.webpages, training part, the real stage with the out-of-fold probabilities of
        # the shipped model's training run, eval/train_boilerplate.py --cache: mean F1 of the
        # three sets 0.8535 -> 0.8819, readability 0.765 -> 0.849 (P 0.787 -> 0.899, R 0.744 ->
        # 0.805: ten of its 90 training pages, test pages sharing one lorem-ipsum body, were
        # emptied), dragnet 0.898 -> 0.899, cleaneval 0.898 either way)
        marked_docs = set(paras.loc[template, "doc_id"])
        own = paras[kept_mask & ~template & member_of(paras["doc_id"], marked_docs)]
        with_prose = _documents_with_prose(own["doc_id"].tolist(), own["text"].tolist())
        shared = marked_docs - with_prose
        if shared:
            template &= ~member_of(paras["doc_id"], shared)
    paras.loc[template, "status"] = "boilerplate"
    paras.loc[template, "reason"] = "site_template"


def sign_ahead_for_corpus(documents: pd.DataFrame, paragraphs: pd.DataFrame) -> int:
    """MinHash now the texts of a batch that `assemble_corpus` will sign later in this
    process (its `ok` documents and kept paragraphs; `pipeline.distributed.sign_ahead`), with
    the settings of the corpus indexes. Returns the number of texts signed."""
    from pipeline.distributed import sign_ahead
    from pipeline.neardup import NearDupConfig

    n = 0
    if len(documents):
        n += sign_ahead(documents.loc[documents["status"] == "ok", "text"].tolist(), NearDupConfig())
    if len(paragraphs):
        n += sign_ahead(paragraphs.loc[paragraphs["status"] == "kept", "text"].tolist(), NearDupConfig.for_paragraphs())
    return n


def assemble_corpus(
    documents: pd.DataFrame | dict | None, paragraphs: pd.DataFrame | None = None,
    sentences: pd.DataFrame | None = None, claims: pd.DataFrame | None = None,
    quantities: pd.DataFrame | None = None, entities: pd.DataFrame | None = None,
    indexes: CorpusIndexes | None = None,
) -> dict[str, pd.DataFrame]:
    """The six per-document tables of the whole corpus, made consistent.

    Documents: one row per doc_id, exact and (with `indexes`) MinHash near-identical
    copies become `duplicate`. Only `ok` documents keep paragraphs; a kept paragraph
    that recurs across many documents (a site template) becomes boilerplate; kept
    paragraphs near-identical to one in another document get `near_duplicate_of`.
    Sentences exist only for kept paragraphs, claims only for published sentences;
    entity canonical names are recomputed over the corpus. `indexes` are updated in
    place (the caller persists them): only new texts are signed and counted.

    `documents` may instead be a dict of the six tables by name (`CORPUS_TABLE_NAMES`),
    handed over: each table is popped from it when its turn comes and released once
    filtered, so the accepted rows and the corpus are not held twice over (the frames
    given as arguments stay referenced by the caller). The result is the same. In that
    dict, a table after `documents` may be a function of the set of partition keys whose
    rows can still count (the files of the documents that stayed `ok`), which reads just
    those rows (`assemble_accepted`): the rows of repeated documents are never loaded.
    """
    if isinstance(documents, dict):
        handed = documents
    else:
        handed = dict(zip(CORPUS_TABLE_NAMES, (documents, paragraphs, sentences, claims, quantities, entities)))
    documents = paragraphs = sentences = claims = quantities = entities = None
    return _assemble(handed, indexes)


CORPUS_TABLE_NAMES = ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities")


def assemble_accepted(read_tables, indexes: CorpusIndexes | None = None,
                      ) -> tuple[dict[str, pd.DataFrame], list[tuple[str, str]]]:
    """`assemble_corpus` on the accepted rows that `read_tables(stages, keys)` gives
    (`pipeline.state.StateStore.read_accepted_tables`: the tables by stage and the files
    left out, unreadable), reading the documents first and then only the rows of the files
    whose documents stay `ok`: in a corpus of many reprints most rows are never loaded.

    Returns the corpus and the files left out (relative path, reason). A file left out
    while its rows were read has been forgotten by then: the corpus is assembled again
    without it, so its documents never appear without their paragraphs."""
    left_out: list[tuple[str, str]] = []
    while True:
        docs, healed = read_tables(["documents"])
        left_out += healed
        broken: list[tuple[str, str]] = []

        def rows_of(stage: str):
            def read(keys):
                tables, healed = read_tables([stage], keys)
                broken.extend(healed)
                return tables[stage]
            return read

        handed = {"documents": docs["documents"], **{t: rows_of(t) for t in CORPUS_TABLE_NAMES[1:]}}
        docs = None
        tables = assemble_corpus(handed, indexes=indexes)
        if not broken:
            return tables, left_out
        left_out += broken


def assembly_code() -> str:
    """A digest of the code an assembled corpus depends on (this module and the rules it
    applies across documents): a corpus kept by other code is assembled again, not extended."""
    from pipeline import entities, neardup, schemas, templates, text

    h = hashlib.sha256()
    for module in (sys.modules[__name__], boilerplate, dedup, entities, neardup, schemas, templates, text):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:16]


def _mark_near_copies(docs: pd.DataFrame, copies: dict[str, str]) -> None:
    """Mark the `ok` documents of `copies` (doc_id -> the document they copy) as near duplicates, in place."""
    hit = member_of(docs["doc_id"], copies.keys()) & (docs["status"] == "ok")
    docs.loc[hit, "status"] = "duplicate"
    docs.loc[hit, "reason"] = "near_duplicate"
    docs.loc[hit, "duplicate_of"] = docs.loc[hit, "doc_id"].map(copies)


def _in_document_order(paras: pd.DataFrame, docs: pd.DataFrame) -> pd.DataFrame:
    """The paragraphs in the order of their documents in `docs`, each document's by ordinal."""
    order = {d: i for i, d in enumerate(docs["doc_id"])}
    return paras.assign(_doc_order=paras["doc_id"].map(order)).sort_values(
        ["_doc_order", "ordinal"], kind="stable").drop(columns="_doc_order")


def _rows_below(paras: pd.DataFrame, table) -> tuple[pd.DataFrame, ...]:
    """The sentences of the kept paragraphs, their claims, and those claims' quantities and
    entities; `table(name)` gives each table when its turn comes (read or popped then)."""
    kept = set(paras.loc[paras["status"] == "kept", "paragraph_id"]) if len(paras) else set()
    sents = table("sentences")
    sents = sents[member_of(sents["paragraph_id"], kept)]
    cl = table("claims")
    cl = cl[member_of(cl["sentence_id"], sents["sentence_id"])]
    live_claims = set(cl["claim_id"])
    q = table("claim_quantities")
    q = q[member_of(q["claim_id"], live_claims)]
    e = table("claim_entities")
    return sents, cl, q, e[member_of(e["claim_id"], live_claims)]


def _texts_before(docs: pd.DataFrame, digests: dict[str, str]) -> dict[str, str]:
    """comparison key -> doc_id of the documents of a corpus whose text the documents after
    them are compared with (`corpus_documents`: those that were `ok` before the near-duplicate
    pass, the first of each text)."""
    from pipeline.text import exact_digest

    out: dict[str, str] = {}
    entered = (docs["status"] == "ok") | (docs["reason"] == "near_duplicate")
    for doc_id, text in zip(docs.loc[entered, "doc_id"].tolist(), docs.loc[entered, "text"].tolist()):
        exact = exact_digest(text)
        key = digests.get(exact)
        if key is None:
            key = digests[exact] = text_digest(text)
        out.setdefault(key, doc_id)
    return out


def extend_corpus(previous: dict[str, pd.DataFrame], read_tables, added: Sequence[str],
                  indexes: CorpusIndexes, texts: dict[str, str] | None = None,
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, int]] | None:
    """The corpus of `previous` plus the accepted files `added`, as `assemble_accepted` would
    assemble all of them, and for each table how many of its first rows are `previous`'s
    rows as they were (the others are new); None when the new files can change rows of
    `previous` (the caller then assembles the whole corpus).

    `previous` is what the last assembly gave for the files accepted then and `indexes` what
    it left (`pipeline.state.CorpusSnapshot`, same generation); `read_tables` reads accepted
    rows (`StateStore.read_accepted_tables`). The new files' documents come after every
    document of `previous` (a later `ingested_at`), so the documents, paragraphs and links
    already there stay as they are, and only these can change them, each a reason for None:
    a new file with the bytes of a document already there (its path joins that row's
    `also_seen_at`, or, named earlier, takes its place), a paragraph of the new documents
    that makes a paragraph of earlier ones a site template, a template bar that grows with
    the corpus (`min_share`), stored rows that cannot be read. Entity canonical names are
    recomputed over the whole corpus (a surname gaining or losing its one full name).
    `texts`: `indexes.first_with_text` as the last assembly left it (else made again); it
    is left in `indexes` with the new documents' texts added.
    """
    from pipeline.neardup import near_duplicate_documents, near_duplicate_paragraphs

    prev = {name: _nonnull(previous.get(name), name) for name in CORPUS_TABLE_NAMES}
    prev_docs = prev["documents"]
    if not len(prev_docs) or indexes.templates.min_share > 0:
        return None
    if any(set(TABLES[name].names) - set(prev[name].columns) for name in CORPUS_TABLE_NAMES):
        return None  # kept without a column the tables have now
    first_with_text = dict(texts) if texts is not None else _texts_before(prev_docs, indexes.text_digests)
    indexes.first_with_text = first_with_text
    if not added:
        return _extended(prev, dict(prev))
    read, healed = read_tables(["documents"], list(added))
    if healed:
        return None
    new = _nonnull(read["documents"], "documents")
    if not len(new):
        return _extended(prev, dict(prev))
    if member_of(new["doc_id"], set(prev_docs["doc_id"])).any():
        return None  # identical bytes under a new name
    if prev_docs["ingested_at"].isna().any() or new["ingested_at"].isna().any():
        return None
    if min(zip(new["ingested_at"], new["source_path"])) <= max(zip(prev_docs["ingested_at"], prev_docs["source_path"])):
        return None  # not all after the corpus in ingestion order
    digests = indexes.text_digests
    docs = corpus_documents(new, digests, first_with_text, extending=True)
    entered = (prev_docs["status"] == "ok") | (prev_docs["reason"] == "near_duplicate")
    near = prev_docs["reason"] == "near_duplicate"
    candidates = docs[docs["status"] == "ok"]
    copies = near_duplicate_documents(
        candidates["doc_id"].tolist(), candidates["text"].tolist(), indexes.documents,
        signer=distributed.minhash_signatures, prior=prev_docs.loc[entered, "doc_id"].tolist(),
        prior_copies=dict(zip(prev_docs.loc[near, "doc_id"], prev_docs.loc[near, "duplicate_of"])))
    _mark_near_copies(docs, copies)
    ok = set(docs.loc[docs["status"] == "ok", "doc_id"])
    owner = dict(zip(docs["doc_id"], docs["partition_key"]))
    rows = {name: empty_frame(name) for name in CORPUS_TABLE_NAMES[1:]}
    if ok:
        read, healed = read_tables(list(CORPUS_TABLE_NAMES[1:]), sorted({owner[d] for d in ok}))
        if healed:
            return None
        rows = {name: _owned(_nonnull(read[name], name), owner) for name in CORPUS_TABLE_NAMES[1:]}
    paras = rows["paragraphs"]
    paras = paras[member_of(paras["doc_id"], ok)]
    if len(paras):
        paras = _in_document_order(paras, docs)
        kept = paras[paras["status"] == "kept"]
        if indexes.templates.would_cross({d: g.tolist() for d, g in kept.groupby("doc_id", sort=False)["text"]}):
            return None  # a paragraph of earlier documents becomes a site template
        mark_site_templates(paras, indexes.templates, extracted_documents(docs), whole_corpus=False)
        prev_paras = prev["paragraphs"]
        before = prev_paras[prev_paras["status"] == "kept"]
        linked = before[before["near_duplicate_of"].notna()]
        kept = paras[paras["status"] == "kept"]
        links = near_duplicate_paragraphs(
            kept["paragraph_id"].tolist(), kept["doc_id"].tolist(), kept["text"].tolist(), indexes.paragraphs,
            signer=distributed.minhash_signatures, prior=before["paragraph_id"].tolist(),
            prior_links=dict(zip(linked["paragraph_id"], linked["near_duplicate_of"])))
        paras["near_duplicate_of"] = paras["paragraph_id"].map(links)
        paras["near_duplicate_of"] = paras["near_duplicate_of"].astype(object).where(paras["near_duplicate_of"].notna(), None)
    sents, cl, q, e = _rows_below(paras, rows.__getitem__)

    def joined(name: str, more: pd.DataFrame) -> pd.DataFrame:
        if not len(more):
            return prev[name]
        return pd.concat([prev[name], more], ignore_index=True) if len(prev[name]) else more

    out = {"documents": joined("documents", docs), "paragraphs": joined("paragraphs", paras),
           "sentences": joined("sentences", sents), "claims": joined("claims", cl),
           "claim_quantities": joined("claim_quantities", q), "claim_entities": joined("claim_entities", e)}
    return _extended(prev, out)


def _extended(prev: dict[str, pd.DataFrame], out: dict[str, pd.DataFrame]):
    """(`out` with its canonical names, the rows of each table that are `prev`'s as they were)."""
    before = prev["claim_entities"]["canonical"].tolist() if len(prev["claim_entities"]) else []
    out = _with_canonical_names(out)
    unchanged = {name: len(prev[name]) for name in CORPUS_TABLE_NAMES}
    if before != out["claim_entities"]["canonical"].iloc[:len(before)].tolist():
        unchanged["claim_entities"] = 0  # a surname gained or lost its one full name: written again
    return out, unchanged


def _with_canonical_names(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables, their entities' canonical names made over the whole corpus (as `_assemble`)."""
    e = tables["claim_entities"]
    if len(e):
        mapping = canonical_names(zip(e["text"], e["label"]))
        e["canonical"] = [mapping[(t, lab)] for t, lab in zip(e["text"], e["label"])]
    return {name: df.reset_index(drop=True) for name, df in tables.items()}


def _assemble(handed: dict, indexes: CorpusIndexes | None) -> dict[str, pd.DataFrame]:
    """`assemble_corpus` on the tables of `handed`, popped from it one by one."""
    first_with_text: dict[str, str] = {}
    docs = corpus_documents(_nonnull(handed.pop("documents", None), "documents"),
                            indexes.text_digests if indexes is not None else None, first_with_text)
    if indexes is not None:
        indexes.first_with_text = first_with_text
    if indexes is not None and len(docs):
        from pipeline.neardup import near_duplicate_documents

        _prune(indexes.documents, set(docs["doc_id"]))
        candidates = docs[docs["status"] == "ok"]
        copies = near_duplicate_documents(candidates["doc_id"].tolist(), candidates["text"].tolist(), indexes.documents,
                                          signer=distributed.minhash_signatures)
        _mark_near_copies(docs, copies)
    ok = set(docs.loc[docs["status"] == "ok", "doc_id"]) if len(docs) else set()
    owner = dict(zip(docs["doc_id"], docs["partition_key"])) if "partition_key" in docs.columns else {}
    wanted = {owner[d] for d in ok if d in owner} if owner else None  # files whose rows can count

    def take(name: str) -> pd.DataFrame:
        value = handed.pop(name, None)
        return _nonnull(value(wanted) if callable(value) else value, name)

    paras = _owned(take("paragraphs"), owner)
    paras = paras[member_of(paras["doc_id"], ok)]
    if len(paras):
        paras = _in_document_order(paras, docs)
        kept_mask = paras["status"] == "kept"
        if indexes is not None:
            from pipeline.neardup import near_duplicate_paragraphs

            mark_site_templates(paras, indexes.templates, extracted_documents(docs))
            kept_mask = paras["status"] == "kept"
            _prune(indexes.paragraphs, set(paras["paragraph_id"]))
            kept = paras[kept_mask]
            links = near_duplicate_paragraphs(kept["paragraph_id"].tolist(), kept["doc_id"].tolist(),
                                              kept["text"].tolist(), indexes.paragraphs,
                                              signer=distributed.minhash_signatures)
            paras["near_duplicate_of"] = paras["paragraph_id"].map(links)
            paras["near_duplicate_of"] = paras["near_duplicate_of"].astype(object).where(paras["near_duplicate_of"].notna(), None)
        else:
            paras["near_duplicate_of"] = dedup.across_documents(
                paras["paragraph_id"].tolist(), paras["doc_id"].tolist(), paras["text"].tolist(), kept_mask.tolist(),
            )
    sents, cl, q, e = _rows_below(paras, lambda name: _owned(take(name), owner))
    out = {"documents": docs, "paragraphs": paras, "sentences": sents, "claims": cl,
           "claim_quantities": q, "claim_entities": e}
    return _with_canonical_names(out)  # no copy (copy-on-write)
