"""Benchmark: the user's event-driven path (webserver + daemon + sensor) beside `pipeline run`.

    .venv/bin/python -m bench.daemon_path --corpus ../shared/corpus/bbc --n 40
    .venv/bin/python -m bench.daemon_path --corpus ../shared/corpus/bbc --n 600 --interval 5
    .venv/bin/python -m bench.daemon_path --corpus ../shared/corpus/bbc --n 40 --repeat 3   # medians

In one run, on the same N articles (the first N files of the corpus, sorted by path):

  cli      `pipeline run` of the N files into an empty warehouse with a fresh DAGSTER_HOME
           (drop -> published is the command's wall time), then one more article (+1 file).
  daemon   `dagster dev` (webserver and daemon) on a fresh DAGSTER_HOME and empty warehouse,
           sensor interval `--interval`; the same N files are renamed into the raw folder at
           once and the clock runs until the published `documents` table has the rows the
           CLI published (identical articles are one row); then the same one more article.

Prints both and the ratio daemon / cli, and for each of the daemon's drops where its
seconds went: the sensor tick that saw the files, and each run's queued, dequeued, started
and finished moments (from the tick history and the runs' events). The daemon's time
includes the sensor's latency (the files are dropped at a random moment of its interval,
`--seed`) and the settle time (`PIPELINE_SETTLE_SECONDS`, 1 s here), as a user sees it; it
excludes the server's own start-up (the user's server is already running: the files are
dropped once the sensor has ticked). The +1 run shows as "failed" when the benchmark stops
the server while that run's last check still runs (its tables are published by then).
Nothing is written into the corpus folder.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.dagster_server import Server  # noqa: E402 - `dagster dev` on loopback, stopped as a group

SETTLE_SECONDS = "1"


def _articles(corpus: Path, n: int) -> list[Path]:
    found = sorted(p for p in corpus.rglob("*.txt") if p.name.lower() != "readme.txt")
    if len(found) < n + 1:
        raise SystemExit(f"{corpus} has {len(found)} articles; {n + 1} are needed")
    return found[:n + 1]


def _stage(files: list[Path], into: Path) -> list[Path]:
    """Copies named by category and file (the BBC corpus repeats file names per category)."""
    into.mkdir(parents=True)
    out = []
    for p in files:
        target = into / f"{p.parent.name}-{p.name}"
        shutil.copy(p, target)
        out.append(target)
    return out


def _published_rows(wh: Path) -> int:
    try:
        return json.loads((wh / "_manifest.json").read_text())["tables"]["documents"]["rows"]
    except (OSError, ValueError, KeyError):
        return -1


def _wait_rows(wh: Path, n: int, server: Server, timeout_s: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if _published_rows(wh) == n:
            return time.monotonic() - t0
        if server.proc.poll() is not None:
            raise SystemExit(f"dagster dev exited:\n{server.log_tail()}")
        time.sleep(0.2)
    raise SystemExit(f"{n} documents not published within {timeout_s} s:\n{server.log_tail()}")


def _wait_first_tick(server: Server, timeout_s: float) -> None:
    """A running server's sensor is ticking: wait for its first tick (the daemon starts its
    sensor loop a few seconds after the webserver answers), so that the drop -> published time
    holds one sensor latency, not the daemon's own start."""
    deadline = time.monotonic() + timeout_s
    while not server.sensor_tick_times("raw_folder_sensor", limit=1):
        if time.monotonic() > deadline or server.proc.poll() is not None:
            raise SystemExit(f"the sensor did not tick:\n{server.log_tail()}")
        time.sleep(0.5)


def _drop(files: list[Path], raw: Path) -> None:
    for p in files:
        os.rename(p, raw / p.name)  # atomic, as a downloader that writes aside and renames


def _run_phases(home: Path, since: float, until: float, ticks: list[float]) -> str:
    """Where the daemon's seconds went between a drop (wall clock `since`) and the publish
    (`until`): the sensor tick that saw the files (the sensor's latency), then per run launched
    in between, when it was queued (after the tick's evaluation), taken from the queue
    (dequeued), started (its process up and the code location loaded) and finished, in
    seconds after the drop; from the sensor's tick history and the instance's event log."""
    import dagster as dg

    marks = {"PIPELINE_ENQUEUED": "queued", "PIPELINE_STARTING": "dequeued", "PIPELINE_START": "started",
             "PIPELINE_SUCCESS": "finished", "PIPELINE_FAILURE": "failed"}
    out = []
    first_queued = None
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in reversed(instance.get_runs(limit=20)):
            seen = {}
            for rec in instance.all_logs(run.run_id):
                kind = rec.dagster_event.event_type_value if rec.dagster_event else None
                if kind in marks and kind not in seen:
                    seen[kind] = rec.timestamp - since
            queued = seen.get("PIPELINE_ENQUEUED")
            if queued is None or queued < 0 or queued > until - since:
                continue
            first_queued = queued if first_queued is None else first_queued
            out.append(f"{run.job_name} " + ", ".join(f"{marks[k]} {v:.1f}" for k, v in seen.items()))
    tick = max((t - since for t in ticks if t - since <= (first_queued or 0)), default=None)
    return "; ".join(([f"tick {tick:.1f}"] if tick is not None else []) + out)


