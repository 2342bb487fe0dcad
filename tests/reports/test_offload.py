"""Charts drawn by a second process (``reports.offload``): the same page as drawn here,
and a chart that fails raises where its result is read, whichever process drew it."""

from __future__ import annotations

import re

import pytest

from reports import build, charts
from reports.offload import drawer
from tests.shortrun import ShortRun

#: What differs between two renders of one run: the time each was generated.
_GENERATED = re.compile(r"generated[^<]*")


def test_the_page_is_the_same_whoever_draws_the_grids(short_run: ShortRun) -> None:
    runs = build.load_runs([short_run.path])
    here = build.render(runs, processes=1)
    there = build.render(runs, processes=2)
    assert "data:image/png;base64," in there
    assert _GENERATED.sub("", there) == _GENERATED.sub("", here)


@pytest.mark.parametrize("processes", [1, 2])
def test_a_chart_that_fails_raises_where_it_is_read(processes: int) -> None:
    with drawer(processes) as pool:
        drawn = pool.submit(charts.percentile_grid, [("op", {"a": [(50.0, 1.0)]})], ["a"])
        failed = pool.submit(charts.percentile_grid, [("op", {"a": [(50.0,)]})], ["a"])
        assert drawn.result().startswith("data:image/png;base64,")
        with pytest.raises(ValueError, match="not enough values to unpack"):
            failed.result()
