"""Query and scan over the key layout of :mod:`magnetodb.storage.tables` (a mixin of Storage).

A query is one contiguous range scan: the partition prefix narrowed by the
range condition and the paging start; an LSI query scans index entries and
fetches each item by primary key in the same snapshot.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from magnetodb import typed
from magnetodb.errors import ValidationError
from magnetodb.model import Condition, Item, TableSchema, item_matches, project
from magnetodb.storage.base import EngineError

#: Items an index query reads from the engine per request.
ITEMS_PER_READ = 256


@dataclass
class SelectResult:
    """Query/scan output: raw item JSON when no projection was needed, else items."""

    count: int
    raw_items: list[bytes] | None = None
    items: list[Item] | None = None
    last_key: Item | None = None
    scanned_count: int | None = None


class SelectOps:
    """Query and scan; relies on Storage's engine, ``_meta``, ``_kb`` and ``_key_of_key``."""

    engine: Any
    _meta: Any
    _kb: Any
    _key_of_key: Any

    # ------------------------------------------------------------ query

    def query(
        self,
        project_: str,
        table: str,
        conditions: dict[str, Condition],
        *,
        index_name: str | None = None,
        select: str = "ALL_ATTRIBUTES",
        attributes_to_get: list[str] | None = None,
        limit: int | None = None,
        exclusive_start_key: Item | None = None,
        forward: bool = True,
    ) -> SelectResult:
        with self.engine.read() as txn:
            meta = self._meta(txn, project_, table)
            schema = meta.schema
            index = None
            if index_name is not None:
                index = schema.indexes.get(index_name)
                if index is None:
                    raise ValidationError(f"Index '{index_name}' doesn't exist for table '{table}'")
            range_attr = index.range_key if index else schema.range_key
            hash_cond = conditions.get(schema.hash_key)
            if hash_cond is None or hash_cond.op != "EQ":
                raise ValidationError("Only equality condition is allowed for HASH key attribute")
            extra = set(conditions) - {schema.hash_key}
            if extra - {range_attr} or (extra and range_attr is None):
                raise ValidationError(
                    f"Specified query conditions {typed.as_json(sorted(conditions))} "
                    "don't match table schema"
                )
            hkb = self._cond_kb(schema, schema.hash_key, hash_cond.args[0])
            if index:
                base = b"x" + meta.prefix + bytes((index.ordinal,)) + hkb
            else:
                base = b"i" + meta.prefix + hkb
            lo, hi = base, typed.prefix_end(base)
            rcond = conditions.get(range_attr) if range_attr else None
            if rcond is not None:
                lo, hi = self._range_bounds(schema, range_attr, rcond, base)  # type: ignore[arg-type]
            if exclusive_start_key is not None:
                sk = base + self._start_key(schema, index, hkb, exclusive_start_key)
                if forward:
                    lo = max(lo, sk + b"\x00")
                else:
                    hi = min(hi, sk)
            count = 0
            raws: list[bytes] = []
            last_raw = None
            if lo < hi and index is not None:
                count, raws, last_raw = self._index_items(
                    txn, meta.prefix, txn.scan(lo, hi, reverse=not forward), limit, select
                )
            elif lo < hi:
                for _, v in txn.scan(lo, hi, reverse=not forward):
                    count += 1
                    if select != "COUNT":
                        raws.append(bytes(v))
                    last_raw = v
                    if limit is not None and count >= limit:
                        break
            last_key = None
            if limit is not None and count == limit and last_raw is not None:
                last = orjson.loads(last_raw)
                names = list(schema.key_names) + ([index.range_key] if index else [])
                last_key = {n: last[n] for n in names}
        if select == "COUNT":
            return SelectResult(count, last_key=last_key)
        names_out: Any = None
        if select == "SPECIFIC_ATTRIBUTES":
            names_out = attributes_to_get
        elif select == "ALL_PROJECTED_ATTRIBUTES" and index is not None:
            names_out = schema.projected(index)
        if names_out is None:
            return SelectResult(count, raw_items=raws, last_key=last_key)
        items = [project(orjson.loads(r), names_out) for r in raws]
        return SelectResult(count, items=items, last_key=last_key)

    @staticmethod
    def _index_items(
        txn: Any, prefix: bytes, entries: Any, limit: int | None, select: str
    ) -> tuple[int, list[bytes], bytes | None]:
        """(count, items, last item) of the index entries in ``entries``: the items are read
        by primary key, many per engine request (one etcd round trip per batch)."""
        keys = []
        for _, found in entries:
            keys.append(b"i" + prefix + bytes(found))
            if limit is not None and len(keys) >= limit:
                break
        wanted = keys[-1:] if select == "COUNT" else keys  # COUNT needs the last one's key
        raws: list[bytes] = []
        for start in range(0, len(wanted), ITEMS_PER_READ):
            for key, raw in zip(
                wanted[start : start + ITEMS_PER_READ],
                txn.get_many(wanted[start : start + ITEMS_PER_READ]),
                strict=True,
            ):
                if raw is None:  # pragma: no cover - entries are written atomically
                    raise EngineError(f"dangling index entry for {key!r}")
                raws.append(bytes(raw))
        last = raws[-1] if raws else None
        return len(keys), ([] if select == "COUNT" else raws), last

    def _cond_kb(self, schema: TableSchema, name: str, arg: tuple[str, Any]) -> bytes:
        tc, wire = arg
        want = schema.attribute_types[name]
        if tc != want:
            raise ValidationError(
                f"Condition on '{name}' has type '{tc}', table schema expects '{want}'"
            )
        return typed.key_bytes(tc, wire)

    def _range_bounds(
        self, schema: TableSchema, name: str, cond: Condition, base: bytes
    ) -> tuple[bytes, bytes]:
        op = cond.op
        end = typed.prefix_end
        if op == "BEGINS_WITH":
            tc, wire = cond.args[0]
            if tc not in ("S", "B"):
                raise ValidationError("BEGINS_WITH works on S and B values only")
            self._cond_kb(schema, name, cond.args[0])
            p = base + typed.prefix_bytes(tc, wire)
            return p, end(p)
        a = base + self._cond_kb(schema, name, cond.args[0])
        if op == "EQ":
            return a, end(a)
        if op == "GE":
            return a, end(base)
        if op == "GT":
            return end(a), end(base)
        if op == "LE":
            return base, end(a)
        if op == "LT":
            return base, a
        b = base + self._cond_kb(schema, name, cond.args[1])  # BETWEEN
        return a, end(b)

    def _start_key(self, schema: TableSchema, index: Any, hkb: bytes, start: Item) -> bytes:
        names = list(schema.key_names) + ([index.range_key] if index else [])
        if set(start) != set(names):
            raise ValidationError(
                f"exclusive_start_key must contain exactly the attributes {names}"
            )
        if self._kb(schema, schema.hash_key, start[schema.hash_key], "Start key") != hkb:
            raise ValidationError("exclusive_start_key is outside the queried partition")
        rkb = b""
        if schema.range_key:
            rkb = self._kb(schema, schema.range_key, start[schema.range_key], "Start key")
        if index:
            return self._kb(schema, index.range_key, start[index.range_key], "Start key") + rkb
        return rkb

    # ------------------------------------------------------------ scan

    def scan(
        self,
        project_: str,
        table: str,
        scan_filter: dict[str, Condition] | None = None,
        *,
        attributes_to_get: list[str] | None = None,
        count_only: bool = False,
        limit: int | None = None,
        exclusive_start_key: Item | None = None,
        segment: int | None = None,
        total_segments: int | None = None,
    ) -> SelectResult:
        with self.engine.read() as txn:
            meta = self._meta(txn, project_, table)
            schema = meta.schema
            base = b"i" + meta.prefix
            lo, hi = base, typed.prefix_end(base)
            hcond = (scan_filter or {}).get(schema.hash_key)
            if hcond is not None and hcond.op == "EQ" and hcond.args[0][0] in typed.SCALAR_TYPES:
                if hcond.args[0][0] != schema.attribute_types[schema.hash_key]:
                    return SelectResult(0, items=[], scanned_count=0)
                p = base + typed.key_bytes(*hcond.args[0])
                lo, hi = p, typed.prefix_end(p)
            if exclusive_start_key is not None:
                lo = max(lo, base + self._key_of_key(meta, exclusive_start_key) + b"\x00")
            segmented = bool(total_segments and total_segments > 1)
            if not (scan_filter or segmented or count_only or attributes_to_get is not None):
                return self._scan_raw(schema, txn.scan(lo, hi) if lo < hi else iter(()), limit)
            scanned = count = 0
            items: list[Item] = []
            last = None
            for _, v in txn.scan(lo, hi) if lo < hi else iter(()):
                item = orjson.loads(v)
                if segmented and self._segment(schema, item, total_segments) != segment:  # type: ignore[arg-type]
                    continue
                scanned += 1
                last = item
                if not scan_filter or item_matches(item, scan_filter):
                    count += 1
                    if not count_only:
                        items.append(project(item, attributes_to_get))
                if limit is not None and scanned >= limit:
                    break
        last_key = None
        if limit is not None and scanned == limit and last is not None:
            last_key = {n: last[n] for n in schema.key_names}
        return SelectResult(
            count, items=None if count_only else items, last_key=last_key, scanned_count=scanned
        )

    @staticmethod
    def _scan_raw(
        schema: TableSchema, pairs: Iterator[tuple[bytes, bytes]], limit: int | None
    ) -> SelectResult:
        """A scan of whole items, unfiltered: the stored bytes as they are (a query's
        way), only the last item parsed for the page's key."""
        raws: list[bytes] = []
        for _, v in pairs:
            raws.append(bytes(v))
            if limit is not None and len(raws) >= limit:
                break
        last_key = None
        if limit is not None and len(raws) == limit:
            last = orjson.loads(raws[-1])
            last_key = {n: last[n] for n in schema.key_names}
        return SelectResult(len(raws), raw_items=raws, last_key=last_key, scanned_count=len(raws))

    @staticmethod
    def _segment(schema: TableSchema, item: Item, total: int) -> int:
        ((tc, wire),) = item[schema.hash_key].items()
        return zlib.crc32(typed.key_bytes(tc, wire)) % total
