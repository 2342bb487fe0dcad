"""``cinderbench bench magnetodb --engine etcd``: the MagnetoDB server over a 3-node etcd
cluster next to the same server over LMDB, the same operations interleaved in one run.

The etcd side is the production shape (``bench.drive.clusters.magnetodb``): API
servers over an etcd Raft cluster, every commit replicated to a majority and
fsync'ed to each member's WAL. The LMDB side is the single-node server of the
main table. The ratio per operation is what replication and consensus cost the
design's requests.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from hdrh.histogram import HdrHistogram


def compare_etcd(
    args: Any,
    lmdb_side: Any,
    magneto_class: type,
    ops: list[tuple[str, str, str]],
    interleaved: Callable[..., tuple[HdrHistogram, HdrHistogram]],
    columns: Callable[[HdrHistogram], str],
) -> None:
    """Start the cluster, time it, and print the etcd-vs-LMDB table."""
    from bench.drive.clusters.magnetodb import MagnetoDBCluster
    from magnetodb.client import connect

    with tempfile.TemporaryDirectory(prefix="cinderbench-etcd-") as root:
        cluster = MagnetoDBCluster(root, size=args.etcd_nodes, api_servers=args.api_servers)
        started = time.perf_counter()
        try:
            cluster.up()
            up_seconds = time.perf_counter() - started
            url = cluster.backend_url().removeprefix("magnetodb://").rsplit("/", 1)[0]
            etcd_side = magneto_class(connect(f"http://{url}", "bench"))
            print(
                f"\netcd: {args.etcd_nodes}-node etcd 3.4 cluster (Raft, WAL fsync per commit),"
                f" {args.api_servers} MagnetoDB API servers x {cluster.options['workers']} workers"
                f" over it; cluster up in {up_seconds:.1f} s"
            )
            cols = f"{'p50 µs':>8}{'p99 µs':>8}{'ops/s':>8}"
            head = f"{'operation':<22}{'etcd ' + cols:>29}   {'LMDB ' + cols:>29}{'p50 ratio':>11}"
            print(head)
            print("-" * len(head))
            for label, name, _sql in ops:
                h_etcd, h_lmdb = interleaved(
                    getattr(etcd_side, name), getattr(lmdb_side, name), args.duration
                )
                ratio = h_etcd.get_value_at_percentile(50) / max(
                    1, h_lmdb.get_value_at_percentile(50)
                )
                print(f"{label:<22}     {columns(h_etcd)}        {columns(h_lmdb)}{ratio:>10.2f}x")
            print(
                "* writes: etcd fsyncs its WAL on a majority per commit, the LMDB server of this"
                " benchmark does not fsync: not like for like"
            )
            etcd_side.c.close()
        finally:
            cluster.down()
