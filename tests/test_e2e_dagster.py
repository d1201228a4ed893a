"""End to end: dagster-webserver + dagster-daemon on 127.0.0.1, a job submitted over GraphQL, and the
landing sensor picking up a new file; then the published database is queried."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def server_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def dagster_stack(tmp_path, sample_landing):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "warehouse" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    wh = tmp_path / "wh"
    # create the instance storage before the servers start (concurrent first-time migrations race)
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(home))
    instance.add_dynamic_partitions("batches", ["batch-e2e"])
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WIRETRACE_LANDING": str(sample_landing),
        "WIRETRACE_WAREHOUSE": str(wh),
        "WIRETRACE_SENSOR_INTERVAL": "3",
        "WIRETRACE_SEMANTIC": "0",
    }
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = []
    for name, cmd in [
        (
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        ),
        ("daemon", [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]),
    ]:
        out = open(logs / f"{name}.log", "w")
        procs.append(
            subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def up():
        for p in procs:
            if p.poll() is not None:
                logs_text = "\n".join(f.read_text()[-2000:] for f in logs.iterdir())
                raise AssertionError(f"a dagster process exited early:\n{logs_text}")
        return server_up(port)

    try:
        wait_for(up, 120, "dagster-webserver /server_info")
        yield {
            "instance": instance,
            "port": port,
            "home": home,
            "landing": sample_landing,
            "wh": wh,
            "env": env,
            "logs": logs,
        }
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        instance.dispose()


def test_graphql_submission_and_sensor_run(dagster_stack):
    from dagster import DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    instance = dagster_stack["instance"]
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_stack["port"])
    files = sorted(p.name for p in dagster_stack["landing"].glob("*.txt"))
    run_id = client.submit_job_execution(
        "process_batch",
        run_config={"ops": {"ingest": {"config": {"files": files}}}},
        tags={"dagster/partition": "batch-e2e"},
    )

    def finished():
        status = client.get_run_status(run_id)
        return (
            status
            if status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
            else None
        )

    status = wait_for(finished, 300, f"run {run_id}", step=2)
    logs = "\n".join(p.read_text()[-3000:] for p in dagster_stack["logs"].iterdir())
    assert status == DagsterRunStatus.SUCCESS, logs

    analyst = dagster_stack["wh"] / "wiretrace.duckdb"
    con = duckdb.connect(str(analyst), read_only=True)
    assert con.sql("SELECT count(*) FROM raw.documents").fetchall()[0][0] == 5
    assert con.sql("SELECT count(*) FROM marts.sentence_matches").fetchall()[0][0] > 0
    con.close()

    # the sensor (on by default) notices a new file and runs just that batch
    new = dagster_stack["landing"] / "new-outlet" / "extra.txt"
    new.parent.mkdir()
    new.write_text("A brand new article about a different story, published by another outlet today.\n")

    def sensor_run_done():
        runs = [
            r
            for r in instance.get_runs()
            if r.tags.get("dagster/partition", "").startswith("batch-")
            and r.tags.get("dagster/partition") != "batch-e2e"
        ]
        for r in runs:
            cfg = r.run_config.get("ops", {}).get("ingest", {}).get("config", {})
            if "new-outlet/extra.txt" in cfg.get("files", []):
                return r if r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE) else None
        return None

    run = wait_for(sensor_run_done, 300, "the sensor's run for the new file", step=2)
    assert run.status == DagsterRunStatus.SUCCESS
    con = duckdb.connect(str(analyst), read_only=True)
    assert con.sql("SELECT source FROM raw.documents WHERE path = 'new-outlet/extra.txt'").fetchall() == [
        ("new-outlet",)
    ]
    con.close()
