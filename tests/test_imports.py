"""Which way dependencies point is visible at the top of each module: the project's own imports sit at
module level (never inside a function, where they would hide a cycle), the module import graph has no
cycle, and the heavy optional dependencies (torch and the model libraries of the semantic tier) are
loaded only inside functions, so the command line and the lexical pipeline never pay for them."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "pipeline"

#: the one place for heavy optional dependencies: loaded lazily, inside functions, by the semantic tier
#: (``pipeline.core.embed``, ``pipeline.core.verifier``) and by the evaluation script that trains the
#: verifier; nowhere at module level
HEAVY_OPTIONAL = {"torch", "transformers", "sentence_transformers", "peft", "safetensors"}
HEAVY_ALLOWED_IN = {"pipeline.core.embed", "pipeline.core.verifier", "pipeline.evaluation.verifier"}

#: project imports allowed inside a function: none
FUNCTION_LEVEL_ALLOWED: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The project modules an import statement loads (``from pipeline.core import tables`` loads the
    module ``pipeline.core.tables`` when it is one, else the package ``pipeline.core``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "pipeline"]
    if node.level:
        base = module.split(".") if _is_package(module) else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "pipeline":
        return []
    names = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    return names or [target]


def _in_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(module: str):
    """(import node, inside a function) for every import of the module, TYPE_CHECKING blocks skipped."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))

    def visit(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _in_type_checking(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from visit(child, inner)

    yield from visit(tree, False)


def test_the_project_imports_its_own_modules_at_module_level():
    offenders = []
    for module in MODULES:
        for node, in_function in _walk(module):
            for target in _imported(module, node):
                if in_function and (module, target) not in FUNCTION_LEVEL_ALLOWED:
                    offenders.append(f"{MODULES[module].relative_to(REPO)}:{node.lineno} imports {target}")
    assert offenders == [], "imports of the project inside functions:\n" + "\n".join(offenders)


def test_heavy_optional_dependencies_load_only_inside_functions_of_the_semantic_tier():
    offenders = []
    for module in MODULES:
        for node, in_function in _walk(module):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in HEAVY_OPTIONAL and not (in_function and module in HEAVY_ALLOWED_IN):
                    offenders.append(f"{MODULES[module].relative_to(REPO)}:{node.lineno} imports {name}")
    assert offenders == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for node, _ in _walk(module):
            for target in _imported(module, node):
                while target not in MODULES and "." in target:  # a name imported from a module
                    target = target.rsplit(".", 1)[0]
                if target in MODULES and target != module:
                    graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_the_module_import_graph_has_no_cycle():
    graph = _graph()
    # a package's __init__ runs before any of its modules: an edge into a package is an edge into it
    assert _cycles(graph) == []


def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_command_line_loads_no_model_library_before_a_command_runs():
    # the list of commands, and each command's parser (every module a command runs is imported)
    code = (
        "import sys\n"
        "from pipeline.cli import build_parser\n"
        "from pipeline.commands import COMMANDS\n"
        "build_parser([])\n"
        "for name in COMMANDS:\n"
        "    build_parser([name])\n"
        f"print(sorted(m for m in {sorted(HEAVY_OPTIONAL)!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
