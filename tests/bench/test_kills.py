"""``--kill-node``: the request form, the checks before a run, and what the log shows after.

A kill of a real node during a real run is ``tests/clusters/test_galera.py``'s.
"""

from __future__ import annotations

import pytest

from bench.drive.clusters.base import Node
from bench.drive.clusters.galera import GaleraCluster
from bench.drive.kills import KillSchedule, NodeKill
from bench.measure.failover import failover_facts
from cinderbench import main


def test_a_node_kill_reads_side_node_and_seconds() -> None:
    kill = NodeKill.parse("sql:2@10.5")
    assert kill == NodeKill("sql", 2, 10.5)
    assert str(kill) == "sql:2@10.5"


@pytest.mark.parametrize("text", ["sql:2", "sql@10", "2@10", "sql:0@1", "sql:-1@2", "sql:a@1"])
def test_a_malformed_node_kill_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"SIDE:N@SECONDS|numbered from 1"):
        NodeKill.parse(text)


def _cluster(tmp_path, size: int) -> GaleraCluster:
    nodes = [Node(f"node{i}", "galera", f"127.0.0.1:{4000 + i}") for i in range(1, size + 1)]
    return GaleraCluster(tmp_path, nodes=nodes, size=size)


def test_a_kill_needs_a_cluster_of_its_side_with_that_node(tmp_path) -> None:
    cluster = _cluster(tmp_path, 2)
    backends = [("galera", "mysql+pymysql://root@127.0.0.1:4001,127.0.0.1:4002/db")]
    with pytest.raises(ValueError, match="no magnetodb cluster"):
        KillSchedule([NodeKill("magnetodb", 1, 1)], {"sql": cluster}, backends)
    with pytest.raises(ValueError, match="has 2 nodes"):
        KillSchedule([NodeKill("sql", 3, 1)], {"sql": cluster}, backends)
    schedule = KillSchedule([NodeKill("sql", 2, 60)], {"sql": cluster}, backends)
    schedule.start(started_epoch=0.0 + 10**10)  # far in the future: never fires
    assert schedule.stop() == [
        {"request": "sql:2@60", "side": "sql", "node": 2, "planned_s": 60.0, "killed": False}
    ]


def test_the_run_command_refuses_a_kill_it_cannot_carry_out(tmp_path, capsys) -> None:
    database = tmp_path / "cinder.sqlite"
    code = main(
        [
            "run",
            "--backend",
            f"sqlite:///{database}",
            "--kill-node",
            "sql:1@1",
            "--cluster-root",
            str(tmp_path / "nothing"),
            "--quiet",
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "no cluster there" in error
    assert "Traceback" not in error
    with pytest.raises(SystemExit) as exited:
        main(["run", "--backend", f"sqlite:///{database}", "--kill-node", "sql2@1"])
    assert exited.value.code == 2
    assert "SIDE:N@SECONDS" in capsys.readouterr().err


def _line(seq: int, t: float, op: str, outcome: str, us: int, fn: str, error=None) -> dict:
    failed = {"ok": False, "error": error} if error else {"ok": True}
    return {
        "seq": seq,
        "op": op,
        "t": t,
        "order": ["galera"],
        "runs": {
            "galera": {
                "outcome": outcome,
                "error": error,
                "us": us,
                "calls": [{"fn": fn, "outcome": failed}],
            }
        },
    }


def test_failover_facts_time_the_first_read_and_the_first_write_served_after_the_kill() -> None:
    killed = 100.0
    lines = [
        _line(0, 99.0, "show", "ok", 10_000, "volume_get"),  # before the kill
        _line(1, 99.9, "create", "error", 200_000, "volume_create", "DBConnectionError"),
        _line(2, 100.2, "show", "ok", 300_000, "volume_get"),  # read served at +0.5 s
        _line(3, 100.3, "extend", "error", 100_000, "volume_update", "DBDeadlock"),
        _line(4, 100.4, "create", "ok", 5_600_000, "volume_create"),  # write served at +6 s
        {  # an operation that succeeds although one of its calls failed (QUOTAS.commit)
            **_line(6, 100.5, "create", "ok", 6_000_000, "quota_reserve"),
            "runs": {
                "galera": {
                    "outcome": "ok",
                    "us": 6_000_000,
                    "calls": [
                        {"fn": "quota_reserve", "outcome": {"ok": True}},
                        {"fn": "reservation_commit", "outcome": {"ok": False, "error": "DBError"}},
                    ],
                }
            },
        },
        _line(5, 107.0, "delete", "error", 1_000, "volume_destroy", "DBError"),  # after failover
    ]
    kills = [{"killed": True, "epoch": killed, "labels": ["galera"]}, {"killed": False}]
    failover_facts(lines, kills)
    effect = kills[0]["effects"]["galera"]
    assert effect["served_again_s"] == pytest.approx(0.5)
    assert effect["first_ok_operation"] == "show"
    assert effect["writes_served_again_s"] == pytest.approx(6.0)
    assert effect["first_ok_write"] == "create"
    assert effect["errors"] == {
        "create": {"DBConnectionError": 1},
        "extend": {"DBDeadlock": 1},
    }
    assert effect["errors_after_kill"] == {**effect["errors"], "delete": {"DBError": 1}}
    assert effect["call_errors"] == {
        "volume_create": {"DBConnectionError": 1},
        "volume_update": {"DBDeadlock": 1},
        "reservation_commit": {"DBError": 1},
    }
    assert effect["operations_after_kill"] == 5
    assert "effects" not in kills[1]


def test_a_role_counts_among_that_role_only(tmp_path) -> None:
    from bench.drive.clusters.magnetodb import MagnetoDBCluster

    nodes = [Node(f"etcd{i}", "etcd", f"127.0.0.1:{5000 + i}") for i in range(3)]
    nodes += [Node(f"api{i}", "api", f"127.0.0.1:{6000 + i}") for i in range(2)]
    cluster = MagnetoDBCluster(tmp_path, nodes=nodes, size=3, api_servers=2)
    api = NodeKill.parse("magnetodb-api:2@5")
    assert (api.cluster_side, api.role) == ("magnetodb", "api")
    assert api.target(cluster) == (4, nodes[4])
    assert NodeKill.parse("magnetodb-etcd:2@5").target(cluster) == (1, nodes[1])
    assert NodeKill.parse("magnetodb:2@5").target(cluster) == (1, nodes[1])
    with pytest.raises(ValueError, match=r"has 2 api nodes \(roles: api, etcd\)"):
        NodeKill.parse("magnetodb-api:3@5").target(cluster)
    backends = [("magnetodb", cluster.backend_url())]
    schedule = KillSchedule([api], {"magnetodb": cluster}, backends)
    schedule.start(started_epoch=10**10)
    assert schedule.stop()[0]["side"] == "magnetodb"
