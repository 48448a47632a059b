"""The UI path in a real browser: `dagster dev` on 127.0.0.1, headless Debian chromium
through Playwright, "Materialize all", wait for success, look at an asset and its
checks, save screenshots, then check the published tables.

Installs nothing: `./dev test` installs chromium (apt, as root) and Playwright (the
`test` extra). Screenshots go to tests/artifacts/browser/ (gitignored); the paths are
printed (`pytest -s` shows them, and they are listed in the failure message).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.dagster_server import Server, _graphql

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT / "tests" / "artifacts" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CONTRACT_TABLES = ["documents", "paragraphs", "sentences", "claims", "claim_quantities", "claim_entities",
                   "claim_clusters", "quantity_conflicts"]
RUN_TIMEOUT_S = 900
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(1800)]


RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"
BACKFILLS = "{ partitionBackfillsOrError { ... on PartitionBackfills { results { id status } } } }"
WAREHOUSE = """{ assetOrError(assetKey: {path: ["warehouse", "documents"]}) {
    ... on Asset { assetMaterializations(limit: 1) { runId } } } }"""


def _wait_for_success(server: Server, page, shots) -> list[dict]:
    """Until the warehouse asset is materialized and no run or backfill is still going."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    last_shot = 0.0
    while time.monotonic() < deadline:
        runs = _graphql(server.url, RUNS)["runsOrError"]["results"]
        backfills = (_graphql(server.url, BACKFILLS).get("partitionBackfillsOrError") or {}).get("results") or []
        bad = [r for r in runs if r["status"] in {"FAILURE", "CANCELED"}]
        assert not bad, f"runs failed: {bad}\n{server.log_tail()}"
        bad_backfills = [b for b in backfills if b["status"] in {"FAILED", "CANCELED", "COMPLETED_FAILED"}]
        assert not bad_backfills, f"backfills failed: {bad_backfills}"
        published = _graphql(server.url, WAREHOUSE)["assetOrError"].get("assetMaterializations")
        busy = [r for r in runs if r["status"] not in TERMINAL]
        busy_backfills = [b for b in backfills if b["status"] == "REQUESTED"]
        if runs and published and not busy and not busy_backfills:
            return runs
        if time.monotonic() - last_shot > 20:  # a picture of the run in progress, once in a while
            last_shot = time.monotonic()
            shots("run_in_progress", page)
        time.sleep(2)
    raise AssertionError(f"no successful materialization after {RUN_TIMEOUT_S} s: {runs}\n{server.log_tail()}")


def _dismiss_popups(page, wait_ms: int = 3000) -> None:
    """The first-visit newsletter dialog (and similar) would cover the buttons; it shows up late."""
    try:
        page.get_by_role("button", name="Skip", exact=True).first.wait_for(state="visible", timeout=wait_ms)
    except Exception:  # noqa: BLE001 - no popup this time
        pass
    for name in ("Skip", "Dismiss", "Got it"):
        button = page.get_by_role("button", name=name, exact=True)
        if button.count() and button.first.is_visible():
            button.first.click()
            page.wait_for_timeout(300)


PARTITIONS = """{ assetNodeOrError(assetKey: {path: ["documents"]}) { ... on AssetNode { partitionKeys } } }"""


def _wait_for_partitions(server: Server, expected: int, timeout_s: float = 180) -> None:
    """Per-file assets are partitioned by batch of raw files; the sensor makes the batches. Wait for them."""
    deadline = time.monotonic() + timeout_s
    keys = None
    while time.monotonic() < deadline:
        node = _graphql(server.url, PARTITIONS)["assetNodeOrError"] or {}
        keys = node.get("partitionKeys")
        if keys is None or len(keys) >= expected:  # None: unpartitioned
            return
        time.sleep(2)
    raise AssertionError(f"only {keys} of {expected} batch partitions registered after {timeout_s} s")


def _launch_materialize_all(page, shots) -> None:
    _dismiss_popups(page, wait_ms=500)
    page.get_by_role("button", name="Materialize all").first.click()
    # partitioned assets: a dialog to choose partitions (all by default) and launch a backfill
    # "Launch backfill", "Launch run", "Launch 1 run", ... depending on the partitions chosen
    launch = page.get_by_role("button", name=re.compile(r"^Launch (backfill|\d* ?runs?)$"))
    try:
        launch.first.wait_for(state="visible", timeout=8000)
    except Exception:  # noqa: BLE001 - no dialog: unpartitioned assets launch a run at once
        return
    page.wait_for_timeout(1500)
    shots("partition_dialog", page)
    dialog = page.get_by_role("dialog")
    every = dialog.get_by_role("button", name="All", exact=True)  # partition selection: All
    if every.count() and every.first.is_visible():
        every.first.click()
        page.wait_for_timeout(1000)
        shots("partition_dialog_all_selected", page)
    if not launch.first.is_enabled():
        shots("partition_dialog_launch_disabled", page)
    launch.first.click()


