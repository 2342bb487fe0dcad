"""What every dual-write check shares: the pair it checks, findings, repair actions.

A check is built from one ``DualWrite`` of ``cinderdb.magneto.tables`` (one
class per ``PairKind``, parametrized by the pair: no table name is written in
a check). It says which tables and attributes it reads (``reads``), is fed
their pages (``consume``), and then compares both sides (``finish``). It can
re-read just the items of one finding (``related`` / ``follow``: the online
re-check), fill in the current values of a few examples (``describe``), and
turn a finding into the MagnetoDB writes that restore its invariant
(``repair``). The first copy (``source``) is the truth a repair restores, as
pt-table-sync writes the source's rows to the replica.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cinderdb.magneto.designs import ALL_TABLES as TABLE_BY_NAME
from cinderdb.magneto.tables import DualWrite, PairKind, Table
from validators.findings import Finding

Wire = dict[str, Any]
#: A finding's identity: the same broken fact seen twice (online re-checks).
Identity = tuple[str, str, str, tuple[tuple[str, Any], ...], str | None]


#: Buckets of a pair's digests (a power of 2): a diverging bucket is re-read exactly.
BUCKETS = 1 << 14


def hashes(values: Iterable[Hashable]) -> np.ndarray:
    """The 64-bit hashes of ``values`` (this process's ``hash``), computed in C."""
    return np.fromiter(map(hash, values), dtype=np.int64).view(np.uint64)


def mixed(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One 64-bit hash of each pair of hashes (MurmurHash3's finalizer on a mix of both:
    not linear, so entries swapped between keys do not cancel out in a bucket's sum)."""
    with np.errstate(over="ignore"):
        x = first ^ (second * np.uint64(0x9E3779B97F4A7C15))
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xFF51AFD7ED558CCD)
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xC4CEB9FE1A85EC53)
        x ^= x >> np.uint64(33)
    return x


class Buckets:
    """Per bucket, the sum (mod 2**64) of the hashes of the source's entries minus the
    target's, and the number of source entries (pt-table-checksum's chunk checksums,
    order-free: an entry twice counts twice). Both sides hold the same entries in a
    bucket whose sum is 0 (but for a 2**-64 chance); only a bucket whose sum is not needs
    its entries read. An entry's bucket is its key's hash's (``bucket_of``)."""

    __slots__ = ("counts", "sums")

    def __init__(self) -> None:
        self.sums = np.zeros(BUCKETS, dtype=np.uint64)
        self.counts = np.zeros(BUCKETS, dtype=np.int64)

    def source(self, keys: Iterable[str], entries: Iterable[Hashable]) -> None:
        """The source's entries and their keys (in the same order)."""
        self.add(hashes(keys), hashes(entries), source=True)

    def target(self, keys: Iterable[str], entries: Iterable[Hashable]) -> None:
        self.add(hashes(keys), hashes(entries), source=False)

    def add(self, key_hashes: np.ndarray, entry_hashes: np.ndarray, *, source: bool) -> None:
        """Entries by their hashes and their keys' hashes."""
        if not len(key_hashes):
            return
        where = (key_hashes & np.uint64(BUCKETS - 1)).astype(np.intp)
        if source:
            np.add.at(self.sums, where, entry_hashes)
            self.counts += np.bincount(where, minlength=BUCKETS)
        else:
            np.subtract.at(self.sums, where, entry_hashes)

    def diverging(self) -> frozenset[int]:
        return frozenset(int(bucket) for bucket in np.flatnonzero(self.sums))

    def checked(self, leaving: frozenset[int] = frozenset()) -> int:
        """Source entries of the buckets not in ``leaving`` (both sides agree there)."""
        return int(self.counts.sum()) - sum(int(self.counts[bucket]) for bucket in leaving)


def bucket_of(where: str | None) -> int:
    """The bucket of an entry's bucket key (-1: none, for an item without it)."""
    return -1 if where is None else hash(where) & (BUCKETS - 1)


def identity(finding: Finding) -> Identity:
    key = tuple(sorted((name, str(value)) for name, value in finding.key.items()))
    return (finding.check, finding.cls, finding.table, key, finding.field)


def split_ref(ref: str) -> tuple[Table, str | None]:
    """``table.attribute`` (or ``table``) of a declaration, as the table and attribute."""
    name, _, attribute = ref.partition(".")
    return TABLE_BY_NAME[name], attribute or None


def text(item: Mapping[str, Wire], attribute: str) -> str | None:
    """A string (or number) attribute's value, None when absent."""
    typed = item.get(attribute)
    if typed is None:
        return None
    return typed.get("S", typed.get("N"))


def is_deleted(item: Mapping[str, Wire]) -> bool:
    typed = item.get("deleted")
    return typed is not None and typed.get("N", "0") != "0"


def now_text() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass
class Action:
    """One MagnetoDB write of a repair plan: ``client.<request>(table, **body)``."""

    request: str  # put_item | update_item | delete_item
    table: str
    body: dict[str, Any]
    note: str = ""
    finding: int = -1
    #: a failed condition means "already done, or not needed any more" (not an error)
    conditional_ok: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "request": self.request,
            "table": self.table,
            "body": self.body,
            "note": self.note,
        }


