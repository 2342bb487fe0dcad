"""Semantic divergences of the designs: answers that differ because the two stores mean
different things by the same call, not because either has a bug.

A differential replay counts such a difference in a category of its own, named
with its reason (``DesignDifference``), instead of as a divergence (a bug to
find) or as noise (made equal). One is known:

- **case-insensitive collation**: MySQL compares text with the schema's
  ``utf8mb4_general_ci`` (Liberty's ``utf8_general_ci``), SQLite and the
  MagnetoDB design compare exactly. When one side of a replay compares names
  case-insensitively (``Features.case_insensitive_names``) and the other does
  not, a diverging call whose arguments name a string that differs only by case
  from another string the replay has seen (``CaseTwins``: the dataset's and the
  calls' own; ``DatasetSpec.case_twins`` makes such names on purpose) is this
  difference; so is a list answer with the same items in another order when
  they hold such names (a sort on a text column).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from cinderdb import Features
from validators.replicas import strings_in


@dataclass(frozen=True)
class DesignDifference:
    """A known semantic difference of the designs: its name and why it is not a bug."""

    name: str
    reason: str


CASE_INSENSITIVE_COLLATION = DesignDifference(
    "case_insensitive_collation",
    "MySQL compares text case-insensitively (utf8mb4_general_ci, as Liberty's "
    "utf8_general_ci): the type 'gold' is found by 'GOLD' and a name filter 'web' matches "
    "'Web'; SQLite and the MagnetoDB design compare exactly. Names that differ only by "
    "case get different answers by design.",
)


def design_differences(first: Features, second: Features) -> list[DesignDifference]:
    """The design differences two backends can show, from what each declares."""
    found = []
    if first.case_insensitive_names != second.case_insensitive_names:
        found.append(CASE_INSENSITIVE_COLLATION)
    return found


class CaseTwins:
    """The strings a replay has seen, grouped by their case-folded form."""

    def __init__(self) -> None:
        self._spellings: dict[str, set[str]] = defaultdict(set)

    def add(self, data: Any) -> None:
        """Remember every string inside ``data``."""
        for text in strings_in(data, set()):
            self._spellings[text.casefold()].add(text)

    def involved(self, data: Any) -> bool:
        """Does ``data`` hold a string another seen string equals but for case?"""
        return any(len(self._spellings.get(t.casefold(), ())) > 1 for t in strings_in(data, set()))
