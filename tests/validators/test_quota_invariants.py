"""Quota invariants: over-commit and usage drift are found on both backends; clean runs are clean.

Faults are planted the two ways the brief names: direct writes behind the API
(SQL statements, MagnetoDB client requests), and, on MagnetoDB, conditional
updates turned off under concurrent reserves (a transport that drops the
``expected`` of usage writes: the lost update the design's versions prevent).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa

from bench.drive.runner import Run, run_workload
from bench.drive.spec import RunSpec
from bench.workload.datasets import build_dataset, load_dataset
from bench.workload.mixes import resolve_mix
from cinderdb import RequestContext, get_admin_context, open_backend
from cinderdb.magneto.items import n, s, ss
from cinderdb.quota import default_resources
from cinderdb.records import utcnow
from tests.validators.replay_support import SMALL
from validators.findings import OVER_QUOTA, USAGE_MISMATCH
from validators.quota import check_quotas

BACKENDS = ("sqlite", "magnetodb")
ADMIN = get_admin_context()


@pytest.fixture
def loaded(request, tmp_path) -> Iterator[tuple[str, object, object]]:
    """(kind, backend, dataset) with SMALL loaded."""
    kind = request.param
    url = f"sqlite:///{tmp_path / 'q.sqlite'}" if kind == "sqlite" else "magnetodb+inproc:///q"
    dataset = build_dataset(SMALL)
    backend = open_backend(url)
    load_dataset(backend, dataset.data, quiet=True)
    try:
        yield kind, backend, dataset
    finally:
        backend.close()


def write_usage(kind: str, backend, project: str, resource: str, **values: int) -> None:
    """Change a usage row behind the API."""
    if kind == "sqlite":
        columns = ", ".join(f"{name} = :{name}" for name in values)
        with backend.engine.begin() as connection:
            connection.execute(
                sa.text(
                    f"UPDATE quota_usages SET {columns} "
                    "WHERE project_id = :p AND resource = :r AND deleted = 0"
                ),
                {**values, "p": project, "r": resource},
            )
    else:
        updates = {name: {"action": "PUT", "value": n(v)} for name, v in values.items()}
        backend.client.update_item(
            "quota_usages", {"project_id": s(project), "resource": s(resource)}, updates
        )


def busiest(backend, dataset) -> tuple[str, int, int]:
    """(project, its volumes limit, its volumes in use) of the project with most volumes."""
    project = max(
        {v["project_id"] for v in dataset.data.volumes},
        key=lambda p: sum(v["project_id"] == p for v in dataset.data.volumes),
    )
    limit = backend.quota_get_all_by_project(ADMIN, project)["volumes"]
    in_use = backend.quota_usage_get_all_by_project(ADMIN, project)["volumes"]["in_use"]
    return project, limit, in_use


@pytest.mark.parametrize("loaded", BACKENDS, indirect=True)
def test_the_loaded_dataset_holds_every_invariant(loaded):
    _, backend, _ = loaded
    result = check_quotas(backend)
    assert result.findings == []
    assert result.usages > 20
    assert {c.name.rsplit(":", 1)[1] for c in result.checks} >= {"in_use", "reserved", "limit"}


@pytest.mark.parametrize("loaded", BACKENDS, indirect=True)
def test_a_committed_over_commit_is_over_quota_and_a_usage_mismatch(loaded):
    kind, backend, dataset = loaded
    project, limit, in_use = busiest(backend, dataset)
    write_usage(kind, backend, project, "volumes", in_use=limit + 2)
    result = check_quotas(backend, "planted")
    found = {(f.cls, f.field): f for f in result.findings}
    assert set(found) == {(USAGE_MISMATCH, "in_use"), (OVER_QUOTA, "in_use")}
    mismatch, over = found[(USAGE_MISMATCH, "in_use")], found[(OVER_QUOTA, "in_use")]
    key = {"project_id": project, "resource": "volumes"}
    assert mismatch.key == key
    assert over.key == key
    assert (mismatch.expected, mismatch.actual) == (in_use, limit + 2)
    assert (over.expected, over.actual) == (limit, limit + 2)
    assert mismatch.check == "quota:planted"
    rows = {c.name: c for c in result.checks}
    assert rows["quota:planted:limit"].over_quota == 1
    assert rows["quota:planted:in_use"].usage_mismatch == 1


@pytest.mark.parametrize("loaded", BACKENDS, indirect=True)
def test_reserved_must_equal_the_live_reservations(loaded):
    kind, backend, dataset = loaded
    project = dataset.data.volumes[0]["project_id"]
    user = RequestContext(user_id="u", project_id=project)
    expire = utcnow() + dt.timedelta(hours=1)
    limits = dict.fromkeys(default_resources(), -1)
    backend.quota_reserve(
        user, default_resources(), limits, {"snapshots": 2, "gigabytes": -1}, expire, 0, 0
    )
    assert check_quotas(backend).findings == []  # reserved 2 = the live reservation
    write_usage(kind, backend, project, "snapshots", reserved=0)
    findings = check_quotas(backend).findings
    assert [(f.cls, f.field, f.key["resource"], f.expected, f.actual) for f in findings] == [
        (USAGE_MISMATCH, "reserved", "snapshots", 2, 0)
    ]


def test_magnetodb_usages_must_list_live_reservations_of_their_own(tmp_path):
    """The design's reservations set: a listed uuid with no live reservation is a finding;
    a live reservation no usage lists (a reserve in flight, a settle not yet retired) is not,
    and does not count toward ``reserved``."""
    backend = open_backend("magnetodb+inproc:///q")
    try:
        load_dataset(backend, build_dataset(SMALL).data, quiet=True)
        project = backend.scan_all("quota_usages")[0]["project_id"]["S"]
        backend.client.put_item(
            "reservations",
            {
                "project_id": s(project),
                "uuid": s("unlisted"),
                "resource": s("volumes"),
                "delta": n(4),
                "expire": s("2030-01-01T00:00:00"),
                "created_at": s("2020-01-01T00:00:00"),
                "deleted": n(0),
            },
        )
        result = check_quotas(backend)
        assert result.findings == []
        assert result.unlisted_reservations == 1
        backend.client.update_item(
            "quota_usages",
            {"project_id": s(project), "resource": s("volumes")},
            {"reservations": {"action": "ADD", "value": ss(["ghost"])}},
        )
        findings = check_quotas(backend).findings
        assert [(f.field, f.actual, f.expected) for f in findings] == [
            ("reservations", "ghost", "no live reservation")
        ]
    finally:
        backend.close()


class UsageWritesHeld:
    """A transport that holds the first ``parties`` usage writes until all are ready (so
    every reserve has read before any writes), optionally dropping their ``expected``:
    conditional updates off."""

    def __init__(self, inner, parties: int, conditional: bool) -> None:
        self.inner, self.parties, self.conditional = inner, parties, conditional
        self.barrier = threading.Barrier(parties, timeout=20)
        self.held = 0
        self.lock = threading.Lock()

    def handle_request(self, method, path, body, headers):
        if path.endswith("/tables/quota_usages/update_item"):
            if not self.conditional:
                data = orjson.loads(body)
                data.pop("expected", None)
                body = orjson.dumps(data)
            with self.lock:
                hold = self.held < self.parties
                self.held += 1
            if hold:
                self.barrier.wait()
        return self.inner.handle_request(method, path, body, headers)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("conditional", [True, False], ids=["conditional", "unconditional"])
def test_concurrent_reserves_over_commit_only_without_conditional_updates(conditional):
    racers, limit, project = 4, 3, "tight"
    backend = open_backend("magnetodb+inproc:///race")
    try:
        backend.create_schema()
        backend.quota_create(ADMIN, project, "volumes", limit)
        user = RequestContext(user_id="u", project_id=project)
        resources, quotas = default_resources(), {"volumes": limit}
        expire = utcnow() + dt.timedelta(hours=1)

        def create(number: int) -> None:
            volume_id = f"00000000-0000-4000-8000-{number:012d}"
            uuids = backend.quota_reserve(user, resources, quotas, {"volumes": 1}, expire, 0, 0)
            backend.volume_create(user, {"id": volume_id, "size": 1, "project_id": project})
            backend.reservation_commit(user, uuids)

        create(0)  # the usage row exists: every racer updates it
        backend.client.transport = UsageWritesHeld(backend.client.transport, racers, conditional)
        won = []

        def racer(number: int) -> None:
            try:
                create(number)
                won.append(number)
            except Exception as error:  # OverQuota: the reserve lost
                won.append(type(error).__name__)

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(1, racers + 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = check_quotas(backend, projects=[project])
        created = sum(isinstance(w, int) for w in won)
        if conditional:
            assert created == limit - 1  # two fit beside the first volume; the rest OverQuota
            assert result.findings == []
        else:
            assert created == racers  # every reserve saw room: the quota is over-committed
            classes = {f.cls for f in result.findings}
            assert classes, "an over-commit went unnoticed"
            assert classes <= {OVER_QUOTA, USAGE_MISMATCH}
            in_use = backend.quota_usage_get(ADMIN, project, "volumes")["in_use"]
            if in_use > limit:
                assert OVER_QUOTA in classes
            else:  # a commit lost an update too: in_use no longer counts the volumes
                assert USAGE_MISMATCH in classes
    finally:
        backend.close()


def test_a_clean_mixed_run_leaves_no_finding_on_either_backend(tmp_path):
    """Both backends side by side under a quota-heavy mix (2 threads): every usage still
    matches what exists, and usages did move."""
    dataset = build_dataset(SMALL)
    sql = open_backend(f"sqlite:///{tmp_path / 'run.sqlite'}")
    mdb = open_backend("magnetodb+inproc:///run")
    try:
        for backend in (sql, mdb):
            load_dataset(backend, dataset.data, quiet=True)
        before = [check_quotas(b) for b in (sql, mdb)]
        usage = {p: sql.quota_usage_get_all_by_project(ADMIN, p) for p in dataset.users}
        bench = Run([("sqlite", sql), ("magnetodb", mdb)], dataset, resolve_mix("quota_churn"))
        spec = RunSpec(mix="quota_churn", duration=None, operations=120, threads=2)
        run_workload(bench, spec, progress=False)
        bench.close()
        assert bench.harness_failure_count == 0, bench.harness_failures
        for backend, earlier in zip((sql, mdb), before, strict=True):
            result = check_quotas(backend)
            assert result.findings == [], [f.to_json() for f in result.findings]
            assert result.usages >= earlier.usages
        moved = {p: sql.quota_usage_get_all_by_project(ADMIN, p) for p in dataset.users}
        assert moved != usage  # the run created, extended and deleted against its quotas
    finally:
        sql.close()
        mdb.close()
