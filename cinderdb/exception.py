"""Cinder's exceptions, with Cinder's names, kwargs and HTTP codes.

Every backend raises these and nothing else for a DB API failure; storage
errors are translated once, at the backend boundary, with ``raise ... from``.

The tree (HTTP code in brackets)::

    CinderException [500]
    ├── NotAuthorized [403]
    │   └── AdminRequired
    ├── Invalid [400]
    │   ├── InvalidInput, InvalidMetadataType, InvalidUUID, GlanceMetadataExists,
    │   │   InvalidReservationExpiration, InvalidQuotaValue, InvalidVolume
    │   └── ...
    ├── NotFound [404]
    │   ├── VolumeNotFound, VolumeAttachmentNotFound, VolumeMetadataNotFound,
    │   │   VolumeAdminMetadataNotFound, SnapshotNotFound, SnapshotMetadataNotFound,
    │   │   VolumeTypeNotFound ─ VolumeTypeNotFoundByName, VolumeTypeAccessNotFound,
    │   │   VolumeTypeExtraSpecsNotFound, QoSSpecsNotFound, QoSSpecsKeyNotFound,
    │   │   GlanceMetadataNotFound, ConsistencyGroupNotFound, CgSnapshotNotFound
    │   └── QuotaNotFound ─ ProjectQuotaNotFound, QuotaClassNotFound,
    │       QuotaUsageNotFound, ReservationNotFound, QuotaResourceUnknown
    ├── Duplicate [409]
    │   └── VolumeTypeExists, VolumeTypeAccessExists, QoSSpecsExists
    ├── VolumeTypeInUse, QoSSpecsInUse, OverQuota
    └── DBError ─ DBDuplicateEntry, DBReferenceError, DBConflict, DBDeadlock,
        DBConnectionError (storage failures that are not API outcomes)
"""

from __future__ import annotations

from typing import Any, ClassVar


class CinderException(Exception):
    """Base class: formats ``message`` from the kwargs and keeps them in ``.kwargs``.

    A missing kwarg is an error (Cinder's tests run with
    ``fatal_exception_format_errors``), so a wrong raise is caught at once.
    """

    message: ClassVar[str] = "An unknown exception occurred."
    code: ClassVar[int] = 500

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.kwargs.setdefault("code", self.code)
        if message is None:
            try:
                message = self.message % kwargs
            except KeyError as exc:
                raise TypeError(
                    f"{type(self).__name__} needs the keyword argument {exc.args[0]!r}"
                ) from exc
        self.msg = message
        super().__init__(message)

    def __reduce__(self):
        # Keep kwargs across pickling (locust workers, multiprocessing tests).
        return (_rebuild, (type(self), self.msg, self.kwargs))


def _rebuild(cls: type[CinderException], message: str, kwargs: dict[str, Any]):
    exc = cls.__new__(cls)
    exc.kwargs = kwargs
    exc.msg = message
    Exception.__init__(exc, message)
    return exc


class NotAuthorized(CinderException):
    message = "Not authorized."
    code = 403


class AdminRequired(NotAuthorized):
    message = "User does not have admin privileges"


class Invalid(CinderException):
    message = "Unacceptable parameters."
    code = 400


class InvalidInput(Invalid):
    message = "Invalid input received: %(reason)s"


class InvalidMetadataType(Invalid):
    message = "The type of metadata: %(metadata_type)s for volume/snapshot %(id)s is invalid."


class InvalidUUID(Invalid):
    message = "Expected a uuid but received %(uuid)s."


class InvalidVolume(Invalid):
    message = "Invalid volume: %(reason)s"


class InvalidReservationExpiration(Invalid):
    message = "Invalid reservation expiration %(expire)s."


class InvalidQuotaValue(Invalid):
    message = "Change would make usage less than 0 for the following resources: %(unders)s"


class GlanceMetadataExists(Invalid):
    message = "Glance metadata cannot be updated, key %(key)s exists for volume id %(volume_id)s"


class NotFound(CinderException):
    message = "Resource could not be found."
    code = 404


class VolumeNotFound(NotFound):
    message = "Volume %(volume_id)s could not be found."


class VolumeAttachmentNotFound(NotFound):
    message = "Volume attachment could not be found with filter: %(filter)s ."


