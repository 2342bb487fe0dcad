"""What the SQL backend can do (``cinderdb.base.Features``), per URL."""

from __future__ import annotations

import dataclasses

from sqlalchemy.engine import make_url

from cinderdb.base import Features

#: The schema's capabilities, whatever the engine.
FEATURES = Features(
    transactions=True,
    select_for_update=True,
    secondary_indexes=True,
    atomic_multi_item_write=True,
    server_side_filter=True,
)


def features_for(url: str) -> Features:
    """SQLite calls never leave the process; a memory database is one process's own.
    MySQL compares text with the schema's case-insensitive collation, SQLite exactly."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    mysql = parsed.get_backend_name() == "mysql"
    in_memory = sqlite and parsed.database in (None, "", ":memory:")
    return dataclasses.replace(
        FEATURES,
        multi_process=not in_memory,
        persistent=not in_memory,
        waits_on_network=not sqlite,
        case_insensitive_names=mysql,
    )
