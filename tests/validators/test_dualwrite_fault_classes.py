"""The fault classes beyond a plain crash: a stale index entry after a delete, a type rename
that leaves volumes with the old ``volume_type_name``, and a lost update when two attaches
race with conditional updates off. Each is detected, attributed and repaired."""

from __future__ import annotations

import threading

import pytest

from bench.drive import faults
from bench.drive.faults import FaultRule
from cinderdb import exception, get_admin_context
from tests.validators.dualwrite_support import (
    ScriptedRun,
    attribute_all,
    crash,
    repair,
    store_fixture,  # noqa: F401 - the ``store`` fixture
)
from validators.findings import ORPHAN, STALE


def test_destroy_that_crashes_before_removing_its_name_entry(store, tmp_path) -> None:
    admin = get_admin_context()
    vtype = store.backend.volume_type_create(admin, {"name": "short-lived"})
    run = ScriptedRun(tmp_path, store.backend)
    crash(run, FaultRule("entry delete", calls=frozenset({"volume_type_destroy"}), write=2))
    seq, error = run.op("type_delete", lambda api: api.volume_type_destroy(admin, vtype["id"]))
    assert isinstance(error, exception.DBError)
    faults.uninstall(store.backend)
    with pytest.raises(exception.VolumeTypeNotFound):
        store.backend.volume_type_get(admin, vtype["id"])  # the type is gone for readers

    validation = store.validate()
    (finding,) = validation.findings
    assert (finding.check, finding.cls) == ("volume_types_by_name", ORPHAN)
    assert finding.key == {"name": "short-lived", "volume_type_id": vtype["id"]}
    attribute_all(run, validation)
    assert finding.attributed_to[0].seq == seq
    assert "volume_type_destroy failed at its write 2 (delete_item" in finding.explanation
    assert repair(store, validation).ok
    # the name is free again at once: a new type takes it without waiting for a takeover
    store.backend.volume_type_create(admin, {"name": "short-lived"})
    assert store.validate().ok


def test_rename_that_crashes_midway_leaves_stale_type_names(store, tmp_path) -> None:
    admin = get_admin_context()
    counts: dict[str, int] = {}
    for volume in store.data.volumes:
        if volume["volume_type_id"]:
            counts[volume["volume_type_id"]] = counts.get(volume["volume_type_id"], 0) + 1
    type_id = max(counts, key=counts.get)
    assert counts[type_id] >= 2
    run = ScriptedRun(tmp_path, store.backend)
    rule = FaultRule(
        "2nd volume update of a rename",
        calls=frozenset({"volume_type_update"}),
        tables=frozenset({"volumes"}),
        ops=frozenset({"update_item"}),
        nth=2,
    )
    crash(run, rule)
    _, error = run.op(
        "type_rename", lambda api: api.volume_type_update(admin, type_id, {"name": "gold-2"})
    )
    assert isinstance(error, exception.DBError)
    faults.uninstall(store.backend)

    validation = store.validate()
    stale = [f for f in validation.findings if f.check == "volume_type_name"]
    assert len(stale) == counts[type_id] - 1  # the first volume was renamed, then it crashed
    assert {f.cls for f in validation.findings} == {STALE}
    assert {(f.expected, f.key["volume_type_id"]) for f in stale} == {("gold-2", type_id)}
    attribute_all(run, validation)
    for finding in stale:
        assert finding.attributed_to[0].operation == "type_rename"
        assert "injected fault #1" in finding.explanation
    assert repair(store, validation).ok


def _race(store, tmp_path, unsafe: bool):
    """Two attaches of one multiattach volume at the same moment, as two logged operations."""
    volume = next(v for v in store.data.volumes if v["multiattach"] and not v["deleted"])
    run = ScriptedRun(tmp_path, store.backend)
    options = faults.FaultOptions(unsafe_no_conditions=unsafe, race_window=0.3)
    faults.install(store.backend, options)
    run.instrument()
    admin = get_admin_context()
    start = threading.Barrier(2)
    seqs: list[int] = []

    def attach(index: int) -> None:
        attachment = {
            "id": f"00000000-0000-4000-8000-00000000000{index}",
            "volume_id": volume["id"],
        }

        def work(api) -> None:
            start.wait()
            api.volume_attach(admin, attachment)

        seq, error = run.op("attach", work)
        assert error is None, error
        seqs.append(seq)

    threads = [threading.Thread(target=attach, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    faults.uninstall(store.backend)
    return run, seqs


def test_concurrent_attaches_lose_an_update_without_conditions(store, tmp_path) -> None:
    run, seqs = _race(store, tmp_path, unsafe=True)
    validation = store.validate()
    (finding,) = validation.findings
    assert (finding.check, finding.cls, finding.table) == (
        "volume_attachments",
        ORPHAN,
        "volume_attachment",
    )
    attribute_all(run, validation, unsafe=True)
    assert sorted(a.seq for a in finding.attributed_to) == sorted(seqs)
    assert "lost update (conditional updates were off)" in finding.explanation
    assert repair(store, validation).ok


def test_concurrent_attaches_lose_nothing_with_conditions(store, tmp_path) -> None:
    _race(store, tmp_path, unsafe=False)
    assert store.validate().ok
