"""Bulk loading of a ``BulkData`` in the design's own layout, bypassing the API.

Every section becomes the items the API functions would have written: base
items (``version`` 1 where the table has one, so ``modify`` sees them), their
index-table entries, the inverted metadata sets (one item per property, the
ids of every record holding it), the attachment rows beside the volumes' maps,
the name indexes of live types and QoS specs, the QoS specs' sets of
associated types and the usages' sets of live reservations.

All items of a ``BulkData`` are built (and every record checked, as an API
write checks it) before anything is written: a bad record loads nothing. Then
the second copies go first and the base items last, as the API orders its
writes, in bulk load requests (MagnetoDB's streaming API: one item per line) of
``CHUNK`` items sent by ``WORKERS`` threads. An inverted property that already
exists in the store is merged, not replaced.

A part's base items are still being written while the next part is built and
checked (its own base items then wait for all before them): the server writes while this
process makes items, which are the two halves of a load's CPU.

A stream of parts (a million volumes) is written a part at a time, each part
checked before it is written, with one exception to that order: an inverted
property gathers members from every part, so the inverted items are written
once, before the last part (whose records are checked first); only their member
lists stay in memory meanwhile. A stream that fails part-way leaves the parts
already written. An item the server refuses as too large (MagnetoDB's 16 MiB
limit: the seed's ``readonly=False`` set at about 700k volumes) fails the load
with a ``DBError`` naming the item, its size and the server's limit.
"""

from __future__ import annotations

import functools
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson

from cinderdb import exception
from cinderdb.bulk import BulkData, gc_paused, parts_of
from cinderdb.magneto.core import MagnetoCore, translate_errors
from cinderdb.magneto.entries import entry_item, index_entries
from cinderdb.magneto.glance import COPY_SEPARATOR, GLANCE_MAP, OWNERS
from cinderdb.magneto.hot_sets import SPLIT_TABLES
from cinderdb.magneto.items import Wire, n, s, ss, ssm, to_item
from cinderdb.magneto.keys import encode_item
from cinderdb.magneto.lookups import property_of
from cinderdb.magneto.shapes import attachment_json
from cinderdb.records import FIELDS, Record, blank, coerce_metadata, coerce_values

#: Items (and JSON bytes, about) per bulk load request, and requests in flight.
CHUNK = 2000
CHUNK_BYTES = 4 << 20
WORKERS = 4
#: Inverted properties made (and, in a store that holds some, read back) at a time.
MERGE_BATCH = 1000
_FORMAT = "%Y-%m-%dT%H:%M:%S"


_BLANKS = {kind: blank(kind) for kind in FIELDS}


def _row(kind: str, record: Mapping[str, Any], **fixed: Any) -> Record:
    """Every column of a record, checked like any API write; ``deleted`` never None."""
    row = dict(_BLANKS[kind])
    row.update(coerce_values(kind, {**record, **fixed} if fixed else record))
    if row.get("deleted") is None:
        row["deleted"] = False
    return row


def _metadata(record: Mapping[str, Any], key: str) -> dict[str, str]:
    raw = record.get(key)
    return coerce_metadata(raw) if raw else {}


def _required(row: Mapping[str, Any], *columns: str) -> None:
    for column in columns:
        if row.get(column) is None:
            raise exception.InvalidInput(reason=f"{column} is part of the item's key")


