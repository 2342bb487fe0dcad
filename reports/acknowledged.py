"""Was anything acknowledged lost? The acknowledged-writes check's counts per backend.

``validators.acknowledged`` compares each store of the run with a replay of its
own log and classes every difference and validator finding: unacknowledged
(what a call whose answer was lost, or an operation that failed, may have
left) or acknowledged and lost (must be 0). run.json's ``acknowledged`` holds
its outcome; this is its table.
"""

from __future__ import annotations

from bench.measure.results import Results
from reports import format as fmt
from reports.model import Cell, Table


def acknowledged_table(results: Results) -> Table | None:
    """One row per backend checked; None when the check did not run."""
    checked = results.meta.get("acknowledged")
    if not checked:
        return None
    table = Table(
        [
            "backend",
            "calls with unknown outcome",
            "failed operations",
            "entries compared",
            "differences (unacknowledged / lost)",
            "findings (unacknowledged / lost)",
            "acknowledged writes lost",
        ]
    )
    for label, entry in checked.get("backends", {}).items():
        unknown = entry.get("unknown_outcome_calls") or {}
        sources = entry.get("by_source") or {}
        replay, found = sources.get("replay") or {}, sources.get("validators") or {}
        lost = int(entry.get("lost") or 0)
        table.add(
            label,
            ", ".join(f"{fn} {n}" for fn, n in unknown.items()) or "none",
            fmt.count(entry.get("failed_operations")),
            fmt.count(entry.get("entries_compared")),
            f"{replay.get('unacknowledged', 0)} / {replay.get('lost', 0)}",
            f"{found.get('unacknowledged', 0)} / {found.get('lost', 0)}",
            Cell(str(lost), "loss" if lost else "win"),
        )
    table.caption = (
        "each store against a replay of its own operation log on a fresh embedded store"
        " (calls whose outcome the run could not know skipped), and the dual-write and quota"
        " findings; unacknowledged: about an id or project that such a call or a failed"
        " operation touched; lost: anything else"
    )
    return table
