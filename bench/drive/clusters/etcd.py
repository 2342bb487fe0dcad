"""An etcd v3 Raft cluster of N nodes on this machine (Debian's ``etcd-server``).

Each node is an ``etcd`` process on its own loopback client and peer ports,
with its own data directory under the cluster's root; the cluster is
bootstrapped statically (``--initial-cluster``) and is ready when every node
answers ``/health`` and they agree on one leader. Every commit is fsync'ed to
the node's WAL before etcd acknowledges it (etcd's only mode in 3.4).

The settings the MagnetoDB engine over etcd needs are set here once:

* ``--max-request-bytes`` and ``--max-txn-ops``: the largest transaction, as
  the MagnetoDB engine expects it (``magnetodb.storage.etcd_settings``: its item limit is
  16 MiB, the seed's inverted tables hold items of megabytes, a batch chunk
  writes 25 of them; etcd's defaults, 1.5 MiB and 128 operations, would refuse
  real writes of the design). etcd's gRPC receive limit follows the flag.
* ``--auto-compaction-*``: etcd keeps every revision until compacted, and the
  design rewrites megabyte items; reads at a revision are a request old at most.
* ``--quota-backend-bytes`` and ``--snapshot-count``: room on disk for the
  history between compactions, and a bound on the Raft log held in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench.drive.clusters.base import STATE_FILE, Cluster, Node, free_port
from magnetodb.storage.etcd_settings import ETCD_MAX_REQUEST_BYTES, ETCD_MAX_TXN_OPS

ETCD_BINARY = "/usr/bin/etcd"
#: etcd's recommended ceiling for the backend database.
QUOTA_BACKEND_BYTES = 8 * 1024 * 1024 * 1024
#: revisions older than this are compacted (a read at a revision lasts one request).
AUTO_COMPACTION_RETENTION = "1m"
#: Raft entries between snapshots: bounds the log held in memory (etcd keeps 5,000 more).
SNAPSHOT_COUNT = 2000
LOOPBACK = "127.0.0.1"


class EtcdCluster(Cluster):
    """``nodes`` etcd members on loopback ports, data directories under ``root``.

    ``backend_url`` is the MagnetoDB design served in-process over this etcd
    cluster (no API server); :class:`~bench.drive.clusters.magnetodb.MagnetoDBCluster`
    adds API servers.
    """

    side = "magnetodb"

    def __init__(
        self,
        root: str | Path,
        nodes: list[Node] | None = None,
        *,
        size: int = 3,
        max_request_bytes: int = ETCD_MAX_REQUEST_BYTES,
        token: str | None = None,
        project: str = "cinderbench",
        **options: Any,
    ) -> None:
        token = token or f"cinderbench-{uuid.uuid4().hex[:12]}"
        super().__init__(
            root,
            nodes,
            size=size,
            max_request_bytes=max_request_bytes,
            token=token,
            project=project,
            **options,
        )

    # ------------------------------------------------------------------ facts
    @property
    def etcd_nodes(self) -> list[Node]:
        return [node for node in self.nodes if node.role == "etcd"]

    @property
    def endpoints(self) -> list[str]:
        """``host:port`` of every member's client URL, in node order."""
        return [node.address for node in self.etcd_nodes]

    def backend_url(self, **choices: Any) -> str:
        project = choices.get("project", self.options["project"])
        return f"magnetodb+inproc:///{project}?etcd={','.join(self.endpoints)}"

    # ------------------------------------------------------------------ lifecycle
    def up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.etcd_nodes:
            self.nodes[:0] = self._plan_members(self.options["size"])
        self.save()
        for node in self.etcd_nodes:
            self._start_member(node, "new")
        self.save()
        self.wait_healthy(deadline - time.monotonic())

    def _plan_members(self, size: int) -> list[Node]:
        if size < 1:
            raise ValueError(f"an etcd cluster needs at least 1 node, not {size}")
        members = []
        for index in range(size):
            client, peer = free_port(LOOPBACK), free_port(LOOPBACK)
            members.append(
                Node(
                    name=f"etcd{index}",
                    role="etcd",
                    address=f"{LOOPBACK}:{client}",
                    data_dir=str(self.root / f"etcd{index}"),
                    ports={"client": client, "peer": peer},
                    log_path=str(self.root / f"etcd{index}.log"),
                )
            )
        return members

    def _initial_cluster(self) -> str:
        return ",".join(
            f"{node.name}=http://{LOOPBACK}:{node.ports['peer']}" for node in self.etcd_nodes
        )

    def member_command(self, node: Node, state: str) -> list[str]:
        client = f"http://{node.address}"
        peer = f"http://{LOOPBACK}:{node.ports['peer']}"
        return [
            ETCD_BINARY,
            "--name",
            node.name,
            "--data-dir",
            str(node.data_dir),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            self._initial_cluster(),
            "--initial-cluster-token",
            self.options["token"],
            "--initial-cluster-state",
            state,
            "--max-request-bytes",
            str(self.options["max_request_bytes"]),
            "--max-txn-ops",
            str(ETCD_MAX_TXN_OPS),
            "--quota-backend-bytes",
            str(QUOTA_BACKEND_BYTES),
            "--auto-compaction-mode",
            "periodic",
            "--auto-compaction-retention",
            AUTO_COMPACTION_RETENTION,
            "--snapshot-count",
            str(SNAPSHOT_COUNT),
            "--logger",
            "zap",
            "--log-level",
            "warn",
        ]

    def _start_member(self, node: Node, state: str) -> None:
        with open(str(node.log_path), "ab") as log:
            proc = subprocess.Popen(
                self.member_command(node, state),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives `cluster up`; not hit by its Ctrl-C
            )
        node.pid = proc.pid

    def restart_node(self, index: int, timeout: float = 60.0) -> None:
        """Start a killed member again on its data directory and ports; waits until the
        cluster is healthy with it."""
        node = self.nodes[index]
        if node.role != "etcd":
            raise ValueError(f"node {index} is {node.name}, not an etcd member")
        if node.alive:
            raise ValueError(f"{node.name} is running")
        self._start_member(node, "existing")
        self.save()
        self.wait_healthy(timeout)

    def down(self, timeout: float = 20.0) -> None:
        """As the base, with the processes the state file names now (another process
        may have killed or restarted nodes since this object was made)."""
        self.refresh()
        super().down(timeout)

    def refresh(self) -> None:
        """Take the nodes' pids from the state file, when there is one."""
        try:
            saved = json.loads((self.root / STATE_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return
        pids = {node["name"]: node["pid"] for node in saved.get("nodes", [])}
        for node in self.nodes:
            node.pid = pids.get(node.name, node.pid)

    # ------------------------------------------------------------------ health
    def wait_healthy(self, timeout: float) -> None:
        """Until every running member answers ``/health`` and all name the same leader."""
        deadline = time.monotonic() + max(timeout, 0.0)
        problem = "not checked"
        while True:
            problem = self.health_problem()
            if problem is None:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"etcd cluster in {self.root} not healthy: {problem}")
            time.sleep(0.1)

    def health_problem(self) -> str | None:
        """Why the running members are not one healthy cluster with a leader (None: they are)."""
        leaders = set()
        running = [node for node in self.etcd_nodes if node.pid is not None]
        for node in running:
            if not node.alive:
                return f"{node.name} exited:\n{tail(node.log_path)}"
            try:
                health = _get_json(f"http://{node.address}/health")
                status = _post_json(f"http://{node.address}/v3/maintenance/status", {})
            except (OSError, ValueError) as exc:
                return f"{node.name}: {exc}"
            if health.get("health") != "true":
                return f"{node.name}: {health}"
            leaders.add(status.get("leader"))
        if len(leaders) != 1 or not next(iter(leaders)):
            return f"no agreed leader ({leaders})"
        return None

    def leader_index(self) -> int | None:
        """The node index of the current leader (None when there is none)."""
        for index, node in enumerate(self.nodes):
            if node.role != "etcd" or not node.alive:
                continue
            try:
                status = _post_json(f"http://{node.address}/v3/maintenance/status", {})
            except (OSError, ValueError):
                continue
            header = status.get("header", {})
            if status.get("leader") and status.get("leader") == header.get("member_id"):
                return index
        return None


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=2) as answer:
        return json.loads(answer.read())


def _post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(f"{url}: HTTP {exc.code}") from exc


def tail(path: str | None, size: int = 2000) -> str:
    """The end of a log file, for error messages."""
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - size))
        return f.read().decode(errors="replace")
