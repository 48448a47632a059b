"""Evaluate quantity_conflicts on a built warehouse: row counts and labeled precision.

    .venv/bin/python eval/conflicts_eval.py WAREHOUSE [--sample 60] [--show]

WAREHOUSE holds claims, claim_quantities and claim_entities, as published tables
(WAREHOUSE/<table>/part-*.parquet) or flat files (WAREHOUSE/<table>.parquet). The
script recomputes conflicts three ways:

* old    - the rule before this change (any shared named entity), read from git
           (OLD_COMMIT:pipeline/conflicts.py);
* window - the new rule without the claims' text (pipeline.conflicts.find_conflicts
           without claims: the subject from the entities near the number);
* text   - the new rule with the claims' text, what the pipeline publishes
           (build.conflicts_table(quantities, entities, claims));

With --relaxed, two more runs on a wider candidate set (numbers up to RELAXED_RATIO
apart, content words anywhere in the clause; more rows to judge the subject rules by):

* clause-relaxed - the clause rule as of CLAUSE_COMMIT (before the readings of forecasts,
                   roles, heads, sums, publishers, subjects and lead months);
* text-relaxed   - the current rule;

and for each prints the number of rows and the precision on a seeded random sample
of at most --sample rows, judged by the hand labels in eval/data/conflicts_labels.jsonl
(one JSON object per line: claim_id_a, claim_id_b, unit, value_a, value_b, label
true|false, reason). A sampled row without a label is reported as unlabeled; --show
prints the two sentences of every unlabeled sampled row so it can be judged.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from pipeline import conflicts  # noqa: E402

OLD_COMMIT = "9cd2d33"  # last commit with the any-shared-entity rule
CLAUSE_COMMIT = "ed97879"  # last commit with the clause rule alone (31 rows, 3 true on the 2,224 BBC articles)
RELAXED_RATIO = 5.0
RELAXED_NEAR_WORDS = 100
LABELS = PROJECT / "eval" / "data" / "conflicts_labels.jsonl"
SEED = 20261122


def read_table(warehouse: Path, name: str) -> pd.DataFrame:
    flat = warehouse / f"{name}.parquet"
    if flat.exists():
        return pd.read_parquet(flat)
    return pd.read_parquet(warehouse / name)


def old_module(commit: str = OLD_COMMIT, name: str = "conflicts_old"):
    """pipeline/conflicts.py as of `commit` (None: the working copy), as a module of its own."""
    if commit is None:
        source = (PROJECT / "pipeline" / "conflicts.py").read_text()
    else:
        source = subprocess.run(["git", "-C", str(PROJECT), "show", f"{commit}:pipeline/conflicts.py"],
                                check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="conflicts-old-")) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def relaxed(module):
    module.MAX_RATIO = RELAXED_RATIO
    module.NEAR_WORDS = RELAXED_NEAR_WORDS
    return module


def key(row) -> tuple:
    return (row["claim_id_a"], row["claim_id_b"], row["unit"], round(float(row["value_a"]), 6),
            round(float(row["value_b"]), 6))


def load_labels() -> dict[tuple, dict]:
    if not LABELS.exists():
        return {}
    out = {}
    for line in LABELS.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            out[key(rec)] = rec
    return out


def sample(rows: list[dict], n: int) -> list[dict]:
    rows = sorted(rows, key=key)
    return rows if len(rows) <= n else random.Random(SEED).sample(rows, n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("warehouse", type=Path)
    p.add_argument("--sample", type=int, default=60)
    p.add_argument("--show", action="store_true", help="print the sentences of unlabeled sampled rows")
    p.add_argument("--relaxed", action="store_true", help="also run the clause and text rules on a wider candidate set")
    args = p.parse_args(argv)
    claims = read_table(args.warehouse, "claims")
    quantities = read_table(args.warehouse, "claim_quantities").to_dict("records")
    entities = read_table(args.warehouse, "claim_entities").to_dict("records")
    claim_rows = claims[["claim_id", "text", "char_start"]].to_dict("records")
    text = dict(zip(claims["claim_id"], claims["text"]))
    labels = load_labels()
    runs = {
        "old": lambda: old_module().find_conflicts(quantities, entities),
        "window": lambda: conflicts.find_conflicts(quantities, entities),
        "text": lambda: conflicts.find_conflicts(quantities, entities, claim_rows),
    }
    if args.relaxed:
        runs["clause-relaxed"] = lambda: relaxed(old_module(CLAUSE_COMMIT, "conflicts_clause")).find_conflicts(
            quantities, entities, claim_rows)
        runs["text-relaxed"] = lambda: relaxed(old_module(None, "conflicts_relaxed")).find_conflicts(
            quantities, entities, claim_rows)
    print(f"warehouse {args.warehouse}: {len(claims)} claims, {len(quantities)} quantities, "
          f"{len(entities)} entity mentions; labels {len(labels)} ({LABELS.relative_to(PROJECT)})")
    print("| rule | rows | seconds | sampled | labeled | true | precision |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    unlabeled_out = []
    for name, run in runs.items():
        t0 = time.perf_counter()
        rows = [vars(c) for c in run()]
        sec = time.perf_counter() - t0
        picked = sample(rows, args.sample)
        judged = [labels[key(r)] for r in picked if key(r) in labels]
        true = sum(1 for j in judged if j["label"] is True or j["label"] == "true")
        prec = f"{true / len(judged):.2f}" if judged else "n/a"
        print(f"| {name} | {len(rows)} | {sec:.1f} | {len(picked)} | {len(judged)} | {true} | {prec} |")
        for r in picked:
            if key(r) not in labels:
                unlabeled_out.append((name, r))
    if unlabeled_out:
        print(f"\n{len(unlabeled_out)} sampled rows have no label")
        if args.show:
            seen = set()
            for name, r in unlabeled_out:
                if key(r) in seen:
                    continue
                seen.add(key(r))
                print(json.dumps({"rule": name, "claim_id_a": r["claim_id_a"], "claim_id_b": r["claim_id_b"],
                                  "unit": r["unit"], "value_a": r["value_a"], "value_b": r["value_b"],
                                  "q_a": f'{r["qualifier_a"]} {r["text_a"]}', "q_b": f'{r["qualifier_b"]} {r["text_b"]}',
                                  "a": text.get(r["claim_id_a"]), "b": text.get(r["claim_id_b"])}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
