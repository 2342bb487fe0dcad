"""The data model, pure: table schema, conditions and update actions (no I/O).

Items here are *canonical wire items*: ``{name: {type_code: canonical wire value}}``
(see :mod:`magnetodb.typed`), so typed equality is plain ``==``.
"""

from __future__ import annotations

import base64
import sys
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, Overflow, Underflow
from typing import Any

from magnetodb import typed
from magnetodb.errors import InvalidQueryParameter, ValidationError

Item = dict[str, dict[str, Any]]

TABLE_STATUSES = ("CREATING", "ACTIVE", "DELETING", "CREATE_FAILED", "DELETE_FAILED")
PROJECTION_TYPES = ("ALL", "KEYS_ONLY", "INCLUDE")


@dataclass(frozen=True)
class IndexDef:
    """A local secondary index: same hash key as the table, another range attribute."""

    name: str
    range_key: str
    ordinal: int
    projection_type: str = "ALL"
    non_key_attributes: tuple[str, ...] | None = None


@dataclass
class TableSchema:
    """Declared attribute types, the key and the local secondary indexes."""

    attribute_types: dict[str, str]
    hash_key: str
    range_key: str | None = None
    indexes: dict[str, IndexDef] = field(default_factory=dict)

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "attribute_types": self.attribute_types,
            "hash_key": self.hash_key,
            "range_key": self.range_key,
            "indexes": [
                [i.name, i.range_key, i.ordinal, i.projection_type, i.non_key_attributes]
                for i in self.indexes.values()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSchema:
        indexes = {
            row[0]: IndexDef(row[0], row[1], row[2], row[3], tuple(row[4]) if row[4] else row[4])
            for row in data["indexes"]
        }
        return cls(dict(data["attribute_types"]), data["hash_key"], data["range_key"], indexes)

    def projected(self, index: IndexDef) -> frozenset[str] | None:
        """Attribute names an index projects (None = all)."""
        if index.projection_type == "ALL":
            return None
        names = {self.hash_key, index.range_key}
        if self.range_key:
            names.add(self.range_key)
        return frozenset(names | set(index.non_key_attributes or ()))


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Condition:
    """A comparison (key condition, scan filter) with canonical typed arguments."""

    op: str
    args: tuple[tuple[str, Any], ...]  # ((type_code, canonical wire), ...)


#: MagnetoDB's condition classes (storage/models.py): operator -> (fewest, most arguments).
#: Key conditions are IndexedConditions and scan filters ScanConditions; BEGINS_WITH and
#: BETWEEN are read as a GE (and an LE) condition of the class, as MagnetoDB's parser read them.
CONDITION_CLASSES: dict[str, dict[str, tuple[int, int]]] = {
    "IndexedCondition": dict.fromkeys(("EQ", "LT", "LE", "GT", "GE"), (1, 1)),
    "ScanCondition": {
        **dict.fromkeys(("EQ", "LT", "LE", "GT", "GE", "CONTAINS", "NOT_CONTAINS", "NE"), (1, 1)),
        "IN": (1, sys.maxsize),
        "NOT_NULL": (0, 0),
        "NULL": (0, 0),
    },
}
#: the operators of each class whose arguments must be scalars
PRIMITIVE_ONLY: dict[str, frozenset[str]] = {
    "IndexedCondition": frozenset(("EQ", "LT", "LE", "GT", "GE")),
    "ScanCondition": frozenset(("LT", "LE", "GT", "GE", "IN", "CONTAINS", "NOT_CONTAINS")),
}


def matches(tv: dict[str, Any] | None, cond: Condition) -> bool:
    """Does one attribute value (None = absent) satisfy a condition?"""
    op = cond.op
    if op == "NULL":
        return tv is None
    if op == "NOT_NULL":
        return tv is not None
    if op == "NE":
        return not _matches_present(tv, "EQ", cond.args)
    if op == "NOT_CONTAINS":
        return not _matches_present(tv, "CONTAINS", cond.args)
    return _matches_present(tv, op, cond.args)


def _matches_present(tv: dict[str, Any] | None, op: str, args: tuple) -> bool:
    if tv is None:
        return False
    ((tc, wire),) = tv.items()
    if op == "EQ":
        atc, awire = args[0]
        return tc == atc and wire == awire
    if op == "IN":
        return any(tc == atc and wire == awire for atc, awire in args)
    if op == "CONTAINS":
        atc, awire = args[0]
        if tc == atc and tc in ("S", "B"):
            return typed.SCALAR_PY[tc](awire) in typed.SCALAR_PY[tc](wire)
        if typed.SET_TYPES.get(tc) == atc:
            return awire in wire
        if tc in typed.MAP_TYPES and typed.MAP_TYPES[tc][0] == atc:
            return awire in wire
        return False
    # ordered comparisons: scalar of the same type only
    atc, awire = args[0]
    if tc != atc or tc not in typed.SCALAR_TYPES:
        return False
    conv = typed.SCALAR_PY[tc]
    value, arg = conv(wire), conv(awire)
    if op == "LT":
        return value < arg
    if op == "LE":
        return value <= arg
    if op == "GT":
        return value > arg
    if op == "GE":
        return value >= arg
    if op == "BETWEEN":
        btc, bwire = args[1]
        return btc == tc and arg <= value <= conv(bwire)
    if op == "BEGINS_WITH":
        return tc in ("S", "B") and value.startswith(arg)
    raise ValidationError(f"Unsupported comparison operator '{op}'")


def item_matches(item: Item, conditions: dict[str, Condition]) -> bool:
    return all(matches(item.get(name), cond) for name, cond in conditions.items())


# ---------------------------------------------------------------- expected (conditional writes)


@dataclass(frozen=True)
class Expected:
    """One ``expected`` entry: ``exists`` true/false, or equality with ``value``."""

    exists: bool | None = None
    value: dict[str, Any] | None = None


def check_expected(item: Item | None, expected: dict[str, Expected] | None) -> bool:
    """True when every expectation holds against the current item (None = no item)."""
    if not expected:
        return True
    for name, exp in expected.items():
        current = item.get(name) if item is not None else None
        if exp.value is not None:
            if current != exp.value:
                return False
        elif exp.exists:
            if current is None:
                return False
        elif current is not None:
            return False
    return True


# ---------------------------------------------------------------- update actions


@dataclass(frozen=True)
class UpdateAction:
    action: str  # PUT | ADD | DELETE
    value: dict[str, Any] | None = None


_ADD_CTX = Context(prec=typed.MAX_DIGITS, Emin=typed.MIN_EXP, Emax=typed.MAX_EXP)
_ADD_CTX.traps[Inexact] = True
_ADD_CTX.traps[Overflow] = True
_ADD_CTX.traps[Underflow] = True


def add_numbers(a: str, b: str) -> str:
    try:
        total = _ADD_CTX.add(Decimal(a), Decimal(b))
    except (Inexact, Overflow, Underflow) as exc:
        raise ValidationError("Number overflow: the sum needs more than 38 digits") from exc
    return typed.number_str(typed.parse_number(str(total)))


def apply_updates(key: Item, old: Item | None, updates: dict[str, UpdateAction]) -> Item | None:
    """The new item after the actions, or None when nothing is to be written.

    On a missing item, ADD sets the value and DELETE does nothing; if there are
    only DELETE actions, no item is created.
    """
    if old is None:
        if all(u.action == "DELETE" for u in updates.values()):
            return None
        new: Item = dict(key)
    else:
        new = dict(old)
    for name, upd in updates.items():
        cur = new.get(name)
        if upd.action == "PUT":
            new[name] = upd.value  # type: ignore[assignment]
        elif upd.action == "ADD":
            new[name] = _add(name, cur, upd.value)  # type: ignore[arg-type]
        else:
            result = _delete(name, cur, upd.value)
            if result is None:
                new.pop(name, None)
            else:
                new[name] = result
    return new


def _add(name: str, cur: dict[str, Any] | None, value: dict[str, Any]) -> dict[str, Any]:
    ((tc, wire),) = value.items()
    if tc in ("S", "B"):
        raise InvalidQueryParameter("ADD allows collections or numbers only")
    if cur is None:
        return value
    ((ctc, cwire),) = cur.items()
    if ctc != tc:
        raise InvalidQueryParameter(f"Wrong type for {name}")
    if tc == "N":
        return {"N": add_numbers(cwire, wire)}
    if tc in typed.SET_TYPES:
        return typed.canonical({tc: list(cwire) + list(wire)})
    merged = dict(cwire)
    merged.update(wire)
    return typed.canonical({tc: merged})


def _delete(
    name: str, cur: dict[str, Any] | None, value: dict[str, Any] | None
) -> dict[str, Any] | None:
    """What DELETE leaves of ``cur``: MagnetoDB's driver removed a scalar attribute whatever
    the value, and took a set's (a map's) elements (keys) out of a set or map."""
    if value is None or cur is None:
        return None
    ((tc, wire),) = value.items()
    ((ctc, cwire),) = cur.items()
    if ctc in typed.SCALAR_TYPES:
        return None
    if ctc in typed.SET_TYPES and tc == ctc:
        drop = set(wire)
        rest = [x for x in cwire if x not in drop]
    elif ctc in typed.MAP_TYPES and typed.SET_TYPES.get(tc) == typed.MAP_TYPES[ctc][0]:
        drop = set(wire)
        rest = {k: v for k, v in cwire.items() if k not in drop}  # type: ignore[assignment]
    else:
        raise InvalidQueryParameter(f"Wrong type for {name}")
    return {ctc: rest} if rest else None


def updated_values(names: set[str] | dict, item: Item | None) -> Item:
    """The attributes of ``item`` named in ``names`` (for UPDATED_OLD / UPDATED_NEW)."""
    if not item:
        return {}
    return {n: item[n] for n in names if n in item}


def project(item: Item, names: list[str] | frozenset[str] | None) -> Item:
    if names is None:
        return item
    if isinstance(names, frozenset):
        return {k: v for k, v in item.items() if k in names}
    return {n: item[n] for n in names if n in item}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
