"""Bulk loading of a ``BulkData`` (or a stream of them), bypassing the API.

Parents go before children so every FOREIGN KEY holds while loading (QoS specs
before the volume types naming them, groups before volumes, usages before
reservations). Child rows of a soft-deleted parent are soft-deleted with it, as
the destroy functions would have left them. One transaction, however many parts
a stream has: a bad record loads nothing.

How rows reach the database (``cinderdb.sql.bulk_writers``): on MySQL/MariaDB,
one ``LOAD DATA INFILE`` per table (a CSV file the batches are spooled to,
sorted by key when the key is a UUID, read by the server itself when it can),
loaded by a thread while the next parts are made, on a connection of its own
with ``foreign_key_checks`` and ``unique_checks`` off for that session (the
records are checked here first, parents before children, and every statement's
loaded row count and warnings are checked after): into the empty tables of a
fresh schema, InnoDB then builds each table's indexes by sorting. On SQLite,
executemany INSERTs. The garbage collector is paused meanwhile (``gc_paused``).
Neither is what Cinder does (it writes a row at a time through the ORM): this is
a loader, not a workload. The server's durability settings are left as they are;
the one transaction commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from cinderdb import exception
from cinderdb.base import new_id
from cinderdb.bulk import BulkData, gc_paused, parts_of
from cinderdb.records import TIMESTAMPS, Record, coerce_metadata, coerce_values, column_names
from cinderdb.sql import galera, models
from cinderdb.sql.bulk_writers import Writer, open_writer
from cinderdb.sql.core import SQLCore
from cinderdb.sql.qos import ROOT_KEY

#: Top-level records per batch (children of a batch go with it).
CHUNK = 2000

#: The ``deleted`` / ``deleted_at`` of a parent, copied onto its key/value children.
_LIFECYCLE = ("deleted", "deleted_at")
_TIMESTAMP_NAMES = tuple(f.name for f in TIMESTAMPS)


def _chunks(records: Sequence[Record], size: int) -> Iterator[Sequence[Record]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def _row(kind: str, record: Record, **fixed: Any) -> dict[str, Any]:
    """Every column of a record, checked like any API write, ``deleted`` never NULL.

    Every row of a batch has the same keys, so each batch stays one executemany.
    """
    row = dict.fromkeys(column_names(kind))
    row.update(coerce_values(kind, {**record, **fixed}))
    if row.get("deleted") is None:
        row["deleted"] = False
    return row


def _children(
    parent: dict[str, Any], pairs: Any, link: dict[str, Any], *, inherit: bool = True
) -> Iterable[dict[str, Any]]:
    """Key/value child rows of one parent, stamped with its created_at (and lifecycle)."""
    if not pairs:
        return []
    pairs = coerce_metadata(pairs)
    stamp = {"created_at": parent.get("created_at"), "deleted": False, "deleted_at": None}
    if inherit:
        stamp.update({name: parent.get(name) for name in _LIFECYCLE})
        stamp["deleted"] = bool(stamp["deleted"])
    return ({**link, **stamp, "key": key, "value": value} for key, value in pairs.items())


class BulkLoadFunctions(SQLCore):
    """Bulk loading of a BulkData with multi-row INSERTs."""

    def bulk_load(
        self,
        data: BulkData | Iterable[BulkData],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        report = progress or (lambda _n: None)
        url = galera.first_live_url(self.nodes) if self.nodes is not None else None
        with gc_paused(), open_writer(self.engine, self.dialect, url) as writer:
            load = _Load(writer, report)
            for part in parts_of(data):
                load.part(part)
                writer.end_part()


class _Load:
    """One bulk load inside one transaction: a method per BulkData section."""

    def __init__(self, writer: Writer, report: Callable[[int], None]) -> None:
        self.writer = writer
        self.report = report

    def part(self, data: BulkData) -> None:
        self.qos_specs(data.qos_specs)
        self.volume_types(data.volume_types)
        self.plain(models.ConsistencyGroup, "consistencygroup", data.consistencygroups)
        self.volumes(data.volumes)
        self.plain(models.Cgsnapshot, "cgsnapshot", data.cgsnapshots)
        self.snapshots(data.snapshots)
        self.glance(data.glance_metadata)
        self.plain(models.Quota, "quota", data.quotas)
        self.plain(models.QuotaClass, "quota_class", data.quota_classes)
        self.plain(models.QuotaUsage, "quota_usage", data.quota_usages)
        self.reservations(data.reservations)

    def insert(self, model: type, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.writer.insert(model.__table__, rows)  # type: ignore[attr-defined]

    def plain(self, model: type, kind: str, records: Sequence[Record]) -> None:
        for chunk in _chunks(records, CHUNK):
            self.insert(model, [_row(kind, record) for record in chunk])
            self.report(len(chunk))

    def qos_specs(self, records: Sequence[Record]) -> None:
        """A root row (key 'QoS_Specs_Name', value the name) and one child per spec,
        ``consumer`` included as an ordinary child, as ``qos_specs_create`` writes them."""
        for chunk in _chunks(records, CHUNK):
            roots, children = [], []
            for record in chunk:
                stamp = {name: record.get(name) for name in _TIMESTAMP_NAMES}
                stamp["deleted"] = bool(stamp["deleted"])
                root_id = str(record["id"])
                name = coerce_metadata({ROOT_KEY: record["name"]})[ROOT_KEY]
                roots.append(
                    {
                        **stamp,
                        "id": root_id,
                        "specs_id": None,
                        "key": ROOT_KEY,
                        "value": name,
                    }
                )
                specs = dict(record.get("specs") or {})
                if record.get("consumer") is not None:
                    specs["consumer"] = record["consumer"]
                specs = coerce_metadata(specs)
                children.extend(
                    {**stamp, "id": new_id(), "specs_id": root_id, "key": key, "value": value}
                    for key, value in specs.items()
                )
            self.insert(models.QualityOfServiceSpecs, roots)
            self.insert(models.QualityOfServiceSpecs, children)
            self.report(len(chunk))

    def volume_types(self, records: Sequence[Record]) -> None:
        for chunk in _chunks(records, CHUNK):
            types, specs, access = [], [], []
            for record in chunk:
                row = _row("volume_type", record)
                if row.get("is_public") is None:
                    row["is_public"] = True
                types.append(row)
                link = {"volume_type_id": row["id"]}
                specs.extend(_children(row, record.get("extra_specs"), link))
                access.extend(
                    {
                        **link,
                        "project_id": project,
                        "created_at": row.get("created_at"),
                        "deleted": False,
                    }
                    for project in record.get("projects") or ()
                )
            self.insert(models.VolumeTypes, types)
            self.insert(models.VolumeTypeExtraSpecs, specs)
            self.insert(models.VolumeTypeProjects, access)
            self.report(len(chunk))

    def volumes(self, records: Sequence[Record]) -> None:
        for chunk in _chunks(records, CHUNK):
            volumes, metadata, admin, attachments = [], [], [], []
            for record in chunk:
                row = _row("volume", record)
                for flag in ("bootable", "multiattach"):
                    if row.get(flag) is None:
                        row[flag] = False
                volumes.append(row)
                link = {"volume_id": row["id"]}
                metadata.extend(_children(row, record.get("metadata"), link))
                admin.extend(_children(row, record.get("admin_metadata"), link))
                attachments.extend(
                    _row("attachment", attachment, volume_id=row["id"])
                    for attachment in record.get("attachments") or ()
                )
            self.insert(models.Volume, volumes)
            self.insert(models.VolumeMetadata, metadata)
            self.insert(models.VolumeAdminMetadata, admin)
            self.insert(models.VolumeAttachment, attachments)
            self.report(len(chunk))

    def snapshots(self, records: Sequence[Record]) -> None:
        for chunk in _chunks(records, CHUNK):
            snapshots, metadata = [], []
            for record in chunk:
                row = _row("snapshot", record)
                snapshots.append(row)
                metadata.extend(_children(row, record.get("metadata"), {"snapshot_id": row["id"]}))
            self.insert(models.Snapshot, snapshots)
            self.insert(models.SnapshotMetadata, metadata)
            self.report(len(chunk))

    def glance(self, records: Sequence[Record]) -> None:
        for chunk in _chunks(records, CHUNK):
            rows = []
            for record in chunk:
                row = _row("glance_metadata", record)
                if (row.get("volume_id") is None) == (row.get("snapshot_id") is None):
                    raise exception.InvalidInput(
                        reason="glance metadata names exactly one of volume_id, snapshot_id"
                    )
                rows.append({**row, "created_at": record.get("created_at"), "deleted": False})
            self.insert(models.VolumeGlanceMetadata, rows)
            self.report(len(chunk))

    def reservations(self, records: Sequence[Record]) -> None:
        """Each reservation points at its project's usage row for the resource (a live one
        when there is one), found after the usages are in."""
        if not records:
            return
        usage_ids: dict[tuple[Any, Any], int] = {}
        rows = self.writer.connection.execute(
            sa.select(
                models.QuotaUsage.id,
                models.QuotaUsage.project_id,
                models.QuotaUsage.resource,
            ).order_by(models.QuotaUsage.deleted.desc(), models.QuotaUsage.id)
        )
        for usage_id, project_id, resource in rows:
            usage_ids[(project_id, resource)] = usage_id
        for chunk in _chunks(records, CHUNK):
            batch = []
            for record in chunk:
                row = _row("reservation", record)
                try:
                    row["usage_id"] = usage_ids[(row.get("project_id"), row.get("resource"))]
                except KeyError:
                    raise exception.InvalidInput(
                        reason=f"reservation {row.get('uuid')} has no quota usage "
                        f"for {row.get('project_id')}/{row.get('resource')}"
                    ) from None
                batch.append(row)
            self.insert(models.Reservation, batch)
            self.report(len(chunk))
