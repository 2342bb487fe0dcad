"""Filters, sort order and keyset pagination as SQL, shared by the volume and snapshot lists.

``cinderdb.base`` decides what a filter or sort argument means (``FilterPlan``,
``process_sort_params``); this module only turns those decisions into WHERE,
ORDER BY, LIMIT and OFFSET clauses, the way Liberty's ``paginate_query`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, false, or_

from cinderdb.base import FilterPlan
from cinderdb.sql import models

#: A metadata filter value no stored (text) value can equal.
_UNMATCHABLE = object()


def _equal(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def apply_plan(statement: sa.Select, model: type, plan: FilterPlan) -> sa.Select:
    """Column equality (``None`` is IS NULL) and IN filters of a plan."""
    for name, value in plan.equal.items():
        statement = statement.where(_equal(getattr(model, name), value))
    for name, values in plan.within.items():
        statement = statement.where(getattr(model, name).in_(values))
    return statement


def _metadata_value(value: Any) -> Any:
    """A metadata filter value as the VARCHAR column compares it, or ``_UNMATCHABLE``.

    Text and None (IS NULL) compare as given, an integer as its digits; any
    other kind (a bool, a dict...) can equal no stored value.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _UNMATCHABLE


def apply_volume_plan(statement: sa.Select, plan: FilterPlan) -> sa.Select | None:
    """Liberty's volume filters; None when the call must return ``[]``.

    Each metadata pair is one EXISTS on volume_metadata OR one on
    volume_admin_metadata (both through the relationships' live-row filters),
    matching admin metadata for every caller as Liberty does (quirk #2).
    """
    statement = apply_plan(statement, models.Volume, plan)
    for key, raw in plan.metadata.items():
        value = _metadata_value(raw)
        if value is _UNMATCHABLE:
            return None
        statement = statement.where(
            or_(
                models.Volume.volume_metadata.any(key=key, value=value),
                models.Volume.volume_admin_metadata.any(key=key, value=value),
            )
        )
    if plan.no_migration_targets:
        status = models.Volume.migration_status
        statement = statement.where(or_(status.is_(None), ~status.like("target:%")))
    return statement


def _beyond(column: Any, value: Any, direction: str) -> Any:
    """Rows strictly after ``value`` in ``direction``, with NULL sorting lowest.

    Liberty crashes on a NULL marker value (quirk #3, fixed): after NULL in
    ascending order comes every non-NULL value; nothing is below NULL.
    """
    if direction == "asc":
        return column.is_not(None) if value is None else column > value
    return false() if value is None else or_(column < value, column.is_(None))


def after_marker(
    model: type, sort_keys: Sequence[str], sort_dirs: Sequence[str], marker: Any
) -> Any:
    """Keyset condition: (k1 beyond m1) OR (k1 = m1 AND k2 beyond m2) OR ..."""
    alternatives = []
    for index, (key, direction) in enumerate(zip(sort_keys, sort_dirs, strict=True)):
        leading = [
            _equal(getattr(model, earlier), getattr(marker, earlier))
            for earlier in sort_keys[:index]
        ]
        alternatives.append(
            and_(*leading, _beyond(getattr(model, key), getattr(marker, key), direction))
        )
    return or_(*alternatives)


def sort_and_page(
    statement: sa.Select,
    model: type,
    sort_keys: Sequence[str],
    sort_dirs: Sequence[str],
    marker: Any | None,
    limit: int | None,
    offset: int | None,
) -> sa.Select:
    """ORDER BY the keys, keep rows after the marker row, then LIMIT and OFFSET.

    With joined collection loads and a LIMIT, SQLAlchemy wraps the base rows in
    a subquery and joins the collections outside it, as it did for Liberty.
    """
    order = [
        getattr(model, key).asc() if direction == "asc" else getattr(model, key).desc()
        for key, direction in zip(sort_keys, sort_dirs, strict=True)
    ]
    statement = statement.order_by(*order)
    if marker is not None:
        statement = statement.where(after_marker(model, sort_keys, sort_dirs, marker))
    if limit is not None:
        statement = statement.limit(limit)
    if offset:
        statement = statement.offset(offset)
    return statement
