"""``PairKind.DENORMALIZED_COLUMN``: a column copied into the base item <-> its source column.

``volumes.volume_type_name`` copies the name of the type ``volume_type_id``
names, so a list needs no read of the type. The copy equals the referenced
item's column whether that item is live or soft-deleted (a deleted type keeps
its name), and is absent when the reference is None or names no item.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb.magneto import tables
from validators.findings import MISSING, ORPHAN, STALE, Finding
from validators.pairs.base import Action, Buckets, DigestedCheck, Wire, text

VERSION_BUMP = {"version": {"action": "ADD", "value": {"N": "1"}}}


class DenormalizedColumnCheck(DigestedCheck):
    kind = tables.PairKind.DENORMALIZED_COLUMN

    def __init__(self, pair: tables.DualWrite) -> None:
        super().__init__(pair)
        self.copy = self.source_attribute or ""
        self.column = self.target_attribute or ""
        self.reference = pair.params["reference"]
        self.base_id = self.source.hash_key
        self.target_id = self.target.hash_key
        #: (base id, reference, copy) of the base items with a reference or a copy
        self.rows: list[tuple[str, str | None, str | None]] = []
        self.values: dict[str, str | None] = {}
        #: (reference, copy) -> base items (digests: the rows folded)
        self.combinations: dict[tuple[str | None, str | None], int] = {}

    def reads(self) -> dict[str, set[str] | None]:
        return {
            self.source.name: {self.base_id, self.reference, self.copy},
            self.target.name: {self.target_id, self.column},
        }

    def consume(self, table: str, items: list[Wire]) -> None:
        if table == self.source.name:
            reference, copy, base_id = self.reference, self.copy, self.base_id
            self.checked += len(items)
            for item in items:
                ref, value = item.get(reference), item.get(copy)
                if ref is not None or value is not None:
                    self.rows.append(
                        (
                            item[base_id]["S"],
                            None if ref is None else ref["S"],
                            None if value is None else value["S"],
                        )
                    )
        if table == self.target.name:
            for item in items:
                self.values[item[self.target_id]["S"]] = text(item, self.column)

    # ------------------------------------------------------------ digests

    def fold(self, buckets: Buckets) -> None:
        """The base items are counted by (reference, copy): the referenced table (small)
        is kept whole, so each pair of values is right or wrong for all its items."""
        for _, reference, copy in self.rows:
            self.combinations[reference, copy] = self.combinations.get((reference, copy), 0) + 1
        self.rows = []

    def suspects(self, buckets: Buckets) -> Any:
        return frozenset(
            (reference, copy)
            for reference, copy in self.combinations
            if self.expected(reference) != copy
        )

    def restrict(self, table: str, items: list[Wire], suspects: Any) -> list[Wire]:
        if table != self.source.name:
            return items
        return [
            item
            for item in items
            if (text(item, self.reference), text(item, self.copy)) in suspects
        ]

    def digest_checked(self, buckets: Buckets, suspects: Any, exact: int) -> int:
        return self.checked

    def expected(self, reference: str | None) -> str | None:
        return None if reference is None else self.values.get(reference)

    def finish(self) -> list[Finding]:
        found = []
        for base_id, reference, copy in sorted(self.rows):
            want = self.expected(reference)
            if want == copy:
                continue
            cls = MISSING if copy is None else ORPHAN if want is None else STALE
            key = {self.base_id: base_id, self.reference: reference}
            found.append(self.finding(cls, self.source.name, key, self.copy, want, copy))
        return found

    def subjects(self, finding: Finding) -> list[str]:
        """The referenced item first (a rename names only it), then the base item."""
        key = finding.key
        return [s for s in (key.get(self.reference), key[self.base_id]) if isinstance(s, str)]

    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        keys: dict[str, list[tuple[Any, ...]]] = {self.source.name: [(finding.key[self.base_id],)]}
        if finding.key.get(self.reference):
            keys[self.target.name] = [(finding.key[self.reference],)]
        return keys

    def follow(self, items: Mapping[str, list[Wire]]) -> dict[str, list[tuple[Any, ...]]]:
        refs = [(text(i, self.reference),) for i in items.get(self.source.name, [])]
        refs = [ref for ref in refs if ref[0] is not None]
        return {self.target.name: refs} if refs else {}

    def repair(self, finding: Finding) -> list[Action]:
        reference = finding.key.get(self.reference)
        value = (
            {"action": "PUT", "value": {"S": finding.expected}}
            if finding.expected is not None
            else {"action": "DELETE"}
        )
        condition = (
            {self.reference: {"value": {"S": reference}}}
            if reference is not None
            else {self.reference: {"exists": False}}
        )
        body = {
            "key": {self.base_id: {"S": finding.key[self.base_id]}},
            "attribute_updates": {self.copy: value, **VERSION_BUMP},
            "expected": condition,
        }
        return [Action("update_item", self.source.name, body, f"copy {self.column} again")]
