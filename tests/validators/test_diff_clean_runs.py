"""Ten clean runs of a mixed workload: SQLite and MagnetoDB answer every replayed call alike."""

from __future__ import annotations

import pytest

from tests.validators.replay_support import MAGNETODB_URL, SQL_URL, record_run
from validators.replay import replay_pair

#: (seed, mix, threads): short runs, different seeds, every catalog operation in play
RUNS = [
    (seed, "uniform" if seed % 2 else "standard", 2 if seed % 3 == 0 else 1)
    for seed in range(1, 11)
]


@pytest.mark.parametrize(("seed", "mix", "threads"), RUNS, ids=[f"seed{r[0]}" for r in RUNS])
def test_a_clean_run_replays_identically_on_sqlite_and_magnetodb(tmp_path, seed, mix, threads):
    results = record_run(tmp_path, seed=seed, operations=60, mix=mix, threads=threads)
    data = replay_pair(results, SQL_URL, MAGNETODB_URL).to_json()
    assert data["mode"] == "differential"
    assert data["operations_replayed"] == results.meta["operations"] > 0
    assert data["divergence_count"] == 0, data["first_divergence"]
    assert data["final_state"]["differences"] == 0, data["final_state"]["examples"]
