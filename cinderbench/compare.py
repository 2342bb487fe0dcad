"""``cinderbench compare``: the main job. Both designs, one dataset, the standard mix, side by side.

With no options it runs on embedded defaults: a file SQLite database in a
temporary directory, and a MagnetoDB server it starts itself (``ServerProcess``
over a temporary LMDB store). ``--sql URL`` and ``--magnetodb URL`` switch to
real servers (``--sql`` takes a Galera cluster's node list too); ``--cluster N``
starts an N-node cluster for each side that has one (``bench.drive.clusters``)
and no URL given, and takes it down at the end; with ``--with-single`` the run
has four arms, interleaved: each side on a single node (MariaDB on the shared
server, a database of its own; the MagnetoDB server over LMDB, fsync on) and
on its cluster, each MagnetoDB arm against its topology's SQL arm
(``SINGLE_AND_CLUSTER``), so the report sets the write ratios on clusters next
to the single-node ones (``reports.replication``).

``--design NAME`` (repeatable) compares MagnetoDB designs: one arm per design,
each with a store of its own (a server per design on embedded defaults: designs
sharing one server's projects interfere, README "Comparing designs"; a project
per design on ``--magnetodb URL``), each paired with the SQL arm.

It seeds every backend with the same dataset (5,000 volumes by default: the
``DatasetSpec`` defaults), runs the standard mix for 30 s with every planned
operation executed on each back to back (the order rotates), writes the
results directory, prints the summary, then validates and writes the HTML
report (``after_run``) while the backends are still up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.drive.arguments import POSITIVE_INT
from bench.drive.clusters import CLUSTERS, Cluster, ClusterError, cluster_class, new_root
from bench.drive.designs import arms_of, design_arms, keeps_labels
from bench.drive.scratch import FSYNC_CHOICES, magnetodb_durability
from bench.measure.results import Results
from cinderbench.checks import CommandError, backend_url, reachable, results_directory
from cinderbench.options import add_dataset_arguments, add_run_arguments, run_spec
from cinderdb import backend_class, embedded_store

#: ``--with-single``'s arms: (label, side, clustered), and each arm's baseline arm
SINGLE_AND_CLUSTER = (
    ("sql", "sql", False),
    ("magnetodb", "magnetodb", False),
    ("sql-cluster", "sql", True),
    ("magnetodb-cluster", "magnetodb", True),
)
SINGLE_AND_CLUSTER_BASELINES = (
    ("magnetodb", "sql"),
    ("sql-cluster", "sql"),
    ("magnetodb-cluster", "sql-cluster"),
)


@dataclass
class Backends:
    """What compare runs on: ``(label, url)`` pairs, notes on how they were chosen, the
    clusters it started (side -> cluster), and each arm's baseline arm."""

    pairs: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    baselines: tuple[tuple[str, str], ...] = ()


