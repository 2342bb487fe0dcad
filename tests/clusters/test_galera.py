"""The SQL side on a real 3-node MariaDB Galera cluster: one cluster for the session.

What is checked: the cluster command leaves nothing behind; a write on one node is
read on the others; each routing policy sends connections where
``cinderdb.sql.galera`` says; a certification conflict between writers on two
nodes is retried by ``quota_reserve`` (as Liberty's ``_retry_on_deadlock``) and is
an error outcome elsewhere; a node killed under a transaction fails it with a
counted ``DBConnectionError`` and the next calls go to a live node; and
``--kill-node`` during a run records when the side served again.

The commit hooks below are the only injected faults: they run the other writer (or
the kill) at the moment a transaction is about to commit, which no timing could
reach reliably.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from bench.drive.clusters import new_root
from bench.drive.clusters.base import Cluster, pid_alive
from bench.measure.instrument import Instrumented
from bench.measure.recorder import Recorder
from bench.measure.sql_counters import count_sql
from cinderdb import exception, get_admin_context, open_backend
from cinderdb.sql import galera
from reports.build import write_report
from tests.contract.quota_helpers import RESOURCES, UNLIMITED, later
from tests.provision import PROVISIONERS

pytestmark = pytest.mark.xdist_group("galera")

CTX = get_admin_context()


def _url(cluster: Cluster, database: str, order: list[int], **params: str) -> str:
    """A Galera URL naming the cluster's nodes in ``order`` (the one-writer failover order)."""
    hosts = ",".join(cluster.nodes[i].address for i in order)
    query = "&".join(f"{k}={v}" for k, v in {"galera": "one-writer", **params}.items())
    return f"mysql+pymysql://root@{hosts}/{database}?{query}"


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of the session's database on the cluster, emptied (``tests.provision``)."""
    with PROVISIONERS["galera"](request) as backend:
        yield galera.parse(backend.url).database


@contextlib.contextmanager
def opened(url: str) -> Iterator:
    backend = open_backend(url)
    try:
        yield backend
    finally:
        backend.close()


def node_names(engine, count: int) -> list[str]:
    """``wsrep_node_name`` of ``count`` connections held at once (each a new one)."""
    connections = [engine.connect() for _ in range(count)]
    try:
        return [c.exec_driver_sql("SELECT @@wsrep_node_name").scalar() for c in connections]
    finally:
        for connection in connections:
            connection.close()


@contextlib.contextmanager
def before_first_commit(engine, action) -> Iterator[list[int]]:
    """Run ``action`` once, just before the first COMMIT ``engine`` sends; yields the list
    of commits seen (a retried transaction commits twice)."""
    commits: list[int] = []

    def hook(_connection) -> None:
        commits.append(1)
        if len(commits) == 1:
            action()

    event.listen(engine, "commit", hook)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", hook)


# ---------------------------------------------------------------- the command


def test_cluster_command_leaves_nothing_running_or_on_disk() -> None:
    root = new_root("sql")
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}

    def cinderbench(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cinderbench", "cluster", *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=180,
            check=False,
        )

    try:
        up = cinderbench("up", "sql", "--nodes", "1", "--root", str(root))
        assert up.returncode == 0, up.stderr
        assert "backend URL: mysql+pymysql://root@127.0.0.1:" in up.stdout
        state = json.loads((root / "cluster.json").read_text())
        pids = [node["pid"] for node in state["nodes"]]
        assert all(pid_alive(pid) for pid in pids)
        status = cinderbench("status", "--root", str(root))
        assert "Synced (cluster of 1)" in status.stdout
        url = cinderbench("url", "--root", str(root), "--choice", "policy=all-writers")
        assert url.stdout.strip() == f"{state['url'].split('?')[0]}?galera=all-writers"
        again = cinderbench("up", "sql", "--root", str(root))
        assert again.returncode == 2
        assert "runs in" in again.stderr
        assert "Traceback" not in again.stderr
        down = cinderbench("down", "--root", str(root))
        assert down.returncode == 0, down.stderr
        assert not any(pid_alive(pid) for pid in pids)
        assert not root.exists()
        gone = cinderbench("down", "--root", str(root))
        assert gone.returncode == 2
        assert "no cluster in" in gone.stderr
    finally:
        if (root / "cluster.json").exists():
            Cluster.load(root).down()


