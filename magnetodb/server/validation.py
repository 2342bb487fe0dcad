"""Pure functions from request JSON to typed request objects; they raise ValidationError.

Nothing here touches storage or HTTP. The checks run in MagnetoDB's order (each property
as it is read, the unexpected ones last) and say what MagnetoDB's said
(``magnetodb/api/validation.py``, ``api/openstack/v1/parser.py`` and ``storage/models.py``
of its last live commit), since its clients and its tempest suite match on those texts:
"Required property 'item' wasn't found or it's value is null", "Wrong 'limit' type.
Integer is expected, but "abc" found", "Unexpected properties were found for 'body':
{"x": 1}", "IndexedCondition of type['GT'] requires exactly 1 arguments, but 2 found".
Values in messages are JSON, as MagnetoDB's ``json.dumps`` wrote them. A null optional
property counts as absent (MagnetoDB refused a few such nulls).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import orjson

from magnetodb import typed
from magnetodb.errors import ValidationError
from magnetodb.model import (
    CONDITION_CLASSES,
    PRIMITIVE_ONLY,
    PROJECTION_TYPES,
    Condition,
    Expected,
    IndexDef,
    Item,
    TableSchema,
    UpdateAction,
)

#: Deepest JSON nesting taken (no legal MagnetoDB body nests deeper than ~8)
JSON_DEPTH_LIMIT = 64
TABLE_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
ATTR_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{1,255}")
PROJECT_RE = re.compile(r"[a-zA-Z0-9_-]{1,255}")
SELECT_TYPES = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")
MAX_LSI = 255
MAX_TOTAL_SEGMENTS = 4096
MAX_LIMIT = 1 << 31
_INTEGER_RE = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


# ---------------------------------------------------------------- primitives (api/validation.py)


def required(value: Any, name: str) -> Any:
    if value is None:
        raise ValidationError(f"Required property '{name}' wasn't found or it's value is null")
    return value


def _wrong_type(value: Any, name: str, json_type: str) -> ValidationError:
    required(value, name)
    return ValidationError(
        f"Wrong '{name}' type. {json_type} is expected, but {typed.as_json(value)} found"
    )


def obj(value: Any, name: str) -> dict:
    if type(value) is not dict:
        raise _wrong_type(value, name, "Object")
    return value


def string(value: Any, name: str) -> str:
    if type(value) is not str:
        raise _wrong_type(value, name, "String")
    return value


def boolean(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise _wrong_type(value, name, "Boolean")
    return value


def integer(value: Any, name: str, lo: int | None = 0, hi: int | None = MAX_LIMIT) -> int:
    """A JSON integer, or a string of decimal digits (MagnetoDB accepts both)."""
    if type(value) is str and _INTEGER_RE.fullmatch(value):
        value = int(value)
    if type(value) is not int:
        raise _wrong_type(value, name, "Integer")
    if lo is not None and value < lo:
        raise ValidationError(f"'{name}' property value[{value}] is less then min_value[{lo}].")
    if hi is not None and value > hi:
        raise ValidationError(f"'{name}' property value[{value}] is more then max_value[{hi}].")
    return value


def _list(value: Any, name: str) -> list:
    if type(value) is not list:
        raise _wrong_type(value, name, "List")
    return value


def _objects(value: Any, name: str) -> list[dict]:
    if type(value) is not list or any(type(x) is not dict for x in value):
        raise _wrong_type(value, name, "List" if type(value) is not list else "List of Objects")
    return value


def _unique(value: Any, name: str) -> list:
    _list(value, name)
    try:
        duplicates = len(set(value)) < len(value)
    except TypeError:  # unhashable elements: the name checks refuse them
        duplicates = False
    if duplicates:
        raise _wrong_type(value, name, "List of unique values")
    return value


def unexpected(value: dict, known: frozenset[str], name: str) -> None:
    """Properties outside ``known``, all of them, as JSON (MagnetoDB checked them last)."""
    if value.keys() - known:
        extra = {k: v for k, v in value.items() if k not in known}
        raise ValidationError(
            f"Unexpected properties were found for '{name}': {typed.as_json(extra)}"
        )


def unexpected_params(pairs: list[tuple[str, str]]) -> None:
    """Query parameters left over, shown as MagnetoDB showed its webob MultiDict (Python 2)."""
    if pairs:
        shown = ", ".join(f"(u{k!a}, u{v!a})" for k, v in pairs)
        raise ValidationError(
            f"Unexpected properties were found for 'params': MultiDict([{shown}])"
        )


def enum(value: Any, name: str, allowed: tuple[str, ...], message: str) -> str:
    """``value`` if it is in ``allowed``, else ``message`` naming it (a string, given)."""
    string(value, name)
    if value not in allowed:
        raise ValidationError(message.format(value))
    return value


def _name(value: Any, what: str, pattern: re.Pattern[str]) -> str:
    string(value, f"{what} name")
    if not pattern.fullmatch(value):
        raise ValidationError(f"Wrong {what} name '{value}' found")
    return value


def table_name(value: Any) -> str:
    return _name(value, "table", TABLE_NAME_RE)


def index_name(value: Any) -> str:
    return _name(value, "index", TABLE_NAME_RE)


@functools.lru_cache(maxsize=4096)
def _good_attr_name(value: str) -> bool:
    """Whether a name matches ``ATTR_NAME_RE``, remembered: a store's items repeat a few
    dozen names, and a bulk load checks millions of them."""
    return ATTR_NAME_RE.fullmatch(value) is not None


def attr_name(value: Any) -> str:
    if type(value) is str and _good_attr_name(value):
        return value
    return _name(value, "attribute", ATTR_NAME_RE)


def project_id(value: str) -> str:
    if not PROJECT_RE.fullmatch(value):
        raise ValidationError(f"Wrong project id '{_short(value)}' found")
    return value


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


# ---------------------------------------------------------------- typed values and items


def _typed(value: Any, name: str) -> tuple[str, Any]:
    if type(value) is not dict:
        obj(value, name)
    return typed.parse_typed(value, name)


def item(value: Any, name: str = "item") -> Item:
    """Attribute name -> typed value, canonicalized (a string value is canonical as it is:
    its typed value is kept, not copied)."""
    out: Item = {}
    for k, tv in obj(value, name).items():
        attr_name(k)
        if type(tv) is dict and len(tv) == 1 and type(tv.get("S")) is str:
            out[k] = tv
            continue
        tc, wire = _typed(tv, k)
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


def _attribute_names(value: list) -> list[str]:
    return [attr_name(n) for n in value]


def expected(value: Any) -> dict[str, Expected]:
    out: dict[str, Expected] = {}
    for name, cond in obj(value, "expected").items():
        attr_name(name)
        obj(cond, name)
        if len(cond) != 1:
            raise ValidationError(
                f"Can't recognize attribute expected condition format: '{typed.as_json(cond)}'"
            )
        ((kind, arg),) = cond.items()
        if kind == "value":
            tc, wire = _typed(arg, "value")
            out[name] = Expected(value={tc: wire})
        elif kind == "exists":
            out[name] = Expected(exists=boolean(arg, "exists"))
        else:
            raise ValidationError(f"Unsupported condition type found: {kind}")
    return out


def return_values(value: Any, allowed: tuple[str, ...]) -> str:
    if value is None:
        return "NONE"
    return enum(value, "return_values", allowed, "Return values type '{}' isn't allowed")


# ---------------------------------------------------------------- conditions

_COND_KEYS = frozenset(("comparison_operator", "attribute_value_list"))


def conditions(value: Any, name: str, cls: str) -> dict[str, Condition]:
    """Key conditions (``cls`` IndexedCondition) or a scan filter (ScanCondition)."""
    out: dict[str, Condition] = {}
    for attr, cond in obj(value, name).items():
        attr_name(attr)
        obj(cond, attr)
        op = cond.get("comparison_operator")
        raw = cond.get("attribute_value_list")
        args: tuple[tuple[str, Any], ...] = ()
        if raw:  # MagnetoDB: `if attribute_list:`, so [] and {} are no arguments
            args = tuple(typed.parse_typed(a) for a in _objects(raw, "attribute_value_list"))
        _check_condition(cls, op, args)
        unexpected(cond, _COND_KEYS, attr)
        out[attr] = Condition(op, args)
    return out


def _check_condition(cls: str, op: Any, args: tuple[tuple[str, Any], ...]) -> None:
    """MagnetoDB's parse_attribute_condition: BETWEEN and BEGINS_WITH as GE (and LE)."""
    if op == "BETWEEN":
        if len(args) != 2:
            raise ValidationError(
                f"BETWEEN condition type requires exactly 2 arguments, but {len(args)} given"
            )
        if args[0][0] != args[1][0]:
            raise ValidationError(
                "BETWEEN condition type requires arguments of the same type, "
                "but different types given"
            )
        _check_class(cls, "GE", args[:1])
        _check_class(cls, "LE", args[1:])
    elif op == "BEGINS_WITH":
        _check_class(cls, "GE", args)
        if args[0][0] == "N":  # MagnetoDB's text, its missing space included
            raise ValidationError(
                "BEGINS_WITH condition type is not allowed forargument of the N type"
            )
    else:
        _check_class(cls, op, args)


