"""Typed attribute values: validation, canonical wire form, Python form and sort keys.

A typed value on the wire is ``{"S": "x"}``, ``{"N": "42"}``, ``{"B": "<base64>"}``,
``{"SS": [...]}``, ``{"NS": [...]}``, ``{"BS": [...]}`` or one of the nine map
types ``XYM`` (X = key type, Y = value type, each S, N or B) whose value is a JSON
object. The server keeps every value in one *canonical* wire form (numbers
normalised, sets de-duplicated and sorted, maps sorted by key, base64
re-encoded), so two typed values are equal exactly when their canonical wire
dicts are equal: conditions compare dicts, never strings of different spellings.

``key_bytes`` gives an order-preserving, self-delimiting byte encoding of a
scalar (S, N or B), used to build storage keys: byte order equals value order.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from magnetodb.errors import ValidationError

SCALAR_TYPES = frozenset(("S", "N", "B"))
SET_TYPES: dict[str, str] = {"SS": "S", "NS": "N", "BS": "B"}
MAP_TYPES: dict[str, tuple[str, str]] = {x + y + "M": (x, y) for x in "SNB" for y in "SNB"}
ALL_TYPES = frozenset(SCALAR_TYPES | SET_TYPES.keys() | MAP_TYPES.keys())

MAX_DIGITS = 38
MIN_EXP = -128
MAX_EXP = 126
MAX_NUMBER_CHARS = 200

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


# ---------------------------------------------------------------- numbers


def parse_number(raw: Any) -> Decimal:
    """A JSON int or numeric string as an exact Decimal within MagnetoDB's limits."""
    if type(raw) is int:
        d = Decimal(raw)
    elif type(raw) is str:
        if len(raw) > MAX_NUMBER_CHARS or not _NUMBER_RE.fullmatch(raw):
            raise ValidationError(f"Can't parse '{raw[:64]}' as a number")
        try:
            d = Decimal(raw)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
            raise ValidationError(f"Can't parse '{raw[:64]}' as a number") from exc
    else:
        raise ValidationError(f"Number value must be a string or an integer, not {_jtype(raw)}")
    if not d:
        return Decimal(0)
    sign, digits, exp = d.as_tuple()
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
        exp += 1  # type: ignore[operator]
    if n > MAX_DIGITS:
        raise ValidationError(f"Number has more than {MAX_DIGITS} significant digits")
    d = Decimal((sign, digits[:n], exp))
    if not MIN_EXP <= d.adjusted() <= MAX_EXP:
        raise ValidationError("Number is out of the supported range (1E-128 .. 9.9E+126)")
    return d


def number_str(d: Decimal) -> str:
    """Canonical text of a normalised Decimal: plain digits when short, else scientific."""
    if not d:
        return "0"
    sign, digits, exp = d.as_tuple()
    ds = "".join(map(str, digits))
    adjusted = len(ds) - 1 + exp  # type: ignore[operator]
    if exp >= 0:  # type: ignore[operator]
        s = ds + "0" * exp if adjusted < 40 else _sci(ds, adjusted)  # type: ignore[operator]
    else:
        point = len(ds) + exp  # type: ignore[operator]
        if point > 0:
            s = ds[:point] + "." + ds[point:]
        elif point > -20:
            s = "0." + "0" * (-point) + ds
        else:
            s = _sci(ds, adjusted)
    return "-" + s if sign else s


def _sci(ds: str, adjusted: int) -> str:
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    return f"{mant}E{adjusted:+d}"


def canon_number(raw: Any) -> str:
    """Canonical wire text of a number; fast path for plain integers."""
    if (
        type(raw) is str
        and raw.isascii()
        and raw.isdigit()
        and len(raw) <= MAX_DIGITS
        and (raw[0] != "0" or raw == "0")
    ):
        return raw
    return number_str(parse_number(raw))


def _num_py(s: str) -> int | Decimal:
    if "." in s or "E" in s:
        return Decimal(s)
    return int(s)


# ---------------------------------------------------------------- scalars


def _canon_s(raw: Any) -> str:
    if type(raw) is not str:
        raise ValidationError(f"String value must be a JSON string, not {_jtype(raw)}")
    return raw


