"""The package's shape: imports point down only.

The import graph is read from the source (every ``import`` statement, function-local ones included),
so a cycle hidden inside a function fails here even though Python would tolerate it at run time.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "photonzo"
LOWER_LAYERS = ("photonzo.photonics", "photonzo.training", "photonzo.pinn", "photonzo.data")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The photonzo modules ``path`` imports (a ``from X import Y`` counts Y when Y is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = ".".join(base[: len(base) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in known}
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_reader_sees_function_local_and_relative_imports(tmp_path):
    edges = graph()
    assert "photonzo.experiments.run" in edges["photonzo.cli"]  # imported inside a function
    assert "photonzo.photonics.layers" in edges["photonzo.photonics.network"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_is_acyclic():
    assert find_cycle(graph()) is None


def test_lower_layers_never_import_experiments_or_the_cli():
    for name, targets in graph().items():
        if name.startswith(LOWER_LAYERS):
            upward = sorted(t for t in targets if t.startswith(("photonzo.experiments", "photonzo.cli")))
            assert not upward, f"{name} imports {upward}"


def test_plots_read_results_never_the_sweep():
    edges = graph()
    assert "photonzo.experiments.results" in edges["photonzo.experiments.plots"]
    assert "photonzo.experiments.sweep" not in edges["photonzo.experiments.plots"]


def test_no_function_in_the_package_is_over_60_lines():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60:
                    long.append(
                        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({lines} lines)"
                    )
    assert not long, long


def test_the_public_api_resolves_lazily():
    import subprocess
    import sys

    import photonzo

    for name in photonzo.__all__:
        assert getattr(photonzo, name) is not None, name
    # a bare import pays for nothing it does not use
    code = "import sys, photonzo; assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
