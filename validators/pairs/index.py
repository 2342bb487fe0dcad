"""``PairKind.INDEX``: a base column <-> an index table entry.

Two shapes, both from the declaration:

- a *list* index (hash = the column's value, range = the base item's id:
  ``volumes_by_project``...): every base item has the entry its value calls
  for, soft-deleted items included (Liberty lists them under
  ``read_deleted``); a None value has an entry under ``NULL_KEY`` when the
  pair says ``none: NULL_KEY``, and none otherwise; ``transform: host_base``
  keys a host by its base name (``host@backend#pool`` -> ``host@backend``);
- a *name* index (hash = the name, the id in ``id_attribute``:
  ``volume_types_by_name``): with ``live_only``, every live item has the entry
  of its name pointing at it, and every entry points at a live item of that
  name. An entry naming nothing live is a claim a crash left (readers confirm
  every entry against its item; a later claim takes it over): an orphan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinderdb.magneto import tables
from cinderdb.magneto.entries import TRANSFORMS
from validators.findings import MISSING, ORPHAN, STALE, Finding
from validators.pairs.base import (
    Action,
    Buckets,
    DigestedCheck,
    Wire,
    bucket_of,
    hashes,
    is_deleted,
    key_dict,
    mixed,
    now_text,
    text,
    wire_key,
)

#: Two columns in step: the entries' index hashes and their base items' ids.
Columns = tuple[list[str], list[str]]


class IndexCheck(DigestedCheck):
    kind = tables.PairKind.INDEX

    def __init__(self, pair: tables.DualWrite) -> None:
        super().__init__(pair)
        params = pair.params
        self.column = self.source_attribute or ""
        self.id_attribute = params["id_attribute"]
        self.base_id = self.source.hash_key
        self.null_key = getattr(tables, params["none"]) if "none" in params else None
        self.transform = TRANSFORMS[params["transform"]] if "transform" in params else None
        self.live_only = params.get("live_only") == "true"
        self.by_name = self.target.range_key is None
        #: list index: the entries' hashes and ids (two columns, in step: no tuple per
        #: entry); name index: {hash: id}
        self.expected: Columns | dict[str, str] = {} if self.by_name else ([], [])
        self.actual: Columns | dict[str, str] = {} if self.by_name else ([], [])
        #: column value -> index hash (a transform is computed once per value)
        self._hashes: dict[str | None, str | None] = {None: self.null_key}

    def reads(self) -> dict[str, set[str] | None]:
        base = {self.base_id, self.column, "deleted"}
        return {self.source.name: base, self.target.name: None}

    def hash_of(self, value: str | None) -> str | None:
        """The index hash a column value calls for (None: no entry)."""
        if value is None:
            return self.null_key
        if self.by_name:
            return value
        return self.transform(value) if self.transform else value

    def consume(self, table: str, items: list[Wire]) -> None:
        if table == self.source.name:
            self._consume_base(items)
        if table == self.target.name:
            self._consume_entries(items)

    def _consume_base(self, items: list[Wire]) -> None:
        column, base_id, null_key = self.column, self.base_id, self.null_key
        if self.by_name:
            names: dict[str, str] = self.expected  # type: ignore[assignment]
            for item in items:
                typed = item.get(column)
                if typed is not None and not (self.live_only and is_deleted(item)):
                    names[typed["S"]] = item[base_id]["S"]
            return
        values = [None if (typed := item.get(column)) is None else typed["S"] for item in items]
        ids = [item[base_id]["S"] for item in items]
        if self.transform is not None:  # each new value transformed once, then looked up
            known = self._hashes
            for value in set(values) - known.keys():
                known[value] = self.transform(value)
            values = list(map(known.__getitem__, values))
        elif None in values:
            values = [null_key if value is None else value for value in values]
        if None in values:  # no entry for a None value (the pair says no ``none``)
            kept = [i for i, value in enumerate(values) if value is not None]
            values, ids = [values[i] for i in kept], [ids[i] for i in kept]
        keys, owners = self.expected  # type: ignore[misc]
        keys.extend(values)
        owners.extend(ids)

    def _consume_entries(self, items: list[Wire]) -> None:
        hash_key = self.target.hash_key
        if self.by_name:
            actual: dict[str, str] = self.actual  # type: ignore[assignment]
            for item in items:
                actual[item[hash_key]["S"]] = item[self.id_attribute]["S"]
        else:
            range_key = self.target.range_key or ""
            keys, ids = self.actual  # type: ignore[misc]
            keys.extend([item[hash_key]["S"] for item in items])
            ids.extend([item[range_key]["S"] for item in items])

    def finish(self) -> list[Finding]:
        if self.by_name:
            return self._finish_names()
        expected = set(zip(*self.expected, strict=True))
        actual = set(zip(*self.actual, strict=True))
        missing, orphans = expected - actual, actual - expected
        self.checked = len(expected) + len(orphans)
        target, column = self.target, self.column
        found = [
            self.finding(MISSING, target.name, key_dict(target, h, i), column, h, None)
            for h, i in sorted(missing)
        ]
        for h, i in sorted(orphans):
            found.append(self.finding(ORPHAN, target.name, key_dict(target, h, i), column, None, h))
        return found

    # ------------------------------------------------------------ digests

    def fold(self, buckets: Buckets) -> None:
        """A list entry's bucket is its base id's, a name entry's its name's."""
        if self.by_name:
            for side, names in ((buckets.source, self.expected), (buckets.target, self.actual)):
                side(names, names.items())  # type: ignore[union-attr]
            self.expected, self.actual = {}, {}
            return
        for (keys, ids), source in ((self.expected, True), (self.actual, False)):
            id_hashes = hashes(ids)
            buckets.add(id_hashes, mixed(hashes(keys), id_hashes), source=source)
        self.expected, self.actual = ([], []), ([], [])

    def restrict(self, table: str, items: list[Wire], suspects: Any) -> list[Wire]:
        if table == self.source.name:
            name = self.column if self.by_name else self.base_id
        else:
            name = self.target.hash_key if self.by_name else self.target.range_key or ""
        return [item for item in items if bucket_of(text(item, name)) in suspects]

    def describe(self, reader: Any, findings: list[Finding]) -> None:
        """An orphan entry's example gets the entry its base item calls for now."""
        orphans = [f for f in findings if f.cls == ORPHAN and not self.by_name]
        if not orphans:
            return
        range_key = self.target.range_key or ""
        found = reader.get_many({self.source.name: [(f.key[range_key],) for f in orphans]})
        items = {item[self.base_id]["S"]: item for item in found[self.source.name]}
        for finding in orphans:
            item = items.get(finding.key[range_key])
            if item is None:
                finding.expected = f"no {self.source.name} item {finding.key[range_key]}"
            else:
                finding.expected = self.hash_of(text(item, self.column))

    def _finish_names(self) -> list[Finding]:
        expected: dict[str, str] = self.expected  # type: ignore[assignment]
        actual: dict[str, str] = self.actual  # type: ignore[assignment]
        self.checked = len(expected.keys() | actual.keys())
        name, id_attr = self.target.name, self.id_attribute
        found = []
        for key in sorted(expected.keys() | actual.keys()):
            want, have = expected.get(key), actual.get(key)
            if want == have:
                continue
            entry = {self.target.hash_key: key, id_attr: have or want}
            if have is None:
                found.append(self.finding(MISSING, name, entry, id_attr, want, None))
            elif want is None:
                found.append(self.finding(ORPHAN, name, entry, id_attr, None, have))
            else:
                found.append(self.finding(STALE, name, entry, id_attr, want, have))
        return found

    def subjects(self, finding: Finding) -> list[str]:
        """The base item (and, for a name, the name: a failed create logged no id)."""
        key = finding.key
        if self.by_name:
            found = [key.get(self.id_attribute), finding.expected, finding.actual]
            return [s for s in (*found, key[self.target.hash_key]) if isinstance(s, str)]
        return [key[self.target.range_key or ""]]

    # ------------------------------------------------------------ re-check

    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        key = finding.key
        base_id = key[self.id_attribute if self.by_name else self.target.range_key or ""]
        ids = {base_id}
        if self.by_name and finding.cls == STALE:
            ids.add(finding.expected)
        entry = (
            (key[self.target.hash_key],) if self.by_name else (key[self.target.hash_key], base_id)
        )
        return {self.source.name: [(i,) for i in ids], self.target.name: [entry]}

    def follow(self, items: Mapping[str, list[Wire]]) -> dict[str, list[tuple[Any, ...]]]:
        """A name entry's current holder, and the entries the base items call for now."""
        keys: dict[str, list[tuple[Any, ...]]] = {}
        for item in items.get(self.target.name, []):
            if self.by_name:
                keys.setdefault(self.source.name, []).append((item[self.id_attribute]["S"],))
        for item in items.get(self.source.name, []):
            entry = self.hash_of(text(item, self.column))
            if entry is not None:
                target_key = (entry,) if self.by_name else (entry, item[self.base_id]["S"])
                keys.setdefault(self.target.name, []).append(target_key)
        return keys

    # ------------------------------------------------------------- repair

    def repair(self, finding: Finding) -> list[Action]:
        target, key = self.target, finding.key
        if finding.cls == ORPHAN:
            expected = (
                {self.id_attribute: {"value": {"S": finding.actual}}} if self.by_name else None
            )
            body: dict[str, Any] = {"key": wire_key(target, key)}
            if expected:
                body["expected"] = expected
            return [Action("delete_item", target.name, body, "remove the entry nothing implies")]
        if not self.by_name:
            item = wire_key(target, key)
            return [Action("put_item", target.name, {"item": item}, "write the missing entry")]
        item = {
            target.hash_key: {"S": key[target.hash_key]},
            self.id_attribute: {"S": finding.expected},
            "created_at": {"S": now_text()},
        }
        condition = (
            {target.hash_key: {"exists": False}}
            if finding.cls == MISSING
            else {self.id_attribute: {"value": {"S": finding.actual}}}
        )
        note = (
            "write the missing entry" if finding.cls == MISSING else "point the entry at its item"
        )
        return [Action("put_item", target.name, {"item": item, "expected": condition}, note)]
