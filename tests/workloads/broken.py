"""Locustfile for the exit-code tests: operations that fail in the two ways that count.

``Erring`` runs an operation whose execution raises a non-Cinder exception on
every backend (an ``error`` outcome: a locust failure, exit code 1);
``Buggy`` runs one whose planning raises (a harness failure: exit code 4).
Both are registered in the catalog of the locust process only.
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog import CATALOG, Operation, Plan, Target
from bench.workload.view import DatasetView, KeyChooser
from workloads.common import CinderUser


class Erring(Operation):
    name = "test_erring"
    command = "an operation whose DB call sequence breaks"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        return self.new_plan(rng, view.choose_project(keys))

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        target.api.volume_type_get_all(plan.admin())
        raise RuntimeError("broken on purpose")


class Buggy(Erring):
    name = "test_buggy"
    command = "an operation whose planning is broken"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        raise KeyError("a harness bug, on purpose")


for operation in (Erring(), Buggy()):
    CATALOG.setdefault(operation.name, operation)


class ErringUser(CinderUser):
    mix = {"show": 1.0, "test_erring": 1.0}


class BuggyUser(CinderUser):
    mix = {"show": 1.0, "test_buggy": 1.0}
