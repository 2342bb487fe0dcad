"""Option ``sorted_project_index``: pages read from the sorted project indexes are the
seed's and SQL's, and read O(limit) items.

Pages are compared call by call on three backends holding the same volumes:
the SQL backend (SQLite), the seed's design and the design with the option
(both in-process): every sort key and direction Cinder sends, markers, limits,
offsets, status / name / size / metadata filters, ``read_deleted``, admin and
user, NULL values and long names that tie on their first bytes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest

from cinderdb import RequestContext, exception, get_admin_context, open_backend
from cinderdb.magneto.sorted_index import SORTED_RULE_BY_COLUMN as RULES
from cinderdb.magneto.sorted_index import TEXT_BYTES, component, is_truncated, sorted_entry_id

SORTED = "seed+sorted_project_index"
LONG = "x" * (TEXT_BYTES + 5)
NAMES = ("a", "b", "B", None, "", "é", LONG + "a", LONG + "b", "x" * TEXT_BYTES)
ADMIN = get_admin_context()


@pytest.fixture(scope="module")
def backends() -> Iterator[list[Any]]:
    opened = [
        open_backend("sqlite://"),
        open_backend("magnetodb+inproc:///seed"),
        open_backend(f"magnetodb+inproc:///sorted?design={SORTED}"),
    ]
    for backend in opened:
        backend.create_schema()
    rng = random.Random(3)
    ids = []
    for n in range(50):
        values = {
            "id": f"{n:08d}-0000-4000-8000-000000000000",
            "project_id": rng.choice(["p1", "p1", "p2", None]),
            "status": rng.choice(["available", "in-use", "error", None]),
            "display_name": rng.choice(NAMES),
            "size": rng.choice([1, 2, 3, None]),
            "created_at": dt.datetime(2020, 1, 1) + dt.timedelta(seconds=rng.choice([0, 1, 9])),
            "metadata": {"k": rng.choice(["1", "2"])},
        }
        for backend in opened:
            backend.volume_create(ADMIN, values)
        ids.append(values["id"])
    for volume_id in ids[:5]:
        for backend in opened:
            backend.volume_update(ADMIN, volume_id, {"status": "error", "size": 7})
    for volume_id in ids[5:9]:
        for backend in opened:
            backend.volume_destroy(ADMIN, volume_id)
    yield opened
    for backend in opened:
        backend.close()


def _page(api: Any, context: RequestContext, *args: Any) -> Any:
    try:
        return [volume["id"] for volume in api.volume_get_all_by_project(context, *args)]
    except exception.CinderException as error:
        return type(error).__name__


def test_pages_are_the_seeds_and_sqls(backends: list[Any]) -> None:
    rng = random.Random(11)
    ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(50)]
    filters = [
        None,
        {"status": "available"},
        {"display_name": "a"},
        {"display_name": LONG + "b"},
        {"size": 7},
        {"metadata": {"k": "1"}},
        {"status": "error", "metadata": {"k": "2"}},
        {"status": ["error", "available"]},
    ]
    for _ in range(60):
        key = rng.choice(["created_at", "display_name", "size", "status", "id", "updated_at"])
        direction = rng.choice(["asc", "desc", None])
        context = RequestContext(
            user_id="u",
            project_id="p1",
            is_admin=rng.random() < 0.7,
            read_deleted=rng.choice(["no", "yes", "only"]),
        )
        args = (
            rng.choice(["p1", "p2", None]),
            rng.choice([None, *ids]),
            rng.choice([None, 0, 1, 3, 10]),
            [key] if rng.random() < 0.8 else None,
            [direction] if direction else None,
            rng.choice(filters),
            rng.choice([None, None, 1]),
        )
        if args[3] is None:
            args = (*args[:4], None, *args[5:])
        sql, seed, sorted_ = (_page(api, context, *args) for api in backends)
        assert sql == seed == sorted_, (args, context.is_admin, context.read_deleted)


def test_a_page_reads_the_page_not_the_project(backends: list[Any]) -> None:
    """A first page of 3 and the next page (marker) read a handful of volumes, the seed the
    whole project (counted on the client's hooks)."""
    read = {}
    for api in backends[1:]:
        counts = {"items": 0}

        def count(stats: Any, counts: dict[str, int] = counts) -> None:
            counts["items"] += stats.items_read

        api.client.hooks.append(count)
        try:
            first = api.volume_get_all_by_project(ADMIN, "p1", None, 3, ["created_at"], ["desc"])
            api.volume_get_all_by_project(ADMIN, "p1", first[-1]["id"], 3, ["created_at"], ["desc"])
        finally:
            api.client.hooks.remove(count)
        read[api.design.name] = counts["items"]
    # per page: 3 entries and their volumes (+1 of each for the marker's), and the marker
    assert read[SORTED] <= 2 * 2 * (3 + 1) + 1
    assert read["seed"] > 2 * 20


def test_components_order_as_sql_does() -> None:
    values = [None, "", "a", "a\x00", "ab", "b", "é", "\U0001f600", "x" * 36]
    assert sorted(values, key=component) == sorted(values, key=lambda v: (v is not None, v))
    # past TEXT_BYTES a value ties with those of the same first bytes, and only with them
    assert component(LONG) == component(LONG + "a")
    assert is_truncated(component(LONG))
    assert component("x" * 36) < component(LONG) < component("y")
    assert component(None) < component(-(2**31)) < component(0) < component(2**31 - 1)
    early, late = dt.datetime(999, 1, 1), dt.datetime(2020, 1, 1, 0, 0, 1)
    assert component(None) < component(early) < component(late)
    rule = RULES["display_name"]
    widest = "\U0001f600" * 36  # 144 bytes: the longest id
    key = rule.range_of({"display_name": LONG, "created_at": late}, widest)
    assert sorted_entry_id(rule, key) == widest
    assert len(key.encode()) + 2 <= 240  # never stored in digest form
