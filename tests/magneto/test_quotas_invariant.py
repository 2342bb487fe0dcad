"""The usage invariant (``reserved`` = the positive deltas of the reservations a usage lists, each
a live reservation) holds after every quota write function; the states a crash between the
reservation items and the usage can leave are recognised and settled without double counting.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cinderdb import RequestContext, exception
from cinderdb.magneto.items import from_item, s, string_set
from cinderdb.quota import default_resources
from cinderdb.records import utcnow
from tests.magneto.support_types_quotas import check_usages, scan

RESOURCES = default_resources()
UNLIMITED = dict.fromkeys(RESOURCES, -1)
USER = RequestContext(user_id="u", project_id="p")


def later(hours: int = 1) -> dt.datetime:
    return utcnow() + dt.timedelta(hours=hours)


def reserve(api, deltas, expire=None, quotas=UNLIMITED, **kwargs):
    return api.quota_reserve(
        USER, RESOURCES, quotas, deltas, expire or later(), None, None, **kwargs
    )


def usage(api, ctx, resource):
    record = api.quota_usage_get(ctx, "p", resource)
    return record["in_use"], record["reserved"]


def test_every_quota_write_keeps_the_invariant(api, ctx):
    kept = reserve(api, {"volumes": 2, "gigabytes": 5})
    assert check_usages(api) == []
    steps = [
        lambda: api.reservation_commit(USER, kept),
        lambda: reserve(api, {"volumes": 1, "gigabytes": -3}),
        lambda: api.reservation_rollback(USER, reserve(api, {"snapshots": 4})),
        lambda: reserve(api, {"volumes": 3}, expire=later(-1)),
        lambda: api.reservation_expire(ctx),
        lambda: api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": 1}, later(), 0, 0, "p2"),
        lambda: api.quota_destroy_all_by_project(ctx, "p2"),
        lambda: api.quota_destroy_all_by_project(ctx, "p", only_quotas=True),
    ]
    for number, step in enumerate(steps):
        step()
        assert check_usages(api) == [], f"after step {number}"
    with pytest.raises(exception.OverQuota):
        reserve(api, {"volumes": 1}, quotas={"volumes": 0, "gigabytes": -1})
    assert check_usages(api) == []
    assert usage(api, ctx, "volumes") == (2, 1)
    assert usage(api, ctx, "gigabytes") == (5, 0)


def test_a_reservation_is_settled_once_by_commit_or_expiry(api, ctx):
    r = reserve(api, {"volumes": 4}, expire=later(-1))
    api.reservation_expire(ctx)  # rolls it back
    api.reservation_commit(USER, r)  # settled already: nothing happens
    assert usage(api, ctx, "volumes") == (0, 0)
    r = reserve(api, {"volumes": 4}, expire=later(-1))
    api.reservation_commit(USER, r)
    api.reservation_expire(ctx)  # committed already: nothing to expire
    api.reservation_rollback(USER, r)
    assert usage(api, ctx, "volumes") == (4, 0)
    assert check_usages(api) == []


def _orphan(api, uuid, delta, created, expire):
    """A reservation item no usage lists: what a crash between a reserve's two writes
    leaves (or a settle's: usage updated, reservation not yet retired)."""
    api.client.put_item(
        "reservations",
        {
            "project_id": s("p"),
            "uuid": s(uuid),
            "resource": s("volumes"),
            "delta": {"N": str(delta)},
            "expire": s(expire.strftime("%Y-%m-%dT%H:%M:%S")),
            "created_at": s(created.strftime("%Y-%m-%dT%H:%M:%S")),
            "deleted": {"N": "0"},
        },
    )


def test_unlisted_reservations_never_touch_a_usage(api, ctx):
    reserve(api, {"volumes": 1})
    old, now = utcnow() - dt.timedelta(hours=2), utcnow()
    _orphan(api, "old-crash", 5, old, old)
    _orphan(api, "fresh", 7, now, old)  # maybe a reserve in flight: left for later
    assert check_usages(api) == []  # an unlisted reservation breaks nothing
    api.reservation_commit(USER, ["old-crash"])  # never applied: only retired
    assert usage(api, ctx, "volumes") == (0, 1)
    api.reservation_expire(ctx)
    reservations = {r["uuid"]["S"]: from_item("reservation", r) for r in scan(api, "reservations")}
    assert reservations["old-crash"]["deleted"] is True
    assert reservations["fresh"]["deleted"] is False  # within the grace period
    assert usage(api, ctx, "volumes") == (0, 1)
    assert check_usages(api) == []


def test_an_interrupted_reserve_is_undone(api, ctx, monkeypatch):
    """A reserve whose second usage write loses a race undoes the first and starts over: no
    usage keeps an uuid of the abandoned attempt."""
    original = api._write_usage
    calls = {"n": 0}

    def racing(project_id, item, before, after, listed, now):
        calls["n"] += 1
        if calls["n"] == 2:  # a concurrent writer changes that usage first
            api.quota_usage_get(ctx, "p", after["resource"])  # (exists from the setup)
            api.client.update_item(
                "quota_usages",
                {"project_id": s("p"), "resource": s(after["resource"])},
                {"version": {"action": "ADD", "value": {"N": "1"}}},
            )
        return original(project_id, item, before, after, listed, now)

    api.reservation_commit(USER, reserve(api, {"gigabytes": 1, "volumes": 1}))
    monkeypatch.setattr(api, "_write_usage", racing)
    uuids = reserve(api, {"gigabytes": 2, "volumes": 3})
    assert usage(api, ctx, "volumes") == (1, 3)
    assert usage(api, ctx, "gigabytes") == (1, 2)
    listed = set()
    for item in scan(api, "quota_usages"):
        listed |= string_set(item, "reservations")
    assert listed == set(uuids)
    live = [r for r in scan(api, "reservations") if r["deleted"]["N"] == "0"]
    assert {r["uuid"]["S"] for r in live} == set(uuids)  # the abandoned attempt's are gone
    assert check_usages(api) == []
