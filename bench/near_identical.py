"""Benchmark: the corpus step over many near-identical short documents (issue #17).

    .venv/bin/python -m bench.near_identical                      # 5,000 and 20,000 lines
    .venv/bin/python -m bench.near_identical --sizes 5000 20000 --profile /tmp/corpus.prof

A wire feed of templated one-line items ("Police said 3 people were injured in
Springfield on Monday."), varied in names, numbers, places and days, with many exact
re-sends and near re-sends (an "UPDATE:" prefix, a trailing credit, "said" -> "say", a
word added), is written as one `.jsonl` per size. Its per-document tables are made as
a `pipeline run` batch makes them (`build.documents_for_files` on the .jsonl,
`build.paragraphs_table`); the sentences, claims, quantities and entities are stand-ins
made without NLP (one sentence per kept paragraph, one claim per sentence, its numbers
and capitalized names), so the row counts the corpus step filters are realistic.

Timed, in this one process, for each size with fresh indexes: the corpus step as the
`corpus` asset runs it: `build.assemble_corpus` with the real `CorpusIndexes`
(MinHash-LSH `NearDupIndex` of documents and paragraphs, `TemplateCounter`, document
digests) and `state.save_indexes` into an empty state folder. Prints each size's
seconds, the ratio of the largest to the smallest and the data ratio (target: the time
ratio no worse than linear, <= ~1.1 x the data ratio), and the documents by status.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

CITIES = ("Springfield Riverside Fairview Greenville Bristol Clinton Madison Georgetown Salem Franklin "
          "Arlington Ashland Burlington Dayton Dover Hudson Jackson Kingston Lexington Milton Newport "
          "Oxford Richmond Trenton Winchester Auburn Chester Clayton Dalton Easton").split()
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = "January February March April May June July August September October November December".split()
NAMES = ("John Smith|Maria Garcia|David Lee|Sarah Johnson|Ahmed Khan|Li Wei|Anna Kowalski|James Brown|"
         "Fatima Ali|Peter Novak|Laura Rossi|Tom Walker|Emma Clarke|Carlos Silva|Nina Petrova").split("|")
COMPANIES = ("Acme Corp|Globex|Initech|Umbrella Holdings|Stark Industries|Wayne Enterprises|Hooli|"
             "Vandelay Imports|Soylent|Cyberdyne Systems|Tyrell Corp|Wonka Industries").split("|")
TEAMS = ("City|United|Rovers|Athletic|Wanderers|Albion|County|Town|Rangers|Celtic|Harriers|Vale").split("|")
AGENCIES = ("statistics office|central bank|finance ministry|labour department|trade commission").split("|")
BUILDINGS = "warehouse|school|restaurant|block of flats|factory|church|hotel|shopping centre".split("|")

TEMPLATES = (
    lambda r: f"Police said {r.randint(2, 40)} people were injured in {r.choice(CITIES)} on {r.choice(DAYS)}.",
    lambda r: f"{r.choice(COMPANIES)} shares rose {r.randint(1, 19)}.{r.randint(0, 9)}% on {r.choice(DAYS)} "
              f"after quarterly results beat forecasts.",
    lambda r: f"{r.choice(COMPANIES)} shares fell {r.randint(1, 19)}.{r.randint(0, 9)}% on {r.choice(DAYS)} "
              f"after the company cut its outlook.",
    lambda r: f"{r.choice(TEAMS)} beat {r.choice(TEAMS)} {r.randint(1, 5)}-{r.randint(0, 3)} in "
              f"{r.choice(CITIES)} on {r.choice(DAYS)}.",
    lambda r: f"{r.choice(NAMES)}, {r.randint(18, 80)}, was arrested in {r.choice(CITIES)} on "
              f"{r.choice(DAYS)}, police said.",
    lambda r: f"Fire crews were called to a blaze at a {r.choice(BUILDINGS)} in {r.choice(CITIES)} on "
              f"{r.choice(DAYS)} night.",
    lambda r: f"The {r.choice(AGENCIES)} said inflation fell to {r.randint(1, 9)}.{r.randint(0, 9)}% in "
              f"{r.choice(MONTHS)}.",
    lambda r: f"About {r.randint(2, 90) * 100} homes in {r.choice(CITIES)} were left without power on "
              f"{r.choice(DAYS)}, the utility said.",
    lambda r: f"Mayor {r.choice(NAMES)} said {r.choice(CITIES)} would spend {r.randint(2, 50)} million dollars "
              f"on new roads.",
    lambda r: f"A {r.randint(16, 90)}-year-old man died after a crash on the road to {r.choice(CITIES)} on "
              f"{r.choice(DAYS)}, police said.",
)


def _near_variant(text: str, r: random.Random) -> str:
    """A re-send with a small edit, as wire desks do."""
    kind = r.randrange(6)
    if kind == 0:
        return "UPDATE: " + text
    if kind == 1:
        return text + " (Reuters)"
    if kind == 2:
        return text.replace(" said", " say", 1) if " said" in text else text + " Officials said."
    if kind == 3:
        return text.rstrip(".") + ", officials confirmed."
    if kind == 4:
        return text.replace(" on ", " late on ", 1)
    return text + " More to follow."


def wire_items(n: int, seed: int = 17) -> list[dict]:
    """`n` one-line news items: about half new items from the templates, a quarter exact
    re-sends of an earlier item, a quarter near re-sends (`_near_variant`)."""
    r = random.Random(seed)
    texts: list[str] = []
    items = []
    for i in range(n):
        roll = r.random()
        if texts and roll < 0.25:
            text = texts[r.randrange(len(texts))]  # exact re-send
        elif texts and roll < 0.5:
            text = _near_variant(texts[r.randrange(len(texts))], r)
        else:
            text = r.choice(TEMPLATES)(r)
        texts.append(text)
        items.append({"id": f"wire-{i}", "title": text[:40], "text": text,
                      "published_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"})
    return items


def one_template_items(n: int, seed: int = 17) -> list[dict]:
    """The worst case: `n` lines of one sentence with its number changed, all mutual
    near-duplicates (Jaccard of their 5-word shingles about 0.8)."""
    return [{"id": f"item-{i}", "text": f"Item {i}: the council met on Monday and approved the budget for the "
                                        f"new library in the town centre."} for i in range(n)]


def write_jsonl(items: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")


_SENT = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_NUM = re.compile(r"\d+(?:\.\d+)?")
_NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*")


def stand_in_nlp(paragraphs):
    """(sentences, claims, quantities, entities) without NLP: one sentence per sentence-like
    span of each kept paragraph, one claim per sentence, its numbers and capitalized names."""
    import pandas as pd

    from pipeline import ids

    sents, claims, quants, ents = [], [], [], []
    ordinal: dict[str, int] = {}
    kept = paragraphs[paragraphs["status"] == "kept"]
    for pid, did, text, start, key in kept[["paragraph_id", "doc_id", "text", "char_start", "partition_key"]].itertuples(index=False):
        for m in _SENT.finditer(text):
            s = m.group().strip()
            if not s:
                continue
            a = int(start) + m.start() + (len(m.group()) - len(m.group().lstrip()))
            b = a + len(s)
            n = ordinal.get(did, 0)
            ordinal[did] = n + 1
            sid = ids.sentence_id(did, a, b)
            cid = f"c{sid}"
            sents.append({"sentence_id": sid, "doc_id": did, "paragraph_id": pid, "ordinal": n, "text": s,
                          "char_start": a, "char_end": b, "partition_key": key})
            claims.append({"claim_id": cid, "sentence_id": sid, "doc_id": did, "text": s, "checkworthiness": 0.5,
                           "speaker": None, "speaker_type": None, "cue": "say", "quote_type": "indirect",
                           "hedged": False, "negated": False, "cluster_id": None, "paragraph_id": pid,
                           "char_start": a, "char_end": b, "content_lemmas": " ".join(sorted(set(s.lower().split()))),
                           "partition_key": key})
            for k, q in enumerate(_NUM.finditer(s)):
                quants.append({"claim_id": cid, "value": float(q.group()), "unit": None, "qualifier": "exact",
                               "text": q.group(), "ordinal": k, "doc_id": did, "char_start": a + q.start(),
                               "char_end": a + q.end(), "partition_key": key})
            for k, e in enumerate(_NAME.finditer(s)):
                ents.append({"claim_id": cid, "text": e.group(), "label": "GPE", "canonical": e.group(),
                             "ordinal": k, "doc_id": did, "char_start": a + e.start(), "char_end": a + e.end(),
                             "partition_key": key})
    return tuple(pd.DataFrame(rows) for rows in (sents, claims, quants, ents))


def batch_tables(items: list[dict], folder: Path) -> tuple:
    """The six per-document tables of the items as one .jsonl, as a batch makes them."""
    from pipeline import build

    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(items, folder / "feed.jsonl")
    docs = build.documents_for_files(folder, ["feed.jsonl"])
    docs = build.mark_repeated_bytes(docs)
    paras = build.paragraphs_table(docs)
    paras["partition_key"] = paras["doc_id"].map(dict(zip(docs["doc_id"], docs["partition_key"])))
    return (docs, paras, *stand_in_nlp(paras))


def corpus_step(tables: tuple, state_root: Path, profile: str | None = None) -> tuple[float, dict]:
    """Wall seconds of `assemble_corpus` + `save_indexes` with fresh indexes; the parts,
    the CPU seconds of this process, the size of the saved state and the tables."""
    import shutil

    from pipeline import build
    from pipeline.state import load_indexes, save_indexes

    shutil.rmtree(state_root, ignore_errors=True)
    indexes = load_indexes(state_root)  # empty: a fresh state folder
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    c0, t0 = time.process_time(), time.perf_counter()
    out = build.assemble_corpus(*tables, indexes=indexes)
    t_assemble = time.perf_counter() - t0
    save_indexes(state_root, indexes)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    state_mb = sum(f.stat().st_size for f in Path(state_root).rglob("*") if f.is_file()) / 1e6
    return elapsed, {"assemble_s": t_assemble, "save_s": elapsed - t_assemble, "cpu_s": cpu,
                     "state_mb": state_mb, "tables": out}


def uncapped_difference(tables: tuple, out: dict, state_root: Path) -> str:
    """How the verdicts of `out` differ from those of the same step with the LSH caps of
    `pipeline.neardup` lifted (every bucket and match list unbounded)."""
    from pipeline import neardup

    caps = neardup.MAX_BUCKET_ROWS, neardup.MAX_KEPT_MATCHES, neardup.BATCH_MIN_KEYS
    # one key at a time (the batch path holds every candidate pair of a chunk: unbounded without caps)
    neardup.MAX_BUCKET_ROWS = neardup.MAX_KEPT_MATCHES = neardup.BATCH_MIN_KEYS = 10 ** 9
    try:
        secs, ref = corpus_step(tables, state_root)
    finally:
        neardup.MAX_BUCKET_ROWS, neardup.MAX_KEPT_MATCHES, neardup.BATCH_MIN_KEYS = caps
    a, b = out["documents"].set_index("doc_id"), ref["tables"]["documents"].set_index("doc_id")
    status = int((a["status"] != b.loc[a.index, "status"]).sum())
    target = int((a["duplicate_of"].fillna("") != b.loc[a.index, "duplicate_of"].fillna("")).sum())
    pa, pb = out["paragraphs"].set_index("paragraph_id"), ref["tables"]["paragraphs"].set_index("paragraph_id")
    both = pa.index.intersection(pb.index)  # paragraphs of documents `ok` in both
    links = int((pa.loc[both, "near_duplicate_of"].fillna("") != pb.loc[both, "near_duplicate_of"].fillna("")).sum())
    return (f"uncapped: {secs:.2f} s; documents with another status {status}, another duplicate_of {target} "
            f"(of {len(a)}); paragraphs in one table only {len(pa.index.symmetric_difference(pb.index))}, "
            f"with another near_duplicate_of {links} (of {len(both)} in both)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.near_identical", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--profile", help="cProfile the largest size's corpus step into this file")
    p.add_argument("--rounds", type=int, default=2,
                   help="time each size this many times, sizes alternating (this shared VM's speed drifts)")
    p.add_argument("--feed", choices=["wire", "one-template"], default="wire",
                   help="wire: the templated feed above; one-template: every line the same sentence "
                        "with its number changed (one near-duplicate group of all lines: the worst case)")
    p.add_argument("--check-exact", action="store_true",
                   help="also run the largest size with the LSH caps lifted and count the verdicts that differ")
    args = p.parse_args(argv)
    import statistics

    from pipeline import distributed

    distributed.configure(processes=1)  # MinHash signing in this process, as a small run does
    sizes = sorted(args.sizes)
    make = wire_items if args.feed == "wire" else one_template_items
    wall: dict[int, list[float]] = {n: [] for n in sizes}
    cpu: dict[int, list[float]] = {n: [] for n in sizes}
    with tempfile.TemporaryDirectory(prefix="near_identical_") as tmp:
        tables = {}
        for n in sizes:
            t0 = time.perf_counter()
            tables[n] = batch_tables(make(n, args.seed), Path(tmp) / f"raw{n}")
            print(f"{n:>7,} lines: per-document tables made in {time.perf_counter() - t0:.1f} s", flush=True)
        for k in range(args.rounds):
            for n in (sizes if k % 2 == 0 else sizes[::-1]):
                prof = args.profile if args.profile and n == sizes[-1] and k == 0 else None
                secs, info = corpus_step(tables[n], Path(tmp) / f"state{n}", prof)
                wall[n].append(secs)
                cpu[n].append(info["cpu_s"])
                docs, paras = info["tables"]["documents"], info["tables"]["paragraphs"]
                print(f"{n:>7,} lines: corpus step {secs:7.2f} s wall, {info['cpu_s']:.2f} s CPU "
                      f"(assemble_corpus {info['assemble_s']:.2f} s, save_indexes {info['save_s']:.2f} s; "
                      f"state {info['state_mb']:.1f} MB)", flush=True)
                if k == 0:
                    print(f"          documents {docs['status'].value_counts().to_dict()} "
                          f"{docs['reason'].value_counts().to_dict()}; paragraphs kept "
                          f"{int((paras['status'] == 'kept').sum())}, near_duplicate_of set "
                          f"{int(paras['near_duplicate_of'].notna().sum()) if len(paras) else 0}", flush=True)
                if k == 0 and args.check_exact and n == sizes[-1]:
                    print("          " + uncapped_difference(tables[n], info["tables"], Path(tmp) / "uncapped"),
                          flush=True)
    lo, hi = sizes[0], sizes[-1]
    if hi != lo:
        for label, t in (("wall", wall), ("CPU", cpu)):
            ratios = [b / a for a, b in zip(t[lo], t[hi])]
            print(f"{label} time ratio {hi:,}/{lo:,} per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
                  f"median {statistics.median(t[hi]):.2f} s / {statistics.median(t[lo]):.2f} s = "
                  f"{statistics.median(t[hi]) / statistics.median(t[lo]):.2f}x for {hi / lo:.1f}x the data "
                  f"(target <= {1.1 * hi / lo:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
