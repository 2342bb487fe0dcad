"""The MagnetoDB backend's plumbing: client, schema, error translation and request helpers.

The area modules (``volumes.py``, ``snapshots.py``...) subclass ``MagnetoCore``
and hold only the design's data-model logic: which items to read and write,
in which order. Every request goes through ``self.client`` so the measurement
layer sees it (client hooks); nothing here retries silently except the
optimistic-concurrency loop, whose failed attempts the hooks count as
conditional-check failures.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from cinderdb import exception
from cinderdb.base import Backend, Features, RoundTrip
from cinderdb.magneto.features import features_for
from cinderdb.magneto.items import Wire, n, s
from cinderdb.magneto.tables import DERIVED_TABLES, TABLE_BY_NAME, TABLES, Table
from cinderdb.quota import DEFAULT_QUOTA_CLASS, DEFAULT_QUOTA_CLASS_LIMITS
from cinderdb.records import FIELDS, utcnow
from magnetodb.errors import (
    ConditionalCheckFailedException,
    MagnetoError,
    TableAlreadyExistsException,
    TableNotExistsException,
)
from magnetodb.storage.base import DURABILITY

#: Attempts of one optimistic read-modify-write before DBConflict.
MAX_ATTEMPTS = 64
#: Keys per batch_get_item request, items per batch_write_item request.
BATCH_GET_SIZE = 100
BATCH_WRITE_SIZE = 25
#: Items per scan/query page when a helper reads everything.
PAGE_SIZE = 1000

Change = Callable[[Wire | None], Wire | None]


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise MagnetoDB errors as Cinder's ``DBError``, once, at the backend boundary.

    Conditional-check failures are API outcomes the area code handles itself;
    one escaping here is a bug, and is still a ``DBError``.
    """
    try:
        yield
    except MagnetoError as error:
        raise exception.DBError(reason=f"{type(error).__name__}: {error}") from error


class MagnetoUrl(NamedTuple):
    """A MagnetoDB backend URL, parsed."""

    scheme: str
    #: ``http://HOST:PORT`` of the API server, or ``http://H1:P1,H2:P2`` of several
    #: (the client spreads over them); None: the server runs in this process
    base_url: str | None
    project: str
    #: the in-process server's LMDB directory (None: memory, or etcd)
    data_dir: str | None = None
    #: the in-process server's etcd cluster: its members' HOST:PORT
    etcd_endpoints: tuple[str, ...] = ()


def parse_url(url: str) -> MagnetoUrl:
    """A backend URL's parts.

    ``magnetodb://HOST:PORT/PROJECT`` talks HTTP to a server, and
    ``magnetodb://H1:P1,H2:P2/PROJECT`` to several API servers of one store;
    ``magnetodb+inproc:///PROJECT[?data_dir=DIR | ?etcd=H1:P1,H2:P2]`` runs the
    server in-process (memory storage, LMDB in DIR, or an etcd cluster).
    """
    parts = urlsplit(url)
    project = unquote(parts.path.lstrip("/"))
    if not project:
        raise ValueError(f"{url!r} names no project (expected .../PROJECT)")
    if parts.scheme == "magnetodb":
        hosts = [host for host in parts.netloc.split(",") if host]
        if not hosts:
            raise ValueError(f"{url!r} names no server (expected magnetodb://HOST:PORT/PROJECT)")
        return MagnetoUrl(parts.scheme, f"http://{','.join(hosts)}", project)
    if parts.scheme == "magnetodb+inproc":
        query = parse_qs(parts.query)
        data_dir = query.get("data_dir", [None])[0]
        etcd = tuple(e for e in ",".join(query.get("etcd", [])).split(",") if e)
        if data_dir and etcd:
            raise ValueError(f"{url!r}: data_dir (LMDB) and etcd name two stores; give one")
        return MagnetoUrl(parts.scheme, None, project, data_dir, etcd)
    raise ValueError(f"not a MagnetoDB URL: {url!r}")


