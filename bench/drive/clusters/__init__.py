"""Clusters of real engines on this machine, one class per side of the comparison.

``CLUSTERS`` maps a side to the class that starts its cluster (``"module:Class"``,
imported only when asked for, as ``cinderdb.BACKENDS``). Adding a side is one
line here: ``cinderbench cluster up SIDE`` builds its options from the class's
``options_spec``, ``compare --cluster N`` starts one per side it lists, and
``--kill-node SIDE:N@SECONDS`` calls its ``kill_node``.

A cluster lives in a root directory (``cluster.json`` there describes it); each
side has a default root, where ``cinderbench cluster up SIDE`` puts it and where
``run``/``compare`` look for it when no ``--cluster-root`` is given.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

from bench.drive.clusters.base import STATE_FILE, Cluster, ClusterError

__all__ = [
    "CLUSTERS",
    "Cluster",
    "ClusterError",
    "cluster_class",
    "default_root",
    "find_cluster",
    "new_root",
]

#: side -> "module:Class" of the cluster that serves it
CLUSTERS: dict[str, str] = {
    "sql": "bench.drive.clusters.galera:GaleraCluster",
    "magnetodb": "bench.drive.clusters.magnetodb:MagnetoDBCluster",
}


def cluster_class(side: str) -> type[Cluster]:
    """The cluster class of ``side``; an unknown side lists the known ones."""
    try:
        target = CLUSTERS[side]
    except KeyError:
        known = ", ".join(sorted(CLUSTERS))
        raise ValueError(f"no cluster for side {side!r}; sides with one: {known}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def default_root(side: str) -> Path:
    """Where ``cinderbench cluster up SIDE`` keeps its cluster unless told otherwise."""
    return Path(tempfile.gettempdir()) / f"cinderbench-cluster-{side}"


def new_root(side: str) -> Path:
    """A fresh, uniquely named root for a cluster a command or a test starts for itself
    (under the temporary directory, where a node's service user can reach it)."""
    return Path(tempfile.mkdtemp(prefix=f"cinderbench-{side}-cluster-"))


def find_cluster(side: str | None = None, root: str | Path | None = None) -> Cluster | None:
    """The cluster recorded in ``root`` (or in ``side``'s default root); None when none is."""
    if root is None:
        if side is None:
            raise ValueError("name a side or a root")
        root = default_root(side)
    if not (Path(root) / STATE_FILE).exists():
        return None
    return Cluster.load(root)
