"""Canonical forms of DB API answers, so two backends' results compare as plain data.

Scientist's ``clean`` and ``ignore``, for Cinder's DB API. ``Canonicalizer``
turns a result (records, lists, tuples, datetimes) or an exception into JSON
data where everything the contract leaves free is made equal, and nothing
else is:

- **generated ids**: an id a backend made itself (a QoS spec id, a
  reservation uuid) becomes a token naming the logged call that made it
  (``<qos_specs_create@17.0>``), so backend A's id and backend B's id for
  the same creation compare equal, and a wrong reference still differs;
- **list order**: the lists of the functions in ``ORDER_FREE`` (the contract
  defines no order) are sorted; every other order is compared as is;
- **timestamps**: compared exactly when the replay runs on its logical
  clock (both backends read the same "now"); on the wall clock only whether
  each clock-set column is set (``CLOCK_FIELDS``);
- **ignore rules** (``IGNORE_RULES``): the few known, explained differences
  that are not divergences. Each one is data with its reason, in one place.

``difference`` explains two canonical values in a line; ``focus`` trims a
pair of big answers to the parts that differ.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

#: Functions whose list answer has no order in the contract (Liberty issues no ORDER BY
#: or the records say nothing): compared as multisets.
ORDER_FREE: frozenset[str] = frozenset(
    {
        "volume_get_all_by_host",
        "volume_get_all_by_group",
        "volume_attachment_get_used_by_volume_id",
        "snapshot_get_all_for_volume",
        "snapshot_get_all_for_cgsnapshot",
        "consistencygroup_get_all",
        "consistencygroup_get_all_by_project",
        "cgsnapshot_get_all",
        "cgsnapshot_get_all_by_group",
        "cgsnapshot_get_all_by_project",
        "volume_type_qos_associations_get",
        "qos_specs_associations_get",
        "qos_specs_get_all",
    }
)

#: Columns a backend sets from its own clock (docs/results-format.md, "Timestamps").
CLOCK_FIELDS: frozenset[str] = frozenset({"created_at", "updated_at", "deleted_at"})

#: Calls that create a record or reservation and may choose its id themselves.
CREATING_CALLS: frozenset[str] = frozenset(
    {
        "volume_create",
        "volume_attach",
        "snapshot_create",
        "volume_type_create",
        "qos_specs_create",
        "consistencygroup_create",
        "cgsnapshot_create",
        "quota_reserve",
    }
)


@dataclass(frozen=True)
class IgnoreRule:
    """A known difference that is not a divergence: where it applies, and why."""

    name: str
    reason: str
    #: exception classes whose ``kwargs`` keys listed in ``fields`` are dropped
    errors: frozenset[str] = frozenset()
    #: record keys (at any depth) dropped from the answers of ``functions`` (all if empty)
    fields: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()


#: Every ignore rule of the differential check. Keep this short: each entry hides a
#: difference from every run, so it needs a reason a reviewer accepts.
IGNORE_RULES: tuple[IgnoreRule, ...] = (
    IgnoreRule(
        "storage_error_text",
        "DBError and its subclasses carry the storage engine's own message (SQLAlchemy "
        "or MagnetoDB error JSON); the class is compared, the engine's words are not",
        errors=frozenset(
            {
                "DBError",
                "DBDuplicateEntry",
                "DBReferenceError",
                "DBConflict",
                "DBDeadlock",
                "DBConnectionError",
            }
        ),
        fields=frozenset({"reason", "target", "attempts"}),
    ),
)


class TimestampMode(enum.Enum):
    """How ``CLOCK_FIELDS`` compare."""

    EXACT = "exact"  # both backends read one logical clock: compare the values
    PRESENCE = "presence"  # wall clocks: compare only whether each is set


@dataclass
class IdMap:
    """One backend's generated ids and the tokens that stand for them."""

    token_of: dict[str, str] = field(default_factory=dict)
    id_of: dict[str, str] = field(default_factory=dict)

    def add(self, value: str, token: str) -> None:
        self.token_of[value] = token
        self.id_of[token] = value


_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def json_key(value: Any) -> bytes:
    """The canonical JSON bytes of a value: an order and an equality for any answer."""
    return orjson.dumps(value, option=_JSON_OPTIONS)


def same(first: Any, second: Any) -> bool:
    """Canonical values are the same JSON (so ``False`` is not ``0``, nor ``1.0`` ``1``)."""
    return json_key(first) == json_key(second)


def same_raw(first: Any, second: Any) -> bool:
    """Two answers as returned are the same JSON (datetimes, tuples and enums included);
    False when either cannot be written as JSON (sets), so it goes through canonicals."""
    try:
        return json_key(first) == json_key(second)
    except TypeError:
        return False


