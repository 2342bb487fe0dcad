"""The SQL backend's schema on a real MySQL server: a fresh server has no database yet."""

from __future__ import annotations

import uuid

import pytest

from bench.drive.scratch import admin_connection
from cinderdb import get_admin_context, open_backend
from tests.provision import MYSQL_SERVER_URL


def _databases(prefix: str) -> list[str]:
    connection = admin_connection(MYSQL_SERVER_URL)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES LIKE %s", (prefix + "%",))
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


@pytest.fixture
def missing_database_url():
    """A URL naming a database the server does not have; whatever the test made is dropped."""
    name = f"cbtest_missing_{uuid.uuid4().hex[:10]}"
    yield f"{MYSQL_SERVER_URL}/{name}", name
    connection = admin_connection(MYSQL_SERVER_URL)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    connection.close()


def test_create_schema_creates_a_missing_database(missing_database_url):
    url, name = missing_database_url
    backend = open_backend(url)
    try:
        backend.drop_schema()  # nothing to drop: not an error
        assert _databases(name) == []
        backend.create_schema()
        assert _databases(name) == [name]
        assert backend.quota_class_get_default(get_admin_context())["volumes"] == 10
        backend.create_schema()  # idempotent, data kept
        assert backend.quota_class_get_default(get_admin_context())["volumes"] == 10
    finally:
        backend.close()


def test_other_connection_errors_are_still_raised(missing_database_url):
    """Only "unknown database" is forgiven: a wrong user still fails, as a DBError."""
    from cinderdb.exception import DBError

    url, _ = missing_database_url
    backend = open_backend(url.replace("root@", "no_such_user_cb@"))
    try:
        with pytest.raises(DBError):
            backend.drop_schema()
        with pytest.raises(DBError):
            backend.create_schema()
    finally:
        backend.close()


def test_a_server_without_the_database_answers_the_ping(missing_database_url):
    """``run`` and ``compare`` ping every backend before loading (``cinderbench.checks``):
    a server that lacks the database answers, and the load creates it."""
    from cinderdb.exception import DBError

    url, name = missing_database_url
    backend = open_backend(url)
    try:
        backend.ping()
        assert _databases(name) == []
    finally:
        backend.close()
    stranger = open_backend(url.replace("root@", "no_such_user_cb@"))
    try:
        with pytest.raises(DBError):
            stranger.ping()
    finally:
        stranger.close()
