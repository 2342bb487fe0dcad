"""The seed's MagnetoDB design, as data: tables, keys, indexes and dual-written pairs.

Schema creation, the backend, the validators, the counters and the reports
all read this one declaration, so a second design variant can be declared
next to it and compared.

The design, table by table (seed-design.txt; choices where the seed leaves
one open are marked *choice* and explained in ``docs/magnetodb-design.md``):

- ``volumes``: the volume columns plus ``volume_type_name`` (no join with
  volume_types for a list), the ``volume_metadata`` and ``volume_admin_metadata``
  maps, and the attachments. MagnetoDB has maps and sets but no lists, so the
  attachments are an SSM map *attachment id -> JSON of the attachment row*
  (*choice*): keyed by id, one attachment is added with an ADD (map merge) and
  removed with a DELETE of its key, both single atomic requests with no
  read-modify-write and no lost update when two attaches race. A ``version``
  number, incremented by every write that derives state from what it read
  (status after detach, metadata replace), makes those writes conditional.
- ``volume_attachment``: as in MySQL; a second copy of each embedded attachment.
- ``volume_metadata``, ``volume_admin_metadata``: inverted tables, *property ->
  set of volume ids*, the property being the JSON pair ``["key", "value"]``
  (*choice*: unambiguous for any key and value). ``volume_glance_metadata``
  likewise, with a second set of snapshot ids.
- ``volume_types``: the type columns plus the ``extra_specs`` map and the
  ``projects`` set (volume_type_extra_specs and volume_type_projects merged).
- ``quality_of_service_specs``: id, name, consumer, the ``specs`` map and the
  ``volume_types`` set of associated types (*choice* of the seed's two options:
  a set, so qos_specs_associations_get is one get_item plus one batch_get_item).
- ``snapshots``: the snapshot columns plus the ``snapshot_metadata`` map.
- ``consistencygroups``, ``cgsnapshots``, ``quotas``, ``quota_classes``,
  ``quota_usages``, ``reservations`` and the seven "Rest" tables: as in MySQL,
  plus, on each usage, the ``reservations`` set of the uuids whose deltas it
  holds (*choice*: the usage update that applies or settles a reservation
  lists or unlists it in the same atomic write, so commit, rollback and expire
  apply each reservation exactly once and a crash between the usage and the
  reservation item leaves a recognisable state: ``reserved`` = the positive
  deltas of the listed reservations, always).
- The name index tables carry the entry's ``created_at``, so a claim that a
  crash left behind (its type or spec never written) can be told from one in
  flight and taken over.
- Index tables stand in for the secondary indexes the seed asks for wherever
  the hash key is an id, so no local index can serve (*choice per function*,
  listed in ``INDEXES`` below). An index entry holds the keys only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class LocalIndex:
    """A MagnetoDB local secondary index: same hash key, another range attribute."""

    name: str
    range_key: str
    projection: str = "ALL"


@dataclass(frozen=True)
class Table:
    """One MagnetoDB table of the design.

    ``record_kind`` names the ``cinderdb.records`` kind whose columns a base item
    holds (None for index and inverted tables); ``extra`` declares the typed
    attributes beyond those columns (maps, sets, denormalized columns).
    """

    name: str
    hash_key: str
    range_key: str | None = None
    key_types: dict[str, str] = field(default_factory=dict)
    record_kind: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    indexes: tuple[LocalIndex, ...] = ()
    role: str = "base"  # base | index | inverted | rest
    doc: str = ""

    def key_attributes(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def attribute_definitions(self) -> list[dict[str, str]]:
        """MagnetoDB ``attribute_definitions``: the key and index-range attributes."""
        names = [*self.key_attributes(), *(index.range_key for index in self.indexes)]
        return [{"attribute_name": n, "attribute_type": self.key_types.get(n, "S")} for n in names]

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"attribute_name": self.hash_key, "key_type": "HASH"}]
        if self.range_key is not None:
            schema.append({"attribute_name": self.range_key, "key_type": "RANGE"})
        return schema

    def create_table_request(self) -> dict:
        """The body of MagnetoDB's CreateTable for this table."""
        body: dict = {
            "table_name": self.name,
            "attribute_definitions": self.attribute_definitions(),
            "key_schema": self.key_schema(),
        }
        if self.indexes:
            body["local_secondary_indexes"] = [
                {
                    "index_name": index.name,
                    "key_schema": [
                        {"attribute_name": self.hash_key, "key_type": "HASH"},
                        {"attribute_name": index.range_key, "key_type": "RANGE"},
                    ],
                    "projection": {"projection_type": index.projection},
                }
                for index in self.indexes
            ]
        return body


