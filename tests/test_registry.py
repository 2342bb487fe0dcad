"""The backend registry answers what the harness asks about a backend: its embedded store,
and whether its calls cross a network (``cinderdb.embedded_store``, ``engine_info``)."""

from __future__ import annotations

import contextlib

import pytest

from cinderdb import EMBEDDED_URLS, embedded_store, exception, open_backend, side_of


def test_each_side_has_an_embedded_store_of_its_own(tmp_path):
    for side in EMBEDDED_URLS:
        with embedded_store(side, str(tmp_path)) as url:
            assert side_of(url) == side
            with open_backend(url) as backend:
                backend.create_schema()
                backend.ping()
                assert backend.features.persistent


def test_the_embedded_magnetodb_server_stops_with_the_block(tmp_path):
    with embedded_store("magnetodb", str(tmp_path), durable=True) as url:
        backend = open_backend(url)
        backend.ping()
    with pytest.raises(exception.DBError):
        backend.ping()
    backend.close()


def test_the_embedded_sqlite_store_refuses_to_promise_fsync(tmp_path):
    with contextlib.ExitStack() as stack, pytest.raises(ValueError, match="fsync"):
        stack.enter_context(embedded_store("sql", str(tmp_path), durable=True))


def test_engine_info_says_whether_calls_cross_a_network(tmp_path):
    with embedded_store("sql", str(tmp_path)) as url, open_backend(url) as sqlite:
        assert sqlite.engine_info()["network"] is False
    with open_backend("magnetodb+inproc:///registry") as inproc:
        assert inproc.engine_info()["network"] is False
    with embedded_store("magnetodb", str(tmp_path)) as url, open_backend(url) as remote:
        assert remote.engine_info()["network"] is True
