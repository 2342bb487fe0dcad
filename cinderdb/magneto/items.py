"""Records to MagnetoDB items and back.

Column kinds map to MagnetoDB types once, here: strings to ``S``, integers to
``N``, booleans to ``N`` 0/1 (MagnetoDB has no boolean), datetimes to ``S`` in
ISO 8601 to the second (so they sort as text), and None to an absent
attribute (MagnetoDB has no null). The wire dicts are built directly: this is
on every request's path, and the typed-value codec of ``magnetodb.typed``
would canonicalize what is already canonical.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cinderdb.records import FIELDS, Kind, Record

Wire = dict[str, Any]

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _encode_datetime(value: dt.datetime) -> Wire:
    # isoformat is _DATETIME_FORMAT for naive datetimes (records hold naive UTC), zero-pads
    # years below 1000 (so text order stays time order) and is 3x faster than strftime.
    return {"S": value.isoformat(timespec="seconds")}


def _decode_datetime(typed: Wire) -> dt.datetime:
    # fromisoformat parses _DATETIME_FORMAT 70x faster than strptime (every list decodes
    # thousands of items).
    return dt.datetime.fromisoformat(typed["S"])


def _encode_string(value: str) -> Wire:
    return {"S": value}


_ENCODERS: dict[Kind, Callable[[Any], Wire]] = {
    Kind.STRING: _encode_string,
    Kind.TEXT: _encode_string,
    Kind.INTEGER: lambda v: {"N": str(v)},
    Kind.BOOLEAN: lambda v: {"N": "1" if v else "0"},
    Kind.DATETIME: _encode_datetime,
}

_DECODERS: dict[Kind, Callable[[Wire], Any]] = {
    Kind.STRING: lambda t: t["S"],
    Kind.TEXT: lambda t: t["S"],
    Kind.INTEGER: lambda t: int(t["N"]),
    Kind.BOOLEAN: lambda t: t["N"] == "1",
    Kind.DATETIME: _decode_datetime,
}

#: kind -> ((column, encoder, decoder), ...), computed once.
_CODECS: dict[str, tuple[tuple[str, Callable[[Any], Wire], Callable[[Wire], Any]], ...]] = {
    kind: tuple((f.name, _ENCODERS[f.kind], _DECODERS[f.kind]) for f in fields)
    for kind, fields in FIELDS.items()
}


def encode_value(kind: Kind, value: Any) -> Wire:
    """One column value as a typed wire value (never None: absent attributes are None)."""
    return _ENCODERS[kind](value)


def to_item(record_kind: str, record: Mapping[str, Any]) -> Wire:
    """The columns of ``record`` as a wire item; None columns are left out."""
    item: Wire = {}
    for name, encode, _ in _CODECS[record_kind]:
        value = record.get(name)
        if value is not None:
            # most columns are strings: their typed value made here, without a call
            item[name] = {"S": value} if encode is _encode_string else encode(value)
    return item


def from_item(record_kind: str, item: Mapping[str, Wire]) -> Record:
    """The columns of a record kind from a wire item; absent attributes are None.

    ``deleted`` reads False when absent, like the column default.
    """
    record: Record = {}
    for name, _, decode in _CODECS[record_kind]:
        typed = item.get(name)
        record[name] = None if typed is None else decode(typed)
    if record.get("deleted") is None and "deleted" in record:
        record["deleted"] = False
    return record


def changes_to_updates(record_kind: str, changes: Mapping[str, Any]) -> Wire:
    """``attribute_updates`` that set the given columns (None deletes the attribute)."""
    encoders = {name: encode for name, encode, _ in _CODECS[record_kind]}
    updates: Wire = {}
    for name, value in changes.items():
        if value is None:
            updates[name] = {"action": "DELETE"}
        else:
            updates[name] = {"action": "PUT", "value": encoders[name](value)}
    return updates


# ------------------------------------------------------------ maps and sets


def string_map(item: Mapping[str, Wire], attribute: str) -> dict[str, str]:
    """An SSM attribute as a dict ({} when absent)."""
    typed = item.get(attribute)
    return dict(typed["SSM"]) if typed else {}


def string_set(item: Mapping[str, Wire], attribute: str) -> set[str]:
    """An SS attribute as a set (empty when absent)."""
    typed = item.get(attribute)
    return set(typed["SS"]) if typed else set()


def number(item: Mapping[str, Wire], attribute: str, default: int = 0) -> int:
    typed = item.get(attribute)
    return int(typed["N"]) if typed else default


def ssm(values: Mapping[str, str]) -> Wire:
    return {"SSM": dict(values)}


def ss(values: Iterable[str]) -> Wire:
    return {"SS": sorted(set(values))}


def s(value: str) -> Wire:
    return {"S": value}


def n(value: int) -> Wire:
    return {"N": str(value)}
