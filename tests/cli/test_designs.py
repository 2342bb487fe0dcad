"""``--design``: one MagnetoDB arm per design, each in a store of its own, each paired with
the SQL arm; a bad design is one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.drive.designs import arm_label, design_arms, design_in, keeps_labels, with_design
from bench.measure.results import load_results
from tests.cli.support import assert_user_error
from tests.shortrun import cli

SQL = ("sqlite", "sqlite:///c.sqlite")
MDB = ("magnetodb", "magnetodb://127.0.0.1:8480/cinderbench")


def test_the_seed_alone_keeps_todays_labels_and_urls() -> None:
    assert keeps_labels([])
    assert keeps_labels(["seed"])
    assert not keeps_labels(["improved"])
    assert design_arms([SQL, MDB], []) == [SQL, MDB]
    assert design_arms([SQL, MDB], ["seed"]) == [SQL, MDB]


def test_each_design_gets_an_arm_a_project_and_a_label() -> None:
    arms = design_arms([SQL, MDB], ["seed", "improved", "seed+type_index", "seed"])
    assert arms == [
        SQL,
        ("magnetodb.seed", "magnetodb://127.0.0.1:8480/cinderbench-seed?design=seed"),
        ("magnetodb.improved", "magnetodb://127.0.0.1:8480/cinderbench-improved?design=improved"),
        (
            "magnetodb.seed+type_index",
            "magnetodb://127.0.0.1:8480/cinderbench-seed-type_index?design=seed+type_index",
        ),
        ("magnetodb.seed-2", "magnetodb://127.0.0.1:8480/cinderbench-seed-2?design=seed"),
    ]
    assert [design_in(url) for _, url in arms] == [
        None,
        "seed",
        "improved",
        "seed+type_index",
        "seed",
    ]
    # a single design other than the seed: its label says so, the store is the URL's
    assert design_arms([MDB], ["improved"]) == [
        (arm_label("magnetodb", "improved"), MDB[1] + "?design=improved")
    ]
    assert with_design("magnetodb+inproc:///r", "seed") == "magnetodb+inproc:///r?design=seed"


def test_a_url_naming_a_design_already_is_refused() -> None:
    with pytest.raises(ValueError, match="names a design already"):
        design_arms([(MDB[0], MDB[1] + "?design=seed")], ["seed", "improved"])


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_unknown_design_names_the_known_ones(command: str, tmp_path: Path) -> None:
    extra = ["--backend", f"sqlite:///{tmp_path}/x.sqlite"] if command == "run" else []
    done = cli(command, *extra, "--design", "seed+nope", timeout=60)
    assert_user_error(done, "--design", "nope", "glance_map", "improved")
    assert not list(tmp_path.iterdir())


def test_run_with_a_url_naming_a_design_and_designs_is_refused(tmp_path: Path) -> None:
    done = cli(
        "run",
        "--backend",
        f"sqlite:///{tmp_path}/x.sqlite",
        "--backend",
        "magnetodb+inproc:///arms?design=seed",
        "--design",
        "improved",
        "--design",
        "seed",
        "-o",
        tmp_path / "out",
        timeout=60,
    )
    assert_user_error(done, "names a design already")


def test_run_compares_designs_side_by_side(tmp_path: Path) -> None:
    done = cli(
        "run",
        "--backend",
        f"sqlite:///{tmp_path}/x.sqlite",
        "--backend",
        "magnetodb+inproc:///arms",
        "--design",
        "seed",
        "--design",
        "improved",
        *("--volumes", "60", "--projects", "2", "--operations", "40", "--threads", "1"),
        *("--mix", "uniform", "--quiet", "-o", tmp_path / "out"),
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = load_results(tmp_path / "out")
    labels = ["sqlite", "magnetodb-inproc.seed", "magnetodb-inproc.improved"]
    assert results.backends == labels
    engines = {b["label"]: b["engine"] for b in results.meta["backends"]}
    assert engines[labels[1]]["design"] == "seed"
    assert engines[labels[2]]["design"] == "improved"
    assert engines[labels[2]]["design_options"]
    assert [(p["baseline"], p["candidate"]) for p in results.pairings] == [
        ("sqlite", labels[1]),
        ("sqlite", labels[2]),
    ]
    for line in results.oplog():
        assert set(line["runs"]) == set(labels)
    # the summary shows each design's ratio to SQL: past two arms, a table per pairing
    assert done.stdout.count("B/A: median of paired ratios") == 2
    assert f"B = {labels[2]}" in " ".join(done.stdout.split())


@pytest.mark.parametrize(
    ("given", "words"),
    [("b=nope", ("no arm labelled 'nope'", "sqlite, b")), ("b", ("ARM=BASELINE", "'b'"))],
)
def test_run_baseline_names_an_arm(given: str, words: tuple[str, ...], tmp_path: Path) -> None:
    done = cli(
        "run",
        *("--backend", f"sqlite:///{tmp_path}/a.sqlite", "--backend", f"b=sqlite:///{tmp_path}/b"),
        *("--baseline", given, "-o", tmp_path / "out"),
        timeout=60,
    )
    assert_user_error(done, *words)
    assert not (tmp_path / "out").exists()
