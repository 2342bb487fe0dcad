"""``cinderbench bench load``: how long the dataset takes to bulk-load into each backend.

Streams the dataset (deterministic from its seed, generated ``--chunk`` volumes
at a time by a child process, ``bench.workload.prefetch``: never all in memory)
into each backend after resetting its schema, and prints per backend the wall
time (``s``, generation included; ``gen s`` the time the load waited for the next
part, unpickling it included), the CPU seconds of this process (less noisy than
wall time on a loaded machine; the generating child's are not in it) and of the
MagnetoDB server when this command started it (``srv``), and the peak resident
set of each (``RSS``). With no ``--backend``: a file
SQLite database in a temporary directory, a scratch database on the local
MySQL/MariaDB when one answers, and a MagnetoDB server (2 workers) over a
temporary LMDB store (``--only`` picks among them). Targets: under 60 s per
backend for 100k volumes, under 4 minutes for 1M, the loader's peak under 2 GiB.
An item the MagnetoDB server refuses as too large (the seed design's
``readonly=False`` set past about 710k volumes) fails that backend's row with
the item named; ``--max-item-bytes`` raises the limit of the server started
here (a departure from MagnetoDB's 16 MiB, to measure past it). Figures: README,
"Scale".
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.drive.arguments import COUNT, POSITIVE_INT
from bench.drive.job import backend_labels
from bench.measure.memory import Usage, Watch, max_rss_bytes, mib
from bench.workload.datasets import STREAM_CHUNK, DatasetSpec, load_dataset
from bench.workload.prefetch import stream_in_child
from cinderbench.checks import ArgumentParser, backend_url, reachable
from cinderdb import embedded_store, exception, open_backend
from cinderdb.bulk import BulkData

#: The stores this command starts when given no --backend (``--only`` picks among them).
EMBEDDED = ("sqlite", "mysql", "magnetodb")
#: Seconds a bulk load may take, by dataset size (volumes up to the key).
TARGETS = ((100_000, 60.0), (1_000_000, 240.0))
#: The loader's peak resident set may not pass this.
RSS_TARGET = 2 << 30


def target_seconds(volumes: int) -> float | None:
    """The load-time target for ``volumes`` (None past the largest size with one)."""
    return next((seconds for size, seconds in TARGETS if volumes <= size), None)


class _Timed:
    """The parts of a stream, with the seconds spent making them and the records made."""

    def __init__(self, parts: Iterator[BulkData]) -> None:
        self.parts = parts
        self.seconds = 0.0
        self.records = 0

    def __iter__(self) -> Iterator[BulkData]:
        while True:
            started = time.perf_counter()
            part = next(self.parts, None)
            self.seconds += time.perf_counter() - started
            if part is None:
                return
            self.records += part.count()
            yield part


@contextlib.contextmanager
def _magnetodb_server(scratch: str, max_item_bytes: int | None) -> Iterator[tuple[str, int]]:
    """A MagnetoDB server (LMDB, 2 workers) of this command's own: its URL and pid."""
    from magnetodb.server.process import ServerProcess

    settings = {"max_item_bytes": max_item_bytes} if max_item_bytes else {}
    with ServerProcess(str(Path(scratch) / "magnetodb"), workers=2, **settings) as server:
        yield f"magnetodb://{server.url.removeprefix('http://')}/cinderbench", server.pid


def _row(label: str, seconds: float, timed: _Timed, usage: Usage, target: float | None) -> list:
    return [
        label,
        f"{seconds:.1f}",
        f"{timed.seconds:.1f}",
        f"{timed.records / seconds:,.0f}",
        f"{usage.cpu:.1f}",
        "-" if usage.server_cpu is None else f"{usage.server_cpu:.1f}",
        mib(usage.peak_rss),
        mib(usage.server_peak_rss),
        "-" if target is None else ("yes" if seconds < target else "NO"),
    ]


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench.drive.scratch import mysql_reachable, scratch_database

    parser = ArgumentParser(prog="cinderbench bench load", description=__doc__)
    parser.add_argument("--volumes", type=COUNT, default=100_000, help="volumes (100000)")
    parser.add_argument("--projects", type=POSITIVE_INT, default=20, help="projects (20)")
    parser.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    parser.add_argument(
        "--chunk",
        type=POSITIVE_INT,
        default=STREAM_CHUNK,
        help=f"volumes per part ({STREAM_CHUNK})",
    )
    parser.add_argument(
        "--max-item-bytes",
        type=POSITIVE_INT,
        help="item size limit of the MagnetoDB server started here (MagnetoDB's: 16 MiB)",
    )
    parser.add_argument(
        "--backend", action="append", metavar="[LABEL=]URL", type=backend_url, help="backend URL"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=EMBEDDED,
        help="with no --backend: load only these of the stores started here (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.backend and args.only:
        parser.error("--only picks among the stores started here: not with --backend")
    wanted = set(args.only or EMBEDDED)
    if args.backend:
        reachable(backend_labels(args.backend))
    console = Console()
    spec = DatasetSpec(volumes=args.volumes, projects=args.projects, seed=args.seed)
    target = target_seconds(args.volumes)
    title = f"bulk load of {args.volumes:,} volumes, streamed {args.chunk:,} at a time"
    table = Table(title=title)
    limit = "-" if target is None else f"< {target:.0f} s"
    columns = ("backend", "s", "gen s", "rec/s", "CPU s")
    for column in (*columns, "srv CPU", "RSS", "srv RSS", limit):
        if column == "backend":
            table.add_column(column, min_width=9)
        else:
            table.add_column(column, justify="right")
    failed = False
    with (
        tempfile.TemporaryDirectory(prefix="cinderbench-load-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        urls: list[tuple[str, str, int | None]] = [
            (label, url, None) for label, url in backend_labels(args.backend or [])
        ]
        starters = {
            "sqlite": lambda: (stack.enter_context(embedded_store("sql", scratch)), None),
            "mysql": lambda: (
                stack.enter_context(scratch_database(prefix="cinderbench_load")),
                None,
            ),
            "magnetodb": lambda: stack.enter_context(
                _magnetodb_server(scratch, args.max_item_bytes)
            ),
        }
        available = {"mysql": mysql_reachable}
        for name in EMBEDDED if not args.backend else ():
            if name in wanted and available.get(name, lambda: True)():
                urls.append((name, *starters[name]()))
        for label, url, pid in urls:
            backend = open_backend(url)
            parts = stream_in_child(spec, args.chunk)
            timed = _Timed(parts)
            try:
                backend.drop_schema()
                with Watch(pid) as usage:
                    seconds = load_dataset(backend, timed, label=label)
            except exception.CinderException as error:  # a backend that cannot hold the data
                failed = True
                console.print(f"[red]{label}: the load failed:[/red] {error}")
                table.add_row(label, "failed", *["-"] * 6, "NO")
                continue
            finally:
                parts.close()  # stops the generating child if the load did not finish
                backend.close()
            failed |= target is not None and seconds >= target
            failed |= (usage.peak_rss or 0) >= RSS_TARGET
            table.add_row(*_row(label, seconds, timed, usage, target))
    console.print(table)
    console.print(
        f"{timed.records:,} records; peak RSS of this process over the whole command: "
        f"{mib(max_rss_bytes())} (target < {mib(RSS_TARGET)})"
    )
    return 1 if failed else 0
