"""``cinderbench diff RESULTS_DIR``: replay a run's operation log on two backends and compare.

Writes ``diff.json`` into the results directory (``docs/findings-format.md``),
prints a summary, and exits 0 when both backends answered alike, 1 on any
divergence (a call's answer or the final state), 2 when the replay could not
run. See ``validators.replay`` for what is compared and how.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_SAME, EXIT_DIVERGED, EXIT_ERROR = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="replay a run's operation log on two backends and compare every answer",
        description="Replay a run's operation log on two fresh backends from the same seeded "
        "state and compare every answer and the final state; writes diff.json.",
    )
    parser.add_argument("results", metavar="RESULTS_DIR", help="a results directory with oplog")
    parser.add_argument(
        "--first",
        metavar="URL",
        help="first backend (default: SQLite in memory); a given database is emptied",
    )
    parser.add_argument(
        "--second",
        metavar="URL",
        help="second backend (default: in-process MagnetoDB in memory); emptied too",
    )
    parser.add_argument(
        "--aa",
        action="store_true",
        help="also replay each backend kind against itself: the noise floor (A/A)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the verdict line")
    parser.set_defaults(func=main)


def run_diff(
    results_dir: str | Path,
    first: str | None = None,
    second: str | None = None,
    *,
    aa: bool = False,
) -> dict[str, Any]:
    """Replay, write ``diff.json`` into ``results_dir``, and return its content."""
    from validators.findings import write_diff
    from validators.replay import differential_replay

    data = differential_replay(results_dir, first, second, aa=aa)
    write_diff(results_dir, data)
    return data


def main(args: argparse.Namespace) -> int:
    try:
        data = run_diff(args.results, args.first, args.second, aa=args.aa)
    except (FileNotFoundError, ValueError, KeyError) as error:
        print(f"cinderbench diff: cannot replay {args.results}: {error}", file=sys.stderr)
        return EXIT_ERROR
    print_summary(data, Path(args.results), quiet=args.quiet)
    return EXIT_SAME if data["ok"] else EXIT_DIVERGED


def verdict(data: dict[str, Any]) -> str:
    """One line: who was compared and whether they agreed."""
    final = data.get("final_state") or {}
    pair = f"{data['first']} vs {data['second']}"
    if data["ok"]:
        return f"differential replay {pair}: no divergence"
    return (
        f"differential replay {pair}: {data.get('divergence_count', 0)} diverging answers, "
        f"{final.get('differences', 0)} final-state differences"
    )


def print_summary(data: dict[str, Any], path: Path | None = None, quiet: bool = False) -> None:
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
