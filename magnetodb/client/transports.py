"""Client transports: ``handle_request(method, path, body, headers) -> (status, body)``.

* :class:`HTTPTransport`: pooled keep-alive HTTP/1.1 over plain sockets. Chosen
  by measurement over http.client (see magnetodb/README.md): it builds the
  request in one bytes object, sends it with one ``sendall`` and usually reads
  the whole response with one ``recv``. Thread-safe: each call takes a
  connection from a lock-free deque and gives it back.
* :class:`ServersTransport`: several API servers of one store
  (``http://H1:P1,H2:P2``): each thread keeps to one server, assigned round
  robin; a server that refuses the connection sends the thread to the next.
* :class:`InProcessTransport`: calls ``App.handle`` directly, no HTTP.

Every transport leaves the store's own handling time of the calling thread's
last request for ``take_handling_us()``: the server's
``X-Magnetodb-Handling-Time`` header (µs; our addition to MagnetoDB's API), or,
in process, ``App.handle`` timed directly. The interface stays
``(status, body)``, so a transport that knows nothing of it still fits.

Network failures raise :class:`~magnetodb.errors.MagnetoTransportError` (raised
``from`` the OSError; :class:`~magnetodb.errors.MagnetoConnectError` when no
connection could be made, so nothing was sent). A pooled connection is checked
for a peer close before reuse, so a request is never sent on a dead connection
and never retried.
"""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from magnetodb.errors import MagnetoConnectError, MagnetoTransportError

_handling = threading.local()
_HANDLING_HEADER = b"x-magnetodb-handling-time"


def take_handling_us() -> int | None:
    """The store's handling time (µs) of this thread's last request, once (None: unknown)."""
    value = getattr(_handling, "us", None)
    _handling.us = None
    return value


class Transport(Protocol):
    def handle_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]: ...

    def close(self) -> None: ...


