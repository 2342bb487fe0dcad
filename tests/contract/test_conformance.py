"""The backend conforms to the contract: every function exists, with Cinder's signature,
and the contract suite calls every one of them."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from cinderdb.api import FUNCTIONS, SIGNATURES

#: The seed's list of the DB API functions both backends implement (the design brief's copy).
DBAPI_LIST = Path(__file__).resolve().parents[2] / "docs" / "dbapi-functions.txt"


def _parameters(signature: inspect.Signature) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in signature.parameters.values()]


def test_every_function_has_the_contract_signature(api):
    for name in FUNCTIONS:
        method = getattr(type(api), name)
        implemented = inspect.signature(inspect.unwrap(method))
        assert _parameters(implemented) == _parameters(SIGNATURES[name]), name


def test_contract_lists_the_110_functions():
    assert len(FUNCTIONS) == 110
    assert set(DBAPI_LIST.read_text().split()) == set(FUNCTIONS)


def _called_on_api(path: Path) -> set[str]:
    called = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "api"
        ):
            called.add(node.func.attr)
    return called


def test_every_function_is_exercised_by_the_suite():
    called: set[str] = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        called |= _called_on_api(path)
    missing = sorted(set(FUNCTIONS) - called)
    assert not missing, f"no contract test calls: {missing}"