@contextlib.contextmanager
def backends_for(args: argparse.Namespace) -> Iterator[Backends]:
    """The backends to compare; clusters and servers it starts are stopped on exit."""
    from bench.drive.job import backend_labels

    if getattr(args, "with_single", False):
        with single_and_cluster(args) as chosen:
            yield chosen
        return
    notes: list[str] = []
    clusters: dict[str, Cluster] = {}
    with (
        tempfile.TemporaryDirectory(prefix="cinderbench-compare-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        given = {"sql": args.sql, "magnetodb": args.magnetodb}
        for side, url in list(given.items()):
            if args.cluster and url is None and side in CLUSTERS:
                cluster, seconds = stack.enter_context(started_cluster(side, args.cluster))
                clusters[side] = cluster
                given[side] = cluster.backend_url()
                notes.append(f"{side}: {describe_cluster(cluster, seconds)}")
        sql = given["sql"] or stack.enter_context(embedded_store("sql", scratch))
        if args.sql:
            reachable([("sql", args.sql)])  # before a MagnetoDB server is started for it
        second = given["magnetodb"]
        designs = args.design
        if second is not None:
            try:
                pairs = design_arms(backend_labels([sql, second]), designs)
            except ValueError as error:
                raise CommandError(str(error)) from error
            yield Backends(pairs, notes, clusters)
            return
        sync, why = magnetodb_durability(sql, args.magnetodb_fsync)
        if keeps_labels(designs):
            second = stack.enter_context(embedded_store("magnetodb", scratch, durable=sync))
            notes.append(f"MagnetoDB: a server started over a temporary LMDB store ({why})")
            yield Backends(backend_labels([sql, second]), notes, clusters)
            return
        servers = []  # a server per design: no arm shares a store, a lock or a process
        for n in range(len(designs)):
            directory = os.path.join(scratch, f"design-{n}")
            os.mkdir(directory)
            servers.append(
                stack.enter_context(embedded_store("magnetodb", directory, durable=sync))
            )
        [(sql_label, _)] = backend_labels([sql])
        label = backend_class(servers[0]).default_label(servers[0])
        notes.append(
            f"MagnetoDB: a server per design ({', '.join(designs)}), each over a temporary "
            f"LMDB store ({why})"
        )
        yield Backends([(sql_label, sql), *arms_of(label, servers, designs)], notes, clusters)


@contextlib.contextmanager
def single_and_cluster(args: argparse.Namespace) -> Iterator[Backends]:
    """``--with-single``: both sides on a single node and on an ``--cluster``-node cluster
    (module docstring); everything started here is stopped, and the scratch database
    dropped, on exit."""
    from bench.drive.scratch import mysql_reachable, scratch_database, server_url

    if not args.cluster:
        raise CommandError("--with-single needs --cluster N (the clustered arms)")
    if args.sql or args.magnetodb:
        raise CommandError("--with-single starts every arm itself: give no --sql/--magnetodb")
    if not keeps_labels(args.design):
        raise CommandError("--with-single compares topologies on the seed design: give no --design")
    if not mysql_reachable():
        raise CommandError(
            f"--with-single: no MySQL answers at {server_url()} (the single SQL arm)"
        )
    notes: list[str] = []
    clusters: dict[str, Cluster] = {}
    urls: dict[tuple[str, bool], str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="cinderbench-compare-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        urls["sql", False] = stack.enter_context(scratch_database(prefix="cb_single"))
        notes.append("sql: the MariaDB server at " + server_url() + ", a database of its own")
        urls["magnetodb", False] = stack.enter_context(
            embedded_store("magnetodb", scratch, durable=True)
        )
        notes.append("magnetodb: a server over a temporary LMDB store, fsync per commit")
        for side in ("sql", "magnetodb"):
            cluster, seconds = stack.enter_context(started_cluster(side, args.cluster))
            clusters[side] = cluster
            urls[side, True] = cluster.backend_url()
            notes.append(f"{side}-cluster: {describe_cluster(cluster, seconds)}")
        pairs = [(label, urls[side, clustered]) for label, side, clustered in SINGLE_AND_CLUSTER]
        yield Backends(pairs, notes, clusters, SINGLE_AND_CLUSTER_BASELINES)


@contextlib.contextmanager
def started_cluster(side: str, size: int) -> Iterator[tuple[Cluster, float]]:
    """An N-node cluster of ``side`` in a fresh root and the seconds it took to serve;
    taken down (root removed) on exit."""
    cluster = cluster_class(side)(new_root(side), size=size)
    started = time.perf_counter()
    try:
        try:
            cluster.up()
        except (ClusterError, OSError) as error:
            raise CommandError(f"the {side} cluster did not start: {error}") from error
        yield cluster, time.perf_counter() - started
    finally:
        cluster.down()


def describe_cluster(cluster: Cluster, seconds: float) -> str:
    """One line for the run's notes: nodes, root, start time, the class's own options."""
    options = ", ".join(
        f"{key} {value}" for key, value in cluster.options.items() if key not in ("name", "user")
    )
    return (
        f"a {len(cluster.nodes)}-node {type(cluster).__name__} started for this run in "
        f"{seconds:.1f} s ({options})"
    )


@dataclass
class Phases:
    """Wall seconds of each phase of a compare, in order; printed last (``line``), so
    where its time goes is one glance (docs: the main job's target is under 60 s)."""

    seconds: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - began

    def split_run(self, results: Results) -> None:
        """``run`` into the load (both sides at once: the longer one), the measured phase
        and the rest (dataset build, transport floor, results written)."""
        total = self.seconds.pop("run", 0.0)
        loads = (results.meta.get("dataset") or {}).get("load_seconds") or {}
        load = max(loads.values(), default=0.0)
        measured = float(results.meta.get("duration_s") or 0.0)
        self.seconds["load"] = load
        self.seconds["measured"] = measured
        self.seconds["run set-up and write"] = max(total - load - measured, 0.0)

    def line(self) -> str:
        total = time.perf_counter() - self.started
        parts = ", ".join(f"{name} {value:.1f}" for name, value in self.seconds.items())
        return f"phases (s): {parts}; total {total:.1f}"


def after_run(
    results: Results, backends: list[tuple[str, str]], phases: Phases | None = None
) -> None:
    """What compare does once the run is written, while its backends are still up:
    validation first (dual writes, quota invariants, differential replay), then the
    report, which shows its findings."""
    from cinderbench.report import write_run_report
    from validators.pipeline import after_run as validate_run

    phases = phases or Phases()
    outcome = validate_run(results.path, backends)
    for step, done in outcome.items():
        if "seconds" in done:
            phases.seconds[step] = done["seconds"]
    with phases.timed("report"):
        write_run_report(results)


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the arms run (``backends_for`` reads these): compare's and sweep's."""
    parser.add_argument(
        "--sql",
        metavar="URL",
        type=backend_url,
        help="SQL backend URL (default: temp SQLite); a Galera cluster as URL1,URL2,URL3 or"
        " mysql+pymysql://USER@HOST:PORT,HOST:PORT,.../DB[?galera=one-writer|all-writers]",
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
    parser.add_argument(
        "--cluster",
        type=POSITIVE_INT,
        metavar="N",
        help="start an N-node cluster for each side that has one and no URL given"
        f" ({', '.join(sorted(CLUSTERS))}), take it down after",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare the SQL and MagnetoDB designs side by side (the main job)",
        description=__doc__.split("\n\n")[1],
    )
    add_backend_arguments(parser)
    parser.add_argument(
        "--with-single",
        action="store_true",
        help="with --cluster: four interleaved arms, each side on a single node and on its"
        " cluster; the report sets each write operation's clustered ratio next to its"
        " single-node ratio",
    )
    add_dataset_arguments(parser)
    add_run_arguments(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bench.drive.job import run_job
    from cinderbench.cluster import clusters_for_run
    from reports.console import print_counters, print_summary

    console = Console()
    output = results_directory(args.output, args.force)
    phases = Phases()
    with contextlib.ExitStack() as stack:
        with phases.timed("backends up"):
            chosen = stack.enter_context(backends_for(args))
        spec = run_spec(args, chosen.pairs, chosen.baselines)
        reachable(spec.backends)
        clusters = clusters_for_run(
            spec.node_kills, args.cluster_root, spec.backends, chosen.clusters
        )
        for note in chosen.notes:
            console.print(f"[yellow]{note}[/yellow]")
        with phases.timed("run"):
            results = run_job(
                spec,
                output,
                progress=not args.quiet,
                command="compare",
                extra={"compare": {"notes": chosen.notes}},
                clusters=clusters,
            )
        phases.split_run(results)
        print_summary(results)
        print_counters(results)
        after_run(results, chosen.pairs, phases)
    console.print(phases.line())
    console.print(f"results: {results.path}")
    return 0
