"""Every user error is one line on stderr and exit code 2, never a traceback, through the
real command line: out-of-range numbers, unknown or unreachable backends, unknown mixes,
missing or damaged results directories, an -o that holds a run already.

Each case runs ``cinderbench ...`` in a subprocess, as a user types it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.support import assert_user_error
from tests.shortrun import REPO, ShortRun, cli

#: A backend URL no server answers (port 1 on loopback refuses at once).
DEAD_MYSQL = "mysql+pymysql://root@127.0.0.1:1/cinderbench"
DEAD_MAGNETODB = "magnetodb://127.0.0.1:1/cinderbench"
SQLITE = "sqlite:///{tmp}/cli.sqlite"

#: (command, option, bad value): every numeric option, refused by the parser.
NUMBERS = [
    *(
        (command, option, value)
        for command in ("run", "compare")
        for option, value in (
            ("--volumes", "-5"),
            ("--projects", "0"),
            ("--metadata-keys", "-1"),
            ("--metadata-key-pool", "0"),
            ("--metadata-values", "0"),
            ("--duration", "-1"),
            ("--duration", "0"),
            ("--operations", "0"),
            ("--threads", "0"),
            ("--rate", "-5"),
            ("--rate", "nan"),
            ("--fault-rate", "2"),
            ("--fault-rate", "-0.1"),
            ("--dataset-seed", "x"),
        )
    ),
    ("validate", "--duration", "-1"),
    ("validate", "--settle", "-1"),
    ("validate", "--max-examples", "-1"),
    ("magnetodb serve", "--port", "80000"),
    ("magnetodb serve", "--port", "-1"),
    ("magnetodb serve", "--workers", "0"),
    ("magnetodb serve", "--max-item-bytes", "0"),
    ("magnetodb serve", "--max-body", "-1"),
    ("bench harness", "--seconds", "0"),
    ("bench harness", "--users", "0"),
    ("bench harness", "--volumes", "-1"),
    ("bench instrument", "--rounds", "0"),
    ("bench instrument", "--calls", "0"),
    ("bench instrument", "--volumes", "0"),
    ("bench load", "--volumes", "-5"),
    ("bench load", "--projects", "0"),
    ("bench magnetodb", "--duration", "0"),
    ("bench magnetodb", "--clients", "0"),
    ("bench magnetodb", "--workers", "0"),
    ("bench magnetodb", "--load-procs", "0"),
    ("bench replay", "--operations", "0"),
    ("bench replay", "--volumes", "0"),
    ("bench replay", "--threads", "0"),
    ("bench validate", "--volumes", "0"),
    ("bench validate", "--repeat", "0"),
]


def _command(command: str, tmp_path: Path) -> list[str]:
    words = command.split()
    if words[0] == "run":
        words += ["--backend", SQLITE.format(tmp=tmp_path)]
    return words


@pytest.mark.parametrize(("command", "option", "value"), NUMBERS)
def test_a_number_out_of_range_is_refused(command, option, value, tmp_path):
    done = cli(*_command(command, tmp_path), f"{option}={value}", timeout=60)
    assert_user_error(done, option)
    assert not list(tmp_path.iterdir())  # nothing started, nothing written


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--backend", "postgres://h/db"],
        ["run", "--backend", "nourl"],
        ["compare", "--sql", "oracle://h/db"],
        ["compare", "--magnetodb", "dynamo://h/p"],
        ["diff", "RESULTS", "--first", "postgres://h/db"],
        ["validate", "RESULTS", "--url", "postgres://h/db"],
        ["bench", "load", "--backend", "postgres://h/db"],
        ["bench", "requests", "--sql-url", "postgres://h/db"],
        ["bench", "sql-queries", "--url", "postgres://h/db"],
        ["bench", "instrument", "--url", "postgres://h/db"],
        ["bench", "harness", "--mysql", "postgres://h/db"],
        ["bench", "validate", "--url", "postgres://h/db"],
    ],
)
def test_an_unknown_backend_scheme_names_the_known_ones(argv, tmp_path):
    argv = [str(tmp_path) if word == "RESULTS" else word for word in argv]
    assert_user_error(cli(*argv, timeout=60), "postgres" if "postgres" in str(argv) else "",
                      "known schemes", "sqlite", "magnetodb")  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--backend", DEAD_MYSQL, "--operations", "5"],
        ["run", "--backend", DEAD_MAGNETODB, "--operations", "5"],
        ["compare", "--sql", DEAD_MYSQL, "--operations", "5"],
        ["compare", "--magnetodb", DEAD_MAGNETODB, "--operations", "5"],
        ["bench", "load", "--backend", DEAD_MYSQL, "--volumes", "10"],
        ["bench", "requests", "--sql-url", DEAD_MYSQL],
        ["bench", "requests", "--magnetodb-url", DEAD_MAGNETODB],
        ["bench", "sql-queries", "--url", DEAD_MYSQL],
        ["bench", "instrument", "--url", DEAD_MYSQL],
        ["bench", "harness", "--mysql", DEAD_MYSQL],
        ["bench", "validate", "--url", DEAD_MAGNETODB],
        ["validate", "--url", DEAD_MAGNETODB],
    ],
)
def test_an_unreachable_backend_is_named(argv):
    url = next(word for word in argv if "127.0.0.1:1" in word)
    assert_user_error(cli(*argv, timeout=120), url, "does not answer")


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "--magnetodb", "magnetodb+inproc:///p?design=seed+nope", "--operations", "5"],
        ["bench", "requests", "--magnetodb-url", "magnetodb://127.0.0.1:1/p?design=nope"],
    ],
)
def test_an_unknown_design_names_the_known_options(argv):
    assert_user_error(cli(*argv, timeout=60), "nope", "known options", "glance_map", "improved")


@pytest.mark.parametrize("command", ["run", "compare"])
@pytest.mark.parametrize(("option", "value"), [("--mix", "nonsense"), ("--distribution", "x")])
def test_an_unknown_mix_or_distribution_is_refused_before_anything_starts(
    command, option, value, tmp_path
):
    done = cli(*_command(command, tmp_path), option, value, timeout=60)
    assert_user_error(done, option)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------- results directories


def _damaged(short_run: ShortRun, tmp_path: Path, damage: str) -> tuple[Path, str]:
    """A copy of a real results directory, damaged; returns it and the file to name."""
    target = tmp_path / "results"
    if damage == "missing":
        return target, str(target)
    if damage == "empty":
        target.mkdir()
        return target, "run.json"
    shutil.copytree(short_run.path, target)
    name = {"run.json": "run.json", "operations.json": "operations.json", "oplog": "oplog.jsonl"}[
        damage
    ]
    path = target / name
    if damage == "oplog":
        lines = path.read_text().splitlines(keepends=True)
        lines[3] = lines[3][: len(lines[3]) // 2] + "\n"  # a line cut in half
        path.write_text("".join(lines))
    else:
        path.write_text(path.read_text()[:-40])
    return target, name


COMMANDS_ON_RESULTS = {
    "report": lambda d, tmp: ["report", d, "-o", tmp / "r.html"],
    "gate": lambda d, tmp: ["gate", d, "--baseline", "ci/baseline.json"],
    "validate": lambda d, tmp: ["validate", d],
    "diff": lambda d, tmp: ["diff", d],
}
#: Which damage each command meets (a command that never reads a file cannot trip on it).
DAMAGES = {
    "report": ("missing", "empty", "run.json", "operations.json"),
    "gate": ("missing", "empty", "run.json", "operations.json"),
    "validate": ("missing", "empty", "run.json"),
    "diff": ("missing", "empty", "run.json", "oplog"),
}


@pytest.mark.parametrize(
    ("command", "damage"),
    [(command, damage) for command, damages in DAMAGES.items() for damage in damages],
)
def test_a_missing_empty_or_damaged_results_directory_is_named(
    command, damage, short_run: ShortRun, tmp_path
):
    directory, name = _damaged(short_run, tmp_path, damage)
    done = cli(*COMMANDS_ON_RESULTS[command](directory, tmp_path), timeout=120)
    assert_user_error(done, name)


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_output_holding_a_run_is_refused_without_force(command, short_run, tmp_path):
    target = tmp_path / "results"
    shutil.copytree(short_run.path, target)
    before = (target / "run.json").read_text()
    done = cli(*_command(command, tmp_path), "-o", target, "--operations", "5", timeout=60)
    assert_user_error(done, str(target), "--force")
    assert (target / "run.json").read_text() == before


@pytest.mark.parametrize(
    ("option", "value"),
    [("--volumes", "-5"), ("--projects", "-1"), ("--pace", "-5"), ("--fault-rate", "2"),
     ("--fault-plan", "nonsense=1")],
)  # fmt: skip
def test_locust_refuses_a_number_out_of_range_before_it_starts(option, value):
    done = subprocess.run(
        ["locust", "-f", "workloads/mixed.py", "--headless", "-t", "1s", f"{option}={value}"],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"locust: error: argument {option}:")


def test_compare_on_a_mysql_database_that_does_not_exist_yet_asks_the_server_alone() -> None:
    # compare --sql URL reads the server's durability before it loads (and creates) the
    # database: a database that does not exist yet is not an error there
    import uuid

    from bench.drive.scratch import magnetodb_durability, server_url

    name = f"cb_missing_{uuid.uuid4().hex[:8]}"
    durable, why = magnetodb_durability(f"{server_url()}/{name}", "auto")
    assert durable is True
    assert "innodb_flush_log_at_trx_commit=1" in why


def test_bench_validate_creates_an_absent_data_dir_and_refuses_one_it_cannot(tmp_path):
    absent = tmp_path / "not" / "yet"
    done = cli("bench", "validate", "--data-dir", absent, "--volumes", "50", "--repeat", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (absent / "cinderbench-dataset.json").is_file()
    assert "findings: 0" in done.stdout
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    done = cli("bench", "validate", "--data-dir", blocker / "below", "--volumes", "50")
    assert_user_error(done, "--data-dir", str(blocker / "below"), "cannot be created")
