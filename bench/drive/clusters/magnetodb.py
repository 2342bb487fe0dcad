"""MagnetoDB as deployed: K stateless API servers over one replicated store (etcd, Raft).

MagnetoDB ran several API servers over a Cassandra cluster; here they run over
an etcd cluster of N members (:class:`~bench.drive.clusters.etcd.EtcdCluster`).
Each API server is ``python -m magnetodb.server.serve --engine etcd`` on a
loopback port of its own, with ``workers`` processes, and knows every member
(its engine fails over between them). The backend URL names every API server,
``magnetodb://HOST:P1,HOST:P2/PROJECT``: the client spreads its threads over
them and leaves one that is down.

Node indices (``kill_node``, ``restart_node``): ``0 .. N-1`` are the etcd
members, ``N .. N+K-1`` the API servers. Killing a member is ``kill -9`` of its
etcd process; killing an API server is ``kill -9`` of its whole process group
(supervisor and workers), as a host crash would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.drive.arguments import POSITIVE_INT
from bench.drive.clusters.base import ClusterOption, Node, free_port, stop_process, wait_gone
from bench.drive.clusters.etcd import LOOPBACK, EtcdCluster, tail
from magnetodb.server.serve import Config

#: worker processes per API server: each serves one request at a time, and a
#: request over etcd waits on the network, so more than one
API_WORKERS = 2


class MagnetoDBCluster(EtcdCluster):
    """An etcd cluster of ``size`` members and ``api_servers`` MagnetoDB API servers over it."""

    side = "magnetodb"
    options_spec = (
        ClusterOption(
            "--api-servers",
            "api_servers",
            "MagnetoDB API servers over the etcd cluster, each on its own port (2)",
            type=POSITIVE_INT,
            default=2,
        ),
        ClusterOption(
            "--workers",
            "workers",
            f"worker processes per API server ({API_WORKERS})",
            type=POSITIVE_INT,
            default=API_WORKERS,
        ),
        ClusterOption(
            "--project", "project", "the project the URL names (cinderbench)", default="cinderbench"
        ),
    )

    def __init__(
        self,
        root: str | Path,
        nodes: list[Node] | None = None,
        *,
        size: int = 3,
        api_servers: int = 2,
        workers: int = API_WORKERS,
        project: str = "cinderbench",
        **options: Any,
    ) -> None:
        super().__init__(
            root,
            nodes,
            size=size,
            api_servers=api_servers,
            workers=workers,
            project=project,
            **options,
        )

    @property
    def api_nodes(self) -> list[Node]:
        return [node for node in self.nodes if node.role == "api"]

    def backend_url(self, **choices: Any) -> str:
        project = choices.get("project", self.options["project"])
        return f"magnetodb://{','.join(node.address for node in self.api_nodes)}/{project}"

    # ------------------------------------------------------------------ lifecycle
    def up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        super().up(timeout)
        count = self.options["api_servers"]
        if count < 1:
            raise ValueError(f"a MagnetoDB cluster needs at least 1 API server, not {count}")
        if not self.api_nodes:
            for index in range(count):
                port = free_port(LOOPBACK)
                self.nodes.append(
                    Node(
                        name=f"api{index}",
                        role="api",
                        address=f"{LOOPBACK}:{port}",
                        ports={"http": port},
                        log_path=str(self.root / f"api{index}.log"),
                    )
                )
        for node in self.api_nodes:
            self._start_api(node)
        self.save()
        for node in self.api_nodes:
            self._wait_api(node, deadline)

    def api_config(self, node: Node) -> Config:
        return Config(
            host=LOOPBACK,
            port=node.ports["http"],
            workers=self.options["workers"],
            engine="etcd",
            etcd_endpoints=",".join(self.endpoints),
            etcd_max_request_bytes=self.options["max_request_bytes"],
            ready_file=self._ready_file(node),
        )

    def _ready_file(self, node: Node) -> str:
        return str(self.root / f"{node.name}.ready")

    def _start_api(self, node: Node) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._ready_file(node))
        command = [
            sys.executable,
            "-m",
            "magnetodb.server.serve",
            *self.api_config(node).to_argv(),
        ]
        with open(str(node.log_path), "ab") as log:
            proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: kill_node takes all workers
            )
        node.pid = proc.pid

    def _wait_api(self, node: Node, deadline: float) -> None:
        """Until the server listens and its full health check (etcd included) answers OK."""
        url = f"http://{node.address}/healthcheck?fullcheck=true"
        while True:
            if not node.alive:
                raise RuntimeError(f"{node.name} exited:\n{tail(node.log_path)}")
            if os.path.exists(self._ready_file(node)):
                try:
                    with urllib.request.urlopen(url, timeout=5) as answer:
                        if answer.status == 200:
                            return
                except (OSError, urllib.error.HTTPError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not serve:\n{tail(node.log_path)}")
            time.sleep(0.05)

    def restart_node(self, index: int, timeout: float = 60.0) -> None:
        node = self.nodes[index]
        if node.role != "api":
            super().restart_node(index, timeout)
            return
        if group_alive(node.pid):
            raise ValueError(f"{node.name} is running")
        self._start_api(node)
        self.save()
        self._wait_api(node, time.monotonic() + timeout)

    def kill_node(self, index: int) -> Node:
        node = self.nodes[index]
        if node.role != "api":
            return super().kill_node(index)
        kill_group(node.pid)
        self.save()
        return node

    def down(self, timeout: float = 20.0) -> None:
        self.refresh()
        for node in self.api_nodes:
            stop_process(node.pid, timeout)  # graceful: the supervisor stops its workers
            kill_group(node.pid)  # and nothing of a killed supervisor's group is left
        super().down(timeout)


def group_alive(pgid: int | None) -> bool:
    if not pgid:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_group(pgid: int | None) -> None:
    """SIGKILL a process group (a server and its workers) and wait until it is gone."""
    if not group_alive(pgid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)  # type: ignore[arg-type]
    wait_gone(pgid, 10.0)
    deadline = time.monotonic() + 10.0
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