def open_client(url: str, token: str | None = None) -> Any:
    """A MagnetoDB client for a backend URL (HTTP, or the server in this process)."""
    from magnetodb.client import connect, connect_inproc

    parsed = parse_url(url)
    if parsed.base_url is not None:
        return connect(parsed.base_url, parsed.project, token=token)
    return connect_inproc(
        parsed.project, data_dir=parsed.data_dir, etcd_endpoints=parsed.etcd_endpoints or None
    )


def key_of(table: Table, *values: Any) -> Wire:
    """The wire key of an item of ``table`` from its hash (and range) value."""
    names = table.key_attributes()
    if len(values) != len(names):
        raise ValueError(f"{table.name} keys are {names}, got {values!r}")
    return {
        name: (n(value) if table.key_types.get(name) == "N" else s(value))
        for name, value in zip(names, values, strict=True)
    }


@functools.cache
def _key_column_length(table_name: str, attribute: str) -> int | None:
    """The declared length of the column a key attribute holds: the table's own record
    kind's, else the first record kind with a column of that name (index tables)."""
    record_kind = TABLE_BY_NAME[table_name].record_kind
    kinds = ([record_kind] if record_kind else []) + list(FIELDS)
    for kind in kinds:
        for column in FIELDS[kind]:
            if column.name == attribute:
                return column.length
    return None


def key_can_exist(table: Table, *values: Any) -> bool:
    """Can an item of ``table`` have this key? Not if a part is None, not text (a number
    for a numeric key), or longer than its column: the SQL side finds no row for such a
    key, so the design answers "absent" without asking the store (whose key schema would
    refuse it with a ``DBError``)."""
    for attribute, value in zip(table.key_attributes(), values, strict=False):
        if table.key_types.get(attribute) == "N":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            continue
        if not isinstance(value, str):
            return False
        length = _key_column_length(table.name, attribute)
        if length is not None and len(value) > length:
            return False
    return True


