"""Quota limits, classes, usages and reservations (DBAPIQuotaTestCase, DBAPIQuotaClassTestCase and
DBAPIReservationTestCase rewritten, brief §8.1-8.2, plus authorization and bad input)."""

from __future__ import annotations

import pytest

from cinderdb import RequestContext, exception
from cinderdb.quota import DEFAULT_QUOTA_CLASS_LIMITS
from cinderdb.records import column_names
from tests.contract.quota_helpers import RESOURCES, UNLIMITED, later, quota_reserve, usages

# ----------------------------------------------------------- project limits


def test_quota_create(api, ctx):
    quota = api.quota_create(ctx, "project1", "resource", 99)
    assert set(quota) == set(column_names("quota"))
    assert (quota["resource"], quota["hard_limit"], quota["project_id"]) == (
        "resource",
        99,
        "project1",
    )


def test_quota_get(api, ctx):
    quota = api.quota_create(ctx, "project1", "resource", 99)
    assert api.quota_get(ctx, "project1", "resource") == quota


def test_quota_get_all_by_project(api, ctx):
    for i in range(3):
        for j in range(3):
            api.quota_create(ctx, f"proj{i}", f"res{j}", j)
    for i in range(3):
        assert api.quota_get_all_by_project(ctx, f"proj{i}") == {
            "project_id": f"proj{i}",
            "res0": 0,
            "res1": 1,
            "res2": 2,
        }


def test_quota_update(api, ctx):
    api.quota_create(ctx, "project1", "resource1", 41)
    updated = api.quota_update(ctx, "project1", "resource1", 42)
    quota = api.quota_get(ctx, "project1", "resource1")
    assert quota == updated
    assert (quota["hard_limit"], quota["resource"], quota["project_id"]) == (
        42,
        "resource1",
        "project1",
    )
    assert quota["updated_at"] is not None


def test_quota_update_nonexistent(api, ctx):
    with pytest.raises(exception.ProjectQuotaNotFound) as raised:
        api.quota_update(ctx, "project1", "resource1", 42)
    assert raised.value.kwargs["project_id"] == "project1"


def test_quota_get_nonexistent(api, ctx):
    with pytest.raises(exception.ProjectQuotaNotFound):
        api.quota_get(ctx, "project1", "resource1")


def test_quota_reserve(api, ctx):
    reservations = quota_reserve(api, ctx, "project1")
    assert len(reservations) == 2
    assert api.quota_usage_get_all_by_project(ctx, "project1") == {
        "project_id": "project1",
        "gigabytes": {"reserved": 2, "in_use": 0},
        "volumes": {"reserved": 1, "in_use": 0},
    }


def test_quota_destroy(api, ctx):
    api.quota_create(ctx, "project1", "resource1", 41)
    api.quota_create(ctx, "project1", "resource2", 42)
    assert api.quota_destroy(ctx, "project1", "resource1") is None
    with pytest.raises(exception.ProjectQuotaNotFound):
        api.quota_get(ctx, "project1", "resource1")
    with pytest.raises(exception.ProjectQuotaNotFound):
        api.quota_destroy(ctx, "project1", "resource1")
    assert api.quota_get_all_by_project(ctx, "project1") == {
        "project_id": "project1",
        "resource2": 42,
    }
    api.quota_create(ctx, "project1", "resource1", 7)  # a destroyed limit can be created again
    assert api.quota_get(ctx, "project1", "resource1")["hard_limit"] == 7


def test_quota_destroy_by_project(api, ctx):
    """``quota_destroy_by_project`` is ``quota_destroy_all_by_project(only_quotas=True)``."""
    project = "project1"
    quota_reserve(api, ctx, project)
    expected_usage = {
        "project_id": project,
        "volumes": {"reserved": 1, "in_use": 0},
        "gigabytes": {"reserved": 2, "in_use": 0},
    }
    assert api.quota_get_all_by_project(ctx, project) == {
        "project_id": project,
        "gigabytes": 2,
        "volumes": 1,
    }
    assert api.quota_usage_get_all_by_project(ctx, project) == expected_usage
    api.quota_destroy_all_by_project(ctx, project, only_quotas=True)
    assert api.quota_get_all_by_project(ctx, project) == {"project_id": project}
    assert api.quota_usage_get_all_by_project(ctx, project) == expected_usage


def test_quota_destroy_all_by_project(api, ctx):
    project = "project1"
    reservations = quota_reserve(api, ctx, project)
    quota_reserve(api, ctx, "project2")
    api.quota_destroy_all_by_project(ctx, project)
    assert api.quota_get_all_by_project(ctx, project) == {"project_id": project}
    assert api.quota_usage_get_all_by_project(ctx, project) == {"project_id": project}
    # the reservations went too: committing them now changes nothing
    api.reservation_commit(ctx, reservations, project)
    assert api.quota_usage_get_all_by_project(ctx, project) == {"project_id": project}
    assert usages(api, ctx, "project2") == {
        "volumes": {"reserved": 1, "in_use": 0},
        "gigabytes": {"reserved": 2, "in_use": 0},
    }


