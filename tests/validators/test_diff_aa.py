"""A/A: a backend kind replayed against itself gives the noise floor; on a clean run it is zero."""

from __future__ import annotations

import pytest

from cinderbench.diff import run_diff
from tests.validators.replay_support import MAGNETODB_URL, SQL_URL, record_run
from validators.replay import replay_pair


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A concurrent run (2 threads): its log still replays deterministically, serially."""
    return record_run(tmp_path_factory.mktemp("run"), seed=21, operations=90, threads=2)


@pytest.mark.parametrize("url", [SQL_URL, MAGNETODB_URL], ids=["sqlite", "magnetodb"])
def test_aa_on_a_clean_run_has_no_divergence(recorded, url):
    report = replay_pair(recorded, url, url)
    data = report.to_json()
    assert data["mode"] == "aa"
    assert data["operations_replayed"] == recorded.meta["operations"]
    assert data["reads_compared"] > data["operations_replayed"]
    assert data["divergence_count"] == 0, data["first_divergence"]
    assert data["final_state"]["differences"] == 0, data["final_state"]["examples"]
    assert data["final_state"]["compared"] > 100


def test_diff_json_carries_the_noise_floor_of_each_kind(recorded):
    data = run_diff(recorded.path, aa=True)
    assert data["mode"] == "differential"
    assert data["ok"]
    assert set(data["noise_floor"]) == {"sql", "magnetodb"}
    for floor in data["noise_floor"].values():
        assert floor["divergences"] == 0
        assert floor["final_differences"] == 0
        assert floor["reads_compared"] == data["reads_compared"]
    assert recorded.findings("diff")["noise_floor"] == data["noise_floor"]
