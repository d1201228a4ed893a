"""Settings: every environment variable wiretrace reads, declared once, read once per process.

:class:`Settings` is a frozen dataclass with one field per ``WIRETRACE_*`` variable; each field carries
the variable's name, its default, its type (the field's annotation) and its meaning. Code reads a
setting through :func:`settings`::

    from pipeline.config import settings

    settings().clean_timeout  # seconds, from WIRETRACE_CLEAN_TIMEOUT or its default

The environment is read the first time :func:`settings` is called and the result is kept for the
life of the process. Only the Dagster layer reads it at import time: the sensor's interval and the
``wiretrace`` resource's default folders are fixed when the code location loads. A process started
later (a worker of the clean pool, ``wiretrace run`` in a subprocess) reads its own environment, which
it inherits.

Values are checked as they are read: a bad value raises :class:`SettingsError` naming the variable,
the value and what is expected (``WIRETRACE_WORKERS='two' is not valid: expected a whole number >= 1
...``); ``wiretrace`` prints it and exits with status 2. An empty value counts as unset.

Tests that change a variable re-read the environment: ``monkeypatch.setenv(...)`` then
:func:`reload_settings`; ``tests/conftest.py`` re-reads it before and after every test, so a test's change never
leaks into the next one. :meth:`Settings.from_environ` builds settings from any mapping, without
touching the process's own.

The README's "Configuration" table is generated from this class: ``python -m pipeline.config``
rewrites it, ``python -m pipeline.config --check`` fails when it is out of date (a test runs the check).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = [
    "Settings",
    "SettingsError",
    "settings",
    "reload_settings",
    "render_table",
    "default_landing",
    "default_warehouse",
]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A ``WIRETRACE_*`` variable holds a value that cannot be used."""


def _var(name: str, default, meaning: str, *, shown: str | None = None, choices=(), minimum=None):
    """A settings field read from the environment variable ``name``.

    ``shown``: the default as the README states it (when the value itself says little, e.g. None);
    ``choices``: the allowed values of a text setting; ``minimum``: the smallest allowed number."""
    return field(
        default=default,
        metadata={"env": name, "meaning": meaning, "shown": shown, "choices": tuple(choices), "min": minimum},
    )