def test_quota_create_duplicate_changes_nothing(api, ctx):
    """Liberty adds a second live row (quirk 11a); here it is refused."""
    first = api.quota_create(ctx, "p", "volumes", 5)
    with pytest.raises(exception.DBDuplicateEntry):
        api.quota_create(ctx, "p", "volumes", 9)
    assert api.quota_get(ctx, "p", "volumes") == first
    assert api.quota_get_all_by_project(ctx, "p") == {"project_id": "p", "volumes": 5}


@pytest.mark.parametrize(
    ("project", "resource", "limit"),
    [("p", "volumes", "ten"), ("p", "volumes", 2.5), ("p", None, 1), ("p" * 256, "volumes", 1)],
)
def test_quota_create_bad_input(api, ctx, project, resource, limit):
    api.quota_create(ctx, "p", "gigabytes", 100)
    with pytest.raises(exception.InvalidInput):
        api.quota_create(ctx, project, resource, limit)
    with pytest.raises(exception.InvalidInput):
        api.quota_update(ctx, "p", "gigabytes", "lots")
    assert api.quota_get_all_by_project(ctx, "p") == {"project_id": "p", "gigabytes": 100}


def test_quota_limit_authorization(api, ctx, user_ctx):
    api.quota_create(ctx, "other_project", "volumes", 3)
    api.quota_create(ctx, "fake_project", "volumes", 4)
    # quota_get is not project-scoped (Liberty, quirk 8 kept)
    assert api.quota_get(user_ctx, "other_project", "volumes")["hard_limit"] == 3
    assert api.quota_get_all_by_project(user_ctx, "fake_project")["volumes"] == 4
    with pytest.raises(exception.NotAuthorized):
        api.quota_get_all_by_project(user_ctx, "other_project")
    for admin_only in (
        lambda: api.quota_create(user_ctx, "fake_project", "gigabytes", 1),
        lambda: api.quota_update(user_ctx, "fake_project", "volumes", 100),
        lambda: api.quota_destroy(user_ctx, "fake_project", "volumes"),
        lambda: api.quota_destroy_all_by_project(user_ctx, "fake_project"),
    ):
        with pytest.raises(exception.AdminRequired):
            admin_only()
    assert api.quota_get_all_by_project(ctx, "fake_project") == {
        "project_id": "fake_project",
        "volumes": 4,
    }


# ----------------------------------------------------------------- usages


def test_quota_usage_get_nonexistent(api, ctx):
    with pytest.raises(exception.QuotaUsageNotFound) as raised:
        api.quota_usage_get(ctx, "p1", "nonexitent_resource")
    assert raised.value.kwargs["project_id"] == "p1"


def test_quota_usage_get(api, ctx):
    quota_reserve(api, ctx, "p1")
    usage = api.quota_usage_get(ctx, "p1", "gigabytes")
    assert set(usage) == set(column_names("quota_usage")) | {"total"}
    expected = {"resource": "gigabytes", "project_id": "p1", "in_use": 0, "reserved": 2}
    assert {key: usage[key] for key in expected} == expected
    assert usage["total"] == 2


def test_quota_usage_get_all_by_project(api, ctx):
    quota_reserve(api, ctx, "p1")
    assert api.quota_usage_get_all_by_project(ctx, "p1") == {
        "project_id": "p1",
        "volumes": {"in_use": 0, "reserved": 1},
        "gigabytes": {"in_use": 0, "reserved": 2},
    }


def test_quota_usage_authorization(api, ctx, user_ctx):
    quota_reserve(api, ctx, "other_project")
    # quota_usage_get is not project-scoped (quirk 8 kept)
    assert api.quota_usage_get(user_ctx, "other_project", "volumes")["reserved"] == 1
    with pytest.raises(exception.NotAuthorized):
        api.quota_usage_get_all_by_project(user_ctx, "other_project")
    assert api.quota_usage_get_all_by_project(user_ctx, "fake_project") == {
        "project_id": "fake_project"
    }


# ----------------------------------------------------------------- classes


@pytest.fixture
def sample_qc(api, ctx):
    return api.quota_class_create(ctx, "test_qc", "test_resource", 42)


def test_quota_class_get(api, ctx, sample_qc):
    assert set(sample_qc) == set(column_names("quota_class"))
    assert api.quota_class_get(ctx, "test_qc", "test_resource") == sample_qc


def test_quota_class_destroy(api, ctx, sample_qc):
    assert api.quota_class_destroy(ctx, "test_qc", "test_resource") is None
    with pytest.raises(exception.QuotaClassNotFound):
        api.quota_class_get(ctx, "test_qc", "test_resource")
    with pytest.raises(exception.QuotaClassNotFound):
        api.quota_class_destroy(ctx, "test_qc", "test_resource")


