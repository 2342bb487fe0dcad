"""A node of each side's cluster killed mid-run: the run goes on, each side serves again
within a stated time, and nothing acknowledged is lost (issue 16 item 4).

Each test runs ``cinderbench run`` on one cluster with ``--kill-node`` (a small
dataset, a few seconds), then the validators of ``compare`` with the
acknowledged-writes check (``validators.acknowledged``): the run's store
against a replay of its own log, every difference and finding classed as
unacknowledged or lost. One xdist group per cluster: the Galera test kills the
session cluster's writer and restarts it; the MagnetoDB test starts a cluster
of its own (3 etcd members, 2 API servers) and checks that taking it down
leaves no process and no directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.drive.clusters import new_root
from bench.drive.clusters.base import pid_alive
from bench.drive.clusters.magnetodb import MagnetoDBCluster, group_alive
from cinderbench import main
from reports import format as fmt
from reports.build import write_report
from validators.pipeline import after_run

#: the time a side must serve writes again in; Galera's survivors wait ~6 s for the group
#: to drop a dead node, etcd elects a new leader in ~1 s (measured: README)
RECOVERY_S = 30.0
RUN = ["--volumes", "40", "--projects", "4", "--threads", "2", "--quiet"]


def _run_and_validate(
    label: str, url: str, root: Path, kills: list[str], output: Path, duration: float
) -> dict:
    """``duration`` seconds: long enough after the last kill for the side to serve again."""
    argv = ["run", "--backend", f"{label}={url}", *RUN, "--cluster-root", str(root)]
    argv += ["--duration", str(duration)]
    for kill in kills:
        argv += ["--kill-node", kill]
    assert main([*argv, "-o", str(output)]) == 0
    after_run(output, [(label, url)], acknowledged=True, quiet=True)
    return json.loads((output / "run.json").read_text())


def _assert_recovered_and_nothing_lost(meta: dict, label: str, output: Path) -> None:
    for kill in meta["node_kills"]:
        assert kill["killed"], kill
        effect = kill["effects"][label]
        assert effect["served_again_s"] is not None
        assert effect["writes_served_again_s"] is not None
        assert effect["writes_served_again_s"] < RECOVERY_S, kill
    checked = meta["acknowledged"]
    assert checked["lost"] == 0, checked["backends"][label]["examples"]["lost"]
    entry = checked["backends"][label]
    assert entry["entries_compared"] > 100
    diff = json.loads((output / "diff.json").read_text())
    assert diff["divergence_count"] == 0
    report = write_report([output], output / "report.html").read_text()
    for text in ("<h3>Node kills</h3>", "<h3>Acknowledged writes</h3>"):
        assert text in report
    for kill in meta["node_kills"]:  # each recovery time, stated in the kills table
        assert f">{fmt.number(kill['effects'][label]['writes_served_again_s'])} s<" in report


@pytest.mark.xdist_group("galera")
def test_galera_writer_killed_mid_run_loses_nothing_acknowledged(
    galera_cluster, galera_database_url, tmp_path
) -> None:
    output = tmp_path / "galera"
    try:
        meta = _run_and_validate(
            "galera", galera_database_url, galera_cluster.root, ["sql:1@2"], output, 16
        )
        (kill,) = meta["node_kills"]
        assert kill["name"] == "node1"  # the writer of a one-writer URL
        _assert_recovered_and_nothing_lost(meta, "galera", output)
    finally:
        if not galera_cluster.nodes[0].alive:
            galera_cluster.restart_node(0)


@pytest.mark.xdist_group("magnetodb-cluster")
def test_magnetodb_etcd_member_and_api_server_killed_mid_run_lose_nothing_acknowledged(
    tmp_path,
) -> None:
    root = new_root("magnetodb")
    cluster = MagnetoDBCluster(root, size=3, api_servers=2)
    try:
        cluster.up()
        output = tmp_path / "magnetodb"
        meta = _run_and_validate(
            "etcd",
            cluster.backend_url(),
            root,
            ["magnetodb-etcd:1@2", "magnetodb-api:1@4"],
            output,
            10,
        )
        assert [k["role"] for k in meta["node_kills"]] == ["etcd", "api"]
        topology = meta["backends"][0]["engine"]["topology"]
        assert (topology["api_servers"], topology["storage_nodes"]) == (2, 3)
        _assert_recovered_and_nothing_lost(meta, "etcd", output)
    finally:
        pids = [node.pid for node in cluster.nodes]
        cluster.down()
    assert not any(pid_alive(pid) or group_alive(pid) for pid in pids)
    assert not root.exists()