def _canon_b(raw: Any) -> str:
    if type(raw) is not str:
        raise ValidationError(f"Binary value must be a base64 string, not {_jtype(raw)}")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"Can't decode '{raw[:64]}' as base64") from exc
    return base64.b64encode(data).decode("ascii")


_CANON_SCALAR = {"S": _canon_s, "N": canon_number, "B": _canon_b}


def _py_b(s: str) -> bytes:
    return base64.b64decode(s)


#: canonical wire scalar -> Python value (and sort key: str, int|Decimal, bytes all order correctly)
SCALAR_PY = {"S": str, "N": _num_py, "B": _py_b}


# ---------------------------------------------------------------- typed values


def parse_typed(value: Any, name: str = "") -> tuple[str, Any]:
    """Validate a wire typed value; return ``(type_code, canonical wire value)``."""
    if type(value) is not dict or len(value) != 1:
        raise ValidationError(f"Can't recognize attribute typed value format: '{as_json(value)}'")
    ((tc, raw),) = value.items()
    canon = _CANON_SCALAR.get(tc)
    if canon is not None:
        return tc, canon(raw)
    if tc in SET_TYPES:
        return tc, _canon_set(SET_TYPES[tc], raw)
    if tc in MAP_TYPES:
        return tc, _canon_map(*MAP_TYPES[tc], raw)
    raise ValidationError(f"Attribute type '{_short(tc)}' is not recognized")


def canonical(value: Any, name: str = "") -> dict[str, Any]:
    """The canonical wire form ``{tc: value}`` of a wire typed value."""
    tc, wire = parse_typed(value, name)
    return {tc: wire}


def _canon_set(elem: str, raw: Any) -> list[Any]:
    if type(raw) is not list:
        raise ValidationError(f"Set value must be a JSON array, not {_jtype(raw)}")
    canon, py = _CANON_SCALAR[elem], SCALAR_PY[elem]
    seen: dict[Any, str] = {}
    for item in raw:
        w = canon(item)
        seen[py(w)] = w
    return [seen[k] for k in sorted(seen)]


def _canon_map(kt: str, vt: str, raw: Any) -> dict[str, Any]:
    if type(raw) is not dict:
        raise ValidationError(f"Map value must be a JSON object, not {_jtype(raw)}")
    kc, vc, kpy = _CANON_SCALAR[kt], _CANON_SCALAR[vt], SCALAR_PY[kt]
    out: dict[Any, tuple[str, Any]] = {}
    for k, v in raw.items():
        wk = kc(k)
        out[kpy(wk)] = (wk, vc(v))
    return {out[k][0]: out[k][1] for k in sorted(out)}


def to_python(tc: str, wire: Any) -> Any:
    """Python value of a canonical wire value (set -> frozenset, map -> dict)."""
    conv = SCALAR_PY.get(tc)
    if conv is not None:
        return conv(wire)
    if tc in SET_TYPES:
        conv = SCALAR_PY[SET_TYPES[tc]]
        return frozenset(conv(x) for x in wire)
    kt, vt = MAP_TYPES[tc]
    kc, vc = SCALAR_PY[kt], SCALAR_PY[vt]
    return {kc(k): vc(v) for k, v in wire.items()}


# ---------------------------------------------------------------- Python -> wire (client helpers)


def _scalar_from_py(tc: str, value: Any) -> Any:
    if tc == "S":
        if not isinstance(value, str):
            raise TypeError(f"S needs str, got {type(value).__name__}")
        return value
    if tc == "N":
        if isinstance(value, bool):
            raise TypeError("N needs a number, got bool")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return canon_number(repr(value))
        if isinstance(value, Decimal):
            return canon_number(str(value))
        if isinstance(value, str):
            return canon_number(value)
        raise TypeError(f"N needs int or Decimal, got {type(value).__name__}")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"B needs bytes, got {type(value).__name__}")


def encode(value: Any, type_code: str) -> dict[str, Any]:
    """Python value -> wire typed value ``{type_code: ...}`` (canonical form)."""
    if type_code in SCALAR_TYPES:
        return {type_code: _scalar_from_py(type_code, value)}
    if type_code in SET_TYPES:
        return canonical({type_code: [_scalar_from_py(SET_TYPES[type_code], v) for v in value]})
    if type_code in MAP_TYPES:
        kt, vt = MAP_TYPES[type_code]
        wire = {_scalar_from_py(kt, k): _scalar_from_py(vt, v) for k, v in value.items()}
        return canonical({type_code: wire})
    raise ValueError(f"unknown type code {type_code!r}")


