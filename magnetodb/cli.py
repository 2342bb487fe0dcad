"""``cinderbench magnetodb serve ...``: run the MagnetoDB server (see magnetodb.server.serve)."""

from __future__ import annotations

import argparse
import logging
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "magnetodb", help="the MagnetoDB v1 data API server", description=__doc__
    )
    sub = parser.add_subparsers(dest="magnetodb_command", metavar="COMMAND", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve /v1/data on --host:--port from --data-dir with N worker processes",
    )
    from magnetodb.server.serve import add_arguments

    add_arguments(serve)
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from magnetodb.server.serve import config_from_args, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    return serve(config_from_args(args))