class MagnetoCore(Backend):
    """One project's tables on a MagnetoDB server, and the requests the design makes."""

    side = "magnetodb"
    derived_tables = DERIVED_TABLES

    def __init__(self, url: str, *, client: Any = None, token: str | None = None) -> None:
        self._url = url
        self.features = features_for(url)
        parsed = parse_url(url)
        self.scheme, self.project = parsed.scheme, parsed.project
        self.client = client if client is not None else open_client(url, token)
        self.tables = TABLE_BY_NAME

    @property
    def url(self) -> str:
        return self._url

    @classmethod
    def features_for(cls, url: str) -> Features:
        return features_for(url)

    @classmethod
    def default_label(cls, url: str) -> str:
        return urlsplit(url).scheme.replace("+", "-")

    @classmethod
    @contextlib.contextmanager
    def embedded_store(cls, directory: str, *, durable: bool = False) -> Iterator[str]:
        """A MagnetoDB server of its own (LMDB under ``directory``/magnetodb; ``durable``:
        fsync every commit), stopped when the block ends; the URL names project
        ``cinderbench``."""
        from magnetodb.server.process import ServerProcess

        data_dir = os.path.join(directory, "magnetodb")
        with ServerProcess(data_dir, engine="lmdb", sync=durable) as server:
            address = urlsplit(server.url)
            yield f"magnetodb://{address.hostname}:{address.port}/cinderbench"

    @classmethod
    @contextlib.contextmanager
    def sibling_store(cls, url: str) -> Iterator[str]:
        """An empty store next to ``url``: the same server, the project with ``-2`` appended."""
        base, mark, query = url.partition("?")
        yield base.rstrip("/") + "-2" + mark + query

    def ping(self) -> None:
        with translate_errors():
            self.client.healthcheck()

    def round_trip_probe(self) -> RoundTrip:
        """``get_item`` of a key no dataset creates, through the backend's own client."""
        return RoundTrip(
            "get_item of a missing key",
            lambda: self.get("volumes", "cinderbench-floor-missing-key"),
            lambda: None,
        )

    def _storage_health(self) -> dict[str, Any]:
        """The server's full health check (ours adds the storage engine and its durability)."""
        try:
            return self.client.healthcheck(engine=True)
        except MagnetoError:
            return {}

    def durable_commits(self) -> bool | None:
        """As the server reports it (LMDB with ``--sync``, etcd: yes); None: a server that
        does not say (MagnetoDB's own health check did not)."""
        durability = self._storage_health().get("Durability")
        return None if durability is None else durability == DURABILITY[True]

    def engine_info(self) -> dict[str, Any]:
        transport = "http" if self.scheme == "magnetodb" else "in-process"
        info = {**super().engine_info(), "engine": "magnetodb", "transport": transport}
        health = self._storage_health()
        if "Storage engine" in health:
            info["storage"] = health["Storage engine"]
            info["durability"] = health["Durability"]
        return info

    # ------------------------------------------------------------- schema

    def create_schema(self) -> None:
        with translate_errors():
            for table in TABLES:
                with contextlib.suppress(TableAlreadyExistsException):
                    self.client.create_table(**table.create_table_request())
            now = utcnow()
            quota_classes = self.tables["quota_classes"]
            for resource, limit in DEFAULT_QUOTA_CLASS_LIMITS.items():
                item = {
                    **key_of(quota_classes, DEFAULT_QUOTA_CLASS, resource),
                    "hard_limit": n(limit),
                    "created_at": s(now.strftime("%Y-%m-%dT%H:%M:%S")),
                    "deleted": n(0),
                }
                with contextlib.suppress(ConditionalCheckFailedException):
                    self.client.put_item(
                        "quota_classes", item, expected={"class_name": {"exists": False}}
                    )

    def drop_schema(self) -> None:
        with translate_errors():
            for table in TABLES:
                with contextlib.suppress(TableNotExistsException):
                    self.client.delete_table(table.name)

    def close(self) -> None:
        self.client.close()

    # ----------------------------------------------------------- requests

    def get(self, table: str, *key: Any, consistent: bool = True) -> Wire | None:
        """One item by key, or None."""
        if not key_can_exist(self.tables[table], *key):
            return None
        with translate_errors():
            answer = self.client.get_item(
                table, key_of(self.tables[table], *key), consistent_read=consistent
            )
        return answer.get("item")

    def get_many(
        self, keys_by_table: Mapping[str, Sequence[tuple[Any, ...]]]
    ) -> dict[str, list[Wire]]:
        """Items of several tables by key, with as few batch_get_item requests as the batch
        size allows; unprocessed keys are asked for again. Order is not preserved."""
        found: dict[str, list[Wire]] = {table: [] for table in keys_by_table}
        pending: list[tuple[str, Wire]] = [
            (table, key_of(self.tables[table], *key))
            for table, keys in keys_by_table.items()
            for key in dict.fromkeys(keys)
            if key_can_exist(self.tables[table], *key)
        ]
        with translate_errors():
            while pending:
                chunk, pending = pending[:BATCH_GET_SIZE], pending[BATCH_GET_SIZE:]
                request: dict[str, dict[str, Any]] = {}
                for table, key in chunk:
                    request.setdefault(table, {"keys": [], "consistent_read": True})["keys"].append(
                        key
                    )
                answer = self.client.batch_get_item(request)
                for table, items in answer.get("responses", {}).items():
                    found[table].extend(items)
                for table, rest in answer.get("unprocessed_keys", {}).items():
                    pending.extend((table, key) for key in rest.get("keys", []))
        return found

    def put(self, table: str, item: Wire, *, expected: Wire | None = None) -> None:
        with translate_errors():
            self.client.put_item(table, item, expected=expected)

    def delete(self, table: str, *key: Any, expected: Wire | None = None) -> None:
        if not key_can_exist(self.tables[table], *key):
            return
        with translate_errors():
            self.client.delete_item(table, key_of(self.tables[table], *key), expected=expected)

    def update(
        self,
        table: str,
        key: Sequence[Any],
        updates: Wire,
        *,
        expected: Wire | None = None,
        return_new: bool = False,
    ) -> Wire | None:
        """One update_item; with ``return_new`` the item as it is after the update."""
        with translate_errors():
            answer = self.client.update_item(
                table,
                key_of(self.tables[table], *key),
                updates,
                expected=expected,
                return_values="ALL_NEW" if return_new else None,
            )
        return answer.get("attributes") if return_new else None

    def write_tables(
        self, requests: Mapping[str, tuple[Sequence[Wire], Sequence[Sequence[Any]]]]
    ) -> None:
        """Puts and deletes in several tables at once: ``{table: (puts, delete keys)}``, in
        as few batch_write_item requests as the batch size allows (one request may span
        tables); not atomic; unprocessed requests are sent again."""
        pending: list[tuple[str, Wire]] = []
        for table, (puts, deletes) in requests.items():
            pending += [(table, {"put_request": {"item": item}}) for item in puts]
            pending += [
                (table, {"delete_request": {"key": key_of(self.tables[table], *key)}})
                for key in deletes
            ]
        with translate_errors():
            while pending:
                chunk, pending = pending[:BATCH_WRITE_SIZE], pending[BATCH_WRITE_SIZE:]
                body: dict[str, list[Wire]] = {}
                for table, request in chunk:
                    body.setdefault(table, []).append(request)
                answer = self.client.batch_write_item(body)
                for table, rest in answer.get("unprocessed_items", {}).items():
                    pending.extend((table, request) for request in rest)

    def put_if(self, table: str, item: Wire, expected: Wire) -> bool:
        """put_item under ``expected``; False (nothing written) when the condition failed."""
        with translate_errors():
            try:
                self.client.put_item(table, item, expected=expected)
            except ConditionalCheckFailedException:
                return False
        return True

    def update_if(
        self,
        table: str,
        key: Sequence[Any],
        updates: Wire,
        expected: Wire | None = None,
        return_values: str | None = None,
    ) -> Wire | None:
        """update_item under ``expected``: None when the condition failed (nothing written),
        else the attributes ``return_values`` names (``{}`` for none). A key no item can
        have fails every condition: there is no item to update."""
        if not key_can_exist(self.tables[table], *key):
            return None
        with translate_errors():
            try:
                answer = self.client.update_item(
                    table,
                    key_of(self.tables[table], *key),
                    updates,
                    expected=expected,
                    return_values=return_values,
                )
            except ConditionalCheckFailedException:
                return None
        return answer.get("attributes", {})

    def delete_if(self, table: str, key: Sequence[Any], expected: Wire) -> bool:
        """delete_item under ``expected``; False (nothing deleted) when the condition failed
        (always, for a key no item can have)."""
        if not key_can_exist(self.tables[table], *key):
            return False
        with translate_errors():
            try:
                self.client.delete_item(table, key_of(self.tables[table], *key), expected=expected)
            except ConditionalCheckFailedException:
                return False
        return True

    def query_all(
        self,
        table: str,
        hash_value: Any,
        *,
        index_name: str | None = None,
        range_condition: Wire | None = None,
        attributes_to_get: Sequence[str] | None = None,
    ) -> list[Wire]:
        """Every item under one hash key, following ``last_evaluated_key``."""
        spec = self.tables[table]
        if not key_can_exist(spec, hash_value):
            return []
        conditions: Wire = {
            spec.hash_key: {
                "comparison_operator": "EQ",
                "attribute_value_list": [_scalar(spec, spec.hash_key, hash_value)],
            }
        }
        if range_condition:
            conditions.update(range_condition)
        items: list[Wire] = []
        start: Wire | None = None
        with translate_errors():
            while True:
                answer = self.client.query(
                    table,
                    conditions,
                    index_name=index_name,
                    attributes_to_get=list(attributes_to_get) if attributes_to_get else None,
                    limit=PAGE_SIZE,
                    exclusive_start_key=start,
                    consistent_read=True,
                )
                items.extend(answer.get("items", []))
                start = answer.get("last_evaluated_key")
                if not start:
                    return items

    def scan_all(
        self,
        table: str,
        scan_filter: Wire | None = None,
        attributes_to_get: Sequence[str] | None = None,
    ) -> list[Wire]:
        """Every item of a table passing ``scan_filter``: the full scan the design pays for
        a call no key or index can answer. A condition on a missing value (an id
        that is None) matches no item."""
        if scan_filter and any(
            typed.get("S", "") is None
            for condition in scan_filter.values()
            for typed in condition.get("attribute_value_list", ())
        ):
            return []
        items: list[Wire] = []
        start: Wire | None = None
        with translate_errors():
            while True:
                answer = self.client.scan(
                    table,
                    scan_filter=scan_filter,
                    attributes_to_get=list(attributes_to_get) if attributes_to_get else None,
                    limit=PAGE_SIZE,
                    exclusive_start_key=start,
                )
                items.extend(answer.get("items", []))
                start = answer.get("last_evaluated_key")
                if not start:
                    return items

    def index_ids(self, index_table: str, hash_value: Any) -> list[str]:
        """The ids an index table lists under one hash value (keys only, one query per page)."""
        spec = self.tables[index_table]
        range_key = spec.range_key
        if range_key is None:
            raise ValueError(f"{index_table} has no range key to list")
        return [item[range_key]["S"] for item in self.query_all(index_table, hash_value)]

    def modify(self, table: str, key: Sequence[Any], change: Change) -> Wire | None:
        """Optimistic read-modify-write of one item, versioned by its ``version`` number.

        ``change(item)`` gets the current item (None if absent) and returns the
        ``attribute_updates`` to apply, or None for "nothing to do". The update
        is sent with ``expected`` = the version read (or "no version yet"), plus
        ADD 1 to the version; if another writer got there first the read and
        ``change`` run again, up to ``MAX_ATTEMPTS`` (then ``DBConflict``).
        Returns the item after the update (or as read, if nothing was done).
        """
        spec = self.tables[table]
        if not key_can_exist(spec, *key):
            # No item has this key and none can be written under it: ``change`` sees
            # "absent" (and raises its NotFound); a change that would create is refused.
            if change(None) is None:
                return None
            raise exception.InvalidInput(reason=f"{table} cannot hold the key {key!r}")
        wire_key = key_of(spec, *key)
        for attempt in range(MAX_ATTEMPTS):
            with translate_errors():
                item = self.client.get_item(table, wire_key, consistent_read=True).get("item")
            updates = change(item)
            if updates is None:
                return item
            expected = _unchanged_since(spec, item)
            updates = {**updates, "version": {"action": "ADD", "value": n(1)}}
            try:
                answer = self.client.update_item(
                    table, wire_key, updates, expected=expected, return_values="ALL_NEW"
                )
            except ConditionalCheckFailedException:
                _back_off(attempt)
                continue
            except MagnetoError as error:
                raise exception.DBError(reason=f"{type(error).__name__}: {error}") from error
            return answer.get("attributes")
        raise exception.DBConflict(target=f"{table} {key!r}", attempts=MAX_ATTEMPTS)


def _unchanged_since(table: Table, item: Wire | None) -> Wire:
    """The ``expected`` conditions that hold only if the item is still as it was read."""
    if item is None:
        return {table.hash_key: {"exists": False}}
    if "version" in item:
        return {"version": {"value": item["version"]}}
    # Never written through the API yet (bulk-loaded without a version).
    return {table.hash_key: {"exists": True}, "version": {"exists": False}}


def _scalar(table: Table, attribute: str, value: Any) -> Wire:
    return n(value) if table.key_types.get(attribute) == "N" else s(value)


def _back_off(attempt: int) -> None:
    """A short random pause so racing writers do not retry in lock step."""
    if attempt >= 2:
        time.sleep(random.uniform(0, 0.0005 * min(attempt, 20)))
