"""Checks of the volume-side dual writes (attachments, metadata, glance, index tables) that
read both copies with the client, not through the DB API.

Each ``check_*`` returns the violations it finds (empty when the invariant of
``cinderdb.magneto.tables.DUAL_WRITES`` holds), so a test asserts on all of them
at once and prints what broke.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cinderdb.magneto.glance import COPY_SEPARATOR, owner_of
from cinderdb.magneto.items import from_item, string_map, string_set
from cinderdb.magneto.lookups import SNAPSHOT_INDEXES, VOLUME_INDEXES, index_entries, property_of
from cinderdb.magneto.shapes import attachment_from_json
from tests.magneto.support_types_quotas import check_volume_type_names, scan


def check_attachments(api: Any) -> list[str]:
    """Pair ``volume_attachments``: every attachment in a volume's map is a live row with the
    same fields, and every live row is in its volume's map."""
    volumes = {v["id"]["S"]: v for v in scan(api, "volumes")}
    rows = {r["id"]["S"]: from_item("attachment", r) for r in scan(api, "volume_attachment")}
    problems = []
    for volume_id, volume in volumes.items():
        for attachment_id, text in string_map(volume, "volume_attachment").items():
            row = rows.get(attachment_id)
            embedded = attachment_from_json(text)
            if row is None or row["deleted"]:
                problems.append(f"volume {volume_id} embeds {attachment_id}: no live row")
            elif row != embedded or row["volume_id"] != volume_id:
                problems.append(f"volume {volume_id} embeds {attachment_id}: differs from row")
    for attachment_id, row in rows.items():
        volume = volumes.get(row["volume_id"], {})
        if not row["deleted"] and attachment_id not in string_map(volume, "volume_attachment"):
            problems.append(f"live row {attachment_id} missing from volume {row['volume_id']}")
    return problems


def check_inverted(api: Any, table: str) -> list[str]:
    """Pairs ``volume_metadata`` / ``volume_admin_metadata``: every key:value of a volume's
    map has the volume id in the pair's set, and every id in a set is a volume holding it."""
    volumes = {v["id"]["S"]: v for v in scan(api, "volumes")}
    sets = {}
    problems = []
    for item in scan(api, table):
        key, value = item["key"]["S"], item["value"]["S"]
        if item["property"]["S"] != property_of(key, value):
            problems.append(f"{table} {item['property']['S']!r} is not the key of {key}:{value}")
        if "volume_ids" not in item:
            problems.append(f"{table} {key}:{value} is an empty property")
        sets[(key, value)] = string_set(item, "volume_ids")
    for volume_id, volume in volumes.items():
        for key, value in string_map(volume, table).items():
            if volume_id not in sets.get((key, value), set()):
                problems.append(f"volume {volume_id} holds {key}:{value}, missing from {table}")
    for (key, value), ids in sets.items():
        for volume_id in ids:
            if string_map(volumes.get(volume_id, {}), table).get(key) != value:
                problems.append(f"{table} {key}:{value} lists {volume_id}, which does not hold it")
    return problems


def _index_check(api: Any, base: str, kind: str, indexes: Any) -> list[str]:
    items = {i["id"]["S"]: from_item(kind, i) for i in scan(api, base)}
    expected = set()
    for item_id, record in items.items():
        expected |= index_entries(indexes, record, item_id)
    actual = set()
    for rule in indexes:
        spec = api.tables[rule.table]
        actual |= {
            (rule.table, e[spec.hash_key]["S"], e[spec.range_key]["S"])
            for e in scan(api, rule.table)
        }
    problems = [f"{base}: entry {entry} missing" for entry in sorted(expected - actual)]
    problems += [f"{base}: entry {entry} names no such item" for entry in sorted(actual - expected)]
    return problems


def check_volume_indexes(api: Any) -> list[str]:
    """Pairs ``volumes_by_project`` / ``_by_host`` / ``_by_group``, both directions."""
    return _index_check(api, "volumes", "volume", VOLUME_INDEXES)


def check_snapshot_indexes(api: Any) -> list[str]:
    """Pairs ``snapshots_by_project`` / ``_by_volume`` / ``_by_cgsnapshot``, both directions."""
    return _index_check(api, "snapshots", "snapshot", SNAPSHOT_INDEXES)


def check_glance(api: Any) -> list[str]:
    """The glance table: each property keyed by its pair, not empty, its members naming
    existing volumes / snapshots, each owner's copies numbered 1..n without gaps."""
    owners = {
        "volume_ids": {v["id"]["S"] for v in scan(api, "volumes")},
        "snapshot_ids": {s["id"]["S"] for s in scan(api, "snapshots")},
    }
    problems = []
    for item in scan(api, "volume_glance_metadata"):
        key, value = item["key"]["S"], item["value"]["S"]
        if item["property"]["S"] != property_of(key, value):
            problems.append(f"glance {key}:{value} is under another key")
        if "volume_ids" not in item and "snapshot_ids" not in item:
            problems.append(f"glance {key}:{value} is an empty property")
        for attribute, known in owners.items():
            copies: dict[str, list[int]] = defaultdict(list)
            for member in string_set(item, attribute):
                _, _, number = member.partition(COPY_SEPARATOR)
                copies[owner_of(member)].append(int(number) if number else 1)
            for owner, numbers in copies.items():
                if owner not in known:
                    problems.append(f"glance {key}:{value} names unknown {attribute} {owner}")
                if sorted(numbers) != list(range(1, len(numbers) + 1)):
                    problems.append(f"glance {key}:{value}: copies of {owner} are {numbers}")
    return problems


def check_volume_side(api: Any) -> list[str]:
    """Every invariant of the volume side of the design."""
    return [
        *check_attachments(api),
        *check_inverted(api, "volume_metadata"),
        *check_inverted(api, "volume_admin_metadata"),
        *check_volume_indexes(api),
        *check_snapshot_indexes(api),
        *check_glance(api),
        *check_volume_type_names(api),
    ]
