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

from validators.dualwrite import MAX_EXAMPLES, Validation
from validators.findings import VALIDATION_FILE, write_validation

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: Findings and repair writes printed (all of them are in validation.json).
SHOWN = 12


class ValidateError(Exception):
    """A validation that could not run (exit status 2)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the dual-written pairs of a MagnetoDB backend (exit 1 on findings)",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("results", nargs="?", help="results directory of a run")
    parser.add_argument("--url", help="MagnetoDB backend URL (magnetodb://HOST:PORT/PROJECT)")
    parser.add_argument("--label", help="which MagnetoDB backend of run.json (its label)")
    parser.add_argument("--online", action="store_true", help="validate while load runs")
    parser.add_argument("--duration", type=float, default=30.0, help="online: seconds (30)")
    parser.add_argument(
        "--settle", type=float, default=2.0, help="online: seconds before lag is divergence (2)"
    )
    parser.add_argument("--repair", action="store_true", help="plan the repair (dry run)")
    parser.add_argument("--execute", action="store_true", help="with --repair: apply it")
    parser.add_argument("-o", "--output", help="where validation.json goes (default: RESULTS)")
    parser.add_argument(
        "--max-examples", type=int, default=MAX_EXAMPLES, help="findings kept per pair and class"
    )
    parser.add_argument("--no-quotas", action="store_true", help="skip the quota invariants")
    parser.add_argument("--quiet", action="store_true", help="only the summary table")
    parser.set_defaults(func=main)


# ----------------------------------------------------------------- targets


def magnetodb_backends(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, url)`` of the MagnetoDB backends a run.json lists."""
    return [
        (backend["label"], backend["url"])
        for backend in meta.get("backends", [])
        if str(backend.get("url", "")).startswith("magnetodb")
    ]


def resolve(args: argparse.Namespace) -> tuple[str, str, Path | None, dict[str, Any]]:
    """``(url, label, results directory, run.json)`` to validate."""
    directory = Path(args.results) if args.results else None
    meta: dict[str, Any] = {}
    if directory is not None:
        run_json = directory / "run.json"
        if not run_json.exists():
            raise ValidateError(f"{directory} is not a results directory (no run.json)")
        meta = json.loads(run_json.read_text())
    candidates = magnetodb_backends(meta)
    if args.label:
        candidates = [(label, url) for label, url in candidates if label == args.label]
    label = candidates[0][0] if candidates else (args.label or "magnetodb")
    url = args.url or (candidates[0][1] if candidates else None)
    if url is None:
        where = f"{directory}/run.json lists" if directory else "no results directory gives"
        raise ValidateError(f"{where} no MagnetoDB backend: pass --url magnetodb://HOST:PORT/P")
    return url, label, directory, meta


def connect(url: str) -> Any:
    """A client to the backend's server, checked to answer and to hold the design's tables."""
    from magnetodb.errors import MagnetoError, MagnetoTransportError
    from validators.reader import open_client

    if url.startswith("magnetodb+inproc") and "data_dir=" not in url:
        raise ValidateError(
            f"{url} kept its data in memory, gone with the run: nothing left to validate"
        )
    try:
        client = open_client(url)
        names = set(client.table_names(client.list_tables()))
    except MagnetoTransportError as error:
        raise ValidateError(
            f"cannot reach {url} ({error}); an embedded run's server stops with the run: "
            "pass --url of a server that holds its data"
        ) from error
    except (MagnetoError, ValueError) as error:
        raise ValidateError(f"{url}: {error}") from error
    from cinderdb.magneto.tables import DUAL_WRITES, TABLE_BY_NAME

    wanted = {
        TABLE_BY_NAME[ref.split(".")[0]].name for p in DUAL_WRITES for ref in (p.source, p.target)
    }
    if not wanted <= names:
        client.close()
        missing = ", ".join(sorted(wanted - names))
        raise ValidateError(f"{url} lacks the design's tables ({missing}): not a cinderbench store")
    return client


