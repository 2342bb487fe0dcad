"""The same operation log replayed on SQLite and on two MagnetoDB designs: no divergence.

One recorded run replayed twice (four bulk loads): ~15 s under load, the one check that
every design answers as SQL does over a whole workload."""

from __future__ import annotations

from tests.validators.replay_support import MAGNETODB_URL, SQL_URL, record_run
from validators.replay import arm_of, replay_pair

IMPROVED_URL = f"{MAGNETODB_URL}?design=improved"


def test_seed_improved_and_sql_answer_alike(tmp_path):
    results = record_run(tmp_path, seed=5, operations=50, mix="standard")
    for first, second in ((SQL_URL, IMPROVED_URL), (MAGNETODB_URL, IMPROVED_URL)):
        data = replay_pair(results, first, second).to_json()
        assert data["mode"] == "differential", (first, second)
        assert data["operations_replayed"] == results.meta["operations"] > 0
        assert data["divergence_count"] == 0, data["first_divergence"]
        assert data["final_state"]["differences"] == 0, data["final_state"]["examples"]


def test_arms_name_the_design():
    assert arm_of(MAGNETODB_URL) == "magnetodb"
    assert arm_of(IMPROVED_URL) == "magnetodb:improved"
    assert arm_of(SQL_URL) == "sql"
