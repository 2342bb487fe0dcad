"""Where things go, checked from the code: no backend switch outside the registry, one
naming rule for subcommands, test helpers in helper modules.

Each rule reads the source (``ast``), so a new module is held to it without a list to
keep up to date.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The floors above the backends: they ask a backend (its ``side``, ``features_for(url)``,
#: ``embedded_store``...) and never switch on a URL scheme or engine name.
ABOVE_THE_BACKENDS = ("bench", "validators", "reports", "workloads", "cinderbench")

#: Engine and scheme names: a comparison with one of them is a switch on the backend kind.
ENGINE_NAMES = frozenset(
    {"sqlite", "mysql", "mysql+pymysql", "pymysql", "mariadb", "magnetodb+inproc", "inproc"}
)
#: Attributes and calls that read a URL's scheme or an engine's name.
KIND_READERS = frozenset({"scheme", "dialect", "drivername", "get_backend_name", "get_dialect"})

#: Places that may compare an engine name, and why.
ALLOWED = {
    # The SQL side's counter probe counts the driver's round trips: PyMySQL sends an
    # executemany INSERT as one statement. It is the SQL side's extension (PROBES).
    ("bench/measure/sql_counters.py", "mysql"),
    ("bench/measure/sql_counters.py", "dialect"),
}


def _names_in(node: ast.AST) -> set[str]:
    """The string constants and attribute/call names an expression reads."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.add(child.value)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def backend_switches(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line what`` for each comparison with an engine name or a URL's scheme, and
    each ``hasattr`` (duck typing) in ``path`` (named relative to ``root``)."""
    relative = str(path.relative_to(root))
    found = []
    for node in ast.walk(ast.parse(path.read_text(), relative)):
        if isinstance(node, ast.Compare):
            names = _names_in(node)
            hits = sorted((names & ENGINE_NAMES) | (names & KIND_READERS))
            hits = [hit for hit in hits if (relative, hit) not in ALLOWED]
            if hits:
                found.append(f"{relative}:{node.lineno} compares {', '.join(hits)}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hasattr":
            found.append(f"{relative}:{node.lineno} hasattr (ask the backend, not its shape)")
    return found


def test_no_backend_switch_above_the_backends():
    found = [
        switch
        for top in ABOVE_THE_BACKENDS
        for path in sorted((ROOT / top).rglob("*.py"))
        for switch in backend_switches(path)
    ]
    assert found == []


def test_a_switch_is_found(tmp_path):
    # The scan can fail: each kind of switch it looks for is reported.
    sample = tmp_path / "sample.py"
    sample.write_text(
        'def f(url, api, engine, b):\n    if url.split(":")[0] == "sqlite":\n        return 1\n'
        '    if api.scheme == "magnetodb":\n        return 2\n'
        '    if engine in ("mysql", "x"):\n        return 3\n'
        '    return hasattr(b, "client")\n'
    )
    assert [line.split(" ", 1)[0] for line in backend_switches(sample, tmp_path)] == [
        "sample.py:2",
        "sample.py:4",
        "sample.py:6",
        "sample.py:8",
    ]


def test_subcommands_follow_one_naming_rule():
    # ``cinderbench NAME`` is cinderbench/NAME.py (or a package), ``cinderbench bench NAME``
    # is cinderbench/bench/NAME.py (dashes as underscores); the MagnetoDB service owns its
    # command (magnetodb/cli.py) so that it runs without the harness.
    from cinderbench import COMMANDS
    from cinderbench.bench import BENCHMARKS

    for name, module in COMMANDS.items():
        expected = "magnetodb.cli" if name == "magnetodb" else f"cinderbench.{name}"
        assert module == expected
        assert callable(importlib.import_module(module).register), module
    for name, module in BENCHMARKS.items():
        assert module == f"cinderbench.bench.{name.replace('-', '_')}"
        assert callable(importlib.import_module(module).main), module
    on_disk = {
        p.stem
        for p in (ROOT / "cinderbench").iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists()) and not p.name.startswith("_")
    }
    helpers = {"checks", "options"}  # what the commands share: no subcommand
    assert on_disk - helpers == set(COMMANDS) - {"magnetodb"}


def _test_imports(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
    return [module for module in modules if module.startswith("tests")]


@pytest.mark.parametrize("kind", ["conftest", "test module"])
def test_tests_import_helpers_only_from_helper_modules(kind):
    # Fixtures come from conftest files by pytest's own lookup; what a test imports lives in
    # a helper module, never in a conftest file or another test module.
    bad = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for module in _test_imports(path):
            last = module.rsplit(".", 1)[-1]
            if (kind == "conftest" and last == "conftest") or (
                kind == "test module" and last.startswith("test_")
            ):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert bad == []


def test_tests_assert_literal_exit_codes():
    # A test that compares an exit code with the module's own constant cannot fail when the
    # constant is wrong: the literal code is the contract.
    found = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                names = {
                    getattr(side, "attr", None) or getattr(side, "id", None)
                    for side in (node.left, *node.comparators)
                }
                if any(name and name.startswith("EXIT") for name in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