# ----------------------------------------------------------------- running


def run(
    client: Any,
    *,
    online: bool = False,
    duration: float = 30.0,
    settle: float = 2.0,
    progress: Any = None,
) -> Validation:
    from validators.dualwrite import validate
    from validators.online import validate_online
    from validators.reader import Reader

    reader = Reader(client)
    if online:
        return validate_online(reader, duration, settle, progress=progress)
    return validate(reader)


def attribute_examples(
    examples: list[Any], directory: Path | None, label: str, meta: dict[str, Any]
) -> int:
    """Attribute the findings shown from the run's log and fault log (0 without a log)."""
    from validators.attribution import attribute, oplog_lines, read_faults

    if directory is None or not examples:
        return 0
    unsafe = bool((meta.get("faults") or {}).get("unsafe_no_conditions"))
    return attribute(
        examples, oplog_lines(directory), label, faults=read_faults(directory), unsafe=unsafe
    )


def validate_run(
    results_dir: str | Path,
    label: str,
    url: str,
    *,
    quiet: bool = False,
    max_examples: int = MAX_EXAMPLES,
) -> Validation:
    """Offline validation of one MagnetoDB backend of a finished run, into its
    ``validation.json`` (``validators.pipeline`` calls this after ``compare``)."""
    directory = Path(results_dir)
    meta = json.loads((directory / "run.json").read_text())
    client = connect(url)
    try:
        validation = run(client)
    finally:
        client.close()
    examples = validation.examples(max_examples)
    explained = attribute_examples(examples, directory, label, meta)
    write(directory, validation, examples, label, url, None, explained)
    print_report(validation, examples, None, quiet=quiet)
    return validation


def write(
    directory: Path,
    validation: Validation,
    examples: list[Any],
    label: str,
    url: str,
    plan: Any,
    explained: int,
) -> Path:
    index = {id(f): i for i, f in enumerate(validation.findings)}
    shown = {index[id(f)]: i for i, f in enumerate(examples)}
    extra = {
        "url": url,
        "reads": validation.reads,
        "findings_total": len(validation.divergences()),
        "transient_total": len(validation.findings) - len(validation.divergences()),
        "attributed": explained,
    }
    directory.mkdir(parents=True, exist_ok=True)
    return write_validation(
        directory,
        backend=label,
        mode=validation.mode,
        checks=validation.summaries,
        findings=examples,
        seconds=validation.seconds,
        repair=plan.to_json(shown) if plan is not None else None,
        extra=extra,
    )


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    try:
        return _main(args, console)
    except ValidateError as error:
        console.print(f"[red]validate: {error}[/red]")
        return EXIT_ERROR


def _main(args: argparse.Namespace, console: Any) -> int:
    from validators.dualwrite import validate
    from validators.reader import Reader
    from validators.repair import apply_plan, plan_repair

    if args.execute and not args.repair:
        raise ValidateError("--execute applies a repair: give --repair too")
    url, label, directory, meta = resolve(args)
    output = Path(args.output) if args.output else directory or Path(".")
    client = connect(url)
    try:
        progress = None if args.quiet else (lambda text: console.print(f"[dim]{text}[/dim]"))
        validation = run(
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
    path = write(output, validation, examples, label, url, plan, explained)
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
    """The quota invariants (the other half of issue #7), appended to validation.json."""
    try:
        from validators.pipeline import validate_quotas
    except ImportError:
        return True
    started = time.perf_counter()
    try:
        (result,) = validate_quotas(directory, [(label, url)])
    except Exception as error:  # reported; the dual-write result is written already
        console.print(f"[red]quota invariants failed: {type(error).__name__}: {error}[/red]")
        return False
    verdict = "no finding" if result.ok else f"{len(result.findings)} findings"
    console.print(f"quota invariants: {verdict} ({time.perf_counter() - started:.2f} s)")
    return True


# ----------------------------------------------------------------- printing


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
