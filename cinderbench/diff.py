"""``cinderbench diff RESULTS_DIR``: replay a run's operation log on two backends and compare.

Writes ``diff.json`` into the results directory (``docs/findings-format.md``),
prints a summary, and exits 0 when both backends answered alike, 1 on any
divergence (a call's answer or the final state), 2 when the replay could not
run. See ``validators.replay`` for what is compared and how.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cinderbench.checks import backend_url, check_oplog, reachable, results_to_read
from validators.console import print_replay
from validators.replay import run_diff

EXIT_SAME, EXIT_DIVERGED = 0, 1


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
        type=backend_url,
        help="first backend (default: SQLite in memory); a given database is emptied",
    )
    parser.add_argument(
        "--second",
        metavar="URL",
        type=backend_url,
        help="second backend (default: in-process MagnetoDB in memory); emptied too",
    )
    parser.add_argument(
        "--aa",
        action="store_true",
        help="also replay each backend kind against itself: the noise floor (A/A)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the verdict line")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    check_oplog(results_to_read(args.results))
    reachable(
        [
            (option, url)
            for option, url in (("--first", args.first), ("--second", args.second))
            if url
        ]
    )
    data = run_diff(args.results, args.first, args.second, aa=args.aa)
    print_replay(data, Path(args.results), quiet=args.quiet)
    return EXIT_SAME if data["ok"] else EXIT_DIVERGED
