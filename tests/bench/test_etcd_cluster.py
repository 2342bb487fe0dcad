"""The MagnetoDB cluster of the production shape: 3 etcd members and 2 API servers. Writers
keep going while the etcd leader and one API server are killed (kill -9): the store keeps
serving and nothing acknowledged is lost; then down leaves nothing running or on disk."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bench.drive.clusters.base import Cluster, pid_alive
from bench.drive.clusters.magnetodb import MagnetoDBCluster, group_alive
from magnetodb.client import connect
from magnetodb.errors import MagnetoError
from tests.magnetodb.support import S, make_table


def test_a_killed_member_and_server_lose_nothing_acknowledged(tmp_path: Path) -> None:
    root = tmp_path / "cluster"
    cluster = MagnetoDBCluster(root, size=3, api_servers=2)
    try:
        cluster.up()
        url = cluster.backend_url()
        assert url.startswith("magnetodb://127.0.0.1:")
        assert url.count(",") == 1
        hosts = url.removeprefix("magnetodb://").rsplit("/", 1)[0]
        setup = connect(f"http://{hosts}", "killtest")
        make_table(setup, "acks", range_key=None)
        acknowledged: list[str] = []
        failed: list[str] = []
        stop = threading.Event()

        def writer(number: int) -> None:
            client = connect(f"http://{hosts}", "killtest")
            sequence = 0
            while not stop.is_set():
                key = f"w{number}-{sequence}"
                sequence += 1
                try:
                    client.put_item("acks", {"h": S(key)}, expected={"h": {"exists": False}})
                    acknowledged.append(key)
                except MagnetoError:  # in flight when a node died: an error, not a loss
                    failed.append(key)
            client.close()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        leader = cluster.leader_index()
        assert leader is not None
        # another process (``cinderbench cluster``) acts on the cluster through its state file
        Cluster.load(root).kill_node(leader)
        time.sleep(1.0)
        api = Cluster.load(root)
        api.kill_node(len(cluster.etcd_nodes))  # the first API server
        before = len(acknowledged)
        time.sleep(2.0)
        stop.set()
        for t in threads:
            t.join()
        assert len(acknowledged) > before  # it kept serving: 2 members, 1 API server
        stored = stored_keys(setup)
        assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)[:5]
        assert len(failed) < len(acknowledged)
        api.restart_node(leader)
        api.restart_node(len(cluster.etcd_nodes))
        assert api.health_problem() is None
        setup.close()
    finally:
        cluster.down()
    assert not root.exists()
    for node in cluster.nodes:  # the pids down took from the state file, restarts included
        assert not pid_alive(node.pid), node
        assert not group_alive(node.pid), node


def stored_keys(client: object) -> set[str]:
    keys: set[str] = set()
    start = None
    while True:
        page = client.scan("acks", exclusive_start_key=start)  # type: ignore[attr-defined]
        keys.update(item["h"]["S"] for item in page["items"])
        start = page.get("last_evaluated_key")
        if not start:
            return keys
