"""What the SQL backend can do (``cinderdb.base.Features``), per URL."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from cinderdb.base import Features
from cinderdb.sql import galera


def features_for(url: str) -> Features:
    """SQLite calls never leave the process; a memory database is one process's own.
    MySQL compares text with the schema's case-insensitive collation, SQLite exactly. A
    Galera URL (several nodes, ``cinderdb.sql.galera``) is parsed here first, so a
    malformed one is refused before anything connects."""
    if galera.parse(url) is not None:
        return Features(
            multi_process=True,
            persistent=True,
            waits_on_network=True,
            case_insensitive_names=True,
        )
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    mysql = parsed.get_backend_name() == "mysql"
    in_memory = sqlite and parsed.database in (None, "", ":memory:")
    return Features(
        multi_process=not in_memory,
        persistent=not in_memory,
        waits_on_network=not sqlite,
        case_insensitive_names=mysql,
    )
