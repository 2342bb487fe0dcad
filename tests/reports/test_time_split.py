"""The report's time split: client CPU / store / the rest per operation and arm, and the
verdict's attribution of each ratio to the design or the client."""

from __future__ import annotations

import copy

import pytest

from bench.measure.results import load_results
from reports.findings import Section
from reports.time_split import attribution, split_rows, time_split_section
from reports.verdict import build_verdict
from tests.shortrun import ShortRun


@pytest.fixture
def results(short_run: ShortRun):
    loaded = load_results(short_run.path)
    loaded.operations = copy.deepcopy(loaded.operations)
    return loaded


def test_every_operation_and_arm_is_split_and_the_parts_add_up(results) -> None:
    rows = split_rows(results)
    assert {(r.operation, r.arm) for r in rows} == {
        (name, arm) for name, per in results.operations.items() for arm in per
    }
    for row in rows:
        assert row.client >= 0
        assert row.rest >= 0
        assert row.client + (row.store or 0.0) + row.rest == pytest.approx(row.service)
        # the SQL side (SQLite) reports no store time; MagnetoDB's server does
        assert (row.store is None) == (row.arm == "sqlite")


def test_the_section_draws_the_bars_and_the_verdict_names_the_split(results) -> None:
    section = time_split_section(results)
    assert section is not None
    assert section.chart.startswith("data:image/png;base64,")
    absent = Section(present=False)
    points = [text for _, text in build_verdict(results, absent, absent, absent, []).points]
    assert any("ratios are the design's" in text for text in points)


def test_a_ratio_moves_to_the_client_when_client_cpu_makes_the_difference(results) -> None:
    baseline, arm = "sqlite", "magnetodb"
    name = next(n for n in attribution(results, baseline, arm)["design"])
    stats = results.operations[name]
    # the arm's requests cost what the baseline's do; only its client CPU grows a lot
    stats[arm]["service_us"]["mean"] = stats[baseline]["service_us"]["mean"] + 50_000
    stats[arm]["client_cpu_us"]["mean"] = stats[baseline]["client_cpu_us"]["mean"] + 49_000
    stats[arm]["store_us"]["mean"] = (
        stats[baseline]["service_us"]["mean"] - stats[baseline]["client_cpu_us"]["mean"]
    )
    assert name in attribution(results, baseline, arm)["client"]


def test_results_without_client_cpu_have_no_section(results) -> None:
    for per in results.operations.values():
        for stats in per.values():
            stats["client_cpu_us"] = None
    assert time_split_section(results) is None
