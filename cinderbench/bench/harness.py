"""``cinderbench bench harness``: the locust harness's own ceiling, so it is never the bottleneck.

One worker process runs the real machinery of ``workloads/`` (``workloads/harness.py``) (a
locust ``LocalRunner``, ``CinderUser`` tasks, ``Run.step`` (in a greenlet of
its own for MySQL, whose calls yield), ``Instrumented`` calls, the recorder,
the oplog, one ``request`` event per execution, the results directory) on a
*trivial* operation: one DB API call, ``volume_type_get`` as a project's
user, with nothing held and nothing to settle. Against the in-process
MagnetoDB backend (LMDB in a temporary directory, no socket, no server) the
call costs tens of µs, so the operations per second are the harness's ceiling;
against MySQL the
same machinery measures what the cheapest operation sustains there. The
ceiling must be at least ``REQUIRED_RATIO`` times the MySQL figure: then the
harness costs a tenth of the lightest real operation or less.

The MySQL backend is a scratch database (``bench.drive.scratch``) on
``CINDERBENCH_MYSQL_URL``, the local MariaDB by default, dropped afterwards;
``--mysql URL`` names another database to use as it is.
"""

from __future__ import annotations

import contextlib
import io
import random
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from bench.drive.arguments import COUNT, POSITIVE_FLOAT, POSITIVE_INT
from cinderbench.checks import ArgumentParser, backend_url, reachable

REQUIRED_RATIO = 10.0


def trivial_operation() -> Any:
    """The ``trivial`` catalog operation: one ``volume_type_get`` of a public type."""
    from bench.workload.catalog import CATALOG, Operation, Plan, Target
    from bench.workload.view import DatasetView, KeyChooser

    class Trivial(Operation):
        name = "trivial"
        command = "cinder type-show TYPE (one DB API call)"

        def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
            types, project = view.usable_types(), view.choose_project(keys)
            if not types or project is None:
                return None
            return self.new_plan(rng, project, type_id=rng.choice(types).id)

        def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
            return {"name": target.api.volume_type_get(plan.user(), plan.args["type_id"])["name"]}

    CATALOG.setdefault(Trivial.name, Trivial())
    return CATALOG[Trivial.name]


def measure(url: str, users: int, seconds: float, volumes: int, profile: bool) -> dict[str, Any]:
    """Operations/s of one process running ``users`` trivial users on ``url`` for ``seconds``."""
    import gevent
    from locust import events
    from locust.argument_parser import get_parser
    from locust.env import Environment

    from bench.measure.results import load_results
    from cinderdb import features_of, side_of
    from workloads.common import CinderUser, attach
    from workloads.harness import harness

    trivial_operation()

    class TrivialUser(CinderUser):
        mix = {"trivial": 1.0}

    side = side_of(url)
    with tempfile.TemporaryDirectory(prefix="cinderbench-harness-") as scratch:
        argv = ["-f", __file__, "--headless", "--backend", side, f"--{side}-url", url,
                "--volumes", str(volumes), "--projects", "4", "--no-validate",
                "--reset-dataset", "--results-dir", f"{scratch}/results"]  # fmt: skip
        options = get_parser().parse_args(argv)
        options.num_users, options.spawn_rate = users, users
        environment = Environment(user_classes=[TrivialUser], events=events, parsed_options=options)
        runner = environment.create_local_runner()
        attach(environment)
        profiler = None
        try:
            runner.start(users, spawn_rate=users, wait=False)
            deadline = time.monotonic() + 120
            while harness(environment).test is None or runner.user_count < users:
                if time.monotonic() > deadline or harness(environment).reasons:
                    raise RuntimeError(f"the run did not start: {harness(environment).reasons}")
                gevent.sleep(0.1)
            gevent.sleep(1.0)  # warm up
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="disabled")
                profiler.start()
            test = harness(environment).test
            done, started = test.operations, time.perf_counter()
            gevent.sleep(seconds)
            operations, elapsed = test.operations - done, time.perf_counter() - started
            if profiler is not None:
                profiler.stop()
            with contextlib.redirect_stdout(io.StringIO()):  # the run's own summary
                runner.quit()
            results = load_results(f"{scratch}/results")
        finally:
            harness(environment).close()
    call = results.calls["volume_type_get"][results.backends[0]]["service_us"]
    rate = operations / elapsed
    return {
        "url": url,
        "users": users,
        "seconds": round(elapsed, 2),
        "operations": operations,
        "ops_per_s": rate,
        "call_us": call["mean"],
        # only meaningful when calls do not overlap (an in-process backend never yields)
        "harness_us": None if features_of(url).waits_on_network else 1e6 / rate - call["mean"],
        # anything but ok (an error, or a rejection such as NotAuthorized) voids the figure
        "not_ok": sum(
            s["count"] - s["ok"] for per in results.operations.values() for s in per.values()
        ),
        "profile": profiler.output_text(unicode=True, color=False) if profiler else None,
    }


