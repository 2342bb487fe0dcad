"""The design's second copies that a base item alone decides, read from ``DUAL_WRITES``.

Two kinds of pair let a write (and its compensation) ask "does this base item
call for this second copy?" with no other context:

- list index tables (``PairKind.INDEX`` with a range key: ``volumes_by_project``...):
  the entry ``(hash, id)`` a base item's column calls for (``IndexRule``);
- inverted tables (``PairKind.INVERTED_MAP``: ``volume_metadata``...): the ids of
  the base items whose map holds a pair (``InvertedRule``).

The area code builds its entries from these rules and the journal's guarded
compensations check them, so an index or inverted pair declared in
``tables.py`` is written, and undone, with no code of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cinderdb.magneto import tables
from cinderdb.magneto.designs import ALL_PAIRS, ALL_TABLES
from cinderdb.magneto.tables import DUAL_WRITES, PairKind

#: An index entry: (index table, hash value, id of the base item).
Entry = tuple[str, str, str]


def host_base(host: str) -> str:
    """The part of ``host@backend#pool`` that volumes_by_host is keyed by (before ``#``)."""
    return host.split("#", 1)[0]


#: ``transform`` parameters of index pairs.
TRANSFORMS: dict[str, Callable[[str], str]] = {"host_base": host_base}


@dataclass(frozen=True)
class IndexRule:
    """A list index table: one entry per base item, under the (transformed) column value."""

    table: str
    base: str
    column: str
    #: the hash of a None value (``NULL_KEY``), or None when None values have no entry
    null_key: str | None
    transform: Callable[[str], str] | None

    def hash_of(self, value: str | None) -> str | None:
        """The hash an entry for ``value`` goes under (None: no entry)."""
        if value is None:
            return self.null_key
        return self.transform(value) if self.transform else value

    def entry(self, record: Mapping[str, Any], item_id: str) -> Entry | None:
        hash_value = self.hash_of(record.get(self.column))
        return None if hash_value is None else (self.table, hash_value, item_id)


@dataclass(frozen=True)
class InvertedRule:
    """An inverted table: property ``["key", "value"]`` -> ids of the base items whose map
    ``attribute`` holds that pair."""

    table: str
    base: str
    attribute: str
    ids_attribute: str


def _index_rule(pair: tables.DualWrite) -> IndexRule:
    base, column = pair.source.split(".", 1)
    params = pair.params
    return IndexRule(
        pair.target,
        base,
        column,
        getattr(tables, params["none"]) if "none" in params else None,
        TRANSFORMS[params["transform"]] if "transform" in params else None,
    )


def index_rules(pairs: Iterable[tables.DualWrite]) -> tuple[IndexRule, ...]:
    """The list indexes among ``pairs`` (a design's), in declaration order."""
    return tuple(
        _index_rule(pair)
        for pair in pairs
        if pair.kind is PairKind.INDEX and ALL_TABLES[pair.target].range_key is not None
    )


#: Every list index of the seed's design, in declaration order.
INDEX_RULES: tuple[IndexRule, ...] = index_rules(DUAL_WRITES)
#: Every list index any design may hold, by table (the journal's guarded compensations
#: look an entry's rule up by its table).
INDEX_RULE_BY_TABLE: dict[str, IndexRule] = {
    rule.table: rule for rule in index_rules(ALL_PAIRS.values())
}

INVERTED_RULES: dict[str, InvertedRule] = {
    pair.target: InvertedRule(pair.target, *pair.source.split(".", 1), pair.params["ids_attribute"])
    for pair in DUAL_WRITES
    if pair.kind is PairKind.INVERTED_MAP
}


def rules_for(base: str, rules: Iterable[IndexRule] = INDEX_RULES) -> tuple[IndexRule, ...]:
    """The list indexes of a base table (of the seed's design unless ``rules`` are given)."""
    return tuple(rule for rule in rules if rule.base == base)


#: Separates the ordering value from the id in an ordered index's range key.
ORDER_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class OrderedRule:
    """An index ordered by a column (``PairKind.ORDERED_INDEX``): every live base item has
    one entry under ``bucket`` whose range is ``value + ORDER_SEPARATOR + last key part``,
    holding the base item's key and the value as attributes, so one query with a range
    condition finds the items whose value is below a bound (``reservations_by_expire``)."""

    table: str
    base: str
    column: str
    bucket: str

    def entry(self, item: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The entry a base item (wire form) calls for (None: deleted, or no value)."""
        if item is None or item.get("deleted", {}).get("N", "0") != "0":
            return None
        value = item.get(self.column, {}).get("S")
        if value is None:
            return None
        base, target = ALL_TABLES[self.base], ALL_TABLES[self.table]
        keys = base.key_attributes()
        return {
            target.hash_key: {"S": self.bucket},
            target.range_key: {"S": f"{value}{ORDER_SEPARATOR}{item[keys[-1]]['S']}"},
            self.column: {"S": value},
            **{name: {"S": item[name]["S"]} for name in keys},
        }

    def below(self, bound: str) -> dict[str, Any]:
        """The range condition of the entries whose value is at most ``bound`` (fixed-width
        values: every longer range starting with ``bound`` sorts below ``bound + 0x20``)."""
        target = ALL_TABLES[self.table]
        return {
            target.range_key: {
                "comparison_operator": "LT",
                "attribute_value_list": [{"S": bound + chr(ord(ORDER_SEPARATOR) + 1)}],
            }
        }


def ordered_rules(pairs: Iterable[tables.DualWrite]) -> dict[str, OrderedRule]:
    """base table -> its ordered index among ``pairs`` (a design's)."""
    return {
        rule.base: rule
        for rule in (
            OrderedRule(pair.target, *pair.source.split(".", 1), pair.params["bucket"])
            for pair in pairs
            if pair.kind is PairKind.ORDERED_INDEX
        )
    }


def index_entries(
    rules: Iterable[IndexRule], record: Mapping[str, Any], item_id: str
) -> set[Entry]:
    """The index entries a record's columns call for."""
    entries = set()
    for rule in rules:
        entry = rule.entry(record, item_id)
        if entry is not None:
            entries.add(entry)
    return entries


def entry_item(entry: Entry) -> dict[str, Any]:
    """The item of an index entry: its keys only."""
    table, hash_value, item_id = entry
    spec = ALL_TABLES[table]
    return {spec.hash_key: {"S": hash_value}, spec.range_key: {"S": item_id}}
