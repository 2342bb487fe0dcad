"""Runs of N arms: each arm paired with its own baseline arm, in an order that rotates.

A four-arm run (two SQLite "topologies", each with a candidate paired against
its own baseline) stands for the clustered compare: comparison.json lists
every pairing, run.json says each arm's baseline, the gate and the report
follow the pairing, and no arm always goes first.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from bench.drive.job import run_job
from bench.drive.runner import execution_orders
from bench.drive.spec import RunSpec, pairings
from bench.gate.baseline import load_baseline, snapshot, write_baseline
from bench.gate.checks import latency_checks
from bench.gate.config import GateConfig, LatencyRule
from bench.measure.results import Results
from reports.model import all_sides, baseline_of, ratio_of
from reports.tables import operations_table
from tests.bench.support import SMALL

ARMS = ("a-single", "b-single", "a-cluster", "b-cluster")
BASELINES = (("a-cluster", "a-single"), ("b-cluster", "a-cluster"))


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_every_arm_goes_first_as_often_and_every_two_swap_evenly(n: int) -> None:
    labels = [chr(ord("a") + i) for i in range(n)]
    orders = execution_orders(labels)
    assert all(sorted(order) == labels for order in orders)
    firsts = Counter(order[0] for order in orders)
    assert set(firsts.values()) == {len(orders) // n}
    for x, y in itertools.permutations(labels, 2):
        before = sum(order.index(x) < order.index(y) for order in orders)
        assert before * 2 == len(orders), (x, y)


def test_two_arms_alternate_as_before() -> None:
    assert execution_orders(["sql", "mdb"]) == [["sql", "mdb"], ["mdb", "sql"]]


def test_pairings_default_to_the_first_arm_and_follow_the_named_baselines() -> None:
    assert pairings(["s", "m"]) == [("m", "s")]
    assert pairings(list(ARMS), BASELINES) == [
        ("b-single", "a-single"),
        ("a-cluster", "a-single"),
        ("b-cluster", "a-cluster"),
    ]
    with pytest.raises(ValueError, match="no arm labelled 'nope'"):
        pairings(["s", "m"], [("m", "nope")])
    with pytest.raises(ValueError, match="its own baseline"):
        pairings(["s", "m"], [("m", "m")])
    with pytest.raises(ValueError, match="reference"):
        pairings(["s", "m"], [("s", "m")])


def test_a_run_spec_keeps_its_baselines_on_the_wire(tmp_path: Path) -> None:
    backends = tuple((label, f"sqlite:///{tmp_path / label}.sqlite") for label in ARMS)
    spec = RunSpec(backends=backends, baselines=BASELINES)
    again = RunSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.pairings()[-1] == ("b-cluster", "a-cluster")
    with pytest.raises(ValueError, match="no arm labelled"):
        RunSpec(backends=backends, baselines=(("b-cluster", "c"),))


@pytest.fixture(scope="module")
def four_arms(tmp_path_factory: pytest.TempPathFactory) -> Results:
    root = tmp_path_factory.mktemp("arms")
    spec = RunSpec(
        backends=tuple((label, f"sqlite:///{root / label}.sqlite") for label in ARMS),
        baselines=BASELINES,
        dataset=SMALL,
        mix="uniform",
        duration=None,
        operations=80,
        threads=1,
        seed=5,
    )
    return run_job(spec, root / "out", progress=False)


def test_each_arm_is_paired_with_its_baseline(four_arms: Results) -> None:
    results = four_arms
    sides = [(p["baseline"], p["candidate"]) for p in results.pairings]
    assert sides == [
        ("a-single", "b-single"),
        ("a-single", "a-cluster"),
        ("a-cluster", "b-cluster"),
    ]
    assert results.comparison["candidate"] == "b-single"  # the first pairing stays on top
    assert {b["label"]: b["baseline"] for b in results.meta["backends"]} == {
        "a-single": None,
        "b-single": "a-single",
        "a-cluster": "a-single",
        "b-cluster": "a-cluster",
    }
    assert all_sides(results) == sides
    assert baseline_of(results, "b-cluster") == "a-cluster"
    show = results.pairings[2]["operations"]
    assert any(ratio_of(results, op, "b-cluster") == show[op] for op in show)
    lines = list(results.oplog())
    firsts = Counter(line["order"][0] for line in lines)
    assert set(firsts) == set(ARMS)
    assert max(firsts.values()) - min(firsts.values()) <= 1


def test_the_report_has_a_ratio_group_per_pairing(four_arms: Results) -> None:
    groups = [label for label, _ in operations_table(four_arms).groups]
    assert groups[-3:] == [
        "b-single / a-single (paired)",
        "a-cluster / a-single (paired)",
        "b-cluster / a-cluster (paired)",
    ]


def test_the_gate_gates_every_pairing(four_arms: Results, tmp_path: Path) -> None:
    config = GateConfig(latency=LatencyRule(min_samples=1))
    current = snapshot(four_arms, config)
    assert [arm["candidate"] for arm in current.arms] == ["a-cluster", "b-cluster"]
    stored = load_baseline(write_baseline(four_arms, config, tmp_path / "b.json"), config)
    assert stored == current
    checks = latency_checks(stored, current, config)
    named = {check.name.rsplit(" (", 1)[1] for check in checks}
    assert named == {"b-single/a-single)", "a-cluster/a-single)", "b-cluster/a-cluster)"}
    assert all(check.ok is not False for check in checks)
    # a baseline without the later pairings reports them, ungated
    stored.arms = []
    missing = [c for c in latency_checks(stored, current, config) if c.ok is None]
    assert {c.name for c in missing} >= {"latency (b-cluster/a-cluster)"}