def _check_class(cls: str, op: Any, args: tuple[tuple[str, Any], ...]) -> None:
    counts = CONDITION_CLASSES[cls].get(op) if type(op) is str else None
    if counts is None:
        raise ValidationError(f"{cls} of type['{op}'] is not allowed")
    lo, hi = counts
    n = len(args)
    if not lo <= n <= hi:
        if lo == hi:
            raise ValidationError(
                f"{cls} of type['{op}'] requires exactly {lo} arguments, but {n} found"
            )
        raise ValidationError(
            f"{cls} of type['{op}'] requires from {lo} to {hi} arguments provided, but {n} found"
        )
    if op in PRIMITIVE_ONLY[cls] and any(tc not in typed.SCALAR_TYPES for tc, _ in args):
        raise ValidationError(f"{cls} of type['{op}'] allows only primitive arguments")


def _select(
    select: Any, attrs: list[str] | None, allowed: tuple[str, ...] = SELECT_TYPES
) -> tuple[str, list[str] | None]:
    """MagnetoDB's SelectType: (select, attributes, None for the whole item)."""
    if select is None:
        select = "SPECIFIC_ATTRIBUTES" if attrs else "ALL_ATTRIBUTES"
    else:
        enum(select, "select", allowed, "Select type '{}' isn't allowed")
    if attrs is not None and select != "SPECIFIC_ATTRIBUTES":
        raise ValidationError(
            "Attribute list is only expected with select_type 'SPECIFIC_ATTRIBUTES'"
        )
    if select == "SPECIFIC_ATTRIBUTES" and not attrs:  # no names: MagnetoDB read everything
        return "ALL_ATTRIBUTES", None
    return select, attrs


