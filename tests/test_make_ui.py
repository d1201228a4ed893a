"""`make ui` as a new user runs it: the Makefile's ui recipe (webserver and daemon, on a fresh instance)
serves the UI without printing a warning, and one Ctrl-C stops everything it started."""

from __future__ import annotations

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

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def ui_recipe(port: int) -> str:
    """The ui target's recipe as one shell script, with the Makefile's variables filled in."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    level = re.search(r"^DAEMON_LOG_LEVEL \?= (\S+)$", makefile, flags=re.M).group(1)
    body = re.search(r"^ui: .*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    lines = [line[1:].lstrip("@") for line in body.splitlines()]
    script = "\n".join(lines).replace("\\\n", "\n")
    assert "dagster dev" not in script  # superseded in Dagster 1.13: it warns on every start
    script = script.replace("$(BIN)", str(Path(sys.executable).parent))
    script = script.replace("$(DAEMON_LOG_LEVEL)", level).replace("$$", "$")
    return script.replace("-p 3000", f"-p {port}")


def test_make_ui_starts_quietly_and_stops_on_ctrl_c(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "dagster_home"  # a fresh instance, as on a first `make ui`
    home.mkdir()
    shutil.copy(REPO / "warehouse" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WIRETRACE_LANDING": str(tmp_path / "landing"),
        "WIRETRACE_WAREHOUSE": str(tmp_path / "wh"),
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    (tmp_path / "landing").mkdir()
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["sh", "-c", ui_recipe(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(1)
        time.sleep(15)  # the daemon's first ticks (sensor, schedule, event-log consumer)
        # Ctrl-C: the terminal interrupts the whole foreground group
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        # the daemon's and webserver's children shut down on their own schedule: give them up to 30 s
        # on a loaded machine, then nothing of the group may be left
        deadline = time.monotonic() + 30
        while True:
            left = subprocess.run(
                ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert left == [], f"processes left after Ctrl-C: {left}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    text = log.read_text()
    assert "Serving dagster-webserver on" in text
    assert not re.search(r"warn", text, flags=re.I), text[-3000:]