@dataclass
class Canonicalizer:
    """Canonical JSON data of answers of one backend (its generated ids)."""

    ids: IdMap
    timestamps: TimestampMode = TimestampMode.EXACT
    rules: tuple[IgnoreRule, ...] = IGNORE_RULES
    #: the columns ``timestamps`` applies to
    clock_fields: frozenset[str] = CLOCK_FIELDS
    #: what was made equal, by kind: generated_ids, timestamps, order, rule names
    ignored: Counter = field(default_factory=Counter)

    def result(self, function: str, value: Any) -> Any:
        """A call's return value, canonical."""
        dropped = self._dropped_fields(function)
        data = self._value(value, dropped)
        if function in ORDER_FREE and isinstance(data, list) and len(data) > 1:
            ordered = sorted(data, key=json_key)
            if ordered != data:
                self.ignored["order"] += 1
            data = ordered
        return data

    def error(self, error: BaseException) -> dict[str, Any]:
        """A call's exception, canonical: its class and keyword arguments (or message)."""
        name = type(error).__name__
        kwargs = getattr(error, "kwargs", None)
        if not isinstance(kwargs, Mapping):
            return {"error": name, "message": str(error)}
        dropped: set[str] = set()
        for rule in self.rules:
            if name in rule.errors:
                hidden = rule.fields & set(kwargs)
                if hidden:
                    self.ignored[rule.name] += 1
                    dropped |= hidden
        data = {k: v for k, v in kwargs.items() if k not in dropped}
        return {"error": name, "kwargs": self._value(data, frozenset())}

    # ------------------------------------------------------------------ values

    def _dropped_fields(self, function: str) -> frozenset[str]:
        dropped: set[str] = set()
        for rule in self.rules:
            if (
                rule.fields
                and not rule.errors
                and (not rule.functions or function in rule.functions)
            ):
                dropped |= rule.fields
        return frozenset(dropped)

    def _value(self, value: Any, dropped: frozenset[str]) -> Any:
        kind = type(value)
        if kind is str:
            token = self.ids.token_of.get(value)
            if token is not None:
                self.ignored["generated_ids"] += 1
                return token
            return value
        if value is None or kind in (int, float, bool):
            return value
        if isinstance(value, Mapping):
            return self._mapping(value, dropped)
        if isinstance(value, list | tuple):
            return [self._value(item, dropped) for item in value]
        if isinstance(value, set | frozenset):
            return sorted((self._value(item, dropped) for item in value), key=json_key)
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        return repr(value)

    def _mapping(self, value: Mapping[Any, Any], dropped: frozenset[str]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, item in value.items():
            name = self._value(key, dropped) if isinstance(key, str) else str(key)
            if key in dropped:
                self.ignored["fields"] += 1
                continue
            if key in self.clock_fields and self.timestamps is TimestampMode.PRESENCE:
                self.ignored["timestamps"] += 1
                data[name] = None if item is None else "<set>"
                continue
            data[name] = self._value(item, dropped)
        return data


# ------------------------------------------------------------------ differences


def _label(record: Any) -> str | None:
    if isinstance(record, dict):
        for key in ("id", "uuid", "name", "key", "resource"):
            if isinstance(record.get(key), str | int):
                return f"{key}={record[key]}"
    return None


def _differences(first: Any, second: Any, path: str, out: list[str], most: int) -> None:
    if len(out) >= most or first == second:
        return
    if isinstance(first, dict) and isinstance(second, dict):
        for key in sorted(set(first) | set(second)):
            if len(out) >= most:
                return
            where = f"{path}.{key}" if path else str(key)
            if key not in second:
                out.append(f"second lacks {where} (first: {_short(first[key])})")
            elif key not in first:
                out.append(f"first lacks {where} (second: {_short(second[key])})")
            else:
                _differences(first[key], second[key], where, out, most)
        return
    if isinstance(first, list) and isinstance(second, list):
        labels_a = [_label(item) for item in first]
        labels_b = [_label(item) for item in second]
        if all(labels_a) and all(labels_b) and len(set(labels_a)) == len(labels_a):
            by_b = dict(zip(labels_b, second, strict=True))
            for label in labels_a:
                if label not in by_b:
                    out.append(f"second lacks {path}[{label}]")
            for label in labels_b:
                if label not in set(labels_a):
                    out.append(f"first lacks {path}[{label}]")
            if labels_a != labels_b and set(labels_a) == set(labels_b):
                out.append(f"{path}: same items in another order")
            for label, item in zip(labels_a, first, strict=True):
                if label in by_b:
                    _differences(item, by_b[label], f"{path}[{label}]", out, most)
            return
        if len(first) != len(second):
            out.append(f"{path or 'result'}: {len(first)} items vs {len(second)}")
        for index, (a, b) in enumerate(zip(first, second, strict=False)):
            _differences(a, b, f"{path}[{index}]", out, most)
        return
    out.append(f"{path or 'result'}: {_short(first)} != {_short(second)}")


def _short(value: Any, limit: int = 80) -> str:
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def difference(first: Any, second: Any, most: int = 4) -> str:
    """A readable account of how two canonical values differ (empty when equal)."""
    found: list[str] = []
    _differences(first, second, "", found, most)
    return "; ".join(found)


def focus(first: Any, second: Any, keep: int = 5) -> tuple[Any, Any]:
    """Both values, trimmed to what differs when they are long lists of records: the
    records of either side that have no equal on the other (at most ``keep`` each)."""
    if not (isinstance(first, list) and isinstance(second, list)):
        return first, second
    if len(first) + len(second) <= 2 * keep:
        return first, second
    seen_b = Counter(json_key(item) for item in second)
    seen_a = Counter(json_key(item) for item in first)
    only_a = [item for item in first if seen_b[json_key(item)] == 0][:keep]
    only_b = [item for item in second if seen_a[json_key(item)] == 0][:keep]
    note = {"$trimmed": f"{len(first)} vs {len(second)} items; those without an equal shown"}
    return [note, *only_a], [note, *only_b]
