"""The round-trip floor: what one trivial request costs each backend, whatever the design does.

A MagnetoDB operation makes several HTTP requests and each pays the client,
a TCP round trip and the server's parser; a SQL operation pays the driver and
the server for each statement. Timing N trivial round trips through the very
objects the run used (MagnetoDB: ``get_item`` of a key that does not exist,
through the backend's own client; SQL: ``SELECT 1`` on the backend's own
engine) gives a floor per round trip. The report multiplies it by each
operation's round trips, so transport cost is not mistaken for data-model
cost (YCSB's ``BasicDB`` measures the harness floor the same way).

Recorded in run.json as ``"floor": {label: {"probe", "n", "min_us", "p50_us",
"p90_us", "mean_us"}}`` and read with ``Results.floor``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from cinderdb.base import Backend

#: Timed round trips per backend, after WARMUP untimed ones.
ROUND_TRIPS = 200
WARMUP = 20


def measure(backend: Backend, round_trips: int = ROUND_TRIPS) -> dict[str, Any]:
    """The floor of one backend (µs), timed on its own ``round_trip_probe``."""
    probe = backend.round_trip_probe()
    name, once, close = probe.name, probe.once, probe.close
    try:
        for _ in range(WARMUP):
            once()
        samples = []
        for _ in range(round_trips):
            started = time.perf_counter_ns()
            once()
            samples.append((time.perf_counter_ns() - started) / 1000.0)
    finally:
        close()
    samples.sort()
    return {
        "probe": name,
        "n": round_trips,
        "min_us": round(samples[0], 1),
        "p50_us": round(statistics.median(samples), 1),
        "p90_us": round(samples[int(0.9 * (len(samples) - 1))], 1),
        "mean_us": round(statistics.fmean(samples), 1),
    }


def measure_floor(
    backends: Sequence[tuple[str, Backend]], round_trips: int = ROUND_TRIPS
) -> dict[str, Any]:
    """``{label: floor}`` for every backend (run.json's ``floor``)."""
    return {label: measure(backend, round_trips) for label, backend in backends}
