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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

import orjson

from cinderdb import exception
from cinderdb.api import FUNCTIONS
from cinderdb.base import Backend, Features, RoundTrip
from cinderdb.magneto import journal
from cinderdb.magneto.designs import (
    ALL_TABLES,
    DESIGN_KEY,
    DESIGN_TABLE,
    SEED_DESIGN,
    Design,
    parse_design,
)
from cinderdb.magneto.entries import (
    INDEX_RULE_BY_TABLE,
    Entry,
    entry_item,
    index_entries,
    index_rules,
    ordered_rules,
    rules_for,
    sorted_rules,
)
from cinderdb.magneto.features import features_for
from cinderdb.magneto.items import Wire, from_item, n, s
from cinderdb.magneto.journal import Undo
from cinderdb.magneto.keys import (
    decode_item,
    encode_item,
    encode_key,
    encode_updates,
    holds_key,
    projection,
)
from cinderdb.magneto.tables import DERIVED_TABLES, Table
from cinderdb.quota import DEFAULT_QUOTA_CLASS, DEFAULT_QUOTA_CLASS_LIMITS
from cinderdb.records import FIELDS, utcnow
from magnetodb.errors import (
    ConditionalCheckFailedException,
    MagnetoError,
    TableAlreadyExistsException,
    TableNotExistsException,
)
from magnetodb.model import UpdateAction, apply_updates
from magnetodb.storage.base import DURABILITY

#: The attribute optimistic writers condition on (``modify``): it only ever grows.
VERSION = "version"
#: Attempts of one optimistic read-modify-write before DBConflict.
MAX_ATTEMPTS = 64
#: Keys per batch_get_item request, items per batch_write_item request.
BATCH_GET_SIZE = 100
BATCH_WRITE_SIZE = 25
#: Items per scan/query page when a helper reads everything.
PAGE_SIZE = 1000

Change = Callable[[Wire | None], Wire | None]
#: Builds the compensation of an update from the item before and after it.
Compensate = Callable[[Wire | None, Wire | None], Undo | None]


@dataclass(frozen=True)
class ItemWrite:
    """One item of a batch write: ``after`` put (None: the item deleted), replacing
    ``before`` (None: absent), which the compensation puts back."""

    table: str
    before: Wire | None
    after: Wire | None


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
    #: the design the store holds (``?design=``; ``designs.parse_design``)
    design: Design = SEED_DESIGN


def parse_url(url: str) -> MagnetoUrl:
    """A backend URL's parts.

    ``magnetodb://HOST:PORT/PROJECT`` talks HTTP to a server, and
    ``magnetodb://H1:P1,H2:P2/PROJECT`` to several API servers of one store;
    ``magnetodb+inproc:///PROJECT[?data_dir=DIR | ?etcd=H1:P1,H2:P2]`` runs the
    server in-process (memory storage, LMDB in DIR, or an etcd cluster). Either takes
    ``?design=seed|improved|seed+OPTION+...`` (default ``seed``).
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    design = parse_design(",".join(query.get("design", [])) or None)
    project = unquote(parts.path.lstrip("/"))
    if not project:
        raise ValueError(f"{url!r} names no project (expected .../PROJECT)")
    if parts.scheme == "magnetodb":
        hosts = [host for host in parts.netloc.split(",") if host]
        if not hosts:
            raise ValueError(f"{url!r} names no server (expected magnetodb://HOST:PORT/PROJECT)")
        return MagnetoUrl(parts.scheme, f"http://{','.join(hosts)}", project, design=design)
    if parts.scheme == "magnetodb+inproc":
        data_dir = query.get("data_dir", [None])[0]
        etcd = tuple(e for e in ",".join(query.get("etcd", [])).split(",") if e)
        if data_dir and etcd:
            raise ValueError(f"{url!r}: data_dir (LMDB) and etcd name two stores; give one")
        return MagnetoUrl(parts.scheme, None, project, data_dir, etcd, design)
    raise ValueError(f"not a MagnetoDB URL: {url!r}")


def design_url(url: str, design: str) -> str:
    """``url`` with its ``?design=`` set to ``design`` (the other parameters kept)."""
    base, _, old = url.partition("?")
    query = [(k, v) for k, v in parse_qsl(old) if k != "design"]
    query.append(("design", parse_design(design).name))
    return f"{base}?{urlencode(query, safe='+,/:')}"


def open_client(url: str, token: str | None = None) -> Any:
    """A MagnetoDB client for a backend URL (HTTP, or the server in this process)."""
    from magnetodb.client import connect, connect_inproc

    parsed = parse_url(url)
    if parsed.base_url is not None:
        return connect(parsed.base_url, parsed.project, token=token)
    return connect_inproc(
        parsed.project, data_dir=parsed.data_dir, etcd_endpoints=parsed.etcd_endpoints or None
    )


def read_design(client: Any) -> str | None:
    """The name of the design a store was created with: None when it has no schema yet;
    the seed's for a store whose tables predate the design record."""
    try:
        answer = client.get_item(
            DESIGN_TABLE.name, {DESIGN_TABLE.hash_key: s(DESIGN_KEY)}, consistent_read=True
        )
    except TableNotExistsException:
        try:
            client.describe_table("volumes")
        except TableNotExistsException:
            return None
        return SEED_DESIGN.name
    item = answer.get("item")
    return item["design"]["S"] if item else None


