"""The acknowledged-writes check: a run's store against a replay of its own log.

A clean run shows nothing; a write the store lost after acknowledging it is
*lost*; a call whose answer the run lost (its outcome rewritten in the log to a
``DBConnectionError``) is skipped by the replay and what it left is
*unacknowledged*. Node kills on real clusters: ``tests/clusters/test_failover.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.measure.outcomes import outcome_unknown
from cinderbench import main
from cinderdb import open_backend
from validators.acknowledged import check_acknowledged


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A short run on a SQLite file (kept: the check reads the run's store)."""
    root = tmp_path_factory.mktemp("acknowledged")
    url = f"sqlite:///{root / 'cinder.sqlite'}"
    argv = ["run", "--backend", f"sql={url}", "--volumes", "30", "--projects", "3"]
    argv += ["--operations", "60", "--threads", "1", "--quiet", "-o", str(root / "run")]
    argv += ["--mix", "create=3,delete=1,update=2,extend=1,show=1"]
    assert main(argv) == 0
    return root / "run", url


def _copy(run: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """The run's directory and store, copied: each test may change one."""
    import shutil

    directory, url = run
    target = tmp_path / "run"
    shutil.copytree(directory, target)
    store = tmp_path / "cinder.sqlite"
    shutil.copy(url.removeprefix("sqlite:///"), store)
    return target, f"sqlite:///{store}"


def test_a_clean_run_loses_nothing(run, tmp_path) -> None:
    directory, url = _copy(run, tmp_path)
    checked = check_acknowledged(directory, [("sql", url)])
    assert (checked["lost"], checked["unacknowledged"]) == (0, 0)
    entry = checked["backends"]["sql"]
    assert entry["entries_compared"] > 30
    assert json.loads((directory / "run.json").read_text())["acknowledged"]["lost"] == 0


def _created(directory: Path) -> list[tuple[int, dict]]:
    """``(line number, call)`` of each acknowledged volume_create of the log."""
    found = []
    for number, line in enumerate((directory / "oplog.jsonl").read_text().splitlines()):
        for call in json.loads(line)["runs"]["sql"]["calls"]:
            if call["fn"] == "volume_create" and call["outcome"]["ok"]:
                found.append((number, call))
    return found


def test_an_acknowledged_write_the_store_lost_is_counted_lost(run, tmp_path) -> None:
    directory, url = _copy(run, tmp_path)
    (_, call), *_ = _created(directory)
    volume = call["outcome"]["id"]
    with open_backend(url) as api, api.engine.begin() as connection:
        # the store "loses" the acknowledged create of one volume
        for table in ("volume_metadata", "volume_admin_metadata", "volume_glance_metadata"):
            connection.exec_driver_sql(f"DELETE FROM {table} WHERE volume_id = ?", (volume,))
        connection.exec_driver_sql("DELETE FROM volume_attachment WHERE volume_id = ?", (volume,))
        connection.exec_driver_sql("DELETE FROM volumes WHERE id = ?", (volume,))
    checked = check_acknowledged(directory, [("sql", url)])
    assert checked["lost"] >= 1
    lost = checked["backends"]["sql"]["examples"]["lost"]
    assert any(example.get("id") == volume for example in lost)


def test_what_a_call_of_unknown_outcome_left_is_unacknowledged(run, tmp_path) -> None:
    directory, url = _copy(run, tmp_path)
    number, call = _created(directory)[-1]
    lines = (directory / "oplog.jsonl").read_text().splitlines()
    line = json.loads(lines[number])
    for logged in line["runs"]["sql"]["calls"]:
        if logged == call:  # its answer "lost": the store holds the volume, the log cannot say
            logged["outcome"] = {"ok": False, "error": "DBConnectionError", "message": "lost"}
    line["runs"]["sql"]["outcome"] = "error"
    lines[number] = json.dumps(line)
    (directory / "oplog.jsonl").write_text("\n".join(lines) + "\n")
    checked = check_acknowledged(directory, [("sql", url)])
    entry = checked["backends"]["sql"]
    assert entry["unknown_outcome_calls"] == {"volume_create": 1}
    assert checked["lost"] == 0
    assert checked["unacknowledged"] >= 1
    ids = {example.get("id") for example in entry["examples"]["unacknowledged"]}
    assert call["outcome"]["id"] in ids


@pytest.mark.parametrize(
    ("outcome", "unknown"),
    [
        ({"ok": True}, False),
        ({"ok": False, "error": "VolumeNotFound"}, False),  # Cinder refused: no trace
        ({"ok": False, "error": "DBDeadlock"}, False),  # the store rolled it back
        ({"ok": False, "error": "DBConnectionError"}, True),
        ({"ok": False, "error": "DBError"}, True),  # a MagnetoDB answer lost
        ({"ok": False, "error": "TimeoutError"}, True),
    ],
)
def test_which_outcomes_are_unknown(outcome: dict, unknown: bool) -> None:
    assert outcome_unknown(outcome) is unknown
