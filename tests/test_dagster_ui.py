"""The Dagster UI in headless Chromium, as a new user meets it: `make run` first, then the UI serves the code
location, the asset graph shows the pipeline's assets materialised by that run, the runs page and the run's
own page show it, and the asset checks are listed on their assets. Screenshots are kept as test artefacts
(``build/test-artifacts/``, or the folder named by ``WIRETRACE_TEST_ARTIFACTS``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.config import settings
from pipeline.core import tables
from tests import browser
from tests.conftest import REPO, make_run

pytestmark = [pytest.mark.slow, pytest.mark.browser]
BIN = Path(sys.executable).parent
ARTIFACTS = settings().test_artifacts or REPO / "build" / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: bytes | None = None) -> bytes | None:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read() if r.status == 200 else None
    except OSError:
        return None


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    browser.require_driver()
    root = tmp_path_factory.mktemp("dagster_ui")
    # the first hour: `make run` in a fresh project, then the UI on the same Dagster instance
    project = root / "project"
    made, home = make_run(project)
    assert made.returncode == 0, made.stderr[-3000:]
    run_id = re.search(r"^run ([0-9a-f-]{36}) succeeded", made.stdout, flags=re.M).group(1)
    (project / "data" / "raw").mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WIRETRACE_LANDING": str(project / "data" / "raw"),
        "WIRETRACE_WAREHOUSE": str(project / "warehouse"),
        "WIRETRACE_SEMANTIC": "0",
    }
    port = _free_port()
    log = root / "webserver.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while _get(f"{base}/server_info") is None:
            if proc.poll() is not None:
                raise AssertionError(f"dagster-webserver exited early:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"dagster-webserver did not answer /server_info:\n{log.read_text()[-3000:]}"
                )
            time.sleep(1)
        yield {"base": base, "root": root, "log": log, "run_id": run_id}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _location(base: str) -> str:
    """The code location's name, as the UI's URLs spell it."""
    query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"})
    answer = json.loads(_get(f"{base}/graphql", query.encode()) or b"{}")
    names = [e["name"] for e in answer["data"]["workspaceOrError"]["locationEntries"]]
    assert len(names) == 1, names
    return names[0]


def _open(drv, url: str, expect: list[str], timeout: float = 90) -> str:
    """Load ``url``, dismiss the first-visit dialog, wait until every string in ``expect`` is on the page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get(url)

    def ready(_):
        for button in drv.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
            try:
                button.click()
            except Exception:  # noqa: BLE001 - the dialog may be re-rendering; try on the next poll
                pass
        text = drv.find_element(By.TAG_NAME, "body").text
        return text if all(e in text for e in expect) else False

    try:
        return WebDriverWait(drv, timeout, poll_frequency=0.5).until(ready)
    except Exception as exc:
        body = drv.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"{url}: {expect} not all shown; page text: {body[:1500]!r}") from exc