def test_quota_class_get_not_found(api, ctx, sample_qc):
    with pytest.raises(exception.QuotaClassNotFound) as raised:
        api.quota_class_get(ctx, "nonexistent", "nonexistent")
    assert raised.value.kwargs["class_name"] == "nonexistent"


def test_quota_class_get_all_by_name(api, ctx, sample_qc):
    api.quota_class_create(ctx, "test2", "res1", 43)
    api.quota_class_create(ctx, "test2", "res2", 44)
    assert api.quota_class_get_all_by_name(ctx, "test_qc") == {
        "class_name": "test_qc",
        "test_resource": 42,
    }
    assert api.quota_class_get_all_by_name(ctx, "test2") == {
        "class_name": "test2",
        "res1": 43,
        "res2": 44,
    }


def test_quota_class_update(api, ctx, sample_qc):
    updated = api.quota_class_update(ctx, "test_qc", "test_resource", 43)
    assert api.quota_class_get(ctx, "test_qc", "test_resource") == updated
    assert updated["hard_limit"] == 43
    with pytest.raises(exception.QuotaClassNotFound):
        api.quota_class_update(ctx, "test_qc", "other_resource", 1)


def test_quota_class_destroy_all_by_name(api, ctx, sample_qc):
    api.quota_class_create(ctx, "test2", "res1", 43)
    api.quota_class_create(ctx, "test2", "res2", 44)
    api.quota_class_destroy_all_by_name(ctx, "test2")
    assert api.quota_class_get_all_by_name(ctx, "test2") == {"class_name": "test2"}
    assert api.quota_class_get_all_by_name(ctx, "test_qc")["test_resource"] == 42
    api.quota_class_destroy_all_by_name(ctx, "never_existed")


def test_quota_class_get_default_is_seeded(api, ctx):
    assert api.quota_class_get_default(ctx) == {
        "class_name": "default",
        **DEFAULT_QUOTA_CLASS_LIMITS,
    }
    # no decorator at all: even a context without user or project may read it
    assert api.quota_class_get_default(RequestContext())["volumes"] == 10
    api.quota_class_update(ctx, "default", "volumes", 20)
    assert api.quota_class_get_default(ctx)["volumes"] == 20


def test_quota_class_create_duplicate_changes_nothing(api, ctx, sample_qc):
    with pytest.raises(exception.DBDuplicateEntry):
        api.quota_class_create(ctx, "test_qc", "test_resource", 1)
    assert api.quota_class_get(ctx, "test_qc", "test_resource") == sample_qc


@pytest.mark.parametrize("limit", ["many", 1.5, [1]])
def test_quota_class_bad_limit(api, ctx, sample_qc, limit):
    with pytest.raises(exception.InvalidInput):
        api.quota_class_create(ctx, "c", "r", limit)
    with pytest.raises(exception.InvalidInput):
        api.quota_class_update(ctx, "test_qc", "test_resource", limit)
    assert api.quota_class_get_all_by_name(ctx, "c") == {"class_name": "c"}
    assert api.quota_class_get(ctx, "test_qc", "test_resource") == sample_qc


def test_quota_class_authorization(api, ctx, sample_qc):
    in_class = RequestContext(user_id="u", project_id="p", quota_class="test_qc")
    no_class = RequestContext(user_id="u", project_id="p")
    assert api.quota_class_get_all_by_name(in_class, "test_qc")["test_resource"] == 42
    with pytest.raises(exception.NotAuthorized):
        api.quota_class_get_all_by_name(in_class, "default")
    with pytest.raises(exception.NotAuthorized):  # a user with no class may name none
        api.quota_class_get_all_by_name(no_class, "test_qc")
    assert api.quota_class_get(no_class, "test_qc", "test_resource") == sample_qc
    for admin_only in (
        lambda: api.quota_class_create(in_class, "test_qc", "r2", 1),
        lambda: api.quota_class_update(in_class, "test_qc", "test_resource", 1),
        lambda: api.quota_class_destroy(in_class, "test_qc", "test_resource"),
        lambda: api.quota_class_destroy_all_by_name(in_class, "test_qc"),
    ):
        with pytest.raises(exception.AdminRequired):
            admin_only()
    assert api.quota_class_get_all_by_name(ctx, "test_qc") == {
        "class_name": "test_qc",
        "test_resource": 42,
    }


# ------------------------------------------------------------ reservations


