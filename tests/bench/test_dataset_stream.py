"""A streamed dataset: the records of the in-memory one, in bounded parts, in load order."""

from __future__ import annotations

import hashlib

import pytest

from bench.workload.datasets import DatasetSpec, build_dataset, stream_dataset
from cinderdb.bulk import BulkData

SPECS = [
    DatasetSpec(volumes=300, projects=4),
    DatasetSpec(
        volumes=500, projects=5, seed=7, case_twins=True, tight_quota_fraction=0.4, volume_types=7
    ),
]
#: ``build_dataset`` of each spec above before it was made of the stream (commit d38a3ae):
#: ids, timestamps, names and the order of every record and key unchanged.
DIGESTS = [
    "246cc2d0d90b25fc4716a929c3f5b556d48aa8c18f294cee45802732295f9372",
    "c84f586678ad739285a0036e74b901c10b2242eb0e32a4080c99323a5329acff",
]


def _digest(data: BulkData, users, spare) -> str:
    return hashlib.sha256(repr((list(data.sections()), users, spare)).encode()).hexdigest()


@pytest.mark.parametrize(("spec", "digest"), list(zip(SPECS, DIGESTS, strict=True)))
def test_the_in_memory_dataset_is_the_one_it_always_was(spec, digest):
    dataset = build_dataset(spec)
    assert _digest(dataset.data, dataset.users, dataset.spare_projects) == digest


@pytest.mark.parametrize("chunk", [1, 7, 64])
@pytest.mark.parametrize("spec", SPECS)
def test_the_stream_gives_the_same_records_in_bounded_parts(spec, chunk):
    stream = stream_dataset(spec, chunk)
    gathered, parts = BulkData(), 0
    for part in stream:
        parts += 1
        assert len(part.volumes) <= chunk
        if part.volumes:  # a volume part holds volumes and their image metadata only
            assert not part.snapshots
            assert not part.quotas
        for name, records in part.sections():
            getattr(gathered, name).extend(records)
    assert parts > spec.volumes // chunk
    memory = build_dataset(spec)
    assert gathered == memory.data
    assert (stream.users, stream.spare_projects) == (memory.users, memory.spare_projects)


def test_a_stream_is_read_once():
    stream = stream_dataset(SPECS[0], 100)
    list(stream)
    with pytest.raises(RuntimeError):
        list(stream)
