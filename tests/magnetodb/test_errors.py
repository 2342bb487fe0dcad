"""Every error type and status, in MagnetoDB's error body; bad input is a 4xx, never a 500."""

from __future__ import annotations

import re
import socket

import orjson
import pytest

from magnetodb.client import MagnetoClient
from magnetodb.errors import (
    ERROR_TYPES,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    ValidationError,
    error_from_body,
)
from magnetodb.server.app import App
from magnetodb.server.process import ServerProcess
from magnetodb.storage import open_storage
from tests.magnetodb.support import S, make_table


def assert_error_body(body: bytes, status: int, etype: str) -> dict:
    doc = orjson.loads(body)
    assert set(doc) == {"code", "title", "explanation", "error"}
    assert doc["code"] == status
    assert {"message", "type", "traceback"} <= set(doc["error"])
    assert doc["error"]["type"] == etype
    assert doc["error"]["traceback"] is None
    return doc


@pytest.fixture
def app() -> App:
    return App(open_storage("memory"))


def call(app: App, method: str, path: str, body: bytes = b"", query: str = "") -> tuple[int, bytes]:
    return app.handle(method, path, query, {"host": "h"}, body)


def test_error_body_shape(app: App) -> None:
    _, body = call(app, "GET", "/v1/data/p1/tables/missing")
    doc = assert_error_body(body, 404, "TableNotExistsException")
    assert doc["title"] == "Not Found"
    assert doc["error"]["message"] == "Table 'missing' does not exist"
    _status, body = call(app, "POST", "/v1/data/p1/tables", b"{}")
    doc = assert_error_body(body, 400, "ValidationError")
    assert doc["title"] == "Bad Request"
    assert doc["explanation"].startswith("The server could not comply")


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[1,2",
        b"not json",
        b"\xff\xfe",
        b'{"a":NaN}',
        b"",
        b"null",
        b"[]",
        b"42",
        b'"x"',
        b"[" * 100 + b"]" * 100,
        b'{"item":' * 80 + b"1" + b"}" * 80,
    ],
)
def test_malformed_json_is_400(app: App, body: bytes) -> None:
    call(
        app,
        "POST",
        "/v1/data/p1/tables",
        orjson.dumps(
            {
                "table_name": "tbl",
                "attribute_definitions": [{"attribute_name": "h", "attribute_type": "S"}],
                "key_schema": [{"attribute_name": "h", "key_type": "HASH"}],
            }
        ),
    )
    for path in (
        "/v1/data/p1/tables",
        "/v1/data/p1/tables/tbl/put_item",
        "/v1/data/p1/batch_get_item",
    ):
        status, out = call(app, "POST", path, body)
        assert status == 400, (path, out)
        assert_error_body(out, 400, "ValidationError")


def test_json_nesting_limit_is_exact() -> None:
    """64 levels parse; 65 are refused before any handler walks them, braces in strings
    notwithstanding."""
    from magnetodb.server.request import Request
    from magnetodb.server.validation import JSON_DEPTH_LIMIT

    def request(depth: int, padding: str = "") -> Request:
        body = b'{"a":' * depth + orjson.dumps(padding) + b"}" * depth
        return Request("POST", "/", "", {}, body, {})

    assert request(JSON_DEPTH_LIMIT).json()
    assert request(JSON_DEPTH_LIMIT, "{[" * 100).json()  # brackets in a string: no nesting
    with pytest.raises(ValidationError, match="nested too deeply"):
        request(JSON_DEPTH_LIMIT + 2).json()


def test_routing_errors(app: App) -> None:
    status, body = call(app, "GET", "/v1/data/p1/nothing")
    assert status == 404
    assert_error_body(body, 404, "NotFound")
    status, body = call(app, "GET", "/healthcheck/sub")
    assert status == 404
    status, body = call(app, "PUT", "/v1/data/p1/tables/tbl")  # UpdateTable: not implemented
    assert status == 405
    assert_error_body(body, 405, "MethodNotAllowed")
    status, body = call(app, "GET", "/v1/data/p1/tables/tbl/get_item")
    assert status == 405


@pytest.mark.parametrize(
    "path",
    [
        "/v1/data/bad%20project/tables",
        "/v1/data/p1/tables/a%2Fb",
        "/v1/data/p1/tables/xx",
        "/v1/data/" + "p" * 300 + "/tables",
    ],
)
def test_names_out_of_pattern(app: App, path: str) -> None:
    status, body = call(app, "GET", path)
    assert status == 400
    assert_error_body(body, 400, "ValidationError")


