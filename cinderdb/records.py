"""The records both backends return: plain dicts, one declared shape per kind.

Columns follow the seed's CREATE TABLE statements (Cinder Liberty). Surrogate
integer ids of child tables (``volume_metadata.id``, ``quotas.id``,
``reservations.usage_id``...) are storage details, not part of any record, so a
key-value store need not invent them. Timestamps are naive UTC ``datetime``
values truncated to whole seconds, as MySQL's ``DATETIME`` stores them, so the
same call gives equal records on every backend.

The nested keys of each record kind are listed in ``docs/records.md``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cinderdb import exception

Record = dict[str, Any]


class Kind(Enum):
    """The value kinds the seed's columns use."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    length: int | None = None  # for strings: the VARCHAR length
    nullable: bool = True


def _s(name: str, length: int = 255, nullable: bool = True) -> Field:
    return Field(name, Kind.STRING, length, nullable)


def _i(name: str, nullable: bool = True) -> Field:
    return Field(name, Kind.INTEGER, nullable=nullable)


def _b(name: str) -> Field:
    return Field(name, Kind.BOOLEAN)


def _t(name: str) -> Field:
    return Field(name, Kind.DATETIME)


TIMESTAMPS = (_t("created_at"), _t("updated_at"), _t("deleted_at"), _b("deleted"))

VOLUME_FIELDS = (
    *TIMESTAMPS,
    _s("id", 36, nullable=False),
    _s("ec2_id"),
    _s("user_id"),
    _s("project_id"),
    _s("host"),
    _i("size"),
    _s("availability_zone"),
    _s("status"),
    _s("attach_status"),
    _t("scheduled_at"),
    _t("launched_at"),
    _t("terminated_at"),
    _s("display_name"),
    _s("display_description"),
    _s("provider_location", 256),
    _s("provider_auth", 256),
    _s("snapshot_id", 36),
    _s("volume_type_id", 36),
    _s("source_volid", 36),
    _b("bootable"),
    _s("provider_geometry"),
    _s("_name_id", 36),
    _s("encryption_key_id", 36),
    _s("migration_status"),
    _s("replication_status"),
    _s("replication_extended_status"),
    _s("replication_driver_data"),
    _s("consistencygroup_id", 36),
    _s("provider_id"),
    _b("multiattach"),
)

ATTACHMENT_FIELDS = (
    *TIMESTAMPS,
    _s("id", 36, nullable=False),
    _s("volume_id", 36, nullable=False),
    _s("attached_host"),
    _s("instance_uuid", 36),
    _s("mountpoint"),
    _t("attach_time"),
    _t("detach_time"),
    _s("attach_mode", 36),
    _s("attach_status"),
)

METADATA_ITEM_FIELDS = (_s("key"), _s("value"))

GLANCE_METADATA_FIELDS = (
    _s("volume_id", 36),
    _s("snapshot_id", 36),
    _s("key"),
    Field("value", Kind.TEXT),
)

SNAPSHOT_FIELDS = (
    *TIMESTAMPS,
    _s("id", 36, nullable=False),
    _s("volume_id", 36, nullable=False),
    _s("user_id"),
    _s("project_id"),
    _s("status"),
    _s("progress"),
    _i("volume_size"),
    _t("scheduled_at"),
    _s("display_name"),
    _s("display_description"),
    _s("provider_location"),
    _s("encryption_key_id", 36),
    _s("volume_type_id", 36),
    _s("cgsnapshot_id", 36),
    _s("provider_id"),
)

CONSISTENCYGROUP_FIELDS = (
    *TIMESTAMPS,
    _s("id", 36, nullable=False),
    _s("user_id"),
    _s("project_id"),
    _s("host"),
    _s("availability_zone"),
    _s("name"),
    _s("description"),
    _s("volume_type_id"),
    _s("status"),
    _s("cgsnapshot_id", 36),
)

CGSNAPSHOT_FIELDS = (
    *TIMESTAMPS,
    _s("id", 36, nullable=False),
    _s("consistencygroup_id", 36, nullable=False),
    _s("user_id"),
    _s("project_id"),
    _s("name"),
    _s("description"),
    _s("status"),
)

VOLUME_TYPE_FIELDS = (
    *TIMESTAMPS,
    _s("id", 36, nullable=False),
    _s("name"),
    _s("qos_specs_id", 36),
    _b("is_public"),
    _s("description"),
)

TYPE_ACCESS_FIELDS = (_s("volume_type_id", 36), _s("project_id"))

#: A QoS spec as one entity (its root row's id and name, and the ``consumer``
#: key); the SQL schema stores it as a root row plus key/value child rows.
QOS_SPECS_FIELDS = (*TIMESTAMPS, _s("id", 36, nullable=False), _s("name"), _s("consumer"))

QUOTA_FIELDS = (*TIMESTAMPS, _s("project_id"), _s("resource", nullable=False), _i("hard_limit"))

