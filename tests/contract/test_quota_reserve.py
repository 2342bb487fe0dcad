"""``quota_reserve`` (brief §8.2-8.3): QuotaReserveSqlAlchemyTestCase's eight algorithm tests
rewritten against the real sync functions, the per-type syncs, bad input, and concurrency.

Cinder's tests stub the sync functions and the usage rows. Here the usage rows are made through
the API (``set_usage``: reserve then commit, which moves ``in_use`` away from what really
exists), and real volumes and snapshots decide what a sync counts, so a test sees whether a
resource was recounted: its ``in_use`` becomes the real count.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from cinderdb import RequestContext, exception
from cinderdb.bulk import BulkData
from cinderdb.quota import QuotaResource, default_resources
from cinderdb.records import blank, utcnow
from tests.contract.quota_helpers import (
    RESOURCES,
    UNLIMITED,
    later,
    make_volumes,
    set_usage,
    usages,
)

PROJECT = "test_project"
QUOTAS = {"volumes": 5, "gigabytes": 10 * 1024}
DELTAS = {"volumes": 2, "gigabytes": 2 * 1024}


@pytest.fixture
def user():
    return RequestContext(user_id="test_user", project_id=PROJECT)


def reserve(api, context, deltas=DELTAS, quotas=QUOTAS, until_refresh=0, max_age=0, **kwargs):
    return api.quota_reserve(
        context, RESOURCES, quotas, deltas, later(), until_refresh, max_age, **kwargs
    )


def usage_rows(api, ctx, project=PROJECT):
    """``{resource: (in_use, reserved, until_refresh)}``."""
    return {
        name: (u["in_use"], u["reserved"], api.quota_usage_get(ctx, project, name)["until_refresh"])
        for name, u in usages(api, ctx, project).items()
    }


# --------------------------------------------------- the eight algorithm tests


def test_quota_reserve_create_usages(api, ctx, user):
    make_volumes(api, ctx, PROJECT, 3)  # a real volume of 3 GB: the sync counts it
    result = reserve(api, user)
    assert len(result) == 2
    assert len(set(result)) == 2
    assert usage_rows(api, ctx) == {
        "volumes": (1, 2, None),
        "gigabytes": (3, 2048, None),
    }


def test_quota_reserve_negative_in_use(api, ctx, user):
    set_usage(api, user, PROJECT, volumes=-1, gigabytes=-1)
    make_volumes(api, ctx, PROJECT, 1, 1)  # the real counts: 2 volumes, 2 GB
    assert usage_rows(api, ctx) == {"volumes": (-1, 0, None), "gigabytes": (-1, 0, None)}
    reserve(api, user, until_refresh=5)
    # a negative in_use is a desync: recounted, and until_refresh starts at 5
    assert usage_rows(api, ctx) == {"volumes": (2, 2, 5), "gigabytes": (2, 2048, 5)}


def test_quota_reserve_until_refresh(api, ctx, user):
    # rows made with until_refresh=1, then in_use moved to 3 by a commit
    first = api.quota_reserve(
        user, RESOURCES, UNLIMITED, {"volumes": 3, "gigabytes": 3}, later(), 1, 0
    )
    api.reservation_commit(user, first)
    assert usage_rows(api, ctx) == {"volumes": (3, 0, 1), "gigabytes": (3, 0, 1)}
    make_volumes(api, ctx, PROJECT, 1, 1)
    reserve(api, user, until_refresh=5)
    # until_refresh counted down to 0: recounted, and the countdown restarts at 5
    assert usage_rows(api, ctx) == {"volumes": (2, 2, 5), "gigabytes": (2, 2048, 5)}
    reserve(api, user, deltas={"volumes": 0}, until_refresh=5)
    assert usage_rows(api, ctx)["volumes"] == (2, 2, 4)  # counted down, not recounted


def _aged_usage(resource, in_use, seconds):
    usage = blank("quota_usage")
    stamp = utcnow() - dt.timedelta(seconds=seconds)
    usage.update(
        project_id=PROJECT,
        resource=resource,
        in_use=in_use,
        reserved=0,
        created_at=stamp,
        updated_at=stamp,
    )
    return usage


def test_quota_reserve_max_age(api, ctx, user):
    """Usage rows last updated an hour ago, ``max_age`` an hour: recounted. (The rows are
    loaded with ``bulk_load``: no API call can set an old ``updated_at``.)"""
    api.bulk_load(
        BulkData(quota_usages=[_aged_usage("volumes", 3, 3600), _aged_usage("gigabytes", 3, 3600)])
    )
    make_volumes(api, ctx, PROJECT, 1, 1)
    reserve(api, user, max_age=3600)
    assert usage_rows(api, ctx) == {"volumes": (2, 2, None), "gigabytes": (2, 2048, None)}


def test_quota_reserve_max_age_not_reached(api, ctx, user):
    """Rows younger than ``max_age`` are not recounted. (Liberty's ``.seconds`` of a negative
    timedelta would recount a 10-second-old row: quirk 11c, fixed.)"""
    api.bulk_load(
        BulkData(quota_usages=[_aged_usage("volumes", 3, 10), _aged_usage("gigabytes", 3, 10)])
    )
    make_volumes(api, ctx, PROJECT, 1, 1)
    reserve(api, user, max_age=3600)
    assert usage_rows(api, ctx) == {"volumes": (3, 2, None), "gigabytes": (3, 2048, None)}


def test_quota_reserve_no_refresh(api, ctx, user):
    set_usage(api, user, PROJECT, volumes=3, gigabytes=3)
    make_volumes(api, ctx, PROJECT, 1, 1)
    result = reserve(api, user)
    assert len(result) == 2
    assert usage_rows(api, ctx) == {"volumes": (3, 2, None), "gigabytes": (3, 2048, None)}


def test_quota_reserve_unders(api, ctx, user):
    set_usage(api, user, PROJECT, volumes=1, gigabytes=1 * 1024)
    result = reserve(api, user, deltas={"volumes": -2, "gigabytes": -2 * 1024})
    assert len(result) == 2  # going below zero is only logged
    assert usage_rows(api, ctx) == {"volumes": (1, 0, None), "gigabytes": (1024, 0, None)}
    api.reservation_commit(user, result)
    assert usage_rows(api, ctx) == {"volumes": (-1, 0, None), "gigabytes": (-1024, 0, None)}


def test_quota_reserve_overs(api, ctx, user):
    set_usage(api, user, PROJECT, volumes=4, gigabytes=10 * 1024)
    with pytest.raises(exception.OverQuota) as raised:
        reserve(api, user)
    assert raised.value.kwargs["overs"] == ["gigabytes", "volumes"]
    assert raised.value.kwargs["quotas"] == QUOTAS
    assert raised.value.kwargs["usages"] == {
        "volumes": {"in_use": 4, "reserved": 0},
        "gigabytes": {"in_use": 10 * 1024, "reserved": 0},
    }
    assert usage_rows(api, ctx) == {"volumes": (4, 0, None), "gigabytes": (10240, 0, None)}
    api.reservation_expire(ctx)  # no reservation was left behind to expire
    assert usage_rows(api, ctx) == {"volumes": (4, 0, None), "gigabytes": (10240, 0, None)}


def test_quota_reserve_reduction(api, ctx, user):
    set_usage(api, user, PROJECT, volumes=10, gigabytes=20 * 1024)
    result = reserve(api, user, deltas={"volumes": -2, "gigabytes": -2 * 1024})
    assert len(result) == 2  # a project over quota may always shrink
    assert usage_rows(api, ctx) == {"volumes": (10, 0, None), "gigabytes": (20480, 0, None)}


# ------------------------------------------------------------ more of §8.2


def test_quota_reserve_returns_uuids_in_delta_order(api, ctx, user):
    result = reserve(
        api, user, deltas={"gigabytes": 1, "volumes": 1, "snapshots": 0}, quotas=UNLIMITED
    )
    assert len(result) == 3
    for name, uuid in zip(("gigabytes", "volumes", "snapshots"), result, strict=True):
        api.reservation_commit(user, [uuid])
        assert usages(api, ctx, PROJECT)[name]["reserved"] == 0


def test_over_quota_keeps_the_refresh_and_reserves_nothing(api, ctx, user):
    """OverQuota is raised after the commit: the new, recounted usage rows persist
    (quirk 11d kept), and usages of the whole project are reported."""
    make_volumes(api, ctx, PROJECT, 4, 4)
    set_usage(api, user, PROJECT, snapshots=1)
    with pytest.raises(exception.OverQuota) as raised:
        reserve(
            api,
            user,
            deltas={"volumes": 1, "gigabytes": 1},
            quotas={"volumes": 2, "gigabytes": 100},
        )
    assert raised.value.kwargs["overs"] == ["volumes"]
    assert raised.value.kwargs["usages"] == {
        "snapshots": {"in_use": 1, "reserved": 0},
        "volumes": {"in_use": 2, "reserved": 0},
        "gigabytes": {"in_use": 8, "reserved": 0},
    }
    assert "Quota exceeded for resources: ['volumes']" in str(raised.value)
    assert usage_rows(api, ctx) == {
        "snapshots": (1, 0, None),
        "volumes": (2, 0, None),
        "gigabytes": (8, 0, None),
    }


def test_zero_delta_over_quota_and_unlimited(api, ctx, user):
    set_usage(api, user, PROJECT, volumes=6)
    with pytest.raises(exception.OverQuota):  # already over: even 0 is refused
        reserve(api, user, deltas={"volumes": 0}, quotas={"volumes": 5})
    assert len(reserve(api, user, deltas={"volumes": 100}, quotas={"volumes": -1})) == 1
    assert usage_rows(api, ctx)["volumes"] == (6, 100, None)


def test_reservations_count_against_the_limit(api, ctx, user):
    first = reserve(api, user, deltas={"volumes": 3}, quotas={"volumes": 5})
    with pytest.raises(exception.OverQuota):
        reserve(api, user, deltas={"volumes": 3}, quotas={"volumes": 5})
    api.reservation_rollback(user, first)
    assert len(reserve(api, user, deltas={"volumes": 3}, quotas={"volumes": 5})) == 1


# ------------------------------------------------------------ sync functions


def test_sync_functions_count_live_rows_of_the_project(api, ctx, user):
    live_a, _, gone = make_volumes(api, ctx, PROJECT, 1, 2, 40)
    make_volumes(api, ctx, "other_project", 100)
    api.volume_destroy(ctx, gone["id"])
    for size in (5, 7):
        api.snapshot_create(
            ctx, {"volume_id": live_a["id"], "project_id": PROJECT, "volume_size": size}
        )
    dropped = api.snapshot_create(
        ctx, {"volume_id": live_a["id"], "project_id": PROJECT, "volume_size": 50}
    )
    api.snapshot_destroy(ctx, dropped["id"])
    for _ in range(2):
        api.consistencygroup_create(ctx, {"project_id": PROJECT, "user_id": "u"})
    deltas = dict.fromkeys(("volumes", "gigabytes", "snapshots", "consistencygroups"), 0)
    reserve(api, user, deltas=deltas, quotas=UNLIMITED)
    assert usages(api, ctx, PROJECT) == {
        "volumes": {"in_use": 2, "reserved": 0},
        "gigabytes": {"in_use": 1 + 2 + 5 + 7, "reserved": 0},  # volumes + snapshots
        "snapshots": {"in_use": 2, "reserved": 0},
        "consistencygroups": {"in_use": 2, "reserved": 0},
    }


def test_per_type_syncs_match_snapshots_by_their_volumes_type(api, ctx, user):
    gold = api.volume_type_create(ctx, {"name": "gold"})
    silver = api.volume_type_create(ctx, {"name": "silver"})
    (gold_volume,) = make_volumes(api, ctx, PROJECT, 10, volume_type_id=gold["id"])
    (silver_volume,) = make_volumes(api, ctx, PROJECT, 20, volume_type_id=silver["id"])
    make_volumes(api, ctx, PROJECT, 30)  # untyped
    # a snapshot whose own volume_type_id disagrees with its volume's: the volume's counts
    api.snapshot_create(
        ctx,
        {
            "volume_id": gold_volume["id"],
            "project_id": PROJECT,
            "volume_size": 3,
            "volume_type_id": silver["id"],
        },
    )
    api.snapshot_create(
        ctx, {"volume_id": silver_volume["id"], "project_id": PROJECT, "volume_size": 4}
    )
    resources = default_resources([gold, silver])
    deltas = {
        f"{base}_{name}": 0
        for base in ("volumes", "gigabytes", "snapshots")
        for name in ("gold", "silver")
    }
    deltas["gigabytes"] = 0
    api.quota_reserve(user, resources, dict.fromkeys(deltas, -1), deltas, later(), 0, 0)
    in_use = {name: u["in_use"] for name, u in usages(api, ctx, PROJECT).items()}
    assert in_use == {
        "volumes_gold": 1,
        "volumes_silver": 1,
        "gigabytes_gold": 10 + 3,
        "gigabytes_silver": 20 + 4,
        "snapshots_gold": 1,
        "snapshots_silver": 1,
        "gigabytes": 10 + 20 + 30 + 3 + 4,
    }


def test_a_resource_without_sync_cannot_be_reserved(api, ctx, user):
    with pytest.raises(exception.QuotaResourceUnknown):
        reserve(api, user, deltas={"per_volume_gigabytes": 1}, quotas=UNLIMITED)
    odd = {"volumes": QuotaResource("volumes", "_sync_backups")}
    with pytest.raises(exception.QuotaResourceUnknown):
        api.quota_reserve(user, odd, {"volumes": 1}, {"volumes": 1}, later(), 0, 0)
    assert usages(api, ctx, PROJECT) == {}


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"deltas": {"volumes": "1"}}, exception.InvalidInput),
        ({"deltas": {"volumes": 1.5}}, exception.InvalidInput),
        ({"deltas": {"bogus": 1}}, exception.QuotaResourceUnknown),
        ({"deltas": {"volumes": 1}, "quotas": {}}, exception.InvalidInput),
        ({"quotas": {"volumes": "5", "gigabytes": 1}}, exception.InvalidInput),
        ({"deltas": ["volumes"]}, exception.InvalidInput),
        ({"resources": ["volumes", "gigabytes"]}, exception.InvalidInput),
        ({"expire": 86400}, exception.InvalidReservationExpiration),
        ({"until_refresh": dt.datetime(2015, 1, 1)}, exception.InvalidInput),  # Cinder's helper
        ({"max_age": dt.timedelta(days=1)}, exception.InvalidInput),
        ({"project_id": "p" * 256}, exception.InvalidInput),
    ],
)
def test_quota_reserve_bad_input_stores_nothing(api, ctx, user, arguments, error):
    set_usage(api, user, PROJECT, volumes=1)
    before = usage_rows(api, ctx)
    call = {
        "resources": RESOURCES,
        "quotas": QUOTAS,
        "deltas": DELTAS,
        "expire": later(),
        "until_refresh": 0,
        "max_age": 0,
        **arguments,
    }
    with pytest.raises(error):
        api.quota_reserve(user, **call)
    assert usage_rows(api, ctx) == before


def test_quota_reserve_needs_a_project(api, ctx):
    with pytest.raises(exception.InvalidInput):  # an admin context has no project of its own
        api.quota_reserve(ctx, RESOURCES, QUOTAS, DELTAS, later(), 0, 0)
    with pytest.raises(exception.NotAuthorized):
        api.quota_reserve(RequestContext(), RESOURCES, QUOTAS, DELTAS, later(), 0, 0, "p")
    assert usages(api, ctx, "p") == {}


def test_a_user_reserves_for_their_project_by_default(api, ctx, user):
    reserve(api, user, deltas={"volumes": 1}, quotas=UNLIMITED)
    reserve(api, ctx, deltas={"volumes": 2}, quotas=UNLIMITED, project_id="elsewhere")
    assert usages(api, ctx, PROJECT) == {"volumes": {"in_use": 0, "reserved": 1}}
    assert usages(api, ctx, "elsewhere") == {"volumes": {"in_use": 0, "reserved": 2}}


# -------------------------------------------------------------- concurrency


def test_concurrent_reservations_never_overcommit(api, ctx, user):
    """Twelve threads reserve and commit one volume each against a limit of 3, starting with
    no usage rows at all (so the rows' first creation races too)."""
    limit, workers = 3, 12
    start = threading.Barrier(workers)
    outcomes: list[str] = []

    def worker() -> None:
        start.wait()
        try:
            reservations = reserve(api, user, deltas={"volumes": 1}, quotas={"volumes": limit})
        except exception.OverQuota:
            outcomes.append("over")
            return
        try:
            api.reservation_commit(user, reservations)
            outcomes.append("committed")
        except Exception as error:  # pragma: no cover - reported by the assertion below
            outcomes.append(repr(error))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["committed"] * limit + ["over"] * (workers - limit)
    assert usages(api, ctx, PROJECT) == {"volumes": {"in_use": limit, "reserved": 0}}


def test_concurrent_reserve_and_rollback_leave_nothing_reserved(api, ctx, user):
    set_usage(api, user, PROJECT, volumes=0)
    start = threading.Barrier(8)
    errors: list[str] = []

    def worker(n: int) -> None:
        start.wait()
        try:
            for _ in range(3):
                reservations = reserve(api, user, deltas={"volumes": 1}, quotas=UNLIMITED)
                settle = api.reservation_commit if n % 2 else api.reservation_rollback
                settle(user, reservations)
        except Exception as error:  # pragma: no cover - reported by the assertion below
            errors.append(repr(error))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert usages(api, ctx, PROJECT) == {"volumes": {"in_use": 12, "reserved": 0}}


# ------------------------------------------- Cinder's own resource objects (issue 13 item 1)


class ReservableResource:
    """Cinder's ``cinder.quota.ReservableResource``: a name and a sync function name, no
    per-type attributes at all (Liberty reads them with ``getattr(res, ..., None)``)."""

    def __init__(self, name, sync, flag=None):
        self.name = name
        self.flag = flag
        self.parent_project_id = None
        if sync:
            self.sync = sync


class VolumeTypeResource(ReservableResource):
    """Cinder's per-type resource: adds ``volume_type_id`` and ``volume_type_name``."""

    def __init__(self, part_name, volume_type):
        self.volume_type_name = volume_type["name"]
        self.volume_type_id = volume_type["id"]
        super().__init__(f"{part_name}_{volume_type['name']}", f"_sync_{part_name}")


def test_quota_reserve_takes_cinders_resource_objects(api, ctx, user):
    gold = api.volume_type_create(ctx, {"name": "gold"})
    make_volumes(api, ctx, PROJECT, 3)
    make_volumes(api, ctx, PROJECT, 4, volume_type_id=gold["id"])
    resources = {
        "volumes": ReservableResource("volumes", "_sync_volumes", "quota_volumes"),
        "gigabytes": ReservableResource("gigabytes", "_sync_gigabytes", "quota_gigabytes"),
        "volumes_gold": VolumeTypeResource("volumes", gold),
        "per_volume_gigabytes": ReservableResource("per_volume_gigabytes", None),
    }
    deltas = {"volumes": 1, "gigabytes": 2, "volumes_gold": 1}
    quotas = {"volumes": 10, "gigabytes": 100, "volumes_gold": 5}
    result = api.quota_reserve(user, resources, quotas, deltas, later(), 0, 0)
    assert len(result) == 3
    assert usages(api, ctx, PROJECT) == {
        "volumes": {"in_use": 2, "reserved": 1},
        "gigabytes": {"in_use": 7, "reserved": 2},
        "volumes_gold": {"in_use": 1, "reserved": 1},
    }
    with pytest.raises(exception.QuotaResourceUnknown):
        api.quota_reserve(
            user, resources, {"per_volume_gigabytes": 5}, {"per_volume_gigabytes": 1}, later(), 0, 0
        )