# ---------------------------------------------------------------- requests


@dataclass(slots=True)
class PutItem:
    item: Item
    expected: dict[str, Expected] | None
    return_values: str


_PUT = frozenset(("item", "expected", "return_values", "time_to_live"))


def put_item(body: Any) -> PutItem:
    obj(body, "body")
    exp = body.get("expected")
    exp = expected(exp) if exp is not None else None
    new = item(required(body.get("item"), "item"))
    rv = return_values(body.get("return_values"), ("NONE", "ALL_OLD", "ALL_NEW"))
    ttl = body.get("time_to_live")
    if ttl is not None:
        integer(ttl, "time_to_live", 0, None)  # accepted and ignored, as in MagnetoDB
    unexpected(body, _PUT, "body")
    return PutItem(new, exp, rv)


@dataclass(slots=True)
class GetItem:
    key: Item
    attributes_to_get: list[str] | None


_GET = frozenset(("key", "attributes_to_get", "consistent_read"))


def get_item(body: Any) -> GetItem:
    obj(body, "body")
    attrs = body.get("attributes_to_get")
    # MagnetoDB: `if attributes_to_get:`, so an empty list is the whole item
    attrs = _attribute_names(_unique(attrs, "attributes_to_get")) if attrs else None
    k = required(body.get("key"), "key")
    if type(k) is not dict:
        obj(k, "key")
    cr = body.get("consistent_read")
    if cr is not None:
        boolean(cr, "consistent_read")
    if len(body) > 1:
        unexpected(body, _GET, "body")
    return GetItem(key(k), attrs)


