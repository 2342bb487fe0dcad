"""The ``cinderbench`` command: one subcommand per module, on the top floor of the layout.

A subcommand ``NAME`` is the module ``cinderbench/NAME.py`` (a package
``cinderbench/NAME/`` when it has subcommands of its own: ``cinderbench bench
magnetodb`` is ``cinderbench/bench/magnetodb.py``), exposing
``register(subparsers)``; this file only lists them. ``magnetodb`` is the one
exception: the MagnetoDB service owns its command (``magnetodb/cli.py``), so the
server runs without the harness. Commands import their heavy dependencies
(pandas, matplotlib, locust) inside the command, so ``cinderbench --help`` stays
fast. A user's mistake is a ``CommandError``: one line and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand -> module exposing ``register(subparsers)``
COMMANDS: dict[str, str] = {
    "magnetodb": "magnetodb.cli",
    "bench": "cinderbench.bench",
    "run": "cinderbench.run",
    "compare": "cinderbench.compare",
    "sweep": "cinderbench.sweep",
    "report": "cinderbench.report",
    "gate": "cinderbench.gate",
    "diff": "cinderbench.diff",
    "validate": "cinderbench.validate",
    "cluster": "cinderbench.cluster",
}


def build_parser() -> argparse.ArgumentParser:
    from cinderbench.checks import ArgumentParser

    parser = ArgumentParser(
        prog="cinderbench",
        description="Benchmark and validate Cinder's DB API on MySQL and on a MagnetoDB design.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user error (``CommandError``) is one line and exit code 2."""
    from cinderbench.checks import CommandError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as error:
        print(f"cinderbench {args.command}: error: {error}", file=sys.stderr)
        return 2
