"""The MySQL schema of the seed: its 24 tables, as Cinder Liberty maps them.

Columns, keys and foreign keys follow the seed's CREATE TABLE statements; the
seven tables the seed only names ("Rest") follow Liberty's models. The
relationships carry Liberty's built-in ``deleted`` filters, because they decide
what an eager load returns (brief §3.2).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

# MySQL defaults: InnoDB, utf8 as the seed; utf8mb4 so any unicode round-trips.
MYSQL_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class Base(DeclarativeBase):
    pass


class CinderBase:
    """The four columns every Cinder table has."""

    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool | None] = mapped_column(Boolean, default=False)


# ----------------------------------------------------------------- volumes


class Volume(CinderBase, Base):
    __tablename__ = "volumes"
    __table_args__ = (Index("consistencygroup_id", "consistencygroup_id"), MYSQL_TABLE_ARGS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ec2_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(Integer)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(255))
    attach_status: Mapped[str | None] = mapped_column(String(255))
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    launched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    provider_location: Mapped[str | None] = mapped_column(String(256))
    provider_auth: Mapped[str | None] = mapped_column(String(256))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    volume_type_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    bootable: Mapped[bool | None] = mapped_column(Boolean, default=False)
    provider_geometry: Mapped[str | None] = mapped_column(String(255))
    _name_id: Mapped[str | None] = mapped_column("_name_id", String(36))
    encryption_key_id: Mapped[str | None] = mapped_column(String(36))
    migration_status: Mapped[str | None] = mapped_column(String(255))
    replication_status: Mapped[str | None] = mapped_column(String(255))
    replication_extended_status: Mapped[str | None] = mapped_column(String(255))
    replication_driver_data: Mapped[str | None] = mapped_column(String(255))
    consistencygroup_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("consistencygroups.id")
    )
    provider_id: Mapped[str | None] = mapped_column(String(255))
    multiattach: Mapped[bool | None] = mapped_column(Boolean, default=False)

    volume_metadata: Mapped[list[VolumeMetadata]] = relationship(
        primaryjoin=lambda: and_(
            Volume.id == VolumeMetadata.volume_id, VolumeMetadata.deleted == false()
        ),
        viewonly=True,
        lazy="select",
    )
    volume_admin_metadata: Mapped[list[VolumeAdminMetadata]] = relationship(
        primaryjoin=lambda: and_(
            Volume.id == VolumeAdminMetadata.volume_id, VolumeAdminMetadata.deleted == false()
        ),
        viewonly=True,
        lazy="select",
    )
    volume_attachment: Mapped[list[VolumeAttachment]] = relationship(
        primaryjoin=lambda: and_(
            Volume.id == VolumeAttachment.volume_id, VolumeAttachment.deleted == false()
        ),
        viewonly=True,
        lazy="select",
    )
    volume_type: Mapped[VolumeTypes | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(Volume.volume_type_id) == VolumeTypes.id, VolumeTypes.deleted == false()
        ),
        viewonly=True,
        lazy="select",
    )
    consistencygroup: Mapped[ConsistencyGroup | None] = relationship(
        primaryjoin=lambda: foreign(Volume.consistencygroup_id) == ConsistencyGroup.id,
        viewonly=True,
        lazy="select",
    )


class VolumeMetadata(CinderBase, Base):
    __tablename__ = "volume_metadata"
    __table_args__ = (Index("volume_metadata_volume_id", "volume_id"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volumes.id"), nullable=False)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))


class VolumeAdminMetadata(CinderBase, Base):
    __tablename__ = "volume_admin_metadata"
    __table_args__ = (Index("volume_admin_metadata_volume_id", "volume_id"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volumes.id"), nullable=False)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))


class VolumeAttachment(CinderBase, Base):
    __tablename__ = "volume_attachment"
    __table_args__ = (Index("volume_attachment_volume_id", "volume_id"), MYSQL_TABLE_ARGS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volumes.id"), nullable=False)
    attached_host: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    detach_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attach_mode: Mapped[str | None] = mapped_column(String(36))
    attach_status: Mapped[str | None] = mapped_column(String(255))


class VolumeGlanceMetadata(CinderBase, Base):
    __tablename__ = "volume_glance_metadata"
    __table_args__ = (
        Index("volume_glance_metadata_volume_id", "volume_id"),
        Index("volume_glance_metadata_snapshot_id", "snapshot_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("volumes.id"))
    snapshot_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("snapshots.id"))
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)


# ------------------------------------------------------------ volume types


class VolumeTypes(CinderBase, Base):
    __tablename__ = "volume_types"
    __table_args__ = (Index("volume_types_qos_specs_id", "qos_specs_id"), MYSQL_TABLE_ARGS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    qos_specs_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("quality_of_service_specs.id")
    )
    is_public: Mapped[bool | None] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(255))

    extra_specs: Mapped[list[VolumeTypeExtraSpecs]] = relationship(
        primaryjoin=lambda: and_(
            VolumeTypes.id == VolumeTypeExtraSpecs.volume_type_id,
            VolumeTypeExtraSpecs.deleted == false(),
        ),
        viewonly=True,
        lazy="select",
    )
    projects: Mapped[list[VolumeTypeProjects]] = relationship(
        primaryjoin=lambda: and_(
            VolumeTypes.id == VolumeTypeProjects.volume_type_id,
            VolumeTypeProjects.deleted == false(),
        ),
        viewonly=True,
        lazy="select",
    )
    qos_specs: Mapped[list[QualityOfServiceSpecs]] = relationship(
        primaryjoin=lambda: and_(
            or_(
                foreign(VolumeTypes.qos_specs_id) == QualityOfServiceSpecs.id,
                foreign(VolumeTypes.qos_specs_id) == QualityOfServiceSpecs.specs_id,
            ),
            QualityOfServiceSpecs.deleted == false(),
        ),
        uselist=True,  # the foreign column is on this side, yet it is the root and its children
        viewonly=True,
        lazy="select",
    )


class VolumeTypeProjects(CinderBase, Base):
    __tablename__ = "volume_type_projects"
    __table_args__ = (
        UniqueConstraint("volume_type_id", "project_id", "deleted", name="volume_type_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_type_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("volume_types.id"))
    project_id: Mapped[str | None] = mapped_column(String(255))


class VolumeTypeExtraSpecs(CinderBase, Base):
    __tablename__ = "volume_type_extra_specs"
    __table_args__ = (
        Index("volume_type_extra_specs_ibfk_1", "volume_type_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id"), nullable=False
    )
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))


class QualityOfServiceSpecs(CinderBase, Base):
    """Root rows (``specs_id`` NULL, key 'QoS_Specs_Name') and their child key/value rows."""

    __tablename__ = "quality_of_service_specs"
    __table_args__ = (Index("quality_of_service_specs_specs_id", "specs_id"), MYSQL_TABLE_ARGS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    specs_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("quality_of_service_specs.id")
    )
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))

    specs: Mapped[list[QualityOfServiceSpecs]] = relationship(
        primaryjoin=lambda: QualityOfServiceSpecs.id == foreign(QualityOfServiceSpecs.specs_id),
        viewonly=True,
        lazy="select",
    )


# -------------------------------------------------------------- snapshots


class Snapshot(CinderBase, Base):
    __tablename__ = "snapshots"
    __table_args__ = (
        Index("snapshots_volume_id_fkey", "volume_id"),
        Index("cgsnapshot_id", "cgsnapshot_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volumes.id"), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(255))
    progress: Mapped[str | None] = mapped_column(String(255))
    volume_size: Mapped[int | None] = mapped_column(Integer)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    provider_location: Mapped[str | None] = mapped_column(String(255))
    encryption_key_id: Mapped[str | None] = mapped_column(String(36))
    volume_type_id: Mapped[str | None] = mapped_column(String(36))
    cgsnapshot_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("cgsnapshots.id"))
    provider_id: Mapped[str | None] = mapped_column(String(255))

    volume: Mapped[Volume] = relationship(
        primaryjoin=lambda: foreign(Snapshot.volume_id) == Volume.id,
        viewonly=True,
        lazy="select",
    )
    snapshot_metadata: Mapped[list[SnapshotMetadata]] = relationship(
        primaryjoin=lambda: and_(
            Snapshot.id == SnapshotMetadata.snapshot_id, SnapshotMetadata.deleted == false()
        ),
        viewonly=True,
        lazy="select",
    )


class SnapshotMetadata(CinderBase, Base):
    __tablename__ = "snapshot_metadata"
    __table_args__ = (Index("snapshot_metadata_snapshot_id", "snapshot_id"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[str] = mapped_column(String(36), ForeignKey("snapshots.id"), nullable=False)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))


# ---------------------------------------------------- consistency groups


class ConsistencyGroup(CinderBase, Base):
    __tablename__ = "consistencygroups"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    volume_type_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(255))
    cgsnapshot_id: Mapped[str | None] = mapped_column(String(36))


class Cgsnapshot(CinderBase, Base):
    __tablename__ = "cgsnapshots"
    __table_args__ = (
        Index("cgsnapshots_consistencygroup_id", "consistencygroup_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consistencygroup_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("consistencygroups.id"), nullable=False
    )
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(255))


# ------------------------------------------------------------------ quotas


class Quota(CinderBase, Base):
    __tablename__ = "quotas"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str | None] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255), nullable=False)
    hard_limit: Mapped[int | None] = mapped_column(Integer)


class QuotaClass(CinderBase, Base):
    __tablename__ = "quota_classes"
    __table_args__ = (Index("ix_quota_classes_class_name", "class_name"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_name: Mapped[str | None] = mapped_column(String(255))
    resource: Mapped[str | None] = mapped_column(String(255))
    hard_limit: Mapped[int | None] = mapped_column(Integer)


class QuotaUsage(CinderBase, Base):
    __tablename__ = "quota_usages"
    __table_args__ = (Index("ix_quota_usages_project_id", "project_id"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str | None] = mapped_column(String(255))
    resource: Mapped[str | None] = mapped_column(String(255))
    in_use: Mapped[int] = mapped_column(Integer, nullable=False)
    reserved: Mapped[int] = mapped_column(Integer, nullable=False)
    until_refresh: Mapped[int | None] = mapped_column(Integer)


class Reservation(CinderBase, Base):
    __tablename__ = "reservations"
    __table_args__ = (
        Index("usage_id", "usage_id"),
        Index("ix_reservations_project_id", "project_id"),
        Index("reservations_deleted_expire_idx", "deleted", "expire"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    usage_id: Mapped[int] = mapped_column(Integer, ForeignKey("quota_usages.id"), nullable=False)
    project_id: Mapped[str | None] = mapped_column(String(255))
    resource: Mapped[str | None] = mapped_column(String(255))
    delta: Mapped[int] = mapped_column(Integer, nullable=False)
    expire: Mapped[dt.datetime | None] = mapped_column(DateTime)

    usage: Mapped[QuotaUsage] = relationship(
        primaryjoin=lambda: and_(
            foreign(Reservation.usage_id) == QuotaUsage.id, QuotaUsage.deleted == false()
        ),
        viewonly=True,
        lazy="select",
    )


# --------------------------------------------- the seed's "Rest" tables


class Backup(CinderBase, Base):
    __tablename__ = "backups"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    container: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str | None] = mapped_column(String(255))
    fail_reason: Mapped[str | None] = mapped_column(String(255))
    service_metadata: Mapped[str | None] = mapped_column(String(255))
    service: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(Integer)
    object_count: Mapped[int | None] = mapped_column(Integer)
    temp_volume_id: Mapped[str | None] = mapped_column(String(36))
    temp_snapshot_id: Mapped[str | None] = mapped_column(String(36))
    num_dependent_backups: Mapped[int | None] = mapped_column(Integer)


class DriverInitiatorData(Base):
    __tablename__ = "driver_initiator_data"
    __table_args__ = (
        UniqueConstraint("initiator", "namespace", "key", name="driver_initiator_data_key"),
        MYSQL_TABLE_ARGS,
    )

    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    initiator: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    namespace: Mapped[str] = mapped_column(String(255), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[str | None] = mapped_column(String(255))


class Encryption(CinderBase, Base):
    __tablename__ = "encryption"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    encryption_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cipher: Mapped[str | None] = mapped_column(String(255))
    control_location: Mapped[str | None] = mapped_column(String(255))
    key_size: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str | None] = mapped_column(String(255))
    volume_type_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("volume_types.id"))


class IscsiTarget(CinderBase, Base):
    __tablename__ = "iscsi_targets"
    __table_args__ = (
        UniqueConstraint("target_num", "host", name="iscsi_targets_target_num_host"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_num: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    volume_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("volumes.id"))


class MigrateVersion(Base):
    __tablename__ = "migrate_version"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    repository_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    repository_path: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)


class Service(CinderBase, Base):
    __tablename__ = "services"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host: Mapped[str | None] = mapped_column(String(255))
    binary: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(255))
    report_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    disabled: Mapped[bool | None] = mapped_column(Boolean, default=False)
    availability_zone: Mapped[str | None] = mapped_column(String(255), default="cinder")
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    modified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rpc_current_version: Mapped[str | None] = mapped_column(String(36))
    rpc_available_version: Mapped[str | None] = mapped_column(String(36))
    object_current_version: Mapped[str | None] = mapped_column(String(36))
    object_available_version: Mapped[str | None] = mapped_column(String(36))
    replication_status: Mapped[str | None] = mapped_column(String(36), default="not-capable")
    frozen: Mapped[bool | None] = mapped_column(Boolean, default=False)
    active_backend_id: Mapped[str | None] = mapped_column(String(255))


class Transfer(CinderBase, Base):
    __tablename__ = "transfers"
    __table_args__ = (Index("transfers_volume_id", "volume_id"), MYSQL_TABLE_ARGS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volumes.id"), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(255))
    salt: Mapped[str | None] = mapped_column(String(255))
    crypt_hash: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


TABLE_COUNT = 24
