"""The etcd engine's semantics on a real 3-node cluster: optimistic write transactions
(conflicts on keys and on scanned ranges, retries), index entries in one commit with
their item, reads at one revision, the request size limit, failover past a dead member."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from magnetodb.client import connect, connect_inproc
from magnetodb.errors import RequestEntityTooLarge
from magnetodb.server.process import ServerProcess
from magnetodb.storage import Storage
from magnetodb.storage.base import EngineError, EngineLimitError, Txn
from magnetodb.storage.etcd import EtcdEngine
from tests.magnetodb.support import N, S, make_table, new_project


@pytest.fixture
def engine(etcd_cluster: Any) -> Iterator[EtcdEngine]:
    eng = EtcdEngine(etcd_cluster.endpoints)
    yield eng
    eng.close()


@pytest.fixture
def ns() -> bytes:
    """A key prefix of this test's own (the session's cluster is shared)."""
    return b"test/" + uuid.uuid4().hex.encode() + b"/"


def put(engine: EtcdEngine, key: bytes, value: bytes) -> None:
    engine.transact(lambda txn: txn.put(key, value))


def raw_kvs(engine: EtcdEngine, prefix: bytes) -> list[Any]:
    """The stored KeyValues under ``prefix``, with their revisions (etcd's own view)."""
    with engine.read() as txn:
        return list(txn._scan_kvs(prefix, prefix + b"\xff", False))  # type: ignore[attr-defined]


def test_a_write_over_a_changed_key_conflicts(engine: EtcdEngine, ns: bytes) -> None:
    put(engine, ns + b"k", b"0")
    block = engine.write()
    first = block.__enter__()
    assert first.get(ns + b"k") == b"0"
    with engine.write() as second:  # commits in between
        second.get(ns + b"k")
        second.put(ns + b"k", b"second")
    first.put(ns + b"k", b"first")
    with pytest.raises(EngineError, match="write conflict"):
        block.__exit__(None, None, None)
    with engine.read() as txn:
        assert txn.get(ns + b"k") == b"second"


def test_a_write_over_an_absent_key_conflicts_with_its_creation(
    engine: EtcdEngine, ns: bytes
) -> None:
    block = engine.write()
    first = block.__enter__()
    assert first.get(ns + b"new") is None
    put(engine, ns + b"new", b"other")
    first.put(ns + b"new", b"mine")
    with pytest.raises(EngineError, match="write conflict"):
        block.__exit__(None, None, None)
    with engine.read() as txn:
        assert txn.get(ns + b"new") == b"other"


@pytest.mark.parametrize("change", ["insert", "delete", "update"])
def test_a_scanned_range_conflicts_with_any_change_in_it(
    engine: EtcdEngine, ns: bytes, change: str
) -> None:
    for i in range(3):
        put(engine, ns + b"r%d" % i, b"v")
    block = engine.write()
    txn = block.__enter__()
    assert [k for k, _ in txn.scan(ns + b"r", ns + b"s")] == [ns + b"r0", ns + b"r1", ns + b"r2"]
    if change == "insert":
        put(engine, ns + b"r15", b"v")
    elif change == "delete":
        engine.transact(lambda t: t.delete(ns + b"r1"))
    else:
        put(engine, ns + b"r2", b"changed")
    txn.put(ns + b"count", b"3")
    with pytest.raises(EngineError, match="write conflict"):
        block.__exit__(None, None, None)


def test_only_the_consumed_part_of_a_scan_is_compared(engine: EtcdEngine, ns: bytes) -> None:
    for i in range(5):
        put(engine, ns + b"r%d" % i, b"v")
    with engine.write() as txn:
        first = next(iter(txn.scan(ns + b"r", ns + b"s")))
        assert first[0] == ns + b"r0"
        put(engine, ns + b"r3", b"changed after the part read")
        txn.put(ns + b"first", first[0])
    with engine.read() as txn:
        assert txn.get(ns + b"first") == ns + b"r0"


def test_transact_runs_the_body_again_after_a_conflict(engine: EtcdEngine, ns: bytes) -> None:
    put(engine, ns + b"n", b"1")
    runs = []

    def bump(txn: Txn) -> int:
        value = int(txn.get(ns + b"n"))  # type: ignore[arg-type]
        runs.append(value)
        if len(runs) == 1:
            put(engine, ns + b"n", b"10")  # a concurrent writer wins the first attempt
        txn.put(ns + b"n", str(value + 1).encode())
        return value + 1

    assert engine.transact(bump) == 11
    assert runs == [1, 10]
    with engine.read() as txn:
        assert txn.get(ns + b"n") == b"11"


def test_two_writers_on_their_own_connections_lose_no_update(etcd_cluster: Any) -> None:
    """Two engines (two API servers) add to one item concurrently: every ADD lands."""
    project = new_project()
    engines = [EtcdEngine(etcd_cluster.endpoints) for _ in range(2)]
    clients = [connect_inproc(project, storage=Storage(e)) for e in engines]
    make_table(clients[0], "counter", range_key=None)

    def add(client: Any) -> None:
        for _ in range(40):
            client.update_item("counter", {"h": S("c")}, {"n": {"action": "ADD", "value": N(1)}})

    threads = [threading.Thread(target=add, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clients[1].get_item("counter", {"h": S("c")})["item"]["n"] == N(80)
    for e in engines:
        e.close()


def test_an_item_and_its_index_entries_are_one_commit(etcd_cluster: Any) -> None:
    engine = EtcdEngine(etcd_cluster.endpoints)
    storage = Storage(engine)
    project = new_project()
    client = connect_inproc(project, storage=storage)
    make_table(client, "tbl", lsis=[("by_x", "x", {"projection_type": "ALL"})], extra={"x": "S"})
    prefix = storage.describe_table(project, "tbl").prefix
    for x in ("old", "new"):
        client.put_item("tbl", {"h": S("a"), "r": S("1"), "x": S(x)})
        (item,) = raw_kvs(engine, b"i" + prefix)
        (entry,) = raw_kvs(engine, b"x" + prefix)  # the old entry went in the same commit
        assert x.encode() in entry.key
        assert entry.mod_revision == item.mod_revision
    client.delete_item("tbl", {"h": S("a"), "r": S("1")})
    assert raw_kvs(engine, b"i" + prefix) == raw_kvs(engine, b"x" + prefix) == []
    engine.close()


def test_reads_of_one_transaction_see_one_revision(engine: EtcdEngine, ns: bytes) -> None:
    for i in range(100):
        put(engine, ns + b"p%03d" % i, b"before")
    with engine.read() as txn:
        assert txn.get(ns + b"p000") == b"before"
        engine.transact(lambda t: [t.put(ns + b"p%03d" % i, b"after") for i in range(100)])
        assert txn.get(ns + b"p050") == b"before"
        values = [v for _, v in txn.scan(ns + b"p", ns + b"q")]  # several pages
        assert values == [b"before"] * 100
        assert next(k for k, _ in txn.scan(ns + b"p", ns + b"q", reverse=True)) == ns + b"p099"
    with engine.read() as txn:
        assert {v for _, v in txn.scan(ns + b"p", ns + b"q")} == {b"after"}


def test_a_write_sees_its_own_writes_in_gets_and_scans(engine: EtcdEngine, ns: bytes) -> None:
    for key in (b"a", b"c", b"e"):
        put(engine, ns + key, b"stored")

    def body(txn: Txn) -> list[tuple[bytes, bytes]]:
        txn.put(ns + b"b", b"new")
        txn.put(ns + b"c", b"changed")
        txn.delete(ns + b"e")
        assert txn.get(ns + b"c") == b"changed"
        assert txn.get(ns + b"e") is None
        return [(k[len(ns) :], v) for k, v in txn.scan(ns, ns + b"\xff")]

    assert engine.transact(body) == [(b"a", b"stored"), (b"b", b"new"), (b"c", b"changed")]


def test_delete_range_and_puts_inside_it_in_one_transaction(engine: EtcdEngine, ns: bytes) -> None:
    for key in (b"a", b"b", b"c", b"d"):
        put(engine, ns + key, b"old")

    def body(txn: Txn) -> None:
        txn.delete_range(ns + b"a", ns + b"z")
        txn.put(ns + b"b", b"kept")
        assert txn.get(ns + b"c") is None
        assert [k for k, _ in txn.scan(ns, ns + b"\xff")] == [ns + b"b"]

    engine.transact(body)
    assert [(kv.key, kv.value) for kv in raw_kvs(engine, ns)] == [(ns + b"b", b"kept")]


def test_a_write_larger_than_the_request_limit_is_a_413(etcd_cluster: Any) -> None:
    limit = 64 * 1024
    engine = EtcdEngine(etcd_cluster.endpoints, max_request_bytes=limit)
    client = connect_inproc(new_project(), storage=Storage(engine))
    make_table(client, "big", range_key=None)
    with pytest.raises(RequestEntityTooLarge, match="etcd --max-request-bytes") as caught:
        client.put_item("big", {"h": S("a"), "blob": S("x" * limit)})
    assert caught.value.status == 413
    assert "item" not in client.get_item("big", {"h": S("a")})
    # a batch whose items fit one by one, but not together: written one per transaction
    items = [{"put_request": {"item": {"h": S(f"k{i}"), "blob": S("y" * 20000)}}} for i in range(5)]
    assert client.batch_write_item({"big": items}) == {"unprocessed_items": {}}
    assert client.scan("big")["count"] == 5
    with pytest.raises(EngineLimitError):
        engine.transact(lambda txn: txn.put(b"test/huge", b"z" * limit))
    engine.close()


def test_the_server_answers_413_json_past_the_configured_limit(etcd_cluster: Any) -> None:
    endpoints = ",".join(etcd_cluster.endpoints)
    with ServerProcess(
        engine="etcd", etcd_endpoints=endpoints, etcd_max_request_bytes=32768
    ) as srv:
        client = connect(srv.url, new_project())
        make_table(client, "big", range_key=None)
        with pytest.raises(RequestEntityTooLarge, match="takes at most 32768"):
            client.put_item("big", {"h": S("a"), "blob": S("x" * 40000)})
        client.put_item("big", {"h": S("a"), "blob": S("x" * 100)})
        client.close()


def test_a_dead_member_in_the_list_is_passed_over(etcd_cluster: Any, ns: bytes) -> None:
    from bench.drive.clusters.base import free_port

    dead = f"127.0.0.1:{free_port()}"
    engine = EtcdEngine([dead, *etcd_cluster.endpoints])
    engine.conn.current = 0
    put(engine, ns + b"k", b"v")  # a commit never sent to the dead member goes to the next
    with engine.read() as txn:
        assert txn.get(ns + b"k") == b"v"
    assert engine.conn.failovers >= 1
    engine.close()
