"""The intended-start schedule of a paced driver (YCSB's ``throttleNanos``).

Operation ``k`` of a driver is meant to start at ``start + (k + offset) * interval``;
waiting for that moment keeps the rate, and the lag behind it is the
intended-start latency recorded next to the service time (coordinated omission).
``cinderbench run``'s threads and the locust users use the same schedule.
"""

from __future__ import annotations

import time


class Schedule:
    """When operation ``k`` should start, for one driver at ``pace`` operations/s."""

    def __init__(self, pace: float, start_ns: int | None = None, offset: float = 0.0) -> None:
        if pace <= 0:
            raise ValueError(f"a pace is a positive rate, not {pace}")
        self.interval_ns = 1e9 / pace
        self.start_ns = time.perf_counter_ns() if start_ns is None else start_ns
        #: a fraction of an interval: drivers sharing a start spread over it
        self.offset = offset

    def intended_ns(self, k: int) -> int:
        """The ``perf_counter_ns`` time operation ``k`` (0-based) should start."""
        return self.start_ns + int((k + self.offset) * self.interval_ns)

    def delay(self, k: int) -> float:
        """Seconds until operation ``k`` is due (0 when it is late)."""
        return max(0.0, (self.intended_ns(k) - time.perf_counter_ns()) / 1e9)
