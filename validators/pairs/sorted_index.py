"""``PairKind.SORTED_INDEX``: a volume's sort columns <-> its entry in a sorted project index.

Option ``sorted_project_index`` (``cinderdb/magneto/sorted_index.py``): every
volume, soft-deleted ones included (Liberty lists them under ``read_deleted``),
has exactly one entry under its project (``NULL_KEY`` for None) whose range key
is its sort column, ``created_at`` and id (``SortedRule.range_of``); every
entry is such a volume's. An entry of the right project at another place (the
volume's status changed and the old entry stayed) is *stale*: the repair writes
the entry the volume calls for and deletes the old one. Others are *missing*
(the repair writes it) or *orphan* (the repair deletes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb.magneto import tables
from cinderdb.magneto.items import from_item
from cinderdb.magneto.sorted_index import SORTED_RULE_BY_TABLE, sorted_entry_id
from validators.findings import MISSING, ORPHAN, STALE, Finding
from validators.pairs.base import Action, PairCheck, Wire, key_dict, wire_key

#: (hash, range key) of an entry.
Place = tuple[str, str]


class SortedIndexCheck(PairCheck):
    kind = tables.PairKind.SORTED_INDEX

    def __init__(self, pair: tables.DualWrite) -> None:
        super().__init__(pair)
        self.rule = SORTED_RULE_BY_TABLE[self.target.name]
        #: volume id -> the entry it calls for / the entries the index holds for it
        self.expected: dict[str, Place] = {}
        self.actual: dict[str, set[Place]] = {}

    def reads(self) -> dict[str, set[str] | None]:
        return {self.source.name: {"id", *self.rule.columns}, self.target.name: None}

    def place_of(self, item: Wire) -> Place:
        """The entry a volume item calls for."""
        _, hash_value, range_value = self.rule.entry(from_item("volume", item), item["id"]["S"])
        return hash_value, range_value

    def consume(self, table: str, items: list[Wire]) -> None:
        if table == self.source.name:
            for item in items:
                self.expected[item["id"]["S"]] = self.place_of(item)
        if table == self.target.name:
            hash_key, range_key = self.target.hash_key, self.target.range_key or ""
            for item in items:
                place = (item[hash_key]["S"], item[range_key]["S"])
                self.actual.setdefault(self._id_of(place[1]), set()).add(place)

    def _id_of(self, sort_key: str) -> str:
        try:
            return sorted_entry_id(self.rule, sort_key)
        except ValueError:
            return sort_key  # not a sort key at all: an orphan under its own name

    def _finding(self, cls: str, place: Place, expected: Any, actual: Any) -> Finding:
        key = key_dict(self.target, *place)
        return self.finding(cls, self.target.name, key, self.rule.column, expected, actual)

    def finish(self) -> list[Finding]:
        found = []
        checked = 0
        for volume_id in sorted(self.expected.keys() | self.actual.keys()):
            want = self.expected.get(volume_id)
            have = sorted(self.actual.get(volume_id, ()))
            checked += max(len(have), 1)
            extra = [p for p in have if p != want]
            if want is not None and want not in have:
                same_project = next((p for p in extra if p[0] == want[0]), None)
                if same_project is None:
                    found.append(self._finding(MISSING, want, want[1], None))
                else:
                    extra.remove(same_project)
                    found.append(self._finding(STALE, same_project, want[1], same_project[1]))
            found.extend(self._finding(ORPHAN, p, None, p[1]) for p in extra)
        self.checked = checked
        return found

    def subjects(self, finding: Finding) -> list[str]:
        return [self._id_of(finding.key[self.target.range_key or ""])]

    # ------------------------------------------------------------ re-check

    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        key = finding.key
        place = (key[self.target.hash_key], key[self.target.range_key or ""])
        entries = [place]
        if finding.cls == STALE:
            entries.append((place[0], finding.expected))
        return {self.source.name: [(self._id_of(place[1]),)], self.target.name: entries}

    def follow(self, items: Mapping[str, list[Wire]]) -> dict[str, list[tuple[Any, ...]]]:
        """The entry each volume read calls for now."""
        return {self.target.name: [self.place_of(item) for item in items.get(self.source.name, [])]}

    # ------------------------------------------------------------- repair

    def repair(self, finding: Finding) -> list[Action]:
        target, key = self.target, finding.key
        range_key = target.range_key or ""
        if finding.cls == ORPHAN:
            body = {"key": wire_key(target, key)}
            return [Action("delete_item", target.name, body, "remove the entry nothing implies")]
        if finding.cls == MISSING:
            item = wire_key(target, key)
            return [Action("put_item", target.name, {"item": item}, "write the missing entry")]
        wanted = wire_key(target, {**key, range_key: finding.expected})
        return [
            Action("put_item", target.name, {"item": wanted}, "write the entry it calls for"),
            Action(
                "delete_item",
                target.name,
                {"key": wire_key(target, key)},
                "remove the entry of the volume's old place",
            ),
        ]
