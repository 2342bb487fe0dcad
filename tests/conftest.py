"""Fixtures every test package shares: the MariaDB server and per-session databases."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bench.drive.scratch import scratch_database
from tests.provision import MYSQL_SERVER_URL


@pytest.fixture(scope="session")
def mysql_database_url() -> Iterator[str]:
    """A MySQL URL to a database made for this test session (and xdist worker), dropped after.

    No skip: CI guarantees a reachable MariaDB, and a silent skip would hide
    that the relational side was never tested.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with scratch_database(MYSQL_SERVER_URL, prefix=f"cbtest_{worker}") as url:
        yield url


@pytest.fixture(scope="session")
def mysql_backend(mysql_database_url: str):
    """One SQL backend on this session's MySQL database; tests empty it between them."""
    from cinderdb import open_backend

    backend = open_backend(mysql_database_url)
    backend.create_schema()
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def magnetodb_server_url(tmp_path_factory: pytest.TempPathFactory):
    """A MagnetoDB server (LMDB, 2 workers) for this session; tests use their own projects."""
    from magnetodb.server.process import ServerProcess

    data_dir = tmp_path_factory.mktemp("magnetodb")
    with ServerProcess(str(data_dir), workers=2) as server:
        yield server.url


@pytest.fixture(scope="session")
def galera_cluster():
    """A 3-node MariaDB Galera cluster for this session (a unique root under /tmp, where its
    nodes' service user reaches it), always taken down. A test that kills a node restarts it;
    tests keep to databases of their own."""
    from bench.drive.clusters import new_root
    from bench.drive.clusters.galera import GaleraCluster

    with GaleraCluster(new_root("sql"), size=3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def galera_database_url(galera_cluster) -> Iterator[str]:
    """A one-writer URL of the session's cluster naming a database of this session (and
    xdist worker), dropped after."""
    import uuid

    from cinderdb.sql import galera
    from cinderdb.sql.core import drop_mysql_database

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    nodes = galera.parse(galera_cluster.backend_url())
    nodes = nodes.with_database(f"cbtest_{worker}_{uuid.uuid4().hex[:8]}")
    yield nodes.render(hide_password=False)
    drop_mysql_database(galera.first_live_url(nodes))


@pytest.fixture(scope="session")
def galera_backend(galera_database_url: str):
    """One SQL backend on this session's Galera database; tests empty it between them."""
    from cinderdb import open_backend

    backend = open_backend(galera_database_url)
    backend.create_schema()
    yield backend
    backend.close()
