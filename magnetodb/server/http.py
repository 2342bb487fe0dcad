"""HTTP/1.1 over asyncio (uvloop when available) and httptools, calling ``App.handle``.

Requests are handled synchronously inside ``data_received`` (storage calls take
microseconds), so pipelined requests are answered strictly in order and no
request is ever half-processed at an ``await``. Keep-alive by default,
TCP_NODELAY on every connection, bodies capped (413), request heads capped
(431), framing errors answered with a 400 and a close, and back-pressure:
reading pauses while the peer does not read its responses.

The head limits hold although httptools buffers a header until it is complete:
complete headers are counted in ``on_header``, and a read that a message
spends entirely outside its body (a header still arriving, trailers) counts
whole, so a head can exceed the limit by one read at most before the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any

import httptools
import orjson

from magnetodb.errors import (
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    ValidationError,
)
from magnetodb.server.app import App

log = logging.getLogger("magnetodb.server")

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # room for a batch of maximum-size items
#: Request line and header fields of one request, in bytes (trailers count too). MagnetoDB's
#: API ran on eventlet.wsgi, whose MAX_TOTAL_HEADER_SIZE is 64 KiB; nginx allows 4 x 8 KiB
#: by default, Node 16 KiB. A MagnetoDB request needs well under 1 KiB.
MAX_HEAD_BYTES = 64 * 1024
#: Header fields of one request: Apache's LimitRequestFields and gunicorn's default.
MAX_HEADERS = 100
#: Bytes a header line costs beyond its name and value (": " and CRLF).
_HEADER_LINE_EXTRA = 4
IDLE_TIMEOUT = 300.0
LINGER = 2.0

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Request Entity Too Large",
    431: b"Request Header Fields Too Large",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}
_STATUS_LINES = {
    code: b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: " % (code, reason)
    for code, reason in _REASONS.items()
}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: Our addition to MagnetoDB's API: the server's own time in ``App.handle`` for this request,
#: in whole µs (routing, validation, storage, JSON), so a client can tell it from the network.
HANDLING_TIME_HEADER = b"X-Magnetodb-Handling-Time"


def _status_line(code: int) -> bytes:
    line = _STATUS_LINES.get(code)
    if line is None:
        line = b"HTTP/1.1 %d Status\r\nContent-Type: application/json\r\nContent-Length: " % code
    return line


class _Abort(Exception):
    """Stop parsing this connection and answer with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _head_too_large() -> RequestHeaderFieldsTooLarge:
    return RequestHeaderFieldsTooLarge(
        f"Request header fields are too large (at most {MAX_HEADERS} fields, "
        f"{MAX_HEAD_BYTES} bytes with the request line)"
    )


