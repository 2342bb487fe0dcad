"""``PairKind.INVERTED_MAP``: a map in the base item <-> a ``property -> set of ids`` table.

Every key:value of an item's map has the item's id in the set of the property
``["key", "value"]`` (or its SHA-256 when long: ``lookups.property_of``, the
design's keying rule), and every id in a set names an item whose map holds
that pair. A soft-deleted volume has no metadata (``volume_destroy`` empties
the maps and takes its ids out), so deleted items are compared like the
others. Each property item also keeps its pair as ``key`` and ``value``: a
property whose pair does not hash to it is stale.

A pair with ``copies`` (``glance_map``) has a map *property -> number of copies*
and sets of copy names (``glance.copy_name``: the id, then the id and the copy's
number); a table with several id sets (glance: volumes' and snapshots') has a
property item that only another set holds, which is not this pair's orphan.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from cinderdb.magneto import tables
from cinderdb.magneto.glance import copy_name, owner_of
from cinderdb.magneto.hot_sets import base_property, shard_property
from cinderdb.magneto.lookups import property_of
from validators.findings import MISSING, ORPHAN, STALE, Finding
from validators.pairs.base import (
    Action,
    Buckets,
    DigestedCheck,
    Wire,
    bucket_of,
    hashes,
    mixed,
    text,
)

VERSION_BUMP = {"version": {"action": "ADD", "value": {"N": "1"}}}


class InvertedMapCheck(DigestedCheck):
    kind = tables.PairKind.INVERTED_MAP

    def __init__(self, pair: tables.DualWrite) -> None:
        super().__init__(pair)
        self.map = self.source_attribute or ""
        self.ids = pair.params["ids_attribute"]
        self.base_id = self.source.hash_key
        #: the finding key's name for the member id ("volume_id")
        self.member_key = f"{self.source.record_kind or self.source.name}_id"
        self.hash_key = self.target.hash_key
        #: property -> ids, as the maps call for them / as the table holds them
        self.expected: dict[str, set[str]] = {}
        self.actual: dict[str, set[str]] = {}
        #: property -> (key, value) of either side
        self.pairs: dict[str, tuple[str, str]] = {}
        self.corrupt: list[Finding] = []
        self._cache: dict[tuple[str, str], str] = {}
        #: option ``split_hot_sets``: each property kept as this many shards (0: whole)
        self.shards = int(pair.params.get("shards", "0"))
        self.copies = pair.params.get("copies") == "true"
        #: the target's other id sets (a property only they hold is not ours)
        self.other_sets = [
            n for n, kind in self.target.extra.items() if kind == "SS" and n != self.ids
        ]

    def reads(self) -> dict[str, set[str] | None]:
        return {self.source.name: {self.base_id, self.map}, self.target.name: None}

    def consume(self, table: str, items: list[Wire]) -> None:
        if table == self.source.name:
            self._consume_maps(items)
        if table == self.target.name:
            self._consume_sets(items)

    def _property(self, key: str, value: str) -> str:
        pair = (key, value)
        prop = self._cache.get(pair)
        if prop is None:
            prop = self._cache[pair] = property_of(key, value)
            self.pairs.setdefault(prop, pair)
        return prop

    def _consume_maps(self, items: list[Wire]) -> None:
        attribute, base_id, expected = self.map, self.base_id, self.expected
        prop_of, known, shards = self._property, self._cache.get, self.shards
        for item in items:
            typed = item.get(attribute)
            if not typed:
                continue
            item_id = item[base_id]["S"]
            if self.copies:
                for held, count in typed["SSM"].items():
                    key, value = orjson.loads(held)
                    members = {copy_name(item_id, c) for c in range(1, int(count) + 1)}
                    expected.setdefault(prop_of(key, value), set()).update(members)
                continue
            for pair in typed["SSM"].items():
                prop = known(pair) or prop_of(*pair)
                if shards:
                    key, value = pair
                    prop = shard_property(prop, item_id)
                    self.pairs.setdefault(prop, (key, value))
                holders = expected.get(prop)
                if holders is None:
                    expected[prop] = {item_id}
                else:
                    holders.add(item_id)

    def _consume_sets(self, items: list[Wire]) -> None:
        for item in items:
            prop = item[self.hash_key]["S"]
            typed = item.get(self.ids)
            if not typed and any(item.get(name) for name in self.other_sets):
                continue  # another pair's property
            self.actual[prop] = set(typed["SS"]) if typed else set()
            key, value = text(item, "key"), text(item, "value")
            if key is not None and value is not None:
                self.pairs.setdefault(prop, (key, value))
                if property_of(key, value) != (base_property(prop) if self.shards else prop):
                    self.corrupt.append(
                        self.finding(
                            STALE,
                            self.target.name,
                            {self.hash_key: prop},
                            "key",
                            property_of(key, value),
                            prop,
                        )
                    )

    def finish(self) -> list[Finding]:
        found = list(self.corrupt)
        checked = 0
        table, hash_key = self.target.name, self.hash_key
        for prop in sorted(self.expected.keys() | self.actual.keys()):
            want = self.expected.get(prop, set())
            have = self.actual.get(prop)
            checked += len(want) if have is None else len(want | have)
            pair = list(self.pairs.get(prop) or _pair_of(prop))
            for item_id in sorted(want - (have or set())):
                key = {hash_key: prop, self.member_key: item_id}
                found.append(self.finding(MISSING, table, key, self.ids, pair, None))
            if have is not None:
                for item_id in sorted(have - want):
                    key = {hash_key: prop, self.member_key: item_id}
                    found.append(self.finding(ORPHAN, table, key, self.ids, None, pair))
                if not have and not self.shards:  # empty sets: nothing implies it (a shard
                    # of a split property stays when emptied: option ``split_hot_sets``)
                    found.append(self.finding(ORPHAN, table, {hash_key: prop}, self.ids, None, []))
        self.checked = checked
        return found

    # ------------------------------------------------------------ digests

    def fold(self, buckets: Buckets) -> None:
        """An id's bucket is its base item's; an empty property item's, its property's.
        An entry's hash mixes the id's and the property's (in C: a set holds up to
        hundreds of thousands of ids)."""
        for sets, source in ((self.expected, True), (self.actual, False)):
            members: list[str] = []
            props: list[int] = []
            for prop, ids in sets.items():
                members.extend(ids)
                props.extend(itertools.repeat(hash(prop), len(ids)))
            member_hashes = hashes(members)
            owners = hashes(map(owner_of, members)) if self.copies else member_hashes
            entries = mixed(member_hashes, np.array(props, dtype=np.int64).view(np.uint64))
            buckets.add(owners, entries, source=source)
        if not self.shards:  # an empty set: its own entry, which no map calls for
            empty = [prop for prop, ids in self.actual.items() if not ids]
            buckets.target(empty, ((prop,) for prop in empty))
        self.expected, self.actual = {}, {}

    def restrict(self, table: str, items: list[Wire], suspects: Any) -> list[Wire]:
        if table == self.source.name:
            base_id = self.base_id
            return [item for item in items if bucket_of(text(item, base_id)) in suspects]
        kept = []
        for item in items:
            typed = item.get(self.ids)
            if not typed or not typed["SS"]:
                if bucket_of(text(item, self.hash_key)) in suspects:
                    kept.append(item)
                continue
            ids = [
                i for i in typed["SS"] if bucket_of(owner_of(i) if self.copies else i) in suspects
            ]
            if ids:
                kept.append({**item, self.ids: {"SS": ids}})
        return kept

    def direct_findings(self) -> list[Finding]:
        return list(self.corrupt)

    def member(self, finding: Finding) -> str | None:
        return finding.key.get(self.member_key)

    def owner(self, finding: Finding) -> str | None:
        """The base item's id of a finding's member (a copy name names its owner)."""
        member = self.member(finding)
        return owner_of(member) if member is not None and self.copies else member

    def subjects(self, finding: Finding) -> list[str]:
        owner = self.owner(finding)
        return [owner] if owner else []

    # ------------------------------------------------------------ re-check

    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        keys: dict[str, list[tuple[Any, ...]]] = {self.target.name: [(finding.key[self.hash_key],)]}
        owner = self.owner(finding)
        if owner is not None:
            keys[self.source.name] = [(owner,)]
        return keys

    def describe(self, reader: Any, findings: list[Finding]) -> None:
        """An orphan id's example gets what the item's map says for that key now."""
        orphans = [f for f in findings if f.cls == ORPHAN and self.member(f)]
        if not orphans or self.copies:
            return
        found = reader.get_many({self.source.name: [(self.member(f),) for f in orphans]})
        maps = {
            item[self.base_id]["S"]: item.get(self.map, {}).get("SSM", {})
            for item in found[self.source.name]
        }
        for finding in orphans:
            member = self.member(finding)
            if member not in maps:
                finding.expected = f"no {self.source.name} item {member}"
                continue
            key = finding.actual[0] if finding.actual else None
            now = maps[member].get(key) if key is not None else None
            finding.expected = [key, now] if now is not None else f"{key!r} not in {self.map}"

    # ------------------------------------------------------------- repair

    def repair(self, finding: Finding) -> list[Action]:
        prop_key = {self.hash_key: {"S": finding.key[self.hash_key]}}
        member = self.member(finding)
        table = self.target.name
        if finding.cls == STALE:
            key, value = (
                orjson.loads(base_property(finding.key[self.hash_key]))
                if _is_pair(finding)
                else (None, None)
            )
            if key is None:
                return []
            updates = {"key": _put(key), "value": _put(value)}
            return [Action("update_item", table, {"key": prop_key, "attribute_updates": updates})]
        if member is None:  # an item with empty sets
            empty = {self.ids: {"exists": False}, **_other_sets(self.target, self.ids)}
            body = {"key": prop_key, "expected": empty}
            return [Action("delete_item", table, body, "remove the empty property item")]
        if finding.cls == MISSING:
            key, value = finding.expected
            updates = {
                self.ids: {"action": "ADD", "value": {"SS": [member]}},
                "key": _put(key),
                "value": _put(value),
            }
            body = {"key": prop_key, "attribute_updates": updates}
            return [Action("update_item", table, body, f"add {member} to the set")]
        updates = {self.ids: {"action": "DELETE", "value": {"SS": [member]}}}
        actions = [
            Action(
                "update_item",
                table,
                {"key": prop_key, "attribute_updates": updates},
                f"take {member} out of the set",
            )
        ]
        empty = {self.ids: {"exists": False}, **_other_sets(self.target, self.ids)}
        actions.append(
            Action(
                "delete_item",
                table,
                {"key": prop_key, "expected": empty},
                "remove the property if no set holds an id any more (skipped otherwise)",
            )
        )
        return actions


def _put(value: str) -> Wire:
    return {"action": "PUT", "value": {"S": value}}


def _pair_of(prop: str) -> tuple[str, str]:
    """The pair a property names, when it is the JSON pair itself (not a digest)."""
    if prop.startswith("["):
        try:
            key, value = orjson.loads(base_property(prop))
            return str(key), str(value)
        except (orjson.JSONDecodeError, ValueError):
            pass
    return ("?", "?")


def _is_pair(finding: Finding) -> bool:
    prop = finding.key.get("property", "")
    return isinstance(prop, str) and prop.startswith("[")


def _other_sets(table: tables.Table, ids: str) -> Mapping[str, Wire]:
    """Conditions that every other id set of the table is empty too (glance has two)."""
    return {
        name: {"exists": False}
        for name, kind in table.extra.items()
        if kind == "SS" and name != ids
    }
