"""cinderbench's options on locust's parser, and the helpers that read them.

``OPTIONS`` is the table: each flag is also ``LOCUST_<FLAG>`` and a field of
the web UI's start form (``add_arguments``, which ``workloads.common`` hooks
to ``init_command_line_parser``). ``run_spec`` turns the parsed options into
the ``RunSpec`` a run takes; its defaults are the dataclasses'.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from locust import User

from bench.drive.arguments import COUNT, DESIGN, FAULT_PLAN, FRACTION, NON_NEGATIVE_FLOAT
from bench.drive.faults import DEFAULT_PLAN, FaultOptions
from bench.drive.scratch import FSYNC_CHOICES
from bench.drive.spec import RunSpec
from bench.workload.datasets import DatasetSpec
from bench.workload.generators import DISTRIBUTIONS
from bench.workload.mixes import MIXES

#: cinderbench's options: (flag, argparse keywords). Each is also ``LOCUST_<FLAG>``.
OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--backend", {"choices": ["both", "sql", "magnetodb"], "default": "both",
                   "help": "cinderbench: run each operation on SQL, MagnetoDB, or both"}),
    ("--sql-url", {"default": "", "help": "SQL backend URL (default: a SQLite file of its own)"}),
    ("--magnetodb-url", {"default": "",
                         "help": "MagnetoDB backend URL (default: a server it starts, on LMDB)"}),
    ("--magnetodb-fsync", {"choices": list(FSYNC_CHOICES), "default": "auto",
                           "help": "whether the MagnetoDB server it starts fsyncs every commit "
                                   "(auto: as the SQL side does)"}),
    ("--design", {"action": "append", "type": DESIGN, "default": [], "include_in_web_ui": False,
                  "help": "MagnetoDB design: seed, improved, seed+OPTION+... (repeatable: one "
                          "MagnetoDB arm per design, a project each; default seed)"}),
    ("--volumes", {"type": COUNT, "default": 0, "help": "dataset volumes (0: workload default)"}),
    ("--projects", {"type": COUNT, "default": 0, "help": "dataset projects (0: workload default)"}),
    ("--dataset-seed", {"type": int, "default": DatasetSpec().seed, "help": "dataset seed"}),
    ("--reset-dataset", {"action": "store_true", "default": False,
                         "help": "reload the dataset even when the backends hold it already"}),
    ("--mix", {"default": "",
               "help": f"mix instead of the workload's: {', '.join(sorted(MIXES))}, op=w,..."}),
    ("--distribution", {"choices": sorted(DISTRIBUTIONS), "default": RunSpec().distribution,
                        "help": "key distribution over projects and their volumes"}),
    ("--seed", {"type": int, "default": RunSpec().seed,
              "help": "workload seed (plans, ids, key choices)"}),
    ("--serialize", {"choices": ["auto", "on", "off"], "default": RunSpec().serialize,
                     "help": "one operation at a time per process (auto: on with SQLite)"}),
    ("--pace", {"type": NON_NEGATIVE_FLOAT, "default": 0.0,
                "help": "ops/s per user on a schedule, intended-start latency (0: closed loop)"}),
    ("--fault-rate", {"type": FRACTION, "default": 0.0,
                      "help": "MagnetoDB: fail matching requests at this rate (0..1)"}),
    ("--fault-plan", {"type": FAULT_PLAN, "default": DEFAULT_PLAN,
                      "help": "which requests --fault-rate may fail"}),
    ("--results-dir", {"default": "", "help": "results directory (default results/locust-STAMP)"}),
    ("--no-validate", {"action": "store_true", "default": False, "help": "skip the validators"}),
    ("--no-oplog", {"action": "store_true", "default": False,
                    "help": "keep no operation log (the validators need it to replay)"}),
    ("--worker-totals", {"default": "", "include_in_web_ui": False,
                         "help": "directory for each worker's own totals (tests)"}),
)  # fmt: skip


def add_arguments(parser: Any) -> None:
    """cinderbench's options on locust's parser: CLI, ``LOCUST_*`` and the web UI's form."""
    for flag, keywords in OPTIONS:
        env = "LOCUST_" + flag.lstrip("-").upper().replace("-", "_")
        parser.add_argument(flag, env_var=env, **keywords)


def run_spec(
    options: Any, user_classes: list[type[User]], backends: list[tuple[str, str]], mix: Any
) -> RunSpec:
    """The ``RunSpec`` of locust's options: the dataset is ``DatasetSpec``'s defaults, the
    user classes' overrides, then ``--volumes``/``--projects``; the duration is locust's
    ``-t`` (None: until stopped)."""
    values: dict[str, Any] = {}
    for user_class in user_classes:
        values.update(getattr(user_class, "dataset", {}))
    values["seed"] = int(options.dataset_seed)
    for name in ("volumes", "projects"):
        if int(getattr(options, name) or 0) > 0:
            values[name] = int(getattr(options, name))
    return RunSpec(
        backends=tuple(backends),
        dataset=dataclasses.replace(DatasetSpec(), **values),
        mix=mix if isinstance(mix, str) else ",".join(f"{k}={v}" for k, v in mix.items()),
        distribution=options.distribution,
        seed=int(options.seed),
        duration=float(options.run_time) if options.run_time else None,
        threads=max(int(options.num_users or 1), 1),
        pace=float(options.pace) or None,
        serialize=options.serialize,
        faults=FaultOptions(
            rate=float(options.fault_rate), plan=options.fault_plan, seed=int(options.seed)
        ),
        oplog=not options.no_oplog,
    )
