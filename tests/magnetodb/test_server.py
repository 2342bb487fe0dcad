"""The real server: concurrency on LMDB and etcd with several workers, kill -9 durability,
token auth, project isolation, monitoring, health check, graceful stop, CLI."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import orjson
import pytest

from cinderbench import build_parser
from magnetodb.client import MagnetoClient, connect, connect_inproc
from magnetodb.errors import (
    ConditionalCheckFailedException,
    Forbidden,
    MagnetoTransportError,
    TableNotExistsException,
    Unauthorized,
    ValidationError,
)
from magnetodb.server.app import App
from magnetodb.server.process import ServerProcess
from magnetodb.storage import open_storage
from tests.magnetodb.support import N, S, make_table, new_project


def _run_threads(n: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = target(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_conditional_put_race_has_exactly_one_winner(server: ServerProcess) -> None:
    project = new_project()
    setup = connect(server.url, project)
    make_table(setup, "race", range_key=None)
    clients = [connect(server.url, project) for _ in range(8)]
    for rnd in range(15):
        key = f"k{rnd}"

        def attempt(i: int, key: str = key) -> bool:
            try:
                clients[i].put_item(
                    "race", {"h": S(key), "owner": N(i)}, expected={"h": {"exists": False}}
                )
                return True
            except ConditionalCheckFailedException:
                return False

        wins = _run_threads(8, attempt)
        assert sum(wins) == 1, wins
        owner = setup.get_item("race", {"h": S(key)})["item"]["owner"]
        assert owner == N(wins.index(True))


def test_concurrent_add_loses_nothing(server: ServerProcess) -> None:
    project = new_project()
    setup = connect(server.url, project)
    make_table(setup, "counter", range_key=None)
    clients = [connect(server.url, project) for _ in range(8)]

    def bump(i: int) -> int:
        for _ in range(50):
            clients[i].update_item(
                "counter",
                {"h": S("c")},
                {
                    "n": {"action": "ADD", "value": N(1)},
                    "who": {"action": "ADD", "value": {"NS": [str(i)]}},
                },
            )
        return 50

    assert sum(_run_threads(8, bump)) == 400
    item = setup.get_item("counter", {"h": S("c")})["item"]
    assert item["n"] == N(400)
    assert item["who"] == {"NS": [str(i) for i in range(8)]}


def test_optimistic_version_updates_serialize(server: ServerProcess) -> None:
    """Read-modify-write with expected=version: every successful write bumps by one."""
    project = new_project()
    setup = connect(server.url, project)
    make_table(setup, "ver", range_key=None)
    setup.put_item("ver", {"h": S("v"), "version": N(0)})
    clients = [connect(server.url, project) for _ in range(6)]

    def writer(i: int) -> int:
        done = 0
        while done < 10:
            cur = clients[i].get_item("ver", {"h": S("v")})["item"]["version"]
            try:
                clients[i].put_item(
                    "ver",
                    {"h": S("v"), "version": N(int(cur["N"]) + 1)},
                    expected={"version": {"value": cur}},
                )
                done += 1
            except ConditionalCheckFailedException:
                continue
        return done

    assert sum(_run_threads(6, writer)) == 60
    assert setup.get_item("ver", {"h": S("v")})["item"]["version"] == N(60)


def test_acknowledged_writes_survive_kill_9(tmp_path: Any) -> None:
    data = str(tmp_path / "data")
    srv = ServerProcess(data, workers=2).start()
    project = new_project()
    setup = connect(srv.url, project)
    make_table(setup, "durable", extra={"d": "S"}, lsis=[("by_d", "d", {"projection_type": "ALL"})])
    acked: list[list[str]] = [[] for _ in range(4)]
    counter_acks = [0]
    stop = threading.Event()

    def load(i: int) -> None:
        client = connect(srv.url, project, timeout=5)
        n = 0
        while not stop.is_set():
            key = f"w{i}-{n}"
            try:
                client.put_item("durable", {"h": S("p"), "r": S(key), "d": S(key[::-1])})
                acked[i].append(key)
                client.update_item(
                    "durable",
                    {"h": S("p"), "r": S("counter")},
                    {"n": {"action": "ADD", "value": N(1)}},
                )
                counter_acks[0] += 1
            except MagnetoTransportError:
                return
            n += 1

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill()  # SIGKILL supervisor and workers mid-load
    stop.set()
    for t in threads:
        t.join()
    total = sum(len(a) for a in acked)
    assert total > 50
    srv2 = ServerProcess(data, workers=2).start()
    try:
        client = connect(srv2.url, project)
        q = {"h": {"comparison_operator": "EQ", "attribute_value_list": [S("p")]}}
        stored = {i["r"]["S"] for i in client.query("durable", q)["items"]}
        missing = [k for a in acked for k in a if k not in stored]
        assert missing == []
        # the index was written atomically with each item
        indexed = {i["r"]["S"] for i in client.query("durable", q, index_name="by_d")["items"]}
        assert indexed == stored - {"counter"}
        n = int(client.get_item("durable", {"h": S("p"), "r": S("counter")})["item"]["n"]["N"])
        assert counter_acks[0] <= n <= counter_acks[0] + 4
    finally:
        srv2.stop()
        srv2.cleanup()
        srv.cleanup()


TOKENS = {"tok-a": "proj-a", "tok-b": "projb"}


def _auth_checks(make: Any) -> None:
    ok = make("proj-a", "tok-a")  # a token opens its own project, spelled exactly
    make_table(ok, "secure", range_key=None)
    ok.put_item("secure", {"h": S("x")})
    with pytest.raises(Unauthorized) as err:
        make("proj-a", None).get_item("secure", {"h": S("x")})
    assert err.value.status == 401
    with pytest.raises(Unauthorized):
        make("proj-a", "wrong-token").list_tables()
    with pytest.raises(Forbidden) as forb:
        make("proj-a", "tok-b").get_item("secure", {"h": S("x")})
    assert forb.value.status == 403
    assert forb.value.message == "No access to project"
    with pytest.raises(Forbidden):  # MagnetoDB dropped the dashes: proj-a's token opened proja
        make("proja", "tok-a").list_tables()
    assert make("proj-a", None).healthcheck() == {"API": "OK"}  # the health check stays open
    # the monitoring API has the data API's token check
    assert ok.table_usage("secure")["item_count"] == 1
    with pytest.raises(Unauthorized):
        make("proj-a", None).table_usage("secure")
    with pytest.raises(Forbidden):
        make("proj-a", "tok-b").table_usage("secure")
    for path in ("/v1/monitoring/projects/proj-a", "/v1/monitoring/projects"):
        with pytest.raises(Unauthorized):
            make("proj-a", None).request("m", "GET", path)
    with pytest.raises(Forbidden):
        make("projb", "tok-b").request("m", "GET", "/v1/monitoring/projects/proj-a")
    b = make("projb", "tok-b")
    make_table(b, "other_tbl", range_key=None)
    # every project's usage, as far as the token may see: its own project's tables only
    assert [(e["tenant"], e["name"]) for e in b.request("m", "GET", "/v1/monitoring/projects")] == [
        ("projb", "other_tbl")
    ]
    mine = ok.request("m", "GET", "/v1/monitoring/projects")
    assert [(e["tenant"], e["name"]) for e in mine] == [("proj-a", "secure")]
    after = "/v1/monitoring/projects?last_evaluated_project=proj-a&last_evaluated_table=secure"
    assert ok.request("m", "GET", after) == []


def test_token_auth_over_http(tmp_path: Any) -> None:
    with ServerProcess(str(tmp_path / "d"), tokens=TOKENS) as srv:
        _auth_checks(lambda project, token: connect(srv.url, project, token=token))
        assert "auth=tokens" in srv.log_text()


def test_token_auth_in_process() -> None:
    storage = open_storage("memory")
    _auth_checks(lambda p, t: connect_inproc(p, storage=storage, tokens=TOKENS, token=t))


def test_unauthorized_body_is_both_magnetodb_and_keystone_shaped() -> None:
    app = App(open_storage("memory"), TOKENS)
    status, body = app.handle("GET", "/v1/data/proja/tables", "", {}, b"")
    doc = orjson.loads(body)
    assert status == 401
    assert doc["code"] == 401
    assert doc["title"] == "Unauthorized"
    assert doc["error"]["type"] == "Unauthorized"
    assert doc["error"]["code"] == 401


def test_projects_are_isolated(client: MagnetoClient) -> None:
    other = (
        connect(client.base_url, new_project())
        if client.base_url
        else connect_inproc(new_project(), storage=client.transport.app.storage)  # type: ignore[attr-defined]
    )
    make_table(client, "shared", range_key=None)
    with pytest.raises(TableNotExistsException):
        other.get_item("shared", {"h": S("a")})
    with pytest.raises(TableNotExistsException):
        other.put_item("shared", {"h": S("a")})
    with pytest.raises(TableNotExistsException):
        other.delete_table("shared")
    make_table(other, "shared", range_key=None, extra={"x": "N"})
    client.put_item("shared", {"h": S("a"), "x": S("mine")})
    other.put_item("shared", {"h": S("a"), "x": N(1)})
    assert client.get_item("shared", {"h": S("a")})["item"]["x"] == S("mine")
    assert other.scan("shared")["items"] == [{"h": S("a"), "x": N(1)}]
    assert client.table_names(other.list_tables()) == ["shared"]
    with pytest.raises(TableNotExistsException):
        other.batch_get_item({"mine_only": {"keys": [{"h": S("a")}]}})
    other.delete_table("shared")
    assert client.get_item("shared", {"h": S("a")})["item"]["x"] == S("mine")
    other.close()


def test_monitoring_api(client: MagnetoClient) -> None:
    make_table(client, "watched", range_key=None)
    make_table(client, "empty_tbl", range_key=None)
    for i in range(7):
        client.put_item("watched", {"h": S(f"k{i}"), "v": S("x" * 10)})
    usage = client.table_usage("watched")
    assert usage["item_count"] == 7
    assert usage["size"] > 7 * 10
    assert client.table_usage("watched", metrics="item_count") == {"item_count": 7}
    with pytest.raises(ValidationError):
        client.table_usage("watched", metrics="bogus")
    with pytest.raises(TableNotExistsException):
        client.table_usage("nope_tbl")
    proj = client.request("m", "GET", f"/v1/monitoring/projects/{client.project}")
    assert proj == [
        {"table_name": "empty_tbl", "usage_detailes": {"size": 0, "item_count": 0}},
        {"table_name": "watched", "usage_detailes": usage},
    ]
    everything = client.request("m", "GET", "/v1/monitoring/projects?limit=1000")
    mine = [e for e in everything if e["tenant"] == client.project]
    assert {e["name"] for e in mine} == {"watched", "empty_tbl"}
    assert all(e["status"] == "ACTIVE" and "usage_detailes" in e for e in mine)
    after = client.request(
        "m",
        "GET",
        f"/v1/monitoring/projects?last_evaluated_project={client.project}&last_evaluated_table=empty_tbl",
    )
    assert [e["name"] for e in after if e["tenant"] == client.project] == ["watched"]


def test_healthcheck(client: MagnetoClient) -> None:
    assert client.healthcheck() == {"API": "OK"}
    full = client.healthcheck(fullcheck=True)
    assert full["API"] == "OK"
    assert full["Storage"] == "OK"
    assert "Storage engine" not in full  # MagnetoDB's answer, unless asked for ours
    ours = client.healthcheck(engine=True)
    assert ours["Storage"] == "OK"
    assert ours["Storage engine"] in ("memory", "lmdb", "etcd")
    assert ours["Durability"]


def test_graceful_stop_and_worker_restart(tmp_path: Any) -> None:
    srv = ServerProcess(str(tmp_path / "d"), workers=2).start()
    try:
        client = connect(srv.url, "p1")
        make_table(client, "alive", range_key=None)
        workers = _children(srv.pid)  # type: ignore[arg-type]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.time() + 10
        while len(set(_children(srv.pid)) - set(workers)) < 1:  # type: ignore[arg-type]
            assert time.time() < deadline
            time.sleep(0.05)
        for i in range(20):  # whichever worker answers, the data is there
            connect(srv.url, "p1").put_item("alive", {"h": S(str(i))})
        assert client.scan("alive")["count"] == 20
    finally:
        code = srv.stop()
        log = srv.log_text()
        srv.cleanup()
    assert code == 0, log
    assert log.count("magnetodb serving http://127.0.0.1:") == 1
    assert "restarting" in log
    assert "magnetodb stopped" in log


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return sorted(out)


def test_memory_engine_server_and_option_errors(tmp_path: Any) -> None:
    with ServerProcess(None, engine="memory") as srv:
        client = connect(srv.url, "p1")
        make_table(client, "mem", range_key=None)
        assert client.describe_table("mem")["table"]["table_status"] == "ACTIVE"
    with pytest.raises(RuntimeError, match="cannot be shared"):
        ServerProcess(None, engine="memory", workers=2).start()
    with pytest.raises(RuntimeError, match="data-dir is required"):
        ServerProcess(None, engine="lmdb").start()


def test_cli_registers_serve() -> None:
    args = build_parser().parse_args(
        [
            "magnetodb",
            "serve",
            "--port",
            "0",
            "--data-dir",
            "/tmp/x",
            "--workers",
            "3",
            "--engine",
            "memory",
        ]
    )
    assert (args.port, args.data_dir, args.workers, args.engine) == (0, "/tmp/x", 3, "memory")
    assert callable(args.func)
