"""``cinderbench bench instrument``: what the instrumentation costs on a MySQL ``volume_get``.

Three arms run interleaved, in a rotating order, over the same volumes in
every round: the bare backend twice (A and A', whose ratio is the noise
floor) and the same backend through ``Instrumented`` with everything a run
adds per call: the operation scope, the recorder (HdrHistograms, outcomes,
per-second series), the SQL counters (``bench.measure.sql_counters`` listeners) and
the operation-log encoding. All three share one backend, hence one pooled
connection and one server thread (arms on connections of their own differed
by up to 3% for no reason of theirs); the counters' listeners are attached
for the instrumented arm only, outside its timed block.

The figure is the median over rounds of (instrumented / bare) per-call time,
with a bootstrap 95% confidence interval; the target is below 1.05.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable

from bench.drive.arguments import POSITIVE_INT
from bench.drive.heap import frozen_heap
from bench.measure.instrument import Instrumented
from bench.measure.recorder import Recorder
from bench.measure.results import paired_ratio
from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset
from cinderbench.checks import ArgumentParser, CommandError, backend_url, reachable
from cinderdb import get_admin_context, open_backend

TARGET = 1.05


def _time_block(call: Callable[[str], object], ids: list[str]) -> float:
    """Mean ns per call over ``ids``."""
    started = time.perf_counter_ns()
    for volume_id in ids:
        call(volume_id)
    return (time.perf_counter_ns() - started) / len(ids)


def measure(url: str, rounds: int, calls: int, volumes: int, seed: int = 7) -> dict[str, object]:
    """Run the interleaved A/A'/B rounds on ``url``; return ratios and per-call times."""
    dataset = build_dataset(DatasetSpec(volumes=volumes, projects=5, seed=seed))
    backend = open_backend(url)
    recorder = Recorder()
    instrumented = Instrumented(backend, recorder, "mysql")
    instrumented.detach()  # attached around the instrumented arm's blocks only
    try:
        # Loaded through a backend of its own, so no measured arm starts with a
        # connection that did the bulk load (that alone skewed A/A by 2%).
        with open_backend(url) as loader:
            loader.drop_schema()
            load_dataset(loader, dataset.data, label="bench-instrument", quiet=True)
        context = get_admin_context()
        ids = [volume["id"] for volume in dataset.data.volumes]
        rng = random.Random(seed)

        def plain(volume_id: str) -> object:
            return backend.volume_get(context, volume_id)

        def wrapped(volume_id: str) -> object:
            return instrumented.volume_get(context, volume_id)

        def instrumented_block(chosen: list[str]) -> float:
            instrumented.attach()
            started = time.perf_counter_ns()
            with instrumented.operation("show") as scope:
                for volume_id in chosen:
                    wrapped(volume_id)
            scope.encoded_calls()  # what the run does for the operation log
            elapsed = time.perf_counter_ns() - started
            instrumented.detach()
            return elapsed / len(chosen)

        arms = {
            "bare": lambda chosen: _time_block(plain, chosen),
            "bare2": lambda chosen: _time_block(plain, chosen),
            "instrumented": instrumented_block,
        }
        warm = rng.sample(ids, min(len(ids), 50))
        for arm in arms.values():  # warm the statement caches and pools of every arm
            arm(warm)
        per_arm: dict[str, list[float]] = {name: [] for name in arms}
        order = list(arms)
        with frozen_heap():  # as a run measures (bench.drive.runner.run_workload)
            for round_index in range(rounds):
                chosen = rng.sample(ids, min(len(ids), calls))
                rotation = order[round_index % 3 :] + order[: round_index % 3]
                for name in rotation:
                    per_arm[name].append(arms[name](chosen))
    finally:
        backend.drop_schema()
        backend.close()
    pairs_ab = list(zip(per_arm["bare"], per_arm["instrumented"], strict=True))
    pairs_aa = list(zip(per_arm["bare"], per_arm["bare2"], strict=True))
    return {
        "rounds": rounds,
        "calls_per_round": calls,
        "bare_us": sorted(per_arm["bare"])[rounds // 2] / 1000,
        "instrumented_us": sorted(per_arm["instrumented"])[rounds // 2] / 1000,
        "ratio": paired_ratio(pairs_ab),
        "noise": paired_ratio(pairs_aa),
    }


def main(argv: list[str] | None = None) -> int:
    from bench.drive.scratch import mysql_reachable, scratch_database

    parser = ArgumentParser(prog="cinderbench bench instrument", description=__doc__)
    parser.add_argument(
        "--url",
        type=backend_url,
        help="MySQL URL (default: a scratch database on the local server)",
    )
    parser.add_argument("--rounds", type=POSITIVE_INT, default=120, help="interleaved rounds (120)")
    parser.add_argument(
        "--calls", type=POSITIVE_INT, default=40, help="volume_get calls per arm (40)"
    )
    parser.add_argument("--volumes", type=POSITIVE_INT, default=2000, help="volumes loaded (2000)")
    args = parser.parse_args(argv)
    if args.url:
        reachable([("--url", args.url)])
    elif not mysql_reachable():
        raise CommandError("no MySQL/MariaDB answers on the local server; give --url URL")
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(scratch_database(prefix="cinderbench_instrument"))
        figures = measure(url, args.rounds, args.calls, args.volumes)
    ratio, noise = figures["ratio"], figures["noise"]
    low, high = ratio["ci95"]
    print(
        f"volume_get (admin, 7-table join) on MySQL, {figures['rounds']} interleaved rounds of "
        f"{figures['calls_per_round']} calls per arm"
    )
    print(
        f"  bare:         {figures['bare_us']:8.1f} µs/call (median round)\n"
        f"  instrumented: {figures['instrumented_us']:8.1f} µs/call (median round)"
    )
    print(
        f"  instrumented / bare = {ratio['median']:.4f}  95% CI [{low:.4f}, {high:.4f}]  "
        f"(overhead {100 * (ratio['median'] - 1):+.2f}%, target < {100 * (TARGET - 1):.0f}%)"
    )
    print(
        f"  noise floor, bare / bare (A/A) = {noise['median']:.4f}  "
        f"95% CI [{noise['ci95'][0]:.4f}, {noise['ci95'][1]:.4f}]"
    )
    return 0 if high < TARGET else 1
