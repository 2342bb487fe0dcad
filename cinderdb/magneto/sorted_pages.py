"""Pages of a project's volumes read from the sorted project indexes (``sorted_index``).

``SortedPages.sorted_page`` answers ``_volume_page`` when the design has
``sorted_project_index``, the call names a project (``volume_get_all_by_project``,
or ``volume_get_all`` with a ``project_id`` filter) and an index orders it:

- *ordered*: the sort is ``[K, created_at, id]`` (or ``[created_at, id]``,
  ``[id, created_at]``) in one direction and ``K`` is indexed; or an equality
  filter on an indexed column ``F`` with the default sort (the entries of one
  value of ``F`` are in ``(created_at, id)`` order). The index is queried from
  the marker's position, ``limit`` entries at a time, and reading stops once
  ``offset + limit`` volumes passed the filters (and a tie group of truncated
  values is complete);
- *matches*: an equality filter on an indexed column under another sort: the
  value's entries only, sorted in Python.

Anything else (an ``updated_at`` sort, mixed directions, no project) is the
seed's path. Every entry is checked against its volume (a crash's leftover
entry, or one a racing write just moved, is skipped), then the filters,
``read_deleted`` and the marker are applied exactly as the seed's
(``paging.py``), so the answer is the seed's and SQL's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cinderdb.base import FilterPlan
from cinderdb.magneto.core import MagnetoCore, translate_errors
from cinderdb.magneto.entries import INDEX_RULE_BY_TABLE
from cinderdb.magneto.items import Wire, from_item, s
from cinderdb.magneto.keys import decode_item, encode_key
from cinderdb.magneto.paging import compare
from cinderdb.magneto.sorted_index import (
    PREFIX_END,
    SORTED_RULE_BY_COLUMN,
    SortedRule,
    is_truncated,
    sorted_entry_id,
    value_part,
)
from cinderdb.records import Record

#: Entries per query page when a read has no limit.
PAGE_SIZE = 1000
#: Equality filters that pick an index, most selective first.
_FILTER_COLUMNS = ("display_name", "size", "status")


@dataclass(frozen=True)
class Source:
    """Where a page's candidates come from: one index of one project, maybe one value."""

    table: str
    project: str
    #: the sorted rule (None: ``volumes_by_project``, ranged by id)
    rule: SortedRule | None
    #: the range-key prefix of the filtered value (None: the whole project)
    prefix: str | None
    forward: bool
    #: True: entries come in the sort's order; False: the value's matches, sorted after
    ordered: bool
    #: whether entries may tie on a truncated value (sorted by the rule's own column)
    ties: bool


def sort_column(keys: Sequence[str], dirs: Sequence[str]) -> str | None:
    """The column ``K`` of a ``[K, created_at, id]`` sort in one direction (None: other)."""
    if len(set(dirs)) != 1:
        return None
    if list(keys) in (["created_at", "id"], ["id", "created_at"]):
        return keys[0]
    if len(keys) == 3 and list(keys[1:]) == ["created_at", "id"]:
        return keys[0]
    return None


