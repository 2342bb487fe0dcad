"""The second replica in a child process (``validators.remote``) compares exactly as an
in-process one, and a child that fails is an error, never a clean replay."""

from __future__ import annotations

import pytest

from tests.validators.replay_support import MAGNETODB_URL, SQL_URL, record_run
from validators.remote import RemoteReplica, ReplicaFailed, portable
from validators.replay import replay_pair

TIMINGS = ("replay",)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    mix = "create=3,delete=2,qos_create=2,qos_show=1,attach=2,show=3,list=2,extend=1"
    return record_run(tmp_path_factory.mktemp("run"), seed=8, operations=40, mix=mix)


def test_a_child_replica_gives_the_in_process_answer(recorded):
    local = replay_pair(recorded, SQL_URL, MAGNETODB_URL, child=False)
    remote = replay_pair(recorded, SQL_URL, MAGNETODB_URL, child=True)
    assert isinstance(remote.second, RemoteReplica)
    assert remote.second.process.exitcode == 0  # it exited once its state was read
    local_json, remote_json = local.to_json(), remote.to_json()
    for key in TIMINGS:
        local_json.pop(key), remote_json.pop(key)
    assert remote_json == local_json
    assert remote.ok
    assert remote.calls > recorded.meta["operations"]
    assert remote.second.load_seconds > 0
    assert remote.second.busy_seconds > 0
    assert remote.ignored()["generated_ids"] > 0  # ids mapped on this side too
    # the replayer's waits for the child, not the child's busy time, are its cost here
    assert local.second.waited_seconds == local.second.busy_seconds
    assert 0 < remote.second.waited_seconds <= remote.seconds


def test_a_child_that_cannot_open_its_backend_fails_the_replay(recorded):
    with pytest.raises(ReplicaFailed, match="failed"):
        replay_pair(recorded, SQL_URL, "magnetodb://127.0.0.1:1/nobody", child=True)


def test_an_exception_that_does_not_pickle_arrives_by_name():
    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(a)

    assert portable(None) is None
    arrived = portable(Odd(1, 2))
    assert isinstance(arrived, RuntimeError)
    assert str(arrived).startswith("Odd: ")
    kept = ValueError("x")
    assert portable(kept) is kept
