"""Where a call's time goes: client CPU and the store's reported time, per call and operation,
through the recorder into the results files (bench.measure.split)."""

from __future__ import annotations

import sys

import pytest

from bench.drive.runner import Run
from bench.measure.instrument import Instrumented
from bench.measure.recorder import Recorder
from bench.measure.results import load_results, write_results
from bench.measure.split import StoreClock, cpu_clock, store_clock_for
from bench.workload.datasets import build_dataset, load_dataset
from cinderdb import get_admin_context, open_backend
from tests.bench.support import SMALL


@pytest.fixture(scope="module")
def run():
    dataset = build_dataset(SMALL)
    sql = open_backend("sqlite://")
    magneto = open_backend("magnetodb+inproc:///split")
    for backend in (sql, magneto):
        load_dataset(backend, dataset.data, quiet=True)
    bench = Run([("sql", sql), ("magnetodb", magneto)], dataset, {"create": 1, "show": 1}, seed=3)
    try:
        worker = bench.worker(0)
        for _ in range(6):
            bench.step(worker)
        yield bench
    finally:
        bench.close()
        sql.close()
        magneto.close()


def test_every_call_has_client_cpu_and_only_magnetodb_a_store_time(run):
    calls = [(key, s) for key, s in run.recorder.series.items() if key[1] == "call"]
    assert calls
    for (backend, _, name), series in calls:
        assert series.cpu is not None
        assert series.cpu.get_total_count() == series.count, name
        if backend == "magnetodb":
            assert series.store is not None
            assert series.store.get_total_count() == series.count, name
        else:
            assert series.store is None, name  # SQLite's time is the client's own CPU


def test_an_operation_sums_its_calls():
    recorder = Recorder()
    with open_backend("magnetodb+inproc:///split-sum") as backend:
        load_dataset(backend, build_dataset(SMALL).data, quiet=True)
        api = Instrumented(backend, recorder, "m")
        try:
            with api.operation("show") as scope:
                api.volume_get_all(get_admin_context(), None, None)
                api.volume_get_all(get_admin_context(), None, None)
        finally:
            api.detach()
    assert scope.store_ns is not None
    assert 0 < scope.store_ns <= scope.service_ns
    assert scope.cpu_ns > 0
    op = recorder.series[("m", "op", "show")]
    call = recorder.series[("m", "call", "volume_get_all")]
    assert op.store.get_max_value() >= call.store.get_min_value()
    assert op.cpu.get_total_count() == 1
    assert call.cpu.get_total_count() == 2


def test_store_clock_is_for_reporting_stores_and_nested_calls_share(tmp_path):
    with open_backend("sqlite://") as sql:
        assert store_clock_for(sql) is None
    with open_backend("magnetodb+inproc:///split-clock") as magneto:
        clock = store_clock_for(magneto)
        assert isinstance(clock, StoreClock)
        clock.attach()
        outer = clock.start()
        inner = clock.start()
        magneto.client.list_tables()
        inner_ns = clock.stop(inner)
        assert clock.stop(outer) == inner_ns
        assert inner_ns is not None
        assert clock.stop(clock.start()) is None  # no request: nothing reported
        clock.detach()
        assert clock._hook not in magneto.client.hooks


def test_the_results_files_carry_both_and_a_merge_keeps_them(run, tmp_path):
    merged = Recorder()
    merged.merge(run.recorder.snapshot())
    merged.merge(run.recorder.snapshot())
    write_results(tmp_path, {"command": "run", "duration_s": 1.0, "started_epoch": 0}, merged)
    results = load_results(tmp_path)
    for name, per in results.operations.items():
        original = run.recorder.series[("magnetodb", "op", name)]
        stats = per["magnetodb"]
        assert stats["client_cpu_us"]["count"] == 2 * original.count
        assert stats["store_us"]["count"] == 2 * original.count
        assert per["sql"]["store_us"] is None
        assert per["sql"]["client_cpu_us"]["count"] == stats["count"]
        assert (
            results.histogram("op", name, "magnetodb", "cpu").get_total_count()
            == 2 * original.count
        )


def test_no_client_cpu_where_gevent_shares_the_thread(monkeypatch):
    """Under locust, greenlets share the OS thread: a call's thread CPU would include the
    other users' work while it waited, so none is recorded (store time still is)."""
    import types

    fake = types.SimpleNamespace(is_module_patched=lambda name: name == "threading")
    monkeypatch.setitem(sys.modules, "gevent.monkey", fake)
    assert cpu_clock() is None
    recorder = Recorder()
    with open_backend("magnetodb+inproc:///split-green") as backend:
        load_dataset(backend, build_dataset(SMALL).data, quiet=True)
        api = Instrumented(backend, recorder, "m")
        try:
            with api.operation("show"):
                api.volume_get_all(get_admin_context(), None, None)
        finally:
            api.detach()
    for kind in ("op", "call"):
        series = recorder.series[("m", kind, "show" if kind == "op" else "volume_get_all")]
        assert series.cpu is None
        assert series.store.get_total_count() == 1