QUOTA_CLASS_FIELDS = (*TIMESTAMPS, _s("class_name"), _s("resource"), _i("hard_limit"))

QUOTA_USAGE_FIELDS = (
    *TIMESTAMPS,
    _s("project_id"),
    _s("resource"),
    _i("in_use", nullable=False),
    _i("reserved", nullable=False),
    _i("until_refresh"),
)

RESERVATION_FIELDS = (
    *TIMESTAMPS,
    _s("uuid", 36, nullable=False),
    _s("project_id"),
    _s("resource"),
    _i("delta", nullable=False),
    _t("expire"),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "volume": VOLUME_FIELDS,
    "attachment": ATTACHMENT_FIELDS,
    "metadata_item": METADATA_ITEM_FIELDS,
    "glance_metadata": GLANCE_METADATA_FIELDS,
    "snapshot": SNAPSHOT_FIELDS,
    "consistencygroup": CONSISTENCYGROUP_FIELDS,
    "cgsnapshot": CGSNAPSHOT_FIELDS,
    "volume_type": VOLUME_TYPE_FIELDS,
    "type_access": TYPE_ACCESS_FIELDS,
    "qos_specs": QOS_SPECS_FIELDS,
    "quota": QUOTA_FIELDS,
    "quota_class": QUOTA_CLASS_FIELDS,
    "quota_usage": QUOTA_USAGE_FIELDS,
    "reservation": RESERVATION_FIELDS,
}


def column_names(kind: str) -> tuple[str, ...]:
    """The column keys of one record kind, in declaration order."""
    return _COLUMN_NAMES[kind]


_COLUMN_NAMES = {kind: tuple(field.name for field in fields) for kind, fields in FIELDS.items()}


#: Liberty's model properties that take writes, per record kind: the key a caller may
#: write and the column it sets (``Volume.name_id``'s setter sets ``_name_id``).
WRITE_ALIASES: dict[str, dict[str, str]] = {"volume": {"name_id": "_name_id"}}

#: Liberty's read-only model properties that records carry as keys, per kind (besides a
#: usage's ``total``); a snapshot read with its volume also has ``volume_name``.
PROPERTIES: dict[str, tuple[str, ...]] = {"volume": ("name_id", "name"), "snapshot": ("name",)}

#: ``CONF.volume_name_template`` and ``CONF.snapshot_name_template`` (Liberty's defaults).
VOLUME_NAME_TEMPLATE = "volume-%s"
SNAPSHOT_NAME_TEMPLATE = "snapshot-%s"

#: MySQL's signed INT: the range of every ``Kind.INTEGER`` column.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

#: A UTF-16 surrogate code point: in a Python string it stands alone (a pair is one
#: code point), and no UTF-8 column, MySQL's or MagnetoDB's JSON, can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _fields_by_name(kind: str) -> dict[str, Field]:
    return {field.name: field for field in FIELDS[kind]}


_FIELD_INDEX = {kind: _fields_by_name(kind) for kind in FIELDS}


