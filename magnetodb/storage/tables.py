"""Tables and items over any :class:`~magnetodb.storage.base.Engine` (written once).

Key layout (one ordered key space):

* ``t`` project ``\\0`` table_name  -> table metadata (JSON)
* ``i`` table_uuid(16) hash [range]  -> item (canonical wire JSON)
* ``x`` table_uuid(16) index_ordinal(1) hash index_range range -> hash [range]

``hash``/``range`` are :func:`magnetodb.typed.key_bytes` encodings, so byte
order is value order and a partition is one contiguous key range. Every item
write (the condition check, the item and its index entries) runs in one engine
write transaction, and the table metadata is read inside the same transaction,
so a write can never land in a table deleted meanwhile. Write bodies run through
``Engine.transact``: an optimistic engine (etcd) may run one again after a
conflict, so a body only reads and writes through its transaction and returns
what the caller needs.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from magnetodb import typed
from magnetodb.errors import (
    ConditionalCheckFailedException,
    TableAlreadyExistsException,
    TableNotExistsException,
    ValidationError,
)
from magnetodb.model import (
    Expected,
    Item,
    TableSchema,
    UpdateAction,
    apply_updates,
    check_expected,
    project,
    updated_values,
)
from magnetodb.storage.base import Engine, EngineError, EngineLimitError, Txn
from magnetodb.storage.select import SelectOps

# MagnetoDB documented 64 KiB per item but never enforced it; what really bounded an
# item was Cassandra 2.1's largest mutation, half a 32 MiB commit-log segment.
DEFAULT_MAX_ITEM_BYTES = 16 * 1024 * 1024
# LMDB keys are at most 511 bytes; a storage key is a 17-byte table prefix plus the
# encoded key (index entries: 18 bytes plus the index value). Both engines refuse
# longer keys with the same 400, so they never disagree.
MAX_STORAGE_KEY_BYTES = 511
_ITEM_KEY_OVERHEAD = 17
BATCH_CHUNK = 25  # MagnetoDB's batch_chunk_size
#: Puts of a bulk load per engine transaction (ours: MagnetoDB's were one async put each)
BULK_CHUNK = 5000


def _storage_key(put: tuple[int, tuple[bytes, bytes, bytes, Item, bytes]]) -> bytes:
    return put[1][2]


@dataclass
class BulkOutcome:
    """What ``Storage.bulk_put`` did with the items it was given, by their position."""

    #: items taken (checked, then written or failed in the engine)
    taken: int = 0
    #: (position, exception) of the items the engine failed to write
    failed: list[tuple[int, Exception]] = field(default_factory=list)
    #: the first item refused (the position is ``taken``): nothing after it was taken
    refused: Exception | None = None


def _check_key_size(size: int, what: str = "key") -> None:
    if size > MAX_STORAGE_KEY_BYTES:
        raise ValidationError(
            f"The {what} is {size} bytes once encoded; at most {MAX_STORAGE_KEY_BYTES} are allowed"
        )


@dataclass
class TableMeta:
    project: str
    name: str
    table_id: str
    status: str
    created: str
    schema: TableSchema
    prefix: bytes  # the 16 uuid bytes

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.table_id,
                "status": self.status,
                "created": self.created,
                "schema": self.schema.to_json(),
            }
        )

    @classmethod
    def from_bytes(cls, project_: str, name: str, raw: bytes) -> TableMeta:
        d = orjson.loads(raw)
        return cls(
            project_,
            name,
            d["id"],
            d["status"],
            d["created"],
            TableSchema.from_json(d["schema"]),
            uuid.UUID(d["id"]).bytes,
        )


def meta_key(project_: str, name: str) -> bytes:
    return b"t" + project_.encode() + b"\x00" + name.encode()


class Storage(SelectOps):
    """MagnetoDB semantics: tables per project, items, conditions, LSIs, paging."""

    def __init__(self, engine: Engine, *, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> None:
        self.engine = engine
        self.max_item_bytes = max_item_bytes
        self._meta_cache: dict[bytes, tuple[bytes, TableMeta]] = {}

    def close(self) -> None:
        self.engine.close()

    # ------------------------------------------------------------ metadata

    def _meta(self, txn: Any, project_: str, name: str, active: bool = True) -> TableMeta:
        mk = meta_key(project_, name)
        raw = txn.get(mk)
        if raw is None:
            raise TableNotExistsException(f"Table '{name}' does not exist")
        cached = self._meta_cache.get(mk)
        if cached is not None and cached[0] == raw:
            meta = cached[1]
        else:
            meta = TableMeta.from_bytes(project_, name, bytes(raw))
            self._meta_cache[mk] = (bytes(raw), meta)
        if active and meta.status != "ACTIVE":
            raise ValidationError(
                f"Can't execute request: Table '{name}' status '{meta.status}' isn't ACTIVE"
            )
        return meta

    def _meta_and_item(
        self,
        txn: Txn,
        project_: str,
        name: str,
        locate: Callable[[TableMeta], bytes],
        wanted: Callable[[TableMeta], bool] | None = None,
    ) -> tuple[TableMeta, bytes | None]:
        """The table's metadata and the stored item at ``locate(meta)`` (None: absent, or
        not ``wanted`` by the request given that table).

        When this process knows the table, both keys are read in one engine request
        (on etcd one round trip instead of two; on LMDB two gets, as before), and the
        metadata read must be the one the item key was made from; otherwise the
        metadata is read first.
        """
        mk = meta_key(project_, name)
        cached = self._meta_cache.get(mk)
        if cached is not None and cached[1].status == "ACTIVE":
            known = cached[1]
            if wanted is None or wanted(known):
                try:
                    ikey: bytes | None = locate(known)
                except ValidationError:  # maybe not under the table's current schema: ask it
                    ikey = None
                if ikey is not None:
                    raw_meta, raw_item = txn.get_many([mk, ikey])
                    if raw_meta == cached[0]:
                        return known, raw_item
        meta = self._meta(txn, project_, name)
        if wanted is not None and not wanted(meta):
            return meta, None
        return meta, txn.get(locate(meta))

    def create_table(self, project_: str, name: str, schema: TableSchema) -> TableMeta:
        tid = uuid.uuid1()
        created = str(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
        meta = TableMeta(project_, name, str(tid), "ACTIVE", created, schema, tid.bytes)
        mk = meta_key(project_, name)

        def create(txn: Txn) -> None:
            if txn.get(mk) is not None:
                raise TableAlreadyExistsException(
                    f"Table {name} already exists"
                )  # MagnetoDB's text
            txn.put(mk, meta.to_bytes())

        self.engine.transact(create)
        return meta

    def describe_table(self, project_: str, name: str) -> TableMeta:
        with self.engine.read() as txn:
            return self._meta(txn, project_, name, active=False)

    def list_tables(
        self, project_: str, limit: int | None = None, exclusive_start: str | None = None
    ) -> list[str]:
        base = b"t" + project_.encode() + b"\x00"
        start = base + exclusive_start.encode() + b"\x00" if exclusive_start else base
        names: list[str] = []
        with self.engine.read() as txn:
            for k, _ in txn.scan(start, typed.prefix_end(base)):
                names.append(k[len(base) :].decode())
                if limit is not None and len(names) >= limit:
                    break
        return names

    def delete_table(self, project_: str, name: str) -> TableMeta:
        def delete(txn: Txn) -> TableMeta:
            meta = self._meta(txn, project_, name, active=False)
            for tag in (b"i", b"x"):
                p = tag + meta.prefix
                txn.delete_range(p, typed.prefix_end(p))
            txn.delete(meta_key(project_, name))
            return meta

        meta = self.engine.transact(delete)
        meta.status = "DELETING"
        self._meta_cache.pop(meta_key(project_, name), None)
        return meta

    def all_tables(
        self, after: tuple[str, str] | None = None, limit: int | None = None
    ) -> list[TableMeta]:
        """Every table of every project in (project, name) order (monitoring API)."""
        start = meta_key(*after) + b"\x00" if after else b"t"
        out: list[TableMeta] = []
        with self.engine.read() as txn:
            for k, v in txn.scan(start, b"u"):
                proj, _, name = k[1:].partition(b"\x00")
                out.append(TableMeta.from_bytes(proj.decode(), name.decode(), bytes(v)))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def table_stats(self, project_: str, name: str) -> dict[str, int]:
        """Exact item count and stored bytes (items and index entries)."""
        with self.engine.read() as txn:
            meta = self._meta(txn, project_, name)
            count = size = 0
            p = b"i" + meta.prefix
            for k, v in txn.scan(p, typed.prefix_end(p)):
                count += 1
                size += len(k) + len(v)
            p = b"x" + meta.prefix
            for k, v in txn.scan(p, typed.prefix_end(p)):
                size += len(k) + len(v)
        return {"size": size, "item_count": count}

    # ------------------------------------------------------------ keys

    @staticmethod
    def _kb(schema: TableSchema, name: str, tv: Any, what: str) -> bytes:
        if type(tv) is not dict or len(tv) != 1:
            raise ValidationError(f"Can't recognize attribute typed value format: '{tv}'")
        ((tc, wire),) = tv.items()
        want = schema.attribute_types[name]
        if tc != want:
            raise ValidationError(
                f"{what} attribute '{name}' has type '{tc}', table schema expects '{want}'"
            )
        return typed.key_bytes(tc, wire)

    def _key_of_key(self, meta: TableMeta, key: Item) -> bytes:
        """Storage key of a request ``key`` (exactly the key attributes)."""
        schema = meta.schema
        names = schema.key_names
        if len(key) != len(names) or any(n not in key for n in names):
            raise ValidationError(
                f"Specified key: {sorted(key)} doesn't match expected key attributes set "
                f"{list(names)}"
            )
        kb = self._kb(schema, schema.hash_key, key[schema.hash_key], "Key")
        if schema.range_key is not None:
            kb += self._kb(schema, schema.range_key, key[schema.range_key], "Key")
        _check_key_size(len(kb) + _ITEM_KEY_OVERHEAD)
        return kb

    def _key_of_item(self, meta: TableMeta, item: Item) -> tuple[bytes, bytes, bytes]:
        """(hash bytes, range bytes, full storage key) of an item; checks declared types."""
        schema = meta.schema
        types = schema.attribute_types
        for name, tv in item.items():
            want = types.get(name)
            if want is not None and want not in tv:
                ((tc, _),) = tv.items()
                raise ValidationError(
                    f"Attribute: '{name}' of type: '{tc}' doesn't match table schema "
                    f"expected attribute type: '{want}'"
                )
        hv = item.get(schema.hash_key)
        if hv is None:
            raise ValidationError(f"Couldn't find expected key attribute '{schema.hash_key}'")
        hkb = self._kb(schema, schema.hash_key, hv, "Key")
        rkb = b""
        if schema.range_key is not None:
            rv = item.get(schema.range_key)
            if rv is None:
                raise ValidationError(f"Couldn't find expected key attribute '{schema.range_key}'")
            rkb = self._kb(schema, schema.range_key, rv, "Key")
        ikey = b"i" + meta.prefix + hkb + rkb
        _check_key_size(len(ikey))
        return hkb, rkb, ikey

    def _index_entries(
        self, meta: TableMeta, item: Item | None, hkb: bytes, rkb: bytes
    ) -> dict[bytes, bytes]:
        if not item or not meta.schema.indexes:
            return {}
        out = {}
        for idx in meta.schema.indexes.values():
            tv = item.get(idx.range_key)
            if tv is None:
                continue
            ((tc, wire),) = tv.items()
            ikey = (
                b"x" + meta.prefix + bytes((idx.ordinal,)) + hkb + typed.key_bytes(tc, wire) + rkb
            )
            _check_key_size(len(ikey), f"index '{idx.name}' entry")
            out[ikey] = hkb + rkb
        return out

    def _encode_item(self, item: Item) -> bytes:
        raw = orjson.dumps(item)
        if len(raw) > self.max_item_bytes:
            raise ValidationError(
                f"Item size has exceeded the maximum allowed size of {self.max_item_bytes} bytes"
            )
        return raw

    def _write_item(
        self,
        txn: Any,
        meta: TableMeta,
        hkb: bytes,
        rkb: bytes,
        ikey: bytes,
        old: Item | None,
        new: Item | None,
        raw_new: bytes | None = None,
    ) -> None:
        """Replace ``old`` by ``new`` (None = delete), keeping index entries in step."""
        if meta.schema.indexes:
            old_idx = self._index_entries(meta, old, hkb, rkb)
            new_idx = self._index_entries(meta, new, hkb, rkb)
            for k in old_idx.keys() - new_idx.keys():
                txn.delete(k)
            for k in new_idx.keys() - old_idx.keys():
                txn.put(k, new_idx[k])
        if new is None:
            txn.delete(ikey)
        else:
            txn.put(ikey, raw_new if raw_new is not None else self._encode_item(new))

    # ------------------------------------------------------------ items

    def put_item(
        self,
        project_: str,
        table: str,
        item: Item,
        expected: dict[str, Expected] | None = None,
        return_values: str = "NONE",
    ) -> Item | None:
        """Replace the whole item; returns the old item (None if there was none)."""

        answers = bool(expected) or return_values != "NONE"

        def put(txn: Txn) -> Item | None:
            meta, raw_old = self._meta_and_item(
                txn,
                project_,
                table,
                lambda m: self._key_of_item(m, item)[2],
                lambda m: answers or bool(m.schema.indexes),
            )
            hkb, rkb, ikey = self._key_of_item(meta, item)
            raw_new = self._encode_item(item)
            old = orjson.loads(raw_old) if raw_old is not None else None
            if not check_expected(old, expected):
                raise ConditionalCheckFailedException("The conditional request failed")
            self._write_item(txn, meta, hkb, rkb, ikey, old, item, raw_new)
            return old

        return self.engine.transact(put)

    def get_item_raw(self, project_: str, table: str, key: Item) -> bytes | None:
        """The stored item JSON, or None."""
        with self.engine.read() as txn:
            _, raw = self._meta_and_item(
                txn, project_, table, lambda m: b"i" + m.prefix + self._key_of_key(m, key)
            )
            return bytes(raw) if raw is not None else None

    def get_item(
        self, project_: str, table: str, key: Item, attributes_to_get: list[str] | None = None
    ) -> Item | None:
        raw = self.get_item_raw(project_, table, key)
        if raw is None:
            return None
        return project(orjson.loads(raw), attributes_to_get)

    def delete_item(
        self,
        project_: str,
        table: str,
        key: Item,
        expected: dict[str, Expected] | None = None,
    ) -> Item | None:
        """Delete by key; returns the deleted item (None if there was none)."""

        def delete(txn: Txn) -> Item | None:
            meta, raw_old = self._meta_and_item(
                txn, project_, table, lambda m: b"i" + m.prefix + self._key_of_key(m, key)
            )
            ikey = b"i" + meta.prefix + self._key_of_key(meta, key)
            old = orjson.loads(raw_old) if raw_old is not None else None
            if not check_expected(old, expected):
                raise ConditionalCheckFailedException("The conditional request failed")
            if old is not None:
                hkb, rkb, _ = self._key_of_item(meta, old)
                self._write_item(txn, meta, hkb, rkb, ikey, old, None)
            return old

        return self.engine.transact(delete)

    def update_item(
        self,
        project_: str,
        table: str,
        key: Item,
        updates: dict[str, UpdateAction],
        expected: dict[str, Expected] | None = None,
        return_values: str = "NONE",
    ) -> Item | None:
        """Apply PUT/ADD/DELETE actions atomically; returns what ``return_values`` asks for."""

        def update(txn: Txn) -> tuple[Item | None, Item | None]:
            meta, raw_old = self._meta_and_item(
                txn, project_, table, lambda m: b"i" + m.prefix + self._key_of_key(m, key)
            )
            self._check_updates(meta.schema, updates)
            ikey = b"i" + meta.prefix + self._key_of_key(meta, key)
            old = orjson.loads(raw_old) if raw_old is not None else None
            if not check_expected(old, expected):
                raise ConditionalCheckFailedException("The conditional request failed")
            new = apply_updates(key, old, updates)
            if new is not None:
                hkb, rkb, _ = self._key_of_item(meta, new)
                self._write_item(txn, meta, hkb, rkb, ikey, old, new)
            return old, new

        old, new = self.engine.transact(update)
        if return_values == "ALL_OLD":
            return old or {}
        if return_values == "ALL_NEW":
            return new if new is not None else (old or {})
        if return_values == "UPDATED_OLD":
            return updated_values(updates, old)
        if return_values == "UPDATED_NEW":
            return updated_values(updates, new if new is not None else old)
        return None

    @staticmethod
    def _check_updates(schema: TableSchema, updates: dict[str, UpdateAction]) -> None:
        keys = schema.key_names
        types = schema.attribute_types
        for name, upd in updates.items():
            if name in keys:
                raise ValidationError(f"Key attribute '{name}' can't be updated")
            want = types.get(name)
            if want is None or upd.value is None:
                continue
            ((tc, _),) = upd.value.items()
            if upd.action == "DELETE":
                ok = tc == want or (
                    want in typed.MAP_TYPES and typed.SET_TYPES.get(tc) == typed.MAP_TYPES[want][0]
                )
            else:
                ok = tc == want
            if not ok:
                raise ValidationError(
                    f"Attribute: '{name}' of type: '{tc}' doesn't match table schema "
                    f"expected attribute type: '{want}'"
                )

    # ------------------------------------------------------------ batches

    def batch_write(
        self, project_: str, requests: dict[str, list[tuple[str, Item]]]
    ) -> dict[str, list[tuple[str, Item]]]:
        """Validate every request, then write in chunks of 25 (one transaction each).

        Not a transaction as a whole: a chunk that fails in the engine is
        returned as unprocessed and the others stay written. A chunk larger than
        one engine transaction may be (etcd's request limit) is written one item
        per transaction; an item that alone exceeds it fails the request.
        """
        plan: list[tuple[str, str, Item]] = []
        with self.engine.read() as txn:
            for table, reqs in requests.items():
                meta = self._meta(txn, project_, table)
                seen: set[bytes] = set()
                for kind, body in reqs:
                    if kind == "put":
                        kb = self._key_of_item(meta, body)[2]
                        self._encode_item(body)
                    else:
                        kb = b"i" + meta.prefix + self._key_of_key(meta, body)
                    if kb in seen:
                        raise ValidationError(
                            "Can't execute request: More than one operation requested for "
                            f"item with keys {self._key_repr(meta, body)} in table '{table}'"
                        )
                    seen.add(kb)
                    plan.append((table, kind, body))
        unprocessed: dict[str, list[tuple[str, Item]]] = {}
        for i in range(0, len(plan), BATCH_CHUNK):
            chunk = plan[i : i + BATCH_CHUNK]
            try:
                try:
                    self._write_chunk(project_, chunk)
                except EngineLimitError:
                    if len(chunk) == 1:
                        raise
                    for one in chunk:
                        self._write_chunk(project_, [one])
            except EngineLimitError:
                raise
            except (EngineError, TableNotExistsException, ValidationError):
                for table, kind, body in chunk:
                    unprocessed.setdefault(table, []).append((kind, body))
        return unprocessed

    def bulk_put(self, project_: str, table: str, items: Iterator[Item]) -> BulkOutcome:
        """Put ``items`` (a stream: the bulk load API's lines) one after the other, each as
        ``put_item`` without a condition would, until the first one refused (a bad
        item, a key of the wrong type, an item too large, or an exception ``items``
        raises: none is taken after it). The items taken are written ``BULK_CHUNK`` per
        engine transaction; a transaction the engine fails fails its items only (one
        larger than the engine takes is written an item per transaction)."""
        out = BulkOutcome()
        plan: list[tuple[bytes, bytes, bytes, Item, bytes]] = []
        prefix = b""
        try:
            with self.engine.read() as txn:
                meta = self._meta(txn, project_, table)
            prefix = meta.prefix
            for item in items:
                hkb, rkb, ikey = self._key_of_item(meta, item)
                plan.append((hkb, rkb, ikey, item, self._encode_item(item)))
        except (ValidationError, TableNotExistsException) as exc:
            out.refused = exc
        out.taken = len(plan)
        for start in range(0, len(plan), BULK_CHUNK):
            chunk = list(enumerate(plan[start : start + BULK_CHUNK], start))
            try:
                try:
                    self._bulk_chunk(project_, table, prefix, chunk)
                except EngineLimitError:
                    if len(chunk) == 1:
                        raise
                    for one in chunk:
                        try:
                            self._bulk_chunk(project_, table, prefix, [one])
                        except EngineLimitError as exc:
                            out.failed.append((one[0], exc))
            except (EngineError, TableNotExistsException, ValidationError) as exc:
                out.failed += [(position, exc) for position, _ in chunk]
        return out

    def _bulk_chunk(
        self,
        project_: str,
        table: str,
        prefix: bytes,
        chunk: list[tuple[int, tuple[bytes, bytes, bytes, Item, bytes]]],
    ) -> None:
        def write(txn: Txn) -> None:
            meta = self._meta(txn, project_, table)
            if meta.prefix != prefix:  # the keys were made for a table deleted meanwhile
                raise TableNotExistsException(f"Table '{table}' does not exist")
            indexed = bool(meta.schema.indexes)
            put = txn.put
            # in key order (a stable sort: the later of two puts of a key still wins), so
            # consecutive puts land on the same pages of the B-tree
            for _, (hkb, rkb, ikey, item, raw) in sorted(chunk, key=_storage_key):
                if indexed:
                    raw_old = txn.get(ikey)
                    old = orjson.loads(raw_old) if raw_old is not None else None
                    self._write_item(txn, meta, hkb, rkb, ikey, old, item, raw)
                else:
                    put(ikey, raw)

        self.engine.transact(write)

    def _write_chunk(self, project_: str, chunk: list[tuple[str, str, Item]]) -> None:
        def write(txn: Txn) -> None:
            for table, kind, body in chunk:
                meta = self._meta(txn, project_, table)
                if kind == "put":
                    hkb, rkb, ikey = self._key_of_item(meta, body)
                    old = None
                    if meta.schema.indexes:
                        raw_old = txn.get(ikey)
                        old = orjson.loads(raw_old) if raw_old is not None else None
                    self._write_item(txn, meta, hkb, rkb, ikey, old, body)
                else:
                    ikey = b"i" + meta.prefix + self._key_of_key(meta, body)
                    raw_old = txn.get(ikey)
                    if raw_old is not None:
                        old = orjson.loads(raw_old)
                        hkb, rkb, _ = self._key_of_item(meta, old)
                        self._write_item(txn, meta, hkb, rkb, ikey, old, None)

        self.engine.transact(write)

    @staticmethod
    def _key_repr(meta: TableMeta, body: Item) -> str:
        return typed.as_json({n: body.get(n) for n in meta.schema.key_names})

    def batch_get(
        self, project_: str, requests: dict[str, tuple[list[Item], list[str] | None]]
    ) -> dict[str, list[bytes | Item]]:
        """Read many keys in one snapshot; missing keys are left out."""
        out: dict[str, list[bytes | Item]] = {}
        with self.engine.read() as txn:
            plan = []
            for table, (keys, attrs) in requests.items():
                meta = self._meta(txn, project_, table)
                plan.append(
                    (table, attrs, [b"i" + meta.prefix + self._key_of_key(meta, k) for k in keys])
                )
            for table, attrs, ikeys in plan:
                found: list[bytes | Item] = []
                for raw in txn.get_many(ikeys):
                    if raw is None:
                        continue
                    if attrs is None:
                        found.append(bytes(raw))
                    else:
                        found.append(project(orjson.loads(raw), attrs))
                out[table] = found
        return out

    def iter_items(self, project_: str, table: str) -> Iterator[Item]:
        """Every item of a table in key order (tests, tools)."""
        with self.engine.read() as txn:
            meta = self._meta(txn, project_, table)
            base = b"i" + meta.prefix
            yield from (orjson.loads(v) for _, v in txn.scan(base, typed.prefix_end(base)))
