"""``cinderbench sweep``: the paired comparison over dataset sizes and concurrency levels.

Each point of the grid (``bench.drive.sweep``) is a ``compare`` run of its
own results directory, on the arms ``compare`` would use (``backends_for``);
``sweep.json`` indexes them, each with its figures and its time split (client
CPU / store / the rest). A dataset size below ``RELOAD_BELOW`` volumes is
loaded again before each concurrency level (seconds); a larger one is loaded once and
reused by its levels, in ascending order, each with its own workload seed; the
item sizes of the inverted and index tables are measured right after
the load. The dual-write invariants are checked at every point, the quota ones
before a state is thrown away (``Point.checks_quotas``); the differential
replay, which reloads the dataset, is left to ``compare``. Run
again with the same ``-o``, it keeps the points done and runs the rest. It
ends by writing the sweep report (``sweep.html``) and printing, per arm, whose
the growth of each operation that grows with the data is: the client's CPU, or
the store and the requests (the design's).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.drive.arguments import DESIGN, MIX, POSITIVE_FLOAT, POSITIVE_INT
from bench.drive.spec import RunSpec
from bench.drive.sweep import (
    DEFAULT,
    INDEX_NAME,
    QUICK,
    Eta,
    Grid,
    Point,
    SweepIndex,
    clock,
    read_index,
)
from bench.workload.datasets import DatasetSpec
from bench.workload.generators import DISTRIBUTIONS
from cinderbench.checks import CommandError, reachable
from cinderbench.compare import add_backend_arguments, backends_for

RUN = RunSpec()


def integer_list(text: str) -> tuple[int, ...]:
    """An argparse type: ``1000,10000`` (positive integers, ``k``/``M`` suffixes allowed)."""
    values = []
    for piece in text.split(","):
        part = piece.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        digits = part[:-1] if scale > 1 else part
        try:
            value = POSITIVE_INT(digits) * scale
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"not a list of positive integers: {text!r}") from None
        values.append(value)
    return tuple(values)


integer_list.__name__ = "list"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="the paired comparison over dataset sizes and concurrency levels, with its report",
        description=__doc__.split("\n\n")[1],
    )
    grid = parser.add_argument_group("grid")
    grid.add_argument(
        "--quick",
        action="store_true",
        help=f"a small grid: volumes {_listed(QUICK.volumes)}, threads {_listed(QUICK.threads)},"
        f" {QUICK.duration:g} s points (under 10 minutes)",
    )
    grid.add_argument(
        "--volumes", type=integer_list, help=f"dataset sizes ({_listed(DEFAULT.volumes)})"
    )
    grid.add_argument(
        "--threads", type=integer_list, help=f"concurrency levels ({_listed(DEFAULT.threads)})"
    )
    grid.add_argument(
        "--duration", type=POSITIVE_FLOAT, help=f"seconds measured per point ({DEFAULT.duration:g})"
    )
    workload = parser.add_argument_group("workload")
    workload.add_argument("--mix", type=MIX, default=RUN.mix, help=f"mix ({RUN.mix})")
    workload.add_argument("--distribution", choices=sorted(DISTRIBUTIONS), default=RUN.distribution)
    workload.add_argument("--seed", type=int, default=RUN.seed, help=f"workload seed ({RUN.seed})")
    workload.add_argument("--dataset-seed", type=int, default=DatasetSpec().seed)
    parser.add_argument(
        "-o", "--output", default=None, help="sweep directory; an existing one is resumed"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_backend_arguments(parser)
    parser.add_argument(
        "--design",
        action="append",
        type=DESIGN,
        default=[],
        metavar="NAME",
        help="a MagnetoDB design arm, as compare's --design (repeatable; default seed)",
    )
    parser.set_defaults(func=main)


def _listed(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values)


def grid_of(args: argparse.Namespace) -> Grid:
    """The grid: ``--quick`` or the default, each option given replacing its part."""
    base = QUICK if args.quick else DEFAULT
    given = {
        "volumes": args.volumes,
        "threads": args.threads,
        "duration": args.duration,
    }
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None})


def sweep_directory(output: str | None) -> Path:
    from bench.drive.job import default_output

    path = Path(output) if output else default_output("sweep")
    if path.exists() and not path.is_dir():
        raise CommandError(f"{path} is a file, not a sweep directory")
    if path.is_dir() and (path / "run.json").exists():
        raise CommandError(f"{path} holds a run, not a sweep")
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_size(pairs: Sequence[tuple[str, str]], spec: DatasetSpec, quiet: bool) -> dict[str, Any]:
    """Reset and load every arm with the dataset of ``spec``; then the item sizes of each
    MagnetoDB arm's inverted and index tables."""
    from bench.workload.datasets import build_dataset, load_dataset
    from cinderdb import open_backend, side_of
    from validators.item_sizes import largest_items

    data = build_dataset(spec).data
    loads: dict[str, float] = {}
    sizes: dict[str, Any] = {}
    for label, url in pairs:
        with open_backend(url) as backend:
            backend.drop_schema()
            loads[label] = round(load_dataset(backend, data, label=label, quiet=quiet), 3)
        if side_of(url) == "magnetodb":
            sizes[label] = largest_items(url)
    return {"projects": spec.projects, "load_seconds": loads, "item_sizes": sizes}