class _Layout:
    """The items of one BulkData, table by table: derived (second copies) and base; the
    inverted members and the type names live on across the parts of a stream
    (``next_part``)."""

    def __init__(
        self,
        rules: Callable[[str], tuple[Any, ...]],
        holders: Callable[[str, str, str, Iterable[str]], dict[str, list[str]]],
        split: frozenset[str],
    ) -> None:
        #: base table -> the list indexes of the design (``MagnetoCore.index_rules_for``)
        self.rules = functools.cache(rules)
        #: the item of an inverted table that holds an id (``Lookups.property_members``)
        self.holders = holders
        #: the inverted tables whose items depend on the id too (their sets are split);
        #: the others' item is the pair's property whatever the id
        self.split = split
        self.derived: dict[str, list[Wire]] = defaultdict(list)
        self.base: list[tuple[str, list[Wire], int]] = []  # (table, items, records reported)
        #: inverted table -> property -> (key, value, {id attribute: [members]})
        self.inverted: dict[str, dict[str, tuple[str, str, dict[str, list[str]]]]] = defaultdict(
            dict
        )
        #: volume type id -> name, for the volumes' ``volume_type_name``
        self.type_names: dict[str, str | None] = {}

    def next_part(self) -> None:
        """Forget the items of the part written; keep what later parts add to."""
        self.derived = defaultdict(list)
        self.base = []

    def entries(self, base: str, row: Record) -> None:
        """The list-index entries of a base item (``entries.rules_for``)."""
        for entry in index_entries(self.rules(base), row, row["id"]):
            self.derived[entry[0]].append(entry_item(entry))

    def member(self, table: str, key: str, value: str, attribute: str, member: str) -> None:
        if table in self.split:
            (prop,) = self.holders(table, key, value, [member])
        else:
            prop = property_of(key, value)
        entry = self.inverted[table].setdefault(prop, (key, value, {}))
        entry[2].setdefault(attribute, []).append(member)


def _build(data: BulkData, layout: _Layout, maps: bool) -> _Layout:
    """One part's items into ``layout``; ``maps``: the ``glance_map`` option (owners hold
    their image properties too; a part holds its owners' glance rows)."""
    _qos_and_types(layout, data)
    groups = []
    for record in data.consistencygroups:
        row = _row("consistencygroup", record)
        groups.append(to_item("consistencygroup", row))
        layout.entries("consistencygroups", row)
    layout.base.append(("consistencygroups", groups, len(data.consistencygroups)))
    _volumes(layout, data)
    cgsnapshots = []
    for record in data.cgsnapshots:
        row = _row("cgsnapshot", record)
        cgsnapshots.append(to_item("cgsnapshot", row))
        layout.entries("cgsnapshots", row)
    layout.base.append(("cgsnapshots", cgsnapshots, len(data.cgsnapshots)))
    _snapshots(layout, data)
    counts = _glance(layout, data)
    if maps:
        _glance_maps(layout, counts)
    _quotas(layout, data)
    return layout


def _qos_and_types(layout: _Layout, data: BulkData) -> None:
    types, type_rows = [], []
    for record in data.volume_types:
        row = _row("volume_type", record)
        if row["is_public"] is None:
            row["is_public"] = True
        type_rows.append(row)
        item = to_item("volume_type", row)
        specs = _metadata(record, "extra_specs")
        if specs:
            item["extra_specs"] = ssm(specs)
        projects = [str(p) for p in record.get("projects") or ()]
        if projects:
            item["projects"] = ss(projects)
        item["version"] = n(1)
        types.append(item)
        if not row["deleted"] and row["name"] is not None:
            layout.derived["volume_types_by_name"].append(
                {
                    "name": s(row["name"]),
                    "volume_type_id": s(row["id"]),
                    "created_at": _stamp(row),
                }
            )
    associated = defaultdict(list)
    for row in type_rows:
        # Deleted types keep their association, as in Liberty (pair qos_type_associations).
        if row["qos_specs_id"] is not None:
            associated[row["qos_specs_id"]].append(row["id"])
    specs_items = []
    for record in data.qos_specs:
        row = _row("qos_specs", record)
        item = to_item("qos_specs", row)
        specs = _metadata(record, "specs")
        if specs:
            item["specs"] = ssm(specs)
        if associated.get(row["id"]):
            item["volume_types"] = ss(associated[row["id"]])
        item["version"] = n(1)
        specs_items.append(item)
        if not row["deleted"] and row["name"] is not None:
            layout.derived["qos_specs_by_name"].append(
                {
                    "name": s(row["name"]),
                    "qos_specs_id": s(row["id"]),
                    "created_at": _stamp(row),
                }
            )
    layout.base.append(("quality_of_service_specs", specs_items, len(data.qos_specs)))
    layout.base.append(("volume_types", types, len(data.volume_types)))
    layout.type_names.update({row["id"]: row["name"] for row in type_rows})


