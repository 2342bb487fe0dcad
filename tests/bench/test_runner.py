"""``cinderbench run`` end to end: two backends side by side, the results directory, and a
replay of the operation log on a fresh copy of the dataset."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from bench.drive.job import backend_labels, run_job
from bench.drive.spec import RunSpec
from bench.measure.oplog import decode_call
from bench.workload.catalog import CATALOG
from bench.workload.datasets import build_dataset, load_dataset
from cinderbench import main as cli_main
from cinderdb import open_backend
from tests.bench.support import SMALL


def test_two_backends_side_by_side(tmp_path, mysql_database_url):
    backends = [
        ("sqlite", f"sqlite:///{tmp_path / 'cinder.sqlite'}"),
        ("mysql", mysql_database_url),
    ]
    spec = RunSpec(
        backends=tuple(backends), dataset=SMALL, mix="uniform", duration=None, operations=80, seed=3
    )
    results = run_job(spec, tmp_path / "out", progress=False)

    assert results.backends == ["sqlite", "mysql"]
    assert results.meta["operations"] == 80
    assert results.meta["totals"]["harness_failures"] == 0
    assert results.meta["totals"]["divergent"] == {}
    assert results.meta["dataset"]["records"]["volumes"] == SMALL.volumes
    assert {b["engine"]["engine"] for b in results.meta["backends"]} == {"sqlite", "mysql"}
    assert set(results.meta["dataset"]["load_seconds"]) == {"sqlite", "mysql"}
    for name, per_backend in results.operations.items():
        assert set(per_backend) == {"sqlite", "mysql"}, name
        assert per_backend["sqlite"]["count"] == per_backend["mysql"]["count"]
    lines = list(results.oplog())
    assert len(lines) == 80
    firsts = Counter(line["order"][0] for line in lines)
    assert firsts["sqlite"] == firsts["mysql"] == 40  # alternating order
    for line in lines:
        assert set(line["runs"]) == {"sqlite", "mysql"}
        calls = [[c["fn"] for c in run["calls"]] for run in line["runs"].values()]
        assert calls[0] == calls[1]  # same plan, same state: same call sequence
    assert results.comparison["baseline"] == "sqlite"
    assert results.comparison["operations"]
    assert results.calls["volume_get"]["mysql"]["by_context"]


def test_replaying_the_oplog_gives_the_same_outcomes(tmp_path):
    """The log is complete: re-issuing its calls on a fresh load reproduces every outcome."""
    spec = dataclasses.replace(SMALL, seed=21)
    url = f"sqlite:///{tmp_path / 'first.sqlite'}"
    run = RunSpec(
        backends=(("sqlite", url),),
        dataset=spec,
        mix="uniform",
        duration=None,
        operations=len(CATALOG),
        threads=1,
        seed=8,
    )
    results = run_job(run, tmp_path / "out", progress=False)

    replica = open_backend(f"sqlite:///{tmp_path / 'replica.sqlite'}")
    load_dataset(replica, build_dataset(spec).data, quiet=True)
    ids: dict[str, str] = {}  # ids the first backend generated -> the replica's
    replayed = 0
    try:
        for line in sorted(results.oplog(), key=lambda line: line["seq"]):
            produced = []
            for call in line["runs"]["sqlite"]["calls"]:
                name, args, kwargs = decode_call(call)
                for position, index in call.get("refs", {}).items():
                    value = produced[index]
                    if position.isdigit():
                        args[int(position)] = value
                    else:
                        kwargs[position] = value
                args = [ids.get(a, a) if isinstance(a, str) else a for a in args]
                try:
                    result, error = getattr(replica, name)(*args, **kwargs), None
                except Exception as exc:
                    result, error = None, type(exc).__name__
                expected = call["outcome"]
                assert (error is None) == expected["ok"], (line["op"], name, error)
                assert error == expected.get("error")
                if "id" in expected and isinstance(result, dict):
                    ids[expected["id"]] = result["id"]
                produced.append(result)
                replayed += 1
    finally:
        replica.close()
    assert replayed > 3 * len(CATALOG)


def test_backend_labels_are_unique_and_named_by_engine():
    assert backend_labels(["sqlite:///a", "mysql+pymysql://root@h/db", "sqlite:///b"]) == [
        ("sqlite", "sqlite:///a"),
        ("mysql", "mysql+pymysql://root@h/db"),
        ("sqlite-2", "sqlite:///b"),
    ]
    assert backend_labels(["base=sqlite:///a"]) == [("base", "sqlite:///a")]


def test_cli_run_writes_results(tmp_path, capsys):
    out = tmp_path / "results"
    code = cli_main(
        [
            "run",
            "--backend", f"sqlite:///{tmp_path / 'c.sqlite'}",
            "--volumes", "60", "--projects", "3",
            "--operations", "30", "--threads", "1", "--rate", "200",
            "--mix", "read_only", "--quiet", "-o", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    from bench.measure.results import load_results

    results = load_results(out)
    assert results.meta["parameters"]["rate"] == 200
    paced = results.operations["show"]["sqlite"]
    assert paced["intended_us"]["count"] == paced["count"]
    assert "show" in capsys.readouterr().out


def test_unknown_mix_is_refused():
    from bench.workload.mixes import resolve_mix

    with pytest.raises(ValueError, match="unknown mix"):
        resolve_mix("everything")
    with pytest.raises(ValueError, match="unknown operations"):
        resolve_mix("show=1,teleport=2")
    assert resolve_mix("show=3,list=1") == {"show": 3.0, "list": 1.0}
