"""The report's contention section: per operation and arm, the races lost and what they cost.

MagnetoDB arms: conditional-check failures (a write whose ``expected`` no longer
held) and the design's optimistic-concurrency retries and give-ups. SQL arms:
InnoDB row-lock waits, their time and deadlocks (``SHOW GLOBAL STATUS`` deltas
around each call that may write: ``bench.measure.sql_counters.LockStatus``), and
Liberty's ``_retry_on_deadlock`` retries and give-ups. Beside them, the
validators' answer to "did any race lose or over-commit anything": the quota
invariants and the dual-write checks of ``validation.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.measure.results import Results
from reports import format as fmt
from reports.model import Cell, Table, operation_order, side_of_label

#: The table's columns: (counter, label, the sides that report it).
COLUMNS = (
    ("conditional_check_failed", "conditional-check failures", ("magnetodb",)),
    ("row_lock_waits", "row-lock waits", ("sql",)),
    ("row_lock_time_ms", "lock wait ms", ("sql",)),
    ("deadlocks", "deadlocks", ("sql",)),
    ("galera_conflicts", "Galera conflicts", ("sql",)),
    ("retries", "retries", ("magnetodb", "sql")),
    ("give_ups", "gave up", ("magnetodb", "sql")),
)
#: The counters read from InnoDB's status: a dash where no window was measured.
LOCK_STATUS = frozenset({"row_lock_waits", "row_lock_time_ms", "deadlocks", "galera_conflicts"})
#: A column that adds several counters: a Galera node's lost certifications and the local
#: transactions a replicated write aborted (both reach the client as error 1213).
SUMMED = {"galera_conflicts": ("cert_failures", "bf_aborts")}


@dataclass
class ContentionSection:
    """What the template shows: the contended rows, the quiet ones in brief, integrity."""

    table: Table | None
    quiet: str
    integrity: list[tuple[str, str]] = field(default_factory=list)


def _sum(stats: Mapping[str, Any] | None, counter: str) -> int | None:
    if counter in SUMMED:
        return sum(_sum(stats, part) or 0 for part in SUMMED[counter])
    entry = ((stats or {}).get("counters") or {}).get(counter)
    return None if entry is None else int(entry.get("sum") or 0)


def _row(name: str, label: str, side: str, stats: Mapping[str, Any]) -> tuple[int, list[Cell]]:
    cells = [Cell(name), Cell(f"{label} ({side})"), Cell(fmt.count(stats.get("count")))]
    total = 0
    for counter, _, sides in COLUMNS:
        if side not in sides:
            cells.append(Cell(fmt.DASH, title="not a counter of this side"))
            continue
        value = _sum(stats, counter) or 0
        if counter in LOCK_STATUS and not _sum(stats, "lock_windows"):
            cells.append(Cell(fmt.DASH, title="not measured: no InnoDB status (SQLite, reads)"))
            continue
        total += value if counter != "row_lock_time_ms" else 0
        cls = "loss" if counter == "give_ups" and value else ""
        cells.append(Cell(fmt.count(value), cls, f"total over {stats.get('count')} executions"))
    windows, shared = _sum(stats, "lock_windows") or 0, _sum(stats, "lock_window_shared") or 0
    cells.append(
        Cell(fmt.percent(shared / windows) if windows else fmt.DASH, title=f"{windows} windows")
    )
    return total, cells


def _integrity(results: Results) -> list[tuple[str, str]]:
    """Per arm, whether any race lost or over-committed anything (validation.json)."""
    data = results.findings("validation")
    if data is None:
        return [("loss", "not validated: no validation.json, so losses are not ruled out")]
    checks = data.get("checks") or []
    lines = []
    for label in results.backends:
        quota = [c for c in checks if c.get("kind") == "quota" and _names(c, label)]
        if quota:
            mismatched = sum(int(c.get("usage_mismatch") or 0) for c in quota)
            over = sum(int(c.get("over_quota") or 0) for c in quota)
            checked = max(int(c.get("checked") or 0) for c in quota)
            kinds = ", ".join(str(c.get("name")).rsplit(":", 1)[-1] for c in quota)
            bad = mismatched or over
            lines.append(
                (
                    "loss" if bad else "win",
                    f"{label}: quota invariants ({kinds}) over {fmt.count(checked)} usages: "
                    f"{mismatched} usages lost or double-counted, {over} over quota",
                )
            )
        else:
            lines.append(("", f"{label}: quota invariants not checked in this run"))
    pairs = [c for c in checks if c.get("kind") != "quota"]
    if pairs:
        wrong = sum(int(c.get(k) or 0) for c in pairs for k in ("missing", "orphan", "stale"))
        lines.append(
            (
                "loss" if wrong else "win",
                f"dual writes: {wrong} missing, orphan or stale copies over "
                f"{fmt.count(sum(int(c.get('checked') or 0) for c in pairs))} checked",
            )
        )
    return lines


def _names(check: Mapping[str, Any], label: str) -> bool:
    """Whether a quota check is ``label``'s (check names ``quota:<label>...``)."""
    name = str(check.get("name") or "")
    return name == f"quota:{label}" or name.startswith((f"quota:{label}:", f"quota:{label} "))


