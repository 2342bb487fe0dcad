"""The results directory: written once by a run, read by everything else through ``load_results``.

The format is documented in ``docs/results-format.md``. Reports, gates,
validators and the locust workloads read runs only through ``load_results``
(YCSB's exporter split: measurements go to one file format, readers never
touch live objects).

Files::

    run.json            what ran: parameters, dataset, backends and engines, versions, git, machine
    operations.json     per Cinder operation and backend: outcomes, latency summary, counters
    calls.json          the same per DB API function
    histograms.json     every HdrHistogram, encoded (µs), for exact percentiles and merging
    comparison.json     per operation: the paired latency ratio of each arm to its baseline arm
    timeseries.csv      per second and backend: operations, outcomes, latency percentiles
    oplog.jsonl         one line per planned operation, every DB call with its arguments
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from bench.measure.counters import MAGNETO_COUNTERS, SQL_COUNTERS
from bench.measure.oplog import read_oplog
from bench.measure.outcomes import ERROR, OK, REJECTED
from bench.measure.recorder import (
    HIGHEST_US,
    LOWEST_US,
    SIGNIFICANT_DIGITS,
    Recorder,
    Series,
    Tally,
    decode_histogram,
    summarize,
)

FORMAT = "cinderbench-results/1"
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
TIMESERIES_COLUMNS = (
    "second",
    "epoch",
    "backend",
    "operations",
    "ok",
    "rejected",
    "errors",
    "p50_us",
    "p90_us",
    "p99_us",
    "max_us",
)


def latency_summary(histogram: HdrHistogram | None) -> dict[str, float] | None:
    """count, min, mean, stdev, p50, p90, p99, p99.9 and max in µs (None for no histogram)."""
    return summarize(histogram, PERCENTILES) if histogram is not None else None


def series_stats(series: Series, seconds: float) -> dict[str, Any]:
    """The JSON row of one series in operations.json / calls.json."""
    count = series.count
    return {
        "count": count,
        OK: series.outcomes.get(OK, 0),
        REJECTED: series.outcomes.get(REJECTED, 0),
        "errors": series.outcomes.get(ERROR, 0),
        "failures": dict(sorted(series.failures.items())),
        "throughput_per_s": round(count / seconds, 3) if seconds > 0 else None,
        "service_us": latency_summary(series.service),
        "intended_us": latency_summary(series.intended),
        "client_cpu_us": latency_summary(series.cpu),
        "store_us": latency_summary(series.store),
        "counters": series.counter_stats(),
    }


def tally_stats(tally: Tally) -> dict[str, Any]:
    """Outcomes and counters of one caller context (``by_context`` in calls.json)."""
    return {
        "count": tally.count,
        OK: tally.outcomes.get(OK, 0),
        REJECTED: tally.outcomes.get(REJECTED, 0),
        "errors": tally.outcomes.get(ERROR, 0),
        "failures": dict(sorted(tally.failures.items())),
        "counters": tally.counter_stats(),
    }


def counter_names(recorder: Recorder) -> dict[str, set[str]]:
    """Per backend, every counter it reports: what it counted, plus its probe's declared
    set (recording skips zeros, so a counter that stayed 0 all run is still listed)."""
    seen: dict[str, set[str]] = {}
    for (backend, _, _), series in recorder.series.items():
        seen.setdefault(backend, set()).update(series.counters)
    for declared in (SQL_COUNTERS, MAGNETO_COUNTERS):
        for names in seen.values():
            if names & set(declared):
                names.update(declared)
    return seen


def _with_zeros(stats: dict[str, Any], names: set[str]) -> dict[str, Any]:
    zero = {"sum": 0, "mean": 0.0, "min": 0, "max": 0}
    counters = stats["counters"]
    stats["counters"] = {name: counters.get(name, zero) for name in sorted(names | set(counters))}
    return stats


def _nested(recorder: Recorder, kind: str, seconds: float) -> dict[str, dict[str, Any]]:
    names = counter_names(recorder)
    table: dict[str, dict[str, Any]] = {}
    for (backend, series_kind, name), series in sorted(recorder.series.items()):
        if series_kind == kind:
            stats = _with_zeros(series_stats(series, seconds), names[backend])
            table.setdefault(name, {})[backend] = stats
    if kind == "call":
        for (backend, name, context), tally in sorted(recorder.contexts.items()):
            if backend in table.get(name, {}):
                by_context = table[name][backend].setdefault("by_context", {})
                by_context[context] = _with_zeros(tally_stats(tally), names[backend])
    return table


def _histograms(recorder: Recorder) -> dict[str, Any]:
    data: dict[str, Any] = {
        "unit": "us",
        "lowest": LOWEST_US,
        "highest": HIGHEST_US,
        "digits": SIGNIFICANT_DIGITS,
        "op": {},
        "call": {},
    }
    for (backend, kind, name), series in sorted(recorder.series.items()):
        entry = {"service": series.service.encode().decode("ascii")}
        for optional, histogram in series.optional().items():
            if histogram is not None:
                entry[optional] = histogram.encode().decode("ascii")
        data[kind].setdefault(name, {})[backend] = entry
    return data


def _timeseries_rows(recorder: Recorder, started_epoch: float) -> list[dict[str, Any]]:
    rows = []
    for (second, backend), entry in sorted(recorder.seconds.items()):
        summary = summarize(entry.peek(), (50.0, 90.0, 99.0)) or {}
        rows.append(
            {
                "second": second - int(started_epoch),
                "epoch": second,
                "backend": backend,
                "operations": sum(entry.outcomes.values()),
                "ok": entry.outcomes.get(OK, 0),
                "rejected": entry.outcomes.get(REJECTED, 0),
                "errors": entry.outcomes.get(ERROR, 0),
                "p50_us": summary.get("p50", 0),
                "p90_us": summary.get("p90", 0),
                "p99_us": summary.get("p99", 0),
                "max_us": summary.get("max", 0),
            }
        )
    return rows


def _json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")


def write_results(
    directory: str | Path,
    meta: dict[str, Any],
    recorder: Recorder,
    comparison: Mapping[str, Any] | None = None,
) -> Path:
    """Write every file but the operation log (streamed during the run) into ``directory``."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    seconds = float(meta.get("duration_s") or 0.0)
    _json(path / "run.json", {"format": FORMAT, **meta})
    _json(path / "operations.json", _nested(recorder, "op", seconds))
    _json(path / "calls.json", _nested(recorder, "call", seconds))
    _json(path / "histograms.json", _histograms(recorder))
    if comparison is not None:
        _json(path / "comparison.json", dict(comparison))
    with open(path / "timeseries.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=TIMESERIES_COLUMNS)
        writer.writeheader()
        writer.writerows(_timeseries_rows(recorder, float(meta.get("started_epoch") or 0)))
    return path


def annotate_run(directory: str | Path, **sections: Any) -> Path:
    """Add (or replace) top-level sections of a written ``run.json``: what a step after
    the run learned (``validators.acknowledged``'s counts)."""
    path = Path(directory) / "run.json"
    meta = json.loads(path.read_text())
    meta.update(sections)
    tmp = path.with_suffix(".json.tmp")
    _json(tmp, meta)
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------- reading


@dataclass
class Results:
    """One results directory, as written by ``cinderbench run`` / ``compare`` / locust."""

    path: Path
    meta: dict[str, Any]
    #: operation name -> backend label -> stats (see docs/results-format.md)
    operations: dict[str, dict[str, Any]]
    #: DB API function -> backend label -> stats
    calls: dict[str, dict[str, Any]]
    #: the paired ratios (first pairing at the top level, all under ``pairs``: ``pairings``)
    comparison: dict[str, Any] | None
    _histograms: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def backends(self) -> list[str]:
        """Backend labels in run order (the first is the reference the live view follows)."""
        return [backend["label"] for backend in self.meta.get("backends", [])]

    @property
    def pairings(self) -> list[dict[str, Any]]:
        """comparison.json's paired ratios, one entry per arm with a baseline (``baseline``,
        ``candidate``, ``ratio``, ``operations``), the first one first; [] for one backend."""
        comparison = self.comparison or {}
        if comparison.get("pairs"):
            return list(comparison["pairs"])
        return [comparison] if comparison.get("candidate") else []

    def histogram(
        self, kind: str, name: str, backend: str, series: str = "service"
    ) -> HdrHistogram | None:
        """A decoded HdrHistogram (µs); ``kind`` is ``op`` or ``call``, ``series``
        ``service``, ``intended``, ``cpu`` or ``store``. None when nothing was recorded."""
        encoded = self._histograms.get(kind, {}).get(name, {}).get(backend, {}).get(series)
        return decode_histogram(encoded) if encoded else None

    def timeseries(self) -> list[dict[str, Any]]:
        """Rows of timeseries.csv with numbers as numbers."""
        path = self.path / "timeseries.csv"
        if not path.exists():
            return []
        with open(path, newline="") as stream:
            return [
                {k: v if k == "backend" else int(v) for k, v in row.items()}
                for row in csv.DictReader(stream)
            ]

    def oplog(self) -> Iterator[dict[str, Any]]:
        """The operation log's lines (arguments still encoded: ``oplog.decode_call``)."""
        for name in ("oplog.jsonl", "oplog.jsonl.gz"):
            if (self.path / name).exists():
                return read_oplog(self.path / name)
        return iter(())

    @property
    def floor(self) -> dict[str, dict[str, Any]]:
        """Per backend label, the round-trip floor in µs (``bench.measure.floor``; {} if none)."""
        return self.meta.get("floor") or {}

    def findings(self, name: str) -> dict[str, Any] | None:
        """A findings file of docs/findings-format.md: ``validation``, ``diff`` or ``gate``
        (None when the run has none)."""
        file = self.path / f"{name}.json"
        return read_json(file) if file.exists() else None


def read_json(file: Path) -> Any:
    """A results file's JSON; a damaged file is a ``ValueError`` that names it."""
    try:
        return json.loads(file.read_text())
    except ValueError as error:
        raise ValueError(f"{file} is not readable JSON: {error}") from error


def load_results(path: str | Path) -> Results:
    """Read a results directory (``FileNotFoundError`` / ``ValueError`` naming the file when
    it is not one, or a file of it is damaged)."""
    path = Path(path)
    meta = read_json(path / "run.json")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} results directory")

    def optional(name: str) -> Any:
        file = path / name
        return read_json(file) if file.exists() else None

    return Results(
        path=path,
        meta=meta,
        operations=optional("operations.json") or {},
        calls=optional("calls.json") or {},
        comparison=optional("comparison.json"),
        _histograms=optional("histograms.json") or {},
    )


