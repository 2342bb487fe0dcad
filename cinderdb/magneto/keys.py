"""Keys of any length: every value the SQL schema accepts is a key part the store takes.

A MagnetoDB storage key is at most 511 bytes (LMDB's limit): a 17-byte table
prefix plus the encoded hash and range values (UTF-8, each NUL doubled, two
terminator bytes). MySQL's ``VARCHAR(255)`` holds 255 four-byte characters
(1,020 bytes) in a ``project_id`` or a ``host``, two of which make a quota's
key; an inverted table's key is the JSON pair ``["key", "value"]`` of two such
strings, and an image property's value is TEXT. So a string key part whose
encoding is longer than ``MAX_PART_BYTES`` — half of what a key may hold, so
two parts always fit — is stored as its *digest form*::

    "sha256:" + sha256(value).hexdigest() + ":" + the value's first characters

and the item keeps the value itself in ``<attribute>.full``. A value that
starts with ``"sha256:"`` is stored in digest form too, whatever its length,
so no value's stored key is another's digest form: two values share a stored
key only if SHA-256 collides. The backend's request helpers (``MagnetoCore``)
encode every key and item they send and decode every item they read here, so
the area code, the validators' reader and the repair only ever see the values
themselves; a read also checks that an item's value is the one asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from cinderdb import exception
from cinderdb.magneto.tables import Table

Wire = dict[str, Any]

#: Longest encoded string key part stored as is (bytes: UTF-8, NULs doubled, terminator).
#: Two parts and the table prefix stay within LMDB's 511: 17 + 2 x 240 = 497.
MAX_PART_BYTES = 240
#: The start of every digest form (and of no value stored as is).
DIGEST_MARK = "sha256:"
#: How much of a long value its digest form keeps, for people reading the store (bytes).
SHOWN_BYTES = 64
#: ``<attribute><FULL>`` holds the value of a key attribute stored in digest form.
FULL = ".full"


def encoded_size(value: str) -> int:
    """Bytes the value takes in a storage key (``magnetodb.typed.key_bytes`` of an S)."""
    raw = value.encode("utf-8", "surrogatepass")
    return len(raw) + raw.count(0) + 2


def key_part(value: str) -> str:
    """The string a key attribute stores for ``value``: itself, or its digest form."""
    if len(value) * 4 + 2 <= MAX_PART_BYTES and not value.startswith(DIGEST_MARK):
        return value  # fast path: no encoding can make it too long
    if encoded_size(value) <= MAX_PART_BYTES and not value.startswith(DIGEST_MARK):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{DIGEST_MARK}{digest}:{_shown(value)}"


def _shown(value: str) -> str:
    """The longest prefix of whole characters that encodes in ``SHOWN_BYTES``."""
    size = 0
    for index, char in enumerate(value):
        size += encoded_size(char) - 2
        if size > SHOWN_BYTES:
            return value[:index]
    return value


#: table name -> (the table, its string key attributes with their ``.full`` names)
_STRING_KEYS: dict[str, tuple[Table, tuple[tuple[str, str], ...]]] = {}


def _string_keys(table: Table) -> tuple[tuple[str, str], ...]:
    """(attribute, its ``.full`` attribute) of each string key attribute of a table (on
    every request's path: computed once per table)."""
    cached = _STRING_KEYS.get(table.name)
    if cached is None or cached[0] is not table:
        names = tuple(
            (a, a + FULL) for a in table.key_attributes() if table.key_types.get(a, "S") == "S"
        )
        cached = _STRING_KEYS[table.name] = (table, names)
    return cached[1]


def _digested(typed: Wire | None) -> str | None:
    """The digest form a typed key value is stored as, or None when stored as is."""
    if typed is None or "S" not in typed:
        return None
    value = typed["S"]
    stored = key_part(value)
    return None if stored == value else stored


def encode_key(table: Table, key: Mapping[str, Wire]) -> Wire:
    """A request ``key`` with each string part as stored (the same dict when none changes)."""
    encoded = key
    for attribute, _ in _string_keys(table):
        stored = _digested(key.get(attribute))
        if stored is not None:
            encoded = {**encoded, attribute: {"S": stored}}
    return encoded  # type: ignore[return-value]


def encode_item(table: Table, item: Mapping[str, Wire]) -> Wire:
    """An item as stored: key parts in digest form where needed, the values kept beside
    (the same dict when none changes)."""
    encoded = item
    for attribute, full in _string_keys(table):
        typed = item.get(attribute)
        stored = _digested(typed)
        if stored is not None:
            encoded = {**encoded, attribute: {"S": stored}, full: typed}  # type: ignore[dict-item]
    return encoded  # type: ignore[return-value]


def encode_updates(table: Table, key: Mapping[str, Wire], updates: Wire) -> Wire:
    """``attribute_updates`` that also keep the values of digested key parts (an update may
    create the item). An update of DELETE actions only creates nothing: left as it is."""
    for attribute, full in _string_keys(table):
        typed = key.get(attribute)
        if _digested(typed) is not None and any(
            update.get("action") != "DELETE" for update in updates.values()
        ):
            updates = {**updates, full: {"action": "PUT", "value": typed}}
    return updates


def encode_request(table: Table, body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``key``, ``item`` and ``attribute_updates`` of a write request's body as stored
    (a repair action is written with the values the validators read)."""
    encoded = dict(body)
    if "key" in body:
        encoded["key"] = encode_key(table, body["key"])
        if "attribute_updates" in body:
            encoded["attribute_updates"] = encode_updates(
                table, body["key"], body["attribute_updates"]
            )
    if "item" in body:
        encoded["item"] = encode_item(table, body["item"])
    return encoded


def decode_item(table: Table, item: Wire | None) -> Wire | None:
    """An item as the design wrote it: each digested key part replaced by its value (the
    value is checked against the stored key: a mismatch is a corrupt item, ``DBError``)."""
    if not item:
        return item
    decoded = item
    for attribute, full in _string_keys(table):
        value = item.get(full)
        if value is None:
            continue
        if attribute in item and key_part(value["S"]) != item[attribute]["S"]:
            raise exception.DBError(reason=f"{table.name}: {full} is not the value of its key")
        decoded = {name: typed for name, typed in decoded.items() if name != full}
        decoded[attribute] = value
    return decoded


def decode_items(table: Table, items: list[Wire]) -> list[Wire]:
    """``decode_item`` of each item of a page: the page as it is when no item holds the
    value of a digested key part (the usual case; a scan's pages hold millions of items)."""
    for _, full in _string_keys(table):
        if any(full in item for item in items):
            return [decode_item(table, item) for item in items]  # type: ignore[misc]
    return items


def projection(table: Table, names: Sequence[str] | None) -> list[str] | None:
    """``attributes_to_get`` that also fetch the values of the key parts they name."""
    if names is None:
        return None
    keys = [full for attribute, full in _string_keys(table) if attribute in names]
    return [*names, *keys] if keys else list(names)


def holds_key(item: Mapping[str, Wire], key: Mapping[str, Wire]) -> bool:
    """Whether a decoded item has the key values asked for (an item of another value whose
    digest form is the same, were SHA-256 to collide, has not)."""
    return all(item.get(attribute, value) == value for attribute, value in key.items())
