"""What an etcd cluster must allow for a MagnetoDB store (light: no gRPC import).

The engine (:mod:`magnetodb.storage.etcd`) checks a transaction against these
before sending it, and the cluster harness (``bench.drive.clusters.etcd``)
starts etcd with them, so the two agree.
"""

from __future__ import annotations

#: etcd's ``--max-request-bytes`` for a MagnetoDB store: room for an item of the
#: server's 16 MiB limit with its index entries, and for a batch chunk of large
#: items (the seed's inverted sets). etcd's default (1.5 MiB) is too small for them.
ETCD_MAX_REQUEST_BYTES = 32 * 1024 * 1024
#: etcd's ``--max-txn-ops``: a batch chunk of 25 items with their index entries and
#: the comparisons of what its body read (etcd's default 128 is too small).
ETCD_MAX_TXN_OPS = 16384