def _stamp(row: Mapping[str, Any]) -> Wire:
    created = row.get("created_at")
    return s(created.strftime(_FORMAT)) if created is not None else s("1970-01-01T00:00:00")


def _volumes(layout: _Layout, data: BulkData) -> None:
    type_names = layout.type_names
    volumes = []
    for record in data.volumes:
        row = _row("volume", record)
        for flag in ("bootable", "multiattach"):
            if row[flag] is None:
                row[flag] = False
        volume_id = row["id"]
        item = to_item("volume", row)
        if type_names.get(row["volume_type_id"]) is not None:
            item["volume_type_name"] = s(type_names[row["volume_type_id"]])  # type: ignore[arg-type]
        attachments = {}
        for attachment in record.get("attachments") or ():
            arow = _row("attachment", attachment, volume_id=volume_id)
            layout.derived["volume_attachment"].append(to_item("attachment", arow))
            if not arow["deleted"]:
                attachments[arow["id"]] = attachment_json(arow)
        if attachments:
            item["volume_attachment"] = ssm(attachments)
        for attribute, key in (
            ("volume_metadata", "metadata"),
            ("volume_admin_metadata", "admin_metadata"),
        ):
            pairs = _metadata(record, key)
            if pairs and not row["deleted"]:  # a deleted volume's metadata was retired with it
                item[attribute] = ssm(pairs)
                for k, v in pairs.items():
                    layout.member(attribute, k, v, "volume_ids", volume_id)
        item["version"] = n(1)
        volumes.append(item)
        layout.entries("volumes", row)
    layout.base.append(("volumes", volumes, len(data.volumes)))


def _snapshots(layout: _Layout, data: BulkData) -> None:
    snapshots = []
    for record in data.snapshots:
        row = _row("snapshot", record)
        if row["volume_id"] is None:
            raise exception.InvalidInput(reason="a snapshot needs a volume_id")
        item = to_item("snapshot", row)
        pairs = _metadata(record, "metadata")
        if pairs and not row["deleted"]:
            item["snapshot_metadata"] = ssm(pairs)
        item["version"] = n(1)
        snapshots.append(item)
        layout.entries("snapshots", row)
    layout.base.append(("snapshots", snapshots, len(data.snapshots)))


def _glance_maps(layout: _Layout, counts: Mapping[tuple[str, str, str, str], int]) -> None:
    """Each owner item gets its ``glance_map``: property -> copies."""
    maps: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for (key, value, attribute, owner), count in counts.items():
        maps[(OWNERS[attribute], owner)][property_of(key, value)] = str(count)
    for table, items, _count in layout.base:
        if table in OWNERS.values():
            for item in items:
                held = maps.get((table, item["id"]["S"]))
                if held:
                    item[GLANCE_MAP] = ssm(held)


def _glance(layout: _Layout, data: BulkData) -> dict[tuple[str, str, str, str], int]:
    """Members of the glance inverted table (one owner holding the same pair twice is
    numbered when the items are made, ``_numbered``); returns the copies per (key, value,
    id set, owner), for the owners' glance maps."""
    copies: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for record in data.glance_metadata:
        row = coerce_values("glance_metadata", record)
        volume_id, snapshot_id = row.get("volume_id"), row.get("snapshot_id")
        if (volume_id is None) == (snapshot_id is None):
            raise exception.InvalidInput(
                reason="glance metadata names exactly one of volume_id, snapshot_id"
            )
        _required(row, "key", "value")
        attribute, owner = ("volume_ids", volume_id) if volume_id else ("snapshot_ids", snapshot_id)
        copies[(row["key"], row["value"], attribute, owner)] += 1
        layout.member("volume_glance_metadata", row["key"], row["value"], attribute, owner)
    layout.base.append(("", [], len(data.glance_metadata)))
    return copies