def check_invariants(
    directory: Path, pairs: Sequence[tuple[str, str]], quotas: bool
) -> dict[str, Any]:
    """The dual-write invariants after a point, and the quota ones with ``quotas`` (no
    differential replay): findings, and the steps that could not run."""
    from bench.measure.results import load_results
    from validators.pipeline import after_run

    outcome = after_run(directory, pairs, quiet=True, replay=False, quotas=quotas)
    validation = load_results(directory).findings("validation") or {}
    failed = {name: step["error"] for name, step in outcome.items() if "error" in step}
    findings = validation.get("findings_total", len(validation.get("findings", [])))
    return {
        "ok": bool(validation.get("ok")) and not failed,
        "findings": findings,
        "checks": len(validation.get("checks", [])),
        "quotas": quotas,
        "failed_steps": failed,
    }


def with_time_split(summary: dict[str, Any], results: Any) -> dict[str, Any]:
    """``summary`` (``point_summary``) with each operation and arm's ``time_split``: mean µs
    of client CPU, store and the rest (``reports.time_split.split_means``; None when the
    run measured no client CPU)."""
    from reports.time_split import split_means

    for operation, arms in summary["operations"].items():
        for arm, row in arms.items():
            row["time_split"] = split_means(results, operation, arm)
    return summary


def run_point(
    point: Point,
    args: argparse.Namespace,
    grid: Grid,
    pairs: Sequence[tuple[str, str]],
    directory: Path,
) -> dict[str, Any]:
    """Run one point on the loaded dataset; its index entry."""
    from bench.drive.job import run_job
    from bench.drive.sweep import point_summary

    started = time.perf_counter()
    spec = RunSpec(
        backends=tuple(pairs),
        dataset=DatasetSpec(seed=args.dataset_seed, volumes=point.volumes, projects=point.projects),
        mix=args.mix,
        distribution=args.distribution,
        seed=point.seed(args.seed),
        duration=grid.duration,
        threads=point.threads,
    )
    where = directory / point.name
    if where.exists():  # a point cut short before it was indexed: run it again
        shutil.rmtree(where)
    results = run_job(
        spec,
        where,
        load=False,
        progress=not args.quiet,
        command="sweep",
        extra={"sweep": {"point": point.name, "level": point.level}},
    )
    invariants = check_invariants(where, pairs, point.checks_quotas)
    return {
        "directory": point.name,
        "fresh_dataset": point.reloads or point.level == 0,
        "wall_s": round(time.perf_counter() - started, 3),
        "summary": with_time_split(point_summary(results), results),
        "invariants": invariants,
    }


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from reports.sweep import console_summary, write_sweep_report

    console = Console(highlight=False, soft_wrap=True)
    try:
        grid = grid_of(args)
    except ValueError as error:
        raise CommandError(str(error)) from error
    directory = sweep_directory(args.output)
    try:
        index = SweepIndex.open(directory, grid)
    except ValueError as error:
        raise CommandError(str(error)) from error
    points = list(grid.points())
    pending = [point for point in points if not index.done(point)]
    console.print(
        f"sweep {directory}: {len(points)} points, {len(points) - len(pending)} done,"
        f" {len(pending)} to run"
    )
    if pending:
        with backends_for(args) as chosen:
            reachable(chosen.pairs)
            labels = [label for label, _ in chosen.pairs]
            if index.arms and index.arms != labels:
                raise CommandError(
                    f"{directory} is a sweep of {', '.join(index.arms)}, not {', '.join(labels)}"
                )
            index.arms, index.notes = labels, chosen.notes
            run_pending(pending, len(points), args, grid, chosen.pairs, index, console)
    report = write_sweep_report(directory)
    for line in console_summary(read_index(directory / INDEX_NAME)):
        console.print(line, markup=False)
    console.print(f"sweep report: {report}")
    return 0


def run_pending(
    pending: list[Point],
    total: int,
    args: argparse.Namespace,
    grid: Grid,
    pairs: Sequence[tuple[str, str]],
    index: SweepIndex,
    console: Any,
) -> None:
    """Each pending point in order, loading its size first when it is not loaded or reloads;
    progress and time left."""
    eta = Eta(grid.duration)
    loaded: set[int] = set()
    for position, point in enumerate(pending):
        if point.volumes not in loaded or point.reloads:
            console.print(f"loading {point.volumes:,} volumes in {point.projects} projects")
            started = time.perf_counter()
            spec = DatasetSpec(
                seed=args.dataset_seed, volumes=point.volumes, projects=point.projects
            )
            index.record_size(point.volumes, load_size(pairs, spec, args.quiet))
            eta.load_done(point.volumes, time.perf_counter() - started)
            loaded.add(point.volumes)
        entry = run_point(point, args, grid, pairs, index.path.parent)
        index.record_point(point, entry)
        eta.point_done(entry["wall_s"])
        summary, invariants = entry["summary"], entry["invariants"]
        verdict = (
            "invariants hold"
            if invariants["ok"]
            else (
                f"[red]{invariants['findings']} findings, failed: "
                f"{', '.join(invariants['failed_steps']) or 'none'}[/red]"
            )
        )
        left = eta.left(pending[position + 1 :], loaded)
        console.print(
            f"[{total - len(pending) + position + 1}/{total}] {point.name}:"
            f" {summary['operations_total']} operations, {summary['throughput_per_s']}/s,"
            f" {verdict}; {clock(entry['wall_s'])}; about {clock(left)} left"
        )
