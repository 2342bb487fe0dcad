"""The Cinder DB API contract: every function once, with Liberty's signature.

``CinderDB`` is the interface both backends implement (SQLAlchemy's ``Dialect``
in spirit): names, signatures, who may call, what comes back. Record shapes
are in ``cinderdb.records`` and ``docs/records.md``; behaviour follows Cinder
Liberty 7.0.0 except where ``docs/quirks.md`` records a deliberate fix.

Each method carries its authorization rule (``@admin``, ``@user``,
``@anyone``); ``cinderdb.base.Backend`` enforces the rule before the backend
runs, so the two implementations cannot drift on who may call what.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from cinderdb.context import RequestContext
from cinderdb.quota import QuotaResource
from cinderdb.records import Record

F = TypeVar("F", bound=Callable[..., Any])


class METADATA_TYPES(enum.Enum):
    """Which metadata ``volume_metadata_update``/``_delete`` act on."""

    user = "user"
    image = "image"


class Policy(enum.Enum):
    """Who may call a function (Cinder's decorators)."""

    ANYONE = "anyone"  # no decorator
    CONTEXT = "context"  # @require_context: admin, or a user with user and project ids
    ADMIN = "admin"  # @require_admin_context


def _policy(policy: Policy, project_arg: str | None = None, quota_class_arg: str | None = None):
    def mark(fn: F) -> F:
        fn.__cinder_policy__ = (policy, project_arg, quota_class_arg)  # type: ignore[attr-defined]
        return fn

    return mark


def admin(fn: F) -> F:
    """Admin contexts only (``AdminRequired`` otherwise)."""
    return _policy(Policy.ADMIN)(fn)


def user(fn: F) -> F:
    """Any admin context, or a user context with both user and project ids."""
    return _policy(Policy.CONTEXT)(fn)


def anyone(fn: F) -> F:
    """No check at all (``quota_class_get_default``)."""
    return _policy(Policy.ANYONE)(fn)


def project_scoped(arg: str = "project_id") -> Callable[[F], F]:
    """``@user`` plus ``authorize_project_context``: a user may name only their own project."""
    return _policy(Policy.CONTEXT, project_arg=arg)


def quota_class_scoped(arg: str = "class_name") -> Callable[[F], F]:
    """``@user`` plus ``authorize_quota_class_context``: a user may name only their class."""
    return _policy(Policy.CONTEXT, quota_class_arg=arg)


def generates_id(fn: F) -> F:
    """Liberty's ``if not values.get('id'): values['id'] = str(uuid.uuid4())``: the id is
    written into the caller's ``values`` dict, and Cinder's code reads it from there."""
    fn.__cinder_generates_id__ = True  # type: ignore[attr-defined]
    return fn


Ctx = RequestContext
Values = Mapping[str, Any]


class CinderDB(Protocol):
    """The DB API. Every function takes the request context first."""

    # ----------------------------------------------------------------- volumes

    @user
    @generates_id
    def volume_create(self, context: Ctx, values: Values) -> Record:
        """Insert a volume with its ``metadata`` (and ``admin_metadata`` for admins); return
        it as ``volume_get`` would. ``id`` defaults to a new uuid4."""
        ...

    @user
    def volume_get(self, context: Ctx, volume_id: str) -> Record:
        """One volume with volume_metadata, volume_type (with extra_specs), volume_attachment,
        consistencygroup, and volume_admin_metadata for admins. ``VolumeNotFound``."""
        ...

    @admin
    def volume_get_all(
        self,
        context: Ctx,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        """Volumes of every project: filters, sort, keyset marker, limit, offset."""
        ...

    @project_scoped()
    def volume_get_all_by_project(
        self,
        context: Ctx,
        project_id: str,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        """``volume_get_all`` restricted to one project (overriding any project filter)."""
        ...

    @admin
    def volume_get_all_by_host(
        self, context: Ctx, host: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """Volumes on ``host`` or any of its pools (``host#pool``); ``[]`` for an empty host."""
        ...

    @user
    def volume_get_all_by_group(
        self, context: Ctx, group_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """Volumes of one consistency group, any project (Liberty does not scope it)."""
        ...

    @user
    def volume_update(self, context: Ctx, volume_id: str, values: Values) -> Record:
        """Set columns; a ``metadata`` (``admin_metadata`` for admins) key replaces that map."""
        ...

    @admin
    def volume_destroy(self, context: Ctx, volume_id: str) -> None:
        """Soft-delete the volume and its metadata; status 'deleted'. No error if missing."""
        ...

    @admin
    def volume_data_get_for_host(
        self, context: Ctx, host: str, count_only: bool = False
    ) -> tuple[int, int] | int:
        """``(count, total size)`` of live volumes on a host and its pools, or the count."""
        ...

    @admin
    def volume_data_get_for_project(
        self, context: Ctx, project_id: str, volume_type_id: str | None = None
    ) -> tuple[int, int]:
        """``(count, total size)`` of a project's live volumes, optionally of one type."""
        ...

    @admin
    def finish_volume_migration(
        self, context: Ctx, src_vol_id: str, dest_vol_id: str
    ) -> tuple[Record, Record]:
        """Swap the two volumes' columns as Liberty does at the end of a migration."""
        ...

    # ------------------------------------------------------------- attachments

    @admin
    @generates_id
    def volume_attach(self, context: Ctx, values: Values) -> Record:
        """Create an attachment row; return it. The volume's status is not changed."""
        ...

    @admin
    def volume_attached(
        self,
        context: Ctx,
        attachment_id: str,
        instance_uuid: str | None,
        host_name: str | None,
        mountpoint: str | None,
        attach_mode: str = "rw",
    ) -> Record:
        """Mark an attachment attached and its volume in-use; return the volume.
        ``InvalidUUID`` for a malformed instance uuid."""
        ...

    @admin
    def volume_detach(self, context: Ctx, attachment_id: str) -> None:
        """Set the attachment's attach_status to 'detaching'."""
        ...

    @admin
    def volume_detached(self, context: Ctx, volume_id: str, attachment_id: str) -> None:
        """Soft-delete the attachment; update the volume's status from what remains."""
        ...

    @user
    def volume_attachment_get(self, context: Ctx, attachment_id: str) -> Record:
        """One attachment. ``VolumeAttachmentNotFound``."""
        ...

    @user
    def volume_attachment_get_used_by_volume_id(self, context: Ctx, volume_id: str) -> list[Record]:
        """A volume's live attachments whose attach_status is set and not 'detached'."""
        ...

    @user
    def volume_attachment_get_by_host(
        self, context: Ctx, volume_id: str, host: str
    ) -> Record | None:
        """The first live, not-detached attachment of the volume on ``host``, or None."""
        ...

    @user
    def volume_attachment_get_by_instance_uuid(
        self, context: Ctx, volume_id: str, instance_uuid: str
    ) -> Record | None:
        """The first live, not-detached attachment of the volume to the instance, or None."""
        ...

    @user
    def volume_attachment_update(self, context: Ctx, attachment_id: str, values: Values) -> Record:
        """Set attachment columns; return the attachment."""
        ...

    # -------------------------------------------------------- volume metadata

    @user
    def volume_metadata_get(self, context: Ctx, volume_id: str) -> dict[str, str]:
        """The volume's user metadata as a dict."""
        ...

    @user
    def volume_metadata_get_item(self, context: Ctx, volume_id: str, key: str) -> Record:
        """``{'key', 'value'}`` of one key. ``VolumeMetadataNotFound``."""
        ...

    @user
    def volume_metadata_delete(
        self,
        context: Ctx,
        volume_id: str,
        key: str,
        meta_type: METADATA_TYPES = METADATA_TYPES.user,
    ) -> None:
        """Soft-delete one key (user or image metadata); a missing key is a no-op."""
        ...

    @user
    def volume_metadata_update(
        self,
        context: Ctx,
        volume_id: str,
        metadata: Mapping[str, str],
        delete: bool,
        meta_type: METADATA_TYPES = METADATA_TYPES.user,
    ) -> dict[str, str]:
        """Merge (``delete=False``) or replace (``delete=True``) metadata; return the result."""
        ...

    @admin
    def volume_admin_metadata_get(self, context: Ctx, volume_id: str) -> dict[str, str]:
        """The volume's admin metadata as a dict."""
        ...

    @admin
    def volume_admin_metadata_delete(self, context: Ctx, volume_id: str, key: str) -> None:
        """Soft-delete one admin metadata key; a missing key is a no-op."""
        ...

    @admin
    def volume_admin_metadata_update(
        self, context: Ctx, volume_id: str, metadata: Mapping[str, str], delete: bool
    ) -> dict[str, str]:
        """Merge or replace admin metadata; return the result."""
        ...

    # --------------------------------------------------------- glance metadata

    @user
    def volume_glance_metadata_create(
        self, context: Ctx, volume_id: str, key: str, value: str
    ) -> None:
        """Add one image property to a volume. ``GlanceMetadataExists`` if the key is live."""
        ...

    @user
    def volume_glance_metadata_get(self, context: Ctx, volume_id: str) -> list[Record]:
        """The volume's image properties. ``GlanceMetadataNotFound`` when it has none."""
        ...

    @user
    def volume_glance_metadata_get_all(self, context: Ctx) -> list[Record]:
        """Every image property the context may see (its project's volumes for a user)."""
        ...

    @user
    def volume_snapshot_glance_metadata_get(self, context: Ctx, snapshot_id: str) -> list[Record]:
        """A snapshot's image properties. ``GlanceMetadataNotFound`` when it has none."""
        ...

    @user
    def volume_glance_metadata_copy_to_snapshot(
        self, context: Ctx, snapshot_id: str, volume_id: str
    ) -> None:
        """Copy a volume's image properties to a snapshot."""
        ...

    @user
    def volume_glance_metadata_copy_to_volume(
        self, context: Ctx, volume_id: str, snapshot_id: str
    ) -> None:
        """Copy a snapshot's image properties to a volume (note the argument order)."""
        ...

    @user
    def volume_glance_metadata_copy_from_volume_to_volume(
        self, context: Ctx, src_volume_id: str, volume_id: str
    ) -> None:
        """Copy one volume's image properties to another."""
        ...

    @user
    def volume_glance_metadata_delete_by_volume(self, context: Ctx, volume_id: str) -> None:
        """Soft-delete every image property of a volume. Nothing to delete is fine."""
        ...

    @user
    def volume_glance_metadata_delete_by_snapshot(self, context: Ctx, snapshot_id: str) -> None:
        """Soft-delete every image property of a snapshot. Nothing to delete is fine."""
        ...

    # ---------------------------------------------------------------- snapshots

    @user
    @generates_id
    def snapshot_create(self, context: Ctx, values: Values) -> Record:
        """Insert a snapshot with its ``metadata``; return it as ``snapshot_get`` would."""
        ...

    @user
    def snapshot_get(self, context: Ctx, snapshot_id: str) -> Record:
        """One snapshot with snapshot_metadata and its volume. ``SnapshotNotFound``."""
        ...

    @admin
    def snapshot_get_all(
        self,
        context: Ctx,
        filters: Mapping[str, Any] | None = None,
        marker: str | None = None,
        limit: int | None = None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        """Snapshots of every project: equality filters, sort, marker, limit, offset."""
        ...

    @project_scoped()
    def snapshot_get_all_by_project(
        self,
        context: Ctx,
        project_id: str,
        filters: Mapping[str, Any] | None = None,
        marker: str | None = None,
        limit: int | None = None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        """``snapshot_get_all`` restricted to one project."""
        ...

    @user
    def snapshot_get_all_for_volume(self, context: Ctx, volume_id: str) -> list[Record]:
        """A volume's live snapshots."""
        ...

    @user
    def snapshot_get_all_for_cgsnapshot(self, context: Ctx, cgsnapshot_id: str) -> list[Record]:
        """A cgsnapshot's live snapshots, each with its volume."""
        ...

    @project_scoped()
    def snapshot_data_get_for_project(
        self, context: Ctx, project_id: str, volume_type_id: str | None = None
    ) -> tuple[int, int]:
        """``(count, total volume_size)`` of a project's live snapshots (of one volume type)."""
        ...

    @user
    def snapshot_update(self, context: Ctx, snapshot_id: str, values: Values) -> Record:
        """Set snapshot columns (a ``metadata`` key is ignored); return the snapshot."""
        ...

    @admin
    def snapshot_destroy(self, context: Ctx, snapshot_id: str) -> None:
        """Soft-delete the snapshot and its metadata; status 'deleted'. No error if missing."""
        ...

    @user
    def snapshot_metadata_get(self, context: Ctx, snapshot_id: str) -> dict[str, str]:
        """The snapshot's metadata as a dict."""
        ...

    @user
    def snapshot_metadata_delete(self, context: Ctx, snapshot_id: str, key: str) -> None:
        """Soft-delete one key; a missing key is a no-op."""
        ...

    @user
    def snapshot_metadata_update(
        self, context: Ctx, snapshot_id: str, metadata: Mapping[str, str], delete: bool
    ) -> dict[str, str]:
        """Merge or replace snapshot metadata; return the result."""
        ...

    # ------------------------------------------------------------- volume types

    @admin
    @generates_id
    def volume_type_create(
        self, context: Ctx, values: Values, projects: Sequence[str] | None = None
    ) -> Record:
        """Create a type with ``extra_specs`` and access for ``projects``.
        ``VolumeTypeExists`` on a live name or id."""
        ...

    @admin
    def volume_type_update(self, context: Ctx, volume_type_id: str, values: Values) -> Record:
        """Change name, description, is_public (None means unchanged); return the type."""
        ...

    @user
    def volume_type_get_all(
        self, context: Ctx, inactive: bool = False, filters: Mapping[str, Any] | None = None
    ) -> dict[str, Record]:
        """Visible types as ``{name: type}``; ``filters['is_public']`` selects public/private."""
        ...

    @user
    def volume_type_get(
        self,
        context: Ctx,
        id: str,
        inactive: bool = False,
        expected_fields: Sequence[str] | None = None,
    ) -> Record:
        """One visible type (with ``projects`` if asked for). ``VolumeTypeNotFound``."""
        ...

    @user
    def volume_type_get_by_name(self, context: Ctx, name: str) -> Record:
        """One live type by name, private or not. ``VolumeTypeNotFoundByName``."""
        ...

    @user
    def volume_types_get_by_name_or_id(
        self, context: Ctx, volume_type_list: Sequence[str]
    ) -> list[Record]:
        """One type per entry: by id if it looks like a uuid, else by name."""
        ...

    @admin
    def volume_type_destroy(self, context: Ctx, id: str) -> None:
        """Soft-delete a type and its extra specs. ``VolumeTypeInUse`` while volumes use it."""
        ...

    @admin
    def volume_type_qos_associations_get(
        self, context: Ctx, qos_specs_id: str, inactive: bool = False
    ) -> list[Record]:
        """Types associated with a QoS spec."""
        ...

    @admin
    def volume_type_qos_associate(self, context: Ctx, type_id: str, qos_specs_id: str) -> None:
        """Point a type at a QoS spec."""
        ...

    @admin
    def volume_type_qos_disassociate(self, context: Ctx, qos_specs_id: str, type_id: str) -> None:
        """Clear a type's QoS spec if it is ``qos_specs_id``."""
        ...

    @admin
    def volume_type_qos_disassociate_all(self, context: Ctx, qos_specs_id: str) -> None:
        """Clear the association on every type (deleted ones too) pointing at the spec."""
        ...

    @admin
    def volume_type_qos_specs_get(self, context: Ctx, type_id: str) -> dict[str, Record | None]:
        """``{'qos_specs': {'id', 'name', 'consumer', 'specs'}}`` or ``{'qos_specs': None}``."""
        ...

    @admin
    def volume_type_access_get_all(self, context: Ctx, type_id: str) -> list[Record]:
        """Live access rows ``{'volume_type_id', 'project_id'}`` of a type."""
        ...

    @admin
    def volume_type_access_add(self, context: Ctx, type_id: str, project_id: str) -> Record:
        """Grant a project access. ``VolumeTypeAccessExists``."""
        ...

    @admin
    def volume_type_access_remove(self, context: Ctx, type_id: str, project_id: str) -> None:
        """Revoke a project's access. ``VolumeTypeAccessNotFound``."""
        ...

    @user
    def volume_type_extra_specs_get(self, context: Ctx, volume_type_id: str) -> dict[str, str]:
        """A type's live extra specs; ``{}`` for an unknown type."""
        ...

    @user
    def volume_type_extra_specs_delete(self, context: Ctx, volume_type_id: str, key: str) -> None:
        """Soft-delete one spec. ``VolumeTypeExtraSpecsNotFound``."""
        ...

    @user
    def volume_type_extra_specs_update_or_create(
        self, context: Ctx, volume_type_id: str, extra_specs: Mapping[str, str]
    ) -> dict[str, str]:
        """Upsert specs; return ``extra_specs``."""
        ...

    # ---------------------------------------------------------------- QoS specs

    @admin
    def qos_specs_create(self, context: Ctx, values: Values) -> Record:
        """Create ``{'name', 'qos_specs': {...}}``; return ``{'id', 'name'}``.
        ``QoSSpecsExists``."""
        ...

    @admin
    def qos_specs_get(self, context: Ctx, qos_specs_id: str, inactive: bool = False) -> Record:
        """``{'id', 'name', 'consumer', 'specs'}``. ``QoSSpecsNotFound``."""
        ...

    @admin
    def qos_specs_get_all(
        self, context: Ctx, inactive: bool = False, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """Every QoS spec as a dict; ``filters`` is ignored, as in Liberty."""
        ...

    @admin
    def qos_specs_get_by_name(self, context: Ctx, name: str, inactive: bool = False) -> Record:
        """One QoS spec by name. ``QoSSpecsNotFound``."""
        ...

    @admin
    def qos_specs_associations_get(self, context: Ctx, qos_specs_id: str) -> list[Record]:
        """Live types associated with the spec. ``QoSSpecsNotFound``."""
        ...

    @admin
    def qos_specs_associate(self, context: Ctx, qos_specs_id: str, type_id: str) -> None:
        """Associate a type with the spec."""
        ...

    @admin
    def qos_specs_disassociate(self, context: Ctx, qos_specs_id: str, type_id: str) -> None:
        """Disassociate a type from the spec."""
        ...

    @admin
    def qos_specs_disassociate_all(self, context: Ctx, qos_specs_id: str) -> None:
        """Disassociate every type from the spec."""
        ...

    @admin
    def qos_specs_item_delete(self, context: Ctx, qos_specs_id: str, key: str) -> None:
        """Soft-delete one spec key. ``QoSSpecsKeyNotFound``."""
        ...

    @admin
    def qos_specs_delete(self, context: Ctx, qos_specs_id: str) -> None:
        """Soft-delete the spec and its keys (associations are not checked)."""
        ...

    @admin
    def qos_specs_update(
        self, context: Ctx, qos_specs_id: str, specs: Mapping[str, str]
    ) -> Mapping[str, str]:
        """Upsert spec keys; return ``specs``. ``QoSSpecsNotFound``."""
        ...

    # ------------------------------------------------------ consistency groups

    @user
    @generates_id
    def consistencygroup_create(self, context: Ctx, values: Values) -> Record:
        """Insert a consistency group; return it."""
        ...

    @user
    def consistencygroup_get(self, context: Ctx, consistencygroup_id: str) -> Record:
        """One group. ``ConsistencyGroupNotFound``."""
        ...

    @admin
    def consistencygroup_get_all(self, context: Ctx) -> list[Record]:
        """Every group."""
        ...

    @project_scoped()
    def consistencygroup_get_all_by_project(self, context: Ctx, project_id: str) -> list[Record]:
        """A project's groups."""
        ...

    @user
    def consistencygroup_update(
        self, context: Ctx, consistencygroup_id: str, values: Values
    ) -> Record:
        """Set group columns; return the group."""
        ...

    @admin
    def consistencygroup_destroy(self, context: Ctx, consistencygroup_id: str) -> None:
        """Soft-delete a group; status 'deleted'. No error if missing."""
        ...

    @admin
    def consistencygroup_data_get_for_project(
        self, context: Ctx, project_id: str
    ) -> tuple[int, int]:
        """``(0, count)`` of a project's live groups (Liberty's shape, kept)."""
        ...

    @user
    @generates_id
    def cgsnapshot_create(self, context: Ctx, values: Values) -> Record:
        """Insert a cgsnapshot; return it."""
        ...

    @user
    def cgsnapshot_get(self, context: Ctx, cgsnapshot_id: str) -> Record:
        """One cgsnapshot. ``CgSnapshotNotFound``."""
        ...

    @admin
    def cgsnapshot_get_all(
        self, context: Ctx, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """Every cgsnapshot matching equality filters."""
        ...

    @admin
    def cgsnapshot_get_all_by_group(
        self, context: Ctx, group_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """A group's cgsnapshots matching equality filters."""
        ...

    @project_scoped()
    def cgsnapshot_get_all_by_project(
        self, context: Ctx, project_id: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """A project's cgsnapshots matching equality filters."""
        ...

    @user
    def cgsnapshot_update(self, context: Ctx, cgsnapshot_id: str, values: Values) -> Record:
        """Set cgsnapshot columns; return it."""
        ...

    @admin
    def cgsnapshot_destroy(self, context: Ctx, cgsnapshot_id: str) -> None:
        """Soft-delete a cgsnapshot; status 'deleted'. No error if missing."""
        ...

    # ------------------------------------------------------------------- quotas

    @user
    def quota_get(self, context: Ctx, project_id: str, resource: str) -> Record:
        """One project limit. ``ProjectQuotaNotFound``."""
        ...

    @project_scoped()
    def quota_get_all_by_project(self, context: Ctx, project_id: str) -> dict[str, Any]:
        """``{'project_id': p, resource: hard_limit, ...}``."""
        ...

    @admin
    def quota_create(self, context: Ctx, project_id: str, resource: str, limit: int) -> Record:
        """Insert a project limit; return it."""
        ...

    @admin
    def quota_update(self, context: Ctx, project_id: str, resource: str, limit: int) -> Record:
        """Change a project limit. ``ProjectQuotaNotFound``."""
        ...

    @admin
    def quota_destroy(self, context: Ctx, project_id: str, resource: str) -> None:
        """Soft-delete a project limit. ``ProjectQuotaNotFound``."""
        ...

    @admin
    def quota_destroy_all_by_project(
        self, context: Ctx, project_id: str, only_quotas: bool = False
    ) -> None:
        """Soft-delete a project's limits and, unless ``only_quotas``, its usages and
        reservations."""
        ...

    @user
    def quota_class_get(self, context: Ctx, class_name: str, resource: str) -> Record:
        """One class limit. ``QuotaClassNotFound``."""
        ...

    @anyone
    def quota_class_get_default(self, context: Ctx) -> dict[str, Any]:
        """``{'class_name': 'default', resource: hard_limit, ...}``."""
        ...

    @quota_class_scoped()
    def quota_class_get_all_by_name(self, context: Ctx, class_name: str) -> dict[str, Any]:
        """``{'class_name': name, resource: hard_limit, ...}``."""
        ...

    @admin
    def quota_class_create(
        self, context: Ctx, class_name: str, resource: str, limit: int
    ) -> Record:
        """Insert a class limit; return it."""
        ...

    @admin
    def quota_class_update(
        self, context: Ctx, class_name: str, resource: str, limit: int
    ) -> Record:
        """Change a class limit. ``QuotaClassNotFound``."""
        ...

    @admin
    def quota_class_destroy(self, context: Ctx, class_name: str, resource: str) -> None:
        """Soft-delete a class limit. ``QuotaClassNotFound``."""
        ...

    @admin
    def quota_class_destroy_all_by_name(self, context: Ctx, class_name: str) -> None:
        """Soft-delete every limit of a class."""
        ...

    @user
    def quota_usage_get(self, context: Ctx, project_id: str, resource: str) -> Record:
        """One usage row with ``total``. ``QuotaUsageNotFound``."""
        ...

    @project_scoped()
    def quota_usage_get_all_by_project(self, context: Ctx, project_id: str) -> dict[str, Any]:
        """``{'project_id': p, resource: {'in_use': n, 'reserved': m}, ...}``."""
        ...

    @user
    def quota_reserve(
        self,
        context: Ctx,
        resources: Mapping[str, QuotaResource],
        quotas: Mapping[str, int],
        deltas: Mapping[str, int],
        expire: dt.datetime,
        until_refresh: int | None,
        max_age: int | None,
        project_id: str | None = None,
    ) -> list[str]:
        """Refresh usages as needed, check limits, reserve ``deltas``; return reservation
        uuids in the order of ``deltas``. ``OverQuota`` and no reservation when over."""
        ...

    @user
    def reservation_commit(
        self, context: Ctx, reservations: Sequence[str], project_id: str | None = None
    ) -> None:
        """Move reserved amounts into in_use and retire the reservations."""
        ...

    @user
    def reservation_rollback(
        self, context: Ctx, reservations: Sequence[str], project_id: str | None = None
    ) -> None:
        """Release reserved amounts and retire the reservations."""
        ...

    @admin
    def reservation_expire(self, context: Ctx) -> None:
        """Roll back every reservation whose ``expire`` has passed."""
        ...


def _declared() -> dict[str, Callable[..., Any]]:
    return {
        name: member
        for name, member in vars(CinderDB).items()
        if callable(member) and hasattr(member, "__cinder_policy__")
    }


#: Every DB API function name, sorted (the list in ``shared/dbapi-functions.txt``).
FUNCTIONS: tuple[str, ...] = tuple(sorted(_declared()))

#: name -> (policy, project argument name or None, quota class argument name or None)
POLICIES: dict[str, tuple[Policy, str | None, str | None]] = {
    name: fn.__cinder_policy__ for name, fn in _declared().items()
}

#: name -> the declared signature (``self`` included), for conformance checks.
SIGNATURES: dict[str, inspect.Signature] = {
    name: inspect.signature(fn) for name, fn in _declared().items()
}

#: The create functions that write a generated id back into the caller's ``values``.
GENERATES_ID: frozenset[str] = frozenset(
    name for name, fn in _declared().items() if getattr(fn, "__cinder_generates_id__", False)
)

#: The functions that only read (every ``*_get*``), for replay and validators.
READ_FUNCTIONS: frozenset[str] = frozenset(name for name in FUNCTIONS if "_get" in name)
