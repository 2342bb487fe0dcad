"""``cinderbench bench designs``: per option, each function it declares to change, seed vs
the option, on stores loaded with the same dataset and run through the same cases."""

from __future__ import annotations

from pathlib import Path

from cinderbench.bench.designs import Measured, _cell, changed_cases, main, report
from cinderdb.magneto.designs import OPTIONS
from tests.cli.support import assert_user_error
from tests.shortrun import cli


def test_a_changed_figure_is_marked() -> None:
    assert _cell(3, 3) == "3"
    assert _cell(291, 14) == "291 → **14**"


def test_the_report_compares_each_case_of_the_option() -> None:
    cases = changed_cases(["type_index"])
    assert {case[0] for case in cases} == set(OPTIONS["type_index"].functions)
    seed = Measured("seed", [{"requests": 3, "requests.scan": 1}] * len(cases), 0.1, 0.1)
    fewer = [dict(counts) for counts in seed.counts]
    fewer[-1] = {"requests": 2}
    option = Measured("seed+type_index", fewer, 0.1, 0.1)

    class Spec:
        volumes, projects = 10, 2

    text = report(["type_index"], cases, seed, {"type_index": option}, Spec)
    rows = [line for line in text.splitlines() if line.startswith("| `type_index`")]
    assert len(rows) == len(cases)
    assert "3 → **2**" in rows[-1]
    assert "1 → **0**" in rows[-1]
    assert f"`type_index`: 1 of its {len(cases)} cases changed" in text


def test_it_runs_on_a_small_dataset(tmp_path: Path, capsys) -> None:
    output = tmp_path / "designs.md"
    assert main(["--volumes", "20", "--projects", "2", "--option", "expire_index",
                 "--output", str(output)]) == 0  # fmt: skip
    text = output.read_text()
    assert text == capsys.readouterr().out
    functions = set(OPTIONS["expire_index"].functions)
    rows = [line for line in text.splitlines() if line.startswith("| `expire_index`")]
    assert {row.split("`")[3] for row in rows} == functions
    assert "--volumes 20" in text


def test_an_unknown_option_is_refused() -> None:
    assert_user_error(cli("bench", "designs", "--option", "nope", timeout=60), "--option", "nope")
