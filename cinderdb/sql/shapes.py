"""ORM rows to the plain records of ``docs/records.md``, in one place for every SQL area.

The builders read only what the query eager-loaded, so the record shape follows
the query shape: a list query that did not join extra specs must not ask for
them (``extra_specs=False``), or SQLAlchemy would lazy-load one more SELECT per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cinderdb.records import (
    Record,
    column_names,
    metadata_items,
    snapshot_properties,
    volume_properties,
    with_volume_properties,
)

_COLUMNS = {
    kind: column_names(kind)
    for kind in ("volume", "attachment", "snapshot", "consistencygroup", "volume_type")
}


def columns(kind: str, row: Any) -> Record:
    """The record columns of one row (no relationships)."""
    return {name: getattr(row, name) for name in _COLUMNS[kind]}


def metadata_dict(rows: Iterable[Any]) -> dict[str, Any]:
    """``{key: value}`` of metadata rows (``volume_metadata_get`` and friends)."""
    return {row.key: row.value for row in rows}


def nested_metadata(rows: Iterable[Any]) -> list[Record]:
    """Metadata nested in a record: ``[{'key', 'value'}]`` sorted by key."""
    return metadata_items((row.key, row.value) for row in rows)


def type_record(row: Any, *, extra_specs: bool, projects: bool) -> Record:
    """A volume type: its columns, plus ``extra_specs`` and ``projects`` when asked for."""
    record = columns("volume_type", row)
    if extra_specs:
        record["extra_specs"] = metadata_dict(row.extra_specs)
    if projects:
        record["projects"] = sorted(access.project_id for access in row.projects)
    return record


def attachment_record(row: Any) -> Record:
    return columns("attachment", row)


def volume_record(row: Any, *, admin: bool, extra_specs: bool) -> Record:
    """A volume as ``volume_get`` (``extra_specs=True``) or a list function returns it.

    ``admin`` says whether the query joined ``volume_admin_metadata`` (Liberty
    does for admin contexts only), so the key exists exactly then.
    """
    record = columns("volume", row)
    record.update(volume_properties(record))
    record["volume_metadata"] = nested_metadata(row.volume_metadata)
    if admin:
        record["volume_admin_metadata"] = nested_metadata(row.volume_admin_metadata)
    volume_type = row.volume_type
    record["volume_type"] = (
        None
        if volume_type is None
        else type_record(volume_type, extra_specs=extra_specs, projects=False)
    )
    record["volume_attachment"] = sorted(
        (attachment_record(a) for a in row.volume_attachment), key=lambda a: a["id"]
    )
    group = row.consistencygroup
    record["consistencygroup"] = None if group is None else columns("consistencygroup", group)
    return record


def snapshot_record(row: Any, *, volume: bool) -> Record:
    """A snapshot with its metadata, and its volume's columns when the query joined it."""
    record = columns("snapshot", row)
    parent = None
    if volume:
        parent = (
            None if row.volume is None else with_volume_properties(columns("volume", row.volume))
        )
    record.update(snapshot_properties(record, parent))
    record["snapshot_metadata"] = nested_metadata(row.snapshot_metadata)
    if volume:
        record["volume"] = parent
    return record


def glance_record(row: Any) -> Record:
    return {
        "volume_id": row.volume_id,
        "snapshot_id": row.snapshot_id,
        "key": row.key,
        "value": row.value,
    }


def glance_records(rows: Iterable[Any]) -> list[Record]:
    """Glance rows as records, sorted by (volume_id, snapshot_id, key); a missing id sorts first."""
    return sorted(
        (glance_record(row) for row in rows),
        key=lambda r: (r["volume_id"] or "", r["snapshot_id"] or "", r["key"] or ""),
    )
