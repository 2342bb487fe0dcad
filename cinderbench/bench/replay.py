"""``cinderbench bench replay``: how fast the differential replay runs, and its A/A noise floor.

Records a run of the standard mix on a file SQLite database (or takes a
results directory), then replays its log three times: SQLite vs in-process
MagnetoDB (A/B), SQLite vs SQLite and MagnetoDB vs MagnetoDB (A/A, the noise
floor). For each replay it prints the calls replayed per second (each call
runs on both backends and is compared), the time spent inside each backend
(the second one in a child process, at the same time: ``validators.remote``) and
in the harness (decode, canonicalize, compare: the replayer's time neither in the
first backend nor waiting for the second's answers), the final-state entries
compared, and the divergences, which must be 0 for every A/A pair.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from bench.drive.arguments import POSITIVE_INT
from cinderbench.checks import ArgumentParser


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench.drive.job import run_job
    from bench.drive.spec import RunSpec
    from bench.measure.results import load_results
    from bench.workload.datasets import DatasetSpec
    from cinderdb import EMBEDDED_URLS, embedded_store
    from validators.replay import replay_pair

    parser = ArgumentParser(prog="cinderbench bench replay", description=__doc__)
    parser.add_argument("results", nargs="?", help="a results directory (default: record one)")
    parser.add_argument(
        "--operations", type=POSITIVE_INT, default=300, help="operations to record (300)"
    )
    parser.add_argument("--volumes", type=POSITIVE_INT, default=300, help="dataset volumes (300)")
    parser.add_argument(
        "--threads", type=POSITIVE_INT, default=1, help="threads of the recorded run (1)"
    )
    args = parser.parse_args(argv)
    console = Console(highlight=False, width=140)

    with (
        tempfile.TemporaryDirectory(prefix="cinderbench-replay-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        if args.results:
            results = load_results(args.results)
        else:
            directory = Path(scratch) / "run"
            url = stack.enter_context(embedded_store("sql", scratch))
            spec = RunSpec(
                backends=(("sqlite", url),),
                dataset=DatasetSpec(volumes=args.volumes, projects=4),
                duration=None,
                operations=args.operations,
                threads=args.threads,
            )
            run_job(spec, directory, progress=False)
            results = load_results(directory)
        sql, magnetodb = EMBEDDED_URLS["sql"], EMBEDDED_URLS["magnetodb"]
        pairs = (("A/B", sql, magnetodb), ("A/A", sql, sql), ("A/A", magnetodb, magnetodb))
        table = Table(title=f"differential replay of {results.meta['operations']} operations")
        for column in (
            "pair",
            "calls",
            "seconds",
            "calls/s",
            "in first",
            "in second",
            "harness",
            "final state",
            "divergences",
        ):
            table.add_column(column, justify="left" if column == "pair" else "right")
        noisy = False
        for mode, first, second in pairs:
            report = replay_pair(results, first, second)
            data = report.to_json()
            replay = data["replay"]
            busy = list(replay["backend_seconds"].values())
            # the second replica runs in a child process: the replayer's own time is what
            # it spent neither in the first backend nor waiting for the second's answers
            harness = replay["seconds"] - report.first.busy_seconds - report.second.waited_seconds
            final = data["final_state"]
            diverged = data["divergence_count"] + final["differences"]
            noisy |= mode == "A/A" and diverged > 0
            table.add_row(
                f"{mode} {data['first']} / {data['second']}",
                f"{data['calls_replayed']:,}",
                f"{replay['seconds']:.1f}",
                f"{replay['calls_per_s']:.0f}",
                f"{busy[0]:.1f} s",
                f"{busy[1]:.1f} s",
                f"{harness:.1f} s ({harness / replay['seconds']:.0%})",
                f"{final['compared']:,}",
                str(diverged),
            )
        console.print(table)
    return 1 if noisy else 0
