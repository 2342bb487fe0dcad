"""``cinderbench bench validate``: how long the dual-write validation of 100k volumes takes.

Seeds a MagnetoDB server (LMDB, 2 workers, over HTTP) with the bench dataset, made
by a child process (``bench.workload.prefetch``) and streamed into ``bulk_load``
(100,000 volumes by default with their metadata, admin metadata, attachments,
snapshots, groups and every index entry), then times
``validators.dualwrite.validate`` over HTTP, a few times, and prints the figures:
wall and CPU time, the share spent reading, items and requests, the peak resident
set of this process and of the server, and per pair the entries compared. Targets:
under 10 s at 100k volumes, under 30 s at 1M (the README has the figures).
``--data-dir`` keeps the loaded store for the next run (loading takes minutes; the
directory is created when absent); ``--url`` validates a server already loaded.
``--max-item-bytes`` raises the server's item limit (MagnetoDB's is 16 MiB, which
the seed design's ``readonly=False`` set outgrows at about 700k volumes: without it
a 1M load fails, naming that item).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import tempfile
from pathlib import Path

from bench.drive.arguments import DESIGN, POSITIVE_INT
from bench.measure.memory import Watch, mib
from cinderbench.checks import ArgumentParser, CommandError, backend_url, reachable
from cinderdb.exception import CinderException
from cinderdb.magneto.core import design_url

#: Seconds a validation may take, by dataset size (volumes up to the key).
TARGETS = ((100_000, 10.0), (1_000_000, 30.0))
PROJECT = "cinderbench"


def _load(url: str, volumes: int, seed: int, console, server_pid: int | None) -> dict[str, int]:
    from bench.workload.datasets import DatasetSpec, load_dataset
    from bench.workload.prefetch import stream_in_child
    from cinderdb import open_backend

    counts: dict[str, int] = {}
    parts = stream_in_child(DatasetSpec(volumes=volumes, seed=seed))

    def counted():
        for part in parts:
            for name, records in part.sections():
                counts[name] = counts.get(name, 0) + len(records)
            yield part

    backend = open_backend(url)
    try:
        backend.drop_schema()
        with Watch(server_pid) as usage:
            seconds = load_dataset(backend, counted(), label="magnetodb")
    finally:
        parts.close()  # stops the generating child if the load did not finish
        backend.close()
    console.print(
        f"bulk load (streamed, generation included): {seconds:.1f} s, CPU {usage.cpu:.1f} s "
        f"(server {_seconds(usage.server_cpu)}), peak RSS {mib(usage.peak_rss)} "
        f"(server {mib(usage.server_peak_rss)})"
    )
    return counts


def data_directory(path: str) -> Path:
    """``--data-dir``, created with its parents when absent (the server creates only its
    own store inside it); ``CommandError`` when it cannot be."""
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(
            f"--data-dir {directory} cannot be created: {error.strerror or error}"
        ) from error
    return directory


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from magnetodb.server.process import ServerProcess
    from validators.dualwrite import validate
    from validators.reader import Reader, open_client

    parser = ArgumentParser(prog="cinderbench bench validate", description=__doc__)
    parser.add_argument("--volumes", type=POSITIVE_INT, default=100_000, help="volumes (100000)")
    parser.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    parser.add_argument("--repeat", type=POSITIVE_INT, default=3, help="validations to time (3)")
    parser.add_argument(
        "--data-dir", help="LMDB directory to keep (reused when loaded; created when absent)"
    )
    parser.add_argument(
        "--design",
        type=DESIGN,
        default="seed",
        help="the MagnetoDB design loaded and validated (seed): an option's pairs cost time",
    )
    parser.add_argument(
        "--url", type=backend_url, help="validate this magnetodb:// URL as it is (no load)"
    )
    parser.add_argument("--profile", help="write a pyinstrument HTML profile of one run here")
    parser.add_argument(
        "--max-item-bytes",
        type=POSITIVE_INT,
        help="item size limit of the server started here (MagnetoDB's: 16 MiB)",
    )
    args = parser.parse_args(argv)
    if args.url:
        reachable([("--url", args.url)])
    elif args.data_dir:
        data_directory(args.data_dir)
    console = Console()

    server_pid = None
    with contextlib.ExitStack() as stack:
        url = args.url
        if url is None:
            data_dir = args.data_dir or stack.enter_context(
                tempfile.TemporaryDirectory(prefix="cinderbench-validate-")
            )
            marker = Path(data_dir) / "cinderbench-dataset.json"
            spec = {"volumes": args.volumes, "seed": args.seed, "design": args.design}
            loaded = marker.exists() and json.loads(marker.read_text()).get("spec") == spec
            settings = {"max_item_bytes": args.max_item_bytes} if args.max_item_bytes else {}
            server = stack.enter_context(
                ServerProcess(str(Path(data_dir) / "lmdb"), workers=2, **settings)
            )
            server_pid = server.pid
            host = server.url.removeprefix("http://")
            url = design_url(f"magnetodb://{host}/{PROJECT}", args.design)
            if not loaded:
                try:
                    records = _load(url, args.volumes, args.seed, console, server_pid)
                except CinderException as error:
                    console.print(f"[red]the load failed:[/red] {error}")
                    return 1
                marker.write_text(json.dumps({"spec": spec, "records": records}))
            else:
                console.print(f"reusing the dataset loaded in {data_dir}")
        runs, usages = [], []
        validation = None
        for attempt in range(max(args.repeat, 1)):
            validation = None  # the last run's sets go before the next run makes its own
            client = open_client(url)
            reader = Reader(client)
            profiler = None
            if args.profile and attempt == 0:
                from pyinstrument import Profiler

                profiler = Profiler()
                profiler.start()
            with Watch(server_pid) as usage:
                validation = validate(reader)
            runs.append(usage.wall)
            usages.append(usage)
            if profiler is not None:
                profiler.stop()
                Path(args.profile).write_text(profiler.output_html())
            client.close()
            console.print(
                f"run {attempt + 1}: {runs[-1]:.2f} s, CPU {usage.cpu:.2f} s (server "
                f"{_seconds(usage.server_cpu)}), {reader.requests} requests, "
                f"{reader.items:,} items read, sweep {validation.reads['sweep_seconds']:.2f} s, "
                f"peak RSS {mib(usage.peak_rss)} (server {mib(usage.server_peak_rss)})"
            )
    assert validation is not None
    table = Table(title="dual-write validation per pair (last run)")
    for column in ("pair", "kind", "checked", "missing", "orphan", "stale", "compare s"):
        table.add_column(column, justify="left" if column in ("pair", "kind") else "right")
    for summary in validation.summaries:
        table.add_row(
            summary.name,
            summary.kind,
            f"{summary.checked:,}",
            str(summary.missing),
            str(summary.orphan),
            str(summary.stale),
            f"{summary.seconds:.2f}",
        )
    console.print(table)
    best, median = min(runs), statistics.median(runs)
    target = next((seconds for size, seconds in TARGETS if args.volumes <= size), None)
    verdict = "-" if target is None else f"< {target:.0f} s: {'yes' if median < target else 'NO'}"
    cpu = statistics.median(u.cpu for u in usages)
    console.print(
        f"validation of {args.volumes:,} volumes over HTTP: best {best:.2f} s, "
        f"median {median:.2f} s of {len(runs)} ({verdict}), median CPU {cpu:.2f} s; "
        f"peak RSS {mib(max(u.peak_rss or 0 for u in usages))}; "
        f"findings: {len(validation.findings)}"
    )
    return 0 if (target is None or median < target) and validation.ok else 1


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"
