"""The verdict's caveats come from what each backend reported of itself (run.json)."""

from __future__ import annotations

import copy

from bench.measure.results import load_results
from reports.findings import Section
from reports.verdict import build_verdict
from tests.shortrun import ShortRun

NO_ROUND_TRIP = "its latencies have no network round trip"


def _caveats(results) -> list[str]:
    absent = Section(present=False)
    return build_verdict(results, absent, absent, absent, []).caveats


def test_an_embedded_sql_side_is_a_caveat(short_run: ShortRun) -> None:
    results = load_results(short_run.path)
    assert any(NO_ROUND_TRIP in caveat for caveat in _caveats(results))


def test_an_sql_side_on_the_network_is_none(short_run: ShortRun) -> None:
    # The caveat follows the backend's own word (engine_info's network), not its engine name.
    results = load_results(short_run.path)
    results.meta = copy.deepcopy(results.meta)
    for backend in results.meta["backends"]:
        backend["engine"]["network"] = True
    assert not any(NO_ROUND_TRIP in caveat for caveat in _caveats(results))
