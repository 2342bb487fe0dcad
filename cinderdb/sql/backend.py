"""``SQLBackend``: the Cinder DB API on the MySQL schema (SQLAlchemy ORM + PyMySQL, or SQLite).

Each area of the API is a module of its own; this class only assembles them.
"""

from __future__ import annotations

from cinderdb.sql.attachments import AttachmentFunctions
from cinderdb.sql.glance import GlanceFunctions
from cinderdb.sql.groups import GroupFunctions
from cinderdb.sql.loading import BulkLoadFunctions
from cinderdb.sql.metadata import MetadataFunctions
from cinderdb.sql.qos import QosFunctions
from cinderdb.sql.quotas import QuotaFunctions
from cinderdb.sql.snapshots import SnapshotFunctions
from cinderdb.sql.types import VolumeTypeFunctions
from cinderdb.sql.volumes import VolumeFunctions


class SQLBackend(
    VolumeFunctions,
    AttachmentFunctions,
    MetadataFunctions,
    GlanceFunctions,
    SnapshotFunctions,
    VolumeTypeFunctions,
    QosFunctions,
    GroupFunctions,
    QuotaFunctions,
    BulkLoadFunctions,
):
    """The SQL backend: ``open_backend("sqlite://")`` or ``open_backend("mysql+pymysql://...")``."""