def _settle(drv, seconds: float = 15) -> None:
    """Before a screenshot: close the first-visit dialog (it can open late) and let the nodes load."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + seconds
    quiet = 0
    while time.monotonic() < deadline and quiet < 4:
        buttons = drv.find_elements(By.XPATH, "//button[normalize-space()='Skip']")
        for button in buttons:
            try:
                button.click()
            except Exception:  # noqa: BLE001 - re-rendering; next round
                pass
        loading = "Loading" in drv.find_element(By.TAG_NAME, "body").text
        quiet = 0 if buttons or loading else quiet + 1
        time.sleep(0.5)


def test_asset_graph_and_checks_in_the_ui(webserver, tmp_path):
    from selenium.webdriver.common.by import By

    base = webserver["base"]
    location = _location(base)
    with browser.driver(1600, 1400) as drv:
        # the overlap group's lineage graph: its assets and their neighbours (sentences, analyst_warehouse)
        graph_url = f"{base}/locations/{location}/asset-groups/overlap"
        # (the graph renders only the nodes in view: a tall window holds the group's middle and both ends)
        text = _open(drv, graph_url, ["sentence_matches", "sentence_flags", "analyst_warehouse"])
        assert "sentences" in text.split()
        # nodes of the graph, not only a list: the lineage tab is the one shown
        assert drv.find_elements(By.XPATH, "//*[normalize-space()='Lineage']")
        _settle(drv)
        png = tmp_path / "asset_graph.png"
        assert drv.save_screenshot(str(png))
        data = png.read_bytes()
        assert data[:8] == browser.PNG_MAGIC and len(data) > 30_000
        shutil.copy(png, webserver["root"] / "asset_graph.png")

        # the global lineage lists every group
        _open(drv, f"{base}/asset-groups", ["ingest", "clean", "segment", "overlap", "publish"])

        # the catalogue lists every asset with its key path (it renders the rows in view: a window tall
        # enough for every asset)
        drv.set_window_size(1600, 3200)
        _open(
            drv,
            f"{base}/assets",
            [
                "raw / documents",
                "staging / sentences",
                "marts / sentence_matches",
                "marts / stories",
                "publish / analyst_warehouse",
            ],
        )

        # the asset checks, on the assets they check
        for key, check in [
            ("raw/documents", "documents_complete"),
            ("raw/raw_files", "files_accounted_for"),
            ("raw/ingest_errors", "errors_well_formed"),
        ]:
            text = _open(drv, f"{base}/assets/{key}?view=checks", [check])
            assert "Checks" in text
        _settle(drv)
        checks_png = tmp_path / "checks.png"
        drv.save_screenshot(str(checks_png))
        assert checks_png.read_bytes()[:8] == browser.PNG_MAGIC
        shutil.copy(checks_png, webserver["root"] / "checks.png")


def _keep(png: Path, name: str) -> Path:
    """A screenshot checked to be a real page, copied to the artefact folder."""
    data = png.read_bytes()
    assert data[:8] == browser.PNG_MAGIC and len(data) > 30_000, name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(png, ARTIFACTS / name))


def test_first_hour_make_run_shows_in_the_ui(webserver, tmp_path):
    base, run_id = webserver["base"], webserver["run_id"]
    location = _location(base)
    # the instance holds that one run
    query = json.dumps({"query": "{ runsOrError { ... on Runs { results { runId status jobName } } } }"})
    runs = json.loads(_get(f"{base}/graphql", query.encode()))["data"]["runsOrError"]["results"]
    assert runs == [{"runId": run_id, "status": "SUCCESS", "jobName": "process_batch"}]
    with browser.driver(1600, 1400) as drv:
        # the asset graph: assets materialised by that run, checks passed, the batch partition filled
        text = _open(drv, f"{base}/locations/{location}/asset-groups/ingest", ["documents", "1 / 1 Passed"])
        assert "100% filled" in text and "Never materialized" not in text
        text = _open(
            drv, f"{base}/locations/{location}/asset-groups/overlap", ["sentence_matches", "Materialized"]
        )
        assert "Never materialized" not in text
        _settle(drv)
        drv.save_screenshot(str(tmp_path / "graph.png"))
        _keep(tmp_path / "graph.png", "first_hour_asset_graph.png")

        # the runs page lists the run made by `make run`, successful, with its batch partition
        text = _open(drv, f"{base}/runs", [run_id[:8], "process_batch", "Success"])
        assert "partition: manual" in text and "wiretrace/command: wiretrace run" in text
        _settle(drv)
        drv.save_screenshot(str(tmp_path / "runs.png"))
        _keep(tmp_path / "runs.png", "first_hour_runs.png")

        # the run's own page: every asset, every check, the steps and their log
        # (the run's log loads after the header: wait for it too)
        text = _open(
            drv,
            f"{base}/runs/{run_id}",
            [
                "Success",
                "31 assets",
                "3 checks",
                "process_batch",
                "partition: manual",
                "ASSET_MATERIALIZATION",
            ],
        )
        _settle(drv)
        drv.save_screenshot(str(tmp_path / "run.png"))
        kept = _keep(tmp_path / "run.png", "first_hour_run.png")
        assert kept.is_file()

        # an asset's page: the metadata the run recorded
        # (its description is rendered after the materialisation's metadata: wait for it too)
        description = tables.table("raw.documents").description
        text = _open(
            drv, f"{base}/assets/raw/documents", ["Latest materialization", "new_documents", description]
        )
        # its description and column schema come from the table registry
        assert description in text
        assert "published_at_precision" in text
