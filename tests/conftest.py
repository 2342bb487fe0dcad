"""Fixtures every test package shares: the MariaDB server and per-session databases, a
MagnetoDB server, and the CI's short compare."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from bench.drive.scratch import scratch_database
from tests.provision import MYSQL_SERVER_URL
from tests.shortrun import ShortRun, design_compare, short_compare

# Property tests check behaviour, not speed: on a loaded 2-core CI machine the generation of
# an example can take seconds, which must not fail a test.
settings.register_profile(
    "cinderbench", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("cinderbench")


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
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A 3-node etcd cluster (Debian's etcd) for this session, always taken down; tests keep
    to their own key prefixes or projects. A test that kills a member restarts it."""
    from bench.drive.clusters.etcd import EtcdCluster

    with EtcdCluster(tmp_path_factory.mktemp("etcd"), size=3) as cluster:
        yield cluster


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
def magnetodb_etcd_server(etcd_cluster):
    """A MagnetoDB API server (2 workers) over the session's etcd cluster."""
    from magnetodb.server.process import ServerProcess

    endpoints = ",".join(etcd_cluster.endpoints)
    with ServerProcess(engine="etcd", etcd_endpoints=endpoints, workers=2) as server:
        yield server


@pytest.fixture(scope="session")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> ShortRun:
    """The results directory of the CI's short compare (``ci/compare.args``), made once."""
    return short_compare(tmp_path_factory)


@pytest.fixture(scope="session")
def design_run(tmp_path_factory: pytest.TempPathFactory) -> ShortRun:
    """The results directory of a short compare of two designs (``DESIGN_ARGS``), made once."""
    return design_compare(tmp_path_factory)


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
