"""One settings object: every WIRETRACE_* variable declared in ``pipeline.config.Settings``, read once,
checked with an error naming the variable, and listed in the README from that declaration."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from pipeline import config
from pipeline.config import Settings, SettingsError, reload_settings, settings
from tests.conftest import REPO

DECLARED = {env for _, env in Settings.variables()}


def test_defaults_without_any_variable():
    s = Settings.from_environ({})
    assert s == Settings()
    assert (s.landing, s.warehouse) == (Path("data/raw"), Path("warehouse"))
    assert (s.semantic, s.verifier, s.symlinks) == (True, True, "inside")
    assert (s.clean_timeout, s.workers, s.torch_threads, s.sensor_interval) == (120.0, None, 2, 30)
    assert s.db is None and s.shared_data is None and s.test_artifacts is None


def test_values_are_parsed_to_their_types():
    s = Settings.from_environ(
        {
            "WIRETRACE_LANDING": "in/box",
            "WIRETRACE_SEMANTIC": "off",
            "WIRETRACE_VERIFIER": " Yes ",
            "WIRETRACE_SYMLINKS": "never",
            "WIRETRACE_CLEAN_TIMEOUT": "0.5",
            "WIRETRACE_WORKERS": "3",
            "WIRETRACE_TORCH_THREADS": "1",
            "WIRETRACE_SENSOR_INTERVAL": "5",
            "WIRETRACE_DB": "x/wiretrace.duckdb",
            "WIRETRACE_WAREHOUSE": "",  # empty counts as unset
            "WIRETRACE_UNKNOWN": "ignored",
        }
    )
    assert s.landing == Path("in/box") and s.warehouse == Path("warehouse")
    assert s.semantic is False and s.verifier is True and s.symlinks == "never"
    assert s.clean_timeout == 0.5 and s.workers == 3 and s.torch_threads == 1 and s.sensor_interval == 5
    assert s.db == Path("x/wiretrace.duckdb")
    with pytest.raises(AttributeError):
        s.workers = 4  # frozen


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("WIRETRACE_WORKERS", "two", "a whole number >= 1"),
        ("WIRETRACE_WORKERS", "0", "a whole number >= 1"),
        ("WIRETRACE_TORCH_THREADS", "1.5", "a whole number >= 1"),
        ("WIRETRACE_SENSOR_INTERVAL", "-3", "a whole number >= 1"),
        ("WIRETRACE_CLEAN_TIMEOUT", "-1", "a number >= 0"),
        ("WIRETRACE_CLEAN_TIMEOUT", "inf", "a number >= 0"),
        ("WIRETRACE_CLEAN_TIMEOUT", "2 minutes", "a number >= 0"),
        ("WIRETRACE_SEMANTIC", "maybe", "one of 1, true, yes, on, 0, false, no, off"),
        ("WIRETRACE_VERIFIER", "disabled", "one of 1, true, yes, on, 0, false, no, off"),
        ("WIRETRACE_SYMLINKS", "all", "one of inside, never, any"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(name, value, expected):
    with pytest.raises(SettingsError) as err:
        Settings.from_environ({name: value})
    assert str(err.value).startswith(f"{name}={value!r} is not valid: expected {expected}")


def test_read_once_until_reloaded(monkeypatch):
    monkeypatch.setenv("WIRETRACE_WORKERS", "3")
    assert reload_settings().workers == 3
    monkeypatch.setenv("WIRETRACE_WORKERS", "5")
    assert settings().workers == 3  # kept for the life of the process ...
    assert settings() is settings()
    assert reload_settings().workers == 5  # ... until read again
    assert settings().workers == 5


def test_the_command_line_stops_on_a_bad_value(tmp_path):
    env = {
        **os.environ,
        "WIRETRACE_WORKERS": "many",
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    argv = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "run",
        "--input",
        str(tmp_path),
        "--warehouse",
        str(tmp_path / "wh"),
    ]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(
        "wiretrace: WIRETRACE_WORKERS='many' is not valid: expected a whole number >= 1"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "wh").exists()  # nothing ran


def test_every_setting_is_documented():
    for f in fields(Settings):
        assert f.metadata["env"].startswith("WIRETRACE_") and f.metadata["meaning"], f.name
    assert len(DECLARED) == len(fields(Settings))


def test_readme_table_is_generated_from_the_settings():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert config.render_readme(readme) == readme, "run `python -m pipeline.config` to regenerate it"
    table = readme.split(config.README_BEGIN, 1)[1].split(config.README_END, 1)[0]
    assert set(re.findall(r"^\| `(WIRETRACE_\w+)` \|", table, flags=re.M)) == DECLARED
    assert config.main(["--check", "--readme", str(REPO / "README.md")]) == 0


def test_the_readme_check_fails_when_the_table_is_stale(tmp_path, capsys):
    stale = tmp_path / "README.md"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    stale.write_text(readme.replace("| `WIRETRACE_WORKERS` |", "| `WIRETRACE_PROCESSES` |"), encoding="utf-8")
    assert config.main(["--check", "--readme", str(stale)]) == 1
    assert config.main(["--readme", str(stale)]) == 0  # rewrites it
    assert stale.read_text(encoding="utf-8") == readme


def _project_files() -> list[Path]:
    files = [*REPO.glob("pipeline/**/*.py"), *REPO.glob("tests/**/*.py"), *REPO.glob("notebooks/*.py")]
    return [p for p in files if ".ipynb_checkpoints" not in p.parts]


def _environ_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every read of a WIRETRACE_* variable: os.environ.get / os.getenv / os.environ[...]."""
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = ast.unparse(node.func)
            if func in ("os.environ.get", "environ.get", "os.getenv", "getenv"):
                name = node.args[0].value
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if ast.unparse(node.value) in ("os.environ", "environ") and isinstance(node.slice, ast.Constant):
                name = node.slice.value
        if isinstance(name, str) and name.startswith("WIRETRACE_"):
            found.append((node.lineno, name))
    return found


def test_no_module_reads_a_variable_itself():
    offenders = []
    for path in _project_files():
        for line, name in _environ_reads(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(REPO)}:{line} reads {name}")
    assert not offenders, "read settings through pipeline.config.settings():\n" + "\n".join(offenders)
    # the scanner itself finds a read
    assert _environ_reads(ast.parse('import os\nx = os.environ.get("WIRETRACE_X")')) == [(2, "WIRETRACE_X")]


def test_every_variable_named_anywhere_is_declared():
    texts = [p.read_text(encoding="utf-8") for p in _project_files()]
    texts += [(REPO / name).read_text(encoding="utf-8") for name in ("Makefile", "README.md")]
    named = {m for text in texts for m in re.findall(r"\bWIRETRACE_[A-Z_]*[A-Z]\b", text)}
    named -= {"WIRETRACE_X", "WIRETRACE_UNKNOWN", "WIRETRACE_PROCESSES"}  # this file's own examples
    assert named <= DECLARED, sorted(named - DECLARED)
