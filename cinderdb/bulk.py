"""Logical content for bulk loading: the same records into any backend, fast.

The DB API creates one entity per call, which is what a benchmark measures but
far too slow to seed 100k volumes. ``Backend.bulk_load(data)`` writes a
``BulkData`` in the backend's own layout (SQL: batched INSERTs or LOAD DATA;
MagnetoDB: batch_write_item of base items, index entries and inverted tables),
so both backends start a run from the same logical state. A big dataset comes
as a stream of ``BulkData`` parts (any iterable of them), loaded as one.

Every record is complete: all columns of its kind (``cinderdb.records``),
timestamps included. Child data rides on its parent under the keys below.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields

from cinderdb.records import Record


@dataclass
class BulkData:
    #: volume_type columns + ``extra_specs`` {key: value} + ``projects`` [project_id]
    volume_types: list[Record] = field(default_factory=list)
    #: ``{'id', 'name', 'consumer', 'specs': {key: value}}`` plus the four timestamp columns
    qos_specs: list[Record] = field(default_factory=list)
    #: consistencygroup columns
    consistencygroups: list[Record] = field(default_factory=list)
    #: volume columns + ``metadata`` {k: v} + ``admin_metadata`` {k: v}
    #: + ``attachments`` [attachment record]
    volumes: list[Record] = field(default_factory=list)
    #: cgsnapshot columns
    cgsnapshots: list[Record] = field(default_factory=list)
    #: snapshot columns + ``metadata`` {k: v}
    snapshots: list[Record] = field(default_factory=list)
    #: ``{'volume_id' | 'snapshot_id', 'key', 'value'}`` (one of the two ids set)
    glance_metadata: list[Record] = field(default_factory=list)
    #: quota records (project limits)
    quotas: list[Record] = field(default_factory=list)
    #: quota_class records (the ``default`` class is seeded by ``create_schema``)
    quota_classes: list[Record] = field(default_factory=list)
    #: quota_usage records
    quota_usages: list[Record] = field(default_factory=list)
    #: reservation records
    reservations: list[Record] = field(default_factory=list)

    def sections(self) -> Iterator[tuple[str, list[Record]]]:
        """``(name, records)`` in load order: parents before children."""
        for section in fields(self):
            yield section.name, getattr(self, section.name)

    def count(self) -> int:
        """How many top-level records there are in all sections."""
        return sum(len(records) for _, records in self.sections())


def parts_of(data: BulkData | Iterable[BulkData]) -> Iterator[BulkData]:
    """The parts of a bulk load: one ``BulkData``, or each of a stream of them (a big
    dataset generated a part at a time, ``bench.workload.datasets.stream_dataset``)."""
    if isinstance(data, BulkData):
        yield data
    else:
        yield from data


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a block (a bulk load, making its data,
    a validator's sweep), as it was after. Such a block makes millions of dicts and
    keeps many alive (a part, the inverted sets, a page), and the collector's passes
    over them were a quarter of the MagnetoDB loader's CPU at 300k volumes and half
    the validator's, for nothing: the data holds no cycles (the peak RSS is the same
    without them). Reference counting still frees the rest."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
