"""Property-based fuzzing driven by magnetodb/openapi.json: no input may produce a 500.

Bodies are generated from the OpenAPI request schemas (so most reach deep into
validation and storage), then mutated: required properties dropped, unknown
properties added, values swapped for arbitrary JSON, or replaced by raw bytes.
Every answer must be a 200 with JSON or a 4xx MagnetoDB error body.
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magnetodb.client import connect
from magnetodb.server.app import App
from magnetodb.server.process import ServerProcess
from magnetodb.storage import open_storage

SPEC = json.loads(resources.files("magnetodb").joinpath("openapi.json").read_text())
SCHEMAS = SPEC["components"]["schemas"]
OPERATIONS = [
    (method.upper(), path, op)
    for path, methods in SPEC["paths"].items()
    for method, op in methods.items()
]

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
any_json = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def from_schema(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for (mostly) valid instances of an OpenAPI/JSON schema subset."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return st.deferred(lambda: from_schema(SCHEMAS[name], depth + 1))
    if "oneOf" in schema:
        return st.one_of([from_schema(s, depth + 1) for s in schema["oneOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "string":
        if schema.get("format") == "byte":
            return st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode())
        if "pattern" in schema:
            pat = schema["pattern"].replace("{1,255}", "{1,12}").replace("{3,255}", "{3,12}")
            return st.from_regex(pat, fullmatch=True)
        return st.text(max_size=12)
    if kind == "integer":
        return st.integers(schema.get("minimum", -5), schema.get("maximum", 50))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = from_schema(schema.get("items", {}), depth + 1)
        lo = schema.get("minItems", 0)
        return st.lists(
            items,
            min_size=lo,
            max_size=max(lo, min(schema.get("maxItems", 3), 3)),
            unique_by=(lambda x: json.dumps(x, sort_keys=True))
            if schema.get("uniqueItems")
            else None,
        )
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        if props:
            fixed = {k: from_schema(v, depth + 1) for k, v in props.items() if k in required}
            optional = {k: from_schema(v, depth + 1) for k, v in props.items() if k not in required}
            return st.fixed_dictionaries(fixed, optional=optional)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            keys = from_schema(
                schema.get("propertyNames", {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,6}$"})
            )
            lo = schema.get("minProperties", 0)
            return st.dictionaries(
                keys, from_schema(extra, depth + 1), min_size=lo, max_size=max(lo, 3)
            )
        return st.just({})
    return any_json


def mutate(draw: st.DrawFn, value: Any) -> Any:
    """One structural mutation somewhere in a JSON value."""
    how = draw(st.sampled_from(["keep", "keep", "drop", "add", "swap", "swap"]))
    if how == "keep":
        return value
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        if how == "drop":
            return {k: v for k, v in value.items() if k != key}
        if how == "add":
            return {**value, draw(st.text(min_size=1, max_size=10)): draw(any_json)}
        if draw(st.booleans()):
            return {**value, key: draw(any_json)}
        return {**value, key: mutate(draw, value[key])}
    if isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        return [
            *value[:i],
            mutate(draw, value[i]) if how != "swap" else draw(any_json),
            *value[i + 1 :],
        ]
    return draw(any_json) if how == "swap" else value


TABLE_NAMES = st.sampled_from(
    ["fuzz_tbl", "fuzz_tbl", "hash_only", "missing_tbl", "ab", "bad name", "x" * 300]
)
PROJECTS = st.sampled_from(["fuzzp", "fuzzp", "other", "bad project", "p" * 300])


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str, bytes]:
    method, template, op = draw(st.sampled_from(OPERATIONS))
    path = template.replace("{project_id}", quote(draw(PROJECTS), safe="")).replace(
        "{table_name}", quote(draw(TABLE_NAMES), safe="")
    )
    query = ""
    params = [p for p in op.get("parameters", []) if p["in"] == "query"]
    if params and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(params), max_size=3, unique_by=lambda p: p["name"]))
        pairs = [
            (p["name"], str(draw(from_schema(p["schema"]) | st.text(max_size=6)))) for p in chosen
        ]
        if draw(st.integers(0, 4)) == 0:
            pairs.append(("unknown_param", "1"))
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    body = b""
    if "requestBody" in op or draw(st.integers(0, 9)) == 0:
        mode = draw(st.integers(0, 9))
        if mode == 0:
            body = draw(st.binary(max_size=40))
        elif mode == 1:
            body = orjson.dumps(draw(any_json))
        elif "application/x-ndjson" in op.get("requestBody", {}).get("content", {}):
            # the bulk load: items (or mutations of them) a line each
            schema = op["requestBody"]["content"]["application/x-ndjson"]["schema"]
            lines = draw(st.lists(from_schema(schema), max_size=4))
            body = b"".join(orjson.dumps(mutate(draw, line)) + b"\n" for line in lines)
        elif "requestBody" in op:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            value = draw(from_schema(schema))
            if isinstance(value, dict) and draw(st.booleans()):
                # aim at the seeded table's real key so requests get past key checks
                key = {
                    "h": {"S": draw(st.sampled_from(["a", "b"]))},
                    "r": {"N": str(draw(st.integers(-1, 6)))},
                }
                if "key" in value:
                    value["key"] = key
                if isinstance(value.get("item"), dict):
                    value["item"].update(key)
                if "key_conditions" in value:
                    value["key_conditions"]["h"] = {
                        "comparison_operator": "EQ",
                        "attribute_value_list": [key["h"]],
                    }
            body = orjson.dumps(mutate(draw, value))
    return method, path, query, body


def seed(client: Any) -> None:
    client.create_table(
        "fuzz_tbl",
        [
            {"attribute_name": n, "attribute_type": t}
            for n, t in (("h", "S"), ("r", "N"), ("i", "S"), ("d", "NS"))
        ],
        [{"attribute_name": "h", "key_type": "HASH"}, {"attribute_name": "r", "key_type": "RANGE"}],
        [
            {
                "index_name": "fuzz_idx",
                "key_schema": [
                    {"attribute_name": "h", "key_type": "HASH"},
                    {"attribute_name": "i", "key_type": "RANGE"},
                ],
                "projection": {"projection_type": "ALL"},
            }
        ],
    )
    client.create_table(
        "hash_only",
        [{"attribute_name": "h", "attribute_type": "S"}],
        [{"attribute_name": "h", "key_type": "HASH"}],
    )
    for i in range(5):
        client.put_item(
            "fuzz_tbl",
            {"h": {"S": "a"}, "r": {"N": str(i)}, "i": {"S": f"i{i}"}, "x": {"SS": ["1"]}},
        )
        client.put_item("hash_only", {"h": {"S": f"k{i}"}, "m": {"SNM": {"k": "1"}}})


def check(status: int, body: bytes, req: tuple) -> None:
    assert status < 500, (req, body[:500])
    doc = orjson.loads(body)
    if status >= 400:
        assert doc["code"] == status, (req, doc)
        assert isinstance(doc["error"]["type"], str), (req, doc)
        assert isinstance(doc["error"]["message"], str)


@pytest.fixture(scope="module")
def fuzz_app() -> App:
    from magnetodb.client import connect_inproc

    storage = open_storage("memory")
    seed(connect_inproc("fuzzp", storage=storage))
    return App(storage)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(req=requests())
def test_fuzz_in_process_never_500(fuzz_app: App, req: tuple[str, str, str, bytes]) -> None:
    method, path, query, body = req
    status, out = fuzz_app.handle(method, path, query, {"host": "fuzz"}, body)
    check(status, out, req)


@pytest.fixture(scope="module")
def fuzz_server(lmdb_server: ServerProcess) -> ServerProcess:
    client = connect(lmdb_server.url, "fuzzp")
    try:
        seed(client)
    except Exception:  # already seeded by another module run on this server
        client.describe_table("fuzz_tbl")
    return lmdb_server


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(req=requests())
def test_fuzz_over_http_never_500(
    fuzz_server: ServerProcess, req: tuple[str, str, str, bytes]
) -> None:
    method, path, query, body = req
    transport = connect(fuzz_server.url, "fuzzp").transport
    full = path + ("?" + query if query else "")
    status, out = transport.handle_request(
        method,
        full,
        body if body or method == "POST" else None,
        {"Content-Type": "application/json"},
    )
    transport.close()
    check(status, out, req)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=200))
def test_fuzz_raw_http_bytes(fuzz_server: ServerProcess, data: bytes) -> None:
    """Arbitrary bytes on the socket: the server answers 4xx or waits; it never dies."""
    import socket

    with socket.create_connection(("127.0.0.1", fuzz_server.port), timeout=2) as s:
        s.sendall(data + b"\r\n\r\n")
        s.settimeout(0.3)
        try:
            out = s.recv(65536)
        except TimeoutError:
            out = b""
    if out:
        assert out.startswith(b"HTTP/1.1 "), out[:100]
        assert not out.startswith(b"HTTP/1.1 5"), out[:300]
    assert connect(fuzz_server.url, "fuzzp").healthcheck() == {"API": "OK"}
