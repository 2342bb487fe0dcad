"""The operation catalog: every Cinder operation of issue #5 as plan / execute / settle.

``CATALOG`` maps an operation name to its ``Operation`` (see
``bench.workload.catalog.base`` for the three steps and why they are split). Each area
module lists its operations in ``OPERATIONS``; this file only gathers them.
"""

from __future__ import annotations

from bench.workload.catalog import (
    attach,
    groups,
    listing,
    metadata,
    quotas,
    snapshots,
    types,
    volumes,
)
from bench.workload.catalog.base import Operation, Plan, Target

__all__ = ["CATALOG", "Operation", "Plan", "Target"]

#: operation name -> operation, in the order the areas are listed
CATALOG: dict[str, Operation] = {
    operation.name: operation
    for module in (volumes, listing, metadata, attach, snapshots, types, quotas, groups)
    for operation in module.OPERATIONS
}
