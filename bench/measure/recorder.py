"""Where every measurement lands: HdrHistograms, outcomes and counters, mergeable.

One ``Series`` per (backend, kind, name), kind being ``op`` (a Cinder
operation) or ``call`` (a DB API function). A series keeps µs
HdrHistograms: the *service* time and, when the run is paced, the time since
the *intended* start (YCSB's coordinated-omission correction); the calling
thread's *cpu* time and, when the store reports it, the *store*'s own time
(``bench.measure.split``; an operation's are the sums over its calls); the outcomes
(ok / rejected by Cinder's rules / error, failures keyed by exception class)
and counter sums with their per-event minimum and maximum (statements, JOINs,
requests... a deterministic counter has min == max).

Per-second rows per backend (count, errors and a small histogram) give the
time series. ``snapshot()`` turns everything into JSON-able data with encoded
histograms; ``merge(snapshot)`` adds one in, so locust workers can send
deltas (``take_delta()``) and the master sums them, as locust's own
``StatsEntry.extend`` does.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from bench.locks import os_lock

#: Histogram range in µs: 1 µs to 1 h, 3 significant digits (µs resolution below 2 ms).
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
#: Per-second histograms only feed percentiles over time: 2 digits keep them small.
SECOND_DIGITS = 2


def new_histogram(digits: int = SIGNIFICANT_DIGITS) -> HdrHistogram:
    """An empty µs histogram with the range every series uses (so they merge)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def decode_histogram(encoded: str | bytes, digits: int = SIGNIFICANT_DIGITS) -> HdrHistogram:
    """A histogram from its ``encode()`` text (empty text: an empty histogram)."""
    histogram = new_histogram(digits)
    if encoded:
        histogram.decode_and_add(encoded)
    return histogram


_LAYOUTS: dict[tuple[int, int, int], tuple[Any, Any, Any]] = {}


def _layout(histogram: HdrHistogram) -> tuple[Any, Any, Any]:
    """Per counts index: lowest, highest and median equivalent value (hdrh's bucket math)."""
    import numpy as np

    key = (
        histogram.counts_len,
        histogram.sub_bucket_half_count_magnitude,
        histogram.unit_magnitude,
    )
    layout = _LAYOUTS.get(key)
    if layout is None:
        index = np.arange(histogram.counts_len, dtype=np.int64)
        bucket = (index >> histogram.sub_bucket_half_count_magnitude) - 1
        sub = (index & (histogram.sub_bucket_half_count - 1)) + histogram.sub_bucket_half_count
        first = bucket < 0
        sub[first] -= histogram.sub_bucket_half_count
        bucket[first] = 0
        lowest = sub << (bucket + histogram.unit_magnitude)
        size = np.left_shift(1, bucket + histogram.unit_magnitude)
        layout = _LAYOUTS[key] = (lowest, lowest + size - 1, lowest + (size >> 1))
    return layout


def summarize(
    histogram: HdrHistogram, percentiles: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)
) -> dict[str, Any] | None:
    """count, min, mean, stdev, percentiles and max, as hdrh computes them, in one numpy pass.

    hdrh's own ``get_mean_value``/``get_stddev`` walk a Python iterator over
    every bucket (a tenth of a second per histogram); a results file holds
    hundreds of histograms.
    """
    import numpy as np

    counts = np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len].astype(np.float64)
    total = int(histogram.get_total_count())
    if total == 0:
        return None
    lowest, highest, median = _layout(histogram)
    mean = float((counts * median).sum() / total)
    stdev = float(np.sqrt((counts * (median - mean) ** 2).sum() / total))
    cumulative = np.cumsum(counts)
    summary: dict[str, Any] = {
        "count": total,
        "min": histogram.get_min_value(),
        "mean": round(mean, 1),
        "stdev": round(stdev, 1),
    }
    for percentile in percentiles:
        target = max(int(min(percentile, 100.0) * total / 100 + 0.5), 1)
        index = int(np.searchsorted(cumulative, target, side="left"))
        summary[f"p{percentile:g}"] = int(highest[index] if percentile else lowest[index])
    summary["max"] = histogram.get_max_value()
    return summary


