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


@pytest.fixture(scope="session")
def lmdb_server() -> Iterator[ServerProcess]:
    """One LMDB server with 2 worker processes for the whole session."""
    with tempfile.TemporaryDirectory(prefix="mdb-test-") as d:
        srv = ServerProcess(os.path.join(d, "data"), workers=2)
        with srv:
            yield srv


@pytest.fixture(params=["inproc", "http"])
def client(request: pytest.FixtureRequest) -> Iterator[MagnetoClient]:
    """The same tests against the in-process client and HTTP to the LMDB server."""
    project = new_project()
    if request.param == "inproc":
        c = connect_inproc(project)
    else:
        c = connect(request.getfixturevalue("lmdb_server").url, project)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def http_client(lmdb_server: ServerProcess) -> Iterator[MagnetoClient]:
    c = connect(lmdb_server.url, new_project())
    try:
        yield c
    finally:
        c.close()
