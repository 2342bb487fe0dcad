"""Repair: the MagnetoDB writes that restore every invariant a validation found broken.

pt-table-sync's model: the first copy of each pair (the base item) is the
source of truth; each finding becomes the writes that make the second copy
agree with it (``PairCheck.repair``), printed first (``--print``), applied
only on request (``--execute``), then the store is validated again. Every
write is idempotent: puts of the value the source implies, ADD/DELETE of one
set member, deletes, and conditional updates whose failed condition means
"already done, or no longer needed" (reported as skipped, not as an error).
Removals run before additions, so a name entry a crash left is deleted before
the live item's entry is written in its place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cinderdb.magneto.designs import ALL_TABLES as TABLE_BY_NAME
from cinderdb.magneto.keys import encode_request
from validators.findings import MISSING, ORPHAN, STALE, Finding
from validators.pairs import Action, PairCheck

#: Order of the actions by the class of their finding: removals first.
_ORDER = {ORPHAN: 0, STALE: 1, MISSING: 2}


@dataclass
class RepairPlan:
    """The actions of a repair, and what applying them did."""

    actions: list[Action] = field(default_factory=list)
    #: finding index -> why no write can repair it
    unrepairable: dict[int, str] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)  # applied | skipped | failed: ...
    revalidation: dict[str, Any] | None = None

    @property
    def applied(self) -> int:
        return sum(outcome == "applied" for outcome in self.outcomes)

    def to_json(self, shown: dict[int, int] | None = None) -> dict[str, Any]:
        """``repair`` of validation.json; ``shown`` maps a finding's index in the full list to
        its index among the findings the file lists (others are named by their key)."""
        actions = []
        for index, action in enumerate(self.actions):
            entry = action.to_json()
            entry["finding"] = (shown or {}).get(action.finding)
            if index < len(self.outcomes):
                entry["outcome"] = self.outcomes[index]
            actions.append(entry)
        data: dict[str, Any] = {
            "planned": len(self.actions),
            "applied": self.applied,
            "skipped": sum(outcome == "skipped" for outcome in self.outcomes),
            "failed": sum(outcome.startswith("failed") for outcome in self.outcomes),
            "actions": actions,
        }
        if self.unrepairable:
            data["unrepairable"] = {str(k): v for k, v in self.unrepairable.items()}
        if self.revalidation is not None:
            data["revalidation"] = self.revalidation
        return data


def plan_repair(checks: Iterable[PairCheck], findings: list[Finding]) -> RepairPlan:
    """The writes that repair every non-transient finding (transient ones healed alone)."""
    by_name = {check.name: check for check in checks}
    plan = RepairPlan()
    ordered = sorted(
        (i for i, f in enumerate(findings) if not f.transient),
        key=lambda i: _ORDER.get(findings[i].cls, 3),
    )
    for index in ordered:
        finding = findings[index]
        check = by_name.get(finding.check)
        if check is None:
            plan.unrepairable[index] = f"no dual-write check named {finding.check}"
            continue
        actions = check.repair(finding)
        if not actions:
            plan.unrepairable[index] = "nothing in the first copy to restore it from"
        for action in actions:
            action.finding = index
            action.note = action.note or f"{finding.cls} {finding.check}"
            plan.actions.append(action)
    return plan


def apply_plan(client: Any, plan: RepairPlan) -> RepairPlan:
    """Send every action in order; a failed condition is ``skipped`` (already done, or the
    item changed since it was validated), any other error ``failed: ...``."""
    from magnetodb.errors import ConditionalCheckFailedException, MagnetoError

    plan.outcomes = []
    for action in plan.actions:
        body = encode_request(TABLE_BY_NAME[action.table], action.body)
        try:
            getattr(client, action.request)(action.table, **body)
        except ConditionalCheckFailedException:
            plan.outcomes.append("skipped")
        except MagnetoError as error:
            plan.outcomes.append(f"failed: {type(error).__name__}: {error}")
        else:
            plan.outcomes.append("applied")
    return plan


def format_action(action: Action) -> str:
    """One action as a line of the printed plan (pt-table-sync ``--print``)."""
    body = dict(action.body)
    target = body.pop("key", None) or body.pop("item", None)
    rest = " ".join(f"{name}={_compact(value)}" for name, value in body.items())
    line = f"{action.request} {action.table} {_compact(target)}"
    return f"{line} {rest}".rstrip() + f"  -- {action.note}"


def _compact(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 240 else text[:237] + "..."
