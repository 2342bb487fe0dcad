"""A MagnetoDB server started next to a SQL backend (``cinderbench compare``, locust's
embedded one) matches the SQL side's durability."""

from __future__ import annotations

import pytest

from bench.drive.scratch import admin_connection, magnetodb_durability
from cinderdb import open_backend
from tests.provision import MYSQL_SERVER_URL


def test_sqlite_side_means_no_fsync(tmp_path):
    sync, why = magnetodb_durability(f"sqlite:///{tmp_path}/c.sqlite", "auto")
    assert sync is False
    assert "as the SQL side (sqlite synchronous=NORMAL)" in why


def test_mysql_side_is_matched(mysql_database_url):
    connection = admin_connection(MYSQL_SERVER_URL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@innodb_flush_log_at_trx_commit")
        flush = int(cursor.fetchone()[0])
    connection.close()
    with open_backend(mysql_database_url) as backend:
        assert backend.durable_commits() is (flush == 1)
    sync, why = magnetodb_durability(mysql_database_url, "auto")
    assert sync is (flush == 1)
    assert f"as the SQL side (mysql innodb_flush_log_at_trx_commit={flush})" in why


@pytest.mark.parametrize(("choice", "expected"), [("on", True), ("off", False)])
def test_an_explicit_choice_wins(tmp_path, choice, expected):
    assert magnetodb_durability(f"sqlite:///{tmp_path}/c.sqlite", choice)[0] is expected
    assert magnetodb_durability(f"{MYSQL_SERVER_URL}/whatever", choice)[0] is expected


def test_without_a_sql_side_the_server_default_applies():
    assert magnetodb_durability(None)[0] is False
    with pytest.raises(ValueError, match="fsync choice"):
        magnetodb_durability(None, "sometimes")