# ------------------------------------------------------------------ replication


def test_a_write_on_one_node_is_read_on_every_node(galera_cluster, database) -> None:
    with opened(_url(galera_cluster, database, [0, 1, 2])) as api:
        volume = api.volume_create(CTX, {"size": 3, "metadata": {"tier": "gold"}})
        written = api.volume_get(CTX, volume["id"])
    for node in galera_cluster.nodes:
        single = f"mysql+pymysql://root@{node.address}/{database}"
        with opened(single) as api:
            assert api.volume_get(CTX, volume["id"]) == written


# ---------------------------------------------------------------------- routing


def test_one_writer_sends_every_connection_to_the_first_live_node(galera_cluster, database):
    with opened(_url(galera_cluster, database, [1, 0, 2])) as api:
        assert len(api.engines) == 1  # reads go with the writes
        assert set(node_names(api.engine, 3)) == {galera_cluster.nodes[1].name}


def test_reads_anywhere_spread_over_the_nodes_and_wait_for_causality(galera_cluster, database):
    with opened(_url(galera_cluster, database, [0, 1, 2], reads="any")) as api:
        writer, reader = api.engines
        assert set(node_names(writer, 3)) == {"node1"}
        assert set(node_names(reader, 3)) == {"node1", "node2", "node3"}
        with reader.connect() as connection:
            assert connection.exec_driver_sql("SELECT @@session.wsrep_sync_wait").scalar() == 1
        volume = api.volume_create(CTX, {"size": 1})
        with count_sql(reader) as on_reader:
            api.volume_update(CTX, volume["id"], {"display_name": "renamed"})
        assert on_reader.statements == 0
        for turn in range(12):  # each read may land on another node than the write
            api.volume_update(CTX, volume["id"], {"display_name": f"name-{turn}"})
            with count_sql(reader) as on_reader:
                assert api.volume_get(CTX, volume["id"])["display_name"] == f"name-{turn}"
            assert on_reader.statements > 0


def test_all_writers_spread_connections_over_every_node(galera_cluster, database):
    with opened(_url(galera_cluster, database, [0, 1, 2], galera="all-writers")) as api:
        assert set(node_names(api.engine, 3)) == {"node1", "node2", "node3"}


# ---------------------------------------------------------- certification conflicts


def test_a_certification_conflict_is_retried_by_quota_reserve(galera_cluster, database):
    """Two writers reserve for one project on two nodes; the later commit fails
    certification (MySQL 1213) and ``quota_reserve`` runs again, as Liberty's does."""
    with (
        opened(_url(galera_cluster, database, [0, 1])) as first,
        opened(_url(galera_cluster, database, [1, 0])) as second,
    ):
        first.quota_reserve(CTX, RESOURCES, UNLIMITED, {"volumes": 1}, later(), None, None, "p")

        def other_writer() -> None:
            first.quota_reserve(CTX, RESOURCES, UNLIMITED, {"volumes": 1}, later(), None, None, "p")

        with before_first_commit(second.engine, other_writer) as commits:
            reserved = second.quota_reserve(
                CTX, RESOURCES, UNLIMITED, {"volumes": 1}, later(), None, None, "p"
            )
        assert len(commits) == 2  # the first attempt lost certification, the retry committed
        assert len(reserved) == 1
        usage = first.quota_usage_get_all_by_project(CTX, "p")["volumes"]
        assert usage == {"in_use": 0, "reserved": 3}