@dataclass(slots=True)
class UpdateItem:
    key: Item
    updates: dict[str, UpdateAction]
    expected: dict[str, Expected] | None
    return_values: str


_UPDATE = frozenset(("key", "attribute_updates", "expected", "return_values"))
_ACTION = frozenset(("action", "value"))
_ACTIONS = ("PUT", "ADD", "DELETE")


def update_item(body: Any) -> UpdateItem:
    obj(body, "body")
    exp = body.get("expected")
    exp = expected(exp) if exp is not None else None
    updates: dict[str, UpdateAction] = {}
    for name, upd in obj(body.get("attribute_updates"), "attribute_updates").items():
        attr_name(name)
        obj(upd, name)
        action = string(upd.get("action", "PUT"), "action")  # MagnetoDB required it
        raw = upd.get("value")
        value = None
        if raw:  # MagnetoDB: `if value_json:`
            tc, wire = _typed(raw, "value")
            value = {tc: wire}
        enum(action, "action", _ACTIONS, "Update action '{}' isn't allowed")
        if value is None and action != "DELETE":
            raise ValidationError(f"Action '{action}' on '{name}' needs a value")
        unexpected(upd, _ACTION, name)
        updates[name] = UpdateAction(action, value)
    k = key(required(body.get("key"), "key"))
    rv = return_values(
        body.get("return_values"),
        ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"),
    )
    unexpected(body, _UPDATE, "body")
    return UpdateItem(k, updates, exp, rv)


@dataclass(slots=True)
class DeleteItem:
    key: Item
    expected: dict[str, Expected] | None
    return_values: str


_DELETE = frozenset(("key", "expected", "return_values"))


def delete_item(body: Any) -> DeleteItem:
    obj(body, "body")
    exp = body.get("expected")
    exp = expected(exp) if exp else None
    k = key(required(body.get("key"), "key"))
    rv = return_values(body.get("return_values"), ("NONE", "ALL_OLD"))
    unexpected(body, _DELETE, "body")
    return DeleteItem(k, exp, rv)


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
    obj(body, "body")
    attrs = body.get("attributes_to_get")
    if attrs is not None:
        attrs = _attribute_names(_list(attrs, "attributes_to_get"))
    index = body.get("index_name")
    if index is not None:
        index_name(index)
    sel, attrs = _select(body.get("select"), attrs)
    start = body.get("exclusive_start_key")
    start = key(start, "exclusive_start_key") if start is not None else None
    conds = conditions(
        required(body.get("key_conditions"), "key_conditions"),
        "key_conditions",
        "IndexedCondition",
    )
    if not conds:
        raise ValidationError("Property 'key_conditions' must not be empty")
    cr = body.get("consistent_read")
    if cr is not None:
        boolean(cr, "consistent_read")
    limit = body.get("limit")
    limit = integer(limit, "limit", 1) if limit is not None else None
    fwd = body.get("scan_index_forward")
    fwd = boolean(fwd, "scan_index_forward") if fwd is not None else True
    unexpected(body, _QUERY, "body")
    return Query(conds, index, sel, attrs, limit, start, fwd)


@dataclass(slots=True)
class Scan:
    scan_filter: dict[str, Condition] | None
    attributes_to_get: list[str] | None
    count_only: bool
    limit: int | None
    exclusive_start_key: Item | None
    segment: int
    total_segments: int


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
    obj(body, "body")
    attrs = body.get("attributes_to_get")
    names = _attribute_names(_list(attrs, "attributes_to_get")) if attrs else attrs
    sel, names = _select(
        body.get("select"), names, ("ALL_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")
    )
    limit = body.get("limit")
    limit = integer(limit, "limit", 1) if limit is not None else None
    start = body.get("exclusive_start_key")
    start = key(start, "exclusive_start_key") if start is not None else None
    flt = body.get("scan_filter")
    flt = conditions(flt, "scan_filter", "ScanCondition") if flt else None
    total = body.get("total_segments")
    total = 1 if total is None else integer(total, "total_segments", 1, MAX_TOTAL_SEGMENTS)
    seg = body.get("segment")
    seg = 0 if seg is None else integer(seg, "segment", 0, total)
    unexpected(body, _SCAN, "body")
    return Scan(flt, names, sel == "COUNT", limit, start, seg, total)


