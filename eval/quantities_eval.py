"""Value, unit and qualifier accuracy of `pipeline.quantities.extract_quantities` on a
hand-labeled set of real sentences.

    .venv/bin/python -m eval.quantities_eval --corpus /work/shared/corpus

The labels are in `eval/data/quantities_gold.jsonl`, one sentence per line. No article
text is stored there: each line names the file (`source` "bbc": `<corpus>/bbc/<path>`;
"seeds": `<seeds>/<path>`, default `data/raw`), the sentence's character offsets (from
the project's own paragraph and sentence splitter) and a short SHA-1 of the sentence to
detect a changed file. `quantities` lists every number in the sentence that counts or
measures something, in order, as {value, unit, qualifier}.

Labeling policy (decided before looking at the extractor's errors):
* quantities: counts ("170 tanks"), money (ISO-like code: usd, gbp, eur, krw), percentages,
  physical measures ("6.50m", "180 degrees", "1.5 million square feet" -> "square foot"),
  counted durations ("a jail sentence of up to 85 years", "after 90 minutes", "for more
  than two hours"), hyphenated counts ("two-seat" -> seat);
* not quantities: dates, years, times of day, durations that only place an event in time
  ("five years ago", "the next 10 years", "the past three years", "on 75 minutes"),
  ages ("the 66-year-old", "Bellamy, 25,"), sports scores ("2-1", "4-6 7-6"), ranks
  ("top 75", "number one"), and numbers inside names ("Six Nations", "Windows 95",
  "G7", "3G", "Halo 2", "the men's 60m");
* unit: the lemma of what is counted, also when it is elided but stated in the same
  sentence ("1.2 million members and the TGWU has 800,000" -> member); None when the
  sentence never says it ("just over 66,000");
* qualifier per the issue: up to / as many as -> at_most; more than / over / in excess
  of -> more_than; at least / "priced from" -> at_least; about / around / some /
  approximately / nearly -> approximate; less than / almost / a little less than ->
  less_than; "between X and Y" / "X to Y" -> X at_least, Y at_most; otherwise exact.

`split`: "dev" sentences were used while fixing the extractor; "heldout" sentences were
labeled afterwards and not used for any change (the honest figure).

Scores: a gold number counts as found when an extracted quantity of the sentence has
the same value (each extracted quantity used once); value accuracy = found / gold;
unit and qualifier accuracy = found with the right unit (qualifier) / gold. Extracted
quantities matching no gold number are reported as spurious.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

GOLD = Path(__file__).resolve().parent / "data" / "quantities_gold.jsonl"


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def load_gold(corpus: Path, seeds: Path, gold_path: Path = GOLD) -> tuple[list[tuple[dict, str]], list[str]]:
    items, problems = [], []
    cache: dict[Path, str] = {}
    for line in gold_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        base = corpus / "bbc" if rec["source"] == "bbc" else seeds
        path = base / rec["path"]
        if path not in cache:
            cache[path] = read_text(path) if path.exists() else ""
        sent = cache[path][rec["start"]:rec["end"]]
        if hashlib.sha1(sent.encode()).hexdigest()[:12] != rec["sha1"]:
            problems.append(f"{rec['source']}:{rec['path']}:{rec['start']}: sentence changed or missing")
            continue
        items.append((rec, sent))
    return items, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="the shared corpus root (holding bbc/)")
    ap.add_argument("--seeds", type=Path, default=Path("data/raw"), help="folder of the seed articles")
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--errors", action="store_true", help="print every mistake")
    args = ap.parse_args(argv)

    from pipeline import nlp as nlp_mod
    from pipeline.quantities import extract_quantities

    items, problems = load_gold(args.corpus, args.seeds, args.gold)
    for p in problems:
        print("skipped:", p, file=sys.stderr)
    nlp = nlp_mod.load()
    n_gold = found = unit_ok = qual_ok = spurious = 0
    by_source: dict[str, list[int]] = {}
    errors = []
    for (rec, sent), doc in zip(items, nlp.pipe([s for _r, s in items], batch_size=64)):
        pred = extract_quantities(doc)
        used: set[int] = set()
        src = by_source.setdefault(f'{rec.get("split", "dev")} {rec["source"]}', [0, 0, 0, 0])
        for g in rec["quantities"]:
            n_gold += 1
            src[0] += 1
            k = next((i for i, q in enumerate(pred) if i not in used and abs(q.value - g["value"]) <= 1e-6 * max(1.0, abs(g["value"]))), None)
            if k is None:
                errors.append((sent, "missed", g, None))
                continue
            used.add(k)
            q = pred[k]
            found += 1
            src[1] += 1
            u = (q.unit or None) == (g["unit"] or None)
            ql = q.qualifier == g["qualifier"]
            unit_ok += u
            qual_ok += ql
            src[2] += u
            src[3] += ql
            if not (u and ql):
                errors.append((sent, "wrong", g, (q.value, q.unit, q.qualifier, q.text)))
        for i, q in enumerate(pred):
            if i not in used:
                spurious += 1
                errors.append((sent, "spurious", None, (q.value, q.unit, q.qualifier, q.text)))
    n_sent = len(items)
    print(f"quantities gold: {n_sent} sentences, {n_gold} numbers ({', '.join(f'{k} {v[0]}' for k, v in by_source.items())})")
    print()
    print("| set           | numbers | value acc | unit acc | qualifier acc |")
    print("|---------------|---------|-----------|----------|---------------|")
    for name, (g, f, u, ql) in [("all", (n_gold, found, unit_ok, qual_ok))] + sorted(by_source.items()):
        print(f"| {name:<13} | {g:>7} | {f / g:>9.3f} | {u / g:>8.3f} | {ql / g:>13.3f} |")
    print(f"\nspurious extractions (not in gold): {spurious}")
    if args.errors:
        for sent, kind, g, q in errors:
            print(f"- {kind}: gold={g} pred={q}\n    {sent[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