def utcnow() -> dt.datetime:
    """Now, naive UTC, whole seconds: the resolution MySQL's DATETIME keeps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def coerce_value(field: Field, value: Any) -> Any:
    """One value converted to its column's kind, or ``InvalidInput``.

    Ids given as integers are stored as text (Cinder's tests rely on it); a
    string that spells an integer is accepted for an integer column, as SQL
    would; a value too long for its VARCHAR is refused rather than truncated.
    """
    if value is None:
        if not field.nullable:
            raise exception.InvalidInput(reason=f"{field.name} may not be null")
        return None
    kind = field.kind
    # Fast paths for the values most records hold (a bulk load checks millions): the
    # column's own type exactly, taken as the general paths below would take it.
    given = type(value)
    if given is str and (kind is Kind.STRING or kind is Kind.TEXT):
        if not value.isascii():
            check_text(field.name, value)
        if field.length is not None and len(value) > field.length:
            raise exception.InvalidInput(
                reason=f"{field.name} is longer than {field.length} characters"
            )
        return value
    if given is dt.datetime and kind is Kind.DATETIME:
        if value.tzinfo is None:
            return value.replace(microsecond=0) if value.microsecond else value
    elif given is bool and kind is Kind.BOOLEAN:
        return value
    elif given is int and kind is Kind.INTEGER:
        check_int_range(field.name, value)
        return value
    if kind in (Kind.STRING, Kind.TEXT):
        if isinstance(value, bool) or not isinstance(value, str | int | decimal.Decimal):
            raise exception.InvalidInput(
                reason=f"{field.name} must be a string, not {type(value).__name__}"
            )
        text = str(value)
        check_text(field.name, text)
        if field.length is not None and len(text) > field.length:
            raise exception.InvalidInput(
                reason=f"{field.name} is longer than {field.length} characters"
            )
        return text
    if kind is Kind.INTEGER:
        if isinstance(value, bool):
            raise exception.InvalidInput(reason=f"{field.name} must be an integer, not a boolean")
        if isinstance(value, int):
            result = value
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            result = int(value)
        else:
            raise exception.InvalidInput(reason=f"{field.name} must be an integer, not {value!r}")
        check_int_range(field.name, result)
        return result
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise exception.InvalidInput(reason=f"{field.name} must be a boolean, not {value!r}")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.replace(microsecond=0)
    raise exception.InvalidInput(reason=f"{field.name} must be a datetime, not {value!r}")


def check_text(name: str, text: str) -> None:
    """Text a UTF-8 column can hold, or ``InvalidInput`` (a lone surrogate cannot be encoded:
    Liberty's driver raises a raw ``UnicodeEncodeError``, MagnetoDB's JSON refuses it)."""
    if not text.isascii() and _SURROGATE.search(text):
        raise exception.InvalidInput(reason=f"{name} is not valid Unicode text (lone surrogate)")


def check_int_range(name: str, value: int) -> None:
    """An integer MySQL's INT holds, or ``InvalidInput``: MySQL's strict mode refuses the
    rest, so SQLite and MagnetoDB are made to refuse it too."""
    if not INT_MIN <= value <= INT_MAX:
        raise exception.InvalidInput(reason=f"{name} is out of range for INT")


def coerce_values(kind: str, values: Mapping[str, Any]) -> Record:
    """The column values of ``values`` for a record kind, coerced and checked.

    Keys that are not columns are dropped without error: Cinder's callers pass
    such keys (``metadata``, ``qos_specs``...) and Liberty ignores them. A
    writable model property (``WRITE_ALIASES``: a volume's ``name_id``) sets
    its column; given both spellings, the later key wins, as Liberty's
    ``row.update(values)`` sets them in order.
    """
    fields = _FIELD_INDEX[kind]
    aliases = WRITE_ALIASES.get(kind, {})
    if not isinstance(values, Mapping):
        raise exception.InvalidInput(reason=f"values must be a dict, not {type(values).__name__}")
    result: Record = {}
    for key, value in values.items():
        field = fields.get(aliases.get(key, key) if aliases else key)
        if field is not None:
            name = field.name
            if name in result:
                del result[name]  # the later spelling wins, and takes the later place
            result[name] = coerce_value(field, value)
    return result


def volume_properties(volume: Mapping[str, Any]) -> Record:
    """Liberty's ``Volume.name_id`` and ``Volume.name``, read from a volume's columns.

    Liberty's rows answer ``volume['name']`` through model properties; plain
    records carry them as keys (as a usage carries ``total``).
    """
    name_id = volume["_name_id"] or volume["id"]
    return {"name_id": name_id, "name": VOLUME_NAME_TEMPLATE % name_id}


def with_volume_properties(volume: Record | None) -> Record | None:
    """A volume record (or None) with ``name_id`` and ``name`` added."""
    if volume is None:
        return None
    volume.update(volume_properties(volume))
    return volume


def snapshot_properties(snapshot: Mapping[str, Any], volume: Mapping[str, Any] | None) -> Record:
    """Liberty's ``Snapshot.name``, and ``Snapshot.volume_name`` when the volume was read
    with it (Liberty's property follows the ``volume`` relationship)."""
    properties: Record = {"name": SNAPSHOT_NAME_TEMPLATE % snapshot["id"]}
    if volume is not None:
        properties["volume_name"] = volume_properties(volume)["name"]
    return properties


_METADATA_KEY = Field("key", Kind.STRING, 255, nullable=False)
_METADATA_VALUES = {Kind.STRING: Field("value", Kind.STRING, 255, nullable=False)}


def coerce_metadata(metadata: Any, value_kind: Kind = Kind.STRING) -> dict[str, str]:
    """A metadata dict checked as the key/value columns would check it.

    A None value is refused: the MySQL column would take NULL, but a key-value
    map cannot hold one, and a metadata value of "nothing" means nothing to
    Cinder's callers (the REST layer only sends strings).
    """
    if not isinstance(metadata, Mapping):
        raise exception.InvalidInput(
            reason=f"metadata must be a dict, not {type(metadata).__name__}"
        )
    key_field = _METADATA_KEY
    value_field = _METADATA_VALUES.get(value_kind) or Field(
        "value", value_kind, 255 if value_kind is Kind.STRING else None, nullable=False
    )
    result: dict[str, str] = {}
    for key, value in metadata.items():
        result[coerce_value(key_field, key)] = coerce_value(value_field, value)
    return result


def metadata_items(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[Record]:
    """Nested metadata in a record: ``[{'key': k, 'value': v}, ...]`` sorted by key."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [{"key": key, "value": value} for key, value in sorted(items)]


def blank(kind: str) -> Record:
    """A record of one kind with every column None (``deleted`` False)."""
    record: Record = dict.fromkeys(column_names(kind))
    if "deleted" in record:
        record["deleted"] = False
    return record
