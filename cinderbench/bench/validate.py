"""``cinderbench bench validate``: how long the dual-write validation of 100k volumes takes.

Seeds a MagnetoDB server (LMDB, 2 workers, over HTTP) with the bench dataset
generator and ``bulk_load`` (100,000 volumes with their metadata, admin
metadata, attachments, snapshots, groups and every index entry), then times
``validators.dualwrite.validate`` over HTTP, a few times, and prints the
figures: wall time, the share spent reading, items and requests, and per pair
the entries compared. The target is under 10 s. ``--data-dir`` keeps the
loaded store for the next run (loading takes a minute); ``--url`` validates a
server already loaded.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.drive.arguments import POSITIVE_INT
from cinderbench.checks import ArgumentParser, backend_url, reachable

TARGET_SECONDS = 10.0
PROJECT = "cinderbench"


def _load(url: str, volumes: int, seed: int, console) -> dict[str, int]:
    from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset
    from cinderdb import open_backend

    started = time.perf_counter()
    dataset = build_dataset(DatasetSpec(volumes=volumes, seed=seed))
    console.print(f"dataset built in {time.perf_counter() - started:.1f} s")
    backend = open_backend(url)
    try:
        backend.drop_schema()
        seconds = load_dataset(backend, dataset.data, label="magnetodb")
    finally:
        backend.close()
    console.print(f"bulk load: {seconds:.1f} s")
    return {name: len(records) for name, records in dataset.data.sections()}


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
    parser.add_argument("--data-dir", help="LMDB directory to keep (reused when loaded)")
    parser.add_argument(
        "--url", type=backend_url, help="validate this magnetodb:// URL as it is (no load)"
    )
    parser.add_argument("--profile", help="write a pyinstrument HTML profile of one run here")
    args = parser.parse_args(argv)
    if args.url:
        reachable([("--url", args.url)])
    console = Console()

    with contextlib.ExitStack() as stack:
        url = args.url
        if url is None:
            data_dir = args.data_dir or stack.enter_context(
                tempfile.TemporaryDirectory(prefix="cinderbench-validate-")
            )
            marker = Path(data_dir) / "cinderbench-dataset.json"
            spec = {"volumes": args.volumes, "seed": args.seed}
            loaded = marker.exists() and json.loads(marker.read_text()).get("spec") == spec
            server = stack.enter_context(ServerProcess(str(Path(data_dir) / "lmdb"), workers=2))
            host = server.url.removeprefix("http://")
            url = f"magnetodb://{host}/{PROJECT}"
            if not loaded:
                records = _load(url, args.volumes, args.seed, console)
                marker.write_text(json.dumps({"spec": spec, "records": records}))
            else:
                console.print(f"reusing the dataset loaded in {data_dir}")
        runs = []
        validation = None
        for attempt in range(max(args.repeat, 1)):
            client = open_client(url)
            reader = Reader(client)
            profiler = None
            if args.profile and attempt == 0:
                from pyinstrument import Profiler

                profiler = Profiler()
                profiler.start()
            started = time.perf_counter()
            validation = validate(reader)
            runs.append(time.perf_counter() - started)
            if profiler is not None:
                profiler.stop()
                Path(args.profile).write_text(profiler.output_html())
            client.close()
            console.print(
                f"run {attempt + 1}: {runs[-1]:.2f} s ({reader.requests} requests, "
                f"{reader.items:,} items read, sweep {validation.reads['sweep_seconds']:.2f} s)"
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
    verdict = "yes" if median < TARGET_SECONDS else "NO"
    console.print(
        f"validation of {args.volumes:,} volumes over HTTP: best {best:.2f} s, "
        f"median {median:.2f} s of {len(runs)} (< {TARGET_SECONDS:.0f} s: {verdict}); "
        f"findings: {len(validation.findings)}"
    )
    return 0 if median < TARGET_SECONDS and validation.ok else 1
