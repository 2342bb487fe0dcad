"""Design variants: the seed's design (``tables.py``) plus named options, as data.

A design is the seed plus a set of options. Each ``Option`` declares what it
adds to the seed: its tables, the attributes it adds to seed tables, its
dual-written pairs (``DualWrite``, so the validators, repair, ``bench requests``
and the report pick them up with no code of their own) and the DB API
functions whose request plan it changes. ``Design`` assembles one variant;
``parse_design`` reads ``?design=`` of a backend URL (``seed``, a bundle such as
``improved``, or ``seed+OPTION+...``). A store holds one design: the backend
records its name in the ``DESIGN_TABLE`` item when it creates the schema and
refuses to open the store under another design.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from cinderdb.magneto.hot_sets import SHARDS, SPLIT_FUNCTIONS, SPLIT_TABLES
from cinderdb.magneto.sorted_index import SORTED_FUNCTIONS, SORTED_PAIRS, SORTED_TABLES
from cinderdb.magneto.tables import DUAL_WRITES, TABLES, DualWrite, PairKind, Table

#: The table recording which design a store holds (one item, ``DESIGN_KEY``).
DESIGN_TABLE = Table(
    "cinderbench_design",
    "key",
    extra={"design": "S"},
    role="meta",
    doc="one item: the design the store was created with (checked on open)",
)
DESIGN_KEY = "design"
#: The name of the design with no option.
SEED = "seed"


@dataclass(frozen=True)
class Option:
    """One named change to the seed's design."""

    name: str
    summary: str
    #: tables the option adds
    tables: tuple[Table, ...] = ()
    #: seed table -> the attributes (name -> MagnetoDB type) the option adds to its items
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: the dual-written pairs the option adds
    pairs: tuple[DualWrite, ...] = ()
    #: the DB API functions whose request plan the option changes
    functions: tuple[str, ...] = ()
    #: seed pair -> parameters the option adds to it (how its second copy is keyed)
    pair_params: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


#: Cinder's API reads a volume's image properties on show and attach
#: (``volume_glance_metadata_get``) and a project's on list
#: (``volume_glance_metadata_get_all``, user context): the scans ``glance_map`` removes.
_GLANCE_FUNCTIONS = (
    "volume_metadata_update",
    "volume_metadata_delete",
    "volume_glance_metadata_create",
    "volume_glance_metadata_get",
    "volume_snapshot_glance_metadata_get",
    "volume_glance_metadata_get_all",
    "volume_glance_metadata_copy_to_snapshot",
    "volume_glance_metadata_copy_to_volume",
    "volume_glance_metadata_copy_from_volume_to_volume",
    "volume_glance_metadata_delete_by_volume",
    "volume_glance_metadata_delete_by_snapshot",
)

OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option(
            "glance_map",
            "image properties also kept as a map on the volume and snapshot items (property "
            "-> copies), so reading, copying or deleting an owner's reads its item instead of "
            "scanning the inverted glance table",
            attributes={
                "volumes": {"volume_glance_metadata": "SSM"},
                "snapshots": {"volume_glance_metadata": "SSM"},
            },
            pairs=(
                DualWrite(
                    "volume_glance_map",
                    PairKind.INVERTED_MAP,
                    "volumes.volume_glance_metadata",
                    "volume_glance_metadata",
                    "every key:value in a live volume's glance map has that volume id in the "
                    "volume_ids set of property [key, value], and every id in a set is a live "
                    "volume holding that pair",
                    {"ids_attribute": "volume_ids", "copies": "true"},
                ),
                DualWrite(
                    "snapshot_glance_map",
                    PairKind.INVERTED_MAP,
                    "snapshots.volume_glance_metadata",
                    "volume_glance_metadata",
                    "as volume_glance_map, for snapshots and the snapshot_ids set",
                    {"ids_attribute": "snapshot_ids", "copies": "true"},
                ),
            ),
            functions=_GLANCE_FUNCTIONS,
        ),
        Option(
            "sorted_project_index",
            "the project index ordered by the default sort key (and by status, display_name "
            "and size), so a page of volume_get_all_by_project reads the page, not the "
            "project; the status index serves the commonest filter",
            tables=SORTED_TABLES,
            pairs=SORTED_PAIRS,
            functions=SORTED_FUNCTIONS,
        ),
        Option(
            "type_index",
            "volumes by type, so volume_type_destroy's in-use check and a type rename read "
            "the type's volumes instead of scanning all volumes",
            tables=(
                Table(
                    "volumes_by_type",
                    "volume_type_id",
                    "volume_id",
                    role="index",
                    doc="volume_type_destroy's in-use check, type rename",
                ),
            ),
            pairs=(
                DualWrite(
                    "volumes_by_type",
                    PairKind.INDEX,
                    "volumes.volume_type_id",
                    "volumes_by_type",
                    "every volume with a type has an entry under the type id, and every entry "
                    "names a volume of that type",
                    {"id_attribute": "volume_id"},
                ),
            ),
            functions=(
                "volume_create",
                "volume_destroy",
                "volume_update",
                "volume_type_destroy",
                "volume_type_update",
            ),
        ),
        Option(
            "expire_index",
            "reservations by expiry, so reservation_expire queries the expired ones instead "
            "of scanning reservations",
            tables=(
                Table(
                    "reservations_by_expire",
                    "bucket",
                    "expire_uuid",
                    extra={"project_id": "S", "uuid": "S", "expire": "S"},
                    role="index",
                    doc="one bucket, range = expire + uuid (the keys as attributes): "
                    "reservation_expire queries expire <= now",
                ),
            ),
            pairs=(
                DualWrite(
                    "reservations_by_expire",
                    PairKind.ORDERED_INDEX,
                    "reservations.expire",
                    "reservations_by_expire",
                    "every live reservation has the entry of its expiry and keys, and every "
                    "entry names a live reservation with that expiry",
                    {"bucket": "live"},
                ),
            ),
            functions=(
                "quota_reserve",
                "reservation_commit",
                "reservation_rollback",
                "reservation_expire",
            ),
        ),
        Option(
            "split_hot_sets",
            "an inverted set that would exceed a size bound is split into shards by a hash of "
            "the volume id, so no write rewrites an item holding most of the table",
            functions=SPLIT_FUNCTIONS,
            pair_params={table: {"shards": str(SHARDS)} for table in sorted(SPLIT_TABLES)},
        ),
    )
}