def _quotas(layout: _Layout, data: BulkData) -> None:
    quotas = []
    for record in data.quotas:
        row = _row("quota", record)
        _required(row, "project_id", "resource")
        quotas.append(to_item("quota", row))
    layout.base.append(("quotas", quotas, len(data.quotas)))
    classes = []
    for record in data.quota_classes:
        row = _row("quota_class", record)
        _required(row, "class_name", "resource")
        classes.append(to_item("quota_class", row))
    layout.base.append(("quota_classes", classes, len(data.quota_classes)))
    usages: dict[tuple[str, str], Wire] = {}
    live_usage: dict[tuple[str, str], Wire] = {}
    for record in data.quota_usages:
        row = _row("quota_usage", record)
        _required(row, "project_id", "resource")
        item = {**to_item("quota_usage", row), "version": n(1)}
        key = (row["project_id"], row["resource"])
        usages[key] = item
        if not row["deleted"]:
            live_usage[key] = item
    reservations = []
    for record in data.reservations:
        row = _row("reservation", record)
        _required(row, "project_id", "uuid")
        key = (row["project_id"], row["resource"])
        usage = live_usage.get(key) or usages.get(key)
        if usage is None:
            raise exception.InvalidInput(
                reason=f"reservation {row['uuid']} has no quota usage "
                f"for {row['project_id']}/{row['resource']}"
            )
        if not row["deleted"]:
            held = set(usage.get("reservations", {"SS": []})["SS"]) | {row["uuid"]}
            usage["reservations"] = ss(held)
        reservations.append(to_item("reservation", row))
    layout.base.append(("quota_usages", list(usages.values()), len(data.quota_usages)))
    layout.base.append(("reservations", reservations, len(data.reservations)))


def _numbered(members: list[str]) -> list[str]:
    """Members with the second and later copies of one owner numbered (``id#2``): the
    glance table's way to hold one pair twice for one volume, as Liberty's rows may."""
    if len(set(members)) == len(members):
        return members
    seen: dict[str, int] = defaultdict(int)
    numbered = []
    for member in members:
        seen[member] += 1
        number = seen[member]
        numbered.append(member if number == 1 else f"{member}{COPY_SEPARATOR}{number}")
    return numbered


def _chunks(items: Iterable[Wire], size: int, max_bytes: int | None) -> Iterator[Sequence[Wire]]:
    """At most ``size`` items per request and, when ``max_bytes`` is given, about that many
    bytes of JSON (an inverted property can be megabytes: the request body has a cap)."""
    if max_bytes is None and isinstance(items, Sequence):
        for start in range(0, len(items), size):
            yield items[start : start + size]
        return
    chunk: list[Wire] = []
    weight = 0
    for item in items:
        length = len(orjson.dumps(item)) if max_bytes is not None else 0
        if chunk and (len(chunk) >= size or (max_bytes and weight + length > max_bytes)):
            yield chunk
            chunk, weight = [], 0
        chunk.append(item)
        weight += length
    if chunk:
        yield chunk


