"""Records built from the design's items: the shapes of ``docs/records.md``.

One place turns items into the records callers see, so both area halves of
the backend (volumes, types...) build nested records the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from cinderdb.magneto.items import Wire, from_item, string_map, string_set, to_item
from cinderdb.records import (
    Record,
    snapshot_properties,
    volume_properties,
    with_volume_properties,
)


def type_record(item: Mapping[str, Wire], *, extra_specs: bool, projects: bool = False) -> Record:
    """A volume type record; ``extra_specs`` and ``projects`` only when asked for."""
    record = from_item("volume_type", item)
    if extra_specs:
        record["extra_specs"] = string_map(item, "extra_specs")
    if projects:
        record["projects"] = sorted(string_set(item, "projects"))
    return record


def qos_record(item: Mapping[str, Wire]) -> Record:
    """``{'id', 'name', 'consumer', 'specs'}`` of a QoS spec item."""
    base = from_item("qos_specs", item)
    return {
        "id": base["id"],
        "name": base["name"],
        "consumer": base["consumer"],
        "specs": string_map(item, "specs"),
    }


def metadata_list(item: Mapping[str, Wire], attribute: str) -> list[Any]:
    """A metadata map as the nested ``[{'key', 'value'}]`` list, sorted by key."""
    return [{"key": k, "value": v} for k, v in sorted(string_map(item, attribute).items())]


# ------------------------------------------------ volumes, attachments, snapshots, glance


def attachment_json(record: Mapping[str, Any]) -> str:
    """An attachment row as the JSON the volume's attachments map holds (its wire item)."""
    return orjson.dumps(to_item("attachment", record)).decode()


def attachment_from_json(text: str) -> Record:
    return from_item("attachment", orjson.loads(text))


def attachment_map(item: Mapping[str, Wire]) -> dict[str, Record]:
    """A volume's embedded attachments: ``{attachment id: attachment record}``."""
    return {
        attachment_id: attachment_from_json(text)
        for attachment_id, text in string_map(item, "volume_attachment").items()
    }


def volume_record(
    item: Mapping[str, Wire],
    *,
    admin: bool,
    extra_specs: bool,
    volume_type: Mapping[str, Wire] | None,
    group: Mapping[str, Wire] | None,
) -> Record:
    """A volume as ``volume_get`` (``extra_specs``) or a list function returns it.

    ``volume_type``/``group`` are the items its ids name (None when absent); a
    deleted type shows as None, a deleted group as itself (Liberty's
    relationship filters). Admin metadata only for admin contexts.
    """
    record = from_item("volume", item)
    record.update(volume_properties(record))
    record["volume_metadata"] = metadata_list(item, "volume_metadata")
    if admin:
        record["volume_admin_metadata"] = metadata_list(item, "volume_admin_metadata")
    live_type = (
        volume_type is not None and from_item("volume_type", volume_type)["deleted"] is False
    )
    record["volume_type"] = (
        type_record(volume_type, extra_specs=extra_specs) if live_type and volume_type else None
    )
    record["volume_attachment"] = [
        attachment for _, attachment in sorted(attachment_map(item).items())
    ]
    record["consistencygroup"] = None if group is None else from_item("consistencygroup", group)
    return record


def snapshot_record(
    item: Mapping[str, Wire], *, volume: Mapping[str, Wire] | None, with_volume: bool
) -> Record:
    """A snapshot with its metadata, and (``with_volume``) its volume's columns or None."""
    record = from_item("snapshot", item)
    parent = None
    if with_volume and volume is not None:
        parent = with_volume_properties(from_item("volume", volume))
    record.update(snapshot_properties(record, parent))
    record["snapshot_metadata"] = metadata_list(item, "snapshot_metadata")
    if with_volume:
        record["volume"] = parent
    return record


def glance_records(rows: Iterable[tuple[str | None, str | None, str, str]]) -> list[Record]:
    """``(volume_id, snapshot_id, key, value)`` rows as glance records, sorted as the SQL side
    sorts them: by (volume_id, snapshot_id, key), a missing id first."""
    records = [
        {"volume_id": volume_id, "snapshot_id": snapshot_id, "key": key, "value": value}
        for volume_id, snapshot_id, key, value in rows
    ]
    return sorted(
        records, key=lambda r: (r["volume_id"] or "", r["snapshot_id"] or "", r["key"] or "")
    )
