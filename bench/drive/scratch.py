"""Throw-away MySQL databases for benchmarks and tests, and the durability an embedded
MagnetoDB server matches.

Every command that needs "a fresh database on the local MySQL" gets it here, and
it is always dropped afterwards. A store of a design's own (the embedded default)
is the backend's to make: ``cinderdb.embedded_store``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

#: The server scratch databases go to, unless a URL or CINDERBENCH_MYSQL_URL says otherwise.
DEFAULT_SERVER_URL = "mysql+pymysql://root@127.0.0.1:3306"


def server_url() -> str:
    """The MySQL server URL (no database): ``CINDERBENCH_MYSQL_URL`` or the local default."""
    return os.environ.get("CINDERBENCH_MYSQL_URL", DEFAULT_SERVER_URL)


def admin_connection(url: str, timeout: float | None = None):
    """An autocommit PyMySQL connection to the server of ``url`` (its database part unused)."""
    import pymysql
    from sqlalchemy.engine import make_url

    server = make_url(url)
    return pymysql.connect(
        host=server.host or "127.0.0.1",
        port=server.port or 3306,
        user=server.username or "root",
        password=server.password or "",
        autocommit=True,
        connect_timeout=timeout or 10,
    )


def mysql_reachable(url: str | None = None, timeout: float = 3.0) -> bool:
    """Whether a MySQL/MariaDB server answers at ``url`` (default: ``server_url()``)."""
    import pymysql

    try:
        admin_connection(url or server_url(), timeout).close()
    except pymysql.MySQLError:
        return False
    return True


@contextlib.contextmanager
def scratch_database(url: str | None = None, prefix: str = "cinderbench") -> Iterator[str]:
    """A new, uniquely named utf8mb4 database on the server of ``url``; yields its URL.

    Any database part of ``url`` is ignored: only the server is used. The
    database is dropped on exit, whatever happened.
    """
    from sqlalchemy.engine import make_url

    from cinderdb.sql.core import create_mysql_database

    server = make_url(url or server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    database = server.set(database=name, query={"charset": "utf8mb4"})
    admin = admin_connection(server.render_as_string(hide_password=False))
    try:
        create_mysql_database(database)
        yield database.render_as_string(hide_password=False)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


#: ``--magnetodb-fsync`` values: match the SQL side, or force it.
FSYNC_CHOICES = ("auto", "on", "off")


def magnetodb_durability(sql_url: str | None, choice: str = "auto") -> tuple[bool, str]:
    """Whether a MagnetoDB server started next to ``sql_url`` fsyncs every commit, and why.

    ``auto`` matches the SQL side, so the comparison does not credit one design
    with a guarantee the other pays for: MySQL at its default
    ``innodb_flush_log_at_trx_commit=1`` makes each commit survive power loss, so
    LMDB fsyncs too; file SQLite (WAL, ``synchronous=NORMAL``) survives a crash
    of the process only, and so does LMDB without fsync.
    """
    if choice not in FSYNC_CHOICES:
        raise ValueError(f"fsync choice must be one of {', '.join(FSYNC_CHOICES)}, not {choice!r}")
    if choice == "on":
        return True, "fsync per commit, as asked"
    if choice == "off":
        return False, "no fsync per commit, as asked: survives a process crash, not power loss"
    if sql_url is None:
        return False, "no fsync per commit, the server's default: survives a process crash"
    from cinderdb import open_backend

    with open_backend(sql_url) as sql:
        durable, engine = sql.durable_commits(), sql.engine_info()
    setting = f"{engine.get('engine')} {engine.get('durability')}"
    if durable:
        return True, f"fsync per commit, as the SQL side ({setting})"
    return False, f"no fsync per commit: survives a process crash, as the SQL side ({setting})"
