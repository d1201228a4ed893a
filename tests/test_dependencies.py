"""Every package the code imports is declared in pyproject.toml: in the base dependencies, or in the
extra that the importing module's docstring names (``.[semantic]``, "the dev extra"); a package only
an extra provides is imported inside a function, so that a base install never needs it at import."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions

from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, set[str]]:
    """Distribution names by group: ``""`` for the base dependencies, else the extra's name."""
    groups = {"": PYPROJECT["dependencies"], **PYPROJECT["optional-dependencies"]}
    return {
        group: {_norm(re.match(r"[A-Za-z0-9._-]+", req).group(0)) for req in reqs}
        for group, reqs in groups.items()
    }


def third_party_imports(tree: ast.Module) -> list[tuple[str, int, bool]]:
    """(top-level module, line, at module level) of every absolute import that is neither the standard
    library nor the project's own."""
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top != "pipeline":
                out.append((top, node.lineno, id(node) not in in_function))
    return out


@cache
def _providers() -> dict[str, list[str]]:
    return packages_distributions()


def distributions(module: str) -> set[str]:
    """The distributions that provide an importable top-level module (its own name when not installed)."""
    return {_norm(d) for d in _providers().get(module, [])} or {_norm(module)}


def names_extra(docstring: str, extra: str) -> bool:
    e = re.escape(extra)
    return bool(re.search(rf"\[{e}[\],]|\b{e}`? extras?\b|\bextras? `?{e}\b", docstring))


def test_every_imported_package_is_declared():
    groups = declared()
    problems = []
    seen = set()
    for path in sorted(REPO.glob("pipeline/**/*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree) or ""
        rel = path.relative_to(REPO)
        for module, line, top_level in third_party_imports(tree):
            seen.add(module)
            dists = distributions(module)
            if dists & groups[""]:
                continue
            extras = sorted(g for g, names in groups.items() if g and dists & names)
            if not extras:
                problems.append(f"{rel}:{line}: {module} is in no dependency of pyproject.toml")
            elif not any(names_extra(doc, e) for e in extras):
                problems.append(
                    f"{rel}:{line}: {module} comes with the extra {extras}; the docstring must say so"
                )
            elif top_level and rel.parts[1] != "evaluation":
                problems.append(f"{rel}:{line}: {module} (extra {extras}) imported at module level")
    assert not problems, "\n".join(problems)
    # the scan sees what the pipeline runs on, base and optional
    assert {"polars", "duckdb", "dagster", "scipy", "trafilatura", "torch", "dateutil"} <= seen


def test_the_checks_catch_what_they_are_for():
    tree = ast.parse(
        "import os\nimport numpy as np\nfrom pipeline.core import x\ndef f():\n    import torch\n"
    )
    assert third_party_imports(tree) == [("numpy", 2, True), ("torch", 5, False)]
    assert distributions("dateutil") == {"python-dateutil"}  # import name and distribution differ
    assert "scipy" in declared()[""] and "torch" in declared()["semantic"] and "torch" not in declared()[""]
    assert names_extra('pip install -e ".[semantic]"', "semantic")
    assert names_extra("It needs the semantic extra.", "semantic")
    assert names_extra("the compared segmenters come with the `dev` extra", "dev")
    assert not names_extra("semantic tier", "semantic") and not names_extra("developer", "dev")
