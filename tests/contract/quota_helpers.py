"""Helpers the quota contract tests share (public API only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cinderdb.quota import default_resources
from cinderdb.records import utcnow

#: The global resources, each with its real sync function.
RESOURCES = default_resources()
UNLIMITED = dict.fromkeys(RESOURCES, -1)


def later(hours: int = 1) -> dt.datetime:
    return utcnow() + dt.timedelta(hours=hours)


def quota_reserve(api: Any, ctx: Any, project_id: str, expire: dt.datetime | None = None):
    """Cinder's ``_quota_reserve``: limits volumes=1 and gigabytes=2, then reserve 1 and 2.

    Cinder passes ``until_refresh=utcnow()`` and ``max_age=timedelta(days=1)``, which the
    contract refuses (``InvalidInput``); neither matters for a first reservation.
    """
    quotas = {}
    for i, resource in enumerate(("volumes", "gigabytes")):
        api.quota_create(ctx, project_id, resource, i + 1)
        quotas[resource] = i + 1
    deltas = {"volumes": 1, "gigabytes": 2}
    return api.quota_reserve(
        ctx, RESOURCES, quotas, deltas, expire or utcnow(), None, None, project_id
    )


def set_usage(api: Any, ctx: Any, project_id: str, **in_use: int) -> None:
    """Make the project's usage rows say ``in_use``, whatever really exists.

    There is no usage-create function: the first reservation creates the rows with the
    real counts (0, so call this before creating volumes), and committing a reservation
    moves its delta into ``in_use``. Later reservations do not recount unless
    ``until_refresh``/``max_age`` ask for it.
    """
    reservations = api.quota_reserve(
        ctx, RESOURCES, UNLIMITED, in_use, later(), None, None, project_id
    )
    api.reservation_commit(ctx, reservations, project_id)


def usages(api: Any, ctx: Any, project_id: str) -> dict[str, Any]:
    """``quota_usage_get_all_by_project`` without the ``project_id`` key."""
    result = dict(api.quota_usage_get_all_by_project(ctx, project_id))
    assert result.pop("project_id") == project_id
    return result


def make_volumes(api: Any, ctx: Any, project_id: str, *sizes: int, **values: Any) -> list:
    return [
        api.volume_create(ctx, {"project_id": project_id, "size": size, **values}) for size in sizes
    ]