@contextlib.contextmanager
def _mysql(url: str | None) -> Iterator[str | None]:
    if url:
        yield url
        return
    from bench.drive.scratch import mysql_reachable, scratch_database

    if not mysql_reachable():
        yield None
        return
    with scratch_database(prefix="cinderbench_harness") as scratch:
        yield scratch


def main(argv: list[str] | None = None) -> int:
    import workloads.common  # noqa: F401 - locust first: it monkey-patches for gevent

    parser = ArgumentParser(prog="cinderbench bench harness", description=__doc__)
    parser.add_argument(
        "--seconds", type=POSITIVE_FLOAT, default=8.0, help="measured seconds per run (8)"
    )
    parser.add_argument(
        "--users", type=POSITIVE_INT, default=8, help="locust users in the process (8)"
    )
    parser.add_argument("--volumes", type=COUNT, default=200, help="dataset volumes (200)")
    parser.add_argument(
        "--mysql", metavar="URL", type=backend_url, help="MySQL URL (default: a scratch database)"
    )
    parser.add_argument("--profile", action="store_true", help="pyinstrument the in-process run")
    args = parser.parse_args(argv)
    if args.mysql:
        reachable([("--mysql", args.mysql)])
    from rich.console import Console
    from rich.table import Table

    console = Console()
    with tempfile.TemporaryDirectory(prefix="cinderbench-harness-lmdb-") as store:
        # the real engine (LMDB), in this process: no socket, no server
        inproc = f"magnetodb+inproc:///harness?data_dir={store}"
        figures = [measure(inproc, args.users, args.seconds, args.volumes, args.profile)]
    with _mysql(args.mysql) as mysql:
        if mysql is None:
            console.print(
                "[red]no MySQL/MariaDB answers: nothing to compare the ceiling with[/red]"
            )
            return 1
        figures.append(measure(mysql, args.users, args.seconds, args.volumes, False))
    table = Table(title="harness ceiling: trivial operations (one volume_type_get) per process")
    for column in ("backend", "users", "operations", "ops/s", "call µs", "harness µs/op", "not ok"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for label, figure in zip(("MagnetoDB in-process", "MySQL"), figures, strict=True):
        table.add_row(
            label,
            str(figure["users"]),
            str(figure["operations"]),
            f"{figure['ops_per_s']:,.0f}",
            f"{figure['call_us']:,.0f}",
            "-" if figure["harness_us"] is None else f"{figure['harness_us']:,.0f}",
            str(figure["not_ok"]),
        )
    console.print(table)
    if figures[0]["profile"]:
        console.print(figures[0]["profile"])
    ratio = figures[0]["ops_per_s"] / figures[1]["ops_per_s"]
    ok = ratio >= REQUIRED_RATIO and not any(figure["not_ok"] for figure in figures)
    verdict = "[green]ok[/green]" if ok else "[red]TOO LOW[/red]"
    console.print(
        f"ceiling / MySQL = {ratio:.1f}x (required >= {REQUIRED_RATIO:.0f}x): {verdict}; "
        f"the harness costs {figures[0]['harness_us']:.0f} µs per operation"
    )
    return 0 if ok else 1
