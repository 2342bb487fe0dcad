"""Semantic divergences of the design (issue 13 item 8): a run on names that differ only by
case, replayed on MySQL against MagnetoDB, reports MySQL's case-insensitive answers in a
category of their own; SQLite against MagnetoDB has none; a real divergence stays one."""

from __future__ import annotations

import dataclasses

import pytest

from tests.validators.replay_support import (
    MAGNETODB_URL,
    SMALL,
    SQL_URL,
    Liar,
    record_run,
    replicas,
)
from validators.replay import Replayer, replay_pair

TWINS = dataclasses.replace(SMALL, case_twins=True)
#: Operations that look names up: a create reads its type by name, a filtered list filters
#: by display name, a paged list may sort by it (and the group create reads types by name).
MIX = "create=3,list_filtered=6,list_paged=2,cg_create=1,show=1"


@pytest.fixture(scope="module")
def twin_run(tmp_path_factory):
    return record_run(tmp_path_factory.mktemp("twins"), seed=5, operations=80, mix=MIX, spec=TWINS)


def test_mysql_against_magnetodb_names_the_collation_divergences(twin_run, mysql_database_url):
    data = replay_pair(twin_run, mysql_database_url, MAGNETODB_URL).to_json()
    collation = data["design_divergences"]["case_insensitive_collation"]
    assert collation["count"] > 0
    assert "utf8mb4_general_ci" in collation["reason"]
    assert {"volume_type_get_by_name", "volume_get_all_by_project"} <= set(collation["functions"])
    assert data["divergence_count"] == 0, data["first_divergence"]
    assert data["final_state"]["differences"] == 0, data["final_state"]["examples"]
    assert data["ok"]


def test_sqlite_against_magnetodb_compares_names_alike(twin_run):
    data = replay_pair(twin_run, SQL_URL, MAGNETODB_URL).to_json()
    assert data["design_divergences"] == {}
    assert data["divergence_count"] == 0, data["first_divergence"]
    assert data["ok"]


def test_a_wrong_answer_is_still_a_divergence_beside_them(twin_run, mysql_database_url):
    def wrong_size(answer):
        return {**answer, "size": (answer["size"] or 0) + 1}

    with replicas(twin_run, mysql_database_url, MAGNETODB_URL) as (first, second):
        liar = Liar(second.backend, "volume_get", 1, wrong_size)
        second.backend = liar
        report = Replayer(twin_run, first, second, "differential").run()
    assert liar.lied_with is not None
    assert report.divergence_count == 1
    assert report.design_divergences["case_insensitive_collation"]["count"] > 0