class HttpServer:
    """Shared state of one worker: the app, limits and the open connections."""

    def __init__(self, app: App, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body
        self.connections: set[HttpProtocol] = set()
        self.closing = False

    def protocol(self) -> HttpProtocol:
        return HttpProtocol(self)

    def close_idle(self, idle_for: float = 0.0) -> None:
        now = time.monotonic()
        for conn in list(self.connections):
            if not conn.busy and now - conn.last_active >= idle_for:
                conn.close()

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop keep-alive, close idle connections, wait for in-flight requests."""
        self.closing = True
        self.close_idle()
        deadline = time.monotonic() + grace
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            self.close_idle()
        for conn in list(self.connections):
            conn.close()


class HttpProtocol(asyncio.Protocol):
    __slots__ = (
        "app",
        "body",
        "body_len",
        "busy",
        "discarding",
        "head_bytes",
        "header_count",
        "headers",
        "last_active",
        "message_seq",
        "parser",
        "repeats",
        "server",
        "stalled_bytes",
        "transport",
        "url",
    )

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.url = b""
        self.headers: dict[str, str] = {}
        #: values of a header name sent more than once, joined when the head is complete
        self.repeats: dict[str, list[str]] | None = None
        self.head_bytes = 0
        self.header_count = 0
        #: bytes of reads a message spent entirely outside its body (see the module doc)
        self.stalled_bytes = 0
        self.message_seq = 0
        self.body: list[bytes] = []
        self.body_len = 0
        self.busy = False
        self.discarding = False
        self.last_active = time.monotonic()

    # -------------------------------------------------- asyncio callbacks

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if self.discarding:
            return
        seq, body_len = self.message_seq, self.body_len
        try:
            self.parser.feed_data(data)
            if self.busy and self.message_seq == seq and self.body_len == body_len:
                self.stalled_bytes += len(data)
                if self.stalled_bytes > MAX_HEAD_BYTES:
                    self._fail(_head_too_large())
        except _Abort as abort:
            self._fail(abort.error)
        except httptools.HttpParserUpgrade:
            self.close()
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            self._fail(cause.error if isinstance(cause, _Abort) else ValidationError("Bad request"))
        except httptools.HttpParserError as exc:
            self._fail(ValidationError(f"Malformed HTTP request: {exc}"))

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    # -------------------------------------------------- httptools callbacks

    def on_message_begin(self) -> None:
        self.busy = True
        self.message_seq += 1
        self.url = b""
        self.headers = {}
        self.repeats = None
        self.head_bytes = self.header_count = self.stalled_bytes = 0
        self.body = []
        self.body_len = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head_bytes += len(url)
        if len(self.url) > 16384:
            raise _Abort(ValidationError("Request URL is too long"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        self.head_bytes += len(name) + len(value) + _HEADER_LINE_EXTRA
        if self.head_bytes > MAX_HEAD_BYTES or self.header_count > MAX_HEADERS:
            raise _Abort(_head_too_large())
        key = name.decode("latin-1").lower()
        val = value.decode("latin-1")
        headers = self.headers
        if key not in headers:
            headers[key] = val
            return
        repeats = self.repeats
        if repeats is None:
            repeats = self.repeats = {}
        values = repeats.get(key)
        if values is None:
            repeats[key] = [headers[key], val]
        else:
            values.append(val)

    def on_headers_complete(self) -> None:
        if self.repeats is not None:
            self._join_repeats()
        length = self.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.server.max_body:
            raise _Abort(RequestEntityTooLarge("Request body is too large"))
        if self.headers.get("expect", "").lower() == "100-continue":
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self.body_len += len(body)
        if self.body_len > self.server.max_body:
            raise _Abort(RequestEntityTooLarge("Request body is too large"))
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.repeats is not None:  # trailers
            self._join_repeats()
        url = self.url.decode("latin-1")
        path, _, query = url.partition("?")
        if "#" in query:
            query = query.partition("#")[0]
        method = self.parser.get_method().decode("latin-1")
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        started = time.perf_counter_ns()
        status, payload = self.app.handle(method, path, query, self.headers, body)
        handled_us = (time.perf_counter_ns() - started) // 1000
        keep = self.parser.should_keep_alive() and not self.server.closing
        transport = self.transport
        if transport is None:
            return
        if keep:
            transport.write(
                b"%s%d\r\n%s: %d\r\n\r\n%s"
                % (_status_line(status), len(payload), HANDLING_TIME_HEADER, handled_us, payload)
            )
        else:
            transport.write(
                b"%s%d\r\n%s: %d\r\nConnection: close\r\n\r\n%s"
                % (_status_line(status), len(payload), HANDLING_TIME_HEADER, handled_us, payload)
            )
            transport.close()
        self.busy = False

    # -------------------------------------------------- helpers

    def _join_repeats(self) -> None:
        """A header sent N times: its values joined once, in order (RFC 9110 5.3)."""
        for key, values in self.repeats.items():  # type: ignore[union-attr]
            self.headers[key] = ", ".join(values)
        self.repeats = None

    def _fail(self, error: Exception) -> None:
        """Answer a framing-level error, then close after a linger.

        The peer may still be sending (a too-large body): closing at once would
        reset the connection and lose the answer, so reads are discarded for a
        moment after our FIN, as nginx's lingering close does.
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        status = getattr(error, "status", 400) or 400
        payload = orjson.dumps(error.to_body()) if hasattr(error, "to_body") else b"{}"
        transport.write(
            b"%s%d\r\nConnection: close\r\n\r\n%s" % (_status_line(status), len(payload), payload)
        )
        self.discarding = True
        self.busy = False
        if transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(LINGER, self.close)
        else:  # pragma: no cover - TCP transports can always write EOF
            transport.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def make_listener(
    host: str, port: int, backlog: int = 1024, reuse_port: bool = True
) -> socket.socket:
    """A listening TCP socket; SO_REUSEPORT lets each worker process own one on the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


async def serve_socket(server: HttpServer, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve on ``sock`` until ``stop`` is set, then shut down gracefully."""
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(server.protocol, sock=sock)

    async def sweep() -> None:
        while True:
            await asyncio.sleep(30)
            server.close_idle(IDLE_TIMEOUT)

    sweeper = loop.create_task(sweep())
    try:
        await stop.wait()
    finally:
        sweeper.cancel()
        srv.close()
        await server.shutdown()
        await srv.wait_closed()
