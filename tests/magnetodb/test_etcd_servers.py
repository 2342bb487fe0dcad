"""Two MagnetoDB API servers over one etcd store: what one does, the other sees at once
(tables created, deleted, re-created with another schema), and a client naming both
keeps working when one goes down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from magnetodb.client import MagnetoClient, connect
from magnetodb.errors import MagnetoTransportError, TableNotExistsException, ValidationError
from magnetodb.server.process import ServerProcess
from tests.magnetodb.support import N, S, make_table, new_project


@pytest.fixture(scope="module")
def second_server(etcd_cluster: Any) -> Iterator[ServerProcess]:
    """Another API server over the session's etcd cluster (the first: magnetodb_etcd_server)."""
    endpoints = ",".join(etcd_cluster.endpoints)
    with ServerProcess(engine="etcd", etcd_endpoints=endpoints, workers=2) as server:
        yield server


def two_clients(first: ServerProcess, second: ServerProcess) -> tuple[MagnetoClient, ...]:
    project = new_project()
    return connect(first.url, project), connect(second.url, project)


def test_tables_created_and_deleted_on_one_server_are_seen_by_the_other(
    magnetodb_etcd_server: ServerProcess, second_server: ServerProcess
) -> None:
    a, b = two_clients(magnetodb_etcd_server, second_server)
    make_table(a, "shared", range_key=None, extra={"x": "S"})
    b.put_item("shared", {"h": S("k"), "x": S("typed S")})
    assert a.get_item("shared", {"h": S("k")})["item"]["x"] == S("typed S")
    # every worker of b has the table's metadata now; a deletes it and re-creates it
    # with another schema (a range key, x a number)
    for _ in range(4):
        b.get_item("shared", {"h": S("k")})
    a.delete_table("shared")
    with pytest.raises(TableNotExistsException):
        b.get_item("shared", {"h": S("k")})
    with pytest.raises(TableNotExistsException):
        b.put_item("shared", {"h": S("k")})
    make_table(a, "shared", range_key=("r", "N"), extra={"x": "N"})
    with pytest.raises(ValidationError):  # the old schema's key is refused by b too
        b.put_item("shared", {"h": S("k"), "x": S("typed S")})
    b.put_item("shared", {"h": S("k"), "r": N(1), "x": N(7)})
    assert a.query(
        "shared", {"h": {"comparison_operator": "EQ", "attribute_value_list": [S("k")]}}
    )["items"] == [{"h": S("k"), "r": N(1), "x": N(7)}]
    assert b.describe_table("shared")["table"]["key_schema"][1]["attribute_name"] == "r"
    assert b.table_names(b.list_tables()) == ["shared"]
    a.close()
    b.close()


def test_a_client_of_both_servers_spreads_and_survives_one_down(etcd_cluster: Any) -> None:
    endpoints = ",".join(etcd_cluster.endpoints)
    first = ServerProcess(engine="etcd", etcd_endpoints=endpoints).start()
    second = ServerProcess(engine="etcd", etcd_endpoints=endpoints).start()
    try:
        hosts = ",".join(s.url.removeprefix("http://") for s in (first, second))
        project = new_project()
        setup = connect(f"http://{hosts}", project)
        make_table(setup, "tbl", range_key=None)

        def one_request(name: str) -> None:
            setup.put_item("tbl", {"h": S(name)})

        threads = [threading.Thread(target=one_request, args=(f"t{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # threads are given the servers in turn: each server kept connections
        assert {len(s._idle) > 0 for s in setup.transport.servers} == {True}  # type: ignore[attr-defined]
        first.kill()
        for i in range(10):  # every thread that was on the first server moves to the second
            setup.put_item("tbl", {"h": S(f"after{i}")})
        assert setup.scan("tbl")["count"] == 14
        second.kill()
        with pytest.raises(MagnetoTransportError):
            setup.get_item("tbl", {"h": S("after0")})
        setup.close()
    finally:
        for server in (first, second):
            server.stop()
            server.cleanup()