def _base(name: str, kind: str, extra: dict[str, str] | None = None, doc: str = "") -> Table:
    return Table(name, "id", record_kind=kind, extra=extra or {}, doc=doc)


def _index(name: str, hash_key: str, range_key: str, doc: str) -> Table:
    return Table(name, hash_key, range_key, role="index", doc=doc)


def _inverted(name: str, extra: dict[str, str], doc: str) -> Table:
    # Each item also keeps its pair as ``key`` and ``value`` (filters and scans read them).
    return Table(
        name, "property", extra={"key": "S", "value": "S", **extra}, role="inverted", doc=doc
    )


TABLES: tuple[Table, ...] = (
    _base(
        "volumes",
        "volume",
        {
            "volume_type_name": "S",
            "volume_metadata": "SSM",
            "volume_admin_metadata": "SSM",
            "volume_attachment": "SSM",
            "version": "N",
        },
        doc="volume columns + type name + metadata maps + attachments map",
    ),
    _base("volume_attachment", "attachment", doc="attachment rows (second copy of the map)"),
    _inverted("volume_metadata", {"volume_ids": "SS"}, doc='["key", "value"] -> set of volume ids'),
    _inverted(
        "volume_admin_metadata",
        {"volume_ids": "SS"},
        doc='["key", "value"] -> set of volume ids (admin metadata)',
    ),
    _inverted(
        "volume_glance_metadata",
        {"volume_ids": "SS", "snapshot_ids": "SS"},
        doc='["key", "value"] -> sets of volume ids and snapshot ids (image properties)',
    ),
    _base(
        "volume_types",
        "volume_type",
        {"extra_specs": "SSM", "projects": "SS", "version": "N"},
        doc="type columns + extra_specs map + projects set",
    ),
    _base(
        "quality_of_service_specs",
        "qos_specs",
        {"specs": "SSM", "volume_types": "SS", "version": "N"},
        doc="id, name, consumer, specs map, set of associated volume type ids",
    ),
    _base(
        "snapshots",
        "snapshot",
        {"snapshot_metadata": "SSM", "version": "N"},
        doc="snapshot columns + metadata map",
    ),
    _base("consistencygroups", "consistencygroup"),
    _base("cgsnapshots", "cgsnapshot"),
    Table(
        "quotas",
        "project_id",
        "resource",
        record_kind="quota",
        doc="project limits, one item per (project, resource)",
    ),
    Table(
        "quota_classes",
        "class_name",
        "resource",
        record_kind="quota_class",
        doc="class limits, one item per (class, resource)",
    ),
    Table(
        "quota_usages",
        "project_id",
        "resource",
        record_kind="quota_usage",
        extra={"version": "N", "reservations": "SS"},
        doc="usage per (project, resource); version makes reserve/commit conditional; "
        "reservations lists the uuids whose deltas the usage holds",
    ),
    Table(
        "reservations",
        "project_id",
        "uuid",
        record_kind="reservation",
        doc="reservations per project; commit/rollback read them with batch_get_item",
    ),
    # ---- index tables: keys only; the entry says "this base row has this value"
    _index("volumes_by_project", "project_id", "volume_id", "volume_get_all_by_project, sync"),
    _index("volumes_by_host", "host", "volume_id", "volume_get_all_by_host, data_get_for_host"),
    _index("volumes_by_group", "consistencygroup_id", "volume_id", "volume_get_all_by_group"),
    _index("snapshots_by_project", "project_id", "snapshot_id", "snapshot_get_all_by_project"),
    _index("snapshots_by_volume", "volume_id", "snapshot_id", "snapshot_get_all_for_volume"),
    _index(
        "snapshots_by_cgsnapshot", "cgsnapshot_id", "snapshot_id", "snapshot_get_all_for_cgsnapshot"
    ),
    _index(
        "consistencygroups_by_project",
        "project_id",
        "consistencygroup_id",
        "consistencygroup_get_all_by_project",
    ),
    _index(
        "cgsnapshots_by_project", "project_id", "cgsnapshot_id", "cgsnapshot_get_all_by_project"
    ),
    _index(
        "cgsnapshots_by_group",
        "consistencygroup_id",
        "cgsnapshot_id",
        "cgsnapshot_get_all_by_group",
    ),
    Table(
        "volume_types_by_name",
        "name",
        extra={"volume_type_id": "S", "created_at": "S"},
        role="index",
        doc="live type name -> id: get_by_name, and atomic name uniqueness (put if absent)",
    ),
    Table(
        "qos_specs_by_name",
        "name",
        extra={"qos_specs_id": "S", "created_at": "S"},
        role="index",
        doc="live QoS name -> id: get_by_name, and atomic name uniqueness",
    ),
    # ---- the seed's "Rest": same schema as MySQL, keyed by their id
    Table("backups", "id", role="rest"),
    Table("driver_initiator_data", "initiator", "namespace_key", role="rest"),
    Table("encryption", "volume_type_id", role="rest"),
    Table("iscsi_targets", "id", key_types={"id": "N"}, role="rest"),
    Table("migrate_version", "repository_id", role="rest"),
    Table("services", "id", key_types={"id": "N"}, role="rest"),
    Table("transfers", "id", role="rest"),
)

