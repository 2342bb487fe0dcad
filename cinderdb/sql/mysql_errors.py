"""MySQL error numbers that mean something to the backend, as oslo.db's exception filters
(Liberty's ``oslo_db.sqlalchemy.exc_filters``) classify them."""

from __future__ import annotations

from typing import Any

#: ``DBDeadlock``: a deadlock victim (Galera reports a certification failure as one, at
#: commit) and a lock wait timeout. Liberty's ``_retry_on_deadlock`` retries these.
DEADLOCK_ERRORS = frozenset({1213, 1205})
#: ``DBConnectionError``: can't connect (2002, 2003), server gone (2006), connection lost
#: mid-query (2013), and Galera's "WSREP has not yet prepared node for application use"
#: (1047: a node outside the primary component).
CONNECTION_ERRORS = frozenset({2002, 2003, 2006, 2013, 1047})


def error_code(error: Any) -> int | None:
    """The MySQL error number of a driver error, or of the driver error a SQLAlchemy
    error wraps (None when it carries none)."""
    args = getattr(getattr(error, "orig", error), "args", ())
    return args[0] if args and isinstance(args[0], int) else None
