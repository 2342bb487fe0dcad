"""Typed values: validation, canonical form, Python round trip and order-preserving keys."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magnetodb import typed
from magnetodb.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("42", "42"),
        (42, "42"),
        ("-0", "0"),
        ("0.0", "0"),
        ("1.50", "1.5"),
        ("007", "7"),
        ("1e3", "1000"),
        ("-1.25E-2", "-0.0125"),
        ("1E+100", "1E+100"),
        ("1E-100", "1E-100"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
    ],
)
def test_numbers_are_canonical(raw: object, canon: str) -> None:
    assert typed.canonical({"N": raw}) == {"N": canon}


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "1.5.5",
        "NaN",
        "Infinity",
        "1_000",
        " 1",
        1.5,
        True,
        None,
        "1E+200",
        "1E-200",
        "123456789012345678901234567890123456789",
    ],
)
def test_bad_numbers_are_rejected(raw: object) -> None:
    with pytest.raises(ValidationError):
        typed.canonical({"N": raw})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "Can't recognize attribute typed value format"),
        ({"S": "a", "N": "1"}, "Can't recognize attribute typed value format"),
        ("x", "Can't recognize attribute typed value format"),
        ({"KK": "x"}, "Attribute type 'KK' is not recognized"),
        ({"S": 1}, "String value"),
        ({"B": "not base64!"}, "base64"),
        ({"SS": "a"}, "JSON array"),
        ({"SNM": []}, "JSON object"),
        ({"NSM": {"x": "a"}}, "number"),
    ],
)
def test_bad_typed_values(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        typed.parse_typed(value)


def test_sets_are_deduplicated_and_sorted() -> None:
    assert typed.canonical({"SS": ["b", "a", "b"]}) == {"SS": ["a", "b"]}
    assert typed.canonical({"NS": ["10", "9", "1.0", 1]}) == {"NS": ["1", "9", "10"]}
    assert typed.canonical({"SS": []}) == {"SS": []}
    b = [base64.b64encode(x).decode() for x in (b"\x02", b"\x01", b"\x01")]
    assert typed.canonical({"BS": b}) == {"BS": [b[1], b[0]]}


def test_all_nine_map_types() -> None:
    vals = {"S": "x", "N": "5", "B": base64.b64encode(b"k").decode()}
    for x in "SNB":
        for y in "SNB":
            tc = x + y + "M"
            wire = {vals[x]: vals[y]}
            assert typed.canonical({tc: wire}) == {tc: wire}
            assert typed.encode(typed.decode({tc: wire}), tc) == {tc: wire}
    assert typed.canonical({"NSM": {"1.0": "a", "01": "b"}}) == {"NSM": {"1": "b"}}


def test_python_round_trip_helpers() -> None:
    values = {
        "s": "x",
        "n": 5,
        "d": Decimal("2.5"),
        "b": b"\x00\x01",
        "ss": {"a", "b"},
        "ns": frozenset({1, 2}),
        "m": {"k": "v"},
        "nm": {"k": 1},
    }
    wire = typed.encode_item(values)
    assert wire["n"] == {"N": "5"}
    assert wire["ss"] == {"SS": ["a", "b"]}
    assert wire["nm"] == {"SNM": {"k": "1"}}
    back = typed.decode_item(wire)
    assert back == {**values, "ss": frozenset({"a", "b"})}
    with pytest.raises(TypeError):
        typed.encode_item({"x": 1}, {"x": "S"})
    with pytest.raises(TypeError):
        typed.encode(True, "N")


@given(
    st.lists(
        st.integers(-(10**30), 10**30)
        | st.decimals(min_value=-(10**20), max_value=10**20, allow_nan=False, places=6),
        min_size=2,
        max_size=30,
    )
)
def test_number_keys_preserve_order(values: list[Decimal]) -> None:
    wires = [typed.canon_number(str(v)) for v in values]
    by_key = sorted(wires, key=lambda w: typed.key_bytes("N", w))
    by_value = sorted(wires, key=Decimal)
    assert [Decimal(w) for w in by_key] == [Decimal(w) for w in by_value]


@given(st.lists(st.text(), min_size=2, max_size=30))
def test_string_keys_preserve_order(values: list[str]) -> None:
    values = [v for v in values if not any(0xD800 <= ord(c) <= 0xDFFF for c in v)]
    assert sorted(values, key=lambda v: typed.key_bytes("S", v)) == sorted(values)


@given(st.text(max_size=5), st.text(max_size=5))
def test_string_keys_are_self_delimiting(a: str, b: str) -> None:
    """Composite (hash, range) keys order by hash first, whatever the range."""
    ka = typed.key_bytes("S", a) + typed.key_bytes("S", "\uffff")
    kb = typed.key_bytes("S", b) + typed.key_bytes("S", "")
    if a < b:
        assert ka < kb


@given(st.binary(max_size=8), st.binary(max_size=8))
def test_begins_with_prefix_is_exact(p: bytes, s: bytes) -> None:
    """BEGINS_WITH p covers exactly the values starting with p (anomaly 2 fixed)."""
    wire_p, wire_s = base64.b64encode(p).decode(), base64.b64encode(s).decode()
    base = b"i" + bytes(16)  # storage keys start with a kind byte and a table prefix
    lo = base + typed.prefix_bytes("B", wire_p)
    hi = typed.prefix_end(lo)
    k = base + typed.key_bytes("B", wire_s)
    assert (lo <= k < hi) == s.startswith(p)


def test_prefix_end_refuses_a_prefix_with_no_upper_bound() -> None:
    with pytest.raises(ValueError, match="no finite upper bound"):
        typed.prefix_end(b"\xff\xff")
    assert typed.prefix_end(b"i\xff") == b"j"