class _Conn:
    __slots__ = ("buf", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def alive(self) -> bool:
        """False if the server closed (or wrote to) this idle connection."""
        if self.buf:
            return False
        poller = select.poll()  # poll, not select: no FD_SETSIZE limit
        try:
            poller.register(self.sock, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def exchange(self, data: bytes) -> tuple[int, bytes, bool]:
        sock = self.sock
        try:
            sock.sendall(data)
        except OSError:
            # The server may have answered early (413) and stopped reading: use its answer.
            try:
                sock.shutdown(socket.SHUT_WR)
                return (*self._read(sock, self.buf)[:2], False)
            except (OSError, ValueError):
                pass
            raise
        return self._read(sock, self.buf)

    def _read(self, sock: socket.socket, buf: bytes) -> tuple[int, bytes, bool]:
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            chunk = sock.recv(262144)
            if not chunk:
                raise ConnectionError("server closed the connection before responding")
            buf += chunk
            if len(buf) > 65536 and buf.find(b"\r\n\r\n") < 0:
                raise ConnectionError("response header too large")
        head = buf[:end]
        status = int(head[9:12])
        if status == 100:  # interim response: drop it and read the real one
            return self._read(sock, buf[end + 4 :])
        length = -1
        keep = True
        _handling.us = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == _HANDLING_HEADER:
                _handling.us = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
            elif name == b"transfer-encoding":
                raise ConnectionError("chunked responses are not supported")
        start = end + 4
        if length < 0:  # no length: body runs to EOF
            while True:
                chunk = sock.recv(262144)
                if not chunk:
                    break
                buf += chunk
            self.buf = b""
            return status, buf[start:], False
        stop = start + length
        if len(buf) < stop:  # the rest read into one buffer (``buf += chunk`` copies it all
            # again per chunk: quadratic on a body of megabytes)
            body = bytearray(length)
            view = memoryview(body)
            got = len(buf) - start
            view[:got] = buf[start:]
            while got < length:
                read = sock.recv_into(view[got:])
                if not read:
                    raise ConnectionError("server closed the connection mid-response")
                got += read
            self.buf = b""
            return status, bytes(body), keep
        self.buf = buf[stop:]
        return status, buf[start:stop], keep

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class HTTPTransport:
    """Pooled keep-alive HTTP/1.1 on raw sockets (TCP_NODELAY)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, max_idle: int = 256) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", ""):
            raise ValueError(f"only http:// URLs are supported, not {base_url!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.host_header = parts.netloc or f"{self.host}:{self.port}"
        self.timeout = timeout
        self.max_idle = max_idle
        self._idle: deque[_Conn] = deque()
        self._closed = False

    def _connect(self) -> _Conn:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise MagnetoConnectError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Conn(sock)

    def _acquire(self) -> _Conn:
        idle = self._idle
        while True:
            try:
                conn = idle.pop()
            except IndexError:
                return self._connect()
            if conn.alive():
                return conn
            conn.close()

    def handle_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if self._closed:
            raise MagnetoTransportError("transport is closed", sent=False)
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        if body is None:
            data = (head + "\r\n").encode("latin-1")
        else:
            data = (head + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
        conn = self._acquire()
        try:
            status, payload, keep = conn.exchange(data)
        except (OSError, ValueError) as exc:
            conn.close()
            raise MagnetoTransportError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if keep and not self._closed and len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            conn.close()
        return status, payload

    def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()


class ServersTransport:
    """Several API servers of one store, as a client library of a load-balanced service.

    Each thread (or greenlet, under gevent) keeps to one server, given round robin
    as threads first send, so connections spread over the servers. When a server
    refuses the connection (it is down) the thread moves to the next one and
    sends there: nothing had been sent. A request that fails after it was sent
    is the caller's error (its outcome is unknown), as it would be for any client.
    """

    def __init__(
        self, base_urls: Sequence[str], *, timeout: float = 30.0, max_idle: int = 256
    ) -> None:
        if not base_urls:
            raise ValueError("no server URLs")
        self.servers = [HTTPTransport(url, timeout=timeout, max_idle=max_idle) for url in base_urls]
        self._turn = itertools.count()
        self._local = threading.local()

    def handle_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        local = self._local
        count = len(self.servers)
        index = getattr(local, "server", None)
        if index is None:
            index = local.server = next(self._turn) % count
        for _ in range(count - 1):
            try:
                return self.servers[index].handle_request(method, path, body, headers)
            except MagnetoConnectError:
                index = local.server = (index + 1) % count
        return self.servers[index].handle_request(method, path, body, headers)

    def close(self) -> None:
        for server in self.servers:
            server.close()


def server_urls(base_url: str) -> list[str]:
    """``http://H1:P1,H2:P2/prefix`` -> one base URL per server (a URL with one server: itself)."""
    parts = urlsplit(base_url)
    hosts = [host.strip() for host in parts.netloc.split(",") if host.strip()]
    if len(hosts) <= 1:
        return [base_url]
    return [f"{parts.scheme or 'http'}://{host}{parts.path}" for host in hosts]


def http_transport(base_url: str, *, timeout: float = 30.0) -> HTTPTransport | ServersTransport:
    """The transport for ``base_url``: one server, or several (comma-separated hosts)."""
    urls = server_urls(base_url)
    if len(urls) == 1:
        return HTTPTransport(base_url, timeout=timeout)
    return ServersTransport(urls, timeout=timeout)


class InProcessTransport:
    """Calls the server application in this process: same routing, validation and errors."""

    def __init__(self, app: object, *, host: str = "localhost") -> None:
        self.app = app
        self.host = host

    def handle_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        path, _, query = path.partition("?")
        lowered = {k.lower(): v for k, v in headers.items()}
        lowered.setdefault("host", self.host)
        started = time.perf_counter_ns()
        answer = self.app.handle(method, path, query, lowered, body or b"")  # type: ignore[attr-defined]
        _handling.us = (time.perf_counter_ns() - started) // 1000
        return answer

    def close(self) -> None:
        """Nothing to release: the storage belongs to whoever opened it."""
