"""Concurrent attaches, detaches and metadata changes on one volume, in threads and in
processes against an LMDB server with two worker processes: no attachment or metadata key
is lost, the volume's status is the one its final attachments call for, and both copies of
every pair agree (read with the client)."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable

import pytest

from cinderdb import get_admin_context, open_backend
from tests.magneto.support_types_quotas import MAGNETO_BACKENDS, provisioned, scan
from tests.magneto.support_volumes import check_attachments, check_inverted, check_volume_side

WORKERS = 6


def _instance(worker: int) -> str:
    return f"{worker:08d}-0000-4000-8000-000000000000"


def _attach(api, volume_id: str, worker: int) -> str:
    ctx = get_admin_context()
    attachment = api.volume_attach(
        ctx,
        {"volume_id": volume_id, "attach_status": "attaching", "instance_uuid": _instance(worker)},
    )
    api.volume_attached(ctx, attachment["id"], _instance(worker), None, f"/dev/vd{worker}")
    return attachment["id"]


def _detach(api, volume_id: str, attachment_id: str) -> None:
    api.volume_detached(get_admin_context(), volume_id, attachment_id)


def _set_key(api, volume_id: str, worker: int) -> None:
    ctx = get_admin_context()
    api.volume_metadata_update(ctx, volume_id, {f"k{worker}": str(worker)}, False)
    api.volume_admin_metadata_update(ctx, volume_id, {f"a{worker}": "x"}, False)


# ---------------------------------------------------------------- processes


def _in_process(url: str, start: float, action: str, volume_id: str, argument: object) -> object:
    """One worker process: its own backend (its own HTTP connections), started together."""
    api = open_backend(url)
    try:
        time.sleep(max(0.0, start - time.time()))
        if action == "attach":
            return _attach(api, volume_id, int(argument))  # type: ignore[arg-type]
        if action == "detach":
            _detach(api, volume_id, str(argument))
            return None
        _set_key(api, volume_id, int(argument))  # type: ignore[arg-type]
        return None
    finally:
        api.close()


def _run_processes(url: str, action: str, volume_id: str, arguments: list) -> list:
    start = time.time() + 2.0  # spawned interpreters are up by then
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(arguments)) as pool:
        return pool.starmap(
            _in_process, [(url, start, action, volume_id, argument) for argument in arguments]
        )


@pytest.fixture
def lmdb_backend(magnetodb_server_url):
    """A backend on a fresh project of the session's LMDB server (2 workers), and its URL."""
    url = f"magnetodb://{magnetodb_server_url.removeprefix('http://')}/c{uuid.uuid4().hex[:12]}"
    api = open_backend(url)
    api.create_schema()
    try:
        yield api, url
    finally:
        api.drop_schema()
        api.close()


def _multiattach_volume(api) -> str:
    return api.volume_create(
        get_admin_context(), {"multiattach": True, "status": "available", "metadata": {"m": "0"}}
    )["id"]


def _assert_attached(api, volume_id: str, attachment_ids: list[str]) -> None:
    volume = api.volume_get(get_admin_context(), volume_id)
    assert (volume["status"], volume["attach_status"]) == ("in-use", "attached")
    assert sorted(a["id"] for a in volume["volume_attachment"]) == sorted(attachment_ids)
    assert all(a["attach_status"] == "attached" for a in volume["volume_attachment"])
    assert check_attachments(api) == []


def test_processes_attaching_to_one_multiattach_volume_lose_nothing(lmdb_backend):
    api, url = lmdb_backend
    volume_id = _multiattach_volume(api)
    attached = _run_processes(url, "attach", volume_id, list(range(WORKERS)))
    assert len(set(attached)) == WORKERS
    _assert_attached(api, volume_id, attached)


@pytest.mark.parametrize("leave", [0, 1])
def test_processes_detaching_leave_the_right_status(lmdb_backend, leave):
    api, url = lmdb_backend
    volume_id = _multiattach_volume(api)
    attached = [_attach(api, volume_id, worker) for worker in range(WORKERS)]
    _run_processes(url, "detach", volume_id, attached[leave:])
    volume = api.volume_get(get_admin_context(), volume_id)
    if leave:
        assert (volume["status"], volume["attach_status"]) == ("in-use", "attached")
        assert [a["id"] for a in volume["volume_attachment"]] == attached[:leave]
    else:
        assert (volume["status"], volume["attach_status"]) == ("available", "detached")
        assert volume["volume_attachment"] == []
    rows = {r["id"]["S"]: r for r in scan(api, "volume_attachment")}
    assert all(rows[a]["deleted"]["N"] == "1" for a in attached[leave:])
    assert check_attachments(api) == []


def test_processes_changing_metadata_of_one_volume_lose_no_key(lmdb_backend):
    api, url = lmdb_backend
    volume_id = _multiattach_volume(api)
    _run_processes(url, "metadata", volume_id, list(range(WORKERS)))
    ctx = get_admin_context()
    assert api.volume_metadata_get(ctx, volume_id) == {
        "m": "0",
        **{f"k{w}": str(w) for w in range(WORKERS)},
    }
    assert api.volume_admin_metadata_get(ctx, volume_id) == {f"a{w}": "x" for w in range(WORKERS)}
    assert check_inverted(api, "volume_metadata") == []
    assert check_inverted(api, "volume_admin_metadata") == []


# ------------------------------------------------------------------ threads


def _in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            barrier.wait()
            results[worker] = work(worker)
        except BaseException as error:  # reported in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.parametrize("backend", MAGNETO_BACKENDS)
def test_threads_attach_then_detach_concurrently(request, backend):
    with provisioned(request, backend) as api:
        volume_id = _multiattach_volume(api)
        attached = _in_threads(WORKERS, lambda w: _attach(api, volume_id, w))
        _assert_attached(api, volume_id, attached)  # type: ignore[arg-type]
        _in_threads(WORKERS, lambda w: _detach(api, volume_id, attached[w]))  # type: ignore[arg-type]
        volume = api.volume_get(get_admin_context(), volume_id)
        assert (volume["status"], volume["attach_status"]) == ("available", "detached")
        assert check_volume_side(api) == []


@pytest.mark.parametrize("backend", MAGNETO_BACKENDS)
def test_threads_attaching_while_others_detach(request, backend):
    """Detaches racing attaches of other instances: the final status follows the attachments
    that are left (the detach's versioned write re-reads after every attach)."""
    with provisioned(request, backend) as api:
        volume_id = _multiattach_volume(api)
        first = [_attach(api, volume_id, w) for w in range(WORKERS)]

        def work(worker: int) -> object:
            _detach(api, volume_id, first[worker])
            return _attach(api, volume_id, WORKERS + worker)

        second = _in_threads(WORKERS, work)
        _assert_attached(api, volume_id, second)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", MAGNETO_BACKENDS)
def test_threads_changing_metadata_lose_no_key(request, backend):
    with provisioned(request, backend) as api:
        volume_id = _multiattach_volume(api)
        _in_threads(WORKERS, lambda w: _set_key(api, volume_id, w))
        assert len(api.volume_metadata_get(get_admin_context(), volume_id)) == WORKERS + 1
        assert check_volume_side(api) == []
