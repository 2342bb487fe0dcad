"""``cinderbench compare`` ends with the seconds of each phase (where its wall time goes)."""

from __future__ import annotations

import re
import types

from cinderbench.compare import Phases
from tests.shortrun import ShortRun


def test_the_short_compare_prints_every_phase(short_run: ShortRun) -> None:
    line = " ".join(short_run.output.split())  # rich wraps long lines
    found = re.search(r"phases \(s\): (.*); total ([\d.]+)", line)
    assert found, short_run.output[-800:]
    names = [part.rsplit(" ", 1)[0] for part in found.group(1).split(", ")]
    assert names == [
        "backends up",
        "load",
        "measured",
        "run set-up and write",
        "dual-write validation (magnetodb)",
        "quota invariants",
        "differential replay",
        "report",
    ]
    assert float(found.group(2)) <= short_run.seconds


def test_the_run_splits_into_load_measured_and_the_rest() -> None:
    phases = Phases(seconds={"backends up": 1.0, "run": 40.0})
    meta = {"dataset": {"load_seconds": {"a": 3.0, "b": 5.0}}, "duration_s": 30.0}
    phases.split_run(types.SimpleNamespace(meta=meta))
    assert phases.seconds == {
        "backends up": 1.0,
        "load": 5.0,  # both sides load at once: the longer one
        "measured": 30.0,
        "run set-up and write": 5.0,
    }
    assert phases.line().startswith("phases (s): backends up 1.0, load 5.0, measured 30.0")
