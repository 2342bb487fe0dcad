"""``cinderbench validate``: the dual-write invariants of a run's MagnetoDB backend, as a CI step.

    cinderbench validate RESULTS_DIR                      # offline, the URL from run.json
    cinderbench validate RESULTS_DIR --url magnetodb://127.0.0.1:8480/cinderbench
    cinderbench validate --url URL --online --duration 60 --settle 2 -o DIR
    cinderbench validate RESULTS_DIR --repair             # print the repair plan (dry run)
    cinderbench validate RESULTS_DIR --repair --execute   # apply it, then validate again

Writes ``validation.json`` (``docs/findings-format.md``) into the results
directory (or ``-o``), prints one row per declared pair (pt-table-checksum
style), the findings with the operations that explain them, and the plan.
Exit status: 0 no finding (or, with ``--execute``, a clean re-validation), 1
findings, 2 an error (unreachable server, no MagnetoDB backend...). A results
directory also gets its quota invariants (``validators.pipeline``) unless
``--no-quotas``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.drive.arguments import COUNT, NON_NEGATIVE_FLOAT, POSITIVE_FLOAT
from cinderbench.checks import CommandError, backend_url, reachable, results_to_read
from validators.console import print_report
from validators.dualwrite import MAX_EXAMPLES
from validators.offline import (
    ValidateError,
    attribute_examples,
    connect,
    magnetodb_backends,
    validate_store,
    write_result,
)
from validators.pipeline import validate_quotas

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the dual-written pairs of a MagnetoDB backend (exit 1 on findings)",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("results", nargs="?", help="results directory of a run")
    parser.add_argument(
        "--url", type=backend_url, help="MagnetoDB backend URL (magnetodb://HOST:PORT/PROJECT)"
    )
    parser.add_argument("--label", help="which MagnetoDB backend of run.json (its label)")
    parser.add_argument("--online", action="store_true", help="validate while load runs")
    parser.add_argument(
        "--duration", type=POSITIVE_FLOAT, default=30.0, help="online: seconds (30)"
    )
    parser.add_argument(
        "--settle",
        type=NON_NEGATIVE_FLOAT,
        default=2.0,
        help="online: seconds before lag is divergence (2)",
    )
    parser.add_argument("--repair", action="store_true", help="plan the repair (dry run)")
    parser.add_argument("--execute", action="store_true", help="with --repair: apply it")
    parser.add_argument("-o", "--output", help="where validation.json goes (default: RESULTS)")
    parser.add_argument(
        "--max-examples", type=COUNT, default=MAX_EXAMPLES, help="findings kept per pair and class"
    )
    parser.add_argument("--no-quotas", action="store_true", help="skip the quota invariants")
    parser.add_argument("--quiet", action="store_true", help="only the summary table")
    parser.set_defaults(func=main)


def resolve(args: argparse.Namespace) -> tuple[str, str, Path | None, dict[str, Any]]:
    """``(url, label, results directory, run.json)`` to validate."""
    directory = Path(args.results) if args.results else None
    meta: dict[str, Any] = {}
    if directory is not None:
        meta = results_to_read(directory).meta
    candidates = magnetodb_backends(meta)
    if args.label:
        candidates = [(label, url) for label, url in candidates if label == args.label]
    label = candidates[0][0] if candidates else (args.label or "magnetodb")
    url = args.url or (candidates[0][1] if candidates else None)
    if url is None:
        where = f"{directory}/run.json lists" if directory else "no results directory gives"
        raise ValidateError(f"{where} no MagnetoDB backend: pass --url magnetodb://HOST:PORT/P")
    return url, label, directory, meta


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    try:
        return _main(args, console)
    except ValidateError as error:
        raise CommandError(str(error)) from error


def _main(args: argparse.Namespace, console: Any) -> int:
    from validators.dualwrite import validate
    from validators.reader import Reader
    from validators.repair import apply_plan, plan_repair

    if args.execute and not args.repair:
        raise ValidateError("--execute applies a repair: give --repair too")
    if args.url:
        reachable([("--url", args.url)])
    url, label, directory, meta = resolve(args)
    output = Path(args.output) if args.output else directory or Path(".")
    client = connect(url)
    try:
        progress = None if args.quiet else (lambda text: console.print(f"[dim]{text}[/dim]"))
        validation = validate_store(
            client,
            online=args.online,
            duration=args.duration,
            settle=args.settle,
            progress=progress,
        )
        plan = None
        if args.repair:
            plan = plan_repair(validation.checks, validation.findings)
            if args.execute:
                apply_plan(client, plan)
                again = validate(Reader(client))
                plan.revalidation = {
                    "ok": again.ok,
                    "findings": len(again.findings),
                    "seconds": round(again.seconds, 3),
                }
    finally:
        client.close()
    examples = validation.examples(args.max_examples)
    explained = attribute_examples(examples, directory, label, meta)
    path = write_result(output, validation, examples, label, url, plan, explained)
    quotas_ok = True
    if directory is not None and not args.no_quotas and output == directory:
        quotas_ok = _quotas(directory, label, url, console)
    print_report(validation, examples, plan, quiet=args.quiet, console=console)
    console.print(f"validation: {path}")
    if not quotas_ok:
        return EXIT_ERROR
    if plan is not None and plan.revalidation is not None:
        return EXIT_OK if plan.revalidation["ok"] else EXIT_FINDINGS
    data = json.loads(path.read_text())
    return EXIT_OK if data["ok"] else EXIT_FINDINGS


def _quotas(directory: Path, label: str, url: str, console: Any) -> bool:
    """The quota invariants (``validators.pipeline``), appended to validation.json."""
    started = time.perf_counter()
    try:
        (result,) = validate_quotas(directory, [(label, url)])
    except Exception as error:  # reported; the dual-write result is written already
        console.print(f"[red]quota invariants failed: {type(error).__name__}: {error}[/red]")
        return False
    verdict = "no finding" if result.ok else f"{len(result.findings)} findings"
    console.print(f"quota invariants: {verdict} ({time.perf_counter() - started:.2f} s)")
    return True
