"""Ten clean runs of a mixed workload (``cinderbench run``'s ``run_job``, short,
different seeds and mixes) leave a MagnetoDB store with no dual-write finding."""

from __future__ import annotations

import uuid

import pytest

from bench.drive.job import run_job
from bench.drive.spec import RunSpec
from tests.validators.dualwrite_support import TINY
from validators.dualwrite import validate
from validators.reader import Reader, open_client


@pytest.mark.parametrize("seed", range(1, 11))
def test_a_clean_run_leaves_no_finding(seed: int, magnetodb_server_url: str, tmp_path) -> None:
    host = magnetodb_server_url.removeprefix("http://")
    url = f"magnetodb://{host}/clean{seed}x{uuid.uuid4().hex[:8]}"
    mix = "uniform" if seed % 2 else "standard"  # uniform: every operation, rare ones too
    spec = RunSpec(
        backends=(("magnetodb", url),),
        dataset=TINY,
        mix=mix,
        duration=None,
        operations=150,
        threads=2,
        seed=seed,
    )
    results = run_job(spec, tmp_path / "run", progress=False)
    assert results.meta["operations"] == 150
    assert results.meta["totals"]["harness_failures"] == 0
    client = open_client(url)
    try:
        validation = validate(Reader(client))
        assert sum(s.checked for s in validation.summaries) > 300  # it did compare things
        assert validation.ok, [(f.check, f.cls, f.key) for f in validation.findings]
    finally:
        for table in client.table_names(client.list_tables()):
            client.delete_table(table)
        client.close()