def test_reservation_commit(api, ctx):
    reservations = quota_reserve(api, ctx, "project1")
    assert usages(api, ctx, "project1") == {
        "volumes": {"reserved": 1, "in_use": 0},
        "gigabytes": {"reserved": 2, "in_use": 0},
    }
    assert api.reservation_commit(ctx, reservations, "project1") is None
    assert usages(api, ctx, "project1") == {
        "volumes": {"reserved": 0, "in_use": 1},
        "gigabytes": {"reserved": 0, "in_use": 2},
    }
    api.reservation_commit(ctx, reservations, "project1")  # settled ones are ignored
    api.reservation_commit(ctx, ["unknown-uuid"], "project1")
    assert usages(api, ctx, "project1")["volumes"] == {"reserved": 0, "in_use": 1}


def test_reservation_rollback(api, ctx):
    reservations = quota_reserve(api, ctx, "project1")
    assert api.reservation_rollback(ctx, reservations, "project1") is None
    assert usages(api, ctx, "project1") == {
        "volumes": {"reserved": 0, "in_use": 0},
        "gigabytes": {"reserved": 0, "in_use": 0},
    }
    api.reservation_rollback(ctx, reservations, "project1")
    api.reservation_commit(ctx, reservations, "project1")  # rolled back: nothing to commit
    assert usages(api, ctx, "project1")["gigabytes"] == {"reserved": 0, "in_use": 0}


def test_reservation_expire(api, ctx):
    quota_reserve(api, ctx, "project1")  # expires now
    assert api.reservation_expire(ctx) is None
    assert usages(api, ctx, "project1") == {
        "gigabytes": {"reserved": 0, "in_use": 0},
        "volumes": {"reserved": 0, "in_use": 0},
    }


def test_reservation_expire_leaves_unexpired_and_negative(api, ctx):
    api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": 5}, later(), None, None, "p")
    api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": -1}, later(-1), None, None, "p")
    api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"volumes": 3}, later(-1), None, None, "p")
    api.reservation_expire(ctx)
    assert usages(api, ctx, "p") == {"volumes": {"in_use": 0, "reserved": 5}}
    with pytest.raises(exception.AdminRequired):
        api.reservation_expire(RequestContext(user_id="u", project_id="p"))


def test_reservation_commit_and_rollback_of_negative_deltas(api, ctx):
    grow = api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"gigabytes": 10}, later(), 0, 0, "p")
    api.reservation_commit(ctx, grow, "p")
    shrink = api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"gigabytes": -4}, later(), 0, 0, "p")
    assert usages(api, ctx, "p") == {"gigabytes": {"in_use": 10, "reserved": 0}}
    api.reservation_rollback(ctx, shrink, "p")
    assert usages(api, ctx, "p") == {"gigabytes": {"in_use": 10, "reserved": 0}}
    shrink = api.quota_reserve(ctx, RESOURCES, UNLIMITED, {"gigabytes": -4}, later(), 0, 0, "p")
    api.reservation_commit(ctx, shrink, "p")
    assert usages(api, ctx, "p") == {"gigabytes": {"in_use": 6, "reserved": 0}}


def test_reservation_commit_defaults_to_the_context_project(api, ctx, user_ctx):
    """Liberty raises KeyError without a project id (quirk 11b); the context's project is used."""
    reservations = api.quota_reserve(
        user_ctx, RESOURCES, UNLIMITED, {"volumes": 2, "snapshots": 1}, later(), None, None
    )
    api.reservation_commit(user_ctx, reservations[:1])
    api.reservation_rollback(user_ctx, reservations[1:])
    assert usages(api, ctx, "fake_project") == {
        "volumes": {"in_use": 2, "reserved": 0},
        "snapshots": {"in_use": 0, "reserved": 0},
    }


def test_reservations_of_another_project_are_not_settled(api, ctx, user_ctx):
    theirs = api.quota_reserve(
        ctx, RESOURCES, UNLIMITED, {"volumes": 2}, later(), None, None, "other_project"
    )
    api.quota_reserve(user_ctx, RESOURCES, UNLIMITED, {"volumes": 1}, later(), None, None)
    api.reservation_commit(user_ctx, theirs)
    api.reservation_rollback(user_ctx, theirs)
    assert usages(api, ctx, "fake_project") == {"volumes": {"in_use": 0, "reserved": 1}}
    assert usages(api, ctx, "other_project") == {"volumes": {"in_use": 0, "reserved": 2}}


@pytest.mark.parametrize("reservations", ["a-uuid", None, [1, 2]])
def test_reservation_settle_bad_input(api, ctx, reservations):
    real = quota_reserve(api, ctx, "p")
    for settle in (api.reservation_commit, api.reservation_rollback):
        with pytest.raises(exception.InvalidInput):
            settle(ctx, reservations, "p")
    with pytest.raises(exception.InvalidInput):  # no project at all: the admin context has none
        api.reservation_commit(ctx, real)
    assert usages(api, ctx, "p") == {
        "volumes": {"in_use": 0, "reserved": 1},
        "gigabytes": {"in_use": 0, "reserved": 2},
    }