def test_a_certification_conflict_is_a_counted_error_where_liberty_does_not_retry(
    galera_cluster, database
):
    with (
        opened(_url(galera_cluster, database, [0, 1])) as first,
        opened(_url(galera_cluster, database, [1, 0])) as second,
    ):
        volume = first.volume_create(CTX, {"size": 1})
        recorder = Recorder()
        measured = Instrumented(second, recorder, "galera")

        def other_writer() -> None:
            first.volume_update(CTX, volume["id"], {"display_name": "first"})

        with (
            before_first_commit(second.engine, other_writer) as commits,
            pytest.raises(exception.DBDeadlock),
            measured.operation("rename"),
        ):
            measured.volume_update(CTX, volume["id"], {"display_name": "second"})
        measured.detach()
        assert len(commits) == 1
        operation = recorder.series[("galera", "op", "rename")]
        assert operation.outcomes == {"error": 1}
        assert operation.failures == {"DBDeadlock": 1}
        # the probe read the losing node's status around the call: a certification failure,
        # or the replicated write aborting the local one (a brute-force abort)
        counters = operation.counter_stats()
        lost = sum(counters.get(name, {}).get("sum", 0) for name in ("cert_failures", "bf_aborts"))
        assert lost >= 1
        assert first.volume_get(CTX, volume["id"])["display_name"] == "first"


# -------------------------------------------------------------------- failover


def test_a_killed_node_fails_the_transaction_in_flight_and_the_next_calls_go_elsewhere(
    galera_cluster, database
):
    recorder = Recorder()
    try:
        with opened(_url(galera_cluster, database, [2, 0, 1])) as api:
            assert node_names(api.engine, 1) == ["node3"]
            measured = Instrumented(api, recorder, "galera")
            with (
                before_first_commit(api.engine, lambda: galera_cluster.kill_node(2)),
                pytest.raises(exception.DBConnectionError),
                measured.operation("create"),
            ):
                measured.volume_create(CTX, {"size": 1})
            volume = measured.volume_create(CTX, {"size": 2})  # waits for the group to drop node3
            assert measured.volume_get(CTX, volume["id"])["size"] == 2
            assert node_names(api.engine, 1) == ["node1"]
            measured.detach()
        operation = recorder.series[("galera", "op", "create")]
        assert operation.failures == {"DBConnectionError": 1}
        calls = recorder.series[("galera", "call", "volume_create")]
        assert calls.outcomes == {"error": 1, "ok": 1}
    finally:
        if not galera_cluster.nodes[2].alive:
            galera_cluster.restart_node(2)


def test_kill_node_during_a_run_records_when_the_side_served_again(
    galera_cluster, database, tmp_path
):
    output = tmp_path / "run"
    url = _url(galera_cluster, database, [0, 1, 2])
    command = [
        sys.executable,
        "-m",
        "cinderbench",
        "run",
        "--backend",
        f"galera={url}",
        "--volumes",
        "40",
        "--projects",
        "4",
        "--duration",
        "9",
        "--kill-node",
        "sql:1@2",
        "--cluster-root",
        str(galera_cluster.root),
        "--quiet",
        "-o",
        str(output),
    ]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=240, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        meta = json.loads((output / "run.json").read_text())
        (kill,) = meta["node_kills"]
        assert kill["killed"]
        assert kill["name"] == "node1"
        assert kill["labels"] == ["galera"]
        assert 1.9 < kill["second"] < 4
        effect = kill["effects"]["galera"]
        assert effect["served_again_s"] is not None
        assert effect["writes_served_again_s"] is not None
        topology = meta["backends"][0]["engine"]["topology"]
        assert topology["nodes"] == 3
        assert topology["policy"] == "one-writer"
        assert [m["state"] for m in topology["members"]] == ["Synced"] * 3
        assert meta["clusters"]["sql"]["root"] == str(galera_cluster.root)
        errors = sum(
            stats.get("errors", 0)
            for per in json.loads((output / "operations.json").read_text()).values()
            for stats in per.values()
        )
        window = sum(n for per in effect["errors_after_kill"].values() for n in per.values())
        assert errors >= window
        report = write_report([output], output / "report.html").read_text()
        for text in ("<h3>Topology</h3>", "<h3>Node kills</h3>", "sql node1 (", "one writer ("):
            assert text in report
        assert report.count(">Synced</td>") == 3
    finally:
        if not galera_cluster.nodes[0].alive:
            galera_cluster.restart_node(0)
