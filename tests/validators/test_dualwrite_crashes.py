"""A crash between the two writes of every dual-written pair: injected, detected, attributed,
repaired.

For each pair of ``DUAL_WRITES`` one DB API call that writes it is made to
fail at the write that comes second (``bench.drive.faults``: the request
is not sent and raises), on the real server. The validator must report the
state the design says such a crash leaves (an orphan second copy, or a stale
copied name), attribute it to that operation and its injected fault, and the
repair plan must leave a store that validates clean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bench.drive.faults import FaultRule
from cinderdb import exception, get_admin_context
from cinderdb.magneto.tables import DUAL_WRITES
from tests.validators.dualwrite_support import (
    ScriptedRun,
    attribute_all,
    crash,
    repair,
    store_fixture,  # noqa: F401 - the ``store`` fixture
)
from validators.findings import ORPHAN, STALE

NEW_ID = "0c0ffee0-0000-4000-8000-000000000001"


def _second_write(call: str) -> FaultRule:
    return FaultRule(f"2nd write of {call}", calls=frozenset({call}), write=2)


def _volume(data: Any, test: Callable[[dict], bool] = lambda v: True) -> dict:
    return next(v for v in data.volumes if not v["deleted"] and test(v))


def _typed_volume_type(data: Any) -> dict:
    used = {v["volume_type_id"] for v in data.volumes if v["volume_type_id"]}
    return next(t for t in data.volume_types if t["id"] in used)


@dataclass(frozen=True)
class Crash:
    op: str
    rule: FaultRule
    work: Callable[[Any, Any], Any]
    cls: str = ORPHAN
    #: other pairs the same crash may leave findings in
    also: frozenset[str] = frozenset()


def _attach(api: Any, data: Any) -> None:
    api.volume_attach(get_admin_context(), {"id": NEW_ID, "volume_id": _volume(data)["id"]})


def _metadata(function: str) -> Callable[[Any, Any], None]:
    def work(api: Any, data: Any) -> None:
        getattr(api, function)(get_admin_context(), _volume(data)["id"], {"crash": "x"}, False)

    return work


def _rename(api: Any, data: Any) -> None:
    vtype = _typed_volume_type(data)
    api.volume_type_update(get_admin_context(), vtype["id"], {"name": "renamed-by-test"})


def _associate(api: Any, data: Any) -> None:
    spec = data.qos_specs[0]
    vtype = next(t for t in data.volume_types if t["qos_specs_id"] != spec["id"])
    api.volume_type_qos_associate(get_admin_context(), vtype["id"], spec["id"])


def _create_volume(api: Any, data: Any) -> None:
    group = data.consistencygroups[0]
    values = {
        "id": NEW_ID,
        "project_id": group["project_id"],
        "size": 1,
        "host": "crash-host@lvm#pool",
        "consistencygroup_id": group["id"],
        "status": "creating",
    }
    api.volume_create(get_admin_context(), values)


def _create_snapshot(api: Any, data: Any) -> None:
    cgsnapshot = data.cgsnapshots[0]
    volume = _volume(data)
    values = {
        "id": NEW_ID,
        "volume_id": volume["id"],
        "project_id": volume["project_id"],
        "cgsnapshot_id": cgsnapshot["id"],
        "status": "creating",
        "volume_size": 1,
    }
    api.snapshot_create(get_admin_context(), values)


def _create_group(api: Any, data: Any) -> None:
    values = {"id": NEW_ID, "project_id": data.volumes[0]["project_id"], "name": "crash-cg"}
    api.consistencygroup_create(get_admin_context(), values)


def _create_cgsnapshot(api: Any, data: Any) -> None:
    group = data.consistencygroups[0]
    values = {"id": NEW_ID, "consistencygroup_id": group["id"], "project_id": group["project_id"]}
    api.cgsnapshot_create(get_admin_context(), values)


def _create_type(api: Any, data: Any) -> None:
    api.volume_type_create(get_admin_context(), {"name": "crash-type"})


def _create_qos(api: Any, data: Any) -> None:
    api.qos_specs_create(get_admin_context(), {"name": "crash-qos", "consumer": "back-end"})


_VOLUME_INDEXES = frozenset({"volumes_by_project", "volumes_by_host", "volumes_by_group"})
_SNAPSHOT_INDEXES = frozenset(
    {"snapshots_by_project", "snapshots_by_volume", "snapshots_by_cgsnapshot"}
)
_CGSNAPSHOT_INDEXES = frozenset({"cgsnapshots_by_project", "cgsnapshots_by_group"})

#: pair -> the crash that must leave a finding in it
CRASHES: dict[str, Crash] = {
    "volume_attachments": Crash("attach", _second_write("volume_attach"), _attach),
    "volume_metadata": Crash(
        "metadata_set", _second_write("volume_metadata_update"), _metadata("volume_metadata_update")
    ),
    "volume_admin_metadata": Crash(
        "admin_metadata_set",
        _second_write("volume_admin_metadata_update"),
        _metadata("volume_admin_metadata_update"),
    ),
    "volume_type_name": Crash(
        "type_rename",
        FaultRule(
            "1st volume write of a rename",
            calls=frozenset({"volume_type_update"}),
            ops=frozenset({"update_item"}),
            tables=frozenset({"volumes"}),
            nth=1,
        ),
        _rename,
        cls=STALE,
    ),
    "qos_type_associations": Crash(
        "qos_associate", _second_write("volume_type_qos_associate"), _associate
    ),
    **{
        name: Crash("create", _second_write("volume_create"), _create_volume, also=_VOLUME_INDEXES)
        for name in _VOLUME_INDEXES
    },
    **{
        name: Crash(
            "snapshot_create",
            _second_write("snapshot_create"),
            _create_snapshot,
            also=_SNAPSHOT_INDEXES,
        )
        for name in _SNAPSHOT_INDEXES
    },
    "consistencygroups_by_project": Crash(
        "cg_create", _second_write("consistencygroup_create"), _create_group
    ),
    **{
        name: Crash(
            "cgsnapshot_create",
            _second_write("cgsnapshot_create"),
            _create_cgsnapshot,
            also=_CGSNAPSHOT_INDEXES,
        )
        for name in _CGSNAPSHOT_INDEXES
    },
    "volume_types_by_name": Crash("type_create", _second_write("volume_type_create"), _create_type),
    "qos_specs_by_name": Crash("qos_create", _second_write("qos_specs_create"), _create_qos),
}


def test_every_declared_pair_has_a_crash() -> None:
    assert sorted(CRASHES) == sorted(pair.name for pair in DUAL_WRITES)


@pytest.mark.parametrize("pair", sorted(CRASHES))
def test_crash_between_two_writes_is_detected_attributed_and_repaired(
    pair: str,
    store,
    tmp_path,
) -> None:
    scenario = CRASHES[pair]
    assert store.validate().ok, "the loaded store starts clean"
    run = ScriptedRun(tmp_path, store.backend)
    injector = crash(run, scenario.rule)
    seq, error = run.op(scenario.op, lambda api: scenario.work(api, store.data))
    assert isinstance(error, exception.DBError), error
    assert len(injector.faults) == 1

    validation = store.validate()
    mine = [f for f in validation.findings if f.check == pair]
    assert mine, f"no finding in {pair}: {validation.summaries}"
    assert {f.cls for f in mine} == {scenario.cls}
    assert {f.check for f in validation.findings} <= {pair, *scenario.also}

    attribute_all(run, validation)
    for finding in mine:
        assert [a.seq for a in finding.attributed_to] == [seq], finding
        assert finding.attributed_to[0].operation == scenario.op
        assert "injected fault #1" in (finding.explanation or ""), finding.explanation

    again = repair(store, validation)
    assert again.ok, again.findings
