"""``cinderbench run``: a weighted mix of catalog operations on one backend or several,
side by side, into a results directory."""

from __future__ import annotations

import argparse
import dataclasses

from cinderbench.checks import backend_url
from cinderbench.options import add_dataset_arguments, add_run_arguments, run_spec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run an operation mix on one or two backends and write a results directory",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
    )
    parser.add_argument(
        "--backend",
        action="append",
        required=True,
        metavar="[LABEL=]URL",
        type=backend_url,
        help="backend URL (twice for a side-by-side run), e.g. sqlite:///cinder.sqlite; a"
        " Galera cluster as mysql+pymysql://USER@HOST:PORT,HOST:PORT,.../DB or its node URLs"
        " joined by commas",
    )
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="ARM=BASELINE",
        help="take ARM's ratios against BASELINE (labels; repeatable; default: every arm"
        " against the first)",
    )
    parser.add_argument(
        "--no-load", action="store_true", help="the dataset is already loaded (same options)"
    )
    add_dataset_arguments(parser)
    add_run_arguments(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from bench.drive.designs import design_arms
    from bench.drive.job import backend_labels, run_job
    from cinderbench.checks import CommandError, reachable, results_directory
    from cinderbench.cluster import clusters_for_run
    from reports.console import print_summary

    output = results_directory(args.output, args.force)
    try:
        arms = design_arms(backend_labels(args.backend), args.design)
        pairs = []
        for text in args.baseline:
            arm, sep, baseline = text.partition("=")
            if not (arm and sep and baseline):
                raise ValueError(f"--baseline takes ARM=BASELINE, not {text!r}")
            pairs.append((arm, baseline))
        spec = dataclasses.replace(run_spec(args, arms), baselines=tuple(pairs))
    except ValueError as error:
        raise CommandError(str(error)) from error
    reachable(spec.backends)
    clusters = clusters_for_run(spec.node_kills, args.cluster_root, spec.backends)
    results = run_job(
        spec,
        output,
        load=not args.no_load,
        progress=not args.quiet,
        command="run",
        clusters=clusters,
    )
    print_summary(results)
    return 0
