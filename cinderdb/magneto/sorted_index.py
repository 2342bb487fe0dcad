"""Option ``sorted_project_index``: a volume's project entries ordered for pages and filters.

The seed lists a project by reading every volume of it (``volumes_by_project``,
then a ``batch_get_item`` of all of them) and sorting in Python. This option
keeps, per project and per sort column ``K`` of ``SORTED_COLUMNS``, an index
table ``volumes_by_project_<K>`` whose range key orders the project's volumes
exactly as Liberty's ``ORDER BY K, created_at, id`` (``process_sort_params``
appends ``created_at`` and ``id`` with the first key's direction), so:

- a page sorted by ``K`` (one direction, as Cinder's API sends) is one ``query``
  of ``limit`` entries, forwards or backwards, from the marker's position, then
  a ``batch_get_item`` of those volumes: O(limit), not O(project);
- an equality filter on ``K`` (``status``, the commonest filter, or
  ``display_name``) is the ``K`` index's entries that begin with the value: in
  ``(created_at, id)`` order, the default sort's, so a filtered page reads the
  matches, not the project.

A sort by ``id`` pages the seed's ``volumes_by_project`` (ranged by id).
``updated_at`` is not indexed: every write changes it (the cost table in
``docs/magnetodb-design.md``); a page sorted by it reads the project, as the seed.

**Range keys.** ``component(K) + component(created_at) + id``. A component is
``"\\x01"`` for NULL (lowest, as SQL sorts it), a fixed-width text for a
datetime (ISO to the second) or an integer (offset by 2**31, 10 digits), and
for text the hex of its UTF-8 bytes followed by ``" "`` (the whole value) or,
past ``TEXT_BYTES`` bytes, its first ``TEXT_BYTES`` bytes followed by ``"+"``
(*truncated*). Hex keeps byte (= code point) order, and a cut at a fixed byte
count keeps the order of different prefixes, so truncated values only tie with
each other; a reader resolves such a tie group by the values themselves
(``SortedPages``). The id is last and raw. A key takes at most 2 x 37 + 1 (text) +
19 (datetime) + 144 (36 four-byte characters) + 2 = 240 bytes of a storage key: always
stored as is (``keys.MAX_PART_BYTES``), so the store's order is the key's.

Entries are written and removed like the seed's (``entries.Entry``: before the
base write that makes them true, after the one that stops it), and a reader
checks each entry against its volume, so a crash's leftover entry is never listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cinderdb.magneto.tables import NULL_KEY, DualWrite, PairKind, Table
from cinderdb.records import FIELDS, Kind

#: The option's name (``designs.OPTIONS``).
SORTED_OPTION = "sorted_project_index"
#: The columns a project's volumes are kept sorted by (one index table each): the default
#: sort key, the commonest filter (status) and the other keys Cinder's list sorts by.
SORTED_COLUMNS: tuple[str, ...] = ("created_at", "status", "display_name", "size")
#: Bytes of a text value a key orders by (the rest ties: resolved by the reader).
TEXT_BYTES = 37
#: The component of a NULL value: below every other component.
NULL_COMPONENT = "\x01"
#: After a whole text value / after a truncated one (both below every hex digit).
WHOLE, TRUNCATED = " ", "+"
#: Above every character a component or an id starts with: the end of a prefix's range.
PREFIX_END = "\U0010ffff"
_INT_OFFSET = 2**31
_KINDS = {f.name: f.kind for f in FIELDS["volume"]}


def table_name(column: str) -> str:
    return f"volumes_by_project_{column}"


def component(value: Any) -> str:
    """The order-preserving text of one sort value (see the module docstring)."""
    if value is None:
        return NULL_COMPONENT
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return f"{value + _INT_OFFSET:010d}"
    raw = str(value).encode("utf-8", "surrogatepass")
    if len(raw) > TEXT_BYTES:
        return raw[:TEXT_BYTES].hex() + TRUNCATED
    return raw.hex() + WHOLE


def is_truncated(part: str) -> bool:
    return part.endswith(TRUNCATED)


@dataclass(frozen=True)
class SortedRule:
    """One sorted project index: the entry a volume's columns call for.

    Same interface as ``entries.IndexRule`` (``table``, ``base``, ``entry``), so the
    seed's entry writes, removals and guarded compensations serve it unchanged;
    ``columns`` are the columns its entry depends on.
    """

    table: str
    column: str
    base: str = "volumes"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("project_id", self.column, "created_at")))

    def hash_of(self, project_id: str | None) -> str:
        return NULL_KEY if project_id is None else project_id

    def prefix(self, value: Any) -> str:
        """The part of the range key that a value of the column decides."""
        return "" if self.column == "created_at" else component(value)

    def range_of(self, record: Mapping[str, Any], item_id: str) -> str:
        return self.prefix(record.get(self.column)) + component(record.get("created_at")) + item_id

    def entry(self, record: Mapping[str, Any], item_id: str) -> tuple[str, str, str]:
        return (self.table, self.hash_of(record.get("project_id")), self.range_of(record, item_id))


SORTED_RULES: tuple[SortedRule, ...] = tuple(SortedRule(table_name(c), c) for c in SORTED_COLUMNS)
SORTED_RULE_BY_COLUMN: dict[str, SortedRule] = {rule.column: rule for rule in SORTED_RULES}
SORTED_RULE_BY_TABLE: dict[str, SortedRule] = {rule.table: rule for rule in SORTED_RULES}
#: Volume columns whose change moves a sorted entry.
SORTED_DEPENDS: frozenset[str] = frozenset(c for rule in SORTED_RULES for c in rule.columns)

SORTED_TABLES: tuple[Table, ...] = tuple(
    Table(
        rule.table,
        "project_id",
        "sort_key",
        role="index",
        doc=f"a project's volumes ordered by {rule.column}"
        + ("" if rule.column == "created_at" else ", created_at")
        + ", id (range: sort_key)",
    )
    for rule in SORTED_RULES
)

SORTED_PAIRS: tuple[DualWrite, ...] = tuple(
    DualWrite(
        rule.table,
        PairKind.SORTED_INDEX,
        f"volumes.{rule.column}",
        rule.table,
        f"every volume has one entry under its project_id whose sort_key is its {rule.column}"
        + ("" if rule.column == "created_at" else ", created_at")
        + " and id (sorted_index.component), and every entry is such a volume's",
        {"id_attribute": "volume_id", "none": "NULL_KEY"},
    )
    for rule in SORTED_RULES
)

#: The functions whose request plan the option changes.
SORTED_FUNCTIONS: tuple[str, ...] = (
    "volume_get_all_by_project",
    "volume_get_all",
    "volume_create",
    "volume_update",
    "volume_destroy",
    "volume_attached",
    "volume_detached",
    "finish_volume_migration",
    "volume_metadata_update",
    "volume_admin_metadata_update",
)


def _component_length(column: str, text: str) -> int:
    """The length of the component of ``column`` that ``text`` starts with."""
    if text.startswith(NULL_COMPONENT):
        return 1
    kind = _KINDS[column]
    if kind is Kind.DATETIME:
        return 19
    if kind is Kind.INTEGER:
        return 10
    for index, char in enumerate(text):
        if char in (WHOLE, TRUNCATED):
            return index + 1
    raise ValueError(f"not a sort key of {column}: {text!r}")


def value_part(rule: SortedRule, sort_key: str) -> str:
    """The range key's component of the rule's column ("" for created_at)."""
    if rule.column == "created_at":
        return ""
    return sort_key[: _component_length(rule.column, sort_key)]


def sorted_entry_id(rule: SortedRule, sort_key: str) -> str:
    """The volume id an entry's range key ends with (ids are the last, raw part)."""
    rest = sort_key[len(value_part(rule, sort_key)) :]
    return rest[_component_length("created_at", rest) :]