def test_wrong_types_everywhere(client: MagnetoClient) -> None:
    make_table(client, "tbl")
    key = {"h": S("a"), "r": S("b")}
    bad_bodies = [
        ("put_item", {"item": []}),
        ("put_item", {"item": {"h": "a"}}),
        ("put_item", {"item": key, "expected": []}),
        ("put_item", {"item": key, "return_values": 1}),
        ("put_item", {"item": key, "time_to_live": -1}),
        ("get_item", {"key": key, "consistent_read": "yes"}),
        ("get_item", {"key": key, "attributes_to_get": "h"}),
        ("get_item", {"key": key, "attributes_to_get": ["h", "h"]}),
        ("update_item", {"key": key, "attribute_updates": []}),
        ("update_item", {"key": key, "attribute_updates": {"x": "PUT"}}),
        ("query", {"key_conditions": []}),
        (
            "query",
            {
                "key_conditions": {
                    "h": {"comparison_operator": "EQ", "attribute_value_list": S("a")}
                }
            },
        ),
        ("query", {"key_conditions": {"h": {"attribute_value_list": [S("a")]}}}),
        (
            "query",
            {
                "key_conditions": {
                    "h": {"comparison_operator": "EQ", "attribute_value_list": [S("a")]}
                },
                "limit": 1.5,
            },
        ),
        (
            "query",
            {
                "key_conditions": {
                    "h": {"comparison_operator": "EQ", "attribute_value_list": [S("a")]}
                },
                "scan_index_forward": "no",
            },
        ),
        ("scan", {"limit": "lots"}),
        (
            "scan",
            {
                "scan_filter": {
                    "x": {
                        "comparison_operator": "BETWEEN",
                        "attribute_value_list": [S("a"), {"N": "1"}],
                    }
                }
            },
        ),
        ("delete_item", {"key": "a"}),
    ]
    for action, body in bad_bodies:
        with pytest.raises(ValidationError) as err:
            client.request(action, "POST", client._table_path("tbl", action), body)
        assert err.value.status == 400, (action, body)


def test_every_error_class_round_trips() -> None:
    for name, cls in ERROR_TYPES.items():
        exc = cls("msg")
        body = exc.to_body()
        back = error_from_body(exc.status or 500, body)
        assert type(back) is cls
        assert back.type == name
        assert back.message == "msg"
        assert back.status == cls.status
    unknown = error_from_body(400, {"error": {"type": "SomethingNew", "message": "m"}})
    assert unknown.type == "SomethingNew"
    assert unknown.status == 400


def test_unexpected_exception_is_a_500_without_details(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.storage, "list_tables", boom)
    status, body = call(app, "GET", "/v1/data/p1/tables")
    assert status == 500
    doc = orjson.loads(body)
    assert doc["error"]["message"] == "An Internal Error Occurred"
    assert "secret" not in body.decode()


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
    return out


def test_http_framing_errors(lmdb_server: ServerProcess) -> None:
    port = lmdb_server.port
    out = _raw(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")
    assert_error_body(out.split(b"\r\n\r\n", 1)[1], 400, "ValidationError")
    out = _raw(
        port, b"POST /v1/data/p1/tables HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"
    )
    assert out.startswith(b"HTTP/1.1 413 ")
    assert_error_body(out.split(b"\r\n\r\n", 1)[1], 413, "RequestEntityTooLarge")
    out = _raw(port, b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


def test_http_pipelining_and_keepalive(lmdb_server: ServerProcess) -> None:
    reqs = (
        b"".join(
            b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p
            for p in (b"/healthcheck", b"/nope", b"/healthcheck?fullcheck=true")
        )
        + b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    out = _raw(lmdb_server.port, reqs)
    statuses = re.findall(rb"HTTP/1.1 (\d{3}) ", out)
    assert statuses == [b"200", b"404", b"200", b"200"]
    assert out.index(b'"Storage": "OK"') > out.index(b"NotFound")  # answered in order


def test_http_chunked_body_and_expect_continue(lmdb_server: ServerProcess) -> None:
    body = orjson.dumps(
        {
            "table_name": "chunky",
            "attribute_definitions": [{"attribute_name": "h", "attribute_type": "S"}],
            "key_schema": [{"attribute_name": "h", "key_type": "HASH"}],
        }
    )
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 20]), body[i : i + 20]) for i in range(0, len(body), 20)
    )
    out = _raw(
        lmdb_server.port,
        b"POST /v1/data/chunkp/tables HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Expect: 100-continue\r\nConnection: close\r\n\r\n" + chunked + b"0\r\n\r\n",
    )
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert b'"table_status":"ACTIVE"' in out


def test_client_maps_http_level_errors(http_client: MagnetoClient) -> None:
    with pytest.raises(NotFound):
        http_client.request("x", "GET", "/nowhere")
    with pytest.raises(MethodNotAllowed):
        http_client.request("x", "DELETE", "/healthcheck")
    with pytest.raises(RequestEntityTooLarge):
        http_client.request(
            "x", "POST", http_client.prefix + "/tables", {"pad": "x" * (65 * 1024 * 1024)}
        )
