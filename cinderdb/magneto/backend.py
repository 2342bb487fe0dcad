"""``MagnetoBackend``: the Cinder DB API on the seed's MagnetoDB design.

Each area of the API is a module of its own; this class only assembles them.
"""

from __future__ import annotations

from cinderdb.magneto.attachments import AttachmentFunctions
from cinderdb.magneto.glance import GlanceFunctions
from cinderdb.magneto.groups import GroupFunctions
from cinderdb.magneto.loading import BulkLoadFunctions
from cinderdb.magneto.metadata import MetadataFunctions
from cinderdb.magneto.qos import QosFunctions
from cinderdb.magneto.quotas import QuotaFunctions
from cinderdb.magneto.snapshots import SnapshotFunctions
from cinderdb.magneto.types import VolumeTypeFunctions
from cinderdb.magneto.volumes import VolumeFunctions


class MagnetoBackend(
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
    """``open_backend("magnetodb://HOST:PORT/PROJECT")`` or ``"magnetodb+inproc:///PROJECT"``."""
