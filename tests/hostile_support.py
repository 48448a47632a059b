"""Shared helpers of the hostile-input, fault and isolation tests (tests/test_hostile.py, tests/test_faults.py, the corpus-check isolation tests).

Everything goes through the real `pipeline run` console script, in its own process group
(so a timed-out or killed run is cleaned up whole), with a DAGSTER_HOME per test.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from tests.contract_rules import contract_problems

PROJECT = Path(__file__).resolve().parent.parent
PIPELINE = Path(sys.executable).parent / "pipeline"
SEED_A = PROJECT / "data" / "raw" / "article_001.txt"
SEED_B = PROJECT / "data" / "raw" / "article_004.txt"
SEEDS = (SEED_A, SEED_B)
TABLES = ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities",
          "claim_clusters", "quantity_conflicts")
# a sentence the claim extractor keeps (an attributed, checkable statement with a number)
GOOD = "Officials said on Monday that about 500 soldiers arrived in Minsk, according to the ministry.\n"
_CLEARED = ("PIPELINE_RAW_DIR", "PIPELINE_WAREHOUSE_DIR", "PIPELINE_PAUSE_AT", "PIPELINE_PAUSE_MARKER",
            "PIPELINE_PAUSE_SECONDS", "PIPELINE_MAX_FILE_BYTES", "PIPELINE_DROP_DELETED", "PIPELINE_BATCH_SIZE",
            "PIPELINE_SETTLE_SECONDS")


def good(n: int, city: str = "Minsk") -> str:
    """A distinct claim-bearing paragraph."""
    return GOOD.replace("500", f"{n:,}").replace("Minsk", city)


def env(home: Path, **extra) -> dict:
    out = dict(os.environ, DAGSTER_HOME=str(home), DAGSTER_DISABLE_TELEMETRY="1")
    for var in _CLEARED:
        out.pop(var, None)
    out.update({k: str(v) for k, v in extra.items()})
    return out


def cmd(raw: Path, wh: Path) -> list[str]:
    return [str(PIPELINE), "run", "--raw-dir", str(raw), "--warehouse-dir", str(wh)]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def published(self) -> bool:
        return bool(re.search(r"^published \d+ tables", self.stdout, re.M))

    def tail(self, n: int = 2500) -> str:
        return f"exit {self.returncode} after {self.seconds:.0f} s\n--- stdout\n{self.stdout[-n:]}\n--- stderr\n{self.stderr[-n:]}"

    def files_line(self) -> str:
        m = re.search(r"^files: .*$", self.stdout, re.M)
        return m.group(0) if m else ""


def start(raw: Path, wh: Path, home: Path, **extra) -> subprocess.Popen:
    return subprocess.Popen(cmd(raw, wh), env=env(home, **extra), cwd=PROJECT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 600, started: float | None = None) -> Run:
    started = time.perf_counter() if started is None else started
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        out, err = proc.communicate()
        err += f"\n[test] TIMEOUT: killed after {timeout:.0f} s"
        return Run(-9, out, err, time.perf_counter() - started)
    return Run(proc.returncode, out, err, time.perf_counter() - started)


def run(raw: Path, wh: Path, home: Path, timeout: float = 600, **extra) -> Run:
    started = time.perf_counter()
    return finish(start(raw, wh, home, **extra), timeout, started)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose process group is `pgid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] == "Z" or int(fields[2]) != pgid:  # state, ppid, pgrp
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        found.append((int(entry), cmdline.strip()))
    return found


def read_table(wh: Path, name: str) -> pd.DataFrame | None:
    folder = wh / name
    if not folder.exists():
        return None
    return ds.dataset(str(folder), format="parquet").to_table().to_pandas()


def docs(wh: Path) -> pd.DataFrame | None:
    return read_table(wh, "documents")


def tables(wh: Path) -> dict[str, pd.DataFrame | None]:
    return {n: read_table(wh, n) for n in TABLES}


def snapshot(wh: Path) -> dict:
    """What a test needs of a published warehouse, taken now (the folder changes later)."""
    t = tables(wh)
    return {"tables": t, "contract": contract_problems(wh) if t["documents"] is not None else ["nothing published"]}


def seed_raw(raw: Path) -> Path:
    raw.mkdir(parents=True, exist_ok=True)
    for seed in SEEDS:
        shutil.copy(seed, raw / seed.name)
    return raw


def claims_per_doc(t: dict) -> dict[str, int]:
    claims = t.get("claims")
    if claims is None:
        return {}
    return claims.groupby("doc_id").size().to_dict()


def good_docs_problems(t: dict, names=tuple(s.name for s in SEEDS)) -> list[str]:
    """The good articles (by source path) are `ok` documents with claims; what is not."""
    d = t.get("documents")
    if d is None:
        return ["no documents table published"]
    per_doc = claims_per_doc(t)
    problems = []
    for name in names:
        rows = d[d["source_path"] == name]
        if len(rows) != 1:
            problems.append(f"{name}: {len(rows)} rows")
            continue
        row = rows.iloc[0]
        if row["status"] != "ok":
            problems.append(f"{name}: status {row['status']} ({row['reason']})")
        elif per_doc.get(row["doc_id"], 0) == 0:
            problems.append(f"{name}: no claims")
    return problems


def row(t: dict, source_path: str):
    d = t.get("documents")
    if d is None:
        return None
    rows = d[d["source_path"] == source_path]
    return rows.iloc[0] if len(rows) == 1 else None


def corpus_frames_equal(a: dict, b: dict) -> list[str]:
    """Tables that differ between two snapshots (ingested_at aside)."""
    diff = []
    for name in TABLES:
        x, y = a.get(name), b.get(name)
        if x is None or y is None:
            if x is not y:
                diff.append(name)
            continue
        x = x.drop(columns=[c for c in ("ingested_at",) if c in x.columns])
        y = y.drop(columns=[c for c in ("ingested_at",) if c in y.columns])
        key = x.columns[0]
        try:
            pd.testing.assert_frame_equal(x.sort_values(key).reset_index(drop=True),
                                          y.sort_values(key).reset_index(drop=True), check_like=True)
        except AssertionError:
            diff.append(name)
    return diff


def break_corpus_rows_mentioning(monkeypatch, word: str) -> None:
    """Make the corpus check fail only with the paragraphs that mention `word`: rows that
    go wrong beside the rest of a corpus (their offsets shifted after assembly)."""
    from pipeline import build

    real = build.assemble_corpus

    def broken(*tables, **kwargs):
        out = real(*tables, **kwargs)
        paras = out["paragraphs"]
        bad = paras["text"].str.contains(word, regex=False)
        paras.loc[bad, "char_start"] = paras.loc[bad, "char_start"] + 1
        return out

    monkeypatch.setattr(build, "assemble_corpus", broken)
