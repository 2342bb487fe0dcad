"""``cinderbench bench load``: how long the dataset takes to bulk-load into each backend.

Builds the dataset once (deterministic from its seed), then for each backend
resets the schema and times ``Backend.bulk_load`` behind a progress bar. With
no ``--backend``: a file SQLite database in a temporary directory, a scratch
database on the local MySQL/MariaDB when one answers, and a MagnetoDB server
over a temporary LMDB store once the MagnetoDB backend exists. The target is
under 60 s per backend for 100k volumes.
"""

from __future__ import annotations

import contextlib
import tempfile
import time

from bench.drive.arguments import COUNT, POSITIVE_INT
from bench.drive.job import backend_labels
from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset
from cinderbench.checks import ArgumentParser, backend_url, reachable
from cinderdb import embedded_store, exception, open_backend

TARGET_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench.drive.scratch import mysql_reachable, scratch_database

    parser = ArgumentParser(prog="cinderbench bench load", description=__doc__)
    parser.add_argument("--volumes", type=COUNT, default=100_000, help="volumes (100000)")
    parser.add_argument("--projects", type=POSITIVE_INT, default=20, help="projects (20)")
    parser.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    parser.add_argument(
        "--backend", action="append", metavar="[LABEL=]URL", type=backend_url, help="backend URL"
    )
    args = parser.parse_args(argv)
    if args.backend:
        reachable(backend_labels(args.backend))
    console = Console()

    started = time.perf_counter()
    dataset = build_dataset(
        DatasetSpec(volumes=args.volumes, projects=args.projects, seed=args.seed)
    )
    built = time.perf_counter() - started
    records = dataset.data.count()
    console.print(f"dataset: {records:,} records ({args.volumes:,} volumes) built in {built:.1f} s")

    table = Table(title=f"bulk load of {args.volumes:,} volumes ({records:,} records)")
    for column in ("backend", "seconds", "records/s", f"< {TARGET_SECONDS:.0f} s"):
        table.add_column(column, justify="right" if column != "backend" else "left")
    failed = False
    with (
        tempfile.TemporaryDirectory(prefix="cinderbench-load-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        urls = args.backend
        if not urls:
            urls = [f"sqlite={stack.enter_context(embedded_store('sql', scratch))}"]
            if mysql_reachable():
                mysql = stack.enter_context(scratch_database(prefix="cinderbench_load"))
                urls.append(f"mysql={mysql}")
            urls.append(f"magnetodb={stack.enter_context(embedded_store('magnetodb', scratch))}")
        for label, url in backend_labels(urls):
            backend = open_backend(url)
            try:
                backend.drop_schema()
                seconds = load_dataset(backend, dataset.data, label=label)
            except exception.CinderException as error:  # a backend that cannot hold the data
                failed = True
                table.add_row(label, "failed", "-", f"NO: {error}"[:120])
                continue
            finally:
                backend.close()
            failed |= seconds >= TARGET_SECONDS
            table.add_row(
                label,
                f"{seconds:.1f}",
                f"{records / seconds:,.0f}",
                "yes" if seconds < TARGET_SECONDS else "NO",
            )
    console.print(table)
    return 1 if failed else 0
