"""One check per ``PairKind``, each parametrized by a declared pair (``DUAL_WRITES``)."""

from __future__ import annotations

from collections.abc import Iterable

from cinderdb.magneto.tables import DUAL_WRITES, DualWrite, PairKind
from validators.pairs.association import AssociationSetCheck
from validators.pairs.base import Action, PairCheck, identity
from validators.pairs.denormalized import DenormalizedColumnCheck
from validators.pairs.embedded import EmbeddedRowsCheck
from validators.pairs.index import IndexCheck
from validators.pairs.inverted import InvertedMapCheck
from validators.pairs.ordered import OrderedIndexCheck

#: PairKind -> the check class that validates every pair of that kind.
CHECKS: dict[PairKind, type[PairCheck]] = {
    cls.kind: cls
    for cls in (
        EmbeddedRowsCheck,
        InvertedMapCheck,
        IndexCheck,
        DenormalizedColumnCheck,
        AssociationSetCheck,
        OrderedIndexCheck,
    )
}


def checks_for(pairs: Iterable[DualWrite] = DUAL_WRITES) -> list[PairCheck]:
    """A fresh check for each pair (a ``KeyError`` names a kind with no check)."""
    return [CHECKS[pair.kind](pair) for pair in pairs]


__all__ = ["CHECKS", "Action", "PairCheck", "checks_for", "identity"]
