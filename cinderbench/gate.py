"""``cinderbench gate RESULTS --baseline FILE|DIR [--config gate.toml] [--junit out.xml]``.

Compares a results directory with a baseline (a JSON written by
``cinderbench gate RESULTS --write-baseline FILE``, or a baseline results
directory from the same job), writes ``gate.json`` into the results
directory and JUnit XML on request, prints a short verdict, and exits 1 on a
regression (2 when it cannot compare at all).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.gate.checks import Check

GATE_FORMAT = "cinderbench-gate/1"
#: Failures printed in full by the text verdict (all are in gate.json and the JUnit file).
PRINTED = 25


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gate",
        help="fail on regressions against a baseline: counters strictly, latency statistically",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("results", metavar="RESULTS", help="results directory to gate")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--baseline", metavar="FILE|DIR", help="baseline JSON or results directory")
    target.add_argument(
        "--write-baseline", metavar="FILE", help="store RESULTS as the baseline JSON instead"
    )
    parser.add_argument("--config", metavar="TOML", help="thresholds (default: ./ci/gate.toml)")
    parser.add_argument("--junit", metavar="XML", help="also write JUnit XML here")
    parser.set_defaults(func=main)


def summary(checks: Sequence[Check]) -> dict[str, dict[str, int]]:
    """Per kind: failed / passed / not gated."""
    table: dict[str, Counter[str]] = {}
    for check in checks:
        state = "failed" if check.ok is False else "passed" if check.ok else "not gated"
        table.setdefault(check.kind, Counter())[state] += 1
    return {kind: dict(counts) for kind, counts in table.items()}


def verdict_text(checks: Sequence[Check], baseline: str, results: str) -> str:
    failed = [c for c in checks if c.ok is False]
    lines = [f"gate: {'FAIL' if failed else 'PASS'} {results} against {baseline}"]
    for kind, counts in summary(checks).items():
        lines.append(
            f"  {kind:<9} {counts.get('failed', 0)} failed, {counts.get('passed', 0)} passed, "
            f"{counts.get('not gated', 0)} not gated"
        )
    for check in failed[:PRINTED]:
        lines.append(f"FAILED {check.name}: {check.detail}")
    if len(failed) > PRINTED:
        lines.append(f"... {len(failed) - PRINTED} more failures in gate.json")
    if (Path(results) / "report.html").exists():
        lines.append(f"report: `cinderbench report {results}` adds this verdict to its report.html")
    if failed and not Path(baseline).is_dir():
        lines.append(
            "If the change is intended, store a new baseline: "
            f"cinderbench gate {results} --write-baseline {baseline}"
        )
    return "\n".join(lines)


def gate(
    results_path: str | Path,
    baseline_path: str | Path,
    config_path: str | Path | None = None,
    junit_path: str | Path | None = None,
) -> tuple[bool, list[Check], str]:
    """Run every check; write gate.json (and JUnit XML); return (ok, checks, verdict text)."""
    from bench.gate.baseline import load_baseline, snapshot
    from bench.gate.checks import run_checks
    from bench.gate.config import load_config
    from bench.gate.junit import write_junit
    from bench.measure.results import load_results

    config = load_config(config_path)
    results = load_results(results_path)
    checks = run_checks(load_baseline(baseline_path, config), snapshot(results, config), config)
    ok = not any(check.ok is False for check in checks)
    report = {
        "format": GATE_FORMAT,
        "ok": ok,
        "baseline": str(baseline_path),
        "config": config.source,
        "summary": summary(checks),
        "checks": [check.to_json() for check in checks],
    }
    (Path(results.path) / "gate.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    if junit_path:
        write_junit(checks, junit_path)
    return ok, checks, verdict_text(checks, str(baseline_path), str(results_path))


def main(args: argparse.Namespace) -> int:
    from bench.gate.baseline import write_baseline
    from bench.gate.config import load_config
    from bench.measure.results import load_results
    from cinderbench.checks import CommandError, results_to_read

    results_to_read(args.results)
    try:
        if args.write_baseline:
            path = write_baseline(
                load_results(args.results), load_config(args.config), args.write_baseline
            )
            print(f"baseline: {path}")
            return 0
        ok, _, text = gate(args.results, args.baseline, args.config, args.junit)
    except (OSError, ValueError, KeyError) as exc:
        raise CommandError(f"cannot compare: {exc}") from exc
    print(text)
    return 0 if ok else 1
