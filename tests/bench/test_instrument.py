"""Instrumentation: every contract function wrapped, outcomes keyed by class, and the counters'
exact values for a handful of calls and operations (research brief §10 on MariaDB)."""

from __future__ import annotations

import threading

import pytest

from bench.drive.runner import Run
from bench.measure.counters import MagnetoProbe, probe_for
from bench.measure.instrument import Instrumented
from bench.measure.recorder import Recorder
from bench.workload.catalog import CATALOG
from bench.workload.datasets import build_dataset, load_dataset
from cinderdb import FUNCTIONS, RequestContext, exception, get_admin_context, open_backend
from tests.bench.support import SMALL

ADMIN = get_admin_context()


@pytest.fixture
def mariadb(mysql_backend):
    """The session's MariaDB backend, emptied and loaded with the small dataset."""
    dataset = build_dataset(SMALL)
    mysql_backend.drop_schema()
    load_dataset(mysql_backend, dataset.data, quiet=True)
    return mysql_backend, dataset


def call_counters(recorder: Recorder, name: str, context: str) -> dict[str, tuple[int, int]]:
    tally = recorder.contexts[("mysql", name, context)]
    return {k: (v["min"], v["max"]) for k, v in tally.counter_stats().items()}


def test_every_contract_function_is_wrapped(mariadb):
    backend, _ = mariadb
    instrumented = Instrumented(backend, Recorder(), "mysql")
    try:
        for name in FUNCTIONS:
            wrapped = getattr(instrumented, name)
            assert wrapped.__name__ == name
            assert wrapped is not getattr(backend, name)
        assert instrumented.url == backend.url  # everything else passes through
    finally:
        instrumented.detach()


def test_failures_are_keyed_by_exception_class(mariadb):
    backend, _ = mariadb
    recorder = Recorder()
    instrumented = Instrumented(backend, recorder, "mysql")
    try:
        with pytest.raises(exception.VolumeNotFound):
            instrumented.volume_get(ADMIN, "no-such-volume")
        with pytest.raises(exception.AdminRequired):
            instrumented.volume_get_all(RequestContext(user_id="u", project_id="p"), None, None)
    finally:
        instrumented.detach()
    volume_get = recorder.series[("mysql", "call", "volume_get")]
    assert volume_get.outcomes == {"rejected": 1}
    assert volume_get.failures == {"VolumeNotFound": 1}
    assert recorder.series[("mysql", "call", "volume_get_all")].failures == {"AdminRequired": 1}


def test_volume_get_is_one_select_with_the_joins_of_section_10(mariadb):
    backend, dataset = mariadb
    recorder = Recorder()
    instrumented = Instrumented(backend, recorder, "mysql")
    volume = dataset.data.volumes[0]
    user = RequestContext(user_id="u", project_id=volume["project_id"])
    try:
        for _ in range(3):
            instrumented.volume_get(ADMIN, volume["id"])
            instrumented.volume_get(user, volume["id"])
            instrumented.snapshot_get(ADMIN, dataset.data.snapshots[0]["id"])
            instrumented.volume_metadata_get(user, volume["id"])
            instrumented.volume_type_get_all(ADMIN)
            instrumented.volume_get_all_by_project(
                ADMIN, volume["project_id"], None, 1000, ["created_at"], ["desc"], {}, None
            )
    finally:
        instrumented.detach()
    admin_get = call_counters(recorder, "volume_get", "admin")
    # volumes + metadata, admin metadata, type, extra specs, attachments, group: 7 tables
    assert admin_get["statements"] == admin_get["selects"] == (1, 1)
    assert admin_get["joins_left_outer"] == (6, 6)
    assert admin_get["tables"] == (7, 7)
    user_get = call_counters(recorder, "volume_get", "user")
    assert (user_get["statements"], user_get["joins"], user_get["tables"]) == (
        (1, 1),
        (5, 5),
        (6, 6),
    )
    snapshot = call_counters(recorder, "snapshot_get", "admin")
    assert (snapshot["statements"], snapshot["joins"], snapshot["tables"]) == (
        (1, 1),
        (2, 2),
        (3, 3),
    )
    # two volume_get exists-checks, then the metadata
    assert call_counters(recorder, "volume_metadata_get", "user")["selects"] == (3, 3)
    types = call_counters(recorder, "volume_type_get_all", "admin")
    assert (types["statements"], types["tables"]) == ((1, 1), (2, 2))
    # lists load no extra specs: 6 tables for an admin
    listing = call_counters(recorder, "volume_get_all_by_project", "admin")
    assert (listing["statements"], listing["tables"]) == ((1, 1), (6, 6))


