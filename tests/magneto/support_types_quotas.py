"""Helpers of the MagnetoDB tests of types, QoS, groups and quotas: backends, and checks that
read both copies of each dual-written pair with the client (not through the DB API).

Each ``check_*`` returns a list of violations (empty when the invariant holds), so a
test can assert on all of them at once and print what broke.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from cinderdb.magneto.items import Wire, from_item, number, string_set
from cinderdb.magneto.keys import decode_item
from tests.provision import PROVISIONERS

#: The two ways the backend reaches a server: in-process, and HTTP to an LMDB server.
MAGNETO_BACKENDS = ("magnetodb+inproc", "magnetodb")


@contextlib.contextmanager
def provisioned(request: pytest.FixtureRequest, name: str) -> Iterator[Any]:
    with PROVISIONERS[name](request) as backend:
        yield backend


def scan(api: Any, table: str) -> list[Wire]:
    """Every item of a table, straight from the client (paged), long key parts decoded."""
    items: list[Wire] = []
    start = None
    spec = api.tables[table]
    while True:
        answer = api.client.scan(table, limit=1000, exclusive_start_key=start)
        items.extend(decode_item(spec, item) for item in answer.get("items", []))
        start = answer.get("last_evaluated_key")
        if not start:
            return items


def _live(item: Wire) -> bool:
    return item.get("deleted", {}).get("N", "0") == "0"


def check_names(api: Any, base: str, index: str, id_attribute: str) -> list[str]:
    """Pairs ``volume_types_by_name`` / ``qos_specs_by_name``: every live item has an entry
    under its name pointing at it, and every entry points at a live item of that name."""
    items = {item["id"]["S"]: item for item in scan(api, base)}
    entries = {entry["name"]["S"]: entry[id_attribute]["S"] for entry in scan(api, index)}
    problems = []
    for item_id, item in items.items():
        if _live(item) and entries.get(item["name"]["S"]) != item_id:
            problems.append(f"{base} {item_id} ({item['name']['S']}) has no {index} entry")
    for key, holder in entries.items():
        item = items.get(holder)
        if item is None or not _live(item) or item["name"]["S"] != key:
            problems.append(f"{index} entry {key!r} -> {holder} names no live item of that name")
    return problems


def check_qos_associations(api: Any) -> list[str]:
    """Pair ``qos_type_associations``: a type pointing at spec Q is in Q's ``volume_types``
    set, and every id in a set is a type pointing at that spec."""
    types = {item["id"]["S"]: item for item in scan(api, "volume_types")}
    specs = {item["id"]["S"]: item for item in scan(api, "quality_of_service_specs")}
    problems = []
    for type_id, item in types.items():
        spec_id = item.get("qos_specs_id", {}).get("S")
        if spec_id is not None and type_id not in string_set(
            specs.get(spec_id, {}), "volume_types"
        ):
            problems.append(f"type {type_id} points at {spec_id}, which does not list it")
    for spec_id, spec in specs.items():
        for type_id in string_set(spec, "volume_types"):
            pointer = types.get(type_id, {}).get("qos_specs_id", {}).get("S")
            if pointer != spec_id:
                problems.append(f"spec {spec_id} lists type {type_id}, which points at {pointer}")
    return problems


def check_volume_type_names(api: Any) -> list[str]:
    """Pair ``volume_type_name``: a volume's ``volume_type_name`` is its type's name."""
    types = {item["id"]["S"]: item["name"]["S"] for item in scan(api, "volume_types")}
    problems = []
    for volume in scan(api, "volumes"):
        type_id = volume.get("volume_type_id", {}).get("S")
        copied = volume.get("volume_type_name", {}).get("S")
        if type_id is not None and type_id in types and copied != types[type_id]:
            problems.append(
                f"volume {volume['id']['S']} says {copied!r}, type says {types[type_id]!r}"
            )
    return problems


#: (index table, base table, column, id attribute) of the group indexes.
GROUP_INDEXES = (
    ("consistencygroups_by_project", "consistencygroups", "project_id", "consistencygroup_id"),
    ("cgsnapshots_by_project", "cgsnapshots", "project_id", "cgsnapshot_id"),
    ("cgsnapshots_by_group", "cgsnapshots", "consistencygroup_id", "cgsnapshot_id"),
)


def check_group_indexes(api: Any) -> list[str]:
    """The three group index pairs: every item with the column has its entry, and every entry
    names an item with that column value."""
    problems = []
    for index, base, column, id_attribute in GROUP_INDEXES:
        items = {item["id"]["S"]: item for item in scan(api, base)}
        entries = {(e[column]["S"], e[id_attribute]["S"]) for e in scan(api, index)}
        for item_id, item in items.items():
            value = item.get(column, {}).get("S")
            if value is not None and (value, item_id) not in entries:
                problems.append(f"{base} {item_id} has no {index} entry under {value!r}")
        for value, item_id in entries:
            if items.get(item_id, {}).get(column, {}).get("S") != value:
                problems.append(f"{index} entry ({value!r}, {item_id}) names no such item")
    return problems


def check_usages(api: Any) -> list[str]:
    """The quota invariant: a live usage's ``reserved`` is the sum of the positive deltas of
    the reservations it lists, each of them a live reservation of that project and
    resource. (Live reservations no usage lists were never applied or are settled.)"""
    reservations = {
        (item["project_id"]["S"], item["uuid"]["S"]): from_item("reservation", item)
        for item in scan(api, "reservations")
    }
    problems = []
    for usage in scan(api, "quota_usages"):
        if not _live(usage):
            continue
        project, resource = usage["project_id"]["S"], usage["resource"]["S"]
        total = 0
        for uuid in string_set(usage, "reservations"):
            record = reservations.get((project, uuid))
            if record is None or record["deleted"] or record["resource"] != resource:
                problems.append(f"usage {project}/{resource} lists {uuid}, no live reservation")
            else:
                total += max(record["delta"], 0)
        if number(usage, "reserved") != total:
            problems.append(
                f"usage {project}/{resource}: reserved {number(usage, 'reserved')} != {total}"
            )
    return problems


def check_all(api: Any) -> list[str]:
    """Every invariant of the types/QoS/groups/quotas half of the design."""
    return [
        *check_names(api, "volume_types", "volume_types_by_name", "volume_type_id"),
        *check_names(api, "quality_of_service_specs", "qos_specs_by_name", "qos_specs_id"),
        *check_qos_associations(api),
        *check_volume_type_names(api),
        *check_group_indexes(api),
        *check_usages(api),
    ]
