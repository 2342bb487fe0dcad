"""Small helpers the volume-side contract tests share (public API only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

#: A fixed clock for created_at: whole seconds apart, so sort order never ties.
T0 = dt.datetime(2015, 10, 13, 12, 0, 0)


def at(second: int) -> dt.datetime:
    """``T0`` plus some seconds: an explicit, ordered ``created_at``."""
    return T0 + dt.timedelta(seconds=second)


def ids(records: list[dict[str, Any]]) -> list[str]:
    """The ids of records, in the order given."""
    return [record["id"] for record in records]


def id_set(records: list[dict[str, Any]]) -> set[str]:
    """The ids of records, order ignored (for calls that define no order)."""
    return {record["id"] for record in records}


def meta(record: dict[str, Any], key: str = "volume_metadata") -> dict[str, Any]:
    """A record's nested metadata list as a dict."""
    return {item["key"]: item["value"] for item in record[key]}


def make_volumes(api: Any, ctx: Any, *values: dict[str, Any]) -> list[dict[str, Any]]:
    """Create volumes one second apart (``created_at``), in the order given."""
    return [api.volume_create(ctx, {"created_at": at(i), **v}) for i, v in enumerate(values)]