#: Named designs: bundle -> its options. ``improved``: the options that win the standard
#: mix (until measured, all of them).
BUNDLES: dict[str, tuple[str, ...]] = {SEED: (), "improved": tuple(OPTIONS)}


class UnknownDesign(ValueError):
    """A design name naming an option or bundle nobody declared."""


@dataclass(frozen=True)
class Design:
    """The seed plus ``options`` (in ``OPTIONS`` order): its tables and pairs."""

    options: tuple[str, ...] = ()

    @functools.cached_property
    def name(self) -> str:
        """``seed``, a bundle's name when the options are exactly the bundle's, or
        ``seed+OPTION+...``."""
        for bundle, options in BUNDLES.items():
            if options == self.options:
                return bundle
        return "+".join((SEED, *self.options))

    def has(self, option: str) -> bool:
        if option not in OPTIONS:
            raise UnknownDesign(f"unknown design option {option!r}; {known_designs()}")
        return option in self.options

    @functools.cached_property
    def _declared(self) -> tuple[Option, ...]:
        return tuple(OPTIONS[name] for name in self.options)

    @functools.cached_property
    def tables(self) -> tuple[Table, ...]:
        """The seed's tables (with the attributes options add), the options' tables and
        the design record's table."""
        added: dict[str, dict[str, str]] = {}
        for option in self._declared:
            for table, attributes in option.attributes.items():
                added.setdefault(table, {}).update(attributes)
        seed = tuple(
            replace(t, extra={**t.extra, **added[t.name]}) if t.name in added else t for t in TABLES
        )
        return (*seed, *(t for o in self._declared for t in o.tables), DESIGN_TABLE)

    @functools.cached_property
    def table_by_name(self) -> dict[str, Table]:
        return {table.name: table for table in self.tables}

    def table(self, name: str) -> Table:
        return self.table_by_name[name]

    @functools.cached_property
    def pairs(self) -> tuple[DualWrite, ...]:
        """The seed's pairs (with the parameters options add to them) and the options'."""
        params: dict[str, dict[str, str]] = {}
        for option in self._declared:
            for name, added in option.pair_params.items():
                params.setdefault(name, {}).update(added)
        seed = tuple(
            replace(p, params={**p.params, **params[p.name]}) if p.name in params else p
            for p in DUAL_WRITES
        )
        return (*seed, *(p for o in self._declared for p in o.pairs))

    @functools.cached_property
    def derived_tables(self) -> frozenset[str]:
        """Tables that only hold second copies: a write to one is a dual/index write."""
        return frozenset(t.name for t in self.tables if t.role in ("index", "inverted")) | {
            "volume_attachment"
        }

    def functions(self) -> dict[str, tuple[str, ...]]:
        """Function -> the options of this design that change its request plan."""
        changed: dict[str, list[str]] = {}
        for option in self._declared:
            for function in option.functions:
                changed.setdefault(function, []).append(option.name)
        return {function: tuple(names) for function, names in changed.items()}

    def info(self) -> dict[str, object]:
        return {"design": self.name, "design_options": list(self.options)}


def known_designs() -> str:
    return f"known options: {', '.join(OPTIONS)}; bundles: {', '.join(BUNDLES)}"


def design_of(options: Iterable[str] = ()) -> Design:
    """The design of these options (any order, repeats ignored): one object per design."""
    wanted = set(options)
    unknown = sorted(wanted - set(OPTIONS))
    if unknown:
        raise UnknownDesign(f"unknown design option {unknown[0]!r}; {known_designs()}")
    return _design(tuple(name for name in OPTIONS if name in wanted))


@functools.cache
def _design(options: tuple[str, ...]) -> Design:
    return Design(options)


def parse_design(text: str | None) -> Design:
    """``seed``, ``improved``, ``seed+glance_map+type_index`` or ``improved+...``: bundles
    and options, joined by ``+``."""
    text = (text or SEED).strip()
    options: list[str] = []
    # A "+" in a URL's query reads as a space (form encoding): both separate.
    for part in re.split(r"[+\s]+", text):
        if part in BUNDLES:
            options.extend(BUNDLES[part])
        elif part in OPTIONS:
            options.append(part)
        else:
            raise UnknownDesign(f"unknown design {part or text!r}; {known_designs()}")
    return design_of(tuple(options))


#: Every table any design may hold, by name (names are unique across options): what a
#: reader that meets a table by name (validators, repair) looks its key schema up in.
ALL_TABLES: dict[str, Table] = {
    t.name: t for t in (*TABLES, *(t for o in OPTIONS.values() for t in o.tables), DESIGN_TABLE)
}
#: Every pair any design may declare, by name.
ALL_PAIRS: dict[str, DualWrite] = {
    p.name: p for p in (*DUAL_WRITES, *(p for o in OPTIONS.values() for p in o.pairs))
}
assert len(ALL_TABLES) == len(TABLES) + sum(len(o.tables) for o in OPTIONS.values()) + 1
assert len(ALL_PAIRS) == len(DUAL_WRITES) + sum(len(o.pairs) for o in OPTIONS.values())

SEED_DESIGN = design_of(())
