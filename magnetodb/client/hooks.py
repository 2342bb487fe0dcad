"""``RequestStats``: what a client hook receives after every request."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestStats:
    """One request as the measurement layer sees it.

    ``bytes_sent``/``bytes_received`` count JSON bodies (not HTTP framing);
    ``items_read`` is items returned by get/query/batch_get and items scanned
    by scan; ``items_written`` is 1 for a successful put/update/delete and the
    processed requests of a batch_write, and ``written_by_table`` splits those
    writes by table (a batch may span several); ``status`` is 0 when the
    transport failed. ``handling_us`` is the store's own time for the request
    (its ``X-Magnetodb-Handling-Time`` header; None when the server did not say).
    """

    operation: str
    table: str | None
    status: int
    items_read: int = 0
    items_written: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    conditional_check_failed: bool = False
    error_type: str | None = None
    duration_ns: int = 0
    written_by_table: dict[str, int] = field(default_factory=dict)
    handling_us: int | None = None


class StatsCollector:
    """A ready-made hook: keeps totals per operation (handy in tests and tools)."""

    def __init__(self) -> None:
        self.calls: list[RequestStats] = []

    def __call__(self, stats: RequestStats) -> None:
        self.calls.append(stats)

    def total(self, field: str, operation: str | None = None) -> int:
        return sum(
            int(getattr(s, field))
            for s in self.calls
            if operation is None or s.operation == operation
        )
