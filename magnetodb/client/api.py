"""``MagnetoClient``: MagnetoDB's v1 data API as Python methods (wire JSON in, parsed JSON out).

The client owns URLs, the token header, JSON encoding, error mapping and hooks;
the injected transport only moves bytes (httpx's split). An error response
raises the ``magnetodb.errors`` class named by its ``error.type``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from magnetodb.client.hooks import RequestStats
from magnetodb.client.transports import (
    InProcessTransport,
    Transport,
    http_transport,
    take_handling_us,
)
from magnetodb.errors import MagnetoError, MagnetoTransportError, ValidationError, error_from_body

log = logging.getLogger("magnetodb.client")
#: Quoted table paths a client remembers (a project has a few dozen tables).
TABLE_PATHS_KEPT = 1024

Hook = Callable[[RequestStats], None]


def _opt(body: dict[str, Any], **values: Any) -> dict[str, Any]:
    for k, v in values.items():
        if v is not None:
            body[k] = v
    return body


class MagnetoClient:
    """One project's view of a MagnetoDB server. Thread-safe if the transport is."""

    def __init__(
        self,
        base_url: str | None,
        project: str,
        transport: Transport | None = None,
        *,
        token: str | None = None,
        hooks: list[Hook] | None = None,
        timeout: float = 30.0,
    ) -> None:
        if transport is None:
            if base_url is None:
                raise ValueError("give a base_url or a transport")
            transport = http_transport(base_url, timeout=timeout)
        self.base_url = base_url
        self.project = project
        self.transport = transport
        self.prefix = "/v1/data/" + quote(project, safe="")
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            self.headers["X-Auth-Token"] = token
        self.hooks: list[Hook] = list(hooks or [])
        self._owned: list[Any] = []
        #: table name -> its quoted URL path (every request names one)
        self._table_paths: dict[str, str] = {}

    # ------------------------------------------------------------ plumbing

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        body: Any = None,
        table: str | None = None,
    ) -> Any:
        """Send one request; returns the parsed JSON or raises a MagnetoError. A ``bytes``
        body is sent as it is (the bulk load's lines)."""
        try:
            data = body if type(body) is bytes else orjson.dumps(body) if body is not None else None
        except TypeError as exc:
            raise ValidationError(f"request body is not JSON-serializable: {exc}") from exc
        hooks = self.hooks
        t0 = time.perf_counter_ns()
        try:
            status, raw = self.transport.handle_request(method, path, data, self.headers)
        except MagnetoTransportError as exc:
            if hooks:
                self._fire(operation, table, 0, data, b"", time.perf_counter_ns() - t0, exc)
            raise
        if status >= 400:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = None
            err = error_from_body(status, parsed)
            if not isinstance(parsed, dict):
                err.message = f"HTTP {status}: {raw[:200]!r}"
            if hooks:
                elapsed = time.perf_counter_ns() - t0
                self._fire(
                    operation, table, status, data, raw, elapsed, err, None, take_handling_us()
                )
            raise err
        try:
            result = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise MagnetoTransportError(f"response is not JSON: {raw[:200]!r}") from exc
        if hooks:
            elapsed = time.perf_counter_ns() - t0
            self._fire(
                operation, table, status, data, raw, elapsed, None, result, take_handling_us()
            )
        return result

    def _fire(
        self,
        operation: str,
        table: str | None,
        status: int,
        data: bytes | None,
        raw: bytes,
        duration: int,
        error: MagnetoError | None,
        result: Any = None,
        handling_us: int | None = None,
    ) -> None:
        read, by_table = 0, {}
        if result is not None:
            read, by_table = _counts(operation, table, result, data)
        stats = RequestStats(
            operation=operation,
            table=table,
            status=status,
            items_read=read,
            items_written=sum(by_table.values()),
            written_by_table=by_table,
            bytes_sent=len(data) if data else 0,
            bytes_received=len(raw),
            conditional_check_failed=error is not None
            and error.type == "ConditionalCheckFailedException",
            error_type=error.type if error is not None else None,
            duration_ns=duration,
            handling_us=handling_us,
        )
        for hook in self.hooks:
            try:
                hook(stats)
            except Exception:
                log.exception("MagnetoClient hook %r failed", hook)

    def _table_path(self, table: str, action: str = "") -> str:
        path = self._table_paths.get(table)
        if path is None:
            path = f"{self.prefix}/tables/{quote(table, safe='')}"
            if len(self._table_paths) < TABLE_PATHS_KEPT:
                self._table_paths[table] = path
        return path + "/" + action if action else path

    def close(self) -> None:
        self.transport.close()
        for resource in self._owned:
            resource.close()
        self._owned.clear()

    def __enter__(self) -> MagnetoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ tables

    def create_table(
        self,
        table_name: str,
        attribute_definitions: list[dict[str, str]],
        key_schema: list[dict[str, str]],
        local_secondary_indexes: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        body = {
            "table_name": table_name,
            "attribute_definitions": attribute_definitions,
            "key_schema": key_schema,
        }
        _opt(body, local_secondary_indexes=local_secondary_indexes)
        return self.request("create_table", "POST", self.prefix + "/tables", body, table_name)

    def describe_table(self, table_name: str) -> dict[str, Any]:
        return self.request("describe_table", "GET", self._table_path(table_name), None, table_name)

    def list_tables(
        self, limit: int | None = None, exclusive_start_table_name: str | None = None
    ) -> dict[str, Any]:
        params = _opt({}, limit=limit, exclusive_start_table_name=exclusive_start_table_name)
        path = self.prefix + "/tables" + ("?" + urlencode(params) if params else "")
        return self.request("list_tables", "GET", path)

    def delete_table(self, table_name: str) -> dict[str, Any]:
        return self.request(
            "delete_table", "DELETE", self._table_path(table_name), None, table_name
        )

    # ------------------------------------------------------------ items

    def put_item(
        self,
        table_name: str,
        item: dict[str, Any],
        expected: dict[str, Any] | None = None,
        return_values: str | None = None,
    ) -> dict[str, Any]:
        body = _opt({"item": item}, expected=expected, return_values=return_values)
        return self.request(
            "put_item", "POST", self._table_path(table_name, "put_item"), body, table_name
        )

    def get_item(
        self,
        table_name: str,
        key: dict[str, Any],
        attributes_to_get: list[str] | None = None,
        consistent_read: bool | None = None,
    ) -> dict[str, Any]:
        body = _opt(
            {"key": key}, attributes_to_get=attributes_to_get, consistent_read=consistent_read
        )
        return self.request(
            "get_item", "POST", self._table_path(table_name, "get_item"), body, table_name
        )

    def update_item(
        self,
        table_name: str,
        key: dict[str, Any],
        attribute_updates: dict[str, Any],
        expected: dict[str, Any] | None = None,
        return_values: str | None = None,
    ) -> dict[str, Any]:
        body = _opt(
            {"key": key, "attribute_updates": attribute_updates},
            expected=expected,
            return_values=return_values,
        )
        return self.request(
            "update_item", "POST", self._table_path(table_name, "update_item"), body, table_name
        )

    def delete_item(
        self,
        table_name: str,
        key: dict[str, Any],
        expected: dict[str, Any] | None = None,
        return_values: str | None = None,
    ) -> dict[str, Any]:
        body = _opt({"key": key}, expected=expected, return_values=return_values)
        return self.request(
            "delete_item", "POST", self._table_path(table_name, "delete_item"), body, table_name
        )

    def query(
        self,
        table_name: str,
        key_conditions: dict[str, Any],
        index_name: str | None = None,
        select: str | None = None,
        attributes_to_get: list[str] | None = None,
        limit: int | None = None,
        exclusive_start_key: dict[str, Any] | None = None,
        scan_index_forward: bool | None = None,
        consistent_read: bool | None = None,
    ) -> dict[str, Any]:
        body = _opt(
            {"key_conditions": key_conditions},
            index_name=index_name,
            select=select,
            attributes_to_get=attributes_to_get,
            limit=limit,
            exclusive_start_key=exclusive_start_key,
            scan_index_forward=scan_index_forward,
            consistent_read=consistent_read,
        )
        return self.request(
            "query", "POST", self._table_path(table_name, "query"), body, table_name
        )

    def scan(
        self,
        table_name: str,
        scan_filter: dict[str, Any] | None = None,
        attributes_to_get: list[str] | None = None,
        select: str | None = None,
        limit: int | None = None,
        exclusive_start_key: dict[str, Any] | None = None,
        segment: int | None = None,
        total_segments: int | None = None,
    ) -> dict[str, Any]:
        body = _opt(
            {},
            scan_filter=scan_filter,
            attributes_to_get=attributes_to_get,
            select=select,
            limit=limit,
            exclusive_start_key=exclusive_start_key,
            segment=segment,
            total_segments=total_segments,
        )
        return self.request("scan", "POST", self._table_path(table_name, "scan"), body, table_name)

    def batch_write_item(self, request_items: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        return self.request(
            "batch_write_item",
            "POST",
            self.prefix + "/batch_write_item",
            {"request_items": request_items},
        )

    def batch_get_item(self, request_items: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return self.request(
            "batch_get_item",
            "POST",
            self.prefix + "/batch_get_item",
            {"request_items": request_items},
        )

    def bulk_load(self, table_name: str, lines: bytes) -> dict[str, Any]:
        """MagnetoDB's streaming bulk load: ``lines`` holds one item (wire JSON) per line;
        the answer counts them: ``read``, ``processed``, ``unprocessed``, ``failed``, with
        ``last_item`` and ``failed_items`` (line -> the error's repr)."""
        return self.request(
            "bulk_load", "POST", self._table_path(table_name, "bulk_load"), lines, table_name
        )

    # ------------------------------------------------------------ other APIs

    def healthcheck(self, fullcheck: bool = False, engine: bool = False) -> dict[str, Any]:
        """``engine``: the full check with the storage engine and its durability (ours)."""
        path = "/healthcheck" + ("?fullcheck=true" if fullcheck or engine else "")
        path += "&engine=true" if engine else ""
        return self.request("healthcheck", "GET", path)

    def table_usage(self, table_name: str, metrics: str | None = None) -> dict[str, Any]:
        """Monitoring API: ``{"size": bytes, "item_count": n}`` of one table."""
        project, table = quote(self.project, safe=""), quote(table_name, safe="")
        path = f"/v1/monitoring/projects/{project}/tables/{table}"
        if metrics:
            path += "?" + urlencode({"metrics": metrics})
        return self.request("table_usage", "GET", path, None, table_name)

    @staticmethod
    def table_names(list_tables_result: dict[str, Any]) -> list[str]:
        """Names from a list_tables answer (MagnetoDB only gives links)."""
        return [t["href"].rsplit("/", 1)[1] for t in list_tables_result.get("tables", [])]


def _counts(
    operation: str, table: str | None, result: Any, data: bytes | None
) -> tuple[int, dict[str, int]]:
    """(items read, items written per table) of a successful response."""
    if operation == "get_item":
        return (1 if "item" in result else 0), {}
    if operation == "query":
        return result.get("count", 0), {}
    if operation == "scan":
        return result.get("scanned_count", 0), {}
    if operation == "batch_get_item":
        return sum(len(v) for v in result.get("responses", {}).values()), {}
    if operation in ("put_item", "update_item", "delete_item") and table is not None:
        return 0, {table: 1}
    if operation == "bulk_load" and table is not None:
        return 0, {table: result.get("processed", 0)}
    if operation == "batch_write_item" and data:
        left = result.get("unprocessed_items", {})
        return 0, {
            name: len(requests) - len(left.get(name, ()))
            for name, requests in orjson.loads(data)["request_items"].items()
        }
    return 0, {}


def connect(
    url: str, project: str, token: str | None = None, *, timeout: float = 30.0
) -> MagnetoClient:
    """A client over pooled keep-alive HTTP (thread-safe).

    ``url`` may name several API servers of one store, ``http://H1:P1,H2:P2``:
    threads spread over them and leave one that refuses connections.
    """
    return MagnetoClient(url, project, http_transport(url, timeout=timeout), token=token)


def connect_inproc(
    project: str,
    data_dir: str | None = None,
    *,
    storage: Any = None,
    tokens: dict[str, str] | None = None,
    token: str | None = None,
    max_item_bytes: int | None = None,
    etcd_endpoints: Sequence[str] | None = None,
) -> MagnetoClient:
    """A client calling the server app in this process.

    The memory engine unless ``data_dir`` (LMDB), ``etcd_endpoints`` (an etcd
    cluster's members, HOST:PORT) or a shared ``storage`` is given.
    """
    from magnetodb.server.app import App
    from magnetodb.storage import open_storage

    owned = storage is None
    if storage is None:
        options: dict[str, Any] = {}
        if max_item_bytes is not None:
            options["max_item_bytes"] = max_item_bytes
        if etcd_endpoints:
            storage = open_storage("etcd", endpoints=list(etcd_endpoints), **options)
        else:
            storage = open_storage("lmdb" if data_dir else "memory", data_dir, **options)
    client = MagnetoClient(None, project, InProcessTransport(App(storage, tokens)), token=token)
    if owned:
        client._owned.append(storage)
    return client