def contention_section(results: Results) -> ContentionSection | None:
    """The section, or None when no arm recorded a contention counter (an older run)."""
    columns = ["operation", "arm", "executions", *(label for _, label, _ in COLUMNS)]
    table = Table([*columns, "windows shared"])
    contended: list[tuple[int, list[Cell]]] = []
    quiet: list[str] = []
    recorded = False
    for name in operation_order(results):
        for label in results.backends:
            stats = results.operations[name].get(label)
            if not stats:
                continue
            side = side_of_label(results, label)
            recorded = recorded or _sum(stats, "retries") is not None
            total, cells = _row(name, label, side, stats)
            if total:
                contended.append((total, cells))
            else:
                quiet.append(f"{name} ({label})")
    if not recorded:
        return None
    table.rows = [cells for _, cells in sorted(contended, key=lambda row: -row[0])]
    table.caption = (
        "totals over the run's executions; a conditional-check failure is a lost race when a "
        "retry follows, else a condition doing its job (a create finding the item there); "
        "lock waits and deadlocks are MySQL's global status "
        "over each write call's window: exact when no other call overlapped it, counted in "
        "every overlapping window otherwise (windows shared)"
    )
    section = ContentionSection(
        table if table.rows else None,
        f"no lost race, lock wait or retry in {len(quiet)} operation/arm pairs"
        + (f": {', '.join(quiet)}" if quiet else ""),
    )
    section.integrity = _integrity(results)
    return section


def sweep_contention_table(index: Mapping[str, Any]) -> Table | None:
    """Per sweep point and arm, the run's contention totals (each operation's mean per
    execution times its executions, summed); None when no point recorded the counters."""
    shown = [(counter, label) for counter, label, _ in COLUMNS if counter != "row_lock_time_ms"]
    table = Table(["point", "arm", *(label for _, label in shown)])
    recorded = False
    points = sorted(index["points"].values(), key=lambda p: (p["volumes"], p["threads"]))
    for point in points:
        for arm in index["arms"]:
            totals = dict.fromkeys((counter for counter, _ in shown), 0.0)
            for arms in point["summary"]["operations"].values():
                row = arms.get(arm) or {}
                counters = row.get("counters") or {}
                recorded = recorded or "retries" in counters
                for counter in totals:
                    mean = sum(counters.get(part) or 0.0 for part in SUMMED.get(counter, [counter]))
                    totals[counter] += mean * row.get("count", 0)
            if any(totals.values()):
                table.add(point["directory"], arm, *(fmt.count(round(v)) for v in totals.values()))
    if not recorded:
        return None
    table.caption = (
        "totals over each point's measured phase, contended points only; per operation in "
        "each point's own report (cinderbench report DIR)"
        + ("" if table.rows else ": none at any point")
    )
    return table