@pytest.fixture()
def shots(request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    taken: list[Path] = []
    counter = {"n": 0}

    def shoot(name: str, page) -> Path:
        counter["n"] += 1
        path = ARTIFACTS / f"{counter['n']:02d}_{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        print(f"screenshot: {path}", flush=True)
        return path

    shoot.taken = taken
    yield shoot
    print("screenshots:\n" + "\n".join(f"  {p}" for p in taken), flush=True)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (./dev test installs it)")
def test_materialize_all_in_the_ui(tmp_path, shots):
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright comes with the project's test extra")
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    shutil.copytree(PROJECT / "data" / "raw", raw)
    server = Server(tmp_path, raw, warehouse)
    try:
        server.wait_ready()
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.set_default_timeout(60_000)

                # the asset graph
                _wait_for_partitions(server, expected=1)  # the five seeds: one batch
                page.goto(f"{server.url}/asset-groups", wait_until="networkidle")
                _dismiss_popups(page)
                page.get_by_role("button", name="Materialize all").first.wait_for(state="visible")
                page.wait_for_timeout(1500)  # let the graph lay itself out
                shots("asset_graph", page)

                _launch_materialize_all(page, shots)
                page.wait_for_timeout(2000)
                shots("materialize_all_launched", page)
                runs = _wait_for_success(server, page, shots)

                page.goto(f"{server.url}/runs", wait_until="networkidle")
                _dismiss_popups(page)
                page.get_by_text("Success", exact=False).first.wait_for(state="visible")
                shots("runs_succeeded", page)

                page.goto(f"{server.url}/asset-groups", wait_until="networkidle")
                _dismiss_popups(page)
                page.wait_for_timeout(2500)
                shots("asset_graph_materialized", page)

                # one asset's page, then its checks
                page.goto(f"{server.url}/assets/paragraphs", wait_until="networkidle")
                _dismiss_popups(page)
                page.get_by_text("paragraphs", exact=False).first.wait_for(state="visible")
                page.wait_for_timeout(1500)
                shots("asset_paragraphs", page)

                page.goto(f"{server.url}/assets/paragraphs?view=checks", wait_until="networkidle")
                _dismiss_popups(page)
                page.get_by_text("paragraphs_suite").first.wait_for(state="visible")
                page.wait_for_timeout(1500)
                shots("asset_paragraphs_checks", page)
                # the check's results table (every expectation, counts, samples)
                show = page.get_by_text("Show Markdown", exact=False)
                if show.count():
                    show.first.click()
                    page.wait_for_timeout(1000)
                    shots("asset_paragraphs_check_results", page)
                    page.keyboard.press("Escape")

                # the catalog: every asset with its group, kinds and description
                page.goto(f"{server.url}/assets", wait_until="networkidle")
                _dismiss_popups(page)
                page.get_by_text("quantity_conflicts").first.wait_for(state="visible")
                page.wait_for_timeout(1500)
                shots("asset_catalog", page)

                # the Great Expectations Data Docs page of that validation, built under the warehouse
                pages = sorted((warehouse / "data_docs" / "validations" / "paragraphs").glob("*/*/*.html"))
                if pages:
                    page.goto(pages[-1].as_uri(), wait_until="load")
                    page.wait_for_timeout(500)
                    shots("data_docs_paragraphs", page)
            finally:
                browser.close()
    finally:
        server.stop()

    assert shots.taken, "no screenshots"
    assert all(p.stat().st_size > 10_000 for p in shots.taken), "a screenshot looks empty"
    assert runs

    # what the UI run published
    import pyarrow.dataset as ds

    manifest = json.loads((warehouse / "_manifest.json").read_text())
    assert set(CONTRACT_TABLES) <= set(manifest["tables"])
    for name in CONTRACT_TABLES:
        assert (warehouse / name).is_dir(), name
    docs = ds.dataset(str(warehouse / "documents"), format="parquet").to_table()
    assert docs.num_rows == 5
    assert (warehouse / "catalog.duckdb").exists()
    if os.environ.get("PIPELINE_DATA_DOCS", "1") not in {"0", "false", "no", "off"}:
        assert (warehouse / "data_docs" / "index.html").exists()
