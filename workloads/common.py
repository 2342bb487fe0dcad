"""What every locustfile in ``workloads/`` imports: ``CinderUser``, and the event wiring.

A locustfile is a ``CinderUser`` subclass that names a mix (``bench.workload.mixes``)
and, where its production pattern needs it, dataset overrides. Importing this
module attaches cinderbench to locust's own events (locust is the load engine;
its ``request`` event is the seam). ``attach`` gives each process the harness
of its role, and the listeners below hand each event to it:

- **Options** go on locust's parser (``init_command_line_parser``): ``--backend``...,
  also ``LOCUST_BACKEND``... and fields of the web UI's start form
  (``workloads.options``).
- **test_start** on the master (or local runner) opens and seeds the backends
  and sends each worker its settings and share of the projects
  (``workloads.distributed``). Users wait until their process is set up.
- **A task is ``Run.step``**: one planned operation run on every backend back
  to back, then one ``request`` event per backend execution for locust's
  stats, web UI, ``--csv`` and ``--html`` (``workloads.harness``).
- **report_to_master** / **worker_report** carry the precise numbers (µs
  HdrHistograms, counters, paired ratios, oplog) from workers to the master as
  deltas, which it merges (``workloads.distributed``).
- **test_stop** on the master (or local runner) writes the results directory,
  runs the validators, prints the summary and sets the exit code
  (``workloads.distributed``).

**Outcomes and exit codes.** An operation *fails* when its outcome is
``error`` (``DBError`` or any non-Cinder exception): a locust failure, hence
exit code 1 (locust's ``--exit-code-on-error``). A *rejection*
(``VolumeNotFound``, ``OverQuota``, an API refusal: Cinder's 4xx answers) is
the behaviour under test: a locust success, counted as ``rejected`` in the
results. Exit code 3: a validator reported divergence. Exit code 4: the
harness failed (a step raised, a worker's final report never came, the setup
or a validator crashed). The highest code applies.
"""

from __future__ import annotations

from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from workloads.distributed import Coordinator, LocalHarness, MasterHarness, WorkerHarness
from workloads.harness import CinderUser, Harness, harness
from workloads.options import add_arguments

__all__ = ["CinderUser", "attach"]

events.init_command_line_parser.add_listener(add_arguments)


# ----------------------------------------------------------------- wiring


#: The environments with a harness (one per process; tests may build more).
_ATTACHED: list[Environment] = []


def _environments() -> list[Environment]:
    return list(_ATTACHED)


def attach(environment: Environment) -> Harness:
    """Give ``environment`` (with its runner made) the harness of its role."""
    runner = environment.runner
    role = (
        MasterHarness
        if isinstance(runner, MasterRunner)
        else WorkerHarness
        if isinstance(runner, WorkerRunner)
        else LocalHarness
    )
    environment.cinderbench = role(environment)  # type: ignore[attr-defined]
    environment.cinderbench.register()
    _ATTACHED.append(environment)
    return environment.cinderbench


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    if environment.runner is not None:
        attached = attach(environment)
        if isinstance(attached, Coordinator) and environment.parsed_options.headless:
            attached.prepare()


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    harness(environment).test_start()


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    harness(environment).test_stop()


@events.spawning_complete.add_listener
def _on_spawning_complete(user_count: int, **_: Any) -> None:
    for environment in _environments():
        test = harness(environment).test
        if test is not None:
            test.peak_users = max(test.peak_users, user_count)


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    for environment in _environments():
        if isinstance(harness(environment), WorkerHarness):
            harness(environment).on_report(client_id, data)


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    for environment in _environments():
        if isinstance(harness(environment), MasterHarness):
            harness(environment).on_report(client_id, data)


@events.quit.add_listener
def _on_quit(exit_code: int, **_: Any) -> None:
    for environment in _environments():
        harness(environment).quit(exit_code)
