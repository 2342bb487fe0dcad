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
        if row.arm == "sqlite":
            assert row.store is None  # SQLite reports no store time
    # MagnetoDB's server does
    assert all(r.store is not None for r in rows if r.arm == "magnetodb" and r.operation == "show")


def test_the_section_draws_the_bars_and_the_verdict_names_the_split(results) -> None:
    section = time_split_section(results)
    assert section is not None
    assert section.chart.startswith("data:image/png;base64,")
    absent = Section(present=False)
    points = [text for _, text in build_verdict(results, absent, absent, absent, []).points]
    assert any("ratios are the design's" in text for text in points)


def test_a_ratio_is_the_design_s_or_the_client_s_by_what_makes_the_difference(results) -> None:
    baseline, arm = "sqlite", "magnetodb"
    stats = results.operations["show"]
    base_mean = stats[baseline]["service_us"]["mean"]
    base_cpu = stats[baseline]["client_cpu_us"]["mean"]
    # the arm is 50 ms slower, 49 ms of it in the store and the requests
    stats[arm]["service_us"]["mean"] = base_mean + 50_000
    stats[arm]["client_cpu_us"]["mean"] = base_cpu + 1_000
    stats[arm]["store_us"]["mean"] = 40_000
    assert "show" in attribution(results, baseline, arm)["design"]
    # the same 50 ms, 49 of them on the client's CPU
    stats[arm]["client_cpu_us"]["mean"] = base_cpu + 49_000
    stats[arm]["store_us"]["mean"] = 500
    assert "show" in attribution(results, baseline, arm)["client"]


def test_results_without_client_cpu_have_no_section(results) -> None:
    for per in results.operations.values():
        for stats in per.values():
            stats["client_cpu_us"] = None
    assert time_split_section(results) is None
