"""The layer rule of ``core/``, read from the source: imports only point down, and nothing forms a cycle.

Each package of ``core`` has a rank (README, "Architecture"). A module may import modules of its
own package or of a lower rank, never a higher one; two packages of the same rank do not import
each other. Every ``import`` counts, also those inside functions, so a lazy import cannot hide a
cycle. Only the CLI (``core/__main__.py``, the top) imports lazily, to start fast.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"

#: package (or foundation module) -> rank; lower ranks are imported by higher ones.
LAYERS: dict[str, int] = {
    "names": 0,
    "errors": 0,
    "config": 0,
    "labels": 0,
    "store": 1,
    "api": 1,
    "flavors": 1,
    "registry": 2,
    "runtime": 3,
    "analysis": 4,
    "edge": 4,
    "online": 5,
    "plots": 5,
    "demo": 6,
    "serving": 7,
    "__main__": 8,
}
FOUNDATION = {"names", "errors", "config", "labels"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int, bool, list[str]]]:
    """``(module, line, inside a function, imported names)`` for each import of a ``core`` module."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, int, bool, list[str]]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function, []) for a in child.names if a.name.startswith("core"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("core"):
                names = [a.name for a in child.names]
                # ``from core import names`` imports the module core.names
                if child.module == "core":
                    found.extend(
                        (f"core.{n}", child.lineno, in_function, [])
                        for n in names
                        if (CORE / f"{n}.py").exists() or (CORE / n).is_dir()
                    )
                else:
                    found.append((child.module, child.lineno, in_function, names))
            visit(child, nested)

    visit(tree, False)
    return found


def _unit(module: str) -> str:
    """The layer unit of a module: ``core.runtime.handles`` -> ``runtime``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "core"


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in CORE.rglob("*.py"):
        module = _module_name(path)
        graph[module]
        for target, _, _, _ in _imports(path):
            if target != module:
                graph[module].add(target)
    return graph


def _resolve(target: str, modules: set[str]) -> str | None:
    """The module an import reaches (``from core.store import db`` names a module too)."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def test_every_package_has_a_layer() -> None:
    units = {_unit(_module_name(p)) for p in CORE.rglob("*.py")} - {"core"}
    assert units <= set(LAYERS), f"give these a rank in LAYERS: {sorted(units - set(LAYERS))}"


def test_imports_point_down() -> None:
    wrong = []
    for path in CORE.rglob("*.py"):
        module = _module_name(path)
        unit = _unit(module)
        if unit == "core":
            continue
        for target, line, _, _ in _imports(path):
            other = _unit(target)
            if other in ("core", unit):
                continue
            if LAYERS[other] > LAYERS[unit] or (LAYERS[other] == LAYERS[unit] and other not in FOUNDATION):
                wrong.append(f"{path.relative_to(ROOT)}:{line} {unit} (rank {LAYERS[unit]}) imports {target}")
    assert not wrong, "upward or sideways imports:\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = _graph()
    modules = set(graph)
    edges = {m: {r for t in targets if (r := _resolve(t, modules)) and r != m} for m, targets in graph.items()}
    # Package __init__ files are imported on the way to their modules; they hold no imports here.
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 1:
                cycles.append(" -> ".join([*stack[stack.index(n) :], n]))
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_function_level_imports_of_core_outside_the_cli() -> None:
    lazy = [
        f"{path.relative_to(ROOT)}:{line} imports {target} inside a function"
        for path in CORE.rglob("*.py")
        if path.name != "__main__.py"
        for target, line, in_function, _ in _imports(path)
        if in_function
    ]
    assert not lazy, "\n".join(lazy)


def test_no_private_names_imported_across_modules() -> None:
    private = [
        f"{path.relative_to(ROOT)}:{line} imports {name} from {target}"
        for folder in ("core", "dashboard", "pages")
        for path in (ROOT / folder).rglob("*.py")
        for target, line, _, names in _imports(path)
        for name in names
        if name.startswith("_") and name != "__version__"
    ]
    assert not private, "\n".join(private)


def test_core_never_imports_streamlit_or_dashboard() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {m}" for m in mods if m.split(".")[0] in ("streamlit", "dashboard")
            ]
    assert not offenders, offenders


@pytest.mark.parametrize("limit", [400])
def test_no_module_is_too_long(limit: int) -> None:
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in [*CORE.rglob("*.py"), *(ROOT / "dashboard").rglob("*.py"), *(ROOT / "pages").rglob("*.py")]
        if (n := len(p.read_text().splitlines())) > limit
    ]
    assert not long, "split these modules:\n" + "\n".join(long)


def test_service_app_is_wiring_only() -> None:
    assert len((CORE / "serving" / "app.py").read_text().splitlines()) < 150