def natural_key(table: Table, *values: Any) -> Wire:
    """The key of an item of ``table`` from its hash (and range) value, as the design
    writes it (``key_of`` is what the store is asked for)."""
    names = table.key_attributes()
    if len(values) != len(names):
        raise ValueError(f"{table.name} keys are {names}, got {values!r}")
    return {
        name: (n(value) if table.key_types.get(name) == "N" else s(value))
        for name, value in zip(names, values, strict=True)
    }


def key_of(table: Table, *values: Any) -> Wire:
    """The wire key the store is asked for: long string parts in digest form (``keys.py``)."""
    return encode_key(table, natural_key(table, *values))


@functools.cache
def _key_column_length(table_name: str, attribute: str) -> int | None:
    """The declared length of the column a key attribute holds: the table's own record
    kind's, else the first record kind with a column of that name (index tables)."""
    record_kind = ALL_TABLES[table_name].record_kind
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
    """One project's tables on a MagnetoDB server, and the requests the design makes.

    Every DB API function runs with a write journal (``journal.atomic``): a call
    that raises has its writes undone, newest first.
    """

    side = "magnetodb"
    derived_tables = DERIVED_TABLES

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Inside the contract's wrapper (``Backend``), so a rollback runs as part of the call
        # (``current_call()``: counters, fault injection and attribution see it).
        for name in FUNCTIONS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__magneto_atomic__", False):
                setattr(cls, name, journal.atomic(name, method))
        super().__init_subclass__(**kwargs)

    def __init__(self, url: str, *, client: Any = None, token: str | None = None) -> None:
        self._url = url
        self.features = features_for(url)
        parsed = parse_url(url)
        self.scheme, self.project = parsed.scheme, parsed.project
        self.design: Design = parsed.design
        self.client = client if client is not None else open_client(url, token)
        self.tables = self.design.table_by_name
        self.derived_tables = self.design.derived_tables
        #: the design's list indexes (``entries.index_rules``), all and per base table
        self.index_rules = index_rules(self.design.pairs)
        self.volume_indexes = rules_for("volumes", self.index_rules)
        self.snapshot_indexes = rules_for("snapshots", self.index_rules)
        #: volume columns that have an index table
        self.volume_indexed = frozenset(rule.column for rule in self.volume_indexes)
        self.snapshot_indexed = frozenset(rule.column for rule in self.snapshot_indexes)
        #: base table -> its ordered index (``expire_index``: ``reservations_by_expire``)
        self.ordered = ordered_rules(self.design.pairs)
        self._check_design()

    def retrying(self, attempt: int) -> None:
        """An optimistic read-modify-write lost its race: count the retry, pause briefly."""
        self.note_contention("retry")
        _back_off(attempt)

    def stored_design(self) -> str | None:
        """The name of the design the store was created with (``read_design``)."""
        return read_design(self.client)

    def _check_design(self) -> None:
        """Refuse a store that holds another design than the URL's: its tables would be
        read as if they held this one's (silent nonsense). A store that does not answer
        is left to the first call (``ping`` names it)."""
        try:
            stored = self.stored_design()
        except (MagnetoError, OSError):
            return
        if stored is not None and stored != self.design.name:
            raise exception.DBError(
                reason=f"the store {self._url!r} holds design {stored!r}, not "
                f"{self.design.name!r} (?design={stored} opens it)"
            )

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
        info = {
            **super().engine_info(),
            "engine": "magnetodb",
            "transport": transport,
            **self.design.info(),
        }
        health = self._storage_health()
        if "Storage engine" in health:
            info["storage"] = health["Storage engine"]
            info["durability"] = health["Durability"]
        hosts = (parse_url(self._url).base_url or "").removeprefix("http://").split(",")
        if len([h for h in hosts if h]) > 1 or health.get("Storage nodes"):
            info["topology"] = self._topology([h for h in hosts if h], health)
        return info

    def _topology(self, hosts: list[str], health: Mapping[str, Any]) -> dict[str, Any]:
        """API servers (each asked for its own health) over a replicated store's nodes."""
        from magnetodb.client import connect

        members: list[dict[str, Any]] = []
        for index, host in enumerate(hosts):
            client = connect(f"http://{host}", self.project, timeout=5.0)
            try:
                answer = client.healthcheck(engine=True)
                state = "serving" if answer.get("Storage") == "OK" else "storage down"
            except MagnetoError as error:
                answer, state = {}, f"down ({type(error).__name__})"
            finally:
                client.close()
            members.append(
                {
                    "name": f"api{index}",
                    "address": host,
                    "state": state,
                    "role": "MagnetoDB API server",
                    "storage": answer.get("Storage engine"),
                }
            )
        nodes = [n for n in str(health.get("Storage nodes") or "").split(",") if n]
        for index, address in enumerate(nodes):
            members.append(
                {"name": f"etcd{index}", "address": address, "state": "member", "role": "etcd"}
            )
        storage = health.get("Storage engine") or "?"
        return {
            "kind": f"MagnetoDB over {storage}" if nodes else "MagnetoDB API servers",
            "nodes": len(hosts) + len(nodes),
            "api_servers": len(hosts),
            "storage_nodes": len(nodes),
            "routing": "each client thread keeps to one API server, given in turn; one that "
            "refuses connections is skipped"
            + (f"; the servers share a {len(nodes)}-member {storage} cluster" if nodes else ""),
            "durability": (
                f"{storage}: Raft quorum, WAL fsync per commit"
                if storage == "etcd"
                else health.get("Durability")
            ),
            "members": members,
        }

    # ------------------------------------------------------------- schema

    def create_schema(self) -> None:
        with translate_errors():
            for table in self.design.tables:
                with contextlib.suppress(TableAlreadyExistsException):
                    self.client.create_table(**table.create_table_request())
            self._record_design()
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
                        "quota_classes",
                        encode_item(quota_classes, item),
                        expected={"class_name": {"exists": False}},
                    )

    def _record_design(self) -> None:
        """Write the design's name into the store, once; a store created under another
        design is refused (``_check_design`` at open does the same)."""
        item = {DESIGN_TABLE.hash_key: s(DESIGN_KEY), "design": s(self.design.name)}
        with contextlib.suppress(ConditionalCheckFailedException):
            self.client.put_item(
                DESIGN_TABLE.name, item, expected={DESIGN_TABLE.hash_key: {"exists": False}}
            )
        self._check_design()

    def drop_schema(self) -> None:
        with translate_errors():
            for table in self.design.tables:
                with contextlib.suppress(TableNotExistsException):
                    self.client.delete_table(table.name)

    def close(self) -> None:
        self.client.close()

    # ----------------------------------------------------------- requests
    # Every write helper registers its compensation with the running call's journal
    # (``cinderdb.magneto.journal``): area code writes through these helpers and never
    # undoes anything itself.

    def get(self, table: str, *key: Any, consistent: bool = True) -> Wire | None:
        """One item by key, or None."""
        spec = self.tables[table]
        if not key_can_exist(spec, *key):
            return None
        wanted = natural_key(spec, *key)
        with translate_errors():
            answer = self.client.get_item(
                table, encode_key(spec, wanted), consistent_read=consistent
            )
        item = decode_item(spec, answer.get("item"))
        return item if item is None or holds_key(item, wanted) else None

    def get_many(
        self, keys_by_table: Mapping[str, Sequence[tuple[Any, ...]]]
    ) -> dict[str, list[Wire]]:
        """Items of several tables by key, with as few batch_get_item requests as the batch
        size allows; unprocessed keys are asked for again. Order is not preserved."""
        found: dict[str, list[Wire]] = {table: [] for table in keys_by_table}
        pending: list[tuple[str, Wire]] = []
        #: (table, stored key) -> the key asked for, where they differ (a digested part)
        digested: dict[tuple[str, bytes], Wire] = {}
        for table, keys in keys_by_table.items():
            spec = self.tables[table]
            for key in dict.fromkeys(keys):
                if not key_can_exist(spec, *key):
                    continue
                wanted = natural_key(spec, *key)
                stored = encode_key(spec, wanted)
                if stored != wanted:
                    digested[(table, orjson.dumps(stored))] = wanted
                pending.append((table, stored))
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
                    found[table].extend(self._decoded(table, items, digested))
                for table, rest in answer.get("unprocessed_keys", {}).items():
                    pending.extend((table, key) for key in rest.get("keys", []))
        return found

    def _decoded(
        self, table: str, items: list[Wire], digested: Mapping[tuple[str, bytes], Wire]
    ) -> list[Wire]:
        """Items of a batch as the design wrote them; one whose key part is in digest form
        must hold the value asked for (else a digest collided: not the item asked for)."""
        spec = self.tables[table]
        kept = []
        for raw in items:
            item = decode_item(spec, raw)
            assert item is not None
            if digested:
                wanted = digested.get((table, orjson.dumps(_key_attributes(spec, raw))))
                if wanted is not None and not holds_key(item, wanted):
                    continue
            kept.append(item)
        return kept

    def _send(
        self, request: Callable[[], Wire], known: Undo | None = None, *, what: str = ""
    ) -> Wire:
        """One write request. ``known`` (a compensation that needs nothing from the answer)
        is registered before it is sent, and dropped only if the server refused it. A
        request ``what`` names (one whose compensation needs its answer) that fails with an
        unknown outcome stops the call's rollback: nothing can tell whether it stands."""
        log = journal.current(self)
        token = log.add(known) if log is not None and known is not None else None
        try:
            return request()
        except MagnetoError as error:
            if log is not None:
                if not journal.ambiguous(error):
                    if token is not None:
                        log.discard(token)
                elif token is None and what:
                    log.outcome_unknown(what)
            raise

    def _learned(self, undo: Undo | None) -> None:
        """Register a compensation built from a write's answer."""
        log = journal.current(self)
        if log is not None and undo is not None:
            log.add(undo)

    def put(self, table: str, item: Wire, *, expected: Wire | None = None) -> None:
        with translate_errors():
            self._put_item(table, item, expected)

    def put_if(self, table: str, item: Wire, expected: Wire) -> bool:
        """put_item under ``expected``; False (nothing written) when the condition failed."""
        with translate_errors():
            try:
                self._put_item(table, item, expected)
            except ConditionalCheckFailedException:
                return False
        return True

    def _put_item(self, table: str, item: Wire, expected: Wire | None) -> None:
        spec = self.tables[table]
        stored = encode_item(spec, item)
        if _asserts_absent(spec, expected):  # a create: its undo is known before it is sent
            self._send(
                lambda: self.client.put_item(table, stored, expected=expected),
                self.restore(table, None, item),
            )
            return
        if journal.current(self) is None:
            self.client.put_item(table, stored, expected=expected)
            return
        answer = self._send(
            lambda: self.client.put_item(table, stored, expected=expected, return_values="ALL_OLD"),
            what=f"put_item {table}",
        )
        old = decode_item(spec, answer.get("attributes") or None)
        self._learned(self.restore(table, old, item))

    def delete(self, table: str, *key: Any, expected: Wire | None = None) -> None:
        if not key_can_exist(self.tables[table], *key):
            return
        with translate_errors():
            self._delete_item(table, key, expected)

    def delete_if(
        self, table: str, key: Sequence[Any], expected: Wire, *, compensate: bool = True
    ) -> bool:
        """delete_item under ``expected``; False (nothing deleted) when the condition failed
        (always, for a key no item can have). ``compensate=False``: the caller's own
        compensation covers this delete."""
        if not key_can_exist(self.tables[table], *key):
            return False
        with translate_errors():
            try:
                self._delete_item(table, key, expected, compensate)
            except ConditionalCheckFailedException:
                return False
        return True

    def _delete_item(
        self, table: str, key: Sequence[Any], expected: Wire | None, compensate: bool = True
    ) -> None:
        wire_key = key_of(self.tables[table], *key)
        if journal.current(self) is None or not compensate:
            self.client.delete_item(table, wire_key, expected=expected)
            return
        answer = self._send(
            lambda: self.client.delete_item(
                table, wire_key, expected=expected, return_values="ALL_OLD"
            ),
            what=f"delete_item {table}",
        )
        old = decode_item(self.tables[table], answer.get("attributes") or None)
        self._learned(self.restore(table, old, None))

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
            answer = self._update_item(
                table, key, updates, expected, "ALL_NEW" if return_new else None
            )
        return answer if return_new else None

    def update_if(
        self,
        table: str,
        key: Sequence[Any],
        updates: Wire,
        expected: Wire | None = None,
        return_values: str | None = None,
        *,
        compensate: Compensate | bool = True,
    ) -> Wire | None:
        """update_item under ``expected``: None when the condition failed (nothing written),
        else the attributes ``return_values`` names (``{}`` for none). ``compensate``
        builds the compensation from the old and new item (default: ``restore``; False:
        the caller's own compensation covers this write). A key no item can have fails
        every condition: there is no item to update."""
        if not key_can_exist(self.tables[table], *key):
            return None
        with translate_errors():
            try:
                return self._update_item(table, key, updates, expected, return_values, compensate)
            except ConditionalCheckFailedException:
                return None

    def _update_item(
        self,
        table: str,
        key: Sequence[Any],
        updates: Wire,
        expected: Wire | None,
        return_values: str | None,
        compensate: Compensate | bool = True,
    ) -> Wire:
        """The update; in a call, sent with ``ALL_OLD`` (the compensation restores what it
        changed) and the answer the caller asked for computed from it."""
        spec = self.tables[table]
        wanted = natural_key(spec, *key)
        stored_key, sent = encode_key(spec, wanted), encode_updates(spec, wanted, updates)
        if journal.current(self) is None or compensate is False:
            answer = self._send(
                lambda: self.client.update_item(
                    table, stored_key, sent, expected=expected, return_values=return_values
                )
            )
            return decode_item(spec, answer.get("attributes", {})) or {}
        answer = self._send(
            lambda: self.client.update_item(
                table, stored_key, sent, expected=expected, return_values="ALL_OLD"
            ),
            what=f"update_item {table}",
        )
        old = decode_item(spec, answer.get("attributes") or None)
        if compensate is True:  # the common case: the new item is computed only if needed
            self._learned(self._restore_later(table, wanted, old, updates))
            if return_values not in ("ALL_NEW", "UPDATED_NEW"):
                return _answer(return_values, updates, old, None)
            return _answer(return_values, updates, old, applied(wanted, old, updates))
        new = applied(wanted, old, updates)
        self._learned(compensate(old, new))
        return _answer(return_values, updates, old, new)

    def update_members(self, table: str, key: Sequence[Any], updates: Wire, undo: Undo) -> None:
        """An update whose compensation needs nothing from its answer (members ADDed to a set,
        which may be megabytes: no old item is asked for), registered before it is sent."""
        with translate_errors():
            self._send(lambda: self.send_update(table, key, updates), undo)

    def send_update(
        self, table: str, key: Sequence[Any], updates: Wire, expected: Wire | None = None
    ) -> Wire:
        """One update_item, key and updates as stored, nothing journaled (compensations)."""
        spec = self.tables[table]
        wanted = natural_key(spec, *key)
        return self.client.update_item(
            table, encode_key(spec, wanted), encode_updates(spec, wanted, updates), expected
        )

    def write_items(
        self,
        writes: Sequence[ItemWrite],
        compensate: Callable[[Sequence[ItemWrite]], Undo | None] | None = None,
    ) -> None:
        """Puts (``after``) and deletes (``after`` None) in as few batch_write_item requests
        as the batch size allows (one request may span tables); not atomic; unprocessed
        requests are sent again. Each request's compensation (``compensate(writes)``, by
        default restoring each item's ``before``, conditional on its ``after``) is known
        before it is sent, since batch_write_item returns no old items."""
        with translate_errors():
            for start in range(0, len(writes), BATCH_WRITE_SIZE):
                chunk = writes[start : start + BATCH_WRITE_SIZE]
                undo = (compensate or self._restore_all)(chunk)
                self._send(lambda chunk=chunk: self._batch_write(chunk), undo)

    def with_ordered_entries(self, writes: Sequence[ItemWrite]) -> list[ItemWrite]:
        """``writes`` with the ordered-index entries they change (the design's
        ``OrderedRule``s): a new entry before them, a dropped one after them, so a crash
        in between leaves only an extra entry, which readers check against the item."""
        added: list[ItemWrite] = []
        dropped: list[ItemWrite] = []
        for write in writes:
            rule = self.ordered.get(write.table)
            if rule is None:
                continue
            before, after = rule.entry(write.before), rule.entry(write.after)
            if before == after:
                continue
            if after is not None:
                added.append(ItemWrite(rule.table, None, after))
            if before is not None and (
                after is None
                or _key_attributes(self.tables[rule.table], before)
                != _key_attributes(self.tables[rule.table], after)
            ):
                dropped.append(ItemWrite(rule.table, before, None))
        return [*added, *writes, *dropped]

    def _batch_write(self, writes: Sequence[ItemWrite]) -> Wire:
        pending: list[tuple[str, Wire]] = []
        for write in writes:
            spec = self.tables[write.table]
            if write.after is not None:
                item = encode_item(spec, write.after)
                pending.append((write.table, {"put_request": {"item": item}}))
            else:
                key = encode_key(spec, _key_attributes(spec, write.before))
                pending.append((write.table, {"delete_request": {"key": key}}))
        while pending:
            body: dict[str, list[Wire]] = {}
            for table, request in pending:
                body.setdefault(table, []).append(request)
            answer = self.client.batch_write_item(body)
            pending = [
                (table, request)
                for table, rest in answer.get("unprocessed_items", {}).items()
                for request in rest
            ]
        return {}

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
        wanted = _scalar(spec, spec.hash_key, hash_value)
        conditions: Wire = {
            spec.hash_key: {
                "comparison_operator": "EQ",
                "attribute_value_list": [encode_key(spec, {spec.hash_key: wanted})[spec.hash_key]],
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
                    attributes_to_get=projection(spec, attributes_to_get or None),
                    limit=PAGE_SIZE,
                    exclusive_start_key=start,
                    consistent_read=True,
                )
                for raw in answer.get("items", []):
                    item = decode_item(spec, raw)
                    assert item is not None
                    if item.get(spec.hash_key, wanted) == wanted:  # a digest's namesake: not it
                        items.append(item)
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
        spec = self.tables[table]
        items: list[Wire] = []
        start: Wire | None = None
        with translate_errors():
            while True:
                answer = self.client.scan(
                    table,
                    scan_filter=scan_filter,
                    attributes_to_get=projection(spec, attributes_to_get or None),
                    limit=PAGE_SIZE,
                    exclusive_start_key=start,
                )
                items.extend(decode_item(spec, item) for item in answer.get("items", []))
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
        wanted = natural_key(spec, *key)
        stored_key = encode_key(spec, wanted)
        for attempt in range(MAX_ATTEMPTS):
            with translate_errors():
                answer = self.client.get_item(table, stored_key, consistent_read=True)
            item = decode_item(spec, answer.get("item"))
            if item is not None and not holds_key(item, wanted):
                item = None  # a digest's namesake holds the key: as good as absent here
            updates = change(item)
            if updates is None:
                return item
            expected = _unchanged_since(spec, item)
            updates = {**updates, "version": {"action": "ADD", "value": n(1)}}
            # The item read is the item replaced (the condition says so): the restore is
            # known before the request is sent.
            undo = self._restore_later(table, wanted, item, updates)
            sent = encode_updates(spec, wanted, updates)
            try:
                answer = self._send(
                    lambda sent=sent, expected=expected: self.client.update_item(
                        table, stored_key, sent, expected=expected, return_values="ALL_NEW"
                    ),
                    undo,
                )
            except ConditionalCheckFailedException:
                self.retrying(attempt)
                continue
            except MagnetoError as error:
                raise exception.DBError(reason=f"{type(error).__name__}: {error}") from error
            return decode_item(spec, answer.get("attributes"))
        self.note_contention("give_up")
        raise exception.DBConflict(target=f"{table} {key!r}", attempts=MAX_ATTEMPTS)

    # ------------------------------------------------------- compensations

    def restore(self, table: str, before: Wire | None, after: Wire | None) -> Undo | None:
        """The compensation of a write that turned ``before`` into ``after`` (None: absent):
        the attributes it changed are put back, conditional on their still holding what it
        wrote (a newer write of someone else is kept: the compensation is skipped). The
        ``version`` is not put back but moves on: a compensation is a write too."""
        if before == after:
            return None
        spec = self.tables[table]
        ref = after if after is not None else before
        assert ref is not None
        key = encode_key(spec, _key_attributes(spec, ref))
        names = set(spec.key_attributes())
        client = self.client
        if before is None:
            assert after is not None
            holds = {a: {"value": v} for a, v in after.items() if a not in names}
            expected = holds or {spec.hash_key: {"exists": True}}
            return Undo(
                lambda: f"delete the {table} item {key} it created",
                lambda: _done(client.delete_item(table, key, expected=expected)),
            )
        if after is None:
            absent = {spec.hash_key: {"exists": False}}
            return Undo(
                lambda: f"put back the {table} item {key} it deleted",
                lambda: _done(client.put_item(table, encode_item(spec, before), expected=absent)),
            )
        changed = sorted(
            a
            for a in before.keys() | after.keys()
            if a not in names and before.get(a) != after.get(a)
        )
        updates = {
            a: {"action": "PUT", "value": before[a]} if a in before else {"action": "DELETE"}
            for a in changed
        }
        if VERSION in updates and VERSION in after:
            # A version only moves forward: put back, it would let a writer that read the
            # state being undone pass its "unchanged since" condition later (ABA).
            updates[VERSION] = {"action": "ADD", "value": n(1)}
        expected = {a: {"value": after[a]} if a in after else {"exists": False} for a in changed}
        return Undo(
            lambda: f"restore {', '.join(changed)} of the {table} item {key}",
            lambda: _done(client.update_item(table, key, updates, expected=expected)),
        )

    def _restore_later(self, table: str, key: Wire, before: Wire | None, updates: Wire) -> Undo:
        """``restore`` of an update, worked out only if a rollback runs it (the item after
        the update is computed then: most calls never roll back)."""

        def run() -> str:
            undo = self.restore(table, before, applied(key, before, updates))
            return undo.run() if undo is not None else journal.UNDONE

        return Undo(lambda: f"restore what an update changed in the {table} item {key}", run)

    def _restore_all(self, writes: Sequence[ItemWrite]) -> Undo | None:
        """The restores of several item writes, newest first (each conditional on its own)."""
        undos = [u for u in (self.restore(w.table, w.before, w.after) for w in writes) if u]
        if not undos:
            return None
        return Undo(
            lambda: "; ".join(undo.describe() for undo in undos),
            lambda: _all(reversed(undos)),
        )

    def savepoint(self) -> int:
        """A mark in the running call's journal (0 outside a call)."""
        log = journal.current(self)
        return log.mark() if log is not None else 0

    def undo_since(self, mark: int) -> None:
        """Undo what the running call wrote after ``mark`` (a retried attempt starts clean);
        ``DBError`` if a compensation cannot run."""
        log = journal.current(self)
        if log is None:
            return
        try:
            log.rollback(to=mark)
        except journal.RollbackFailed as error:
            raise exception.DBError(reason=f"undoing an attempt failed: {error}") from error

    def keep_writes(self) -> None:
        """What the running call wrote stands even though it is about to raise."""
        log = journal.current(self)
        if log is not None:
            log.keep()

    # ------------------------------------------------------- index entries

    @functools.cached_property
    def list_indexes(self) -> tuple[Any, ...]:
        """Every list index of this design, the sorted project indexes included (their
        entries need whole records: ``self.index_rules`` are those a changed column alone
        decides)."""
        return (*self.index_rules, *sorted_rules(self.design.pairs))

    def index_rules_for(self, base: str) -> tuple[Any, ...]:
        """The list indexes of a base table in this design: the entries its items call for."""
        return rules_for(base, self.list_indexes)

    def add_entries(self, entries: Iterable[Entry]) -> None:
        """Index entries in one batch_write_item (per 25), before the base write. Their
        compensation removes each entry its base item (as it is then) does not call for."""
        writes = [ItemWrite(e[0], None, entry_item(e)) for e in sorted(entries)]
        self.write_items(writes, self._unwritten_entries)

    def remove_entries(self, entries: Iterable[Entry]) -> None:
        """Index entries removed, after the base write. Their compensation writes them back
        (an extra entry is always safe: readers check the base item)."""
        writes = [ItemWrite(e[0], entry_item(e), None) for e in sorted(entries)]
        self.write_items(writes, self._rewritten_entries)

    def _unwritten_entries(self, writes: Sequence[ItemWrite]) -> Undo:
        entries = [_entry_of(self.tables[w.table], w.after) for w in writes if w.after]
        return Undo(
            lambda: f"remove entries {entries} no base item calls for",
            lambda: self._unwrite(entries),
        )

    def _unwrite(self, entries: Sequence[Entry]) -> str:
        wanted: dict[str, list[tuple[Any, ...]]] = {}
        for table, _, item_id in entries:
            wanted.setdefault(INDEX_RULE_BY_TABLE[table].base, []).append((item_id,))
        found = self.get_many(wanted)
        called: set[Entry] = set()
        for base, items in found.items():
            rules = self.index_rules_for(base)
            kind = self.tables[base].record_kind
            assert kind is not None
            for item in items:
                record = from_item(kind, item)
                called |= index_entries(rules, record, item[self.tables[base].hash_key]["S"])
        doomed = [e for e in entries if e not in called]
        if not doomed:
            return journal.SKIPPED
        self._batch_write([ItemWrite(e[0], entry_item(e), None) for e in doomed])
        return journal.UNDONE

    def _rewritten_entries(self, writes: Sequence[ItemWrite]) -> Undo:
        items = [ItemWrite(w.table, None, w.before) for w in writes]
        return Undo(
            lambda: f"write back entries {[(w.table, w.before) for w in writes]}",
            lambda: _done(self._batch_write(items)),
        )


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


def applied(key: Wire, old: Wire | None, updates: Wire) -> Wire | None:
    """The item an update_item leaves (None: none), computed here from the old item and the
    actions with MagnetoDB's own update semantics."""
    actions = {name: UpdateAction(u["action"], u.get("value")) for name, u in updates.items()}
    return apply_updates(key, old, actions)


def _answer(return_values: str | None, updates: Wire, old: Wire | None, new: Wire | None) -> Wire:
    """What update_item returns for ``return_values``, from the old and the new item."""
    if return_values == "ALL_OLD":
        return dict(old or {})
    if return_values == "ALL_NEW":
        return dict(new or {})
    if return_values == "UPDATED_OLD":
        return {a: old[a] for a in updates if old and a in old}
    if return_values == "UPDATED_NEW":
        return {a: new[a] for a in updates if new and a in new}
    return {}


def _asserts_absent(table: Table, expected: Wire | None) -> bool:
    """Whether ``expected`` holds only when no item has the key (a create)."""
    return bool(expected) and expected.get(table.hash_key) == {"exists": False}  # type: ignore[union-attr]


def _key_attributes(table: Table, item: Wire | None) -> Wire:
    assert item is not None
    return {name: item[name] for name in table.key_attributes()}


def _entry_of(table: Table, item: Wire | None) -> Entry:
    assert item is not None
    assert table.range_key is not None
    return (table.name, item[table.hash_key]["S"], item[table.range_key]["S"])


def _done(_answer: Any) -> str:
    return journal.UNDONE


def _all(undos: Iterable[Undo]) -> str:
    """Run several compensations; a skipped one does not stop the others."""
    outcomes = []
    for undo in undos:
        try:
            outcomes.append(undo.run())
        except ConditionalCheckFailedException:
            outcomes.append(journal.SKIPPED)
    return journal.UNDONE if journal.UNDONE in outcomes else journal.SKIPPED
