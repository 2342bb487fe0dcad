"""Scale: a streamed bulk load and a validation on both sides with bounded memory reported,
and an item too large for the MagnetoDB server named, not crashed on (``bench load``,
``bench validate``; the figures at 1M volumes are in the README)."""

from __future__ import annotations

import re

import pytest

from bench.measure.memory import Watch, peak_rss_bytes, tree_peak_rss_bytes
from bench.workload.datasets import DatasetSpec, load_dataset, stream_dataset
from cinderbench.bench import load as bench_load
from cinderbench.bench import validate as bench_validate
from cinderdb import exception, open_backend
from magnetodb.server.process import ServerProcess
from validators.dualwrite import validate
from validators.reader import Reader, open_client

SPEC = DatasetSpec(volumes=400, projects=3)


@pytest.fixture
def small_server(tmp_path):
    """A MagnetoDB server whose item limit (5,000 bytes) the readonly=False set of SPEC
    (about 240 volume ids) outgrows, as the seed's does MagnetoDB's 16 MiB near 700k."""
    with ServerProcess(str(tmp_path / "lmdb"), max_item_bytes=5_000) as server:
        yield server


def _url(server: ServerProcess) -> str:
    return f"magnetodb://{server.url.removeprefix('http://')}/scale"


def test_streamed_load_and_validation_on_both_sides(tmp_path, mysql_database_url):
    with ServerProcess(str(tmp_path / "lmdb")) as server:
        for url, pid in ((mysql_database_url, None), (_url(server), server.pid)):
            backend = open_backend(url)
            try:
                with Watch(pid) as usage:
                    load_dataset(backend, stream_dataset(SPEC, chunk=50), quiet=True)
                assert len(backend.volume_get_all(_admin(), None, 5)) == 5
            finally:
                backend.close()
            assert 0 < usage.peak_rss < 2 << 30  # (ru_maxrss lags VmHWM: not a bound)
            assert (usage.server_peak_rss is not None) is (pid is not None)
        client = open_client(_url(server))
        try:
            with Watch(server.pid) as usage:
                validation = validate(Reader(client, page_size=100))
        finally:
            client.close()
        assert validation.ok
        assert sum(summary.checked for summary in validation.summaries) > SPEC.volumes
        assert usage.server_peak_rss >= peak_rss_bytes(server.pid)
        assert tree_peak_rss_bytes(server.pid) >= usage.server_peak_rss // 2


def _admin():
    from cinderdb import get_admin_context

    return get_admin_context()


def test_an_item_over_the_servers_limit_is_named_with_its_size(small_server):
    backend = open_backend(_url(small_server))
    try:
        with pytest.raises(exception.DBError) as caught:
            load_dataset(backend, stream_dataset(SPEC, chunk=100), quiet=True)
    finally:
        backend.close()
    message = str(caught.value)
    assert "item too large for the server: volume_admin_metadata" in message
    assert '["readonly","False"]' in message
    size = int(re.search(r"about ([\d,]+) bytes", message).group(1).replace(",", ""))
    assert size > 5_000
    assert re.search(r"[\d,]+ ids\)", message)
    assert "maximum allowed size of 5000 bytes" in message


def test_bench_load_reports_the_refused_item_and_the_figures(capsys, mysql_database_url):
    assert bench_load.main(["--volumes", "400", "--chunk", "100", "--max-item-bytes", "5000"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "magnetodb: the load failed:" in out
    assert "item too large for the server: volume_admin_metadata" in out
    assert "peak RSS of this process over the whole command" in out
    assert "Traceback" not in out
    assert bench_load.target_seconds(1_000_000) == 240.0
    assert bench_load.target_seconds(2_000_000) is None


def test_bench_validate_streams_and_reports_memory(capsys):
    assert bench_validate.main(["--volumes", "300", "--repeat", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert re.search(r"run 1: [\d.]+ s, CPU [\d.]+ s \(server [\d.]+ s\)", out)
    assert re.search(r"bulk load \(streamed, generation included\): [\d.]+ s, CPU", out)
    assert re.search(r"peak RSS [\d,]+M \(server [\d,]+M\)", out)
    assert "findings: 0" in out


def test_bench_validate_checks_the_pairs_of_the_design_asked_for(capsys):
    assert bench_validate.main(["--volumes", "200", "--repeat", "1", "--design", "improved"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "sorted_index" in out  # the options' pairs, checked
    assert "ordered_ind" in out
    assert "findings: 0" in out


def test_a_second_load_merges_into_the_stored_inverted_sets(tmp_path):
    """Inverted items are made a batch at a time; a store that holds some already gets
    the union (its stored ids kept), an empty one is not read back. (Two datasets in one
    store share type names, so only the inverted set is checked here.)"""
    first = stream_dataset(DatasetSpec(volumes=60, projects=2, seed=1), chunk=25)
    second = stream_dataset(DatasetSpec(volumes=40, projects=2, seed=2), chunk=25)
    with ServerProcess(str(tmp_path / "lmdb")) as server:
        backend = open_backend(_url(server))
        try:
            load_dataset(backend, first, quiet=True)
            load_dataset(backend, second, quiet=True)
            readonly = backend.get("volume_admin_metadata", '["readonly","False"]')
        finally:
            backend.close()
    held = set(readonly["volume_ids"]["SS"])
    assert held == set(_readonly_ids(1, 60)) | set(_readonly_ids(2, 40))


def _readonly_ids(seed: int, volumes: int) -> list[str]:
    from bench.workload.datasets import build_dataset

    data = build_dataset(DatasetSpec(volumes=volumes, projects=2, seed=seed)).data
    return [v["id"] for v in data.volumes if v["admin_metadata"].get("readonly") == "False"]