@dataclass(frozen=True)
class Settings:
    """Every environment variable wiretrace reads, with its default and meaning (the README's table)."""

    landing: Path = _var(
        "WIRETRACE_LANDING",
        Path("data/raw"),
        "landing folder watched by the sensor, and the default `--input` of `wiretrace run` and "
        "`wiretrace forget`",
    )
    warehouse: Path = _var(
        "WIRETRACE_WAREHOUSE",
        Path("warehouse"),
        "folder of `work.duckdb` and `wiretrace.duckdb` (the default `--warehouse` of the commands)",
    )
    semantic: bool = _var(
        "WIRETRACE_SEMANTIC",
        True,
        "`0` skips the embedding tier (and the verifier); `1` uses it when the `semantic` extra is installed",
        shown="on when installed",
    )
    verifier: bool = _var(
        "WIRETRACE_VERIFIER",
        True,
        "`0` skips the cross-encoder paraphrase verifier (`pipeline/core/verifier.py`); it reads only the "
        "semantic tier's pairs that the cheap signals leave uncertain, with no cap",
        shown="on with the semantic tier",
    )
    symlinks: str = _var(
        "WIRETRACE_SYMLINKS",
        "inside",
        "symbolic links in the landing folder: followed when their target is inside it (`inside`), "
        "never (`never`) or always (`any`); a refused link is an error row",
        choices=("inside", "never", "any"),
    )
    clean_timeout: float = _var(
        "WIRETRACE_CLEAN_TIMEOUT",
        120.0,
        "seconds one document may take to clean; over it the document's clean status is `error` "
        "(`0`: no limit)",
        shown="120",
        minimum=0,
    )
    workers: int | None = _var(
        "WIRETRACE_WORKERS",
        None,
        "processes for the clean and segment stages (small inputs run in-process)",
        shown="the machine's cores",
        minimum=1,
    )
    duckdb_memory_mb: int = _var(
        "WIRETRACE_DUCKDB_MEMORY_MB",
        1024,
        "DuckDB's memory limit in MiB while a stage of a run reads and writes the working database "
        "(its cache of table blocks included); above it DuckDB spills to a temporary folder beside the "
        "database. The overlap stage lowers it to at most 256 once it has read its inputs (it only appends rows "
        "and looks up a few from then on)",
        minimum=64,
    )
    torch_threads: int = _var(
        "WIRETRACE_TORCH_THREADS",
        2,
        "CPU threads of the embedding model and the verifier",
        minimum=1,
    )
    static_model: Path | None = _var(
        "WIRETRACE_STATIC_MODEL",
        None,
        "the static sentence encoder's table, which finds the semantic tier's candidates (built by the "
        "install targets or `python -m pipeline.core.static_encoder build`; built on first use when absent)",
        shown="`wiretrace/minilm-static-v<recipe>-256d.bin` in `$XDG_CACHE_HOME` (`~/.cache`)",
    )
    sensor_interval: int = _var(
        "WIRETRACE_SENSOR_INTERVAL",
        30,
        "seconds between two looks of the landing sensor at the landing folder (read when the Dagster "
        "code location loads)",
        minimum=1,
    )
    db: Path | None = _var(
        "WIRETRACE_DB",
        None,
        "the published database the analysis notebook opens",
        shown="`../warehouse/wiretrace.duckdb` (from `notebooks/`)",
    )
    shared_data: Path | None = _var(
        "WIRETRACE_SHARED_DATA",
        None,
        "evaluation and benchmark data",
        shown="`../shared/data` beside the repository",
    )
    test_artifacts: Path | None = _var(
        "WIRETRACE_TEST_ARTIFACTS",
        None,
        "where the browser tests keep their screenshots",
        shown="`build/test-artifacts` in the repository",
    )

    @classmethod
    def variables(cls) -> list[tuple[str, str]]:
        """``(field name, environment variable)`` of every setting, in declaration order."""
        return [(f.name, f.metadata["env"]) for f in fields(cls)]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from ``environ`` (unset or empty variables keep their default); raises
        :class:`SettingsError` on the first value that cannot be used."""
        hints = typing.get_type_hints(cls)
        values = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"], "")
            if raw.strip():
                values[f.name] = _parse(f, hints[f.name], raw)
        return cls(**values)


def _expected(f, kind: type) -> str:
    meta = f.metadata
    if kind is bool:
        return "one of " + ", ".join(_TRUE + _FALSE)
    if meta["choices"]:
        return "one of " + ", ".join(meta["choices"])
    if kind is int:
        return "a whole number" + (f" >= {meta['min']}" if meta["min"] is not None else "")
    if kind is float:
        return "a number" + (f" >= {meta['min']}" if meta["min"] is not None else "")
    return "a path"


def _parse(f, hint, raw: str):
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    kind = args[0] if args else hint  # ``int | None`` is read as int
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        if kind is Path:
            return Path(raw)
        if kind is int:
            value = int(text)
        elif kind is float:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
        else:
            value = text
            if f.metadata["choices"] and value not in f.metadata["choices"]:
                raise ValueError
        if f.metadata["min"] is not None and value < f.metadata["min"]:
            raise ValueError
        return value
    except ValueError:
        raise SettingsError(
            f"{f.metadata['env']}={raw!r} is not valid: expected {_expected(f, kind)} "
            "(the README's Configuration table lists every setting)"
        ) from None


_lock = threading.Lock()
_current: Settings | None = None


def settings() -> Settings:
    """The process's settings: the environment is read on the first call, then kept."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = Settings.from_environ(os.environ)
    return _current


def reload_settings() -> Settings:
    """Read the environment again (tests that change a variable call this after setting it)."""
    global _current
    with _lock:
        _current = Settings.from_environ(os.environ)
    return _current


def default_landing() -> Path:
    return settings().landing


def default_warehouse() -> Path:
    return settings().warehouse


# ---------------------------------------------------------------------------------------- README table

README_BEGIN = "<!-- settings table: generated by `python -m pipeline.config` from pipeline/config.py -->"
README_END = "<!-- end of settings table -->"


def _shown_default(f) -> str:
    if f.metadata["shown"] is not None:
        shown = f.metadata["shown"]
        return shown if shown.startswith("`") or " " in shown else f"`{shown}`"
    default = f.default
    if isinstance(default, bool):
        return "on" if default else "off"
    return f"`{default}`"


def render_table() -> str:
    """The README's configuration table, one row per setting."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        lines.append(f"| `{f.metadata['env']}` | {_shown_default(f)} | {f.metadata['meaning']} |")
    return "\n".join(lines) + "\n"


def render_readme(readme: str) -> str:
    """``readme`` with the text between the settings markers replaced by :func:`render_table`."""
    if README_BEGIN not in readme or README_END not in readme:
        raise ValueError("the README has no settings markers")
    head, rest = readme.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_BEGIN}\n{render_table()}{README_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the README's configuration table from :class:`Settings` (``--check``: only compare)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.config", description=main.__doc__)
    parser.add_argument("--readme", default=str(Path(__file__).resolve().parents[1] / "README.md"))
    parser.add_argument("--check", action="store_true", help="exit 1 when the README is out of date")
    args = parser.parse_args(argv)
    path = Path(args.readme)
    text = path.read_text(encoding="utf-8")
    expected = render_readme(text)
    if args.check:
        if expected != text:
            print(
                f"{path}: the settings table is out of date; run python -m pipeline.config", file=sys.stderr
            )
            return 1
        return 0
    if expected != text:
        path.write_text(expected, encoding="utf-8")
        print(f"{path}: settings table rewritten")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