_BATCH = frozenset(("request_items",))
_PUT_REQUEST = frozenset(("item",))
_DELETE_REQUEST = frozenset(("key",))


def batch_write_item(body: Any) -> dict[str, list[tuple[str, Item]]]:
    obj(body, "body")
    tables = obj(body.get("request_items"), "request_items")
    unexpected(body, _BATCH, "body")
    out: dict[str, list[tuple[str, Item]]] = {}
    for table, reqs in tables.items():
        table_name(table)
        parsed: list[tuple[str, Item]] = []
        for req in _objects(reqs, table):
            for kind, inner in req.items():  # MagnetoDB ran every request a dict names
                if kind == "put_request":
                    obj(inner, kind)
                    new = item(required(inner.get("item"), "item"))
                    unexpected(inner, _PUT_REQUEST, kind)
                    parsed.append(("put", new))
                elif kind == "delete_request":
                    obj(inner, kind)
                    k = key(required(inner.get("key"), "key"))
                    unexpected(inner, _DELETE_REQUEST, kind)
                    parsed.append(("delete", k))
                else:
                    raise ValidationError(f"Unsupported request type found: {kind}")
        out[table] = parsed
    return out


_BATCH_GET_TABLE = frozenset(("keys", "attributes_to_get", "consistent_read"))


def batch_get_item(body: Any) -> dict[str, tuple[list[Item], list[str] | None]]:
    obj(body, "body")
    tables = obj(body.get("request_items"), "request_items")
    unexpected(body, _BATCH, "body")
    out: dict[str, tuple[list[Item], list[str] | None]] = {}
    for table, req in tables.items():
        table_name(table)
        obj(req, table)
        cr = req.get("consistent_read")
        if cr is not None:
            boolean(cr, "consistent_read")
        attrs = req.get("attributes_to_get")
        if attrs is not None:  # an empty list reads whole items, as MagnetoDB's driver did
            attrs = _attribute_names(_unique(attrs, "attributes_to_get")) or None
        keys = _list(req.get("keys"), "keys")
        unexpected(req, _BATCH_GET_TABLE, table)
        out[table] = ([key(k) for k in keys], attrs)
    return out


# ---------------------------------------------------------------- create table

_CREATE = frozenset(
    ("table_name", "attribute_definitions", "key_schema", "local_secondary_indexes")
)
_ATTR_DEF = frozenset(("attribute_name", "attribute_type"))
_KEY_ELEM = frozenset(("attribute_name", "key_type"))
_LSI = frozenset(("index_name", "key_schema", "projection"))


def _key_schema(value: Any) -> tuple[str, str | None]:
    hash_key = range_key = None
    for elem in _objects(value, "key_schema"):
        name = attr_name(elem.get("attribute_name"))
        kt = elem.get("key_type")
        if kt == "HASH":
            if hash_key is not None:
                raise ValidationError("Only one 'HASH' key is allowed")
            hash_key = name
        elif kt == "RANGE":
            if range_key is not None:
                raise ValidationError("Only one 'RANGE' key is allowed")
            range_key = name
        else:
            raise ValidationError(
                f"Only 'RANGE' or 'HASH' key types are allowed, but '{kt}' is found"
            )
        unexpected(elem, _KEY_ELEM, "key_definition")
    if hash_key is None:
        raise ValidationError("HASH key is missing")
    if hash_key == range_key:
        raise ValidationError("HASH and RANGE keys must be different attributes")
    return hash_key, range_key


