"""What the SQL backend can do (``cinderdb.base.Features``), per URL."""

from __future__ import annotations

import dataclasses

from sqlalchemy.engine import make_url

from cinderdb.base import Features
from cinderdb.sql import galera

#: The schema's capabilities, whatever the engine.
FEATURES = Features(
    transactions=True,
    select_for_update=True,
    secondary_indexes=True,
    atomic_multi_item_write=True,
    server_side_filter=True,
)


def features_for(url: str) -> Features:
    """SQLite calls never leave the process; a memory database is one process's own. A
    Galera URL (several nodes, ``cinderdb.sql.galera``) is parsed here first, so a
    malformed one is refused before anything connects."""
    if galera.parse(url) is not None:
        return dataclasses.replace(
            FEATURES, multi_process=True, persistent=True, waits_on_network=True
        )
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    in_memory = sqlite and parsed.database in (None, "", ":memory:")
    return dataclasses.replace(
        FEATURES,
        multi_process=not in_memory,
        persistent=not in_memory,
        waits_on_network=not sqlite,
    )
