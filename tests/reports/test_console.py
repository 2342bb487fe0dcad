"""The terminal summary of a real short compare fits an 80-column terminal: no cell is cut
to an ellipsis, no line is longer than 80 (issue 13 item 11)."""

from __future__ import annotations

import copy

import pytest

from bench.measure.results import load_results
from bench.workload.catalog import CATALOG
from reports.console import print_counters, print_summary
from tests.shortrun import ShortRun

WIDTH = 80
LONGEST_OPERATION = max(CATALOG, key=len)


def _rendered(results, capsys, monkeypatch) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    capsys.readouterr()
    print_summary(results)
    print_counters(results)
    return capsys.readouterr().out.splitlines()


def _check(lines: list[str]) -> None:
    assert [line for line in lines if "…" in line] == []
    assert [line for line in lines if len(line) > WIDTH] == []


@pytest.fixture
def results(short_run: ShortRun):
    return load_results(short_run.path)


def test_the_summary_of_a_short_compare_fits_80_columns(results, capsys, monkeypatch):
    lines = _rendered(results, capsys, monkeypatch)
    _check(lines)
    # every operation's figures are there, whole
    for name in results.operations:
        assert any(line.startswith(name + " ") for line in lines), name


def test_the_longest_operation_name_fits_too(results, capsys, monkeypatch):
    # The run's busiest operation renamed to the catalog's longest name, figures unchanged:
    # the name is broken after an underscore onto a second line, never cut.
    results.operations = copy.deepcopy(results.operations)
    busiest = max(results.operations, key=lambda n: max(
        s["count"] for s in results.operations[n].values()))  # fmt: skip
    results.operations[LONGEST_OPERATION] = results.operations.pop(busiest)
    lines = _rendered(results, capsys, monkeypatch)
    _check(lines)
    named = [i for i in range(len(lines)) if _name_from(lines, i) == LONGEST_OPERATION]
    assert len(named) == 2  # the summary's row and the counters' row


def _name_from(lines: list[str], start: int) -> str:
    """A first-column name that may go on over the next lines, each piece ending in ``_``."""
    name, index = (lines[start].split() or [""])[0], start
    while name.endswith("_") and index + 1 < len(lines):
        index += 1
        name += lines[index].split()[0]
    return name
