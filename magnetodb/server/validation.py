"""Pure functions from request JSON to typed request objects; they raise ValidationError.

Nothing here touches storage or HTTP. Messages follow MagnetoDB's where tempest
asserts them ("Unexpected properties were found for 'body': ...", "Required
property 'x' wasn't found or it's value is null", "Wrong attribute name '' found",
"Return values type 'x' isn't allowed", ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from magnetodb import typed
from magnetodb.errors import ValidationError
from magnetodb.model import (
    KEY_OPS,
    PROJECTION_TYPES,
    SCALAR_ARG_OPS,
    SCAN_OPS,
    Condition,
    Expected,
    IndexDef,
    Item,
    TableSchema,
    UpdateAction,
)

TABLE_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
ATTR_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{1,255}")
PROJECT_RE = re.compile(r"[a-zA-Z0-9_-]{1,255}")
SELECT_TYPES = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")
MAX_LSI = 255
MAX_TOTAL_SEGMENTS = 4096
MAX_LIMIT = 1 << 31


# ---------------------------------------------------------------- primitives


def obj(value: Any, where: str, allowed: frozenset[str], required: tuple[str, ...] = ()) -> dict:
    """A JSON object with only ``allowed`` keys and every ``required`` key non-null."""
    if type(value) is not dict:
        raise ValidationError(f"'{where}' must be a JSON object")
    extra = value.keys() - allowed
    if extra:
        shown = {k: value[k] for k in sorted(extra)[:10]}
        raise ValidationError(f"Unexpected properties were found for '{where}': {shown}")
    for name in required:
        if value.get(name) is None:
            raise ValidationError(f"Required property '{name}' wasn't found or it's value is null")
    return value


def string(value: Any, name: str) -> str:
    if type(value) is not str:
        raise ValidationError(f"Property '{name}' must be a string")
    return value


def boolean(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise ValidationError(f"Property '{name}' must be a boolean")
    return value


def integer(value: Any, name: str, lo: int = 0, hi: int = MAX_LIMIT) -> int:
    """A JSON integer, or a string of decimal digits (MagnetoDB accepts both)."""
    if type(value) is str and value.isascii() and value.strip().lstrip("-").isdigit():
        value = int(value)
    if type(value) is not int:
        raise ValidationError(f"Property '{name}' must be an integer")
    if not lo <= value <= hi:
        raise ValidationError(f"Property '{name}' must be between {lo} and {hi}")
    return value


def enum(value: Any, name: str, allowed: tuple[str, ...], message: str | None = None) -> str:
    if type(value) is not str or value not in allowed:
        raise ValidationError(
            (message or f"Property '{name}' value '{{}}' isn't allowed").format(_short(value))
        )
    return value


def table_name(value: Any, what: str = "table") -> str:
    if type(value) is not str or not TABLE_NAME_RE.fullmatch(value):
        raise ValidationError(f"Wrong {what} name '{_short(value)}' found")
    return value


def attr_name(value: Any) -> str:
    if type(value) is not str or not ATTR_NAME_RE.fullmatch(value):
        raise ValidationError(f"Wrong attribute name '{_short(value)}' found")
    return value


def project_id(value: str) -> str:
    if not PROJECT_RE.fullmatch(value):
        raise ValidationError(f"Wrong project id '{_short(value)}' found")
    return value


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


def _list(value: Any, name: str, min_len: int = 0) -> list:
    if type(value) is not list:
        raise ValidationError(f"Property '{name}' must be a JSON array")
    if len(value) < min_len:
        raise ValidationError(f"Property '{name}' must have at least {min_len} element(s)")
    return value


def _map(value: Any, name: str) -> dict:
    if type(value) is not dict:
        raise ValidationError(f"Property '{name}' must be a JSON object")
    return value


# ---------------------------------------------------------------- typed values and items


def item(value: Any, name: str = "item") -> Item:
    """Attribute name -> typed value, canonicalized."""
    out: Item = {}
    for k, tv in _map(value, name).items():
        attr_name(k)
        tc, wire = typed.parse_typed(tv, k)
        out[k] = {tc: wire}
    return out


def key(value: Any, name: str = "key") -> Item:
    """A key: like an item, but every value must be a scalar."""
    out = item(value, name)
    for k, tv in out.items():
        (tc,) = tv
        if tc not in typed.SCALAR_TYPES:
            raise ValidationError(f"Type '{tc}' is not a scalar type (key attribute '{k}')")
    return out


def attributes_to_get(value: Any) -> list[str]:
    names = [attr_name(n) for n in _list(value, "attributes_to_get", 1)]
    if len(set(names)) != len(names):
        raise ValidationError("Property 'attributes_to_get' must not contain duplicates")
    return names


_EXPECTED_KEYS = frozenset(("value", "exists"))


def expected(value: Any) -> dict[str, Expected]:
    out: dict[str, Expected] = {}
    for name, cond in _map(value, "expected").items():
        attr_name(name)
        obj(cond, f"expected.{name}", _EXPECTED_KEYS)
        has_value, has_exists = "value" in cond, "exists" in cond
        if has_value == has_exists:
            raise ValidationError(
                f"Expected condition for '{name}' must have exactly one of 'value' or 'exists'"
            )
        if has_value:
            tc, wire = typed.parse_typed(cond["value"], name)
            out[name] = Expected(value={tc: wire})
        else:
            out[name] = Expected(exists=boolean(cond["exists"], f"expected.{name}.exists"))
    return out


def return_values(value: Any, allowed: tuple[str, ...]) -> str:
    if value is None:
        return "NONE"
    return enum(value, "return_values", allowed, "Return values type '{}' isn't allowed")


_COND_KEYS = frozenset(("comparison_operator", "attribute_value_list"))


def conditions(value: Any, name: str, key_ops: bool) -> dict[str, Condition]:
    out: dict[str, Condition] = {}
    for attr, cond in _map(value, name).items():
        attr_name(attr)
        obj(cond, f"{name}.{attr}", _COND_KEYS, ("comparison_operator",))
        op = cond["comparison_operator"]
        if key_ops:
            enum(op, "comparison_operator", tuple(KEY_OPS), "Condition type '{}' isn't allowed")
            lo = hi = KEY_OPS[op]
        else:
            enum(op, "comparison_operator", tuple(SCAN_OPS), "Condition type '{}' isn't allowed")
            lo, hi = SCAN_OPS[op]
        raw_args = cond.get("attribute_value_list")
        raw_args = [] if raw_args is None else _list(raw_args, "attribute_value_list")
        if not lo <= len(raw_args) <= hi:
            raise ValidationError(
                f"Condition '{op}' on '{attr}' takes {lo}..{hi} argument(s), got {len(raw_args)}"
            )
        args = tuple(typed.parse_typed(a, attr) for a in raw_args)
        if key_ops or op in SCALAR_ARG_OPS:
            for tc, _ in args:
                if tc not in typed.SCALAR_TYPES:
                    raise ValidationError(f"Condition '{op}' needs scalar arguments, got '{tc}'")
        if op == "BETWEEN" and args[0][0] != args[1][0]:
            raise ValidationError("BETWEEN arguments must have the same type")
        if op == "BEGINS_WITH" and args[0][0] not in ("S", "B"):
            raise ValidationError("BEGINS_WITH works on S and B values only")
        out[attr] = Condition(op, args)
    return out


def _select(body: dict, allowed: tuple[str, ...] = SELECT_TYPES) -> tuple[str, list[str] | None]:
    attrs = body.get("attributes_to_get")
    attrs = attributes_to_get(attrs) if attrs is not None else None
    sel = body.get("select")
    if sel is None:
        return ("SPECIFIC_ATTRIBUTES" if attrs else "ALL_ATTRIBUTES"), attrs
    sel = enum(sel, "select", allowed, "Select type '{}' isn't allowed")
    if attrs is not None and sel != "SPECIFIC_ATTRIBUTES":
        raise ValidationError(
            "Attribute list is only expected with select_type 'SPECIFIC_ATTRIBUTES'"
        )
    if sel == "SPECIFIC_ATTRIBUTES" and attrs is None:
        raise ValidationError("Select type 'SPECIFIC_ATTRIBUTES' needs 'attributes_to_get'")
    return sel, attrs


# ---------------------------------------------------------------- requests


@dataclass(slots=True)
class PutItem:
    item: Item
    expected: dict[str, Expected] | None
    return_values: str


_PUT = frozenset(("item", "expected", "return_values", "time_to_live"))


def put_item(body: Any) -> PutItem:
    obj(body, "body", _PUT, ("item",))
    if body.get("time_to_live") is not None:
        integer(body["time_to_live"], "time_to_live")  # accepted and ignored, as in MagnetoDB
    exp = body.get("expected")
    return PutItem(
        item(body["item"]),
        expected(exp) if exp is not None else None,
        return_values(body.get("return_values"), ("NONE", "ALL_OLD", "ALL_NEW")),
    )


@dataclass(slots=True)
class GetItem:
    key: Item
    attributes_to_get: list[str] | None


_GET = frozenset(("key", "attributes_to_get", "consistent_read"))


def get_item(body: Any) -> GetItem:
    obj(body, "body", _GET, ("key",))
    if body.get("consistent_read") is not None:
        boolean(body["consistent_read"], "consistent_read")
    attrs = body.get("attributes_to_get")
    return GetItem(key(body["key"]), attributes_to_get(attrs) if attrs is not None else None)


@dataclass(slots=True)
class UpdateItem:
    key: Item
    updates: dict[str, UpdateAction]
    expected: dict[str, Expected] | None
    return_values: str


_UPDATE = frozenset(("key", "attribute_updates", "expected", "return_values"))
_ACTION = frozenset(("action", "value"))


def update_item(body: Any) -> UpdateItem:
    obj(body, "body", _UPDATE, ("key", "attribute_updates"))
    updates: dict[str, UpdateAction] = {}
    for name, upd in _map(body["attribute_updates"], "attribute_updates").items():
        attr_name(name)
        obj(upd, f"attribute_updates.{name}", _ACTION)
        action = enum(
            upd.get("action", "PUT"),
            "action",
            ("PUT", "ADD", "DELETE"),
            "Update action '{}' isn't allowed",
        )
        raw = upd.get("value")
        if raw is None:
            if action != "DELETE":
                raise ValidationError(f"Action '{action}' on '{name}' needs a value")
            updates[name] = UpdateAction(action)
            continue
        tc, wire = typed.parse_typed(raw, name)
        if action == "DELETE" and tc not in typed.SET_TYPES:
            raise ValidationError(f"DELETE with a value on '{name}' needs a set value, got '{tc}'")
        updates[name] = UpdateAction(action, {tc: wire})
    exp = body.get("expected")
    return UpdateItem(
        key(body["key"]),
        updates,
        expected(exp) if exp is not None else None,
        return_values(
            body.get("return_values"),
            ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"),
        ),
    )


@dataclass(slots=True)
class DeleteItem:
    key: Item
    expected: dict[str, Expected] | None
    return_values: str


_DELETE = frozenset(("key", "expected", "return_values"))


def delete_item(body: Any) -> DeleteItem:
    obj(body, "body", _DELETE, ("key",))
    exp = body.get("expected")
    return DeleteItem(
        key(body["key"]),
        expected(exp) if exp is not None else None,
        return_values(body.get("return_values"), ("NONE", "ALL_OLD")),
    )


@dataclass(slots=True)
class Query:
    conditions: dict[str, Condition]
    index_name: str | None
    select: str
    attributes_to_get: list[str] | None
    limit: int | None
    exclusive_start_key: Item | None
    forward: bool


_QUERY = frozenset(
    (
        "key_conditions",
        "index_name",
        "select",
        "attributes_to_get",
        "limit",
        "exclusive_start_key",
        "consistent_read",
        "scan_index_forward",
    )
)


def query(body: Any) -> Query:
    obj(body, "body", _QUERY, ("key_conditions",))
    conds = conditions(body["key_conditions"], "key_conditions", key_ops=True)
    if not conds:
        raise ValidationError("Property 'key_conditions' must not be empty")
    sel, attrs = _select(body)
    if body.get("consistent_read") is not None:
        boolean(body["consistent_read"], "consistent_read")
    fwd = body.get("scan_index_forward")
    index = body.get("index_name")
    start = body.get("exclusive_start_key")
    limit = body.get("limit")
    return Query(
        conds,
        table_name(index, "index") if index is not None else None,
        sel,
        attrs,
        integer(limit, "limit", 1) if limit is not None else None,
        key(start, "exclusive_start_key") if start is not None else None,
        boolean(fwd, "scan_index_forward") if fwd is not None else True,
    )


@dataclass(slots=True)
class Scan:
    scan_filter: dict[str, Condition] | None
    attributes_to_get: list[str] | None
    count_only: bool
    limit: int | None
    exclusive_start_key: Item | None
    segment: int | None
    total_segments: int | None


_SCAN = frozenset(
    (
        "scan_filter",
        "attributes_to_get",
        "select",
        "limit",
        "exclusive_start_key",
        "segment",
        "total_segments",
    )
)


def scan(body: Any) -> Scan:
    obj(body, "body", _SCAN)
    flt = body.get("scan_filter")
    sel, attrs = _select(body, ("ALL_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"))
    seg, total = body.get("segment"), body.get("total_segments")
    if (seg is None) != (total is None):
        raise ValidationError("'segment' and 'total_segments' must be given together")
    if total is not None:
        total = integer(total, "total_segments", 1, MAX_TOTAL_SEGMENTS)
        seg = integer(seg, "segment", 0, total - 1)
    limit = body.get("limit")
    start = body.get("exclusive_start_key")
    return Scan(
        conditions(flt, "scan_filter", key_ops=False) if flt is not None else None,
        attrs,
        sel == "COUNT",
        integer(limit, "limit", 1) if limit is not None else None,
        key(start, "exclusive_start_key") if start is not None else None,
        seg,
        total,
    )


_BATCH = frozenset(("request_items",))
_PUT_REQ = frozenset(("put_request", "delete_request"))


def batch_write_item(body: Any) -> dict[str, list[tuple[str, Item]]]:
    obj(body, "body", _BATCH, ("request_items",))
    out: dict[str, list[tuple[str, Item]]] = {}
    for table, reqs in _map(body["request_items"], "request_items").items():
        table_name(table)
        parsed: list[tuple[str, Item]] = []
        for req in _list(reqs, f"request_items.{table}", 1):
            obj(req, "write request", _PUT_REQ)
            if len(req) != 1:
                raise ValidationError(
                    "A write request has exactly one of put_request or delete_request"
                )
            if "put_request" in req:
                r = obj(req["put_request"], "put_request", frozenset(("item",)), ("item",))
                parsed.append(("put", item(r["item"])))
            else:
                r = obj(req["delete_request"], "delete_request", frozenset(("key",)), ("key",))
                parsed.append(("delete", key(r["key"])))
        out[table] = parsed
    return out


_BATCH_GET_TABLE = frozenset(("keys", "attributes_to_get", "consistent_read"))


def batch_get_item(body: Any) -> dict[str, tuple[list[Item], list[str] | None]]:
    obj(body, "body", _BATCH, ("request_items",))
    out: dict[str, tuple[list[Item], list[str] | None]] = {}
    for table, req in _map(body["request_items"], "request_items").items():
        table_name(table)
        obj(req, f"request_items.{table}", _BATCH_GET_TABLE, ("keys",))
        if req.get("consistent_read") is not None:
            boolean(req["consistent_read"], "consistent_read")
        attrs = req.get("attributes_to_get")
        keys = [key(k) for k in _list(req["keys"], "keys", 1)]
        out[table] = (keys, attributes_to_get(attrs) if attrs is not None else None)
    return out


# ---------------------------------------------------------------- create table

_CREATE = frozenset(
    ("table_name", "attribute_definitions", "key_schema", "local_secondary_indexes")
)
_ATTR_DEF = frozenset(("attribute_name", "attribute_type"))
_KEY_ELEM = frozenset(("attribute_name", "key_type"))
_LSI = frozenset(("index_name", "key_schema", "projection"))
_PROJECTION = frozenset(("projection_type", "non_key_attributes"))


def _key_schema(value: Any, where: str) -> tuple[str | None, str | None]:
    hash_key = range_key = None
    for elem in _list(value, where, 1):
        obj(elem, f"{where} element", _KEY_ELEM, ("attribute_name", "key_type"))
        name = attr_name(elem["attribute_name"])
        kt = enum(elem["key_type"], "key_type", ("HASH", "RANGE"), "Key type '{}' isn't allowed")
        if kt == "HASH":
            if hash_key is not None:
                raise ValidationError("Only one 'HASH' key is allowed")
            hash_key = name
        else:
            if range_key is not None:
                raise ValidationError("Only one 'RANGE' key is allowed")
            range_key = name
    if hash_key is None:
        raise ValidationError("HASH key is missing")
    if hash_key == range_key:
        raise ValidationError("HASH and RANGE keys must be different attributes")
    return hash_key, range_key


def create_table(body: Any) -> tuple[str, TableSchema]:
    obj(body, "body", _CREATE, ("table_name", "attribute_definitions", "key_schema"))
    name = table_name(body["table_name"])
    types: dict[str, str] = {}
    for d in _list(body["attribute_definitions"], "attribute_definitions", 1):
        obj(d, "attribute_definitions element", _ATTR_DEF, ("attribute_name", "attribute_type"))
        an = attr_name(d["attribute_name"])
        at = d["attribute_type"]
        if type(at) is not str or at not in typed.ALL_TYPES:
            raise ValidationError(f"Attribute type '{_short(at)}' is not recognized")
        if an in types:
            raise ValidationError(f"Attribute '{an}' is defined more than once")
        types[an] = at
    hash_key, range_key = _key_schema(body["key_schema"], "key_schema")
    for k in (hash_key, range_key):
        if k is None:
            continue
        if k not in types:
            raise ValidationError(f"Definition for attribute['{k}'] wasn't found")
        if types[k] not in typed.SCALAR_TYPES:
            raise ValidationError(f"Type '{types[k]}' is not a scalar type")
    indexes: dict[str, IndexDef] = {}
    lsis = body.get("local_secondary_indexes")
    if lsis is not None:
        lsis = _list(lsis, "local_secondary_indexes")
        if lsis and range_key is None:
            raise ValidationError(
                "Table without range key in primary key schema can not have indices"
            )
        if len(lsis) > MAX_LSI:
            raise ValidationError(f"A table can have at most {MAX_LSI} local secondary indexes")
        used_ranges = {range_key}
        for ordinal, lsi in enumerate(lsis):
            obj(
                lsi,
                "local_secondary_indexes element",
                _LSI,
                ("index_name", "key_schema", "projection"),
            )
            iname = table_name(lsi["index_name"], "index")
            if iname in indexes:
                raise ValidationError(f"Index name '{iname}' is used more than once")
            ih, ir = _key_schema(lsi["key_schema"], f"index '{iname}' key_schema")
            if ih != hash_key:
                raise ValidationError(
                    f"Hash key of index '{iname}' must be the same as primary key's hash key."
                )
            if ir is None:
                raise ValidationError("Range key in index wasn't specified")
            if ir not in types:
                raise ValidationError(f"Definition for attribute['{ir}'] wasn't found")
            if types[ir] not in typed.SCALAR_TYPES:
                raise ValidationError(f"Type '{types[ir]}' is not a scalar type")
            if ir in used_ranges:
                raise ValidationError("Table and its indices must have unique key schema")
            used_ranges.add(ir)
            ptype, nka = _projection(lsi["projection"])
            indexes[iname] = IndexDef(iname, ir, ordinal, ptype, nka)
    return name, TableSchema(types, hash_key, range_key, indexes)  # type: ignore[arg-type]


def _projection(value: Any) -> tuple[str, tuple[str, ...] | None]:
    obj(value, "projection", _PROJECTION)
    ptype = enum(
        value.get("projection_type", "INCLUDE"),
        "projection_type",
        PROJECTION_TYPES,
        "Projection type '{}' isn't allowed",
    )
    nka = value.get("non_key_attributes")
    if nka is not None:
        if ptype != "INCLUDE":
            raise ValidationError(
                "'non_key_attributes' is only allowed with projection type INCLUDE"
            )
        names = tuple(attr_name(n) for n in _list(nka, "non_key_attributes"))
        if len(set(names)) != len(names):
            raise ValidationError("'non_key_attributes' must not contain duplicates")
        return ("INCLUDE", names) if names else ("KEYS_ONLY", None)
    if ptype == "INCLUDE":
        return "ALL", None
    return ptype, None
