"""Concurrent renames of one volume type, in threads and in processes: every volume of the type
ends with the type's final name in ``volume_type_name``, the name index holds exactly the
final name, and every name a losing rename claimed is free again. Concurrent creates of one
name: exactly one wins (the put-if-absent on the index is the uniqueness check)."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

import pytest

from cinderdb import exception, get_admin_context, open_backend
from tests.magneto.support_types_quotas import (
    check_names,
    check_qos_associations,
    check_volume_type_names,
    provisioned,
    scan,
)


def _rename_rounds(url: str, type_id: str, worker: int, rounds: int, start: float) -> int:
    """Rename the type to this worker's names; returns how many renames succeeded."""
    api = open_backend(url)
    ctx = get_admin_context()
    done = 0
    try:
        time.sleep(max(0.0, start - time.time()))
        for n in range(rounds):
            api.volume_type_update(ctx, type_id, {"name": f"w{worker}-{n}"})
            done += 1
    finally:
        api.close()
    return done


def _seed(api, volumes: int = 6) -> str:
    ctx = get_admin_context()
    vt = api.volume_type_create(ctx, {"name": "start"})
    other = api.volume_type_create(ctx, {"name": "bystander"})
    for n in range(volumes):
        api.volume_create(ctx, {"volume_type_id": vt["id"], "size": n})
    api.volume_create(ctx, {"volume_type_id": other["id"]})
    return vt["id"]


def _assert_consistent(api, type_id: str) -> None:
    ctx = get_admin_context()
    final = api.volume_type_get(ctx, type_id)["name"]
    assert check_volume_type_names(api) == []
    assert check_names(api, "volume_types", "volume_types_by_name", "volume_type_id") == []
    assert sorted(e["name"]["S"] for e in scan(api, "volume_types_by_name")) == sorted(
        [final, "bystander"]
    )
    assert {v["volume_type"]["name"] for v in api.volume_get_all(ctx, None, None)} == {
        final,
        "bystander",
    }


@pytest.fixture
def server_url(magnetodb_server_url):
    project = "r" + uuid.uuid4().hex[:12]
    url = f"magnetodb://{magnetodb_server_url.removeprefix('http://')}/{project}"
    api = open_backend(url)
    api.create_schema()
    try:
        yield api, url
    finally:
        api.drop_schema()
        api.close()


def test_processes_renaming_one_type_leave_volume_type_name_consistent(server_url):
    api, url = server_url
    type_id = _seed(api)
    workers, rounds = 4, 3
    start = time.time() + 2.0
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        done = pool.starmap(
            _rename_rounds, [(url, type_id, w, rounds, start) for w in range(workers)]
        )
    assert done == [rounds] * workers
    _assert_consistent(api, type_id)


@pytest.mark.parametrize("backend", ["magnetodb+inproc", "magnetodb"])
def test_threads_renaming_one_type_leave_volume_type_name_consistent(request, backend):
    with provisioned(request, backend) as api:
        type_id = _seed(api)
        ctx = get_admin_context()
        barrier = threading.Barrier(5)
        errors: list[str] = []

        def renamer(worker: int) -> None:
            barrier.wait()
            try:
                for n in range(4):
                    api.volume_type_update(ctx, type_id, {"name": f"t{worker}-{n}"})
            except Exception as error:  # pragma: no cover - reported below
                errors.append(repr(error))

        threads = [threading.Thread(target=renamer, args=(w,)) for w in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        _assert_consistent(api, type_id)


@pytest.mark.parametrize("backend", ["magnetodb+inproc", "magnetodb"])
def test_threads_creating_one_name_make_one_type(request, backend):
    with provisioned(request, backend) as api:
        ctx = get_admin_context()
        barrier = threading.Barrier(6)
        outcomes: list[str] = []

        def creator() -> None:
            barrier.wait()
            try:
                api.volume_type_create(ctx, {"name": "contested"})
                outcomes.append("created")
            except exception.VolumeTypeExists:
                outcomes.append("exists")

        threads = [threading.Thread(target=creator) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["created"] + ["exists"] * 5
        assert list(api.volume_type_get_all(ctx)) == ["contested"]
        assert check_names(api, "volume_types", "volume_types_by_name", "volume_type_id") == []


@pytest.mark.parametrize("backend", ["magnetodb+inproc", "magnetodb"])
def test_threads_moving_types_between_specs_keep_both_copies(request, backend):
    """Association writes on the same types from several threads: afterwards every type is
    in exactly the set of the spec it points at."""
    with provisioned(request, backend) as api:
        ctx = get_admin_context()
        specs = [
            api.qos_specs_create(ctx, {"name": f"q{n}", "qos_specs": {}})["id"] for n in range(3)
        ]
        types = [api.volume_type_create(ctx, {"name": f"t{n}"})["id"] for n in range(2)]
        barrier = threading.Barrier(6)
        errors: list[str] = []

        def mover(worker: int) -> None:
            barrier.wait()
            try:
                for n in range(6):
                    spec = specs[(worker + n) % 3]
                    type_id = types[n % 2]
                    if (worker + n) % 4 == 3:
                        api.qos_specs_disassociate(ctx, spec, type_id)
                    else:
                        api.qos_specs_associate(ctx, spec, type_id)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(repr(error))

        threads = [threading.Thread(target=mover, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert check_qos_associations(api) == []
