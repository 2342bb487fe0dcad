"""Fixtures every test package shares: the MariaDB server and per-session databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

#: Where the MySQL tests find a server; the database name is made per session.
MYSQL_SERVER_URL = os.environ.get("CINDERBENCH_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")


def _mysql_admin_connection():
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(MYSQL_SERVER_URL)
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        autocommit=True,
    )


@pytest.fixture(scope="session")
def mysql_database_url() -> Iterator[str]:
    """A MySQL URL to a database made for this test session (and xdist worker), dropped after.

    No skip: CI guarantees a reachable MariaDB, and a silent skip would hide
    that the relational side was never tested.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"cbtest_{worker}_{uuid.uuid4().hex[:10]}"
    connection = _mysql_admin_connection()
    try:
        connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield f"{MYSQL_SERVER_URL.rstrip('/')}/{name}?charset=utf8mb4"
    finally:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


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