class PairCheck(abc.ABC):
    """The check of one declared pair (subclasses: one per ``PairKind``)."""

    kind: ClassVar[PairKind]

    def __init__(self, pair: DualWrite) -> None:
        self.pair = pair
        self.source, self.source_attribute = split_ref(pair.source)
        self.target, self.target_attribute = split_ref(pair.target)
        self.checked = 0

    @property
    def name(self) -> str:
        return self.pair.name

    def finding(
        self,
        cls: str,
        table: str,
        key: dict[str, Any],
        field: str | None = None,
        expected: Any = None,
        actual: Any = None,
    ) -> Finding:
        return Finding(self.name, cls, table, key, field, expected, actual)

    # ------------------------------------------------------------ reading

    @abc.abstractmethod
    def reads(self) -> dict[str, set[str] | None]:
        """``table -> attributes`` this check compares (None: every attribute)."""

    @abc.abstractmethod
    def consume(self, table: str, items: list[Wire]) -> None:
        """One page of a table ``reads`` named."""

    @abc.abstractmethod
    def finish(self) -> list[Finding]:
        """Compare what was consumed; sets ``checked`` (entries compared)."""

    # ------------------------------------------------------------ re-check

    @abc.abstractmethod
    def related(self, finding: Finding) -> dict[str, list[tuple[Any, ...]]]:
        """The keys of the items that decide this finding (``table -> key tuples``)."""

    def follow(self, items: Mapping[str, list[Wire]]) -> dict[str, list[tuple[Any, ...]]]:
        """More keys that the items read for ``related`` point at (a row's volume...)."""
        return {}

    def subjects(self, finding: Finding) -> list[str]:
        """The ids (or names) whose operations explain this finding (attribution)."""
        return [value for value in finding.key.values() if isinstance(value, str)]

    def describe(self, reader: Any, findings: list[Finding]) -> None:
        """Fill in current values a few examples lack (default: nothing to add)."""
        return

    # ------------------------------------------------------------- repair

    @abc.abstractmethod
    def repair(self, finding: Finding) -> list[Action]:
        """The writes that make the second copy agree with the first for this finding."""


class DigestedCheck(PairCheck):
    """A check with a digest form, compared bucket by bucket in one sweep: ``consume``
    gathers a page as usual, ``fold`` moves it into ``Buckets`` and forgets it, so
    nothing grows with the store. The buckets that differ (``suspects``) are read
    again, each item cut to what they hold (``restrict``), by a fresh check whose
    ``finish`` gives the same findings the whole comparison would have."""

    @abc.abstractmethod
    def fold(self, buckets: Buckets) -> None:
        """Move what ``consume`` gathered into ``buckets`` (and drop it)."""

    def suspects(self, buckets: Buckets) -> Any:
        """What must be read again exactly (falsy: nothing: both sides agree)."""
        return buckets.diverging()

    @abc.abstractmethod
    def restrict(self, table: str, items: list[Wire], suspects: Any) -> list[Wire]:
        """The part of a page the suspects cover (an item may be cut down)."""

    def digest_checked(self, buckets: Buckets, suspects: Any, exact: int) -> int:
        """Entries compared: those of agreeing buckets plus ``exact`` (the re-read's)."""
        return buckets.checked(suspects or frozenset()) + exact

    def direct_findings(self) -> list[Finding]:
        """Findings ``consume`` makes item by item (first in ``finish``'s list)."""
        return []


def key_dict(table: Table, *values: Any) -> dict[str, Any]:
    """A finding key: the item's key attributes by name."""
    return dict(zip(table.key_attributes(), values, strict=True))


def wire_key(table: Table, key: Mapping[str, Any]) -> Wire:
    """The wire key of an item of ``table`` from a finding key (extra names ignored)."""
    return {
        name: ({"N": str(key[name])} if table.key_types.get(name) == "N" else {"S": key[name]})
        for name in table.key_attributes()
    }
