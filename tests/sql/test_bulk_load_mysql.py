"""The MySQL bulk load's own path (``cinderdb.sql.bulk_writers``): one LOAD DATA per table,
loaded by a thread once a part of the stream leaves the table, on a fresh schema (the
empty tables InnoDB bulk-inserts into, as ``bench load`` has); the server reading the
files itself, or sent them (``LOCAL``)."""

from __future__ import annotations

import re

import pytest

from bench.drive.scratch import scratch_database
from cinderdb import exception, get_admin_context, open_backend
from cinderdb.bulk import BulkData
from cinderdb.sql import models
from tests.contract.bulk_helpers import bulk_dataset
from tests.provision import MYSQL_SERVER_URL


@pytest.fixture(params=["server-reads", "local"])
def backend(request, monkeypatch):
    """A fresh schema, loaded both ways: the server reading the files itself (this
    machine's server can: the probe must say so), or sent them by this process."""
    from cinderdb.sql import bulk_writers

    probe = bulk_writers.server_reads
    answers: list[bool] = []

    def server_reads(connection, directory):
        answers.append(probe(connection, directory))
        return answers[-1] and request.param == "server-reads"

    monkeypatch.setattr(bulk_writers, "server_reads", server_reads)
    with scratch_database(MYSQL_SERVER_URL, prefix="cbtest_bulk") as url:
        backend = open_backend(url)
        backend.create_schema()
        yield backend
        backend.close()
    assert answers, "no load asked whether the server reads its files"
    assert all(answers), "the local server could not read the load's files"


def _schema(backend) -> dict[str, str]:
    """Each table's SHOW CREATE TABLE, but for its next AUTO_INCREMENT value."""
    with backend.engine.connect() as connection:
        return {
            table: re.sub(
                r" AUTO_INCREMENT=\d+",
                "",
                connection.exec_driver_sql(f"SHOW CREATE TABLE `{table}`").one()[1],
            )
            for table in models.Base.metadata.tables
        }


def _counts(backend) -> dict[str, int]:
    with backend.engine.connect() as connection:
        return {
            table: connection.exec_driver_sql(f"SELECT COUNT(*) FROM `{table}`").scalar_one()
            for table in models.Base.metadata.tables
        }


def _parts(data: BulkData) -> list[BulkData]:
    """``data`` as a stream whose second part writes no volume: the volumes of the first
    part are loaded (by the thread) before the third part brings more."""
    first = BulkData(
        volume_types=data.volume_types,
        qos_specs=data.qos_specs,
        consistencygroups=data.consistencygroups,
        volumes=data.volumes[:2],
    )
    second = BulkData(quota_classes=data.quota_classes)
    rest = BulkData(**dict(data.sections()))
    rest.volume_types, rest.qos_specs, rest.consistencygroups = [], [], []
    rest.volumes, rest.quota_classes = data.volumes[2:], []
    return [first, second, rest]


def test_a_table_written_again_after_its_load_gets_every_row(backend):
    data = bulk_dataset()
    schema = _schema(backend)
    backend.bulk_load(iter(_parts(data)))
    admin = get_admin_context().with_read_deleted("yes")
    assert {v["id"] for v in backend.volume_get_all(admin, None, None)} == {
        v["id"] for v in data.volumes
    }
    assert _counts(backend)["volume_metadata"] == sum(len(v["metadata"]) for v in data.volumes)
    assert _schema(backend) == schema


@pytest.mark.parametrize("part", [0, 2], ids=["same-file", "later-file"])
def test_a_row_the_server_refuses_loads_nothing(backend, part):
    """A duplicate id (only the server can tell) fails the load with a DBError, whether
    in the file of the first or in a later one, after other tables were loaded in the
    same transaction: nothing stays, and the schema is the one the load began with."""
    data = bulk_dataset()
    parts = _parts(data)
    duplicate = {**parts[2].volumes[0], "id": parts[0].volumes[0]["id"], "metadata": {}}
    parts[part].volumes.append(duplicate)
    schema, before = _schema(backend), _counts(backend)
    with pytest.raises(exception.DBError, match="volumes"):
        backend.bulk_load(iter(parts))
    assert _counts(backend) == before
    assert _schema(backend) == schema


def _volumes_only(data: BulkData) -> BulkData:
    """The volumes alone (no metadata): one table, one file."""
    return BulkData(volumes=[{**v, "metadata": {}, "admin_metadata": {}} for v in data.volumes])


def test_a_table_gets_every_batch_of_its_file(backend, monkeypatch):
    from cinderdb.sql import loading

    monkeypatch.setattr(loading, "CHUNK", 1)  # a batch per volume, one file
    data = _volumes_only(bulk_dataset())
    for volume in data.volumes:
        volume["attachments"] = []
    backend.bulk_load(data)
    assert _counts(backend)["volumes"] == len(data.volumes)


@pytest.mark.parametrize("fault", ["duplicate", "statement"])
def test_a_table_the_server_refuses_loads_nothing(backend, monkeypatch, fault):
    """A duplicate within one file (found by InnoDB's sort), or a statement the server
    refuses (raised as a DBError, as any backend error): nothing loaded."""
    from cinderdb.sql import bulk_writers, loading

    monkeypatch.setattr(loading, "CHUNK", 1)
    data = _volumes_only(bulk_dataset())
    if fault == "duplicate":
        data.volumes.append({**data.volumes[1], "id": data.volumes[0]["id"]})
    else:
        monkeypatch.setattr(
            bulk_writers, "_LOAD", bulk_writers._LOAD.replace("{table}", "{table}_missing")
        )
    before = _counts(backend)
    with pytest.raises(exception.DBError):
        backend.bulk_load(data)
    assert _counts(backend) == before


def test_the_tables_with_a_random_key_are_loaded_in_key_order():
    from cinderdb.sql import bulk_writers

    keyed = {
        name
        for name, table in models.Base.metadata.tables.items()
        if bulk_writers.sort_key(table) is not None
    }
    assert {"volumes", "snapshots", "volume_attachment", "consistencygroups"} <= keyed
    assert not keyed & {"volume_metadata", "quotas", "reservations", "volume_glance_metadata"}


@pytest.mark.parametrize("text", ["two\nlines", "a \0 NUL", 'a "quote", a comma', "NULL", "\\N"])
def test_a_value_loads_as_it_was_whatever_its_characters(backend, text):
    """A newline (quoted: data to LOAD DATA), a NUL (which stops the file being sorted,
    ``sort -z`` would split its record: it loads unsorted), quotes, commas, and the
    texts that spell NULL in a file: each loads as the text it was, on every row."""
    data = _volumes_only(bulk_dataset())
    for volume in data.volumes:
        volume["attachments"] = []
        volume["display_description"] = text
    backend.bulk_load(data)
    admin = get_admin_context().with_read_deleted("yes")
    loaded = backend.volume_get_all(admin, None, None)
    assert len(loaded) == len(data.volumes)
    assert {v["display_description"] for v in loaded} == {text}
