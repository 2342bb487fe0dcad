"""``cinderbench cluster``: start, inspect and take down a cluster of real engines on this
machine, one per side of the comparison (``bench.drive.clusters``).

``cluster up SIDE --nodes N`` starts one in the side's default root (or
``--root DIR``), waits until it serves and prints its nodes and the backend URL
that reaches it; ``cluster status`` shows each node; ``cluster down`` stops
every process and removes the root. ``run`` and ``compare`` find a cluster
started this way (for ``--kill-node``) in the same root.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.drive.arguments import POSITIVE_INT
from bench.drive.clusters import (
    CLUSTERS,
    Cluster,
    ClusterError,
    cluster_class,
    default_root,
    find_cluster,
)
from bench.drive.kills import NodeKill
from cinderbench.checks import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cluster",
        help="start, inspect or take down a cluster of real engines (Galera...) on this machine",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start a cluster and wait until it serves")
    sides = up.add_subparsers(dest="side", metavar="SIDE", required=True)
    for side in CLUSTERS:
        klass = cluster_class(side)
        about = (sys.modules[klass.__module__].__doc__ or side).split("\n\n")[0]
        side_parser = sides.add_parser(
            side, help=about.splitlines()[0], description=about.replace("\n", " ")
        )
        side_parser.add_argument("--nodes", type=POSITIVE_INT, default=3, help="how many nodes (3)")
        _add_root(side_parser, side)
        for option in klass.options_spec:
            side_parser.add_argument(
                option.flag,
                dest=option.dest,
                type=option.type,
                default=option.default,
                choices=option.choices,
                help=option.help,
            )
        side_parser.add_argument(
            "--timeout", type=POSITIVE_INT, default=120, help="seconds to wait for it (120)"
        )
        side_parser.set_defaults(func=main_up, options=[o.dest for o in klass.options_spec])
    for action, summary, func in (
        ("down", "stop every node and remove the cluster's directory", main_down),
        ("status", "show each node of a cluster", main_status),
        ("url", "print the backend URL that reaches a cluster (for --sql, --backend)", main_url),
    ):
        sub = actions.add_parser(action, help=summary)
        sub.add_argument(
            "side",
            nargs="?",
            choices=sorted(CLUSTERS),
            help="the side whose default root to use (default: every side's)",
        )
        sub.add_argument("--root", help="the cluster's directory (instead of a side's default)")
        sub.set_defaults(func=func)
        if action == "url":
            sub.add_argument(
                "--choice",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="a choice of the URL (Galera: policy=all-writers, reads=any, sync_wait=0)",
            )


def _add_root(parser: argparse.ArgumentParser, side: str) -> None:
    parser.add_argument("--root", help=f"the cluster's directory (default: {default_root(side)})")


# ------------------------------------------------------------------ actions


def main_up(args: argparse.Namespace) -> int:
    root = Path(args.root) if args.root else default_root(args.side)
    existing = _load(root)
    if existing is not None:
        if existing.running:
            raise CommandError(
                f"a {existing.side} cluster runs in {root} already: "
                f"`cinderbench cluster down --root {root}` first"
            )
        existing.down()  # what a crashed machine or a killed command left behind
    options = {dest: getattr(args, dest) for dest in args.options}
    try:
        cluster = cluster_class(args.side)(root, size=args.nodes, **options)
    except ValueError as error:
        raise CommandError(str(error)) from error
    started = time.perf_counter()
    try:
        cluster.up(timeout=args.timeout)
    except (ClusterError, OSError) as error:
        cluster.down()
        raise CommandError(f"{args.side} cluster did not start: {error}") from error
    except BaseException:
        cluster.down()
        raise
    seconds = time.perf_counter() - started
    print(f"{args.side} cluster up in {seconds:.1f} s: {len(cluster.nodes)} nodes in {root}")
    _print_nodes(cluster)
    print(f"backend URL: {cluster.backend_url()}")
    down = "cinderbench cluster down" + (f" --root {root}" if args.root else f" {args.side}")
    print(f"take it down: {down}")
    return 0


def main_down(args: argparse.Namespace) -> int:
    for root in _roots(args):
        cluster = _load(root)
        if cluster is None:
            if args.root or args.side:
                raise CommandError(f"no cluster in {root}")
            continue
        cluster.down()
        print(f"{cluster.side} cluster down: {len(cluster.nodes)} nodes stopped, {root} removed")
    return 0


def main_status(args: argparse.Namespace) -> int:
    found = False
    for root in _roots(args):
        cluster = _load(root)
        if cluster is None:
            if args.root or args.side:
                raise CommandError(f"no cluster in {root}")
            continue
        found = True
        print(f"{cluster.side} cluster in {root}:")
        _print_nodes(cluster, detailed=True)
        print(f"backend URL: {cluster.backend_url()}")
    if not found:
        print("no cluster in " + ", ".join(str(default_root(side)) for side in sorted(CLUSTERS)))
    return 0


def main_url(args: argparse.Namespace) -> int:
    choices = {}
    for text in args.choice:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise CommandError(f"--choice takes KEY=VALUE, not {text!r}")
        choices[key] = value
    clusters = [c for c in (_load(root) for root in _roots(args)) if c is not None]
    if len(clusters) != 1:
        where = ", ".join(str(root) for root in _roots(args))
        raise CommandError(
            f"no cluster in {where}" if not clusters else "clusters of several sides: name one"
        )
    try:
        print(clusters[0].backend_url(**choices))
    except ValueError as error:
        raise CommandError(str(error)) from error
    return 0


def _roots(args: argparse.Namespace) -> list[Path]:
    if args.root:
        return [Path(args.root)]
    sides = [args.side] if args.side else sorted(CLUSTERS)
    return [default_root(side) for side in sides]


def _load(root: Path) -> Cluster | None:
    try:
        return find_cluster(root=root)
    except (ValueError, OSError, KeyError, ImportError) as error:
        raise CommandError(f"{root}: not a readable cluster ({error})") from error


def _print_nodes(cluster: Cluster, detailed: bool = False) -> None:
    status = cluster.status() if detailed else None
    for index, node in enumerate(cluster.nodes):
        line = f"  {node.name:<8} {node.address:<22} pid {node.pid}"
        if status is not None:
            entry = status[index]
            state = entry.get("state") or ("alive" if entry["alive"] else "stopped")
            line += f"  {state}"
            if entry.get("cluster_size"):
                line += f" (cluster of {entry['cluster_size']})"
        url = cluster.node_url(node)
        if url != node.address:
            line += f"  {url}"
        print(line)


# ------------------------------------------------------- for run and compare


def clusters_for_run(
    kills: Sequence[NodeKill],
    roots: Sequence[str],
    backends: Sequence[tuple[str, str]],
    started: Mapping[str, Cluster] | None = None,
) -> dict[str, Cluster]:
    """The clusters a run reports and kills nodes of: those it ``started`` (compare
    ``--cluster``), those in ``--cluster-root`` directories, and for a ``--kill-node``
    side with neither, the side's default root. Every kill is checked here, before
    anything is loaded: its cluster exists, has the node, runs it, and serves a backend
    of the run."""
    clusters: dict[str, Cluster] = dict(started or {})
    for root in roots:
        cluster = _load(Path(root))
        if cluster is None:
            raise CommandError(f"--cluster-root {root}: no cluster there")
        if cluster.side in clusters:
            raise CommandError(f"two {cluster.side} clusters given; a run uses one per side")
        clusters[cluster.side] = cluster
    for kill in kills:
        side = kill.cluster_side
        if side not in CLUSTERS:
            raise CommandError(
                f"--kill-node {kill}: no cluster serves side {side!r}; sides with one: "
                f"{', '.join(sorted(CLUSTERS))}"
            )
        if side not in clusters:
            try:
                cluster = _load(default_root(side))
            except CommandError:
                cluster = None
            if cluster is None:
                raise CommandError(
                    f"--kill-node {kill}: no {side} cluster (start one with `cinderbench"
                    f" cluster up {side}`, or give --cluster-root DIR)"
                )
            clusters[side] = cluster
        cluster = clusters[side]
        try:
            _, node = kill.target(cluster)
        except ValueError as error:
            raise CommandError(f"{error}, in {cluster.root}") from None
        if not node.alive:
            raise CommandError(f"--kill-node {kill}: {node.name} is not running")
        if not any(cluster.serves(url) for _, url in backends):
            raise CommandError(
                f"--kill-node {kill}: no backend of this run reaches the {side} cluster "
                f"in {cluster.root} (its URL is {cluster.backend_url()})"
            )
    return clusters