def create_table(body: Any) -> tuple[str, TableSchema]:
    obj(body, "body")
    name = table_name(body.get("table_name"))
    types: dict[str, str] = {}
    for d in _objects(body.get("attribute_definitions"), "attribute_definitions"):
        an = attr_name(d.get("attribute_name"))
        at = d.get("attribute_type")
        if type(at) is not str or at not in typed.ALL_TYPES:
            raise ValidationError(f"Attribute type '{at}' is not recognized")
        unexpected(d, _ATTR_DEF, "attribute_definition")
        types[an] = at  # a name defined twice: the last definition, as MagnetoDB's dict kept
    hash_key, range_key = _key_schema(body.get("key_schema"))
    lsis = body.get("local_secondary_indexes")
    parsed = [_lsi(lsi) for lsi in _objects(lsis, "local_secondary_indexes")] if lsis else []
    if len({p[0] for p in parsed}) < len(parsed):
        raise ValidationError("Two or more indexes with the same name")
    if parsed and range_key is None:
        raise ValidationError("Table without range key in primary key schema can not have indices")
    ranges = [r for r in (range_key, *(p[2] for p in parsed)) if r is not None]
    if len(set(ranges)) < len(ranges):
        raise ValidationError("Table and its indices must have unique key schema")
    if len(parsed) > MAX_LSI:
        raise ValidationError(f"A table can have at most {MAX_LSI} local secondary indexes")
    unexpected(body, _CREATE, "body")
    for k in (hash_key, range_key):  # MagnetoDB's TableSchema checks, after the body's
        if k is not None:
            _scalar_definition(types, k)
    indexes: dict[str, IndexDef] = {}
    for ordinal, (iname, ih, ir, ptype, nka) in enumerate(parsed):
        if ih != hash_key:
            raise ValidationError(
                f"Hash key of index '{iname}' must be the same as primary key's hash key."
            )
        _scalar_definition(types, ir)
        indexes[iname] = IndexDef(iname, ir, ordinal, ptype, nka)
    return name, TableSchema(types, hash_key, range_key, indexes)


def _scalar_definition(types: dict[str, str], name: str) -> None:
    if name not in types:
        raise ValidationError(f"Definition for attribute['{name}'] wasn't found")
    if types[name] not in typed.SCALAR_TYPES:
        raise ValidationError(f"Type '{types[name]}' is not a scalar type")


def _lsi(lsi: dict) -> tuple[str, str, str, str, tuple[str, ...] | None]:
    """(index name, hash key, range key, projection type, non-key attributes)."""
    ih, ir = _key_schema(_list(lsi.get("key_schema"), "key_schema"))
    if ir is None:
        raise ValidationError("Range key in index wasn't specified")
    iname = index_name(lsi.get("index_name"))
    proj = obj(lsi.get("projection"), "projection")
    unexpected(lsi, _LSI, "local_secondary_index")
    ptype, nka = _projection(proj)
    return iname, ih, ir, ptype, nka


def _projection(value: dict) -> tuple[str, tuple[str, ...] | None]:
    ptype = value.get("projection_type", "INCLUDE")
    if ptype not in PROJECTION_TYPES:  # MagnetoDB's template was broken; the text it meant
        raise ValidationError(
            "Only 'ALL', 'KEYS_ONLY' of 'INCLUDE' projection types are allowed, "
            f"but '{ptype}' is found"
        )
    nka = value.get("non_key_attributes") if ptype == "INCLUDE" else None
    known = _PROJECTION_INCLUDE if ptype == "INCLUDE" else _PROJECTION_TYPE
    unexpected(value, known, "projection")
    if ptype != "INCLUDE":
        return ptype, None
    if nka is None:
        return "ALL", None
    names = tuple(_attribute_names(_unique(nka, "non_key_attributes")))
    return ("INCLUDE", names) if names else ("KEYS_ONLY", None)


_PROJECTION_TYPE = frozenset(("projection_type",))
_PROJECTION_INCLUDE = frozenset(("projection_type", "non_key_attributes"))


# ---------------------------------------------------------------- JSON documents


def json_document(raw: bytes, what: str) -> Any:
    """``raw`` parsed (a request body, a bulk load line); not JSON or nested too deeply:
    ValidationError."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"Can't parse {what} as JSON: {exc}") from exc
    # Nesting needs an opening bracket per level: a document with few cannot be too deep.
    if raw.count(b"{") + raw.count(b"[") > JSON_DEPTH_LIMIT:
        _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    """Reject absurdly nested JSON (no legal MagnetoDB body nests deeper than ~8).

    Level by level, keeping only the containers of the next level: a batch body's
    thousands of typed values (``{"S": ...}``) cost one comprehension each, no tuples."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        if depth > JSON_DEPTH_LIMIT:
            raise ValidationError("Request JSON is nested too deeply")
        deeper: list[Any] = []
        for v in level:
            children = v.values() if type(v) is dict else v
            deeper += [x for x in children if type(x) is dict or type(x) is list]
        level = deeper
        depth += 1
