"""The options ``cinderbench run`` and ``compare`` share, and the ``RunSpec`` they build.

Defaults are the dataclasses' (``RunSpec``, ``DatasetSpec``, ``FaultOptions``):
an option left unset takes the field's value, so the help text reads them from
there. Numbers out of range are refused by the parser (one line, exit code 2).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

from bench.drive.arguments import (
    COUNT,
    DESIGN,
    FAULT_PLAN,
    FRACTION,
    MIX,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    node_kill,
)
from bench.drive.faults import DEFAULT_PLAN, PLANS, FaultOptions
from bench.drive.spec import RunSpec
from bench.workload.datasets import DatasetSpec
from bench.workload.generators import DISTRIBUTIONS

RUN = RunSpec(backends=())
DATASET = DatasetSpec()

#: dataset option -> DatasetSpec field
DATASET_OPTIONS = {
    "volumes": "volumes",
    "projects": "projects",
    "dataset_seed": "seed",
    "metadata_keys": "metadata_keys",
    "metadata_key_pool": "metadata_key_pool",
    "metadata_values": "metadata_values",
    "case_twins": "case_twins",
}


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dataset")
    group.add_argument("--volumes", type=COUNT, help=f"volumes to load ({DATASET.volumes})")
    group.add_argument(
        "--projects", type=POSITIVE_INT, help=f"projects holding them ({DATASET.projects})"
    )
    group.add_argument("--dataset-seed", type=int, help=f"dataset seed ({DATASET.seed})")
    group.add_argument(
        "--metadata-keys", type=COUNT, help=f"metadata pairs/volume ({DATASET.metadata_keys})"
    )
    group.add_argument(
        "--metadata-key-pool",
        type=POSITIVE_INT,
        help=f"distinct keys ({DATASET.metadata_key_pool})",
    )
    group.add_argument(
        "--metadata-values", type=POSITIVE_INT, help=f"values per key ({DATASET.metadata_values})"
    )
    group.add_argument(
        "--case-twins",
        action="store_true",
        default=None,
        help="names that differ only by case (types 'ceph-ssd'/'CEPH-SSD', volumes "
        "'vol-7'/'Vol-7'): shows where MySQL's case-insensitive collation answers differently",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workload")
    group.add_argument(
        "--mix", type=MIX, default=RUN.mix, help=f"named mix or op=weight,... ({RUN.mix})"
    )
    group.add_argument(
        "--duration", type=POSITIVE_FLOAT, help=f"seconds of measured phase ({RUN.duration:g})"
    )
    group.add_argument("--operations", type=POSITIVE_INT, help="stop after N operations")
    group.add_argument(
        "--threads", type=POSITIVE_INT, default=RUN.threads, help=f"drivers ({RUN.threads})"
    )
    group.add_argument("--rate", type=POSITIVE_FLOAT, help="target operations/s of the run (paced)")
    group.add_argument(
        "--distribution",
        choices=sorted(DISTRIBUTIONS),
        default=RUN.distribution,
        help=f"key distribution ({RUN.distribution})",
    )
    group.add_argument("--seed", type=int, default=RUN.seed, help=f"workload seed ({RUN.seed})")
    group.add_argument(
        "--design",
        action="append",
        type=DESIGN,
        default=[],
        metavar="NAME",
        help="MagnetoDB design: seed, improved or seed+OPTION+... (repeatable: one MagnetoDB"
        " arm per design, each in a store of its own; default seed)",
    )
    parser.add_argument("-o", "--output", default=None, help="results directory")
    parser.add_argument("--force", action="store_true", help="overwrite an existing -o directory")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_fault_arguments(parser)
    add_cluster_arguments(parser)


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """A node lost mid-run, and where the run finds the clusters (``bench.drive.kills``)."""
    group = parser.add_argument_group("clusters")
    group.add_argument(
        "--kill-node",
        action="append",
        type=node_kill,
        default=[],
        metavar="SIDE:N@SECONDS",
        help="kill -9 node N of the cluster serving SIDE, SECONDS into the measured phase"
        " (repeatable); the run goes on. SIDE-ROLE:N counts among one role's nodes:"
        " magnetodb:N / magnetodb-etcd:N an etcd member, magnetodb-api:N an API server,"
        " sql:N a Galera node",
    )
    group.add_argument(
        "--cluster-root",
        action="append",
        default=[],
        metavar="DIR",
        help="a cluster started by `cinderbench cluster up --root DIR` (default: each side's"
        " default root)",
    )


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """The fault options (MagnetoDB backends only, ``bench.drive.faults``)."""
    group = parser.add_argument_group("faults (MagnetoDB backends)")
    group.add_argument(
        "--fault-rate", type=FRACTION, default=0.0, help="fail matching requests at this rate (0)"
    )
    group.add_argument(
        "--fault-plan",
        type=FAULT_PLAN,
        default=DEFAULT_PLAN,
        help=f"which requests: {', '.join(sorted(PLANS))}, or call=..,op=..,table=..,write=N "
        f"({DEFAULT_PLAN})",
    )
    group.add_argument(
        "--unsafe-no-conditions",
        action="store_true",
        help="drop version conditions; write the attachments map by read-modify-write",
    )
    group.add_argument("--fault-seed", type=int, default=None, help="fault seed (the run seed)")


def dataset_spec(args: argparse.Namespace) -> DatasetSpec:
    """The ``DatasetSpec`` of the dataset options (the dataclass's defaults for unset ones)."""
    given = {field: getattr(args, option) for option, field in DATASET_OPTIONS.items()}
    return dataclasses.replace(DATASET, **{k: v for k, v in given.items() if v is not None})


def fault_options(args: argparse.Namespace) -> FaultOptions:
    return FaultOptions(
        rate=args.fault_rate,
        plan=args.fault_plan,
        unsafe_no_conditions=args.unsafe_no_conditions,
        seed=args.fault_seed if args.fault_seed is not None else args.seed,
    )


def run_spec(
    args: argparse.Namespace,
    backends: Sequence[tuple[str, str]],
    baselines: Sequence[tuple[str, str]] = (),
) -> RunSpec:
    """The ``RunSpec`` of the workload, dataset and fault options, on ``backends`` (each
    arm's ratios against its ``baselines`` arm, default the first).

    A run is timed unless only ``--operations`` is given."""
    duration = args.duration if args.duration or args.operations else RUN.duration
    return RunSpec(
        backends=tuple(backends),
        baselines=tuple(baselines),
        dataset=dataset_spec(args),
        mix=args.mix,
        distribution=args.distribution,
        seed=args.seed,
        duration=duration,
        operations=args.operations,
        threads=args.threads,
        pace=args.rate / args.threads if args.rate else None,
        faults=fault_options(args),
        node_kills=tuple(args.kill_node),
    )