def _daemon(staged: list[Path], extra: Path, root: Path, interval: int, timeout_s: float, rows: tuple[int, int],
            phase: "random.Random") -> dict:
    """`rows`: the documents rows `pipeline run` published for the N files and for N + 1 (identical
    articles are one row, so the count can be below N)."""
    raw, wh = root / "raw", root / "wh"
    raw.mkdir()
    server = Server(root, raw, wh, PIPELINE_SENSOR_INTERVAL=str(interval), PIPELINE_SETTLE_SECONDS=SETTLE_SECONDS)
    try:
        server.wait_ready()
        _wait_first_tick(server, timeout_s)
        time.sleep(phase.uniform(0, interval))  # files arrive at any moment of the sensor's interval
        t0, w0 = time.monotonic(), time.time()
        _drop(staged, raw)
        _wait_rows(wh, rows[0], server, timeout_s)
        first, w0_end = time.monotonic() - t0, time.time()
        time.sleep(interval + 1 + phase.uniform(0, interval))  # the wave's bookkeeping tick: the next drop is a new wave
        t1, w1 = time.monotonic(), time.time()
        _drop([extra], raw)
        _wait_rows(wh, rows[1], server, timeout_s)
        plus_one, w1_end = time.monotonic() - t1, time.time()
        ticks = server.sensor_tick_times("raw_folder_sensor", limit=100)
    finally:
        server.stop()
    home = root / "dagster_home"
    return {"drop_to_published_s": first, "plus_one_s": plus_one,
            "phases": (_run_phases(home, w0, w0_end, ticks), _run_phases(home, w1, w1_end, ticks))}


def _cli(staged: list[Path], extra: Path, root: Path) -> dict:
    raw, wh, home = root / "raw", root / "wh", root / "dagster_home"
    raw.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), PIPELINE_SETTLE_SECONDS=SETTLE_SECONDS)
    cmd = [str(Path(sys.executable).parent / "pipeline"), "run", "--raw-dir", str(raw), "--warehouse-dir", str(wh)]
    _drop(staged, raw)
    t0 = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    first = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"pipeline run failed:\n{done.stderr[-3000:]}")
    rows_first = _published_rows(wh)
    _drop([extra], raw)
    t1 = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    plus_one = time.monotonic() - t1
    if done.returncode != 0:
        raise SystemExit(f"pipeline run (+1) failed:\n{done.stderr[-3000:]}")
    return {"drop_to_published_s": first, "plus_one_s": plus_one, "rows": (rows_first, _published_rows(wh))}


def main(argv: list[str] | None = None) -> int:
    import statistics

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="a folder of .txt articles (e.g. the BBC corpus)")
    ap.add_argument("--n", type=int, default=40, help="articles dropped at once")
    ap.add_argument("--interval", type=int, default=5, help="sensor interval (s)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of (cli, daemon), each on fresh folders; medians are printed (the sensor's "
                         "latency is anywhere in one interval, so one round is one draw)")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--seed", type=int, default=0, help="seed of the drops' moments within the sensor interval")
    args = ap.parse_args(argv)
    files = _articles(args.corpus, args.n)
    rounds: dict[str, list[dict]] = {"cli": [], "daemon": []}
    phase = random.Random(args.seed)  # where in the sensor's interval each drop falls
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        tmp = Path(tmp)
        for i in range(args.repeat):
            for path in ("cli", "daemon"):  # the CLI first: its published row counts are what the daemon waits for
                staged = _stage(files, tmp / f"{path}-{i}-staged")
                root = tmp / f"{path}-{i}"
                root.mkdir()
                if path == "daemon":
                    result = _daemon(staged[:-1], staged[-1], root, args.interval, args.timeout,
                                     rounds["cli"][-1]["rows"], phase)
                else:
                    result = _cli(staged[:-1], staged[-1], root)
                rounds[path].append(result)
                print(f"{path:>6}: {args.n} files dropped -> published {result['drop_to_published_s']:7.1f} s; "
                      f"+1 file -> published {result['plus_one_s']:6.1f} s", flush=True)
                for label, phases in zip(("drop", "+1"), result.get("phases", ())):
                    print(f"        {label}: {phases} (s after the drop)", flush=True)
    med = {path: {k: statistics.median(r[k] for r in rs) for k in ("drop_to_published_s", "plus_one_s")}
           for path, rs in rounds.items()}
    d, c = med["daemon"], med["cli"]
    label = f"medians of {args.repeat} rounds" if args.repeat > 1 else "one round"
    if args.repeat > 1:
        for path in ("cli", "daemon"):
            print(f"{path:>6} ({label}): {med[path]['drop_to_published_s']:7.1f} s; +1 file "
                  f"{med[path]['plus_one_s']:6.1f} s")
    print(f"ratio daemon/cli ({label}): drop -> published {d['drop_to_published_s'] / c['drop_to_published_s']:.2f}x, "
          f"+1 file {d['plus_one_s'] / c['plus_one_s']:.2f}x (sensor interval {args.interval} s, "
          f"settle {SETTLE_SECONDS} s, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