def test_cinder_show_costs_seven_selects(mariadb):
    """``cinder show`` = volume_get + admin metadata + image metadata, each with its
    exists-checks (brief §11): 1 + 3 + 3 statements, on every run."""
    backend, dataset = mariadb
    bench = Run([("mysql", backend)], dataset, {"show": 1}, seed=2)
    try:
        worker = bench.worker(0)
        for _ in range(6):
            bench.step(worker, operation="show")
        show = bench.recorder.series[("mysql", "op", "show")]
        stats = show.counter_stats()
        assert show.count == 6
        assert (stats["db_calls"]["min"], stats["db_calls"]["max"]) == (3, 3)
        assert (stats["selects"]["min"], stats["selects"]["max"]) == (7, 7)
        assert "inserts" not in stats  # never counted: zeros are not stored
        assert "updates" not in stats
    finally:
        bench.close()


def test_create_counters_are_the_sum_of_its_calls(mariadb):
    backend, dataset = mariadb
    bench = Run([("mysql", backend)], dataset, {"create": 1}, seed=4)
    try:
        step = bench.step(bench.worker(0), operation="create")
        assert step.runs["mysql"].error is None
        calls = bench.recorder.series
        op_statements = calls[("mysql", "op", "create")].counter_stats()["statements"]["sum"]
        per_call = sum(
            series.counter_stats()["statements"]["sum"]
            for (backend_label, kind, _), series in calls.items()
            if kind == "call" and backend_label == "mysql"
        )
        assert op_statements == per_call
        names = [call[0] for call in step.runs["mysql"].scope.calls]
        assert names[names.index("quota_reserve") + 1] == "volume_create"
        assert names[names.index("volume_create") + 1] == "reservation_commit"
        entries = step.runs["mysql"].scope.encoded_calls()
        commit = next(e for e in entries if e["fn"] == "reservation_commit")
        assert commit["refs"] == {"1": names.index("quota_reserve")}
    finally:
        bench.close()


def test_probe_choice_follows_the_backend(mariadb):
    backend, _ = mariadb
    assert probe_for(backend).kind == "sql"
    with open_backend("magnetodb+inproc:///probe") as magnetodb:
        probe = probe_for(magnetodb)
        assert probe.kind == "magnetodb"
        assert probe.derived == magnetodb.derived_tables


def _table(client, name: str, hash_key: str, range_key: str | None = None) -> None:
    keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
    client.create_table(
        name,
        [{"attribute_name": k, "attribute_type": "S"} for k, _ in keys],
        [{"attribute_name": k, "key_type": t} for k, t in keys],
    )


def test_magnetodb_probe_counts_requests_items_and_dual_writes():
    from magnetodb.client import connect_inproc
    from magnetodb.errors import ConditionalCheckFailedException

    client = connect_inproc("probe")
    _table(client, "volumes", "id")
    _table(client, "volumes_by_project", "project_id", "volume_id")
    probe = MagnetoProbe(client, derived_tables=frozenset({"volumes_by_project"}))
    probe.attach()
    token = probe.start()
    client.get_item("volumes", {"id": {"S": "v0"}})  # a miss reads nothing
    client.put_item("volumes", {"id": {"S": "v1"}, "size": {"N": "1"}})
    client.put_item("volumes_by_project", {"project_id": {"S": "p"}, "volume_id": {"S": "v1"}})
    with pytest.raises(ConditionalCheckFailedException):
        client.update_item(
            "volumes",
            {"id": {"S": "v1"}},
            {"size": {"action": "PUT", "value": {"N": "2"}}},
            expected={"size": {"value": {"N": "9"}}},
        )
    elsewhere = threading.Thread(target=client.scan, args=("volumes",))
    elsewhere.start()
    elsewhere.join()  # another thread's request is not this call's
    # one batch spanning a base table and an index table
    client.batch_write_item(
        {
            "volumes": [{"put_request": {"item": {"id": {"S": f"v{i}"}}}} for i in (2, 3)],
            "volumes_by_project": [
                {"put_request": {"item": {"project_id": {"S": "p"}, "volume_id": {"S": f"v{i}"}}}}
                for i in (2, 3, 4)
            ],
        }
    )
    client.get_item("volumes", {"id": {"S": "v1"}})
    counts = probe.stop(token)
    probe.detach()
    assert client.hooks == []
    bytes_sent, bytes_received = counts.pop("bytes_sent"), counts.pop("bytes_received")
    assert bytes_sent > 0
    assert bytes_received > 0
    assert counts == {
        "requests": 6,
        "requests.get_item": 2,
        "requests.put_item": 2,
        "requests.update_item": 1,
        "requests.batch_write_item": 1,
        "items_read": 1,
        "items_written": 7,
        "dual_writes": 4,
        "conditional_check_failed": 1,
        "retries": 0,  # the client never retries: the design's loops do (and tell the backend)
        "give_ups": 0,
        "request_errors": 1,
    }


def test_catalog_names_are_its_keys():
    assert all(name == operation.name for name, operation in CATALOG.items())
    assert len(CATALOG) == 49
