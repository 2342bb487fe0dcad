"""``PairKind.EMBEDDED_ROWS``: a map of rows in the base item <-> the rows of a table.

The base item's map holds ``row id -> JSON of the row's wire item`` for its
*live* rows only; the table holds every row, retired (soft-deleted) ones too.
So: every map entry has a live row with the same fields (``foreign_key``
naming that base item), and every live row is in the map of the item its
``foreign_key`` names. A retired row is in no map, and that is not a finding;
a soft-deleted volume keeps its map (Liberty's ``volume_destroy`` leaves
attachments alone), so its live rows must still be listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from cinderdb.magneto import tables
from cinderdb.records import FIELDS
from validators.findings import MISSING, ORPHAN, STALE, Finding
from validators.pairs.base import (
    Action,
    Buckets,
    DigestedCheck,
    Wire,
    bucket_of,
    is_deleted,
    now_text,
    text,
)

VERSION_BUMP = {"version": {"action": "ADD", "value": {"N": "1"}}}
#: What the examples show of an orphan row.
SHOWN = ("volume_id", "attach_status", "instance_uuid", "attached_host", "created_at")


class EmbeddedRowsCheck(DigestedCheck):
    kind = tables.PairKind.EMBEDDED_ROWS

    def __init__(self, pair: tables.DualWrite) -> None:
        super().__init__(pair)
        self.map = self.source_attribute or ""
        self.foreign_key = pair.params["foreign_key"]
        self.columns = frozenset(f.name for f in FIELDS[pair.params["row_kind"]])
        self.base_id = self.source.hash_key
        self.row_id = self.target.hash_key
        #: row id -> [(base id, JSON text)] of the maps that list it
        self.listed: dict[str, list[tuple[str, str]]] = {}
        self.live: dict[str, Wire] = {}
        self.retired: dict[str, Wire] = {}

    def reads(self) -> dict[str, set[str] | None]:
        return {self.source.name: {self.base_id, self.map}, self.target.name: None}

    def consume(self, table: str, items: list[Wire]) -> None:
        if table == self.source.name:
            attribute, listed = self.map, self.listed
            for item in items:
                typed = item.get(attribute)
                if typed:
                    base_id = item[self.base_id]["S"]
                    for row_id, encoded in typed["SSM"].items():
                        listed.setdefault(row_id, []).append((base_id, encoded))
        if table == self.target.name:
            for item in items:
                rows = self.retired if is_deleted(item) else self.live
                rows[item[self.row_id]["S"]] = item

    def _row_columns(self, item: Mapping[str, Wire]) -> Wire:
        return {name: value for name, value in item.items() if name in self.columns}

    def finish(self) -> list[Finding]:
        found: list[Finding] = []
        target, fk = self.target.name, self.foreign_key
        for row_id in sorted(self.listed):
            entries = self.listed[row_id]
            row = self.live.get(row_id)
            owners = {base_id for base_id, _ in entries}
            for base_id, encoded in entries:
                key = {self.row_id: row_id, fk: base_id}
                listed = orjson.loads(encoded)
                if row is None:
                    retired = self.retired.get(row_id)
                    if retired is None:
                        found.append(self.finding(MISSING, target, key, None, listed, None))
                    else:
                        retired_columns = self._row_columns(retired)
                        found.append(
                            self.finding(STALE, target, key, "deleted", listed, retired_columns)
                        )
                    continue
                row_owner = row.get(fk, {}).get("S")
                if row_owner != base_id:
                    if row_owner in owners:  # listed by its own item too: this entry is extra
                        # the row's id and the id of the item whose map lists it (named by
                        # the foreign key: the base item's own key has the row's key name)
                        where = {self.row_id: row_id, fk: base_id}
                        found.append(
                            self.finding(ORPHAN, self.source.name, where, self.map, None, listed)
                        )
                    else:
                        found.append(self.finding(STALE, target, key, fk, base_id, row_owner))
                    continue
                columns = self._row_columns(row)
                if listed != columns:
                    names = sorted(
                        n for n in listed.keys() | columns.keys() if listed.get(n) != columns.get(n)
                    )
                    found.append(
                        self.finding(
                            STALE,
                            target,
                            key,
                            ",".join(names),
                            {n: listed.get(n) for n in names},
                            {n: columns.get(n) for n in names},
                        )
                    )
        for row_id in sorted(self.live.keys() - self.listed.keys()):
            row = self.live[row_id]
            owner = row.get(fk, {}).get("S")
            shown = {n: row[n].get("S", row[n].get("N")) for n in SHOWN if n in row}
            key = {self.row_id: row_id, fk: owner}
            found.append(self.finding(ORPHAN, target, key, self.map, None, shown))
        self.checked = len(self.listed.keys() | self.live.keys())
        return found

    # ------------------------------------------------------------ digests

    def fold(self, buckets: Buckets) -> None:
        """A row's bucket is its id's; a map entry is its row's id, the item's id and the
        row's columns, as a live row's are (retired rows are in no map)."""
        listed = [
            (row_id, base_id, _canonical(orjson.loads(encoded)))
            for row_id, entries in self.listed.items()
            for base_id, encoded in entries
        ]
        buckets.source((entry[0] for entry in listed), listed)
        fk = self.foreign_key
        live = [
            (row_id, row.get(fk, {}).get("S"), _canonical(self._row_columns(row)))
            for row_id, row in self.live.items()
        ]
        buckets.target((entry[0] for entry in live), live)
        self.listed, self.live, self.retired = {}, {}, {}

    def restrict(self, table: str, items: list[Wire], suspects: Any) -> list[Wire]:
        if table == self.target.name:
            row_id = self.row_id
            return [item for item in items if bucket_of(text(item, row_id)) in suspects]
        kept = []
        for item in items:
            typed = item.get(self.map)
            if typed:
                rows = {r: e for r, e in typed["SSM"].items() if bucket_of(r) in suspects}
                if rows:
                    kept.append({**item, self.map: {"SSM": rows}})
        return kept

    def subjects(self, finding: Finding) -> list[str]:
        """The row first (only its own calls name it), then the item that lists it."""
        key = finding.key
        owner = key.get(self.foreign_key) or key.get(self.base_id)
        return [s for s in (key[self.row_id], owner) if isinstance(s, str)]

    # ------------------------------------------------------------ re-check

    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        key = finding.key
        row_id = key[self.row_id]
        owner = key.get(self.foreign_key) or key.get(self.base_id)
        keys: dict[str, list[tuple[Any, ...]]] = {self.target.name: [(row_id,)]}
        if owner:
            keys[self.source.name] = [(owner,)]
        return keys

    def follow(self, items: Mapping[str, list[Wire]]) -> dict[str, list[tuple[Any, ...]]]:
        owners = [
            (item[self.foreign_key]["S"],)
            for item in items.get(self.target.name, [])
            if self.foreign_key in item
        ]
        return {self.source.name: owners} if owners else {}

    # ------------------------------------------------------------- repair

    def repair(self, finding: Finding) -> list[Action]:
        key = finding.key
        row_key = {self.row_id: {"S": key[self.row_id]}}
        target = self.target.name
        if finding.cls == MISSING or (finding.cls == STALE and finding.field == "deleted"):
            item = self._listed_item(finding)
            return [Action("put_item", target, {"item": item}, "write the row its item lists")]
        if finding.cls == ORPHAN and finding.table == self.source.name:
            base_key = {self.base_id: {"S": key[self.foreign_key]}}
            updates = {
                self.map: {"action": "DELETE", "value": {"SS": [key[self.row_id]]}},
                **VERSION_BUMP,
            }
            exists = {self.base_id: {"exists": True}}  # never an item made by the repair
            body = {"key": base_key, "attribute_updates": updates, "expected": exists}
            return [Action("update_item", self.source.name, body, "drop the extra map entry")]
        if finding.cls == ORPHAN:
            now = {"S": now_text()}
            updates = {
                "deleted": {"action": "PUT", "value": {"N": "1"}},
                "deleted_at": {"action": "PUT", "value": now},
                "updated_at": {"action": "PUT", "value": now},
                "attach_status": {"action": "PUT", "value": {"S": "detached"}},
            }
            body = {
                "key": row_key,
                "attribute_updates": updates,
                "expected": {"deleted": {"value": {"N": "0"}}},
            }
            return [Action("update_item", target, body, "retire the row no item lists")]
        listed = finding.expected if isinstance(finding.expected, dict) else {}
        if finding.field == self.foreign_key:
            listed = {self.foreign_key: {"S": finding.expected}}
        updates = {
            name: {"action": "PUT", "value": value} if value is not None else {"action": "DELETE"}
            for name, value in listed.items()
        }
        body = {"key": row_key, "attribute_updates": updates}
        return [Action("update_item", target, body, "give the row the fields its item lists")]

    @staticmethod
    def _listed_item(finding: Finding) -> Wire:
        """The row as its item's map lists it (kept whole in the finding)."""
        return dict(finding.expected)


def _canonical(columns: Mapping[str, Any]) -> bytes:
    """A row's columns as bytes that are equal exactly when the columns are."""
    return orjson.dumps(columns, option=orjson.OPT_SORT_KEYS)
