"""The sweep: growth fits on synthetic data, the report of a made-up index, item bytes as the
server counts them, and one tiny real sweep (2 sizes x 2 levels, resumed) with its bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.drive.sweep import INDEX_NAME, Grid, projects_for, read_index
from reports.growth import fit_power, saturation_point
from reports.sweep import growth, growth_order, render
from tests.reports.sweeps import synthetic_index

REPO = Path(__file__).resolve().parents[2]


def cinderbench(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinderbench", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


# ------------------------------------------------------------------------ the fits


def test_exponent_of_a_linear_cost_is_one_and_of_a_bounded_cost_zero() -> None:
    sizes = [1_000, 10_000, 100_000]
    linear = fit_power(sizes, [3.0 * v for v in sizes])
    flat = fit_power(sizes, [250.0, 250.0, 250.0])
    assert linear is not None
    assert flat is not None
    assert linear.exponent == pytest.approx(1.0)
    assert linear.r2 == pytest.approx(1.0)
    assert flat.exponent == pytest.approx(0.0, abs=1e-12)
    assert flat.solve(1e9) is None  # a flat line never reaches a limit


def test_exponent_with_noise_and_the_crossing_of_a_limit() -> None:
    sizes = [500, 2_000, 8_000, 32_000]
    noisy = [
        40.0 * v**0.5 * factor for v, factor in zip(sizes, (1.05, 0.96, 1.03, 0.98), strict=True)
    ]
    fit = fit_power(sizes, noisy)
    assert fit is not None
    assert abs(fit.exponent - 0.5) < 0.05
    grows = fit_power([1_000, 10_000], [40_000, 400_000])  # 40 bytes a volume
    assert grows is not None
    assert grows.r2 is None
    assert grows.solve(16 * 1024 * 1024) == pytest.approx(16 * 1024 * 1024 / 40, rel=1e-9)


def test_fit_needs_two_distinct_sizes() -> None:
    assert fit_power([1_000], [5.0]) is None
    assert fit_power([1_000, 1_000], [5.0, 6.0]) is None
    assert fit_power([1_000, 2_000], [0.0, 6.0]) is None  # log of zero is left out


def test_saturation_point() -> None:
    levels = [1, 4, 16, 32]
    assert saturation_point(levels, [100, 380, 1_400, 2_700]) is None  # still growing
    assert saturation_point(levels, [100, 380, 400, 405]) == 4  # 4 -> 16 adds 5%
    assert saturation_point(levels, [100, 105, 400, 800]) == 1
    assert saturation_point([1], [100]) is None


def test_projects_grow_slower_than_volumes() -> None:
    assert projects_for(5_000) == 20
    sizes = [projects_for(v) for v in (1_000, 10_000, 100_000)]
    assert sizes == sorted(sizes)
    assert len(set(sizes)) == 3
    per_project = [v / p for v, p in zip((1_000, 10_000, 100_000), sizes, strict=True)]
    assert per_project == sorted(per_project)


# --------------------------------------------------------------- the report of an index


def test_report_lists_growing_operations_first_with_their_exponent() -> None:
    index = synthetic_index()
    fits = growth(index)
    assert growth_order(fits) == ["page", "get"]
    assert fits["page"]["sql"]["fit"].exponent == pytest.approx(0.98)
    assert fits["get"]["mdb"]["fit"].exponent == pytest.approx(0.0, abs=1e-9)
    html = render(index)
    assert "Cost grows with the data" in html
    assert ": page." in html
    # 40 bytes a volume reach 16 MiB at 419,430 volumes
    assert f"{math.floor(16 * 1024 * 1024 / 40):,}" in html
    assert html.count("data:image/png;base64,") >= 4


# ------------------------------------------------------------------ item bytes


def test_item_bytes_are_what_the_server_stores_and_limits() -> None:
    from magnetodb.errors import ValidationError
    from magnetodb.server.validation import create_table
    from magnetodb.storage import open_storage
    from validators.item_sizes import item_bytes

    body = {
        "table_name": "inv",
        "attribute_definitions": [{"attribute_name": "property", "attribute_type": "S"}],
        "key_schema": [{"attribute_name": "property", "key_type": "HASH"}],
    }
    item = {
        "property": {"S": '["readonly","False"]'},
        "volume_ids": {"SS": [f"id-{n:05d}" for n in range(300)]},
    }
    size = item_bytes(item)
    for limit, fits in ((size, True), (size - 1, False)):
        storage = open_storage("memory", max_item_bytes=limit)
        storage.create_table("p", *create_table(body))
        if fits:
            storage.put_item("p", "inv", item)
            assert len(storage.get_item_raw("p", "inv", {"property": item["property"]})) == size
        else:
            with pytest.raises(ValidationError, match="maximum allowed size"):
                storage.put_item("p", "inv", item)


# ---------------------------------------------------------- a real sweep, resumed


def test_tiny_sweep_then_resumed(tmp_path: Path) -> None:
    """The one end-to-end run of the command (~30 s on a loaded 2-core machine): four
    one-second points on embedded defaults, in two calls, the second resuming the first."""
    out = tmp_path / "sweep"
    first = cinderbench(
        "sweep", "--volumes", "100,200", "--threads", "1", "--duration", "1", "-o", out, "--quiet"
    )
    assert first.returncode == 0, first.stderr[-2000:]
    index = read_index(out / INDEX_NAME)
    assert sorted(index["points"]) == ["v100-t1", "v200-t1"]
    kept = {name: point["wall_s"] for name, point in index["points"].items()}
    (out / "v100-t2").mkdir()  # a point cut short before it was indexed
    (out / "v100-t2" / "run.json").write_text("{")

    second = cinderbench(
        "sweep", "--volumes", "100,200", "--threads", "1,2", "--duration", "1", "-o", out,
        "--quiet",
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    assert "4 points, 2 done, 2 to run" in second.stdout
    index = read_index(out / INDEX_NAME)
    assert sorted(index["points"]) == ["v100-t1", "v100-t2", "v200-t1", "v200-t2"]
    assert {name: index["points"][name]["wall_s"] for name in kept} == kept
    for point in index["points"].values():
        assert point["invariants"]["ok"], point["invariants"]
        operations = point["summary"]["operations"]
        assert operations
        assert all(set(arms) == set(index["arms"]) for arms in operations.values())
        for arms in operations.values():  # client CPU measured: every row split
            for row in arms.values():
                split = row["time_split"]
                assert split["client_cpu_us"] >= 0
                assert split["client_cpu_us"] + (split["store_us"] or 0) + split[
                    "rest_us"
                ] == pytest.approx(row["mean_us"], abs=0.2)
        assert (
            json.loads((out / point["directory"] / "run.json").read_text())["parameters"]["threads"]
            == point["threads"]
        )
    watched = index["sizes"]["200"]["item_sizes"]["magnetodb"]["watched"]
    assert watched["bytes"] > 0
    assert (out / "sweep.html").read_text().count("data:image/png;base64,") >= 2
    again = cinderbench("sweep", "--volumes", "100,200", "--threads", "1,2", "--duration", "1",
                        "-o", out, "--quiet")  # fmt: skip
    assert again.returncode == 0
    assert "0 to run" in again.stdout
    other = cinderbench("sweep", "--volumes", "100", "--threads", "1", "-o", out)
    assert other.returncode == 2
    assert other.stderr.count("\n") == 1
    assert "--duration" in other.stderr


def in_process(args: tuple[str | Path, ...], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``cinderbench ARGS`` in this process: its exit code and stderr."""
    from cinderbench import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as stop:  # argparse's own refusals
        code = int(stop.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ("sweep", "--volumes", "100,abc"),
        ("sweep", "--threads", "0"),
        ("sweep", "--duration", "-1"),
    ],
)
def test_bad_grid_is_one_line_and_exit_2(
    args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = in_process(args, capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_bad_directories_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    code, err = in_process(("sweep", "-o", file), capsys)
    assert code == 2
    assert err.count("\n") == 1
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / INDEX_NAME).write_text("{not json")
    for args in (("sweep", "-o", damaged), ("report", damaged)):
        code, err = in_process(args, capsys)
        assert code == 2, err
        assert err.count("\n") == 1
        assert "sweep.json" in err


def test_grid_refuses_empty_and_non_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Grid(volumes=())
    with pytest.raises(ValueError, match="positive"):
        Grid(threads=(0,))


def test_one_exponent_across_levels_each_with_its_own_intercept() -> None:
    from reports.growth import fit_power_within

    sizes = [1_000, 10_000, 100_000]
    levels = {1: [(v, 2.0 * v**0.7) for v in sizes], 16: [(v, 50.0 * v**0.7) for v in sizes]}
    fit = fit_power_within(levels)
    assert fit is not None
    assert fit.exponent == pytest.approx(0.7)
    assert fit.at(1_000) == pytest.approx(2.0 * 1_000**0.7)  # the first level's line
    assert fit.points == 6
    # pooled naively, the two levels' offsets would be mistaken for noise or slope
    assert fit_power_within({1: [(1_000, 5.0)], 4: [(2_000, 9.0)]}) is None


def test_time_left_counts_points_and_the_loads_still_to_do() -> None:
    from bench.drive.sweep import RELOAD_BELOW, Eta, Point, clock

    eta = Eta(duration=10.0)
    assert eta.left([Point(1_000, 9, 4, 1)], set()) is None  # nothing timed yet
    eta.point_done(15.0)  # 5 s of overhead a point
    eta.load_done(1_000, 2.0)  # 2 ms a volume
    small = Point(1_000, 9, 4, 1)  # reloads: below RELOAD_BELOW
    large = Point(RELOAD_BELOW * 5, 50, 1, 0)  # not loaded yet: one load
    large_again = Point(RELOAD_BELOW * 5, 50, 4, 1)  # reuses it
    left = eta.left([small, large, large_again], loaded={1_000})
    assert left == pytest.approx(3 * 15.0 + 2.0 + 0.002 * RELOAD_BELOW * 5)
    assert clock(left) == f"{round(left) // 60} min {round(left) % 60:02d} s"
    assert clock(None) == "?"


def test_default_grid_reloads_small_sizes_and_checks_quotas_before_a_state_goes() -> None:
    from bench.drive.sweep import DEFAULT

    points = list(DEFAULT.points())
    assert [(p.volumes, p.threads) for p in points][:4] == [(1_000, t) for t in (1, 4, 16, 32)]
    large = [p for p in points if p.volumes == 100_000]
    assert [p.reloads for p in large] == [False] * 4
    assert [p.checks_quotas for p in large] == [False, False, False, True]
    assert all(p.reloads and p.checks_quotas for p in points if p.volumes == 1_000)
    assert len({p.seed(1) for p in large}) == 4  # each level its own workload seed


# --------------------------------------------------- client CPU and store time vs size


def test_growth_of_client_cpu_and_store_says_whose_the_growth_is() -> None:
    from reports.sweep import console_summary, split_growth

    index = synthetic_index()
    split = split_growth(index)
    sql, mdb = split["page"]["sql"], split["page"]["mdb"]
    assert sql["whose"] == "client"
    assert mdb["whose"] == "design"
    assert sql["fits"]["store_us"] is None  # SQL reports no store time
    assert sql["fits"]["client_cpu_us"].exponent > 0.9
    assert mdb["fits"]["client_cpu_us"].exponent == pytest.approx(0.0, abs=1e-9)
    assert mdb["fits"]["store_us"].exponent > 0.9
    assert split["get"]["mdb"]["fits"]["mean_us"].exponent == pytest.approx(0.0, abs=1e-9)
    assert split["get"]["mdb"]["whose"] is None  # no growth to attribute
    html = render(index)
    assert 'id="split"' in html
    assert "mdb: the design&#39;s page (k 0.98: client CPU 0.00" in html
    assert "sql: the client&#39;s page (k 0.98" in html
    lines = console_summary(index)
    assert any(line.startswith("mdb: the design's page") for line in lines)
    assert not any("get" in line for line in lines)  # flat: no growth to attribute


def test_an_index_without_the_time_split_still_renders() -> None:
    from reports.sweep import console_summary, split_growth

    index = synthetic_index()
    for point in index["points"].values():
        for arms in point["summary"]["operations"].values():
            for row in arms.values():
                del row["time_split"]
    assert split_growth(index) == {}
    assert console_summary(index) == []
    html = render(index)
    assert "measured no client CPU" in html
    assert "Cost grows with the data" in html
