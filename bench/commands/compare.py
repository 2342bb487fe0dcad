"""``cinderbench compare``: the main job. Both designs, one dataset, the standard mix, side by side.

With no options it runs on embedded defaults: a file SQLite database in a
temporary directory, and a MagnetoDB server it starts itself (``ServerProcess``
over a temporary LMDB store). ``--sql URL`` and ``--magnetodb URL`` switch to
real servers.

It seeds both backends with the same dataset (5,000 volumes by default, see
``DEFAULT_VOLUMES``), runs the standard mix for 30 s with every planned
operation executed on both back to back, writes the results directory, prints
the summary, then runs the steps in ``AFTER_RUN`` (validation and the HTML
report hook in there) while the backends are still up.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from bench.drive.scratch import FSYNC_CHOICES, magnetodb_durability, scratch_magnetodb
from bench.measure.results import Results

#: Steps run on the finished results, in order: ``"module:function"``, each called as
#: ``function(results, args)`` while the compared backends are still up;
#: ``args.backends`` holds their ``(label, url)`` pairs. Validation (issue #7)
#: goes before the report (issue #8), which shows its findings.
AFTER_RUN: list[str] = [
    # issue #7: dual-write validation, quota invariants of both backends, differential replay
    "validators.pipeline:after_compare",
    "bench.commands.report:after_compare",
]

#: 20 projects and 5k volumes: lists return hundreds of volumes and the inverted
#: metadata items hold thousands of ids; the run phase stays under a minute, so
#: validation and the report fit in the 2 minutes compare has.
DEFAULT_VOLUMES = 5_000
DEFAULT_PROJECTS = 20
DEFAULT_DURATION = 30.0


@contextlib.contextmanager
def backends_for(args: argparse.Namespace) -> Iterator[tuple[list[tuple[str, str]], list[str]]]:
    """The ``(label, url)`` pairs to compare, and notes on how they were chosen."""
    from bench.drive.session import backend_labels

    notes: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="cinderbench-compare-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        sql = args.sql or f"sqlite:///{os.path.join(scratch, 'cinder.sqlite')}"
        second = args.magnetodb
        if second is None:
            sync, why = magnetodb_durability(sql, args.magnetodb_fsync)
            second = stack.enter_context(scratch_magnetodb(scratch, sync=sync))
            notes.append(f"MagnetoDB: a server started over a temporary LMDB store ({why})")
        specs = [sql, second]
        yield backend_labels(specs), notes


def after_run(results: Results, args: argparse.Namespace) -> None:
    """The one place later steps run on the results: validation, then the report.

    Called while the compared backends are still up (``args.backends``).
    """
    for step in AFTER_RUN:
        module_name, function_name = step.split(":")
        getattr(importlib.import_module(module_name), function_name)(results, args)


def register(subparsers: argparse._SubParsersAction) -> None:
    from bench.drive.runner import add_dataset_arguments, add_run_arguments

    parser = subparsers.add_parser(
        "compare",
        help="compare the SQL and MagnetoDB designs side by side (the main job)",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("--sql", metavar="URL", help="SQL backend URL (default: temp SQLite)")
    parser.add_argument(
        "--magnetodb", metavar="URL", help="MagnetoDB backend URL (default: a server it starts)"
    )
    parser.add_argument(
        "--magnetodb-fsync",
        choices=FSYNC_CHOICES,
        default="auto",
        help="whether the MagnetoDB server it starts fsyncs every commit (auto: as the SQL"
        " side does)",
    )
    add_dataset_arguments(parser)
    add_run_arguments(parser, duration=DEFAULT_DURATION)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bench.drive.runner import dataset_spec, run_parameters
    from bench.drive.session import execute_run, print_counters, print_summary
    from cinderdb.magneto.faults import options_from_args

    console = Console()
    spec = dataset_spec(args, volumes=DEFAULT_VOLUMES, projects=DEFAULT_PROJECTS)
    params = run_parameters(args, DEFAULT_DURATION)
    with backends_for(args) as (backends, notes):
        for note in notes:
            console.print(f"[yellow]{note}[/yellow]")
        extra: dict[str, Any] = {"compare": {"notes": notes, "after_run": list(AFTER_RUN)}}
        results = execute_run(
            backends,
            spec,
            params,
            args.output,
            progress=not args.quiet,
            command="compare",
            extra=extra,
            faults=options_from_args(args),
        )
        print_summary(results)
        print_counters(results)
        args.backends = backends
        after_run(results, args)
    console.print(f"results: {results.path}")
    return 0
