"""The overlap package's structure: one module per step, the project's imports at module top (so the
direction of every dependency is visible) and no import cycle between the steps."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pipeline.core.overlap as overlap

PACKAGE = Path(overlap.__file__).parent
PREFIX = "pipeline.core.overlap."


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.glob("*.py"))}


def _project_imports(node: ast.AST) -> list[str]:
    names = []
    for n in ast.walk(node):
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            names.append(n.module)
        elif isinstance(n, ast.Import):
            names.extend(a.name for a in n.names)
    return [m for m in names if m == "pipeline" or m.startswith("pipeline.")]


def test_project_imports_sit_at_module_top():
    inside = []
    for name, tree in _modules().items():
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inside += [f"{name}.{fn.name}: {m}" for m in _project_imports(fn)]
    assert inside == []


def test_steps_import_no_cycle():
    graph = {}
    for name, tree in _modules().items():
        deps = {m[len(PREFIX) :] for m in _project_imports(tree) if m.startswith(PREFIX)}
        graph[name] = deps
    assert "run" in graph and "__init__" in graph
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the message names the cycle
        raise AssertionError(f"import cycle in pipeline.core.overlap: {exc.args[1]}") from exc
    # the orchestrator comes after every step it lists, the package face after the orchestrator
    assert order.index("run") > max(order.index(m) for m in graph["run"])
    assert order[-1] == "__init__"


def test_public_names_are_reexported():
    for name in overlap.__all__:
        assert getattr(overlap, name) is not None
    assert overlap.compute_overlap.__module__ == "pipeline.core.overlap.run"
