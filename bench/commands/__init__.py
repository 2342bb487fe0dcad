"""The ``cinderbench`` command: one subcommand per job, each owned by its package.

Every subcommand lives in the module that does the work and exposes
``register(subparsers)``; this file only lists them. Those modules import
their heavy dependencies (pandas, matplotlib, locust) inside the command, so
``cinderbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand -> module exposing ``register(subparsers)``
COMMANDS: dict[str, str] = {
    "magnetodb": "magnetodb.cli",
    "bench": "bench.commands.bench",
    "run": "bench.commands.run",
    "compare": "bench.commands.compare",
    "report": "bench.commands.report",
    "gate": "bench.commands.gate",
    "diff": "bench.commands.diff",
    "validate": "bench.commands.validate",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cinderbench",
        description="Benchmark and validate Cinder's DB API on MySQL and on a MagnetoDB design.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user error (``CommandError``) is one line and exit code 2."""
    from bench.commands.checks import CommandError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as error:
        print(f"cinderbench {args.command}: error: {error}", file=sys.stderr)
        return 2
