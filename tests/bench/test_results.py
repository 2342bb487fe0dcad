"""Recorder and results directory: what is recorded is what ``load_results`` reads back."""

from __future__ import annotations

import random
import threading

import pytest

from bench.measure.recorder import Recorder, new_histogram, summarize
from bench.measure.results import FORMAT, load_results, paired_ratio, write_results


def filled_recorder(seed: int = 1) -> Recorder:
    rng = random.Random(seed)
    recorder = Recorder()
    for _ in range(500):
        service = int(rng.lognormvariate(14, 0.6))  # ns, around 1.2 ms
        recorder.record("sql", "op", "show", service, None, "ok", None, {"statements": 7})
        recorder.record("kv", "op", "show", service // 2, 250_000, "ok", None, {"requests": 3})
        recorder.record("sql", "call", "volume_get", service // 3, None, "ok", None,
                        {"statements": 1, "joins": 6}, "admin")  # fmt: skip
        recorder.record("sql", "call", "volume_get", service // 3, None, "ok", None,
                        {"statements": 1, "joins": 5}, "user")  # fmt: skip
    recorder.record("sql", "op", "delete", 5_000_000, None, "rejected", "InvalidVolume")
    recorder.record("sql", "op", "delete", 6_000_000, None, "error", "DBError", {"statements": 2})
    recorder.record("sql", "op", "delete", 7_000_000, None, "ok", None, {"statements": 12})
    return recorder


def test_summaries_equal_hdrhistogram_own_figures():
    rng = random.Random(3)
    histogram = new_histogram()
    for _ in range(3000):
        histogram.record_value(int(rng.expovariate(1 / 4000)) + 1)
    summary = summarize(histogram)
    assert summary["count"] == 3000
    assert summary["mean"] == round(histogram.get_mean_value(), 1)
    assert summary["stdev"] == round(histogram.get_stddev(), 1)
    for percentile in (50, 90, 99, 99.9):
        assert summary[f"p{percentile:g}"] == histogram.get_value_at_percentile(percentile)
    assert summary["max"] == histogram.get_max_value()
    assert summarize(new_histogram()) is None


def test_results_directory_round_trip(tmp_path):
    recorder = filled_recorder()
    meta = {"command": "run", "duration_s": 10.0, "started_epoch": 0,
            "backends": [{"label": "sql"}, {"label": "kv"}]}  # fmt: skip
    comparison = {"operations": {"show": paired_ratio([(2, 1)] * 10)}}
    write_results(tmp_path, meta, recorder, comparison)
    results = load_results(tmp_path)
    assert results.meta["format"] == FORMAT
    assert results.backends == ["sql", "kv"]

    show = results.operations["show"]
    recorded = recorder.series[("sql", "op", "show")].service
    assert show["sql"]["service_us"]["p99"] == recorded.get_value_at_percentile(99)
    assert show["sql"]["throughput_per_s"] == 50.0
    assert show["sql"]["intended_us"] is None
    assert show["kv"]["intended_us"]["p50"] >= show["kv"]["service_us"]["p50"] + 240
    decoded = results.histogram("op", "show", "sql")
    assert decoded.get_total_count() == 500
    assert decoded.get_value_at_percentile(99.9) == recorded.get_value_at_percentile(99.9)
    assert results.histogram("op", "show", "sql", "intended") is None

    delete = results.operations["delete"]["sql"]
    assert (delete["ok"], delete["rejected"], delete["errors"]) == (1, 1, 1)
    assert delete["failures"] == {"DBError": 1, "InvalidVolume": 1}
    # counters of the backend's kind that stayed 0 are listed as zeros
    assert show["sql"]["counters"]["joins"] == {"sum": 0, "mean": 0.0, "min": 0, "max": 0}
    assert "joins" not in show["kv"]["counters"]
    # the rejected event carried no counters: it counts as 0
    assert delete["counters"]["statements"] == {"sum": 14, "mean": 14 / 3, "min": 0, "max": 12}

    volume_get = results.calls["volume_get"]["sql"]
    assert volume_get["counters"]["joins"] == {"sum": 5500, "mean": 5.5, "min": 5, "max": 6}
    admin = volume_get["by_context"]["admin"]["counters"]["joins"]
    assert (admin["min"], admin["max"], volume_get["by_context"]["user"]["count"]) == (6, 6, 500)

    rows = results.timeseries()
    assert {row["backend"] for row in rows} == {"sql", "kv"}
    assert sum(row["operations"] for row in rows if row["backend"] == "sql") == 503
    assert results.comparison["operations"]["show"]["median"] == 0.5
    assert list(results.oplog()) == []


def test_load_refuses_other_directories(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_results(tmp_path)
    (tmp_path / "run.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a cinderbench-results"):
        load_results(tmp_path)


def test_merging_deltas_equals_one_recorder():
    """Locust workers send ``take_delta()``s; the master's merge equals recording in one place."""
    whole, master = filled_recorder(5), Recorder()
    worker = Recorder()
    rng = random.Random(5)
    for index in range(500):
        service = int(rng.lognormvariate(14, 0.6))
        worker.record("sql", "op", "show", service, None, "ok", None, {"statements": 7})
        worker.record("kv", "op", "show", service // 2, 250_000, "ok", None, {"requests": 3})
        worker.record("sql", "call", "volume_get", service // 3, None, "ok", None,
                      {"statements": 1, "joins": 6}, "admin")  # fmt: skip
        worker.record("sql", "call", "volume_get", service // 3, None, "ok", None,
                      {"statements": 1, "joins": 5}, "user")  # fmt: skip
        if index % 100 == 99:
            master.merge(worker.take_delta())
    assert worker.series == {}
    for key in ("sql", "op", "show"), ("kv", "op", "show"), ("sql", "call", "volume_get"):
        mine, theirs = master.series[key], whole.series[key]
        assert mine.count == theirs.count
        assert mine.service.get_value_at_percentile(99) == theirs.service.get_value_at_percentile(
            99
        )
        assert mine.counter_stats() == theirs.counter_stats()
    assert master.contexts[("sql", "volume_get", "admin")].count == 500


def test_recorder_is_thread_safe():
    recorder = Recorder()

    def record() -> None:
        for _ in range(2000):
            recorder.record("sql", "call", "volume_get", 1_000_000, None, "ok", None, {"rows": 1})

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    series = recorder.series[("sql", "call", "volume_get")]
    assert series.count == series.service.get_total_count() == 8000
    assert series.counter_stats()["rows"]["sum"] == 8000


def test_paired_ratio_confidence_interval():
    rng = random.Random(9)
    pairs = [
        (a, int(a * 1.3 * rng.uniform(0.9, 1.1)))
        for a in (rng.randint(900, 1100) for _ in range(400))
    ]
    ratio = paired_ratio(pairs)
    assert ratio["n"] == 400
    assert ratio["ci95"][0] < 1.3 < ratio["ci95"][1]
    assert ratio["ci95"][1] - ratio["ci95"][0] < 0.05
    assert paired_ratio([])["median"] is None


def test_finished_seconds_are_kept_encoded(monkeypatch):
    """Only the current second holds a live histogram; the others keep their encoding."""
    import bench.measure.recorder as recorder_module

    clock = iter([100.2, 100.7, 101.1, 101.5, 102.3])
    monkeypatch.setattr(recorder_module.time, "time", lambda: next(clock))
    recorder = Recorder()
    for service_us in (1000, 2000, 3000, 4000, 5000):
        recorder.record("sql", "op", "show", service_us * 1000, None, "ok")
    seconds = recorder.seconds
    assert seconds[(100, "sql")].live is None
    assert seconds[(101, "sql")].live is None
    assert seconds[(102, "sql")].live is not None
    assert seconds[(100, "sql")].peek().get_total_count() == 2
    assert seconds[(101, "sql")].peek().get_max_value() >= 4000
    merged = Recorder()
    merged.merge(recorder.snapshot())
    assert [merged.seconds[(s, "sql")].peek().get_total_count() for s in (100, 101, 102)] == [
        2,
        2,
        1,
    ]