def decode(typed: Mapping[str, Any]) -> Any:
    """Wire typed value -> Python value (str, int|Decimal, bytes, frozenset, dict)."""
    ((tc, wire),) = typed.items()
    return to_python(tc, wire)


def infer_type(value: Any) -> str:
    """Type code for a Python value when the caller gave none."""
    scalar = _scalar_code(value)
    if scalar:
        return scalar
    if isinstance(value, (set, frozenset, list, tuple)):
        codes = {_scalar_code(v) for v in value}
        if len(codes) == 1 and None not in codes:
            return codes.pop() + "S"
        raise TypeError("cannot infer the type of an empty or mixed set")
    if isinstance(value, Mapping) and value:
        kcodes = {_scalar_code(k) for k in value}
        vcodes = {_scalar_code(v) for v in value.values()}
        if len(kcodes) == 1 == len(vcodes) and None not in kcodes | vcodes:
            return kcodes.pop() + vcodes.pop() + "M"
    raise TypeError(f"cannot infer a MagnetoDB type for {type(value).__name__}")


def _scalar_code(value: Any) -> str | None:
    if isinstance(value, str):
        return "S"
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        return "N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "B"
    return None


def encode_item(values: Mapping[str, Any], types: Mapping[str, str] | None = None) -> dict:
    """Python dict -> wire item; ``types`` names the type code per attribute (else inferred)."""
    types = types or {}
    return {
        name: encode(v, types.get(name) or infer_type(v))
        for name, v in values.items()
        if v is not None
    }


def decode_item(wire: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Wire item -> Python dict."""
    return {name: decode(tv) for name, tv in wire.items()}


# ---------------------------------------------------------------- order-preserving key bytes


def _esc(data: bytes) -> bytes:
    return data.replace(b"\x00", b"\x00\xff") + b"\x00\x01"


def prefix_bytes(tc: str, wire: str) -> bytes:
    """Escaped S/B body without terminator: every key starting with this value has it as prefix."""
    if tc == "S":
        return wire.encode("utf-8", "surrogatepass").replace(b"\x00", b"\x00\xff")
    return base64.b64decode(wire).replace(b"\x00", b"\x00\xff")


def key_bytes(tc: str, wire: str) -> bytes:
    """Order-preserving self-delimiting encoding of a canonical scalar."""
    if tc == "S":
        return _esc(wire.encode("utf-8", "surrogatepass"))
    if tc == "B":
        return _esc(base64.b64decode(wire))
    return number_key(Decimal(wire))


def number_key(d: Decimal) -> bytes:
    """Sign class, biased exponent, digits: negatives are the byte complement."""
    if not d:
        return b"\x02"
    sign, digits, _ = d.as_tuple()
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
    digits = digits[:n]
    body = (d.adjusted() + 0x8000).to_bytes(2, "big") + bytes(48 + x for x in digits)
    if sign:
        return b"\x01" + bytes(255 - b for b in body) + b"\xff"
    return b"\x03" + body + b"\x00"


def prefix_end(prefix: bytes) -> bytes:
    """Smallest byte string greater than every string starting with ``prefix``.

    Only a prefix holding a byte below 0xFF has one; storage keys always start
    with a kind byte and a table prefix, so every prefix built from them does.
    """
    p = prefix.rstrip(b"\xff")
    if not p:
        raise ValueError(f"no finite upper bound for keys starting with {prefix!r}")
    return p[:-1] + bytes((p[-1] + 1,))


# ---------------------------------------------------------------- helpers


def _jtype(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}.get(
        type(v), "object"
    )


def as_json(value: Any) -> str:
    """``value`` as MagnetoDB put request values into its messages: json.dumps, whose ", " and
    ": " separators and ASCII escapes Python 3 keeps (Python's repr if it is not JSON)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


def is_scalar(tc: str) -> bool:
    return tc in SCALAR_TYPES


def iter_typed(item: Mapping[str, Any]) -> Iterable[tuple[str, str, Any]]:
    """``(name, type_code, wire)`` for every attribute of a canonical item."""
    for name, tv in item.items():
        ((tc, wire),) = tv.items()
        yield name, tc, wire
