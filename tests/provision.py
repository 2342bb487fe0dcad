"""How each backend is made fresh for one test, keyed by name (SQLAlchemy ``provision`` style).

Each provisioner is a context manager yielding a backend with an empty schema
(plus the seeded default quota class). Backends that are expensive to create
(a MySQL database, a MagnetoDB server) are made once per session by a fixture
and emptied between tests.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from bench.drive.scratch import server_url
from cinderdb import open_backend
from cinderdb.base import Backend

#: Where the MySQL tests find a server; the database name is made per session.
MYSQL_SERVER_URL = server_url()

#: Every backend the contract suite runs on by default; CINDERBENCH_TEST_BACKENDS
#: may name fewer, or add an opt-in one. ``NAME:DESIGN``: the MagnetoDB backend on
#: another design than the seed's (``cinderdb/magneto/designs.py``).
ALL_BACKENDS = (
    "sqlite",
    "mysql",
    "magnetodb+inproc",
    "magnetodb",
    "magnetodb+inproc:improved",
    "magnetodb:improved",
)
#: Backends that run only when CINDERBENCH_TEST_BACKENDS names them: the MagnetoDB
#: server over a 3-node etcd cluster, and the SQL backend on a 3-node Galera cluster
#: (their own CI tests always run; the whole suite on one takes minutes).
OPT_IN_BACKENDS = ("magnetodb+etcd", "galera")


def selected_backends() -> list[str]:
    wanted = os.environ.get("CINDERBENCH_TEST_BACKENDS")
    if not wanted:
        return list(ALL_BACKENDS)
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    known = ALL_BACKENDS + OPT_IN_BACKENDS
    unknown = set(names) - set(known)
    if unknown:
        raise pytest.UsageError(f"unknown test backends {sorted(unknown)}; known: {known}")
    return names


@contextlib.contextmanager
def _sqlite(request: pytest.FixtureRequest) -> Iterator[Backend]:
    # A file, not memory: the embedded default is a file, and threads need one.
    path = request.getfixturevalue("tmp_path") / "cinder.sqlite"
    backend = open_backend(f"sqlite:///{path}")
    backend.create_schema()
    try:
        yield backend
    finally:
        backend.close()


@contextlib.contextmanager
def _mysql(request: pytest.FixtureRequest) -> Iterator[Backend]:
    yield _emptied(request.getfixturevalue("mysql_backend"))


@contextlib.contextmanager
def _galera(request: pytest.FixtureRequest) -> Iterator[Backend]:
    # One database on the session's Galera cluster (one writer), emptied between tests.
    yield _emptied(request.getfixturevalue("galera_backend"))


def _emptied(backend: Backend) -> Backend:
    """A session's MySQL backend with every table emptied and the default class re-seeded."""
    from cinderdb.sql import models

    with backend.engine.begin() as connection:
        # quality_of_service_specs references itself; InnoDB checks row by row.
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for table in reversed(models.Base.metadata.sorted_tables):
            connection.execute(table.delete())
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    backend.create_schema()  # re-seeds the default quota class
    return backend


@contextlib.contextmanager
def _magnetodb_inproc(request: pytest.FixtureRequest, design: str = "seed") -> Iterator[Backend]:
    # a new in-memory store each time
    backend = open_backend(f"magnetodb+inproc:///cinder?design={design}")
    backend.create_schema()
    try:
        yield backend
    finally:
        backend.close()


@contextlib.contextmanager
def _magnetodb_http(request: pytest.FixtureRequest, design: str = "seed") -> Iterator[Backend]:
    # One server per session; a fresh project (its own tables) per test.
    server_url = request.getfixturevalue("magnetodb_server_url")
    project = "t" + uuid.uuid4().hex[:12]
    host = server_url.removeprefix("http://")
    backend = open_backend(f"magnetodb://{host}/{project}?design={design}")
    backend.create_schema()
    try:
        yield backend
    finally:
        backend.drop_schema()
        backend.close()


@contextlib.contextmanager
def _magnetodb_etcd(request: pytest.FixtureRequest) -> Iterator[Backend]:
    # One API server over the session's etcd cluster; a fresh project per test.
    server = request.getfixturevalue("magnetodb_etcd_server")
    project = "t" + uuid.uuid4().hex[:12]
    backend = open_backend(f"magnetodb://{server.url.removeprefix('http://')}/{project}")
    backend.create_schema()
    try:
        yield backend
    finally:
        backend.drop_schema()
        backend.close()


PROVISIONERS: dict[str, Callable[[pytest.FixtureRequest], AbstractContextManager[Backend]]] = {
    "sqlite": _sqlite,
    "mysql": _mysql,
    "magnetodb+inproc": _magnetodb_inproc,
    "magnetodb": _magnetodb_http,
    "magnetodb+inproc:improved": functools.partial(_magnetodb_inproc, design="improved"),
    "magnetodb:improved": functools.partial(_magnetodb_http, design="improved"),
    "magnetodb+etcd": _magnetodb_etcd,
    "galera": _galera,
}
