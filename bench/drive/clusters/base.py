"""What every cluster of real engines shares: nodes as processes, a root directory, a state file.

A cluster runs on this machine (its nodes on their own loopback ports, each
with a data directory of its own under the cluster's root). ``cluster.json``
in the root records the nodes and the URLs clients use, so a cluster started by
one process (``cinderbench cluster up``) can be inspected, have a node killed,
and be taken down by another (``cinderbench cluster down``). Taking a cluster
down stops every process it started and removes its root: nothing is left
running or on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

STATE_FILE = "cluster.json"


class ClusterError(Exception):
    """A cluster that cannot start, or a cluster asked for that is not there: one line for
    the user (what failed and where its log is), not a traceback."""


@dataclass(frozen=True)
class ClusterOption:
    """A side-specific option of ``cinderbench cluster up SIDE`` (``--api-servers``,
    ``--flush``...): declared by the cluster class, passed to it as the keyword ``dest``."""

    flag: str
    dest: str
    help: str
    type: Callable[[str], Any] = str
    default: Any = None
    choices: tuple[Any, ...] | None = None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def pid_alive(pid: int | None) -> bool:
    """Is ``pid`` a running process? An exited child of ours is reaped here, and a zombie
    (a killed node whose parent has not reaped it yet, seen from another process) is dead."""
    if not pid:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


@dataclass
class Node:
    """One process of a cluster: an engine node (galera, etcd) or a MagnetoDB API server."""

    name: str
    role: str
    #: host:port clients of this node connect to
    address: str
    pid: int | None = None
    data_dir: str | None = None
    #: every port the node listens on, by purpose ("client", "peer", "sst", ...)
    ports: dict[str, int] = field(default_factory=dict)
    log_path: str | None = None

    @property
    def alive(self) -> bool:
        return pid_alive(self.pid)


class Cluster(ABC):
    """A cluster of one engine on this machine, kept in ``root``.

    Subclasses start the nodes (``up``) and say which backend URL reaches the
    whole cluster (``backend_url``); stopping, killing a node and the state
    file are written here once.
    """

    #: which side of the comparison it serves: "sql" or "magnetodb"
    side: ClassVar[str]
    #: the options of ``cinderbench cluster up SIDE`` beyond ``--nodes`` and ``--root``
    options_spec: ClassVar[tuple[ClusterOption, ...]] = ()

    def __init__(self, root: str | Path, nodes: list[Node] | None = None, **options: Any) -> None:
        self.root = Path(root)
        self.nodes: list[Node] = nodes or []
        self.options: dict[str, Any] = options

    # ------------------------------------------------------------------ lifecycle
    @abstractmethod
    def up(self, timeout: float = 60.0) -> None:
        """Start every node and wait until the cluster serves; saves the state file."""

    @abstractmethod
    def backend_url(self, **choices: Any) -> str:
        """The ``cinderdb`` backend URL that reaches the whole cluster."""

    @abstractmethod
    def restart_node(self, index: int, timeout: float = 60.0) -> None:
        """Start a stopped or killed node again and wait until it has rejoined."""

    def down(self, timeout: float = 20.0) -> None:
        """Stop every node (SIGTERM to all at once, then SIGKILL) with the processes it
        started (its process group: a state transfer's helpers), and remove the root."""
        stop_processes([node.pid for node in self.nodes], timeout)
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        """Is any node's process alive?"""
        return any(node.alive for node in self.nodes)

    def serves(self, url: str) -> bool:
        """Does the backend URL ``url`` reach this cluster (names one of its nodes)?"""
        return any(node.address in url for node in self.nodes)

    def node_url(self, node: Node) -> str:
        """What a client of this one node connects to (its address unless a class knows more)."""
        return node.address

    def status(self) -> list[dict[str, Any]]:
        """One entry per node: name, role, address, pid, alive (classes add engine state)."""
        return [
            {
                "name": node.name,
                "role": node.role,
                "address": node.address,
                "pid": node.pid,
                "alive": node.alive,
            }
            for node in self.nodes
        ]

    def kill_node(self, index: int) -> Node:
        """SIGKILL one node, as a crash would; the others go on."""
        node = self.nodes[index]
        if node.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.pid, signal.SIGKILL)
            wait_gone(node.pid, 10.0)
        self.save()
        return node

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "root": str(self.root),
            "options": self.options,
            "nodes": [asdict(node) for node in self.nodes],
            "url": self.backend_url(),
        }

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, root: str | Path) -> Cluster:
        """The cluster recorded in ``root`` (by whichever process started it)."""
        import importlib

        path = Path(root) / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"no cluster in {root} ({STATE_FILE} missing)") from None
        module_name, class_name = data["class"].split(":")
        klass = getattr(importlib.import_module(module_name), class_name)
        nodes = [Node(**node) for node in data["nodes"]]
        return klass(data["root"], nodes=nodes, **data["options"])

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> Cluster:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()


def stop_processes(pids: list[int | None], timeout: float = 20.0) -> None:
    """SIGTERM every process (its whole group when it leads one) at once, wait up to
    ``timeout`` for all, SIGKILL what is left."""
    live = [pid for pid in pids if pid_alive(pid)]
    for pid in live:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in live:
        if not wait_gone(pid, max(0.0, deadline - time.monotonic())):
            _signal_group(pid, signal.SIGKILL)
            wait_gone(pid, 10.0)
    for pid in live:  # helpers left in a group whose leader exited (an SST's rsync)
        _signal_group(pid, signal.SIGKILL, leader_gone=True)


def _signal_group(pid: int, signum: int, *, leader_gone: bool = False) -> None:
    """Signal ``pid``'s process group when ``pid`` leads one (nodes start in sessions of
    their own), else ``pid`` alone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if leader_gone or os.getpgid(pid) == pid:
            os.killpg(pid, signum)
            return
    if not leader_gone:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def stop_process(pid: int | None, timeout: float = 20.0) -> None:
    """SIGTERM ``pid`` and wait; SIGKILL it if it is still there after ``timeout``."""
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 10.0)


def wait_gone(pid: int | None, timeout: float) -> bool:
    """Wait until ``pid`` has exited (reaping it when it is our child); True if it has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)