class SortedPages(MagnetoCore):
    """Pages of a project's volumes from the sorted project indexes."""

    def sorted_source(
        self, plan: FilterPlan, keys: Sequence[str], dirs: Sequence[str]
    ) -> Source | None:
        """The index that serves this page (None: the seed's path)."""
        if "project_id" not in plan.equal:
            return None
        project = INDEX_RULE_BY_TABLE["volumes_by_project"].hash_of(plan.equal["project_id"])
        assert project is not None
        column = sort_column(keys, dirs)
        forward = dirs[0] == "asc"
        filtered = next((c for c in _FILTER_COLUMNS if c in plan.equal), None)
        if filtered is not None:
            rule = SORTED_RULE_BY_COLUMN[filtered]
            prefix = rule.prefix(plan.equal[filtered])
            ordered = column in ("created_at", filtered)
            return Source(rule.table, project, rule, prefix, forward, ordered, ties=False)
        if column in SORTED_RULE_BY_COLUMN:
            rule = SORTED_RULE_BY_COLUMN[column]
            return Source(rule.table, project, rule, None, forward, True, ties=True)
        if column == "id":
            return Source("volumes_by_project", project, None, None, forward, True, ties=False)
        return None

    def sorted_page(
        self,
        source: Source,
        keys: Sequence[str],
        dirs: Sequence[str],
        marker: Record | None,
        need: int | None,
        holders: set[str] | None,
        keep: Callable[[Wire, Record], bool],
    ) -> list[tuple[Record, Wire]]:
        """The (record, item) of every volume that may be on the page, in no order: read in
        index order until ``need`` (offset + limit; None: all) passed ``keep`` (the seed's
        filter check) and the marker, and the last one's tie group is complete. The caller
        sorts and slices them (``paging.page``)."""
        if not source.ordered:
            need = None
        low, high = key_range(source, marker, keys)
        kept: dict[str, tuple[Record, Wire]] = {}
        start: Wire | None = None
        tie: str | None = None  # the truncated value the last kept volume may tie with
        # The first page asks one more for the marker's own entry; later ones (filters
        # dropped some) twice what is missing.
        size = PAGE_SIZE if need is None else need + (marker is not None)
        while need is None or len(kept) < need or tie is not None:
            entries, start = self._entries(source, low, high, max(min(size, PAGE_SIZE), 1), start)
            wanted = dict.fromkeys(
                i for _, i in entries if (holders is None or i in holders) and i not in kept
            )
            found = self.get_many({"volumes": [(i,) for i in wanted]})["volumes"] if wanted else []
            items = {item["id"]["S"]: item for item in found}
            for sort_key, volume_id in entries:
                part = value_part(source.rule, sort_key) if source.ties and source.rule else ""
                if need is not None and len(kept) >= need and part != tie:
                    return list(kept.values())
                item = items.get(volume_id)
                if item is None:
                    continue
                record = from_item("volume", item)
                if not self._entry_holds(source, sort_key, record):
                    continue
                if not keep(item, record):
                    continue
                if marker is not None and compare(record, marker, keys, dirs) <= 0:
                    continue
                kept[volume_id] = (record, item)
                if need is not None and len(kept) >= need:
                    tie = part if is_truncated(part) else None
            if start is None:
                break
            size = PAGE_SIZE if need is None or tie is not None else 2 * (need - len(kept))
        return list(kept.values())

    @staticmethod
    def _entry_holds(source: Source, sort_key: str, record: Record) -> bool:
        """Whether the entry is the one the volume calls for now (else a leftover)."""
        project = INDEX_RULE_BY_TABLE["volumes_by_project"].hash_of(record["project_id"])
        if project != source.project:
            return False
        if source.rule is None:
            return sort_key == record["id"]
        return source.rule.range_of(record, record["id"]) == sort_key

    def _entries(
        self, source: Source, low: str | None, high: str | None, limit: int, start: Wire | None
    ) -> tuple[list[tuple[str, str]], Wire | None]:
        """One query page of the source: (range key, volume id) pairs and where to go on."""
        spec = self.tables[source.table]
        assert spec.range_key is not None
        hash_key = encode_key(spec, {spec.hash_key: s(source.project)})[spec.hash_key]
        conditions: Wire = {
            spec.hash_key: {"comparison_operator": "EQ", "attribute_value_list": [hash_key]}
        }
        bounds = _range_condition(low, high)
        if bounds is not None:
            conditions[spec.range_key] = bounds
        with translate_errors():
            answer = self.client.query(
                source.table,
                conditions,
                limit=limit,
                exclusive_start_key=start,
                scan_index_forward=source.forward,
                consistent_read=True,
            )
        entries = []
        for raw in answer.get("items", []):
            item = decode_item(spec, raw)
            assert item is not None
            if item[spec.hash_key]["S"] != source.project:  # a digest's namesake
                continue
            sort_key = item[spec.range_key]["S"]
            volume_id = sorted_entry_id(source.rule, sort_key) if source.rule else sort_key
            entries.append((sort_key, volume_id))
        return entries, answer.get("last_evaluated_key") or None


def key_range(
    source: Source, marker: Record | None, keys: Sequence[str]
) -> tuple[str | None, str | None]:
    """The range keys a page reads between: the filtered value's, from the marker on."""
    low = high = None
    if source.prefix is not None:
        low, high = source.prefix, source.prefix + PREFIX_END
    if marker is None or not source.ordered:
        return low, high
    rule = source.rule
    if rule is None:
        at = marker["id"]
    else:
        at = rule.range_of(marker, marker["id"])
        part = value_part(rule, at)
        if source.prefix is not None:
            if is_truncated(source.prefix) or (rule.column in keys and part != source.prefix):
                # the value's entries tie, or the marker's value is not the filter's (its
                # place is before or after all of them): read them all
                return low, high
            at = source.prefix + at[len(part) :]  # the marker's place among the value's
        elif is_truncated(part):  # start at the marker's tie group
            return (part, None) if source.forward else (None, part + PREFIX_END)
    if source.forward:
        return (at if low is None else max(low, at)), high
    return low, (at if high is None else min(high, at))


def _range_condition(low: str | None, high: str | None) -> Wire | None:
    if low is not None and high is not None:
        high = max(high, low)  # an empty range is still a valid condition (the marker's key)
        return {"comparison_operator": "BETWEEN", "attribute_value_list": [s(low), s(high)]}
    if low is not None:
        return {"comparison_operator": "GE", "attribute_value_list": [s(low)]}
    if high is not None:
        return {"comparison_operator": "LE", "attribute_value_list": [s(high)]}
    return None
