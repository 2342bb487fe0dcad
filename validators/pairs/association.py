"""``PairKind.ASSOCIATION_SET``: a reference column <-> the referee's set of referring ids.

A volume type's ``qos_specs_id`` is the authority; the QoS spec's
``volume_types`` set lists the types pointing at it, so the spec's
associations are one get_item. Both are kept for soft-deleted types and specs
(Liberty's destroy and delete leave associations alone), so deleted items are
compared like live ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb.magneto import tables
from validators.findings import MISSING, ORPHAN, Finding
from validators.pairs.base import Action, PairCheck, Wire, text


class AssociationSetCheck(PairCheck):
    kind = tables.PairKind.ASSOCIATION_SET

    def __init__(self, pair: tables.DualWrite) -> None:
        super().__init__(pair)
        self.pointer = self.source_attribute or ""
        self.members = self.target_attribute or ""
        self.source_id = self.source.hash_key
        self.target_id = self.target.hash_key
        #: member key name in findings ("volume_type_id")
        self.member_key = f"{self.source.record_kind or self.source.name}_id"
        self.expected: set[tuple[str, str]] = set()
        self.actual: set[tuple[str, str]] = set()
        self.pointers: dict[str, str | None] = {}

    def reads(self) -> dict[str, set[str] | None]:
        return {
            self.source.name: {self.source_id, self.pointer},
            self.target.name: {self.target_id, self.members},
        }

    def consume(self, table: str, items: list[Wire]) -> None:
        if table == self.source.name:
            for item in items:
                item_id, pointer = item[self.source_id]["S"], text(item, self.pointer)
                self.pointers[item_id] = pointer
                if pointer is not None:
                    self.expected.add((pointer, item_id))
        if table == self.target.name:
            for item in items:
                typed = item.get(self.members)
                if typed:
                    target_id = item[self.target_id]["S"]
                    self.actual.update((target_id, member) for member in typed["SS"])

    def finish(self) -> list[Finding]:
        found = []
        table = self.target.name
        for target_id, member in sorted(self.expected - self.actual):
            key = {self.target_id: target_id, self.member_key: member}
            found.append(self.finding(MISSING, table, key, self.members, target_id, None))
        for target_id, member in sorted(self.actual - self.expected):
            key = {self.target_id: target_id, self.member_key: member}
            pointer = self.pointers.get(member, f"no {self.source.name} item {member}")
            found.append(self.finding(ORPHAN, table, key, self.members, pointer, target_id))
        self.checked = len(self.expected | self.actual)
        return found

    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        return {
            self.source.name: [(finding.key[self.member_key],)],
            self.target.name: [(finding.key[self.target_id],)],
        }

    def follow(self, items: Mapping[str, list[Wire]]) -> dict[str, list[tuple[Any, ...]]]:
        pointers = [(text(i, self.pointer),) for i in items.get(self.source.name, [])]
        pointers = [p for p in pointers if p[0] is not None]
        return {self.target.name: pointers} if pointers else {}

    def repair(self, finding: Finding) -> list[Action]:
        member = finding.key[self.member_key]
        action = "ADD" if finding.cls == MISSING else "DELETE"
        body: dict[str, Any] = {
            "key": {self.target_id: {"S": finding.key[self.target_id]}},
            "attribute_updates": {self.members: {"action": action, "value": {"SS": [member]}}},
        }
        if finding.cls == MISSING:  # only to an item that exists (maybe deleted)
            body["expected"] = {self.target_id: {"exists": True}}
        note = f"add {member} to the set" if action == "ADD" else f"take {member} out of the set"
        return [Action("update_item", self.target.name, body, note)]
