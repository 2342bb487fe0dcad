"""quota_reserve, commit and rollback racing in threads and in processes on one project: a tight
quota is never over-committed, no usage update is lost, and the usage invariant holds after.

The processes run against one LMDB server with 2 worker processes (the session's
``magnetodb_server_url``), so requests really interleave across server processes too.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
import uuid

import pytest

from cinderdb import RequestContext, exception, get_admin_context, open_backend
from cinderdb.quota import default_resources
from cinderdb.records import utcnow
from tests.magneto.support_types_quotas import check_usages, provisioned

RESOURCES = default_resources()
#: volumes are limited; gigabytes unlimited but reserved too, so every reserve writes two usages.
DELTAS = {"volumes": 1, "gigabytes": 2}


def _later() -> dt.datetime:
    return utcnow() + dt.timedelta(hours=1)


def _reserve_rounds(url: str, project: str, limit: int, rounds: int, start: float) -> list[str]:
    """One client (thread or process): ``rounds`` reserve+settle cycles; odd rounds of a
    negative limit roll back instead of committing. Returns the outcomes."""
    api = open_backend(url)
    user = RequestContext(user_id="u", project_id=project)
    quotas = {"volumes": abs(limit), "gigabytes": -1}
    outcomes = []
    try:
        time.sleep(max(0.0, start - time.time()))
        for n in range(rounds):
            try:
                reservations = api.quota_reserve(
                    user, RESOURCES, quotas, DELTAS, _later(), None, None
                )
            except exception.OverQuota:
                outcomes.append("over")
                continue
            if limit < 0 and n % 2:
                api.reservation_rollback(user, reservations)
                outcomes.append("rolled back")
            else:
                api.reservation_commit(user, reservations)
                outcomes.append("committed")
    finally:
        api.close()
    return outcomes


def _usage(api, project):
    usages = api.quota_usage_get_all_by_project(get_admin_context(), project)
    return {k: v for k, v in usages.items() if k != "project_id"}


@pytest.fixture
def server_project(magnetodb_server_url):
    """A fresh project (its own tables) on the session's LMDB server, and its URL."""
    project = "q" + uuid.uuid4().hex[:12]
    url = f"magnetodb://{magnetodb_server_url.removeprefix('http://')}/{project}"
    api = open_backend(url)
    api.create_schema()
    try:
        yield api, url, project
    finally:
        api.drop_schema()
        api.close()


def test_processes_never_overcommit_a_tight_quota(server_project):
    api, url, project = server_project
    limit, workers = 3, 8
    start = time.time() + 2.0  # every process begins at once, whatever its start-up time
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.starmap(_reserve_rounds, [(url, project, limit, 1, start)] * workers)
    outcomes = sorted(o for result in results for o in result)
    assert outcomes == ["committed"] * limit + ["over"] * (workers - limit)
    assert _usage(api, project) == {
        "volumes": {"in_use": limit, "reserved": 0},
        "gigabytes": {"in_use": 2 * limit, "reserved": 0},
    }
    assert check_usages(api) == []


def test_processes_lose_no_usage_update(server_project):
    """Unlimited volumes, every process commits or rolls back several reservations: in_use
    ends at exactly the number of commits, nothing stays reserved."""
    api, url, project = server_project
    workers, rounds = 6, 5
    start = time.time() + 2.0
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.starmap(_reserve_rounds, [(url, project, -1000, rounds, start)] * workers)
    committed = sum(o == "committed" for result in results for o in result)
    assert committed == workers * ((rounds + 1) // 2)
    assert _usage(api, project) == {
        "volumes": {"in_use": committed, "reserved": 0},
        "gigabytes": {"in_use": 2 * committed, "reserved": 0},
    }
    assert check_usages(api) == []


@pytest.mark.parametrize("backend", ["magnetodb+inproc", "magnetodb"])
def test_threads_reserve_commit_and_expire_keep_the_invariant(request, backend):
    """Threads reserve and commit while another expires reservations that are born expired:
    each reservation is settled exactly once (by its commit or by the expiry)."""
    with provisioned(request, backend) as api:
        project = "threads"
        user = RequestContext(user_id="u", project_id=project)
        admin = get_admin_context()
        stop = threading.Event()
        errors: list[str] = []

        def reserver() -> None:
            try:
                for _ in range(10):
                    expire = utcnow()  # expired at once: the expirer may take it first
                    r = api.quota_reserve(
                        user,
                        RESOURCES,
                        {"volumes": -1, "gigabytes": -1},
                        DELTAS,
                        expire,
                        None,
                        None,
                    )
                    api.reservation_commit(user, r)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(repr(error))

        def expirer() -> None:
            while not stop.is_set():
                api.reservation_expire(admin)

        threads = [threading.Thread(target=reserver) for _ in range(4)]
        cleaner = threading.Thread(target=expirer)
        cleaner.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        cleaner.join()
        assert errors == []
        usage = _usage(api, project)
        assert usage["volumes"]["reserved"] == 0
        assert usage["gigabytes"]["reserved"] == 0
        assert 0 <= usage["volumes"]["in_use"] <= 40
        assert check_usages(api) == []
