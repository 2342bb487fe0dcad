"""Liberty's list semantics in Python, shared by the volume and snapshot lists.

MagnetoDB filters nothing the design can use (no secondary index on columns,
and the scan filter is not how the seed answers lists), so after the index
table, the inverted tables or the scan have given the candidate items, the
backend applies what SQL's WHERE, ORDER BY, keyset marker, LIMIT and OFFSET do
(``cinderdb/sql/paging.py``), with the same semantics: ``None`` is NULL
(``IS NULL`` for equality, never in an IN list, lowest in every sort), and the
marker's row is compared key by key exactly as Liberty's ``paginate_query``.
``cinderdb.base`` decides what the filter and sort arguments mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cinderdb.base import FilterPlan
from cinderdb.records import Record

#: A metadata filter value no stored (text) value can equal.
UNMATCHABLE = object()


def metadata_filter_value(value: Any) -> Any:
    """A ``metadata`` filter value as the VARCHAR column compares it (quirk V10, as the SQL
    side): text as given, an integer as its digits; None or anything else matches nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return UNMATCHABLE


def matches(record: Mapping[str, Any], plan: FilterPlan) -> bool:
    """The column conditions of a plan (equality, IN, no migration targets) on one record;
    metadata pairs are checked by the caller against the item's maps."""
    for name, value in plan.equal.items():
        current = record.get(name)
        if value is None:
            if current is not None:
                return False
        elif current is None or current != value:
            return False
    for name, values in plan.within.items():
        current = record.get(name)
        if current is None or current not in values:
            return False
    if plan.no_migration_targets:
        status = record.get("migration_status")
        if status is not None and status.startswith("target:"):
            return False
    return True


def _compare_values(a: Any, b: Any) -> int:
    """SQL order of two column values: NULL lowest."""
    if a is None:
        return 0 if b is None else -1
    if b is None:
        return 1
    return (a > b) - (a < b)


def compare(
    a: Mapping[str, Any], b: Mapping[str, Any], keys: Sequence[str], dirs: Sequence[str]
) -> int:
    """Negative, zero or positive as ``a`` comes before, with or after ``b`` in the order."""
    for key, direction in zip(keys, dirs, strict=True):
        result = _compare_values(a.get(key), b.get(key))
        if result:
            return result if direction == "asc" else -result
    return 0


def _sort_key(key: str) -> Any:
    def value(record: Mapping[str, Any]) -> tuple[bool, Any]:
        current = record.get(key)
        return (current is not None, current)

    return value


def sort_records(
    records: Iterable[Record], keys: Sequence[str], dirs: Sequence[str]
) -> list[Record]:
    """Records in ORDER BY order: one stable sort per key, last key first (NULL lowest)."""
    ordered = list(records)
    for key, direction in reversed(list(zip(keys, dirs, strict=True))):
        ordered.sort(key=_sort_key(key), reverse=direction == "desc")
    return ordered


def page(
    records: Iterable[Record],
    keys: Sequence[str],
    dirs: Sequence[str],
    marker: Mapping[str, Any] | None,
    limit: int | None,
    offset: int | None,
) -> list[Record]:
    """ORDER BY the keys, keep the rows strictly after the marker row, then OFFSET/LIMIT."""
    ordered = sort_records(records, keys, dirs)
    if marker is not None:
        ordered = [record for record in ordered if compare(record, marker, keys, dirs) > 0]
    start = offset or 0
    return ordered[start:] if limit is None else ordered[start : start + limit]