class VolumeMetadataNotFound(NotFound):
    message = "Volume %(volume_id)s has no metadata with key %(metadata_key)s."


class VolumeAdminMetadataNotFound(NotFound):
    message = "Volume %(volume_id)s has no administration metadata with key %(metadata_key)s."


class SnapshotNotFound(NotFound):
    message = "Snapshot %(snapshot_id)s could not be found."


class SnapshotMetadataNotFound(NotFound):
    message = "Snapshot %(snapshot_id)s has no metadata with key %(metadata_key)s."


class VolumeTypeNotFound(NotFound):
    message = "Volume type %(volume_type_id)s could not be found."


class VolumeTypeNotFoundByName(VolumeTypeNotFound):
    message = "Volume type with name %(volume_type_name)s could not be found."


class VolumeTypeAccessNotFound(NotFound):
    message = "Volume type access not found for %(volume_type_id)s / %(project_id)s combination."


class VolumeTypeExtraSpecsNotFound(NotFound):
    message = "Volume Type %(volume_type_id)s has no extra specs with key %(extra_specs_key)s."


class QoSSpecsNotFound(NotFound):
    message = "No such QoS spec %(specs_id)s."


class QoSSpecsKeyNotFound(NotFound):
    message = "QoS spec %(specs_id)s has no spec with key %(specs_key)s."


class GlanceMetadataNotFound(NotFound):
    message = "Glance metadata for volume/snapshot %(id)s cannot be found."


class ConsistencyGroupNotFound(NotFound):
    message = "ConsistencyGroup %(consistencygroup_id)s could not be found."


class CgSnapshotNotFound(NotFound):
    message = "CgSnapshot %(cgsnapshot_id)s could not be found."


class QuotaNotFound(NotFound):
    message = "Quota could not be found"


class ProjectQuotaNotFound(QuotaNotFound):
    message = "Quota for project %(project_id)s could not be found."


class QuotaClassNotFound(QuotaNotFound):
    message = "Quota class %(class_name)s could not be found."


class QuotaUsageNotFound(QuotaNotFound):
    message = "Quota usage for project %(project_id)s could not be found."


class ReservationNotFound(QuotaNotFound):
    message = "Quota reservation %(uuid)s could not be found."


class QuotaResourceUnknown(QuotaNotFound):
    message = "Unknown quota resources %(unknown)s."


class Duplicate(CinderException):
    code = 409


class VolumeTypeExists(Duplicate):
    message = "Volume Type %(id)s already exists."


class VolumeTypeAccessExists(Duplicate):
    message = (
        "Volume type access for %(volume_type_id)s / %(project_id)s combination already exists."
    )


class QoSSpecsExists(Duplicate):
    message = "QoS Specs %(specs_id)s already exists."


class VolumeTypeInUse(CinderException):
    message = (
        "Volume Type %(volume_type_id)s deletion is not allowed with volumes present with the type."
    )


class QoSSpecsInUse(CinderException):
    message = "QoS Specs %(specs_id)s is still associated with entities."


class OverQuota(CinderException):
    message = "Quota exceeded for resources: %(overs)s"
    code = 413


class DBError(CinderException):
    """A storage failure that is not an API outcome (a bug or an outage)."""

    message = "Database error: %(reason)s"


class DBDuplicateEntry(DBError):
    message = "Duplicate entry: %(reason)s"


class DBReferenceError(DBError):
    """A write named a parent row that does not exist (a foreign key refused it)."""

    message = "Missing referenced row: %(reason)s"


class DBConflict(DBError):
    """Optimistic concurrency gave up after its bounded retries (key-value backends)."""

    message = "Concurrent update conflict on %(target)s after %(attempts)s attempts."


class DBDeadlock(DBError):
    """The store chose this transaction as a deadlock victim (oslo.db's ``DBDeadlock``):
    MySQL's 1213 and 1205, and Galera's certification failure, which MariaDB reports as
    1213 at commit. Liberty retries it in the functions it decorates with
    ``_retry_on_deadlock``; elsewhere it reaches the caller."""

    message = "Deadlock: %(reason)s"


class DBConnectionError(DBError):
    """The connection to the store was lost or could not be made (oslo.db's
    ``DBConnectionError``): the transaction in flight is lost to the caller, who cannot
    tell whether it committed; the next connection may reach another node."""

    message = "Connection to the database failed: %(reason)s"
