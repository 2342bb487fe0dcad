"""``cinderbench compare``: the main job. Both designs, one dataset, the standard mix, side by side.

With no options it runs on embedded defaults: a file SQLite database in a
temporary directory, and a MagnetoDB server it starts itself (``ServerProcess``
over a temporary LMDB store). ``--sql URL`` and ``--magnetodb URL`` switch to
real servers.

It seeds both backends with the same dataset (5,000 volumes by default: the
``DatasetSpec`` defaults), runs the standard mix for 30 s with every planned
operation executed on both back to back, writes the results directory, prints
the summary, then validates and writes the HTML report (``after_run``) while
the backends are still up.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator

from bench.drive.scratch import FSYNC_CHOICES, magnetodb_durability
from bench.measure.results import Results
from cinderbench.checks import backend_url, reachable, results_directory
from cinderbench.options import add_dataset_arguments, add_run_arguments, run_spec
from cinderdb import embedded_store


@contextlib.contextmanager
def backends_for(args: argparse.Namespace) -> Iterator[tuple[list[tuple[str, str]], list[str]]]:
    """The ``(label, url)`` pairs to compare, and notes on how they were chosen."""
    from bench.drive.job import backend_labels

    notes: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="cinderbench-compare-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        sql = args.sql or stack.enter_context(embedded_store("sql", scratch))
        if args.sql:
            reachable([("sql", args.sql)])  # before a MagnetoDB server is started for it
        second = args.magnetodb
        if second is None:
            sync, why = magnetodb_durability(sql, args.magnetodb_fsync)
            second = stack.enter_context(embedded_store("magnetodb", scratch, durable=sync))
            notes.append(f"MagnetoDB: a server started over a temporary LMDB store ({why})")
        specs = [sql, second]
        yield backend_labels(specs), notes


def after_run(results: Results, backends: list[tuple[str, str]]) -> None:
    """What compare does once the run is written, while its backends are still up:
    validation first (dual writes, quota invariants, differential replay), then the
    report, which shows its findings."""
    from cinderbench.report import write_run_report
    from validators.pipeline import after_run as validate_run

    validate_run(results.path, backends)
    write_run_report(results)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare the SQL and MagnetoDB designs side by side (the main job)",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument(
        "--sql", metavar="URL", type=backend_url, help="SQL backend URL (default: temp SQLite)"
    )
    parser.add_argument(
        "--magnetodb",
        metavar="URL",
        type=backend_url,
        help="MagnetoDB backend URL (default: a server it starts)",
    )
    parser.add_argument(
        "--magnetodb-fsync",
        choices=FSYNC_CHOICES,
        default="auto",
        help="whether the MagnetoDB server it starts fsyncs every commit (auto: as the SQL"
        " side does)",
    )
    add_dataset_arguments(parser)
    add_run_arguments(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bench.drive.job import run_job
    from reports.console import print_counters, print_summary

    console = Console()
    output = results_directory(args.output, args.force)
    with backends_for(args) as (backends, notes):
        spec = run_spec(args, backends)
        reachable(spec.backends)
        for note in notes:
            console.print(f"[yellow]{note}[/yellow]")
        results = run_job(
            spec,
            output,
            progress=not args.quiet,
            command="compare",
            extra={"compare": {"notes": notes}},
        )
        print_summary(results)
        print_counters(results)
        after_run(results, backends)
    console.print(f"results: {results.path}")
    return 0