TABLE_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}

#: The hash value under which an index table lists the items whose column is None
#: (``volumes_by_project``, ``snapshots_by_project``: Liberty lists a project of None).
#: The other index tables have no entry for None (the rare call is a scan).
NULL_KEY = "\x00"


# ------------------------------------------------------------ dual-written pairs


class PairKind(Enum):
    """How the second copy relates to the first; each kind has one validator."""

    EMBEDDED_ROWS = "embedded_rows"  # a map of rows in the base item <-> rows of a table
    INVERTED_MAP = "inverted_map"  # a map in the base item <-> property -> id set table
    INDEX = "index"  # a base column <-> an index table entry
    DENORMALIZED_COLUMN = "denormalized_column"  # a copied column <-> its source column
    ASSOCIATION_SET = "association_set"  # a reference column <-> the referee's set of ids
    ORDERED_INDEX = "ordered_index"  # a live item's column <-> an entry ordered by its value


@dataclass(frozen=True)
class DualWrite:
    """Two places the design writes the same fact to, and the invariant tying them.

    ``source`` is ``table.attribute`` of the base copy; ``target`` the table (or
    ``table.attribute``) of the second copy. ``params`` carries what the
    validator of ``kind`` needs.
    """

    name: str
    kind: PairKind
    source: str
    target: str
    invariant: str
    params: dict[str, str] = field(default_factory=dict)


