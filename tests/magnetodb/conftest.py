"""Fixtures: a real LMDB server (2 workers) per test session, and clients of both kinds.

Each test gets its own project id, so tests never see each other's tables even
though they share one server.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from magnetodb.client import MagnetoClient, connect, connect_inproc
from magnetodb.server.process import ServerProcess
from tests.magnetodb.support import new_project
from tests.provision import selected_backends


@pytest.fixture(scope="session")
def lmdb_server() -> Iterator[ServerProcess]:
    """One LMDB server with 2 worker processes for the whole session."""
    with tempfile.TemporaryDirectory(prefix="mdb-test-") as d:
        srv = ServerProcess(os.path.join(d, "data"), workers=2)
        with srv:
            yield srv


#: the server fixture for tests that need a real multi-worker server: LMDB and etcd, always
SERVERS = {"lmdb": "lmdb_server", "etcd": "magnetodb_etcd_server"}
#: the client fixture's servers (None: in-process, memory): HTTP to the LMDB server and,
#: when CINDERBENCH_TEST_BACKENDS names magnetodb+etcd, HTTP to the server over etcd
CLIENT_SERVERS = {"inproc": None, "http": SERVERS["lmdb"]}
if "magnetodb+etcd" in selected_backends():
    CLIENT_SERVERS["etcd"] = SERVERS["etcd"]


@pytest.fixture(params=list(CLIENT_SERVERS))
def client(request: pytest.FixtureRequest) -> Iterator[MagnetoClient]:
    """The same tests against the in-process client and HTTP to the LMDB server (and etcd)."""
    project = new_project()
    server = CLIENT_SERVERS[request.param]
    if server is None:
        c = connect_inproc(project)
    else:
        c = connect(request.getfixturevalue(server).url, project)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> ServerProcess:
    """A real server with 2 workers, on each engine that several processes share."""
    return request.getfixturevalue(SERVERS[request.param])


@pytest.fixture
def http_client(lmdb_server: ServerProcess) -> Iterator[MagnetoClient]:
    c = connect(lmdb_server.url, new_project())
    try:
        yield c
    finally:
        c.close()
