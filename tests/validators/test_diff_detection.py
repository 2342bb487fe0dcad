"""The differential replay finds a divergence and names the first diverging operation.

Faults are injected the two ways the brief names: a backend wrapped to answer
one call wrong (``Liar``), and a state difference planted in one backend with
the MagnetoDB client before the replay starts.
"""

from __future__ import annotations

import argparse

import pytest

from cinderbench import diff as diff_cli
from cinderdb import exception, side_of
from cinderdb.magneto.items import s
from tests.shortrun import cli
from tests.validators.replay_support import Liar, record_run, replicas
from validators import replay
from validators.replay import Replayer, in_seq_order


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One short mixed run (every catalog operation weighted alike)."""
    return record_run(tmp_path_factory.mktemp("run"), seed=3, operations=80)


def nth_call(results, function: str, n: int) -> tuple[int, str, int]:
    """(seq, operation, index) of the ``n``-th logged call of ``function``, in replay order."""
    seen = 0
    for line in in_seq_order(results.oplog()):
        for index, call in enumerate(line["runs"]["sqlite"]["calls"]):
            if call["fn"] == function:
                seen += 1
                if seen == n:
                    return line["seq"], line["op"], index
    raise AssertionError(f"the log has fewer than {n} {function} calls")


def test_a_wrong_answer_is_the_first_divergence(recorded):
    seq, operation, index = nth_call(recorded, "volume_get", 5)
    with replicas(recorded) as (first, second):
        second.backend = Liar(
            second.backend, "volume_get", 5, lambda v: {**v, "display_name": "not-the-name"}
        )
        report = Replayer(recorded, first, second, "differential").run()
    data = report.to_json()
    assert not data["ok"]
    divergence = data["first_divergence"]
    assert (divergence["seq"], divergence["operation"], divergence["index"]) == (
        seq,
        operation,
        index,
    )
    assert divergence["call"] == "volume_get"
    assert divergence["second"]["display_name"] == "not-the-name"
    assert divergence["first"]["display_name"] != "not-the-name"
    assert "display_name" in divergence["difference"]
    assert data["divergence_count"] == 1  # one wrong answer, and the state never diverged
    assert data["final_state"]["differences"] == 0


def test_a_wrong_exception_is_compared_by_class(recorded):
    seq, _, index = nth_call(recorded, "volume_get", 3)

    def refuse(value):
        raise exception.VolumeNotFound(volume_id=value["id"])

    with replicas(recorded) as (first, second):
        second.backend = Liar(second.backend, "volume_get", 3, refuse)
        data = Replayer(recorded, first, second, "differential").run().to_json()
    divergence = data["first_divergence"]
    assert (divergence["seq"], divergence["index"]) == (seq, index)
    assert divergence["second"]["error"] == "VolumeNotFound"
    assert "error" not in divergence["first"]


def test_a_planted_state_difference_diverges_at_its_first_read(recorded):
    """A volume renamed behind the API on one backend: the first logged call that reads
    it diverges, and the final state names it."""
    target = next(
        (line["seq"], index, call["args"][1])
        for line in in_seq_order(recorded.oplog())
        for index, call in enumerate(line["runs"]["sqlite"]["calls"])
        if call["fn"] == "volume_get"
    )
    seq, index, volume_id = target
    with replicas(recorded) as (first, second):
        second.backend.client.update_item(
            "volumes",
            {"id": s(volume_id)},
            {"display_name": {"action": "PUT", "value": s("planted")}},
        )
        data = Replayer(recorded, first, second, "differential").run().to_json()
    divergence = data["first_divergence"]
    assert divergence["seq"] <= seq
    if divergence["seq"] == seq:
        assert divergence["index"] <= index
    assert "planted" in str(divergence["second"])
    final = data["final_state"]  # read with read_deleted='yes': a deleted volume counts
    assert ("volume", volume_id) in {(e["section"], e["key"]) for e in final["examples"]}
    assert final["by_section"] == {"volume": 1}


def test_generated_ids_compare_by_the_call_that_made_them(tmp_path):
    """QoS spec ids and reservation uuids differ between backends (each makes its own):
    the replay maps them by the logged call that made them, so a clean run of QoS and
    quota churn has no divergence, and the run's ids were rewritten into later calls."""
    mix = "qos_create=4,qos_associate=2,qos_key=2,qos_show=2,qos_delete=1,create=3,delete=2"
    results = record_run(tmp_path, seed=5, operations=40, mix=mix)
    with replicas(results) as (first, second):
        report = Replayer(results, first, second, "differential").run()
        assert report.ok, report.to_json()["first_divergence"]
        assert first.ids.id_of
        assert set(first.ids.id_of) == set(second.ids.id_of)
        made = [token for token in first.ids.id_of if token.startswith("<qos_specs_create")]
        assert made
        assert all(first.ids.id_of[t] != second.ids.id_of[t] for t in made)
        assert second.rewrite  # the run's own QoS ids were mapped to this backend's
    assert report.ignored()["generated_ids"] > 0
    assert report.log_agreement["calls_differing_from_log"] == 0


def test_the_cli_writes_diff_json_and_exits_1_on_a_divergence(recorded, monkeypatch, capsys):
    def lying_replica(label, url, data):
        replica = real_open_replica(label, url, data)
        if side_of(url) == "magnetodb":
            replica.backend = Liar(replica.backend, "volume_get_all_by_project", 2, lambda v: v[1:])
        return replica

    real_open_replica = replay.open_replica
    monkeypatch.setattr(replay, "open_replica", lying_replica)
    monkeypatch.setattr(replay, "REPLICAS_IN_CHILDREN", False)  # the liar lives in this process
    args = argparse.Namespace(
        results=str(recorded.path), first=None, second=None, aa=False, quiet=False
    )
    assert diff_cli.main(args) == 1
    printed = capsys.readouterr().out
    assert "first divergence" in printed
    assert "volume_get_all_by_project" in printed
    written = recorded.findings("diff")
    assert written["ok"] is False
    assert written["first_divergence"]["call"] == "volume_get_all_by_project"
    assert "second lacks" in written["first_divergence"]["difference"]


def test_the_cli_exits_2_when_there_is_nothing_to_replay(tmp_path):
    done = cli("diff", tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"cinderbench diff: error: {tmp_path} is not a results directory: it has no run.json"
    ]
