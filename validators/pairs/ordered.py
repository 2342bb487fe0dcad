"""``PairKind.ORDERED_INDEX``: a live item's column <-> its entry in an index ordered by it.

The entry (``entries.OrderedRule``: ``reservations_by_expire``) is under one bucket,
its range the value then the item's last key part, and it holds the item's key and the
value as attributes. Every live base item with a value has its entry (missing), and
every entry is the one a live item calls for (orphan: a retired item's, or a crash's
leftover). A finding's key is the whole entry, so a repair writes it back as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb.magneto import tables
from cinderdb.magneto.entries import OrderedRule
from validators.findings import MISSING, ORPHAN, Finding
from validators.pairs.base import Action, PairCheck, Wire, wire_key

#: An entry as a hashable tuple of (attribute, value) pairs.
EntryKey = tuple[tuple[str, str], ...]


def _flat(entry: Mapping[str, Wire]) -> EntryKey:
    return tuple(sorted((name, typed["S"]) for name, typed in entry.items()))


class OrderedIndexCheck(PairCheck):
    kind = tables.PairKind.ORDERED_INDEX

    def __init__(self, pair: tables.DualWrite) -> None:
        super().__init__(pair)
        self.rule = OrderedRule(
            self.target.name, self.source.name, self.source_attribute or "", pair.params["bucket"]
        )
        self.expected: set[EntryKey] = set()
        self.actual: set[EntryKey] = set()

    def reads(self) -> dict[str, set[str] | None]:
        base = {*self.source.key_attributes(), self.rule.column, "deleted"}
        return {self.source.name: base, self.target.name: None}

    def consume(self, table: str, items: list[Wire]) -> None:
        if table == self.source.name:
            for item in items:
                entry = self.rule.entry(item)
                if entry is not None:
                    self.expected.add(_flat(entry))
        if table == self.target.name:
            self.actual.update(_flat(item) for item in items)

    def finish(self) -> list[Finding]:
        missing, orphans = self.expected - self.actual, self.actual - self.expected
        self.checked = len(self.expected) + len(orphans)
        name, column = self.target.name, self.rule.column
        found = [
            self.finding(MISSING, name, dict(e), column, dict(e).get(column), None)
            for e in sorted(missing)
        ]
        found += [
            self.finding(ORPHAN, name, dict(e), column, None, dict(e).get(column))
            for e in sorted(orphans)
        ]
        return found

    def subjects(self, finding: Finding) -> list[str]:
        keys = self.source.key_attributes()
        return [finding.key[keys[-1]]] if keys[-1] in finding.key else []

    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        key = finding.key
        target = tuple(key[name] for name in self.target.key_attributes())
        source = tuple(key[name] for name in self.source.key_attributes())
        return {self.source.name: [source], self.target.name: [target]}

    def repair(self, finding: Finding) -> list[Action]:
        if finding.cls == ORPHAN:
            body = {"key": wire_key(self.target, finding.key)}
            note = "remove the entry nothing implies"
            return [Action("delete_item", self.target.name, body, note)]
        item = {name: {"S": value} for name, value in finding.key.items()}
        return [Action("put_item", self.target.name, {"item": item}, "write the missing entry")]