class BulkLoadFunctions(MagnetoCore):
    """Bulk loading of a BulkData: a bulk load of every item the API would have written."""

    def bulk_load(
        self,
        data: BulkData | Iterable[BulkData],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        with gc_paused():
            self._bulk_load(data, progress or (lambda _n: None))

    def _bulk_load(
        self, data: BulkData | Iterable[BulkData], report: Callable[[int], None]
    ) -> None:
        split = SPLIT_TABLES if self.split_sets else frozenset()
        layout = _Layout(self.index_rules_for, self.property_members, split)
        maps = self.design.has("glance_map")
        parts = parts_of(data)
        part = next(parts, None)
        # A part's second copies are all written before its base items; its base items
        # are still being written while the next part is built (the server writes while
        # this process makes items: the two share no core).
        pending: deque[Future[None]] = deque()
        with ThreadPoolExecutor(WORKERS) as pool:
            while part is not None:
                _build(part, layout, maps)
                self._ordered_entries(layout)
                part = next(parts, None)
                if part is None:  # the last part: the inverted items first, as the API does
                    for table, properties in layout.inverted.items():
                        merged = self._merged(table, properties)
                        self._put_all(pool, pending, table, merged, CHUNK_BYTES)
                for table, items in layout.derived.items():
                    self._put_all(pool, pending, table, items)
                _drained(pending)
                for table, items, count in layout.base:
                    if table:
                        self._put_all(pool, pending, table, items)
                    report(count)
                layout.next_part()
            _drained(pending)

    def _ordered_entries(self, layout: _Layout) -> None:
        """The part's entries of the design's ordered indexes (``expire_index``)."""
        for table, items, _count in layout.base:
            rule = self.ordered.get(table)
            if rule is not None:
                entries = (rule.entry(item) for item in items)
                layout.derived[rule.table].extend(e for e in entries if e is not None)

    def _merged(
        self, table: str, properties: dict[str, tuple[str, str, dict[str, list[str]]]]
    ) -> Iterator[Wire]:
        """The property items of an inverted table, made ``MERGE_BATCH`` at a time (each
        property's members forgotten once its item is made), merged with those already
        stored: one batch_get_item per 100 properties, none when the table holds nothing
        (a load into an empty store, as the benchmarks' are)."""
        with translate_errors():
            stored_any = bool(self.client.scan(table, limit=1).get("items"))
        names = list(properties)
        for start in range(0, len(names), MERGE_BATCH):
            batch = names[start : start + MERGE_BATCH]
            stored = {}
            if stored_any:
                found = self.get_many({table: [(prop,) for prop in batch]})[table]
                stored = {item["property"]["S"]: item for item in found}
            for prop in batch:
                key, value, members = properties.pop(prop)
                item = {"property": s(prop), "key": s(key), "value": s(value)}
                old = stored.get(prop, {})
                for attribute in ("volume_ids", "snapshot_ids"):
                    mine = _numbered(members.get(attribute, []))
                    union = set(mine) | set(old.get(attribute, {"SS": []})["SS"])
                    if union:
                        item[attribute] = ss(union)
                yield item

    def _put_all(
        self,
        pool: ThreadPoolExecutor,
        pending: deque[Future[None]],
        table: str,
        items: Iterable[Wire],
        max_bytes: int | None = None,
    ) -> None:
        """Puts in bulk load requests of ``CHUNK`` items (and ``max_bytes``),
        ``WORKERS`` at a time, at most twice that many requests made ahead (``items`` may
        be a generator: only those requests' items are held); the last ones are left
        ``pending`` (``_drained`` waits for them)."""
        for chunk in _chunks(items, CHUNK, max_bytes):
            pending.append(pool.submit(self._put_chunk, table, chunk))
            if len(pending) >= 2 * WORKERS:
                pending.popleft().result()

    def _put_chunk(self, table: str, items: Sequence[Wire]) -> None:
        spec = self.tables[table]
        dumps = orjson.dumps
        lines = b"".join([dumps(encode_item(spec, item)) + b"\n" for item in items])
        with translate_errors():
            answer = self.client.bulk_load(table, lines)
        if answer["processed"] != len(items):
            raise _refused(table, spec, answer)


def _drained(pending: deque[Future[None]]) -> None:
    """Every request in flight done (the first failure raised)."""
    while pending:
        pending.popleft().result()


def _refused(table: str, spec: Any, answer: Mapping[str, Any]) -> exception.DBError:
    """The error of a bulk load that did not put every line: its first failed line's (an
    item the server refuses for its size is named: its key, its bytes, how many ids an
    inverted item holds, and the server's limit)."""
    line, error = next(iter(answer["failed_items"].items()), ("", "nothing failed"))
    counts = ", ".join(f"{answer[k]} {k}" for k in ("processed", "failed", "unprocessed"))
    if "maximum allowed size" not in error:
        return exception.DBError(
            reason=f"the bulk load of {table} stopped ({counts}): {error}, for {line[:200]!r}"
        )
    size = len(line.encode()) - 1
    item = orjson.loads(line)
    key = {name: next(iter(item[name].values())) for name in spec.key_attributes() if name in item}
    held = sum(len(item[a]["SS"]) for a in ("volume_ids", "snapshot_ids") if a in item)
    ids = f", {held:,} ids" if held else ""
    return exception.DBError(
        reason=f"item too large for the server: {table} {key} is about {size:,} bytes"
        f" ({size / (1 << 20):.1f} MiB{ids}); the server said: {error}"
    )
