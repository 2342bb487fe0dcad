"""The loader's bulk load requests (MagnetoDB's streaming API) leave the store holding
exactly the items that batch_write_item requests of the same items did, table by table."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bench.workload.datasets import DatasetSpec, stream_dataset
from cinderdb import exception, open_backend
from cinderdb.magneto.keys import encode_item
from cinderdb.magneto.loading import BulkLoadFunctions

SPEC = DatasetSpec(volumes=300, projects=3, seed=7)


def _batch_write_chunk(self: BulkLoadFunctions, table: str, items: Sequence[dict]) -> None:
    """The loader's requests before the bulk load API: batch_write_item of 25 puts."""
    spec = self.tables[table]
    for start in range(0, len(items), 25):
        puts = [{"put_request": {"item": encode_item(spec, i)}} for i in items[start : start + 25]]
        assert self.client.batch_write_item({table: puts}) == {"unprocessed_items": {}}


def _store(backend) -> dict[str, list[dict]]:
    out = {}
    for table in backend.design.table_by_name:
        items, start = [], None
        while True:
            page = backend.client.scan(table, limit=500, exclusive_start_key=start)
            items += page["items"]
            start = page.get("last_evaluated_key")
            if not start:
                break
        out[table] = items
    return out


def _loaded(design: str, monkeypatch: pytest.MonkeyPatch | None = None) -> dict[str, list]:
    backend = open_backend(f"magnetodb+inproc:///bulk?design={design}")
    try:
        backend.create_schema()
        made = _store(backend)  # the default quota class, stamped now: not the load's
        if monkeypatch is None:
            backend.bulk_load(stream_dataset(SPEC, chunk=100))
        else:
            with monkeypatch.context() as patch:
                patch.setattr(BulkLoadFunctions, "_put_chunk", _batch_write_chunk)
                backend.bulk_load(stream_dataset(SPEC, chunk=100))
        return {
            table: [item for item in items if item not in made[table]]
            for table, items in _store(backend).items()
        }
    finally:
        backend.close()


@pytest.mark.parametrize("design", ["seed", "improved"])
def test_bulk_load_requests_store_what_batch_writes_stored(design, monkeypatch):
    streamed = _loaded(design)
    batched = _loaded(design, monkeypatch)
    assert sum(len(items) for items in streamed.values()) > 1000
    assert streamed == batched


def test_a_refused_line_fails_the_load_with_the_servers_reason(monkeypatch):
    backend = open_backend("magnetodb+inproc:///bulk")
    try:
        backend.create_schema()
        real = BulkLoadFunctions._put_chunk

        def spoiled(self, table, items):
            real(self, table, [*items[:-1], {**items[-1], "id": {"N": "1"}}])

        monkeypatch.setattr(BulkLoadFunctions, "_put_chunk", spoiled)
        with pytest.raises(exception.DBError, match=r"stopped \(\d+ processed, 1 failed, 0 unp"):
            backend.bulk_load(stream_dataset(SPEC, chunk=100))
    finally:
        backend.close()