def paired_ratio(pairs: list[tuple[int, int]], resamples: int = 2000, seed: int = 0) -> dict:
    """Median of per-operation ratios second/first with a bootstrap 95% CI.

    Both backends ran each planned operation back to back, so each pair saw
    the same machine state; the median ratio of pairs is robust to the noise
    that shifts both (asv and the gate compare ratios measured in one run).
    """
    import numpy as np

    ratios = np.array([b / a for a, b in pairs if a > 0 and b > 0], dtype=float)
    if ratios.size == 0:
        return {"n": 0, "median": None, "ci95": None}
    median = float(np.median(ratios))
    if ratios.size < 3:
        return {"n": int(ratios.size), "median": median, "ci95": None}
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // ratios.size)  # bounded memory for long runs
    medians = np.concatenate(
        [
            np.median(rng.choice(ratios, size=(min(chunk, resamples - i), ratios.size)), axis=1)
            for i in range(0, resamples, chunk)
        ]
    )
    low, high = np.percentile(medians, [2.5, 97.5])
    return {
        "n": int(ratios.size),
        "median": round(median, 4),
        "ci95": [round(float(low), 4), round(float(high), 4)],
        "geomean": round(float(math.exp(np.log(ratios).mean())), 4),
    }


__all__ = [
    "FORMAT",
    "Results",
    "latency_summary",
    "load_results",
    "paired_ratio",
    "write_results",
]
