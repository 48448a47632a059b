"""Per-file stage outputs and the registry of accepted files.

Each per-document stage (documents, paragraphs, sentences, claims, ...) stores the rows
of one raw file (one Dagster partition) as an immutable version:

    <state>/parts/<stage>/<hash of the partition key>/<run id>.parquet

A version is *accepted* only after every blocking check of its run passed; the
registry `<state>/accepted.json` records, per partition key, the file's fingerprint and
which version of each stage was accepted. Corpus-level stages read accepted versions
only, so a failed run can write what it likes: nothing downstream sees it, and the
published tables stay whole. Writes are atomic (temporary file + rename) and the
registry is updated under a lock, so concurrent runs and crashes leave it consistent.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.faults import checkpoint

REGISTRY = "accepted.json"
PER_DOCUMENT_STAGES = ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities")


def _key_dir_name(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class StateStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    # ------------------------------------------------------------ versions
    def _dir(self, stage: str, key: str) -> Path:
        return self.root / "parts" / stage / _key_dir_name(key)

    def write(self, stage: str, key: str, version: str, df: pd.DataFrame) -> Path:
        folder = self._dir(stage, key)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{version}.parquet"
        tmp = folder / f".{version}.{os.getpid()}.tmp"
        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"partition_key": key.encode()})
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        return final

    def versions(self, stage: str, key: str) -> list[Path]:
        folder = self._dir(stage, key)
        if not folder.is_dir():
            return []
        return sorted((p for p in folder.glob("*.parquet")), key=lambda p: (p.stat().st_mtime_ns, p.name))

    def path(self, stage: str, key: str, version: str | None = None) -> Path | None:
        if version is not None:
            p = self._dir(stage, key) / f"{version}.parquet"
            return p if p.exists() else None
        found = self.versions(stage, key)
        return found[-1] if found else None

    def read(self, stage: str, key: str, version: str | None = None) -> pd.DataFrame | None:
        p = self.path(stage, key, version)
        return pd.read_parquet(p) if p is not None else None

    # ------------------------------------------------------------ registry
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".registry.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def accepted(self) -> dict[str, dict]:
        path = self.root / REGISTRY
        if not path.exists():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))

    def _save(self, registry: Mapping[str, dict]) -> None:
        tmp = self.root / f".{REGISTRY}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(dict(sorted(registry.items())), indent=1), encoding="utf-8")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / REGISTRY)

    def accept(self, entries: Mapping[str, dict]) -> None:
        """Record accepted versions: {key: {"versions": {stage: version}, "fingerprint": [...], "relpath": ...}}."""
        checkpoint("state:before_accept")
        with self._locked():
            registry = self.accepted()
            registry.update(entries)
            self._save(registry)
        for key, entry in entries.items():
            self._gc(key, entry["versions"])

    def forget(self, keys: Iterable[str]) -> None:
        keys = set(keys)
        with self._locked():
            registry = {k: v for k, v in self.accepted().items() if k not in keys}
            self._save(registry)

    def _gc(self, key: str, keep: Mapping[str, str]) -> None:
        """Drop versions of a partition older than the accepted one."""
        for stage, version in keep.items():
            accepted = self._dir(stage, key) / f"{version}.parquet"
            if not accepted.exists():
                continue
            for old in self.versions(stage, key):
                if old != accepted and old.stat().st_mtime_ns <= accepted.stat().st_mtime_ns:
                    old.unlink(missing_ok=True)

    def read_accepted(self, stage: str, keys: Iterable[str] | None = None) -> pd.DataFrame | None:
        """All accepted rows of a stage (None when nothing is accepted yet)."""
        registry = self.accepted()
        wanted = registry.keys() if keys is None else [k for k in keys if k in registry]
        paths = []
        for key in sorted(wanted):
            version = registry[key]["versions"].get(stage)
            p = self.path(stage, key, version) if version else None
            if p is not None:
                paths.append(p)
        if not paths:
            return None
        tables = [pq.read_table(p) for p in paths]
        tables = [t for t in tables if t.num_rows] or tables[:1]
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()


# ------------------------------------------------------------ cross-document indexes
def load_indexes(root: Path):
    """The near-duplicate indexes and the template counter of a state folder."""
    from pipeline.build import CorpusIndexes
    from pipeline.neardup import NearDupConfig, NearDupIndex
    from pipeline.templates import TemplateCounter

    root = Path(root)
    docs_path, paras_path, tmpl_path = root / "neardup_documents", root / "neardup_paragraphs", root / "templates.json"
    return CorpusIndexes(
        documents=NearDupIndex.load(docs_path if docs_path.exists() else None, NearDupConfig()),
        paragraphs=NearDupIndex.load(paras_path if paras_path.exists() else None, NearDupConfig.for_paragraphs()),
        templates=TemplateCounter.from_json(tmpl_path.read_text()) if tmpl_path.exists() else TemplateCounter(),
    )


def save_indexes(root: Path, indexes) -> None:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    indexes.documents.save(root / "neardup_documents")
    indexes.paragraphs.save(root / "neardup_paragraphs")
    tmp = root / f".templates.{os.getpid()}.tmp"
    tmp.write_text(indexes.templates.to_json())
    os.replace(tmp, root / "templates.json")


@contextmanager
def corpus_lock(root: Path) -> Iterator[None]:
    """One corpus assembly at a time (it updates the shared indexes)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".corpus.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
