"""What the validators print on a terminal: the dual-write table and the replay's summary.

The files (``validation.json``, ``diff.json``) are the record; these are the
human view of them, shared by ``cinderbench validate``, ``diff`` and ``compare``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from validators.dualwrite import Validation
from validators.findings import VALIDATION_FILE

#: Findings and repair writes printed (all of them are in validation.json).
SHOWN = 12


def print_report(
    validation: Validation,
    examples: list[Any],
    plan: Any,
    *,
    quiet: bool = False,
    console: Any = None,
) -> None:
    """The table (pair, checked, missing, orphan, stale, seconds), then findings and plan."""
    from rich.console import Console
    from rich.table import Table

    from validators.repair import format_action

    console = console or Console(highlight=False, soft_wrap=True)
    online = validation.mode == "online"
    table = Table(title=f"dual-write validation ({validation.mode}, {validation.seconds:.2f} s)")
    columns = ["pair", "checked", "missing", "orphan", "stale", "seconds"]
    if online:
        columns[5:5] = ["transient", "converge ms"]
    for column in columns:
        table.add_column(column, justify="left" if column == "pair" else "right", no_wrap=True)
    for summary in validation.summaries:
        row = [
            summary.name,
            f"{summary.checked:,}",
            str(summary.missing),
            str(summary.orphan),
            str(summary.stale),
        ]
        if online:
            conv = summary.convergence_ms
            row += [str(summary.transient), "-" if conv is None else f"{conv:.0f}"]
        row.append(f"{summary.seconds:.2f}")
        style = "red" if summary.missing or summary.orphan or summary.stale else None
        table.add_row(*row, style=style)
    console.print(table)
    divergent = validation.divergences()
    console.print(
        f"{len(divergent)} findings"
        + (f", {len(validation.findings) - len(divergent)} transient" if online else "")
    )
    if quiet:
        return
    shown = [f for f in examples if not f.transient]
    for finding in shown[:SHOWN]:
        console.print(
            f"  [bold]{finding.cls}[/bold] {finding.check} {finding.table} {finding.key} "
            f"{finding.field or ''}: expected {_short(finding.expected)}, "
            f"found {_short(finding.actual)}"
        )
        if finding.explanation:
            console.print(f"    [cyan]{finding.explanation}[/cyan]")
    if len(divergent) > SHOWN:
        console.print(f"  ... {len(divergent) - SHOWN} more (examples in {VALIDATION_FILE})")
    if plan is not None:
        mode = "applied" if plan.outcomes else "dry run: --execute applies it"
        console.print(f"repair plan ({len(plan.actions)} writes, {mode}):")
        for index, action in enumerate(plan.actions[:SHOWN]):
            outcome = f"  [{plan.outcomes[index]}]" if index < len(plan.outcomes) else ""
            console.print(f"  {format_action(action)}{outcome}")
        if len(plan.actions) > SHOWN:
            console.print(f"  ... {len(plan.actions) - SHOWN} more in {VALIDATION_FILE}")
        if plan.revalidation is not None:
            state = "clean" if plan.revalidation["ok"] else "NOT clean"
            console.print(f"re-validation after the repair: {state} ({plan.revalidation})")


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 100 else text[:97] + "..."


def verdict(data: dict[str, Any]) -> str:
    """One line: who was compared and whether they agreed."""
    final = data.get("final_state") or {}
    pair = f"{data['first']} vs {data['second']}"
    design = sum(e["count"] for e in (data.get("design_divergences") or {}).values())
    by_design = f"; {design} semantic divergences of the design" if design else ""
    if data["ok"]:
        return f"differential replay {pair}: no divergence{by_design}"
    return (
        f"differential replay {pair}: {data.get('divergence_count', 0)} diverging answers, "
        f"{final.get('differences', 0)} final-state differences{by_design}"
    )


def print_replay(data: dict[str, Any], path: Path | None = None, quiet: bool = False) -> None:
    """The replay's figures, the first divergence and the noise floor."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    style = "green" if data["ok"] else "red"
    if quiet:
        console.print(f"[{style}]{verdict(data)}[/{style}]")
        return
    replay = data.get("replay") or {}
    final = data.get("final_state") or {}
    console.print(f"[bold]differential replay[/bold] ({data['mode']}): {verdict(data)}")
    console.print(
        f"  operations replayed {data['operations_replayed']}, "
        f"calls {data.get('calls_replayed', 0)}, reads compared {data['reads_compared']} "
        f"in {replay.get('seconds', 0):.1f} s ({replay.get('calls_per_s') or 0:.0f} calls/s, "
        "each on both backends)"
    )
    console.print(
        f"  final state: {final.get('compared', 0)} entries compared, "
        f"{final.get('differences', 0)} differ"
        + (f" ({final['by_section']})" if final.get("by_section") else "")
    )
    console.print(f"  canonicalized: {data.get('ignored') or 'nothing'}")
    for name, entry in (data.get("design_divergences") or {}).items():
        console.print(
            f"  [yellow]semantic divergences of the design[/yellow], {name}: "
            f"{entry['count']} answers"
            + (f" ({entry['functions']})" if entry["functions"] else "")
            + f" - {entry['reason']}"
        )
        for example in entry["examples"][:3]:
            console.print(
                f"    #{example['seq']} {example['operation']}, {example['call']}: "
                f"{example['difference']}"
            )
    first = data.get("first_divergence")
    if first:
        console.print(
            f"  [red]first divergence[/red]: #{first['seq']} {first['operation']}, "
            f"call {first['index']} {first['call']}: {first['difference']}"
        )
    for example in (final.get("examples") or [])[:3]:
        console.print(
            f"  [red]final state[/red] {example['section']} {example['key']}: "
            f"{example['difference']}"
        )
    agreement = data.get("log_agreement") or {}
    if agreement.get("calls_differing_from_log"):
        console.print(
            f"  {agreement['calls_differing_from_log']} answers on {agreement['replayed_on']} "
            f"differ in outcome from the log (run threads: {replay.get('run_threads')}; "
            "a concurrent run's interleaving is not replayed)"
        )
    noise = data.get("noise_floor")
    if noise:
        for kind, floor in noise.items():
            console.print(
                f"  noise floor {kind} (A/A {floor['first']} vs {floor['second']}): "
                f"{floor['divergences']} diverging answers, "
                f"{floor['final_differences']} final-state differences"
            )
    if path is not None:
        console.print(f"  diff.json: {path / 'diff.json'}")
