"""Micro-benchmarks: ``cinderbench bench NAME [ARGS]``, each a module with ``main(argv)``.

Each prints its figures as ratios measured side by side in one run, so they
hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import importlib

#: name -> module whose ``main(argv) -> int`` runs that benchmark
BENCHMARKS: dict[str, str] = {
    "designs": "cinderbench.bench.designs",
    "magnetodb": "cinderbench.bench.magnetodb",
    "etcd-client": "cinderbench.bench.etcd_client",
    "instrument": "cinderbench.bench.instrument",
    "load": "cinderbench.bench.load",
    "requests": "cinderbench.bench.requests",
    "sql-queries": "cinderbench.bench.sql_queries",
    "validate": "cinderbench.bench.validate",
    "harness": "cinderbench.bench.harness",
    "replay": "cinderbench.bench.replay",
    "hot-sets": "cinderbench.bench.hot_sets",
    "sorted-pages": "cinderbench.bench.sorted_pages",
    "list-reads": "cinderbench.bench.list_reads",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run a micro-benchmark and print its figures",
        description="Micro-benchmarks: " + ", ".join(sorted(BENCHMARKS)),
    )
    parser.add_argument("name", choices=sorted(BENCHMARKS), help="which benchmark")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own options")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(BENCHMARKS[args.name]).main(args.args) or 0)
