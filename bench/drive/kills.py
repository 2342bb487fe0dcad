"""A node of a cluster killed during the measured phase: ``--kill-node SIDE:N@SECONDS``.

``NodeKill`` is the request (node N, 1-based as ``cinderbench cluster status``
numbers them, of the cluster serving SIDE, SECONDS into the measured phase).
``SIDE-ROLE:N`` counts among the nodes of one role only: ``magnetodb-api:1`` is
the first MagnetoDB API server, ``magnetodb-etcd:2`` (as ``magnetodb:2``) the
second etcd member, ``sql-galera:1`` (as ``sql:1``) the first Galera node;
``KillSchedule`` carries it out: a timer per kill started with the measured
phase (``run_workload``'s ``on_start``) calls the cluster's ``kill_node``
(SIGKILL, as a crash), and the run goes on. The mechanism knows no engine: any
``bench.drive.clusters`` class plugs in through ``kill_node`` and ``serves``.

Why not a rule of the fault plan (``bench.drive.faults``): those fail chosen
requests of chosen DB API calls inside one backend's client, decided per
request; a node kill is one event in time, outside every client, that each
backend meets however its driver and pool notice it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.drive.clusters.base import Cluster, Node

_FORM = re.compile(r"^(?P<side>[a-z][a-z0-9_+-]*):(?P<node>\d+)@(?P<at>\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class NodeKill:
    """Kill node ``node`` (1-based) of the cluster serving ``side``, ``at`` seconds into
    the measured phase."""

    #: the side, or ``SIDE-ROLE`` to count among the nodes of one role
    side: str
    node: int
    at: float

    @property
    def cluster_side(self) -> str:
        """The side whose cluster holds the node (``magnetodb`` for ``magnetodb-api``)."""
        return self.side.partition("-")[0]

    @property
    def role(self) -> str | None:
        """The role the node number counts among (``api``), None: among every node."""
        return self.side.partition("-")[2] or None

    def target(self, cluster: Cluster) -> tuple[int, Node]:
        """The node's index in ``cluster.nodes`` and the node; a ValueError naming how many
        there are when the cluster has no such node."""
        indices = [i for i, node in enumerate(cluster.nodes) if self.role in (None, node.role)]
        if self.node > len(indices):
            what = f"{self.role} nodes" if self.role else "nodes"
            roles = ", ".join(sorted({node.role for node in cluster.nodes}))
            raise ValueError(
                f"--kill-node {self}: the {self.cluster_side} cluster has {len(indices)} {what}"
                f" (roles: {roles})"
            )
        index = indices[self.node - 1]
        return index, cluster.nodes[index]

    @classmethod
    def parse(cls, text: str) -> NodeKill:
        """``SIDE:N@SECONDS`` (``sql:2@10``); anything else is a ValueError naming the form."""
        match = _FORM.match(text.strip())
        if match is None:
            raise ValueError(f"a node kill is SIDE:N@SECONDS (e.g. sql:2@10), not {text!r}")
        node = int(match["node"])
        if node < 1:
            raise ValueError(f"nodes are numbered from 1 (node1, node2...), not {node}")
        return cls(match["side"], node, float(match["at"]))

    def __str__(self) -> str:
        return f"{self.side}:{self.node}@{self.at:g}"


class KillSchedule:
    """Timers that kill nodes during the measured phase, and what each kill did."""

    def __init__(
        self,
        kills: Sequence[NodeKill],
        clusters: Mapping[str, Cluster],
        backends: Sequence[tuple[str, str]],
    ) -> None:
        for kill in kills:
            cluster = clusters.get(kill.cluster_side)
            if cluster is None:
                raise ValueError(
                    f"--kill-node {kill}: no {kill.cluster_side} cluster is known to this run"
                )
            kill.target(cluster)
        self.kills = list(kills)
        self.clusters = dict(clusters)
        self.backends = list(backends)
        self.records: list[dict[str, Any]] = []
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()
        self._started_epoch: float | None = None

    def start(self, started_epoch: float) -> None:
        """The measured phase began at ``started_epoch``: arm a timer per kill."""
        self._started_epoch = started_epoch
        for kill in self.kills:
            delay = max(0.0, started_epoch + kill.at - time.time())
            timer = threading.Timer(delay, self._fire, args=(kill,))
            timer.daemon = True
            timer.name = f"kill-{kill}"
            self._timers.append(timer)
            timer.start()

    def _fire(self, kill: NodeKill) -> None:
        cluster = self.clusters[kill.cluster_side]
        index, _ = kill.target(cluster)
        epoch = time.time()
        node = cluster.kill_node(index)
        record = {
            "request": str(kill),
            "side": kill.cluster_side,
            "node": kill.node,
            "name": node.name,
            "role": node.role,
            "address": node.address,
            "pid": node.pid,
            "planned_s": kill.at,
            "second": round(epoch - (self._started_epoch or epoch), 3),
            "epoch": epoch,
            "labels": [label for label, url in self.backends if cluster.serves(url)],
        }
        with self._lock:
            self.records.append(record)

    def stop(self) -> list[dict[str, Any]]:
        """Cancel kills the run ended before; every kill's record (``"killed": False``
        for those that never happened)."""
        for timer in self._timers:
            timer.cancel()
        for timer in self._timers:
            if timer.is_alive():
                timer.join(15.0)
        with self._lock:
            done = {record["request"] for record in self.records}
            records = [{**record, "killed": True} for record in self.records]
        for kill in self.kills:
            if str(kill) not in done:
                records.append(
                    {
                        "request": str(kill),
                        "side": kill.cluster_side,
                        "node": kill.node,
                        "planned_s": kill.at,
                        "killed": False,
                    }
                )
        return records
