"""The architecture as the README draws it, computed from the code's own imports.

Floors, bottom up: ``magnetodb``; ``cinderdb``; the bench library
(``bench/measure``, ``bench/workload``, ``bench/drive``, ``bench/gate``,
``bench/locks.py``); ``validators`` and ``reports``; ``cinderbench`` (the
commands) and ``workloads``. A module imports only from its own floor and the
floors below, and no modules import each other in a circle.

Every import counts: at module level, inside functions, under
``TYPE_CHECKING``, and a string naming an in-tree module (``"pkg.mod"`` or
``"pkg.mod:Name"``, as ``importlib`` registries hold them), so an upward
dependency cannot hide in a lazy import or a string.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Module-name prefixes and their floor; the longest matching prefix wins.
FLOORS: dict[str, int] = {
    "magnetodb": 1,
    "cinderdb": 2,
    "bench": 3,
    "validators": 4,
    "reports": 4,
    "cinderbench": 5,
    "workloads": 5,
}

_MODULE_STRING = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+(:[A-Za-z_]\w*)?$")


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def module_files() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    found: dict[str, Path] = {}
    for top in FLOORS:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def floor_of(module: str) -> int:
    return FLOORS[module.split(".", 1)[0]]


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The in-tree module ``name`` loads: itself, or the package that defines it."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _names_a_module(value: object, modules: dict[str, Path]) -> bool:
    """Is ``value`` a string naming a whole in-tree module (``"pkg.mod"``, ``"pkg.mod:Name"``)?"""
    return (
        isinstance(value, str)
        and bool(_MODULE_STRING.match(value))
        and value.split(":", 1)[0] in modules
    )


def imports_of(module: str, modules: dict[str, Path]) -> list[Import]:
    """The in-tree modules ``module`` imports, with the line."""
    path = modules[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def add(name: str, node: ast.AST) -> None:
        target = _resolve(name, modules)
        if target and target != module:
            found.append(Import(module, target, node.lineno))

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:
                # ``from pkg import mod`` loads pkg.mod when it is a module, else pkg.
                add(f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin,
                    node)  # fmt: skip
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger":
            return  # a logger's name ("magnetodb.client") is no import
        elif isinstance(node, ast.Constant) and _names_a_module(node.value, modules):
            add(node.value.split(":", 1)[0], node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> list[Import]:
    modules = module_files()
    return [edge for module in modules for edge in imports_of(module, modules)]


def upward_imports(edges: list[Import]) -> list[Import]:
    return [e for e in edges if floor_of(e.target) > floor_of(e.source)]


def circles(edges: list[Import]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


@pytest.fixture(scope="module")
def edges() -> list[Import]:
    return import_graph()


def test_every_package_module_has_a_floor():
    on_disk = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests"}
    assert on_disk == set(FLOORS), "a new top-level package needs its floor in FLOORS"


def test_the_graph_sees_lazy_and_string_imports(edges):
    # The reader itself: a registry string and a function-level import are edges.
    pairs = {(e.source, e.target) for e in edges}
    assert ("cinderdb", "cinderdb.sql.backend") in pairs  # BACKENDS' "module:Class"
    assert ("magnetodb.server.handlers", "magnetodb.storage.tables") in pairs  # TYPE_CHECKING
    assert ("magnetodb.client.api", "magnetodb.server.app") in pairs  # in a function


def test_no_module_imports_from_a_higher_floor(edges):
    upward = [
        f"{modules_path(e.source)}:{e.line} imports {e.target} (floor {floor_of(e.source)} -> "
        f"{floor_of(e.target)})"
        for e in upward_imports(edges)
    ]
    assert upward == []


def test_no_circle(edges):
    # imports under TYPE_CHECKING included: a type checker follows them
    assert circles(edges) == []


def test_no_circle_between_top_level_packages(edges):
    # Packages on one floor may import each other one way only (cinderbench -> workloads).
    packages = [
        Import(e.source.split(".")[0], e.target.split(".")[0], e.line)
        for e in edges
        if e.source.split(".")[0] != e.target.split(".")[0]
    ]
    assert circles(packages) == []


def test_a_detected_violation_is_reported():
    # The checks can fail: an upward edge and a two-module circle are found.
    fake = [
        Import("bench.drive.job", "validators.offline", 1),
        Import("validators.offline", "bench.drive.job", 2),
    ]
    assert upward_imports(fake) == [fake[0]]
    assert circles(fake) == [frozenset({"bench.drive.job", "validators.offline"})]


def modules_path(module: str) -> str:
    return str(module_files()[module].relative_to(ROOT))
