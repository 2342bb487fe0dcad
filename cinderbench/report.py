"""``cinderbench report RESULTS... -o report.html``, and the step ``cinderbench compare`` ends with.

Heavy imports (pandas, matplotlib, Jinja2) happen inside the command, so
``cinderbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: The report's name inside a results directory (written by ``cinderbench compare``).
REPORT_NAME = "report.html"
#: Processes drawing a report's charts (``reports.offload``): a second core was idle.
REPORT_PROCESSES = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render results directories into one self-contained HTML report",
        description=(
            "Render one HTML file (inline CSS and charts, no network needed) comparing the "
            "backends of the newest results directory; with several, trends across them; "
            "a sweep directory (sweep.json) gets the sweep's page."
        ),
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="results directories")
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        help=f"HTML file to write (default: {REPORT_NAME} in the newest results directory)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from bench.drive.sweep import INDEX_NAME
    from cinderbench.checks import results_to_read
    from reports.build import write_report

    if len(args.results) == 1 and (Path(args.results[0]) / INDEX_NAME).is_file():
        return sweep_report(args.results[0], args.output)
    runs = [results_to_read(path) for path in args.results]
    output = args.output
    if output is None:
        output = max(runs, key=lambda r: float(r.meta.get("started_epoch") or 0.0)).path
        output = Path(output) / REPORT_NAME
    path = write_report(args.results, output, processes=REPORT_PROCESSES)
    print(f"report: {path}")
    return 0


def sweep_report(directory: str, output: str | None) -> int:
    """``cinderbench report SWEEP_DIR``: the sweep's page (``sweep.html`` in it by default)."""
    from cinderbench.checks import CommandError
    from reports.sweep import write_sweep_report

    try:
        path = write_sweep_report(directory, output)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CommandError(f"{directory}: not a readable sweep: {error}") from error
    print(f"sweep report: {path}")
    return 0


def write_run_report(results: Any) -> Path:
    """The last step of ``cinderbench compare``: the report into its results directory."""
    from reports.build import write_report

    path = write_report([results.path], Path(results.path) / REPORT_NAME, REPORT_PROCESSES)
    print(f"report: {path}")
    return path
