"""Client: hooks/RequestStats, injected transports, transport failures, helpers."""

from __future__ import annotations

import socket

import pytest

from magnetodb.client import MagnetoClient, RequestStats, StatsCollector, connect, connect_inproc
from magnetodb.client.transports import HTTPTransport
from magnetodb.errors import ConditionalCheckFailedException, MagnetoTransportError, ValidationError
from tests.magnetodb.support import S, make_table


def test_hooks_count_requests_items_bytes(client: MagnetoClient) -> None:
    stats = StatsCollector()
    client.hooks.append(stats)
    make_table(client, "hooked", range_key=None)
    client.put_item("hooked", {"h": S("a")}, expected={"h": {"exists": False}})
    with pytest.raises(ConditionalCheckFailedException):
        client.put_item("hooked", {"h": S("a")}, expected={"h": {"exists": False}})
    client.get_item("hooked", {"h": S("a")})
    client.get_item("hooked", {"h": S("zz")})
    client.batch_write_item(
        {"hooked": [{"put_request": {"item": {"h": S(f"k{i}")}}} for i in range(3)]}
    )
    client.batch_get_item({"hooked": {"keys": [{"h": S("k0")}, {"h": S("k1")}, {"h": S("nope")}]}})
    client.scan("hooked")
    calls = stats.calls
    assert [c.operation for c in calls] == [
        "create_table",
        "put_item",
        "put_item",
        "get_item",
        "get_item",
        "batch_write_item",
        "batch_get_item",
        "scan",
    ]
    assert all(isinstance(c, RequestStats) and c.duration_ns > 0 for c in calls)
    failed = calls[2]
    assert failed.status == 400
    assert failed.conditional_check_failed
    assert failed.error_type == "ConditionalCheckFailedException"
    assert failed.items_written == 0
    assert calls[1].items_written == 1
    assert calls[1].table == "hooked"
    assert calls[1].status == 200
    assert [c.items_read for c in calls[3:5]] == [1, 0]
    assert calls[5].items_written == 3
    assert calls[6].items_read == 2
    assert calls[7].items_read == 4
    assert all(c.bytes_sent > 0 and c.bytes_received > 0 for c in calls if c.operation != "scan")
    assert stats.total("items_written") == 4


def test_hooks_carry_the_store_handling_time(client: MagnetoClient) -> None:
    """Every answer, error answers too, says how long the store spent on it (our header,
    or App.handle timed in process), and that is within the client's round trip."""
    stats = StatsCollector()
    client.hooks.append(stats)
    make_table(client, "timed", range_key=None)
    client.put_item("timed", {"h": S("a")})
    with pytest.raises(ConditionalCheckFailedException):
        client.put_item("timed", {"h": S("a")}, expected={"h": {"exists": False}})
    assert len(stats.calls) == 3
    for call in stats.calls:
        assert call.handling_us is not None
        assert call.handling_us >= 0
        assert call.handling_us * 1000 <= call.duration_ns


def test_server_sends_its_handling_time_header(lmdb_server: object) -> None:
    address = (lmdb_server.host, lmdb_server.port)  # type: ignore[attr-defined]
    with socket.create_connection(address) as sock:
        sock.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.partition(b"\r\n\r\n")[0].decode().lower()
    value = [line for line in head.split("\r\n") if line.startswith("x-magnetodb-handling-time:")]
    assert len(value) == 1
    assert int(value[0].split(":")[1]) >= 0


def test_broken_hook_does_not_break_the_call(client: MagnetoClient) -> None:
    def bad_hook(_: RequestStats) -> None:
        raise RuntimeError("hook bug")

    client.hooks.append(bad_hook)
    assert client.list_tables() == {"tables": []}


class RecordingTransport:
    """A fault-injecting wrapper, the seam other packages use."""

    def __init__(self, inner: object, fail_every: int = 0) -> None:
        self.inner = inner
        self.fail_every = fail_every
        self.seen: list[tuple[str, str]] = []

    def handle_request(
        self, method: str, path: str, body: bytes | None, headers: dict
    ) -> tuple[int, bytes]:
        self.seen.append((method, path))
        if self.fail_every and len(self.seen) % self.fail_every == 0:
            raise MagnetoTransportError("injected network failure")
        return self.inner.handle_request(method, path, body, headers)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def test_injected_transport_sees_every_request_and_can_fail() -> None:
    base = connect_inproc("p1")
    wrapped = RecordingTransport(base.transport, fail_every=3)
    client = MagnetoClient(None, "p1", transport=wrapped)
    stats = StatsCollector()
    client.hooks.append(stats)
    make_table(client, "wrapped", range_key=None)
    client.put_item("wrapped", {"h": S("a")})
    with pytest.raises(MagnetoTransportError):
        client.get_item("wrapped", {"h": S("a")})
    assert stats.calls[-1].status == 0
    assert stats.calls[-1].error_type == "MagnetoTransportError"
    assert wrapped.seen[1] == ("POST", "/v1/data/p1/tables/wrapped/put_item")
    client.close()


def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = connect(f"http://127.0.0.1:{port}", "p1", timeout=2)
    with pytest.raises(MagnetoTransportError, match="cannot connect"):
        client.list_tables()


def test_server_dropping_the_connection_is_a_transport_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = connect(f"http://127.0.0.1:{listener.getsockname()[1]}", "p1", timeout=5)
    import threading

    def drop() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    t = threading.Thread(target=drop)
    t.start()
    with pytest.raises(MagnetoTransportError, match="closed"):
        client.list_tables()
    t.join()
    listener.close()


def test_pool_reuses_connections_and_survives_server_side_close(http_client: MagnetoClient) -> None:
    transport = http_client.transport
    assert isinstance(transport, HTTPTransport)
    for _ in range(5):
        http_client.list_tables()
    assert len(transport._idle) == 1
    transport._idle[0].sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed it
    assert http_client.list_tables() == {"tables": []}


def test_unserializable_body_is_a_validation_error(client: MagnetoClient) -> None:
    with pytest.raises(ValidationError):
        client.put_item("tbl", {"h": {"S": object()}})


def test_base_url_with_path_prefix_and_table_names_helper(lmdb_server: object) -> None:
    with pytest.raises(ValueError, match="only http"):
        HTTPTransport("https://example.invalid")
    assert MagnetoClient.table_names(
        {"tables": [{"href": "http://x/v1/data/p/tables/abc", "rel": "self"}]}
    ) == ["abc"]
