"""The report's contention section: contended rows first, quiet ones in brief, integrity."""

from __future__ import annotations

import copy

from bench.measure.results import load_results
from reports.build import render
from reports.contention import contention_section, sweep_contention_table
from reports.model import side_of_label
from tests.shortrun import ShortRun


def _contended(results, operation: str, label: str, **sums: int) -> None:
    counters = results.operations[operation][label]["counters"]
    for name, value in sums.items():
        counters[name] = {"sum": value, "mean": value, "min": 0, "max": value}


def test_contended_rows_come_first_and_render(short_run: ShortRun) -> None:
    results = load_results(short_run.path)
    results.operations = copy.deepcopy(results.operations)
    labels = {side_of_label(results, label): label for label in results.backends}
    busy, busier = sorted(results.operations)[:2]
    _contended(
        results, busy, labels["magnetodb"], conditional_check_failed=3, retries=3, give_ups=1
    )
    _contended(results, busier, labels["sql"], retries=9, deadlocks=9)  # SQLite: no deadlock figure
    section = contention_section(results)
    assert section is not None
    assert section.table is not None
    rows = section.table.rows
    assert rows[0][0].text == busier  # the most contended first
    second = next(
        row
        for row in rows
        if (row[0].text, row[1].text) == (busy, f"{labels['magnetodb']} (magnetodb)")
    )
    assert [cell.text for cell in second[3:10]] == ["3", *["\u2013"] * 4, "3", "1"]
    assert second[9].cls == "loss"  # a give-up is an error outcome
    assert f"{busy} ({labels['sql']})" in section.quiet
    assert section.integrity  # the validators' verdict sits beside the figures
    html = render([results])
    assert '<h2 id="contention">Contention</h2>' in html
    assert "usages lost or double-counted" in html or "not validated" in html


def test_a_run_without_contention_counters_has_no_section(short_run: ShortRun) -> None:
    results = load_results(short_run.path)
    results.operations = copy.deepcopy(results.operations)
    for per in results.operations.values():
        for stats in per.values():
            stats["counters"].pop("retries", None)
    assert contention_section(results) is None
    assert 'id="contention"' not in render([results])


def test_the_sweep_page_shows_contended_points_only() -> None:
    from reports.sweep import render as render_sweep
    from tests.reports.sweeps import synthetic_index

    index = synthetic_index()
    for point in index["points"].values():
        for arm in index["arms"]:
            point["summary"]["operations"]["page"][arm]["counters"] = {"retries": 0.0}
    busy = index["points"]["v100000-t4"]["summary"]["operations"]["page"]
    busy["mdb"]["counters"] = {"retries": 1.5, "conditional_check_failed": 2.0}
    table = sweep_contention_table(index)
    assert table is not None
    assert [[cell.text for cell in row] for row in table.rows] == [
        ["v100000-t4", "mdb", "20", "0", "0", "0", "15", "0"]  # means x 10 executions
    ]
    assert "<h3>Contention</h3>" in render_sweep(index)
    assert sweep_contention_table(synthetic_index()) is None  # no counters recorded
