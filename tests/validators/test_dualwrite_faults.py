"""The fault injector: which request fails, what a crash leaves, reproducible rates, the
unsafe switch. On the in-process server (the same app as over HTTP), a fresh store each."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from bench.drive import faults
from bench.drive.faults import FaultOptions, FaultRule, parse_plan
from cinderbench.options import add_fault_arguments, fault_options
from cinderdb import exception, get_admin_context, open_backend

ADMIN = get_admin_context()
VOLUME = "11111111-1111-4111-8111-111111111111"


@pytest.fixture
def backend() -> Iterator[Any]:
    api = open_backend("magnetodb+inproc:///faults")
    api.create_schema()
    api.volume_create(ADMIN, {"id": VOLUME, "project_id": "p1", "size": 1, "multiattach": True})
    yield api
    faults.uninstall(api)
    api.close()


def _raw(api: Any, table: str, key: str) -> dict | None:
    return api.get(table, key)


def test_the_chosen_write_fails_after_the_earlier_ones(backend) -> None:
    injector = faults.install(backend, FaultOptions(rate=1.0, plan="attach"))
    with pytest.raises(exception.DBError, match="injected fault #1"):
        backend.volume_attach(ADMIN, {"id": "a1", "volume_id": VOLUME})
    (fault,) = injector.faults
    assert (fault.call, fault.write, fault.op, fault.table) == (
        "volume_attach",
        2,
        "update_item",
        "volumes",
    )
    assert _raw(backend, "volume_attachment", "a1") is not None  # write 1 was applied
    assert "volume_attachment" not in _raw(backend, "volumes", VOLUME)  # write 2 was not


def test_a_crash_stops_the_call_and_a_plain_failure_lets_it_clean_up(backend) -> None:
    rule = FaultRule("put", calls=frozenset({"qos_specs_create"}), write=2)
    faults.install(backend, FaultOptions(rules=(rule,), rate=1.0))
    with pytest.raises(exception.DBError):
        backend.qos_specs_create(ADMIN, {"name": "crashed"})
    assert _raw(backend, "qos_specs_by_name", "crashed") is not None  # no release ran
    faults.install(backend, FaultOptions(rules=(rule,), rate=1.0, crash=False))
    with pytest.raises(exception.DBError):
        backend.qos_specs_create(ADMIN, {"name": "failed"})
    assert _raw(backend, "qos_specs_by_name", "failed") is None  # its error path released it


def test_only_requests_of_db_api_calls_fail(backend) -> None:
    faults.install(backend, FaultOptions(rate=1.0, plan="requests"))
    assert backend.get("volumes", VOLUME) is not None  # a request outside any call
    with pytest.raises(exception.DBError):
        backend.volume_get(ADMIN, VOLUME)


def test_rules_pick_by_position_and_condition(backend) -> None:
    assert parse_plan("conditional")[0].conditional is True
    faults.install(backend, FaultOptions(rate=1.0, plan="conditional"))
    with pytest.raises(exception.DBError):
        backend.volume_update(ADMIN, VOLUME, {"status": "error"})  # a visibility-guarded write
    rule = parse_plan("call=volume_get|volume_update,op=get_item|batch_get_item,nth=2")[0]
    assert rule.calls == frozenset({"volume_get", "volume_update"})
    assert rule.nth == 2
    injector = faults.install(backend, FaultOptions(rules=(rule,), rate=1.0))
    backend.volume_get(ADMIN, VOLUME)  # one get_item only: the 2nd never comes
    assert injector.faults == []
    batch = parse_plan("call=volume_create,table=volumes_by_host")[0]  # a batch write names it
    injector = faults.install(backend, FaultOptions(rules=(batch,), rate=1.0))
    values = {"id": "v2", "project_id": "p1", "size": 1, "host": "h@b#p"}
    with pytest.raises(exception.DBError):
        backend.volume_create(ADMIN, values)
    assert injector.faults[0].op == "batch_write_item"
    assert "volumes_by_host" in injector.faults[0].table.split(",")
    assert _raw(backend, "volumes", "v2") is None  # crashed before the volume was written
    with pytest.raises(ValueError, match="named plans"):
        parse_plan("nonsense")
    with pytest.raises(ValueError, match="not DB API functions"):
        parse_plan("call=volume_explode")


def _faults_of(seed: int) -> list[tuple[str, int, str]]:
    api = open_backend("magnetodb+inproc:///rate")
    api.create_schema()
    injector = faults.install(api, FaultOptions(rate=0.5, plan="writes", seed=seed))
    for index in range(40):
        with contextlib.suppress(exception.DBError):
            api.volume_create(ADMIN, {"id": f"vol-{index:02d}", "project_id": "p", "size": 1})
    found = [(f.call, f.request, orjson.dumps(f.key).decode()) for f in injector.faults]
    api.close()
    return found


def test_the_same_seed_fails_the_same_requests() -> None:
    first, again, other = _faults_of(3), _faults_of(3), _faults_of(4)
    assert 5 < len(first) < 35  # about half of the 40 creates' first writes
    assert first == again
    assert first != other


def _sent(backend: Any) -> list[dict[str, Any]]:
    """Record the request bodies the (fault) transport sends on."""
    sent: list[dict[str, Any]] = []
    transport = backend.client.transport
    inner = transport.inner if isinstance(transport, faults.FaultTransport) else transport
    original = inner.handle_request

    def record(method: str, path: str, body: bytes | None, headers: dict) -> Any:
        if body:
            sent.append({"path": path, **orjson.loads(body)})
        return original(method, path, body, headers)

    inner.handle_request = record
    return sent


def test_unsafe_mode_sends_no_version_condition(backend) -> None:
    sent = _sent(backend)
    backend.volume_metadata_update(ADMIN, VOLUME, {"k": "v1"}, False)
    safe = [r for r in sent if r["path"].endswith("volumes/update_item")]
    assert "version" in safe[-1]["expected"]
    faults.install(backend, FaultOptions(unsafe_no_conditions=True))
    sent = _sent(backend)
    backend.volume_metadata_update(ADMIN, VOLUME, {"k": "v2"}, False)
    unsafe = [r for r in sent if r["path"].endswith("volumes/update_item")]
    assert "version" not in unsafe[-1].get("expected", {})
    backend.volume_attach(ADMIN, {"id": "a9", "volume_id": VOLUME})
    whole = [r for r in sent if r["path"].endswith("volumes/update_item")][-1]
    assert whole["attribute_updates"]["volume_attachment"]["action"] == "PUT"  # read-modify-write
    assert backend.volume_metadata_get(ADMIN, VOLUME) == {"k": "v2"}


def test_uninstall_restores_the_backend(backend) -> None:
    transport = backend.client.transport
    faults.install(backend, FaultOptions(rate=1.0, plan="requests"))
    faults.uninstall(backend)
    assert backend.client.transport is transport
    assert backend.volume_get(ADMIN, VOLUME)["id"] == VOLUME
    assert faults.install(backend, FaultOptions()) is None  # nothing asked: nothing installed


def test_command_line_options(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_fault_arguments(parser)
    parser.add_argument("--seed", type=int, default=9)
    options = fault_options(parser.parse_args(["--fault-rate", "0.1", "--fault-plan", "attach"]))
    assert (options.rate, options.plan, options.seed, options.active) == (0.1, "attach", 9, True)
    for argv, message in (
        (["--fault-rate", "2"], "must be between 0.0 and 1.0, not 2"),
        (["--fault-plan", "nope"], "unknown fault plan 'nope'"),
    ):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(argv)
        assert exited.value.code == 2
        assert message in capsys.readouterr().err


def test_fault_options_refuse_what_cannot_run() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultOptions(rate=2)
    with pytest.raises(ValueError, match="unknown fault plan"):
        FaultOptions(rate=0.1, plan="nope")
