"""Which logged operation explains a quota finding (synthetic logs: each case on its own)."""

from __future__ import annotations

from validators.findings import USAGE_MISMATCH, Finding
from validators.quota_causes import attribute_quota

P = "p1"


def call(fn: str, ok: bool = True, message: str = "", **kwargs) -> dict:
    outcome = {"ok": True} if ok else {"ok": False, "error": "DBError", "message": message}
    return {"fn": fn, "args": [{"$t": "ctx", "v": {}}], "kwargs": kwargs, "outcome": outcome}


def line(seq: int, op: str, calls: list[dict], t: float | None = None, us: int = 1000) -> dict:
    return {
        "seq": seq,
        "op": op,
        "t": float(seq) if t is None else t,
        "order": ["m"],
        "plan": {"project_id": P},
        "runs": {"m": {"us": us, "calls": calls}},
    }


def finding() -> Finding:
    return Finding("quota:m", USAGE_MISMATCH, "quota_usages", {"project_id": P, "resource": "v"})


def explain(lines: list[dict], unsafe: bool = False) -> Finding:
    found = finding()
    attribute_quota([found], lines, "m", unsafe)
    return found


def created(seq: int) -> dict:
    return line(
        seq,
        "create",
        [call("quota_reserve", project_id=P), call("volume_create"), call("reservation_commit")],
    )


def test_a_destroy_that_failed_after_the_reserve_is_the_cause():
    fault = "DBError: MagnetoTransportError: injected fault #2 (update_item)"
    delete = line(
        5, "delete", [call("quota_reserve", project_id=P), call("volume_destroy", False, fault)]
    )
    harmless = line(
        6,
        "delete",
        [
            call("quota_reserve", project_id=P),
            call("volume_glance_metadata_delete_by_volume", False),
        ],
    )
    found = explain([created(1), delete, harmless, created(7)])
    assert [a.seq for a in found.attributed_to] == [5]
    assert "injected fault #2" in found.explanation
    assert "never settled" in found.explanation


def test_a_failed_migration_leaves_its_destination_outside_quota():
    migrate = line(
        3,
        "migrate",
        [call("volume_create"), call("finish_volume_migration", False, "injected fault #4")],
    )
    found = explain([created(1), migrate])
    assert [a.seq for a in found.attributed_to] == [3]
    assert "outside quota" in found.explanation


def test_overlapping_quota_writes_are_a_lost_update_when_nothing_failed():
    first = line(2, "create", created(2)["runs"]["m"]["calls"], t=10.0, us=50_000)
    second = line(3, "create", created(3)["runs"]["m"]["calls"], t=10.01, us=50_000)
    found = explain([created(1), first, second, created(9)], unsafe=True)
    assert [a.seq for a in found.attributed_to] == [2, 3]
    assert "lost update" in found.explanation
    assert "conditional updates off" in found.explanation


def test_without_a_cause_the_last_quota_write_is_named():
    found = explain([created(1), created(4)])
    assert [a.seq for a in found.attributed_to] == [4]
    assert "shows no cause" in found.explanation
    assert explain([]).attributed_to == []