DUAL_WRITES: tuple[DualWrite, ...] = (
    DualWrite(
        "volume_attachments",
        PairKind.EMBEDDED_ROWS,
        "volumes.volume_attachment",
        "volume_attachment",
        "every attachment in a live volume's map has a live volume_attachment row with the same "
        "fields, and every live volume_attachment row is in its volume's map",
        {"foreign_key": "volume_id", "row_kind": "attachment", "encoding": "wire item JSON"},
    ),
    DualWrite(
        "volume_metadata",
        PairKind.INVERTED_MAP,
        "volumes.volume_metadata",
        "volume_metadata",
        "every key:value in a live volume's metadata map has that volume id in the set of "
        "property [key, value], and every id in a set is a live volume holding that pair",
        {"ids_attribute": "volume_ids"},
    ),
    DualWrite(
        "volume_admin_metadata",
        PairKind.INVERTED_MAP,
        "volumes.volume_admin_metadata",
        "volume_admin_metadata",
        "as volume_metadata, for the admin metadata map",
        {"ids_attribute": "volume_ids"},
    ),
    DualWrite(
        "volume_type_name",
        PairKind.DENORMALIZED_COLUMN,
        "volumes.volume_type_name",
        "volume_types.name",
        "a volume's volume_type_name equals the name of the type its volume_type_id names "
        "(None when it has no type)",
        {"reference": "volume_type_id"},
    ),
    DualWrite(
        "qos_type_associations",
        PairKind.ASSOCIATION_SET,
        "volume_types.qos_specs_id",
        "quality_of_service_specs.volume_types",
        "a type with qos_specs_id Q is in Q's volume_types set, and every id in a set is a type "
        "pointing at that spec",
        {},
    ),
    DualWrite(
        "volumes_by_project",
        PairKind.INDEX,
        "volumes.project_id",
        "volumes_by_project",
        "every volume has an entry under its project_id, and every entry names a volume of that "
        "project",
        {"id_attribute": "volume_id", "none": "NULL_KEY"},
    ),
    DualWrite(
        "volumes_by_host",
        PairKind.INDEX,
        "volumes.host",
        "volumes_by_host",
        "every volume with a host has an entry under the host's base name (before '#'), and every "
        "entry names a volume on that host or one of its pools",
        {"id_attribute": "volume_id", "transform": "host_base"},
    ),
    DualWrite(
        "volumes_by_group",
        PairKind.INDEX,
        "volumes.consistencygroup_id",
        "volumes_by_group",
        "every volume in a group has an entry under the group id, and every entry names such a "
        "volume",
        {"id_attribute": "volume_id"},
    ),
    DualWrite(
        "snapshots_by_project",
        PairKind.INDEX,
        "snapshots.project_id",
        "snapshots_by_project",
        "every snapshot has an entry under its project_id, and the reverse",
        {"id_attribute": "snapshot_id", "none": "NULL_KEY"},
    ),
    DualWrite(
        "snapshots_by_volume",
        PairKind.INDEX,
        "snapshots.volume_id",
        "snapshots_by_volume",
        "every snapshot has an entry under its volume_id, and the reverse",
        {"id_attribute": "snapshot_id"},
    ),
    DualWrite(
        "snapshots_by_cgsnapshot",
        PairKind.INDEX,
        "snapshots.cgsnapshot_id",
        "snapshots_by_cgsnapshot",
        "every snapshot in a cgsnapshot has an entry under the cgsnapshot id, and the reverse",
        {"id_attribute": "snapshot_id"},
    ),
    DualWrite(
        "consistencygroups_by_project",
        PairKind.INDEX,
        "consistencygroups.project_id",
        "consistencygroups_by_project",
        "every group has an entry under its project_id, and the reverse",
        {"id_attribute": "consistencygroup_id"},
    ),
    DualWrite(
        "cgsnapshots_by_project",
        PairKind.INDEX,
        "cgsnapshots.project_id",
        "cgsnapshots_by_project",
        "every cgsnapshot has an entry under its project_id, and the reverse",
        {"id_attribute": "cgsnapshot_id"},
    ),
    DualWrite(
        "cgsnapshots_by_group",
        PairKind.INDEX,
        "cgsnapshots.consistencygroup_id",
        "cgsnapshots_by_group",
        "every cgsnapshot has an entry under its consistencygroup_id, and the reverse",
        {"id_attribute": "cgsnapshot_id"},
    ),
    DualWrite(
        "volume_types_by_name",
        PairKind.INDEX,
        "volume_types.name",
        "volume_types_by_name",
        "every live type has an entry under its name pointing at it, and every entry points at a "
        "live type of that name",
        {"id_attribute": "volume_type_id", "live_only": "true"},
    ),
    DualWrite(
        "qos_specs_by_name",
        PairKind.INDEX,
        "quality_of_service_specs.name",
        "qos_specs_by_name",
        "every live QoS spec has an entry under its name pointing at it, and the reverse",
        {"id_attribute": "qos_specs_id", "live_only": "true"},
    ),
)

DUAL_WRITE_BY_NAME: dict[str, DualWrite] = {pair.name: pair for pair in DUAL_WRITES}

#: Tables that only hold second copies: a write to one is a dual/index write.
DERIVED_TABLES: frozenset[str] = frozenset(
    table.name for table in TABLES if table.role in ("index", "inverted")
) | {"volume_attachment"}