def _us(ns: int) -> int:
    return min(max(ns // 1000, 0), HIGHEST_US)


@dataclass
class Tally:
    """Outcomes and counters without latency (a call's share per caller context)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    #: counter name -> [sum, min, max, events that carried it]; an event without a
    #: counter counted 0 of it (see ``counter_stats``)
    counters: dict[str, list[int]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.outcomes.values())

    def add(self, outcome: str, failure: str | None, counters: dict[str, int] | None) -> None:
        self.outcomes[outcome] += 1
        if failure is not None:
            self.failures[failure] += 1
        if counters:
            self.add_counters(counters)

    def add_counters(self, counters: dict[str, int]) -> None:
        """Add one event's counters. A zero is skipped: an event that does not
        carry a counter counts 0 of it already (``counter_stats``)."""
        mine = self.counters
        for name, value in counters.items():
            if not value:
                continue
            entry = mine.get(name)
            if entry is None:
                mine[name] = [value, value, value, 1]
                continue
            entry[0] += value
            # comparisons, not min()/max(): this runs for every counter of every call
            if value < entry[1]:
                entry[1] = value
            elif value > entry[2]:
                entry[2] = value
            entry[3] += 1

    def counter_stats(self) -> dict[str, dict[str, float]]:
        """Per counter: sum, per-event mean, min and max (events without it count 0)."""
        count = self.count
        stats = {}
        for name, (total, low, high, carried) in sorted(self.counters.items()):
            absent = carried < count  # some events did not carry it: they counted 0
            stats[name] = {
                "sum": total,
                "mean": total / count if count else 0.0,
                "min": min(low, 0) if absent else low,
                "max": max(high, 0) if absent else high,
            }
        return stats

    def snapshot(self) -> dict[str, Any]:
        return {
            "outcomes": dict(self.outcomes),
            "failures": dict(self.failures),
            "counters": {name: list(entry) for name, entry in self.counters.items()},
        }

    def merge(self, data: dict[str, Any]) -> None:
        self.outcomes.update(data["outcomes"])
        self.failures.update(data["failures"])
        for name, (total, low, high, carried) in data["counters"].items():
            entry = self.counters.get(name)
            if entry is None:
                self.counters[name] = [total, low, high, carried]
            else:
                entry[0] += total
                entry[1] = min(entry[1], low)
                entry[2] = max(entry[2], high)
                entry[3] += carried


@dataclass
class Series(Tally):
    """Everything measured for one (backend, kind, name): a tally plus latency histograms."""

    service: HdrHistogram = field(default_factory=new_histogram)
    intended: HdrHistogram | None = None
    #: client CPU time of the calling thread (None when not measured)
    cpu: HdrHistogram | None = None
    #: the store's reported handling time (None when the store reports none)
    store: HdrHistogram | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "service": self.service.encode().decode("ascii"),
            **{
                name: histogram.encode().decode("ascii") if histogram is not None else None
                for name, histogram in self.optional().items()
            },
            **super().snapshot(),
        }

    def optional(self) -> dict[str, HdrHistogram | None]:
        """The histograms a run may not have, by name (``intended``, ``cpu``, ``store``)."""
        return {"intended": self.intended, "cpu": self.cpu, "store": self.store}

    def merge(self, data: dict[str, Any]) -> None:
        self.service.decode_and_add(data["service"])
        for name in ("intended", "cpu", "store"):
            if data.get(name):
                if getattr(self, name) is None:
                    setattr(self, name, new_histogram())
                getattr(self, name).decode_and_add(data[name])
        super().merge(data)


@dataclass
class Second:
    """One wall-clock second of one backend: operation outcomes and service times.

    Only the current second keeps a live histogram; a finished one keeps its
    encoding (a few hundred bytes instead of 27 KB), so long runs stay small.
    """

    outcomes: Counter[str] = field(default_factory=Counter)
    live: HdrHistogram | None = field(default_factory=lambda: new_histogram(SECOND_DIGITS))
    encoded: str | None = None

    @property
    def histogram(self) -> HdrHistogram:
        """The live histogram, reopened from its encoding if the second was closed."""
        if self.live is None:
            self.live = decode_histogram(self.encoded or "", SECOND_DIGITS)
            self.encoded = None
        return self.live

    def peek(self) -> HdrHistogram:
        """The second's histogram for reading, without reopening a closed second."""
        if self.live is not None:
            return self.live
        return decode_histogram(self.encoded or "", SECOND_DIGITS)

    def encode(self) -> str:
        if self.live is not None:
            return self.live.encode().decode("ascii")
        return self.encoded or ""

    def close(self) -> None:
        if self.live is not None:
            self.encoded, self.live = self.encode(), None


class Recorder:
    """Thread-safe sink of operation and call measurements for any number of backends."""

    def __init__(self) -> None:
        self._lock = os_lock()
        self.series: dict[tuple[str, str, str], Series] = {}
        self.seconds: dict[tuple[int, str], Second] = {}
        #: backend -> the second whose histogram is live
        self._open_second: dict[str, int] = {}
        #: (backend, DB API function, "admin" | "user") -> outcomes and counters
        self.contexts: dict[tuple[str, str, str], Tally] = {}
        #: operations the planner skipped (no eligible target), by name
        self.skipped: Counter[str] = Counter()
        #: operations whose outcome differed between backends, by name
        self.divergent: Counter[str] = Counter()

    def _series(self, backend: str, kind: str, name: str) -> Series:
        key = (backend, kind, name)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series()
        return series

    def record(
        self,
        backend: str,
        kind: str,
        name: str,
        service_ns: int,
        lag_ns: int | None,
        outcome: str,
        failure: str | None = None,
        counters: dict[str, int] | None = None,
        context: str | None = None,
        cpu_ns: int | None = None,
        store_ns: int | None = None,
    ) -> None:
        """One operation (``kind='op'``) or DB API call (``kind='call'``) on one backend.

        ``lag_ns`` is how late the enclosing operation started against its
        intended start (None when the run is not paced); the intended-start
        latency is ``service + lag``. ``context`` (``admin``/``user``) also
        tallies a call's outcome and counters per caller kind: Cinder's query
        shapes differ by it (admin metadata is joined for admins only).
        ``cpu_ns`` and ``store_ns`` are the client CPU and the store's reported
        time (``bench.measure.split``), None when not measured.
        """
        service_us = _us(service_ns)
        with self._lock:
            series = self._series(backend, kind, name)
            series.add(outcome, failure, counters)
            series.service.record_value(service_us)
            if lag_ns is not None:
                if series.intended is None:
                    series.intended = new_histogram()
                series.intended.record_value(_us(service_ns + max(lag_ns, 0)))
            if cpu_ns is not None:
                if series.cpu is None:
                    series.cpu = new_histogram()
                series.cpu.record_value(_us(cpu_ns))
            if store_ns is not None:
                if series.store is None:
                    series.store = new_histogram()
                series.store.record_value(_us(store_ns))
            if context is not None:
                tally = self.contexts.get((backend, name, context))
                if tally is None:
                    tally = self.contexts[(backend, name, context)] = Tally()
                tally.add(outcome, failure, counters)
            if kind == "op":
                now = int(time.time())
                second = self.seconds.get((now, backend))
                if second is None:
                    previous = self._open_second.get(backend)
                    if previous is not None and previous != now:
                        self.seconds[(previous, backend)].close()
                    self._open_second[backend] = now
                    second = self.seconds[(now, backend)] = Second()
                second.outcomes[outcome] += 1
                second.histogram.record_value(service_us)

    def note_skipped(self, op: str) -> None:
        with self._lock:
            self.skipped[op] += 1

    def note_divergent(self, op: str) -> None:
        with self._lock:
            self.divergent[op] += 1

    # ----------------------------------------------------------- transport

    def snapshot(self) -> dict[str, Any]:
        """Everything recorded, as JSON-able data (histograms encoded)."""
        with self._lock:
            return {
                "series": [
                    {"backend": b, "kind": k, "name": n, **series.snapshot()}
                    for (b, k, n), series in sorted(self.series.items())
                ],
                "seconds": [
                    {
                        "second": second_at,
                        "backend": backend,
                        "outcomes": dict(second.outcomes),
                        "histogram": second.encode(),
                    }
                    for (second_at, backend), second in sorted(self.seconds.items())
                ],
                "contexts": [
                    {"backend": b, "name": n, "context": c, **tally.snapshot()}
                    for (b, n, c), tally in sorted(self.contexts.items())
                ],
                "skipped": dict(self.skipped),
                "divergent": dict(self.divergent),
            }

    def merge(self, snapshot: dict[str, Any]) -> None:
        """Add another recorder's ``snapshot()`` (a locust worker's delta) into this one."""
        with self._lock:
            for entry in snapshot["series"]:
                self._series(entry["backend"], entry["kind"], entry["name"]).merge(entry)
            for entry in snapshot["seconds"]:
                key = (entry["second"], entry["backend"])
                second = self.seconds.get(key)
                if second is None:
                    second = self.seconds[key] = Second()
                second.outcomes.update(entry["outcomes"])
                if entry["histogram"]:
                    second.histogram.decode_and_add(entry["histogram"])
                second.close()
            for entry in snapshot.get("contexts", []):
                key = (entry["backend"], entry["name"], entry["context"])
                self.contexts.setdefault(key, Tally()).merge(entry)
            self.skipped.update(snapshot.get("skipped", {}))
            self.divergent.update(snapshot.get("divergent", {}))

    def take_delta(self) -> dict[str, Any]:
        """``snapshot()`` and reset, atomically: what changed since the last delta."""
        with self._lock:
            series, seconds, contexts = self.series, self.seconds, self.contexts
            skipped, divergent = self.skipped, self.divergent
            self.series, self.seconds, self.contexts = {}, {}, {}
            self._open_second = {}
            self.skipped, self.divergent = Counter(), Counter()
        delta = Recorder()
        delta.series, delta.seconds, delta.contexts = series, seconds, contexts
        delta.skipped, delta.divergent = skipped, divergent
        return delta.snapshot()

    def backends(self) -> list[str]:
        with self._lock:
            return sorted({backend for backend, _, _ in self.series})
