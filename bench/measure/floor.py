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
from collections.abc import Callable, Sequence
from typing import Any

#: Timed round trips per backend, after WARMUP untimed ones.
ROUND_TRIPS = 200
WARMUP = 20
#: A key no dataset creates.
MISSING_KEY = "cinderbench-floor-missing-key"


def _sql_probe(backend: Any) -> tuple[str, Callable[[], None], Callable[[], None]]:
    connection = backend.engine.connect()

    def once() -> None:
        connection.exec_driver_sql("SELECT 1").scalar()

    return "SELECT 1", once, connection.close


def _magnetodb_probe(backend: Any) -> tuple[str, Callable[[], None], Callable[[], None]]:
    def once() -> None:
        backend.get("volumes", MISSING_KEY)

    return "get_item of a missing key", once, lambda: None


PROBES = {"sql": _sql_probe, "magnetodb": _magnetodb_probe}


def measure(backend: Any, round_trips: int = ROUND_TRIPS) -> dict[str, Any] | None:
    """The floor of one backend (µs), or None for a kind without a probe."""
    probe = PROBES.get(getattr(backend, "name", ""))
    if probe is None:
        return None
    name, once, close = probe(backend)
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
    backends: Sequence[tuple[str, Any]], round_trips: int = ROUND_TRIPS
) -> dict[str, Any]:
    """``{label: floor}`` for every backend that has a probe (run.json's ``floor``)."""
    floors = {}
    for label, backend in backends:
        floor = measure(backend, round_trips)
        if floor is not None:
            floors[label] = floor
    return floors
