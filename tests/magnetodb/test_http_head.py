"""The request head's limits: 431 past them, repeated headers joined in linear time, and a
flooding client does not stall the others (a real server, one worker, so both share it)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from magnetodb.server.http import MAX_HEAD_BYTES, MAX_HEADERS
from magnetodb.server.process import ServerProcess

#: A healthcheck on an idle server takes about a millisecond; this leaves room for a
#: loaded CI machine. A 16 MB flood of one repeated header held the worker for minutes
#: when every repeat re-copied the joined value.
ANSWER_BOUND_S = 3.0
FLOOD_BYTES = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(str(tmp_path_factory.mktemp("head") / "data"), workers=1) as srv:
        yield srv


def _exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` (the server may close early), return everything it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _head(headers: bytes, path: bytes = b"/healthcheck") -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n" % (path, headers)


def test_head_within_the_limits_is_served(one_worker: ServerProcess) -> None:
    filler = b"X-Fill: " + b"a" * 1000 + b"\r\n"
    headers = filler * ((MAX_HEAD_BYTES - 2048) // len(filler))
    assert _status(_exchange(one_worker.port, _head(headers))) == 200
    many = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS - 3))
    assert _status(_exchange(one_worker.port, _head(many))) == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n", id="one-long-value"),
        pytest.param(b"X-Rep: a\r\n" * (MAX_HEAD_BYTES // 10 + 1), id="one-name-repeated"),
        pytest.param(b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)), id="count"),
        pytest.param(b"X-Huge: " + b"a" * (4 * 1024 * 1024) + b"\r\n", id="megabytes"),
    ],
)
def test_oversized_head_is_431(one_worker: ServerProcess, headers: bytes) -> None:
    answer = _exchange(one_worker.port, _head(headers))
    assert _status(answer) == 431
    assert b"Connection: close" in answer.split(b"\r\n\r\n", 1)[0]
    doc = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert doc["code"] == 431
    assert doc["title"] == "Request Header Fields Too Large"
    assert doc["error"]["type"] == "RequestHeaderFieldsTooLarge"


def test_the_url_counts_toward_the_head(one_worker: ServerProcess) -> None:
    path = b"/nowhere/" + b"a" * 10000
    filler = b"X-Fill: " + b"a" * (MAX_HEAD_BYTES - 8000) + b"\r\n"
    assert _status(_exchange(one_worker.port, _head(b"", path))) == 404
    assert _status(_exchange(one_worker.port, _head(filler))) == 200
    assert _status(_exchange(one_worker.port, _head(filler, path))) == 431


def test_repeated_headers_are_joined_in_order(one_worker: ServerProcess) -> None:
    body = orjson.dumps(
        {
            "table_name": "joined",
            "attribute_definitions": [{"attribute_name": "h", "attribute_type": "S"}],
            "key_schema": [{"attribute_name": "h", "key_type": "HASH"}],
        }
    )
    answer = _exchange(
        one_worker.port,
        b"POST /v1/data/joinp/tables HTTP/1.1\r\nHost: a\r\nHost: b\r\nHost: c\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
    )
    assert _status(answer) == 200
    links = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["table_description"]["links"]
    assert links[0]["href"] == "http://a, b, c/v1/data/joinp/tables/joined"


def test_a_flood_does_not_stall_other_clients(one_worker: ServerProcess, tmp_path: Path) -> None:
    port = one_worker.port
    line = b"X-Flood: a\r\n"
    flood = b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n" + line * (FLOOD_BYTES // len(line))
    flood_answer: list[bytes] = []
    flooder = threading.Thread(
        target=lambda: flood_answer.append(_exchange(port, flood + b"\r\n", timeout=60)),
        daemon=True,
    )
    flooder.start()
    slowest, polls = 0.0, 0
    started = time.monotonic()
    while (flooder.is_alive() or polls < 20) and time.monotonic() - started < 60:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_BOUND_S)
        began = time.monotonic()
        try:
            conn.request("GET", "/healthcheck")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        except TimeoutError:
            pytest.fail(f"/healthcheck got no answer within {ANSWER_BOUND_S} s during a flood")
        finally:
            conn.close()
        slowest = max(slowest, time.monotonic() - began)
        polls += 1
        time.sleep(0.01)
    flooder.join(60)
    assert slowest < ANSWER_BOUND_S
    assert flood_answer
    assert _status(flood_answer[0]) == 431
