"""A logical clock for replays: every backend reads the same "now".

Both backends take ``created_at``, ``updated_at``, ``deleted_at`` (and the
"now" of reservation expiry and stale name claims) from
``cinderdb.records.utcnow``. Replayed on two backends, their clocks would
differ by the time between the two executions, and every timestamp, every
``created_at`` sort and every expiry would be noise. ``logical_clock()``
swaps ``utcnow`` in the ``cinderdb`` modules for a clock the replayer sets to
the logged start time of each operation, so timestamps compare exactly and
the replay sees the run's own timeline (expiries fall where they fell).

The swap is process-wide while the context is open: replay is single-threaded
and nothing else should call the DB API meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Iterator

from cinderdb import records


class LogicalClock:
    """``utcnow`` replacement: the time last ``set``, or the wall clock before any."""

    def __init__(self) -> None:
        self.now: dt.datetime | None = None

    def set(self, epoch: float) -> None:
        """Read ``epoch`` (Unix seconds) from now on, truncated to whole seconds."""
        stamp = dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None, microsecond=0)
        self.now = stamp

    def __call__(self) -> dt.datetime:
        return self.now if self.now is not None else _wall()


_wall = records.utcnow


@contextlib.contextmanager
def logical_clock() -> Iterator[LogicalClock]:
    """Swap ``utcnow`` in every loaded ``cinderdb`` module; restore it on exit.

    A ``cinderdb`` module first imported while the clock is on takes the clock
    from ``cinderdb.records`` (swapped too); it is restored on exit as well.
    """
    clock = LogicalClock()
    for module in _cinderdb_modules(_wall):
        module.utcnow = clock  # type: ignore[attr-defined]
    try:
        yield clock
    finally:
        for module in _cinderdb_modules(clock):
            module.utcnow = _wall  # type: ignore[attr-defined]


def _cinderdb_modules(holding: object) -> list:
    return [
        module
        for name, module in list(sys.modules.items())
        if name.split(".")[0] == "cinderdb" and getattr(module, "utcnow", None) is holding
    ]
